//! Read application data: Book 3, 10.2.
//!
//! READ RECORD for every record the AFL names, the records' primitive data
//! objects kept in the data store (a duplicate terminates), the static data
//! to be authenticated collected exactly as Book 3, 10.3 defines, and the
//! check of the mandatory data objects.

use crate::apdu::{build_command, Command};
use crate::context::{Context, Step};
use crate::data::{DataStore, StoreError};
use crate::initiate::{afl_entries, AflEntry};
use crate::limits::ODA_DATA_BYTES;
use crate::outcome::TerminationReason;
use crate::tlv::{self, Tag};

/// The records flagged for offline data authentication, concatenated
/// (Book 3, 10.3), and whether collecting them already failed ODA.
#[derive(Clone, Debug)]
pub struct OdaRecords {
    bytes: [u8; ODA_DATA_BYTES],
    len: usize,
    /// An ODA record of SFI 11-30 was not coded as template 70, or the
    /// records did not fit [`ODA_DATA_BYTES`]: ODA has failed.
    pub failed: bool,
}

impl Default for OdaRecords {
    fn default() -> Self {
        Self::new()
    }
}

impl OdaRecords {
    /// Nothing collected yet.
    pub const fn new() -> Self {
        OdaRecords {
            bytes: [0; ODA_DATA_BYTES],
            len: 0,
            failed: false,
        }
    }

    /// Forgets the collected records (the next transaction).
    pub fn clear(&mut self) {
        // Zeroed, not only forgotten: the records hold the previous card's
        // PAN.
        self.bytes.fill(0);
        self.len = 0;
        self.failed = false;
    }

    /// The collected records.
    pub fn as_bytes(&self) -> &[u8] {
        self.bytes.get(..self.len).unwrap_or(&[])
    }

    fn append(&mut self, data: &[u8]) {
        let end = self.len.saturating_add(data.len());
        match self.bytes.get_mut(self.len..end) {
            Some(space) => {
                space.copy_from_slice(data);
                self.len = end;
            }
            None => self.failed = true,
        }
    }
}

/// The Data Objects Book 3, 10.2 requires: Application Expiration Date,
/// PAN, CDOL1, CDOL2.
pub const MANDATORY_TAGS: [Tag; 4] = [Tag(0x5F24), Tag(0x5A), Tag(0x8C), Tag(0x8D)];

/// Where record reading stands: the AFL entry index and the record number.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RecordCursor {
    /// Index of the AFL entry.
    pub entry: usize,
    /// Record number within the entry.
    pub record: u8,
}

/// The AFL entry and record after `cursor` (or the first one with `None`).
pub fn next_record(afl: &[u8], cursor: Option<RecordCursor>) -> Option<(RecordCursor, AflEntry)> {
    let (mut entry_index, mut record) = match cursor {
        None => (0, None),
        Some(c) => match c.record.checked_add(1) {
            Some(next) => (c.entry, Some(next)),
            None => (c.entry.saturating_add(1), None),
        },
    };
    loop {
        let entry = afl_entries(afl).nth(entry_index)?;
        let record_number = record.unwrap_or(entry.first);
        if record_number <= entry.last && record_number >= entry.first {
            return Some((
                RecordCursor {
                    entry: entry_index,
                    record: record_number,
                },
                entry,
            ));
        }
        entry_index += 1;
        record = None;
    }
}

/// Writes READ RECORD (`00 B2 record (SFI<<3|4) 00`).
pub fn build_read_record(
    sfi: u8,
    record: u8,
    command: &mut Command,
) -> Result<(), TerminationReason> {
    let p2 = (sfi << 3) | 0x04;
    if build_command(command, [0x00, 0xB2, record, p2], None, true) {
        Ok(())
    } else {
        Err(TerminationReason::CapacityExceeded)
    }
}

/// Book 3, 10.2 and 10.3: takes in one record (the response data, SW
/// already checked to be 9000).
///
/// - SFI 1-10: Book 3, 6.5.11.4 makes the record template 70; anything else
///   is a format error that terminates. ODA records give the template's
///   value to the ODA set.
/// - SFI 11-30: the files are outside EMV (Book 3, 5.3.2.2). A record that
///   is template 70 is read like the others and, as an ODA record, goes
///   whole (tag and length included) into the ODA set. Any other record is
///   not parsed; as an ODA record it fails ODA (Book 3, 10.3: records for
///   ODA not coded as template 70).
pub fn process_record(
    entry: &AflEntry,
    record: u8,
    data: &[u8],
    store: &mut DataStore,
    oda: &mut OdaRecords,
) -> Result<(), TerminationReason> {
    let is_oda = entry.is_oda_record(record);
    let template = tlv::parse_single(data)
        .ok()
        .filter(|template| template.tag == Tag(0x70));
    let Some(template) = template else {
        if entry.sfi <= 10 {
            return Err(TerminationReason::CardDataFormat);
        }
        if is_oda {
            oda.failed = true;
        }
        return Ok(());
    };
    if is_oda {
        oda.append(if entry.sfi <= 10 {
            template.value
        } else {
            template.raw
        });
    }
    for item in tlv::leaves(template.value) {
        let object = item.map_err(|_| TerminationReason::CardDataFormat)?;
        store
            .insert(object.tag, object.value)
            .map_err(|e| match e {
                StoreError::Duplicate(_) => TerminationReason::DuplicateData,
                StoreError::Full => TerminationReason::CapacityExceeded,
            })?;
    }
    Ok(())
}

/// Book 3, 10.2: the mandatory data objects are present.
pub fn check_mandatory(store: &DataStore) -> Result<(), TerminationReason> {
    if MANDATORY_TAGS.iter().all(|tag| store.contains(*tag)) {
        Ok(())
    } else {
        Err(TerminationReason::MissingMandatoryData)
    }
}

/// Book 3, 10.2: writes the READ RECORD after `cursor` (the first one with
/// `None`) and waits for it; when every record is read, checks the mandatory
/// data objects.
pub(crate) fn read_next_record(
    cx: &mut Context<'_>,
    cursor: Option<RecordCursor>,
) -> Step<RecordCursor> {
    let afl = cx.store.get(Tag(0x94)).unwrap_or(&[]);
    match next_record(afl, cursor) {
        Some((next, entry)) => match build_read_record(entry.sfi, next.record, &mut cx.command) {
            Ok(()) => Step::Wait(next),
            Err(reason) => Step::Terminate(reason),
        },
        None => match check_mandatory(&cx.store) {
            Ok(()) => Step::Done(()),
            Err(reason) => Step::Terminate(reason),
        },
    }
}

/// The card's answer to the READ RECORD at `cursor`: the record is taken in
/// ([`process_record`]) and the next one is asked for.
pub(crate) fn on_record(
    cx: &mut Context<'_>,
    oda_records: &mut OdaRecords,
    cursor: RecordCursor,
    data: &[u8],
    status: u16,
) -> Step<RecordCursor> {
    if status != 0x9000 {
        return Step::Terminate(TerminationReason::CardError {
            instruction: 0xB2,
            status,
        });
    }
    let afl = cx.store.get(Tag(0x94)).unwrap_or(&[]);
    let Some(entry) = afl_entries(afl).nth(cursor.entry) else {
        return Step::Terminate(TerminationReason::InvalidAfl);
    };
    match process_record(&entry, cursor.record, data, &mut cx.store, oda_records) {
        Ok(()) => read_next_record(cx, Some(cursor)),
        Err(reason) => Step::Terminate(reason),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(sfi: u8, first: u8, last: u8, oda_records: u8) -> AflEntry {
        AflEntry {
            sfi,
            first,
            last,
            oda_records,
        }
    }

    #[test]
    fn walks_the_afl() {
        let afl = [0x08, 0x01, 0x02, 0x01, 0x18, 0x03, 0x03, 0x00];
        let mut cursor = None;
        let mut seen: heapless::Vec<(u8, u8), 8> = heapless::Vec::new();
        while let Some((c, e)) = next_record(&afl, cursor) {
            seen.push((e.sfi, c.record)).unwrap();
            cursor = Some(c);
        }
        assert_eq!(seen.as_slice(), &[(1, 1), (1, 2), (3, 3)]);
        let afl = [0x08, 0xFF, 0xFF, 0x00];
        let (c, _) = next_record(&afl, None).unwrap();
        assert_eq!(next_record(&afl, Some(c)), None);
    }

    #[test]
    fn oda_set_follows_book3_10_3() {
        let mut store = DataStore::new();
        let mut oda = OdaRecords::new();
        let record = [0x70, 0x04, 0x5A, 0x02, 0x47, 0x61];
        process_record(&entry(1, 1, 1, 1), 1, &record, &mut store, &mut oda).unwrap();
        assert_eq!(oda.as_bytes(), &[0x5A, 0x02, 0x47, 0x61]);
        let record = [0x70, 0x04, 0x9F, 0x08, 0x01, 0x02];
        process_record(&entry(11, 1, 1, 1), 1, &record, &mut store, &mut oda).unwrap();
        assert_eq!(
            oda.as_bytes(),
            &[0x5A, 0x02, 0x47, 0x61, 0x70, 0x04, 0x9F, 0x08, 0x01, 0x02]
        );
        assert!(!oda.failed);
        // Not an ODA record: not collected.
        let record = [0x70, 0x03, 0x5F, 0x24, 0x00];
        process_record(&entry(1, 1, 2, 1), 2, &record, &mut store, &mut oda).unwrap();
        assert_eq!(oda.as_bytes().len(), 10);
        // Duplicate PAN terminates.
        let record = [0x70, 0x04, 0x5A, 0x02, 0x47, 0x61];
        assert_eq!(
            process_record(&entry(2, 1, 1, 0), 1, &record, &mut store, &mut oda),
            Err(TerminationReason::DuplicateData)
        );
    }

    /// Book 3, 6.5.11.4: an SFI 1-10 record that is not template 70 is a
    /// format error (terminate); Book 3, 10.3: an SFI 11-30 ODA record that
    /// is not template 70 fails ODA and is not parsed.
    #[test]
    fn record_not_template_70() {
        let mut store = DataStore::new();
        let mut oda = OdaRecords::new();
        let record = [0x77, 0x03, 0x8C, 0x01, 0x00];
        assert_eq!(
            process_record(&entry(1, 1, 1, 1), 1, &record, &mut store, &mut oda),
            Err(TerminationReason::CardDataFormat)
        );
        assert_eq!(
            process_record(
                &entry(1, 1, 1, 0),
                1,
                &[0x70, 0x05, 0x5A],
                &mut store,
                &mut oda
            ),
            Err(TerminationReason::CardDataFormat)
        );
        // SFI 11: proprietary bytes, not an ODA record: ignored.
        process_record(
            &entry(11, 1, 2, 1),
            2,
            &[0x01, 0x02, 0x03],
            &mut store,
            &mut oda,
        )
        .unwrap();
        assert!(!oda.failed);
        // SFI 11, an ODA record in template 77: ODA fails, nothing kept.
        process_record(&entry(11, 1, 1, 1), 1, &record, &mut store, &mut oda).unwrap();
        assert!(oda.failed);
        assert!(!store.contains(Tag(0x8C)));
        assert!(oda.as_bytes().is_empty());
    }

    #[test]
    fn oda_overflow_fails_oda_not_the_transaction() {
        let mut store = DataStore::new();
        let mut oda = OdaRecords::new();
        let mut record = [0u8; 253];
        record[0] = 0x70;
        record[1] = 0x81;
        record[2] = 250;
        record[3] = 0xDF;
        record[4] = 0x01;
        record[5] = 0x81;
        record[6] = 246;
        for i in 0..10u8 {
            record[4] = i + 1;
            process_record(&entry(1, 1, 10, 10), 1, &record, &mut store, &mut oda).unwrap();
        }
        assert!(oda.failed);
    }

    #[test]
    fn mandatory_data() {
        let mut store = DataStore::new();
        for tag in [0x5F24, 0x5A, 0x8C] {
            store.insert(Tag(tag), &[1]).unwrap();
        }
        assert_eq!(
            check_mandatory(&store),
            Err(TerminationReason::MissingMandatoryData)
        );
        store.insert(Tag(0x8D), &[1]).unwrap();
        assert_eq!(check_mandatory(&store), Ok(()));
    }
}
