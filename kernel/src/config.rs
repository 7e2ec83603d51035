//! Terminal and application configuration, kernel side.
//!
//! Plain structs the caller fills (from a file, a terminal management system,
//! or the defaults here). The defaults describe an attended, online-capable
//! merchant terminal that supports every CVM and ODA method the kernel
//! implements, and the test cards' application (`A0000000031010` family, see
//! `test-cards/PROFILES.md`).
//!
//! Book 4, Annex A gives the coding of the terminal data objects.

use crate::limits::{
    MAX_AID_BYTES, MAX_DEFAULT_DOL_BYTES, MAX_MERCHANT_NAME_BYTES, TERMINAL_AID_CAPACITY,
    TERMINAL_LANGUAGE_CAPACITY,
};
use crate::messages::Language;
use heapless::Vec;

/// The test cards' credit application (`test-cards`, `PROFILES.md`).
pub const TEST_AID_CREDIT: [u8; 7] = [0xA0, 0x00, 0x00, 0x09, 0x99, 0x10, 0x10];
/// The test cards' debit application.
pub const TEST_AID_DEBIT: [u8; 7] = [0xA0, 0x00, 0x00, 0x09, 0x99, 0x20, 0x20];
/// The test cards' prepaid application.
pub const TEST_AID_PREPAID: [u8; 7] = [0xA0, 0x00, 0x00, 0x09, 0x99, 0x30, 0x30];

/// Terminal Capabilities (9F33) byte 3, b8: SDA supported.
pub const CAPABILITY_SDA: u8 = 0x80;
/// Terminal Capabilities (9F33) byte 3, b7: DDA supported.
pub const CAPABILITY_DDA: u8 = 0x40;
/// Terminal Capabilities (9F33) byte 3, b4: CDA supported.
pub const CAPABILITY_CDA: u8 = 0x08;
/// 9F33 byte 3, b3 (EMV 4.4 Book 4, Annex A2): Extended Data Authentication (XDA).
pub const CAPABILITY_XDA: u8 = 0x04;

/// One application (AID) the terminal accepts, with its risk parameters.
///
/// Book 1, 12.3.1 (terminal list of AIDs and the Application Selection
/// Indicator); Book 3, 10.6 and 10.7 (floor limit, random selection, terminal
/// action codes).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApplicationConfig {
    /// The AID (5 to 16 bytes).
    pub aid: Vec<u8, MAX_AID_BYTES>,
    /// Application Selection Indicator: `true` when a card AID that starts with
    /// this AID and is longer (partial name selection) is accepted.
    pub partial_selection: bool,
    /// Application Version Number, terminal (9F09).
    pub application_version: [u8; 2],
    /// Terminal Floor Limit (9F1B), minor units of the transaction currency.
    pub floor_limit: u64,
    /// Threshold Value for Biased Random Selection, minor units.
    pub random_selection_threshold: u64,
    /// Target Percentage to be Used for Random Selection, 0..=99.
    pub random_selection_target_percentage: u8,
    /// Maximum Target Percentage to be Used for Biased Random Selection, 0..=99.
    pub random_selection_max_target_percentage: u8,
    /// Terminal Action Code - Denial.
    pub terminal_action_code_denial: [u8; 5],
    /// Terminal Action Code - Online.
    pub terminal_action_code_online: [u8; 5],
    /// Terminal Action Code - Default.
    pub terminal_action_code_default: [u8; 5],
    /// Default Dynamic Data Authentication Data Object List (Book 2, 6.5.1),
    /// used when the card has no DDOL (9F49). Empty: none.
    pub default_ddol: Vec<u8, MAX_DEFAULT_DOL_BYTES>,
    /// Default Transaction Certificate Data Object List (Book 3, 5.4), used
    /// when a CDOL asks for the TC hash value (98) and the card has no TDOL.
    pub default_tdol: Vec<u8, MAX_DEFAULT_DOL_BYTES>,
}

impl ApplicationConfig {
    /// An application entry with the defaults documented on
    /// [`TerminalConfig::default`] for `aid` (truncated to 16 bytes).
    pub fn new(aid: &[u8]) -> Self {
        let mut stored = Vec::new();
        for byte in aid.iter().take(MAX_AID_BYTES) {
            // Capacity is MAX_AID_BYTES and at most that many are taken.
            let _ = stored.push(*byte);
        }
        let mut default_ddol = Vec::new();
        // 9F37 04: the unpredictable number, the DDOL every scheme defaults to.
        let _ = default_ddol.extend_from_slice(&[0x9F, 0x37, 0x04]);
        ApplicationConfig {
            aid: stored,
            partial_selection: true,
            application_version: [0x00, 0x02],
            floor_limit: 10_000,
            random_selection_threshold: 5_000,
            random_selection_target_percentage: 0,
            random_selection_max_target_percentage: 0,
            terminal_action_code_denial: [0x00, 0x10, 0x00, 0x00, 0x00],
            // Byte 4 b1 (EMV 4.4, "XDA signature verification failed"): only
            // XDA sets it, and without it a card that changes its own signed
            // IACs is approved offline after a failed XDA
            // (docs/conformance.md, "XDA").
            terminal_action_code_online: [0xDC, 0x40, 0x84, 0xF9, 0x00],
            terminal_action_code_default: [0xDC, 0x40, 0x00, 0xA9, 0x00],
            default_ddol,
            default_tdol: Vec::new(),
        }
    }
}

/// Which cardholder-facing selection features the terminal has
/// (Book 1, 12.4).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SelectionFeatures {
    /// Try the Payment System Environment (`1PAY.SYS.DDF01`) first.
    pub pse: bool,
    /// The cardholder can confirm a single application that asks for it.
    pub cardholder_confirmation: bool,
    /// The cardholder can choose among several applications.
    pub cardholder_choice: bool,
}

/// ICS "CDA request modes": whether the terminal asks for a CDA signature
/// (GENERATE AC P1 b5) with an ARQC at the first GENERATE AC and with a TC
/// at the second (Book 2, 6.6; Book 4, 6.3.2.1 leaves both to the terminal
/// and the lab's ICS records the choice). A TC at the first GENERATE AC is
/// always asked for with CDA, and an AAC never is.
///
/// | ICS mode | `arqc_first_generate_ac` | `tc_second_generate_ac` |
/// |---|---|---|
/// | 1 (the default) | `true` | `true` |
/// | 2 | `true` | `false` |
/// | 3 | `false` | `true` |
/// | 4 | `false` | `false` |
///
/// When CDA is asked for at neither GENERATE AC of a transaction, its
/// signature is never checked and the outcome reports CDA as selected but
/// not performed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct CdaRequestMode {
    /// Ask for CDA with an ARQC at the first GENERATE AC.
    pub arqc_first_generate_ac: bool,
    /// Ask for CDA with a TC at the second GENERATE AC.
    pub tc_second_generate_ac: bool,
}

impl CdaRequestMode {
    /// ICS mode 1: CDA with every ARQC and TC (the kernel's behaviour
    /// before the mode was configurable).
    pub const MODE_1: CdaRequestMode = CdaRequestMode {
        arqc_first_generate_ac: true,
        tc_second_generate_ac: true,
    };
    /// ICS mode 2: CDA with the ARQC, not with the TC of the second
    /// GENERATE AC.
    pub const MODE_2: CdaRequestMode = CdaRequestMode {
        arqc_first_generate_ac: true,
        tc_second_generate_ac: false,
    };
    /// ICS mode 3: no CDA with the ARQC, CDA with the TC of the second
    /// GENERATE AC.
    pub const MODE_3: CdaRequestMode = CdaRequestMode {
        arqc_first_generate_ac: false,
        tc_second_generate_ac: true,
    };
    /// ICS mode 4: CDA only with a TC at the first GENERATE AC.
    pub const MODE_4: CdaRequestMode = CdaRequestMode {
        arqc_first_generate_ac: false,
        tc_second_generate_ac: false,
    };

    /// The mode of its ICS number (1 to 4).
    pub const fn from_number(number: u8) -> Option<CdaRequestMode> {
        match number {
            1 => Some(Self::MODE_1),
            2 => Some(Self::MODE_2),
            3 => Some(Self::MODE_3),
            4 => Some(Self::MODE_4),
            _ => None,
        }
    }

    /// Whether this mode lets a GENERATE AC asking for `requested` (the
    /// second one when `second`) ask for CDA. The other conditions (CDA
    /// selected, not failed, not an AAC) are [`crate::action::cda_requested`]'s.
    pub const fn allows(self, requested: crate::apdu::RequestedCryptogram, second: bool) -> bool {
        use crate::apdu::RequestedCryptogram as Requested;
        match (requested, second) {
            (Requested::Arqc, false) => self.arqc_first_generate_ac,
            (Requested::Tc, true) => self.tc_second_generate_ac,
            _ => true,
        }
    }
}

/// How a refund (Transaction Type 9C `20`) is taken (ICS row 92).
///
/// A refund credits the cardholder: there is nothing for the issuer to
/// authorise and nothing for the card to approve. Scheme practice (and the
/// ICS's "AAC only" option) is to ask the card for an AAC at the first
/// GENERATE AC, whatever terminal action analysis finds, and to complete
/// the refund with that AAC for clearing; docs/conformance.md, "Refunds".
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum RefundPolicy {
    /// The first GENERATE AC asks for an AAC; the card's AAC completes the
    /// refund: decision `Approved`, ARC `Y1`, the AAC in the clearing data.
    #[default]
    AacAtFirstGenerateAc,
    /// A refund runs like a purchase (terminal action analysis decides, and
    /// the card's AAC is a decline).
    AsPurchase,
}

impl Default for CdaRequestMode {
    fn default() -> Self {
        Self::MODE_1
    }
}

/// The terminal's configuration: who it is, what it can do, what it accepts.
///
/// Book 4, Annex A (terminal data elements).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TerminalConfig {
    /// Terminal Capabilities (9F33), 3 bytes.
    pub terminal_capabilities: [u8; 3],
    /// Additional Terminal Capabilities (9F40), 5 bytes.
    pub additional_terminal_capabilities: [u8; 5],
    /// Terminal Type (9F35).
    pub terminal_type: u8,
    /// Terminal Country Code (9F1A), n3 in 2 bytes.
    pub terminal_country_code: [u8; 2],
    /// Terminal Identification (9F1C), an8.
    pub terminal_identification: [u8; 8],
    /// Interface Device Serial Number (9F1E), an8.
    pub ifd_serial_number: [u8; 8],
    /// Merchant Identifier (9F16), ans15.
    pub merchant_identifier: [u8; 15],
    /// Merchant Category Code (9F15), n4 in 2 bytes.
    pub merchant_category_code: [u8; 2],
    /// Merchant Name and Location (9F4E), ans.
    pub merchant_name_and_location: Vec<u8, MAX_MERCHANT_NAME_BYTES>,
    /// Acquirer Identifier (9F01), n6-11 in 6 bytes.
    pub acquirer_identifier: [u8; 6],
    /// Selection features.
    pub selection: SelectionFeatures,
    /// The terminal can reach the issuer (terminal types x1 and x2); an
    /// offline-only terminal (x3, x6) never asks to go online.
    pub online_capable: bool,
    /// A PIN pad is present and working.
    pub pin_pad_working: bool,
    /// Terminal option "subsequent PIN bypass" (Book 3, 10.5.1 and the PIN
    /// entry bypass rules of Book 4): once PIN entry was bypassed for one
    /// PIN CVM, every later PIN CVM of the list counts as bypassed without
    /// prompting again. Off: each PIN CVM prompts anew.
    pub subsequent_pin_bypass: bool,
    /// When CDA is asked for at the GENERATE AC commands (ICS CDA request
    /// modes); ICS mode 1 by default.
    pub cda_request_mode: CdaRequestMode,
    /// How refunds are taken (ICS row 92); an AAC at the first GENERATE AC
    /// by default.
    pub refund_policy: RefundPolicy,
    /// The applications the terminal accepts, in the terminal's order.
    pub applications: Vec<ApplicationConfig, TERMINAL_AID_CAPACITY>,
    /// The languages the terminal shows messages in, the merchant's first
    /// (Book 4, 11.1; [`crate::messages::select_language`]).
    pub languages: Vec<Language, TERMINAL_LANGUAGE_CAPACITY>,
}

impl Default for TerminalConfig {
    /// The test cards' terminal:
    /// - 9F33 `E0F8C8`: IC with contact; plaintext PIN (ICC), enciphered PIN
    ///   online, signature, enciphered PIN (ICC), no CVM; SDA, DDA, CDA (byte 3
    ///   `C8`: b8, b7, b4; card capture would be b6, `20`).
    /// - 9F40 `F000F0A001`: cash, goods, services and cashback (byte 1 b8
    ///   to b5); numeric keys, command keys, print,
    ///   display; code table 1. 9F35 `22` (attended merchant terminal, offline
    ///   with online capability), country 9F1A `0250`, MCC `5999`.
    /// - PSE first, cardholder confirmation and choice supported, PIN pad
    ///   working, no subsequent PIN bypass.
    /// - Messages in English (the merchant's language), German, French and
    ///   Spanish.
    /// - The test cards' applications `A0000009991010` (credit),
    ///   `A0000009992020` (debit) and `A0000009993030` (prepaid), each with
    ///   partial selection allowed, version `0002`, floor limit 100.00, no
    ///   random selection, TAC denial `0010000000`, online `DC4084F900`,
    ///   default `DC4000A900` (byte 4 b1 is EMV 4.4's "XDA signature
    ///   verification failed"), default DDOL `9F3704`.
    fn default() -> Self {
        let mut applications = Vec::new();
        for aid in [TEST_AID_CREDIT, TEST_AID_DEBIT, TEST_AID_PREPAID] {
            let _ = applications.push(ApplicationConfig::new(&aid));
        }
        let mut merchant_name_and_location = Vec::new();
        let _ = merchant_name_and_location.extend_from_slice(b"EMV TEST SHOP LONDON");
        TerminalConfig {
            terminal_capabilities: [0xE0, 0xF8, 0xC8],
            additional_terminal_capabilities: [0xF0, 0x00, 0xF0, 0xA0, 0x01],
            terminal_type: 0x22,
            terminal_country_code: [0x02, 0x50],
            terminal_identification: *b"TERM0001",
            ifd_serial_number: *b"IFD00001",
            merchant_identifier: *b"MERCHANT0000001",
            merchant_category_code: [0x59, 0x99],
            merchant_name_and_location,
            acquirer_identifier: [0x00, 0x00, 0x00, 0x12, 0x34, 0x56],
            selection: SelectionFeatures {
                pse: true,
                cardholder_confirmation: true,
                cardholder_choice: true,
            },
            online_capable: true,
            pin_pad_working: true,
            subsequent_pin_bypass: false,
            cda_request_mode: CdaRequestMode::MODE_1,
            refund_policy: RefundPolicy::AacAtFirstGenerateAc,
            applications,
            languages: Vec::from_slice(&Language::WITH_TEXTS).unwrap_or_default(),
        }
    }
}

impl TerminalConfig {
    /// Whether 9F33 byte 3 has `mask` (one of the `CAPABILITY_*` constants).
    pub fn supports(&self, mask: u8) -> bool {
        self.terminal_capabilities[2] & mask != 0
    }

    /// The terminal application matching a card's DF name: exact match, or a
    /// terminal AID the DF name starts with when that entry allows partial
    /// selection (Book 1, 12.3.1).
    pub fn application_for(&self, df_name: &[u8]) -> Option<&ApplicationConfig> {
        let exact = self
            .applications
            .iter()
            .find(|app| app.aid.as_slice() == df_name);
        exact.or_else(|| {
            self.applications
                .iter()
                .find(|app| app.partial_selection && df_name.starts_with(&app.aid))
        })
    }
}

/// What the caller supplies for one transaction: amounts, type, date, time
/// and the random values the kernel must not draw itself.
///
/// Book 4, Annex A: 9F02, 9F03, 5F2A, 5F36, 9C, 9A, 9F21, 9F37, 9F41.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TransactionInputs {
    /// Amount, Authorised (9F02), minor units.
    pub amount_authorised: u64,
    /// Amount, Other (9F03), minor units (cashback).
    pub amount_other: u64,
    /// Transaction Type (9C): `00` purchase, `01` cash, `09` cashback, `20` refund.
    pub transaction_type: u8,
    /// Transaction Currency Code (5F2A), n3 in 2 bytes.
    pub currency_code: [u8; 2],
    /// Transaction Currency Exponent (5F36).
    pub currency_exponent: u8,
    /// Transaction Date (9A), BCD `YYMMDD`.
    pub date: [u8; 3],
    /// Transaction Time (9F21), BCD `HHMMSS`.
    pub time: [u8; 3],
    /// Unpredictable Number (9F37) for this transaction: the caller draws it.
    pub unpredictable_number: [u8; 4],
    /// The random number 1..=99 for random transaction selection (Book 3, 10.6.2).
    pub random_selection_number: u8,
    /// Transaction Sequence Counter (9F41), kept by the caller.
    pub transaction_sequence_counter: u32,
    /// The merchant forces the transaction online (TVR byte 4 b4).
    pub merchant_forced_online: bool,
}

/// A transaction currency (5F2A, 5F36): ISO 4217 numeric code in two BCD
/// bytes and its exponent.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Currency {
    /// Transaction Currency Code (5F2A), n3 in 2 bytes: `[0x09, 0x78]` for 978.
    pub code: [u8; 2],
    /// Transaction Currency Exponent (5F36): digits after the decimal point.
    pub exponent: u8,
}

impl Currency {
    /// Euro, ISO 4217 978, exponent 2.
    pub const EUR: Currency = Currency {
        code: [0x09, 0x78],
        exponent: 2,
    };
    /// US dollar, ISO 4217 840, exponent 2.
    pub const USD: Currency = Currency {
        code: [0x08, 0x40],
        exponent: 2,
    };
    /// Pound sterling, ISO 4217 826, exponent 2.
    pub const GBP: Currency = Currency {
        code: [0x08, 0x26],
        exponent: 2,
    };
}

impl TransactionInputs {
    /// A purchase (9C `00`) of `amount_authorised` minor units, without
    /// cashback, not forced online.
    ///
    /// There is no `Default`: the date, the time, the Unpredictable Number
    /// (9F37, Book 4, 6.5.6: a new one per transaction) and the random
    /// selection number (Book 3, 10.6.2) are the terminal's to supply, and a
    /// constant one would be sent to every card. The other fields are public
    /// for cash, cashback and refunds:
    ///
    /// ```
    /// use emv_kernel::config::{Currency, TransactionInputs};
    ///
    /// let cashback = TransactionInputs {
    ///     transaction_type: 0x09,
    ///     amount_other: 2_000,
    ///     ..TransactionInputs::new(
    ///         5_000,
    ///         Currency::EUR,
    ///         [0x26, 0x12, 0x02], // 2026-12-02
    ///         [0x17, 0x30, 0x00], // 17:30:00
    ///         [0x9B, 0x1F, 0x04, 0xE2], // from the terminal's random source
    ///         37,
    ///         1_204,
    ///     )
    /// };
    /// assert_eq!(cashback.currency_code, [0x09, 0x78]);
    /// ```
    pub const fn new(
        amount_authorised: u64,
        currency: Currency,
        date: [u8; 3],
        time: [u8; 3],
        unpredictable_number: [u8; 4],
        random_selection_number: u8,
        transaction_sequence_counter: u32,
    ) -> Self {
        TransactionInputs {
            amount_authorised,
            amount_other: 0,
            transaction_type: 0x00,
            currency_code: currency.code,
            currency_exponent: currency.exponent,
            date,
            time,
            unpredictable_number,
            random_selection_number,
            transaction_sequence_counter,
            merchant_forced_online: false,
        }
    }

    /// The transaction currency.
    pub const fn currency(&self) -> Currency {
        Currency {
            code: self.currency_code,
            exponent: self.currency_exponent,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partial_selection_matches_longer_df_name_only_when_allowed() {
        let mut config = TerminalConfig::default();
        let long = [0xA0, 0x00, 0x00, 0x09, 0x99, 0x10, 0x10, 0x01];
        assert!(config.application_for(&long).is_some());
        config.applications[0].partial_selection = false;
        assert!(config.application_for(&long).is_none());
        assert!(config.application_for(&TEST_AID_CREDIT).is_some());
        assert!(config
            .application_for(&[0xA0, 0x00, 0x00, 0x09, 0x99])
            .is_none());
    }

    /// ICS CDA request modes: only an ARQC at the first and a TC at the
    /// second GENERATE AC depend on the mode.
    #[test]
    fn cda_request_modes_gate_the_arqc_and_the_second_tc_only() {
        use crate::apdu::RequestedCryptogram::{Aac, Arqc, Tc};
        for mode in [1, 2, 3, 4].map(|n| CdaRequestMode::from_number(n).unwrap()) {
            assert!(mode.allows(Tc, false), "{mode:?}: TC at the first");
            assert!(mode.allows(Aac, true));
            assert_eq!(mode.allows(Arqc, false), mode.arqc_first_generate_ac);
            assert_eq!(mode.allows(Tc, true), mode.tc_second_generate_ac);
        }
        assert!(!CdaRequestMode::MODE_3.allows(Arqc, false));
        assert!(!CdaRequestMode::MODE_2.allows(Tc, true));
    }

    #[test]
    fn capabilities() {
        let config = TerminalConfig::default();
        assert!(config.supports(CAPABILITY_SDA));
        assert!(config.supports(CAPABILITY_DDA));
        assert!(config.supports(CAPABILITY_CDA));
    }
}
