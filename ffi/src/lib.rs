//! emv-kernel-ffi: the EMV kernel's C ABI.
//!
//! A static library (`libemv_kernel_ffi.a`) and a shared one
//! (`libemv_kernel_ffi.so`) with the header `include/emv_kernel.h`, generated
//! by cbindgen from this crate (`ffi/cbindgen.toml`). The ABI follows the
//! kernel's sans-IO design: the caller creates a transaction from a
//! configuration, CA keys and the transaction inputs, then polls
//! [`emv_request`](transaction::emv_request) and answers each request
//! (`emv_on_response`, `emv_on_application_chosen`, `emv_on_pin`,
//! `emv_on_recent_amount`, `emv_on_host`, `emv_on_transport_error`) until it
//! is `EMV_REQUEST_DONE`, then reads [`emv_outcome`](transaction::emv_outcome).
//!
//! Rules every function keeps:
//! - it returns an [`emv_error`](error::emv_error) (`EMV_OK` is 0), and
//!   [`emv_last_error_detail`](error::emv_last_error_detail) gives the text of
//!   the last failure on the calling thread;
//! - no panic crosses the boundary: every body runs under
//!   `std::panic::catch_unwind` and a panic becomes `EMV_ERROR_PANIC`;
//! - every pointer is checked for null, every handle for its type, every
//!   caller buffer for its size.
//!
//! The kernel itself has no `unsafe`; this crate has it only where C memory
//! is read or written, each block with its `SAFETY:` argument.
//!
//! Feature `simulated-cards` adds the simulated cards and the test CA keys of
//! `emv-test-cards` (`emv_sim_card_new`, `emv_test_ca_keys`, ...) for
//! examples and tests; a terminal's build leaves it off.
#![deny(unsafe_op_in_unsafe_fn)]
#![warn(clippy::undocumented_unsafe_blocks)]
// The C names are the ABI: `emv_error`, `EMV_OK`, `emv_transaction`.
#![allow(non_camel_case_types, clippy::upper_case_acronyms)]

/// The crypto provider every transaction of the ABI uses. This is the only
/// place the ABI names a provider.
use emv_kernel::crypto::RingCrypto as Crypto;

pub mod config;
pub mod error;
pub mod identity;
pub mod keys;
#[cfg(feature = "simulated-cards")]
pub mod sim;
pub mod transaction;
mod util;

pub use config::*;
pub use error::*;
pub use identity::*;
pub use keys::*;
#[cfg(feature = "simulated-cards")]
pub use sim::*;
pub use transaction::*;
