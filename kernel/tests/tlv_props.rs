//! Property tests: TLV trees written with the writer read back unchanged, and
//! no input, however hostile, panics the reader, the DOL parser and builder,
//! the CVM List and AFL parsers, or the renderers.

use emv_kernel::apdu::Response;
use emv_kernel::dictionary::{self, ELEMENTS};
use emv_kernel::dol::{self, DataSource, TlvSource};
use emv_kernel::render::{self, afl_entries, Afl, CvmList};
use emv_kernel::tlv::{self, Tag, Writer};
use proptest::prelude::*;

/// A TLV tree as the test builds it.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Node {
    Primitive(Tag, Vec<u8>),
    Constructed(Tag, Vec<Node>),
}

/// First bytes of multi-byte tags: low five bits set (Book 3, Annex B1).
const MULTI_BYTE_FIRST: [u8; 7] = [0x1F, 0x3F, 0x5F, 0x7F, 0x9F, 0xBF, 0xDF];

/// Any tag of one to three bytes whose first byte is not a padding byte.
fn any_tag() -> impl Strategy<Value = Tag> {
    let one = any::<u8>()
        .prop_filter("not padding, not multi-byte", |b| {
            *b != 0x00 && *b != 0xFF && b & 0x1F != 0x1F
        })
        .prop_map(|b| Tag(u32::from(b)));
    let two = (prop::sample::select(&MULTI_BYTE_FIRST[..]), 0u8..0x80)
        .prop_map(|(a, b)| Tag(u32::from(a) << 8 | u32::from(b)));
    let three = (
        prop::sample::select(&MULTI_BYTE_FIRST[..]),
        0x80u8..=0xFF,
        0u8..0x80,
    )
        .prop_map(|(a, b, c)| Tag(u32::from(a) << 16 | u32::from(b) << 8 | u32::from(c)));
    prop_oneof![one, two, three]
}

fn tree() -> impl Strategy<Value = Node> {
    let leaf = (
        any_tag().prop_filter("primitive", |t| !t.is_constructed()),
        prop::collection::vec(any::<u8>(), 0..300),
    )
        .prop_map(|(t, v)| Node::Primitive(t, v));
    leaf.prop_recursive(4, 64, 6, |inner| {
        (
            any_tag().prop_filter("constructed", |t| t.is_constructed()),
            prop::collection::vec(inner, 0..6),
        )
            .prop_map(|(t, children)| Node::Constructed(t, children))
    })
}

fn write(node: &Node, out: &mut Writer<'_>) {
    match node {
        Node::Primitive(tag, value) => out.push(*tag, value).unwrap(),
        Node::Constructed(tag, children) => {
            let mark = out.begin(*tag).unwrap();
            for child in children {
                write(child, out);
            }
            out.end(mark).unwrap();
        }
    }
}

fn read(data: &[u8]) -> Vec<Node> {
    tlv::iter(data)
        .map(|item| {
            let tlv = item.unwrap();
            if tlv.is_constructed() {
                Node::Constructed(tlv.tag, read(tlv.value))
            } else {
                Node::Primitive(tlv.tag, tlv.value.to_vec())
            }
        })
        .collect()
}

/// Reads everything the reader offers, checking offsets stay in bounds.
fn read_everything(data: &[u8]) {
    fn walk(items: tlv::Iter<'_>, len: usize) {
        for item in items {
            match item {
                Ok(t) => {
                    assert!(t.offset < len);
                    assert!(t.raw.len() >= t.value.len() + 2);
                    if t.is_constructed() {
                        walk(t.children(), len);
                    }
                }
                Err(e) => assert!(e.offset <= len, "{e:?} beyond {len}"),
            }
        }
    }
    walk(tlv::iter(data), data.len());
    let valid = tlv::validate(data).is_ok();
    let mut text = String::new();
    for item in tlv::primitives(data) {
        match item {
            Ok((_, t)) => {
                text.clear();
                render::write_value(&mut text, t.tag, t.value).unwrap();
                render::for_each_detail(t.tag, t.value, |_| Ok(())).unwrap();
            }
            Err(_) => assert!(!valid),
        }
    }
    let _ = tlv::parse_single(data);
    let _ = tlv::find_tlv(data, Tag(0x9F46));
    let _ = tlv::find(data, Tag(0x5A));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn written_trees_read_back(nodes in prop::collection::vec(tree(), 0..6)) {
        let mut buf = vec![0u8; 1 << 20];
        let mut writer = Writer::new(&mut buf);
        for node in &nodes {
            write(node, &mut writer);
        }
        let written = writer.as_bytes().to_vec();
        prop_assert!(tlv::validate(&written).is_ok());
        prop_assert_eq!(read(&written), nodes);
    }

    #[test]
    fn padding_between_objects_is_ignored(
        nodes in prop::collection::vec(tree(), 1..4),
        pad in prop::collection::vec(prop::sample::select(&[0x00u8, 0xFF][..]), 0..4),
    ) {
        let mut buf = vec![0u8; 1 << 20];
        let mut writer = Writer::new(&mut buf);
        for node in &nodes {
            writer.push_raw(&pad).unwrap();
            write(node, &mut writer);
        }
        writer.push_raw(&pad).unwrap();
        let written = writer.as_bytes().to_vec();
        prop_assert_eq!(read(&written), nodes);
    }

    #[test]
    fn arbitrary_bytes_never_panic_the_reader(data in prop::collection::vec(any::<u8>(), 0..600)) {
        read_everything(&data);
        let _ = Response::parse(&data);
    }

    #[test]
    fn mutated_valid_trees_never_panic(
        node in tree(),
        flips in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8),
    ) {
        let mut buf = vec![0u8; 1 << 20];
        let mut writer = Writer::new(&mut buf);
        write(&node, &mut writer);
        let mut data = writer.as_bytes().to_vec();
        for (at, byte) in flips {
            let i = at.index(data.len());
            data[i] = byte;
        }
        read_everything(&data);
    }

    #[test]
    fn every_known_tag_renders_any_value(
        index in any::<prop::sample::Index>(),
        value in prop::collection::vec(any::<u8>(), 0..300),
    ) {
        let element = index.get(ELEMENTS);
        let mut text = String::new();
        render::write_value(&mut text, element.tag, &value).unwrap();
        render::for_each_detail(element.tag, &value, |_| Ok(())).unwrap();
        prop_assert!(dictionary::lookup(element.tag).is_some());
    }

    #[test]
    fn arbitrary_bytes_never_panic_the_structured_decoders(data in prop::collection::vec(any::<u8>(), 0..300)) {
        if let Ok(list) = CvmList::parse(&data) {
            prop_assert_eq!(list.rules().count(), (data.len() - 8) / 2);
        }
        match Afl::parse(&data) {
            Ok(afl) => {
                prop_assert_eq!(afl.entries().count(), data.len() / 4);
                for entry in afl.entries() {
                    prop_assert!((1..=30).contains(&entry.sfi));
                    prop_assert_eq!(entry.records().count(), entry.record_count());
                    prop_assert_eq!(
                        entry.records().filter(|(_, oda)| *oda).count(),
                        usize::from(entry.oda_records)
                    );
                }
            }
            Err(_) => prop_assert!(data.len() % 4 != 0 || afl_entries(&data).any(|e| e.is_err())),
        }
        let _ = render::decode_bits(Tag(0x95), &data).count();
    }

    #[test]
    fn arbitrary_dols_never_panic_the_builder(
        list in prop::collection::vec(any::<u8>(), 0..80),
        source in prop::collection::vec(any::<u8>(), 0..300),
        out_len in 0usize..300,
    ) {
        let source = TlvSource(&source);
        let mut out = vec![0u8; out_len];
        let wanted = dol::data_length(&list);
        match dol::build(&list, &source, &mut out) {
            Ok(n) => prop_assert_eq!(Ok(n), wanted),
            Err(dol::BuildError::BufferTooSmall) => prop_assert!(wanted.unwrap() > out_len),
            Err(dol::BuildError::Dol(e)) => prop_assert_eq!(Err(e), wanted),
        }
        let _ = dol::build_gpo_data(Some(&list), &source, &mut out);
    }

    #[test]
    fn dol_data_has_each_value_at_its_place(
        entries in prop::collection::vec(
            (any_tag().prop_filter("primitive", |t| !t.is_constructed()), 0usize..=255), 0..12),
        values in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..40), 12),
    ) {
        // The DOL, and a source holding one value per distinct tag.
        let mut list = Vec::new();
        let mut pairs: Vec<(Tag, &[u8])> = Vec::new();
        for (i, (tag, len)) in entries.iter().enumerate() {
            let mut tag_bytes = [0u8; 4];
            let n = tlv::encode_tag(*tag, &mut tag_bytes).unwrap();
            list.extend_from_slice(&tag_bytes[..n]);
            list.push(*len as u8);
            pairs.push((*tag, &values[i]));
        }
        let source: &[(Tag, &[u8])] = &pairs;
        let mut out = vec![0xEEu8; 12 * 255];
        let n = dol::build(&list, &source, &mut out).unwrap();
        prop_assert_eq!(n, entries.iter().map(|(_, l)| l).sum::<usize>());
        let mut at = 0;
        for (tag, len) in &entries {
            let field = &out[at..at + len];
            let mut expected = vec![0u8; *len];
            dol::fit_value(*tag, DataSource::get(source, *tag), &mut expected);
            prop_assert_eq!(field, &expected[..]);
            let value = DataSource::get(source, *tag).unwrap();
            if value.len() == *len {
                prop_assert_eq!(field, value);
            }
            at += len;
        }
    }
}
