//! The terminal configuration file (TOML): what the terminal is, which
//! applications it accepts with their risk parameters, revoked issuer
//! certificates, the exception file and the offline limits.
//!
//! Every key is optional: a missing key keeps its built-in default, and the
//! built-in defaults ([`Settings::default`]) match the simulated test cards,
//! so `transact` needs no file to start. A key that is present replaces the
//! default (a `[[application]]` list replaces the whole default list, a
//! `[[revoked]]` list the default revocation list). Unknown keys and invalid
//! values are rejected with the key named, e.g.
//! `application[2].tac_online: expected 10 hex digits, found 8`.
//!
//! Hex values are strings (`"E0F8C8"`), amounts are integers in minor units
//! of the transaction currency. The reference is `docs/configuration.md`.
//!
//! ```
//! use emv_config::Settings;
//!
//! let settings = Settings::from_toml(
//!     "[terminal]\nterminal_id = \"T1\"\n\n[offline_limits]\nmax_offline_approvals = 20\n",
//! )?;
//! assert_eq!(settings.offline_limits.max_offline_approvals, Some(20));
//! let kernel_config = &settings.terminal; // what `emv_kernel` runs with
//! # let _ = kernel_config;
//! # Ok::<(), emv_config::ConfigError>(())
//! ```
//!
//! [`Settings::load`] reads a file and names it in its errors.

mod capk;
mod limits;

pub use capk::{describe_load_error, load_ca_keys, CaKeys, CA_KEY_CAPACITY};
pub use limits::OfflineLimits;

use std::path::{Path, PathBuf};

use emv_kernel::config::{ApplicationConfig, TerminalConfig};
use emv_kernel::dol;
use emv_kernel::limits::{
    MAX_AID_BYTES, MAX_DEFAULT_DOL_BYTES, MAX_MERCHANT_NAME_BYTES, REVOCATION_LIST_CAPACITY,
    TERMINAL_AID_CAPACITY, TERMINAL_LANGUAGE_CAPACITY,
};
use emv_kernel::messages::Language;
use emv_kernel::oda::revocation::{RevocationList, RevokedCertificate};
use toml::{Table, Value};

/// The test issuer certificate the `revoked-issuer-cert` test card presents:
/// RID `A000000999`, CA index `01`, serial `123456` (revoked by default).
pub const TEST_REVOKED_CERTIFICATE: RevokedCertificate = RevokedCertificate {
    rid: [0xA0, 0x00, 0x00, 0x09, 0x99],
    ca_index: 0x01,
    serial_number: [0x12, 0x34, 0x56],
};

/// The Issuer ECC certificate the `xda-revoked-issuer-cert` test card
/// presents: RID `A000000999`, ECC CA index `10`, serial `654321` (revoked
/// by default).
pub const TEST_REVOKED_ECC_CERTIFICATE: RevokedCertificate = RevokedCertificate {
    rid: [0xA0, 0x00, 0x00, 0x09, 0x99],
    ca_index: 0x10,
    serial_number: [0x65, 0x43, 0x21],
};

/// Everything the configuration file sets: the kernel's terminal
/// configuration plus the per-transaction defaults and lists the terminal
/// keeps around the kernel.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Settings {
    /// The kernel's terminal configuration (9F33, 9F35, 9F1A, AIDs...).
    pub terminal: TerminalConfig,
    /// Transaction Currency Code (5F2A), n3 in 2 bytes BCD.
    pub currency_code: [u8; 2],
    /// Transaction Currency Exponent (5F36): digits after the decimal point.
    pub currency_exponent: u8,
    /// Revoked issuer public key certificates (Book 2, 5.3 step 10).
    pub revoked: Vec<RevokedCertificate>,
    /// Terminal exception file: PANs in 5A format (BCD, `F`-padded).
    pub exception_file: Vec<Vec<u8>>,
    /// Offline approval caps checked against the journal before each
    /// transaction (`[offline_limits]`).
    pub offline_limits: OfflineLimits,
}

impl Default for Settings {
    /// The kernel's default terminal (attended, online capable, `E0F8C8`,
    /// country `0250`, the three test applications), currency `0978` with
    /// exponent 2, the test cards' revoked issuer certificates (RSA and ECC), an empty
    /// exception file and no offline limits.
    fn default() -> Self {
        Settings {
            terminal: TerminalConfig::default(),
            currency_code: [0x09, 0x78],
            currency_exponent: 2,
            revoked: vec![TEST_REVOKED_CERTIFICATE, TEST_REVOKED_ECC_CERTIFICATE],
            exception_file: Vec::new(),
            offline_limits: OfflineLimits::default(),
        }
    }
}

impl Settings {
    /// The revocation list in the kernel's fixed-capacity form.
    pub fn revocation_list(&self) -> RevocationList {
        let mut list = RevocationList::new();
        for entry in &self.revoked {
            // The loader bounds the list to REVOCATION_LIST_CAPACITY.
            let _ = list.insert(*entry);
        }
        list
    }

    /// Reads and checks a configuration file.
    pub fn load(path: &Path) -> Result<Settings, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        Settings::from_toml(&text).map_err(|error| error.in_file(path))
    }

    /// Reads configuration text; missing keys keep their defaults.
    pub fn from_toml(text: &str) -> Result<Settings, ConfigError> {
        let table: Table = text
            .parse()
            .map_err(|error: toml::de::Error| ConfigError::Syntax {
                path: None,
                message: error.message().to_owned(),
                line: error
                    .span()
                    .map(|span| 1 + text.get(..span.start).unwrap_or("").matches('\n').count()),
            })?;
        let mut settings = Settings::default();
        let root = Section::root(&table);
        root.only(&[
            "terminal",
            "application",
            "revoked",
            "exception_file",
            "offline_limits",
        ])?;
        if let Some(terminal) = root.table("terminal")? {
            read_terminal(&terminal, &mut settings)?;
        }
        if let Some(applications) = root.tables("application")? {
            read_applications(&applications, &mut settings.terminal)?;
        }
        if let Some(revoked) = root.tables("revoked")? {
            settings.revoked = read_revoked(&revoked)?;
        }
        if let Some(pans) = root.array("exception_file")? {
            settings.exception_file = read_exception_file(pans)?;
        }
        if let Some(limits) = root.table("offline_limits")? {
            settings.offline_limits = read_offline_limits(&limits)?;
        }
        Ok(settings)
    }
}

/// Why the configuration cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// What the operating system said.
        source: std::io::Error,
    },
    /// The text is not TOML.
    #[error("{}not valid TOML{}: {message}", origin(path), line.map(|l| format!(" (line {l})")).unwrap_or_default())]
    Syntax {
        /// The file, when read from one.
        path: Option<PathBuf>,
        /// The parser's message.
        message: String,
        /// 1-based line of the error, when known.
        line: Option<usize>,
    },
    /// A key is unknown or its value is invalid.
    #[error("{}{key}: {reason}", origin(path))]
    Invalid {
        /// The file, when read from one.
        path: Option<PathBuf>,
        /// The key, dotted, e.g. `terminal.capabilities` or `application[2].aid`
        /// (applications and revoked entries count from 1).
        key: String,
        /// What is wrong with it.
        reason: String,
    },
}

impl ConfigError {
    /// The key an [`ConfigError::Invalid`] names.
    pub fn key(&self) -> Option<&str> {
        match self {
            ConfigError::Invalid { key, .. } => Some(key),
            _ => None,
        }
    }

    fn in_file(self, file: &Path) -> ConfigError {
        match self {
            ConfigError::Syntax { message, line, .. } => ConfigError::Syntax {
                path: Some(file.to_path_buf()),
                message,
                line,
            },
            ConfigError::Invalid { key, reason, .. } => ConfigError::Invalid {
                path: Some(file.to_path_buf()),
                key,
                reason,
            },
            io => io,
        }
    }
}

fn origin(path: &Option<PathBuf>) -> String {
    path.as_ref()
        .map(|p| format!("{}: ", p.display()))
        .unwrap_or_default()
}

fn invalid(key: String, reason: impl Into<String>) -> ConfigError {
    ConfigError::Invalid {
        path: None,
        key,
        reason: reason.into(),
    }
}

/// One TOML table with the dotted name used in error messages.
struct Section<'t> {
    name: String,
    table: &'t Table,
}

impl<'t> Section<'t> {
    fn root(table: &'t Table) -> Self {
        Section {
            name: String::new(),
            table,
        }
    }

    fn key(&self, key: &str) -> String {
        if self.name.is_empty() {
            key.to_owned()
        } else {
            format!("{}.{key}", self.name)
        }
    }

    /// Rejects keys outside `allowed`.
    fn only(&self, allowed: &[&str]) -> Result<(), ConfigError> {
        match self.table.keys().find(|k| !allowed.contains(&k.as_str())) {
            Some(unknown) => Err(invalid(
                self.key(unknown),
                format!("unknown key (known here: {})", allowed.join(", ")),
            )),
            None => Ok(()),
        }
    }

    fn value(&self, key: &str) -> Option<&'t Value> {
        self.table.get(key)
    }

    fn wrong_type(&self, key: &str, expected: &str) -> ConfigError {
        let found = self.value(key).map(Value::type_str).unwrap_or("nothing");
        invalid(self.key(key), format!("expected {expected}, found {found}"))
    }

    fn table(&self, key: &str) -> Result<Option<Section<'t>>, ConfigError> {
        match self.value(key) {
            None => Ok(None),
            Some(Value::Table(table)) => Ok(Some(Section {
                name: self.key(key),
                table,
            })),
            Some(_) => Err(self.wrong_type(key, &format!("a table [{key}]"))),
        }
    }

    fn tables(&self, key: &str) -> Result<Option<Vec<Section<'t>>>, ConfigError> {
        let Some(value) = self.value(key) else {
            return Ok(None);
        };
        let Value::Array(items) = value else {
            return Err(self.wrong_type(key, &format!("an array of tables [[{key}]]")));
        };
        let mut sections = Vec::with_capacity(items.len());
        for (position, item) in items.iter().enumerate() {
            let name = format!("{}[{}]", self.key(key), position + 1);
            match item {
                Value::Table(table) => sections.push(Section { name, table }),
                other => {
                    return Err(invalid(
                        name,
                        format!("expected a table, found {}", other.type_str()),
                    ))
                }
            }
        }
        Ok(Some(sections))
    }

    fn array(&self, key: &str) -> Result<Option<&'t [Value]>, ConfigError> {
        match self.value(key) {
            None => Ok(None),
            Some(Value::Array(items)) => Ok(Some(items.as_slice())),
            Some(_) => Err(self.wrong_type(key, "an array")),
        }
    }

    fn string(&self, key: &str) -> Result<Option<&'t str>, ConfigError> {
        match self.value(key) {
            None => Ok(None),
            Some(Value::String(text)) => Ok(Some(text.as_str())),
            Some(_) => Err(self.wrong_type(key, "a string")),
        }
    }

    fn boolean(&self, key: &str) -> Result<Option<bool>, ConfigError> {
        match self.value(key) {
            None => Ok(None),
            Some(Value::Boolean(flag)) => Ok(Some(*flag)),
            Some(_) => Err(self.wrong_type(key, "true or false")),
        }
    }

    /// An integer within `min..=max`.
    fn integer(&self, key: &str, min: u64, max: u64) -> Result<Option<u64>, ConfigError> {
        match self.value(key) {
            None => Ok(None),
            Some(Value::Integer(number)) => match u64::try_from(*number) {
                Ok(value) if (min..=max).contains(&value) => Ok(Some(value)),
                _ => Err(invalid(
                    self.key(key),
                    format!("{number} is outside {min} to {max}"),
                )),
            },
            Some(_) => Err(self.wrong_type(key, "an integer")),
        }
    }

    /// A hex string of `min..=max` bytes (spaces between digits allowed).
    fn hex(&self, key: &str, min: usize, max: usize) -> Result<Option<Vec<u8>>, ConfigError> {
        let Some(text) = self
            .string(key)
            .map_err(|_| self.wrong_type(key, "a string of hex digits (hex values are quoted)"))?
        else {
            return Ok(None);
        };
        let digits: String = text.chars().filter(|c| !c.is_whitespace()).collect();
        let bytes = hex::decode(&digits)
            .map_err(|_| invalid(self.key(key), format!("{text:?} is not hexadecimal")))?;
        if !(min..=max).contains(&bytes.len()) {
            let expected = if min == max {
                format!("{} hex digits", 2 * min)
            } else {
                format!("{} to {} hex digits", 2 * min, 2 * max)
            };
            return Err(invalid(
                self.key(key),
                format!("expected {expected}, found {}", digits.len()),
            ));
        }
        Ok(Some(bytes))
    }

    /// A hex string of exactly `N` bytes.
    fn hex_array<const N: usize>(&self, key: &str) -> Result<Option<[u8; N]>, ConfigError> {
        Ok(self
            .hex(key, N, N)?
            .and_then(|bytes| <[u8; N]>::try_from(bytes).ok()))
    }

    /// A decimal code of exactly 4 digits (`"0250"`, `"5999"`), as 2 BCD bytes.
    fn numeric_code(&self, key: &str, leading_zero: bool) -> Result<Option<[u8; 2]>, ConfigError> {
        let Some(text) = self
            .string(key)
            .map_err(|_| self.wrong_type(key, "a string of 4 decimal digits"))?
        else {
            return Ok(None);
        };
        if text.len() != 4 || !text.bytes().all(|b| b.is_ascii_digit()) {
            return Err(invalid(
                self.key(key),
                format!("{text:?} is not 4 decimal digits"),
            ));
        }
        if leading_zero && !text.starts_with('0') {
            return Err(invalid(
                self.key(key),
                format!("{text:?}: an ISO 3166/4217 numeric code has 3 digits, written with a leading 0"),
            ));
        }
        Ok(bcd(text).and_then(|bytes| <[u8; 2]>::try_from(bytes).ok()))
    }

    /// Text of 1 to `max` characters: letters, digits and spaces when
    /// `alphanumeric` (EMV `an`), else any printable ASCII (`ans`).
    fn text(
        &self,
        key: &str,
        max: usize,
        alphanumeric: bool,
    ) -> Result<Option<Vec<u8>>, ConfigError> {
        let Some(text) = self.string(key)? else {
            return Ok(None);
        };
        let allowed = |c: char| {
            if alphanumeric {
                c.is_ascii_alphanumeric() || c == ' '
            } else {
                c.is_ascii() && !c.is_ascii_control()
            }
        };
        if text.is_empty() || text.len() > max || !text.chars().all(allowed) {
            let kind = if alphanumeric {
                "letters and digits"
            } else {
                "printable ASCII"
            };
            return Err(invalid(
                self.key(key),
                format!("expected 1 to {max} characters of {kind}, found {text:?}"),
            ));
        }
        Ok(Some(text.as_bytes().to_vec()))
    }
}

/// Decimal digits to BCD, left-padded with a 0 digit to whole bytes.
fn bcd(digits: &str) -> Option<Vec<u8>> {
    let mut nibbles: Vec<u8> = digits
        .bytes()
        .map(|b| b.is_ascii_digit().then(|| b - b'0'))
        .collect::<Option<_>>()?;
    if nibbles.len() % 2 == 1 {
        nibbles.insert(0, 0);
    }
    Some(nibbles.chunks(2).map(|p| (p[0] << 4) | p[1]).collect())
}

/// `text` right-padded with spaces to `N` bytes (EMV `an`/`ans` fields).
fn padded<const N: usize>(text: &[u8]) -> [u8; N] {
    let mut out = [b' '; N];
    for (slot, byte) in out.iter_mut().zip(text) {
        *slot = *byte;
    }
    out
}

fn read_terminal(section: &Section<'_>, settings: &mut Settings) -> Result<(), ConfigError> {
    section.only(&[
        "terminal_type",
        "capabilities",
        "additional_capabilities",
        "country_code",
        "currency_code",
        "currency_exponent",
        "online_capable",
        "merchant_category_code",
        "merchant_name",
        "merchant_identifier",
        "terminal_id",
        "ifd_serial_number",
        "acquirer_identifier",
        "pin_pad_working",
        "subsequent_pin_bypass",
        "cda_request_mode",
        "pse",
        "cardholder_confirmation",
        "cardholder_choice",
        "languages",
        "refund_policy",
    ])?;
    let config = &mut settings.terminal;
    // ICS row 92 (emv_kernel::config::RefundPolicy).
    if let Some(policy) = section.string("refund_policy")? {
        config.refund_policy = match policy {
            "aac" => emv_kernel::config::RefundPolicy::AacAtFirstGenerateAc,
            "as_purchase" => emv_kernel::config::RefundPolicy::AsPurchase,
            other => {
                return Err(invalid(
                    section.key("refund_policy"),
                    format!("expected \"aac\" or \"as_purchase\", found {other:?}"),
                ))
            }
        };
    }
    if let Some(value) = section.value("languages") {
        config.languages = languages(section, value)?;
    }
    if let Some([terminal_type]) = section.hex_array::<1>("terminal_type")? {
        // Book 4, Annex A1: first digit 1-3 (operational control), second 1-6.
        let (control, environment) = (terminal_type >> 4, terminal_type & 0x0F);
        if !(1..=3).contains(&control) || !(1..=6).contains(&environment) {
            return Err(invalid(
                section.key("terminal_type"),
                format!("{terminal_type:02X} is not a Book 4 Annex A1 terminal type (11-16, 21-26, 31-36)"),
            ));
        }
        config.terminal_type = terminal_type;
    }
    if let Some(capabilities) = section.hex_array("capabilities")? {
        config.terminal_capabilities = capabilities;
    }
    if let Some(additional) = section.hex_array("additional_capabilities")? {
        config.additional_terminal_capabilities = additional;
    }
    if let Some(country) = section.numeric_code("country_code", true)? {
        config.terminal_country_code = country;
    }
    if let Some(currency) = section.numeric_code("currency_code", true)? {
        settings.currency_code = currency;
    }
    if let Some(exponent) = section.integer("currency_exponent", 0, 4)? {
        settings.currency_exponent = exponent as u8;
    }
    if let Some(online) = section.boolean("online_capable")? {
        config.online_capable = online;
    }
    if config.online_capable && matches!(config.terminal_type & 0x0F, 3 | 6) {
        let key = if section.value("online_capable").is_some() {
            "online_capable"
        } else {
            "terminal_type"
        };
        return Err(invalid(
            section.key(key),
            format!(
                "terminal type {:02X} is offline only, but online_capable is true",
                config.terminal_type
            ),
        ));
    }
    if let Some(mcc) = section.numeric_code("merchant_category_code", false)? {
        config.merchant_category_code = mcc;
    }
    if let Some(name) = section.text("merchant_name", MAX_MERCHANT_NAME_BYTES, false)? {
        config.merchant_name_and_location.clear();
        // text() bounds the name to MAX_MERCHANT_NAME_BYTES.
        let _ = config.merchant_name_and_location.extend_from_slice(&name);
    }
    if let Some(id) = section.text("merchant_identifier", 15, false)? {
        config.merchant_identifier = padded(&id);
    }
    if let Some(id) = section.text("terminal_id", 8, true)? {
        config.terminal_identification = padded(&id);
    }
    if let Some(serial) = section.text("ifd_serial_number", 8, true)? {
        config.ifd_serial_number = padded(&serial);
    }
    if let Some(acquirer) = section.string("acquirer_identifier")? {
        let digits_ok = (6..=11).contains(&acquirer.len());
        match bcd(&format!("{acquirer:0>12}")).filter(|_| digits_ok) {
            Some(bytes) => {
                if let Ok(array) = <[u8; 6]>::try_from(bytes) {
                    config.acquirer_identifier = array;
                }
            }
            None => {
                return Err(invalid(
                    section.key("acquirer_identifier"),
                    format!("expected 6 to 11 decimal digits, found {acquirer:?}"),
                ))
            }
        }
    }
    if let Some(working) = section.boolean("pin_pad_working")? {
        config.pin_pad_working = working;
    }
    if let Some(bypass) = section.boolean("subsequent_pin_bypass")? {
        config.subsequent_pin_bypass = bypass;
    }
    // ICS CDA request modes 1-4 (emv_kernel::config::CdaRequestMode).
    if let Some(number) = section.integer("cda_request_mode", 1, 4)? {
        let mode = u8::try_from(number)
            .ok()
            .and_then(emv_kernel::config::CdaRequestMode::from_number);
        if let Some(mode) = mode {
            config.cda_request_mode = mode;
        }
    }
    if let Some(pse) = section.boolean("pse")? {
        config.selection.pse = pse;
    }
    if let Some(confirmation) = section.boolean("cardholder_confirmation")? {
        config.selection.cardholder_confirmation = confirmation;
    }
    if let Some(choice) = section.boolean("cardholder_choice")? {
        config.selection.cardholder_choice = choice;
    }
    Ok(())
}

/// `languages = ["en", "de"]`: the terminal's message languages, the
/// merchant's first (Book 4, 11.1), ISO 639-1 codes.
fn languages(
    section: &Section<'_>,
    value: &Value,
) -> Result<emv_kernel::heapless::Vec<Language, TERMINAL_LANGUAGE_CAPACITY>, ConfigError> {
    let key = section.key("languages");
    let Value::Array(items) = value else {
        return Err(invalid(
            key,
            "expected an array of language codes, such as [\"en\", \"de\"]".to_owned(),
        ));
    };
    if items.is_empty() || items.len() > TERMINAL_LANGUAGE_CAPACITY {
        return Err(invalid(
            key,
            format!(
                "expected 1 to {TERMINAL_LANGUAGE_CAPACITY} languages, found {}",
                items.len()
            ),
        ));
    }
    let mut languages = emv_kernel::heapless::Vec::new();
    for item in items {
        let language = match item {
            Value::String(code) => Language::from_code(code.as_bytes()),
            _ => None,
        };
        match language {
            Some(language) if !languages.contains(&language) => {
                // Bounded by the length check above.
                let _ = languages.push(language);
            }
            Some(language) => {
                return Err(invalid(key, format!("language {language} is listed twice")))
            }
            None => {
                return Err(invalid(
                    key,
                    format!("{item} is not a two-letter ISO 639-1 language code"),
                ))
            }
        }
    }
    Ok(languages)
}

fn read_applications(
    sections: &[Section<'_>],
    config: &mut TerminalConfig,
) -> Result<(), ConfigError> {
    if sections.len() > TERMINAL_AID_CAPACITY {
        return Err(invalid(
            "application".to_owned(),
            format!(
                "{} applications, the kernel holds at most {TERMINAL_AID_CAPACITY}",
                sections.len()
            ),
        ));
    }
    config.applications.clear();
    for section in sections {
        let application = read_application(section)?;
        if config.applications.iter().any(|a| a.aid == application.aid) {
            return Err(invalid(
                section.key("aid"),
                format!(
                    "AID {} is listed twice",
                    hex::encode_upper(&application.aid)
                ),
            ));
        }
        // Bounded by the TERMINAL_AID_CAPACITY check above.
        let _ = config.applications.push(application);
    }
    Ok(())
}

fn read_application(section: &Section<'_>) -> Result<ApplicationConfig, ConfigError> {
    section.only(&[
        "aid",
        "partial_selection",
        "application_version",
        "floor_limit",
        "threshold",
        "target_percentage",
        "max_target_percentage",
        "tac_denial",
        "tac_online",
        "tac_default",
        "default_ddol",
        "default_tdol",
    ])?;
    let Some(aid) = section.hex("aid", 5, MAX_AID_BYTES)? else {
        return Err(invalid(
            section.key("aid"),
            "missing: every [[application]] needs its AID",
        ));
    };
    let mut application = ApplicationConfig::new(&aid);
    if let Some(partial) = section.boolean("partial_selection")? {
        application.partial_selection = partial;
    }
    if let Some(version) = section.hex_array("application_version")? {
        application.application_version = version;
    }
    if let Some(floor_limit) = section.integer("floor_limit", 0, 999_999_999_999)? {
        application.floor_limit = floor_limit;
    }
    if let Some(threshold) = section.integer("threshold", 0, 999_999_999_999)? {
        application.random_selection_threshold = threshold;
    }
    if let Some(target) = section.integer("target_percentage", 0, 99)? {
        application.random_selection_target_percentage = target as u8;
    }
    if let Some(max_target) = section.integer("max_target_percentage", 0, 99)? {
        application.random_selection_max_target_percentage = max_target as u8;
    }
    if application.random_selection_target_percentage
        > application.random_selection_max_target_percentage
    {
        return Err(invalid(
            section.key("target_percentage"),
            format!(
                "{} is above max_target_percentage {} (Book 3, 10.6.2)",
                application.random_selection_target_percentage,
                application.random_selection_max_target_percentage
            ),
        ));
    }
    if let Some(code) = section.hex_array("tac_denial")? {
        application.terminal_action_code_denial = code;
    }
    if let Some(code) = section.hex_array("tac_online")? {
        application.terminal_action_code_online = code;
    }
    if let Some(code) = section.hex_array("tac_default")? {
        application.terminal_action_code_default = code;
    }
    if let Some(ddol) = read_dol(section, "default_ddol")? {
        application.default_ddol.clear();
        // read_dol bounds the list to MAX_DEFAULT_DOL_BYTES, the capacity.
        let _ = application.default_ddol.extend_from_slice(&ddol);
    }
    if let Some(tdol) = read_dol(section, "default_tdol")? {
        application.default_tdol.clear();
        let _ = application.default_tdol.extend_from_slice(&tdol);
    }
    Ok(application)
}

/// A Data Object List (Book 3, 5.4): tag and length pairs, checked whole.
fn read_dol(section: &Section<'_>, key: &str) -> Result<Option<Vec<u8>>, ConfigError> {
    let Some(bytes) = section.hex(key, 0, MAX_DEFAULT_DOL_BYTES)? else {
        return Ok(None);
    };
    if dol::data_length(&bytes).is_err() {
        return Err(invalid(
            section.key(key),
            format!(
                "{} is not a data object list (tag and length pairs)",
                hex::encode_upper(&bytes)
            ),
        ));
    }
    Ok(Some(bytes))
}

fn read_revoked(sections: &[Section<'_>]) -> Result<Vec<RevokedCertificate>, ConfigError> {
    if sections.len() > REVOCATION_LIST_CAPACITY {
        return Err(invalid(
            "revoked".to_owned(),
            format!(
                "{} entries, the kernel holds at most {REVOCATION_LIST_CAPACITY}",
                sections.len()
            ),
        ));
    }
    let mut revoked = Vec::with_capacity(sections.len());
    for section in sections {
        section.only(&["rid", "index", "serial"])?;
        let missing = |key: &str| invalid(section.key(key), "missing");
        let rid = section
            .hex_array::<5>("rid")?
            .ok_or_else(|| missing("rid"))?;
        let [ca_index] = section
            .hex_array::<1>("index")?
            .ok_or_else(|| missing("index"))?;
        let serial_number = section
            .hex_array::<3>("serial")?
            .ok_or_else(|| missing("serial"))?;
        revoked.push(RevokedCertificate {
            rid,
            ca_index,
            serial_number,
        });
    }
    Ok(revoked)
}

fn read_exception_file(values: &[Value]) -> Result<Vec<Vec<u8>>, ConfigError> {
    let mut pans = Vec::with_capacity(values.len());
    for (position, value) in values.iter().enumerate() {
        let key = format!("exception_file[{}]", position + 1);
        let Value::String(pan) = value else {
            return Err(invalid(
                key,
                format!(
                    "expected a PAN as a string of digits, found {}",
                    value.type_str()
                ),
            ));
        };
        pans.push(pan_to_5a(pan).ok_or_else(|| {
            invalid(
                key,
                format!("{pan:?} is not a PAN of 8 to 19 decimal digits"),
            )
        })?);
    }
    Ok(pans)
}

/// A PAN in digits to the 5A format: BCD, padded with `F` to whole bytes.
pub fn pan_to_5a(pan: &str) -> Option<Vec<u8>> {
    if !(8..=19).contains(&pan.len()) || !pan.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let mut nibbles: Vec<u8> = pan.bytes().map(|b| b - b'0').collect();
    if nibbles.len() % 2 == 1 {
        nibbles.push(0x0F);
    }
    Some(nibbles.chunks(2).map(|p| (p[0] << 4) | p[1]).collect())
}

fn read_offline_limits(section: &Section<'_>) -> Result<OfflineLimits, ConfigError> {
    section.only(&[
        "max_offline_approvals",
        "max_offline_amount",
        "max_unsynced_age_secs",
    ])?;
    Ok(OfflineLimits {
        max_offline_approvals: section
            .integer("max_offline_approvals", 0, u64::from(u32::MAX))?
            .map(|n| n as u32),
        max_offline_amount: section.integer("max_offline_amount", 0, i64::MAX as u64)?,
        max_unsynced_age_secs: section.integer("max_unsynced_age_secs", 0, i64::MAX as u64)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_text_is_the_default() {
        assert_eq!(Settings::from_toml("").unwrap(), Settings::default());
    }

    /// ICS CDA request modes: `[terminal] cda_request_mode` 1 to 4, mode 1 by default.
    #[test]
    fn cda_request_mode_is_read_from_the_terminal_table() {
        use emv_kernel::config::CdaRequestMode;
        assert_eq!(
            Settings::default().terminal.cda_request_mode,
            CdaRequestMode::MODE_1
        );
        let three = Settings::from_toml("[terminal]\ncda_request_mode = 3\n").unwrap();
        assert_eq!(three.terminal.cda_request_mode, CdaRequestMode::MODE_3);
        let error = Settings::from_toml("[terminal]\ncda_request_mode = 5\n")
            .unwrap_err()
            .to_string();
        assert!(error.contains("terminal.cda_request_mode"), "{error}");
    }

    /// ICS row 92: `[terminal] refund_policy`, "aac" by default.
    #[test]
    fn refund_policy_is_read_from_the_terminal_table() {
        use emv_kernel::config::RefundPolicy;
        assert_eq!(
            Settings::default().terminal.refund_policy,
            RefundPolicy::AacAtFirstGenerateAc
        );
        let settings =
            Settings::from_toml("[terminal]\nrefund_policy = \"as_purchase\"\n").unwrap();
        assert_eq!(settings.terminal.refund_policy, RefundPolicy::AsPurchase);
        let error = Settings::from_toml("[terminal]\nrefund_policy = \"never\"\n")
            .unwrap_err()
            .to_string();
        assert!(error.contains("terminal.refund_policy"), "{error}");
    }

    /// Book 4, 11.1: `[terminal] languages`, the merchant's first; codes
    /// are lower-cased; empty, duplicated or malformed lists are refused
    /// with the key named.
    #[test]
    fn languages_are_read_from_the_terminal_table() {
        use emv_kernel::messages::Language;
        assert_eq!(
            Settings::default().terminal.languages.as_slice(),
            &Language::WITH_TEXTS
        );
        let two = Settings::from_toml("[terminal]\nlanguages = [\"DE\", \"fr\"]\n").unwrap();
        assert_eq!(
            two.terminal.languages.as_slice(),
            &[Language::GERMAN, Language::FRENCH]
        );
        for bad in ["[]", "[\"en\", \"EN\"]", "[\"eng\"]", "[1]", "\"en\""] {
            let error = Settings::from_toml(&format!("[terminal]\nlanguages = {bad}\n"))
                .unwrap_err()
                .to_string();
            assert!(error.contains("terminal.languages"), "{bad}: {error}");
        }
    }

    /// Book 3, 10.5: the terminal option "subsequent PIN bypass" comes from
    /// `[terminal] subsequent_pin_bypass`; off unless the file says so.
    #[test]
    fn subsequent_pin_bypass_is_read_from_the_terminal_table() {
        assert!(!Settings::default().terminal.subsequent_pin_bypass);
        let on = Settings::from_toml("[terminal]\nsubsequent_pin_bypass = true\n").unwrap();
        assert!(on.terminal.subsequent_pin_bypass);
        let off = Settings::from_toml("[terminal]\nsubsequent_pin_bypass = false\n").unwrap();
        assert!(!off.terminal.subsequent_pin_bypass);
        let error = Settings::from_toml("[terminal]\nsubsequent_pin_bypass = \"yes\"\n")
            .unwrap_err()
            .to_string();
        assert!(error.contains("terminal.subsequent_pin_bypass"), "{error}");
    }

    #[test]
    fn bcd_and_pan_encoding() {
        assert_eq!(bcd("0250"), Some(vec![0x02, 0x50]));
        assert_eq!(bcd("123"), Some(vec![0x01, 0x23]));
        assert_eq!(
            pan_to_5a("6799990100000011"),
            Some(vec![0x67, 0x99, 0x99, 0x01, 0x00, 0x00, 0x00, 0x11])
        );
        assert_eq!(
            pan_to_5a("541333008902000"),
            Some(vec![0x54, 0x13, 0x33, 0x00, 0x89, 0x02, 0x00, 0x0F])
        );
        assert_eq!(pan_to_5a("12345a78"), None);
    }
}
