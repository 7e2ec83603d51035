//! `transact` and its journal: the Transaction Sequence Counter (9F41) after pruning, and
//! split sales (Book 3, 10.6.1): the journal's lookup and `transact` answering the
//! kernel's request with it.

use std::process::{Command, Stdio};

use emv_journal::{Journal, KeySource, Mode, Outcome, RecordId};
use emv_kernel::tlv::{self, Tag};
use emv_test_support::{at, completion, paths, pending, record, PAN_BCD};
use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_emv-terminal");

/// The journal opened as `journal verify` opens it (a reader: a writer refuses a broken chain).
fn reader(p: &emv_test_support::Paths) -> Journal {
    Journal::open_with(
        &p.journal,
        &KeySource::existing(&p.key),
        &emv_journal::OpenOptions {
            shared: true,
            ..Default::default()
        },
    )
    .expect("open journal as a reader")
}

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
    assert_eq!(first["decision"], "declined");
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
    assert_eq!(third["decision"], "approved");
    assert_eq!(third["journal_record"], 3);
    assert_eq!(sequence_counter(&third), 3, "9F41 after prune: {third}");
}

/// Another card's PAN (BCD).
const OTHER_PAN: [u8; 8] = [0x54, 0x13, 0x33, 0x00, 0x89, 0x01, 0x06, 0x16];

/// Book 3, 10.6.1: the journal finds the most recent approval of the same card on the same
/// day by its keyed PAN index, across a key rotation; declines, other cards and other days
/// do not count.
#[test]
fn recent_amount_same_card_is_the_most_recent_approval_of_that_card_that_day() {
    let p = paths();
    let mut journal = p.open();
    let today = pending(0).transaction_date;
    assert_eq!(journal.recent_amount_same_card(&PAN_BCD, today).unwrap(), 0);
    record(&mut journal, 6000, Outcome::Approved, Mode::Offline, 1_000);
    assert_eq!(
        journal.recent_amount_same_card(&PAN_BCD, today).unwrap(),
        6000
    );
    record(&mut journal, 2500, Outcome::Approved, Mode::Online, 1_010);
    record(&mut journal, 9900, Outcome::Declined, Mode::Offline, 1_020);
    // Pending (no outcome yet) does not count either.
    journal.begin_pending(&pending(7700), at(1_030)).unwrap();
    assert_eq!(
        journal.recent_amount_same_card(&PAN_BCD, today).unwrap(),
        2500
    );
    assert_eq!(
        journal.recent_amount_same_card(&OTHER_PAN, today).unwrap(),
        0
    );
    assert_eq!(
        journal
            .recent_amount_same_card(&PAN_BCD, [0x26, 0x11, 0x26])
            .unwrap(),
        0
    );
    // The other card's approval is its own.
    let mut other = pending(1234);
    other.pan = OTHER_PAN.to_vec();
    other.track2_equivalent = None;
    let id = journal.begin_pending(&other, at(1_040)).unwrap();
    journal
        .complete(id, &completion(Outcome::Approved, Mode::Offline), at(1_041))
        .unwrap();
    assert_eq!(
        journal.recent_amount_same_card(&OTHER_PAN, today).unwrap(),
        1234
    );
    // After a key rotation the earlier approvals are still found, and new ones win.
    journal.rotate_key().unwrap();
    assert_eq!(
        journal.recent_amount_same_card(&PAN_BCD, today).unwrap(),
        2500
    );
    record(&mut journal, 4200, Outcome::Approved, Mode::Offline, 1_050);
    assert_eq!(
        journal.recent_amount_same_card(&PAN_BCD, today).unwrap(),
        4200
    );
    assert!(journal.verify().unwrap().is_ok());
}

/// The PAN index sits outside the chain MAC, so `verify` recomputes it from the sealed PAN:
/// an index swapped to another card's, or removed, is reported.
#[test]
fn verify_reports_an_altered_or_missing_pan_index() {
    let p = paths();
    let mut journal = p.open();
    let first = record(&mut journal, 100, Outcome::Approved, Mode::Offline, 1_000);
    let mut other = pending(200);
    other.pan = OTHER_PAN.to_vec();
    other.track2_equivalent = None;
    let second = journal.begin_pending(&other, at(1_010)).unwrap();
    journal
        .complete(
            second,
            &completion(Outcome::Approved, Mode::Offline),
            at(1_011),
        )
        .unwrap();
    assert!(journal.verify().unwrap().is_ok());
    drop(journal);

    let conn = rusqlite::Connection::open(&p.journal).unwrap();
    conn.execute(
        "UPDATE records SET pan_index = (SELECT pan_index FROM records WHERE id = ?2) WHERE id = ?1",
        [first.0, second.0],
    )
    .unwrap();
    let report = reader(&p).verify().unwrap();
    let broken = report.first_broken.expect("altered index reported");
    assert_eq!(broken.record_id, first.0);
    assert!(broken.reason.contains("PAN index"), "{}", broken.reason);

    conn.execute(
        "UPDATE records SET pan_index = NULL WHERE id = ?1",
        [first.0],
    )
    .unwrap();
    let report = reader(&p).verify().unwrap();
    let broken = report.first_broken.expect("missing index reported");
    assert!(
        broken.reason.contains("PAN index is missing"),
        "{}",
        broken.reason
    );
}

/// Book 3, 10.6.1 split sales, end to end: two `transact` runs of 60.00 on the `cda` card
/// with the default configuration (floor limit 100.00) and one journal. The first is under
/// the floor limit and approved; for the second the kernel asks for the card's most recent
/// logged amount, `transact` answers 60.00 from the journal, and 60.00 + 60.00 exceeds the
/// floor limit (TVR byte 4 b8). With `--no-journal` the same second sale does not.
#[test]
fn second_sale_of_the_same_card_exceeds_the_floor_limit_with_the_journal_amount() {
    let dir = tempfile::tempdir().unwrap();
    let journal_path = dir.path().join("journal.db");
    let key = dir.path().join("journal.key");
    let (j, k) = (journal_path.to_str().unwrap(), key.to_str().unwrap());
    let tvr_byte_4 =
        |report: &Value| hex::decode(report["tvr"].as_str().expect("tvr")).expect("hex")[3];
    let first = transact(j, k, "cda", "60.00");
    assert_eq!(first["decision"], "approved", "{first}");
    assert_eq!(
        tvr_byte_4(&first) & 0x80,
        0,
        "60.00 alone is under the floor limit"
    );

    let second = transact(j, k, "cda", "60.00");
    assert_eq!(
        tvr_byte_4(&second) & 0x80,
        0x80,
        "60.00 + the journal's 60.00 exceeds the floor limit: {second}"
    );

    let (code, stdout, stderr) = emv_terminal(&[
        "transact",
        "--json",
        "--amount",
        "60.00",
        "--card",
        "cda",
        "--no-journal",
    ]);
    let without: Value =
        serde_json::from_str(stdout.trim()).unwrap_or_else(|e| panic!("{e}: {stdout}\n{stderr}"));
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(
        tvr_byte_4(&without) & 0x80,
        0,
        "no journal: no recent amount"
    );

    let journal = Journal::open(&journal_path, &KeySource::existing(&key)).unwrap();
    let record = journal
        .get(RecordId(first["journal_record"].as_i64().unwrap()))
        .unwrap();
    let date = record.transaction_date;
    // Another card's PAN finds nothing.
    assert_eq!(
        journal.recent_amount_same_card(&OTHER_PAN, date).unwrap(),
        0
    );
}

#[test]
fn transact_refuses_to_append_to_an_altered_journal() {
    let p = paths();
    let (j, k) = (p.journal.to_str().unwrap(), p.key.to_str().unwrap());
    assert_eq!(transact(j, k, "cda", "12.50")["decision"], "approved");
    rusqlite::Connection::open(&p.journal)
        .unwrap()
        .execute("UPDATE records SET amount_authorised = 1", [])
        .unwrap();
    let (code, stdout, stderr) = emv_terminal(&[
        "transact",
        "--json",
        "--amount",
        "1.00",
        "--card",
        "cda",
        "--journal",
        j,
        "--journal-key",
        k,
    ]);
    assert_ne!(code, 0, "{stdout}");
    assert!(stderr.contains("chain is broken"), "{stderr}");
    let count: i64 = rusqlite::Connection::open(&p.journal)
        .unwrap()
        .query_row("SELECT COUNT(*) FROM records", [], |r| r.get(0))
        .unwrap();
    assert_eq!(count, 1, "nothing appended");
}

/// The commit pause is a testing aid of the `test-aids` feature: the binary built without
/// it (the shipped one) ignores the variable and commits at once.
#[cfg(not(feature = "test-aids"))]
#[test]
fn the_shipped_binary_has_no_commit_pause() {
    // Nor the pause before the display (both are `test-aids` only).
    let p = paths();
    let started = std::time::Instant::now();
    let output = Command::new(BIN)
        .args([
            "transact",
            "--amount",
            "12.50",
            "--card",
            "cda",
            "--journal",
        ])
        .arg(&p.journal)
        .arg("--journal-key")
        .arg(&p.key)
        .stdin(Stdio::null())
        .env_remove("EMV_JOURNAL_KEY_FILE")
        .env("EMV_TERMINAL_PAUSE_BEFORE_COMMIT_MS", "20000")
        .env("EMV_TERMINAL_PAUSE_BEFORE_SHOW_MS", "20000")
        .output()
        .expect("run emv-terminal");
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(!text.contains("pausing"), "{text}");
    assert!(
        started.elapsed() < std::time::Duration::from_secs(15),
        "paused: {:?}",
        started.elapsed()
    );
}

/// Issue 16, reconciliation: `transact` marks an approval shown once its outcome is
/// printed; an approval committed but never shown (here one written through the API and
/// one whose output nobody read) is reported by the next `transact` on stderr and by
/// `journal status` until `journal reconcile` acknowledges it, and is still synced.
#[test]
fn approvals_committed_but_never_shown_are_reported_until_reconciled() {
    let p = paths();
    let (journal, key) = (p.journal.to_str().unwrap(), p.key.to_str().unwrap());
    let report = transact(journal, key, "cda", "10.00");
    assert_eq!(report["decision"], "approved", "{report}");
    let first = RecordId(report["journal_record"].as_i64().expect("record id"));
    assert_eq!(
        reader(&p).get(first).unwrap().shown,
        Some(emv_journal::ShownBy::Merchant),
        "printed, then marked shown"
    );
    // Committed, then the process died before the display: no shown mark.
    let mut writer = Journal::open(&p.journal, &KeySource::existing(&p.key)).unwrap();
    let unshown = record(
        &mut writer,
        4321,
        Outcome::Approved,
        Mode::Offline,
        1_796_000_000,
    );
    drop(writer);
    // An outcome written to a closed output was not shown either.
    let mut child = Command::new(BIN)
        .args(["transact", "--json", "--amount", "7.00", "--card", "cda"])
        .args(["--journal", journal, "--journal-key", key])
        .env_remove("EMV_JOURNAL_KEY_FILE")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let closed = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&closed.stderr).into_owned();
    assert_eq!(closed.status.code(), Some(0), "approved: {stderr}");
    let unread = RecordId(first.0 + 2);
    assert_eq!(reader(&p).get(unread).unwrap().amount_authorised, 700);
    assert!(
        stderr.contains(&format!(
            "warning: 1 approval was committed but never shown: record {unshown} amount 4321 \
             (currency 978) card 541333******0608 at 2026-11-30T00:53:21Z; check with the \
             merchant/customer before retrying"
        )),
        "reported at the next start: {stderr}"
    );

    let (code, status, _) = emv_terminal(&[
        "journal",
        "status",
        "--journal",
        journal,
        "--journal-key",
        key,
    ]);
    assert_eq!(code, 0);
    assert!(
        status.contains("not shown      2 approval(s) committed but never shown to the merchant:")
            && status.contains(&format!(
                "record {unshown} amount 4321 (currency 978) card 541333******0608"
            ))
            && status.contains(&format!("record {unread} amount 700 (currency 978)")),
        "{status}"
    );
    let (code, _, stderr) = emv_terminal(&[
        "journal",
        "reconcile",
        "--id",
        &first.to_string(),
        "--journal",
        journal,
        "--journal-key",
        key,
    ]);
    assert_eq!(
        code, 1,
        "a shown approval needs no reconciliation: {stderr}"
    );
    assert!(
        stderr.contains("not an approval waiting for reconciliation"),
        "{stderr}"
    );
    let (code, out, stderr) = emv_terminal(&[
        "journal",
        "reconcile",
        "--id",
        &unshown.to_string(),
        "--journal",
        journal,
        "--journal-key",
        key,
    ]);
    assert_eq!(code, 0, "{stderr}");
    assert!(out.contains(&format!("record {unshown} amount 4321 (currency 978) card 541333******0608: marked shown by reconciliation")), "{out}");
    let (_, _, stderr) = emv_terminal(&[
        "transact",
        "--json",
        "--amount",
        "1.00",
        "--card",
        "cda",
        "--journal",
        journal,
        "--journal-key",
        key,
    ]);
    assert!(
        stderr.contains(&format!(
            "warning: 1 approval was committed but never shown: record {unread} amount 700"
        )),
        "{stderr}"
    );
    let (code, out, _) = emv_terminal(&[
        "journal",
        "reconcile",
        "--all",
        "--journal",
        journal,
        "--journal-key",
        key,
    ]);
    assert_eq!(code, 0);
    assert!(
        out.contains(&format!("record {unread} amount 700")),
        "{out}"
    );
    let (_, status, _) = emv_terminal(&[
        "journal",
        "status",
        "--journal",
        journal,
        "--journal-key",
        key,
    ]);
    assert!(status.contains("not shown      none"), "{status}");
    let (_, _, stderr) = emv_terminal(&[
        "transact",
        "--json",
        "--amount",
        "1.00",
        "--card",
        "cda",
        "--journal",
        journal,
        "--journal-key",
        key,
    ]);
    assert!(!stderr.contains("never shown"), "{stderr}");
    let journal = reader(&p);
    assert_eq!(
        journal.get(unshown).unwrap().shown,
        Some(emv_journal::ShownBy::Reconciliation)
    );
    assert!(journal.verify().unwrap().is_ok());
    assert_eq!(
        journal.unsynced_count().unwrap(),
        5,
        "every approval is still forwarded"
    );
}
