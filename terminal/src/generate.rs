//! `emv-terminal generate`: shell completions and man pages, generated from the
//! clap definitions, so they never drift from the options.

use std::error::Error;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::CommandFactory;
use clap_complete::Shell;

/// Arguments of `generate`.
#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(subcommand)]
    what: What,
}

/// What to generate.
#[derive(clap::Subcommand, Debug)]
enum What {
    /// Print the completion script for SHELL on standard output
    /// (e.g. `emv-terminal generate completions bash > /etc/bash_completion.d/emv-terminal`).
    Completions {
        /// bash, elvish, fish, powershell or zsh.
        #[arg(value_enum)]
        shell: Shell,
    },
    /// Write the man pages (emv-terminal.1 and one emv-terminal-COMMAND.1 per
    /// command) into DIR, created if missing.
    Man {
        /// The directory for the pages.
        dir: PathBuf,
    },
}

/// Runs `generate`.
pub fn run(args: Args) -> Result<ExitCode, Box<dyn Error>> {
    let mut command = crate::Cli::command();
    match args.what {
        What::Completions { shell } => {
            let mut stdout = std::io::stdout().lock();
            clap_complete::generate(shell, &mut command, "emv-terminal", &mut stdout);
        }
        What::Man { dir } => {
            std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
            clap_mangen::generate_to(command, &dir)
                .map_err(|e| format!("{}: {e}", dir.display()))?;
            eprintln!("man pages written to {}", dir.display());
        }
    }
    Ok(ExitCode::SUCCESS)
}
