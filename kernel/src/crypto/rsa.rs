//! The RSA public operation ("recovery", Book 2, Annex B2.1) on fixed-width,
//! heap-free integers: our Montgomery exponentiation over `crypto-bigint`.
//!
//! Both providers of this crate use it ([`super::PortableCrypto`],
//! [`super::RingCrypto`]); a caller writing its own provider (digests in an HSM,
//! say) can call [`public_operation`] for the RSA part.
//!
//! RSA runs on the stack, the width chosen from the modulus length (1024, 1152,
//! 1408, 1536 or 1984 bits). The two public exponents EMV uses (Book 2, Annex
//! B2.1) are straight-line: e = 3 is one squaring and one product, e = 65537
//! sixteen squarings and one product; any other odd exponent takes
//! square-and-multiply.

use super::{check_rsa_arguments, CryptoError};
use crate::limits::MAX_RSA_MODULUS_BYTES;
use crypto_bigint::modular::montgomery_reduction;
use crypto_bigint::{Limb, NonZero, Odd, Uint, Word};

/// `output = input ^ exponent mod modulus`, big-endian, after the argument checks
/// every provider applies ([`check_rsa_arguments`]).
///
/// Variable time: every operand is public (certificates and signatures), and
/// the exponent is the public one.
pub fn public_operation(
    modulus: &[u8],
    exponent: &[u8],
    input: &[u8],
    output: &mut [u8],
) -> Result<(), CryptoError> {
    check_rsa_arguments(modulus, exponent, input, output)?;
    // The smallest width that holds the modulus, for speed (the cost grows
    // with the square of the width).
    match modulus.len() {
        0..=128 => rsa_public_fixed::<{ 128 / Limb::BYTES }>(modulus, exponent, input, output),
        129..=144 => rsa_public_fixed::<{ 144 / Limb::BYTES }>(modulus, exponent, input, output),
        145..=176 => rsa_public_fixed::<{ 176 / Limb::BYTES }>(modulus, exponent, input, output),
        177..=192 => rsa_public_fixed::<{ 192 / Limb::BYTES }>(modulus, exponent, input, output),
        _ => rsa_public_fixed::<{ MAX_RSA_MODULUS_BYTES / Limb::BYTES }>(
            modulus, exponent, input, output,
        ),
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

/// Montgomery arithmetic modulo an odd `modulus`, with R = 2^(Word::BITS * LIMBS)
/// (64-bit limbs on 64-bit targets, 32-bit ones on Cortex-M).
///
/// Built from crypto-bigint's wide products and `montgomery_reduction`.
/// Unlike `MontyParams` it computes no R^2 or R^3 and no inverse beyond one
/// limb, which would cost more than the few products of one public-exponent
/// operation: a value enters Montgomery form by one wide division.
struct Montgomery<const LIMBS: usize> {
    modulus: Odd<Uint<LIMBS>>,
    modulus_non_zero: NonZero<Uint<LIMBS>>,
    /// -modulus^-1 mod 2^Word::BITS (one limb).
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
            inverse = inverse.wrapping_mul((2 as Word).wrapping_sub(lowest.wrapping_mul(inverse)));
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
