//! emv-terminal: the command line of the EMV kernel.
//!
//! The libraries behind it: `emv-config` (the configuration file), `emv-journal`
//! (the offline journal and sync), `emv-trace` (traces), `emv-pcsc` (readers)
//! and, with the default feature `simulated-cards`, `emv-test-cards` (the
//! simulated cards, the test PKI and the host simulator's issuer keys).
//!
//! One subcommand per module; each module exposes `Args` (its clap
//! arguments) and `run(args) -> Result<ExitCode, Box<dyn Error>>`. An error
//! is printed on stderr and the process exits with status 1.

use clap::{Parser, Subcommand};
use std::error::Error;
use std::process::ExitCode;

#[cfg(feature = "simulated-cards")]
mod card;
mod decode;
mod journal_cmd;
mod output;
mod readers;
mod replay_cmd;
mod transact;

/// An EMV contact terminal and its tools.
#[derive(Parser)]
#[command(name = "emv-terminal", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// The subcommands, one per module.
#[derive(Subcommand)]
enum Command {
    /// Run one EMV transaction on a simulated test card or a card in a PC/SC reader.
    #[cfg(feature = "simulated-cards")]
    Transact(transact::Args),
    /// Run one EMV transaction on a card in a PC/SC reader.
    #[cfg(not(feature = "simulated-cards"))]
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
}

/// Lets a closed standard output (`emv-terminal card list | head`) end the
/// process quietly, as for any Unix filter, instead of a panic in `println!`
/// (Rust ignores SIGPIPE by default).
#[cfg(unix)]
fn restore_default_sigpipe() {
    // SAFETY: called first thing in `main`, before any thread exists; setting
    // the disposition of SIGPIPE to its default has no other effect.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}

/// `card list`: a report (only with the simulated cards).
#[cfg(unix)]
fn is_card_listing(command: &Command) -> bool {
    #[cfg(feature = "simulated-cards")]
    if let Command::Card(args) = command {
        return card::is_listing(args);
    }
    let _ = command;
    false
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // Only the commands that print a report and change nothing: a server
    // (`card serve`), `sync`, `transact` and the journal
    // commands must never die of SIGPIPE, which a peer that goes away can
    // also raise.
    #[cfg(unix)]
    if matches!(
        cli.command,
        Command::Decode(_) | Command::Readers(_) | Command::Replay(_)
    ) || is_card_listing(&cli.command)
    {
        restore_default_sigpipe();
    }
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
    };
    result.unwrap_or_else(|e| {
        eprintln!("error: {e}");
        ExitCode::FAILURE
    })
}
