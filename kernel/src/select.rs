//! Application selection: Book 1, section 12.
//!
//! Builds the candidate list with the Payment System Environment directory
//! (12.3.2, nested DDFs included) or, as a fallback, the terminal's list of
//! AIDs (12.3.3, with partial name selection), orders it by Application
//! Priority Indicator, decides whether the cardholder must confirm or choose
//! (12.4), and performs the final SELECT. The PPSE (contactless) FCI is
//! parsed by [`ppse_entries`] for later use.
//!
//! Entry point: [`Selection::on_response`], driven by the transaction.

use crate::apdu::{build_command, split_status, Command};
use crate::config::TerminalConfig;
use crate::data::DataStore;
use crate::limits::{CANDIDATE_LIST_CAPACITY, MAX_AID_BYTES, MAX_LABEL_BYTES, PSE_DDF_CAPACITY};
use crate::outcome::TerminationReason;
use crate::tlv::{self, Tag, Tlv};
use heapless::Vec;

/// `1PAY.SYS.DDF01`: the contact Payment System Environment (Book 1, 12.2.2).
pub const PSE_NAME: &[u8] = b"1PAY.SYS.DDF01";
/// `2PAY.SYS.DDF01`: the contactless PPSE.
pub const PPSE_NAME: &[u8] = b"2PAY.SYS.DDF01";

/// Application Priority Indicator (87) b8: cardholder confirmation required.
pub const PRIORITY_CONFIRMATION_REQUIRED: u8 = 0x80;

/// How many SELECT next-occurrence commands one terminal AID may cause: a card
/// that keeps answering would otherwise loop for ever.
const MAX_OCCURRENCES_PER_AID: u8 = 8;
/// Directory records read per directory (SFI records are numbered 1..=255).
const MAX_DIRECTORY_RECORDS: u8 = 32;

/// One application the terminal may select (Book 1, 12.3).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Candidate {
    /// ADF name (AID) as the card gave it.
    pub aid: Vec<u8, MAX_AID_BYTES>,
    /// Application Label (50).
    pub label: Vec<u8, MAX_LABEL_BYTES>,
    /// Application Preferred Name (9F12).
    pub preferred_name: Vec<u8, MAX_LABEL_BYTES>,
    /// Application Priority Indicator (87), 0 when absent.
    pub priority: u8,
    /// Issuer Code Table Index (9F11), when given.
    pub code_table_index: Option<u8>,
}

impl Candidate {
    fn new(aid: &[u8]) -> Option<Self> {
        Some(Candidate {
            aid: Vec::from_slice(aid).ok()?,
            label: Vec::new(),
            preferred_name: Vec::new(),
            priority: 0,
            code_table_index: None,
        })
    }

    /// The name to offer the cardholder (Book 1, 12.4): the preferred name
    /// when its code table is one the terminal supports (9F40), else the
    /// label.
    pub fn display_name(&self, additional_terminal_capabilities: [u8; 5]) -> &[u8] {
        crate::restrict::AdditionalTerminalCapabilities(additional_terminal_capabilities)
            .application_name(
                &self.label,
                Some(&self.preferred_name),
                self.code_table_index,
            )
    }

    /// Book 1, 12.2.3: b8 of the priority indicator.
    pub fn requires_confirmation(&self) -> bool {
        self.priority & PRIORITY_CONFIRMATION_REQUIRED != 0
    }

    /// Order key: priority 1 (highest) to 15, then "no priority" (0) last.
    fn rank(&self) -> u8 {
        match self.priority & 0x0F {
            0 => 16,
            n => n,
        }
    }

    fn fill_from(&mut self, object: &Tlv<'_>) {
        match object.tag {
            Tag(0x50) => copy_truncated(&mut self.label, object.value),
            Tag(0x9F12) => copy_truncated(&mut self.preferred_name, object.value),
            Tag(0x87) => self.priority = object.value.first().copied().unwrap_or(0),
            Tag(0x9F11) => self.code_table_index = object.value.first().copied(),
            _ => {}
        }
    }
}

fn copy_truncated<const N: usize>(out: &mut Vec<u8, N>, value: &[u8]) {
    out.clear();
    for byte in value.iter().take(N) {
        let _ = out.push(*byte); // never full: at most N taken
    }
}

/// Book 1, 12.2.3 and 12.3.2 step 3: the candidate a directory entry (the
/// value of one 61 template) names, when its ADF name (4F) is 5 to 16
/// bytes, its contents are well formed, and the terminal supports it.
fn directory_candidate(config: &TerminalConfig, entry: &[u8]) -> Option<Candidate> {
    tlv::validate(entry).ok()?;
    let aid = tlv::find(entry, Tag(0x4F))?;
    if aid.len() < 5 {
        return None;
    }
    config.application_for(aid)?;
    let mut candidate = Candidate::new(aid)?;
    for object in tlv::iter(entry).map_while(Result::ok) {
        candidate.fill_from(&object);
    }
    Some(candidate)
}

/// The File Control Information of a SELECT response (Book 1, 11.3.4).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Fci<'a> {
    /// DF name (84).
    pub df_name: &'a [u8],
    /// The FCI proprietary template's value (A5).
    pub proprietary: &'a [u8],
}

impl<'a> Fci<'a> {
    /// Reads template 6F with 84 and A5 (both mandatory).
    pub fn parse(data: &'a [u8]) -> Option<Self> {
        let template = tlv::parse_single(data).ok()?;
        if template.tag != Tag(0x6F) {
            return None;
        }
        let mut df_name = None;
        let mut proprietary = None;
        for object in template.children() {
            let object = object.ok()?;
            match object.tag {
                Tag(0x84) if df_name.is_none() => df_name = Some(object.value),
                Tag(0xA5) if proprietary.is_none() => proprietary = Some(object.value),
                _ => {}
            }
        }
        tlv::validate(proprietary?).ok()?;
        Some(Fci {
            df_name: df_name?,
            proprietary: proprietary?,
        })
    }

    /// SFI of the directory elementary file (88) of a PSE or DDF FCI, 1..=30.
    pub fn directory_sfi(&self) -> Option<u8> {
        let sfi = *tlv::find(self.proprietary, Tag(0x88))?.first()?;
        (1..=30).contains(&sfi).then_some(sfi)
    }
}

/// The directory entries (61) of a PPSE FCI (`BF0C` in `A5`): each entry's
/// value, holding 4F, 50, 87 and more. Contactless only; parsed, not used by
/// the contact flow.
pub fn ppse_entries<'a>(fci: &Fci<'a>) -> impl Iterator<Item = &'a [u8]> + 'a {
    let discretionary = tlv::find(fci.proprietary, Tag(0xBF0C)).unwrap_or(&[]);
    tlv::iter(discretionary)
        .map_while(Result::ok)
        .filter(|t| t.tag == Tag(0x61))
        .map(|t| t.value)
}

/// The candidate list (Book 1, 12.3), kept in priority order.
pub type CandidateList = Vec<Candidate, CANDIDATE_LIST_CAPACITY>;

/// Adds a candidate unless its AID is already listed; keeps the list ordered
/// by priority, stable for equal priorities (Book 1, 12.4).
fn add_candidate(list: &mut CandidateList, candidate: Candidate) -> bool {
    if list.iter().any(|c| c.aid == candidate.aid) {
        return true;
    }
    let position = list
        .iter()
        .position(|c| c.rank() > candidate.rank())
        .unwrap_or(list.len());
    list.insert(position, candidate).is_ok()
}

/// What the cardholder is asked (Book 1, 12.4).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CardholderQuestion {
    /// Confirm the only candidate (index 0) or decline.
    Confirm,
    /// Choose one of the candidates.
    Choose,
}

/// What selection wants next.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SelectionAction {
    /// Send the command written into the command buffer.
    Transmit,
    /// Ask the cardholder about the candidate list.
    AskCardholder(CardholderQuestion),
    /// The application is selected; its FCI data are in the data store.
    Selected,
    /// Selection cannot continue.
    Terminate(TerminationReason),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum SelectState {
    SelectPse,
    ReadDirectory { sfi: u8, record: u8 },
    SelectDdf,
    SelectAid { index: usize, occurrences: u8 },
    AwaitCardholder,
    FinalSelect { candidate: usize },
    Done,
}

/// Application selection in progress: Book 1, 12.3 and 12.4.
#[derive(Clone, Debug)]
pub struct Selection {
    state: SelectState,
    candidates: CandidateList,
    ddfs: Vec<Vec<u8, MAX_AID_BYTES>, PSE_DDF_CAPACITY>,
    ddfs_done: usize,
    selected: Option<usize>,
}

impl Selection {
    /// Starts selection and writes its first command (SELECT PSE, or the
    /// first terminal AID when the terminal does not use the PSE).
    pub fn start(config: &TerminalConfig, command: &mut Command) -> (Self, SelectionAction) {
        let mut selection = Selection::empty();
        let action = selection.restart(config, command);
        (selection, action)
    }

    /// Nothing selected, nothing asked.
    pub(crate) const fn empty() -> Self {
        Selection {
            state: SelectState::SelectPse,
            candidates: Vec::new(),
            ddfs: Vec::new(),
            ddfs_done: 0,
            selected: None,
        }
    }

    /// [`Selection::start`] in place: forgets everything and writes the
    /// first command, without a copy of the selection on the stack.
    pub fn restart(&mut self, config: &TerminalConfig, command: &mut Command) -> SelectionAction {
        let Selection {
            state,
            candidates,
            ddfs,
            ddfs_done,
            selected,
        } = self;
        *state = SelectState::SelectPse;
        candidates.clear();
        ddfs.clear();
        *ddfs_done = 0;
        *selected = None;
        if config.selection.pse {
            select_by_name(command, PSE_NAME, false)
        } else {
            self.list_of_aids(config, 0, command)
        }
    }

    /// A log-friendly name of the current step.
    pub fn step(&self) -> &'static str {
        match self.state {
            SelectState::SelectPse => "select PSE",
            SelectState::ReadDirectory { .. } => "read PSE directory",
            SelectState::SelectDdf => "select DDF",
            SelectState::SelectAid { .. } => "select by list of AIDs",
            SelectState::AwaitCardholder => "cardholder selection",
            SelectState::FinalSelect { .. } => "final selection",
            SelectState::Done => "application selected",
        }
    }

    /// The candidate list, in priority order.
    pub fn candidates(&self) -> &[Candidate] {
        &self.candidates
    }

    /// The finally selected candidate.
    pub fn selected(&self) -> Option<&Candidate> {
        self.candidates.get(self.selected?)
    }

    /// Feeds the card's response to the last command.
    pub fn on_response(
        &mut self,
        config: &TerminalConfig,
        response: &[u8],
        store: &mut DataStore,
        command: &mut Command,
    ) -> SelectionAction {
        let (data, status) = split_status(response);
        match self.state {
            SelectState::SelectPse => {
                if status == 0x6A81 {
                    return SelectionAction::Terminate(TerminationReason::CardBlocked);
                }
                match Fci::parse(data).and_then(|f| f.directory_sfi()) {
                    Some(sfi) if status == 0x9000 => self.read_record(sfi, 1, command),
                    _ => self.list_of_aids(config, 0, command),
                }
            }
            SelectState::ReadDirectory { sfi, record } => {
                if status == 0x6A83 {
                    return self.next_directory(config, command);
                }
                if status != 0x9000 || !self.add_directory_record(config, data) {
                    // Book 1, 12.3.2: an error in the directory: discard the
                    // list and fall back to the list of AIDs.
                    self.candidates.clear();
                    return self.list_of_aids(config, 0, command);
                }
                if record >= MAX_DIRECTORY_RECORDS {
                    return self.next_directory(config, command);
                }
                self.read_record(sfi, record + 1, command)
            }
            SelectState::SelectDdf => match Fci::parse(data).and_then(|f| f.directory_sfi()) {
                Some(sfi) if status == 0x9000 => self.read_record(sfi, 1, command),
                _ => self.next_directory(config, command),
            },
            SelectState::SelectAid { index, occurrences } => {
                self.on_select_aid(config, index, occurrences, data, status, command)
            }
            SelectState::FinalSelect { candidate } => {
                self.on_final_select(config, candidate, data, status, store, command)
            }
            SelectState::AwaitCardholder | SelectState::Done => {
                SelectionAction::Terminate(TerminationReason::CardDataFormat)
            }
        }
    }

    /// The cardholder's answer: `Some(index)` into [`Selection::candidates`],
    /// or `None` to cancel.
    pub fn on_cardholder(
        &mut self,
        choice: Option<usize>,
        command: &mut Command,
    ) -> SelectionAction {
        if self.state != SelectState::AwaitCardholder {
            return SelectionAction::Terminate(TerminationReason::Cancelled);
        }
        match choice {
            Some(index) if index < self.candidates.len() => self.final_select(index, command),
            _ => SelectionAction::Terminate(TerminationReason::Cancelled),
        }
    }

    /// Book 3, 10.1 / Book 1, 12.4: the selected application cannot be used
    /// (GPO answered 6985): remove it and select again from the candidates.
    pub fn retry_without_selected(
        &mut self,
        config: &TerminalConfig,
        command: &mut Command,
    ) -> SelectionAction {
        if let Some(index) = self.selected.take() {
            if index < self.candidates.len() {
                self.candidates.remove(index);
            }
        }
        self.choose(config, command)
    }

    fn read_record(&mut self, sfi: u8, record: u8, command: &mut Command) -> SelectionAction {
        self.state = SelectState::ReadDirectory { sfi, record };
        let p2 = (sfi << 3) | 0x04;
        if build_command(command, [0x00, 0xB2, record, p2], None, true) {
            SelectionAction::Transmit
        } else {
            SelectionAction::Terminate(TerminationReason::CapacityExceeded)
        }
    }

    /// Adds a directory record's entries; `false` when it is malformed.
    fn add_directory_record(&mut self, config: &TerminalConfig, data: &[u8]) -> bool {
        let Ok(record) = tlv::parse_single(data) else {
            return false;
        };
        if record.tag != Tag(0x70) {
            return false;
        }
        // The record itself is well formed (template 70 of valid TLV) before
        // any of its entries is used.
        if tlv::validate(record.value).is_err() {
            return false;
        }
        for entry in record.children().map_while(Result::ok) {
            if entry.tag != Tag(0x61) {
                continue;
            }
            if let Some(ddf) = tlv::find(entry.value, Tag(0x9D)) {
                if let Ok(name) = Vec::from_slice(ddf) {
                    // Directories beyond the capacity are not followed.
                    let _ = self.ddfs.push(name);
                }
                continue;
            }
            // Book 1, 12.2.3: an entry without a valid ADF name (4F, 5 to 16
            // bytes) or with malformed contents is skipped; the other
            // entries of the record stay usable (docs/conformance.md).
            if let Some(candidate) = directory_candidate(config, entry.value) {
                // A full list keeps the applications found first.
                let _ = add_candidate(&mut self.candidates, candidate);
            }
        }
        true
    }

    fn next_directory(
        &mut self,
        config: &TerminalConfig,
        command: &mut Command,
    ) -> SelectionAction {
        if let Some(ddf) = self.ddfs.get(self.ddfs_done) {
            self.ddfs_done += 1;
            self.state = SelectState::SelectDdf;
            return select_by_name(command, ddf, false);
        }
        if self.candidates.is_empty() {
            return self.list_of_aids(config, 0, command);
        }
        self.choose(config, command)
    }

    fn list_of_aids(
        &mut self,
        config: &TerminalConfig,
        index: usize,
        command: &mut Command,
    ) -> SelectionAction {
        match config.applications.get(index) {
            Some(app) => {
                self.state = SelectState::SelectAid {
                    index,
                    occurrences: 0,
                };
                select_by_name(command, &app.aid, false)
            }
            None => self.choose(config, command),
        }
    }

    /// Book 1, 12.3.3: one answer to SELECT by a terminal AID.
    fn on_select_aid(
        &mut self,
        config: &TerminalConfig,
        index: usize,
        occurrences: u8,
        data: &[u8],
        status: u16,
        command: &mut Command,
    ) -> SelectionAction {
        // Book 1, 12.3.3 step 2: 6A81 to the SELECT of a terminal AID (not a
        // next occurrence) means card blocked or SELECT not supported:
        // terminate, even after earlier SELECTs were answered.
        if status == 0x6A81 && occurrences == 0 {
            return SelectionAction::Terminate(TerminationReason::CardBlocked);
        }
        let Some(app) = config.applications.get(index) else {
            return self.choose(config, command);
        };
        let fci = match status {
            0x9000 | 0x6283 => Fci::parse(data),
            _ => None,
        };
        let Some(fci) = fci else {
            return self.list_of_aids(config, index + 1, command);
        };
        let exact = fci.df_name == app.aid.as_slice();
        let partial = !exact && fci.df_name.starts_with(&app.aid);
        if status == 0x9000 && (exact || (partial && app.partial_selection)) {
            if let Some(mut candidate) = Candidate::new(fci.df_name) {
                for object in tlv::iter(fci.proprietary).map_while(Result::ok) {
                    candidate.fill_from(&object);
                }
                let _ = add_candidate(&mut self.candidates, candidate);
            }
        }
        // EMV 4.4 Book 1, 12.3.3 steps 5-7: SELECT next only after a partial
        // match the Application Selection Indicator allows; an exact match,
        // or a partial match the ASI forbids, moves on to the next terminal
        // AID (ICS 2.4, docs/conformance.md).
        if partial && app.partial_selection && occurrences < MAX_OCCURRENCES_PER_AID {
            self.state = SelectState::SelectAid {
                index,
                occurrences: occurrences + 1,
            };
            return select_by_name(command, &app.aid, true);
        }
        self.list_of_aids(config, index + 1, command)
    }

    /// Book 1, 12.4: decide from the candidate list.
    fn choose(&mut self, config: &TerminalConfig, command: &mut Command) -> SelectionAction {
        let features = config.selection;
        match self.candidates.len() {
            0 => SelectionAction::Terminate(TerminationReason::NoApplication),
            1 => {
                let needs_confirmation = self
                    .candidates
                    .first()
                    .is_some_and(Candidate::requires_confirmation);
                if !needs_confirmation {
                    self.final_select(0, command)
                } else if features.cardholder_confirmation {
                    self.state = SelectState::AwaitCardholder;
                    SelectionAction::AskCardholder(CardholderQuestion::Confirm)
                } else {
                    SelectionAction::Terminate(TerminationReason::ConfirmationNotSupported)
                }
            }
            _ if features.cardholder_choice => {
                self.state = SelectState::AwaitCardholder;
                SelectionAction::AskCardholder(CardholderQuestion::Choose)
            }
            _ => match self
                .candidates
                .iter()
                .position(|c| !c.requires_confirmation())
            {
                Some(index) => self.final_select(index, command),
                None => SelectionAction::Terminate(TerminationReason::ConfirmationNotSupported),
            },
        }
    }

    fn final_select(&mut self, index: usize, command: &mut Command) -> SelectionAction {
        let Some(candidate) = self.candidates.get(index) else {
            return SelectionAction::Terminate(TerminationReason::NoApplication);
        };
        self.state = SelectState::FinalSelect { candidate: index };
        select_by_name(command, &candidate.aid, false)
    }

    fn on_final_select(
        &mut self,
        config: &TerminalConfig,
        index: usize,
        data: &[u8],
        status: u16,
        store: &mut DataStore,
        command: &mut Command,
    ) -> SelectionAction {
        let fci = if status == 0x9000 {
            Fci::parse(data)
        } else {
            None
        };
        // Book 1, 12.4: the DF name returned must be the candidate's AID.
        let expected = self.candidates.get(index).map(|c| c.aid.as_slice());
        let usable = fci.is_some_and(|f| {
            Some(f.df_name) == expected && config.application_for(f.df_name).is_some()
        });
        store.clear();
        if let (Some(fci), true) = (fci, usable) {
            if store_fci(&fci, store).is_ok() {
                store.seal_selection_data();
                self.selected = Some(index);
                self.state = SelectState::Done;
                return SelectionAction::Selected;
            }
            store.clear();
        }
        // Book 1, 12.4: 6283 (application blocked), another error, or an
        // unusable FCI: remove the candidate and choose again.
        if index < self.candidates.len() {
            self.candidates.remove(index);
        }
        self.choose(config, command)
    }
}

/// Keeps the FCI's primitive objects (84, 50, 87, 9F38, 5F2D, 9F11, 9F12,
/// and those of BF0C) in the data store.
fn store_fci(fci: &Fci<'_>, store: &mut DataStore) -> Result<(), ()> {
    store.insert(Tag(0x84), fci.df_name).map_err(|_| ())?;
    for item in tlv::leaves(fci.proprietary) {
        let object = item.map_err(|_| ())?;
        store.insert(object.tag, object.value).map_err(|_| ())?;
    }
    Ok(())
}

/// SELECT by DF name (Book 1, 11.3): `00 A4 04 00|02 Lc name 00`.
fn select_by_name(command: &mut Command, name: &[u8], next: bool) -> SelectionAction {
    let p2 = if next { 0x02 } else { 0x00 };
    if build_command(command, [0x00, 0xA4, 0x04, p2], Some(name), true) {
        SelectionAction::Transmit
    } else {
        SelectionAction::Terminate(TerminationReason::CapacityExceeded)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{TEST_AID_CREDIT, TEST_AID_DEBIT};

    fn tlv(tag: u32, value: &[u8]) -> heapless::Vec<u8, 256> {
        let mut buf = [0u8; 256];
        let mut writer = tlv::Writer::new(&mut buf);
        writer.push(Tag(tag), value).unwrap();
        heapless::Vec::from_slice(writer.as_bytes()).unwrap()
    }

    fn cat(parts: &[&[u8]]) -> heapless::Vec<u8, 256> {
        let mut out = heapless::Vec::new();
        for part in parts {
            out.extend_from_slice(part).unwrap();
        }
        out
    }

    fn ok(data: &[u8]) -> heapless::Vec<u8, 258> {
        let mut out = heapless::Vec::from_slice(data).unwrap();
        out.extend_from_slice(&[0x90, 0x00]).unwrap();
        out
    }

    fn fci(df_name: &[u8], proprietary: &[u8]) -> heapless::Vec<u8, 258> {
        ok(&tlv(
            0x6F,
            &cat(&[&tlv(0x84, df_name), &tlv(0xA5, proprietary)]),
        ))
    }

    fn entry_adf(aid: &[u8], label: &[u8], priority: u8) -> heapless::Vec<u8, 256> {
        tlv(
            0x61,
            &cat(&[&tlv(0x4F, aid), &tlv(0x50, label), &tlv(0x87, &[priority])]),
        )
    }

    #[test]
    fn pse_with_nested_ddf_orders_candidates_by_priority() {
        let config = TerminalConfig::default();
        let mut store = DataStore::new();
        let mut command = Command::default();
        let (mut selection, action) = Selection::start(&config, &mut command);
        assert_eq!(action, SelectionAction::Transmit);
        assert_eq!(&command.as_bytes()[..5], &[0x00, 0xA4, 0x04, 0x00, 0x0E]);

        let pse = fci(PSE_NAME, &tlv(0x88, &[0x01]));
        assert_eq!(
            selection.on_response(&config, &pse, &mut store, &mut command),
            SelectionAction::Transmit
        );
        assert_eq!(command.as_bytes(), &[0x00, 0xB2, 0x01, 0x0C, 0x00]);

        let ddf = tlv(0x61, &tlv(0x9D, b"DDF.TEST"));
        let record = ok(&tlv(
            0x70,
            &cat(&[&ddf, &entry_adf(&TEST_AID_CREDIT, b"CREDIT", 0x02)]),
        ));
        selection.on_response(&config, &record, &mut store, &mut command);
        assert_eq!(command.as_bytes(), &[0x00, 0xB2, 0x02, 0x0C, 0x00]);
        selection.on_response(&config, &[0x6A, 0x83], &mut store, &mut command);
        // The DDF is selected and its own directory (SFI 2) read.
        assert_eq!(&command.as_bytes()[5..13], b"DDF.TEST");
        let ddf_fci = fci(b"DDF.TEST", &tlv(0x88, &[0x02]));
        selection.on_response(&config, &ddf_fci, &mut store, &mut command);
        assert_eq!(command.as_bytes(), &[0x00, 0xB2, 0x01, 0x14, 0x00]);
        let record = ok(&tlv(0x70, &entry_adf(&TEST_AID_DEBIT, b"DEBIT", 0x81)));
        selection.on_response(&config, &record, &mut store, &mut command);
        let action = selection.on_response(&config, &[0x6A, 0x83], &mut store, &mut command);
        assert_eq!(
            action,
            SelectionAction::AskCardholder(CardholderQuestion::Choose)
        );
        assert_eq!(selection.candidates()[0].label.as_slice(), b"DEBIT");
        assert_eq!(selection.candidates()[1].label.as_slice(), b"CREDIT");
        assert!(selection.candidates()[0].requires_confirmation());

        // The cardholder picks credit; final SELECT; FCI stored.
        assert_eq!(
            selection.on_cardholder(Some(1), &mut command),
            SelectionAction::Transmit
        );
        assert_eq!(&command.as_bytes()[5..12], &TEST_AID_CREDIT);
        let final_fci = fci(
            &TEST_AID_CREDIT,
            &cat(&[&tlv(0x50, b"CREDIT"), &tlv(0x9F38, &[0x9F, 0x37, 0x04])]),
        );
        assert_eq!(
            selection.on_response(&config, &final_fci, &mut store, &mut command),
            SelectionAction::Selected
        );
        assert_eq!(store.get(Tag(0x9F38)), Some(&[0x9F, 0x37, 0x04][..]));
        assert_eq!(store.get(Tag(0x84)), Some(&TEST_AID_CREDIT[..]));

        // GPO 6985 later: the application is removed, debit remains and needs
        // confirmation; with one candidate left the cardholder confirms.
        let action = selection.retry_without_selected(&config, &mut command);
        assert_eq!(
            action,
            SelectionAction::AskCardholder(CardholderQuestion::Confirm)
        );
        assert_eq!(selection.candidates().len(), 1);
    }

    #[test]
    fn card_blocked_on_select_pse() {
        let config = TerminalConfig::default();
        let mut store = DataStore::new();
        let mut command = Command::default();
        let (mut selection, _) = Selection::start(&config, &mut command);
        let action = selection.on_response(&config, &[0x6A, 0x81], &mut store, &mut command);
        assert_eq!(
            action,
            SelectionAction::Terminate(TerminationReason::CardBlocked)
        );
    }

    #[test]
    fn list_of_aids_with_partial_match_and_blocked_application() {
        let mut config = TerminalConfig::default();
        config.selection.pse = false;
        let mut store = DataStore::new();
        let mut command = Command::default();
        let (mut selection, _) = Selection::start(&config, &mut command);
        assert_eq!(&command.as_bytes()[5..12], &TEST_AID_CREDIT);
        // Credit: a longer DF name (partial match) then a blocked one (6283).
        let mut long = heapless::Vec::<u8, 16>::from_slice(&TEST_AID_CREDIT).unwrap();
        long.push(0x01).unwrap();
        let first = fci(&long, &tlv(0x87, &[0x01]));
        selection.on_response(&config, &first, &mut store, &mut command);
        assert_eq!(command.as_bytes()[3], 0x02, "SELECT next occurrence");
        let mut blocked = fci(&[0xA0, 0x00, 0x00, 0x09, 0x99, 0x10, 0x10, 0x02], &[]);
        let n = blocked.len();
        blocked[n - 2..].copy_from_slice(&[0x62, 0x83]);
        selection.on_response(&config, &blocked, &mut store, &mut command);
        assert_eq!(command.as_bytes()[3], 0x02, "still the next occurrence");
        selection.on_response(&config, &[0x6A, 0x82], &mut store, &mut command);
        // Debit and prepaid are not on the card.
        selection.on_response(&config, &[0x6A, 0x82], &mut store, &mut command);
        let action = selection.on_response(&config, &[0x6A, 0x82], &mut store, &mut command);
        // One candidate without confirmation: final selection straight away.
        assert_eq!(action, SelectionAction::Transmit);
        assert_eq!(&command.as_bytes()[5..13], long.as_slice());
        assert_eq!(selection.candidates().len(), 1);
        // Final SELECT answered 6283: no candidate left.
        let action = selection.on_response(&config, &[0x62, 0x83], &mut store, &mut command);
        assert_eq!(
            action,
            SelectionAction::Terminate(TerminationReason::NoApplication)
        );
    }

    /// EMV 4.4 Book 1, 12.3.3 steps 5-6 (ICS 2.4): a partial match that the
    /// Application Selection Indicator forbids is not a candidate and is not
    /// followed by SELECT next: the next command selects the next terminal AID.
    #[test]
    fn partial_match_forbidden_by_asi_selects_the_next_terminal_aid() {
        let mut config = TerminalConfig::default();
        config.selection.pse = false;
        config.applications[0].partial_selection = false;
        let mut store = DataStore::new();
        let mut command = Command::default();
        let (mut selection, _) = Selection::start(&config, &mut command);
        let mut long = heapless::Vec::<u8, 16>::from_slice(&TEST_AID_CREDIT).unwrap();
        long.push(0x01).unwrap();
        let answer = fci(&long, &[]);
        selection.on_response(&config, &answer, &mut store, &mut command);
        assert_eq!(command.as_bytes()[3], 0x00, "no SELECT next");
        assert_eq!(&command.as_bytes()[5..12], &TEST_AID_DEBIT);
        assert!(selection.candidates().is_empty());
    }

    /// Book 1, 12.3.2 (ICS row 4): a directory record that is not a
    /// well-formed template 70 puts the directory in error: the candidates
    /// found so far are discarded and the list of AIDs is used.
    #[test]
    fn directory_error_falls_back_to_the_list_of_aids() {
        let config = TerminalConfig::default();
        let mut store = DataStore::new();
        let mut command = Command::default();
        let (mut selection, _) = Selection::start(&config, &mut command);
        let pse = fci(PSE_NAME, &tlv(0x88, &[0x01]));
        selection.on_response(&config, &pse, &mut store, &mut command);
        let record = ok(&tlv(0x70, &entry_adf(&TEST_AID_CREDIT, b"CREDIT", 0x01)));
        selection.on_response(&config, &record, &mut store, &mut command);
        assert_eq!(selection.candidates().len(), 1);
        // Record 2: template 70 whose contents claim more bytes than sent.
        let broken = ok(&[0x70, 0x04, 0x61, 0x08, 0x4F, 0x07]);
        selection.on_response(&config, &broken, &mut store, &mut command);
        assert!(selection.candidates().is_empty(), "list discarded");
        assert_eq!(selection.step(), "select by list of AIDs");
        assert_eq!(&command.as_bytes()[..4], &[0x00, 0xA4, 0x04, 0x00]);
        assert_eq!(&command.as_bytes()[5..12], &TEST_AID_CREDIT);
    }

    /// Book 1, 12.2.3 (docs/conformance.md): inside a well-formed record, an
    /// entry without an ADF name is skipped and the record's other entries
    /// are kept.
    #[test]
    fn directory_entry_without_adf_name_is_skipped() {
        let config = TerminalConfig::default();
        let mut store = DataStore::new();
        let mut command = Command::default();
        let (mut selection, _) = Selection::start(&config, &mut command);
        let pse = fci(PSE_NAME, &tlv(0x88, &[0x01]));
        selection.on_response(&config, &pse, &mut store, &mut command);
        let nameless = tlv(0x61, &tlv(0x50, b"NO NAME"));
        let record = ok(&tlv(
            0x70,
            &cat(&[&nameless, &entry_adf(&TEST_AID_DEBIT, b"DEBIT", 0x01)]),
        ));
        selection.on_response(&config, &record, &mut store, &mut command);
        assert_eq!(selection.step(), "read PSE directory");
        assert_eq!(selection.candidates().len(), 1);
        assert_eq!(selection.candidates()[0].label.as_slice(), b"DEBIT");
    }

    /// Book 1, 12.4 (ICS row 14): the DF name in the FCI of the final SELECT
    /// must be the candidate's; another name removes the candidate, and the
    /// terminal chooses again among the others.
    #[test]
    fn df_name_mismatch_at_final_select_removes_the_candidate() {
        let mut config = TerminalConfig::default();
        config.selection.pse = false;
        let mut store = DataStore::new();
        let mut command = Command::default();
        let (mut selection, _) = Selection::start(&config, &mut command);
        selection.on_response(
            &config,
            &fci(&TEST_AID_CREDIT, &[]),
            &mut store,
            &mut command,
        );
        selection.on_response(
            &config,
            &fci(&TEST_AID_DEBIT, &[]),
            &mut store,
            &mut command,
        );
        let action = selection.on_response(&config, &[0x6A, 0x82], &mut store, &mut command);
        assert_eq!(
            action,
            SelectionAction::AskCardholder(CardholderQuestion::Choose)
        );
        selection.on_cardholder(Some(0), &mut command);
        assert_eq!(&command.as_bytes()[5..12], &TEST_AID_CREDIT);
        // The card answers the final SELECT of credit with debit's FCI.
        let action = selection.on_response(
            &config,
            &fci(&TEST_AID_DEBIT, &[]),
            &mut store,
            &mut command,
        );
        assert_eq!(action, SelectionAction::Transmit, "debit selected next");
        assert_eq!(selection.candidates().len(), 1);
        assert_eq!(selection.candidates()[0].aid.as_slice(), &TEST_AID_DEBIT);
        assert_eq!(&command.as_bytes()[5..12], &TEST_AID_DEBIT);
        assert!(
            store.get(Tag(0x84)).is_none(),
            "nothing of the refused FCI kept"
        );
    }

    /// Book 1, 12.4 (ICS row 13): a terminal that can neither ask for
    /// confirmation nor offer a choice selects the highest-priority candidate
    /// that does not need confirmation, and ends with
    /// `ConfirmationNotSupported` when every candidate needs it.
    #[test]
    fn without_cardholder_selection_the_terminal_chooses_or_terminates() {
        let mut config = TerminalConfig::default();
        config.selection.pse = false;
        config.selection.cardholder_choice = false;
        config.selection.cardholder_confirmation = false;
        let run = |credit: u8, debit: Option<u8>| {
            let mut store = DataStore::new();
            let mut command = Command::default();
            let (mut selection, _) = Selection::start(&config, &mut command);
            let answer = fci(&TEST_AID_CREDIT, &tlv(0x87, &[credit]));
            selection.on_response(&config, &answer, &mut store, &mut command);
            let answer = match debit {
                Some(priority) => fci(&TEST_AID_DEBIT, &tlv(0x87, &[priority])),
                None => heapless::Vec::from_slice(&[0x6A, 0x82]).unwrap(),
            };
            selection.on_response(&config, &answer, &mut store, &mut command);
            let action = selection.on_response(&config, &[0x6A, 0x82], &mut store, &mut command);
            (action, command)
        };
        // Credit has the higher priority but needs confirmation: debit.
        let (action, command) = run(0x81, Some(0x02));
        assert_eq!(action, SelectionAction::Transmit);
        assert_eq!(&command.as_bytes()[5..12], &TEST_AID_DEBIT);
        // Both need confirmation.
        let (action, _) = run(0x81, Some(0x82));
        assert_eq!(
            action,
            SelectionAction::Terminate(TerminationReason::ConfirmationNotSupported)
        );
        // The only candidate needs confirmation.
        let (action, _) = run(0x81, None);
        assert_eq!(
            action,
            SelectionAction::Terminate(TerminationReason::ConfirmationNotSupported)
        );
    }

    #[test]
    fn ppse_entries_are_read() {
        let entry = entry_adf(&TEST_AID_CREDIT, b"CREDIT", 1);
        let data = fci(PPSE_NAME, &tlv(0xBF0C, &entry));
        let parsed = Fci::parse(&data[..data.len() - 2]).unwrap();
        let entries: heapless::Vec<&[u8], 4> = ppse_entries(&parsed).collect();
        assert_eq!(entries.len(), 1);
        assert_eq!(tlv::find(entries[0], Tag(0x4F)), Some(&TEST_AID_CREDIT[..]));
    }
}
