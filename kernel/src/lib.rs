//! emv-kernel: a portable EMV contact kernel.
//!
//! `#![no_std]`, no heap, sans-IO: the caller owns the card, the clock,
//! randomness, the PIN pad and the cryptography.
#![no_std]
#![forbid(unsafe_code)]

pub mod limits;
pub mod transport;
pub mod tvr;
pub mod tlv;
pub mod crypto;
pub mod dictionary;
pub mod date;
pub mod restrict;
pub mod cvm;
pub mod risk;
pub mod action;
pub mod dol;
pub mod render;
pub mod apdu;
pub mod oda;
