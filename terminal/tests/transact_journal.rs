//! `transact` and its journal: the Transaction Sequence Counter (9F41) after pruning.

use std::process::{Command, Stdio};

use emv_kernel::tlv::{self, Tag};
use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_emv-terminal");

/// Runs the binary; returns the exit code and stdout.
fn emv_terminal(args: &[&str]) -> (i32, String, String) {
    let output = Command::new(BIN)
        .args(args)
        .stdin(Stdio::null())
        .env_remove("EMV_JOURNAL_KEY_FILE")
        .env_remove("EMV_TERMINAL_PAUSE_BEFORE_COMMIT_MS")
        .output()
        .expect("run emv-terminal");
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// `transact --json` on `card` with the journal; returns the JSON report.
fn transact(journal: &str, key: &str, card: &str, amount: &str) -> Value {
    let (_, stdout, stderr) = emv_terminal(&[
        "transact",
        "--json",
        "--amount",
        amount,
        "--card",
        card,
        "--journal",
        journal,
        "--journal-key",
        key,
    ]);
    serde_json::from_str(stdout.trim()).unwrap_or_else(|e| panic!("{e}: {stdout}\n{stderr}"))
}

/// The Transaction Sequence Counter (9F41) in the report's ICC data.
fn sequence_counter(report: &Value) -> u32 {
    let icc = hex::decode(report["icc_data"].as_str().expect("icc_data")).expect("hex");
    let value = tlv::find(&icc, Tag(0x9F41)).expect("9F41 in the ICC data");
    value.iter().fold(0u32, |n, byte| {
        n * 100 + u32::from(byte >> 4) * 10 + u32::from(byte & 0x0F)
    })
}

/// Book 4, Annex A1: the Transaction Sequence Counter is incremented for each transaction.
/// It comes from the journal's next record id, which never goes back, so pruning the
/// records does not make it repeat (it was the record count plus one before).
#[test]
fn sequence_counter_does_not_repeat_after_prune() {
    let dir = tempfile::tempdir().unwrap();
    let journal = dir.path().join("journal.db");
    let key = dir.path().join("journal.key");
    let (j, k) = (journal.to_str().unwrap(), key.to_str().unwrap());
    let first = transact(j, k, "card-declines", "10.00");
    let second = transact(j, k, "card-declines", "11.00");
    assert_eq!(first["outcome"], "declined");
    assert_eq!(
        (sequence_counter(&first), sequence_counter(&second)),
        (1, 2)
    );

    // Declined records need no sync: prune deletes both.
    let (code, stdout, stderr) = emv_terminal(&[
        "journal",
        "prune",
        "--synced-before",
        "2099-01-01",
        "--journal",
        j,
        "--journal-key",
        k,
    ]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    let (_, status, _) = emv_terminal(&[
        "journal",
        "status",
        "--json",
        "--journal",
        j,
        "--journal-key",
        k,
    ]);
    let status: Value = serde_json::from_str(status.trim()).expect("status JSON");
    assert_eq!(status["records"], 0, "{status}");

    let third = transact(j, k, "cda", "12.00");
    assert_eq!(third["outcome"], "approved");
    assert_eq!(third["journal_record"], 3);
    assert_eq!(sequence_counter(&third), 3, "9F41 after prune: {third}");
}
