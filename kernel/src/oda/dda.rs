//! Dynamic Data Authentication (Book 2, 6.5): the card signs terminal and card
//! dynamic data in response to INTERNAL AUTHENTICATE.
//!
//! The ICC Public Key comes from [`recover::icc_key_for_card`] (Book 2,
//! 6.1-6.4); this module checks Signed Dynamic Application Data (9F4B).
//!
//! [`recover::icc_key_for_card`]: super::recover::icc_key_for_card

use super::recover::{recover, Reader, RecoveryError};
use super::{OdaFailure, PublicKey, SignatureCheck, HASH_ALGORITHM_SHA1};
use crate::crypto::{CryptoProvider, SHA1_LEN};
use crate::limits::MAX_RSA_MODULUS_BYTES;

/// Signed Dynamic Application Data format (Book 2, Table 17).
const SIGNED_DYNAMIC_DATA_FORMAT: u8 = 0x05;

/// Bytes of Signed Dynamic Application Data besides ICC Dynamic Data and pad:
/// header, format, hash algorithm, length (4), hash (20), trailer (1).
const DYNAMIC_OVERHEAD: usize = 4 + SHA1_LEN + 1;

/// An ICC Dynamic Number (9F4C): 2 to 8 bytes.
pub type IccDynamicNumber = heapless::Vec<u8, 8>;

/// What a successful DDA yields.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DdaOutcome {
    /// ICC Dynamic Number (9F4C), the leading element of ICC Dynamic Data.
    pub icc_dynamic_number: IccDynamicNumber,
}

fn dynamic_failure(error: RecoveryError) -> OdaFailure {
    match error {
        RecoveryError::Length => OdaFailure::DynamicSignature(SignatureCheck::Length),
        RecoveryError::Trailer => OdaFailure::DynamicSignature(SignatureCheck::Trailer),
        RecoveryError::Header => OdaFailure::DynamicSignature(SignatureCheck::Header),
        RecoveryError::Crypto(error) => OdaFailure::Crypto(error),
    }
}

/// Book 2, 6.5.2 steps 1-7 (and 6.6.2 steps 1-7): recover Signed Dynamic
/// Application Data with the ICC Public Key and check its frame and hash.
///
/// `terminal_data` is hashed after the recovered fields: the DDOL data sent in
/// INTERNAL AUTHENTICATE for DDA, the Unpredictable Number for CDA. Returns
/// the ICC Dynamic Data.
pub(crate) fn verify_dynamic_signature<'b, C: CryptoProvider + ?Sized>(
    crypto: &C,
    icc_key: &PublicKey,
    signed_dynamic_application_data: &[u8],
    terminal_data: &[u8],
    buffer: &'b mut [u8; MAX_RSA_MODULUS_BYTES],
) -> Result<&'b [u8], OdaFailure> {
    let fail = OdaFailure::DynamicSignature;
    let recovered = recover(crypto, icc_key, signed_dynamic_application_data, buffer)
        .map_err(dynamic_failure)?;
    let too_short = fail(SignatureCheck::Length);
    let mut reader = Reader(recovered);
    let _header = reader.byte().ok_or(too_short)?;
    let format = reader.byte().ok_or(too_short)?;
    let hash_algorithm = reader.byte().ok_or(too_short)?;
    let dynamic_data_len = usize::from(reader.byte().ok_or(too_short)?);
    let signed_end = recovered.len().checked_sub(SHA1_LEN + 1).ok_or(too_short)?;
    let signed_fields = recovered.get(1..signed_end).ok_or(too_short)?;
    let mut tail = Reader(recovered.get(signed_end..).ok_or(too_short)?);
    let hash_result: [u8; SHA1_LEN] = tail.array().ok_or(too_short)?;

    if format != SIGNED_DYNAMIC_DATA_FORMAT {
        return Err(fail(SignatureCheck::Format));
    }
    // Book 2, 6.5.2: L_DD is at most N_IC - 25.
    if dynamic_data_len > recovered.len().saturating_sub(DYNAMIC_OVERHEAD) {
        return Err(fail(SignatureCheck::DynamicDataLength));
    }
    if hash_algorithm != HASH_ALGORITHM_SHA1 {
        return Err(fail(SignatureCheck::HashAlgorithm));
    }
    if crypto.sha1(&[signed_fields, terminal_data]) != hash_result {
        return Err(fail(SignatureCheck::Hash));
    }
    reader
        .take(dynamic_data_len)
        .ok_or(fail(SignatureCheck::DynamicDataLength))
}

/// Read the ICC Dynamic Number (length byte, then 2-8 bytes) that starts ICC
/// Dynamic Data (Book 2, 6.5.2 step 8 and Table 19); returns it and the rest.
pub(crate) fn icc_dynamic_number(
    icc_dynamic_data: &[u8],
) -> Result<(IccDynamicNumber, &[u8]), OdaFailure> {
    let invalid = OdaFailure::DynamicSignature(SignatureCheck::DynamicNumberLength);
    let mut reader = Reader(icc_dynamic_data);
    let len = usize::from(reader.byte().ok_or(invalid)?);
    if !(2..=8).contains(&len) {
        return Err(invalid);
    }
    let number = reader.take(len).ok_or(invalid)?;
    let number = heapless::Vec::from_slice(number).map_err(|_| invalid)?;
    Ok((number, reader.0))
}

/// Book 2, 6.5.2: verify the Signed Dynamic Application Data (9F4B) returned
/// by INTERNAL AUTHENTICATE, and return the ICC Dynamic Number.
///
/// `ddol_data` is the DDOL-related data exactly as sent in the INTERNAL
/// AUTHENTICATE command. Checks: length equals the ICC modulus length;
/// trailer `BC`; header `6A`; format `05`; ICC Dynamic Data length; hash
/// algorithm `01`; SHA-1 over format .. pad pattern and the DDOL data equals
/// the recovered hash; ICC Dynamic Number length 2 to 8.
pub fn verify<C: CryptoProvider + ?Sized>(
    crypto: &C,
    icc_key: &PublicKey,
    signed_dynamic_application_data: &[u8],
    ddol_data: &[u8],
) -> Result<DdaOutcome, OdaFailure> {
    let mut buffer = [0u8; MAX_RSA_MODULUS_BYTES];
    let icc_dynamic_data = verify_dynamic_signature(
        crypto,
        icc_key,
        signed_dynamic_application_data,
        ddol_data,
        &mut buffer,
    )?;
    let (icc_dynamic_number, _rest) = icc_dynamic_number(icc_dynamic_data)?;
    Ok(DdaOutcome { icc_dynamic_number })
}
