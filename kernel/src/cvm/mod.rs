//! Cardholder verification: Book 3, 10.5 and Annex C3.
//!
//! The card's CVM List (8E) names, in order of preference, how the
//! cardholder should prove who they are, and under which condition each
//! method applies. [`CardholderVerification`] walks that list: it skips rules
//! whose condition is not met, fails or skips methods the terminal cannot do,
//! asks the engine to perform PIN methods and takes back the result, and
//! finally yields the CVM Results (9F34) and the TVR/TSI bits.
//!
//! The engine does the I/O for PIN methods. For the offline PIN methods it
//! may read the PIN Try Counter (GET DATA 9F17) first: if it is 0 the engine
//! reports [`PinOutcome::TryLimitExceeded`] without prompting or sending
//! VERIFY. Otherwise it prompts for the PIN (a missing or broken PIN pad is
//! [`PinOutcome::PinPadNotWorking`], a cardholder who skips entry is
//! [`PinOutcome::Bypassed`]), and sends VERIFY (for enciphered PIN after GET
//! CHALLENGE and encipherment with the ICC's key): `9000` is
//! [`PinOutcome::Verified`]; `63Cx` with x > 0 is a wrong PIN, the engine may
//! prompt again; `63C0`, `6983` and `6984` are [`PinOutcome::TryLimitExceeded`];
//! any other status, or an enciphered PIN whose key cannot be recovered, is
//! [`PinOutcome::Failed`] (as is a cardholder who gives up after a wrong PIN).
//! For online PIN the engine captures and enciphers the PIN for the host and
//! reports [`PinOutcome::Verified`] once it has it (the issuer verifies it).
//!
//! Entry point: [`CardholderVerification::start`], then
//! [`CardholderVerification::report`] after each PIN step. The transaction's
//! engine for the PIN methods is `pin` (crate-internal); the caller answers
//! its PIN requests with a [`PinEntry`] for a [`PinKind`].

pub(crate) mod pin;

pub use pin::{PinEntry, PinKind};

use crate::limits::CVM_LIST_MAX_RULES;
use crate::render::{CvRule, CvmCondition, CvmList, CvmListError, CvmMethod};
use crate::restrict::{TerminalType, TransactionType};
use crate::tvr::{self, Tsi, Tvr};
use heapless::Vec;

/// Book 4, Annex A2 (Terminal Capabilities 9F33, byte 2): whether the
/// terminal supports a method. b8 plaintext PIN for ICC verification, b7
/// enciphered PIN for online verification, b6 signature, b5 enciphered PIN
/// for offline verification, b4 no CVM required. "Fail CVM processing"
/// needs no capability; methods this kernel does not recognise (RFU, payment
/// system, issuer, `3F`) are never supported.
pub fn terminal_supports(method: CvmMethod, terminal_capabilities: &[u8; 3]) -> bool {
    let cvm_caps = terminal_capabilities[1];
    let plaintext = cvm_caps & 0x80 != 0;
    let online = cvm_caps & 0x40 != 0;
    let signature = cvm_caps & 0x20 != 0;
    let enciphered = cvm_caps & 0x10 != 0;
    let no_cvm = cvm_caps & 0x08 != 0;
    match method {
        CvmMethod::FailCvmProcessing => true,
        CvmMethod::PlaintextPinByIcc => plaintext,
        CvmMethod::EncipheredPinOnline => online,
        CvmMethod::PlaintextPinByIccAndSignature => plaintext && signature,
        CvmMethod::EncipheredPinByIcc => enciphered,
        CvmMethod::EncipheredPinByIccAndSignature => enciphered && signature,
        CvmMethod::Signature => signature,
        CvmMethod::NoCvmRequired => no_cvm,
        CvmMethod::NoCvmPerformed | CvmMethod::Other(_) => false,
    }
}

/// Book 3, Annex C3: whether this kernel recognises the method. `3F` is
/// only meaningful in CVM Results, so in a rule it is unrecognised too.
pub fn recognised(method: CvmMethod) -> bool {
    !matches!(method, CvmMethod::NoCvmPerformed | CvmMethod::Other(_))
}

/// Whether the method asks the cardholder for a PIN.
pub fn needs_pin(method: CvmMethod) -> bool {
    matches!(
        method,
        CvmMethod::PlaintextPinByIcc
            | CvmMethod::EncipheredPinOnline
            | CvmMethod::PlaintextPinByIccAndSignature
            | CvmMethod::EncipheredPinByIcc
            | CvmMethod::EncipheredPinByIccAndSignature
    )
}

/// Whether the method includes a paper signature.
pub fn needs_signature(method: CvmMethod) -> bool {
    matches!(
        method,
        CvmMethod::Signature
            | CvmMethod::PlaintextPinByIccAndSignature
            | CvmMethod::EncipheredPinByIccAndSignature
    )
}

/// Book 3, 10.5: the method needs a PIN and the terminal has no PIN
/// capability for it (9F33 byte 2 b8 for plaintext, b5 for enciphered
/// offline, b7 for online): "PIN entry required and PIN pad not present or
/// not working". A PIN + signature method refused only for lack of signature
/// capability does not count.
pub fn pin_capability_missing(method: CvmMethod, terminal_capabilities: &[u8; 3]) -> bool {
    let pin_method = match method {
        CvmMethod::PlaintextPinByIccAndSignature => CvmMethod::PlaintextPinByIcc,
        CvmMethod::EncipheredPinByIccAndSignature => CvmMethod::EncipheredPinByIcc,
        other => other,
    };
    needs_pin(pin_method) && !terminal_supports(pin_method, terminal_capabilities)
}

/// Why a CVM List value cannot be used: a card format error, after which
/// the engine terminates the transaction as for any malformed card data.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CvmFormatError {
    /// Amounts X/Y incomplete or an odd number of rule bytes.
    Malformed(CvmListError),
    /// More rules than the 252-byte maximum of 8E allows
    /// ([`CVM_LIST_MAX_RULES`]).
    TooManyRules,
}

impl core::fmt::Display for CvmFormatError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            CvmFormatError::Malformed(e) => e.fmt(f),
            CvmFormatError::TooManyRules => write!(
                f,
                "CVM List holds more than {CVM_LIST_MAX_RULES} rules (the 252-byte maximum of 8E)"
            ),
        }
    }
}

impl core::error::Error for CvmFormatError {
    fn source(&self) -> Option<&(dyn core::error::Error + 'static)> {
        match self {
            CvmFormatError::Malformed(e) => Some(e),
            CvmFormatError::TooManyRules => None,
        }
    }
}

/// The rules of a CVM List, copied so the state machine does not borrow the
/// card's data while the engine keeps working with it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct Rules {
    amount_x: u32,
    amount_y: u32,
    raw: Vec<[u8; 2], CVM_LIST_MAX_RULES>,
}

impl Rules {
    /// Book 3, 10.5: an empty 8E value, like a list of amounts only, has no
    /// rules and counts as an absent list.
    fn parse(value: &[u8]) -> Result<Self, CvmFormatError> {
        if value.is_empty() {
            return Ok(Rules::default());
        }
        let list = CvmList::parse(value).map_err(CvmFormatError::Malformed)?;
        let mut raw = Vec::new();
        for rule in list.rules() {
            raw.push(rule.raw)
                .map_err(|_| CvmFormatError::TooManyRules)?;
        }
        Ok(Rules {
            amount_x: list.amount_x,
            amount_y: list.amount_y,
            raw,
        })
    }

    fn get(&self, index: usize) -> Option<CvRule> {
        self.raw.get(index).map(|raw| CvRule::from_bytes(*raw))
    }
}

/// The terminal and transaction facts the CVM conditions and methods need.
#[derive(Clone, Copy, Debug)]
pub struct CvmContext {
    /// Terminal Capabilities (9F33); byte 2 lists the supported CVMs.
    pub terminal_capabilities: [u8; 3],
    /// Terminal Type (9F35): attended or unattended.
    pub terminal_type: TerminalType,
    /// Transaction Type (9C).
    pub transaction_type: TransactionType,
    /// Amount, Authorised (9F02), minor units of the transaction currency.
    pub amount_authorised: u64,
    /// Transaction Currency Code (5F2A).
    pub transaction_currency_code: [u8; 2],
    /// Application Currency Code (9F42) from the card, if present.
    pub application_currency_code: Option<[u8; 2]>,
    /// A PIN pad is present and working. When false, a PIN CVM the terminal
    /// otherwise supports fails at once with TVR "PIN entry required and PIN
    /// pad not present or not working", without asking the engine.
    pub pin_pad_working: bool,
    /// Terminal option (PIN bypass policy, Book 4): once the cardholder
    /// bypasses one PIN CVM, treat every later PIN CVM as bypassed too,
    /// without prompting.
    pub subsequent_pin_bypass: bool,
}

impl CvmContext {
    /// Book 3, Annex C3: whether a rule's condition holds here.
    /// Conditions 06-09 hold only when the transaction is in the application
    /// currency (5F2A = 9F42; 9F42 absent means they do not hold); "under"
    /// and "over" are strict. Cash means Transaction Type `01` or `17`;
    /// manual cash is cash at an attended terminal, unattended cash at an
    /// unattended one; purchase with cashback is type `09`.
    pub fn condition_holds(&self, rule: &CvRule, amount_x: u32, amount_y: u32) -> bool {
        let cash = self.transaction_type.is_cash();
        let unattended = self.terminal_type.is_unattended();
        let cashback = self.transaction_type.is_cashback();
        let in_application_currency =
            self.application_currency_code == Some(self.transaction_currency_code);
        let amount = self.amount_authorised;
        match rule.condition {
            CvmCondition::Always => true,
            CvmCondition::UnattendedCash => cash && unattended,
            CvmCondition::NotUnattendedCashNotManualCashNotCashback => !cash && !cashback,
            CvmCondition::TerminalSupportsCvm => {
                terminal_supports(rule.method, &self.terminal_capabilities)
            }
            CvmCondition::ManualCash => cash && !unattended,
            CvmCondition::PurchaseWithCashback => cashback,
            CvmCondition::UnderX => in_application_currency && amount < u64::from(amount_x),
            CvmCondition::OverX => in_application_currency && amount > u64::from(amount_x),
            CvmCondition::UnderY => in_application_currency && amount < u64::from(amount_y),
            CvmCondition::OverY => in_application_currency && amount > u64::from(amount_y),
            CvmCondition::Other(_) => false,
        }
    }
}

/// CVM Results (9F34) byte 3 (Book 4, Annex A4).
pub mod result_code {
    /// Unknown (for example signature, online PIN).
    pub const UNKNOWN: u8 = 0x00;
    /// Failed.
    pub const FAILED: u8 = 0x01;
    /// Successful.
    pub const SUCCESSFUL: u8 = 0x02;
    /// CVM Results byte 1 when no CVM was performed.
    pub const NO_CVM_PERFORMED: u8 = 0x3F;
}

/// Whether cardholder verification took place and how it ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CvmStatus {
    /// Not performed: the AIP does not support it or the card has no CVM List.
    NotPerformed,
    /// A CVM succeeded (or, for signature and online PIN, was completed with
    /// its result still unknown to the terminal).
    Successful,
    /// Verification failed: TVR "Cardholder verification was not successful".
    Failed,
}

/// How cardholder verification ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CvmResult {
    /// CVM Results (9F34): the first byte of the last performed rule (as in
    /// the list, b7 included), its condition, and the result; `3F 00 00`
    /// when not performed, `3F 00 01` when it failed without performing any
    /// CVM.
    pub cvm_results: [u8; 3],
    /// How it ended.
    pub status: CvmStatus,
    /// The receipt needs a signature line (signature CVM or PIN + signature).
    pub signature_required: bool,
}

/// The next thing the engine does for cardholder verification.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CvmStep {
    /// Prompt for a PIN and verify it offline in plaintext (VERIFY P2 `80`).
    OfflinePlaintextPin,
    /// Prompt for a PIN and verify it offline enciphered (GET CHALLENGE,
    /// encipher with the ICC PIN key, VERIFY P2 `88`).
    OfflineEncipheredPin,
    /// Prompt for a PIN and encipher it for online verification by the issuer.
    OnlinePin,
    /// Verification is over.
    Done(CvmResult),
}

/// What happened when the engine performed a PIN step (see the module
/// documentation for how APDU status words map here).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PinOutcome {
    /// Offline: VERIFY answered `9000`. Online: the PIN was entered and
    /// enciphered for the host.
    Verified,
    /// PIN Try Counter was 0 before prompting, or VERIFY answered `63C0`,
    /// `6983` or `6984`.
    TryLimitExceeded,
    /// PIN pad absent or not working.
    PinPadNotWorking,
    /// PIN pad present, the cardholder (or attendant) bypassed PIN entry.
    Bypassed,
    /// Any other failure (wrong PIN given up, other VERIFY status, ICC PIN
    /// key not recoverable, GET CHALLENGE failed).
    Failed,
}

/// Caller misuse: [`CardholderVerification::report`] was called while no
/// PIN step was pending.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NoPendingPinStep;

/// Book 3, 10.5: the cardholder verification state machine.
#[derive(Clone, Debug)]
pub struct CardholderVerification {
    rules: Rules,
    context: CvmContext,
    /// Index of the next rule to consider.
    next_rule: usize,
    /// The rule whose PIN step the engine is performing.
    pending: Option<CvRule>,
    /// The last rule actually performed.
    last_performed: Option<CvRule>,
    /// A PIN CVM was bypassed in this transaction.
    pin_bypassed: bool,
    /// Set once verification is over.
    result: Option<CvmResult>,
}

impl CardholderVerification {
    /// Book 3, 10.5: starts cardholder verification.
    ///
    /// - AIP byte 1 b5 ("cardholder verification is supported") clear: not
    ///   performed, CVM Results `3F0000`, no TVR or TSI bit.
    /// - CVM List absent or without rules: not performed, CVM Results
    ///   `3F0000`, TVR "ICC data missing", no TSI bit.
    /// - Otherwise TSI "Cardholder verification was performed" is set and
    ///   the rules are processed in order.
    ///
    /// A malformed list is a card format error (the engine terminates).
    pub fn start(
        application_interchange_profile: [u8; 2],
        cvm_list: Option<&[u8]>,
        context: CvmContext,
        tvr: &mut Tvr,
        tsi: &mut Tsi,
    ) -> Result<(Self, CvmStep), CvmFormatError> {
        let rules = Rules::parse(cvm_list.unwrap_or(&[]))?;
        let mut machine = CardholderVerification {
            rules,
            context,
            next_rule: 0,
            pending: None,
            last_performed: None,
            pin_bypassed: false,
            result: None,
        };
        let not_performed = CvmResult {
            cvm_results: [result_code::NO_CVM_PERFORMED, 0x00, result_code::UNKNOWN],
            status: CvmStatus::NotPerformed,
            signature_required: false,
        };
        if application_interchange_profile[0] & 0x10 == 0 {
            machine.result = Some(not_performed);
            return Ok((machine, CvmStep::Done(not_performed)));
        }
        if machine.rules.raw.is_empty() {
            tvr.set(tvr::ICC_DATA_MISSING);
            machine.result = Some(not_performed);
            return Ok((machine, CvmStep::Done(not_performed)));
        }
        tsi.set(tvr::TSI_CARDHOLDER_VERIFICATION_PERFORMED);
        let step = machine.advance(tvr);
        Ok((machine, step))
    }

    /// The result, once verification is over.
    pub fn result(&self) -> Option<CvmResult> {
        self.result
    }

    /// Takes the result of the PIN step the engine just performed and
    /// returns the next step. Sets TVR "PIN Try Limit exceeded", "PIN entry
    /// required and PIN pad not present or not working", "PIN entry
    /// required, PIN pad present, but PIN was not entered" or "Online PIN
    /// entered" as the outcome says.
    pub fn report(
        &mut self,
        outcome: PinOutcome,
        tvr: &mut Tvr,
    ) -> Result<CvmStep, NoPendingPinStep> {
        let rule = self.pending.take().ok_or(NoPendingPinStep)?;
        match outcome {
            PinOutcome::Verified => {
                let code = if rule.method == CvmMethod::EncipheredPinOnline {
                    tvr.set(tvr::ONLINE_PIN_ENTERED);
                    result_code::UNKNOWN
                } else if needs_signature(rule.method) {
                    result_code::UNKNOWN
                } else {
                    result_code::SUCCESSFUL
                };
                return Ok(self.succeed(rule, code));
            }
            PinOutcome::TryLimitExceeded => tvr.set(tvr::PIN_TRY_LIMIT_EXCEEDED),
            PinOutcome::PinPadNotWorking => tvr.set(tvr::PIN_PAD_NOT_WORKING),
            PinOutcome::Bypassed => {
                tvr.set(tvr::PIN_NOT_ENTERED);
                self.pin_bypassed = true;
            }
            PinOutcome::Failed => {}
        }
        self.last_performed = Some(rule);
        Ok(self.unsuccessful(rule, tvr))
    }

    /// Book 3, 10.5: considers rules from `next_rule` on until one needs the
    /// engine or verification ends.
    fn advance(&mut self, tvr: &mut Tvr) -> CvmStep {
        while let Some(rule) = self.rules.get(self.next_rule) {
            self.next_rule += 1;
            if let Some(step) = self.consider(rule, tvr) {
                return step;
            }
        }
        self.fail(tvr)
    }

    /// One rule: `None` to go on with the next rule, `Some` to stop there.
    fn consider(&mut self, rule: CvRule, tvr: &mut Tvr) -> Option<CvmStep> {
        let context = self.context;
        if !context.condition_holds(&rule, self.rules.amount_x, self.rules.amount_y) {
            return None;
        }
        let method = rule.method;
        if !recognised(method) {
            tvr.set(tvr::UNRECOGNISED_CVM);
            return self.next_or_fail(rule, tvr);
        }
        if !terminal_supports(method, &context.terminal_capabilities) {
            if pin_capability_missing(method, &context.terminal_capabilities) {
                tvr.set(tvr::PIN_PAD_NOT_WORKING);
            }
            return self.next_or_fail(rule, tvr);
        }
        match method {
            CvmMethod::FailCvmProcessing => {
                self.last_performed = Some(rule);
                return self.next_or_fail(rule, tvr);
            }
            CvmMethod::Signature => return Some(self.succeed(rule, result_code::UNKNOWN)),
            CvmMethod::NoCvmRequired => return Some(self.succeed(rule, result_code::SUCCESSFUL)),
            _ => {}
        }
        let known_failure = if !context.pin_pad_working {
            Some(tvr::PIN_PAD_NOT_WORKING)
        } else if self.pin_bypassed && context.subsequent_pin_bypass {
            Some(tvr::PIN_NOT_ENTERED)
        } else {
            None
        };
        if let Some(bit) = known_failure {
            tvr.set(bit);
            self.last_performed = Some(rule);
            return self.next_or_fail(rule, tvr);
        }
        self.pending = Some(rule);
        Some(match method {
            CvmMethod::EncipheredPinOnline => CvmStep::OnlinePin,
            CvmMethod::EncipheredPinByIcc | CvmMethod::EncipheredPinByIccAndSignature => {
                CvmStep::OfflineEncipheredPin
            }
            _ => CvmStep::OfflinePlaintextPin,
        })
    }

    /// Annex C3 b7: after an unsuccessful CVM, go on (`None`) or fail.
    fn next_or_fail(&mut self, rule: CvRule, tvr: &mut Tvr) -> Option<CvmStep> {
        if rule.apply_next_if_unsuccessful {
            None
        } else {
            Some(self.fail(tvr))
        }
    }

    fn unsuccessful(&mut self, rule: CvRule, tvr: &mut Tvr) -> CvmStep {
        match self.next_or_fail(rule, tvr) {
            Some(step) => step,
            None => self.advance(tvr),
        }
    }

    fn succeed(&mut self, rule: CvRule, code: u8) -> CvmStep {
        let [method, condition] = rule.raw;
        let result = CvmResult {
            cvm_results: [method, condition, code],
            status: CvmStatus::Successful,
            signature_required: needs_signature(rule.method),
        };
        self.last_performed = Some(rule);
        self.result = Some(result);
        CvmStep::Done(result)
    }

    /// Book 3, 10.5: verification failed: TVR "Cardholder verification was
    /// not successful"; CVM Results name the last performed CVM, or `3F0001`
    /// when none was performed.
    fn fail(&mut self, tvr: &mut Tvr) -> CvmStep {
        tvr.set(tvr::CARDHOLDER_VERIFICATION_FAILED);
        let cvm_results = match self.last_performed {
            Some(CvRule {
                raw: [method, condition],
                ..
            }) => [method, condition, result_code::FAILED],
            None => [result_code::NO_CVM_PERFORMED, 0x00, result_code::FAILED],
        };
        let result = CvmResult {
            cvm_results,
            status: CvmStatus::Failed,
            signature_required: false,
        };
        self.result = Some(result);
        CvmStep::Done(result)
    }
}
