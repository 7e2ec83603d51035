//! `Outcome`: what the caller gets at the end of a transaction, as plain
//! Python values (bytes, their hex, names and codes).

use emv_kernel::outcome::{self, CryptogramType, Decision, OdaMethod, OdaResult};
use emv_kernel::render;
use emv_kernel::tlv::Tag;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict};

/// The result of a transaction.
#[pyclass(module = "emv_kernel", frozen, get_all)]
pub(crate) struct Outcome {
    /// `"approved"`, `"declined"` or `"terminated"`.
    decision: &'static str,
    /// Why the transaction was terminated (`TerminationReason::code()`), or None.
    termination_reason: Option<&'static str>,
    /// The termination reason in words, or None.
    termination_message: Option<String>,
    /// Whether the issuer answered.
    online: bool,
    /// Authorisation Response Code (8A) as text, e.g. `"Y1"`, or None.
    authorisation_response_code: Option<String>,
    /// `"TC"`, `"AAC"` or `"ARQC"`: the last cryptogram the card produced, or None.
    cryptogram_type: Option<&'static str>,
    /// Application Cryptogram (9F26), 8 bytes, or None.
    cryptogram: Option<Py<PyBytes>>,
    /// Application Transaction Counter (9F36), or None.
    atc: Option<u16>,
    /// Terminal Verification Results (95), 5 bytes.
    tvr: Py<PyBytes>,
    /// The TVR in hex.
    tvr_hex: String,
    /// The names of the TVR bits that are set.
    tvr_bits: Vec<&'static str>,
    /// Transaction Status Information (9B), 2 bytes.
    tsi: Py<PyBytes>,
    /// The TSI in hex.
    tsi_hex: String,
    /// The names of the TSI bits that are set.
    tsi_bits: Vec<&'static str>,
    /// CVM Results (9F34), 3 bytes.
    cvm_results: Py<PyBytes>,
    /// The CVM Results in hex.
    cvm_results_hex: String,
    /// The selected application's AID, empty before selection.
    aid: Py<PyBytes>,
    /// The AID in hex.
    aid_hex: String,
    /// Application Label or Preferred Name, for the receipt.
    application_label: String,
    /// The PAN with all but the first 6 and last 4 digits as `*`.
    masked_pan: String,
    /// `"none"`, `"sda"`, `"dda"` or `"cda"`.
    oda_method: &'static str,
    /// `"not_performed"`, `"succeeded"` or `"failed"`.
    oda_result: &'static str,
    /// The Book 2 check that failed (`OdaFailure::code()`), or None.
    oda_failure: Option<String>,
    /// The receipt needs a signature line.
    signature_required: bool,
    /// The card asked for an advice message (CID b4).
    advice_required: bool,
    /// The issuer approved and the card declined: reverse the approval.
    reversal_required: bool,
    /// The issuer referred the transaction: `"approved"` or `"declined"`
    /// by the voice referral, None without a referral.
    referral: Option<&'static str>,
    /// The attendant forced acceptance of this card-declined transaction.
    forced_acceptance: bool,
    /// ICC data for authorisation and clearing (ISO 8583 field 55), BER-TLV.
    icc_data: Py<PyBytes>,
    /// The ICC data in hex.
    icc_data_hex: String,
    /// Issuer Script Results (9F5B), 5 bytes per script command.
    script_results: Py<PyBytes>,
}

fn set_bits(tag: u32, value: &[u8]) -> Vec<&'static str> {
    render::decode_bits(Tag(tag), value)
        .filter_map(|(name, set)| set.then_some(name))
        .collect()
}

fn text(bytes: &[u8]) -> String {
    bytes.iter().map(|&b| char::from(b)).collect()
}

impl Outcome {
    pub(crate) fn from_kernel(py: Python<'_>, o: &outcome::Outcome) -> Self {
        let bytes = |b: &[u8]| PyBytes::new(py, b).unbind();
        let (decision, reason) = match o.decision {
            Decision::Approved => ("approved", None),
            Decision::Declined => ("declined", None),
            Decision::Terminated(reason) => ("terminated", Some(reason)),
        };
        Outcome {
            decision,
            termination_reason: reason.map(|r| r.code()),
            termination_message: reason.map(|r| r.to_string()),
            online: o.online,
            authorisation_response_code: o.authorisation_response_code.map(|arc| text(&arc)),
            cryptogram_type: o.cryptogram_type.map(|c| match c {
                CryptogramType::Aac => "AAC",
                CryptogramType::Tc => "TC",
                CryptogramType::Arqc => "ARQC",
            }),
            cryptogram: o.cryptogram.map(|c| bytes(&c)),
            atc: o.atc.map(u16::from_be_bytes),
            tvr: bytes(&o.tvr.0),
            tvr_hex: hex::encode_upper(o.tvr.0),
            tvr_bits: set_bits(0x95, &o.tvr.0),
            tsi: bytes(&o.tsi.0),
            tsi_hex: hex::encode_upper(o.tsi.0),
            tsi_bits: set_bits(0x9B, &o.tsi.0),
            cvm_results: bytes(o.cvm_results.as_ref()),
            cvm_results_hex: hex::encode_upper(o.cvm_results),
            aid: bytes(&o.aid),
            aid_hex: hex::encode_upper(&o.aid),
            application_label: text(&o.application_label),
            masked_pan: text(&o.masked_pan),
            oda_method: match o.oda_method {
                OdaMethod::None => "none",
                OdaMethod::Sda => "sda",
                OdaMethod::Dda => "dda",
                OdaMethod::Cda => "cda",
                OdaMethod::Xda => "xda",
            },
            oda_result: match o.oda_result {
                OdaResult::NotPerformed => "not_performed",
                OdaResult::Succeeded => "succeeded",
                OdaResult::Failed => "failed",
            },
            oda_failure: o.oda_failure.map(|f| f.code().to_string()),
            signature_required: o.signature_required,
            advice_required: o.advice_required,
            reversal_required: o.reversal_required,
            referral: o.referral.map(|r| r.code()),
            forced_acceptance: o.forced_acceptance,
            icc_data: bytes(&o.clearing_data),
            icc_data_hex: hex::encode_upper(&o.clearing_data),
            script_results: bytes(&o.script_results),
        }
    }
}

#[pymethods]
impl Outcome {
    /// Whether the transaction was approved.
    #[getter]
    fn approved(&self) -> bool {
        self.decision == "approved"
    }

    /// Every field as a dict (bytes as hex strings), e.g. for JSON.
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let d = PyDict::new(py);
        let hex_of = |b: &Py<PyBytes>| hex::encode_upper(b.bind(py).as_bytes());
        d.set_item("decision", self.decision)?;
        d.set_item("termination_reason", self.termination_reason)?;
        d.set_item("termination_message", self.termination_message.as_deref())?;
        d.set_item("online", self.online)?;
        d.set_item(
            "authorisation_response_code",
            self.authorisation_response_code.as_deref(),
        )?;
        d.set_item("cryptogram_type", self.cryptogram_type)?;
        d.set_item("cryptogram", self.cryptogram.as_ref().map(hex_of))?;
        d.set_item("atc", self.atc)?;
        d.set_item("tvr", &self.tvr_hex)?;
        d.set_item("tvr_bits", &self.tvr_bits)?;
        d.set_item("tsi", &self.tsi_hex)?;
        d.set_item("tsi_bits", &self.tsi_bits)?;
        d.set_item("cvm_results", &self.cvm_results_hex)?;
        d.set_item("aid", &self.aid_hex)?;
        d.set_item("application_label", &self.application_label)?;
        d.set_item("masked_pan", &self.masked_pan)?;
        d.set_item("oda_method", self.oda_method)?;
        d.set_item("oda_result", self.oda_result)?;
        d.set_item("oda_failure", self.oda_failure.as_deref())?;
        d.set_item("signature_required", self.signature_required)?;
        d.set_item("advice_required", self.advice_required)?;
        d.set_item("reversal_required", self.reversal_required)?;
        d.set_item("referral", self.referral)?;
        d.set_item("forced_acceptance", self.forced_acceptance)?;
        d.set_item("icc_data", &self.icc_data_hex)?;
        d.set_item("script_results", hex_of(&self.script_results))?;
        Ok(d)
    }

    pub(crate) fn __repr__(&self) -> String {
        let mut s = format!("Outcome(decision={:?}", self.decision);
        if let Some(reason) = self.termination_reason {
            s.push_str(&format!(", termination_reason={reason:?}"));
        }
        if let Some(c) = self.cryptogram_type {
            s.push_str(&format!(", cryptogram_type={c:?}"));
        }
        s.push_str(&format!(
            ", tvr={:?}, tsi={:?}, cvm_results={:?}, masked_pan={:?})",
            self.tvr_hex, self.tsi_hex, self.cvm_results_hex, self.masked_pan
        ));
        s
    }
}

pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<Outcome>()?;
    Ok(())
}
