//! Offline enciphered PIN (Book 2, section 7; EMV 4.4 Book 2, 13 for ECC):
//! the PIN encipherment key and the enciphered PIN data sent in VERIFY.

use super::recover::{self, icc_key_for_card};
use super::{
    tags, xda, CardData, CertifiedKey, EccPublicKey, OdaFailure, PublicKey, StaticData, Terminal,
};
use crate::crypto::{CryptoError, CryptoProvider};
use crate::limits::MAX_RSA_MODULUS_BYTES;

/// The key a PIN is enciphered with: RSA (Book 2, 7) or, for a card whose
/// certificates are ECC, an ECC key agreement key (EMV 4.4 Book 2, 13).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PinKey {
    /// The ICC PIN Encipherment Public Key or the ICC Public Key.
    Rsa(PublicKey),
    /// The ICC ECC PIN encipherment key (certificate 9F2D, suite `00` or `01`).
    Ecc(EccPublicKey),
}

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
    let (key, source) = rsa_pin_key_for_card(crypto, terminal, card, static_data)?;
    Ok((key, source))
}

/// Book 2, 7.1 and EMV 4.4 Book 2, 13.1: the key to encipher the PIN with,
/// RSA or ECC. The card's certificates are ECC when the CA key it names (RID
/// and 8F) is an ECC key; its PIN key is then the ICC ECC PIN encipherment
/// key (9F2D, [`xda::pin_key_for_card`]), recovered with the transaction
/// date and `time` (9F21, BCD `HHMMSS`).
pub fn any_pin_key_for_card<C: CryptoProvider + ?Sized>(
    crypto: &C,
    terminal: &Terminal<'_>,
    time: [u8; 3],
    card: &CardData<'_>,
    static_data: &StaticData<'_>,
) -> Result<(PinKey, PinKeySource), OdaFailure> {
    if xda::card_has_ecc_ca_key(terminal, card) {
        let key = xda::pin_key_for_card(crypto, terminal, time, card, static_data)?;
        return Ok((PinKey::Ecc(key.key), PinKeySource::PinEnciphermentKey));
    }
    let (key, source) = rsa_pin_key_for_card(crypto, terminal, card, static_data)?;
    Ok((PinKey::Rsa(key.key), source))
}

fn rsa_pin_key_for_card<C: CryptoProvider + ?Sized>(
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

/// Bytes of the ECC PIN plaintext: `7F`, the PIN block, the ICC challenge.
const ECC_PIN_PLAINTEXT: usize = 17;
/// Bytes of the MAC of the ECC encryption scheme.
const ECC_MAC: usize = 8;

/// The length of the ECC enciphered PIN data for a key on `curve`:
/// `N_FIELD + 17 + 8` (57 on P-256, 91 on P-521).
pub const fn ecc_enciphered_pin_len(curve: crate::crypto::EccCurve) -> usize {
    curve.field_len() + ECC_PIN_PLAINTEXT + ECC_MAC
}

/// EMV 4.4 Book 2, 13.2 with Annex A2.3 (as we read them; docs/conformance.md
/// "ECC offline PIN"): encipher the PIN block for VERIFY with P2 = `88`
/// under the card's ECC PIN encipherment key `key`.
///
/// 1. An ephemeral key pair `(d, R)` and `Z = x(dQ)` from the provider
///    ([`CryptoProvider::ecc_ephemeral_agreement`]).
/// 2. Key derivation (A2.3.2): `K_DK = CMAC(0^128, Z)`, `Z` left-padded with
///    zeros to a multiple of 16 bytes (80 bytes on P-521); then
///    `K_i = AES(K_DK)[i || 01 00 || UN || A5 A5 A5 || 02 00]`, `UN` the ICC
///    challenge; `K_1` enciphers, `K_2` authenticates.
/// 3. Encrypt-then-MAC (A2.3.3) with counter `N = 0`, no associated data:
///    `C* = P XOR AES-CTR(K_1)`, the counter block being `N` (2 bytes) then
///    the block number (14 bytes), and `MAC = CMAC(K_2, 0^64 || SV || C*)`
///    truncated to 8 bytes, `SV = N || 0^112`; `P = 7F || PIN block || UN`.
/// 4. The data are `x(R) || C* || MAC`.
///
/// Writes [`ecc_enciphered_pin_len`] bytes into `out` and returns that
/// length. The shared secret, the derived keys and the plaintext are wiped.
pub fn encipher_pin_block_ecc<C: CryptoProvider + ?Sized>(
    crypto: &C,
    key: &EccPublicKey,
    pin_block: &[u8; 8],
    icc_unpredictable_number: &[u8; 8],
    out: &mut [u8],
) -> Result<usize, CryptoError> {
    let field = key.curve.field_len();
    let total = ecc_enciphered_pin_len(key.curve);
    let out = out.get_mut(..total).ok_or(CryptoError::OutputLength)?;
    let (ephemeral_x, rest) = out.split_at_mut(field);
    let (ciphertext, mac_out) = rest.split_at_mut(ECC_PIN_PLAINTEXT);

    // Z, right-aligned in a multiple of the AES block (A2.3.2 step c).
    let mut z = [0u8; 80];
    let z_len = field.div_ceil(16) * 16;
    let z = z.get_mut(..z_len).ok_or(CryptoError::OutputLength)?;
    let shared = z
        .get_mut(z_len - field..)
        .ok_or(CryptoError::OutputLength)?;
    let agreed = crypto.ecc_ephemeral_agreement(key.curve, &key.x, ephemeral_x, shared);
    let derivation_key = agreed.and_then(|()| crypto.aes128_cmac(&[0u8; 16], &[z]));
    z.fill(0);
    let mut derivation_key = derivation_key?;

    let mut keys = [[0u8; 16]; 2];
    let mut derived = Ok(());
    for (index, session_key) in (1u8..).zip(keys.iter_mut()) {
        let [u0, u1, u2, u3, u4, u5, u6, u7] = *icc_unpredictable_number;
        *session_key = [
            index, 0x01, 0x00, u0, u1, u2, u3, u4, u5, u6, u7, 0xA5, 0xA5, 0xA5, 0x02, 0x00,
        ];
        derived = derived.and_then(|()| crypto.aes128_encrypt_block(&derivation_key, session_key));
    }
    derivation_key.fill(0);
    let [mut encryption_key, mut mac_key] = keys;
    keys.iter_mut().for_each(|key| key.fill(0));

    let mut plaintext = [0u8; ECC_PIN_PLAINTEXT];
    for (target, byte) in plaintext.iter_mut().zip(
        [0x7F]
            .iter()
            .chain(pin_block.iter())
            .chain(icc_unpredictable_number.iter()),
    ) {
        *target = *byte;
    }
    let mut result = derived;
    for (block_number, (chunk, output)) in
        (0u128..).zip(plaintext.chunks(16).zip(ciphertext.chunks_mut(16)))
    {
        // Counter block: N = 0 in the first two bytes, the block number in
        // the other fourteen (A2.3.3 step g).
        let mut stream = (block_number & ((1 << 112) - 1)).to_be_bytes();
        result = result.and_then(|()| crypto.aes128_encrypt_block(&encryption_key, &mut stream));
        for ((target, byte), pad) in output.iter_mut().zip(chunk).zip(stream) {
            *target = byte ^ pad;
        }
        stream.fill(0);
    }
    plaintext.fill(0);
    encryption_key.fill(0);
    let starting_variable = [0u8; 16];
    let mac = result
        .and_then(|()| crypto.aes128_cmac(&mac_key, &[&[0u8; 8], &starting_variable, ciphertext]));
    mac_key.fill(0);
    let mac = match mac {
        Ok(mac) => mac,
        Err(error) => {
            out.fill(0);
            return Err(error);
        }
    };
    for (target, byte) in mac_out.iter_mut().zip(mac) {
        *target = byte;
    }
    Ok(total)
}
