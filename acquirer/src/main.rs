//! emv-acquirer: the reference acquirer endpoint for tests and demos.
//!
//! `emv-acquirer serve` receives the clearing batches `emv-terminal sync` sends
//! (HTTPS, idempotent by record key, optional fault injection); `emv-acquirer
//! stats` counts what its database holds. An error is printed on stderr and the
//! process exits with status 1.

use std::error::Error;
use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args as ClapArgs, Parser, Subcommand};
use emv_acquirer::{Faults, ServeConfig};

/// The reference acquirer endpoint for tests and demos.
#[derive(Parser, Debug)]
#[command(name = "emv-acquirer", version, about)]
struct Cli {
    #[command(subcommand)]
    command: AcquirerCommand,
}

#[derive(Subcommand, Debug)]
enum AcquirerCommand {
    /// Run the reference acquirer (stores batches, deduplicates by idempotency key).
    Serve(ServeArgs),
    /// Count what an acquirer database holds.
    Stats {
        /// Acquirer database.
        #[arg(long, value_name = "FILE")]
        db: PathBuf,
    },
    /// Issue a client certificate for a terminal from the acquirer's CA (mutual TLS).
    Enroll {
        /// Acquirer database (its CA key is DB.ca.key).
        #[arg(long, value_name = "FILE")]
        db: PathBuf,
        /// The terminal id the certificate is bound to.
        #[arg(long, value_name = "ID")]
        terminal_id: String,
        /// Where to write the certificate (PEM).
        #[arg(long, value_name = "FILE")]
        cert_out: PathBuf,
        /// Where to write the private key (PEM, created with mode 0600).
        #[arg(long, value_name = "FILE")]
        key_out: PathBuf,
    },
}

#[derive(ClapArgs, Debug)]
struct ServeArgs {
    /// Address to listen on; port 0 picks a free port (printed).
    #[arg(long, default_value = "127.0.0.1:8443")]
    listen: SocketAddr,
    /// SQLite file for received records.
    #[arg(long, value_name = "FILE")]
    db: PathBuf,
    /// Server certificate chain (PEM); without it a test CA and certificate are generated.
    #[arg(long, value_name = "FILE", requires = "key")]
    cert: Option<PathBuf>,
    /// Server private key (PEM).
    #[arg(long, value_name = "FILE", requires = "cert")]
    key: Option<PathBuf>,
    /// Where to write the generated CA certificate [default: DB.ca.pem].
    #[arg(long, value_name = "FILE")]
    ca_out: Option<PathBuf>,
    /// Serve plain HTTP (debugging only).
    #[arg(long)]
    insecure_http: bool,
    /// Mutual TLS: only clients with a certificate from `enroll`; each batch must name
    /// the terminal its certificate was issued for.
    #[arg(long, conflicts_with = "insecure_http")]
    require_client_cert: bool,
    /// Fault: probability of closing the connection without storing or answering.
    #[arg(long, default_value_t = 0.0, value_name = "P")]
    drop_connection: f64,
    /// Fault: probability of answering HTTP 500 without storing.
    #[arg(long, default_value_t = 0.0, value_name = "P")]
    error_500: f64,
    /// Fault: probability of delaying a request by --delay.
    #[arg(long, default_value_t = 0.0, value_name = "P")]
    delay_rate: f64,
    /// Fault: how long a delayed request waits.
    #[arg(long, default_value = "2s", value_parser = humantime::parse_duration)]
    delay: Duration,
    /// Fault: probability of storing a batch and then closing without answering.
    #[arg(long, default_value_t = 0.0, value_name = "P")]
    lose_ack: f64,
    /// Fault: probability of storing a batch and acknowledging only about half of it.
    #[arg(long, default_value_t = 0.0, value_name = "P")]
    partial_ack: f64,
    /// Fault: probability of acknowledging a stored batch with receipts signed by a wrong key.
    #[arg(long, default_value_t = 0.0, value_name = "P")]
    bad_receipt: f64,
    /// Seed of the fault generator.
    #[arg(long, default_value_t = 1)]
    fault_seed: u64,
}

/// Runs `emv-acquirer ...`.
fn run(cli: Cli) -> Result<ExitCode, Box<dyn Error>> {
    match cli.command {
        AcquirerCommand::Stats { db } => {
            let stats = emv_acquirer::stats(&db)?;
            println!("{}", serde_json::to_string(&stats)?);
            Ok(ExitCode::SUCCESS)
        }
        AcquirerCommand::Enroll {
            db,
            terminal_id,
            cert_out,
            key_out,
        } => {
            use std::os::unix::fs::OpenOptionsExt;
            let (cert, key) = emv_acquirer::enroll(&db, &terminal_id)?;
            let mut file = std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(&key_out)
                .map_err(|e| format!("{}: {e}", key_out.display()))?;
            file.write_all(key.as_bytes())?;
            std::fs::write(&cert_out, cert).map_err(|e| format!("{}: {e}", cert_out.display()))?;
            println!(
                "enrolled terminal {terminal_id}: certificate {}, key {}",
                cert_out.display(),
                key_out.display()
            );
            Ok(ExitCode::SUCCESS)
        }
        AcquirerCommand::Serve(serve) => {
            for (name, p) in [
                ("--drop-connection", serve.drop_connection),
                ("--error-500", serve.error_500),
                ("--delay-rate", serve.delay_rate),
                ("--lose-ack", serve.lose_ack),
                ("--partial-ack", serve.partial_ack),
                ("--bad-receipt", serve.bad_receipt),
            ] {
                if !(0.0..=1.0).contains(&p) {
                    return Err(format!("{name} must be a probability between 0 and 1").into());
                }
            }
            let config = ServeConfig {
                listen: serve.listen,
                db: serve.db,
                cert: serve.cert,
                key: serve.key,
                ca_out: serve.ca_out,
                insecure_http: serve.insecure_http,
                require_client_cert: serve.require_client_cert,
                faults: Faults {
                    drop_connection: serve.drop_connection,
                    error_500: serve.error_500,
                    delay_rate: serve.delay_rate,
                    delay: serve.delay,
                    lose_ack: serve.lose_ack,
                    partial_ack: serve.partial_ack,
                    bad_receipt: serve.bad_receipt,
                    seed: serve.fault_seed,
                },
            };
            emv_acquirer::serve(&config, |info| {
                println!("acquirer listening on {}", info.url);
                if let Some(ca) = &info.ca_cert {
                    println!("ca certificate {}", ca.display());
                }
                // Third line, after what test harnesses read: a reader that has stopped
                // listening must not kill the server (the write error is ignored).
                let _ = writeln!(
                    std::io::stdout(),
                    "receipt key {}",
                    info.receipt_key.display()
                );
                let _ = std::io::stdout().flush();
            })?;
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn main() -> ExitCode {
    // SIGPIPE stays ignored (Rust's default): a server must not die of a peer that goes
    // away, and `stats` prints one line.
    run(Cli::parse()).unwrap_or_else(|e| {
        eprintln!("error: {e}");
        ExitCode::FAILURE
    })
}
