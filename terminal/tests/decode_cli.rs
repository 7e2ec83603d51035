//! `emv-terminal decode` as a user runs it: arguments, stdin, exit codes.

use std::io::Write;
use std::process::{Command, Output, Stdio};

fn decode(args: &[&str], stdin: Option<&str>) -> Output {
    decode_bytes(args, stdin.unwrap_or("").as_bytes())
}

fn decode_bytes(args: &[&str], stdin: &[u8]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_emv-terminal"))
        .arg("decode")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start emv-terminal");
    let mut input = child.stdin.take().expect("stdin");
    input.write_all(stdin).expect("write stdin");
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
         \x20   5F2D Language Preference [an 2]: en (English)\n\
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

#[test]
fn a_trailing_status_word_is_named_not_parsed_as_tlv() {
    let out = decode(&["770A82021980940408010301", "9000"], None);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(
        stdout.ends_with("SW 9000 (Normal processing)\n"),
        "{stdout}"
    );
    assert!(
        !stdout.contains("Issuer Public Key Certificate"),
        "{stdout}"
    );
    let out = decode(&["--json", "9F360200116985"], None);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(json["status_word"]["hex"], "6985");
    assert_eq!(json["objects"].as_array().map(Vec::len), Some(1));
    // Without a status word the field is null.
    let out = decode(&["--json", "9F36020011"], None);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert!(json["status_word"].is_null(), "{json}");
}

#[test]
fn format_1_templates_split_by_the_command_they_answer() {
    // A format 1 GPO response (Visa, UnionPay contact cards): AIP 1C00, three AFL entries.
    let gpo = "800e1c00080101001001010018030400";
    let out = decode(&["--context", "gpo", gpo], None);
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        stdout.contains("  82 Application Interchange Profile (AIP) [b 2]: 1C 00"),
        "{stdout}"
    );
    assert!(
        stdout.contains("  94 Application File Locator (AFL) [b 12]"),
        "{stdout}"
    );
    assert!(stdout.contains("SFI 3, records 3-4"), "{stdout}");
    // GENERATE AC: CID 80 (ARQC), ATC 0001, AC, IAD.
    let genac = "8012800001112233445566778806010A03A00000";
    let out = decode(&["--context", "genac", "--json", genac], None);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    let parts: Vec<&str> = json["objects"][0]["children"]
        .as_array()
        .expect("children")
        .iter()
        .map(|c| c["tag"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(parts, ["9F27", "9F36", "9F26", "9F10"]);
    assert_eq!(json["objects"][0]["children"][1]["offset"], 3);
    // Without --context: the raw bytes and a hint.
    let stdout = text(&decode(&[gpo], None).stdout);
    assert!(stdout.contains("--context gpo"), "{stdout}");
}

#[test]
fn hex_with_0x_prefixes_and_input_from_a_file() {
    let out = decode(&["0x9F36", "0x02", "0x0011"], None);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("9F36 Application Transaction Counter"));
    let out = decode(&["5F28020056"], None);
    assert!(
        text(&out.stdout).contains("]: 056 (Belgium)\n"),
        "3 digits of ISO 3166, and the name"
    );
    let dir = tempfile::tempdir().unwrap();
    let hex_file = dir.path().join("gpo.hex");
    std::fs::write(&hex_file, "77 0A 82 02 19 80\n94 04 08 01 03 01\n90 00\n").unwrap();
    let binary_file = dir.path().join("gpo.bin");
    std::fs::write(
        &binary_file,
        [
            0x77, 0x0A, 0x82, 0x02, 0x19, 0x80, 0x94, 0x04, 0x08, 0x01, 0x03, 0x01,
        ],
    )
    .unwrap();
    for file in [&hex_file, &binary_file] {
        let out = decode(&["-f", file.to_str().unwrap()], None);
        assert!(out.status.success(), "{}", text(&out.stderr));
        assert!(
            text(&out.stdout).contains("94 Application File Locator"),
            "{}",
            text(&out.stdout)
        );
    }
    let out = decode(&["-f", "/nonexistent/x.hex"], None);
    assert_eq!(out.status.code(), Some(1));
}

/// `--field NAME`: a bare value decoded as that field, as emv-decode's single-field modes
/// do; every field the option names gives its decoded lines.
#[test]
fn single_field_modes_decode_bare_values() {
    let cases: &[(&str, &str, &str)] = &[
        ("tvr", "8000048000", "Transaction exceeds floor limit"),
        ("tsi", "E800", "Offline data authentication was performed"),
        ("aip", "1980", "Cardholder verification is supported"),
        ("auc", "FF00", "Valid for domestic cash transactions"),
        (
            "cvm-list",
            "000000000000000042031E031F00",
            "Signature (paper)",
        ),
        ("cvm-results", "1F0002", "No CVM required"),
        ("cid", "80", "ARQC"),
        ("terminal-capabilities", "E0F8C8", "CDA"),
        ("additional-capabilities", "6000F0A001", "Goods"),
        ("afl", "0801030010010100", "SFI 2, records 1-1"),
        ("dol", "9F02069F1A02", "9F1A Terminal Country Code: 2 bytes"),
        ("sw", "6983", "SW 6983 (Authentication method blocked)"),
        ("atr", "3B6800000073C84013009000", "direct convention, T=0"),
    ];
    for (field, hex, expected) in cases {
        let out = decode(&["--field", field, hex], None);
        assert!(out.status.success(), "{field}: {out:?}");
        let stdout = text(&out.stdout);
        assert!(stdout.contains(expected), "{field} {hex}: {stdout}");
    }
    // Malformed values are errors with their reason, and usage errors exit 64.
    let out = decode(&["--field", "sw", "690000"], None);
    assert_eq!(out.status.code(), Some(64), "{out:?}");
    let out = decode(&["--field", "atr", "--json", "3B00"], None);
    assert_eq!(out.status.code(), Some(64), "{out:?}");
    let out = decode(&["--field", "atr", "00"], None);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let out = decode(&["--field", "tvr", "--context", "gpo", "8000048000"], None);
    assert_eq!(
        out.status.code(),
        Some(64),
        "--field and --context conflict"
    );
}

/// A log pasted from several tools at once: timestamps, log levels, `C-APDU:`/`R-APDU:`,
/// `>>>`/`<<<`, `>`/`<`, `TX:`/`RX:` with the response on continuation lines, and a
/// T=0 `61xx` answered through GET RESPONSE.
const MIXED_LOG: &str = "\
2025-06-15 12:00:00.100 C-APDU: 00 A4 04 00 07 A0 00 00 09 99 10 10 00
2025-06-15 12:00:00.180 R-APDU: 6F 1D 84 07 A0 00 00 09 99 10 10 A5 12 50 04 54 45 53 54 9F 38 06 9F 1A 02 9F 33 03 87 01 01 90 00
[=] >>> 80A800000783050250E0F8C800
[=] <<< 6110
> 00C0000010
< 800E1C00080101001001010018030400 9000 : Normal processing.
TX: 00B2011400
RX:
  70 10 8C 0A 9F 02 06 9F 37 04 9A 03 9C 01
  9F 14 01 05 90 00
>> 80AE 50 00 0E 000000001000 11223344 250615 00 00
<< 771A 9F2701 40 9F3602 0011 9F2608 1122334455667788 9F1003 010203 9000
> 0020008008241234FFFFFFFFFF
< 63C2
";

#[test]
fn an_apdu_log_is_decoded_command_by_command() {
    let out = decode(&["-"], Some(MIXED_LOG));
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    for expected in [
        // Commands named, with what their parameters mean.
        "> 00A4040007A000000999101000  (line 1)\n  SELECT\n    by DF name\n    first or only occurrence\n    AID A0000009991010\n",
        "  GET PROCESSING OPTIONS\n    Le 00\n    83 split by the PDOL (9F38) of the SELECT response\n    83 Command Template [b 5]: 02 50 E0 F8 C8\n      9F1A Terminal Country Code [n 2]: 250 (France)\n",
        "  GET RESPONSE\n    Le 10\n    continues the answer to GET PROCESSING OPTIONS\n",
        "  READ RECORD\n    record 1, SFI 2\n",
        "  GENERATE AC\n    P1 50: TC requested, CDA signature requested\n    Le 00\n    14 bytes of CDOL1 data:\n    9F02 Amount, Authorised (Numeric) [n 6]: 1000\n    9F37 Unpredictable Number [b 4]: 11 22 33 44\n",
        // Responses in the context of their command: the format 1 GPO answer split.
        "< 800E1C000801010010010100180304009000  (line 6)\n",
        "  80 Response Message Template Format 1 [b 14]: 1C 00 08 01 01 00 10 01 01 00 18 03 04 00\n    82 Application Interchange Profile (AIP) [b 2]: 1C 00\n",
        "  SW 6110 (Response bytes still available)\n",
        "    9F27 Cryptogram Information Data [b 1]: 40\n",
        "  SW 63C2 (Verification failed, counter in SW2)\n",
        // The continuation lines of a response are one APDU, at its first line.
        "< 70108C0A9F02069F37049A039C019F1401059000  (line 8)\n",
    ] {
        assert!(stdout.contains(expected), "{expected:?} missing from\n{stdout}");
    }
    // VERIFY: the PIN block never printed.
    assert!(stdout.contains("> 0020008008  (line 13)\n  VERIFY\n    plaintext PIN\n    8 bytes of PIN data withheld\n"), "{stdout}");
    assert!(!stdout.contains("241234"), "{stdout}");
    // The same from a file, and as JSON.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("session.log");
    std::fs::write(&file, MIXED_LOG).unwrap();
    let out = decode(&["--json", "-f", file.to_str().unwrap()], None);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    let exchanges = json["exchanges"].as_array().expect("exchanges");
    assert_eq!(exchanges.len(), 6);
    assert_eq!(exchanges[4]["command"]["name"], "GENERATE AC");
    assert_eq!(
        exchanges[2]["response"]["objects"][0]["children"][0]["tag"],
        "82"
    );
    assert_eq!(exchanges[5]["response"]["status_word"]["hex"], "63C2");
    assert_eq!(exchanges[5]["command"]["hex"], "0020008008");
    assert_eq!(json["objects"], serde_json::json!([]));
    // --context and --field belong to bare data.
    let out = decode(&["--context", "gpo", "-"], Some(MIXED_LOG));
    assert_eq!(out.status.code(), Some(64));
}

#[test]
fn a_pcsc_spy_log_is_decoded_too() {
    let log = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../tests/traces/pcsc-spy/cda-through-pcscd.log"
    );
    let out = decode(&["-f", log], None);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert_eq!(stdout.matches("\n> ").count() + 1, 13, "{stdout}");
    assert!(
        stdout.contains("  GENERATE AC\n    P1 50: TC requested, CDA signature requested\n"),
        "{stdout}"
    );
    assert!(
        stdout.contains("    9F4B Signed Dynamic Application Data"),
        "{stdout}"
    );
}

#[test]
fn binary_standard_input() {
    let gpo = [
        0x77, 0x0A, 0x82, 0x02, 0x19, 0x80, 0x94, 0x04, 0x08, 0x01, 0x03, 0x01, 0x90, 0x00,
    ];
    for args in [&["-"][..], &["-f", "-"]] {
        let out = decode_bytes(args, &gpo);
        assert!(out.status.success(), "{args:?}: {}", text(&out.stderr));
        let stdout = text(&out.stdout);
        assert!(stdout.contains("94 Application File Locator"), "{stdout}");
        assert!(
            stdout.ends_with("SW 9000 (Normal processing)\n"),
            "{stdout}"
        );
    }
    // Hex text on standard input through -f - as well.
    let out = decode(&["-f", "-"], Some("9F36020011"));
    assert!(text(&out.stdout).contains("9F36 Application Transaction Counter"));
    let out = decode_bytes(&["-f", "-"], b"");
    assert_eq!(out.status.code(), Some(1));
}

/// The log example of docs/decode.md is what `decode` prints for it.
#[test]
fn the_log_example_in_the_docs_is_current() {
    let doc = include_str!("../../docs/decode.md");
    let (_, rest) = doc.split_once("$ cat session.log\n").expect("example");
    let (log, rest) = rest
        .split_once("$ emv-terminal decode -f session.log\n")
        .expect("command");
    let (shown, _) = rest.split_once("```").expect("end");
    let out = decode(&["-"], Some(log));
    assert_eq!(text(&out.stdout), shown, "docs/decode.md");
}

/// Country, currency and language codes are shown with their ISO names, and in JSON as
/// `iso_codes` beside the value, which keeps the code itself.
#[test]
fn iso_codes_are_named() {
    let out = decode(
        &["5F28020056 5F2A020978 9F42020840 5F2D04656E6672 9F3B0409780826 9F1A020999"],
        None,
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(
        text(&out.stdout),
        "5F28 Issuer Country Code [n 2]: 056 (Belgium)\n\
         5F2A Transaction Currency Code [n 2]: 978 (Euro, EUR)\n\
         9F42 Application Currency Code [n 2]: 840 (US Dollar, USD)\n\
         5F2D Language Preference [an 4]: en fr (English, French)\n\
         9F3B Application Reference Currency [n 4]: 978 826 (Euro, EUR; Pound Sterling, GBP)\n\
         9F1A Terminal Country Code [n 2]: 999 (not an ISO 3166-1 code)\n"
    );
    let out = decode(&["--json", "5F2A020978 5F2D04656E6672 9F36020056"], None);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(json["objects"][0]["value"], "978");
    assert_eq!(
        json["objects"][0]["iso_codes"],
        serde_json::json!([{"standard": "ISO 4217", "code": "978", "alpha": "EUR", "name": "Euro"}])
    );
    assert_eq!(json["objects"][1]["iso_codes"][1]["name"], "French");
    assert!(json["objects"][2]["iso_codes"].is_null());
}

/// Proprietary tags get the names the schemes publish: every scheme's without knowing
/// the card's, the one of the scheme given (`--scheme`), of the AID in the data, or of
/// the application a log SELECTed. Unknown tags stay unknown.
#[test]
fn proprietary_tags_are_named_by_scheme() {
    let data = "9F7004 01020304 9F5E02 1122 DF7F01 00";
    let out = decode(&[data], None);
    assert_eq!(
        text(&out.stdout),
        "9F70 Protected Data Envelope 1 (Mastercard) / Card Interface Capabilities (American Express) [4]: 01 02 03 04\n\
         9F5E DS ID (Mastercard) [2]: 11 22\n\
         DF7F Unknown [1]: 00\n"
    );
    let out = decode(&["--scheme", "amex", data], None);
    assert_eq!(
        text(&out.stdout),
        "9F70 Card Interface Capabilities (American Express) [4]: 01 02 03 04\n\
         9F5E Unknown [2]: 11 22\n\
         DF7F Unknown [1]: 00\n"
    );
    // The AID in an FCI names the scheme: 9F6E of a Visa card is its Form Factor Indicator.
    let fci = "6F12 8407A0000000031010 A507 9F6E04 20700000";
    let out = decode(&["--scheme", "mastercard", fci], None);
    assert!(
        text(&out.stdout).contains("    9F6E Form Factor Indicator (Visa) [4]: 20 70 00 00\n"),
        "{}",
        text(&out.stdout)
    );
    // In a log, the SELECTed application's RID decides; --scheme is the fallback.
    let log = "> 00A4040007A000000004101000\n< 6F12 8407A0000000041010 A507 9F6E04 02500000 9000\n\
               > 80CA9F7100\n< 9F710101 9000\n";
    let out = decode(&["--scheme", "visa", "-"], Some(log));
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("AID A0000000041010 (Mastercard)"),
        "{stdout}"
    );
    assert!(
        stdout.contains("    9F6E Third Party Data (Mastercard) [4]: 02 50 00 00\n"),
        "{stdout}"
    );
    assert!(
        stdout.contains("  GET DATA\n    9F71 Protected Data Envelope 2 (Mastercard)\n"),
        "{stdout}"
    );
    assert!(
        stdout.contains("  9F71 Protected Data Envelope 2 (Mastercard) [1]: 01\n"),
        "{stdout}"
    );
    let out = decode(&["--json", "--scheme", "unionpay", "DF4F03 9F0206"], None);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(json["objects"][0]["name"], "Load Log Format (UnionPay)");
    assert!(json["objects"][0]["format"].is_null());
}
