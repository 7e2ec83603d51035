//! The kernel's own offline data authentication (`emv_kernel::oda`) against
//! the certificates and signatures of every `test-cards` profile (issue 3).
//!
//! `test-cards` checks its PKI with an independent RSA implementation; this
//! is the other direction: the kernel's recovery, run directly on the data
//! each card returns (no transaction engine in between), accepts every
//! application of every profile that offers ODA, and rejects each
//! ODA-failure profile with exactly the Book 2 check its defect breaks, after
//! the checks before it passed.
//!
//! The card is driven by hand: SELECT, GET PROCESSING OPTIONS, READ RECORD
//! over the AFL (the static data to authenticate built as Book 3, 10.3 says),
//! INTERNAL AUTHENTICATE (DDA) or GENERATE AC with CDA (P1 50). For CDA the
//! cryptogram inside the signature is also recovered by hand and verified
//! with the test-cards `Issuer`, `cda-bad-signature` included (its defect is
//! the transaction data hash only).
//!
//! Run: `cargo test -p emv-integration-tests --test oda_profiles`.

use std::collections::HashMap;

use emv_kernel::crypto::{CryptoProvider, RingCrypto};
use emv_kernel::dol;
use emv_kernel::oda::cda::{self, CdaRequest};
use emv_kernel::oda::pin::{pin_key_for_card, PinKeySource};
use emv_kernel::oda::recover::{icc_key_for_card, issuer_key_for_card};
use emv_kernel::oda::{
    dda, sda, xda, CaKeyStore, CardData, CertificateCheck, Date, OdaFailure, PublicKey,
    SignatureCheck, StaticData, Terminal,
};
use emv_kernel::tlv::{self, Tag};
use emv_test_cards::card::Card;
use emv_test_cards::issuer::{self, Issuer};
use emv_test_cards::profiles;
use emv_test_cards::spec::{AppSpec, Faults, Oda};

/// The ODA-failure profiles and the exact failure each must give.
const FAILURES: &[(&str, OdaFailure)] = &[
    // A signed record changed after signing: Book 2, 5.4 step 7 (hash).
    (
        "sda-bad-ssad",
        OdaFailure::StaticSignature(SignatureCheck::Hash),
    ),
    // A byte of the issuer certificate flipped: the recovered data is noise,
    // the first check on it fails: Book 2, 5.3 step 2 (trailer BC).
    (
        "bad-issuer-cert",
        OdaFailure::IssuerCertificate(CertificateCheck::Trailer),
    ),
    // Issuer certificate expired 12/23, transaction 2025-06-15: 5.3 step 9.
    (
        "expired-issuer-cert",
        OdaFailure::IssuerCertificate(CertificateCheck::Expired),
    ),
    // RID A000000999, CA index 01, serial 123456 on the revocation list:
    // 5.3 step 10.
    (
        "revoked-issuer-cert",
        OdaFailure::IssuerCertificate(CertificateCheck::Revoked),
    ),
    // CA index 07 not held by the terminal: Book 2, 6.2.
    ("unknown-ca-index", OdaFailure::CaKeyNotFound),
    // Signature over other terminal data than the DDOL data: 6.5.2 step 7.
    (
        "dda-bad-signature",
        OdaFailure::DynamicSignature(SignatureCheck::Hash),
    ),
    // Transaction data hash without the PDOL data: 6.6.2 (hash code).
    (
        "cda-bad-signature",
        OdaFailure::DynamicSignature(SignatureCheck::TransactionDataHash),
    ),
    // ICC certificate for another PAN: 6.4 step 8.
    (
        "icc-cert-pan-mismatch",
        OdaFailure::IccCertificate(CertificateCheck::ApplicationPan),
    ),
    // XDA (EMV 4.4 Book 2, ECC; oda/xda.rs for the order of the checks).
    // The GENERATE AC signature leaves out the PDOL data: EC-SDSA fails.
    (
        "xda-bad-signature",
        OdaFailure::DynamicSignature(SignatureCheck::Signature),
    ),
    // Issuer ECC certificate expired 2024-12-31.
    (
        "xda-expired-issuer-cert",
        OdaFailure::IssuerCertificate(CertificateCheck::Expired),
    ),
    // Issuer Identifier 999999 against PAN 679999...
    (
        "xda-wrong-issuer-identifier",
        OdaFailure::IssuerCertificate(CertificateCheck::IssuerIdentifier),
    ),
    // The ICC ECC certificate holds no PAN: the ICCD hash binds it.
    (
        "xda-pan-mismatch",
        OdaFailure::IccCertificate(CertificateCheck::IccdHash),
    ),
    // ECC CA index 1F not held by the terminal.
    ("xda-unknown-ca-index", OdaFailure::CaKeyNotFound),
    // RID A000000999, ECC CA index 10, serial 654321 on the revocation list.
    (
        "xda-revoked-issuer-cert",
        OdaFailure::IssuerCertificate(CertificateCheck::Revoked),
    ),
    // A signed record changed after the ICCD hash was made.
    (
        "xda-tampered-record",
        OdaFailure::IccCertificate(CertificateCheck::IccdHash),
    ),
    // Suite 12 (EC-SDSA with SHA-3) for the issuer key: not supported.
    (
        "xda-bad-suite",
        OdaFailure::IssuerCertificate(CertificateCheck::AlgorithmSuite),
    ),
    // The ECC PIN encipherment certificate (9F2D) changed after signing:
    // its issuer signature fails (XDA itself succeeds; the PIN key does not
    // recover).
    (
        "xda-enciphered-pin-bad-certificate",
        OdaFailure::IccCertificate(CertificateCheck::Signature),
    ),
];

/// The transaction date of the default inputs (9A 250615).
const TODAY: Date = Date {
    year: 2025,
    month: 6,
    day: 15,
};

const UNPREDICTABLE_NUMBER: [u8; 4] = [0x11, 0x22, 0x33, 0x44];

/// The terminal's value for a DOL entry: the default terminal of
/// `PROFILES.md`, zeros for anything else.
fn terminal_value(tag: Tag, length: usize) -> Vec<u8> {
    let known: &[u8] = match tag.0 {
        0x9F1A => &[0x02, 0x50],
        0x9F33 => &[0xE0, 0xF8, 0xC8],
        0x9F02 => &[0x00, 0x00, 0x00, 0x00, 0x10, 0x00],
        0x5F2A => &[0x09, 0x78],
        0x9A => &[0x25, 0x06, 0x15],
        0x9F37 => &UNPREDICTABLE_NUMBER,
        0x9F35 => &[0x22],
        0x9F34 => &[0x1F, 0x00, 0x02],
        _ => &[],
    };
    let mut value = vec![0u8; length];
    if known.len() == length {
        value.copy_from_slice(known);
    }
    value
}

fn dol_data(dol_bytes: &[u8]) -> Vec<u8> {
    dol::entries(dol_bytes)
        .map(|entry| entry.expect("card DOL parses"))
        .flat_map(|entry| terminal_value(entry.tag, entry.length))
        .collect()
}

fn apdu(header: [u8; 4], data: &[u8]) -> Vec<u8> {
    let mut command = header.to_vec();
    command.push(u8::try_from(data.len()).expect("short APDU"));
    command.extend_from_slice(data);
    command.push(0x00);
    command
}

/// Sends a command and returns the response data; the status must be 9000.
fn exchange(card: &mut Card, command: &[u8]) -> Vec<u8> {
    let mut response = card.exchange(command).expect("card answers");
    let status = response.split_off(response.len() - 2);
    assert_eq!(
        status,
        [0x90, 0x00],
        "{} answered {}",
        hex::encode_upper(command),
        hex::encode_upper(&status)
    );
    response
}

fn value(data: &[u8], tag: u32) -> Option<Vec<u8>> {
    tlv::find(data, Tag(tag)).map(<[u8]>::to_vec)
}

/// What the card returned up to the end of record reading.
struct ReadData {
    /// Every primitive data object of the records, by tag.
    objects: HashMap<u32, Vec<u8>>,
    /// The static data to authenticate (Book 3, 10.3).
    static_records: Vec<u8>,
    aip: [u8; 2],
    pdol_data: Vec<u8>,
}

impl ReadData {
    fn get(&self, tag: u32) -> Option<&[u8]> {
        self.objects.get(&tag).map(Vec::as_slice)
    }

    fn card_data<'a>(&'a self, aid: &'a [u8]) -> CardData<'a> {
        CardData {
            rid: aid[..5].try_into().expect("5-byte RID"),
            ca_public_key_index: self.get(0x8F).and_then(|v| v.first().copied()),
            issuer_public_key_certificate: self.get(0x90),
            issuer_public_key_remainder: self.get(0x92),
            issuer_public_key_exponent: self.get(0x9F32),
            application_pan: self.get(0x5A),
            signed_static_application_data: self.get(0x93),
            icc_public_key_certificate: self.get(0x9F46),
            icc_public_key_exponent: self.get(0x9F47),
            icc_public_key_remainder: self.get(0x9F48),
            icc_pin_encipherment_public_key_certificate: self.get(0x9F2D),
            icc_pin_encipherment_public_key_exponent: self.get(0x9F2E),
            icc_pin_encipherment_public_key_remainder: self.get(0x9F2F),
            aid,
            pdol: self.get(0x9F38),
        }
    }

    fn static_data(&self) -> StaticData<'_> {
        StaticData {
            records: &self.static_records,
            tag_list: self.get(0x9F4A),
            application_interchange_profile: self.aip,
        }
    }
}

/// SELECT the application, GET PROCESSING OPTIONS, READ RECORD over the AFL.
fn read_application(card: &mut Card, aid: &[u8]) -> ReadData {
    let fci = exchange(card, &apdu([0x00, 0xA4, 0x04, 0x00], aid));
    let pdol_data = value(&fci, 0x9F38)
        .map(|pdol| dol_data(&pdol))
        .unwrap_or_default();
    let mut gpo_data = vec![0x83, u8::try_from(pdol_data.len()).expect("short")];
    gpo_data.extend_from_slice(&pdol_data);
    let gpo = exchange(card, &apdu([0x80, 0xA8, 0x00, 0x00], &gpo_data));
    let top = tlv::parse_single(&gpo).expect("GPO response is one TLV");
    let (aip, afl) = match top.tag {
        Tag(0x80) => (top.value[..2].to_vec(), top.value[2..].to_vec()),
        Tag(0x77) => (
            value(&gpo, 0x82).expect("AIP"),
            value(&gpo, 0x94).expect("AFL"),
        ),
        other => panic!("GPO template {other:?}"),
    };
    let mut objects = HashMap::new();
    let mut static_records = Vec::new();
    for entry in afl.chunks(4) {
        let sfi = entry[0] >> 3;
        for record in entry[1]..=entry[2] {
            let body = exchange(card, &[0x00, 0xB2, record, (sfi << 3) | 0x04, 0x00][..]);
            if record < entry[1] + entry[3] {
                // Book 3, 10.3: SFI 1-10 the value of template 70, else the
                // whole record.
                if sfi <= 10 {
                    static_records
                        .extend_from_slice(tlv::parse_single(&body).expect("template 70").value);
                } else {
                    static_records.extend_from_slice(&body);
                }
            }
            for item in tlv::primitives(&body) {
                let (_, object) = item.expect("record parses");
                objects.insert(object.tag.0, object.value.to_vec());
            }
        }
    }
    // The card's PDOL (FCI), which XDA's ICCD hash binds.
    if let Some(pdol) = value(&fci, 0x9F38) {
        objects.insert(0x9F38, pdol);
    }
    ReadData {
        objects,
        static_records,
        aip: aip.try_into().expect("2-byte AIP"),
        pdol_data,
    }
}

/// Runs the kernel's ODA for one application of a profile: the method the
/// card offers, to its end. Returns the first failure.
fn authenticate(profile: &str, app: &AppSpec) -> Result<(), OdaFailure> {
    let crypto = RingCrypto::new();
    let keys = emv_test_cards::pki::ca_key_store();
    let revoked = emv_test_cards::pki::revocation_list();
    let terminal = Terminal {
        ca_keys: &keys,
        revocations: &revoked,
        transaction_date: TODAY,
    };
    let mut card = profiles::find(profile).expect("profile").card();
    let data = read_application(&mut card, &app.aid);
    let card_data = data.card_data(&app.aid);
    let static_data = data.static_data();
    match app.oda {
        Oda::None => Ok(()),
        Oda::Sda => sda::authenticate(&crypto, &terminal, &card_data, &static_data).map(|_| ()),
        Oda::Dda => {
            let icc = icc_key_for_card(&crypto, &terminal, &card_data, &static_data)?;
            let ddol = data.get(0x9F49).expect("DDOL");
            let ddol_data = dol_data(ddol);
            let response = exchange(&mut card, &apdu([0x00, 0x88, 0x00, 0x00], &ddol_data));
            let top = tlv::parse_single(&response).expect("one TLV");
            let signed = match top.tag {
                Tag(0x80) => top.value.to_vec(),
                _ => value(&response, 0x9F4B).expect("9F4B"),
            };
            check_pin_key(&crypto, &terminal, &card_data, &static_data, app)?;
            dda::verify(&crypto, &icc.key, &signed, &ddol_data).map(|_| ())
        }
        Oda::Cda => {
            let icc = icc_key_for_card(&crypto, &terminal, &card_data, &static_data)?;
            check_pin_key(&crypto, &terminal, &card_data, &static_data, app)?;
            let cdol1_data = dol_data(data.get(0x8C).expect("CDOL1"));
            // TC with a CDA signature (Book 3, 6.5.5: P1 b5).
            let response = exchange(&mut card, &apdu([0x80, 0xAE, 0x50, 0x00], &cdol1_data));
            let template = tlv::parse_single(&response).expect("template 77");
            let request = CdaRequest {
                unpredictable_number: &UNPREDICTABLE_NUMBER,
                pdol_data: &data.pdol_data,
                cdol1_data: &cdol1_data,
                cdol2_data: None,
            };
            let signed_cryptogram = signed_cryptogram(&crypto, &icc.key, &response);
            let atc = u16::from_be_bytes(value(&response, 0x9F36).unwrap().try_into().unwrap());
            let iad = value(&response, 0x9F10).expect("9F10");
            let input =
                issuer::cryptogram_input(&cdol1_data, data.aip, atc, iad[2..6].try_into().unwrap());
            let pan = hex::decode(app.pan).unwrap();
            assert!(
                Issuer::test_issuer().verify_cryptogram(
                    &pan,
                    app.pan_sequence,
                    atc,
                    &input,
                    signed_cryptogram
                ),
                "{profile}: the cryptogram inside the CDA signature verifies with the Issuer"
            );
            // The signed CID equals the returned one (step 8): checked inside.
            let outcome = cda::verify(&crypto, &icc.key, &request, template.value)?;
            assert_eq!(outcome.application_cryptogram, signed_cryptogram);
            Ok(())
        }
        Oda::Xda => {
            // EMV 4.4 Book 2: the ECC chain, then the EC-SDSA signature of a
            // TC asked for with P1 b5, as for CDA.
            let time = [0x12, 0x00, 0x00];
            let icc = xda::icc_key_for_card(&crypto, &terminal, time, &card_data, &static_data)?;
            // EMV 4.4 Book 2, 13.1: the ECC PIN encipherment key (9F2D), on
            // the card's curve with an encipherment suite.
            if app.pin_key {
                let pin =
                    xda::pin_key_for_card(&crypto, &terminal, time, &card_data, &static_data)?;
                assert_eq!(pin.key.curve, app.ecc_curve, "{profile}");
            }
            let cdol1_data = dol_data(data.get(0x8C).expect("CDOL1"));
            let response = exchange(&mut card, &apdu([0x80, 0xAE, 0x50, 0x00], &cdol1_data));
            let template = tlv::parse_single(&response).expect("template 77");
            let request = xda::XdaRequest {
                pdol_data: &data.pdol_data,
                cdol1_data: &cdol1_data,
                cdol2_data: None,
            };
            // The cryptogram is in clear with XDA; it verifies with the issuer.
            let cryptogram: [u8; 8] = value(&response, 0x9F26).unwrap().try_into().unwrap();
            let atc = u16::from_be_bytes(value(&response, 0x9F36).unwrap().try_into().unwrap());
            let iad = value(&response, 0x9F10).expect("9F10");
            let input =
                issuer::cryptogram_input(&cdol1_data, data.aip, atc, iad[2..6].try_into().unwrap());
            let pan = hex::decode(app.pan).unwrap();
            assert!(
                Issuer::test_issuer().verify_cryptogram(
                    &pan,
                    app.pan_sequence,
                    atc,
                    &input,
                    cryptogram
                ),
                "{profile}: the XDA card's cryptogram verifies with the Issuer"
            );
            xda::verify(&crypto, &icc.key, &request, template.value)
        }
    }
}

/// The Application Cryptogram inside the Signed Dynamic Application Data of
/// a CDA response, recovered with the ICC public key (Book 2, 6.6.2 and
/// Table 18/19: header 6A, format 05, hash algorithm, Ldd, then the ICC
/// Dynamic Data: Ldn, ICC Dynamic Number, CID, cryptogram, hash code),
/// whether or not the signature's hash checks pass.
fn signed_cryptogram(crypto: &RingCrypto, icc_key: &PublicKey, response: &[u8]) -> [u8; 8] {
    let signed = value(response, 0x9F4B).expect("9F4B");
    let mut recovered = vec![0u8; signed.len()];
    crypto
        .rsa_public(&icc_key.modulus, &icc_key.exponent, &signed, &mut recovered)
        .expect("RSA recovery");
    assert_eq!((recovered[0], recovered[1]), (0x6A, 0x05), "SDAD header");
    let dynamic_data = &recovered[4..];
    let number_length = usize::from(dynamic_data[0]);
    let cryptogram_at = 1 + number_length + 1;
    dynamic_data[cryptogram_at..cryptogram_at + 8]
        .try_into()
        .unwrap()
}

/// Book 2, 7.1: the PIN encipherment key recovers too (the ICC PIN key when
/// the card has one, else the ICC key).
fn check_pin_key(
    crypto: &RingCrypto,
    terminal: &Terminal<'_>,
    card_data: &CardData<'_>,
    static_data: &StaticData<'_>,
    app: &AppSpec,
) -> Result<(), OdaFailure> {
    let (_, source) = pin_key_for_card(crypto, terminal, card_data, static_data)?;
    let expected = if app.pin_key {
        PinKeySource::PinEnciphermentKey
    } else {
        PinKeySource::IccKey
    };
    assert_eq!(source, expected);
    Ok(())
}

/// The ODA defects a profile's spec carries (faults, an unknown CA index,
/// an expired or revoked issuer certificate).
fn has_defect(app: &AppSpec) -> bool {
    app.faults != Faults::default()
        || app.ca_index == 0x07
        || app.issuer_cert_expiry != AppSpec::default().issuer_cert_expiry
        || app.issuer_cert_serial == [0x12, 0x34, 0x56]
        || app.ca_index == 0x1F
        || app.issuer_cert_serial == [0x65, 0x43, 0x21]
}

/// Every selectable application with ODA of every profile without a defect
/// authenticates with the kernel's ODA; every ODA-failure profile fails with
/// exactly its documented check.
#[test]
fn kernel_oda_on_every_profile() {
    let mut checked = 0;
    let mut errors = Vec::new();
    for profile in profiles::all() {
        let spec = profile.spec();
        let expected = FAILURES
            .iter()
            .find(|(name, _)| *name == profile.name)
            .map(|(_, failure)| *failure);
        // Blocked cards and applications answer SELECT with 6A81 / 6283.
        let selectable = spec
            .apps
            .iter()
            .filter(|app| !spec.blocked && !app.blocked && app.oda != Oda::None);
        for app in selectable {
            assert_eq!(
                has_defect(app),
                expected.is_some(),
                "{}: a profile with an ODA defect is in FAILURES, and only those",
                profile.name
            );
            let result = authenticate(profile.name, app);
            checked += 1;
            if result != expected.map_or(Ok(()), Err) {
                errors.push(format!(
                    "{} {}: expected {:?}, got {result:?}",
                    profile.name,
                    hex::encode_upper(&app.aid),
                    expected.map_or(Ok(()), Err)
                ));
            }
        }
    }
    assert!(errors.is_empty(), "{}", errors.join("\n"));
    println!("{checked} applications checked");
    assert!(checked >= 35, "{checked}");
}

/// Each ODA-failure profile fails only at its own step: the steps before it
/// pass (the issuer key recovers for signature and ICC certificate defects,
/// the ICC key recovers for DDA and CDA signature defects).
#[test]
fn failures_are_at_the_documented_step() {
    let crypto = RingCrypto::new();
    let keys = emv_test_cards::pki::ca_key_store();
    let revoked = emv_test_cards::pki::revocation_list();
    let terminal = Terminal {
        ca_keys: &keys,
        revocations: &revoked,
        transaction_date: TODAY,
    };
    for (name, issuer_recovers, icc_key_recovers) in [
        ("sda-bad-ssad", true, false),
        ("icc-cert-pan-mismatch", true, false),
        ("dda-bad-signature", true, true),
        ("cda-bad-signature", true, true),
    ] {
        let profile = profiles::find(name).expect("profile");
        let app = profile.spec().apps.remove(0);
        let mut card = profile.card();
        let data = read_application(&mut card, &app.aid);
        let card_data = data.card_data(&app.aid);
        assert_eq!(
            issuer_key_for_card(&crypto, &terminal, &card_data).is_ok(),
            issuer_recovers,
            "{name}: issuer key"
        );
        if icc_key_recovers {
            let icc = icc_key_for_card(&crypto, &terminal, &card_data, &data.static_data());
            assert!(icc.is_ok(), "{name}: ICC key {icc:?}");
        }
    }
}

/// The same recovery fails when the terminal's date is after the
/// certificates' expiry (12/30) or the CA key is missing: the test is able
/// to fail.
#[test]
fn a_later_date_or_missing_ca_key_fails() {
    let crypto = RingCrypto::new();
    let keys = emv_test_cards::pki::ca_key_store();
    let revoked = emv_test_cards::pki::revocation_list();
    let profile = profiles::find("dda").expect("profile");
    let app = profile.spec().apps.remove(0);
    let mut card = profile.card();
    let data = read_application(&mut card, &app.aid);
    let card_data = data.card_data(&app.aid);
    let later = Terminal {
        ca_keys: &keys,
        revocations: &revoked,
        transaction_date: Date {
            year: 2031,
            month: 1,
            day: 1,
        },
    };
    assert!(issuer_key_for_card(&crypto, &later, &card_data).is_err());
    let empty = CaKeyStore::new();
    let no_keys = Terminal {
        ca_keys: &empty,
        transaction_date: TODAY,
        ..later
    };
    assert_eq!(
        issuer_key_for_card(&crypto, &no_keys, &card_data),
        Err(OdaFailure::CaKeyNotFound)
    );
}
