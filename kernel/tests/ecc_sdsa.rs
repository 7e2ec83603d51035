//! EC-SDSA verification (crypto::ecc) against published examples.
//!
//! The vectors are the worked examples of the EMV Contactless Specifications,
//! Book E (Security and Key Management) v1.0, examples 3.2/3.3 (P-256, SHA-256)
//! and 4.2/4.3 (P-521, SHA-512): an Issuer ECC Public Key Certificate signed by
//! the CA key and an ICC ECC Public Key Certificate signed by the issuer key,
//! with the private keys, the nonces and the signatures. We took the numbers
//! from their reproduction in the test `TestECSDSA_X.java` of
//! github.com/Digrol/Denom (no code taken). The Book E signature scheme is the
//! x-only EC-SDSA that EMV 4.4 Book 2 uses for XDA (docs/conformance.md, "XDA").

#![cfg(feature = "ecc")]

use emv_kernel::crypto::{ecc, CryptoError, CryptoProvider, EccCurve, NoRandom, PortableCrypto};
use p256::elliptic_curve::sec1::ToEncodedPoint;

fn h(text: &str) -> Vec<u8> {
    hex::decode(text).unwrap()
}

// Book E example 3.2: the Issuer ECC Public Key Certificate's signed fields
// (format 12 .. issuer key x) and the CA's signature over them.
const P256_ISSUER_CERT_DATA: &str = "120054133390FF1020301231123456A000000004E0CD7400578B1164FEA954658C763C5A94FB3514FA89DB5B3B447AE8F4D5DF870A";
const P256_CA_PRIVATE: &str = "723222B51845E8B41A66263AE90E962148F9CCC3BE45B3E5902CEC0195F2AEAF";
const P256_ISSUER_CERT_SIGNATURE: &str = "739061ADBC6FC71C8864EA9D3D6BAB5C9501C058D895FE0F69D92E22412953DC1ACCCBBE60809C5694C739CA54CC3FF4CF0964E1B946C3ED00C4E572A5021988";
// Book E example 3.3: the ICC ECC Public Key Certificate's signed fields and
// the issuer's signature; the issuer key is the x in example 3.2.
const P256_ICC_CERT_DATA: &str = "140000202912312359987654321000010260D3FB0E45A5E64834880571152BE93E241D216D407F6F000C263B1CC87517AF43CA1837F6B4321CA70262902037EFCE790DC583828AEA628FFAAEFC08618658";
const P256_ICC_CERT_SIGNATURE: &str = "035824B9DD96765B97A0CC52C1B668B075ED86BE31DA1159C6F9128863B75A80BD863084A1C965C681AE72DF3B58A9CA8AEC8463DEF0A7FA35C0EE83A5269F65";
// Book E examples 4.2 and 4.3, P-521.
const P521_ISSUER_CERT_DATA: &str = "120054133390FF1120301231123456A000000004E1009C0AE6DC43AC03AA8285C9C67962B0B426587EB50DB41F7A5DD37BBB7E95831C8742384A1C880A561CE775946D473E4CD12FC03E4345ED93A515C6FAF722FA13E7";
const P521_CA_PRIVATE: &str = "018B05B1953B24AC49B340C24D6DD42CCFFDD795F6879C4B28475375CEEA2440D6180E7733BA7423B9CF9A61AAA6A3480B882BA6F9497F09613451877120383FF2BC";
const P521_ISSUER_CERT_SIGNATURE: &str = "DCB625B0FC3F87241D38565B4CAE9B1B9D00A70B71EAF6F54ACDE94EEFE49C514724FAF5F7A4A25606F0CE7C89DC6EE4403D841EF7155B87363E8CE39EB7FEAC0158D88C6B23D71E7C5B8D4E9009BAADD96A0ECDA0C1305774F7CD65FE0A907711258DF9F13A9D70AE0DE200103F6FF9D80067E672A683F8E49602F8E94C6615B2EB";
const P521_ICC_CERT_DATA: &str = "140000202912312359987654321000010260D3FB0E45A5E64834880571152BE93E241D216D407F6F000C263B1CC87517AF43CA1837F6B4321CA70262902037EFCE790DC583828AEA628FFAAEFC08618658";
const P521_ICC_CERT_SIGNATURE: &str = "AEE9050995E9DA36D574942FC1F0F6C1ABC085904CB124B668788681E4BC84B6FCB7F7DA9A01561C7F7F2318A1E03A52E76F729755D2F9279EEE1185DE31401C003857A1143939AC53F1BD478A71317541A87865FC76C09D8F8E0C00ECE27AE0F467301325D807B3B2F604AB2562EFA1CF1E614B554FFF07969A227ADD22539AA80D";

fn p256_public_x(private: &str) -> Vec<u8> {
    let d = p256::SecretKey::from_slice(&h(private)).unwrap();
    d.public_key()
        .as_affine()
        .to_encoded_point(false)
        .x()
        .unwrap()
        .to_vec()
}

fn p521_public_x(private: &str) -> Vec<u8> {
    let d = p521::SecretKey::from_slice(&h(private)).unwrap();
    d.public_key()
        .as_affine()
        .to_encoded_point(false)
        .x()
        .unwrap()
        .to_vec()
}

#[test]
fn book_e_p256_issuer_certificate_verifies_with_the_ca_key_x() {
    let ca_x = p256_public_x(P256_CA_PRIVATE);
    let data = h(P256_ISSUER_CERT_DATA);
    let signature = h(P256_ISSUER_CERT_SIGNATURE);
    assert_eq!(
        ecc::ec_sdsa_verify(EccCurve::P256, &ca_x, &[&data], &signature),
        Ok(true)
    );
    // Split message parts hash as one message.
    let (first, second) = data.split_at(7);
    assert_eq!(
        ecc::ec_sdsa_verify(EccCurve::P256, &ca_x, &[first, second], &signature),
        Ok(true)
    );
}

#[test]
fn book_e_p256_icc_certificate_verifies_with_the_certified_issuer_x() {
    // The issuer key is only its x-coordinate, read from the issuer
    // certificate: this checks the y convention (Book 2 Annex B2) too.
    let issuer_data = h(P256_ISSUER_CERT_DATA);
    let issuer_x = &issuer_data[21..];
    let data = h(P256_ICC_CERT_DATA);
    let signature = h(P256_ICC_CERT_SIGNATURE);
    assert_eq!(
        ecc::ec_sdsa_verify(EccCurve::P256, issuer_x, &[&data], &signature),
        Ok(true)
    );
}

#[cfg(feature = "ecc-p521")]
#[test]
fn book_e_p521_certificates_verify() {
    let ca_x = p521_public_x(P521_CA_PRIVATE);
    let issuer_data = h(P521_ISSUER_CERT_DATA);
    let signature = h(P521_ISSUER_CERT_SIGNATURE);
    assert_eq!(
        ecc::ec_sdsa_verify(EccCurve::P521, &ca_x, &[&issuer_data], &signature),
        Ok(true)
    );
    let issuer_x = &issuer_data[21..];
    let icc_data = h(P521_ICC_CERT_DATA);
    let icc_signature = h(P521_ICC_CERT_SIGNATURE);
    assert_eq!(
        ecc::ec_sdsa_verify(EccCurve::P521, issuer_x, &[&icc_data], &icc_signature),
        Ok(true)
    );
}

#[test]
fn any_change_breaks_the_signature() {
    let ca_x = p256_public_x(P256_CA_PRIVATE);
    let data = h(P256_ISSUER_CERT_DATA);
    let signature = h(P256_ISSUER_CERT_SIGNATURE);
    for index in [0, 20, data.len() - 1] {
        let mut changed = data.clone();
        changed[index] ^= 0x01;
        assert_eq!(
            ecc::ec_sdsa_verify(EccCurve::P256, &ca_x, &[&changed], &signature),
            Ok(false)
        );
    }
    for index in [0, 31, 32, 63] {
        let mut changed = signature.clone();
        changed[index] ^= 0x80;
        assert_eq!(
            ecc::ec_sdsa_verify(EccCurve::P256, &ca_x, &[&data], &changed),
            Ok(false)
        );
    }
    // Wrong lengths, s = 0, s ≥ n.
    assert_eq!(
        ecc::ec_sdsa_verify(EccCurve::P256, &ca_x, &[&data], &signature[..63]),
        Ok(false)
    );
    let mut zero_s = signature.clone();
    zero_s[32..].fill(0);
    assert_eq!(
        ecc::ec_sdsa_verify(EccCurve::P256, &ca_x, &[&data], &zero_s),
        Ok(false)
    );
    let mut big_s = signature.clone();
    big_s[32..].fill(0xFF);
    assert_eq!(
        ecc::ec_sdsa_verify(EccCurve::P256, &ca_x, &[&data], &big_s),
        Ok(false)
    );
    // The P-256 signature on the wrong curve.
    assert!(ecc::ec_sdsa_verify(EccCurve::P521, &ca_x, &[&data], &signature).is_err());
}

#[test]
fn an_x_off_the_curve_is_not_a_key() {
    // x = 0 is not on P-256 (b is not a square mod p) ... find one that is not:
    let mut found_invalid = false;
    for byte in 0u8..=20 {
        let mut x = [0u8; 32];
        x[31] = byte;
        if ecc::point_from_x(EccCurve::P256, &x) == Err(CryptoError::InvalidPoint) {
            found_invalid = true;
        }
    }
    assert!(found_invalid);
    assert_eq!(
        ecc::point_from_x(EccCurve::P256, &[0u8; 31]),
        Err(CryptoError::InvalidPoint)
    );
    assert_eq!(
        ecc::point_from_x(EccCurve::P256, &p256_public_x(P256_CA_PRIVATE)),
        Ok(())
    );
}

#[test]
fn providers_verify_and_old_providers_say_unsupported() {
    let crypto = PortableCrypto::new(NoRandom);
    let ca_x = p256_public_x(P256_CA_PRIVATE);
    let data = h(P256_ISSUER_CERT_DATA);
    let signature = h(P256_ISSUER_CERT_SIGNATURE);
    assert_eq!(
        crypto.ec_sdsa_verify(EccCurve::P256, &ca_x, &[&data], &signature),
        Ok(true)
    );
    assert_eq!(crypto.ecc_check_point(EccCurve::P256, &ca_x), Ok(()));

    struct Legacy;
    impl CryptoProvider for Legacy {
        fn sha1(&self, _: &[&[u8]]) -> [u8; 20] {
            [0; 20]
        }
        fn sha256(&self, _: &[&[u8]]) -> [u8; 32] {
            [0; 32]
        }
        fn rsa_public(
            &self,
            _: &[u8],
            _: &[u8],
            _: &[u8],
            _: &mut [u8],
        ) -> Result<(), CryptoError> {
            Err(CryptoError::InvalidModulus)
        }
        fn random(&self, _: &mut [u8]) -> Result<(), CryptoError> {
            Err(CryptoError::RandomUnavailable)
        }
    }
    assert_eq!(
        Legacy.ec_sdsa_verify(EccCurve::P256, &ca_x, &[&data], &signature),
        Err(CryptoError::Unsupported)
    );
    assert_eq!(
        Legacy.ecc_check_point(EccCurve::P256, &ca_x),
        Err(CryptoError::Unsupported)
    );
}

#[cfg(feature = "ring-crypto")]
#[test]
fn ring_provider_verifies() {
    let crypto = emv_kernel::crypto::RingCrypto::new();
    let ca_x = p256_public_x(P256_CA_PRIVATE);
    let data = h(P256_ISSUER_CERT_DATA);
    let signature = h(P256_ISSUER_CERT_SIGNATURE);
    assert_eq!(
        crypto.ec_sdsa_verify(EccCurve::P256, &ca_x, &[&data], &signature),
        Ok(true)
    );
}

/// SHA-512 (ICCD hash algorithm 03): FIPS 180-4's "abc" example.
#[test]
fn sha512_of_abc() {
    let digest = PortableCrypto::new(NoRandom)
        .sha512(&[b"a", b"bc"])
        .unwrap();
    assert_eq!(hex::encode(&digest[..8]), "ddaf35a193617aba");
    assert_eq!(hex::encode(&digest[56..]), "2a9ac94fa54ca49f");
}
