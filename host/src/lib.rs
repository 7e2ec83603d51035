//! An EMV issuer host simulator, for a terminal under test.
//!
//! It does what an issuer does in online processing, from the issuer master
//! keys alone ([`issuer::Issuer`]): derives the ICC master keys (Book 2, A1.4
//! options A and B) and the session keys (A1.3), checks the ARQC (8.1),
//! answers with an ARPC by method 1 or 2 (8.2.1, 8.2.2) and MACs issuer
//! script commands (9.2). Or it gives a fixed answer, for negative tests.
//! [`file`](mod@file) reads both from a TOML host file; [`simulator::Host`] answers.
//!
//! `emv-terminal transact --host-file FILE` uses it with any card, in a reader
//! too; the simulated test cards (`emv-test-cards`) share its cryptography
//! ([`symmetric`]), so what they compute and what the host checks cannot drift.

#![forbid(unsafe_code)]

pub mod file;
pub mod issuer;
pub mod simulator;
pub mod symmetric;

pub use file::{load, parse, HostFileError};
pub use issuer::{AuthorisationRequest, Issuer, IssuerKeys, MasterKey, Scheme};
pub use simulator::{Answer, Host};
