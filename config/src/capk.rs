//! The terminal's CA public key file (`capk.txt`) loaded into a store sized
//! for a terminal with a file system.

use emv_kernel::crypto::CryptoProvider;
use emv_kernel::oda::capk::{CaKeyError, CaKeyStore, CapkFileError, CapkLineError, CapkNotice};
use emv_kernel::oda::Date;

/// How many CA public keys the tools built on this crate hold: room for the
/// published lists of test and live keys of every payment system (over 130
/// today), twice over. The kernel's own default ([`CaKeyStore::new`]) is
/// smaller, for devices without much memory.
pub const CA_KEY_CAPACITY: usize = 256;

/// The CA key store of the command line and the trace replay.
pub type CaKeys = CaKeyStore<CA_KEY_CAPACITY>;

/// Loads a `capk.txt` file, every check sum verified; the keys and what is
/// worth a warning (duplicate RID and index, keys expired before `today`),
/// each with its line number.
pub fn load_ca_keys<C: CryptoProvider + ?Sized>(
    crypto: &C,
    text: &str,
    today: Option<Date>,
) -> Result<(Box<CaKeys>, Vec<CapkNotice>), CapkFileError> {
    let mut store = Box::new(CaKeys::empty());
    let mut notices = Vec::new();
    store.load_capk_txt(crypto, text, today, |notice| notices.push(notice))?;
    Ok((store, notices))
}

/// A `capk.txt` load error for people using the tools: the kernel's message, except
/// that a full store names this build's limit ([`CA_KEY_CAPACITY`]) and what to do,
/// rather than the kernel's advice to pick a larger `CaKeyStore<N>`.
pub fn describe_load_error(error: &CapkFileError) -> String {
    match error.error {
        CapkLineError::Key(CaKeyError::StoreFull { capacity }) => format!(
            "line {}: more CA public keys than this build holds ({capacity}, \
             emv_config::CA_KEY_CAPACITY): keep only the keys of the payment systems \
             (RIDs) the terminal accepts, and drop expired and test keys",
            error.line
        ),
        _ => error.to_string(),
    }
}
