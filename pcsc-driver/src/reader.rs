//! Readers: listing them, choosing one, waiting for a reader or a card.
//!
//! Every wait here has a deadline; the PC/SC calls that block are given a
//! slice of the remaining time at most.

use std::ffi::{CStr, CString};
use std::time::{Duration, Instant};

use pcsc::{Context, ReaderState, Scope, State};

use crate::card::{ConnectOptions, PcscCard};
use crate::error::PcscError;

/// Longest single blocking PC/SC wait inside a bounded loop, so the loop
/// re-checks its deadline and the reader list at least this often.
const WAIT_SLICE: Duration = Duration::from_millis(250);

/// One reader as the PC/SC service lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reader {
    /// The reader name, exactly as the service spells it.
    pub name: String,
    /// A card is in the reader.
    pub card_present: bool,
    /// The card does not answer to reset.
    pub card_mute: bool,
    /// Another application holds the card exclusively.
    pub exclusive: bool,
    /// The card's ATR, when a card is present and answered.
    pub atr: Option<Vec<u8>>,
}

impl Reader {
    fn from_state(state: &ReaderState) -> Reader {
        let event = state.event_state();
        let card_present = event.contains(State::PRESENT);
        let atr = state.atr();
        Reader {
            name: state.name().to_string_lossy().into_owned(),
            card_present,
            card_mute: event.contains(State::MUTE),
            exclusive: event.contains(State::EXCLUSIVE),
            atr: (card_present && !atr.is_empty()).then(|| atr.to_vec()),
        }
    }

    /// Whether a usable card is in this reader.
    pub fn has_usable_card(&self) -> bool {
        self.card_present && !self.card_mute
    }
}

/// Which reader to use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReaderSelector {
    /// The reader with exactly this name.
    Exact(String),
    /// The reader with exactly this name if there is one, else the only
    /// reader whose name contains this text (case-insensitive).
    Substring(String),
    /// The first reader (in the service's order) with a card in it.
    Auto,
}

impl ReaderSelector {
    /// The command line form: `auto` selects [`ReaderSelector::Auto`],
    /// `=NAME` an exact name, anything else a substring.
    pub fn from_arg(arg: &str) -> ReaderSelector {
        if arg.eq_ignore_ascii_case("auto") {
            ReaderSelector::Auto
        } else if let Some(exact) = arg.strip_prefix('=') {
            ReaderSelector::Exact(exact.to_owned())
        } else {
            ReaderSelector::Substring(arg.to_owned())
        }
    }

    fn wanted(&self) -> String {
        match self {
            ReaderSelector::Exact(name) | ReaderSelector::Substring(name) => name.clone(),
            ReaderSelector::Auto => "auto".to_owned(),
        }
    }

    /// Chooses among `readers`. For `Auto` the chosen reader has a usable
    /// card; for names, the card is not checked here.
    pub fn pick<'r>(&self, readers: &'r [Reader]) -> Result<&'r Reader, PcscError> {
        let no_reader = || PcscError::NoReader {
            wanted: self.wanted(),
        };
        match self {
            ReaderSelector::Exact(name) => readers
                .iter()
                .find(|r| &r.name == name)
                .ok_or_else(no_reader),
            ReaderSelector::Substring(text) => {
                if let Some(exact) = readers.iter().find(|r| &r.name == text) {
                    return Ok(exact);
                }
                let needle = text.to_lowercase();
                let matches: Vec<&Reader> = readers
                    .iter()
                    .filter(|r| r.name.to_lowercase().contains(&needle))
                    .collect();
                match matches.as_slice() {
                    [] => Err(no_reader()),
                    [only] => Ok(only),
                    several => Err(PcscError::AmbiguousReader {
                        wanted: text.clone(),
                        matches: several.iter().map(|r| r.name.clone()).collect(),
                    }),
                }
            }
            ReaderSelector::Auto => {
                if readers.is_empty() {
                    return Err(no_reader());
                }
                readers
                    .iter()
                    .find(|r| r.has_usable_card())
                    .ok_or(PcscError::NoCard)
            }
        }
    }
}

/// A connection to the PC/SC service (pcscd, WinSCard, macOS PC/SC).
pub struct Pcsc {
    context: Context,
}

impl Pcsc {
    /// Connects to the PC/SC service; `ServiceStopped` when it is not running.
    pub fn establish() -> Result<Pcsc, PcscError> {
        Ok(Pcsc {
            context: Context::establish(Scope::User)?,
        })
    }

    /// The underlying `pcsc` context, for callers that need raw PC/SC calls.
    pub fn context(&self) -> &Context {
        &self.context
    }

    /// Reader names in the service's order (empty when there is none).
    fn reader_names(&self) -> Result<Vec<CString>, PcscError> {
        match self.context.list_readers_owned() {
            Ok(names) => Ok(names),
            Err(pcsc::Error::NoReadersAvailable) => Ok(Vec::new()),
            Err(error) => Err(error.into()),
        }
    }

    /// Lists the readers with their card state and ATR (does not wait).
    pub fn readers(&self) -> Result<Vec<Reader>, PcscError> {
        let mut states: Vec<ReaderState> = self
            .reader_names()?
            .into_iter()
            .map(|name| ReaderState::new(name, State::UNAWARE))
            .collect();
        if states.is_empty() {
            return Ok(Vec::new());
        }
        match self.context.get_status_change(Duration::ZERO, &mut states) {
            Ok(()) | Err(pcsc::Error::Timeout) => {}
            Err(error) => return Err(error.into()),
        }
        Ok(states
            .iter()
            .filter(|s| !s.event_state().intersects(State::UNKNOWN | State::IGNORE))
            .map(Reader::from_state)
            .collect())
    }

    /// Waits until `accept` finds what it wants in the reader list, or
    /// `timeout` passes. Reader arrivals and card insertions wake the wait.
    fn wait_until<T>(
        &self,
        timeout: Duration,
        mut accept: impl FnMut(&[Reader]) -> Result<Option<T>, PcscError>,
    ) -> Result<T, PcscError> {
        let deadline = Instant::now() + timeout;
        let mut states = vec![ReaderState::new(pcsc::PNP_NOTIFICATION(), State::UNAWARE)];
        loop {
            let names = self.reader_names()?;
            states.retain(|s| is_pnp(s.name()) || names.iter().any(|n| n.as_c_str() == s.name()));
            for name in names {
                if !states.iter().any(|s| s.name() == name.as_c_str()) {
                    states.push(ReaderState::new(name, State::UNAWARE));
                }
            }
            let now = Instant::now();
            let slice = deadline.saturating_duration_since(now).min(WAIT_SLICE);
            match self.context.get_status_change(slice, &mut states) {
                Ok(()) | Err(pcsc::Error::Timeout) => {}
                // pcsc-lite without PnP support refuses the notification
                // reader; fall back to polling at the slice interval.
                Err(pcsc::Error::UnknownReader) => {
                    states.retain(|s| !is_pnp(s.name()));
                    std::thread::sleep(slice);
                }
                Err(error) => return Err(error.into()),
            }
            for state in &mut states {
                state.sync_current_state();
            }
            let readers: Vec<Reader> = states
                .iter()
                .filter(|s| !is_pnp(s.name()))
                .filter(|s| !s.event_state().intersects(State::UNKNOWN | State::IGNORE))
                .map(Reader::from_state)
                .collect();
            if let Some(found) = accept(&readers)? {
                return Ok(found);
            }
            if Instant::now() >= deadline {
                return Err(PcscError::Timeout);
            }
        }
    }

    /// Waits until the reader `name` (exact) is listed.
    pub fn wait_for_reader(&self, name: &str, timeout: Duration) -> Result<Reader, PcscError> {
        self.wait_until(timeout, |readers| {
            Ok(readers.iter().find(|r| r.name == name).cloned())
        })
    }

    /// Waits until the selected reader holds a usable card, or `timeout`
    /// passes. A zero timeout checks once: `NoCard` / `NoReader` then tell
    /// what is missing; with a non-zero timeout an expired wait is `Timeout`.
    pub fn wait_for_card(
        &self,
        selector: &ReaderSelector,
        timeout: Duration,
    ) -> Result<Reader, PcscError> {
        let once = timeout.is_zero();
        self.wait_until(timeout, |readers| match selector.pick(readers) {
            Ok(reader) if reader.has_usable_card() => Ok(Some(reader.clone())),
            Ok(_) if once => Err(PcscError::NoCard),
            Ok(_) => Ok(None),
            Err(error @ PcscError::AmbiguousReader { .. }) => Err(error),
            Err(error) if once => Err(error),
            Err(_) => Ok(None),
        })
    }

    /// Connects to the card in reader `name` (exact).
    pub fn connect(&self, name: &str, options: &ConnectOptions) -> Result<PcscCard, PcscError> {
        let reader = CString::new(name)
            .map_err(|_| PcscError::InvalidRequest("reader name contains NUL"))?;
        PcscCard::connect(self.context.clone(), reader, options)
    }

    /// Waits (up to `card_wait`) for a card in the selected reader and
    /// connects to it.
    pub fn open(
        &self,
        selector: &ReaderSelector,
        card_wait: Duration,
        options: &ConnectOptions,
    ) -> Result<PcscCard, PcscError> {
        let reader = self.wait_for_card(selector, card_wait)?;
        self.connect(&reader.name, options)
    }
}

fn is_pnp(name: &CStr) -> bool {
    name == pcsc::PNP_NOTIFICATION()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reader(name: &str, card: bool) -> Reader {
        Reader {
            name: name.to_owned(),
            card_present: card,
            card_mute: false,
            exclusive: false,
            atr: card.then(|| vec![0x3B, 0x02, 0x14, 0x50]),
        }
    }

    fn names(r: Result<&Reader, PcscError>) -> Result<String, PcscError> {
        r.map(|r| r.name.clone())
    }

    #[test]
    fn selectors() {
        let readers = vec![
            reader("Virtual PCD 00 00", false),
            reader("Virtual PCD 00 01", true),
            reader("Gemalto PC Twin Reader 00 00", false),
        ];
        let pick = |s: ReaderSelector| names(s.pick(&readers));
        assert_eq!(
            pick(ReaderSelector::from_arg("auto")),
            Ok("Virtual PCD 00 01".into())
        );
        assert_eq!(
            pick(ReaderSelector::from_arg("AUTO")),
            Ok("Virtual PCD 00 01".into())
        );
        assert_eq!(
            pick(ReaderSelector::from_arg("gemalto")),
            Ok("Gemalto PC Twin Reader 00 00".into())
        );
        assert_eq!(
            pick(ReaderSelector::from_arg("Virtual PCD 00 00")),
            Ok("Virtual PCD 00 00".into())
        );
        assert!(matches!(
            pick(ReaderSelector::from_arg("virtual")),
            Err(PcscError::AmbiguousReader { matches, .. }) if matches.len() == 2
        ));
        assert!(matches!(
            pick(ReaderSelector::from_arg("=Virtual")),
            Err(PcscError::NoReader { .. })
        ));
        assert!(matches!(
            pick(ReaderSelector::from_arg("omnikey")),
            Err(PcscError::NoReader { .. })
        ));
    }

    #[test]
    fn auto_without_card_or_reader() {
        let empty = vec![reader("Virtual PCD 00 00", false)];
        assert_eq!(ReaderSelector::Auto.pick(&empty), Err(PcscError::NoCard));
        assert!(matches!(
            ReaderSelector::Auto.pick(&[]),
            Err(PcscError::NoReader { .. })
        ));
        let mut mute = reader("Virtual PCD 00 00", true);
        mute.card_mute = true;
        assert_eq!(ReaderSelector::Auto.pick(&[mute]), Err(PcscError::NoCard));
    }
}
