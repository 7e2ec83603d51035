//! A real PC/SC reader through `emv-pcsc` (pcsc-lite, WinSCard, macOS):
//! `PcscReader("auto" | name)` with `transmit`, and the reader list.

use std::sync::Mutex;
use std::time::Duration;

use emv_kernel::transport::{CardTransport, MAX_RESPONSE_APDU};
use emv_pcsc::{ConnectOptions, Pcsc, PcscCard, PcscError as RustPcscError, ReaderSelector};
use pyo3::prelude::*;
use pyo3::types::PyBytes;

use crate::errors::PcscError;

fn pcsc_error(error: RustPcscError) -> PyErr {
    PcscError::new_err(error.to_string())
}

/// A card in a PC/SC reader, connected exclusively.
#[pyclass(module = "emv_kernel")]
pub(crate) struct PcscReader {
    // A Mutex makes the connection shareable between threads (the class is
    // Sync); pyo3's borrow checking already serialises calls.
    card: Mutex<Option<PcscCard>>,
    name: String,
    atr: Vec<u8>,
}

#[pymethods]
impl PcscReader {
    /// Connects to the card in the reader `reader`: `"auto"` (the first
    /// reader with a card), `"=NAME"` (exact name) or a unique part of a
    /// name; waits up to `wait` seconds for a card.
    #[new]
    #[pyo3(signature = (reader="auto", wait=0.0))]
    fn new(py: Python<'_>, reader: &str, wait: f64) -> PyResult<Self> {
        let selector = ReaderSelector::from_arg(reader);
        let wait = Duration::try_from_secs_f64(wait.max(0.0))
            .map_err(|e| pyo3::exceptions::PyValueError::new_err(format!("wait: {e}")))?;
        let card = py
            .detach(|| {
                let pcsc = Pcsc::establish()?;
                pcsc.open(&selector, wait, &ConnectOptions::default())
            })
            .map_err(pcsc_error)?;
        Ok(PcscReader {
            name: card.reader().to_owned(),
            atr: card.atr().to_vec(),
            card: Mutex::new(Some(card)),
        })
    }

    /// The reader's name.
    #[getter]
    fn name(&self) -> &str {
        &self.name
    }

    /// The card's answer to reset.
    #[getter]
    fn atr<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        PyBytes::new(py, &self.atr)
    }

    /// One command APDU; the complete response (data and SW1 SW2), with the
    /// T=0 rules of Book 1 (GET RESPONSE, 6Cxx) applied.
    fn transmit<'py>(&mut self, py: Python<'py>, apdu: Vec<u8>) -> PyResult<Bound<'py, PyBytes>> {
        let mut response = [0u8; MAX_RESPONSE_APDU];
        let length = py.detach(|| {
            let mut guard = self.card.lock().unwrap_or_else(|p| p.into_inner());
            let card = guard
                .as_mut()
                .ok_or_else(|| PcscError::new_err("the reader was closed"))?;
            card.transmit(&apdu, &mut response).map_err(pcsc_error)
        })?;
        Ok(PyBytes::new(py, response.get(..length).unwrap_or(&[])))
    }

    /// Disconnects (also done when the object is collected).
    fn close(&mut self, py: Python<'_>) -> PyResult<()> {
        let taken = self.card.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(card) = taken {
            py.detach(|| card.disconnect()).map_err(pcsc_error)?;
        }
        Ok(())
    }

    fn __enter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    #[pyo3(signature = (*_exc))]
    fn __exit__(
        &mut self,
        py: Python<'_>,
        _exc: &Bound<'_, pyo3::types::PyTuple>,
    ) -> PyResult<bool> {
        self.close(py)?;
        Ok(false)
    }

    fn __repr__(&self) -> String {
        format!("PcscReader({:?})", self.name)
    }
}

/// The readers pcscd knows: (name, whether a card is present).
#[pyfunction]
fn readers(py: Python<'_>) -> PyResult<Vec<(String, bool)>> {
    py.detach(|| {
        let pcsc = Pcsc::establish()?;
        pcsc.readers()
    })
    .map(|readers| {
        readers
            .into_iter()
            .map(|r| (r.name, r.card_present))
            .collect()
    })
    .map_err(pcsc_error)
}

pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PcscReader>()?;
    m.add_function(wrap_pyfunction!(readers, m)?)?;
    Ok(())
}
