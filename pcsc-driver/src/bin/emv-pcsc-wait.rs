//! Waits until the PC/SC service answers and lists a reader, then exits 0;
//! exits 1 when the wait runs out. Used by `scripts/pcscd.sh` after it starts
//! pcscd.
//!
//! Usage: `emv-pcsc-wait [--reader NAME] [--timeout-ms N]`
//! (defaults: `Virtual PCD 00 00`, 10000 ms).

use std::process::ExitCode;
use std::time::{Duration, Instant};

use emv_pcsc::{Pcsc, PcscError};

/// Pause between attempts while the service is not up yet.
const RETRY: Duration = Duration::from_millis(50);

fn main() -> ExitCode {
    let mut reader = String::from("Virtual PCD 00 00");
    let mut timeout = Duration::from_millis(10_000);
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match (arg.as_str(), args.next()) {
            ("--reader", Some(name)) => reader = name,
            ("--timeout-ms", Some(ms)) => match ms.parse() {
                Ok(ms) => timeout = Duration::from_millis(ms),
                Err(_) => return usage(),
            },
            _ => return usage(),
        }
    }

    let deadline = Instant::now() + timeout;
    let mut last = PcscError::ServiceStopped;
    while Instant::now() < deadline {
        let remaining = deadline.saturating_duration_since(Instant::now());
        match Pcsc::establish().and_then(|pcsc| pcsc.wait_for_reader(&reader, remaining)) {
            Ok(found) => {
                println!("reader {:?} ready", found.name);
                return ExitCode::SUCCESS;
            }
            Err(error) => last = error,
        }
        std::thread::sleep(RETRY.min(deadline.saturating_duration_since(Instant::now())));
    }
    eprintln!("emv-pcsc-wait: reader {reader:?} not listed within {timeout:?}: {last}");
    ExitCode::FAILURE
}

fn usage() -> ExitCode {
    eprintln!("usage: emv-pcsc-wait [--reader NAME] [--timeout-ms N]");
    ExitCode::from(2)
}
