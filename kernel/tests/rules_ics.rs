//! ICS checklist rows (issue #13): whole transactions against a scripted
//! card, one test per row of `ICS.md` that had none or that this branch
//! changed. Each test names the row and the clause it checks.
//!
//! The scripted card answers SELECT with an FCI, GET PROCESSING OPTIONS
//! with its AIP and an AFL of one record (no record for ODA), READ RECORD
//! with that record, INTERNAL AUTHENTICATE with a real DDA signature over
//! the DDOL data it received (when it has an ICC key), EXTERNAL
//! AUTHENTICATE with a chosen status, and GENERATE AC with the CIDs the test
//! picks. Everything else is the real kernel.

mod inputs;
mod oda_support;

use emv_kernel::config::{TerminalConfig, TransactionInputs, TEST_AID_CREDIT};
use emv_kernel::crypto::CryptoProvider;
use emv_kernel::oda::{CaKeyStore, RevocationList};
use emv_kernel::online::HostResponse;
use emv_kernel::outcome::{Decision, OdaMethod, OdaResult, Outcome};
use emv_kernel::transaction::{PinEntry, Request, TerminalContext, Transaction};
use inputs::TEST_INPUTS;
use oda_support::{
    ca_1024, certify, icc_768, issuer_1024, sign_data, CertificateFields, Key, SignedDataFields,
    TerminalFixture, PAN,
};

mod scripted;
use scripted::{test_crypto, tlv, AAC, ARQC, TC};

/// AIP bits (Book 3, Annex C1).
const AIP_DDA: u8 = 0x20;
const AIP_TRM: u8 = 0x08;
const AIP_ISSUER_AUTHENTICATION: u8 = 0x04;

/// The scripted card.
struct Card {
    aip: [u8; 2],
    record: Vec<u8>,
    /// Objects added to the FCI proprietary template (A5).
    fci: Vec<u8>,
    /// The CIDs of the GENERATE AC answers in order; then the type asked for.
    cids: Vec<u8>,
    /// Signs INTERNAL AUTHENTICATE when set (DDA).
    icc: Option<Key>,
    /// Status word of EXTERNAL AUTHENTICATE.
    external_authenticate: [u8; 2],
    commands: Vec<Vec<u8>>,
}

impl Card {
    fn new(aip: [u8; 2], record: Vec<u8>) -> Self {
        Card {
            aip,
            record,
            fci: Vec::new(),
            cids: Vec::new(),
            icc: None,
            external_authenticate: [0x90, 0x00],
            commands: Vec::new(),
        }
    }

    fn respond(&mut self, command: &[u8]) -> Vec<u8> {
        self.commands.push(command.to_vec());
        let ok = |mut data: Vec<u8>| {
            data.extend_from_slice(&[0x90, 0x00]);
            data
        };
        let data = command
            .get(5..5 + usize::from(*command.get(4).unwrap_or(&0)))
            .unwrap_or(&[]);
        match (command[0], command[1]) {
            (0x00, 0xA4) => {
                if data != TEST_AID_CREDIT {
                    return vec![0x6A, 0x82];
                }
                let proprietary = tlv(0xA5, &[tlv(0x50, b"ICS"), self.fci.clone()].concat());
                ok(tlv(0x6F, &[tlv(0x84, data), proprietary].concat()))
            }
            (0x80, 0xA8) => {
                let value = [&self.aip[..], &[0x08, 0x01, 0x01, 0x00]].concat();
                ok(tlv(0x80, &value))
            }
            (0x00, 0xB2) => ok(tlv(0x70, &self.record)),
            (0x00, 0x88) => match &self.icc {
                Some(icc) => {
                    let fields =
                        SignedDataFields::dynamic_data(vec![0x04, 1, 2, 3, 4], data.to_vec());
                    ok(tlv(0x80, &sign_data(icc, &fields, true)))
                }
                None => vec![0x6D, 0x00],
            },
            (0x00, 0x82) => self.external_authenticate.to_vec(),
            (0x80, 0xAE) => {
                let cid = if self.cids.is_empty() {
                    command[2] & 0xC0
                } else {
                    self.cids.remove(0)
                };
                let value = [&[cid, 0x00, 0x07][..], &[0xA5; 8]].concat();
                ok(tlv(0x80, &value))
            }
            _ => vec![0x6A, 0x88],
        }
    }

    fn sent(&self, instruction: u8) -> Vec<&Vec<u8>> {
        self.commands
            .iter()
            .filter(|c| c[1] == instruction)
            .collect()
    }
}

/// Expiry 2030-12-31, a PAN, CDOL1 asking for amount, UN and TVR, CDOL2 for
/// ARC and TVR.
fn base_record() -> Vec<Vec<u8>> {
    vec![
        tlv(0x5F24, &[0x30, 0x12, 0x31]),
        tlv(0x5A, &PAN),
        tlv(0x8C, &[0x9F, 0x02, 0x06, 0x9F, 0x37, 0x04, 0x95, 0x05]),
        tlv(0x8D, &[0x8A, 0x02, 0x95, 0x05]),
    ]
}

/// A DDA card (CA 1024 > issuer 1024 > ICC 768 of the ODA test PKI) with
/// `ddol` as its DDOL (9F49), or none; and the CA keys that verify it.
fn dda_card(ddol: Option<&[u8]>) -> (Card, CaKeyStore) {
    let (ca, issuer, icc) = (ca_1024(), issuer_1024(), icc_768());
    let issuer_certificate = certify(&ca, &issuer, &CertificateFields::issuer(&PAN[..3]));
    let icc_certificate = certify(&issuer, &icc, &CertificateFields::icc(&PAN));
    let mut record = base_record();
    record.extend([
        tlv(0x8F, &[oda_support::CA_INDEX]),
        tlv(0x90, &issuer_certificate.certificate),
        tlv(0x9F32, &issuer_certificate.exponent),
        tlv(0x9F46, &icc_certificate.certificate),
        tlv(0x9F47, &icc_certificate.exponent),
    ]);
    if let Some(remainder) = &issuer_certificate.remainder {
        record.push(tlv(0x92, remainder));
    }
    if let Some(remainder) = &icc_certificate.remainder {
        record.push(tlv(0x9F48, remainder));
    }
    if let Some(ddol) = ddol {
        record.push(tlv(0x9F49, ddol));
    }
    let keys = TerminalFixture::new(&ca).ca_keys;
    let mut card = Card::new([AIP_DDA | AIP_TRM, 0x00], record.concat());
    card.icc = Some(icc);
    (card, keys)
}

/// What the host answers.
#[derive(Clone, Copy)]
enum Host {
    Approve,
    /// Approves and sends Issuer Authentication Data (91).
    ApproveWithArpc,
    /// Refers the transaction with this ARC and Issuer Authentication Data;
    /// the attendant's call then approves (`true`) or declines.
    Refer([u8; 2], bool),
}

struct Run {
    outcome: Outcome,
    went_online: bool,
    /// The ARC of the kernel's `IssuerReferral` request, when it asked.
    referral_asked: Option<[u8; 2]>,
}

/// The terminal context of a test: no exception file.
fn context<'a>(
    config: &'a TerminalConfig,
    keys: &'a CaKeyStore,
    revocations: &'a RevocationList,
) -> TerminalContext<'a> {
    TerminalContext {
        config,
        ca_keys: keys,
        revocations,
        exception_file: &[],
    }
}

/// The default terminal with the list-of-AIDs method only.
fn terminal() -> TerminalConfig {
    let mut config = TerminalConfig::default();
    config.selection.pse = false;
    config
}

fn run(
    config: &TerminalConfig,
    inputs: TransactionInputs,
    card: &mut Card,
    keys: &CaKeyStore,
    host: Host,
) -> Run {
    let revocations = RevocationList::new();
    let context = context(config, keys, &revocations);
    let mut t = Transaction::new(context, test_crypto(), inputs).unwrap();
    let mut went_online = false;
    let mut referral_asked = None;
    let arpc = [0x11u8; 10];
    for _ in 0..200 {
        match t.request() {
            Request::Transmit(command) => {
                let response = card.respond(command);
                t.on_response(&response).unwrap();
            }
            Request::ChooseApplication { .. } => t.on_application_chosen(Some(0)).unwrap(),
            Request::EnterPin { .. } => t.on_pin(PinEntry::Bypassed).unwrap(),
            Request::RecentAmount { .. } => t.on_recent_amount(0).unwrap(),
            Request::IssuerReferral {
                authorisation_response_code,
            } => {
                referral_asked = Some(authorisation_response_code);
                let Host::Refer(_, approves) = host else {
                    panic!("a referral without the host referring");
                };
                // Asked once: a second answer is refused.
                t.on_referral(approves).unwrap();
                assert!(t.on_referral(approves).is_err());
            }
            Request::GoOnline(_) => {
                went_online = true;
                let (approved, authorisation_response_code) = match host {
                    Host::Refer(code, _) => (false, code),
                    _ => (true, *b"00"),
                };
                let response = HostResponse {
                    reachable: true,
                    approved,
                    authorisation_response_code,
                    issuer_authentication_data: match host {
                        Host::Approve => None,
                        Host::ApproveWithArpc | Host::Refer(..) => Some(&arpc),
                    },
                    scripts: &[],
                };
                t.on_host(response).unwrap();
            }
            Request::Done(outcome) => {
                return Run {
                    outcome: outcome.clone(),
                    went_online,
                    referral_asked,
                }
            }
        }
    }
    panic!("the transaction did not end");
}

fn byte(outcome: &Outcome, index: usize) -> u8 {
    outcome.tvr.0[index]
}

// ---- ICS 1.3 row 37: default DDOL (Book 2, 6.5.1) --------------------------

/// ICS row 37, Book 2, 6.5.1: a DDA card without a DDOL (9F49): the terminal
/// builds INTERNAL AUTHENTICATE from its default DDOL (`9F3704`), so the
/// command carries the transaction's Unpredictable Number, and the card's
/// signature over it verifies: DDA succeeds, TVR byte 1 stays clear of
/// "DDA failed" and "ICC data missing".
#[test]
fn default_ddol_is_used_when_the_card_has_none() {
    let (mut card, keys) = dda_card(None);
    let r = run(&terminal(), TEST_INPUTS, &mut card, &keys, Host::Approve);
    let internal_authenticate = card.sent(0x88);
    assert_eq!(internal_authenticate.len(), 1);
    assert_eq!(
        &internal_authenticate[0][4..9],
        &[0x04, 0x11, 0x22, 0x33, 0x44],
        "Lc 04 and the Unpredictable Number of the default DDOL"
    );
    assert_eq!(r.outcome.oda_method, OdaMethod::Dda);
    assert_eq!(r.outcome.oda_result, OdaResult::Succeeded);
    assert_eq!(byte(&r.outcome, 0) & 0xA8, 0, "no ODA failure bit");
}

/// Book 2, 6.5.1 (docs/conformance.md, "DDOL without 9F37"): the DDOL must
/// ask for the Unpredictable Number, whoever supplies it. A terminal default
/// DDOL without 9F37 and a card DDOL without 9F37 end the same way: DDA
/// failed (TVR byte 1 b4), no INTERNAL AUTHENTICATE sent.
#[test]
fn a_ddol_without_the_unpredictable_number_fails_dda_from_card_or_terminal() {
    // The card's DDOL asks for the terminal country code only.
    let (mut card, keys) = dda_card(Some(&[0x9F, 0x1A, 0x02]));
    let r = run(&terminal(), TEST_INPUTS, &mut card, &keys, Host::Approve);
    assert!(
        card.sent(0x88).is_empty(),
        "card DDOL: no INTERNAL AUTHENTICATE"
    );
    assert_eq!(r.outcome.oda_result, OdaResult::Failed);
    assert_eq!(byte(&r.outcome, 0) & 0x08, 0x08, "card DDOL: DDA failed");

    let (mut card, keys) = dda_card(None);
    let mut config = terminal();
    for app in config.applications.iter_mut() {
        app.default_ddol.clear();
        app.default_ddol
            .extend_from_slice(&[0x9F, 0x1A, 0x02])
            .unwrap();
    }
    let r = run(&config, TEST_INPUTS, &mut card, &keys, Host::Approve);
    assert!(
        card.sent(0x88).is_empty(),
        "default DDOL: no INTERNAL AUTHENTICATE"
    );
    assert_eq!(r.outcome.oda_result, OdaResult::Failed);
    assert_eq!(byte(&r.outcome, 0) & 0x08, 0x08, "default DDOL: DDA failed");
}

// ---- ICS 1.3 row 50: TC hash value and the default TDOL (Book 3, 5.4, 9.2.2)

/// ICS row 50, Book 3, 5.4 and Annex C5: CDOL1 asks for the TC Hash Value
/// (98) and the card has no TDOL (97): the terminal hashes the data of its
/// default TDOL (`9F0206`, the amount) with SHA-1, sends that hash in the
/// GENERATE AC data, and sets TVR byte 5 b8 "Default TDOL used". With the
/// card's own TDOL the bit stays clear.
#[test]
fn default_tdol_sets_its_tvr_bit_and_feeds_the_tc_hash() {
    let record = |tdol: Option<&[u8]>| {
        let mut record = base_record();
        record[2] = tlv(0x8C, &[0x9F, 0x02, 0x06, 0x98, 0x14, 0x95, 0x05]);
        if let Some(tdol) = tdol {
            record.push(tlv(0x97, tdol));
        }
        record.concat()
    };
    let mut config = terminal();
    for app in config.applications.iter_mut() {
        app.default_tdol
            .extend_from_slice(&[0x9F, 0x02, 0x06])
            .unwrap();
    }
    let mut card = Card::new([AIP_TRM, 0x00], record(None));
    let r = run(
        &config,
        TEST_INPUTS,
        &mut card,
        &CaKeyStore::new(),
        Host::Approve,
    );
    let amount = [0x00, 0x00, 0x00, 0x00, 0x10, 0x00];
    let hash = test_crypto().sha1(&[&amount]);
    let first = card.sent(0xAE)[0];
    assert_eq!(&first[5..11], &amount);
    assert_eq!(
        &first[11..31],
        &hash,
        "TC hash value over the default TDOL data"
    );
    assert_eq!(byte(&r.outcome, 4) & 0x80, 0x80, "Default TDOL used");

    let mut card = Card::new([AIP_TRM, 0x00], record(Some(&[0x9F, 0x02, 0x06])));
    let r = run(
        &config,
        TEST_INPUTS,
        &mut card,
        &CaKeyStore::new(),
        Host::Approve,
    );
    assert_eq!(&card.sent(0xAE)[0][11..31], &hash);
    assert_eq!(byte(&r.outcome, 4) & 0x80, 0, "the card's TDOL: bit clear");
}

// ---- ICS 1.8 row 81: issuer authentication failed (Book 3, 10.9) ----------

/// ICS row 81, Book 3, 10.9: the card supports issuer authentication (AIP
/// byte 1 b3), the issuer sends Issuer Authentication Data, EXTERNAL
/// AUTHENTICATE is sent once and answered `6300`: TVR byte 5 b7 "Issuer
/// authentication failed" and TSI byte 1 b5 "Issuer authentication was
/// performed" are set. Answered `9000`, only the TSI bit is.
#[test]
fn issuer_authentication_failure_sets_its_tvr_bit() {
    for (status, failed) in [([0x63, 0x00], true), ([0x90, 0x00], false)] {
        let record = base_record().concat();
        let mut card = Card::new([AIP_TRM | AIP_ISSUER_AUTHENTICATION, 0x00], record);
        card.external_authenticate = status;
        let inputs = TransactionInputs {
            merchant_forced_online: true,
            ..TEST_INPUTS
        };
        let r = run(
            &terminal(),
            inputs,
            &mut card,
            &CaKeyStore::new(),
            Host::ApproveWithArpc,
        );
        assert!(r.went_online);
        let sent = card.sent(0x82);
        assert_eq!(sent.len(), 1, "EXTERNAL AUTHENTICATE once");
        assert_eq!(&sent[0][5..15], &[0x11; 10]);
        assert_eq!(
            byte(&r.outcome, 4) & 0x40 != 0,
            failed,
            "status {status:02X?}"
        );
        assert_eq!(r.outcome.tsi.0[0] & 0x10, 0x10, "TSI issuer authentication");
    }
}

// ---- ICS 2.6, row 77: CID "service not allowed" on an AAC -----------------

/// ICS 2.6 (docs/conformance.md), Book 3, 6.5.5.4 and 10.8: an AAC whose
/// CID gives the reason "service not allowed" (b3-b1 `001`) is a decline
/// like any other AAC: Z1, the card's cryptogram kept for clearing, no
/// termination and no second GENERATE AC.
#[test]
fn aac_with_service_not_allowed_declines_offline() {
    let mut card = Card::new([AIP_TRM, 0x00], base_record().concat());
    card.cids = vec![AAC | 0x01];
    let r = run(
        &terminal(),
        TEST_INPUTS,
        &mut card,
        &CaKeyStore::new(),
        Host::Approve,
    );
    assert_eq!(r.outcome.decision, Decision::Declined);
    assert_eq!(r.outcome.authorisation_response_code, Some(*b"Z1"));
    assert_eq!(r.outcome.cryptogram, Some([0xA5; 8]));
    assert_eq!(card.sent(0xAE).len(), 1);
    assert!(!r.went_online);
    let _ = (TC, ARQC);
}

// ---- ICS row 83: issuer referral (Book 4, 6.5.2) -------------------------

/// ICS row 83, Book 4, 6.5.2 (voice referrals): the issuer answers with
/// ARC `01` or `02`. On an attended terminal the kernel asks the caller
/// (`Request::IssuerReferral`, with the ARC) before anything more goes to
/// the card; EXTERNAL AUTHENTICATE follows as for any answer with 91
/// (Book 3, 10.9), and the second GENERATE AC asks for a TC when the call
/// approved, an AAC when it declined. The ARC the card gets in CDOL2 stays
/// the issuer's, and the outcome names the referral.
#[test]
fn issuer_referral_asks_the_attendant_and_the_call_decides_the_second_generate_ac() {
    use emv_kernel::outcome::ReferralDecision;
    for (code, approves) in [(*b"01", true), (*b"02", false), (*b"01", false)] {
        let record = base_record().concat();
        let mut card = Card::new([AIP_TRM | AIP_ISSUER_AUTHENTICATION, 0x00], record);
        let inputs = TransactionInputs {
            merchant_forced_online: true,
            ..TEST_INPUTS
        };
        let host = Host::Refer(code, approves);
        let r = run(&terminal(), inputs, &mut card, &CaKeyStore::new(), host);
        assert_eq!(r.referral_asked, Some(code));
        assert_eq!(
            card.sent(0x82).len(),
            1,
            "EXTERNAL AUTHENTICATE after the call"
        );
        let generate_ac = card.sent(0xAE);
        assert_eq!(generate_ac.len(), 2);
        let second = generate_ac[1];
        assert_eq!(second[2] & 0xC0, if approves { TC } else { AAC });
        // CDOL2: ARC then TVR.
        assert_eq!(&second[5..7], &code, "the issuer's ARC in CDOL2");
        let (decision, referral) = if approves {
            (Decision::Approved, ReferralDecision::Approved)
        } else {
            (Decision::Declined, ReferralDecision::Declined)
        };
        assert_eq!(r.outcome.decision, decision);
        assert_eq!(r.outcome.referral, Some(referral));
        assert!(r.outcome.online);
        assert_eq!(r.outcome.authorisation_response_code, Some(code));
    }
}

/// ICS row 83, Book 4, 6.5.2: an unattended terminal (Terminal Type `25`)
/// has nobody to make the call: the referral is declined without asking,
/// the second GENERATE AC asks for an AAC. An issuer approval (`00`) is no
/// referral on any terminal.
#[test]
fn an_unattended_terminal_declines_a_referral_without_asking() {
    use emv_kernel::outcome::ReferralDecision;
    let mut config = terminal();
    config.terminal_type = 0x25;
    let inputs = TransactionInputs {
        merchant_forced_online: true,
        ..TEST_INPUTS
    };
    let mut card = Card::new([AIP_TRM, 0x00], base_record().concat());
    let r = run(
        &config,
        inputs,
        &mut card,
        &CaKeyStore::new(),
        Host::Refer(*b"01", true),
    );
    assert_eq!(r.referral_asked, None);
    assert_eq!(card.sent(0xAE)[1][2] & 0xC0, AAC);
    assert_eq!(r.outcome.decision, Decision::Declined);
    assert_eq!(r.outcome.referral, Some(ReferralDecision::Declined));

    let mut card = Card::new([AIP_TRM, 0x00], base_record().concat());
    let r = run(
        &terminal(),
        inputs,
        &mut card,
        &CaKeyStore::new(),
        Host::Approve,
    );
    assert_eq!(r.referral_asked, None);
    assert_eq!(r.outcome.referral, None);
    assert_eq!(r.outcome.decision, Decision::Approved);
}

// ---- ICS row 97: forced acceptance (Book 4, 6.5.4) -------------------------

/// ICS row 97, Book 4, 6.5.4: after the card declines (an AAC), the
/// attendant of an attended terminal may force acceptance. The outcome
/// keeps the card's decision and its AAC for clearing and is flagged
/// `forced_acceptance`. It is refused before the end, after an approval,
/// on a terminated transaction and on an unattended terminal.
#[test]
fn forced_acceptance_flags_a_card_decline_on_an_attended_terminal_only() {
    use emv_kernel::transaction::UsageError;
    let revocations = RevocationList::new();
    let keys = CaKeyStore::new();
    let attended = terminal();
    let mut unattended = terminal();
    unattended.terminal_type = 0x25;
    for (config, cid, allowed) in [
        (&attended, AAC, true),
        (&unattended, AAC, false),
        (&attended, TC, false),
    ] {
        let context = context(config, &keys, &revocations);
        let mut card = Card::new([AIP_TRM, 0x00], base_record().concat());
        card.cids = vec![cid];
        let mut t = Transaction::new(context, test_crypto(), TEST_INPUTS).unwrap();
        assert_eq!(
            t.force_acceptance(),
            Err(UsageError::NotExpected),
            "before the end"
        );
        for _ in 0..100 {
            match t.request() {
                Request::Transmit(command) => {
                    let response = card.respond(command);
                    t.on_response(&response).unwrap();
                }
                Request::RecentAmount { .. } => t.on_recent_amount(0).unwrap(),
                Request::EnterPin { .. } => t.on_pin(PinEntry::Bypassed).unwrap(),
                Request::Done(_) => break,
                other => panic!("unexpected {other:?}"),
            }
        }
        let before = t.outcome().expect("done").clone();
        let result = t.force_acceptance();
        let after = t.outcome().unwrap().clone();
        if allowed {
            assert_eq!(result, Ok(()));
            assert!(after.forced_acceptance);
            assert_eq!(after.decision, Decision::Declined);
            assert_eq!(
                after.clearing_data, before.clearing_data,
                "the AAC is cleared as it was"
            );
        } else {
            assert_eq!(result, Err(UsageError::ForcedAcceptanceNotAllowed));
            assert_eq!(after, before);
        }
    }
    // A terminated transaction: nothing to accept.
    let context = context(&attended, &keys, &revocations);
    let mut t = Transaction::new(context, test_crypto(), TEST_INPUTS).unwrap();
    t.on_transport_error();
    assert_eq!(
        t.force_acceptance(),
        Err(UsageError::ForcedAcceptanceNotAllowed)
    );
}

// ---- ICS row 92: refunds (docs/conformance.md, "Refunds") ------------------

/// ICS row 92: a refund (9C `20`) under the default policy asks the card
/// for an AAC at the first GENERATE AC, even where terminal action analysis
/// would ask for a TC or an ARQC, and the card's AAC completes the refund: approved,
/// ARC Y1, the AAC in field 55, no second GENERATE AC. Under
/// `RefundPolicy::AsPurchase` terminal action analysis decides
/// and an AAC from the card is a decline.
#[test]
fn a_refund_asks_for_an_aac_and_the_aac_completes_it() {
    use emv_kernel::config::RefundPolicy;
    let refund = TransactionInputs {
        transaction_type: 0x20,
        ..TEST_INPUTS
    };
    let mut card = Card::new([AIP_TRM, 0x00], base_record().concat());
    let r = run(
        &terminal(),
        refund,
        &mut card,
        &CaKeyStore::new(),
        Host::Approve,
    );
    let generate_ac = card.sent(0xAE);
    assert_eq!(generate_ac.len(), 1);
    assert_eq!(generate_ac[0][2] & 0xC0, AAC, "AAC asked for");
    assert_eq!(r.outcome.decision, Decision::Approved);
    assert_eq!(r.outcome.authorisation_response_code, Some(*b"Y1"));
    assert_eq!(r.outcome.cryptogram, Some([0xA5; 8]));
    assert!(!r.went_online);

    let mut as_purchase = terminal();
    as_purchase.refund_policy = RefundPolicy::AsPurchase;
    let mut card = Card::new([AIP_TRM, 0x00], base_record().concat());
    let r = run(
        &as_purchase,
        refund,
        &mut card,
        &CaKeyStore::new(),
        Host::Approve,
    );
    // Terminal action analysis decides: not the refund's AAC (an ARQC
    // here, the host approves).
    assert_ne!(card.sent(0xAE)[0][2] & 0xC0, AAC);
    assert_eq!(r.outcome.decision, Decision::Approved);
    let mut card = Card::new([AIP_TRM, 0x00], base_record().concat());
    card.cids = vec![AAC];
    let r = run(
        &as_purchase,
        refund,
        &mut card,
        &CaKeyStore::new(),
        Host::Approve,
    );
    assert_eq!(r.outcome.decision, Decision::Declined);
    assert_eq!(r.outcome.authorisation_response_code, Some(*b"Z1"));

    // A purchase is not touched by the policy.
    let mut card = Card::new([AIP_TRM, 0x00], base_record().concat());
    let r = run(
        &terminal(),
        TEST_INPUTS,
        &mut card,
        &CaKeyStore::new(),
        Host::Approve,
    );
    assert_ne!(card.sent(0xAE)[0][2] & 0xC0, AAC);
    assert_eq!(r.outcome.decision, Decision::Approved);
}

// ---- ICS row 93: transaction types against 9F40 (Book 4, Annex A3) ---------

/// ICS row 93, Book 4, Annex A3: a transaction of a type the terminal's
/// Additional Terminal Capabilities (9F40 bytes 1-2) do not list is refused
/// before anything is sent; a listed one starts. The default terminal
/// (`F000F0A001`) runs goods, services, cash and cashback; inquiry (`31`),
/// transfer (`40`), payment (`50`) and cash deposit (`21`) need their bits.
/// A refund has no bit and is never refused here.
#[test]
fn transaction_types_need_their_9f40_bit() {
    use emv_kernel::transaction::UsageError;
    let keys = CaKeyStore::new();
    let revocations = RevocationList::new();
    let start = |config: &TerminalConfig, kind: u8| {
        let context = context(config, &keys, &revocations);
        let inputs = TransactionInputs {
            transaction_type: kind,
            ..TEST_INPUTS
        };
        Transaction::new(context, test_crypto(), inputs).map(|_| ())
    };
    let default = terminal();
    for kind in [0x00, 0x01, 0x09, 0x20] {
        assert_eq!(start(&default, kind), Ok(()), "{kind:02X}");
    }
    let refused = Err(UsageError::TransactionTypeNotSupported);
    for (kind, byte, bit) in [
        (0x31, 0, 0x08),
        (0x40, 0, 0x04),
        (0x50, 0, 0x02),
        (0x21, 1, 0x80),
    ] {
        assert_eq!(start(&default, kind), refused, "{kind:02X}");
        let mut config = terminal();
        config.additional_terminal_capabilities[byte] |= bit;
        assert_eq!(start(&config, kind), Ok(()), "{kind:02X} with its bit");
    }
    let mut goods_only = terminal();
    goods_only.additional_terminal_capabilities[0] = 0x40;
    assert_eq!(start(&goods_only, 0x00), Ok(()));
    assert_eq!(start(&goods_only, 0x01), refused, "no cash");
    assert_eq!(start(&goods_only, 0x09), refused, "no cashback");
    assert_eq!(start(&goods_only, 0x20), Ok(()), "a refund has no bit");
}
