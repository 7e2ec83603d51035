//! BER-TLV as EMV uses it (Book 3, Annex B): a zero-copy reader and a writer.
//!
//! The reader hands out borrowed views ([`Tlv`]) into the caller's buffer and
//! never copies. Every malformed input is an [`Error`] with the byte offset
//! where it was found; nothing here can panic on any input.
//!
//! EMV habits the reader accepts: tags of one to three bytes, lengths in the
//! short form and the `81`, `82` and `83` long forms (non-minimal long forms
//! included, as cards send them), and `00` or `FF` padding bytes before,
//! between and after objects.

use crate::limits::TLV_MAX_DEPTH;

/// A BER-TLV tag: its bytes read as a big-endian number (`9F02`, `5A`, `BF0C`).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Tag(pub u32);

impl Tag {
    /// How many bytes the tag takes when encoded (1 to 3; 4 only for
    /// values no reader produced).
    pub const fn len(self) -> usize {
        match self.0 {
            0..=0xFF => 1,
            0x100..=0xFFFF => 2,
            0x1_0000..=0xFF_FFFF => 3,
            _ => 4,
        }
    }

    /// Whether this is the zero tag (never a valid EMV tag).
    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The first (leading) byte of the tag.
    pub const fn first_byte(self) -> u8 {
        (self.0 >> (8 * (self.len() as u32 - 1))) as u8
    }

    /// Whether the tag denotes a constructed object (b6 of the first byte).
    pub const fn is_constructed(self) -> bool {
        self.first_byte() & 0x20 != 0
    }

    /// The class of the tag (b8-b7 of the first byte): 0 universal,
    /// 1 application, 2 context-specific, 3 private.
    pub const fn class(self) -> u8 {
        self.first_byte() >> 6
    }
}

impl core::fmt::Debug for Tag {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "Tag({self})")
    }
}

impl core::fmt::Display for Tag {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self.len() {
            1 => write!(f, "{:02X}", self.0),
            2 => write!(f, "{:04X}", self.0),
            3 => write!(f, "{:06X}", self.0),
            _ => write!(f, "{:08X}", self.0),
        }
    }
}

/// What was wrong with the input.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// The input ended inside a tag.
    TruncatedTag,
    /// The input ended inside a length.
    TruncatedLength,
    /// The length says more bytes than the input (or template) holds.
    LengthBeyondInput,
    /// A tag of more than three bytes.
    TagTooLong,
    /// A length form EMV does not use: indefinite (`80`) or more than three
    /// length bytes (`84` and up).
    LengthTooLong,
    /// Templates nested deeper than [`TLV_MAX_DEPTH`].
    NestingTooDeep,
    /// Bytes after the object that are neither an object nor padding.
    TrailingGarbage,
}

/// A malformed input: what was wrong and at which byte offset.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Error {
    /// What was wrong.
    pub kind: ErrorKind,
    /// Offset from the start of the buffer given to the reader.
    pub offset: usize,
}

impl core::fmt::Display for Error {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let what = match self.kind {
            ErrorKind::TruncatedTag => "truncated tag",
            ErrorKind::TruncatedLength => "truncated length",
            ErrorKind::LengthBeyondInput => "length beyond the input",
            ErrorKind::TagTooLong => "tag longer than three bytes",
            ErrorKind::LengthTooLong => "unsupported length form",
            ErrorKind::NestingTooDeep => "templates nested too deep",
            ErrorKind::TrailingGarbage => "trailing garbage",
        };
        write!(f, "{what} at offset {}", self.offset)
    }
}

impl core::error::Error for Error {}

/// A header that does not read: the error and its offset from the object's
/// first byte.
type HeaderError = (ErrorKind, usize);

/// Reads one object's header from `input` (which starts at a tag): the tag,
/// the header's length and the value's length. Hand-written for speed: every
/// byte of every card response goes through it (README, "Measured").
///
/// Book 3, Annex B1: a tag continues while the low five bits of the first
/// byte are all set, then while b8 of each subsequent byte is set (at most
/// three bytes here). Annex B2: a length is short below `80`, else `81` to
/// `83` followed by one to three bytes. Errors point at the tag's first byte
/// for the tag, and at the length's first byte for the length.
#[inline(always)]
fn header(input: &[u8]) -> Result<(Tag, usize, usize), HeaderError> {
    let Some(&first) = input.first() else {
        return Err((ErrorKind::TruncatedTag, 0));
    };
    let (tag, tag_len) = if first & 0x1F != 0x1F {
        (u32::from(first), 1)
    } else {
        match input.get(1..) {
            Some(&[second, ..]) if second & 0x80 == 0 => {
                ((u32::from(first) << 8) | u32::from(second), 2)
            }
            Some(&[second, third, ..]) if third & 0x80 == 0 => (
                (u32::from(first) << 16) | (u32::from(second) << 8) | u32::from(third),
                3,
            ),
            Some(&[_, _, ..]) => return Err((ErrorKind::TagTooLong, 0)),
            _ => return Err((ErrorKind::TruncatedTag, 0)),
        }
    };
    let Some(&length_first) = input.get(tag_len) else {
        return Err((ErrorKind::TruncatedLength, tag_len));
    };
    if length_first < 0x80 {
        return Ok((Tag(tag), tag_len + 1, usize::from(length_first)));
    }
    let count = usize::from(length_first & 0x7F);
    if count == 0 || count > 3 {
        return Err((ErrorKind::LengthTooLong, tag_len));
    }
    let Some(bytes) = input.get(tag_len + 1..tag_len + 1 + count) else {
        return Err((ErrorKind::TruncatedLength, tag_len));
    };
    let length = bytes
        .iter()
        .fold(0usize, |value, byte| (value << 8) | usize::from(*byte));
    Ok((Tag(tag), tag_len + 1 + count, length))
}

/// Whether a byte is padding between objects (Book 3, Annex B).
const fn is_padding(byte: u8) -> bool {
    byte == 0x00 || byte == 0xFF
}

/// One BER-TLV data object, borrowed from the buffer it was read from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Tlv<'a> {
    /// The tag.
    pub tag: Tag,
    /// The value bytes.
    pub value: &'a [u8],
    /// Offset of the tag's first byte from the start of the reader's input.
    pub offset: usize,
    /// The whole object: tag, length and value.
    pub raw: &'a [u8],
    /// How many templates enclose this object (0 at the top level).
    depth: usize,
}

impl<'a> Tlv<'a> {
    /// Iterates the objects inside a constructed value.
    ///
    /// Yields [`ErrorKind::NestingTooDeep`] instead when the object is already
    /// at the deepest level the kernel follows.
    pub fn children(&self) -> Iter<'a> {
        let header = self.raw.len().saturating_sub(self.value.len());
        Iter {
            data: self.value,
            position: 0,
            base: self.offset.saturating_add(header),
            depth: self.depth.saturating_add(1),
            done: false,
        }
    }

    /// Whether the object is a constructed template (b6 of the tag's first
    /// byte, read from the object itself).
    #[inline]
    pub fn is_constructed(&self) -> bool {
        self.raw.first().is_some_and(|b| b & 0x20 != 0)
    }
}

/// A lazy iterator over a sequence of data objects, skipping padding.
///
/// It yields each object in turn and stops after the first error.
#[derive(Clone, Debug)]
pub struct Iter<'a> {
    data: &'a [u8],
    position: usize,
    base: usize,
    depth: usize,
    done: bool,
}

impl<'a> Iterator for Iter<'a> {
    type Item = Result<Tlv<'a>, Error>;

    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let mut start = self.position;
        // Padding (00 or FF) between objects, Book 3, Annex B.
        while self.data.get(start).is_some_and(|b| is_padding(*b)) {
            start += 1;
        }
        let Some(input) = self.data.get(start..).filter(|rest| !rest.is_empty()) else {
            self.done = true;
            return None;
        };
        if self.depth > TLV_MAX_DEPTH {
            self.done = true;
            return Some(Err(Error {
                kind: ErrorKind::NestingTooDeep,
                offset: self.base.saturating_sub(1),
            }));
        }
        let failed = |kind, at: usize| Error {
            kind,
            offset: self.base.saturating_add(start).saturating_add(at),
        };
        match header(input) {
            Ok((tag, header_len, value_len)) => {
                let used = header_len.saturating_add(value_len);
                let (Some(raw), Some(value)) = (input.get(..used), input.get(header_len..used))
                else {
                    self.done = true;
                    return Some(Err(failed(ErrorKind::LengthBeyondInput, 0)));
                };
                self.position = start + used;
                Some(Ok(Tlv {
                    tag,
                    value,
                    offset: self.base.saturating_add(start),
                    raw,
                    depth: self.depth,
                }))
            }
            Err((kind, at)) => {
                self.done = true;
                Some(Err(failed(kind, at)))
            }
        }
    }
}

/// Iterates the data objects of a buffer at the top level.
pub fn iter(data: &[u8]) -> Iter<'_> {
    Iter {
        data,
        position: 0,
        base: 0,
        depth: 0,
        done: false,
    }
}

/// Reads exactly one data object (padding after it is allowed), as in a
/// response APDU that must hold a single template.
pub fn parse_single(data: &[u8]) -> Result<Tlv<'_>, Error> {
    let mut objects = iter(data);
    let first = match objects.next() {
        Some(result) => result?,
        None => {
            return Err(Error {
                kind: ErrorKind::TruncatedTag,
                offset: data.len(),
            })
        }
    };
    match objects.next() {
        None => Ok(first),
        Some(Ok(extra)) => Err(Error {
            kind: ErrorKind::TrailingGarbage,
            offset: extra.offset,
        }),
        Some(Err(e)) => Err(Error {
            kind: ErrorKind::TrailingGarbage,
            offset: e.offset,
        }),
    }
}

/// Finds the first object with `tag`, searching depth-first through
/// constructed templates; `Ok(None)` when absent from a well-formed input.
///
/// Errors met before the tag is found are returned.
pub fn find_tlv(data: &[u8], tag: Tag) -> Result<Option<Tlv<'_>>, Error> {
    let mut walk = Walk::new(data);
    while let Some(item) = walk.next_object() {
        let tlv = item?;
        if tlv.tag == tag {
            return Ok(Some(tlv));
        }
    }
    Ok(None)
}

/// The value of the first object with `tag` anywhere in `data`, or `None`
/// when it is absent or the input is malformed before it.
pub fn find(data: &[u8], tag: Tag) -> Option<&[u8]> {
    find_tlv(data, tag).ok().flatten().map(|t| t.value)
}

/// Checks that the whole tree is well formed.
pub fn validate(data: &[u8]) -> Result<(), Error> {
    // The fast scan accepts exactly what the walk accepts; on any failure
    // the walk runs to name the error and its offset (card responses are
    // nearly always well formed, so the walk rarely runs).
    if scan(data) {
        return Ok(());
    }
    let mut walk = Walk::new(data);
    while let Some(item) = walk.next_object() {
        item?;
    }
    Ok(())
}

/// Whether `data` is a well-formed sequence of objects under the rules of
/// [`Walk`] (padding between objects, values within their template, at most
/// [`TLV_MAX_DEPTH`] enclosing templates): the walk without its iterators,
/// one loop over the headers with a stack of template ends. Only says yes or
/// no; [`validate`] asks the walk for the error.
#[inline]
fn scan(data: &[u8]) -> bool {
    // ends[d]: where the level d ends (level 0, the whole input).
    let mut ends = [0usize; TLV_MAX_DEPTH + 1];
    let mut depth = 0usize;
    ends[0] = data.len();
    let mut position = 0usize;
    loop {
        let end = ends[depth.min(TLV_MAX_DEPTH)];
        if position >= end {
            if depth == 0 {
                return true;
            }
            depth -= 1;
            continue;
        }
        let Some(level) = data.get(position..end) else {
            return false;
        };
        let Some(&first) = level.first() else {
            return false;
        };
        if is_padding(first) {
            position += 1;
            continue;
        }
        let Ok((_, header_len, value_len)) = header(level) else {
            return false;
        };
        let Some(value_end) = header_len
            .checked_add(value_len)
            .filter(|used| *used <= level.len())
            .map(|used| position + used)
        else {
            return false;
        };
        if first & 0x20 != 0 {
            // A template: its children are the next level. The walk's stack
            // holds TLV_MAX_DEPTH levels below the top one.
            if depth >= TLV_MAX_DEPTH {
                return false;
            }
            depth += 1;
            ends[depth] = value_end;
            position += header_len;
        } else {
            position = value_end;
        }
    }
}

/// The tags of the templates enclosing an object, outermost first.
pub type Path = heapless::Vec<Tag, TLV_MAX_DEPTH>;

/// Iterates every primitive object of a tree with the path of templates
/// around it.
pub fn primitives(data: &[u8]) -> Primitives<'_> {
    Primitives {
        walk: Walk::new(data),
    }
}

/// Iterates every primitive object of a tree in depth-first order, without
/// the path of templates around it: what storing a record's data needs, and
/// faster than [`primitives`] (no path is built per object).
///
/// It yields what [`primitives`] yields without the paths, the same first
/// error included (kernel/tests/tlv_props.rs checks this on any input).
#[inline]
pub fn leaves(data: &[u8]) -> Leaves<'_> {
    let mut ends = [0usize; TLV_MAX_DEPTH + 1];
    ends[0] = data.len();
    Leaves {
        data,
        ends,
        depth: 0,
        position: 0,
        failed: false,
    }
}

/// Iterator returned by [`leaves`]: the depth-first walk as one loop over
/// the headers with a stack of template ends (as in [`scan`]), instead of
/// a stack of [`Iter`]s, since nothing is kept of the templates but where
/// they end.
#[derive(Clone, Debug)]
pub struct Leaves<'a> {
    data: &'a [u8],
    /// `ends[d]`: where the level `d` ends (level 0, the whole input).
    ends: [usize; TLV_MAX_DEPTH + 1],
    /// How many templates enclose `position`.
    depth: usize,
    /// Offset of the next byte to read.
    position: usize,
    /// An error was yielded: nothing more follows.
    failed: bool,
}

impl<'a> Leaves<'a> {
    /// Ends the walk with an error of `kind` at `offset`.
    #[cold]
    fn fail(&mut self, kind: ErrorKind, offset: usize) -> Option<Result<Tlv<'a>, Error>> {
        self.failed = true;
        Some(Err(Error { kind, offset }))
    }
}

impl<'a> Iterator for Leaves<'a> {
    type Item = Result<Tlv<'a>, Error>;

    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        if self.failed {
            return None;
        }
        loop {
            let end = *self.ends.get(self.depth)?;
            let position = self.position;
            if position >= end {
                // The end of a template, or of the input.
                self.depth = self.depth.checked_sub(1)?;
                continue;
            }
            // The level's remaining bytes: `position < end <= data.len()`.
            let level = self.data.get(position..end)?;
            let &first = level.first()?;
            if is_padding(first) {
                // Padding (00 or FF) between objects, Book 3, Annex B.
                self.position = position + 1;
                continue;
            }
            let (tag, header_len, value_len) = match header(level) {
                Ok(header) => header,
                Err((kind, at)) => return self.fail(kind, position.saturating_add(at)),
            };
            let used = header_len.saturating_add(value_len);
            let (Some(raw), Some(value)) = (level.get(..used), level.get(header_len..used)) else {
                return self.fail(ErrorKind::LengthBeyondInput, position);
            };
            if first & 0x20 != 0 {
                // A template: its children are the next level, of which
                // there are TLV_MAX_DEPTH below the top one.
                let Some(next_end) = self.ends.get_mut(self.depth + 1) else {
                    return self.fail(ErrorKind::NestingTooDeep, position);
                };
                *next_end = position + used;
                self.depth += 1;
                self.position = position + header_len;
                continue;
            }
            self.position = position + used;
            return Some(Ok(Tlv {
                tag,
                value,
                offset: position,
                raw,
                depth: self.depth,
            }));
        }
    }
}

/// Iterator returned by [`primitives`].
#[derive(Clone, Debug)]
pub struct Primitives<'a> {
    walk: Walk<'a>,
}

impl<'a> Iterator for Primitives<'a> {
    type Item = Result<(Path, Tlv<'a>), Error>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            match self.walk.next_object()? {
                Err(e) => return Some(Err(e)),
                Ok(tlv) if !tlv.is_constructed() => return Some(Ok((self.walk.path(), tlv))),
                Ok(_) => continue,
            }
        }
    }
}

/// Depth-first walk over every object of a tree, templates included, with an
/// explicit bounded stack instead of recursion.
#[derive(Clone, Debug)]
struct Walk<'a> {
    stack: heapless::Vec<(Tag, Iter<'a>), { TLV_MAX_DEPTH + 1 }>,
    failed: bool,
}

impl<'a> Walk<'a> {
    fn new(data: &'a [u8]) -> Self {
        let mut stack = heapless::Vec::new();
        // The stack is empty and has room for TLV_MAX_DEPTH + 1 entries.
        let _ = stack.push((Tag(0), iter(data)));
        Walk {
            stack,
            failed: false,
        }
    }

    /// The next object in depth-first order. The enclosing templates are
    /// [`Walk::path`] until the next call; building the path is left to the
    /// callers that need it.
    #[inline]
    fn next_object(&mut self) -> Option<Result<Tlv<'a>, Error>> {
        if self.failed {
            return None;
        }
        loop {
            let (_, top) = self.stack.last_mut()?;
            match top.next() {
                None => {
                    self.stack.pop();
                }
                Some(Err(e)) => {
                    self.failed = true;
                    return Some(Err(e));
                }
                Some(Ok(tlv)) => {
                    if tlv.is_constructed() && self.stack.push((tlv.tag, tlv.children())).is_err() {
                        self.failed = true;
                        return Some(Err(Error {
                            kind: ErrorKind::NestingTooDeep,
                            offset: tlv.offset,
                        }));
                    }
                    return Some(Ok(tlv));
                }
            }
        }
    }

    /// The templates around the object [`Walk::next_object`] returned last,
    /// when that object is primitive (a template is on the stack itself).
    fn path(&self) -> Path {
        self.stack.iter().skip(1).map(|(tag, _)| *tag).collect()
    }
}

/// The caller's buffer is too small for what was written (or a value is
/// longer than BER-TLV lengths EMV uses can express).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct WriteError;

impl core::fmt::Display for WriteError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("TLV output does not fit the buffer")
    }
}

impl core::error::Error for WriteError {}

/// Encodes a tag; returns the bytes written.
pub fn encode_tag(tag: Tag, out: &mut [u8]) -> Result<usize, WriteError> {
    let len = tag.len();
    let bytes = tag.0.to_be_bytes();
    let src = bytes.get(4 - len..).ok_or(WriteError)?;
    out.get_mut(..len).ok_or(WriteError)?.copy_from_slice(src);
    Ok(len)
}

/// How many bytes the minimal encoding of `len` takes.
const fn length_size(len: usize) -> Option<usize> {
    match len {
        0..=0x7F => Some(1),
        0x80..=0xFF => Some(2),
        0x100..=0xFFFF => Some(3),
        0x1_0000..=0xFF_FFFF => Some(4),
        _ => None,
    }
}

/// Encodes a length in its minimal form; returns the bytes written.
pub fn encode_length(len: usize, out: &mut [u8]) -> Result<usize, WriteError> {
    let size = length_size(len).ok_or(WriteError)?;
    let dst = out.get_mut(..size).ok_or(WriteError)?;
    if size == 1 {
        dst[0] = len as u8; // ok: size 1 means dst has one byte and len < 0x80
    } else {
        let bytes = (len as u32).to_be_bytes();
        let (first, rest) = dst.split_first_mut().ok_or(WriteError)?;
        *first = 0x80 | (size as u8 - 1);
        rest.copy_from_slice(bytes.get(5 - size..).ok_or(WriteError)?);
    }
    Ok(size)
}

/// An open constructed object in a [`Writer`], closed by [`Writer::end`].
#[derive(Debug)]
#[must_use = "a template begun must be ended"]
pub struct Mark {
    length_at: usize,
}

/// Writes BER-TLV into a caller-provided buffer with minimal lengths.
#[derive(Debug)]
pub struct Writer<'b> {
    buf: &'b mut [u8],
    len: usize,
}

impl<'b> Writer<'b> {
    /// A writer that fills `buf` from its start.
    pub fn new(buf: &'b mut [u8]) -> Self {
        Writer { buf, len: 0 }
    }

    /// Appends raw bytes (an already encoded object, or padding).
    pub fn push_raw(&mut self, bytes: &[u8]) -> Result<(), WriteError> {
        let end = self.len.checked_add(bytes.len()).ok_or(WriteError)?;
        self.buf
            .get_mut(self.len..end)
            .ok_or(WriteError)?
            .copy_from_slice(bytes);
        self.len = end;
        Ok(())
    }

    fn push_tag(&mut self, tag: Tag) -> Result<(), WriteError> {
        let n = encode_tag(tag, self.buf.get_mut(self.len..).ok_or(WriteError)?)?;
        self.len += n;
        Ok(())
    }

    /// Appends one primitive (or pre-encoded constructed) object.
    pub fn push(&mut self, tag: Tag, value: &[u8]) -> Result<(), WriteError> {
        let start = self.len;
        let result = self.push_tag(tag).and_then(|()| {
            let n = encode_length(value.len(), self.buf.get_mut(self.len..).ok_or(WriteError)?)?;
            self.len += n;
            self.push_raw(value)
        });
        if result.is_err() {
            self.len = start;
        }
        result
    }

    /// Opens a constructed object; objects pushed until [`Writer::end`] go
    /// inside it.
    pub fn begin(&mut self, tag: Tag) -> Result<Mark, WriteError> {
        let start = self.len;
        let result = self.push_tag(tag).and_then(|()| self.push_raw(&[0]));
        if result.is_err() {
            self.len = start;
        }
        result.map(|()| Mark {
            length_at: self.len - 1,
        })
    }

    /// Closes a constructed object, writing its minimal length.
    pub fn end(&mut self, mark: Mark) -> Result<(), WriteError> {
        let content_start = mark.length_at.checked_add(1).ok_or(WriteError)?;
        let content_len = self.len.checked_sub(content_start).ok_or(WriteError)?;
        let size = length_size(content_len).ok_or(WriteError)?;
        let extra = size - 1;
        let new_len = self.len.checked_add(extra).ok_or(WriteError)?;
        if new_len > self.buf.len() {
            return Err(WriteError);
        }
        self.buf
            .copy_within(content_start..self.len, content_start + extra);
        encode_length(
            content_len,
            self.buf.get_mut(mark.length_at..).ok_or(WriteError)?,
        )?;
        self.len = new_len;
        Ok(())
    }

    /// The bytes written so far.
    pub fn as_bytes(&self) -> &[u8] {
        self.buf.get(..self.len).unwrap_or(&[])
    }

    /// How many bytes were written.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether nothing was written yet.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}
