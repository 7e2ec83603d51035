//! A closed standard output ends a listing quietly with status 0, as for any Unix
//! filter (`emv-terminal journal list | head -1`): no panic, no `error: Broken pipe`.

use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Command, Stdio};

use emv_test_support::paths;

/// Runs `args`, reads one line of its standard output, then closes the pipe; returns
/// the line, its stderr and its exit code.
fn read_one_line_then_close(args: &[String], input: &str) -> (String, String, Option<i32>) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_emv-terminal"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .env_remove("EMV_JOURNAL_KEY_FILE")
        .spawn()
        .expect("emv-terminal runs");
    let mut stdin = child.stdin.take().expect("piped stdin");
    stdin.write_all(input.as_bytes()).expect("input written");
    drop(stdin);
    let mut stdout = BufReader::new(child.stdout.take().expect("piped stdout"));
    let mut line = String::new();
    stdout.read_line(&mut line).expect("one line");
    drop(stdout);
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .expect("piped stderr")
        .read_to_string(&mut stderr)
        .expect("stderr");
    (line, stderr, child.wait().expect("exits").code())
}

fn strings(args: &[&str]) -> Vec<String> {
    args.iter().map(|a| (*a).to_owned()).collect()
}

#[test]
fn listings_end_quietly_with_status_0_when_the_reader_goes_away() {
    // A long decode: 3000 primitives, far more output than a pipe buffer (64 KiB) holds,
    // so the writer meets the closed pipe.
    let many = "9F02060000000010005A0847617390010100109F1A020250".repeat(1000);
    #[allow(unused_mut)]
    let mut cases: Vec<(Vec<String>, String)> = vec![
        (strings(&["decode", "-"]), many.clone()),
        (strings(&["decode", "--json", "-"]), many),
    ];
    #[cfg(feature = "simulated-cards")]
    cases.push((strings(&["card", "list", "--verbose"]), String::new()));
    for (args, input) in cases {
        let (line, stderr, code) = read_one_line_then_close(&args, &input);
        assert!(!line.is_empty(), "{args:?}");
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
        assert!(!stderr.contains("Broken pipe"), "{args:?}: {stderr}");
        assert_eq!(code, Some(0), "{args:?}: {stderr}");
    }
}

#[test]
fn journal_list_into_head_is_quiet() {
    // 700 records: more than 64 KiB of listing.
    let journal = paths();
    let mut simulate = strings(&["journal", "simulate", "--count", "700", "--delay-ms", "0"]);
    simulate.extend(journal.args());
    let status = Command::new(env!("CARGO_BIN_EXE_emv-terminal"))
        .args(&simulate)
        .stdout(Stdio::null())
        .status()
        .expect("simulate");
    assert!(status.success());
    for json in [false, true] {
        let mut args = strings(&["journal", "list", "--limit", "1000"]);
        args.extend(journal.args());
        if json {
            args.push("--json".to_owned());
        }
        let (line, stderr, code) = read_one_line_then_close(&args, "");
        assert!(!line.is_empty());
        assert!(!stderr.contains("Broken pipe"), "{stderr}");
        assert_eq!(code, Some(0), "{stderr}");
    }
}
