//! In-process serving: a [`Card`] is a [`CardTransport`], so the kernel's
//! callers run transactions against it without I/O.
//!
//! Like a T=0 reader driver, the transport resolves `61xx` with GET RESPONSE
//! and `6Cxx` by re-sending with the corrected Le, within a bounded number of
//! rounds, so the kernel sees one complete response per command.

use emv_kernel::transport::CardTransport;

use crate::card::Card;

/// Most exchanges one `transmit` makes for a T=0 sequence before giving up.
pub const MAX_T0_ROUNDS: usize = 32;

/// Why an in-process exchange failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SimulatedError {
    /// The card's response does not fit the caller's buffer.
    #[error("response of {len} bytes does not fit the {capacity}-byte buffer")]
    ResponseTooLong {
        /// Response length (data + SW).
        len: usize,
        /// Caller's buffer length.
        capacity: usize,
    },
    /// A 61xx/6Cxx sequence did not end within [`MAX_T0_ROUNDS`] exchanges.
    #[error("T=0 exchange did not settle after {0} rounds")]
    TooManyRounds(usize),
}

impl Card {
    /// One command with T=0 sequences resolved: the complete data || SW.
    pub fn exchange(&mut self, command: &[u8]) -> Result<Vec<u8>, SimulatedError> {
        let mut data = Vec::new();
        let mut current = command.to_vec();
        for _ in 0..MAX_T0_ROUNDS {
            let response = self.process(&current);
            let split = response.len().saturating_sub(2);
            let (body, status) = response.split_at(split);
            data.extend_from_slice(body);
            match *status {
                [0x61, remaining] => current = vec![0x00, 0xC0, 0x00, 0x00, remaining],
                [0x6C, exact] => current = with_le(command, exact),
                _ => {
                    data.extend_from_slice(status);
                    return Ok(data);
                }
            }
        }
        Err(SimulatedError::TooManyRounds(MAX_T0_ROUNDS))
    }
}

/// The command with its Le set to `le` (appended for cases 1 and 3, replaced for 2 and 4).
fn with_le(command: &[u8], le: u8) -> Vec<u8> {
    let mut out = command.to_vec();
    let lc = command.get(4).map(|&b| usize::from(b));
    let has_le = match (command.len(), lc) {
        (5, _) => true,
        (n, Some(lc)) => n == 6 + lc,
        _ => false,
    };
    if has_le {
        out.pop();
    }
    out.push(le);
    out
}

impl CardTransport for Card {
    type Error = SimulatedError;

    fn transmit(&mut self, command: &[u8], response: &mut [u8]) -> Result<usize, Self::Error> {
        let full = self.exchange(command)?;
        match response.get_mut(..full.len()) {
            Some(out) => {
                out.copy_from_slice(&full);
                Ok(full.len())
            }
            None => Err(SimulatedError::ResponseTooLong {
                len: full.len(),
                capacity: response.len(),
            }),
        }
    }
}
