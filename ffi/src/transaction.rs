//! One transaction: made in the caller's memory or the library's, driven
//! by polling its request and answering it, ended with its outcome.

use std::ffi::{c_char, c_void};
use std::panic::{catch_unwind, AssertUnwindSafe};

use emv_kernel::config::TransactionInputs;
use emv_kernel::online::HostResponse;
use emv_kernel::outcome::{
    CryptogramType, Decision, OdaMethod, OdaResult, ReferralDecision, TerminationReason,
};
use emv_kernel::transaction::{PinEntry, PinKind, Request, TerminalContext, Transaction};

use crate::config::{emv_config, EMV_MAX_AID_BYTES};
use crate::error::{emv_error, guard, Failure};
use crate::keys::emv_ca_keys;
use crate::util::{self, Handle};
use crate::Crypto;

/// Most bytes of the ICC data for clearing (field 55) `emv_outcome` copies.
pub const EMV_MAX_ICC_DATA_BYTES: usize = 320;

const _: () = assert!(EMV_MAX_ICC_DATA_BYTES == emv_kernel::limits::CLEARING_DATA_BYTES);

/// What the caller supplies for one transaction, every field filled by the
/// caller: there are no defaults. Book 4, Annex A: 9F02, 9F03, 9C, 5F2A,
/// 5F36, 9A, 9F21, 9F37, 9F41.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct emv_transaction_inputs {
    /// Amount, Authorised (9F02), minor units (1250 is 12.50).
    pub amount_authorised: u64,
    /// Amount, Other (9F03), minor units (cashback); 0 for none.
    pub amount_other: u64,
    /// Transaction Type (9C): 0x00 purchase, 0x01 cash, 0x09 cashback, 0x20 refund.
    pub transaction_type: u8,
    /// Transaction Currency Code (5F2A), n3 in 2 bytes BCD (0x09 0x78 is EUR).
    pub currency_code: [u8; 2],
    /// Transaction Currency Exponent (5F36).
    pub currency_exponent: u8,
    /// Transaction Date (9A), BCD YYMMDD.
    pub date: [u8; 3],
    /// Transaction Time (9F21), BCD HHMMSS.
    pub time: [u8; 3],
    /// Unpredictable Number (9F37): 4 bytes from the terminal's random
    /// source, fresh for every transaction.
    pub unpredictable_number: [u8; 4],
    /// The random number 1 to 99 for random transaction selection (Book 3,
    /// 10.6.2), fresh for every transaction.
    pub random_selection_number: u8,
    /// Transaction Sequence Counter (9F41), kept by the terminal.
    pub transaction_sequence_counter: u32,
    /// The merchant forces the transaction online (TVR byte 4 b4).
    pub merchant_forced_online: bool,
}

impl emv_transaction_inputs {
    fn to_kernel(self) -> TransactionInputs {
        TransactionInputs {
            amount_authorised: self.amount_authorised,
            amount_other: self.amount_other,
            transaction_type: self.transaction_type,
            currency_code: self.currency_code,
            currency_exponent: self.currency_exponent,
            date: self.date,
            time: self.time,
            unpredictable_number: self.unpredictable_number,
            random_selection_number: self.random_selection_number,
            transaction_sequence_counter: self.transaction_sequence_counter,
            merchant_forced_online: self.merchant_forced_online,
        }
    }
}

/// One EMV contact transaction (opaque). It lives in the caller's memory
/// (`emv_transaction_size`, `emv_transaction_align`, `emv_transaction_init`)
/// or in the library's (`emv_transaction_new`); `emv_transaction_free` ends
/// either. It borrows its configuration and CA keys, which cannot be freed
/// while it lives.
pub struct emv_transaction {
    magic: u64,
    /// Made by `emv_transaction_new` (the library frees the memory).
    heap: bool,
    /// A panic was caught inside the kernel: only `emv_transaction_free`.
    poisoned: bool,
    config: *const emv_config,
    keys: *const emv_ca_keys,
    transaction: Transaction<'static, Crypto>,
}

impl Handle for emv_transaction {
    const MAGIC: u64 = 0x454D_5654_5241_4E53; // "EMVTRANS"
    const NAME: &'static str = "emv_transaction";
    fn magic(&self) -> u64 {
        self.magic
    }
}

/// Starts a transaction on `config` and `keys`, which it borrows.
///
/// # Safety
/// Each pointer must be NULL or point to what its type says; `config` and
/// `keys` must stay alive while the transaction does (their use counters,
/// raised here, make their free functions refuse until then).
unsafe fn start(
    config: *const emv_config,
    keys: *const emv_ca_keys,
    inputs: *const emv_transaction_inputs,
    heap: bool,
) -> Result<emv_transaction, Failure> {
    // SAFETY: the caller's contract; the 'static lifetime stands for "until
    // the transaction is freed", which the use counters enforce.
    let (config_ref, keys_ref, inputs): (&'static emv_config, &'static emv_ca_keys, _) = unsafe {
        (
            util::handle(config)?,
            util::handle(keys)?,
            util::input(inputs, "inputs")?,
        )
    };
    let context = TerminalContext {
        config: &config_ref.settings().terminal,
        ca_keys: keys_ref.keys(),
        revocations: config_ref.revocations(),
        exception_file: config_ref.exception_file(),
    };
    let transaction = Transaction::new(context, Crypto::default(), inputs.to_kernel())?;
    config_ref.acquire();
    keys_ref.acquire();
    Ok(emv_transaction {
        magic: emv_transaction::MAGIC,
        heap,
        poisoned: false,
        config,
        keys,
        transaction,
    })
}

/// The bytes caller memory for `emv_transaction_init` needs.
#[no_mangle]
pub extern "C" fn emv_transaction_size() -> usize {
    std::mem::size_of::<emv_transaction>()
}

/// The alignment caller memory for `emv_transaction_init` needs.
#[no_mangle]
pub extern "C" fn emv_transaction_align() -> usize {
    std::mem::align_of::<emv_transaction>()
}

/// Starts a transaction in the caller's memory: `memory_size` bytes at
/// `memory`, at least `emv_transaction_size()` and aligned to
/// `emv_transaction_align()` (else `EMV_ERROR_BUFFER_TOO_SMALL` or
/// `EMV_ERROR_MISALIGNED`). `*out` receives the transaction (the same
/// address as `memory`). The library never allocates for it; end it with
/// `emv_transaction_free`, then the memory is the caller's again.
///
/// `config` and `keys` are borrowed until then. `inputs` is copied.
/// Returns `EMV_ERROR_INVALID_DATE` or `EMV_ERROR_RANDOM_SELECTION` for
/// invalid inputs.
///
/// # Safety
/// `memory` must point to `memory_size` writable bytes that nothing else
/// uses until `emv_transaction_free`; the other pointers must be NULL or
/// point to what their types say.
#[no_mangle]
pub unsafe extern "C" fn emv_transaction_init(
    memory: *mut c_void,
    memory_size: usize,
    config: *const emv_config,
    keys: *const emv_ca_keys,
    inputs: *const emv_transaction_inputs,
    out: *mut *mut emv_transaction,
) -> emv_error {
    guard(|| {
        // SAFETY: the caller's contract for `out`.
        let out = unsafe { util::out(out, "out") }?;
        *out = std::ptr::null_mut();
        if memory.is_null() {
            return Err(Failure::null("memory"));
        }
        let needed = emv_transaction_size();
        if memory_size < needed {
            return Err(Failure::new(
                emv_error::EMV_ERROR_BUFFER_TOO_SMALL,
                format!("memory_size is {memory_size}, a transaction needs {needed} bytes"),
            ));
        }
        let align = emv_transaction_align();
        if !(memory as usize).is_multiple_of(align) {
            return Err(Failure::new(
                emv_error::EMV_ERROR_MISALIGNED,
                format!("memory is not aligned to {align} bytes"),
            ));
        }
        // SAFETY: the caller's contract for config, keys and inputs.
        let slot = unsafe { start(config, keys, inputs, false) }?;
        let target = memory.cast::<emv_transaction>();
        // SAFETY: `memory` is not NULL, holds at least size_of bytes, is
        // aligned (both checked above) and is the caller's to give.
        unsafe { target.write(slot) };
        *out = target;
        Ok(())
    })
}

/// Starts a transaction in memory the library allocates; otherwise as
/// `emv_transaction_init`. End it with `emv_transaction_free`.
///
/// # Safety
/// Each pointer must be NULL or point to what its type says.
#[no_mangle]
pub unsafe extern "C" fn emv_transaction_new(
    config: *const emv_config,
    keys: *const emv_ca_keys,
    inputs: *const emv_transaction_inputs,
    out: *mut *mut emv_transaction,
) -> emv_error {
    guard(|| {
        // SAFETY: the caller's contract for `out`.
        let out = unsafe { util::out(out, "out") }?;
        *out = std::ptr::null_mut();
        // SAFETY: the caller's contract for config, keys and inputs.
        let slot = unsafe { start(config, keys, inputs, true) }?;
        *out = Box::into_raw(Box::new(slot));
        Ok(())
    })
}

/// Ends a transaction made by `emv_transaction_init` (the memory is the
/// caller's again) or `emv_transaction_new` (the memory is freed), at any
/// point, and releases its configuration and keys. NULL is accepted and
/// ignored.
///
/// # Safety
/// `transaction` must be NULL or a live transaction of this library.
#[no_mangle]
pub unsafe extern "C" fn emv_transaction_free(transaction: *mut emv_transaction) -> emv_error {
    guard(|| {
        if transaction.is_null() {
            return Ok(());
        }
        // SAFETY: the caller's contract for `transaction`.
        let slot = unsafe { util::handle_mut(transaction) }?;
        slot.magic = 0;
        // SAFETY: the configuration and keys were live when the transaction
        // started and their use counters kept them from being freed since.
        unsafe {
            (*slot.config).release();
            (*slot.keys).release();
        }
        if slot.heap {
            // SAFETY: made by Box::into_raw in emv_transaction_new.
            drop(unsafe { Box::from_raw(transaction) });
        } else {
            // SAFETY: written by emv_transaction_init into the caller's
            // memory, live until now; dropped once (the tag is cleared).
            unsafe { std::ptr::drop_in_place(transaction) };
        }
        Ok(())
    })
}

/// Runs `body` on the live transaction behind `transaction`; a panic inside
/// marks the transaction unusable.
///
/// # Safety
/// `transaction` must be NULL or a transaction of this library that no
/// other thread uses.
unsafe fn with_transaction(
    transaction: *mut emv_transaction,
    body: impl FnOnce(&mut Transaction<'static, Crypto>) -> Result<(), Failure>,
) -> emv_error {
    guard(|| {
        // SAFETY: forwarded from the caller's contract.
        let slot = unsafe { util::handle_mut(transaction) }?;
        if slot.poisoned {
            return Err(Failure::new(
                emv_error::EMV_ERROR_PANIC,
                "the transaction failed internally before: only emv_transaction_free is allowed",
            ));
        }
        match catch_unwind(AssertUnwindSafe(|| body(&mut slot.transaction))) {
            Ok(result) => result,
            Err(_) => {
                slot.poisoned = true;
                Err(Failure::new(
                    emv_error::EMV_ERROR_PANIC,
                    "internal error in the transaction (a panic was caught)",
                ))
            }
        }
    })
}

/// What the transaction needs now (`emv_request.kind`).
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum emv_request_kind {
    /// Send `apdu` to the card; answer with `emv_on_response` (or
    /// `emv_on_transport_error`).
    EMV_REQUEST_TRANSMIT = 0,
    /// The cardholder confirms (`confirm_only`) or chooses one of
    /// `candidate_count` applications (`emv_candidate`); answer with
    /// `emv_on_application_chosen`.
    EMV_REQUEST_CHOOSE_APPLICATION = 1,
    /// Ask for a PIN of `pin_kind`; answer with `emv_on_pin`.
    EMV_REQUEST_ENTER_PIN = 2,
    /// Look up the terminal's log for the last approved amount of the card
    /// `pan` (split sales, Book 3, 10.6.1); answer with
    /// `emv_on_recent_amount` (0 without a log).
    EMV_REQUEST_RECENT_AMOUNT = 3,
    /// Send an authorisation request with `icc_data` (field 55); answer with
    /// `emv_on_host`.
    EMV_REQUEST_GO_ONLINE = 4,
    /// The transaction is over: read `emv_outcome`.
    EMV_REQUEST_DONE = 5,
    /// The issuer referred the transaction (`authorisation_response_code`
    /// "01" or "02", Book 4, 6.5.2): show CALL YOUR BANK to the attendant,
    /// who calls the issuer; answer with `emv_on_referral`.
    EMV_REQUEST_ISSUER_REFERRAL = 6,
}

/// Which PIN is asked for.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum emv_pin_kind {
    /// Verified by the card in plaintext.
    EMV_PIN_OFFLINE_PLAINTEXT = 0,
    /// Verified by the card, enciphered with its key.
    EMV_PIN_OFFLINE_ENCIPHERED = 1,
    /// Verified by the issuer: the terminal captures and enciphers it.
    EMV_PIN_ONLINE = 2,
}

/// The pending request, filled by `emv_request`. Only the fields of `kind`
/// are set; the others are zero (NULL, 0, false, -1 for the signed ones).
/// The pointers point into the transaction and stay valid until the next
/// call that answers it or frees it.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct emv_request {
    /// What is needed.
    pub kind: emv_request_kind,
    /// TRANSMIT: the command APDU.
    pub apdu: *const u8,
    /// TRANSMIT: its length.
    pub apdu_len: usize,
    /// CHOOSE_APPLICATION: how many candidates `emv_candidate` reads.
    pub candidate_count: usize,
    /// CHOOSE_APPLICATION: only the first candidate is offered, to confirm.
    pub confirm_only: bool,
    /// ENTER_PIN: which PIN.
    pub pin_kind: emv_pin_kind,
    /// ENTER_PIN: tries left when known (PIN Try Counter), else -1.
    pub pin_tries_left: i32,
    /// RECENT_AMOUNT: the Application PAN (5A) as the card gave it (BCD,
    /// F-padded), to look up the log with. Never print or log it.
    pub pan: *const u8,
    /// RECENT_AMOUNT: its length.
    pub pan_len: usize,
    /// RECENT_AMOUNT: the PAN Sequence Number (5F34), or -1 when absent.
    pub pan_sequence_number: i32,
    /// GO_ONLINE: the ICC data (BER-TLV) for the authorisation request.
    pub icc_data: *const u8,
    /// GO_ONLINE: its length.
    pub icc_data_len: usize,
    /// ISSUER_REFERRAL: the issuer's Authorisation Response Code, two ASCII
    /// characters and a NUL.
    pub authorisation_response_code: [c_char; 3],
}

impl emv_request {
    fn empty(kind: emv_request_kind) -> Self {
        emv_request {
            kind,
            apdu: std::ptr::null(),
            apdu_len: 0,
            candidate_count: 0,
            confirm_only: false,
            pin_kind: emv_pin_kind::EMV_PIN_OFFLINE_PLAINTEXT,
            pin_tries_left: -1,
            pan: std::ptr::null(),
            pan_len: 0,
            pan_sequence_number: -1,
            icc_data: std::ptr::null(),
            icc_data_len: 0,
            authorisation_response_code: [0; 3],
        }
    }

    fn from_kernel(request: Request<'_>) -> Self {
        match request {
            Request::Transmit(apdu) => emv_request {
                apdu: apdu.as_ptr(),
                apdu_len: apdu.len(),
                ..Self::empty(emv_request_kind::EMV_REQUEST_TRANSMIT)
            },
            Request::ChooseApplication {
                candidates,
                confirm_only,
            } => emv_request {
                candidate_count: candidates.len(),
                confirm_only,
                ..Self::empty(emv_request_kind::EMV_REQUEST_CHOOSE_APPLICATION)
            },
            Request::EnterPin { kind, tries_left } => emv_request {
                pin_kind: match kind {
                    PinKind::OfflinePlaintext => emv_pin_kind::EMV_PIN_OFFLINE_PLAINTEXT,
                    PinKind::OfflineEnciphered => emv_pin_kind::EMV_PIN_OFFLINE_ENCIPHERED,
                    PinKind::Online => emv_pin_kind::EMV_PIN_ONLINE,
                },
                pin_tries_left: tries_left.map_or(-1, i32::from),
                ..Self::empty(emv_request_kind::EMV_REQUEST_ENTER_PIN)
            },
            Request::RecentAmount {
                pan,
                pan_sequence_number,
            } => emv_request {
                pan: pan.as_ptr(),
                pan_len: pan.len(),
                pan_sequence_number: pan_sequence_number.map_or(-1, i32::from),
                ..Self::empty(emv_request_kind::EMV_REQUEST_RECENT_AMOUNT)
            },
            Request::GoOnline(icc_data) => emv_request {
                icc_data: icc_data.as_ptr(),
                icc_data_len: icc_data.len(),
                ..Self::empty(emv_request_kind::EMV_REQUEST_GO_ONLINE)
            },
            Request::IssuerReferral {
                authorisation_response_code,
            } => {
                let mut request = Self::empty(emv_request_kind::EMV_REQUEST_ISSUER_REFERRAL);
                util::copy_c_text(
                    &mut request.authorisation_response_code,
                    &authorisation_response_code,
                );
                request
            }
            Request::Done(_) => Self::empty(emv_request_kind::EMV_REQUEST_DONE),
        }
    }
}

/// Fills `out` with what the transaction needs now. Calling it again
/// without answering gives the same request.
///
/// # Safety
/// `transaction` must be a live transaction no other thread uses; `out`
/// must be writable.
#[no_mangle]
pub unsafe extern "C" fn emv_request(
    transaction: *mut emv_transaction,
    out: *mut emv_request,
) -> emv_error {
    // SAFETY: the caller's contract for `transaction`.
    unsafe {
        with_transaction(transaction, |transaction| {
            // SAFETY: the caller's contract for `out`.
            let out = util::out(out, "out")?;
            *out = emv_request::from_kernel(transaction.request());
            Ok(())
        })
    }
}

/// One application the cardholder may choose (`emv_candidate`).
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct emv_candidate {
    /// The AID (ADF name) as the card gave it.
    pub aid: [u8; EMV_MAX_AID_BYTES],
    /// How many bytes of `aid` are used.
    pub aid_len: usize,
    /// Application Label (50), NUL-terminated; empty when absent.
    pub label: [c_char; 17],
    /// Application Preferred Name (9F12), NUL-terminated; empty when absent.
    pub preferred_name: [c_char; 17],
    /// Application Priority Indicator (87), 0 when absent.
    pub priority: u8,
    /// The card asks for cardholder confirmation (87 b8).
    pub requires_confirmation: bool,
}

/// Reads candidate `index` (0 to `candidate_count - 1`, in priority order)
/// of an `EMV_REQUEST_CHOOSE_APPLICATION` request.
///
/// # Safety
/// `transaction` must be a live transaction no other thread uses; `out`
/// must be writable.
#[no_mangle]
pub unsafe extern "C" fn emv_candidate(
    transaction: *mut emv_transaction,
    index: usize,
    out: *mut emv_candidate,
) -> emv_error {
    // SAFETY: the caller's contract for `transaction`.
    unsafe {
        with_transaction(transaction, |transaction| {
            // SAFETY: the caller's contract for `out`.
            let out = util::out(out, "out")?;
            let Request::ChooseApplication { candidates, .. } = transaction.request() else {
                return Err(Failure::new(
                    emv_error::EMV_ERROR_NOT_EXPECTED,
                    "no application choice is pending",
                ));
            };
            let candidate = candidates.get(index).ok_or_else(|| {
                Failure::invalid(format!(
                    "candidate index {index}, there are {}",
                    candidates.len()
                ))
            })?;
            let mut c = emv_candidate {
                aid: [0; EMV_MAX_AID_BYTES],
                aid_len: 0,
                label: [0; 17],
                preferred_name: [0; 17],
                priority: candidate.priority,
                requires_confirmation: candidate.requires_confirmation(),
            };
            c.aid_len = util::copy_bytes(&mut c.aid, &candidate.aid);
            util::copy_c_text(&mut c.label, &candidate.label);
            util::copy_c_text(&mut c.preferred_name, &candidate.preferred_name);
            *out = c;
            Ok(())
        })
    }
}

/// Gives the card's response (data and SW1 SW2) to the pending
/// `EMV_REQUEST_TRANSMIT`. Any bytes are accepted: a card that answers
/// nonsense ends the transaction with a defined outcome.
///
/// # Safety
/// `transaction` must be a live transaction no other thread uses;
/// `response` must point to `response_len` readable bytes.
#[no_mangle]
pub unsafe extern "C" fn emv_on_response(
    transaction: *mut emv_transaction,
    response: *const u8,
    response_len: usize,
) -> emv_error {
    // SAFETY: the caller's contract for `transaction`.
    unsafe {
        with_transaction(transaction, |transaction| {
            // SAFETY: the caller's contract for `response`.
            let response = util::bytes(response, response_len, "response")?;
            Ok(transaction.on_response(response)?)
        })
    }
}

/// The exchange with the card failed (card removed, reader error): the
/// transaction ends as terminated (`transport_failed`). Accepted at any
/// point; after the end it changes nothing.
///
/// # Safety
/// `transaction` must be a live transaction no other thread uses.
#[no_mangle]
pub unsafe extern "C" fn emv_on_transport_error(transaction: *mut emv_transaction) -> emv_error {
    // SAFETY: the caller's contract for `transaction`.
    unsafe {
        with_transaction(transaction, |transaction| {
            transaction.on_transport_error();
            Ok(())
        })
    }
}

/// The cardholder's choice for `EMV_REQUEST_CHOOSE_APPLICATION`: a
/// candidate index (0 to confirm the only one), or -1 to cancel.
///
/// # Safety
/// `transaction` must be a live transaction no other thread uses.
#[no_mangle]
pub unsafe extern "C" fn emv_on_application_chosen(
    transaction: *mut emv_transaction,
    index: i32,
) -> emv_error {
    // SAFETY: the caller's contract for `transaction`.
    unsafe {
        with_transaction(transaction, |transaction| {
            let Request::ChooseApplication { candidates, .. } = transaction.request() else {
                return Err(UsageErrorNotExpected.into());
            };
            let choice = match index {
                -1 => None,
                index => match usize::try_from(index) {
                    Ok(index) if index < candidates.len() => Some(index),
                    _ => {
                        return Err(Failure::invalid(format!(
                            "index {index}: expected -1 (cancel) or 0 to {}",
                            candidates.len().saturating_sub(1)
                        )))
                    }
                },
            };
            Ok(transaction.on_application_chosen(choice)?)
        })
    }
}

/// `emv_error::EMV_ERROR_NOT_EXPECTED` with the kernel's wording.
struct UsageErrorNotExpected;

impl From<UsageErrorNotExpected> for Failure {
    fn from(_: UsageErrorNotExpected) -> Failure {
        emv_kernel::transaction::UsageError::NotExpected.into()
    }
}

/// How the cardholder answered a PIN request (`emv_on_pin`).
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum emv_pin_entry {
    /// The PIN digits follow (4 to 12, values 0-9 or ASCII '0'-'9').
    EMV_PIN_ENTRY_DIGITS = 0,
    /// Online PIN: the terminal captured and enciphered it itself.
    EMV_PIN_ENTRY_ONLINE_CAPTURED = 1,
    /// The cardholder or attendant bypassed PIN entry.
    EMV_PIN_ENTRY_BYPASSED = 2,
    /// The PIN pad is absent or not working.
    EMV_PIN_ENTRY_PIN_PAD_NOT_WORKING = 3,
}

/// The answer to `EMV_REQUEST_ENTER_PIN`: `entry` is an `emv_pin_entry`
/// value; with `EMV_PIN_ENTRY_DIGITS`, `digits` holds `digits_len` digits
/// (else both may be NULL and 0). The library keeps no copy of the digits
/// beyond building the PIN block, and wipes that; wipe your own buffer.
///
/// # Safety
/// `transaction` must be a live transaction no other thread uses; `digits`
/// must point to `digits_len` readable bytes (or be NULL with 0).
#[no_mangle]
pub unsafe extern "C" fn emv_on_pin(
    transaction: *mut emv_transaction,
    entry: i32,
    digits: *const u8,
    digits_len: usize,
) -> emv_error {
    // SAFETY: the caller's contract for `transaction`.
    unsafe {
        with_transaction(transaction, |transaction| {
            let entry = match entry {
                0 => {
                    // SAFETY: the caller's contract for `digits`.
                    PinEntry::Digits(util::bytes(digits, digits_len, "digits")?)
                }
                1 => PinEntry::OnlineCaptured,
                2 => PinEntry::Bypassed,
                3 => PinEntry::PinPadNotWorking,
                other => {
                    return Err(Failure::invalid(format!(
                        "entry {other} is no emv_pin_entry (0 to 3)"
                    )))
                }
            };
            Ok(transaction.on_pin(entry)?)
        })
    }
}

/// The answer to `EMV_REQUEST_RECENT_AMOUNT`: the Amount, Authorised of
/// the card's most recent approved transaction in the terminal's log, minor
/// units; 0 when there is none or no log.
///
/// # Safety
/// `transaction` must be a live transaction no other thread uses.
#[no_mangle]
pub unsafe extern "C" fn emv_on_recent_amount(
    transaction: *mut emv_transaction,
    amount: u64,
) -> emv_error {
    // SAFETY: the caller's contract for `transaction`.
    unsafe {
        with_transaction(transaction, |transaction| {
            Ok(transaction.on_recent_amount(amount)?)
        })
    }
}

/// The answer to `EMV_REQUEST_ISSUER_REFERRAL`: the attendant's voice
/// referral (Book 4, 6.5.2), `approved` true to ask the card for a TC,
/// false for an AAC.
///
/// # Safety
/// `transaction` must be a live transaction no other thread uses.
#[no_mangle]
pub unsafe extern "C" fn emv_on_referral(
    transaction: *mut emv_transaction,
    approved: bool,
) -> emv_error {
    // SAFETY: the caller's contract for `transaction`.
    unsafe {
        with_transaction(transaction, |transaction| {
            Ok(transaction.on_referral(approved)?)
        })
    }
}

/// Forced acceptance (Book 4, 6.5.4): once the transaction is done and the
/// card declined it (an AAC), the attendant accepts it all the same; the
/// outcome's `forced_acceptance` is then set (its decision stays
/// DECLINED). `EMV_ERROR_FORCED_ACCEPTANCE_NOT_ALLOWED` on an unattended
/// terminal or when the card did not decline; `EMV_ERROR_NOT_EXPECTED`
/// before the end.
///
/// # Safety
/// `transaction` must be a live transaction no other thread uses.
#[no_mangle]
pub unsafe extern "C" fn emv_force_acceptance(transaction: *mut emv_transaction) -> emv_error {
    // SAFETY: the caller's contract for `transaction`.
    unsafe {
        with_transaction(transaction, |transaction| {
            Ok(transaction.force_acceptance()?)
        })
    }
}

/// The issuer's answer to an authorisation request (`emv_on_host`).
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct emv_host_response {
    /// The issuer (or its stand-in) answered at all; false: unreachable,
    /// and the other fields are ignored.
    pub reachable: bool,
    /// The issuer approved.
    pub approved: bool,
    /// Authorisation Response Code (8A), two ASCII characters ("00").
    pub authorisation_response_code: [u8; 2],
    /// Issuer Authentication Data (91) value, or NULL when not sent.
    pub issuer_authentication_data: *const u8,
    /// Its length.
    pub issuer_authentication_data_len: usize,
    /// Issuer scripts (templates 71 and 72 as received), or NULL.
    pub scripts: *const u8,
    /// Their length.
    pub scripts_len: usize,
}

/// The answer to `EMV_REQUEST_GO_ONLINE`. The response's buffers are read
/// during the call only.
///
/// # Safety
/// `transaction` must be a live transaction no other thread uses;
/// `response` must point to an initialised `emv_host_response` whose
/// pointers point to their lengths of readable bytes (or are NULL).
#[no_mangle]
pub unsafe extern "C" fn emv_on_host(
    transaction: *mut emv_transaction,
    response: *const emv_host_response,
) -> emv_error {
    // SAFETY: the caller's contract for `transaction`.
    unsafe {
        with_transaction(transaction, |transaction| {
            // SAFETY: the caller's contract for `response` and its buffers.
            let response = util::input(response, "response")?;
            let issuer_authentication_data = if response.issuer_authentication_data.is_null() {
                None
            } else {
                // SAFETY: as above.
                Some(util::bytes(
                    response.issuer_authentication_data,
                    response.issuer_authentication_data_len,
                    "issuer_authentication_data",
                )?)
            };
            // SAFETY: as above.
            let scripts = util::bytes(response.scripts, response.scripts_len, "scripts")?;
            let answer = if response.reachable {
                HostResponse {
                    reachable: true,
                    approved: response.approved,
                    authorisation_response_code: response.authorisation_response_code,
                    issuer_authentication_data,
                    scripts,
                }
            } else {
                HostResponse::UNREACHABLE
            };
            Ok(transaction.on_host(answer)?)
        })
    }
}

/// The transaction's end decision.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum emv_decision {
    /// The card produced a TC.
    EMV_DECISION_APPROVED = 0,
    /// The card produced an AAC, or the terminal overrode its cryptogram.
    EMV_DECISION_DECLINED = 1,
    /// The transaction ended before a decision (`termination_reason`).
    EMV_DECISION_TERMINATED = 2,
}

/// The type of the last cryptogram the card produced.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum emv_cryptogram_type {
    /// No GENERATE AC was answered.
    EMV_CRYPTOGRAM_NONE = 0,
    /// Application Authentication Cryptogram (decline).
    EMV_CRYPTOGRAM_AAC = 1,
    /// Transaction Certificate (approval).
    EMV_CRYPTOGRAM_TC = 2,
    /// Authorisation Request Cryptogram (online).
    EMV_CRYPTOGRAM_ARQC = 3,
}

/// Which offline data authentication was selected.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum emv_oda_method {
    /// No method card and terminal share.
    EMV_ODA_METHOD_NONE = 0,
    /// Static Data Authentication.
    EMV_ODA_METHOD_SDA = 1,
    /// Dynamic Data Authentication.
    EMV_ODA_METHOD_DDA = 2,
    /// Combined DDA / Application Cryptogram Generation.
    EMV_ODA_METHOD_CDA = 3,
    /// Extended Data Authentication (EMV 4.4, elliptic curves).
    EMV_ODA_METHOD_XDA = 4,
}

/// The result of offline data authentication.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum emv_oda_result {
    /// Not performed.
    EMV_ODA_NOT_PERFORMED = 0,
    /// Performed and successful.
    EMV_ODA_SUCCEEDED = 1,
    /// Performed and failed (`oda_failure` says which check).
    EMV_ODA_FAILED = 2,
}

/// The transaction's result (`emv_outcome`). Text fields are
/// NUL-terminated and empty when they do not apply.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct emv_outcome {
    /// Approved, declined or terminated.
    pub decision: emv_decision,
    /// The type of the last cryptogram.
    pub cryptogram_type: emv_cryptogram_type,
    /// `cryptogram` holds the Application Cryptogram (9F26).
    pub has_cryptogram: bool,
    /// Application Cryptogram (9F26) of the last GENERATE AC.
    pub cryptogram: [u8; 8],
    /// `atc` holds the Application Transaction Counter.
    pub has_atc: bool,
    /// Application Transaction Counter (9F36).
    pub atc: [u8; 2],
    /// Terminal Verification Results (95) at the end.
    pub tvr: [u8; 5],
    /// Transaction Status Information (9B) at the end.
    pub tsi: [u8; 2],
    /// Cardholder Verification Method Results (9F34).
    pub cvm_results: [u8; 3],
    /// The issuer was asked and answered.
    pub online: bool,
    /// Authorisation Response Code (8A): "Y1", "Z1", "Y3", "Z3" or the
    /// host's; empty when none.
    pub authorisation_response_code: [c_char; 3],
    /// The selected application's AID (84); `aid_len` 0 before selection.
    pub aid: [u8; EMV_MAX_AID_BYTES],
    /// How many bytes of `aid` are used.
    pub aid_len: usize,
    /// Application Preferred Name (9F12) or Label (50), for the receipt.
    pub application_label: [c_char; 17],
    /// The PAN with all but the first 6 and last 4 digits as '*', for
    /// receipts and logs (the full PAN is never in the outcome).
    pub masked_pan: [c_char; 20],
    /// The ODA method selected.
    pub oda_method: emv_oda_method,
    /// The ODA result.
    pub oda_result: emv_oda_result,
    /// Why ODA failed, a stable code (`issuer_certificate.expired`,
    /// `missing.9F46`, ...); empty unless it failed.
    pub oda_failure: [c_char; 48],
    /// The receipt needs a signature line.
    pub signature_required: bool,
    /// The card asked for an advice message (CID b4 of its last GENERATE AC).
    pub advice_required: bool,
    /// The issuer approved and the card declined at the second GENERATE AC:
    /// the approval the host holds must be reversed.
    pub reversal_required: bool,
    /// TERMINATED: why, a stable snake_case code (`card_blocked`,
    /// `no_application`, `card_error`, `transport_failed`, ...).
    pub termination_reason: [c_char; 32],
    /// TERMINATED: the reason in words.
    pub termination_message: [c_char; 128],
    /// TERMINATED with `card_error`: the command's INS byte.
    pub card_error_instruction: u8,
    /// TERMINATED with `card_error`: the status word the card returned.
    pub card_error_status: u16,
    /// Length of the ICC data for clearing (ISO 8583 field 55), copied to
    /// the caller's buffer.
    pub icc_data_len: usize,
    /// The issuer referred the transaction (Book 4, 6.5.2).
    pub referred: bool,
    /// REFERRED: the voice referral approved (else declined).
    pub referral_approved: bool,
    /// The attendant forced acceptance of this card-declined transaction
    /// (Book 4, 6.5.4; `emv_force_acceptance`).
    pub forced_acceptance: bool,
}

/// Reads the outcome of a finished transaction into `out` and copies the
/// ICC data for clearing (field 55, BER-TLV) into `icc_data`
/// (`icc_data_capacity` bytes; NULL with 0 to ask only for the length).
/// Returns `EMV_ERROR_NOT_FINISHED` before `EMV_REQUEST_DONE`, and
/// `EMV_ERROR_BUFFER_TOO_SMALL` when the ICC data does not fit: `out` is
/// filled all the same and `out->icc_data_len` says how many bytes are
/// needed (at most `EMV_MAX_ICC_DATA_BYTES`).
///
/// # Safety
/// `transaction` must be a live transaction no other thread uses; `out`
/// must be writable; `icc_data` must point to `icc_data_capacity` writable
/// bytes (or be NULL with 0).
#[no_mangle]
pub unsafe extern "C" fn emv_outcome(
    transaction: *mut emv_transaction,
    out: *mut emv_outcome,
    icc_data: *mut u8,
    icc_data_capacity: usize,
) -> emv_error {
    // SAFETY: the caller's contract for `transaction`.
    unsafe {
        with_transaction(transaction, |transaction| {
            // SAFETY: the caller's contract for `out` and `icc_data`.
            let (out, buffer) = (
                util::out(out, "out")?,
                util::bytes_mut(icc_data, icc_data_capacity, "icc_data")?,
            );
            let outcome = transaction.outcome().ok_or_else(|| {
                Failure::new(
                    emv_error::EMV_ERROR_NOT_FINISHED,
                    format!(
                        "the transaction is at {}: answer emv_request until EMV_REQUEST_DONE",
                        transaction.step()
                    ),
                )
            })?;
            *out = outcome_to_c(outcome);
            let clearing = outcome.clearing_data.as_slice();
            if clearing.len() > buffer.len() {
                return Err(Failure::new(
                    emv_error::EMV_ERROR_BUFFER_TOO_SMALL,
                    format!(
                        "icc_data_capacity is {}, the ICC data has {} bytes",
                        buffer.len(),
                        clearing.len()
                    ),
                ));
            }
            buffer[..clearing.len()].copy_from_slice(clearing);
            Ok(())
        })
    }
}

fn outcome_to_c(outcome: &emv_kernel::outcome::Outcome) -> emv_outcome {
    let mut out = emv_outcome {
        decision: match outcome.decision {
            Decision::Approved => emv_decision::EMV_DECISION_APPROVED,
            Decision::Declined => emv_decision::EMV_DECISION_DECLINED,
            Decision::Terminated(_) => emv_decision::EMV_DECISION_TERMINATED,
        },
        cryptogram_type: match outcome.cryptogram_type {
            None => emv_cryptogram_type::EMV_CRYPTOGRAM_NONE,
            Some(CryptogramType::Aac) => emv_cryptogram_type::EMV_CRYPTOGRAM_AAC,
            Some(CryptogramType::Tc) => emv_cryptogram_type::EMV_CRYPTOGRAM_TC,
            Some(CryptogramType::Arqc) => emv_cryptogram_type::EMV_CRYPTOGRAM_ARQC,
        },
        has_cryptogram: outcome.cryptogram.is_some(),
        cryptogram: outcome.cryptogram.unwrap_or_default(),
        has_atc: outcome.atc.is_some(),
        atc: outcome.atc.unwrap_or_default(),
        tvr: outcome.tvr.bytes(),
        tsi: outcome.tsi.bytes(),
        cvm_results: outcome.cvm_results.bytes(),
        online: outcome.online,
        authorisation_response_code: [0; 3],
        aid: [0; EMV_MAX_AID_BYTES],
        aid_len: 0,
        application_label: [0; 17],
        masked_pan: [0; 20],
        oda_method: match outcome.oda_method {
            OdaMethod::None => emv_oda_method::EMV_ODA_METHOD_NONE,
            OdaMethod::Sda => emv_oda_method::EMV_ODA_METHOD_SDA,
            OdaMethod::Dda => emv_oda_method::EMV_ODA_METHOD_DDA,
            OdaMethod::Cda => emv_oda_method::EMV_ODA_METHOD_CDA,
            OdaMethod::Xda => emv_oda_method::EMV_ODA_METHOD_XDA,
        },
        oda_result: match outcome.oda_result {
            OdaResult::NotPerformed => emv_oda_result::EMV_ODA_NOT_PERFORMED,
            OdaResult::Succeeded => emv_oda_result::EMV_ODA_SUCCEEDED,
            OdaResult::Failed => emv_oda_result::EMV_ODA_FAILED,
        },
        oda_failure: [0; 48],
        signature_required: outcome.signature_required,
        advice_required: outcome.advice_required,
        reversal_required: outcome.reversal_required,
        termination_reason: [0; 32],
        termination_message: [0; 128],
        card_error_instruction: 0,
        card_error_status: 0,
        icc_data_len: outcome.clearing_data.len(),
        referred: outcome.referral.is_some(),
        referral_approved: outcome.referral == Some(ReferralDecision::Approved),
        forced_acceptance: outcome.forced_acceptance,
    };
    if let Some(code) = outcome.authorisation_response_code {
        util::copy_c_text(&mut out.authorisation_response_code, &code);
    }
    out.aid_len = util::copy_bytes(&mut out.aid, &outcome.aid);
    util::copy_c_text(&mut out.application_label, &outcome.application_label);
    util::copy_c_text(&mut out.masked_pan, &outcome.masked_pan);
    if let Some(failure) = outcome.oda_failure {
        util::copy_c_text(&mut out.oda_failure, failure.code().to_string().as_bytes());
    }
    if let Decision::Terminated(reason) = outcome.decision {
        util::copy_c_text(&mut out.termination_reason, reason.code().as_bytes());
        util::copy_c_text(&mut out.termination_message, reason.to_string().as_bytes());
        if let TerminationReason::CardError {
            instruction,
            status,
        } = reason
        {
            out.card_error_instruction = instruction;
            out.card_error_status = status;
        }
    }
    out
}

/// Copies the transaction's current step, after Book 3 ("read application
/// data", "first GENERATE AC", ...), into `buffer` as NUL-terminated text,
/// for logs; it holds no card data. `EMV_ERROR_BUFFER_TOO_SMALL` when
/// `buffer_size` (64 is enough) cannot hold it: the text is cut to fit.
///
/// # Safety
/// `transaction` must be a live transaction no other thread uses; `buffer`
/// must point to `buffer_size` writable bytes.
#[no_mangle]
pub unsafe extern "C" fn emv_transaction_step(
    transaction: *mut emv_transaction,
    buffer: *mut c_char,
    buffer_size: usize,
) -> emv_error {
    // SAFETY: the caller's contract for `transaction`.
    unsafe {
        with_transaction(transaction, |transaction| {
            // SAFETY: the caller's contract for `buffer`.
            let buffer = util::bytes_mut(buffer.cast(), buffer_size, "buffer")?;
            let step = transaction.step().as_bytes();
            let room = buffer.len().saturating_sub(1);
            let count = step.len().min(room);
            buffer.fill(0);
            buffer[..count].copy_from_slice(&step[..count]);
            if step.len() > room {
                return Err(Failure::new(
                    emv_error::EMV_ERROR_BUFFER_TOO_SMALL,
                    format!(
                        "buffer_size is {}, the step needs {}",
                        buffer.len(),
                        step.len() + 1
                    ),
                ));
            }
            Ok(())
        })
    }
}

/// A message for the cardholder or the attendant (Book 4, 11.2), filled by
/// `emv_next_message`.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct emv_message {
    /// A message was waiting; false: none, the other fields are empty.
    pub available: bool,
    /// The Book 4, 11.2 identifier (0x01 to 0x13), or -1 for a message
    /// without one (LAST PIN TRY).
    pub id: i32,
    /// A stable snake_case code ("enter_pin"), NUL-terminated.
    pub code: [c_char; 24],
    /// The text in the transaction's language (UTF-8), NUL-terminated.
    pub text: [c_char; 64],
    /// The language of `text`: two ISO 639-1 letters and a NUL.
    pub language: [c_char; 3],
}

/// Takes the oldest message the kernel emitted and not yet read into `out`
/// (`out->available` false when there is none). Read them after every
/// answer: the kernel emits them at the moments Book 4 names (ENTER PIN,
/// INCORRECT PIN, PLEASE WAIT, APPROVED, REMOVE CARD, ...) and keeps the
/// last 8.
///
/// # Safety
/// `transaction` must be a live transaction no other thread uses; `out`
/// must be writable.
#[no_mangle]
pub unsafe extern "C" fn emv_next_message(
    transaction: *mut emv_transaction,
    out: *mut emv_message,
) -> emv_error {
    // SAFETY: the caller's contract for `transaction`.
    unsafe {
        with_transaction(transaction, |transaction| {
            // SAFETY: the caller's contract for `out`.
            let out = util::out(out, "out")?;
            let mut message = emv_message {
                available: false,
                id: -1,
                code: [0; 24],
                text: [0; 64],
                language: [0; 3],
            };
            let language = transaction.language();
            util::copy_c_text(&mut message.language, &language.0);
            if let Some(next) = transaction.next_message() {
                message.available = true;
                message.id = next.standard_id().map_or(-1, i32::from);
                util::copy_c_text(&mut message.code, next.code().as_bytes());
                util::copy_c_text(&mut message.text, next.text(language).as_bytes());
            }
            *out = message;
            Ok(())
        })
    }
}
