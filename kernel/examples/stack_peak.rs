//! One whole transaction against a committed transcript, for measuring the
//! kernel's RAM: its state (the `Transaction` on the stack) plus the peak
//! stack its calls use. `scripts/check-stack.sh` runs it under valgrind's
//! massif (`--stacks=yes`) in release, once per transcript and once with
//! `none` (the same program without the transaction: the baseline), and
//! reports the difference of the peaks.
//!
//! `cargo run --release -p emv-kernel --example stack_peak -- cda`

use std::hint::black_box;

use emv_kernel::config::{Currency, TerminalConfig, TransactionInputs};
use emv_kernel::crypto::{CryptoError, PortableCrypto};
use emv_kernel::oda::{CaKeyStore, RevocationList};
use emv_kernel::online::HostResponse;
use emv_kernel::outcome::Decision;
use emv_kernel::transaction::{PinEntry, PinKind, Request, TerminalContext, Transaction};

const INPUTS: TransactionInputs = TransactionInputs::new(
    1_000,
    Currency::EUR,
    [0x25, 0x06, 0x15],
    [0x12, 0x00, 0x00],
    [0x11, 0x22, 0x33, 0x44],
    50,
    1,
);

fn transcript(name: &str) -> Option<&'static str> {
    Some(match name {
        "sda" => include_str!("../benches/transcripts/sda.txt"),
        "dda" => include_str!("../benches/transcripts/dda.txt"),
        "cda" => include_str!("../benches/transcripts/cda.txt"),
        "cvm-offline-pin" => include_str!("../benches/transcripts/cvm-offline-pin.txt"),
        "issuer-scripts" => include_str!("../benches/transcripts/issuer-scripts.txt"),
        "no-oda" => include_str!("../benches/transcripts/no-oda.txt"),
        "xda" => include_str!("../benches/transcripts/xda.txt"),
        "xda-enciphered-pin" => include_str!("../benches/transcripts/xda-enciphered-pin.txt"),
        _ => return None,
    })
}

fn responses(text: &str) -> Vec<Vec<u8>> {
    text.lines()
        .filter_map(|line| line.strip_prefix("< "))
        .map(|hex_text| hex::decode(hex_text).expect("transcript hex"))
        .collect()
}

/// The portable provider with a fixed random source (PIN padding only).
type Crypto = PortableCrypto<fn(&mut [u8]) -> Result<(), CryptoError>>;

fn crypto() -> Crypto {
    PortableCrypto::new(|out: &mut [u8]| {
        out.fill(0xA5);
        Ok(())
    })
}

/// The transaction, in its own frame so that its stack use starts here.
#[inline(never)]
fn run(context: TerminalContext<'_>, responses: &[Vec<u8>], issuer_data: &[u8]) -> Decision {
    // Made in place and started there: the path README's "Embedding"
    // gives for terminals with little RAM.
    let mut transaction = Transaction::idle(context, crypto());
    transaction.start(INPUTS).expect("inputs");
    let mut next = 0;
    loop {
        let answered = match transaction.request() {
            Request::Done(outcome) => return outcome.decision,
            Request::Transmit(_) => {
                let response = responses.get(next).map_or(&[][..], Vec::as_slice);
                next += 1;
                transaction.on_response(response)
            }
            Request::ChooseApplication { .. } => transaction.on_application_chosen(Some(0)),
            Request::EnterPin {
                kind: PinKind::Online,
                ..
            } => transaction.on_pin(PinEntry::OnlineCaptured),
            Request::EnterPin { .. } => transaction.on_pin(PinEntry::Digits(&[1, 2, 3, 4])),
            Request::RecentAmount { .. } => transaction.on_recent_amount(0),
            Request::IssuerReferral { .. } => transaction.on_referral(false),
            Request::GoOnline(_) => transaction.on_host(HostResponse {
                reachable: true,
                approved: true,
                authorisation_response_code: *b"00",
                issuer_authentication_data: Some(issuer_data),
                scripts: &[],
            }),
        };
        answered.expect("the kernel accepts its own request's answer");
    }
}

fn main() {
    let name = std::env::args().nth(1).unwrap_or_else(|| "cda".to_owned());
    // Keys, configuration and card on the heap: a terminal keeps them in
    // static memory or flash, not on the transaction's stack.
    let mut keys = Box::new(CaKeyStore::new());
    keys.load_capk_txt(
        &crypto(),
        include_str!("../../test-cards/keys/capk.txt"),
        None,
        |_| {},
    )
    .expect("test CA keys");
    let mut config = Box::new(TerminalConfig::default());
    if name.starts_with("xda") {
        // EMV 4.4 XDA: the terminal supports it (9F33 byte 3 b3).
        config.terminal_capabilities[2] |= emv_kernel::config::CAPABILITY_XDA;
    }
    let revocations = Box::new(RevocationList::new());
    let context = TerminalContext {
        config: &config,
        ca_keys: &keys,
        revocations: &revocations,
        exception_file: &[],
    };
    if name == "none" {
        black_box(&context);
        println!("baseline");
        return;
    }
    let Some(text) = transcript(&name) else {
        eprintln!("unknown transcript {name}");
        std::process::exit(2);
    };
    let responses = responses(text);
    let issuer_data: Vec<u8> = text
        .lines()
        .filter_map(|line| line.strip_prefix("> "))
        .find(|command| command.starts_with("0082"))
        .and_then(|command| hex::decode(command.get(10..)?).ok())
        .unwrap_or_default();
    let decision = run(black_box(context), &responses, &issuer_data);
    println!("{name}: {decision:?}");
}
