//! The card's symmetric cryptography: key derivation, MACs, cryptograms, ARPC.
//!
//! It lives in `emv-host` ([`emv_host::symmetric`]), shared with the issuer
//! host simulator, so the cards and the host cannot drift apart; this module
//! keeps the path the cards and their tests have always used.

pub use emv_host::symmetric::*;
