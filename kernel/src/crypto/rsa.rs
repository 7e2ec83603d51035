//! The RSA public operation ("recovery", Book 2, Annex B2.1) on fixed-size,
//! heap-free limb arrays: Montgomery multiplication (CIOS, coarsely
//! integrated operand scanning) over the modulus's own number of limbs.
//!
//! Both providers of this crate use it ([`super::PortableCrypto`],
//! [`super::RingCrypto`]); a caller writing its own provider (digests in an
//! HSM, say) can call [`public_operation`] for the RSA part, and a terminal
//! that verifies many signatures under one key (a CA key, an issuer key in a
//! batch) can prepare the key once with [`RsaModulus::new`] and call
//! [`RsaModulus::public_operation`], which skips the per-key set-up.
//!
//! Why our own arithmetic and not a bignum crate: RAM. A whole transaction
//! has a budget of 16 KiB of state plus stack (README, "Measured"), and the
//! generic fixed-width integers we used before (`crypto-bigint`) took about
//! 10 KB of stack for one 1984-bit operation (wide products and a wide
//! division returned by value). Here every buffer is one array of
//! [`MAX_LIMBS`] words, and the work is one loop nest: the stack of a
//! 1984-bit operation is about 1.2 KB. `kernel/tests/oda_rsa.rs` checks the
//! results against `num-bigint` at every length from 1 to 248 bytes.
//!
//! Cost: Montgomery form needs R^2 mod n (R = 2^(bits of a word x limbs)).
//! [`RsaModulus::new`] derives it by long division (Knuth's algorithm D, one
//! quotient digit per limb of R^2: about half the work of one Montgomery
//! product). The two public exponents EMV uses (Book 2, Annex B2.1) are
//! straight-line: the input enters Montgomery form by one product with R^2,
//! e = 3 is then one squaring and one product with the plain input (which
//! leaves Montgomery form on the way), e = 65537 sixteen squarings and that
//! product; other odd exponents take left-to-right square-and-multiply.
//!
//! Variable time: every operand is public (certificates, signatures and the
//! public exponent).

use super::{check_rsa_arguments, CryptoError};
use crate::limits::MAX_RSA_MODULUS_BYTES;

/// One limb: 64 bits on 64-bit targets, 32 on others (Cortex-M has a
/// 32x32->64 multiply, and no 64x64->128 one).
#[cfg(target_pointer_width = "64")]
type Word = u64;
#[cfg(target_pointer_width = "64")]
type Wide = u128;
#[cfg(not(target_pointer_width = "64"))]
type Word = u32;
#[cfg(not(target_pointer_width = "64"))]
type Wide = u64;

const WORD_BYTES: usize = core::mem::size_of::<Word>();
const WORD_BITS: u32 = Word::BITS;

/// Limbs of the largest modulus (1984 bits, Book 2, Annex A2.1).
pub const MAX_LIMBS: usize = MAX_RSA_MODULUS_BYTES.div_ceil(WORD_BYTES);

/// A number of at most [`MAX_LIMBS`] limbs, little-endian (limb 0 lowest).
type Limbs = [Word; MAX_LIMBS];

/// An RSA modulus prepared for Montgomery arithmetic: its limbs, the one-limb
/// inverse and R^2 mod n. About 500 bytes; build it once per key to verify
/// many signatures under that key.
#[derive(Clone)]
pub struct RsaModulus {
    modulus: Limbs,
    /// R^2 mod n.
    r_squared: Limbs,
    /// Limbs in use (the modulus's length in words).
    limbs: usize,
    /// The modulus's length in bytes, as given.
    modulus_len: usize,
    /// -n^-1 mod 2^WORD_BITS.
    negative_inverse: Word,
}

impl core::fmt::Debug for RsaModulus {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("RsaModulus")
            .field("bits", &(self.modulus_len * 8))
            .finish_non_exhaustive()
    }
}

/// `output = input ^ exponent mod modulus`, big-endian, after the argument
/// checks every provider applies ([`check_rsa_arguments`]).
pub fn public_operation(
    modulus: &[u8],
    exponent: &[u8],
    input: &[u8],
    output: &mut [u8],
) -> Result<(), CryptoError> {
    check_rsa_arguments(modulus, exponent, input, output)?;
    // Prepared in place: no second copy of the ~500-byte value on the stack.
    let mut prepared = RsaModulus::EMPTY;
    prepared.prepare(modulus)?;
    prepared.power(exponent, input, output);
    Ok(())
}

impl RsaModulus {
    /// Prepares `modulus` (big-endian): odd, no leading zero byte, at most
    /// [`MAX_RSA_MODULUS_BYTES`] bytes, otherwise
    /// [`CryptoError::InvalidModulus`].
    pub fn new(modulus: &[u8]) -> Result<Self, CryptoError> {
        let mut prepared = Self::EMPTY;
        prepared.prepare(modulus)?;
        Ok(prepared)
    }

    /// No modulus yet (one limb, zero): only for [`Self::prepare`].
    const EMPTY: Self = RsaModulus {
        modulus: [0; MAX_LIMBS],
        r_squared: [0; MAX_LIMBS],
        limbs: 1,
        modulus_len: 0,
        negative_inverse: 0,
    };

    /// [`Self::new`] in place.
    fn prepare(&mut self, modulus: &[u8]) -> Result<(), CryptoError> {
        let (Some(&first), Some(&last)) = (modulus.first(), modulus.last()) else {
            return Err(CryptoError::InvalidModulus);
        };
        if first == 0 || last & 1 == 0 || modulus.len() > MAX_RSA_MODULUS_BYTES {
            return Err(CryptoError::InvalidModulus);
        }
        let prepared = self;
        prepared.limbs = modulus.len().div_ceil(WORD_BYTES);
        prepared.modulus_len = modulus.len();
        read_be(modulus, &mut prepared.modulus);
        // Newton iteration for the inverse modulo 2^WORD_BITS: an odd number
        // is its own inverse modulo 8, and each step doubles the number of
        // correct bits (3, 6, 12, 24, 48, 96).
        let lowest = prepared.modulus[0];
        let mut inverse: Word = lowest;
        for _ in 0..5 {
            inverse = inverse.wrapping_mul((2 as Word).wrapping_sub(lowest.wrapping_mul(inverse)));
        }
        prepared.negative_inverse = inverse.wrapping_neg();
        prepared.compute_r_squared();
        Ok(())
    }

    /// The modulus's length in bytes.
    pub fn len(&self) -> usize {
        self.modulus_len
    }

    /// Never true: a modulus has at least one byte (for clippy's `len`
    /// convention).
    pub fn is_empty(&self) -> bool {
        self.modulus_len == 0
    }

    /// `output = input ^ exponent mod n` under this modulus, with the same
    /// argument checks as [`public_operation`].
    pub fn public_operation(
        &self,
        exponent: &[u8],
        input: &[u8],
        output: &mut [u8],
    ) -> Result<(), CryptoError> {
        let mut modulus_bytes = [0u8; MAX_RSA_MODULUS_BYTES];
        let modulus = modulus_bytes
            .get_mut(..self.modulus_len)
            .ok_or(CryptoError::InvalidModulus)?;
        write_be(&self.modulus, modulus);
        check_rsa_arguments(modulus, exponent, input, output)?;
        self.power(exponent, input, output);
        Ok(())
    }

    /// The exponentiation, on checked arguments.
    fn power(&self, exponent: &[u8], input: &[u8], output: &mut [u8]) {
        let mut plain: Limbs = [0; MAX_LIMBS];
        read_be(input, &mut plain);
        // x R mod n.
        let mut base: Limbs = [0; MAX_LIMBS];
        self.multiply(&plain, &self.r_squared, &mut base);
        let mut acc: Limbs = [0; MAX_LIMBS];
        let mut scratch: Limbs = [0; MAX_LIMBS];
        // Every branch leaves x^(e-1) R mod n in acc; the last product with
        // the plain input gives x^e (the R cancels).
        match exponent {
            [0x03] | [0x00, 0x00, 0x03] => {
                self.multiply(&base, &base, &mut acc);
            }
            [0x01, 0x00, 0x01] | [0x00, 0x01, 0x00, 0x01] => {
                acc = base;
                for _ in 0..16 {
                    self.multiply(&acc, &acc, &mut scratch);
                    core::mem::swap(&mut acc, &mut scratch);
                }
            }
            _ => {
                // exponent - 1: the exponent is odd, so only its last bit
                // changes.
                let mut seen_one = false;
                let bytes = exponent.len();
                for (index, byte) in exponent.iter().enumerate() {
                    let byte = if index + 1 == bytes {
                        byte & 0xFE
                    } else {
                        *byte
                    };
                    for shift in (0..8).rev() {
                        if seen_one {
                            self.multiply(&acc, &acc, &mut scratch);
                            core::mem::swap(&mut acc, &mut scratch);
                        }
                        if (byte >> shift) & 1 == 1 {
                            if seen_one {
                                self.multiply(&acc, &base, &mut scratch);
                                core::mem::swap(&mut acc, &mut scratch);
                            } else {
                                acc = base;
                                seen_one = true;
                            }
                        }
                    }
                }
                if !seen_one {
                    // e = 1: x^0 R = R mod n, and R * x / R = x.
                    self.multiply(&self.r_squared, &one(), &mut acc);
                }
            }
        }
        // base is no longer needed: it takes the result.
        self.multiply(&acc, &plain, &mut base);
        write_be(&base, output);
    }

    /// `out = a * b / R mod n` for `a, b < n`.
    ///
    /// The common widths of 64-bit targets (1024 and 1984 bits) get a copy
    /// of the product with the width fixed, which the compiler unrolls; the
    /// others (and every width on 32-bit targets, where flash counts more)
    /// share one loop.
    fn multiply(&self, a: &Limbs, b: &Limbs, out: &mut Limbs) {
        let limbs = self.limbs.clamp(1, MAX_LIMBS);
        let (modulus, inverse) = (&self.modulus, self.negative_inverse);
        #[cfg(target_pointer_width = "64")]
        match limbs {
            16 => return montgomery_product(16, modulus, inverse, a, b, out),
            31 => return montgomery_product(31, modulus, inverse, a, b, out),
            _ => {}
        }
        montgomery_product(limbs, modulus, inverse, a, b, out)
    }

    /// R^2 mod n by long division (see the module documentation).
    fn compute_r_squared(&mut self) {
        let limbs = self.limbs.clamp(1, MAX_LIMBS);
        let modulus = &self.modulus[..limbs];
        if limbs == 1 && modulus[0] == 1 {
            // Everything is 0 modulo 1.
            self.r_squared = [0; MAX_LIMBS];
            return;
        }
        // Knuth's algorithm D wants the divisor's top bit set: work modulo
        // N = n 2^s, where (2^s R^2) mod N = 2^s (R^2 mod n).
        let shift = modulus[limbs - 1].leading_zeros();
        let mut normalized: Limbs = [0; MAX_LIMBS];
        shift_left(&mut normalized[..limbs], modulus, shift);
        let mut value: Limbs = [0; MAX_LIMBS];
        // 2^s < N (n > 1 is odd, so N > 2^s).
        value[0] = 1 << shift;
        for _ in 0..2 * limbs {
            times_word_modulo(&mut value[..limbs], &normalized[..limbs]);
        }
        shift_right(&mut self.r_squared[..limbs], &value[..limbs], shift);
    }
}

/// `out = a * b / R mod n` for `a, b < n`: the CIOS Montgomery product
/// with its two inner loops fused (each round adds `a * b_i` and `m * n`
/// in one pass and shifts by one limb on the way).
#[inline(always)]
fn montgomery_product(
    limbs: usize,
    modulus: &Limbs,
    negative_inverse: Word,
    a: &Limbs,
    b: &Limbs,
    out: &mut Limbs,
) {
    let limbs = limbs.clamp(1, MAX_LIMBS);
    let modulus = &modulus[..limbs];
    let a = &a[..limbs];
    // t < 2n < 2R: one limb more than the modulus.
    let mut buffer = [0 as Word; MAX_LIMBS + 1];
    let t = &mut buffer[..=limbs];
    for &b_i in &b[..limbs] {
        // m makes the low limb of t + a b_i + m n zero.
        let m = t[0]
            .wrapping_add(a[0].wrapping_mul(b_i))
            .wrapping_mul(negative_inverse);
        let product = Wide::from(t[0]) + Wide::from(a[0]) * Wide::from(b_i);
        let mut carry_ab = (product >> WORD_BITS) as Word;
        let reduced = Wide::from(product as Word) + Wide::from(m) * Wide::from(modulus[0]);
        let mut carry_mn = (reduced >> WORD_BITS) as Word;
        for j in 1..limbs {
            let product =
                Wide::from(t[j]) + Wide::from(a[j]) * Wide::from(b_i) + Wide::from(carry_ab);
            carry_ab = (product >> WORD_BITS) as Word;
            let reduced = Wide::from(product as Word)
                + Wide::from(m) * Wide::from(modulus[j])
                + Wide::from(carry_mn);
            carry_mn = (reduced >> WORD_BITS) as Word;
            t[j - 1] = reduced as Word;
        }
        let top = Wide::from(t[limbs]) + Wide::from(carry_ab) + Wide::from(carry_mn);
        t[limbs - 1] = top as Word;
        t[limbs] = (top >> WORD_BITS) as Word;
    }
    // t < 2n: subtract n once when t >= n.
    let (low, high) = t.split_at(limbs);
    if high[0] != 0 || !less_than(low, modulus) {
        subtract(&mut out[..limbs], low, modulus);
    } else {
        out[..limbs].copy_from_slice(low);
    }
    out[limbs..].fill(0); // ok: limbs is clamped to 1..=MAX_LIMBS
}

/// `value = value * 2^WORD_BITS mod n` for `value < n`, where `n`'s top bit
/// is set: one quotient digit of Knuth's algorithm D (The Art of Computer
/// Programming, vol. 2, 4.3.1), steps D3 to D6.
fn times_word_modulo(value: &mut [Word], n: &[Word]) {
    let limbs = n.len().min(value.len()).min(MAX_LIMBS);
    if limbs == 0 {
        return;
    }
    let (value, n) = (&mut value[..limbs], &n[..limbs]);
    // u = value * 2^WORD_BITS, limbs + 1 limbs.
    let mut buffer = [0 as Word; MAX_LIMBS + 1];
    let u = &mut buffer[..=limbs];
    u[1..].copy_from_slice(value); // ok: u has limbs + 1 limbs, value limbs
    let top = Wide::from(n[limbs - 1]);
    let numerator = (Wide::from(u[limbs]) << WORD_BITS) | Wide::from(u[limbs - 1]);
    // D3: the trial digit, at most one too large after the test with the
    // second limb. u's top limb is at most n's (value < n).
    let (mut digit, mut remainder) = if Wide::from(u[limbs]) >= top {
        let digit = Wide::from(Word::MAX);
        (digit, numerator - digit * top)
    } else {
        (numerator / top, numerator % top)
    };
    if limbs >= 2 {
        let second = Wide::from(n[limbs - 2]);
        while remainder <= Wide::from(Word::MAX)
            && digit * second > ((remainder << WORD_BITS) | Wide::from(u[limbs - 2]))
        {
            digit -= 1;
            remainder += top;
        }
    }
    let digit = digit as Word;
    // D4: u -= digit * n.
    let mut carry: Word = 0;
    let mut borrow = false;
    for (u_j, &n_j) in u.iter_mut().zip(n) {
        let product = Wide::from(digit) * Wide::from(n_j) + Wide::from(carry);
        carry = (product >> WORD_BITS) as Word;
        let (difference, borrow_1) = u_j.overflowing_sub(product as Word);
        let (difference, borrow_2) = difference.overflowing_sub(Word::from(borrow));
        *u_j = difference;
        borrow = borrow_1 || borrow_2;
    }
    let (difference, borrow_1) = u[limbs].overflowing_sub(carry);
    let (_, borrow_2) = difference.overflowing_sub(Word::from(borrow));
    // D6: the digit was one too large; add n back (the top limb then is 0).
    if borrow_1 || borrow_2 {
        let mut carry = false;
        for (u_j, &n_j) in u.iter_mut().zip(n) {
            let (sum, carry_1) = u_j.overflowing_add(n_j);
            let (sum, carry_2) = sum.overflowing_add(Word::from(carry));
            *u_j = sum;
            carry = carry_1 || carry_2;
        }
    }
    value.copy_from_slice(&u[..limbs]);
}

/// `out = value << shift` (shift below WORD_BITS), the bits shifted out of
/// the top limb dropped.
fn shift_left(out: &mut [Word], value: &[Word], shift: u32) {
    let mut carry: Word = 0;
    for (o, &v) in out.iter_mut().zip(value) {
        *o = (v << shift) | carry;
        carry = if shift == 0 {
            0
        } else {
            v >> (WORD_BITS - shift)
        };
    }
}

/// `out = value >> shift` (shift below WORD_BITS).
fn shift_right(out: &mut [Word], value: &[Word], shift: u32) {
    let mut carry: Word = 0;
    for (o, &v) in out.iter_mut().zip(value).rev() {
        *o = (v >> shift) | carry;
        carry = if shift == 0 {
            0
        } else {
            v << (WORD_BITS - shift)
        };
    }
}

/// The number 1.
fn one() -> Limbs {
    let mut value = [0; MAX_LIMBS];
    value[0] = 1;
    value
}

/// Reads big-endian `bytes` into little-endian limbs (the rest zero).
fn read_be(bytes: &[u8], out: &mut Limbs) {
    out.fill(0);
    for (word, chunk) in out.iter_mut().zip(bytes.rchunks(WORD_BYTES)) {
        *word = chunk
            .iter()
            .fold(0, |acc: Word, byte| (acc << 8) | Word::from(*byte));
    }
}

/// Writes the low `out.len()` bytes of `value` big-endian into `out`.
fn write_be(value: &Limbs, out: &mut [u8]) {
    let little_endian = value.iter().flat_map(|word| word.to_le_bytes());
    for (target, source) in out.iter_mut().rev().zip(little_endian) {
        *target = source;
    }
}

/// `a < b`, both of the same number of limbs.
fn less_than(a: &[Word], b: &[Word]) -> bool {
    for (x, y) in a.iter().rev().zip(b.iter().rev()) {
        if x != y {
            return x < y;
        }
    }
    false
}

/// `out = a - b` (a >= b, or a plus a carry limb above it).
fn subtract(out: &mut [Word], a: &[Word], b: &[Word]) {
    let mut borrow = false;
    for ((o, &x), &y) in out.iter_mut().zip(a).zip(b) {
        let (difference, borrow_1) = x.overflowing_sub(y);
        let (difference, borrow_2) = difference.overflowing_sub(Word::from(borrow));
        *o = difference;
        borrow = borrow_1 || borrow_2;
    }
}
