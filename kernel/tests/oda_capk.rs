//! CA public key store and `capk.txt` lines (Book 2, 11.2 check sum; expiry).

mod oda_support;

use emv_kernel::crypto::{CryptoError, CryptoProvider, PortableCrypto};
use emv_kernel::limits::CA_KEY_STORE_CAPACITY;
use emv_kernel::oda::capk::{parse_capk_line, CaKeyError, CapkField, CapkLineError};
use emv_kernel::oda::{CaKeyStore, CaPublicKey, Date};
use oda_support::*;

/// The default provider with a fixed random source (PIN padding in tests only).
type TestCrypto = PortableCrypto<fn(&mut [u8]) -> Result<(), CryptoError>>;

fn test_crypto() -> TestCrypto {
    PortableCrypto::new(|out: &mut [u8]| {
        out.fill(0xA5);
        Ok(())
    })
}

fn colon_hex(bytes: &[u8]) -> String {
    bytes
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(":")
}

/// A capk.txt line for the 1024-bit test CA key, with its true check sum.
fn line_for(key: &Key, expiry: &str) -> String {
    let checksum = test_crypto().sha1(&[&RID, &[CA_INDEX], &key.modulus, &key.exponent]);
    format!(
        "{} {:02x} {} rsa {} {} sha1 {}",
        colon_hex(&RID),
        CA_INDEX,
        expiry,
        colon_hex(&key.exponent),
        colon_hex(&key.modulus),
        colon_hex(&checksum)
    )
}

#[test]
fn good_line_in_colon_hex() {
    let ca = ca_1024();
    let key = parse_capk_line(&test_crypto(), &line_for(&ca, "301231"))
        .unwrap()
        .unwrap();
    assert_eq!(key.rid, RID);
    assert_eq!(key.index, CA_INDEX);
    assert_eq!(key.key, emv_kernel::oda::CaKey::Rsa(ca.public()));
    assert_eq!(
        key.expiry,
        Some(Date {
            year: 2030,
            month: 12,
            day: 31
        })
    );
}

#[test]
fn good_line_in_plain_upper_case_hex_with_exponent_65537() {
    let ca = ca_1984_f4();
    let line = line_for(&ca, "000000").replace(':', "").to_uppercase();
    let line = line.replace("RSA", "rsa").replace("SHA1", "sha1");
    let key = parse_capk_line(&test_crypto(), &line).unwrap().unwrap();
    assert_eq!(key.key.rsa().unwrap().exponent[..], [0x01, 0x00, 0x01]);
    assert_eq!(key.key.rsa().unwrap().len(), 248);
    assert_eq!(key.expiry, None);
}

#[test]
fn comments_and_blank_lines_are_skipped() {
    let crypto = test_crypto();
    assert_eq!(parse_capk_line(&crypto, ""), Ok(None));
    assert_eq!(parse_capk_line(&crypto, "   \t "), Ok(None));
    assert_eq!(parse_capk_line(&crypto, "# test keys"), Ok(None));
    let line = format!("  {}   # the test CA", line_for(&ca_1024(), "301231"));
    assert!(parse_capk_line(&crypto, &line).unwrap().is_some());
}

#[test]
fn wrong_check_sum_is_refused() {
    let line = line_for(&ca_1024(), "301231");
    // Change the last digit of the check sum.
    let mut bad = line.clone();
    let last = bad.pop().unwrap();
    bad.push(if last == '0' { '1' } else { '0' });
    assert_eq!(
        parse_capk_line(&test_crypto(), &bad),
        Err(CapkLineError::Key(CaKeyError::Checksum))
    );
}

#[test]
fn bad_fields_are_named() {
    let crypto = test_crypto();
    let line = line_for(&ca_1024(), "301231");
    let fields: Vec<&str> = line.split(' ').collect();
    let with = |index: usize, value: &str| {
        let mut changed = fields.clone();
        changed[index] = value;
        parse_capk_line(&crypto, &changed.join(" "))
    };
    assert_eq!(
        with(0, "a0:00:00:00"),
        Err(CapkLineError::InvalidField(CapkField::Rid))
    );
    assert_eq!(
        with(1, "1g"),
        Err(CapkLineError::InvalidField(CapkField::Index))
    );
    assert_eq!(
        with(2, "301331"),
        Err(CapkLineError::InvalidField(CapkField::Expiry))
    );
    assert_eq!(
        with(3, "ecc"),
        Err(CapkLineError::InvalidField(CapkField::KeyAlgorithm))
    );
    assert_eq!(
        with(4, "01:00:01:00"),
        Err(CapkLineError::InvalidField(CapkField::Exponent))
    );
    let bad_modulus = fields[5].replacen('a', "x", 1).replacen('b', "x", 1);
    assert_eq!(
        with(5, &bad_modulus),
        Err(CapkLineError::InvalidField(CapkField::Modulus))
    );
    assert_eq!(
        with(5, &"ab".repeat(249)),
        Err(CapkLineError::InvalidField(CapkField::Modulus))
    );
    assert_eq!(
        with(6, "sha256"),
        Err(CapkLineError::InvalidField(CapkField::HashAlgorithm))
    );
    assert_eq!(
        with(7, "00:11"),
        Err(CapkLineError::InvalidField(CapkField::Checksum))
    );
    assert_eq!(
        parse_capk_line(&crypto, &fields[..5].join(" ")),
        Err(CapkLineError::MissingField(CapkField::Modulus))
    );
    assert_eq!(
        parse_capk_line(&crypto, &format!("{line} extra")),
        Err(CapkLineError::TrailingText)
    );
}

#[test]
fn expired_key_is_held_but_not_used() {
    let crypto = test_crypto();
    let mut store = CaKeyStore::new();
    let key = parse_capk_line(&crypto, &line_for(&ca_1024(), "261124"))
        .unwrap()
        .unwrap();
    store.insert(key).unwrap();
    let day = |day| Date {
        year: 2026,
        month: 11,
        day,
    };
    assert!(store.get(&RID, CA_INDEX, day(24)).is_some());
    assert!(store.get(&RID, CA_INDEX, day(25)).is_none());
    assert!(store.find(&RID, CA_INDEX).is_some());
    assert!(store.get(&RID, CA_INDEX + 1, day(1)).is_none());
}

#[test]
fn store_replaces_removes_and_fills_up() {
    let crypto = test_crypto();
    let ca = ca_1024();
    let mut store = CaKeyStore::new();
    let key = |index: u8| {
        CaPublicKey::new(&crypto, RID, index, &ca.modulus, &ca.exponent, None, None).unwrap()
    };
    store.insert(key(1)).unwrap();
    store.insert(key(1)).unwrap();
    assert_eq!(store.len(), 1);
    assert!(store.remove(&RID, 1));
    assert!(!store.remove(&RID, 1));
    for index in 0..CA_KEY_STORE_CAPACITY {
        store.insert(key(index as u8)).unwrap();
    }
    assert_eq!(
        store.insert(key(0xFF)),
        Err(CaKeyError::StoreFull {
            capacity: CA_KEY_STORE_CAPACITY
        })
    );
    // Replacing a held key still works when full.
    assert!(store.insert(key(0)).is_ok());
}

#[test]
fn key_sizes_are_bounded() {
    let crypto = test_crypto();
    assert_eq!(
        CaPublicKey::new(&crypto, RID, 1, &[0xFF; 249], &[3], None, None),
        Err(CaKeyError::KeySize)
    );
    assert_eq!(
        CaPublicKey::new(&crypto, RID, 1, &[0xFF; 128], &[1, 0, 0, 1], None, None),
        Err(CaKeyError::KeySize)
    );
}

/// One `capk.txt` line for the test CA key under `index`, with its true check sum.
fn capk_line(index: u8, expiry: &str) -> String {
    let ca = ca_1024();
    let crypto = test_crypto();
    let key = CaPublicKey::new(&crypto, RID, index, &ca.modulus, &ca.exponent, None, None).unwrap();
    let hex = |bytes: &[u8]| bytes.iter().map(|b| format!("{b:02x}")).collect::<String>();
    format!(
        "{} {:02x} {expiry} rsa {} {} sha1 {}",
        hex(&RID),
        index,
        hex(&ca.exponent),
        hex(&ca.modulus),
        hex(&key.checksum(&crypto))
    )
}

#[test]
fn a_published_size_list_loads_into_a_store_of_chosen_capacity() {
    // Published lists of test and live keys hold over 130 keys.
    let text: String = (0..150u8)
        .map(|index| capk_line(index, "000000") + "\n")
        .collect();
    let crypto = test_crypto();
    let mut store = CaKeyStore::<160>::empty();
    let mut notices = Vec::new();
    let loaded = store
        .load_capk_txt(&crypto, &text, None, |n| notices.push(n))
        .unwrap();
    assert_eq!((loaded, store.len(), store.capacity()), (150, 150, 160));
    assert!(notices.is_empty());
    // The default store is smaller: the load stops at the line that does not
    // fit, and the error names the line and the capacity.
    let mut small = CaKeyStore::new();
    let error = small
        .load_capk_txt(&crypto, &text, None, |_| {})
        .unwrap_err();
    assert_eq!(error.line, CA_KEY_STORE_CAPACITY + 1);
    assert_eq!(
        error.to_string(),
        format!(
            "line {}: the CA key store is full: it holds at most {CA_KEY_STORE_CAPACITY} keys (choose a larger CaKeyStore<N>)",
            CA_KEY_STORE_CAPACITY + 1
        )
    );
}

#[test]
fn duplicates_and_expired_keys_are_reported_with_their_lines() {
    let text = [
        "# test keys".to_owned(),
        capk_line(0x01, "000000"),
        capk_line(0x02, "101231"),
        String::new(),
        capk_line(0x01, "301231"),
    ]
    .join("\n");
    let crypto = test_crypto();
    let mut store = CaKeyStore::new();
    let mut notices = Vec::new();
    let today = Date {
        year: 2026,
        month: 12,
        day: 2,
    };
    let loaded = store
        .load_capk_txt(&crypto, &text, Some(today), |n| notices.push(n))
        .unwrap();
    assert_eq!((loaded, store.len()), (3, 2));
    assert_eq!(
        notices,
        [
            emv_kernel::oda::CapkNotice::Expired {
                line: 3,
                rid: RID,
                index: 0x02,
                expiry: Date {
                    year: 2010,
                    month: 12,
                    day: 31
                }
            },
            emv_kernel::oda::CapkNotice::Duplicate {
                line: 5,
                rid: RID,
                index: 0x01
            },
        ]
    );
    assert_eq!(
        notices[0].to_string(),
        "line 3: RID A000000999 index 02 expired on 2010-12-31 and will not be used"
    );
    // The later line replaced the earlier key: its expiry is the one held.
    assert!(store.find(&RID, 0x01).unwrap().expiry.is_some());
}

#[test]
fn a_bad_line_stops_the_load_with_its_number_and_a_readable_reason() {
    let mut bad = capk_line(0x03, "000000");
    bad.replace_range(bad.len() - 2.., "00");
    let text = format!("{}\n{bad}\n", capk_line(0x01, "000000"));
    let crypto = test_crypto();
    let mut store = CaKeyStore::new();
    let error = store
        .load_capk_txt(&crypto, &text, None, |_| {})
        .unwrap_err();
    assert_eq!(error.line, 2);
    assert_eq!(
        error.to_string(),
        "line 2: the check sum does not match SHA-1 over RID, index, modulus and exponent"
    );
    assert_eq!(store.len(), 1, "keys before the bad line stay loaded");
}

// Elliptic-curve CA keys (EMV 4.4 Book 2, XDA): `ecc-p256` / `ecc-p521` lines.

/// The x-coordinate of the Book E example issuer key (a P-256 point).
const P256_X: &str = "CD7400578B1164FEA954658C763C5A94FB3514FA89DB5B3B447AE8F4D5DF870A";

fn ecc_line(algorithm: &str, index: u8, x: &[u8], suite: u8) -> String {
    let crypto = test_crypto();
    let checksum = crypto.sha1(&[&RID, &[index], &[suite], x]);
    format!(
        "{} {index:02x} 301231 {algorithm} {} sha1 {}",
        colon_hex(&RID),
        colon_hex(x),
        colon_hex(&checksum)
    )
}

#[test]
fn an_ecc_p256_line_loads_with_its_curve_and_point() {
    let crypto = test_crypto();
    let x = hex::decode(P256_X).unwrap();
    let key = parse_capk_line(&crypto, &ecc_line("ecc-p256", 0xE0, &x, 0x10))
        .unwrap()
        .unwrap();
    let ecc = key.key.ecc().expect("an ECC key");
    assert_eq!(ecc.curve, emv_kernel::crypto::EccCurve::P256);
    assert_eq!(ecc.x[..], x[..]);
    assert!(key.key.rsa().is_none());
    assert_eq!(key.index, 0xE0);
}

#[test]
fn ecc_lines_are_checked_when_loaded() {
    let crypto = test_crypto();
    let x = hex::decode(P256_X).unwrap();
    // Wrong suite in the check sum.
    assert_eq!(
        parse_capk_line(&crypto, &ecc_line("ecc-p256", 0xE0, &x, 0x11)),
        Err(CapkLineError::Key(CaKeyError::Checksum))
    );
    // An x that is not on the curve, with a true check sum.
    let mut off_curve = None;
    for last in 0u8..=40 {
        let mut candidate = x.clone();
        candidate[31] = last;
        if crypto
            .ecc_check_point(emv_kernel::crypto::EccCurve::P256, &candidate)
            .is_err()
        {
            off_curve = Some(candidate);
            break;
        }
    }
    let off_curve = off_curve.expect("an x off the curve");
    assert_eq!(
        parse_capk_line(&crypto, &ecc_line("ecc-p256", 0xE0, &off_curve, 0x10)),
        Err(CapkLineError::Key(CaKeyError::InvalidPoint))
    );
    // A P-256 x given as a P-521 key: wrong length.
    assert_eq!(
        parse_capk_line(&crypto, &ecc_line("ecc-p521", 0xE0, &x, 0x11)),
        Err(CapkLineError::InvalidField(CapkField::EccPoint))
    );
    // Unknown algorithm.
    assert_eq!(
        parse_capk_line(&crypto, &ecc_line("ecc-p384", 0xE0, &x, 0x10)),
        Err(CapkLineError::InvalidField(CapkField::KeyAlgorithm))
    );
    // Text after the check sum.
    let line = ecc_line("ecc-p256", 0xE0, &x, 0x10) + " extra";
    assert_eq!(
        parse_capk_line(&crypto, &line),
        Err(CapkLineError::TrailingText)
    );
}

#[test]
fn a_store_holds_rsa_and_ecc_keys_side_by_side() {
    let crypto = test_crypto();
    let x = hex::decode(P256_X).unwrap();
    let text = format!(
        "{}\n{}\n",
        line_for(&ca_1024(), "301231"),
        ecc_line("ecc-p256", 0xE0, &x, 0x10)
    );
    let mut store = CaKeyStore::new();
    assert_eq!(store.load_capk_txt(&crypto, &text, None, |_| {}), Ok(2));
    assert!(store.find(&RID, 0xE0).unwrap().key.ecc().is_some());
}

/// A provider that does not implement the ECC operations (written before
/// XDA) still loads a `capk.txt` with ECC lines: the RSA keys work, the ECC
/// key cannot verify anything.
#[test]
fn a_provider_without_ecc_still_loads_the_file() {
    struct RsaOnly(TestCrypto);
    impl CryptoProvider for RsaOnly {
        fn sha1(&self, parts: &[&[u8]]) -> [u8; 20] {
            self.0.sha1(parts)
        }
        fn sha256(&self, parts: &[&[u8]]) -> [u8; 32] {
            self.0.sha256(parts)
        }
        fn rsa_public(
            &self,
            m: &[u8],
            e: &[u8],
            i: &[u8],
            o: &mut [u8],
        ) -> Result<(), CryptoError> {
            self.0.rsa_public(m, e, i, o)
        }
        fn random(&self, out: &mut [u8]) -> Result<(), CryptoError> {
            self.0.random(out)
        }
    }
    let x = hex::decode(P256_X).unwrap();
    let text = format!(
        "{}\n{}\n",
        ecc_line("ecc-p256", 0xE0, &x, 0x10),
        line_for(&ca_1024(), "301231")
    );
    let mut store = CaKeyStore::new();
    assert_eq!(
        store.load_capk_txt(&RsaOnly(test_crypto()), &text, None, |_| {}),
        Ok(2)
    );
}
