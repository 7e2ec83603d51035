//! Power-loss test (issue 16): `transact` and `sync` run on one journal under a model of
//! the disk that discards every write not made durable by fsync or fdatasync (and every
//! creation, rename and unlink not followed by an fsync of the directory) when the power is
//! cut: an LD_PRELOAD library (`powerloss/preload.c`) records what a cut would discard, a
//! cut is a SIGKILL of every running `emv-terminal` process followed by the rollback of
//! the journal's directory to its last durable image (`powerloss/mod.rs`), as SQLite's own
//! crash tests keep the last synced image of a file.
//!
//! Each round runs one to three offline (`cda`) or online (`card-online --host approve`)
//! `transact --json` processes one after the other and, in about half the rounds, a `sync`
//! to the reference acquirer (which loses acknowledgements) alongside, and cuts the power
//! at a seeded random moment. After each cut: every approval a `transact` showed (its JSON
//! object reached stdout) is in the journal, approved, with its amount, cryptogram and
//! ATC; `journal verify` passes; every approval committed but never shown is reported by
//! `journal status` as not shown. At the end, after a final sync, the acquirer holds each
//! journal approval exactly once, with the journal's amount.
//!
//! The mutation check runs the same harness with the journal at `PRAGMA synchronous=OFF`
//! (the `test-aids` knob `EMV_JOURNAL_TEST_SYNCHRONOUS_OFF`) and asserts that it reports
//! lost approvals, so the test is shown able to fail.
//!
//! `EMV_POWERLOSS_SEED=N` and `EMV_POWERLOSS_ROUNDS=N` run another schedule (soak runs).

mod powerloss;

use std::collections::{HashMap, HashSet};
use std::fs;
use std::io::Read;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use emv_test_support::{strings, AcquirerProcess};
use powerloss::{Discarded, PowerModel};

/// The binary under test.
const BIN: &str = env!("CARGO_BIN_EXE_emv-terminal");
/// The default seed of the schedule.
const SEED: u64 = 0x5EED_1616;
/// Power cuts of the main test (about 75 ms each on the project machine, debug build).
const ROUNDS: usize = 500;
/// Most power cuts of the mutation check (it stops at the first that loses an approval).
const MUTATION_ROUNDS: usize = 20;
/// The journal knob of the mutation check (`test-aids` only).
const SYNCHRONOUS_OFF_ENV: &str = "EMV_JOURNAL_TEST_SYNCHRONOUS_OFF";

/// An approval a `transact` showed: its JSON object reached stdout whole.
#[derive(Debug, Clone)]
struct Shown {
    record: i64,
    amount: u64,
    cryptogram: String,
    atc: u64,
}

/// One record of the journal as the disk holds it after a cut.
#[derive(Debug, Clone)]
struct Stored {
    key: String,
    state: String,
    amount: u64,
    cryptogram: Option<String>,
    atc: Option<u64>,
}

/// A running `emv-terminal` process with its output collected by threads.
struct Running {
    child: Child,
    stdout: JoinHandle<String>,
    stderr: JoinHandle<String>,
}

fn collect(mut pipe: impl Read + Send + 'static) -> JoinHandle<String> {
    std::thread::spawn(move || {
        let mut text = String::new();
        let _ = pipe.read_to_string(&mut text);
        text
    })
}

/// How a process ended: killed by the cut, or exited with this status.
struct Ended {
    killed: bool,
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

impl Running {
    fn finished(&mut self) -> bool {
        self.child.try_wait().expect("try_wait").is_some()
    }

    /// SIGKILL if still running, then everything it wrote.
    fn end(mut self) -> Ended {
        let running = self.child.try_wait().expect("try_wait").is_none();
        if running {
            let _ = self.child.kill();
        }
        let status = self.child.wait().expect("wait");
        Ended {
            // Killed by the harness, or by the shim at the operation the power went off.
            killed: running || status.signal() == Some(9),
            code: status.code(),
            stdout: self.stdout.join().expect("stdout thread"),
            stderr: self.stderr.join().expect("stderr thread"),
        }
    }
}

/// What a run of the harness saw.
#[derive(Debug, Default)]
struct Report {
    rounds: usize,
    /// Cuts just before a seeded tracked operation (write, fsync, rename, ...).
    cuts_at_operation: usize,
    /// Cuts at a seeded moment.
    cuts_at_time: usize,
    /// Cuts once every process of the round had ended.
    cuts_at_rest: usize,
    /// Cuts that killed at least one running process.
    cuts_while_running: usize,
    transacts: usize,
    transacts_killed: usize,
    syncs: usize,
    syncs_killed: usize,
    shown: usize,
    discarded: Discarded,
    /// Shown approvals missing from the journal (or changed) after a cut.
    lost: usize,
    /// Every check that failed, with what it saw.
    failures: Vec<String>,
    elapsed: Duration,
}

/// How long a transact takes and how many tracked operations it makes, measured as the
/// rounds go (the cut points are drawn over that span).
struct Pace {
    transact: Duration,
    operations: f64,
}

struct Harness {
    model: PowerModel,
    journal: PathBuf,
    key: PathBuf,
    scratch: PathBuf,
    acquirer: AcquirerProcess,
    synchronous_off: bool,
    rng: fastrand::Rng,
    shown: Vec<Shown>,
    report: Report,
}

impl Harness {
    fn new(work: &Path, seed: u64, synchronous_off: bool) -> Harness {
        let model = PowerModel::new(work, "terminal");
        let acquirer = AcquirerProcess::start(
            &work.join("acquirer.db"),
            &["--lose-ack", "0.3", "--fault-seed", "16"],
        );
        let scratch = work.join("scratch");
        fs::create_dir_all(&scratch).expect("scratch dir");
        Harness {
            journal: model.dir.join("journal.db"),
            key: model.dir.join("journal.key"),
            model,
            scratch,
            acquirer,
            synchronous_off,
            rng: fastrand::Rng::with_seed(seed),
            shown: Vec::new(),
            report: Report::default(),
        }
    }

    /// `emv-terminal ARGS --journal J --journal-key K` under the power model.
    fn command(&self, args: &[String]) -> Command {
        let mut command = Command::new(BIN);
        command
            .args(args)
            .arg("--journal")
            .arg(&self.journal)
            .arg("--journal-key")
            .arg(&self.key)
            .env_remove("EMV_JOURNAL_KEY_FILE")
            .env_remove(SYNCHRONOUS_OFF_ENV)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        if self.synchronous_off {
            command.env(SYNCHRONOUS_OFF_ENV, "1");
        }
        self.model.wrap(&mut command);
        command
    }

    fn spawn(&self, args: &[String]) -> Running {
        let mut child = self.command(args).spawn().expect("spawn emv-terminal");
        let stdout = collect(child.stdout.take().expect("stdout"));
        let stderr = collect(child.stderr.take().expect("stderr"));
        Running {
            child,
            stdout,
            stderr,
        }
    }

    fn spawn_transact(&mut self) -> Running {
        let amount = format!("{}.{:02}", self.rng.u8(1..40), self.rng.u8(0..100));
        let mut args = strings(&["transact", "--json", "--amount", &amount]);
        if self.rng.u8(0..4) == 0 {
            args.extend(strings(&["--card", "card-online", "--host", "approve"]));
        } else {
            args.extend(strings(&["--card", "cda"]));
        }
        self.spawn(&args)
    }

    fn sync_args(&self, extra: &[&str]) -> Vec<String> {
        let mut args = strings(&["sync", "--url", &self.acquirer.url, "--backoff", "5ms"]);
        args.push("--ca".into());
        args.push(self.acquirer.ca.display().to_string());
        args.extend(strings(extra));
        args
    }

    /// A transact that ended: its shown approval, if any; an error exit is a failure.
    fn harvest_transact(&mut self, ended: Ended) {
        self.report.transacts += 1;
        self.report.transacts_killed += usize::from(ended.killed);
        if let Some(shown) = shown_approval(&ended.stdout) {
            self.shown.push(shown);
            self.report.shown += 1;
        }
        if !ended.killed && !matches!(ended.code, Some(0 | 2 | 3)) {
            self.fail(format!(
                "transact exited {:?} after a power cut:\n{}",
                ended.code,
                ended.stderr.trim()
            ));
        }
    }

    fn harvest_sync(&mut self, ended: Ended) {
        self.report.syncs += 1;
        self.report.syncs_killed += usize::from(ended.killed);
        // Before the first approval the journal may not exist yet (or a cut undid its creation).
        let no_journal_yet = self.shown.is_empty() && ended.stderr.contains("error: no journal at");
        if !ended.killed && ended.code != Some(0) && !no_journal_yet {
            self.fail(format!(
                "sync exited {:?}:\n{}",
                ended.code,
                ended.stderr.trim()
            ));
        }
    }

    fn fail(&mut self, what: String) {
        let mut listing: Vec<String> = fs::read_dir(&self.model.dir)
            .map(|entries| {
                entries
                    .flatten()
                    .map(|e| {
                        let size = e.metadata().map_or(0, |m| m.len());
                        format!("{} {size}", e.file_name().to_string_lossy())
                    })
                    .collect()
            })
            .unwrap_or_default();
        listing.sort();
        let prefix = if self.synchronous_off {
            "mutation check (synchronous=OFF) caught"
        } else {
            "power-loss check failed"
        };
        eprintln!(
            "{prefix}: {what}\n  (the journal's directory: {})",
            listing.join(", ")
        );
        // EMV_POWERLOSS_KEEP=DIR keeps a copy of the directory at each failure.
        if let Some(keep) = std::env::var_os("EMV_POWERLOSS_KEEP") {
            let to = Path::new(&keep).join(format!("failure-{}", self.report.failures.len()));
            let _ = fs::create_dir_all(&to);
            for entry in fs::read_dir(&self.model.dir)
                .into_iter()
                .flatten()
                .flatten()
            {
                let _ = fs::copy(entry.path(), to.join(entry.file_name()));
            }
            eprintln!("  kept in {}", to.display());
        }
        self.report.failures.push(what);
    }

    /// One round: transactions (and maybe a sync) until the power is cut, just before a
    /// seeded tracked operation or at a seeded moment (`at_rest`: once they all ended).
    fn round(&mut self, pace: &mut Pace, at_rest: bool) {
        let mut queued = self.rng.usize(1..=3);
        let transacts = queued as f64;
        let window = pace.transact.mul_f64(transacts * 1.1);
        let at_operation = self.rng.bool();
        let (cut_at, target) = if at_rest {
            (None, None)
        } else if at_operation {
            let span = (pace.operations * transacts * 1.1).max(2.0) as u64;
            (None, Some(1 + self.rng.u64(0..span)))
        } else {
            (Some(window.mul_f64(self.rng.f64())), None)
        };
        self.model.arm(target).expect("arm the cut");
        let sync_at = (self.rng.bool()).then(|| window.mul_f64(self.rng.f64()));
        let begun = Instant::now();
        let mut transact: Option<(Running, Instant)> = None;
        let mut sync: Option<Running> = None;
        let mut sync_started = false;
        let mut started = 0usize;
        let mut power_off = false;
        loop {
            let now = begun.elapsed();
            if cut_at.is_some_and(|at| now >= at) {
                break;
            }
            if let Some((running, since)) = transact.as_mut() {
                if running.finished() {
                    let took = since.elapsed();
                    let (running, _) = transact.take().expect("running");
                    let ended = running.end();
                    power_off |= ended.killed;
                    if !ended.killed {
                        pace.transact = (pace.transact * 3 + took) / 4;
                    }
                    self.harvest_transact(ended);
                }
            }
            if sync.as_mut().is_some_and(Running::finished) {
                let ended = sync.take().expect("sync").end();
                power_off |= ended.killed;
                self.harvest_sync(ended);
            }
            if power_off {
                break; // the shim cut the power at its operation
            }
            if transact.is_none() && queued > 0 {
                queued -= 1;
                started += 1;
                transact = Some((self.spawn_transact(), Instant::now()));
            }
            if !sync_started && sync_at.is_some_and(|at| now >= at) {
                sync_started = true;
                sync = Some(self.spawn(&self.sync_args(&["--batch-size", "3"])));
            }
            let idle = transact.is_none() && queued == 0 && sync.is_none();
            if idle && (sync_started || sync_at.is_none()) {
                break; // nothing left to cut: the cut comes at rest
            }
            std::thread::sleep(Duration::from_millis(1));
        }
        // The power cut: every process dies at once, then the disk keeps what was durable.
        let mut killed_any = power_off;
        if let Some((running, _)) = transact.take() {
            let ended = running.end();
            killed_any |= ended.killed;
            self.harvest_transact(ended);
        }
        if let Some(running) = sync.take() {
            let ended = running.end();
            killed_any |= ended.killed;
            self.harvest_sync(ended);
        }
        if !killed_any && started > 0 && !sync_started {
            let per_transact = self.model.operations() as f64 / started as f64;
            pace.operations = (pace.operations * 3.0 + per_transact) / 4.0;
        }
        self.report.cuts_while_running += usize::from(killed_any);
        if at_rest {
            self.report.cuts_at_rest += 1;
        } else if at_operation {
            self.report.cuts_at_operation += 1;
        } else {
            self.report.cuts_at_time += 1;
        }
        self.report.discarded += self.model.cut().expect("roll back to the durable image");
        self.model.arm(None).expect("disarm");
        self.report.rounds += 1;
    }

    /// The journal's records as the disk holds them, read from a copy (so neither the
    /// identity checks nor a broken file stop the count).
    fn stored(&self) -> Result<HashMap<i64, Stored>, String> {
        for suffix in ["", "-wal"] {
            let from = PathBuf::from(format!("{}{suffix}", self.journal.display()));
            let to = self.scratch.join(format!("journal.db{suffix}"));
            let _ = fs::remove_file(&to);
            if from.exists() {
                fs::copy(&from, &to).map_err(|e| format!("copy {}: {e}", from.display()))?;
            }
        }
        let _ = fs::remove_file(self.scratch.join("journal.db-shm"));
        let db = self.scratch.join("journal.db");
        if !db.exists() {
            return Ok(HashMap::new());
        }
        let read = || -> rusqlite::Result<HashMap<i64, Stored>> {
            let conn = rusqlite::Connection::open(&db)?;
            let has_records: bool = conn
                .prepare("SELECT 1 FROM sqlite_master WHERE name = 'records'")?
                .exists([])?;
            if !has_records {
                return Ok(HashMap::new());
            }
            let mut stmt = conn.prepare(
                "SELECT id, idempotency_key, state, amount_authorised, application_cryptogram, atc
                 FROM records",
            )?;
            let rows = stmt.query_map([], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    Stored {
                        key: r.get(1)?,
                        state: r.get(2)?,
                        amount: r.get::<_, i64>(3)? as u64,
                        cryptogram: r.get::<_, Option<Vec<u8>>>(4)?.map(hex::encode_upper),
                        atc: r.get::<_, Option<i64>>(5)?.map(|a| a as u64),
                    },
                ))
            })?;
            rows.collect()
        };
        read().map_err(|e| format!("the journal does not open: {e}"))
    }

    /// The checks after a cut; returns whether all passed.
    fn check(&mut self) -> bool {
        let before = self.report.failures.len();
        match self.stored() {
            Ok(stored) => {
                let mut lost = Vec::new();
                for shown in &self.shown {
                    let same = stored.get(&shown.record).is_some_and(|r| {
                        r.state == "approved"
                            && r.amount == shown.amount
                            && r.cryptogram.as_deref() == Some(shown.cryptogram.as_str())
                            && r.atc == Some(shown.atc)
                    });
                    if !same {
                        lost.push(format!(
                            "record {} ({} minor units, cryptogram {}): now {:?}",
                            shown.record,
                            shown.amount,
                            shown.cryptogram,
                            stored.get(&shown.record)
                        ));
                    }
                }
                if !lost.is_empty() {
                    self.report.lost += lost.len();
                    self.fail(format!(
                        "{} shown approval(s) lost by a power cut: {}",
                        lost.len(),
                        lost.join("; ")
                    ));
                }
                // Approvals committed but never shown must be reported as not shown.
                if stored.values().any(|r| r.state == "approved") {
                    let shown_ids: HashSet<i64> = self.shown.iter().map(|s| s.record).collect();
                    match self.unshown() {
                        Ok(reported) => {
                            let missing: Vec<i64> = stored
                                .iter()
                                .filter(|(id, r)| r.state == "approved" && !shown_ids.contains(id))
                                .map(|(id, _)| *id)
                                .filter(|id| !reported.contains(id))
                                .collect();
                            if !missing.is_empty() {
                                self.fail(format!(
                                    "approvals committed but never shown, not reported by `journal status`: {missing:?}"
                                ));
                            }
                        }
                        Err(e) => self.fail(e),
                    }
                }
            }
            Err(e) => {
                self.report.lost += self.shown.len();
                self.fail(format!(
                    "{e}: {} shown approval(s) unreadable",
                    self.shown.len()
                ));
            }
        }
        if self.shown.is_empty() && !self.journal.exists() {
            return self.report.failures.len() == before; // nothing written yet, or undone
        }
        let out = self
            .command(&strings(&["journal", "verify"]))
            .output()
            .expect("run journal verify");
        if !out.status.success() {
            self.fail(format!(
                "journal verify after a power cut: {}{}",
                String::from_utf8_lossy(&out.stdout).trim(),
                String::from_utf8_lossy(&out.stderr).trim()
            ));
        }
        self.report.failures.len() == before
    }

    /// The ids `journal status --json` reports as committed but not shown.
    fn unshown(&self) -> Result<HashSet<i64>, String> {
        let out = self
            .command(&strings(&["journal", "status", "--json"]))
            .output()
            .expect("run journal status");
        if !out.status.success() {
            return Err(format!(
                "journal status after a power cut: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            ));
        }
        let value: serde_json::Value = serde_json::from_slice(&out.stdout)
            .map_err(|e| format!("journal status --json: {e}"))?;
        Ok(value["unshown_approvals"]
            .as_array()
            .map(|list| list.iter().filter_map(|r| r["id"].as_i64()).collect())
            .unwrap_or_default())
    }

    /// After the last cut: a final sync, then the acquirer holds each approval once.
    fn final_sync_and_acquirer_check(&mut self) {
        let out = self
            .command(&self.sync_args(&["--max-attempts", "50"]))
            .output()
            .expect("run the final sync");
        if !out.status.success() {
            self.fail(format!(
                "final sync: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            ));
            return;
        }
        let stored = match self.stored() {
            Ok(stored) => stored,
            Err(e) => return self.fail(e),
        };
        let approved: HashMap<&str, u64> = stored
            .values()
            .filter(|r| r.state == "approved")
            .map(|r| (r.key.as_str(), r.amount))
            .collect();
        let held = match acquirer_holds(&self.acquirer.db) {
            Ok(held) => held,
            Err(e) => return self.fail(format!("reading the acquirer: {e}")),
        };
        let mut problems = Vec::new();
        for (key, amount) in &approved {
            match held.get(*key) {
                Some(held_amount) if held_amount == amount => {}
                Some(held_amount) => problems.push(format!(
                    "{key}: journal amount {amount}, acquirer {held_amount}"
                )),
                None => problems.push(format!("{key} never reached the acquirer")),
            }
        }
        for key in held.keys() {
            if !approved.contains_key(key.as_str()) {
                problems.push(format!("the acquirer holds {key}, which the journal lacks"));
            }
        }
        if !problems.is_empty() {
            self.fail(format!(
                "acquirer after the final sync: {}",
                problems.join("; ")
            ));
        }
    }
}

/// The acquirer's records: idempotency key to amount (each key is held once: it is the
/// table's primary key).
fn acquirer_holds(db: &Path) -> rusqlite::Result<HashMap<String, u64>> {
    let conn = rusqlite::Connection::open(db)?;
    let mut stmt = conn.prepare("SELECT idempotency_key, body FROM received")?;
    let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))?;
    let mut held = HashMap::new();
    for row in rows {
        let (key, body) = row?;
        let body: serde_json::Value = serde_json::from_str(&body).unwrap_or_default();
        held.insert(key, body["amount_authorised"].as_u64().unwrap_or(u64::MAX));
    }
    Ok(held)
}

/// The approval in a transact's stdout, if its JSON object got there whole.
fn shown_approval(stdout: &str) -> Option<Shown> {
    let value: serde_json::Value = serde_json::from_str(stdout.lines().next()?).ok()?;
    if value["decision"] != "approved" {
        return None;
    }
    Some(Shown {
        record: value["journal_record"].as_i64()?,
        amount: value["amount_authorised"].as_u64()?,
        cryptogram: value["application_cryptogram"].as_str()?.to_owned(),
        atc: value["atc"].as_u64()?,
    })
}

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Runs `rounds` power cuts (stopping at the first failed check when `stop_at_failure`;
/// the first cut comes at rest then, once the first round's approvals were shown).
fn run(seed: u64, rounds: usize, synchronous_off: bool, stop_at_failure: bool) -> Report {
    let started = Instant::now();
    let work = tempfile::tempdir().expect("tempdir");
    let mut harness = Harness::new(work.path(), seed, synchronous_off);
    let mut pace = Pace {
        transact: Duration::from_millis(150),
        operations: 60.0,
    };
    for round in 0..rounds {
        harness.round(&mut pace, stop_at_failure && round == 0);
        if !harness.check() && stop_at_failure {
            break;
        }
    }
    if harness.report.failures.is_empty() || !stop_at_failure {
        harness.final_sync_and_acquirer_check();
    }
    let mut report = std::mem::take(&mut harness.report);
    report.elapsed = started.elapsed();
    report
}

fn print(what: &str, seed: u64, report: &Report) {
    eprintln!(
        "{what} (seed {seed:#x}): {} rounds ({} cut before a tracked operation, {} at a moment, \
         {} at rest), \
         {} power cuts that killed a running process \
         ({} of {} transacts, {} of {} syncs), {} approvals shown, discarded at the cuts: \
         {} unsynced writes in {} file versions and {} name changes; {} shown approvals lost, \
         {} failed checks, {:.1} s",
        report.rounds,
        report.cuts_at_operation,
        report.cuts_at_time,
        report.cuts_at_rest,
        report.cuts_while_running,
        report.transacts_killed,
        report.transacts,
        report.syncs_killed,
        report.syncs,
        report.shown,
        report.discarded.writes,
        report.discarded.files,
        report.discarded.names,
        report.lost,
        report.failures.len(),
        report.elapsed.as_secs_f64()
    );
}

#[test]
fn power_cuts_lose_no_shown_approval() {
    let seed = env_or("EMV_POWERLOSS_SEED", SEED);
    let rounds = env_or("EMV_POWERLOSS_ROUNDS", ROUNDS);
    let report = run(seed, rounds, false, false);
    print("power-loss test", seed, &report);
    assert!(
        report.failures.is_empty(),
        "{} failed check(s), first: {}",
        report.failures.len(),
        report.failures[0]
    );
    assert!(
        report.shown >= rounds / 4,
        "the rounds approved: {report:?}"
    );
    assert!(
        report.cuts_while_running >= rounds / 2,
        "most cuts hit a running process: {report:?}"
    );
    assert!(report.syncs_killed > 0, "some cuts hit a sync: {report:?}");
    assert!(
        report.discarded.writes > 0 && report.discarded.names > 0,
        "the cuts discarded unsynced writes and name changes: {report:?}"
    );
}

/// The mutation check: with `synchronous=OFF` the same harness reports lost approvals.
#[test]
fn power_cuts_with_synchronous_off_are_caught_losing_approvals() {
    let seed = env_or("EMV_POWERLOSS_SEED", SEED);
    let report = run(seed, MUTATION_ROUNDS, true, true);
    print("power-loss mutation check, synchronous=OFF", seed, &report);
    assert!(
        report.lost > 0,
        "the harness must catch the approvals synchronous=OFF loses: {report:?}"
    );
}

/// The model itself: what is discarded at a cut and what survives, on a small script.
#[test]
fn the_model_keeps_exactly_what_was_made_durable() {
    let work = tempfile::tempdir().expect("tempdir");
    let model = PowerModel::new(work.path(), "d");
    let d = &model.dir;
    fs::write(d.join("replaced"), "old").unwrap();
    fs::write(d.join("unlinked"), "kept").unwrap();
    fs::write(d.join("truncated"), "0123456789").unwrap();
    fs::write(d.join("x-shm"), "volatile").unwrap();
    // Everything above predates the model: durable.
    let script = r#"
import os, sys
d = sys.argv[1]
def p(n): return os.path.join(d, n)
def dirsync():
    fd = os.open(d, os.O_RDONLY); os.fsync(fd); os.close(fd)
# synced data survives (fsync, then pwrite and fdatasync), the unsynced append after it does not
fd = os.open(p("synced"), os.O_CREAT | os.O_WRONLY, 0o600)
os.write(fd, b"durable"); os.fsync(fd)
os.pwrite(fd, b"D", 0); os.fdatasync(fd)
os.write(fd, b"+lost"); os.close(fd)
dirsync()
# a truncation without fsync is undone; an O_TRUNC open too
fd = os.open(p("truncated"), os.O_WRONLY); os.ftruncate(fd, 3); os.close(fd)
fd = os.open(p("replaced"), os.O_WRONLY | os.O_TRUNC); os.write(fd, b"overwritten"); os.close(fd)
# a name made durable by a directory fsync stays
fd = os.open(p("named"), os.O_CREAT | os.O_WRONLY, 0o600); os.write(fd, b"nm"); os.fsync(fd); os.close(fd)
os.link(p("named"), p("linked"))
dirsync()
# after the last directory fsync: a synced file whose name was never made durable disappears
fd = os.open(p("new"), os.O_CREAT | os.O_WRONLY, 0o600); os.write(fd, b"n"); os.fsync(fd); os.close(fd)
# rename over an existing file, unlink and rename: undone
fd = os.open(p("tmp"), os.O_CREAT | os.O_WRONLY, 0o600); os.write(fd, b"new"); os.fsync(fd); os.close(fd)
os.rename(p("tmp"), p("replaced"))
os.unlink(p("unlinked"))
os.unlink(p("x-shm"))
os.rename(p("named"), p("moved"))
"#;
    let mut command = Command::new("python3");
    command.arg("-c").arg(script).arg(d);
    let status = model.wrap(&mut command).status().expect("python3");
    assert!(status.success());
    assert_eq!(fs::read_to_string(d.join("replaced")).unwrap(), "new");
    let discarded = model.cut().expect("cut");
    let read = |name: &str| fs::read_to_string(d.join(name)).ok();
    assert_eq!(read("synced").as_deref(), Some("Durable"));
    assert_eq!(read("truncated").as_deref(), Some("0123456789"));
    assert_eq!(read("replaced").as_deref(), Some("old"));
    assert_eq!(read("unlinked").as_deref(), Some("kept"));
    assert_eq!(read("new"), None);
    assert_eq!(read("tmp"), None);
    assert_eq!(read("named").as_deref(), Some("nm"));
    assert_eq!(read("linked").as_deref(), Some("nm"));
    assert_eq!(read("moved"), None);
    assert_eq!(read("x-shm"), None, "-shm files are volatile");
    assert!(
        discarded.writes >= 4 && discarded.names >= 5,
        "{discarded:?}"
    );
}
