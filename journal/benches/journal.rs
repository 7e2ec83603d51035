//! Journal benchmarks: durable offline approvals per second (pending + completion, each an
//! fsynced SQLite transaction), and sync throughput to the local reference acquirer.
//!
//! Run: `cargo bench -p emv-journal --bench journal`.

use std::path::Path;
use std::time::{Duration, Instant, SystemTime};

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use emv_acquirer::{self as acquirer, Faults, ServeConfig};
use emv_journal::sync::{self, SyncConfig};
use emv_journal::{Completion, Journal, KeySource, Mode, Outcome, PendingTransaction};

fn pending() -> PendingTransaction {
    PendingTransaction {
        amount_authorised: 1250,
        amount_other: 0,
        currency_code: 978,
        transaction_type: 0x00,
        transaction_date: [0x26, 0x11, 0x25],
        transaction_time: [0x10, 0x00, 0x00],
        aid: vec![0xA0, 0x00, 0x00, 0x00, 0x04, 0x10, 0x10],
        pan: vec![0x54, 0x13, 0x33, 0x00, 0x89, 0x01, 0x06, 0x08],
        pan_sequence_number: Some(1),
        track2_equivalent: Some(vec![
            0x54, 0x13, 0x33, 0x00, 0x89, 0x01, 0x06, 0x08, 0xD2, 0x51, 0x22, 0x01,
        ]),
        expiry_date: [0x25, 0x12, 0x31],
    }
}

fn completion() -> Completion {
    Completion {
        outcome: Outcome::Approved,
        mode: Mode::Offline,
        authorisation_response_code: Some(*b"Y1"),
        cryptogram_information_data: Some(0x40),
        application_cryptogram: Some([0x12, 0x34, 0x56, 0x78, 0x9A, 0xBC, 0xDE, 0xF0]),
        atc: Some(42),
        tvr: [0; 5],
        tsi: [0xE8, 0x00],
        cvm_results: [0x1F, 0x03, 0x02],
        icc_data: vec![
            0x9F, 0x26, 0x08, 0x12, 0x34, 0x56, 0x78, 0x9A, 0xBC, 0xDE, 0xF0,
        ],
        forced_online_reason: None,
    }
}

fn open(dir: &Path) -> Journal {
    Journal::open(
        &dir.join("journal.db"),
        &KeySource::create_if_missing(dir.join("journal.key")),
    )
    .expect("open journal")
}

fn durable_approvals(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut journal = open(dir.path());
    let pending = pending();
    let completion = completion();
    let mut group = c.benchmark_group("journal");
    group.throughput(Throughput::Elements(1));
    group.sample_size(30);
    group.measurement_time(Duration::from_secs(10));
    group.bench_function("durable_offline_approval", |b| {
        b.iter(|| {
            let now = SystemTime::now();
            let id = journal.begin_pending(&pending, now).expect("pending");
            journal.complete(id, &completion, now).expect("complete");
        })
    });
    group.finish();
}

/// Records re-sent per measured sync run.
const SYNC_RECORDS: u64 = 1000;

fn sync_throughput(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("acquirer.db");
    let config = ServeConfig {
        listen: "127.0.0.1:0".parse().expect("address"),
        db: db.clone(),
        cert: None,
        key: None,
        ca_out: None,
        insecure_http: false,
        faults: Faults::default(),
        require_client_cert: false,
    };
    let (ready_tx, ready_rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        acquirer::serve(&config, |info| {
            let _ = ready_tx.send(info.clone());
        })
        .expect("acquirer");
    });
    let info = ready_rx.recv().expect("acquirer ready");
    let pending = pending();
    let completion = completion();
    let sync_config = SyncConfig {
        ca: info.ca_cert.clone(),
        ..SyncConfig::new(info.url.clone())
    };
    let mut group = c.benchmark_group("sync");
    group.throughput(Throughput::Elements(SYNC_RECORDS));
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(20));
    group.bench_function("records_to_local_acquirer_batch_100", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                // Not timed: a fresh journal of SYNC_RECORDS approvals (new idempotency
                // keys, so the acquirer stores each as new), with its chain intact: sync
                // walks and checks the chain before it sends anything.
                let dir = tempfile::tempdir().expect("tempdir");
                let mut journal = open(dir.path());
                for _ in 0..SYNC_RECORDS {
                    let now = SystemTime::now();
                    let id = journal.begin_pending(&pending, now).expect("pending");
                    journal.complete(id, &completion, now).expect("complete");
                }
                let start = Instant::now();
                let report =
                    sync::sync_once(&mut journal, &sync_config, &mut |_, _| {}).expect("sync");
                total += start.elapsed();
                assert_eq!(report.acknowledged, SYNC_RECORDS);
            }
            total
        })
    });
    group.finish();
}

criterion_group!(benches, durable_approvals, sync_throughput);
criterion_main!(benches);
