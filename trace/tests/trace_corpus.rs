//! The trace corpus `tests/traces/`: one trace per test-cards profile,
//! replayed on every `cargo test`. A kernel change that alters any APDU or
//! outcome fails here with the diff; regenerate with `scripts/regen-traces.sh`
//! only for an intended change.

use std::path::PathBuf;

use emv_test_cards::profiles;
use emv_trace::format;
use emv_trace::mask;
use emv_trace::replay::{self, Environment, Style};
use emv_trace::Event;

fn corpus() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/traces")
}

fn read(name: &str) -> (PathBuf, String) {
    let path = corpus().join(format!("{name}.trace"));
    match std::fs::read_to_string(&path) {
        Ok(text) => (path, text),
        Err(e) => panic!(
            "no trace for profile {name} ({}: {e}): run scripts/regen-traces.sh {name}",
            path.display()
        ),
    }
}

#[test]
fn every_profile_has_a_trace_and_it_replays() {
    let mut failures = String::new();
    for profile in profiles::all() {
        let (path, text) = read(profile.name);
        let trace = match format::parse(&text) {
            Ok(trace) => trace,
            Err(e) => {
                failures.push_str(&format!("{}: {e}\n", path.display()));
                continue;
            }
        };
        let replayed = replay::replay(&trace, &Environment::for_file(&path));
        if let Some(failure) = &replayed.failure {
            failures.push_str(&format!(
                "FAIL {}\n{}",
                path.display(),
                replay::render_failure(failure, Style { color: false })
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "replay of tests/traces failed (an intended change? scripts/regen-traces.sh):\n{failures}"
    );
}

#[test]
fn corpus_files_survive_a_parse_write_round_trip() {
    for profile in profiles::all() {
        let (path, text) = read(profile.name);
        let trace = format::parse(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let written = format::write(&trace);
        assert_eq!(
            format::parse(&written),
            Ok(trace.clone()),
            "{}",
            path.display()
        );
        // The recorder's own output is already in canonical form.
        assert_eq!(written, text, "{} is not in canonical form", path.display());
    }
}

/// Masking: no trace holds a PAN with its middle digits, and no VERIFY data.
#[test]
fn corpus_is_masked_and_holds_no_pin_data() {
    for profile in profiles::all() {
        let (path, text) = read(profile.name);
        let trace = format::parse(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert!(trace.masked, "{} is not masked", path.display());
        for event in &trace.events {
            match event {
                Event::Command { apdu, withheld } if apdu.get(1) == Some(&0x20) => {
                    assert!(
                        *withheld && apdu.len() == 5,
                        "{}: VERIFY data recorded",
                        path.display()
                    );
                }
                Event::Response(bytes) => {
                    for pan in find_pans(bytes) {
                        let digits = mask::pan_digits(&pan);
                        assert_eq!(
                            digits,
                            mask::masked_digits(&digits),
                            "{}: PAN {pan:02X?} unmasked",
                            path.display()
                        );
                    }
                }
                _ => {}
            }
        }
    }
}

fn find_pans(response: &[u8]) -> Vec<Vec<u8>> {
    emv_kernel::tlv::primitives(
        response
            .get(..response.len().saturating_sub(2))
            .unwrap_or(&[]),
    )
    .map_while(Result::ok)
    .filter(|(_, object)| object.tag == emv_kernel::tlv::Tag(0x5A))
    .map(|(_, object)| object.value.to_vec())
    .collect()
}

/// Hand-edited or damaged traces are data, not a reason to panic: random
/// byte and line mutations of corpus traces parse or fail with a line
/// number, and whatever parses replays to a pass or a reported failure.
#[test]
fn mutated_traces_never_panic() {
    let mut rng = fastrand::Rng::with_seed(0x7ACE);
    let names: Vec<&str> = profiles::all().iter().map(|p| p.name).collect();
    let (mut parsed, mut failed_replays) = (0, 0);
    for _ in 0..600 {
        let name = names[rng.usize(..names.len())];
        let (path, text) = read(name);
        let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
        for _ in 0..rng.usize(1..4) {
            let index = rng.usize(..lines.len());
            match rng.u8(..4) {
                0 => {
                    lines.remove(index);
                }
                1 => {
                    let copy = lines[index].clone();
                    lines.insert(rng.usize(..lines.len()), copy);
                }
                _ => {
                    let mut bytes = lines[index].clone().into_bytes();
                    if !bytes.is_empty() {
                        let at = rng.usize(..bytes.len());
                        bytes[at] = b"0123456789ABCDEF #>|<xyz"[rng.usize(..24)];
                    }
                    lines[index] = String::from_utf8_lossy(&bytes).into_owned();
                }
            }
        }
        let mutated = lines.join("\n");
        if let Ok(trace) = format::parse(&mutated) {
            parsed += 1;
            let replayed = replay::replay(&trace, &Environment::for_file(&path));
            if let Some(failure) = &replayed.failure {
                failed_replays += 1;
                assert!(!replay::render_failure(failure, Style { color: false }).is_empty());
            }
        }
    }
    // The mutations are not all harmless: many traces parse and then fail.
    assert!(
        parsed > 100 && failed_replays > 50,
        "{parsed} parsed, {failed_replays} failed"
    );
}

#[test]
fn random_text_is_not_a_pcsc_spy_log_and_does_not_panic() {
    let mut rng = fastrand::Rng::with_seed(5);
    let alphabet =
        b"SCardTransmit bSendBuffer bRecvBuffer => SCARD_S_SUCCESS i o 0000 0010 9F 00 \n";
    for _ in 0..2000 {
        let text: String = (0..rng.usize(0..400))
            .map(|_| char::from(alphabet[rng.usize(..alphabet.len())]))
            .collect();
        if let Ok(exchanges) = emv_trace::spy::parse_log(&text) {
            let (trace, _) = emv_trace::spy::to_trace(
                &exchanges,
                &emv_trace::spy::InputOverrides::default(),
                "random",
            );
            let _ = replay::replay(&trace, &Environment::default());
        }
    }
}
