//! Time per RSA recovery with the default provider at EMV key sizes
//! (Book 2: CA keys up to 1984 bits, exponents 3 and 65537).
//!
//! Run: `cargo bench -p emv-kernel --bench rsa`

use criterion::{black_box, criterion_group, criterion_main, Criterion};
use emv_kernel::crypto::{CryptoError, CryptoProvider, PortableCrypto};
use emv_kernel::oda::{dda, recover, sda};

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

fn recovery(c: &mut Criterion) {
    let crypto = test_crypto();
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

criterion_group!(benches, recovery, oda_steps);
criterion_main!(benches);
