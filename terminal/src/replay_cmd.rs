//! `emv-terminal replay` (run the kernel against traces) and `emv-terminal
//! trace import` (turn another tool's APDU log into a trace), plus the
//! `transact --record` helper that writes a recorded trace.
//!
//! The trace format and the replay rules are in `docs/traces.md`.

use std::error::Error;
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use clap::{Args as ClapArgs, Subcommand, ValueEnum};
use emv_kernel::config::TransactionInputs;
use emv_kernel::outcome::Outcome;
use emv_trace::format::{self, CapkSource, ConfigSource, Trace};
use emv_trace::junit::{self, Case};
use emv_trace::record::{self, Header, Recorder};
use emv_trace::replay::{self, Environment, Failure, Style};
use emv_trace::spy;

type CmdResult = Result<ExitCode, Box<dyn Error>>;

/// Arguments of `replay`.
#[derive(ClapArgs, Debug)]
pub struct ReplayArgs {
    /// Trace files, or folders searched for `*.trace` files.
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    /// Write a JUnit XML report to FILE.
    #[arg(long, value_name = "FILE")]
    pub junit: Option<PathBuf>,
    /// Rewrite the expected outcome of traces whose APDUs match but whose
    /// outcome differs, showing what changed.
    #[arg(long)]
    pub update: bool,
    /// CA public keys (capk.txt format) instead of the traces' own.
    #[arg(long, value_name = "FILE")]
    pub capk: Option<PathBuf>,
    /// Print a line for every trace that passes too.
    #[arg(long, short)]
    pub verbose: bool,
    /// Print one JSON document at the end instead of lines (`docs/schema/replay.schema.json`).
    #[arg(long, conflicts_with = "verbose")]
    pub json: bool,
}

/// The version of the `replay --json` contract (`docs/schema/replay.schema.json`).
pub const REPLAY_SCHEMA_VERSION: u32 = 1;

/// Arguments of `trace`.
#[derive(ClapArgs, Debug)]
pub struct TraceArgs {
    #[command(subcommand)]
    command: TraceCommand,
}

#[derive(Subcommand, Debug)]
enum TraceCommand {
    /// Convert another tool's APDU log into a trace.
    Import(ImportArgs),
}

/// The log formats `trace import` reads.
#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    /// The output of pcsc-lite's `pcsc-spy` (SCardTransmit calls).
    PcscSpy,
}

#[derive(ClapArgs, Debug)]
struct ImportArgs {
    /// The log's format.
    #[arg(long, value_enum, default_value_t = LogFormat::PcscSpy)]
    from: LogFormat,
    /// The log file (`-` for stdin).
    log: PathBuf,
    /// The trace to write.
    #[arg(long, short, value_name = "FILE")]
    output: PathBuf,
    /// Amount, Authorised in minor units [default: from the GPO or GENERATE AC data].
    #[arg(long, value_name = "MINOR_UNITS")]
    amount: Option<u64>,
    /// Amount, Other in minor units [default: from the command data, else 0].
    #[arg(long, value_name = "MINOR_UNITS")]
    other_amount: Option<u64>,
    /// Transaction date YYMMDD [default: from the command data].
    #[arg(long, value_name = "YYMMDD")]
    date: Option<String>,
    /// Transaction time HHMMSS [default: from the command data].
    #[arg(long, value_name = "HHMMSS")]
    time: Option<String>,
    /// Unpredictable Number, 8 hex digits [default: from the command data].
    #[arg(long, value_name = "HEX")]
    unpredictable_number: Option<String>,
    /// Random-selection number 1-99 (never in a log) [default: 99].
    #[arg(long, value_name = "N", default_value_t = 99)]
    random_number: u8,
    /// Keep the real PAN and track 2 data (the import masks nothing else).
    #[arg(long)]
    unmasked: bool,
    /// Terminal configuration (TOML) to replay with, written inline [default: built-in].
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// CA public keys (capk.txt) to replay with, referenced with their SHA-256
    /// [default: the built-in test CA keys].
    #[cfg(feature = "simulated-cards")]
    #[arg(long, value_name = "FILE")]
    capk: Option<PathBuf>,
    /// CA public keys (capk.txt) to replay with, referenced with their SHA-256
    /// (this build has no test CA keys: needed unless --unmasked).
    #[cfg(not(feature = "simulated-cards"))]
    #[arg(long, value_name = "FILE")]
    capk: Option<PathBuf>,
}

/// Runs `emv-terminal replay`.
pub fn run_replay(args: ReplayArgs) -> CmdResult {
    let files = collect_traces(&args.paths)?;
    let capk_override = match &args.capk {
        Some(path) => Some(
            std::fs::read_to_string(path).map_err(|e| format!("--capk {}: {e}", path.display()))?,
        ),
        None => None,
    };
    let interactive = std::io::stderr().is_terminal();
    let style = Style {
        color: interactive && std::env::var_os("NO_COLOR").is_none(),
    };
    let progress = (interactive && files.len() > 1).then(|| {
        let bar = indicatif::ProgressBar::new(files.len() as u64);
        bar.set_style(
            indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} traces {msg}")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        bar
    });
    let mut cases = Vec::new();
    let mut results = Vec::new();
    let (mut passed, mut failed) = (0usize, 0usize);
    let mut stdout = std::io::stdout().lock();
    for file in &files {
        let started = Instant::now();
        let mut env = Environment::for_file(file);
        env.capk_override = capk_override.clone();
        let (report, plain) = replay_one(file, &env, args.update, style);
        let seconds = started.elapsed().as_secs_f64();
        let name = file.display().to_string();
        match &plain {
            None => {
                passed += 1;
                if args.json {
                    results.push(serde_json::json!({
                        "path": name,
                        "result": if report.is_empty() { "passed" } else { "updated" },
                        "seconds": seconds,
                        "failure": null,
                        "note": (!report.is_empty()).then(|| report.trim_end().to_owned()),
                    }));
                } else if args.verbose || !report.is_empty() {
                    let text = format!("ok   {name}\n{report}");
                    print_line(&progress, &mut stdout, &text);
                }
            }
            Some(failure) => {
                failed += 1;
                if args.json {
                    results.push(serde_json::json!({
                        "path": name,
                        "result": "failed",
                        "seconds": seconds,
                        "failure": failure.trim_end(),
                        "note": null,
                    }));
                } else {
                    print_line(&progress, &mut stdout, &format!("FAIL {name}\n{report}"));
                }
            }
        }
        cases.push(Case {
            name,
            seconds,
            failure: plain,
        });
        if let Some(bar) = &progress {
            bar.inc(1);
        }
    }
    if let Some(bar) = progress {
        bar.finish_and_clear();
    }
    if let Some(path) = &args.junit {
        std::fs::write(path, junit::report("emv-terminal replay", &cases))
            .map_err(|e| format!("--junit {}: {e}", path.display()))?;
    }
    if args.json {
        let document = serde_json::json!({
            "schema_version": REPLAY_SCHEMA_VERSION,
            "passed": passed,
            "failed": failed,
            "traces": results,
        });
        let _ = writeln!(stdout, "{document:#}");
    } else {
        let _ = writeln!(stdout, "{passed} passed, {failed} failed");
    }
    Ok(if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

fn print_line(progress: &Option<indicatif::ProgressBar>, stdout: &mut impl Write, text: &str) {
    match progress {
        Some(bar) => bar.suspend(|| {
            let _ = write!(stdout, "{text}");
        }),
        None => {
            let _ = write!(stdout, "{text}");
        }
    }
}

/// Replays one file: the text to show, and the uncoloured failure text when it failed.
fn replay_one(
    file: &Path,
    env: &Environment,
    update: bool,
    style: Style,
) -> (String, Option<String>) {
    let text = match std::fs::read_to_string(file) {
        Ok(text) => text,
        Err(e) => {
            let message = format!("  cannot read: {e}\n");
            return (message.clone(), Some(message));
        }
    };
    let trace = match format::parse(&text) {
        Ok(trace) => trace,
        Err(e) => {
            let message = format!("  not a valid trace: {e}\n");
            return (message.clone(), Some(message));
        }
    };
    let replayed = replay::replay(&trace, env);
    let failure = match &replayed.failure {
        None if update && trace.expected.0.len() < replayed.actual.0.len() => {
            // Fields the trace did not expect yet (an imported log): add them.
            return write_update(file, &text, &replayed.actual, "added the outcome fields");
        }
        None => return (String::new(), None),
        Some(failure) => failure,
    };
    if let (true, Failure::Outcome(differences)) = (update, failure) {
        let mut shown = String::new();
        for (field, before, after) in differences {
            shown.push_str(&format!("  {field}: {before} -> {after}\n"));
        }
        return write_update(file, &text, &replayed.actual, &format!("updated:\n{shown}"));
    }
    (
        replay::render_failure(failure, style),
        Some(replay::render_failure(failure, Style { color: false })),
    )
}

fn write_update(
    file: &Path,
    text: &str,
    actual: &format::Expected,
    what: &str,
) -> (String, Option<String>) {
    let updated = format::replace_expected(text, actual);
    match std::fs::write(file, updated) {
        Ok(()) => (format!("  {what}\n"), None),
        Err(e) => {
            let message = format!("  cannot rewrite: {e}\n");
            (message.clone(), Some(message))
        }
    }
}

/// The trace files named by `paths` (folders searched recursively, sorted).
pub fn collect_traces(paths: &[PathBuf]) -> Result<Vec<PathBuf>, Box<dyn Error>> {
    let mut files = Vec::new();
    for path in paths {
        if path.is_dir() {
            let mut found = Vec::new();
            walk(path, &mut found, 0).map_err(|e| format!("{}: {e}", path.display()))?;
            found.sort();
            files.extend(found);
        } else if path.exists() {
            files.push(path.clone());
        } else {
            return Err(format!("{}: no such file or folder", path.display()).into());
        }
    }
    Ok(files)
}

/// Folder depth searched for traces; deeper folders are skipped (symlink loops).
const MAX_FOLDER_DEPTH: usize = 16;

fn walk(folder: &Path, found: &mut Vec<PathBuf>, depth: usize) -> std::io::Result<()> {
    if depth > MAX_FOLDER_DEPTH {
        return Ok(());
    }
    for entry in std::fs::read_dir(folder)? {
        let path = entry?.path();
        if path.is_dir() {
            walk(&path, found, depth + 1)?;
        } else if path.extension().is_some_and(|e| e == "trace") {
            found.push(path);
        }
    }
    Ok(())
}

/// Runs `emv-terminal trace ...`.
pub fn run_trace(args: TraceArgs) -> CmdResult {
    match args.command {
        TraceCommand::Import(import) => run_import(import),
    }
}

fn run_import(args: ImportArgs) -> CmdResult {
    let log = if args.log.as_os_str() == "-" {
        std::io::read_to_string(std::io::stdin())?
    } else {
        std::fs::read_to_string(&args.log).map_err(|e| format!("{}: {e}", args.log.display()))?
    };
    let LogFormat::PcscSpy = args.from;
    let exchanges = spy::parse_log(&log).map_err(|e| format!("{}: {e}", args.log.display()))?;
    let mut overrides = spy::InputOverrides {
        amount_authorised: args.amount,
        amount_other: args.other_amount,
        random_selection_number: args.random_number,
        ..spy::InputOverrides::default()
    };
    let bcd = |text: &Option<String>, what: &str| -> Result<Option<[u8; 3]>, Box<dyn Error>> {
        text.as_deref()
            .map(|t| {
                format::parse_hex(t)
                    .filter(|_| t.len() == 6 && t.bytes().all(|b| b.is_ascii_digit()))
                    .and_then(|b| <[u8; 3]>::try_from(b).ok())
                    .ok_or_else(|| format!("{what}: expected 6 digits").into())
            })
            .transpose()
    };
    overrides.date = bcd(&args.date, "--date")?;
    overrides.time = bcd(&args.time, "--time")?;
    overrides.unpredictable_number = args
        .unpredictable_number
        .as_deref()
        .map(|t| {
            format::parse_hex(t)
                .and_then(|b| <[u8; 4]>::try_from(b).ok())
                .ok_or("--unpredictable-number: expected 8 hex digits")
        })
        .transpose()?;
    let source = format!("pcsc-spy log {}", args.log.display());
    let (mut trace, mut notes) = spy::to_trace(&exchanges, &overrides, &source);
    let mut env = Environment::for_file(&args.output);
    if let Some(path) = &args.config {
        trace.config = ConfigSource::Inline(
            std::fs::read_to_string(path)
                .map_err(|e| format!("--config {}: {e}", path.display()))?,
        );
    }
    if let Some(path) = &args.capk {
        let (capk, text) = capk_reference(path)?;
        trace.capk = capk;
        env.capk_override = Some(text);
    }
    if !args.unmasked {
        // Masking needs the crypto calls: replay the unmasked trace once with a recorder.
        let prepared = replay::prepare(&trace, &env)?;
        let recorder = Recorder::new();
        let crypto = recorder.crypto(replay::ReplayCrypto::new(Vec::new()));
        let first = replay::replay_with(&trace, &prepared, crypto);
        if let Some(failure) = &first.failure {
            notes.push(format!(
                "note: the kernel does not follow this log; masked from the part it followed:\n{}",
                replay::render_failure(failure, Style { color: false })
            ));
        }
        recorder.mask(&mut trace);
    }
    save_trace(&trace, &args.output).map_err(|e| format!("{}: {e}", args.output.display()))?;
    let mut stdout = std::io::stdout().lock();
    for note in notes {
        let _ = writeln!(stdout, "{note}");
    }
    let _ = writeln!(
        stdout,
        "{}: {} exchanges imported; run `emv-terminal replay --update {}` once to record the kernel's outcome",
        args.output.display(),
        trace.exchanges(),
        args.output.display()
    );
    Ok(ExitCode::SUCCESS)
}

/// Writes a trace; an unmasked one (full PAN and track 2) private to its owner (0600).
fn save_trace(trace: &Trace, path: &Path) -> std::io::Result<()> {
    if trace.masked {
        record::save(trace, path)
    } else {
        crate::files::write_private(path, emv_trace::format::write(trace).as_bytes())
    }
}

/// What `transact --record` knows about the transaction it recorded.
pub struct Recording<'a> {
    /// Where to write the trace.
    pub path: &'a Path,
    /// `--record-unmasked`.
    pub unmasked: bool,
    /// `simulated card cda`, `reader ...`.
    pub source: &'a str,
    /// `--config`, if given.
    pub config: Option<&'a Path>,
    /// `--capk`, if given.
    pub capk: Option<&'a Path>,
}

/// Writes the trace `recorder` collected, after checking it replays; returns
/// the step line to show.
pub fn save_recording(
    recorder: &Recorder,
    recording: &Recording<'_>,
    inputs: TransactionInputs,
    outcome: &Outcome,
    ca_keys: &emv_config::CaKeys,
) -> Result<String, Box<dyn Error>> {
    let config = match recording.config {
        Some(path) => ConfigSource::Inline(
            std::fs::read_to_string(path)
                .map_err(|e| format!("--config {}: {e}", path.display()))?,
        ),
        None => ConfigSource::Builtin,
    };
    let (capk, capk_text) = match recording.capk {
        Some(path) => {
            let (capk, text) = capk_reference(path)?;
            (capk, Some(text))
        }
        None => (CapkSource::Builtin, None),
    };
    let header = Header {
        source: recording.source.to_owned(),
        config,
        capk,
    };
    let trace: Trace = recorder.finish(header, inputs, outcome, ca_keys, !recording.unmasked);
    let mut env = Environment::for_file(recording.path);
    env.capk_override = capk_text;
    let check = replay::replay(&trace, &env);
    save_trace(&trace, recording.path)
        .map_err(|e| format!("--record {}: {e}", recording.path.display()))?;
    let masking = if trace.masked {
        "PAN and track 2 masked"
    } else {
        "unmasked"
    };
    Ok(match check.failure {
        None => format!(
            "trace: {} written ({} exchanges, {masking}); it replays cleanly",
            recording.path.display(),
            trace.exchanges()
        ),
        Some(failure) => format!(
            "trace: {} written ({masking}) but it does NOT replay cleanly:\n{}",
            recording.path.display(),
            replay::render_failure(&failure, Style { color: false })
        ),
    })
}

/// A capk.txt file as a trace reference (path and SHA-256) and its text.
fn capk_reference(path: &Path) -> Result<(CapkSource, String), Box<dyn Error>> {
    let bytes = std::fs::read(path).map_err(|e| format!("--capk {}: {e}", path.display()))?;
    let sha256 = emv_kernel::crypto::CryptoProvider::sha256(
        &emv_kernel::crypto::RingCrypto::new(),
        &[&bytes],
    );
    let source = CapkSource::File {
        path: path.display().to_string(),
        sha256,
    };
    Ok((source, String::from_utf8_lossy(&bytes).into_owned()))
}
