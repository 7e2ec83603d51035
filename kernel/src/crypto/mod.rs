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
//! Both providers verify EC-SDSA signatures (XDA, EMV 4.4 Book 2) with
//! [`ecc`] (feature `ecc`, which both features turn on): RustCrypto `p256` and
//! `p521` arithmetic, our EC-SDSA on top.
//!
//! With neither feature the caller implements [`CryptoProvider`] itself.

use crate::limits::MAX_RSA_MODULUS_BYTES;

/// Length of a SHA-1 digest in bytes.
pub const SHA1_LEN: usize = 20;
/// Length of a SHA-256 digest in bytes.
pub const SHA256_LEN: usize = 32;
/// Length of a SHA-512 digest in bytes.
pub const SHA512_LEN: usize = 64;

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
    /// The provider does not implement this operation (a provider written
    /// before the elliptic-curve operations were added to the trait).
    Unsupported,
    /// An elliptic-curve public key is not the x-coordinate of a point on its
    /// curve, or has the wrong length for it.
    InvalidPoint,
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
            CryptoError::Unsupported => f.write_str("the crypto provider does not implement this operation"),
            CryptoError::InvalidPoint => f.write_str("the elliptic-curve public key is not a point on its curve"),
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

    /// SHA-512 over the concatenation of `parts` (EMV 4.4 Book 2: the ICCD
    /// hash of an ICC ECC certificate may use it, hash algorithm indicator
    /// `03`). Defaults to [`CryptoError::Unsupported`].
    fn sha512(&self, parts: &[&[u8]]) -> Result<[u8; SHA512_LEN], CryptoError> {
        let _ = parts;
        Err(CryptoError::Unsupported)
    }

    /// EC-SDSA verification (ISO/IEC 14888-3; EMV 4.4 Book 2, XDA) of
    /// `signature` (`r || s`) over the concatenation of `message`, with the
    /// public key whose x-coordinate is `public_key_x` on `curve` (SHA-256 on
    /// P-256, SHA-512 on P-521). See [`ecc`] for the construction.
    ///
    /// `Ok(false)` when the signature does not verify; an error when the key
    /// is not a point ([`CryptoError::InvalidPoint`]). The default, for
    /// providers written before XDA, is [`CryptoError::Unsupported`]: XDA then
    /// fails as a card whose signature cannot be checked would.
    fn ec_sdsa_verify(
        &self,
        curve: EccCurve,
        public_key_x: &[u8],
        message: &[&[u8]],
        signature: &[u8],
    ) -> Result<bool, CryptoError> {
        let _ = (curve, public_key_x, message, signature);
        Err(CryptoError::Unsupported)
    }

    /// Whether `x` is the x-coordinate of a point on `curve` (Book 2 Annex B2):
    /// `Ok(())`, or [`CryptoError::InvalidPoint`]. Defaults to
    /// [`CryptoError::Unsupported`].
    fn ecc_check_point(&self, curve: EccCurve, x: &[u8]) -> Result<(), CryptoError> {
        let _ = (curve, x);
        Err(CryptoError::Unsupported)
    }

    /// Elliptic-curve Diffie-Hellman with a fresh ephemeral key, for ECC
    /// offline PIN encipherment (EMV 4.4 Book 2, 13.2 and Annex A2.3.2 as we
    /// read them, docs/conformance.md "ECC offline PIN"): draw an ephemeral
    /// private key `d` (`1 <= d < n`) from this provider's random source, write
    /// `x(dG)` into `ephemeral_x` and `x(dQ)` into `shared_x` (`N_FIELD`
    /// bytes each), `Q` being the point whose x-coordinate is `peer_x`; `d`
    /// is not kept. Defaults to [`CryptoError::Unsupported`]: the PIN method
    /// then fails as for a PIN pad that cannot encipher (Book 3, 10.5.1).
    fn ecc_ephemeral_agreement(
        &self,
        curve: EccCurve,
        peer_x: &[u8],
        ephemeral_x: &mut [u8],
        shared_x: &mut [u8],
    ) -> Result<(), CryptoError> {
        let _ = (curve, peer_x, ephemeral_x, shared_x);
        Err(CryptoError::Unsupported)
    }

    /// AES-128 encryption of one block in place (Book 2 Annex A2.3: key
    /// derivation and counter mode). Defaults to [`CryptoError::Unsupported`].
    fn aes128_encrypt_block(
        &self,
        key: &[u8; 16],
        block: &mut [u8; 16],
    ) -> Result<(), CryptoError> {
        let _ = (key, block);
        Err(CryptoError::Unsupported)
    }

    /// AES-128 CMAC (NIST SP 800-38B) over the concatenation of `parts`
    /// (Book 2 Annex A2.3: the key-derivation key and the MAC). Defaults to
    /// [`CryptoError::Unsupported`].
    fn aes128_cmac(&self, key: &[u8; 16], parts: &[&[u8]]) -> Result<[u8; 16], CryptoError> {
        let _ = (key, parts);
        Err(CryptoError::Unsupported)
    }
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
    fn ec_sdsa_verify(
        &self,
        curve: EccCurve,
        public_key_x: &[u8],
        message: &[&[u8]],
        signature: &[u8],
    ) -> Result<bool, CryptoError> {
        (**self).ec_sdsa_verify(curve, public_key_x, message, signature)
    }
    fn ecc_check_point(&self, curve: EccCurve, x: &[u8]) -> Result<(), CryptoError> {
        (**self).ecc_check_point(curve, x)
    }
    fn sha512(&self, parts: &[&[u8]]) -> Result<[u8; SHA512_LEN], CryptoError> {
        (**self).sha512(parts)
    }
    fn ecc_ephemeral_agreement(
        &self,
        curve: EccCurve,
        peer_x: &[u8],
        ephemeral_x: &mut [u8],
        shared_x: &mut [u8],
    ) -> Result<(), CryptoError> {
        (**self).ecc_ephemeral_agreement(curve, peer_x, ephemeral_x, shared_x)
    }
    fn aes128_encrypt_block(
        &self,
        key: &[u8; 16],
        block: &mut [u8; 16],
    ) -> Result<(), CryptoError> {
        (**self).aes128_encrypt_block(key, block)
    }
    fn aes128_cmac(&self, key: &[u8; 16], parts: &[&[u8]]) -> Result<[u8; 16], CryptoError> {
        (**self).aes128_cmac(key, parts)
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

#[cfg(feature = "ecc")]
pub mod ecc;

#[cfg(feature = "ecc")]
pub mod symmetric;

mod curve;
pub use curve::{EccCurve, MAX_ECC_FIELD_BYTES, MAX_ECC_SIGNATURE_BYTES};

#[cfg(feature = "portable-crypto")]
mod portable;
#[cfg(feature = "portable-crypto")]
pub use portable::{NoRandom, PortableCrypto, RandomSource};

#[cfg(feature = "ring-crypto")]
mod ring;
#[cfg(feature = "ring-crypto")]
pub use self::ring::RingCrypto;

// Tests: kernel/tests/crypto_providers.rs.
