//! What can go wrong between the kernel and a PC/SC reader, as typed errors.
//!
//! Every failure of the reader, the card or the PC/SC service maps to one of
//! these variants; the transaction then ends as terminated with the variant's
//! message as the reason.

use crate::ttl::TtlError;

/// A failure of the reader, the card, the PC/SC service or the transport
/// rules, or a misuse by the caller.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PcscError {
    /// No reader matches the selector (or the service lists no reader).
    #[error("no reader matches {wanted:?}")]
    NoReader {
        /// The selector as the user gave it.
        wanted: String,
    },
    /// A substring selects more than one reader.
    #[error("{wanted:?} matches several readers: {matches:?}")]
    AmbiguousReader {
        /// The substring.
        wanted: String,
        /// The readers it matches.
        matches: Vec<String>,
    },
    /// No card in the reader (or in any reader for `auto`).
    #[error("no card in the reader")]
    NoCard,
    /// The card was removed or powered off during the session.
    #[error("card removed or powered off")]
    CardRemoved,
    /// The card does not answer to reset.
    #[error("card does not respond")]
    CardMute,
    /// Another application reset the card during the session.
    #[error("card reset by another application")]
    CardReset,
    /// The reader was unplugged or disappeared from the service.
    #[error("reader gone")]
    ReaderGone,
    /// The PC/SC service (pcscd) is not running, or stopped.
    #[error("PC/SC service not running or stopped")]
    ServiceStopped,
    /// Another application holds the card exclusively.
    #[error("card in use by another application (sharing violation)")]
    SharingViolation,
    /// A wait or a command exceeded its bound.
    #[error("timed out")]
    Timeout,
    /// The card broke the transport rules, or reader and card share no
    /// protocol.
    #[error("transport protocol failure: {0}")]
    Protocol(ProtocolFault),
    /// Any other PC/SC failure.
    #[error("PC/SC error: {0}")]
    Transmit(pcsc::Error),
    /// Caller misuse: not a short command APDU, or a response buffer smaller
    /// than two bytes, or a reader name with a NUL byte.
    #[error("invalid request: {0}")]
    InvalidRequest(&'static str),
}

/// How the card (or the reader) broke the transport rules of EMV Book 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ProtocolFault {
    /// Fewer than the two status bytes came back.
    #[error("card answered {received} byte(s), no status words")]
    NoStatusWords {
        /// Bytes received.
        received: usize,
    },
    /// The card kept asking for GET RESPONSE or a new Le.
    #[error("card kept answering 61xx/6Cxx")]
    TooManyExchanges,
    /// More response data than a short response APDU holds.
    #[error("response longer than the buffer")]
    ResponseTooLong,
    /// The reader and the card could not agree on T=0 or T=1.
    #[error("no common protocol ({0})")]
    NoCommonProtocol(pcsc::Error),
}

impl From<pcsc::Error> for PcscError {
    fn from(error: pcsc::Error) -> Self {
        use pcsc::Error as E;
        match error {
            E::NoService | E::ServiceStopped | E::Shutdown => PcscError::ServiceStopped,
            E::NoReadersAvailable => PcscError::NoReader {
                wanted: String::new(),
            },
            E::UnknownReader | E::ReaderUnavailable => PcscError::ReaderGone,
            E::NoSmartcard => PcscError::NoCard,
            E::RemovedCard | E::UnpoweredCard => PcscError::CardRemoved,
            E::UnresponsiveCard => PcscError::CardMute,
            E::ResetCard => PcscError::CardReset,
            E::SharingViolation => PcscError::SharingViolation,
            E::Timeout => PcscError::Timeout,
            E::ProtoMismatch | E::UnsupportedCard | E::CardUnsupported | E::InvalidAtr => {
                PcscError::Protocol(ProtocolFault::NoCommonProtocol(error))
            }
            other => PcscError::Transmit(other),
        }
    }
}

impl From<TtlError<PcscError>> for PcscError {
    fn from(error: TtlError<PcscError>) -> Self {
        match error {
            TtlError::Raw(raw) => raw,
            TtlError::MalformedCommand => PcscError::InvalidRequest("not a short command APDU"),
            TtlError::ResponseBufferTooSmall => {
                PcscError::InvalidRequest("response buffer smaller than 2 bytes")
            }
            TtlError::NoStatusWords { received } => {
                PcscError::Protocol(ProtocolFault::NoStatusWords { received })
            }
            TtlError::TooManyExchanges => PcscError::Protocol(ProtocolFault::TooManyExchanges),
            TtlError::ResponseTooLong => PcscError::Protocol(ProtocolFault::ResponseTooLong),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pcsc_errors_map_to_typed_reasons() {
        assert_eq!(
            PcscError::from(pcsc::Error::RemovedCard),
            PcscError::CardRemoved
        );
        assert_eq!(
            PcscError::from(pcsc::Error::UnpoweredCard),
            PcscError::CardRemoved
        );
        assert_eq!(
            PcscError::from(pcsc::Error::NoService),
            PcscError::ServiceStopped
        );
        assert_eq!(
            PcscError::from(pcsc::Error::ServiceStopped),
            PcscError::ServiceStopped
        );
        assert_eq!(
            PcscError::from(pcsc::Error::ReaderUnavailable),
            PcscError::ReaderGone
        );
        assert_eq!(
            PcscError::from(pcsc::Error::SharingViolation),
            PcscError::SharingViolation
        );
        assert_eq!(PcscError::from(pcsc::Error::Timeout), PcscError::Timeout);
        assert_eq!(PcscError::from(pcsc::Error::NoSmartcard), PcscError::NoCard);
        assert!(matches!(
            PcscError::from(pcsc::Error::ProtoMismatch),
            PcscError::Protocol(ProtocolFault::NoCommonProtocol(_))
        ));
        assert_eq!(
            PcscError::from(pcsc::Error::InsufficientBuffer),
            PcscError::Transmit(pcsc::Error::InsufficientBuffer)
        );
    }

    #[test]
    fn ttl_errors_map() {
        assert_eq!(
            PcscError::from(TtlError::Raw(PcscError::CardRemoved)),
            PcscError::CardRemoved
        );
        assert_eq!(
            PcscError::from(TtlError::<PcscError>::TooManyExchanges),
            PcscError::Protocol(ProtocolFault::TooManyExchanges)
        );
        assert!(matches!(
            PcscError::from(TtlError::<PcscError>::MalformedCommand),
            PcscError::InvalidRequest(_)
        ));
    }
}
