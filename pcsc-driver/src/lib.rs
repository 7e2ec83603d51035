//! emv-pcsc: the EMV kernel on any PC/SC reader.
//!
//! Built on the `pcsc` crate (pcsc-lite on Linux, WinSCard on Windows, the
//! PC/SC framework on macOS):
//! - [`Pcsc`] lists readers ([`Reader`]), picks one ([`ReaderSelector`]:
//!   exact name, substring, or the first with a card) and waits, bounded, for
//!   a reader or a card;
//! - [`PcscCard`] is a connected card (T=0 or T=1, exclusive by default)
//!   implementing the kernel's [`emv_kernel::transport::CardTransport`], with
//!   the transport rules of EMV Book 1 ([`ttl`]) applied so the kernel sees
//!   one complete response per command;
//! - every failure is a typed [`PcscError`], every wait has a bound;
//! - [`atr`] decodes an ATR in brief for `emv-terminal readers`.
//!
//! The card side of pcscd's virtual reader (vpcd), for tests and bench
//! testers without a plastic card, is `emv_test_cards::vpcd`.

pub mod atr;
pub mod card;
pub mod error;
pub mod reader;
pub mod ttl;

pub use card::{ConnectOptions, PcscCard, ProtocolChoice, Sharing};
pub use error::{PcscError, ProtocolFault};
pub use reader::{Pcsc, Reader, ReaderSelector};
pub use ttl::Protocol;
