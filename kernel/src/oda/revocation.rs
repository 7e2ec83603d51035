//! Revoked issuer public key certificates (Book 2, 5.3 step 10 and 6.3).
//!
//! A payment system may revoke an issuer certificate; the terminal then holds
//! its RID, the CA Public Key Index that signed it and the certificate serial
//! number, and fails ODA for any card presenting that certificate.

use crate::limits::REVOCATION_LIST_CAPACITY;

/// One revoked issuer certificate.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct RevokedCertificate {
    /// RID of the payment system.
    pub rid: [u8; 5],
    /// Certification Authority Public Key Index that signed the certificate.
    pub ca_index: u8,
    /// Certificate Serial Number from the recovered issuer certificate.
    pub serial_number: [u8; 3],
}

/// The revocation list is full.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct RevocationListFull;

impl core::fmt::Display for RevocationListFull {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(
            f,
            "the revocation list is full: it holds at most {REVOCATION_LIST_CAPACITY} certificates"
        )
    }
}

impl core::error::Error for RevocationListFull {}

/// The terminal's list of revoked issuer certificates, fixed capacity.
#[derive(Clone, Debug, Default)]
pub struct RevocationList {
    entries: heapless::Vec<RevokedCertificate, REVOCATION_LIST_CAPACITY>,
}

impl RevocationList {
    /// An empty list.
    pub const fn new() -> Self {
        Self {
            entries: heapless::Vec::new(),
        }
    }

    /// Add an entry (adding one already held changes nothing).
    pub fn insert(&mut self, entry: RevokedCertificate) -> Result<(), RevocationListFull> {
        if self.entries.contains(&entry) {
            return Ok(());
        }
        self.entries.push(entry).map_err(|_| RevocationListFull)
    }

    /// Book 2, 5.3 step 10: whether the concatenation of RID, CA Public Key
    /// Index and Certificate Serial Number is on the list.
    pub fn is_revoked(&self, rid: &[u8; 5], ca_index: u8, serial_number: &[u8; 3]) -> bool {
        self.entries.iter().any(|entry| {
            &entry.rid == rid && entry.ca_index == ca_index && &entry.serial_number == serial_number
        })
    }

    /// How many entries are held.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the list is empty.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_all_three_fields() {
        let mut list = RevocationList::new();
        let rid = [0xA0, 0, 0, 0, 0x03];
        list.insert(RevokedCertificate {
            rid,
            ca_index: 0x92,
            serial_number: [1, 2, 3],
        })
        .unwrap();
        assert!(list.is_revoked(&rid, 0x92, &[1, 2, 3]));
        assert!(!list.is_revoked(&rid, 0x94, &[1, 2, 3]));
        assert!(!list.is_revoked(&rid, 0x92, &[1, 2, 4]));
        assert!(!list.is_revoked(&[0xA0, 0, 0, 0, 0x04], 0x92, &[1, 2, 3]));
    }

    #[test]
    fn capacity_is_a_defined_outcome() {
        let mut list = RevocationList::new();
        for n in 0..REVOCATION_LIST_CAPACITY {
            let serial = (n as u32).to_be_bytes();
            list.insert(RevokedCertificate {
                rid: [0; 5],
                ca_index: 1,
                serial_number: [serial[1], serial[2], serial[3]],
            })
            .unwrap();
        }
        let extra = RevokedCertificate {
            rid: [1; 5],
            ca_index: 1,
            serial_number: [0; 3],
        };
        assert_eq!(list.insert(extra), Err(RevocationListFull));
    }
}
