//! Export of journal records as CSV or JSON (masked PAN only, never the sealed fields).

use std::io::Write;

use serde_json::{json, Value};

use super::record::{Record, RecordId};
use super::{Journal, JournalError};

/// Output format of `journal export`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// RFC 4180 CSV with a header line.
    Csv,
    /// One JSON array of record objects.
    Json,
}

/// Records read per database query while exporting.
const PAGE: usize = 500;

const CSV_HEADER: &[&str] = &[
    "id",
    "idempotency_key",
    "state",
    "mode",
    "created_at",
    "completed_at",
    "amount_authorised",
    "amount_other",
    "currency_code",
    "transaction_type",
    "transaction_date",
    "transaction_time",
    "aid",
    "masked_pan",
    "pan_sequence_number",
    "atc",
    "authorisation_response_code",
    "cryptogram_information_data",
    "application_cryptogram",
    "tvr",
    "tsi",
    "cvm_results",
    "icc_data",
    "forced_online_reason",
    "chain_seq",
    "sync_state",
    "synced_at",
    "shown",
    "shown_at",
];

/// Formats unix seconds as RFC 3339 UTC.
pub fn rfc3339(unix: i64) -> String {
    let time = u64::try_from(unix)
        .ok()
        .map(|s| std::time::UNIX_EPOCH + std::time::Duration::from_secs(s));
    match time {
        Some(t) => humantime::format_rfc3339_seconds(t).to_string(),
        None => unix.to_string(),
    }
}

/// The version of the JSON contract of journal records, `journal status --json` and
/// `sync --json` (`docs/schema/journal-record.schema.json`,
/// `journal-status.schema.json`, `sync.schema.json`). It counts changes of the printed
/// JSON, not of the database file (that is `journal_schema_version`).
pub const JSON_SCHEMA_VERSION: u32 = 1;

/// The Authorisation Response Code (8A, format an 2, Book 3 Annex A) as its two
/// characters, the way every JSON output spells it (`"Y1"`, `"00"`). A byte outside
/// the an 2 range is kept as the character of the same value (ISO 8859-1), so no two
/// codes print alike.
pub fn arc_text(code: &[u8]) -> String {
    code.iter().map(|&b| char::from(b)).collect()
}

/// A numeric ISO 4217 currency or ISO 3166 country code as its three digits (`"978"`,
/// `"056"`), the way every JSON output spells it.
pub fn numeric_code_text(code: u16) -> String {
    format!("{code:03}")
}

fn opt_hex<T: AsRef<[u8]>>(value: &Option<T>) -> Value {
    value
        .as_ref()
        .map_or(Value::Null, |v| Value::String(hex::encode_upper(v)))
}

/// A record as a JSON object (no sealed fields).
pub fn record_json(record: &Record) -> Value {
    json!({
        "schema_version": JSON_SCHEMA_VERSION,
        "id": record.id.0,
        "idempotency_key": record.idempotency_key,
        "state": record.state.as_str(),
        "mode": record.mode.map(|m| m.as_str()),
        "created_at": rfc3339(record.created_at),
        "completed_at": record.completed_at.map(rfc3339),
        "amount_authorised": record.amount_authorised,
        "amount_other": record.amount_other,
        "currency_code": numeric_code_text(record.currency_code),
        "transaction_type": record.transaction_type,
        "transaction_date": hex::encode(record.transaction_date),
        "transaction_time": hex::encode(record.transaction_time),
        "aid": hex::encode_upper(&record.aid),
        "masked_pan": record.masked_pan,
        "pan_sequence_number": record.pan_sequence_number,
        "atc": record.atc,
        "authorisation_response_code": record.authorisation_response_code.map(|c| arc_text(&c)),
        "cryptogram_information_data": record.cryptogram_information_data.map(|c| format!("{c:02X}")),
        "application_cryptogram": opt_hex(&record.application_cryptogram),
        "tvr": opt_hex(&record.tvr),
        "tsi": opt_hex(&record.tsi),
        "cvm_results": opt_hex(&record.cvm_results),
        "icc_data": hex::encode_upper(&record.icc_data),
        "forced_online_reason": record.forced_online_reason,
        "key_id": record.key_id,
        "chain_seq": record.chain_seq,
        // snake_case like every other JSON value (the database keeps its own spelling).
        "sync_state": record.sync_state.as_str().replace('-', "_"),
        "synced_at": record.synced_at.map(rfc3339),
        "receipt": record.receipt.as_deref().and_then(|r| serde_json::from_str::<Value>(r).ok()),
        "shown": record.shown.map(|by| by.as_str()),
        "shown_at": record.shown_at.map(rfc3339),
    })
}

fn csv_field(value: &Value) -> String {
    let text = match value {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text
    }
}

fn io(e: std::io::Error) -> JournalError {
    JournalError::Io {
        path: "<export output>".into(),
        source: e,
    }
}

/// Writes every record in id order; `progress` is called with the number written so far.
/// Returns the number of records written.
pub fn export(
    journal: &Journal,
    format: Format,
    out: &mut dyn Write,
    progress: &mut dyn FnMut(u64),
) -> Result<u64, JournalError> {
    let mut written = 0u64;
    let mut after = RecordId(0);
    match format {
        Format::Csv => writeln!(out, "{}", CSV_HEADER.join(",")).map_err(io)?,
        Format::Json => write!(out, "[").map_err(io)?,
    }
    loop {
        let page = journal.records_after(after, PAGE)?;
        let Some(last) = page.last() else { break };
        after = last.id;
        for record in &page {
            let value = record_json(record);
            match format {
                Format::Csv => {
                    let line: Vec<String> = CSV_HEADER
                        .iter()
                        .map(|name| csv_field(value.get(*name).unwrap_or(&Value::Null)))
                        .collect();
                    writeln!(out, "{}", line.join(",")).map_err(io)?;
                }
                Format::Json => {
                    let sep = if written == 0 { "\n" } else { ",\n" };
                    write!(out, "{sep}{value}").map_err(io)?;
                }
            }
            written += 1;
        }
        progress(written);
    }
    if format == Format::Json {
        writeln!(out, "\n]").map_err(io)?;
    }
    out.flush().map_err(io)?;
    Ok(written)
}

/// `sync --json`: what one sync run did (one line per round with `--every`).
pub fn sync_json(report: &crate::sync::SyncReport) -> Value {
    json!({
        "schema_version": JSON_SCHEMA_VERSION,
        "acknowledged": report.acknowledged,
        "duplicates": report.duplicates,
        "bad_receipts": report.bad_receipts,
        "requests": report.requests,
        "retries": report.retries,
        "remaining": report.remaining,
    })
}

/// `journal status --json`: the status with the journal's path and the offline limit
/// reached (if any), times in RFC 3339.
pub fn status_json(
    status: &crate::JournalStatus,
    path: &std::path::Path,
    limit_reached: Option<crate::limits::LimitReason>,
) -> Value {
    json!({
        "schema_version": JSON_SCHEMA_VERSION,
        "journal_schema_version": status.schema_version,
        "journal": path,
        "terminal_id": status.terminal_id,
        "records": status.records,
        "pending": status.pending,
        "approved": status.approved,
        "declined": status.declined,
        "terminated": status.terminated,
        "incomplete": status.incomplete,
        "unsynced": status.unsynced,
        "offline_exposure": {
            "count": status.offline_exposure.count,
            "total_amount": status.offline_exposure.total_amount,
            "oldest_created_at": status.offline_exposure.oldest_created_at.map(rfc3339),
        },
        "offline_limit_reached": limit_reached,
        "last_successful_sync": status.last_successful_sync.map(rfc3339),
        "key_ids": status.key_ids,
        "chain_head": status.chain_head,
        "unshown": status.unshown,
        "unshown_approvals": status.unshown_approvals.iter().map(|a| json!({
            "id": a.id,
            "amount_authorised": a.amount_authorised,
            "amount_other": a.amount_other,
            "currency_code": numeric_code_text(a.currency_code),
            "masked_pan": a.masked_pan,
            "completed_at": a.completed_at.map(rfc3339),
        })).collect::<Vec<_>>(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_fields_are_quoted_when_needed() {
        assert_eq!(csv_field(&json!("a,b")), "\"a,b\"");
        assert_eq!(csv_field(&json!("say \"hi\"")), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_field(&json!(12)), "12");
        assert_eq!(csv_field(&Value::Null), "");
    }

    #[test]
    fn formats_unix_time_as_rfc3339() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(1_700_000_000), "2023-11-14T22:13:20Z");
    }
}
