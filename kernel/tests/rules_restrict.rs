//! Table tests for processing restrictions (Book 3, 10.4).
//!
//! Every row names the rule it checks.

// Row tables are tuples on purpose: one line per rule.
#![allow(clippy::type_complexity)]

use emv_kernel::date::Date;
use emv_kernel::restrict::{
    application_versions_differ, check_dates, processing_restrictions, usage_control_allows,
    AdditionalTerminalCapabilities, CardFormatError, CardRestrictionData, DateChecks,
    TerminalRestrictionData, TerminalType, TransactionType,
};
use emv_kernel::tvr::{self, Tvr};

const UK: [u8; 2] = [0x08, 0x26];
const NL: [u8; 2] = [0x05, 0x28];

/// Additional Terminal Capabilities byte 1: cash, goods, services, cashback.
const CAPS_CASH: u8 = 0x80;
const CAPS_GOODS: u8 = 0x40;
const CAPS_SERVICES: u8 = 0x20;

fn date(y: u16, m: u8, d: u8) -> Date {
    Date {
        year: y,
        month: m,
        day: d,
    }
}

/// An attended merchant terminal in the UK selling goods and services, a
/// purchase on 2025-06-15.
fn terminal() -> TerminalRestrictionData {
    TerminalRestrictionData {
        application_version: [0x00, 0x8C],
        country_code: UK,
        terminal_type: TerminalType(0x22),
        additional_capabilities: AdditionalTerminalCapabilities([
            CAPS_GOODS | CAPS_SERVICES,
            0,
            0xF0,
            0xA0,
            0x01,
        ]),
        transaction_type: TransactionType::PURCHASE,
        amount_other: 0,
        transaction_date: date(2025, 6, 15),
    }
}

fn atm() -> TerminalRestrictionData {
    TerminalRestrictionData {
        terminal_type: TerminalType(0x14),
        additional_capabilities: AdditionalTerminalCapabilities([CAPS_CASH, 0, 0, 0, 0]),
        transaction_type: TransactionType::CASH,
        ..terminal()
    }
}

#[test]
fn application_version_number() {
    // (rule, card 9F08, differs)
    let rows: &[(&str, Option<&[u8]>, bool)] = &[
        ("10.4.1: absent on the card, no check", None, false),
        ("10.4.1: equal versions", Some(&[0x00, 0x8C]), false),
        ("10.4.1: different versions", Some(&[0x00, 0x8D]), true),
        (
            "10.4.1: different length is different",
            Some(&[0x00, 0x8C, 0x00]),
            true,
        ),
    ];
    for (rule, card, expected) in rows {
        assert_eq!(
            application_versions_differ(*card, [0x00, 0x8C]),
            *expected,
            "{rule}"
        );
    }
}

/// AUC byte 1 bits.
const DOM_CASH: u8 = 0x80;
const INT_CASH: u8 = 0x40;
const DOM_GOODS: u8 = 0x20;
const INT_GOODS: u8 = 0x10;
const DOM_SERVICES: u8 = 0x08;
const INT_SERVICES: u8 = 0x04;
const AT_ATMS: u8 = 0x02;
const NOT_ATMS: u8 = 0x01;
/// AUC byte 2 bits.
const DOM_CASHBACK: u8 = 0x80;
const INT_CASHBACK: u8 = 0x40;

#[test]
fn application_usage_control_every_branch() {
    let goods_only = AdditionalTerminalCapabilities([CAPS_GOODS, 0, 0, 0, 0]);
    let services_only = AdditionalTerminalCapabilities([CAPS_SERVICES, 0, 0, 0, 0]);
    let neither = AdditionalTerminalCapabilities([0, 0, 0, 0, 0]);
    let all_purchase = DOM_GOODS | INT_GOODS | DOM_SERVICES | INT_SERVICES;
    // (rule, AUC, issuer country, terminal, allowed)
    let rows: Vec<(
        &str,
        [u8; 2],
        Option<[u8; 2]>,
        TerminalRestrictionData,
        bool,
    )> = vec![
        (
            "10.4.2: ATM needs 'valid at ATMs'",
            [AT_ATMS, 0],
            None,
            atm(),
            true,
        ),
        (
            "10.4.2: ATM without 'valid at ATMs'",
            [NOT_ATMS, 0],
            None,
            atm(),
            false,
        ),
        (
            "10.4.2: non-ATM needs 'valid at terminals other than ATMs'",
            [NOT_ATMS, 0],
            None,
            terminal(),
            true,
        ),
        (
            "10.4.2: non-ATM with only 'valid at ATMs'",
            [AT_ATMS, 0],
            None,
            terminal(),
            false,
        ),
        (
            "Book 4 A1: type 14 without cash capability is not an ATM",
            [NOT_ATMS, 0],
            None,
            TerminalRestrictionData {
                additional_capabilities: neither,
                ..atm()
            },
            true,
        ),
        (
            "Book 4 A1: type 24 with cash capability is not an ATM",
            [AT_ATMS, 0],
            None,
            TerminalRestrictionData {
                terminal_type: TerminalType(0x24),
                ..atm()
            },
            false,
        ),
        (
            "Book 4 A1: type 16 with cash capability is an ATM",
            [AT_ATMS, 0],
            None,
            TerminalRestrictionData {
                terminal_type: TerminalType(0x16),
                ..atm()
            },
            true,
        ),
        (
            "Table 32 skipped without issuer country: cash with no cash bits",
            [AT_ATMS, 0],
            None,
            atm(),
            true,
        ),
        (
            "Table 32: domestic cash allowed",
            [AT_ATMS | DOM_CASH, 0],
            Some(UK),
            atm(),
            true,
        ),
        (
            "Table 32: domestic cash, only international allowed",
            [AT_ATMS | INT_CASH, 0],
            Some(UK),
            atm(),
            false,
        ),
        (
            "Table 32: international cash allowed",
            [AT_ATMS | INT_CASH, 0],
            Some(NL),
            atm(),
            true,
        ),
        (
            "Table 32: international cash, only domestic allowed",
            [AT_ATMS | DOM_CASH, 0],
            Some(NL),
            atm(),
            false,
        ),
        (
            "Table 32: cash disbursement (17) is cash",
            [NOT_ATMS | DOM_GOODS, 0],
            Some(UK),
            TerminalRestrictionData {
                transaction_type: TransactionType(0x17),
                ..terminal()
            },
            false,
        ),
        (
            "Table 32: manual cash at a counter, domestic cash allowed",
            [NOT_ATMS | DOM_CASH, 0],
            Some(UK),
            TerminalRestrictionData {
                transaction_type: TransactionType::CASH,
                ..terminal()
            },
            true,
        ),
        (
            "Table 32: goods terminal, domestic goods",
            [NOT_ATMS | DOM_GOODS, 0],
            Some(UK),
            TerminalRestrictionData {
                additional_capabilities: goods_only,
                ..terminal()
            },
            true,
        ),
        (
            "Table 32: goods terminal, only domestic services",
            [NOT_ATMS | DOM_SERVICES, 0],
            Some(UK),
            TerminalRestrictionData {
                additional_capabilities: goods_only,
                ..terminal()
            },
            false,
        ),
        (
            "Table 32: goods terminal, international goods",
            [NOT_ATMS | INT_GOODS, 0],
            Some(NL),
            TerminalRestrictionData {
                additional_capabilities: goods_only,
                ..terminal()
            },
            true,
        ),
        (
            "Table 32: goods terminal, abroad with only domestic goods",
            [NOT_ATMS | DOM_GOODS, 0],
            Some(NL),
            TerminalRestrictionData {
                additional_capabilities: goods_only,
                ..terminal()
            },
            false,
        ),
        (
            "Table 32: services terminal, domestic services",
            [NOT_ATMS | DOM_SERVICES, 0],
            Some(UK),
            TerminalRestrictionData {
                additional_capabilities: services_only,
                ..terminal()
            },
            true,
        ),
        (
            "Table 32: services terminal, only domestic goods",
            [NOT_ATMS | DOM_GOODS, 0],
            Some(UK),
            TerminalRestrictionData {
                additional_capabilities: services_only,
                ..terminal()
            },
            false,
        ),
        (
            "Table 32: services terminal, international services",
            [NOT_ATMS | INT_SERVICES, 0],
            Some(NL),
            TerminalRestrictionData {
                additional_capabilities: services_only,
                ..terminal()
            },
            true,
        ),
        (
            "Table 32: services terminal abroad, only international goods",
            [NOT_ATMS | INT_GOODS, 0],
            Some(NL),
            TerminalRestrictionData {
                additional_capabilities: services_only,
                ..terminal()
            },
            false,
        ),
        (
            "Table 32: goods+services terminal, goods bit suffices",
            [NOT_ATMS | DOM_GOODS, 0],
            Some(UK),
            terminal(),
            true,
        ),
        (
            "Table 32: goods+services terminal, services bit suffices",
            [NOT_ATMS | DOM_SERVICES, 0],
            Some(UK),
            terminal(),
            true,
        ),
        (
            "Table 32: goods+services terminal, neither domestic bit",
            [NOT_ATMS | INT_GOODS | INT_SERVICES, 0],
            Some(UK),
            terminal(),
            false,
        ),
        (
            "Table 32: terminal declaring neither goods nor services accepts either",
            [NOT_ATMS | INT_SERVICES, 0],
            Some(NL),
            TerminalRestrictionData {
                additional_capabilities: neither,
                ..terminal()
            },
            true,
        ),
        (
            "Table 32: cashback (09) domestic allowed",
            [NOT_ATMS | all_purchase, DOM_CASHBACK],
            Some(UK),
            TerminalRestrictionData {
                transaction_type: TransactionType::CASHBACK,
                ..terminal()
            },
            true,
        ),
        (
            "Table 32: cashback (09) domestic, only international cashback",
            [NOT_ATMS | all_purchase, INT_CASHBACK],
            Some(UK),
            TerminalRestrictionData {
                transaction_type: TransactionType::CASHBACK,
                ..terminal()
            },
            false,
        ),
        (
            "Table 32: cashback (09) international allowed",
            [NOT_ATMS | all_purchase, INT_CASHBACK],
            Some(NL),
            TerminalRestrictionData {
                transaction_type: TransactionType::CASHBACK,
                ..terminal()
            },
            true,
        ),
        (
            "Table 32: cashback (09) abroad, only domestic cashback",
            [NOT_ATMS | all_purchase, DOM_CASHBACK],
            Some(NL),
            TerminalRestrictionData {
                transaction_type: TransactionType::CASHBACK,
                ..terminal()
            },
            false,
        ),
        (
            "Table 32: cashback is also a purchase: goods/services bits still checked",
            [NOT_ATMS, DOM_CASHBACK | INT_CASHBACK],
            Some(UK),
            TerminalRestrictionData {
                transaction_type: TransactionType::CASHBACK,
                ..terminal()
            },
            false,
        ),
        (
            "Table 32: purchase (00) with Amount, Other > 0 has a cashback amount",
            [NOT_ATMS | all_purchase, 0],
            Some(UK),
            TerminalRestrictionData {
                amount_other: 500,
                ..terminal()
            },
            false,
        ),
        (
            "Table 32: purchase (00) with Amount, Other > 0 and domestic cashback",
            [NOT_ATMS | all_purchase, DOM_CASHBACK],
            Some(UK),
            TerminalRestrictionData {
                amount_other: 500,
                ..terminal()
            },
            true,
        ),
        (
            "Table 32: refund (20) has no service checks beyond the ATM bits",
            [NOT_ATMS, 0],
            Some(NL),
            TerminalRestrictionData {
                transaction_type: TransactionType::REFUND,
                ..terminal()
            },
            true,
        ),
    ];
    for (rule, auc, issuer, term, expected) in rows {
        assert_eq!(usage_control_allows(auc, issuer, &term), expected, "{rule}");
    }
}

#[test]
fn dates_at_the_boundaries() {
    let today = date(2025, 6, 15);
    // (rule, effective, expiration, expected)
    let rows: &[(&str, Option<Date>, Option<Date>, DateChecks)] = &[
        ("10.4.3: both absent", None, None, DateChecks::default()),
        (
            "10.4.3: effective today is effective",
            Some(today),
            None,
            DateChecks::default(),
        ),
        (
            "10.4.3: effective tomorrow is not yet effective",
            Some(date(2025, 6, 16)),
            None,
            DateChecks {
                not_yet_effective: true,
                expired: false,
            },
        ),
        (
            "10.4.3: effective yesterday",
            Some(date(2025, 6, 14)),
            None,
            DateChecks::default(),
        ),
        (
            "10.4.3: expiring today is still valid",
            None,
            Some(today),
            DateChecks::default(),
        ),
        (
            "10.4.3: expired yesterday",
            None,
            Some(date(2025, 6, 14)),
            DateChecks {
                not_yet_effective: false,
                expired: true,
            },
        ),
        (
            "10.4.3: both wrong at once",
            Some(date(2025, 7, 1)),
            Some(date(2025, 5, 31)),
            DateChecks {
                not_yet_effective: true,
                expired: true,
            },
        ),
    ];
    for (rule, effective, expiration, expected) in rows {
        assert_eq!(
            check_dates(*effective, *expiration, today),
            *expected,
            "{rule}"
        );
    }
}

#[test]
fn year_rule_through_the_entry_point() {
    // (rule, expiration BCD, effective BCD, expected TVR byte 2)
    let rows: &[(&str, [u8; 3], [u8; 3], u8)] = &[
        (
            "YY 49 is 2049: not expired",
            [0x49, 0x12, 0x31],
            [0x20, 0x01, 0x01],
            0x00,
        ),
        (
            "YY 99 is 1999: expired",
            [0x99, 0x12, 0x31],
            [0x20, 0x01, 0x01],
            0x40,
        ),
        (
            "YY 50 is 1950: effective long ago",
            [0x30, 0x12, 0x31],
            [0x50, 0x01, 0x01],
            0x00,
        ),
        (
            "YY 26 effective next year: not yet effective",
            [0x30, 0x12, 0x31],
            [0x26, 0x01, 0x01],
            0x20,
        ),
        (
            "expiry end of this month",
            [0x25, 0x06, 0x30],
            [0x25, 0x06, 0x15],
            0x00,
        ),
    ];
    for (rule, expiration, effective, byte2) in rows {
        let card = CardRestrictionData {
            expiration_date: Some(expiration),
            effective_date: Some(effective),
            ..Default::default()
        };
        let mut tvr = Tvr::default();
        processing_restrictions(&card, &terminal(), &mut tvr).unwrap();
        assert_eq!(tvr.0, [0, *byte2, 0, 0, 0], "{rule}");
    }
}

#[test]
fn entry_point_sets_each_bit() {
    let auc_no_goods: [u8; 2] = [NOT_ATMS | DOM_CASH, 0];
    let card = CardRestrictionData {
        application_version: Some(&[0x00, 0x02]),
        application_usage_control: Some(&auc_no_goods),
        issuer_country_code: Some(&UK),
        effective_date: Some(&[0x25, 0x07, 0x01]),
        expiration_date: Some(&[0x25, 0x06, 0x14]),
    };
    let mut tvr = Tvr::default();
    tvr.set(tvr::ODA_NOT_PERFORMED);
    processing_restrictions(&card, &terminal(), &mut tvr).unwrap();
    assert!(tvr.is_set(tvr::ODA_NOT_PERFORMED), "existing bits stay");
    assert!(tvr.is_set(tvr::DIFFERENT_APPLICATION_VERSIONS), "10.4.1");
    assert!(tvr.is_set(tvr::SERVICE_NOT_ALLOWED), "10.4.2");
    assert!(
        tvr.is_set(tvr::APPLICATION_NOT_YET_EFFECTIVE),
        "10.4.3 effective"
    );
    assert!(tvr.is_set(tvr::EXPIRED_APPLICATION), "10.4.3 expiration");
    assert_eq!(tvr.0, [0x80, 0xF0, 0, 0, 0]);

    let clean = CardRestrictionData {
        application_version: Some(&[0x00, 0x8C]),
        application_usage_control: Some(&[0xFF, 0xC0]),
        issuer_country_code: Some(&UK),
        effective_date: Some(&[0x20, 0x01, 0x01]),
        expiration_date: Some(&[0x29, 0x12, 0x31]),
    };
    let mut tvr = Tvr::default();
    processing_restrictions(&clean, &terminal(), &mut tvr).unwrap();
    assert_eq!(
        tvr,
        Tvr::default(),
        "a card valid for everything sets nothing"
    );
}

#[test]
fn malformed_card_data_is_a_format_error() {
    let rows: &[(&str, CardRestrictionData<'static>, u16)] = &[
        (
            "AUC must be 2 bytes",
            CardRestrictionData {
                application_usage_control: Some(&[0xFF]),
                ..Default::default()
            },
            0x9F07,
        ),
        (
            "issuer country code must be 2 bytes",
            CardRestrictionData {
                issuer_country_code: Some(&[0x08, 0x26, 0x00]),
                ..Default::default()
            },
            0x5F28,
        ),
        (
            "expiration date must be BCD",
            CardRestrictionData {
                expiration_date: Some(&[0x25, 0x1A, 0x01]),
                ..Default::default()
            },
            0x5F24,
        ),
        (
            "effective date month 13",
            CardRestrictionData {
                effective_date: Some(&[0x25, 0x13, 0x01]),
                ..Default::default()
            },
            0x5F25,
        ),
    ];
    for (rule, card, tag) in rows {
        let mut tvr = Tvr::default();
        assert_eq!(
            processing_restrictions(card, &terminal(), &mut tvr),
            Err(CardFormatError { tag: *tag }),
            "{rule}"
        );
        assert_eq!(tvr, Tvr::default(), "{rule}: no bit set on format error");
    }
}
