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
        &["--context", "gpo", "800e1c00080101001001010018030400"],
        &[
            "--context",
            "genac",
            "8012800001112233445566778806010A03A000006985",
        ],
    ] {
        let mut args = vec!["decode", "--json"];
        args.extend_from_slice(input);
        let (value, code) = run(&args);
        assert_eq!(code, 0, "{input:?}");
        assert_valid(&validator, &value, &input.join(" "));
    }
}
