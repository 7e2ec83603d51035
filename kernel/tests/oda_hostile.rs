//! Hostile card bytes: whatever the card returns, ODA ends in a defined
//! outcome (a value or an `OdaFailure`), never a panic.

mod oda_support;

use emv_kernel::crypto::{CryptoError, PortableCrypto};
use emv_kernel::oda::capk::parse_capk_line;
use emv_kernel::oda::cda::{self, CdaRequest};
use emv_kernel::oda::recover::{recover_icc_key, recover_issuer_key, KeyCertificate};
use emv_kernel::oda::{dda, sda, StaticData};
use oda_support::*;
use proptest::prelude::*;

/// The default provider with a fixed random source (PIN padding in tests only).
type TestCrypto = PortableCrypto<fn(&mut [u8]) -> Result<(), CryptoError>>;

fn test_crypto() -> TestCrypto {
    PortableCrypto::new(|out: &mut [u8]| {
        out.fill(0xA5);
        Ok(())
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn any_issuer_certificate_bytes(
        certificate in proptest::collection::vec(any::<u8>(), 0..260),
        remainder in proptest::option::of(proptest::collection::vec(any::<u8>(), 0..64)),
        exponent in proptest::collection::vec(any::<u8>(), 0..5),
        pan in proptest::collection::vec(any::<u8>(), 0..12),
    ) {
        let ca = ca_1024();
        let terminal = TerminalFixture::new(&ca);
        let ca_key = terminal.ca_keys.find(&RID, CA_INDEX).unwrap();
        let _ = recover_issuer_key(
            &test_crypto(),
            ca_key,
            &KeyCertificate { certificate: &certificate, remainder: remainder.as_deref(), exponent: &exponent },
            &pan,
            today(),
            &terminal.revocations,
        );
    }

    #[test]
    fn any_certificate_below_the_modulus(
        body in proptest::collection::vec(any::<u8>(), 127),
        records in proptest::collection::vec(any::<u8>(), 0..64),
        tag_list in proptest::option::of(proptest::collection::vec(any::<u8>(), 0..4)),
    ) {
        // A certificate of the right length, so recovery runs and the checks
        // see arbitrary recovered bytes.
        let issuer = issuer_1024();
        let mut certificate = vec![0u8];
        certificate.extend_from_slice(&body);
        let static_data = StaticData {
            records: &records,
            tag_list: tag_list.as_deref(),
            application_interchange_profile: AIP,
        };
        let _ = recover_icc_key(
            &test_crypto(),
            &issuer.public(),
            &KeyCertificate { certificate: &certificate, remainder: None, exponent: &[3] },
            &PAN,
            &static_data,
            today(),
        );
        let _ = sda::verify_signed_static_data(&test_crypto(), &issuer.public(), &certificate, &static_data);
        let _ = dda::verify(&test_crypto(), &issuer.public(), &certificate, &records);
    }

    #[test]
    fn any_generate_ac_response(
        response in proptest::collection::vec(any::<u8>(), 0..300),
        prefix in proptest::collection::vec(any::<u8>(), 0..8),
    ) {
        let request = CdaRequest {
            unpredictable_number: &prefix,
            pdol_data: &prefix,
            cdol1_data: &[],
            cdol2_data: None,
        };
        let _ = cda::verify(&test_crypto(), &icc_768().public(), &request, &response);
        // Also with a well-formed 9F4B of the right length wrapped around noise.
        let mut template = vec![0x9F, 0x27, 0x01, 0x40, 0x9F, 0x4B, 0x60];
        template.extend(response.iter().copied().cycle().take(96));
        if let Some(first) = template.get_mut(7) {
            *first = 0;
        }
        let _ = cda::verify(&test_crypto(), &icc_768().public(), &request, &template);
    }

    #[test]
    fn any_capk_line(line in "\\PC{0,300}") {
        let _ = parse_capk_line(&test_crypto(), &line);
    }

    #[test]
    fn capk_like_lines(
        fields in proptest::collection::vec("[0-9a-fA-F:]{0,40}|rsa|sha1|#", 0..10),
    ) {
        let _ = parse_capk_line(&test_crypto(), &fields.join(" "));
    }
}
