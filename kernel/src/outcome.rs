//! What the caller gets at the end of a transaction.
//!
//! Book 3, 10.11 (completion) and Book 4, 6.3.1 (the data a terminal keeps
//! for clearing): the decision, how it was reached, and the data objects an
//! acquirer needs.

use crate::data::{DataStore, Sources, TerminalData};
use crate::dol;
use crate::limits::{CLEARING_DATA_BYTES, MAX_AID_BYTES, MAX_LABEL_BYTES, SCRIPT_RESULTS_BYTES};
use crate::oda::OdaFailure;
use crate::restrict::AdditionalTerminalCapabilities;
use crate::tlv::{self, Tag};
use crate::tvr::{CvmResults, Tsi, Tvr};
use heapless::Vec;

/// Why a transaction ended without a card decision (Book 1, 12.4; Book 3,
/// 10.1 and 10.2 "terminate the transaction").
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TerminationReason {
    /// SELECT of the PSE or of the first AID answered 6A81 (Book 1, 12.3.2).
    CardBlocked,
    /// No application on the card is accepted by the terminal (empty
    /// candidate list, or every candidate failed final selection).
    NoApplication,
    /// The only application requires cardholder confirmation, which the
    /// terminal cannot obtain (Book 1, 12.4).
    ConfirmationNotSupported,
    /// The cardholder declined or cancelled the application choice.
    Cancelled,
    /// The card answered a command with a status word EMV treats as fatal.
    CardError {
        /// The command's INS byte.
        instruction: u8,
        /// The status word returned.
        status: u16,
    },
    /// A response could not be parsed (bad TLV, wrong template, bad length).
    CardDataFormat,
    /// Application File Locator invalid (Book 3, 10.2).
    InvalidAfl,
    /// A primitive data object appeared twice in the records (Book 3, 10.2).
    DuplicateData,
    /// Expiration date, PAN, CDOL1 or CDOL2 missing (Book 3, 10.2).
    MissingMandatoryData,
    /// Card data exceeded a kernel capacity limit (see `limits`).
    CapacityExceeded,
    /// The card answered GENERATE AC with a cryptogram type not allowed at
    /// that point (Book 3, 9.3), or an invalid CID.
    InvalidCryptogram,
    /// The transport to the card failed (card removed, reader error).
    TransportFailed,
    /// The flow did not finish within the kernel's step bound (hostile card).
    StepLimit,
    /// The transaction was made with [`crate::transaction::Transaction::idle`]
    /// and not started ([`crate::transaction::Transaction::start`]).
    NotStarted,
}

impl TerminationReason {
    /// A stable snake_case code for machine-readable output.
    pub const fn code(&self) -> &'static str {
        match self {
            TerminationReason::CardBlocked => "card_blocked",
            TerminationReason::NoApplication => "no_application",
            TerminationReason::ConfirmationNotSupported => "confirmation_not_supported",
            TerminationReason::Cancelled => "cancelled",
            TerminationReason::CardError { .. } => "card_error",
            TerminationReason::CardDataFormat => "card_data_format",
            TerminationReason::InvalidAfl => "invalid_afl",
            TerminationReason::DuplicateData => "duplicate_data",
            TerminationReason::MissingMandatoryData => "missing_mandatory_data",
            TerminationReason::CapacityExceeded => "capacity_exceeded",
            TerminationReason::InvalidCryptogram => "invalid_cryptogram",
            TerminationReason::TransportFailed => "transport_failed",
            TerminationReason::StepLimit => "step_limit",
            TerminationReason::NotStarted => "not_started",
        }
    }
}

impl core::fmt::Display for TerminationReason {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            TerminationReason::CardBlocked => f.write_str("the card is blocked (SELECT answered 6A81)"),
            TerminationReason::NoApplication => {
                f.write_str("no application on the card is accepted by the terminal")
            }
            TerminationReason::ConfirmationNotSupported => f.write_str(
                "the only application needs cardholder confirmation, which this terminal cannot ask",
            ),
            TerminationReason::Cancelled => f.write_str("the cardholder cancelled the application choice"),
            TerminationReason::CardError {
                instruction,
                status,
            } => write!(
                f,
                "the card answered the command with INS {instruction:02X} with status {status:04X}"
            ),
            TerminationReason::CardDataFormat => f.write_str("a card response is malformed"),
            TerminationReason::InvalidAfl => f.write_str("the Application File Locator is invalid"),
            TerminationReason::DuplicateData => {
                f.write_str("a primitive data object appears twice in the card's records")
            }
            TerminationReason::MissingMandatoryData => f.write_str(
                "mandatory card data is missing (expiration date, PAN, CDOL1 or CDOL2)",
            ),
            TerminationReason::CapacityExceeded => {
                f.write_str("card data exceeds a capacity of the kernel")
            }
            TerminationReason::InvalidCryptogram => f.write_str(
                "the card answered GENERATE AC with a cryptogram type not allowed there",
            ),
            TerminationReason::TransportFailed => {
                f.write_str("the connection to the card failed (card removed or reader error)")
            }
            TerminationReason::StepLimit => {
                f.write_str("the card kept the transaction going past the kernel's step bound")
            }
            TerminationReason::NotStarted => f.write_str("the transaction was not started"),
        }
    }
}

/// The transaction's end decision.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Decision {
    /// The card produced a TC.
    Approved,
    /// The card produced an AAC, or the terminal overrode a TC/ARQC.
    Declined,
    /// The transaction ended before a decision.
    Terminated(TerminationReason),
}

pub use crate::apdu::RequestedCryptogram as CryptogramType;

/// Which offline data authentication was selected (Book 3, 10.3).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum OdaMethod {
    /// Neither card nor terminal allow a common method.
    None,
    /// Static Data Authentication.
    Sda,
    /// Dynamic Data Authentication.
    Dda,
    /// Combined DDA / Application Cryptogram Generation.
    Cda,
    /// Extended Data Authentication (EMV 4.4: ECC certificates and an
    /// EC-SDSA signature on the GENERATE AC response).
    Xda,
}

/// How an issuer referral ended (Book 4, 6.5.2, voice referrals).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ReferralDecision {
    /// The attendant's call approved: the card was asked for a TC.
    Approved,
    /// The attendant's call declined, or the terminal is unattended and
    /// cannot refer: the card was asked for an AAC.
    Declined,
}

impl ReferralDecision {
    /// A stable snake_case code for machine-readable output.
    pub fn code(self) -> &'static str {
        match self {
            ReferralDecision::Approved => "approved",
            ReferralDecision::Declined => "declined",
        }
    }
}

/// The result of offline data authentication.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum OdaResult {
    /// Not performed (no common method, or the transaction ended before).
    NotPerformed,
    /// Performed and successful.
    Succeeded,
    /// Performed and failed.
    Failed,
}

/// The transaction's result, with everything a receipt, a journal and a
/// clearing record need.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Outcome {
    /// Approved, declined or terminated.
    pub decision: Decision,
    /// Whether the issuer was asked (an authorisation response was received).
    pub online: bool,
    /// Authorisation Response Code (8A): `Y1`, `Z1`, `Y3`, `Z3` or the host's.
    pub authorisation_response_code: Option<[u8; 2]>,
    /// Type of the last cryptogram the card produced.
    pub cryptogram_type: Option<CryptogramType>,
    /// Application Cryptogram (9F26) of the last GENERATE AC.
    pub cryptogram: Option<[u8; 8]>,
    /// Application Transaction Counter (9F36).
    pub atc: Option<[u8; 2]>,
    /// Terminal Verification Results at the end.
    pub tvr: Tvr,
    /// Transaction Status Information at the end.
    pub tsi: Tsi,
    /// Cardholder Verification Method Results (9F34).
    pub cvm_results: CvmResults,
    /// The selected application's AID (DF name, 84); empty before selection.
    pub aid: Vec<u8, MAX_AID_BYTES>,
    /// The application's name for the receipt: the Preferred Name (9F12) when
    /// its code table (9F11) is one the terminal supports (9F40), else the
    /// Application Label (50) (Book 1, 12.2.4;
    /// [`AdditionalTerminalCapabilities::application_name`]).
    pub application_label: Vec<u8, MAX_LABEL_BYTES>,
    /// PAN with all but the first 6 and last 4 digits replaced by `*`
    /// (ASCII), for receipts and logs.
    pub masked_pan: Vec<u8, 19>,
    /// The ODA method selected.
    pub oda_method: OdaMethod,
    /// The ODA result.
    pub oda_result: OdaResult,
    /// Why ODA failed, when it did (the exact Book 2 check).
    pub oda_failure: Option<OdaFailure>,
    /// The receipt needs a signature line (signature CVM performed).
    pub signature_required: bool,
    /// ICC data for clearing (ISO 8583 field 55), BER-TLV.
    pub clearing_data: Vec<u8, CLEARING_DATA_BYTES>,
    /// CID b4 of the card's last GENERATE AC response: the card asks for an
    /// advice message (Book 3, 6.5.5.4 and 10.8; Book 4, 6.3.7). The terminal
    /// keeps the transaction for an advice to the acquirer.
    pub advice_required: bool,
    /// The issuer approved but the card declined at the second GENERATE AC
    /// (AAC after a TC was requested online): the approval the host holds
    /// must be reversed (Book 4, 12.2; sending the reversal is the
    /// terminal's).
    pub reversal_required: bool,
    /// Issuer Script Results (9F5B), 5 bytes per script command.
    pub script_results: Vec<u8, SCRIPT_RESULTS_BYTES>,
    /// The issuer referred the transaction (ARC `01` or `02`), and how the
    /// voice referral ended (Book 4, 6.5.2); `None` without a referral.
    pub referral: Option<ReferralDecision>,
    /// The attendant forced acceptance of this card-declined transaction
    /// (Book 4, 6.5.4; [`crate::transaction::Transaction::force_acceptance`]).
    /// `decision` stays `Declined` and the AAC stays in the clearing data:
    /// the acquirer is told the merchant accepted it.
    pub forced_acceptance: bool,
}

impl Outcome {
    /// An outcome with no data yet, for `decision`.
    pub fn empty(decision: Decision) -> Self {
        Outcome {
            decision,
            online: false,
            authorisation_response_code: None,
            cryptogram_type: None,
            cryptogram: None,
            atc: None,
            tvr: Tvr::default(),
            tsi: Tsi::default(),
            cvm_results: CvmResults::NO_CVM_PERFORMED,
            aid: Vec::new(),
            application_label: Vec::new(),
            masked_pan: Vec::new(),
            oda_method: OdaMethod::None,
            oda_result: OdaResult::NotPerformed,
            oda_failure: None,
            signature_required: false,
            clearing_data: Vec::new(),
            advice_required: false,
            reversal_required: false,
            script_results: Vec::new(),
            referral: None,
            forced_acceptance: false,
        }
    }

    /// Whether the transaction was approved.
    pub fn is_approved(&self) -> bool {
        self.decision == Decision::Approved
    }
}

/// What the outcome reports besides the data objects: how the transaction
/// got where it ended.
pub(crate) struct Report<'a> {
    /// The issuer answered.
    pub(crate) online: bool,
    /// An application was selected.
    pub(crate) application_selected: bool,
    /// The ODA method selected.
    pub(crate) oda_method: OdaMethod,
    /// The ODA result.
    pub(crate) oda_result: OdaResult,
    /// Why ODA failed, when a Book 2 check did.
    pub(crate) oda_failure: Option<OdaFailure>,
    /// The signature CVM was performed.
    pub(crate) signature_required: bool,
    /// Issuer Script Results (9F5B) so far.
    pub(crate) script_results: &'a [u8],
    /// The issuer approved and the card then declined.
    pub(crate) reversal_required: bool,
    /// The issuer referred the transaction, and how the referral ended.
    pub(crate) referral: Option<ReferralDecision>,
}

impl Outcome {
    /// Book 3, 10.11: the outcome for `decision`, from the card's and the
    /// terminal's data objects as they stand; no cryptogram type and no
    /// clearing data yet.
    pub(crate) fn build(
        decision: Decision,
        store: &DataStore,
        terminal: &TerminalData,
        report: &Report<'_>,
    ) -> Self {
        let mut outcome = Outcome::empty(decision);
        outcome.online = report.online;
        outcome.authorisation_response_code = terminal.authorisation_response_code;
        outcome.cryptogram = store
            .get(Tag(0x9F26))
            .and_then(|v| <[u8; 8]>::try_from(v).ok());
        outcome.atc = store
            .get(Tag(0x9F36))
            .and_then(|v| <[u8; 2]>::try_from(v).ok());
        outcome.tvr = terminal.tvr;
        outcome.tsi = terminal.tsi;
        outcome.cvm_results = CvmResults(terminal.cvm_results);
        if report.application_selected || store.contains(Tag(0x84)) {
            outcome.aid = Vec::from_slice(store.get(Tag(0x84)).unwrap_or(&[])).unwrap_or_default();
        }
        let label = AdditionalTerminalCapabilities(terminal.additional_capabilities)
            .application_name(
                store.get(Tag(0x50)).unwrap_or(&[]),
                store.get(Tag(0x9F12)),
                store.get(Tag(0x9F11)).and_then(|v| v.first().copied()),
            );
        for byte in label.iter().take(outcome.application_label.capacity()) {
            let _ = outcome.application_label.push(*byte);
        }
        outcome.masked_pan = mask_pan(store.get(Tag(0x5A)).unwrap_or(&[]));
        outcome.oda_method = report.oda_method;
        outcome.oda_result = report.oda_result;
        outcome.oda_failure = report.oda_failure;
        outcome.signature_required = report.signature_required;
        // The data store holds the CID of the last GENERATE AC answered.
        outcome.advice_required = store
            .get(Tag(0x9F27))
            .and_then(|cid| cid.first())
            .is_some_and(|cid| cid & 0x08 != 0);
        outcome.reversal_required = report.reversal_required;
        outcome.referral = report.referral;
        let _ = outcome
            .script_results
            .extend_from_slice(report.script_results);
        outcome
    }
}

/// The ICC data for authorisation and clearing (ISO 8583 field 55): the
/// set acquirers expect in this order: 9F26 9F27 9F10 9F37 9F36 95 9A 9C
/// 9F02 5F2A 82 9F1A 9F03 9F33 9F34 9F35 9F1E 84 9F09 9F41 5F34, and
/// 9F5B when scripts ran. Absent objects are left out.
pub(crate) fn icc_data(
    store: &DataStore,
    terminal: &TerminalData,
    script_results: &[u8],
) -> Vec<u8, CLEARING_DATA_BYTES> {
    const TAGS: [u32; 21] = [
        0x9F26, 0x9F27, 0x9F10, 0x9F37, 0x9F36, 0x95, 0x9A, 0x9C, 0x9F02, 0x5F2A, 0x82, 0x9F1A,
        0x9F03, 0x9F33, 0x9F34, 0x9F35, 0x9F1E, 0x84, 0x9F09, 0x9F41, 0x5F34,
    ];
    let mut buffer = [0u8; CLEARING_DATA_BYTES];
    let mut writer = tlv::Writer::new(&mut buffer);
    let sources = Sources {
        terminal,
        card: store,
    };
    for tag in TAGS {
        if let Some(value) = dol::DataSource::get(&sources, Tag(tag)) {
            // A full buffer leaves the rest out; the capacity holds the set.
            let _ = writer.push(Tag(tag), value);
        }
    }
    if !script_results.is_empty() {
        let _ = writer.push(Tag(0x9F5B), script_results);
    }
    Vec::from_slice(writer.as_bytes()).unwrap_or_default()
}

/// Writes the PAN (5A, BCD padded with `F`) masked for display: the first 6
/// and last 4 digits kept, the rest `*` (PCI DSS display rule).
pub fn mask_pan(pan: &[u8]) -> Vec<u8, 19> {
    let mut digits: Vec<u8, 19> = Vec::new();
    for nibble in pan.iter().flat_map(|b| [b >> 4, b & 0x0F]) {
        if nibble > 9 || digits.push(b'0' + nibble).is_err() {
            break;
        }
    }
    let count = digits.len();
    for (position, digit) in digits.iter_mut().enumerate() {
        if position >= 6 && position + 4 < count {
            *digit = b'*';
        }
    }
    digits
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_pan() {
        let masked = mask_pan(&[0x47, 0x61, 0x73, 0x90, 0x01, 0x01, 0x01, 0x19]);
        assert_eq!(masked.as_slice(), b"476173******0119");
        let masked = mask_pan(&[0x54, 0x13, 0x33, 0x00, 0x89, 0x02, 0x00, 0x01, 0x3F]);
        assert_eq!(masked.as_slice(), b"541333*******0013");
    }

    #[test]
    fn advice_required_follows_cid_b4_of_the_last_generate_ac() {
        use crate::config::{Currency, TerminalConfig, TransactionInputs};
        let config = TerminalConfig::default();
        let inputs = TransactionInputs::new(
            1_000,
            Currency::EUR,
            [0x25, 0x06, 0x15],
            [0x12, 0x00, 0x00],
            [0x11, 0x22, 0x33, 0x44],
            50,
            1,
        );
        let terminal = TerminalData::new(&config, &inputs);
        let report = Report {
            online: false,
            application_selected: true,
            oda_method: OdaMethod::None,
            oda_result: OdaResult::NotPerformed,
            oda_failure: None,
            signature_required: false,
            script_results: &[],
            reversal_required: false,
            referral: None,
        };
        let mut store = DataStore::new();
        // AAC, advice required (b4), reason 1 "service not allowed".
        store.replace(Tag(0x9F27), &[0x09]).unwrap();
        let outcome = Outcome::build(Decision::Declined, &store, &terminal, &report);
        assert!(outcome.advice_required);
        store.replace(Tag(0x9F27), &[0x40]).unwrap();
        let outcome = Outcome::build(Decision::Approved, &store, &terminal, &report);
        assert!(!outcome.advice_required && !outcome.reversal_required);
    }
}
