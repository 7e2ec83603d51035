//! The primitives of ECC offline PIN encipherment (EMV 4.4 Book 2, 13 and
//! Annex A2.3) against published vectors, and how the encipherment fails.
//!
//! - AES-128: FIPS 197, Appendix C.1.
//! - AES-CMAC: RFC 4493, section 4 (examples 1, 2 and 3).
//! - ECDH on P-256: NIST CAVS "KAS ECC CDH primitive" test vectors, P-256,
//!   COUNT = 0 (`dIUT`, `QIUTx` and `ZIUT` for the peer `QCAVSx`).
//!
//! The scheme as a whole has no published vector we could find; the
//! round trip with the test cards' independent card side, which deciphers
//! and checks the PIN, is in tests/tests/xda_profiles.rs and the
//! `xda-enciphered-pin*` profiles.

#![cfg(feature = "portable-crypto")]

use emv_kernel::crypto::{ecc, CryptoError, CryptoProvider, EccCurve, NoRandom, PortableCrypto};
use emv_kernel::oda::pin::{ecc_enciphered_pin_len, encipher_pin_block_ecc};
use emv_kernel::oda::EccPublicKey;
use p256::elliptic_curve::point::DecompressPoint;
use p256::elliptic_curve::subtle::Choice;

fn h(text: &str) -> Vec<u8> {
    hex::decode(text).unwrap()
}

fn key16(text: &str) -> [u8; 16] {
    h(text).try_into().unwrap()
}

const CAVS_PEER_X: &str = "700c48f77f56584c5cc632ca65640db91b6bacce3a4df6b42ce7cc838833d287";
const CAVS_PRIVATE: &str = "7d7dc5f71eb29ddaf80d6214632eeae03d9058af1fb6d22ed80badb62bc1a534";
const CAVS_PUBLIC_X: &str = "ead218590119e8876b29146ff89ca61770c4edbbf97d38ce385ed281d8a6b230";
const CAVS_SHARED: &str = "46fc62106420ff012e54a434fbdd2d25ccc5852060561e68040dd7778997bd7b";

/// A provider whose random source hands out `draws` in turn.
fn drawing(draws: Vec<Vec<u8>>) -> PortableCrypto<impl Fn(&mut [u8]) -> Result<(), CryptoError>> {
    let draws = std::cell::RefCell::new(draws.into_iter());
    PortableCrypto::new(move |out: &mut [u8]| {
        let next = draws
            .borrow_mut()
            .next()
            .ok_or(CryptoError::RandomUnavailable)?;
        out.copy_from_slice(&next);
        Ok(())
    })
}

#[test]
fn aes128_is_fips_197() {
    let crypto = PortableCrypto::new(NoRandom);
    let mut block: [u8; 16] = h("00112233445566778899aabbccddeeff").try_into().unwrap();
    crypto
        .aes128_encrypt_block(&key16("000102030405060708090a0b0c0d0e0f"), &mut block)
        .unwrap();
    assert_eq!(block.to_vec(), h("69c4e0d86a7b0430d8cdb78070b4c55a"));
}

#[test]
fn aes128_cmac_is_rfc_4493_over_parts() {
    let crypto = PortableCrypto::new(NoRandom);
    let key = key16("2b7e151628aed2a6abf7158809cf4f3c");
    let message =
        h("6bc1bee22e409f96e93d7e117393172aae2d8a571e03ac9c9eb76fac45af8e5130c81c46a35ce411");
    assert_eq!(
        crypto.aes128_cmac(&key, &[]).unwrap().to_vec(),
        h("bb1d6929e95937287fa37d129b756746")
    );
    assert_eq!(
        crypto
            .aes128_cmac(&key, &[&message[..16]])
            .unwrap()
            .to_vec(),
        h("070a16b46b4d4144f79bdd9dd04a287c")
    );
    // Example 3 (40 bytes), given in three parts.
    assert_eq!(
        crypto
            .aes128_cmac(&key, &[&message[..7], &message[7..23], &message[23..]])
            .unwrap()
            .to_vec(),
        h("dfa66747de9ae63030ca32611497c827")
    );
}

#[test]
fn ecdh_is_nist_cavs_p256() {
    let crypto = drawing(vec![h(CAVS_PRIVATE)]);
    let (mut ephemeral, mut shared) = ([0u8; 32], [0u8; 32]);
    crypto
        .ecc_ephemeral_agreement(EccCurve::P256, &h(CAVS_PEER_X), &mut ephemeral, &mut shared)
        .unwrap();
    assert_eq!(ephemeral.to_vec(), h(CAVS_PUBLIC_X));
    assert_eq!(shared.to_vec(), h(CAVS_SHARED));
}

#[test]
fn ecdh_draws_again_for_a_scalar_out_of_range_and_gives_up_after_eight() {
    // 0 and n-or-above are refused; the third draw is the CAVS key.
    let crypto = drawing(vec![vec![0; 32], vec![0xFF; 32], h(CAVS_PRIVATE)]);
    let (mut ephemeral, mut shared) = ([0u8; 32], [0u8; 32]);
    crypto
        .ecc_ephemeral_agreement(EccCurve::P256, &h(CAVS_PEER_X), &mut ephemeral, &mut shared)
        .unwrap();
    assert_eq!(shared.to_vec(), h(CAVS_SHARED));

    let broken = drawing(vec![vec![0xFF; 32]; 20]);
    assert_eq!(
        broken.ecc_ephemeral_agreement(
            EccCurve::P256,
            &h(CAVS_PEER_X),
            &mut ephemeral,
            &mut shared
        ),
        Err(CryptoError::RandomUnavailable)
    );
    assert_eq!(
        PortableCrypto::new(NoRandom).ecc_ephemeral_agreement(
            EccCurve::P256,
            &h(CAVS_PEER_X),
            &mut ephemeral,
            &mut shared
        ),
        Err(CryptoError::RandomUnavailable)
    );
}

#[test]
fn ecdh_refuses_a_peer_off_the_curve_and_wrong_buffer_lengths() {
    // The first x (counting up from 1) that is not on P-256.
    let off_curve = (1u8..=255)
        .map(|last| {
            let mut x = [0u8; 32];
            x[31] = last;
            x
        })
        .find(|x| {
            let affine: Option<p256::AffinePoint> =
                p256::AffinePoint::decompress(x.into(), Choice::from(0)).into();
            affine.is_none()
        })
        .unwrap();
    let crypto = drawing(vec![h(CAVS_PRIVATE); 4]);
    let (mut ephemeral, mut shared) = ([0u8; 32], [0u8; 32]);
    assert_eq!(
        crypto.ecc_ephemeral_agreement(EccCurve::P256, &off_curve, &mut ephemeral, &mut shared),
        Err(CryptoError::InvalidPoint)
    );
    let mut short = [0u8; 31];
    assert_eq!(
        crypto.ecc_ephemeral_agreement(EccCurve::P256, &h(CAVS_PEER_X), &mut short, &mut shared),
        Err(CryptoError::OutputLength)
    );
}

#[cfg(feature = "ecc-p521")]
#[test]
fn ecdh_on_p521_is_the_curve_crates_scalar_multiplication() {
    use p256::elliptic_curve::sec1::ToEncodedPoint;
    let mut peer_bytes = [0x42u8; 66];
    peer_bytes[0] = 0x01;
    let peer_secret = p521::SecretKey::from_slice(&peer_bytes).unwrap();
    let peer = peer_secret.public_key();
    let peer_x = peer
        .as_affine()
        .to_encoded_point(false)
        .x()
        .unwrap()
        .to_vec();
    let mut ours = [0x17u8; 66];
    ours[0] = 0xFF; // masked to 0x01: the scalar keeps 521 bits
    let crypto = drawing(vec![ours.to_vec()]);
    let (mut ephemeral, mut shared) = ([0u8; 66], [0u8; 66]);
    crypto
        .ecc_ephemeral_agreement(EccCurve::P521, &peer_x, &mut ephemeral, &mut shared)
        .unwrap();
    ours[0] = 0x01;
    let d = p521::SecretKey::from_slice(&ours).unwrap();
    let expected = (p521::ProjectivePoint::from(*peer.as_affine()) * *d.to_nonzero_scalar())
        .to_affine()
        .to_encoded_point(false);
    assert_eq!(shared.to_vec(), expected.x().unwrap().to_vec());
    let ephemeral_expected = d.public_key().as_affine().to_encoded_point(false);
    assert_eq!(ephemeral.to_vec(), ephemeral_expected.x().unwrap().to_vec());
}

#[test]
fn enciphered_pin_data_are_ephemeral_x_ciphertext_and_mac() {
    let key = EccPublicKey::new(EccCurve::P256, &h(CAVS_PEER_X)).unwrap();
    let crypto = drawing(vec![h(CAVS_PRIVATE)]);
    let mut out = [0u8; 128];
    let length = encipher_pin_block_ecc(
        &crypto,
        &key,
        &[0x24, 0x12, 0x34, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF],
        &[7; 8],
        &mut out,
    )
    .unwrap();
    assert_eq!(length, 57);
    assert_eq!(length, ecc_enciphered_pin_len(EccCurve::P256));
    assert_eq!(out[..32].to_vec(), h(CAVS_PUBLIC_X));
    assert!(out[length..].iter().all(|byte| *byte == 0));
    assert_eq!(ecc_enciphered_pin_len(EccCurve::P521), 91);
    // The CAVS peer is a point the card's key could be.
    assert_eq!(ecc::point_from_x(EccCurve::P256, &h(CAVS_PEER_X)), Ok(()));
}

#[test]
fn enciphering_fails_cleanly_without_support_randomness_or_room() {
    let key = EccPublicKey::new(EccCurve::P256, &h(CAVS_PEER_X)).unwrap();
    let block = [0x24, 0x12, 0x34, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF];

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
        fn random(&self, out: &mut [u8]) -> Result<(), CryptoError> {
            out.fill(0x11);
            Ok(())
        }
    }
    let mut out = [0u8; 57];
    assert_eq!(
        encipher_pin_block_ecc(&Legacy, &key, &block, &[7; 8], &mut out),
        Err(CryptoError::Unsupported)
    );
    assert_eq!(
        encipher_pin_block_ecc(
            &PortableCrypto::new(NoRandom),
            &key,
            &block,
            &[7; 8],
            &mut out
        ),
        Err(CryptoError::RandomUnavailable)
    );
    let mut short = [0u8; 56];
    assert_eq!(
        encipher_pin_block_ecc(
            &drawing(vec![h(CAVS_PRIVATE)]),
            &key,
            &block,
            &[7; 8],
            &mut short
        ),
        Err(CryptoError::OutputLength)
    );
}
