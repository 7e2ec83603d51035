//! Table tests for terminal risk management (Book 3, 10.6).
//!
//! Every row names the rule it checks. The random-selection rate is checked
//! exhaustively over every random number 1..=99 (deterministic, no timing).

// Row tables are tuples on purpose: one line per rule.
#![allow(clippy::type_complexity)]

use emv_kernel::risk::{
    floor_limit_exceeded, on_exception_file, randomly_selected, terminal_risk_management,
    velocity_check, velocity_checking_applies, RandomSelection, RiskConfigError, RiskInput,
    VelocityCounters, VelocityResult,
};
use emv_kernel::tvr::{self, Tsi, Tvr};

#[test]
fn floor_limit() {
    // (rule, amount, recent same-PAN total, floor limit, exceeded)
    let rows: &[(&str, u64, u64, u64, bool)] = &[
        ("10.6.1: below the floor limit", 9_999, 0, 10_000, false),
        (
            "10.6.1: equal to the floor limit exceeds it",
            10_000,
            0,
            10_000,
            true,
        ),
        ("10.6.1: above", 10_001, 0, 10_000, true),
        (
            "10.6.1: split sale: amount + logged amount reaches the limit",
            6_000,
            4_000,
            10_000,
            true,
        ),
        (
            "10.6.1: amount + logged amount stays below",
            6_000,
            3_999,
            10_000,
            false,
        ),
        (
            "10.6.1: floor limit zero: everything exceeds",
            0,
            0,
            0,
            true,
        ),
        (
            "overflowing sum exceeds any limit",
            u64::MAX,
            1,
            u64::MAX,
            true,
        ),
    ];
    for (rule, amount, recent, limit, expected) in rows {
        assert_eq!(
            floor_limit_exceeded(*amount, *recent, *limit),
            *expected,
            "{rule}"
        );
    }
}

const PARAMS: RandomSelection = RandomSelection {
    threshold: 5_000,
    target_percentage: 20,
    max_target_percentage: 80,
};
const FLOOR: u64 = 10_000;

#[test]
fn random_selection_boundaries() {
    // (rule, amount, random, selected)
    let rows: &[(&str, u64, u8, bool)] = &[
        ("10.6.2: below threshold, random = target", 0, 20, true),
        ("10.6.2: below threshold, random = target + 1", 0, 21, false),
        ("10.6.2: just below threshold, random = 1", 4_999, 1, true),
        (
            "10.6.2: just below threshold, random = target + 1",
            4_999,
            21,
            false,
        ),
        (
            "10.6.2: at threshold the interpolation gives the target",
            5_000,
            20,
            true,
        ),
        ("10.6.2: at threshold, target + 1", 5_000, 21, false),
        ("10.6.2: midway: percent 50 exactly", 7_500, 50, true),
        ("10.6.2: midway: 51 not selected", 7_500, 51, false),
        ("10.6.2: 7501 gives 50.012: 50 selected", 7_501, 50, true),
        (
            "10.6.2: 7501 gives 50.012: 51 not selected",
            7_501,
            51,
            false,
        ),
        ("10.6.2: 9999 gives 79.988: 79 selected", 9_999, 79, true),
        (
            "10.6.2: 9999 gives 79.988: 80 not selected (no rounding up)",
            9_999,
            80,
            false,
        ),
        (
            "10.6.2: at the floor limit, no random selection",
            10_000,
            1,
            false,
        ),
        (
            "10.6.2: above the floor limit, no random selection",
            1_000_000,
            1,
            false,
        ),
    ];
    for (rule, amount, random, expected) in rows {
        assert_eq!(
            randomly_selected(*amount, FLOOR, &PARAMS, *random),
            Ok(*expected),
            "{rule}"
        );
    }
}

#[test]
fn random_selection_parameter_errors() {
    let rows: &[(&str, RandomSelection, u8, RiskConfigError)] = &[
        (
            "random 0 is outside 1..=99",
            PARAMS,
            0,
            RiskConfigError::RandomOutOfRange,
        ),
        (
            "random 100 is outside 1..=99",
            PARAMS,
            100,
            RiskConfigError::RandomOutOfRange,
        ),
        (
            "target above maximum",
            RandomSelection {
                target_percentage: 30,
                max_target_percentage: 20,
                ..PARAMS
            },
            50,
            RiskConfigError::BadTargetPercentage,
        ),
        (
            "maximum above 99",
            RandomSelection {
                max_target_percentage: 100,
                ..PARAMS
            },
            50,
            RiskConfigError::BadTargetPercentage,
        ),
    ];
    for (rule, params, random, error) in rows {
        assert_eq!(
            randomly_selected(1_000, FLOOR, params, *random),
            Err(*error),
            "{rule}"
        );
    }
}

/// How many of the 99 equally likely random numbers select the transaction.
fn selections(amount: u64, floor: u64, params: &RandomSelection) -> u32 {
    (1..=99u8)
        .filter(|r| randomly_selected(amount, floor, params, *r).unwrap())
        .count() as u32
}

/// The Transaction Target Percent of Book 3, 10.6.2 as an exact fraction
/// (numerator, denominator), computed independently of the kernel.
fn target_percent(amount: u64, floor: u64, p: &RandomSelection) -> (u128, u128) {
    if amount < p.threshold {
        return (p.target_percentage as u128, 1);
    }
    let d = (floor - p.threshold) as u128;
    let n = (p.max_target_percentage - p.target_percentage) as u128
        * (amount - p.threshold) as u128
        + p.target_percentage as u128 * d;
    (n, d)
}

#[test]
fn random_selection_rate_is_exact_over_all_random_values() {
    // Several configurations, including a large floor limit where
    // intermediate products exceed 64 bits of comfort.
    let configs = [
        (FLOOR, PARAMS),
        (
            10_000,
            RandomSelection {
                threshold: 0,
                target_percentage: 0,
                max_target_percentage: 99,
            },
        ),
        (
            u64::MAX / 2,
            RandomSelection {
                threshold: u64::MAX / 4,
                target_percentage: 5,
                max_target_percentage: 95,
            },
        ),
        (
            7,
            RandomSelection {
                threshold: 3,
                target_percentage: 10,
                max_target_percentage: 11,
            },
        ),
    ];
    for (floor, params) in configs {
        let span = floor - params.threshold;
        let amounts = [
            0,
            params.threshold.saturating_sub(1),
            params.threshold,
            params.threshold + span / 4,
            params.threshold + span / 3,
            params.threshold + span / 2,
            params.threshold + 2 * span / 3,
            floor - 1,
            floor,
        ];
        let mut previous = 0;
        for amount in amounts {
            let count = selections(amount, floor, &params);
            let expected = if amount >= floor {
                0
            } else {
                let (n, d) = target_percent(amount, floor, &params);
                (n / d) as u32 // floor of the percent: random <= percent for 1..=floor(percent)
            };
            assert_eq!(
                count, expected,
                "rate at amount {amount}, floor {floor}, {params:?}"
            );
            if amount < floor {
                assert!(
                    count >= previous,
                    "biased selection never drops as the amount grows"
                );
                previous = count;
            }
        }
    }
}

#[test]
fn random_selection_rate_over_the_whole_biased_range() {
    // Exhaustive over every amount 0..floor and every random value: the
    // selection count per amount equals floor(percent), and the average
    // probability across the biased range lies between target and maximum.
    let floor = 1_000;
    let params = RandomSelection {
        threshold: 200,
        target_percentage: 10,
        max_target_percentage: 60,
    };
    let mut total_biased = 0u64;
    for amount in 0..floor {
        let count = selections(amount, floor, &params);
        let (n, d) = target_percent(amount, floor, &params);
        assert_eq!(count as u128, n / d, "amount {amount}");
        if amount >= params.threshold {
            total_biased += count as u64;
        }
    }
    let biased_amounts = floor - params.threshold;
    // Mean of floor(10 + 50 * k / 800) for k in 0..800: 34.5 - rounding loss.
    let mean_hundredths = total_biased * 100 / biased_amounts;
    assert!(
        (3_400..=3_500).contains(&mean_hundredths),
        "mean percent x100 = {mean_hundredths}"
    );
}

#[test]
fn velocity_checking() {
    let c = |atc, last| VelocityCounters {
        atc,
        last_online_atc: last,
    };
    let r = |lower_exceeded, upper_exceeded, new_card| VelocityResult {
        lower_exceeded,
        upper_exceeded,
        new_card,
    };
    // (rule, counters, expected) with LCOL 2, UCOL 5
    let rows: &[(&str, VelocityCounters, VelocityResult)] = &[
        (
            "10.6.3: difference equal to LCOL has not exceeded it",
            c(Some(10), Some(8)),
            r(false, false, false),
        ),
        (
            "10.6.3: difference above LCOL",
            c(Some(11), Some(8)),
            r(true, false, false),
        ),
        (
            "10.6.3: difference equal to UCOL",
            c(Some(13), Some(8)),
            r(true, false, false),
        ),
        (
            "10.6.3: difference above UCOL",
            c(Some(14), Some(8)),
            r(true, true, false),
        ),
        (
            "10.6.3: Last Online ATC 0 is a new card",
            c(Some(1), Some(0)),
            r(false, false, true),
        ),
        (
            "10.6.3: new card beyond LCOL",
            c(Some(3), Some(0)),
            r(true, false, true),
        ),
        (
            "10.6.3: ATC not returned: both limits exceeded",
            c(None, Some(8)),
            r(true, true, false),
        ),
        (
            "10.6.3: register not returned: both exceeded, not a new card",
            c(Some(9), None),
            r(true, true, false),
        ),
        (
            "10.6.3: neither returned",
            c(None, None),
            r(true, true, false),
        ),
        (
            "10.6.3: register 0 returned but ATC missing: new card and both",
            c(None, Some(0)),
            r(true, true, true),
        ),
        (
            "10.6.3: ATC equal to register: both exceeded",
            c(Some(8), Some(8)),
            r(true, true, false),
        ),
        (
            "10.6.3: ATC below register: both exceeded",
            c(Some(7), Some(8)),
            r(true, true, false),
        ),
        (
            "counters at the 16-bit edge",
            c(Some(u16::MAX), Some(u16::MAX - 5)),
            r(true, false, false),
        ),
    ];
    for (rule, counters, expected) in rows {
        assert_eq!(velocity_check(2, 5, *counters), *expected, "{rule}");
    }
    let applies: &[(&str, Option<u8>, Option<u8>, bool)] = &[
        ("10.6.3: both limits present", Some(2), Some(5), true),
        ("10.6.3: LCOL missing: not performed", None, Some(5), false),
        ("10.6.3: UCOL missing: not performed", Some(2), None, false),
        ("10.6.3: both missing", None, None, false),
    ];
    for (rule, lower, upper, expected) in applies {
        assert_eq!(
            velocity_checking_applies(*lower, *upper),
            *expected,
            "{rule}"
        );
    }
}

#[test]
fn exception_file() {
    let pan16: &[u8] = &[0x47, 0x61, 0x73, 0x90, 0x01, 0x01, 0x00, 0x10];
    let pan19: &[u8] = &[0x67, 0x99, 0x99, 0x89, 0x00, 0x00, 0x00, 0x02, 0x00, 0x5F];
    let other: &[u8] = &[0x47, 0x61, 0x73, 0x90, 0x01, 0x01, 0x00, 0x11];
    let prefix: &[u8] = &[0x47, 0x61, 0x73, 0x90, 0x01, 0x01, 0x00];
    let padded16: &[u8] = &[0x47, 0x61, 0x73, 0x90, 0x01, 0x01, 0x00, 0x10, 0xFF];
    let rows: &[(&str, &[u8], &[&[u8]], bool)] = &[
        ("empty exception file", pan16, &[], false),
        ("PAN listed", pan16, &[other, pan16], true),
        ("different last digit", pan16, &[other], false),
        (
            "a prefix of the PAN is not the PAN",
            pan16,
            &[prefix],
            false,
        ),
        ("trailing F padding is ignored", pan16, &[padded16], true),
        ("odd-length PAN with F pad", pan19, &[pan19], true),
        ("odd-length PAN not listed", pan19, &[pan16], false),
    ];
    for (rule, pan, list, expected) in rows {
        assert_eq!(on_exception_file(pan, list), *expected, "{rule}");
    }
}

fn input<'a>() -> RiskInput<'a> {
    RiskInput {
        amount_authorised: 1_000,
        recent_same_pan_total: 0,
        floor_limit: FLOOR,
        random_selection: PARAMS,
        random: 99,
        lower_consecutive_offline_limit: Some(2),
        upper_consecutive_offline_limit: Some(5),
        counters: VelocityCounters {
            atc: Some(10),
            last_online_atc: Some(9),
        },
        pan: &[0x47, 0x61, 0x73, 0x90, 0x01, 0x01, 0x00, 0x10],
        exception_file: &[],
    }
}

#[test]
fn entry_point() {
    let hot: &[&[u8]] = &[&[0x47, 0x61, 0x73, 0x90, 0x01, 0x01, 0x00, 0x10]];
    // (rule, input, expected TVR)
    let rows: Vec<(&str, RiskInput, [u8; 5])> = vec![
        ("10.6: nothing to report", input(), [0; 5]),
        (
            "10.6.1: floor limit",
            RiskInput {
                amount_authorised: 10_000,
                ..input()
            },
            [0, 0, 0, 0x80, 0],
        ),
        (
            "10.6.2: randomly selected",
            RiskInput {
                random: 20,
                ..input()
            },
            [0, 0, 0, 0x10, 0],
        ),
        (
            "10.6.3: new card past both limits",
            RiskInput {
                counters: VelocityCounters {
                    atc: Some(6),
                    last_online_atc: Some(0),
                },
                ..input()
            },
            [0, 0x08, 0, 0x60, 0],
        ),
        (
            "10.6.3: velocity not performed without LCOL",
            RiskInput {
                lower_consecutive_offline_limit: None,
                counters: VelocityCounters {
                    atc: None,
                    last_online_atc: None,
                },
                ..input()
            },
            [0; 5],
        ),
        (
            "10.6: exception file",
            RiskInput {
                exception_file: hot,
                ..input()
            },
            [0x10, 0, 0, 0, 0],
        ),
    ];
    for (rule, input, expected) in rows {
        let mut tvr = Tvr::default();
        let mut tsi = Tsi::default();
        terminal_risk_management(&input, &mut tvr, &mut tsi).unwrap();
        assert_eq!(tvr.0, expected, "{rule}");
        assert!(
            tsi.is_set(tvr::TSI_TERMINAL_RISK_MANAGEMENT_PERFORMED),
            "{rule}: TSI"
        );
    }

    // A caller error in the random-selection parameters skips only random
    // selection: the floor limit is still checked and TSI still set.
    let mut tvr = Tvr::default();
    let mut tsi = Tsi::default();
    let misconfigured = RiskInput {
        random: 0,
        amount_authorised: 10_000,
        ..input()
    };
    assert_eq!(
        terminal_risk_management(&misconfigured, &mut tvr, &mut tsi),
        Err(RiskConfigError::RandomOutOfRange)
    );
    assert_eq!(tvr.0, [0, 0, 0, 0x80, 0], "floor limit still checked");
    assert!(tsi.is_set(tvr::TSI_TERMINAL_RISK_MANAGEMENT_PERFORMED));
}
