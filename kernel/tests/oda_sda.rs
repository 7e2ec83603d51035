//! Book 2, section 5: Static Data Authentication, good path and each check
//! of Signed Static Application Data (5.4), plus the TVR mapping (Book 3, 10.3).

mod oda_support;

use emv_kernel::crypto::{CryptoError, PortableCrypto};
use emv_kernel::oda::{sda, tags, OdaFailure, OdaMethod, SignatureCheck};
use emv_kernel::tvr::{self, Tvr};
use oda_support::*;

/// The default provider with a fixed random source (PIN padding in tests only).
type TestCrypto = PortableCrypto<fn(&mut [u8]) -> Result<(), CryptoError>>;

fn test_crypto() -> TestCrypto {
    PortableCrypto::new(|out: &mut [u8]| {
        out.fill(0xA5);
        Ok(())
    })
}

fn authenticate(card: &CardFixture) -> Result<sda::SdaOutcome, OdaFailure> {
    let terminal = TerminalFixture::new(&ca_1024());
    sda::authenticate(
        &test_crypto(),
        &terminal.terminal(),
        &card.card_data(),
        &card.static_data(),
    )
}

fn fixture() -> CardFixture {
    card(&ca_1024(), &issuer_1024(), &icc_768())
}

/// The fixture card with Signed Static Application Data built from `change`.
fn signed_with(change: impl FnOnce(&mut SignedDataFields)) -> Result<sda::SdaOutcome, OdaFailure> {
    let mut fields = SignedDataFields::static_data([0xDA, 0xC1], hashed_static_data());
    change(&mut fields);
    let mut card = fixture();
    card.signed_static_data = Some(sign_data(&issuer_1024(), &fields, false));
    authenticate(&card)
}

fn fails(check: SignatureCheck) -> Result<sda::SdaOutcome, OdaFailure> {
    Err(OdaFailure::StaticSignature(check))
}

#[test]
fn sda_succeeds_and_returns_the_data_authentication_code() {
    let outcome = authenticate(&fixture()).unwrap();
    assert_eq!(outcome.data_authentication_code, [0xDA, 0xC1]);
}

#[test]
fn sda_without_tag_list_hashes_only_the_records() {
    let mut card = fixture();
    card.tag_list = None;
    // The fixture signed records + AIP: without the tag list the hash differs.
    assert_eq!(authenticate(&card), fails(SignatureCheck::Hash));
    card.signed_static_data = Some(sign_data(
        &issuer_1024(),
        &SignedDataFields::static_data([0x12, 0x34], records()),
        false,
    ));
    // The ICC certificate was also signed over records + AIP, but SDA does not
    // read it.
    assert_eq!(
        authenticate(&card).unwrap().data_authentication_code,
        [0x12, 0x34]
    );
}

#[test]
fn tag_list_naming_anything_but_the_aip_fails_sda() {
    let mut card = fixture();
    card.tag_list = Some(vec![0x82, 0x5A]);
    assert_eq!(authenticate(&card), Err(OdaFailure::StaticDataTagList));
    card.tag_list = Some(vec![0x9F, 0x36]);
    assert_eq!(authenticate(&card), Err(OdaFailure::StaticDataTagList));
}

#[test]
fn altered_record_fails_the_hash() {
    let mut card = fixture();
    let last = card.records.len() - 1;
    card.records[last] ^= 0x01;
    assert_eq!(authenticate(&card), fails(SignatureCheck::Hash));
}

#[test]
fn signed_static_data_checks_fail_one_at_a_time() {
    assert_eq!(
        signed_with(|f| f.header = 0x6B),
        fails(SignatureCheck::Header)
    );
    assert_eq!(
        signed_with(|f| f.trailer = 0xBB),
        fails(SignatureCheck::Trailer)
    );
    assert_eq!(
        signed_with(|f| f.format = 0x05),
        fails(SignatureCheck::Format)
    );
    assert_eq!(
        signed_with(|f| f.hash_algorithm = 0x02),
        fails(SignatureCheck::HashAlgorithm)
    );
    assert_eq!(
        signed_with(|f| f.corrupt_hash = true),
        fails(SignatureCheck::Hash)
    );
}

#[test]
fn signed_static_data_length_must_equal_the_issuer_modulus_length() {
    let mut card = fixture();
    card.signed_static_data.as_mut().unwrap().insert(0, 0x00);
    assert_eq!(authenticate(&card), fails(SignatureCheck::Length));
}

#[test]
fn sda_with_a_short_issuer_key_and_no_remainder() {
    let ca = ca_1024();
    let issuer = issuer_704();
    let mut card = card(&ca, &issuer, &icc_512());
    assert!(card.issuer.as_ref().unwrap().remainder.is_none());
    card.signed_static_data = Some(sign_data(
        &issuer,
        &SignedDataFields::static_data([0xAB, 0xCD], hashed_static_data()),
        false,
    ));
    assert_eq!(
        authenticate(&card).unwrap().data_authentication_code,
        [0xAB, 0xCD]
    );
}

#[test]
fn missing_objects_are_named() {
    let mut card = fixture();
    card.signed_static_data = None;
    assert_eq!(
        authenticate(&card),
        Err(OdaFailure::Missing(tags::SIGNED_STATIC_APPLICATION_DATA))
    );
    let mut card = fixture();
    card.issuer = None;
    assert_eq!(
        authenticate(&card),
        Err(OdaFailure::Missing(tags::ISSUER_PUBLIC_KEY_CERTIFICATE))
    );
    let mut card = fixture();
    card.ca_index = None;
    assert_eq!(
        authenticate(&card),
        Err(OdaFailure::Missing(tags::CA_PUBLIC_KEY_INDEX))
    );
}

#[test]
fn failures_map_to_tvr_bits() {
    // Book 3, 10.3: missing data sets "ICC data missing" and "SDA failed".
    let mut card = fixture();
    card.signed_static_data = None;
    let failure = authenticate(&card).unwrap_err();
    let mut tvr = Tvr::default();
    let (failed, missing) = failure.tvr_bits(OdaMethod::Sda);
    tvr.set(failed);
    if let Some(bit) = missing {
        tvr.set(bit);
    }
    assert!(tvr.is_set(tvr::SDA_FAILED));
    assert!(tvr.is_set(tvr::ICC_DATA_MISSING));

    // A bad signature sets only "SDA failed".
    let failure = signed_with(|f| f.corrupt_hash = true).unwrap_err();
    assert_eq!(failure.tvr_bits(OdaMethod::Sda), (tvr::SDA_FAILED, None));
}
