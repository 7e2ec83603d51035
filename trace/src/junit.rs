//! The JUnit XML report of a replay run, for CI systems: one `testcase` per
//! trace, a `failure` with the rendered diff for each trace that failed.

use std::fmt::Write as _;

/// One replayed trace for the report.
#[derive(Clone, Debug)]
pub struct Case {
    /// The trace's path as given.
    pub name: String,
    /// Seconds the replay took.
    pub seconds: f64,
    /// The rendered failure (no colours), `None` when it passed.
    pub failure: Option<String>,
}

/// Escapes text for XML attributes and content.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            // XML 1.0 forbids most control characters, even escaped.
            c if (c as u32) < 0x20 && !matches!(c, '\n' | '\r' | '\t') => out.push('?'),
            c => out.push(c),
        }
    }
    out
}

/// The report for `cases` as a `testsuites` document.
pub fn report(suite: &str, cases: &[Case]) -> String {
    let failures = cases.iter().filter(|c| c.failure.is_some()).count();
    let total: f64 = cases.iter().map(|c| c.seconds).sum();
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        out,
        "<testsuites tests=\"{}\" failures=\"{failures}\" time=\"{total:.6}\">",
        cases.len()
    );
    let _ = writeln!(
        out,
        "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{failures}\" errors=\"0\" time=\"{total:.6}\">",
        escape(suite),
        cases.len()
    );
    for case in cases {
        let _ = write!(
            out,
            "    <testcase classname=\"{}\" name=\"{}\" time=\"{:.6}\"",
            escape(suite),
            escape(&case.name),
            case.seconds
        );
        match &case.failure {
            None => out.push_str("/>\n"),
            Some(text) => {
                let first = text.lines().next().unwrap_or("replay failed").trim();
                let _ = writeln!(
                    out,
                    ">\n      <failure message=\"{}\" type=\"replay\">{}</failure>\n    </testcase>",
                    escape(first),
                    escape(text)
                );
            }
        }
    }
    out.push_str("  </testsuite>\n</testsuites>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn report_escapes_and_counts() {
        let cases = [
            Case {
                name: "a.trace".into(),
                seconds: 0.5,
                failure: None,
            },
            Case {
                name: "b<&>.trace".into(),
                seconds: 0.25,
                failure: Some("  step 3: \"x\" & y\n".into()),
            },
        ];
        let xml = report("replay", &cases);
        assert!(xml.contains("tests=\"2\" failures=\"1\""));
        assert!(xml.contains("name=\"b&lt;&amp;&gt;.trace\""));
        assert!(xml.contains("message=\"step 3: &quot;x&quot; &amp; y\""));
        assert!(xml.contains("<testcase classname=\"replay\" name=\"a.trace\" time=\"0.500000\"/>"));
    }
}
