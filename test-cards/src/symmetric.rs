//! The card's symmetric cryptography: key derivation, MACs, cryptograms, ARPC.
//!
//! Everything here follows EMV Book 2 Annex A1 with double-length 3DES keys:
//! ICC master key derivation option A (A1.4.1), the common session key
//! derivation (A1.3.1), MAC algorithm ISO/IEC 9797-1 algorithm 3 with
//! padding method 2 (A1.2.1) and ARPC method 1 (8.2.1).

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
/// shorter), packed in 8 bytes; the key is 3DES(IMK)[Y] || 3DES(IMK)[Y xor FF..FF].
pub fn derive_icc_master_key(issuer_master_key: &Key16, pan: &[u8], pan_sequence: u8) -> Key16 {
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
    let mut sixteen = [0u8; 16];
    let take = digits.len().min(16);
    sixteen[16 - take..].copy_from_slice(&digits[digits.len() - take..]);
    let mut y = [0u8; 8];
    for (i, b) in y.iter_mut().enumerate() {
        *b = (sixteen[2 * i] << 4) | sixteen[2 * i + 1];
    }
    let left = tdes_encrypt(issuer_master_key, y);
    let right = tdes_encrypt(issuer_master_key, xor8(y, [0xFF; 8]));
    let mut key = [0u8; 16];
    key[..8].copy_from_slice(&left);
    key[8..].copy_from_slice(&right);
    key
}

/// Book 2, A1.3.1: common session key derivation from an ICC master key and
/// an 8-byte diversification value R: SK = 3DES(MK)[R0 R1 F0 R3..R7] ||
/// 3DES(MK)[R0 R1 0F R3..R7].
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

/// The diversification value for application cryptogram session keys:
/// ATC || 00 00 00 00 00 00 (Book 2, A1.3.1 with R = ATC).
pub fn ac_diversification(atc: u16) -> [u8; 8] {
    let [hi, lo] = atc.to_be_bytes();
    [hi, lo, 0, 0, 0, 0, 0, 0]
}

/// Book 2, 8.2.1 ARPC method 1: 3DES(SK_AC)[ARQC xor (ARC || 00..00)].
pub fn arpc_method1(session_key: &Key16, arqc: [u8; 8], arc: [u8; 2]) -> [u8; 8] {
    tdes_encrypt(session_key, xor8(arqc, [arc[0], arc[1], 0, 0, 0, 0, 0, 0]))
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
}
