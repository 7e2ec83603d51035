//! Fuzz target: certificate and signature recovery (Book 2, 5.3, 5.4, 6.3,
//! 6.4, 6.5), structure-aware.
//!
//! The fuzzer writes the plaintext; the harness frames it, fixes up what the
//! flags ask (header and trailer, the fields a valid certificate has, the
//! hash) and signs it with the test PKI's private key, so that every check of
//! Book 2 is reached, passing and failing, not only the RSA length check.
//!
//! Input: `[target, flags, remainder length, remainder..., body..., extra...]`
//! - target (mod 4): 0 Issuer Public Key Certificate (signed by CA 01),
//!   1 ICC Public Key Certificate (signed by issuer-1024), 2 Signed Static
//!   Application Data (issuer-1024), 3 Signed Dynamic Application Data (icc-1024);
//! - flags: b0 write the correct hash; b1 write header `6A` and trailer `BC`;
//!   b2 write the fields a valid certificate has (format, identifier matching
//!   the PAN, expiry 12/49, algorithms); b3 the key exponent is 3, else 65537;
//! - body: the plaintext between header and hash (modulus length - 22 bytes,
//!   padded with `BB`); extra: the static data records (target 1 and 2) or the
//!   DDOL data (target 3).
//!
//! Oracles: no panic; a success implies the hash in the block was the
//! correct one (the harness knows), and a recovered key has the declared
//! modulus length.
#![no_main]

use std::sync::OnceLock;

use emv_kernel::crypto::{CryptoError, CryptoProvider, PortableCrypto};
use emv_kernel::date::Date;
use emv_kernel::oda::capk::{CaKeyLookup, CaKeyStore};
use emv_kernel::oda::recover::{recover_icc_key, recover_issuer_key, KeyCertificate};
use emv_kernel::oda::{dda, sda, PublicKey, RevocationList, StaticData};
use emv_test_cards::pki::{KeyPair, TestPki, TEST_RID};
use libfuzzer_sys::fuzz_target;

/// The test cards' PAN, BCD with `F` padding.
const PAN: [u8; 8] = [0x67, 0x99, 0x99, 0x01, 0x00, 0x00, 0x00, 0x11];

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

fn public(key: &KeyPair) -> PublicKey {
    PublicKey::new(&key.modulus, &key.exponent).expect("test keys are valid")
}

fuzz_target!(|data: &[u8]| {
    let [target, flags, remainder_len, rest @ ..] = data else {
        return;
    };
    let (remainder, rest) = rest.split_at(usize::from(*remainder_len).min(rest.len()));
    let pki = TestPki::get();
    let target = target % 4;
    let signer = match target {
        0 => pki.ca(0x01).expect("CA 01"),
        1 | 2 => pki.key("issuer-1024"),
        _ => pki.key("icc-1024"),
    };
    let n = signer.len();
    let body_len = n - 22;
    let (body_in, extra) = rest.split_at(body_len.min(rest.len()));
    let mut body = body_in.to_vec();
    body.resize(body_len, 0xBB);
    let exponent: &[u8] = if flags & 0x08 != 0 {
        &[0x03]
    } else {
        &[0x01, 0x00, 0x01]
    };

    if flags & 0x04 != 0 {
        match target {
            0 => {
                // Book 2, Table 6: format 02, Issuer Identifier (leftmost PAN
                // digits, F-padded), expiry MMYY, serial, algorithms.
                body[0] = 0x02;
                body[1..5].copy_from_slice(&[0x67, 0x99, 0x99, 0xFF]);
                body[5..7].copy_from_slice(&[0x12, 0x49]);
                body[10] = 0x01;
                body[11] = 0x01;
                body[13] = exponent.len() as u8;
            }
            1 => {
                // Book 2, Table 14: format 04, the PAN (10 bytes, F-padded).
                body[0] = 0x04;
                body[1..11].fill(0xFF);
                body[1..9].copy_from_slice(&PAN);
                body[11..13].copy_from_slice(&[0x12, 0x49]);
                body[16] = 0x01;
                body[17] = 0x01;
                body[19] = exponent.len() as u8;
            }
            2 => {
                body[0] = 0x03;
                body[1] = 0x01;
            }
            _ => {
                body[0] = 0x05;
                body[1] = 0x01;
            }
        }
    }

    // What the hash covers after the recovered fields (Book 2, 5.3, 5.4,
    // 6.3, 6.4, 6.5): the remainder and exponent for a certificate, the
    // static data for SDA and the ICC certificate, the DDOL data for DDA.
    let static_data = StaticData {
        records: extra,
        tag_list: None,
        application_interchange_profile: [0x39, 0x00],
    };
    let sha1 = crypto();
    let correct_hash = match target {
        0 => sha1.sha1(&[&body, remainder, exponent]),
        1 => sha1.sha1(&[&body, remainder, exponent, extra]),
        2 => sha1.sha1(&[&body, extra]),
        _ => sha1.sha1(&[&body, extra]),
    };
    let hash: [u8; 20] = if flags & 0x01 != 0 {
        correct_hash
    } else {
        let mut fuzzed = [0u8; 20];
        for (out, byte) in fuzzed.iter_mut().zip(extra.iter().rev()) {
            *out = *byte;
        }
        fuzzed
    };
    let (header, trailer) = if flags & 0x02 != 0 {
        (0x6A, 0xBC)
    } else {
        (
            *body_in.first().unwrap_or(&0x6A),
            *body_in.last().unwrap_or(&0xBC),
        )
    };
    let mut block = Vec::with_capacity(n);
    block.push(header);
    block.extend_from_slice(&body);
    block.extend_from_slice(&hash);
    block.push(trailer);
    let Ok(signed) = signer.private_op(&block) else {
        return; // the block is not below the modulus: nothing to sign
    };

    let date = Date::from_bcd(&[0x25, 0x06, 0x15]).expect("date");
    let success = match target {
        0 => {
            let ca = ca_keys().key_for(&TEST_RID, 0x01, date).expect("CA 01");
            let certificate = KeyCertificate {
                certificate: &signed,
                remainder: (!remainder.is_empty()).then_some(remainder),
                exponent,
            };
            match recover_issuer_key(&sha1, ca, &certificate, &PAN, date, &RevocationList::new()) {
                Ok(key) => {
                    assert_eq!(key.key.len(), usize::from(body[12]));
                    true
                }
                Err(_) => false,
            }
        }
        1 => {
            let certificate = KeyCertificate {
                certificate: &signed,
                remainder: (!remainder.is_empty()).then_some(remainder),
                exponent,
            };
            match recover_icc_key(
                &sha1,
                &public(signer),
                &certificate,
                &PAN,
                &static_data,
                date,
            ) {
                Ok(key) => {
                    assert_eq!(key.key.len(), usize::from(body[18]));
                    true
                }
                Err(_) => false,
            }
        }
        2 => sda::verify_signed_static_data(&sha1, &public(signer), &signed, &static_data).is_ok(),
        _ => dda::verify(&sha1, &public(signer), &signed, extra).is_ok(),
    };
    if success {
        assert_eq!(
            hash, correct_hash,
            "accepted a block whose hash is not the correct one"
        );
        assert_eq!(
            (header, trailer),
            (0x6A, 0xBC),
            "accepted a block without 6A .. BC"
        );
    }
});
