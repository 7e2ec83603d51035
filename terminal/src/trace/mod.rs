//! Card traces: record a transaction, replay it against the kernel, import
//! APDU logs of other tools.
//!
//! A trace (`.trace`, format in `docs/traces.md`) holds everything a
//! deterministic replay needs: the terminal configuration, the CA keys used,
//! the transaction inputs, every command and response APDU in order, the
//! cardholder's and the host's answers, and the expected outcome.
//!
//! - [`format`]: the data model, parser and writer.
//! - [`record`]: a [`record::Recorder`] fed by the transaction loop, with a
//!   card transport and a crypto provider that log what passes through them.
//! - [`mask`]: PAN and track 2 masking that keeps ODA reproducible.
//! - [`replay`]: runs the kernel against a trace and explains any difference.
//! - [`junit`]: the JUnit XML report of a replay run.
//! - [`spy`]: `pcsc-spy` log import.

pub mod format;
pub mod junit;
pub mod mask;
pub mod record;
pub mod replay;
pub mod spy;

pub use format::{Event, Expected, HostAnswer, PinResult, Trace, TraceError, FORMAT_VERSION};
