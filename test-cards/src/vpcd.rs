//! The card side of vpcd, the virtual reader of vsmartcard (Debian package
//! `vsmartcard-vpcd`): puts a simulated card into pcscd's reader
//! `Virtual PCD 00 00` (port 35963) or `Virtual PCD 00 01` (port 35964), so
//! any PC/SC program (`emv_pcsc::PcscCard` included) drives it exactly as a
//! card in a USB reader.
//!
//! Protocol (the card is the TCP client): frames both ways are a 2-byte
//! big-endian length then the payload. A 1-byte payload from vpcd is a
//! control code: 0 power off, 1 power on, 2 reset, 4 "send your ATR"; any
//! longer payload is a command APDU, answered with the response APDU.
//!
//! Latency: vpcd writes the length and the payload in two writes; with Nagle
//! on its side and delayed ACKs on ours every APDU waited about 40 ms. The
//! card side therefore sets `TCP_NODELAY` and re-arms `TCP_QUICKACK` before
//! each read (Linux), which brings a round trip to a fraction of a
//! millisecond.
//!
//! The simulated cards implement [`VirtualCard`] once, in
//! [`crate::vpcd_card::VpcdCard`]. This module lives here, with the card side
//! of EMV, so that `emv-pcsc` tests can use it without a dependency cycle.

use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpStream, ToSocketAddrs};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use emv_kernel::transport::{CardTransport, MAX_RESPONSE_APDU};

/// Port of `Virtual PCD 00 00`.
pub const VPCD_PORT_0: u16 = 35963;
/// Port of `Virtual PCD 00 01`.
pub const VPCD_PORT_1: u16 = 35964;

/// Largest frame payload accepted from vpcd (an extended command APDU).
const MAX_FRAME: usize = 65_544;

/// A card as vpcd sees it.
pub trait VirtualCard: Send {
    /// The ATR sent when vpcd asks for it.
    fn atr(&self) -> Vec<u8>;

    /// Power on (cold reset): the card starts a new session.
    fn power_on(&mut self) {}

    /// Power off: the session ends.
    fn power_off(&mut self) {}

    /// Warm reset.
    fn reset(&mut self) {
        self.power_on();
    }

    /// Answers one command APDU with a response APDU (data, SW1 SW2).
    fn respond(&mut self, command: &[u8]) -> Vec<u8>;

    /// Asked before each command: `true` pulls the card out of the reader
    /// there and then (the connection closes, the command gets no answer),
    /// as when a cardholder removes the card in the middle of a command.
    fn pulled_before(&mut self, _command: &[u8]) -> bool {
        false
    }
}

/// Any in-process card ([`CardTransport`]) served as a virtual card with a
/// given ATR. A transport error is answered `6F00` (no precise diagnosis).
pub struct TransportCard<T> {
    /// The in-process card.
    pub card: T,
    /// The ATR to present.
    pub atr: Vec<u8>,
}

impl<T: CardTransport + Send> VirtualCard for TransportCard<T> {
    fn atr(&self) -> Vec<u8> {
        self.atr.clone()
    }

    fn respond(&mut self, command: &[u8]) -> Vec<u8> {
        let mut response = [0u8; MAX_RESPONSE_APDU];
        match self.card.transmit(command, &mut response) {
            Ok(n) => response.get(..n).unwrap_or(&[0x6F, 0x00]).to_vec(),
            Err(_) => vec![0x6F, 0x00],
        }
    }
}

/// Why [`serve`] returned.
#[derive(Debug)]
pub enum ServeEnd {
    /// vpcd closed the connection (pcscd stopped).
    Closed,
    /// The owner stopped serving ([`ServedCard::remove`]).
    Stopped,
    /// The card asked to be pulled ([`VirtualCard::pulled_before`]).
    Pulled,
    /// A socket error.
    Failed(io::Error),
}

/// Connects to vpcd at `address`, retrying until `timeout` passes (vpcd
/// listens only once pcscd has loaded it). Each attempt is bounded too, so an
/// unreachable remote host does not hold the caller past `timeout`.
pub fn connect(address: impl ToSocketAddrs + Clone, timeout: Duration) -> io::Result<TcpStream> {
    let deadline = Instant::now() + timeout;
    loop {
        match connect_once(address.clone(), deadline) {
            Ok(stream) => {
                stream.set_nodelay(true)?;
                return Ok(stream);
            }
            Err(error) if Instant::now() >= deadline => return Err(error),
            Err(_) => std::thread::sleep(Duration::from_millis(20)),
        }
    }
}

/// One connection attempt to each address `address` resolves to, each
/// bounded by the time left until `deadline` (at least 100 ms, at most 1 s).
fn connect_once(address: impl ToSocketAddrs, deadline: Instant) -> io::Result<TcpStream> {
    let mut last = io::Error::new(io::ErrorKind::InvalidInput, "no address to connect to");
    for candidate in address.to_socket_addrs()? {
        let left = deadline.saturating_duration_since(Instant::now());
        let bound = left.clamp(Duration::from_millis(100), Duration::from_secs(1));
        match TcpStream::connect_timeout(&candidate, bound) {
            Ok(stream) => return Ok(stream),
            Err(error) => last = error,
        }
    }
    Err(last)
}

/// Re-arms `TCP_QUICKACK` (Linux clears it after a while).
fn quick_ack(stream: &TcpStream) {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    {
        let _ = socket2::SockRef::from(stream).set_tcp_quickack(true);
    }
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    let _ = stream;
}

/// Reads one frame; `None` when vpcd closed the connection cleanly.
fn read_frame(stream: &mut TcpStream, payload: &mut Vec<u8>) -> io::Result<Option<()>> {
    quick_ack(stream);
    let mut length = [0u8; 2];
    match stream.read_exact(&mut length) {
        Ok(()) => {}
        Err(error) if error.kind() == io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(error) => return Err(error),
    }
    let length = usize::from(u16::from_be_bytes(length));
    if length > MAX_FRAME {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "vpcd frame too long",
        ));
    }
    payload.clear();
    payload.resize(length, 0);
    quick_ack(stream);
    stream.read_exact(payload)?;
    Ok(Some(()))
}

/// Writes one frame (length and payload in a single write).
fn write_frame(stream: &mut TcpStream, payload: &[u8]) -> io::Result<()> {
    let length = u16::try_from(payload.len())
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "frame too long"))?;
    let mut frame = Vec::with_capacity(payload.len() + 2);
    frame.extend_from_slice(&length.to_be_bytes());
    frame.extend_from_slice(payload);
    stream.write_all(&frame)
}

/// Serves `card` on `stream` until vpcd closes it or a socket error; counts
/// command APDUs in `apdus`.
pub fn serve(stream: &mut TcpStream, card: &mut dyn VirtualCard, apdus: &AtomicU64) -> ServeEnd {
    match serve_session(stream, card, apdus, false, &AtomicBool::new(false)) {
        Session::Ended(end) => end,
        Session::Unnoticed => ServeEnd::Closed,
    }
}

/// ATR requests (presence polls) without a power-on after which a freshly
/// inserted card concludes that pcscd missed its insertion (see
/// [`ServedCard::insert`]). A noticed insertion shows two polls, then the
/// power-on.
const POLLS_WITHOUT_POWER_ON: u32 = 3;

/// How long a re-inserted card stays out: more than pcscd's 400 ms poll
/// period, so pcscd sees the reader empty once.
const REINSERT_PAUSE: Duration = Duration::from_millis(500);

/// When a powered card was last pulled from a reader (by vpcd port): pcscd
/// notices such a removal only at its next poll, and a card inserted before
/// that poll goes unnoticed. [`ServedCard::insert`] waits it out.
static POWERED_REMOVALS: Mutex<Vec<(u16, Instant)>> = Mutex::new(Vec::new());

fn note_powered_removal(stream: &TcpStream) {
    if let (Ok(peer), Ok(mut removals)) = (stream.peer_addr(), POWERED_REMOVALS.lock()) {
        removals.retain(|(port, _)| *port != peer.port());
        removals.push((peer.port(), Instant::now()));
    }
}

/// Waits until pcscd has polled the reader on `port` since the last powered
/// removal made by this process.
fn settle_after_removal(port: u16) {
    let last = POWERED_REMOVALS
        .lock()
        .ok()
        .and_then(|removals| removals.iter().find(|(p, _)| *p == port).map(|(_, at)| *at));
    if let Some(at) = last {
        std::thread::sleep(REINSERT_PAUSE.saturating_sub(at.elapsed()));
    }
}

/// How [`serve_session`] ended.
enum Session {
    /// As [`serve`] ends.
    Ended(ServeEnd),
    /// vpcd polled the card but pcscd never powered it on: re-insert.
    Unnoticed,
}

/// [`serve`]; with `watch_insertion`, gives up with [`Session::Unnoticed`]
/// when vpcd keeps polling for the ATR but pcscd never powers the card on.
fn serve_session(
    stream: &mut TcpStream,
    card: &mut dyn VirtualCard,
    apdus: &AtomicU64,
    watch_insertion: bool,
    powered: &AtomicBool,
) -> Session {
    let mut payload = Vec::with_capacity(MAX_RESPONSE_APDU);
    let mut polls_unpowered = 0u32;
    let mut ever_powered = false;
    loop {
        match read_frame(stream, &mut payload) {
            Ok(Some(())) => {}
            Ok(None) => return Session::Ended(ServeEnd::Closed),
            Err(error) => return Session::Ended(ServeEnd::Failed(error)),
        }
        if watch_insertion && !ever_powered && payload.as_slice() == [4] {
            polls_unpowered += 1;
            if polls_unpowered > POLLS_WITHOUT_POWER_ON {
                return Session::Unnoticed;
            }
        }
        let reply = match payload.as_slice() {
            [0] => {
                powered.store(false, Ordering::SeqCst);
                card.power_off();
                None
            }
            [1] => {
                ever_powered = true;
                powered.store(true, Ordering::SeqCst);
                card.power_on();
                None
            }
            [2] => {
                card.reset();
                None
            }
            [4] => Some(card.atr()),
            [_] => None,
            command => {
                if card.pulled_before(command) {
                    let _ = stream.shutdown(Shutdown::Both);
                    note_powered_removal(stream);
                    return Session::Ended(ServeEnd::Pulled);
                }
                apdus.fetch_add(1, Ordering::Relaxed);
                Some(card.respond(command))
            }
        };
        if let Some(reply) = reply {
            if let Err(error) = write_frame(stream, &reply) {
                return Session::Ended(ServeEnd::Failed(error));
            }
        }
    }
}

/// A card being served on its own thread.
pub struct ServedCard {
    /// The live connection, for [`ServedCard::remove`].
    stream: Arc<Mutex<Option<TcpStream>>>,
    stopping: Arc<AtomicBool>,
    thread: Option<JoinHandle<ServeEnd>>,
    apdus: Arc<AtomicU64>,
    /// Whether pcscd has the card powered on.
    powered: Arc<AtomicBool>,
}

impl ServedCard {
    /// Connects to vpcd on `127.0.0.1:port` (bounded by `timeout`) and serves
    /// `card` on a thread; pcscd reports the card at its next poll.
    ///
    /// A card inserted right after another was pulled, before pcscd polled
    /// the empty reader, is polled by vpcd but never powered on by pcscd
    /// (pcscd saw no removal, so it sees no insertion). The serving thread
    /// notices ([`POLLS_WITHOUT_POWER_ON`] polls without power-on), stays out
    /// for one poll period and inserts the card again, until `timeout` has
    /// passed since this call.
    pub fn insert(
        port: u16,
        card: impl VirtualCard + 'static,
        timeout: Duration,
    ) -> io::Result<ServedCard> {
        settle_after_removal(port);
        let deadline = Instant::now() + timeout;
        let first = connect(("127.0.0.1", port), timeout)?;
        let stream = Arc::new(Mutex::new(Some(first.try_clone()?)));
        let stopping = Arc::new(AtomicBool::new(false));
        let apdus = Arc::new(AtomicU64::new(0));
        let (shared, stop, counter) = (
            Arc::clone(&stream),
            Arc::clone(&stopping),
            Arc::clone(&apdus),
        );
        let powered = Arc::new(AtomicBool::new(false));
        let powered_in_thread = Arc::clone(&powered);
        let mut card = card;
        let thread = std::thread::Builder::new()
            .name("vpcd card".into())
            .spawn(move || {
                let mut current = first;
                loop {
                    if let Session::Ended(end) =
                        serve_session(&mut current, &mut card, &counter, true, &powered_in_thread)
                    {
                        return end;
                    }
                    let _ = current.shutdown(Shutdown::Both);
                    std::thread::sleep(REINSERT_PAUSE);
                    if stop.load(Ordering::SeqCst) || Instant::now() >= deadline {
                        return ServeEnd::Stopped;
                    }
                    let remaining = deadline.saturating_duration_since(Instant::now());
                    let Ok(next) = connect(("127.0.0.1", port), remaining) else {
                        return ServeEnd::Stopped;
                    };
                    let Ok(clone) = next.try_clone() else {
                        return ServeEnd::Stopped;
                    };
                    if let Ok(mut slot) = shared.lock() {
                        *slot = Some(clone);
                    }
                    if stop.load(Ordering::SeqCst) {
                        return ServeEnd::Stopped;
                    }
                    current = next;
                }
            })?;
        Ok(ServedCard {
            stream,
            stopping,
            thread: Some(thread),
            apdus,
            powered,
        })
    }

    /// Command APDUs the card has answered so far.
    pub fn apdus(&self) -> u64 {
        self.apdus.load(Ordering::Relaxed)
    }

    /// Pulls the card out of the reader (closes the connection) and waits for
    /// the serving thread.
    pub fn remove(mut self) -> ServeEnd {
        self.stop()
    }

    fn stop(&mut self) -> ServeEnd {
        self.stopping.store(true, Ordering::SeqCst);
        if let Ok(slot) = self.stream.lock() {
            if let Some(stream) = slot.as_ref() {
                if self.powered.load(Ordering::SeqCst) {
                    note_powered_removal(stream);
                }
                let _ = stream.shutdown(Shutdown::Both);
            }
        }
        match self.thread.take().map(JoinHandle::join) {
            Some(Ok(ServeEnd::Failed(_) | ServeEnd::Closed | ServeEnd::Stopped)) | None => {
                ServeEnd::Stopped
            }
            Some(Ok(end)) => end,
            Some(Err(_)) => ServeEnd::Failed(io::Error::other("card thread panicked")),
        }
    }
}

impl Drop for ServedCard {
    fn drop(&mut self) {
        if self.thread.is_some() {
            let _ = self.stop();
        }
    }
}
