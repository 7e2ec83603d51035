//! The journal API as `transact` uses it: durability, crash recovery, encryption at rest,
//! keys, the HMAC chain, offline limits, sync bookkeeping, prune, backup and restore.

use std::fs;
use std::os::unix::fs::PermissionsExt;

use emv_journal::{
    backup, export, Journal, JournalError, KeySource, LimitReason, Mode, OfflineLimits,
    OpenOptions, Outcome, RecordId, ShownBy, State, SyncState,
};
use emv_test_support::*;
use rusqlite::Connection;

#[test]
fn durability_settings_are_in_effect() {
    let p = paths();
    let journal = p.open();
    assert_eq!(journal.pragma("journal_mode").unwrap(), "wal");
    assert_eq!(journal.pragma("synchronous").unwrap(), "2", "2 = FULL");
    let mode = fs::metadata(&p.journal).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "journal file private to its owner");
}

/// The power-loss test's `synchronous=OFF` knob exists only with the `test-aids` feature:
/// a normal build ignores the variable and stays at `synchronous=FULL`.
#[test]
#[cfg(not(feature = "test-aids"))]
fn the_synchronous_off_testing_aid_is_not_in_a_normal_build() {
    std::env::set_var("EMV_JOURNAL_TEST_SYNCHRONOUS_OFF", "1");
    let p = paths();
    let journal = p.open();
    assert_eq!(journal.pragma("synchronous").unwrap(), "2", "2 = FULL");
}

#[test]
fn pending_then_completed_record_holds_the_outcome() {
    let p = paths();
    let mut journal = p.open();
    let id = journal
        .begin_pending(&pending(1234), at(1_700_000_000))
        .unwrap();
    let record = journal.get(id).unwrap();
    assert_eq!(record.state, State::Pending);
    assert_eq!(record.masked_pan, "541333******0608");
    assert!(record
        .idempotency_key
        .starts_with(&format!("{}-{}-", journal.terminal_id(), id.0)));
    journal
        .complete(
            id,
            &completion(Outcome::Approved, Mode::Offline),
            at(1_700_000_001),
        )
        .unwrap();
    let record = journal.get(id).unwrap();
    assert_eq!(record.state, State::Approved);
    assert_eq!(record.mode, Some(Mode::Offline));
    assert_eq!(record.amount_authorised, 1234);
    assert_eq!(record.atc, Some(0x42));
    assert_eq!(
        record.application_cryptogram,
        Some([0xA1, 0xB2, 0xC3, 0xD4, 0xE5, 0xF6, 0x07, 0x18])
    );
    assert_eq!(record.icc_data, vec![0x9F, 0x36, 0x02, 0x00, 0x42]);
    assert_eq!(record.sync_state, SyncState::Unsynced);
    assert_eq!(record.chain_seq, Some(1));
    let sensitive = journal.sensitive(&record).unwrap();
    assert_eq!(sensitive.pan_digits(), PAN_DIGITS);
    assert_eq!(sensitive.expiry_date, [0x27, 0x12, 0x31]);
    // Completing twice is caller misuse.
    assert!(matches!(
        journal.complete(
            id,
            &completion(Outcome::Declined, Mode::Offline),
            at(1_700_000_002)
        ),
        Err(JournalError::InvalidState { .. })
    ));
}

#[test]
fn declined_records_need_no_sync() {
    let p = paths();
    let mut journal = p.open();
    let id = record(&mut journal, 500, Outcome::Declined, Mode::Offline, 1000);
    assert_eq!(journal.get(id).unwrap().sync_state, SyncState::NotRequired);
    assert_eq!(journal.unsynced_count().unwrap(), 0);
}

/// ICS row 96 (Book 3, 6.5.5.4; Book 4, 6.3.7): a decline whose card set
/// "advice required" (CID b4) is an advice: it waits for sync like an
/// approval, is marked synced only by a verified receipt, and its clearing
/// record says `"advice": true`. A decline without the bit still needs no
/// sync, and an advice does not count towards the offline limits.
#[test]
fn a_decline_the_card_asked_an_advice_for_is_forwarded() {
    let p = paths();
    let mut journal = p.open();
    let plain = record(&mut journal, 500, Outcome::Declined, Mode::Offline, 1000);
    let id = journal.begin_pending(&pending(700), at(1100)).unwrap();
    let mut advice = completion(Outcome::Declined, Mode::Offline);
    advice.cryptogram_information_data = Some(0x08);
    journal.complete(id, &advice, at(1101)).unwrap();

    assert_eq!(
        journal.get(plain).unwrap().sync_state,
        SyncState::NotRequired
    );
    let record = journal.get(id).unwrap();
    assert!(record.is_advice());
    assert_eq!(record.sync_state, SyncState::Unsynced);
    assert_eq!(journal.unsynced_count().unwrap(), 1);
    let unsynced = journal.unsynced(10).unwrap();
    assert_eq!(unsynced.iter().map(|r| r.id).collect::<Vec<_>>(), [id]);
    let clearing = emv_journal::sync::clearing_record(&journal, &unsynced[0]).unwrap();
    assert_eq!(clearing["advice"], true);
    assert_eq!(journal.offline_exposure().unwrap().count, 0);

    let key = record.idempotency_key;
    let marked = journal
        .mark_synced(&[verified_receipt(&journal, &key)], at(2000))
        .unwrap();
    assert_eq!(marked, 1);
    assert_eq!(journal.get(id).unwrap().sync_state, SyncState::Synced);
    assert_eq!(journal.unsynced_count().unwrap(), 0);
    assert!(journal.verify().unwrap().is_ok());
}

#[test]
fn pending_left_by_a_crash_is_resolved_as_incomplete_not_dropped() {
    let p = paths();
    let mut journal = p.open();
    let done = record(&mut journal, 100, Outcome::Approved, Mode::Offline, 1000);
    let interrupted = journal.begin_pending(&pending(200), at(1002)).unwrap();
    drop(journal); // the process dies between GENERATE AC and completion
    let journal = p.open();
    let recovered: Vec<_> = journal.recovered().iter().map(|r| r.id).collect();
    assert_eq!(recovered, vec![interrupted]);
    let record = journal.get(interrupted).unwrap();
    assert_eq!(record.state, State::Incomplete);
    assert_eq!(record.sync_state, SyncState::NotRequired);
    assert_eq!(journal.get(done).unwrap().state, State::Approved);
    assert!(journal.verify().unwrap().is_ok());
    drop(journal);
    assert!(p.open().recovered().is_empty(), "resolved once");
}

#[test]
fn a_second_writer_is_refused_while_readers_are_welcome() {
    let p = paths();
    let mut writer = p.open();
    let id = writer.begin_pending(&pending(1), at(10)).unwrap();
    assert!(matches!(
        Journal::open(&p.journal, &KeySource::existing(&p.key)),
        Err(JournalError::Busy(_))
    ));
    let shared = OpenOptions {
        shared: true,
        ..OpenOptions::default()
    };
    let reader = Journal::open_with(&p.journal, &KeySource::existing(&p.key), &shared).unwrap();
    assert!(reader.recovered().is_empty());
    assert_eq!(
        reader.get(id).unwrap().state,
        State::Pending,
        "a live writer's pending record is left alone"
    );
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

#[test]
fn the_database_files_hold_no_pan_track2_or_expiry_in_clear() {
    let p = paths();
    let mut journal = p.open();
    for i in 0..20 {
        record(
            &mut journal,
            100 + i,
            Outcome::Approved,
            Mode::Offline,
            1000 + i,
        );
    }
    let track2 = pending(0).track2_equivalent.unwrap();
    for suffix in ["", "-wal"] {
        let file = format!("{}{suffix}", p.journal.display());
        let Ok(bytes) = fs::read(&file) else { continue };
        assert!(
            !contains(&bytes, PAN_DIGITS.as_bytes()),
            "{file}: PAN digits in clear"
        );
        assert!(!contains(&bytes, &PAN_BCD), "{file}: BCD PAN in clear");
        assert!(!contains(&bytes, &track2), "{file}: track 2 in clear");
        assert!(
            !contains(&bytes, b"\x5F\x24\x03\x27\x12\x31"),
            "{file}: expiry TLV in clear"
        );
    }
    // The masked PAN is there, so the check above looks at the right bytes.
    drop(journal);
    let conn = Connection::open(&p.journal).unwrap();
    let masked: String = conn
        .query_row("SELECT masked_pan FROM records LIMIT 1", [], |r| r.get(0))
        .unwrap();
    assert_eq!(masked, "541333******0608");
}

#[test]
fn a_wrong_key_fails_cleanly_and_overwrites_nothing() {
    let p = paths();
    let mut journal = p.open();
    record(&mut journal, 100, Outcome::Approved, Mode::Offline, 1000);
    drop(journal);
    let other = p.dir.path().join("other.key");
    emv_journal::crypto::KeyRing::create(&other).unwrap();
    let before = fs::read(&other).unwrap();
    let err = Journal::open(&p.journal, &KeySource::create_if_missing(&other)).unwrap_err();
    assert!(matches!(err, JournalError::WrongKey { key_id: 1 }), "{err}");
    assert_eq!(fs::read(&other).unwrap(), before, "key file untouched");
    let journal = p.open();
    assert_eq!(journal.status().unwrap().approved, 1, "records intact");
    assert!(journal.verify().unwrap().is_ok());
}

#[test]
fn a_missing_key_for_a_journal_with_records_is_an_error_and_no_key_is_made() {
    let p = paths();
    let mut journal = p.open();
    record(&mut journal, 100, Outcome::Approved, Mode::Offline, 1000);
    drop(journal);
    let missing = p.dir.path().join("nowhere.key");
    let err = Journal::open(&p.journal, &KeySource::create_if_missing(&missing)).unwrap_err();
    assert!(matches!(err, JournalError::KeyRequired { .. }), "{err}");
    assert!(!missing.exists());
}

#[test]
fn a_group_readable_key_is_refused() {
    let p = paths();
    drop(p.open());
    fs::set_permissions(&p.key, fs::Permissions::from_mode(0o644)).unwrap();
    let err = Journal::open(&p.journal, &KeySource::existing(&p.key)).unwrap_err();
    assert!(
        matches!(err, JournalError::KeyFilePermissions { mode: 0o644, .. }),
        "{err}"
    );
}

#[test]
fn key_rotation_keeps_old_records_readable() {
    let p = paths();
    let mut journal = p.open();
    let old = record(&mut journal, 100, Outcome::Approved, Mode::Offline, 1000);
    assert_eq!(journal.rotate_key().unwrap(), 2);
    let new = record(&mut journal, 200, Outcome::Approved, Mode::Offline, 1002);
    drop(journal);
    let journal = p.open();
    let old = journal.get(old).unwrap();
    let new = journal.get(new).unwrap();
    assert_eq!((old.key_id, new.key_id), (1, 2));
    assert_eq!(journal.sensitive(&old).unwrap().pan_digits(), PAN_DIGITS);
    assert_eq!(journal.sensitive(&new).unwrap().pan_digits(), PAN_DIGITS);
    assert_eq!(journal.verify().unwrap().links_checked, 2);
    // A key file that lost the old key is refused.
    drop(journal);
    let text = fs::read_to_string(&p.key).unwrap();
    let without_old: String = text
        .lines()
        .filter(|l| !l.starts_with("key 1 "))
        .map(|l| format!("{l}\n"))
        .collect();
    fs::write(&p.key, without_old).unwrap();
    let err = Journal::open(&p.journal, &KeySource::existing(&p.key)).unwrap_err();
    assert!(
        matches!(err, JournalError::MissingKey { key_id: 1 }),
        "{err}"
    );
}

fn tamper(p: &Paths, sql: &str) {
    let conn = Connection::open(&p.journal).unwrap();
    conn.execute_batch(sql).unwrap();
}

fn three_records(p: &Paths) {
    let mut journal = p.open();
    for i in 0..3 {
        record(
            &mut journal,
            100 * (i + 1),
            Outcome::Approved,
            Mode::Offline,
            1000 + i,
        );
    }
}

#[test]
fn verify_reports_an_altered_amount_at_its_link() {
    let p = paths();
    three_records(&p);
    tamper(&p, "UPDATE records SET amount_authorised = 1 WHERE id = 2");
    let report = open_reader(&p).verify().unwrap();
    let broken = report.first_broken.expect("broken");
    assert_eq!((broken.chain_seq, broken.record_id), (2, 2));
    assert_eq!(report.links_checked, 1);
}

#[test]
fn verify_reports_a_deleted_record_as_a_missing_link() {
    let p = paths();
    three_records(&p);
    tamper(&p, "DELETE FROM records WHERE id = 2");
    let broken = open_reader(&p)
        .verify()
        .unwrap()
        .first_broken
        .expect("broken");
    assert_eq!(broken.chain_seq, 2);
    assert!(broken.reason.contains("missing"), "{}", broken.reason);
}

#[test]
fn verify_reports_a_deleted_tail_even_after_new_records() {
    let p = paths();
    three_records(&p);
    tamper(&p, "DELETE FROM records WHERE id = 3");
    let broken = open_reader(&p)
        .verify()
        .unwrap()
        .first_broken
        .expect("broken");
    assert_eq!(broken.chain_seq, 3);
    // A writer refuses to append to it: nothing new hides the gap.
    let err = Journal::open(&p.journal, &KeySource::existing(&p.key)).unwrap_err();
    assert!(matches!(err, JournalError::ChainBroken(_)), "{err}");
}

#[test]
fn a_removed_chain_head_is_reported_and_stops_further_writes() {
    let p = paths();
    three_records(&p);
    tamper(&p, "DELETE FROM meta WHERE name = 'chain_head'");
    assert!(open_reader(&p).verify().unwrap().first_broken.is_some());
    let err = Journal::open(&p.journal, &KeySource::existing(&p.key)).unwrap_err();
    assert!(matches!(err, JournalError::ChainBroken(_)), "{err}");
}

#[test]
fn verify_reports_a_swapped_sealed_field() {
    let p = paths();
    three_records(&p);
    tamper(&p, "UPDATE records SET sealed = (SELECT sealed FROM records WHERE id = 1), nonce = (SELECT nonce FROM records WHERE id = 1) WHERE id = 3");
    let broken = open_reader(&p)
        .verify()
        .unwrap()
        .first_broken
        .expect("broken");
    assert_eq!(broken.record_id, 3);
}

#[test]
fn offline_limits_count_only_unsynced_offline_approvals() {
    let p = paths();
    let mut journal = p.open();
    let limits = OfflineLimits {
        max_offline_approvals: Some(2),
        max_offline_amount: Some(1000),
        max_unsynced_age_secs: Some(3600),
    };
    assert_eq!(
        journal
            .offline_limits_reached(&limits, at(1000), 100)
            .unwrap(),
        None
    );
    record(&mut journal, 300, Outcome::Approved, Mode::Online, 1000);
    record(&mut journal, 300, Outcome::Declined, Mode::Offline, 1000);
    let first = record(&mut journal, 300, Outcome::Approved, Mode::Offline, 1000);
    assert_eq!(
        journal
            .offline_limits_reached(&limits, at(1010), 100)
            .unwrap(),
        None
    );
    assert_eq!(
        journal
            .offline_limits_reached(&limits, at(1010), 800)
            .unwrap(),
        Some(LimitReason::OfflineAmount {
            total: 300,
            amount: 800,
            limit: 1000
        })
    );
    assert_eq!(
        journal
            .offline_limits_reached(&limits, at(1000 + 3600), 1)
            .unwrap(),
        Some(LimitReason::UnsyncedAge {
            age_secs: 3600,
            limit_secs: 3600
        })
    );
    record(&mut journal, 300, Outcome::Approved, Mode::Offline, 1020);
    assert_eq!(
        journal
            .offline_limits_reached(&limits, at(1030), 1)
            .unwrap(),
        Some(LimitReason::OfflineApprovalCount { count: 2, limit: 2 })
    );
    // A sync resets the exposure for what the acquirer acknowledged.
    let key = journal.get(first).unwrap().idempotency_key;
    assert_eq!(
        journal
            .mark_synced(&[verified_receipt(&journal, &key)], at(1040))
            .unwrap(),
        1
    );
    assert_eq!(
        journal
            .offline_limits_reached(&limits, at(1040), 1)
            .unwrap(),
        None
    );
}

#[test]
fn mark_synced_ignores_unknown_and_repeated_keys() {
    let p = paths();
    let mut journal = p.open();
    let id = record(&mut journal, 300, Outcome::Approved, Mode::Offline, 1000);
    let key = journal.get(id).unwrap().idempotency_key;
    assert_eq!(
        journal
            .mark_synced(
                &[
                    verified_receipt(&journal, "nope"),
                    verified_receipt(&journal, &key)
                ],
                at(2000)
            )
            .unwrap(),
        1
    );
    assert_eq!(
        journal
            .mark_synced(&[verified_receipt(&journal, &key)], at(2001))
            .unwrap(),
        0
    );
    let record = journal.get(id).unwrap();
    assert_eq!(
        (record.sync_state, record.synced_at),
        (SyncState::Synced, Some(2000))
    );
    assert!(
        journal.verify().unwrap().is_ok(),
        "sync bookkeeping is outside the chain"
    );
}

#[test]
fn prune_removes_the_synced_prefix_and_keeps_the_chain_verifiable() {
    let p = paths();
    let mut journal = p.open();
    let ids: Vec<_> = (0..5)
        .map(|i| {
            record(
                &mut journal,
                100,
                Outcome::Approved,
                Mode::Offline,
                1000 + i,
            )
        })
        .collect();
    let keys: Vec<String> = ids[..2]
        .iter()
        .chain(&ids[3..4])
        .map(|id| journal.get(*id).unwrap().idempotency_key)
        .collect();
    let proofs: Vec<_> = keys.iter().map(|k| verified_receipt(&journal, k)).collect();
    journal.mark_synced(&proofs, at(5000)).unwrap();
    let report = journal.prune_before(at(6000)).unwrap();
    assert_eq!(
        (report.deleted, report.anchor),
        (2, 2),
        "stops at the first unsynced record"
    );
    assert!(matches!(
        journal.get(ids[0]),
        Err(JournalError::UnknownRecord(_))
    ));
    let verified = journal.verify().unwrap();
    assert!(verified.is_ok(), "{verified:?}");
    assert_eq!((verified.anchor, verified.links_checked), (2, 3));
    // New records continue the chain after the anchor, ids are not reused.
    assert_eq!(journal.next_record_id().unwrap().0, 6);
    let next = record(&mut journal, 100, Outcome::Approved, Mode::Offline, 7000);
    assert_eq!(next.0, 6);
    assert!(journal.verify().unwrap().is_ok());
}

#[test]
fn backup_taken_while_transacting_restores_to_a_verified_journal() {
    let p = paths();
    drop(p.open());
    let writer_paths = (p.journal.clone(), p.key.clone());
    let writer = std::thread::spawn(move || {
        let mut journal =
            Journal::open(&writer_paths.0, &KeySource::existing(&writer_paths.1)).unwrap();
        for i in 0..200 {
            record(
                &mut journal,
                100 + i,
                Outcome::Approved,
                Mode::Offline,
                1000 + i,
            );
        }
    });
    let shared = OpenOptions {
        shared: true,
        ..OpenOptions::default()
    };
    let mut backups = Vec::new();
    for n in 0..4 {
        std::thread::sleep(std::time::Duration::from_millis(30));
        let reader = Journal::open_with(&p.journal, &KeySource::existing(&p.key), &shared).unwrap();
        let file = p.dir.path().join(format!("backup-{n}.db"));
        backup::backup(&reader, &file).unwrap();
        backups.push(file);
    }
    writer.join().unwrap();
    for (n, file) in backups.iter().enumerate() {
        let target = p.dir.path().join(format!("restored-{n}.db"));
        let report = backup::restore(&target, file, &KeySource::existing(&p.key), false).unwrap();
        let restored = Journal::open(&target, &KeySource::existing(&p.key)).unwrap();
        let verified = restored.verify().unwrap();
        assert!(verified.is_ok(), "backup {n}: {verified:?}");
        assert_eq!(verified.links_checked, report.records);
    }
}

#[test]
fn restore_checks_chain_keys_and_lost_records_before_replacing_anything() {
    let p = paths();
    three_records(&p);
    let copy = p.dir.path().join("copy.db");
    backup::backup(&p.open(), &copy).unwrap();
    // Tampered backup: refused, live journal untouched.
    let tampered = p.dir.path().join("tampered.db");
    fs::copy(&copy, &tampered).unwrap();
    Connection::open(&tampered)
        .unwrap()
        .execute("UPDATE records SET amount_authorised = 5 WHERE id = 1", [])
        .unwrap();
    let err =
        backup::restore(&p.journal, &tampered, &KeySource::existing(&p.key), false).unwrap_err();
    assert!(matches!(err, JournalError::RestoreRefused(_)), "{err}");
    // Wrong key: refused.
    let other = p.dir.path().join("other.key");
    emv_journal::crypto::KeyRing::create(&other).unwrap();
    let err = backup::restore(&p.journal, &copy, &KeySource::existing(&other), false).unwrap_err();
    assert!(matches!(err, JournalError::WrongKey { .. }), "{err}");
    // A newer live journal would lose a record: refused unless forced.
    let mut journal = p.open();
    record(&mut journal, 444, Outcome::Approved, Mode::Offline, 3000);
    drop(journal);
    let err = backup::restore(&p.journal, &copy, &KeySource::existing(&p.key), false).unwrap_err();
    assert!(
        matches!(err, JournalError::RestoreRefused(ref m) if m.contains("1 record")),
        "{err}"
    );
    assert_eq!(p.open().status().unwrap().approved, 4, "nothing replaced");
    let report = backup::restore(&p.journal, &copy, &KeySource::existing(&p.key), true).unwrap();
    assert_eq!(report.records, 3);
    let journal = p.open();
    assert_eq!(journal.status().unwrap().approved, 3);
    assert!(journal.verify().unwrap().is_ok());
}

#[test]
fn export_holds_masked_pans_only() {
    let p = paths();
    three_records(&p);
    let journal = p.open();
    for format in [export::Format::Csv, export::Format::Json] {
        let mut out = Vec::new();
        let mut seen = 0;
        let n = export::export(&journal, format, &mut out, &mut |k| seen = k).unwrap();
        assert_eq!((n, seen), (3, 3));
        let text = String::from_utf8(out).unwrap();
        assert!(!text.contains(PAN_DIGITS));
        assert!(text.contains("541333******0608"));
        if format == export::Format::Json {
            let value: serde_json::Value = serde_json::from_str(&text).unwrap();
            assert_eq!(value.as_array().unwrap().len(), 3);
        } else {
            assert_eq!(text.lines().count(), 4);
        }
    }
}

fn open_reader(p: &Paths) -> Journal {
    Journal::open_with(
        &p.journal,
        &KeySource::existing(&p.key),
        &OpenOptions {
            shared: true,
            ..OpenOptions::default()
        },
    )
    .expect("open journal as a reader")
}

#[test]
fn a_sync_state_flipped_to_synced_without_the_key_is_reported_and_not_pruned() {
    let p = paths();
    three_records(&p);
    // Plain SQL, no key: record 2 claims to have reached the acquirer.
    tamper(
        &p,
        "UPDATE records SET sync_state = 'synced', synced_at = 1500 WHERE id = 2",
    );
    let broken = open_reader(&p)
        .verify()
        .unwrap()
        .first_broken
        .expect("forged sync state reported");
    assert_eq!(broken.record_id, 2);
    assert!(broken.reason.contains("state MAC"), "{}", broken.reason);
    let mut journal = Journal::open_with(
        &p.journal,
        &KeySource::existing(&p.key),
        &OpenOptions::default(),
    );
    if let Ok(journal) = journal.as_mut() {
        let err = journal.prune_before(at(4_000_000_000)).unwrap_err();
        assert!(matches!(err, JournalError::ChainBroken(_)), "{err}");
    }
    let conn = Connection::open(&p.journal).unwrap();
    let left: i64 = conn
        .query_row("SELECT COUNT(*) FROM records", [], |r| r.get(0))
        .unwrap();
    assert_eq!(left, 3, "nothing pruned");
}

#[test]
fn every_field_of_a_pending_or_finished_record_is_under_its_state_mac() {
    let p = paths();
    let mut journal = p.open();
    record(&mut journal, 100, Outcome::Declined, Mode::Offline, 1000);
    journal.begin_pending(&pending(200), at(1100)).unwrap();
    drop(journal);
    for sql in [
        "UPDATE records SET sync_state = 'unsynced' WHERE id = 1",
        "UPDATE records SET amount_authorised = 1 WHERE id = 2",
        "UPDATE records SET state_mac = NULL WHERE id = 2",
        "UPDATE records SET receipt = '{}' WHERE id = 1",
    ] {
        let copy = paths();
        fs::copy(&p.journal, &copy.journal).unwrap();
        fs::copy(&p.key, &copy.key).unwrap();
        tamper(&copy, sql);
        let report = open_reader(&copy).verify().unwrap();
        assert!(report.first_broken.is_some(), "not reported: {sql}");
    }
    assert!(open_reader(&p).verify().unwrap().is_ok());
}

#[test]
fn records_synced_before_schema_4_go_back_to_unsynced_for_a_receipt() {
    let p = paths();
    three_records(&p);
    // Make it look like a version 3 journal whose record 1 was synced then.
    tamper(
        &p,
        "UPDATE records SET state_mac = NULL, sync_state = CASE id WHEN 1 THEN 'synced' ELSE sync_state END;
         DELETE FROM meta WHERE name = 'state_mac_from';
         DELETE FROM meta WHERE name = 'shown_from';
         ALTER TABLE records DROP COLUMN shown; ALTER TABLE records DROP COLUMN shown_at;
         ALTER TABLE records DROP COLUMN receipt; ALTER TABLE records DROP COLUMN state_mac;
         PRAGMA user_version = 3;",
    );
    let journal = open_reader(&p);
    assert!(journal.verify().unwrap().is_ok());
    let record = journal.get(emv_journal::RecordId(1)).unwrap();
    assert_eq!(
        record.sync_state,
        SyncState::Unsynced,
        "re-sent for a receipt"
    );
    assert_eq!(journal.unsynced_count().unwrap(), 3);
}

#[test]
fn a_journal_truncated_to_nothing_is_refused_not_started_again() {
    let p = paths();
    three_records(&p);
    fs::write(&p.journal, b"").unwrap();
    for suffix in ["-wal", "-shm"] {
        let mut side = p.journal.as_os_str().to_owned();
        side.push(suffix);
        let _ = fs::remove_file(side);
    }
    let err = Journal::open(&p.journal, &KeySource::create_if_missing(&p.key)).unwrap_err();
    assert!(matches!(err, JournalError::Identity(_)), "{err}");
    assert!(err.to_string().contains("empty, truncated or new"), "{err}");
    let err = Journal::open_with(
        &p.journal,
        &KeySource::existing(&p.key),
        &OpenOptions {
            shared: true,
            ..OpenOptions::default()
        },
    )
    .unwrap_err();
    assert!(
        matches!(err, JournalError::Identity(_)),
        "readers too: {err}"
    );
    // Still refused on the next try: nothing was started over the old chain.
    assert!(Journal::open(&p.journal, &KeySource::create_if_missing(&p.key)).is_err());
}

#[test]
fn an_older_copy_of_the_journal_is_refused() {
    let p = paths();
    three_records(&p);
    let old = p.dir.path().join("old.db");
    backup::backup(&p.open(), &old).unwrap();
    let mut journal = p.open();
    record(&mut journal, 700, Outcome::Approved, Mode::Offline, 3000);
    drop(journal);
    for suffix in ["-wal", "-shm"] {
        let mut side = p.journal.as_os_str().to_owned();
        side.push(suffix);
        let _ = fs::remove_file(side);
    }
    fs::copy(&old, &p.journal).unwrap();
    let err = Journal::open(&p.journal, &KeySource::create_if_missing(&p.key)).unwrap_err();
    assert!(err.to_string().contains("older copy"), "{err}");
}

#[test]
fn another_journal_under_the_same_path_is_refused_and_restore_is_the_way_back() {
    let p = paths();
    three_records(&p);
    let saved = p.dir.path().join("saved.db");
    backup::backup(&p.open(), &saved).unwrap();
    // A different journal (same key) copied over this one.
    let other = p.dir.path().join("other.db");
    let mut journal = Journal::open(&other, &KeySource::existing(&p.key)).unwrap();
    record(&mut journal, 5, Outcome::Approved, Mode::Offline, 1000);
    drop(journal);
    fs::remove_file(&p.journal).unwrap();
    for suffix in ["-wal", "-shm"] {
        let mut side = p.journal.as_os_str().to_owned();
        side.push(suffix);
        let _ = fs::remove_file(side);
    }
    fs::copy(&other, &p.journal).unwrap();
    let err = Journal::open(&p.journal, &KeySource::existing(&p.key)).unwrap_err();
    assert!(err.to_string().contains("another journal"), "{err}");
    // The operator restores the right journal on purpose: accepted from then on.
    backup::restore(&p.journal, &saved, &KeySource::existing(&p.key), true).unwrap();
    let journal = p.open();
    assert_eq!(journal.status().unwrap().records, 3);
}

#[test]
fn the_head_record_next_to_the_key_is_private_and_authenticated() {
    let p = paths();
    three_records(&p);
    let head = fs::read_dir(p.dir.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|path| path.to_string_lossy().contains("journal.key.head-"))
        .expect("head record next to the key file");
    let mode = fs::metadata(&head).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    let text = fs::read_to_string(&head).unwrap();
    let forged = text.replacen(" 3 ", " 1 ", 1);
    assert_ne!(forged, text);
    fs::write(&head, forged).unwrap();
    let err = Journal::open(&p.journal, &KeySource::existing(&p.key)).unwrap_err();
    assert!(matches!(err, JournalError::Identity(_)), "{err}");
}

#[test]
fn a_writer_refuses_to_append_to_an_altered_journal() {
    let p = paths();
    three_records(&p);
    tamper(&p, "UPDATE records SET amount_authorised = 1 WHERE id = 1");
    let err = Journal::open(&p.journal, &KeySource::existing(&p.key)).unwrap_err();
    assert!(matches!(err, JournalError::ChainBroken(_)), "{err}");
    assert!(err.to_string().contains("record 1"), "{err}");
}

#[test]
fn sync_refuses_a_broken_chain_before_sending_anything() {
    let p = paths();
    three_records(&p);
    tamper(&p, "UPDATE records SET amount_authorised = 1 WHERE id = 2");
    let mut journal = open_reader(&p);
    // Nothing listens on port 9: a run that tried to send would fail differently.
    let config = emv_journal::sync::SyncConfig {
        max_attempts: 1,
        ..emv_journal::sync::SyncConfig::new("https://127.0.0.1:9")
    };
    let err = emv_journal::sync::sync_once(&mut journal, &config, &mut |_, _| {}).unwrap_err();
    assert!(
        matches!(
            err,
            emv_journal::sync::SyncError::Journal(JournalError::ChainBroken(_))
        ),
        "{err}"
    );
    assert_eq!(
        journal.unsynced_count().unwrap(),
        3,
        "nothing marked synced"
    );
}

#[test]
fn approvals_committed_but_not_shown_are_listed_until_shown_or_reconciled() {
    let p = paths();
    let mut journal = p.open();
    let shown = record(&mut journal, 100, Outcome::Approved, Mode::Offline, 1000);
    journal.mark_shown(shown, at(1002)).unwrap();
    journal.mark_shown(shown, at(1003)).unwrap(); // again: nothing changes
    let declined = record(&mut journal, 200, Outcome::Declined, Mode::Offline, 1010);
    let first = record(&mut journal, 300, Outcome::Approved, Mode::Offline, 1020);
    let second = record(&mut journal, 400, Outcome::Approved, Mode::Online, 1030);
    assert!(matches!(
        journal.mark_shown(declined, at(1011)),
        Err(JournalError::InvalidState { .. })
    ));
    let listed: Vec<_> = journal
        .unshown_approvals(10)
        .unwrap()
        .iter()
        .map(|r| (r.id, r.amount_authorised))
        .collect();
    assert_eq!(listed, [(first, 300), (second, 400)]);
    assert_eq!(journal.unshown_count().unwrap(), 2);
    let status = journal.status().unwrap();
    assert_eq!(status.unshown, 2);
    assert_eq!(status.unshown_approvals[0].masked_pan, "541333******0608");
    assert_eq!(status.unshown_approvals[1].completed_at, Some(1031));
    let record_shown = journal.get(shown).unwrap();
    assert_eq!(record_shown.shown, Some(ShownBy::Merchant));
    assert_eq!(record_shown.shown_at, Some(1002));

    // Only an approval waiting for it can be reconciled; a refused list marks nothing.
    for wrong in [shown, declined, RecordId(99)] {
        let err = journal.reconcile(&[first, wrong], at(2000)).unwrap_err();
        assert!(
            matches!(err, JournalError::NotUnshown(id) if id == wrong.0),
            "{err}"
        );
    }
    assert_eq!(journal.unshown_count().unwrap(), 2);
    assert_eq!(journal.reconcile(&[first], at(2000)).unwrap(), [first]);
    assert_eq!(journal.reconcile_all(at(2001)).unwrap(), [second]);
    assert_eq!(journal.unshown_count().unwrap(), 0);
    assert_eq!(
        journal.get(second).unwrap().shown,
        Some(ShownBy::Reconciliation)
    );
    // Still real money: all three approvals are forwarded.
    assert_eq!(journal.unsynced_count().unwrap(), 3);
    assert!(journal.verify().unwrap().is_ok());
    drop(journal);
    assert!(open_reader(&p).verify().unwrap().is_ok());
}

#[test]
fn the_shown_mark_is_under_the_state_mac() {
    let p = paths();
    let mut journal = p.open();
    let shown = record(&mut journal, 100, Outcome::Approved, Mode::Offline, 1000);
    journal.mark_shown(shown, at(1002)).unwrap();
    record(&mut journal, 200, Outcome::Approved, Mode::Offline, 1010);
    drop(journal);
    for sql in [
        // an unshown approval hidden from reconciliation with plain SQL
        "UPDATE records SET shown = 'merchant', shown_at = 1011 WHERE id = 2",
        // a shown approval made to look unshown, or its mark changed
        "UPDATE records SET shown = NULL, shown_at = NULL WHERE id = 1",
        "UPDATE records SET shown = 'reconciliation' WHERE id = 1",
        "UPDATE records SET shown_at = 5 WHERE id = 1",
    ] {
        let copy = paths();
        fs::copy(&p.journal, &copy.journal).unwrap();
        fs::copy(&p.key, &copy.key).unwrap();
        tamper(&copy, sql);
        let report = open_reader(&copy).verify().unwrap();
        assert!(report.first_broken.is_some(), "not reported: {sql}");
        // and a writer refuses to go on from it
        let err = Journal::open(&copy.journal, &KeySource::existing(&copy.key)).unwrap_err();
        assert!(matches!(err, JournalError::ChainBroken(_)), "{sql}: {err}");
    }
    assert!(open_reader(&p).verify().unwrap().is_ok());
}

#[test]
fn a_schema_4_journal_migrates_without_reporting_its_old_approvals_as_not_shown() {
    let p = paths();
    three_records(&p);
    // Make it look like a version 4 journal (records without the shown columns).
    tamper(
        &p,
        "DELETE FROM meta WHERE name = 'shown_from';
         ALTER TABLE records DROP COLUMN shown; ALTER TABLE records DROP COLUMN shown_at;
         PRAGMA user_version = 4;",
    );
    let mut journal = p.open();
    assert_eq!(journal.pragma("user_version").unwrap(), "5");
    assert!(
        journal.verify().unwrap().is_ok(),
        "state MACs of version 4 still verify"
    );
    assert_eq!(
        journal.unshown_count().unwrap(),
        0,
        "approvals of the older program count as shown"
    );
    let new = record(&mut journal, 900, Outcome::Approved, Mode::Offline, 5000);
    let listed: Vec<_> = journal
        .unshown_approvals(10)
        .unwrap()
        .iter()
        .map(|r| r.id)
        .collect();
    assert_eq!(listed, [new]);
    assert!(
        matches!(
            journal.reconcile(&[RecordId(1)], at(6000)),
            Err(JournalError::NotUnshown(1))
        ),
        "an old approval is not waiting for reconciliation"
    );
    journal.mark_shown(new, at(5002)).unwrap();
    assert_eq!(journal.unshown_count().unwrap(), 0);
    assert!(journal.verify().unwrap().is_ok());
    assert_eq!(journal.unsynced_count().unwrap(), 4);
}
