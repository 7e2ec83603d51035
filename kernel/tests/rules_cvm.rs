//! Table tests for cardholder verification (Book 3, 10.5 and Annex C3;
//! CVM Results per Book 4, Annex A4).
//!
//! Each row drives [`CardholderVerification`] like the engine would: every
//! PIN step it asks for consumes the next scripted PIN outcome. Rows name
//! the rule they check.

// Row tables are tuples on purpose: one line per rule.
#![allow(clippy::type_complexity)]

use emv_kernel::cvm::{
    CardholderVerification, CvmContext, CvmFormatError, CvmStatus, CvmStep, NoPendingPinStep,
    PinOutcome,
};
use emv_kernel::render::CvmListError;
use emv_kernel::restrict::{TerminalType, TransactionType};
use emv_kernel::tvr::{self, Tsi, Tvr};

const AIP_CV_SUPPORTED: [u8; 2] = [0x10, 0x00];
const GBP: [u8; 2] = [0x08, 0x26];
const EUR: [u8; 2] = [0x09, 0x78];

/// 9F33 byte 2: all five CVMs supported.
const ALL_CVMS: u8 = 0xF8;
const PLAINTEXT: u8 = 0x80;
const ONLINE: u8 = 0x40;
const SIGNATURE: u8 = 0x20;
const ENCIPHERED: u8 = 0x10;
const NO_CVM: u8 = 0x08;

/// Attended merchant terminal, every CVM, a 10.00 GBP purchase, card in GBP.
fn ctx() -> CvmContext {
    CvmContext {
        terminal_capabilities: [0xE0, ALL_CVMS, 0xC8],
        terminal_type: TerminalType(0x22),
        transaction_type: TransactionType::PURCHASE,
        amount_authorised: 1_000,
        transaction_currency_code: GBP,
        application_currency_code: Some(GBP),
        pin_pad_working: true,
        subsequent_pin_bypass: false,
    }
}

fn caps(cvm_byte: u8) -> CvmContext {
    CvmContext {
        terminal_capabilities: [0xE0, cvm_byte, 0xC8],
        ..ctx()
    }
}

/// A CVM List value: X = 1000, Y = 5000, then the rules.
fn list(rules: &[[u8; 2]]) -> Vec<u8> {
    let mut v = vec![0x00, 0x00, 0x03, 0xE8, 0x00, 0x00, 0x13, 0x88];
    for r in rules {
        v.extend_from_slice(r);
    }
    v
}

/// What one run produced.
#[derive(Debug)]
struct Run {
    /// The PIN steps the engine was asked to perform, in order.
    asked: Vec<CvmStep>,
    results: [u8; 3],
    status: CvmStatus,
    signature: bool,
    tvr: Tvr,
    tsi: Tsi,
}

fn run_with(aip: [u8; 2], value: Option<&[u8]>, context: CvmContext, pins: &[PinOutcome]) -> Run {
    let mut tvr = Tvr::default();
    let mut tsi = Tsi::default();
    let (mut machine, mut step) =
        CardholderVerification::start(aip, value, context, &mut tvr, &mut tsi)
            .expect("list parses");
    let mut asked = Vec::new();
    let mut pins = pins.iter();
    loop {
        match step {
            CvmStep::Done(outcome) => {
                assert_eq!(pins.next(), None, "every scripted PIN outcome is used");
                assert_eq!(machine.result(), Some(outcome));
                return Run {
                    asked,
                    results: outcome.cvm_results,
                    status: outcome.status,
                    signature: outcome.signature_required,
                    tvr,
                    tsi,
                };
            }
            pin_step => {
                asked.push(pin_step);
                let result = *pins.next().expect("a PIN outcome for each PIN step");
                step = machine
                    .report(result, &mut tvr)
                    .expect("a PIN step is pending");
            }
        }
    }
}

fn run(rules: &[[u8; 2]], context: CvmContext, pins: &[PinOutcome]) -> Run {
    run_with(AIP_CV_SUPPORTED, Some(&list(rules)), context, pins)
}

/// The TVR byte 3 bits.
const CV_FAILED: u8 = 0x80;
const UNRECOGNISED: u8 = 0x40;
const TRY_LIMIT: u8 = 0x20;
const PIN_PAD: u8 = 0x10;
const NOT_ENTERED: u8 = 0x08;
const ONLINE_PIN: u8 = 0x04;

/// One condition-code row: the rule "No CVM required, condition c" followed
/// by "Fail CVM processing, always". If the condition holds the result is
/// `1F cc 02`; if not, the fail rule runs and the result is `00 00 01`.
#[test]
fn every_condition_code() {
    let cash_attended = CvmContext {
        transaction_type: TransactionType::CASH,
        ..ctx()
    };
    let cash_unattended = CvmContext {
        terminal_type: TerminalType(0x14),
        ..cash_attended
    };
    let purchase_unattended = CvmContext {
        terminal_type: TerminalType(0x25),
        ..ctx()
    };
    let cashback = CvmContext {
        transaction_type: TransactionType::CASHBACK,
        ..ctx()
    };
    let refund = CvmContext {
        transaction_type: TransactionType::REFUND,
        ..ctx()
    };
    let amount = |a| CvmContext {
        amount_authorised: a,
        ..ctx()
    };
    let foreign = |a| CvmContext {
        amount_authorised: a,
        transaction_currency_code: EUR,
        ..ctx()
    };
    let no_app_currency = |a| CvmContext {
        amount_authorised: a,
        application_currency_code: None,
        ..ctx()
    };
    // (rule, condition code, context, condition holds)
    let rows: Vec<(&str, u8, CvmContext, bool)> = vec![
        ("C3 00: always", 0x00, ctx(), true),
        ("C3 01: unattended cash holds", 0x01, cash_unattended, true),
        (
            "C3 01: attended cash is not unattended cash",
            0x01,
            cash_attended,
            false,
        ),
        (
            "C3 01: unattended purchase is not cash",
            0x01,
            purchase_unattended,
            false,
        ),
        ("C3 02: purchase", 0x02, ctx(), true),
        ("C3 02: refund", 0x02, refund, true),
        ("C3 02: not for manual cash", 0x02, cash_attended, false),
        (
            "C3 02: not for unattended cash",
            0x02,
            cash_unattended,
            false,
        ),
        (
            "C3 02: not for purchase with cashback",
            0x02,
            cashback,
            false,
        ),
        ("C3 03: terminal supports No CVM", 0x03, ctx(), true),
        (
            "C3 03: terminal without No CVM skips the rule",
            0x03,
            caps(ALL_CVMS & !NO_CVM),
            false,
        ),
        ("C3 04: manual cash", 0x04, cash_attended, true),
        (
            "C3 04: unattended cash is not manual",
            0x04,
            cash_unattended,
            false,
        ),
        ("C3 04: purchase is not manual cash", 0x04, ctx(), false),
        ("C3 05: purchase with cashback", 0x05, cashback, true),
        ("C3 05: plain purchase", 0x05, ctx(), false),
        ("C3 06: under X (999 < 1000)", 0x06, amount(999), true),
        ("C3 06: X itself is not under X", 0x06, amount(1_000), false),
        (
            "C3 06: other currency: not satisfied",
            0x06,
            foreign(999),
            false,
        ),
        (
            "C3 06: no Application Currency Code: not satisfied",
            0x06,
            no_app_currency(999),
            false,
        ),
        ("C3 07: over X (1001 > 1000)", 0x07, amount(1_001), true),
        ("C3 07: X itself is not over X", 0x07, amount(1_000), false),
        (
            "C3 07: other currency: not satisfied",
            0x07,
            foreign(1_001),
            false,
        ),
        ("C3 08: under Y (4999 < 5000)", 0x08, amount(4_999), true),
        ("C3 08: Y itself is not under Y", 0x08, amount(5_000), false),
        ("C3 08: other currency", 0x08, foreign(4_999), false),
        ("C3 09: over Y (5001 > 5000)", 0x09, amount(5_001), true),
        ("C3 09: Y itself is not over Y", 0x09, amount(5_000), false),
        ("C3 09: other currency", 0x09, foreign(5_001), false),
        (
            "C3 0A: RFU condition is not understood: rule skipped",
            0x0A,
            ctx(),
            false,
        ),
        ("C3 7F: RFU", 0x7F, ctx(), false),
        (
            "C3 80: payment-system condition not understood",
            0x80,
            ctx(),
            false,
        ),
    ];
    for (rule, condition, context, holds) in rows {
        let r = run(&[[0x1F, condition], [0x00, 0x00]], context, &[]);
        let (results, status, tvr3) = if holds {
            ([0x1F, condition, 0x02], CvmStatus::Successful, 0)
        } else {
            ([0x00, 0x00, 0x01], CvmStatus::Failed, CV_FAILED)
        };
        assert_eq!(
            (r.results, r.status, r.tvr.0[2]),
            (results, status, tvr3),
            "{rule}"
        );
        assert!(
            r.tsi.is_set(tvr::TSI_CARDHOLDER_VERIFICATION_PERFORMED),
            "{rule}: TSI"
        );
        assert!(r.asked.is_empty(), "{rule}");
    }
}

#[test]
fn methods_and_results() {
    use PinOutcome::*;
    // (rule, rules, context, PIN outcomes, steps asked, CVM Results, status, signature, TVR byte 3)

    let rows: Vec<(
        &str,
        Vec<[u8; 2]>,
        CvmContext,
        Vec<PinOutcome>,
        Vec<CvmStep>,
        [u8; 3],
        CvmStatus,
        bool,
        u8,
    )> =
        vec![
        (
            "A4: No CVM required succeeds with result 02",
            vec![[0x1F, 0x00]],
            ctx(),
            vec![],
            vec![],
            [0x1F, 0x00, 0x02],
            CvmStatus::Successful,
            false,
            0,
        ),
        (
            "A4: signature result is unknown (00), signature line needed",
            vec![[0x5E, 0x03]],
            ctx(),
            vec![],
            vec![],
            [0x5E, 0x03, 0x00],
            CvmStatus::Successful,
            true,
            0,
        ),
        (
            "10.5: offline plaintext PIN verified: 02",
            vec![[0x01, 0x00]],
            ctx(),
            vec![Verified],
            vec![CvmStep::OfflinePlaintextPin],
            [0x01, 0x00, 0x02],
            CvmStatus::Successful,
            false,
            0,
        ),
        (
            "10.5: offline enciphered PIN verified: 02",
            vec![[0x44, 0x03]],
            ctx(),
            vec![Verified],
            vec![CvmStep::OfflineEncipheredPin],
            [0x44, 0x03, 0x02],
            CvmStatus::Successful,
            false,
            0,
        ),
        (
            "10.5: online PIN: result unknown, TVR 'Online PIN entered'",
            vec![[0x42, 0x03]],
            ctx(),
            vec![Verified],
            vec![CvmStep::OnlinePin],
            [0x42, 0x03, 0x00],
            CvmStatus::Successful,
            false,
            ONLINE_PIN,
        ),
        (
            "C3 03: plaintext PIN + signature: unknown, signature line",
            vec![[0x03, 0x00]],
            ctx(),
            vec![Verified],
            vec![CvmStep::OfflinePlaintextPin],
            [0x03, 0x00, 0x00],
            CvmStatus::Successful,
            true,
            0,
        ),
        (
            "C3 05: enciphered PIN + signature",
            vec![[0x05, 0x00]],
            ctx(),
            vec![Verified],
            vec![CvmStep::OfflineEncipheredPin],
            [0x05, 0x00, 0x00],
            CvmStatus::Successful,
            true,
            0,
        ),
        (
            "C3 00: Fail CVM processing fails with 00 cc 01",
            vec![[0x00, 0x00]],
            ctx(),
            vec![],
            vec![],
            [0x00, 0x00, 0x01],
            CvmStatus::Failed,
            false,
            CV_FAILED,
        ),
        (
            "b7: Fail CVM with 'apply next' goes on to the next rule",
            vec![[0x40, 0x00], [0x1F, 0x00]],
            ctx(),
            vec![],
            vec![],
            [0x1F, 0x00, 0x02],
            CvmStatus::Successful,
            false,
            0,
        ),
        (
            "b7 set: failed PIN, next rule signature",
            vec![[0x41, 0x03], [0x1E, 0x03]],
            ctx(),
            vec![Failed],
            vec![CvmStep::OfflinePlaintextPin],
            [0x1E, 0x03, 0x00],
            CvmStatus::Successful,
            true,
            0,
        ),
        (
            "b7 clear: failed PIN fails verification, CVM Results name the PIN",
            vec![[0x01, 0x03], [0x1E, 0x03]],
            ctx(),
            vec![Failed],
            vec![CvmStep::OfflinePlaintextPin],
            [0x01, 0x03, 0x01],
            CvmStatus::Failed,
            false,
            CV_FAILED,
        ),
        (
            "10.5: PIN try limit exceeded sets its bit; b7 goes on",
            vec![[0x41, 0x00], [0x1F, 0x00]],
            ctx(),
            vec![TryLimitExceeded],
            vec![CvmStep::OfflinePlaintextPin],
            [0x1F, 0x00, 0x02],
            CvmStatus::Successful,
            false,
            TRY_LIMIT,
        ),
        (
            "10.5: PIN try limit exceeded with b7 clear fails",
            vec![[0x04, 0x00], [0x1F, 0x00]],
            ctx(),
            vec![TryLimitExceeded],
            vec![CvmStep::OfflineEncipheredPin],
            [0x04, 0x00, 0x01],
            CvmStatus::Failed,
            false,
            TRY_LIMIT | CV_FAILED,
        ),
        (
            "10.5: PIN pad not working reported by the engine",
            vec![[0x42, 0x00], [0x1E, 0x00]],
            ctx(),
            vec![PinPadNotWorking],
            vec![CvmStep::OnlinePin],
            [0x1E, 0x00, 0x00],
            CvmStatus::Successful,
            true,
            PIN_PAD,
        ),
        (
            "10.5: PIN pad known broken: no prompt, bit set, next rule",
            vec![[0x41, 0x00], [0x1F, 0x00]],
            CvmContext { pin_pad_working: false, ..ctx() },
            vec![],
            vec![],
            [0x1F, 0x00, 0x02],
            CvmStatus::Successful,
            false,
            PIN_PAD,
        ),
        (
            "10.5: PIN bypassed: 'PIN not entered', next rule",
            vec![[0x41, 0x00], [0x1E, 0x00]],
            ctx(),
            vec![Bypassed],
            vec![CvmStep::OfflinePlaintextPin],
            [0x1E, 0x00, 0x00],
            CvmStatus::Successful,
            true,
            NOT_ENTERED,
        ),
        (
            "10.5: PIN bypassed with b7 clear fails",
            vec![[0x02, 0x00], [0x1E, 0x00]],
            ctx(),
            vec![Bypassed],
            vec![CvmStep::OnlinePin],
            [0x02, 0x00, 0x01],
            CvmStatus::Failed,
            false,
            NOT_ENTERED | CV_FAILED,
        ),
        (
            "bypass without 'subsequent bypass': the next PIN CVM is still prompted",
            vec![[0x41, 0x00], [0x42, 0x00], [0x1E, 0x00]],
            ctx(),
            vec![Bypassed, Verified],
            vec![CvmStep::OfflinePlaintextPin, CvmStep::OnlinePin],
            [0x42, 0x00, 0x00],
            CvmStatus::Successful,
            false,
            NOT_ENTERED | ONLINE_PIN,
        ),
        (
            "Book 4 6.3.4.1 subsequent bypass: later PIN CVMs bypassed without prompt",
            vec![[0x41, 0x00], [0x42, 0x00], [0x1E, 0x00]],
            CvmContext { subsequent_pin_bypass: true, ..ctx() },
            vec![Bypassed],
            vec![CvmStep::OfflinePlaintextPin],
            [0x1E, 0x00, 0x00],
            CvmStatus::Successful,
            true,
            NOT_ENTERED,
        ),
        (
            "unrecognised CVM (08) with b7: TVR bit, next rule",
            vec![[0x48, 0x00], [0x1F, 0x00]],
            ctx(),
            vec![],
            vec![],
            [0x1F, 0x00, 0x02],
            CvmStatus::Successful,
            false,
            UNRECOGNISED,
        ),
        (
            "unrecognised CVM with b7 clear: fails, nothing performed: 3F0001",
            vec![[0x08, 0x00], [0x1F, 0x00]],
            ctx(),
            vec![],
            vec![],
            [0x3F, 0x00, 0x01],
            CvmStatus::Failed,
            false,
            UNRECOGNISED | CV_FAILED,
        ),
        (
            "payment-system CVM (20) is unrecognised here",
            vec![[0x60, 0x00], [0x1F, 0x00]],
            ctx(),
            vec![],
            vec![],
            [0x1F, 0x00, 0x02],
            CvmStatus::Successful,
            false,
            UNRECOGNISED,
        ),
        (
            "unrecognised CVM whose condition fails is not examined",
            vec![[0x08, 0x01], [0x1F, 0x00]],
            ctx(),
            vec![],
            vec![],
            [0x1F, 0x00, 0x02],
            CvmStatus::Successful,
            false,
            0,
        ),
        (
            "unsupported signature with b7: next rule, no bit",
            vec![[0x5E, 0x00], [0x1F, 0x00]],
            caps(ALL_CVMS & !SIGNATURE),
            vec![],
            vec![],
            [0x1F, 0x00, 0x02],
            CvmStatus::Successful,
            false,
            0,
        ),
        (
            "unsupported signature with b7 clear: fails, 3F0001",
            vec![[0x1E, 0x00], [0x1F, 0x00]],
            caps(ALL_CVMS & !SIGNATURE),
            vec![],
            vec![],
            [0x3F, 0x00, 0x01],
            CvmStatus::Failed,
            false,
            CV_FAILED,
        ),
        (
            "unsupported plaintext PIN: 'PIN pad not present', next rule",
            vec![[0x41, 0x00], [0x1F, 0x00]],
            caps(ALL_CVMS & !PLAINTEXT),
            vec![],
            vec![],
            [0x1F, 0x00, 0x02],
            CvmStatus::Successful,
            false,
            PIN_PAD,
        ),
        (
            "unsupported enciphered offline PIN",
            vec![[0x44, 0x00], [0x1F, 0x00]],
            caps(ALL_CVMS & !ENCIPHERED),
            vec![],
            vec![],
            [0x1F, 0x00, 0x02],
            CvmStatus::Successful,
            false,
            PIN_PAD,
        ),
        (
            "unsupported online PIN with b7 clear: fails",
            vec![[0x02, 0x00], [0x1F, 0x00]],
            caps(ALL_CVMS & !ONLINE),
            vec![],
            vec![],
            [0x3F, 0x00, 0x01],
            CvmStatus::Failed,
            false,
            PIN_PAD | CV_FAILED,
        ),
        (
            "PIN + signature needs both capabilities; no signature is not a PIN pad fault",
            vec![[0x43, 0x00], [0x1F, 0x00]],
            caps(ALL_CVMS & !SIGNATURE),
            vec![],
            vec![],
            [0x1F, 0x00, 0x02],
            CvmStatus::Successful,
            false,
            0,
        ),
        (
            "PIN + signature without the PIN capability: PIN pad bit",
            vec![[0x45, 0x00], [0x1F, 0x00]],
            caps(ALL_CVMS & !ENCIPHERED),
            vec![],
            vec![],
            [0x1F, 0x00, 0x02],
            CvmStatus::Successful,
            false,
            PIN_PAD,
        ),
        (
            "condition 03 with an unsupported PIN: skipped, no bit",
            vec![[0x01, 0x03], [0x1F, 0x00]],
            caps(ALL_CVMS & !PLAINTEXT),
            vec![],
            vec![],
            [0x1F, 0x00, 0x02],
            CvmStatus::Successful,
            false,
            0,
        ),
        (
            "no rule applies: 3F0001, not successful",
            vec![[0x1F, 0x01], [0x1E, 0x04]],
            ctx(),
            vec![],
            vec![],
            [0x3F, 0x00, 0x01],
            CvmStatus::Failed,
            false,
            CV_FAILED,
        ),
        (
            "end of list after a failed PIN: the PIN is the last performed CVM",
            vec![[0x41, 0x00], [0x5E, 0x00]],
            caps(ALL_CVMS & !SIGNATURE),
            vec![Failed],
            vec![CvmStep::OfflinePlaintextPin],
            [0x41, 0x00, 0x01],
            CvmStatus::Failed,
            false,
            CV_FAILED,
        ),
        (
            "typical list: online PIN if unattended cash (skipped), PIN if supported, signature",
            vec![[0x42, 0x01], [0x41, 0x03], [0x5E, 0x03], [0x1F, 0x03]],
            ctx(),
            vec![TryLimitExceeded],
            vec![CvmStep::OfflinePlaintextPin],
            [0x5E, 0x03, 0x00],
            CvmStatus::Successful,
            true,
            TRY_LIMIT,
        ),
    ];
    for (rule, rules, context, pins, asked, results, status, signature, tvr3) in rows {
        let r = run(&rules, context, &pins);
        assert_eq!(r.asked, asked, "{rule}: steps");
        assert_eq!(r.results, results, "{rule}: CVM Results");
        assert_eq!(r.status, status, "{rule}: status");
        assert_eq!(r.signature, signature, "{rule}: signature");
        assert_eq!(r.tvr.0, [0, 0, tvr3, 0, 0], "{rule}: TVR");
        assert!(
            r.tsi.is_set(tvr::TSI_CARDHOLDER_VERIFICATION_PERFORMED),
            "{rule}: TSI"
        );
    }
}

/// (rule, AIP, CVM List value, expected TVR byte 1)
type NotPerformedRow<'a> = (&'a str, [u8; 2], Option<&'a [u8]>, u8);

#[test]
fn not_performed() {
    // (rule, AIP, CVM List, TVR byte 1)
    let only_amounts = list(&[]);
    let rows: &[NotPerformedRow] = &[
        (
            "10.5: AIP without cardholder verification: 3F0000, no bits",
            [0x00, 0x00],
            Some(&[0, 0, 0, 0, 0, 0, 0, 0, 0x1F, 0x00]),
            0,
        ),
        (
            "10.5: CVM List absent: 3F0000, ICC data missing",
            AIP_CV_SUPPORTED,
            None,
            0x20,
        ),
        (
            "10.5: CVM List with no rules is as absent",
            AIP_CV_SUPPORTED,
            Some(&only_amounts),
            0x20,
        ),
        (
            "10.5: empty CVM List value is as absent",
            AIP_CV_SUPPORTED,
            Some(&[]),
            0x20,
        ),
    ];
    for (rule, aip, value, tvr1) in rows {
        let r = run_with(*aip, *value, ctx(), &[]);
        assert_eq!(r.results, [0x3F, 0x00, 0x00], "{rule}");
        assert_eq!(r.status, CvmStatus::NotPerformed, "{rule}");
        assert_eq!(r.tvr.0, [*tvr1, 0, 0, 0, 0], "{rule}");
        assert_eq!(r.tsi, Tsi::default(), "{rule}: TSI not set");
    }
}

#[test]
fn list_format() {
    // 252 bytes (the 8E maximum) hold 122 rules: accepted.
    let mut max = list(&[]);
    max.extend(std::iter::repeat_n([0x40, 0x0A], 121).flatten());
    max.extend([0x1F, 0x00]);
    let r = run_with(AIP_CV_SUPPORTED, Some(&max), ctx(), &[]);
    assert_eq!(r.results, [0x1F, 0x00, 0x02], "the 122nd rule is reached");
    let rows: &[(&str, Vec<u8>, CvmFormatError)] = &[
        (
            "X incomplete",
            vec![0; 3],
            CvmFormatError::Malformed(CvmListError::TooShort),
        ),
        (
            "Y incomplete",
            vec![0; 7],
            CvmFormatError::Malformed(CvmListError::TooShort),
        ),
        (
            "odd rule bytes",
            vec![0; 9],
            CvmFormatError::Malformed(CvmListError::OddLength),
        ),
        (
            "odd after rules",
            vec![0; 13],
            CvmFormatError::Malformed(CvmListError::OddLength),
        ),
        (
            "beyond 252 bytes",
            vec![0; 8 + 2 * 123],
            CvmFormatError::TooManyRules,
        ),
    ];
    for (rule, value, error) in rows {
        let mut tvr = Tvr::default();
        let mut tsi = Tsi::default();
        let started =
            CardholderVerification::start(AIP_CV_SUPPORTED, Some(value), ctx(), &mut tvr, &mut tsi);
        assert_eq!(started.err(), Some(*error), "{rule}");
        assert_eq!(
            (tvr, tsi),
            (Tvr::default(), Tsi::default()),
            "{rule}: nothing set"
        );
    }
}

#[test]
fn report_without_pending_step_is_misuse() {
    let mut tvr = Tvr::default();
    let mut tsi = Tsi::default();
    let value = list(&[[0x1F, 0x00]]);
    let (mut machine, step) =
        CardholderVerification::start(AIP_CV_SUPPORTED, Some(&value), ctx(), &mut tvr, &mut tsi)
            .unwrap();
    assert!(matches!(step, CvmStep::Done(_)));
    assert_eq!(
        machine.report(PinOutcome::Verified, &mut tvr),
        Err(NoPendingPinStep)
    );
    assert_eq!(tvr, Tvr::default());
}

#[test]
fn every_rule_byte_pair_terminates_without_panic() {
    // Hostile lists: every first byte with a few conditions, repeated, under
    // every PIN outcome. The machine always ends and asks at most one PIN
    // step per rule.
    let outcomes = [
        PinOutcome::Verified,
        PinOutcome::Failed,
        PinOutcome::Bypassed,
        PinOutcome::TryLimitExceeded,
        PinOutcome::PinPadNotWorking,
    ];
    for method in 0..=255u8 {
        for condition in [0x00, 0x03, 0x06, 0x09, 0xFF] {
            for outcome in outcomes {
                let rules = [
                    [method, condition],
                    [method | 0x40, condition],
                    [method, 0x00],
                ];
                let value = list(&rules);
                let mut tvr = Tvr::default();
                let mut tsi = Tsi::default();
                let (mut machine, mut step) = CardholderVerification::start(
                    AIP_CV_SUPPORTED,
                    Some(&value),
                    ctx(),
                    &mut tvr,
                    &mut tsi,
                )
                .unwrap();
                let mut asked = 0;
                while !matches!(step, CvmStep::Done(_)) {
                    asked += 1;
                    assert!(asked <= rules.len(), "at most one PIN step per rule");
                    step = machine.report(outcome, &mut tvr).unwrap();
                }
            }
        }
    }
}
