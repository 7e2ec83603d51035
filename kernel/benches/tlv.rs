//! TLV parsing throughput on a realistic card dump: everything a CDA card
//! returns from SELECT to the last READ RECORD (FCI, GPO response, six
//! records), with certificate sizes for a 1984-bit CA key, a 1408-bit issuer
//! key and a 1024-bit ICC key.
//!
//! Each of our measurements has two references measured in the same run:
//!
//! - the `iso7816-tlv` crate (what a Rust user would pick for BER-TLV)
//!   parsing the same bytes into its tree;
//! - a C BER decoder: OpenSSL's `ASN1_get_object` (libcrypto, the system's
//!   OpenSSL 3, which most terminal software already links) walking the same
//!   bytes the way `validate` does: each header read, templates descended
//!   into, primitive values skipped. The budgets issue (#17) measured
//!   openemv/emv-utils' BER iterator; that library is LGPL and not on any
//!   registry this project reaches, so OpenSSL stands in as the C peer.
//!
//! Before timing, the OpenSSL walk is checked to visit the same objects as
//! ours (offset, class, form, tag number, length), so both do equal work.
//! Before criterion starts, all are also timed in alternating short batches
//! and the ratios printed (`ratio ...` lines).
//!
//! Run: `cargo bench -p emv-kernel --bench tlv`.

use std::ffi::{c_int, c_long, c_uchar};
use std::time::{Duration, Instant};

use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use emv_kernel::data::DataStore;
use emv_kernel::limits::TLV_MAX_DEPTH;
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

extern "C" {
    /// libcrypto's BER header decoder (`openssl/asn1.h`; `openssl-sys` does
    /// not declare it). Reads one tag and length from `*pp`, looking at no
    /// more than `omax` bytes, and advances `*pp` past the header. Returns
    /// `V_ASN1_CONSTRUCTED` (0x20) for a constructed object, 0x01 for the
    /// indefinite length, and 0x80 when the header does not read or the
    /// value would end beyond `omax`.
    fn ASN1_get_object(
        pp: *mut *const c_uchar,
        plength: *mut c_long,
        ptag: *mut c_int,
        pclass: *mut c_int,
        omax: c_long,
    ) -> c_int;
}

/// `V_ASN1_CONSTRUCTED` in `openssl/asn1.h`.
const ASN1_CONSTRUCTED: c_int = 0x20;
/// The bit `ASN1_get_object` sets on an error.
const ASN1_ERROR: c_int = 0x80;
/// The bit `ASN1_get_object` sets for an indefinite length (which EMV does
/// not use and our reader refuses).
const ASN1_INDEFINITE: c_int = 0x01;

/// One object as a walk saw it, for checking that both walks do equal work.
#[derive(Debug, PartialEq, Eq)]
struct Object {
    /// Offset of the tag's first byte in the response.
    offset: usize,
    /// b8-b7 of the tag's first byte, in place (0x00, 0x40, 0x80, 0xC0).
    class: u8,
    constructed: bool,
    /// The tag number: the low five bits of the first byte, or the 7-bit
    /// groups of the subsequent bytes.
    number: u32,
    /// The value's length.
    length: usize,
}

/// The objects of one response in depth-first order, as our reader yields
/// them (`tlv::iter` and `Tlv::children`: the walk `validate` stands for).
fn our_objects(response: &[u8]) -> Vec<Object> {
    fn visit(objects: tlv::Iter<'_>, out: &mut Vec<Object>) {
        for item in objects {
            let tlv = item.unwrap();
            let tag = &tlv.raw[..tlv.tag.len()];
            let number = if tag[0] & 0x1F != 0x1F {
                u32::from(tag[0] & 0x1F)
            } else {
                tag[1..]
                    .iter()
                    .fold(0, |n, byte| (n << 7) | u32::from(byte & 0x7F))
            };
            out.push(Object {
                offset: tlv.offset,
                class: tag[0] & 0xC0,
                constructed: tlv.is_constructed(),
                number,
                length: tlv.value.len(),
            });
            if tlv.is_constructed() {
                visit(tlv.children(), out);
            }
        }
    }
    let mut out = Vec::new();
    visit(tlv::iter(response), &mut out);
    out
}

/// The C reference on one response: `ASN1_get_object` on each header,
/// descending into templates (each bounded by its end), skipping primitive
/// values, stopping at the end of the response; `visit` sees each object.
/// Padding bytes (`00`, `FF`) are not skipped: OpenSSL would read them as
/// tags, and the bench's data has none (checked by [`check_openssl_walk`]).
/// Panics when OpenSSL reports an error.
#[inline(always)]
fn openssl_walk_response(response: &[u8], mut visit: impl FnMut(Object)) -> usize {
    // ends[d]: where level d ends (level 0, the whole response).
    let mut ends = [0usize; TLV_MAX_DEPTH + 1];
    ends[0] = response.len();
    let mut depth = 0;
    let mut position = 0;
    let mut objects = 0;
    loop {
        if position >= ends[depth] {
            if depth == 0 {
                return objects;
            }
            depth -= 1;
            continue;
        }
        let start = response[position..ends[depth]].as_ptr();
        let mut p = start;
        let (mut length, mut number, mut class): (c_long, c_int, c_int) = (0, 0, 0);
        // SAFETY: `p` points at `ends[depth] - position` readable bytes of
        // `response`, and ASN1_get_object reads at most `omax` bytes; the
        // out-pointers are to live locals.
        let ret = unsafe {
            ASN1_get_object(
                &mut p,
                &mut length,
                &mut number,
                &mut class,
                (ends[depth] - position) as c_long,
            )
        };
        assert!(
            ret & (ASN1_ERROR | ASN1_INDEFINITE) == 0,
            "ASN1_get_object: {ret:#x} at offset {position}"
        );
        // SAFETY: ASN1_get_object advanced `p` within the same slice.
        let header = unsafe { p.offset_from(start) } as usize;
        // Without the error bit, the value lies within the level.
        let length = length as usize;
        let constructed = ret & ASN1_CONSTRUCTED != 0;
        visit(Object {
            offset: position,
            class: class as u8,
            constructed,
            number: number as u32,
            length,
        });
        objects += 1;
        if constructed {
            depth += 1;
            assert!(depth <= TLV_MAX_DEPTH, "nested too deep");
            ends[depth] = position + header + length;
            position += header;
        } else {
            position += header + length;
        }
    }
}

/// The C reference, walking: every object's header read by OpenSSL, nothing
/// built. Returns the number of objects.
fn openssl_walk(dump: &[Vec<u8>]) -> usize {
    dump.iter()
        .map(|response| openssl_walk_response(response, |_| {}))
        .sum()
}

/// Checks that the OpenSSL walk visits the same objects as ours (so that the
/// comparison is of equal work), and the same primitives as the data store
/// receives; returns the number of objects.
fn check_openssl_walk(dump: &[Vec<u8>]) -> usize {
    let mut primitives = 0;
    for (index, response) in dump.iter().enumerate() {
        let mut theirs = Vec::new();
        openssl_walk_response(response, |object| theirs.push(object));
        assert_eq!(
            theirs,
            our_objects(response),
            "response {index}: OpenSSL and our reader walk different objects"
        );
        primitives += theirs.iter().filter(|o| !o.constructed).count();
    }
    assert_eq!(primitives, build_stores(dump), "primitives stored");
    openssl_walk(dump)
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
    let (mut walk, mut build, mut reference, mut openssl) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
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
        openssl.push(time_batches(
            || {
                black_box(openssl_walk(black_box(dump)));
            },
            5,
        ));
    }
    let median = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let (walk, build, reference, openssl) = (
        median(&mut walk),
        median(&mut build),
        median(&mut reference),
        median(&mut openssl),
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
    println!(
        "ratio ours/openssl (ASN1_get_object walk {:.2} GB/s): walk {:.1}x, build {:.1}x",
        rate(openssl),
        openssl / walk,
        openssl / build
    );
}

fn bench(c: &mut Criterion) {
    let dump = card_dump();
    openssl::init();
    let objects = check_openssl_walk(&dump);
    println!("OpenSSL and our reader walk the same {objects} objects");
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
    group.bench_function(
        format!("reference: OpenSSL ASN1_get_object walk ({total} bytes)"),
        |b| b.iter(|| openssl_walk(black_box(&dump))),
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
