//! Book 2, section 7: offline enciphered PIN.

mod oda_support;

use emv_kernel::crypto::{CryptoError, PortableCrypto};
use emv_kernel::oda::pin::{encipher_pin_block, plaintext_pin_block};
use emv_kernel::oda::PublicKey;
use oda_support::*;
use std::sync::atomic::{AtomicU8, Ordering};

/// The default provider with a test random source: a counter, so that two
/// encipherments differ (PIN padding in tests only).
type TestCrypto = PortableCrypto<fn(&mut [u8]) -> Result<(), CryptoError>>;

fn test_crypto() -> TestCrypto {
    static DRAWS: AtomicU8 = AtomicU8::new(0);
    PortableCrypto::new(|out: &mut [u8]| {
        out.fill(DRAWS.fetch_add(1, Ordering::Relaxed));
        Ok(())
    })
}

const ICC_UNPREDICTABLE_NUMBER: [u8; 8] = [0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88];

#[test]
fn plaintext_pin_block_layout() {
    assert_eq!(
        plaintext_pin_block(&[1, 2, 3, 4]),
        Some([0x24, 0x12, 0x34, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF])
    );
    assert_eq!(
        plaintext_pin_block(&[1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 1, 2]),
        Some([0x2C, 0x12, 0x34, 0x56, 0x78, 0x90, 0x12, 0xFF])
    );
    assert_eq!(plaintext_pin_block(&[1, 2, 3]), None);
    assert_eq!(plaintext_pin_block(&[1; 13]), None);
    assert_eq!(plaintext_pin_block(&[1, 2, 3, 10]), None);
}

#[test]
fn enciphered_pin_deciphers_to_the_book_2_layout() {
    let key = icc_768();
    let pin_block = plaintext_pin_block(&[1, 2, 3, 4]).unwrap();
    let crypto = test_crypto();
    let mut first = [0u8; 248];
    let len = encipher_pin_block(
        &crypto,
        &key.public(),
        &pin_block,
        &ICC_UNPREDICTABLE_NUMBER,
        &mut first,
    )
    .unwrap();
    assert_eq!(len, 96);
    let plaintext = key.decrypt(&first[..len]);
    assert_eq!(plaintext[0], 0x7F);
    assert_eq!(plaintext[1..9], pin_block);
    assert_eq!(plaintext[9..17], ICC_UNPREDICTABLE_NUMBER);
    assert_eq!(plaintext.len() - 17, 79);

    // The pad is random: a second encipherment differs.
    let mut second = [0u8; 96];
    encipher_pin_block(
        &crypto,
        &key.public(),
        &pin_block,
        &ICC_UNPREDICTABLE_NUMBER,
        &mut second,
    )
    .unwrap();
    assert_ne!(first[..96], second[..]);
    assert_eq!(key.decrypt(&second)[..17], plaintext[..17]);
}

#[test]
fn encipherment_refuses_small_keys_and_buffers() {
    let crypto = test_crypto();
    let pin_block = plaintext_pin_block(&[1, 2, 3, 4]).unwrap();
    let small = PublicKey::new(&[0xFF; 16], &[3]).unwrap();
    assert_eq!(
        encipher_pin_block(
            &crypto,
            &small,
            &pin_block,
            &ICC_UNPREDICTABLE_NUMBER,
            &mut [0u8; 16]
        ),
        Err(CryptoError::InvalidModulus)
    );
    let key = icc_768().public();
    assert_eq!(
        encipher_pin_block(
            &crypto,
            &key,
            &pin_block,
            &ICC_UNPREDICTABLE_NUMBER,
            &mut [0u8; 95]
        ),
        Err(CryptoError::OutputLength)
    );
}
