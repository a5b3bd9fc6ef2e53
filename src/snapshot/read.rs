//! Inputs as given → [`Document`]s, one per tenant, lazily.
//!
//! Files are read when the iterator reaches them; a JSONL file (or stdin) is read line by
//! line, so memory stays bounded by the largest line, and a line longer than
//! [`MAX_DOC_BYTES`] is an error for that line, skipped without being held. A YAML stream
//! is split into its documents with the YAML parser first, so that a syntax error in one
//! document is an error for that document only; each document holds its own text.

use super::{Content, Document, InputError, MAX_DOC_BYTES, MAX_DOC_DEPTH};
use serde_saphyr::granit_parser::{ErrorKind, Event, Parser, ScalarStyle};
use std::collections::VecDeque;
use std::fs;
use std::io::{self, BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The documents of `inputs`, in order: files as given, directories sorted by path, JSONL
/// lines, YAML documents, `-` as JSONL from standard input.
pub fn documents(inputs: &[String]) -> Documents {
    Documents {
        inputs: inputs.iter().cloned().collect(),
        pending: VecDeque::new(),
        ready: VecDeque::new(),
        lines: None,
        spare: Vec::new(),
    }
}

/// Documents made elsewhere (imported from vendor exports), in order.
pub fn given(docs: Vec<Document>) -> Documents {
    let mut d = documents(&[]);
    d.ready = docs.into();
    d
}

/// Iterator over the tenant documents of a list of inputs (see [`documents`]).
pub struct Documents {
    inputs: VecDeque<String>,
    /// Files of the directory being read, in order.
    pending: VecDeque<Item>,
    /// Documents of the file being read (YAML streams, single documents).
    ready: VecDeque<Document>,
    /// The JSONL file being read.
    lines: Option<Lines>,
    /// Buffers of documents already decoded, for the next JSONL lines (see
    /// [`Documents::recycle`]).
    spare: Vec<Vec<u8>>,
}

/// Buffers kept for reuse at most.
const MAX_SPARE: usize = 64;

impl Documents {
    /// Hands back documents that are done with, so that their buffers hold the next
    /// lines: reading then reuses memory that is already mapped rather than faulting in
    /// fresh pages for every line.
    pub fn recycle(&mut self, docs: Vec<Document>) {
        // Only lines are read into spare buffers: while no JSONL input is open, keeping
        // buffers (of whole `.json` files, say) would only hold memory.
        if self.lines.is_none() {
            return;
        }
        let mut held: usize = self.spare.iter().map(Vec::capacity).sum();
        for d in docs {
            if let Ok(Content::Json(buf)) = d.content {
                if self.spare.len() < MAX_SPARE && held + buf.capacity() <= MAX_SPARE_BYTES {
                    held += buf.capacity();
                    self.spare.push(buf);
                }
            }
        }
    }
}

impl Documents {
    /// Bytes held in spare buffers.
    #[cfg(test)]
    pub(super) fn spare_bytes(&self) -> usize {
        self.spare.iter().map(Vec::capacity).sum()
    }
}

/// Bytes of spare buffers kept at most.
const MAX_SPARE_BYTES: usize = 64 << 20;

enum Item {
    /// A file found in a directory; `shown` is its path as reported.
    File { path: PathBuf, shown: String },
    /// A directory entry that could not be read.
    Error { shown: String, message: String },
}

impl Iterator for Documents {
    type Item = Document;

    fn next(&mut self) -> Option<Document> {
        loop {
            if let Some(d) = self.ready.pop_front() {
                return Some(d);
            }
            if let Some(lines) = &mut self.lines {
                match lines.next_with(&mut self.spare) {
                    Some(d) => return Some(d),
                    None => self.lines = None,
                }
            }
            if let Some(item) = self.pending.pop_front() {
                match item {
                    Item::File { path, shown } => self.open_file(&path, shown),
                    Item::Error { shown, message } => return Some(error_doc(shown, message)),
                }
                continue;
            }
            let input = self.inputs.pop_front()?;
            self.open_input(input);
        }
    }
}

fn error_doc(shown: String, message: String) -> Document {
    Document { source: Arc::from(shown.as_str()), label: shown, content: Err(InputError::new(message)), origins: None }
}

pub(super) fn cannot_read(shown: &str, e: &io::Error) -> String {
    crate::fsio::cannot_read(shown, e)
}

#[derive(Clone, Copy, PartialEq)]
enum Format {
    Json,
    Yaml,
    Lines,
}

fn format_of(path: &Path) -> Option<Format> {
    let ext = path.extension()?.to_str()?;
    match ext.to_ascii_lowercase().as_str() {
        "json" => Some(Format::Json),
        "yaml" | "yml" => Some(Format::Yaml),
        "jsonl" | "ndjson" => Some(Format::Lines),
        _ => None,
    }
}

/// Policy test files live next to snapshots; directories skip them.
fn is_test_file(path: &Path) -> bool {
    path.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.ends_with(".test.yaml") || n.ends_with(".test.yml"))
}

impl Documents {
    fn open_input(&mut self, input: String) {
        if input == "-" {
            self.lines = Some(Lines::new(Box::new(BufReader::new(io::stdin())), input));
            return;
        }
        let path = PathBuf::from(&input);
        // Decided from metadata before anything is opened: a FIFO or a device named
        // explicitly is an input error, not a read that blocks forever.
        match crate::fsio::kind(&path, &input) {
            Err(m) => self.ready.push_back(error_doc(input, m)),
            Ok(crate::fsio::Kind::Dir) => {
                let items = walk(&path, &input);
                // Directory contents go before anything else still pending.
                for item in items.into_iter().rev() {
                    self.pending.push_front(item);
                }
            }
            Ok(crate::fsio::Kind::File(_)) => self.open_file(&path, input),
        }
    }

    /// Reads one file, by extension; a file of another extension (only reachable when
    /// named explicitly: directories skip them) is sniffed: `{` first → JSON, else YAML.
    /// Anything but a regular file is an input error, decided before opening it.
    fn open_file(&mut self, path: &Path, shown: String) {
        if let Err(m) = crate::fsio::regular_file(path, &shown) {
            self.ready.push_back(error_doc(shown, m));
            return;
        }
        match format_of(path) {
            Some(Format::Lines) => match crate::fsio::open_regular(path, &shown) {
                Ok((f, _)) => self.lines = Some(Lines::new(Box::new(BufReader::with_capacity(1 << 20, f)), shown)),
                Err(m) => self.ready.push_back(error_doc(shown, m)),
            },
            Some(Format::Json) if fs::metadata(path).is_ok_and(|m| m.len() >= super::STREAM_MIN_BYTES) => {
                self.ready.push_back(Document {
                    source: Arc::from(shown.as_str()),
                    label: shown,
                    content: Ok(Content::JsonFile(path.to_path_buf())),
                    origins: None,
                });
            }
            Some(Format::Json) => {
                let doc = match read_limited(path, &shown) {
                    Ok(bytes) => Document {
                        source: Arc::from(shown.as_str()),
                        label: shown,
                        content: Ok(Content::Json(bytes)),
                        origins: None,
                    },
                    Err(m) => error_doc(shown, m),
                };
                self.ready.push_back(doc);
            }
            Some(Format::Yaml) => match read_limited(path, &shown) {
                Ok(bytes) => self.ready.extend(yaml_documents(bytes, &shown)),
                Err(m) => self.ready.push_back(error_doc(shown, m)),
            },
            None => match read_limited(path, &shown) {
                Ok(bytes) => {
                    let body = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(&bytes);
                    if body.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{') {
                        self.ready.push_back(Document {
                            source: Arc::from(shown.as_str()),
                            label: shown,
                            content: Ok(Content::Json(bytes)),
                            origins: None,
                        });
                    } else {
                        self.ready.extend(yaml_documents(bytes, &shown));
                    }
                }
                Err(m) => self.ready.push_back(error_doc(shown, m)),
            },
        }
    }
}

/// Reads a file of at most [`MAX_DOC_BYTES`].
fn read_limited(path: &Path, shown: &str) -> Result<Vec<u8>, String> {
    crate::fsio::read_file(path, shown, MAX_DOC_BYTES as u64)
}

/// The snapshot files under a directory (`.json`, `.yaml`/`.yml`, `.jsonl`/`.ndjson`, not
/// test files), by the walk rules of [`crate::fsio::walk`]: sorted by path, unreadable
/// entries included as errors at their place.
fn walk(root: &Path, shown_root: &str) -> Vec<Item> {
    let wants = |name: &str| format_of(Path::new(name)).is_some() && !is_test_file(Path::new(name));
    crate::fsio::walk(root, shown_root, &wants, &[])
        .into_iter()
        .map(|e| match e {
            crate::fsio::Entry::File { path, shown } => Item::File { path, shown },
            crate::fsio::Entry::Error { shown, message } => Item::Error { shown, message },
        })
        .collect()
}

// ------------------------------------------------------------------------------- JSONL

/// The lines of a JSONL input, one document per non-blank line.
pub(super) struct Lines {
    reader: Box<dyn BufRead + Send>,
    shown: String,
    source: Arc<str>,
    line: usize,
    done: bool,
    /// Length of the last line read (capped at [`MAX_LINE_HINT`]).
    last_len: usize,
    /// Longest line kept ([`MAX_DOC_BYTES`]; smaller in tests).
    max_line: usize,
    /// Bytes of an over-long line skipped, at most, before the input is given up
    /// ([`MAX_SKIP_BYTES`]; smaller in tests).
    max_skip: u64,
}

/// A line buffer is never sized ahead beyond this (a huge line grows as it is read).
const MAX_LINE_HINT: usize = 64 << 20;

/// The rest of a line longer than [`MAX_DOC_BYTES`] is skipped without being held, up to
/// this many bytes: a line that runs on further (standard input fed from `/dev/zero`) ends
/// the input, so that an endless line cannot keep the run from finishing.
pub(super) const MAX_SKIP_BYTES: u64 = 1 << 30;

impl Lines {
    pub(super) fn new(reader: Box<dyn BufRead + Send>, shown: String) -> Lines {
        Lines::with_limits(reader, shown, MAX_DOC_BYTES, MAX_SKIP_BYTES)
    }

    pub(super) fn with_limits(reader: Box<dyn BufRead + Send>, shown: String, max_line: usize, max_skip: u64) -> Lines {
        Lines {
            reader,
            source: Arc::from(shown.as_str()),
            shown,
            line: 0,
            done: false,
            last_len: 0,
            max_line,
            max_skip,
        }
    }

    fn error(&self, message: String) -> Document {
        Document {
            label: format!("{}#{}", self.shown, self.line),
            source: self.source.clone(),
            content: Err(InputError::new(message)),
            origins: None,
        }
    }

    /// Skips the rest of an over-long line, up to and including its newline (or the end of
    /// the input), holding no more than a chunk of it at a time. `Ok(false)`: it ran on
    /// past `max_skip` bytes.
    fn skip_line(&mut self) -> io::Result<bool> {
        const CHUNK: u64 = 1 << 20;
        let mut scratch = Vec::new();
        let mut skipped: u64 = 0;
        loop {
            scratch.clear();
            let n = (&mut self.reader).take(CHUNK).read_until(b'\n', &mut scratch)?;
            if n == 0 || scratch.last() == Some(&b'\n') {
                return Ok(true);
            }
            skipped += n as u64;
            if skipped > self.max_skip {
                return Ok(false);
            }
        }
    }

    /// The next non-blank line as a document, read into a spare buffer if there is one. A
    /// line longer than `max_line` is an error document; reading goes on after its end.
    pub(super) fn next_with(&mut self, spare: &mut Vec<Vec<u8>>) -> Option<Document> {
        while !self.done {
            // Lines of one export are much alike: room for the last one's length (and a
            // little) saves growing the buffer by doubling, copying as it goes.
            let mut buf = spare.pop().unwrap_or_default();
            buf.clear();
            buf.reserve((self.last_len + self.last_len / 8 + 64).min(self.max_line + 2));
            // Room for the longest line and its `\r\n`: more is the proof it is too long.
            let limit = self.max_line as u64 + 2;
            match (&mut self.reader).take(limit).read_until(b'\n', &mut buf) {
                Ok(0) => self.done = true,
                Ok(n) => {
                    self.line += 1;
                    self.last_len = n.min(MAX_LINE_HINT);
                    // Whether this read reached the end of the line: a line just over the
                    // limit may have been read whole, newline included.
                    let ended = buf.last() == Some(&b'\n');
                    if ended {
                        buf.pop();
                        if buf.last() == Some(&b'\r') {
                            buf.pop();
                        }
                    }
                    if buf.len() > self.max_line {
                        // Not kept: the buffer goes, and the rest of the line is skipped.
                        drop(buf);
                        self.last_len = 0;
                        let mib = self.max_line >> 20;
                        let size = if mib > 0 { format!("{mib} MiB") } else { format!("{} bytes", self.max_line) };
                        let skipped = if ended { Ok(true) } else { self.skip_line() };
                        let message = match skipped {
                            Ok(true) => format!("line {} of `{}` is longer than {size}", self.line, self.shown),
                            Ok(false) => {
                                self.done = true;
                                format!(
                                    "line {} of `{}` is longer than {size} and does not end: the rest of `{}` is not read",
                                    self.line, self.shown, self.shown
                                )
                            }
                            Err(e) => {
                                self.done = true;
                                cannot_read(&self.shown, &e)
                            }
                        };
                        return Some(self.error(message));
                    }
                    if buf.iter().all(u8::is_ascii_whitespace) {
                        continue;
                    }
                    return Some(Document {
                        label: format!("{}#{}", self.shown, self.line),
                        source: self.source.clone(),
                        content: Ok(Content::Json(buf)),
                        origins: None,
                    });
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    self.done = true;
                    self.line += 1;
                    return Some(self.error(cannot_read(&self.shown, &e)));
                }
            }
        }
        None
    }
}

// ------------------------------------------------------------------------------- YAML

enum Piece {
    /// A document's byte range; `empty`: a null document (skipped).
    Doc { start: usize, end: usize, empty: bool },
    /// A document with a syntax error.
    Broken(String),
}

/// Splits a YAML stream into one document per tenant (empty documents skipped). Labels get
/// `#N` (1-based position in the stream) when there is more than one.
fn yaml_documents(bytes: Vec<u8>, shown: &str) -> Vec<Document> {
    let source: Arc<str> = Arc::from(shown);
    let err = |m: String| {
        vec![Document {
            label: shown.to_string(),
            source: source.clone(),
            content: Err(InputError::new(m)),
            origins: None,
        }]
    };
    let text = match String::from_utf8(bytes) {
        Ok(t) => t,
        Err(e) => return err(format!("invalid UTF-8 at byte {}", e.utf8_error().valid_up_to())),
    };
    if text.len() > MAX_DOC_BYTES {
        return err(format!("YAML document is larger than {} MiB", MAX_DOC_BYTES >> 20));
    }
    let pieces = split_yaml(&text);
    let count = pieces.iter().filter(|p| !matches!(p, Piece::Doc { empty: true, .. })).count();
    if count == 0 {
        // A `.yaml` file is at least one tenant: a file with no document in it is an
        // unreadable tenant, as an empty `.json` file is.
        return err("empty document: the YAML file holds no tenant".to_string());
    }
    let label = |n: usize| if count > 1 { format!("{shown}#{n}") } else { shown.to_string() };
    if let [Piece::Doc { empty: false, .. }] = pieces.as_slice() {
        return vec![Document { label: label(1), source, content: Ok(Content::Yaml { text, line: 0 }), origins: None }];
    }
    let mut docs = Vec::with_capacity(count);
    // Line counting is incremental: pieces come in source order. Each document holds its
    // own text only, and the line it starts at: memory is linear in the stream's size.
    let (mut pos, mut lines) = (0usize, 0usize);
    for (i, piece) in pieces.iter().enumerate() {
        match piece {
            Piece::Doc { empty: true, .. } => {}
            Piece::Broken(msg) => docs.push(Document {
                label: label(i + 1),
                source: source.clone(),
                content: Err(InputError::new(msg.clone())),
                origins: None,
            }),
            Piece::Doc { start, end, .. } => {
                // Start at the beginning of the line when only blanks precede the document,
                // so that columns in errors are the file's.
                let line_start = text.get(..*start).and_then(|s| s.rfind('\n')).map_or(0, |i| i + 1);
                let from =
                    if text.get(line_start..*start).is_some_and(|s| s.trim().is_empty()) { line_start } else { *start };
                if from >= pos {
                    lines += text.get(pos..from).map_or(0, |s| s.bytes().filter(|b| *b == b'\n').count());
                    pos = from;
                }
                let body = text.get(from..*end).unwrap_or("").to_string();
                docs.push(Document {
                    label: label(i + 1),
                    source: source.clone(),
                    content: Ok(Content::Yaml { text: body, line: lines }),
                    origins: None,
                });
            }
        }
    }
    docs
}

fn split_yaml(text: &str) -> Vec<Piece> {
    let mut opts = serde_saphyr::granit_parser::Options::default();
    opts.flow_nesting_limit = MAX_DOC_DEPTH;
    opts.block_nesting_limit = MAX_DOC_DEPTH;
    opts.set_emit_comments(false);
    let mut parser = Parser::new_from_str_with_options(text, opts);
    let mut pieces = Vec::new();
    let mut start: Option<usize> = None;
    let (mut nodes, mut null_first) = (0usize, false);
    let mut last_error: Option<usize> = None;
    loop {
        match parser.next() {
            None => break,
            Some(Ok((event, span))) => {
                let range = span.byte_range();
                match event {
                    Event::DocumentStart(..) => {
                        start = range.map(|r| r.start);
                        nodes = 0;
                        null_first = false;
                    }
                    Event::DocumentEnd => {
                        if let Some(s) = start.take() {
                            let end = range.map_or(text.len(), |r| r.end).max(s);
                            pieces.push(Piece::Doc { start: s, end, empty: nodes == 0 || (nodes == 1 && null_first) });
                        }
                    }
                    Event::Scalar(value, style, anchor, tag) => {
                        if nodes == 0 {
                            null_first = style == ScalarStyle::Plain
                                && anchor == 0
                                && tag.is_none()
                                && matches!(&*value, "" | "~" | "null" | "Null" | "NULL");
                        }
                        nodes += 1;
                    }
                    Event::SequenceStart(..) | Event::MappingStart(..) | Event::Alias(_) => nodes += 1,
                    Event::StreamEnd => break,
                    _ => {}
                }
            }
            Some(Err(e)) => {
                let m = e.marker();
                let at = m.index();
                if last_error == Some(at) {
                    break;
                }
                last_error = Some(at);
                let msg = if matches!(e.kind(), ErrorKind::RecursionLimitExceeded) {
                    format!("nested deeper than {MAX_DOC_DEPTH} levels at line {}, column {}", m.line(), m.col() + 1)
                } else {
                    format!("invalid YAML at line {}, column {}: {}", m.line(), m.col() + 1, e.info())
                };
                pieces.push(Piece::Broken(msg));
                start = None;
                match parser.proceed_next_document() {
                    Ok(true) => {}
                    Ok(false) | Err(_) => break,
                }
            }
        }
    }
    pieces
}
