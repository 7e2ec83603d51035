//! A minimal terminal-side driver for the card tests: builds commands and
//! walks the card through selection, GPO, records and GENERATE AC.
#![allow(dead_code)]

use emv_test_cards::card::Card;
use emv_test_cards::encode::{dol_data_len, tlv};

/// Splits data || SW.
pub fn split(response: &[u8]) -> (&[u8], u16) {
    let (data, sw) = response.split_at(response.len() - 2);
    (data, u16::from_be_bytes([sw[0], sw[1]]))
}

/// Sends a command through the T=0-resolving exchange.
pub fn send(card: &mut Card, apdu: &[u8]) -> (Vec<u8>, u16) {
    let full = card.exchange(apdu).expect("exchange");
    let (data, sw) = split(&full);
    (data.to_vec(), sw)
}

pub fn apdu(cla: u8, ins: u8, p1: u8, p2: u8, data: &[u8], le: Option<u8>) -> Vec<u8> {
    let mut out = vec![cla, ins, p1, p2];
    if !data.is_empty() {
        out.push(data.len() as u8);
        out.extend_from_slice(data);
    }
    if let Some(le) = le {
        out.push(le);
    }
    out
}

pub fn select(card: &mut Card, name: &[u8], next: bool) -> (Vec<u8>, u16) {
    send(
        card,
        &apdu(
            0x00,
            0xA4,
            0x04,
            if next { 0x02 } else { 0x00 },
            name,
            Some(0),
        ),
    )
}

pub fn read_record(card: &mut Card, sfi: u8, record: u8) -> (Vec<u8>, u16) {
    send(
        card,
        &apdu(0x00, 0xB2, record, (sfi << 3) | 4, &[], Some(0)),
    )
}

/// Finds a tag anywhere in a TLV tree (depth-first).
pub fn find(data: &[u8], tag: u32) -> Option<Vec<u8>> {
    emv_kernel::tlv::find(data, emv_kernel::tlv::Tag(tag)).map(|v| v.to_vec())
}

/// GPO with all-zero PDOL data except terminal country 0250 when asked.
pub fn gpo(card: &mut Card, pdol: &[u8]) -> (Vec<u8>, u16) {
    let data = pdol_data(pdol);
    send(card, &apdu(0x80, 0xA8, 0, 0, &tlv(0x83, &data), Some(0)))
}

pub fn pdol_data(pdol: &[u8]) -> Vec<u8> {
    vec![0x11; dol_data_len(pdol)]
}

/// AIP and AFL from a GPO response of either format.
pub fn aip_afl(response: &[u8]) -> ([u8; 2], Vec<u8>) {
    let outer = emv_kernel::tlv::parse_single(response).expect("GPO response");
    if outer.tag.0 == 0x80 {
        ([outer.value[0], outer.value[1]], outer.value[2..].to_vec())
    } else {
        let aip = find(response, 0x82).expect("AIP");
        (([aip[0], aip[1]]), find(response, 0x94).expect("AFL"))
    }
}

/// Reads every record the AFL lists; returns (sfi, record, bytes, oda-flag).
pub fn read_afl(card: &mut Card, afl: &[u8]) -> Vec<(u8, u8, Vec<u8>, bool)> {
    let mut out = Vec::new();
    for entry in afl.chunks(4).take(16) {
        let (sfi, first, last, oda) = (entry[0] >> 3, entry[1], entry[2], entry[3]);
        for number in first..=last {
            let (data, sw) = read_record(card, sfi, number);
            assert_eq!(sw, 0x9000, "record {sfi}/{number}");
            let signed = usize::from(number - first) < usize::from(oda);
            out.push((sfi, number, data, signed));
        }
    }
    out
}

/// CDOL1 data for amount `amount` (minor units), given UN.
pub fn cdol1_data(amount: u64, unpredictable: [u8; 4]) -> Vec<u8> {
    let mut d = Vec::new();
    d.extend_from_slice(&bcd6(amount));
    d.extend_from_slice(&[0; 6]);
    d.extend_from_slice(&[0x02, 0x50]);
    d.extend_from_slice(&[0; 5]);
    d.extend_from_slice(&[0x09, 0x78]);
    d.extend_from_slice(&[0x26, 0x11, 0x25]);
    d.push(0x00);
    d.extend_from_slice(&unpredictable);
    d.push(0x22);
    d.extend_from_slice(&[0x1E, 0x03, 0x00]);
    d
}

/// CDOL2 data: ARC, TVR, UN, amount, date.
pub fn cdol2_data(arc: &[u8; 2], amount: u64, unpredictable: [u8; 4]) -> Vec<u8> {
    let mut d = arc.to_vec();
    d.extend_from_slice(&[0; 5]);
    d.extend_from_slice(&unpredictable);
    d.extend_from_slice(&bcd6(amount));
    d.extend_from_slice(&[0x26, 0x11, 0x25]);
    d
}

pub fn bcd6(amount: u64) -> [u8; 6] {
    let digits = format!("{amount:012}");
    let mut out = [0u8; 6];
    for (i, pair) in digits.as_bytes().chunks(2).enumerate() {
        out[i] = ((pair[0] - b'0') << 4) | (pair[1] - b'0');
    }
    out
}

pub fn generate_ac(card: &mut Card, p1: u8, data: &[u8]) -> (Vec<u8>, u16) {
    send(card, &apdu(0x80, 0xAE, p1, 0x00, data, Some(0)))
}

/// The fields of a GENERATE AC response (format 1 or 2, CDA or not).
#[derive(Debug, Clone)]
pub struct AcResponse {
    pub cid: u8,
    pub atc: u16,
    pub cryptogram: Option<[u8; 8]>,
    pub iad: Vec<u8>,
    pub sdad: Option<Vec<u8>>,
    /// TLVs except 9F4B, in order (for the CDA hash).
    pub tlvs_without_sdad: Vec<u8>,
}

pub fn parse_ac(response: &[u8]) -> AcResponse {
    let outer = emv_kernel::tlv::parse_single(response).expect("GEN AC response");
    if outer.tag.0 == 0x80 {
        let v = outer.value;
        return AcResponse {
            cid: v[0],
            atc: u16::from_be_bytes([v[1], v[2]]),
            cryptogram: Some(v[3..11].try_into().unwrap()),
            iad: v[11..].to_vec(),
            sdad: None,
            tlvs_without_sdad: Vec::new(),
        };
    }
    let mut r = AcResponse {
        cid: 0,
        atc: 0,
        cryptogram: None,
        iad: Vec::new(),
        sdad: None,
        tlvs_without_sdad: Vec::new(),
    };
    for child in outer.children() {
        let child = child.unwrap();
        match child.tag.0 {
            0x9F27 => r.cid = child.value[0],
            0x9F36 => r.atc = u16::from_be_bytes([child.value[0], child.value[1]]),
            0x9F26 => r.cryptogram = Some(child.value.try_into().unwrap()),
            0x9F10 => r.iad = child.value.to_vec(),
            0x9F4B => r.sdad = Some(child.value.to_vec()),
            _ => {}
        }
        if child.tag.0 != 0x9F4B {
            r.tlvs_without_sdad.extend_from_slice(child.raw);
        }
    }
    r
}

/// CVR bytes from our IAD layout (DKI, CVN, CVR[4]).
pub fn cvr(iad: &[u8]) -> [u8; 4] {
    iad[2..6].try_into().unwrap()
}
