//! Time per RSA recovery with the default provider at EMV key sizes
//! (Book 2: CA keys up to 1984 bits, exponents 3 and 65537), against
//! OpenSSL's public operation on the same keys and inputs in the same run
//! (the `openssl` crate over the system's libssl, `RSA_NO_PADDING`):
//!
//! - per call: ours `rsa::public_operation` (prepares the modulus every
//!   time) against OpenSSL building its `RSA` from the modulus and exponent
//!   every time (so it sets up its Montgomery context every time);
//! - cached: ours `RsaModulus` prepared once against one OpenSSL `RSA` object
//!   (which caches its Montgomery context after the first call).
//!
//! After the criterion groups it prints each ratio (ours / OpenSSL) from a
//! turn-taking measurement of its own (short batches, alternating, median of
//! the batches), so that both sides see the same machine load.
//!
//! Run: `cargo bench -p emv-kernel --bench rsa`

use criterion::{black_box, criterion_group, criterion_main, Criterion};
use emv_kernel::crypto::rsa::{public_operation, RsaModulus};
use emv_kernel::crypto::{CryptoError, CryptoProvider, PortableCrypto};
use emv_kernel::oda::{dda, recover, sda};
use openssl::bn::BigNum;
use openssl::rsa::{Padding, Rsa};
use std::time::{Duration, Instant};

/// The default provider with a fixed random source (PIN padding in tests only).
type TestCrypto = PortableCrypto<fn(&mut [u8]) -> Result<(), CryptoError>>;

fn test_crypto() -> TestCrypto {
    PortableCrypto::new(|out: &mut [u8]| {
        out.fill(0xA5);
        Ok(())
    })
}

#[path = "../tests/oda_support/mod.rs"]
mod oda_support;

/// The modulus and exponent of a key file in `testdata/oda` (hex `n` and `e` lines).
fn public_key(text: &str) -> (Vec<u8>, Vec<u8>) {
    let field = |name: &str| {
        let line = text
            .lines()
            .find(|line| line.starts_with(&format!("{name} ")))
            .expect("key file field");
        let digits = line[name.len() + 1..].trim();
        let digits = if digits.len() % 2 == 1 {
            format!("0{digits}")
        } else {
            digits.to_string()
        };
        hex::decode(digits).expect("hex")
    };
    (field("n"), field("e"))
}

/// The keys of the comparison: name, key file.
const KEYS: [(&str, &str); 4] = [
    (
        "1984-bit e=3",
        include_str!("../testdata/oda/ca_1984_e3.key"),
    ),
    (
        "1984-bit e=65537",
        include_str!("../testdata/oda/ca_1984_e65537.key"),
    ),
    (
        "1024-bit e=3",
        include_str!("../testdata/oda/ca_1024_e3.key"),
    ),
    (
        "1024-bit e=65537",
        include_str!("../testdata/oda/issuer_1024_e65537.key"),
    ),
];

/// Any value below the modulus: a certificate-like pattern.
fn input_for(modulus: &[u8]) -> Vec<u8> {
    let mut input: Vec<u8> = (0..modulus.len()).map(|i| (i * 37 + 11) as u8).collect();
    input[0] = modulus[0] - 1;
    input
}

fn openssl_key(modulus: &[u8], exponent: &[u8]) -> Rsa<openssl::pkey::Public> {
    Rsa::from_public_components(
        BigNum::from_slice(modulus).expect("n"),
        BigNum::from_slice(exponent).expect("e"),
    )
    .expect("OpenSSL RSA key")
}

/// OpenSSL's raw public operation; `out` must have the modulus's length.
fn openssl_public(key: &Rsa<openssl::pkey::Public>, input: &[u8], out: &mut [u8]) {
    let written = key
        .public_decrypt(input, out, Padding::NONE)
        .expect("OpenSSL public operation");
    assert_eq!(written, out.len());
}

fn recovery(c: &mut Criterion) {
    let crypto = test_crypto();
    let mut group = c.benchmark_group("rsa_recovery");
    for (name, text) in KEYS {
        let (modulus, exponent) = public_key(text);
        let input = input_for(&modulus);
        let mut output = vec![0u8; modulus.len()];
        // The two sides agree before either is timed.
        let mut reference = vec![0u8; modulus.len()];
        openssl_public(&openssl_key(&modulus, &exponent), &input, &mut reference);
        crypto
            .rsa_public(&modulus, &exponent, &input, &mut output)
            .expect("rsa");
        assert_eq!(output, reference, "{name}: ours and OpenSSL differ");
        group.bench_function(name, |b| {
            b.iter(|| {
                crypto
                    .rsa_public(
                        black_box(&modulus),
                        black_box(&exponent),
                        black_box(&input),
                        &mut output,
                    )
                    .expect("rsa");
                black_box(&output);
            })
        });
        group.bench_function(format!("{name} openssl"), |b| {
            b.iter(|| {
                let key = openssl_key(black_box(&modulus), black_box(&exponent));
                openssl_public(&key, black_box(&input), &mut output);
                black_box(&output);
            })
        });
        let prepared = RsaModulus::new(&modulus).expect("modulus");
        group.bench_function(format!("{name} cached"), |b| {
            b.iter(|| {
                prepared
                    .public_operation(black_box(&exponent), black_box(&input), &mut output)
                    .expect("rsa");
                black_box(&output);
            })
        });
        let key = openssl_key(&modulus, &exponent);
        group.bench_function(format!("{name} cached openssl"), |b| {
            b.iter(|| {
                openssl_public(&key, black_box(&input), &mut output);
                black_box(&output);
            })
        });
    }
    group.finish();

    let data = vec![0x5Au8; 2048];
    c.bench_function("sha1_2KiB", |b| b.iter(|| crypto.sha1(&[black_box(&data)])));
}

/// Median time per call of `f`, in batches that alternate with `g`'s.
fn turns(mut f: impl FnMut(), mut g: impl FnMut()) -> (Duration, Duration) {
    const BATCH: u32 = 200;
    let (mut ours, mut theirs) = (Vec::new(), Vec::new());
    for _ in 0..5 {
        f();
        g();
    }
    let deadline = Instant::now() + Duration::from_millis(1500);
    while Instant::now() < deadline || ours.len() < 21 {
        let start = Instant::now();
        for _ in 0..BATCH {
            f();
        }
        ours.push(start.elapsed() / BATCH);
        let start = Instant::now();
        for _ in 0..BATCH {
            g();
        }
        theirs.push(start.elapsed() / BATCH);
    }
    ours.sort();
    theirs.sort();
    (ours[ours.len() / 2], theirs[theirs.len() / 2])
}

/// Prints ours / OpenSSL per key, per call and cached, from turn-taking runs.
fn ratios(_: &mut Criterion) {
    println!("\nRSA public operation, ours against OpenSSL (median of alternating batches):");
    println!(
        "{:<18} {:>10} {:>10} {:>7}   {:>10} {:>10} {:>7}",
        "key", "ours", "OpenSSL", "ratio", "ours cached", "OpenSSL", "ratio"
    );
    for (name, text) in KEYS {
        let (modulus, exponent) = public_key(text);
        let input = input_for(&modulus);
        let mut a = vec![0u8; modulus.len()];
        let mut b = vec![0u8; modulus.len()];
        let (ours, theirs) = turns(
            || {
                public_operation(
                    black_box(&modulus),
                    black_box(&exponent),
                    black_box(&input),
                    &mut a,
                )
                .expect("rsa")
            },
            || {
                let key = openssl_key(black_box(&modulus), black_box(&exponent));
                openssl_public(&key, black_box(&input), &mut b);
            },
        );
        let prepared = RsaModulus::new(&modulus).expect("modulus");
        let key = openssl_key(&modulus, &exponent);
        let (ours_cached, theirs_cached) = turns(
            || {
                prepared
                    .public_operation(black_box(&exponent), black_box(&input), &mut a)
                    .expect("rsa")
            },
            || openssl_public(&key, black_box(&input), &mut b),
        );
        assert_eq!(a, b, "{name}: ours and OpenSSL differ");
        println!(
            "{:<18} {:>10.2?} {:>10.2?} {:>6.2}x   {:>10.2?} {:>10.2?} {:>6.2}x",
            name,
            ours,
            theirs,
            ours.as_secs_f64() / theirs.as_secs_f64(),
            ours_cached,
            theirs_cached,
            ours_cached.as_secs_f64() / theirs_cached.as_secs_f64(),
        );
    }
}

/// Whole ODA steps with 1984-bit CA, issuer and ICC keys (e=3): the key
/// chain as DDA and CDA need it, SDA from the card data, and one DDA signature.
fn oda_steps(c: &mut Criterion) {
    use oda_support::*;
    let crypto = test_crypto();
    let ca = ca_1984();
    let issuer = issuer_1984();
    let icc = icc_1984();
    let terminal = TerminalFixture::new(&ca);
    let card = card(&ca, &issuer, &icc);
    let ddol_data = [0x01, 0x23, 0x45, 0x67];
    let signed_dynamic = sign_data(
        &icc,
        &SignedDataFields::dynamic_data(vec![0x04, 1, 2, 3, 4], ddol_data.to_vec()),
        true,
    );
    let icc_key = icc.public();
    let mut group = c.benchmark_group("oda_1984");
    group.bench_function("issuer_and_icc_keys", |b| {
        b.iter(|| {
            recover::icc_key_for_card(
                &crypto,
                &terminal.terminal(),
                black_box(&card.card_data()),
                &card.static_data(),
            )
            .expect("chain")
        })
    });
    group.bench_function("sda", |b| {
        b.iter(|| {
            sda::authenticate(
                &crypto,
                &terminal.terminal(),
                black_box(&card.card_data()),
                &card.static_data(),
            )
            .expect("sda")
        })
    });
    group.bench_function("dda_signature", |b| {
        b.iter(|| {
            dda::verify(&crypto, &icc_key, black_box(&signed_dynamic), &ddol_data).expect("dda")
        })
    });
    group.finish();
}

criterion_group!(benches, recovery, oda_steps, ratios);
criterion_main!(benches);
