//! A personalised card: the files, FCIs, certificates and keys built once
//! from a [`CardSpec`], then served by the card engine without rework.

use std::collections::BTreeMap;

use crate::encode::{cn, dol_data_len, template, tlv};
use crate::issuer::Issuer;
use crate::pki::{
    icc_certificate, issuer_certificate, signed_static_data, IssuerCertFields, KeyPair, PkiError,
    TestPki,
};
use crate::spec::{AppSpec, CardRisk, CardSpec, Faults, Hostile, Oda};
use crate::symmetric::Key16;

/// Name of the Payment System Environment DDF.
pub const PSE_NAME: &[u8] = b"1PAY.SYS.DDF01";
/// Name of the Proximity Payment System Environment.
pub const PPSE_NAME: &[u8] = b"2PAY.SYS.DDF01";

/// CDOL1 of every test card: amount (9F02), other amount (9F03), terminal
/// country (9F1A), TVR (95), currency (5F2A), date (9A), type (9C),
/// unpredictable number (9F37), terminal type (9F35), CVM results (9F34).
pub const CDOL1: [u8; 27] = [
    0x9F, 0x02, 0x06, 0x9F, 0x03, 0x06, 0x9F, 0x1A, 0x02, 0x95, 0x05, 0x5F, 0x2A, 0x02, 0x9A, 0x03,
    0x9C, 0x01, 0x9F, 0x37, 0x04, 0x9F, 0x35, 0x01, 0x9F, 0x34, 0x03,
];

/// CDOL2 of every test card: ARC (8A), TVR (95), unpredictable number,
/// amount, date.
pub const CDOL2: [u8; 12] = [
    0x8A, 0x02, 0x95, 0x05, 0x9F, 0x37, 0x04, 0x9F, 0x02, 0x06, 0x9A, 0x03,
];

/// Default DDOL (9F49): the unpredictable number.
pub const DDOL: [u8; 3] = [0x9F, 0x37, 0x04];

/// Log Format (9F4F) answered by GET DATA: date, time, amount, currency, type, ATC.
pub const LOG_FORMAT: [u8; 16] = [
    0x9A, 0x03, 0x9F, 0x21, 0x03, 0x9F, 0x02, 0x06, 0x5F, 0x2A, 0x02, 0x9C, 0x01, 0x9F, 0x36, 0x02,
];

/// A directory (PSE): its FCI and its directory records (SFI 1).
#[derive(Debug, Clone)]
pub struct DirectoryImage {
    /// SELECT response data.
    pub fci: Vec<u8>,
    /// Directory records by record number.
    pub records: BTreeMap<u8, Vec<u8>>,
}

/// A personalised application.
#[derive(Debug)]
pub struct AppImage {
    /// AID.
    pub aid: Vec<u8>,
    /// SELECT response data (template 6F).
    pub fci: Vec<u8>,
    /// Blocked at personalisation.
    pub blocked: bool,
    /// PDOL (may be empty).
    pub pdol: Vec<u8>,
    /// CDOL1.
    pub cdol1: Vec<u8>,
    /// CDOL2.
    pub cdol2: Vec<u8>,
    /// Application Interchange Profile.
    pub aip: [u8; 2],
    /// Application File Locator.
    pub afl: Vec<u8>,
    /// Records by (SFI, record number): the full record as READ RECORD returns it.
    pub records: BTreeMap<(u8, u8), Vec<u8>>,
    /// The static data to be authenticated this card signed (for tests).
    pub static_data: Vec<u8>,
    /// PAN as in tag 5A.
    pub pan: Vec<u8>,
    /// PAN sequence number.
    pub pan_sequence: u8,
    /// ICC master key for application cryptograms.
    pub icc_ac_key: Key16,
    /// ICC master key for secure messaging integrity.
    pub icc_smi_key: Key16,
    /// ICC master key for secure messaging confidentiality (PIN change).
    pub icc_smc_key: Key16,
    /// ICC private key (DDA/CDA) when the card has one.
    pub icc_key: Option<&'static KeyPair>,
    /// ICC ECC private key (XDA) when the card has one.
    pub ecc_icc_key: Option<crate::ecc::EccKeyPair>,
    /// Key that deciphers enciphered PINs: the PIN key, else the ICC key.
    pub pin_decipher_key: Option<&'static KeyPair>,
    /// XDA: the ECC PIN encipherment key (9F2D), which deciphers enciphered
    /// PINs instead (EMV 4.4 Book 2, 13.3).
    pub ecc_pin_key: Option<crate::ecc::EccKeyPair>,
    /// ODA method.
    pub oda: Oda,
    /// ODA defects.
    pub faults: Faults,
    /// Card risk rules.
    pub risk: CardRisk,
    /// GPO answered in format 1.
    pub gpo_format1: bool,
    /// GENERATE AC / INTERNAL AUTHENTICATE answered in format 1.
    pub response_format1: bool,
    /// Hostile behaviour.
    pub hostile: Option<Hostile>,
    /// Reference PIN digits (0-9 each).
    pub pin_digits: Vec<u8>,
    /// PIN try limit.
    pub pin_try_limit: u8,
    /// PIN try counter at personalisation.
    pub pin_try_counter: u8,
    /// ATC at personalisation.
    pub atc: u16,
    /// Last online ATC at personalisation.
    pub last_online_atc: u16,
    /// Key for the card's deterministic random numbers.
    pub random_key: Key16,
}

/// A whole personalised card.
#[derive(Debug)]
pub struct CardImage {
    /// Answer to reset.
    pub atr: Vec<u8>,
    /// Every SELECT answers 6A81.
    pub blocked: bool,
    /// PSE, if any.
    pub pse: Option<DirectoryImage>,
    /// PPSE FCI, if any.
    pub ppse_fci: Option<Vec<u8>>,
    /// Applications.
    pub apps: Vec<AppImage>,
}

impl CardImage {
    /// Personalises a card from its description.
    pub fn build(spec: &CardSpec) -> Result<Self, PkiError> {
        let apps = spec
            .apps
            .iter()
            .map(build_app)
            .collect::<Result<Vec<_>, _>>()?;
        let entries: Vec<Vec<u8>> = spec.apps.iter().map(directory_entry).collect();
        let pse = spec.pse.then(|| {
            let fci = template(
                0x6F,
                &[
                    tlv(0x84, PSE_NAME),
                    template(0xA5, &[tlv(0x88, &[0x01]), tlv(0x5F2D, b"en")]),
                ],
            );
            let records = entries
                .chunks(2)
                .zip(1u8..)
                .map(|(chunk, number)| (number, template(0x70, chunk)))
                .collect();
            DirectoryImage { fci, records }
        });
        let ppse_fci = spec.ppse.then(|| {
            template(
                0x6F,
                &[
                    tlv(0x84, PPSE_NAME),
                    template(0xA5, &[template(0xBF0C, &entries)]),
                ],
            )
        });
        Ok(Self {
            atr: spec.atr.clone(),
            blocked: spec.blocked,
            pse,
            ppse_fci,
            apps,
        })
    }
}

fn directory_entry(app: &AppSpec) -> Vec<u8> {
    let mut children = vec![tlv(0x4F, &app.aid), tlv(0x50, app.label.as_bytes())];
    if let Some(priority) = app.priority {
        children.push(tlv(0x87, &[priority]));
    }
    template(0x61, &children)
}

fn aip_of(app: &AppSpec) -> [u8; 2] {
    // Book 3, Annex C1: b5 cardholder verification, b4 terminal risk management.
    let mut byte1 = 0x10 | 0x08;
    byte1 |= match app.oda {
        Oda::None => 0,
        Oda::Sda => 0x40,
        Oda::Dda => 0x20,
        Oda::Cda => 0x21,
        Oda::Xda => 0x80,
    };
    if app.issuer_authentication {
        byte1 |= 0x04;
    }
    [byte1, 0x00]
}

fn app_fci(app: &AppSpec) -> Vec<u8> {
    let mut proprietary = vec![tlv(0x50, app.label.as_bytes())];
    if let Some(priority) = app.priority {
        proprietary.push(tlv(0x87, &[priority]));
    }
    if !app.pdol.is_empty() {
        proprietary.push(tlv(0x9F38, &app.pdol));
    }
    proprietary.push(tlv(0x5F2D, b"enfr"));
    proprietary.push(tlv(0x9F11, &[0x01]));
    proprietary.push(tlv(0x9F12, app.label.as_bytes()));
    proprietary.push(template(0xBF0C, &[tlv(0x9F4D, &[0x0B, 0x0A])]));
    template(0x6F, &[tlv(0x84, &app.aid), template(0xA5, &proprietary)])
}

/// The ODA-signed records: application data (SFI 1 record 1) and limits (record 2).
fn signed_records(app: &AppSpec, pan: &[u8]) -> [Vec<u8>; 2] {
    let track2 = {
        let digits = format!(
            "{}D{}{}2010000000000",
            app.pan,
            hex2(app.expiry[0]),
            hex2(app.expiry[1])
        );
        let mut nibbles: Vec<u8> = digits
            .bytes()
            .map(|b| if b == b'D' { 0x0D } else { b - b'0' })
            .collect();
        if nibbles.len() % 2 == 1 {
            nibbles.push(0x0F);
        }
        nibbles
            .chunks(2)
            .map(|p| (p[0] << 4) | p[1])
            .collect::<Vec<u8>>()
    };
    let first = template(
        0x70,
        &[
            tlv(0x57, &track2),
            tlv(0x5A, pan),
            tlv(0x5F20, b"TEST/CARDHOLDER"),
            tlv(0x5F24, &app.expiry),
            tlv(0x5F25, &app.effective),
            tlv(0x5F28, &app.issuer_country),
            tlv(0x5F34, &[app.pan_sequence]),
            tlv(0x9F07, &app.usage_control),
            tlv(0x9F08, &app.version),
            tlv(0x9F42, &[0x09, 0x78]),
            tlv(0x8E, &app.cvm_list),
            tlv(0x9F0D, &app.iac_default),
            tlv(0x9F0E, &app.iac_denial),
            tlv(0x9F0F, &app.iac_online),
        ],
    );
    let mut second = vec![
        tlv(0x8C, &CDOL1),
        tlv(0x8D, &CDOL2[..]),
        tlv(0x9F14, &[app.lcol]),
        tlv(0x9F23, &[app.ucol]),
    ];
    if app.oda != Oda::None {
        second.push(tlv(0x9F4A, &[0x82]));
    }
    if matches!(app.oda, Oda::Dda | Oda::Cda) {
        second.push(tlv(0x9F49, &DDOL));
    }
    [first, template(0x70, &second)]
}

fn hex2(b: u8) -> String {
    format!("{b:02X}")
}

/// The value inside a record's 70 template (what SFI 1-10 records contribute to ODA).
fn template_value(record: &[u8]) -> &[u8] {
    match emv_kernel::tlv::parse_single(record) {
        Ok(t) => t.value,
        Err(_) => &[],
    }
}

fn build_app(app: &AppSpec) -> Result<AppImage, PkiError> {
    let pki = TestPki::get();
    let issuer = Issuer::test_issuer();
    let pan = cn(app.pan, app.pan.len().div_ceil(2));
    let aip = aip_of(app);
    let mut records: BTreeMap<(u8, u8), Vec<u8>> = BTreeMap::new();
    let [first, second] = signed_records(app, &pan);
    let mut static_data = Vec::new();
    static_data.extend_from_slice(template_value(&first));
    static_data.extend_from_slice(template_value(&second));
    let record_data = static_data.clone();
    if app.oda != Oda::None {
        static_data.extend_from_slice(&aip);
    }
    records.insert((1, 1), first);
    records.insert((1, 2), second);

    let issuer_key = pki.key(app.issuer_key);
    let icc_key = matches!(app.oda, Oda::Dda | Oda::Cda).then(|| pki.key(app.icc_key));
    let pin_key = (app.pin_key && app.oda != Oda::Xda).then(|| pki.key("icc-pin-1024"));
    // Book 2, 5.1 and 6.1: N_IC <= N_I <= N_CA (also for the PIN key).
    let ca_len = pki.key(app.ca_key).len();
    let icc_too_long = [icc_key, pin_key]
        .iter()
        .flatten()
        .any(|k| k.len() > issuer_key.len());
    if app.oda != Oda::None && (issuer_key.len() > ca_len || icc_too_long) {
        return Err(PkiError::KeyTooLong);
    }
    let mut sfi2: Vec<Vec<u8>> = Vec::new();
    let (ecc_icc_key, ecc_pin_key) = match app.oda {
        Oda::Xda => {
            let certified = certified_card_data(app, &record_data, aip);
            let (icc, pin) = xda_records(app, &pan, &certified, &mut sfi2);
            (Some(icc), pin)
        }
        _ => (None, None),
    };
    if !matches!(app.oda, Oda::None | Oda::Xda) {
        let ca = pki.key(app.ca_key);
        let fields = IssuerCertFields {
            issuer_identifier: {
                let mut id = [0xFF; 4];
                id[..3].copy_from_slice(&cn(&app.pan[..6], 3));
                id
            },
            expiry_mmyy: app.issuer_cert_expiry,
            serial: app.issuer_cert_serial,
        };
        let mut cert = issuer_certificate(ca, issuer_key, &fields)?;
        if app.faults.corrupt_issuer_certificate {
            if let Some(b) = cert.certificate.get_mut(40) {
                *b ^= 0x5A;
            }
        }
        sfi2.push(template(0x70, &[tlv(0x90, &cert.certificate)]));
        let mut key_record = vec![tlv(0x8F, &[app.ca_index])];
        if !cert.remainder.is_empty() {
            key_record.push(tlv(0x92, &cert.remainder));
        }
        key_record.push(tlv(0x9F32, &cert.exponent));
        sfi2.push(template(0x70, &key_record));
        match (app.oda, icc_key) {
            (Oda::Sda, _) => {
                let ssad = signed_static_data(issuer_key, [0xDA, 0xC1], &static_data)?;
                sfi2.push(template(0x70, &[tlv(0x93, &ssad)]));
            }
            (_, Some(icc)) => {
                let cert_pan = match app.faults.icc_certificate_pan {
                    Some(other) => cn(other, 10),
                    None => cn(app.pan, 10),
                };
                let mut pan10 = [0xFF; 10];
                pan10.copy_from_slice(&cert_pan);
                let icc_cert = icc_certificate(
                    issuer_key,
                    icc,
                    pan10,
                    [app.expiry[1], app.expiry[0]],
                    [0x00, 0x10, 0x01],
                    &static_data,
                )?;
                let mut record = vec![
                    tlv(0x9F46, &icc_cert.certificate),
                    tlv(0x9F47, &icc_cert.exponent),
                ];
                if !icc_cert.remainder.is_empty() {
                    record.push(tlv(0x9F48, &icc_cert.remainder));
                }
                sfi2.push(template(0x70, &record));
            }
            _ => {}
        }
        if let Some(pin) = pin_key {
            let mut pan10 = [0xFF; 10];
            pan10.copy_from_slice(&cn(app.pan, 10));
            let pin_cert = icc_certificate(
                issuer_key,
                pin,
                pan10,
                [app.expiry[1], app.expiry[0]],
                [0x00, 0x20, 0x01],
                &[],
            )?;
            let mut record = vec![
                tlv(0x9F2D, &pin_cert.certificate),
                tlv(0x9F2E, &pin_cert.exponent),
            ];
            if !pin_cert.remainder.is_empty() {
                record.push(tlv(0x9F2F, &pin_cert.remainder));
            }
            sfi2.push(template(0x70, &record));
        }
    }
    let mut afl = vec![0x08, 0x01, 0x02, if app.oda == Oda::None { 0 } else { 2 }];
    if !sfi2.is_empty() {
        afl.extend_from_slice(&[0x10, 0x01, sfi2.len() as u8, 0x00]);
    }
    for (record, number) in sfi2.into_iter().zip(1u8..) {
        records.insert((2, number), record);
    }
    if app.faults.tamper_signed_record {
        // Change one character of the cardholder name after signing.
        if let Some(record) = records.get_mut(&(1, 1)) {
            if let Some(pos) = record.windows(4).position(|w| w == b"TEST") {
                record[pos] = b'B';
            }
        }
    }
    if let Some(hostile) = app.hostile {
        apply_hostile(hostile, &mut records, &mut afl);
    }
    let random_key = {
        let digest = crate::pki::sha1(&[pan.as_slice(), b"card random"].concat());
        let mut key = [0u8; 16];
        key.copy_from_slice(&digest[..16]);
        key
    };
    Ok(AppImage {
        aid: app.aid.clone(),
        fci: app_fci(app),
        blocked: app.blocked,
        pdol: app.pdol.clone(),
        cdol1: CDOL1.to_vec(),
        cdol2: CDOL2.to_vec(),
        aip,
        afl,
        records,
        static_data,
        icc_ac_key: issuer.icc_ac_key(&pan, app.pan_sequence),
        icc_smi_key: issuer.icc_smi_key(&pan, app.pan_sequence),
        icc_smc_key: issuer.icc_smc_key(&pan, app.pan_sequence),
        pan,
        pan_sequence: app.pan_sequence,
        icc_key,
        ecc_icc_key,
        pin_decipher_key: pin_key.or(icc_key),
        ecc_pin_key,
        oda: app.oda,
        faults: app.faults.clone(),
        risk: app.risk,
        gpo_format1: app.gpo_format1,
        response_format1: app.response_format1,
        hostile: app.hostile,
        pin_digits: app.pin.bytes().map(|b| b - b'0').collect(),
        pin_try_limit: app.pin_try_limit,
        pin_try_counter: app.pin_try_counter,
        atc: app.atc,
        last_online_atc: app.last_online_atc,
        random_key,
    })
}

/// EMV 4.4 Book 2, 12.4 (as iohzrd/emv-rs reads it; docs/conformance.md
/// "XDA"): the Issuer Certified Card Data an ICC ECC certificate's ICCD hash
/// covers: the ODA records, then `82 02 AIP`, `9F06 L AID` and, when the card
/// has a PDOL, `9F38 L PDOL`.
fn certified_card_data(app: &AppSpec, records: &[u8], aip: [u8; 2]) -> Vec<u8> {
    let mut data = records.to_vec();
    data.extend_from_slice(&tlv(0x82, &aip));
    data.extend_from_slice(&tlv(0x9F06, &app.aid));
    if !app.pdol.is_empty() {
        data.extend_from_slice(&tlv(0x9F38, &app.pdol));
    }
    data
}

/// EMV 4.4 Book 2 (XDA): the Issuer ECC certificate (90), the CA index
/// (8F), the ICC ECC certificate (9F46) and, with `pin_key`, the ICC ECC PIN
/// encipherment certificate (9F2D) as SFI 2 records; returns the ICC's ECC
/// key and its PIN key.
fn xda_records(
    app: &AppSpec,
    pan: &[u8],
    certified: &[u8],
    sfi2: &mut Vec<Vec<u8>>,
) -> (crate::ecc::EccKeyPair, Option<crate::ecc::EccKeyPair>) {
    use crate::ecc::{self, EccIssuerCertFields, EccKeyPair, ECC_CA_KEYS};
    use emv_kernel::crypto::EccCurve;
    let curve = app.ecc_curve;
    let ca_spec = ECC_CA_KEYS
        .iter()
        .find(|spec| spec.curve == curve)
        .copied()
        .unwrap_or(ECC_CA_KEYS[0]);
    let ca = EccKeyPair::derive(ca_spec.name, curve);
    let (issuer_name, icc_name) = match curve {
        EccCurve::P256 => ("ecc-issuer-p256", "ecc-icc-p256"),
        EccCurve::P521 => ("ecc-issuer-p521", "ecc-icc-p521"),
    };
    let issuer = EccKeyPair::derive(issuer_name, curve);
    let icc = EccKeyPair::derive(icc_name, curve);
    let digits = app.faults.issuer_identifier.unwrap_or(&app.pan[..6]);
    let mut issuer_identifier = [0xFF; 5];
    let packed = cn(digits, digits.len().div_ceil(2));
    issuer_identifier[..packed.len()].copy_from_slice(&packed);
    // MMYY -> YYYYMMDD, the last day of that month.
    let [mm, yy] = app.issuer_cert_expiry;
    let last_day = match mm {
        0x02 => 0x28,
        0x04 | 0x06 | 0x09 | 0x11 => 0x30,
        _ => 0x31,
    };
    let fields = EccIssuerCertFields {
        issuer_identifier,
        suite: app.faults.issuer_suite.unwrap_or(issuer.suite()),
        expiry: [0x20, yy, mm, last_day],
        serial: app.issuer_cert_serial,
        ca_index: app.ca_index,
    };
    sfi2.push(template(
        0x70,
        &[tlv(0x90, &ecc::issuer_certificate(&ca, &issuer, &fields))],
    ));
    sfi2.push(template(0x70, &[tlv(0x8F, &[app.ca_index])]));
    // The ICCD hash covers the static data; with `icc_certificate_pan` it is
    // computed over the same data holding another PAN.
    let certified_data = match app.faults.icc_certificate_pan {
        Some(other) => {
            let (ours, theirs) = (
                tlv(0x5A, pan),
                tlv(0x5A, &cn(other, other.len().div_ceil(2))),
            );
            match certified
                .windows(ours.len())
                .position(|w| w == ours.as_slice())
            {
                Some(at) => [&certified[..at], &theirs[..], &certified[at + ours.len()..]].concat(),
                None => certified.to_vec(),
            }
        }
        None => certified.to_vec(),
    };
    let [yy, mm, dd] = app.expiry;
    let icc_certificate = ecc::icc_certificate(
        &issuer,
        &icc,
        [0x20, yy, mm, dd, 0x23, 0x59],
        [0x00, 0x00, 0x00, 0x00, 0x10, 0x01],
        emv_kernel::oda::xda::HASH_ALGORITHM_SHA256,
        &certified_data,
    );
    sfi2.push(template(0x70, &[tlv(0x9F46, &icc_certificate)]));
    // EMV 4.4 Book 2, 13.1 (as we read it): the PIN key's certificate has
    // the ICC certificate's layout, with an encipherment suite (00 or 01).
    let pin_key = app.pin_key.then(|| {
        let name = match curve {
            EccCurve::P256 => "ecc-icc-pin-p256",
            EccCurve::P521 => "ecc-icc-pin-p521",
        };
        let pin = EccKeyPair::derive(name, curve);
        let mut certificate = ecc::icc_certificate_with_suite(
            &issuer,
            &pin,
            ecc::ode_suite(curve),
            [0x20, yy, mm, dd, 0x23, 0x59],
            [0x00, 0x00, 0x00, 0x00, 0x10, 0x02],
            emv_kernel::oda::xda::HASH_ALGORITHM_SHA256,
            certified,
        );
        if app.faults.corrupt_pin_certificate {
            // The last byte of the key's x, just before the signature.
            let at = certificate.len() - issuer.curve.signature_len() - 1;
            certificate[at] ^= 0x01;
        }
        sfi2.push(template(0x70, &[tlv(0x9F2D, &certificate)]));
        pin
    });
    (icc, pin_key)
}

/// Rewrites records and AFL for a hostile profile.
fn apply_hostile(hostile: Hostile, records: &mut BTreeMap<(u8, u8), Vec<u8>>, afl: &mut Vec<u8>) {
    match hostile {
        Hostile::LyingLength => {
            // Outer template claims 200 bytes; inner PAN claims 32 of the 6 present.
            let mut lying = vec![
                0x70, 0x81, 0xC8, 0x5A, 0x20, 0x67, 0x99, 0x99, 0x01, 0x00, 0x00,
            ];
            lying.extend_from_slice(&[0x5F, 0x24, 0x03, 0x31, 0x12, 0x31]);
            records.insert((1, 2), lying);
        }
        Hostile::TruncatedRecord => {
            if let Some(record) = records.get_mut(&(1, 1)) {
                let keep = record.len().saturating_sub(7);
                record.truncate(keep);
            }
        }
        Hostile::RecursiveTemplate => {
            let mut inner = tlv(0x9F14, &[0x05]);
            for _ in 0..64 {
                inner = tlv(0xA5, &inner);
            }
            records.insert((1, 2), tlv(0x70, &inner));
        }
        Hostile::AflLoop => {
            afl.clear();
            for _ in 0..60 {
                afl.extend_from_slice(&[0x08, 0x01, 0x02, 0x00]);
            }
        }
        Hostile::Afl200Records => {
            afl.extend_from_slice(&[0x18, 0x01, 200, 0x00]);
            // Each record one distinct private tag (DF01..DF7F, then DF8101..)
            // with 100 bytes: 20 KB of card data and no duplicates.
            for number in 1..=200u8 {
                let tag = match number {
                    1..=127 => 0xDF00 | u32::from(number),
                    _ => 0xDF_8100 | u32::from(number - 127),
                };
                records.insert((3, number), template(0x70, &[tlv(tag, &[number; 100])]));
            }
        }
        Hostile::OversizedResponse => {
            let filler = tlv(0xDF21, &[0x55; 296]);
            records.insert((1, 2), tlv(0x70, &filler));
        }
        Hostile::T0Sequences | Hostile::EndlessGetResponse => {}
    }
}

/// Total length the PDOL asks for (GPO data check).
pub fn pdol_len(app: &AppImage) -> usize {
    dol_data_len(&app.pdol)
}
