//! The `ring` provider, for targets with an operating system (feature
//! `ring-crypto`): `ring`'s SHA-1 and SHA-256, the operating system's random
//! source through `ring`, and RSA from [`super::rsa`] (`ring` has no raw RSA
//! public operation).

use super::{
    ecc, rsa, symmetric, CryptoError, CryptoProvider, EccCurve, SHA1_LEN, SHA256_LEN, SHA512_LEN,
};
use ring::digest;
use ring::rand::{SecureRandom, SystemRandom};

/// The `ring` provider: `ring` digests, system randomness, our RSA.
#[derive(Clone, Debug)]
pub struct RingCrypto {
    random: SystemRandom,
}

impl RingCrypto {
    /// A provider drawing randomness from the operating system.
    pub fn new() -> Self {
        Self {
            random: SystemRandom::new(),
        }
    }
}

impl Default for RingCrypto {
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

impl CryptoProvider for RingCrypto {
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
        rsa::public_operation(modulus, exponent, input, output)
    }

    fn random(&self, out: &mut [u8]) -> Result<(), CryptoError> {
        self.random
            .fill(out)
            .map_err(|_| CryptoError::RandomUnavailable)
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
        let mut out = [0u8; SHA512_LEN];
        digest_parts(&digest::SHA512, parts, &mut out);
        Ok(out)
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
