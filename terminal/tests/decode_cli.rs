//! `emv-terminal decode` as a user runs it: arguments, stdin, exit codes.

use std::io::Write;
use std::process::{Command, Output, Stdio};

fn decode(args: &[&str], stdin: Option<&str>) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_emv-terminal"))
        .arg("decode")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start emv-terminal");
    let mut input = child.stdin.take().expect("stdin");
    input
        .write_all(stdin.unwrap_or("").as_bytes())
        .expect("write stdin");
    drop(input);
    child.wait_with_output().expect("run emv-terminal")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8(bytes.to_vec()).expect("utf-8 output")
}

/// The FCI of the Payment System Environment (Book 1, 12.2.4): DF name
/// 1PAY.SYS.DDF01, SFI 1 of the directory, language "en", code table 1.
const PSE_FCI: &str =
    "6F 1E 84 0E 315041592E5359532E4444463031 A5 0C 88 01 01 5F2D 02 656E 9F11 01 01";

#[test]
fn prints_the_tree_with_names_and_values() {
    let out = decode(&[PSE_FCI], None);
    assert!(out.status.success());
    assert_eq!(
        text(&out.stdout),
        "6F File Control Information (FCI) Template\n\
         \x20 84 Dedicated File (DF) Name [b 14]: 31 50 41 59 2E 53 59 53 2E 44 44 46 30 31\n\
         \x20 A5 File Control Information (FCI) Proprietary Template\n\
         \x20   88 Short File Identifier (SFI) [b 1]: 01\n\
         \x20   5F2D Language Preference [an 2]: en\n\
         \x20   9F11 Issuer Code Table Index [n 1]: 1\n"
    );
}

#[test]
fn decodes_bits_below_the_value() {
    // GPO response format 2: AIP 1980 (CVM, TRM, CDA), AFL with one entry.
    let out = decode(&["77:0A:82:02:19:80:94:04:08:01:03:01"], None);
    assert!(out.status.success());
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains(
            "  82 Application Interchange Profile (AIP) [b 2]: 19 80\n\
             \x20     Cardholder verification is supported\n\
             \x20     Terminal risk management is to be performed\n\
             \x20     CDA supported\n\
             \x20     Reserved for use by the EMV Contactless Specifications\n"
        ),
        "{stdout}"
    );
    assert!(stdout.contains("SFI 1, records 1-3, 1 for offline data authentication"));
}

#[test]
fn reads_stdin_and_prints_json() {
    let out = decode(
        &["-", "--json"],
        Some("9F02 06 000000001000\n5A 08 4761739001010010\n"),
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("valid JSON");
    assert_eq!(json["schema_version"], 1);
    let json = &json["objects"];
    assert_eq!(json[0]["tag"], "9F02");
    assert_eq!(json[0]["format"], "n");
    assert_eq!(json[0]["value"], "1000");
    assert_eq!(json[1]["name"], "Application Primary Account Number (PAN)");
    assert_eq!(json[1]["value"], "4761739001010010");
    assert_eq!(json[1]["offset"], 9);
}

#[test]
fn malformed_tlv_fails_with_offset() {
    // The template says 5 bytes but only 3 follow.
    let out = decode(&["6F05840312"], None);
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());
    let stderr = text(&out.stderr);
    assert!(stderr.contains("offset 0"), "{stderr}");
    assert!(stderr.starts_with("error: malformed TLV"), "{stderr}");
}

#[test]
fn flags_lengths_the_dictionary_does_not_allow() {
    // A TVR of 3 bytes instead of 5; an unknown proprietary tag.
    let out = decode(&["95 03 800000 DF7F 01 AA"], None);
    assert!(out.status.success());
    assert_eq!(
        text(&out.stdout),
        "95 Terminal Verification Results (TVR) [b 3]: 80 00 00\n\
         \x20   Offline data authentication was not performed\n\
         \x20   Unexpected length: 3 bytes, the dictionary says 5\n\
         DF7F Unknown [1]: AA\n"
    );
}

#[test]
fn not_hex_is_a_clear_error() {
    let out = decode(&["6F0"], None);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("odd number of hex digits"));
    let out = decode(&["6F zz"], None);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("not hex: 'z'"));
}
