//! Scenario tests: the decision rules chained the way the engine chains
//! them (Book 3: 10.4 restrictions, 10.5 cardholder verification, 10.6 risk
//! management, 10.7 terminal action analysis, 10.8 card action analysis).
//!
//! Each scenario names a card profile, a terminal configuration and what the
//! card answers, and checks the TVR, the CVM Results, the cryptogram the
//! terminal asks for and the final decision with its response code. No I/O:
//! the card's answers (PIN results, counters, CIDs) are scripted.

use emv_kernel::action::{
    first_card_action_analysis, second_card_action_analysis, terminal_action_analysis,
    unable_online_response_code, unable_to_go_online, ActionCodes, AfterFirstGenerateAc,
    SecondGenerateAcContext,
};
use emv_kernel::apdu::RequestedCryptogram as Cryptogram;
use emv_kernel::cvm::{CardholderVerification, CvmContext, CvmStep, PinOutcome};
use emv_kernel::date::Date;
use emv_kernel::render::Cid;
use emv_kernel::restrict::{
    processing_restrictions, AdditionalTerminalCapabilities, CardRestrictionData, Connectivity,
    TerminalRestrictionData, TerminalType, TransactionType,
};
use emv_kernel::risk::{terminal_risk_management, RandomSelection, RiskInput, VelocityCounters};
use emv_kernel::tvr::{Tsi, Tvr};

/// The card side of a scenario.
struct Card {
    expiration: [u8; 3],
    cvm_list: Vec<u8>,
    lower_limit: Option<u8>,
    upper_limit: Option<u8>,
    atc: Option<u16>,
    last_online_atc: Option<u16>,
    iac: ActionCodes,
    /// CID answers to the first and (if any) second GENERATE AC.
    cids: [u8; 2],
}

/// The terminal side of a scenario.
struct Terminal {
    terminal_type: u8,
    online_capable: bool,
    floor_limit: u64,
    tac: ActionCodes,
    /// The issuer's answer if the terminal goes online: `None` is
    /// "host unreachable"; `Some(true)` approves.
    host: Option<bool>,
}

/// What a scenario produced.
#[derive(Debug, PartialEq)]
struct Result {
    tvr: [u8; 5],
    cvm_results: [u8; 3],
    first_request: Cryptogram,
    approved: bool,
    /// Y1/Z1/Y3/Z3, or `None` when the issuer's code stands.
    response_code: Option<[u8; 2]>,
}

const TODAY: Date = Date {
    year: 2025,
    month: 6,
    day: 15,
};

fn cvm_list(rules: &[[u8; 2]]) -> Vec<u8> {
    let mut v = vec![0, 0, 0, 0, 0, 0, 0, 0];
    for r in rules {
        v.extend_from_slice(r);
    }
    v
}

fn run(card: &Card, terminal: &Terminal, amount: u64, pins: &[PinOutcome]) -> Result {
    let mut tvr = Tvr::default();
    let mut tsi = Tsi::default();
    let restriction_card = CardRestrictionData {
        application_version: Some(&[0x00, 0x8C]),
        application_usage_control: Some(&[0xFF, 0xC0]),
        issuer_country_code: Some(&[0x08, 0x26]),
        effective_date: Some(&[0x20, 0x01, 0x01]),
        expiration_date: Some(&card.expiration),
    };
    let restriction_terminal = TerminalRestrictionData {
        application_version: [0x00, 0x8C],
        country_code: [0x08, 0x26],
        terminal_type: TerminalType(terminal.terminal_type),
        additional_capabilities: AdditionalTerminalCapabilities([0x60, 0, 0xF0, 0xA0, 0x01]),
        transaction_type: TransactionType::PURCHASE,
        amount_other: 0,
        transaction_date: TODAY,
    };
    processing_restrictions(&restriction_card, &restriction_terminal, &mut tvr).unwrap();

    let context = CvmContext {
        terminal_capabilities: [0xE0, 0xF8, 0xC8],
        terminal_type: TerminalType(terminal.terminal_type),
        transaction_type: TransactionType::PURCHASE,
        amount_authorised: amount,
        transaction_currency_code: [0x08, 0x26],
        application_currency_code: Some([0x08, 0x26]),
        pin_pad_working: true,
        subsequent_pin_bypass: false,
    };
    let (mut machine, mut step) = CardholderVerification::start(
        [0x7C, 0x00],
        Some(&card.cvm_list),
        context,
        &mut tvr,
        &mut tsi,
    )
    .unwrap();
    let mut pins = pins.iter();
    let cvm_results = loop {
        match step {
            CvmStep::Done(result) => break result.cvm_results,
            _ => step = machine.report(*pins.next().unwrap(), &mut tvr).unwrap(),
        }
    };

    let risk = RiskInput {
        amount_authorised: amount,
        recent_same_pan_total: 0,
        floor_limit: terminal.floor_limit,
        random_selection: RandomSelection::default(),
        random: 50,
        lower_consecutive_offline_limit: card.lower_limit,
        upper_consecutive_offline_limit: card.upper_limit,
        counters: VelocityCounters {
            atc: card.atc,
            last_online_atc: card.last_online_atc,
        },
        pan: &[0x47, 0x61, 0x73, 0x90, 0x01, 0x01, 0x00, 0x10],
        exception_file: &[],
    };
    terminal_risk_management(&risk, &mut tvr, &mut tsi).unwrap();

    let first_request = terminal_action_analysis(
        &tvr,
        &card.iac,
        &terminal.tac,
        if terminal.online_capable {
            Connectivity::OfflineWithOnlineCapability
        } else {
            Connectivity::OfflineOnly
        },
    );
    let first = first_card_action_analysis(
        first_request,
        Cid { raw: card.cids[0] },
        terminal.online_capable,
    )
    .unwrap();
    let (second_request, context) = match first.next {
        AfterFirstGenerateAc::OfflineApproved | AfterFirstGenerateAc::OfflineDeclined => {
            return Result {
                tvr: tvr.0,
                cvm_results,
                first_request,
                approved: first.next == AfterFirstGenerateAc::OfflineApproved,
                response_code: emv_kernel::action::offline_response_code(first.next),
            };
        }
        AfterFirstGenerateAc::GoOnline => match terminal.host {
            Some(true) => (Cryptogram::Tc, SecondGenerateAcContext::Online),
            Some(false) => (Cryptogram::Aac, SecondGenerateAcContext::Online),
            None => (
                unable_to_go_online(&tvr, &card.iac, &terminal.tac),
                SecondGenerateAcContext::UnableToGoOnline,
            ),
        },
        AfterFirstGenerateAc::UnableToGoOnline => (
            unable_to_go_online(&tvr, &card.iac, &terminal.tac),
            SecondGenerateAcContext::UnableToGoOnline,
        ),
    };
    if context == SecondGenerateAcContext::UnableToGoOnline {
        // The code the terminal puts in CDOL2 matches its request.
        let planned = unable_online_response_code(second_request);
        assert_eq!(
            planned,
            if second_request == Cryptogram::Tc {
                *b"Y3"
            } else {
                *b"Z3"
            }
        );
    }
    let second =
        second_card_action_analysis(second_request, Cid { raw: card.cids[1] }, context).unwrap();
    Result {
        tvr: tvr.0,
        cvm_results,
        first_request,
        approved: second.next.approved,
        response_code: second.next.authorisation_response_code,
    }
}

/// A healthy card: valid until 2029, signature preferred for purchases,
/// velocity limits 5/10 with two offline transactions since the last
/// online one, issuer codes sending floor-limit and velocity cases online.
fn good_card() -> Card {
    Card {
        expiration: [0x29, 0x12, 0x31],
        cvm_list: cvm_list(&[[0x42, 0x01], [0x5E, 0x03], [0x1F, 0x03]]),
        lower_limit: Some(5),
        upper_limit: Some(10),
        atc: Some(12),
        last_online_atc: Some(10),
        iac: ActionCodes::issuer(
            Some([0x00, 0x40, 0x00, 0x00, 0x00]),
            Some([0x00, 0x00, 0x20, 0xE0, 0x00]),
            Some([0x00, 0x00, 0x00, 0x80, 0x00]),
        ),
        cids: [0x40, 0x40],
    }
}

/// An attended, online-capable merchant terminal (22), floor limit 100.00.
fn merchant() -> Terminal {
    Terminal {
        terminal_type: 0x22,
        online_capable: true,
        floor_limit: 10_000,
        tac: ActionCodes {
            denial: [0x00; 5],
            online: [0x00, 0x00, 0x00, 0x80, 0x00],
            default: [0x00, 0x00, 0x00, 0x80, 0x00],
        },
        host: Some(true),
    }
}

#[test]
fn offline_approval_under_the_floor_limit() {
    // 10.7: nothing in the TVR matches an action code: TC; the card agrees: Y1.
    let r = run(&good_card(), &merchant(), 1_000, &[]);
    assert_eq!(
        r,
        Result {
            tvr: [0; 5],
            cvm_results: [0x5E, 0x03, 0x00],
            first_request: Cryptogram::Tc,
            approved: true,
            response_code: Some(*b"Y1"),
        }
    );
}

#[test]
fn expired_card_is_declined_offline() {
    // 10.4.3 sets "Expired application"; IAC-Denial has that bit: AAC, Z1.
    let card = Card {
        expiration: [0x25, 0x05, 0x31],
        cids: [0x00, 0x00],
        ..good_card()
    };
    let r = run(&card, &merchant(), 1_000, &[]);
    assert_eq!(r.tvr, [0, 0x40, 0, 0, 0]);
    assert_eq!(r.first_request, Cryptogram::Aac);
    assert_eq!((r.approved, r.response_code), (false, Some(*b"Z1")));
}

#[test]
fn over_the_floor_limit_goes_online_and_the_issuer_approves() {
    // 10.6.1 floor limit; TAC-Online byte 4 b8: ARQC; issuer approves; TC.
    let card = Card {
        cids: [0x80, 0x40],
        ..good_card()
    };
    let r = run(&card, &merchant(), 15_000, &[]);
    assert_eq!(r.tvr, [0, 0, 0, 0x80, 0]);
    assert_eq!(r.first_request, Cryptogram::Arqc);
    assert_eq!(
        (r.approved, r.response_code),
        (true, None),
        "the issuer's code stands"
    );
}

#[test]
fn host_unreachable_falls_back_to_the_default_codes() {
    // 10.7 default: floor limit bit is in IAC-Default: AAC, Z3.
    let card = Card {
        cids: [0x80, 0x00],
        ..good_card()
    };
    let terminal = Terminal {
        host: None,
        ..merchant()
    };
    let r = run(&card, &terminal, 15_000, &[]);
    assert_eq!(r.first_request, Cryptogram::Arqc);
    assert_eq!((r.approved, r.response_code), (false, Some(*b"Z3")));

    // The same with default codes that do not cover the floor limit: TC, Y3.
    let lenient = Card {
        iac: ActionCodes::issuer(Some([0; 5]), Some([0, 0, 0x20, 0xE0, 0]), Some([0; 5])),
        cids: [0x80, 0x40],
        ..good_card()
    };
    let terminal = Terminal {
        tac: ActionCodes {
            default: [0; 5],
            ..merchant().tac
        },
        ..terminal
    };
    let r = run(&lenient, &terminal, 15_000, &[]);
    assert_eq!((r.approved, r.response_code), (true, Some(*b"Y3")));
}

#[test]
fn offline_only_terminal_decides_with_the_default_codes() {
    // Terminal type 23: offline only. 10.7: the default codes decide the
    // first GENERATE AC; the floor limit bit is in IAC-Default: AAC.
    let terminal = Terminal {
        terminal_type: 0x23,
        online_capable: false,
        host: None,
        ..merchant()
    };
    let card = Card {
        cids: [0x00, 0x00],
        ..good_card()
    };
    let r = run(&card, &terminal, 15_000, &[]);
    assert_eq!(r.first_request, Cryptogram::Aac);
    assert_eq!((r.approved, r.response_code), (false, Some(*b"Z1")));
    // Under the floor limit nothing matches: TC; the card answers ARQC, which
    // an offline-only terminal cannot honour: default analysis, TC, Y3.
    let card = Card {
        cids: [0x80, 0x40],
        ..good_card()
    };
    let r = run(&card, &terminal, 1_000, &[]);
    assert_eq!(r.first_request, Cryptogram::Tc);
    assert_eq!((r.approved, r.response_code), (true, Some(*b"Y3")));
}

#[test]
fn blocked_pin_falls_back_to_signature_and_goes_online() {
    // 10.5: the PIN is blocked (try limit), b7 set: next rule, signature.
    // IAC-Online byte 3 b6 (PIN Try Limit exceeded): ARQC; issuer approves.
    let card = Card {
        cvm_list: cvm_list(&[[0x41, 0x03], [0x1E, 0x03]]),
        cids: [0x80, 0x40],
        ..good_card()
    };
    let r = run(&card, &merchant(), 1_000, &[PinOutcome::TryLimitExceeded]);
    assert_eq!(r.tvr, [0, 0, 0x20, 0, 0]);
    assert_eq!(r.cvm_results, [0x1E, 0x03, 0x00]);
    assert_eq!(r.first_request, Cryptogram::Arqc);
    assert!(r.approved);
}

#[test]
fn new_card_past_its_velocity_limits_goes_online() {
    // 10.6.3: Last Online ATC 0 ("New card"), 12 offline transactions:
    // both limits exceeded; IAC-Online byte 4 b7/b6: ARQC; issuer declines.
    let card = Card {
        atc: Some(12),
        last_online_atc: Some(0),
        cids: [0x80, 0x00],
        ..good_card()
    };
    let terminal = Terminal {
        host: Some(false),
        ..merchant()
    };
    let r = run(&card, &terminal, 1_000, &[]);
    assert_eq!(r.tvr, [0, 0x08, 0, 0x60, 0]);
    assert_eq!(r.first_request, Cryptogram::Arqc);
    assert_eq!((r.approved, r.response_code), (false, None));
}
