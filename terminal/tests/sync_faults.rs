//! Sync against the reference acquirer with every fault mode: nothing lost, nothing
//! duplicated at the host, and records marked synced only when acknowledged.

use std::collections::HashMap;

use emv_acquirer as acquirer;
use emv_journal::{Mode, Outcome, RecordId, State, SyncState};
use emv_test_support::*;

/// The binary under test.
const BIN: &str = env!("CARGO_BIN_EXE_emv-terminal");

const APPROVALS: u64 = 60;

/// A journal with `APPROVALS` approvals (offline and online) and a few declines.
fn journal_with_approvals(p: &Paths) -> Vec<String> {
    let mut journal = p.open();
    let mut keys = Vec::new();
    for i in 0..APPROVALS {
        let mode = if i % 4 == 0 {
            Mode::Online
        } else {
            Mode::Offline
        };
        let id = record(&mut journal, 100 + i, Outcome::Approved, mode, 1000 + i);
        keys.push(journal.get(id).unwrap().idempotency_key);
        if i % 10 == 0 {
            record(&mut journal, 50, Outcome::Declined, Mode::Offline, 1000 + i);
        }
    }
    keys
}

fn sync_args(p: &Paths, acq: &AcquirerProcess, extra: &[&str]) -> Vec<String> {
    let mut args = strings(&["sync", "--url", &acq.url, "--ca"]);
    args.push(acq.ca.display().to_string());
    args.extend(p.args());
    args.extend(strings(&[
        "--batch-size",
        "7",
        "--backoff",
        "5ms",
        "--max-backoff",
        "50ms",
        "--max-attempts",
        "40",
        "--timeout",
        "1s",
    ]));
    args.extend(strings(extra));
    args
}

/// Every approved key is at the host exactly once, nothing else is, and the journal has
/// nothing left to send. Returns the host's delivery counts.
fn assert_exactly_once(
    p: &Paths,
    acq: &AcquirerProcess,
    keys: &[String],
) -> acquirer::AcquirerStats {
    let held: HashMap<String, u64> = acquirer::received_keys(&acq.db)
        .unwrap()
        .into_iter()
        .collect();
    assert_eq!(
        held.len(),
        keys.len(),
        "host holds each approval once, and only approvals"
    );
    for key in keys {
        assert!(held.contains_key(key), "approval {key} lost");
    }
    let journal = p.open();
    assert_eq!(journal.unsynced_count().unwrap(), 0);
    let last = journal.records_after(RecordId(0), 1000).unwrap();
    for record in last {
        match record.state {
            State::Approved => assert_eq!(record.sync_state, SyncState::Synced),
            _ => assert_eq!(record.sync_state, SyncState::NotRequired),
        }
    }
    assert!(journal.verify().unwrap().is_ok());
    acquirer::stats(&acq.db).unwrap()
}

fn fault_run(fault: &[&str]) -> acquirer::AcquirerStats {
    let p = paths();
    let keys = journal_with_approvals(&p);
    let acq = AcquirerProcess::start(&p.dir.path().join("acquirer.db"), fault);
    let out = run_ok(&sync_args(&p, &acq, &[]));
    assert!(out.contains("0 remaining"), "{out}");
    assert_exactly_once(&p, &acq, &keys)
}

#[test]
fn no_faults_one_delivery_each() {
    let stats = fault_run(&[]);
    assert_eq!(stats.deliveries, APPROVALS);
}

#[test]
fn dropped_connections_are_retried() {
    fault_run(&["--drop-connection", "0.5", "--fault-seed", "11"]);
}

#[test]
fn http_500_is_retried() {
    fault_run(&["--error-500", "0.5", "--fault-seed", "12"]);
}

#[test]
fn delays_beyond_the_timeout_cause_resends_but_no_duplicates() {
    let stats = fault_run(&[
        "--delay-rate",
        "0.4",
        "--delay",
        "1500ms",
        "--fault-seed",
        "13",
    ]);
    assert_eq!(stats.records, APPROVALS);
}

#[test]
fn lost_acknowledgements_cause_resends_the_host_deduplicates() {
    let stats = fault_run(&["--lose-ack", "0.5", "--fault-seed", "14"]);
    assert!(
        stats.duplicates_refused > 0,
        "the lost-ack path was exercised: {stats:?}"
    );
}

#[test]
fn partial_acknowledgements_leave_the_rest_unsynced_until_acknowledged() {
    let stats = fault_run(&["--partial-ack", "0.7", "--fault-seed", "15"]);
    assert!(stats.duplicates_refused > 0, "{stats:?}");
}

#[test]
fn all_faults_at_once() {
    fault_run(&[
        "--drop-connection",
        "0.2",
        "--error-500",
        "0.2",
        "--lose-ack",
        "0.2",
        "--partial-ack",
        "0.2",
        "--delay-rate",
        "0.1",
        "--delay",
        "1200ms",
        "--fault-seed",
        "16",
    ]);
}

#[test]
fn an_unreachable_host_gives_up_and_keeps_everything_unsynced() {
    let p = paths();
    let keys = journal_with_approvals(&p);
    let acq = AcquirerProcess::start(&p.dir.path().join("acquirer.db"), &["--error-500", "1"]);
    let mut args = sync_args(&p, &acq, &[]);
    let attempts = args.iter().position(|a| a == "--max-attempts").unwrap();
    args[attempts + 1] = "3".into();
    let out = run(&args);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("after 3 attempts"));
    assert_eq!(p.open().unsynced_count().unwrap(), keys.len() as u64);
}

#[test]
fn an_untrusted_certificate_is_refused_and_nothing_is_marked_synced() {
    let p = paths();
    let keys = journal_with_approvals(&p);
    let acq = AcquirerProcess::start(&p.dir.path().join("acquirer.db"), &[]);
    let mut args = strings(&[
        "sync",
        "--url",
        &acq.url,
        "--max-attempts",
        "2",
        "--backoff",
        "1ms",
    ]);
    args.extend(p.args());
    let out = run(&args);
    assert!(
        !out.status.success(),
        "web roots must not trust the test CA"
    );
    assert_eq!(p.open().unsynced_count().unwrap(), keys.len() as u64);
    assert_eq!(acquirer::stats(&acq.db).unwrap().records, 0);
}

#[test]
fn plain_http_is_refused_without_the_flag() {
    let p = paths();
    journal_with_approvals(&p);
    let mut args = strings(&["sync", "--url", "http://127.0.0.1:9"]);
    args.extend(p.args());
    let out = run(&args);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--insecure-http"));
}

#[test]
fn sync_options_are_checked_before_looking_for_work() {
    // An empty journal: nothing to send, yet a bad option is a usage error (64).
    let p = paths();
    drop(p.open());
    for (extra, words) in [
        (&["--url", "127.0.0.1:8443"][..], "expected https://"),
        (&["--url", "https://"], "expected https://"),
        (&["--url", "https://host:0"], "port"),
        (&["--url", "https://host:8443", "--every", "0s"], "--every"),
        (
            &["--url", "https://host:8443", "--every", "100ms"],
            "shortest period is 1s",
        ),
        (
            &["--url", "https://host:8443", "--timeout", "0s"],
            "--timeout",
        ),
        (
            &["--url", "https://host:8443", "--batch-size", "0"],
            "--batch-size",
        ),
    ] {
        let mut args = strings(&["sync"]);
        args.extend(strings(extra));
        args.extend(p.args());
        let out = run(&args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(64), "{extra:?}: {stderr}");
        assert!(stderr.contains(words), "{extra:?}: {stderr}");
    }
    // Valid options and nothing to send: success without a connection. A
    // receipt key is part of a valid configuration (records are marked
    // synced only with a verified receipt); any well-formed one will do here.
    let receipt_key = p.dir.path().join("acquirer.receipt.pub");
    std::fs::write(&receipt_key, "11".repeat(32)).unwrap();
    let mut args = strings(&["sync", "--url", "https://127.0.0.1:9", "--timeout", "1s"]);
    args.extend(strings(&["--receipt-key", receipt_key.to_str().unwrap()]));
    args.extend(p.args());
    let out = run(&args);
    assert!(out.status.success(), "{out:?}");
}

#[test]
fn sync_every_keeps_forwarding_new_approvals() {
    let p = paths();
    let mut keys = journal_with_approvals(&p);
    let acq = AcquirerProcess::start(&p.dir.path().join("acquirer.db"), &["--error-500", "0.3"]);
    let mut child = std::process::Command::new(BIN)
        .args(sync_args(&p, &acq, &["--every", "1s"]))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut journal = p.open();
    for i in 0..10 {
        let id = record(
            &mut journal,
            7 + i,
            Outcome::Approved,
            Mode::Offline,
            9000 + i,
        );
        keys.push(journal.get(id).unwrap().idempotency_key);
        std::thread::sleep(std::time::Duration::from_millis(30));
    }
    drop(journal);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while acquirer::stats(&acq.db).unwrap().records < keys.len() as u64
        && std::time::Instant::now() < deadline
    {
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    // Let the current round mark what the host acknowledged, then stop it by pid.
    std::thread::sleep(std::time::Duration::from_millis(500));
    child.kill().unwrap();
    child.wait().unwrap();
    let held: HashMap<String, u64> = acquirer::received_keys(&acq.db)
        .unwrap()
        .into_iter()
        .collect();
    assert_eq!(held.len(), keys.len());
    assert!(keys.iter().all(|k| held.contains_key(k)));
}

#[test]
fn the_acquirer_survives_garbage_and_idle_connections() {
    use std::io::Write;
    let p = paths();
    let keys = journal_with_approvals(&p);
    let acq = AcquirerProcess::start(&p.dir.path().join("acquirer.db"), &[]);
    let addr = acq.url.trim_start_matches("https://").to_string();
    let garbage: [&[u8]; 4] = [
        b"POST /v1/batches HTTP/1.1\r\nContent-Length: 10\r\n\r\n{}",
        b"\x16\x03\x01\xff\xff not a client hello",
        &[0u8; 5000],
        &[0xFF; 70_000],
    ];
    for bytes in garbage {
        let mut stream = std::net::TcpStream::connect(&addr).unwrap();
        let _ = stream.write_all(bytes);
    }
    let _idle = std::net::TcpStream::connect(&addr).unwrap();
    run_ok(&sync_args(&p, &acq, &[]));
    assert_exactly_once(&p, &acq, &keys);
}

#[test]
fn records_sealed_before_and_after_a_key_rotation_are_forwarded() {
    let p = paths();
    let mut keys = journal_with_approvals(&p);
    let mut journal = p.open();
    assert_eq!(journal.rotate_key().unwrap(), 2);
    for i in 0..5 {
        let id = record(
            &mut journal,
            10 + i,
            Outcome::Approved,
            Mode::Offline,
            8000 + i,
        );
        keys.push(journal.get(id).unwrap().idempotency_key);
    }
    drop(journal);
    let acq = AcquirerProcess::start(&p.dir.path().join("acquirer.db"), &[]);
    run_ok(&sync_args(&p, &acq, &[]));
    assert_exactly_once(&p, &acq, &keys);
}

#[test]
fn an_amount_altered_with_plain_sqlite_is_never_uploaded() {
    let p = paths();
    journal_with_approvals(&p);
    rusqlite::Connection::open(&p.journal)
        .unwrap()
        .execute("UPDATE records SET amount_authorised = 1 WHERE id = 3", [])
        .unwrap();
    let db = p.dir.path().join("acq.db");
    let acq = AcquirerProcess::start(&db, &[]);
    let out = run(&sync_args(&p, &acq, &[]));
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("chain is broken"), "{stderr}");
    assert_eq!(acquirer::stats(&db).unwrap().records, 0, "nothing uploaded");
    let unsynced: i64 = rusqlite::Connection::open(&p.journal)
        .unwrap()
        .query_row(
            "SELECT COUNT(*) FROM records WHERE state = 'approved' AND sync_state = 'unsynced'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(unsynced as u64, APPROVALS, "nothing marked synced");
}

#[test]
fn acknowledgements_with_bad_receipts_are_retried_until_proven() {
    let stats = fault_run(&["--bad-receipt", "0.5", "--fault-seed", "15"]);
    assert!(
        stats.duplicates_refused > 0,
        "re-sent after a bad receipt: {stats:?}"
    );
}

#[test]
fn a_host_that_acknowledges_without_valid_receipts_leaves_everything_unsynced() {
    let p = paths();
    journal_with_approvals(&p);
    let db = p.dir.path().join("acq.db");
    let acq = AcquirerProcess::start(&db, &["--bad-receipt", "1"]);
    let mut args = sync_args(&p, &acq, &[]);
    let at = args.iter().position(|a| a == "--max-attempts").unwrap();
    args[at + 1] = "3".into();
    let out = run(&args);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("without a valid receipt"), "{stderr}");
    assert_eq!(p.open().unsynced_count().unwrap(), APPROVALS);
    // The host did store them; the same host with its real key proves it on the re-send.
    drop(acq);
    let acq = AcquirerProcess::start(&db, &[]);
    run_ok(&sync_args(&p, &acq, &[]));
    let journal = p.open();
    assert_eq!(journal.unsynced_count().unwrap(), 0);
    let record = journal.get(RecordId(1)).unwrap();
    let receipt: serde_json::Value =
        serde_json::from_str(record.receipt.as_deref().expect("receipt stored")).unwrap();
    assert_eq!(receipt["alg"], "ed25519");
    assert!(journal.verify().unwrap().is_ok());
    drop(journal);
    // `journal show` displays it.
    let mut show = strings(&["journal", "show", "1"]);
    show.extend(p.args());
    let shown: serde_json::Value = serde_json::from_str(&run_ok(&show)).unwrap();
    assert_eq!(shown["receipt"]["signature"], receipt["signature"]);
}

#[test]
fn a_receipt_key_of_another_acquirer_proves_nothing() {
    let p = paths();
    journal_with_approvals(&p);
    let acq = AcquirerProcess::start(&p.dir.path().join("acq.db"), &[]);
    let other = p.dir.path().join("other.pub");
    std::fs::write(&other, format!("{}\n", "ab".repeat(32))).unwrap();
    let mut args = sync_args(&p, &acq, &["--receipt-key", other.to_str().unwrap()]);
    let at = args.iter().position(|a| a == "--max-attempts").unwrap();
    args[at + 1] = "2".into();
    let out = run(&args);
    assert!(!out.status.success());
    assert_eq!(p.open().unsynced_count().unwrap(), APPROVALS);
}

#[test]
fn sync_without_a_receipt_key_refuses_to_run() {
    let p = paths();
    journal_with_approvals(&p);
    let acq = AcquirerProcess::start(&p.dir.path().join("acq.db"), &[]);
    let ca = p.dir.path().join("trust.pem");
    std::fs::copy(&acq.ca, &ca).unwrap();
    let mut args = strings(&["sync", "--url", &acq.url, "--ca", ca.to_str().unwrap()]);
    args.extend(p.args());
    let out = run(&args);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("--receipt-key"), "{stderr}");
    assert_eq!(acquirer::stats(&acq.db).unwrap().records, 0);
}

fn enroll(db: &std::path::Path, terminal_id: &str) -> (String, String) {
    let dir = db.parent().unwrap();
    let cert = dir.join(format!("{terminal_id}.cert.pem"));
    let key = dir.join(format!("{terminal_id}.key.pem"));
    let out = std::process::Command::new(acquirer_bin())
        .args(["enroll", "--db"])
        .arg(db)
        .args(["--terminal-id", terminal_id, "--cert-out"])
        .arg(&cert)
        .arg("--key-out")
        .arg(&key)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    (cert.display().to_string(), key.display().to_string())
}

#[test]
fn mutual_tls_binds_every_batch_to_the_enrolled_terminal() {
    let p = paths();
    let keys = journal_with_approvals(&p);
    let terminal_id = p.open().terminal_id().to_string();
    let db = p.dir.path().join("acq.db");
    let (cert, key) = enroll(&db, &terminal_id);
    let (other_cert, other_key) = enroll(&db, "OTHER0001");
    let acq = AcquirerProcess::start(&db, &["--require-client-cert"]);
    let quick = |extra: &[&str]| {
        let mut args = sync_args(&p, &acq, extra);
        let at = args.iter().position(|a| a == "--max-attempts").unwrap();
        args[at + 1] = "2".into();
        run(&args)
    };
    // No certificate: the TLS handshake fails, nothing stored.
    assert!(!quick(&[]).status.success());
    // Another terminal's certificate: refused (403), nothing stored.
    let out = quick(&["--cert", &other_cert, "--key", &other_key]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("403") && stderr.contains("refused the batch"),
        "{stderr}"
    );
    assert_eq!(acquirer::stats(&db).unwrap().records, 0);
    // A client key others may read is refused before anything is sent.
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).unwrap();
    let out = quick(&["--cert", &cert, "--key", &key]);
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("private to its owner"),
        "{out:?}"
    );
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).unwrap();
    // Its own certificate: everything forwarded once.
    run_ok(&sync_args(&p, &acq, &["--cert", &cert, "--key", &key]));
    assert_exactly_once(&p, &acq, &keys);
}
