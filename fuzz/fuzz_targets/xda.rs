//! Fuzz target: XDA's ECC certificates and signature (EMV 4.4 Book 2;
//! kernel/src/oda/xda.rs), structure-aware.
//!
//! The fuzzer writes the certificate's fields (or a GENERATE AC response);
//! flags make the harness put in the values a valid certificate has and sign
//! with the test PKI's ECC keys (test-cards/src/ecc.rs), so that every check
//! is reached, passing and failing, not only the length check.
//!
//! Input: `[target, flags, body...]`
//! - target (mod 4): 0 Issuer ECC Public Key Certificate (signed by ECC CA
//!   10 or, flag b2, CA 11 on P-521); 1 ICC ECC Public Key Certificate
//!   (signed by the P-256 test issuer key), its records the body's tail;
//!   2 the XDA signature of a GENERATE AC response: the body is the template
//!   77's value, the harness appends 9F4B; 3 the ICC ECC PIN encipherment
//!   certificate (9F2D, suite 00), laid out as target 1, and with the key
//!   it yields a PIN block is enciphered (EMV 4.4 Book 2, 13.2);
//! - flags: b0 write the fixed fields a valid certificate has (format,
//!   encoding, issuer identifier of the PAN, suite, expiry 2049-12-31, RID
//!   and index, ICCD hash algorithm); b1 write the correct ICCD hash
//!   (target 1); b2 P-521 (target 0); b3 sign with the right key, else the
//!   signature is the fuzzer's bytes; b4 one byte of the signed data is
//!   flipped after signing.
//!
//! Oracles: no panic; a success implies the harness signed the exact bytes
//! with the right key (b3 set, b4 clear: no input forges EC-SDSA), the ICC
//! certificate's ICCD hash is the hash of its certified card data, a recovered
//! key is the certified x, and a PIN enciphered with a recovered PIN key is
//! deciphered by the test card's independent side to the same PIN block.
#![no_main]

use std::sync::OnceLock;

use emv_kernel::crypto::{CryptoError, EccCurve, PortableCrypto};
use emv_kernel::date::Date;
use emv_kernel::oda::capk::CaKeyStore;
use emv_kernel::oda::pin;
use emv_kernel::oda::xda::{self, CertifiedCardData, XdaRequest};
use emv_kernel::oda::{CaKeyLookup, EccPublicKey, RevocationList};
use emv_test_cards::ecc::EccKeyPair;
use emv_test_cards::pki::TEST_RID;
use libfuzzer_sys::fuzz_target;

/// The test application's AID.
const AID: [u8; 7] = [0xA0, 0x00, 0x00, 0x09, 0x99, 0x10, 0x10];
/// The test cards' PAN, BCD.
const PAN: [u8; 8] = [0x67, 0x99, 0x99, 0x01, 0x00, 0x00, 0x60, 0x18];
const TODAY: Date = Date {
    year: 2025,
    month: 6,
    day: 15,
};
const NOW: [u8; 3] = [0x12, 0x00, 0x00];

fn crypto() -> PortableCrypto<fn(&mut [u8]) -> Result<(), CryptoError>> {
    PortableCrypto::new(|out: &mut [u8]| {
        out.fill(0xA5);
        Ok(())
    })
}

fn ca_keys() -> &'static CaKeyStore {
    static KEYS: OnceLock<CaKeyStore> = OnceLock::new();
    KEYS.get_or_init(emv_test_cards::pki::ca_key_store)
}

fn keys() -> &'static [EccKeyPair; 5] {
    static KEYS: OnceLock<[EccKeyPair; 5]> = OnceLock::new();
    KEYS.get_or_init(|| {
        [
            EccKeyPair::derive("ecc-ca-10", EccCurve::P256),
            EccKeyPair::derive("ecc-ca-11", EccCurve::P521),
            EccKeyPair::derive("ecc-issuer-p256", EccCurve::P256),
            EccKeyPair::derive("ecc-icc-p256", EccCurve::P256),
            EccKeyPair::derive("ecc-icc-pin-p256", EccCurve::P256),
        ]
    })
}

/// `signed` followed by its signature: the key's when `sign`, else the
/// fuzzer's `fallback` bytes; one signed byte flipped afterwards when `flip`.
fn seal(mut signed: Vec<u8>, key: &EccKeyPair, sign: bool, flip: bool, fallback: &[u8]) -> Vec<u8> {
    let signature = if sign {
        key.sign(&signed)
    } else {
        fallback.to_vec()
    };
    if flip {
        if let Some(byte) = signed.last_mut() {
            *byte ^= 0x01;
        }
    }
    signed.extend_from_slice(&signature);
    signed
}

fuzz_target!(|data: &[u8]| {
    let [target, flags, body @ ..] = data else {
        return;
    };
    let (valid, good_hash, p521, sign, flip) = (
        flags & 1 != 0,
        flags & 2 != 0,
        flags & 4 != 0,
        flags & 8 != 0,
        flags & 16 != 0,
    );
    let [ca_256, ca_521, issuer, icc, pin] = keys();
    let crypto = crypto();
    let revocations = RevocationList::new();
    match target % 4 {
        0 => {
            let (index, ca) = if p521 { (0x11, ca_521) } else { (0x10, ca_256) };
            let Some(ca_key) = ca_keys().key_for(&TEST_RID, index, TODAY) else {
                return;
            };
            let mut signed = body.get(..21).unwrap_or(body).to_vec();
            if valid && signed.len() == 21 {
                signed[..2].copy_from_slice(&[0x12, 0x00]);
                signed[2..7].copy_from_slice(&[0x67, 0x99, 0x99, 0xFF, 0xFF]);
                signed[7] = 0x10;
                signed[8..12].copy_from_slice(&[0x20, 0x49, 0x12, 0x31]);
                signed[15..20].copy_from_slice(&TEST_RID);
                signed[20] = index;
                signed.extend_from_slice(&issuer.x);
            } else {
                signed.extend_from_slice(body.get(21..53).unwrap_or(&[]));
            }
            let certificate = seal(signed, ca, sign, flip, body.get(53..).unwrap_or(&[]));
            let result = xda::recover_issuer_key(
                &crypto,
                ca_key,
                &certificate,
                &PAN,
                TODAY,
                NOW,
                &revocations,
            );
            if let Ok(key) = result {
                assert!(sign && !flip, "a certificate the CA did not sign passed");
                assert_eq!(key.key.x[..], issuer.x[..]);
            }
        }
        1 | 3 => {
            let pin_certificate = target % 4 == 3;
            let (suite, certified_key) = if pin_certificate {
                (0x00, pin)
            } else {
                (0x10, icc)
            };
            let split = body.len().min(17 + 32);
            let (fields, records) = body.split_at(split);
            let mut signed = fields.get(..17).unwrap_or(fields).to_vec();
            if valid && signed.len() == 17 {
                signed[..3].copy_from_slice(&[0x14, 0x00, suite]);
                signed[3..9].copy_from_slice(&[0x20, 0x49, 0x12, 0x31, 0x23, 0x59]);
                signed[15..17].copy_from_slice(&[0x00, 0x02]);
            }
            // The Issuer Certified Card Data: the records, then the AIP, the
            // AID and no PDOL, as TLVs (xda::CertifiedCardData).
            let certified_data = CertifiedCardData {
                records,
                application_interchange_profile: [0x80, 0x00],
                aid: &AID,
                pdol: None,
            };
            let mut iccd = records.to_vec();
            iccd.extend_from_slice(&[0x82, 0x02, 0x80, 0x00, 0x9F, 0x06, 0x07]);
            iccd.extend_from_slice(&AID);
            let hash = if good_hash {
                emv_test_cards::ecc::iccd_hash(0x02, &iccd)
            } else {
                fields.get(17..).unwrap_or(&[]).to_vec()
            };
            signed.extend_from_slice(&hash);
            signed.extend_from_slice(&certified_key.x);
            let certificate = seal(signed, issuer, sign, flip, records);
            let issuer_key = EccPublicKey::new(EccCurve::P256, &issuer.x).expect("P-256 x");
            let recover = if pin_certificate {
                xda::recover_icc_pin_key::<PortableCrypto<_>>
            } else {
                xda::recover_icc_key::<PortableCrypto<_>>
            };
            let result = recover(
                &crypto,
                &issuer_key,
                &certificate,
                &certified_data,
                TODAY,
                NOW,
            );
            if let Ok(key) = result {
                assert!(
                    sign && !flip,
                    "an ICC certificate the issuer did not sign passed"
                );
                let certified = certificate.get(17..49).expect("ICCD hash");
                assert_eq!(certified, &emv_test_cards::ecc::iccd_hash(0x02, &iccd)[..]);
                assert_eq!(key.key.x[..], certified_key.x[..]);
                if pin_certificate {
                    let block = [0x24, 0x12, 0x34, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF];
                    let challenge = [0x5A; 8];
                    let mut out = [0u8; 128];
                    let n = pin::encipher_pin_block_ecc(
                        &crypto, &key.key, &block, &challenge, &mut out,
                    )
                    .expect("enciphered with a recovered key");
                    assert_eq!(pin.decipher_pin(&out[..n], &challenge), Ok(block));
                }
            }
        }
        _ => {
            let (pdol_data, cdol1_data) = ([0u8; 4], [0x11u8; 8]);
            let mut signed = vec![0x15];
            signed.extend_from_slice(&pdol_data);
            signed.extend_from_slice(&cdol1_data);
            signed.extend_from_slice(body);
            let signature = if sign {
                icc.sign(&signed)
            } else {
                body.to_vec()
            };
            let mut template = body.to_vec();
            let flip = flip && !template.is_empty();
            if flip {
                if let Some(byte) = template.first_mut() {
                    *byte ^= 0x01;
                }
            }
            let mut sdad = vec![0x15];
            sdad.extend_from_slice(&signature);
            template.extend_from_slice(&[0x9F, 0x4B, sdad.len() as u8]);
            template.extend_from_slice(&sdad);
            let icc_key = EccPublicKey::new(EccCurve::P256, &icc.x).expect("P-256 x");
            let request = XdaRequest {
                pdol_data: &pdol_data,
                cdol1_data: &cdol1_data,
                cdol2_data: None,
            };
            if xda::verify(&crypto, &icc_key, &request, &template).is_ok() {
                assert!(
                    sign && !flip,
                    "a GENERATE AC response the ICC did not sign passed"
                );
            }
        }
    }
});
