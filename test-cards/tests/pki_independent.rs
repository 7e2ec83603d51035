//! Every profile's certificates and signatures checked with an independent
//! RSA implementation (`num-bigint` modpow, not the `rsa` crate that signed
//! them, not the kernel) and the terminal's CA keys parsed from `capk.txt`.
//! Good profiles pass every check; each ODA failure profile fails exactly
//! the check it is documented to fail.

mod common;

use std::collections::HashMap;

use common::*;
use emv_test_cards::card::Card;
use emv_test_cards::pki::{sha1, CAPK_TXT};
use emv_test_cards::profiles;
use num_bigint::BigUint;

struct CaKey {
    modulus: Vec<u8>,
    exponent: Vec<u8>,
}

/// Parses capk.txt: `RID index expiry rsa exponent modulus sha1 checksum`.
fn capk() -> HashMap<u8, CaKey> {
    let unhex = |s: &str| -> Vec<u8> {
        s.split(':')
            .map(|b| u8::from_str_radix(b, 16).unwrap())
            .collect()
    };
    let mut keys = HashMap::new();
    for line in CAPK_TXT
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
    {
        let f: Vec<&str> = line.split_whitespace().collect();
        if f.get(3)
            .is_some_and(|algorithm| algorithm.starts_with("ecc-"))
        {
            continue; // the ECC keys of XDA: test-cards/src/ecc.rs
        }
        assert_eq!(f.len(), 8, "capk line: {line}");
        let (rid, index, exponent, modulus, checksum) = (
            unhex(f[0]),
            u8::from_str_radix(f[1], 16).unwrap(),
            unhex(f[4]),
            unhex(f[5]),
            unhex(f[7]),
        );
        assert_eq!(rid, [0xA0, 0x00, 0x00, 0x09, 0x99]);
        assert_eq!((f[3], f[6]), ("rsa", "sha1"));
        let hashed = [&rid[..], &[index], &modulus, &exponent].concat();
        assert_eq!(
            sha1(&hashed).to_vec(),
            checksum,
            "capk checksum of index {index:02X}"
        );
        keys.insert(index, CaKey { modulus, exponent });
    }
    keys
}

/// Raw RSA public operation with num-bigint; None when the block is out of range.
fn recover(modulus: &[u8], exponent: &[u8], signature: &[u8]) -> Option<Vec<u8>> {
    if signature.len() != modulus.len() {
        return None;
    }
    let n = BigUint::from_bytes_be(modulus);
    let s = BigUint::from_bytes_be(signature);
    if s >= n {
        return None;
    }
    let m = s
        .modpow(&BigUint::from_bytes_be(exponent), &n)
        .to_bytes_be();
    let mut out = vec![0u8; modulus.len() - m.len()];
    out.extend_from_slice(&m);
    (out[0] == 0x6A && out[out.len() - 1] == 0xBC).then_some(out)
}

/// Checks `hash(block[1..len-21] || extra) == block[len-21..len-1]`.
fn hash_ok(block: &[u8], extra: &[u8]) -> bool {
    let n = block.len();
    sha1(&[&block[1..n - 21], extra].concat()) == block[n - 21..n - 1]
}

#[derive(Debug, Default, PartialEq, Eq)]
struct Findings {
    ca_key_known: bool,
    issuer_cert_ok: bool,
    issuer_cert_expiry: Vec<u8>,
    issuer_cert_serial: Vec<u8>,
    ssad_ok: Option<bool>,
    icc_cert_ok: Option<bool>,
    icc_pan_matches: Option<bool>,
    dda_ok: Option<bool>,
    cda_ok: Option<bool>,
    pin_cert_ok: Option<bool>,
}

fn examine(card: &mut Card, aid: &[u8], cas: &HashMap<u8, CaKey>) -> Findings {
    let mut f = Findings::default();
    let (fci, sw) = select(card, aid, false);
    assert_eq!(sw, 0x9000);
    let pdol = find(&fci, 0x9F38).unwrap_or_default();
    let pdol_data = pdol_data(&pdol);
    let (gpo_response, _) = gpo(card, &pdol);
    let (aip, afl) = aip_afl(&gpo_response);
    let records = read_afl(card, &afl);
    let all: Vec<u8> = records.iter().flat_map(|r| r.2.clone()).collect();
    let mut static_data: Vec<u8> = Vec::new();
    for (sfi, _, bytes, signed) in &records {
        if *signed {
            assert!(*sfi <= 10);
            static_data.extend_from_slice(emv_kernel::tlv::parse_single(bytes).unwrap().value);
        }
    }
    static_data.extend_from_slice(&aip); // 9F4A lists 82
    let pan = find(&all, 0x5A).unwrap();
    let index = find(&all, 0x8F).unwrap()[0];
    let Some(ca) = cas.get(&index) else { return f };
    f.ca_key_known = true;

    // Issuer public key certificate (Book 2, 5.3).
    let cert = find(&all, 0x90).unwrap();
    let remainder = find(&all, 0x92).unwrap_or_default();
    let issuer_exp = find(&all, 0x9F32).unwrap();
    let Some(block) = recover(&ca.modulus, &ca.exponent, &cert) else {
        return f;
    };
    f.issuer_cert_ok = block[1] == 0x02
        && hash_ok(&block, &[&remainder[..], &issuer_exp].concat())
        && block[2..5] == pan[..3];
    f.issuer_cert_expiry = block[6..8].to_vec();
    f.issuer_cert_serial = block[8..11].to_vec();
    let issuer_len = usize::from(block[13]);
    let mut issuer_modulus = block[15..block.len() - 21].to_vec();
    issuer_modulus.truncate(issuer_len);
    issuer_modulus.extend_from_slice(&remainder);
    assert_eq!(issuer_modulus.len(), issuer_len);

    // SDA (Book 2, 5.4).
    if let Some(ssad) = find(&all, 0x93) {
        f.ssad_ok = Some(
            recover(&issuer_modulus, &issuer_exp, &ssad)
                .is_some_and(|b| b[1] == 0x03 && hash_ok(&b, &static_data)),
        );
    }
    // ICC and PIN key certificates (Book 2, 6.4 and 7.1).
    let icc_key = |cert_tag: u32, exp_tag: u32, rem_tag: u32, extra: &[u8]| {
        let cert = find(&all, cert_tag)?;
        let exponent = find(&all, exp_tag).unwrap();
        let remainder = find(&all, rem_tag).unwrap_or_default();
        let block = recover(&issuer_modulus, &issuer_exp, &cert)?;
        let ok = block[1] == 0x04 && hash_ok(&block, &[&remainder[..], &exponent, extra].concat());
        let pan_in_cert = block[2..12].to_vec();
        let len = usize::from(block[19]);
        let mut modulus = block[21..block.len() - 21].to_vec();
        modulus.truncate(len);
        modulus.extend_from_slice(&remainder);
        Some((ok, pan_in_cert, modulus, exponent))
    };
    let mut pan10 = pan.clone();
    pan10.resize(10, 0xFF);
    if find(&all, 0x9F46).is_some() {
        let icc = icc_key(0x9F46, 0x9F47, 0x9F48, &static_data);
        f.icc_cert_ok = Some(icc.as_ref().is_some_and(|k| k.0));
        f.icc_pan_matches = Some(icc.as_ref().is_some_and(|k| k.1 == pan10));
        if let Some((_, _, modulus, exponent)) = icc {
            // DDA (Book 2, 6.5): INTERNAL AUTHENTICATE over the DDOL data.
            let un = [0xCA, 0xFE, 0xBA, 0xBE];
            let (resp, sw) = send(card, &apdu(0x00, 0x88, 0, 0, &un, Some(0)));
            assert_eq!(sw, 0x9000);
            let sdad = find(&resp, 0x9F4B)
                .unwrap_or_else(|| emv_kernel::tlv::parse_single(&resp).unwrap().value.to_vec());
            f.dda_ok = Some(
                recover(&modulus, &exponent, &sdad)
                    .is_some_and(|b| b[1] == 0x05 && hash_ok(&b, &un)),
            );
            // CDA (Book 2, 6.6) when the AIP offers it.
            if aip[0] & 0x01 != 0 {
                let un = [7, 7, 7, 7];
                let cdol1 = cdol1_data(1000, un);
                let (resp, sw) = generate_ac(card, 0x50, &cdol1);
                assert_eq!(sw, 0x9000);
                let ac = parse_ac(&resp);
                f.cda_ok = Some(
                    ac.sdad
                        .as_ref()
                        .and_then(|s| recover(&modulus, &exponent, s))
                        .is_some_and(|b| {
                            let dynamic_len = usize::from(b[3]);
                            let dynamic = &b[4..4 + dynamic_len];
                            let expected_hash =
                                sha1(&[&pdol_data[..], &cdol1, &ac.tlvs_without_sdad].concat());
                            b[1] == 0x05
                                && hash_ok(&b, &un)
                                && dynamic[9] == ac.cid
                                && dynamic[18..38] == expected_hash
                        }),
                );
            }
        }
    }
    if find(&all, 0x9F2D).is_some() {
        f.pin_cert_ok =
            Some(icc_key(0x9F2D, 0x9F2E, 0x9F2F, &[]).is_some_and(|k| k.0 && k.1 == pan10));
    }
    f
}

#[test]
fn certificates_of_every_profile_verify_independently() {
    let cas = capk();
    assert_eq!(cas.len(), 4);
    let mut checked = 0;
    for profile in profiles::all() {
        let image = profile.image();
        if image.blocked || profile.name.starts_with("hostile") {
            continue;
        }
        for (i, app) in image.apps.iter().enumerate() {
            if app.aip[0] & 0x61 == 0 || app.blocked {
                continue;
            }
            let mut card = profile.card();
            let _ = i;
            let f = examine(&mut card, &app.aid, &cas);
            let name = profile.name;
            match name {
                "unknown-ca-index" => assert!(!f.ca_key_known, "{name}"),
                "bad-issuer-cert" => assert!(f.ca_key_known && !f.issuer_cert_ok, "{name}: {f:?}"),
                _ => assert!(f.issuer_cert_ok, "{name}: issuer certificate {f:?}"),
            }
            match name {
                "expired-issuer-cert" => assert_eq!(f.issuer_cert_expiry, [0x12, 0x23]),
                "revoked-issuer-cert" => assert_eq!(f.issuer_cert_serial, [0x12, 0x34, 0x56]),
                "unknown-ca-index" | "bad-issuer-cert" => {}
                _ => {
                    assert_eq!(f.issuer_cert_expiry, [0x12, 0x30], "{name}");
                    assert_eq!(f.issuer_cert_serial, [0x00, 0x00, 0x01], "{name}");
                }
            }
            if matches!(name, "unknown-ca-index" | "bad-issuer-cert") {
                checked += 1;
                continue;
            }
            match (name, f.ssad_ok) {
                ("sda-bad-ssad", ssad) => assert_eq!(ssad, Some(false), "{name}"),
                (_, Some(ok)) => assert!(ok, "{name}: SSAD"),
                _ => {}
            }
            if let Some(ok) = f.icc_cert_ok {
                assert!(ok, "{name}: ICC certificate");
                assert_eq!(
                    f.icc_pan_matches,
                    Some(name != "icc-cert-pan-mismatch"),
                    "{name}"
                );
                assert_eq!(f.dda_ok, Some(name != "dda-bad-signature"), "{name}: DDA");
            }
            if let Some(ok) = f.cda_ok {
                assert_eq!(ok, name != "cda-bad-signature", "{name}: CDA");
            }
            if let Some(ok) = f.pin_cert_ok {
                assert!(ok, "{name}: PIN certificate");
            }
            checked += 1;
        }
    }
    assert!(checked >= 25, "checked {checked} applications");
}
