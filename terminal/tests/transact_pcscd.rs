//! `emv-terminal transact --reader` when the card leaves the reader in the
//! middle of a transaction: the transaction is terminated (transport failed)
//! and the report names the PC/SC reason (card removed), in text and in
//! `--json`; with a journal, the record written before GENERATE AC is
//! completed as terminated.
//!
//! A test card is served into pcscd's second virtual reader through
//! `emv_test_cards::vpcd` and pulled out when a given command arrives. Needs pcscd
//! with vsmartcard-vpcd: run through `scripts/test.sh`, or
//! `scripts/pcscd.sh start` and `EMV_PCSCD=1`. Without it each test prints
//! "skipped: set EMV_PCSCD=1" and passes.

mod vpcd_reader;
use vpcd_reader::{pcscd, wait_empty, READER};

use std::process::{Command, Stdio};
use std::time::Duration;

use emv_journal::{Journal, KeySource, RecordId, State};
use emv_test_cards::profiles;
use emv_test_cards::vpcd::{ServedCard, VPCD_PORT_1};
use emv_test_cards::vpcd_card::VpcdCard;
use serde_json::Value;

/// GENERATE AC and READ RECORD instruction bytes.
const GENERATE_AC: u8 = 0xAE;
const READ_RECORD: u8 = 0xB2;

/// How `PcscError::CardRemoved` reads.
const CARD_REMOVED: &str = "card removed or powered off";

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

/// Serves a fresh `profile` card, pulled before `instruction`, and runs
/// `transact` for 10.00 on the reader with `extra` options.
fn transact_pulled(profile: &str, instruction: u8, extra: &[&str]) -> Run {
    let card = VpcdCard::new(profiles::find(profile).expect("profile").card())
        .pulled_before_instruction(instruction);
    let served =
        ServedCard::insert(VPCD_PORT_1, card, Duration::from_secs(5)).expect("vpcd reachable");
    let reader = format!("={READER}");
    let mut args = vec![
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
    ];
    args.extend_from_slice(extra);
    let output = Command::new(env!("CARGO_BIN_EXE_emv-terminal"))
        .args(&args)
        .stdin(Stdio::null())
        .env_remove("EMV_JOURNAL_KEY_FILE")
        .output()
        .expect("run emv-terminal");
    served.remove();
    assert!(wait_empty(), "the pulled card left the reader");
    Run {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

#[test]
fn card_pulled_during_generate_ac_is_reported_as_removed_in_json_and_journal() {
    let Some(_reader) = pcscd() else { return };
    let dir = tempfile::tempdir().unwrap();
    let journal = dir.path().join("journal.db");
    let key = dir.path().join("journal.key");
    let run = transact_pulled(
        "cda",
        GENERATE_AC,
        &[
            "--json",
            "--journal",
            journal.to_str().unwrap(),
            "--journal-key",
            key.to_str().unwrap(),
        ],
    );
    assert_eq!(run.code, 3, "terminated: {}", run.stderr);
    let report: Value = serde_json::from_str(run.stdout.trim())
        .unwrap_or_else(|e| panic!("{e}: {}\n{}", run.stdout, run.stderr));
    assert_eq!(report["decision"], "terminated");
    assert_eq!(
        report["termination_reason"]["text"],
        format!("card transport failed: {CARD_REMOVED}"),
        "{}",
        run.stderr
    );
    assert_eq!(report["termination_reason"]["code"], "transport_failed");
    assert!(report["application_cryptogram"].is_null());
    // The record written before GENERATE AC is closed, not left pending.
    let id = report["journal_record"].as_i64().expect("journal record");
    let opened = Journal::open(&journal, &KeySource::existing(&key)).unwrap();
    assert_eq!(opened.get(RecordId(id)).unwrap().state, State::Terminated);
}

#[test]
fn card_pulled_during_read_record_is_reported_as_removed_in_text() {
    let Some(_reader) = pcscd() else { return };
    let run = transact_pulled("dda", READ_RECORD, &["--no-journal"]);
    assert_eq!(run.code, 3, "terminated: {}", run.stderr);
    let reason = run
        .stdout
        .lines()
        .find(|line| line.trim_start().starts_with("reason:"))
        .unwrap_or_else(|| panic!("no reason line:\n{}", run.stdout));
    assert!(
        reason.ends_with(&format!("card transport failed: {CARD_REMOVED}")),
        "{reason}"
    );
    // The step line of the READ RECORD (of the PSE directory) that got no answer.
    assert!(run.stdout.contains("READ RECORD"), "{}", run.stdout);
}
