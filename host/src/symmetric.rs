//! EMV's symmetric cryptography, shared by the issuer host and the test cards:
//! key derivation, MACs, cryptograms, ARPC.
//!
//! Everything here follows EMV Book 2 Annex A1 with double-length 3DES keys:
//! ICC master key derivation options A (A1.4.1) and B (A1.4.2), the common
//! session key derivation (A1.3.1), MAC algorithm ISO/IEC 9797-1 algorithm 3
//! with padding method 2 (A1.2.1), ARPC methods 1 (8.2.1) and 2 (8.2.2), and
//! the script command MAC (9.2).

use des::cipher::{Array, BlockCipherDecrypt, BlockCipherEncrypt, KeyInit};
use des::{Des, TdesEde2};

/// A double-length (16-byte) 3DES key.
pub type Key16 = [u8; 16];

/// Encrypts one 8-byte block with double-length 3DES (EDE, K1 K2 K1).
pub fn tdes_encrypt(key: &Key16, block: [u8; 8]) -> [u8; 8] {
    let cipher = TdesEde2::new(&Array::from(*key));
    let mut b = Array::from(block);
    cipher.encrypt_block(&mut b);
    b.into()
}

/// Decrypts one 8-byte block with double-length 3DES.
pub fn tdes_decrypt(key: &Key16, block: [u8; 8]) -> [u8; 8] {
    let cipher = TdesEde2::new(&Array::from(*key));
    let mut b = Array::from(block);
    cipher.decrypt_block(&mut b);
    b.into()
}

fn xor8(a: [u8; 8], b: [u8; 8]) -> [u8; 8] {
    let mut out = [0u8; 8];
    for (o, (x, y)) in out.iter_mut().zip(a.iter().zip(b.iter())) {
        *o = x ^ y;
    }
    out
}

fn split_key(key: &Key16) -> ([u8; 8], [u8; 8]) {
    let mut left = [0u8; 8];
    let mut right = [0u8; 8];
    left.copy_from_slice(&key[..8]);
    right.copy_from_slice(&key[8..]);
    (left, right)
}

/// Book 2, A1.2.1: MAC with ISO/IEC 9797-1 algorithm 3 (single-DES CBC with
/// the left key half, final block decrypted with the right half and
/// encrypted again with the left) over `data` padded with ISO/IEC 9797-1
/// padding method 2 (`80` then `00` to a multiple of 8). Returns 8 bytes;
/// callers truncate.
pub fn retail_mac(key: &Key16, data: &[u8]) -> [u8; 8] {
    let (left, right) = split_key(key);
    let des_left = Des::new(&Array::from(left));
    let des_right = Des::new(&Array::from(right));
    let mut state = [0u8; 8];
    let full_blocks = data.len() / 8;
    let mut process = |block: [u8; 8]| {
        let mut b = Array::from(xor8(state, block));
        des_left.encrypt_block(&mut b);
        state = b.into();
    };
    for chunk in data.chunks_exact(8) {
        let mut block = [0u8; 8];
        block.copy_from_slice(chunk);
        process(block);
    }
    let mut last = [0u8; 8];
    let rest = &data[full_blocks * 8..];
    last[..rest.len()].copy_from_slice(rest);
    last[rest.len()] = 0x80;
    process(last);
    let mut b = Array::from(state);
    des_right.decrypt_block(&mut b);
    des_left.encrypt_block(&mut b);
    b.into()
}

/// Book 2, A1.4.1 option A: derives the ICC master key from an issuer master
/// key, the PAN and the PAN sequence number.
///
/// Y is the rightmost 16 digits of PAN || PSN (left-padded with zeros when
/// shorter), packed in 8 bytes; the key is 3DES(IMK)\[Y\] || 3DES(IMK)\[Y xor FF..FF\].
pub fn derive_icc_master_key(issuer_master_key: &Key16, pan: &[u8], pan_sequence: u8) -> Key16 {
    let digits = pan_and_sequence_digits(pan, pan_sequence);
    let mut sixteen = [0u8; 16];
    let take = digits.len().min(16);
    sixteen[16 - take..].copy_from_slice(&digits[digits.len() - take..]);
    let mut y = [0u8; 8];
    for (i, b) in y.iter_mut().enumerate() {
        *b = (sixteen[2 * i] << 4) | sixteen[2 * i + 1];
    }
    key_from_block(issuer_master_key, y)
}

/// Book 2, A1.3.1: common session key derivation from an ICC master key and
/// an 8-byte diversification value R: SK = 3DES(MK)\[R0 R1 F0 R3..R7\] ||
/// 3DES(MK)\[R0 R1 0F R3..R7\].
pub fn derive_session_key(icc_master_key: &Key16, diversification: [u8; 8]) -> Key16 {
    let mut f1 = diversification;
    f1[2] = 0xF0;
    let mut f2 = diversification;
    f2[2] = 0x0F;
    let mut key = [0u8; 16];
    key[..8].copy_from_slice(&tdes_encrypt(icc_master_key, f1));
    key[8..].copy_from_slice(&tdes_encrypt(icc_master_key, f2));
    key
}

/// The diversification value the test cards use for application cryptogram
/// session keys: ATC || 00 00 00 00 00 00 (Book 2, A1.3.1 with R = ATC
/// padded with zeros; the EMV common session key of 8.1.2 puts the
/// Unpredictable Number in the last four bytes, [`common_ac_diversification`]).
pub fn ac_diversification(atc: u16) -> [u8; 8] {
    let [hi, lo] = atc.to_be_bytes();
    [hi, lo, 0, 0, 0, 0, 0, 0]
}

/// Book 2, 8.2.1 ARPC method 1: 3DES(SK_AC)\[ARQC xor (ARC || 00..00)\].
pub fn arpc_method1(session_key: &Key16, arqc: [u8; 8], arc: [u8; 2]) -> [u8; 8] {
    tdes_encrypt(session_key, xor8(arqc, [arc[0], arc[1], 0, 0, 0, 0, 0, 0]))
}

/// Book 2, 8.2.2 ARPC method 2: the 4-byte MAC (A1.2.1, under SK_AC) over
/// ARQC || Card Status Update || Proprietary Authentication Data (0 to 8
/// bytes). The Issuer Authentication Data is then ARPC || CSU || PAD
/// ([`issuer_authentication_data_method2`]).
pub fn arpc_method2(
    session_key: &Key16,
    arqc: [u8; 8],
    card_status_update: [u8; 4],
    proprietary: &[u8],
) -> [u8; 4] {
    let mut input = Vec::with_capacity(12 + proprietary.len());
    input.extend_from_slice(&arqc);
    input.extend_from_slice(&card_status_update);
    input.extend_from_slice(proprietary);
    let mac = retail_mac(session_key, &input);
    [mac[0], mac[1], mac[2], mac[3]]
}

/// Book 2, 8.2.1: Issuer Authentication Data (91) for method 1, ARPC (8) || ARC (2).
pub fn issuer_authentication_data_method1(arpc: [u8; 8], arc: [u8; 2]) -> Vec<u8> {
    let mut data = arpc.to_vec();
    data.extend_from_slice(&arc);
    data
}

/// Book 2, 8.2.2: Issuer Authentication Data (91) for method 2,
/// ARPC (4) || CSU (4) || Proprietary Authentication Data (0 to 8).
pub fn issuer_authentication_data_method2(
    arpc: [u8; 4],
    card_status_update: [u8; 4],
    proprietary: &[u8],
) -> Vec<u8> {
    let mut data = arpc.to_vec();
    data.extend_from_slice(&card_status_update);
    data.extend_from_slice(proprietary);
    data
}

/// The diversification value of the EMV common session key for application
/// cryptograms, Book 2, 8.1.2 with A1.3.1: R = ATC || 00 00 || Unpredictable Number.
pub fn common_ac_diversification(atc: u16, unpredictable_number: [u8; 4]) -> [u8; 8] {
    let [hi, lo] = atc.to_be_bytes();
    let [u0, u1, u2, u3] = unpredictable_number;
    [hi, lo, 0, 0, u0, u1, u2, u3]
}

/// Book 2, A1.4.2 option B: derives the ICC master key when PAN || PSN is
/// longer than 16 digits (up to 16 digits it is option A,
/// [`derive_icc_master_key`]).
///
/// X is PAN || PSN as digits, a `0` put in front when their number is odd;
/// Y = SHA-1(X) as 40 hex digits; Z takes the decimal digits of Y left to
/// right, and when fewer than 16, then its digits `A`-`F` decimalised (minus
/// 10) left to right, up to 16 digits; the key is then derived from Z as in
/// option A.
pub fn derive_icc_master_key_option_b(
    issuer_master_key: &Key16,
    pan: &[u8],
    pan_sequence: u8,
) -> Key16 {
    let digits = pan_and_sequence_digits(pan, pan_sequence);
    if digits.len() <= 16 {
        return derive_icc_master_key(issuer_master_key, pan, pan_sequence);
    }
    let mut x = Vec::with_capacity(digits.len() / 2 + 1);
    let padded: Vec<u8> = if digits.len() % 2 == 1 {
        std::iter::once(0).chain(digits.iter().copied()).collect()
    } else {
        digits
    };
    for pair in padded.chunks_exact(2) {
        x.push((pair[0] << 4) | pair[1]);
    }
    let y = ring::digest::digest(&ring::digest::SHA1_FOR_LEGACY_USE_ONLY, &x);
    let nibbles: Vec<u8> = y.as_ref().iter().flat_map(|b| [b >> 4, b & 0x0F]).collect();
    let mut z_digits: Vec<u8> = nibbles.iter().copied().filter(|n| *n <= 9).collect();
    z_digits.extend(nibbles.iter().filter(|n| **n > 9).map(|n| n - 10));
    let mut z = [0u8; 8];
    for (b, pair) in z.iter_mut().zip(z_digits.chunks_exact(2)) {
        *b = (pair[0] << 4) | pair[1];
    }
    key_from_block(issuer_master_key, z)
}

/// The decimal digits of PAN (F padding dropped) then of the PSN.
fn pan_and_sequence_digits(pan: &[u8], pan_sequence: u8) -> Vec<u8> {
    let mut digits: Vec<u8> = Vec::with_capacity(24);
    for byte in pan {
        for nibble in [byte >> 4, byte & 0x0F] {
            if nibble <= 9 {
                digits.push(nibble);
            }
        }
    }
    digits.push((pan_sequence >> 4) & 0x0F);
    digits.push(pan_sequence & 0x0F);
    digits
}

/// Book 2, A1.4.1: 3DES(IMK)\[Y\] || 3DES(IMK)\[Y xor FF..FF\].
fn key_from_block(issuer_master_key: &Key16, y: [u8; 8]) -> Key16 {
    let left = tdes_encrypt(issuer_master_key, y);
    let right = tdes_encrypt(issuer_master_key, xor8(y, [0xFF; 8]));
    let mut key = [0u8; 16];
    key[..8].copy_from_slice(&left);
    key[8..].copy_from_slice(&right);
    key
}

/// The bytes a script command's MAC covers (Book 2, 9.2.1, our layout):
/// CLA INS P1 P2 Lc || ATC || ARQC || command data without the MAC.
/// `lc` is the Lc of the command as sent, MAC included.
pub fn script_mac_input(header: [u8; 4], lc: u8, atc: u16, arqc: [u8; 8], data: &[u8]) -> Vec<u8> {
    let mut input = Vec::with_capacity(15 + data.len());
    input.extend_from_slice(&header);
    input.push(lc);
    input.extend_from_slice(&atc.to_be_bytes());
    input.extend_from_slice(&arqc);
    input.extend_from_slice(data);
    input
}

/// Length of the MAC appended to issuer script commands.
pub const SCRIPT_MAC_LEN: usize = 4;

#[cfg(test)]
mod tests {
    use super::*;

    fn key(hex_str: &str) -> Key16 {
        let mut k = [0u8; 16];
        k.copy_from_slice(&hex::decode(hex_str).unwrap());
        k
    }

    #[test]
    fn tdes_round_trip_and_known_answer() {
        // FIPS 81 / SP 800-67 style check: with K1 = K2 the EDE cipher is single DES.
        let k = key("0123456789ABCDEF0123456789ABCDEF");
        let ct = tdes_encrypt(&k, *b"Now is t");
        assert_eq!(hex::encode_upper(ct), "3FA40E8A984D4815");
        assert_eq!(tdes_decrypt(&k, ct), *b"Now is t");
    }

    #[test]
    fn retail_mac_pads_with_80_even_on_block_boundary() {
        let k = key("0123456789ABCDEFFEDCBA9876543210");
        let exact = retail_mac(&k, &[0x11; 8]);
        let manual = {
            let mut padded = vec![0x11; 8];
            padded.extend_from_slice(&[0x80, 0, 0, 0, 0, 0, 0, 0]);
            // CBC by hand with single DES halves.
            let (l, r) = split_key(&k);
            let dl = Des::new(&Array::from(l));
            let dr = Des::new(&Array::from(r));
            let mut st = [0u8; 8];
            for c in padded.chunks(8) {
                let mut b = [0u8; 8];
                b.copy_from_slice(c);
                let mut g = Array::from(xor8(st, b));
                dl.encrypt_block(&mut g);
                st = g.into();
            }
            let mut g = Array::from(st);
            dr.decrypt_block(&mut g);
            dl.encrypt_block(&mut g);
            let out: [u8; 8] = g.into();
            out
        };
        assert_eq!(exact, manual);
        assert_ne!(retail_mac(&k, &[0x11; 7]), exact);
    }

    #[test]
    fn option_a_uses_rightmost_sixteen_digits() {
        let imk = key("0123456789ABCDEFFEDCBA9876543210");
        // PAN 5413330089600010 (16 digits) + PSN 01 -> Y = 3330089600010 01 -> "1333008960001001"? no:
        // PAN||PSN = 541333008960001001, rightmost 16 = 1333008960001001.
        let pan = hex::decode("5413330089600010").unwrap();
        let mk = derive_icc_master_key(&imk, &pan, 0x01);
        let y = [0x13, 0x33, 0x00, 0x89, 0x60, 0x00, 0x10, 0x01];
        assert_eq!(mk[..8], tdes_encrypt(&imk, y));
        assert_eq!(mk[8..], tdes_encrypt(&imk, xor8(y, [0xFF; 8])));
        // A short PAN with F padding is left-padded with zeros.
        let short = hex::decode("123456789012FFFF").unwrap();
        let mk2 = derive_icc_master_key(&imk, &short, 0x00);
        let y2 = [0x00, 0x12, 0x34, 0x56, 0x78, 0x90, 0x12, 0x00];
        assert_eq!(mk2[..8], tdes_encrypt(&imk, y2));
    }

    #[test]
    fn session_key_uses_f0_and_0f_in_third_byte() {
        let mk = key("00112233445566778899AABBCCDDEEFF");
        let sk = derive_session_key(&mk, ac_diversification(0x0102));
        assert_eq!(sk[..8], tdes_encrypt(&mk, [1, 2, 0xF0, 0, 0, 0, 0, 0]));
        assert_eq!(sk[8..], tdes_encrypt(&mk, [1, 2, 0x0F, 0, 0, 0, 0, 0]));
    }

    #[test]
    fn arpc_method1_inverts() {
        let sk = key("00112233445566778899AABBCCDDEEFF");
        let arqc = [1, 2, 3, 4, 5, 6, 7, 8];
        let arpc = arpc_method1(&sk, arqc, *b"00");
        let back = tdes_decrypt(&sk, arpc);
        assert_eq!(back, [1 ^ 0x30, 2 ^ 0x30, 3, 4, 5, 6, 7, 8]);
    }

    /// Known answers from host/vectors/host_vectors.py (OpenSSL's DES through Python's
    /// `cryptography`, the Book 2 steps written separately there).
    const IMK: &str = "0123456789ABCDEFFEDCBA9876543210";

    fn kcv(k: &Key16) -> String {
        hex::encode_upper(&tdes_encrypt(k, [0; 8])[..2])
    }

    #[test]
    fn known_answers_for_option_a_and_the_common_session_key() {
        let imk = key(IMK);
        let pan = hex::decode("5413330089600010").unwrap();
        let mk = derive_icc_master_key(&imk, &pan, 0x01);
        assert_eq!(hex::encode_upper(mk), "438E4B976EC80CB3F5D21C0CCB32A327");
        let sk = derive_session_key(
            &mk,
            common_ac_diversification(0x0102, [0x11, 0x22, 0x33, 0x44]),
        );
        assert_eq!(hex::encode_upper(sk), "CCE2C9712B5D29B3B73D83B7EB1C2657");
        let sk_atc = derive_session_key(&mk, ac_diversification(0x0102));
        assert_eq!(
            hex::encode_upper(sk_atc),
            "B6464B1B8A62FDAEA7794B2231442BD2"
        );
    }

    #[test]
    fn public_check_values_of_option_a_and_a_script_mac() {
        // Key check values and a MAC published in the test suite of pyemv
        // (github.com/knovichikhin/pyemv): the IMK's KCV 08D7, the option A ICC key
        // of PAN 1234567890123456 PSN 01 KCV 0239, its session key with
        // R = ABCDEF1234567890 KCV F088, and that key's MAC over 8424000008.
        let imk = key(IMK);
        assert_eq!(kcv(&imk), "08D7");
        let pan = hex::decode("1234567890123456").unwrap();
        let mk = derive_icc_master_key(&imk, &pan, 0x01);
        assert_eq!(kcv(&mk), "0239");
        let sk = derive_session_key(&mk, [0xAB, 0xCD, 0xEF, 0x12, 0x34, 0x56, 0x78, 0x90]);
        assert_eq!(kcv(&sk), "F088");
        assert_eq!(
            hex::encode_upper(retail_mac(&sk, &[0x84, 0x24, 0x00, 0x00, 0x08])),
            "CF323F09A0F6AB9E"
        );
    }

    #[test]
    fn known_answer_for_option_b() {
        let imk = key(IMK);
        // 19 digits + PSN: SHA-1 path.
        let pan = hex::decode("5413330089600010123F").unwrap();
        let mk = derive_icc_master_key_option_b(&imk, &pan, 0x01);
        assert_eq!(hex::encode_upper(mk), "678D4DD3A1FA696B3F5D0C8B40093CEB");
        // Up to 16 digits option B is option A.
        let short = hex::decode("54133300896000").unwrap();
        assert_eq!(
            derive_icc_master_key_option_b(&imk, &short, 0x01),
            derive_icc_master_key(&imk, &short, 0x01)
        );
    }

    #[test]
    fn known_answers_for_arpc_methods_1_and_2() {
        let sk = key("CCE2C9712B5D29B3B73D83B7EB1C2657");
        let cdol1 =
            hex::decode("000000001000000000000000097800000000000978250615001122334400").unwrap();
        let arqc = retail_mac(&sk, &cdol1);
        assert_eq!(hex::encode_upper(arqc), "EDE2CF289502C952");
        assert_eq!(
            hex::encode_upper(arpc_method1(&sk, arqc, *b"00")),
            "6E7BD9AEC38ED61D"
        );
        let arpc = arpc_method2(&sk, arqc, [0x00, 0x82, 0x00, 0x00], &[0xA1, 0xB2]);
        assert_eq!(hex::encode_upper(arpc), "DA4F2CF3");
        assert_eq!(
            hex::encode_upper(issuer_authentication_data_method2(
                arpc,
                [0x00, 0x82, 0x00, 0x00],
                &[0xA1, 0xB2]
            )),
            "DA4F2CF300820000A1B2"
        );
        // Another CSU or PAD gives another ARPC.
        assert_ne!(
            arpc_method2(&sk, arqc, [0, 0x82, 0, 1], &[0xA1, 0xB2]),
            arpc
        );
        assert_ne!(arpc_method2(&sk, arqc, [0, 0x82, 0, 0], &[]), arpc);
    }
}
