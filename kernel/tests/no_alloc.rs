//! A whole transaction allocates nothing inside the kernel.
//!
//! A counting global allocator counts allocations made on this thread while
//! a kernel call runs (creating the transaction, `request`, `on_response`,
//! `on_pin`, `on_host`); the card replay, parsing the transcript and the
//! test's own bookkeeping run with counting off. The transcripts are real
//! exchanges with the `emv-test-cards` profiles (written by
//! `tests/tests/scenario_profiles.rs::write_transcripts`).

mod inputs;

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use emv_kernel::config::TerminalConfig;
use emv_kernel::crypto::{CryptoError, PortableCrypto};
use emv_kernel::oda::capk::parse_capk_line;
use emv_kernel::oda::{CaKeyStore, RevocationList};
use emv_kernel::online::HostResponse;
use emv_kernel::outcome::Decision;
use emv_kernel::transaction::{PinEntry, PinKind, Request, TerminalContext, Transaction};
use inputs::TEST_INPUTS;

/// The default provider with a fixed random source (PIN padding in tests only).
type TestCrypto = PortableCrypto<fn(&mut [u8]) -> Result<(), CryptoError>>;

fn test_crypto() -> TestCrypto {
    PortableCrypto::new(|out: &mut [u8]| {
        out.fill(0xA5);
        Ok(())
    })
}

struct Counting;

thread_local! {
    static COUNTING: Cell<bool> = const { Cell::new(false) };
    static ALLOCATIONS: Cell<usize> = const { Cell::new(0) };
}

fn count() {
    if COUNTING.with(Cell::get) {
        ALLOCATIONS.with(|a| a.set(a.get() + 1));
    }
}

fn allocations() -> usize {
    ALLOCATIONS.with(Cell::get)
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count();
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count();
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Runs `f` with allocation counting on for this thread.
fn kernel<T>(f: impl FnOnce() -> T) -> T {
    COUNTING.with(|c| c.set(true));
    let result = f();
    COUNTING.with(|c| c.set(false));
    result
}

fn ca_keys() -> CaKeyStore {
    let crypto = test_crypto();
    let mut store = CaKeyStore::new();
    for line in include_str!("../../test-cards/keys/capk.txt").lines() {
        if let Some(key) = parse_capk_line(&crypto, line).unwrap() {
            store.insert(key).unwrap();
        }
    }
    store
}

/// (command, response) pairs of a transcript.
fn transcript(text: &str) -> Vec<(Vec<u8>, Vec<u8>)> {
    let mut pairs = Vec::new();
    let mut command = None;
    for line in text.lines() {
        if let Some(hex_text) = line.strip_prefix("> ") {
            command = Some(hex::decode(hex_text).unwrap());
        } else if let Some(hex_text) = line.strip_prefix("< ") {
            pairs.push((command.take().unwrap(), hex::decode(hex_text).unwrap()));
        }
    }
    pairs
}

fn run_without_allocating(text: &str, config: &TerminalConfig) -> Decision {
    let exchanges = transcript(text);
    let issuer_authentication_data: Vec<u8> = exchanges
        .iter()
        .find(|(c, _)| c.starts_with(&[0x00, 0x82]))
        .map(|(c, _)| c[5..].to_vec())
        .unwrap_or_default();
    let keys = ca_keys();
    let revocations = RevocationList::new();
    let context = TerminalContext {
        config,
        ca_keys: &keys,
        revocations: &revocations,
        exception_file: &[],
    };
    let pin = [1u8, 2, 3, 4];
    ALLOCATIONS.with(|a| a.set(0));
    let mut transaction = kernel(|| Transaction::new(context, test_crypto(), TEST_INPUTS)).unwrap();
    let mut next = 0;
    let decision = loop {
        // A copy on the stack: boxing it would allocate inside the counted region.
        #[allow(clippy::large_enum_variant)]
        enum Step {
            Send([u8; 261], usize),
            Choose,
            Pin(PinKind),
            RecentAmount,
            Online,
            Referral,
            Done(Decision),
        }
        let step = kernel(|| match transaction.request() {
            Request::Transmit(command) => {
                let mut copy = [0u8; 261];
                let length = command.len().min(261);
                copy[..length].copy_from_slice(&command[..length]);
                Step::Send(copy, length)
            }
            Request::ChooseApplication { .. } => Step::Choose,
            Request::EnterPin { kind, .. } => Step::Pin(kind),
            Request::RecentAmount { .. } => Step::RecentAmount,
            Request::GoOnline(_) => Step::Online,
            Request::IssuerReferral { .. } => Step::Referral,
            Request::Done(outcome) => Step::Done(outcome.decision),
        });
        match step {
            Step::Send(command, length) => {
                let (expected, response) = &exchanges[next];
                assert_eq!(&command[..length], expected.as_slice(), "exchange {next}");
                next += 1;
                kernel(|| transaction.on_response(response)).unwrap();
            }
            Step::Referral => kernel(|| transaction.on_referral(false)).unwrap(),
            Step::Choose => kernel(|| transaction.on_application_chosen(Some(0))).unwrap(),
            Step::Pin(PinKind::Online) => {
                kernel(|| transaction.on_pin(PinEntry::OnlineCaptured)).unwrap()
            }
            Step::Pin(_) => kernel(|| transaction.on_pin(PinEntry::Digits(&pin))).unwrap(),
            Step::RecentAmount => kernel(|| transaction.on_recent_amount(0)).unwrap(),
            Step::Online => kernel(|| {
                transaction.on_host(HostResponse {
                    reachable: true,
                    approved: true,
                    authorisation_response_code: *b"00",
                    issuer_authentication_data: (!issuer_authentication_data.is_empty())
                        .then_some(issuer_authentication_data.as_slice()),
                    scripts: &[],
                })
            })
            .unwrap(),
            Step::Done(decision) => break decision,
        }
    };
    assert_eq!(next, exchanges.len(), "every recorded exchange replayed");
    decision
}

#[test]
fn whole_transactions_allocate_nothing_in_the_kernel() {
    for (name, text, expected) in [
        (
            "sda",
            include_str!("../benches/transcripts/sda.txt"),
            Decision::Approved,
        ),
        (
            "dda",
            include_str!("../benches/transcripts/dda.txt"),
            Decision::Approved,
        ),
        (
            "cda",
            include_str!("../benches/transcripts/cda.txt"),
            Decision::Approved,
        ),
        (
            "no-oda",
            include_str!("../benches/transcripts/no-oda.txt"),
            Decision::Approved,
        ),
        (
            "cvm-offline-pin",
            include_str!("../benches/transcripts/cvm-offline-pin.txt"),
            Decision::Approved,
        ),
        (
            "issuer-scripts",
            include_str!("../benches/transcripts/issuer-scripts.txt"),
            Decision::Approved,
        ),
    ] {
        let decision = run_without_allocating(text, &TerminalConfig::default());
        assert_eq!(decision, expected, "{name}");
        assert_eq!(allocations(), 0, "{name}: kernel allocated");
    }
}

/// XDA (EMV 4.4, P-256 EC-SDSA through the ECC chain and GENERATE AC), at a
/// terminal that claims it: no allocation either.
#[test]
fn an_xda_transaction_allocates_nothing_in_the_kernel() {
    let mut config = TerminalConfig::default();
    config.terminal_capabilities[2] |= emv_kernel::config::CAPABILITY_XDA;
    let decision = run_without_allocating(include_str!("../benches/transcripts/xda.txt"), &config);
    assert_eq!(decision, Decision::Approved);
    assert_eq!(allocations(), 0, "xda: kernel allocated");
}

/// ECC offline PIN encipherment (EMV 4.4 Book 2, 13: ECDH, AES-CMAC key
/// derivation, AES-CTR and the MAC) on an XDA card: no allocation either.
#[test]
fn an_ecc_enciphered_pin_allocates_nothing_in_the_kernel() {
    let mut config = TerminalConfig::default();
    config.terminal_capabilities[2] |= emv_kernel::config::CAPABILITY_XDA;
    let decision = run_without_allocating(
        include_str!("../benches/transcripts/xda-enciphered-pin.txt"),
        &config,
    );
    assert_eq!(decision, Decision::Approved);
    assert_eq!(allocations(), 0, "xda-enciphered-pin: kernel allocated");
}

#[test]
fn the_counter_counts() {
    ALLOCATIONS.with(|a| a.set(0));
    let v = kernel(|| vec![1u8; 10]);
    // This test shares the counter; it only checks that counting works.
    assert!(allocations() >= 1 && v.len() == 10);
}
