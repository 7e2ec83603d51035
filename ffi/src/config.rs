//! The terminal configuration: from the TOML file format of `emv-config`,
//! the built-in defaults, or one application at a time from C structs.

use std::ffi::c_char;
use std::sync::atomic::{AtomicUsize, Ordering};

use ::emv_config::Settings;
use emv_kernel::config::ApplicationConfig;
use emv_kernel::oda::RevocationList;

use crate::error::{emv_error, guard, Failure};
use crate::util::{self, Handle};

/// Most bytes of an AID (ISO 7816-5: 5 to 16).
pub const EMV_MAX_AID_BYTES: usize = 16;
/// Most bytes of a terminal default DDOL or TDOL.
pub const EMV_MAX_DEFAULT_DOL_BYTES: usize = 32;
/// Most applications a configuration holds.
pub const EMV_MAX_APPLICATIONS: usize = 16;

const _: () = assert!(EMV_MAX_AID_BYTES == emv_kernel::limits::MAX_AID_BYTES);
const _: () = assert!(EMV_MAX_DEFAULT_DOL_BYTES == emv_kernel::limits::MAX_DEFAULT_DOL_BYTES);
const _: () = assert!(EMV_MAX_APPLICATIONS == emv_kernel::limits::TERMINAL_AID_CAPACITY);

/// A terminal configuration (opaque): what the terminal is, the
/// applications it accepts with their risk parameters, the revocation list
/// and the exception file. Made by `emv_config_default` or
/// `emv_config_from_toml`, freed by `emv_config_free`; read-only while a
/// transaction uses it.
pub struct emv_config {
    magic: u64,
    /// Transactions started on this configuration and not yet freed.
    users: AtomicUsize,
    /// The exception file's PANs, as slices of `settings.exception_file`.
    exception_file: Vec<&'static [u8]>,
    revocations: RevocationList,
    settings: Box<Settings>,
}

impl Handle for emv_config {
    const MAGIC: u64 = 0x454D_5643_4F4E_4647; // "EMVCONFG"
    const NAME: &'static str = "emv_config";
    fn magic(&self) -> u64 {
        self.magic
    }
}

impl emv_config {
    fn new(settings: Settings) -> Box<emv_config> {
        let settings = Box::new(settings);
        let exception_file = settings
            .exception_file
            .iter()
            .map(|pan| {
                // SAFETY: each PAN is a Vec owned by `settings`, which is
                // boxed (its place never moves) and lives as long as this
                // object; no function changes the exception file after
                // creation, and the slices are dropped with the object.
                unsafe { std::slice::from_raw_parts(pan.as_ptr(), pan.len()) }
            })
            .collect();
        Box::new(emv_config {
            magic: Self::MAGIC,
            users: AtomicUsize::new(0),
            exception_file,
            revocations: settings.revocation_list(),
            settings,
        })
    }

    /// The kernel's terminal configuration.
    pub(crate) fn settings(&self) -> &Settings {
        &self.settings
    }

    pub(crate) fn revocations(&self) -> &RevocationList {
        &self.revocations
    }

    pub(crate) fn exception_file(&self) -> &[&'static [u8]] {
        &self.exception_file
    }

    /// A transaction starts using the configuration.
    pub(crate) fn acquire(&self) {
        self.users.fetch_add(1, Ordering::AcqRel);
    }

    /// A transaction stops using the configuration.
    pub(crate) fn release(&self) {
        self.users.fetch_sub(1, Ordering::AcqRel);
    }

    fn unused(&self) -> Result<(), Failure> {
        match self.users.load(Ordering::Acquire) {
            0 => Ok(()),
            users => Err(Failure::new(
                emv_error::EMV_ERROR_IN_USE,
                format!("the configuration is used by {users} transaction(s): free them first"),
            )),
        }
    }
}

/// One application (AID) the terminal accepts, with its risk parameters
/// (Book 1, 12.3.1; Book 3, 10.6 and 10.7). `emv_application_config_default`
/// fills one with the defaults for an AID.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct emv_application_config {
    /// The AID, `aid_len` (5 to 16) bytes.
    pub aid: [u8; EMV_MAX_AID_BYTES],
    /// How many bytes of `aid` are used.
    pub aid_len: usize,
    /// Application Selection Indicator: a longer card AID that starts with
    /// this one is accepted (partial name selection).
    pub partial_selection: bool,
    /// Application Version Number, terminal (9F09).
    pub application_version: [u8; 2],
    /// Terminal Floor Limit, minor units of the transaction currency.
    pub floor_limit: u64,
    /// Threshold Value for Biased Random Selection, minor units.
    pub random_selection_threshold: u64,
    /// Target Percentage for Random Selection, 0 to 99.
    pub random_selection_target_percentage: u8,
    /// Maximum Target Percentage for Biased Random Selection, 0 to 99.
    pub random_selection_max_target_percentage: u8,
    /// Terminal Action Code - Denial.
    pub terminal_action_code_denial: [u8; 5],
    /// Terminal Action Code - Online.
    pub terminal_action_code_online: [u8; 5],
    /// Terminal Action Code - Default.
    pub terminal_action_code_default: [u8; 5],
    /// Default DDOL (Book 2, 6.5.1), `default_ddol_len` bytes; 0: none.
    pub default_ddol: [u8; EMV_MAX_DEFAULT_DOL_BYTES],
    /// How many bytes of `default_ddol` are used.
    pub default_ddol_len: usize,
    /// Default TDOL (Book 3, 5.4), `default_tdol_len` bytes; 0: none.
    pub default_tdol: [u8; EMV_MAX_DEFAULT_DOL_BYTES],
    /// How many bytes of `default_tdol` are used.
    pub default_tdol_len: usize,
}

impl emv_application_config {
    fn from_kernel(app: &ApplicationConfig) -> Self {
        let mut out = emv_application_config {
            aid: [0; EMV_MAX_AID_BYTES],
            aid_len: 0,
            partial_selection: app.partial_selection,
            application_version: app.application_version,
            floor_limit: app.floor_limit,
            random_selection_threshold: app.random_selection_threshold,
            random_selection_target_percentage: app.random_selection_target_percentage,
            random_selection_max_target_percentage: app.random_selection_max_target_percentage,
            terminal_action_code_denial: app.terminal_action_code_denial,
            terminal_action_code_online: app.terminal_action_code_online,
            terminal_action_code_default: app.terminal_action_code_default,
            default_ddol: [0; EMV_MAX_DEFAULT_DOL_BYTES],
            default_ddol_len: 0,
            default_tdol: [0; EMV_MAX_DEFAULT_DOL_BYTES],
            default_tdol_len: 0,
        };
        out.aid_len = util::copy_bytes(&mut out.aid, &app.aid);
        out.default_ddol_len = util::copy_bytes(&mut out.default_ddol, &app.default_ddol);
        out.default_tdol_len = util::copy_bytes(&mut out.default_tdol, &app.default_tdol);
        out
    }

    fn kernel_application(&self) -> Result<ApplicationConfig, Failure> {
        let part = |bytes: &[u8], len: usize, name: &str, min: usize| -> Result<Vec<u8>, Failure> {
            if len < min || len > bytes.len() {
                return Err(Failure::invalid(format!(
                    "application {name}_len is {len}, expected {min} to {}",
                    bytes.len()
                )));
            }
            Ok(bytes[..len].to_vec())
        };
        let aid = part(&self.aid, self.aid_len, "aid", 5)?;
        let ddol = part(&self.default_ddol, self.default_ddol_len, "default_ddol", 0)?;
        let tdol = part(&self.default_tdol, self.default_tdol_len, "default_tdol", 0)?;
        let target = self.random_selection_target_percentage;
        let max_target = self.random_selection_max_target_percentage;
        if target > 99 || max_target > 99 || target > max_target {
            return Err(Failure::new(
                emv_error::EMV_ERROR_RANDOM_SELECTION,
                format!(
                    "application random selection: target {target} % and maximum {max_target} % \
                     must be 0 to 99, the target at most the maximum"
                ),
            ));
        }
        let mut app = ApplicationConfig::new(&aid);
        app.partial_selection = self.partial_selection;
        app.application_version = self.application_version;
        app.floor_limit = self.floor_limit;
        app.random_selection_threshold = self.random_selection_threshold;
        app.random_selection_target_percentage = target;
        app.random_selection_max_target_percentage = max_target;
        app.terminal_action_code_denial = self.terminal_action_code_denial;
        app.terminal_action_code_online = self.terminal_action_code_online;
        app.terminal_action_code_default = self.terminal_action_code_default;
        app.default_ddol.clear();
        app.default_tdol.clear();
        // Lengths were checked against the arrays, which are the capacities.
        let _ = app.default_ddol.extend_from_slice(&ddol);
        let _ = app.default_tdol.extend_from_slice(&tdol);
        Ok(app)
    }
}

fn hand_out(config: Box<emv_config>, out: &mut *mut emv_config) {
    *out = Box::into_raw(config);
}

/// Makes a configuration with the built-in defaults: the terminal of the
/// test cards (attended, online capable, capabilities E0F8C8, country 0250),
/// their three applications (floor limit 100.00), currency 0978 with
/// exponent 2, the test card's revoked issuer certificate.
///
/// # Safety
/// `out` must be NULL or point to writable memory for one pointer.
#[no_mangle]
pub unsafe extern "C" fn emv_config_default(out: *mut *mut emv_config) -> emv_error {
    guard(|| {
        // SAFETY: the caller's contract for `out`.
        let out = unsafe { util::out(out, "out") }?;
        *out = std::ptr::null_mut();
        hand_out(emv_config::new(Settings::default()), out);
        Ok(())
    })
}

/// Makes a configuration from the text of a terminal configuration file
/// (TOML, `docs/configuration.md`): `text_len` bytes of UTF-8 at `text`, no
/// NUL needed. Keys the text leaves out keep their defaults. On an invalid
/// value returns `EMV_ERROR_CONFIG` and `emv_last_error_detail` names the
/// key and line.
///
/// # Safety
/// `text` must point to `text_len` readable bytes; `out` must be NULL or
/// point to writable memory for one pointer.
#[no_mangle]
pub unsafe extern "C" fn emv_config_from_toml(
    text: *const c_char,
    text_len: usize,
    out: *mut *mut emv_config,
) -> emv_error {
    guard(|| {
        // SAFETY: the caller's contract for `out`.
        let out = unsafe { util::out(out, "out") }?;
        *out = std::ptr::null_mut();
        // SAFETY: the caller's contract for `text`.
        let text = unsafe { util::text(text, text_len, "text") }?;
        let settings = Settings::from_toml(text)
            .map_err(|error| Failure::new(emv_error::EMV_ERROR_CONFIG, error.to_string()))?;
        hand_out(emv_config::new(settings), out);
        Ok(())
    })
}

/// Frees a configuration. NULL is accepted and ignored. Returns
/// `EMV_ERROR_IN_USE`, and frees nothing, while a transaction made with it
/// is not freed.
///
/// # Safety
/// `config` must be NULL or a configuration from this library, not freed.
#[no_mangle]
pub unsafe extern "C" fn emv_config_free(config: *mut emv_config) -> emv_error {
    guard(|| {
        if config.is_null() {
            return Ok(());
        }
        // SAFETY: the caller's contract for `config`.
        let object = unsafe { util::handle_mut(config) }?;
        object.unused()?;
        object.magic = 0;
        // SAFETY: made by Box::into_raw in this module, checked live and
        // unused; the caller gives it up.
        drop(unsafe { Box::from_raw(config) });
        Ok(())
    })
}

/// The transaction currency of the configuration (5F2A, n3 in 2 bytes BCD,
/// and its exponent), to copy into `emv_transaction_inputs`.
///
/// # Safety
/// `config` must be a live configuration; `currency_code` must point to 2
/// writable bytes and `currency_exponent` to one.
#[no_mangle]
pub unsafe extern "C" fn emv_config_currency(
    config: *const emv_config,
    currency_code: *mut u8,
    currency_exponent: *mut u8,
) -> emv_error {
    guard(|| {
        // SAFETY: the caller's contract for each pointer.
        let (config, code, exponent) = unsafe {
            (
                util::handle(config)?,
                util::bytes_mut(currency_code, 2, "currency_code")?,
                util::out(currency_exponent, "currency_exponent")?,
            )
        };
        code.copy_from_slice(&config.settings.currency_code);
        *exponent = config.settings.currency_exponent;
        Ok(())
    })
}

/// How many applications the configuration accepts.
///
/// # Safety
/// `config` must be a live configuration; `count` writable.
#[no_mangle]
pub unsafe extern "C" fn emv_config_application_count(
    config: *const emv_config,
    count: *mut usize,
) -> emv_error {
    guard(|| {
        // SAFETY: the caller's contract for each pointer.
        let (config, count) = unsafe { (util::handle(config)?, util::out(count, "count")?) };
        *count = config.settings.terminal.applications.len();
        Ok(())
    })
}

/// Removes every application from the configuration (to add the
/// terminal's own with `emv_config_add_application`).
///
/// # Safety
/// `config` must be a live configuration that no other thread uses.
#[no_mangle]
pub unsafe extern "C" fn emv_config_clear_applications(config: *mut emv_config) -> emv_error {
    guard(|| {
        // SAFETY: the caller's contract for `config`.
        let config = unsafe { util::handle_mut(config) }?;
        config.unused()?;
        config.settings.terminal.applications.clear();
        Ok(())
    })
}

/// Adds an application at the end of the configuration's list, or replaces
/// the one with the same AID. Returns `EMV_ERROR_CAPACITY` when the list
/// holds `EMV_MAX_APPLICATIONS` already, `EMV_ERROR_IN_USE` while a
/// transaction uses the configuration.
///
/// # Safety
/// `config` must be a live configuration that no other thread uses;
/// `application` must point to an initialised `emv_application_config`.
#[no_mangle]
pub unsafe extern "C" fn emv_config_add_application(
    config: *mut emv_config,
    application: *const emv_application_config,
) -> emv_error {
    guard(|| {
        // SAFETY: the caller's contract for each pointer.
        let (config, application) = unsafe {
            (
                util::handle_mut(config)?,
                util::input(application, "application")?,
            )
        };
        config.unused()?;
        let app = application.kernel_application()?;
        let applications = &mut config.settings.terminal.applications;
        if let Some(slot) = applications.iter_mut().find(|a| a.aid == app.aid) {
            *slot = app;
            return Ok(());
        }
        applications.push(app).map_err(|_| {
            Failure::new(
                emv_error::EMV_ERROR_CAPACITY,
                format!("a configuration holds at most {EMV_MAX_APPLICATIONS} applications"),
            )
        })
    })
}

/// Fills `out` with the defaults for the application `aid` (5 to 16
/// bytes): partial selection allowed, version 0002, floor limit 100.00, no
/// random selection, TAC denial 0010000000, online DC4084F900, default
/// DC4000A900, default DDOL 9F3704, no default TDOL.
///
/// # Safety
/// `aid` must point to `aid_len` readable bytes; `out` must be writable.
#[no_mangle]
pub unsafe extern "C" fn emv_application_config_default(
    aid: *const u8,
    aid_len: usize,
    out: *mut emv_application_config,
) -> emv_error {
    guard(|| {
        // SAFETY: the caller's contract for each pointer.
        let (aid, out) = unsafe { (util::bytes(aid, aid_len, "aid")?, util::out(out, "out")?) };
        if !(5..=EMV_MAX_AID_BYTES).contains(&aid.len()) {
            return Err(Failure::invalid(format!(
                "aid_len is {}, an AID has 5 to 16 bytes",
                aid.len()
            )));
        }
        *out = emv_application_config::from_kernel(&ApplicationConfig::new(aid));
        Ok(())
    })
}
