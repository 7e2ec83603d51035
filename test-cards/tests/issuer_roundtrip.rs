//! Every GENERATE AC response of every profile verifies under the issuer
//! master keys: the separate `Issuer` recomputes the cryptogram from the
//! CDOL data and ATC, answers ARQCs with an ARPC the card accepts, and the
//! second GENERATE AC verifies too.

mod common;

use common::*;
use emv_test_cards::card::Card;
use emv_test_cards::image::AppImage;
use emv_test_cards::issuer::{cryptogram_input, CryptogramType, Issuer};
use emv_test_cards::pki::TestPki;
use emv_test_cards::profiles;

/// The cryptogram of a response: plain, or recovered from the CDA signature.
fn cryptogram_of(app: &AppImage, ac: &AcResponse) -> [u8; 8] {
    if let Some(c) = ac.cryptogram {
        return c;
    }
    let sdad = ac.sdad.as_ref().expect("cryptogram or SDAD");
    let icc = app.icc_key.expect("CDA card has an ICC key");
    let block = icc.public_op(sdad).expect("recover SDAD");
    // 6A 05 01 Ldd [08 number(8)] CID AC(8) hash(20)
    block[4 + 10..4 + 18].try_into().unwrap()
}

fn verify(issuer: &Issuer, app: &AppImage, aip: [u8; 2], data: &[u8], ac: &AcResponse) -> [u8; 8] {
    let cryptogram = cryptogram_of(app, ac);
    let input = cryptogram_input(data, aip, ac.atc, cvr(&ac.iad));
    assert!(
        issuer.verify_cryptogram(&app.pan, app.pan_sequence, ac.atc, &input, cryptogram),
        "cryptogram of AID {:02X?} does not verify",
        app.aid
    );
    cryptogram
}

/// One transaction against application `index`; returns how many GENERATE AC responses verified.
fn transaction(card: &mut Card, app: &AppImage, cda: bool, request: u8) -> usize {
    let issuer = Issuer::test_issuer();
    if app.hostile == Some(emv_test_cards::spec::Hostile::EndlessGetResponse) {
        return 0; // no command completes on this card (see engine.rs)
    }
    card.reset();
    let (fci, sw) = select(card, &app.aid, false);
    if sw != 0x9000 {
        return 0;
    }
    let pdol = find(&fci, 0x9F38).unwrap_or_default();
    let (gpo_response, sw) = gpo(card, &pdol);
    assert_eq!(sw, 0x9000);
    let (aip, afl) = aip_afl(&gpo_response);
    if app.hostile.is_none() || app.hostile == Some(emv_test_cards::spec::Hostile::T0Sequences) {
        read_afl(card, &afl);
    }
    let p1 = request | if cda && aip[0] & 0x01 != 0 { 0x10 } else { 0 };
    let data = cdol1_data(1000, [0x12, 0x34, 0x56, 0x78]);
    let (resp, sw) = generate_ac(card, p1, &data);
    assert_eq!(sw, 0x9000);
    let ac = parse_ac(&resp);
    let arqc = verify(&issuer, app, aip, &data, &ac);
    if CryptogramType::from_cid(ac.cid) != Some(CryptogramType::Arqc) {
        return 1;
    }
    if aip[0] & 0x04 != 0 {
        let auth =
            issuer.issuer_authentication_data(&app.pan, app.pan_sequence, ac.atc, arqc, *b"00");
        assert_eq!(send(card, &apdu(0x00, 0x82, 0, 0, &auth, None)).1, 0x9000);
    }
    let data2 = cdol2_data(b"00", 1000, [0x9A, 0xBC, 0xDE, 0xF0]);
    let (resp, sw) = generate_ac(card, 0x40, &data2);
    assert_eq!(sw, 0x9000);
    let ac2 = parse_ac(&resp);
    assert_eq!(CryptogramType::from_cid(ac2.cid), Some(CryptogramType::Tc));
    verify(&issuer, app, aip, &data2, &ac2);
    2
}

#[test]
fn every_generate_ac_of_every_profile_verifies() {
    let mut verified = 0;
    let mut profiles_seen = 0;
    for profile in profiles::all() {
        let image = profile.image();
        let mut count = 0;
        for app in &image.apps {
            let mut card = profile.card();
            for (cda, request) in [(true, 0x40), (false, 0x80), (true, 0x80), (false, 0x00)] {
                count += transaction(&mut card, app, cda, request);
            }
        }
        if count > 0 {
            profiles_seen += 1;
        }
        verified += count;
    }
    assert!(
        profiles_seen >= 30,
        "only {profiles_seen} profiles reached GENERATE AC"
    );
    assert!(verified >= 100, "only {verified} cryptograms verified");
}

#[test]
fn keys_load_once_and_match_capk() {
    let pki = TestPki::get();
    for index in 1..=4u8 {
        let ca = pki.ca(index).expect("CA key");
        assert!(emv_test_cards::pki::CAPK_TXT.contains(&format!(" {index:02x} 491231 rsa ")));
        assert!([1024, 1408, 1984].contains(&(ca.len() * 8)));
    }
    assert!(pki.ca(7).is_none());
}
