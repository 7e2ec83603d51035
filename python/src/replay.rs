//! Trace replay (`emv_trace`): the kernel must send exactly the recorded
//! commands and reach the recorded outcome; a difference comes back as the
//! decoded diff text of `emv-terminal replay`.

use std::path::PathBuf;

use emv_trace::replay::{self as trace_replay, Environment, Style};
use pyo3::prelude::*;

use crate::errors::{with_attributes, TraceError};
use crate::outcome::Outcome;

/// The result of replaying one trace.
#[pyclass(module = "emv_kernel", frozen, get_all)]
pub(crate) struct ReplayResult {
    /// The trace file.
    path: PathBuf,
    /// Whether the kernel matched the trace exactly.
    passed: bool,
    /// `not passed`.
    failed: bool,
    /// The explanation of the first difference (empty when passed).
    diff: String,
    /// The kernel's outcome, when the transaction finished.
    outcome: Option<Py<Outcome>>,
}

#[pymethods]
impl ReplayResult {
    fn __bool__(&self) -> bool {
        self.passed
    }

    fn __repr__(&self) -> String {
        format!(
            "ReplayResult({:?}, passed={})",
            self.path.display().to_string(),
            self.passed
        )
    }
}

/// Replays the trace file at `path`. Relative `config file` / `capk file`
/// paths in the trace start from its folder; `capk_txt` (capk.txt text), when
/// given, replaces the trace's CA key source.
#[pyfunction]
#[pyo3(signature = (path, capk_txt=None))]
fn replay(py: Python<'_>, path: PathBuf, capk_txt: Option<String>) -> PyResult<ReplayResult> {
    let text = std::fs::read_to_string(&path).map_err(|e| {
        with_attributes::<TraceError>(
            py,
            format!("{}: {e}", path.display()),
            &[(
                "line",
                0usize
                    .into_pyobject(py)
                    .map(|o| o.into_any().unbind())
                    .unwrap_or_else(|_| py.None()),
            )],
        )
    })?;
    let trace = emv_trace::format::parse(&text).map_err(|e| {
        let line = e
            .line
            .into_pyobject(py)
            .map(|o| o.into_any().unbind())
            .unwrap_or_else(|_| py.None());
        with_attributes::<TraceError>(
            py,
            format!("{}: line {}: {}", path.display(), e.line, e.message),
            &[("line", line)],
        )
    })?;
    let mut environment = Environment::for_file(&path);
    environment.capk_override = capk_txt;
    let replayed = py.detach(|| trace_replay::replay(&trace, &environment));
    let diff = replayed
        .failure
        .as_ref()
        .map(|failure| trace_replay::render_failure(failure, Style { color: false }))
        .unwrap_or_default();
    let outcome = replayed
        .outcome
        .as_ref()
        .map(|o| Py::new(py, Outcome::from_kernel(py, o)))
        .transpose()?;
    Ok(ReplayResult {
        path,
        passed: replayed.passed(),
        failed: !replayed.passed(),
        diff,
        outcome,
    })
}

pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<ReplayResult>()?;
    m.add_function(wrap_pyfunction!(replay, m)?)?;
    Ok(())
}
