//! What the scripted-card rule tests share (`review_rules.rs`,
//! `rules_ics.rs`): the provider with a fixed random source, a TLV builder
//! and the Cryptogram Information Data of each cryptogram type.
#![allow(dead_code)]

use emv_kernel::crypto::{CryptoError, PortableCrypto};
use emv_kernel::tlv::{self, Tag};

/// The default provider with a fixed random source (PIN padding in tests only).
pub type TestCrypto = PortableCrypto<fn(&mut [u8]) -> Result<(), CryptoError>>;

pub fn test_crypto() -> TestCrypto {
    PortableCrypto::new(|out: &mut [u8]| {
        out.fill(0xA5);
        Ok(())
    })
}

/// One data object, tag and length coded by the kernel's writer.
pub fn tlv(tag: u32, value: &[u8]) -> Vec<u8> {
    let mut buf = [0u8; 1024];
    let mut writer = tlv::Writer::new(&mut buf);
    writer.push(Tag(tag), value).unwrap();
    writer.as_bytes().to_vec()
}

/// Cryptogram Information Data for each cryptogram type (Book 3, Annex C6).
pub const AAC: u8 = 0x00;
pub const TC: u8 = 0x40;
pub const ARQC: u8 = 0x80;
