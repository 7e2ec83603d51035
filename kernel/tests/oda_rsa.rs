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

/// Every modulus length the kernel accepts (1 to 248 bytes), on random odd
/// moduli (composite: the arithmetic does not care), with e = 3, 65537 and a
/// general exponent, through the prepared-modulus API and the one-shot one.
/// Lengths that are not a whole number of limbs and moduli whose top limb is
/// small exercise the long division of R^2 mod n.
#[test]
fn rsa_matches_num_bigint_at_every_length() {
    use emv_kernel::crypto::rsa::{public_operation, RsaModulus};
    let mut random = Xorshift(0x5EED_0001);
    for len in 1..=248usize {
        for round in 0..3 {
            let mut modulus = random.bytes(len);
            // A non-zero first byte (small in round 1: a short top limb),
            // odd last byte.
            modulus[0] = match round {
                1 => 1,
                _ => modulus[0].max(1),
            };
            modulus[len - 1] |= 1;
            if len == 1 && modulus[0] == 1 {
                continue;
            }
            let prepared = RsaModulus::new(&modulus).unwrap();
            let n = BigUint::from_bytes_be(&modulus);
            for exponent in [&[3][..], &[1, 0, 1], &[0x25, 0x13]] {
                let e = BigUint::from_bytes_be(exponent);
                let mut input = random.bytes(len);
                input[0] = modulus[0].saturating_sub(1);
                let expected = left_pad(
                    &BigUint::from_bytes_be(&input).modpow(&e, &n).to_bytes_be(),
                    len,
                );
                let mut output = vec![0u8; len];
                prepared
                    .public_operation(exponent, &input, &mut output)
                    .unwrap();
                assert_eq!(
                    output, expected,
                    "prepared, length {len}, e {exponent:02X?}"
                );
                output.fill(0);
                public_operation(&modulus, exponent, &input, &mut output).unwrap();
                assert_eq!(
                    output, expected,
                    "one-shot, length {len}, e {exponent:02X?}"
                );
            }
        }
    }
}

/// The prepared modulus applies the same argument checks as every provider.
#[test]
fn prepared_modulus_checks_its_arguments() {
    use emv_kernel::crypto::rsa::RsaModulus;
    assert_eq!(
        RsaModulus::new(&[0x00, 0x11]).unwrap_err(),
        CryptoError::InvalidModulus
    );
    assert_eq!(
        RsaModulus::new(&[0x10]).unwrap_err(),
        CryptoError::InvalidModulus
    );
    assert_eq!(
        RsaModulus::new(&[]).unwrap_err(),
        CryptoError::InvalidModulus
    );
    assert_eq!(
        RsaModulus::new(&[0x11; 249]).unwrap_err(),
        CryptoError::InvalidModulus
    );
    let key = ca_1024();
    let prepared = RsaModulus::new(&key.modulus).unwrap();
    assert_eq!(prepared.len(), key.modulus.len());
    let mut output = vec![0u8; key.modulus.len()];
    assert_eq!(
        prepared.public_operation(&[0x02], &key.modulus, &mut output),
        Err(CryptoError::InvalidExponent)
    );
    assert_eq!(
        prepared.public_operation(&[0x03], &key.modulus, &mut output),
        Err(CryptoError::InputNotBelowModulus)
    );
    assert_eq!(
        prepared.public_operation(&[0x03], &key.modulus[1..], &mut output),
        Err(CryptoError::InputLength)
    );
}
