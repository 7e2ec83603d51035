//! `emv-terminal transact`: one full EMV transaction, from application
//! selection to the outcome, on a simulated test card (`--card PROFILE`, the
//! default being the CDA card) or a card in a PC/SC reader (`--reader NAME`).
//! Without the `simulated-cards` feature there are no test cards, no host
//! simulator and no test CA keys: a card in a reader only (`--reader`, default
//! `auto`), with the CA keys of `--capk`.
//!
//! The kernel is sans-IO; this module owns everything around it: the card
//! transport, the clock (transaction date and time), randomness (the
//! Unpredictable Number and the random-selection number), the PIN pad, the
//! host (the `emv-host` simulator: configured by `--host-file` for any card,
//! or built on the test issuer's keys for `--host approve|decline`), and the
//! journal (pending before the first GENERATE AC, completed before the
//! outcome is shown).

use std::error::Error;
use std::io::{BufRead, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use clap::{Args as ClapArgs, ValueEnum};
use emv_config::{CaKeys, Settings};
#[cfg(feature = "simulated-cards")]
use emv_host::simulator::{KeysHost, Script, ScriptTemplate};
use emv_host::{AuthorisationRequest, Host};
use emv_journal::{
    self as journal, Completion, Journal, KeySource, Mode, PendingTransaction, RecordId,
};
use emv_kernel::config::TransactionInputs;
use emv_kernel::crypto::RingCrypto;
use emv_kernel::data::DataStore;
use emv_kernel::online::HostResponse;
use emv_kernel::outcome::{Decision, Outcome};
use emv_kernel::select::Candidate;
use emv_kernel::tlv::{self, Tag};
use emv_kernel::transaction::{PinEntry, PinKind, Request, TerminalContext, Transaction};
use emv_kernel::transport::{CardTransport, MAX_RESPONSE_APDU};
use emv_pcsc::{ConnectOptions, Pcsc, ReaderSelector};
#[cfg(feature = "simulated-cards")]
use emv_test_cards::issuer::Issuer;
#[cfg(feature = "simulated-cards")]
use emv_test_cards::{pki, profiles};
use emv_trace::PinResult;
use ring::rand::{SecureRandom, SystemRandom};

use crate::output::{self, Report};
use crate::usage;

/// The simulated card used when neither `--card` nor `--reader` is given.
#[cfg(feature = "simulated-cards")]
pub const DEFAULT_PROFILE: &str = "cda";

/// The reader used when `--reader` is not given, in a build without simulated cards.
#[cfg(not(feature = "simulated-cards"))]
pub const DEFAULT_READER: &str = "auto";

/// Arguments of `transact`.
#[derive(ClapArgs, Debug)]
pub struct Args {
    /// Amount, Authorised in major units of the currency (`12.50`); includes any cashback.
    #[arg(long, value_name = "AMOUNT")]
    pub amount: String,
    /// Amount, Other (cashback part), with `--type cashback`.
    #[arg(long, value_name = "AMOUNT")]
    pub other_amount: Option<String>,
    /// Transaction type (9C).
    #[arg(long = "type", value_enum, default_value_t = TransactionKind::Purchase)]
    pub transaction_type: TransactionKind,
    /// Use this simulated test card (see test-cards/PROFILES.md) [default: cda].
    #[cfg(feature = "simulated-cards")]
    #[arg(long, value_name = "PROFILE", conflicts_with = "reader")]
    pub card: Option<String>,
    /// Use the card in this PC/SC reader: `auto` (first reader with a card), a
    /// name or part of one, or `=NAME` for an exact name.
    #[arg(long, value_name = "NAME")]
    #[cfg_attr(not(feature = "simulated-cards"), arg(default_value = DEFAULT_READER))]
    pub reader: Option<String>,
    /// Seconds to wait for a card in the reader.
    #[arg(long, value_name = "SECONDS", default_value_t = 10.0)]
    pub wait_card: f64,
    /// Terminal configuration file (TOML, see docs/configuration.md) [default: built-in].
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// CA public keys in the capk.txt format [default: the test CA keys].
    #[cfg(feature = "simulated-cards")]
    #[arg(long, value_name = "FILE")]
    pub capk: Option<PathBuf>,
    /// CA public keys in the capk.txt format (this build has no test CA keys).
    #[cfg(not(feature = "simulated-cards"))]
    #[arg(long, value_name = "FILE", required = true)]
    pub capk: Option<PathBuf>,
    /// Transaction date YYMMDD [default: today, UTC].
    #[arg(long, value_name = "YYMMDD")]
    pub date: Option<String>,
    /// Transaction time HHMMSS [default: now, UTC].
    #[arg(long, value_name = "HHMMSS")]
    pub time: Option<String>,
    /// Read the PIN (one line, 4 to 12 digits) from this open file descriptor before the
    /// transaction starts, e.g. `--pin-fd 3 3<pin.txt` [default: prompt with echo off;
    /// no terminal: PIN pad not working].
    #[cfg(unix)]
    #[arg(long, value_name = "N", conflicts_with_all = ["pin_stdin", "test_pin"])]
    pub pin_fd: Option<u32>,
    /// Read the PIN (one line, 4 to 12 digits) from standard input before the transaction starts.
    #[arg(long, conflicts_with = "test_pin")]
    pub pin_stdin: bool,
    /// TESTING ONLY: the PIN on the command line, visible to every local user in the
    /// process list and kept in shell history. For scripts and tests with simulated cards.
    #[arg(long, value_name = "DIGITS", hide = true)]
    pub test_pin: Option<String>,
    /// What the host simulator answers an ARQC with [default: approve with a
    /// simulated card, unreachable with a reader].
    #[cfg(feature = "simulated-cards")]
    #[arg(long, value_enum, conflicts_with = "host_file")]
    pub host: Option<HostMode>,
    /// The host simulator configured by this TOML file, for any card (a reader
    /// too): the issuer's master keys (ARQC checked, ARPC method 1 or 2,
    /// scripts MACed) or a fixed answer. See terminal/README.md, "Host file".
    #[arg(long, value_name = "FILE")]
    pub host_file: Option<PathBuf>,
    /// With the host simulator: an issuer script command for the card, as
    /// `HEADER:DATA` in hex (e.g. `04DA9F14:05`, PUT DATA of the lower
    /// consecutive offline limit); the simulator adds its MAC and sends it in
    /// Issuer Script Template 2 (72). Repeatable.
    #[cfg(feature = "simulated-cards")]
    #[arg(long, value_name = "HEADER:DATA", conflicts_with = "host_file")]
    pub issuer_script: Vec<String>,
    /// Book 4, 6.5.4 (forced acceptance): if the card declines (an AAC), the
    /// attendant accepts the transaction all the same. The outcome is
    /// `approved` with the card's AAC (`forced_acceptance: true`), the journal
    /// keeps it as an approval and `sync` forwards it. Attended terminals only.
    #[arg(long)]
    pub force_acceptance: bool,
    /// The attendant's answer when the issuer refers the transaction
    /// (authorisation response code 01 or 02, Book 4, 6.5.2 voice referral)
    /// [default: ask on a terminal, else decline].
    #[arg(long, value_enum, value_name = "ANSWER")]
    pub referral: Option<ReferralAnswer>,
    /// Choose this candidate application (1 = first in priority order)
    /// instead of asking [default: ask on a terminal, else the first].
    #[arg(long, value_name = "N")]
    pub application: Option<usize>,
    /// Print one JSON object on stdout (steps go to stderr).
    #[arg(long)]
    pub json: bool,
    /// Journal file [default: none for a simulated card; for a card in a reader
    /// $XDG_DATA_HOME/emv-terminal/journal.db or ~/.local/share/emv-terminal/journal.db].
    #[arg(long, value_name = "FILE", conflicts_with = "no_journal")]
    pub journal: Option<PathBuf>,
    /// Journal key file [default: $EMV_JOURNAL_KEY_FILE, else ~/.config/emv-terminal/journal.key]; created 0600 on first use.
    #[arg(long, value_name = "FILE", conflicts_with = "no_journal")]
    pub journal_key: Option<PathBuf>,
    /// Do not write the journal (tests and demos).
    #[arg(long)]
    pub no_journal: bool,
    /// Record the transaction as a trace (docs/traces.md) in FILE; PAN and
    /// track 2 data are masked, PIN data is never written.
    #[arg(long, value_name = "FILE")]
    pub record: Option<PathBuf>,
    /// With --record: keep the real PAN and track 2 data (labs only).
    #[arg(long, requires = "record")]
    pub record_unmasked: bool,
    /// For tests and traces: the Unpredictable Number (8 hex digits) instead of a random one.
    #[arg(long, value_name = "HEX", hide = true)]
    pub unpredictable_number: Option<String>,
    /// For tests and traces: the random-selection number (1-99) instead of a random one.
    #[arg(long, value_name = "N", hide = true)]
    pub random_number: Option<u8>,
    /// For tests and traces: the Transaction Sequence Counter [default: the journal's next record id].
    #[arg(long, value_name = "N", hide = true)]
    pub sequence_counter: Option<u32>,
}

/// The attendant's voice referral answer (`--referral`).
#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReferralAnswer {
    /// The issuer approved on the call: the card is asked for a TC.
    Approve,
    /// The issuer declined on the call: the card is asked for an AAC.
    Decline,
}

/// Transaction Type (9C) values the command offers.
#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransactionKind {
    /// Goods and services, 00.
    Purchase,
    /// Cash, 01.
    Cash,
    /// Purchase with cashback, 09.
    Cashback,
    /// Refund, 20.
    Refund,
}

impl TransactionKind {
    fn code(self) -> u8 {
        match self {
            TransactionKind::Purchase => 0x00,
            TransactionKind::Cash => 0x01,
            TransactionKind::Cashback => 0x09,
            TransactionKind::Refund => 0x20,
        }
    }
}

/// The host simulator's answer to an ARQC (only `Unreachable` without simulated cards).
#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(not(feature = "simulated-cards"), allow(dead_code))]
pub enum HostMode {
    /// Verify the ARQC and approve (ARC 00) with an ARPC.
    Approve,
    /// Verify the ARQC and decline (ARC 05) with an ARPC.
    Decline,
    /// Verify the ARQC and refer (ARC 01, "refer to card issuer") with an
    /// ARPC: the attendant's voice referral (`--referral`) decides.
    Refer,
    /// No answer: the terminal is unable to go online.
    Unreachable,
}

#[cfg(feature = "simulated-cards")]
impl HostMode {
    fn name(self) -> &'static str {
        match self {
            HostMode::Approve => "approve",
            HostMode::Decline => "decline",
            HostMode::Refer => "refer",
            HostMode::Unreachable => "unreachable",
        }
    }
}

type CmdResult = Result<ExitCode, Box<dyn Error>>;

/// Runs one transaction. Exit status: 0 approved, 2 declined, 3 terminated,
/// 1 when the transaction could not run (bad option, configuration, reader).
pub fn run(args: Args) -> CmdResult {
    let settings = match &args.config {
        Some(path) => Settings::load(path)?,
        None => Settings::default(),
    };
    let crypto = RingCrypto::new();
    let mut inputs = transaction_inputs(&args, &settings)?;
    let ca_keys = load_ca_keys(args.capk.as_deref(), &crypto, &inputs)?;
    let pin = read_pin(&args)?;
    let host_file = match &args.host_file {
        Some(path) => Some(HostChoice::from_file(path)?),
        None => None,
    };
    #[cfg(not(feature = "simulated-cards"))]
    {
        let reader = args.reader.as_deref().unwrap_or(DEFAULT_READER);
        let host = host_file.unwrap_or(HostChoice::Unreachable(
            "unreachable (no --host-file for a reader card)",
        ));
        run_on_reader(
            reader,
            &args,
            pin,
            host,
            &settings,
            &ca_keys,
            &mut inputs,
            crypto,
        )
    }
    #[cfg(feature = "simulated-cards")]
    {
        let scripts = args
            .issuer_script
            .iter()
            .map(|text| parse_script(text))
            .collect::<Result<Vec<_>, _>>()
            .map_err(usage)?;

        if let Some(reader) = &args.reader {
            if !scripts.is_empty() {
                return Err(usage("--issuer-script needs the test issuer's host simulator, which answers only for simulated cards (--card); for a card in a reader put the scripts in a --host-file"));
            }
            if matches!(
                args.host,
                Some(HostMode::Approve | HostMode::Decline | HostMode::Refer)
            ) {
                return Err(usage(format!(
                    "--host {}: the built-in host simulator knows only the test issuer's keys, so it can answer only \
                     for simulated cards (--card); with --reader give the issuer's keys or a fixed answer in a \
                     --host-file, or use --host unreachable (the default)",
                    args.host.map(HostMode::name).unwrap_or_default()
                )));
            }
            let host = host_file.unwrap_or(HostChoice::Unreachable(
                "unreachable (no --host-file for a reader card)",
            ));
            return run_on_reader(
                reader,
                &args,
                pin,
                host,
                &settings,
                &ca_keys,
                &mut inputs,
                crypto,
            );
        }

        let name = args.card.as_deref().unwrap_or(DEFAULT_PROFILE);
        let Some(profile) = profiles::find(name) else {
            let names: Vec<&str> = profiles::all().iter().map(|p| p.name).collect();
            return Err(usage(format!(
                "--card {name}: no such test card; profiles: {}",
                names.join(", ")
            )));
        };
        let mut card = profile.card();
        card.reset();
        let host = match host_file {
            Some(host) => host,
            None => HostChoice::test_issuer(args.host.unwrap_or(HostMode::Approve), scripts),
        };
        let session = Session::new(&args, pin, host, true);
        let source = format!("simulated card {name}");
        session.run(&mut card, &source, &settings, &ca_keys, &mut inputs, crypto)
    }
}

/// The transaction on the card in `reader`, with the host of `--host-file` or none.
#[allow(clippy::too_many_arguments)]
fn run_on_reader(
    reader: &str,
    args: &Args,
    pin: Option<GivenPin>,
    host: HostChoice,
    settings: &Settings,
    ca_keys: &CaKeys,
    inputs: &mut TransactionInputs,
    crypto: RingCrypto,
) -> CmdResult {
    let mut card = open_reader(reader, args)?;
    let source = format!("reader {}", card.reader());
    let session = Session::new(args, pin, host, false);
    session.run(&mut card, &source, settings, ca_keys, inputs, crypto)
}

/// The CA keys: the capk.txt file given, else the committed test CA keys.
///
/// Every check sum is verified (`CaKeyStore::load_capk_txt`); a duplicate
/// RID and index, or a key expired before the transaction date, is printed
/// as a warning on standard error with its line, and the load goes on.
fn load_ca_keys(
    path: Option<&Path>,
    crypto: &RingCrypto,
    inputs: &TransactionInputs,
) -> Result<Box<CaKeys>, Box<dyn Error>> {
    let (name, text) = match path {
        Some(path) => (
            path.display().to_string(),
            std::fs::read_to_string(path).map_err(|e| format!("--capk {}: {e}", path.display()))?,
        ),
        #[cfg(feature = "simulated-cards")]
        None => ("built-in test CA keys".to_owned(), pki::CAPK_TXT.to_owned()),
        #[cfg(not(feature = "simulated-cards"))]
        None => return Err("--capk FILE: this build has no built-in test CA keys".into()),
    };
    let today = emv_kernel::date::Date::from_bcd(&inputs.date).ok();
    let (store, notices) = emv_config::load_ca_keys(crypto, &text, today)
        .map_err(|e| format!("{name}: {}", emv_config::describe_load_error(&e)))?;
    for notice in notices {
        eprintln!("warning: {name}: {notice}");
    }
    Ok(store)
}

/// `--issuer-script HEADER:DATA`: a 4-byte command header and its data, in hex.
#[cfg(feature = "simulated-cards")]
fn parse_script(text: &str) -> Result<([u8; 4], Vec<u8>), String> {
    let bad = || format!("--issuer-script {text:?}: expected HEADER:DATA in hex, e.g. 04DA9F14:05");
    let (header, data) = text.split_once(':').unwrap_or((text, ""));
    let header = hex::decode(header)
        .ok()
        .and_then(|h| <[u8; 4]>::try_from(h).ok())
        .ok_or_else(bad)?;
    let data = hex::decode(data).map_err(|_| bad())?;
    // Lc covers the data and the 4-byte MAC.
    if data.len() > 251 {
        return Err(bad());
    }
    Ok((header, data))
}

/// A PIN given before the transaction, with the option it came from.
pub struct GivenPin {
    /// The digits as ASCII; wiped on drop.
    digits: Vec<u8>,
    /// `--pin-fd`, `--pin-stdin` or `--test-pin`, for the step lines.
    option: &'static str,
}

impl Drop for GivenPin {
    fn drop(&mut self) {
        self.digits.fill(0);
    }
}

/// The PIN from `--pin-fd`, `--pin-stdin` or `--test-pin`, checked before anything is
/// sent to the card; `None` when the PIN is to be prompted for.
fn read_pin(args: &Args) -> Result<Option<GivenPin>, Box<dyn Error>> {
    if let Some(pin) = &args.test_pin {
        return checked_pin(pin.as_bytes().to_vec(), "--test-pin").map(Some);
    }
    #[cfg(unix)]
    if let Some(fd) = args.pin_fd {
        // /dev/fd/N opens the descriptor the caller passed (Linux, the BSDs, macOS).
        let path = format!("/dev/fd/{fd}");
        let file = std::fs::File::open(&path)
            .map_err(|e| format!("--pin-fd {fd}: cannot read file descriptor {fd}: {e}"))?;
        let line = first_line(file).map_err(|e| format!("--pin-fd {fd}: {e}"))?;
        return checked_pin(line, "--pin-fd").map(Some);
    }
    if args.pin_stdin {
        let line = first_line(std::io::stdin().lock()).map_err(|e| format!("--pin-stdin: {e}"))?;
        return checked_pin(line, "--pin-stdin").map(Some);
    }
    Ok(None)
}

/// The first line of `source` without its line end, at most 64 bytes read.
fn first_line(source: impl std::io::Read) -> std::io::Result<Vec<u8>> {
    let mut line = Vec::with_capacity(64);
    std::io::BufReader::new(source.take(64)).read_until(b'\n', &mut line)?;
    while line.last().is_some_and(|b| *b == b'\n' || *b == b'\r') {
        line.pop();
    }
    Ok(line)
}

/// Checks a PIN before anything is sent to the card; the error never shows the digits.
fn checked_pin(digits: Vec<u8>, option: &'static str) -> Result<GivenPin, Box<dyn Error>> {
    let pin = GivenPin { digits, option };
    if !(4..=12).contains(&pin.digits.len()) || !pin.digits.iter().all(u8::is_ascii_digit) {
        return Err(usage(format!("{option}: a PIN is 4 to 12 digits")));
    }
    Ok(pin)
}

/// An amount in major units (`12.50`, `12`) to minor units with `exponent` decimals.
pub fn parse_amount(text: &str, exponent: u8, option: &str) -> Result<u64, String> {
    let bad = || {
        format!("{option} {text:?}: expected an amount like 12.50 with at most {exponent} decimals")
    };
    let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
    let digits_only = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if whole.is_empty() || !digits_only(whole) || !digits_only(fraction) {
        return Err(bad());
    }
    if fraction.len() > usize::from(exponent) || (text.contains('.') && fraction.is_empty()) {
        return Err(bad());
    }
    let padded = format!("{whole}{fraction:0<width$}", width = usize::from(exponent));
    let trimmed = padded.trim_start_matches('0');
    if trimmed.len() > 12 {
        return Err(format!(
            "{option} {text:?}: more than the 12 digits of Amount, Authorised (n12)"
        ));
    }
    Ok(trimmed.parse::<u64>().unwrap_or(0))
}

/// Six decimal digits to 3 BCD bytes, checked with `valid`.
fn bcd6(
    text: &str,
    option: &str,
    what: &str,
    valid: impl Fn(u8, u8, u8) -> bool,
) -> Result<[u8; 3], String> {
    let bad = || format!("{option} {text:?}: expected {what}");
    if text.len() != 6 || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    let pair = |i: usize| {
        text.get(i..i + 2)
            .and_then(|p| p.parse::<u8>().ok())
            .unwrap_or(0xFF)
    };
    let (a, b, c) = (pair(0), pair(2), pair(4));
    if !valid(a, b, c) {
        return Err(bad());
    }
    let to_bcd = |v: u8| ((v / 10) << 4) | (v % 10);
    Ok([to_bcd(a), to_bcd(b), to_bcd(c)])
}

/// The days in month `month` (1-12) of year 20`yy` (Book 4, Annex A: YY is 2000 to 2099
/// for transaction dates; 2000 is a leap year like every year divisible by 4 here).
fn days_in_month(yy: u8, month: u8) -> u8 {
    match month {
        2 if yy.is_multiple_of(4) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Today's date and the time now (UTC) as `YYMMDD` and `HHMMSS` text.
fn now_utc() -> (String, String) {
    let seconds = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let days = (seconds / 86_400) as i64;
    let of_day = seconds % 86_400;
    // Civil date from days since 1970-01-01 (proleptic Gregorian, 400-year eras).
    let shifted = days + 719_468;
    let era = shifted.div_euclid(146_097);
    let day_of_era = shifted.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1_460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_index = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_index + 2) / 5 + 1;
    let month = if month_index < 10 {
        month_index + 3
    } else {
        month_index - 9
    };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (
        format!("{:02}{month:02}{day:02}", year.rem_euclid(100)),
        format!(
            "{:02}{:02}{:02}",
            of_day / 3600,
            of_day / 60 % 60,
            of_day % 60
        ),
    )
}

/// The transaction inputs from the options, the configuration, the clock and randomness.
fn transaction_inputs(
    args: &Args,
    settings: &Settings,
) -> Result<TransactionInputs, Box<dyn Error>> {
    let exponent = settings.currency_exponent;
    let amount_authorised = parse_amount(&args.amount, exponent, "--amount").map_err(usage)?;
    let amount_other = match &args.other_amount {
        Some(text) => parse_amount(text, exponent, "--other-amount").map_err(usage)?,
        None => 0,
    };
    if args.other_amount.is_some() && args.transaction_type != TransactionKind::Cashback {
        return Err(usage(
            "--other-amount is the cashback part: use it with --type cashback",
        ));
    }
    if args.transaction_type == TransactionKind::Cashback
        && (amount_other == 0 || amount_other > amount_authorised)
    {
        return Err(usage("--type cashback needs --other-amount above 0 and not above --amount (which includes it)"));
    }
    let (today, now) = now_utc();
    let date = bcd6(
        args.date.as_deref().unwrap_or(&today),
        "--date",
        "YYMMDD, a calendar date",
        |y, m, d| (1..=12).contains(&m) && d >= 1 && d <= days_in_month(y, m),
    )
    .map_err(usage)?;
    let time = bcd6(
        args.time.as_deref().unwrap_or(&now),
        "--time",
        "HHMMSS",
        |h, m, s| h < 24 && m < 60 && s < 60,
    )
    .map_err(usage)?;
    let random = SystemRandom::new();
    let unpredictable_number = match &args.unpredictable_number {
        Some(text) => hex::decode(text)
            .ok()
            .and_then(|bytes| <[u8; 4]>::try_from(bytes).ok())
            .ok_or_else(|| usage("--unpredictable-number: expected 8 hex digits"))?,
        None => {
            let mut bytes = [0u8; 4];
            random
                .fill(&mut bytes)
                .map_err(|_| "system random generator failed")?;
            bytes
        }
    };
    let random_selection_number = match args.random_number {
        Some(number) if (1..=99).contains(&number) => number,
        Some(_) => return Err(usage("--random-number: expected 1 to 99")),
        None => random_percentage(&random)?,
    };
    Ok(TransactionInputs {
        amount_authorised,
        amount_other,
        transaction_type: args.transaction_type.code(),
        currency_code: settings.currency_code,
        currency_exponent: exponent,
        date,
        time,
        unpredictable_number,
        random_selection_number,
        transaction_sequence_counter: args.sequence_counter.unwrap_or(1),
        merchant_forced_online: false,
    })
}

/// Book 3, 10.6.2: a number 1..=99 drawn uniformly (bytes of 198 and above are redrawn).
fn random_percentage(random: &SystemRandom) -> Result<u8, Box<dyn Error>> {
    for _ in 0..64 {
        let mut byte = [0u8; 1];
        random
            .fill(&mut byte)
            .map_err(|_| "system random generator failed")?;
        if byte[0] < 198 {
            return Ok(1 + byte[0] % 99);
        }
    }
    Err("system random generator failed".into())
}

/// Finds the reader (a missing one is reported at once) and waits for its card.
fn open_reader(wanted: &str, args: &Args) -> Result<emv_pcsc::PcscCard, Box<dyn Error>> {
    let context = |e: emv_pcsc::PcscError| format!("--reader {wanted}: {e}");
    let pcsc = Pcsc::establish().map_err(context)?;
    let selector = ReaderSelector::from_arg(wanted);
    let readers = pcsc.readers().map_err(context)?;
    if selector != ReaderSelector::Auto {
        if let Err(error) = selector.pick(&readers) {
            let names: Vec<&str> = readers.iter().map(|r| r.name.as_str()).collect();
            let listed = if names.is_empty() {
                "none".to_owned()
            } else {
                names.join(", ")
            };
            return Err(format!("--reader {wanted}: {error} (readers: {listed})").into());
        }
    }
    let wait =
        Duration::try_from_secs_f64(args.wait_card).map_err(|_| "--wait-card: not a duration")?;
    Ok(pcsc
        .open(&selector, wait, &ConnectOptions::default())
        .map_err(context)?)
}

/// What `run` needs besides the card: options, PIN, host mode, step output.
struct Session<'a> {
    args: &'a Args,
    pin: Option<GivenPin>,
    pin_offered: bool,
    host: HostChoice,
    simulated: bool,
}

/// One answer to the kernel's current request.
enum Action {
    Transmit(Vec<u8>),
    Choose(Option<usize>),
    Pin(PinKind, Option<u8>),
    RecentAmount(Vec<u8>),
    Online(Vec<u8>),
    Referral([u8; 2]),
}

impl<'a> Session<'a> {
    fn new(args: &'a Args, pin: Option<GivenPin>, host: HostChoice, simulated: bool) -> Self {
        Session {
            args,
            pin,
            pin_offered: false,
            host,
            simulated,
        }
    }

    /// A step line: stdout in text mode, stderr with `--json`.
    fn step(&self, line: &str) {
        let result = if self.args.json {
            writeln!(std::io::stderr().lock(), "{line}")
        } else {
            writeln!(std::io::stdout().lock(), "{line}")
        };
        // A closed output stream does not stop the transaction.
        let _ = result;
    }

    fn run<T: CardTransport>(
        mut self,
        card: &mut T,
        source: &str,
        settings: &Settings,
        ca_keys: &CaKeys,
        inputs: &mut TransactionInputs,
        crypto: RingCrypto,
    ) -> CmdResult
    where
        T::Error: std::fmt::Display,
    {
        let mut journal = self.open_journal()?;
        let mut forced_online_reason = None;
        if let Some(journal) = journal.as_mut() {
            if self.args.sequence_counter.is_none() {
                // Book 4, Annex A1: the Transaction Sequence Counter increments with every
                // transaction; the journal's next record id never goes back, even after
                // `journal prune`, so the counter does not repeat.
                let next = journal.next_record_id()?;
                inputs.transaction_sequence_counter = u32::try_from(next.0).unwrap_or(u32::MAX);
            }
            let limits = settings.offline_limits;
            if let Some(reason) = journal.offline_limits_reached(
                &limits,
                SystemTime::now(),
                inputs.amount_authorised,
            )? {
                inputs.merchant_forced_online = true;
                self.step(&format!(
                    "offline limit: {reason}; merchant forces the transaction online"
                ));
                forced_online_reason = Some(reason.to_string());
            }
        }
        self.step(&format!(
            "{source}: {} {} (currency {}), date {}, time {}",
            self.args
                .transaction_type
                .to_possible_value()
                .map(|v| v.get_name().to_owned())
                .unwrap_or_default(),
            output::format_amount(inputs.amount_authorised, inputs.currency_exponent),
            hex::encode_upper(inputs.currency_code),
            hex::encode_upper(inputs.date),
            hex::encode_upper(inputs.time),
        ));

        let exception_file: Vec<&[u8]> =
            settings.exception_file.iter().map(Vec::as_slice).collect();
        let revocations = settings.revocation_list();
        let context = TerminalContext {
            config: &settings.terminal,
            ca_keys,
            revocations: &revocations,
            exception_file: &exception_file,
        };
        // Trace recording (docs/traces.md): the card and crypto pass through the recorder.
        let recorder = emv_trace::record::Recorder::new();
        let mut recording_card = recorder.transport(card);
        let card = &mut recording_card;
        let mut transaction = Box::new(
            Transaction::new(context, recorder.crypto(crypto), *inputs)
                .map_err(|e| format!("transaction inputs rejected: {e:?}"))?,
        );

        let mut pending: Option<RecordId> = None;
        let mut first_generate_ac_data: Option<Vec<u8>> = None;
        let mut transport_error: Option<String> = None;
        let mut host_note: Option<String> = None;
        let mut shown: Vec<output::ShownMessage> = Vec::new();
        let outcome: Outcome = loop {
            // Book 4, 11.2: the messages the kernel emitted since the last answer.
            while let Some(message) = transaction.next_message() {
                let message = output::ShownMessage::new(message, transaction.language());
                self.step(&message.line());
                shown.push(message);
            }
            let action = match transaction.request() {
                Request::Done(outcome) => break outcome.clone(),
                Request::Transmit(command) => Action::Transmit(command.to_vec()),
                Request::ChooseApplication {
                    candidates,
                    confirm_only,
                } => Action::Choose(self.choose(
                    candidates,
                    confirm_only,
                    transaction.terminal_data().additional_capabilities,
                )),
                Request::EnterPin { kind, tries_left } => Action::Pin(kind, tries_left),
                Request::RecentAmount { pan, .. } => Action::RecentAmount(pan.to_vec()),
                Request::GoOnline(icc_data) => Action::Online(icc_data.to_vec()),
                Request::IssuerReferral {
                    authorisation_response_code,
                } => Action::Referral(authorisation_response_code),
            };
            let step = transaction.step();
            match action {
                Action::Transmit(command) => {
                    if first_generate_ac_data.is_none() && command.starts_with(&[0x80, 0xAE]) {
                        // Book 3, 10.8: the command data of GENERATE AC is the CDOL1 data.
                        let data = command
                            .get(5..5 + usize::from(command.get(4).copied().unwrap_or(0)))
                            .unwrap_or(&[])
                            .to_vec();
                        first_generate_ac_data = Some(data);
                        if let Some(journal) = journal.as_mut() {
                            let record = pending_transaction(transaction.card_data(), inputs)?;
                            let id = journal.begin_pending(&record, SystemTime::now())?;
                            self.step(&format!("journal: record {id} pending"));
                            pending = Some(id);
                        }
                    }
                    let mut response = [0u8; MAX_RESPONSE_APDU];
                    match card.transmit(&command, &mut response) {
                        Ok(length) => {
                            let response = response.get(..length).unwrap_or(&[]);
                            self.step(&output::step_line(step, &command, Some(response)));
                            transaction
                                .on_response(response)
                                .map_err(|e| format!("kernel refused the response: {e:?}"))?;
                        }
                        Err(error) => {
                            self.step(&output::step_line(step, &command, None));
                            transport_error = Some(error.to_string());
                            transaction.on_transport_error();
                        }
                    }
                }
                Action::Choose(choice) => {
                    recorder.application_chosen(choice);
                    transaction
                        .on_application_chosen(choice)
                        .map_err(|e| format!("kernel refused the application choice: {e:?}"))?;
                }
                Action::Pin(kind, tries_left) => {
                    let entry = self.pin_entry(kind, tries_left);
                    recorder.pin(match &entry {
                        Some(_) => PinResult::Entered,
                        None if std::io::stdin().is_terminal() || self.pin.is_some() => {
                            PinResult::Bypassed
                        }
                        None => PinResult::PadNotWorking,
                    });
                    let result = match &entry {
                        Some(digits) => transaction.on_pin(PinEntry::Digits(digits)),
                        None if std::io::stdin().is_terminal() || self.pin.is_some() => {
                            transaction.on_pin(PinEntry::Bypassed)
                        }
                        None => transaction.on_pin(PinEntry::PinPadNotWorking),
                    };
                    if let Some(mut digits) = entry {
                        digits.fill(0);
                    }
                    result.map_err(|e| format!("kernel refused the PIN entry: {e:?}"))?;
                }
                Action::RecentAmount(pan) => {
                    // Book 3, 10.6.1 (split sales): the card's most recent approval that
                    // day from the journal; 0 without a journal.
                    let amount = match journal.as_ref() {
                        Some(journal) => journal.recent_amount_same_card(&pan, inputs.date)?,
                        None => 0,
                    };
                    if amount > 0 {
                        self.step(&format!(
                            "[{step}] journal: this card's last approval today {}; added for the floor limit check",
                            output::format_amount(amount, inputs.currency_exponent)
                        ));
                    }
                    recorder.recent_amount(amount);
                    transaction
                        .on_recent_amount(amount)
                        .map_err(|e| format!("kernel refused the recent amount: {e:?}"))?;
                }
                Action::Online(icc_data) => {
                    let answer = self.authorise(
                        &icc_data,
                        transaction.card_data(),
                        first_generate_ac_data.as_deref(),
                    );
                    self.step(&format!("[online processing] host: {}", answer.note));
                    host_note = Some(answer.note.clone());
                    let response = match &answer.response {
                        Some(response) => HostResponse {
                            reachable: true,
                            approved: response.approved,
                            authorisation_response_code: response.authorisation_response_code,
                            issuer_authentication_data: response
                                .issuer_authentication_data
                                .as_deref(),
                            scripts: &response.scripts,
                        },
                        None => HostResponse::UNREACHABLE,
                    };
                    recorder.online(&icc_data, &response);
                    transaction
                        .on_host(response)
                        .map_err(|e| format!("kernel refused the host answer: {e:?}"))?;
                }
                Action::Referral(code) => {
                    let approved = self.voice_referral(code);
                    self.step(&format!(
                        "[issuer referral] CALL YOUR BANK (ARC {}): the attendant's call {}",
                        String::from_utf8_lossy(&code),
                        if approved { "approved" } else { "declined" }
                    ));
                    recorder.referral(approved);
                    transaction
                        .on_referral(approved)
                        .map_err(|e| format!("kernel refused the referral answer: {e:?}"))?;
                }
            }
        };

        if let Some(path) = &self.args.record {
            let recording = crate::replay_cmd::Recording {
                path,
                unmasked: self.args.record_unmasked,
                source,
                config: self.args.config.as_deref(),
                capk: self.args.capk.as_deref(),
            };
            let note = crate::replay_cmd::save_recording(
                &recorder, &recording, *inputs, &outcome, ca_keys,
            )?;
            self.step(&note);
        }
        let mut outcome = outcome;
        if self.args.force_acceptance && outcome.decision == Decision::Declined {
            match transaction.force_acceptance() {
                Ok(()) => {
                    self.step("[forced acceptance] the card declined; the attendant accepts the transaction (Book 4, 6.5.4)");
                    if let Some(accepted) = transaction.outcome() {
                        outcome = accepted.clone();
                    }
                }
                Err(error) => self.step(&format!("[forced acceptance] not possible: {error}")),
            }
        }
        let mut report = Report::new(&outcome, transport_error.as_deref());
        report.forced_online_reason = forced_online_reason.clone();
        report.host = host_note;
        report.language = transaction.language().to_string();
        report.messages = shown;
        report.amount_authorised = inputs.amount_authorised;
        report.amount_other = inputs.amount_other;
        report.currency_code = output::numeric_code(inputs.currency_code);
        if journal.is_some() {
            report.journal = self.journal_path().map(|p| p.display().to_string());
        }
        if let (Some(journal), Some(id)) = (journal.as_mut(), pending) {
            #[cfg(feature = "test-aids")]
            if let Some(millis) = pause_before_commit() {
                self.step(&format!(
                    "journal: pausing {millis} ms before the commit ({PAUSE_BEFORE_COMMIT_ENV})"
                ));
                std::thread::sleep(Duration::from_millis(millis));
            }
            // Durable before the outcome (and any approval) is shown.
            journal.complete(
                id,
                &completion(&outcome, forced_online_reason),
                SystemTime::now(),
            )?;
            self.step(&format!("journal: record {id} {}", report.decision));
            report.journal_record = Some(id.0);
            #[cfg(feature = "test-aids")]
            if let Some(millis) = pause_before_show() {
                self.step(&format!(
                    "journal: pausing {millis} ms before showing the outcome ({PAUSE_BEFORE_SHOW_ENV})"
                ));
                std::thread::sleep(Duration::from_millis(millis));
            }
        }
        let text = if self.args.json {
            report.to_json() + "\n"
        } else {
            report.to_text()
        };
        let shown = {
            let mut out = std::io::stdout().lock();
            out.write_all(text.as_bytes()).and_then(|()| out.flush())
        };
        match shown {
            Err(error) if error.kind() != std::io::ErrorKind::BrokenPipe => {
                return Err(error.into())
            }
            // Nobody read the outcome: the approval stays "committed but not shown".
            Err(_) => {}
            Ok(()) => {
                if let (Some(journal), Some(id), true) =
                    (journal.as_mut(), pending, accepted(&outcome))
                {
                    // The approval is committed and shown; failing to record the second
                    // only makes the next start report it, so it does not fail the sale.
                    if let Err(error) = journal.mark_shown(id, SystemTime::now()) {
                        eprintln!(
                            "warning: journal: record {id} was approved and shown, but marking it shown failed: {error}"
                        );
                    }
                }
            }
        }
        Ok(match outcome.decision {
            _ if accepted(&outcome) => ExitCode::SUCCESS,
            Decision::Approved => ExitCode::SUCCESS,
            Decision::Declined => ExitCode::from(2),
            Decision::Terminated(_) => ExitCode::from(3),
        })
    }

    /// The journal to write: none with `--no-journal`, and none for a simulated card
    /// without `--journal` (test cards' approvals do not belong in the user's real
    /// journal, where they would count towards its offline limits and wait for a sync);
    /// else `--journal` or the default journal.
    fn journal_path(&self) -> Option<PathBuf> {
        if self.args.no_journal || (self.simulated && self.args.journal.is_none()) {
            return None;
        }
        Some(
            self.args
                .journal
                .clone()
                .unwrap_or_else(journal::default_journal_path),
        )
    }

    /// The journal at [`Session::journal_path`], opened (created on first use).
    fn open_journal(&self) -> Result<Option<Journal>, Box<dyn Error>> {
        let Some(path) = self.journal_path() else {
            if self.simulated && !self.args.no_journal {
                self.step(
                    "journal: none (a simulated card writes no journal unless --journal FILE is given)",
                );
            }
            return Ok(None);
        };
        let key = journal::resolve_key_path(self.args.journal_key.as_deref(), &path);
        let opened = Journal::open(&path, &KeySource::create_if_missing(&key))
            .map_err(|e| format!("journal {}: {e}", path.display()))?;
        for record in opened.recovered() {
            self.step(&format!(
                "journal: record {} was left pending by an earlier run; marked incomplete",
                record.id
            ));
        }
        if let Some(created) = opened.key_created() {
            self.step(&format!("journal: new key file {}", created.display()));
        }
        warn_unshown(&opened)?;
        Ok(Some(opened))
    }

    /// Book 1, 12.4: the cardholder's choice or confirmation.
    fn choose(
        &self,
        candidates: &[Candidate],
        confirm_only: bool,
        additional_capabilities: [u8; 5],
    ) -> Option<usize> {
        // Book 1, 12.2.4: the preferred name only in a code table the
        // terminal supports, else the label.
        let label = |c: &Candidate| {
            let name = c.display_name(additional_capabilities);
            format!(
                "{} ({})",
                String::from_utf8_lossy(name),
                hex::encode_upper(&c.aid)
            )
        };
        if let Some(number) = self.args.application {
            let choice = number.checked_sub(1).filter(|i| *i < candidates.len());
            match (choice, confirm_only) {
                (Some(0), true) | (Some(_), false) => {}
                _ => {
                    self.step(&format!(
                        "application {number} is not on offer: selection cancelled"
                    ));
                    return None;
                }
            }
            if let Some(candidate) = choice.and_then(|i| candidates.get(i)) {
                self.step(&format!(
                    "[application selection] chosen: {}",
                    label(candidate)
                ));
            }
            return choice;
        }
        let interactive = std::io::stdin().is_terminal() && std::io::stderr().is_terminal();
        if !interactive {
            if let Some(first) = candidates.first() {
                self.step(&format!(
                    "[application selection] first candidate taken: {}",
                    label(first)
                ));
            }
            return Some(0);
        }
        let mut stderr = std::io::stderr().lock();
        if confirm_only {
            let first = candidates.first().map(label).unwrap_or_default();
            let _ = write!(stderr, "Use {first}? [Y/n] ");
            let _ = stderr.flush();
            let answer = read_line();
            return (!answer.trim().eq_ignore_ascii_case("n")).then_some(0);
        }
        for (index, candidate) in candidates.iter().enumerate() {
            let _ = writeln!(stderr, "  {}. {}", index + 1, label(candidate));
        }
        let _ = write!(
            stderr,
            "Choose an application [1-{}], empty to cancel: ",
            candidates.len()
        );
        let _ = stderr.flush();
        read_line()
            .trim()
            .parse::<usize>()
            .ok()
            .and_then(|n| n.checked_sub(1))
            .filter(|i| *i < candidates.len())
    }

    /// The PIN digits for this request, or `None` (bypassed, or no PIN pad:
    /// the caller tells which). A PIN given before the transaction is offered once; a second request
    /// after a wrong PIN is bypassed rather than retrying the same digits.
    fn pin_entry(&mut self, kind: PinKind, tries_left: Option<u8>) -> Option<Vec<u8>> {
        let what = match kind {
            PinKind::OfflinePlaintext => "offline plaintext PIN",
            PinKind::OfflineEnciphered => "offline enciphered PIN",
            PinKind::Online => "online PIN",
        };
        let tries = tries_left
            .map(|n| format!(", {n} tries left"))
            .unwrap_or_default();
        if let Some(pin) = &self.pin {
            if self.pin_offered {
                self.step(&format!("[cardholder verification] {what} asked again{tries}: the PIN from {} already tried, PIN entry bypassed", pin.option));
                return None;
            }
            self.pin_offered = true;
            self.step(&format!(
                "[cardholder verification] {what}{tries}: PIN from {}",
                pin.option
            ));
            return Some(pin.digits.clone());
        }
        if !std::io::stdin().is_terminal() {
            self.step(&format!(
                "[cardholder verification] {what}{tries}: no terminal for PIN entry and no --pin-fd or --pin-stdin: PIN pad not working"
            ));
            return None;
        }
        for _ in 0..3 {
            let entered =
                rpassword::prompt_password(format!("Enter {what}{tries} (empty to bypass): "));
            let Ok(entered) = entered else {
                return None;
            };
            let mut bytes = entered.into_bytes();
            if bytes.is_empty() {
                self.step(&format!("[cardholder verification] {what}: bypassed"));
                return None;
            }
            if (4..=12).contains(&bytes.len()) && bytes.iter().all(u8::is_ascii_digit) {
                return Some(bytes);
            }
            bytes.fill(0);
            let _ = writeln!(std::io::stderr(), "A PIN is 4 to 12 digits.");
        }
        None
    }

    /// Book 4, 6.5.2: the attendant's voice referral, from `--referral`, else
    /// asked on a terminal, else declined (nobody to make the call).
    fn voice_referral(&self, code: [u8; 2]) -> bool {
        if let Some(answer) = self.args.referral {
            return answer == ReferralAnswer::Approve;
        }
        if !std::io::stdin().is_terminal() {
            return false;
        }
        let _ = write!(
            std::io::stderr(),
            "CALL YOUR BANK: the issuer referred this transaction (ARC {}). Approved on the call? [y/N]: ",
            String::from_utf8_lossy(&code)
        );
        let mut line = String::new();
        if std::io::stdin().read_line(&mut line).is_err() {
            return false;
        }
        matches!(line.trim(), "y" | "Y" | "yes")
    }

    /// The host: the `emv-host` simulator answers from the authorisation request
    /// (ICC data, the card's data and the CDOL1 data of the first GENERATE AC), or
    /// nobody does.
    fn authorise(
        &self,
        icc_data: &[u8],
        card: &DataStore,
        cdol1_data: Option<&[u8]>,
    ) -> HostAnswer {
        let (host, origin) = match &self.host {
            HostChoice::Unreachable(note) => {
                return HostAnswer {
                    response: None,
                    note: (*note).to_owned(),
                }
            }
            HostChoice::Simulator { host, origin } => (host, origin),
        };
        let request = AuthorisationRequest::from_online_request(
            icc_data,
            |tag| card.get(Tag(tag)),
            cdol1_data,
        );
        let answer = host.answer(request.as_ref().map_err(|missing| *missing));
        HostAnswer {
            response: Some(HostDecision {
                approved: answer.approved,
                authorisation_response_code: answer.authorisation_response_code,
                issuer_authentication_data: answer.issuer_authentication_data,
                scripts: answer.scripts,
            }),
            note: format!("{origin}: {}", answer.note),
        }
    }
}

/// Who answers the authorisation request.
enum HostChoice {
    /// Nobody; the note says why.
    Unreachable(&'static str),
    /// The host simulator, and where its keys or answer come from (for the note).
    Simulator { host: Host, origin: String },
}

impl HostChoice {
    /// The host of `--host-file`; the file's errors name its line and field, never a value.
    fn from_file(path: &Path) -> Result<HostChoice, Box<dyn Error>> {
        let host = emv_host::load(path).map_err(|e| format!("--host-file {e}"))?;
        Ok(HostChoice::Simulator {
            host,
            origin: format!("host file {}", path.display()),
        })
    }

    /// `--host approve|decline|unreachable` with a simulated card: the test issuer's
    /// keys, the test cards' scheme, and each `--issuer-script` in its own template 72.
    #[cfg(feature = "simulated-cards")]
    fn test_issuer(mode: HostMode, scripts: Vec<([u8; 4], Vec<u8>)>) -> HostChoice {
        let (arc, approve) = match mode {
            HostMode::Unreachable => {
                return HostChoice::Unreachable("unreachable (--host unreachable)")
            }
            HostMode::Approve => (*b"00", true),
            HostMode::Decline => (*b"05", false),
            // ARC 01 "refer to card issuer": the attendant's call decides.
            HostMode::Refer => (*b"01", false),
        };
        let scripts = scripts
            .into_iter()
            .map(|(header, data)| Script {
                template: ScriptTemplate::After,
                identifier: None,
                commands: vec![(header, data)],
            })
            .collect();
        HostChoice::Simulator {
            host: Host::Keys(KeysHost {
                issuer: Issuer::test_issuer().host().clone(),
                arc,
                approve,
                decline_arc: *b"05",
                scripts,
            }),
            origin: "test issuer".to_owned(),
        }
    }
}

/// What the host simulator answered.
struct HostAnswer {
    /// `None`: unreachable.
    response: Option<HostDecision>,
    /// What it did, for the step line and the report.
    note: String,
}

struct HostDecision {
    approved: bool,
    authorisation_response_code: [u8; 2],
    issuer_authentication_data: Option<Vec<u8>>,
    /// Issuer Script Templates, concatenated.
    scripts: Vec<u8>,
}

fn read_line() -> String {
    let mut line = String::new();
    let _ = std::io::stdin().lock().read_line(&mut line);
    line
}

/// Testing aid for the crash test (`terminal/tests/journal_crash_transact.rs`), compiled
/// only with the cargo feature `test-aids` (never in the shipped binary): with
/// `EMV_TERMINAL_PAUSE_BEFORE_COMMIT_MS=N` set, sleep N milliseconds after the last
/// GENERATE AC and before the journal commit, so a test can kill the process in that
/// window deterministically. Read only here; unset (the normal case) means no pause.
#[cfg(feature = "test-aids")]
const PAUSE_BEFORE_COMMIT_ENV: &str = "EMV_TERMINAL_PAUSE_BEFORE_COMMIT_MS";

/// The pause [`PAUSE_BEFORE_COMMIT_ENV`] asks for, at most one minute; `None` when unset.
#[cfg(feature = "test-aids")]
fn pause_before_commit() -> Option<u64> {
    pause_from(PAUSE_BEFORE_COMMIT_ENV)
}

/// Testing aid like [`PAUSE_BEFORE_COMMIT_ENV`]: with `EMV_TERMINAL_PAUSE_BEFORE_SHOW_MS=N`,
/// sleep N milliseconds after the journal commit and before the outcome is printed, so the
/// crash test can kill the process with an approval committed but never shown.
#[cfg(feature = "test-aids")]
const PAUSE_BEFORE_SHOW_ENV: &str = "EMV_TERMINAL_PAUSE_BEFORE_SHOW_MS";

/// The pause [`PAUSE_BEFORE_SHOW_ENV`] asks for, at most one minute; `None` when unset.
#[cfg(feature = "test-aids")]
fn pause_before_show() -> Option<u64> {
    pause_from(PAUSE_BEFORE_SHOW_ENV)
}

#[cfg(feature = "test-aids")]
fn pause_from(variable: &str) -> Option<u64> {
    std::env::var(variable)
        .ok()
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map(|millis| millis.min(60_000))
}

/// How many of the approvals committed but never shown the start-up warning names.
const UNSHOWN_NAMED: usize = 10;

/// At start, on stderr: the approvals a crash, a power cut or a closed output left
/// committed but never shown. They are real (sync forwards them): the merchant must not
/// retry those sales without checking, then acknowledges them with `journal reconcile`.
fn warn_unshown(journal: &Journal) -> Result<(), Box<dyn Error>> {
    let count = journal.unshown_count()?;
    if count == 0 {
        return Ok(());
    }
    let listed: Vec<String> = journal
        .unshown_approvals(UNSHOWN_NAMED)?
        .iter()
        .map(|r| {
            format!(
                "record {} amount {} (currency {:03}) card {} at {}",
                r.id,
                r.amount_authorised,
                r.currency_code,
                r.masked_pan,
                r.completed_at
                    .map_or_else(|| "-".to_string(), emv_journal::export::rfc3339)
            )
        })
        .collect();
    let more = count.saturating_sub(listed.len() as u64);
    eprintln!(
        "warning: {count} approval{} committed but never shown: {}{}; check with the merchant/customer before retrying, then `emv-terminal journal reconcile --id N` (or --all)",
        if count == 1 { " was" } else { "s were" },
        listed.join("; "),
        if more > 0 { format!("; and {more} more (journal status)") } else { String::new() }
    );
    Ok(())
}

/// The journal's pending record, from the card data read so far.
fn pending_transaction(
    card: &DataStore,
    inputs: &TransactionInputs,
) -> Result<PendingTransaction, Box<dyn Error>> {
    let pan = card
        .get(Tag(0x5A))
        .ok_or("journal: no PAN before GENERATE AC")?;
    let expiry_date = card
        .get(Tag(0x5F24))
        .and_then(|v| <[u8; 3]>::try_from(v).ok())
        .ok_or("journal: no expiry date before GENERATE AC")?;
    let aid = card
        .get(Tag(0x84))
        .or_else(|| card.get(Tag(0x4F)))
        .unwrap_or(&[]);
    let [high, low] = inputs.currency_code;
    let digit = |nibble: u8| u16::from(nibble.min(9));
    let currency_code = digit(high >> 4) * 1000
        + digit(high & 0x0F) * 100
        + digit(low >> 4) * 10
        + digit(low & 0x0F);
    Ok(PendingTransaction {
        amount_authorised: inputs.amount_authorised,
        amount_other: inputs.amount_other,
        currency_code,
        transaction_type: inputs.transaction_type,
        transaction_date: inputs.date,
        transaction_time: inputs.time,
        aid: aid.to_vec(),
        pan: pan.to_vec(),
        pan_sequence_number: card.get(Tag(0x5F34)).and_then(|v| v.first().copied()),
        track2_equivalent: card.get(Tag(0x57)).map(<[u8]>::to_vec),
        expiry_date,
    })
}

/// The journal's completion record from the outcome.
/// The sale went through: the card approved, or the attendant forced
/// acceptance of its decline (Book 4, 6.5.4).
fn accepted(outcome: &Outcome) -> bool {
    outcome.decision == Decision::Approved || outcome.forced_acceptance
}

fn completion(outcome: &Outcome, forced_online_reason: Option<String>) -> Completion {
    Completion {
        outcome: match outcome.decision {
            // A forced acceptance is forwarded like an approval; its AAC
            // (the CID kept) tells the acquirer the card declined it.
            _ if outcome.forced_acceptance => journal::Outcome::Approved,
            Decision::Approved => journal::Outcome::Approved,
            Decision::Declined => journal::Outcome::Declined,
            Decision::Terminated(_) => journal::Outcome::Terminated,
        },
        mode: if outcome.online {
            Mode::Online
        } else {
            Mode::Offline
        },
        authorisation_response_code: outcome.authorisation_response_code,
        cryptogram_information_data: tlv::find(&outcome.clearing_data, Tag(0x9F27))
            .and_then(|v| v.first().copied()),
        application_cryptogram: outcome.cryptogram,
        atc: outcome.atc.map(u16::from_be_bytes),
        tvr: outcome.tvr.0,
        tsi: outcome.tsi.0,
        cvm_results: outcome.cvm_results.bytes(),
        icc_data: outcome.clearing_data.to_vec(),
        forced_online_reason,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_in_minor_units() {
        assert_eq!(parse_amount("12.50", 2, "--amount"), Ok(1250));
        assert_eq!(parse_amount("12.5", 2, "--amount"), Ok(1250));
        assert_eq!(parse_amount("12", 2, "--amount"), Ok(1200));
        assert_eq!(parse_amount("0.01", 2, "--amount"), Ok(1));
        assert_eq!(parse_amount("1000", 0, "--amount"), Ok(1000));
        assert!(parse_amount("12.505", 2, "--amount").is_err());
        assert!(parse_amount("12.", 2, "--amount").is_err());
        assert!(parse_amount("-1", 2, "--amount").is_err());
        assert!(parse_amount("1e3", 2, "--amount").is_err());
        assert!(parse_amount("10000000000.00", 2, "--amount").is_err());
        assert_eq!(
            parse_amount("9999999999.99", 2, "--amount"),
            Ok(999_999_999_999)
        );
    }

    #[test]
    fn dates_and_times() {
        let date = |t: &str| {
            bcd6(t, "--date", "YYMMDD", |y, m, d| {
                (1..=12).contains(&m) && d >= 1 && d <= days_in_month(y, m)
            })
        };
        assert_eq!(date("251124"), Ok([0x25, 0x11, 0x24]));
        assert!(date("251324").is_err());
        assert!(date("250230").is_err(), "30 February");
        assert!(date("250229").is_err(), "2025 is not a leap year");
        assert_eq!(date("240229"), Ok([0x24, 0x02, 0x29]));
        assert!(date("250431").is_err());
        assert!(date("251200").is_err());
        assert!(date("25112").is_err());
        let (today, now) = now_utc();
        assert_eq!((today.len(), now.len()), (6, 6));
    }
}
