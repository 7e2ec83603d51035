//! Combined DDA / Application Cryptogram Generation (Book 2, 6.6).
//!
//! With CDA the card signs, in the GENERATE AC response, its dynamic number,
//! the Cryptogram Information Data, the Application Cryptogram and a hash of
//! the transaction data. The terminal checks the signature, that the signed
//! CID is the one returned, and that the signed hash matches what was sent
//! and received (Book 2, 6.6.2).

use super::dda::{icc_dynamic_number, verify_dynamic_signature, IccDynamicNumber};
use super::recover::Reader;
use super::{tags, OdaFailure, PublicKey, SignatureCheck};
use crate::crypto::{CryptoProvider, SHA1_LEN};
use crate::limits::{CDA_RESPONSE_MAX_OBJECTS, MAX_RSA_MODULUS_BYTES};
use crate::tlv;

/// What the terminal sent for the GENERATE AC being checked.
#[derive(Clone, Copy, Debug)]
pub struct CdaRequest<'a> {
    /// Unpredictable Number (9F37) sent in the CDOL data.
    pub unpredictable_number: &'a [u8],
    /// PDOL data as sent in GET PROCESSING OPTIONS: the value of template 83,
    /// without its tag and length (empty when the card has no PDOL).
    pub pdol_data: &'a [u8],
    /// CDOL1 data as sent in the first GENERATE AC.
    pub cdol1_data: &'a [u8],
    /// CDOL2 data as sent in the second GENERATE AC; `None` for the first.
    pub cdol2_data: Option<&'a [u8]>,
}

/// What a successful CDA yields: the card's signed values, which the kernel
/// uses in place of any unsigned copies.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CdaOutcome {
    /// ICC Dynamic Number (9F4C).
    pub icc_dynamic_number: IccDynamicNumber,
    /// Cryptogram Information Data (9F27), as signed.
    pub cryptogram_information_data: u8,
    /// Application Cryptogram (9F26), as signed.
    pub application_cryptogram: [u8; 8],
}

/// Book 2, 6.6.2: verify CDA on a GENERATE AC response in format 2.
///
/// `response_template` is the value of template 77 returned by GENERATE AC.
/// It must hold the Signed Dynamic Application Data (9F4B) and the Cryptogram
/// Information Data (9F27). Checks, in order: SDAD length, trailer, header,
/// format, hash algorithm and hash over the recovered fields and the
/// Unpredictable Number (steps 1-7); the ICC Dynamic Data holds an ICC Dynamic
/// Number, CID, cryptogram and hash code; the signed CID equals 9F27 (step 8);
/// the Transaction Data Hash Code equals SHA-1 over the PDOL data, CDOL1 data,
/// CDOL2 data (second GENERATE AC) and every object of the response except
/// 9F4B, tag, length and value, in the order received (steps 9-11).
pub fn verify<C: CryptoProvider + ?Sized>(
    crypto: &C,
    icc_key: &PublicKey,
    request: &CdaRequest<'_>,
    response_template: &[u8],
) -> Result<CdaOutcome, OdaFailure> {
    let fail = OdaFailure::DynamicSignature;
    let response = ResponseObjects::read(response_template)?;
    let signed = response
        .signed_dynamic_application_data
        .ok_or(OdaFailure::Missing(tags::SIGNED_DYNAMIC_APPLICATION_DATA))?;
    let returned_cid = match response.cryptogram_information_data {
        Some([cid]) => *cid,
        Some(_) => return Err(fail(SignatureCheck::CryptogramInformationData)),
        None => {
            return Err(OdaFailure::Missing(tags::CRYPTOGRAM_INFORMATION_DATA));
        }
    };

    let mut buffer = [0u8; MAX_RSA_MODULUS_BYTES];
    let icc_dynamic_data = verify_dynamic_signature(
        crypto,
        icc_key,
        signed,
        request.unpredictable_number,
        &mut buffer,
    )?;
    let (icc_dynamic_number, rest) = icc_dynamic_number(icc_dynamic_data)?;
    let mut reader = Reader(rest);
    let too_short = fail(SignatureCheck::DynamicDataLength);
    let signed_cid = reader.byte().ok_or(too_short)?;
    let application_cryptogram: [u8; 8] = reader.array().ok_or(too_short)?;
    let transaction_data_hash_code: [u8; SHA1_LEN] = reader.array().ok_or(too_short)?;

    if signed_cid != returned_cid {
        return Err(fail(SignatureCheck::CryptogramInformationData));
    }
    if transaction_data_hash(crypto, request, &response) != transaction_data_hash_code {
        return Err(fail(SignatureCheck::TransactionDataHash));
    }
    Ok(CdaOutcome {
        icc_dynamic_number,
        cryptogram_information_data: signed_cid,
        application_cryptogram,
    })
}

/// The objects of a GENERATE AC response that CDA reads and hashes.
pub(crate) struct ResponseObjects<'a> {
    /// Every object except 9F4B, whole (tag, length, value), in order.
    pub(crate) hashed: heapless::Vec<&'a [u8], CDA_RESPONSE_MAX_OBJECTS>,
    pub(crate) signed_dynamic_application_data: Option<&'a [u8]>,
    pub(crate) cryptogram_information_data: Option<&'a [u8]>,
}

impl<'a> ResponseObjects<'a> {
    pub(crate) fn read(response_template: &'a [u8]) -> Result<Self, OdaFailure> {
        let malformed = OdaFailure::DynamicSignature(SignatureCheck::ResponseFormat);
        let mut objects = Self {
            hashed: heapless::Vec::new(),
            signed_dynamic_application_data: None,
            cryptogram_information_data: None,
        };
        for object in tlv::iter(response_template) {
            let object = object.map_err(|_| malformed)?;
            if object.tag == tags::SIGNED_DYNAMIC_APPLICATION_DATA {
                if objects.signed_dynamic_application_data.is_some() {
                    return Err(malformed);
                }
                objects.signed_dynamic_application_data = Some(object.value);
                continue;
            }
            if object.tag == tags::CRYPTOGRAM_INFORMATION_DATA {
                // One CID only: the one the kernel decides on (action.rs
                // refuses a repeated one before this check runs).
                if objects.cryptogram_information_data.is_some() {
                    return Err(malformed);
                }
                objects.cryptogram_information_data = Some(object.value);
            }
            objects.hashed.push(object.raw).map_err(|_| malformed)?;
        }
        Ok(objects)
    }
}

/// Book 2, 6.6.2 steps 9-10: SHA-1 over the PDOL data, CDOL1 data, CDOL2 data
/// and the response objects other than 9F4B.
fn transaction_data_hash<C: CryptoProvider + ?Sized>(
    crypto: &C,
    request: &CdaRequest<'_>,
    response: &ResponseObjects<'_>,
) -> [u8; SHA1_LEN] {
    let mut parts: heapless::Vec<&[u8], { CDA_RESPONSE_MAX_OBJECTS + 3 }> = heapless::Vec::new();
    // Capacity is the request's 3 parts plus the response's objects: cannot fail.
    let _ = parts.push(request.pdol_data);
    let _ = parts.push(request.cdol1_data);
    let _ = parts.push(request.cdol2_data.unwrap_or(&[]));
    for object in &response.hashed {
        let _ = parts.push(object);
    }
    crypto.sha1(&parts)
}
