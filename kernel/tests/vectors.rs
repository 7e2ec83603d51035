//! Hand-checked EMV byte vectors, each next to its decoded form, and back:
//! reading a vector and writing what was read with the TLV writer gives the
//! same bytes whenever the vector's encoding is minimal.

use emv_kernel::apdu::{self, RequestedCryptogram, Response};
use emv_kernel::dol::{self, DolEntry};
use emv_kernel::render::{Afl, AflEntry, CvmCondition, CvmList, CvmMethod};
use emv_kernel::tlv::{self, Tag, Tlv, Writer};

fn bytes(hex_text: &str) -> Vec<u8> {
    let digits: String = hex_text.split_whitespace().collect();
    hex::decode(digits).expect("test vector is hex")
}

/// Writes one object and all its children with minimal lengths.
fn write_tree(tlv: &Tlv<'_>, out: &mut Writer<'_>) {
    if tlv.is_constructed() {
        let mark = out.begin(tlv.tag).unwrap();
        for child in tlv.children() {
            write_tree(&child.unwrap(), out);
        }
        out.end(mark).unwrap();
    } else {
        out.push(tlv.tag, tlv.value).unwrap();
    }
}

/// Reads every object of `data` and writes it again.
fn reencode(data: &[u8]) -> Vec<u8> {
    let mut buf = vec![0u8; data.len() + 64];
    let mut writer = Writer::new(&mut buf);
    for item in tlv::iter(data) {
        write_tree(&item.unwrap(), &mut writer);
    }
    writer.as_bytes().to_vec()
}

/// Book 1, 12.2.4: the FCI the card returns to SELECT of the PSE
/// (1PAY.SYS.DDF01). Directory in SFI 1, language "en", code table 1.
const PSE_FCI: &str = "6F 1E
    84 0E 31 50 41 59 2E 53 59 53 2E 44 44 46 30 31
    A5 0C
       88 01 01
       5F 2D 02 65 6E
       9F 11 01 01";

#[test]
fn pse_fci() {
    let data = bytes(PSE_FCI);
    let fci = tlv::parse_single(&data).unwrap();
    assert_eq!(fci.tag, Tag(0x6F));
    let inside: Vec<_> = fci.children().map(|c| c.unwrap()).collect();
    assert_eq!(inside[0].tag, Tag(0x84));
    assert_eq!(inside[0].value, b"1PAY.SYS.DDF01");
    assert_eq!(inside[0].offset, 2);
    assert_eq!(inside[1].tag, Tag(0xA5));
    assert_eq!(tlv::find(&data, Tag(0x88)), Some(&[0x01][..]));
    assert_eq!(tlv::find(&data, Tag(0x5F2D)), Some(&b"en"[..]));
    assert_eq!(tlv::find(&data, Tag(0x9F11)), Some(&[0x01][..]));
    assert_eq!(tlv::find(&data, Tag(0x9F38)), None);
    assert_eq!(reencode(&data), data);
}

/// Book 1, 12.2.3: a PSE directory record with one Application Template
/// (AID A0000000031010, label "VISA CREDIT", priority 1), padded with two
/// 00 bytes after the template as some cards do.
const PSE_RECORD: &str = "70 1B
    61 19
       4F 07 A0 00 00 00 03 10 10
       50 0B 56 49 53 41 20 43 52 45 44 49 54
       87 01 01
    00 00";

#[test]
fn pse_directory_record_with_padding() {
    let data = bytes(PSE_RECORD);
    let record = tlv::parse_single(&data).unwrap();
    assert_eq!(record.tag, Tag(0x70));
    let entry = record.children().next().unwrap().unwrap();
    assert_eq!(entry.tag, Tag(0x61));
    let fields: Vec<(u32, &[u8])> = entry
        .children()
        .map(|c| c.map(|c| (c.tag.0, c.value)).unwrap())
        .collect();
    assert_eq!(
        fields,
        [
            (0x4F, &[0xA0, 0x00, 0x00, 0x00, 0x03, 0x10, 0x10][..]),
            (0x50, &b"VISA CREDIT"[..]),
            (0x87, &[0x01][..]),
        ]
    );
    // Padding is not part of the record: re-encoding drops it.
    assert_eq!(reencode(&data), &data[..data.len() - 2]);
}

/// Book 3, 6.5.8.4: GET PROCESSING OPTIONS response in format 1 (80): AIP
/// 3900 (DDA, cardholder verification, terminal risk management, CDA), then
/// the AFL: SFI 1 record 1; SFI 2 records 1-2; SFI 3 records 1-2, the first
/// of them signed for offline data authentication.
const GPO_FORMAT_1: &str = "80 0E  39 00  08 01 01 00  10 01 02 00  18 01 02 01";

/// The same answer in format 2 (77), with AIP and AFL as data objects.
const GPO_FORMAT_2: &str = "77 12  82 02 39 00  94 0C 08 01 01 00 10 01 02 00 18 01 02 01";

fn check_aip_and_afl(aip: &[u8], afl: &[u8]) {
    assert_eq!(aip, [0x39, 0x00]);
    let set: Vec<_> = emv_kernel::render::decode_bits(Tag(0x82), aip)
        .filter(|(_, set)| *set)
        .map(|(name, _)| name)
        .collect();
    assert_eq!(
        set,
        [
            "DDA supported",
            "Cardholder verification is supported",
            "Terminal risk management is to be performed",
            "CDA supported"
        ]
    );
    let afl = Afl::parse(afl).unwrap();
    let entries: Vec<_> = afl.entries().collect();
    assert_eq!(
        entries,
        [
            AflEntry {
                sfi: 1,
                first_record: 1,
                last_record: 1,
                oda_records: 0
            },
            AflEntry {
                sfi: 2,
                first_record: 1,
                last_record: 2,
                oda_records: 0
            },
            AflEntry {
                sfi: 3,
                first_record: 1,
                last_record: 2,
                oda_records: 1
            },
        ]
    );
    assert_eq!(afl.record_count(), 5);
    assert_eq!(afl.oda_record_count(), 1);
    let sfi3: Vec<_> = entries[2].records().collect();
    assert_eq!(sfi3, [(1, true), (2, false)]);
}

#[test]
fn gpo_response_format_1() {
    let data = bytes(GPO_FORMAT_1);
    let response = tlv::parse_single(&data).unwrap();
    assert_eq!(response.tag, Tag(0x80));
    assert!(!response.is_constructed());
    let (aip, afl) = response.value.split_at(2);
    check_aip_and_afl(aip, afl);
    assert_eq!(reencode(&data), data);
}

#[test]
fn gpo_response_format_2() {
    let data = bytes(GPO_FORMAT_2);
    let response = tlv::parse_single(&data).unwrap();
    assert_eq!(response.tag, Tag(0x77));
    let aip = tlv::find(&data, Tag(0x82)).unwrap();
    let afl = tlv::find(&data, Tag(0x94)).unwrap();
    check_aip_and_afl(aip, afl);
    assert_eq!(reencode(&data), data);
}

/// A READ RECORD response: PAN 4761739001010010, expiry 31 Dec 2025, with a
/// padding byte between the objects inside the template and three after it.
const RECORD_WITH_PADDING: &str = "70 11
    5A 08 47 61 73 90 01 01 00 10
    00
    5F 24 03 25 12 31
    00 00 00";

#[test]
fn record_with_padding() {
    let data = bytes(RECORD_WITH_PADDING);
    tlv::validate(&data).unwrap();
    let record = tlv::parse_single(&data).unwrap();
    let objects: Vec<_> = record.children().map(|c| c.unwrap()).collect();
    assert_eq!(objects.len(), 2);
    assert_eq!(objects[1].tag, Tag(0x5F24));
    assert_eq!(objects[1].offset, 13);
    let mut pan = String::new();
    emv_kernel::render::write_value(&mut pan, objects[0].tag, objects[0].value).unwrap();
    assert_eq!(pan, "4761739001010010");
    let mut expiry = String::new();
    emv_kernel::render::write_value(&mut expiry, objects[1].tag, objects[1].value).unwrap();
    assert_eq!(expiry, "2025-12-31");
    // Minimal form: no padding, template length 0x10.
    assert_eq!(
        reencode(&data),
        bytes("70 10 5A 08 47 61 73 90 01 01 00 10 5F 24 03 25 12 31")
    );
}

#[test]
fn non_minimal_length_is_read_and_rewritten_minimal() {
    let data = bytes("70 81 05 5A 03 12 34 56");
    let record = tlv::parse_single(&data).unwrap();
    assert_eq!(record.value.len(), 5);
    assert_eq!(reencode(&data), bytes("70 05 5A 03 12 34 56"));
}

/// Book 3, Annex C3: a CVM List (8E). Amount X 1000, amount Y 5000 (binary,
/// implied decimals); rules: enciphered PIN online if the terminal supports it
/// (else next), signature if supported (else fail), no CVM always.
const CVM_LIST: &str = "8E 0E 00 00 03 E8 00 00 13 88 42 03 1E 03 1F 00";

#[test]
fn cvm_list() {
    let data = bytes(CVM_LIST);
    let tlv = tlv::parse_single(&data).unwrap();
    let list = CvmList::parse(tlv.value).unwrap();
    assert_eq!((list.amount_x, list.amount_y), (1000, 5000));
    let rules: Vec<_> = list
        .rules()
        .map(|r| (r.method, r.apply_next_if_unsuccessful, r.condition))
        .collect();
    assert_eq!(
        rules,
        [
            (
                CvmMethod::EncipheredPinOnline,
                true,
                CvmCondition::TerminalSupportsCvm
            ),
            (
                CvmMethod::Signature,
                false,
                CvmCondition::TerminalSupportsCvm
            ),
            (CvmMethod::NoCvmRequired, false, CvmCondition::Always),
        ]
    );
    assert_eq!(reencode(&data), data);
}

/// A typical CDOL1 (8C): amounts, terminal country, TVR, currency, date,
/// type, unpredictable number.
const CDOL1: &str = "8C 15  9F 02 06  9F 03 06  9F 1A 02  95 05  5F 2A 02  9A 03  9C 01  9F 37 04";

#[test]
fn cdol1_parse_and_build() {
    let data = bytes(CDOL1);
    let cdol1 = tlv::find(&data, Tag(0x8C)).unwrap();
    let entries: Vec<_> = dol::entries(cdol1).map(Result::unwrap).collect();
    assert_eq!(entries.len(), 8);
    assert_eq!(
        entries[3],
        DolEntry {
            tag: Tag(0x95),
            length: 5
        }
    );
    assert_eq!(dol::data_length(cdol1), Ok(29));

    // Terminal data; the country code is given one byte too long (n format:
    // its leftmost byte goes) and Amount, Other is absent (zeros).
    let terminal: &[(Tag, &[u8])] = &[
        (Tag(0x9F02), &[0x00, 0x00, 0x00, 0x00, 0x10, 0x00]),
        (Tag(0x9F1A), &[0x00, 0x08, 0x40]),
        (Tag(0x95), &[0x00, 0x00, 0x00, 0x80, 0x00]),
        (Tag(0x5F2A), &[0x08, 0x40]),
        (Tag(0x9A), &[0x25, 0x11, 0x25]),
        (Tag(0x9C), &[0x00]),
        (Tag(0x9F37), &[0x12, 0x34, 0x56, 0x78]),
    ];
    let mut out = [0u8; 64];
    let n = dol::build(cdol1, &terminal, &mut out).unwrap();
    assert_eq!(
        out[..n],
        bytes(
            "00 00 00 00 10 00  00 00 00 00 00 00  08 40  00 00 00 80 00  08 40  25 11 25  00  12 34 56 78"
        )[..]
    );
    let command = apdu::generate_ac(RequestedCryptogram::Arqc, true, &out[..n]).unwrap();
    assert_eq!(command.as_bytes()[..5], [0x80, 0xAE, 0x90, 0x00, 29]);
    assert_eq!(command.as_bytes().len(), 5 + 29 + 1);
    assert_eq!(reencode(&data), data);
}

#[test]
fn gpo_command_from_a_pdol() {
    // PDOL: amount authorised, transaction currency, unpredictable number.
    let pdol = bytes("9F 02 06 5F 2A 02 9F 37 04");
    let terminal: &[(Tag, &[u8])] = &[
        (Tag(0x9F02), &[0x00, 0x00, 0x00, 0x00, 0x25, 0x00]),
        (Tag(0x5F2A), &[0x09, 0x78]),
        (Tag(0x9F37), &[0xCA, 0xFE, 0xBA, 0xBE]),
    ];
    let mut template = [0u8; 64];
    let n = dol::build_gpo_data(Some(&pdol), &terminal, &mut template).unwrap();
    let command = apdu::get_processing_options(&template[..n]).unwrap();
    assert_eq!(
        command.as_bytes(),
        bytes("80 A8 00 00 0E 83 0C 00 00 00 00 25 00 09 78 CA FE BA BE 00")
    );
}

/// Book 3, 6.5.5.4: a GENERATE AC response in format 1 with its status word:
/// CID 80 (ARQC), ATC 0041, the cryptogram, then Issuer Application Data.
#[test]
fn generate_ac_response_format_1() {
    let raw = bytes("80 12 80 00 41 A1 B2 C3 D4 E5 F6 01 23 06 01 0A 03 A0 00 00 90 00");
    let response = Response::parse(&raw).unwrap();
    assert!(response.sw.is_success());
    let tlv = tlv::parse_single(response.data).unwrap();
    let (cid, rest) = tlv.value.split_first().unwrap();
    let (atc, rest) = rest.split_at(2);
    let (cryptogram, iad) = rest.split_at(8);
    assert_eq!(
        emv_kernel::render::CryptogramType::from_cid(*cid),
        emv_kernel::render::CryptogramType::Arqc
    );
    assert_eq!(atc, [0x00, 0x41]);
    assert_eq!(cryptogram, bytes("A1 B2 C3 D4 E5 F6 01 23"));
    assert_eq!(iad, bytes("06 01 0A 03 A0 00 00"));
}
