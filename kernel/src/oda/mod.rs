//! Offline data authentication: CA keys, certificates, SDA, DDA and CDA (Book 2).
//!
//! Everything here is a pure function of byte slices and a [`CryptoProvider`]:
//! the transaction state machine gathers the data objects the card returned,
//! calls one entry point per step, and maps a failure to TVR bits with
//! [`OdaFailure::tvr_bits`].
//!
//! - [`capk`]: the terminal's CA public keys and the `capk.txt` line format.
//! - [`revocation`]: revoked issuer certificates (Book 2, 5.3 step 10).
//! - [`recover`]: RSA recovery and the issuer and ICC key certificates
//!   (Book 2, 5.3, 6.3, 6.4, 7.1).
//! - [`sda`]: Signed Static Application Data (Book 2, 5.4).
//! - [`dda`]: Signed Dynamic Application Data from INTERNAL AUTHENTICATE (6.5).
//! - [`cda`]: Signed Dynamic Application Data from GENERATE AC (6.6).
//! - [`pin`]: offline enciphered PIN (Book 2, section 7).
//! - [`xda`]: ECC certificates and the XDA signature (EMV 4.4 Book 2).
//!
//! `flow` (crate-internal) is the ODA step of the transaction (Book 3,
//! 10.3): method selection, SDA, INTERNAL AUTHENTICATE for DDA, the ICC and
//! PIN keys, and the TVR and TSI bits of the result.
//!
//! [`CryptoProvider`]: crate::crypto::CryptoProvider

pub mod capk;
pub mod cda;
pub mod dda;
pub(crate) mod flow;
pub mod pin;
pub mod recover;
pub mod revocation;
pub mod sda;
pub mod xda;

use crate::crypto::{CryptoError, EccCurve, MAX_ECC_FIELD_BYTES};
use crate::limits::{MAX_RSA_EXPONENT_BYTES, MAX_RSA_MODULUS_BYTES};
use crate::tlv::Tag;
use crate::tvr::{self, Bit};

pub use capk::{CaKey, CaKeyLookup, CaKeyStore, CaPublicKey, CapkFileError, CapkNotice};
pub use recover::CertifiedKey;
pub use revocation::RevocationList;

pub use crate::date::Date;

/// The value of one BCD byte (two decimal digits); `None` if a nibble is above 9.
pub(crate) fn bcd(byte: u8) -> Option<u8> {
    let (high, low) = (byte >> 4, byte & 0x0F);
    if high > 9 || low > 9 {
        return None;
    }
    Some(high * 10 + low)
}

/// The EMV century rule for two-digit years (00-49 → 20YY, 50-99 → 19YY).
pub(crate) fn full_year(yy: u8) -> u16 {
    if yy < 50 {
        2000 + u16::from(yy)
    } else {
        1900 + u16::from(yy)
    }
}

/// An RSA public key: big-endian modulus and exponent, sized for EMV.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PublicKey {
    /// Modulus, at most 1984 bits.
    pub modulus: heapless::Vec<u8, MAX_RSA_MODULUS_BYTES>,
    /// Public exponent: 3 or 2^16+1 in practice, 1 or 3 bytes.
    pub exponent: heapless::Vec<u8, MAX_RSA_EXPONENT_BYTES>,
}

impl PublicKey {
    /// A key from its byte strings; `None` if either is empty or too long.
    pub fn new(modulus: &[u8], exponent: &[u8]) -> Option<Self> {
        if modulus.is_empty() || exponent.is_empty() {
            return None;
        }
        Some(Self {
            modulus: heapless::Vec::from_slice(modulus).ok()?,
            exponent: heapless::Vec::from_slice(exponent).ok()?,
        })
    }

    /// Modulus length in bytes (N_CA, N_I, N_IC or N_PE in Book 2).
    pub fn len(&self) -> usize {
        self.modulus.len()
    }

    /// Whether the modulus is empty (never true for a key built with [`PublicKey::new`]).
    pub fn is_empty(&self) -> bool {
        self.modulus.is_empty()
    }
}

/// An elliptic-curve public key as EMV carries it: the curve and the
/// x-coordinate of the point (EMV 4.4 Book 2, XDA; the y-coordinate is the
/// root below `(p + 1) / 2`, see [`crate::crypto::ecc`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EccPublicKey {
    /// The curve (from the algorithm suite indicator).
    pub curve: EccCurve,
    /// The x-coordinate, `N_FIELD` bytes big-endian.
    pub x: heapless::Vec<u8, MAX_ECC_FIELD_BYTES>,
}

impl EccPublicKey {
    /// A key from its curve and x-coordinate; `None` if `x` is not `N_FIELD`
    /// bytes long (whether it is a curve point is checked by the provider).
    pub fn new(curve: EccCurve, x: &[u8]) -> Option<Self> {
        if x.len() != curve.field_len() {
            return None;
        }
        Some(Self {
            curve,
            x: heapless::Vec::from_slice(x).ok()?,
        })
    }
}

/// The offline data authentication method being performed (Book 3, 10.3).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum OdaMethod {
    /// Static Data Authentication.
    Sda,
    /// Dynamic Data Authentication.
    Dda,
    /// Combined DDA / Application Cryptogram Generation.
    Cda,
    /// Extended Data Authentication (EMV 4.4: ECC certificates, EC-SDSA).
    Xda,
}

/// Which check of a recovered key certificate failed (Book 2, 5.3, 6.4, 7.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CertificateCheck {
    /// The certificate length differs from the signer's modulus length (step 1).
    Length,
    /// The recovered data trailer is not `BC` (step 2).
    Trailer,
    /// The recovered data header is not `6A` (step 3).
    Header,
    /// The certificate format is not `02` (issuer) or `04` (ICC) (step 4).
    Format,
    /// The hash algorithm indicator is not `01` (SHA-1) (step 6).
    HashAlgorithm,
    /// The recomputed hash differs from the recovered hash result (step 7).
    Hash,
    /// The issuer identifier does not match the leftmost PAN digits (5.3 step 8).
    IssuerIdentifier,
    /// The recovered Application PAN differs from the card's PAN (6.4 step 8).
    ApplicationPan,
    /// The certificate expiration date is not a valid BCD `MMYY`.
    InvalidExpirationDate,
    /// The certificate expired before the transaction date (step 9).
    Expired,
    /// RID, CA key index and certificate serial number are on the revocation
    /// list (5.3 step 10).
    Revoked,
    /// The public key algorithm indicator is not `01` (RSA) (5.3 step 11).
    PublicKeyAlgorithm,
    /// The certified key length is zero or longer than the signer's modulus.
    PublicKeyLength,
    /// The remainder length does not complete the certified key length.
    RemainderLength,
    /// The certified exponent length differs from the exponent object's length.
    ExponentLength,
    /// ECC: the Certificate Encoding (or ICCD Hash Encoding) is not `00`.
    Encoding,
    /// ECC: the certificate's RID and CA Public Key Index differ from the
    /// CA key's.
    CaKeyIdentity,
    /// ECC: the certified key's Algorithm Suite Indicator is not one the
    /// terminal supports (`10`, `11`).
    AlgorithmSuite,
    /// ECC: the EC-SDSA signature of the certificate does not verify.
    Signature,
    /// ECC: the certified x-coordinate is not a point of the suite's curve.
    PublicKeyPoint,
    /// ECC: the ICCD Hash Algorithm Indicator is not `02` or `03`.
    IccdHashAlgorithm,
    /// ECC: the ICCD Hash differs from the hash of the certified card data (records, AIP, AID, PDOL).
    IccdHash,
}

impl CertificateCheck {
    /// A stable snake_case name for the check, for machine-readable output.
    pub const fn code(self) -> &'static str {
        match self {
            CertificateCheck::Length => "length",
            CertificateCheck::Trailer => "trailer",
            CertificateCheck::Header => "header",
            CertificateCheck::Format => "format",
            CertificateCheck::HashAlgorithm => "hash_algorithm",
            CertificateCheck::Hash => "hash",
            CertificateCheck::IssuerIdentifier => "issuer_identifier",
            CertificateCheck::ApplicationPan => "application_pan",
            CertificateCheck::InvalidExpirationDate => "invalid_expiration_date",
            CertificateCheck::Expired => "expired",
            CertificateCheck::Revoked => "revoked",
            CertificateCheck::PublicKeyAlgorithm => "public_key_algorithm",
            CertificateCheck::PublicKeyLength => "public_key_length",
            CertificateCheck::RemainderLength => "remainder_length",
            CertificateCheck::ExponentLength => "exponent_length",
            CertificateCheck::Encoding => "encoding",
            CertificateCheck::CaKeyIdentity => "ca_key_identity",
            CertificateCheck::AlgorithmSuite => "algorithm_suite",
            CertificateCheck::Signature => "signature",
            CertificateCheck::PublicKeyPoint => "public_key_point",
            CertificateCheck::IccdHashAlgorithm => "iccd_hash_algorithm",
            CertificateCheck::IccdHash => "iccd_hash",
        }
    }
}

impl core::fmt::Display for CertificateCheck {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            CertificateCheck::Length => "its length differs from the signer's modulus length",
            CertificateCheck::Trailer => "the recovered data trailer is not BC",
            CertificateCheck::Header => "the recovered data header is not 6A",
            CertificateCheck::Format => "the certificate format is wrong",
            CertificateCheck::HashAlgorithm => "the hash algorithm indicator is not 01 (SHA-1)",
            CertificateCheck::Hash => "the recomputed hash differs from the recovered one",
            CertificateCheck::IssuerIdentifier => {
                "the issuer identifier does not match the leftmost PAN digits"
            }
            CertificateCheck::ApplicationPan => "the certified PAN differs from the card's PAN",
            CertificateCheck::InvalidExpirationDate => "the expiration date is not a valid MMYY",
            CertificateCheck::Expired => "the certificate expired before the transaction date",
            CertificateCheck::Revoked => "the certificate is on the terminal's revocation list",
            CertificateCheck::PublicKeyAlgorithm => {
                "the public key algorithm indicator is not 01 (RSA)"
            }
            CertificateCheck::PublicKeyLength => {
                "the certified key length is zero or longer than the signer's modulus"
            }
            CertificateCheck::RemainderLength => {
                "the remainder does not complete the certified key"
            }
            CertificateCheck::ExponentLength => {
                "the certified exponent length differs from the exponent's"
            }
            CertificateCheck::Encoding => "the certificate encoding is not 00",
            CertificateCheck::CaKeyIdentity => {
                "the certificate's RID and CA index differ from the CA key's"
            }
            CertificateCheck::AlgorithmSuite => {
                "the algorithm suite indicator is not 10 (P-256) or 11 (P-521)"
            }
            CertificateCheck::Signature => "the EC-SDSA signature does not verify",
            CertificateCheck::PublicKeyPoint => "the certified key is not a point of its curve",
            CertificateCheck::IccdHashAlgorithm => {
                "the ICCD hash algorithm indicator is not 02 (SHA-256) or 03 (SHA-512)"
            }
            CertificateCheck::IccdHash => {
                "the ICCD hash differs from the hash of the records, AIP, AID and PDOL"
            }
        })
    }
}

/// Which check of Signed Static or Dynamic Application Data failed
/// (Book 2, 5.4, 6.5.2, 6.6.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SignatureCheck {
    /// The signed data length differs from the key's modulus length (step 1).
    Length,
    /// The recovered data trailer is not `BC` (step 2).
    Trailer,
    /// The recovered data header is not `6A` (step 3).
    Header,
    /// The signed data format is not `03` (static) or `05` (dynamic) (step 4).
    Format,
    /// The hash algorithm indicator is not `01` (SHA-1).
    HashAlgorithm,
    /// The recomputed hash differs from the recovered hash result.
    Hash,
    /// The ICC Dynamic Data length does not fit in the signed data, or is too
    /// short for what CDA requires (Book 2, Table 19).
    DynamicDataLength,
    /// The ICC Dynamic Number length is outside 2 to 8 bytes or the data.
    DynamicNumberLength,
    /// CDA: the recovered Cryptogram Information Data differs from the CID
    /// (9F27) in the GENERATE AC response (6.6.2 step 6).
    CryptogramInformationData,
    /// CDA: the recovered Transaction Data Hash Code differs from the hash of
    /// the transaction data (6.6.2 steps 7-9).
    TransactionDataHash,
    /// CDA: the GENERATE AC response is not well-formed BER-TLV or holds more
    /// objects than the kernel hashes.
    ResponseFormat,
    /// XDA: the EC-SDSA signature does not verify.
    Signature,
}

impl SignatureCheck {
    /// A stable snake_case name for the check, for machine-readable output.
    pub const fn code(self) -> &'static str {
        match self {
            SignatureCheck::Length => "length",
            SignatureCheck::Trailer => "trailer",
            SignatureCheck::Header => "header",
            SignatureCheck::Format => "format",
            SignatureCheck::HashAlgorithm => "hash_algorithm",
            SignatureCheck::Hash => "hash",
            SignatureCheck::DynamicDataLength => "dynamic_data_length",
            SignatureCheck::DynamicNumberLength => "dynamic_number_length",
            SignatureCheck::CryptogramInformationData => "cryptogram_information_data",
            SignatureCheck::TransactionDataHash => "transaction_data_hash",
            SignatureCheck::ResponseFormat => "response_format",
            SignatureCheck::Signature => "signature",
        }
    }
}

impl core::fmt::Display for SignatureCheck {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            SignatureCheck::Length => "its length differs from the key's modulus length",
            SignatureCheck::Trailer => "the recovered data trailer is not BC",
            SignatureCheck::Header => "the recovered data header is not 6A",
            SignatureCheck::Format => "the signed data format is wrong",
            SignatureCheck::HashAlgorithm => "the hash algorithm indicator is not 01 (SHA-1)",
            SignatureCheck::Hash => "the recomputed hash differs from the recovered one",
            SignatureCheck::DynamicDataLength => {
                "the ICC Dynamic Data length does not fit the signed data"
            }
            SignatureCheck::DynamicNumberLength => {
                "the ICC Dynamic Number is not 2 to 8 bytes long"
            }
            SignatureCheck::CryptogramInformationData => {
                "the signed CID differs from the CID of the GENERATE AC response"
            }
            SignatureCheck::TransactionDataHash => {
                "the signed Transaction Data Hash Code differs from the transaction data"
            }
            SignatureCheck::ResponseFormat => "the GENERATE AC response is not well-formed BER-TLV",
            SignatureCheck::Signature => "the EC-SDSA signature does not verify",
        })
    }
}

/// Why offline data authentication failed. Each variant names the exact check.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum OdaFailure {
    /// A data object the method needs was not returned by the card
    /// (Book 2, 5.1 and 6.1; the tag says which one).
    Missing(Tag),
    /// The terminal holds no valid CA public key for this RID and index
    /// (Book 2, 5.2 and 6.2).
    CaKeyNotFound,
    /// The Issuer Public Key Certificate (90) failed a check (Book 2, 5.3/6.3).
    IssuerCertificate(CertificateCheck),
    /// The ICC Public Key Certificate (9F46) failed a check (Book 2, 6.4).
    IccCertificate(CertificateCheck),
    /// The ICC PIN Encipherment Public Key Certificate (9F2D) failed a check
    /// (Book 2, 7.1).
    PinCertificate(CertificateCheck),
    /// Signed Static Application Data (93) failed a check (Book 2, 5.4).
    StaticSignature(SignatureCheck),
    /// Signed Dynamic Application Data (9F4B) failed a check (Book 2, 6.5/6.6).
    DynamicSignature(SignatureCheck),
    /// The Static Data Authentication Tag List (9F4A) holds a tag other than
    /// the AIP's (Book 3, 10.3).
    StaticDataTagList,
    /// The crypto provider refused an operation (a key it cannot use).
    Crypto(CryptoError),
}

impl OdaFailure {
    /// A stable snake_case code naming the object and the check, for
    /// machine-readable output (`issuer_certificate.expired`,
    /// `dynamic_signature.hash`, `missing.9F46`, ...).
    pub fn code(&self) -> OdaFailureCode {
        let (object, check) = match self {
            OdaFailure::Missing(tag) => return OdaFailureCode::Missing(*tag),
            OdaFailure::CaKeyNotFound => ("ca_key_not_found", None),
            OdaFailure::IssuerCertificate(c) => ("issuer_certificate", Some(c.code())),
            OdaFailure::IccCertificate(c) => ("icc_certificate", Some(c.code())),
            OdaFailure::PinCertificate(c) => ("pin_certificate", Some(c.code())),
            OdaFailure::StaticSignature(c) => ("static_signature", Some(c.code())),
            OdaFailure::DynamicSignature(c) => ("dynamic_signature", Some(c.code())),
            OdaFailure::StaticDataTagList => ("static_data_tag_list", None),
            OdaFailure::Crypto(_) => ("crypto", None),
        };
        OdaFailureCode::Check { object, check }
    }
}

/// The stable code of an [`OdaFailure`]; displays as `object` or
/// `object.check` (`missing.9F46` for a missing data object).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum OdaFailureCode {
    /// A required data object is missing.
    Missing(Tag),
    /// An object failed, with the check when there is one.
    Check {
        /// What failed (`issuer_certificate`, `static_signature`, ...).
        object: &'static str,
        /// Which check (`hash`, `expired`, ...).
        check: Option<&'static str>,
    },
}

impl core::fmt::Display for OdaFailureCode {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            OdaFailureCode::Missing(tag) => write!(f, "missing.{tag}"),
            OdaFailureCode::Check {
                object,
                check: None,
            } => f.write_str(object),
            OdaFailureCode::Check {
                object,
                check: Some(check),
            } => write!(f, "{object}.{check}"),
        }
    }
}

impl core::fmt::Display for OdaFailure {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            OdaFailure::Missing(tag) => write!(f, "the card did not return data object {tag}"),
            OdaFailure::CaKeyNotFound => {
                f.write_str("the terminal holds no valid CA public key for this RID and index")
            }
            OdaFailure::IssuerCertificate(c) => write!(f, "Issuer Public Key Certificate (90): {c}"),
            OdaFailure::IccCertificate(c) => write!(f, "ICC Public Key Certificate (9F46): {c}"),
            OdaFailure::PinCertificate(c) => {
                write!(f, "ICC PIN Encipherment Public Key Certificate (9F2D): {c}")
            }
            OdaFailure::StaticSignature(c) => write!(f, "Signed Static Application Data (93): {c}"),
            OdaFailure::DynamicSignature(c) => {
                write!(f, "Signed Dynamic Application Data (9F4B): {c}")
            }
            OdaFailure::StaticDataTagList => f.write_str(
                "the Static Data Authentication Tag List (9F4A) names a tag other than the AIP (82)",
            ),
            OdaFailure::Crypto(e) => write!(f, "the crypto provider refused the key: {e}"),
        }
    }
}

impl core::error::Error for OdaFailure {
    fn source(&self) -> Option<&(dyn core::error::Error + 'static)> {
        match self {
            OdaFailure::Crypto(e) => Some(e),
            _ => None,
        }
    }
}

impl OdaFailure {
    /// The TVR bits to set when `method` fails this way.
    ///
    /// Book 3, 10.3: a failed method sets its own bit ("SDA failed", "DDA
    /// failed", "CDA failed", or for XDA EMV 4.4's TVR byte 4 b1 "XDA
    /// signature verification failed", docs/conformance.md); when the failure is that data the card must
    /// supply is absent (Book 2, 5.1 and 6.1), "ICC data missing" is set too.
    pub fn tvr_bits(&self, method: OdaMethod) -> (Bit, Option<Bit>) {
        let failed = match method {
            OdaMethod::Sda => tvr::SDA_FAILED,
            OdaMethod::Dda => tvr::DDA_FAILED,
            OdaMethod::Cda => tvr::CDA_FAILED,
            OdaMethod::Xda => tvr::XDA_FAILED,
        };
        let missing = match self {
            OdaFailure::Missing(_) => Some(tvr::ICC_DATA_MISSING),
            _ => None,
        };
        (failed, missing)
    }
}

/// What the terminal brings to offline data authentication.
#[derive(Clone, Copy, Debug)]
pub struct Terminal<'a> {
    /// The CA public keys the terminal holds.
    pub ca_keys: &'a [CaPublicKey],
    /// Revoked issuer certificates.
    pub revocations: &'a RevocationList,
    /// Transaction Date (9A), for certificate and CA key expiry.
    pub transaction_date: Date,
}

/// The static data to be authenticated (Book 3, 10.3), in the order it is hashed.
#[derive(Clone, Copy, Debug)]
pub struct StaticData<'a> {
    /// The records named by the AFL for ODA, concatenated as Book 3, 10.3
    /// says (for SFI 1-10 the value of template 70; for SFI 11-30 the whole
    /// record). Collected by the record reading step.
    pub records: &'a [u8],
    /// Static Data Authentication Tag List (9F4A), if the card returned one.
    pub tag_list: Option<&'a [u8]>,
    /// Application Interchange Profile (82), appended when the tag list names it.
    pub application_interchange_profile: [u8; 2],
}

impl<'a> StaticData<'a> {
    /// The data to hash after the certificate fields: the records, then the
    /// AIP if the tag list names it.
    ///
    /// Book 3, 10.3: the tag list may contain only the tag of the AIP (82);
    /// any other tag makes the data invalid and ODA fails.
    pub fn hash_parts(&self) -> Result<[&[u8]; 2], OdaFailure> {
        match self.tag_list {
            None | Some([]) => Ok([self.records, &[]]),
            Some([0x82]) => Ok([self.records, &self.application_interchange_profile]),
            Some(_) => Err(OdaFailure::StaticDataTagList),
        }
    }
}

/// The card's data objects ODA reads, as returned by the card (`None` when absent).
#[derive(Clone, Copy, Debug, Default)]
pub struct CardData<'a> {
    /// Registered Application Provider Identifier: the first 5 bytes of the AID.
    pub rid: [u8; 5],
    /// Certification Authority Public Key Index (8F).
    pub ca_public_key_index: Option<u8>,
    /// Issuer Public Key Certificate (90).
    pub issuer_public_key_certificate: Option<&'a [u8]>,
    /// Issuer Public Key Remainder (92).
    pub issuer_public_key_remainder: Option<&'a [u8]>,
    /// Issuer Public Key Exponent (9F32).
    pub issuer_public_key_exponent: Option<&'a [u8]>,
    /// Application Primary Account Number (5A).
    pub application_pan: Option<&'a [u8]>,
    /// Signed Static Application Data (93), for SDA.
    pub signed_static_application_data: Option<&'a [u8]>,
    /// ICC Public Key Certificate (9F46).
    pub icc_public_key_certificate: Option<&'a [u8]>,
    /// ICC Public Key Exponent (9F47).
    pub icc_public_key_exponent: Option<&'a [u8]>,
    /// ICC Public Key Remainder (9F48).
    pub icc_public_key_remainder: Option<&'a [u8]>,
    /// ICC PIN Encipherment Public Key Certificate (9F2D).
    pub icc_pin_encipherment_public_key_certificate: Option<&'a [u8]>,
    /// ICC PIN Encipherment Public Key Exponent (9F2E).
    pub icc_pin_encipherment_public_key_exponent: Option<&'a [u8]>,
    /// ICC PIN Encipherment Public Key Remainder (9F2F).
    pub icc_pin_encipherment_public_key_remainder: Option<&'a [u8]>,
    /// The application's AID, the DF name (84): XDA's ICCD hash binds it.
    pub aid: &'a [u8],
    /// Processing Options Data Object List (9F38) as the card returned it:
    /// XDA's ICCD hash binds it.
    pub pdol: Option<&'a [u8]>,
}

/// Tags of the data objects named in [`OdaFailure::Missing`].
pub mod tags {
    use crate::tlv::Tag;
    /// Certification Authority Public Key Index.
    pub const CA_PUBLIC_KEY_INDEX: Tag = Tag(0x8F);
    /// Issuer Public Key Certificate.
    pub const ISSUER_PUBLIC_KEY_CERTIFICATE: Tag = Tag(0x90);
    /// Issuer Public Key Remainder.
    pub const ISSUER_PUBLIC_KEY_REMAINDER: Tag = Tag(0x92);
    /// Issuer Public Key Exponent.
    pub const ISSUER_PUBLIC_KEY_EXPONENT: Tag = Tag(0x9F32);
    /// Application Primary Account Number.
    pub const APPLICATION_PAN: Tag = Tag(0x5A);
    /// Signed Static Application Data.
    pub const SIGNED_STATIC_APPLICATION_DATA: Tag = Tag(0x93);
    /// ICC Public Key Certificate.
    pub const ICC_PUBLIC_KEY_CERTIFICATE: Tag = Tag(0x9F46);
    /// ICC Public Key Exponent.
    pub const ICC_PUBLIC_KEY_EXPONENT: Tag = Tag(0x9F47);
    /// ICC Public Key Remainder.
    pub const ICC_PUBLIC_KEY_REMAINDER: Tag = Tag(0x9F48);
    /// ICC PIN Encipherment Public Key Certificate.
    pub const ICC_PIN_ENCIPHERMENT_PUBLIC_KEY_CERTIFICATE: Tag = Tag(0x9F2D);
    /// ICC PIN Encipherment Public Key Exponent.
    pub const ICC_PIN_ENCIPHERMENT_PUBLIC_KEY_EXPONENT: Tag = Tag(0x9F2E);
    /// ICC PIN Encipherment Public Key Remainder.
    pub const ICC_PIN_ENCIPHERMENT_PUBLIC_KEY_REMAINDER: Tag = Tag(0x9F2F);
    /// Signed Dynamic Application Data.
    pub const SIGNED_DYNAMIC_APPLICATION_DATA: Tag = Tag(0x9F4B);
    /// Cryptogram Information Data.
    pub const CRYPTOGRAM_INFORMATION_DATA: Tag = Tag(0x9F27);
}

/// Hash Algorithm Indicator for SHA-1 (Book 2, Annex B3).
pub(crate) const HASH_ALGORITHM_SHA1: u8 = 0x01;
/// Public Key Algorithm Indicator for RSA (Book 2, Annex B2).
pub(crate) const PUBLIC_KEY_ALGORITHM_RSA: u8 = 0x01;
/// Recovered Data Header (Book 2, Tables 6, 7, 14, 17).
pub(crate) const RECOVERED_DATA_HEADER: u8 = 0x6A;
/// Recovered Data Trailer.
pub(crate) const RECOVERED_DATA_TRAILER: u8 = 0xBC;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_digit_years_follow_the_century_rule() {
        assert_eq!(full_year(49), 2049);
        assert_eq!(full_year(50), 1950);
        assert_eq!(bcd(0x49), Some(49));
        assert_eq!(bcd(0x4A), None);
    }

    #[test]
    fn tag_list_with_only_the_aip() {
        let mut data = StaticData {
            records: &[1, 2, 3],
            tag_list: Some(&[0x82]),
            application_interchange_profile: [0x19, 0x80],
        };
        assert_eq!(data.hash_parts().unwrap()[1], &[0x19, 0x80]);
        data.tag_list = None;
        assert_eq!(data.hash_parts().unwrap()[1], &[] as &[u8]);
        data.tag_list = Some(&[0x82, 0x9F, 0x36]);
        assert_eq!(data.hash_parts(), Err(OdaFailure::StaticDataTagList));
        data.tag_list = Some(&[0x5A]);
        assert_eq!(data.hash_parts(), Err(OdaFailure::StaticDataTagList));
    }

    #[test]
    fn missing_data_also_sets_icc_data_missing() {
        let (failed, missing) =
            OdaFailure::Missing(tags::ISSUER_PUBLIC_KEY_CERTIFICATE).tvr_bits(OdaMethod::Sda);
        assert_eq!(failed, tvr::SDA_FAILED);
        assert_eq!(missing, Some(tvr::ICC_DATA_MISSING));
        let (failed, missing) = OdaFailure::CaKeyNotFound.tvr_bits(OdaMethod::Cda);
        assert_eq!(failed, tvr::CDA_FAILED);
        assert_eq!(missing, None);
    }
}
