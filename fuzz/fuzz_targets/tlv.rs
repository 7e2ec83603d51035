//! Fuzz target: the BER-TLV reader and everything that renders what it
//! reads. Any input must be handled without panicking, and a tree that the
//! reader accepts must re-encode (with minimal lengths) into bytes that read
//! back to the same objects; `leaves` yields what `primitives` yields.
#![no_main]

use emv_kernel::render;
use emv_kernel::tlv::{self, Tag, Tlv, Writer};
use libfuzzer_sys::fuzz_target;

/// Re-encodes one object and everything inside it.
fn reencode(tlv: &Tlv<'_>, out: &mut Writer<'_>) -> Result<(), ()> {
    if tlv.is_constructed() {
        let mark = out.begin(tlv.tag).map_err(|_| ())?;
        for child in tlv.children() {
            reencode(&child.map_err(|_| ())?, out)?;
        }
        out.end(mark).map_err(|_| ())
    } else {
        out.push(tlv.tag, tlv.value).map_err(|_| ())
    }
}

/// Flattens a tree into (tag, depth, primitive value) triples.
fn flatten<'a>(data: &'a [u8], depth: usize, acc: &mut Vec<(Tag, usize, &'a [u8])>) {
    for item in tlv::iter(data) {
        let Ok(t) = item else { return };
        acc.push((t.tag, depth, if t.is_constructed() { &[] } else { t.value }));
        if t.is_constructed() {
            flatten(t.value, depth + 1, acc);
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let valid = tlv::validate(data).is_ok();
    let _ = tlv::parse_single(data);
    let _ = tlv::find(data, Tag(0x5A));
    let _ = tlv::find_tlv(data, Tag(0x9F46));
    // `leaves` has its own loop over the headers: it must yield what the
    // walk behind `primitives` yields, paths aside, the first error included.
    let walked: Vec<_> = tlv::primitives(data)
        .map(|item| item.map(|(_, t)| t))
        .collect();
    let leaves: Vec<_> = tlv::leaves(data).collect();
    assert_eq!(leaves, walked, "leaves and primitives differ");
    let mut text = String::new();
    for item in tlv::primitives(data) {
        let Ok((_, t)) = item else { break };
        text.clear();
        let _ = render::write_value(&mut text, t.tag, t.value);
        let _ = render::for_each_detail(t.tag, t.value, |_| Ok(()));
    }
    if valid {
        let mut buf = vec![0u8; data.len() * 2 + 16];
        let mut writer = Writer::new(&mut buf);
        let mut ok = true;
        for item in tlv::iter(data) {
            let t = item.expect("validated input reads back");
            ok &= reencode(&t, &mut writer).is_ok();
        }
        if ok {
            let again = writer.as_bytes().to_vec();
            let (mut first, mut second) = (Vec::new(), Vec::new());
            flatten(data, 0, &mut first);
            flatten(&again, 0, &mut second);
            assert_eq!(first, second, "re-encoded tree differs");
        }
    }
});
