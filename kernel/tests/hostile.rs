//! Property test with a hostile card: random and mutated responses at every
//! step of real transactions.
//!
//! The card replays a recorded exchange with an `emv-test-cards` profile
//! (the transcripts of `kernel/benches/transcripts`), with one response
//! mutated (a flipped byte, a truncation, a new status word, or random
//! bytes), or with every response replaced by random bytes. Properties:
//! - no panic, and every run ends with an outcome within a bounded number of
//!   requests;
//! - when a byte of a record flagged for offline data authentication was
//!   changed, the transaction is never approved offline.

mod inputs;

use emv_kernel::config::TerminalConfig;
use emv_kernel::crypto::{CryptoError, PortableCrypto};
use emv_kernel::initiate::afl_entries;
use emv_kernel::oda::capk::parse_capk_line;
use emv_kernel::oda::{CaKeyStore, RevocationList};
use emv_kernel::online::HostResponse;
use emv_kernel::outcome::{Decision, OdaResult, Outcome};
use emv_kernel::tlv::{self, Tag};
use emv_kernel::transaction::{PinEntry, PinKind, Request, TerminalContext, Transaction};
use inputs::TEST_INPUTS;
use proptest::prelude::*;
use std::sync::OnceLock;

/// The default provider with a fixed random source (PIN padding in tests only).
type TestCrypto = PortableCrypto<fn(&mut [u8]) -> Result<(), CryptoError>>;

fn test_crypto() -> TestCrypto {
    PortableCrypto::new(|out: &mut [u8]| {
        out.fill(0xA5);
        Ok(())
    })
}

const TRANSCRIPTS: [&str; 8] = [
    include_str!("../benches/transcripts/dda.txt"),
    include_str!("../benches/transcripts/cda.txt"),
    include_str!("../benches/transcripts/no-oda.txt"),
    include_str!("../benches/transcripts/cvm-offline-pin.txt"),
    include_str!("../benches/transcripts/issuer-scripts.txt"),
    include_str!("../benches/transcripts/sda.txt"),
    include_str!("../benches/transcripts/xda.txt"),
    include_str!("../benches/transcripts/xda-enciphered-pin.txt"),
];

/// More requests than any run may take: the kernel's exchange bound plus the
/// cardholder and host answers.
const MAX_REQUESTS: usize = 700;

type Exchanges = Vec<(Vec<u8>, Vec<u8>)>;

fn transcript(text: &str) -> Exchanges {
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

fn ca_keys() -> &'static CaKeyStore {
    static KEYS: OnceLock<CaKeyStore> = OnceLock::new();
    KEYS.get_or_init(|| {
        let crypto = test_crypto();
        let mut store = CaKeyStore::new();
        for line in include_str!("../../test-cards/keys/capk.txt").lines() {
            if let Some(key) = parse_capk_line(&crypto, line).unwrap() {
                store.insert(key).unwrap();
            }
        }
        store
    })
}

/// Whether exchange `index` reads a record the AFL flags for ODA.
fn is_oda_record(exchanges: &Exchanges, index: usize) -> bool {
    let Some(gpo) = exchanges.iter().position(|(c, _)| c.get(1) == Some(&0xA8)) else {
        return false;
    };
    if index <= gpo {
        return false;
    }
    let (gpo_data, _) = exchanges[gpo].1.split_at(exchanges[gpo].1.len() - 2);
    let afl = match tlv::parse_single(gpo_data) {
        Ok(t) if t.tag == Tag(0x80) => t.value.get(2..).unwrap_or(&[]).to_vec(),
        Ok(t) => tlv::find(t.value, Tag(0x94)).unwrap_or(&[]).to_vec(),
        Err(_) => return false,
    };
    let command = &exchanges[index].0;
    if command.get(1) != Some(&0xB2) {
        return false;
    }
    let (record, sfi) = (command[2], command[3] >> 3);
    let found = afl_entries(&afl)
        .any(|e| e.sfi == sfi && (e.first..=e.last).contains(&record) && e.is_oda_record(record));
    found
}

#[derive(Clone, Debug)]
enum Mutation {
    /// XOR one data byte (position modulo the data length) with a non-zero value.
    Flip { position: usize, xor: u8 },
    /// Keep only the first bytes.
    Truncate { keep: usize },
    /// Replace the status word.
    Status { sw: [u8; 2] },
    /// Replace the whole response.
    Random { bytes: Vec<u8> },
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<usize>(), 1u8..=255).prop_map(|(position, xor)| Mutation::Flip { position, xor }),
        (0usize..300).prop_map(|keep| Mutation::Truncate { keep }),
        any::<[u8; 2]>().prop_map(|sw| Mutation::Status { sw }),
        proptest::collection::vec(any::<u8>(), 0..260).prop_map(|bytes| Mutation::Random { bytes }),
    ]
}

/// Applies the mutation; returns the new response and whether data bytes changed.
fn mutate(response: &[u8], mutation: &Mutation) -> (Vec<u8>, bool) {
    let data_len = response.len().saturating_sub(2);
    match mutation {
        Mutation::Flip { position, xor } if data_len > 0 => {
            let mut out = response.to_vec();
            out[position % data_len] ^= xor;
            (out, true)
        }
        Mutation::Flip { .. } => (response.to_vec(), false),
        Mutation::Truncate { keep } => (response[..(*keep).min(response.len())].to_vec(), false),
        Mutation::Status { sw } => {
            let mut out = response.to_vec();
            if out.len() >= 2 {
                let n = out.len();
                out[n - 2..].copy_from_slice(sw);
            }
            (out, false)
        }
        Mutation::Random { bytes } => (bytes.clone(), false),
    }
}

/// The terminal a transcript was recorded with: the default, or with XDA
/// (9F33 byte 3 b3) for the XDA card. 9F33 is in the cards' PDOL, so a CDA
/// card's signature holds only with the terminal it was recorded with.
fn config_for(text: &str) -> TerminalConfig {
    let mut config = TerminalConfig::default();
    if text.starts_with("# xda") {
        config.terminal_capabilities[2] |= emv_kernel::config::CAPABILITY_XDA;
    }
    config
}

/// A terminal that claims XDA: random cards offering it (AIP byte 1 b8) meet
/// the ECC checks too.
fn xda_config() -> TerminalConfig {
    config_for("# xda")
}

/// Runs one transaction against `respond`, the hostile card.
fn run(
    config: &TerminalConfig,
    mut respond: impl FnMut(usize, &[u8]) -> Vec<u8>,
    host_reachable: bool,
    issuer_authentication_data: &[u8],
) -> Outcome {
    let revocations = RevocationList::new();
    let context = TerminalContext {
        config,
        ca_keys: ca_keys(),
        revocations: &revocations,
        exception_file: &[],
    };
    let mut transaction = Transaction::new(context, test_crypto(), TEST_INPUTS).unwrap();
    let mut exchange = 0;
    for _ in 0..MAX_REQUESTS {
        match transaction.request() {
            Request::Done(outcome) => return outcome.clone(),
            Request::Transmit(command) => {
                let response = respond(exchange, command);
                exchange += 1;
                transaction.on_response(&response).unwrap();
            }
            Request::ChooseApplication { .. } => {
                transaction.on_application_chosen(Some(0)).unwrap()
            }
            Request::EnterPin {
                kind: PinKind::Online,
                ..
            } => transaction.on_pin(PinEntry::OnlineCaptured).unwrap(),
            Request::EnterPin { .. } => {
                transaction.on_pin(PinEntry::Digits(&[1, 2, 3, 4])).unwrap()
            }
            Request::RecentAmount { .. } => transaction.on_recent_amount(0).unwrap(),
            Request::IssuerReferral { .. } => transaction.on_referral(false).unwrap(),
            Request::GoOnline(_) => {
                let answer = if host_reachable {
                    HostResponse {
                        reachable: true,
                        approved: true,
                        authorisation_response_code: *b"00",
                        issuer_authentication_data: Some(issuer_authentication_data),
                        scripts: &[],
                    }
                } else {
                    HostResponse::UNREACHABLE
                };
                transaction.on_host(answer).unwrap();
            }
        }
    }
    panic!("no outcome after {MAX_REQUESTS} requests");
}

fn approved_offline(outcome: &Outcome) -> bool {
    outcome.decision == Decision::Approved && !outcome.online
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// One response of a real transaction mutated.
    #[test]
    fn one_mutated_response(which in 0usize..TRANSCRIPTS.len(), at in any::<usize>(), mutation in mutation(), reachable in any::<bool>()) {
        let exchanges = transcript(TRANSCRIPTS[which]);
        let config = config_for(TRANSCRIPTS[which]);
        let at = at % exchanges.len();
        let tampered_oda = is_oda_record(&exchanges, at);
        let mut changed_data = false;
        let issuer_data: Vec<u8> = exchanges.iter().find(|(c, _)| c.starts_with(&[0x00, 0x82])).map(|(c, _)| c[5..].to_vec()).unwrap_or_default();
        let outcome = run(
            &config,
            |index, _command| match exchanges.get(index) {
                Some((_, response)) if index == at => {
                    let (out, changed) = mutate(response, &mutation);
                    changed_data = changed;
                    out
                }
                Some((_, response)) => response.clone(),
                None => vec![0x6F, 0x00],
            },
            reachable,
            &issuer_data,
        );
        if tampered_oda && changed_data {
            prop_assert!(!approved_offline(&outcome), "tampered ODA record approved offline: {:?}", outcome);
        }
    }

    /// Several responses of a real transaction mutated at once.
    #[test]
    fn many_mutated_responses(which in 0usize..TRANSCRIPTS.len(), mutations in proptest::collection::vec(proptest::option::weighted(0.3, mutation()), 40), reachable in any::<bool>()) {
        let exchanges = transcript(TRANSCRIPTS[which]);
        let config = config_for(TRANSCRIPTS[which]);
        let issuer_data: Vec<u8> = exchanges.iter().find(|(c, _)| c.starts_with(&[0x00, 0x82])).map(|(c, _)| c[5..].to_vec()).unwrap_or_default();
        let mut tampered_oda = false;
        let outcome = run(
            &config,
            |index, _command| {
                let response = exchanges.get(index).map(|e| e.1.clone()).unwrap_or_else(|| vec![0x6F, 0x00]);
                match mutations.get(index).and_then(Option::as_ref) {
                    Some(mutation) => {
                        let (out, changed) = mutate(&response, mutation);
                        tampered_oda |= changed && is_oda_record(&exchanges, index);
                        out
                    }
                    None => response,
                }
            },
            reachable,
            &issuer_data,
        );
        if tampered_oda {
            prop_assert!(!approved_offline(&outcome), "tampered ODA record approved offline: {:?}", outcome);
        }
    }

    /// Every response random (a card that sends garbage).
    #[test]
    fn random_card(responses in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..260), 1..40), reachable in any::<bool>()) {
        let outcome = run(
            &xda_config(),
            |index, _command| responses.get(index).cloned().unwrap_or_else(|| vec![0x90, 0x00]),
            reachable,
            &[],
        );
        // Random data never passes offline data authentication, so the
        // kernel never approves offline.
        prop_assert!(!approved_offline(&outcome), "{:?}", outcome);
    }

    /// Valid-looking status with random TLV data at every step: the kernel
    /// still ends.
    #[test]
    fn random_tlv_card(responses in proptest::collection::vec((any::<u8>(), proptest::collection::vec(any::<u8>(), 0..200)), 1..40)) {
        let outcome = run(
            &xda_config(),
            |index, _command| match responses.get(index) {
                Some((tag, value)) => {
                    let mut out = vec![*tag, value.len().min(127) as u8];
                    out.extend_from_slice(&value[..value.len().min(127)]);
                    out.extend_from_slice(&[0x90, 0x00]);
                    out
                }
                None => vec![0x6A, 0x82],
            },
            true,
            &[],
        );
        prop_assert!(!approved_offline(&outcome), "{:?}", outcome);
    }
}

#[test]
fn unmutated_transcripts_replay_to_approval() {
    for text in TRANSCRIPTS {
        let exchanges = transcript(text);
        let issuer_data: Vec<u8> = exchanges
            .iter()
            .find(|(c, _)| c.starts_with(&[0x00, 0x82]))
            .map(|(c, _)| c[5..].to_vec())
            .unwrap_or_default();
        let outcome = run(
            &config_for(text),
            |index, _| {
                exchanges
                    .get(index)
                    .map(|e| e.1.clone())
                    .unwrap_or_default()
            },
            true,
            &issuer_data,
        );
        assert_eq!(outcome.decision, Decision::Approved);
    }
}

#[test]
fn oda_records_are_found_in_transcripts() {
    let exchanges = transcript(TRANSCRIPTS[0]);
    assert!((0..exchanges.len()).any(|i| is_oda_record(&exchanges, i)));
}

/// The property is not vacuous: untouched, the DDA, CDA, offline-PIN (SDA),
/// SDA and XDA transcripts approve offline with ODA succeeded; with any single
/// byte of any ODA record flipped, they never do.
#[test]
fn every_flipped_oda_byte_prevents_offline_approval() {
    for text in [
        TRANSCRIPTS[0],
        TRANSCRIPTS[1],
        TRANSCRIPTS[3],
        TRANSCRIPTS[5],
        TRANSCRIPTS[6],
    ] {
        let exchanges = transcript(text);
        let config = config_for(text);
        let clean = run(
            &config,
            |i, _| exchanges.get(i).map(|e| e.1.clone()).unwrap_or_default(),
            false,
            &[],
        );
        assert!(
            approved_offline(&clean),
            "{}",
            text.lines().next().unwrap_or("")
        );
        assert_eq!(
            clean.oda_result,
            OdaResult::Succeeded,
            "{}",
            text.lines().next().unwrap_or("")
        );
        let mut checked = 0;
        for at in (0..exchanges.len()).filter(|i| is_oda_record(&exchanges, *i)) {
            let data_len = exchanges[at].1.len() - 2;
            for position in (0..data_len).step_by(7) {
                let outcome = run(
                    &config,
                    |i, _| {
                        let mut response =
                            exchanges.get(i).map(|e| e.1.clone()).unwrap_or_default();
                        if i == at {
                            response[position] ^= 0x01;
                        }
                        response
                    },
                    false,
                    &[],
                );
                assert!(
                    !approved_offline(&outcome),
                    "exchange {at} byte {position}: {:?}",
                    outcome.decision
                );
                checked += 1;
            }
        }
        assert!(checked > 20);
    }
}
