//! The portable provider: any target, `no_std`, no heap.
//!
//! SHA-1 and SHA-256 from the RustCrypto `sha1` and `sha2` crates (pure Rust,
//! with the CPU's SHA instructions where the crates detect them), RSA from
//! [`super::rsa`], and random bytes from a [`RandomSource`] the caller supplies:
//! the kernel never reads a random source of its own.

use super::{
    ecc, rsa, symmetric, CryptoError, CryptoProvider, EccCurve, SHA1_LEN, SHA256_LEN, SHA512_LEN,
};
use sha1::Digest as _;

/// Where the random bytes of enciphered PIN padding come from (Book 2, 7.2).
///
/// The caller's hardware generator, a DRBG it seeds, or the operating system.
/// Any `Fn(&mut [u8]) -> Result<(), CryptoError>` is a source.
pub trait RandomSource {
    /// Fill `out` with unpredictable bytes, or say the source failed.
    fn fill(&self, out: &mut [u8]) -> Result<(), CryptoError>;
}

impl<F: Fn(&mut [u8]) -> Result<(), CryptoError>> RandomSource for F {
    fn fill(&self, out: &mut [u8]) -> Result<(), CryptoError> {
        self(out)
    }
}

/// No random source: for terminals that do not support offline enciphered
/// PIN (Terminal Capabilities byte 2 b5 and b3 clear).
///
/// Every request for random bytes fails with
/// [`CryptoError::RandomUnavailable`]; if a card still leads the kernel to
/// encipher a PIN, that PIN method fails as the PIN pad would (Book 3, 10.5.1).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct NoRandom;

impl RandomSource for NoRandom {
    fn fill(&self, _out: &mut [u8]) -> Result<(), CryptoError> {
        Err(CryptoError::RandomUnavailable)
    }
}

/// The portable provider (feature `portable-crypto`, on by default).
///
/// ```
/// use emv_kernel::crypto::{CryptoProvider, NoRandom, PortableCrypto};
///
/// let crypto = PortableCrypto::new(NoRandom);
/// assert_eq!(crypto.sha1(&[b"ab", b"c"])[..4], [0xa9, 0x99, 0x3e, 0x36]);
/// ```
#[derive(Clone, Copy, Debug)]
pub struct PortableCrypto<R> {
    random: R,
}

impl<R: RandomSource> PortableCrypto<R> {
    /// A provider drawing random bytes from `random`.
    pub const fn new(random: R) -> Self {
        Self { random }
    }

    /// The random source.
    pub fn random_source(&self) -> &R {
        &self.random
    }
}

impl<R: RandomSource> CryptoProvider for PortableCrypto<R> {
    fn sha1(&self, parts: &[&[u8]]) -> [u8; SHA1_LEN] {
        let mut hasher = sha1::Sha1::new();
        for part in parts {
            hasher.update(part);
        }
        hasher.finalize().into()
    }

    fn sha256(&self, parts: &[&[u8]]) -> [u8; SHA256_LEN] {
        let mut hasher = sha2::Sha256::new();
        for part in parts {
            hasher.update(part);
        }
        hasher.finalize().into()
    }

    fn rsa_public(
        &self,
        modulus: &[u8],
        exponent: &[u8],
        input: &[u8],
        output: &mut [u8],
    ) -> Result<(), CryptoError> {
        rsa::public_operation(modulus, exponent, input, output)
    }

    fn random(&self, out: &mut [u8]) -> Result<(), CryptoError> {
        self.random.fill(out)
    }

    fn ec_sdsa_verify(
        &self,
        curve: EccCurve,
        public_key_x: &[u8],
        message: &[&[u8]],
        signature: &[u8],
    ) -> Result<bool, CryptoError> {
        ecc::ec_sdsa_verify(curve, public_key_x, message, signature)
    }

    fn sha512(&self, parts: &[&[u8]]) -> Result<[u8; SHA512_LEN], CryptoError> {
        let mut hasher = sha2::Sha512::new();
        for part in parts {
            hasher.update(part);
        }
        Ok(hasher.finalize().into())
    }

    fn ecc_check_point(&self, curve: EccCurve, x: &[u8]) -> Result<(), CryptoError> {
        ecc::point_from_x(curve, x)
    }

    fn ecc_ephemeral_agreement(
        &self,
        curve: EccCurve,
        peer_x: &[u8],
        ephemeral_x: &mut [u8],
        shared_x: &mut [u8],
    ) -> Result<(), CryptoError> {
        ecc::ephemeral_agreement(
            curve,
            peer_x,
            &mut |out: &mut [u8]| self.random(out),
            ephemeral_x,
            shared_x,
        )
    }

    fn aes128_encrypt_block(
        &self,
        key: &[u8; 16],
        block: &mut [u8; 16],
    ) -> Result<(), CryptoError> {
        symmetric::encrypt_block(key, block);
        Ok(())
    }

    fn aes128_cmac(&self, key: &[u8; 16], parts: &[&[u8]]) -> Result<[u8; 16], CryptoError> {
        Ok(symmetric::cmac(key, parts))
    }
}
