//! `Transaction`: one EMV transaction driven from Python through the
//! kernel's request loop, and the typed request objects it hands out.
//!
//! The kernel's `Transaction<'k, C>` borrows its `TerminalContext`
//! (configuration, CA keys, revocation list, exception file). A Python object
//! cannot hold a borrow, so the pyclass owns that data and the transaction
//! together, with `self_cell` (no proc macros, no dependencies, miri-tested,
//! a few hundred lines of audited unsafe): `Terminal` owns the configuration
//! and keys (shared with the `Config` and `CaKeys` objects through `Arc`),
//! `TerminalCell` adds the exception file as a slice of slices borrowed from
//! the configuration, and `Running` holds the transaction borrowing both.
//! Nothing is leaked and our code has no `unsafe`.

use std::sync::Arc;

use emv_config::{CaKeys as CaKeyStore, Settings};
use emv_kernel::config::TransactionInputs;
use emv_kernel::oda::RevocationList;
use emv_kernel::online::HostResponse as KernelHostResponse;
use emv_kernel::select::Candidate as KernelCandidate;
use emv_kernel::transaction::{
    PinEntry, PinKind, Request, TerminalContext, UsageError as KernelUsageError,
};
use pyo3::prelude::*;
use pyo3::types::PyBytes;
use self_cell::self_cell;

use crate::errors::UsageError;
use crate::outcome::Outcome;
use crate::settings::{CaKeys, Config};
use crate::KernelTransaction;

/// What the transaction borrows: configuration, CA keys, revocation list.
struct Terminal {
    settings: Arc<Settings>,
    ca_keys: Arc<CaKeyStore>,
    revocations: RevocationList,
}

/// The exception file as the kernel takes it: PANs borrowed from the settings.
struct ExceptionFile<'a>(Vec<&'a [u8]>);

self_cell!(
    struct TerminalCell {
        owner: Terminal,
        #[covariant]
        dependent: ExceptionFile,
    }
);

self_cell!(
    struct Running {
        owner: TerminalCell,
        #[not_covariant]
        dependent: KernelTransaction,
    }
);

fn usage_error(error: KernelUsageError) -> PyErr {
    UsageError::new_err(error.to_string())
}

fn exact<const N: usize>(name: &str, bytes: &[u8]) -> PyResult<[u8; N]> {
    <[u8; N]>::try_from(bytes).map_err(|_| {
        pyo3::exceptions::PyValueError::new_err(format!(
            "{name}: {N} bytes expected, got {}",
            bytes.len()
        ))
    })
}

/// Bytes from `bytes`/`bytearray`, or the ASCII of a `str`.
pub(crate) fn bytes_or_ascii(name: &str, value: &Bound<'_, PyAny>) -> PyResult<Vec<u8>> {
    if let Ok(text) = value.extract::<String>() {
        if !text.is_ascii() {
            return Err(pyo3::exceptions::PyValueError::new_err(format!(
                "{name}: ASCII text expected"
            )));
        }
        return Ok(text.into_bytes());
    }
    value.extract::<Vec<u8>>()
}

/// One EMV contact transaction (Book 3, 10), answered request by request.
#[pyclass(module = "emv_kernel._native")]
pub(crate) struct Transaction {
    running: Running,
}

/// An optional number as Python writes it.
fn python_option(value: Option<u8>) -> String {
    value.map_or_else(|| "None".to_owned(), |v| v.to_string())
}

fn pin_kind(kind: PinKind) -> &'static str {
    match kind {
        PinKind::OfflinePlaintext => "offline_plaintext",
        PinKind::OfflineEnciphered => "offline_enciphered",
        PinKind::Online => "online",
    }
}

impl Transaction {
    fn answer(
        &mut self,
        f: impl FnOnce(&mut KernelTransaction<'_>) -> Result<(), KernelUsageError>,
    ) -> PyResult<()> {
        self.running
            .with_dependent_mut(|_, transaction| f(transaction))
            .map_err(usage_error)
    }

    fn entered_pin(&mut self, entry: PinEntry<'_>) -> PyResult<()> {
        self.answer(|t| t.on_pin(entry))
    }
}

#[pymethods]
impl Transaction {
    /// Starts a transaction. Every input is explicit here; the `emv_kernel`
    /// package fills the clock and the random numbers.
    #[new]
    #[pyo3(signature = (*, config, ca_keys, amount, amount_other, transaction_type, currency_code,
        currency_exponent, date, time, unpredictable_number, random_selection_number,
        transaction_sequence_counter, merchant_forced_online))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        config: &Config,
        ca_keys: &CaKeys,
        amount: u64,
        amount_other: u64,
        transaction_type: u8,
        currency_code: Vec<u8>,
        currency_exponent: u8,
        date: Vec<u8>,
        time: Vec<u8>,
        unpredictable_number: Vec<u8>,
        random_selection_number: u8,
        transaction_sequence_counter: u32,
        merchant_forced_online: bool,
    ) -> PyResult<Self> {
        let inputs = TransactionInputs {
            amount_authorised: amount,
            amount_other,
            transaction_type,
            currency_code: exact("currency_code", &currency_code)?,
            currency_exponent,
            date: exact("date", &date)?,
            time: exact("time", &time)?,
            unpredictable_number: exact("unpredictable_number", &unpredictable_number)?,
            random_selection_number,
            transaction_sequence_counter,
            merchant_forced_online,
        };
        let terminal = Terminal {
            revocations: config.settings.revocation_list(),
            settings: Arc::clone(&config.settings),
            ca_keys: Arc::clone(&ca_keys.store),
        };
        let cell = TerminalCell::new(terminal, |terminal| {
            ExceptionFile(
                terminal
                    .settings
                    .exception_file
                    .iter()
                    .map(Vec::as_slice)
                    .collect(),
            )
        });
        let running = Running::try_new(cell, |cell| {
            let terminal = cell.borrow_owner();
            let context = TerminalContext {
                config: &terminal.settings.terminal,
                ca_keys: &terminal.ca_keys,
                revocations: &terminal.revocations,
                exception_file: &cell.borrow_dependent().0,
            };
            KernelTransaction::new(context, crate::crypto(), inputs)
        })
        .map_err(usage_error)?;
        Ok(Transaction { running })
    }

    /// What the transaction needs now: a `Transmit`, `ChooseApplication`,
    /// `EnterPin`, `RecentAmount`, `GoOnline`, `IssuerReferral` or `Done` object.
    fn request(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        self.running.with_dependent(|_, transaction| {
            let object: Py<PyAny> = match transaction.request() {
                Request::Transmit(apdu) => Py::new(
                    py,
                    Transmit {
                        apdu: PyBytes::new(py, apdu).unbind(),
                    },
                )?
                .into_any(),
                Request::ChooseApplication {
                    candidates,
                    confirm_only,
                } => {
                    let candidates = candidates
                        .iter()
                        .map(|c| Py::new(py, Candidate::from_kernel(py, c)))
                        .collect::<PyResult<Vec<_>>>()?;
                    Py::new(
                        py,
                        ChooseApplication {
                            candidates,
                            confirm_only,
                        },
                    )?
                    .into_any()
                }
                Request::EnterPin { kind, tries_left } => Py::new(
                    py,
                    EnterPin {
                        kind: pin_kind(kind),
                        tries_left,
                    },
                )?
                .into_any(),
                Request::RecentAmount {
                    pan,
                    pan_sequence_number,
                } => Py::new(
                    py,
                    RecentAmount {
                        pan: PyBytes::new(py, pan).unbind(),
                        masked_pan: emv_kernel::outcome::mask_pan(pan)
                            .iter()
                            .map(|&b| char::from(b))
                            .collect(),
                        pan_sequence_number,
                    },
                )?
                .into_any(),
                Request::GoOnline(icc_data) => Py::new(
                    py,
                    GoOnline {
                        icc_data: PyBytes::new(py, icc_data).unbind(),
                    },
                )?
                .into_any(),
                Request::IssuerReferral {
                    authorisation_response_code,
                } => Py::new(
                    py,
                    IssuerReferral {
                        authorisation_response_code: authorisation_response_code
                            .iter()
                            .map(|&b| char::from(b))
                            .collect(),
                    },
                )?
                .into_any(),
                Request::Done(outcome) => Py::new(
                    py,
                    Done {
                        outcome: Py::new(py, Outcome::from_kernel(py, outcome))?,
                    },
                )?
                .into_any(),
            };
            Ok(object)
        })
    }

    /// A log-friendly name of the current step, after Book 3.
    #[getter]
    fn step(&self) -> &'static str {
        self.running.with_dependent(|_, t| t.step())
    }

    /// Whether the transaction is over.
    #[getter]
    fn done(&self) -> bool {
        self.running.with_dependent(|_, t| t.outcome().is_some())
    }

    /// The outcome once the transaction is over, else None.
    #[getter]
    fn outcome(&self, py: Python<'_>) -> PyResult<Option<Py<Outcome>>> {
        self.running.with_dependent(|_, t| {
            t.outcome()
                .map(|o| Py::new(py, Outcome::from_kernel(py, o)))
                .transpose()
        })
    }

    /// The card's response (data and SW1 SW2) to the pending `Transmit`.
    fn on_response(&mut self, response: Vec<u8>) -> PyResult<()> {
        self.answer(|t| t.on_response(&response))
    }

    /// The exchange with the card failed: the transaction ends terminated
    /// (`transport_failed`).
    fn on_transport_error(&mut self) {
        self.running
            .with_dependent_mut(|_, t| t.on_transport_error());
    }

    /// The cardholder's choice: an index into the candidates, or None to cancel.
    #[pyo3(signature = (index))]
    fn on_application_chosen(&mut self, index: Option<usize>) -> PyResult<()> {
        self.answer(|t| t.on_application_chosen(index))
    }

    /// The PIN digits (`"1234"` or `b"1234"`), 4 to 12 of them. The copy made
    /// here is wiped after use; the caller's object is the caller's.
    fn on_pin(&mut self, digits: &Bound<'_, PyAny>) -> PyResult<()> {
        let mut pin = bytes_or_ascii("pin", digits)?;
        let result = self.entered_pin(PinEntry::Digits(&pin));
        pin.fill(0);
        std::hint::black_box(&pin);
        result
    }

    /// The cardholder or attendant bypassed PIN entry.
    fn on_pin_bypassed(&mut self) -> PyResult<()> {
        self.entered_pin(PinEntry::Bypassed)
    }

    /// Online PIN: the caller captured and enciphered the PIN itself.
    fn on_pin_online_captured(&mut self) -> PyResult<()> {
        self.entered_pin(PinEntry::OnlineCaptured)
    }

    /// The PIN pad is absent or not working.
    fn on_pin_pad_not_working(&mut self) -> PyResult<()> {
        self.entered_pin(PinEntry::PinPadNotWorking)
    }

    /// The Amount, Authorised of the most recent approved transaction of this
    /// card in the terminal's log (minor units), 0 when there is none.
    fn on_recent_amount(&mut self, amount: u64) -> PyResult<()> {
        self.answer(|t| t.on_recent_amount(amount))
    }

    /// The oldest message the kernel emitted and not yet read (Book 4,
    /// 11.2), or None: read them after every answer.
    fn next_message(&mut self, py: Python<'_>) -> PyResult<Option<Py<Message>>> {
        let message = self.running.with_dependent_mut(|_, t| {
            let language = t.language();
            t.next_message().map(|m| Message {
                id: m.standard_id(),
                code: m.code(),
                text: m.text(language),
                language: language.to_string(),
            })
        });
        message.map(|m| Py::new(py, m)).transpose()
    }

    /// The language messages are shown in (Book 4, 11.1): ISO 639-1, from
    /// the card's Language Preference and the configuration's `languages`.
    #[getter]
    fn language(&self) -> String {
        self.running.with_dependent(|_, t| t.language().to_string())
    }

    /// The attendant's voice referral after `IssuerReferral` (Book 4,
    /// 6.5.2): True approves (the card is asked for a TC), False declines.
    fn on_referral(&mut self, approved: bool) -> PyResult<()> {
        self.answer(|t| t.on_referral(approved))
    }

    /// Forced acceptance (Book 4, 6.5.4) of a transaction the card
    /// declined, on an attended terminal; the outcome's
    /// `forced_acceptance` becomes True, its decision stays "declined".
    fn force_acceptance(&mut self) -> PyResult<()> {
        self.answer(|t| t.force_acceptance())
    }

    /// The host's answer to `GoOnline`; None when the host cannot be reached.
    #[pyo3(signature = (response))]
    fn on_host(&mut self, response: Option<PyRef<'_, HostResponse>>) -> PyResult<()> {
        match response {
            None => self.answer(|t| t.on_host(KernelHostResponse::UNREACHABLE)),
            Some(r) => {
                let answer = KernelHostResponse {
                    reachable: true,
                    approved: r.approved,
                    authorisation_response_code: r.authorisation_response_code,
                    issuer_authentication_data: r.issuer_authentication_data.as_deref(),
                    scripts: &r.scripts,
                };
                self.answer(|t| t.on_host(answer))
            }
        }
    }

    fn __repr__(&self) -> String {
        format!("Transaction(step={:?})", self.step())
    }
}

/// Send `apdu` to the card and give the response to `on_response`.
#[pyclass(module = "emv_kernel", frozen, get_all)]
pub(crate) struct Transmit {
    /// The command APDU.
    apdu: Py<PyBytes>,
}

#[pymethods]
impl Transmit {
    /// The command in hex; VERIFY (INS 20) without its PIN block.
    fn __repr__(&self, py: Python<'_>) -> String {
        let apdu = self.apdu.bind(py).as_bytes();
        match apdu.get(..5) {
            Some(header) if apdu.len() > 5 && apdu.get(1) == Some(&0x20) => {
                format!(
                    "Transmit({}, PIN block withheld)",
                    hex::encode_upper(header)
                )
            }
            _ => format!("Transmit({})", hex::encode_upper(apdu)),
        }
    }
}

/// An application the card offers (Book 1, 12).
#[pyclass(module = "emv_kernel", frozen, get_all)]
pub(crate) struct Candidate {
    /// The AID (ADF name).
    aid: Py<PyBytes>,
    /// The AID in hex.
    aid_hex: String,
    /// Application Label (50).
    label: String,
    /// Application Preferred Name (9F12).
    preferred_name: String,
    /// Application Priority Indicator (87), 0 when absent.
    priority: u8,
    /// The card asks for cardholder confirmation (b8 of the priority).
    requires_confirmation: bool,
}

impl Candidate {
    fn from_kernel(py: Python<'_>, c: &KernelCandidate) -> Self {
        let text = |b: &[u8]| b.iter().map(|&c| char::from(c)).collect();
        Candidate {
            aid: PyBytes::new(py, &c.aid).unbind(),
            aid_hex: hex::encode_upper(&c.aid),
            label: text(&c.label),
            preferred_name: text(&c.preferred_name),
            priority: c.priority,
            requires_confirmation: c.requires_confirmation(),
        }
    }
}

#[pymethods]
impl Candidate {
    fn __repr__(&self) -> String {
        format!("Candidate(aid={:?}, label={:?})", self.aid_hex, self.label)
    }
}

/// Let the cardholder choose (or confirm, `confirm_only`) an application;
/// answer with `on_application_chosen(index)`.
#[pyclass(module = "emv_kernel", frozen, get_all)]
pub(crate) struct ChooseApplication {
    /// The candidates, in priority order.
    candidates: Vec<Py<Candidate>>,
    /// Only the first candidate is offered for confirmation.
    confirm_only: bool,
}

#[pymethods]
impl ChooseApplication {
    fn __repr__(&self) -> String {
        format!(
            "ChooseApplication({} candidates, confirm_only={})",
            self.candidates.len(),
            self.confirm_only
        )
    }
}

/// Ask the cardholder for a PIN; answer with `on_pin(...)` or one of the
/// `on_pin_*` methods.
#[pyclass(module = "emv_kernel", frozen, get_all)]
pub(crate) struct EnterPin {
    /// `"offline_plaintext"`, `"offline_enciphered"` or `"online"`.
    kind: &'static str,
    /// Remaining tries when the card told them, else None.
    tries_left: Option<u8>,
}

#[pymethods]
impl EnterPin {
    fn __repr__(&self) -> String {
        format!(
            "EnterPin(kind={:?}, tries_left={:?})",
            self.kind, self.tries_left
        )
    }
}

/// Look the card up in the terminal's log (split sales, Book 3, 10.6.1);
/// answer with `on_recent_amount(amount)`. `pan` is the card's PAN as it
/// sent it (BCD, F-padded): the caller's to protect; `repr` shows it masked.
#[pyclass(module = "emv_kernel", frozen, get_all)]
pub(crate) struct RecentAmount {
    /// Application PAN (5A) as the card gave it.
    pan: Py<PyBytes>,
    /// The PAN masked for display.
    masked_pan: String,
    /// PAN Sequence Number (5F34), when the card has one.
    pan_sequence_number: Option<u8>,
}

#[pymethods]
impl RecentAmount {
    fn __repr__(&self) -> String {
        format!(
            "RecentAmount(masked_pan={:?}, pan_sequence_number={})",
            self.masked_pan,
            python_option(self.pan_sequence_number)
        )
    }
}

/// Send an authorisation request with `icc_data` (field 55, with the ARQC);
/// answer with `on_host(HostResponse(...))` or `on_host(None)`.
#[pyclass(module = "emv_kernel", frozen, get_all)]
pub(crate) struct GoOnline {
    /// The ICC data, BER-TLV.
    icc_data: Py<PyBytes>,
}

#[pymethods]
impl GoOnline {
    fn __repr__(&self, py: Python<'_>) -> String {
        format!(
            "GoOnline({} bytes)",
            self.icc_data.bind(py).as_bytes().len()
        )
    }
}

/// A message for the cardholder or the attendant (Book 4, 11.2).
#[pyclass(module = "emv_kernel", frozen, get_all)]
pub(crate) struct Message {
    /// The Book 4, 11.2 identifier (1 to 0x13), None for LAST PIN TRY.
    id: Option<u8>,
    /// A stable snake_case code (`"enter_pin"`).
    code: &'static str,
    /// The text in `language`.
    text: &'static str,
    /// ISO 639-1 code of the text.
    language: String,
}

#[pymethods]
impl Message {
    fn __repr__(&self) -> String {
        format!("Message({:?}, {:?})", self.code, self.text)
    }
}

/// The issuer referred the transaction (ARC "01" or "02", Book 4,
/// 6.5.2): the attendant calls the issuer; answer with
/// `on_referral(approved)`.
#[pyclass(module = "emv_kernel", frozen, get_all)]
pub(crate) struct IssuerReferral {
    /// The issuer's Authorisation Response Code, two characters.
    authorisation_response_code: String,
}

#[pymethods]
impl IssuerReferral {
    fn __repr__(&self) -> String {
        format!(
            "IssuerReferral(authorisation_response_code={:?})",
            self.authorisation_response_code
        )
    }
}

/// The transaction is over.
#[pyclass(module = "emv_kernel", frozen, get_all)]
pub(crate) struct Done {
    /// The outcome.
    outcome: Py<Outcome>,
}

#[pymethods]
impl Done {
    fn __repr__(&self, py: Python<'_>) -> String {
        format!("Done({})", self.outcome.borrow(py).__repr__())
    }
}

/// The issuer's answer to an authorisation request.
#[pyclass(module = "emv_kernel", frozen)]
pub(crate) struct HostResponse {
    /// Whether the issuer approved.
    approved: bool,
    /// Authorisation Response Code (8A), 2 bytes (`b"00"`).
    authorisation_response_code: [u8; 2],
    /// Issuer Authentication Data (91), if sent.
    issuer_authentication_data: Option<Vec<u8>>,
    /// Issuer scripts: templates 71 and 72 as received.
    scripts: Vec<u8>,
}

impl HostResponse {
    pub(crate) fn from_parts(
        approved: bool,
        authorisation_response_code: [u8; 2],
        issuer_authentication_data: Option<Vec<u8>>,
        scripts: Vec<u8>,
    ) -> Self {
        HostResponse {
            approved,
            authorisation_response_code,
            issuer_authentication_data,
            scripts,
        }
    }
}

#[pymethods]
impl HostResponse {
    /// Whether the issuer approved.
    #[getter]
    fn approved(&self) -> bool {
        self.approved
    }

    /// Authorisation Response Code (8A), 2 bytes.
    #[getter]
    fn authorisation_response_code<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        PyBytes::new(py, &self.authorisation_response_code)
    }

    /// Issuer Authentication Data (91), or None.
    #[getter]
    fn issuer_authentication_data<'py>(&self, py: Python<'py>) -> Option<Bound<'py, PyBytes>> {
        self.issuer_authentication_data
            .as_deref()
            .map(|data| PyBytes::new(py, data))
    }

    /// Issuer scripts (templates 71 and 72).
    #[getter]
    fn scripts<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        PyBytes::new(py, &self.scripts)
    }

    #[new]
    #[pyo3(signature = (approved, authorisation_response_code=None, issuer_authentication_data=None, scripts=None))]
    fn new(
        approved: bool,
        authorisation_response_code: Option<&Bound<'_, PyAny>>,
        issuer_authentication_data: Option<Vec<u8>>,
        scripts: Option<Vec<u8>>,
    ) -> PyResult<Self> {
        let arc = match authorisation_response_code {
            Some(value) => exact(
                "authorisation_response_code",
                &bytes_or_ascii("authorisation_response_code", value)?,
            )?,
            None if approved => *b"00",
            None => *b"05",
        };
        Ok(HostResponse {
            approved,
            authorisation_response_code: arc,
            issuer_authentication_data,
            scripts: scripts.unwrap_or_default(),
        })
    }

    fn __repr__(&self) -> String {
        format!(
            "HostResponse(approved={}, authorisation_response_code={:?})",
            self.approved,
            String::from_utf8_lossy(&self.authorisation_response_code)
        )
    }
}

pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<Transaction>()?;
    m.add_class::<Transmit>()?;
    m.add_class::<Candidate>()?;
    m.add_class::<ChooseApplication>()?;
    m.add_class::<EnterPin>()?;
    m.add_class::<RecentAmount>()?;
    m.add_class::<GoOnline>()?;
    m.add_class::<IssuerReferral>()?;
    m.add_class::<Message>()?;
    m.add_class::<Done>()?;
    m.add_class::<HostResponse>()?;
    Ok(())
}
