//! Offline data authentication in the transaction: Book 3, 10.3.
//!
//! Selects the method (XDA, then CDA, then DDA, then SDA, as both the card's
//! AIP and the terminal's capabilities allow; EMV 4.4 Book 3, 10.3), performs SDA, sends INTERNAL
//! AUTHENTICATE for DDA and checks its answer, recovers the ICC key that CDA
//! checks at GENERATE AC, and records the result in the TVR and TSI. The
//! checks themselves are the Book 2 functions of the sibling modules. The
//! PIN key of offline enciphered PIN (Book 2, 7.1) is recovered here too,
//! from the same card data.

use crate::apdu;
use crate::config::{CAPABILITY_CDA, CAPABILITY_DDA, CAPABILITY_SDA, CAPABILITY_XDA};
use crate::context::Context;
use crate::crypto::CryptoProvider;
use crate::data::{DataStore, Sources};
use crate::dol;
use crate::initiate::{Aip, AIP_CDA, AIP_DDA, AIP_SDA, AIP_XDA};
use crate::oda::{self, CardData, EccPublicKey, PublicKey, StaticData};
use crate::outcome::{OdaMethod, OdaResult};
use crate::read::OdaRecords;
use crate::tlv::{self, Tag};
use crate::tvr;
use heapless::Vec;

/// What offline data authentication keeps for the whole transaction: the
/// records collected for it, the method selected, its result, and what CDA
/// needs again at GENERATE AC (the ICC key, the PDOL and CDOL1 data).
#[derive(Clone, Debug)]
pub(crate) struct OfflineAuthentication {
    /// The records flagged for ODA, collected while reading (Book 3, 10.3).
    pub(crate) records: OdaRecords,
    /// The method selected.
    pub(crate) method: OdaMethod,
    /// The result so far.
    pub(crate) result: OdaResult,
    /// Why ODA failed, when a Book 2 check did.
    pub(crate) failure: Option<oda::OdaFailure>,
    /// The ICC Public Key, once recovered (Book 2, 6.1-6.4; the ECC key of
    /// XDA in the same room).
    pub(crate) icc_key: Option<IccKey>,
    /// The PDOL data of GET PROCESSING OPTIONS and the CDOL1 data of the
    /// first GENERATE AC, which a CDA signature covers (Book 2, 6.6.1).
    pub(crate) pdol_data: Vec<u8, 255>,
    /// See `pdol_data`.
    pub(crate) cdol1_data: Vec<u8, 255>,
}

/// The ICC's key for the selected method: RSA for DDA and CDA, elliptic
/// curve for XDA.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum IccKey {
    /// DDA, CDA.
    Rsa(PublicKey),
    /// XDA.
    Ecc(EccPublicKey),
}

impl IccKey {
    /// The RSA key, if this is one.
    pub(crate) fn rsa(&self) -> Option<&PublicKey> {
        match self {
            IccKey::Rsa(key) => Some(key),
            IccKey::Ecc(_) => None,
        }
    }
}

/// Book 2, 6.5: INTERNAL AUTHENTICATE sent; the DDOL data wait for the
/// signature check (Book 2, 6.5.2).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct InternalAuthenticate {
    ddol_data: Vec<u8, 255>,
}

impl OfflineAuthentication {
    /// Nothing collected, nothing performed.
    pub(crate) const fn new() -> Self {
        OfflineAuthentication {
            records: OdaRecords::new(),
            method: OdaMethod::None,
            result: OdaResult::NotPerformed,
            failure: None,
            icc_key: None,
            pdol_data: Vec::new(),
            cdol1_data: Vec::new(),
        }
    }

    /// [`OfflineAuthentication::new`] in place (the next transaction).
    pub(crate) fn restart(&mut self) {
        let OfflineAuthentication {
            records,
            method,
            result,
            failure,
            icc_key,
            pdol_data,
            cdol1_data,
        } = self;
        records.clear();
        *method = OdaMethod::None;
        *result = OdaResult::NotPerformed;
        *failure = None;
        *icc_key = None;
        pdol_data.clear();
        cdol1_data.clear();
    }

    /// EMV 4.4 Book 3, 10.3: selects XDA, then CDA, then DDA, then SDA, as
    /// both card (AIP) and terminal (9F33 byte 3) support them, and performs it. `Some` when
    /// INTERNAL AUTHENTICATE is written and its answer awaited (DDA).
    pub(crate) fn start<C: CryptoProvider>(
        &mut self,
        cx: &mut Context<'_>,
        crypto: &C,
        aip: Aip,
    ) -> Option<InternalAuthenticate> {
        let config = cx.terminal_context.config;
        let both = |aip_bit, capability| aip.has(aip_bit) && config.supports(capability);
        self.method = if both(AIP_XDA, CAPABILITY_XDA) {
            OdaMethod::Xda
        } else if both(AIP_CDA, CAPABILITY_CDA) {
            OdaMethod::Cda
        } else if both(AIP_DDA, CAPABILITY_DDA) {
            OdaMethod::Dda
        } else if both(AIP_SDA, CAPABILITY_SDA) {
            OdaMethod::Sda
        } else {
            OdaMethod::None
        };
        match self.method {
            OdaMethod::None => {
                cx.set_tvr(tvr::ODA_NOT_PERFORMED);
                None
            }
            OdaMethod::Sda => {
                cx.set_tvr(tvr::SDA_SELECTED);
                self.static_data_authentication(cx, crypto, aip);
                None
            }
            OdaMethod::Dda => self.start_dynamic_data_authentication(cx, crypto, aip),
            OdaMethod::Xda => {
                // EMV 4.4 Book 2: the ECC chain is checked now, the signature
                // on the GENERATE AC response. "XDA selected" (TVR byte 1 b1).
                cx.set_tvr(tvr::XDA_SELECTED);
                if self.records_failed_oda() {
                    self.failed_here(cx);
                } else if let Err(failure) = self.recover_ecc_icc_key(cx, crypto, aip) {
                    self.failed(cx, failure);
                }
                None
            }
            OdaMethod::Cda => {
                // Book 2, 6.6: the ICC key is recovered now; the signature is
                // checked on the GENERATE AC response.
                if self.records_failed_oda() {
                    self.failed_here(cx);
                } else if let Err(failure) = self.recover_icc_key(cx, crypto, aip) {
                    self.failed(cx, failure);
                }
                None
            }
        }
    }

    /// A Book 2 check failed: the TVR bits of the failure for the selected
    /// method, TSI "Offline data authentication was performed".
    pub(crate) fn failed(&mut self, cx: &mut Context<'_>, failure: oda::OdaFailure) {
        let method = match self.method {
            OdaMethod::Sda => oda::OdaMethod::Sda,
            OdaMethod::Dda => oda::OdaMethod::Dda,
            OdaMethod::Xda => oda::OdaMethod::Xda,
            _ => oda::OdaMethod::Cda,
        };
        let (failed, missing) = failure.tvr_bits(method);
        cx.set_tvr(failed);
        if let Some(bit) = missing {
            cx.set_tvr(bit);
        }
        cx.set_tsi(tvr::TSI_ODA_PERFORMED);
        self.result = OdaResult::Failed;
        self.failure = Some(failure);
    }

    /// The selected method succeeded.
    pub(crate) fn succeeded(&mut self, cx: &mut Context<'_>) {
        cx.set_tsi(tvr::TSI_ODA_PERFORMED);
        self.result = OdaResult::Succeeded;
    }

    fn records_failed_oda(&self) -> bool {
        self.records.failed
    }

    /// The selected method fails for a reason outside Book 2's checks (an
    /// ODA record not in template 70, the records beyond
    /// [`crate::limits::ODA_DATA_BYTES`], a default DDOL without 9F37): only
    /// the method's own TVR bit (Book 3, 10.3).
    fn failed_here(&mut self, cx: &mut Context<'_>) {
        let failed = match self.method {
            OdaMethod::Sda => tvr::SDA_FAILED,
            OdaMethod::Dda => tvr::DDA_FAILED,
            OdaMethod::Xda => tvr::XDA_FAILED,
            _ => tvr::CDA_FAILED,
        };
        cx.set_tvr(failed);
        cx.set_tsi(tvr::TSI_ODA_PERFORMED);
        self.result = OdaResult::Failed;
    }

    fn static_data_authentication<C: CryptoProvider>(
        &mut self,
        cx: &mut Context<'_>,
        crypto: &C,
        aip: Aip,
    ) {
        if self.records_failed_oda() {
            self.failed_here(cx);
            return;
        }
        let result = oda::sda::authenticate(
            crypto,
            &oda_terminal(cx),
            &card_oda_data(&cx.store),
            &static_data(&self.records, &cx.store, aip),
        );
        match result {
            Ok(outcome) => {
                let _ = cx
                    .store
                    .replace(Tag(0x9F45), &outcome.data_authentication_code);
                self.succeeded(cx);
            }
            Err(failure) => self.failed(cx, failure),
        }
    }

    /// Book 2, 6.1-6.4: the ICC Public Key for DDA, CDA (and enciphered PIN).
    /// Callers check [`Self::records_failed_oda`] first.
    fn recover_icc_key<C: CryptoProvider>(
        &mut self,
        cx: &Context<'_>,
        crypto: &C,
        aip: Aip,
    ) -> Result<(), oda::OdaFailure> {
        let key = oda::recover::icc_key_for_card(
            crypto,
            &oda_terminal(cx),
            &card_oda_data(&cx.store),
            &static_data(&self.records, &cx.store, aip),
        )?;
        self.icc_key = Some(IccKey::Rsa(key.key));
        Ok(())
    }

    /// EMV 4.4 Book 2: XDA's ICC ECC key, through the Issuer ECC certificate.
    /// Callers check [`Self::records_failed_oda`] first.
    fn recover_ecc_icc_key<C: CryptoProvider>(
        &mut self,
        cx: &Context<'_>,
        crypto: &C,
        aip: Aip,
    ) -> Result<(), oda::OdaFailure> {
        let key = oda::xda::icc_key_for_card(
            crypto,
            &oda_terminal(cx),
            cx.inputs.time,
            &card_oda_data(&cx.store),
            &static_data(&self.records, &cx.store, aip),
        )?;
        self.icc_key = Some(IccKey::Ecc(key.key));
        Ok(())
    }

    /// Book 2, 6.5.1: INTERNAL AUTHENTICATE with the card's DDOL, or the
    /// terminal's default DDOL (which must contain 9F37).
    fn start_dynamic_data_authentication<C: CryptoProvider>(
        &mut self,
        cx: &mut Context<'_>,
        crypto: &C,
        aip: Aip,
    ) -> Option<InternalAuthenticate> {
        if self.records_failed_oda() {
            self.failed_here(cx);
            return None;
        }
        if let Err(failure) = self.recover_icc_key(cx, crypto, aip) {
            self.failed(cx, failure);
            return None;
        }
        let default_ddol = cx
            .app_config()
            .map(|a| a.default_ddol.as_slice())
            .unwrap_or(&[]);
        // Book 2, 6.5.1: the card's DDOL, else the terminal's default DDOL,
        // which must ask for the Unpredictable Number.
        let ddol = match cx.store.get(Tag(0x9F49)) {
            Some(ddol) if has_unpredictable_number(ddol) => Ok(ddol),
            Some(_) => Err(false), // Book 2, 6.5.1: card DDOL without 9F37
            None if default_ddol.is_empty() => Err(true),
            None if has_unpredictable_number(default_ddol) => Ok(default_ddol),
            None => Err(false),
        };
        let ddol = match ddol {
            Ok(ddol) => ddol,
            Err(no_ddol_at_all) => {
                if no_ddol_at_all {
                    self.failed(cx, oda::OdaFailure::Missing(Tag(0x9F49)));
                } else {
                    self.failed_here(cx);
                }
                return None;
            }
        };
        let mut ddol_data = [0u8; 255];
        let sources = Sources {
            terminal: &cx.terminal,
            card: &cx.store,
        };
        let built = dol::build(ddol, &sources, &mut ddol_data)
            .ok()
            .and_then(|n| ddol_data.get(..n))
            .and_then(|data| apdu::internal_authenticate(data).ok());
        match built {
            Some(command) => {
                // The DDOL data are kept for the signature check (Book 2, 6.5.2).
                let ddol_data = Vec::from_slice(apdu::command_data(&command)).unwrap_or_default();
                cx.command = command;
                Some(InternalAuthenticate { ddol_data })
            }
            None => {
                self.failed(cx, oda::OdaFailure::Missing(Tag(0x9F49)));
                None
            }
        }
    }

    /// Book 2, 6.5.2: the card's answer to INTERNAL AUTHENTICATE (format 1,
    /// 80, or format 2, 77 with 9F4B): the Signed Dynamic Application Data
    /// are checked with the ICC key.
    pub(crate) fn on_internal_authenticate<C: CryptoProvider>(
        &mut self,
        cx: &mut Context<'_>,
        crypto: &C,
        sent: InternalAuthenticate,
        data: &[u8],
        status: u16,
    ) {
        let signed = if status == 0x9000 {
            tlv::parse_single(data).ok().and_then(|t| match t.tag {
                Tag(0x80) => Some(t.value),
                Tag(0x77) => tlv::find(t.value, Tag(0x9F4B)),
                _ => None,
            })
        } else {
            None
        };
        let result = match (signed, self.icc_key.as_ref().and_then(IccKey::rsa)) {
            (Some(signed), Some(key)) => oda::dda::verify(crypto, key, signed, &sent.ddol_data),
            _ => Err(oda::OdaFailure::Missing(Tag(0x9F4B))),
        };
        match result {
            Ok(outcome) => {
                let _ = cx.store.replace(Tag(0x9F4C), &outcome.icc_dynamic_number);
                self.succeeded(cx);
            }
            Err(failure) => self.failed(cx, failure),
        }
    }

    /// Book 2, 7.1: the ICC PIN Encipherment key, else the ICC key; for a
    /// card with ECC certificates, its ECC PIN key (EMV 4.4 Book 2, 13.1).
    pub(crate) fn pin_key<C: CryptoProvider>(
        &self,
        cx: &Context<'_>,
        crypto: &C,
        aip: Aip,
    ) -> Option<oda::pin::PinKey> {
        if self.records_failed_oda() {
            return None;
        }
        oda::pin::any_pin_key_for_card(
            crypto,
            &oda_terminal(cx),
            cx.inputs.time,
            &card_oda_data(&cx.store),
            &static_data(&self.records, &cx.store, aip),
        )
        .ok()
        .map(|(key, _)| key)
    }
}

/// The terminal's part of ODA: its CA keys, its revocation list and the
/// transaction date.
fn oda_terminal<'a>(cx: &Context<'a>) -> oda::Terminal<'a> {
    let context = cx.terminal_context;
    oda::Terminal {
        ca_keys: context.ca_keys,
        revocations: context.revocations,
        transaction_date: oda_date(&cx.inputs.date),
    }
}

fn oda_date(date: &[u8; 3]) -> oda::Date {
    oda::Date::from_bcd(date).unwrap_or(oda::Date {
        year: 2000,
        month: 1,
        day: 1,
    })
}

fn card_oda_data(store: &DataStore) -> CardData<'_> {
    let mut rid = [0u8; 5];
    if let Some(aid) = store.get(Tag(0x84)).and_then(|a| a.get(..5)) {
        rid.copy_from_slice(aid);
    }
    CardData {
        rid,
        ca_public_key_index: store.get(Tag(0x8F)).and_then(|v| v.first().copied()),
        issuer_public_key_certificate: store.get(Tag(0x90)),
        issuer_public_key_remainder: store.get(Tag(0x92)),
        issuer_public_key_exponent: store.get(Tag(0x9F32)),
        application_pan: store.get(Tag(0x5A)),
        signed_static_application_data: store.get(Tag(0x93)),
        icc_public_key_certificate: store.get(Tag(0x9F46)),
        icc_public_key_exponent: store.get(Tag(0x9F47)),
        icc_public_key_remainder: store.get(Tag(0x9F48)),
        icc_pin_encipherment_public_key_certificate: store.get(Tag(0x9F2D)),
        icc_pin_encipherment_public_key_exponent: store.get(Tag(0x9F2E)),
        icc_pin_encipherment_public_key_remainder: store.get(Tag(0x9F2F)),
        aid: store.get(Tag(0x84)).unwrap_or(&[]),
        pdol: store.get(Tag(0x9F38)),
    }
}

fn static_data<'a>(records: &'a OdaRecords, store: &'a DataStore, aip: Aip) -> StaticData<'a> {
    StaticData {
        records: records.as_bytes(),
        tag_list: store.get(Tag(0x9F4A)),
        application_interchange_profile: aip.0,
    }
}

/// Whether a DOL asks for the Unpredictable Number (9F37).
fn has_unpredictable_number(dol_bytes: &[u8]) -> bool {
    dol::entries(dol_bytes).any(|e| e.is_ok_and(|e| e.tag == Tag(0x9F37)))
}
