//! `Config` (the terminal configuration file, TOML, `emv_config::Settings`)
//! and `CaKeys` (CA public keys from `capk.txt` text, check sums verified).

use std::sync::Arc;

use emv_config::{CaKeys as CaKeyStore, ConfigError as RustConfigError, Settings};
use emv_kernel::oda::Date;
use pyo3::prelude::*;

use crate::errors::{with_attributes, CaKeyError, ConfigError};

/// The terminal configuration: the kernel's terminal and application
/// parameters, currency, revocation list, exception file.
#[pyclass(module = "emv_kernel", frozen)]
pub(crate) struct Config {
    pub(crate) settings: Arc<Settings>,
}

fn config_error(py: Python<'_>, error: RustConfigError) -> PyErr {
    let key = error
        .key()
        .map(|k| k.to_owned())
        .into_pyobject(py)
        .map(|o| o.unbind())
        .unwrap_or_else(|_| py.None());
    with_attributes::<ConfigError>(py, error.to_string(), &[("key", key)])
}

#[pymethods]
impl Config {
    /// The built-in defaults (they match the simulated test cards).
    #[new]
    fn new() -> Self {
        Config {
            settings: Arc::new(Settings::default()),
        }
    }

    /// Reads configuration text (TOML); missing keys keep their defaults.
    #[staticmethod]
    fn from_toml(py: Python<'_>, text: &str) -> PyResult<Self> {
        let settings = Settings::from_toml(text).map_err(|e| config_error(py, e))?;
        Ok(Config {
            settings: Arc::new(settings),
        })
    }

    /// Reads a configuration file; errors name the file and the key.
    #[staticmethod]
    fn load(py: Python<'_>, path: std::path::PathBuf) -> PyResult<Self> {
        let settings = Settings::load(&path).map_err(|e| config_error(py, e))?;
        Ok(Config {
            settings: Arc::new(settings),
        })
    }

    /// Transaction Currency Code (5F2A) as a number, e.g. 978.
    #[getter]
    fn currency_code(&self) -> u16 {
        let [high, low] = self.settings.currency_code;
        let digit = |n: u8| u16::from(n & 0x0F);
        digit(high >> 4) * 1000 + digit(high) * 100 + digit(low >> 4) * 10 + digit(low)
    }

    /// Transaction Currency Exponent (5F36): digits after the decimal point.
    #[getter]
    fn currency_exponent(&self) -> u8 {
        self.settings.currency_exponent
    }

    /// The AIDs the terminal accepts, in hex, in configuration order.
    #[getter]
    fn aids(&self) -> Vec<String> {
        self.settings
            .terminal
            .applications
            .iter()
            .map(|app| hex::encode_upper(&app.aid))
            .collect()
    }

    fn __repr__(&self) -> String {
        format!(
            "Config(currency_code={}, currency_exponent={}, aids={:?})",
            self.currency_code(),
            self.currency_exponent(),
            self.aids()
        )
    }
}

/// CA public keys (Book 2, 5.2), loaded from `capk.txt` text with every
/// check sum verified; room for 256 keys.
#[pyclass(module = "emv_kernel", frozen)]
pub(crate) struct CaKeys {
    pub(crate) store: Arc<CaKeyStore>,
    notices: Vec<String>,
}

fn today_from(today: Option<Vec<u8>>) -> PyResult<Option<Date>> {
    let Some(bytes) = today else {
        return Ok(None);
    };
    let bcd = <[u8; 3]>::try_from(bytes.as_slice()).map_err(|_| {
        pyo3::exceptions::PyValueError::new_err("today: 3 bytes of BCD YYMMDD expected")
    })?;
    Date::from_bcd(&bcd)
        .map(Some)
        .map_err(|e| pyo3::exceptions::PyValueError::new_err(format!("today: {e}")))
}

#[pymethods]
impl CaKeys {
    /// Loads `capk.txt` text: `RID index expiry rsa exponent modulus sha1 checksum`
    /// lines. `today` (BCD YYMMDD bytes) reports keys already expired as notices.
    #[staticmethod]
    #[pyo3(signature = (text, today=None))]
    fn from_capk_txt(py: Python<'_>, text: &str, today: Option<Vec<u8>>) -> PyResult<Self> {
        let today = today_from(today)?;
        let (store, notices) =
            emv_config::load_ca_keys(&crate::crypto(), text, today).map_err(|error| {
                let line = error
                    .line
                    .into_pyobject(py)
                    .map(|o| o.into_any().unbind())
                    .unwrap_or_else(|_| py.None());
                with_attributes::<CaKeyError>(py, format!("capk.txt {error}"), &[("line", line)])
            })?;
        Ok(CaKeys {
            store: Arc::from(store),
            notices: notices.iter().map(ToString::to_string).collect(),
        })
    }

    /// The CA keys of the test PKI (RID A000000999), the simulated cards' CAs.
    #[staticmethod]
    fn test_keys(py: Python<'_>) -> PyResult<Self> {
        Self::from_capk_txt(py, emv_test_cards::pki::CAPK_TXT, None)
    }

    /// The committed `test-cards/keys/capk.txt` text.
    #[staticmethod]
    fn test_capk_txt() -> &'static str {
        emv_test_cards::pki::CAPK_TXT
    }

    /// Each key as (RID in hex, CA public key index).
    #[getter]
    fn keys(&self) -> Vec<(String, u8)> {
        self.store
            .iter()
            .map(|key| (hex::encode_upper(key.rid), key.index))
            .collect()
    }

    /// What the load found worth a warning: duplicate keys, expired keys (by line).
    #[getter]
    fn notices(&self) -> Vec<String> {
        self.notices.clone()
    }

    fn __len__(&self) -> usize {
        self.store.len()
    }

    fn __repr__(&self) -> String {
        format!("CaKeys({} keys)", self.store.len())
    }
}

pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<Config>()?;
    m.add_class::<CaKeys>()?;
    Ok(())
}
