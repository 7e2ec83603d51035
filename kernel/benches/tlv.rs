//! TLV parsing throughput on a realistic card dump: everything a CDA card
//! returns from SELECT to the last READ RECORD (FCI, GPO response, six
//! records), with certificate sizes for a 1984-bit CA key, a 1408-bit issuer
//! key and a 1024-bit ICC key.
//!
//! Each of our measurements has a reference measured in the same run: the
//! `iso7816-tlv` crate (what a Rust user would pick for BER-TLV) parsing the
//! same bytes into its tree. Before criterion starts, both are also timed in
//! alternating short batches and the ratios printed (`ratio ...` lines).
//!
//! Run: `cargo bench -p emv-kernel --bench tlv`.

use std::time::{Duration, Instant};

use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use emv_kernel::data::DataStore;
use emv_kernel::tlv::{self, Tag, Writer};

/// Deterministic filler standing in for signatures and certificates.
fn filler(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u8).wrapping_mul(131).wrapping_add(seed))
        .collect()
}

/// One template holding the given primitive objects.
fn template(tag: u32, objects: &[(u32, Vec<u8>)]) -> Vec<u8> {
    let mut buf = vec![0u8; 1024];
    let mut w = Writer::new(&mut buf);
    let mark = w.begin(Tag(tag)).unwrap();
    for (t, v) in objects {
        w.push(Tag(*t), v).unwrap();
    }
    w.end(mark).unwrap();
    w.as_bytes().to_vec()
}

fn h(text: &str) -> Vec<u8> {
    hex::decode(text).unwrap()
}

/// The responses of one CDA card, each as the card sends it (no SW1 SW2).
fn card_dump() -> Vec<Vec<u8>> {
    // SELECT response: FCI with PDOL and issuer discretionary data.
    let mut buf = vec![0u8; 256];
    let mut w = Writer::new(&mut buf);
    let fci = w.begin(Tag(0x6F)).unwrap();
    w.push(Tag(0x84), &h("A0000000041010")).unwrap();
    let a5 = w.begin(Tag(0xA5)).unwrap();
    w.push(Tag(0x50), b"MASTERCARD").unwrap();
    w.push(Tag(0x87), &[0x01]).unwrap();
    w.push(
        Tag(0x9F38),
        &h("9F02069F03069F1A0295055F2A029A039C019F3704"),
    )
    .unwrap();
    w.push(Tag(0x5F2D), b"enfrde").unwrap();
    let bf0c = w.begin(Tag(0xBF0C)).unwrap();
    w.push(Tag(0x9F4D), &[0x0B, 0x0A]).unwrap();
    w.push(Tag(0x9F6E), &h("08260000303000")).unwrap();
    w.end(bf0c).unwrap();
    w.end(a5).unwrap();
    w.end(fci).unwrap();
    let fci = w.as_bytes().to_vec();

    let gpo = template(
        0x77,
        &[
            (0x82, h("3900")),
            (0x94, h("08010100100102011801020020010100")),
        ],
    );
    let records = vec![
        // SFI 1: magnetic stripe image.
        template(
            0x70,
            &[
                (0x57, h("5413330089020013D2512201000000000000")),
                (0x5F20, b"CARDHOLDER/TEST          ".to_vec()),
                (0x9F1F, b"1234567890123456789012345".to_vec()),
            ],
        ),
        // SFI 2 record 1: application data, risk management, CVM, DOLs.
        template(
            0x70,
            &[
                (0x5A, h("5413330089020013")),
                (0x5F24, h("251231")),
                (0x5F25, h("200101")),
                (0x5F28, h("0840")),
                (0x5F34, h("01")),
                (0x9F07, h("FF00")),
                (0x9F08, h("0002")),
                (0x9F0D, h("B860AC8800")),
                (0x9F0E, h("0000000000")),
                (0x9F0F, h("B868BC9800")),
                (0x8E, h("000000000000000042031E031F03")),
                (
                    0x8C,
                    h("9F02069F03069F1A0295055F2A029A039C019F37049F35019F45029F4C089F3403"),
                ),
                (0x8D, h("910A8A0295059F37049F4C08")),
                (0x9F4A, h("82")),
                (0x5F30, h("0201")),
                (0x9F42, h("0840")),
                (0x9F44, h("02")),
            ],
        ),
        // SFI 2 record 2: the issuer certificate (NCA = 248 bytes for a
        // 1984-bit CA key); a 1408-bit issuer key fits in it, no remainder.
        template(0x70, &[(0x90, filler(248, 1))]),
        // SFI 3 record 1: CA key index, issuer exponent, ICC certificate
        // (NI = 176 bytes); the 1024-bit ICC key fits in it, no remainder.
        template(
            0x70,
            &[
                (0x8F, h("05")),
                (0x9F32, h("03")),
                (0x9F47, h("03")),
                (0x9F46, filler(176, 2)),
                (0x9F49, h("9F3704")),
            ],
        ),
        // SFI 3 record 2: issuer public key remainder of a key not fitting
        // the certificate on other profiles, and PIN encipherment data.
        template(
            0x70,
            &[
                (0x92, filler(36, 3)),
                (0x9F2E, h("03")),
                (0x9F2D, filler(176, 4)),
            ],
        ),
        // SFI 4 record 1: transaction log entry format and discretionary data.
        template(
            0x70,
            &[
                (0x9F4F, h("9A039F21035F2A029F02069F4E149C019F3602")),
                (0x9F05, filler(32, 5)),
                (
                    0x9F0B,
                    b"CARDHOLDER/TEST WITH A LONGER EXTENDED NAME".to_vec(),
                ),
            ],
        ),
    ];
    let mut dump = vec![fci, gpo];
    dump.extend(records);
    for response in &dump {
        tlv::validate(response).expect("bench data is well formed");
        assert!(response.len() <= 256, "a response fits one APDU");
    }
    dump
}

fn parse_all(dump: &[Vec<u8>]) -> usize {
    let mut primitives = 0;
    for response in dump {
        for item in tlv::primitives(response) {
            let (_, tlv) = item.unwrap();
            primitives += tlv.value.len();
        }
    }
    primitives
}

/// Ours, building: every primitive of each response into a data store (the
/// kernel's own store, as record reading fills it).
fn build_stores(dump: &[Vec<u8>]) -> usize {
    let mut stored = 0;
    for response in dump {
        let mut store = DataStore::new();
        for item in tlv::leaves(response) {
            let tlv = item.unwrap();
            store.insert(tlv.tag, tlv.value).unwrap();
            stored += 1;
        }
        black_box(&store);
    }
    stored
}

/// Ours, walking: every object checked, nothing built.
fn validate_all(dump: &[Vec<u8>]) {
    for response in dump {
        tlv::validate(response).unwrap();
    }
}

/// The reference: `iso7816-tlv` parsing each response into its owned tree.
fn reference_parse(dump: &[Vec<u8>]) -> usize {
    dump.iter()
        .map(|response| iso7816_tlv::ber::Tlv::parse_all(response).len())
        .sum()
}

/// Median nanoseconds per call of `f` over alternating batches.
fn time_batches(mut f: impl FnMut(), rounds: usize) -> f64 {
    let mut samples = Vec::with_capacity(rounds);
    for _ in 0..rounds {
        let start = Instant::now();
        for _ in 0..200 {
            f();
        }
        samples.push(start.elapsed().as_nanos() as f64 / 200.0);
    }
    samples.sort_by(f64::total_cmp);
    samples[samples.len() / 2]
}

/// Ours against the reference, taking turns in short batches in this
/// process, so that both see the same machine state.
fn print_ratios(dump: &[Vec<u8>]) {
    let total: usize = dump.iter().map(Vec::len).sum();
    let deadline = Instant::now() + Duration::from_secs(3);
    let (mut walk, mut build, mut reference) = (Vec::new(), Vec::new(), Vec::new());
    while Instant::now() < deadline {
        walk.push(time_batches(|| validate_all(black_box(dump)), 5));
        build.push(time_batches(
            || {
                black_box(build_stores(black_box(dump)));
            },
            5,
        ));
        reference.push(time_batches(
            || {
                black_box(reference_parse(black_box(dump)));
            },
            5,
        ));
    }
    let median = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let (walk, build, reference) = (
        median(&mut walk),
        median(&mut build),
        median(&mut reference),
    );
    let rate = |ns: f64| total as f64 / ns; // bytes per ns = GB/s
    println!(
        "ratio walk (validate) {:.2} GB/s, build (data store) {:.2} GB/s, iso7816-tlv parse {:.2} GB/s",
        rate(walk),
        rate(build),
        rate(reference)
    );
    println!(
        "ratio ours/iso7816-tlv: walk {:.1}x, build {:.1}x",
        reference / walk,
        reference / build
    );
}

fn bench(c: &mut Criterion) {
    let dump = card_dump();
    print_ratios(&dump);
    let total: usize = dump.iter().map(Vec::len).sum();
    let mut group = c.benchmark_group("tlv");
    group.throughput(Throughput::Bytes(total as u64));
    group.bench_function(
        format!("primitives of a CDA card dump ({total} bytes)"),
        |b| b.iter(|| parse_all(black_box(&dump))),
    );
    group.bench_function(format!("validate a CDA card dump ({total} bytes)"), |b| {
        b.iter(|| validate_all(black_box(&dump)))
    });
    group.bench_function(
        format!("build a data store per response ({total} bytes)"),
        |b| b.iter(|| build_stores(black_box(&dump))),
    );
    group.bench_function(
        format!("reference: iso7816-tlv parse_all ({total} bytes)"),
        |b| b.iter(|| reference_parse(black_box(&dump))),
    );
    group.bench_function(format!("find 9F46 in each response ({total} bytes)"), |b| {
        b.iter(|| {
            black_box(&dump)
                .iter()
                .filter(|r| tlv::find(r, Tag(0x9F46)).is_some())
                .count()
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
