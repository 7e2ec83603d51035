//! `tlv::validate` answers from a fast scan of the headers and asks the walk
//! only for the error: both must accept exactly the same inputs. The walk's
//! answer is read through `tlv::leaves`, which runs the same walk and yields
//! its first error.

use emv_kernel::limits::TLV_MAX_DEPTH;
use emv_kernel::tlv;
use proptest::prelude::*;

fn walk_accepts(data: &[u8]) -> bool {
    tlv::leaves(data).all(|item| item.is_ok())
}

/// Nested templates `depth` deep around one primitive.
fn nested(depth: usize) -> Vec<u8> {
    let mut out = vec![0x5A, 0x01, 0x12];
    for _ in 0..depth {
        let mut wrapped = vec![0x70, out.len() as u8];
        wrapped.extend_from_slice(&out);
        out = wrapped;
    }
    out
}

#[test]
fn validate_agrees_with_the_walk_at_the_depth_limit() {
    for depth in 0..=TLV_MAX_DEPTH + 2 {
        let data = nested(depth);
        assert_eq!(
            tlv::validate(&data).is_ok(),
            walk_accepts(&data),
            "depth {depth}"
        );
        assert_eq!(
            tlv::validate(&data).is_ok(),
            depth <= TLV_MAX_DEPTH,
            "depth {depth}"
        );
        // An empty template inside the deepest one.
        let mut empty = nested(depth);
        let inner = empty.len() - 3;
        empty.splice(inner..inner, [0x70, 0x00]);
        for (index, byte) in empty.iter_mut().enumerate() {
            // Each enclosing template grows by the two bytes.
            if index < inner && index % 2 == 1 {
                *byte += 2;
            }
        }
        assert_eq!(
            tlv::validate(&empty).is_ok(),
            walk_accepts(&empty),
            "empty, depth {depth}"
        );
    }
}

/// Bytes biased towards TLV structure: templates, long lengths, padding.
fn tlvish() -> impl Strategy<Value = Vec<u8>> {
    proptest::collection::vec(
        prop_oneof![
            Just(0x70u8),
            Just(0x77),
            Just(0x61),
            Just(0x9F),
            Just(0x5F),
            Just(0xBF),
            Just(0x00),
            Just(0xFF),
            Just(0x81),
            Just(0x82),
            Just(0x83),
            Just(0x84),
            0u8..16,
            any::<u8>(),
        ],
        0..96,
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1_500))]
    #[test]
    fn validate_accepts_exactly_what_the_walk_accepts(data in tlvish()) {
        prop_assert_eq!(tlv::validate(&data).is_ok(), walk_accepts(&data));
    }
}
