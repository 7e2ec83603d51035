//! `emv-terminal transact --reader ... --host-file FILE`: online processing
//! with a card in a PC/SC reader, as with a real card.
//!
//! The `issuer-scripts` test card is served into pcscd's second virtual
//! reader (`emv_test_cards::vpcd`), so the terminal sees it only through
//! PC/SC; the host simulator knows nothing of it but what the host file says.
//! Runs in both builds: `cargo test -p emv-terminal --test host_file_pcscd`
//! and, for the shipped binary without simulated cards,
//! `cargo test -p emv-terminal --no-default-features --test host_file_pcscd`.
//! Needs pcscd with vsmartcard-vpcd: `scripts/pcscd.sh start` and
//! `EMV_PCSCD=1`. Without it each test prints "skipped: set EMV_PCSCD=1".

mod vpcd_reader;
use vpcd_reader::{pcscd, wait_empty, READER};

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use emv_test_cards::vpcd::{ServedCard, VPCD_PORT_1};
use emv_test_cards::vpcd_card::VpcdCard;
use emv_test_cards::{pki, profiles};
use serde_json::Value;

/// An example host file of docs/host, copied to `dir` with mode 0600.
fn host_file(dir: &Path, name: &str) -> PathBuf {
    let source = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../docs/host")
        .join(name);
    let path = dir.join(name);
    std::fs::copy(&source, &path).unwrap_or_else(|e| panic!("{}: {e}", source.display()));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    path
}

struct Run {
    code: i32,
    json: Value,
    stderr: String,
}

/// Serves a fresh `issuer-scripts` card in the reader and runs `transact --json` for
/// 10.00 on it with the host file `host` (and the test CA keys as a capk.txt file, which
/// the build without simulated cards needs).
fn transact_with_host(dir: &Path, host: &Path) -> Run {
    let capk = dir.join("capk.txt");
    std::fs::write(&capk, pki::CAPK_TXT).unwrap();
    let card = VpcdCard::new(profiles::find("issuer-scripts").expect("profile").card());
    let served =
        ServedCard::insert(VPCD_PORT_1, card, Duration::from_secs(5)).expect("vpcd reachable");
    let reader = format!("={READER}");
    let output = Command::new(env!("CARGO_BIN_EXE_emv-terminal"))
        .args([
            "transact",
            "--amount",
            "10.00",
            "--reader",
            &reader,
            "--wait-card",
            "10",
            "--date",
            "251124",
            "--time",
            "120000",
            "--no-journal",
            "--json",
            "--capk",
        ])
        .arg(&capk)
        .arg("--host-file")
        .arg(host)
        .stdin(Stdio::null())
        .output()
        .expect("run emv-terminal");
    served.remove();
    assert!(wait_empty(), "the card left the reader");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    let json =
        serde_json::from_str(stdout.trim()).unwrap_or_else(|e| panic!("{e}: {stdout}\n{stderr}"));
    Run {
        code: output.status.code().unwrap_or(-1),
        json,
        stderr,
    }
}

fn text<'a>(json: &'a Value, key: &str) -> &'a str {
    json[key].as_str().unwrap_or_default()
}

/// Whether bit `mask` of byte `byte` (from 1) of the hex field `key` is set.
fn bit(json: &Value, key: &str, byte: usize, mask: u8) -> bool {
    let bytes = hex::decode(text(json, key)).unwrap_or_default();
    bytes.get(byte - 1).is_some_and(|b| b & mask != 0)
}

#[test]
fn a_keys_host_file_authenticates_the_issuer_and_delivers_its_script() {
    let Some(_reader) = pcscd() else { return };
    let dir = tempfile::tempdir().unwrap();
    let host = host_file(dir.path(), "test-cards-keys.toml");
    let run = transact_with_host(dir.path(), &host);
    let json = &run.json;
    assert_eq!(run.code, 0, "{json}\n{}", run.stderr);
    assert_eq!(text(json, "decision"), "approved");
    assert_eq!(text(json, "mode"), "online");
    assert_eq!(text(json, "authorisation_response_code"), "00");
    assert_eq!(text(json, "card_cryptogram"), "TC");
    // Book 3, 10.9 and 10.10: issuer authentication performed and not failed,
    // script processing performed and not failed.
    assert!(
        bit(json, "tsi", 1, 0x10),
        "TSI issuer authentication: {json}"
    );
    assert!(bit(json, "tsi", 1, 0x04), "TSI script processing: {json}");
    assert!(
        !bit(json, "tvr", 5, 0x40),
        "TVR issuer authentication failed: {json}"
    );
    assert!(
        !bit(json, "tvr", 5, 0x10),
        "TVR script failed after: {json}"
    );
    // Issuer Script Results (9F5B): 2 = processed successfully, script id 00000001.
    assert_eq!(text(json, "script_results"), "2000000001", "{json}");
    let note = text(json, "host");
    assert!(
        note.contains("host file")
            && note.contains("ARQC verified")
            && note.contains("template(s) 72"),
        "{note}"
    );
    assert!(
        run.stderr.contains("EXTERNAL AUTHENTICATE"),
        "{}",
        run.stderr
    );
    // The keys never reach the output.
    for key in ["0E1F2C3D4A5B6879", "F1E0D3C2B5A49786"] {
        assert!(!run.stderr.contains(key) && !json.to_string().contains(key));
    }
}

#[test]
fn a_keys_host_file_script_in_template_71_runs_before_the_final_generate_ac() {
    let Some(_reader) = pcscd() else { return };
    let dir = tempfile::tempdir().unwrap();
    let host = host_file(dir.path(), "test-cards-keys.toml");
    let before = std::fs::read_to_string(&host)
        .unwrap()
        .replace("template = 72", "template = 71")
        .replace("\"00000001\"", "\"00000002\"");
    std::fs::write(&host, before).unwrap();
    let run = transact_with_host(dir.path(), &host);
    let json = &run.json;
    assert_eq!(run.code, 0, "{json}\n{}", run.stderr);
    assert_eq!(text(json, "decision"), "approved");
    assert!(bit(json, "tsi", 1, 0x04), "TSI script processing: {json}");
    assert!(
        !bit(json, "tvr", 5, 0x20),
        "TVR script failed before: {json}"
    );
    assert_eq!(text(json, "script_results"), "2000000002", "{json}");
    // Template 71 runs before the second GENERATE AC (Book 3, 10.10).
    let script = run
        .stderr
        .find("] issuer script command P1")
        .expect("script step");
    let second = run
        .stderr
        .find("[second GENERATE AC]")
        .expect("second GENERATE AC");
    assert!(script < second, "{}", run.stderr);
}

#[test]
fn a_fixed_decline_declines_without_issuer_authentication() {
    let Some(_reader) = pcscd() else { return };
    let dir = tempfile::tempdir().unwrap();
    let host = host_file(dir.path(), "fixed-decline.toml");
    let run = transact_with_host(dir.path(), &host);
    let json = &run.json;
    assert_eq!(run.code, 2, "{json}\n{}", run.stderr);
    assert_eq!(text(json, "decision"), "declined");
    assert_eq!(text(json, "mode"), "online");
    assert_eq!(text(json, "authorisation_response_code"), "05");
    assert_eq!(text(json, "card_cryptogram"), "AAC");
    assert!(
        !bit(json, "tsi", 1, 0x10),
        "no issuer authentication: {json}"
    );
    assert!(text(json, "host").contains("fixed answer"), "{json}");
}

#[test]
fn a_fixed_answer_with_a_bad_arpc_sets_issuer_authentication_failed() {
    let Some(_reader) = pcscd() else { return };
    let dir = tempfile::tempdir().unwrap();
    let host = host_file(dir.path(), "fixed-bad-arpc.toml");
    let run = transact_with_host(dir.path(), &host);
    let json = &run.json;
    // Book 3, 10.9: EXTERNAL AUTHENTICATE answered 6300; TVR byte 5 b7.
    assert!(
        bit(json, "tsi", 1, 0x10),
        "TSI issuer authentication: {json}"
    );
    assert!(
        bit(json, "tvr", 5, 0x40),
        "TVR issuer authentication failed: {json}"
    );
    // The test card declines in the second GENERATE AC when issuer authentication
    // failed (test-cards/PROFILES.md, card risk).
    assert_eq!(text(json, "card_cryptogram"), "AAC", "{json}");
    assert_eq!(run.code, 2, "{json}\n{}", run.stderr);
}

#[test]
fn a_world_readable_keys_file_is_refused_before_the_card_is_touched() {
    // No pcscd needed: the file is checked before the reader is opened.
    let dir = tempfile::tempdir().unwrap();
    let host = host_file(dir.path(), "test-cards-keys.toml");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&host, std::fs::Permissions::from_mode(0o644)).unwrap();
        let capk = dir.path().join("capk.txt");
        std::fs::write(&capk, pki::CAPK_TXT).unwrap();
        let output = Command::new(env!("CARGO_BIN_EXE_emv-terminal"))
            .args([
                "transact",
                "--amount",
                "1.00",
                "--reader",
                "=No Such Reader",
                "--no-journal",
                "--capk",
            ])
            .arg(&capk)
            .arg("--host-file")
            .arg(&host)
            .stdin(Stdio::null())
            .output()
            .expect("run emv-terminal");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(1), "{stderr}");
        assert!(
            stderr.contains("chmod 600") && stderr.contains("test-cards-keys.toml"),
            "{stderr}"
        );
        assert!(!stderr.contains("0E1F2C3D"), "{stderr}");
    }
}
