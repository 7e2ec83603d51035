//! A closed standard output ends the program quietly, as for any Unix filter
//! (`emv-terminal card list | head -1`), never with a panic.

use std::io::{Read, Write};
use std::process::{Command, Stdio};

/// Runs `args` with its standard output closed before it writes anything,
/// feeding `input` on standard input; returns its stderr and status.
fn run_with_closed_stdout(args: &[&str], input: &str) -> (String, std::process::ExitStatus) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_emv-terminal"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("emv-terminal runs");
    drop(child.stdout.take());
    let mut stdin = child.stdin.take().expect("piped stdin");
    stdin.write_all(input.as_bytes()).expect("input written");
    drop(stdin);
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .expect("piped stderr")
        .read_to_string(&mut stderr)
        .expect("stderr");
    (stderr, child.wait().expect("exits"))
}

#[test]
fn closed_stdout_is_not_a_panic() {
    let pse_fci = "6F1E840E315041592E5359532E4444463031A50C8801015F2D02656E9F110101\n";
    let (stderr, status) = run_with_closed_stdout(&["decode", "-"], pse_fci);
    assert!(!stderr.contains("panicked"), "stderr: {stderr}");
    // Killed by SIGPIPE (no exit code), as `cat` would be.
    assert_eq!(status.code(), None, "{status:?}, stderr: {stderr}");
}
