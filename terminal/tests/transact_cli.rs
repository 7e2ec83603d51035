//! `emv-terminal transact` run as a process against the simulated test cards
//! (test-cards/src/profiles.rs), with its JSON parsed. Each test names the
//! card profile, the terminal configuration (the built-in one unless said),
//! the expected outcome and the TVR/TSI bits that show why.
//!
//! The hidden options `--unpredictable-number`, `--random-number`, `--date`
//! and `--time` make every run reproducible.

use std::path::Path;
use std::process::{Command, Stdio};

use emv_journal::{Journal, KeySource, RecordId, State};
use serde_json::Value;

/// Options every run gets: JSON, fixed date, time and random values.
const FIXED: [&str; 9] = [
    "--json",
    "--date",
    "251124",
    "--time",
    "120000",
    "--unpredictable-number",
    "01020304",
    "--random-number",
    "50",
];

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Run {
    /// The one JSON object on stdout.
    fn json(&self) -> Value {
        let lines: Vec<&str> = self.stdout.lines().collect();
        assert_eq!(
            lines.len(),
            1,
            "exactly one line on stdout: {}\nstderr: {}",
            self.stdout,
            self.stderr
        );
        let value: Value = serde_json::from_str(lines[0]).expect("stdout is JSON");
        assert!(value.is_object(), "{value}");
        value
    }
}

fn emv_terminal(args: &[&str]) -> Run {
    let output = Command::new(env!("CARGO_BIN_EXE_emv-terminal"))
        .args(args)
        .stdin(Stdio::null())
        .env_remove("EMV_JOURNAL_KEY_FILE")
        .output()
        .expect("run emv-terminal");
    Run {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8(output.stdout).expect("utf-8 stdout"),
        stderr: String::from_utf8(output.stderr).expect("utf-8 stderr"),
    }
}

/// `transact --json` with the fixed inputs and no journal.
fn transact(args: &[&str]) -> Run {
    let mut all = vec!["transact", "--no-journal"];
    all.extend_from_slice(&FIXED);
    all.extend_from_slice(args);
    emv_terminal(&all)
}

/// `transact` on `profile` for 10.00, parsed.
fn on_card(profile: &str, extra: &[&str]) -> (Value, Run) {
    let mut args = vec!["--amount", "10.00", "--card", profile];
    args.extend_from_slice(extra);
    let run = transact(&args);
    (run.json(), run)
}

fn text<'v>(value: &'v Value, key: &str) -> &'v str {
    value[key]
        .as_str()
        .unwrap_or_else(|| panic!("{key} is a string in {value}"))
}

/// Whether `byte` (1-based, as in the books) of a hex field has `mask` set.
fn bit(value: &Value, key: &str, byte: usize, mask: u8) -> bool {
    let bytes = hex::decode(text(value, key)).expect("hex");
    bytes[byte - 1] & mask != 0
}

fn is_hex(text: &str, digits: usize) -> bool {
    text.len() == digits && text.bytes().all(|b| b.is_ascii_hexdigit())
}

#[test]
fn cda_card_approves_offline_and_json_has_the_contract_fields() {
    // Profile cda: CDA succeeds on the TC, approved offline (Book 2, 6.6).
    let (json, run) = on_card("cda", &[]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(text(&json, "decision"), "approved");
    assert_eq!(text(&json, "mode"), "offline");
    assert_eq!(text(&json, "authorisation_response_code"), "Y1");
    assert_eq!(text(&json, "card_cryptogram"), "TC");
    assert_eq!(text(&json, "oda"), "cda");
    assert_eq!(text(&json, "oda_result"), "ok");
    assert_eq!(text(&json, "tvr"), "0000000000");
    assert!(bit(&json, "tsi", 1, 0x80), "TSI: ODA performed");
    assert!(is_hex(text(&json, "tsi"), 4));
    assert!(is_hex(text(&json, "cvm_results"), 6));
    assert!(is_hex(text(&json, "application_cryptogram"), 16));
    assert!(json["atc"].is_u64(), "ATC is a number: {json}");
    assert_eq!(text(&json, "aid"), "A0000009991010");
    assert_eq!(text(&json, "masked_pan"), "679999******0318");
    assert!(json["termination_reason"].is_null());
    assert!(json["oda_failure"].is_null());
    assert_eq!(json["schema_version"], 1);
    assert_eq!(text(&json, "currency_code"), "978");
    let icc = text(&json, "icc_data");
    assert!(icc.contains(&format!("9F2608{}", text(&json, "application_cryptogram"))));
    assert!(
        icc.contains("9F370401020304"),
        "our unpredictable number: {icc}"
    );
    assert!(icc.contains("9A03251124"), "our date: {icc}");
    assert!(icc.contains("9F0206000000001000"), "10.00: {icc}");
    // Steps went to stderr.
    assert!(run.stderr.contains("GENERATE AC"), "{}", run.stderr);
}

#[test]
fn identical_inputs_give_byte_identical_json_and_cda_is_the_default_card() {
    let first = transact(&["--amount", "12.50"]);
    let second = transact(&["--amount", "12.50"]);
    let named = transact(&["--amount", "12.50", "--card", "cda"]);
    assert_eq!(first.code, 0, "{}", first.stderr);
    assert_eq!(first.stdout, second.stdout);
    assert_eq!(first.stdout, named.stdout);
    assert!(text(&first.json(), "icc_data").contains("9F0206000000001250"));
}

#[test]
fn dda_card_approves_offline() {
    // Profile dda: INTERNAL AUTHENTICATE, signature verified (Book 2, 6.5).
    let (json, run) = on_card("dda", &[]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(text(&json, "decision"), "approved");
    assert_eq!(text(&json, "mode"), "offline");
    assert_eq!(text(&json, "oda"), "dda");
    assert_eq!(text(&json, "oda_result"), "ok");
    assert_eq!(text(&json, "tvr"), "0000000000");
    assert!(
        run.stderr.contains("INTERNAL AUTHENTICATE"),
        "{}",
        run.stderr
    );
}

#[test]
fn sda_card_approves_offline() {
    // Profile sda: "SDA succeeds; TC requested and returned: approved offline".
    let (json, run) = on_card("sda", &[]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(text(&json, "oda"), "sda");
    assert_eq!(text(&json, "oda_result"), "ok", "{json}");
    assert_eq!(text(&json, "decision"), "approved");
    assert_eq!(text(&json, "mode"), "offline");
}

#[test]
fn sda_failure_is_reported_and_sends_the_transaction_online() {
    // Profile sda-bad-ssad: SDA fails, "SDA failed" is in TAC-Online: ARQC.
    let (json, run) = on_card("sda-bad-ssad", &[]);
    assert_eq!(text(&json, "oda"), "sda");
    assert_eq!(text(&json, "oda_result"), "failed");
    assert!(json["oda_failure"]["code"].is_string(), "{json}");
    assert!(bit(&json, "tvr", 1, 0x40), "TVR byte 1 b7: SDA failed");
    assert_eq!(text(&json, "mode"), "online");
    assert_eq!(text(&json, "decision"), "approved", "{}", run.stderr);
}

#[test]
fn offline_pin_card_with_pin_option() {
    // Profile cvm-offline-pin: CVM list 0100, PIN 1234: VERIFY 9000, CVM results 010002.
    let (json, run) = on_card("cvm-offline-pin", &["--test-pin", "1234"]);
    assert_eq!(text(&json, "cvm_results"), "010002");
    assert!(
        !bit(&json, "tvr", 3, 0x80),
        "TVR byte 3 b8: cardholder verification not failed"
    );
    assert!(
        bit(&json, "tsi", 1, 0x40),
        "TSI: cardholder verification performed"
    );
    assert_eq!(text(&json, "decision"), "approved");
    assert!(run.stderr.contains("VERIFY"), "{}", run.stderr);
    // The PIN never appears: not in the steps, not as a PIN block.
    assert!(!run.stderr.contains("1234"), "{}", run.stderr);
    assert!(!run.stdout.contains("241234"), "{}", run.stdout);
}

#[test]
fn enciphered_pin_card_with_pin_option() {
    // Profile cvm-enciphered-pin: GET CHALLENGE, VERIFY P2 88, CVM results 040002, TC.
    let (json, run) = on_card("cvm-enciphered-pin", &["--test-pin", "1234"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(text(&json, "cvm_results"), "040002");
    assert_eq!(text(&json, "decision"), "approved");
    assert_eq!(text(&json, "mode"), "offline");
    assert!(run.stderr.contains("GET CHALLENGE"), "{}", run.stderr);
    assert!(!run.stderr.contains("1234"), "{}", run.stderr);
}

#[test]
fn wrong_pin_is_tried_once_then_bypassed() {
    let (json, run) = on_card("cvm-offline-pin", &["--test-pin", "9999"]);
    assert!(
        bit(&json, "tvr", 3, 0x80),
        "TVR byte 3 b8: cardholder verification failed"
    );
    assert!(run.stderr.contains("already tried"), "{}", run.stderr);
    assert!(!run.stderr.contains("9999"), "{}", run.stderr);
}

/// `transact` on cvm-offline-pin with `args`, standard input from `stdin`.
fn pin_run(args: &[&str], stdin: Stdio) -> Run {
    let mut all = vec!["transact", "--no-journal"];
    all.extend_from_slice(&FIXED);
    all.extend_from_slice(&["--amount", "10.00", "--card", "cvm-offline-pin"]);
    all.extend_from_slice(args);
    let output = Command::new(env!("CARGO_BIN_EXE_emv-terminal"))
        .args(&all)
        .stdin(stdin)
        .output()
        .expect("run emv-terminal");
    Run {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8(output.stdout).expect("utf-8 stdout"),
        stderr: String::from_utf8(output.stderr).expect("utf-8 stderr"),
    }
}

#[test]
fn pin_from_standard_input_or_a_file_descriptor_never_from_argv() {
    let dir = tempfile::tempdir().unwrap();
    let pin_file = dir.path().join("pin.txt");
    std::fs::write(&pin_file, "1234\n").unwrap();
    let open = || Stdio::from(std::fs::File::open(&pin_file).unwrap());
    // --pin-stdin: one line on standard input.
    let run = pin_run(&["--pin-stdin"], open());
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(
        text(&run.json(), "cvm_results"),
        "010002",
        "offline PIN verified"
    );
    assert!(
        run.stderr.contains("PIN from --pin-stdin"),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains("1234") && !run.stdout.contains("1234"));
    // --pin-fd N: any open descriptor; here the file is the child's descriptor 0.
    #[cfg(unix)]
    {
        let run = pin_run(&["--pin-fd", "0"], open());
        assert_eq!(run.code, 0, "{}", run.stderr);
        assert_eq!(text(&run.json(), "cvm_results"), "010002");
        assert!(run.stderr.contains("PIN from --pin-fd"), "{}", run.stderr);
        let run = pin_run(&["--pin-fd", "97"], Stdio::null());
        assert_eq!(run.code, 1, "a descriptor that is not open: {}", run.stderr);
        assert!(run.stderr.contains("--pin-fd 97"), "{}", run.stderr);
    }
    // A bad PIN is refused before the card, without echoing it.
    std::fs::write(&pin_file, "12ab\n").unwrap();
    let run = pin_run(&["--pin-stdin"], open());
    assert_eq!(run.code, 64, "{}", run.stderr);
    assert!(run.stderr.contains("4 to 12 digits") && !run.stderr.contains("12ab"));
    // The old argv option is gone; the test-only one is not offered in --help.
    let run = pin_run(&["--pin", "1234"], Stdio::null());
    assert_eq!(run.code, 64, "{}", run.stderr);
    let help = emv_terminal(&["transact", "--help"]).stdout;
    assert!(
        help.contains("--pin-stdin") && help.contains("--pin-fd <N>"),
        "{help}"
    );
    assert!(
        !help.contains("--test-pin") && !help.contains("--pin <"),
        "{help}"
    );
}

#[test]
fn without_terminal_or_pin_option_the_pin_pad_is_reported_not_working() {
    // stdin is not a terminal here: no prompt, no blocking (Book 3, 10.5).
    let (json, run) = on_card("cvm-offline-pin", &[]);
    assert!(
        bit(&json, "tvr", 3, 0x10),
        "TVR byte 3 b5: PIN pad not working; {}",
        run.stderr
    );
    assert!(
        bit(&json, "tvr", 3, 0x80),
        "TVR byte 3 b8: cardholder verification failed"
    );
}

#[test]
fn online_card_with_host_approve() {
    // Profile issuer-scripts: ARQC; host ARPC verifies; second GENERATE AC TC.
    let (json, run) = on_card("issuer-scripts", &["--host", "approve"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(text(&json, "decision"), "approved");
    assert_eq!(text(&json, "mode"), "online");
    assert_eq!(text(&json, "authorisation_response_code"), "00");
    assert_eq!(text(&json, "card_cryptogram"), "TC");
    assert!(
        bit(&json, "tsi", 1, 0x10),
        "TSI: issuer authentication performed"
    );
    assert!(
        !bit(&json, "tvr", 5, 0x40),
        "TVR byte 5 b7: issuer authentication not failed"
    );
    assert!(text(&json, "host").contains("ARQC verified"), "{json}");
    assert!(
        run.stderr.contains("EXTERNAL AUTHENTICATE"),
        "{}",
        run.stderr
    );
}

/// A host file of docs/host copied to `dir` with mode 0600 (a keys file readable by
/// others is refused).
fn private_copy(dir: &Path, name: &str) -> String {
    let path = dir.join(name);
    let source = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../docs/host")
        .join(name);
    std::fs::copy(&source, &path).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    path.to_str().unwrap().to_owned()
}

#[test]
fn simulated_card_with_a_keys_host_file() {
    let dir = tempfile::tempdir().unwrap();
    let host = private_copy(dir.path(), "test-cards-keys.toml");
    let (json, run) = on_card("issuer-scripts", &["--host-file", &host]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(text(&json, "decision"), "approved");
    assert_eq!(text(&json, "card_cryptogram"), "TC");
    assert!(
        bit(&json, "tsi", 1, 0x10),
        "TSI: issuer authentication performed"
    );
    assert!(!bit(&json, "tvr", 5, 0x40), "TVR byte 5 b7 clear");
    assert_eq!(text(&json, "script_results"), "2000000001", "{json}");
    assert!(text(&json, "host").starts_with("host file "), "{json}");
}

#[test]
fn a_bad_host_file_names_its_line_and_field_and_never_the_value() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("host.toml");
    let text = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/host/test-cards-keys.toml"),
    )
    .unwrap()
    .replace(
        "0E1F2C3D4A5B68798697A4B5C2D3E0F1",
        "0E1F2C3D4A5B68798697A4B5C2D3E0F",
    );
    std::fs::write(&path, &text).unwrap();
    let line = 1 + text.lines().position(|l| l.starts_with("imk_ac")).unwrap();
    let run = transact(&[
        "--amount",
        "10.00",
        "--card",
        "issuer-scripts",
        "--host-file",
        path.to_str().unwrap(),
    ]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        run.stderr.contains(&format!(
            "{}:{line}: imk_ac: expected a double-length key",
            path.display()
        )),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains("0E1F2C3D"), "{}", run.stderr);
    // --host and --host-file are one or the other.
    let both = transact(&[
        "--amount",
        "1.00",
        "--host",
        "approve",
        "--host-file",
        "x.toml",
    ]);
    assert_eq!(both.code, 64, "{}", both.stderr);
}

#[test]
fn online_card_with_host_decline() {
    let (json, run) = on_card("issuer-scripts", &["--host", "decline"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert_eq!(text(&json, "decision"), "declined");
    assert_eq!(text(&json, "mode"), "online");
    assert_eq!(text(&json, "authorisation_response_code"), "05");
    assert_eq!(text(&json, "card_cryptogram"), "AAC");
}

/// Book 4, 6.5.2 (voice referrals, ICS row 83): the host refers (ARC 01);
/// the attendant's call decides the second GENERATE AC: `--referral
/// approve` a TC, `--referral decline` an AAC, and without the option and
/// without a terminal to ask on, a decline. The ARC stays the issuer's.
#[test]
fn online_card_with_host_referral_follows_the_attendants_call() {
    for (answer, decision, cryptogram, code, referral) in [
        (Some("approve"), "approved", "TC", 0, "approved"),
        (Some("decline"), "declined", "AAC", 2, "declined"),
        (None, "declined", "AAC", 2, "declined"),
    ] {
        let mut args = vec!["--host", "refer"];
        if let Some(answer) = answer {
            args.extend(["--referral", answer]);
        }
        let (json, run) = on_card("issuer-scripts", &args);
        assert_eq!(run.code, code, "{answer:?}: {}", run.stderr);
        assert_eq!(text(&json, "decision"), decision);
        assert_eq!(text(&json, "card_cryptogram"), cryptogram);
        assert_eq!(text(&json, "authorisation_response_code"), "01");
        assert_eq!(text(&json, "referral"), referral);
        assert!(run.stderr.contains("CALL YOUR BANK"), "{}", run.stderr);
        assert!(
            bit(&json, "tsi", 1, 0x10),
            "issuer authentication performed"
        );
    }
    let (json, _) = on_card("issuer-scripts", &["--host", "approve"]);
    assert!(json["referral"].is_null(), "{json}");
}

#[test]
fn online_card_with_host_unreachable() {
    // Book 3, 10.9: unable to go online; TAC/IAC-Default decide. A clean TVR
    // matches neither, so the card is asked for a TC: Y3.
    let (json, run) = on_card("issuer-scripts", &["--host", "unreachable"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(text(&json, "decision"), "approved");
    assert_eq!(text(&json, "mode"), "offline");
    assert_eq!(text(&json, "authorisation_response_code"), "Y3");
    assert!(!bit(&json, "tsi", 1, 0x10), "no issuer authentication");
}

#[test]
fn card_online_profile_goes_online_and_approves() {
    // Profile card-online: the card answers a TC request with an ARQC.
    let (json, run) = on_card("card-online", &[]);
    assert_eq!(text(&json, "mode"), "online", "{}", run.stderr);
    assert_eq!(text(&json, "decision"), "approved");
    assert_eq!(text(&json, "authorisation_response_code"), "00");
}

#[test]
fn host_sends_maced_issuer_scripts() {
    // PUT DATA of the LCOL (9F14) with the script MAC: executed after the final GENERATE AC.
    let (json, run) = on_card("issuer-scripts", &["--issuer-script", "04DA9F14:05"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        bit(&json, "tsi", 1, 0x04),
        "TSI: script processing performed"
    );
    let results = text(&json, "script_results");
    assert_eq!(results.len(), 10, "one 5-byte result: {results}");
    assert!(
        results.starts_with('2'),
        "Book 3, Annex A: result 2 = successful: {results}"
    );
    assert!(
        !bit(&json, "tvr", 5, 0x10),
        "TVR byte 5 b5: no script failed"
    );
}

#[test]
fn after_a_cda_failure_the_decision_is_declined_whatever_the_card_answered() {
    // Profile cda-bad-signature: the card answers TC but its dynamic signature does not
    // verify (Book 2, 6.6.2): the terminal declines. `card_cryptogram` is the card's
    // answer, `decision` the terminal's; neither can be taken for the other.
    let (json, run) = on_card("cda-bad-signature", &[]);
    assert_eq!(text(&json, "decision"), "declined", "{json}");
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert_eq!(text(&json, "oda_result"), "failed");
    let code = json["oda_failure"]["code"].as_str().expect("code");
    assert!(
        code.bytes()
            .all(|b| b.is_ascii_lowercase() || b == b'_' || b == b'.'),
        "snake_case: {code}"
    );
    assert!(json["oda_failure"]["text"].is_string(), "{json}");
    assert!(json.get("cryptogram").is_none() && json.get("outcome").is_none());
    assert_eq!(
        text(&json, "card_cryptogram"),
        "TC",
        "the card's answer: {json}"
    );
}

#[test]
fn declined_card() {
    // Profile card-declines: card risk management answers every GENERATE AC with an AAC.
    let (json, run) = on_card("card-declines", &[]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert_eq!(text(&json, "decision"), "declined");
    assert_eq!(text(&json, "card_cryptogram"), "AAC");
    assert_eq!(text(&json, "authorisation_response_code"), "Z1");
    assert_eq!(text(&json, "mode"), "offline");
}

#[test]
fn terminated_card_gives_the_reason() {
    // Profile card-blocked: every SELECT answers 6A81, Book 1, 12.3.2.
    let (json, run) = on_card("card-blocked", &[]);
    assert_eq!(run.code, 3, "{}", run.stderr);
    assert_eq!(text(&json, "decision"), "terminated");
    assert!(
        json["termination_reason"]["text"]
            .as_str()
            .unwrap_or_default()
            .contains("6A81"),
        "{json}"
    );
    assert!(json["card_cryptogram"].is_null());
    assert!(json["application_cryptogram"].is_null());
    assert_eq!(text(&json, "oda_result"), "not_performed");
}

#[test]
fn oversized_response_terminates_with_transport_reason() {
    let (json, _) = on_card("hostile-oversized-response", &[]);
    assert_eq!(text(&json, "decision"), "terminated");
    assert!(
        json["termination_reason"]["text"]
            .as_str()
            .unwrap_or_default()
            .contains("transport"),
        "{json}"
    );
}

#[test]
fn human_output_decodes_tvr_and_tsi_in_words() {
    // Profile no-oda: "ODA not performed" matches TAC-Online: ARQC, online.
    let run = emv_terminal(&[
        "transact",
        "--no-journal",
        "--amount",
        "10.00",
        "--card",
        "no-oda",
        "--date",
        "251124",
        "--time",
        "120000",
        "--unpredictable-number",
        "01020304",
        "--random-number",
        "50",
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stdout.contains("APPROVED online (card answered TC)"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("TVR:                    8000000000"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout
            .contains("- Offline data authentication was not performed"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout
            .contains("- Terminal risk management was performed"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("[first GENERATE AC] GENERATE AC"),
        "steps on stdout: {}",
        run.stdout
    );
}

#[test]
fn bad_config_file_names_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("terminal.toml");
    std::fs::write(
        &config,
        "[[application]]\naid = \"A0000009991010\"\ntac_online = \"DC4084\"\n",
    )
    .unwrap();
    let run = transact(&["--amount", "10.00", "--config", config.to_str().unwrap()]);
    assert_eq!(run.code, 1);
    assert!(run.stdout.is_empty(), "{}", run.stdout);
    assert!(
        run.stderr.contains("application[1].tac_online"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("terminal.toml"), "{}", run.stderr);
}

#[test]
fn config_file_changes_the_transaction() {
    // Floor limit 0 on the CDA card's application: "exceeds floor limit"
    // (TVR byte 4 b8) is in TAC-Online, so the transaction goes online.
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("terminal.toml");
    std::fs::write(
        &config,
        "[[application]]\naid = \"A0000009991010\"\nfloor_limit = 0\n",
    )
    .unwrap();
    let (json, run) = on_card("cda", &["--config", config.to_str().unwrap()]);
    assert!(
        bit(&json, "tvr", 4, 0x80),
        "TVR byte 4 b8: exceeds floor limit; {}",
        run.stderr
    );
    assert_eq!(text(&json, "mode"), "online");
    assert_eq!(text(&json, "decision"), "approved");
}

#[test]
fn example_config_file_runs() {
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/terminal.example.toml");
    let (json, run) = on_card("cda", &["--config", example.to_str().unwrap()]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(text(&json, "decision"), "approved");
}

#[test]
fn reader_that_does_not_exist_gives_a_clear_error() {
    let run = transact(&[
        "--amount",
        "10.00",
        "--reader",
        "No Such Reader 99",
        "--wait-card",
        "0",
    ]);
    assert_eq!(run.code, 1, "{}", run.stdout);
    assert!(run.stdout.is_empty(), "{}", run.stdout);
    assert!(
        run.stderr.contains("--reader No Such Reader 99"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("no reader matches")
            || run.stderr.contains("PC/SC service not running"),
        "{}",
        run.stderr
    );
}

#[test]
fn host_simulator_is_refused_for_a_reader() {
    let run = transact(&["--amount", "10.00", "--reader", "auto", "--host", "approve"]);
    assert_eq!(run.code, 64, "a usage error");
    assert!(run.stderr.contains("simulated cards"), "{}", run.stderr);
}

#[test]
fn invalid_options_are_refused_before_the_card() {
    for (args, words) in [
        (&["--amount", "12.505"][..], "at most 2 decimals"),
        (
            &["--amount", "10", "--card", "no-such-card"],
            "no such test card",
        ),
        (&["--amount", "10", "--test-pin", "12"], "4 to 12 digits"),
        (&["--amount", "10", "--type", "cashback"], "--other-amount"),
        (
            &["--amount", "10", "--other-amount", "1"],
            "--type cashback",
        ),
        (&["--amount", "10", "--date", "251340"], "--date"),
        (&["--amount", "10", "--date", "250230"], "calendar date"),
    ] {
        let mut all = vec!["transact", "--no-journal", "--json"];
        all.extend_from_slice(args);
        let run = emv_terminal(&all);
        assert_eq!(run.code, 64, "usage error: {args:?}");
        assert!(run.stderr.contains(words), "{args:?}: {}", run.stderr);
    }
}

#[test]
fn exit_status_tells_a_typo_from_a_decline() {
    // A typo'd flag, an option only `journal status` has, and a negative amount are usage
    // errors (64), never 2 (declined).
    for args in [
        &["transact", "--amount", "1", "--amonut", "2"][..],
        &["transact", "--amount", "1", "--max-offline-approvals", "3"],
        &["transact", "--no-journal", "--amount", "-1"],
        &[
            "transact",
            "--no-journal",
            "--card",
            "cda",
            "--amount",
            "abc",
        ],
        &["no-such-command"],
    ] {
        let run = emv_terminal(args);
        assert_eq!(run.code, 64, "{args:?}: {}", run.stderr);
        assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
    }
    // A runtime error (a configuration file that does not exist) is 1.
    let run = emv_terminal(&[
        "transact",
        "--no-journal",
        "--amount",
        "1",
        "--config",
        "/nonexistent/terminal.toml",
    ]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    // Declined 2 and terminated 3, from the cards that do so.
    assert_eq!(on_card("card-declines", &[]).1.code, 2);
    assert_eq!(on_card("card-blocked", &[]).1.code, 3);
    assert_eq!(on_card("cda", &[]).1.code, 0);
    // --help and --version succeed and the help names every status.
    for args in [&["--help"][..], &["transact", "--help"], &["--version"]] {
        let run = emv_terminal(args);
        assert_eq!(run.code, 0, "{args:?}: {}", run.stderr);
    }
    let help = emv_terminal(&["transact", "--help"]).stdout;
    for line in [
        "0   approved",
        "2   declined",
        "3   terminated",
        "64  usage error",
        "1   runtime error",
    ] {
        assert!(help.contains(line), "--help lacks {line:?}: {help}");
    }
}

#[test]
fn cashback_and_refund_set_the_transaction_type() {
    let (cashback, _) = on_card("cda", &["--type", "cashback", "--other-amount", "2.00"]);
    let icc = text(&cashback, "icc_data");
    assert!(icc.contains("9C0109"), "{icc}");
    assert!(icc.contains("9F0306000000000200"), "{icc}");
    let (refund, run) = on_card("cda", &["--type", "refund"]);
    assert!(text(&refund, "icc_data").contains("9C0120"));
    // ICS row 92, the default refund policy: the card is asked for an AAC,
    // which completes the refund.
    assert_eq!(text(&refund, "decision"), "approved", "{}", run.stderr);
    assert_eq!(text(&refund, "card_cryptogram"), "AAC");
    assert_eq!(text(&refund, "authorisation_response_code"), "Y1");
    assert_eq!(run.code, 0);
}

fn journal_args<'a>(journal: &'a str, key: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec!["transact", "--journal", journal, "--journal-key", key];
    args.extend_from_slice(&FIXED);
    args.extend_from_slice(extra);
    args
}

#[test]
fn journal_records_pending_then_completed() {
    let dir = tempfile::tempdir().unwrap();
    let journal = dir.path().join("journal.db");
    let key = dir.path().join("journal.key");
    let (j, k) = (journal.to_str().unwrap(), key.to_str().unwrap());
    let first = emv_terminal(&journal_args(j, k, &["--amount", "10.00", "--card", "cda"]));
    assert_eq!(first.code, 0, "{}", first.stderr);
    assert_eq!(first.json()["journal_record"], 1);
    assert!(
        first.stderr.contains("journal: record 1 pending"),
        "{}",
        first.stderr
    );
    let second = emv_terminal(&journal_args(
        j,
        k,
        &["--amount", "20.00", "--card", "card-declines"],
    ));
    assert_eq!(second.json()["journal_record"], 2);
    // A transaction that ends before GENERATE AC leaves no record.
    let blocked = emv_terminal(&journal_args(
        j,
        k,
        &["--amount", "5.00", "--card", "card-blocked"],
    ));
    assert!(blocked.json()["journal_record"].is_null());

    let opened = Journal::open(&journal, &KeySource::existing(&key)).unwrap();
    let approved = opened.get(RecordId(1)).unwrap();
    assert_eq!(approved.state, State::Approved);
    assert_eq!(approved.amount_authorised, 1000);
    assert_eq!(approved.masked_pan, "679999******0318");
    let declined = opened.get(RecordId(2)).unwrap();
    assert_eq!(declined.state, State::Declined);
    assert!(opened.get(RecordId(3)).is_err());
}

/// Book 4, 6.5.4 (ICS row 97): `--force-acceptance` after the card declines
/// (`card-declines`: an AAC at the first GENERATE AC). The JSON says
/// approved with the card's AAC and `forced_acceptance`, the exit status is
/// 0, the journal keeps an approval waiting for sync (its clearing record
/// says `forced_acceptance`), and it is marked shown. An approval is not
/// changed by the option; without it the decline stands.
#[test]
fn forced_acceptance_makes_a_card_decline_an_accepted_sale() {
    let dir = tempfile::tempdir().unwrap();
    let journal = dir.path().join("journal.db");
    let key = dir.path().join("journal.key");
    let (j, k) = (journal.to_str().unwrap(), key.to_str().unwrap());
    let forced = emv_terminal(&journal_args(
        j,
        k,
        &[
            "--amount",
            "20.00",
            "--card",
            "card-declines",
            "--force-acceptance",
        ],
    ));
    assert_eq!(forced.code, 0, "{}", forced.stderr);
    let json = forced.json();
    assert_eq!(json["decision"], "approved");
    assert_eq!(json["card_cryptogram"], "AAC");
    assert_eq!(json["forced_acceptance"], true);
    assert!(
        forced.stderr.contains("[forced acceptance]"),
        "{}",
        forced.stderr
    );

    let plain = emv_terminal(&journal_args(
        j,
        k,
        &["--amount", "20.00", "--card", "card-declines"],
    ));
    assert_eq!(plain.code, 2);
    assert_eq!(plain.json()["decision"], "declined");
    assert_eq!(plain.json()["forced_acceptance"], false);
    let approved = emv_terminal(&journal_args(
        j,
        k,
        &["--amount", "10.00", "--card", "cda", "--force-acceptance"],
    ));
    assert_eq!(approved.code, 0);
    assert_eq!(approved.json()["forced_acceptance"], false);

    let opened = Journal::open(&journal, &KeySource::existing(&key)).unwrap();
    let record = opened.get(RecordId(1)).unwrap();
    assert_eq!(record.state, State::Approved);
    assert!(record.is_forced_acceptance());
    assert!(record.shown.is_some(), "marked shown");
    let clearing = emv_journal::sync::clearing_record(&opened, &record).unwrap();
    assert_eq!(clearing["forced_acceptance"], true);
    assert_eq!(opened.get(RecordId(2)).unwrap().state, State::Declined);
    assert!(!opened.get(RecordId(3)).unwrap().is_forced_acceptance());
    let unsynced: Vec<i64> = opened
        .unsynced(10)
        .unwrap()
        .iter()
        .map(|r| r.id.0)
        .collect();
    assert_eq!(unsynced, [1, 3]);
}

/// Every profile has its own PAN, so a journal shared by several runs does not carry one
/// profile's approval into another's split-sales check (Book 3, 10.6.1): 60.00 on `cda`
/// after an approved 60.00 on `sda` (or `dda`) ends exactly as 60.00 on `cda` alone,
/// not with the 120.00 over the floor limit it would see if the cards shared a PAN.
#[test]
fn one_profile_in_a_shared_journal_does_not_change_the_next() {
    let dir = tempfile::tempdir().unwrap();
    let run = |journal: &str, card: &str| {
        let key = format!("{journal}.key");
        let run = emv_terminal(&journal_args(
            journal,
            &key,
            &[
                "--amount",
                "60.00",
                "--sequence-counter",
                "1",
                "--card",
                card,
            ],
        ));
        let mut json = run.json();
        assert!(json["journal_record"].is_u64(), "{json}");
        for field in ["journal", "journal_record"] {
            json.as_object_mut().unwrap().remove(field);
        }
        (run.code, json)
    };
    let alone_path = dir.path().join("alone.db");
    let (alone_code, alone) = run(alone_path.to_str().unwrap(), "cda");
    assert_eq!(alone_code, 0);
    assert!(
        !bit(&alone, "tvr", 4, 0x80),
        "60.00 alone is under the floor limit"
    );
    for first in ["sda", "dda"] {
        let shared_path = dir.path().join(format!("shared-{first}.db"));
        let shared = shared_path.to_str().unwrap();
        let (code, _) = run(shared, first);
        assert_eq!(code, 0, "{first} approves 60.00 offline");
        assert_eq!(
            run(shared, "cda"),
            (alone_code, alone.clone()),
            "after {first}"
        );
    }
}

#[test]
fn a_simulated_card_without_journal_option_leaves_the_real_journal_alone() {
    let home = tempfile::tempdir().unwrap();
    let run_in_home = |args: &[&str]| {
        let mut all = vec!["transact"];
        all.extend_from_slice(&FIXED);
        all.extend_from_slice(args);
        let output = Command::new(env!("CARGO_BIN_EXE_emv-terminal"))
            .args(&all)
            .stdin(Stdio::null())
            .env("HOME", home.path())
            .env("XDG_DATA_HOME", home.path().join("data"))
            .env("XDG_CONFIG_HOME", home.path().join("config"))
            .env_remove("EMV_JOURNAL_KEY_FILE")
            .output()
            .expect("run emv-terminal");
        Run {
            code: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8(output.stdout).expect("utf-8 stdout"),
            stderr: String::from_utf8(output.stderr).expect("utf-8 stderr"),
        }
    };
    // Twice, as a newcomer following the README: the same outcome, nothing written.
    for _ in 0..2 {
        let run = run_in_home(&["--amount", "250.00", "--card", "cda"]);
        assert_eq!(run.code, 0, "{}", run.stderr);
        let json = run.json();
        assert!(
            json["journal"].is_null() && json["journal_record"].is_null(),
            "{json}"
        );
        assert!(run.stderr.contains("journal: none"), "{}", run.stderr);
    }
    let created: Vec<_> = walk(home.path());
    assert!(created.is_empty(), "files written into HOME: {created:?}");
    // With --journal the simulated card is journaled there, and the output says where.
    let file = home.path().join("demo.db");
    let key = home.path().join("demo.key");
    let run = run_in_home(&[
        "--amount",
        "10.00",
        "--card",
        "cda",
        "--journal",
        file.to_str().unwrap(),
        "--journal-key",
        key.to_str().unwrap(),
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.json()["journal"], file.to_str().unwrap());
    assert!(file.exists());
}

/// Every file under `dir`.
fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files.extend(walk(&path));
        } else {
            files.push(path);
        }
    }
    files
}

#[test]
fn offline_limit_forces_the_transaction_online() {
    let dir = tempfile::tempdir().unwrap();
    let journal = dir.path().join("journal.db");
    let key = dir.path().join("journal.key");
    let config = dir.path().join("terminal.toml");
    std::fs::write(&config, "[offline_limits]\nmax_offline_approvals = 1\n").unwrap();
    let (j, k, c) = (
        journal.to_str().unwrap(),
        key.to_str().unwrap(),
        config.to_str().unwrap(),
    );
    let args = ["--amount", "10.00", "--card", "cda", "--config", c];
    let first = emv_terminal(&journal_args(j, k, &args)).json();
    assert_eq!(text(&first, "mode"), "offline");
    assert!(first["forced_online_reason"].is_null());
    let second = emv_terminal(&journal_args(j, k, &args)).json();
    assert!(
        text(&second, "forced_online_reason").contains("offline approval count"),
        "{second}"
    );
    assert!(
        bit(&second, "tvr", 4, 0x08),
        "TVR byte 4 b4: merchant forced transaction online"
    );
    assert_eq!(text(&second, "mode"), "online");
    assert_eq!(text(&second, "decision"), "approved");
}

#[test]
fn exception_file_in_the_config_flags_the_card() {
    // Book 3, 10.6: the CDA card's PAN on the exception file sets TVR byte 1
    // b5, which is in TAC-Online (DC...): the transaction goes online.
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("terminal.toml");
    let pan = emv_test_cards::profiles::find("cda").unwrap().pan();
    std::fs::write(&config, format!("exception_file = [\"{pan}\"]\n")).unwrap();
    let (json, run) = on_card("cda", &["--config", config.to_str().unwrap()]);
    assert!(
        bit(&json, "tvr", 1, 0x10),
        "TVR byte 1 b5: card on exception file; {}",
        run.stderr
    );
    assert_eq!(text(&json, "mode"), "online");
}

/// A `capk.txt` of `extra` generated keys (another RID, true check sums) after the
/// four test CA keys.
fn capk_with_extra_keys(extra: usize) -> String {
    use emv_kernel::crypto::RingCrypto;
    use emv_kernel::oda::capk::CaPublicKey;
    let crypto = RingCrypto::new();
    let mut text = emv_test_cards::pki::CAPK_TXT.to_owned();
    for n in 0..extra {
        let rid = [0xA0, 0x00, 0x00, 0x07, (n / 256) as u8];
        let index = (n % 256) as u8;
        let modulus: Vec<u8> = (0..128).map(|i| (i as u8) ^ index | 0x80).collect();
        let key = CaPublicKey::new(&crypto, rid, index, &modulus, &[0x03], None, None).unwrap();
        text.push_str(&format!(
            "{} {index:02x} 000000 rsa 03 {} sha1 {}\n",
            hex::encode(rid),
            hex::encode(&modulus),
            hex::encode(key.checksum(&crypto))
        ));
    }
    text
}

/// Published lists of test and live CA keys hold well over 100 keys: 150 load, and the
/// card's key among them is found. One key more than the build holds (256) is refused
/// with the line, the limit and what to do.
#[test]
fn a_published_size_capk_file_loads_and_an_oversized_one_names_the_limit() {
    let dir = tempfile::tempdir().unwrap();
    let capk = dir.path().join("capk.txt");
    std::fs::write(&capk, capk_with_extra_keys(146)).unwrap();
    let (json, run) = on_card("cda", &["--capk", capk.to_str().unwrap()]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(
        text(&json, "oda_result"),
        "ok",
        "CDA with CA 02 among 150 keys"
    );

    let capacity = emv_config::CA_KEY_CAPACITY;
    assert_eq!(capacity, 256);
    let test_keys = emv_test_cards::pki::CAPK_TXT
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .count();
    std::fs::write(&capk, capk_with_extra_keys(capacity - test_keys + 1)).unwrap();
    let run = transact(&[
        "--amount",
        "10.00",
        "--card",
        "cda",
        "--capk",
        capk.to_str().unwrap(),
    ]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    let comments = emv_test_cards::pki::CAPK_TXT
        .lines()
        .filter(|l| l.starts_with('#'))
        .count();
    let line = comments + capacity + 1;
    assert!(
        run.stderr.contains(&format!(
            "line {line}: more CA public keys than this build holds (256, emv_config::CA_KEY_CAPACITY): \
             keep only the keys of the payment systems (RIDs) the terminal accepts, and drop expired and test keys"
        )),
        "{}",
        run.stderr
    );
    // Exactly the capacity still loads.
    std::fs::write(&capk, capk_with_extra_keys(capacity - test_keys)).unwrap();
    let (_, run) = on_card("cda", &["--capk", capk.to_str().unwrap()]);
    assert_eq!(run.code, 0, "{}", run.stderr);
}

#[test]
fn capk_option_replaces_the_ca_keys() {
    // Without CA 02 the CDA card's issuer certificate cannot be recovered:
    // CDA fails (Book 2, 6.2), TVR byte 1 b3.
    let dir = tempfile::tempdir().unwrap();
    let capk = dir.path().join("capk.txt");
    let only_ca_01: String = emv_test_cards::pki::CAPK_TXT
        .lines()
        .filter(|line| line.starts_with('#') || line.split_whitespace().nth(1) == Some("01"))
        .map(|line| format!("{line}\n"))
        .collect();
    std::fs::write(&capk, only_ca_01).unwrap();
    let (json, run) = on_card("cda", &["--capk", capk.to_str().unwrap()]);
    assert_eq!(text(&json, "oda"), "cda");
    assert_eq!(text(&json, "oda_result"), "failed", "{}", run.stderr);
    assert_eq!(json["oda_failure"]["code"], "ca_key_not_found", "{json}");
    assert!(bit(&json, "tvr", 1, 0x04), "TVR byte 1 b3: CDA failed");

    std::fs::write(
        &capk,
        "# test\na0:00:00:09:99 01 491231 rsa 03 not-hex sha1 00\n",
    )
    .unwrap();
    let run = transact(&["--amount", "1", "--capk", capk.to_str().unwrap()]);
    assert_eq!(run.code, 1);
    assert!(
        run.stderr
            .contains("capk.txt: line 2: invalid modulus (1 to 248 bytes of hex)"),
        "{}",
        run.stderr
    );
}

#[test]
fn capk_duplicates_and_expired_keys_are_warnings_with_their_line() {
    // Line 3 repeats CA 01 (it replaces the first); CA 03 expired at the end
    // of 2024, before the transaction date (Book 2, 5.2: the terminal does
    // not use an expired CA key). The transaction still runs with CA 02.
    let dir = tempfile::tempdir().unwrap();
    let capk = dir.path().join("capk.txt");
    let keys: Vec<&str> = emv_test_cards::pki::CAPK_TXT
        .lines()
        .filter(|line| !line.starts_with('#'))
        .collect();
    let ca_03_expired = keys[2].replacen(" 491231 ", " 241231 ", 1);
    let file = format!("{}\n{}\n{}\n{}\n", keys[0], keys[1], keys[0], ca_03_expired);
    std::fs::write(&capk, file).unwrap();
    let (json, run) = on_card("cda", &["--capk", capk.to_str().unwrap()]);
    assert!(
        run.stderr
            .contains("capk.txt: line 3: RID A000000999 index 01 appears again"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr
            .contains("capk.txt: line 4: RID A000000999 index 03"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("expired"), "{}", run.stderr);
    assert_eq!(text(&json, "oda_result"), "ok", "{}", run.stderr);
}

/// Ends the `card serve` child when the test ends, also on failure.
struct Served(std::process::Child);

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn reader_transaction_over_pcscd_virtual_reader() {
    // Needs pcscd with vpcd (scripts/test.sh starts it and sets EMV_PCSCD=1).
    if std::env::var("EMV_PCSCD").as_deref() != Ok("1") {
        eprintln!("skipped: set EMV_PCSCD=1 (scripts/test.sh starts pcscd and sets it)");
        return;
    }
    // The DDA card in the second virtual reader, served by `card serve`; a
    // reader already holding a card is someone else's (a developer's session).
    let busy = emv_pcsc::Pcsc::establish()
        .and_then(|pcsc| pcsc.readers())
        .map(|readers| {
            readers
                .iter()
                .any(|r| r.name == "Virtual PCD 00 01" && r.card_present)
        })
        .unwrap_or(false);
    if busy {
        eprintln!("skipped: Virtual PCD 00 01 already holds a card served by another process");
        return;
    }
    let _served = Served(
        Command::new(env!("CARGO_BIN_EXE_emv-terminal"))
            .args(["card", "serve", "--profile", "dda", "--port", "35964"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("card serve"),
    );
    let run = transact(&[
        "--amount",
        "10.00",
        "--reader",
        "=Virtual PCD 00 01",
        "--wait-card",
        "15",
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let json = run.json();
    assert_eq!(text(&json, "decision"), "approved");
    assert_eq!(text(&json, "mode"), "offline");
    assert_eq!(text(&json, "oda"), "dda");
    assert_eq!(text(&json, "oda_result"), "ok");
    assert!(
        run.stderr.contains("reader Virtual PCD 00 01"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("INTERNAL AUTHENTICATE"),
        "{}",
        run.stderr
    );
}

#[test]
fn application_option_chooses_among_candidates() {
    // Profile multi-app-pse: TEST DEBIT (priority 1, confirmation), TEST
    // CREDIT (2), TEST PREPAID (3). Without a terminal the first is taken.
    let (first, _) = on_card("multi-app-pse", &[]);
    assert_eq!(text(&first, "aid"), "A0000009992020");
    let (second, run) = on_card("multi-app-pse", &["--application", "2"]);
    assert_eq!(text(&second, "aid"), "A0000009991010");
    assert!(run.stderr.contains("chosen: TEST CREDIT"), "{}", run.stderr);
    let (none, run) = on_card("multi-app-pse", &["--application", "9"]);
    assert_eq!(text(&none, "decision"), "terminated");
    assert!(run.stderr.contains("not on offer"), "{}", run.stderr);
}

#[test]
fn signature_cvm_is_reported_for_the_receipt() {
    // Profile cvm-signature: CVM list 1E00, CVM results 1E0000 (unknown):
    // the receipt needs the cardholder's signature (Book 3, 10.5).
    let (signature, _) = on_card("cvm-signature", &[]);
    assert_eq!(text(&signature, "cvm_results"), "1E0000");
    assert_eq!(signature["signature_required"], true);
    let (no_cvm, _) = on_card("cvm-no-cvm", &[]);
    assert_eq!(text(&no_cvm, "cvm_results"), "1F0002");
    assert_eq!(no_cvm["signature_required"], false);
}

#[test]
fn pin_is_prompted_on_a_terminal_with_echo_off() {
    // `script` (util-linux) gives the command a pseudo-terminal; the PIN is
    // typed only once the prompt is shown, so an echo would be visible.
    let script = Path::new("/usr/bin/script");
    if !script.exists() {
        eprintln!("skipped: /usr/bin/script (util-linux) not installed");
        return;
    }
    let command = format!(
        "{} transact --no-journal --amount 10.00 --card cvm-enciphered-pin --date 251124 --time 120000",
        env!("CARGO_BIN_EXE_emv-terminal")
    );
    let mut child = Command::new(script)
        .args(["-qec", &command, "/dev/null"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("script");
    let mut stdout = child.stdout.take().unwrap();
    let (sender, receiver) = std::sync::mpsc::channel::<Vec<u8>>();
    let reader = std::thread::spawn(move || {
        let mut buffer = [0u8; 4096];
        while let Ok(n) = std::io::Read::read(&mut stdout, &mut buffer) {
            if n == 0 || sender.send(buffer[..n].to_vec()).is_err() {
                break;
            }
        }
    });
    let mut output = Vec::new();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while !String::from_utf8_lossy(&output).contains("Enter offline enciphered PIN") {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        match receiver.recv_timeout(left) {
            Ok(chunk) => output.extend_from_slice(&chunk),
            Err(_) => {
                let _ = child.kill();
                panic!("no PIN prompt: {}", String::from_utf8_lossy(&output));
            }
        }
    }
    // rpassword writes the prompt, then turns echo off: type like a person,
    // not within the same millisecond (type-ahead would be echoed).
    std::thread::sleep(std::time::Duration::from_millis(300));
    {
        let mut stdin = child.stdin.take().unwrap();
        std::io::Write::write_all(&mut stdin, b"1234\n").unwrap();
    }
    let status = child.wait().unwrap();
    reader.join().unwrap();
    while let Ok(chunk) = receiver.try_recv() {
        output.extend_from_slice(&chunk);
    }
    let text = String::from_utf8_lossy(&output);
    assert!(status.success(), "{text}");
    assert!(text.contains("CVM results:            040002"), "{text}");
    assert!(
        text.contains("APPROVED offline (card answered TC)"),
        "{text}"
    );
    assert!(
        !text.contains("1234"),
        "the PIN was echoed or printed: {text}"
    );
}

#[test]
fn every_profile_ends_in_one_json_outcome_with_its_exit_status() {
    // Hostile cards included: no panic, no hang, one object, status 0/2/3.
    for profile in emv_test_cards::profiles::all() {
        let (json, run) = on_card(profile.name, &["--test-pin", "1234"]);
        let expected_code = match text(&json, "decision") {
            "approved" => 0,
            "declined" => 2,
            "terminated" => 3,
            other => panic!("{}: outcome {other}", profile.name),
        };
        assert_eq!(run.code, expected_code, "{}: {}", profile.name, run.stderr);
        assert!(is_hex(text(&json, "tvr"), 10), "{}", profile.name);
        assert!(
            !run.stderr.contains("panicked"),
            "{}: {}",
            profile.name,
            run.stderr
        );
        if text(&json, "decision") == "terminated" {
            assert!(
                json["termination_reason"]["code"].is_string(),
                "{}: {json}",
                profile.name
            );
        }
    }
}

#[test]
fn offline_limit_on_an_offline_only_terminal_declines_with_the_reason() {
    // Terminal type 23 cannot go online: a transaction the offline limits
    // force online is declined offline (AAC, Z1), the reason reported.
    let dir = tempfile::tempdir().unwrap();
    let journal = dir.path().join("journal.db");
    let key = dir.path().join("journal.key");
    let config = dir.path().join("terminal.toml");
    std::fs::write(
        &config,
        "[terminal]\nterminal_type = \"23\"\nonline_capable = false\n[offline_limits]\nmax_offline_approvals = 0\n",
    )
    .unwrap();
    let (j, k, c) = (
        journal.to_str().unwrap(),
        key.to_str().unwrap(),
        config.to_str().unwrap(),
    );
    let run = emv_terminal(&journal_args(
        j,
        k,
        &["--amount", "10.00", "--card", "cda", "--config", c],
    ));
    assert_eq!(run.code, 2, "{}", run.stderr);
    let json = run.json();
    assert_eq!(text(&json, "decision"), "declined");
    assert_eq!(text(&json, "mode"), "offline");
    assert_eq!(text(&json, "authorisation_response_code"), "Z1");
    assert!(
        bit(&json, "tvr", 4, 0x08),
        "TVR byte 4 b4: merchant forced transaction online"
    );
    assert!(
        text(&json, "forced_online_reason").contains("limit 0"),
        "{json}"
    );
    let opened = Journal::open(&journal, &KeySource::existing(&key)).unwrap();
    assert_eq!(opened.get(RecordId(1)).unwrap().state, State::Declined);
}

/// Book 4, 11.1 and 11.2 (ICS rows 16 and 90): `transact` shows the
/// kernel's messages as step lines and lists them in the JSON in the chosen
/// language. The test cards prefer `en` then `fr`: a terminal configured
/// with French and German shows French; with the default (English first),
/// English. A PIN card shows ENTER PIN and PIN OK.
#[test]
fn messages_are_shown_in_the_language_the_card_prefers() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("terminal.toml");
    std::fs::write(&config, "[terminal]\nlanguages = [\"de\", \"fr\"]\n").unwrap();
    let (json, run) = on_card("cda", &["--config", config.to_str().unwrap()]);
    assert_eq!(text(&json, "language"), "fr", "{}", run.stderr);
    let messages = json["messages"].as_array().expect("messages");
    let codes: Vec<&str> = messages
        .iter()
        .map(|m| m["code"].as_str().unwrap())
        .collect();
    assert_eq!(codes, ["approved", "remove_card"]);
    assert_eq!(messages[0]["id"], "03");
    assert_eq!(messages[0]["text"], "ACCEPTÉ");
    assert!(
        run.stderr.contains("[message 10] RETIREZ LA CARTE"),
        "{}",
        run.stderr
    );

    let (json, run) = on_card("cvm-offline-pin", &["--test-pin", "1234"]);
    assert_eq!(text(&json, "language"), "en");
    let texts: Vec<&str> = json["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["text"].as_str().unwrap())
        .collect();
    assert_eq!(
        texts,
        ["ENTER PIN", "PIN OK", "APPROVED", "REMOVE CARD"],
        "{}",
        run.stderr
    );
}

/// EMV 4.4 XDA: with the XDA terminal configuration (9F33 byte 3 b3) the
/// ECC test card approves offline with `oda: xda`; a failure profile names
/// its check; the default terminal does not perform XDA.
#[test]
fn xda_card_approves_offline_with_the_xda_terminal() {
    let config = Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/terminal.xda.toml");
    let config = config.to_str().unwrap();
    let (json, run) = on_card("xda", &["--config", config]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(text(&json, "decision"), "approved");
    assert_eq!(text(&json, "oda"), "xda");
    assert_eq!(text(&json, "oda_result"), "ok");
    let (json, _) = on_card("xda-revoked-issuer-cert", &["--config", config]);
    assert_eq!(text(&json, "oda"), "xda");
    assert_eq!(
        json["oda_failure"]["code"], "issuer_certificate.revoked",
        "{json}"
    );
    let (json, _) = on_card("xda", &[]);
    assert_eq!(text(&json, "oda"), "none");
}
