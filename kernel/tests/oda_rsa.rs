//! The default provider's RSA public operation against `num-bigint`, at the
//! EMV key sizes and exponents, on pseudo-random inputs.

mod oda_support;

use emv_kernel::crypto::{CryptoError, CryptoProvider, PortableCrypto};
use num_bigint::BigUint;
use oda_support::*;

/// The default provider with a fixed random source (PIN padding in tests only).
type TestCrypto = PortableCrypto<fn(&mut [u8]) -> Result<(), CryptoError>>;

fn test_crypto() -> TestCrypto {
    PortableCrypto::new(|out: &mut [u8]| {
        out.fill(0xA5);
        Ok(())
    })
}

/// xorshift64*, seeded: reproducible inputs without a rand dependency.
struct Xorshift(u64);

impl Xorshift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn bytes(&mut self, len: usize) -> Vec<u8> {
        (0..len).map(|_| self.next() as u8).collect()
    }
}

fn check(modulus: &[u8], exponent: &[u8], rounds: usize, seed: u64) {
    let crypto = test_crypto();
    let n = BigUint::from_bytes_be(modulus);
    let e = BigUint::from_bytes_be(exponent);
    let mut random = Xorshift(seed);
    for _ in 0..rounds {
        let mut input = random.bytes(modulus.len());
        // Keep the input below the modulus.
        input[0] = modulus[0].saturating_sub(1);
        let mut output = vec![0u8; modulus.len()];
        crypto
            .rsa_public(modulus, exponent, &input, &mut output)
            .unwrap();
        let expected = BigUint::from_bytes_be(&input).modpow(&e, &n);
        assert_eq!(output, left_pad(&expected.to_bytes_be(), modulus.len()));
    }
}

#[test]
fn rsa_matches_num_bigint_at_every_width() {
    for key in [
        icc_512(),
        issuer_704(),
        icc_768(),
        ca_1024(),
        issuer_1024(),
        ca_1984(),
        ca_1984_f4(),
        issuer_1984(),
    ] {
        check(&key.modulus, &key.exponent, 8, key.modulus[5] as u64 + 1);
    }
}

#[test]
fn rsa_general_exponents() {
    let key = ca_1984();
    for exponent in [
        &[0x11][..],
        &[0x00, 0x00, 0x03],
        &[0x01, 0x00, 0x03],
        &[0xFF, 0xFF, 0xFF],
    ] {
        check(&key.modulus, exponent, 2, 7);
    }
    // Every width (1024, 1152, 1408, 1536, 1984 bits) and the edges between
    // them: the top bytes of a 1984-bit modulus, made odd, are a valid (if
    // composite) modulus of that length.
    for len in [127, 128, 129, 144, 145, 160, 176, 177, 192, 193, 200, 247] {
        let mut modulus = key.modulus[..len].to_vec();
        modulus[len - 1] |= 1;
        check(&modulus, &[3], 2, len as u64);
        check(&modulus, &[1, 0, 1], 2, len as u64 + 1);
    }
}

#[test]
fn rsa_round_trips_with_the_private_key() {
    let key = icc_768();
    let message = {
        let mut m = vec![0x6A; key.len()];
        m[0] = 0x00;
        m
    };
    let signature = key.sign(&message);
    let mut recovered = vec![0u8; key.len()];
    test_crypto()
        .rsa_public(&key.modulus, &key.exponent, &signature, &mut recovered)
        .unwrap();
    assert_eq!(recovered, message);
}
