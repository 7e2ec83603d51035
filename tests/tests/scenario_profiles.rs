//! Scenario tests: the kernel's transaction engine against the test-cards
//! profiles, in process, with the default terminal configuration of
//! `test-cards` (`PROFILES.md`): terminal type 22, capabilities E0F8C8,
//! country 0250, currency 0978, amount 10.00, floor limit 100.00.
//!
//! Each test names the profile, the expected outcome and TVR/TSI, and the
//! EMV rule it exercises. The exact outcome, TVR, TSI, CVM Results, ARC,
//! cryptograms and APDU sequence of every profile are asserted in one table
//! in `scenario_every_profile.rs`; the tests here look closer at single paths.

use emv_kernel::config::{TerminalConfig, TransactionInputs};
use emv_kernel::crypto::{CryptoError, PortableCrypto, RingCrypto};
use emv_kernel::driver::{self, Cardholder, Host};
use emv_kernel::online::HostResponse;
use emv_kernel::outcome::{Decision, OdaMethod, OdaResult, Outcome, TerminationReason};
use emv_kernel::select::Candidate;
use emv_kernel::transaction::{PinEntry, PinKind, TerminalContext, Transaction};
use emv_kernel::transport::CardTransport;
use emv_test_cards::card::Card;
use emv_test_cards::issuer::Issuer;
use emv_test_cards::profiles;
use emv_test_cards::TEST_INPUTS;

/// A card wrapper that records every command sent, in hex.
struct Recording {
    card: Card,
    commands: Vec<String>,
}

impl CardTransport for Recording {
    type Error = <Card as CardTransport>::Error;
    fn transmit(&mut self, command: &[u8], response: &mut [u8]) -> Result<usize, Self::Error> {
        self.commands.push(hex::encode_upper(command));
        let n = self.card.transmit(command, response)?;
        if std::env::var("SCENARIO_TRACE").is_ok() {
            println!(
                "  > {}\n  < {}",
                hex::encode_upper(command),
                hex::encode_upper(&response[..n])
            );
        }
        Ok(n)
    }
}

/// Picks the first candidate and enters the profile's PIN.
struct Person {
    pin: Vec<u8>,
    chosen: Vec<Vec<u8>>,
}

impl Cardholder for Person {
    fn choose_application(
        &mut self,
        candidates: &[Candidate],
        _confirm_only: bool,
    ) -> Option<usize> {
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
/// Issuer scripts for the test host: each template (71 or 72) with its
/// commands' headers and whether each MAC is good.
type ScriptPlan = Vec<(u32, Vec<([u8; 4], bool)>)>;

struct TestHost {
    issuer: Issuer,
    pan: Vec<u8>,
    pan_sequence: u8,
    reachable: bool,
    issuer_authentication_data: Vec<u8>,
    asked: bool,
    /// Scripts: the template (71 or 72) and its commands, each with whether
    /// its MAC is good. A template without commands is sent malformed (its
    /// 86 claims more bytes than it has), as a host's garbled script.
    script_plan: ScriptPlan,
    scripts: Vec<u8>,
    /// Send Issuer Authentication Data whose ARPC does not verify (the
    /// issuer approves, the card's EXTERNAL AUTHENTICATE fails).
    bad_arpc: bool,
}

fn encode(tag: u32, value: &[u8]) -> Vec<u8> {
    let mut buf = vec![0u8; value.len() + 8];
    let mut writer = emv_kernel::tlv::Writer::new(&mut buf);
    writer.push(emv_kernel::tlv::Tag(tag), value).unwrap();
    writer.as_bytes().to_vec()
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
        if self.bad_arpc {
            if let Some(first) = self.issuer_authentication_data.first_mut() {
                *first ^= 0xFF;
            }
        }
        self.scripts.clear();
        for (i, (template, commands)) in self.script_plan.iter().enumerate() {
            let mut body = encode(0x9F18, &[0x00, 0x00, 0x00, i as u8 + 1]);
            if commands.is_empty() {
                body.extend([0x86, 0x05, 0x84]);
            }
            for (header, good_mac) in commands {
                let mut command = self.issuer.script_command(
                    &self.pan,
                    self.pan_sequence,
                    atc,
                    arqc,
                    *header,
                    &[],
                );
                if !good_mac {
                    *command.last_mut().unwrap() ^= 0xFF;
                }
                body.extend(encode(0x86, &command));
            }
            self.scripts.extend(encode(*template, &body));
        }
        HostResponse {
            reachable: true,
            approved: true,
            authorisation_response_code: arc,
            issuer_authentication_data: Some(&self.issuer_authentication_data),
            scripts: &self.scripts,
        }
    }
}

struct Run {
    outcome: Outcome,
    commands: Vec<String>,
    candidates: Vec<Vec<u8>>,
    went_online: bool,
    /// The card's PAN (5A) as the host keyed its cryptograms with it.
    pan: Vec<u8>,
}

fn run_with(
    name: &str,
    config: &TerminalConfig,
    inputs: TransactionInputs,
    reachable: bool,
) -> Run {
    run_with_scripts(name, config, inputs, reachable, Vec::new())
}

fn run_with_scripts(
    name: &str,
    config: &TerminalConfig,
    inputs: TransactionInputs,
    reachable: bool,
    script_plan: ScriptPlan,
) -> Run {
    run_with_host(name, config, inputs, reachable, script_plan, false)
}

fn run_with_host(
    name: &str,
    config: &TerminalConfig,
    inputs: TransactionInputs,
    reachable: bool,
    script_plan: ScriptPlan,
    bad_arpc: bool,
) -> Run {
    let profile = profiles::find(name).unwrap_or_else(|| panic!("no profile {name}"));
    let spec = profile.spec();
    let app = spec.apps.first().expect("an application");
    let keys = emv_test_cards::pki::ca_key_store();
    let revoked = emv_test_cards::pki::revocation_list();
    let context = TerminalContext {
        config,
        ca_keys: &keys,
        revocations: &revoked,
        exception_file: &[],
    };
    // The random source is a fixed pattern, as in the kernel's replays of
    // the bench transcripts, so that an enciphered PIN's VERIFY data (RSA
    // padding, an ECC ephemeral key) are the same in every run.
    let crypto = PortableCrypto::new(
        (|out: &mut [u8]| {
            out.fill(0xA5);
            Ok(())
        }) as fn(&mut [u8]) -> Result<(), CryptoError>,
    );
    let mut transaction = Transaction::new(context, crypto, inputs).unwrap();
    let mut card = Recording {
        card: profile.card(),
        commands: Vec::new(),
    };
    let mut person = Person {
        pin: app.pin.bytes().collect(),
        chosen: Vec::new(),
    };
    let mut host = TestHost {
        issuer: Issuer::test_issuer(),
        pan: hex::decode(app.pan.trim_end_matches('F')).unwrap_or_default(),
        pan_sequence: app.pan_sequence,
        reachable,
        issuer_authentication_data: Vec::new(),
        asked: false,
        script_plan,
        scripts: Vec::new(),
        bad_arpc,
    };
    let outcome = driver::run(&mut transaction, &mut card, &mut person, &mut host).unwrap();
    Run {
        outcome,
        commands: card.commands,
        candidates: person.chosen,
        went_online: host.asked,
        pan: host.pan,
    }
}

fn run(name: &str) -> Run {
    run_with(name, &TerminalConfig::default(), TEST_INPUTS, true)
}

fn tvr(outcome: &Outcome) -> String {
    hex::encode_upper(outcome.tvr.0)
}

/// Diagnostic: one line per profile with what the kernel ends with.
/// `cargo test -p emv-integration-tests --test scenario_profiles -- --ignored print_all_profiles --nocapture`.
#[test]
#[ignore = "diagnostic printout, asserts nothing"]
fn print_all_profiles() {
    for profile in profiles::all() {
        let r = run(profile.name);
        println!(
            "{:28} {:?} tvr={} tsi={} arc={:?} oda={:?}/{:?} {:?} cvm={} online={} ({} cmds) expected: {} tvr {}\n   {}",
            profile.name,
            r.outcome.decision,
            tvr(&r.outcome),
            hex::encode_upper(r.outcome.tsi.0),
            r.outcome.authorisation_response_code.map(|c| String::from_utf8_lossy(&c).to_string()),
            r.outcome.oda_method,
            r.outcome.oda_result,
            r.outcome.oda_failure,
            hex::encode_upper(r.outcome.cvm_results),
            r.went_online,
            r.commands.len(),
            profile.expected,
            profile.tvr,
            r.commands.last().cloned().unwrap_or_default()
        );
    }
}

/// Diagnostic: `SCENARIO_TRACE=<profile> cargo test ... -- --ignored trace_one --nocapture`
/// prints every exchange and the outcome of one profile.
#[test]
#[ignore = "diagnostic printout, asserts nothing"]
fn trace_one() {
    if let Ok(name) = std::env::var("SCENARIO_TRACE") {
        let r = run(&name);
        println!("{:?}", r.outcome);
    }
}

fn assert_outcome(r: &Run, decision: Decision, tvr_hex: &str, tsi_hex: &str, arc: &[u8; 2]) {
    assert_eq!(r.outcome.decision, decision, "{:?}", r.outcome);
    assert_eq!(tvr(&r.outcome), tvr_hex, "TVR");
    assert_eq!(hex::encode_upper(r.outcome.tsi.0), tsi_hex, "TSI");
    assert_eq!(r.outcome.authorisation_response_code, Some(*arc), "ARC");
}

/// Profile `dda`: PSE, DDA with the card's DDOL, velocity GET DATA, TC
/// offline (Book 3, 10.3 / Book 2, 6.5). TVR clean; TSI ODA, CVM, card and
/// terminal risk management performed (E8).
#[test]
fn dda_approves_offline_with_exact_apdus() {
    let r = run("dda");
    assert_outcome(&r, Decision::Approved, "0000000000", "E800", b"Y1");
    assert_eq!(
        (r.outcome.oda_method, r.outcome.oda_result),
        (OdaMethod::Dda, OdaResult::Succeeded)
    );
    assert_eq!(
        r.commands,
        [
            "00A404000E315041592E5359532E444446303100",
            "00B2010C00",
            "00B2020C00",
            "00A4040007A000000999101000",
            "80A800000783050250E0F8C800",
            "00B2010C00",
            "00B2020C00",
            "00B2011400",
            "00B2021400",
            "00B2031400",
            "00880000041122334400",
            "80CA9F3600",
            "80CA9F1300",
            "80AE4000210000000010000000000000000250000000000009782506150011223344225E030000",
        ]
    );
    assert_eq!(
        r.outcome.aid.as_slice(),
        [0xA0, 0x00, 0x00, 0x09, 0x99, 0x10, 0x10]
    );
    assert_eq!(r.outcome.masked_pan.as_slice(), b"679999******0219");
    assert!(
        emv_kernel::tlv::find(&r.outcome.clearing_data, emv_kernel::tlv::Tag(0x9F26)).is_some()
    );
}

/// Profile `cda`: GENERATE AC with P1 50 (TC + CDA); the signature verifies
/// (Book 2, 6.6.2): approved offline.
#[test]
fn cda_approves_offline() {
    let r = run("cda");
    assert_outcome(&r, Decision::Approved, "0000000000", "E800", b"Y1");
    assert!(r.commands.last().unwrap().starts_with("80AE5000"));
    assert_eq!(r.outcome.oda_result, OdaResult::Succeeded);
    assert!(r.outcome.cryptogram.is_some());
}

/// Profile `cda-bad-signature`: CDA fails on the TC: TVR CDA failed, the
/// terminal treats the TC as an AAC (Book 2, 6.6.2): declined, Z1.
#[test]
fn cda_failure_on_tc_declines() {
    let r = run("cda-bad-signature");
    assert_outcome(&r, Decision::Declined, "0400000000", "E800", b"Z1");
}

/// Profile `issuer-scripts` (CDA card that answers ARQC): online, the ARPC
/// from the test Issuer verifies in EXTERNAL AUTHENTICATE, second GENERATE AC
/// TC: approved online with the host's ARC; TSI issuer authentication
/// performed (F8).
#[test]
fn online_approval_with_issuer_authentication() {
    let r = run("issuer-scripts");
    assert!(r.went_online);
    assert_outcome(&r, Decision::Approved, "0000000000", "F800", b"00");
    assert!(r.outcome.online);
    assert!(r.commands.iter().any(|c| c.starts_with("008200000A")));
}

/// Profile `no-oda`: no common ODA method: TVR "ODA not performed" matches
/// TAC-Online: ARQC; the host is unreachable: default action codes give
/// AAC with Z3 (Book 3, 10.7) since TAC-Default has byte 1 b8.
#[test]
fn no_oda_goes_online_and_unreachable_host_declines_z3() {
    let r = run("no-oda");
    assert_outcome(&r, Decision::Approved, "8000000000", "6800", b"00");
    let r = run_with("no-oda", &TerminalConfig::default(), TEST_INPUTS, false);
    assert_outcome(&r, Decision::Declined, "8000000000", "6800", b"Z3");
    assert!(!r.outcome.online);
}

/// Profile `card-blocked`: SELECT PSE answers 6A81: terminate (Book 1, 12.3.2).
#[test]
fn card_blocked_terminates() {
    let r = run("card-blocked");
    assert_eq!(
        r.outcome.decision,
        Decision::Terminated(TerminationReason::CardBlocked)
    );
    assert_eq!(r.commands.len(), 1);
}

/// Profile `app-blocked`: the only application answers 6283: not a candidate.
#[test]
fn blocked_application_is_not_selected() {
    let r = run("app-blocked");
    assert_eq!(
        r.outcome.decision,
        Decision::Terminated(TerminationReason::NoApplication)
    );
}

/// Profile `multi-app-pse`: the candidates are offered in priority order
/// (Book 1, 12.4): debit (1), credit (2), prepaid (3).
#[test]
fn pse_candidates_in_priority_order() {
    let r = run("multi-app-pse");
    let ids: Vec<u8> = r.candidates.iter().map(|aid| aid[5]).collect();
    assert_eq!(ids, [0x20, 0x10, 0x30]);
    assert_eq!(r.outcome.aid.as_slice()[5], 0x20);
}

/// Profile `no-pse`: list of AIDs with partial selection and SELECT next.
#[test]
fn list_of_aids_with_partial_selection() {
    let r = run("no-pse");
    assert!(r.commands.iter().any(|c| c == "00A4040207A000000999101000"));
    assert!(r.candidates.len() >= 2, "{:?}", r.candidates);
}

/// DDA failures set exactly "DDA failed" and go online (TAC-Online byte 1).
#[test]
fn dda_failures() {
    for name in [
        "dda-bad-signature",
        "unknown-ca-index",
        "icc-cert-pan-mismatch",
    ] {
        let r = run(name);
        assert_outcome(&r, Decision::Approved, "0800000000", "E800", b"00");
        assert!(r.went_online, "{name}");
    }
}

/// Profile `cvm-enciphered-pin`: GET CHALLENGE, VERIFY P2 88: CVM 040002.
#[test]
fn enciphered_pin() {
    let r = run("cvm-enciphered-pin");
    assert_eq!(r.outcome.cvm_results, [0x04, 0x00, 0x02]);
    assert!(r.commands.iter().any(|c| c == "0084000000"));
    assert!(r.commands.iter().any(|c| c.starts_with("00200088")));
    assert_eq!(r.outcome.decision, Decision::Approved);
}

/// Hostile cards with malformed records end in a defined termination,
/// without panics or loops.
#[test]
fn hostile_cards_terminate() {
    for name in [
        "hostile-lying-length",
        "hostile-truncated-record",
        "hostile-recursive-template",
        "hostile-afl-loop",
        "hostile-oversized-response",
    ] {
        let r = run(name);
        assert!(
            matches!(r.outcome.decision, Decision::Terminated(_)),
            "{name}: {:?}",
            r.outcome.decision
        );
        assert!(r.commands.len() < 50, "{name}");
    }
}

/// Profile `hostile-afl-200-records`: an AFL of 200 records: the kernel
/// reads at most those 200 (within its exchange bound) and either stops at
/// its data store limit (terminated: capacity exceeded) or goes on as a card
/// without ODA; never an offline approval.
#[test]
fn two_hundred_records_end_at_a_limit_or_without_oda() {
    let r = run("hostile-afl-200-records");
    let reads = r
        .commands
        .iter()
        .filter(|c| c.starts_with("00B2") && c.ends_with("1C00"))
        .count();
    assert!(reads <= 200, "{reads}");
    match r.outcome.decision {
        Decision::Terminated(reason) => assert_eq!(reason, TerminationReason::CapacityExceeded),
        _ => assert!(
            r.went_online && r.outcome.tvr.0[0] & 0x80 != 0,
            "{:?}",
            r.outcome
        ),
    }
}

/// The transaction's state fits the budget: under 16 KiB on the stack.
#[test]
fn transaction_size() {
    let size = std::mem::size_of::<Transaction<'static, RingCrypto>>();
    println!("size_of::<Transaction<RingCrypto>>() = {size}");
    assert!(size < 16 * 1024, "{size}");
}

/// The profiles whose command/response transcripts the kernel's
/// no-allocation test, hostile property test and benchmark replay (they
/// cannot depend on `emv-test-cards`, which depends on the kernel), in
/// `kernel/benches/transcripts/NAME.txt`; `sda` is [`valid_sda_card`].
const TRANSCRIPTS: [&str; 8] = [
    "xda",
    "xda-enciphered-pin",
    "dda",
    "cda",
    "no-oda",
    "cvm-offline-pin",
    "issuer-scripts",
    "sda",
];

fn transcripts_dir() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../kernel/benches/transcripts")
}

/// The transcript of `name` as its live card answers the kernel today.
fn live_transcript(name: &str) -> String {
    let (commands, mut card, mut text) = if name.starts_with("xda") {
        let mut config = TerminalConfig::default();
        config.terminal_capabilities[2] |= emv_kernel::config::CAPABILITY_XDA;
        (
            run_with(name, &config, TEST_INPUTS, true).commands,
            profiles::find(name).unwrap().card(),
            format!("# {name}: test-cards profile, TerminalConfig with 9F33 E0F8CC (XDA), default TransactionInputs\n"),
        )
    } else if name == "sda" {
        (
            run_card(valid_sda_card()).commands,
            valid_sda_card(),
            String::from("# sda: valid_sda_card() of scenario_profiles.rs (CA 03, issuer 1152), default TerminalConfig and TransactionInputs\n"),
        )
    } else {
        (
            run(name).commands,
            profiles::find(name).unwrap().card(),
            format!("# {name}: test-cards profile, default TerminalConfig and TransactionInputs, host approves with ARC 00\n"),
        )
    };
    for command in commands {
        let bytes = hex::decode(&command).unwrap();
        let mut response = [0u8; 258];
        let n = card.transmit(&bytes, &mut response).unwrap();
        text.push_str(&format!(
            "> {command}\n< {}\n",
            hex::encode_upper(&response[..n])
        ));
    }
    text
}

/// The committed transcripts are what the live cards answer today, so the
/// benchmark and the kernel's property tests never replay a card that no
/// longer exists (a stale `cvm-offline-pin` once made the benchmark measure
/// an SDA failure). Regenerate with `write_transcripts` after an intended
/// change to a card.
#[test]
fn bench_transcripts_match_their_live_cards() {
    for name in TRANSCRIPTS {
        let path = transcripts_dir().join(format!("{name}.txt"));
        let committed = std::fs::read_to_string(&path).unwrap();
        assert!(
            committed == live_transcript(name),
            "{} differs from the live card; regenerate with `cargo test -p emv-integration-tests --test scenario_profiles -- --ignored write_transcripts`",
            path.display()
        );
    }
}

/// Writes the transcripts of [`TRANSCRIPTS`]. Run with
/// `cargo test -p emv-integration-tests --test scenario_profiles -- --ignored write_transcripts`.
#[test]
#[ignore]
fn write_transcripts() {
    let dir = transcripts_dir();
    std::fs::create_dir_all(&dir).unwrap();
    for name in TRANSCRIPTS {
        std::fs::write(dir.join(format!("{name}.txt")), live_transcript(name)).unwrap();
    }
}

/// Profile `issuer-scripts`: a PIN UNBLOCK script (71) before and an
/// APPLICATION UNBLOCK script (72) after the second GENERATE AC, both with
/// valid MACs (Book 3, 10.10): TSI script processing performed (FC), Issuer
/// Script Results 9F5B `20 00000001 20 00000002` in the clearing data (one
/// entry per script, sequence number 0 when it succeeded: Book 3, Annex A).
#[test]
fn issuer_scripts_before_and_after_the_final_generate_ac() {
    let plan = vec![
        (0x71, vec![([0x84, 0x24, 0x00, 0x00], true)]),
        (0x72, vec![([0x84, 0x18, 0x00, 0x00], true)]),
    ];
    let r = run_with_scripts(
        "issuer-scripts",
        &TerminalConfig::default(),
        TEST_INPUTS,
        true,
        plan,
    );
    assert_outcome(&r, Decision::Approved, "0000000000", "FC00", b"00");
    let n = r.commands.len();
    assert!(
        r.commands[n - 3].starts_with("84240000"),
        "{:?}",
        r.commands
    );
    assert!(r.commands[n - 2].starts_with("80AE"));
    assert!(r.commands[n - 1].starts_with("84180000"));
    assert_eq!(
        r.outcome.script_results.as_slice(),
        [0x20, 0, 0, 0, 1, 0x20, 0, 0, 0, 2]
    );
    let results = emv_kernel::tlv::find(&r.outcome.clearing_data, emv_kernel::tlv::Tag(0x9F5B));
    assert_eq!(results, Some(&r.outcome.script_results[..]));
}

/// A script command with a bad MAC fails (6988): TVR "Script processing
/// failed before final GENERATE AC" (byte 5 b6), result `11`.
#[test]
fn failed_script_sets_its_tvr_bit() {
    let plan = vec![(0x71, vec![([0x84, 0x24, 0x00, 0x00], false)])];
    let r = run_with_scripts(
        "issuer-scripts",
        &TerminalConfig::default(),
        TEST_INPUTS,
        true,
        plan,
    );
    assert_eq!(tvr(&r.outcome), "0000000020");
    assert_eq!(r.outcome.script_results.as_slice(), [0x11, 0, 0, 0, 1]);
}

/// Book 3, 10.10 and Annex A: Issuer Script Results hold one entry per
/// script, not per command. A template 71 with two commands answered
/// 9000 then 6985: one entry, result 1 (failed) with the sequence number of
/// the failing command (2). The same script with both commands answered
/// 9000: one entry `20` (successful, sequence 0).
#[test]
fn issuer_script_results_have_one_entry_per_script() {
    let script = |second_mac_good| {
        vec![(
            0x71,
            vec![
                ([0x84, 0x24, 0x00, 0x00], true),
                ([0x84, 0x18, 0x00, 0x00], second_mac_good),
            ],
        )]
    };
    let run = |plan| {
        run_with_scripts(
            "issuer-scripts",
            &TerminalConfig::default(),
            TEST_INPUTS,
            true,
            plan,
        )
    };
    let r = run(script(true));
    let sent = |r: &Run| {
        r.commands
            .iter()
            .filter(|c| c.starts_with("8424") || c.starts_with("8418"))
            .count()
    };
    assert_eq!(sent(&r), 2, "{:?}", r.commands);
    assert_eq!(r.outcome.script_results.as_slice(), [0x20, 0, 0, 0, 1]);
    let r = run(script(false));
    assert_eq!(sent(&r), 2, "{:?}", r.commands);
    assert_eq!(r.outcome.script_results.as_slice(), [0x12, 0, 0, 0, 1]);
    assert_eq!(tvr(&r.outcome), "0000000020");
}

/// Book 4, 12.2: the issuer approves, EXTERNAL AUTHENTICATE fails (a bad
/// ARPC), and the card answers the second GENERATE AC's TC request with an
/// AAC: declined, and the outcome says the host's approval must be reversed.
/// An ordinary online approval needs no reversal.
#[test]
fn a_card_decline_after_issuer_approval_asks_for_a_reversal() {
    let config = TerminalConfig::default();
    let r = run_with_host(
        "issuer-scripts",
        &config,
        TEST_INPUTS,
        true,
        Vec::new(),
        true,
    );
    assert!(r.outcome.online);
    assert_eq!(r.outcome.decision, Decision::Declined, "{:?}", r.commands);
    assert!(r
        .outcome
        .tvr
        .is_set(emv_kernel::tvr::ISSUER_AUTHENTICATION_FAILED));
    assert!(r.outcome.reversal_required);
    let r = run_with_host(
        "issuer-scripts",
        &config,
        TEST_INPUTS,
        true,
        Vec::new(),
        false,
    );
    assert_eq!(r.outcome.decision, Decision::Approved);
    assert!(!r.outcome.reversal_required);
    assert!(!r.outcome.advice_required);
}

/// Book 3, 10.10: a template 72 the terminal cannot process fails with the
/// "script processing failed after final GENERATE AC" bit (TVR byte 5 b5),
/// set after the final GENERATE AC (whose TVR does not carry it); a bad
/// template 71 with the "before" bit (b6).
#[test]
fn a_discarded_script_sets_the_bit_of_its_phase() {
    let run = |template| {
        run_with_scripts(
            "issuer-scripts",
            &TerminalConfig::default(),
            TEST_INPUTS,
            true,
            vec![(template, Vec::new())],
        )
    };
    let r = run(0x72);
    assert_eq!(r.outcome.decision, Decision::Approved);
    assert_eq!(tvr(&r.outcome), "0000000010");
    let second_generate_ac = r
        .commands
        .iter()
        .rev()
        .find(|c| c.starts_with("80AE"))
        .unwrap();
    // CDOL2 of this card: ARC (8A), then TVR (95), ...: data bytes 3-7.
    assert_eq!(&second_generate_ac[10..14], "3030", "{second_generate_ac}");
    assert_eq!(
        &second_generate_ac[14..24],
        "0000000000",
        "{second_generate_ac}"
    );
    let r = run(0x71);
    assert_eq!(tvr(&r.outcome), "0000000020");
}

/// Profile `velocity-ucol`: LCOL and UCOL exceeded: ARQC; host unreachable:
/// TAC-Default byte 4 b6 gives AAC, Z3 (Book 3, 10.7).
#[test]
fn velocity_ucol_unreachable_declines_z3() {
    let r = run_with(
        "velocity-ucol",
        &TerminalConfig::default(),
        TEST_INPUTS,
        false,
    );
    assert_eq!(r.outcome.decision, Decision::Declined);
    assert_eq!(r.outcome.authorisation_response_code, Some(*b"Z3"));
    assert_eq!(r.outcome.tvr.0[3], 0x60);
}

/// Profile `auc-no-cash`: a cash transaction (9C 01) is not allowed by the
/// Application Usage Control: TVR byte 2 b5, matches TAC-Denial: AAC.
#[test]
fn cash_not_allowed_declines() {
    let inputs = TransactionInputs {
        transaction_type: 0x01,
        ..TEST_INPUTS
    };
    let r = run_with("auc-no-cash", &TerminalConfig::default(), inputs, true);
    assert_eq!(r.outcome.decision, Decision::Declined);
    assert_eq!(r.outcome.tvr.0[1], 0x10);
    assert_eq!(r.outcome.authorisation_response_code, Some(*b"Z1"));
}

/// Profile `cvm-amount-conditions`: 10.00 takes no CVM (1F0602); 75.00 takes
/// offline plaintext PIN (410702) with VERIFY 9000.
#[test]
fn cvm_amount_conditions() {
    let r = run("cvm-amount-conditions");
    assert_eq!(r.outcome.cvm_results, [0x1F, 0x06, 0x02]);
    let inputs = TransactionInputs {
        amount_authorised: 7_500,
        ..TEST_INPUTS
    };
    let r = run_with(
        "cvm-amount-conditions",
        &TerminalConfig::default(),
        inputs,
        true,
    );
    assert_eq!(r.outcome.cvm_results, [0x41, 0x07, 0x02]);
    assert!(
        r.commands.iter().any(|c| c == "0020008008241234FFFFFFFFFF"),
        "{:?}",
        r.commands
    );
}

/// Profile `pin-try-limit-exceeded`: GET DATA 9F17 returns 0: no VERIFY, TVR
/// PIN Try Limit exceeded and cardholder verification not successful.
#[test]
fn pin_try_limit_exceeded() {
    let r = run("pin-try-limit-exceeded");
    assert_eq!(r.outcome.tvr.0[2], 0xA0);
    assert!(r.commands.iter().any(|c| c == "80CA9F1700"));
    assert!(!r.commands.iter().any(|c| c.starts_with("0020")));
}

/// Profile `cvm-signature`: the receipt needs a signature (CVM 1E0000).
#[test]
fn signature_cvm() {
    let r = run("cvm-signature");
    assert_eq!(r.outcome.cvm_results, [0x1E, 0x00, 0x00]);
    assert!(r.outcome.signature_required);
}

/// Profile `card-declines`: TC requested, AAC returned: declined offline, Z1.
#[test]
fn card_declines() {
    let r = run("card-declines");
    assert_eq!(r.outcome.decision, Decision::Declined);
    assert_eq!(
        r.outcome.cryptogram_type,
        Some(emv_kernel::outcome::CryptogramType::Aac)
    );
}

fn run_dda_with_context(
    config: &TerminalConfig,
    inputs: TransactionInputs,
    exception_file: &[&[u8]],
    reachable: bool,
) -> Run {
    let profile = profiles::find("dda").unwrap();
    let keys = emv_test_cards::pki::ca_key_store();
    let revoked = emv_test_cards::pki::revocation_list();
    let context = TerminalContext {
        config,
        ca_keys: &keys,
        revocations: &revoked,
        exception_file,
    };
    let mut transaction = Transaction::new(context, RingCrypto::new(), inputs).unwrap();
    let mut card = Recording {
        card: profile.card(),
        commands: Vec::new(),
    };
    let mut person = Person {
        pin: b"1234".to_vec(),
        chosen: Vec::new(),
    };
    let mut host = TestHost {
        issuer: Issuer::test_issuer(),
        pan: hex::decode(profile.pan()).unwrap(),
        pan_sequence: 1,
        reachable,
        issuer_authentication_data: Vec::new(),
        asked: false,
        script_plan: Vec::new(),
        scripts: Vec::new(),
        bad_arpc: false,
    };
    let outcome = driver::run(&mut transaction, &mut card, &mut person, &mut host).unwrap();
    Run {
        outcome,
        commands: card.commands,
        candidates: person.chosen,
        went_online: host.asked,
        pan: host.pan,
    }
}

/// Book 3, 10.6.1: 150.00 reaches the 100.00 floor limit: TVR byte 4 b8,
/// in TAC-Online: ARQC, approved online.
#[test]
fn floor_limit_exceeded_goes_online() {
    let inputs = TransactionInputs {
        amount_authorised: 15_000,
        ..TEST_INPUTS
    };
    let r = run_dda_with_context(&TerminalConfig::default(), inputs, &[], true);
    assert!(r.went_online);
    assert_eq!(tvr(&r.outcome), "0000008000");
    assert_eq!(r.outcome.decision, Decision::Approved);
}

/// Book 3, 10.6 exception file: the PAN is listed: TVR byte 1 b5, in
/// TAC-Online: ARQC.
#[test]
fn exception_file_goes_online() {
    let pan = hex::decode(profiles::find("dda").unwrap().pan()).unwrap();
    let r = run_dda_with_context(&TerminalConfig::default(), TEST_INPUTS, &[&pan], true);
    assert!(r.went_online);
    assert_eq!(tvr(&r.outcome), "1000000000");
}

/// Book 3, 10.6.2: random selection with target 99 % and random number 1:
/// TVR byte 4 b5, in TAC-Online: ARQC.
#[test]
fn random_selection_goes_online() {
    let mut config = TerminalConfig::default();
    for app in config.applications.iter_mut() {
        app.random_selection_target_percentage = 99;
        app.random_selection_max_target_percentage = 99;
    }
    let inputs = TransactionInputs {
        random_selection_number: 1,
        ..TEST_INPUTS
    };
    let r = run_dda_with_context(&config, inputs, &[], true);
    assert!(r.went_online);
    assert_eq!(tvr(&r.outcome), "0000001000");
}

/// Offline-only terminal (type 23), card without ODA: terminal action
/// analysis uses the default codes (Book 3, 10.7): TVR 80 matches
/// TAC-Default: AAC at the first GENERATE AC, declined Z1, never online.
#[test]
fn offline_only_terminal_declines_without_oda() {
    let config = TerminalConfig {
        terminal_type: 0x23,
        online_capable: false,
        ..TerminalConfig::default()
    };
    let r = run_with("no-oda", &config, TEST_INPUTS, true);
    assert!(!r.went_online);
    assert_eq!(r.outcome.decision, Decision::Declined);
    assert!(r.commands.last().unwrap().starts_with("80AE0000"));
    assert_eq!(r.outcome.authorisation_response_code, Some(*b"Z1"));
}

/// Online-only terminal (type 21, Book 4, Annex A1), the `cda` card that a
/// type 22 terminal approves offline: terminal action analysis asks for an
/// ARQC (Book 3, 10.7), so the transaction goes online and is approved with
/// the host's code; with the host unreachable the default action codes
/// decide (Y3), never an offline Y1.
#[test]
fn online_only_terminal_never_approves_offline_with_y1() {
    let config = TerminalConfig {
        terminal_type: 0x21,
        ..TerminalConfig::default()
    };
    let r = run_with("cda", &config, TEST_INPUTS, true);
    assert!(r.went_online);
    assert!(
        r.commands.iter().any(|c| c.starts_with("80AE9000")),
        "{:?}",
        r.commands
    );
    assert_eq!(r.outcome.decision, Decision::Approved);
    assert_eq!(r.outcome.authorisation_response_code, Some(*b"00"));
    let r = run_with("cda", &config, TEST_INPUTS, false);
    assert!(
        r.commands.iter().any(|c| c.starts_with("80AE9000")),
        "{:?}",
        r.commands
    );
    assert_ne!(r.outcome.authorisation_response_code, Some(*b"Y1"));
    assert_eq!(r.outcome.authorisation_response_code, Some(*b"Y3"));
}

/// Enters a wrong PIN first, then the right one, remembering the tries left.
struct Forgetful {
    attempts: Vec<Vec<u8>>,
    tries_seen: Vec<Option<u8>>,
}

impl Cardholder for Forgetful {
    fn choose_application(&mut self, _: &[Candidate], _: bool) -> Option<usize> {
        Some(0)
    }
    fn enter_pin(&mut self, _kind: PinKind, tries_left: Option<u8>) -> PinEntry<'_> {
        self.tries_seen.push(tries_left);
        let index = self.tries_seen.len() - 1;
        PinEntry::Digits(&self.attempts[index.min(self.attempts.len() - 1)])
    }
}

/// Profile `cvm-offline-pin`: a wrong PIN answers 63C2 and the kernel asks
/// again with 2 tries left; the right PIN then verifies (CVM 010002), and the
/// VERIFY commands carry the PIN blocks `24 9999 FF..` and `24 1234 FF..`.
#[test]
fn wrong_pin_then_right_pin() {
    let profile = profiles::find("cvm-offline-pin").unwrap();
    let keys = emv_test_cards::pki::ca_key_store();
    let revoked = emv_test_cards::pki::revocation_list();
    let config = TerminalConfig::default();
    let context = TerminalContext {
        config: &config,
        ca_keys: &keys,
        revocations: &revoked,
        exception_file: &[],
    };
    let mut transaction = Transaction::new(context, RingCrypto::new(), TEST_INPUTS).unwrap();
    let mut card = Recording {
        card: profile.card(),
        commands: Vec::new(),
    };
    let mut person = Forgetful {
        attempts: vec![b"9999".to_vec(), b"1234".to_vec()],
        tries_seen: Vec::new(),
    };
    let mut host = TestHost {
        issuer: Issuer::test_issuer(),
        pan: Vec::new(),
        pan_sequence: 0,
        reachable: false,
        issuer_authentication_data: Vec::new(),
        asked: false,
        script_plan: Vec::new(),
        scripts: Vec::new(),
        bad_arpc: false,
    };
    let outcome = driver::run(&mut transaction, &mut card, &mut person, &mut host).unwrap();
    let verifies: Vec<&String> = card
        .commands
        .iter()
        .filter(|c| c.starts_with("00200080"))
        .collect();
    assert_eq!(
        verifies,
        ["0020008008249999FFFFFFFFFF", "0020008008241234FFFFFFFFFF"]
    );
    assert_eq!(person.tries_seen[1], Some(2));
    assert_eq!(outcome.cvm_results, [0x01, 0x00, 0x02]);
}

/// An SDA card with the default keys of `AppSpec` (CA key 03, issuer key
/// 1152 bits, N_I <= N_CA as Book 2, 5.1 requires), a second valid SDA
/// key pair besides the `sda` profile's (CA 01, issuer key 1024 bits).
fn valid_sda_card() -> Card {
    use emv_test_cards::spec::{AppSpec, CardSpec, Oda};
    let spec = CardSpec {
        apps: vec![AppSpec {
            oda: Oda::Sda,
            ..AppSpec::default()
        }],
        ..CardSpec::default()
    };
    Card::from_spec(&spec).unwrap()
}

/// Runs a transaction against any card, host unreachable.
fn run_card(card: Card) -> Run {
    let keys = emv_test_cards::pki::ca_key_store();
    let revoked = emv_test_cards::pki::revocation_list();
    let config = TerminalConfig::default();
    let context = TerminalContext {
        config: &config,
        ca_keys: &keys,
        revocations: &revoked,
        exception_file: &[],
    };
    let mut transaction = Transaction::new(context, RingCrypto::new(), TEST_INPUTS).unwrap();
    let mut card = Recording {
        card,
        commands: Vec::new(),
    };
    let mut person = Person {
        pin: b"1234".to_vec(),
        chosen: Vec::new(),
    };
    let mut host = TestHost {
        issuer: Issuer::test_issuer(),
        pan: Vec::new(),
        pan_sequence: 0,
        reachable: false,
        issuer_authentication_data: Vec::new(),
        asked: false,
        script_plan: Vec::new(),
        scripts: Vec::new(),
        bad_arpc: false,
    };
    let outcome = driver::run(&mut transaction, &mut card, &mut person, &mut host).unwrap();
    Run {
        outcome,
        commands: card.commands,
        candidates: person.chosen,
        went_online: host.asked,
        pan: host.pan,
    }
}

/// SDA on [`valid_sda_card`] succeeds: TVR "SDA selected" only (Book 3, C5
/// byte 1 b2), TSI E8, TC: approved offline, Y1.
#[test]
fn sda_on_a_card_with_valid_key_lengths() {
    let outcome = run_card(valid_sda_card()).outcome;
    assert_eq!(
        (outcome.oda_method, outcome.oda_result, outcome.oda_failure),
        (OdaMethod::Sda, OdaResult::Succeeded, None)
    );
    assert_eq!(outcome.decision, Decision::Approved);
    assert_eq!(hex::encode_upper(outcome.tvr.0), "0200000000");
    assert_eq!(hex::encode_upper(outcome.tsi.0), "E800");
    assert_eq!(outcome.authorisation_response_code, Some(*b"Y1"));
}

/// Checks the cryptogram of the `nth` GENERATE AC (0 or 1) with the test
/// issuer's keys: its input is the CDOL data sent, the AIP, the ATC and the
/// CVR inside the Issuer Application Data (the test cards' scheme).
fn issuer_verifies(r: &Run, nth: usize, cryptogram: [u8; 8]) -> bool {
    let command = r
        .commands
        .iter()
        .filter(|c| c.starts_with("80AE"))
        .nth(nth)
        .unwrap();
    let bytes = hex::decode(command).unwrap();
    let cdol_data = &bytes[5..5 + usize::from(bytes[4])];
    let icc = &r.outcome.clearing_data;
    let aip: [u8; 2] = tlv_value(icc, 0x82).unwrap().try_into().unwrap();
    let atc = u16::from_be_bytes(tlv_value(icc, 0x9F36).unwrap().try_into().unwrap());
    let iad = tlv_value(icc, 0x9F10).unwrap();
    let cvr: [u8; 4] = iad[2..6].try_into().unwrap();
    let input = emv_test_cards::issuer::cryptogram_input(cdol_data, aip, atc, cvr);
    Issuer::test_issuer().verify_cryptogram(&r.pan, 1, atc, &input, cryptogram)
}

/// The TC of an offline approval (DDA and CDA) and the TC of an online
/// approval verify with the test Issuer: the kernel sent the CDOL data the
/// card signed and reports the cryptogram the card made.
#[test]
fn cryptograms_verify_with_the_issuer() {
    for name in ["dda", "cda"] {
        let r = run(name);
        let tc = r.outcome.cryptogram.unwrap();
        assert!(issuer_verifies(&r, 0, tc), "{name}");
        let mut wrong = tc;
        wrong[0] ^= 1;
        assert!(!issuer_verifies(&r, 0, wrong), "{name}");
    }
    let r = run("issuer-scripts");
    assert!(issuer_verifies(&r, 1, r.outcome.cryptogram.unwrap()));
}

// ---- ICS checklist rows (issue #13) -----------------------------------------

/// The GENERATE AC commands a run sent (hex).
fn generate_acs(r: &Run) -> Vec<&String> {
    r.commands
        .iter()
        .filter(|c| c.starts_with("80AE"))
        .collect()
}

/// ICS row 39, CDA request modes (Book 2, 6.6; Book 4, 6.3.2.1): the `cda`
/// card at a terminal that goes online (merchant forced online, host
/// approves). P1 of the first GENERATE AC is `90` (ARQC with CDA) in modes
/// 1 and 2, `80` in modes 3 and 4; of the second `50` (TC with CDA) in
/// modes 1 and 3, `40` in modes 2 and 4. Every mode approves.
#[test]
fn cda_request_modes_set_p1_of_each_generate_ac() {
    use emv_kernel::config::CdaRequestMode;
    let inputs = TransactionInputs {
        merchant_forced_online: true,
        ..TEST_INPUTS
    };
    for (number, first, second) in [
        (1, "80AE9000", "80AE5000"),
        (2, "80AE9000", "80AE4000"),
        (3, "80AE8000", "80AE5000"),
        (4, "80AE8000", "80AE4000"),
    ] {
        let config = TerminalConfig {
            cda_request_mode: CdaRequestMode::from_number(number).unwrap(),
            ..TerminalConfig::default()
        };
        let r = run_with("cda", &config, inputs, true);
        let sent = generate_acs(&r);
        assert_eq!(sent.len(), 2, "mode {number}");
        assert!(sent[0].starts_with(first), "mode {number}: {}", sent[0]);
        assert!(sent[1].starts_with(second), "mode {number}: {}", sent[1]);
        assert_eq!(r.outcome.decision, Decision::Approved, "mode {number}");
        assert_eq!(r.outcome.oda_method, OdaMethod::Cda);
        let expected = if number == 4 {
            OdaResult::NotPerformed
        } else {
            OdaResult::Succeeded
        };
        assert_eq!(r.outcome.oda_result, expected, "mode {number}");
    }
    assert_eq!(CdaRequestMode::default(), CdaRequestMode::MODE_1);
    assert_eq!(CdaRequestMode::from_number(5), None);
}

/// ICS row 42, Book 2, 6.6.2 and Book 3, 10.9: CDA asked for only with the
/// TC of the second GENERATE AC (ICS mode 3), the `cda-bad-signature` card:
/// the first GENERATE AC is an ARQC without CDA, the issuer approves, the
/// card's TC at the second GENERATE AC carries a signature that fails:
/// declined, TVR byte 1 b3 "CDA failed", and the host's approval must be
/// reversed.
#[test]
fn cda_failing_on_the_second_generate_ac_declines() {
    let config = TerminalConfig {
        cda_request_mode: emv_kernel::config::CdaRequestMode::MODE_3,
        ..TerminalConfig::default()
    };
    let inputs = TransactionInputs {
        merchant_forced_online: true,
        ..TEST_INPUTS
    };
    let r = run_with("cda-bad-signature", &config, inputs, true);
    let sent = generate_acs(&r);
    assert!(sent[0].starts_with("80AE8000"), "{}", sent[0]);
    assert!(sent[1].starts_with("80AE5000"), "{}", sent[1]);
    assert!(r.went_online);
    assert_eq!(r.outcome.decision, Decision::Declined);
    assert_eq!(r.outcome.tvr.0[0] & 0x04, 0x04, "CDA failed");
    assert_eq!(r.outcome.oda_result, OdaResult::Failed);
    assert!(r.outcome.reversal_required);
}
