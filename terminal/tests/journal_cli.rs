//! The `journal` subcommands driven through the binary.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::process::Command;

use emv_test_support::*;

/// The binary under test.
const BIN: &str = env!("CARGO_BIN_EXE_emv-terminal");

fn journal_cmd(p: &Paths, sub: &[&str]) -> Vec<String> {
    let mut args = strings(&["journal"]);
    args.extend(strings(sub));
    args.extend(p.args());
    args
}

fn simulate(p: &Paths, count: u64, extra: &[&str]) -> String {
    let count = count.to_string();
    let mut sub = vec!["simulate", "--count", &count, "--delay-ms", "0"];
    sub.extend_from_slice(extra);
    run_ok(&journal_cmd(p, &sub))
}

#[test]
fn first_use_creates_a_private_key_and_says_where() {
    let p = paths();
    let out = run(&journal_cmd(&p, &["simulate", "--count", "1"]));
    assert!(out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!("created journal key file {}", p.key.display())),
        "{stderr}"
    );
    assert_eq!(
        fs::metadata(&p.key).unwrap().permissions().mode() & 0o777,
        0o600
    );
    // Second use: no new key.
    let out = run(&journal_cmd(&p, &["simulate", "--count", "1"]));
    assert!(!String::from_utf8_lossy(&out.stderr).contains("created journal key"));
}

#[test]
fn key_file_from_the_environment() {
    let p = paths();
    let out = Command::new(BIN)
        .args(["journal", "--journal"])
        .arg(&p.journal)
        .args(["simulate", "--count", "2"])
        .env("EMV_JOURNAL_KEY_FILE", &p.key)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(p.key.exists());
    let out = run_ok(&journal_cmd(&p, &["verify"]));
    assert!(out.contains("2 chain link(s)"), "{out}");
}

#[test]
fn a_world_readable_key_is_refused_with_a_clear_message() {
    let p = paths();
    simulate(&p, 1, &[]);
    fs::set_permissions(&p.key, fs::Permissions::from_mode(0o604)).unwrap();
    let out = run(&journal_cmd(&p, &["status"]));
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("must be private to its owner"));
}

#[test]
fn a_wrong_key_is_a_clear_error() {
    let p = paths();
    simulate(&p, 1, &[]);
    let other = p.dir.path().join("other.key");
    let mut args = strings(&["journal", "status", "--journal"]);
    args.push(p.journal.display().to_string());
    args.extend(strings(&["--journal-key", &other.display().to_string()]));
    let out = run(&args);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("refusing to create a new key"), "{stderr}");
    assert!(!other.exists());
}

#[test]
fn status_list_show_and_export() {
    let p = paths();
    let approved = simulate(&p, 5, &[]);
    assert_eq!(
        approved
            .lines()
            .filter(|l| l.starts_with("APPROVED "))
            .count(),
        5
    );
    let status = run_ok(&journal_cmd(&p, &["status"]));
    assert!(status.contains("records        5 (approved 5"), "{status}");
    let status: serde_json::Value =
        serde_json::from_str(&run_ok(&journal_cmd(&p, &["status", "--json"]))).unwrap();
    assert_eq!(status["unsynced"], 5);
    assert_eq!(status["schema_version"], 1);
    assert_eq!(status["journal_schema_version"], 5);
    assert_eq!(
        status["unshown"], 0,
        "simulate marks each approval shown after printing it"
    );
    let list = run_ok(&journal_cmd(&p, &["list", "--unsynced", "--limit", "3"]));
    assert_eq!(list.lines().count(), 4, "{list}");
    let show: serde_json::Value =
        serde_json::from_str(&run_ok(&journal_cmd(&p, &["show", "2"]))).unwrap();
    assert_eq!(show["state"], "approved");
    assert!(show.get("pan").is_none());
    let revealed: serde_json::Value =
        serde_json::from_str(&run_ok(&journal_cmd(&p, &["show", "1", "--reveal"]))).unwrap();
    assert_eq!(revealed["pan"], "5413330089010608");
    let csv = run_ok(&journal_cmd(&p, &["export", "--format", "csv"]));
    assert_eq!(csv.lines().count(), 6);
    assert!(csv.starts_with("id,idempotency_key,state"));
    let file = p.dir.path().join("export.json");
    run_ok(&journal_cmd(
        &p,
        &[
            "export",
            "--format",
            "json",
            "--output",
            &file.display().to_string(),
        ],
    ));
    let json: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(&file).unwrap()).unwrap();
    assert_eq!(json.as_array().unwrap().len(), 5);
    assert!(!fs::read_to_string(&file)
        .unwrap()
        .contains("5413330089010608"));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = fs::metadata(&file).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "an export is private: mode {mode:o}");
    }
}

#[test]
fn read_commands_do_not_create_a_journal() {
    let p = paths();
    let out = run(&journal_cmd(&p, &["status"]));
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("no journal at"));
    assert!(!p.journal.exists() && !p.key.exists());
}

#[test]
fn verify_fails_with_the_first_broken_link() {
    let p = paths();
    simulate(&p, 4, &[]);
    rusqlite::Connection::open(&p.journal)
        .unwrap()
        .execute(
            "UPDATE records SET amount_authorised = 99999 WHERE id = 3",
            [],
        )
        .unwrap();
    let out = run(&journal_cmd(&p, &["verify"]));
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("BROKEN at chain link 3 (record 3)"),
        "{stdout}"
    );
}

#[test]
fn a_sync_state_forged_with_plain_sqlite_fails_verify_and_prune() {
    let p = paths();
    simulate(&p, 3, &[]);
    rusqlite::Connection::open(&p.journal)
        .unwrap()
        .execute(
            "UPDATE records SET sync_state = 'synced', synced_at = 1 WHERE id = 2",
            [],
        )
        .unwrap();
    let out = run(&journal_cmd(&p, &["verify"]));
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("(record 2)"), "{stdout}");
    let out = run(&journal_cmd(
        &p,
        &["prune", "--synced-before", "2099-01-01"],
    ));
    assert!(!out.status.success());
    let count: i64 = rusqlite::Connection::open(&p.journal)
        .unwrap()
        .query_row("SELECT COUNT(*) FROM records", [], |r| r.get(0))
        .unwrap();
    assert_eq!(count, 3, "the forged record was not pruned");
}

#[test]
fn a_journal_truncated_to_zero_bytes_is_refused_by_status_and_simulate() {
    let p = paths();
    simulate(&p, 2, &[]);
    std::fs::write(&p.journal, b"").unwrap();
    for suffix in ["-wal", "-shm"] {
        let mut side = p.journal.as_os_str().to_owned();
        side.push(suffix);
        let _ = std::fs::remove_file(side);
    }
    for command in [&["status"][..], &["verify"], &["simulate", "--count", "1"]] {
        let out = run(&journal_cmd(&p, command));
        assert!(
            !out.status.success(),
            "{command:?} accepted an empty journal"
        );
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains("journal identity"), "{command:?}: {stderr}");
    }
}

#[test]
fn offline_count_limit_declines_offline_with_the_reason() {
    let p = paths();
    let out = simulate(&p, 5, &["--max-offline-approvals", "3"]);
    let lines: Vec<&str> = out.lines().collect();
    assert!(
        lines[..3].iter().all(|l| l.starts_with("APPROVED ")),
        "{out}"
    );
    assert!(
        lines[3].starts_with("DECLINED ")
            && lines[3].contains("offline approval count limit reached"),
        "{out}"
    );
    let show: serde_json::Value =
        serde_json::from_str(&run_ok(&journal_cmd(&p, &["show", "4"]))).unwrap();
    assert_eq!(
        show["tvr"], "0000000800",
        "merchant forced transaction online"
    );
    assert!(show["forced_online_reason"]
        .as_str()
        .unwrap()
        .contains("limit 3"));
    let status = run_ok(&journal_cmd(
        &p,
        &["status", "--max-offline-approvals", "3"],
    ));
    assert!(status.contains("offline limit  REACHED"), "{status}");
    let amount = simulate(&p, 1, &["--max-offline-amount", "4000", "--amount", "1000"]);
    assert!(amount.contains("offline amount limit reached"), "{amount}");
}

#[test]
fn backup_restore_prune_and_rotate_key() {
    let p = paths();
    simulate(&p, 3, &[]);
    let backup = p.dir.path().join("backup.db");
    run_ok(&journal_cmd(&p, &["backup", &backup.display().to_string()]));
    assert_eq!(
        fs::metadata(&backup).unwrap().permissions().mode() & 0o777,
        0o600
    );
    let out = run(&journal_cmd(&p, &["backup", &backup.display().to_string()]));
    assert!(
        !out.status.success(),
        "an existing backup is never overwritten"
    );
    let rotated = run_ok(&journal_cmd(&p, &["rotate-key"]));
    assert!(rotated.contains("key 2 added"), "{rotated}");
    simulate(&p, 2, &[]);
    let show: serde_json::Value =
        serde_json::from_str(&run_ok(&journal_cmd(&p, &["show", "5", "--reveal"]))).unwrap();
    assert_eq!(show["key_id"], 2);
    assert_eq!(show["pan"], "4761739001010119");
    // Restoring the older backup would lose records 4 and 5.
    let out = run(&journal_cmd(
        &p,
        &["restore", &backup.display().to_string()],
    ));
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("2 record(s) that the backup lacks"));
    // Restore into a fresh place (a replacement device) with the same key file.
    let fresh = Paths {
        journal: p.dir.path().join("device2.db"),
        key: p.key.clone(),
        dir: tempfile::tempdir().unwrap(),
    };
    let out = run_ok(&journal_cmd(
        &fresh,
        &["restore", &backup.display().to_string()],
    ));
    assert!(out.contains("restored 3 record(s)"), "{out}");
    assert!(run_ok(&journal_cmd(&fresh, &["verify"])).contains("3 chain link(s)"));
    // Prune: nothing is synced, so nothing approved goes.
    let out = run_ok(&journal_cmd(
        &p,
        &["prune", "--synced-before", "2100-01-01"],
    ));
    assert!(out.contains("pruned 0 record(s)"), "{out}");
}

#[test]
fn backups_taken_while_another_process_transacts_restore_to_verified_journals() {
    let p = paths();
    simulate(&p, 1, &[]);
    let args = journal_cmd(&p, &["simulate", "--count", "100000", "--delay-ms", "1"]);
    let mut writer = Command::new(BIN)
        .args(&args)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut backups = Vec::new();
    for n in 0..3 {
        std::thread::sleep(std::time::Duration::from_millis(150));
        let file = p.dir.path().join(format!("live-{n}.db"));
        run_ok(&journal_cmd(&p, &["backup", &file.display().to_string()]));
        backups.push(file);
    }
    writer.kill().unwrap();
    writer.wait().unwrap();
    let mut reports = Vec::new();
    for (n, file) in backups.iter().enumerate() {
        let device = Paths {
            journal: p.dir.path().join(format!("restored-{n}.db")),
            key: p.key.clone(),
            dir: tempfile::tempdir().unwrap(),
        };
        let out = run_ok(&journal_cmd(
            &device,
            &["restore", &file.display().to_string()],
        ));
        assert!(out.contains("chain links verified"), "{out}");
        let verified = run_ok(&journal_cmd(&device, &["verify"]));
        assert!(verified.contains("journal verified"), "{verified}");
        reports.push(verified);
    }
    assert!(
        reports[0] != reports[2],
        "backups were taken while records were being added"
    );
}

#[test]
fn a_date_that_is_not_in_the_calendar_is_a_usage_error() {
    let p = paths();
    simulate(&p, 1, &[]);
    let out = run(&journal_cmd(
        &p,
        &["prune", "--synced-before", "2025-02-30"],
    ));
    assert_eq!(out.status.code(), Some(64), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("calendar date"));
}
