//! Crash test with the real `transact` (issue 8): a loop of `emv-terminal transact --json`
//! processes on simulated cards (offline CDA approvals, online approvals with the host
//! simulator) sharing one journal and key, killed with SIGKILL at seeded random moments;
//! in some rounds exactly in the window between the last GENERATE AC and the journal commit
//! (the testing aid `EMV_TERMINAL_PAUSE_BEFORE_COMMIT_MS` of the `test-aids` feature, documented in
//! docs/journal.md). Syncs to the reference acquirer run alongside and are killed too.
//!
//! In other rounds in the window between the commit and the display of the outcome
//! (`EMV_TERMINAL_PAUSE_BEFORE_SHOW_MS`): an approval committed but never shown.
//!
//! Afterwards: every approval a `transact` reported (its JSON object on stdout) is in the
//! journal as approved with the same amount, cryptogram and ATC; records left pending are
//! reported incomplete on the next start and never dropped; the approvals committed but not
//! shown that `journal status` and the next `transact` report are exactly the approvals no
//! `transact` reported (and the rare one whose process died between the display and its
//! shown mark), with their amounts; `journal verify` passes; after more killed syncs,
//! `journal reconcile --all` and a final sync the acquirer holds each journal approval
//! exactly once, with the journal's amount.

use std::collections::{HashMap, HashSet};
use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use emv_acquirer as acquirer;
use emv_journal::{Mode, RecordId, State};
use emv_test_support::*;

/// The binary under test.
const BIN: &str = env!("CARGO_BIN_EXE_emv-terminal");

/// The default seed; `EMV_CRASH_SEED=N` runs another schedule (soak runs).
const SEED: u64 = 0x5EED_0801;
/// Transactions started; about one in four runs to the end, the others are killed.
const ROUNDS: usize = 100;
/// Environment variable of the testing aid in `transact`.
const PAUSE_ENV: &str = "EMV_TERMINAL_PAUSE_BEFORE_COMMIT_MS";
/// The testing aid's pause between the commit and the display of the outcome.
const SHOW_PAUSE_ENV: &str = "EMV_TERMINAL_PAUSE_BEFORE_SHOW_MS";

/// How a round ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Kill {
    /// Not killed: the transaction runs to the end.
    Never,
    /// Killed after a random fraction of a typical transaction's duration.
    AtRandom,
    /// Killed while `transact` pauses between the last GENERATE AC and the commit.
    BeforeCommit,
    /// Killed while `transact` pauses between the commit and showing the outcome.
    BeforeShow,
}

/// A running `transact` with its output collected by threads.
struct Running {
    child: Child,
    stdout: std::thread::JoinHandle<String>,
    stderr_lines: mpsc::Receiver<String>,
    stderr: Vec<String>,
}

impl Running {
    fn start(p: &Paths, amount: &str, online: bool, pause: Option<(&str, u64)>) -> Running {
        let mut args = strings(&["transact", "--json", "--amount", amount]);
        if online {
            args.extend(strings(&["--card", "card-online", "--host", "approve"]));
        } else {
            args.extend(strings(&["--card", "cda"]));
        }
        args.extend(p.args());
        let mut command = Command::new(BIN);
        command
            .args(&args)
            .env_remove("EMV_JOURNAL_KEY_FILE")
            .env_remove(PAUSE_ENV)
            .env_remove(SHOW_PAUSE_ENV)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        if let Some((variable, ms)) = pause {
            command.env(variable, ms.to_string());
        }
        let mut child = command.spawn().expect("spawn transact");
        let mut out = child.stdout.take().expect("stdout");
        let stdout = std::thread::spawn(move || {
            let mut text = String::new();
            let _ = out.read_to_string(&mut text);
            text
        });
        let err = child.stderr.take().expect("stderr");
        let (send, stderr_lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(err).lines() {
                let Ok(line) = line else { break };
                if send.send(line).is_err() {
                    break;
                }
            }
        });
        Running {
            child,
            stdout,
            stderr_lines,
            stderr: Vec::new(),
        }
    }

    /// Waits (bounded) for a stderr line starting with `prefix`; true when seen.
    fn wait_for_line(&mut self, prefix: &str, limit: Duration) -> bool {
        let deadline = Instant::now() + limit;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.stderr_lines.recv_timeout(left) {
                Ok(line) => {
                    let found = line.starts_with(prefix);
                    self.stderr.push(line);
                    if found {
                        return true;
                    }
                }
                Err(_) => return false,
            }
        }
    }

    /// SIGKILL (if still running), then everything it wrote.
    fn kill_and_collect(mut self) -> (bool, String, Vec<String>) {
        let killed = self.child.try_wait().expect("try_wait").is_none();
        let _ = self.child.kill();
        self.child.wait().expect("wait");
        let stdout = self.stdout.join().expect("stdout thread");
        self.stderr.extend(self.stderr_lines.iter());
        (killed, stdout, self.stderr)
    }
}

/// An approval a `transact` process reported on stdout.
#[derive(Debug)]
struct Reported {
    record: i64,
    amount: u64,
    cryptogram: String,
    atc: u64,
    online: bool,
}

/// The reported approval in a killed or finished process's stdout, if it got that far.
fn reported_approval(stdout: &str) -> Option<Reported> {
    let line = stdout.lines().next()?;
    // A kill while writing leaves a truncated line: not reported.
    let value: serde_json::Value = serde_json::from_str(line).ok()?;
    if value["decision"] != "approved" {
        return None;
    }
    Some(Reported {
        record: value["journal_record"].as_i64()?,
        amount: value["amount_authorised"].as_u64()?,
        cryptogram: value["application_cryptogram"].as_str()?.to_owned(),
        atc: value["atc"].as_u64()?,
        online: value["mode"] == "online",
    })
}

fn sync_args(p: &Paths, acq: &AcquirerProcess, extra: &[&str]) -> Vec<String> {
    let mut args = strings(&["sync", "--url", &acq.url, "--backoff", "5ms", "--ca"]);
    args.push(acq.ca.display().to_string());
    args.extend(p.args());
    args.extend(strings(extra));
    args
}

fn spawn_sync(p: &Paths, acq: &AcquirerProcess) -> Child {
    Command::new(BIN)
        .args(sync_args(p, acq, &["--batch-size", "3"]))
        .env_remove("EMV_JOURNAL_KEY_FILE")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn sync")
}

/// Kills a sync child; true when it was still running.
fn kill_sync(mut sync: Child) -> bool {
    let running = sync.try_wait().expect("try_wait").is_none();
    let _ = sync.kill();
    sync.wait().expect("wait sync");
    running
}

#[test]
fn sigkill_during_transact_and_sync_loses_no_reported_approval() {
    let started = Instant::now();
    let seed = std::env::var("EMV_CRASH_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(SEED);
    let mut rng = fastrand::Rng::with_seed(seed);
    let p = paths();
    let acq = AcquirerProcess::start(
        &p.dir.path().join("acquirer.db"),
        &[
            "--lose-ack",
            "0.3",
            "--delay-rate",
            "0.5",
            "--delay",
            "300ms",
            "--fault-seed",
            "81",
        ],
    );

    let mut reported: HashMap<i64, Reported> = HashMap::new();
    let mut announced_incomplete: HashSet<i64> = HashSet::new();
    // Records pending when a process was killed in the pause before the commit.
    let mut killed_before_commit: Vec<i64> = Vec::new();
    // Approvals committed, then killed before their outcome was shown.
    let mut killed_before_show: Vec<i64> = Vec::new();
    // Approvals reported by a process that was then killed (perhaps before its shown mark).
    let mut reported_then_killed: HashSet<i64> = HashSet::new();
    let mut kills = HashMap::from([
        (Kill::AtRandom, 0),
        (Kill::BeforeCommit, 0),
        (Kill::BeforeShow, 0),
    ]);
    let mut sync_kills = 0;
    let mut sync: Option<(Child, usize)> = None;
    // A typical transaction's duration on this machine now, from the unkilled rounds.
    let mut typical = Duration::from_millis(80);
    for round in 0..ROUNDS {
        // Round 0 creates the key file and runs to the end; then a seeded mix.
        let kill = match (round, rng.u8(0..8)) {
            (0, _) => Kill::Never,
            (_, 0 | 1) => Kill::Never,
            (_, 2 | 3) => Kill::BeforeCommit,
            (_, 4) => Kill::BeforeShow,
            _ => Kill::AtRandom,
        };
        let online = rng.bool();
        let amount = format!("{}.{:02}", rng.u8(1..40), rng.u8(0..100));
        let pause = match kill {
            Kill::BeforeCommit => Some((PAUSE_ENV, 5_000)),
            Kill::BeforeShow => Some((SHOW_PAUSE_ENV, 5_000)),
            _ => None,
        };
        let begun = Instant::now();
        let mut running = Running::start(&p, &amount, online, pause);
        match kill {
            Kill::Never => {
                let _ = running.child.wait();
                typical = (typical + begun.elapsed()) / 2;
            }
            Kill::AtRandom => {
                let fraction = rng.f64() * 1.2;
                std::thread::sleep(typical.mul_f64(fraction));
            }
            Kill::BeforeCommit | Kill::BeforeShow => {
                let paused = running.wait_for_line("journal: pausing", Duration::from_secs(20));
                assert!(paused, "transact reached the pause ({kill:?})");
            }
        }
        let (killed, stdout, stderr) = running.kill_and_collect();
        if killed {
            *kills.get_mut(&kill).expect("kill kind") += 1;
        }
        for line in &stderr {
            let id = line
                .strip_prefix("journal: record ")
                .and_then(|rest| {
                    rest.strip_suffix(" was left pending by an earlier run; marked incomplete")
                })
                .and_then(|id| id.parse::<i64>().ok());
            announced_incomplete.extend(id);
        }
        let approval = reported_approval(&stdout);
        if kill == Kill::BeforeCommit {
            assert!(
                approval.is_none(),
                "killed before the commit: nothing reported"
            );
            let pending = stderr.iter().find_map(|line| {
                line.strip_prefix("journal: record ")?
                    .strip_suffix(" pending")?
                    .parse::<i64>()
                    .ok()
            });
            killed_before_commit.push(pending.expect("pending record announced"));
        }
        if kill == Kill::BeforeShow {
            assert!(
                approval.is_none(),
                "killed before the display: nothing reported"
            );
            let approved = stderr.iter().find_map(|line| {
                line.strip_prefix("journal: record ")?
                    .strip_suffix(" approved")?
                    .parse::<i64>()
                    .ok()
            });
            killed_before_show.extend(approved);
        }
        if let Some(approval) = approval {
            if killed {
                reported_then_killed.insert(approval.record);
            }
            assert!(reported.insert(approval.record, approval).is_none());
        }
        // A sync runs alongside every few rounds and is killed a few rounds later.
        if round % 6 == 3 {
            if let Some((child, _)) = sync.take() {
                sync_kills += usize::from(kill_sync(child));
            }
            sync = Some((spawn_sync(&p, &acq), round));
        } else if let Some((child, begun_round)) = sync.take() {
            if round >= begun_round + 2 {
                sync_kills += usize::from(kill_sync(child));
            } else {
                sync = Some((child, begun_round));
            }
        }
    }
    if let Some((child, _)) = sync.take() {
        sync_kills += usize::from(kill_sync(child));
    }

    // Restart: records left pending by the last kill are resolved and reported.
    // (A later process killed right after resolving may not have printed its report, so
    // the journal's incomplete records include the reported ones, not only them.)
    let journal = p.open();
    let mut reported_incomplete = announced_incomplete.clone();
    reported_incomplete.extend(journal.recovered().iter().map(|r| r.id.0));
    let all = journal.records_after(RecordId(0), 1_000_000).unwrap();
    assert!(all.iter().all(|r| r.state != State::Pending));
    let incomplete: HashSet<i64> = all
        .iter()
        .filter(|r| r.state == State::Incomplete)
        .map(|r| r.id.0)
        .collect();
    assert!(reported_incomplete.is_subset(&incomplete));
    for id in &killed_before_commit {
        assert!(
            incomplete.contains(id),
            "record {id}, killed before its commit, is incomplete"
        );
    }
    // Every reported approval is in the journal, approved, with its amount, cryptogram and ATC.
    for approval in reported.values() {
        let record = journal
            .get(RecordId(approval.record))
            .expect("reported approval is in the journal");
        assert_eq!(record.state, State::Approved, "record {}", approval.record);
        assert_eq!(
            record.amount_authorised, approval.amount,
            "record {}",
            approval.record
        );
        let expected_mode = if approval.online {
            Mode::Online
        } else {
            Mode::Offline
        };
        assert_eq!(record.mode, Some(expected_mode));
        assert_eq!(
            record.application_cryptogram.map(hex::encode_upper),
            Some(approval.cryptogram.clone())
        );
        assert_eq!(record.atc.map(u64::from), Some(approval.atc));
    }
    // Committed but not shown: exactly the approvals no transact reported, plus any whose
    // process died between the display and the shown mark; with the journal's amounts.
    let amounts: HashMap<i64, u64> = all
        .iter()
        .filter(|r| r.state == State::Approved)
        .map(|r| (r.id.0, r.amount_authorised))
        .collect();
    let never_reported: HashSet<i64> = amounts
        .keys()
        .filter(|id| !reported.contains_key(id))
        .copied()
        .collect();
    drop(journal);
    let mut status_args = strings(&["journal", "status", "--json"]);
    status_args.extend(p.args());
    let status: serde_json::Value = serde_json::from_str(&run_ok(&status_args)).unwrap();
    let listed = status["unshown_approvals"].as_array().expect("a list");
    let unshown: HashSet<i64> = listed.iter().map(|a| a["id"].as_i64().unwrap()).collect();
    assert_eq!(
        status["unshown"].as_u64(),
        Some(unshown.len() as u64),
        "all listed"
    );
    for approval in listed {
        let id = approval["id"].as_i64().unwrap();
        assert_eq!(
            approval["amount_authorised"].as_u64(),
            amounts.get(&id).copied(),
            "record {id}: the amount reported is the journal's"
        );
    }
    assert!(
        never_reported.is_subset(&unshown),
        "every approval never shown is reported: {never_reported:?} vs {unshown:?}"
    );
    let shown_but_unmarked: HashSet<i64> = unshown.difference(&never_reported).copied().collect();
    assert!(
        shown_but_unmarked.is_subset(&reported_then_killed),
        "approvals reported by a transact that ran to the end lack their shown mark: {shown_but_unmarked:?}"
    );
    for id in &killed_before_show {
        assert!(
            unshown.contains(id),
            "record {id}, killed before the display, is reported"
        );
    }
    // The next transact reports the same ones at its start.
    let mut args = strings(&["transact", "--json", "--amount", "1.00", "--card", "cda"]);
    args.extend(p.args());
    let out = emv_test_support::run(&args);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let warning = stderr
        .lines()
        .find(|l| l.starts_with("warning: ") && l.contains("committed but never shown"))
        .unwrap_or_else(|| panic!("reported at the next start: {stderr}"));
    assert!(
        warning.starts_with(&format!(
            "warning: {} approval{} committed but never shown: ",
            unshown.len(),
            if unshown.len() == 1 { " was" } else { "s were" }
        )),
        "{warning}"
    );
    let warned: HashSet<i64> = warning
        .split("record ")
        .skip(1)
        .filter_map(|rest| rest.split(' ').next()?.parse().ok())
        .collect();
    assert_eq!(warned.len(), unshown.len().min(10), "{warning}");
    assert!(warned.is_subset(&unshown), "{warning}");
    let mut reconcile = strings(&["journal", "reconcile", "--all"]);
    reconcile.extend(p.args());
    run_ok(&reconcile);
    let status: serde_json::Value = serde_json::from_str(&run_ok(&status_args)).unwrap();
    assert_eq!(status["unshown"], 0, "{status:#}");

    let mut verify = strings(&["journal", "verify"]);
    verify.extend(p.args());
    let out = run_ok(&verify);
    assert!(out.contains("journal verified"), "{out}");

    // More syncs killed mid-run, then a final one that runs to the end.
    for _ in 0..3 {
        let child = spawn_sync(&p, &acq);
        std::thread::sleep(Duration::from_millis(rng.u64(20..150)));
        sync_kills += usize::from(kill_sync(child));
    }
    run_ok(&sync_args(&p, &acq, &["--max-attempts", "50"]));

    let journal = p.open();
    let all = journal.records_after(RecordId(0), 1_000_000).unwrap();
    let approved: HashSet<String> = all
        .iter()
        .filter(|r| r.state == State::Approved)
        .map(|r| r.idempotency_key.clone())
        .collect();
    let held: Vec<(String, u64)> = acquirer::received_keys(&acq.db).unwrap();
    let held_keys: HashSet<String> = held.iter().map(|(k, _)| k.clone()).collect();
    assert_eq!(held.len(), held_keys.len(), "no key stored twice");
    assert_eq!(held_keys, approved, "acquirer holds exactly the approvals");
    for approval in reported.values() {
        let key = journal
            .get(RecordId(approval.record))
            .unwrap()
            .idempotency_key;
        assert!(
            held_keys.contains(&key),
            "reported approval {key} reached the acquirer"
        );
    }
    // The acquirer holds each with the journal's amount (reconciled ones included).
    let conn = rusqlite::Connection::open(&acq.db).unwrap();
    let mut stmt = conn
        .prepare("SELECT idempotency_key, body FROM received")
        .unwrap();
    let bodies: Vec<(String, String)> = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    for (key, body) in bodies {
        let body: serde_json::Value = serde_json::from_str(&body).unwrap();
        let record = all
            .iter()
            .find(|r| r.idempotency_key == key)
            .expect("the acquirer's record is in the journal");
        assert_eq!(
            body["amount_authorised"].as_u64(),
            Some(record.amount_authorised),
            "{key}"
        );
    }
    let stats = acquirer::stats(&acq.db).unwrap();
    assert_eq!(stats.records, approved.len() as u64);
    assert_eq!(journal.unsynced_count().unwrap(), 0);

    let online = reported.values().filter(|r| r.online).count();
    eprintln!(
        "transact crash test (seed {seed:#x}): {ROUNDS} transactions, {} killed at random, {} killed before the commit, \
         {} killed before the display, {} reported approvals ({online} online), {} committed but not shown \
         ({} reported then killed before the mark), {} incomplete, {} syncs killed mid-run, \
         {} approvals at the acquirer ({} deliveries), {:.1} s",
        kills[&Kill::AtRandom],
        kills[&Kill::BeforeCommit],
        kills[&Kill::BeforeShow],
        reported.len(),
        unshown.len(),
        shown_but_unmarked.len(),
        incomplete.len(),
        sync_kills,
        held.len(),
        stats.deliveries,
        started.elapsed().as_secs_f64()
    );
    assert!(
        reported.len() >= 10,
        "the loop approved: {}",
        reported.len()
    );
    assert!(online > 0, "some approvals were online");
    assert!(kills[&Kill::AtRandom] > 0 && kills[&Kill::BeforeCommit] > 0);
    assert!(
        !killed_before_show.is_empty(),
        "some approvals were killed before the display"
    );
    assert!(sync_kills > 0, "at least one sync was killed mid-run");
}
