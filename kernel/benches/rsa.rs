//! Time per RSA recovery with the default provider at EMV key sizes
//! (Book 2: CA keys up to 1984 bits, exponents 3 and 65537).
//!
//! Run: `cargo bench -p emv-kernel --bench rsa`

use criterion::{black_box, criterion_group, criterion_main, Criterion};
use emv_kernel::crypto::{CryptoProvider, DefaultCrypto};

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

fn recovery(c: &mut Criterion) {
    let crypto = DefaultCrypto::new();
    let keys = [
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
    let mut group = c.benchmark_group("rsa_recovery");
    for (name, text) in keys {
        let (modulus, exponent) = public_key(text);
        // Any value below the modulus: a certificate-like pattern.
        let mut input: Vec<u8> = (0..modulus.len()).map(|i| (i * 37 + 11) as u8).collect();
        input[0] = modulus[0] - 1;
        let mut output = vec![0u8; modulus.len()];
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
    }
    group.finish();

    let data = vec![0x5Au8; 2048];
    c.bench_function("sha1_2KiB", |b| b.iter(|| crypto.sha1(&[black_box(&data)])));
}

criterion_group!(benches, recovery);
criterion_main!(benches);
