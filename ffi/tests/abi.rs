//! The C ABI called as C would call it: whole transactions in caller and
//! library memory, NULL pointers, answers in the wrong state, undersized
//! buffers, objects freed while in use, and hostile card responses, none of
//! which may panic across the boundary or leave a transaction undefined.

use std::ffi::CStr;
use std::ptr::{null, null_mut};

use emv_kernel_ffi::*;
use emv_test_cards::card::Card;
use emv_test_cards::pki::CAPK_TXT;
use emv_test_cards::profiles;

use emv_error::*;

/// A 12.50 purchase on 2026-03-14 10:30:00, every input given.
fn inputs() -> emv_transaction_inputs {
    emv_transaction_inputs {
        amount_authorised: 1250,
        amount_other: 0,
        transaction_type: 0x00,
        currency_code: [0x09, 0x78],
        currency_exponent: 2,
        date: [0x26, 0x03, 0x14],
        time: [0x10, 0x30, 0x00],
        unpredictable_number: [0x5A, 0x17, 0xC3, 0x02],
        random_selection_number: 42,
        transaction_sequence_counter: 7,
        merchant_forced_online: false,
    }
}

fn detail() -> String {
    // SAFETY: the library returns a NUL-terminated string, never NULL.
    unsafe { CStr::from_ptr(emv_last_error_detail()) }
        .to_string_lossy()
        .into_owned()
}

/// The default configuration and the test CA keys.
struct Terminal {
    config: *mut emv_config,
    keys: *mut emv_ca_keys,
}

impl Terminal {
    fn new() -> Terminal {
        let mut config = null_mut();
        let mut keys = null_mut();
        // SAFETY: valid out pointers; the text is CAPK_TXT's bytes.
        unsafe {
            assert_eq!(emv_config_default(&mut config), EMV_OK);
            assert_eq!(emv_ca_keys_new(&mut keys), EMV_OK);
            let mut loaded = 0;
            assert_eq!(
                emv_ca_keys_load_capk_txt(
                    keys,
                    CAPK_TXT.as_ptr().cast(),
                    CAPK_TXT.len(),
                    &mut loaded
                ),
                EMV_OK,
                "{}",
                detail()
            );
            assert!(loaded > 0);
        }
        Terminal { config, keys }
    }

    fn transaction(&self) -> *mut emv_transaction {
        let mut tx = null_mut();
        // SAFETY: live handles, valid inputs and out pointer.
        assert_eq!(
            unsafe { emv_transaction_new(self.config, self.keys, &inputs(), &mut tx) },
            EMV_OK,
            "{}",
            detail()
        );
        tx
    }
}

impl Drop for Terminal {
    fn drop(&mut self) {
        // SAFETY: live handles made in `new`, freed once.
        unsafe {
            assert_eq!(emv_ca_keys_free(self.keys), EMV_OK, "{}", detail());
            assert_eq!(emv_config_free(self.config), EMV_OK, "{}", detail());
        }
    }
}

fn request(tx: *mut emv_transaction) -> emv_request {
    // SAFETY: all-zero is a valid emv_request (kind 0, NULL pointers).
    let mut req: emv_request = unsafe { std::mem::zeroed() };
    // SAFETY: live transaction, valid out pointer.
    assert_eq!(unsafe { emv_request(tx, &mut req) }, EMV_OK, "{}", detail());
    req
}

/// Answers every request: the card through `exchange`, the first
/// application, PIN bypassed, no log, no host. Returns the exchanges made.
fn drive(tx: *mut emv_transaction, mut exchange: impl FnMut(&[u8]) -> Vec<u8>) -> usize {
    let mut exchanges = 0;
    for _ in 0..2000 {
        let req = request(tx);
        // SAFETY: live transaction; buffers valid for their lengths.
        let error = unsafe {
            match req.kind {
                emv_request_kind::EMV_REQUEST_DONE => return exchanges,
                emv_request_kind::EMV_REQUEST_TRANSMIT => {
                    let command = std::slice::from_raw_parts(req.apdu, req.apdu_len);
                    let response = exchange(command);
                    exchanges += 1;
                    emv_on_response(tx, response.as_ptr(), response.len())
                }
                emv_request_kind::EMV_REQUEST_CHOOSE_APPLICATION => {
                    emv_on_application_chosen(tx, 0)
                }
                emv_request_kind::EMV_REQUEST_ENTER_PIN => {
                    emv_on_pin(tx, emv_pin_entry::EMV_PIN_ENTRY_BYPASSED as i32, null(), 0)
                }
                emv_request_kind::EMV_REQUEST_RECENT_AMOUNT => emv_on_recent_amount(tx, 0),
                emv_request_kind::EMV_REQUEST_GO_ONLINE => {
                    let unreachable = emv_host_response {
                        reachable: false,
                        approved: false,
                        authorisation_response_code: [0; 2],
                        issuer_authentication_data: null(),
                        issuer_authentication_data_len: 0,
                        scripts: null(),
                        scripts_len: 0,
                    };
                    emv_on_host(tx, &unreachable)
                }
                emv_request_kind::EMV_REQUEST_ISSUER_REFERRAL => emv_on_referral(tx, false),
            }
        };
        assert_eq!(error, EMV_OK, "{}", detail());
    }
    panic!("the transaction did not finish in 2000 requests");
}

fn outcome(tx: *mut emv_transaction) -> (emv_outcome, Vec<u8>) {
    // SAFETY: all-zero is a valid emv_outcome.
    let mut out: emv_outcome = unsafe { std::mem::zeroed() };
    let mut icc = vec![0u8; 512];
    // SAFETY: live transaction, valid out pointer and buffer.
    let error = unsafe { emv_outcome(tx, &mut out, icc.as_mut_ptr(), icc.len()) };
    assert_eq!(error, EMV_OK, "{}", detail());
    icc.truncate(out.icc_data_len);
    (out, icc)
}

fn text(chars: &[std::ffi::c_char]) -> String {
    let bytes: Vec<u8> = chars
        .iter()
        .take_while(|c| **c != 0)
        .map(|c| *c as u8)
        .collect();
    String::from_utf8_lossy(&bytes).into_owned()
}

fn cda_card() -> Card {
    profiles::find("cda").expect("cda profile").card()
}

#[test]
fn an_offline_cda_purchase_is_approved_with_a_tc_in_library_memory() {
    let terminal = Terminal::new();
    let tx = terminal.transaction();
    let mut card = cda_card();
    drive(tx, |command| card.process(command));
    let (out, icc) = outcome(tx);
    assert_eq!(out.decision, emv_decision::EMV_DECISION_APPROVED);
    assert_eq!(out.cryptogram_type, emv_cryptogram_type::EMV_CRYPTOGRAM_TC);
    assert!(out.has_cryptogram && out.has_atc);
    assert_eq!(out.oda_method, emv_oda_method::EMV_ODA_METHOD_CDA);
    assert_eq!(out.oda_result, emv_oda_result::EMV_ODA_SUCCEEDED);
    assert_eq!(text(&out.authorisation_response_code), "Y1");
    assert_eq!(text(&out.termination_reason), "");
    let masked = text(&out.masked_pan);
    assert!(masked.contains("******"), "{masked}");
    // Field 55 starts with the cryptogram (9F26).
    assert_eq!(&icc[..3], &[0x9F, 0x26, 0x08]);
    assert_eq!(&icc[3..11], &out.cryptogram);
    // SAFETY: live transaction, freed once.
    assert_eq!(unsafe { emv_transaction_free(tx) }, EMV_OK);
}

#[test]
fn a_transaction_runs_in_caller_memory() {
    let terminal = Terminal::new();
    let size = emv_transaction_size();
    let align = emv_transaction_align();
    assert!(
        align <= 16 && size < 16 * 1024,
        "size {size}, align {align}"
    );
    // u128 elements give 16-byte alignment.
    let mut memory = vec![0u128; size.div_ceil(16)];
    let mut tx = null_mut();
    // SAFETY: the memory is large enough and aligned; handles are live.
    let error = unsafe {
        emv_transaction_init(
            memory.as_mut_ptr().cast(),
            memory.len() * 16,
            terminal.config,
            terminal.keys,
            &inputs(),
            &mut tx,
        )
    };
    assert_eq!(error, EMV_OK, "{}", detail());
    assert_eq!(tx.cast::<u128>(), memory.as_mut_ptr());
    let mut card = cda_card();
    drive(tx, |command| card.process(command));
    assert_eq!(outcome(tx).0.decision, emv_decision::EMV_DECISION_APPROVED);
    // SAFETY: live transaction, freed once; the memory stays ours.
    assert_eq!(unsafe { emv_transaction_free(tx) }, EMV_OK);
    // A freed transaction is refused, not used.
    // SAFETY: the memory is still valid; its tag was cleared.
    assert_eq!(
        unsafe { emv_on_transport_error(tx) },
        EMV_ERROR_INVALID_HANDLE
    );
}

#[test]
fn caller_memory_that_is_too_small_or_misaligned_is_refused() {
    let terminal = Terminal::new();
    let size = emv_transaction_size();
    let mut memory = vec![0u128; size.div_ceil(16) + 1];
    let mut tx = null_mut();
    // SAFETY: every call gets memory at least as large as it is told.
    unsafe {
        let base = memory.as_mut_ptr().cast::<u8>();
        let error = emv_transaction_init(
            base.cast(),
            size - 1,
            terminal.config,
            terminal.keys,
            &inputs(),
            &mut tx,
        );
        assert_eq!(error, EMV_ERROR_BUFFER_TOO_SMALL);
        assert!(detail().contains(&size.to_string()), "{}", detail());
        assert!(tx.is_null());
        if emv_transaction_align() > 1 {
            let error = emv_transaction_init(
                base.add(1).cast(),
                size,
                terminal.config,
                terminal.keys,
                &inputs(),
                &mut tx,
            );
            assert_eq!(error, EMV_ERROR_MISALIGNED);
        }
        let error = emv_transaction_init(
            null_mut(),
            size,
            terminal.config,
            terminal.keys,
            &inputs(),
            &mut tx,
        );
        assert_eq!(error, EMV_ERROR_NULL_POINTER);
    }
}

#[test]
fn null_pointers_are_refused() {
    let terminal = Terminal::new();
    let tx = terminal.transaction();
    // SAFETY: every pointer is NULL or valid; NULL is what is tested.
    unsafe {
        assert_eq!(emv_config_default(null_mut()), EMV_ERROR_NULL_POINTER);
        assert_eq!(
            emv_config_from_toml(null(), 3, &mut null_mut()),
            EMV_ERROR_NULL_POINTER
        );
        assert_eq!(emv_ca_keys_new(null_mut()), EMV_ERROR_NULL_POINTER);
        assert_eq!(
            emv_transaction_new(null(), terminal.keys, &inputs(), &mut null_mut()),
            EMV_ERROR_NULL_POINTER
        );
        assert_eq!(
            emv_transaction_new(terminal.config, null(), &inputs(), &mut null_mut()),
            EMV_ERROR_NULL_POINTER
        );
        assert_eq!(
            emv_transaction_new(terminal.config, terminal.keys, null(), &mut null_mut()),
            EMV_ERROR_NULL_POINTER
        );
        assert_eq!(
            emv_transaction_new(terminal.config, terminal.keys, &inputs(), null_mut()),
            EMV_ERROR_NULL_POINTER
        );
        assert_eq!(
            emv_request(null_mut(), &mut std::mem::zeroed()),
            EMV_ERROR_NULL_POINTER
        );
        assert_eq!(emv_request(tx, null_mut()), EMV_ERROR_NULL_POINTER);
        assert_eq!(emv_on_response(tx, null(), 2), EMV_ERROR_NULL_POINTER);
        assert_eq!(
            emv_on_response(null_mut(), [0x90, 0x00].as_ptr(), 2),
            EMV_ERROR_NULL_POINTER
        );
        assert_eq!(emv_on_host(tx, null()), EMV_ERROR_NULL_POINTER);
        assert_eq!(
            emv_outcome(tx, null_mut(), null_mut(), 0),
            EMV_ERROR_NULL_POINTER
        );
        assert_eq!(
            emv_ca_keys_add(
                terminal.keys,
                null(),
                1,
                null(),
                0,
                null(),
                0,
                null(),
                null()
            ),
            EMV_ERROR_NULL_POINTER
        );
        assert!(detail().contains("rid is NULL"), "{}", detail());
        // Freeing NULL is a no-op, as free(NULL) is.
        assert_eq!(emv_transaction_free(null_mut()), EMV_OK);
        assert_eq!(emv_config_free(null_mut()), EMV_OK);
        assert_eq!(emv_ca_keys_free(null_mut()), EMV_OK);
        // The transaction still works after all that.
        assert_eq!(request(tx).kind, emv_request_kind::EMV_REQUEST_TRANSMIT);
        assert_eq!(emv_transaction_free(tx), EMV_OK);
    }
}

#[test]
fn answers_in_the_wrong_state_are_refused_and_change_nothing() {
    let terminal = Terminal::new();
    let tx = terminal.transaction();
    let before = request(tx);
    assert_eq!(before.kind, emv_request_kind::EMV_REQUEST_TRANSMIT);
    let host = emv_host_response {
        reachable: true,
        approved: true,
        authorisation_response_code: *b"00",
        issuer_authentication_data: null(),
        issuer_authentication_data_len: 0,
        scripts: null(),
        scripts_len: 0,
    };
    // SAFETY: live transaction, valid buffers.
    unsafe {
        assert_eq!(
            emv_on_pin(tx, 0, b"1234".as_ptr(), 4),
            EMV_ERROR_NOT_EXPECTED
        );
        assert_eq!(emv_on_host(tx, &host), EMV_ERROR_NOT_EXPECTED);
        assert_eq!(emv_on_recent_amount(tx, 0), EMV_ERROR_NOT_EXPECTED);
        assert_eq!(emv_on_application_chosen(tx, 0), EMV_ERROR_NOT_EXPECTED);
        assert_eq!(
            emv_candidate(tx, 0, &mut std::mem::zeroed()),
            EMV_ERROR_NOT_EXPECTED
        );
        let mut out = std::mem::zeroed();
        assert_eq!(
            emv_outcome(tx, &mut out, null_mut(), 0),
            EMV_ERROR_NOT_FINISHED
        );
        assert!(detail().contains("EMV_REQUEST_DONE"), "{}", detail());
        assert_eq!(emv_on_pin(tx, 7, null(), 0), EMV_ERROR_INVALID_ARGUMENT);
    }
    let after = request(tx);
    assert_eq!(after.kind, before.kind);
    // SAFETY: both requests point into the live transaction.
    unsafe {
        assert_eq!(
            std::slice::from_raw_parts(after.apdu, after.apdu_len),
            std::slice::from_raw_parts(before.apdu, before.apdu_len)
        );
    }
    // After the end, more card answers are refused too.
    let mut card = cda_card();
    drive(tx, |command| card.process(command));
    // SAFETY: live transaction.
    unsafe {
        assert_eq!(
            emv_on_response(tx, [0x90, 0x00].as_ptr(), 2),
            EMV_ERROR_NOT_EXPECTED
        );
        assert_eq!(emv_transaction_free(tx), EMV_OK);
    }
}

#[test]
fn invalid_inputs_are_refused_with_their_code() {
    let terminal = Terminal::new();
    let mut tx = null_mut();
    let mut bad_date = inputs();
    bad_date.date = [0x26, 0x13, 0x01];
    let mut bad_random = inputs();
    bad_random.random_selection_number = 0;
    // SAFETY: live handles, valid pointers.
    unsafe {
        assert_eq!(
            emv_transaction_new(terminal.config, terminal.keys, &bad_date, &mut tx),
            EMV_ERROR_INVALID_DATE
        );
        assert_eq!(
            emv_transaction_new(terminal.config, terminal.keys, &bad_random, &mut tx),
            EMV_ERROR_RANDOM_SELECTION
        );
        assert!(tx.is_null());
    }
}

#[test]
fn the_outcome_reports_the_icc_data_length_when_the_buffer_is_too_small() {
    let terminal = Terminal::new();
    let tx = terminal.transaction();
    let mut card = cda_card();
    drive(tx, |command| card.process(command));
    // SAFETY: live transaction; the buffer is 10 bytes as told.
    unsafe {
        let mut out: emv_outcome = std::mem::zeroed();
        let mut small = [0u8; 10];
        assert_eq!(
            emv_outcome(tx, &mut out, small.as_mut_ptr(), small.len()),
            EMV_ERROR_BUFFER_TOO_SMALL
        );
        assert!(out.icc_data_len > 10);
        assert_eq!(out.decision, emv_decision::EMV_DECISION_APPROVED);
        assert_eq!(
            small, [0; 10],
            "nothing is copied into a buffer that is too small"
        );
        let mut exact = vec![0u8; out.icc_data_len];
        assert_eq!(
            emv_outcome(tx, &mut out, exact.as_mut_ptr(), exact.len()),
            EMV_OK
        );
        let mut step = [0 as std::ffi::c_char; 4];
        assert_eq!(
            emv_transaction_step(tx, step.as_mut_ptr(), step.len()),
            EMV_ERROR_BUFFER_TOO_SMALL
        );
        assert_eq!(text(&step), "com");
        let mut step = [0 as std::ffi::c_char; 64];
        assert_eq!(
            emv_transaction_step(tx, step.as_mut_ptr(), step.len()),
            EMV_OK
        );
        assert_eq!(text(&step), "completion");
        assert_eq!(emv_transaction_free(tx), EMV_OK);
    }
}

#[test]
fn configuration_and_keys_cannot_be_freed_or_changed_while_a_transaction_uses_them() {
    let terminal = Terminal::new();
    let tx = terminal.transaction();
    // SAFETY: live handles; the frees are refused while tx lives.
    unsafe {
        assert_eq!(emv_config_free(terminal.config), EMV_ERROR_IN_USE);
        assert_eq!(emv_ca_keys_free(terminal.keys), EMV_ERROR_IN_USE);
        assert_eq!(
            emv_config_clear_applications(terminal.config),
            EMV_ERROR_IN_USE
        );
        let text = CAPK_TXT;
        assert_eq!(
            emv_ca_keys_load_capk_txt(terminal.keys, text.as_ptr().cast(), text.len(), null_mut()),
            EMV_ERROR_IN_USE
        );
        assert_eq!(emv_transaction_free(tx), EMV_OK);
        assert_eq!(emv_config_clear_applications(terminal.config), EMV_OK);
        let mut count = 99;
        assert_eq!(
            emv_config_application_count(terminal.config, &mut count),
            EMV_OK
        );
        assert_eq!(count, 0);
    }
    // Terminal's Drop frees both: they are unused again.
}

#[test]
fn a_handle_of_another_kind_is_refused() {
    let terminal = Terminal::new();
    let mut count = 0;
    // SAFETY: a configuration passed where keys are expected: the tag
    // check reads inside the configuration's allocation, which is larger.
    let error = unsafe { emv_ca_keys_count(terminal.config.cast(), &mut count) };
    assert_eq!(error, EMV_ERROR_INVALID_HANDLE);
}

#[test]
fn configuration_text_errors_name_the_key() {
    let mut config = null_mut();
    let toml = "[[application]]\naid = \"A0000009991010\"\ntac_online = \"DC4084F8\"\n";
    // SAFETY: valid text and out pointer.
    unsafe {
        assert_eq!(
            emv_config_from_toml(toml.as_ptr().cast(), toml.len(), &mut config),
            EMV_ERROR_CONFIG
        );
        assert!(
            detail().contains("application[1].tac_online"),
            "{}",
            detail()
        );
        assert!(config.is_null());
        let not_utf8 = [0xFFu8, 0xFE];
        assert_eq!(
            emv_config_from_toml(not_utf8.as_ptr().cast(), 2, &mut config),
            EMV_ERROR_INVALID_ARGUMENT
        );
        let good = "[terminal]\nterminal_id = \"T1\"\n";
        assert_eq!(
            emv_config_from_toml(good.as_ptr().cast(), good.len(), &mut config),
            EMV_OK,
            "{}",
            detail()
        );
        let mut code = [0u8; 2];
        let mut exponent = 0;
        assert_eq!(
            emv_config_currency(config, code.as_mut_ptr(), &mut exponent),
            EMV_OK
        );
        assert_eq!((code, exponent), ([0x09, 0x78], 2));
        assert_eq!(emv_config_free(config), EMV_OK);
    }
}

#[test]
fn applications_are_added_from_c_structs() {
    let mut config = null_mut();
    let aid = [0xA0, 0x00, 0x00, 0x09, 0x99, 0x10, 0x10];
    // SAFETY: valid pointers.
    unsafe {
        assert_eq!(emv_config_default(&mut config), EMV_OK);
        let mut app = std::mem::zeroed();
        assert_eq!(
            emv_application_config_default(aid.as_ptr(), 4, &mut app),
            EMV_ERROR_INVALID_ARGUMENT
        );
        assert_eq!(
            emv_application_config_default(aid.as_ptr(), aid.len(), &mut app),
            EMV_OK
        );
        assert_eq!(app.floor_limit, 10_000);
        assert_eq!(app.default_ddol_len, 3);
        assert_eq!(emv_config_clear_applications(config), EMV_OK);
        app.floor_limit = 500;
        assert_eq!(emv_config_add_application(config, &app), EMV_OK);
        // The same AID replaces the entry.
        assert_eq!(emv_config_add_application(config, &app), EMV_OK);
        let mut count = 0;
        assert_eq!(emv_config_application_count(config, &mut count), EMV_OK);
        assert_eq!(count, 1);
        app.aid_len = 17;
        assert_eq!(
            emv_config_add_application(config, &app),
            EMV_ERROR_INVALID_ARGUMENT
        );
        app.aid_len = aid.len();
        app.random_selection_target_percentage = 120;
        assert_eq!(
            emv_config_add_application(config, &app),
            EMV_ERROR_RANDOM_SELECTION
        );
        for last in 0..EMV_MAX_APPLICATIONS as u8 {
            app.random_selection_target_percentage = 0;
            app.aid[6] = last;
            let error = emv_config_add_application(config, &app);
            assert_eq!(
                error,
                if last < 15 {
                    EMV_OK
                } else {
                    EMV_ERROR_CAPACITY
                },
                "{last}"
            );
        }
        assert_eq!(emv_config_free(config), EMV_OK);
    }
}

#[test]
fn ca_keys_load_from_capk_txt_and_one_at_a_time() {
    let pki = emv_test_cards::pki::TestPki::get();
    let ca = pki.ca(1).expect("test CA 01");
    let modulus = ca.modulus.clone();
    let rid = emv_test_cards::pki::TEST_RID;
    let mut keys = null_mut();
    // SAFETY: valid pointers and lengths.
    unsafe {
        assert_eq!(emv_ca_keys_new(&mut keys), EMV_OK);
        let bad = "a0:00:00:09:99 01 491231 rsa 03 00:11 sha1 00:00\n";
        assert_eq!(
            emv_ca_keys_load_capk_txt(keys, bad.as_ptr().cast(), bad.len(), null_mut()),
            EMV_ERROR_CA_KEY
        );
        assert!(detail().contains("line 1"), "{}", detail());
        let wrong_checksum = [0u8; 20];
        let exponent = [0x03];
        let expiry = [0x49, 0x12, 0x31];
        assert_eq!(
            emv_ca_keys_add(
                keys,
                rid.as_ptr(),
                0x01,
                modulus.as_ptr(),
                modulus.len(),
                exponent.as_ptr(),
                1,
                expiry.as_ptr(),
                wrong_checksum.as_ptr()
            ),
            EMV_ERROR_CA_KEY
        );
        assert_eq!(
            emv_ca_keys_add(
                keys,
                rid.as_ptr(),
                0x01,
                modulus.as_ptr(),
                modulus.len(),
                exponent.as_ptr(),
                1,
                null(),
                null()
            ),
            EMV_OK,
            "{}",
            detail()
        );
        let bad_expiry = [0x49, 0x13, 0x31];
        assert_eq!(
            emv_ca_keys_add(
                keys,
                rid.as_ptr(),
                0x01,
                modulus.as_ptr(),
                modulus.len(),
                exponent.as_ptr(),
                1,
                bad_expiry.as_ptr(),
                null()
            ),
            EMV_ERROR_INVALID_ARGUMENT
        );
        let mut count = 0;
        assert_eq!(emv_ca_keys_count(keys, &mut count), EMV_OK);
        assert_eq!(count, 1);
        let mut loaded = 0;
        assert_eq!(
            emv_ca_keys_load_capk_txt(keys, CAPK_TXT.as_ptr().cast(), CAPK_TXT.len(), &mut loaded),
            EMV_OK
        );
        assert_eq!(emv_ca_keys_count(keys, &mut count), EMV_OK);
        assert_eq!(
            count, loaded,
            "the file's key 01 replaced the one added by hand"
        );
        assert_eq!(emv_ca_keys_free(keys), EMV_OK);
    }
}

#[test]
fn a_key_store_is_made_from_capk_txt_in_one_call() {
    let mut keys = null_mut();
    let mut loaded = 0;
    // SAFETY: valid text, out pointers.
    unsafe {
        let error = emv_ca_keys_from_capk_txt(
            CAPK_TXT.as_ptr().cast(),
            CAPK_TXT.len(),
            &mut keys,
            &mut loaded,
        );
        assert_eq!(error, EMV_OK, "{}", detail());
        assert!(loaded > 0);
        assert_eq!(emv_ca_keys_free(keys), EMV_OK);
        let broken = CAPK_TXT.replacen(
            "a0:00:00:09:99 01 491231 rsa",
            "a0:00:00:09:99 01 491231 dsa",
            1,
        );
        assert_ne!(broken, CAPK_TXT);
        let error =
            emv_ca_keys_from_capk_txt(broken.as_ptr().cast(), broken.len(), &mut keys, null_mut());
        assert_eq!(error, EMV_ERROR_CA_KEY);
        assert!(keys.is_null());
        assert!(detail().starts_with("capk.txt line "), "{}", detail());
    }
}

#[test]
fn every_error_code_has_a_message() {
    for code in 0..=16 {
        // SAFETY: the library returns static NUL-terminated strings.
        let message = unsafe { CStr::from_ptr(emv_error_message(code)) };
        assert!(!message.to_bytes().is_empty());
        assert_ne!(message.to_bytes(), b"unknown error code", "{code}");
    }
    // SAFETY: as above.
    let unknown = unsafe { CStr::from_ptr(emv_error_message(-3)) };
    assert_eq!(unknown.to_bytes(), b"unknown error code");
}

/// A small deterministic generator, so every run feeds the same bytes.
struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// The card's real answer, spoiled at one exchange: bytes flipped, cut,
/// extended, replaced by noise, or an empty or one-byte answer.
fn spoil(random: &mut XorShift, mut response: Vec<u8>) -> Vec<u8> {
    match random.below(6) {
        0 if !response.is_empty() => {
            for _ in 0..1 + random.below(4) {
                let at = random.below(response.len() as u64) as usize;
                response[at] ^= 1 << random.below(8);
            }
            response
        }
        1 => {
            let keep = random.below(response.len() as u64 + 1) as usize;
            response.truncate(keep);
            response
        }
        2 => {
            let extra = 1 + random.below(300) as usize;
            response.splice(0..0, (0..extra).map(|_| random.next() as u8));
            response
        }
        3 => {
            let len = random.below(300) as usize;
            let mut noise: Vec<u8> = (0..len).map(|_| random.next() as u8).collect();
            noise.extend_from_slice(&[0x90, 0x00]);
            noise
        }
        4 => Vec::new(),
        _ => vec![random.next() as u8],
    }
}

#[test]
fn hostile_card_responses_never_panic_and_always_end_in_an_outcome() {
    let terminal = Terminal::new();
    let mut random = XorShift(0x9E37_79B9_7F4A_7C15);
    for profile in ["cda", "dda", "sda", "card-online"] {
        let profile = profiles::find(profile).expect("profile");
        for round in 0..60 {
            let tx = terminal.transaction();
            let mut card = profile.card();
            let spoiled_at = random.below(14) as usize;
            let mut index = 0;
            drive(tx, |command| {
                let answer = card.process(command);
                index += 1;
                if index - 1 == spoiled_at || random.below(20) == 0 {
                    spoil(&mut random, answer)
                } else {
                    answer
                }
            });
            let (out, _) = outcome(tx);
            if out.decision == emv_decision::EMV_DECISION_APPROVED {
                assert_eq!(
                    out.cryptogram_type,
                    emv_cryptogram_type::EMV_CRYPTOGRAM_TC,
                    "{} round {round}",
                    profile.name
                );
            }
            // SAFETY: live transaction, freed once.
            assert_eq!(unsafe { emv_transaction_free(tx) }, EMV_OK);
        }
    }
}

#[test]
fn a_transport_error_terminates_the_transaction() {
    let terminal = Terminal::new();
    let tx = terminal.transaction();
    // SAFETY: live transaction.
    unsafe {
        assert_eq!(emv_on_transport_error(tx), EMV_OK);
    }
    assert_eq!(request(tx).kind, emv_request_kind::EMV_REQUEST_DONE);
    let (out, icc) = outcome(tx);
    assert_eq!(out.decision, emv_decision::EMV_DECISION_TERMINATED);
    assert_eq!(text(&out.termination_reason), "transport_failed");
    assert!(text(&out.termination_message).contains("card removed"));
    assert!(icc.is_empty());
    // SAFETY: live transaction, freed once.
    assert_eq!(unsafe { emv_transaction_free(tx) }, EMV_OK);
}

/// Runs `card` until the transaction asks for something other than the
/// card, and returns that request.
fn until_terminal_request(tx: *mut emv_transaction, card: &mut Card) -> emv_request {
    for _ in 0..100 {
        let req = request(tx);
        if req.kind != emv_request_kind::EMV_REQUEST_TRANSMIT {
            return req;
        }
        // SAFETY: the request's APDU points into the live transaction.
        let command = unsafe { std::slice::from_raw_parts(req.apdu, req.apdu_len) };
        let response = card.process(command);
        // SAFETY: live transaction, the response's own buffer.
        let error = unsafe { emv_on_response(tx, response.as_ptr(), response.len()) };
        assert_eq!(error, EMV_OK, "{}", detail());
    }
    panic!("the card kept the transaction busy");
}

#[test]
fn an_offline_pin_is_asked_for_checked_and_verified() {
    let terminal = Terminal::new();
    let tx = terminal.transaction();
    let mut card = profiles::find("cvm-offline-pin").expect("profile").card();
    let req = until_terminal_request(tx, &mut card);
    assert_eq!(req.kind, emv_request_kind::EMV_REQUEST_ENTER_PIN);
    assert_eq!(req.pin_kind, emv_pin_kind::EMV_PIN_OFFLINE_PLAINTEXT);
    let entry = emv_pin_entry::EMV_PIN_ENTRY_DIGITS as i32;
    // SAFETY: live transaction; the digits' buffers are as long as told.
    unsafe {
        assert_eq!(
            emv_on_pin(tx, entry, b"123".as_ptr(), 3),
            EMV_ERROR_INVALID_PIN
        );
        assert_eq!(
            emv_on_pin(tx, entry, b"12a4".as_ptr(), 4),
            EMV_ERROR_INVALID_PIN
        );
        assert_eq!(emv_on_pin(tx, entry, null(), 4), EMV_ERROR_NULL_POINTER);
        assert_eq!(request(tx).kind, emv_request_kind::EMV_REQUEST_ENTER_PIN);
        assert_eq!(
            emv_on_pin(tx, entry, b"1234".as_ptr(), 4),
            EMV_OK,
            "{}",
            detail()
        );
    }
    drive(tx, |command| card.process(command));
    let (out, _) = outcome(tx);
    assert_eq!(out.decision, emv_decision::EMV_DECISION_APPROVED);
    assert_eq!(out.cvm_results, [0x01, 0x00, 0x02]);
    // SAFETY: live transaction, freed once.
    assert_eq!(unsafe { emv_transaction_free(tx) }, EMV_OK);
}

#[test]
fn the_cardholder_chooses_among_candidates_or_cancels() {
    let terminal = Terminal::new();
    let profile = profiles::find("multi-app-pse").expect("profile");
    for choice in [1, -1] {
        let tx = terminal.transaction();
        let mut card = profile.card();
        let req = until_terminal_request(tx, &mut card);
        assert_eq!(req.kind, emv_request_kind::EMV_REQUEST_CHOOSE_APPLICATION);
        assert_eq!(req.candidate_count, 3);
        // SAFETY: live transaction, valid out pointers.
        unsafe {
            let mut candidate: emv_candidate = std::mem::zeroed();
            assert_eq!(emv_candidate(tx, 0, &mut candidate), EMV_OK);
            assert_eq!(text(&candidate.label), "TEST DEBIT");
            assert!(candidate.requires_confirmation);
            assert_eq!(
                emv_candidate(tx, 3, &mut candidate),
                EMV_ERROR_INVALID_ARGUMENT
            );
            assert_eq!(emv_on_application_chosen(tx, 3), EMV_ERROR_INVALID_ARGUMENT);
            assert_eq!(
                emv_on_application_chosen(tx, -2),
                EMV_ERROR_INVALID_ARGUMENT
            );
            assert_eq!(
                emv_on_application_chosen(tx, choice),
                EMV_OK,
                "{}",
                detail()
            );
        }
        drive(tx, |command| card.process(command));
        let (out, _) = outcome(tx);
        if choice == -1 {
            assert_eq!(out.decision, emv_decision::EMV_DECISION_TERMINATED);
            assert_eq!(text(&out.termination_reason), "cancelled");
        } else {
            assert_eq!(out.decision, emv_decision::EMV_DECISION_APPROVED);
            assert_eq!(text(&out.application_label), "TEST CREDIT");
        }
        // SAFETY: live transaction, freed once.
        assert_eq!(unsafe { emv_transaction_free(tx) }, EMV_OK);
    }
}

#[test]
fn going_online_hands_over_the_icc_data_and_takes_the_host_answer() {
    let terminal = Terminal::new();
    let tx = terminal.transaction();
    let mut card = profiles::find("card-online").expect("profile").card();
    let mut req = until_terminal_request(tx, &mut card);
    if req.kind == emv_request_kind::EMV_REQUEST_RECENT_AMOUNT {
        assert!(!req.pan.is_null() && req.pan_len > 0);
        // SAFETY: live transaction.
        assert_eq!(unsafe { emv_on_recent_amount(tx, 0) }, EMV_OK);
        req = until_terminal_request(tx, &mut card);
    }
    assert_eq!(req.kind, emv_request_kind::EMV_REQUEST_GO_ONLINE);
    // SAFETY: the ICC data points into the live transaction.
    let icc = unsafe { std::slice::from_raw_parts(req.icc_data, req.icc_data_len) };
    assert_eq!(
        &icc[..3],
        &[0x9F, 0x26, 0x08],
        "field 55 starts with the ARQC"
    );
    let unreachable = emv_host_response {
        reachable: false,
        approved: false,
        authorisation_response_code: [0; 2],
        issuer_authentication_data: null(),
        issuer_authentication_data_len: 0,
        scripts: null(),
        scripts_len: 0,
    };
    // SAFETY: live transaction, a valid response.
    assert_eq!(
        unsafe { emv_on_host(tx, &unreachable) },
        EMV_OK,
        "{}",
        detail()
    );
    drive(tx, |command| card.process(command));
    let (out, _) = outcome(tx);
    assert!(!out.online);
    assert_ne!(out.decision, emv_decision::EMV_DECISION_TERMINATED);
    // Not approved by an issuer, so nothing to reverse; no advice asked.
    assert!(!out.reversal_required && !out.advice_required);
    // SAFETY: live transaction, freed once.
    assert_eq!(unsafe { emv_transaction_free(tx) }, EMV_OK);
}

/// ICS row 100: the kernel's version and build checksum, as the kernel
/// crate states them.
#[test]
fn kernel_identification() {
    use std::ffi::CStr;
    // SAFETY: both return static NUL-terminated strings.
    let version = unsafe { CStr::from_ptr(emv_kernel_ffi::emv_kernel_version()) };
    let checksum = unsafe { CStr::from_ptr(emv_kernel_ffi::emv_kernel_checksum()) };
    assert_eq!(version.to_str().unwrap(), emv_kernel::identity::VERSION);
    assert_eq!(checksum.to_str().unwrap(), emv_kernel::identity::CHECKSUM);
    assert_eq!(checksum.to_bytes().len(), 64);
    assert!(checksum.to_bytes().iter().all(u8::is_ascii_hexdigit));
}

/// Book 4, 6.5.2 and 6.5.4 through the C ABI: an issuer referral is asked
/// as `EMV_REQUEST_ISSUER_REFERRAL` with the ARC, answered with
/// `emv_on_referral`, and reported in the outcome; a card decline can then
/// be accepted with `emv_force_acceptance`, which is refused before the end
/// and after an approval.
#[test]
fn a_referral_and_a_forced_acceptance_through_the_c_abi() {
    let terminal = Terminal::new();
    let tx = terminal.transaction();
    let mut card = profiles::find("issuer-scripts").expect("profile").card();
    // SAFETY: live transaction.
    assert_eq!(unsafe { emv_force_acceptance(tx) }, EMV_ERROR_NOT_EXPECTED);
    let mut referred_with = String::new();
    for _ in 0..200 {
        let req = request(tx);
        // SAFETY: live transaction; buffers valid for their lengths.
        let error = unsafe {
            match req.kind {
                emv_request_kind::EMV_REQUEST_DONE => break,
                emv_request_kind::EMV_REQUEST_TRANSMIT => {
                    let command = std::slice::from_raw_parts(req.apdu, req.apdu_len);
                    let response = card.process(command);
                    emv_on_response(tx, response.as_ptr(), response.len())
                }
                emv_request_kind::EMV_REQUEST_GO_ONLINE => {
                    let referral = emv_host_response {
                        reachable: true,
                        approved: false,
                        authorisation_response_code: *b"01",
                        issuer_authentication_data: null(),
                        issuer_authentication_data_len: 0,
                        scripts: null(),
                        scripts_len: 0,
                    };
                    emv_on_host(tx, &referral)
                }
                emv_request_kind::EMV_REQUEST_ISSUER_REFERRAL => {
                    referred_with = text(&req.authorisation_response_code);
                    emv_on_referral(tx, false)
                }
                emv_request_kind::EMV_REQUEST_RECENT_AMOUNT => emv_on_recent_amount(tx, 0),
                emv_request_kind::EMV_REQUEST_CHOOSE_APPLICATION => {
                    emv_on_application_chosen(tx, 0)
                }
                emv_request_kind::EMV_REQUEST_ENTER_PIN => {
                    emv_on_pin(tx, emv_pin_entry::EMV_PIN_ENTRY_BYPASSED as i32, null(), 0)
                }
            }
        };
        assert_eq!(error, EMV_OK, "{}", detail());
    }
    assert_eq!(referred_with, "01");
    let (out, _) = outcome(tx);
    assert_eq!(out.decision, emv_decision::EMV_DECISION_DECLINED);
    assert!(out.referred && !out.referral_approved);
    assert!(!out.forced_acceptance);
    // SAFETY: live transaction.
    assert_eq!(unsafe { emv_force_acceptance(tx) }, EMV_OK, "{}", detail());
    let (out, _) = outcome(tx);
    assert!(out.forced_acceptance);
    assert_eq!(out.decision, emv_decision::EMV_DECISION_DECLINED);
    // SAFETY: live transaction, freed once.
    assert_eq!(unsafe { emv_transaction_free(tx) }, EMV_OK);

    let tx = terminal.transaction();
    let mut card = cda_card();
    drive(tx, |command| card.process(command));
    // SAFETY: live transaction.
    assert_eq!(
        unsafe { emv_force_acceptance(tx) },
        EMV_ERROR_FORCED_ACCEPTANCE_NOT_ALLOWED
    );
    // SAFETY: live transaction, freed once.
    assert_eq!(unsafe { emv_transaction_free(tx) }, EMV_OK);
}

/// Book 4, 11.2 through the C ABI: the messages of an offline CDA approval
/// (APPROVED, REMOVE CARD) with their identifiers, in the language the card
/// prefers (`en` with the default terminal), then none.
#[test]
fn messages_are_read_one_at_a_time() {
    let terminal = Terminal::new();
    let tx = terminal.transaction();
    let mut card = cda_card();
    drive(tx, |command| card.process(command));
    let mut read = Vec::new();
    loop {
        // SAFETY: all-zero is a valid emv_message.
        let mut message: emv_message = unsafe { std::mem::zeroed() };
        // SAFETY: live transaction, valid out pointer.
        assert_eq!(unsafe { emv_next_message(tx, &mut message) }, EMV_OK);
        assert_eq!(text(&message.language), "en");
        if !message.available {
            assert_eq!(message.id, -1);
            break;
        }
        read.push((message.id, text(&message.code), text(&message.text)));
    }
    assert_eq!(
        read,
        [
            (0x03, "approved".to_owned(), "APPROVED".to_owned()),
            (0x10, "remove_card".to_owned(), "REMOVE CARD".to_owned())
        ]
    );
    // SAFETY: live transaction, freed once.
    assert_eq!(unsafe { emv_transaction_free(tx) }, EMV_OK);
}
