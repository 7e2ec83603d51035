//! emv-integration-tests

/// The top-level README's Rust blocks, compiled and run as doc tests so the
/// snippet users copy cannot rot.
#[doc = include_str!("../../README.md")]
#[cfg(doctest)]
pub struct Readme;
