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
