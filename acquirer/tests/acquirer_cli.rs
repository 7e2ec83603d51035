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
