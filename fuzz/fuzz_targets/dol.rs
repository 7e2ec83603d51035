//! Fuzz target: the DOL parser and builder. The first byte splits the input
//! into a DOL and TLV data used as the data source. The builder must never
//! panic, and its output is exactly as long as the DOL asks.
#![no_main]

use emv_kernel::dol::{self, TlvSource};
use emv_kernel::render::{afl_entries, Afl, CvmList};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&split, rest)) = data.split_first() else {
        return;
    };
    let (list, source) = rest.split_at(usize::from(split).min(rest.len()));
    let source = TlvSource(source);
    let mut out = [0u8; 512];
    let wanted = dol::data_length(list);
    match dol::build(list, &source, &mut out) {
        Ok(n) => assert_eq!(Ok(n), wanted),
        Err(dol::BuildError::BufferTooSmall) => assert!(wanted.is_ok_and(|w| w > out.len())),
        Err(dol::BuildError::Dol(e)) => assert_eq!(Err(e), wanted),
    }
    let _ = dol::build_gpo_data(Some(list), &source, &mut out);
    // The same bytes as the structured values the engine reads.
    if let Ok(cvm) = CvmList::parse(list) {
        assert_eq!(cvm.rules().count(), cvm.len());
    }
    if let Ok(afl) = Afl::parse(list) {
        for entry in afl.entries() {
            assert_eq!(entry.records().count(), entry.record_count());
        }
    }
    let _ = afl_entries(list).count();
});
