//! Cardholder verification in the transaction: the engine's side of
//! [`CardholderVerification`] (Book 3, 10.5).
//!
//! The CVM List engine says which PIN method to perform; this module
//! performs it: GET DATA of the PIN Try Counter (9F17), the PIN request to
//! the caller, GET CHALLENGE and encipherment for offline enciphered PIN
//! (Book 2, 7.2), VERIFY (Book 3, 6.5.12), and reports each result back to
//! the engine until verification is over.

use super::{CardholderVerification, CvmContext, CvmResult, CvmStep, PinOutcome};
use crate::apdu::{self, build_command, PinFormat};
use crate::context::{Context, Step};
use crate::crypto::CryptoProvider;
use crate::initiate::Aip;
use crate::messages::Message;
use crate::oda::flow::OfflineAuthentication;
use crate::oda::{self, pin::PinKey};
use crate::outcome::TerminationReason;
use crate::restrict::{TerminalType, TransactionType};
use crate::tlv::{self, Tag};

/// Which PIN the kernel asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PinKind {
    /// Verified by the card in plaintext.
    OfflinePlaintext,
    /// Verified by the card, enciphered with its key.
    OfflineEnciphered,
    /// Verified by the issuer; the caller enciphers and sends it itself.
    Online,
}

/// The cardholder's answer to a PIN request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PinEntry<'p> {
    /// The PIN digits (values 0-9 or ASCII `'0'..='9'`), 4 to 12 of them.
    /// The kernel uses them only to build the PIN block and wipes its copy.
    Digits(&'p [u8]),
    /// Online PIN: the caller captured and enciphered the PIN itself.
    OnlineCaptured,
    /// The cardholder (or attendant) bypassed PIN entry.
    Bypassed,
    /// The PIN pad is absent or not working.
    PinPadNotWorking,
}

/// Why a PIN entry is refused; the verification state does not change.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum PinEntryError {
    /// No PIN is being asked for, or the entry does not fit the PIN kind.
    NotExpected,
    /// A PIN of fewer than 4 or more than 12 digits, or a non-digit.
    InvalidPin,
}

/// A PIN entry checked against the request.
pub(crate) enum PinEntered {
    /// The result to report to the engine at once.
    Report(PinOutcome),
    /// The digits, as a plaintext PIN block.
    Block([u8; 8]),
}

/// What the PIN methods read besides the context: the crypto provider (PIN
/// encipherment), and the AIP and the ODA records the ICC PIN key is
/// recovered from (Book 2, 7.1).
pub(crate) struct PinKeys<'a, C> {
    /// The crypto provider.
    pub(crate) crypto: &'a C,
    /// Application Interchange Profile (82).
    pub(crate) aip: Aip,
    /// Offline data authentication's records and results.
    pub(crate) oda: &'a OfflineAuthentication,
}

/// Why a PIN try was asked for. (No `Debug`: the PIN block must not reach a
/// log.)
#[derive(Clone, Copy, PartialEq, Eq)]
enum PinStage {
    /// The kernel is reading the PIN Try Counter before asking.
    ReadTryCounter,
    /// Waiting for the cardholder.
    AwaitEntry { tries_left: Option<u8> },
    /// GET CHALLENGE sent for enciphered PIN; the PIN block waits for the
    /// ICC challenge (Book 2, 7.2).
    Challenge { pin_block: [u8; 8] },
    /// VERIFY sent.
    Verify,
}

/// The CVM List engine and the PIN key, once recovered, that a later
/// enciphered PIN rule uses again.
struct Verifier {
    machine: CardholderVerification,
    pin_key: Option<PinKey>,
}

/// Book 3, 10.5: a PIN method in progress: the engine, which PIN, and where
/// its exchange with the card or the cardholder stands.
pub(crate) struct PinVerification {
    verifier: Verifier,
    kind: PinKind,
    stage: PinStage,
}

/// Book 3, 10.5: starts cardholder verification with the card's CVM List
/// (8E). `Done` with the result when no PIN method is needed; the CVM
/// Results are set in the terminal data.
pub(crate) fn cardholder_verification<C: CryptoProvider>(
    cx: &mut Context<'_>,
    keys: &PinKeys<'_, C>,
) -> Step<PinVerification, CvmResult> {
    let config = cx.terminal_context.config;
    let context = CvmContext {
        terminal_capabilities: config.terminal_capabilities,
        terminal_type: TerminalType(config.terminal_type),
        transaction_type: TransactionType(cx.inputs.transaction_type),
        amount_authorised: cx.inputs.amount_authorised,
        transaction_currency_code: cx.inputs.currency_code,
        application_currency_code: cx
            .store
            .get(Tag(0x9F42))
            .and_then(|v| <[u8; 2]>::try_from(v).ok()),
        pin_pad_working: config.pin_pad_working,
        subsequent_pin_bypass: config.subsequent_pin_bypass,
    };
    let started = CardholderVerification::start(
        keys.aip.0,
        cx.store.get(Tag(0x8E)),
        context,
        &mut cx.terminal.tvr,
        &mut cx.terminal.tsi,
    );
    match started {
        Ok((machine, step)) => {
            let mut verifier = Verifier {
                machine,
                pin_key: None,
            };
            match verifier.on_step(cx, keys, step) {
                Step::Wait((kind, stage)) => Step::Wait(PinVerification {
                    verifier,
                    kind,
                    stage,
                }),
                Step::Done(result) => Step::Done(result),
                Step::Terminate(reason) => Step::Terminate(reason),
            }
        }
        Err(_) => Step::Terminate(TerminationReason::CardDataFormat),
    }
}

impl Verifier {
    /// Performs the engine's next step: the PIN exchange to wait for, or
    /// the end of verification.
    fn on_step<C: CryptoProvider>(
        &mut self,
        cx: &mut Context<'_>,
        keys: &PinKeys<'_, C>,
        step: CvmStep,
    ) -> Step<(PinKind, PinStage), CvmResult> {
        let kind = match step {
            CvmStep::Done(outcome) => {
                cx.terminal.cvm_results = outcome.cvm_results;
                return Step::Done(outcome);
            }
            CvmStep::OnlinePin => {
                return Step::Wait((PinKind::Online, PinStage::AwaitEntry { tries_left: None }));
            }
            CvmStep::OfflinePlaintextPin => PinKind::OfflinePlaintext,
            CvmStep::OfflineEncipheredPin => {
                // Book 2, 7.1: without a recoverable PIN key the method fails
                // before the cardholder is asked.
                if self.pin_key.is_none() {
                    match keys.oda.pin_key(cx, keys.crypto, keys.aip) {
                        Some(key) => self.pin_key = Some(key),
                        None => return self.report(cx, keys, PinOutcome::Failed),
                    }
                }
                PinKind::OfflineEnciphered
            }
        };
        // Book 3, 10.5.1: read the PIN Try Counter first (GET DATA 9F17).
        match apdu::get_data(Tag(0x9F17)) {
            Ok(command) => {
                cx.command = command;
                Step::Wait((kind, PinStage::ReadTryCounter))
            }
            Err(_) => self.report(cx, keys, PinOutcome::Failed),
        }
    }

    /// Reports the result of the PIN step to the engine and performs the
    /// engine's next step.
    fn report<C: CryptoProvider>(
        &mut self,
        cx: &mut Context<'_>,
        keys: &PinKeys<'_, C>,
        result: PinOutcome,
    ) -> Step<(PinKind, PinStage), CvmResult> {
        match self.machine.report(result, &mut cx.terminal.tvr) {
            Ok(step) => self.on_step(cx, keys, step),
            Err(_) => Step::Terminate(TerminationReason::CardDataFormat),
        }
    }
}

impl PinVerification {
    /// The PIN kind and the tries left while the cardholder is asked.
    pub(crate) fn entry_request(&self) -> Option<(PinKind, Option<u8>)> {
        match self.stage {
            PinStage::AwaitEntry { tries_left } => Some((self.kind, tries_left)),
            _ => None,
        }
    }

    /// Checks the cardholder's PIN entry against the request: a PIN entry
    /// is expected, online capture only for online PIN, 4 to 12 digits.
    /// The digits become a plaintext PIN block (Book 3, 6.5.12); the copy of
    /// the digits is wiped.
    pub(crate) fn read_entry(&self, entry: PinEntry<'_>) -> Result<PinEntered, PinEntryError> {
        let Some((kind, _)) = self.entry_request() else {
            return Err(PinEntryError::NotExpected);
        };
        match entry {
            PinEntry::Bypassed => Ok(PinEntered::Report(PinOutcome::Bypassed)),
            PinEntry::PinPadNotWorking => Ok(PinEntered::Report(PinOutcome::PinPadNotWorking)),
            PinEntry::OnlineCaptured if kind == PinKind::Online => {
                Ok(PinEntered::Report(PinOutcome::Verified))
            }
            PinEntry::OnlineCaptured => Err(PinEntryError::NotExpected),
            PinEntry::Digits(digits) => {
                let mut values = [0u8; 12];
                if !(4..=12).contains(&digits.len()) {
                    return Err(PinEntryError::InvalidPin);
                }
                for (value, digit) in values.iter_mut().zip(digits) {
                    *value = match digit {
                        0..=9 => *digit,
                        b'0'..=b'9' => digit - b'0',
                        _ => return Err(PinEntryError::InvalidPin),
                    };
                }
                let block =
                    oda::pin::plaintext_pin_block(values.get(..digits.len()).unwrap_or(&[]));
                values.fill(0);
                match block {
                    Some(block) => Ok(PinEntered::Block(block)),
                    None => Err(PinEntryError::InvalidPin),
                }
            }
        }
    }

    /// Goes on with a PIN entry checked by [`Self::read_entry`].
    pub(crate) fn on_entry<C: CryptoProvider>(
        mut self,
        cx: &mut Context<'_>,
        keys: &PinKeys<'_, C>,
        entered: PinEntered,
    ) -> Step<Self, CvmResult> {
        match entered {
            PinEntered::Report(result) => self.report(cx, keys, result),
            PinEntered::Block(block) => match self.kind {
                PinKind::Online => self.report(cx, keys, PinOutcome::Verified),
                PinKind::OfflinePlaintext => self.send_verify_plaintext(cx, keys, block),
                PinKind::OfflineEnciphered => {
                    // Book 2, 7.2: the PIN block waits for the ICC challenge.
                    cx.command = apdu::get_challenge();
                    self.stage = PinStage::Challenge { pin_block: block };
                    Step::Wait(self)
                }
            },
        }
    }

    /// The card's answer to GET DATA (PIN Try Counter), GET CHALLENGE or
    /// VERIFY.
    pub(crate) fn on_response<C: CryptoProvider>(
        mut self,
        cx: &mut Context<'_>,
        keys: &PinKeys<'_, C>,
        data: &[u8],
        status: u16,
    ) -> Step<Self, CvmResult> {
        match self.stage {
            PinStage::ReadTryCounter => {
                let counter = if status == 0x9000 {
                    tlv::find(data, Tag(0x9F17)).and_then(|v| v.first().copied())
                } else {
                    None
                };
                if counter == Some(0) {
                    return self.report(cx, keys, PinOutcome::TryLimitExceeded);
                }
                self.stage = PinStage::AwaitEntry {
                    tries_left: counter,
                };
                Step::Wait(self)
            }
            PinStage::Challenge { pin_block } => {
                let challenge = if status == 0x9000 {
                    <[u8; 8]>::try_from(data).ok()
                } else {
                    None
                };
                match challenge {
                    Some(challenge) => self.send_verify_enciphered(cx, keys, pin_block, challenge),
                    None => self.report(cx, keys, PinOutcome::Failed),
                }
            }
            PinStage::Verify => {
                wipe_pin_command(cx);
                match status {
                    0x9000 => {
                        // Book 4, 11.2: PIN OK once the card verified it.
                        cx.show(Message::PinOk);
                        self.report(cx, keys, PinOutcome::Verified)
                    }
                    0x63C0 => {
                        cx.show(Message::IncorrectPin);
                        self.report(cx, keys, PinOutcome::TryLimitExceeded)
                    }
                    0x6983 | 0x6984 => self.report(cx, keys, PinOutcome::TryLimitExceeded),
                    sw if sw & 0xFFF0 == 0x63C0 => {
                        // Book 4, 11.2: INCORRECT PIN, then the PIN is asked again.
                        cx.show(Message::IncorrectPin);
                        self.stage = PinStage::AwaitEntry {
                            tries_left: Some((sw & 0x0F) as u8), // ok: masked to 4 bits
                        };
                        Step::Wait(self)
                    }
                    _ => self.report(cx, keys, PinOutcome::Failed),
                }
            }
            PinStage::AwaitEntry { .. } => self.report(cx, keys, PinOutcome::Failed),
        }
    }

    /// Reports the result of the PIN step to the engine: the next PIN
    /// exchange, or the end of verification.
    fn report<C: CryptoProvider>(
        mut self,
        cx: &mut Context<'_>,
        keys: &PinKeys<'_, C>,
        result: PinOutcome,
    ) -> Step<Self, CvmResult> {
        match self.verifier.report(cx, keys, result) {
            Step::Wait((kind, stage)) => {
                self.kind = kind;
                self.stage = stage;
                Step::Wait(self)
            }
            Step::Done(result) => Step::Done(result),
            Step::Terminate(reason) => Step::Terminate(reason),
        }
    }

    fn send_verify_plaintext<C: CryptoProvider>(
        mut self,
        cx: &mut Context<'_>,
        keys: &PinKeys<'_, C>,
        block: [u8; 8],
    ) -> Step<Self, CvmResult> {
        match apdu::verify(&block, PinFormat::Plaintext) {
            Ok(command) => {
                cx.command = command;
                self.stage = PinStage::Verify;
                Step::Wait(self)
            }
            Err(_) => self.report(cx, keys, PinOutcome::Failed),
        }
    }

    /// Book 2, 7.2: encipher the PIN block with the ICC PIN key (or ICC key)
    /// and send VERIFY with P2 = `88`; with an ECC PIN key, EMV 4.4 Book 2,
    /// 13.2.
    fn send_verify_enciphered<C: CryptoProvider>(
        mut self,
        cx: &mut Context<'_>,
        keys: &PinKeys<'_, C>,
        mut block: [u8; 8],
        challenge: [u8; 8],
    ) -> Step<Self, CvmResult> {
        let mut enciphered = [0u8; crate::limits::MAX_RSA_MODULUS_BYTES];
        let length = match &self.verifier.pin_key {
            Some(PinKey::Rsa(key)) => {
                oda::pin::encipher_pin_block(keys.crypto, key, &block, &challenge, &mut enciphered)
                    .ok()
            }
            Some(PinKey::Ecc(key)) => oda::pin::encipher_pin_block_ecc(
                keys.crypto,
                key,
                &block,
                &challenge,
                &mut enciphered,
            )
            .ok(),
            None => None,
        };
        block.fill(0);
        let command = length
            .and_then(|n| enciphered.get(..n))
            .and_then(|data| apdu::verify(data, PinFormat::Enciphered).ok());
        match command {
            Some(command) => {
                cx.command = command;
                self.kind = PinKind::OfflineEnciphered;
                self.stage = PinStage::Verify;
                Step::Wait(self)
            }
            None => self.report(cx, keys, PinOutcome::Failed),
        }
    }
}

/// Overwrites the VERIFY command (it holds the plaintext PIN block)
/// with zeros once the card has answered.
fn wipe_pin_command(cx: &mut Context<'_>) {
    let length = cx.command.as_bytes().len().saturating_sub(5).min(255);
    let zeros = [0u8; 255];
    let data = zeros.get(..length).unwrap_or(&[]);
    build_command(&mut cx.command, [0; 4], Some(data), false);
    build_command(&mut cx.command, [0; 4], None, false);
}
