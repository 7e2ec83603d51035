//! AES-128 and AES-CMAC for ECC offline PIN encipherment (EMV 4.4 Book 2,
//! Annex A2.3: the key derivation and the encrypt-then-MAC scheme), on
//! RustCrypto's `aes` and `cmac` crates. No heap.

use aes::cipher::{BlockCipherEncrypt, KeyInit};
use cmac::Mac;

/// AES-128 encryption of one block in place (FIPS 197).
pub fn encrypt_block(key: &[u8; 16], block: &mut [u8; 16]) {
    let cipher = aes::Aes128::new(key.into());
    cipher.encrypt_block(block.into());
}

/// AES-128 CMAC (NIST SP 800-38B) over the concatenation of `parts`.
pub fn cmac(key: &[u8; 16], parts: &[&[u8]]) -> [u8; 16] {
    let mut mac = <cmac::Cmac<aes::Aes128> as KeyInit>::new(key.into());
    for part in parts {
        mac.update(part);
    }
    mac.finalize().into_bytes().into()
}
