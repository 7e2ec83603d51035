//! emv-kernel: a portable EMV contact kernel.
//!
//! `#![no_std]`, no heap, sans-IO: the caller owns the card, the clock,
//! randomness, the PIN pad and the cryptography.
#![no_std]
#![forbid(unsafe_code)]

pub mod action;
pub mod apdu;
pub mod config;
pub mod crypto;
pub mod cvm;
pub mod data;
pub mod date;
pub mod dictionary;
pub mod dol;
pub mod initiate;
pub mod limits;
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
pub mod driver;
