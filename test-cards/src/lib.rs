//! emv-test-cards
pub mod pki;
pub mod symmetric;
