//! `decode(data)`: BER-TLV as a tree of dicts with tag names, formats,
//! decoded values and bit fields, from the kernel's `tlv`, `dictionary` and
//! `render` modules (the same output as `emv-terminal decode --json`, plus
//! the raw value bytes).

use emv_kernel::dictionary;
use emv_kernel::render;
use emv_kernel::tlv::{self, ErrorKind, Tlv};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyList};

use crate::errors::{with_attributes, TlvError};

/// A stable snake_case name of what was wrong.
fn kind_code(kind: ErrorKind) -> &'static str {
    match kind {
        ErrorKind::TruncatedTag => "truncated_tag",
        ErrorKind::TruncatedLength => "truncated_length",
        ErrorKind::LengthBeyondInput => "length_beyond_input",
        ErrorKind::TagTooLong => "tag_too_long",
        ErrorKind::LengthTooLong => "length_too_long",
        ErrorKind::NestingTooDeep => "nesting_too_deep",
        ErrorKind::TrailingGarbage => "trailing_garbage",
    }
}

/// The Python exception for a TLV error: the kernel's message, `offset` and `kind`.
pub(crate) fn tlv_error(py: Python<'_>, error: tlv::Error) -> PyErr {
    with_attributes::<TlvError>(
        py,
        format!("malformed TLV: {error}"),
        &[
            (
                "offset",
                error
                    .offset
                    .into_pyobject(py)
                    .map(|o| o.into_any().unbind())
                    .unwrap_or_else(|_| py.None()),
            ),
            (
                "kind",
                kind_code(error.kind)
                    .into_pyobject(py)
                    .map(|o| o.into_any().unbind())
                    .unwrap_or_else(|_| py.None()),
            ),
        ],
    )
}

/// What a data object decodes to, before it becomes a dict.
struct Node {
    tag: String,
    name: &'static str,
    format: Option<&'static str>,
    offset: usize,
    data: Vec<u8>,
    value: Option<String>,
    details: Vec<String>,
    children: Option<Vec<Node>>,
}

fn node(object: &Tlv<'_>) -> Result<Node, tlv::Error> {
    let element = dictionary::lookup(object.tag);
    let mut node = Node {
        tag: object.tag.to_string(),
        name: element.map_or("Unknown", |e| e.name),
        format: element.map(|e| e.format.code()),
        offset: object.offset,
        data: object.value.to_vec(),
        value: None,
        details: Vec::new(),
        children: None,
    };
    if object.is_constructed() {
        let mut children = Vec::new();
        for child in object.children() {
            children.push(self::node(&child?)?);
        }
        node.children = Some(children);
        return Ok(node);
    }
    node.value = Some(
        render::Value {
            tag: object.tag,
            value: object.value,
        }
        .to_string(),
    );
    let _ = render::for_each_detail(object.tag, object.value, |line| {
        node.details.push(line.to_string());
        Ok(())
    });
    if let Some(e) = element.filter(|e| !e.length_ok(object.value.len())) {
        let expected = if e.min_len == e.max_len {
            format!("{}", e.min_len)
        } else {
            format!("{} to {}", e.min_len, e.max_len)
        };
        node.details.push(format!(
            "Unexpected length: {} bytes, the dictionary says {expected}",
            object.value.len()
        ));
    }
    Ok(node)
}

fn decode_nodes(data: &[u8]) -> Result<Vec<Node>, tlv::Error> {
    tlv::iter(data)
        .map(|item| item.and_then(|object| node(&object)))
        .collect()
}

fn to_dict<'py>(py: Python<'py>, node: &Node) -> PyResult<Bound<'py, PyDict>> {
    let dict = PyDict::new(py);
    dict.set_item("tag", &node.tag)?;
    dict.set_item("name", node.name)?;
    dict.set_item("format", node.format)?;
    dict.set_item("offset", node.offset)?;
    dict.set_item("length", node.data.len())?;
    dict.set_item("constructed", node.children.is_some())?;
    dict.set_item("data", PyBytes::new(py, &node.data))?;
    dict.set_item("hex", hex::encode_upper(&node.data))?;
    dict.set_item("value", node.value.as_deref())?;
    dict.set_item("details", PyList::new(py, &node.details)?)?;
    let children = PyList::empty(py);
    for child in node.children.iter().flatten() {
        children.append(to_dict(py, child)?)?;
    }
    dict.set_item("children", children)?;
    Ok(dict)
}

fn write_tree(out: &mut String, nodes: &[Node], depth: usize) {
    use std::fmt::Write as _;
    for n in nodes {
        let indent = "  ".repeat(depth);
        let _ = write!(out, "{indent}{} {}", n.tag, n.name);
        if let Some(value) = &n.value {
            match n.format {
                Some(format) => {
                    let _ = write!(out, " [{format} {}]", n.data.len());
                }
                None => {
                    let _ = write!(out, " [{}]", n.data.len());
                }
            }
            if n.data.is_empty() {
                out.push(':');
            } else {
                let _ = write!(out, ": {value}");
            }
        }
        out.push('\n');
        for line in &n.details {
            let _ = writeln!(out, "{indent}    {line}");
        }
        if let Some(children) = &n.children {
            write_tree(out, children, depth + 1);
        }
    }
}

/// Decodes BER-TLV into a list of dicts (one per top-level object).
#[pyfunction]
fn decode<'py>(py: Python<'py>, data: Vec<u8>) -> PyResult<Bound<'py, PyList>> {
    let nodes = decode_nodes(&data).map_err(|error| tlv_error(py, error))?;
    let list = PyList::empty(py);
    for n in &nodes {
        list.append(to_dict(py, n)?)?;
    }
    Ok(list)
}

/// Decodes BER-TLV into the indented text tree of `emv-terminal decode`.
#[pyfunction]
fn decode_text(py: Python<'_>, data: Vec<u8>) -> PyResult<String> {
    let nodes = decode_nodes(&data).map_err(|error| tlv_error(py, error))?;
    let mut out = String::new();
    write_tree(&mut out, &nodes, 0);
    Ok(out)
}

pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(decode, m)?)?;
    m.add_function(wrap_pyfunction!(decode_text, m)?)?;
    Ok(())
}
