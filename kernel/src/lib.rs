//! emv-kernel: a portable EMV contact kernel.
//!
//! `#![no_std]`, no heap, sans-IO: the caller owns the card, the clock,
//! randomness, the PIN pad and the cryptography.
//!
//! Start at [`transaction::Transaction`]: create it from a
//! [`transaction::TerminalContext`] (configuration, CA keys, revocation list,
//! exception file), a [`crypto::CryptoProvider`] and the
//! [`config::TransactionInputs`], then answer each [`transaction::Request`]
//! until it is `Done` with an [`outcome::Outcome`]. [`driver::run`] is that
//! loop over a [`transport::CardTransport`].
//!
//! The modules follow the steps of EMV Book 3: [`select`] (Book 1, 12),
//! [`initiate`] (10.1), [`read`] (10.2), [`oda`] (10.3 and Book 2),
//! [`restrict`] (10.4), [`cvm`] (10.5), [`risk`] (10.6), [`action`] (10.7 and
//! 10.8), [`online`] (10.9 and 10.10), [`outcome`] (10.11). Underneath:
//! [`tlv`] (Annex B), [`dol`] (5.4), [`apdu`] (6), [`dictionary`] (Annex A),
//! [`render`] (decoders for bit fields and lists), [`tvr`] (Annex C5, C6) and
//! [`limits`] (every capacity of the kernel).
//!
//! Each step module also holds, crate-internal, its part of the transaction:
//! the state it waits in and the handling of its commands and answers (ODA's
//! in `oda/flow.rs`, the PIN methods' in `cvm/pin.rs`). [`transaction`] is the
//! dispatcher that routes each answer to the step that owns it; the data the
//! steps share (card and terminal data objects, command buffer) are in
//! `context.rs`. Step modules never import [`transaction`].
#![no_std]
#![forbid(unsafe_code)]

/// The fixed-capacity collections of the kernel's public types (`Outcome`'s
/// AID, label and clearing data, the data store): the `heapless` version the
/// kernel was built with, so callers need not match it.
pub use heapless;

pub mod action;
pub mod apdu;
pub mod config;
mod context;
pub mod crypto;
pub mod cvm;
pub mod data;
pub mod date;
pub mod dictionary;
pub mod dol;
pub mod driver;
pub mod identity;
pub mod initiate;
pub mod limits;
pub mod messages;
pub mod oda;
pub mod online;
pub mod outcome;
pub mod read;
pub mod render;
pub mod restrict;
pub mod risk;
pub mod select;
pub mod tlv;
pub mod transaction;
pub mod transport;
pub mod tvr;
