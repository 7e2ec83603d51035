//! The crypto providers: known answers for SHA-1, SHA-256 and the RSA public
//! operation, the argument checks every provider shares, the caller's random
//! source, and (with `ring-crypto`) agreement between the two providers.
#![cfg(feature = "portable-crypto")]

use core::cell::Cell;
#[cfg(feature = "ring-crypto")]
use emv_kernel::crypto::RingCrypto;
use emv_kernel::crypto::{CryptoError, CryptoProvider, NoRandom, PortableCrypto};

fn hex(text: &str) -> heapless::Vec<u8, 512> {
    let mut out = heapless::Vec::new();
    let digits: heapless::Vec<u8, 1024> = text
        .bytes()
        .filter(|c| c.is_ascii_hexdigit())
        .map(|c| (c as char).to_digit(16).unwrap() as u8)
        .collect();
    for pair in digits.chunks(2) {
        out.push(pair[0] << 4 | pair[1]).unwrap();
    }
    out
}

#[test]
fn sha1_known_answers() {
    let crypto = PortableCrypto::new(NoRandom);
    // FIPS 180-2 Appendix A.1 ("abc") and the empty string.
    assert_eq!(
        crypto.sha1(&[b"abc"])[..],
        hex("a9993e364706816aba3e25717850c26c9cd0d89d")[..]
    );
    assert_eq!(
        crypto.sha1(&[b"a", b"", b"bc"])[..],
        hex("a9993e364706816aba3e25717850c26c9cd0d89d")[..]
    );
    assert_eq!(
        crypto.sha1(&[])[..],
        hex("da39a3ee5e6b4b0d3255bfef95601890afd80709")[..]
    );
}

#[test]
fn sha256_known_answers() {
    let crypto = PortableCrypto::new(NoRandom);
    assert_eq!(
        crypto.sha256(&[b"ab", b"c"])[..],
        hex("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")[..]
    );
}

#[test]
fn rsa_small_known_vector() {
    // n = 3233 = 61 * 53, e = 17, m = 65 -> c = 2790 (the textbook example).
    let crypto = PortableCrypto::new(NoRandom);
    let mut out = [0u8; 2];
    crypto
        .rsa_public(&[0x0C, 0xA1], &[17], &[0x00, 0x41], &mut out)
        .unwrap();
    assert_eq!(u16::from_be_bytes(out), 2790);
    // e = 3: 65^3 mod 3233 = 274625 mod 3233 = 3041.
    crypto
        .rsa_public(&[0x0C, 0xA1], &[3], &[0x00, 0x41], &mut out)
        .unwrap();
    assert_eq!(u32::from(u16::from_be_bytes(out)), 274_625 % 3233);
    // e = 65537 against a u64 computation.
    crypto
        .rsa_public(&[0x0C, 0xA1], &[1, 0, 1], &[0x00, 0x41], &mut out)
        .unwrap();
    let mut expected: u64 = 1;
    for _ in 0..65537 {
        expected = expected * 65 % 3233;
    }
    assert_eq!(u64::from(u16::from_be_bytes(out)), expected);
}

#[test]
fn rsa_rejects_misuse() {
    let crypto = PortableCrypto::new(NoRandom);
    let mut out = [0u8; 2];
    let modulus = [0x0C, 0xA1];
    assert_eq!(
        crypto.rsa_public(&[0x0C, 0xA0], &[3], &[0, 1], &mut out),
        Err(CryptoError::InvalidModulus)
    );
    assert_eq!(
        crypto.rsa_public(&[0x00, 0xA1], &[3], &[0, 1], &mut out),
        Err(CryptoError::InvalidModulus)
    );
    assert_eq!(
        crypto.rsa_public(&modulus, &[2], &[0, 1], &mut out),
        Err(CryptoError::InvalidExponent)
    );
    assert_eq!(
        crypto.rsa_public(&modulus, &[0], &[0, 1], &mut out),
        Err(CryptoError::InvalidExponent)
    );
    assert_eq!(
        crypto.rsa_public(&modulus, &[3], &[1], &mut out),
        Err(CryptoError::InputLength)
    );
    assert_eq!(
        crypto.rsa_public(&modulus, &[3], &[0x0C, 0xA1], &mut out),
        Err(CryptoError::InputNotBelowModulus)
    );
    assert_eq!(
        crypto.rsa_public(&modulus, &[3], &[0, 1], &mut [0u8; 3]),
        Err(CryptoError::OutputLength)
    );
    assert_eq!(
        crypto.rsa_public(&[0xFF; 249], &[3], &[0; 249], &mut [0u8; 249]),
        Err(CryptoError::InvalidModulus)
    );
}

#[test]
fn random_comes_from_the_callers_source() {
    let calls = Cell::new(0u8);
    let source = |out: &mut [u8]| {
        calls.set(calls.get() + 1);
        out.fill(calls.get());
        Ok(())
    };
    let crypto = PortableCrypto::new(source);
    let mut a = [0u8; 8];
    crypto.random(&mut a).unwrap();
    assert_eq!(a, [1; 8]);
    crypto.random(&mut a).unwrap();
    assert_eq!(a, [2; 8]);
    assert_eq!(
        PortableCrypto::new(NoRandom).random(&mut a),
        Err(CryptoError::RandomUnavailable)
    );
}

#[cfg(feature = "ring-crypto")]
#[test]
fn ring_and_portable_agree() {
    let portable = PortableCrypto::new(NoRandom);
    let ring = RingCrypto::new();
    let data: [&[u8]; 3] = [b"EMV", &[0u8; 200], b"Book 2"];
    assert_eq!(portable.sha1(&data), ring.sha1(&data));
    assert_eq!(portable.sha256(&data), ring.sha256(&data));
    let mut a = [0u8; 32];
    let mut b = [0u8; 32];
    ring.random(&mut a).unwrap();
    ring.random(&mut b).unwrap();
    assert_ne!(a, b);
}
