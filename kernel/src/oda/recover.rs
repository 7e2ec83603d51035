//! RSA recovery and the public key certificates of Book 2: issuer (5.3, 6.3),
//! ICC (6.4) and ICC PIN encipherment (7.1).
//!
//! Recovery runs into a stack buffer sized for the largest modulus; the checks
//! follow the numbered steps of Book 2 in order, and the first one that fails
//! is reported as its own [`CertificateCheck`] variant.

use super::capk::CaKeyLookup;
use super::{
    bcd, full_year, tags, CaPublicKey, CardData, CertificateCheck, Date, OdaFailure, PublicKey,
    RevocationList, StaticData, Terminal, HASH_ALGORITHM_SHA1, PUBLIC_KEY_ALGORITHM_RSA,
    RECOVERED_DATA_HEADER, RECOVERED_DATA_TRAILER,
};
use crate::crypto::{CryptoError, CryptoProvider, SHA1_LEN};
use crate::limits::MAX_RSA_MODULUS_BYTES;
use crate::tlv::Tag;

/// Bytes after the certified key field: hash result (20) and trailer (1).
const HASH_AND_TRAILER: usize = SHA1_LEN + 1;

/// A public key recovered from a certificate, with the certificate's facts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CertifiedKey {
    /// The recovered public key (modulus assembled from the certificate and
    /// the remainder).
    pub key: PublicKey,
    /// Certificate Serial Number.
    pub certificate_serial_number: [u8; 3],
    /// Certificate Expiration Date, BCD `MMYY`.
    pub certificate_expiration_date: [u8; 2],
}

/// Why the RSA recovery of signed data could not be carried out or framed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum RecoveryError {
    /// Signed data length differs from the modulus length.
    Length,
    /// Trailer is not `BC`.
    Trailer,
    /// Header is not `6A`.
    Header,
    /// The provider refused (for example, the value is not below the modulus).
    Crypto(CryptoError),
}

/// Book 2, Annex B2.1 recovery and steps 1-3 common to every certificate and
/// signature: the length equals the key's modulus length, the recovered data
/// ends with `BC` and starts with `6A`. Returns the recovered bytes.
pub(crate) fn recover<'b, C: CryptoProvider + ?Sized>(
    crypto: &C,
    key: &PublicKey,
    signed: &[u8],
    buffer: &'b mut [u8; MAX_RSA_MODULUS_BYTES],
) -> Result<&'b [u8], RecoveryError> {
    if signed.len() != key.len() {
        return Err(RecoveryError::Length);
    }
    let recovered = buffer
        .get_mut(..signed.len())
        .ok_or(RecoveryError::Length)?;
    crypto
        .rsa_public(&key.modulus, &key.exponent, signed, recovered)
        .map_err(RecoveryError::Crypto)?;
    if recovered.last() != Some(&RECOVERED_DATA_TRAILER) {
        return Err(RecoveryError::Trailer);
    }
    if recovered.first() != Some(&RECOVERED_DATA_HEADER) {
        return Err(RecoveryError::Header);
    }
    Ok(recovered)
}

/// A forward-only reader over recovered bytes; every read is bounds-checked.
pub(crate) struct Reader<'a>(pub(crate) &'a [u8]);

impl<'a> Reader<'a> {
    pub(crate) fn take(&mut self, count: usize) -> Option<&'a [u8]> {
        let (taken, rest) = self.0.split_at_checked(count)?;
        self.0 = rest;
        Some(taken)
    }

    pub(crate) fn byte(&mut self) -> Option<u8> {
        let (first, rest) = self.0.split_first()?;
        self.0 = rest;
        Some(*first)
    }

    pub(crate) fn array<const N: usize>(&mut self) -> Option<[u8; N]> {
        self.take(N)?.try_into().ok()
    }
}

/// The two key certificate formats: issuer (`02`) and ICC (`04`).
#[derive(Clone, Copy)]
struct CertificateKind {
    /// Certificate Format byte.
    format: u8,
    /// Bytes of the identifier field: Issuer Identifier (4) or Application PAN (10).
    identifier_len: usize,
    /// The remainder's tag, named when it is needed and absent.
    remainder_tag: Tag,
    /// Which failure wraps a check of this certificate.
    wrap: fn(CertificateCheck) -> OdaFailure,
}

const ISSUER: CertificateKind = CertificateKind {
    format: 0x02,
    identifier_len: 4,
    remainder_tag: tags::ISSUER_PUBLIC_KEY_REMAINDER,
    wrap: OdaFailure::IssuerCertificate,
};

const ICC: CertificateKind = CertificateKind {
    format: 0x04,
    identifier_len: 10,
    remainder_tag: tags::ICC_PUBLIC_KEY_REMAINDER,
    wrap: OdaFailure::IccCertificate,
};

const ICC_PIN: CertificateKind = CertificateKind {
    format: 0x04,
    identifier_len: 10,
    remainder_tag: tags::ICC_PIN_ENCIPHERMENT_PUBLIC_KEY_REMAINDER,
    wrap: OdaFailure::PinCertificate,
};

/// The fields of a recovered key certificate after steps 1-7 passed.
struct RecoveredCertificate {
    identifier: [u8; 10],
    expiration_date: [u8; 2],
    serial_number: [u8; 3],
    public_key_algorithm: u8,
    key: Result<PublicKey, CertificateCheck>,
}

/// A public key certificate as the card supplies it: the certificate, the
/// key remainder (when the card returned one) and the key exponent.
#[derive(Clone, Copy, Debug)]
pub struct KeyCertificate<'a> {
    /// The certificate (90, 9F46 or 9F2D).
    pub certificate: &'a [u8],
    /// The public key remainder (92, 9F48 or 9F2F), if present.
    pub remainder: Option<&'a [u8]>,
    /// The public key exponent (9F32, 9F47 or 9F2E).
    pub exponent: &'a [u8],
}

/// What the card supplied for one key certificate, and the data hashed after it.
#[derive(Clone, Copy)]
struct CertificateInput<'a> {
    certificate: &'a [u8],
    remainder: Option<&'a [u8]>,
    exponent: &'a [u8],
    /// Data hashed after the exponent (static data to be authenticated for the
    /// ICC certificate; empty otherwise).
    extra: [&'a [u8]; 2],
}

/// Steps 1-7 of Book 2, 5.3 and 6.4 (recovery, trailer, header, format, hash
/// algorithm, hash), plus assembly of the certified key (step 12, checked later).
fn recover_certificate<C: CryptoProvider + ?Sized>(
    crypto: &C,
    signer: &PublicKey,
    input: CertificateInput<'_>,
    kind: CertificateKind,
) -> Result<RecoveredCertificate, OdaFailure> {
    let fail = kind.wrap;
    let mut buffer = [0u8; MAX_RSA_MODULUS_BYTES];
    let recovered = match recover(crypto, signer, input.certificate, &mut buffer) {
        Ok(recovered) => recovered,
        Err(RecoveryError::Length) => return Err(fail(CertificateCheck::Length)),
        Err(RecoveryError::Trailer) => return Err(fail(CertificateCheck::Trailer)),
        Err(RecoveryError::Header) => return Err(fail(CertificateCheck::Header)),
        Err(RecoveryError::Crypto(error)) => return Err(OdaFailure::Crypto(error)),
    };
    let signer_len = recovered.len();
    let mut reader = Reader(recovered);
    let too_short = fail(CertificateCheck::Length);
    let _header = reader.byte().ok_or(too_short)?;
    let format = reader.byte().ok_or(too_short)?;
    let identifier_field = reader.take(kind.identifier_len).ok_or(too_short)?;
    let expiration_date: [u8; 2] = reader.array().ok_or(too_short)?;
    let serial_number: [u8; 3] = reader.array().ok_or(too_short)?;
    let hash_algorithm = reader.byte().ok_or(too_short)?;
    let public_key_algorithm = reader.byte().ok_or(too_short)?;
    let key_len = usize::from(reader.byte().ok_or(too_short)?);
    let exponent_len = usize::from(reader.byte().ok_or(too_short)?);
    let digits_len = reader
        .0
        .len()
        .checked_sub(HASH_AND_TRAILER)
        .ok_or(too_short)?;
    let key_digits = reader.take(digits_len).ok_or(too_short)?;
    let hash_result: [u8; SHA1_LEN] = reader.array().ok_or(too_short)?;

    // Step 4.
    if format != kind.format {
        return Err(fail(CertificateCheck::Format));
    }
    // Book 2, 5.1 and 6.1: the remainder is required when the key does not
    // fit in the certificate.
    let remainder = match input.remainder {
        Some(remainder) => remainder,
        None if key_len > digits_len => return Err(OdaFailure::Missing(kind.remainder_tag)),
        None => &[],
    };
    // Step 6: only SHA-1 is defined.
    if hash_algorithm != HASH_ALGORITHM_SHA1 {
        return Err(fail(CertificateCheck::HashAlgorithm));
    }
    // Steps 5 and 7: hash over Certificate Format .. key field, remainder,
    // exponent (and the static data for the ICC certificate).
    let signed_fields = recovered
        .get(1..signer_len.saturating_sub(HASH_AND_TRAILER))
        .ok_or(too_short)?;
    let [extra_first, extra_second] = input.extra;
    let hash = crypto.sha1(&[
        signed_fields,
        remainder,
        input.exponent,
        extra_first,
        extra_second,
    ]);
    if hash != hash_result {
        return Err(fail(CertificateCheck::Hash));
    }

    let mut identifier = [0xFFu8; 10];
    for (target, source) in identifier.iter_mut().zip(identifier_field) {
        *target = *source;
    }
    Ok(RecoveredCertificate {
        identifier,
        expiration_date,
        serial_number,
        public_key_algorithm,
        key: assemble_key(
            key_digits,
            remainder,
            key_len,
            input.exponent,
            exponent_len,
            signer_len,
        ),
    })
}

/// Step 12: the certified modulus is the leftmost key digits, completed by the
/// remainder when the key is longer than the certificate's key field.
fn assemble_key(
    key_digits: &[u8],
    remainder: &[u8],
    key_len: usize,
    exponent: &[u8],
    exponent_len: usize,
    signer_len: usize,
) -> Result<PublicKey, CertificateCheck> {
    if key_len == 0 || key_len > signer_len || key_len > MAX_RSA_MODULUS_BYTES {
        return Err(CertificateCheck::PublicKeyLength);
    }
    if exponent_len != exponent.len() {
        return Err(CertificateCheck::ExponentLength);
    }
    let mut modulus: heapless::Vec<u8, MAX_RSA_MODULUS_BYTES> = heapless::Vec::new();
    if key_len <= key_digits.len() {
        let leftmost = key_digits
            .get(..key_len)
            .ok_or(CertificateCheck::PublicKeyLength)?;
        modulus
            .extend_from_slice(leftmost)
            .map_err(|_| CertificateCheck::PublicKeyLength)?;
    } else {
        if key_digits.len().checked_add(remainder.len()) != Some(key_len) {
            return Err(CertificateCheck::RemainderLength);
        }
        modulus
            .extend_from_slice(key_digits)
            .and_then(|()| modulus.extend_from_slice(remainder))
            .map_err(|_| CertificateCheck::PublicKeyLength)?;
    }
    let exponent =
        heapless::Vec::from_slice(exponent).map_err(|_| CertificateCheck::ExponentLength)?;
    Ok(PublicKey { modulus, exponent })
}

/// The four-bit digits of a BCD byte string, high nibble first.
fn nibbles(bytes: &[u8]) -> impl Iterator<Item = u8> + '_ {
    bytes.iter().flat_map(|byte| [byte >> 4, byte & 0x0F])
}

/// Book 2, 5.3 step 8: the Issuer Identifier (leftmost 3-8 PAN digits, padded
/// on the right with hexadecimal `F`) matches the leftmost digits of the PAN.
pub fn issuer_identifier_matches(issuer_identifier: &[u8; 4], pan: &[u8]) -> bool {
    issuer_identifier_nibbles_match(issuer_identifier, pan, 3..=8)
}

/// An Issuer Identifier of `digits` leftmost PAN digits, padded on the right
/// with hexadecimal `F`, matches the leftmost digits of the PAN (RSA: 4 bytes,
/// 3-8 digits; ECC: 5 bytes, 3-10 digits).
pub(crate) fn issuer_identifier_nibbles_match(
    issuer_identifier: &[u8],
    pan: &[u8],
    digits: core::ops::RangeInclusive<usize>,
) -> bool {
    let count = nibbles(issuer_identifier)
        .take_while(|nibble| *nibble != 0x0F)
        .count();
    digits.contains(&count)
        && nibbles(issuer_identifier)
            .skip(count)
            .all(|nibble| nibble == 0x0F)
        && nibbles(issuer_identifier)
            .take(count)
            .all(|nibble| nibble <= 9)
        && nibbles(pan).take(count).count() == count
        && nibbles(issuer_identifier)
            .take(count)
            .eq(nibbles(pan).take(count))
}

/// Book 2, 6.4 step 8: the recovered Application PAN (10 bytes, padded with
/// `F`) equals the card's Application PAN (5A), padded the same way.
pub fn application_pan_matches(recovered_pan: &[u8; 10], pan: &[u8]) -> bool {
    pan.len() <= recovered_pan.len()
        && nibbles(recovered_pan).eq(nibbles(pan)
            .chain(core::iter::repeat(0x0F))
            .take(2 * recovered_pan.len()))
}

/// Book 2, 5.3 step 9 and 6.4 step 9: a certificate dated `MMYY` is valid
/// through the last day of that month. `None` if the date is not valid BCD.
pub fn certificate_expired(expiration_date: [u8; 2], today: Date) -> Option<bool> {
    let [mm, yy] = expiration_date;
    let month = bcd(mm)?;
    if !(1..=12).contains(&month) {
        return None;
    }
    let year = full_year(bcd(yy)?);
    Some((year, month) < (today.year, today.month))
}

/// Step 12, once every other check passed: the certified key.
fn finish(
    recovered: RecoveredCertificate,
    fail: fn(CertificateCheck) -> OdaFailure,
) -> Result<CertifiedKey, OdaFailure> {
    Ok(CertifiedKey {
        key: recovered.key.map_err(fail)?,
        certificate_serial_number: recovered.serial_number,
        certificate_expiration_date: recovered.expiration_date,
    })
}

/// Book 2, 5.3 (SDA) and 6.3 (DDA, CDA): recover and check the Issuer Public
/// Key from its certificate (90), remainder (92) and exponent (9F32).
///
/// Checks, in the order of the standard: certificate length equals the CA
/// modulus length; trailer `BC`; header `6A`; format `02`; hash algorithm;
/// hash; Issuer Identifier against the PAN; expiration date; revocation of
/// (RID, CA index, serial number); public key algorithm; key lengths.
pub fn recover_issuer_key<C: CryptoProvider + ?Sized>(
    crypto: &C,
    ca_key: &CaPublicKey,
    certificate: &KeyCertificate<'_>,
    pan: &[u8],
    date: Date,
    revocations: &RevocationList,
) -> Result<CertifiedKey, OdaFailure> {
    let input = CertificateInput {
        certificate: certificate.certificate,
        remainder: certificate.remainder,
        exponent: certificate.exponent,
        extra: [&[], &[]],
    };
    // An elliptic-curve CA key certifies only ECC issuer keys (XDA): for an
    // RSA certificate the terminal holds no usable key of this RID and index.
    let rsa_key = ca_key.key.rsa().ok_or(OdaFailure::CaKeyNotFound)?;
    let recovered = recover_certificate(crypto, rsa_key, input, ISSUER)?;
    let fail = ISSUER.wrap;
    let [a, b, c, d, ..] = recovered.identifier;
    if !issuer_identifier_matches(&[a, b, c, d], pan) {
        return Err(fail(CertificateCheck::IssuerIdentifier));
    }
    match certificate_expired(recovered.expiration_date, date) {
        None => return Err(fail(CertificateCheck::InvalidExpirationDate)),
        Some(true) => return Err(fail(CertificateCheck::Expired)),
        Some(false) => {}
    }
    if revocations.is_revoked(&ca_key.rid, ca_key.index, &recovered.serial_number) {
        return Err(fail(CertificateCheck::Revoked));
    }
    if recovered.public_key_algorithm != PUBLIC_KEY_ALGORITHM_RSA {
        return Err(fail(CertificateCheck::PublicKeyAlgorithm));
    }
    finish(recovered, fail)
}

/// Book 2, 6.4: recover and check the ICC Public Key from its certificate
/// (9F46), remainder (9F48) and exponent (9F47), signed by the issuer key.
///
/// The hash covers the static data to be authenticated (Book 3, 10.3).
/// Checks: length; trailer; header; format `04`; hash algorithm; hash;
/// Application PAN against 5A; expiration date; public key algorithm; lengths.
pub fn recover_icc_key<C: CryptoProvider + ?Sized>(
    crypto: &C,
    issuer_key: &PublicKey,
    certificate: &KeyCertificate<'_>,
    pan: &[u8],
    static_data: &StaticData<'_>,
    date: Date,
) -> Result<CertifiedKey, OdaFailure> {
    let input = CertificateInput {
        certificate: certificate.certificate,
        remainder: certificate.remainder,
        exponent: certificate.exponent,
        extra: static_data.hash_parts()?,
    };
    recover_format_04(crypto, issuer_key, input, pan, date, ICC)
}

/// Book 2, 7.1: recover and check the ICC PIN Encipherment Public Key from its
/// certificate (9F2D), remainder (9F2F) and exponent (9F2E).
///
/// Same format and checks as the ICC Public Key Certificate, but the hash does
/// not cover static data.
pub fn recover_icc_pin_key<C: CryptoProvider + ?Sized>(
    crypto: &C,
    issuer_key: &PublicKey,
    certificate: &KeyCertificate<'_>,
    pan: &[u8],
    date: Date,
) -> Result<CertifiedKey, OdaFailure> {
    let input = CertificateInput {
        certificate: certificate.certificate,
        remainder: certificate.remainder,
        exponent: certificate.exponent,
        extra: [&[], &[]],
    };
    recover_format_04(crypto, issuer_key, input, pan, date, ICC_PIN)
}

fn recover_format_04<C: CryptoProvider + ?Sized>(
    crypto: &C,
    issuer_key: &PublicKey,
    input: CertificateInput<'_>,
    pan: &[u8],
    date: Date,
    kind: CertificateKind,
) -> Result<CertifiedKey, OdaFailure> {
    let recovered = recover_certificate(crypto, issuer_key, input, kind)?;
    if !application_pan_matches(&recovered.identifier, pan) {
        return Err((kind.wrap)(CertificateCheck::ApplicationPan));
    }
    match certificate_expired(recovered.expiration_date, date) {
        None => return Err((kind.wrap)(CertificateCheck::InvalidExpirationDate)),
        Some(true) => return Err((kind.wrap)(CertificateCheck::Expired)),
        Some(false) => {}
    }
    if recovered.public_key_algorithm != PUBLIC_KEY_ALGORITHM_RSA {
        return Err((kind.wrap)(CertificateCheck::PublicKeyAlgorithm));
    }
    finish(recovered, kind.wrap)
}

/// Book 2, 5.2 and 6.2: the CA public key named by the card's RID and CA
/// Public Key Index (8F), valid on the transaction date.
pub fn ca_key<'t>(
    terminal: &Terminal<'t>,
    card: &CardData<'_>,
) -> Result<&'t CaPublicKey, OdaFailure> {
    let index = card
        .ca_public_key_index
        .ok_or(OdaFailure::Missing(tags::CA_PUBLIC_KEY_INDEX))?;
    terminal
        .ca_keys
        .key_for(&card.rid, index, terminal.transaction_date)
        .ok_or(OdaFailure::CaKeyNotFound)
}

/// The issuer key from the card's data objects: the CA key lookup, then
/// [`recover_issuer_key`]. Absent objects are reported as [`OdaFailure::Missing`].
pub fn issuer_key_for_card<C: CryptoProvider + ?Sized>(
    crypto: &C,
    terminal: &Terminal<'_>,
    card: &CardData<'_>,
) -> Result<CertifiedKey, OdaFailure> {
    let certificate = card
        .issuer_public_key_certificate
        .ok_or(OdaFailure::Missing(tags::ISSUER_PUBLIC_KEY_CERTIFICATE))?;
    let exponent = card
        .issuer_public_key_exponent
        .ok_or(OdaFailure::Missing(tags::ISSUER_PUBLIC_KEY_EXPONENT))?;
    let pan = card
        .application_pan
        .ok_or(OdaFailure::Missing(tags::APPLICATION_PAN))?;
    let ca_key = ca_key(terminal, card)?;
    let certificate = KeyCertificate {
        certificate,
        remainder: card.issuer_public_key_remainder,
        exponent,
    };
    recover_issuer_key(
        crypto,
        ca_key,
        &certificate,
        pan,
        terminal.transaction_date,
        terminal.revocations,
    )
}

/// Book 2, 6.1-6.4: the ICC Public Key from the card's data objects (CA key,
/// issuer key, then ICC key), as DDA and CDA need before their signature check.
pub fn icc_key_for_card<C: CryptoProvider + ?Sized>(
    crypto: &C,
    terminal: &Terminal<'_>,
    card: &CardData<'_>,
    static_data: &StaticData<'_>,
) -> Result<CertifiedKey, OdaFailure> {
    let certificate = card
        .icc_public_key_certificate
        .ok_or(OdaFailure::Missing(tags::ICC_PUBLIC_KEY_CERTIFICATE))?;
    let exponent = card
        .icc_public_key_exponent
        .ok_or(OdaFailure::Missing(tags::ICC_PUBLIC_KEY_EXPONENT))?;
    let issuer = issuer_key_for_card(crypto, terminal, card)?;
    let pan = card
        .application_pan
        .ok_or(OdaFailure::Missing(tags::APPLICATION_PAN))?;
    let certificate = KeyCertificate {
        certificate,
        remainder: card.icc_public_key_remainder,
        exponent,
    };
    recover_icc_key(
        crypto,
        &issuer.key,
        &certificate,
        pan,
        static_data,
        terminal.transaction_date,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issuer_identifier_against_pan() {
        let pan = [0x47, 0x61, 0x73, 0x90, 0x01, 0x01, 0x00, 0x10];
        assert!(issuer_identifier_matches(&[0x47, 0x61, 0x73, 0xFF], &pan));
        assert!(issuer_identifier_matches(&[0x47, 0x6F, 0xFF, 0xFF], &pan));
        assert!(issuer_identifier_matches(&[0x47, 0x61, 0x73, 0x90], &pan));
        assert!(!issuer_identifier_matches(&[0x47, 0xFF, 0xFF, 0xFF], &pan));
        assert!(!issuer_identifier_matches(&[0x47, 0x62, 0x73, 0xFF], &pan));
        assert!(!issuer_identifier_matches(&[0x47, 0x6F, 0x73, 0xFF], &pan));
        assert!(!issuer_identifier_matches(
            &[0x47, 0x6A, 0xFF, 0xFF],
            &[0x47, 0x6A]
        ));
        assert!(!issuer_identifier_matches(
            &[0x47, 0x61, 0x73, 0xFF],
            &[0x47]
        ));
    }

    #[test]
    fn application_pan_padding() {
        let mut recovered = [0xFF; 10];
        recovered[..8].copy_from_slice(&[0x47, 0x61, 0x73, 0x90, 0x01, 0x01, 0x00, 0x10]);
        let pan: [u8; 8] = recovered[..8].try_into().unwrap();
        assert!(application_pan_matches(&recovered, &pan));
        assert!(application_pan_matches(
            &recovered,
            &[0x47, 0x61, 0x73, 0x90, 0x01, 0x01, 0x00, 0x10, 0xFF]
        ));
        assert!(!application_pan_matches(
            &recovered,
            &[0x47, 0x61, 0x73, 0x90, 0x01, 0x01, 0x00, 0x11]
        ));
        assert!(!application_pan_matches(&recovered, &[0x47, 0x61, 0x73]));
        assert!(!application_pan_matches(&recovered, &[0x11; 11]));
    }

    #[test]
    fn expiry_is_the_last_day_of_the_month() {
        let today = Date {
            year: 2026,
            month: 11,
            day: 25,
        };
        assert_eq!(certificate_expired([0x11, 0x26], today), Some(false));
        assert_eq!(certificate_expired([0x10, 0x26], today), Some(true));
        assert_eq!(certificate_expired([0x01, 0x27], today), Some(false));
        assert_eq!(certificate_expired([0x12, 0x99], today), Some(true));
        assert_eq!(certificate_expired([0x13, 0x26], today), None);
        assert_eq!(certificate_expired([0x00, 0x26], today), None);
        assert_eq!(certificate_expired([0x1A, 0x26], today), None);
    }
}
