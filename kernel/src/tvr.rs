//! Terminal Verification Results (95), Transaction Status Information (9B)
//! and Cardholder Verification Method Results (9F34).
//!
//! Book 3, Annex C5 (TVR) and C6 (TSI), Book 4, Annex A4 (CVM Results). Each
//! bit is a named constant so the code that sets it reads like the standard,
//! and so decoders can print it. All three print as hex (`{}`), with the set
//! bits' names after it in the alternate form (`{:#}`):
//!
//! ```
//! use emv_kernel::tvr::{Tvr, EXCEEDS_FLOOR_LIMIT, ODA_NOT_PERFORMED};
//!
//! let mut tvr = Tvr::default();
//! tvr.set(ODA_NOT_PERFORMED);
//! tvr.set(EXCEEDS_FLOOR_LIMIT);
//! assert_eq!(format!("{tvr}"), "8000008000");
//! assert_eq!(
//!     format!("{tvr:#}"),
//!     "8000008000 (Offline data authentication was not performed; Transaction exceeds floor limit)"
//! );
//! assert_eq!(tvr.set_bits().count(), 2);
//! ```

use crate::render::{CvmCondition, CvmMethod, CvmOutcome};
use core::fmt;

/// One named bit of a bit string: the byte (0-based) and its mask.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Bit {
    /// Byte index, 0-based (Book 3 counts from 1).
    pub byte: usize,
    /// The mask in that byte (b8 = 0x80 ... b1 = 0x01).
    pub mask: u8,
    /// The standard's wording.
    pub name: &'static str,
}

const fn bit(byte: usize, mask: u8, name: &'static str) -> Bit {
    Bit { byte, mask, name }
}

/// TVR byte 1, b8.
pub const ODA_NOT_PERFORMED: Bit = bit(0, 0x80, "Offline data authentication was not performed");
/// TVR byte 1, b7.
pub const SDA_FAILED: Bit = bit(0, 0x40, "SDA failed");
/// TVR byte 1, b6.
pub const ICC_DATA_MISSING: Bit = bit(0, 0x20, "ICC data missing");
/// TVR byte 1, b5.
pub const CARD_ON_EXCEPTION_FILE: Bit = bit(0, 0x10, "Card appears on terminal exception file");
/// TVR byte 1, b4.
pub const DDA_FAILED: Bit = bit(0, 0x08, "DDA failed");
/// TVR byte 1, b3.
pub const CDA_FAILED: Bit = bit(0, 0x04, "CDA failed");
/// TVR byte 1, b2.
pub const SDA_SELECTED: Bit = bit(0, 0x02, "SDA selected");
/// TVR byte 1, b1 (EMV 4.4).
pub const XDA_SELECTED: Bit = bit(0, 0x01, "XDA selected");
/// TVR byte 2, b8.
pub const DIFFERENT_APPLICATION_VERSIONS: Bit = bit(
    1,
    0x80,
    "ICC and terminal have different application versions",
);
/// TVR byte 2, b7.
pub const EXPIRED_APPLICATION: Bit = bit(1, 0x40, "Expired application");
/// TVR byte 2, b6.
pub const APPLICATION_NOT_YET_EFFECTIVE: Bit = bit(1, 0x20, "Application not yet effective");
/// TVR byte 2, b5.
pub const SERVICE_NOT_ALLOWED: Bit = bit(1, 0x10, "Requested service not allowed for card product");
/// TVR byte 2, b4.
pub const NEW_CARD: Bit = bit(1, 0x08, "New card");
/// TVR byte 3, b8.
pub const CARDHOLDER_VERIFICATION_FAILED: Bit =
    bit(2, 0x80, "Cardholder verification was not successful");
/// TVR byte 3, b7.
pub const UNRECOGNISED_CVM: Bit = bit(2, 0x40, "Unrecognised CVM");
/// TVR byte 3, b6.
pub const PIN_TRY_LIMIT_EXCEEDED: Bit = bit(2, 0x20, "PIN Try Limit exceeded");
/// TVR byte 3, b5.
pub const PIN_PAD_NOT_WORKING: Bit = bit(
    2,
    0x10,
    "PIN entry required and PIN pad not present or not working",
);
/// TVR byte 3, b4.
pub const PIN_NOT_ENTERED: Bit = bit(
    2,
    0x08,
    "PIN entry required, PIN pad present, but PIN was not entered",
);
/// TVR byte 3, b3.
pub const ONLINE_PIN_ENTERED: Bit = bit(2, 0x04, "Online PIN entered");
/// TVR byte 4, b8.
pub const EXCEEDS_FLOOR_LIMIT: Bit = bit(3, 0x80, "Transaction exceeds floor limit");
/// TVR byte 4, b7.
pub const LCOL_EXCEEDED: Bit = bit(3, 0x40, "Lower consecutive offline limit exceeded");
/// TVR byte 4, b6.
pub const UCOL_EXCEEDED: Bit = bit(3, 0x20, "Upper consecutive offline limit exceeded");
/// TVR byte 4, b5.
pub const RANDOMLY_SELECTED_ONLINE: Bit = bit(
    3,
    0x10,
    "Transaction selected randomly for online processing",
);
/// TVR byte 4, b4.
pub const MERCHANT_FORCED_ONLINE: Bit = bit(3, 0x08, "Merchant forced transaction online");
/// TVR byte 4, b1 (EMV 4.4): "XDA signature verification failed"; the
/// kernel sets it for every failure of XDA (docs/conformance.md).
pub const XDA_FAILED: Bit = bit(3, 0x01, "XDA signature verification failed");
/// TVR byte 5, b8.
pub const DEFAULT_TDOL_USED: Bit = bit(4, 0x80, "Default TDOL used");
/// TVR byte 5, b7.
pub const ISSUER_AUTHENTICATION_FAILED: Bit = bit(4, 0x40, "Issuer authentication failed");
/// TVR byte 5, b6.
pub const SCRIPT_FAILED_BEFORE_FINAL_GENAC: Bit =
    bit(4, 0x20, "Script processing failed before final GENERATE AC");
/// TVR byte 5, b5.
pub const SCRIPT_FAILED_AFTER_FINAL_GENAC: Bit =
    bit(4, 0x10, "Script processing failed after final GENERATE AC");

/// Every defined TVR bit, in byte and bit order (for decoders).
pub const TVR_BITS: [Bit; 29] = [
    ODA_NOT_PERFORMED,
    SDA_FAILED,
    ICC_DATA_MISSING,
    CARD_ON_EXCEPTION_FILE,
    DDA_FAILED,
    CDA_FAILED,
    SDA_SELECTED,
    XDA_SELECTED,
    DIFFERENT_APPLICATION_VERSIONS,
    EXPIRED_APPLICATION,
    APPLICATION_NOT_YET_EFFECTIVE,
    SERVICE_NOT_ALLOWED,
    NEW_CARD,
    CARDHOLDER_VERIFICATION_FAILED,
    UNRECOGNISED_CVM,
    PIN_TRY_LIMIT_EXCEEDED,
    PIN_PAD_NOT_WORKING,
    PIN_NOT_ENTERED,
    ONLINE_PIN_ENTERED,
    EXCEEDS_FLOOR_LIMIT,
    LCOL_EXCEEDED,
    UCOL_EXCEEDED,
    RANDOMLY_SELECTED_ONLINE,
    MERCHANT_FORCED_ONLINE,
    XDA_FAILED,
    DEFAULT_TDOL_USED,
    ISSUER_AUTHENTICATION_FAILED,
    SCRIPT_FAILED_BEFORE_FINAL_GENAC,
    SCRIPT_FAILED_AFTER_FINAL_GENAC,
];

/// TSI byte 1, b8.
pub const TSI_ODA_PERFORMED: Bit = bit(0, 0x80, "Offline data authentication was performed");
/// TSI byte 1, b7.
pub const TSI_CARDHOLDER_VERIFICATION_PERFORMED: Bit =
    bit(0, 0x40, "Cardholder verification was performed");
/// TSI byte 1, b6.
pub const TSI_CARD_RISK_MANAGEMENT_PERFORMED: Bit =
    bit(0, 0x20, "Card risk management was performed");
/// TSI byte 1, b5.
pub const TSI_ISSUER_AUTHENTICATION_PERFORMED: Bit =
    bit(0, 0x10, "Issuer authentication was performed");
/// TSI byte 1, b4.
pub const TSI_TERMINAL_RISK_MANAGEMENT_PERFORMED: Bit =
    bit(0, 0x08, "Terminal risk management was performed");
/// TSI byte 1, b3.
pub const TSI_SCRIPT_PROCESSING_PERFORMED: Bit = bit(0, 0x04, "Script processing was performed");

/// Every defined TSI bit (for decoders).
pub const TSI_BITS: [Bit; 6] = [
    TSI_ODA_PERFORMED,
    TSI_CARDHOLDER_VERIFICATION_PERFORMED,
    TSI_CARD_RISK_MANAGEMENT_PERFORMED,
    TSI_ISSUER_AUTHENTICATION_PERFORMED,
    TSI_TERMINAL_RISK_MANAGEMENT_PERFORMED,
    TSI_SCRIPT_PROCESSING_PERFORMED,
];

/// Terminal Verification Results, tag 95 (5 bytes).
#[derive(Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct Tvr(pub [u8; 5]);

/// Transaction Status Information, tag 9B (2 bytes).
#[derive(Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct Tsi(pub [u8; 2]);

/// Upper-case hex of `bytes`, without allocating.
fn write_hex(f: &mut fmt::Formatter<'_>, bytes: &[u8]) -> fmt::Result {
    for byte in bytes {
        write!(f, "{byte:02X}")?;
    }
    Ok(())
}

macro_rules! bit_string {
    ($ty:ident, $n:expr, $bits:expr) => {
        impl fmt::Display for $ty {
            /// Hex (`8000008000`); `{:#}` adds the names of the set bits.
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write_hex(f, &self.0)?;
                if f.alternate() {
                    let mut separator = " (";
                    for bit in self.set_bits() {
                        write!(f, "{separator}{}", bit.name)?;
                        separator = "; ";
                    }
                    if separator == "; " {
                        f.write_str(")")?;
                    }
                }
                Ok(())
            }
        }

        impl fmt::Debug for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}(", stringify!($ty))?;
                write_hex(f, &self.0)?;
                f.write_str(")")
            }
        }

        impl $ty {
            /// Every named bit of this bit string, in the standard's order.
            pub const BITS: &'static [Bit] = &$bits;

            /// The named bits that are set, in the standard's order. Set RFU
            /// bits have no name and are not listed; [`Self::bytes`] has them.
            pub fn set_bits(&self) -> impl Iterator<Item = Bit> + '_ {
                Self::BITS.iter().copied().filter(|bit| self.is_set(*bit))
            }
            /// Sets one bit.
            pub fn set(&mut self, bit: Bit) {
                if let Some(b) = self.0.get_mut(bit.byte) {
                    *b |= bit.mask;
                }
            }
            /// Clears one bit.
            pub fn clear(&mut self, bit: Bit) {
                if let Some(b) = self.0.get_mut(bit.byte) {
                    *b &= !bit.mask;
                }
            }
            /// Whether one bit is set.
            pub fn is_set(&self, bit: Bit) -> bool {
                self.0.get(bit.byte).is_some_and(|b| b & bit.mask != 0)
            }
            /// The raw bytes.
            pub fn bytes(&self) -> [u8; $n] {
                self.0
            }
        }
    };
}
bit_string!(Tvr, 5, TVR_BITS);
bit_string!(Tsi, 2, TSI_BITS);

/// Cardholder Verification Method Results, tag 9F34 (Book 4, Annex A4):
/// the CVM performed (byte 1, the first byte of its CV Rule), its condition
/// (byte 2) and the result (byte 3: `00` unknown, `01` failed, `02`
/// successful). `3F0000` when no CVM was performed.
///
/// ```
/// use emv_kernel::render::{CvmMethod, CvmOutcome};
/// use emv_kernel::tvr::CvmResults;
///
/// let results = CvmResults([0x41, 0x03, 0x02]);
/// assert_eq!(results.method(), CvmMethod::PlaintextPinByIcc);
/// assert_eq!(results.result(), CvmOutcome::Successful);
/// assert_eq!(format!("{results}"), "410302");
/// assert_eq!(
///     format!("{results:#}"),
///     "410302 (Plaintext PIN verification performed by ICC, apply next if unsuccessful; \
///      If terminal supports the CVM; Successful)"
/// );
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct CvmResults(pub [u8; 3]);

impl CvmResults {
    /// `3F0000`: no CVM performed, result unknown (Book 4, Annex A4).
    pub const NO_CVM_PERFORMED: CvmResults = CvmResults([0x3F, 0x00, 0x00]);

    /// The method performed (b6-b1 of byte 1).
    pub const fn method(&self) -> CvmMethod {
        CvmMethod::from_byte(self.0[0])
    }

    /// Byte 1 b7: the CV Rule said to apply the next rule if this one failed.
    pub const fn apply_next_if_unsuccessful(&self) -> bool {
        self.0[0] & 0x40 != 0
    }

    /// The CV Rule's condition (byte 2).
    pub const fn condition(&self) -> CvmCondition {
        CvmCondition::from_byte(self.0[1])
    }

    /// The result (byte 3).
    pub const fn result(&self) -> CvmOutcome {
        CvmOutcome::from_byte(self.0[2])
    }

    /// The raw bytes.
    pub const fn bytes(&self) -> [u8; 3] {
        self.0
    }
}

impl Default for CvmResults {
    fn default() -> Self {
        Self::NO_CVM_PERFORMED
    }
}

impl fmt::Display for CvmResults {
    /// Hex (`1E0300`); `{:#}` adds the method, condition and result in words.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_hex(f, &self.0)?;
        if f.alternate() {
            write!(f, " ({}", self.method().name())?;
            if self.apply_next_if_unsuccessful() {
                f.write_str(", apply next if unsuccessful")?;
            }
            write!(
                f,
                "; {}; {})",
                self.condition().name(),
                self.result().name()
            )?;
        }
        Ok(())
    }
}

impl fmt::Debug for CvmResults {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("CvmResults(")?;
        write_hex(f, &self.0)?;
        f.write_str(")")
    }
}

impl From<[u8; 3]> for CvmResults {
    fn from(bytes: [u8; 3]) -> Self {
        CvmResults(bytes)
    }
}

impl core::ops::Deref for CvmResults {
    type Target = [u8; 3];
    fn deref(&self) -> &[u8; 3] {
        &self.0
    }
}

impl AsRef<[u8]> for CvmResults {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

impl PartialEq<[u8; 3]> for CvmResults {
    fn eq(&self, other: &[u8; 3]) -> bool {
        self.0 == *other
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_and_read_bits() {
        let mut tvr = Tvr::default();
        tvr.set(ODA_NOT_PERFORMED);
        tvr.set(EXCEEDS_FLOOR_LIMIT);
        assert_eq!(tvr.0, [0x80, 0, 0, 0x80, 0]);
        assert!(tvr.is_set(EXCEEDS_FLOOR_LIMIT));
        tvr.clear(ODA_NOT_PERFORMED);
        assert_eq!(tvr.0, [0, 0, 0, 0x80, 0]);
        let mut tsi = Tsi::default();
        tsi.set(TSI_ODA_PERFORMED);
        tsi.set(TSI_TERMINAL_RISK_MANAGEMENT_PERFORMED);
        assert_eq!(tsi.0, [0x88, 0]);
    }

    #[test]
    fn bit_strings_print_as_hex_with_names() {
        // Formatted into a fixed buffer: the kernel has no heap, its tests
        // need none either.
        macro_rules! format {
            ($($arg:tt)*) => {{
                let mut text = heapless::String::<256>::new();
                core::fmt::Write::write_fmt(&mut text, format_args!($($arg)*)).unwrap();
                text
            }};
        }
        let tsi = Tsi([0xE8, 0x00]);
        assert_eq!(format!("{tsi}"), "E800");
        assert_eq!(format!("{tsi:?}"), "Tsi(E800)");
        assert_eq!(
            format!("{tsi:#}"),
            "E800 (Offline data authentication was performed; Cardholder verification was performed; \
             Card risk management was performed; Terminal risk management was performed)"
        );
        assert_eq!(format!("{:#}", Tvr::default()), "0000000000");
        // An RFU bit has no name: hex only.
        assert_eq!(format!("{:#}", Tvr([0, 0x04, 0, 0, 0])), "0004000000");
        assert_eq!(format!("{:?}", CvmResults::default()), "CvmResults(3F0000)");
        assert_eq!(
            format!("{:#}", CvmResults([0x1E, 0x03, 0x00])),
            "1E0300 (Signature (paper); If terminal supports the CVM; Unknown)"
        );
    }

    #[test]
    fn every_bit_is_distinct() {
        let mut seen = [0u8; 5];
        for b in TVR_BITS {
            assert_eq!(seen[b.byte] & b.mask, 0, "{}", b.name);
            seen[b.byte] |= b.mask;
        }
        assert_eq!(seen, [0xFF, 0xF8, 0xFC, 0xF9, 0xF0]);
    }
}
