//! The card engine command by command: selection, GPO, records, GET DATA,
//! PIN, GENERATE AC, issuer authentication, scripts and status words.

mod common;

use common::*;
use emv_test_cards::card::{format2_pin_block, sw};
use emv_test_cards::encode::tlv;
use emv_test_cards::issuer::{cryptogram_input, CryptogramType, Issuer};
use emv_test_cards::profiles;
use emv_test_cards::spec::{TEST_AID_CREDIT, TEST_AID_DEBIT, TEST_AID_PREPAID};

fn card(name: &str) -> emv_test_cards::card::Card {
    profiles::find(name).expect("profile").card()
}

/// Selects the first application and runs GPO; returns (AIP, AFL).
fn start(card: &mut emv_test_cards::card::Card) -> ([u8; 2], Vec<u8>) {
    let (fci, sw) = select(card, &TEST_AID_CREDIT, false);
    assert_eq!(sw, 0x9000);
    let pdol = find(&fci, 0x9F38).unwrap_or_default();
    let (gpo_response, sw) = gpo(card, &pdol);
    assert_eq!(sw, 0x9000);
    aip_afl(&gpo_response)
}

#[test]
fn select_pse_and_read_directory() {
    let mut c = card("multi-app-pse");
    let (fci, sw) = select(&mut c, b"1PAY.SYS.DDF01", false);
    assert_eq!(sw, 0x9000);
    assert_eq!(find(&fci, 0x88), Some(vec![0x01]));
    let (rec1, sw) = read_record(&mut c, 1, 1);
    assert_eq!(sw, 0x9000);
    let (rec2, _) = read_record(&mut c, 1, 2);
    let (_, sw) = read_record(&mut c, 1, 3);
    assert_eq!(sw, sw::RECORD_NOT_FOUND);
    let all = [rec1, rec2].concat();
    for (aid, prio) in [
        (&TEST_AID_CREDIT, 0x02),
        (&TEST_AID_DEBIT, 0x81),
        (&TEST_AID_PREPAID, 0x03),
    ] {
        assert!(
            all.windows(aid.len()).any(|w| w == aid.as_slice()),
            "PSE lists {aid:02X?}"
        );
        assert!(all.windows(3).any(|w| w == [0x87, 0x01, prio]));
    }
    let (_, sw) = read_record(&mut c, 2, 1);
    assert_eq!(sw, sw::NOT_FOUND);
}

#[test]
fn select_ppse() {
    let mut c = card("multi-app-pse");
    let (fci, sw) = select(&mut c, b"2PAY.SYS.DDF01", false);
    assert_eq!(sw, 0x9000);
    assert!(find(&fci, 0xBF0C).is_some());
    let mut c = card("sda");
    assert_eq!(select(&mut c, b"2PAY.SYS.DDF01", false).1, sw::NOT_FOUND);
}

#[test]
fn select_partial_aid_first_and_next() {
    let mut c = card("no-pse");
    assert_eq!(select(&mut c, b"1PAY.SYS.DDF01", false).1, sw::NOT_FOUND);
    let (fci, sw) = select(&mut c, &TEST_AID_CREDIT, false);
    assert_eq!(sw, 0x9000);
    assert_eq!(
        find(&fci, 0x84).unwrap(),
        [&TEST_AID_CREDIT[..], &[0x01]].concat()
    );
    let (fci, sw) = select(&mut c, &TEST_AID_CREDIT, true);
    assert_eq!(sw, 0x9000);
    assert_eq!(
        find(&fci, 0x84).unwrap(),
        [&TEST_AID_CREDIT[..], &[0x02]].concat()
    );
    assert_eq!(select(&mut c, &TEST_AID_CREDIT, true).1, sw::NOT_FOUND);
    assert_eq!(select(&mut c, &TEST_AID_DEBIT, false).1, sw::NOT_FOUND);
}

#[test]
fn blocked_application_and_blocked_card() {
    let mut c = card("app-blocked");
    let (fci, sw) = select(&mut c, &TEST_AID_CREDIT, false);
    assert_eq!(sw, sw::APP_BLOCKED);
    assert!(!fci.is_empty());
    assert_eq!(
        gpo(&mut c, &[0x9F, 0x1A, 0x02, 0x9F, 0x33, 0x03]).1,
        sw::CONDITIONS
    );
    let mut c = card("card-blocked");
    assert_eq!(
        select(&mut c, b"1PAY.SYS.DDF01", false).1,
        sw::NOT_SUPPORTED
    );
    assert_eq!(select(&mut c, &TEST_AID_CREDIT, false).1, sw::NOT_SUPPORTED);
}

#[test]
fn gpo_checks_pdol_length_and_runs_once() {
    let mut c = card("sda");
    assert_eq!(select(&mut c, &TEST_AID_CREDIT, false).1, 0x9000);
    let short = apdu(0x80, 0xA8, 0, 0, &tlv(0x83, &[0; 3]), Some(0));
    assert_eq!(send(&mut c, &short).1, sw::WRONG_LENGTH);
    let (resp, sw) = gpo(&mut c, &[0x9F, 0x1A, 0x02, 0x9F, 0x33, 0x03]);
    assert_eq!(sw, 0x9000);
    assert_eq!(resp[0], 0x80, "sda answers GPO in format 1");
    assert_eq!(
        gpo(&mut c, &[0x9F, 0x1A, 0x02, 0x9F, 0x33, 0x03]).1,
        sw::CONDITIONS
    );
    let mut c = card("cda");
    let (aip, afl) = start(&mut c);
    assert_eq!(aip, [0x39, 0x00]);
    assert_eq!(afl, [0x08, 0x01, 0x02, 0x02, 0x10, 0x01, 0x03, 0x00]);
}

#[test]
fn read_record_status_words() {
    let mut c = card("dda");
    assert_eq!(
        read_record(&mut c, 1, 1).1,
        sw::CONDITIONS,
        "nothing selected"
    );
    let (_, afl) = start(&mut c);
    let records = read_afl(&mut c, &afl);
    assert_eq!(records.len(), 5);
    assert_eq!(read_record(&mut c, 1, 9).1, sw::RECORD_NOT_FOUND);
    assert_eq!(read_record(&mut c, 7, 1).1, sw::NOT_FOUND);
    assert_eq!(
        send(&mut c, &[0x00, 0xB2, 0x01, 0x0B, 0x00]).1,
        sw::WRONG_P1P2
    );
}

#[test]
fn get_data_and_atc_persists_across_transactions() {
    let mut c = card("sda");
    start(&mut c);
    let get = |c: &mut emv_test_cards::card::Card, tag: u16| {
        let [p1, p2] = tag.to_be_bytes();
        send(c, &apdu(0x80, 0xCA, p1, p2, &[], Some(0)))
    };
    assert_eq!(
        get(&mut c, 0x9F36),
        (vec![0x9F, 0x36, 0x02, 0x00, 0x11], 0x9000)
    );
    assert_eq!(
        get(&mut c, 0x9F13),
        (vec![0x9F, 0x13, 0x02, 0x00, 0x0E], 0x9000)
    );
    assert_eq!(get(&mut c, 0x9F17), (vec![0x9F, 0x17, 0x01, 0x03], 0x9000));
    assert_eq!(get(&mut c, 0x9F4F).1, 0x9000);
    assert_eq!(get(&mut c, 0x9F99).1, sw::DATA_NOT_FOUND);
    c.reset();
    start(&mut c);
    assert_eq!(get(&mut c, 0x9F36).0, vec![0x9F, 0x36, 0x02, 0x00, 0x12]);
    assert_eq!(c.atc(0), Some(0x12));
}

#[test]
fn wrong_class_and_instruction() {
    let mut c = card("sda");
    assert_eq!(send(&mut c, &[0x00, 0x77, 0, 0]).1, sw::INS_NOT_SUPPORTED);
    assert_eq!(send(&mut c, &[0xA0, 0xA4, 4, 0]).1, sw::CLA_NOT_SUPPORTED);
    assert_eq!(
        send(&mut c, &[0x80, 0xA4, 4, 0, 1, 0xA0]).1,
        sw::CLA_NOT_SUPPORTED
    );
    assert_eq!(send(&mut c, &[0x00, 0xA4]).1, sw::WRONG_LENGTH);
    assert_eq!(
        send(&mut c, &[0x00, 0xA4, 4, 0, 9, 1, 2]).1,
        sw::WRONG_LENGTH
    );
    assert_eq!(send(&mut c, &[0x00, 0xA4, 1, 0, 1, 0xA0]).1, sw::WRONG_P1P2);
}

#[test]
fn plaintext_pin_counts_tries_and_blocks() {
    let mut c = card("cvm-offline-pin");
    start(&mut c);
    let verify = |c: &mut emv_test_cards::card::Card, pin: &str| {
        send(
            c,
            &apdu(0x00, 0x20, 0x00, 0x80, &format2_pin_block(pin), None),
        )
        .1
    };
    assert_eq!(verify(&mut c, "9999"), 0x63C2);
    assert_eq!(verify(&mut c, "1234"), 0x9000);
    assert_eq!(c.pin_try_counter(0), Some(3));
    assert_eq!(verify(&mut c, "0000"), 0x63C2);
    assert_eq!(verify(&mut c, "0000"), 0x63C1);
    assert_eq!(verify(&mut c, "0000"), 0x63C0);
    assert_eq!(verify(&mut c, "1234"), sw::METHOD_BLOCKED);
    assert_eq!(send(&mut c, &[0x00, 0x20, 0x00, 0x80]).1, 0x63C0);
    let bad_block = [0x14, 0x12, 0x34, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF];
    let mut fresh = card("cvm-offline-pin");
    start(&mut fresh);
    assert_eq!(
        send(&mut fresh, &apdu(0x00, 0x20, 0x00, 0x80, &bad_block, None)).1,
        sw::WRONG_DATA
    );
    let mut blocked = card("pin-try-limit-exceeded");
    start(&mut blocked);
    assert_eq!(verify(&mut blocked, "1234"), sw::METHOD_BLOCKED);
}

#[test]
fn enciphered_pin_with_icc_pin_key() {
    let profile = profiles::find("cvm-enciphered-pin").unwrap();
    let mut c = profile.card();
    start(&mut c);
    let key = profile.image().apps[0].pin_decipher_key.expect("PIN key");
    let encipher = |c: &mut emv_test_cards::card::Card, pin: &str, fresh_challenge: bool| {
        let challenge = if fresh_challenge {
            let (ch, sw) = send(c, &[0x00, 0x84, 0x00, 0x00, 0x00]);
            assert_eq!(sw, 0x9000);
            ch
        } else {
            vec![0; 8]
        };
        let mut block = vec![0x7F];
        block.extend_from_slice(&format2_pin_block(pin));
        block.extend_from_slice(&challenge);
        block.resize(key.len(), 0x3C);
        let enciphered = key.public_op(&block).unwrap();
        send(c, &apdu(0x00, 0x20, 0x00, 0x88, &enciphered, None)).1
    };
    assert_eq!(encipher(&mut c, "1234", true), 0x9000);
    assert_eq!(encipher(&mut c, "4321", true), 0x63C2);
    assert_eq!(
        encipher(&mut c, "1234", false),
        sw::CONDITIONS,
        "no challenge outstanding"
    );
}

#[test]
fn generate_ac_tc_then_conditions() {
    let profile = profiles::find("sda").unwrap();
    let mut c = profile.card();
    let (aip, _) = start(&mut c);
    let data = cdol1_data(1000, [1, 2, 3, 4]);
    assert_eq!(generate_ac(&mut c, 0x40, &data[1..]).1, sw::WRONG_LENGTH);
    let (resp, sw) = generate_ac(&mut c, 0x40, &data);
    assert_eq!(sw, 0x9000);
    let ac = parse_ac(&resp);
    assert_eq!(CryptogramType::from_cid(ac.cid), Some(CryptogramType::Tc));
    let image = profile.image();
    let app = &image.apps[0];
    let input = cryptogram_input(&data, aip, ac.atc, cvr(&ac.iad));
    assert!(Issuer::test_issuer().verify_cryptogram(
        &app.pan,
        app.pan_sequence,
        ac.atc,
        &input,
        ac.cryptogram.unwrap()
    ));
    assert!(!Issuer::with_keys([1; 16], [2; 16]).verify_cryptogram(
        &app.pan,
        app.pan_sequence,
        ac.atc,
        &input,
        ac.cryptogram.unwrap()
    ));
    assert_eq!(
        generate_ac(&mut c, 0x40, &data).1,
        sw::CONDITIONS,
        "no second GEN AC after a TC"
    );
    let mut fresh = profile.card();
    select(&mut fresh, &TEST_AID_CREDIT, false);
    assert_eq!(
        generate_ac(&mut fresh, 0x40, &data).1,
        sw::CONDITIONS,
        "GEN AC before GPO"
    );
    assert_eq!(generate_ac(&mut fresh, 0xC0, &data).1, sw::WRONG_P1P2);
}

#[test]
fn card_risk_rules_decide() {
    for (name, requested, expected) in [
        ("card-declines", 0x40, CryptogramType::Aac),
        ("card-online", 0x40, CryptogramType::Arqc),
        ("sda", 0x80, CryptogramType::Arqc),
        ("sda", 0x00, CryptogramType::Aac),
    ] {
        let mut c = card(name);
        start(&mut c);
        let (resp, sw) = generate_ac(&mut c, requested, &cdol1_data(1000, [9; 4]));
        assert_eq!(sw, 0x9000);
        assert_eq!(
            CryptogramType::from_cid(parse_ac(&resp).cid),
            Some(expected),
            "{name}"
        );
    }
}

/// Runs a first GEN AC asking for an ARQC; returns (ATC, ARQC).
fn go_online(c: &mut emv_test_cards::card::Card) -> (u16, [u8; 8]) {
    start(c);
    let (resp, sw) = generate_ac(c, 0x80, &cdol1_data(1000, [5; 4]));
    assert_eq!(sw, 0x9000);
    let ac = parse_ac(&resp);
    assert_eq!(ac.cid & 0xC0, 0x80);
    (
        ac.atc,
        ac.cryptogram.expect("plain ARQC (no CDA requested)"),
    )
}

#[test]
fn issuer_authentication_and_second_generate_ac() {
    let profile = profiles::find("issuer-scripts").unwrap();
    let image = profile.image();
    let app = &image.apps[0];
    let issuer = Issuer::test_issuer();
    let mut c = profile.card();
    let (atc, arqc) = go_online(&mut c);
    let iad = issuer.issuer_authentication_data(&app.pan, app.pan_sequence, atc, arqc, *b"00");
    assert_eq!(send(&mut c, &apdu(0x00, 0x82, 0, 0, &iad, None)).1, 0x9000);
    assert_eq!(
        send(&mut c, &apdu(0x00, 0x82, 0, 0, &iad, None)).1,
        sw::CONDITIONS,
        "only once"
    );
    let (resp, sw) = generate_ac(&mut c, 0x40, &cdol2_data(b"00", 1000, [6; 4]));
    assert_eq!(sw, 0x9000);
    let ac = parse_ac(&resp);
    assert_eq!(ac.cid & 0xC0, 0x40);
    assert_eq!(
        c.last_online_atc(0),
        Some(atc),
        "online approval resets the Last Online ATC"
    );

    // A forged ARPC fails and the card declines the TC request.
    let mut c = profile.card();
    let (atc, arqc) = go_online(&mut c);
    let mut forged =
        issuer.issuer_authentication_data(&app.pan, app.pan_sequence, atc, arqc, *b"00");
    forged[0] ^= 1;
    assert_eq!(
        send(&mut c, &apdu(0x00, 0x82, 0, 0, &forged, None)).1,
        sw::AUTH_FAILED
    );
    let (resp, _) = generate_ac(&mut c, 0x40, &cdol2_data(b"00", 1000, [6; 4]));
    let ac = parse_ac(&resp);
    assert_eq!(ac.cid & 0xC0, 0x00);
    assert_eq!(
        cvr(&ac.iad)[1] & 0x0C,
        0x0C,
        "CVR: issuer authentication failed"
    );
}

#[test]
fn issuer_scripts_with_mac() {
    let profile = profiles::find("issuer-scripts").unwrap();
    let image = profile.image();
    let app = &image.apps[0];
    let issuer = Issuer::test_issuer();

    // APPLICATION BLOCK with a good MAC blocks; with a bad MAC it does not.
    let mut c = profile.card();
    let (atc, arqc) = go_online(&mut c);
    let mut bad = issuer.script_command(
        &app.pan,
        app.pan_sequence,
        atc,
        arqc,
        [0x84, 0x1E, 0, 0],
        &[],
    );
    *bad.last_mut().unwrap() ^= 1;
    assert_eq!(send(&mut c, &bad).1, sw::BAD_MAC);
    assert_eq!(c.app_blocked(0), Some(false));
    let block = issuer.script_command(
        &app.pan,
        app.pan_sequence,
        atc,
        arqc,
        [0x84, 0x1E, 0, 0],
        &[],
    );
    assert_eq!(send(&mut c, &block).1, 0x9000);
    assert_eq!(c.app_blocked(0), Some(true));
    let (resp, _) = generate_ac(&mut c, 0x40, &cdol2_data(b"00", 1000, [6; 4]));
    assert_eq!(
        parse_ac(&resp).cid & 0xC0,
        0x00,
        "blocked application declines"
    );
    c.reset();
    assert_eq!(select(&mut c, &TEST_AID_CREDIT, false).1, sw::APP_BLOCKED);

    // PIN UNBLOCK resets the counter; PUT DATA rewrites LCOL; CARD BLOCK blocks every SELECT.
    let mut c = profile.card();
    start(&mut c);
    send(
        &mut c,
        &apdu(0x00, 0x20, 0x00, 0x80, &format2_pin_block("0000"), None),
    );
    assert_eq!(c.pin_try_counter(0), Some(2));
    let (resp, _) = generate_ac(&mut c, 0x80, &cdol1_data(1000, [5; 4]));
    let ac = parse_ac(&resp);
    let (atc, arqc) = (ac.atc, ac.cryptogram.unwrap());
    let unblock = issuer.script_command(
        &app.pan,
        app.pan_sequence,
        atc,
        arqc,
        [0x84, 0x24, 0, 0],
        &[],
    );
    assert_eq!(send(&mut c, &unblock).1, 0x9000);
    assert_eq!(c.pin_try_counter(0), Some(3));
    let put = issuer.script_command(
        &app.pan,
        app.pan_sequence,
        atc,
        arqc,
        [0x04, 0xDA, 0x9F, 0x14],
        &[0x09],
    );
    assert_eq!(send(&mut c, &put).1, 0x9000);
    let (record, _) = read_record(&mut c, 1, 2);
    assert_eq!(find(&record, 0x9F14), Some(vec![0x09]));
    let card_block = issuer.script_command(
        &app.pan,
        app.pan_sequence,
        atc,
        arqc,
        [0x84, 0x16, 0, 0],
        &[],
    );
    assert_eq!(send(&mut c, &card_block).1, 0x9000);
    c.reset();
    assert_eq!(
        select(&mut c, b"1PAY.SYS.DDF01", false).1,
        sw::NOT_SUPPORTED
    );

    // Scripts need a first GENERATE AC.
    let mut c = profile.card();
    start(&mut c);
    assert_eq!(send(&mut c, &block).1, sw::CONDITIONS);
}

#[test]
fn t0_sequences_resolve_through_the_transport() {
    let mut c = card("hostile-t0-sequences");
    // Raw engine: case 4 SELECT answers 61xx.
    let raw = c.process(&apdu(0x00, 0xA4, 0x04, 0x00, &TEST_AID_CREDIT, Some(0)));
    assert_eq!(raw[0], 0x61);
    // Case 2 READ RECORD with Le 00 answers 6Cxx.
    c.reset();
    let (_, sw) = select(&mut c, &TEST_AID_CREDIT, false);
    assert_eq!(sw, 0x9000);
    let raw = c.process(&[0x00, 0xB2, 0x01, 0x0C, 0x00]);
    assert_eq!(raw[0], 0x6C);
    let (record, sw) = read_record(&mut c, 1, 1);
    assert_eq!(sw, 0x9000);
    assert_eq!(record.len(), usize::from(raw[1]));
    assert!(
        record.len() > 32,
        "long enough to need several GET RESPONSEs on a case 4"
    );
}

#[test]
fn transport_rejects_oversized_response() {
    use emv_kernel::transport::CardTransport;
    let mut c = card("hostile-oversized-response");
    start(&mut c);
    let mut buf = [0u8; emv_kernel::transport::MAX_RESPONSE_APDU];
    let err = c
        .transmit(&[0x00, 0xB2, 0x02, 0x0C, 0x00], &mut buf)
        .unwrap_err();
    assert!(matches!(
        err,
        emv_test_cards::transport::SimulatedError::ResponseTooLong { .. }
    ));
    let n = c
        .transmit(&[0x00, 0xB2, 0x01, 0x0C, 0x00], &mut buf)
        .unwrap();
    assert_eq!(&buf[n - 2..n], &[0x90, 0x00]);
}

#[test]
fn profiles_md_holds_the_generated_table() {
    let doc = include_str!("../PROFILES.md");
    assert!(
        doc.contains(&profiles::markdown_table()),
        "PROFILES.md is stale: regenerate the table with `emv-terminal card list --markdown`"
    );
    assert!(profiles::all().len() >= 25);
    let mut names: Vec<_> = profiles::all().iter().map(|p| p.name).collect();
    names.sort();
    names.dedup();
    assert_eq!(
        names.len(),
        profiles::all().len(),
        "profile names are unique"
    );
}

/// Luhn check (ISO/IEC 7812-1 Annex B) over all digits, check digit last.
fn luhn_valid(pan: &str) -> bool {
    let mut sum = 0;
    for (i, c) in pan.chars().rev().enumerate() {
        let Some(mut d) = c.to_digit(10) else {
            return false;
        };
        if i % 2 == 1 {
            d *= 2;
            if d > 9 {
                d -= 9;
            }
        }
        sum += d;
    }
    sum % 10 == 0
}

/// Every application of every profile has its own Luhn-valid PAN in the test range
/// (`679999`), none left at the `AppSpec` default, so one profile's approvals in a
/// shared journal never reach another profile's split-sales check (Book 3, 10.6.1).
#[test]
fn every_profile_has_its_own_pan() {
    let default = emv_test_cards::spec::AppSpec::default().pan;
    let mut seen = std::collections::HashMap::new();
    for p in profiles::all() {
        let spec = p.spec();
        assert_eq!(
            p.pans.len(),
            spec.apps.len(),
            "{}: one PAN per application",
            p.name
        );
        for (app, &pan) in spec.apps.iter().zip(p.pans) {
            assert_eq!(app.pan, pan, "{}: spec() applies the PAN", p.name);
            assert!(pan.starts_with("67999901") && pan.len() == 16, "{pan}");
            assert!(luhn_valid(pan), "{}: {pan} fails the Luhn check", p.name);
            assert_ne!(pan, default, "{}: PAN left at the AppSpec default", p.name);
            if let Some(other) = seen.insert(pan, p.name) {
                panic!("{pan} is the PAN of both {other} and {}", p.name);
            }
        }
        // The card serves that PAN (5A) and builds its certificates over it.
        let image = p.image();
        for (app, &pan) in image.apps.iter().zip(p.pans) {
            assert_eq!(hex::encode(&app.pan), pan, "{}", p.name);
        }
    }
    assert!(luhn_valid("6799990100000011") && !luhn_valid("6799990100000012"));
}

#[test]
fn endless_get_response_is_bounded_by_the_transport() {
    let mut c = card("hostile-endless-get-response");
    let err = c
        .exchange(&apdu(0x00, 0xA4, 0x04, 0x00, &TEST_AID_CREDIT, Some(0)))
        .unwrap_err();
    assert_eq!(
        err,
        emv_test_cards::transport::SimulatedError::TooManyRounds(
            emv_test_cards::transport::MAX_T0_ROUNDS
        )
    );
}

/// A small deterministic generator (xorshift) for the robustness test.
fn xorshift(state: &mut u64) -> u64 {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    *state
}

#[test]
fn arbitrary_apdus_never_panic_any_profile() {
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    let classes = [0x00, 0x80, 0x84, 0x04, 0xFF];
    let instructions = [
        0xA4, 0xB2, 0xA8, 0xCA, 0x88, 0xAE, 0x20, 0x84, 0x82, 0x1E, 0x18, 0x16, 0x24, 0xDA, 0xC0,
        0x00,
    ];
    for profile in profiles::all() {
        let mut c = profile.card();
        // Start from a selected application so deeper commands are reached.
        c.process(&apdu(0x00, 0xA4, 0x04, 0x00, &TEST_AID_CREDIT, Some(0)));
        for _ in 0..400 {
            let r = xorshift(&mut state);
            let len = (r % 40) as usize;
            let mut command: Vec<u8> = (0..len).map(|_| xorshift(&mut state) as u8).collect();
            if command.len() >= 2 {
                command[0] = classes[(r >> 8) as usize % classes.len()];
                command[1] = instructions[(r >> 16) as usize % instructions.len()];
            }
            if command.len() >= 5 && r & 1 == 0 {
                command[4] = (command.len() - 5) as u8; // a consistent Lc half the time
            }
            let response = c.process(&command);
            assert!(response.len() >= 2, "{}: {command:02X?}", profile.name);
        }
    }
}

#[test]
fn transaction_log_records_each_generate_ac() {
    let mut c = card("sda");
    assert_eq!(
        read_record(&mut c, 11, 1).1,
        sw::CONDITIONS,
        "nothing selected"
    );
    for amount in [1000u64, 2500] {
        c.reset();
        start(&mut c);
        let (_, sw) = generate_ac(&mut c, 0x40, &cdol1_data(amount, [1; 4]));
        assert_eq!(sw, 0x9000);
    }
    // Log format 9A03 9F2103 9F0206 5F2A02 9C01 9F3602: most recent first.
    let (latest, sw) = read_record(&mut c, 11, 1);
    assert_eq!(sw, 0x9000);
    assert_eq!(
        hex::encode_upper(&latest),
        "261125000000000000002500097800".to_owned() + "0012"
    );
    let (older, _) = read_record(&mut c, 11, 2);
    assert_eq!(&older[6..12], &bcd6(1000));
    assert_eq!(read_record(&mut c, 11, 3).1, sw::RECORD_NOT_FOUND);
}

#[test]
fn pin_change_script_sets_a_new_pin() {
    let profile = profiles::find("issuer-scripts").unwrap();
    let image = profile.image();
    let app = &image.apps[0];
    let issuer = Issuer::test_issuer();
    let mut c = profile.card();
    let (atc, arqc) = go_online(&mut c);
    let change = issuer.pin_change_command(&app.pan, app.pan_sequence, atc, arqc, "987654");
    assert_eq!(send(&mut c, &change).1, 0x9000);
    // A correct MAC over data that does not decipher to a PIN block: 6A80.
    let garbage = issuer.script_command(
        &app.pan,
        app.pan_sequence,
        atc,
        arqc,
        [0x84, 0x24, 0x00, 0x02],
        &[0x11; 8],
    );
    assert_eq!(send(&mut c, &garbage).1, sw::WRONG_DATA);
    c.reset();
    start(&mut c);
    let verify = |c: &mut emv_test_cards::card::Card, pin: &str| {
        send(
            c,
            &apdu(0x00, 0x20, 0x00, 0x80, &format2_pin_block(pin), None),
        )
        .1
    };
    assert_eq!(verify(&mut c, "1234"), 0x63C2);
    assert_eq!(verify(&mut c, "987654"), 0x9000);
}

#[test]
fn failed_select_keeps_the_current_application() {
    let mut c = card("sda");
    start(&mut c);
    assert_eq!(select(&mut c, &TEST_AID_DEBIT, false).1, sw::NOT_FOUND);
    let (_, sw) = generate_ac(&mut c, 0x40, &cdol1_data(1000, [3; 4]));
    assert_eq!(sw, 0x9000, "the transaction goes on after a failed SELECT");
}

#[test]
fn cda_on_the_second_generate_ac_hashes_pdol_cdol1_cdol2_and_response() {
    use emv_test_cards::pki::sha1;
    let profile = profiles::find("issuer-scripts").unwrap();
    let image = profile.image();
    let app = &image.apps[0];
    let icc = app.icc_key.expect("CDA card");
    let mut c = profile.card();
    let (fci, _) = select(&mut c, &TEST_AID_CREDIT, false);
    let pdol = find(&fci, 0x9F38).unwrap();
    gpo(&mut c, &pdol);
    let cdol1 = cdol1_data(1000, [1, 2, 3, 4]);
    let (resp, sw) = generate_ac(&mut c, 0x90, &cdol1); // ARQC + CDA
    assert_eq!(sw, 0x9000);
    let first = parse_ac(&resp);
    assert!(first.sdad.is_some() && first.cryptogram.is_none());
    let cdol2 = cdol2_data(b"00", 1000, [5, 6, 7, 8]);
    let (resp, sw) = generate_ac(&mut c, 0x50, &cdol2); // TC + CDA
    assert_eq!(sw, 0x9000);
    let second = parse_ac(&resp);
    let block = icc.public_op(second.sdad.as_ref().unwrap()).unwrap();
    let n = block.len();
    assert_eq!((block[0], block[1], block[n - 1]), (0x6A, 0x05, 0xBC));
    let dynamic = &block[4..4 + usize::from(block[3])];
    assert_eq!(dynamic[9], second.cid);
    let expected = sha1(
        &[
            pdol_data(&pdol),
            cdol1,
            cdol2.clone(),
            second.tlvs_without_sdad.clone(),
        ]
        .concat(),
    );
    assert_eq!(&dynamic[18..38], &expected);
    // The signature hash covers the unpredictable number of the CDOL2 data.
    let signed = sha1(&[&block[1..n - 21], &cdol2[7..11]].concat());
    assert_eq!(&block[n - 21..n - 1], &signed);
    // And the cryptogram inside verifies under the issuer keys.
    let ac: [u8; 8] = dynamic[10..18].try_into().unwrap();
    let input = cryptogram_input(&cdol2, app.aip, second.atc, cvr(&second.iad));
    assert!(Issuer::test_issuer().verify_cryptogram(
        &app.pan,
        app.pan_sequence,
        second.atc,
        &input,
        ac
    ));
}

#[test]
fn enciphered_pin_with_the_icc_key_when_there_is_no_pin_key() {
    let profile = profiles::find("cvm-enciphered-pin-icc-key").unwrap();
    let image = profile.image();
    assert!(image.apps[0]
        .records
        .values()
        .all(|r| find(r, 0x9F2D).is_none()));
    let key = image.apps[0].pin_decipher_key.expect("ICC key deciphers");
    assert_eq!(key.name, "icc-1024");
    let mut c = profile.card();
    start(&mut c);
    let (challenge, _) = send(&mut c, &[0x00, 0x84, 0x00, 0x00, 0x00]);
    let mut block = vec![0x7F];
    block.extend_from_slice(&format2_pin_block("1234"));
    block.extend_from_slice(&challenge);
    block.resize(key.len(), 0x3C);
    // A block whose header is not 7F is refused without costing a try.
    let mut bad = block.clone();
    bad[0] = 0x7E;
    let enciphered_bad = key.public_op(&bad).unwrap();
    assert_eq!(
        send(&mut c, &apdu(0x00, 0x20, 0x00, 0x88, &enciphered_bad, None)).1,
        sw::DATA_INVALIDATED
    );
    let (challenge, _) = send(&mut c, &[0x00, 0x84, 0x00, 0x00, 0x00]);
    block[9..17].copy_from_slice(&challenge);
    let enciphered = key.public_op(&block).unwrap();
    assert_eq!(
        send(&mut c, &apdu(0x00, 0x20, 0x00, 0x88, &enciphered, None)).1,
        0x9000
    );
    assert_eq!(c.pin_try_counter(0), Some(3));
}

#[test]
fn personalisation_refuses_an_issuer_key_longer_than_its_ca_key() {
    use emv_test_cards::image::CardImage;
    use emv_test_cards::spec::{AppSpec, CardSpec, Oda};
    let spec = CardSpec {
        apps: vec![AppSpec {
            oda: Oda::Sda,
            ca_index: 0x01,
            ca_key: "ca-01",
            issuer_key: "issuer-1152",
            ..AppSpec::default()
        }],
        ..CardSpec::default()
    };
    assert!(matches!(
        CardImage::build(&spec),
        Err(emv_test_cards::pki::PkiError::KeyTooLong)
    ));
}
