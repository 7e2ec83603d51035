//! Terminal Verification Results (95) and Transaction Status Information (9B).
//!
//! Book 3, Annex C5 (TVR) and C6 (TSI). Each bit is a named constant so the
//! code that sets it reads like the standard, and so decoders can print it.

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
pub const TVR_BITS: [Bit; 27] = [
    ODA_NOT_PERFORMED,
    SDA_FAILED,
    ICC_DATA_MISSING,
    CARD_ON_EXCEPTION_FILE,
    DDA_FAILED,
    CDA_FAILED,
    SDA_SELECTED,
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
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Tvr(pub [u8; 5]);

/// Transaction Status Information, tag 9B (2 bytes).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Tsi(pub [u8; 2]);

macro_rules! bit_string {
    ($ty:ident, $n:expr) => {
        impl $ty {
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
bit_string!(Tvr, 5);
bit_string!(Tsi, 2);

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
    fn every_bit_is_distinct() {
        let mut seen = [0u8; 5];
        for b in TVR_BITS {
            assert_eq!(seen[b.byte] & b.mask, 0, "{}", b.name);
            seen[b.byte] |= b.mask;
        }
        assert_eq!(seen, [0xFE, 0xF8, 0xFC, 0xF8, 0xF0]);
    }
}
