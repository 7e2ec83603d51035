//! The transaction's store of card data objects, fixed capacity.
//!
//! Every primitive data object the card returns (FCI, GPO response, records,
//! GET DATA, GENERATE AC) is kept here by tag, its value copied into one
//! byte arena. Book 3, 10.2: a primitive object that appears twice in the
//! records ends the transaction, so [`DataStore::insert`] reports duplicates;
//! later answers that legitimately replace a value (for example the second
//! GENERATE AC's cryptogram) use [`DataStore::replace`].

use crate::config::{TerminalConfig, TransactionInputs};
use crate::dol::DataSource;
use crate::limits::{DATA_STORE_BYTES, DATA_STORE_ENTRIES, MAX_MERCHANT_NAME_BYTES};
use crate::tlv::Tag;
use crate::tvr::{Tsi, Tvr};

/// Why a value could not be stored.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StoreError {
    /// The tag is already present (Book 3, 10.2: redundant primitive data).
    Duplicate(Tag),
    /// The arena or the index is full ([`DATA_STORE_BYTES`], [`DATA_STORE_ENTRIES`]).
    Full,
}

impl core::fmt::Display for StoreError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            StoreError::Duplicate(tag) => write!(f, "data object {tag} is already present"),
            StoreError::Full => write!(
                f,
                "the card data store is full ({DATA_STORE_BYTES} bytes, {DATA_STORE_ENTRIES} objects)"
            ),
        }
    }
}

impl core::error::Error for StoreError {}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Entry {
    tag: Tag,
    start: u16,
    len: u16,
    /// Came from application selection (the FCI) and was not read again.
    selection: bool,
}

/// Card data objects of one transaction, by tag.
///
/// `repr(C)` keeps the arena last: the compiler makes an empty store by
/// zeroing from its first byte to its last initialised one (the arena's
/// length), so with the arena's buffer at the end [`DataStore::new`] zeroes
/// about 1.2 KB instead of 3 KB (`cargo bench -p emv-kernel --bench tlv`).
#[derive(Clone, Debug)]
#[repr(C)]
pub struct DataStore {
    /// Which tags may be present: one bit per [`filter_bit`] of each tag held.
    /// A clear bit proves absence, so a new tag is stored without scanning
    /// the entries; a set bit falls back to the scan.
    present: u128,
    entries: heapless::Vec<Entry, DATA_STORE_ENTRIES>,
    /// The values, one after another: a `heapless::Vec`, so that an empty
    /// store needs no 3 KB of zeroes.
    arena: heapless::Vec<u8, DATA_STORE_BYTES>,
}

/// The bit of `tag` in [`DataStore::present`]: the top seven bits of a
/// multiplicative (Fibonacci) hash, which spreads EMV's clustered tag
/// numbers (`9F02`..`9F4F`, `5F20`..`5F36`) over the 128 bits.
#[inline(always)]
const fn filter_bit(tag: Tag) -> u128 {
    1u128 << (tag.0.wrapping_mul(0x9E37_79B9) >> 25)
}

impl Default for DataStore {
    fn default() -> Self {
        Self::new()
    }
}

impl DataStore {
    /// An empty store.
    pub const fn new() -> Self {
        DataStore {
            present: 0,
            entries: heapless::Vec::new(),
            arena: heapless::Vec::new(),
        }
    }

    /// Forgets everything (a new application is being selected).
    pub fn clear(&mut self) {
        self.arena.clear();
        self.entries.clear();
        self.present = 0;
    }

    /// Forgets everything and zeroes the arena (the next transaction: the
    /// previous card's data, its PAN among them, does not stay in memory).
    pub fn wipe(&mut self) {
        // Zeroes the whole capacity, not only the bytes in use: a value
        // stored before an earlier `clear` may lie beyond them.
        self.arena.clear();
        // The arena is empty and DATA_STORE_BYTES is its capacity.
        let _ = self.arena.resize(DATA_STORE_BYTES, 0);
        self.clear();
    }

    /// Marks the objects held so far (the selected application's FCI) as
    /// selection data: the duplicate rule of [`DataStore::insert`] applies
    /// to the objects read afterwards, which replace an FCI value of the same
    /// tag instead.
    pub fn seal_selection_data(&mut self) {
        for entry in self.entries.iter_mut() {
            entry.selection = true;
        }
    }

    /// The index of `tag`'s entry, if present.
    #[inline]
    fn position(&self, tag: Tag) -> Option<usize> {
        if self.present & filter_bit(tag) == 0 {
            return None;
        }
        self.entries.iter().position(|e| e.tag == tag)
    }

    /// The value of `tag`, if present.
    pub fn get(&self, tag: Tag) -> Option<&[u8]> {
        let entry = self.entries.get(self.position(tag)?)?;
        let start = usize::from(entry.start);
        let end = start.checked_add(usize::from(entry.len))?;
        self.arena.get(start..end)
    }

    /// Whether `tag` is present.
    pub fn contains(&self, tag: Tag) -> bool {
        self.position(tag).is_some()
    }

    /// Adds a value that must not be present yet among the objects read
    /// since [`DataStore::seal_selection_data`] (Book 3, 10.2); a selection
    /// (FCI) value of the same tag is replaced.
    #[inline]
    pub fn insert(&mut self, tag: Tag, value: &[u8]) -> Result<(), StoreError> {
        match self.position(tag) {
            None => self.push(tag, value),
            Some(index) => self.insert_present(index, tag, value),
        }
    }

    /// [`DataStore::insert`] of a tag already held at `index`.
    #[cold]
    fn insert_present(&mut self, index: usize, tag: Tag, value: &[u8]) -> Result<(), StoreError> {
        if !self.entries.get(index).is_some_and(|e| e.selection) {
            return Err(StoreError::Duplicate(tag));
        }
        self.replace(tag, value)?;
        if let Some(entry) = self.entries.get_mut(index) {
            entry.selection = false;
        }
        Ok(())
    }

    /// Appends a value of a tag not held yet.
    #[inline]
    fn push(&mut self, tag: Tag, value: &[u8]) -> Result<(), StoreError> {
        let entry = self.copy_in(tag, value)?;
        self.entries.push(entry).map_err(|_| StoreError::Full)?;
        self.present |= filter_bit(tag);
        Ok(())
    }

    /// Adds or replaces a value. A replaced value's old bytes stay in the
    /// arena when the new one is longer (the store is short-lived).
    pub fn replace(&mut self, tag: Tag, value: &[u8]) -> Result<(), StoreError> {
        let Some(index) = self.position(tag) else {
            return self.push(tag, value);
        };
        let old = self.entries.get(index).copied().ok_or(StoreError::Full)?;
        if value.len() <= usize::from(old.len) {
            let start = usize::from(old.start);
            let end = start.checked_add(value.len()).ok_or(StoreError::Full)?;
            self.arena
                .get_mut(start..end)
                .ok_or(StoreError::Full)?
                .copy_from_slice(value);
            if let Some(e) = self.entries.get_mut(index) {
                e.len = value.len() as u16; // ok: value.len() <= old.len, a u16
            }
            return Ok(());
        }
        let entry = self.copy_in(tag, value)?;
        if let Some(e) = self.entries.get_mut(index) {
            *e = entry;
        }
        Ok(())
    }

    /// Bytes of the arena in use.
    pub fn bytes_used(&self) -> usize {
        self.arena.len()
    }

    /// Number of data objects held.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the store holds nothing.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Every tag and value, in insertion order.
    pub fn iter(&self) -> impl Iterator<Item = (Tag, &[u8])> + '_ {
        self.entries.iter().filter_map(move |e| {
            let start = usize::from(e.start);
            let end = start.checked_add(usize::from(e.len))?;
            Some((e.tag, self.arena.get(start..end)?))
        })
    }

    /// Appends `value` to the arena: the entry that points at it.
    #[inline]
    fn copy_in(&mut self, tag: Tag, value: &[u8]) -> Result<Entry, StoreError> {
        if self.entries.is_full() {
            return Err(StoreError::Full);
        }
        let start = self.arena.len();
        self.arena
            .extend_from_slice(value)
            .map_err(|_| StoreError::Full)?;
        Ok(Entry {
            tag,
            // DATA_STORE_BYTES < 65536, so both fit a u16.
            start: u16::try_from(start).map_err(|_| StoreError::Full)?,
            len: u16::try_from(value.len()).map_err(|_| StoreError::Full)?,
            selection: false,
        })
    }
}

/// The terminal's data objects for one transaction (Book 4, Annex A), as the
/// DOLs (PDOL, CDOL1/2, DDOL, TDOL) and the clearing record ask for them.
///
/// Values that change during the transaction (TVR, TSI, CVM Results,
/// Authorisation Response Code, TC hash value) are updated in place.
#[derive(Clone, Debug)]
pub struct TerminalData {
    /// Amount, Authorised (9F02), n12.
    pub amount_authorised: [u8; 6],
    /// Amount, Authorised (81), binary.
    pub amount_authorised_binary: [u8; 4],
    /// Amount, Other (9F03), n12.
    pub amount_other: [u8; 6],
    /// Amount, Other (9F04), binary.
    pub amount_other_binary: [u8; 4],
    /// Transaction Currency Code (5F2A).
    pub currency_code: [u8; 2],
    /// Transaction Currency Exponent (5F36).
    pub currency_exponent: [u8; 1],
    /// Transaction Date (9A).
    pub date: [u8; 3],
    /// Transaction Time (9F21).
    pub time: [u8; 3],
    /// Transaction Type (9C).
    pub transaction_type: [u8; 1],
    /// Unpredictable Number (9F37).
    pub unpredictable_number: [u8; 4],
    /// Transaction Sequence Counter (9F41), n8.
    pub transaction_sequence_counter: [u8; 4],
    /// Terminal Verification Results (95).
    pub tvr: Tvr,
    /// Transaction Status Information (9B).
    pub tsi: Tsi,
    /// CVM Results (9F34).
    pub cvm_results: [u8; 3],
    /// Authorisation Response Code (8A), once known.
    pub authorisation_response_code: Option<[u8; 2]>,
    /// Transaction Certificate hash value (98), once computed.
    pub tc_hash_value: Option<[u8; 20]>,
    /// Terminal Country Code (9F1A).
    pub country_code: [u8; 2],
    /// Terminal Capabilities (9F33).
    pub capabilities: [u8; 3],
    /// Additional Terminal Capabilities (9F40).
    pub additional_capabilities: [u8; 5],
    /// Terminal Type (9F35).
    pub terminal_type: [u8; 1],
    /// Terminal Identification (9F1C).
    pub terminal_identification: [u8; 8],
    /// Interface Device Serial Number (9F1E).
    pub ifd_serial_number: [u8; 8],
    /// Merchant Identifier (9F16).
    pub merchant_identifier: [u8; 15],
    /// Merchant Category Code (9F15).
    pub merchant_category_code: [u8; 2],
    /// Merchant Name and Location (9F4E).
    pub merchant_name_and_location: heapless::Vec<u8, MAX_MERCHANT_NAME_BYTES>,
    /// Acquirer Identifier (9F01).
    pub acquirer_identifier: [u8; 6],
    /// Application Version Number, terminal (9F09), of the selected application.
    pub application_version: [u8; 2],
    /// Application Identifier (AID) - terminal (9F06): the configured AID
    /// the selected application matched (Book 4, Annex A; Book 1, 12.3.1),
    /// empty before selection.
    pub aid_terminal: heapless::Vec<u8, { crate::limits::MAX_AID_BYTES }>,
    /// Terminal Floor Limit (9F1B), binary, of the selected application.
    pub floor_limit: [u8; 4],
    /// Point-of-Service Entry Mode (9F39): `05`, chip read.
    pub pos_entry_mode: [u8; 1],
}

/// An amount as `n 12` (6 bytes BCD); amounts above 10^12 - 1 saturate.
pub fn amount_bcd(amount: u64) -> [u8; 6] {
    let mut value = amount.min(999_999_999_999);
    let mut out = [0u8; 6];
    for byte in out.iter_mut().rev() {
        let low = (value % 10) as u8;
        value /= 10;
        let high = (value % 10) as u8;
        value /= 10;
        *byte = (high << 4) | low;
    }
    out
}

/// A counter as `n 8` (4 bytes BCD); values above 10^8 - 1 wrap.
pub fn counter_bcd(counter: u32) -> [u8; 4] {
    let bytes = amount_bcd(u64::from(counter % 100_000_000));
    [bytes[2], bytes[3], bytes[4], bytes[5]]
}

impl TerminalData {
    /// The terminal data of a transaction on this terminal.
    pub fn new(config: &TerminalConfig, inputs: &TransactionInputs) -> Self {
        let binary = |amount: u64| u32::try_from(amount).unwrap_or(u32::MAX).to_be_bytes();
        TerminalData {
            amount_authorised: amount_bcd(inputs.amount_authorised),
            amount_authorised_binary: binary(inputs.amount_authorised),
            amount_other: amount_bcd(inputs.amount_other),
            amount_other_binary: binary(inputs.amount_other),
            currency_code: inputs.currency_code,
            currency_exponent: [inputs.currency_exponent],
            date: inputs.date,
            time: inputs.time,
            transaction_type: [inputs.transaction_type],
            unpredictable_number: inputs.unpredictable_number,
            transaction_sequence_counter: counter_bcd(inputs.transaction_sequence_counter),
            tvr: Tvr::default(),
            tsi: Tsi::default(),
            cvm_results: [0x3F, 0x00, 0x00],
            authorisation_response_code: None,
            tc_hash_value: None,
            country_code: config.terminal_country_code,
            capabilities: config.terminal_capabilities,
            additional_capabilities: config.additional_terminal_capabilities,
            terminal_type: [config.terminal_type],
            terminal_identification: config.terminal_identification,
            ifd_serial_number: config.ifd_serial_number,
            merchant_identifier: config.merchant_identifier,
            merchant_category_code: config.merchant_category_code,
            merchant_name_and_location: config.merchant_name_and_location.clone(),
            acquirer_identifier: config.acquirer_identifier,
            application_version: [0, 0],
            aid_terminal: heapless::Vec::new(),
            floor_limit: [0; 4],
            pos_entry_mode: [0x05],
        }
    }

    /// The value of a terminal data object.
    pub fn value(&self, tag: Tag) -> Option<&[u8]> {
        Some(match tag.0 {
            0x9F02 => &self.amount_authorised,
            0x81 => &self.amount_authorised_binary,
            0x9F03 => &self.amount_other,
            0x9F04 => &self.amount_other_binary,
            0x5F2A => &self.currency_code,
            0x5F36 => &self.currency_exponent,
            0x9A => &self.date,
            0x9F21 => &self.time,
            0x9C => &self.transaction_type,
            0x9F37 => &self.unpredictable_number,
            0x9F41 => &self.transaction_sequence_counter,
            0x95 => &self.tvr.0,
            0x9B => &self.tsi.0,
            0x9F34 => &self.cvm_results,
            0x8A => {
                return self
                    .authorisation_response_code
                    .as_ref()
                    .map(|c| c.as_slice())
            }
            0x98 => return self.tc_hash_value.as_ref().map(|h| h.as_slice()),
            0x9F1A => &self.country_code,
            0x9F33 => &self.capabilities,
            0x9F40 => &self.additional_capabilities,
            0x9F35 => &self.terminal_type,
            0x9F1C => &self.terminal_identification,
            0x9F1E => &self.ifd_serial_number,
            0x9F16 => &self.merchant_identifier,
            0x9F15 => &self.merchant_category_code,
            0x9F4E => &self.merchant_name_and_location,
            0x9F01 => &self.acquirer_identifier,
            0x9F09 => &self.application_version,
            0x9F06 if !self.aid_terminal.is_empty() => &self.aid_terminal,
            0x9F1B => &self.floor_limit,
            0x9F39 => &self.pos_entry_mode,
            _ => return None,
        })
    }
}

/// The DOL data source of a transaction: terminal data first, then the card's.
#[derive(Clone, Copy, Debug)]
pub struct Sources<'a> {
    /// The terminal's data objects.
    pub terminal: &'a TerminalData,
    /// The card's data objects.
    pub card: &'a DataStore,
}

impl DataSource for Sources<'_> {
    fn get(&self, tag: Tag) -> Option<&[u8]> {
        self.terminal.value(tag).or_else(|| self.card.get(tag))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn insert_get_duplicate_replace() {
        let mut store = DataStore::new();
        store.insert(Tag(0x5A), &[0x47, 0x61]).unwrap();
        store.insert(Tag(0x9F36), &[0x00, 0x01]).unwrap();
        assert_eq!(store.get(Tag(0x5A)), Some(&[0x47, 0x61][..]));
        assert_eq!(
            store.insert(Tag(0x5A), &[1]),
            Err(StoreError::Duplicate(Tag(0x5A)))
        );
        store.replace(Tag(0x9F36), &[0x00, 0x02]).unwrap();
        assert_eq!(store.get(Tag(0x9F36)), Some(&[0x00, 0x02][..]));
        store.replace(Tag(0x9F36), &[1, 2, 3]).unwrap();
        assert_eq!(store.get(Tag(0x9F36)), Some(&[1, 2, 3][..]));
        store.replace(Tag(0x9F26), &[9; 8]).unwrap();
        assert_eq!(store.len(), 3);
        assert_eq!(store.get(Tag(0x8C)), None);
    }

    #[test]
    fn records_may_repeat_fci_data_but_not_each_other() {
        let mut store = DataStore::new();
        store.insert(Tag(0x50), b"FCI LABEL").unwrap();
        store.seal_selection_data();
        store.insert(Tag(0x50), b"RECORD").unwrap();
        assert_eq!(store.get(Tag(0x50)), Some(&b"RECORD"[..]));
        assert_eq!(
            store.insert(Tag(0x50), b"AGAIN"),
            Err(StoreError::Duplicate(Tag(0x50)))
        );
        store.insert(Tag(0x5A), &[1]).unwrap();
        assert_eq!(
            store.insert(Tag(0x5A), &[1]),
            Err(StoreError::Duplicate(Tag(0x5A)))
        );
    }

    #[test]
    fn full_is_an_error_not_a_panic() {
        let mut store = DataStore::new();
        let big = [0u8; 1000];
        let mut result = Ok(());
        for tag in 0xDF01..0xDF0B {
            result = store.insert(Tag(tag), &big);
            if result.is_err() {
                break;
            }
        }
        assert_eq!(result, Err(StoreError::Full));
        let mut store = DataStore::new();
        for i in 0..DATA_STORE_ENTRIES as u32 {
            store.insert(Tag(0xDF00 + i), &[]).unwrap();
        }
        assert_eq!(store.insert(Tag(0x5A), &[]), Err(StoreError::Full));
    }

    #[test]
    fn the_presence_filter_never_hides_a_tag() {
        // A full store of tags whose filter bits collide (among 96 tags in
        // 128 bits many do): each is found, each again is a duplicate, and
        // absent tags on set bits are absent.
        let mut store = DataStore::new();
        let tags: heapless::Vec<Tag, DATA_STORE_ENTRIES> = (0..DATA_STORE_ENTRIES as u32)
            .map(|i| Tag(0x9F00 + i))
            .collect();
        let mut bits = 0u128;
        for (i, tag) in tags.iter().enumerate() {
            store.insert(*tag, &[i as u8]).unwrap();
            bits |= filter_bit(*tag);
        }
        assert!(
            (bits.count_ones() as usize) < tags.len(),
            "the test needs colliding bits"
        );
        for (i, tag) in tags.iter().enumerate() {
            assert_eq!(store.get(*tag), Some(&[i as u8][..]));
            assert!(store.contains(*tag));
            assert_eq!(store.insert(*tag, &[0]), Err(StoreError::Duplicate(*tag)));
        }
        for absent in (0x5F00..0x5F80).map(Tag) {
            assert_eq!(store.get(absent), None);
            assert!(!store.contains(absent));
        }
        store.clear();
        assert_eq!(store.get(tags[0]), None);
        store.insert(tags[0], &[7]).unwrap();
        assert_eq!(store.get(tags[0]), Some(&[7][..]));
    }

    #[test]
    fn wipe_empties_the_store_and_zeroes_the_arena() {
        let mut store = DataStore::new();
        store.insert(Tag(0x5A), &[0x47; 8]).unwrap();
        store.wipe();
        assert!(store.is_empty());
        assert_eq!(store.bytes_used(), 0);
        assert_eq!(store.get(Tag(0x5A)), None);
        store.insert(Tag(0x5A), &[1]).unwrap();
        assert_eq!(store.get(Tag(0x5A)), Some(&[1][..]));
    }

    #[test]
    fn terminal_data_formats() {
        assert_eq!(amount_bcd(123_456), [0, 0, 0, 0x12, 0x34, 0x56]);
        assert_eq!(amount_bcd(u64::MAX), [0x99; 6]);
        assert_eq!(counter_bcd(1), [0, 0, 0, 1]);
        let inputs = TransactionInputs::new(
            1_000,
            crate::config::Currency::EUR,
            [0x25, 0x06, 0x15],
            [0x12, 0x00, 0x00],
            [0x11, 0x22, 0x33, 0x44],
            50,
            1,
        );
        let data = TerminalData::new(&TerminalConfig::default(), &inputs);
        assert_eq!(data.value(Tag(0x9F02)), Some(&[0, 0, 0, 0, 0x10, 0x00][..]));
        assert_eq!(data.value(Tag(0x81)), Some(&[0, 0, 0x03, 0xE8][..]));
        assert_eq!(data.value(Tag(0x8A)), None);
        // 9F06 only once an application is selected.
        assert_eq!(data.value(Tag(0x9F06)), None);
    }

    #[test]
    fn the_selected_applications_terminal_aid_is_served_to_dols() {
        let config = TerminalConfig::default();
        let inputs = TransactionInputs::new(
            1_000,
            crate::config::Currency::EUR,
            [0x25, 0x06, 0x15],
            [0x12, 0x00, 0x00],
            [0x11, 0x22, 0x33, 0x44],
            50,
            1,
        );
        let mut data = TerminalData::new(&config, &inputs);
        data.aid_terminal = config.applications[0].aid.clone();
        let dol = [0x9F, 0x06, 0x07];
        let store = DataStore::new();
        let sources = Sources {
            terminal: &data,
            card: &store,
        };
        let mut out = [0u8; 7];
        assert_eq!(crate::dol::build(&dol, &sources, &mut out), Ok(7));
        assert_eq!(out, [0xA0, 0x00, 0x00, 0x09, 0x99, 0x10, 0x10]);
    }
}
