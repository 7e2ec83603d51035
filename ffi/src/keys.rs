//! The terminal's Certification Authority public keys: from `capk.txt`
//! text or one key at a time.

use std::ffi::c_char;
use std::sync::atomic::{AtomicUsize, Ordering};

use ::emv_config::CaKeys;
use emv_kernel::oda::{CaPublicKey, Date};

use crate::error::{emv_error, guard, Failure};
use crate::util::{self, Handle};
use crate::Crypto;

/// Most CA public keys one `emv_ca_keys` holds.
pub const EMV_MAX_CA_KEYS: usize = 256;

const _: () = assert!(EMV_MAX_CA_KEYS == ::emv_config::CA_KEY_CAPACITY);

/// The terminal's CA public keys (opaque), at most `EMV_MAX_CA_KEYS`,
/// addressed by RID and index. Made by `emv_ca_keys_new`, filled by
/// `emv_ca_keys_load_capk_txt` or `emv_ca_keys_add`, freed by
/// `emv_ca_keys_free`; read-only while a transaction uses it.
pub struct emv_ca_keys {
    magic: u64,
    users: AtomicUsize,
    store: Box<CaKeys>,
}

impl Handle for emv_ca_keys {
    const MAGIC: u64 = 0x454D_5643_414B_4559; // "EMVCAKEY"
    const NAME: &'static str = "emv_ca_keys";
    fn magic(&self) -> u64 {
        self.magic
    }
}

impl emv_ca_keys {
    pub(crate) fn from_store(store: Box<CaKeys>) -> Box<emv_ca_keys> {
        Box::new(emv_ca_keys {
            magic: Self::MAGIC,
            users: AtomicUsize::new(0),
            store,
        })
    }

    pub(crate) fn keys(&self) -> &[CaPublicKey] {
        &self.store
    }

    pub(crate) fn acquire(&self) {
        self.users.fetch_add(1, Ordering::AcqRel);
    }

    pub(crate) fn release(&self) {
        self.users.fetch_sub(1, Ordering::AcqRel);
    }

    fn unused(&self) -> Result<(), Failure> {
        match self.users.load(Ordering::Acquire) {
            0 => Ok(()),
            users => Err(Failure::new(
                emv_error::EMV_ERROR_IN_USE,
                format!("the CA keys are used by {users} transaction(s): free them first"),
            )),
        }
    }
}

/// Makes an empty key store.
///
/// # Safety
/// `out` must be NULL or point to writable memory for one pointer.
#[no_mangle]
pub unsafe extern "C" fn emv_ca_keys_new(out: *mut *mut emv_ca_keys) -> emv_error {
    guard(|| {
        // SAFETY: the caller's contract for `out`.
        let out = unsafe { util::out(out, "out") }?;
        *out = Box::into_raw(emv_ca_keys::from_store(Box::new(CaKeys::empty())));
        Ok(())
    })
}

/// Adds the keys of a `capk.txt` file (one key a line: RID, index, expiry
/// YYMMDD, `rsa`, exponent, modulus, `sha1`, check sum; the layout of
/// emv-tools and Proxmark3), each check sum verified. `text` is `text_len`
/// bytes of UTF-8, no NUL needed. A key with the RID and index of one
/// already held replaces it. `loaded` (may be NULL) receives how many keys
/// the text held. The first bad line stops the load with `EMV_ERROR_CA_KEY`
/// and its line number in `emv_last_error_detail`; keys before it stay.
///
/// # Safety
/// `keys` must be a live key store no other thread uses; `text` must point
/// to `text_len` readable bytes; `loaded` must be NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn emv_ca_keys_load_capk_txt(
    keys: *mut emv_ca_keys,
    text: *const c_char,
    text_len: usize,
    loaded: *mut usize,
) -> emv_error {
    guard(|| {
        // SAFETY: the caller's contract for each pointer.
        let (keys, text) =
            unsafe { (util::handle_mut(keys)?, util::text(text, text_len, "text")?) };
        keys.unused()?;
        let count = keys
            .store
            .load_capk_txt(&Crypto::default(), text, None, |_| {})
            .map_err(|error| {
                Failure::new(emv_error::EMV_ERROR_CA_KEY, format!("capk.txt {error}"))
            })?;
        if !loaded.is_null() {
            // SAFETY: not NULL, and the caller's contract says writable.
            unsafe { *loaded = count };
        }
        Ok(())
    })
}

/// Makes a key store from the text of a `capk.txt` file: `emv_ca_keys_new`
/// and `emv_ca_keys_load_capk_txt` in one call; `loaded` (may be NULL)
/// receives how many keys the store holds. On a bad line nothing is made
/// (`*out` is NULL) and the detail names the line.
///
/// # Safety
/// `text` must point to `text_len` readable bytes; `out` must be writable;
/// `loaded` must be NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn emv_ca_keys_from_capk_txt(
    text: *const c_char,
    text_len: usize,
    out: *mut *mut emv_ca_keys,
    loaded: *mut usize,
) -> emv_error {
    guard(|| {
        // SAFETY: the caller's contract for each pointer.
        let (out, text) = unsafe { (util::out(out, "out")?, util::text(text, text_len, "text")?) };
        *out = std::ptr::null_mut();
        let (store, _notices) = ::emv_config::load_ca_keys(&Crypto::default(), text, None)
            .map_err(|error| {
                Failure::new(emv_error::EMV_ERROR_CA_KEY, format!("capk.txt {error}"))
            })?;
        if !loaded.is_null() {
            // SAFETY: not NULL, and the caller's contract says writable.
            unsafe { *loaded = store.len() };
        }
        *out = Box::into_raw(emv_ca_keys::from_store(store));
        Ok(())
    })
}

/// Adds one CA public key (Book 2, 11.2): RID (5 bytes), CA Public Key
/// Index, modulus (1 to 248 bytes) and exponent (1 to 3 bytes), expiry as
/// BCD YYMMDD (3 bytes) or NULL for a key that does not expire, and the
/// SHA-1 check sum over RID, index, modulus and exponent (20 bytes), or
/// NULL to add the key unchecked. Replaces a key with the same RID and
/// index; `EMV_ERROR_CAPACITY` when the store is full.
///
/// # Safety
/// `keys` must be a live key store no other thread uses; each pointer must
/// point to the number of readable bytes given (or be NULL where allowed).
#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn emv_ca_keys_add(
    keys: *mut emv_ca_keys,
    rid: *const u8,
    index: u8,
    modulus: *const u8,
    modulus_len: usize,
    exponent: *const u8,
    exponent_len: usize,
    expiry: *const u8,
    checksum: *const u8,
) -> emv_error {
    guard(|| {
        // SAFETY: the caller's contract for each pointer; expiry and
        // checksum are read only when not NULL.
        let (keys, rid, modulus, exponent, expiry, checksum) = unsafe {
            (
                util::handle_mut(keys)?,
                util::bytes(rid, 5, "rid")?,
                util::bytes(modulus, modulus_len, "modulus")?,
                util::bytes(exponent, exponent_len, "exponent")?,
                (!expiry.is_null())
                    .then(|| util::bytes(expiry, 3, "expiry"))
                    .transpose()?,
                (!checksum.is_null())
                    .then(|| util::bytes(checksum, 20, "checksum"))
                    .transpose()?,
            )
        };
        keys.unused()?;
        let rid: [u8; 5] = rid.try_into().map_err(|_| Failure::invalid("rid"))?;
        let expiry = expiry
            .map(Date::from_bcd)
            .transpose()
            .map_err(|error| Failure::invalid(format!("expiry: {error}")))?;
        let checksum: Option<[u8; 20]> = checksum.map(|c| c.try_into()).transpose().ok().flatten();
        let key = CaPublicKey::new(
            &Crypto::default(),
            rid,
            index,
            modulus,
            exponent,
            expiry,
            checksum.as_ref(),
        )
        .map_err(|error| Failure::new(emv_error::EMV_ERROR_CA_KEY, error.to_string()))?;
        keys.store
            .insert(key)
            .map_err(|error| Failure::new(emv_error::EMV_ERROR_CAPACITY, error.to_string()))
    })
}

/// How many keys the store holds.
///
/// # Safety
/// `keys` must be a live key store; `count` writable.
#[no_mangle]
pub unsafe extern "C" fn emv_ca_keys_count(
    keys: *const emv_ca_keys,
    count: *mut usize,
) -> emv_error {
    guard(|| {
        // SAFETY: the caller's contract for each pointer.
        let (keys, count) = unsafe { (util::handle(keys)?, util::out(count, "count")?) };
        *count = keys.store.len();
        Ok(())
    })
}

/// Frees a key store. NULL is accepted and ignored. Returns
/// `EMV_ERROR_IN_USE`, and frees nothing, while a transaction made with it
/// is not freed.
///
/// # Safety
/// `keys` must be NULL or a key store from this library, not freed.
#[no_mangle]
pub unsafe extern "C" fn emv_ca_keys_free(keys: *mut emv_ca_keys) -> emv_error {
    guard(|| {
        if keys.is_null() {
            return Ok(());
        }
        // SAFETY: the caller's contract for `keys`.
        let object = unsafe { util::handle_mut(keys) }?;
        object.unused()?;
        object.magic = 0;
        // SAFETY: made by Box::into_raw in this crate, checked live and
        // unused; the caller gives it up.
        drop(unsafe { Box::from_raw(keys) });
        Ok(())
    })
}
