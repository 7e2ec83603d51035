//! A convenience loop that runs a [`Transaction`] to its end with a card
//! transport, a cardholder, a host and (optionally) the terminal's
//! transaction log.
//!
//! Callers that need finer control (logging each APDU, timeouts, a UI event
//! loop) drive [`Transaction::request`] themselves; this loop is the reference
//! for how the requests are answered.

use crate::crypto::CryptoProvider;
use crate::online::HostResponse;
use crate::outcome::{Outcome, TerminationReason};
use crate::select::Candidate;
use crate::transaction::{PinEntry, PinKind, Request, Transaction, UsageError};
use crate::transport::{CardTransport, MAX_RESPONSE_APDU};

/// The person at the terminal: application choice and PIN entry.
pub trait Cardholder {
    /// Confirm (`confirm_only`, the first candidate) or choose an application;
    /// `None` cancels.
    fn choose_application(&mut self, candidates: &[Candidate], confirm_only: bool)
        -> Option<usize>;

    /// Enter a PIN (or bypass it).
    fn enter_pin(&mut self, kind: PinKind, tries_left: Option<u8>) -> PinEntry<'_>;
}

/// The acquirer/issuer link.
pub trait Host {
    /// Sends the authorisation request with the ICC data (field 55) and
    /// returns the answer, or [`HostResponse::UNREACHABLE`].
    fn authorise(&mut self, icc_data: &[u8]) -> HostResponse<'_>;

    /// The issuer referred the transaction (Book 4, 6.5.2): the attendant's
    /// voice referral, `true` to approve. The default declines: a terminal
    /// that cannot reach a person to call the issuer does not approve.
    fn voice_referral(&mut self, authorisation_response_code: [u8; 2]) -> bool {
        let _ = authorisation_response_code;
        false
    }
}

/// The terminal's transaction log, as far as the kernel asks it: split
/// sales detection for the floor limit check (Book 3, 10.6.1).
pub trait TransactionLog {
    /// The Amount, Authorised (minor units) of the most recent approved
    /// transaction with this PAN (5A value, BCD `F`-padded) and PAN Sequence
    /// Number (5F34) in the log; 0 when there is none. The default: 0, a
    /// terminal without a log.
    fn recent_amount_same_card(&mut self, pan: &[u8], pan_sequence_number: Option<u8>) -> u64 {
        let _ = (pan, pan_sequence_number);
        0
    }
}

/// A terminal that keeps no transaction log: every lookup answers 0.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct NoLog;

impl TransactionLog for NoLog {}

/// Every request answered once more than this ends the loop: a transaction
/// asks for at most [`crate::transaction::MAX_EXCHANGES`] card exchanges plus
/// a few cardholder and host answers.
const MAX_REQUESTS: usize = crate::transaction::MAX_EXCHANGES as usize + 64;

/// Runs the transaction until it is done and returns its outcome, with no
/// transaction log ([`NoLog`]: split sales are not looked for).
///
/// A transport failure ends the transaction with
/// [`TerminationReason::TransportFailed`]. Errors are the loop's own misuse
/// of the API, which the kernel reports instead of panicking.
pub fn run<C: CryptoProvider>(
    transaction: &mut Transaction<'_, C>,
    card: &mut impl CardTransport,
    cardholder: &mut impl Cardholder,
    host: &mut impl Host,
) -> Result<Outcome, UsageError> {
    run_with_log(transaction, card, cardholder, host, &mut NoLog)
}

/// Runs the transaction until it is done, answering
/// [`Request::RecentAmount`] from `log`; otherwise as [`run`].
pub fn run_with_log<C: CryptoProvider>(
    transaction: &mut Transaction<'_, C>,
    card: &mut impl CardTransport,
    cardholder: &mut impl Cardholder,
    host: &mut impl Host,
    log: &mut impl TransactionLog,
) -> Result<Outcome, UsageError> {
    let mut response = [0u8; MAX_RESPONSE_APDU];
    for _ in 0..MAX_REQUESTS {
        match transaction.request() {
            Request::Done(outcome) => return Ok(outcome.clone()),
            Request::Transmit(command) => match card.transmit(command, &mut response) {
                Ok(length) => {
                    let answer = response.get(..length).unwrap_or(&[]);
                    transaction.on_response(answer)?;
                }
                Err(_) => transaction.on_transport_error(),
            },
            Request::ChooseApplication {
                candidates,
                confirm_only,
            } => {
                let choice = cardholder.choose_application(candidates, confirm_only);
                transaction.on_application_chosen(choice)?;
            }
            Request::EnterPin { kind, tries_left } => {
                let entry = cardholder.enter_pin(kind, tries_left);
                transaction.on_pin(entry)?;
            }
            Request::RecentAmount {
                pan,
                pan_sequence_number,
            } => {
                let amount = log.recent_amount_same_card(pan, pan_sequence_number);
                transaction.on_recent_amount(amount)?;
            }
            Request::GoOnline(icc_data) => {
                let answer = host.authorise(icc_data);
                transaction.on_host(answer)?;
            }
            Request::IssuerReferral {
                authorisation_response_code,
            } => {
                let approved = host.voice_referral(authorisation_response_code);
                transaction.on_referral(approved)?;
            }
        }
    }
    transaction.on_transport_error();
    match transaction.outcome() {
        Some(outcome) => Ok(outcome.clone()),
        None => Ok(Outcome::empty(crate::outcome::Decision::Terminated(
            TerminationReason::StepLimit,
        ))),
    }
}
