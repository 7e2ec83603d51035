//! emv-terminal: the command line of the EMV kernel.
//!
//! One subcommand per module; each module exposes `Args` (its clap
//! arguments) and `run(args) -> Result<ExitCode, Box<dyn Error>>`. An error
//! is printed on stderr and the process exits with status 1.

use clap::{Parser, Subcommand};
use std::error::Error;
use std::process::ExitCode;

mod decode;
mod readers;

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
    /// Decode EMV BER-TLV data (hex) into a tree with names and decoded values.
    Decode(decode::Args),
    /// List PC/SC readers, whether a card is present, and its ATR in brief.
    Readers(readers::Args),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result: Result<ExitCode, Box<dyn Error>> = match cli.command {
        Command::Decode(args) => decode::run(args),
        Command::Readers(args) => readers::run(args),
    };
    result.unwrap_or_else(|e| {
        eprintln!("error: {e}");
        ExitCode::FAILURE
    })
}
