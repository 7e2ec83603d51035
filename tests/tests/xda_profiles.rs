//! Scenario tests for Extended Data Authentication (EMV 4.4 XDA): the
//! kernel's transaction engine against the `xda*` profiles of `test-cards`,
//! in process.
//!
//! The terminal is the default one of `PROFILES.md` with XDA added to its
//! capabilities (9F33 `E0F8CC`, byte 3 b3): the default `E0F8C8` predates
//! XDA, and with it these cards are read without ODA (checked below). The
//! XDA cards' issuer lists "XDA signature verification failed" (TVR byte 4
//! b1) in its IAC-Online and IAC-Default, so a failed XDA goes online.
//!
//! Each test names the profile, the outcome, TVR and TSI, and the check.

use emv_kernel::config::{TerminalConfig, CAPABILITY_XDA};
use emv_kernel::crypto::RingCrypto;
use emv_kernel::driver::{self, Cardholder, Host};
use emv_kernel::oda::{CertificateCheck, OdaFailure, SignatureCheck};
use emv_kernel::online::HostResponse;
use emv_kernel::outcome::{Decision, OdaMethod, OdaResult, Outcome};
use emv_kernel::select::Candidate;
use emv_kernel::transaction::{PinEntry, PinKind, TerminalContext, Transaction};
use emv_kernel::tvr;
use emv_test_cards::issuer::Issuer;
use emv_test_cards::profiles;
use emv_test_cards::TEST_INPUTS;

struct Person(Vec<u8>);

impl Cardholder for Person {
    fn choose_application(&mut self, _candidates: &[Candidate], _confirm: bool) -> Option<usize> {
        Some(0)
    }
    fn enter_pin(&mut self, _kind: PinKind, _tries_left: Option<u8>) -> PinEntry<'_> {
        PinEntry::Digits(&self.0)
    }
}

/// The test issuer: approves with ARC 00 and the ARPC.
struct TestHost {
    pan: Vec<u8>,
    pan_sequence: u8,
    data: Vec<u8>,
    asked: bool,
}

impl Host for TestHost {
    fn authorise(&mut self, icc_data: &[u8]) -> HostResponse<'_> {
        self.asked = true;
        let find = |tag| emv_kernel::tlv::find(icc_data, emv_kernel::tlv::Tag(tag)).unwrap();
        let arqc: [u8; 8] = find(0x9F26).try_into().unwrap();
        let atc = u16::from_be_bytes(find(0x9F36).try_into().unwrap());
        self.data = Issuer::test_issuer()
            .issuer_authentication_data(&self.pan, self.pan_sequence, atc, arqc, *b"00")
            .to_vec();
        HostResponse {
            reachable: true,
            approved: true,
            authorisation_response_code: *b"00",
            issuer_authentication_data: Some(&self.data),
            scripts: &[],
        }
    }
}

/// The default terminal with XDA in 9F33 byte 3.
fn xda_terminal() -> TerminalConfig {
    let mut config = TerminalConfig::default();
    config.terminal_capabilities[2] |= CAPABILITY_XDA;
    config
}

struct Run {
    outcome: Outcome,
    went_online: bool,
    /// P1 of every GENERATE AC sent.
    generate_acs: Vec<u8>,
    /// GET CHALLENGE commands sent.
    challenges: usize,
    /// Every VERIFY sent: P2, the data, and the card's status word.
    verifies: Vec<(u8, Vec<u8>, u16)>,
}

/// The card, noting the P1 of every GENERATE AC, the GET CHALLENGEs and
/// the VERIFYs.
struct Recording {
    card: emv_test_cards::card::Card,
    generate_acs: Vec<u8>,
    challenges: usize,
    verifies: Vec<(u8, Vec<u8>, u16)>,
}

impl emv_kernel::transport::CardTransport for Recording {
    type Error = <emv_test_cards::card::Card as emv_kernel::transport::CardTransport>::Error;
    fn transmit(&mut self, command: &[u8], response: &mut [u8]) -> Result<usize, Self::Error> {
        if command.get(..2) == Some(&[0x80, 0xAE]) {
            self.generate_acs.push(command[2]);
        }
        if command.get(..2) == Some(&[0x00, 0x84]) {
            self.challenges += 1;
        }
        let n = self.card.transmit(command, response)?;
        if command.get(..2) == Some(&[0x00, 0x20]) {
            let status = response
                .get(n.saturating_sub(2)..n)
                .map_or(0, |sw| u16::from_be_bytes([sw[0], sw[1]]));
            let data = command.get(5..).unwrap_or(&[]).to_vec();
            self.verifies.push((command[3], data, status));
        }
        Ok(n)
    }
}

fn run_with(name: &str, config: &TerminalConfig) -> Run {
    run_with_inputs(name, config, TEST_INPUTS)
}

fn run_with_inputs(
    name: &str,
    config: &TerminalConfig,
    inputs: emv_kernel::config::TransactionInputs,
) -> Run {
    let profile = profiles::find(name).unwrap_or_else(|| panic!("no profile {name}"));
    run_card(profile.card(), &profile.spec(), config, inputs)
}

/// A transaction with `card`, personalised from `spec`.
fn run_card(
    card: emv_test_cards::card::Card,
    spec: &emv_test_cards::spec::CardSpec,
    config: &TerminalConfig,
    inputs: emv_kernel::config::TransactionInputs,
) -> Run {
    let app = spec.apps.first().expect("an application");
    let keys = emv_test_cards::pki::ca_key_store();
    let revoked = emv_test_cards::pki::revocation_list();
    let context = TerminalContext {
        config,
        ca_keys: &keys,
        revocations: &revoked,
        exception_file: &[],
    };
    let mut transaction = Transaction::new(context, RingCrypto::new(), inputs).unwrap();
    let mut card = Recording {
        card,
        generate_acs: Vec::new(),
        challenges: 0,
        verifies: Vec::new(),
    };
    let mut person = Person(app.pin.bytes().collect());
    let mut host = TestHost {
        pan: hex::decode(app.pan).unwrap(),
        pan_sequence: app.pan_sequence,
        data: Vec::new(),
        asked: false,
    };
    let outcome = driver::run(&mut transaction, &mut card, &mut person, &mut host).unwrap();
    Run {
        outcome,
        went_online: host.asked,
        generate_acs: card.generate_acs,
        challenges: card.challenges,
        verifies: card.verifies,
    }
}

fn run(name: &str) -> Run {
    run_with(name, &xda_terminal())
}

/// A card that rewrites its answers before they reach the kernel.
struct Rewriting {
    card: emv_test_cards::card::Card,
    rewrite: fn(&[u8], &mut Vec<u8>),
}

impl emv_kernel::transport::CardTransport for Rewriting {
    type Error = <emv_test_cards::card::Card as emv_kernel::transport::CardTransport>::Error;
    fn transmit(&mut self, command: &[u8], response: &mut [u8]) -> Result<usize, Self::Error> {
        let n = self.card.transmit(command, response)?;
        let mut answer = response[..n].to_vec();
        (self.rewrite)(command, &mut answer);
        response[..answer.len()].copy_from_slice(&answer);
        Ok(answer.len())
    }
}

fn tvr(outcome: &Outcome) -> String {
    hex::encode_upper(outcome.tvr.0)
}

/// `xda` and `xda-p521`: XDA is selected before CDA/DDA/SDA (EMV 4.4 Book 3,
/// 10.3), the ECC chain verifies and the TC's EC-SDSA signature too:
/// approved offline, TVR only "XDA selected", TSI "ODA performed".
#[test]
fn xda_cards_approve_offline_with_xda() {
    for name in ["xda", "xda-p521"] {
        let r = run(name);
        let o = &r.outcome;
        assert_eq!(o.decision, Decision::Approved, "{name}: {o:?}");
        assert!(!r.went_online, "{name}");
        assert_eq!(o.oda_method, OdaMethod::Xda, "{name}");
        assert_eq!(o.oda_result, OdaResult::Succeeded, "{name}");
        assert_eq!(o.oda_failure, None, "{name}");
        assert_eq!(tvr(o), "0100000000", "{name}");
        assert!(o.tsi.is_set(tvr::TSI_ODA_PERFORMED), "{name}");
    }
}

/// Above the floor limit the XDA card's ARQC and then its TC are both
/// signed (GENERATE AC P1 b5) and verified, the second over the CDOL1 and
/// CDOL2 data too: approved online, XDA succeeded.
#[test]
fn online_xda_verifies_both_generate_acs() {
    let inputs = emv_kernel::config::TransactionInputs {
        amount_authorised: 20_000,
        ..TEST_INPUTS
    };
    let r = run_with_inputs("xda", &xda_terminal(), inputs);
    let o = &r.outcome;
    assert!(r.went_online);
    assert_eq!(o.decision, Decision::Approved, "{o:?}");
    assert_eq!(r.generate_acs, [0x90, 0x50], "ARQC and TC, both with P1 b5");
    assert_eq!(o.oda_method, OdaMethod::Xda);
    assert_eq!(o.oda_result, OdaResult::Succeeded, "{:?}", o.oda_failure);
    assert!(!o.tvr.is_set(tvr::XDA_FAILED));
}

/// The default terminal (9F33 E0F8C8, no XDA) does no ODA with an XDA-only
/// card: TVR "ODA not performed", online.
#[test]
fn a_terminal_without_xda_does_not_perform_it() {
    let r = run_with("xda", &TerminalConfig::default());
    assert_eq!(r.outcome.oda_method, OdaMethod::None);
    assert!(r.outcome.tvr.is_set(tvr::ODA_NOT_PERFORMED));
    assert!(!r.outcome.tvr.is_set(tvr::XDA_SELECTED));
    assert!(r.went_online);
}

/// Every XDA failure profile fails at exactly its check, sets "XDA selected"
/// and "XDA signature verification failed", and the transaction goes on as
/// the action codes say: online (the card's IACs list XDA failed).
#[test]
fn each_xda_failure_is_its_own_check() {
    let cases = [
        (
            "xda-expired-issuer-cert",
            OdaFailure::IssuerCertificate(CertificateCheck::Expired),
        ),
        (
            "xda-wrong-issuer-identifier",
            OdaFailure::IssuerCertificate(CertificateCheck::IssuerIdentifier),
        ),
        (
            "xda-pan-mismatch",
            OdaFailure::IccCertificate(CertificateCheck::IccdHash),
        ),
        ("xda-unknown-ca-index", OdaFailure::CaKeyNotFound),
        (
            "xda-revoked-issuer-cert",
            OdaFailure::IssuerCertificate(CertificateCheck::Revoked),
        ),
        (
            "xda-tampered-record",
            OdaFailure::IccCertificate(CertificateCheck::IccdHash),
        ),
        (
            "xda-bad-suite",
            OdaFailure::IssuerCertificate(CertificateCheck::AlgorithmSuite),
        ),
    ];
    for (name, failure) in cases {
        let r = run(name);
        let o = &r.outcome;
        assert_eq!(o.oda_method, OdaMethod::Xda, "{name}");
        assert_eq!(o.oda_result, OdaResult::Failed, "{name}");
        assert_eq!(o.oda_failure, Some(failure), "{name}");
        assert_eq!(tvr(o), "0100000100", "{name}");
        assert!(o.tsi.is_set(tvr::TSI_ODA_PERFORMED), "{name}");
        assert!(r.went_online, "{name}: XDA failed is in the IAC-Online");
        assert_eq!(
            o.decision,
            Decision::Approved,
            "{name}: the issuer approves online"
        );
    }
}

/// `xda-bad-signature`: the chain verifies, the TC's signature does not:
/// the TC is treated as an AAC, declined offline (as CDA, Book 2, 6.6.2 and
/// Book 3, 10.8), with XDA failed in the TVR.
#[test]
fn a_bad_generate_ac_signature_declines_offline() {
    let r = run("xda-bad-signature");
    let o = &r.outcome;
    assert_eq!(o.decision, Decision::Declined, "{o:?}");
    assert!(!r.went_online);
    assert_eq!(
        o.oda_failure,
        Some(OdaFailure::DynamicSignature(SignatureCheck::Signature))
    );
    assert_eq!(tvr(o), "0100000100");
}

/// Book 3, 10.7: an XDA card whose signed record was changed to take "XDA
/// failed" out of its own IAC-Default and IAC-Online (the record is no longer
/// what the issuer certified, so XDA fails at the ICCD hash) must not be
/// approved offline by a terminal with the default TACs: the terminal's
/// action codes, not the card's, catch a failed XDA.
#[test]
fn a_card_that_strips_xda_failed_from_its_iacs_is_not_approved_offline() {
    let profile = profiles::find("xda").unwrap();
    let app = profile.spec().apps.remove(0);
    let keys = emv_test_cards::pki::ca_key_store();
    let revoked = emv_test_cards::pki::revocation_list();
    let config = xda_terminal();
    let context = TerminalContext {
        config: &config,
        ca_keys: &keys,
        revocations: &revoked,
        exception_file: &[],
    };
    let mut transaction = Transaction::new(context, RingCrypto::new(), TEST_INPUTS).unwrap();
    let mut card = Rewriting {
        card: profile.card(),
        rewrite: |command, answer| {
            // READ RECORD SFI 1 record 1: 9F0D and 9F0F values, byte 4 b1 off.
            if command.get(..4) == Some(&[0x00, 0xB2, 0x01, 0x0C]) {
                for (tag, value) in [
                    ([0x9F, 0x0D, 0x05], [0xDC, 0x40, 0x00, 0xA9, 0x00]),
                    ([0x9F, 0x0F, 0x05], [0xDC, 0x40, 0x84, 0xF9, 0x00]),
                ] {
                    let pattern = [&tag[..], &value[..]].concat();
                    if let Some(at) = answer.windows(8).position(|w| w == pattern.as_slice()) {
                        answer[at + 6] &= !0x01;
                    }
                }
            }
        },
    };
    let mut person = Person(app.pin.bytes().collect());
    let mut host = TestHost {
        pan: hex::decode(app.pan).unwrap(),
        pan_sequence: app.pan_sequence,
        data: Vec::new(),
        asked: false,
    };
    let outcome = driver::run(&mut transaction, &mut card, &mut person, &mut host).unwrap();
    assert_eq!(
        outcome.oda_failure,
        Some(OdaFailure::IccCertificate(CertificateCheck::IccdHash))
    );
    assert!(outcome.tvr.is_set(tvr::XDA_FAILED));
    assert!(
        host.asked || outcome.decision != Decision::Approved,
        "approved offline after a failed XDA: {outcome:?}"
    );
}

/// `xda-enciphered-pin` and `-p521`: ECC offline PIN encipherment (EMV 4.4
/// Book 2, 13.2). The PIN is enciphered with the card's ECC PIN key from
/// 9F2D: VERIFY P2 `88` with `x(R) || C* || MAC` (57 or 91 bytes), which
/// the card deciphers and accepts; CVM Results 040002; approved offline.
/// Each VERIFY carries a fresh ephemeral key.
#[test]
fn ecc_enciphered_pin_is_verified_by_the_card() {
    for (name, length) in [("xda-enciphered-pin", 57), ("xda-enciphered-pin-p521", 91)] {
        let r = run(name);
        let o = &r.outcome;
        assert_eq!(o.decision, Decision::Approved, "{name}: {o:?}");
        assert!(!r.went_online, "{name}");
        assert_eq!(o.oda_result, OdaResult::Succeeded, "{name}");
        assert_eq!(hex::encode_upper(o.cvm_results.0), "040002", "{name}");
        assert_eq!(tvr(o), "0100000000", "{name}");
        assert_eq!(r.challenges, 1, "{name}");
        assert_eq!(r.verifies.len(), 1, "{name}");
        let (p2, data, status) = &r.verifies[0];
        assert_eq!((*p2, data.len(), *status), (0x88, length, 0x9000), "{name}");
        let again = run(name);
        assert_ne!(
            &again.verifies[0].1, data,
            "{name}: the same ephemeral key twice"
        );
    }
}

/// The ECC PIN key does not depend on XDA being performed: the default
/// terminal (no XDA in 9F33) still enciphers with it, and the card accepts.
#[test]
fn ecc_enciphered_pin_without_xda_in_the_terminal() {
    let r = run_with("xda-enciphered-pin", &TerminalConfig::default());
    let o = &r.outcome;
    assert_eq!(o.oda_method, OdaMethod::None, "{o:?}");
    assert_eq!(hex::encode_upper(o.cvm_results.0), "040002", "{o:?}");
    assert_eq!(r.verifies.len(), 1);
    assert_eq!((r.verifies[0].0, r.verifies[0].2), (0x88, 0x9000));
}

/// `xda-enciphered-pin-bad-certificate`: the 9F2D certificate fails its
/// signature check, so there is no PIN key. Book 3, 10.5.1: the method fails
/// before the cardholder is asked (no GET CHALLENGE, no VERIFY), CVM Results
/// 040001, "cardholder verification was not successful": online.
#[test]
fn a_pin_key_certificate_that_fails_its_check_fails_the_pin_method() {
    let r = run("xda-enciphered-pin-bad-certificate");
    let o = &r.outcome;
    assert_eq!(r.challenges, 0);
    assert!(r.verifies.is_empty());
    assert_eq!(hex::encode_upper(o.cvm_results.0), "040001", "{o:?}");
    assert_eq!(tvr(o), "0100800000");
    assert!(r.went_online);
    assert_eq!(
        o.oda_result,
        OdaResult::Succeeded,
        "XDA itself is unaffected"
    );
}

/// An XDA card without a PIN encipherment certificate: its XDA key (9F46,
/// an EC-SDSA signing key) is never used to agree a key, so enciphered PIN
/// fails without a VERIFY, as in the previous test.
#[test]
fn an_ecc_card_without_9f2d_has_no_enciphered_pin() {
    let profile = profiles::find("xda-enciphered-pin").unwrap();
    let mut spec = profile.spec();
    spec.apps[0].pin_key = false;
    let image = emv_test_cards::image::CardImage::build(&spec).unwrap();
    let card = emv_test_cards::card::Card::new(std::sync::Arc::new(image));
    let r = run_card(card, &spec, &xda_terminal(), TEST_INPUTS);
    assert_eq!(r.challenges, 0);
    assert!(r.verifies.is_empty());
    assert_eq!(hex::encode_upper(r.outcome.cvm_results.0), "040001");
    assert_eq!(r.outcome.oda_result, OdaResult::Succeeded);
}

/// The failure codes a caller sees for XDA, stable snake_case.
#[test]
fn xda_failure_codes() {
    assert_eq!(
        OdaFailure::IssuerCertificate(CertificateCheck::AlgorithmSuite)
            .code()
            .to_string(),
        "issuer_certificate.algorithm_suite"
    );
    assert_eq!(
        OdaFailure::DynamicSignature(SignatureCheck::Signature)
            .code()
            .to_string(),
        "dynamic_signature.signature"
    );
}
