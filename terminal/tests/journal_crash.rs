//! Crash test: transactions in a loop while the terminal process is killed with SIGKILL at
//! random (seeded) moments, including between the GENERATE AC and the commit and during
//! sync. Afterwards every approval the process reported is in the journal, `journal
//! verify` passes, and after a final sync the acquirer holds each approval exactly once.
//!
//! The transaction loop is `journal simulate`, which drives the same journal API that
//! `transact` uses (pending before GENERATE AC, completion before approval is reported); the
//! pause between the two stands for the card exchange.

use std::collections::{HashMap, HashSet};
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use emv_acquirer as acquirer;
use emv_journal::{RecordId, State};
use emv_test_support::*;

/// The binary under test.
const BIN: &str = env!("CARGO_BIN_EXE_emv-terminal");

const SEED: u64 = 0x5EED_0008;
const ROUNDS: usize = 14;

/// Spawns a thread that collects the lines of a child's pipe.
fn collect<R: std::io::Read + Send + 'static>(
    pipe: R,
    into: Arc<Mutex<Vec<String>>>,
) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        for line in BufReader::new(pipe).lines() {
            let Ok(line) = line else { break };
            into.lock().unwrap().push(line);
        }
    })
}

#[test]
fn sigkill_at_random_moments_loses_no_reported_approval() {
    let mut rng = fastrand::Rng::with_seed(SEED);
    let p = paths();
    let acq = AcquirerProcess::start(
        &p.dir.path().join("acquirer.db"),
        &["--lose-ack", "0.3", "--fault-seed", "8"],
    );
    let stdout_lines = Arc::new(Mutex::new(Vec::new()));
    let stderr_lines = Arc::new(Mutex::new(Vec::new()));
    let mut sync_kills = 0;
    for round in 0..ROUNDS {
        let delay_ms = rng.u64(1..6).to_string();
        let mut args = strings(&[
            "journal",
            "simulate",
            "--count",
            "100000",
            "--delay-ms",
            &delay_ms,
        ]);
        args.extend(p.args());
        let mut child = Command::new(BIN)
            .args(&args)
            .env_remove("EMV_JOURNAL_KEY_FILE")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn simulate");
        let out = collect(child.stdout.take().unwrap(), Arc::clone(&stdout_lines));
        let err = collect(child.stderr.take().unwrap(), Arc::clone(&stderr_lines));
        // Every other round a sync runs alongside and is killed too.
        let mut sync = (round % 2 == 1).then(|| {
            let mut sync_args = strings(&[
                "sync",
                "--url",
                &acq.url,
                "--batch-size",
                "5",
                "--backoff",
                "5ms",
                "--ca",
            ]);
            sync_args.push(acq.ca.display().to_string());
            sync_args.extend(p.args());
            Command::new(BIN)
                .args(&sync_args)
                .env_remove("EMV_JOURNAL_KEY_FILE")
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("spawn sync")
        });
        std::thread::sleep(Duration::from_millis(rng.u64(60..500)));
        if let Some(sync) = sync.as_mut() {
            if sync.try_wait().unwrap().is_none() {
                sync_kills += 1;
            }
            sync.kill().unwrap();
            sync.wait().unwrap();
        }
        std::thread::sleep(Duration::from_millis(rng.u64(0..40)));
        child.kill().expect("SIGKILL");
        child.wait().unwrap();
        out.join().unwrap();
        err.join().unwrap();
    }

    // What the killed processes reported as approved.
    let reported: HashMap<i64, String> = stdout_lines
        .lock()
        .unwrap()
        .iter()
        .filter_map(|line| {
            let mut words = line.split(' ');
            (words.next() == Some("APPROVED")).then_some(())?;
            Some((words.next()?.parse().ok()?, words.next()?.to_string()))
        })
        .collect();
    assert!(
        reported.len() > 20,
        "the loop ran: {} approvals",
        reported.len()
    );

    // Restart: pending records left by the kills are resolved and reported, never dropped.
    let journal = p.open();
    let mut incomplete: HashSet<i64> = stderr_lines
        .lock()
        .unwrap()
        .iter()
        .filter_map(|l| {
            l.strip_prefix("INCOMPLETE ")?
                .split(' ')
                .next()?
                .parse()
                .ok()
        })
        .collect();
    incomplete.extend(journal.recovered().iter().map(|r| r.id.0));
    assert!(
        !incomplete.is_empty(),
        "some kill landed between GENERATE AC and the commit"
    );
    for (id, key) in &reported {
        let record = journal
            .get(RecordId(*id))
            .expect("reported approval is in the journal");
        assert_eq!(record.state, State::Approved, "record {id}");
        assert_eq!(&record.idempotency_key, key);
        assert!(!incomplete.contains(id));
    }
    let all = journal.records_after(RecordId(0), 1_000_000).unwrap();
    assert!(all.iter().all(|r| r.state != State::Pending));
    for id in &incomplete {
        assert_eq!(journal.get(RecordId(*id)).unwrap().state, State::Incomplete);
    }
    drop(journal);
    let mut verify = strings(&["journal", "verify"]);
    verify.extend(p.args());
    let out = run_ok(&verify);
    assert!(out.contains("journal verified"), "{out}");

    // A final sync: the acquirer holds every approval exactly once.
    let mut sync_args = strings(&[
        "sync",
        "--url",
        &acq.url,
        "--backoff",
        "5ms",
        "--max-attempts",
        "50",
        "--ca",
    ]);
    sync_args.push(acq.ca.display().to_string());
    sync_args.extend(p.args());
    run_ok(&sync_args);
    let approved: HashSet<String> = all
        .iter()
        .filter(|r| r.state == State::Approved)
        .map(|r| r.idempotency_key.clone())
        .collect();
    let held: Vec<(String, u64)> = acquirer::received_keys(&acq.db).unwrap();
    let held_keys: HashSet<String> = held.iter().map(|(k, _)| k.clone()).collect();
    assert_eq!(held.len(), held_keys.len());
    assert_eq!(held_keys, approved, "acquirer holds exactly the approvals");
    for key in reported.values() {
        assert!(held_keys.contains(key));
    }
    eprintln!(
        "crash test: {ROUNDS} kills, {} reported approvals, {} incomplete, {} syncs killed mid-run, {} approvals at the acquirer",
        reported.len(),
        incomplete.len(),
        sync_kills,
        held.len()
    );
    assert!(sync_kills > 0, "at least one sync was killed mid-run");
    assert_eq!(p.open().unsynced_count().unwrap(), 0);
}
