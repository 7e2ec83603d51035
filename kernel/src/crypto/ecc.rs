//! EC-SDSA verification on P-256 and P-521 (EMV 4.4 Book 2, XDA), on
//! RustCrypto's `p256` and `p521` curve arithmetic. No heap, no randomness.
//!
//! EC-SDSA is the elliptic-curve Schnorr signature with appendix of ISO/IEC
//! 14888-3, in the variant EMV uses where only the x-coordinate of the
//! commitment point is hashed (Book 2 Annex A2, as described by the EMV
//! Contactless Book E examples; see docs/conformance.md, "XDA"):
//!
//! - signing: `k` random, `r = H(I2OS(x(kG)) || M)`, `s = (k + r·d) mod n`,
//!   signature `r || s` (`N_HASH + N_FIELD` bytes);
//! - verification: `0 < r mod n`, `0 < s < n`, `Q = sG − rP`, `Q` not the
//!   point at infinity, and `H(I2OS(x(Q)) || M) = r`.
//!
//! EMV public keys are carried as their x-coordinate alone (certificates and
//! CA keys): the point is the one with that x whose y, as an integer, is below
//! `(p + 1) / 2` (Book 2 Annex B2, "Point4x"; the signer chooses its private key
//! so that its public point satisfies this). [`point_from_x`] recovers it and
//! fails when `x` is not the x-coordinate of a curve point.
//!
//! P-521 needs feature `ecc-p521` (on by default and with `ring-crypto`);
//! without it P-521 operations are [`CryptoError::Unsupported`].
//!
//! Only the curve arithmetic comes from the crates; the construction above is
//! ours (RustCrypto implements ECDSA, not EC-SDSA).
//!
//! [`ephemeral_agreement`] is the Diffie-Hellman step of ECC offline PIN
//! encipherment (Book 2, 13.2 and Annex A2.3.2 as we read them): the
//! terminal's ephemeral key pair and the shared x-coordinate. It is the only
//! function here that draws random bytes, from the source its caller passes.

use super::{CryptoError, EccCurve};
use p256::elliptic_curve::ops::Reduce;
use p256::elliptic_curve::point::DecompressPoint;
use p256::elliptic_curve::sec1::ToEncodedPoint;
use p256::elliptic_curve::subtle::Choice;
use p256::elliptic_curve::{Field, PrimeField};
use sha2::Digest as _;

/// Hash `prefix || parts` with the curve's hash; `out` receives `hash_len` bytes.
fn suite_hash(curve: EccCurve, prefix: &[u8], parts: &[&[u8]], out: &mut [u8; 64]) {
    match curve {
        EccCurve::P256 => {
            let mut hasher = sha2::Sha256::new();
            hasher.update(prefix);
            for part in parts {
                hasher.update(part);
            }
            for (target, byte) in out.iter_mut().zip(hasher.finalize()) {
                *target = byte;
            }
        }
        EccCurve::P521 => {
            let mut hasher = sha2::Sha512::new();
            hasher.update(prefix);
            for part in parts {
                hasher.update(part);
            }
            for (target, byte) in out.iter_mut().zip(hasher.finalize()) {
                *target = byte;
            }
        }
    }
}

/// `bytes` as a curve's fixed-length byte array; `None` if the length differs.
fn field_bytes<B: Default + AsMut<[u8]>>(bytes: &[u8]) -> Option<B> {
    let mut out = B::default();
    if out.as_mut().len() != bytes.len() {
        return None;
    }
    for (target, byte) in out.as_mut().iter_mut().zip(bytes) {
        *target = *byte;
    }
    Some(out)
}

/// Draws of the ephemeral private key before giving up: a draw is refused
/// only when it is zero or not below the order, about 2^-32 of the time on
/// P-256, so a source that fails 8 times running is broken.
const MAX_SCALAR_DRAWS: usize = 8;

/// Recover the point, verify and agree, one curve; `$m` is the crate module,
/// `$top` the mask that keeps a random `N_FIELD`-byte string within the
/// order's bit length.
macro_rules! curve_impl {
    ($point_from_x:ident, $verify:ident, $agree:ident, $m:ident, $curve:expr, $scalar_from_hash:expr, $top:expr) => {
        fn $agree(
            peer_x: &[u8],
            random: &mut dyn FnMut(&mut [u8]) -> Result<(), CryptoError>,
            ephemeral_x: &mut [u8],
            shared_x: &mut [u8],
        ) -> Result<(), CryptoError> {
            const CURVE: EccCurve = $curve;
            if ephemeral_x.len() != CURVE.field_len() || shared_x.len() != CURVE.field_len() {
                return Err(CryptoError::OutputLength);
            }
            let peer = $m::ProjectivePoint::from($point_from_x(peer_x)?);
            let mut bytes = $m::FieldBytes::default();
            for _ in 0..MAX_SCALAR_DRAWS {
                if let Err(error) = random(&mut bytes[..]) {
                    bytes.iter_mut().for_each(|byte| *byte = 0);
                    return Err(error);
                }
                if let Some(first) = bytes.first_mut() {
                    *first &= $top;
                }
                let scalar: Option<$m::Scalar> = $m::Scalar::from_repr(bytes).into();
                bytes.iter_mut().for_each(|byte| *byte = 0);
                let Some(d) = scalar.filter(|d| !bool::from(d.is_zero())) else {
                    continue;
                };
                let ephemeral = ($m::ProjectivePoint::GENERATOR * d)
                    .to_affine()
                    .to_encoded_point(false);
                let shared = (peer * d).to_affine().to_encoded_point(false);
                let (Some(r), Some(z)) = (ephemeral.x(), shared.x()) else {
                    return Err(CryptoError::InvalidPoint);
                };
                ephemeral_x.copy_from_slice(r);
                shared_x.copy_from_slice(z);
                return Ok(());
            }
            Err(CryptoError::RandomUnavailable)
        }

        fn $point_from_x(x: &[u8]) -> Result<$m::AffinePoint, CryptoError> {
            let x_bytes = field_bytes::<$m::FieldBytes>(x).ok_or(CryptoError::InvalidPoint)?;
            let even: Option<$m::AffinePoint> =
                $m::AffinePoint::decompress(&x_bytes, Choice::from(0)).into();
            let even = even.ok_or(CryptoError::InvalidPoint)?;
            let odd = -even;
            // Book 2 Annex B2: the root below (p + 1) / 2, the smaller of y and p − y.
            let (even_encoded, odd_encoded) =
                (even.to_encoded_point(false), odd.to_encoded_point(false));
            match (even_encoded.y(), odd_encoded.y()) {
                (Some(even_y), Some(odd_y)) if even_y[..] < odd_y[..] => Ok(even),
                (Some(_), Some(_)) => Ok(odd),
                _ => Err(CryptoError::InvalidPoint),
            }
        }

        fn $verify(x: &[u8], message: &[&[u8]], signature: &[u8]) -> Result<bool, CryptoError> {
            const CURVE: EccCurve = $curve;
            let public = $point_from_x(x)?;
            let Some((r, s)) = signature.split_at_checked(CURVE.hash_len()) else {
                return Ok(false);
            };
            if s.len() != CURVE.field_len() {
                return Ok(false);
            }
            let Some(s_bytes) = field_bytes::<$m::FieldBytes>(s) else {
                return Ok(false);
            };
            // 0 < s < n: from_repr rejects s ≥ n.
            let s_scalar: Option<$m::Scalar> = $m::Scalar::from_repr(s_bytes).into();
            let Some(s_scalar) = s_scalar else {
                return Ok(false);
            };
            let r_scalar: $m::Scalar = $scalar_from_hash(r);
            if bool::from(s_scalar.is_zero()) || bool::from(r_scalar.is_zero()) {
                return Ok(false);
            }
            let q = ($m::ProjectivePoint::GENERATOR * s_scalar
                - $m::ProjectivePoint::from(public) * r_scalar)
                .to_affine();
            let encoded = q.to_encoded_point(false);
            let Some(q_x) = encoded.x() else {
                return Ok(false); // Q is the point at infinity.
            };
            let mut v = [0u8; 64];
            suite_hash(CURVE, &q_x[..], message, &mut v);
            Ok(v.get(..CURVE.hash_len()) == Some(r))
        }
    };
}

/// `r mod n` for P-256: the 32-byte hash may exceed the order.
fn p256_scalar_from_hash(r: &[u8]) -> p256::Scalar {
    let mut bytes = p256::FieldBytes::default();
    for (target, byte) in bytes.iter_mut().zip(r) {
        *target = *byte;
    }
    <p256::Scalar as Reduce<p256::U256>>::reduce_bytes(&bytes)
}

#[cfg(feature = "ecc-p521")]
/// `r mod n` for P-521: the 64-byte hash, right-aligned in 66 bytes, is below
/// the order; reduced anyway.
fn p521_scalar_from_hash(r: &[u8]) -> p521::Scalar {
    let mut bytes = p521::FieldBytes::default();
    let offset = bytes.len().saturating_sub(r.len());
    for (target, byte) in bytes.iter_mut().skip(offset).zip(r) {
        *target = *byte;
    }
    <p521::Scalar as Reduce<p521::U576>>::reduce_bytes(&bytes)
}

curve_impl!(
    p256_point_from_x,
    p256_verify,
    p256_agree,
    p256,
    EccCurve::P256,
    p256_scalar_from_hash,
    0xFF
);
#[cfg(feature = "ecc-p521")]
curve_impl!(
    p521_point_from_x,
    p521_verify,
    p521_agree,
    p521,
    EccCurve::P521,
    p521_scalar_from_hash,
    0x01
);

/// Whether `x` is the x-coordinate of a point on `curve` (length `N_FIELD`).
///
/// Book 2 Annex B2: a public key given by its x-coordinate is usable only if
/// `x³ + ax + b` has a square root modulo p.
pub fn point_from_x(curve: EccCurve, x: &[u8]) -> Result<(), CryptoError> {
    match curve {
        EccCurve::P256 => p256_point_from_x(x).map(|_| ()),
        #[cfg(feature = "ecc-p521")]
        EccCurve::P521 => p521_point_from_x(x).map(|_| ()),
        #[cfg(not(feature = "ecc-p521"))]
        EccCurve::P521 => Err(CryptoError::Unsupported),
    }
}

/// EC-SDSA verification of `signature` (`r || s`) over the concatenation of
/// `message` with the public key whose x-coordinate is `public_key_x`.
///
/// `Ok(false)` for a signature that does not verify (wrong length, `r` or `s`
/// out of range, `Q` at infinity, hash mismatch); an error when the key is not
/// a curve point.
pub fn ec_sdsa_verify(
    curve: EccCurve,
    public_key_x: &[u8],
    message: &[&[u8]],
    signature: &[u8],
) -> Result<bool, CryptoError> {
    match curve {
        EccCurve::P256 => p256_verify(public_key_x, message, signature),
        #[cfg(feature = "ecc-p521")]
        EccCurve::P521 => p521_verify(public_key_x, message, signature),
        #[cfg(not(feature = "ecc-p521"))]
        EccCurve::P521 => {
            let _ = (public_key_x, message, signature);
            Err(CryptoError::Unsupported)
        }
    }
}

/// Diffie-Hellman with a fresh ephemeral key (Book 2, 13.2 step 3 and Annex
/// A2.3.2 step b, as we read them): `d` drawn from `random` until
/// `1 <= d < n` (at most 8 draws, else [`CryptoError::RandomUnavailable`]),
/// then `x(dG)` written into `ephemeral_x` and `x(dQ)` into `shared_x`, `Q`
/// being the point of `peer_x` (the Annex B2 root; `x(dQ)` is the same for
/// either root). Both buffers are `N_FIELD` bytes. The bytes `d` was drawn
/// from are wiped; `d` itself (the crates' scalars are `Copy`, without
/// zeroizing) lives only in this call's stack frame.
pub fn ephemeral_agreement(
    curve: EccCurve,
    peer_x: &[u8],
    random: &mut dyn FnMut(&mut [u8]) -> Result<(), CryptoError>,
    ephemeral_x: &mut [u8],
    shared_x: &mut [u8],
) -> Result<(), CryptoError> {
    match curve {
        EccCurve::P256 => p256_agree(peer_x, random, ephemeral_x, shared_x),
        #[cfg(feature = "ecc-p521")]
        EccCurve::P521 => p521_agree(peer_x, random, ephemeral_x, shared_x),
        #[cfg(not(feature = "ecc-p521"))]
        EccCurve::P521 => {
            let _ = (peer_x, random, ephemeral_x, shared_x);
            Err(CryptoError::Unsupported)
        }
    }
}
