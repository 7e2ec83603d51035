//! Import of `pcsc-spy` logs (pcsc-lite's PC/SC call tracer) as traces.
//!
//! A user runs any PC/SC program (another terminal, a script) with the spy
//! library preloaded, keeps `pcsc-spy`'s output, and imports it: each
//! `SCardTransmit` call becomes an exchange. T=0 sequences the program made
//! itself (`61xx` then GET RESPONSE, `6Cxx` then the command again with the
//! right Le) are folded into one exchange, as our transport layer does.
//! Transaction inputs the log lacks are taken from the command line or read
//! back from the command data (PDOL data in GET PROCESSING OPTIONS, CDOL1
//! data in the first GENERATE AC).

use emv_kernel::config::TransactionInputs;
use emv_kernel::dol;
use emv_kernel::tlv::{self, Tag};

use super::format::{Event, Trace, TraceError};

/// One `SCardTransmit`: the command and the response, or the PC/SC error.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Exchange {
    /// The command APDU sent.
    pub command: Vec<u8>,
    /// The response (data and SW), or the error text of a failed call.
    pub response: Result<Vec<u8>, String>,
}

#[derive(PartialEq, Eq, Clone, Copy)]
enum Buffer {
    None,
    Send,
    Receive,
}

/// The hex bytes of a pcsc-spy dump line (` i  0000 00 A4 04 00 ...  ascii`):
/// the offset, then up to 16 bytes at fixed columns; `None` if not a dump line.
fn dump_bytes(line: &str) -> Option<Vec<u8>> {
    let body = line.trim_start();
    let body = body.strip_prefix(['i', 'o'])?.trim_start();
    let (offset, rest) = body.split_at_checked(4)?;
    if !offset.bytes().all(|b| b.is_ascii_hexdigit()) || !rest.starts_with(' ') {
        return None;
    }
    let mut bytes = Vec::new();
    for index in 0..16 {
        let start = 1 + 3 * index;
        let Some(pair) = rest.get(start..start + 2) else {
            break;
        };
        let separator_ok = rest.get(start + 2..start + 3).is_none_or(|s| s == " ");
        match u8::from_str_radix(pair, 16) {
            Ok(byte) if separator_ok && pair.bytes().all(|b| b.is_ascii_hexdigit()) => {
                bytes.push(byte)
            }
            _ => break,
        }
    }
    (!bytes.is_empty()).then_some(bytes)
}

/// Reads the `SCardTransmit` calls of a pcsc-spy log (with or without
/// colours, thread numbers or `--diffable`).
pub fn parse_log(text: &str) -> Result<Vec<Exchange>, TraceError> {
    let mut exchanges = Vec::new();
    let mut in_transmit = false;
    let mut buffer = Buffer::None;
    let mut command = Vec::new();
    let mut response = Vec::new();
    for raw in text.lines() {
        let line = strip_ansi(raw);
        let trimmed = line.trim();
        // A `--thread` log prefixes every line with the thread number.
        let call = trimmed.trim_start_matches(|c: char| c.is_ascii_digit() || c == ' ' || c == ':');
        if call.starts_with("SCardTransmit") {
            in_transmit = true;
            buffer = Buffer::None;
            command.clear();
            response.clear();
            continue;
        }
        if !in_transmit {
            continue;
        }
        if call.starts_with("=>") {
            let success = call.contains("SCARD_S_SUCCESS");
            exchanges.push(Exchange {
                command: std::mem::take(&mut command),
                response: if success {
                    Ok(std::mem::take(&mut response))
                } else {
                    Err(call.trim_start_matches("=>").trim().to_owned())
                },
            });
            in_transmit = false;
            continue;
        }
        if call.contains("SendBuffer") {
            buffer = Buffer::Send;
        } else if call.contains("RecvBuffer") {
            buffer = Buffer::Receive;
        } else if let Some(bytes) = dump_bytes(call) {
            match buffer {
                Buffer::Send => command.extend_from_slice(&bytes),
                Buffer::Receive => response.extend_from_slice(&bytes),
                Buffer::None => {}
            }
        } else if !call.starts_with(['i', 'o']) || call.contains(':') {
            // A named argument line (hCard, ioSendPci...): the dump ended.
            buffer = Buffer::None;
        }
    }
    let unfinished = exchanges.iter().filter(|e| e.command.is_empty()).count();
    if exchanges.is_empty() {
        return Err(TraceError {
            line: 0,
            message: "no SCardTransmit call with data in the log (was it written with pcsc-spy?)"
                .into(),
        });
    }
    if unfinished > 0 {
        return Err(TraceError {
            line: 0,
            message: format!("{unfinished} SCardTransmit call(s) without a command dump"),
        });
    }
    Ok(exchanges)
}

fn strip_ansi(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            // CSI: ESC [ parameters final-byte.
            for next in chars.by_ref() {
                if next.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// Folds the program's own T=0 handling (61xx + GET RESPONSE, 6Cxx + resend)
/// into single exchanges, as the kernel's transport sees them.
pub fn fold_t0(exchanges: &[Exchange]) -> Vec<Exchange> {
    let mut folded: Vec<Exchange> = Vec::new();
    for exchange in exchanges {
        let continues = folded.last().is_some_and(|last| match &last.response {
            Ok(r) if r.len() >= 2 => {
                let status = r.get(r.len() - 2).copied();
                let is_get_response = exchange.command.get(1) == Some(&0xC0);
                let same_header = exchange.command.get(..4) == last.command.get(..4);
                (status == Some(0x61) && is_get_response) || (status == Some(0x6C) && same_header)
            }
            _ => false,
        });
        match folded.last_mut() {
            Some(last) if continues => {
                let previous = match &last.response {
                    Ok(r) if r.get(r.len().saturating_sub(2)) == Some(&0x61) => {
                        r.get(..r.len() - 2).unwrap_or(&[]).to_vec()
                    }
                    _ => Vec::new(),
                };
                last.response = exchange.response.clone().map(|r| [previous, r].concat());
            }
            _ => folded.push(exchange.clone()),
        }
    }
    folded
}

/// Inputs given on the command line; `None` means "read from the log".
#[derive(Clone, Debug, Default)]
pub struct InputOverrides {
    /// Amount, Authorised (9F02), minor units.
    pub amount_authorised: Option<u64>,
    /// Amount, Other (9F03), minor units.
    pub amount_other: Option<u64>,
    /// Transaction Date (9A).
    pub date: Option<[u8; 3]>,
    /// Transaction Time (9F21).
    pub time: Option<[u8; 3]>,
    /// Unpredictable Number (9F37).
    pub unpredictable_number: Option<[u8; 4]>,
    /// Random-selection number (never in a log).
    pub random_selection_number: u8,
}

fn bcd_number(bytes: &[u8]) -> Option<u64> {
    bytes.iter().try_fold(0u64, |acc, byte| {
        let (high, low) = (u64::from(byte >> 4), u64::from(byte & 0x0F));
        (high <= 9 && low <= 9).then(|| acc * 100 + high * 10 + low)
    })
}

/// The terminal data the card asked for (its PDOL and CDOL1 from the
/// responses) as sent in GET PROCESSING OPTIONS and the first GENERATE AC.
pub fn terminal_data_sent(exchanges: &[Exchange]) -> Vec<(Tag, Vec<u8>)> {
    let card_value = |tag: Tag| {
        exchanges.iter().find_map(|e| {
            let response = e.response.as_ref().ok()?;
            let data = response.get(..response.len().saturating_sub(2))?;
            tlv::find(data, tag).map(<[u8]>::to_vec)
        })
    };
    let command_data = |command: &[u8]| -> Vec<u8> {
        let length = command.get(4).map_or(0, |lc| usize::from(*lc));
        command.get(5..5 + length).unwrap_or(&[]).to_vec()
    };
    let mut found = Vec::new();
    let mut split = |dol_bytes: Option<Vec<u8>>, data: &[u8]| {
        let Some(dol_bytes) = dol_bytes else { return };
        let mut rest = data;
        for entry in dol::entries(&dol_bytes) {
            let Ok(entry) = entry else { return };
            let Some((value, tail)) = rest.split_at_checked(entry.length) else {
                return;
            };
            found.push((entry.tag, value.to_vec()));
            rest = tail;
        }
    };
    if let Some(gpo) = exchanges
        .iter()
        .find(|e| e.command.starts_with(&[0x80, 0xA8]))
    {
        let data = command_data(&gpo.command);
        // GPO data is template 83 around the PDOL data.
        let pdol_data = tlv::find(&data, Tag(0x83))
            .map(<[u8]>::to_vec)
            .unwrap_or_default();
        split(card_value(Tag(0x9F38)), &pdol_data);
    }
    if let Some(generate_ac) = exchanges
        .iter()
        .find(|e| e.command.starts_with(&[0x80, 0xAE]))
    {
        split(card_value(Tag(0x8C)), &command_data(&generate_ac.command));
    }
    found
}

/// Builds the trace of an imported log: exchanges folded, inputs from the
/// overrides or the command data. Returns notes on where each input came from.
/// Masking (`masked`) needs a replay and is done by the caller.
pub fn to_trace(
    exchanges: &[Exchange],
    overrides: &InputOverrides,
    source: &str,
) -> (Trace, Vec<String>) {
    let folded = fold_t0(exchanges);
    let sent = terminal_data_sent(&folded);
    let value = |tag: u32| {
        sent.iter()
            .find(|(t, _)| *t == Tag(tag))
            .map(|(_, v)| v.clone())
    };
    let mut notes = Vec::new();
    let mut inputs = TransactionInputs {
        random_selection_number: overrides.random_selection_number,
        ..crate::format::DEFAULT_INPUTS
    };
    let mut take = |name: &str,
                    given: bool,
                    from_log: Option<Vec<u8>>,
                    apply: &mut dyn FnMut(&[u8]) -> bool| {
        if given {
            notes.push(format!("{name}: from the command line"));
        } else if let Some(bytes) = from_log.filter(|b| apply(b)) {
            notes.push(format!(
                "{name}: {} from the command data",
                hex::encode_upper(bytes)
            ));
        } else {
            notes.push(format!("{name}: not in the log, default used"));
        }
    };
    take(
        "amount",
        overrides.amount_authorised.is_some(),
        value(0x9F02),
        &mut |b| {
            bcd_number(b)
                .map(|n| inputs.amount_authorised = n)
                .is_some()
        },
    );
    take(
        "other amount",
        overrides.amount_other.is_some(),
        value(0x9F03),
        &mut |b| bcd_number(b).map(|n| inputs.amount_other = n).is_some(),
    );
    take("date", overrides.date.is_some(), value(0x9A), &mut |b| {
        <[u8; 3]>::try_from(b).map(|d| inputs.date = d).is_ok()
    });
    take("time", overrides.time.is_some(), value(0x9F21), &mut |b| {
        <[u8; 3]>::try_from(b).map(|t| inputs.time = t).is_ok()
    });
    take(
        "unpredictable number",
        overrides.unpredictable_number.is_some(),
        value(0x9F37),
        &mut |b| {
            <[u8; 4]>::try_from(b)
                .map(|u| inputs.unpredictable_number = u)
                .is_ok()
        },
    );
    take("transaction type", false, value(0x9C), &mut |b| {
        b.first().map(|t| inputs.transaction_type = *t).is_some()
    });
    take("currency", false, value(0x5F2A), &mut |b| {
        <[u8; 2]>::try_from(b)
            .map(|c| inputs.currency_code = c)
            .is_ok()
    });
    inputs.amount_authorised = overrides
        .amount_authorised
        .unwrap_or(inputs.amount_authorised);
    inputs.amount_other = overrides.amount_other.unwrap_or(inputs.amount_other);
    inputs.date = overrides.date.unwrap_or(inputs.date);
    inputs.time = overrides.time.unwrap_or(inputs.time);
    inputs.unpredictable_number = overrides
        .unpredictable_number
        .unwrap_or(inputs.unpredictable_number);
    let mut trace = Trace::new(inputs);
    trace.source = Some(source.to_owned());
    for exchange in &folded {
        let verify = super::record::is_verify(&exchange.command) && exchange.command.len() > 5;
        trace.events.push(Event::Command {
            apdu: if verify {
                exchange.command.get(..5).unwrap_or(&[]).to_vec()
            } else {
                exchange.command.clone()
            },
            withheld: verify,
        });
        trace.events.push(match &exchange.response {
            Ok(response) if response.len() >= 2 => Event::Response(response.clone()),
            _ => Event::TransportError,
        });
    }
    (trace, notes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folds_get_response_and_wrong_length() {
        let exchanges = vec![
            Exchange {
                command: vec![0x00, 0xA4, 0x04, 0x00, 0x02, 0xA0, 0x00, 0x00],
                response: Ok(vec![0x61, 0x03]),
            },
            Exchange {
                command: vec![0x00, 0xC0, 0x00, 0x00, 0x03],
                response: Ok(vec![0x6F, 0x01, 0x00, 0x90, 0x00]),
            },
            Exchange {
                command: vec![0x00, 0xB2, 0x01, 0x0C, 0x00],
                response: Ok(vec![0x6C, 0x02]),
            },
            Exchange {
                command: vec![0x00, 0xB2, 0x01, 0x0C, 0x02],
                response: Ok(vec![0x70, 0x00, 0x90, 0x00]),
            },
        ];
        let folded = fold_t0(&exchanges);
        assert_eq!(folded.len(), 2);
        assert_eq!(folded[0].response, Ok(vec![0x6F, 0x01, 0x00, 0x90, 0x00]));
        assert_eq!(folded[1].command, vec![0x00, 0xB2, 0x01, 0x0C, 0x00]);
        assert_eq!(folded[1].response, Ok(vec![0x70, 0x00, 0x90, 0x00]));
    }

    #[test]
    fn dump_line_columns() {
        assert_eq!(
            dump_bytes(" i  0000 00 A4 04 00 02 41 42  ....AB"),
            Some(vec![0x00, 0xA4, 0x04, 0x00, 0x02, 0x41, 0x42])
        );
        assert_eq!(dump_bytes(" i hCard: 0x1234"), None);
    }
}
