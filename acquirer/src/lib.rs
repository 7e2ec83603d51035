//! A reference acquirer endpoint for tests and demos (the `emv-acquirer serve` command).
//!
//! It accepts clearing batches over HTTPS (`POST /v1/batches`, JSON), stores each record
//! once by its idempotency key in a SQLite file (durably, before acknowledging), answers
//! with one acknowledgement per record, and can inject faults to prove the terminal's sync
//! loses and duplicates nothing: dropped connections, HTTP 500, delays, lost
//! acknowledgements (stored but never answered) and partial acknowledgements.
//!
//! Protocol (also in `docs/journal.md`):
//! request `{"terminal_id": "...", "records": [{"idempotency_key": "...", ...}, ...]}`,
//! response `{"acks": [{"idempotency_key": "...", "status": "stored" | "duplicate",
//! "receipt": {...}}], "rejected": [{"index": N, "reason": "..."}]}`. Every acknowledgement
//! carries a receipt signed with the acquirer's Ed25519 key ([`receipt_message`]), whose
//! public half is published next to the database (`DB.receipt.pub`).

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use ring::signature::{Ed25519KeyPair, KeyPair};
use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use serde_json::{json, Value};

/// The path batches are posted to (the terminal's sync client has the same constant,
/// `emv_journal::sync::BATCH_PATH`: the protocol is in `docs/journal.md`, not in a shared
/// crate).
pub const BATCH_PATH: &str = "/v1/batches";
/// Largest request body accepted: a full batch of [`MAX_RECORDS_PER_BATCH`] records of
/// about 1 KiB each, with room to spare. Refused from its Content-Length, before reading.
pub const MAX_BODY: usize = 2 * 1024 * 1024;
/// Most records in one batch; counted while the body is parsed, so a batch of many tiny
/// objects is refused before it is built in memory.
pub const MAX_RECORDS_PER_BATCH: usize = 1000;
/// Most requests parsed and stored at once (each holds at most [`MAX_BODY`] and its parse).
const MAX_PARSING: usize = 4;
/// Time allowed for one request, from the first wait for it to its last body byte: a
/// client sending a byte now and then cannot hold a connection slot longer than this.
pub const REQUEST_DEADLINE: Duration = Duration::from_secs(10);
/// Largest request head accepted.
const MAX_HEAD: usize = 64 * 1024;
/// Most connections served at once; more are closed at once.
const MAX_CONNECTIONS: usize = 64;
/// First line of every signed receipt (the terminal's sync client has the same constant).
pub const RECEIPT_LABEL: &str = "emv-acquirer receipt v1";
/// Idle time after which a connection is closed.
const IDLE_TIMEOUT: Duration = Duration::from_secs(30);

/// Errors of the reference acquirer.
#[derive(Debug, thiserror::Error)]
pub enum AcquirerError {
    /// Database error.
    #[error("acquirer database: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// File or socket error.
    #[error("{context}: {source}")]
    Io {
        /// What was being done.
        context: String,
        /// The error.
        source: std::io::Error,
    },
    /// TLS configuration error.
    #[error("TLS: {0}")]
    Tls(String),
}

fn io_err(context: impl Into<String>) -> impl FnOnce(std::io::Error) -> AcquirerError {
    let context = context.into();
    move |source| AcquirerError::Io { context, source }
}

/// Fault injection: each probability is per request, drawn from a seeded generator.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Faults {
    /// Close the connection after reading the request, storing nothing.
    pub drop_connection: f64,
    /// Answer HTTP 500, storing nothing.
    pub error_500: f64,
    /// Wait `delay` before handling the request.
    pub delay_rate: f64,
    /// How long a delayed request waits.
    pub delay: Duration,
    /// Store the batch, then close the connection without answering (a lost acknowledgement).
    pub lose_ack: f64,
    /// Store the batch, then acknowledge only a random half of its records.
    pub partial_ack: f64,
    /// Store the batch, then acknowledge it with receipts signed by the wrong key (a host
    /// that says "stored" without proof).
    pub bad_receipt: f64,
    /// Seed of the fault generator.
    pub seed: u64,
}

/// How to run the reference acquirer.
#[derive(Debug, Clone)]
pub struct ServeConfig {
    /// Address to listen on (port 0 picks a free port).
    pub listen: SocketAddr,
    /// SQLite file for received records.
    pub db: PathBuf,
    /// Server certificate chain (PEM); generated with a fresh CA when absent.
    pub cert: Option<PathBuf>,
    /// Server private key (PEM).
    pub key: Option<PathBuf>,
    /// Where to write the generated CA certificate (default: the db path + `.ca.pem`).
    pub ca_out: Option<PathBuf>,
    /// Serve plain HTTP (debugging only).
    pub insecure_http: bool,
    /// Faults to inject.
    pub faults: Faults,
    /// Mutual TLS: accept only clients presenting a certificate issued by [`enroll`], and
    /// bind every batch to the terminal id it was issued for.
    pub require_client_cert: bool,
}

/// Where the acquirer ended up listening.
#[derive(Debug, Clone)]
pub struct ServeInfo {
    /// Base URL, e.g. `https://127.0.0.1:40123`.
    pub url: String,
    /// The CA certificate a client must trust, when one was generated.
    pub ca_cert: Option<PathBuf>,
    /// The receipt verification key (Ed25519 public key, hex) for `sync --receipt-key`.
    pub receipt_key: PathBuf,
}

/// What the acquirer holds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct AcquirerStats {
    /// Distinct records stored.
    pub records: u64,
    /// Deliveries received, re-sends included.
    pub deliveries: u64,
    /// Re-sends recognised by their key and not stored again.
    pub duplicates_refused: u64,
}

/// Opens (creating) the acquirer database.
///
/// The file is created with mode 0600: it holds clearing data including PANs.
pub fn open_store(path: &Path) -> Result<Connection, AcquirerError> {
    use std::os::unix::fs::OpenOptionsExt;
    match std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
    {
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
        Err(e) => return Err(io_err(format!("creating {}", path.display()))(e)),
    }
    let conn = Connection::open(path)?;
    conn.busy_timeout(Duration::from_secs(30))?;
    conn.query_row("PRAGMA journal_mode=WAL", [], |r| r.get::<_, String>(0))?;
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.execute_batch(
        "CREATE TABLE IF NOT EXISTS received (
            idempotency_key TEXT PRIMARY KEY,
            terminal_id TEXT NOT NULL,
            record_id INTEGER,
            received_at INTEGER NOT NULL,
            deliveries INTEGER NOT NULL DEFAULT 1,
            body TEXT NOT NULL
        );
        CREATE TABLE IF NOT EXISTS terminals (
            cert_sha256 TEXT PRIMARY KEY,
            terminal_id TEXT NOT NULL,
            enrolled_at INTEGER NOT NULL
        );",
    )?;
    // Since receipts: the SHA-256 of each record as received (its body is kept with the
    // PAN masked), to tell a re-send from a different record under the same key.
    let has_digest: bool = conn
        .prepare("SELECT 1 FROM pragma_table_info('received') WHERE name = 'body_sha256'")?
        .exists([])?;
    if !has_digest {
        conn.execute_batch("ALTER TABLE received ADD COLUMN body_sha256 TEXT")?;
    }
    Ok(conn)
}

/// Counts what an acquirer database holds.
pub fn stats(path: &Path) -> Result<AcquirerStats, AcquirerError> {
    let conn = open_store(path)?;
    let (records, deliveries): (i64, i64) = conn.query_row(
        "SELECT COUNT(*), COALESCE(SUM(deliveries), 0) FROM received",
        [],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    let records = records.max(0) as u64;
    let deliveries = deliveries.max(0) as u64;
    Ok(AcquirerStats {
        records,
        deliveries,
        duplicates_refused: deliveries.saturating_sub(records),
    })
}

/// Idempotency keys stored, with how often each was delivered.
pub fn received_keys(path: &Path) -> Result<Vec<(String, u64)>, AcquirerError> {
    let conn = open_store(path)?;
    let mut stmt =
        conn.prepare("SELECT idempotency_key, deliveries FROM received ORDER BY idempotency_key")?;
    let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))?;
    let mut out = Vec::new();
    for row in rows {
        let (key, n) = row?;
        out.push((key, n.max(0) as u64));
    }
    Ok(out)
}

/// A small seeded generator for fault decisions (xorshift64*; not for cryptography).
struct FaultRng(u64);

impl FaultRng {
    fn next_f64(&mut self) -> f64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        (x.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 11) as f64 / (1u64 << 53) as f64
    }

    fn chance(&mut self, p: f64) -> bool {
        p > 0.0 && self.next_f64() < p
    }
}

struct Shared {
    store: Mutex<Connection>,
    faults: Faults,
    rng: Mutex<FaultRng>,
    tls: Option<Arc<rustls::ServerConfig>>,
    require_client_cert: bool,
    connections: AtomicUsize,
    parsing: (Mutex<usize>, std::sync::Condvar),
    receipt_key: Ed25519KeyPair,
}

fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

fn rcgen_error(e: rcgen::Error) -> AcquirerError {
    AcquirerError::Tls(e.to_string())
}

/// The acquirer's test CA: its key is kept in `DB.ca.key` (PEM, mode 0600, created on
/// first use) so that terminal certificates issued by [`enroll`] stay valid across
/// restarts. Returns the issuer and a (re-signed) CA certificate.
fn test_ca(
    db: &Path,
) -> Result<(rcgen::Issuer<'static, rcgen::KeyPair>, rcgen::Certificate), AcquirerError> {
    use rcgen::{
        BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, KeyUsagePurpose,
    };
    use std::os::unix::fs::OpenOptionsExt;
    let key_path = sibling(db, ".ca.key");
    let ca_key = match std::fs::read_to_string(&key_path) {
        Ok(pem) => KeyPair::from_pem(&pem).map_err(rcgen_error)?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let key = KeyPair::generate().map_err(rcgen_error)?;
            let mut file = std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(&key_path)
                .map_err(io_err(format!("creating {}", key_path.display())))?;
            file.write_all(key.serialize_pem().as_bytes())
                .and_then(|()| file.sync_all())
                .map_err(io_err(format!("writing {}", key_path.display())))?;
            key
        }
        Err(e) => return Err(io_err(format!("reading {}", key_path.display()))(e)),
    };
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).map_err(rcgen_error)?;
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params.distinguished_name.push(
        DnType::CommonName,
        "emv-terminal reference acquirer test CA",
    );
    ca_params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let ca_cert = ca_params.self_signed(&ca_key).map_err(rcgen_error)?;
    Ok((Issuer::new(ca_params, ca_key), ca_cert))
}

/// Issues a client certificate for `terminal_id` from the acquirer's test CA (mutual
/// TLS) and registers it in the database: returns the certificate and key (PEM). A batch
/// sent over a connection authenticated with it may only name that terminal.
pub fn enroll(db: &Path, terminal_id: &str) -> Result<(String, String), AcquirerError> {
    use rcgen::{CertificateParams, DnType, ExtendedKeyUsagePurpose, KeyPair};
    if terminal_id.is_empty() || !terminal_id.chars().all(|c| c.is_ascii_alphanumeric()) {
        return Err(AcquirerError::Tls(
            "terminal id must be ASCII letters and digits".into(),
        ));
    }
    let store = open_store(db)?;
    let (issuer, _) = test_ca(db)?;
    let key = KeyPair::generate().map_err(rcgen_error)?;
    let mut params = CertificateParams::new(Vec::<String>::new()).map_err(rcgen_error)?;
    params
        .distinguished_name
        .push(DnType::CommonName, terminal_id);
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
    let cert = params.signed_by(&key, &issuer).map_err(rcgen_error)?;
    let digest = hex::encode(ring::digest::digest(&ring::digest::SHA256, cert.der()));
    store.execute(
        "INSERT INTO terminals (cert_sha256, terminal_id, enrolled_at) VALUES (?1, ?2, ?3)",
        params![digest, terminal_id, unix_now()],
    )?;
    Ok((cert.pem(), key.serialize_pem()))
}

/// The terminal id a client certificate was enrolled for.
fn enrolled_terminal(shared: &Shared, cert: &[u8]) -> Option<String> {
    let digest = hex::encode(ring::digest::digest(&ring::digest::SHA256, cert));
    let store = shared.store.lock().unwrap_or_else(|p| p.into_inner());
    store
        .query_row(
            "SELECT terminal_id FROM terminals WHERE cert_sha256 = ?1",
            [digest],
            |r| r.get(0),
        )
        .optional()
        .ok()
        .flatten()
}

/// Generates a server certificate for `localhost` and `127.0.0.1` from the test CA;
/// returns the CA PEM, the server chain and key.
fn generate_certificates(
    db: &Path,
) -> Result<(String, Vec<CertificateDer<'static>>, PrivateKeyDer<'static>), AcquirerError> {
    use rcgen::{CertificateParams, DnType, KeyPair};
    let tls = rcgen_error;
    let (issuer, ca_cert) = test_ca(db)?;
    let server_key = KeyPair::generate().map_err(tls)?;
    let mut params = CertificateParams::new(vec!["localhost".to_string(), "127.0.0.1".to_string()])
        .map_err(tls)?;
    params
        .distinguished_name
        .push(DnType::CommonName, "emv-terminal reference acquirer");
    let server_cert = params.signed_by(&server_key, &issuer).map_err(tls)?;
    let key = PrivateKeyDer::try_from(server_key.serialize_der())
        .map_err(|e| AcquirerError::Tls(e.to_string()))?;
    Ok((
        ca_cert.pem(),
        vec![server_cert.der().clone(), ca_cert.der().clone()],
        key,
    ))
}

fn tls_config(
    config: &ServeConfig,
) -> Result<(Option<Arc<rustls::ServerConfig>>, Option<PathBuf>), AcquirerError> {
    if config.insecure_http {
        return Ok((None, None));
    }
    let (chain, key, ca_path) = match (&config.cert, &config.key) {
        (Some(cert), Some(key)) => {
            let chain = CertificateDer::pem_file_iter(cert)
                .and_then(|it| it.collect::<Result<Vec<_>, _>>())
                .map_err(|e| AcquirerError::Tls(format!("{}: {e}", cert.display())))?;
            let key = PrivateKeyDer::from_pem_file(key)
                .map_err(|e| AcquirerError::Tls(format!("{}: {e}", key.display())))?;
            (chain, key, None)
        }
        (None, None) => {
            let (ca_pem, chain, key) = generate_certificates(&config.db)?;
            let ca_path = config.ca_out.clone().unwrap_or_else(|| {
                let mut p = config.db.as_os_str().to_owned();
                p.push(".ca.pem");
                PathBuf::from(p)
            });
            std::fs::write(&ca_path, ca_pem)
                .map_err(io_err(format!("writing {}", ca_path.display())))?;
            (chain, key, Some(ca_path))
        }
        _ => return Err(AcquirerError::Tls("--cert and --key go together".into())),
    };
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ServerConfig::builder_with_provider(Arc::clone(&provider))
        .with_safe_default_protocol_versions()
        .map_err(|e| AcquirerError::Tls(e.to_string()))?;
    let builder = if config.require_client_cert {
        let (_, ca_cert) = test_ca(&config.db)?;
        let mut roots = rustls::RootCertStore::empty();
        roots
            .add(ca_cert.der().clone())
            .map_err(|e| AcquirerError::Tls(e.to_string()))?;
        let verifier =
            rustls::server::WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider)
                .build()
                .map_err(|e| AcquirerError::Tls(e.to_string()))?;
        builder.with_client_cert_verifier(verifier)
    } else {
        builder.with_no_client_auth()
    };
    let server = builder
        .with_single_cert(chain, key)
        .map_err(|e| AcquirerError::Tls(e.to_string()))?;
    Ok((Some(Arc::new(server)), ca_path))
}

/// Runs the acquirer until the process is stopped; calls `ready` once it listens.
pub fn serve(config: &ServeConfig, ready: impl FnOnce(&ServeInfo)) -> Result<(), AcquirerError> {
    let store = open_store(&config.db)?;
    let (receipt_key, receipt_pub) = load_receipt_key(&config.db)?;
    let (tls, ca_cert) = tls_config(config)?;
    let listener =
        TcpListener::bind(config.listen).map_err(io_err(format!("binding {}", config.listen)))?;
    let local = listener.local_addr().map_err(io_err("local address"))?;
    let scheme = if tls.is_some() { "https" } else { "http" };
    ready(&ServeInfo {
        url: format!("{scheme}://{local}"),
        ca_cert,
        receipt_key: receipt_pub,
    });
    let shared = Arc::new(Shared {
        store: Mutex::new(store),
        faults: config.faults,
        rng: Mutex::new(FaultRng(config.faults.seed | 1)),
        tls,
        require_client_cert: config.require_client_cert,
        connections: AtomicUsize::new(0),
        parsing: (Mutex::new(0), std::sync::Condvar::new()),
        receipt_key,
    });
    for stream in listener.incoming() {
        let Ok(stream) = stream else { continue };
        if shared.connections.fetch_add(1, Ordering::SeqCst) >= MAX_CONNECTIONS {
            shared.connections.fetch_sub(1, Ordering::SeqCst);
            continue;
        }
        let shared = Arc::clone(&shared);
        std::thread::spawn(move || {
            let _ = handle_connection(&shared, stream);
            shared.connections.fetch_sub(1, Ordering::SeqCst);
        });
    }
    Ok(())
}

/// A socket whose reads stop at a deadline (set per request), not only after an idle time.
struct DeadlineStream {
    inner: TcpStream,
    deadline: std::time::Instant,
}

impl Read for DeadlineStream {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let left = self
            .deadline
            .saturating_duration_since(std::time::Instant::now());
        if left.is_zero() {
            return Err(std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                "request deadline passed",
            ));
        }
        self.inner.set_read_timeout(Some(left.min(IDLE_TIMEOUT)))?;
        self.inner.read(buf)
    }
}

impl Write for DeadlineStream {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.inner.write(buf)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// Restarts the deadline of the request about to be read.
trait RequestDeadline {
    fn start_request(&mut self);
}

impl RequestDeadline for DeadlineStream {
    fn start_request(&mut self) {
        self.deadline = std::time::Instant::now() + REQUEST_DEADLINE;
    }
}

impl RequestDeadline for rustls::StreamOwned<rustls::ServerConnection, DeadlineStream> {
    fn start_request(&mut self) {
        self.sock.start_request();
    }
}

fn handle_connection(shared: &Shared, stream: TcpStream) -> std::io::Result<()> {
    stream.set_read_timeout(Some(IDLE_TIMEOUT))?;
    stream.set_write_timeout(Some(IDLE_TIMEOUT))?;
    stream.set_nodelay(true)?;
    let stream = DeadlineStream {
        inner: stream,
        deadline: std::time::Instant::now() + REQUEST_DEADLINE,
    };
    match &shared.tls {
        Some(config) => {
            let conn =
                rustls::ServerConnection::new(Arc::clone(config)).map_err(std::io::Error::other)?;
            let mut tls = rustls::StreamOwned::new(conn, stream);
            let terminal = if shared.require_client_cert {
                while tls.conn.is_handshaking() {
                    tls.conn.complete_io(&mut tls.sock)?;
                }
                let peer = tls
                    .conn
                    .peer_certificates()
                    .and_then(|chain| chain.first())
                    .map(|cert| cert.as_ref().to_vec());
                match peer.and_then(|cert| enrolled_terminal(shared, &cert)) {
                    Some(id) => Some(id),
                    None => return Ok(()),
                }
            } else {
                None
            };
            serve_requests(shared, &mut tls, terminal.as_deref())
        }
        None => {
            let mut plain = stream;
            serve_requests(shared, &mut plain, None)
        }
    }
}

/// What to do after handling one request.
enum After {
    Respond(u16, Value),
    Hangup,
}

fn serve_requests(
    shared: &Shared,
    stream: &mut (impl Read + Write + RequestDeadline),
    terminal: Option<&str>,
) -> std::io::Result<()> {
    let mut buffer: Vec<u8> = Vec::with_capacity(8192);
    loop {
        stream.start_request();
        let request = match read_request(stream, &mut buffer) {
            Ok(Some(request)) => request,
            Ok(None) => return Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::FileTooLarge => {
                respond(stream, 413, &json!({"error": e.to_string()}), true)?;
                return Ok(());
            }
            Err(e) => return Err(e),
        };
        let close = request.close;
        let after = {
            let _slot = ParsingSlot::take(shared);
            handle_request(shared, &request, terminal)
        };
        match after {
            After::Hangup => return Ok(()),
            After::Respond(status, value) => {
                respond(stream, status, &value, close)?;
                if close {
                    return Ok(());
                }
            }
        }
    }
}

/// One of the [`MAX_PARSING`] slots for parsing and storing a request; waits for one.
struct ParsingSlot<'a>(&'a Shared);

impl<'a> ParsingSlot<'a> {
    fn take(shared: &'a Shared) -> Self {
        let (count, freed) = &shared.parsing;
        let mut busy = count.lock().unwrap_or_else(|p| p.into_inner());
        while *busy >= MAX_PARSING {
            busy = freed.wait(busy).unwrap_or_else(|p| p.into_inner());
        }
        *busy += 1;
        Self(shared)
    }
}

impl Drop for ParsingSlot<'_> {
    fn drop(&mut self) {
        let (count, freed) = &self.0.parsing;
        let mut busy = count.lock().unwrap_or_else(|p| p.into_inner());
        *busy = busy.saturating_sub(1);
        freed.notify_one();
    }
}

fn respond(
    stream: &mut impl Write,
    status: u16,
    value: &Value,
    close: bool,
) -> std::io::Result<()> {
    let body = value.to_string();
    let reason = match status {
        200 => "OK",
        400 => "Bad Request",
        404 => "Not Found",
        403 => "Forbidden",
        409 => "Conflict",
        411 => "Length Required",
        413 => "Payload Too Large",
        _ => "Internal Server Error",
    };
    let head = format!(
        "HTTP/1.1 {status} {reason}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: {}\r\n\r\n",
        body.len(),
        if close { "close" } else { "keep-alive" }
    );
    stream.write_all(head.as_bytes())?;
    stream.write_all(body.as_bytes())?;
    stream.flush()
}

/// One HTTP/1.1 request as the acquirer needs it.
#[derive(Debug, PartialEq, Eq)]
struct Request {
    method: String,
    path: String,
    body: Vec<u8>,
    /// The client asked to close the connection after the answer.
    close: bool,
}

/// Reads one HTTP/1.1 request; `None` when the peer closed cleanly between requests.
fn read_request(stream: &mut impl Read, buffer: &mut Vec<u8>) -> std::io::Result<Option<Request>> {
    let bad = |m: &str| std::io::Error::new(std::io::ErrorKind::InvalidData, m.to_string());
    let mut chunk = [0u8; 8192];
    loop {
        let mut headers = [httparse::EMPTY_HEADER; 32];
        let mut request = httparse::Request::new(&mut headers);
        match request.parse(buffer).map_err(|e| bad(&e.to_string()))? {
            httparse::Status::Complete(head_len) => {
                let method = request.method.unwrap_or("").to_string();
                let path = request.path.unwrap_or("").to_string();
                let mut length: Option<usize> = None;
                let mut close = false;
                for header in request.headers.iter() {
                    if header.name.eq_ignore_ascii_case("content-length") {
                        length = std::str::from_utf8(header.value)
                            .ok()
                            .and_then(|v| v.trim().parse().ok());
                    } else if header.name.eq_ignore_ascii_case("connection") {
                        close = header.value.eq_ignore_ascii_case(b"close");
                    } else if header.name.eq_ignore_ascii_case("transfer-encoding") {
                        return Err(bad("chunked bodies are not supported"));
                    }
                }
                let length = length.unwrap_or(0);
                if length > MAX_BODY {
                    return Err(std::io::Error::new(
                        std::io::ErrorKind::FileTooLarge,
                        format!("body of {length} bytes is over the limit of {MAX_BODY}"),
                    ));
                }
                while buffer.len() < head_len + length {
                    let n = stream.read(&mut chunk)?;
                    if n == 0 {
                        return Err(bad("connection closed inside a body"));
                    }
                    buffer.extend_from_slice(chunk.get(..n).unwrap_or(&[]));
                }
                let rest = buffer.split_off(head_len + length);
                let body = buffer.split_off(head_len);
                *buffer = rest;
                return Ok(Some(Request {
                    method,
                    path,
                    body,
                    close,
                }));
            }
            httparse::Status::Partial => {
                if buffer.len() > MAX_HEAD {
                    return Err(bad("request head too large"));
                }
                let n = match stream.read(&mut chunk) {
                    Ok(n) => n,
                    Err(e)
                        if e.kind() == std::io::ErrorKind::UnexpectedEof && buffer.is_empty() =>
                    {
                        return Ok(None)
                    }
                    Err(e) => return Err(e),
                };
                if n == 0 {
                    return if buffer.is_empty() {
                        Ok(None)
                    } else {
                        Err(bad("connection closed inside a request head"))
                    };
                }
                buffer.extend_from_slice(chunk.get(..n).unwrap_or(&[]));
            }
        }
    }
}

fn handle_request(shared: &Shared, request: &Request, terminal: Option<&str>) -> After {
    let body = request.body.as_slice();
    match (request.method.as_str(), request.path.as_str()) {
        ("GET", "/v1/health") => return After::Respond(200, json!({"status": "ok"})),
        ("POST", BATCH_PATH) => {}
        _ => return After::Respond(404, json!({"error": "not found"})),
    }
    let faults = shared.faults;
    let (drop, fail, delay, lose, partial, bad_receipt) = {
        let mut rng = shared.rng.lock().unwrap_or_else(|p| p.into_inner());
        (
            rng.chance(faults.drop_connection),
            rng.chance(faults.error_500),
            rng.chance(faults.delay_rate),
            rng.chance(faults.lose_ack),
            rng.chance(faults.partial_ack),
            rng.chance(faults.bad_receipt),
        )
    };
    if drop {
        return After::Hangup;
    }
    if fail {
        return After::Respond(500, json!({"error": "injected fault"}));
    }
    if delay {
        std::thread::sleep(faults.delay);
    }
    let batch: Batch = match serde_json::from_slice(body) {
        Ok(v) => v,
        Err(e) if e.to_string().contains(TOO_MANY_RECORDS) => {
            return After::Respond(413, json!({"error": e.to_string()}))
        }
        Err(e) => return After::Respond(400, json!({"error": format!("invalid JSON: {e}")})),
    };
    if let Some(authenticated) = terminal {
        if batch.terminal_id != authenticated {
            return After::Respond(
                403,
                json!({"error": format!(
                    "batch names terminal {:?} but the client certificate is terminal {authenticated:?}; nothing stored",
                    batch.terminal_id
                )}),
            );
        }
    }
    let (mut acks, rejected) = match store_batch(shared, &batch, bad_receipt) {
        Ok(Stored::Batch(acks, rejected)) => (acks, rejected),
        Ok(Stored::Conflict(conflicts)) => {
            return After::Respond(
                409,
                json!({"error": "conflict: an idempotency key already held with another record body or terminal; nothing of this batch was stored", "conflicts": conflicts}),
            )
        }
        Err(e) => return After::Respond(500, json!({"error": e.to_string()})),
    };
    if lose {
        return After::Hangup;
    }
    if partial {
        let mut rng = shared.rng.lock().unwrap_or_else(|p| p.into_inner());
        acks.retain(|_| rng.chance(0.5));
    }
    After::Respond(200, json!({"acks": acks, "rejected": rejected}))
}

const TOO_MANY_RECORDS: &str = "records in one batch";

/// A batch as received: records counted while parsed (at most [`MAX_RECORDS_PER_BATCH`]).
#[derive(Debug, serde::Deserialize)]
struct Batch {
    #[serde(default)]
    terminal_id: String,
    #[serde(default, deserialize_with = "bounded_records")]
    records: Vec<Value>,
}

fn bounded_records<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<Value>, D::Error> {
    struct Records;
    impl<'de> serde::de::Visitor<'de> for Records {
        type Value = Vec<Value>;
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            write!(f, "an array of at most {MAX_RECORDS_PER_BATCH} records")
        }
        fn visit_seq<A: serde::de::SeqAccess<'de>>(
            self,
            mut seq: A,
        ) -> Result<Vec<Value>, A::Error> {
            let mut out = Vec::new();
            while let Some(record) = seq.next_element::<Value>()? {
                if out.len() == MAX_RECORDS_PER_BATCH {
                    return Err(serde::de::Error::custom(format!(
                        "more than {MAX_RECORDS_PER_BATCH} {TOO_MANY_RECORDS}"
                    )));
                }
                out.push(record);
            }
            Ok(out)
        }
    }
    d.deserialize_seq(Records)
}

/// What storing a batch came to.
enum Stored {
    /// Stored (or recognised); acknowledgements and rejections.
    Batch(Vec<Value>, Vec<Value>),
    /// Keys already held with another body or terminal: nothing of the batch was stored.
    Conflict(Vec<Value>),
}

/// The PAN as the acquirer keeps it: first six and last four digits, the rest masked.
fn mask_pan(pan: &str) -> String {
    let n = pan.chars().count();
    if n <= 10 {
        return "*".repeat(n);
    }
    pan.chars()
        .enumerate()
        .map(|(i, c)| if i < 6 || i >= n - 4 { c } else { '*' })
        .collect()
}

/// Stores every record of a batch in one durable transaction; a re-send with the same
/// body and terminal is recognised by idempotency key and counted, not stored again; the
/// same key with another body or terminal is a conflict and nothing is stored. The PAN is
/// kept masked.
fn store_batch(shared: &Shared, batch: &Batch, bad_receipt: bool) -> Result<Stored, AcquirerError> {
    let terminal_id = batch.terminal_id.as_str();
    let records = &batch.records;
    let mut conflicts = Vec::new();
    let mut acks = Vec::with_capacity(records.len());
    let mut rejected = Vec::new();
    let mut store = shared.store.lock().unwrap_or_else(|p| p.into_inner());
    let tx = store.transaction_with_behavior(TransactionBehavior::Immediate)?;
    for (index, record) in records.iter().enumerate() {
        let Some(key) = record
            .get("idempotency_key")
            .and_then(Value::as_str)
            .filter(|k| !k.is_empty())
        else {
            rejected.push(json!({"index": index, "reason": "missing idempotency_key"}));
            continue;
        };
        let record_id = record.get("id").and_then(Value::as_i64);
        let digest = hex::encode(ring::digest::digest(
            &ring::digest::SHA256,
            record.to_string().as_bytes(),
        ));
        let mut kept = record.clone();
        if let Some(pan) = kept.get_mut("pan") {
            if let Some(digits) = pan.as_str() {
                *pan = Value::String(mask_pan(digits));
            }
        }
        let inserted = tx.execute(
            "INSERT INTO received (idempotency_key, terminal_id, record_id, received_at, body, body_sha256)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT (idempotency_key) DO NOTHING",
            params![key, terminal_id, record_id, unix_now(), kept.to_string(), digest],
        )?;
        let status = if inserted == 1 {
            "stored"
        } else {
            let (held_terminal, held_digest, held_body): (String, Option<String>, String) = tx
                .query_row(
                "SELECT terminal_id, body_sha256, body FROM received WHERE idempotency_key = ?1",
                [key],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )?;
            // Rows stored before the digest column hold the body as received.
            let held_digest = held_digest.unwrap_or_else(|| {
                hex::encode(ring::digest::digest(
                    &ring::digest::SHA256,
                    held_body.as_bytes(),
                ))
            });
            if held_terminal != terminal_id || held_digest != digest {
                conflicts.push(json!({
                    "index": index,
                    "idempotency_key": key,
                    "reason": if held_terminal != terminal_id {
                        "key held for another terminal"
                    } else {
                        "key held with another record body"
                    },
                }));
                continue;
            }
            tx.execute(
                "UPDATE received SET deliveries = deliveries + 1 WHERE idempotency_key = ?1",
                [key],
            )?;
            "duplicate"
        };
        let stored_at: i64 = tx
            .query_row(
                "SELECT received_at FROM received WHERE idempotency_key = ?1",
                [key],
                |r| r.get(0),
            )
            .optional()?
            .unwrap_or(0);
        let message = receipt_message(terminal_id, key, &digest, stored_at);
        let signature = if bad_receipt {
            let rng = ring::rand::SystemRandom::new();
            let wrong = ring::signature::Ed25519KeyPair::generate_pkcs8(&rng)
                .ok()
                .and_then(|d| Ed25519KeyPair::from_pkcs8(d.as_ref()).ok());
            wrong.map_or_else(String::new, |k| hex::encode(k.sign(&message).as_ref()))
        } else {
            hex::encode(shared.receipt_key.sign(&message).as_ref())
        };
        acks.push(json!({
            "idempotency_key": key,
            "status": status,
            "receipt": {
                "alg": "ed25519",
                "terminal_id": terminal_id,
                "record_sha256": digest,
                "stored_at": stored_at,
                "signature": signature,
            },
        }));
    }
    if !conflicts.is_empty() {
        tx.rollback()?;
        return Ok(Stored::Conflict(conflicts));
    }
    tx.commit()?;
    Ok(Stored::Batch(acks, rejected))
}

/// The bytes an acknowledgement's receipt signs: [`RECEIPT_LABEL`], then the terminal id
/// and the idempotency key (each as `length:text`), the SHA-256 (hex) of the record as the
/// acquirer received it (the record object's JSON text), and the unix time it was first
/// stored, one per line.
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

fn sibling(db: &Path, suffix: &str) -> PathBuf {
    let mut p = db.as_os_str().to_owned();
    p.push(suffix);
    PathBuf::from(p)
}

/// Loads the receipt signing key `DB.receipt.key` (PKCS#8, mode 0600), creating it on
/// first start, and publishes its public half as hex in `DB.receipt.pub`.
fn load_receipt_key(db: &Path) -> Result<(Ed25519KeyPair, PathBuf), AcquirerError> {
    use std::os::unix::fs::OpenOptionsExt;
    let private = sibling(db, ".receipt.key");
    let public = sibling(db, ".receipt.pub");
    let bad = |what: &str| AcquirerError::Tls(format!("{}: {what}", private.display()));
    let pkcs8 = match std::fs::read(&private) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let rng = ring::rand::SystemRandom::new();
            let doc = Ed25519KeyPair::generate_pkcs8(&rng)
                .map_err(|_| bad("cannot generate a receipt key"))?;
            let mut file = std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(&private)
                .map_err(io_err(format!("creating {}", private.display())))?;
            file.write_all(doc.as_ref())
                .and_then(|()| file.sync_all())
                .map_err(io_err(format!("writing {}", private.display())))?;
            doc.as_ref().to_vec()
        }
        Err(e) => return Err(io_err(format!("reading {}", private.display()))(e)),
    };
    let pair = Ed25519KeyPair::from_pkcs8(&pkcs8).map_err(|_| bad("not an Ed25519 key"))?;
    std::fs::write(
        &public,
        format!("{}\n", hex::encode(pair.public_key().as_ref())),
    )
    .map_err(io_err(format!("writing {}", public.display())))?;
    Ok((pair, public))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;

    fn read(bytes: &[u8]) -> std::io::Result<Option<Request>> {
        let mut buffer = Vec::new();
        read_request(&mut Cursor::new(bytes.to_vec()), &mut buffer)
    }

    #[test]
    fn reads_a_request_with_its_body() {
        let request =
            read(b"POST /v1/batches HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}").unwrap();
        assert_eq!(
            request,
            Some(Request {
                method: "POST".into(),
                path: "/v1/batches".into(),
                body: b"{}".to_vec(),
                close: false,
            })
        );
    }

    #[test]
    fn keeps_a_pipelined_second_request_in_the_buffer() {
        let bytes =
            b"GET /v1/health HTTP/1.1\r\n\r\nGET /v1/health HTTP/1.1\r\nConnection: close\r\n\r\n";
        let mut stream = Cursor::new(bytes.to_vec());
        let mut buffer = Vec::new();
        let first = read_request(&mut stream, &mut buffer).unwrap().unwrap();
        let second = read_request(&mut stream, &mut buffer).unwrap().unwrap();
        assert_eq!((first.close, second.close), (false, true));
        assert_eq!(read_request(&mut stream, &mut buffer).unwrap(), None);
    }

    #[test]
    fn malformed_requests_are_errors_not_panics() {
        assert_eq!(read(b"").unwrap(), None);
        assert!(read(b"\x00\x01\x02 garbage\r\n\r\n").is_err());
        assert!(read(b"POST / HTTP/1.1\r\nContent-Length: 10\r\n\r\n{}").is_err());
        assert!(read(b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n").is_err());
        assert!(read(b"POST / HTTP/1.1\r\nContent-Length: 99999999999\r\n\r\n").is_err());
        let mut long_head = b"GET / HTTP/1.1\r\nX: ".to_vec();
        long_head.extend(std::iter::repeat_n(b'a', MAX_HEAD + 10));
        assert!(read(&long_head).is_err());
    }

    #[test]
    fn fault_generator_is_seeded_and_uniform_enough() {
        let mut a = FaultRng(7);
        let mut b = FaultRng(7);
        let draws: Vec<f64> = (0..1000).map(|_| a.next_f64()).collect();
        assert!(draws.iter().all(|d| (0.0..1.0).contains(d)));
        assert_eq!(
            draws[..10],
            (0..10).map(|_| b.next_f64()).collect::<Vec<_>>()[..]
        );
        let hits = (0..10_000).filter(|_| a.chance(0.3)).count();
        assert!((2_700..3_300).contains(&hits), "{hits}");
    }
}
