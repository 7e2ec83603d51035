//! `emv_kernel._native`: the Rust half of the Python package `emv_kernel`.
//!
//! The kernel, the configuration file, the simulated cards, trace replay and
//! the PC/SC reader, as Python classes. The pure-Python half
//! (`emv_kernel/__init__.py`) adds what the kernel refuses to invent: the
//! clock (date and time) and the random numbers (unpredictable number, random
//! selection number), and the `run` convenience loop.
//!
//! Nothing here panics across the boundary on bad input: every error is a
//! Python exception of the `EmvError` family.

use pyo3::prelude::*;

// The one place the crypto provider is named: every transaction and every
// CA key check sum goes through it.
use emv_kernel::crypto::RingCrypto as Crypto;

mod cards;
mod decode;
mod errors;
mod outcome;
mod pcsc;
mod replay;
mod settings;
mod transaction;

/// A fresh crypto provider (digests, RSA recovery, randomness for PIN
/// encipherment).
pub(crate) fn crypto() -> Crypto {
    Crypto::new()
}

/// The kernel's transaction over our crypto provider.
pub(crate) type KernelTransaction<'k> = emv_kernel::transaction::Transaction<'k, Crypto>;

#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    errors::register(m)?;
    decode::register(m)?;
    settings::register(m)?;
    outcome::register(m)?;
    transaction::register(m)?;
    cards::register(m)?;
    replay::register(m)?;
    pcsc::register(m)?;
    // ICS row 100: the kernel's identification for a type-approval letter.
    m.add("KERNEL_VERSION", emv_kernel::identity::VERSION)?;
    m.add("KERNEL_CHECKSUM", emv_kernel::identity::CHECKSUM)?;
    Ok(())
}
