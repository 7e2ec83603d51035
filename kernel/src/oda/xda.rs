//! Extended Data Authentication (XDA): elliptic-curve certificates and the
//! EC-SDSA signature of the GENERATE AC response (EMV 4.4 Book 2, the ECC
//! sections on ODA; Book 3, 10.3).
//!
//! Unlike RSA certificates, ECC certificates are not recovered: they are the
//! signed fields in clear followed by an EC-SDSA signature over them
//! ([`crate::crypto::ecc`]). The layouts below are those of EMV 4.4 Book 2's
//! tables for the Issuer and ICC ECC Public Key Certificates and the XDA
//! Signed Dynamic Application Data as we read them; the text of the book was
//! not available to us, and what each layout was checked against is in
//! docs/conformance.md ("XDA").
//!
//! Issuer ECC Public Key Certificate (90), signed with the CA key:
//!
//! | field | bytes |
//! | --- | --- |
//! | Certificate Format `12` | 1 |
//! | Certificate Encoding `00` | 1 |
//! | Issuer Identifier (3-10 leftmost PAN digits, `F`-padded) | 5 |
//! | Issuer Public Key Algorithm Suite Indicator (`10`, `11`) | 1 |
//! | Certificate Expiration Date `YYYYMMDD` | 4 |
//! | Certificate Serial Number | 3 |
//! | RID | 5 |
//! | CA Public Key Index | 1 |
//! | Issuer Public Key (x-coordinate) | `N_FIELD` of the issuer suite |
//! | Signature | `N_SIG` of the CA key's suite |
//!
//! ICC ECC Public Key Certificate (9F46), signed with the issuer key:
//!
//! | field | bytes |
//! | --- | --- |
//! | Certificate Format `14` | 1 |
//! | Certificate Encoding `00` | 1 |
//! | ICC Public Key Algorithm Suite Indicator | 1 |
//! | Certificate Expiration Date `YYYYMMDD` | 4 |
//! | Certificate Expiration Time `HHMM` | 2 |
//! | Certificate Serial Number | 6 |
//! | ICCD Hash Encoding `00` | 1 |
//! | ICCD Hash Algorithm Indicator (`02` SHA-256, `03` SHA-512) | 1 |
//! | ICCD Hash: hash of the Issuer Certified Card Data | `N_HASH` |
//! | ICC Public Key (x-coordinate) | `N_FIELD` of the ICC suite |
//! | Signature | `N_SIG` of the issuer suite |
//!
//! The Issuer Certified Card Data ([`CertifiedCardData`]) is the ODA records
//! of Book 3, 10.3, then the AIP (82), the AID (9F06) and, when the card has
//! one, the PDOL (9F38), each as a TLV (Book 2, 12.4 as iohzrd/emv-rs reads
//! it; docs/conformance.md "XDA"): the ICC certificate holds no PAN, it binds
//! the PAN through this hash.
//!
//! XDA Signed Dynamic Application Data (9F4B in the GENERATE AC response):
//! Signed Data Format `15` followed by the ICC's EC-SDSA signature over
//! `15 || PDOL data || CDOL1 data || [CDOL2 data] || the response's data
//! objects other than 9F4B`, as they were returned.

use super::capk::CaKeyLookup;
use super::cda::ResponseObjects;
use super::recover::{issuer_identifier_nibbles_match, Reader};
use super::{
    bcd, tags, CaPublicKey, CardData, CertificateCheck, Date, EccPublicKey, OdaFailure,
    RevocationList, SignatureCheck, StaticData, Terminal,
};
use crate::crypto::{CryptoError, CryptoProvider, EccCurve, SHA256_LEN, SHA512_LEN};
use crate::limits::CDA_RESPONSE_MAX_OBJECTS;

/// Certificate Format of the Issuer ECC Public Key Certificate.
pub const ISSUER_CERTIFICATE_FORMAT: u8 = 0x12;
/// Certificate Format of the ICC ECC Public Key Certificate.
pub const ICC_CERTIFICATE_FORMAT: u8 = 0x14;
/// Signed Data Format of XDA's Signed Dynamic Application Data.
pub const SIGNED_DATA_FORMAT: u8 = 0x15;
/// Certificate Encoding (and ICCD Hash Encoding) defined so far.
pub const ENCODING: u8 = 0x00;
/// ICCD Hash Algorithm Indicator for SHA-256.
pub const HASH_ALGORITHM_SHA256: u8 = 0x02;
/// ICCD Hash Algorithm Indicator for SHA-512.
pub const HASH_ALGORITHM_SHA512: u8 = 0x03;

/// Bytes of the Issuer ECC certificate before the issuer key.
const ISSUER_HEADER: usize = 21;
/// Bytes of the ICC ECC certificate before the ICCD hash.
const ICC_HEADER: usize = 17;

/// The curve of an Algorithm Suite Indicator (`10` P-256/SHA-256, `11`
/// P-521/SHA-512); `None` for a suite the kernel does not support (SM2 `80`
/// and the SHA-3 suites among them, docs/conformance.md).
pub const fn suite_curve(indicator: u8) -> Option<EccCurve> {
    match indicator {
        0x10 => Some(EccCurve::P256),
        0x11 => Some(EccCurve::P521),
        _ => None,
    }
}

/// The Algorithm Suite Indicator of a curve.
pub const fn curve_suite(curve: EccCurve) -> u8 {
    super::capk::suite_indicator(curve)
}

/// An issuer ECC key recovered from its certificate, with the certificate's facts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EccIssuerKey {
    /// The certified key.
    pub key: EccPublicKey,
    /// Certificate Serial Number.
    pub certificate_serial_number: [u8; 3],
    /// Certificate Expiration Date, BCD `YYYYMMDD`.
    pub certificate_expiration_date: [u8; 4],
}

/// An ICC ECC key recovered from its certificate.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EccIccKey {
    /// The certified key.
    pub key: EccPublicKey,
    /// Certificate Serial Number.
    pub certificate_serial_number: [u8; 6],
    /// Certificate Expiration Date `YYYYMMDD` and Time `HHMM`, BCD.
    pub certificate_expiration: [u8; 6],
}

/// A BCD `YYYYMMDD` date (with an optional `HHMM`) compared with the
/// transaction's date and time: `None` if not valid BCD, else whether it is
/// already past. A certificate is valid through its expiration minute.
fn expired(date: [u8; 4], time: Option<[u8; 2]>, today: Date, now: [u8; 3]) -> Option<bool> {
    let [cc, yy, mm, dd] = date;
    let year = u16::from(bcd(cc)?) * 100 + u16::from(bcd(yy)?);
    let (month, day) = (bcd(mm)?, bcd(dd)?);
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) {
        return None;
    }
    let certificate_day = (year, month, day);
    let transaction_day = (today.year, today.month, today.day);
    if certificate_day != transaction_day {
        return Some(certificate_day < transaction_day);
    }
    let Some([hh, minute]) = time else {
        return Some(false);
    };
    let (hour, minute) = (bcd(hh)?, bcd(minute)?);
    if hour > 23 || minute > 59 {
        return None;
    }
    let [now_hour, now_minute, _] = now;
    let now = (bcd(now_hour).unwrap_or(0), bcd(now_minute).unwrap_or(0));
    Some((hour, minute) < now)
}

/// Verify `signature` over `message` with `key`, as a certificate check.
fn check_signature<C: CryptoProvider + ?Sized>(
    crypto: &C,
    key: &EccPublicKey,
    message: &[&[u8]],
    signature: &[u8],
) -> Result<bool, OdaFailure> {
    match crypto.ec_sdsa_verify(key.curve, &key.x, message, signature) {
        Ok(valid) => Ok(valid),
        // The signer's key was checked when it was loaded or certified.
        Err(CryptoError::InvalidPoint) => Ok(false),
        Err(error) => Err(OdaFailure::Crypto(error)),
    }
}

/// EMV 4.4 Book 2 (Issuer ECC Public Key Certificate): check the certificate
/// (90) with the CA's ECC key and return the issuer key.
///
/// Checks, in order: the length holds the fixed fields; format `12`;
/// encoding `00`; Issuer Identifier against the PAN; expiration date; RID
/// and CA index equal the CA key's; revocation of (RID, index, serial);
/// issuer suite known; length equals the fields of both suites; the CA's
/// signature; the issuer key is a curve point.
pub fn recover_issuer_key<C: CryptoProvider + ?Sized>(
    crypto: &C,
    ca_key: &CaPublicKey,
    certificate: &[u8],
    pan: &[u8],
    date: Date,
    time: [u8; 3],
    revocations: &RevocationList,
) -> Result<EccIssuerKey, OdaFailure> {
    let fail = OdaFailure::IssuerCertificate;
    let ca_ecc = ca_key.key.ecc().ok_or(OdaFailure::CaKeyNotFound)?;
    let mut reader = Reader(certificate);
    let too_short = fail(CertificateCheck::Length);
    let format = reader.byte().ok_or(too_short)?;
    let encoding = reader.byte().ok_or(too_short)?;
    let issuer_identifier: [u8; 5] = reader.array().ok_or(too_short)?;
    let suite = reader.byte().ok_or(too_short)?;
    let expiration_date: [u8; 4] = reader.array().ok_or(too_short)?;
    let serial_number: [u8; 3] = reader.array().ok_or(too_short)?;
    let rid: [u8; 5] = reader.array().ok_or(too_short)?;
    let index = reader.byte().ok_or(too_short)?;

    if format != ISSUER_CERTIFICATE_FORMAT {
        return Err(fail(CertificateCheck::Format));
    }
    if encoding != ENCODING {
        return Err(fail(CertificateCheck::Encoding));
    }
    if !issuer_identifier_nibbles_match(&issuer_identifier, pan, 3..=10) {
        return Err(fail(CertificateCheck::IssuerIdentifier));
    }
    match expired(expiration_date, None, date, time) {
        None => return Err(fail(CertificateCheck::InvalidExpirationDate)),
        Some(true) => return Err(fail(CertificateCheck::Expired)),
        Some(false) => {}
    }
    if rid != ca_key.rid || index != ca_key.index {
        return Err(fail(CertificateCheck::CaKeyIdentity));
    }
    if revocations.is_revoked(&ca_key.rid, ca_key.index, &serial_number) {
        return Err(fail(CertificateCheck::Revoked));
    }
    let curve = suite_curve(suite).ok_or(fail(CertificateCheck::AlgorithmSuite))?;
    let signed_len = ISSUER_HEADER + curve.field_len();
    if certificate.len() != signed_len + ca_ecc.curve.signature_len() {
        return Err(fail(CertificateCheck::Length));
    }
    let (signed, signature) = certificate.split_at_checked(signed_len).ok_or(too_short)?;
    if !check_signature(crypto, ca_ecc, &[signed], signature)? {
        return Err(fail(CertificateCheck::Signature));
    }
    let x = signed.get(ISSUER_HEADER..).ok_or(too_short)?;
    let key = certified_key(crypto, curve, x, fail)?;
    Ok(EccIssuerKey {
        key,
        certificate_serial_number: serial_number,
        certificate_expiration_date: expiration_date,
    })
}

/// The certified x as a key, checked to be a curve point (Book 2 Annex B2).
fn certified_key<C: CryptoProvider + ?Sized>(
    crypto: &C,
    curve: EccCurve,
    x: &[u8],
    fail: fn(CertificateCheck) -> OdaFailure,
) -> Result<EccPublicKey, OdaFailure> {
    let key = EccPublicKey::new(curve, x).ok_or(fail(CertificateCheck::Length))?;
    match crypto.ecc_check_point(curve, x) {
        Ok(()) => Ok(key),
        Err(CryptoError::InvalidPoint) => Err(fail(CertificateCheck::PublicKeyPoint)),
        Err(error) => Err(OdaFailure::Crypto(error)),
    }
}

/// The Issuer Certified Card Data an ICC ECC certificate's ICCD hash covers
/// (EMV 4.4 Book 2, 12.4, as iohzrd/emv-rs reads it: docs/conformance.md
/// "XDA"): the ODA records (Book 3, 10.3, without the AIP a 9F4A tag list
/// would add for RSA), then `82 02 AIP`, `9F06 L AID` and, when the card
/// returned a PDOL, `9F38 L PDOL`.
///
/// The AID is the card's own (its DF name, 84): the issuer signs the hash
/// when the card is made, before any terminal's list is known.
#[derive(Clone, Copy, Debug)]
pub struct CertifiedCardData<'a> {
    /// The ODA records, concatenated as Book 3, 10.3 says.
    pub records: &'a [u8],
    /// Application Interchange Profile (82).
    pub application_interchange_profile: [u8; 2],
    /// The application's AID (the DF name, 84), written with tag 9F06.
    pub aid: &'a [u8],
    /// The PDOL (9F38) as the card returned it, if it did.
    pub pdol: Option<&'a [u8]>,
}

impl<'a> CertifiedCardData<'a> {
    /// The certified data of a card: its ODA records and AIP
    /// (`static_data`), its AID and PDOL (`card`).
    pub fn new(static_data: &StaticData<'a>, card: &CardData<'a>) -> Self {
        CertifiedCardData {
            records: static_data.records,
            application_interchange_profile: static_data.application_interchange_profile,
            aid: card.aid,
            pdol: card.pdol,
        }
    }

    /// Its hash with the ICCD Hash Algorithm `algorithm`; a value too long
    /// for its TLV (an AID over 16 bytes, a PDOL over 255) is a length
    /// failure of the certificate.
    fn hash<'h, C: CryptoProvider + ?Sized>(
        &self,
        crypto: &C,
        algorithm: u8,
        out: &'h mut [u8; SHA512_LEN],
    ) -> Result<&'h [u8], OdaFailure> {
        let too_long = OdaFailure::IccCertificate(CertificateCheck::Length);
        let [a0, a1] = self.application_interchange_profile;
        let aip = [0x82, 0x02, a0, a1];
        let aid_len = u8::try_from(self.aid.len())
            .ok()
            .filter(|len| *len <= 16)
            .ok_or(too_long)?;
        let aid = [0x9F, 0x06, aid_len];
        // 9F38 L, the length in one byte below 128, else 81 L.
        let pdol = self.pdol.unwrap_or(&[]);
        let pdol_len = u8::try_from(pdol.len()).map_err(|_| too_long)?;
        let header = if pdol_len < 0x80 {
            [0x9F, 0x38, pdol_len, 0]
        } else {
            [0x9F, 0x38, 0x81, pdol_len]
        };
        let header_len = match (self.pdol, pdol_len < 0x80) {
            (None, _) => 0,
            (Some(_), true) => 3,
            (Some(_), false) => 4,
        };
        let pdol_header = header.get(..header_len).unwrap_or(&[]);
        iccd_hash(
            crypto,
            algorithm,
            &[self.records, &aip, &aid, self.aid, pdol_header, pdol],
            out,
        )
    }
}

/// The hash of the Issuer Certified Card Data with the indicated algorithm.
fn iccd_hash<'h, C: CryptoProvider + ?Sized>(
    crypto: &C,
    algorithm: u8,
    parts: &[&[u8]],
    out: &'h mut [u8; SHA512_LEN],
) -> Result<&'h [u8], OdaFailure> {
    match algorithm {
        HASH_ALGORITHM_SHA256 => {
            let hash = crypto.sha256(parts);
            for (target, byte) in out.iter_mut().zip(hash) {
                *target = byte;
            }
            Ok(out.get(..SHA256_LEN).unwrap_or(&[]))
        }
        HASH_ALGORITHM_SHA512 => {
            *out = crypto.sha512(parts).map_err(OdaFailure::Crypto)?;
            Ok(out.as_slice())
        }
        _ => Err(OdaFailure::IccCertificate(
            CertificateCheck::IccdHashAlgorithm,
        )),
    }
}

/// EMV 4.4 Book 2 (ICC ECC Public Key Certificate): check the certificate
/// (9F46) with the issuer's ECC key and return the ICC key.
///
/// Checks, in order: the length holds the fixed fields; format `14`;
/// encoding `00`; ICCD hash encoding `00`; expiration date and time; ICC
/// suite known; ICCD hash algorithm known; length equals the fields; the
/// ICCD hash equals the hash of the certified card data; the issuer's signature;
/// the ICC key is a curve point.
pub fn recover_icc_key<C: CryptoProvider + ?Sized>(
    crypto: &C,
    issuer_key: &EccPublicKey,
    certificate: &[u8],
    certified_data: &CertifiedCardData<'_>,
    date: Date,
    time: [u8; 3],
) -> Result<EccIccKey, OdaFailure> {
    check_icc_certificate(
        crypto,
        issuer_key,
        certificate,
        certified_data,
        (date, time),
        suite_curve,
    )
}

/// EMV 4.4 Book 2, 13.1 (as we read it, docs/conformance.md "ECC offline
/// PIN"): the ICC ECC PIN encipherment key from its certificate (9F2D),
/// which has the ICC certificate's layout and checks ([`recover_icc_key`])
/// but an encipherment suite: `00` (P-256) or `01` (P-521), see
/// [`ode_suite_curve`].
pub fn recover_icc_pin_key<C: CryptoProvider + ?Sized>(
    crypto: &C,
    issuer_key: &EccPublicKey,
    certificate: &[u8],
    certified_data: &CertifiedCardData<'_>,
    date: Date,
    time: [u8; 3],
) -> Result<EccIccKey, OdaFailure> {
    check_icc_certificate(
        crypto,
        issuer_key,
        certificate,
        certified_data,
        (date, time),
        ode_suite_curve,
    )
}

/// The curve of an offline data encipherment suite (Book 2 Annex B2, as we
/// read it): `00` P-256 with Diffie-Hellman, AES-128 and CMAC, `01` the same
/// on P-521; `None` for any other (SM2's `88` among them).
pub const fn ode_suite_curve(indicator: u8) -> Option<EccCurve> {
    match indicator {
        0x00 => Some(EccCurve::P256),
        0x01 => Some(EccCurve::P521),
        _ => None,
    }
}

/// The checks of an ICC ECC certificate; `suites` names the curve of the
/// suites the certified key may have.
fn check_icc_certificate<C: CryptoProvider + ?Sized>(
    crypto: &C,
    issuer_key: &EccPublicKey,
    certificate: &[u8],
    certified_data: &CertifiedCardData<'_>,
    (date, time): (Date, [u8; 3]),
    suites: fn(u8) -> Option<EccCurve>,
) -> Result<EccIccKey, OdaFailure> {
    let fail = OdaFailure::IccCertificate;
    let mut reader = Reader(certificate);
    let too_short = fail(CertificateCheck::Length);
    let format = reader.byte().ok_or(too_short)?;
    let encoding = reader.byte().ok_or(too_short)?;
    let suite = reader.byte().ok_or(too_short)?;
    let expiration_date: [u8; 4] = reader.array().ok_or(too_short)?;
    let expiration_time: [u8; 2] = reader.array().ok_or(too_short)?;
    let serial_number: [u8; 6] = reader.array().ok_or(too_short)?;
    let hash_encoding = reader.byte().ok_or(too_short)?;
    let hash_algorithm = reader.byte().ok_or(too_short)?;

    if format != ICC_CERTIFICATE_FORMAT {
        return Err(fail(CertificateCheck::Format));
    }
    if encoding != ENCODING || hash_encoding != ENCODING {
        return Err(fail(CertificateCheck::Encoding));
    }
    match expired(expiration_date, Some(expiration_time), date, time) {
        None => return Err(fail(CertificateCheck::InvalidExpirationDate)),
        Some(true) => return Err(fail(CertificateCheck::Expired)),
        Some(false) => {}
    }
    let curve = suites(suite).ok_or(fail(CertificateCheck::AlgorithmSuite))?;
    let hash_len = match hash_algorithm {
        HASH_ALGORITHM_SHA256 => SHA256_LEN,
        HASH_ALGORITHM_SHA512 => SHA512_LEN,
        _ => return Err(fail(CertificateCheck::IccdHashAlgorithm)),
    };
    let signed_len = ICC_HEADER + hash_len + curve.field_len();
    if certificate.len() != signed_len + issuer_key.curve.signature_len() {
        return Err(fail(CertificateCheck::Length));
    }
    let (signed, signature) = certificate.split_at_checked(signed_len).ok_or(too_short)?;
    let certified_hash = signed
        .get(ICC_HEADER..ICC_HEADER + hash_len)
        .ok_or(too_short)?;
    let mut buffer = [0u8; SHA512_LEN];
    if certified_data.hash(crypto, hash_algorithm, &mut buffer)? != certified_hash {
        return Err(fail(CertificateCheck::IccdHash));
    }
    if !check_signature(crypto, issuer_key, &[signed], signature)? {
        return Err(fail(CertificateCheck::Signature));
    }
    let x = signed.get(ICC_HEADER + hash_len..).ok_or(too_short)?;
    let key = certified_key(crypto, curve, x, fail)?;
    let [c, y, m, d] = expiration_date;
    let [hh, mm] = expiration_time;
    Ok(EccIccKey {
        key,
        certificate_serial_number: serial_number,
        certificate_expiration: [c, y, m, d, hh, mm],
    })
}

/// The CA key a card's ECC issuer certificate names.
fn ca_key<'t>(terminal: &Terminal<'t>, card: &CardData<'_>) -> Result<&'t CaPublicKey, OdaFailure> {
    let index = card
        .ca_public_key_index
        .ok_or(OdaFailure::Missing(tags::CA_PUBLIC_KEY_INDEX))?;
    terminal
        .ca_keys
        .key_for(&card.rid, index, terminal.transaction_date)
        .filter(|key| key.key.ecc().is_some())
        .ok_or(OdaFailure::CaKeyNotFound)
}

/// XDA's certificate chain from the card's data objects: CA key (RID and
/// 8F), Issuer ECC certificate (90), ICC ECC certificate (9F46).
pub fn icc_key_for_card<C: CryptoProvider + ?Sized>(
    crypto: &C,
    terminal: &Terminal<'_>,
    time: [u8; 3],
    card: &CardData<'_>,
    static_data: &StaticData<'_>,
) -> Result<EccIccKey, OdaFailure> {
    let icc_certificate = card
        .icc_public_key_certificate
        .ok_or(OdaFailure::Missing(tags::ICC_PUBLIC_KEY_CERTIFICATE))?;
    let issuer = issuer_key_for_card(crypto, terminal, time, card)?;
    recover_icc_key(
        crypto,
        &issuer.key,
        icc_certificate,
        &CertifiedCardData::new(static_data, card),
        terminal.transaction_date,
        time,
    )
}

/// Whether the CA key the card names (RID and 8F) is an ECC key: the card's
/// certificates are then ECC certificates.
pub fn card_has_ecc_ca_key(terminal: &Terminal<'_>, card: &CardData<'_>) -> bool {
    ca_key(terminal, card).is_ok()
}

/// The first half of the ECC chain: CA key (RID and 8F), Issuer ECC
/// certificate (90).
pub fn issuer_key_for_card<C: CryptoProvider + ?Sized>(
    crypto: &C,
    terminal: &Terminal<'_>,
    time: [u8; 3],
    card: &CardData<'_>,
) -> Result<EccIssuerKey, OdaFailure> {
    let issuer_certificate = card
        .issuer_public_key_certificate
        .ok_or(OdaFailure::Missing(tags::ISSUER_PUBLIC_KEY_CERTIFICATE))?;
    let pan = card
        .application_pan
        .ok_or(OdaFailure::Missing(tags::APPLICATION_PAN))?;
    let ca_key = ca_key(terminal, card)?;
    recover_issuer_key(
        crypto,
        ca_key,
        issuer_certificate,
        pan,
        terminal.transaction_date,
        time,
        terminal.revocations,
    )
}

/// The ECC PIN encipherment key of a card whose CA key is ECC (Book 2, 13.1
/// as we read it): the chain of [`issuer_key_for_card`], then the ICC ECC
/// PIN encipherment certificate (9F2D). The XDA signing key (9F46) is never
/// used to agree a key: without 9F2D the card has no ECC PIN key.
pub fn pin_key_for_card<C: CryptoProvider + ?Sized>(
    crypto: &C,
    terminal: &Terminal<'_>,
    time: [u8; 3],
    card: &CardData<'_>,
    static_data: &StaticData<'_>,
) -> Result<EccIccKey, OdaFailure> {
    let certificate =
        card.icc_pin_encipherment_public_key_certificate
            .ok_or(OdaFailure::Missing(
                tags::ICC_PIN_ENCIPHERMENT_PUBLIC_KEY_CERTIFICATE,
            ))?;
    let issuer = issuer_key_for_card(crypto, terminal, time, card)?;
    recover_icc_pin_key(
        crypto,
        &issuer.key,
        certificate,
        &CertifiedCardData::new(static_data, card),
        terminal.transaction_date,
        time,
    )
}

/// What XDA's signature covers besides the response: the DOL data sent.
#[derive(Clone, Copy, Debug)]
pub struct XdaRequest<'a> {
    /// PDOL data of GET PROCESSING OPTIONS.
    pub pdol_data: &'a [u8],
    /// CDOL1 data of the first GENERATE AC.
    pub cdol1_data: &'a [u8],
    /// CDOL2 data, for the second GENERATE AC.
    pub cdol2_data: Option<&'a [u8]>,
}

/// EMV 4.4 Book 2 (XDA): verify the Signed Dynamic Application Data (9F4B)
/// of a GENERATE AC response (the value of template 77) with the ICC's ECC key.
///
/// Checks: the response is well-formed with one 9F4B; format `15`; length
/// `1 + N_SIG`; the EC-SDSA signature over `15`, the DOL data and the other
/// response objects.
pub fn verify<C: CryptoProvider + ?Sized>(
    crypto: &C,
    icc_key: &EccPublicKey,
    request: &XdaRequest<'_>,
    response_template: &[u8],
) -> Result<(), OdaFailure> {
    let fail = OdaFailure::DynamicSignature;
    let response = ResponseObjects::read(response_template)?;
    let signed = response
        .signed_dynamic_application_data
        .ok_or(OdaFailure::Missing(tags::SIGNED_DYNAMIC_APPLICATION_DATA))?;
    let (format, signature) = signed.split_first().ok_or(fail(SignatureCheck::Length))?;
    if *format != SIGNED_DATA_FORMAT {
        return Err(fail(SignatureCheck::Format));
    }
    if signature.len() != icc_key.curve.signature_len() {
        return Err(fail(SignatureCheck::Length));
    }
    let mut parts: heapless::Vec<&[u8], { CDA_RESPONSE_MAX_OBJECTS + 4 }> = heapless::Vec::new();
    let malformed = fail(SignatureCheck::ResponseFormat);
    for part in [
        &[SIGNED_DATA_FORMAT][..],
        request.pdol_data,
        request.cdol1_data,
        request.cdol2_data.unwrap_or(&[]),
    ] {
        parts.push(part).map_err(|_| malformed)?;
    }
    for object in &response.hashed {
        parts.push(object).map_err(|_| malformed)?;
    }
    if !check_signature(crypto, icc_key, &parts, signature)? {
        return Err(fail(SignatureCheck::Signature));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A provider whose SHA-256 is the identity on its first 32 bytes and
    /// that keeps the whole input, to see what the ICCD hash covers.
    struct Seeing(core::cell::RefCell<heapless::Vec<u8, 600>>);
    impl CryptoProvider for Seeing {
        fn sha1(&self, _: &[&[u8]]) -> [u8; crate::crypto::SHA1_LEN] {
            [0; crate::crypto::SHA1_LEN]
        }
        fn sha256(&self, parts: &[&[u8]]) -> [u8; SHA256_LEN] {
            let mut seen = self.0.borrow_mut();
            seen.clear();
            for part in parts {
                seen.extend_from_slice(part).unwrap();
            }
            [0; SHA256_LEN]
        }
        fn rsa_public(
            &self,
            _: &[u8],
            _: &[u8],
            _: &[u8],
            _: &mut [u8],
        ) -> Result<(), CryptoError> {
            Err(CryptoError::Unsupported)
        }
        fn random(&self, _: &mut [u8]) -> Result<(), CryptoError> {
            Err(CryptoError::Unsupported)
        }
    }

    /// The ICCD covers the records, then `82 02 AIP`, `9F06 L AID` and
    /// `9F38 L PDOL` (`81 L` from 128 bytes on), the PDOL only when present.
    #[test]
    fn certified_card_data_is_records_then_aip_aid_and_pdol_as_tlvs() {
        let seeing = Seeing(core::cell::RefCell::new(heapless::Vec::new()));
        let aid = [0xA0, 0x00, 0x00, 0x09, 0x99, 0x10, 0x10];
        let mut data = CertifiedCardData {
            records: &[0x5A, 0x01, 0x67],
            application_interchange_profile: [0x98, 0x00],
            aid: &aid,
            pdol: None,
        };
        let mut out = [0u8; SHA512_LEN];
        data.hash(&seeing, HASH_ALGORITHM_SHA256, &mut out).unwrap();
        let expected: &[u8] = &[
            0x5A, 0x01, 0x67, 0x82, 0x02, 0x98, 0x00, 0x9F, 0x06, 0x07, 0xA0, 0x00, 0x00, 0x09,
            0x99, 0x10, 0x10,
        ];
        assert_eq!(&seeing.0.borrow()[..], expected);

        let short = [0x9F, 0x1A, 0x02];
        data.pdol = Some(&short);
        data.hash(&seeing, HASH_ALGORITHM_SHA256, &mut out).unwrap();
        assert_eq!(
            &seeing.0.borrow()[expected.len()..],
            &[0x9F, 0x38, 0x03, 0x9F, 0x1A, 0x02]
        );

        let long = [0x11; 200];
        data.pdol = Some(&long);
        data.hash(&seeing, HASH_ALGORITHM_SHA256, &mut out).unwrap();
        assert_eq!(
            &seeing.0.borrow()[expected.len()..expected.len() + 4],
            &[0x9F, 0x38, 0x81, 200]
        );
        assert_eq!(seeing.0.borrow().len(), expected.len() + 4 + 200);

        data.aid = &[0xA0; 17];
        assert_eq!(
            data.hash(&seeing, HASH_ALGORITHM_SHA256, &mut out),
            Err(OdaFailure::IccCertificate(CertificateCheck::Length))
        );
    }

    const DAY: Date = Date {
        year: 2025,
        month: 6,
        day: 15,
    };

    #[test]
    fn expiry_is_through_the_day_and_minute() {
        let noon = [0x12, 0x00, 0x00];
        // Date only: valid through its day.
        assert_eq!(
            expired([0x20, 0x25, 0x06, 0x15], None, DAY, noon),
            Some(false)
        );
        assert_eq!(
            expired([0x20, 0x25, 0x06, 0x14], None, DAY, noon),
            Some(true)
        );
        assert_eq!(
            expired([0x20, 0x26, 0x01, 0x01], None, DAY, noon),
            Some(false)
        );
        // With a time: valid through its minute.
        assert_eq!(
            expired([0x20, 0x25, 0x06, 0x15], Some([0x12, 0x00]), DAY, noon),
            Some(false)
        );
        assert_eq!(
            expired([0x20, 0x25, 0x06, 0x15], Some([0x11, 0x59]), DAY, noon),
            Some(true)
        );
        // Not BCD, or out of range.
        assert_eq!(expired([0x20, 0x25, 0x13, 0x01], None, DAY, noon), None);
        assert_eq!(expired([0x20, 0x25, 0x06, 0x00], None, DAY, noon), None);
        assert_eq!(expired([0x20, 0x2A, 0x06, 0x01], None, DAY, noon), None);
        assert_eq!(
            expired([0x20, 0x25, 0x06, 0x15], Some([0x24, 0x00]), DAY, noon),
            None
        );
    }

    #[test]
    fn suites_and_their_curves() {
        assert_eq!(suite_curve(0x10), Some(EccCurve::P256));
        assert_eq!(suite_curve(0x11), Some(EccCurve::P521));
        for unsupported in [0x00, 0x12, 0x13, 0x80] {
            assert_eq!(suite_curve(unsupported), None);
        }
        assert_eq!(curve_suite(EccCurve::P521), 0x11);
    }

    #[test]
    fn short_or_misformatted_certificates_fail_before_any_crypto() {
        use crate::crypto::{CryptoError, CryptoProvider, SHA1_LEN};
        /// A provider that fails the test if asked for anything.
        struct Untouched;
        impl CryptoProvider for Untouched {
            fn sha1(&self, _: &[&[u8]]) -> [u8; SHA1_LEN] {
                unreachable!("no hash before the format checks")
            }
            fn sha256(&self, _: &[&[u8]]) -> [u8; SHA256_LEN] {
                unreachable!("no hash before the format checks")
            }
            fn rsa_public(
                &self,
                _: &[u8],
                _: &[u8],
                _: &[u8],
                _: &mut [u8],
            ) -> Result<(), CryptoError> {
                unreachable!("no RSA in XDA")
            }
            fn random(&self, _: &mut [u8]) -> Result<(), CryptoError> {
                unreachable!("no randomness in XDA")
            }
        }
        let issuer = EccPublicKey::new(EccCurve::P256, &[0x11; 32]).unwrap();
        let data = CertifiedCardData {
            records: &[],
            application_interchange_profile: [0x80, 0x00],
            aid: &[0xA0, 0, 0, 0x09, 0x99, 0x10, 0x10],
            pdol: None,
        };
        let now = [0x12, 0x00, 0x00];
        let check = |certificate: &[u8]| {
            recover_icc_key(&Untouched, &issuer, certificate, &data, DAY, now)
                .err()
                .and_then(|failure| match failure {
                    OdaFailure::IccCertificate(check) => Some(check),
                    _ => None,
                })
        };
        assert_eq!(check(&[0x14; 10]), Some(CertificateCheck::Length));
        let mut fields = [0u8; 17];
        fields[0] = 0x04;
        assert_eq!(check(&fields), Some(CertificateCheck::Format));
        fields[0] = 0x14;
        fields[1] = 0x01;
        assert_eq!(check(&fields), Some(CertificateCheck::Encoding));
        fields[1] = 0x00;
        fields[3..9].copy_from_slice(&[0x20, 0x49, 0x12, 0x31, 0x23, 0x59]);
        fields[2] = 0x12;
        assert_eq!(check(&fields), Some(CertificateCheck::AlgorithmSuite));
        fields[2] = 0x10;
        fields[16] = 0x01;
        assert_eq!(check(&fields), Some(CertificateCheck::IccdHashAlgorithm));
        fields[16] = 0x02;
        // The right fixed fields, but not the length the suites give.
        assert_eq!(check(&fields), Some(CertificateCheck::Length));
    }
}
