//! Book 2, 5.3, 6.3, 6.4 and 7.1: recovery of the issuer, ICC and ICC PIN
//! encipherment public keys, with one certificate field wrong at a time.

mod oda_support;

use emv_kernel::crypto::{CryptoError, PortableCrypto};
use emv_kernel::oda::recover::{
    icc_key_for_card, issuer_key_for_card, recover_icc_key, recover_issuer_key, KeyCertificate,
};
use emv_kernel::oda::revocation::RevokedCertificate;
use emv_kernel::oda::{pin, tags, CaPublicKey, CertificateCheck, CertifiedKey, Date, OdaFailure};
use oda_support::*;

/// The default provider with a fixed random source (PIN padding in tests only).
type TestCrypto = PortableCrypto<fn(&mut [u8]) -> Result<(), CryptoError>>;

fn test_crypto() -> TestCrypto {
    PortableCrypto::new(|out: &mut [u8]| {
        out.fill(0xA5);
        Ok(())
    })
}

fn key_certificate(certificate: &Certificate) -> KeyCertificate<'_> {
    KeyCertificate {
        certificate: &certificate.certificate,
        remainder: certificate.remainder.as_deref(),
        exponent: &certificate.exponent,
    }
}

/// Recover the 1024-bit issuer key certified by the 1024-bit CA key with
/// `fields`, with the card's PAN and the fixture terminal.
fn recover_issuer(
    fields: &CertificateFields,
    terminal: &TerminalFixture,
) -> Result<CertifiedKey, OdaFailure> {
    let ca = ca_1024();
    let certificate = certify(&ca, &issuer_1024(), fields);
    let ca_key = terminal.ca_keys.find(&RID, CA_INDEX).unwrap();
    recover_issuer_key(
        &test_crypto(),
        ca_key,
        &key_certificate(&certificate),
        &PAN,
        terminal.date,
        &terminal.revocations,
    )
}

fn issuer_with(change: impl FnOnce(&mut CertificateFields)) -> Result<CertifiedKey, OdaFailure> {
    let mut fields = CertificateFields::issuer(&PAN[..3]);
    change(&mut fields);
    recover_issuer(&fields, &TerminalFixture::new(&ca_1024()))
}

fn issuer_fails(check: CertificateCheck) -> OdaFailure {
    OdaFailure::IssuerCertificate(check)
}

#[test]
fn issuer_key_with_remainder_is_recovered() {
    let recovered = issuer_with(|_| {}).unwrap();
    assert_eq!(recovered.key, issuer_1024().public());
    assert_eq!(recovered.certificate_serial_number, [1, 2, 3]);
    assert_eq!(recovered.certificate_expiration_date, [0x12, 0x30]);
}

#[test]
fn issuer_key_shorter_than_the_certificate_field_needs_no_remainder() {
    let ca = ca_1024();
    let issuer = issuer_704();
    let certificate = certify(&ca, &issuer, &CertificateFields::issuer(&PAN[..4]));
    assert!(certificate.remainder.is_none());
    let terminal = TerminalFixture::new(&ca);
    let recovered = recover_issuer_key(
        &test_crypto(),
        terminal.ca_keys.find(&RID, CA_INDEX).unwrap(),
        &key_certificate(&certificate),
        &PAN,
        terminal.date,
        &terminal.revocations,
    )
    .unwrap();
    assert_eq!(recovered.key, issuer.public());
}

#[test]
fn issuer_certificate_header_must_be_6a() {
    assert_eq!(
        issuer_with(|f| f.header = 0x6B),
        Err(issuer_fails(CertificateCheck::Header))
    );
}

#[test]
fn issuer_certificate_trailer_must_be_bc() {
    assert_eq!(
        issuer_with(|f| f.trailer = 0xBD),
        Err(issuer_fails(CertificateCheck::Trailer))
    );
}

#[test]
fn issuer_certificate_format_must_be_02() {
    assert_eq!(
        issuer_with(|f| f.format = 0x04),
        Err(issuer_fails(CertificateCheck::Format))
    );
}

#[test]
fn issuer_certificate_hash_algorithm_must_be_sha1() {
    assert_eq!(
        issuer_with(|f| f.hash_algorithm = 0x02),
        Err(issuer_fails(CertificateCheck::HashAlgorithm))
    );
}

#[test]
fn issuer_certificate_hash_must_match() {
    assert_eq!(
        issuer_with(|f| f.corrupt_hash = true),
        Err(issuer_fails(CertificateCheck::Hash))
    );
}

#[test]
fn issuer_identifier_must_match_the_pan() {
    assert_eq!(
        issuer_with(|f| f.identifier = vec![0x54, 0x14, 0xFF, 0xFF]),
        Err(issuer_fails(CertificateCheck::IssuerIdentifier))
    );
    // Fewer than 3 digits is not a valid issuer identifier.
    assert_eq!(
        issuer_with(|f| f.identifier = vec![0x54, 0xFF, 0xFF, 0xFF]),
        Err(issuer_fails(CertificateCheck::IssuerIdentifier))
    );
    // 8 digits, all matching, is fine.
    assert!(issuer_with(|f| f.identifier = PAN[..4].to_vec()).is_ok());
}

#[test]
fn issuer_certificate_must_not_be_expired() {
    // Valid through the last day of its month: 11/26 is still valid on 2026-11-25.
    assert!(issuer_with(|f| f.expiration_date = [0x11, 0x26]).is_ok());
    assert_eq!(
        issuer_with(|f| f.expiration_date = [0x10, 0x26]),
        Err(issuer_fails(CertificateCheck::Expired))
    );
    assert_eq!(
        issuer_with(|f| f.expiration_date = [0x13, 0x30]),
        Err(issuer_fails(CertificateCheck::InvalidExpirationDate))
    );
}

#[test]
fn revoked_issuer_certificate_is_refused() {
    let mut terminal = TerminalFixture::new(&ca_1024());
    terminal
        .revocations
        .insert(RevokedCertificate {
            rid: RID,
            ca_index: CA_INDEX,
            serial_number: [1, 2, 3],
        })
        .unwrap();
    let fields = CertificateFields::issuer(&PAN[..3]);
    assert_eq!(
        recover_issuer(&fields, &terminal),
        Err(issuer_fails(CertificateCheck::Revoked))
    );
    let mut other_serial = fields.clone();
    other_serial.serial_number = [1, 2, 4];
    assert!(recover_issuer(&other_serial, &terminal).is_ok());
}

#[test]
fn issuer_public_key_algorithm_must_be_rsa() {
    assert_eq!(
        issuer_with(|f| f.public_key_algorithm = 0x02),
        Err(issuer_fails(CertificateCheck::PublicKeyAlgorithm))
    );
}

#[test]
fn issuer_key_and_exponent_lengths_must_be_consistent() {
    assert_eq!(
        issuer_with(|f| f.key_length = Some(129)),
        Err(issuer_fails(CertificateCheck::PublicKeyLength))
    );
    assert_eq!(
        issuer_with(|f| f.key_length = Some(0)),
        Err(issuer_fails(CertificateCheck::PublicKeyLength))
    );
    assert_eq!(
        issuer_with(|f| f.key_length = Some(127)),
        Err(issuer_fails(CertificateCheck::RemainderLength))
    );
    assert_eq!(
        issuer_with(|f| f.exponent_length = Some(1)),
        Err(issuer_fails(CertificateCheck::ExponentLength))
    );
}

#[test]
fn issuer_certificate_length_must_equal_the_ca_modulus_length() {
    let ca = ca_1024();
    let mut certificate = certify(&ca, &issuer_1024(), &CertificateFields::issuer(&PAN[..3]));
    certificate.certificate.pop();
    let terminal = TerminalFixture::new(&ca);
    let result = recover_issuer_key(
        &test_crypto(),
        terminal.ca_keys.find(&RID, CA_INDEX).unwrap(),
        &key_certificate(&certificate),
        &PAN,
        terminal.date,
        &terminal.revocations,
    );
    assert_eq!(result, Err(issuer_fails(CertificateCheck::Length)));
}

#[test]
fn issuer_certificate_not_below_the_ca_modulus_is_refused() {
    let ca = ca_1024();
    let terminal = TerminalFixture::new(&ca);
    let certificate = vec![0xFF; ca.len()];
    let result = recover_issuer_key(
        &test_crypto(),
        terminal.ca_keys.find(&RID, CA_INDEX).unwrap(),
        &KeyCertificate {
            certificate: &certificate,
            remainder: None,
            exponent: &[3],
        },
        &PAN,
        terminal.date,
        &terminal.revocations,
    );
    assert_eq!(
        result,
        Err(OdaFailure::Crypto(CryptoError::InputNotBelowModulus))
    );
}

#[test]
fn missing_issuer_remainder_is_missing_data() {
    let ca = ca_1024();
    let terminal = TerminalFixture::new(&ca);
    let mut card = card(&ca, &issuer_1024(), &icc_768());
    card.issuer.as_mut().unwrap().remainder = None;
    assert_eq!(
        issuer_key_for_card(&test_crypto(), &terminal.terminal(), &card.card_data()),
        Err(OdaFailure::Missing(tags::ISSUER_PUBLIC_KEY_REMAINDER))
    );
}

#[test]
fn unknown_or_expired_ca_key_is_not_found() {
    let ca = ca_1024();
    let mut terminal = TerminalFixture::new(&ca);
    let mut card = card(&ca, &issuer_1024(), &icc_768());
    card.ca_index = Some(0x01);
    let crypto = test_crypto();
    assert_eq!(
        issuer_key_for_card(&crypto, &terminal.terminal(), &card.card_data()),
        Err(OdaFailure::CaKeyNotFound)
    );
    card.ca_index = Some(CA_INDEX);
    let expired = CaPublicKey::new(
        &crypto,
        RID,
        CA_INDEX,
        &ca.modulus,
        &ca.exponent,
        Some(Date {
            year: 2026,
            month: 11,
            day: 24,
        }),
        None,
    )
    .unwrap();
    terminal.ca_keys.insert(expired).unwrap();
    assert_eq!(
        issuer_key_for_card(&crypto, &terminal.terminal(), &card.card_data()),
        Err(OdaFailure::CaKeyNotFound)
    );
    // The last valid day is the expiry date itself.
    terminal.date = Date {
        year: 2026,
        month: 11,
        day: 24,
    };
    assert!(issuer_key_for_card(&crypto, &terminal.terminal(), &card.card_data()).is_ok());
}

#[test]
fn missing_ca_index_is_missing_data() {
    let ca = ca_1024();
    let terminal = TerminalFixture::new(&ca);
    let mut card = card(&ca, &issuer_1024(), &icc_768());
    card.ca_index = None;
    assert_eq!(
        issuer_key_for_card(&test_crypto(), &terminal.terminal(), &card.card_data()),
        Err(OdaFailure::Missing(tags::CA_PUBLIC_KEY_INDEX))
    );
}

/// Recover the 768-bit ICC key certified by the 1024-bit issuer key.
fn icc_with(change: impl FnOnce(&mut CertificateFields)) -> Result<CertifiedKey, OdaFailure> {
    let issuer = issuer_1024();
    let mut fields = CertificateFields::icc(&PAN);
    fields.extra_hashed = hashed_static_data();
    change(&mut fields);
    let certificate = certify(&issuer, &icc_768(), &fields);
    let card = card(&ca_1024(), &issuer, &icc_768());
    recover_icc_key(
        &test_crypto(),
        &issuer.public(),
        &key_certificate(&certificate),
        &PAN,
        &card.static_data(),
        today(),
    )
}

fn icc_fails(check: CertificateCheck) -> OdaFailure {
    OdaFailure::IccCertificate(check)
}

#[test]
fn icc_key_is_recovered_through_the_chain() {
    let ca = ca_1024();
    let terminal = TerminalFixture::new(&ca);
    let card = card(&ca, &issuer_1024(), &icc_768());
    let recovered = icc_key_for_card(
        &test_crypto(),
        &terminal.terminal(),
        &card.card_data(),
        &card.static_data(),
    )
    .unwrap();
    assert_eq!(recovered.key, icc_768().public());
    assert_eq!(icc_with(|_| {}).unwrap().key, icc_768().public());
}

#[test]
fn icc_certificate_checks_fail_one_at_a_time() {
    assert_eq!(
        icc_with(|f| f.header = 0x00),
        Err(icc_fails(CertificateCheck::Header))
    );
    assert_eq!(
        icc_with(|f| f.trailer = 0x00),
        Err(icc_fails(CertificateCheck::Trailer))
    );
    assert_eq!(
        icc_with(|f| f.format = 0x02),
        Err(icc_fails(CertificateCheck::Format))
    );
    assert_eq!(
        icc_with(|f| f.hash_algorithm = 0x00),
        Err(icc_fails(CertificateCheck::HashAlgorithm))
    );
    assert_eq!(
        icc_with(|f| f.corrupt_hash = true),
        Err(icc_fails(CertificateCheck::Hash))
    );
    assert_eq!(
        icc_with(|f| f.expiration_date = [0x12, 0x25]),
        Err(icc_fails(CertificateCheck::Expired))
    );
    assert_eq!(
        icc_with(|f| f.public_key_algorithm = 0x00),
        Err(icc_fails(CertificateCheck::PublicKeyAlgorithm))
    );
    assert_eq!(
        icc_with(|f| f.exponent_length = Some(3)),
        Err(icc_fails(CertificateCheck::ExponentLength))
    );
}

#[test]
fn icc_certificate_pan_must_equal_the_card_pan() {
    let mut other = PAN.to_vec();
    other[7] = 0x38;
    assert_eq!(
        icc_with(|f| {
            f.identifier = other;
            f.identifier.resize(10, 0xFF);
        }),
        Err(icc_fails(CertificateCheck::ApplicationPan))
    );
}

#[test]
fn icc_certificate_hash_covers_the_static_data() {
    // Signed over records without the AIP: the card's tag list names the AIP,
    // so the hash differs.
    assert_eq!(
        icc_with(|f| f.extra_hashed = records()),
        Err(icc_fails(CertificateCheck::Hash))
    );
}

#[test]
fn missing_icc_remainder_is_missing_data() {
    let ca = ca_1024();
    let terminal = TerminalFixture::new(&ca);
    let mut card = card(&ca, &issuer_1024(), &icc_768());
    card.icc.as_mut().unwrap().remainder = None;
    assert_eq!(
        icc_key_for_card(
            &test_crypto(),
            &terminal.terminal(),
            &card.card_data(),
            &card.static_data()
        ),
        Err(OdaFailure::Missing(tags::ICC_PUBLIC_KEY_REMAINDER))
    );
}

#[test]
fn pin_encipherment_key_is_certified_without_static_data() {
    let ca = ca_1024();
    let issuer = issuer_1024();
    let terminal = TerminalFixture::new(&ca);
    let mut card = card(&ca, &issuer, &icc_768());
    let crypto = test_crypto();

    // No 9F2D: the ICC key enciphers the PIN.
    let (key, source) = pin::pin_key_for_card(
        &crypto,
        &terminal.terminal(),
        &card.card_data(),
        &card.static_data(),
    )
    .unwrap();
    assert_eq!(source, pin::PinKeySource::IccKey);
    assert_eq!(key.key, icc_768().public());

    // 9F2D present (a 512-bit key), hashed without static data.
    card.pin = Some(certify(&issuer, &icc_512(), &CertificateFields::icc(&PAN)));
    let (key, source) = pin::pin_key_for_card(
        &crypto,
        &terminal.terminal(),
        &card.card_data(),
        &card.static_data(),
    )
    .unwrap();
    assert_eq!(source, pin::PinKeySource::PinEnciphermentKey);
    assert_eq!(key.key, icc_512().public());

    // A PIN key certificate hashed over static data fails its hash check.
    let mut fields = CertificateFields::icc(&PAN);
    fields.extra_hashed = hashed_static_data();
    card.pin = Some(certify(&issuer, &icc_512(), &fields));
    assert_eq!(
        pin::pin_key_for_card(
            &crypto,
            &terminal.terminal(),
            &card.card_data(),
            &card.static_data()
        ),
        Err(OdaFailure::PinCertificate(CertificateCheck::Hash))
    );
}

#[test]
fn largest_keys_chain_1984_bits() {
    let ca = ca_1984();
    let issuer = issuer_1984();
    let icc = icc_1984();
    let terminal = TerminalFixture::new(&ca);
    let card = card(&ca, &issuer, &icc);
    let recovered = icc_key_for_card(
        &test_crypto(),
        &terminal.terminal(),
        &card.card_data(),
        &card.static_data(),
    )
    .unwrap();
    assert_eq!(recovered.key, icc.public());
    assert_eq!(recovered.key.len(), 248);
}

#[test]
fn ca_key_with_exponent_65537() {
    let ca = ca_1984_f4();
    let terminal = TerminalFixture::new(&ca);
    let card = card(&ca, &issuer_1024(), &icc_768());
    let recovered =
        issuer_key_for_card(&test_crypto(), &terminal.terminal(), &card.card_data()).unwrap();
    assert_eq!(recovered.key, issuer_1024().public());
}
