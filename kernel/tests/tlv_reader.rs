//! Byte-level vectors for the BER-TLV reader and writer.

use emv_kernel::limits::TLV_MAX_DEPTH;
use emv_kernel::tlv::*;

fn hex(s: &str) -> heapless::Vec<u8, 512> {
    let digits: heapless::Vec<u8, 1024> = s.bytes().filter(|b| b.is_ascii_hexdigit()).collect();
    digits
        .chunks(2)
        .map(|p| {
            let v = |c: u8| (c as char).to_digit(16).unwrap() as u8;
            (v(p[0]) << 4) | v(p[1])
        })
        .collect()
}

/// A PSE FCI as a real card returns it (Book 1, 12.2.4).
const PSE_FCI: &str = "6F 1E 84 0E 31 50 41 59 2E 53 59 53 2E 44 44 46 30 31 A5 0C 88 01 01 5F 2D 02 65 6E 9F 11 01 01";

#[test]
fn reads_a_pse_fci() {
    let bytes = hex(PSE_FCI);
    let fci = parse_single(&bytes).unwrap();
    assert_eq!(fci.tag, Tag(0x6F));
    assert_eq!(fci.offset, 0);
    assert_eq!(fci.raw.len(), bytes.len());
    let children: heapless::Vec<Tlv, 4> = fci.children().map(|c| c.unwrap()).collect();
    assert_eq!(children[0].tag, Tag(0x84));
    assert_eq!(children[0].value, b"1PAY.SYS.DDF01");
    assert_eq!(children[0].offset, 2);
    assert_eq!(children[1].tag, Tag(0xA5));
    assert_eq!(find(&bytes, Tag(0x88)), Some(&[0x01][..]));
    assert_eq!(find(&bytes, Tag(0x5F2D)), Some(&b"en"[..]));
    assert_eq!(find(&bytes, Tag(0x9F11)), Some(&[0x01][..]));
    assert_eq!(find(&bytes, Tag(0x9F12)), None);
    let t = find_tlv(&bytes, Tag(0x9F11)).unwrap().unwrap();
    assert_eq!(t.offset, 28);
}

#[test]
fn tag_forms() {
    assert_eq!(Tag(0x5A).len(), 1);
    assert_eq!(Tag(0x9F02).len(), 2);
    assert_eq!(Tag(0xBF0C).len(), 2);
    assert_eq!(Tag(0xDF8101).len(), 3);
    assert!(Tag(0xBF0C).is_constructed());
    assert!(Tag(0x70).is_constructed());
    assert!(!Tag(0x9F02).is_constructed());
    assert_eq!(Tag(0x9F02).class(), 2);
    let three = hex("DF 81 01 01 AA");
    let t = parse_single(&three).unwrap();
    assert_eq!(t.tag, Tag(0xDF8101));
    assert_eq!(t.value, &[0xAA]);

    assert_eq!(format!("{}", Tag(0x9F02)), "9F02");
}

#[test]
fn long_lengths_including_non_minimal() {
    let mut buf = [0u8; 300];
    buf[..3].copy_from_slice(&[0x70, 0x81, 0x03]);
    buf[3..6].copy_from_slice(&[0x5A, 0x01, 0x12]);
    let t = parse_single(&buf[..6]).unwrap();
    assert_eq!(t.value, &[0x5A, 0x01, 0x12]);
    // 82 form with a non-minimal length, as some cards send.
    let t = parse_single(&[0x5A, 0x82, 0x00, 0x01, 0x99]).unwrap();
    assert_eq!(t.value, &[0x99]);
    // 83 form.
    let t = parse_single(&[0x5A, 0x83, 0x00, 0x00, 0x01, 0x42]).unwrap();
    assert_eq!(t.value, &[0x42]);
}

#[test]
fn padding_is_skipped() {
    // Record with 00 padding inside the template and FF after it.
    let bytes = hex("70 0A 00 5A 02 12 34 00 00 9F 08 00 FF FF");
    let t = parse_single(&bytes).unwrap();
    let tags: heapless::Vec<Tag, 4> = t.children().map(|c| c.unwrap().tag).collect();
    assert_eq!(&tags[..], &[Tag(0x5A), Tag(0x9F08)]);
    let leading = hex("00 00 5A 01 01");
    let t = parse_single(&leading).unwrap();
    assert_eq!(t.offset, 2);
}

#[test]
fn errors_carry_kind_and_offset() {
    let cases: &[(&str, ErrorKind, usize)] = &[
        ("9F", ErrorKind::TruncatedTag, 0),
        ("9F 82", ErrorKind::TruncatedTag, 0),
        ("9F 82 83 01", ErrorKind::TagTooLong, 0),
        ("5A", ErrorKind::TruncatedLength, 1),
        ("5A 82 01", ErrorKind::TruncatedLength, 1),
        ("5A 84 00 00 00 01 00", ErrorKind::LengthTooLong, 1),
        ("5A 80", ErrorKind::LengthTooLong, 1),
        ("5A 03 01 02", ErrorKind::LengthBeyondInput, 0),
        ("70 04 5A 05 01 02", ErrorKind::LengthBeyondInput, 2),
        ("5A 01 01 5A 01 01", ErrorKind::TrailingGarbage, 3),
        ("5A 01 01 9F", ErrorKind::TrailingGarbage, 3),
    ];
    for (input, kind, offset) in cases {
        let bytes = hex(input);
        let err = parse_single(&bytes)
            .and_then(|t| {
                for c in t.children().filter(|_| t.is_constructed()) {
                    c?;
                }
                Ok(t)
            })
            .unwrap_err();
        assert_eq!((err.kind, err.offset), (*kind, *offset), "{input}");
    }
    assert_eq!(
        validate(&hex("70 04 5A 05 01 02")),
        Err(Error {
            kind: ErrorKind::LengthBeyondInput,
            offset: 2
        })
    );
    assert_eq!(parse_single(&[]).unwrap_err().kind, ErrorKind::TruncatedTag);
}

#[test]
fn nesting_is_bounded() {
    // 20 nested 70 templates around one primitive.
    let mut buf = [0u8; 64];
    let depth = 20;
    for i in 0..depth {
        buf[2 * i] = 0x70;
        buf[2 * i + 1] = (2 * (depth - i - 1) + 3) as u8;
    }
    buf[2 * depth..2 * depth + 3].copy_from_slice(&[0x5A, 0x01, 0x01]);
    let data = &buf[..2 * depth + 3];
    assert_eq!(validate(data).unwrap_err().kind, ErrorKind::NestingTooDeep);
    assert_eq!(
        find_tlv(data, Tag(0x5A)).unwrap_err().kind,
        ErrorKind::NestingTooDeep
    );
    // Exactly TLV_MAX_DEPTH templates deep is still fine.
    let ok_depth = TLV_MAX_DEPTH;
    let mut buf = [0u8; 64];
    for i in 0..ok_depth {
        buf[2 * i] = 0x70;
        buf[2 * i + 1] = (2 * (ok_depth - i - 1) + 3) as u8;
    }
    buf[2 * ok_depth..2 * ok_depth + 3].copy_from_slice(&[0x5A, 0x01, 0x01]);
    let data = &buf[..2 * ok_depth + 3];
    assert_eq!(validate(data), Ok(()));
    assert_eq!(find(data, Tag(0x5A)), Some(&[1][..]));
}

#[test]
fn primitives_with_paths() {
    let bytes = hex("77 0E 82 02 19 80 94 08 08 01 01 00 10 01 02 01");
    let mut it = primitives(&bytes);
    let (path, aip) = it.next().unwrap().unwrap();
    assert_eq!(&path[..], &[Tag(0x77)]);
    assert_eq!(aip.tag, Tag(0x82));
    let (_, afl) = it.next().unwrap().unwrap();
    assert_eq!(afl.value.len(), 8);
    assert!(it.next().is_none());
}

#[test]
fn writer_round_trip_with_minimal_lengths() {
    let mut buf = [0u8; 400];
    let mut w = Writer::new(&mut buf);
    let fci = w.begin(Tag(0x6F)).unwrap();
    w.push(Tag(0x84), b"1PAY.SYS.DDF01").unwrap();
    let a5 = w.begin(Tag(0xA5)).unwrap();
    w.push(Tag(0x88), &[1]).unwrap();
    w.push(Tag(0x5F2D), b"en").unwrap();
    w.push(Tag(0x9F11), &[1]).unwrap();
    w.end(a5).unwrap();
    w.end(fci).unwrap();
    assert_eq!(w.as_bytes(), &hex(PSE_FCI)[..]);

    // A template over 127 bytes grows its length field to 81 xx.
    let mut buf = [0u8; 400];
    let mut w = Writer::new(&mut buf);
    let rec = w.begin(Tag(0x70)).unwrap();
    w.push(Tag(0x90), &[0xAB; 200]).unwrap();
    w.end(rec).unwrap();
    let out = w.as_bytes();
    assert_eq!(&out[..6], &[0x70, 0x81, 0xCB, 0x90, 0x81, 0xC8]);
    let t = parse_single(out).unwrap();
    assert_eq!(find(t.raw, Tag(0x90)).unwrap().len(), 200);
}

#[test]
fn writer_reports_overflow_and_keeps_what_fit() {
    let mut buf = [0u8; 8];
    let mut w = Writer::new(&mut buf);
    w.push(Tag(0x5A), &[1, 2, 3]).unwrap();
    assert_eq!(w.push(Tag(0x5A), &[1, 2, 3, 4]), Err(WriteError));
    assert_eq!(w.as_bytes(), &[0x5A, 3, 1, 2, 3]);
    let mut small = [0u8; 4];
    let mut w = Writer::new(&mut small);
    let m = w.begin(Tag(0x70)).unwrap();
    w.push(Tag(0x5A), &[]).unwrap();
    w.end(m).unwrap();
    assert_eq!(w.as_bytes(), &[0x70, 2, 0x5A, 0]);
    let mut out = [0u8; 2];
    assert_eq!(encode_length(0x1234, &mut out), Err(WriteError));
    assert_eq!(encode_length(usize::MAX, &mut [0u8; 8]), Err(WriteError));
}
