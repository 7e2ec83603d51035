//! The cryptography the caller provides to the kernel, and the default provider.
//!
//! The kernel never hashes, exponentiates or draws random bytes itself: it asks a
//! [`CryptoProvider`]. Offline data authentication (Book 2, sections 5 and 6) needs
//! SHA-1 and the RSA public operation ("recovery"); offline enciphered PIN (Book 2,
//! section 7) needs the same RSA operation and random padding. SHA-256 is offered for
//! providers and callers that need it (for example journal digests).
//!
//! With the `default-crypto` feature, [`DefaultCrypto`] implements the trait with
//! `ring` (digests, system randomness) and `crypto-bigint` (fixed-width, heap-free RSA).

use crate::limits::MAX_RSA_MODULUS_BYTES;

/// Length of a SHA-1 digest in bytes.
pub const SHA1_LEN: usize = 20;
/// Length of a SHA-256 digest in bytes.
pub const SHA256_LEN: usize = 32;

/// Why a cryptographic operation could not be carried out.
///
/// These are misuse or environment errors; a bad signature is never reported here
/// (the RSA public operation succeeds on any input below the modulus, and the ODA
/// checks then decide).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CryptoError {
    /// Modulus empty, even, with a leading zero byte, or longer than
    /// [`MAX_RSA_MODULUS_BYTES`].
    InvalidModulus,
    /// Exponent empty, zero or even.
    InvalidExponent,
    /// Input length differs from the modulus length.
    InputLength,
    /// Input, read as a big-endian integer, is not below the modulus.
    InputNotBelowModulus,
    /// Output buffer length differs from the modulus length.
    OutputLength,
    /// The random source failed.
    RandomUnavailable,
}

impl core::fmt::Display for CryptoError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            CryptoError::InvalidModulus => write!(
                f,
                "RSA modulus empty, even, with a leading zero byte, or longer than {MAX_RSA_MODULUS_BYTES} bytes"
            ),
            CryptoError::InvalidExponent => f.write_str("RSA exponent empty, zero or even"),
            CryptoError::InputLength => f.write_str("RSA input length differs from the modulus length"),
            CryptoError::InputNotBelowModulus => f.write_str("RSA input is not below the modulus"),
            CryptoError::OutputLength => f.write_str("RSA output buffer length differs from the modulus length"),
            CryptoError::RandomUnavailable => f.write_str("the random source failed"),
        }
    }
}

impl core::error::Error for CryptoError {}

/// The cryptography the kernel needs, supplied by the caller.
///
/// Book 2, sections 5-7: hash function SHA-1 (Annex B3.1), RSA recovery
/// (Annex B2.1), and random padding for enciphered PIN (section 7.2).
pub trait CryptoProvider {
    /// SHA-1 over the concatenation of `parts`, without copying them together.
    fn sha1(&self, parts: &[&[u8]]) -> [u8; SHA1_LEN];

    /// SHA-256 over the concatenation of `parts`.
    fn sha256(&self, parts: &[&[u8]]) -> [u8; SHA256_LEN];

    /// RSA public operation: `output = input ^ exponent mod modulus`.
    ///
    /// All integers are big-endian. `input` and `output` have the length of
    /// `modulus`, and `input` must be below `modulus`.
    fn rsa_public(
        &self,
        modulus: &[u8],
        exponent: &[u8],
        input: &[u8],
        output: &mut [u8],
    ) -> Result<(), CryptoError>;

    /// Fill `out` with unpredictable bytes (enciphered PIN padding, Book 2, 7.2).
    fn random(&self, out: &mut [u8]) -> Result<(), CryptoError>;
}

impl<T: CryptoProvider + ?Sized> CryptoProvider for &T {
    fn sha1(&self, parts: &[&[u8]]) -> [u8; SHA1_LEN] {
        (**self).sha1(parts)
    }
    fn sha256(&self, parts: &[&[u8]]) -> [u8; SHA256_LEN] {
        (**self).sha256(parts)
    }
    fn rsa_public(
        &self,
        modulus: &[u8],
        exponent: &[u8],
        input: &[u8],
        output: &mut [u8],
    ) -> Result<(), CryptoError> {
        (**self).rsa_public(modulus, exponent, input, output)
    }
    fn random(&self, out: &mut [u8]) -> Result<(), CryptoError> {
        (**self).random(out)
    }
}

/// Check the arguments of [`CryptoProvider::rsa_public`] the way every provider must.
///
/// Providers may call this first so that all of them reject the same misuse.
pub fn check_rsa_arguments(
    modulus: &[u8],
    exponent: &[u8],
    input: &[u8],
    output: &[u8],
) -> Result<(), CryptoError> {
    let (first, last) = match (modulus.first(), modulus.last()) {
        (Some(first), Some(last)) => (*first, *last),
        _ => return Err(CryptoError::InvalidModulus),
    };
    if first == 0 || last & 1 == 0 || modulus.len() > MAX_RSA_MODULUS_BYTES {
        return Err(CryptoError::InvalidModulus);
    }
    let exponent_is_zero = exponent.iter().all(|byte| *byte == 0);
    let exponent_is_even = exponent.last().is_none_or(|byte| byte & 1 == 0);
    if exponent_is_zero || exponent_is_even {
        return Err(CryptoError::InvalidExponent);
    }
    if input.len() != modulus.len() {
        return Err(CryptoError::InputLength);
    }
    if output.len() != modulus.len() {
        return Err(CryptoError::OutputLength);
    }
    // Equal lengths, big-endian: lexicographic order is numeric order.
    if input >= modulus {
        return Err(CryptoError::InputNotBelowModulus);
    }
    Ok(())
}

#[cfg(feature = "default-crypto")]
pub use default_provider::DefaultCrypto;

#[cfg(feature = "default-crypto")]
mod default_provider {
    use super::{check_rsa_arguments, CryptoError, CryptoProvider, SHA1_LEN, SHA256_LEN};
    use crate::limits::MAX_RSA_MODULUS_BYTES;
    use crypto_bigint::modular::montgomery_reduction;
    use crypto_bigint::{Limb, NonZero, Odd, Uint, Word};
    use ring::digest;
    use ring::rand::{SecureRandom, SystemRandom};

    /// The default provider: `ring` digests and randomness, `crypto-bigint` RSA.
    ///
    /// RSA runs in fixed-width Montgomery arithmetic on the stack, the width
    /// chosen from the modulus length (1024, 1536 or 1984 bits). The two public
    /// exponents EMV uses (Book 2, Annex B2.1) are straight-line: e = 3 is one
    /// squaring and one product, e = 65537 sixteen squarings and one product;
    /// any other odd exponent takes square-and-multiply.
    #[derive(Clone, Debug)]
    pub struct DefaultCrypto {
        random: SystemRandom,
    }

    impl DefaultCrypto {
        /// A provider drawing randomness from the operating system.
        pub fn new() -> Self {
            Self {
                random: SystemRandom::new(),
            }
        }
    }

    impl Default for DefaultCrypto {
        fn default() -> Self {
            Self::new()
        }
    }

    fn digest_parts(algorithm: &'static digest::Algorithm, parts: &[&[u8]], out: &mut [u8]) {
        let mut context = digest::Context::new(algorithm);
        for part in parts {
            context.update(part);
        }
        let result = context.finish();
        for (target, source) in out.iter_mut().zip(result.as_ref()) {
            *target = *source;
        }
    }

    impl CryptoProvider for DefaultCrypto {
        fn sha1(&self, parts: &[&[u8]]) -> [u8; SHA1_LEN] {
            let mut out = [0u8; SHA1_LEN];
            digest_parts(&digest::SHA1_FOR_LEGACY_USE_ONLY, parts, &mut out);
            out
        }

        fn sha256(&self, parts: &[&[u8]]) -> [u8; SHA256_LEN] {
            let mut out = [0u8; SHA256_LEN];
            digest_parts(&digest::SHA256, parts, &mut out);
            out
        }

        fn rsa_public(
            &self,
            modulus: &[u8],
            exponent: &[u8],
            input: &[u8],
            output: &mut [u8],
        ) -> Result<(), CryptoError> {
            check_rsa_arguments(modulus, exponent, input, output)?;
            // The smallest width that holds the modulus, for speed (the cost
            // grows with the square of the width). The widths are the common
            // EMV key lengths: 1024, 1152, 1408, 1536 and 1984 bits (the largest).
            match modulus.len() {
                0..=128 => {
                    rsa_public_fixed::<{ 128 / Limb::BYTES }>(modulus, exponent, input, output)
                }
                129..=144 => {
                    rsa_public_fixed::<{ 144 / Limb::BYTES }>(modulus, exponent, input, output)
                }
                145..=176 => {
                    rsa_public_fixed::<{ 176 / Limb::BYTES }>(modulus, exponent, input, output)
                }
                177..=192 => {
                    rsa_public_fixed::<{ 192 / Limb::BYTES }>(modulus, exponent, input, output)
                }
                _ => rsa_public_fixed::<{ MAX_RSA_MODULUS_BYTES / Limb::BYTES }>(
                    modulus, exponent, input, output,
                ),
            }
        }

        fn random(&self, out: &mut [u8]) -> Result<(), CryptoError> {
            self.random
                .fill(out)
                .map_err(|_| CryptoError::RandomUnavailable)
        }
    }

    /// Read a big-endian byte string into a `Uint`; `None` if it does not fit.
    fn uint_from_be<const LIMBS: usize>(bytes: &[u8]) -> Option<Uint<LIMBS>> {
        if bytes.len() > LIMBS * Limb::BYTES {
            return None;
        }
        let mut words: [Word; LIMBS] = [0; LIMBS];
        for (word, chunk) in words.iter_mut().zip(bytes.rchunks(Limb::BYTES)) {
            *word = chunk
                .iter()
                .fold(0, |acc: Word, byte| (acc << 8) | Word::from(*byte));
        }
        Some(Uint::from_words(words))
    }

    /// Write the low `out.len()` bytes of `value` big-endian into `out`.
    fn uint_to_be<const LIMBS: usize>(value: &Uint<LIMBS>, out: &mut [u8]) {
        let little_endian = value.as_words().iter().flat_map(|word| word.to_le_bytes());
        for (target, source) in out.iter_mut().rev().zip(little_endian) {
            *target = source;
        }
    }

    /// Montgomery arithmetic modulo an odd `modulus`, with R = 2^(64 * LIMBS).
    ///
    /// Built from crypto-bigint's wide products and `montgomery_reduction`.
    /// Unlike `MontyParams` it computes no R^2 or R^3 and no inverse beyond one
    /// limb, which would cost more than the few products of one public-exponent
    /// operation: a value enters Montgomery form by one wide division.
    struct Montgomery<const LIMBS: usize> {
        modulus: Odd<Uint<LIMBS>>,
        modulus_non_zero: NonZero<Uint<LIMBS>>,
        /// -modulus^-1 mod 2^64 (one limb).
        negative_inverse: Limb,
    }

    impl<const LIMBS: usize> Montgomery<LIMBS> {
        fn new(modulus: Uint<LIMBS>) -> Option<Self> {
            let lowest = modulus.as_words().first().copied()?;
            // Newton iteration for the inverse modulo 2^Word::BITS: an odd
            // number is its own inverse modulo 8, and each step doubles the
            // number of correct bits (3, 6, 12, 24, 48, 96).
            let mut inverse: Word = lowest;
            for _ in 0..5 {
                inverse =
                    inverse.wrapping_mul((2 as Word).wrapping_sub(lowest.wrapping_mul(inverse)));
            }
            Some(Self {
                modulus: Option::from(Odd::new(modulus))?,
                modulus_non_zero: Option::from(NonZero::new(modulus))?,
                negative_inverse: Limb(inverse.wrapping_neg()),
            })
        }

        /// x * R mod n: the wide value with x as its upper half, reduced.
        fn enter(&self, value: &Uint<LIMBS>) -> Uint<LIMBS> {
            Uint::rem_wide_vartime((Uint::ZERO, *value), &self.modulus_non_zero)
        }

        fn multiply(&self, a: &Uint<LIMBS>, b: &Uint<LIMBS>) -> Uint<LIMBS> {
            montgomery_reduction(&a.split_mul(b), &self.modulus, self.negative_inverse)
        }

        fn square(&self, a: &Uint<LIMBS>) -> Uint<LIMBS> {
            montgomery_reduction(&a.square_wide(), &self.modulus, self.negative_inverse)
        }

        fn leave(&self, a: &Uint<LIMBS>) -> Uint<LIMBS> {
            montgomery_reduction(&(*a, Uint::ZERO), &self.modulus, self.negative_inverse)
        }
    }

    fn rsa_public_fixed<const LIMBS: usize>(
        modulus: &[u8],
        exponent: &[u8],
        input: &[u8],
        output: &mut [u8],
    ) -> Result<(), CryptoError> {
        let modulus = uint_from_be::<LIMBS>(modulus).ok_or(CryptoError::InvalidModulus)?;
        let input = uint_from_be::<LIMBS>(input).ok_or(CryptoError::InputLength)?;
        let arithmetic = Montgomery::new(modulus).ok_or(CryptoError::InvalidModulus)?;
        let base = arithmetic.enter(&input);
        let power = match exponent {
            [0x03] | [0x00, 0x00, 0x03] => arithmetic.multiply(&arithmetic.square(&base), &base),
            [0x01, 0x00, 0x01] => {
                let mut acc = base;
                for _ in 0..16 {
                    acc = arithmetic.square(&acc);
                }
                arithmetic.multiply(&acc, &base)
            }
            _ => pow_public(&arithmetic, &base, exponent),
        };
        uint_to_be(&arithmetic.leave(&power), output);
        Ok(())
    }

    /// Left-to-right square-and-multiply over a public exponent (variable time is
    /// fine: the exponent is public). `base` is in Montgomery form.
    fn pow_public<const LIMBS: usize>(
        arithmetic: &Montgomery<LIMBS>,
        base: &Uint<LIMBS>,
        exponent: &[u8],
    ) -> Uint<LIMBS> {
        let mut acc: Option<Uint<LIMBS>> = None;
        for byte in exponent {
            for shift in (0..8).rev() {
                acc = acc.map(|value| arithmetic.square(&value));
                if (byte >> shift) & 1 == 1 {
                    acc = Some(match acc {
                        Some(value) => arithmetic.multiply(&value, base),
                        None => *base,
                    });
                }
            }
        }
        // A zero exponent is refused before this point; x^0 would be R mod n.
        acc.unwrap_or(*base)
    }
}

#[cfg(test)]
#[cfg(feature = "default-crypto")]
mod tests {
    use super::*;

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
        let crypto = DefaultCrypto::new();
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
        let crypto = DefaultCrypto::new();
        assert_eq!(
            crypto.sha256(&[b"ab", b"c"])[..],
            hex("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")[..]
        );
    }

    #[test]
    fn rsa_small_known_vector() {
        // n = 3233 = 61 * 53, e = 17, m = 65 -> c = 2790 (the textbook example).
        let crypto = DefaultCrypto::new();
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
        let crypto = DefaultCrypto::new();
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
    fn random_fills() {
        let crypto = DefaultCrypto::new();
        let mut a = [0u8; 32];
        let mut b = [0u8; 32];
        crypto.random(&mut a).unwrap();
        crypto.random(&mut b).unwrap();
        assert_ne!(a, b);
    }
}
