//! Static Data Authentication (Book 2, section 5).
//!
//! The card proves its static data were signed by its issuer: the terminal
//! recovers the Issuer Public Key with a CA key, then recovers Signed Static
//! Application Data (93) and compares its hash with the static data read.

use super::recover::{self, recover, Reader, RecoveryError};
use super::{
    tags, CardData, OdaFailure, PublicKey, SignatureCheck, StaticData, Terminal,
    HASH_ALGORITHM_SHA1,
};
use crate::crypto::{CryptoProvider, SHA1_LEN};
use crate::limits::MAX_RSA_MODULUS_BYTES;

/// Signed Static Application Data format (Book 2, Table 7).
const SIGNED_STATIC_DATA_FORMAT: u8 = 0x03;

/// What a successful SDA yields.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SdaOutcome {
    /// Data Authentication Code (9F45) recovered from the signed data.
    pub data_authentication_code: [u8; 2],
}

/// Map a recovery framing error to the signed data check that failed.
pub(crate) fn signature_failure(error: RecoveryError) -> OdaFailure {
    match error {
        RecoveryError::Length => OdaFailure::StaticSignature(SignatureCheck::Length),
        RecoveryError::Trailer => OdaFailure::StaticSignature(SignatureCheck::Trailer),
        RecoveryError::Header => OdaFailure::StaticSignature(SignatureCheck::Header),
        RecoveryError::Crypto(error) => OdaFailure::Crypto(error),
    }
}

/// Book 2, 5.4: verify Signed Static Application Data (93) with the Issuer
/// Public Key and return the Data Authentication Code.
///
/// Steps: length equals the issuer modulus length (1); trailer `BC` (2);
/// header `6A` (3); format `03` (4); hash algorithm `01` (6); SHA-1 over the
/// recovered fields from the format through the pad pattern, then the static
/// data to be authenticated, equals the recovered hash (5, 7).
pub fn verify_signed_static_data<C: CryptoProvider + ?Sized>(
    crypto: &C,
    issuer_key: &PublicKey,
    signed_static_application_data: &[u8],
    static_data: &StaticData<'_>,
) -> Result<SdaOutcome, OdaFailure> {
    let fail = OdaFailure::StaticSignature;
    let mut buffer = [0u8; MAX_RSA_MODULUS_BYTES];
    let recovered = recover(
        crypto,
        issuer_key,
        signed_static_application_data,
        &mut buffer,
    )
    .map_err(signature_failure)?;
    let too_short = fail(SignatureCheck::Length);
    let mut reader = Reader(recovered);
    let _header = reader.byte().ok_or(too_short)?;
    let format = reader.byte().ok_or(too_short)?;
    let hash_algorithm = reader.byte().ok_or(too_short)?;
    let data_authentication_code: [u8; 2] = reader.array().ok_or(too_short)?;
    let signed_end = recovered
        .len()
        .checked_sub(SHA1_LEN + 1)
        .filter(|end| *end >= 5)
        .ok_or(too_short)?;
    let signed_fields = recovered.get(1..signed_end).ok_or(too_short)?;
    let mut tail = Reader(recovered.get(signed_end..).ok_or(too_short)?);
    let hash_result: [u8; SHA1_LEN] = tail.array().ok_or(too_short)?;

    if format != SIGNED_STATIC_DATA_FORMAT {
        return Err(fail(SignatureCheck::Format));
    }
    if hash_algorithm != HASH_ALGORITHM_SHA1 {
        return Err(fail(SignatureCheck::HashAlgorithm));
    }
    let [records, aip] = static_data.hash_parts()?;
    let hash = crypto.sha1(&[signed_fields, records, aip]);
    if hash != hash_result {
        return Err(fail(SignatureCheck::Hash));
    }
    Ok(SdaOutcome {
        data_authentication_code,
    })
}

/// Book 2, section 5: the whole of SDA from the card's data objects.
///
/// Book 2, 5.1: the CA Public Key Index, Issuer Public Key Certificate,
/// Signed Static Application Data and Issuer Public Key Exponent must be
/// present (the remainder when needed); then 5.2 (CA key), 5.3 (issuer key)
/// and 5.4 (signed data).
pub fn authenticate<C: CryptoProvider + ?Sized>(
    crypto: &C,
    terminal: &Terminal<'_>,
    card: &CardData<'_>,
    static_data: &StaticData<'_>,
) -> Result<SdaOutcome, OdaFailure> {
    if card.ca_public_key_index.is_none() {
        return Err(OdaFailure::Missing(tags::CA_PUBLIC_KEY_INDEX));
    }
    if card.issuer_public_key_certificate.is_none() {
        return Err(OdaFailure::Missing(tags::ISSUER_PUBLIC_KEY_CERTIFICATE));
    }
    let signed = card
        .signed_static_application_data
        .ok_or(OdaFailure::Missing(tags::SIGNED_STATIC_APPLICATION_DATA))?;
    if card.issuer_public_key_exponent.is_none() {
        return Err(OdaFailure::Missing(tags::ISSUER_PUBLIC_KEY_EXPONENT));
    }
    let issuer = recover::issuer_key_for_card(crypto, terminal, card)?;
    verify_signed_static_data(crypto, &issuer.key, signed, static_data)
}
