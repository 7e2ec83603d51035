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
//! [`CardholderVerification::report`] after each PIN step.

use crate::limits::CVM_LIST_MAX_RULES;
use crate::restrict::{TerminalType, TransactionType};
use crate::tvr::{self, Tsi, Tvr};
use heapless::Vec;

/// One Cardholder Verification Rule: two bytes of the CVM List.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct CvRule {
    /// Byte 1: b7 "apply succeeding rule if unsuccessful", b6-b1 the CVM code.
    pub method: u8,
    /// Byte 2: the CVM condition code.
    pub condition: u8,
}

impl CvRule {
    /// Annex C3: b7 of byte 1 set means "apply succeeding CV Rule if this
    /// CVM is unsuccessful"; clear means "fail cardholder verification".
    pub fn apply_next_if_unsuccessful(&self) -> bool {
        self.method & 0x40 != 0
    }

    /// The method this rule names.
    pub fn cvm(&self) -> Cvm {
        Cvm::from_code(self.method)
    }

    /// The condition this rule names.
    pub fn cvm_condition(&self) -> CvmCondition {
        CvmCondition::from_code(self.condition)
    }
}

/// A Cardholder Verification Method, Book 3 Annex C3 Table 39 (b6-b1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Cvm {
    /// `000000`: fail CVM processing.
    FailCvmProcessing,
    /// `000001`: plaintext PIN verification performed by ICC.
    PlaintextPinByIcc,
    /// `000010`: enciphered PIN verified online.
    EncipheredPinOnline,
    /// `000011`: plaintext PIN verification performed by ICC and signature (paper).
    PlaintextPinByIccAndSignature,
    /// `000100`: enciphered PIN verification performed by ICC.
    EncipheredPinByIcc,
    /// `000101`: enciphered PIN verification performed by ICC and signature (paper).
    EncipheredPinByIccAndSignature,
    /// `011110`: signature (paper).
    Signature,
    /// `011111`: no CVM required.
    NoCvmRequired,
    /// Any other code (RFU, payment system or issuer specific): this kernel
    /// does not recognise it.
    Unrecognised(u8),
}

impl Cvm {
    /// Decodes b6-b1 of a rule's first byte (b8 and b7 are ignored).
    pub fn from_code(byte: u8) -> Self {
        match byte & 0x3F {
            0x00 => Cvm::FailCvmProcessing,
            0x01 => Cvm::PlaintextPinByIcc,
            0x02 => Cvm::EncipheredPinOnline,
            0x03 => Cvm::PlaintextPinByIccAndSignature,
            0x04 => Cvm::EncipheredPinByIcc,
            0x05 => Cvm::EncipheredPinByIccAndSignature,
            0x1E => Cvm::Signature,
            0x1F => Cvm::NoCvmRequired,
            other => Cvm::Unrecognised(other),
        }
    }

    /// Whether the method asks the cardholder for a PIN.
    pub fn needs_pin(self) -> bool {
        matches!(
            self,
            Cvm::PlaintextPinByIcc
                | Cvm::EncipheredPinOnline
                | Cvm::PlaintextPinByIccAndSignature
                | Cvm::EncipheredPinByIcc
                | Cvm::EncipheredPinByIccAndSignature
        )
    }

    /// Whether the method includes a paper signature.
    pub fn needs_signature(self) -> bool {
        matches!(
            self,
            Cvm::Signature
                | Cvm::PlaintextPinByIccAndSignature
                | Cvm::EncipheredPinByIccAndSignature
        )
    }

    /// Book 3, 10.5: the method needs a PIN and the terminal has no PIN
    /// capability for it (9F33 byte 2 b8 for plaintext, b5 for enciphered
    /// offline, b7 for online): "PIN entry required and PIN pad not present
    /// or not working". A PIN + signature method refused only for lack of
    /// signature capability does not count.
    pub fn pin_part_unsupported(self, terminal_capabilities: &[u8; 3]) -> bool {
        let pin_method = match self {
            Cvm::PlaintextPinByIccAndSignature => Cvm::PlaintextPinByIcc,
            Cvm::EncipheredPinByIccAndSignature => Cvm::EncipheredPinByIcc,
            other => other,
        };
        pin_method.needs_pin() && !pin_method.supported_by(terminal_capabilities)
    }

    /// Book 4, Annex A2 (Terminal Capabilities 9F33, byte 2): whether the
    /// terminal supports the method. b8 plaintext PIN for ICC verification,
    /// b7 enciphered PIN for online verification, b6 signature, b5
    /// enciphered PIN for offline verification, b4 no CVM required.
    /// "Fail CVM processing" needs no capability.
    pub fn supported_by(self, terminal_capabilities: &[u8; 3]) -> bool {
        let cvm_caps = terminal_capabilities[1];
        let plaintext = cvm_caps & 0x80 != 0;
        let online = cvm_caps & 0x40 != 0;
        let signature = cvm_caps & 0x20 != 0;
        let enciphered = cvm_caps & 0x10 != 0;
        let no_cvm = cvm_caps & 0x08 != 0;
        match self {
            Cvm::FailCvmProcessing => true,
            Cvm::PlaintextPinByIcc => plaintext,
            Cvm::EncipheredPinOnline => online,
            Cvm::PlaintextPinByIccAndSignature => plaintext && signature,
            Cvm::EncipheredPinByIcc => enciphered,
            Cvm::EncipheredPinByIccAndSignature => enciphered && signature,
            Cvm::Signature => signature,
            Cvm::NoCvmRequired => no_cvm,
            Cvm::Unrecognised(_) => false,
        }
    }
}

/// A CVM condition code, Book 3 Annex C3 Table 40.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CvmCondition {
    /// `00`: always.
    Always,
    /// `01`: if unattended cash.
    UnattendedCash,
    /// `02`: if not unattended cash and not manual cash and not purchase with cashback.
    NotCashNorCashback,
    /// `03`: if terminal supports the CVM.
    TerminalSupportsCvm,
    /// `04`: if manual cash.
    ManualCash,
    /// `05`: if purchase with cashback.
    PurchaseWithCashback,
    /// `06`: if transaction is in the application currency and is under X value.
    UnderX,
    /// `07`: if transaction is in the application currency and is over X value.
    OverX,
    /// `08`: if transaction is in the application currency and is under Y value.
    UnderY,
    /// `09`: if transaction is in the application currency and is over Y value.
    OverY,
    /// `0A`-`7F` RFU, `80`-`FF` payment system specific: not understood by
    /// this kernel, so the rule is skipped.
    NotUnderstood(u8),
}

impl CvmCondition {
    /// Decodes a condition code.
    pub fn from_code(code: u8) -> Self {
        match code {
            0x00 => CvmCondition::Always,
            0x01 => CvmCondition::UnattendedCash,
            0x02 => CvmCondition::NotCashNorCashback,
            0x03 => CvmCondition::TerminalSupportsCvm,
            0x04 => CvmCondition::ManualCash,
            0x05 => CvmCondition::PurchaseWithCashback,
            0x06 => CvmCondition::UnderX,
            0x07 => CvmCondition::OverX,
            0x08 => CvmCondition::UnderY,
            0x09 => CvmCondition::OverY,
            other => CvmCondition::NotUnderstood(other),
        }
    }
}

/// Why a CVM List value cannot be used: a card format error (Book 3, 7.5),
/// after which the engine terminates the transaction.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CvmListError {
    /// 1 to 7 bytes: amounts X and Y incomplete.
    TooShort,
    /// The rules part has an odd number of bytes.
    OddLength,
    /// More rules than the 252-byte maximum of 8E allows (see limits).
    TooManyRules,
}

/// A parsed CVM List (8E): amounts X and Y, then the rules in order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CvmList {
    /// Amount X (4 bytes binary, in the application currency's minor units).
    pub amount_x: u32,
    /// Amount Y (4 bytes binary).
    pub amount_y: u32,
    /// The Cardholder Verification Rules in the card's order of preference.
    pub rules: Vec<CvRule, CVM_LIST_MAX_RULES>,
}

impl CvmList {
    /// Book 3, 10.5 and Annex C3: parses the value of tag 8E. An empty value
    /// or one with only X and Y has no rules, which Book 3 treats like an
    /// absent list.
    pub fn parse(value: &[u8]) -> Result<Self, CvmListError> {
        if value.is_empty() {
            return Ok(CvmList {
                amount_x: 0,
                amount_y: 0,
                rules: Vec::new(),
            });
        }
        let (x, rest) = value
            .split_first_chunk::<4>()
            .ok_or(CvmListError::TooShort)?;
        let (y, rest) = rest
            .split_first_chunk::<4>()
            .ok_or(CvmListError::TooShort)?;
        let pairs = rest.chunks_exact(2);
        if !pairs.remainder().is_empty() {
            return Err(CvmListError::OddLength);
        }
        let mut rules = Vec::new();
        for pair in pairs {
            if let [method, condition] = pair {
                rules
                    .push(CvRule {
                        method: *method,
                        condition: *condition,
                    })
                    .map_err(|_| CvmListError::TooManyRules)?;
            }
        }
        Ok(CvmList {
            amount_x: u32::from_be_bytes(*x),
            amount_y: u32::from_be_bytes(*y),
            rules,
        })
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
    /// Terminal option (Book 4, 6.3.4.1): once the cardholder bypasses one
    /// PIN CVM, treat every later PIN CVM as bypassed too, without prompting.
    pub subsequent_pin_bypass: bool,
}

impl CvmContext {
    /// Book 3, Annex C3 Table 40: whether a rule's condition holds here.
    /// Conditions 06-09 hold only when the transaction is in the application
    /// currency (5F2A = 9F42; 9F42 absent means they do not hold); "under"
    /// and "over" are strict. Cash means Transaction Type `01` or `17`;
    /// manual cash is cash at an attended terminal, unattended cash at an
    /// unattended one; purchase with cashback is type `09`.
    pub fn condition_holds(&self, condition: CvmCondition, cvm: Cvm, list: &CvmList) -> bool {
        let cash = self.transaction_type.is_cash();
        let unattended = self.terminal_type.is_unattended();
        let cashback = self.transaction_type.is_cashback();
        let in_application_currency =
            self.application_currency_code == Some(self.transaction_currency_code);
        let amount = self.amount_authorised;
        match condition {
            CvmCondition::Always => true,
            CvmCondition::UnattendedCash => cash && unattended,
            CvmCondition::NotCashNorCashback => !cash && !cashback,
            CvmCondition::TerminalSupportsCvm => cvm.supported_by(&self.terminal_capabilities),
            CvmCondition::ManualCash => cash && !unattended,
            CvmCondition::PurchaseWithCashback => cashback,
            CvmCondition::UnderX => in_application_currency && amount < u64::from(list.amount_x),
            CvmCondition::OverX => in_application_currency && amount > u64::from(list.amount_x),
            CvmCondition::UnderY => in_application_currency && amount < u64::from(list.amount_y),
            CvmCondition::OverY => in_application_currency && amount > u64::from(list.amount_y),
            CvmCondition::NotUnderstood(_) => false,
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
pub struct CvmOutcome {
    /// CVM Results (9F34): the first byte of the last performed rule (as in
    /// the list), its condition, and the result; `3F 00 00` when not
    /// performed, `3F 00 01` when it failed without performing any CVM.
    pub results: [u8; 3],
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
    Done(CvmOutcome),
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
    list: CvmList,
    context: CvmContext,
    /// Index of the next rule to consider.
    next_rule: usize,
    /// The rule whose PIN step the engine is performing.
    pending: Option<CvRule>,
    /// The last rule actually performed and its result.
    last_performed: Option<(CvRule, u8)>,
    /// A PIN CVM was bypassed in this transaction.
    pin_bypassed: bool,
    /// Set once verification is over.
    outcome: Option<CvmOutcome>,
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
    ) -> Result<(Self, CvmStep), CvmListError> {
        let list = match cvm_list {
            Some(value) => CvmList::parse(value)?,
            None => CvmList::parse(&[])?,
        };
        let mut machine = CardholderVerification {
            list,
            context,
            next_rule: 0,
            pending: None,
            last_performed: None,
            pin_bypassed: false,
            outcome: None,
        };
        let not_performed = CvmOutcome {
            results: [result_code::NO_CVM_PERFORMED, 0x00, result_code::UNKNOWN],
            status: CvmStatus::NotPerformed,
            signature_required: false,
        };
        if application_interchange_profile[0] & 0x10 == 0 {
            machine.outcome = Some(not_performed);
            return Ok((machine, CvmStep::Done(not_performed)));
        }
        if machine.list.rules.is_empty() {
            tvr.set(tvr::ICC_DATA_MISSING);
            machine.outcome = Some(not_performed);
            return Ok((machine, CvmStep::Done(not_performed)));
        }
        tsi.set(tvr::TSI_CARDHOLDER_VERIFICATION_PERFORMED);
        let step = machine.advance(tvr);
        Ok((machine, step))
    }

    /// The outcome, once verification is over.
    pub fn outcome(&self) -> Option<CvmOutcome> {
        self.outcome
    }

    /// Takes the result of the PIN step the engine just performed and
    /// returns the next step. Sets TVR "PIN Try Limit exceeded", "PIN entry
    /// required and PIN pad not present or not working", "PIN entry
    /// required, PIN pad present, but PIN was not entered" or "Online PIN
    /// entered" as the result says.
    pub fn report(
        &mut self,
        result: PinOutcome,
        tvr: &mut Tvr,
    ) -> Result<CvmStep, NoPendingPinStep> {
        let rule = self.pending.take().ok_or(NoPendingPinStep)?;
        let cvm = rule.cvm();
        match result {
            PinOutcome::Verified => {
                let code = if cvm == Cvm::EncipheredPinOnline {
                    tvr.set(tvr::ONLINE_PIN_ENTERED);
                    result_code::UNKNOWN
                } else if cvm.needs_signature() {
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
        self.last_performed = Some((rule, result_code::FAILED));
        Ok(self.after_unsuccessful(rule, tvr))
    }

    /// Book 3, 10.5: considers rules from `next_rule` on until one needs the
    /// engine or verification ends.
    fn advance(&mut self, tvr: &mut Tvr) -> CvmStep {
        while let Some(rule) = self.list.rules.get(self.next_rule).copied() {
            self.next_rule += 1;
            let cvm = rule.cvm();
            if !self
                .context
                .condition_holds(rule.cvm_condition(), cvm, &self.list)
            {
                continue;
            }
            if let Cvm::Unrecognised(_) = cvm {
                tvr.set(tvr::UNRECOGNISED_CVM);
                if rule.apply_next_if_unsuccessful() {
                    continue;
                }
                return self.fail(tvr);
            }
            if !cvm.supported_by(&self.context.terminal_capabilities) {
                if cvm.pin_part_unsupported(&self.context.terminal_capabilities) {
                    tvr.set(tvr::PIN_PAD_NOT_WORKING);
                }
                if rule.apply_next_if_unsuccessful() {
                    continue;
                }
                return self.fail(tvr);
            }
            match cvm {
                Cvm::FailCvmProcessing => {
                    self.last_performed = Some((rule, result_code::FAILED));
                    if rule.apply_next_if_unsuccessful() {
                        continue;
                    }
                    return self.fail(tvr);
                }
                Cvm::Signature => return self.succeed(rule, result_code::UNKNOWN),
                Cvm::NoCvmRequired => return self.succeed(rule, result_code::SUCCESSFUL),
                _ => {}
            }
            let known_failure = if !self.context.pin_pad_working {
                Some(tvr::PIN_PAD_NOT_WORKING)
            } else if self.pin_bypassed && self.context.subsequent_pin_bypass {
                Some(tvr::PIN_NOT_ENTERED)
            } else {
                None
            };
            if let Some(bit) = known_failure {
                tvr.set(bit);
                self.last_performed = Some((rule, result_code::FAILED));
                if rule.apply_next_if_unsuccessful() {
                    continue;
                }
                return self.fail(tvr);
            }
            self.pending = Some(rule);
            return match cvm {
                Cvm::EncipheredPinOnline => CvmStep::OnlinePin,
                Cvm::EncipheredPinByIcc | Cvm::EncipheredPinByIccAndSignature => {
                    CvmStep::OfflineEncipheredPin
                }
                _ => CvmStep::OfflinePlaintextPin,
            };
        }
        self.fail(tvr)
    }

    fn after_unsuccessful(&mut self, rule: CvRule, tvr: &mut Tvr) -> CvmStep {
        if rule.apply_next_if_unsuccessful() {
            self.advance(tvr)
        } else {
            self.fail(tvr)
        }
    }

    fn succeed(&mut self, rule: CvRule, code: u8) -> CvmStep {
        let outcome = CvmOutcome {
            results: [rule.method, rule.condition, code],
            status: CvmStatus::Successful,
            signature_required: rule.cvm().needs_signature(),
        };
        self.last_performed = Some((rule, code));
        self.outcome = Some(outcome);
        CvmStep::Done(outcome)
    }

    /// Book 3, 10.5: verification failed: TVR "Cardholder verification was
    /// not successful"; CVM Results name the last performed CVM, or `3F0001`
    /// when none was performed.
    fn fail(&mut self, tvr: &mut Tvr) -> CvmStep {
        tvr.set(tvr::CARDHOLDER_VERIFICATION_FAILED);
        let results = match self.last_performed {
            Some((rule, _)) => [rule.method, rule.condition, result_code::FAILED],
            None => [result_code::NO_CVM_PERFORMED, 0x00, result_code::FAILED],
        };
        let outcome = CvmOutcome {
            results,
            status: CvmStatus::Failed,
            signature_required: false,
        };
        self.outcome = Some(outcome);
        CvmStep::Done(outcome)
    }
}
