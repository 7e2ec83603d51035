//! Scenario tests: the kernel's transaction engine against the test-cards
//! profiles, in process, with the default terminal configuration of
//! `test-cards` (`PROFILES.md`): terminal type 22, capabilities E0F8C8,
//! country 0250, currency 0978, amount 10.00, floor limit 100.00.
//!
//! Each test names the profile, the expected outcome and TVR/TSI, and the
//! EMV rule it exercises.

use emv_kernel::config::{TerminalConfig, TransactionInputs};
use emv_kernel::crypto::DefaultCrypto;
use emv_kernel::driver::{self, Cardholder, Host};
use emv_kernel::oda::capk::parse_capk_line;
use emv_kernel::oda::revocation::RevokedCertificate;
use emv_kernel::oda::{CaKeyStore, RevocationList};
use emv_kernel::online::HostResponse;
use emv_kernel::outcome::{Decision, OdaMethod, OdaResult, Outcome, TerminationReason};
use emv_kernel::select::Candidate;
use emv_kernel::transaction::{PinEntry, PinKind, TerminalContext, Transaction};
use emv_kernel::transport::CardTransport;
use emv_test_cards::card::Card;
use emv_test_cards::issuer::Issuer;
use emv_test_cards::pki::CAPK_TXT;
use emv_test_cards::profiles;

fn ca_keys() -> CaKeyStore {
    let crypto = DefaultCrypto::new();
    let mut store = CaKeyStore::new();
    for line in CAPK_TXT.lines() {
        if let Some(key) = parse_capk_line(&crypto, line).expect("capk.txt parses") {
            store.insert(key).expect("fits");
        }
    }
    store
}

fn revocations() -> RevocationList {
    let mut list = RevocationList::new();
    list.insert(RevokedCertificate {
        rid: [0xA0, 0x00, 0x00, 0x09, 0x99],
        ca_index: 0x01,
        serial_number: [0x12, 0x34, 0x56],
    })
    .unwrap();
    list
}

/// A card wrapper that records every command sent, in hex.
struct Recording {
    card: Card,
    commands: Vec<String>,
}

impl CardTransport for Recording {
    type Error = <Card as CardTransport>::Error;
    fn transmit(&mut self, command: &[u8], response: &mut [u8]) -> Result<usize, Self::Error> {
        self.commands.push(hex::encode_upper(command));
        self.card.transmit(command, response)
    }
}

/// Picks the first candidate and enters the profile's PIN.
struct Person {
    pin: Vec<u8>,
    chosen: Vec<Vec<u8>>,
}

impl Cardholder for Person {
    fn choose_application(&mut self, candidates: &[Candidate], _confirm_only: bool) -> Option<usize> {
        self.chosen = candidates.iter().map(|c| c.aid.to_vec()).collect();
        Some(0)
    }
    fn enter_pin(&mut self, kind: PinKind, _tries_left: Option<u8>) -> PinEntry<'_> {
        match kind {
            PinKind::Online => PinEntry::OnlineCaptured,
            _ => PinEntry::Digits(&self.pin),
        }
    }
}

/// The test issuer: approves with ARC 00 and answers with the ARPC.
struct TestHost {
    issuer: Issuer,
    pan: Vec<u8>,
    pan_sequence: u8,
    reachable: bool,
    issuer_authentication_data: Vec<u8>,
    asked: bool,
}

fn tlv_value(data: &[u8], tag: u32) -> Option<Vec<u8>> {
    emv_kernel::tlv::find(data, emv_kernel::tlv::Tag(tag)).map(|v| v.to_vec())
}

impl Host for TestHost {
    fn authorise(&mut self, icc_data: &[u8]) -> HostResponse<'_> {
        self.asked = true;
        if !self.reachable {
            return HostResponse::UNREACHABLE;
        }
        let arqc: [u8; 8] = tlv_value(icc_data, 0x9F26).unwrap().try_into().unwrap();
        let atc = u16::from_be_bytes(tlv_value(icc_data, 0x9F36).unwrap().try_into().unwrap());
        let arc = *b"00";
        self.issuer_authentication_data = self
            .issuer
            .issuer_authentication_data(&self.pan, self.pan_sequence, atc, arqc, arc)
            .to_vec();
        HostResponse {
            reachable: true,
            approved: true,
            authorisation_response_code: arc,
            issuer_authentication_data: Some(&self.issuer_authentication_data),
            scripts: &[],
        }
    }
}

struct Run {
    outcome: Outcome,
    commands: Vec<String>,
    candidates: Vec<Vec<u8>>,
    went_online: bool,
}

fn run_with(name: &str, config: &TerminalConfig, inputs: TransactionInputs, reachable: bool) -> Run {
    let profile = profiles::find(name).unwrap_or_else(|| panic!("no profile {name}"));
    let spec = profile.spec();
    let app = spec.apps.first().expect("an application");
    let keys = ca_keys();
    let revoked = revocations();
    let context = TerminalContext {
        config,
        ca_keys: &keys,
        revocations: &revoked,
        exception_file: &[],
    };
    let mut transaction = Transaction::new(context, DefaultCrypto::new(), inputs).unwrap();
    let mut card = Recording { card: profile.card(), commands: Vec::new() };
    let mut person = Person { pin: app.pin.bytes().collect(), chosen: Vec::new() };
    let mut host = TestHost {
        issuer: Issuer::test_issuer(),
        pan: hex::decode(app.pan.trim_end_matches('F')).unwrap_or_default(),
        pan_sequence: app.pan_sequence,
        reachable,
        issuer_authentication_data: Vec::new(),
        asked: false,
    };
    let outcome = driver::run(&mut transaction, &mut card, &mut person, &mut host).unwrap();
    Run { outcome, commands: card.commands, candidates: person.chosen, went_online: host.asked }
}

fn run(name: &str) -> Run {
    run_with(name, &TerminalConfig::default(), TransactionInputs::default(), true)
}

fn tvr(outcome: &Outcome) -> String {
    hex::encode_upper(outcome.tvr.0)
}

#[test]
fn print_all_profiles() {
    for profile in profiles::all() {
        let r = run(profile.name);
        println!(
            "{:28} {:?} tvr={} tsi={} arc={:?} oda={:?}/{:?} cvm={} online={} ({} cmds) expected: {} tvr {}",
            profile.name,
            r.outcome.decision,
            tvr(&r.outcome),
            hex::encode_upper(r.outcome.tsi.0),
            r.outcome.authorisation_response_code.map(|c| String::from_utf8_lossy(&c).to_string()),
            r.outcome.oda_method,
            r.outcome.oda_result,
            hex::encode_upper(r.outcome.cvm_results),
            r.went_online,
            r.commands.len(),
            profile.expected,
            profile.tvr
        );
    }
}
