//! The ECC test PKI (XDA, EMV 4.4 Book 2): deterministic P-256 and P-521
//! keys, EC-SDSA signing, and the Issuer and ICC ECC Public Key Certificates.
//!
//! EC-SDSA (ISO/IEC 14888-3, x-only variant): `k` from a hash of the private
//! key and the message (deterministic, like every test card), `r = H(x(kG) ||
//! M)`, `s = (k + r·d) mod n`, signature `r || s`. The curve arithmetic is
//! RustCrypto's `p256` and `p521`; the construction is ours, as in the kernel's
//! `crypto::ecc`, which checks these signatures. The published examples of EMV
//! Contactless Book E verify with the kernel (kernel/tests/ecc_sdsa.rs) and
//! this signer reproduces them from their nonces (tests below).
//!
//! Keys are derived from their names (`SHA-256("emv-test-cards ecc " ||
//! name)` reduced modulo n, negated when needed so that the public point's y
//! is the root below `(p + 1) / 2`, Book 2 Annex B2). NOT REAL KEYS.

use emv_kernel::crypto::EccCurve;
use emv_kernel::oda::xda;
use p256::elliptic_curve::ops::Reduce;
use p256::elliptic_curve::sec1::ToEncodedPoint;
use p256::elliptic_curve::{Field, PrimeField};

use crate::pki::TEST_RID;

/// SHA-256 or SHA-512 of `parts`, as the curve's suite says.
pub fn suite_hash(curve: EccCurve, parts: &[&[u8]]) -> Vec<u8> {
    let algorithm = match curve {
        EccCurve::P256 => &ring::digest::SHA256,
        EccCurve::P521 => &ring::digest::SHA512,
    };
    let mut context = ring::digest::Context::new(algorithm);
    for part in parts {
        context.update(part);
    }
    context.finish().as_ref().to_vec()
}

/// A hash with an ICCD Hash Algorithm Indicator (`02` SHA-256, `03` SHA-512).
pub fn iccd_hash(algorithm: u8, data: &[u8]) -> Vec<u8> {
    let digest = match algorithm {
        xda::HASH_ALGORITHM_SHA512 => &ring::digest::SHA512,
        _ => &ring::digest::SHA256,
    };
    ring::digest::digest(digest, data).as_ref().to_vec()
}

macro_rules! curve_ops {
    ($m:ident, $curve:expr, $derive:ident, $sign:ident, $public_x:ident) => {
        /// A scalar from bytes, reduced modulo n (right-aligned, truncated on the left).
        fn $derive(bytes: &[u8]) -> $m::Scalar {
            let mut repr = $m::FieldBytes::default();
            let len = repr.len();
            let take = bytes.len().min(len);
            repr[len - take..].copy_from_slice(&bytes[bytes.len() - take..]);
            <$m::Scalar as Reduce<_>>::reduce_bytes(&repr)
        }

        /// The lower-y private key for `seed` and its public x.
        fn $public_x(seed: &[u8]) -> (Vec<u8>, Vec<u8>) {
            let mut d = $derive(seed);
            if bool::from(d.is_zero()) {
                d = $m::Scalar::ONE;
            }
            let point = ($m::ProjectivePoint::GENERATOR * d).to_affine();
            let negated = -point;
            let (y, negated_y) = (
                point.to_encoded_point(false).y().map(|y| y.to_vec()),
                negated.to_encoded_point(false).y().map(|y| y.to_vec()),
            );
            let (d, point) = if y > negated_y {
                (-d, negated)
            } else {
                (d, point)
            };
            let x = point
                .to_encoded_point(false)
                .x()
                .map(|x| x.to_vec())
                .unwrap_or_default();
            (d.to_repr().to_vec(), x)
        }

        /// EC-SDSA with private scalar `d` and nonce `k` (both big-endian).
        fn $sign(d: &[u8], k: &[u8], message: &[u8]) -> Vec<u8> {
            let d = $derive(d);
            let mut k = $derive(k);
            if bool::from(k.is_zero()) {
                k = $m::Scalar::ONE;
            }
            let commitment = ($m::ProjectivePoint::GENERATOR * k).to_affine();
            let x = commitment
                .to_encoded_point(false)
                .x()
                .map(|x| x.to_vec())
                .unwrap_or_default();
            let r = suite_hash($curve, &[&x, message]);
            let s = k + $derive(&r) * d;
            let mut signature = r;
            signature.extend_from_slice(&s.to_repr());
            signature
        }
    };
}

curve_ops!(p256, EccCurve::P256, p256_scalar, p256_sign, p256_key);
curve_ops!(p521, EccCurve::P521, p521_scalar, p521_sign, p521_key);

macro_rules! curve_dh {
    ($m:ident, $scalar:ident, $dh:ident) => {
        /// `x(dR)` for the private scalar `d` and the point `R` of x-coordinate
        /// `x`, with either root (`x(dR) = x(d(-R))`); `None` off the curve.
        fn $dh(d: &[u8], x: &[u8]) -> Option<Vec<u8>> {
            use p256::elliptic_curve::point::DecompressPoint;
            use p256::elliptic_curve::subtle::Choice;
            let mut bytes = $m::FieldBytes::default();
            if bytes.len() != x.len() {
                return None;
            }
            bytes.copy_from_slice(x);
            let point: Option<$m::AffinePoint> =
                $m::AffinePoint::decompress(&bytes, Choice::from(0)).into();
            let shared = ($m::ProjectivePoint::from(point?) * $scalar(d)).to_affine();
            shared.to_encoded_point(false).x().map(|x| x.to_vec())
        }
    };
}

curve_dh!(p256, p256_scalar, p256_dh);
curve_dh!(p521, p521_scalar, p521_dh);

/// Why the card refuses ECC enciphered PIN data (VERIFY P2 88).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PinDecipherError {
    /// Not `N_FIELD + 17 + 8` bytes.
    Length,
    /// The terminal's ephemeral x-coordinate is not on the curve.
    Point,
    /// The MAC does not verify.
    Mac,
    /// The plaintext is not `7F`, a PIN block and the card's challenge.
    Format,
}

fn aes_block(key: &[u8; 16], block: [u8; 16]) -> [u8; 16] {
    use aes::cipher::{BlockCipherEncrypt, KeyInit};
    let mut block = block;
    aes::Aes128::new(key.into()).encrypt_block((&mut block).into());
    block
}

fn aes_cmac(key: &[u8; 16], data: &[u8]) -> [u8; 16] {
    use cmac::{KeyInit, Mac};
    let mut mac = <cmac::Cmac<aes::Aes128> as KeyInit>::new(key.into());
    mac.update(data);
    mac.finalize().into_bytes().into()
}

/// One ECC key pair of the test PKI.
#[derive(Debug, Clone)]
pub struct EccKeyPair {
    /// Name the key is derived from, e.g. `ecc-ca-10`.
    pub name: &'static str,
    /// Its curve.
    pub curve: EccCurve,
    /// Private scalar, big-endian, `N_FIELD` bytes.
    secret: Vec<u8>,
    /// Public point's x-coordinate, `N_FIELD` bytes.
    pub x: Vec<u8>,
}

impl EccKeyPair {
    /// The test key named `name` on `curve`.
    pub fn derive(name: &'static str, curve: EccCurve) -> Self {
        let seed = suite_hash(EccCurve::P521, &[b"emv-test-cards ecc ", name.as_bytes()]);
        let (secret, x) = match curve {
            EccCurve::P256 => p256_key(&seed[..32]),
            EccCurve::P521 => p521_key(&seed),
        };
        Self {
            name,
            curve,
            secret,
            x,
        }
    }

    /// The Algorithm Suite Indicator of the key (`10` or `11`).
    pub fn suite(&self) -> u8 {
        xda::curve_suite(self.curve)
    }

    /// EC-SDSA signature `r || s` of `message`, nonce derived from the key
    /// and the message.
    pub fn sign(&self, message: &[u8]) -> Vec<u8> {
        let k = suite_hash(EccCurve::P521, &[b"nonce", &self.secret, message]);
        self.sign_with_nonce(&k, message)
    }

    /// EC-SDSA signature with a given nonce (for published examples).
    pub fn sign_with_nonce(&self, k: &[u8], message: &[u8]) -> Vec<u8> {
        match self.curve {
            EccCurve::P256 => p256_sign(&self.secret, k, message),
            EccCurve::P521 => p521_sign(&self.secret, k, message),
        }
    }

    /// EMV 4.4 Book 2, 13.3 and Annex A2.3.4, the card's side as we read
    /// them (docs/conformance.md "ECC offline PIN"): recover the PIN block
    /// from ECC enciphered PIN data `x(R) || C* || MAC` with this PIN
    /// encipherment key and the challenge the card gave (GET CHALLENGE).
    ///
    /// `Z = x(dR)`, left-padded with zeros to a multiple of 16 bytes;
    /// `K_DK = CMAC(0^128, Z)`; `K_i = AES(K_DK)[i || 01 00 || UN || A5 A5 A5
    /// || 02 00]`; the MAC, `CMAC(K_2, 0^64 || SV || C*)` cut to 8 bytes with
    /// `SV = 0^128` (counter 0), is checked before `C*` is deciphered with
    /// AES-CTR under `K_1`; the plaintext must be `7F || PIN block || UN`.
    pub fn decipher_pin(
        &self,
        data: &[u8],
        challenge: &[u8; 8],
    ) -> Result<[u8; 8], PinDecipherError> {
        let field = self.curve.field_len();
        if data.len() != field + 17 + 8 {
            return Err(PinDecipherError::Length);
        }
        let (ephemeral_x, rest) = data.split_at(field);
        let (ciphertext, mac) = rest.split_at(17);
        let shared = match self.curve {
            EccCurve::P256 => p256_dh(&self.secret, ephemeral_x),
            EccCurve::P521 => p521_dh(&self.secret, ephemeral_x),
        }
        .ok_or(PinDecipherError::Point)?;
        let mut z = vec![0u8; field.div_ceil(16) * 16 - field];
        z.extend_from_slice(&shared);
        let derivation_key = aes_cmac(&[0u8; 16], &z);
        let session_key = |index: u8| {
            let mut block = [0u8; 16];
            block[0] = index;
            block[1] = 0x01;
            block[3..11].copy_from_slice(challenge);
            block[11..14].fill(0xA5);
            block[14] = 0x02;
            aes_block(&derivation_key, block)
        };
        let (encryption_key, mac_key) = (session_key(1), session_key(2));
        let mut authenticated = vec![0u8; 8 + 16];
        authenticated.extend_from_slice(ciphertext);
        if aes_cmac(&mac_key, &authenticated)[..8] != *mac {
            return Err(PinDecipherError::Mac);
        }
        let mut plaintext = Vec::with_capacity(17);
        for (number, chunk) in ciphertext.chunks(16).enumerate() {
            let mut counter = [0u8; 16];
            counter[8..].copy_from_slice(&(number as u64).to_be_bytes());
            let stream = aes_block(&encryption_key, counter);
            plaintext.extend(chunk.iter().zip(stream).map(|(c, k)| c ^ k));
        }
        if plaintext[0] != 0x7F || plaintext[9..17] != challenge[..] {
            return Err(PinDecipherError::Format);
        }
        let mut block = [0u8; 8];
        block.copy_from_slice(&plaintext[1..9]);
        Ok(block)
    }

    /// A key from a given private scalar (for published examples); the
    /// caller is responsible for the y convention.
    pub fn from_secret(name: &'static str, curve: EccCurve, secret: &[u8]) -> Self {
        let x = match curve {
            EccCurve::P256 => {
                let d = p256_scalar(secret);
                (p256::ProjectivePoint::GENERATOR * d)
                    .to_affine()
                    .to_encoded_point(false)
                    .x()
                    .map(|x| x.to_vec())
            }
            EccCurve::P521 => {
                let d = p521_scalar(secret);
                (p521::ProjectivePoint::GENERATOR * d)
                    .to_affine()
                    .to_encoded_point(false)
                    .x()
                    .map(|x| x.to_vec())
            }
        }
        .unwrap_or_default();
        Self {
            name,
            curve,
            secret: secret.to_vec(),
            x,
        }
    }
}

/// An ECC CA key of the test scheme (one `ecc-*` line of `capk.txt`).
#[derive(Debug, Clone, Copy)]
pub struct EccCaSpec {
    /// CA Public Key Index (8F).
    pub index: u8,
    /// Key name.
    pub name: &'static str,
    /// Curve.
    pub curve: EccCurve,
}

/// The ECC test CA keys: index `10` on P-256, `11` on P-521.
pub const ECC_CA_KEYS: [EccCaSpec; 2] = [
    EccCaSpec {
        index: 0x10,
        name: "ecc-ca-10",
        curve: EccCurve::P256,
    },
    EccCaSpec {
        index: 0x11,
        name: "ecc-ca-11",
        curve: EccCurve::P521,
    },
];

/// The `capk.txt` line of an ECC CA key: `RID index expiry ecc-p256|ecc-p521
/// x sha1 SHA-1(RID || index || suite || x)`.
pub fn ecc_capk_line(spec: &EccCaSpec, expiry: &str) -> String {
    let key = EccKeyPair::derive(spec.name, spec.curve);
    let colon = |b: &[u8]| {
        b.iter()
            .map(|x| format!("{x:02x}"))
            .collect::<Vec<_>>()
            .join(":")
    };
    let algorithm = match spec.curve {
        EccCurve::P256 => "ecc-p256",
        EccCurve::P521 => "ecc-p521",
    };
    let mut hashed = TEST_RID.to_vec();
    hashed.push(spec.index);
    hashed.push(key.suite());
    hashed.extend_from_slice(&key.x);
    format!(
        "{} {:02x} {} {algorithm} {} sha1 {}",
        colon(&TEST_RID),
        spec.index,
        expiry,
        colon(&key.x),
        colon(&crate::pki::sha1(&hashed))
    )
}

/// Fields of an Issuer ECC Public Key Certificate (format `12`).
#[derive(Debug, Clone)]
pub struct EccIssuerCertFields {
    /// Leftmost 3-10 PAN digits, padded with hex F (5 bytes).
    pub issuer_identifier: [u8; 5],
    /// Suite indicator written for the issuer key (normally the key's own).
    pub suite: u8,
    /// Expiration date `YYYYMMDD` (BCD).
    pub expiry: [u8; 4],
    /// Serial number.
    pub serial: [u8; 3],
    /// CA index written in the certificate.
    pub ca_index: u8,
}

/// The Issuer ECC Public Key Certificate of `issuer`, signed by `ca`.
pub fn issuer_certificate(
    ca: &EccKeyPair,
    issuer: &EccKeyPair,
    f: &EccIssuerCertFields,
) -> Vec<u8> {
    let mut signed = vec![xda::ISSUER_CERTIFICATE_FORMAT, xda::ENCODING];
    signed.extend_from_slice(&f.issuer_identifier);
    signed.push(f.suite);
    signed.extend_from_slice(&f.expiry);
    signed.extend_from_slice(&f.serial);
    signed.extend_from_slice(&TEST_RID);
    signed.push(f.ca_index);
    signed.extend_from_slice(&issuer.x);
    let signature = ca.sign(&signed);
    signed.extend_from_slice(&signature);
    signed
}

/// The ICC ECC Public Key Certificate of `icc`, signed by `issuer`, with the
/// ICCD hash of `static_data` (hash algorithm `02` or `03`).
pub fn icc_certificate(
    issuer: &EccKeyPair,
    icc: &EccKeyPair,
    expiry: [u8; 6],
    serial: [u8; 6],
    hash_algorithm: u8,
    static_data: &[u8],
) -> Vec<u8> {
    icc_certificate_with_suite(
        issuer,
        icc,
        icc.suite(),
        expiry,
        serial,
        hash_algorithm,
        static_data,
    )
}

/// The offline data encipherment suite of a curve (`00` P-256, `01`
/// P-521): the suite of an ECC PIN encipherment key.
pub fn ode_suite(curve: EccCurve) -> u8 {
    match curve {
        EccCurve::P256 => 0x00,
        EccCurve::P521 => 0x01,
    }
}

/// An ICC ECC certificate (format `14`) of `icc` naming `suite`: the XDA
/// key's (9F46, `10`/`11`) or the PIN encipherment key's (9F2D, `00`/`01`).
pub fn icc_certificate_with_suite(
    issuer: &EccKeyPair,
    icc: &EccKeyPair,
    suite: u8,
    expiry: [u8; 6],
    serial: [u8; 6],
    hash_algorithm: u8,
    static_data: &[u8],
) -> Vec<u8> {
    let mut signed = vec![xda::ICC_CERTIFICATE_FORMAT, xda::ENCODING, suite];
    signed.extend_from_slice(&expiry);
    signed.extend_from_slice(&serial);
    signed.push(xda::ENCODING);
    signed.push(hash_algorithm);
    signed.extend_from_slice(&iccd_hash(hash_algorithm, static_data));
    signed.extend_from_slice(&icc.x);
    let signature = issuer.sign(&signed);
    signed.extend_from_slice(&signature);
    signed
}

#[cfg(test)]
mod tests {
    use super::*;
    use emv_kernel::crypto::ecc;

    fn h(text: &str) -> Vec<u8> {
        hex::decode(text).unwrap()
    }

    /// `capk.txt` holds the ECC CA keys, as `gen-test-pki` writes them.
    #[test]
    fn committed_capk_holds_the_ecc_ca_keys() {
        let lines: Vec<String> = ECC_CA_KEYS
            .iter()
            .map(|spec| ecc_capk_line(spec, crate::pki::CA_KEY_EXPIRY))
            .collect();
        if std::env::var("PRINT_ECC_CAPK").is_ok() {
            println!("{}", lines.join("\n"));
        }
        for line in &lines {
            assert!(crate::pki::CAPK_TXT.lines().any(|l| l == line), "{line}");
        }
        // And the kernel loads them, points checked.
        let store = crate::pki::ca_key_store();
        for spec in &ECC_CA_KEYS {
            let key = store.find(&TEST_RID, spec.index).expect("ECC CA key");
            assert_eq!(key.key.ecc().map(|k| k.curve), Some(spec.curve));
        }
    }

    #[test]
    fn signatures_verify_with_the_kernel_and_keys_have_the_lower_y() {
        for (name, curve) in [("a", EccCurve::P256), ("b", EccCurve::P521)] {
            let key = EccKeyPair::derive(name, curve);
            let signature = key.sign(b"message");
            assert_eq!(signature.len(), curve.signature_len());
            // The kernel recovers the point from x alone: this fails if the
            // key's y were the upper root.
            assert_eq!(
                ecc::ec_sdsa_verify(curve, &key.x, &[b"message"], &signature),
                Ok(true)
            );
            assert_eq!(
                ecc::ec_sdsa_verify(curve, &key.x, &[b"massage"], &signature),
                Ok(false)
            );
        }
    }

    /// EMV Contactless Book E example 3.2 (numbers as reproduced in
    /// github.com/Digrol/Denom, TestECSDSA_X.java): with the CA key and the
    /// nonce given there, our signer produces the published signature.
    #[test]
    fn book_e_p256_example_signature_is_reproduced() {
        let ca = EccKeyPair::from_secret(
            "book-e-ca",
            EccCurve::P256,
            &h("723222B51845E8B41A66263AE90E962148F9CCC3BE45B3E5902CEC0195F2AEAF"),
        );
        let message = h("120054133390FF1020301231123456A000000004E0CD7400578B1164FEA954658C763C5A94FB3514FA89DB5B3B447AE8F4D5DF870A");
        let k = h("049916F4FD4046C1DBA9FBBD41C5A9643BDC6978C42371DDCD5D725E144B6446");
        assert_eq!(
            hex::encode_upper(ca.sign_with_nonce(&k, &message)),
            "739061ADBC6FC71C8864EA9D3D6BAB5C9501C058D895FE0F69D92E22412953DC1ACCCBBE60809C5694C739CA54CC3FF4CF0964E1B946C3ED00C4E572A5021988"
        );
    }

    #[test]
    fn book_e_p521_example_signature_is_reproduced() {
        let ca = EccKeyPair::from_secret(
            "book-e-ca-521",
            EccCurve::P521,
            &h("018B05B1953B24AC49B340C24D6DD42CCFFDD795F6879C4B28475375CEEA2440D6180E7733BA7423B9CF9A61AAA6A3480B882BA6F9497F09613451877120383FF2BC"),
        );
        let message = h("120054133390FF1120301231123456A000000004E1009C0AE6DC43AC03AA8285C9C67962B0B426587EB50DB41F7A5DD37BBB7E95831C8742384A1C880A561CE775946D473E4CD12FC03E4345ED93A515C6FAF722FA13E7");
        let k = h("01CEC53C7A0FC68F914CB3B06AAF89B04622B465AB8CB52DA2FAE7B2BF3E7754B1866900AEE2AFF453C8199617EC6E23E111CC813F622EEBECC51B4516CC37569D09");
        assert_eq!(
            hex::encode_upper(ca.sign_with_nonce(&k, &message)),
            "DCB625B0FC3F87241D38565B4CAE9B1B9D00A70B71EAF6F54ACDE94EEFE49C514724FAF5F7A4A25606F0CE7C89DC6EE4403D841EF7155B87363E8CE39EB7FEAC0158D88C6B23D71E7C5B8D4E9009BAADD96A0ECDA0C1305774F7CD65FE0A907711258DF9F13A9D70AE0DE200103F6FF9D80067E672A683F8E49602F8E94C6615B2EB"
        );
    }

    /// The kernel's ECC enciphered PIN (EMV 4.4 Book 2, 13.2) deciphers
    /// with the card's key (13.3), on both curves; any changed byte, another
    /// challenge or another key is refused.
    #[test]
    fn the_kernels_enciphered_pin_deciphers_and_tampering_is_refused() {
        use emv_kernel::crypto::RingCrypto;
        use emv_kernel::oda::{pin, EccPublicKey};
        let block = [0x24, 0x12, 0x34, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF];
        let challenge = [1, 2, 3, 4, 5, 6, 7, 8];
        for curve in [EccCurve::P256, EccCurve::P521] {
            let card = EccKeyPair::derive("ecc-icc-pin-test", curve);
            let key = EccPublicKey::new(curve, &card.x).unwrap();
            let mut out = [0u8; 128];
            let n =
                pin::encipher_pin_block_ecc(&RingCrypto::new(), &key, &block, &challenge, &mut out)
                    .unwrap();
            let data = &out[..n];
            assert_eq!(card.decipher_pin(data, &challenge), Ok(block));
            for at in 0..n {
                let mut changed = data.to_vec();
                changed[at] ^= 0x01;
                let refused = card.decipher_pin(&changed, &challenge);
                assert!(
                    matches!(
                        refused,
                        Err(PinDecipherError::Mac | PinDecipherError::Point)
                    ),
                    "{curve:?} byte {at}: {refused:?}"
                );
            }
            assert_eq!(
                card.decipher_pin(data, &[9; 8]),
                Err(PinDecipherError::Mac),
                "the challenge is in the key derivation"
            );
            let other = EccKeyPair::derive("ecc-icc-pin-other", curve);
            assert_eq!(
                other.decipher_pin(data, &challenge),
                Err(PinDecipherError::Mac)
            );
            assert_eq!(
                card.decipher_pin(&data[..n - 1], &challenge),
                Err(PinDecipherError::Length)
            );
            // A fresh ephemeral key each time.
            let mut again = [0u8; 128];
            pin::encipher_pin_block_ecc(&RingCrypto::new(), &key, &block, &challenge, &mut again)
                .unwrap();
            assert_ne!(&again[..n], data);
        }
    }
}
