//! Every public error type of the kernel says in words what was wrong, and
//! is a `core::error::Error`, so an integrator's `?` and `{}` work.

use core::error::Error;

use emv_kernel::action::CardActionError;
use emv_kernel::apdu::{ApduError, RequestedCryptogram};
use emv_kernel::crypto::CryptoError;
use emv_kernel::cvm::CvmFormatError;
use emv_kernel::data::StoreError;
use emv_kernel::date::DateError;
use emv_kernel::dol::{BuildError, DolError, DolErrorKind};
use emv_kernel::oda::capk::{CaKeyError, CapkField, CapkFileError, CapkLineError};
use emv_kernel::oda::revocation::RevocationListFull;
use emv_kernel::oda::{CertificateCheck, OdaFailure, SignatureCheck};
use emv_kernel::outcome::TerminationReason;
use emv_kernel::render::{AflError, CvmListError};
use emv_kernel::restrict::CardFormatError;
use emv_kernel::risk::RiskConfigError;
use emv_kernel::tlv::{self, ErrorKind, Tag};
use emv_kernel::transaction::UsageError;

fn errors() -> Vec<Box<dyn Error>> {
    vec![
        Box::new(CardActionError::HigherThanRequested {
            requested: RequestedCryptogram::Aac,
            returned: RequestedCryptogram::Tc,
        }),
        Box::new(ApduError::DataTooLong),
        Box::new(CryptoError::InvalidModulus),
        Box::new(CvmFormatError::TooManyRules),
        Box::new(CvmFormatError::Malformed(CvmListError::OddLength)),
        Box::new(StoreError::Full),
        Box::new(StoreError::Duplicate(Tag(0x5A))),
        Box::new(DateError::OutOfRange),
        Box::new(BuildError::Dol(DolError {
            kind: DolErrorKind::TruncatedTag,
            offset: 3,
        })),
        Box::new(CaKeyError::StoreFull { capacity: 64 }),
        Box::new(CapkFileError {
            line: 7,
            error: CapkLineError::InvalidField(CapkField::Modulus),
        }),
        Box::new(RevocationListFull),
        Box::new(OdaFailure::IssuerCertificate(CertificateCheck::Expired)),
        Box::new(OdaFailure::DynamicSignature(SignatureCheck::Hash)),
        Box::new(OdaFailure::Missing(Tag(0x9F46))),
        Box::new(AflError::Length),
        Box::new(CardFormatError { tag: 0x5F24 }),
        Box::new(RiskConfigError::RandomOutOfRange),
        Box::new(tlv::Error {
            kind: ErrorKind::LengthBeyondInput,
            offset: 12,
        }),
        Box::new(UsageError::InvalidPin),
    ]
}

#[test]
fn every_error_displays_in_words_not_its_rust_name() {
    for error in errors() {
        let text = error.to_string();
        let debug = format!("{error:?}");
        assert!(!text.is_empty());
        assert_ne!(text, debug, "{debug} displays as its Debug form");
        // The variant's Rust name (e.g. `StoreFull`, `InvalidField`) is not
        // what a person reads.
        let variant = debug.split(['(', ' ', '{']).next().unwrap_or_default();
        assert!(
            !text.contains(variant),
            "{debug}: message {text:?} repeats the Rust name {variant}"
        );
    }
}

#[test]
fn messages_name_the_field_and_the_limit() {
    assert_eq!(
        CapkFileError {
            line: 7,
            error: CapkLineError::InvalidField(CapkField::Modulus),
        }
        .to_string(),
        "line 7: invalid modulus (1 to 248 bytes of hex)"
    );
    assert_eq!(
        CaKeyError::StoreFull { capacity: 64 }.to_string(),
        "the CA key store is full: it holds at most 64 keys (choose a larger CaKeyStore<N>)"
    );
    assert_eq!(
        OdaFailure::IssuerCertificate(CertificateCheck::Expired).to_string(),
        "Issuer Public Key Certificate (90): the certificate expired before the transaction date"
    );
    assert_eq!(
        OdaFailure::IssuerCertificate(CertificateCheck::Expired)
            .code()
            .to_string(),
        "issuer_certificate.expired"
    );
    assert_eq!(
        OdaFailure::Missing(Tag(0x9F46)).code().to_string(),
        "missing.9F46"
    );
    assert_eq!(
        TerminationReason::CardError {
            instruction: 0xB2,
            status: 0x6A82
        }
        .to_string(),
        "the card answered the command with INS B2 with status 6A82"
    );
    assert_eq!(TerminationReason::StepLimit.code(), "step_limit");
}

#[test]
fn wrapped_errors_expose_their_source() {
    let capk = CapkFileError {
        line: 2,
        error: CapkLineError::Key(CaKeyError::Checksum),
    };
    let source = capk.source().expect("the line error");
    assert_eq!(
        source.to_string(),
        "the check sum does not match SHA-1 over RID, index, modulus and exponent"
    );
}
