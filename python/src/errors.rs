//! The exception classes: `EmvError` and one subclass per kind of failure,
//! each carrying the Rust error's message (and, where it has one, its
//! position as attributes).

use pyo3::create_exception;
use pyo3::exceptions::PyException;
use pyo3::prelude::*;

create_exception!(
    emv_kernel,
    EmvError,
    PyException,
    "Base class of every error of emv_kernel."
);
create_exception!(
    emv_kernel,
    TlvError,
    EmvError,
    "Malformed BER-TLV: `kind` says what was wrong, `offset` at which byte."
);
create_exception!(
    emv_kernel,
    UsageError,
    EmvError,
    "An answer that does not fit the transaction's pending request, or invalid transaction inputs."
);
create_exception!(
    emv_kernel,
    ConfigError,
    EmvError,
    "The terminal configuration (TOML) is invalid; `key` names the key when known."
);
create_exception!(
    emv_kernel,
    CaKeyError,
    EmvError,
    "A capk.txt line is invalid; `line` is its number (from 1)."
);
create_exception!(
    emv_kernel,
    CardError,
    EmvError,
    "The simulated card could not answer (unknown profile, T=0 sequence that does not settle)."
);
create_exception!(
    emv_kernel,
    PcscError,
    EmvError,
    "The PC/SC service, reader or card failed (no reader, no card, card removed, service stopped)."
);
create_exception!(
    emv_kernel,
    TraceError,
    EmvError,
    "A trace file cannot be read or parsed; `line` is the line (0 for the whole file)."
);

/// An exception of class `T` with `message`, and attributes set on it.
pub(crate) fn with_attributes<T: pyo3::type_object::PyTypeInfo>(
    py: Python<'_>,
    message: String,
    attributes: &[(&str, Py<PyAny>)],
) -> PyErr {
    let error = PyErr::new::<T, _>(message);
    let value = error.value(py);
    for (name, attribute) in attributes {
        // Setting an attribute on a fresh exception instance cannot fail.
        let _ = value.setattr(*name, attribute.bind(py));
    }
    error
}

pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    m.add("EmvError", py.get_type::<EmvError>())?;
    m.add("TlvError", py.get_type::<TlvError>())?;
    m.add("UsageError", py.get_type::<UsageError>())?;
    m.add("ConfigError", py.get_type::<ConfigError>())?;
    m.add("CaKeyError", py.get_type::<CaKeyError>())?;
    m.add("CardError", py.get_type::<CardError>())?;
    m.add("PcscError", py.get_type::<PcscError>())?;
    m.add("TraceError", py.get_type::<TraceError>())?;
    Ok(())
}
