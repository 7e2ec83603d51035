//! EMV-rules review: whole transactions against a scripted card, one test
//! per rule that was checked against Books 1-4 and fixed or confirmed.
//!
//! The card here is a script: it answers SELECT with an FCI, GET PROCESSING
//! OPTIONS with an AIP and an AFL of one record, READ RECORD with the
//! record the test gives, GET DATA from a table, and GENERATE AC with the
//! cryptogram type the test picks. Everything else is the real kernel.

mod inputs;

use emv_kernel::config::{TerminalConfig, TransactionInputs, TEST_AID_CREDIT};
use emv_kernel::oda::{CaKeyStore, RevocationList};
use emv_kernel::online::HostResponse;
use emv_kernel::outcome::{Decision, Outcome};
use emv_kernel::transaction::{PinEntry, Request, TerminalContext, Transaction};
use inputs::TEST_INPUTS;

mod oda_support;
mod scripted;
use scripted::{test_crypto, tlv, AAC, ARQC, TC};

/// The scripted card.
struct Card {
    /// Application Interchange Profile.
    aip: [u8; 2],
    /// Objects of the only record (SFI 1, record 1), without the 70 template.
    record: Vec<u8>,
    /// GET DATA answers (tag, full response with status); absent tags: 6A88.
    get_data: Vec<(u16, Vec<u8>)>,
    /// The CID the card answers each GENERATE AC with, in order; when the
    /// list runs out it answers with the type requested.
    cids: Vec<u8>,
    /// Every command received.
    commands: Vec<Vec<u8>>,
    /// When set, READ RECORD answers these bytes (status added) instead of
    /// template 70 around `record`.
    raw_record: Option<Vec<u8>>,
}

impl Card {
    fn new(aip: [u8; 2], record: Vec<u8>) -> Self {
        Card {
            aip,
            record,
            get_data: Vec::new(),
            cids: Vec::new(),
            commands: Vec::new(),
            raw_record: None,
        }
    }

    fn respond(&mut self, command: &[u8]) -> Vec<u8> {
        self.commands.push(command.to_vec());
        let ok = |mut data: Vec<u8>| {
            data.extend_from_slice(&[0x90, 0x00]);
            data
        };
        match (command[0], command[1]) {
            (0x00, 0xA4) => {
                let name = &command[5..5 + usize::from(command[4])];
                if name != TEST_AID_CREDIT {
                    return vec![0x6A, 0x82];
                }
                let proprietary = tlv(0xA5, &tlv(0x50, b"REVIEW"));
                ok(tlv(0x6F, &[tlv(0x84, name), proprietary].concat()))
            }
            (0x80, 0xA8) => {
                let value = [&self.aip[..], &[0x08, 0x01, 0x01, 0x00]].concat();
                ok(tlv(0x80, &value))
            }
            (0x00, 0xB2) => match &self.raw_record {
                Some(raw) => ok(raw.clone()),
                None => ok(tlv(0x70, &self.record)),
            },
            (0x80, 0xCA) => {
                let tag = u16::from_be_bytes([command[2], command[3]]);
                self.get_data
                    .iter()
                    .find(|(t, _)| *t == tag)
                    .map(|(_, r)| r.clone())
                    .unwrap_or_else(|| vec![0x6A, 0x88])
            }
            (0x80, 0xAE) => {
                let cid = if self.cids.is_empty() {
                    command[2] & 0xC0
                } else {
                    self.cids.remove(0)
                };
                let value = [&[cid, 0x00, 0x07][..], &[0xA5; 8]].concat();
                ok(tlv(0x80, &value))
            }
            _ => vec![0x6D, 0x00],
        }
    }

    /// The GENERATE AC commands received.
    fn generate_acs(&self) -> Vec<&Vec<u8>> {
        self.commands.iter().filter(|c| c[1] == 0xAE).collect()
    }
}

/// The record every test starts from: expiry 2030-12-31, a PAN, CDOL1
/// asking for amount, UN and TVR, CDOL2 for ARC and TVR.
fn base_record() -> Vec<u8> {
    [
        tlv(0x5F24, &[0x30, 0x12, 0x31]),
        tlv(0x5A, &[0x67, 0x99, 0x99, 0x01, 0x00, 0x00, 0x00, 0x11]),
        tlv(0x8C, &[0x9F, 0x02, 0x06, 0x9F, 0x37, 0x04, 0x95, 0x05]),
        tlv(0x8D, &[0x8A, 0x02, 0x95, 0x05]),
    ]
    .concat()
}

/// What the host does when asked.
#[derive(Clone, Copy)]
enum HostPlan {
    Unreachable,
    Approve,
}

/// What the cardholder does when asked for a PIN.
#[derive(Clone, Copy)]
enum PinPlan {
    Bypass,
}

struct Run {
    outcome: Outcome,
    went_online: bool,
    pin_prompts: usize,
}

fn run(
    config: &TerminalConfig,
    inputs: TransactionInputs,
    card: &mut Card,
    host: HostPlan,
    pin: PinPlan,
) -> Run {
    run_with_keys(config, inputs, card, host, pin, &CaKeyStore::new(), &[])
}

fn run_with_keys(
    config: &TerminalConfig,
    inputs: TransactionInputs,
    card: &mut Card,
    host: HostPlan,
    pin: PinPlan,
    keys: &CaKeyStore,
    exception_file: &[&[u8]],
) -> Run {
    let revocations = RevocationList::new();
    let context = TerminalContext {
        config,
        ca_keys: keys,
        revocations: &revocations,
        exception_file,
    };
    let mut t = Transaction::new(context, test_crypto(), inputs).unwrap();
    let mut went_online = false;
    let mut pin_prompts = 0;
    for _ in 0..100 {
        match t.request() {
            Request::Transmit(command) => {
                let response = card.respond(command);
                t.on_response(&response).unwrap();
            }
            Request::ChooseApplication { .. } => t.on_application_chosen(Some(0)).unwrap(),
            Request::EnterPin { .. } => {
                pin_prompts += 1;
                match pin {
                    PinPlan::Bypass => t.on_pin(PinEntry::Bypassed).unwrap(),
                }
            }
            Request::RecentAmount { .. } => t.on_recent_amount(0).unwrap(),
            Request::IssuerReferral { .. } => t.on_referral(false).unwrap(),
            Request::GoOnline(_) => {
                went_online = true;
                let response = match host {
                    HostPlan::Unreachable => HostResponse::UNREACHABLE,
                    HostPlan::Approve => HostResponse {
                        reachable: true,
                        approved: true,
                        authorisation_response_code: *b"00",
                        issuer_authentication_data: None,
                        scripts: &[],
                    },
                };
                t.on_host(response).unwrap();
            }
            Request::Done(outcome) => {
                return Run {
                    outcome: outcome.clone(),
                    went_online,
                    pin_prompts,
                }
            }
        }
    }
    panic!("the transaction did not end");
}

/// The default test terminal with the list-of-AIDs method only.
fn terminal() -> TerminalConfig {
    let mut config = TerminalConfig::default();
    config.selection.pse = false;
    config
}

/// AIP: terminal risk management to be performed (byte 1 b4), nothing else.
const AIP_TRM_ONLY: [u8; 2] = [0x08, 0x00];

/// Book 3, 10.6.2 and Book 4, 6.3.5: random transaction selection picks
/// transactions for online processing, so only a terminal with online
/// capability performs it. At an offline-only terminal (type 23) with a
/// 99 % target and random number 1, TVR byte 4 b5 stays clear; had it been
/// set, the absent IAC-Default (all ones, Book 3 10.7) would decline.
#[test]
fn offline_only_terminal_performs_no_random_selection() {
    let mut config = terminal();
    config.terminal_type = 0x23;
    config.online_capable = false;
    for app in config.applications.iter_mut() {
        app.random_selection_target_percentage = 99;
        app.random_selection_max_target_percentage = 99;
        app.terminal_action_code_denial = [0; 5];
        app.terminal_action_code_default = [0; 5];
    }
    // IAC-Default only on "random selection" (byte 4 b5), IAC-Denial none.
    let record = [
        base_record(),
        tlv(0x9F0D, &[0, 0, 0, 0x10, 0]),
        tlv(0x9F0E, &[0; 5]),
    ]
    .concat();
    let mut card = Card::new(AIP_TRM_ONLY, record);
    let inputs = TransactionInputs {
        random_selection_number: 1,
        ..TEST_INPUTS
    };
    let r = run(
        &config,
        inputs,
        &mut card,
        HostPlan::Unreachable,
        PinPlan::Bypass,
    );
    assert_eq!(
        r.outcome.tvr.0[3] & 0x10,
        0,
        "randomly selected at an offline-only terminal"
    );
    assert_eq!(r.outcome.decision, Decision::Approved);
    assert_eq!(r.outcome.authorisation_response_code, Some(*b"Y1"));
    assert_eq!(card.generate_acs()[0][2], TC);
    assert!(!r.went_online);
}

/// Book 3, 10.6.2: the same configuration at an online-capable terminal
/// (type 22) selects the transaction (TVR byte 4 b5) and, with the bit in
/// TAC-Online, asks for an ARQC.
#[test]
fn online_capable_terminal_performs_random_selection() {
    let mut config = terminal();
    for app in config.applications.iter_mut() {
        app.random_selection_target_percentage = 99;
        app.random_selection_max_target_percentage = 99;
    }
    let mut card = Card::new(AIP_TRM_ONLY, base_record());
    let inputs = TransactionInputs {
        random_selection_number: 1,
        ..TEST_INPUTS
    };
    let r = run(
        &config,
        inputs,
        &mut card,
        HostPlan::Approve,
        PinPlan::Bypass,
    );
    assert_eq!(r.outcome.tvr.0[3] & 0x10, 0x10);
    assert_eq!(card.generate_acs()[0][2], ARQC);
    assert!(r.went_online);
    assert_eq!(r.outcome.decision, Decision::Approved);
    let _ = (AAC, r.pin_prompts);
}

/// [`RandomSelection::NEVER`] selects no amount for any random number.
#[test]
fn random_selection_never_selects() {
    use emv_kernel::risk::{randomly_selected, RandomSelection};
    for floor_limit in [0u64, 1, 10_000] {
        for amount in [0u64, 1, 9_999, 10_000, 20_000] {
            for random in 1..=99 {
                assert_eq!(
                    randomly_selected(amount, floor_limit, &RandomSelection::NEVER, random),
                    Ok(false)
                );
            }
        }
    }
}

/// A record with Lower and Upper Consecutive Offline Limits 2 and 5, so that
/// velocity checking applies (Book 3, 10.6.3).
fn velocity_record() -> Vec<u8> {
    [base_record(), tlv(0x9F14, &[2]), tlv(0x9F23, &[5])].concat()
}

fn get_data_answer(tag: u16, value: [u8; 2]) -> (u16, Vec<u8>) {
    let mut answer = tlv(u32::from(tag), &value);
    answer.extend_from_slice(&[0x90, 0x00]);
    (tag, answer)
}

const TVR_NEW_CARD: (usize, u8) = (1, 0x08);
const TVR_ICC_DATA_MISSING: (usize, u8) = (0, 0x20);
const TVR_LCOL: (usize, u8) = (3, 0x40);
const TVR_UCOL: (usize, u8) = (3, 0x20);

fn has(outcome: &Outcome, bit: (usize, u8)) -> bool {
    outcome.tvr.0[bit.0] & bit.1 != 0
}

/// Book 3, 10.6.3: when the card answers neither GET DATA (6A88), both
/// consecutive offline limits count as exceeded; "New card" is not set (no
/// Last Online ATC Register was returned) and neither is "ICC data
/// missing", which Book 3 keeps for data objects read from the records.
#[test]
fn velocity_without_counters_sets_both_limits_only() {
    let mut card = Card::new(AIP_TRM_ONLY, velocity_record());
    let r = run(
        &terminal(),
        TEST_INPUTS,
        &mut card,
        HostPlan::Approve,
        PinPlan::Bypass,
    );
    let get_data: Vec<_> = card.commands.iter().filter(|c| c[1] == 0xCA).collect();
    assert_eq!(get_data.len(), 2, "GET DATA ATC and Last Online ATC");
    assert!(has(&r.outcome, TVR_LCOL) && has(&r.outcome, TVR_UCOL));
    assert!(!has(&r.outcome, TVR_NEW_CARD));
    assert!(!has(&r.outcome, TVR_ICC_DATA_MISSING));
}

/// Book 3, 10.6.3: ATC not above the Last Online ATC Register: both limits
/// count as exceeded.
#[test]
fn velocity_with_atc_not_above_last_online_sets_both_limits() {
    let mut card = Card::new(AIP_TRM_ONLY, velocity_record());
    card.get_data = vec![
        get_data_answer(0x9F36, [0x00, 0x07]),
        get_data_answer(0x9F13, [0x00, 0x07]),
    ];
    let r = run(
        &terminal(),
        TEST_INPUTS,
        &mut card,
        HostPlan::Approve,
        PinPlan::Bypass,
    );
    assert!(has(&r.outcome, TVR_LCOL) && has(&r.outcome, TVR_UCOL));
    assert!(!has(&r.outcome, TVR_NEW_CARD));
}

/// Book 3, 10.6.3: Last Online ATC Register 0 is a new card; ATC 3 is 3
/// offline transactions, above the lower limit 2, not above the upper 5.
#[test]
fn velocity_new_card_and_lower_limit() {
    let mut card = Card::new(AIP_TRM_ONLY, velocity_record());
    card.get_data = vec![
        get_data_answer(0x9F36, [0x00, 0x03]),
        get_data_answer(0x9F13, [0x00, 0x00]),
    ];
    let r = run(
        &terminal(),
        TEST_INPUTS,
        &mut card,
        HostPlan::Approve,
        PinPlan::Bypass,
    );
    assert!(has(&r.outcome, TVR_NEW_CARD));
    assert!(has(&r.outcome, TVR_LCOL));
    assert!(!has(&r.outcome, TVR_UCOL));
}

/// AIP: cardholder verification supported (byte 1 b5) and terminal risk
/// management (b4).
const AIP_CVM_TRM: [u8; 2] = [0x18, 0x00];

/// A record with the given CVM rules (amounts X and Y zero).
fn cvm_record(rules: &[[u8; 2]]) -> Vec<u8> {
    let mut list = vec![0u8; 8];
    for rule in rules {
        list.extend_from_slice(rule);
    }
    [base_record(), tlv(0x8E, &list)].concat()
}

fn cvm_run(config: &TerminalConfig, record: Vec<u8>) -> Run {
    let mut card = Card::new(AIP_CVM_TRM, record);
    run(
        config,
        TEST_INPUTS,
        &mut card,
        HostPlan::Approve,
        PinPlan::Bypass,
    )
}

const TVR_CV_FAILED: (usize, u8) = (2, 0x80);
const TVR_PIN_PAD_NOT_WORKING: (usize, u8) = (2, 0x10);
const TVR_PIN_NOT_ENTERED: (usize, u8) = (2, 0x08);
const TSI_CVM_PERFORMED: u8 = 0x40;

/// Book 3, 10.5: the AIP says cardholder verification is supported but the
/// card has no CVM List: not performed (TSI b7 clear), CVM Results `3F0000`,
/// TVR "ICC data missing".
#[test]
fn cvm_list_absent() {
    let r = cvm_run(&terminal(), base_record());
    assert_eq!(r.outcome.cvm_results, [0x3F, 0x00, 0x00]);
    assert!(has(&r.outcome, TVR_ICC_DATA_MISSING));
    assert_eq!(r.outcome.tsi.0[0] & TSI_CVM_PERFORMED, 0);
}

/// Book 3, 10.5: the end of the list reached without any CVM performed
/// (the only rule's condition, "unattended cash", does not hold): failed,
/// CVM Results `3F0001`.
#[test]
fn cvm_nothing_applies() {
    let r = cvm_run(&terminal(), cvm_record(&[[0x1F, 0x01]]));
    assert_eq!(r.outcome.cvm_results, [0x3F, 0x00, 0x01]);
    assert!(has(&r.outcome, TVR_CV_FAILED));
    assert_eq!(r.outcome.tsi.0[0] & TSI_CVM_PERFORMED, TSI_CVM_PERFORMED);
}

/// Book 3, Annex C3 and Book 4, A4: "Fail CVM processing" is a CVM the
/// terminal performs, and it fails: CVM Results name it (`00 00 01`).
#[test]
fn cvm_fail_cvm_processing_is_performed() {
    let r = cvm_run(&terminal(), cvm_record(&[[0x00, 0x00]]));
    assert_eq!(r.outcome.cvm_results, [0x00, 0x00, 0x01]);
    assert!(has(&r.outcome, TVR_CV_FAILED));
}

/// Book 3, 10.5.1: offline PIN that the terminal does not support (9F33
/// byte 2 without b8): "PIN entry required and PIN pad not present or not
/// working"; the rule is not performed, so with nothing after it CVM Results
/// are `3F0001`.
#[test]
fn cvm_unsupported_offline_pin_sets_pin_pad_bit() {
    let mut config = terminal();
    config.terminal_capabilities[1] &= !0x80;
    let r = cvm_run(&config, cvm_record(&[[0x01, 0x00]]));
    assert!(has(&r.outcome, TVR_PIN_PAD_NOT_WORKING));
    assert!(has(&r.outcome, TVR_CV_FAILED));
    assert_eq!(r.outcome.cvm_results, [0x3F, 0x00, 0x01]);
}

/// Book 3, 10.5, condition `03` ("if terminal supports the CVM"): an
/// unsupported PIN method under this condition is skipped as a condition not
/// met, without the PIN pad bit; the next rule (signature) is performed
/// with result "unknown" (Book 4, A4).
#[test]
fn cvm_unsupported_pin_under_supports_condition_is_skipped() {
    let mut config = terminal();
    config.terminal_capabilities[1] &= !0x80;
    let r = cvm_run(&config, cvm_record(&[[0x01, 0x03], [0x1E, 0x03]]));
    assert!(!has(&r.outcome, TVR_PIN_PAD_NOT_WORKING));
    assert_eq!(r.outcome.cvm_results, [0x1E, 0x03, 0x00]);
    assert!(r.outcome.signature_required);
}

/// PIN entry bypass with the terminal option "subsequent PIN bypass" on:
/// the cardholder bypasses offline PIN once, the online PIN rule after it
/// counts as bypassed without a second prompt, and "No CVM required"
/// completes (`1F 00 02`). TVR "PIN not entered".
#[test]
fn cvm_subsequent_pin_bypass_on() {
    let mut config = terminal();
    config.subsequent_pin_bypass = true;
    let rules = [[0x41, 0x00], [0x42, 0x00], [0x1F, 0x00]];
    let r = cvm_run(&config, cvm_record(&rules));
    assert_eq!(r.pin_prompts, 1);
    assert!(has(&r.outcome, TVR_PIN_NOT_ENTERED));
    assert_eq!(r.outcome.cvm_results, [0x1F, 0x00, 0x02]);
}

/// The same list with the option off (the default): each PIN rule prompts.
#[test]
fn cvm_subsequent_pin_bypass_off() {
    let rules = [[0x41, 0x00], [0x42, 0x00], [0x1F, 0x00]];
    let r = cvm_run(&terminal(), cvm_record(&rules));
    assert_eq!(r.pin_prompts, 2);
    assert_eq!(r.outcome.cvm_results, [0x1F, 0x00, 0x02]);
}

/// Book 2, 6.6 and Book 4 (CDA request rules): CDA selected (AIP byte 1 b1)
/// but the ICC key cannot be recovered (no CA Public Key Index, no
/// certificates): CDA has failed before GENERATE AC, so TVR "CDA failed"
/// and "ICC data missing" are set, terminal action analysis sees them
/// (TAC-Online `DC4084F800` has "CDA failed": ARQC), and the GENERATE AC
/// does not ask for a CDA signature (P1 `80`, b5 clear).
#[test]
fn cda_failed_before_generate_ac_is_not_requested() {
    let mut card = Card::new([0x09, 0x00], base_record());
    let r = run(
        &terminal(),
        TEST_INPUTS,
        &mut card,
        HostPlan::Approve,
        PinPlan::Bypass,
    );
    assert_eq!(r.outcome.tvr.0[0], 0x24);
    assert_eq!(r.outcome.tsi.0[0] & 0x80, 0x80, "TSI: ODA performed");
    let generate_acs = card.generate_acs();
    assert_eq!(generate_acs[0][2], ARQC, "ARQC without CDA");
    assert_eq!(generate_acs[1][2], TC, "TC without CDA");
    assert_eq!(r.outcome.decision, Decision::Approved);
}

/// A card whose ICC key the terminal recovers (CA 1024 > issuer 1024 > ICC
/// 768 of the ODA test PKI; no ODA records, so the ICC certificate hashes
/// no static data), with AIP "CDA supported" and terminal risk management.
fn cda_card() -> (Card, CaKeyStore) {
    use oda_support::*;
    let (ca, issuer, icc) = (ca_1024(), issuer_1024(), icc_768());
    let issuer_certificate = certify(&ca, &issuer, &CertificateFields::issuer(&PAN[..3]));
    let icc_certificate = certify(&issuer, &icc, &CertificateFields::icc(&PAN));
    let mut record = vec![
        tlv(0x5F24, &[0x30, 0x12, 0x31]),
        tlv(0x5A, &PAN),
        tlv(0x8C, &[0x9F, 0x02, 0x06, 0x9F, 0x37, 0x04, 0x95, 0x05]),
        tlv(0x8D, &[0x8A, 0x02, 0x95, 0x05]),
        tlv(0x8F, &[CA_INDEX]),
        tlv(0x90, &issuer_certificate.certificate),
        tlv(0x9F32, &issuer_certificate.exponent),
        tlv(0x9F46, &icc_certificate.certificate),
        tlv(0x9F47, &icc_certificate.exponent),
    ];
    if let Some(remainder) = &issuer_certificate.remainder {
        record.push(tlv(0x92, remainder));
    }
    if let Some(remainder) = &icc_certificate.remainder {
        record.push(tlv(0x9F48, remainder));
    }
    let keys = TerminalFixture::new(&ca).ca_keys;
    (Card::new([0x09, 0x00], record.concat()), keys)
}

/// Book 2, 6.6.2 and Book 3, 10.8: CDA requested with the ARQC of the first
/// GENERATE AC (P1 `90`), the card answers without a signature (format 1):
/// CDA failed (and "ICC data missing": no SDAD), the ARQC counts as an AAC,
/// the terminal declines offline (Z1) and closes the card with a second
/// GENERATE AC asking for an AAC without CDA (P1 `00`). Never online.
#[test]
fn cda_failure_on_arqc_declines_with_second_generate_ac_aac() {
    let (mut card, keys) = cda_card();
    // Merchant forced online (TVR byte 4 b4, in TAC-Online): ARQC.
    let inputs = TransactionInputs {
        merchant_forced_online: true,
        ..TEST_INPUTS
    };
    let r = run_with_keys(
        &terminal(),
        inputs,
        &mut card,
        HostPlan::Approve,
        PinPlan::Bypass,
        &keys,
        &[],
    );
    let generate_acs = card.generate_acs();
    assert_eq!(generate_acs.len(), 2);
    assert_eq!(generate_acs[0][2], ARQC | 0x10, "ARQC with CDA");
    assert_eq!(generate_acs[1][2], AAC, "AAC without CDA");
    assert_eq!(&generate_acs[1][5..7], b"Z1", "ARC in CDOL2");
    assert_eq!(r.outcome.tvr.0[0] & 0x04, 0x04, "CDA failed");
    assert!(!r.went_online);
    assert_eq!(r.outcome.decision, Decision::Declined);
    assert_eq!(r.outcome.authorisation_response_code, Some(*b"Z1"));
}

/// Book 2, 6.6.2: CDA requested with a TC (TAC-Online cleared so terminal
/// action analysis asks for a TC, P1 `50`), the card answers without a
/// signature: declined offline (Z1) with no second GENERATE AC, since the
/// card already completed its transaction.
#[test]
fn cda_failure_on_tc_declines_without_second_generate_ac() {
    let (mut card, keys) = cda_card();
    let mut config = terminal();
    for app in config.applications.iter_mut() {
        app.terminal_action_code_online = [0; 5];
    }
    let r = run_with_keys(
        &config,
        TEST_INPUTS,
        &mut card,
        HostPlan::Approve,
        PinPlan::Bypass,
        &keys,
        &[],
    );
    let generate_acs = card.generate_acs();
    assert_eq!(generate_acs.len(), 1);
    assert_eq!(generate_acs[0][2], TC | 0x10, "TC with CDA");
    assert_eq!(r.outcome.tvr.0[0] & 0x04, 0x04, "CDA failed");
    assert_eq!(r.outcome.decision, Decision::Declined);
    assert_eq!(r.outcome.authorisation_response_code, Some(*b"Z1"));
}

/// Book 3, 10.6: the exception file is checked whatever the AIP says about
/// terminal risk management. AIP `0000` (no risk management asked for) and
/// the card's PAN on the exception file: TVR "Card appears on terminal
/// exception file" (byte 1 b5, in TAC-Online: ARQC), while TSI "Terminal
/// risk management was performed" stays clear.
#[test]
fn exception_file_checked_without_aip_risk_management() {
    let mut card = Card::new([0x00, 0x00], base_record());
    let pan: &[u8] = &[0x67, 0x99, 0x99, 0x01, 0x00, 0x00, 0x00, 0x11];
    let r = run_with_keys(
        &terminal(),
        TEST_INPUTS,
        &mut card,
        HostPlan::Approve,
        PinPlan::Bypass,
        &CaKeyStore::new(),
        &[pan],
    );
    assert_eq!(r.outcome.tvr.0[0] & 0x10, 0x10, "card on exception file");
    assert_eq!(
        r.outcome.tsi.0[0] & 0x08,
        0,
        "TSI: no terminal risk management"
    );
    assert_eq!(card.generate_acs()[0][2], ARQC);
}

/// Book 3, 6.5.11.4: a record of SFI 1-10 must be template 70. The same
/// objects in template 77 are a format error and the transaction ends
/// before GENERATE AC.
#[test]
fn sfi_1_record_not_template_70_terminates() {
    let mut card = Card::new(AIP_TRM_ONLY, Vec::new());
    card.raw_record = Some(tlv(0x77, &base_record()));
    let r = run(
        &terminal(),
        TEST_INPUTS,
        &mut card,
        HostPlan::Approve,
        PinPlan::Bypass,
    );
    assert_eq!(
        r.outcome.decision,
        Decision::Terminated(emv_kernel::outcome::TerminationReason::CardDataFormat)
    );
    assert!(card.generate_acs().is_empty());
}

/// Book 1, 12.3.3 step 2: the card answers SELECT PSE with 6A82 (no PSE),
/// then the SELECT of the first terminal AID with 6A81 (card blocked or
/// SELECT not supported): the session ends there, no other AID is tried.
#[test]
fn select_aid_6a81_after_pse_terminates() {
    let config = TerminalConfig::default();
    let keys = CaKeyStore::new();
    let revocations = RevocationList::new();
    let context = TerminalContext {
        config: &config,
        ca_keys: &keys,
        revocations: &revocations,
        exception_file: &[],
    };
    let mut t = Transaction::new(context, test_crypto(), TEST_INPUTS).unwrap();
    let mut sent = 0;
    for answer in [[0x6A, 0x82], [0x6A, 0x81]] {
        let Request::Transmit(command) = t.request() else {
            panic!("expected a SELECT");
        };
        assert_eq!(&command[..2], &[0x00, 0xA4]);
        sent += 1;
        t.on_response(&answer).unwrap();
    }
    let Request::Done(outcome) = t.request() else {
        panic!("expected the end after {sent} SELECTs");
    };
    assert_eq!(
        outcome.decision,
        Decision::Terminated(emv_kernel::outcome::TerminationReason::CardBlocked)
    );
}
