//! Card traces: record a transaction, replay it against the kernel, import
//! APDU logs of other tools.
//!
//! A trace (`.trace`, format in `docs/traces.md`) holds everything a
//! deterministic replay needs: the terminal configuration, the CA keys used,
//! the transaction inputs, every command and response APDU in order, the
//! cardholder's and the host's answers, and the expected outcome.
//!
//! - [`format`](mod@format): the data model, parser and writer.
//! - [`record`]: a [`record::Recorder`] fed by the transaction loop, with a
//!   card transport and a crypto provider that log what passes through them.
//! - [`mask`]: PAN and track 2 masking that keeps ODA reproducible.
//! - [`replay`]: runs the kernel against a trace and explains any difference.
//! - [`junit`]: the JUnit XML report of a replay run.
//! - [`spy`]: `pcsc-spy` log import.
//!
//! # Replaying traces from Rust
//!
//! A lab replays its traces against the kernel with its own CA keys (capk.txt
//! format): the kernel must send exactly the recorded commands and reach the
//! expected outcome; a difference is explained with the step and both APDUs
//! decoded.
//!
//! ```no_run
//! use std::path::Path;
//!
//! use emv_trace::junit::{self, Case};
//! use emv_trace::replay::{self, Environment, Style};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let path = Path::new("traces/visa-cda.trace");
//! let trace = emv_trace::format::parse(&std::fs::read_to_string(path)?)?;
//!
//! // Relative `config file` / `capk file` paths start from the trace's folder;
//! // the lab's CA keys replace whatever key source the trace names.
//! let mut env = Environment::for_file(path);
//! env.capk_override = Some(std::fs::read_to_string("lab/capk.txt")?);
//!
//! let replayed = replay::replay(&trace, &env);
//! let failure = replayed
//!     .failure
//!     .as_ref()
//!     .map(|failure| replay::render_failure(failure, Style { color: false }));
//! if let Some(text) = &failure {
//!     eprintln!("{} differs:\n{text}", path.display());
//! }
//!
//! // A JUnit report for the CI system.
//! let cases = [Case { name: path.display().to_string(), seconds: 0.0, failure }];
//! std::fs::write("replay.xml", junit::report("lab replay", &cases))?;
//! # Ok(())
//! # }
//! ```
//!
//! # Cargo features
//!
//! - `test-keys` (default): `capk builtin` in a trace means the test CA keys
//!   of `emv-test-cards` (the corpus in `tests/traces/` uses them). Without
//!   it the crate does not depend on the test cards, and a trace that names
//!   them fails to set up with an error asking for the CA key file
//!   ([`Environment::capk_override`](replay::Environment::capk_override)).

pub mod format;
pub mod junit;
pub mod mask;
pub mod record;
pub mod replay;
pub mod spy;

pub use format::{Event, Expected, HostAnswer, PinResult, Trace, TraceError, FORMAT_VERSION};
