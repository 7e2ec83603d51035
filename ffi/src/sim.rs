//! Feature `simulated-cards`: the simulated cards and the test CA keys of
//! `emv-test-cards`, to run transactions without a reader. Not for a
//! terminal's build: the test PKI is public.

use std::ffi::c_char;

use emv_test_cards::card::Card;
use emv_test_cards::{pki, profiles};

use crate::error::{emv_error, guard, Failure};
use crate::keys::emv_ca_keys;
use crate::util::{self, Handle};
use crate::Crypto;

/// A simulated card (opaque) of one of the `emv-test-cards` profiles
/// (`emv-terminal card list`), freshly personalised.
pub struct emv_sim_card {
    magic: u64,
    card: Card,
}

impl Handle for emv_sim_card {
    const MAGIC: u64 = 0x454D_5653_4943_4152; // "EMVSICAR"
    const NAME: &'static str = "emv_sim_card";
    fn magic(&self) -> u64 {
        self.magic
    }
}

/// Makes a simulated card of the profile named `profile` (NUL-terminated:
/// "cda", "sda", "dda", "cvm-offline-pin", ...; see `emv-terminal card
/// list`). `EMV_ERROR_UNKNOWN_PROFILE` for another name.
///
/// # Safety
/// `profile` must be a NUL-terminated string; `out` writable.
#[no_mangle]
pub unsafe extern "C" fn emv_sim_card_new(
    profile: *const c_char,
    out: *mut *mut emv_sim_card,
) -> emv_error {
    guard(|| {
        // SAFETY: the caller's contract for each pointer.
        let (name, out) = unsafe { (util::c_str(profile, "profile")?, util::out(out, "out")?) };
        *out = std::ptr::null_mut();
        let profile = profiles::find(name).ok_or_else(|| {
            Failure::new(
                emv_error::EMV_ERROR_UNKNOWN_PROFILE,
                format!("no profile named {name:?}; see `emv-terminal card list`"),
            )
        })?;
        let mut card = profile.card();
        card.reset();
        *out = Box::into_raw(Box::new(emv_sim_card {
            magic: emv_sim_card::MAGIC,
            card,
        }));
        Ok(())
    })
}

/// Sends one command APDU (`command_len` bytes) to the card and copies its
/// response (data and SW1 SW2) into `response` (`response_capacity` bytes;
/// 258 suffice for a well-behaved card, a hostile profile may answer more);
/// `*response_len` receives its length. With too
/// small a buffer returns `EMV_ERROR_BUFFER_TOO_SMALL` with the needed
/// length in `*response_len` (the command was processed: resend it only
/// after a reset).
///
/// # Safety
/// `card` must be a live card no other thread uses; `command` must point
/// to `command_len` readable bytes, `response` to `response_capacity`
/// writable ones, `response_len` be writable.
#[no_mangle]
pub unsafe extern "C" fn emv_sim_card_transmit(
    card: *mut emv_sim_card,
    command: *const u8,
    command_len: usize,
    response: *mut u8,
    response_capacity: usize,
    response_len: *mut usize,
) -> emv_error {
    guard(|| {
        // SAFETY: the caller's contract for each pointer.
        let (card, command, buffer, length) = unsafe {
            (
                util::handle_mut(card)?,
                util::bytes(command, command_len, "command")?,
                util::bytes_mut(response, response_capacity, "response")?,
                util::out(response_len, "response_len")?,
            )
        };
        let answer = card.card.process(command);
        *length = answer.len();
        if answer.len() > buffer.len() {
            return Err(Failure::new(
                emv_error::EMV_ERROR_BUFFER_TOO_SMALL,
                format!(
                    "response_capacity is {}, the response has {} bytes",
                    buffer.len(),
                    answer.len()
                ),
            ));
        }
        buffer[..answer.len()].copy_from_slice(&answer);
        Ok(())
    })
}

/// Resets the card (a new session; its counters persist).
///
/// # Safety
/// `card` must be a live card no other thread uses.
#[no_mangle]
pub unsafe extern "C" fn emv_sim_card_reset(card: *mut emv_sim_card) -> emv_error {
    guard(|| {
        // SAFETY: the caller's contract for `card`.
        let card = unsafe { util::handle_mut(card) }?;
        card.card.reset();
        Ok(())
    })
}

/// Frees a simulated card. NULL is accepted and ignored.
///
/// # Safety
/// `card` must be NULL or a card from this library, not freed.
#[no_mangle]
pub unsafe extern "C" fn emv_sim_card_free(card: *mut emv_sim_card) -> emv_error {
    guard(|| {
        if card.is_null() {
            return Ok(());
        }
        // SAFETY: the caller's contract for `card`.
        let object = unsafe { util::handle_mut(card) }?;
        object.magic = 0;
        // SAFETY: made by Box::into_raw in emv_sim_card_new; the caller
        // gives it up.
        drop(unsafe { Box::from_raw(card) });
        Ok(())
    })
}

/// Makes a key store holding the test PKI's CA keys
/// (`test-cards/keys/capk.txt`), which the simulated cards' certificates
/// chain to. Free it with `emv_ca_keys_free`.
///
/// # Safety
/// `out` must be writable.
#[no_mangle]
pub unsafe extern "C" fn emv_test_ca_keys(out: *mut *mut emv_ca_keys) -> emv_error {
    guard(|| {
        // SAFETY: the caller's contract for `out`.
        let out = unsafe { util::out(out, "out") }?;
        *out = std::ptr::null_mut();
        let (store, _notices) = ::emv_config::load_ca_keys(&Crypto::default(), pki::CAPK_TXT, None)
            .map_err(|error| Failure::new(emv_error::EMV_ERROR_CA_KEY, error.to_string()))?;
        *out = Box::into_raw(emv_ca_keys::from_store(store));
        Ok(())
    })
}
