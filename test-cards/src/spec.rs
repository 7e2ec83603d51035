//! What a simulated card is made of: the description a profile fills in.
//!
//! A [`CardSpec`] is plain data. [`crate::image::CardImage::build`] turns it
//! into files, FCIs, certificates and keys once; the card engine then serves
//! the image.

/// Which offline data authentication the application offers (AIP bits).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Oda {
    /// No ODA method in the AIP.
    None,
    /// Static data authentication (AIP byte 1 b7).
    Sda,
    /// Dynamic data authentication (AIP byte 1 b6).
    Dda,
    /// Combined DDA/application cryptogram generation (AIP byte 1 b1, with b6).
    Cda,
    /// Extended data authentication (EMV 4.4, AIP byte 1 b8): ECC
    /// certificates and an EC-SDSA signature on GENERATE AC.
    Xda,
}

/// Deliberate defects in the card's ODA data, each making one check fail.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Faults {
    /// Change a signed record after the SSAD was made (hash mismatch).
    pub tamper_signed_record: bool,
    /// Flip a byte of the issuer public key certificate (recovery fails).
    pub corrupt_issuer_certificate: bool,
    /// Sign DDA data over other terminal data than the card received.
    pub bad_dda_signature: bool,
    /// Sign the CDA transaction data hash without the PDOL data.
    pub bad_cda_signature: bool,
    /// Put another PAN in the ICC public key certificate (XDA: compute the
    /// ICCD hash over static data holding this PAN instead of the card's).
    pub icc_certificate_pan: Option<&'static str>,
    /// XDA: sign the GENERATE AC data without the PDOL data.
    pub bad_xda_signature: bool,
    /// XDA: write these PAN digits as the ECC issuer certificate's Issuer
    /// Identifier instead of the card's first six.
    pub issuer_identifier: Option<&'static str>,
    /// XDA: write this Algorithm Suite Indicator for the issuer key.
    pub issuer_suite: Option<u8>,
    /// XDA with a PIN key: flip a byte of the ICC ECC PIN encipherment
    /// certificate's key after it was signed (its signature check fails).
    pub corrupt_pin_certificate: bool,
}

/// Malformed card behaviour for robustness tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hostile {
    /// Records whose outer and inner lengths exceed the bytes present.
    LyingLength,
    /// A record cut in the middle of a data object.
    TruncatedRecord,
    /// Templates nested far deeper than any real card (64 levels).
    RecursiveTemplate,
    /// An AFL that lists the same record over and over.
    AflLoop,
    /// An AFL pointing to 200 records, all present, each a distinct 100-byte object.
    Afl200Records,
    /// T=0 style answers: `61xx` for every case 4 command, `6Cxx` for a case 2
    /// command with the wrong Le, and GET RESPONSE handing data out in 32-byte pieces.
    T0Sequences,
    /// T=0 answers where GET RESPONSE always announces more data (`61xx` forever).
    EndlessGetResponse,
    /// A READ RECORD answer longer than a short response APDU can carry.
    OversizedResponse,
}

/// The card's own risk rules for GENERATE AC (issuer-defined, Book 3, 10.9 card action analysis).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CardRisk {
    /// Answer every GENERATE AC with an AAC.
    pub always_decline: bool,
    /// Answer a TC request with an ARQC.
    pub always_online: bool,
    /// Go online when more than this many transactions passed since the last online one.
    pub consecutive_offline_limit: u16,
    /// Decline in the second GENERATE AC when issuer authentication failed.
    pub decline_if_issuer_authentication_failed: bool,
}

impl Default for CardRisk {
    fn default() -> Self {
        Self {
            always_decline: false,
            always_online: false,
            consecutive_offline_limit: 50,
            decline_if_issuer_authentication_failed: true,
        }
    }
}

/// One payment application on the card.
#[derive(Debug, Clone)]
pub struct AppSpec {
    /// Application Identifier (tag 4F / 84).
    pub aid: Vec<u8>,
    /// Application Label (tag 50).
    pub label: &'static str,
    /// Application Priority Indicator (tag 87); b8 = cardholder confirmation required.
    pub priority: Option<u8>,
    /// The application answers SELECT with 6283 and declines (blocked).
    pub blocked: bool,
    /// Offline data authentication offered.
    pub oda: Oda,
    /// AIP byte 1 b3: issuer authentication supported (EXTERNAL AUTHENTICATE).
    pub issuer_authentication: bool,
    /// CA Public Key Index written in tag 8F.
    pub ca_index: u8,
    /// Key file stem of the CA key that really signs the issuer certificate.
    pub ca_key: &'static str,
    /// Key file stem of the issuer key.
    pub issuer_key: &'static str,
    /// Key file stem of the ICC key (DDA/CDA).
    pub icc_key: &'static str,
    /// XDA: the curve of the CA, issuer and ICC ECC keys (CA `10` for
    /// P-256, `11` for P-521, [`crate::ecc::ECC_CA_KEYS`]).
    pub ecc_curve: emv_kernel::crypto::EccCurve,
    /// Give the card an ICC PIN encipherment key (9F2D..9F2F); else the ICC
    /// key is used. With XDA: an ECC PIN encipherment key (9F2D, suite `00`
    /// or `01`), without which the card has no enciphered PIN.
    pub pin_key: bool,
    /// Issuer certificate expiry MMYY.
    pub issuer_cert_expiry: [u8; 2],
    /// Issuer certificate serial number.
    pub issuer_cert_serial: [u8; 3],
    /// ODA defects.
    pub faults: Faults,
    /// Application PAN as digits.
    pub pan: &'static str,
    /// PAN Sequence Number (5F34).
    pub pan_sequence: u8,
    /// Application Expiration Date YYMMDD (5F24).
    pub expiry: [u8; 3],
    /// Application Effective Date YYMMDD (5F25).
    pub effective: [u8; 3],
    /// Issuer Country Code (5F28).
    pub issuer_country: [u8; 2],
    /// Application Usage Control (9F07).
    pub usage_control: [u8; 2],
    /// Application Version Number on the card (9F08).
    pub version: [u8; 2],
    /// CVM List (8E): amount X, amount Y, then rules.
    pub cvm_list: Vec<u8>,
    /// Issuer Action Code - Default, Denial, Online (9F0D, 9F0E, 9F0F).
    pub iac_default: [u8; 5],
    /// Issuer Action Code - Denial.
    pub iac_denial: [u8; 5],
    /// Issuer Action Code - Online.
    pub iac_online: [u8; 5],
    /// Reference PIN digits.
    pub pin: &'static str,
    /// PIN Try Counter at personalisation.
    pub pin_try_counter: u8,
    /// PIN Try Limit (the counter's reset value).
    pub pin_try_limit: u8,
    /// ATC at personalisation.
    pub atc: u16,
    /// Last Online ATC Register at personalisation.
    pub last_online_atc: u16,
    /// Lower Consecutive Offline Limit (9F14).
    pub lcol: u8,
    /// Upper Consecutive Offline Limit (9F23).
    pub ucol: u8,
    /// PDOL (9F38) in the FCI; empty for none.
    pub pdol: Vec<u8>,
    /// Answer GPO in format 1 (tag 80) instead of format 2 (tag 77).
    pub gpo_format1: bool,
    /// Answer GENERATE AC (without CDA) and INTERNAL AUTHENTICATE in format 1.
    pub response_format1: bool,
    /// Card risk rules.
    pub risk: CardRisk,
    /// Malformed behaviour, if any.
    pub hostile: Option<Hostile>,
}

/// A whole card: the applications and how they are found.
#[derive(Debug, Clone)]
pub struct CardSpec {
    /// The card has a PSE (`1PAY.SYS.DDF01`) listing its applications.
    pub pse: bool,
    /// The card has a PPSE (`2PAY.SYS.DDF01`).
    pub ppse: bool,
    /// The whole card is blocked: every SELECT answers 6A81.
    pub blocked: bool,
    /// Answer to reset.
    pub atr: Vec<u8>,
    /// Applications, in the order of the PSE directory.
    pub apps: Vec<AppSpec>,
}

/// The test scheme's AID prefix: test RID `A0 00 00 09 99`.
pub const TEST_AID_CREDIT: [u8; 7] = [0xA0, 0x00, 0x00, 0x09, 0x99, 0x10, 0x10];
/// Second test application (debit).
pub const TEST_AID_DEBIT: [u8; 7] = [0xA0, 0x00, 0x00, 0x09, 0x99, 0x20, 0x20];
/// Third test application (prepaid).
pub const TEST_AID_PREPAID: [u8; 7] = [0xA0, 0x00, 0x00, 0x09, 0x99, 0x30, 0x30];

/// A T=1 ATR pcscd accepts for the virtual reader (see MEASURED.md).
pub const DEFAULT_ATR: [u8; 20] = [
    0x3B, 0x8F, 0x80, 0x01, 0x80, 0x4F, 0x0C, 0xA0, 0x00, 0x00, 0x03, 0x06, 0x03, 0x00, 0x03, 0x00,
    0x00, 0x00, 0x00, 0x68,
];

/// An ATR offering only T=0 (no interface bytes, historical bytes `14 50`),
/// so pcscd talks T=0 to the hostile T=0 profiles.
pub const T0_ATR: [u8; 4] = [0x3B, 0x02, 0x14, 0x50];

impl Default for AppSpec {
    fn default() -> Self {
        Self {
            aid: TEST_AID_CREDIT.to_vec(),
            label: "TEST CREDIT",
            priority: Some(0x01),
            blocked: false,
            oda: Oda::None,
            issuer_authentication: false,
            ca_index: 0x03,
            ca_key: "ca-03",
            issuer_key: "issuer-1152",
            icc_key: "icc-1024",
            ecc_curve: emv_kernel::crypto::EccCurve::P256,
            pin_key: false,
            issuer_cert_expiry: [0x12, 0x30],
            issuer_cert_serial: [0x00, 0x00, 0x01],
            faults: Faults::default(),
            pan: "6799990100000011",
            pan_sequence: 0x01,
            expiry: [0x31, 0x12, 0x31],
            effective: [0x20, 0x01, 0x01],
            issuer_country: [0x02, 0x50],
            usage_control: [0xFF, 0x00],
            version: [0x00, 0x02],
            // X = 0, Y = 0; signature (if supported, else next), then no CVM.
            cvm_list: vec![0, 0, 0, 0, 0, 0, 0, 0, 0x5E, 0x03, 0x1F, 0x03],
            iac_default: [0xDC, 0x40, 0x00, 0xA8, 0x00],
            iac_denial: [0x00, 0x10, 0x00, 0x00, 0x00],
            iac_online: [0xDC, 0x40, 0x84, 0xF8, 0x00],
            pin: "1234",
            pin_try_counter: 3,
            pin_try_limit: 3,
            atc: 0x0010,
            last_online_atc: 0x000E,
            lcol: 5,
            ucol: 10,
            pdol: vec![0x9F, 0x1A, 0x02, 0x9F, 0x33, 0x03],
            gpo_format1: false,
            response_format1: false,
            risk: CardRisk::default(),
            hostile: None,
        }
    }
}

impl Default for CardSpec {
    fn default() -> Self {
        Self {
            pse: true,
            ppse: false,
            blocked: false,
            atr: DEFAULT_ATR.to_vec(),
            apps: vec![AppSpec::default()],
        }
    }
}
