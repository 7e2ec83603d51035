//! The simulated cards of `emv-test-cards`: `SimulatedCard(profile)` with
//! `transmit`, the profile list, and a test issuer answer for online cards.

use emv_kernel::tlv::{self, Tag};
use emv_test_cards::card::Card;
use emv_test_cards::issuer::Issuer;
use emv_test_cards::profiles;
use pyo3::prelude::*;
use pyo3::types::PyBytes;

use crate::errors::CardError;
use crate::transaction::HostResponse;

/// A simulated EMV contact card of a named profile (see `profiles()`), in
/// process: real 3DES cryptograms and RSA signatures under the test PKI.
#[pyclass(module = "emv_kernel")]
pub(crate) struct SimulatedCard {
    profile: &'static str,
    card: Card,
}

#[pymethods]
impl SimulatedCard {
    /// A fresh card of `profile` (e.g. `"cda"`).
    #[new]
    fn new(profile: &str) -> PyResult<Self> {
        let found = profiles::find(profile).ok_or_else(|| {
            CardError::new_err(format!(
                "no profile named {profile:?}; profiles(): {}",
                profiles::all()
                    .iter()
                    .map(|p| p.name)
                    .collect::<Vec<_>>()
                    .join(", ")
            ))
        })?;
        Ok(SimulatedCard {
            profile: found.name,
            card: found.card(),
        })
    }

    /// The profile's name.
    #[getter]
    fn profile(&self) -> &'static str {
        self.profile
    }

    /// The answer to reset.
    #[getter]
    fn atr<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        PyBytes::new(py, &self.card.image().atr)
    }

    /// Ends the session (keeps counters and blocked state); returns the ATR.
    fn reset<'py>(&mut self, py: Python<'py>) -> Bound<'py, PyBytes> {
        PyBytes::new(py, self.card.reset())
    }

    /// One command APDU; the complete response (data and SW1 SW2), with
    /// T=0 `61xx`/`6Cxx` resolved as a reader driver does.
    fn transmit<'py>(&mut self, py: Python<'py>, apdu: Vec<u8>) -> PyResult<Bound<'py, PyBytes>> {
        let response = self
            .card
            .exchange(&apdu)
            .map_err(|e| CardError::new_err(e.to_string()))?;
        Ok(PyBytes::new(py, &response))
    }

    /// The test issuer's answer to an authorisation request (`GoOnline`'s
    /// ICC data): approved (ARC `00`) or declined (`05`), with the ARPC
    /// (Book 2, 8.2.1 method 1) made with this card's keys. The ARQC itself
    /// is not verified here.
    #[pyo3(signature = (icc_data, approve=true))]
    fn authorise(&self, icc_data: Vec<u8>, approve: bool) -> PyResult<HostResponse> {
        let field = |tag: u32| tlv::find(&icc_data, Tag(tag));
        let arqc = field(0x9F26).and_then(|v| <[u8; 8]>::try_from(v).ok());
        let atc = field(0x9F36).and_then(|v| <[u8; 2]>::try_from(v).ok());
        let aid = field(0x84).unwrap_or(&[]);
        let image = self.card.image();
        let app = image
            .apps
            .iter()
            .find(|app| app.aid == aid)
            .or_else(|| image.apps.first());
        let (Some(arqc), Some(atc), Some(app)) = (arqc, atc, app) else {
            return Err(CardError::new_err(
                "ICC data without ARQC (9F26) and ATC (9F36), or a card without applications",
            ));
        };
        let code = if approve { *b"00" } else { *b"05" };
        let data = Issuer::test_issuer().issuer_authentication_data(
            &app.pan,
            app.pan_sequence,
            u16::from_be_bytes(atc),
            arqc,
            code,
        );
        Ok(HostResponse::from_parts(
            approve,
            code,
            Some(data.to_vec()),
            Vec::new(),
        ))
    }

    fn __repr__(&self) -> String {
        format!("SimulatedCard({:?})", self.profile)
    }
}

/// The simulated card profiles: (name, what it exercises, expected outcome
/// with the default terminal).
#[pyfunction]
fn profiles_table() -> Vec<(&'static str, &'static str, &'static str)> {
    profiles::all()
        .iter()
        .map(|p| (p.name, p.exercises, p.expected))
        .collect()
}

pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<SimulatedCard>()?;
    m.add_function(wrap_pyfunction!(profiles_table, m)?)?;
    Ok(())
}
