//! The terminal's Certification Authority public keys (Book 2, 5.2, 6.2 and 11.2).
//!
//! A [`CaKeyStore`] holds up to [`CA_KEY_STORE_CAPACITY`] keys addressed by RID
//! and CA Public Key Index. Each key's check sum (SHA-1 over RID, index, modulus
//! and exponent) is verified when it is loaded, and a key past its expiry date
//! is not used.
//!
//! # `capk.txt` lines
//!
//! [`parse_capk_line`] reads the one-key-a-line format of emv-tools and
//! Proxmark3, fields separated by white space:
//!
//! ```text
//! # RID          index expiry  algorithm exponent modulus              hash  check sum
//! a0:00:00:00:03 92    251231  rsa       03       99:6a:f5:...:7c:9f   sha1  42:9c:...:53
//! ```
//!
//! - byte strings are hexadecimal, either colon-separated (`a0:00:00:00:03`) or
//!   plain (`A000000003`), in either case;
//! - the expiry is `YYMMDD` in decimal; `000000` means the key does not expire;
//! - the algorithm is `rsa` and the hash `sha1` (the only ones EMV defines);
//! - `#` starts a comment to the end of the line; blank lines are skipped.
//!
//! Parsing needs no allocation: the caller reads the file and feeds lines.

use super::{Date, PublicKey};
use crate::crypto::{CryptoProvider, SHA1_LEN};
use crate::limits::{CA_KEY_STORE_CAPACITY, MAX_RSA_EXPONENT_BYTES, MAX_RSA_MODULUS_BYTES};

/// Why a CA public key cannot be loaded.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CaKeyError {
    /// Modulus empty or longer than 1984 bits, or exponent empty or longer than 3 bytes.
    KeySize,
    /// The check sum does not match SHA-1 over RID, index, modulus and exponent.
    Checksum,
    /// The store already holds its capacity of keys.
    StoreFull,
}

/// One Certification Authority public key (Book 2, 11.2).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CaPublicKey {
    /// Registered Application Provider Identifier of the payment system.
    pub rid: [u8; 5],
    /// Certification Authority Public Key Index (8F).
    pub index: u8,
    /// The RSA public key.
    pub key: PublicKey,
    /// Last day the key may be used; `None` if it does not expire.
    pub expiry: Option<Date>,
}

impl CaPublicKey {
    /// A key, verifying its check sum when one is given.
    ///
    /// Book 2, 11.2: the check sum is SHA-1 over RID, CA Public Key Index,
    /// modulus and exponent.
    pub fn new<C: CryptoProvider + ?Sized>(
        crypto: &C,
        rid: [u8; 5],
        index: u8,
        modulus: &[u8],
        exponent: &[u8],
        expiry: Option<Date>,
        checksum: Option<&[u8; SHA1_LEN]>,
    ) -> Result<Self, CaKeyError> {
        let key = PublicKey::new(modulus, exponent).ok_or(CaKeyError::KeySize)?;
        let ca_key = Self {
            rid,
            index,
            key,
            expiry,
        };
        if let Some(expected) = checksum {
            if ca_key.checksum(crypto) != *expected {
                return Err(CaKeyError::Checksum);
            }
        }
        Ok(ca_key)
    }

    /// SHA-1 over RID, index, modulus and exponent (Book 2, 11.2).
    pub fn checksum<C: CryptoProvider + ?Sized>(&self, crypto: &C) -> [u8; SHA1_LEN] {
        crypto.sha1(&[
            &self.rid,
            &[self.index],
            &self.key.modulus,
            &self.key.exponent,
        ])
    }

    /// Whether the key may be used on `date` (not past its expiry date).
    pub fn is_valid_on(&self, date: Date) -> bool {
        self.expiry.is_none_or(|expiry| date <= expiry)
    }
}

/// The terminal's CA public keys, addressed by RID and index.
#[derive(Clone, Debug, Default)]
pub struct CaKeyStore {
    keys: heapless::Vec<CaPublicKey, CA_KEY_STORE_CAPACITY>,
}

impl CaKeyStore {
    /// An empty store.
    pub const fn new() -> Self {
        Self {
            keys: heapless::Vec::new(),
        }
    }

    /// Add a key, replacing one with the same RID and index.
    pub fn insert(&mut self, key: CaPublicKey) -> Result<(), CaKeyError> {
        if let Some(slot) = self
            .keys
            .iter_mut()
            .find(|k| k.rid == key.rid && k.index == key.index)
        {
            *slot = key;
            return Ok(());
        }
        self.keys.push(key).map_err(|_| CaKeyError::StoreFull)
    }

    /// The key for `rid` and `index` usable on `date` (Book 2, 5.2 and 6.2).
    ///
    /// A key past its expiry date is not used: the result is `None`, as if the
    /// terminal did not hold it.
    pub fn get(&self, rid: &[u8; 5], index: u8, date: Date) -> Option<&CaPublicKey> {
        self.find(rid, index).filter(|key| key.is_valid_on(date))
    }

    /// The key for `rid` and `index`, whatever its expiry date.
    pub fn find(&self, rid: &[u8; 5], index: u8) -> Option<&CaPublicKey> {
        self.keys
            .iter()
            .find(|key| &key.rid == rid && key.index == index)
    }

    /// Remove the key for `rid` and `index`; whether one was held.
    pub fn remove(&mut self, rid: &[u8; 5], index: u8) -> bool {
        match self
            .keys
            .iter()
            .position(|key| &key.rid == rid && key.index == index)
        {
            Some(position) => {
                self.keys.swap_remove(position);
                true
            }
            None => false,
        }
    }

    /// All keys held, in insertion order (until a removal).
    pub fn iter(&self) -> impl Iterator<Item = &CaPublicKey> {
        self.keys.iter()
    }

    /// How many keys are held.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Whether no key is held.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }
}

/// A field of a `capk.txt` line, to say which one is wrong.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CapkField {
    /// RID, 5 bytes.
    Rid,
    /// CA Public Key Index, 1 byte.
    Index,
    /// Expiry date, `YYMMDD` or `000000`.
    Expiry,
    /// Key algorithm, `rsa`.
    KeyAlgorithm,
    /// Public exponent, 1 to 3 bytes.
    Exponent,
    /// Modulus, 1 to 248 bytes.
    Modulus,
    /// Hash algorithm, `sha1`.
    HashAlgorithm,
    /// Check sum, 20 bytes.
    Checksum,
}

/// Why a `capk.txt` line cannot be read.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CapkLineError {
    /// The line ends before this field.
    MissingField(CapkField),
    /// The field is not valid hexadecimal, has the wrong length, or is not
    /// one of the accepted words.
    InvalidField(CapkField),
    /// Text follows the check sum.
    TrailingText,
    /// The key itself was rejected (bad check sum, size).
    Key(CaKeyError),
}

/// Read one `capk.txt` line; `Ok(None)` for a blank or comment line.
///
/// The format is described in the [module documentation](self).
pub fn parse_capk_line<C: CryptoProvider + ?Sized>(
    crypto: &C,
    line: &str,
) -> Result<Option<CaPublicKey>, CapkLineError> {
    let content = match line.split_once('#') {
        Some((before, _comment)) => before,
        None => line,
    };
    let mut fields = content.split_whitespace();
    let Some(rid_text) = fields.next() else {
        return Ok(None);
    };
    let mut next = |field| fields.next().ok_or(CapkLineError::MissingField(field));

    let mut rid = [0u8; 5];
    decode_exact(rid_text, &mut rid, CapkField::Rid)?;
    let mut index = [0u8; 1];
    decode_exact(next(CapkField::Index)?, &mut index, CapkField::Index)?;
    let [index_byte] = index;
    let expiry = parse_expiry(next(CapkField::Expiry)?)?;
    if !next(CapkField::KeyAlgorithm)?.eq_ignore_ascii_case("rsa") {
        return Err(CapkLineError::InvalidField(CapkField::KeyAlgorithm));
    }
    let mut exponent = [0u8; MAX_RSA_EXPONENT_BYTES];
    let exponent_len = decode_hex(next(CapkField::Exponent)?, &mut exponent)
        .ok_or(CapkLineError::InvalidField(CapkField::Exponent))?;
    let mut modulus = [0u8; MAX_RSA_MODULUS_BYTES];
    let modulus_len = decode_hex(next(CapkField::Modulus)?, &mut modulus)
        .ok_or(CapkLineError::InvalidField(CapkField::Modulus))?;
    if !next(CapkField::HashAlgorithm)?.eq_ignore_ascii_case("sha1") {
        return Err(CapkLineError::InvalidField(CapkField::HashAlgorithm));
    }
    let mut checksum = [0u8; SHA1_LEN];
    decode_exact(
        next(CapkField::Checksum)?,
        &mut checksum,
        CapkField::Checksum,
    )?;
    if fields.next().is_some() {
        return Err(CapkLineError::TrailingText);
    }

    CaPublicKey::new(
        crypto,
        rid,
        index_byte,
        modulus.get(..modulus_len).unwrap_or(&[]),
        exponent.get(..exponent_len).unwrap_or(&[]),
        expiry,
        Some(&checksum),
    )
    .map(Some)
    .map_err(CapkLineError::Key)
}

/// Decode hexadecimal that must fill `out` exactly.
fn decode_exact(text: &str, out: &mut [u8], field: CapkField) -> Result<(), CapkLineError> {
    match decode_hex(text, out) {
        Some(len) if len == out.len() => Ok(()),
        _ => Err(CapkLineError::InvalidField(field)),
    }
}

/// Decode hexadecimal digits, ignoring `:` separators, into `out`; the number
/// of bytes written, or `None` if the text is empty, not hexadecimal, has an
/// odd number of digits, or does not fit.
fn decode_hex(text: &str, out: &mut [u8]) -> Option<usize> {
    let mut digits = text.bytes().filter(|byte| *byte != b':');
    let mut written = 0usize;
    while let Some(high) = digits.next() {
        let low = digits.next()?;
        let value = (hex_digit(high)? << 4) | hex_digit(low)?;
        *out.get_mut(written)? = value;
        written += 1;
    }
    (written > 0).then_some(written)
}

fn hex_digit(byte: u8) -> Option<u8> {
    match byte {
        b'0'..=b'9' => Some(byte - b'0'),
        b'a'..=b'f' => Some(byte - b'a' + 10),
        b'A'..=b'F' => Some(byte - b'A' + 10),
        _ => None,
    }
}

/// `YYMMDD` in decimal digits, or `000000` for a key without expiry.
fn parse_expiry(text: &str) -> Result<Option<Date>, CapkLineError> {
    let invalid = CapkLineError::InvalidField(CapkField::Expiry);
    if text == "000000" {
        return Ok(None);
    }
    let bytes = text.as_bytes();
    if bytes.len() != 6 || !bytes.iter().all(u8::is_ascii_digit) {
        return Err(invalid);
    }
    let mut bcd = [0u8; 3];
    for (target, pair) in bcd.iter_mut().zip(bytes.chunks(2)) {
        let (high, low) = match pair {
            [high, low] => (high - b'0', low - b'0'),
            _ => return Err(invalid),
        };
        *target = (high << 4) | low;
    }
    Date::from_bcd(&bcd).map(Some).map_err(|_| invalid)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_with_and_without_colons() {
        let mut out = [0u8; 4];
        assert_eq!(decode_hex("a0:00:0F", &mut out), Some(3));
        assert_eq!(out[..3], [0xA0, 0x00, 0x0F]);
        assert_eq!(decode_hex("A0000F", &mut out), Some(3));
        assert_eq!(decode_hex("A0000", &mut out), None);
        assert_eq!(decode_hex("A0G0", &mut out), None);
        assert_eq!(decode_hex("0102030405", &mut out), None);
        assert_eq!(decode_hex("", &mut out), None);
    }

    #[test]
    fn expiry_dates() {
        assert_eq!(parse_expiry("000000"), Ok(None));
        assert_eq!(
            parse_expiry("251231"),
            Ok(Some(Date {
                year: 2025,
                month: 12,
                day: 31
            }))
        );
        assert!(parse_expiry("251331").is_err());
        assert!(parse_expiry("2512").is_err());
        assert!(parse_expiry("25123a").is_err());
    }
}
