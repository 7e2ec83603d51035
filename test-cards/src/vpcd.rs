//! Serving a card to pcscd's virtual reader driver (vsmartcard-vpcd).
//!
//! pcscd with vpcd listens on 127.0.0.1:35963 (reader `Virtual PCD 00 00`);
//! the card side connects as a TCP client. Frames both ways are a 2-byte
//! big-endian length then the payload. A 1-byte payload from vpcd is a
//! control code (0 power off, 1 power on, 2 reset, 4 get ATR; only the last
//! is answered); a longer one is a command APDU, answered with the response
//! APDU.
//!
//! vpcd writes the length and the payload separately, so the card side sets
//! TCP_NODELAY and re-arms TCP_QUICKACK before each read; without that every
//! APDU waits about 40 ms for a delayed ACK.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use socket2::SockRef;

use crate::card::Card;

/// The port pcscd's vpcd driver listens on for the first virtual reader.
pub const DEFAULT_PORT: u16 = 35963;

/// Control codes vpcd sends as 1-byte payloads.
mod control {
    pub const POWER_OFF: u8 = 0;
    pub const POWER_ON: u8 = 1;
    pub const RESET: u8 = 2;
    pub const GET_ATR: u8 = 4;
}

/// What a serving session did, for logs and tests.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct ServeStats {
    /// Command APDUs answered.
    pub apdus: u64,
    /// Power-on and reset events.
    pub resets: u64,
}

/// Connects to vpcd at `addr`, retrying until `connect_timeout` passes
/// (pcscd may still be starting).
pub fn connect(addr: SocketAddr, connect_timeout: Duration) -> io::Result<TcpStream> {
    let deadline = Instant::now() + connect_timeout;
    loop {
        match TcpStream::connect_timeout(&addr, Duration::from_millis(500)) {
            Ok(stream) => {
                stream.set_nodelay(true)?;
                return Ok(stream);
            }
            Err(e) if Instant::now() >= deadline => return Err(e),
            Err(_) => std::thread::sleep(Duration::from_millis(100)),
        }
    }
}

fn read_frame(stream: &mut TcpStream) -> io::Result<Option<Vec<u8>>> {
    // Re-arm quick ACK: Linux clears it after a delayed-ACK decision.
    SockRef::from(&*stream).set_tcp_quickack(true)?;
    let mut len = [0u8; 2];
    match stream.read_exact(&mut len) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(e) => return Err(e),
    }
    let mut payload = vec![0u8; usize::from(u16::from_be_bytes(len))];
    SockRef::from(&*stream).set_tcp_quickack(true)?;
    stream.read_exact(&mut payload)?;
    Ok(Some(payload))
}

fn write_frame(stream: &mut TcpStream, payload: &[u8]) -> io::Result<()> {
    let len = u16::try_from(payload.len())
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "frame too long"))?;
    let mut frame = Vec::with_capacity(payload.len() + 2);
    frame.extend_from_slice(&len.to_be_bytes());
    frame.extend_from_slice(payload);
    stream.write_all(&frame)
}

/// Serves `card` on an open vpcd connection until vpcd closes it.
pub fn serve_stream(card: &mut Card, stream: &mut TcpStream) -> io::Result<ServeStats> {
    let mut stats = ServeStats::default();
    while let Some(payload) = read_frame(stream)? {
        match payload.as_slice() {
            [control::POWER_OFF] => {
                card.reset();
            }
            [control::POWER_ON] | [control::RESET] => {
                card.reset();
                stats.resets += 1;
            }
            [control::GET_ATR] => {
                let atr = card.image().atr.clone();
                write_frame(stream, &atr)?;
            }
            [_] => {}
            apdu => {
                let response = card.process(apdu);
                write_frame(stream, &response)?;
                stats.apdus += 1;
            }
        }
    }
    Ok(stats)
}

/// Connects to vpcd on `host:port` and serves `card` until the connection ends.
pub fn serve(
    card: &mut Card,
    addr: SocketAddr,
    connect_timeout: Duration,
) -> io::Result<ServeStats> {
    let mut stream = connect(addr, connect_timeout)?;
    serve_stream(card, &mut stream)
}
