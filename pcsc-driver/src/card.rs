//! A card in a PC/SC reader, as a [`CardTransport`] for the kernel.
//!
//! PC/SC calls that talk to the card (connect, transmit, reset, disconnect)
//! can block for as long as the reader driver likes; a virtual card that
//! stops answering blocks them forever. So by default the card handle lives
//! on its own worker thread and every call waits for the worker's answer with
//! a bound: a call that overruns ends the session with [`PcscError::Timeout`]
//! and the caller is never stuck. The hand-off costs from a few to about
//! 50 µs per command (vpcd, `examples/vpcd_latency.rs`, see the crate
//! README); callers that accept an unbounded wait can set
//! [`ConnectOptions::command_timeout`] to `None` and
//! the calls run on their own thread.

use std::ffi::CString;
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::time::Duration;

use emv_kernel::transport::{CardTransport, MAX_RESPONSE_APDU};
use pcsc::{Card, Context, Disposition, Protocols, ShareMode};

use crate::error::{PcscError, ProtocolFault};
use crate::ttl::{self, Protocol, RawTransport};

/// Which transmission protocol to ask the reader for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ProtocolChoice {
    /// T=1 or T=0, whichever the reader and the card agree on.
    #[default]
    Any,
    /// Only T=0.
    T0,
    /// Only T=1.
    T1,
}

impl ProtocolChoice {
    fn protocols(self) -> Protocols {
        match self {
            ProtocolChoice::Any => Protocols::T0 | Protocols::T1,
            ProtocolChoice::T0 => Protocols::T0,
            ProtocolChoice::T1 => Protocols::T1,
        }
    }
}

/// Whether other applications may use the card during the session.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Sharing {
    /// No other application may talk to the card (the default: nothing may
    /// slip commands into a transaction).
    #[default]
    Exclusive,
    /// Others may use the card between our commands.
    Shared,
}

/// How to connect to a card.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnectOptions {
    /// The protocol to ask for.
    pub protocol: ProtocolChoice,
    /// Exclusive or shared access.
    pub sharing: Sharing,
    /// Bound on each card operation (connect, one command with its GET
    /// RESPONSEs, reset, disconnect); `None` runs them on the caller's
    /// thread without a bound.
    pub command_timeout: Option<Duration>,
}

impl Default for ConnectOptions {
    /// Any protocol, exclusive, 20 s per command (a slow card computing an
    /// RSA signature takes a few seconds).
    fn default() -> Self {
        ConnectOptions {
            protocol: ProtocolChoice::Any,
            sharing: Sharing::Exclusive,
            command_timeout: Some(Duration::from_secs(20)),
        }
    }
}

/// The protocol and ATR after connect or reset.
#[derive(Debug, Clone)]
struct Session {
    protocol: Protocol,
    atr: Vec<u8>,
}

enum Request {
    Transmit(Vec<u8>),
    Reset,
    Disconnect,
}

enum Reply {
    Connected(Result<Session, PcscError>),
    Transmitted {
        result: Result<Vec<u8>, PcscError>,
        raw_exchanges: u32,
    },
    Reset(Result<Session, PcscError>),
    Disconnected(Result<(), PcscError>),
}

/// The card handle and what is needed to serve requests on it.
struct Link {
    context: Context,
    reader: CString,
    share: ShareMode,
    protocols: Protocols,
    /// `None` once disconnected.
    card: Option<Card>,
    protocol: Protocol,
}

impl Link {
    fn connect(
        context: Context,
        reader: CString,
        options: &ConnectOptions,
    ) -> Result<(Link, Session), PcscError> {
        let share = match options.sharing {
            Sharing::Exclusive => ShareMode::Exclusive,
            Sharing::Shared => ShareMode::Shared,
        };
        let protocols = options.protocol.protocols();
        let card = context.connect(&reader, share, protocols)?;
        let session = session_of(&card)?;
        let link = Link {
            context,
            reader,
            share,
            protocols,
            card: Some(card),
            protocol: session.protocol,
        };
        Ok((link, session))
    }

    fn serve(&mut self, request: Request) -> Reply {
        let Some(card) = self.card.as_mut() else {
            let gone = PcscError::Transmit(pcsc::Error::InvalidHandle);
            return match request {
                Request::Transmit(_) => Reply::Transmitted {
                    result: Err(gone),
                    raw_exchanges: 0,
                },
                Request::Reset => Reply::Reset(Err(gone)),
                Request::Disconnect => Reply::Disconnected(Ok(())),
            };
        };
        match request {
            Request::Transmit(command) => {
                let mut wire = Wire { card, exchanges: 0 };
                let mut response = [0u8; MAX_RESPONSE_APDU];
                let result = ttl::exchange(&mut wire, self.protocol, &command, &mut response)
                    .map_err(|error| diagnose(&self.context, &self.reader, PcscError::from(error)))
                    .map(|n| response.get(..n).unwrap_or(&[]).to_vec());
                Reply::Transmitted {
                    result,
                    raw_exchanges: wire.exchanges,
                }
            }
            Request::Reset => {
                let result = card
                    .reconnect(self.share, self.protocols, Disposition::ResetCard)
                    .map_err(PcscError::from)
                    .and_then(|()| session_of(card));
                if let Ok(session) = &result {
                    self.protocol = session.protocol;
                }
                Reply::Reset(result)
            }
            Request::Disconnect => {
                let result = match self.card.take() {
                    Some(card) => card
                        .disconnect(Disposition::UnpowerCard)
                        .map_err(|(_card, e)| e.into()),
                    None => Ok(()),
                };
                Reply::Disconnected(result)
            }
        }
    }
}

/// Where requests are served.
enum Backend {
    /// On a worker thread, each reply awaited with a bound.
    Worker {
        requests: Option<Sender<Request>>,
        replies: Receiver<Reply>,
        timeout: Duration,
    },
    /// On the caller's thread.
    Direct(Box<Link>),
}

/// A connected card: one command in, one complete response out, with the
/// EMV Book 1 transport rules applied (see [`crate::ttl`]).
pub struct PcscCard {
    reader: String,
    session: Session,
    backend: Backend,
    /// Set once the session is unusable; every later call returns it.
    failed: Option<PcscError>,
    commands: u64,
    raw_exchanges: u64,
}

impl PcscCard {
    /// Connects to `reader`: on a fresh worker thread bounded by the command
    /// timeout, or directly when there is none.
    pub(crate) fn connect(
        context: Context,
        reader: CString,
        options: &ConnectOptions,
    ) -> Result<PcscCard, PcscError> {
        let name = reader.to_string_lossy().into_owned();
        let Some(timeout) = options.command_timeout else {
            let (link, session) = Link::connect(context, reader, options)?;
            return Ok(PcscCard::new(
                name,
                session,
                Backend::Direct(Box::new(link)),
            ));
        };
        let (request_tx, request_rx) = mpsc::channel::<Request>();
        let (reply_tx, reply_rx) = mpsc::channel::<Reply>();
        let options = *options;
        std::thread::Builder::new()
            .name("emv-pcsc card".into())
            .spawn(move || worker(context, reader, options, request_rx, reply_tx))
            .map_err(|_| PcscError::Transmit(pcsc::Error::NoMemory))?;
        let session = match reply_rx.recv_timeout(timeout) {
            Ok(Reply::Connected(result)) => result?,
            Ok(_) => return Err(PcscError::Transmit(pcsc::Error::InternalError)),
            Err(RecvTimeoutError::Timeout) => return Err(PcscError::Timeout),
            Err(RecvTimeoutError::Disconnected) => {
                return Err(PcscError::Transmit(pcsc::Error::InternalError))
            }
        };
        let backend = Backend::Worker {
            requests: Some(request_tx),
            replies: reply_rx,
            timeout,
        };
        Ok(PcscCard::new(name, session, backend))
    }

    fn new(reader: String, session: Session, backend: Backend) -> PcscCard {
        PcscCard {
            reader,
            session,
            backend,
            failed: None,
            commands: 0,
            raw_exchanges: 0,
        }
    }

    /// The reader's name.
    pub fn reader(&self) -> &str {
        &self.reader
    }

    /// The ATR of the card at the last connect or reset.
    pub fn atr(&self) -> &[u8] {
        &self.session.atr
    }

    /// The protocol in use.
    pub fn protocol(&self) -> Protocol {
        self.session.protocol
    }

    /// Commands exchanged so far (as the kernel counts them).
    pub fn commands(&self) -> u64 {
        self.commands
    }

    /// Raw exchanges with the reader so far, GET RESPONSEs and `6Cxx`
    /// retries included.
    pub fn raw_exchanges(&self) -> u64 {
        self.raw_exchanges
    }

    /// Serves one request, bounded when on the worker.
    fn call(&mut self, request: Request) -> Result<Reply, PcscError> {
        if let Some(failed) = &self.failed {
            return Err(failed.clone());
        }
        let outcome = match &mut self.backend {
            Backend::Direct(link) => Ok(link.serve(request)),
            Backend::Worker {
                requests,
                replies,
                timeout,
            } => {
                let sent = requests
                    .as_ref()
                    .map(|tx| tx.send(request).is_ok())
                    .unwrap_or(false);
                if sent {
                    match replies.recv_timeout(*timeout) {
                        Ok(reply) => Ok(reply),
                        Err(RecvTimeoutError::Timeout) => Err(PcscError::Timeout),
                        Err(RecvTimeoutError::Disconnected) => {
                            Err(PcscError::Transmit(pcsc::Error::InternalError))
                        }
                    }
                } else {
                    Err(PcscError::Transmit(pcsc::Error::InvalidHandle))
                }
            }
        };
        outcome.map_err(|error| self.fail(error))
    }

    /// Marks the session unusable and lets go of the worker (a worker stuck
    /// in the driver ends on its own when the driver returns).
    fn fail(&mut self, error: PcscError) -> PcscError {
        self.failed = Some(error.clone());
        if let Backend::Worker { requests, .. } = &mut self.backend {
            *requests = None;
        }
        error
    }

    /// Warm reset: the card restarts and gives its ATR again; the protocol
    /// may change.
    pub fn reset(&mut self) -> Result<(), PcscError> {
        match self.call(Request::Reset)? {
            Reply::Reset(Ok(session)) => {
                self.session = session;
                Ok(())
            }
            Reply::Reset(Err(error)) => Err(self.fail(error)),
            _ => Err(self.fail(PcscError::Transmit(pcsc::Error::InternalError))),
        }
    }

    /// Powers the card off and ends the session.
    pub fn disconnect(mut self) -> Result<(), PcscError> {
        self.disconnect_in_place()
    }

    fn disconnect_in_place(&mut self) -> Result<(), PcscError> {
        let result = match self.call(Request::Disconnect) {
            Ok(Reply::Disconnected(result)) => result,
            Ok(_) => Err(PcscError::Transmit(pcsc::Error::InternalError)),
            Err(error) => Err(error),
        };
        self.fail(PcscError::Transmit(pcsc::Error::InvalidHandle));
        result
    }
}

impl Drop for PcscCard {
    /// Powers the card off (bounded by the command timeout) so the reader is
    /// free for the next session as soon as this value is gone.
    fn drop(&mut self) {
        if self.failed.is_none() {
            let _ = self.disconnect_in_place();
        }
    }
}

impl CardTransport for PcscCard {
    type Error = PcscError;

    fn transmit(&mut self, command: &[u8], response: &mut [u8]) -> Result<usize, PcscError> {
        let reply = self.call(Request::Transmit(command.to_vec()))?;
        let Reply::Transmitted {
            result,
            raw_exchanges,
        } = reply
        else {
            return Err(self.fail(PcscError::Transmit(pcsc::Error::InternalError)));
        };
        self.raw_exchanges += u64::from(raw_exchanges);
        let bytes = match result {
            Ok(bytes) => bytes,
            Err(error @ PcscError::InvalidRequest(_)) => return Err(error),
            Err(error) => return Err(self.fail(error)),
        };
        self.commands += 1;
        let out = response
            .get_mut(..bytes.len())
            .ok_or(PcscError::Protocol(ProtocolFault::ResponseTooLong))?;
        out.copy_from_slice(&bytes);
        Ok(bytes.len())
    }
}

/// The card handle as a [`RawTransport`], counting exchanges.
struct Wire<'c> {
    card: &'c Card,
    exchanges: u32,
}

impl RawTransport for Wire<'_> {
    type Error = PcscError;

    fn transmit_raw(&mut self, command: &[u8], response: &mut [u8]) -> Result<usize, PcscError> {
        self.exchanges = self.exchanges.saturating_add(1);
        match self.card.transmit(command, response) {
            Ok(received) => Ok(received.len()),
            // The card sent more than a short response APDU.
            Err(pcsc::Error::InsufficientBuffer) => {
                Err(PcscError::Protocol(ProtocolFault::ResponseTooLong))
            }
            Err(error) => Err(error.into()),
        }
    }
}

/// Reads the protocol and ATR of a freshly connected or reset card.
fn session_of(card: &Card) -> Result<Session, PcscError> {
    let status = card.status2_owned()?;
    let protocol = match status.protocol2() {
        Some(pcsc::Protocol::T0) => Protocol::T0,
        Some(pcsc::Protocol::T1) => Protocol::T1,
        _ => {
            return Err(PcscError::Protocol(ProtocolFault::NoCommonProtocol(
                pcsc::Error::ProtoMismatch,
            )))
        }
    };
    Ok(Session {
        protocol,
        atr: status.atr().to_vec(),
    })
}

/// How long to watch the reader after a vague transmit failure.
const DIAGNOSIS_WINDOW: Duration = Duration::from_millis(1500);

/// Turns a vague transmit failure ("not transacted", "communication error",
/// an empty answer) into `CardRemoved` when the reader shows, within [`DIAGNOSIS_WINDOW`],
/// that the card is gone or lost power; a real card pulled mid-command and a
/// virtual card whose connection dropped both look like this at first, and
/// the service reports the removal only at its next poll.
fn diagnose(context: &Context, reader: &CString, error: PcscError) -> PcscError {
    let vague = matches!(
        error,
        PcscError::Transmit(
            pcsc::Error::NotTransacted | pcsc::Error::CommError | pcsc::Error::UnknownError
        ) | PcscError::Protocol(ProtocolFault::NoStatusWords { received: 0 })
    );
    if !vague {
        return error;
    }
    let deadline = std::time::Instant::now() + DIAGNOSIS_WINDOW;
    let mut states = [pcsc::ReaderState::new(reader.clone(), pcsc::State::UNAWARE)];
    loop {
        let remaining = deadline.saturating_duration_since(std::time::Instant::now());
        match context.get_status_change(remaining, &mut states) {
            Ok(()) => {}
            Err(pcsc::Error::Timeout) => return error,
            Err(other) => return PcscError::from(other),
        }
        let [state] = &mut states;
        let event = state.event_state();
        if event.intersects(pcsc::State::UNKNOWN | pcsc::State::UNAVAILABLE) {
            return PcscError::ReaderGone;
        }
        if event.contains(pcsc::State::EMPTY)
            || event.intersects(pcsc::State::MUTE | pcsc::State::UNPOWERED)
        {
            return PcscError::CardRemoved;
        }
        if remaining.is_zero() {
            return error;
        }
        state.sync_current_state();
    }
}

/// The worker thread: connects, then serves requests until the session
/// ends. Sends fail silently once the owner is gone (it timed out or was
/// dropped); the card is then disconnected here.
fn worker(
    context: Context,
    reader: CString,
    options: ConnectOptions,
    requests: Receiver<Request>,
    replies: Sender<Reply>,
) {
    let mut link = match Link::connect(context, reader, &options) {
        Ok((mut link, session)) => {
            if replies.send(Reply::Connected(Ok(session))).is_err() {
                let _ = link.serve(Request::Disconnect);
                return;
            }
            link
        }
        Err(error) => {
            let _ = replies.send(Reply::Connected(Err(error)));
            return;
        }
    };
    while let Ok(request) = requests.recv() {
        let last = matches!(request, Request::Disconnect);
        let reply = link.serve(request);
        if replies.send(reply).is_err() || last {
            break;
        }
    }
}
