//! Offline enciphered PIN (Book 2, section 7): the PIN encipherment key and
//! the enciphered PIN block sent in VERIFY.

use super::recover::{self, icc_key_for_card};
use super::{tags, CardData, CertifiedKey, OdaFailure, PublicKey, StaticData, Terminal};
use crate::crypto::{CryptoError, CryptoProvider};
use crate::limits::MAX_RSA_MODULUS_BYTES;

/// Which key the PIN is enciphered with (Book 2, 7.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PinKeySource {
    /// The ICC PIN Encipherment Public Key (certificate 9F2D).
    PinEnciphermentKey,
    /// The ICC Public Key (certificate 9F46), when the card has no PIN key.
    IccKey,
}

/// Book 2, 7.1: recover the key to encipher the PIN with.
///
/// If the card has an ICC PIN Encipherment Public Key Certificate (9F2D), that
/// key is recovered (its exponent 9F2E is then required); otherwise the ICC
/// Public Key is used (recovered as for DDA, over the static data).
pub fn pin_key_for_card<C: CryptoProvider + ?Sized>(
    crypto: &C,
    terminal: &Terminal<'_>,
    card: &CardData<'_>,
    static_data: &StaticData<'_>,
) -> Result<(CertifiedKey, PinKeySource), OdaFailure> {
    let Some(certificate) = card.icc_pin_encipherment_public_key_certificate else {
        if card.icc_public_key_certificate.is_none() {
            return Err(OdaFailure::Missing(
                tags::ICC_PIN_ENCIPHERMENT_PUBLIC_KEY_CERTIFICATE,
            ));
        }
        let key = icc_key_for_card(crypto, terminal, card, static_data)?;
        return Ok((key, PinKeySource::IccKey));
    };
    let exponent = card
        .icc_pin_encipherment_public_key_exponent
        .ok_or(OdaFailure::Missing(
            tags::ICC_PIN_ENCIPHERMENT_PUBLIC_KEY_EXPONENT,
        ))?;
    let issuer = recover::issuer_key_for_card(crypto, terminal, card)?;
    let pan = card
        .application_pan
        .ok_or(OdaFailure::Missing(tags::APPLICATION_PAN))?;
    let certificate = recover::KeyCertificate {
        certificate,
        remainder: card.icc_pin_encipherment_public_key_remainder,
        exponent,
    };
    let key = recover::recover_icc_pin_key(
        crypto,
        &issuer.key,
        &certificate,
        pan,
        terminal.transaction_date,
    )?;
    Ok((key, PinKeySource::PinEnciphermentKey))
}

/// Book 3, 6.5.12 (VERIFY): the plaintext PIN block, control `2`, PIN length,
/// the PIN digits and `F` filler. `None` unless the PIN has 4 to 12 digits,
/// each 0-9.
pub fn plaintext_pin_block(pin_digits: &[u8]) -> Option<[u8; 8]> {
    if !(4..=12).contains(&pin_digits.len()) || pin_digits.iter().any(|digit| *digit > 9) {
        return None;
    }
    let length = u8::try_from(pin_digits.len()).ok()?;
    let nibbles = [0x2, length]
        .into_iter()
        .chain(pin_digits.iter().copied())
        .chain(core::iter::repeat(0xF));
    let mut block = [0u8; 8];
    let mut nibbles = nibbles;
    for byte in block.iter_mut() {
        let high = nibbles.next().unwrap_or(0xF);
        let low = nibbles.next().unwrap_or(0xF);
        *byte = (high << 4) | low;
    }
    Some(block)
}

/// Book 2, 7.2: encipher the PIN block for VERIFY with P2 = `88`.
///
/// The data enciphered are `7F`, the PIN block (8 bytes), the ICC
/// Unpredictable Number from GET CHALLENGE (8 bytes), and N - 17 random pad
/// bytes, N being the key's modulus length. Writes N bytes into `out` and
/// returns N.
pub fn encipher_pin_block<C: CryptoProvider + ?Sized>(
    crypto: &C,
    key: &PublicKey,
    pin_block: &[u8; 8],
    icc_unpredictable_number: &[u8; 8],
    out: &mut [u8],
) -> Result<usize, CryptoError> {
    let modulus_len = key.len();
    let mut data = [0u8; MAX_RSA_MODULUS_BYTES];
    let data = data
        .get_mut(..modulus_len)
        .ok_or(CryptoError::InvalidModulus)?;
    let (head, pad) = data
        .split_at_mut_checked(17)
        .ok_or(CryptoError::InvalidModulus)?;
    for (target, source) in head.iter_mut().zip(
        [0x7F]
            .iter()
            .chain(pin_block.iter())
            .chain(icc_unpredictable_number.iter()),
    ) {
        *target = *source;
    }
    crypto.random(pad)?;
    let output = out
        .get_mut(..modulus_len)
        .ok_or(CryptoError::OutputLength)?;
    crypto.rsa_public(&key.modulus, &key.exponent, data, output)?;
    Ok(modulus_len)
}
