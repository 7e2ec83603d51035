//! `emv-terminal card`: the simulated cards of `emv-test-cards`.
//!
//! `card list` prints the profiles, one line each; `card serve` connects a
//! profile to pcscd's virtual reader driver (vsmartcard-vpcd), so any PC/SC
//! program on the machine sees it in reader `Virtual PCD 00 00`.

use std::error::Error;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::process::ExitCode;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use clap::{Args as ClapArgs, Subcommand};
use emv_test_cards::profiles;
use emv_test_cards::vpcd::{self, ServeEnd, VPCD_PORT_0};
use emv_test_cards::vpcd_card::VpcdCard;

/// Arguments of `emv-terminal card`.
#[derive(ClapArgs)]
pub struct Args {
    #[command(subcommand)]
    command: CardCommand,
}

#[derive(Subcommand)]
enum CardCommand {
    /// List the simulated card profiles, one line each.
    List(ListArgs),
    /// Serve a profile to pcscd's virtual reader (vpcd) until stopped.
    Serve(ServeArgs),
}

#[derive(ClapArgs)]
struct ListArgs {
    /// Also print the expected outcome and TVR of each profile.
    #[arg(long)]
    verbose: bool,
    /// Print the Markdown table of `test-cards/PROFILES.md` instead.
    #[arg(long, conflicts_with = "verbose")]
    markdown: bool,
}

#[derive(ClapArgs)]
struct ServeArgs {
    /// Profile name (see `emv-terminal card list`).
    #[arg(long)]
    profile: String,
    /// vpcd port: 35963 is reader `Virtual PCD 00 00`, 35964 the second reader.
    #[arg(long, default_value_t = VPCD_PORT_0)]
    port: u16,
    /// Address pcscd listens on.
    #[arg(long, default_value_t = IpAddr::V4(Ipv4Addr::LOCALHOST))]
    host: IpAddr,
    /// Seconds to keep retrying the connection to pcscd.
    #[arg(long, default_value_t = 10)]
    connect_timeout: u64,
    /// Exit when pcscd closes the connection instead of reconnecting.
    #[arg(long)]
    once: bool,
}

/// Runs `emv-terminal card ...`.
pub fn run(args: Args) -> Result<ExitCode, Box<dyn Error>> {
    match args.command {
        CardCommand::List(list) if list.markdown => {
            out!("{}", profiles::markdown_table())?;
            Ok(ExitCode::SUCCESS)
        }
        CardCommand::List(list) => {
            let width = profiles::all()
                .iter()
                .map(|p| p.name.len())
                .max()
                .unwrap_or(0);
            for p in profiles::all() {
                if list.verbose {
                    outln!(
                        "{:width$}  {}\n{:width$}  -> {} [TVR {}]",
                        p.name,
                        p.exercises,
                        "",
                        p.expected,
                        p.tvr
                    )?;
                } else {
                    outln!("{:width$}  {}", p.name, p.exercises)?;
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        CardCommand::Serve(serve) => {
            let profile = profiles::find(&serve.profile).ok_or_else(|| {
                format!(
                    "no profile named {:?}; see `emv-terminal card list`",
                    serve.profile
                )
            })?;
            let mut card = VpcdCard::new(profile.card());
            let addr = SocketAddr::new(serve.host, serve.port);
            let timeout = Duration::from_secs(serve.connect_timeout);
            loop {
                eprintln!("card {}: connecting to vpcd at {addr}", profile.name);
                let mut stream = vpcd::connect(addr, timeout)?;
                let apdus = AtomicU64::new(0);
                let resets_before = card.resets();
                if let ServeEnd::Failed(error) = vpcd::serve(&mut stream, &mut card, &apdus) {
                    return Err(error.into());
                }
                eprintln!(
                    "card {}: vpcd closed the connection after {} APDUs, {} resets",
                    profile.name,
                    apdus.load(Ordering::Relaxed),
                    card.resets() - resets_before
                );
                if serve.once {
                    return Ok(ExitCode::SUCCESS);
                }
            }
        }
    }
}
