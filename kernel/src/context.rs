//! What every step of a transaction reads and writes.
//!
//! The dispatcher ([`crate::transaction::Transaction`]) owns one [`Context`]
//! and lends it to the step that handles the current command or answer: the
//! terminal's configuration and keys, the transaction inputs, the card's and
//! the terminal's data objects, the selected application and the command
//! buffer the next command is written into. What only one step needs stays
//! with that step: a step that waits for an answer returns its own state in
//! a [`Step`], and the dispatcher keeps it until the answer comes.

use crate::apdu::Command;
use crate::config::{ApplicationConfig, TerminalConfig, TransactionInputs};
use crate::data::{DataStore, TerminalData};
use crate::messages::{Language, Message, MessageQueue};
#[allow(unused_imports)] // doc link
use crate::oda::capk::CaKeyStore;
use crate::oda::capk::CaPublicKey;
use crate::oda::revocation::RevocationList;
use crate::outcome::TerminationReason;
use crate::tvr::Bit;

/// What the terminal brings besides its configuration: CA keys, revoked
/// certificates, the exception file.
#[derive(Clone, Copy, Debug)]
pub struct TerminalContext<'k> {
    /// The terminal configuration.
    pub config: &'k TerminalConfig,
    /// CA public keys (Book 2, 5.2): `&store` for a [`CaKeyStore`] of any
    /// capacity (it dereferences to its keys).
    pub ca_keys: &'k [CaPublicKey],
    /// Revoked issuer certificates (Book 2, 5.3 step 10).
    pub revocations: &'k RevocationList,
    /// Terminal exception file: PANs (5A format) (Book 3, 10.6).
    pub exception_file: &'k [&'k [u8]],
}

/// The data every step of one transaction shares.
pub(crate) struct Context<'k> {
    /// Configuration, CA keys, revocation list, exception file.
    pub(crate) terminal_context: TerminalContext<'k>,
    /// The caller's inputs for this transaction.
    pub(crate) inputs: TransactionInputs,
    /// The card's data objects read so far.
    pub(crate) store: DataStore,
    /// The terminal's data objects (TVR, TSI, amounts...).
    pub(crate) terminal: TerminalData,
    /// The command to send next (or the one sent, until its answer).
    pub(crate) command: Command,
    /// Index of the selected application in the terminal configuration.
    pub(crate) application: Option<usize>,
    /// The messages emitted and not read yet (Book 4, 11.2).
    pub(crate) messages: MessageQueue,
    /// The language messages are shown in (Book 4, 11.1): the merchant's
    /// until the application is selected, then the one chosen with the
    /// card's Language Preference.
    pub(crate) language: Language,
}

impl<'k> Context<'k> {
    /// The context of a new transaction: empty card data, the terminal data
    /// of `inputs`, `command` to send first.
    pub(crate) fn new(
        terminal_context: TerminalContext<'k>,
        inputs: TransactionInputs,
        command: Command,
    ) -> Self {
        Context {
            terminal_context,
            inputs,
            store: DataStore::new(),
            terminal: TerminalData::new(terminal_context.config, &inputs),
            command,
            application: None,
            messages: MessageQueue::default(),
            language: merchant_language(terminal_context),
        }
    }

    /// [`Context::new`] in place, for the next transaction: the same
    /// terminal context, new inputs, nothing of the card kept, the command
    /// buffer emptied.
    pub(crate) fn restart(&mut self, inputs: TransactionInputs) {
        let Context {
            terminal_context,
            inputs: kept_inputs,
            store,
            terminal,
            command,
            application,
            messages,
            language,
        } = self;
        *kept_inputs = inputs;
        store.wipe();
        *terminal = TerminalData::new(terminal_context.config, &inputs);
        *command = Command::default();
        *application = None;
        messages.clear();
        *language = merchant_language(*terminal_context);
    }

    /// Emits a message for the cardholder or the attendant (Book 4, 11.2).
    pub(crate) fn show(&mut self, message: Message) {
        self.messages.push(message);
    }

    /// The selected application's configuration.
    pub(crate) fn app_config(&self) -> Option<&'k ApplicationConfig> {
        self.terminal_context
            .config
            .applications
            .get(self.application?)
    }

    /// Sets a TVR bit.
    pub(crate) fn set_tvr(&mut self, bit: Bit) {
        self.terminal.tvr.set(bit);
    }

    /// Sets a TSI bit.
    pub(crate) fn set_tsi(&mut self, bit: Bit) {
        self.terminal.tsi.set(bit);
    }
}

/// The merchant's language: the terminal's first, else English.
fn merchant_language(terminal_context: TerminalContext<'_>) -> Language {
    crate::messages::select_language(None, &terminal_context.config.languages)
}

/// What a step asks the dispatcher to do once it has done its part.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Step<S, D = ()> {
    /// Wait in state `S`: a command is written into [`Context::command`], or
    /// the caller is asked.
    Wait(S),
    /// The step is over; `D` is what the next step needs.
    Done(D),
    /// The transaction ends.
    Terminate(TerminationReason),
}
