//! The transaction state machine: EMV Book 3, section 10, from application
//! selection to the outcome, sans-IO.
//!
//! A [`Transaction`] is created from the terminal's configuration and keys,
//! a crypto provider, and the transaction inputs. The caller loops: it asks
//! [`Transaction::request`] what is needed (send a command to the card, let
//! the cardholder choose or confirm an application, enter a PIN, look up the
//! card in the terminal's transaction log, go online) and feeds the answer
//! back (`on_response`, `on_application_chosen`, `on_pin`,
//! `on_recent_amount`, `on_host`) until the request is [`Request::Done`] with the
//! [`Outcome`]. The kernel performs no I/O, reads no clock, draws no random
//! number and allocates nothing: every random value is an input, so a
//! transaction replays byte for byte.
//!
//! The steps, in Book 3 order: application selection (Book 1, 12), initiate
//! application processing (10.1), read application data (10.2), offline data
//! authentication (10.3), processing restrictions (10.4), cardholder
//! verification (10.5), terminal risk management (10.6), terminal action
//! analysis (10.7), first GENERATE AC and card action analysis (10.8),
//! online processing (10.9), issuer scripts (10.10), completion (10.11).
//!
//! This module is the dispatcher: it holds the [`Transaction`], its entry
//! points and the `State` of the step that waits for an answer, and routes
//! each answer to the step that owns it. Each step's state and handling
//! live in the step's module: [`crate::select`], [`crate::initiate`],
//! [`crate::read`], `oda::flow`, [`crate::restrict`], `cvm::pin`,
//! [`crate::risk`], [`crate::action`], [`crate::online`] and
//! [`crate::outcome`]. A step reads and writes the shared `Context` (card
//! and terminal data, command buffer) and answers with a `Step`: wait in its
//! own state, go on with the next step, or terminate.

use crate::action::{
    self, AfterFirstAnswer, FirstGenerateAc, SecondGenerateAc, SecondGenerateAcContext,
};
use crate::apdu::split_status;
use crate::apdu::RequestedCryptogram as CryptogramType;
use crate::config::TransactionInputs;
use crate::context::{Context, Step};
use crate::crypto::CryptoProvider;
use crate::cvm::pin::{PinEntryError, PinKeys, PinVerification};
use crate::cvm::{self, CvmResult};
use crate::data::{DataStore, TerminalData};
use crate::initiate::{self, Aip, GpoAnswer};
use crate::limits::CLEARING_DATA_BYTES;
use crate::messages::{self, Language, Message};
use crate::oda::flow::{InternalAuthenticate, OfflineAuthentication};
use crate::online::{
    self, AfterScripts, HostResponse, IssuerAuthentication, IssuerScripts, OnlineWait, ScriptPhase,
    ScriptProcessing, SCRIPT_AFTER_FINAL_GENERATE_AC,
};
use crate::outcome::{self, Decision, Outcome, ReferralDecision, Report, TerminationReason};
use crate::read::{self, RecordCursor};
use crate::restrict::{self, AdditionalTerminalCapabilities, TerminalType, TransactionType};
use crate::risk::{self, VelocityChecking};
use crate::select::{Candidate, CardholderQuestion, Selection, SelectionAction};
use crate::tlv::Tag;
use heapless::Vec;

pub use crate::apdu::Command;
pub use crate::context::TerminalContext;
pub use crate::cvm::{PinEntry, PinKind};

/// Most command/response exchanges in one transaction. A real contact
/// transaction takes 10-40; a card that keeps the kernel busy beyond this
/// ends with [`TerminationReason::StepLimit`].
pub const MAX_EXCHANGES: u16 = 600;

/// Caller misuse of the transaction API.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UsageError {
    /// The answer does not match the pending request.
    NotExpected,
    /// The random selection number is outside 1..=99, or a random selection
    /// percentage is out of range.
    RandomSelection,
    /// The transaction date is not a valid BCD `YYMMDD`.
    InvalidDate,
    /// A PIN of fewer than 4 or more than 12 digits, or a non-digit.
    InvalidPin,
    /// The Transaction Type (9C) is one the terminal's Additional Terminal
    /// Capabilities (9F40 bytes 1-2) do not list (Book 4, Annex A3).
    TransactionTypeNotSupported,
    /// [`Transaction::force_acceptance`] on an unattended terminal, or on a
    /// transaction the card did not decline.
    ForcedAcceptanceNotAllowed,
}

impl core::fmt::Display for UsageError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            UsageError::NotExpected => {
                "this answer does not match the transaction's pending request (see Transaction::request)"
            }
            UsageError::RandomSelection => {
                "random selection number outside 1 to 99, or a target percentage above 99 or above the maximum"
            }
            UsageError::InvalidDate => "transaction date is not a valid BCD YYMMDD date",
            UsageError::InvalidPin => "a PIN has 4 to 12 decimal digits",
            UsageError::TransactionTypeNotSupported => {
                "the transaction type is not one the terminal supports (Additional Terminal Capabilities, 9F40 bytes 1-2)"
            }
            UsageError::ForcedAcceptanceNotAllowed => {
                "forced acceptance needs an attended terminal and a transaction the card declined (AAC)"
            }
        })
    }
}

impl core::error::Error for UsageError {}

/// The inputs of an idle transaction (never used: it is not started).
const IDLE_INPUTS: TransactionInputs = TransactionInputs::new(
    0,
    crate::config::Currency::EUR,
    [0x00, 0x01, 0x01],
    [0x00, 0x00, 0x00],
    [0; 4],
    1,
    0,
);

/// The checks of [`Transaction::new`] on the caller's inputs.
fn check_inputs(inputs: &TransactionInputs) -> Result<(), UsageError> {
    if !(1..=99).contains(&inputs.random_selection_number) {
        return Err(UsageError::RandomSelection);
    }
    if crate::date::Date::from_bcd(&inputs.date).is_err() {
        return Err(UsageError::InvalidDate);
    }
    Ok(())
}

/// What the transaction needs from the caller now.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Request<'t> {
    /// Send this command APDU to the card and give the response to
    /// [`Transaction::on_response`].
    Transmit(&'t [u8]),
    /// Let the cardholder confirm (`confirm_only`: one candidate) or choose
    /// an application; answer with [`Transaction::on_application_chosen`].
    ChooseApplication {
        /// The candidates, in priority order.
        candidates: &'t [Candidate],
        /// Only the first candidate is offered for confirmation.
        confirm_only: bool,
    },
    /// Ask the cardholder for a PIN; answer with [`Transaction::on_pin`].
    EnterPin {
        /// Which PIN.
        kind: PinKind,
        /// Remaining tries when known (PIN Try Counter or `63Cx`).
        tries_left: Option<u8>,
    },
    /// Book 3, 10.6.1 (split sales): look up the terminal's transaction log
    /// for the most recent approved transaction of this card and answer its
    /// Amount, Authorised with [`Transaction::on_recent_amount`] (0 when
    /// there is none, or the terminal keeps no log). The floor limit check
    /// compares the current amount plus this amount with the floor limit.
    /// Asked once, after the card's records are read and cardholder
    /// verification is done, only when terminal risk management is
    /// performed (AIP byte 1 b4, Book 3, 10.6).
    RecentAmount {
        /// Application PAN (5A) as the card gave it: BCD, `F`-padded.
        pan: &'t [u8],
        /// PAN Sequence Number (5F34), when the card has one.
        pan_sequence_number: Option<u8>,
    },
    /// Send an authorisation request with this ICC data (BER-TLV, the field
    /// 55 set with the ARQC); answer with [`Transaction::on_host`].
    GoOnline(&'t [u8]),
    /// Book 4, 6.5.2 (voice referrals): the issuer referred the transaction
    /// (Authorisation Response Code `01` or `02`,
    /// [`online::is_issuer_referral`]). Show "CALL YOUR BANK" to the
    /// attendant, who calls the issuer; answer with
    /// [`Transaction::on_referral`]: approved, and the card is asked for a
    /// TC, or declined, an AAC. Asked only on attended terminals: an
    /// unattended one (Terminal Type x4 to x6) has no attendant to call,
    /// and the referral is declined without asking (docs/conformance.md,
    /// "Issuer referral").
    IssuerReferral {
        /// The issuer's Authorisation Response Code (8A), kept for CDOL2.
        authorisation_response_code: [u8; 2],
    },
    /// The transaction is over.
    Done(&'t Outcome),
}

/// The steps of Book 3, each owning what it needs.
///
/// One `State` lives in the transaction and is never boxed (no heap): the
/// largest step's data is its size, as it would be as a field.
#[allow(clippy::large_enum_variant)]
enum State {
    /// Book 1, 12: SELECT and directory reading; the command is pending.
    ApplicationSelection,
    /// Book 1, 12.4: the cardholder confirms or chooses.
    CardholderSelection(CardholderQuestion),
    /// Book 3, 10.1: GET PROCESSING OPTIONS sent.
    InitiateApplicationProcessing,
    /// Book 3, 10.2: READ RECORD sent.
    ReadApplicationData(RecordCursor),
    /// Book 2, 6.5: INTERNAL AUTHENTICATE sent for DDA.
    DynamicDataAuthentication(InternalAuthenticate),
    /// Book 3, 10.5: a PIN method in progress.
    CardholderVerification(PinVerification),
    /// Book 3, 10.6.1: waiting for the caller's transaction log lookup
    /// (split sales), before the checks of terminal risk management.
    TransactionLogLookup,
    /// Book 3, 10.6.3: GET DATA of the ATC (first) or Last Online ATC Register.
    VelocityChecking(VelocityChecking),
    /// Book 3, 10.8: first GENERATE AC sent.
    FirstGenerateAc(FirstGenerateAc),
    /// Book 3, 10.9: waiting for the issuer, with the authorisation request.
    OnlineProcessing {
        authorisation_request: Vec<u8, CLEARING_DATA_BYTES>,
    },
    /// Book 4, 6.5.2: the issuer referred the transaction; waiting for the
    /// attendant's voice referral. The issuer's answer is kept (8A, 91,
    /// scripts); `authenticate`: EXTERNAL AUTHENTICATE follows.
    IssuerReferral { authenticate: bool },
    /// Book 3, 10.9: EXTERNAL AUTHENTICATE sent.
    IssuerAuthentication(IssuerAuthentication),
    /// Book 3, 10.10: a script command sent.
    IssuerScriptProcessing(ScriptProcessing),
    /// Book 3, 10.11: second GENERATE AC sent.
    SecondGenerateAc(SecondGenerateAc),
    /// The outcome is ready.
    Completed,
}

/// Takes the waiting step's state out of the transaction (leaving
/// `Completed` until the step sets the next one), binding its data; puts the
/// state back and returns when it is another (the dispatcher calls each
/// handler only in its own state).
macro_rules! take {
    ($transaction:ident, State::$variant:ident($binding:ident)) => {
        let $binding = match core::mem::replace(&mut $transaction.state, State::Completed) {
            State::$variant($binding) => $binding,
            other => {
                $transaction.state = other;
                return;
            }
        };
    };
}

/// What a step that needs no answer asks the dispatcher to run next
/// (`Transaction::advance`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Next {
    /// A step waits for an answer, or the transaction is over.
    Wait,
    OfflineDataAuthentication,
    ProcessingRestrictions,
    CardholderVerification,
    TerminalRiskManagement,
    TerminalActionAnalysis,
}

/// One EMV contact transaction.
pub struct Transaction<'k, C: CryptoProvider> {
    cx: Context<'k>,
    crypto: C,
    state: State,
    exchanges: u16,
    selection: Selection,
    oda: OfflineAuthentication,
    aip: Aip,
    signature_required: bool,
    scripts: IssuerScripts,
    online: bool,
    /// The issuer approved and the card declined at the second GENERATE AC.
    reversal_required: bool,
    /// The issuer referred the transaction, and how the referral ended.
    referral: Option<ReferralDecision>,
    outcome: Outcome,
}

impl<C: CryptoProvider> core::fmt::Debug for Transaction<'_, C> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Transaction")
            .field("step", &self.step())
            .field("tvr", &self.cx.terminal.tvr)
            .field("tsi", &self.cx.terminal.tsi)
            .finish_non_exhaustive()
    }
}

impl<'k, C: CryptoProvider> Transaction<'k, C> {
    /// Starts a transaction: checks the inputs and prepares the first SELECT.
    ///
    /// The transaction's state is about 10.6 KB (`size_of::<Transaction>()`),
    /// and a `Result` that holds it is moved about by the compiler: a
    /// terminal with little RAM makes one with [`Transaction::idle`] and
    /// starts each transaction in its place with [`Transaction::start`]
    /// (README, "Embedding"; `scripts/check-stack.sh` measures that path).
    pub fn new(
        terminal_context: TerminalContext<'k>,
        crypto: C,
        inputs: TransactionInputs,
    ) -> Result<Self, UsageError> {
        check_inputs(&inputs)?;
        let mut transaction = Self::idle(terminal_context, crypto);
        transaction.start(inputs)?;
        Ok(transaction)
    }

    /// A transaction that is not started: its request is
    /// [`Request::Done`] with [`TerminationReason::NotStarted`] until
    /// [`Transaction::start`]. Built in place (no copy of the state on the
    /// stack), for a terminal that keeps one transaction for all its
    /// transactions.
    // Never inlined: its temporaries then live in its own frame, popped
    // before the transaction runs, not in the caller's for its whole life.
    #[inline(never)]
    pub fn idle(terminal_context: TerminalContext<'k>, crypto: C) -> Self {
        Transaction {
            cx: Context::new(terminal_context, IDLE_INPUTS, Command::default()),
            crypto,
            state: State::Completed,
            exchanges: 0,
            selection: Selection::empty(),
            oda: OfflineAuthentication::new(),
            aip: Aip::default(),
            signature_required: false,
            scripts: IssuerScripts::default(),
            online: false,
            reversal_required: false,
            referral: None,
            outcome: Outcome::empty(Decision::Terminated(TerminationReason::NotStarted)),
        }
    }

    /// Starts a transaction in this one's place, whatever its step: the
    /// same terminal context and crypto provider, these inputs. Nothing of
    /// the previous transaction is kept (the card's data is zeroed), and the
    /// transaction goes exactly as a [`Transaction::new`] with these inputs
    /// would, byte for byte; no copy of the state is made on the stack.
    ///
    /// On a [`UsageError`] the transaction is left as it was.
    #[inline(never)]
    pub fn start(&mut self, inputs: TransactionInputs) -> Result<(), UsageError> {
        check_inputs(&inputs)?;
        let capabilities = AdditionalTerminalCapabilities(
            self.cx
                .terminal_context
                .config
                .additional_terminal_capabilities,
        );
        if !capabilities.supports_transaction_type(TransactionType(inputs.transaction_type)) {
            return Err(UsageError::TransactionTypeNotSupported);
        }
        // Every field named: a field added later cannot be forgotten here.
        let Transaction {
            cx,
            crypto: _,
            state,
            exchanges,
            selection: _,
            oda,
            aip,
            signature_required,
            scripts,
            online,
            reversal_required,
            referral,
            outcome,
        } = self;
        cx.restart(inputs);
        *state = State::Completed;
        *exchanges = 0;
        oda.restart();
        *aip = Aip::default();
        *signature_required = false;
        scripts.clear();
        *online = false;
        *reversal_required = false;
        *referral = None;
        *outcome = Outcome::empty(Decision::Terminated(TerminationReason::NoApplication));
        // The selection restarts in begin, with the first command.
        self.begin();
        Ok(())
    }

    /// Application selection's first command (Book 1, 12.2).
    fn begin(&mut self) {
        let config = self.cx.terminal_context.config;
        let action = self.selection.restart(config, &mut self.cx.command);
        self.on_selection(action);
    }

    /// A log-friendly name of the current step, after Book 3.
    pub fn step(&self) -> &'static str {
        match &self.state {
            State::ApplicationSelection => self.selection.step(),
            State::CardholderSelection(_) => "cardholder application selection",
            State::InitiateApplicationProcessing => "initiate application processing",
            State::ReadApplicationData(_) => "read application data",
            State::DynamicDataAuthentication(_) => "dynamic data authentication",
            State::CardholderVerification(_) => "cardholder verification",
            State::TransactionLogLookup | State::VelocityChecking(_) => "terminal risk management",
            State::FirstGenerateAc(_) => "first GENERATE AC",
            State::OnlineProcessing { .. } => "online processing",
            State::IssuerReferral { .. } => "issuer referral",
            State::IssuerAuthentication(_) => "issuer authentication",
            State::IssuerScriptProcessing(_) => "issuer script processing",
            State::SecondGenerateAc(_) => "second GENERATE AC",
            State::Completed => "completion",
        }
    }

    /// What the transaction needs now.
    pub fn request(&self) -> Request<'_> {
        match &self.state {
            State::Completed => Request::Done(&self.outcome),
            State::CardholderSelection(question) => Request::ChooseApplication {
                candidates: self.selection.candidates(),
                confirm_only: *question == CardholderQuestion::Confirm,
            },
            State::CardholderVerification(pin) => match pin.entry_request() {
                Some((kind, tries_left)) => Request::EnterPin { kind, tries_left },
                None => Request::Transmit(self.cx.command.as_bytes()),
            },
            State::TransactionLogLookup => Request::RecentAmount {
                pan: self.cx.store.get(Tag(0x5A)).unwrap_or(&[]),
                pan_sequence_number: self
                    .cx
                    .store
                    .get(Tag(0x5F34))
                    .and_then(|v| v.first().copied()),
            },
            State::OnlineProcessing {
                authorisation_request,
            } => Request::GoOnline(authorisation_request),
            State::IssuerReferral { .. } => Request::IssuerReferral {
                authorisation_response_code: self
                    .cx
                    .terminal
                    .authorisation_response_code
                    .unwrap_or(*b"01"),
            },
            _ => Request::Transmit(self.cx.command.as_bytes()),
        }
    }

    /// The outcome, once the transaction is over.
    pub fn outcome(&self) -> Option<&Outcome> {
        matches!(self.state, State::Completed).then_some(&self.outcome)
    }

    /// The next message to show the cardholder or the attendant (Book 4,
    /// 11.2), oldest first, taken out of the transaction's queue; `None`
    /// when there is none. Read them after every answer: the kernel emits
    /// them at the moments the books name (ENTER PIN before a PIN is asked,
    /// INCORRECT PIN after a wrong one, PLEASE WAIT while the issuer is
    /// asked, APPROVED or DECLINED and REMOVE CARD at the end, ...; README
    /// "Messages"), and keeps at most
    /// [`messages::MESSAGE_QUEUE_CAPACITY`].
    pub fn next_message(&mut self) -> Option<Message> {
        self.cx.messages.pop()
    }

    /// The language to show messages in (Book 1, 11.3.4; Book 4, 11.1): the
    /// merchant's (the terminal's first) until an application is selected,
    /// then the first of the card's Language Preference (5F2D) the terminal
    /// has, else the merchant's ([`messages::select_language`]).
    pub fn language(&self) -> Language {
        self.cx.language
    }

    /// The card's data objects read so far.
    pub fn card_data(&self) -> &DataStore {
        &self.cx.store
    }

    /// The terminal's data objects (TVR, TSI, amounts...).
    pub fn terminal_data(&self) -> &TerminalData {
        &self.cx.terminal
    }

    /// The exchange with the card failed (card removed, reader error).
    pub fn on_transport_error(&mut self) {
        if !matches!(self.state, State::Completed) {
            self.terminate(TerminationReason::TransportFailed);
        }
    }

    /// The card's response (data and SW1 SW2) to the pending command.
    pub fn on_response(&mut self, response: &[u8]) -> Result<(), UsageError> {
        if !matches!(self.request(), Request::Transmit(_)) {
            return Err(UsageError::NotExpected);
        }
        self.exchanges = self.exchanges.saturating_add(1);
        if self.exchanges > MAX_EXCHANGES {
            self.terminate(TerminationReason::StepLimit);
            return Ok(());
        }
        let (data, status) = split_status(response);
        // The handler of the waiting step takes its state out of `self.state`
        // (every handler leaves a new one); each runs out of line, so that
        // this frame holds no copy of the state while the steps run (RAM
        // budget, `scripts/check-stack.sh`).
        match &self.state {
            State::ApplicationSelection => self.on_select_response(response),
            State::InitiateApplicationProcessing => self.on_gpo(data, status),
            State::ReadApplicationData(_) => self.on_record(data, status),
            State::DynamicDataAuthentication(_) => self.on_internal_authenticate(data, status),
            State::CardholderVerification(_) => self.on_verify_response(data, status),
            State::VelocityChecking(_) => self.on_get_data(data, status),
            State::FirstGenerateAc(_) => self.on_first_generate_ac(data, status),
            State::IssuerAuthentication(_) => self.on_external_authenticate(status),
            State::IssuerScriptProcessing(_) => self.on_script_response(status),
            State::SecondGenerateAc(_) => self.on_second_generate_ac(data, status),
            State::CardholderSelection(_)
            | State::TransactionLogLookup
            | State::OnlineProcessing { .. }
            | State::IssuerReferral { .. }
            | State::Completed => return Err(UsageError::NotExpected),
        }
        Ok(())
    }

    /// The cardholder's application choice: an index into the candidates
    /// (0 to confirm the only one), or `None` to cancel.
    pub fn on_application_chosen(&mut self, choice: Option<usize>) -> Result<(), UsageError> {
        if !matches!(self.state, State::CardholderSelection(_)) {
            return Err(UsageError::NotExpected);
        }
        let action = self.selection.on_cardholder(choice, &mut self.cx.command);
        self.on_selection(action);
        Ok(())
    }

    /// The cardholder's PIN entry.
    pub fn on_pin(&mut self, entry: PinEntry<'_>) -> Result<(), UsageError> {
        let State::CardholderVerification(pin) = &self.state else {
            return Err(UsageError::NotExpected);
        };
        let entered = pin.read_entry(entry).map_err(|error| match error {
            PinEntryError::NotExpected => UsageError::NotExpected,
            PinEntryError::InvalidPin => UsageError::InvalidPin,
        })?;
        match core::mem::replace(&mut self.state, State::Completed) {
            State::CardholderVerification(pin) => {
                let keys = PinKeys {
                    crypto: &self.crypto,
                    aip: self.aip,
                    oda: &self.oda,
                };
                let step = pin.on_entry(&mut self.cx, &keys, entered);
                let next = self.on_cardholder_verification(step);
                self.advance(next);
                Ok(())
            }
            state => {
                self.state = state;
                Err(UsageError::NotExpected)
            }
        }
    }

    /// The answer to [`Request::RecentAmount`]: the Amount, Authorised of the
    /// most recent approved transaction of the same card in the terminal's
    /// log, minor units; 0 when there is none.
    pub fn on_recent_amount(&mut self, amount_minor_units: u64) -> Result<(), UsageError> {
        if !matches!(self.state, State::TransactionLogLookup) {
            return Err(UsageError::NotExpected);
        }
        let step = risk::on_recent_amount(&mut self.cx, amount_minor_units);
        let next = self.velocity_checking(step);
        self.advance(next);
        Ok(())
    }

    /// The host's answer to [`Request::GoOnline`].
    pub fn on_host(&mut self, response: HostResponse<'_>) -> Result<(), UsageError> {
        if !matches!(self.state, State::OnlineProcessing { .. }) {
            return Err(UsageError::NotExpected);
        }
        if !response.reachable {
            self.unable_to_go_online();
            return Ok(());
        }
        self.online = true;
        let authenticate =
            online::keep_host_response(&mut self.cx, self.aip, &mut self.scripts, &response);
        let mut host_approved = response.approved;
        if online::is_issuer_referral(response.authorisation_response_code) {
            let terminal_type = TerminalType(self.cx.terminal_context.config.terminal_type);
            if !terminal_type.is_unattended() {
                // Book 4, 6.5.2 and 11.2: CALL YOUR BANK to the attendant.
                self.cx.show(Message::CallYourBank);
                self.state = State::IssuerReferral { authenticate };
                return Ok(());
            }
            // Book 4, 6.5.2: no attendant to call the issuer.
            self.referral = Some(ReferralDecision::Declined);
            host_approved = false;
        }
        let step =
            online::continue_online(&mut self.cx, &mut self.scripts, authenticate, host_approved);
        self.online_processing(step);
        Ok(())
    }

    /// The attendant's answer to [`Request::IssuerReferral`] after the
    /// voice referral (Book 4, 6.5.2): `approved` asks the card for a TC in
    /// the second GENERATE AC, otherwise for an AAC. Issuer authentication
    /// and the issuer's scripts follow as for any issuer answer (Book 3,
    /// 10.9, 10.10); the Authorisation Response Code the card sees (CDOL2)
    /// stays the issuer's.
    pub fn on_referral(&mut self, approved: bool) -> Result<(), UsageError> {
        let State::IssuerReferral { authenticate } = self.state else {
            return Err(UsageError::NotExpected);
        };
        self.referral = Some(if approved {
            ReferralDecision::Approved
        } else {
            ReferralDecision::Declined
        });
        let step = online::continue_online(&mut self.cx, &mut self.scripts, authenticate, approved);
        self.online_processing(step);
        Ok(())
    }

    /// Book 4, 6.5.4 (transaction forced acceptance): the attendant accepts
    /// a transaction the card declined (an AAC). The card's decision stays
    /// in the outcome (`decision` `Declined`, the AAC in the clearing data);
    /// [`Outcome::forced_acceptance`] tells the acquirer the merchant
    /// forced it. Only on an attended terminal (Terminal Type x1 to x3),
    /// only once the transaction is done, and only after a card decline:
    /// a terminated transaction has no cryptogram to clear.
    pub fn force_acceptance(&mut self) -> Result<(), UsageError> {
        if !matches!(self.state, State::Completed) {
            return Err(UsageError::NotExpected);
        }
        let terminal_type = TerminalType(self.cx.terminal_context.config.terminal_type);
        let declined_by_card = self.outcome.decision == Decision::Declined
            && self.outcome.cryptogram_type == Some(CryptogramType::Aac);
        if terminal_type.is_unattended() || !declined_by_card {
            return Err(UsageError::ForcedAcceptanceNotAllowed);
        }
        self.outcome.forced_acceptance = true;
        Ok(())
    }

    // ---- answers to commands, each out of line ------------------------------

    #[inline(never)]
    fn on_select_response(&mut self, response: &[u8]) {
        let candidates = self.selection.candidates().len();
        let action = self.selection.on_response(
            self.cx.terminal_context.config,
            response,
            &mut self.cx.store,
            &mut self.cx.command,
        );
        // Book 1, 12.4: a candidate whose final SELECT failed is removed,
        // TRY AGAIN is shown, and the choice is made again.
        if self.selection.candidates().len() < candidates
            && !matches!(action, SelectionAction::Terminate(_))
        {
            self.cx.show(Message::TryAgain);
        }
        self.on_selection(action);
    }

    #[inline(never)]
    fn on_record(&mut self, data: &[u8], status: u16) {
        take!(self, State::ReadApplicationData(cursor));
        let step = read::on_record(&mut self.cx, &mut self.oda.records, cursor, data, status);
        self.read_application_data(step);
    }

    #[inline(never)]
    fn on_internal_authenticate(&mut self, data: &[u8], status: u16) {
        take!(self, State::DynamicDataAuthentication(sent));
        self.oda
            .on_internal_authenticate(&mut self.cx, &self.crypto, sent, data, status);
        self.advance(Next::ProcessingRestrictions);
    }

    #[inline(never)]
    fn on_verify_response(&mut self, data: &[u8], status: u16) {
        take!(self, State::CardholderVerification(pin));
        let keys = PinKeys {
            crypto: &self.crypto,
            aip: self.aip,
            oda: &self.oda,
        };
        let step = pin.on_response(&mut self.cx, &keys, data, status);
        let next = self.on_cardholder_verification(step);
        self.advance(next);
    }

    #[inline(never)]
    fn on_get_data(&mut self, data: &[u8], status: u16) {
        take!(self, State::VelocityChecking(checking));
        let step = checking.on_response(&mut self.cx, data, status);
        let next = self.velocity_checking(step);
        self.advance(next);
    }

    #[inline(never)]
    fn on_external_authenticate(&mut self, status: u16) {
        take!(self, State::IssuerAuthentication(sent));
        let step = sent.on_response(&mut self.cx, &mut self.scripts, status);
        self.online_processing(step);
    }

    #[inline(never)]
    fn on_script_response(&mut self, status: u16) {
        take!(self, State::IssuerScriptProcessing(sent));
        let step = sent.on_response(&mut self.cx, &mut self.scripts, status);
        self.online_processing(step);
    }

    /// Runs the steps that need no answer one after the other, each
    /// returning the next instead of calling it, so that they do not nest on
    /// the stack; ends when a step waits or the transaction is over.
    #[inline(never)]
    fn advance(&mut self, mut next: Next) {
        loop {
            next = match next {
                Next::Wait => return,
                Next::OfflineDataAuthentication => self.offline_data_authentication(),
                Next::ProcessingRestrictions => self.processing_restrictions(),
                Next::CardholderVerification => self.cardholder_verification(),
                Next::TerminalRiskManagement => self.terminal_risk_management(),
                Next::TerminalActionAnalysis => self.terminal_action_analysis(),
            }
        }
    }

    // ---- routing: selection and initiate application processing -----------

    fn on_selection(&mut self, action: SelectionAction) {
        match action {
            SelectionAction::Transmit => self.state = State::ApplicationSelection,
            SelectionAction::AskCardholder(question) => {
                self.state = State::CardholderSelection(question)
            }
            SelectionAction::Terminate(reason) => self.terminate(reason),
            SelectionAction::Selected => {
                // Book 1, 11.3.4; Book 4, 11.1: the card's Language
                // Preference from the selected application's FCI.
                self.cx.language = messages::select_language(
                    self.cx.store.get(Tag(0x5F2D)),
                    &self.cx.terminal_context.config.languages,
                );
                self.initiate_application_processing()
            }
        }
    }

    /// Book 3, 10.1: GET PROCESSING OPTIONS.
    fn initiate_application_processing(&mut self) {
        match initiate::initiate_application_processing(&mut self.cx) {
            Ok(pdol_data) => {
                self.oda.pdol_data = pdol_data;
                self.state = State::InitiateApplicationProcessing;
            }
            Err(reason) => self.terminate(reason),
        }
    }

    #[inline(never)]
    fn on_gpo(&mut self, data: &[u8], status: u16) {
        match initiate::on_gpo_response(&mut self.cx, data, status) {
            Ok(GpoAnswer::Accepted(aip)) => {
                self.aip = aip;
                let step = read::read_next_record(&mut self.cx, None);
                self.read_application_data(step);
            }
            Ok(GpoAnswer::ConditionsNotSatisfied) => {
                // Book 4, 6.3.1: NOT ACCEPTED, and back to application
                // selection (Book 1, 12.4: TRY AGAIN when a choice remains).
                self.cx.show(Message::NotAccepted);
                let action = self
                    .selection
                    .retry_without_selected(self.cx.terminal_context.config, &mut self.cx.command);
                if !matches!(action, SelectionAction::Terminate(_)) {
                    self.cx.show(Message::TryAgain);
                }
                self.on_selection(action);
            }
            Err(reason) => self.terminate(reason),
        }
    }

    /// Book 3, 10.2: the next READ RECORD, or the end of reading.
    fn read_application_data(&mut self, step: Step<RecordCursor>) {
        match step {
            Step::Wait(cursor) => self.state = State::ReadApplicationData(cursor),
            Step::Done(()) => self.advance(Next::OfflineDataAuthentication),
            Step::Terminate(reason) => self.terminate(reason),
        }
    }

    // ---- offline data authentication (Book 3, 10.3) -------------------------

    #[inline(never)]
    fn offline_data_authentication(&mut self) -> Next {
        match self.oda.start(&mut self.cx, &self.crypto, self.aip) {
            Some(sent) => {
                self.state = State::DynamicDataAuthentication(sent);
                Next::Wait
            }
            None => Next::ProcessingRestrictions,
        }
    }

    // ---- processing restrictions (Book 3, 10.4) -----------------------------

    #[inline(never)]
    fn processing_restrictions(&mut self) -> Next {
        match restrict::apply(&mut self.cx) {
            Ok(()) => Next::CardholderVerification,
            Err(reason) => self.terminate_next(reason),
        }
    }

    // ---- cardholder verification (Book 3, 10.5) ----------------------------

    #[inline(never)]
    fn cardholder_verification(&mut self) -> Next {
        let keys = PinKeys {
            crypto: &self.crypto,
            aip: self.aip,
            oda: &self.oda,
        };
        let step = cvm::pin::cardholder_verification(&mut self.cx, &keys);
        self.on_cardholder_verification(step)
    }

    fn on_cardholder_verification(&mut self, step: Step<PinVerification, CvmResult>) -> Next {
        match step {
            Step::Wait(pin) => {
                if let Some((_, tries_left)) = pin.entry_request() {
                    // Book 4, 11.2: the PIN is asked for; LAST PIN TRY first
                    // when the card allows one more try only.
                    if tries_left == Some(1) {
                        self.cx.show(Message::LastPinTry);
                    }
                    self.cx.show(Message::EnterPin);
                }
                self.state = State::CardholderVerification(pin);
                Next::Wait
            }
            Step::Done(result) => {
                self.signature_required = result.signature_required;
                Next::TerminalRiskManagement
            }
            Step::Terminate(reason) => self.terminate_next(reason),
        }
    }

    // ---- terminal risk management (Book 3, 10.6) ---------------------------

    #[inline(never)]
    fn terminal_risk_management(&mut self) -> Next {
        match risk::start(&mut self.cx, self.aip) {
            // Book 3, 10.6.1: the caller's transaction log is asked first.
            Step::Wait(()) => {
                self.state = State::TransactionLogLookup;
                Next::Wait
            }
            Step::Done(()) => Next::TerminalActionAnalysis,
            Step::Terminate(reason) => self.terminate_next(reason),
        }
    }

    fn velocity_checking(&mut self, step: Step<VelocityChecking>) -> Next {
        match step {
            Step::Wait(checking) => {
                self.state = State::VelocityChecking(checking);
                Next::Wait
            }
            Step::Done(()) => Next::TerminalActionAnalysis,
            Step::Terminate(reason) => self.terminate_next(reason),
        }
    }

    // ---- terminal action analysis and GENERATE AC (Book 3, 10.7, 10.8) -----

    #[inline(never)]
    fn terminal_action_analysis(&mut self) -> Next {
        match action::first_generate_ac(&mut self.cx, &self.crypto, &mut self.oda) {
            Ok(sent) => self.state = State::FirstGenerateAc(sent),
            Err(reason) => self.terminate(reason),
        }
        Next::Wait
    }

    #[inline(never)]
    fn on_first_generate_ac(&mut self, data: &[u8], status: u16) {
        take!(self, State::FirstGenerateAc(sent));
        match sent.on_response(&mut self.cx, &self.crypto, &mut self.oda, data, status) {
            AfterFirstAnswer::Complete {
                decision,
                cryptogram,
            } => self.complete(decision, cryptogram),
            AfterFirstAnswer::GoOnline => {
                // Book 4, 11.2: PLEASE WAIT while the issuer is asked.
                self.cx.show(Message::PleaseWait);
                self.state = State::OnlineProcessing {
                    authorisation_request: self.icc_data(),
                };
            }
            AfterFirstAnswer::UnableToGoOnline => self.unable_to_go_online(),
            AfterFirstAnswer::SecondGenerateAc { requested, context } => {
                self.second_generate_ac(requested, context)
            }
            AfterFirstAnswer::Terminate(reason) => self.terminate(reason),
        }
    }

    /// Book 3, 10.7 default action: the issuer cannot be reached.
    fn unable_to_go_online(&mut self) {
        let sent = action::issuer_unreachable(&mut self.cx, &self.crypto, &self.oda);
        self.second_generate_ac_sent(sent);
    }

    fn second_generate_ac(&mut self, requested: CryptogramType, context: SecondGenerateAcContext) {
        let sent =
            action::second_generate_ac(&mut self.cx, &self.crypto, &self.oda, requested, context);
        self.second_generate_ac_sent(sent);
    }

    fn second_generate_ac_sent(&mut self, sent: Result<SecondGenerateAc, TerminationReason>) {
        match sent {
            Ok(sent) => self.state = State::SecondGenerateAc(sent),
            Err(reason) => self.terminate(reason),
        }
    }

    // ---- online processing and issuer scripts (Book 3, 10.9, 10.10) --------

    fn online_processing(&mut self, step: Step<OnlineWait, AfterScripts>) {
        match step {
            Step::Wait(OnlineWait::IssuerAuthentication(sent)) => {
                self.state = State::IssuerAuthentication(sent)
            }
            Step::Wait(OnlineWait::Script(sent)) => {
                self.state = State::IssuerScriptProcessing(sent)
            }
            Step::Done(AfterScripts::SecondGenerateAc(requested)) => {
                self.second_generate_ac(requested, SecondGenerateAcContext::Online)
            }
            Step::Done(AfterScripts::Completion) => self.finish_completed(),
            Step::Terminate(reason) => self.terminate(reason),
        }
    }

    #[inline(never)]
    fn on_second_generate_ac(&mut self, data: &[u8], status: u16) {
        take!(self, State::SecondGenerateAc(sent));
        let issuer_approved = sent.issuer_approved();
        match sent.on_response(&mut self.cx, &self.crypto, &mut self.oda, data, status) {
            Ok((decision, cryptogram)) => {
                // Book 4, 12.2: approved by the issuer, declined by the card.
                self.reversal_required = issuer_approved && decision == Decision::Declined;
                self.outcome.decision = decision;
                self.outcome.cryptogram_type = Some(cryptogram);
                online::after_final_generate_ac(&mut self.cx, &self.scripts);
                if self.scripts.has(SCRIPT_AFTER_FINAL_GENERATE_AC) {
                    let phase = ScriptPhase::AfterFinalGenerateAc;
                    let step = online::run_scripts(&mut self.cx, &mut self.scripts, phase);
                    self.online_processing(step);
                } else {
                    self.finish_completed();
                }
            }
            Err(reason) => self.terminate(reason),
        }
    }

    // ---- completion (Book 3, 10.11) -----------------------------------------

    fn complete(&mut self, decision: Decision, cryptogram: CryptogramType) {
        self.outcome.decision = decision;
        self.outcome.cryptogram_type = Some(cryptogram);
        self.finish_completed();
    }

    fn finish_completed(&mut self) {
        let decision = self.outcome.decision;
        let cryptogram_type = self.outcome.cryptogram_type;
        self.outcome = self.base_outcome(decision);
        self.outcome.cryptogram_type = cryptogram_type;
        self.outcome.clearing_data = self.icc_data();
        self.state = State::Completed;
        self.show_end(decision);
    }

    #[inline(never)]
    fn terminate(&mut self, reason: TerminationReason) {
        self.outcome = self.base_outcome(Decision::Terminated(reason));
        self.state = State::Completed;
        self.show_end(Decision::Terminated(reason));
    }

    /// Book 4, 11.2: the messages at the end: APPROVED or DECLINED, NOT
    /// ACCEPTED when no application could be used, CARD ERROR when the card
    /// failed, PROCESSING ERROR when a kernel capacity was exceeded; then
    /// REMOVE CARD (docs/conformance.md, "Messages").
    fn show_end(&mut self, decision: Decision) {
        let message = match decision {
            Decision::Approved => Some(Message::Approved),
            Decision::Declined => Some(Message::Declined),
            Decision::Terminated(reason) => match reason {
                TerminationReason::CardBlocked
                | TerminationReason::NoApplication
                | TerminationReason::ConfirmationNotSupported => Some(Message::NotAccepted),
                TerminationReason::CapacityExceeded => Some(Message::ProcessingError),
                TerminationReason::Cancelled | TerminationReason::NotStarted => None,
                TerminationReason::CardError { .. }
                | TerminationReason::CardDataFormat
                | TerminationReason::InvalidAfl
                | TerminationReason::DuplicateData
                | TerminationReason::MissingMandatoryData
                | TerminationReason::InvalidCryptogram
                | TerminationReason::TransportFailed
                | TerminationReason::StepLimit => Some(Message::CardError),
            },
        };
        if let Some(message) = message {
            self.cx.show(message);
        }
        self.cx.show(Message::RemoveCard);
    }

    /// [`Self::terminate`], for a step that returns the next one.
    fn terminate_next(&mut self, reason: TerminationReason) -> Next {
        self.terminate(reason);
        Next::Wait
    }

    fn base_outcome(&self, decision: Decision) -> Outcome {
        let report = Report {
            online: self.online,
            application_selected: self.cx.application.is_some(),
            oda_method: self.oda.method,
            oda_result: self.oda.result,
            oda_failure: self.oda.failure,
            signature_required: self.signature_required,
            script_results: self.scripts.results(),
            reversal_required: self.reversal_required,
            referral: self.referral,
        };
        Outcome::build(decision, &self.cx.store, &self.cx.terminal, &report)
    }

    fn icc_data(&self) -> Vec<u8, CLEARING_DATA_BYTES> {
        outcome::icc_data(&self.cx.store, &self.cx.terminal, self.scripts.results())
    }
}
