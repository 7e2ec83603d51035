//! The `emv-acquirer` binary on its own: the commands it offers, a batch stored once and
//! a re-send recognised by its idempotency key (over plain HTTP on loopback), `stats`,
//! and options refused with a clear message.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};

use serde_json::{json, Value};

const BIN: &str = env!("CARGO_BIN_EXE_emv-acquirer");

fn acquirer(args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .output()
        .expect("run emv-acquirer")
}

/// `emv-acquirer serve` as a child process, killed (by its pid) when dropped.
struct Served {
    child: Child,
    addr: String,
}

impl Served {
    fn start(db: &Path) -> Self {
        let mut child = Command::new(BIN)
            .args([
                "serve",
                "--insecure-http",
                "--listen",
                "127.0.0.1:0",
                "--db",
            ])
            .arg(db)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn emv-acquirer serve");
        let stdout = child.stdout.take().expect("stdout");
        let mut line = String::new();
        BufReader::new(stdout)
            .read_line(&mut line)
            .expect("first line");
        let addr = line
            .trim_end()
            .strip_prefix("acquirer listening on http://")
            .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
            .to_owned();
        Served { child, addr }
    }

    /// POSTs `body` to `path` and returns the status and the JSON reply.
    fn post(&self, path: &str, body: &Value) -> (u16, Value) {
        let body = body.to_string();
        let mut stream = TcpStream::connect(&self.addr).expect("connect");
        write!(
            stream,
            "POST {path} HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            self.addr,
            body.len()
        )
        .expect("send");
        let mut reader = BufReader::new(stream);
        let mut status_line = String::new();
        reader.read_line(&mut status_line).expect("status line");
        let status = status_line
            .split_whitespace()
            .nth(1)
            .and_then(|code| code.parse().ok())
            .unwrap_or_else(|| panic!("bad status line {status_line:?}"));
        let mut length = 0usize;
        loop {
            let mut header = String::new();
            reader.read_line(&mut header).expect("header");
            let header = header.trim_end();
            if header.is_empty() {
                break;
            }
            if let Some((name, value)) = header.split_once(':') {
                if name.eq_ignore_ascii_case("content-length") {
                    length = value.trim().parse().expect("content length");
                }
            }
        }
        let mut reply = vec![0u8; length];
        reader.read_exact(&mut reply).expect("body");
        (status, serde_json::from_slice(&reply).expect("JSON reply"))
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn help_offers_serve_and_stats() {
    let out = acquirer(&["--help"]);
    assert!(out.status.success());
    let help = String::from_utf8_lossy(&out.stdout);
    assert!(help.contains("Usage: emv-acquirer <COMMAND>"), "{help}");
    assert!(help.contains("  serve "), "{help}");
    assert!(help.contains("  stats "), "{help}");
    let out = acquirer(&["serve", "--help"]);
    let help = String::from_utf8_lossy(&out.stdout);
    for option in [
        "--listen",
        "--db",
        "--cert",
        "--key",
        "--ca-out",
        "--insecure-http",
        "--drop-connection",
        "--error-500",
        "--delay-rate",
        "--delay",
        "--lose-ack",
        "--partial-ack",
        "--bad-receipt",
        "--fault-seed",
    ] {
        assert!(help.contains(option), "serve --help lacks {option}: {help}");
    }
}

#[test]
fn a_batch_is_stored_once_and_a_resend_is_a_duplicate() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("acquirer.db");
    let served = Served::start(&db);
    let batch = json!({
        "terminal_id": "TERM0001",
        "records": [
            {"idempotency_key": "TERM0001-1-aa", "id": 1, "amount_authorised": 1250},
            {"idempotency_key": "TERM0001-2-bb", "id": 2, "amount_authorised": 990},
            {"id": 3},
        ],
    });
    let (status, mut reply) = served.post("/v1/batches", &batch);
    assert_eq!(status, 200, "{reply}");
    // Each acknowledgement carries a receipt signed with the key published next to the db.
    let public = std::fs::read_to_string(dir.path().join("acquirer.db.receipt.pub")).unwrap();
    let public = ring::signature::UnparsedPublicKey::new(
        &ring::signature::ED25519,
        hex::decode(public.trim()).unwrap(),
    );
    for (ack, record) in reply["acks"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .zip(batch["records"].as_array().unwrap())
    {
        let receipt = ack
            .as_object_mut()
            .unwrap()
            .remove("receipt")
            .expect("receipt");
        let digest = hex::encode(ring::digest::digest(
            &ring::digest::SHA256,
            record.to_string().as_bytes(),
        ));
        assert_eq!(receipt["record_sha256"], digest);
        let message = emv_acquirer::receipt_message(
            "TERM0001",
            record["idempotency_key"].as_str().unwrap(),
            &digest,
            receipt["stored_at"].as_i64().unwrap(),
        );
        let signature = hex::decode(receipt["signature"].as_str().unwrap()).unwrap();
        public
            .verify(&message, &signature)
            .expect("receipt verifies");
    }
    assert_eq!(
        reply,
        json!({
            "acks": [
                {"idempotency_key": "TERM0001-1-aa", "status": "stored"},
                {"idempotency_key": "TERM0001-2-bb", "status": "stored"},
            ],
            "rejected": [{"index": 2, "reason": "missing idempotency_key"}],
        })
    );
    let (status, reply) = served.post("/v1/batches", &batch);
    assert_eq!(status, 200, "{reply}");
    let statuses: Vec<&str> = reply["acks"]
        .as_array()
        .expect("acks")
        .iter()
        .filter_map(|ack| ack["status"].as_str())
        .collect();
    assert_eq!(statuses, ["duplicate", "duplicate"]);
    let (status, _) = served.post("/v1/elsewhere", &batch);
    assert_eq!(status, 404);

    let stats = emv_acquirer::stats(&db).expect("stats");
    assert_eq!(
        stats,
        emv_acquirer::AcquirerStats {
            records: 2,
            deliveries: 4,
            duplicates_refused: 2,
        }
    );
    let keys = emv_acquirer::received_keys(&db).expect("keys");
    assert_eq!(
        keys,
        [
            ("TERM0001-1-aa".to_owned(), 2),
            ("TERM0001-2-bb".to_owned(), 2)
        ]
    );
    drop(served);

    let out = acquirer(&["stats", "--db", db.to_str().expect("utf-8")]);
    assert!(out.status.success(), "{out:?}");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "{\"records\":2,\"deliveries\":4,\"duplicates_refused\":2}\n"
    );
}

#[test]
fn a_fault_probability_above_one_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("acquirer.db");
    let out = acquirer(&[
        "serve",
        "--db",
        db.to_str().expect("utf-8"),
        "--lose-ack",
        "1.5",
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "error: --lose-ack must be a probability between 0 and 1\n"
    );
    assert!(!db.exists(), "nothing created for a refused option");
}

#[test]
fn the_same_key_with_another_body_or_terminal_is_a_conflict_and_nothing_is_stored() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("acquirer.db");
    let served = Served::start(&db);
    let first = json!({"terminal_id": "TERM0001", "records": [
        {"idempotency_key": "TERM0001-1-aa", "id": 1, "amount_authorised": 1250},
    ]});
    assert_eq!(served.post("/v1/batches", &first).0, 200);
    let altered = json!({"terminal_id": "TERM0001", "records": [
        {"idempotency_key": "TERM0001-2-bb", "id": 2, "amount_authorised": 5},
        {"idempotency_key": "TERM0001-1-aa", "id": 1, "amount_authorised": 1},
    ]});
    let (status, reply) = served.post("/v1/batches", &altered);
    assert_eq!(status, 409, "{reply}");
    assert_eq!(reply["conflicts"][0]["index"], 1);
    assert_eq!(
        reply["conflicts"][0]["reason"],
        "key held with another record body"
    );
    let forged = json!({"terminal_id": "EVIL0001", "records": [
        {"idempotency_key": "TERM0001-1-aa", "id": 1, "amount_authorised": 1250},
    ]});
    let (status, reply) = served.post("/v1/batches", &forged);
    assert_eq!(status, 409, "{reply}");
    assert_eq!(
        reply["conflicts"][0]["reason"],
        "key held for another terminal"
    );
    let stats = emv_acquirer::stats(&db).expect("stats");
    assert_eq!(
        (stats.records, stats.deliveries),
        (1, 1),
        "nothing of either batch stored"
    );
}

#[test]
fn batches_are_bounded_in_records_and_bytes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("acquirer.db");
    let served = Served::start(&db);
    let records: Vec<Value> = (0..=emv_acquirer::MAX_RECORDS_PER_BATCH)
        .map(|i| json!({"idempotency_key": format!("T-{i}")}))
        .collect();
    let (status, reply) = served.post(
        "/v1/batches",
        &json!({"terminal_id": "T", "records": records}),
    );
    assert_eq!(status, 413, "{reply}");
    // Many tiny objects: refused by their count while parsing.
    let tiny = format!(
        "{{\"terminal_id\":\"T\",\"records\":[{}{{}}]}}",
        "{},".repeat(300_000)
    );
    let (status, _) = served.post("/v1/batches", &serde_json::from_str(&tiny).unwrap());
    assert_eq!(status, 413);
    // Over the byte limit: refused from the Content-Length, before the body is read.
    let mut stream = TcpStream::connect(&served.addr).expect("connect");
    write!(
        stream,
        "POST /v1/batches HTTP/1.1\r\nContent-Length: {}\r\n\r\n",
        emv_acquirer::MAX_BODY + 1
    )
    .unwrap();
    let mut status_line = String::new();
    BufReader::new(stream).read_line(&mut status_line).unwrap();
    assert!(status_line.starts_with("HTTP/1.1 413"), "{status_line}");
    assert_eq!(emv_acquirer::stats(&db).expect("stats").records, 0);
}

#[test]
fn a_slow_client_is_cut_off_at_the_request_deadline() {
    let dir = tempfile::tempdir().expect("tempdir");
    let served = Served::start(&dir.path().join("acquirer.db"));
    let mut slow = TcpStream::connect(&served.addr).expect("connect");
    slow.set_read_timeout(Some(std::time::Duration::from_secs(30)))
        .unwrap();
    let started = std::time::Instant::now();
    // One header byte every 500 ms: each read is quick, the request never ends.
    let closed = loop {
        if slow.write_all(b"X").is_err() {
            break true;
        }
        std::thread::sleep(std::time::Duration::from_millis(500));
        if started.elapsed() > emv_acquirer::REQUEST_DEADLINE * 2 {
            break false;
        }
    };
    assert!(closed, "still open after {:?}", started.elapsed());
    assert!(started.elapsed() >= emv_acquirer::REQUEST_DEADLINE);
}

#[test]
fn the_pan_is_not_stored_in_clear() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("acquirer.db");
    let served = Served::start(&db);
    let batch = json!({"terminal_id": "T", "records": [
        {"idempotency_key": "T-1", "pan": "5413330089010608", "expiry_date": "271231"},
    ]});
    assert_eq!(served.post("/v1/batches", &batch).0, 200);
    drop(served);
    let mut bytes = Vec::new();
    for suffix in ["", "-wal"] {
        let mut path = db.as_os_str().to_owned();
        path.push(suffix);
        if let Ok(mut f) = std::fs::File::open(&path) {
            f.read_to_end(&mut bytes).unwrap();
        }
    }
    let text = String::from_utf8_lossy(&bytes);
    assert!(!text.contains("5413330089010608"), "clear PAN at rest");
    assert!(text.contains("541333******0608"), "masked PAN kept");
}
