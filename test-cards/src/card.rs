//! The card engine: answers command APDUs from a personalised [`CardImage`]
//! and keeps the card's persistent state (ATC, Last Online ATC, PIN try
//! counter, blocked application or card) across transactions.
//!
//! Commands follow EMV Book 3, 6.5 (and Book 1, 11 for SELECT and READ RECORD);
//! status words are the ones real cards return.

use std::sync::Arc;

use crate::encode::{dol_value, tlv};
use crate::image::{pdol_len, AppImage, CardImage, LOG_FORMAT, PPSE_NAME, PSE_NAME};
use crate::issuer::{application_cryptogram, cryptogram_input, CryptogramType};
use crate::pki::{sha1, signed_dynamic_data};
use crate::spec::{CardSpec, Hostile, Oda};
use crate::symmetric::{
    ac_diversification, arpc_method1, derive_session_key, retail_mac, script_mac_input,
    tdes_decrypt, tdes_encrypt, SCRIPT_MAC_LEN,
};

/// Status words the card answers with.
pub mod sw {
    /// Normal processing.
    pub const OK: u16 = 0x9000;
    /// Selected file invalidated (application blocked).
    pub const APP_BLOCKED: u16 = 0x6283;
    /// Authentication failed (EXTERNAL AUTHENTICATE).
    pub const AUTH_FAILED: u16 = 0x6300;
    /// Wrong length.
    pub const WRONG_LENGTH: u16 = 0x6700;
    /// Security status not satisfied.
    pub const SECURITY: u16 = 0x6982;
    /// Authentication method blocked (PIN try limit exceeded).
    pub const METHOD_BLOCKED: u16 = 0x6983;
    /// Referenced data invalidated.
    pub const DATA_INVALIDATED: u16 = 0x6984;
    /// Conditions of use not satisfied.
    pub const CONDITIONS: u16 = 0x6985;
    /// Secure messaging data objects incorrect (bad script MAC).
    pub const BAD_MAC: u16 = 0x6988;
    /// Incorrect parameters in the data field.
    pub const WRONG_DATA: u16 = 0x6A80;
    /// Function not supported (card blocked on SELECT).
    pub const NOT_SUPPORTED: u16 = 0x6A81;
    /// File or application not found.
    pub const NOT_FOUND: u16 = 0x6A82;
    /// Record not found.
    pub const RECORD_NOT_FOUND: u16 = 0x6A83;
    /// Incorrect P1 P2.
    pub const WRONG_P1P2: u16 = 0x6A86;
    /// Referenced data not found (GET DATA).
    pub const DATA_NOT_FOUND: u16 = 0x6A88;
    /// Instruction not supported.
    pub const INS_NOT_SUPPORTED: u16 = 0x6D00;
    /// Class not supported.
    pub const CLA_NOT_SUPPORTED: u16 = 0x6E00;
}

/// One response: data and status word.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    /// Response data.
    pub data: Vec<u8>,
    /// SW1 SW2.
    pub sw: u16,
}

impl Response {
    fn status(sw: u16) -> Self {
        Self {
            data: Vec::new(),
            sw,
        }
    }

    fn ok(data: Vec<u8>) -> Self {
        Self { data, sw: sw::OK }
    }

    /// Data followed by SW1 SW2, as sent on the wire.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.data.len() + 2);
        out.extend_from_slice(&self.data);
        out.extend_from_slice(&self.sw.to_be_bytes());
        out
    }
}

/// A parsed short command APDU (ISO/IEC 7816-4 cases 1 to 4).
#[derive(Debug, Clone, Copy)]
struct Command<'a> {
    cla: u8,
    ins: u8,
    p1: u8,
    p2: u8,
    data: &'a [u8],
    le: Option<usize>,
}

impl<'a> Command<'a> {
    fn parse(apdu: &'a [u8]) -> Option<Self> {
        let (header, body) = apdu.split_first_chunk::<4>()?;
        let [cla, ins, p1, p2] = *header;
        let le_of = |b: u8| if b == 0 { 256 } else { usize::from(b) };
        let (data, le) = match body {
            [] => (&body[..0], None),
            [le] => (&body[..0], Some(le_of(*le))),
            [lc, rest @ ..] => {
                let lc = usize::from(*lc);
                if lc == 0 {
                    return None;
                }
                match rest.len().checked_sub(lc)? {
                    0 => (rest, None),
                    1 => (&rest[..lc], rest.last().map(|&b| le_of(b))),
                    _ => return None,
                }
            }
        };
        Some(Self {
            cla,
            ins,
            p1,
            p2,
            data,
            le,
        })
    }

    fn header(&self) -> [u8; 4] {
        [self.cla, self.ins, self.p1, self.p2]
    }
}

/// State of one application that persists across transactions.
#[derive(Debug, Clone)]
struct AppState {
    atc: u16,
    last_online_atc: u16,
    pin_try_counter: u8,
    blocked: bool,
    /// Records rewritten by PUT DATA.
    record_overrides: Vec<((u8, u8), Vec<u8>)>,
    /// Transaction log records (SFI 11), most recent first.
    log: Vec<Vec<u8>>,
    /// Reference PIN digits (changed by PIN CHANGE).
    pin: Vec<u8>,
}

/// What is currently selected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
enum Selected {
    #[default]
    Nothing,
    Pse,
    Ppse,
    App(usize),
}

/// The first GENERATE AC's result, kept for the rest of the transaction.
#[derive(Debug, Clone, Copy)]
struct FirstAc {
    kind: CryptogramType,
    cryptogram: [u8; 8],
}

/// State of the current transaction (cleared by SELECT and power-off).
#[derive(Debug, Clone, Default)]
struct Transaction {
    gpo_done: bool,
    pdol_data: Vec<u8>,
    cdol1_data: Vec<u8>,
    first_ac: Option<FirstAc>,
    second_ac_done: bool,
    issuer_authentication: Option<bool>,
    offline_pin_verified: bool,
    offline_pin_failed: bool,
    scripts_processed: u8,
    script_failed: bool,
}

/// A simulated EMV card: an image plus persistent state plus session state.
#[derive(Debug, Clone)]
pub struct Card {
    image: Arc<CardImage>,
    apps: Vec<AppState>,
    card_blocked: bool,
    selected: Selected,
    /// Last SELECT by name (name, index of the app returned) for "next occurrence".
    last_select: Option<(Vec<u8>, usize)>,
    challenge: Option<[u8; 8]>,
    txn: Transaction,
    random_counter: u64,
    /// T=0: response waiting for GET RESPONSE (data, final SW).
    pending: Option<(Vec<u8>, u16)>,
    t0: bool,
    /// T=0: GET RESPONSE never finishes (hostile).
    endless: bool,
}

impl Card {
    /// Personalises a card from a spec (builds certificates; do it once, then clone).
    pub fn from_spec(spec: &CardSpec) -> Result<Self, crate::pki::PkiError> {
        Ok(Self::new(Arc::new(CardImage::build(spec)?)))
    }

    /// A fresh card (personalisation state) from an image.
    pub fn new(image: Arc<CardImage>) -> Self {
        let apps = image
            .apps
            .iter()
            .map(|a| AppState {
                atc: a.atc,
                last_online_atc: a.last_online_atc,
                pin_try_counter: a.pin_try_counter,
                blocked: a.blocked,
                record_overrides: Vec::new(),
                log: Vec::new(),
                pin: a.pin_digits.clone(),
            })
            .collect();
        let t0 = image.apps.iter().any(|a| {
            matches!(
                a.hostile,
                Some(Hostile::T0Sequences | Hostile::EndlessGetResponse)
            )
        });
        let endless = image
            .apps
            .iter()
            .any(|a| a.hostile == Some(Hostile::EndlessGetResponse));
        Self {
            card_blocked: image.blocked,
            image,
            apps,
            selected: Selected::Nothing,
            last_select: None,
            challenge: None,
            txn: Transaction::default(),
            random_counter: 0,
            pending: None,
            t0,
            endless,
        }
    }

    /// The personalised image.
    pub fn image(&self) -> &CardImage {
        &self.image
    }

    /// Cold or warm reset: ends the session, keeps persistent state, returns the ATR.
    pub fn reset(&mut self) -> &[u8] {
        self.selected = Selected::Nothing;
        self.last_select = None;
        self.challenge = None;
        self.txn = Transaction::default();
        self.pending = None;
        &self.image.atr
    }

    /// Whether the card answers like a T=0 card (61xx / 6Cxx).
    pub fn is_t0(&self) -> bool {
        self.t0
    }

    /// Current ATC of application `index`.
    pub fn atc(&self, index: usize) -> Option<u16> {
        self.apps.get(index).map(|a| a.atc)
    }

    /// Current Last Online ATC Register of application `index`.
    pub fn last_online_atc(&self, index: usize) -> Option<u16> {
        self.apps.get(index).map(|a| a.last_online_atc)
    }

    /// Current PIN Try Counter of application `index`.
    pub fn pin_try_counter(&self, index: usize) -> Option<u8> {
        self.apps.get(index).map(|a| a.pin_try_counter)
    }

    /// Whether application `index` is blocked.
    pub fn app_blocked(&self, index: usize) -> Option<bool> {
        self.apps.get(index).map(|a| a.blocked)
    }

    /// Whether the whole card is blocked.
    pub fn card_blocked(&self) -> bool {
        self.card_blocked
    }

    /// Answers one command APDU with data || SW1 SW2. Never panics on any input.
    pub fn process(&mut self, apdu: &[u8]) -> Vec<u8> {
        let Some(command) = Command::parse(apdu) else {
            return Response::status(sw::WRONG_LENGTH).to_bytes();
        };
        if self.t0 {
            return self.process_t0(&command).to_bytes();
        }
        self.dispatch(&command).to_bytes()
    }

    /// T=0 behaviour: case 4 answers 61xx, case 2 with the wrong Le answers
    /// 6Cxx, GET RESPONSE hands out at most 32 bytes per call.
    fn process_t0(&mut self, command: &Command<'_>) -> Response {
        if command.cla == 0x00 && command.ins == 0xC0 {
            let Some((data, final_sw)) = self.pending.take() else {
                return Response::status(sw::CONDITIONS);
            };
            if self.endless {
                self.pending = Some((data, final_sw));
                return Response {
                    data: vec![0x55; 16],
                    sw: 0x6110,
                };
            }
            let want = command.le.unwrap_or(256).min(32).min(data.len());
            let (now, rest) = data.split_at(want);
            return if rest.is_empty() {
                Response {
                    data: now.to_vec(),
                    sw: final_sw,
                }
            } else {
                let sw = 0x6100 | rest.len().min(255) as u16;
                self.pending = Some((rest.to_vec(), final_sw));
                Response {
                    data: now.to_vec(),
                    sw,
                }
            };
        }
        self.pending = None;
        let response = self.dispatch(command);
        if response.data.is_empty() {
            return response;
        }
        if !command.data.is_empty() {
            let sw = 0x6100 | response.data.len().min(255) as u16;
            self.pending = Some((response.data, response.sw));
            return Response::status(sw);
        }
        match command.le {
            Some(le) if le == response.data.len() || (le == 256 && response.data.len() > 255) => {
                response
            }
            _ => Response::status(0x6C00 | (response.data.len() & 0xFF) as u16),
        }
    }

    fn dispatch(&mut self, c: &Command<'_>) -> Response {
        match (c.cla, c.ins) {
            (0x00, 0xA4) => self.select(c),
            (0x00, 0xB2) => self.read_record(c),
            (0x80, 0xA8) => self.get_processing_options(c),
            (0x80, 0xCA) => self.get_data(c),
            (0x00, 0x88) => self.internal_authenticate(c),
            (0x80, 0xAE) => self.generate_ac(c),
            (0x00, 0x20) => self.verify(c),
            (0x00, 0x84) => self.get_challenge(c),
            (0x00, 0x82) => self.external_authenticate(c),
            (0x84, 0x1E | 0x18 | 0x16 | 0x24) | (0x04, 0xDA) => self.script_command(c),
            (
                0x00 | 0x80 | 0x84 | 0x04,
                0xA4 | 0xB2 | 0xA8 | 0xCA | 0x88 | 0xAE | 0x20 | 0x84 | 0x82,
            )
            | (0x00 | 0x80 | 0x04, 0x1E | 0x18 | 0x16 | 0x24 | 0xDA)
            | (0x84, 0xDA) => Response::status(sw::CLA_NOT_SUPPORTED),
            (0x00 | 0x80 | 0x84 | 0x04, _) => Response::status(sw::INS_NOT_SUPPORTED),
            _ => Response::status(sw::CLA_NOT_SUPPORTED),
        }
    }

    fn next_random(&mut self) -> [u8; 8] {
        self.random_counter = self.random_counter.wrapping_add(1);
        let key = self
            .image
            .apps
            .first()
            .map(|a| a.random_key)
            .unwrap_or([0x5A; 16]);
        tdes_encrypt(&key, self.random_counter.to_be_bytes())
    }

    fn current_app(&self) -> Option<(usize, &AppImage)> {
        match self.selected {
            Selected::App(i) => self.image.apps.get(i).map(|a| (i, a)),
            _ => None,
        }
    }

    /// A successful SELECT ends the transaction in progress.
    fn new_selection(&mut self) {
        self.txn = Transaction::default();
        self.challenge = None;
    }

    /// Book 1, 11.3: SELECT by name, first (P2 00) or next (P2 02) occurrence.
    fn select(&mut self, c: &Command<'_>) -> Response {
        if c.p1 != 0x04 || (c.p2 != 0x00 && c.p2 != 0x02) {
            return Response::status(sw::WRONG_P1P2);
        }
        if self.card_blocked {
            return Response::status(sw::NOT_SUPPORTED);
        }
        // ISO/IEC 7816-4: a failed SELECT leaves the current selection as it was.
        let name = c.data;
        if name == PSE_NAME || name == PPSE_NAME {
            let fci = if name == PSE_NAME {
                self.image.pse.as_ref().map(|p| p.fci.clone())
            } else {
                self.image.ppse_fci.clone()
            };
            return match (fci, c.p2) {
                (Some(fci), 0x00) => {
                    self.new_selection();
                    self.selected = if name == PSE_NAME {
                        Selected::Pse
                    } else {
                        Selected::Ppse
                    };
                    Response::ok(fci)
                }
                _ => Response::status(sw::NOT_FOUND),
            };
        }
        if !(5..=16).contains(&name.len()) {
            return Response::status(sw::NOT_FOUND);
        }
        let start = match (&self.last_select, c.p2) {
            (Some((last, index)), 0x02) if last.as_slice() == name => index + 1,
            _ => 0,
        };
        let found = self
            .image
            .apps
            .iter()
            .enumerate()
            .skip(start)
            .find(|(_, app)| app.aid.starts_with(name))
            .map(|(i, _)| i);
        let Some(index) = found else {
            self.last_select = None;
            return Response::status(sw::NOT_FOUND);
        };
        self.new_selection();
        self.last_select = Some((name.to_vec(), index));
        self.selected = Selected::App(index);
        let fci = self
            .image
            .apps
            .get(index)
            .map(|a| a.fci.clone())
            .unwrap_or_default();
        let blocked = self.apps.get(index).is_some_and(|a| a.blocked);
        Response {
            data: fci,
            sw: if blocked { sw::APP_BLOCKED } else { sw::OK },
        }
    }

    /// Book 3, 6.5.11: READ RECORD from the selected PSE or application.
    fn read_record(&mut self, c: &Command<'_>) -> Response {
        if c.p2 & 0x07 != 0x04 {
            return Response::status(sw::WRONG_P1P2);
        }
        let sfi = c.p2 >> 3;
        let number = c.p1;
        match self.selected {
            Selected::Pse => {
                let Some(pse) = self.image.pse.as_ref() else {
                    return Response::status(sw::NOT_FOUND);
                };
                if sfi != 1 {
                    return Response::status(sw::NOT_FOUND);
                }
                match pse.records.get(&number) {
                    Some(r) => Response::ok(r.clone()),
                    None => Response::status(sw::RECORD_NOT_FOUND),
                }
            }
            Selected::App(i) => {
                let (Some(app), Some(state)) = (self.image.apps.get(i), self.apps.get(i)) else {
                    return Response::status(sw::CONDITIONS);
                };
                if let Some((_, r)) = state
                    .record_overrides
                    .iter()
                    .find(|(k, _)| *k == (sfi, number))
                {
                    return Response::ok(r.clone());
                }
                if sfi == LOG_SFI {
                    return match state.log.get(usize::from(number).wrapping_sub(1)) {
                        Some(r) => Response::ok(r.clone()),
                        None => Response::status(sw::RECORD_NOT_FOUND),
                    };
                }
                if !app.records.keys().any(|(s, _)| *s == sfi) {
                    return Response::status(sw::NOT_FOUND);
                }
                match app.records.get(&(sfi, number)) {
                    Some(r) => Response::ok(r.clone()),
                    None => Response::status(sw::RECORD_NOT_FOUND),
                }
            }
            Selected::Ppse | Selected::Nothing => Response::status(sw::CONDITIONS),
        }
    }

    /// Book 3, 6.5.8: GET PROCESSING OPTIONS; increments the ATC.
    fn get_processing_options(&mut self, c: &Command<'_>) -> Response {
        if c.p1 != 0 || c.p2 != 0 {
            return Response::status(sw::WRONG_P1P2);
        }
        let Some((index, app)) = self.current_app() else {
            return Response::status(sw::CONDITIONS);
        };
        let Some(state) = self.apps.get(index) else {
            return Response::status(sw::CONDITIONS);
        };
        if state.blocked || self.txn.gpo_done || state.atc == u16::MAX {
            return Response::status(sw::CONDITIONS);
        }
        let pdol_data = match emv_kernel::tlv::parse_single(c.data) {
            Ok(t) if t.tag.0 == 0x83 => t.value.to_vec(),
            _ => return Response::status(sw::WRONG_DATA),
        };
        if pdol_data.len() != pdol_len(app) {
            return Response::status(sw::WRONG_LENGTH);
        }
        let data = if app.gpo_format1 {
            let mut value = app.aip.to_vec();
            value.extend_from_slice(&app.afl);
            tlv(0x80, &value)
        } else {
            tlv(0x77, &[tlv(0x82, &app.aip), tlv(0x94, &app.afl)].concat())
        };
        self.txn.gpo_done = true;
        self.txn.pdol_data = pdol_data;
        if let Some(state) = self.apps.get_mut(index) {
            state.atc += 1;
        }
        Response::ok(data)
    }

    /// Book 3, 6.5.7: GET DATA for ATC, Last Online ATC, PIN Try Counter, Log Format.
    fn get_data(&mut self, c: &Command<'_>) -> Response {
        let Some((index, _)) = self.current_app() else {
            return Response::status(sw::CONDITIONS);
        };
        let Some(state) = self.apps.get(index) else {
            return Response::status(sw::CONDITIONS);
        };
        let tag = u16::from_be_bytes([c.p1, c.p2]);
        let value = match tag {
            0x9F36 => state.atc.to_be_bytes().to_vec(),
            0x9F13 => state.last_online_atc.to_be_bytes().to_vec(),
            0x9F17 => vec![state.pin_try_counter],
            0x9F4F => LOG_FORMAT.to_vec(),
            _ => return Response::status(sw::DATA_NOT_FOUND),
        };
        Response::ok(tlv(u32::from(tag), &value))
    }

    /// Book 3, 6.5.9 and Book 2, 6.5: INTERNAL AUTHENTICATE (DDA).
    fn internal_authenticate(&mut self, c: &Command<'_>) -> Response {
        if c.p1 != 0 || c.p2 != 0 {
            return Response::status(sw::WRONG_P1P2);
        }
        let Some((_, app)) = self.current_app() else {
            return Response::status(sw::CONDITIONS);
        };
        let (Some(icc), true) = (app.icc_key, matches!(app.oda, Oda::Dda | Oda::Cda)) else {
            return Response::status(sw::INS_NOT_SUPPORTED);
        };
        if !self.txn.gpo_done {
            return Response::status(sw::CONDITIONS);
        }
        let format1 = app.response_format1;
        let mut terminal_data = c.data.to_vec();
        if app.faults.bad_dda_signature {
            if let Some(b) = terminal_data.first_mut() {
                *b ^= 0xFF;
            }
        }
        let number = self.next_random();
        let mut dynamic = vec![8];
        dynamic.extend_from_slice(&number);
        match signed_dynamic_data(icc, &dynamic, &terminal_data) {
            Ok(sdad) if format1 => Response::ok(tlv(0x80, &sdad)),
            Ok(sdad) => Response::ok(tlv(0x77, &tlv(0x9F4B, &sdad))),
            Err(_) => Response::status(sw::CONDITIONS),
        }
    }

    /// Card Verification Results, our layout (4 bytes):
    /// byte 1 b8-b7 second AC type, b6-b5 first AC type;
    /// byte 2 b8 offline PIN verified, b7 offline PIN failed, b6 PIN try limit exceeded,
    /// b4 issuer authentication performed and failed, b3 performed;
    /// byte 3 b8-b5 scripts processed, b1 script failed; byte 4 RFU.
    fn cvr(&self, first: CryptogramType, second: Option<CryptogramType>, ptc: u8) -> [u8; 4] {
        let type_bits = |t: CryptogramType| match t {
            CryptogramType::Aac => 0u8,
            CryptogramType::Tc => 1,
            CryptogramType::Arqc => 2,
        };
        let byte1 = (second.map(type_bits).unwrap_or(0) << 6) | (type_bits(first) << 4);
        let mut byte2 = 0u8;
        if self.txn.offline_pin_verified {
            byte2 |= 0x80;
        }
        if self.txn.offline_pin_failed {
            byte2 |= 0x40;
        }
        if ptc == 0 {
            byte2 |= 0x20;
        }
        match self.txn.issuer_authentication {
            Some(false) => byte2 |= 0x08 | 0x04,
            Some(true) => byte2 |= 0x04,
            None => {}
        }
        let byte3 = (self.txn.scripts_processed.min(15) << 4) | u8::from(self.txn.script_failed);
        [byte1, byte2, byte3, 0]
    }

    /// Book 3, 6.5.5 and 9.3: GENERATE AC, first or second; the card decides
    /// the cryptogram type by its own risk rules.
    fn generate_ac(&mut self, c: &Command<'_>) -> Response {
        if c.p2 != 0 || c.p1 & 0x2F != 0 || c.p1 & 0xC0 == 0xC0 {
            return Response::status(sw::WRONG_P1P2);
        }
        let requested = CryptogramType::from_cid(c.p1).unwrap_or(CryptogramType::Aac);
        let cda_requested = c.p1 & 0x10 != 0;
        let image = Arc::clone(&self.image);
        let (index, app) = match self.selected {
            Selected::App(i) => match image.apps.get(i) {
                Some(app) => (i, app),
                None => return Response::status(sw::CONDITIONS),
            },
            _ => return Response::status(sw::CONDITIONS),
        };
        let Some(state) = self.apps.get(index).cloned() else {
            return Response::status(sw::CONDITIONS);
        };
        if !self.txn.gpo_done || self.txn.second_ac_done {
            return Response::status(sw::CONDITIONS);
        }
        let second = match self.txn.first_ac {
            None => false,
            Some(first) if first.kind == CryptogramType::Arqc => true,
            Some(_) => return Response::status(sw::CONDITIONS),
        };
        let dol = if second { &app.cdol2 } else { &app.cdol1 };
        if c.data.len() != crate::encode::dol_data_len(dol) {
            return Response::status(sw::WRONG_LENGTH);
        }
        let risk = app.risk;
        let decided = if !second {
            let since_online = state.atc.saturating_sub(state.last_online_atc);
            match requested {
                _ if state.blocked || risk.always_decline => CryptogramType::Aac,
                CryptogramType::Aac => CryptogramType::Aac,
                CryptogramType::Arqc => CryptogramType::Arqc,
                CryptogramType::Tc
                    if risk.always_online || since_online > risk.consecutive_offline_limit =>
                {
                    CryptogramType::Arqc
                }
                CryptogramType::Tc => CryptogramType::Tc,
            }
        } else {
            match requested {
                CryptogramType::Arqc => return Response::status(sw::CONDITIONS),
                _ if state.blocked => CryptogramType::Aac,
                CryptogramType::Tc
                    if self.txn.issuer_authentication == Some(false)
                        && risk.decline_if_issuer_authentication_failed =>
                {
                    CryptogramType::Aac
                }
                other => other,
            }
        };
        let first_kind = self.txn.first_ac.map(|f| f.kind).unwrap_or(decided);
        let cvr = self.cvr(first_kind, second.then_some(decided), state.pin_try_counter);
        let atc = state.atc;
        let cryptogram = application_cryptogram(
            &app.icc_ac_key,
            atc,
            &cryptogram_input(c.data, app.aip, atc, cvr),
        );
        let cid = decided.cid_bits();
        let iad = [0x01, 0x11, cvr[0], cvr[1], cvr[2], cvr[3]];
        let use_cda = cda_requested && app.oda == Oda::Cda && decided != CryptogramType::Aac;
        let use_xda = cda_requested && app.oda == Oda::Xda && decided != CryptogramType::Aac;
        let response = if use_xda {
            // EMV 4.4 Book 2 (XDA): the cryptogram in clear, and an EC-SDSA
            // signature over 15, the DOL data and the other response objects.
            let Some(icc) = app.ecc_icc_key.as_ref() else {
                return Response::status(sw::CONDITIONS);
            };
            let [cid_tlv, atc_tlv, ac_tlv, iad_tlv] = [
                tlv(0x9F27, &[cid]),
                tlv(0x9F36, &atc.to_be_bytes()),
                tlv(0x9F26, &cryptogram),
                tlv(0x9F10, &iad),
            ];
            let mut signed = vec![emv_kernel::oda::xda::SIGNED_DATA_FORMAT];
            if !app.faults.bad_xda_signature {
                signed.extend_from_slice(&self.txn.pdol_data);
            }
            if second {
                signed.extend_from_slice(&self.txn.cdol1_data);
            }
            signed.extend_from_slice(c.data);
            for object in [&cid_tlv, &atc_tlv, &ac_tlv, &iad_tlv] {
                signed.extend_from_slice(object);
            }
            let mut sdad = vec![emv_kernel::oda::xda::SIGNED_DATA_FORMAT];
            sdad.extend_from_slice(&icc.sign(&signed));
            tlv(
                0x77,
                &[cid_tlv, atc_tlv, ac_tlv, tlv(0x9F4B, &sdad), iad_tlv].concat(),
            )
        } else if use_cda {
            let Some(icc) = app.icc_key else {
                return Response::status(sw::CONDITIONS);
            };
            let listed = [
                tlv(0x9F27, &[cid]),
                tlv(0x9F36, &atc.to_be_bytes()),
                tlv(0x9F10, &iad),
            ];
            let mut hashed = Vec::new();
            if !app.faults.bad_cda_signature {
                hashed.extend_from_slice(&self.txn.pdol_data);
            }
            if second {
                hashed.extend_from_slice(&self.txn.cdol1_data);
            }
            hashed.extend_from_slice(c.data);
            for t in &listed {
                hashed.extend_from_slice(t);
            }
            let transaction_hash = sha1(&hashed);
            let unpredictable = dol_value(dol, c.data, 0x9F37).unwrap_or(&[]).to_vec();
            let number = self.next_random();
            let mut dynamic = vec![8];
            dynamic.extend_from_slice(&number);
            dynamic.push(cid);
            dynamic.extend_from_slice(&cryptogram);
            dynamic.extend_from_slice(&transaction_hash);
            let Ok(sdad) = signed_dynamic_data(icc, &dynamic, &unpredictable) else {
                return Response::status(sw::CONDITIONS);
            };
            let [cid_tlv, atc_tlv, iad_tlv] = listed;
            tlv(
                0x77,
                &[cid_tlv, atc_tlv, tlv(0x9F4B, &sdad), iad_tlv].concat(),
            )
        } else if app.response_format1 {
            let mut value = vec![cid];
            value.extend_from_slice(&atc.to_be_bytes());
            value.extend_from_slice(&cryptogram);
            value.extend_from_slice(&iad);
            tlv(0x80, &value)
        } else {
            tlv(
                0x77,
                &[
                    tlv(0x9F27, &[cid]),
                    tlv(0x9F36, &atc.to_be_bytes()),
                    tlv(0x9F26, &cryptogram),
                    tlv(0x9F10, &iad),
                ]
                .concat(),
            )
        };
        if second {
            self.txn.second_ac_done = true;
            let arc = c.data.get(..2).unwrap_or(&[]);
            let approved_online = matches!(arc, b"00" | b"10" | b"11");
            if decided == CryptogramType::Tc && approved_online {
                if let Some(s) = self.apps.get_mut(index) {
                    s.last_online_atc = atc;
                }
            }
        } else {
            let entry = log_record(&app.cdol1, c.data, atc);
            if let Some(s) = self.apps.get_mut(index) {
                s.log.insert(0, entry);
                s.log.truncate(LOG_RECORDS);
            }
            self.txn.first_ac = Some(FirstAc {
                kind: decided,
                cryptogram,
            });
            self.txn.cdol1_data = c.data.to_vec();
        }
        Response::ok(response)
    }

    /// Book 3, 6.5.12 and Book 2, 7: VERIFY with a plaintext (P2 80) or
    /// enciphered (P2 88) PIN; counts tries, blocks at zero.
    fn verify(&mut self, c: &Command<'_>) -> Response {
        if c.p1 != 0 || (c.p2 != 0x80 && c.p2 != 0x88) {
            return Response::status(sw::WRONG_P1P2);
        }
        let image = Arc::clone(&self.image);
        let (index, app) = match self.selected {
            Selected::App(i) => match image.apps.get(i) {
                Some(app) => (i, app),
                None => return Response::status(sw::CONDITIONS),
            },
            _ => return Response::status(sw::CONDITIONS),
        };
        let Some(ptc) = self.apps.get(index).map(|s| s.pin_try_counter) else {
            return Response::status(sw::CONDITIONS);
        };
        if c.data.is_empty() {
            return Response::status(0x63C0 | u16::from(ptc.min(15)));
        }
        if ptc == 0 {
            return Response::status(sw::METHOD_BLOCKED);
        }
        let pin_block: Vec<u8> = if c.p2 == 0x80 {
            c.data.to_vec()
        } else if let Some(key) = &app.ecc_pin_key {
            // EMV 4.4 Book 2, 13.3: ECC enciphered PIN.
            let Some(challenge) = self.challenge.take() else {
                return Response::status(sw::CONDITIONS);
            };
            match key.decipher_pin(c.data, &challenge) {
                Ok(block) => block.to_vec(),
                Err(crate::ecc::PinDecipherError::Length) => {
                    return Response::status(sw::WRONG_LENGTH)
                }
                Err(_) => return Response::status(sw::DATA_INVALIDATED),
            }
        } else {
            let Some(key) = app.pin_decipher_key else {
                return Response::status(sw::NOT_SUPPORTED);
            };
            if c.data.len() != key.len() {
                return Response::status(sw::WRONG_LENGTH);
            }
            let Some(challenge) = self.challenge.take() else {
                return Response::status(sw::CONDITIONS);
            };
            let Ok(block) = key.private_op(c.data) else {
                return Response::status(sw::WRONG_DATA);
            };
            if block.first() != Some(&0x7F) || block.get(9..17) != Some(&challenge[..]) {
                return Response::status(sw::DATA_INVALIDATED);
            }
            block.get(1..9).unwrap_or(&[]).to_vec()
        };
        let Some(digits) = pin_block_digits(&pin_block) else {
            return Response::status(sw::WRONG_DATA);
        };
        let limit = app.pin_try_limit;
        let matches = self.apps.get(index).is_some_and(|s| s.pin == digits);
        let Some(state) = self.apps.get_mut(index) else {
            return Response::status(sw::CONDITIONS);
        };
        if matches {
            state.pin_try_counter = limit;
            self.txn.offline_pin_verified = true;
            Response::status(sw::OK)
        } else {
            state.pin_try_counter = state.pin_try_counter.saturating_sub(1);
            self.txn.offline_pin_failed = true;
            Response::status(0x63C0 | u16::from(state.pin_try_counter.min(15)))
        }
    }

    /// Book 3, 6.5.6: GET CHALLENGE, an 8-byte unpredictable number.
    fn get_challenge(&mut self, c: &Command<'_>) -> Response {
        if c.p1 != 0 || c.p2 != 0 {
            return Response::status(sw::WRONG_P1P2);
        }
        let challenge = self.next_random();
        self.challenge = Some(challenge);
        Response::ok(challenge.to_vec())
    }

    /// Book 3, 6.5.4 and Book 2, 8.2: EXTERNAL AUTHENTICATE with ARPC method 1.
    fn external_authenticate(&mut self, c: &Command<'_>) -> Response {
        if c.p1 != 0 || c.p2 != 0 {
            return Response::status(sw::WRONG_P1P2);
        }
        let Some((index, app)) = self.current_app() else {
            return Response::status(sw::CONDITIONS);
        };
        let first = match self.txn.first_ac {
            Some(f) if f.kind == CryptogramType::Arqc => f,
            _ => return Response::status(sw::CONDITIONS),
        };
        if self.txn.second_ac_done || self.txn.issuer_authentication.is_some() {
            return Response::status(sw::CONDITIONS);
        }
        if !(10..=16).contains(&c.data.len()) {
            return Response::status(sw::WRONG_LENGTH);
        }
        let Some(atc) = self.apps.get(index).map(|s| s.atc) else {
            return Response::status(sw::CONDITIONS);
        };
        let (arpc, arc) = (&c.data[..8], [c.data[8], c.data[9]]); // ok: length checked above
        let session = derive_session_key(&app.icc_ac_key, ac_diversification(atc));
        let genuine = arpc_method1(&session, first.cryptogram, arc) == arpc;
        self.txn.issuer_authentication = Some(genuine);
        Response::status(if genuine { sw::OK } else { sw::AUTH_FAILED })
    }

    /// Book 3, 6.5.1-6.5.3, 6.5.10, 6.5.13 and Book 2, 9.2: issuer script
    /// commands with their MAC (APPLICATION BLOCK/UNBLOCK, CARD BLOCK, PIN
    /// CHANGE/UNBLOCK without new PIN, PUT DATA of LCOL/UCOL).
    fn script_command(&mut self, c: &Command<'_>) -> Response {
        let Some((index, app)) = self.current_app() else {
            return Response::status(sw::CONDITIONS);
        };
        let Some(first) = self.txn.first_ac else {
            return Response::status(sw::CONDITIONS);
        };
        let Some(atc) = self.apps.get(index).map(|s| s.atc) else {
            return Response::status(sw::CONDITIONS);
        };
        let Some(split) = c.data.len().checked_sub(SCRIPT_MAC_LEN) else {
            return Response::status(sw::WRONG_LENGTH);
        };
        let (plain, mac) = c.data.split_at(split);
        let session = derive_session_key(&app.icc_smi_key, first.cryptogram);
        let expected = retail_mac(
            &session,
            &script_mac_input(c.header(), c.data.len() as u8, atc, first.cryptogram, plain),
        );
        if expected.get(..SCRIPT_MAC_LEN) != Some(mac) {
            self.txn.script_failed = true;
            return Response::status(sw::BAD_MAC);
        }
        let limit = app.pin_try_limit;
        let new_pin = if (c.ins, c.p2) == (0x24, 0x02) {
            let session = derive_session_key(&app.icc_smc_key, first.cryptogram);
            <[u8; 8]>::try_from(plain)
                .ok()
                .and_then(|block| pin_block_digits(&tdes_decrypt(&session, block)))
        } else {
            None
        };
        let patched = if c.ins == 0xDA {
            put_data_record(app, &self.apps, index, c, plain)
        } else {
            None
        };
        let Some(state) = self.apps.get_mut(index) else {
            return Response::status(sw::CONDITIONS);
        };
        let sw = match (c.ins, c.p1, c.p2) {
            (0x1E, 0, 0) => {
                state.blocked = true;
                sw::OK
            }
            (0x18, 0, 0) => {
                state.blocked = false;
                sw::OK
            }
            (0x16, 0, 0) => {
                self.card_blocked = true;
                sw::OK
            }
            (0x24, 0, 0) => {
                state.pin_try_counter = limit;
                sw::OK
            }
            (0x24, 0, 0x02) => match new_pin {
                Some(pin) => {
                    state.pin = pin;
                    state.pin_try_counter = limit;
                    sw::OK
                }
                None => sw::WRONG_DATA,
            },
            (0xDA, _, _) => match patched {
                Some(record) => {
                    state.record_overrides.retain(|(k, _)| *k != (1, 2));
                    state.record_overrides.push(((1, 2), record));
                    sw::OK
                }
                None => sw::DATA_NOT_FOUND,
            },
            _ => sw::WRONG_P1P2,
        };
        if sw == sw::OK {
            self.txn.scripts_processed = self.txn.scripts_processed.saturating_add(1);
        } else {
            self.txn.script_failed = true;
        }
        Response::status(sw)
    }
}

/// SFI of the transaction log (Log Entry `9F4D` = `0B0A` in the FCI).
pub const LOG_SFI: u8 = 0x0B;

/// How many transactions the log keeps.
pub const LOG_RECORDS: usize = 10;

/// Book 3, Annex D: one transaction log record laid out by the Log Format
/// (`9F4F`): values only, taken from the CDOL1 data, the ATC, zeros otherwise.
fn log_record(cdol1: &[u8], cdol1_data: &[u8], atc: u16) -> Vec<u8> {
    let mut record = Vec::new();
    for entry in crate::encode::parse_dol(&LOG_FORMAT) {
        match (entry.tag, dol_value(cdol1, cdol1_data, entry.tag)) {
            (0x9F36, _) => record.extend_from_slice(&atc.to_be_bytes()),
            (_, Some(value)) if value.len() == entry.len => record.extend_from_slice(value),
            _ => record.resize(record.len() + entry.len, 0),
        }
    }
    record
}

/// PUT DATA of LCOL (9F14) or UCOL (9F23): the limits record rewritten with the new value.
fn put_data_record(
    app: &AppImage,
    states: &[AppState],
    index: usize,
    c: &Command<'_>,
    value: &[u8],
) -> Option<Vec<u8>> {
    let tag = u32::from(u16::from_be_bytes([c.p1, c.p2]));
    if !(tag == 0x9F14 || tag == 0x9F23) || value.len() != 1 {
        return None;
    }
    let current = states
        .get(index)
        .and_then(|s| {
            s.record_overrides
                .iter()
                .find(|(k, _)| *k == (1, 2))
                .map(|(_, r)| r.clone())
        })
        .or_else(|| app.records.get(&(1, 2)).cloned())?;
    let outer = emv_kernel::tlv::parse_single(&current).ok()?;
    let mut children = Vec::new();
    for child in outer.children() {
        let child = child.ok()?;
        if child.tag.0 == tag {
            children.push(tlv(tag, value));
        } else {
            children.push(child.raw.to_vec());
        }
    }
    Some(tlv(0x70, &children.concat()))
}

/// Digits of an ISO 9564 format 2 PIN block (`2N` then N digits, `F` filler), if well formed.
fn pin_block_digits(block: &[u8]) -> Option<Vec<u8>> {
    if block.len() != 8 {
        return None;
    }
    let control = *block.first()?;
    let count = usize::from(control & 0x0F);
    if control >> 4 != 0x2 || !(4..=12).contains(&count) {
        return None;
    }
    let nibbles: Vec<u8> = block
        .iter()
        .skip(1)
        .flat_map(|b| [b >> 4, b & 0x0F])
        .collect();
    let (digits, filler) = nibbles.split_at(count);
    if digits.iter().any(|&d| d > 9) || filler.iter().any(|&f| f != 0x0F) {
        return None;
    }
    Some(digits.to_vec())
}

/// Builds an ISO 9564 format 2 plaintext PIN block from digits (test helper and terminal side).
pub fn format2_pin_block(pin: &str) -> [u8; 8] {
    let mut nibbles = vec![0x2, pin.len() as u8 & 0x0F];
    nibbles.extend(pin.bytes().map(|b| b.wrapping_sub(b'0') & 0x0F));
    nibbles.resize(16, 0x0F);
    let mut block = [0u8; 8];
    for (b, pair) in block.iter_mut().zip(nibbles.chunks(2)) {
        *b = (pair[0] << 4) | pair[1];
    }
    block
}
