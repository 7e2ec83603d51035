//! Initiate application processing: Book 3, 10.1.
//!
//! GET PROCESSING OPTIONS with the PDOL data in template 83, and the two
//! response formats (80: AIP and AFL; 77: 82 and 94 among other objects).
//! The Application Interchange Profile and the Application File Locator are
//! checked here; a bad AFL terminates (Book 3, 10.2).

use crate::apdu::{build_command, Command};
use crate::context::Context;
use crate::data::{DataStore, Sources};
use crate::dol::{self, DataSource};
use crate::limits::MAX_AFL_BYTES;
use crate::outcome::TerminationReason;
use crate::tlv::{self, Tag};
use crate::tvr::{Tsi, Tvr};
use heapless::Vec;

/// AIP byte 1 b7: SDA supported.
pub const AIP_SDA: u8 = 0x40;
/// AIP byte 1, b8 (EMV 4.4 Book 3, Annex C1): XDA supported.
pub const AIP_XDA: u8 = 0x80;
/// AIP byte 1 b6: DDA supported.
pub const AIP_DDA: u8 = 0x20;
/// AIP byte 1 b5: cardholder verification is supported.
pub const AIP_CARDHOLDER_VERIFICATION: u8 = 0x10;
/// AIP byte 1 b4: terminal risk management is to be performed.
pub const AIP_TERMINAL_RISK_MANAGEMENT: u8 = 0x08;
/// AIP byte 1 b3: issuer authentication is supported.
pub const AIP_ISSUER_AUTHENTICATION: u8 = 0x04;
/// AIP byte 1 b1: CDA supported.
pub const AIP_CDA: u8 = 0x01;

/// Application Interchange Profile (82): what the card supports.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Aip(pub [u8; 2]);

impl Aip {
    /// Whether byte 1 has `mask` (one of the `AIP_*` constants).
    pub fn has(self, mask: u8) -> bool {
        self.0[0] & mask != 0
    }
}

/// One AFL entry (Book 3, 10.2): records `first..=last` of file `sfi`, the
/// first `oda_records` of which take part in offline data authentication.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AflEntry {
    /// Short File Identifier, 1..=30.
    pub sfi: u8,
    /// First record number, at least 1.
    pub first: u8,
    /// Last record number, at least `first`.
    pub last: u8,
    /// Number of records from `first` used for ODA.
    pub oda_records: u8,
}

impl AflEntry {
    /// Whether `record` of this entry is in the ODA set.
    pub fn is_oda_record(&self, record: u8) -> bool {
        u16::from(record) < u16::from(self.first) + u16::from(self.oda_records)
    }
}

/// Book 3, 10.2: a valid AFL: a multiple of 4 bytes, each entry with SFI 1..=30,
/// first record not 0, last not below first, and an ODA record count not
/// beyond the entry's records.
pub fn validate_afl(afl: &[u8]) -> Result<(), TerminationReason> {
    if !afl.len().is_multiple_of(4) || afl.len() > MAX_AFL_BYTES {
        return Err(TerminationReason::InvalidAfl);
    }
    for entry in afl.chunks_exact(4) {
        let [byte1, first, last, oda] = entry else {
            return Err(TerminationReason::InvalidAfl);
        };
        let sfi = byte1 >> 3;
        let span = u16::from(*last) + 1 - u16::from(*first).min(u16::from(*last) + 1);
        if !(1..=30).contains(&sfi) || *first == 0 || last < first || u16::from(*oda) > span {
            return Err(TerminationReason::InvalidAfl);
        }
    }
    Ok(())
}

/// The entries of an AFL checked by [`validate_afl`].
pub fn afl_entries(afl: &[u8]) -> impl Iterator<Item = AflEntry> + '_ {
    afl.chunks_exact(4).filter_map(|entry| match entry {
        [byte1, first, last, oda] => Some(AflEntry {
            sfi: byte1 >> 3,
            first: *first,
            last: *last,
            oda_records: *oda,
        }),
        _ => None,
    })
}

/// Writes GET PROCESSING OPTIONS (`80 A8 00 00 Lc 83 L pdol-data 00`) with
/// the data the card's PDOL (9F38) asks for. Returns the PDOL data's offset
/// and length in the command (CDA hashes it, Book 2, 6.6.1).
pub fn build_gpo(
    pdol: Option<&[u8]>,
    source: &impl DataSource,
    command: &mut Command,
) -> Result<(), TerminationReason> {
    let mut data = [0u8; 255];
    let length = dol::build_gpo_data(pdol, source, &mut data)
        .map_err(|_| TerminationReason::CardDataFormat)?;
    let body = data
        .get(..length)
        .ok_or(TerminationReason::CapacityExceeded)?;
    if build_command(command, [0x80, 0xA8, 0x00, 0x00], Some(body), true) {
        Ok(())
    } else {
        Err(TerminationReason::CapacityExceeded)
    }
}

/// Book 3, 6.5.8.4: reads the GPO response (format 1 or 2) and stores the
/// AIP (82), AFL (94) and, for format 2, every other primitive object.
pub fn read_gpo_response(
    data: &[u8],
    store: &mut DataStore,
) -> Result<(Aip, usize), TerminationReason> {
    let template = tlv::parse_single(data).map_err(|_| TerminationReason::CardDataFormat)?;
    match template.tag {
        Tag(0x80) => {
            let (aip, afl) = template
                .value
                .split_at_checked(2)
                .ok_or(TerminationReason::CardDataFormat)?;
            store_unique(store, Tag(0x82), aip)?;
            store_unique(store, Tag(0x94), afl)?;
        }
        Tag(0x77) => {
            for item in tlv::leaves(template.value) {
                let object = item.map_err(|_| TerminationReason::CardDataFormat)?;
                store_unique(store, object.tag, object.value)?;
            }
        }
        _ => return Err(TerminationReason::CardDataFormat),
    }
    let aip = store
        .get(Tag(0x82))
        .and_then(|v| <[u8; 2]>::try_from(v).ok())
        .ok_or(TerminationReason::MissingMandatoryData)?;
    let afl = store
        .get(Tag(0x94))
        .ok_or(TerminationReason::MissingMandatoryData)?;
    validate_afl(afl)?;
    Ok((Aip(aip), afl.len()))
}

fn store_unique(store: &mut DataStore, tag: Tag, value: &[u8]) -> Result<(), TerminationReason> {
    store.insert(tag, value).map_err(|e| match e {
        crate::data::StoreError::Duplicate(_) => TerminationReason::DuplicateData,
        crate::data::StoreError::Full => TerminationReason::CapacityExceeded,
    })
}

/// What the card answered to GET PROCESSING OPTIONS.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum GpoAnswer {
    /// The AIP and the AFL are read and stored; the records come next.
    Accepted(Aip),
    /// `6985`, conditions of use not satisfied: selection goes on without
    /// this application (Book 3, 10.1).
    ConditionsNotSatisfied,
}

/// Book 3, 10.1: GET PROCESSING OPTIONS with the PDOL data, for the
/// application just selected: its terminal data (application version, floor
/// limit) are set and TVR and TSI start at zero. Returns the PDOL data (CDA
/// signs them, Book 2, 6.6.1).
pub(crate) fn initiate_application_processing(
    cx: &mut Context<'_>,
) -> Result<Vec<u8, 255>, TerminationReason> {
    let config = cx.terminal_context.config;
    let df_name = cx.store.get(Tag(0x84)).unwrap_or(&[]);
    cx.application = config.application_for(df_name).and_then(|found| {
        config
            .applications
            .iter()
            .position(|a| core::ptr::eq(a, found))
    });
    if let Some(app) = cx.app_config() {
        cx.terminal.application_version = app.application_version;
        cx.terminal.aid_terminal = app.aid.clone();
        cx.terminal.floor_limit = u32::try_from(app.floor_limit)
            .unwrap_or(u32::MAX)
            .to_be_bytes();
    }
    // Book 3, 10.1: TVR and TSI start at zero for the selected application.
    cx.terminal.tvr = Tvr::default();
    cx.terminal.tsi = Tsi::default();
    let pdol = cx.store.get(Tag(0x9F38));
    let sources = Sources {
        terminal: &cx.terminal,
        card: &cx.store,
    };
    let mut pdol_data = [0u8; 255];
    let length = match pdol.map(|p| dol::build(p, &sources, &mut pdol_data)) {
        None => Ok(0),
        Some(result) => result,
    };
    let Ok(length) = length else {
        return Err(TerminationReason::CardDataFormat);
    };
    let pdol_data = Vec::from_slice(pdol_data.get(..length).unwrap_or(&[])).unwrap_or_default();
    build_gpo(pdol, &sources, &mut cx.command)?;
    Ok(pdol_data)
}

/// The card's answer to GET PROCESSING OPTIONS: `6985` sends selection on
/// without the application, another error terminates, a good response is
/// read with [`read_gpo_response`].
pub(crate) fn on_gpo_response(
    cx: &mut Context<'_>,
    data: &[u8],
    status: u16,
) -> Result<GpoAnswer, TerminationReason> {
    if status == 0x6985 {
        // Book 3, 10.1: conditions of use not satisfied: back to selection
        // without this application.
        return Ok(GpoAnswer::ConditionsNotSatisfied);
    }
    if status != 0x9000 {
        return Err(TerminationReason::CardError {
            instruction: 0xA8,
            status,
        });
    }
    let (aip, _) = read_gpo_response(data, &mut cx.store)?;
    Ok(GpoAnswer::Accepted(aip))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn afl_validation_follows_book3_10_2() {
        assert!(validate_afl(&[0x08, 0x01, 0x02, 0x01, 0x10, 0x01, 0x01, 0x00]).is_ok());
        assert!(validate_afl(&[]).is_ok());
        // Not a multiple of 4.
        assert!(validate_afl(&[0x08, 0x01, 0x02]).is_err());
        // SFI 0 and SFI 31.
        assert!(validate_afl(&[0x00, 0x01, 0x01, 0x00]).is_err());
        assert!(validate_afl(&[0xF8, 0x01, 0x01, 0x00]).is_err());
        // First record 0; last before first; ODA count beyond the records.
        assert!(validate_afl(&[0x08, 0x00, 0x01, 0x00]).is_err());
        assert!(validate_afl(&[0x08, 0x03, 0x02, 0x00]).is_err());
        assert!(validate_afl(&[0x08, 0x01, 0x02, 0x03]).is_err());
        assert!(validate_afl(&[0x08, 0xFF, 0xFF, 0x01]).is_ok());
    }

    #[test]
    fn reads_both_gpo_formats() {
        let mut store = DataStore::new();
        let format1 = [0x80, 0x06, 0x7C, 0x00, 0x08, 0x01, 0x01, 0x00];
        let (aip, afl_len) = read_gpo_response(&format1, &mut store).unwrap();
        assert_eq!(aip, Aip([0x7C, 0x00]));
        assert_eq!(afl_len, 4);
        assert!(aip.has(AIP_SDA) && aip.has(AIP_DDA) && !aip.has(AIP_CDA));

        let mut store = DataStore::new();
        let format2 = [
            0x77, 0x0E, 0x82, 0x02, 0x39, 0x00, 0x94, 0x04, 0x08, 0x01, 0x03, 0x01, 0x9F, 0x36,
            0x01, 0x05,
        ];
        let (aip, _) = read_gpo_response(&format2, &mut store).unwrap();
        assert_eq!(aip, Aip([0x39, 0x00]));
        assert_eq!(store.get(Tag(0x9F36)), Some(&[0x05][..]));
        let entries: heapless::Vec<AflEntry, 4> =
            afl_entries(store.get(Tag(0x94)).unwrap()).collect();
        assert_eq!(
            entries.as_slice(),
            &[AflEntry {
                sfi: 1,
                first: 1,
                last: 3,
                oda_records: 1
            }]
        );
        assert!(entries[0].is_oda_record(1) && !entries[0].is_oda_record(2));

        let mut store = DataStore::new();
        assert_eq!(
            read_gpo_response(&[0x80, 0x01, 0x5C], &mut store),
            Err(TerminationReason::CardDataFormat)
        );
        let mut store = DataStore::new();
        assert_eq!(
            read_gpo_response(&[0x77, 0x04, 0x94, 0x02, 0x08, 0x01], &mut store),
            Err(TerminationReason::MissingMandatoryData)
        );
    }
}
