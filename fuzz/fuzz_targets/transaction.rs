//! Fuzz target: the whole transaction state machine against a hostile card.
//!
//! Input: the first byte chooses the card and the cardholder's and host's
//! answers; the rest is the card.
//! - byte 0, bits 0-2: `0..=6` a committed transcript (`kernel/benches/transcripts`,
//!   genuine test cards; `6` the XDA card, at a terminal that claims XDA)
//!   with the rest of the input as mutations, 4 bytes each
//!   `[exchange, position high, position low, xor]` (`xor == 0` truncates the
//!   response at the position); `7` a card that is only fuzzer bytes, at a
//!   terminal that claims XDA, the rest being responses, each a 2-byte
//!   big-endian length and its bytes;
//! - bit 3: the host is reachable and approves; bit 4: the cardholder bypasses
//!   PIN entry; bit 5: the cardholder declines the application choice.
//!
//! Oracles: no panic; every request the kernel makes is one it accepts the
//! answer to (no `UsageError`); an outcome within `MAX_REQUESTS`; with the
//! default terminal action codes nothing is approved offline unless offline
//! data authentication succeeded (which fuzzer bytes can reach only by
//! replaying a genuine card's signed data, as the seeds do); a genuine card
//! with any byte of an ODA record changed is never approved offline.
#![no_main]

use std::sync::OnceLock;

use emv_kernel::config::{Currency, TerminalConfig, TransactionInputs};
use emv_kernel::crypto::{CryptoError, PortableCrypto};
use emv_kernel::initiate::afl_entries;
use emv_kernel::oda::{CaKeyStore, RevocationList};
use emv_kernel::online::HostResponse;
use emv_kernel::outcome::{Decision, OdaResult, Outcome};
use emv_kernel::tlv::{self, Tag};
use emv_kernel::transaction::{PinEntry, PinKind, Request, TerminalContext, Transaction};
use libfuzzer_sys::fuzz_target;

const TRANSCRIPTS: [&str; 7] = [
    include_str!("../../kernel/benches/transcripts/dda.txt"),
    include_str!("../../kernel/benches/transcripts/cda.txt"),
    include_str!("../../kernel/benches/transcripts/no-oda.txt"),
    include_str!("../../kernel/benches/transcripts/cvm-offline-pin.txt"),
    include_str!("../../kernel/benches/transcripts/issuer-scripts.txt"),
    include_str!("../../kernel/benches/transcripts/sda.txt"),
    include_str!("../../kernel/benches/transcripts/xda.txt"),
];

/// The transcript recorded at a terminal that claims XDA (9F33 byte 3 b3).
const XDA: usize = 6;

/// The inputs the transcripts were recorded with.
const INPUTS: TransactionInputs = TransactionInputs::new(
    1_000,
    Currency::EUR,
    [0x25, 0x06, 0x15],
    [0x12, 0x00, 0x00],
    [0x11, 0x22, 0x33, 0x44],
    50,
    1,
);

/// More requests than any run may take: the kernel's exchange bound plus the
/// cardholder and host answers.
const MAX_REQUESTS: usize = 700;

type Exchanges = Vec<(Vec<u8>, Vec<u8>)>;

fn crypto() -> PortableCrypto<fn(&mut [u8]) -> Result<(), CryptoError>> {
    PortableCrypto::new(|out: &mut [u8]| {
        out.fill(0xA5);
        Ok(())
    })
}

fn ca_keys() -> &'static CaKeyStore {
    static KEYS: OnceLock<CaKeyStore> = OnceLock::new();
    KEYS.get_or_init(|| {
        let mut store = CaKeyStore::new();
        store
            .load_capk_txt(
                &crypto(),
                include_str!("../../test-cards/keys/capk.txt"),
                None,
                |_| {},
            )
            .expect("the test CA keys load");
        store
    })
}

fn transcripts() -> &'static [Exchanges; 7] {
    static PARSED: OnceLock<[Exchanges; 7]> = OnceLock::new();
    PARSED.get_or_init(|| {
        TRANSCRIPTS.map(|text| {
            let mut pairs = Vec::new();
            let mut command = None;
            for line in text.lines() {
                if let Some(h) = line.strip_prefix("> ") {
                    command = Some(hex::decode(h).expect("hex"));
                } else if let Some(h) = line.strip_prefix("< ") {
                    pairs.push((
                        command.take().expect("command first"),
                        hex::decode(h).expect("hex"),
                    ));
                }
            }
            pairs
        })
    })
}

/// Whether exchange `index` of a genuine transcript reads a record its AFL
/// flags for offline data authentication.
fn is_oda_record(exchanges: &Exchanges, index: usize) -> bool {
    let Some(gpo) = exchanges.iter().position(|(c, _)| c.get(1) == Some(&0xA8)) else {
        return false;
    };
    if index <= gpo {
        return false;
    }
    let response = &exchanges[gpo].1;
    let gpo_data = &response[..response.len().saturating_sub(2)];
    let afl = match tlv::parse_single(gpo_data) {
        Ok(t) if t.tag == Tag(0x80) => t.value.get(2..).unwrap_or(&[]).to_vec(),
        Ok(t) => tlv::find(t.value, Tag(0x94)).unwrap_or(&[]).to_vec(),
        Err(_) => return false,
    };
    let Some(command) = exchanges.get(index).map(|e| &e.0) else {
        return false;
    };
    if command.get(1) != Some(&0xB2) {
        return false;
    }
    let (record, sfi) = (command[2], command[3] >> 3);
    let found = afl_entries(&afl)
        .any(|e| e.sfi == sfi && (e.first..=e.last).contains(&record) && e.is_oda_record(record));
    found
}

struct Flags {
    /// The terminal claims XDA (EMV 4.4, 9F33 byte 3 b3).
    xda: bool,
    host_reachable: bool,
    bypass_pin: bool,
    decline_choice: bool,
    /// The host refers the transaction (ARC 01) instead of approving it.
    referral: bool,
    /// The attendant's voice referral approves.
    referral_approved: bool,
}

fn run(flags: &Flags, mut respond: impl FnMut(usize) -> Vec<u8>) -> Outcome {
    let revocations = RevocationList::new();
    let mut config = TerminalConfig::default();
    if flags.xda {
        config.terminal_capabilities[2] |= emv_kernel::config::CAPABILITY_XDA;
    }
    let context = TerminalContext {
        config: &config,
        ca_keys: ca_keys(),
        revocations: &revocations,
        exception_file: &[],
    };
    let mut transaction = Transaction::new(context, crypto(), INPUTS).expect("valid inputs");
    let mut exchange = 0;
    for _ in 0..MAX_REQUESTS {
        let answered = match transaction.request() {
            Request::Done(outcome) => return outcome.clone(),
            Request::Transmit(_) => {
                let response = respond(exchange);
                exchange += 1;
                transaction.on_response(&response)
            }
            Request::ChooseApplication { .. } => {
                transaction.on_application_chosen((!flags.decline_choice).then_some(0))
            }
            Request::EnterPin {
                kind: PinKind::Online,
                ..
            } => transaction.on_pin(PinEntry::OnlineCaptured),
            Request::EnterPin { .. } if flags.bypass_pin => transaction.on_pin(PinEntry::Bypassed),
            Request::EnterPin { .. } => transaction.on_pin(PinEntry::Digits(&[1, 2, 3, 4])),
            Request::RecentAmount { .. } => transaction.on_recent_amount(0),
            Request::IssuerReferral { .. } => transaction.on_referral(flags.referral_approved),
            Request::GoOnline(_) => transaction.on_host(if flags.host_reachable {
                HostResponse {
                    reachable: true,
                    approved: !flags.referral,
                    authorisation_response_code: if flags.referral { *b"01" } else { *b"00" },
                    issuer_authentication_data: None,
                    scripts: &[],
                }
            } else {
                HostResponse::UNREACHABLE
            }),
        };
        answered.expect("the kernel accepts the answer to its own request");
    }
    panic!("no outcome after {MAX_REQUESTS} requests");
}

fn approved_offline(outcome: &Outcome) -> bool {
    outcome.decision == Decision::Approved && !outcome.online
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let which = usize::from(mode & 0x07);
    let flags = Flags {
        xda: which >= XDA,
        host_reachable: mode & 0x08 != 0,
        bypass_pin: mode & 0x10 != 0,
        decline_choice: mode & 0x20 != 0,
        referral: mode & 0x40 != 0,
        referral_approved: mode & 0x80 != 0,
    };
    if which >= TRANSCRIPTS.len() {
        let mut responses = Vec::new();
        let mut input = rest;
        while let [high, low, tail @ ..] = input {
            let length = (usize::from(*high) << 8 | usize::from(*low)).min(tail.len());
            let (response, next) = tail.split_at(length);
            responses.push(response.to_vec());
            input = next;
        }
        let outcome = run(&flags, |i| responses.get(i).cloned().unwrap_or_default());
        assert!(
            !approved_offline(&outcome) || outcome.oda_result == OdaResult::Succeeded,
            "approved offline without offline data authentication: {outcome:?}"
        );
        return;
    }
    let genuine = &transcripts()[which];
    let mut responses: Vec<Vec<u8>> = genuine.iter().map(|e| e.1.clone()).collect();
    for mutation in rest.chunks_exact(4) {
        let index = usize::from(mutation[0]);
        let position = usize::from(mutation[1]) << 8 | usize::from(mutation[2]);
        let Some(response) = responses.get_mut(index) else {
            continue;
        };
        let data_len = response.len().saturating_sub(2);
        if mutation[3] == 0 {
            response.truncate(position);
        } else if data_len > 0 {
            response[position % data_len] ^= mutation[3];
        }
    }
    // Compared at the end: two flips of one byte cancel out.
    let data = |response: &[u8]| response[..response.len().saturating_sub(2)].to_vec();
    let oda_record_changed = (0..genuine.len())
        .any(|i| is_oda_record(genuine, i) && data(&responses[i]) != data(&genuine[i].1));
    let outcome = run(&flags, |i| responses.get(i).cloned().unwrap_or_default());
    if oda_record_changed {
        assert!(
            !approved_offline(&outcome),
            "a changed ODA record approved offline: {outcome:?}"
        );
    }
});
