//! The `journal` and `sync` subcommands: thin command-line layers over [`emv_journal`]
//! and [`emv_journal::sync`]. The acquirer they sync to is another program
//! (`emv-acquirer serve`, for tests and demos).

use std::error::Error;
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, SystemTime};

use clap::{Args as ClapArgs, Subcommand, ValueEnum};
use emv_journal::export::{self, record_json, rfc3339};
use emv_journal::sync::{self, SyncConfig};
use emv_journal::{
    self as journal, backup, Completion, Journal, KeySource, Mode, OfflineLimits, OpenOptions,
    Outcome, PendingTransaction, RecordId,
};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

type CmdResult = Result<ExitCode, Box<dyn Error>>;

/// Where the journal and its key are (shared by `journal`, `sync` and later `transact`).
#[derive(ClapArgs, Debug, Clone)]
pub struct StoreArgs {
    /// Journal file [default: $XDG_DATA_HOME/emv-terminal/journal.db or ~/.local/share/emv-terminal/journal.db].
    #[arg(long, value_name = "FILE", global = true)]
    pub journal: Option<PathBuf>,
    /// Key file sealing card data [default: $EMV_JOURNAL_KEY_FILE, else ~/.config/emv-terminal/journal.key]; created 0600 on first use.
    #[arg(long, value_name = "FILE", global = true)]
    pub journal_key: Option<PathBuf>,
}

impl StoreArgs {
    /// The journal file.
    pub fn journal_path(&self) -> PathBuf {
        self.journal
            .clone()
            .unwrap_or_else(journal::default_journal_path)
    }

    /// The key file.
    pub fn key_source(&self) -> KeySource {
        let path = self.journal_path();
        KeySource::create_if_missing(journal::resolve_key_path(
            self.journal_key.as_deref(),
            &path,
        ))
    }

    /// Opens the journal; a writer resolves records a crash left pending and reports them.
    pub fn open(&self, shared: bool) -> Result<Journal, Box<dyn Error>> {
        let path = self.journal_path();
        let journal = Journal::open_with(
            &path,
            &self.key_source(),
            &OpenOptions {
                shared,
                ..OpenOptions::default()
            },
        )?;
        if let Some(key) = journal.key_created() {
            eprintln!(
                "created journal key file {} (mode 0600); keep it private and backed up apart from the journal",
                key.display()
            );
        }
        for record in journal.recovered() {
            eprintln!(
                "INCOMPLETE {} {} amount {} {}: left pending by an interrupted transaction (outcome unknown)",
                record.id, record.idempotency_key, record.amount_authorised, record.masked_pan
            );
        }
        Ok(journal)
    }

    /// Opens an existing journal as a reader; a missing file is an error, not a new journal.
    fn open_existing(&self) -> Result<Journal, Box<dyn Error>> {
        let path = self.journal_path();
        if !path.exists() {
            return Err(format!("no journal at {}", path.display()).into());
        }
        self.open(true)
    }
}

/// Offline limits as command-line options.
#[derive(ClapArgs, Debug, Clone, Default)]
pub struct LimitArgs {
    /// Most offline approvals not yet synced.
    #[arg(long, value_name = "N")]
    pub max_offline_approvals: Option<u32>,
    /// Most cumulative amount (minor units) of offline approvals not yet synced.
    #[arg(long, value_name = "MINOR_UNITS")]
    pub max_offline_amount: Option<u64>,
    /// Oldest an unsynced offline approval may be (e.g. 24h, 3d).
    #[arg(long, value_name = "DURATION", value_parser = humantime::parse_duration)]
    pub max_unsynced_age: Option<Duration>,
}

impl LimitArgs {
    /// The limits.
    pub fn limits(&self) -> OfflineLimits {
        OfflineLimits {
            max_offline_approvals: self.max_offline_approvals,
            max_offline_amount: self.max_offline_amount,
            max_unsynced_age_secs: self.max_unsynced_age.map(|d| d.as_secs()),
        }
    }
}

/// `emv-terminal journal ...`
#[derive(ClapArgs, Debug)]
pub struct JournalArgs {
    #[command(flatten)]
    store: StoreArgs,
    #[command(subcommand)]
    command: JournalCommand,
}

#[derive(Subcommand, Debug)]
enum JournalCommand {
    /// Counts per state, unsynced exposure, keys, chain head, and approvals never shown.
    Status {
        /// Print JSON.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        limits: LimitArgs,
    },
    /// List records (masked PAN only).
    List {
        /// Only approved records not yet acknowledged by the acquirer.
        #[arg(long)]
        unsynced: bool,
        /// Start after this record id.
        #[arg(long, default_value_t = 0)]
        after: i64,
        /// Most records to list.
        #[arg(long, default_value_t = 100)]
        limit: usize,
        /// Print JSON lines.
        #[arg(long)]
        json: bool,
    },
    /// Show one record in full.
    Show {
        /// Record id.
        id: i64,
        /// Also open the sealed fields (full PAN, expiry, track 2).
        #[arg(long)]
        reveal: bool,
    },
    /// Export all records (masked PAN only).
    Export {
        /// Output format.
        #[arg(long, value_enum)]
        format: ExportFormat,
        /// Write to this file instead of standard output.
        #[arg(long, short, value_name = "FILE")]
        output: Option<PathBuf>,
    },
    /// Check the HMAC chain and every sealed field; report the first broken link.
    Verify,
    /// Copy the journal with SQLite's online backup (safe while transacting).
    Backup {
        /// Backup file to create (must not exist).
        file: PathBuf,
    },
    /// Replace the journal with a backup after checking its chain and keys.
    Restore {
        /// Backup file.
        file: PathBuf,
        /// Restore even if the current journal holds records the backup lacks.
        #[arg(long)]
        force: bool,
    },
    /// Delete old records that need no sync, oldest first, keeping the chain verifiable.
    Prune {
        /// Delete records synced (or, for declines, finished) before this date (YYYY-MM-DD or RFC 3339).
        #[arg(long, value_name = "DATE")]
        synced_before: String,
    },
    /// Add a new key to the key file; new records use it, old records stay readable.
    RotateKey,
    /// Acknowledge approvals committed but never shown (`journal status` lists them), after
    /// checking each with the merchant or customer; they stay approved and are synced.
    Reconcile {
        /// Record id of an approval committed but not shown (repeatable).
        #[arg(
            long = "id",
            value_name = "ID",
            required_unless_present = "all",
            conflicts_with = "all"
        )]
        ids: Vec<i64>,
        /// Every approval committed but not shown.
        #[arg(long)]
        all: bool,
    },
    /// Test support: run N journal cycles (pending, pause, approved) through the same API
    /// `transact` uses, printing `APPROVED <id> <key>` after each durable commit.
    #[command(hide = true)]
    Simulate {
        /// Transactions to write.
        #[arg(long, default_value_t = 10)]
        count: u64,
        /// Pause between pending and completion, standing for the GENERATE AC exchange.
        #[arg(long, default_value_t = 5)]
        delay_ms: u64,
        /// Amount, Authorised of each transaction (minor units).
        #[arg(long, default_value_t = 1250)]
        amount: u64,
        #[command(flatten)]
        limits: LimitArgs,
    },
}

#[derive(ValueEnum, Debug, Clone, Copy)]
enum ExportFormat {
    Csv,
    Json,
}

/// `emv-terminal sync ...`
#[derive(ClapArgs, Debug)]
pub struct SyncArgs {
    #[command(flatten)]
    store: StoreArgs,
    /// Acquirer URL (https://host:port, or the full batch URL).
    #[arg(long)]
    url: String,
    /// Keep syncing, once per DURATION (e.g. 30s, 5m; at least 1s), until stopped.
    #[arg(long, value_name = "DURATION", value_parser = humantime::parse_duration)]
    every: Option<Duration>,
    /// Print what each run did as one line of JSON (`docs/schema/sync.schema.json`).
    #[arg(long)]
    json: bool,
    /// Trust this CA certificate (PEM) instead of the built-in web roots.
    #[arg(long, value_name = "FILE")]
    ca: Option<PathBuf>,
    /// The acquirer's receipt key (Ed25519 public key, hex) [default: NAME.receipt.pub next
    /// to a --ca NAME.ca.pem]; a record is marked synced only with a receipt it verifies.
    #[arg(long, value_name = "FILE")]
    receipt_key: Option<PathBuf>,
    /// Mutual TLS: this terminal's client certificate (PEM, from `emv-acquirer enroll`).
    #[arg(long, value_name = "FILE", requires = "key")]
    cert: Option<PathBuf>,
    /// The client certificate's private key (PEM, private to its owner).
    #[arg(long, value_name = "FILE", requires = "cert")]
    key: Option<PathBuf>,
    /// Allow a plain http:// URL (debugging only: card data travels in clear).
    #[arg(long)]
    insecure_http: bool,
    /// Records per request.
    #[arg(long, default_value_t = 100)]
    batch_size: usize,
    /// Consecutive failed rounds before giving up.
    #[arg(long, default_value_t = 8)]
    max_attempts: u32,
    /// First retry delay (doubles per failure, with jitter).
    #[arg(long, default_value = "250ms", value_parser = humantime::parse_duration)]
    backoff: Duration,
    /// Largest retry delay.
    #[arg(long, default_value = "30s", value_parser = humantime::parse_duration)]
    max_backoff: Duration,
    /// Timeout of one request (above 0).
    #[arg(long, default_value = "30s", value_parser = humantime::parse_duration)]
    timeout: Duration,
}

fn progress_bar(len: u64, what: &str) -> ProgressBar {
    if !std::io::stderr().is_terminal() {
        return ProgressBar::with_draw_target(Some(len), ProgressDrawTarget::hidden());
    }
    let bar = ProgressBar::new(len);
    if let Ok(style) = ProgressStyle::with_template(&format!(
        "{what} {{bar:40}} {{pos}}/{{len}} {{per_sec}} eta {{eta}}"
    )) {
        bar.set_style(style);
    }
    bar
}

fn parse_date(text: &str) -> Result<SystemTime, Box<dyn Error>> {
    let candidate = if text.len() == 10 {
        format!("{text}T00:00:00Z")
    } else {
        text.to_string()
    };
    humantime::parse_rfc3339_weak(&candidate).map_err(|e| {
        crate::usage(format!(
            "invalid date {text:?} (expected a calendar date YYYY-MM-DD or RFC 3339): {e}"
        ))
    })
}

fn hex_opt<T: AsRef<[u8]>>(value: &Option<T>) -> String {
    value
        .as_ref()
        .map_or_else(|| "-".to_string(), hex::encode_upper)
}

/// Runs `emv-terminal journal ...`.
pub fn run_journal(args: JournalArgs) -> CmdResult {
    let store = args.store;
    match args.command {
        JournalCommand::Status { json, limits } => status(&store, json, &limits),
        JournalCommand::List {
            unsynced,
            after,
            limit,
            json,
        } => list(&store, unsynced, after, limit, json),
        JournalCommand::Show { id, reveal } => show(&store, id, reveal),
        JournalCommand::Export { format, output } => export_cmd(&store, format, output.as_deref()),
        JournalCommand::Verify => verify(&store),
        JournalCommand::Backup { file } => {
            let journal = store.open_existing()?;
            backup::backup(&journal, &file)?;
            outln!("backup written to {}", file.display())?;
            Ok(ExitCode::SUCCESS)
        }
        JournalCommand::Restore { file, force } => {
            let report = backup::restore(&store.journal_path(), &file, &store.key_source(), force)?;
            outln!(
                "restored {} record(s) into {} ({} chain links verified)",
                report.records,
                store.journal_path().display(),
                report.links_checked
            )?;
            Ok(ExitCode::SUCCESS)
        }
        JournalCommand::Prune { synced_before } => {
            let cutoff = parse_date(&synced_before)?;
            let mut journal = store.open(false)?;
            let report = journal.prune_before(cutoff)?;
            outln!(
                "pruned {} record(s); chain anchored at link {}",
                report.deleted,
                report.anchor
            )?;
            Ok(ExitCode::SUCCESS)
        }
        JournalCommand::RotateKey => {
            let mut journal = store.open(false)?;
            let id = journal.rotate_key()?;
            outln!(
                "key {id} added to {}; new records are sealed with it, older keys stay for older records",
                journal.keys().path().display()
            )?;
            Ok(ExitCode::SUCCESS)
        }
        JournalCommand::Reconcile { ids, all } => reconcile(&store, &ids, all),
        JournalCommand::Simulate {
            count,
            delay_ms,
            amount,
            limits,
        } => simulate(&store, count, delay_ms, amount, &limits),
    }
}

fn status(store: &StoreArgs, json: bool, limit_args: &LimitArgs) -> CmdResult {
    let journal = store.open_existing()?;
    let status = journal.status()?;
    let limits = limit_args.limits();
    let reason = journal.offline_limits_reached(&limits, SystemTime::now(), 0)?;
    if json {
        let value = export::status_json(&status, journal.path(), reason);
        outln!("{}", serde_json::to_string_pretty(&value)?)?;
        return Ok(ExitCode::SUCCESS);
    }
    outln!("journal        {}", journal.path().display())?;
    outln!(
        "key file       {} (keys {:?}, active {})",
        journal.keys().path().display(),
        status.key_ids,
        journal.keys().active_id()
    )?;
    outln!("schema         v{}", status.schema_version)?;
    outln!("terminal id    {}", status.terminal_id)?;
    outln!(
        "records        {} (approved {}, declined {}, terminated {}, incomplete {}, pending {})",
        status.records,
        status.approved,
        status.declined,
        status.terminated,
        status.incomplete,
        status.pending
    )?;
    outln!("unsynced       {} approved record(s)", status.unsynced)?;
    let exposure = status.offline_exposure;
    outln!(
        "offline        {} unsynced offline approval(s), total {}, oldest {}",
        exposure.count,
        exposure.total_amount,
        exposure
            .oldest_created_at
            .map_or_else(|| "-".to_string(), rfc3339)
    )?;
    outln!(
        "last full sync {}",
        status
            .last_successful_sync
            .map_or_else(|| "never".to_string(), rfc3339)
    )?;
    outln!("chain head     link {}", status.chain_head)?;
    if status.unshown == 0 {
        outln!("not shown      none (every approval was shown)")?;
    } else {
        outln!(
            "not shown      {} approval(s) committed but never shown to the merchant:",
            status.unshown
        )?;
        for approval in &status.unshown_approvals {
            outln!(
                "               record {} amount {} (currency {:03}) card {} at {}",
                approval.id,
                approval.amount_authorised,
                approval.currency_code,
                approval.masked_pan,
                approval
                    .completed_at
                    .map_or_else(|| "-".to_string(), rfc3339)
            )?;
        }
        let more = status
            .unshown
            .saturating_sub(status.unshown_approvals.len() as u64);
        if more > 0 {
            outln!("               and {more} more")?;
        }
        outln!(
            "               check each with the merchant/customer, then `journal reconcile --id N` (or --all)"
        )?;
    }
    if limits.any() {
        match reason {
            Some(reason) => outln!("offline limit  REACHED: {reason}")?,
            None => outln!("offline limit  not reached")?,
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn reconcile(store: &StoreArgs, ids: &[i64], all: bool) -> CmdResult {
    let mut journal = store.open(false)?;
    let now = SystemTime::now();
    let done = if all {
        journal.reconcile_all(now)?
    } else {
        let ids: Vec<RecordId> = ids.iter().copied().map(RecordId).collect();
        journal.reconcile(&ids, now)?
    };
    if done.is_empty() {
        outln!("nothing to reconcile: every approval was shown")?;
    }
    for id in done {
        let record = journal.get(id)?;
        outln!(
            "record {} amount {} (currency {:03}) card {}: marked shown by reconciliation",
            id,
            record.amount_authorised,
            record.currency_code,
            record.masked_pan
        )?;
    }
    Ok(ExitCode::SUCCESS)
}

fn list(store: &StoreArgs, unsynced: bool, after: i64, limit: usize, json: bool) -> CmdResult {
    let journal = store.open_existing()?;
    let records = if unsynced {
        journal.unsynced_after(RecordId(after), limit)?
    } else {
        journal.records_after(RecordId(after), limit)?
    };
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    if !json {
        writeln!(
            out,
            "{:>8}  {:<10} {:<7} {:>12} {:>4}  {:<19} {:<20} {:<12}",
            "id", "state", "mode", "amount", "cur", "masked pan", "created", "sync"
        )?;
    }
    for record in records {
        if json {
            writeln!(out, "{}", record_json(&record))?;
        } else {
            writeln!(
                out,
                "{:>8}  {:<10} {:<7} {:>12} {:>4}  {:<19} {:<20} {:<12}",
                record.id.0,
                record.state.as_str(),
                record.mode.map_or("-", Mode::as_str),
                record.amount_authorised,
                record.currency_code,
                record.masked_pan,
                rfc3339(record.created_at),
                record.sync_state.as_str()
            )?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn show(store: &StoreArgs, id: i64, reveal: bool) -> CmdResult {
    let journal = store.open_existing()?;
    let record = journal.get(RecordId(id))?;
    let mut value = record_json(&record);
    if reveal {
        let sensitive = journal.sensitive(&record)?;
        if let Some(object) = value.as_object_mut() {
            object.insert("pan".into(), serde_json::json!(sensitive.pan_digits()));
            object.insert(
                "expiry_date".into(),
                serde_json::json!(hex::encode(sensitive.expiry_date)),
            );
            object.insert(
                "track2_equivalent".into(),
                serde_json::json!(sensitive.track2_equivalent.as_ref().map(hex::encode_upper)),
            );
        }
    }
    if let Some(object) = value.as_object_mut() {
        object.insert("mac".into(), serde_json::json!(hex_opt(&record.mac)));
    }
    outln!("{}", serde_json::to_string_pretty(&value)?)?;
    Ok(ExitCode::SUCCESS)
}

fn export_cmd(store: &StoreArgs, format: ExportFormat, output: Option<&Path>) -> CmdResult {
    let journal = store.open_existing()?;
    let total = journal.status()?.records;
    let bar = progress_bar(total, "export");
    let format = match format {
        ExportFormat::Csv => export::Format::Csv,
        ExportFormat::Json => export::Format::Json,
    };
    let written = match output {
        Some(path) => {
            // An export holds card data (masked PAN, ICC data): private to its owner.
            let file = crate::files::create_private(path)
                .map_err(|e| format!("{}: {e}", path.display()))?;
            let mut writer = std::io::BufWriter::new(file);
            export::export(&journal, format, &mut writer, &mut |n| bar.set_position(n))?
        }
        None => {
            let stdout = std::io::stdout();
            let mut writer = std::io::BufWriter::new(stdout.lock());
            export::export(&journal, format, &mut writer, &mut |n| bar.set_position(n))?
        }
    };
    bar.finish_and_clear();
    if let Some(path) = output {
        eprintln!("exported {written} record(s) to {}", path.display());
    }
    Ok(ExitCode::SUCCESS)
}

fn verify(store: &StoreArgs) -> CmdResult {
    let journal = store.open_existing()?;
    let report = journal.verify()?;
    match report.first_broken {
        None => {
            outln!(
                "journal verified: {} chain link(s) after anchor {}, all sealed fields authentic",
                report.links_checked,
                report.anchor
            )?;
            Ok(ExitCode::SUCCESS)
        }
        Some(broken) => {
            outln!(
                "journal BROKEN at chain link {} (record {}): {} ({} link(s) verified before it)",
                broken.chain_seq,
                broken.record_id,
                broken.reason,
                report.links_checked
            )?;
            Ok(ExitCode::FAILURE)
        }
    }
}

/// Test PANs (BCD, from the public EMV test card ranges) cycled by the simulator.
const SIMULATED_PANS: [[u8; 8]; 3] = [
    [0x54, 0x13, 0x33, 0x00, 0x89, 0x01, 0x06, 0x08],
    [0x47, 0x61, 0x73, 0x90, 0x01, 0x01, 0x01, 0x19],
    [0x37, 0x42, 0x45, 0x45, 0x54, 0x00, 0x12, 0x6F],
];

fn simulate(
    store: &StoreArgs,
    count: u64,
    delay_ms: u64,
    amount: u64,
    limit_args: &LimitArgs,
) -> CmdResult {
    let mut journal = store.open(false)?;
    let limits = limit_args.limits();
    let stdout = std::io::stdout();
    for index in 0..count {
        let now = SystemTime::now();
        let reason = journal.offline_limits_reached(&limits, now, amount)?;
        let pan = SIMULATED_PANS
            .get((index % SIMULATED_PANS.len() as u64) as usize)
            .copied()
            .unwrap_or_default();
        let pending = PendingTransaction {
            amount_authorised: amount,
            amount_other: 0,
            currency_code: 978,
            transaction_type: 0x00,
            transaction_date: [0x26, 0x11, 0x25],
            transaction_time: [0x12, 0x00, 0x00],
            aid: vec![0xA0, 0x00, 0x00, 0x00, 0x04, 0x10, 0x10],
            pan: pan.to_vec(),
            pan_sequence_number: Some(1),
            track2_equivalent: Some([pan.as_slice(), &[0xD2, 0x71, 0x22, 0x01]].concat()),
            expiry_date: [0x27, 0x12, 0x31],
        };
        let id = journal.begin_pending(&pending, now)?;
        std::thread::sleep(Duration::from_millis(delay_ms));
        // No host in the simulator: a reached limit forces online, which cannot happen here,
        // so the transaction is declined offline with the reason recorded.
        let (outcome, arc, cid) = match reason {
            Some(_) => (Outcome::Declined, *b"Z1", 0x00),
            None => (Outcome::Approved, *b"Y1", 0x40),
        };
        let mut tvr = [0u8; 5];
        if reason.is_some() {
            tvr[3] |= 0x08; // Book 3 Annex C: TVR byte 4 bit 4, merchant forced transaction online.
        }
        let atc = u16::try_from(id.0 & 0xFFFF).unwrap_or(0);
        let completion = Completion {
            outcome,
            mode: Mode::Offline,
            authorisation_response_code: Some(arc),
            cryptogram_information_data: Some(cid),
            application_cryptogram: Some((id.0 as u64).to_be_bytes()),
            atc: Some(atc),
            tvr,
            tsi: [0xE8, 0x00],
            cvm_results: [0x1F, 0x03, 0x02],
            icc_data: [&[0x9F, 0x36, 0x02][..], &atc.to_be_bytes()].concat(),
            forced_online_reason: reason.map(|r| r.to_string()),
        };
        journal.complete(id, &completion, SystemTime::now())?;
        let record = journal.get(id)?;
        let mut out = stdout.lock();
        match reason {
            None => writeln!(out, "APPROVED {} {}", id, record.idempotency_key)?,
            Some(reason) => writeln!(out, "DECLINED {} {} {}", id, record.idempotency_key, reason)?,
        }
        out.flush()?;
        drop(out);
        if reason.is_none() {
            // Shown (printed) first, then confirmed, as `transact` does.
            journal.mark_shown(id, SystemTime::now())?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Runs `emv-terminal sync ...`.
/// The shortest `--every`: a shorter period would hammer the acquirer (and `0s` busy-loops).
const MIN_SYNC_PERIOD: Duration = Duration::from_secs(1);

/// Checks `sync`'s options before any journal is opened, so a typo is reported even
/// when there is nothing to send; every error is a usage error (exit status 64).
fn check_sync_args(args: &SyncArgs) -> Result<(), crate::UsageError> {
    let url = args.url.trim();
    let rest = if let Some(rest) = url.strip_prefix("https://") {
        rest
    } else if let Some(rest) = url.strip_prefix("http://") {
        if !args.insecure_http {
            return Err(format!(
                "--url {url}: plain http:// sends card data in clear; use https:// (or --insecure-http for debugging)"
            )
            .into());
        }
        rest
    } else {
        return Err(format!("--url {url:?}: expected https://HOST[:PORT][/PATH]").into());
    };
    let authority = rest.split('/').next().unwrap_or_default();
    // HOST, HOST:PORT, [IPv6] or [IPv6]:PORT.
    let (host, port) = match authority.strip_prefix('[') {
        Some(bracketed) => match bracketed.split_once(']') {
            Some((host, after)) => (host, after.strip_prefix(':')),
            None => ("", None),
        },
        None => match authority.split_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (authority, None),
        },
    };
    if let Some(port) = port {
        if port.parse::<u16>().map_or(true, |p| p == 0) {
            return Err(format!("--url {url}: port {port:?} is not 1 to 65535").into());
        }
    }
    if host.is_empty() || url.chars().any(char::is_whitespace) {
        return Err(format!("--url {url:?}: expected https://HOST[:PORT][/PATH]").into());
    }
    if let Some(period) = args.every {
        if period < MIN_SYNC_PERIOD {
            return Err(format!(
                "--every {}: the shortest period is {}",
                humantime::format_duration(period),
                humantime::format_duration(MIN_SYNC_PERIOD)
            )
            .into());
        }
    }
    for (option, value) in [
        ("--timeout", args.timeout),
        ("--backoff", args.backoff),
        ("--max-backoff", args.max_backoff),
    ] {
        if value.is_zero() {
            return Err(format!("{option} 0s: must be above zero").into());
        }
    }
    if args.max_backoff < args.backoff {
        return Err("--max-backoff is shorter than --backoff".into());
    }
    if args.batch_size == 0 {
        return Err("--batch-size 0: at least one record per request".into());
    }
    Ok(())
}

pub fn run_sync(args: SyncArgs) -> CmdResult {
    check_sync_args(&args)?;
    let config = SyncConfig {
        ca: args.ca.clone(),
        receipt_key: args.receipt_key.clone(),
        client_cert: args.cert.clone(),
        client_key: args.key.clone(),
        insecure_http: args.insecure_http,
        batch_size: args.batch_size,
        max_attempts: args.max_attempts.max(1),
        base_backoff: args.backoff,
        max_backoff: args.max_backoff,
        request_timeout: args.timeout,
        ..SyncConfig::new(args.url.clone())
    };
    loop {
        // Reopened every round, so a long-running `--every` picks up a rotated key file.
        let mut journal = args.store.open_existing()?;
        let total = journal.unsynced_count()?;
        let bar = progress_bar(total, "sync");
        let result = sync::sync_once(&mut journal, &config, &mut |done, _| bar.set_position(done));
        bar.finish_and_clear();
        if let Ok(report) = &result {
            if report.bad_receipts > 0 {
                eprintln!(
                    "sync: {} acknowledgement(s) without a valid receipt refused; those records stay unsynced",
                    report.bad_receipts
                );
            }
        }
        match result {
            Ok(report) if args.json => outln!("{}", export::sync_json(&report))?,
            Ok(report) => outln!(
                "synced {} record(s) ({} already held by the acquirer) in {} request(s), {} retr{}; {} remaining",
                report.acknowledged,
                report.duplicates,
                report.requests,
                report.retries,
                if report.retries == 1 { "y" } else { "ies" },
                report.remaining
            )?,
            Err(e) if args.every.is_some() => eprintln!("sync failed: {e}"),
            Err(e) => return Err(e.into()),
        }
        match args.every {
            Some(period) => std::thread::sleep(period),
            None => return Ok(ExitCode::SUCCESS),
        }
    }
}
