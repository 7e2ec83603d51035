//! The curves of EMV's ECC algorithm suites and their sizes (always built, so
//! that [`super::CryptoProvider`] names them with or without feature `ecc`).

/// The curves of EMV's ECC algorithm suites (Book 2 Annex B2, Table "Algorithm
/// Suite Indicator": `10` EC-SDSA with SHA-256 on P-256, `11` EC-SDSA with
/// SHA-512 on P-521).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum EccCurve {
    /// NIST P-256 (secp256r1), with SHA-256.
    P256,
    /// NIST P-521 (secp521r1), with SHA-512.
    P521,
}

impl EccCurve {
    /// `N_FIELD`: bytes of a field element (and of a public key's x-coordinate).
    pub const fn field_len(self) -> usize {
        match self {
            EccCurve::P256 => 32,
            EccCurve::P521 => 66,
        }
    }

    /// `N_HASH`: bytes of the suite's hash (SHA-256 or SHA-512).
    pub const fn hash_len(self) -> usize {
        match self {
            EccCurve::P256 => 32,
            EccCurve::P521 => 64,
        }
    }

    /// `N_SIG = N_HASH + N_FIELD`: bytes of an EC-SDSA signature `r || s`.
    pub const fn signature_len(self) -> usize {
        self.hash_len() + self.field_len()
    }
}

/// The longest x-coordinate (P-521).
pub const MAX_ECC_FIELD_BYTES: usize = 66;
/// The longest EC-SDSA signature (P-521 with SHA-512).
pub const MAX_ECC_SIGNATURE_BYTES: usize = 130;
