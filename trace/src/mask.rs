//! Masking of PAN and track 2 data in a recorded trace, so that offline data
//! authentication still reproduces on replay and the trace does not reveal
//! the PAN.
//!
//! The design (`docs/traces.md`, "Masking"):
//! 1. Byte substitutions of equal length: the PAN's digits 7 to n-4 become
//!    `0` (BIN and last four kept, as on a receipt) wherever the PAN appears
//!    in BCD (5A, 57, inside certificates) or in ASCII (track 1, the
//!    configuration's exception file); track 2 discretionary data becomes `0`
//!    digits.
//! 2. Signatures whose recovered content holds the PAN or a hash over data
//!    that holds it (ICC and ICC PIN encipherment public key certificates,
//!    Signed Static Application Data) cannot stay as recorded: anyone could
//!    recover them with the public keys in the trace and read or brute-force
//!    the PAN. Each is replaced by a *stand-in*: its recovered plaintext with
//!    the PAN masked and the hash recomputed over the masked data (only when
//!    the card's hash was right, so a failing card still fails). The trace
//!    lists the stand-ins' SHA-256, and the replay's crypto provider returns a
//!    stand-in unchanged from the RSA step instead of exponentiating it. All
//!    other checks (format, PAN match, hash, expiry, DDA/CDA signatures) run
//!    as recorded, so ODA results and every APDU reproduce.
//! 3. Such signatures the kernel never recovered are zeroed.

use emv_kernel::tlv::{self, Tag};

/// One recorded crypto call, kept in memory only while the trace is written.
#[derive(Clone, Debug)]
pub enum CryptoCall {
    /// SHA-1 over `input` gave `output`.
    Sha1 {
        /// The concatenated parts.
        input: Vec<u8>,
        /// The digest.
        output: [u8; 20],
    },
    /// RSA public operation on `input` gave `output`.
    Rsa {
        /// The input block (a signature, or a PIN block to encipher).
        input: Vec<u8>,
        /// The result.
        output: Vec<u8>,
    },
    /// SHA-256 or SHA-512 over `input` gave `output` (the ICCD hash of an
    /// ICC ECC certificate, XDA).
    Sha2 {
        /// The concatenated parts.
        input: Vec<u8>,
        /// The digest (32 or 64 bytes).
        output: Vec<u8>,
    },
    /// An EC-SDSA verification of `signature` over `message` (XDA).
    EcSdsa {
        /// The concatenated message parts.
        message: Vec<u8>,
        /// The signature `r || s`.
        signature: Vec<u8>,
        /// Whether it verified.
        valid: bool,
    },
}

impl CryptoCall {
    /// Overwrites the recorded bytes (they may hold a PIN block).
    pub fn wipe(&mut self) {
        match self {
            CryptoCall::Sha1 { input, output } => {
                input.fill(0);
                output.fill(0);
            }
            CryptoCall::Rsa { input, output } | CryptoCall::Sha2 { input, output } => {
                input.fill(0);
                output.fill(0);
            }
            CryptoCall::EcSdsa {
                message, signature, ..
            } => {
                message.fill(0);
                signature.fill(0);
            }
        }
    }
}

/// Equal-length byte substitutions, applied left to right, first match wins.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Substitutions {
    pairs: Vec<(Vec<u8>, Vec<u8>)>,
}

impl Substitutions {
    /// Adds `from -> to` (same length, non-empty, not already present).
    pub fn add(&mut self, from: Vec<u8>, to: Vec<u8>) {
        if from.is_empty() || from.len() != to.len() || from == to {
            return;
        }
        if self.pairs.iter().any(|(f, _)| *f == from) {
            return;
        }
        self.pairs.push((from, to));
        // Longer patterns first, so a certificate stand-in wins over the PAN in it.
        self.pairs
            .sort_by_key(|pair| std::cmp::Reverse(pair.0.len()));
    }

    /// Whether there is nothing to substitute.
    pub fn is_empty(&self) -> bool {
        self.pairs.is_empty()
    }

    /// `data` with every occurrence of every pattern replaced.
    pub fn apply(&self, data: &[u8]) -> Vec<u8> {
        let mut out = Vec::with_capacity(data.len());
        let mut position = 0;
        'outer: while position < data.len() {
            let rest = data.get(position..).unwrap_or(&[]);
            for (from, to) in &self.pairs {
                if rest.starts_with(from) {
                    out.extend_from_slice(to);
                    position += from.len();
                    continue 'outer;
                }
            }
            out.extend_from_slice(rest.get(..1).unwrap_or(&[]));
            position += 1;
        }
        out
    }
}

/// The PAN's digits (no padding) from its 5A encoding.
pub fn pan_digits(pan_bcd: &[u8]) -> Vec<u8> {
    pan_bcd
        .iter()
        .flat_map(|b| [b >> 4, b & 0x0F])
        .take_while(|nibble| *nibble <= 9)
        .collect()
}

/// The masked digits: first 6 and last 4 kept, the rest `0`.
pub fn masked_digits(digits: &[u8]) -> Vec<u8> {
    let count = digits.len();
    digits
        .iter()
        .enumerate()
        .map(|(position, digit)| {
            if position >= 6 && position + 4 < count {
                0
            } else {
                *digit
            }
        })
        .collect()
}

fn pack_bcd(digits: &[u8]) -> Vec<u8> {
    digits
        .chunks(2)
        .map(|pair| match pair {
            [high, low] => (high << 4) | low,
            [high] => (high << 4) | 0x0F,
            _ => 0xFF,
        })
        .collect()
}

/// The substitutions for a PAN: its whole BCD bytes and its ASCII digits.
/// The last (odd) digit is among the kept four, so whole bytes suffice.
pub fn pan_substitutions(pan_bcd: &[u8], substitutions: &mut Substitutions) {
    let digits = pan_digits(pan_bcd);
    if digits.len() < 11 {
        // Nothing between the BIN and the last four to hide.
        return;
    }
    let masked = masked_digits(&digits);
    let whole = digits.len() / 2 * 2;
    let real_bcd = pack_bcd(digits.get(..whole).unwrap_or(&[]));
    let masked_bcd = pack_bcd(masked.get(..whole).unwrap_or(&[]));
    substitutions.add(real_bcd, masked_bcd);
    let ascii = |d: &[u8]| d.iter().map(|digit| b'0' + digit).collect::<Vec<u8>>();
    substitutions.add(ascii(&digits), ascii(&masked));
}

/// Track 2 equivalent data (57): the discretionary data after the
/// separator, expiry date and service code becomes `0` digits, in whole bytes.
pub fn track2_substitutions(track2: &[u8], substitutions: &mut Substitutions) {
    let nibbles: Vec<u8> = track2.iter().flat_map(|b| [b >> 4, b & 0x0F]).collect();
    let Some(separator) = nibbles.iter().position(|n| *n == 0x0D) else {
        return;
    };
    // Separator, YYMM, service code: discretionary data starts 8 nibbles later.
    let start = separator + 8;
    let end = nibbles
        .iter()
        .rposition(|n| *n != 0x0F)
        .map_or(0, |last| last + 1);
    let first_byte = start.div_ceil(2);
    let last_byte = end / 2;
    if last_byte <= first_byte || last_byte - first_byte < 3 {
        // Too short to substitute without matching unrelated bytes.
        return;
    }
    let Some(real) = track2.get(first_byte..last_byte) else {
        return;
    };
    substitutions.add(real.to_vec(), vec![0x00; real.len()]);
}

/// Tags whose recovered content holds the PAN or a hash over it.
pub const PAN_BEARING_SIGNATURES: [Tag; 3] = [Tag(0x9F46), Tag(0x9F2D), Tag(0x93)];

/// The values of `tags` in the data part of `response`. When the response
/// is not well-formed BER-TLV (a hostile card), one-byte tags are also
/// looked for byte by byte, so a PAN in a broken record is still masked.
fn values_in_response(response: &[u8], tags: &[Tag]) -> Vec<Vec<u8>> {
    let data = response
        .get(..response.len().saturating_sub(2))
        .unwrap_or(&[]);
    let mut values = Vec::new();
    let mut broken = false;
    for item in tlv::primitives(data) {
        match item {
            Ok((_, object)) if tags.contains(&object.tag) => values.push(object.value.to_vec()),
            Ok(_) => {}
            Err(_) => broken = true,
        }
    }
    if broken {
        for tag in tags.iter().filter_map(|t| u8::try_from(t.0).ok()) {
            values.extend(scan_for_tag(data, tag));
        }
    }
    values
}

/// Byte-level search for a PAN (5A) or track 2 (57) object: the tag, a
/// plausible length, and a value of BCD digits (and `D`, `F` for track 2).
fn scan_for_tag(data: &[u8], tag: u8) -> Vec<Vec<u8>> {
    let max_length = if tag == 0x57 { 19 } else { 10 };
    let mut found = Vec::new();
    for (position, byte) in data.iter().enumerate() {
        if *byte != tag {
            continue;
        }
        let Some(length) = data.get(position + 1).map(|l| usize::from(*l)) else {
            continue;
        };
        if !(6..=max_length).contains(&length) {
            continue;
        }
        let Some(value) = data.get(position + 2..position + 2 + length) else {
            continue;
        };
        let nibbles = value.iter().flat_map(|b| [b >> 4, b & 0x0F]);
        let plausible = nibbles
            .clone()
            .all(|n| n <= 9 || n == 0x0F || (tag == 0x57 && n == 0x0D));
        let digits = nibbles.take_while(|n| *n <= 9).count();
        if plausible && digits >= 12 {
            found.push(value.to_vec());
        }
    }
    found
}

/// What masking produced: the substitutions for every recorded byte and the
/// stand-in digests for the trace.
#[derive(Clone, Debug, Default)]
pub struct Masking {
    /// Apply to every command, response, field 55 and inline configuration.
    pub substitutions: Substitutions,
    /// SHA-256 of each stand-in.
    pub stand_ins: Vec<[u8; 32]>,
}

/// Works out the masking for a transaction from its responses and the crypto
/// calls the kernel made (`sha1` hashes the masked inputs again).
pub fn plan(
    responses: &[&[u8]],
    calls: &[CryptoCall],
    sha1: impl Fn(&[u8]) -> [u8; 20],
    sha256: impl Fn(&[u8]) -> [u8; 32],
) -> Masking {
    let mut base = Substitutions::default();
    for response in responses {
        for pan in values_in_response(response, &[Tag(0x5A)]) {
            pan_substitutions(&pan, &mut base);
        }
        for track2 in values_in_response(response, &[Tag(0x57), Tag(0x9F6B)]) {
            // The PAN part of track 2 is the PAN: also cover it when 5A is absent.
            let separator = track2
                .iter()
                .flat_map(|b| [b >> 4, b & 0x0F])
                .position(|n| n == 0x0D)
                .unwrap_or(0);
            let pan_part: Vec<u8> = track2.get(..separator / 2).unwrap_or(&[]).to_vec();
            if separator % 2 == 0 {
                pan_substitutions(&pan_part, &mut base);
            }
            track2_substitutions(&track2, &mut base);
        }
    }
    let recovered_inputs: Vec<&[u8]> = calls
        .iter()
        .filter_map(|call| match call {
            CryptoCall::Rsa { input, .. } => Some(input.as_slice()),
            _ => None,
        })
        .collect();
    if base.is_empty() {
        return Masking::default();
    }
    // XDA: an ICC ECC certificate the kernel verified is masked by
    // `ecc_stand_ins` instead (its signed fields are in clear).
    let verified_in_clear = |value: &[u8]| {
        calls.iter().any(|call| match call {
            CryptoCall::EcSdsa { message, .. } => !message.is_empty() && value.starts_with(message),
            _ => false,
        })
    };
    for response in responses {
        for signature in values_in_response(response, &PAN_BEARING_SIGNATURES) {
            if let (false, Some(masked)) = (
                verified_in_clear(&signature),
                unverified_ecc_certificate(&signature, calls, &base, &sha256),
            ) {
                base.add(signature, masked);
                continue;
            }
            if !recovered_inputs.contains(&signature.as_slice()) && !verified_in_clear(&signature) {
                let zeros = vec![0u8; signature.len()];
                base.add(signature, zeros);
            }
        }
    }
    for call in calls {
        if let CryptoCall::Rsa { output, .. } = call {
            certificate_pan_substitution(output, &mut base);
        }
    }
    // Real digest -> digest of the masked input, for hashes over masked data.
    let mut digests: Vec<([u8; 20], [u8; 20])> = Vec::new();
    for call in calls {
        if let CryptoCall::Sha1 { input, output } = call {
            let masked = base.apply(input);
            if masked != *input {
                digests.push((*output, sha1(&masked)));
            }
        }
    }
    let mut masking = Masking {
        substitutions: base.clone(),
        stand_ins: Vec::new(),
    };
    ecc_stand_ins(calls, &base, &sha256, &mut masking);
    for call in calls {
        let CryptoCall::Rsa { input, output } = call else {
            continue;
        };
        let mut stand_in = base.apply(output);
        for (real, masked) in &digests {
            replace_all(&mut stand_in, real, masked);
        }
        if stand_in != *output && stand_in.len() == input.len() {
            let digest = sha256(&stand_in);
            if !masking.stand_ins.contains(&digest) {
                masking.stand_ins.push(digest);
            }
            masking.substitutions.add(input.clone(), stand_in);
        }
    }
    masking
}

/// XDA: an ICC ECC certificate (format `14`) whose ICCD hash the kernel
/// computed but whose signature it never checked (the hash did not match: a
/// card whose certified data differ). Its hash and signature would let
/// anyone test PAN guesses: the hash becomes the masked data's hash with its
/// first byte changed (so it still does not match) and the signature zeros,
/// and replay fails at the same check.
fn unverified_ecc_certificate(
    value: &[u8],
    calls: &[CryptoCall],
    base: &Substitutions,
    sha256: &impl Fn(&[u8]) -> [u8; 32],
) -> Option<Vec<u8>> {
    const HEADER: usize = 17;
    if value.first() != Some(&0x14) {
        return None;
    }
    let hash_len = match value.get(HEADER - 1)? {
        0x02 => 32,
        0x03 => 64,
        _ => return None,
    };
    let input = calls.iter().find_map(|call| match call {
        CryptoCall::Sha2 { input, output } if output.len() == hash_len => Some(input),
        _ => None,
    })?;
    let masked_input = base.apply(input);
    let mut digest = sha256(&masked_input).to_vec();
    digest.resize(hash_len, 0);
    if let Some(first) = digest.first_mut() {
        *first ^= 0xFF;
    }
    let mut masked = value.to_vec();
    masked
        .get_mut(HEADER..HEADER + hash_len)?
        .copy_from_slice(&digest);
    // Key x (32 or 66 bytes, by the suite) stays; the signature after it is zeroed.
    let field = match value.get(2)? {
        0x11 => 66,
        _ => 32,
    };
    for byte in masked.iter_mut().skip(HEADER + hash_len + field) {
        *byte = 0;
    }
    Some(masked)
}

/// XDA (EMV 4.4): an ICC ECC certificate is in clear and holds the ICCD
/// hash over static data that holds the PAN. The hash is replaced by the
/// hash over the masked data (SHA-256 or SHA-512 as the recorded digest's
/// length says), and the signature over the certificate, which would let
/// anyone test PAN guesses, by zeros: a stand-in whose SHA-256 over
/// `masked message || zeros` the trace lists, and which the replay's
/// provider accepts as verified. Only signatures that verified when recorded
/// get one, so a failing card still fails.
fn ecc_stand_ins(
    calls: &[CryptoCall],
    base: &Substitutions,
    sha256: &impl Fn(&[u8]) -> [u8; 32],
    masking: &mut Masking,
) {
    let mut hashes = base.clone();
    for call in calls {
        if let CryptoCall::Sha2 { input, output } = call {
            let masked = base.apply(input);
            if masked != *input {
                let digest = match output.len() {
                    64 => {
                        use emv_kernel::crypto::CryptoProvider as _;
                        match emv_kernel::crypto::RingCrypto::new().sha512(&[&masked]) {
                            Ok(digest) => digest.to_vec(),
                            Err(_) => continue,
                        }
                    }
                    _ => sha256(&masked).to_vec(),
                };
                masking.substitutions.add(output.clone(), digest.clone());
                hashes.add(output.clone(), digest);
            }
        }
    }
    for call in calls {
        let CryptoCall::EcSdsa {
            message,
            signature,
            valid,
        } = call
        else {
            continue;
        };
        let masked = hashes.apply(message);
        if masked == *message {
            continue;
        }
        let zeros = vec![0u8; signature.len()];
        masking.substitutions.add(signature.clone(), zeros.clone());
        if *valid {
            let digest = sha256(&[masked, zeros].concat());
            if !masking.stand_ins.contains(&digest) {
                masking.stand_ins.push(digest);
            }
        }
    }
}

/// Book 2, 5.4 and 7.1: a recovered ICC (or ICC PIN encipherment) public
/// key certificate (header 6A, format 04) holds an Application PAN (n20,
/// bytes 3-12). Its masked form, as a substitution, even when it is not the
/// card's PAN (a card whose certificate names another PAN), so that no
/// stand-in shows a full PAN and hashes over it are recomputed to match.
fn certificate_pan_substitution(recovered: &[u8], substitutions: &mut Substitutions) {
    if recovered.get(..2) != Some(&[0x6A, 0x04]) {
        return;
    }
    let Some(field) = recovered.get(2..12) else {
        return;
    };
    let digits = pan_digits(field);
    if digits.len() < 11 {
        return;
    }
    let mut packed = pack_bcd(&masked_digits(&digits));
    packed.resize(field.len(), 0xFF);
    if packed.len() == field.len()
        && field
            .get(digits.len().div_ceil(2)..)
            .is_some_and(|pad| pad.iter().all(|b| *b == 0xFF))
    {
        substitutions.add(field.to_vec(), packed);
    }
}

fn replace_all(data: &mut [u8], from: &[u8], to: &[u8]) {
    if from.is_empty() || from.len() != to.len() {
        return;
    }
    let mut position = 0;
    while position + from.len() <= data.len() {
        match data.get_mut(position..position + from.len()) {
            Some(window) if window == from => {
                window.copy_from_slice(to);
                position += from.len();
            }
            _ => position += 1,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pan_keeps_bin_and_last_four() {
        let mut subs = Substitutions::default();
        pan_substitutions(&[0x47, 0x61, 0x73, 0x90, 0x01, 0x01, 0x01, 0x19], &mut subs);
        assert_eq!(
            subs.apply(&[0x5A, 0x08, 0x47, 0x61, 0x73, 0x90, 0x01, 0x01, 0x01, 0x19]),
            vec![0x5A, 0x08, 0x47, 0x61, 0x73, 0x00, 0x00, 0x00, 0x01, 0x19]
        );
        assert_eq!(
            subs.apply(b"B4761739001010119^"),
            b"B4761730000000119^".to_vec()
        );
    }

    #[test]
    fn odd_length_pan_masks_whole_bytes() {
        let mut subs = Substitutions::default();
        // 19 digits 5413 3300 8902 0001 234, padded with F.
        let pan = [0x54, 0x13, 0x33, 0x00, 0x89, 0x02, 0x00, 0x01, 0x23, 0x4F];
        pan_substitutions(&pan, &mut subs);
        let masked = subs.apply(&pan);
        assert_eq!(
            masked,
            vec![0x54, 0x13, 0x33, 0x00, 0x00, 0x00, 0x00, 0x01, 0x23, 0x4F]
        );
    }

    #[test]
    fn track2_discretionary_data_zeroed() {
        let mut subs = Substitutions::default();
        // PAN 4761739001010119 D 2512 201 then 1234567890123 F.
        let track2 = [
            0x47, 0x61, 0x73, 0x90, 0x01, 0x01, 0x01, 0x19, 0xD2, 0x51, 0x22, 0x01, 0x12, 0x34,
            0x56, 0x78, 0x90, 0x12, 0x3F,
        ];
        track2_substitutions(&track2, &mut subs);
        let masked = subs.apply(&track2);
        assert_eq!(masked.get(..12), track2.get(..12));
        assert_eq!(masked.get(12..18), Some(&[0u8; 6][..]));
    }

    #[test]
    fn hash_over_masked_data_recomputed_in_stand_in() {
        let pan = [0x47, 0x61, 0x73, 0x90, 0x01, 0x01, 0x01, 0x19];
        let mut response = vec![0x70, 0x0A, 0x5A, 0x08];
        response.extend_from_slice(&pan);
        response.extend_from_slice(&[0x90, 0x00]);
        let toy_hash = |data: &[u8]| {
            let mut out = [0u8; 20];
            for (i, b) in data.iter().enumerate() {
                out[i % 20] ^= b.wrapping_add(i as u8);
            }
            out
        };
        let real_hash = toy_hash(&pan);
        let mut recovered = vec![0x6A];
        recovered.extend_from_slice(&real_hash);
        recovered.push(0xBC);
        let signature = vec![0x11; recovered.len()];
        let calls = vec![
            CryptoCall::Rsa {
                input: signature.clone(),
                output: recovered.clone(),
            },
            CryptoCall::Sha1 {
                input: pan.to_vec(),
                output: real_hash,
            },
        ];
        let masking = plan(&[&response], &calls, toy_hash, |d| {
            let mut out = [0u8; 32];
            out[..20].copy_from_slice(&toy_hash(d));
            out
        });
        let stand_in = masking.substitutions.apply(&signature);
        let masked_pan = masking.substitutions.apply(&pan);
        assert_ne!(masked_pan, pan.to_vec());
        assert_eq!(stand_in.get(1..21), Some(&toy_hash(&masked_pan)[..]));
        assert_eq!(masking.stand_ins.len(), 1);
    }
}
