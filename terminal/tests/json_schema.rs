//! The JSON contract: real outputs of `transact --json` and `decode --json`, on cards
//! that approve, decline, terminate, fail ODA, go online and run issuer scripts, are
//! validated against the committed JSON Schemas in `docs/schema/`.

use std::path::PathBuf;
use std::process::{Command, Stdio};

use serde_json::Value;

fn schema(name: &str) -> jsonschema::Validator {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../docs/schema")
        .join(name);
    let text = std::fs::read_to_string(&path).expect("schema file");
    let schema: Value = serde_json::from_str(&text).expect("schema is JSON");
    jsonschema::meta::validate(&schema).expect("a valid draft 2020-12 schema");
    jsonschema::validator_for(&schema).expect("schema compiles")
}

/// Runs emv-terminal with `args`; returns stdout parsed and the exit status.
fn run(args: &[&str]) -> (Value, i32) {
    let output = Command::new(env!("CARGO_BIN_EXE_emv-terminal"))
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("run emv-terminal");
    let stdout = String::from_utf8(output.stdout).expect("utf-8");
    let value = serde_json::from_str(&stdout).unwrap_or_else(|e| {
        panic!(
            "{args:?}: {e}: {stdout}\n{}",
            String::from_utf8_lossy(&output.stderr)
        )
    });
    (value, output.status.code().unwrap_or(-1))
}

fn assert_valid(validator: &jsonschema::Validator, value: &Value, what: &str) {
    let errors: Vec<String> = validator
        .iter_errors(value)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "{what}: {errors:#?}\n{value:#}");
}

#[test]
fn transact_outputs_match_the_schema() {
    let validator = schema("transact.schema.json");
    let base = [
        "transact",
        "--no-journal",
        "--json",
        "--amount",
        "10.00",
        "--date",
        "251124",
        "--time",
        "120000",
        "--unpredictable-number",
        "01020304",
        "--random-number",
        "50",
        "--test-pin",
        "1234",
    ];
    let mut decisions = std::collections::BTreeSet::new();
    for profile in emv_test_cards::profiles::all() {
        let mut args = base.to_vec();
        args.extend(["--card", profile.name]);
        let (value, code) = run(&args);
        assert_valid(&validator, &value, profile.name);
        let expected = match value["decision"].as_str() {
            Some("approved") => 0,
            Some("declined") => 2,
            _ => 3,
        };
        assert_eq!(code, expected, "{}: {value}", profile.name);
        decisions.insert(value["decision"].as_str().unwrap_or_default().to_owned());
    }
    assert_eq!(
        decisions.len(),
        3,
        "all three decisions seen: {decisions:?}"
    );
    // Online with an ARPC and issuer scripts.
    let mut args = base.to_vec();
    args.extend([
        "--card",
        "card-online",
        "--host",
        "approve",
        "--issuer-script",
        "04DA9F14:05",
    ]);
    let (value, _) = run(&args);
    assert_valid(&validator, &value, "card-online with scripts");
    assert_eq!(value["authorisation_response_code"], "00");
    assert!(value["script_results"].is_string(), "{value}");
    // A mutation the schema must catch: the old cryptogram field, a hex ATC.
    let mut old = value.clone();
    old["atc"] = Value::from("0011");
    assert!(!validator.is_valid(&old), "a hex ATC is refused");
    let mut old = value;
    old["cryptogram"] = Value::from("TC");
    assert!(!validator.is_valid(&old), "unknown fields are refused");
}

#[test]
fn decode_outputs_match_the_schema() {
    let validator = schema("decode.schema.json");
    for input in [
        &["6F1E840E315041592E5359532E4444463031A50C8801015F2D02656E9F110101"][..],
        &["770A82021980940408010301", "9000"],
        &["9F02060000000010005A0847617390010100109F3400"],
        &["DF7F0101"],
        &["5F280200565F2A0209785F2D04656E66725F550242459F3B0200015F2D027A7A"],
        &["--context", "gpo", "800e1c00080101001001010018030400"],
        &["--field", "tvr", "8000048000"],
        &["--field", "sw", "6A82"],
        &[
            "--context",
            "genac",
            "8012800001112233445566778806010A03A000006985",
        ],
        // APDU logs: lines given as arguments, and a pcsc-spy log.
        &[
            "C-APDU: 00 A4 04 00 07 A0 00 00 09 99 10 10 00",
            "R-APDU: 6F 0F 84 07 A0 00 00 09 99 10 10 A5 04 9F 38 01 9A 90 00",
            "> 80A80000058303250615 00",
            "< 800A1C000801010010010100 9000",
            "> 0020008008241234FFFFFFFFFF",
            "< 6A",
            "< 6983",
        ],
        &[
            "-f",
            concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../tests/traces/pcsc-spy/cda-through-pcscd.log"
            ),
        ],
    ] {
        let mut args = vec!["decode", "--json"];
        args.extend_from_slice(input);
        let (value, code) = run(&args);
        assert_eq!(code, 0, "{input:?}");
        assert_valid(&validator, &value, &input.join(" "));
    }
}

/// Runs emv-terminal; returns stdout as text, failing on a non-zero status.
fn run_text(args: &[String]) -> String {
    emv_test_support::run_ok(args)
}

#[test]
fn journal_and_sync_outputs_match_their_schemas() {
    use emv_test_support::{paths, strings, AcquirerProcess};
    let record_schema = schema("journal-record.schema.json");
    let status_schema = schema("journal-status.schema.json");
    let sync_schema = schema("sync.schema.json");
    let p = paths();
    let journal_args = p.args();
    // Real transactions into the journal: offline, online with the host, declined.
    for (card, host) in [
        ("cda", None),
        ("card-online", Some("approve")),
        ("card-declines", None),
    ] {
        let mut args = strings(&[
            "transact", "--card", card, "--amount", "12.50", "--date", "251124", "--time",
            "120000", "--json",
        ]);
        args.extend(journal_args.iter().cloned());
        if let Some(host) = host {
            args.extend(strings(&["--host", host]));
        }
        let out = emv_test_support::run(&args);
        assert!(!out.stdout.is_empty(), "{card}: {out:?}");
    }
    // An approval committed but never shown (no transact printed it): listed by status.
    let mut journal = p.open();
    let unshown = emv_test_support::record(
        &mut journal,
        4321,
        emv_journal::Outcome::Approved,
        emv_journal::Mode::Offline,
        1_796_000_000,
    );
    drop(journal);
    let check_records = |what: &str| {
        let mut args = strings(&["journal", "list", "--json"]);
        args.extend(journal_args.iter().cloned());
        let listed = run_text(&args);
        let mut lines = 0;
        for line in listed.lines() {
            let value: Value = serde_json::from_str(line).expect("a JSON line");
            assert_valid(&record_schema, &value, what);
            lines += 1;
        }
        assert!(lines >= 3, "{what}: {listed}");
        let mut args = strings(&["journal", "export", "--format", "json"]);
        args.extend(journal_args.iter().cloned());
        let exported: Value = serde_json::from_str(&run_text(&args)).expect("JSON");
        for value in exported.as_array().expect("an array") {
            assert_valid(&record_schema, value, what);
        }
        let mut args = strings(&["journal", "show", "2"]);
        args.extend(journal_args.iter().cloned());
        let shown: Value = serde_json::from_str(&run_text(&args)).expect("JSON");
        assert_valid(&record_schema, &shown, what);
        shown
    };
    let shown = check_records("before sync");
    // One spelling per value: the online record's ARC as in transact --json.
    assert_eq!(shown["authorisation_response_code"], "00", "{shown:#}");
    assert_eq!(shown["currency_code"], "978", "{shown:#}");
    assert_eq!(
        shown["shown"], "merchant",
        "transact marked it shown: {shown:#}"
    );
    let mut args = strings(&["journal", "status", "--json"]);
    args.extend(journal_args.iter().cloned());
    let status: Value = serde_json::from_str(&run_text(&args)).expect("JSON");
    assert_valid(&status_schema, &status, "status");
    assert!(
        status["offline_exposure"]["oldest_created_at"].is_string(),
        "{status:#}"
    );
    assert_eq!(status["unshown"], 1, "{status:#}");
    let listed = &status["unshown_approvals"][0];
    assert_eq!(listed["id"], unshown.0, "{status:#}");
    assert_eq!(listed["amount_authorised"], 4321, "{status:#}");
    assert_eq!(listed["masked_pan"], "541333******0608", "{status:#}");
    assert_eq!(listed["completed_at"], "2026-11-30T00:53:21Z", "{status:#}");

    let acquirer = AcquirerProcess::start(&p.dir.path().join("acquirer.db"), &[]);
    let mut args = strings(&["sync", "--json", "--url", &acquirer.url, "--ca"]);
    args.push(acquirer.ca.display().to_string());
    args.extend(journal_args.iter().cloned());
    let synced: Value = serde_json::from_str(&run_text(&args)).expect("JSON");
    assert_valid(&sync_schema, &synced, "sync");
    assert_eq!(synced["acknowledged"], 3, "{synced:#}");
    assert_eq!(synced["remaining"], 0, "{synced:#}");
    let shown = check_records("after sync");
    assert!(shown["receipt"].is_object(), "{shown:#}");
    assert_eq!(shown["sync_state"], "synced");
    // Mutations the schemas must catch: the old spellings.
    let mut old = shown.clone();
    old["authorisation_response_code"] = Value::from("3030");
    assert!(!record_schema.is_valid(&old), "a hex ARC is refused");
    let mut old = shown;
    old["currency_code"] = Value::from(978);
    assert!(
        !record_schema.is_valid(&old),
        "a numeric currency is refused"
    );
    let mut old = status.clone();
    old["offline_exposure"]["oldest_created_at"] = Value::from(1_796_249_691u64);
    assert!(!status_schema.is_valid(&old), "epoch seconds are refused");
    let mut old = status;
    old.as_object_mut()
        .expect("an object")
        .remove("unshown_approvals");
    assert!(
        !status_schema.is_valid(&old),
        "the approvals committed but not shown are part of the contract"
    );
}

#[test]
fn replay_output_matches_its_schema() {
    let validator = schema("replay.schema.json");
    let corpus = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/traces");
    let dir = tempfile::tempdir().expect("tempdir");
    // One trace that passes and one whose recorded outcome was changed by hand.
    let good = dir.path().join("cda.trace");
    std::fs::copy(corpus.join("cda.trace"), &good).expect("copy");
    let text = std::fs::read_to_string(&good).expect("read");
    let bad = dir.path().join("cda-edited.trace");
    let edited = text.replacen("expect outcome approved", "expect outcome declined", 1);
    assert_ne!(edited, text, "the trace names its decision");
    std::fs::write(&bad, edited).expect("write");
    let output = Command::new(env!("CARGO_BIN_EXE_emv-terminal"))
        .args(["replay", "--json"])
        .arg(dir.path())
        .output()
        .expect("run");
    assert_eq!(output.status.code(), Some(1), "one trace fails");
    let value: Value = serde_json::from_slice(&output.stdout).expect("one JSON document");
    assert_valid(&validator, &value, "replay");
    assert_eq!(value["passed"], 1, "{value:#}");
    assert_eq!(value["failed"], 1, "{value:#}");
    let results: Vec<&str> = value["traces"]
        .as_array()
        .expect("traces")
        .iter()
        .map(|t| t["result"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(results, ["failed", "passed"], "{value:#}");
}
