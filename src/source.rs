//! Source files and byte spans.
//!
//! Every diagnostic points at a [`Span`] inside a [`SourceFile`]. Spans are byte ranges into
//! the file's full text, so a span of an expression found inside a YAML string still points
//! into the YAML file.

use std::sync::{Arc, OnceLock};

/// The UTF-8 byte-order mark. Editors on Windows may start a file with it; it is not text.
const BOM: char = '\u{feff}';

/// One policy (or model, or test) file as read from disk.
///
/// A leading byte-order mark is dropped when the file is made ([`SourceFile::new`]), so every
/// reader (the `.tenet` grammar, the YAML parser) sees the text proper, and spans, lines and
/// columns count from the first character after it.
#[derive(Debug, Clone)]
pub struct SourceFile {
    /// The name shown to users: the path as given on the command line.
    pub name: Arc<str>,
    pub text: Arc<str>,
    /// Where each line starts, built on first use (diagnostics), shared by clones.
    lines: Arc<OnceLock<LineIndex>>,
}

impl SourceFile {
    pub fn new(name: impl Into<Arc<str>>, text: impl Into<Arc<str>>) -> Self {
        let text: Arc<str> = text.into();
        let text = match text.strip_prefix(BOM) {
            Some(rest) => Arc::from(rest),
            None => text,
        };
        SourceFile { name: name.into(), text, lines: Arc::default() }
    }

    /// The source text of a span (empty when the span is out of range).
    pub fn slice(&self, span: Span) -> &str {
        self.text.get(span.start as usize..span.end as usize).unwrap_or("")
    }

    /// The file's line index (built once, in one pass over the text).
    pub fn lines(&self) -> &LineIndex {
        self.lines.get_or_init(|| LineIndex::new(&self.text))
    }

    /// The 1-based line of byte `offset` (offsets past the end are on the last line).
    pub fn line_of(&self, offset: usize) -> usize {
        self.lines().line(offset) + 1
    }
}

/// Where every line of a text starts: line and column of an offset in O(log lines), so
/// that reporting many diagnostics in a large file stays linear.
#[derive(Debug, Clone)]
pub struct LineIndex {
    /// Byte offset of the start of each line (the first is 0).
    starts: Vec<usize>,
    len: usize,
    /// The length of the longest line, in bytes, without its line break.
    pub longest: usize,
}

impl LineIndex {
    pub fn new(text: &str) -> Self {
        let mut starts = vec![0];
        let mut longest = 0;
        for (i, b) in text.bytes().enumerate() {
            if b == b'\n' {
                longest = longest.max(i - starts.last().copied().unwrap_or(0));
                starts.push(i + 1);
            }
        }
        longest = longest.max(text.len() - starts.last().copied().unwrap_or(0));
        LineIndex { starts, len: text.len(), longest }
    }

    /// The 0-based line holding byte `offset`.
    pub fn line(&self, offset: usize) -> usize {
        self.starts.partition_point(|&s| s <= offset.min(self.len)).saturating_sub(1)
    }

    /// The number of lines (a text ending in a line break has an empty last line).
    pub fn count(&self) -> usize {
        self.starts.len()
    }

    /// The byte offset where 0-based `line` starts (the text's end past the last line).
    pub fn start(&self, line: usize) -> usize {
        self.starts.get(line).copied().unwrap_or(self.len)
    }
}

/// A byte range `start..end` in a [`SourceFile`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Span {
    pub start: u32,
    pub end: u32,
}

impl Span {
    pub fn new(start: usize, end: usize) -> Self {
        Span { start: clamp(start), end: clamp(end.max(start)) }
    }

    pub fn len(self) -> usize {
        (self.end - self.start) as usize
    }

    pub fn is_empty(self) -> bool {
        self.start == self.end
    }

    /// The smallest span covering both.
    pub fn to(self, other: Span) -> Span {
        Span { start: self.start.min(other.start), end: self.end.max(other.end) }
    }

    /// This span moved `by` bytes to the right (for expressions embedded in YAML strings).
    pub fn shift(self, by: usize) -> Span {
        Span::new(self.start as usize + by, self.end as usize + by)
    }
}

fn clamp(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

impl From<Span> for miette::SourceSpan {
    fn from(s: Span) -> Self {
        miette::SourceSpan::new((s.start as usize).into(), s.len())
    }
}
