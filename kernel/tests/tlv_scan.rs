//! `tlv::validate` answers from a fast scan of the headers and asks the walk
//! only for the error: both must accept exactly the same inputs. The walk's
//! answer is read through `tlv::primitives`, which runs the same walk and
//! yields its first error. `tlv::leaves` has its own loop over the headers:
//! it must yield exactly what `tlv::primitives` yields, without the paths.

use emv_kernel::limits::TLV_MAX_DEPTH;
use emv_kernel::tlv;
use proptest::prelude::*;

fn walk_accepts(data: &[u8]) -> bool {
    tlv::primitives(data).all(|item| item.is_ok())
}

/// What `Tlv::children` reads of an object (its depth shows in the error
/// of a value nested too deep).
fn children<'a>(tlv: &tlv::Tlv<'a>) -> Vec<Result<tlv::Tlv<'a>, tlv::Error>> {
    tlv.children().collect()
}

/// Whether `tlv::leaves` yields what the walk yields: the same objects
/// (tag, value, offset, raw bytes, and what `children` reads of them), then
/// the same first error, then nothing.
fn leaves_agree_with_the_walk(data: &[u8]) -> Result<(), TestCaseError> {
    let mut leaves = tlv::leaves(data);
    let mut walk = tlv::primitives(data).map(|item| item.map(|(_, tlv)| tlv));
    loop {
        let (ours, walked) = (leaves.next(), walk.next());
        match (&ours, &walked) {
            (Some(Ok(a)), Some(Ok(b))) => {
                prop_assert_eq!(a, b);
                prop_assert_eq!(children(a), children(b));
            }
            _ => {
                prop_assert_eq!(ours, walked);
                if ours.is_none() {
                    prop_assert_eq!(leaves.next(), None);
                    return Ok(());
                }
            }
        }
    }
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
        leaves_agree_with_the_walk(&data).unwrap();
        leaves_agree_with_the_walk(&empty).unwrap();
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

    #[test]
    fn leaves_yield_what_the_walk_yields(data in tlvish()) {
        leaves_agree_with_the_walk(&data)?;
    }

    #[test]
    fn leaves_yield_what_the_walk_yields_on_any_bytes(
        data in proptest::collection::vec(any::<u8>(), 0..300),
    ) {
        leaves_agree_with_the_walk(&data)?;
    }
}
