//! Book 2, 6.5 (DDA) and 6.6 (CDA): Signed Dynamic Application Data from
//! INTERNAL AUTHENTICATE and from GENERATE AC, good paths and each check.

mod oda_support;

use emv_kernel::crypto::{CryptoError, PortableCrypto};
use emv_kernel::oda::cda::{self, CdaRequest};
use emv_kernel::oda::recover::icc_key_for_card;
use emv_kernel::oda::{dda, tags, OdaFailure, OdaMethod, PublicKey, SignatureCheck};
use emv_kernel::tvr;
use oda_support::*;

/// The default provider with a fixed random source (PIN padding in tests only).
type TestCrypto = PortableCrypto<fn(&mut [u8]) -> Result<(), CryptoError>>;

fn test_crypto() -> TestCrypto {
    PortableCrypto::new(|out: &mut [u8]| {
        out.fill(0xA5);
        Ok(())
    })
}

const DDOL_DATA: [u8; 4] = [0x01, 0x23, 0x45, 0x67];

/// The ICC key as the kernel recovers it through the fixture chain.
fn icc_key() -> PublicKey {
    let ca = ca_1024();
    let terminal = TerminalFixture::new(&ca);
    let card = card(&ca, &issuer_1024(), &icc_768());
    icc_key_for_card(
        &test_crypto(),
        &terminal.terminal(),
        &card.card_data(),
        &card.static_data(),
    )
    .unwrap()
    .key
}

fn dda_with(change: impl FnOnce(&mut SignedDataFields)) -> Result<dda::DdaOutcome, OdaFailure> {
    let mut fields =
        SignedDataFields::dynamic_data(vec![0x04, 0xCA, 0xFE, 0xBA, 0xBE], DDOL_DATA.to_vec());
    change(&mut fields);
    let signed = sign_data(&icc_768(), &fields, true);
    dda::verify(&test_crypto(), &icc_key(), &signed, &DDOL_DATA)
}

fn dda_fails(check: SignatureCheck) -> Result<dda::DdaOutcome, OdaFailure> {
    Err(OdaFailure::DynamicSignature(check))
}

#[test]
fn dda_succeeds_and_returns_the_icc_dynamic_number() {
    let outcome = dda_with(|_| {}).unwrap();
    assert_eq!(outcome.icc_dynamic_number[..], [0xCA, 0xFE, 0xBA, 0xBE]);
}

#[test]
fn dda_checks_fail_one_at_a_time() {
    assert_eq!(
        dda_with(|f| f.header = 0x6B),
        dda_fails(SignatureCheck::Header)
    );
    assert_eq!(
        dda_with(|f| f.trailer = 0x00),
        dda_fails(SignatureCheck::Trailer)
    );
    assert_eq!(
        dda_with(|f| f.format = 0x03),
        dda_fails(SignatureCheck::Format)
    );
    assert_eq!(
        dda_with(|f| f.hash_algorithm = 0x02),
        dda_fails(SignatureCheck::HashAlgorithm)
    );
    assert_eq!(
        dda_with(|f| f.corrupt_hash = true),
        dda_fails(SignatureCheck::Hash)
    );
    // Signed over other terminal data than the DDOL data sent.
    assert_eq!(
        dda_with(|f| f.extra_hashed = vec![0x01, 0x23, 0x45, 0x68]),
        dda_fails(SignatureCheck::Hash)
    );
    // L_DD larger than N_IC - 25.
    assert_eq!(
        dda_with(|f| f.data_length = Some(96 - 24)),
        dda_fails(SignatureCheck::DynamicDataLength)
    );
    // ICC Dynamic Number of 1 byte.
    assert_eq!(
        dda_with(|f| f.data = vec![0x01, 0xCA]),
        dda_fails(SignatureCheck::DynamicNumberLength)
    );
}

#[test]
fn dda_signature_length_must_equal_the_icc_modulus_length() {
    let fields = SignedDataFields::dynamic_data(vec![0x02, 0x12, 0x34], DDOL_DATA.to_vec());
    let mut signed = sign_data(&icc_768(), &fields, true);
    signed.push(0);
    assert_eq!(
        dda::verify(&test_crypto(), &icc_key(), &signed, &DDOL_DATA),
        dda_fails(SignatureCheck::Length)
    );
}

#[test]
fn dda_with_1984_bit_keys() {
    let ca = ca_1984();
    let icc = icc_1984();
    let terminal = TerminalFixture::new(&ca);
    let card = card(&ca, &issuer_1984(), &icc);
    let key = icc_key_for_card(
        &test_crypto(),
        &terminal.terminal(),
        &card.card_data(),
        &card.static_data(),
    )
    .unwrap()
    .key;
    let fields =
        SignedDataFields::dynamic_data(vec![0x08, 1, 2, 3, 4, 5, 6, 7, 8], DDOL_DATA.to_vec());
    let signed = sign_data(&icc, &fields, true);
    let outcome = dda::verify(&test_crypto(), &key, &signed, &DDOL_DATA).unwrap();
    assert_eq!(outcome.icc_dynamic_number[..], [1, 2, 3, 4, 5, 6, 7, 8]);
}

// ---- CDA ----

const UNPREDICTABLE_NUMBER: [u8; 4] = [0x9A, 0xBC, 0xDE, 0xF0];
const PDOL_DATA: [u8; 6] = [0x00, 0x00, 0x00, 0x00, 0x10, 0x00];
const CDOL1_DATA: [u8; 12] = [0, 0, 0, 0, 0x10, 0, 0, 0, 0, 0, 0, 0x01];
const CDOL2_DATA: [u8; 4] = [0x30, 0x30, 0x11, 0x22];
const CRYPTOGRAM: [u8; 8] = [0xA1, 0xA2, 0xA3, 0xA4, 0xA5, 0xA6, 0xA7, 0xA8];

fn tlv(tag: &[u8], value: &[u8]) -> Vec<u8> {
    let mut out = tag.to_vec();
    if value.len() > 127 {
        out.extend_from_slice(&[0x81, value.len() as u8]);
    } else {
        out.push(value.len() as u8);
    }
    out.extend_from_slice(value);
    out
}

/// How to build one GENERATE AC response with CDA.
struct CdaCase {
    /// CID in the response (9F27).
    returned_cid: u8,
    /// CID inside the signature.
    signed_cid: u8,
    /// CDOL data the card hashes (what it received).
    card_cdol1: Vec<u8>,
    cdol2: Option<Vec<u8>>,
    /// ICC Dynamic Data override.
    dynamic_data: Option<Vec<u8>>,
    /// Put 9F4B first instead of third.
    sdad_first: bool,
    /// Hash the response objects in this order instead of the response order.
    hash_reordered: bool,
}

impl Default for CdaCase {
    fn default() -> Self {
        Self {
            returned_cid: 0x40,
            signed_cid: 0x40,
            card_cdol1: CDOL1_DATA.to_vec(),
            cdol2: None,
            dynamic_data: None,
            sdad_first: false,
            hash_reordered: false,
        }
    }
}

/// The value of template 77 as a CDA card returns it.
fn cda_response(case: &CdaCase) -> Vec<u8> {
    let cid = tlv(&[0x9F, 0x27], &[case.returned_cid]);
    let atc = tlv(&[0x9F, 0x36], &[0x00, 0x2A]);
    let iad = tlv(&[0x9F, 0x10], &[0x06, 0x01, 0x0A, 0x03, 0xA0, 0x00, 0x00]);
    let hashed_objects = if case.hash_reordered {
        [atc.clone(), cid.clone(), iad.clone()].concat()
    } else {
        [cid.clone(), atc.clone(), iad.clone()].concat()
    };
    let mut transaction_data = PDOL_DATA.to_vec();
    transaction_data.extend_from_slice(&case.card_cdol1);
    if let Some(cdol2) = &case.cdol2 {
        transaction_data.extend_from_slice(cdol2);
    }
    transaction_data.extend_from_slice(&hashed_objects);
    let hash_code = sha1(&[&transaction_data]);
    let dynamic_data = case.dynamic_data.clone().unwrap_or_else(|| {
        let mut data = vec![0x08, 1, 2, 3, 4, 5, 6, 7, 8, case.signed_cid];
        data.extend_from_slice(&CRYPTOGRAM);
        data.extend_from_slice(&hash_code);
        data
    });
    let fields = SignedDataFields::dynamic_data(dynamic_data, UNPREDICTABLE_NUMBER.to_vec());
    let sdad = tlv(&[0x9F, 0x4B], &sign_data(&icc_768(), &fields, true));
    if case.sdad_first {
        [sdad, cid, atc, iad].concat()
    } else {
        [cid, atc, sdad, iad].concat()
    }
}

fn verify_cda(case: &CdaCase) -> Result<cda::CdaOutcome, OdaFailure> {
    verify_response(case, &cda_response(case))
}

fn verify_response(case: &CdaCase, response: &[u8]) -> Result<cda::CdaOutcome, OdaFailure> {
    let request = CdaRequest {
        unpredictable_number: &UNPREDICTABLE_NUMBER,
        pdol_data: &PDOL_DATA,
        cdol1_data: &CDOL1_DATA,
        cdol2_data: case.cdol2.as_deref(),
    };
    cda::verify(&test_crypto(), &icc_key(), &request, response)
}

#[test]
fn cda_first_generate_ac_succeeds() {
    let outcome = verify_cda(&CdaCase::default()).unwrap();
    assert_eq!(outcome.application_cryptogram, CRYPTOGRAM);
    assert_eq!(outcome.cryptogram_information_data, 0x40);
    assert_eq!(outcome.icc_dynamic_number[..], [1, 2, 3, 4, 5, 6, 7, 8]);
    // 9F4B's position does not change what is hashed.
    assert!(verify_cda(&CdaCase {
        sdad_first: true,
        ..CdaCase::default()
    })
    .is_ok());
}

#[test]
fn cda_second_generate_ac_hashes_cdol2_data() {
    let case = CdaCase {
        cdol2: Some(CDOL2_DATA.to_vec()),
        ..CdaCase::default()
    };
    assert!(verify_cda(&case).is_ok());
    // The terminal forgets CDOL2 data: the hash code differs.
    let response = cda_response(&case);
    let without_cdol2 = CdaCase::default();
    assert_eq!(
        verify_response(&without_cdol2, &response),
        Err(OdaFailure::DynamicSignature(
            SignatureCheck::TransactionDataHash
        ))
    );
}

#[test]
fn cda_signed_cid_must_equal_the_returned_cid() {
    let case = CdaCase {
        returned_cid: 0x80,
        signed_cid: 0x40,
        ..CdaCase::default()
    };
    assert_eq!(
        verify_cda(&case),
        Err(OdaFailure::DynamicSignature(
            SignatureCheck::CryptogramInformationData
        ))
    );
}

#[test]
fn cda_transaction_data_hash_must_match() {
    let mut card_cdol1 = CDOL1_DATA.to_vec();
    card_cdol1[0] = 0x01;
    let case = CdaCase {
        card_cdol1,
        ..CdaCase::default()
    };
    assert_eq!(
        verify_cda(&case),
        Err(OdaFailure::DynamicSignature(
            SignatureCheck::TransactionDataHash
        ))
    );
    // Objects are hashed in the order received.
    let case = CdaCase {
        hash_reordered: true,
        ..CdaCase::default()
    };
    assert_eq!(
        verify_cda(&case),
        Err(OdaFailure::DynamicSignature(
            SignatureCheck::TransactionDataHash
        ))
    );
}

#[test]
fn cda_signature_hash_covers_the_unpredictable_number() {
    let case = CdaCase::default();
    let response = cda_response(&case);
    let request = CdaRequest {
        unpredictable_number: &[0x9A, 0xBC, 0xDE, 0xF1],
        pdol_data: &PDOL_DATA,
        cdol1_data: &CDOL1_DATA,
        cdol2_data: None,
    };
    assert_eq!(
        cda::verify(&test_crypto(), &icc_key(), &request, &response),
        Err(OdaFailure::DynamicSignature(SignatureCheck::Hash))
    );
}

#[test]
fn cda_dynamic_data_must_hold_cid_cryptogram_and_hash_code() {
    let case = CdaCase {
        dynamic_data: Some(vec![0x02, 0x12, 0x34, 0x40, 0xA1]),
        ..CdaCase::default()
    };
    assert_eq!(
        verify_cda(&case),
        Err(OdaFailure::DynamicSignature(
            SignatureCheck::DynamicDataLength
        ))
    );
}

#[test]
fn cda_response_objects_must_be_present_and_well_formed() {
    let case = CdaCase::default();
    let response = cda_response(&case);
    // Without 9F4B.
    let cid = tlv(&[0x9F, 0x27], &[0x40]);
    assert_eq!(
        verify_response(&case, &cid),
        Err(OdaFailure::Missing(tags::SIGNED_DYNAMIC_APPLICATION_DATA))
    );
    // Without 9F27: strip its 4 bytes from the front.
    assert_eq!(
        verify_response(&case, &response[4..]),
        Err(OdaFailure::Missing(tags::CRYPTOGRAM_INFORMATION_DATA))
    );
    // Truncated: the last object's length runs past the end.
    assert_eq!(
        verify_response(&case, &response[..response.len() - 1]),
        Err(OdaFailure::DynamicSignature(SignatureCheck::ResponseFormat))
    );
    // Failing CDA sets "CDA failed" (Book 3, 10.3 and 10.8).
    assert_eq!(
        OdaFailure::DynamicSignature(SignatureCheck::ResponseFormat).tvr_bits(OdaMethod::Cda),
        (tvr::CDA_FAILED, None)
    );
}
