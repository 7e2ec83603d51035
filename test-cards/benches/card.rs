//! Criterion bench of full in-process card sessions: SELECT, GPO, READ
//! RECORDs, GENERATE AC through the `CardTransport` implementation.
//!
//! `cargo bench -p emv-test-cards --bench card`

use criterion::{black_box, criterion_group, criterion_main, Criterion};
use emv_kernel::transport::CardTransport;
use emv_test_cards::card::Card;
use emv_test_cards::profiles;

fn send(card: &mut Card, command: &[u8], buf: &mut [u8]) -> usize {
    match card.transmit(command, buf) {
        Ok(n) => n,
        Err(e) => panic!("transmit: {e}"),
    }
}

/// One transaction as a terminal runs it; `cda` sets the CDA bit in GENERATE AC.
fn session(card: &mut Card, cda: bool) {
    let mut buf = [0u8; emv_kernel::transport::MAX_RESPONSE_APDU];
    card.reset();
    send(card, b"\x00\xA4\x04\x00\x0E1PAY.SYS.DDF01\x00", &mut buf);
    send(card, &[0x00, 0xB2, 0x01, 0x0C, 0x00], &mut buf);
    send(
        card,
        &[
            0x00, 0xA4, 0x04, 0x00, 0x07, 0xA0, 0x00, 0x00, 0x09, 0x99, 0x10, 0x10, 0x00,
        ],
        &mut buf,
    );
    send(
        card,
        &[
            0x80, 0xA8, 0x00, 0x00, 0x07, 0x83, 0x05, 0x02, 0x50, 0xE0, 0xF8, 0xC8, 0x00,
        ],
        &mut buf,
    );
    for (sfi, records) in [(1u8, 2u8), (2, 3)] {
        for record in 1..=records {
            send(card, &[0x00, 0xB2, record, (sfi << 3) | 4, 0x00], &mut buf);
        }
    }
    let mut generate_ac = vec![0x80, 0xAE, if cda { 0x50 } else { 0x40 }, 0x00, 33];
    generate_ac.extend_from_slice(&[0x00, 0x00, 0x00, 0x00, 0x10, 0x00]);
    generate_ac.extend_from_slice(&[0; 6]);
    generate_ac.extend_from_slice(&[
        0x02, 0x50, 0, 0, 0, 0, 0, 0x09, 0x78, 0x26, 0x11, 0x25, 0x00,
    ]);
    generate_ac.extend_from_slice(&[0x12, 0x34, 0x56, 0x78, 0x22, 0x1E, 0x03, 0x00, 0x00]);
    let n = send(card, &generate_ac, &mut buf);
    black_box(&buf[..n]);
}

fn bench(c: &mut Criterion) {
    for (name, cda) in [("sda", false), ("dda", false), ("cda", true)] {
        let profile = profiles::find(name).expect("profile");
        let mut card = profile.card();
        c.bench_function(&format!("session_{name}"), |b| {
            b.iter(|| {
                // Keep the ATC from running out over millions of iterations.
                if card.atc(0).unwrap_or(0) > 60000 {
                    card = profile.card();
                }
                session(&mut card, cda)
            })
        });
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
