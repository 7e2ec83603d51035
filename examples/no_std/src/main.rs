//! The kernel in a `no_std`, no-heap program, as it would sit in a terminal's
//! firmware: one CDA purchase with the portable crypto provider.
//!
//! The card is a recording (`kernel/benches/transcripts/cda.txt`: an
//! `emv-test-cards` CDA card answering the kernel with the fixed test inputs
//! below), so the program needs no reader. The CA keys are the test ones
//! (`test-cards/keys/capk.txt`), loaded with `CaKeyStore::load_capk_txt`.
//!
//! - On the host (`cargo run -p emv-kernel-no-std-example`) it is an ordinary
//!   program: it prints the outcome and exits 0 only on an offline approval
//!   with a TC and CDA succeeded. The test suite runs it.
//! - For `thumbv7em-none-eabihf` (Cortex-M4F) it is `#![no_std]`,
//!   `#![no_main]`: `_start` runs the same purchase. `scripts/check-embedded.sh`
//!   builds it and reports the flash footprint (`.text`).
#![cfg_attr(target_os = "none", no_std)]
#![cfg_attr(target_os = "none", no_main)]
// No unsafe code; `#[no_mangle]` on the firmware entry point counts as unsafe
// to the lint, so that one item allows it.
#![deny(unsafe_code)]

use emv_kernel::config::{Currency, TerminalConfig, TransactionInputs};
use emv_kernel::crypto::{NoRandom, PortableCrypto};
use emv_kernel::oda::{CaKeyStore, RevocationList};
use emv_kernel::online::HostResponse;
use emv_kernel::outcome::Outcome;
use emv_kernel::transaction::{PinEntry, Request, TerminalContext, Transaction};

/// The recorded card: `> command` and `< response` lines, in hex.
const TRANSCRIPT: &str = include_str!("../../../kernel/benches/transcripts/cda.txt");
/// The test CA keys.
const CAPK_TXT: &str = include_str!("../../../test-cards/keys/capk.txt");

/// What a terminal passes in from its clock and random source. The recording
/// was made with these values, so they are fixed here; a terminal draws a new
/// unpredictable number for every transaction.
const INPUTS: TransactionInputs = TransactionInputs::new(
    1_000,
    Currency::EUR,
    [0x25, 0x06, 0x15],
    [0x12, 0x00, 0x00],
    [0x11, 0x22, 0x33, 0x44],
    50,
    1,
);

/// Why the purchase did not complete.
#[derive(Debug)]
pub enum RunError {
    /// The CA key file was refused.
    Keys(emv_kernel::oda::CapkFileError),
    /// The kernel refused a call.
    Usage(emv_kernel::transaction::UsageError),
}

/// A card that answers from the recording, in order.
struct RecordedCard {
    lines: core::str::Lines<'static>,
}

impl RecordedCard {
    fn new() -> Self {
        Self {
            lines: TRANSCRIPT.lines(),
        }
    }

    /// The next recorded response, decoded into `out`; `None` when the
    /// recording has no more, or is not hex.
    fn respond(&mut self, out: &mut [u8]) -> Option<usize> {
        let hex = self
            .lines
            .by_ref()
            .find_map(|line| line.strip_prefix("< "))?;
        let hex = hex.trim().as_bytes();
        if hex.len() % 2 != 0 || hex.len() / 2 > out.len() {
            return None;
        }
        for (byte, pair) in out.iter_mut().zip(hex.chunks(2)) {
            let high = hex_digit(*pair.first()?)?;
            let low = hex_digit(*pair.get(1)?)?;
            *byte = (high << 4) | low;
        }
        Some(hex.len() / 2)
    }
}

fn hex_digit(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'A'..=b'F' => Some(c - b'A' + 10),
        b'a'..=b'f' => Some(c - b'a' + 10),
        _ => None,
    }
}

/// One purchase: the whole request loop a terminal writes, with the card,
/// the keys and the configuration in static or stack memory.
pub fn purchase(outcome: &mut Option<Outcome>) -> Result<(), RunError> {
    // No random source: this terminal does not encipher PINs offline. One
    // with a hardware generator passes a closure that reads it.
    let crypto = PortableCrypto::new(NoRandom);
    let mut keys: CaKeyStore<8> = CaKeyStore::empty();
    keys.load_capk_txt(&crypto, CAPK_TXT, None, |_notice| {})
        .map_err(RunError::Keys)?;
    let config = TerminalConfig::default();
    let revocations = RevocationList::new();
    let context = TerminalContext {
        config: &config,
        ca_keys: &keys,
        revocations: &revocations,
        exception_file: &[],
    };
    let mut transaction = Transaction::new(context, crypto, INPUTS).map_err(RunError::Usage)?;
    let mut card = RecordedCard::new();
    let mut response = [0u8; 258];
    loop {
        match transaction.request() {
            Request::Transmit(_command) => match card.respond(&mut response) {
                Some(n) => transaction.on_response(&response[..n]),
                None => {
                    transaction.on_transport_error();
                    Ok(())
                }
            },
            Request::ChooseApplication { .. } => transaction.on_application_chosen(Some(0)),
            Request::EnterPin { .. } => transaction.on_pin(PinEntry::PinPadNotWorking),
            Request::RecentAmount { .. } => transaction.on_recent_amount(0),
            Request::GoOnline(_) => transaction.on_host(HostResponse::UNREACHABLE),
            Request::IssuerReferral { .. } => transaction.on_referral(false),
            Request::Done(done) => {
                *outcome = Some(done.clone());
                return Ok(());
            }
        }
        .map_err(RunError::Usage)?;
    }
}

#[cfg(not(target_os = "none"))]
fn main() -> std::process::ExitCode {
    use emv_kernel::outcome::{CryptogramType, Decision, OdaResult};
    let mut outcome = None;
    if let Err(error) = purchase(&mut outcome) {
        eprintln!("error: {error:?}");
        return std::process::ExitCode::FAILURE;
    }
    let Some(outcome) = outcome else {
        return std::process::ExitCode::FAILURE;
    };
    println!(
        "decision {:?}, cryptogram {:?}, ODA {:?}, TVR {}, TSI {}, CVM results {}",
        outcome.decision,
        outcome.cryptogram_type,
        outcome.oda_result,
        outcome.tvr,
        outcome.tsi,
        outcome.cvm_results
    );
    let approved = outcome.decision == Decision::Approved
        && outcome.cryptogram_type == Some(CryptogramType::Tc)
        && outcome.oda_result == OdaResult::Succeeded;
    if approved {
        std::process::ExitCode::SUCCESS
    } else {
        std::process::ExitCode::FAILURE
    }
}

/// The firmware's entry point: run the purchase, keep its outcome alive (so
/// the linker keeps the whole kernel), then idle.
#[cfg(target_os = "none")]
#[allow(unsafe_code)]
#[no_mangle]
pub extern "C" fn _start() -> ! {
    let mut outcome = None;
    let result = purchase(&mut outcome);
    core::hint::black_box((&result, &outcome));
    loop {
        core::hint::spin_loop();
    }
}

#[cfg(target_os = "none")]
#[panic_handler]
fn panic(_info: &core::panic::PanicInfo) -> ! {
    loop {
        core::hint::spin_loop();
    }
}
