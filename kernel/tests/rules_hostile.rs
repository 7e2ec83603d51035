//! Property tests: the decision rules take card bytes that may be anything.
//!
//! Whatever the card sends, each rule returns a defined outcome (or a format
//! error), never panics, always ends, and touches only the TVR/TSI bits its
//! section of Book 3 owns.

use emv_kernel::action::{
    first_card_action_analysis, second_card_action_analysis, SecondGenerateAcContext,
};
use emv_kernel::apdu::RequestedCryptogram;
use emv_kernel::cvm::{CardholderVerification, CvmContext, CvmStep, PinOutcome};
use emv_kernel::date::Date;
use emv_kernel::render::Cid;
use emv_kernel::restrict::{
    processing_restrictions, AdditionalTerminalCapabilities, CardRestrictionData,
    TerminalRestrictionData, TerminalType, TransactionType,
};
use emv_kernel::risk::{
    on_exception_file, randomly_selected, velocity_check, RandomSelection, VelocityCounters,
};
use emv_kernel::tvr::{Tsi, Tvr};
use proptest::prelude::*;

fn bytes(max: usize) -> impl Strategy<Value = Option<Vec<u8>>> {
    proptest::option::of(proptest::collection::vec(any::<u8>(), 0..max))
}

fn pin_outcome() -> impl Strategy<Value = PinOutcome> {
    prop_oneof![
        Just(PinOutcome::Verified),
        Just(PinOutcome::TryLimitExceeded),
        Just(PinOutcome::PinPadNotWorking),
        Just(PinOutcome::Bypassed),
        Just(PinOutcome::Failed),
    ]
}

fn requested() -> impl Strategy<Value = RequestedCryptogram> {
    prop_oneof![
        Just(RequestedCryptogram::Aac),
        Just(RequestedCryptogram::Tc),
        Just(RequestedCryptogram::Arqc),
    ]
}

proptest! {
    /// Book 3, 10.4: only TVR byte 2 b8-b5 can change.
    #[test]
    fn restrictions_take_any_card_bytes(
        version in bytes(4),
        auc in bytes(4),
        country in bytes(4),
        effective in bytes(5),
        expiration in bytes(5),
        terminal_type in any::<u8>(),
        caps in any::<[u8; 5]>(),
        transaction_type in any::<u8>(),
        amount_other in any::<u64>(),
    ) {
        let card = CardRestrictionData {
            application_version: version.as_deref(),
            application_usage_control: auc.as_deref(),
            issuer_country_code: country.as_deref(),
            effective_date: effective.as_deref(),
            expiration_date: expiration.as_deref(),
        };
        let terminal = TerminalRestrictionData {
            application_version: [0x00, 0x8C],
            country_code: [0x08, 0x26],
            terminal_type: TerminalType(terminal_type),
            additional_capabilities: AdditionalTerminalCapabilities(caps),
            transaction_type: TransactionType(transaction_type),
            amount_other,
            transaction_date: Date { year: 2025, month: 6, day: 15 },
        };
        let mut tvr = Tvr::default();
        let _ = processing_restrictions(&card, &terminal, &mut tvr);
        prop_assert_eq!(tvr.0[1] & 0x0F, 0);
        prop_assert_eq!([tvr.0[0], tvr.0[2], tvr.0[3], tvr.0[4]], [0; 4]);
    }

    /// Book 3, 10.5: any CVM List ends after at most one PIN step per rule;
    /// only TVR byte 1 b6 (ICC data missing) and byte 3 can change.
    #[test]
    fn cvm_takes_any_list(
        list in bytes(64),
        aip in any::<[u8; 2]>(),
        caps in any::<[u8; 3]>(),
        terminal_type in any::<u8>(),
        transaction_type in any::<u8>(),
        amount in any::<u64>(),
        currency in any::<[u8; 2]>(),
        app_currency in proptest::option::of(any::<[u8; 2]>()),
        pin_pad_working in any::<bool>(),
        subsequent_pin_bypass in any::<bool>(),
        outcomes in proptest::collection::vec(pin_outcome(), 32),
    ) {
        let context = CvmContext {
            terminal_capabilities: caps,
            terminal_type: TerminalType(terminal_type),
            transaction_type: TransactionType(transaction_type),
            amount_authorised: amount,
            transaction_currency_code: currency,
            application_currency_code: app_currency,
            pin_pad_working,
            subsequent_pin_bypass,
        };
        let mut tvr = Tvr::default();
        let mut tsi = Tsi::default();
        if let Ok((mut machine, mut step)) =
            CardholderVerification::start(aip, list.as_deref(), context, &mut tvr, &mut tsi)
        {
            let rules = list.as_ref().map_or(0, |l| l.len().saturating_sub(8) / 2);
            let mut outcomes = outcomes.iter().cycle();
            let mut asked = 0;
            while !matches!(step, CvmStep::Done(_)) {
                asked += 1;
                prop_assert!(asked <= rules);
                let outcome = *outcomes.next().unwrap();
                step = machine.report(outcome, &mut tvr).unwrap();
            }
            prop_assert!(machine.result().is_some());
        }
        prop_assert_eq!(tvr.0[0] & !0x20, 0);
        prop_assert_eq!([tvr.0[1], tvr.0[3], tvr.0[4]], [0; 3]);
        prop_assert_eq!(tsi.0[0] & !0x40, 0);
    }

    /// Book 3, 10.8: any CID byte gives a decision or a defined error.
    #[test]
    fn card_action_analysis_takes_any_cid(raw in any::<u8>(), asked in requested(), online in any::<bool>()) {
        let _ = first_card_action_analysis(asked, Cid { raw }, online);
        let _ = second_card_action_analysis(asked, Cid { raw }, SecondGenerateAcContext::Online);
        let _ = second_card_action_analysis(asked, Cid { raw }, SecondGenerateAcContext::UnableToGoOnline);
    }

    /// Book 3, 10.6: any amounts, limits and counters.
    #[test]
    fn risk_takes_any_numbers(
        amount in any::<u64>(),
        floor in any::<u64>(),
        threshold in any::<u64>(),
        target in 0u8..=99,
        extra in 0u8..=99,
        random in 1u8..=99,
        lower in any::<u8>(),
        upper in any::<u8>(),
        atc in proptest::option::of(any::<u16>()),
        last in proptest::option::of(any::<u16>()),
        pan in proptest::collection::vec(any::<u8>(), 0..12),
        listed in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..12), 0..4),
    ) {
        let params = RandomSelection {
            threshold,
            target_percentage: target,
            max_target_percentage: target.saturating_add(extra).min(99),
        };
        let selected = randomly_selected(amount, floor, &params, random).unwrap();
        prop_assert!(!(selected && amount >= floor), "no random selection at or above the floor limit");
        let _ = velocity_check(lower, upper, VelocityCounters { atc, last_online_atc: last });
        let listed: Vec<&[u8]> = listed.iter().map(Vec::as_slice).collect();
        let _ = on_exception_file(&pan, &listed);
    }
}
