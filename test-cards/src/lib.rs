//! Simulated EMV contact cards with a test PKI.
//!
//! One card engine ([`card::Card`]) answers the EMV command set from a
//! personalised image ([`image::CardImage`]) built from a description
//! ([`spec::CardSpec`]); [`profiles`] names the documented cards. Cryptograms
//! are real (3DES, option A, common session keys) and verify with the
//! separate [`issuer::Issuer`]; certificates and signatures are real RSA with
//! the committed test keys ([`pki`]). Cards serve in-process through
//! [`emv_kernel::transport::CardTransport`] and, with feature `vpcd`, in
//! pcscd's virtual reader through [`vpcd`] (`vpcd_card`).

pub mod card;
pub mod ecc;
pub mod encode;
pub mod image;
pub mod issuer;
pub mod pki;
pub mod profiles;
pub mod spec;
pub mod symmetric;
pub mod transport;
#[cfg(feature = "vpcd")]
pub mod vpcd;
#[cfg(feature = "vpcd")]
pub mod vpcd_card;

/// The fixed transaction inputs the test suites, the benchmark transcripts and
/// the committed traces use: a 10.00 purchase in EUR on 2025-06-15 12:00:00,
/// Unpredictable Number `11223344`, random selection number 50, sequence
/// counter 1. The test cards' dates are chosen around that day.
///
/// A fixed unpredictable number makes the tests reproducible; a terminal
/// draws a new one for every transaction.
pub const TEST_INPUTS: emv_kernel::config::TransactionInputs =
    emv_kernel::config::TransactionInputs::new(
        1_000,
        emv_kernel::config::Currency::EUR,
        [0x25, 0x06, 0x15],
        [0x12, 0x00, 0x00],
        [0x11, 0x22, 0x33, 0x44],
        50,
        1,
    );
