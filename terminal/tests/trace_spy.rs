//! `emv-terminal trace import --from pcsc-spy`: a real pcsc-spy log (made on
//! this project's machine: the cda test card served into pcscd's virtual
//! reader, the kernel's command sequence sent by a small C program under the
//! spy library, then `pcsc-spy -n`) imported and replayed. The log was
//! recorded when the cda card still had PAN 6799990100000011 (before every
//! profile had its own); the replay needs only the log, so it stays as made.

use std::path::PathBuf;
use std::process::{Command, Output};

use emv_trace::format;
use emv_trace::spy;

fn fixture(path: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/traces")
        .join(path)
}

fn emv_terminal(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_emv-terminal"))
        .args(args)
        .env("NO_COLOR", "1")
        .output()
        .expect("run emv-terminal")
}

#[test]
fn the_log_has_the_thirteen_exchanges_of_the_cda_transaction() {
    let log = std::fs::read_to_string(fixture("pcsc-spy/cda-through-pcscd.log")).expect("log");
    let exchanges = spy::parse_log(&log).expect("parses");
    assert_eq!(exchanges.len(), 13);
    let first = &exchanges[0];
    assert_eq!(
        hex::encode_upper(&first.command),
        "00A404000E315041592E5359532E444446303100"
    );
    assert_eq!(
        first.response.as_deref().map(hex::encode_upper),
        Ok("6F1A840E315041592E5359532E4444463031A5088801015F2D02656E9000".to_owned())
    );
    // The kernel's sequence for a CDA card: PSE, directory, final SELECT,
    // GPO, records, velocity data, one GENERATE AC (TC with CDA).
    let instructions: Vec<u8> = exchanges.iter().map(|e| e.command[1]).collect();
    assert_eq!(
        instructions,
        [0xA4, 0xB2, 0xB2, 0xA4, 0xA8, 0xB2, 0xB2, 0xB2, 0xB2, 0xB2, 0xCA, 0xCA, 0xAE]
    );
}

#[test]
fn import_derives_the_inputs_and_replays_to_the_recorded_outcome() {
    let dir = tempfile::tempdir().expect("temp dir");
    let output = dir.path().join("imported.trace");
    let out_arg = output.to_str().expect("utf-8");
    let log = fixture("pcsc-spy/cda-through-pcscd.log");
    let out = emv_terminal(&[
        "trace",
        "import",
        "--from",
        "pcsc-spy",
        log.to_str().expect("utf-8"),
        "-o",
        out_arg,
    ]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("amount: 000000001000 from the command data"),
        "{stdout}"
    );
    assert!(
        stdout.contains("unpredictable number: 11223344 from the command data"),
        "{stdout}"
    );
    assert!(stdout.contains("13 exchanges imported"), "{stdout}");
    let text = std::fs::read_to_string(&output).expect("trace");
    assert!(
        text.contains("masked yes") && text.contains("\nstand-in "),
        "{text}"
    );
    assert!(!text.contains("6799990100000011"), "the PAN is masked");

    let out = emv_terminal(&["replay", out_arg]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let out = emv_terminal(&["replay", "--update", out_arg]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("added the outcome fields"));
    let imported =
        format::parse(&std::fs::read_to_string(&output).expect("trace")).expect("parses");
    // The cda card with the inputs read back from the log: offline approval, CDA.
    for (field, value) in [
        ("outcome", "approved"),
        ("cryptogram-type", "tc"),
        ("tvr", "0000000000"),
        ("oda", "cda succeeded"),
        ("masked-pan", "679999******0011"),
    ] {
        assert_eq!(imported.expected.get(field), Some(value), "{field}");
    }
    let out = emv_terminal(&["replay", out_arg]);
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).lines().last(),
        Some("1 passed, 0 failed")
    );
}

#[test]
fn import_with_a_capk_file_references_it() {
    let dir = tempfile::tempdir().expect("temp dir");
    let output = dir.path().join("imported.trace");
    let out_arg = output.to_str().expect("utf-8");
    let capk = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../test-cards/keys/capk.txt");
    let log = fixture("pcsc-spy/cda-through-pcscd.log");
    let out = emv_terminal(&[
        "trace",
        "import",
        log.to_str().expect("utf-8"),
        "-o",
        out_arg,
        "--capk",
        capk.to_str().expect("utf-8"),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = std::fs::read_to_string(&output).expect("trace");
    assert!(text.contains("\ncapk file "), "{text}");
    let out = emv_terminal(&["replay", "--update", out_arg]);
    assert!(out.status.success());
    assert!(std::fs::read_to_string(&output)
        .expect("trace")
        .contains("expect oda cda succeeded"));
}
