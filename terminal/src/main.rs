//! emv-terminal: the command line of the EMV kernel.
//!
//! The libraries behind it: `emv-config` (the configuration file), `emv-journal`
//! (the offline journal and sync), `emv-trace` (traces), `emv-pcsc` (readers)
//! and, with the default feature `simulated-cards`, `emv-test-cards` (the
//! simulated cards, the test PKI and the host simulator's issuer keys).
//!
//! One subcommand per module; each module exposes `Args` (its clap
//! arguments) and `run(args) -> Result<ExitCode, Box<dyn Error>>`. An error
//! is printed on stderr; the exit status tells a script what happened
//! ([`exit`]): 0 approved (or success), 2 declined, 3 terminated, 1 runtime
//! error, 64 usage error (clap's parse errors and [`UsageError`]s).

use clap::{Parser, Subcommand};
use std::error::Error;
use std::fmt;
use std::process::ExitCode;

/// `println!` that returns the write error (a closed pipe: `emv-terminal journal list |
/// head -1`) for `?` instead of panicking; `main` ends a closed pipe quietly with status 0.
macro_rules! outln {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        writeln!(std::io::stdout().lock(), $($arg)*)
    }};
}

/// `print!` that returns the write error, as [`outln!`].
macro_rules! out {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        write!(std::io::stdout().lock(), $($arg)*)
    }};
}

#[cfg(feature = "simulated-cards")]
mod card;
mod decode;
mod decode_log;
mod decode_names;
mod files;
mod generate;
mod journal_cmd;
mod output;
mod readers;
mod replay_cmd;
mod transact;

/// The exit statuses of every command: the command line's contract with scripts.
pub mod exit {
    /// Approved (`transact`), or the command succeeded.
    pub const APPROVED: u8 = 0;
    /// The command could not run: a file, the configuration, a reader, the journal.
    pub const RUNTIME_ERROR: u8 = 1;
    /// `transact`: the transaction was declined.
    pub const DECLINED: u8 = 2;
    /// `transact`: the transaction was terminated (card or kernel ended it).
    pub const TERMINATED: u8 = 3;
    /// A usage error: unknown option, missing or malformed value (BSD `EX_USAGE`).
    pub const USAGE: u8 = 64;
    /// The table printed after `--help`.
    pub const HELP: &str = "Exit status:\n  \
        0   approved (transact), or success\n  \
        1   runtime error (file, configuration, reader, journal, network)\n  \
        2   declined (transact)\n  \
        3   terminated (transact)\n  \
        64  usage error (unknown option, missing or malformed value)";
}

/// An option's value is malformed or options contradict each other: exit status 64, like
/// clap's own parse errors, so a script can tell a typo from a declined card.
#[derive(Debug)]
pub struct UsageError(pub String);

impl fmt::Display for UsageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Error for UsageError {}

impl From<String> for UsageError {
    fn from(text: String) -> Self {
        UsageError(text)
    }
}

impl From<&str> for UsageError {
    fn from(text: &str) -> Self {
        UsageError(text.to_owned())
    }
}

/// A [`UsageError`] boxed, for `?` in functions returning `Box<dyn Error>`.
pub fn usage(text: impl Into<String>) -> Box<dyn Error> {
    Box::new(UsageError(text.into()))
}

/// `emv-terminal --version`: this program's version, the kernel's, and the kernel build's
/// checksum for type approval (`emv_kernel::identity`).
static VERSION: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    format!(
        "{} (emv-kernel {}, checksum {})",
        env!("CARGO_PKG_VERSION"),
        emv_kernel::identity::VERSION,
        emv_kernel::identity::short_checksum()
    )
});

/// An EMV contact terminal and its tools.
#[derive(Parser)]
#[command(name = "emv-terminal", version = VERSION.as_str(), about, after_help = exit::HELP)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// The subcommands, one per module.
#[derive(Subcommand)]
enum Command {
    /// Run one EMV transaction on a simulated test card or a card in a PC/SC reader.
    #[cfg(feature = "simulated-cards")]
    #[command(after_help = exit::HELP)]
    Transact(transact::Args),
    /// Run one EMV transaction on a card in a PC/SC reader.
    #[cfg(not(feature = "simulated-cards"))]
    #[command(after_help = exit::HELP)]
    Transact(transact::Args),
    /// Simulated cards: list the profiles, serve one over pcscd's virtual reader.
    #[cfg(feature = "simulated-cards")]
    Card(card::Args),
    /// Decode EMV BER-TLV data (hex) into a tree with names and decoded values.
    Decode(decode::Args),
    /// List PC/SC readers, whether a card is present, and its ATR in brief.
    Readers(readers::Args),
    /// The offline journal: status, list, show, export, verify, backup, restore, prune.
    Journal(journal_cmd::JournalArgs),
    /// Upload unsynced approvals to the acquirer (HTTPS, idempotent, retried).
    Sync(journal_cmd::SyncArgs),
    /// Replay card traces against the kernel: exact APDUs, same outcome (docs/traces.md).
    Replay(replay_cmd::ReplayArgs),
    /// Card traces: import another tool's APDU log (pcsc-spy) as a trace.
    Trace(replay_cmd::TraceArgs),
    /// Shell completions and man pages, generated from these definitions.
    Generate(generate::Args),
}

/// Parses the command line; `--help` and `--version` exit 0, any other parse error 64.
fn parse_cli() -> Result<Cli, ExitCode> {
    Cli::try_parse().map_err(|error| {
        let _ = error.print();
        if error.use_stderr() {
            ExitCode::from(exit::USAGE)
        } else {
            ExitCode::SUCCESS
        }
    })
}

fn main() -> ExitCode {
    let cli = match parse_cli() {
        Ok(cli) => cli,
        Err(code) => return code,
    };
    let result: Result<ExitCode, Box<dyn Error>> = match cli.command {
        Command::Transact(args) => transact::run(args),
        #[cfg(feature = "simulated-cards")]
        Command::Card(args) => card::run(args),
        Command::Decode(args) => decode::run(args),
        Command::Readers(args) => readers::run(args),
        Command::Journal(args) => journal_cmd::run_journal(args),
        Command::Sync(args) => journal_cmd::run_sync(args),
        Command::Replay(args) => replay_cmd::run_replay(args),
        Command::Trace(args) => replay_cmd::run_trace(args),
        Command::Generate(args) => generate::run(args),
    };
    result.unwrap_or_else(|e| {
        if is_broken_pipe(e.as_ref()) {
            // The reader of a listing went away (`| head`): as for any Unix filter, quietly.
            return ExitCode::SUCCESS;
        }
        eprintln!("error: {e}");
        if e.is::<UsageError>() {
            ExitCode::from(exit::USAGE)
        } else {
            ExitCode::from(exit::RUNTIME_ERROR)
        }
    })
}

/// Whether `error`, or an error it wraps, is a write to a closed pipe (EPIPE).
fn is_broken_pipe(error: &(dyn Error + 'static)) -> bool {
    let mut current = Some(error);
    while let Some(e) = current {
        if e.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
        {
            return true;
        }
        current = e.source();
    }
    false
}
