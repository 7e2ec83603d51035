//! `emv-terminal readers`: lists the PC/SC readers, whether a card is in
//! each, and the card's ATR decoded in brief.

use std::error::Error;
use std::fmt::Write as _;
use std::io::Write as _;
use std::process::ExitCode;
use std::time::Duration;

use emv_pcsc::atr::{hex_upper, Atr};
use emv_pcsc::{Pcsc, Reader, ReaderSelector};

/// Arguments of `readers`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Wait up to this many seconds for a card in any reader before listing.
    #[arg(long, value_name = "SECONDS")]
    pub wait_card: Option<f64>,
    /// Print JSON (one object per reader) instead of text.
    #[arg(long)]
    pub json: bool,
}

/// Lists the readers; exits 1 when the PC/SC service is not running.
pub fn run(args: Args) -> Result<ExitCode, Box<dyn Error>> {
    let pcsc = Pcsc::establish()?;
    if let Some(seconds) = args.wait_card {
        let wait =
            Duration::try_from_secs_f64(seconds).map_err(|_| "--wait-card: not a duration")?;
        // A missing card is reported by the listing itself.
        let _ = pcsc.wait_for_card(&ReaderSelector::Auto, wait);
    }
    let readers = pcsc.readers()?;
    let text = if args.json {
        let list: Vec<serde_json::Value> = readers.iter().map(reader_json).collect();
        serde_json::to_string_pretty(&list)? + "\n"
    } else {
        render(&readers)
    };
    match std::io::stdout().lock().write_all(text.as_bytes()) {
        Err(error) if error.kind() != std::io::ErrorKind::BrokenPipe => Err(error.into()),
        _ => Ok(ExitCode::SUCCESS),
    }
}

/// The text listing: one block per reader.
pub fn render(readers: &[Reader]) -> String {
    if readers.is_empty() {
        return "no readers\n".to_owned();
    }
    let mut out = String::new();
    for reader in readers {
        let _ = writeln!(out, "{}", reader.name);
        let _ = writeln!(out, "  card: {}", card_state(reader));
        if let Some(atr) = &reader.atr {
            let _ = writeln!(out, "  ATR:  {}", hex_upper(atr));
            match Atr::parse(atr) {
                Ok(decoded) => {
                    let _ = writeln!(out, "        {decoded}");
                }
                Err(error) => {
                    let _ = writeln!(out, "        undecodable: {error}");
                }
            }
        }
    }
    out
}

fn card_state(reader: &Reader) -> &'static str {
    match (reader.card_present, reader.card_mute, reader.exclusive) {
        (false, _, _) => "none",
        (true, true, _) => "present, mute (no answer to reset)",
        (true, false, true) => "present, in exclusive use by another application",
        (true, false, false) => "present",
    }
}

fn reader_json(reader: &Reader) -> serde_json::Value {
    let decoded = reader.atr.as_deref().map(Atr::parse);
    serde_json::json!({
        "name": reader.name,
        "card_present": reader.card_present,
        "card_mute": reader.card_mute,
        "exclusive": reader.exclusive,
        "atr": reader.atr.as_deref().map(hex_upper),
        "atr_brief": decoded.as_ref().map(|d| match d {
            Ok(atr) => atr.to_string(),
            Err(error) => format!("undecodable: {error}"),
        }),
        "protocols": decoded.and_then(Result::ok).map(|atr| atr.protocols),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listing_shows_card_and_brief_atr() {
        let readers = vec![
            Reader {
                name: "Virtual PCD 00 00".into(),
                card_present: true,
                card_mute: false,
                exclusive: false,
                atr: Some(vec![0x3B, 0x02, 0x14, 0x50]),
            },
            Reader {
                name: "Virtual PCD 00 01".into(),
                card_present: false,
                card_mute: false,
                exclusive: false,
                atr: None,
            },
        ];
        assert_eq!(
            render(&readers),
            "Virtual PCD 00 00\n  card: present\n  ATR:  3B021450\n        direct convention, T=0, historical bytes 1450 \".P\"\nVirtual PCD 00 01\n  card: none\n"
        );
        assert_eq!(render(&[]), "no readers\n");
        let json = reader_json(&readers[0]);
        assert_eq!(json["protocols"], serde_json::json!([0]));
        assert_eq!(json["atr"], "3B021450");
    }
}
