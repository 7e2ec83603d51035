//! `transact --record` and `replay` as a user runs them: record -> replay
//! round trips for every profile through the in-process card, a deliberately
//! altered trace failing with a readable diff, `--update`, `--junit`.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use emv_test_cards::profiles;

fn emv_terminal(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_emv-terminal"))
        .args(args)
        .env("NO_COLOR", "1")
        .output()
        .expect("run emv-terminal")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn record(profile: &str, path: &Path) -> Output {
    record_with(profile, path, &[])
}

/// [`record`] with `extra` arguments.
fn record_with(profile: &str, path: &Path, extra: &[&str]) -> Output {
    let path = path.to_str().expect("utf-8 path");
    let mut args = vec![
        "transact",
        "--card",
        profile,
        "--amount",
        "10.00",
        "--date",
        "250615",
        "--time",
        "120000",
        "--unpredictable-number",
        "11223344",
        "--random-number",
        "99",
        "--sequence-counter",
        "1",
        "--test-pin",
        "1234",
        "--application",
        "1",
        "--no-journal",
        "--record",
        path,
    ];
    if profile == "issuer-scripts" {
        args.extend([
            "--issuer-script",
            "84240000:",
            "--issuer-script",
            "841E0000:",
        ]);
    }
    args.extend_from_slice(extra);
    emv_terminal(&args)
}

fn corpus_trace(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(format!("../tests/traces/{name}.trace"))
}

#[test]
fn record_then_replay_every_profile() {
    let dir = tempfile::tempdir().expect("temp dir");
    for profile in profiles::all() {
        let path = dir.path().join(format!("{}.trace", profile.name));
        let out = record(profile.name, &path);
        let stdout = text(&out.stdout);
        assert!(
            stdout.contains("replays cleanly"),
            "{}: {stdout}{}",
            profile.name,
            text(&out.stderr)
        );
    }
    let out = emv_terminal(&["replay", dir.path().to_str().expect("utf-8")]);
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout}");
    assert_eq!(
        stdout.lines().last(),
        Some(format!("{} passed, 0 failed", profiles::all().len()).as_str())
    );
}

#[test]
fn recording_twice_gives_the_same_trace() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (first, second) = (dir.path().join("a.trace"), dir.path().join("b.trace"));
    record("cvm-enciphered-pin", &first);
    record("cvm-enciphered-pin", &second);
    let read = |p: &Path| std::fs::read_to_string(p).expect("trace");
    assert_eq!(read(&first), read(&second));
    assert!(
        read(&first).contains(" withheld  # "),
        "VERIFY data withheld"
    );
}

#[test]
fn unmasked_recording_keeps_the_pan_and_masked_does_not() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (masked, real) = (dir.path().join("m.trace"), dir.path().join("r.trace"));
    record("dda", &masked);
    let path = real.to_str().expect("utf-8");
    let out = emv_terminal(&[
        "transact",
        "--card",
        "dda",
        "--amount",
        "10.00",
        "--date",
        "250615",
        "--time",
        "120000",
        "--unpredictable-number",
        "11223344",
        "--random-number",
        "99",
        "--sequence-counter",
        "1",
        "--no-journal",
        "--record",
        path,
        "--record-unmasked",
    ]);
    assert!(text(&out.stdout).contains("replays cleanly"));
    let masked = std::fs::read_to_string(&masked).expect("trace");
    let real = std::fs::read_to_string(&real).expect("trace");
    // The dda card's PAN is 6799990100000219; masked: BIN and last four kept.
    assert_eq!(profiles::find("dda").unwrap().pan(), "6799990100000219");
    assert!(real.contains("5A086799990100000219") && real.contains("masked no"));
    assert!(!masked.contains("6799990100000219") && masked.contains("5A086799990000000219"));
    assert!(
        masked.contains("\nstand-in "),
        "the ICC certificate is replaced by a stand-in"
    );
}

/// An unmasked trace holds the full PAN and track 2: it is written private to its
/// owner (0600), also over an existing world-readable file.
#[cfg(unix)]
#[test]
fn unmasked_recording_is_private_to_its_owner() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().expect("temp dir");
    let real = dir.path().join("r.trace");
    std::fs::write(&real, "old").unwrap();
    std::fs::set_permissions(&real, std::fs::Permissions::from_mode(0o644)).unwrap();
    let out = emv_terminal(&[
        "transact",
        "--card",
        "dda",
        "--amount",
        "10.00",
        "--no-journal",
        "--record",
        real.to_str().expect("utf-8"),
        "--record-unmasked",
    ]);
    assert!(text(&out.stdout).contains("replays cleanly"), "{out:?}");
    let mode = std::fs::metadata(&real).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600, "mode {mode:o}");
}

#[test]
fn altered_trace_fails_with_a_readable_diff() {
    let dir = tempfile::tempdir().expect("temp dir");
    let original = std::fs::read_to_string(corpus_trace("cda")).expect("corpus trace");
    let altered = original.replace(
        "input unpredictable-number 11223344",
        "input unpredictable-number 55667788",
    );
    assert_ne!(altered, original);
    let path = dir.path().join("cda-altered.trace");
    std::fs::write(&path, altered).expect("write");
    let junit = dir.path().join("report.xml");
    let out = emv_terminal(&[
        "replay",
        path.to_str().expect("utf-8"),
        corpus_trace("dda").to_str().expect("utf-8"),
        "--junit",
        junit.to_str().expect("utf-8"),
    ]);
    let stdout = text(&out.stdout);
    assert!(!out.status.success());
    assert!(stdout.contains("FAIL "), "{stdout}");
    // The first command carrying the unpredictable number is GENERATE AC (CDOL1).
    assert!(
        stdout.contains("(first GENERATE AC): the kernel sent a different command"),
        "{stdout}"
    );
    assert!(stdout.contains("    expected: 80AE"), "{stdout}");
    assert!(stdout.contains("data by the card's CDOL1"), "{stdout}");
    assert!(
        stdout.contains("! 9F37 Unpredictable Number: expected 11223344, actual 55667788"),
        "{stdout}"
    );
    assert!(
        stdout.contains("      9F02 "),
        "unchanged tags listed without a mark: {stdout}"
    );
    assert_eq!(stdout.lines().last(), Some("1 passed, 1 failed"));
    let report = std::fs::read_to_string(&junit).expect("junit report");
    assert!(report.contains("tests=\"2\" failures=\"1\""), "{report}");
    assert!(report.contains("<failure message=\"step "), "{report}");
}

#[test]
fn changed_outcome_fails_then_update_rewrites_it() {
    let dir = tempfile::tempdir().expect("temp dir");
    let original = std::fs::read_to_string(corpus_trace("cda")).expect("corpus trace");
    let altered = original.replace("expect tvr 0000000000", "expect tvr 0000008000");
    assert_ne!(altered, original);
    let path = dir.path().join("cda.trace");
    std::fs::write(&path, &altered).expect("write");
    let arg = path.to_str().expect("utf-8");
    let out = emv_terminal(&["replay", arg]);
    let stdout = text(&out.stdout);
    assert!(!out.status.success());
    assert!(
        stdout.contains("every APDU matched; the outcome differs"),
        "{stdout}"
    );
    assert!(
        stdout.contains("! tvr: expected 0000008000, actual 0000000000"),
        "{stdout}"
    );
    let out = emv_terminal(&["replay", "--update", arg]);
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout}");
    assert!(stdout.contains("tvr: 0000008000 -> 0000000000"), "{stdout}");
    assert_eq!(std::fs::read_to_string(&path).expect("trace"), original);
    assert!(emv_terminal(&["replay", arg]).status.success());
}

#[test]
fn a_truncated_trace_fails_naming_the_missing_exchange() {
    let dir = tempfile::tempdir().expect("temp dir");
    let original = std::fs::read_to_string(corpus_trace("dda")).expect("corpus trace");
    // Drop the last command and its response.
    let lines: Vec<&str> = original.lines().collect();
    let last_command = lines
        .iter()
        .rposition(|l| l.starts_with("> "))
        .expect("a command");
    let kept: Vec<&str> = lines
        .iter()
        .enumerate()
        .filter(|(i, _)| *i != last_command && *i != last_command + 1)
        .map(|(_, l)| *l)
        .collect();
    let path = dir.path().join("short.trace");
    std::fs::write(&path, kept.join("\n")).expect("write");
    let out = emv_terminal(&["replay", path.to_str().expect("utf-8")]);
    let stdout = text(&out.stdout);
    assert!(!out.status.success());
    assert!(
        stdout.contains("where the trace has the end of the trace"),
        "{stdout}"
    );
    assert_eq!(stdout.lines().last(), Some("0 passed, 1 failed"));
}

#[test]
fn a_newer_format_version_is_refused_by_name() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("future.trace");
    std::fs::write(&path, "emv-trace 3\n").expect("write");
    let out = emv_terminal(&["replay", path.to_str().expect("utf-8")]);
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("line 1: trace format version 3; this build reads versions 1 to 2"),
        "{stdout}"
    );
    assert!(!out.status.success());
}

/// A `--config` file is written inline, and its exception file is masked
/// with the same substitution as the card data, so "card in exception file"
/// reproduces on replay.
#[test]
fn inline_configuration_masked_consistently() {
    let dir = tempfile::tempdir().expect("temp dir");
    let config = dir.path().join("hot.toml");
    let pan = profiles::find("dda").expect("dda").pan();
    std::fs::write(&config, format!("exception_file = [\"{pan}\"]\n")).expect("write");
    let trace = dir.path().join("hot.trace");
    let out = emv_terminal(&[
        "transact",
        "--card",
        "dda",
        "--amount",
        "10.00",
        "--date",
        "250615",
        "--time",
        "120000",
        "--unpredictable-number",
        "11223344",
        "--random-number",
        "99",
        "--sequence-counter",
        "1",
        "--no-journal",
        "--config",
        config.to_str().expect("utf-8"),
        "--record",
        trace.to_str().expect("utf-8"),
    ]);
    assert!(
        text(&out.stdout).contains("replays cleanly"),
        "{}",
        text(&out.stdout)
    );
    let written = std::fs::read_to_string(&trace).expect("trace");
    assert!(
        written.contains("config inline\n| exception_file = [\"6799990000000219\"]\n"),
        "{written}"
    );
    // TVR byte 1 b5: card appears on the terminal exception file.
    assert!(written.contains("expect tvr 10"), "{written}");
    std::fs::remove_file(&config).expect("the replay needs only the trace");
    assert!(emv_terminal(&["replay", trace.to_str().expect("utf-8")])
        .status
        .success());
}

/// The CA key a trace names must be the one the replay has: a changed
/// checksum is reported before anything runs.
#[test]
fn a_different_ca_key_is_named() {
    let dir = tempfile::tempdir().expect("temp dir");
    let original = std::fs::read_to_string(corpus_trace("cda")).expect("corpus trace");
    let line = original
        .lines()
        .find(|l| l.starts_with("ca-key "))
        .expect("ca-key line");
    let altered = original.replace(
        line,
        "ca-key A000000999 02 0000000000000000000000000000000000000000",
    );
    let path = dir.path().join("other-key.trace");
    std::fs::write(&path, altered).expect("write");
    let out = emv_terminal(&["replay", path.to_str().expect("utf-8")]);
    let stdout = text(&out.stdout);
    assert!(!out.status.success());
    assert!(
        stdout.contains("cannot replay: CA key A000000999 02 in built-in test CA keys differs from the recorded one"),
        "{stdout}"
    );
}

/// A trace with a syntax error names the line.
#[test]
fn a_bad_line_is_named() {
    let dir = tempfile::tempdir().expect("temp dir");
    let original = std::fs::read_to_string(corpus_trace("no-oda")).expect("corpus trace");
    let altered = original.replacen("< ", "< 9G", 1);
    let line = 1 + original
        .lines()
        .position(|l| l.starts_with("< "))
        .expect("a response");
    let path = dir.path().join("bad.trace");
    std::fs::write(&path, altered).expect("write");
    let out = emv_terminal(&["replay", path.to_str().expect("utf-8")]);
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains(&format!(
            "not a valid trace: line {line}: response: expected hex"
        )),
        "{stdout}"
    );
    assert_eq!(stdout.lines().last(), Some("0 passed, 1 failed"));
}

/// Book 3, 10.6.1 split sales in a trace: the journal's answer to the kernel's
/// transaction log lookup is recorded as `recent-amount 6000` and replayed; a
/// changed answer changes the TVR in the first GENERATE AC; a version 1 trace
/// that gave the amount as `input recent-amount-same-card` still replays.
#[test]
fn the_recent_amount_answer_is_recorded_and_replayed() {
    let dir = tempfile::tempdir().expect("temp dir");
    let journal = dir.path().join("journal.db");
    let key = dir.path().join("journal.key");
    let sale = |record: Option<&Path>| {
        let mut args = vec![
            "transact",
            "--card",
            "cda",
            "--amount",
            "60.00",
            "--date",
            "250615",
            "--random-number",
            "99",
            "--journal",
            journal.to_str().expect("utf-8"),
            "--journal-key",
            key.to_str().expect("utf-8"),
        ];
        if let Some(path) = record {
            args.extend(["--record", path.to_str().expect("utf-8")]);
        }
        let out = emv_terminal(&args);
        assert!(out.status.success(), "{}", text(&out.stderr));
        text(&out.stdout)
    };
    let first = dir.path().join("first.trace");
    sale(Some(&first));
    let first = std::fs::read_to_string(&first).expect("trace");
    assert!(first.contains("\nrecent-amount 0\n"), "{first}");
    let second = dir.path().join("second.trace");
    let stdout = sale(Some(&second));
    assert!(stdout.contains("replays cleanly"), "{stdout}");
    let recorded = std::fs::read_to_string(&second).expect("trace");
    assert!(recorded.contains("\nrecent-amount 6000\n"), "{recorded}");
    assert!(!recorded.contains("recent-amount-same-card"), "{recorded}");
    let tvr = recorded
        .lines()
        .find_map(|line| line.strip_prefix("expect tvr "))
        .expect("expected TVR");
    assert_eq!(&tvr[6..8], "80", "TVR byte 4 b8, exceeds floor limit");

    let replay = |name: &str, text_of_trace: &str| {
        let path = dir.path().join(name);
        std::fs::write(&path, text_of_trace).expect("write");
        emv_terminal(&["replay", path.to_str().expect("utf-8")])
    };
    assert!(replay("same.trace", &recorded).status.success());

    let changed = recorded.replace("\nrecent-amount 6000\n", "\nrecent-amount 0\n");
    let out = replay("changed.trace", &changed);
    let stdout = text(&out.stdout);
    assert!(!out.status.success(), "{stdout}");
    assert!(
        stdout.contains("(first GENERATE AC): the kernel sent a different command"),
        "{stdout}"
    );

    let legacy = recorded.replace("\nrecent-amount 6000\n", "\n").replace(
        "input merchant-forced-online",
        "input recent-amount-same-card 6000\ninput merchant-forced-online",
    );
    let out = replay("legacy.trace", &legacy);
    assert!(out.status.success(), "{}", text(&out.stdout));
    let out = replay(
        "legacy-zero.trace",
        &recorded.replace("\nrecent-amount 6000\n", "\n"),
    );
    assert!(!out.status.success(), "no answer and no input: 0");
}

/// Traces spell the ARC as its two characters (`expect arc 00`, `host approved
/// arc=00`), as the JSON does; a trace a user wrote in format version 1, with the ARC
/// in hex (`3030`), still replays, and a wrong ARC in either spelling fails.
#[test]
fn arc_in_two_characters_and_the_old_hex_spelling_replays() {
    let current = std::fs::read_to_string(corpus_trace("card-online")).expect("trace");
    assert!(current.starts_with("emv-trace 2\n"), "{current}");
    assert!(current.contains("\nexpect arc 00\n"), "{current}");
    assert!(current.contains("\nhost approved arc=00 "), "{current}");
    let run = emv_terminal(&[
        "transact",
        "--card",
        "card-online",
        "--amount",
        "10.00",
        "--json",
        "--no-journal",
    ]);
    let json: serde_json::Value = serde_json::from_slice(&run.stdout).expect("json");
    assert_eq!(
        json["authorisation_response_code"], "00",
        "the same spelling"
    );

    let dir = tempfile::tempdir().expect("temp dir");
    let old = current
        .replacen("emv-trace 2\n", "emv-trace 1\n", 1)
        .replace("\nexpect arc 00\n", "\nexpect arc 3030\n")
        .replace("\nhost approved arc=00 ", "\nhost approved arc=3030 ");
    assert_ne!(old, current);
    let old_path = dir.path().join("old.trace");
    std::fs::write(&old_path, &old).expect("write");
    let out = emv_terminal(&["replay", old_path.to_str().expect("utf-8")]);
    assert!(out.status.success(), "{}", text(&out.stdout));
    assert_eq!(text(&out.stdout).lines().last(), Some("1 passed, 0 failed"));
    for wrong in [
        old.replace("\nexpect arc 3030\n", "\nexpect arc 3035\n"),
        current.replace("\nexpect arc 00\n", "\nexpect arc 05\n"),
    ] {
        let path = dir.path().join("wrong.trace");
        std::fs::write(&path, wrong).expect("write");
        let out = emv_terminal(&["replay", path.to_str().expect("utf-8")]);
        assert!(!out.status.success());
        assert!(
            text(&out.stdout).contains("arc: expected 05, actual 00"),
            "{}",
            text(&out.stdout)
        );
    }
}

/// An issuer referral (Book 4, 6.5.2) is recorded as a `referral` line and
/// fed back on replay: the recorded call replays cleanly, the opposite call
/// diverges at the second GENERATE AC (TC asked for instead of AAC).
#[test]
fn a_referral_is_recorded_and_replayed() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("referral.trace");
    let file = path.to_str().expect("utf-8 path");
    let out = record_with(
        "issuer-scripts",
        &path,
        &["--host", "refer", "--referral", "decline"],
    );
    assert!(
        text(&out.stdout).contains("replays cleanly"),
        "{}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    let recorded = std::fs::read_to_string(&path).expect("trace");
    assert!(recorded.contains("\nreferral decline\n"), "{recorded}");
    assert!(emv_terminal(&["replay", file]).status.success());

    std::fs::write(
        &path,
        recorded.replace("\nreferral decline\n", "\nreferral approve\n"),
    )
    .expect("write");
    let out = emv_terminal(&["replay", file]);
    assert!(!out.status.success(), "{}", text(&out.stdout));
}
