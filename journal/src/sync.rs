//! Store-and-forward: upload unsynced approved records to the acquirer.
//!
//! Records go in batches as JSON over HTTPS (rustls, `ring` provider), each with its
//! idempotency key. A record is marked synced only when the host acknowledges that
//! record's key, so a lost acknowledgement means a re-send, which the host recognises by the
//! key: nothing is lost and nothing is counted twice. Failed rounds are retried with
//! exponential backoff and jitter; an interrupted run simply resumes with what is still
//! unsynced.
//!
//! An acknowledgement is not taken on trust: each one must carry a receipt signed with the
//! acquirer's Ed25519 key (`--receipt-key`) over the terminal id, the idempotency key and
//! the SHA-256 of the record exactly as sent. Only a record whose receipt verifies is
//! marked synced, and the receipt is stored with it (under its state MAC) as proof.

use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use ring::rand::{SecureRandom, SystemRandom};
use serde_json::{json, Value};

use crate::export::record_json;
use crate::{Journal, JournalError};

/// The path batches are posted to when [`SyncConfig::url`] is a bare base URL (the
/// reference acquirer's; the protocol is described in `docs/journal.md`).
pub const BATCH_PATH: &str = "/v1/batches";

/// First line of every signed receipt (the reference acquirer has the same constant,
/// `emv_acquirer::RECEIPT_LABEL`).
pub const RECEIPT_LABEL: &str = "emv-acquirer receipt v1";

/// How to reach the acquirer and how hard to try.
#[derive(Debug, Clone)]
pub struct SyncConfig {
    /// Acquirer base URL (`https://host:port`), or the full batch URL when it has a path.
    pub url: String,
    /// Extra trust root (PEM) replacing the built-in web roots, e.g. the reference acquirer's CA.
    pub ca: Option<PathBuf>,
    /// The acquirer's receipt verification key: a file holding the Ed25519 public key in
    /// hex. When absent, `NAME.receipt.pub` next to a `--ca` file named `NAME.ca.pem` (as
    /// the reference acquirer publishes them); without either, sync refuses to run.
    pub receipt_key: Option<PathBuf>,
    /// Mutual TLS: this terminal's client certificate chain (PEM), issued by the acquirer.
    pub client_cert: Option<PathBuf>,
    /// The private key of [`SyncConfig::client_cert`] (PEM); refused unless private to its
    /// owner.
    pub client_key: Option<PathBuf>,
    /// Allow `http://` (debugging only).
    pub insecure_http: bool,
    /// Records per request.
    pub batch_size: usize,
    /// Consecutive rounds without progress before giving up.
    pub max_attempts: u32,
    /// First backoff delay.
    pub base_backoff: Duration,
    /// Largest backoff delay.
    pub max_backoff: Duration,
    /// Timeout of one request, connection to last byte.
    pub request_timeout: Duration,
}

impl SyncConfig {
    /// Defaults for `url`: batches of 100, 8 attempts, backoff 250 ms doubling up to 30 s.
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            ca: None,
            receipt_key: None,
            client_cert: None,
            client_key: None,
            insecure_http: false,
            batch_size: 100,
            max_attempts: 8,
            base_backoff: Duration::from_millis(250),
            max_backoff: Duration::from_secs(30),
            request_timeout: Duration::from_secs(30),
        }
    }
}

/// What a sync run did.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct SyncReport {
    /// Records acknowledged with a valid receipt (and marked synced) in this run.
    pub acknowledged: u64,
    /// Acknowledgements refused because their receipt did not verify (records left unsynced).
    pub bad_receipts: u64,
    /// Of those, records the host already had (a re-send after a lost acknowledgement).
    pub duplicates: u64,
    /// Requests sent.
    pub requests: u64,
    /// Requests that failed or made no progress and were retried.
    pub retries: u64,
    /// Approved records still unsynced at the end.
    pub remaining: u64,
}

/// Errors of a sync run.
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    /// The journal failed.
    #[error(transparent)]
    Journal(#[from] JournalError),
    /// The configuration is unusable.
    #[error("sync configuration: {0}")]
    Config(String),
    /// The acquirer refused the batch for what it is (409: an idempotency key it holds with
    /// another record body or terminal; 403: a batch for another terminal than the client
    /// certificate's). Retrying cannot help; nothing of the batch was marked synced.
    #[error("acquirer refused the batch ({reason}); nothing of it was marked synced, {remaining} record(s) still unsynced")]
    Refused {
        /// The acquirer's answer.
        reason: String,
        /// Records still unsynced.
        remaining: u64,
    },
    /// The acquirer could not be reached or kept failing; what was acknowledged is kept.
    #[error("acquirer unreachable or failing after {attempts} attempts (last error: {last}); {remaining} record(s) still unsynced")]
    GaveUp {
        /// Attempts made in a row.
        attempts: u32,
        /// The last failure.
        last: String,
        /// Records still unsynced.
        remaining: u64,
    },
}

/// One acknowledgement as the acquirer sent it.
#[derive(Debug, Clone, PartialEq)]
pub struct Ack {
    /// The record's idempotency key.
    pub idempotency_key: String,
    /// The host already held it (a re-send).
    pub duplicate: bool,
    /// The receipt object, if the host sent one.
    pub receipt: Option<Value>,
}

/// An acquirer's receipt whose signature verified for one record: the only proof
/// [`crate::Journal::mark_synced`] accepts that the acquirer holds the record. It can be
/// made only by [`ReceiptKey::verify`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedReceipt {
    idempotency_key: String,
    receipt: String,
}

impl VerifiedReceipt {
    /// The idempotency key of the record the receipt is for.
    pub fn idempotency_key(&self) -> &str {
        &self.idempotency_key
    }

    /// The receipt as the acquirer sent it (JSON text), kept in the journal for disputes.
    pub fn receipt(&self) -> &str {
        &self.receipt
    }
}

/// The acquirer's receipt verification key.
#[derive(Debug, Clone)]
pub struct ReceiptKey {
    public_key: Vec<u8>,
}

impl ReceiptKey {
    /// Reads a key file: the 32-byte Ed25519 public key as hex (the reference acquirer's
    /// `DB.receipt.pub`).
    pub fn load(path: &std::path::Path) -> Result<Self, SyncError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| SyncError::Config(format!("receipt key {}: {e}", path.display())))?;
        let public_key = hex::decode(text.trim())
            .ok()
            .filter(|k| k.len() == 32)
            .ok_or_else(|| {
                SyncError::Config(format!(
                    "receipt key {}: expected an Ed25519 public key as 64 hex digits",
                    path.display()
                ))
            })?;
        Ok(Self { public_key })
    }

    /// The key from its 32 bytes (an Ed25519 public key).
    pub fn from_public_key(public_key: &[u8]) -> Option<Self> {
        (public_key.len() == 32).then(|| Self {
            public_key: public_key.to_vec(),
        })
    }

    /// The key named by the configuration, or published next to its CA file.
    pub fn for_config(config: &SyncConfig) -> Result<Self, SyncError> {
        if let Some(path) = &config.receipt_key {
            return Self::load(path);
        }
        let beside_ca = config.ca.as_ref().and_then(|ca| {
            let name = ca.to_str()?.strip_suffix(".ca.pem")?;
            Some(PathBuf::from(format!("{name}.receipt.pub")))
        });
        match beside_ca {
            Some(path) if path.exists() => Self::load(&path),
            _ => Err(SyncError::Config(
                "no receipt key: pass --receipt-key FILE (the acquirer's Ed25519 public key); \
                 records are marked synced only with a verified receipt"
                    .into(),
            )),
        }
    }

    /// Checks a receipt for the record with `key`, sent as JSON text with SHA-256
    /// `record_sha256` (hex) by `terminal_id`; a receipt that verifies is returned as the
    /// proof [`crate::Journal::mark_synced`] needs.
    pub fn verify(
        &self,
        receipt: &Value,
        terminal_id: &str,
        key: &str,
        record_sha256: &str,
    ) -> Result<VerifiedReceipt, &'static str> {
        let field = |name: &str| receipt.get(name).and_then(Value::as_str);
        if field("alg") != Some("ed25519") {
            return Err("unknown receipt algorithm");
        }
        if field("terminal_id") != Some(terminal_id) {
            return Err("receipt names another terminal");
        }
        if field("record_sha256") != Some(record_sha256) {
            return Err("receipt is for another record body");
        }
        let stored_at = receipt
            .get("stored_at")
            .and_then(Value::as_i64)
            .ok_or("receipt without stored_at")?;
        let signature = field("signature")
            .and_then(|s| hex::decode(s).ok())
            .ok_or("receipt without signature")?;
        let message = receipt_message(terminal_id, key, record_sha256, stored_at);
        ring::signature::UnparsedPublicKey::new(&ring::signature::ED25519, &self.public_key)
            .verify(&message, &signature)
            .map_err(|_| "receipt signature does not verify")?;
        Ok(VerifiedReceipt {
            idempotency_key: key.to_owned(),
            receipt: receipt.to_string(),
        })
    }
}

/// The bytes a receipt signs (`docs/journal.md`, "Upload protocol").
pub fn receipt_message(
    terminal_id: &str,
    key: &str,
    record_sha256: &str,
    stored_at: i64,
) -> Vec<u8> {
    format!(
        "{RECEIPT_LABEL}\n{}:{terminal_id}\n{}:{key}\n{record_sha256}\n{stored_at}",
        terminal_id.len(),
        key.len()
    )
    .into_bytes()
}

/// An HTTPS client for the acquirer.
pub struct Uploader {
    agent: ureq::Agent,
    url: String,
    rng: SystemRandom,
}

impl Uploader {
    /// Builds the client: TLS with the given trust root (or the web roots), `http://` only
    /// when explicitly allowed.
    pub fn new(config: &SyncConfig) -> Result<Self, SyncError> {
        let url = batch_url(&config.url);
        let is_http = url.starts_with("http://");
        if !is_http && !url.starts_with("https://") {
            return Err(SyncError::Config(format!(
                "URL must start with https:// ({url})"
            )));
        }
        if is_http && !config.insecure_http {
            return Err(SyncError::Config(
                "refusing plain http:// without --insecure-http (card data would travel in clear)"
                    .into(),
            ));
        }
        let mut tls = ureq::tls::TlsConfig::builder().provider(ureq::tls::TlsProvider::Rustls);
        if let Some(ca) = &config.ca {
            let pem = std::fs::read(ca)
                .map_err(|e| SyncError::Config(format!("{}: {e}", ca.display())))?;
            let certs: Vec<ureq::tls::Certificate<'static>> = ureq::tls::parse_pem(&pem)
                .filter_map(|item| match item {
                    Ok(ureq::tls::PemItem::Certificate(c)) => Some(Ok(c)),
                    Ok(_) => None,
                    Err(e) => Some(Err(e)),
                })
                .collect::<Result<_, _>>()
                .map_err(|e| SyncError::Config(format!("{}: {e}", ca.display())))?;
            if certs.is_empty() {
                return Err(SyncError::Config(format!(
                    "{}: no certificate found",
                    ca.display()
                )));
            }
            tls = tls.root_certs(ureq::tls::RootCerts::new_with_certs(&certs));
        }
        match (&config.client_cert, &config.client_key) {
            (Some(cert), Some(key)) => tls = tls.client_cert(Some(client_cert(cert, key)?)),
            (None, None) => {}
            _ => {
                return Err(SyncError::Config(
                    "a client certificate and its key go together (--cert and --key)".into(),
                ))
            }
        }
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .tls_config(tls.build())
            .https_only(!config.insecure_http)
            .http_status_as_error(false)
            .timeout_global(Some(config.request_timeout))
            .build()
            .into();
        Ok(Self {
            agent,
            url,
            rng: SystemRandom::new(),
        })
    }

    /// Posts one batch; returns the acknowledgements.
    pub fn post_batch(&self, body: &Value) -> Result<Vec<Ack>, String> {
        let text = body.to_string();
        let mut response = self
            .agent
            .post(&self.url)
            .header("Content-Type", "application/json")
            .send(text.as_bytes())
            .map_err(|e| e.to_string())?;
        let status = response.status().as_u16();
        let reply = response
            .body_mut()
            .read_to_string()
            .map_err(|e| e.to_string())?;
        if status != 200 {
            return Err(format!(
                "HTTP {status}: {}",
                reply.chars().take(200).collect::<String>()
            ));
        }
        let reply: Value =
            serde_json::from_str(&reply).map_err(|e| format!("invalid reply: {e}"))?;
        let acks = reply
            .get("acks")
            .and_then(Value::as_array)
            .ok_or_else(|| "reply without acks".to_string())?;
        Ok(acks
            .iter()
            .filter_map(|ack| {
                let key = ack.get("idempotency_key")?.as_str()?.to_string();
                let duplicate = match ack.get("status")?.as_str()? {
                    "stored" => false,
                    "duplicate" => true,
                    _ => return None,
                };
                Some(Ack {
                    idempotency_key: key,
                    duplicate,
                    receipt: ack.get("receipt").cloned(),
                })
            })
            .collect())
    }

    /// Exponential backoff with "equal jitter": a random delay in [d/2, d] where
    /// d = min(max, base * 2^failures).
    pub fn backoff(&self, config: &SyncConfig, failures: u32) -> Duration {
        let exp = config
            .base_backoff
            .saturating_mul(1u32.checked_shl(failures.min(20)).unwrap_or(u32::MAX));
        let capped = exp.min(config.max_backoff);
        let mut random = [0u8; 4];
        let fraction = match self.rng.fill(&mut random) {
            Ok(()) => f64::from(u32::from_be_bytes(random)) / f64::from(u32::MAX),
            Err(_) => 1.0,
        };
        capped / 2 + capped.mul_f64(fraction / 2.0)
    }
}

/// Loads a client certificate chain and its key (the key file private to its owner).
fn client_cert(
    cert: &std::path::Path,
    key: &std::path::Path,
) -> Result<ureq::tls::ClientCert, SyncError> {
    let config = |path: &std::path::Path, e: &dyn std::fmt::Display| {
        SyncError::Config(format!("{}: {e}", path.display()))
    };
    let meta = std::fs::metadata(key).map_err(|e| config(key, &e))?;
    if let Some(mode) = crate::private::shared_mode(&meta) {
        return Err(config(
            key,
            &format!("client key has mode {mode:03o}: it must be private to its owner (chmod 600)"),
        ));
    }
    let pem = std::fs::read(cert).map_err(|e| config(cert, &e))?;
    let chain: Vec<ureq::tls::Certificate<'static>> = ureq::tls::parse_pem(&pem)
        .filter_map(|item| match item {
            Ok(ureq::tls::PemItem::Certificate(c)) => Some(Ok(c)),
            Ok(_) => None,
            Err(e) => Some(Err(e)),
        })
        .collect::<Result<_, _>>()
        .map_err(|e| config(cert, &e))?;
    if chain.is_empty() {
        return Err(config(cert, &"no certificate found"));
    }
    let key_pem = std::fs::read(key).map_err(|e| config(key, &e))?;
    let private = ureq::tls::PrivateKey::from_pem(&key_pem).map_err(|e| config(key, &e))?;
    Ok(ureq::tls::ClientCert::new_with_certs(&chain, private))
}

/// The URL batches go to: `url` itself when it has a path, else `url` + `/v1/batches`.
fn batch_url(url: &str) -> String {
    let trimmed = url.trim_end_matches('/');
    let after_scheme = trimmed.split_once("://").map_or(trimmed, |(_, rest)| rest);
    if after_scheme.contains('/') {
        trimmed.to_string()
    } else {
        format!("{trimmed}{BATCH_PATH}")
    }
}

/// One record as the acquirer receives it: the journal fields plus the clearing data
/// (PAN and expiry date, opened from the sealed fields; track 2 is never sent).
pub fn clearing_record(journal: &Journal, record: &crate::Record) -> Result<Value, JournalError> {
    let sensitive = journal.sensitive(record)?;
    let mut value = record_json(record);
    if let Some(object) = value.as_object_mut() {
        object.insert("pan".into(), json!(sensitive.pan_digits()));
        object.insert(
            "expiry_date".into(),
            json!(hex::encode(sensitive.expiry_date)),
        );
        object.remove("sync_state");
        object.remove("synced_at");
        object.remove("receipt");
        // Whether the merchant saw it is the terminal's business, and changes after the
        // first send (reconciliation): a re-send must be the same record to the acquirer.
        object.remove("shown");
        object.remove("shown_at"); // ICS row 96: a decline the card asked an advice for.
        object.insert("advice".into(), json!(record.is_advice()));
        // ICS row 97: accepted by the attendant although the card declined.
        object.insert(
            "forced_acceptance".into(),
            json!(record.is_forced_acceptance()),
        );
    }
    Ok(value)
}

/// Uploads every unsynced approved record and advice ([`crate::Record::is_advice`]);
/// `progress(acknowledged, total)` after each batch.
///
/// Returns when nothing is left, or with [`SyncError::GaveUp`] after `max_attempts`
/// consecutive rounds without progress (what was acknowledged stays marked synced).
pub fn sync_once(
    journal: &mut Journal,
    config: &SyncConfig,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<SyncReport, SyncError> {
    if config.batch_size == 0 {
        return Err(SyncError::Config("batch size must be at least 1".into()));
    }
    // Nothing leaves a journal whose chain does not verify: an altered amount, a forged
    // state or a deleted record stops the run before the first request.
    journal.refuse_broken_chain()?;
    let uploader = Uploader::new(config)?;
    let receipt_key = ReceiptKey::for_config(config)?;
    let mut report = SyncReport::default();
    let total = journal.unsynced_count()?;
    let mut failures = 0u32;
    loop {
        let batch = journal.unsynced(config.batch_size)?;
        if batch.is_empty() {
            break;
        }
        let mut records = Vec::with_capacity(batch.len());
        let mut digests = std::collections::HashMap::with_capacity(batch.len());
        for record in &batch {
            // Records appended since the walk above are checked one by one.
            journal.verify_record(record)?;
            let value = clearing_record(journal, record)?;
            let digest = ring::digest::digest(&ring::digest::SHA256, value.to_string().as_bytes());
            digests.insert(record.idempotency_key.clone(), hex::encode(digest));
            records.push(value);
        }
        let body = json!({"terminal_id": journal.terminal_id(), "records": records});
        report.requests += 1;
        let outcome = uploader.post_batch(&body);
        let last_error = match outcome {
            Ok(acks) => {
                let mut proven: Vec<VerifiedReceipt> = Vec::new();
                let mut refused = 0u64;
                let mut duplicates = 0u64;
                for ack in &acks {
                    let Some(digest) = digests.get(&ack.idempotency_key) else {
                        continue;
                    };
                    let verdict = match &ack.receipt {
                        Some(receipt) => receipt_key.verify(
                            receipt,
                            journal.terminal_id(),
                            &ack.idempotency_key,
                            digest,
                        ),
                        None => Err("acknowledgement without a receipt"),
                    };
                    match verdict {
                        Ok(receipt) => {
                            duplicates += u64::from(ack.duplicate);
                            proven.push(receipt);
                        }
                        Err(_) => refused += 1,
                    }
                }
                report.bad_receipts += refused;
                report.duplicates += duplicates;
                let changed = journal.mark_synced(&proven, SystemTime::now())? as u64;
                report.acknowledged += changed;
                progress(report.acknowledged, total);
                if changed > 0 {
                    failures = 0;
                    continue;
                }
                if refused > 0 {
                    format!("host acknowledged {refused} record(s) without a valid receipt")
                } else {
                    "host acknowledged none of the batch".to_string()
                }
            }
            Err(e) if e.starts_with("HTTP 409") || e.starts_with("HTTP 403") => {
                return Err(SyncError::Refused {
                    reason: e,
                    remaining: journal.unsynced_count()?,
                })
            }
            Err(e) => e,
        };
        failures += 1;
        if failures >= config.max_attempts {
            return Err(SyncError::GaveUp {
                attempts: failures,
                last: last_error,
                remaining: journal.unsynced_count()?,
            });
        }
        report.retries += 1;
        std::thread::sleep(uploader.backoff(config, failures - 1));
    }
    report.remaining = journal.unsynced_count()?;
    if report.remaining == 0 {
        journal.note_successful_sync(SystemTime::now())?;
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batch_url_appends_the_path_only_to_a_bare_base() {
        assert_eq!(
            batch_url("https://127.0.0.1:8443"),
            "https://127.0.0.1:8443/v1/batches"
        );
        assert_eq!(
            batch_url("https://127.0.0.1:8443/"),
            "https://127.0.0.1:8443/v1/batches"
        );
        assert_eq!(
            batch_url("https://acq.example/clearing"),
            "https://acq.example/clearing"
        );
    }

    #[test]
    fn plain_http_needs_an_explicit_flag() {
        let config = SyncConfig::new("http://127.0.0.1:1");
        assert!(matches!(Uploader::new(&config), Err(SyncError::Config(_))));
        let config = SyncConfig {
            insecure_http: true,
            ..SyncConfig::new("http://127.0.0.1:1")
        };
        assert!(Uploader::new(&config).is_ok());
    }

    #[test]
    fn backoff_grows_exponentially_within_its_jitter_band_and_is_capped() {
        let config = SyncConfig {
            base_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_secs(1),
            ..SyncConfig::new("https://127.0.0.1:1")
        };
        let uploader = Uploader::new(&config).unwrap();
        for failures in 0..8u32 {
            let d = uploader.backoff(&config, failures);
            let full = Duration::from_millis(100 * (1 << failures)).min(Duration::from_secs(1));
            assert!(
                d >= full / 2 && d <= full,
                "{failures}: {d:?} not in [{:?}, {full:?}]",
                full / 2
            );
        }
    }
}
