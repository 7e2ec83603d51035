//! Replay: run the kernel against a trace. The kernel must send exactly the
//! recorded commands; it gets the recorded responses and answers; its
//! outcome must match the expected one. A difference is reported with the
//! step, both APDUs decoded as TLV with the differing tags marked, and the
//! outcome fields that differ.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use emv_kernel::crypto::{
    CryptoError, CryptoProvider, EccCurve, RingCrypto, SHA1_LEN, SHA256_LEN, SHA512_LEN,
};
use emv_kernel::dictionary;
use emv_kernel::dol;
use emv_kernel::online::HostResponse;
use emv_kernel::outcome::Outcome;
use emv_kernel::tlv::{self, Tag};
use emv_kernel::transaction::{PinEntry, Request, TerminalContext, Transaction};

use super::format::{CapkSource, ConfigSource, Event, Expected, HostAnswer, PinResult, Trace};
use super::record::expected_from;
use emv_config::{CaKeys, Settings};

/// What a replay needs besides the trace.
#[derive(Clone, Debug, Default)]
pub struct Environment {
    /// Folder that relative `config file` and `capk file` paths start from.
    pub base_dir: PathBuf,
    /// capk.txt text that replaces the trace's CA key source.
    pub capk_override: Option<String>,
}

impl Environment {
    /// The environment for a trace file: its own folder.
    pub fn for_file(path: &Path) -> Self {
        Environment {
            base_dir: path.parent().map(Path::to_path_buf).unwrap_or_default(),
            capk_override: None,
        }
    }
}

/// Why a replay failed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Failure {
    /// The trace could not be set up (configuration, CA keys, inputs).
    Setup(String),
    /// The kernel and the trace parted at an exchange or answer.
    Diverged {
        /// 1-based exchange number (commands sent so far, this one included).
        step: usize,
        /// The kernel's step name.
        kernel_step: &'static str,
        /// What differs.
        message: String,
        /// The recorded bytes, when bytes differ.
        expected: Option<Vec<u8>>,
        /// The kernel's bytes, when bytes differ.
        actual: Option<Vec<u8>>,
        /// How to decode the bytes' data part.
        decoding: Decoding,
    },
    /// The APDUs matched; these outcome fields differ: (field, expected, actual).
    Outcome(Vec<(String, String, String)>),
}

/// How to show the data of two differing byte strings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Decoding {
    /// A command APDU whose data is BER-TLV.
    CommandTlv,
    /// A command APDU whose data follows this DOL (named).
    CommandDol(Vec<u8>, &'static str),
    /// BER-TLV throughout (field 55).
    Tlv,
}

/// The result of one replay.
#[derive(Clone, Debug)]
pub struct Replayed {
    /// The failure, if any.
    pub failure: Option<Failure>,
    /// The kernel's outcome, when it finished.
    pub outcome: Option<Outcome>,
    /// The outcome fields as the kernel produced them (for `--update`).
    pub actual: Expected,
}

impl Replayed {
    /// Whether the trace replayed cleanly.
    pub fn passed(&self) -> bool {
        self.failure.is_none()
    }
}

/// The crypto provider of a replay: the default provider, except that RSA
/// returns a masked trace's stand-ins unchanged and randomness is a fixed
/// pattern (the only random bytes, the enciphered PIN padding, go into
/// VERIFY data, which traces never hold).
pub struct ReplayCrypto {
    inner: RingCrypto,
    stand_ins: Vec<[u8; 32]>,
}

impl ReplayCrypto {
    /// A provider that serves `stand_ins` (SHA-256 digests).
    pub fn new(stand_ins: Vec<[u8; 32]>) -> Self {
        ReplayCrypto {
            inner: RingCrypto::new(),
            stand_ins,
        }
    }
}

impl CryptoProvider for ReplayCrypto {
    fn sha1(&self, parts: &[&[u8]]) -> [u8; SHA1_LEN] {
        self.inner.sha1(parts)
    }

    fn sha256(&self, parts: &[&[u8]]) -> [u8; SHA256_LEN] {
        self.inner.sha256(parts)
    }

    fn rsa_public(
        &self,
        modulus: &[u8],
        exponent: &[u8],
        input: &[u8],
        output: &mut [u8],
    ) -> Result<(), CryptoError> {
        if !self.stand_ins.is_empty()
            && input.len() == modulus.len()
            && output.len() == input.len()
            && self.stand_ins.contains(&self.inner.sha256(&[input]))
        {
            output.copy_from_slice(input);
            return Ok(());
        }
        self.inner.rsa_public(modulus, exponent, input, output)
    }

    fn random(&self, out: &mut [u8]) -> Result<(), CryptoError> {
        out.fill(0x5A);
        Ok(())
    }

    fn sha512(&self, parts: &[&[u8]]) -> Result<[u8; SHA512_LEN], CryptoError> {
        self.inner.sha512(parts)
    }

    /// A masked XDA signature (zeros, `mask::ecc_stand_ins`) whose
    /// SHA-256 over `message || signature` the trace lists verified when it
    /// was recorded; anything else is verified.
    fn ec_sdsa_verify(
        &self,
        curve: EccCurve,
        public_key_x: &[u8],
        message: &[&[u8]],
        signature: &[u8],
    ) -> Result<bool, CryptoError> {
        if !self.stand_ins.is_empty() && signature.iter().all(|byte| *byte == 0) {
            let mut parts: Vec<&[u8]> = message.to_vec();
            parts.push(signature);
            if self.stand_ins.contains(&self.inner.sha256(&parts)) {
                return Ok(true);
            }
        }
        self.inner
            .ec_sdsa_verify(curve, public_key_x, message, signature)
    }

    fn ecc_check_point(&self, curve: EccCurve, x: &[u8]) -> Result<(), CryptoError> {
        self.inner.ecc_check_point(curve, x)
    }

    /// The ephemeral key is drawn from this provider's fixed pattern, so a
    /// replay enciphers the same way every time (the data go into VERIFY,
    /// which traces never hold).
    fn ecc_ephemeral_agreement(
        &self,
        curve: EccCurve,
        peer_x: &[u8],
        ephemeral_x: &mut [u8],
        shared_x: &mut [u8],
    ) -> Result<(), CryptoError> {
        emv_kernel::crypto::ecc::ephemeral_agreement(
            curve,
            peer_x,
            &mut |out: &mut [u8]| self.random(out),
            ephemeral_x,
            shared_x,
        )
    }

    fn aes128_encrypt_block(
        &self,
        key: &[u8; 16],
        block: &mut [u8; 16],
    ) -> Result<(), CryptoError> {
        self.inner.aes128_encrypt_block(key, block)
    }

    fn aes128_cmac(&self, key: &[u8; 16], parts: &[&[u8]]) -> Result<[u8; 16], CryptoError> {
        self.inner.aes128_cmac(key, parts)
    }
}

fn sha256_hex(bytes: &[u8]) -> [u8; 32] {
    RingCrypto::new().sha256(&[bytes])
}

/// The terminal settings a trace names.
pub fn settings_for(trace: &Trace, env: &Environment) -> Result<Settings, String> {
    match &trace.config {
        ConfigSource::Builtin => Ok(Settings::default()),
        ConfigSource::Inline(text) => {
            Settings::from_toml(text).map_err(|e| format!("inline configuration: {e}"))
        }
        ConfigSource::File { path, sha256 } => {
            let full = env.base_dir.join(path);
            let bytes =
                std::fs::read(&full).map_err(|e| format!("config {}: {e}", full.display()))?;
            if sha256_hex(&bytes) != *sha256 {
                return Err(format!(
                    "config {}: SHA-256 differs from the trace's",
                    full.display()
                ));
            }
            let text = String::from_utf8(bytes)
                .map_err(|_| format!("config {}: not UTF-8", full.display()))?;
            Settings::from_toml(&text).map_err(|e| format!("config {}: {e}", full.display()))
        }
    }
}

/// The text of `capk builtin`: the test CA keys of `emv-test-cards`.
#[cfg(feature = "test-keys")]
fn builtin_capk() -> Result<(String, String), String> {
    Ok((
        "built-in test CA keys".to_owned(),
        emv_test_cards::pki::CAPK_TXT.to_owned(),
    ))
}

/// Without the test keys, `capk builtin` names keys this build does not have.
#[cfg(not(feature = "test-keys"))]
fn builtin_capk() -> Result<(String, String), String> {
    Err(NO_TEST_KEYS.to_owned())
}

/// Why a trace that names the built-in test CA keys (`capk builtin`) cannot be replayed by a
/// build without the `test-keys` feature.
#[cfg(not(feature = "test-keys"))]
pub const NO_TEST_KEYS: &str = "this trace uses the built-in test CA keys (`capk builtin`), \
     which this build does not include (emv-trace without its `test-keys` feature): \
     pass the CA key file (capk.txt) instead, with `--capk FILE` \
     (`Environment::capk_override` from Rust)";

/// The CA keys a trace names, checked against its `ca-key` lines.
pub fn ca_keys_for(trace: &Trace, env: &Environment) -> Result<Box<CaKeys>, String> {
    let (name, text) = match (&env.capk_override, &trace.capk) {
        (Some(text), _) => ("--capk".to_owned(), text.clone()),
        (None, CapkSource::Builtin) => builtin_capk()?,
        (None, CapkSource::File { path, sha256 }) => {
            // Relative to the trace's folder, else as recorded (relative to where it ran).
            let beside = env.base_dir.join(path);
            let full = if beside.exists() {
                beside
            } else {
                PathBuf::from(path)
            };
            let bytes =
                std::fs::read(&full).map_err(|e| format!("capk {}: {e}", full.display()))?;
            if sha256_hex(&bytes) != *sha256 {
                return Err(format!(
                    "capk {}: SHA-256 differs from the trace's",
                    full.display()
                ));
            }
            (
                full.display().to_string(),
                String::from_utf8_lossy(&bytes).into_owned(),
            )
        }
    };
    let crypto = RingCrypto::new();
    let (store, _notices) = emv_config::load_ca_keys(&crypto, &text, None)
        .map_err(|e| format!("{name}: {}", emv_config::describe_load_error(&e)))?;
    for used in &trace.ca_keys {
        match store.find(&used.rid, used.index) {
            Some(key) if key.checksum(&crypto) == used.checksum => {}
            Some(_) => {
                return Err(format!(
                    "CA key {} {:02X} in {name} differs from the recorded one (checksum)",
                    hex::encode_upper(used.rid),
                    used.index
                ))
            }
            None => {
                return Err(format!(
                    "CA key {} {:02X} is not in {name}",
                    hex::encode_upper(used.rid),
                    used.index
                ))
            }
        }
    }
    Ok(store)
}

/// Everything a replay needs prepared, so a benchmark can replay many times.
pub struct Prepared {
    settings: Settings,
    ca_keys: Box<CaKeys>,
}

/// Reads the configuration and CA keys of `trace`.
pub fn prepare(trace: &Trace, env: &Environment) -> Result<Prepared, String> {
    Ok(Prepared {
        settings: settings_for(trace, env)?,
        ca_keys: ca_keys_for(trace, env)?,
    })
}

/// Replays `trace`.
pub fn replay(trace: &Trace, env: &Environment) -> Replayed {
    match prepare(trace, env) {
        Ok(prepared) => replay_prepared(trace, &prepared),
        Err(message) => Replayed {
            failure: Some(Failure::Setup(message)),
            outcome: None,
            actual: Expected::default(),
        },
    }
}

/// The pieces of card data a diff needs (DOLs), from the recorded responses.
fn recorded_value(trace: &Trace, tag: Tag) -> Option<Vec<u8>> {
    trace.responses().find_map(|response| {
        let data = response
            .get(..response.len().saturating_sub(2))
            .unwrap_or(&[]);
        tlv::find(data, tag).map(<[u8]>::to_vec)
    })
}

/// How to decode a command's data for a diff.
fn command_decoding(trace: &Trace, command: &[u8], generate_ac_seen: bool) -> Decoding {
    let dol_of =
        |tag: u32, name| recorded_value(trace, Tag(tag)).map(|dol| Decoding::CommandDol(dol, name));
    let decoded = match (command.first(), command.get(1)) {
        (Some(0x80), Some(0xAE)) if generate_ac_seen => dol_of(0x8D, "CDOL2"),
        (Some(0x80), Some(0xAE)) => dol_of(0x8C, "CDOL1"),
        (_, Some(0x88)) => dol_of(0x9F49, "DDOL")
            .or_else(|| Some(Decoding::CommandDol(vec![0x9F, 0x37, 0x04], "default DDOL"))),
        _ => None,
    };
    decoded.unwrap_or(Decoding::CommandTlv)
}

struct Cursor<'t> {
    events: &'t [Event],
    position: usize,
    exchanges: usize,
}

impl<'t> Cursor<'t> {
    fn peek(&self) -> Option<&'t Event> {
        self.events.get(self.position)
    }

    fn take(&mut self) -> Option<&'t Event> {
        let event = self.events.get(self.position);
        self.position += usize::from(event.is_some());
        event
    }

    /// The next command after the current position, without consuming it.
    fn next_command(&self) -> Option<&'t [u8]> {
        self.events
            .get(self.position..)?
            .iter()
            .find_map(|e| match e {
                Event::Command { apdu, .. } => Some(apdu.as_slice()),
                _ => None,
            })
    }

    /// The next GENERATE AC command in the trace, if any.
    fn next_generate_ac(&self) -> Option<&'t [u8]> {
        self.events
            .get(self.position..)?
            .iter()
            .find_map(|e| match e {
                Event::Command { apdu, .. } if apdu.get(1) == Some(&0xAE) => Some(apdu.as_slice()),
                _ => None,
            })
    }
}

fn describe(event: Option<&Event>) -> String {
    match event {
        None => "the end of the trace".to_owned(),
        Some(Event::Command { apdu, .. }) => format!("command {}", hex::encode_upper(apdu)),
        Some(Event::Response(_)) => "a response".to_owned(),
        Some(Event::TransportError) => "a transport error".to_owned(),
        Some(Event::Choose(_)) => "an application choice".to_owned(),
        Some(Event::Pin(_)) => "a PIN entry".to_owned(),
        Some(Event::RecentAmount(_)) => "a transaction log answer".to_owned(),
        Some(Event::Online(_)) => "an authorisation request".to_owned(),
        Some(Event::Host(_)) => "a host answer".to_owned(),
        Some(Event::Referral(_)) => "a voice referral".to_owned(),
    }
}

/// Most requests one replay answers: a trace cannot drive the kernel beyond
/// its own exchange bound, this only guards against a kernel loop.
const MAX_REQUESTS: usize = 10_000;

/// Replays `trace` with prepared settings and keys.
pub fn replay_prepared(trace: &Trace, prepared: &Prepared) -> Replayed {
    replay_with(trace, prepared, ReplayCrypto::new(trace.stand_ins.clone()))
}

/// Replays `trace` with prepared settings and keys and `crypto` (a
/// [`ReplayCrypto`], possibly wrapped by a recorder).
pub fn replay_with<C: CryptoProvider>(trace: &Trace, prepared: &Prepared, crypto: C) -> Replayed {
    let exception_file: Vec<&[u8]> = prepared
        .settings
        .exception_file
        .iter()
        .map(Vec::as_slice)
        .collect();
    let revocations = prepared.settings.revocation_list();
    let context = TerminalContext {
        config: &prepared.settings.terminal,
        ca_keys: &prepared.ca_keys,
        revocations: &revocations,
        exception_file: &exception_file,
    };
    let setup_failure = |message: String| Replayed {
        failure: Some(Failure::Setup(message)),
        outcome: None,
        actual: Expected::default(),
    };
    let mut transaction = match Transaction::new(context, crypto, trace.inputs) {
        Ok(transaction) => Box::new(transaction),
        Err(e) => {
            return setup_failure(format!("the kernel refused the transaction inputs: {e:?}"))
        }
    };
    let mut cursor = Cursor {
        events: &trace.events,
        position: 0,
        exchanges: 0,
    };
    let mut generate_ac_seen = false;
    for _ in 0..MAX_REQUESTS {
        let kernel_step = transaction.step();
        let diverged = |cursor: &Cursor<'_>, message: String| Failure::Diverged {
            step: cursor.exchanges,
            kernel_step,
            message,
            expected: None,
            actual: None,
            decoding: Decoding::Tlv,
        };
        let result = match transaction.request() {
            Request::Done(outcome) => {
                let outcome = outcome.clone();
                return finish(trace, &cursor, outcome, kernel_step);
            }
            Request::Transmit(command) => {
                let command = command.to_vec();
                cursor.exchanges += 1;
                let failure = match cursor.peek() {
                    Some(Event::Command { apdu, withheld }) => {
                        let same = if *withheld {
                            command.get(..5) == Some(apdu.as_slice())
                        } else {
                            command == *apdu
                        };
                        (!same).then(|| Failure::Diverged {
                            step: cursor.exchanges,
                            kernel_step,
                            message: "the kernel sent a different command".to_owned(),
                            expected: Some(apdu.clone()),
                            actual: Some(command.clone()),
                            decoding: command_decoding(trace, &command, generate_ac_seen),
                        })
                    }
                    other => Some(Failure::Diverged {
                        step: cursor.exchanges,
                        kernel_step,
                        message: format!(
                            "the kernel sent command {} where the trace has {}",
                            hex::encode_upper(&command),
                            describe(other)
                        ),
                        expected: None,
                        actual: Some(command.clone()),
                        decoding: Decoding::CommandTlv,
                    }),
                };
                if let Some(failure) = failure {
                    return failed(failure);
                }
                cursor.take();
                generate_ac_seen |= command.starts_with(&[0x80, 0xAE]);
                match cursor.take() {
                    Some(Event::Response(response)) => transaction.on_response(response),
                    Some(Event::TransportError) => {
                        transaction.on_transport_error();
                        Ok(())
                    }
                    other => {
                        let message =
                            format!("the trace has {} where a response belongs", describe(other));
                        return failed(diverged(&cursor, message));
                    }
                }
            }
            Request::ChooseApplication { candidates, .. } => {
                let choice = match cursor.peek() {
                    Some(Event::Choose(choice)) => {
                        cursor.take();
                        *choice
                    }
                    // An imported log: the SELECT that follows names the choice.
                    _ => cursor.next_command().and_then(|select| {
                        let aid = select.get(5..).unwrap_or(&[]);
                        candidates
                            .iter()
                            .position(|c| !c.aid.is_empty() && aid.starts_with(&c.aid))
                    }),
                };
                transaction.on_application_chosen(choice)
            }
            Request::EnterPin { .. } => {
                let result = match cursor.peek() {
                    Some(Event::Pin(result)) => {
                        cursor.take();
                        *result
                    }
                    // An imported log: a VERIFY or GET CHALLENGE next means a PIN was entered.
                    _ => match cursor.next_command().and_then(|c| c.get(1)) {
                        Some(0x20 | 0x84) => PinResult::Entered,
                        _ => PinResult::Bypassed,
                    },
                };
                transaction.on_pin(match result {
                    PinResult::Entered => PinEntry::Digits(b"0000"),
                    PinResult::Bypassed => PinEntry::Bypassed,
                    PinResult::PadNotWorking => PinEntry::PinPadNotWorking,
                    PinResult::OnlineCaptured => PinEntry::OnlineCaptured,
                })
            }
            Request::RecentAmount { .. } => {
                let amount = match cursor.peek() {
                    Some(Event::RecentAmount(amount)) => {
                        cursor.take();
                        *amount
                    }
                    // A trace from before the lookup was an answer (its
                    // `input recent-amount-same-card`), or an imported log: no log.
                    _ => trace.recent_amount_input.unwrap_or(0),
                };
                transaction.on_recent_amount(amount)
            }
            Request::GoOnline(icc_data) => {
                if let Some(Event::Online(recorded)) = cursor.peek() {
                    if recorded.as_slice() != icc_data {
                        return failed(Failure::Diverged {
                            step: cursor.exchanges,
                            kernel_step,
                            message: "the authorisation request (field 55) differs".to_owned(),
                            expected: Some(recorded.clone()),
                            actual: Some(icc_data.to_vec()),
                            decoding: Decoding::Tlv,
                        });
                    }
                    cursor.take();
                }
                let answer = match cursor.peek() {
                    Some(Event::Host(answer)) => {
                        cursor.take();
                        Some(answer)
                    }
                    _ => None,
                };
                let response = match answer {
                    Some(HostAnswer::Answered {
                        approved,
                        authorisation_response_code,
                        issuer_authentication_data,
                        scripts,
                    }) => HostResponse {
                        reachable: true,
                        approved: *approved,
                        authorisation_response_code: *authorisation_response_code,
                        issuer_authentication_data: issuer_authentication_data.as_deref(),
                        scripts,
                    },
                    Some(HostAnswer::Unreachable) | None => HostResponse::UNREACHABLE,
                };
                transaction.on_host(response)
            }
            Request::IssuerReferral { .. } => {
                // A trace without the line (an imported log): the second
                // GENERATE AC that follows names the decision (P1 b8-b7).
                let approved = match cursor.peek() {
                    Some(Event::Referral(approved)) => {
                        let approved = *approved;
                        cursor.take();
                        approved
                    }
                    _ => cursor
                        .next_generate_ac()
                        .and_then(|c| c.get(2))
                        .is_some_and(|p1| p1 & 0xC0 == 0x40),
                };
                transaction.on_referral(approved)
            }
        };
        if let Err(error) = result {
            return failed(diverged(
                &cursor,
                format!("the kernel refused the recorded answer: {error:?}"),
            ));
        }
    }
    failed(Failure::Setup(format!(
        "the kernel did not finish within {MAX_REQUESTS} requests"
    )))
}

fn failed(failure: Failure) -> Replayed {
    Replayed {
        failure: Some(failure),
        outcome: None,
        actual: Expected::default(),
    }
}

fn finish(
    trace: &Trace,
    cursor: &Cursor<'_>,
    outcome: Outcome,
    kernel_step: &'static str,
) -> Replayed {
    let actual = expected_from(&outcome);
    let remaining = cursor
        .events
        .get(cursor.position..)
        .unwrap_or(&[])
        .iter()
        .filter(|e| matches!(e, Event::Command { .. }))
        .count();
    let failure = if remaining > 0 {
        Some(Failure::Diverged {
            step: cursor.exchanges,
            kernel_step,
            message: format!(
                "the kernel finished, but the trace has {remaining} more command(s), next: {}",
                cursor
                    .next_command()
                    .map_or_else(|| "none".to_owned(), hex::encode_upper)
            ),
            expected: None,
            actual: None,
            decoding: Decoding::Tlv,
        })
    } else {
        let differences = compare_expected(&trace.expected, &actual);
        (!differences.is_empty()).then_some(Failure::Outcome(differences))
    };
    Replayed {
        failure,
        outcome: Some(outcome),
        actual,
    }
}

/// The recorded fields whose value differs from the actual one.
pub fn compare_expected(expected: &Expected, actual: &Expected) -> Vec<(String, String, String)> {
    expected
        .0
        .iter()
        .filter_map(|(field, value)| {
            let now = actual.get(field).unwrap_or("(not produced)");
            (now != value).then(|| (field.clone(), value.clone(), now.to_owned()))
        })
        .collect()
}

/// Terminal colours for the diff.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Style {
    /// ANSI colours on.
    pub color: bool,
}

impl Style {
    fn mark(&self, text: &str) -> String {
        if self.color {
            format!("\x1b[1;31m{text}\x1b[0m")
        } else {
            text.to_owned()
        }
    }
}

/// The data objects of `data`: BER-TLV primitives, or DOL fields.
fn decode_objects(data: &[u8], decoding: &Decoding) -> Option<Vec<(Tag, Vec<u8>)>> {
    match decoding {
        Decoding::CommandDol(dol_bytes, _) => {
            let mut objects = Vec::new();
            let mut rest = data;
            for entry in dol::entries(dol_bytes) {
                let entry = entry.ok()?;
                let (value, tail) = rest.split_at_checked(entry.length)?;
                objects.push((entry.tag, value.to_vec()));
                rest = tail;
            }
            rest.is_empty().then_some(objects)
        }
        Decoding::CommandTlv | Decoding::Tlv => {
            let objects: Result<Vec<_>, _> = tlv::primitives(data)
                .map(|item| item.map(|(_, object)| (object.tag, object.value.to_vec())))
                .collect();
            objects.ok().filter(|o| !o.is_empty())
        }
    }
}

/// The data part of a command APDU (after Lc), or the whole bytes.
fn data_part<'a>(bytes: &'a [u8], decoding: &Decoding) -> &'a [u8] {
    match decoding {
        Decoding::Tlv => bytes,
        _ => {
            let length = bytes.get(4).map_or(0, |lc| usize::from(*lc));
            if bytes.len() > 5 {
                bytes.get(5..5 + length).unwrap_or(&[])
            } else {
                &[]
            }
        }
    }
}

/// Hex with a caret line under the bytes that differ from `other`.
fn caret_line(bytes: &[u8], other: &[u8]) -> String {
    let length = bytes.len().max(other.len());
    (0..length)
        .map(|i| {
            if bytes.get(i) == other.get(i) {
                "  "
            } else {
                "^^"
            }
        })
        .collect::<String>()
        .trim_end()
        .to_owned()
}

/// A readable explanation of a failure.
pub fn render_failure(failure: &Failure, style: Style) -> String {
    let mut out = String::new();
    match failure {
        Failure::Setup(message) => {
            let _ = writeln!(out, "  cannot replay: {message}");
        }
        Failure::Outcome(differences) => {
            let _ = writeln!(out, "  every APDU matched; the outcome differs:");
            for (field, expected, actual) in differences {
                let _ = writeln!(
                    out,
                    "  {} {field}: expected {expected}, actual {actual}",
                    style.mark("!")
                );
            }
        }
        Failure::Diverged {
            step,
            kernel_step,
            message,
            expected,
            actual,
            decoding,
        } => {
            let _ = writeln!(out, "  step {step} ({kernel_step}): {message}");
            if let (Some(expected), Some(actual)) = (expected, actual) {
                let _ = writeln!(out, "    expected: {}", hex::encode_upper(expected));
                let _ = writeln!(out, "    actual:   {}", hex::encode_upper(actual));
                let _ = writeln!(
                    out,
                    "              {}",
                    style.mark(&caret_line(actual, expected))
                );
                render_objects(&mut out, expected, actual, decoding, style);
            } else if let Some(actual) = actual {
                let _ = writeln!(out, "    actual:   {}", hex::encode_upper(actual));
            }
        }
    }
    out
}

fn render_objects(
    out: &mut String,
    expected: &[u8],
    actual: &[u8],
    decoding: &Decoding,
    style: Style,
) {
    let expected_data = data_part(expected, decoding);
    let actual_data = data_part(actual, decoding);
    if expected.get(..4) != actual.get(..4) && !matches!(decoding, Decoding::Tlv) {
        let _ = writeln!(
            out,
            "  {} header: expected {}, actual {}",
            style.mark("!"),
            hex::encode_upper(expected.get(..4).unwrap_or(expected)),
            hex::encode_upper(actual.get(..4).unwrap_or(actual))
        );
    }
    let (Some(recorded), Some(produced)) = (
        decode_objects(expected_data, decoding),
        decode_objects(actual_data, decoding),
    ) else {
        return;
    };
    let label = match decoding {
        Decoding::CommandDol(_, name) => format!("data by the card's {name}"),
        Decoding::CommandTlv => "data as TLV".to_owned(),
        Decoding::Tlv => "TLV".to_owned(),
    };
    let _ = writeln!(out, "    {label} (! marks the tags that differ):");
    let mut tags: Vec<Tag> = recorded.iter().map(|(t, _)| *t).collect();
    for (tag, _) in &produced {
        if !tags.contains(tag) {
            tags.push(*tag);
        }
    }
    for tag in tags {
        let name = dictionary::name_of(tag).unwrap_or("unknown");
        let before = recorded.iter().find(|(t, _)| *t == tag).map(|(_, v)| v);
        let after = produced.iter().find(|(t, _)| *t == tag).map(|(_, v)| v);
        let show = |v: Option<&Vec<u8>>| v.map_or_else(|| "(absent)".to_owned(), hex::encode_upper);
        if before == after {
            let _ = writeln!(out, "      {tag} {name}: {}", show(before));
        } else {
            let _ = writeln!(
                out,
                "    {} {tag} {name}: expected {}, actual {}",
                style.mark("!"),
                show(before),
                show(after)
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(feature = "test-keys")]
    #[test]
    fn capk_builtin_is_the_test_ca_keys() {
        let trace = Trace::new(crate::format::DEFAULT_INPUTS);
        let keys = ca_keys_for(&trace, &Environment::default()).expect("test CA keys");
        assert!(keys.find(&[0xA0, 0x00, 0x00, 0x09, 0x99], 0x01).is_some());
    }

    #[cfg(not(feature = "test-keys"))]
    #[test]
    fn capk_builtin_without_the_test_keys_asks_for_the_key_file() {
        let trace = Trace::new(crate::format::DEFAULT_INPUTS);
        let error = ca_keys_for(&trace, &Environment::default())
            .err()
            .expect("no built-in keys");
        assert_eq!(error, NO_TEST_KEYS);
        assert!(error.contains("--capk FILE"), "{error}");
        let replayed = replay(&trace, &Environment::default());
        assert_eq!(
            replayed.failure,
            Some(Failure::Setup(NO_TEST_KEYS.to_owned()))
        );
    }

    #[test]
    fn capk_override_replaces_capk_builtin() {
        let trace = Trace::new(crate::format::DEFAULT_INPUTS);
        let env = Environment {
            capk_override: Some(String::new()),
            ..Environment::default()
        };
        let keys = ca_keys_for(&trace, &env).expect("empty key file");
        assert!(keys.find(&[0xA0, 0x00, 0x00, 0x09, 0x99], 0x01).is_none());
    }
}
