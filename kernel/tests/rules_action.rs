//! Table tests for terminal action analysis (Book 3, 10.7), the GENERATE AC
//! reference control parameter (Book 3, 6.5.5.2; Book 2, 6.6) and card
//! action analysis (Book 3, 10.8; Book 4, A6 response codes).
//!
//! Every row names the rule it checks.

// Row tables are tuples on purpose: one line per rule.
#![allow(clippy::type_complexity)]

use emv_kernel::action::{
    cda_requested, first_card_action_analysis, offline_response_code, returned_cryptogram,
    second_card_action_analysis, terminal_action_analysis, unable_online_response_code,
    unable_to_go_online, ActionCodes, AfterFirstGenerateAc, CardActionError, CidReason,
    SecondGenerateAcContext,
};
use emv_kernel::apdu::{generate_ac, RequestedCryptogram as CryptogramType};
use emv_kernel::config::TerminalConfig;
use emv_kernel::render::Cid;
use emv_kernel::restrict::{connectivity, Connectivity};
use emv_kernel::tvr::{self, Tvr};

use CryptogramType::{Aac, Arqc, Tc};

/// The terminal action codes of the test terminal (config defaults).
const TAC: ActionCodes = ActionCodes {
    denial: [0x00, 0x10, 0x00, 0x00, 0x00],
    online: [0xDC, 0x40, 0x04, 0xF8, 0x00],
    default: [0xDC, 0x40, 0x00, 0x00, 0x00],
};
const TAC_ZERO: ActionCodes = ActionCodes {
    denial: [0; 5],
    online: [0; 5],
    default: [0; 5],
};

fn tvr_with(bits: &[tvr::Bit]) -> Tvr {
    let mut t = Tvr::default();
    for b in bits {
        t.set(*b);
    }
    t
}

#[test]
fn absent_issuer_action_codes() {
    let codes = ActionCodes::issuer(None, None, None);
    assert_eq!(
        codes.denial, [0x00; 5],
        "10.7: absent IAC-Denial is all zeros"
    );
    assert_eq!(
        codes.online, [0xFF; 5],
        "10.7: absent IAC-Online is all ones"
    );
    assert_eq!(
        codes.default, [0xFF; 5],
        "10.7: absent IAC-Default is all ones"
    );
    let given = ActionCodes::issuer(Some([1; 5]), Some([2; 5]), Some([3; 5]));
    assert_eq!(
        (given.denial, given.online, given.default),
        ([1; 5], [2; 5], [3; 5])
    );
}

#[test]
fn terminal_action_analysis_table() {
    let none = ActionCodes::issuer(None, None, None);
    let zero = ActionCodes::issuer(Some([0; 5]), Some([0; 5]), Some([0; 5]));
    let iac_denial_expired =
        ActionCodes::issuer(Some([0, 0x40, 0, 0, 0]), Some([0; 5]), Some([0; 5]));
    let iac_online_floor =
        ActionCodes::issuer(Some([0; 5]), Some([0, 0, 0, 0x80, 0]), Some([0; 5]));
    let iac_default_floor =
        ActionCodes::issuer(Some([0; 5]), Some([0; 5]), Some([0, 0, 0, 0x80, 0]));
    let clean = Tvr::default();
    let oda_not_done = tvr_with(&[tvr::ODA_NOT_PERFORMED]);
    let floor = tvr_with(&[tvr::EXCEEDS_FLOOR_LIMIT]);
    let expired = tvr_with(&[tvr::EXPIRED_APPLICATION]);
    let service = tvr_with(&[tvr::SERVICE_NOT_ALLOWED]);
    let script = tvr_with(&[tvr::SCRIPT_FAILED_AFTER_FINAL_GENAC]);
    // (rule, TVR, IACs, TACs, online capable, expected)
    let rows: Vec<(&str, Tvr, ActionCodes, ActionCodes, bool, CryptogramType)> = vec![
        ("clean TVR, online terminal: TC", clean, none, TAC, true, Tc),
        (
            "clean TVR, offline-only terminal: TC",
            clean,
            none,
            TAC,
            false,
            Tc,
        ),
        (
            "absent IAC-Online (all ones) sends any TVR bit online",
            script,
            none,
            TAC_ZERO,
            true,
            Arqc,
        ),
        (
            "absent IAC-Default (all ones) declines any TVR bit offline-only",
            script,
            none,
            TAC_ZERO,
            false,
            Aac,
        ),
        (
            "absent IAC-Denial (zeros) never denies",
            script,
            none,
            TAC_ZERO,
            true,
            Arqc,
        ),
        (
            "IAC-Denial match: AAC even online-capable",
            expired,
            iac_denial_expired,
            TAC_ZERO,
            true,
            Aac,
        ),
        (
            "IAC-Denial match: AAC offline-only",
            expired,
            iac_denial_expired,
            TAC_ZERO,
            false,
            Aac,
        ),
        ("TAC-Denial match: AAC", service, zero, TAC, true, Aac),
        (
            "TAC-Denial takes precedence over online codes",
            service,
            none,
            TAC,
            true,
            Aac,
        ),
        (
            "IAC-Online match: ARQC",
            floor,
            iac_online_floor,
            TAC_ZERO,
            true,
            Arqc,
        ),
        (
            "TAC-Online match: ARQC",
            oda_not_done,
            zero,
            TAC,
            true,
            Arqc,
        ),
        ("no online match: TC", floor, zero, TAC_ZERO, true, Tc),
        (
            "online terminal ignores the default codes at first GENERATE AC",
            floor,
            iac_default_floor,
            TAC_ZERO,
            true,
            Tc,
        ),
        (
            "offline-only: IAC-Default match: AAC",
            floor,
            iac_default_floor,
            TAC_ZERO,
            false,
            Aac,
        ),
        (
            "offline-only: TAC-Default match: AAC",
            oda_not_done,
            zero,
            TAC,
            false,
            Aac,
        ),
        (
            "offline-only ignores the online codes",
            floor,
            iac_online_floor,
            TAC_ZERO,
            false,
            Tc,
        ),
        (
            "offline-only: no default match: TC",
            floor,
            zero,
            TAC_ZERO,
            false,
            Tc,
        ),
    ];
    for (rule, tvr, iac, tac, online, expected) in rows {
        let connectivity = if online {
            Connectivity::OfflineWithOnlineCapability
        } else {
            Connectivity::OfflineOnly
        };
        assert_eq!(
            terminal_action_analysis(&tvr, &iac, &tac, connectivity),
            expected,
            "10.7: {rule}"
        );
    }
}

/// Book 3, 10.7 and Book 4, Annex A1: an online-only terminal (types x1,
/// x4) asks for an ARQC whenever the denial codes do not match, even with
/// no online code matching; it never asks for a TC.
#[test]
fn online_only_terminal_asks_for_arqc_unless_denied() {
    let zero = ActionCodes::issuer(Some([0; 5]), Some([0; 5]), Some([0; 5]));
    let clean = Tvr::default();
    assert_eq!(
        terminal_action_analysis(&clean, &zero, &TAC_ZERO, Connectivity::OnlineOnly),
        Arqc
    );
    assert_eq!(
        terminal_action_analysis(
            &clean,
            &zero,
            &TAC_ZERO,
            Connectivity::OfflineWithOnlineCapability
        ),
        Tc
    );
    let mut expired = Tvr::default();
    expired.set(tvr::EXPIRED_APPLICATION);
    let deny_expired = ActionCodes::issuer(Some([0, 0x40, 0, 0, 0]), Some([0; 5]), Some([0; 5]));
    assert_eq!(
        terminal_action_analysis(&expired, &deny_expired, &TAC_ZERO, Connectivity::OnlineOnly),
        Aac
    );
    for (terminal_type, expected) in [
        (0x11, Connectivity::OnlineOnly),
        (0x14, Connectivity::OnlineOnly),
        (0x21, Connectivity::OnlineOnly),
        (0x22, Connectivity::OfflineWithOnlineCapability),
        (0x25, Connectivity::OfflineWithOnlineCapability),
        (0x23, Connectivity::OfflineOnly),
        (0x26, Connectivity::OfflineOnly),
    ] {
        let config = TerminalConfig {
            terminal_type,
            ..TerminalConfig::default()
        };
        assert_eq!(
            connectivity(&config),
            expected,
            "terminal type {terminal_type:02X}"
        );
    }
    let not_online = TerminalConfig {
        terminal_type: 0x21,
        online_capable: false,
        ..TerminalConfig::default()
    };
    assert_eq!(connectivity(&not_online), Connectivity::OfflineOnly);
}

#[test]
fn unable_to_go_online_uses_default_codes() {
    let zero = ActionCodes::issuer(Some([0; 5]), Some([0; 5]), Some([0; 5]));
    let rows: &[(&str, Tvr, ActionCodes, ActionCodes, CryptogramType, [u8; 2])] = &[
        (
            "no default match: TC, Y3",
            tvr_with(&[tvr::EXCEEDS_FLOOR_LIMIT]),
            zero,
            TAC_ZERO,
            Tc,
            *b"Y3",
        ),
        (
            "TAC-Default match: AAC, Z3",
            tvr_with(&[tvr::ODA_NOT_PERFORMED]),
            zero,
            TAC,
            Aac,
            *b"Z3",
        ),
        (
            "absent IAC-Default: any bit declines",
            tvr_with(&[tvr::EXCEEDS_FLOOR_LIMIT]),
            ActionCodes::issuer(None, None, None),
            TAC_ZERO,
            Aac,
            *b"Z3",
        ),
        (
            "clean TVR with absent IACs: TC",
            Tvr::default(),
            ActionCodes::issuer(None, None, None),
            TAC,
            Tc,
            *b"Y3",
        ),
    ];
    for (rule, tvr, iac, tac, expected, arc) in rows {
        let decision = unable_to_go_online(tvr, iac, tac);
        assert_eq!(decision, *expected, "10.7 default: {rule}");
        assert_eq!(
            unable_online_response_code(decision),
            *arc,
            "Book 4 A6: {rule}"
        );
    }
}

#[test]
fn cda_request_and_reference_control_parameter() {
    // P1 as built by the APDU module from the decision here (Book 3, 6.5.5.2).
    // (rule, requested, CDA selected, P1)
    let rows: &[(&str, CryptogramType, bool, u8)] = &[
        ("6.5.5.2: AAC", Aac, false, 0x00),
        ("6.5.5.2: TC", Tc, false, 0x40),
        ("6.5.5.2: ARQC", Arqc, false, 0x80),
        ("6.5.5.2: TC with CDA signature", Tc, true, 0x50),
        ("6.5.5.2: ARQC with CDA signature", Arqc, true, 0x90),
        ("Book 2 6.6: an AAC is never signed", Aac, true, 0x00),
    ];
    for (rule, requested, selected, p1) in rows {
        let cda = cda_requested(*selected, &Tvr::default(), *requested);
        let command = generate_ac(*requested, cda, &[]).unwrap();
        assert_eq!(command.as_bytes().get(2), Some(p1), "{rule}");
    }
    let failed = tvr_with(&[tvr::CDA_FAILED]);
    let clean = Tvr::default();
    // (rule, CDA selected, TVR, requested, CDA requested)
    let rows: &[(&str, bool, Tvr, CryptogramType, bool)] = &[
        ("CDA selected, TC", true, clean, Tc, true),
        ("CDA selected, ARQC", true, clean, Arqc, true),
        ("CDA selected, AAC: not requested", true, clean, Aac, false),
        ("CDA not selected", false, clean, Tc, false),
        (
            "CDA already failed: not requested",
            true,
            failed,
            Arqc,
            false,
        ),
    ];
    for (rule, selected, tvr, requested, expected) in rows {
        assert_eq!(
            cda_requested(*selected, tvr, *requested),
            *expected,
            "Book 2 6.6: {rule}"
        );
    }
}

#[test]
fn cryptogram_information_data() {
    // (rule, CID, type, advice, reason)
    let rows: &[(&str, u8, Option<CryptogramType>, bool, CidReason)] = &[
        (
            "Table 14: 00 AAC",
            0x00,
            Some(Aac),
            false,
            CidReason::NoInformation,
        ),
        (
            "Table 14: 40 TC",
            0x40,
            Some(Tc),
            false,
            CidReason::NoInformation,
        ),
        (
            "Table 14: 80 ARQC",
            0x80,
            Some(Arqc),
            false,
            CidReason::NoInformation,
        ),
        (
            "Table 14: C0 RFU",
            0xC0,
            None,
            false,
            CidReason::NoInformation,
        ),
        (
            "Table 14: advice required",
            0x08,
            Some(Aac),
            true,
            CidReason::NoInformation,
        ),
        (
            "Table 14: service not allowed",
            0x09,
            Some(Aac),
            true,
            CidReason::ServiceNotAllowed,
        ),
        (
            "Table 14: PIN try limit exceeded",
            0x02,
            Some(Aac),
            false,
            CidReason::PinTryLimitExceeded,
        ),
        (
            "Table 14: issuer authentication failed",
            0x43,
            Some(Tc),
            false,
            CidReason::IssuerAuthenticationFailed,
        ),
        (
            "Table 14: 1xx RFU",
            0x85,
            Some(Arqc),
            false,
            CidReason::Rfu(5),
        ),
    ];
    for (rule, byte, kind, advice, reason) in rows {
        let cid = Cid { raw: *byte };
        assert_eq!(returned_cryptogram(cid), *kind, "{rule}");
        assert_eq!(cid.advice_required(), *advice, "{rule}");
        assert_eq!(CidReason::from_cid(cid), *reason, "{rule}");
    }
}

#[test]
fn first_generate_ac_every_answer() {
    use AfterFirstGenerateAc::*;
    type Expected = Result<AfterFirstGenerateAc, CardActionError>;
    let higher = |requested, returned| {
        Err(CardActionError::HigherThanRequested {
            requested,
            returned,
        })
    };
    // (rule, requested, CID, online capable, expected)
    let rows: Vec<(&str, CryptogramType, u8, bool, Expected)> = vec![
        (
            "TC asked, TC returned: approved offline",
            Tc,
            0x40,
            true,
            Ok(OfflineApproved),
        ),
        (
            "TC asked, ARQC returned: go online",
            Tc,
            0x80,
            true,
            Ok(GoOnline),
        ),
        (
            "TC asked, ARQC at offline-only terminal: unable to go online",
            Tc,
            0x80,
            false,
            Ok(UnableToGoOnline),
        ),
        (
            "TC asked, AAC returned: declined offline",
            Tc,
            0x00,
            true,
            Ok(OfflineDeclined),
        ),
        (
            "ARQC asked, ARQC returned: go online",
            Arqc,
            0x80,
            true,
            Ok(GoOnline),
        ),
        (
            "ARQC asked, AAC returned: declined offline",
            Arqc,
            0x00,
            true,
            Ok(OfflineDeclined),
        ),
        (
            "ARQC asked, TC returned: higher than requested",
            Arqc,
            0x40,
            true,
            higher(Arqc, Tc),
        ),
        (
            "AAC asked, AAC returned: declined",
            Aac,
            0x00,
            true,
            Ok(OfflineDeclined),
        ),
        (
            "AAC asked, ARQC returned: higher than requested",
            Aac,
            0x80,
            true,
            higher(Aac, Arqc),
        ),
        (
            "AAC asked, TC returned: higher than requested",
            Aac,
            0x40,
            true,
            higher(Aac, Tc),
        ),
        (
            "RFU cryptogram type",
            Tc,
            0xC0,
            true,
            Err(CardActionError::RfuCryptogramType),
        ),
    ];
    for (rule, requested, cid, online, expected) in rows {
        let got = first_card_action_analysis(requested, Cid { raw: cid }, online).map(|d| d.next);
        assert_eq!(got, expected, "10.8 / 6.5.5.4: {rule}");
    }
    let d = first_card_action_analysis(Tc, Cid { raw: 0x09 }, true).unwrap();
    assert_eq!(
        (d.next, d.returned, d.advice_required, d.reason),
        (OfflineDeclined, Aac, true, CidReason::ServiceNotAllowed),
        "CID details are passed through"
    );
    assert_eq!(
        offline_response_code(OfflineApproved),
        Some(*b"Y1"),
        "A6: Y1"
    );
    assert_eq!(
        offline_response_code(OfflineDeclined),
        Some(*b"Z1"),
        "A6: Z1"
    );
    assert_eq!(offline_response_code(GoOnline), None);
    assert_eq!(offline_response_code(UnableToGoOnline), None);
}

#[test]
fn second_generate_ac_every_answer() {
    use SecondGenerateAcContext::{Online, UnableToGoOnline};
    type Expected = Result<(bool, Option<[u8; 2]>), CardActionError>;
    // (rule, requested, CID, context, expected (approved, terminal ARC))
    let rows: Vec<(&str, CryptogramType, u8, SecondGenerateAcContext, Expected)> = vec![
        (
            "issuer approved, card TC: approved, issuer ARC",
            Tc,
            0x40,
            Online,
            Ok((true, None)),
        ),
        (
            "issuer approved, card AAC: declined by card",
            Tc,
            0x00,
            Online,
            Ok((false, None)),
        ),
        (
            "issuer declined, card AAC",
            Aac,
            0x00,
            Online,
            Ok((false, None)),
        ),
        (
            "issuer declined, card TC: higher than requested",
            Aac,
            0x40,
            Online,
            Err(CardActionError::HigherThanRequested {
                requested: Aac,
                returned: Tc,
            }),
        ),
        (
            "ARQC in second GENERATE AC",
            Tc,
            0x80,
            Online,
            Err(CardActionError::ArqcInSecondGenerateAc),
        ),
        (
            "ARQC when AAC asked: higher than requested",
            Aac,
            0x80,
            Online,
            Err(CardActionError::HigherThanRequested {
                requested: Aac,
                returned: Arqc,
            }),
        ),
        (
            "unable to go online, TC asked, TC: Y3",
            Tc,
            0x40,
            UnableToGoOnline,
            Ok((true, Some(*b"Y3"))),
        ),
        (
            "unable to go online, TC asked, AAC: Z3",
            Tc,
            0x00,
            UnableToGoOnline,
            Ok((false, Some(*b"Z3"))),
        ),
        (
            "unable to go online, AAC asked: Z3",
            Aac,
            0x00,
            UnableToGoOnline,
            Ok((false, Some(*b"Z3"))),
        ),
        (
            "RFU cryptogram type",
            Tc,
            0xC0,
            Online,
            Err(CardActionError::RfuCryptogramType),
        ),
    ];
    for (rule, requested, cid, context, expected) in rows {
        let got = second_card_action_analysis(requested, Cid { raw: cid }, context)
            .map(|d| (d.next.approved, d.next.authorisation_response_code));
        assert_eq!(got, expected, "10.8 / 10.9: {rule}");
    }
}
