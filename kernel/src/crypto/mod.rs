//! The cryptography the caller provides to the kernel, and two providers.
//!
//! The kernel never hashes, exponentiates or draws random bytes itself: it asks a
//! [`CryptoProvider`]. Offline data authentication (Book 2, sections 5 and 6) needs
//! SHA-1 and the RSA public operation ("recovery"); offline enciphered PIN (Book 2,
//! section 7) needs the same RSA operation and random padding. SHA-256 is offered for
//! providers and callers that need it (for example journal digests).
//!
//! | feature | provider | digests | RSA | random bytes | targets |
//! | --- | --- | --- | --- | --- | --- |
//! | `portable-crypto` (default) | [`PortableCrypto`] | RustCrypto `sha1`, `sha2` | [`rsa`] | the caller's [`RandomSource`] | any, `no_std`, no heap |
//! | `ring-crypto` | [`RingCrypto`] | `ring` | [`rsa`] | the operating system | those `ring` supports, with `std` |
//!
//! With neither feature the caller implements [`CryptoProvider`] itself.

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

#[cfg(any(feature = "portable-crypto", feature = "ring-crypto"))]
pub mod rsa;

#[cfg(feature = "portable-crypto")]
mod portable;
#[cfg(feature = "portable-crypto")]
pub use portable::{NoRandom, PortableCrypto, RandomSource};

#[cfg(feature = "ring-crypto")]
mod ring;
#[cfg(feature = "ring-crypto")]
pub use self::ring::RingCrypto;

// Tests: kernel/tests/crypto_providers.rs.
