//! One large JSON tenant, decoded as it is read, on every core.
//!
//! A tenant with a million users is a few hundred MB of JSON, nearly all of it in the
//! root's entity collections (`users`, `roles`, …). Rather than reading the file whole and
//! decoding it on one thread, this reads it in chunks and splits it as it goes:
//! - the root object's members are walked here, byte by byte (there are few);
//! - a member that is an entity collection of the root is cut into pieces of whole
//!   elements (about [`Limits::piece`] bytes each), whose ends the [`scan`](super::scan)
//!   finds 64 bytes at a time; pieces decode in parallel with rayon while the split goes
//!   on, each into tables of its own, appended in document order;
//! - every other member is kept, and decoded last as the root object;
//! - lines and characters are counted as the bytes go by, and the position of the root and
//!   of every element split is kept ([`StreamMarks`]), so that the subjects of findings
//!   are located without reading the file again.
//!
//! Memory is a window of pieces plus the decoded tables, never the whole file. The pieces
//! and the root decode through the same seeds as a whole document, so the tenant is the
//! same, row for row. Anything irregular (bad syntax, a repeated collection, too deep,
//! invalid UTF-8, an escaped key) stops the split: the caller then decodes the file the
//! ordinary way, which reports the error exactly as for a small file.

use super::decode::{append_tables, decode_elements, decode_root, root_collections, DecodePlan};
use super::lines::Counter;
use super::locate::Position;
use super::marks::{Marked, StreamMarks};
use super::scan::{Skip, Skipped};
use super::Table;
use crate::model::KindId;
use std::collections::BTreeMap;
use std::io::{self, Read};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, PoisonError};

/// JSON files at least this large are decoded as they are read.
pub const STREAM_MIN_BYTES: u64 = 16 << 20;

/// Sizes of the split (small ones in tests exercise every boundary).
#[derive(Debug, Clone, Copy)]
pub(super) struct Limits {
    /// Bytes read at a time.
    pub chunk: usize,
    /// A piece closes after the element that takes it to this many bytes.
    pub piece: usize,
    /// Pieces decoded at once, per worker thread.
    pub window: usize,
    /// Bytes held at most: of the input (one element, or one member of the root that is
    /// not split, plus a chunk), and of the root's members that are not split. Past it the
    /// split stops and the ordinary decode reads the document as it goes.
    pub held: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits { chunk: 4 << 20, piece: 1 << 20, window: 2, held: super::MAX_DOC_BYTES }
    }
}

/// Why the split stopped.
#[derive(Debug)]
pub(super) enum Stop {
    /// The document is not one the split handles: decode it the ordinary way.
    Irregular,
    Io(io::Error),
}

impl From<io::Error> for Stop {
    fn from(e: io::Error) -> Self {
        Stop::Io(e)
    }
}

/// Decodes one JSON tenant from `r`. Any problem is a [`Stop`]: the ordinary path then
/// decodes the document again and says what is wrong, where.
///
/// The splitter runs on the calling thread and hands each piece to rayon; with
/// [`Limits::window`] pieces per thread already in flight it decodes the next one itself,
/// which bounds memory; in a one-thread pool it decodes every piece itself. Decoded pieces are
/// appended in document order as soon as their predecessors are.
pub(super) fn decode<R: Read + Send>(r: R, plan: &DecodePlan, limits: Limits) -> Result<Vec<Table>, Stop> {
    decode_marked(r, plan, limits).map(|(tables, _)| tables)
}

/// [`decode`], with where the root and the elements split are ([`StreamMarks`]).
pub(super) fn decode_marked<R: Read + Send>(
    r: R,
    plan: &DecodePlan,
    limits: Limits,
) -> Result<(Vec<Table>, StreamMarks), Stop> {
    let collections = root_collections(plan);
    // One thread never spawns: a spawned piece would wait for the end of the split, and
    // every piece decoded after it would wait to be appended.
    let threads = rayon::current_num_threads();
    let window = if threads > 1 { limits.window.max(1) * threads } else { 0 };
    let in_flight = AtomicUsize::new(0);
    let done: Mutex<BTreeMap<usize, Option<Vec<Table>>>> = Mutex::new(BTreeMap::new());
    let lock = || done.lock().unwrap_or_else(PoisonError::into_inner);
    let mut tables = plan.empty_tables();
    let mut appended = 0usize;
    // Appends every decoded piece whose predecessors are all appended.
    let mut append_ready = |tables: &mut Vec<Table>, pieces: &[KindId]| -> Result<(), Stop> {
        while let Some(part) = lock().remove(&appended) {
            let child = pieces.get(appended).copied().ok_or(Stop::Irregular)?;
            append_tables(plan, tables, part.ok_or(Stop::Irregular)?, child);
            appended += 1;
        }
        Ok(())
    };
    let mut kinds: Vec<KindId> = Vec::new();
    let (split, rest, marks) = rayon::scope(|scope| -> Result<_, Stop> {
        let sink = |piece: Piece| -> Result<(), Stop> {
            let seq = kinds.len();
            kinds.push(piece.child);
            if in_flight.load(Ordering::Acquire) < window {
                in_flight.fetch_add(1, Ordering::AcqRel);
                let (in_flight, done) = (&in_flight, &done);
                scope.spawn(move |_| {
                    let part = decode_elements(&piece.bytes, plan, piece.child, piece.first);
                    done.lock().unwrap_or_else(PoisonError::into_inner).insert(seq, part);
                    in_flight.fetch_sub(1, Ordering::AcqRel);
                });
            } else {
                let part = decode_elements(&piece.bytes, plan, piece.child, piece.first);
                lock().insert(seq, part);
            }
            append_ready(&mut tables, &kinds)
        };
        let mut s = Splitter {
            r,
            buf: Vec::new(),
            filled: 0,
            base: 0,
            pos: 0,
            mark: None,
            eof: false,
            limits,
            collections: &collections,
            seen: vec![false; collections.len()],
            listed: vec![false; collections.len()],
            counts: vec![0; collections.len()],
            rest: vec![b'{'],
            rest_members: 0,
            sink,
            counter: Counter::new(0, Position { line: 1, column: 1 }),
            root_at: Position { line: 1, column: 1 },
            marked: collections.iter().map(|_| Marked::default()).collect(),
        };
        s.root()?;
        s.rest.push(b'}');
        let marks = StreamMarks {
            root: s.root_at,
            collections: collections
                .iter()
                .zip(std::mem::take(&mut s.marked))
                .zip(&s.listed)
                .filter(|(_, listed)| **listed)
                .map(|(((key, _, _), mut m), _)| {
                    m.shrink();
                    (key.clone(), m)
                })
                .collect(),
        };
        // Only the collections met as lists: an absent or null one stays absent.
        let split: Vec<(usize, KindId, u32)> = collections
            .iter()
            .zip(&s.counts)
            .zip(&s.listed)
            .filter(|(_, listed)| **listed)
            .map(|(((_, child, slot), &n), _)| (*slot, *child, n))
            .collect();
        Ok((split, s.rest, marks))
    })?;
    append_ready(&mut tables, &kinds)?;
    if appended != kinds.len() {
        return Err(Stop::Irregular);
    }
    let tables = decode_root(&rest, plan, tables, &split).map_err(|_| Stop::Irregular)?;
    Ok((tables, marks))
}

/// A run of consecutive elements of one collection, as `[e, e, …]`.
struct Piece {
    bytes: Vec<u8>,
    child: KindId,
    first: u32,
}

struct Splitter<'a, R, S> {
    r: R,
    /// Bytes read and not yet released; `buf[0]` is byte `base` of the input.
    buf: Vec<u8>,
    /// `buf[..filled]` holds input; the rest is spare room, already initialized, so that
    /// reading into it never zeroes memory again.
    filled: usize,
    base: usize,
    /// Absolute offset of the next byte to look at.
    pos: usize,
    /// Absolute offset of the start of a member or piece still being read: kept in `buf`.
    mark: Option<usize>,
    eof: bool,
    limits: Limits,
    collections: &'a [(Box<str>, KindId, usize)],
    /// Which collections have been met (a second one is irregular).
    seen: Vec<bool>,
    /// Which collections were lists (split); the others are decoded with the rest.
    listed: Vec<bool>,
    /// Elements of each collection.
    counts: Vec<u32>,
    /// `{` and the root's other members, comma-separated.
    rest: Vec<u8>,
    rest_members: usize,
    /// Where finished pieces go.
    sink: S,
    /// Lines and characters of the input up to `counter.at`, which is in `buf` (bytes are
    /// counted before they are released).
    counter: Counter,
    /// The position of the root's `{`.
    root_at: Position,
    /// The elements of each collection met as a list.
    marked: Vec<Marked>,
}

fn is_ws(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\n' | b'\r')
}

impl<R: Read, S: FnMut(Piece) -> Result<(), Stop>> Splitter<'_, R, S> {
    /// The input bytes in hand (`data()[0]` is byte `base` of the input).
    fn data(&self) -> &[u8] {
        self.buf.get(..self.filled).unwrap_or(&[])
    }

    /// The byte at absolute offset `at`, reading more when needed (`None` at the end).
    fn byte(&mut self, at: usize) -> Result<Option<u8>, Stop> {
        loop {
            if let Some(&c) = self.data().get(at - self.base) {
                return Ok(Some(c));
            }
            if !self.fill()? {
                return Ok(None);
            }
        }
    }

    /// Releases what is no longer needed and reads one more chunk; `false` at the end.
    fn fill(&mut self) -> Result<bool, Stop> {
        if self.eof {
            return Ok(false);
        }
        let keep = self.mark.unwrap_or(self.pos).min(self.pos);
        if keep as u64 > self.counter.at {
            let from = (self.counter.at as usize).saturating_sub(self.base);
            self.counter.advance(self.buf.get(from..self.filled).unwrap_or_default(), keep - self.counter.at as usize);
        }
        if keep > self.base {
            let shift = keep - self.base;
            self.buf.copy_within(shift..self.filled, 0);
            self.filled -= shift;
            self.base = keep;
        }
        if self.filled > self.limits.held {
            return Err(Stop::Irregular);
        }
        let want = self.filled + self.limits.chunk;
        if self.buf.len() < want {
            self.buf.resize(want, 0);
        }
        let n = loop {
            match self.r.read(self.buf.get_mut(self.filled..want).unwrap_or_default()) {
                Ok(n) => break n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e.into()),
            }
        };
        self.filled += n;
        self.eof = n == 0;
        Ok(n > 0)
    }

    /// Skips whitespace; the next byte, not consumed (`None` at the end).
    fn peek(&mut self) -> Result<Option<u8>, Stop> {
        loop {
            match self.byte(self.pos)? {
                Some(c) if is_ws(c) => self.pos += 1,
                other => return Ok(other),
            }
        }
    }

    /// Consumes `c` after optional whitespace, or stops.
    fn expect(&mut self, c: u8) -> Result<(), Stop> {
        if self.peek()? != Some(c) {
            return Err(Stop::Irregular);
        }
        self.pos += 1;
        Ok(())
    }

    /// The root object, member by member, then the end of the input.
    fn root(&mut self) -> Result<(), Stop> {
        // A byte-order mark is left to the ordinary path.
        self.expect(b'{')?;
        self.root_at = self.position(self.pos - 1);
        if self.peek()? == Some(b'}') {
            self.pos += 1;
        } else {
            loop {
                self.member()?;
                match self.peek()? {
                    Some(b',') => self.pos += 1,
                    Some(b'}') => {
                        self.pos += 1;
                        break;
                    }
                    _ => return Err(Stop::Irregular),
                }
            }
        }
        match self.peek()? {
            None => Ok(()),
            Some(_) => Err(Stop::Irregular),
        }
    }

    /// One member of the root object.
    fn member(&mut self) -> Result<(), Stop> {
        if self.peek()? != Some(b'"') {
            return Err(Stop::Irregular);
        }
        let start = self.pos;
        self.mark = Some(start);
        let key = self.key()?;
        self.expect(b':')?;
        let split = self.collections.iter().position(|(k, _, _)| k.as_bytes() == key.as_slice());
        if let Some(seen) = split.and_then(|i| self.seen.get_mut(i)) {
            if std::mem::replace(seen, true) {
                return Err(Stop::Irregular);
            }
        }
        match (split, self.peek()?) {
            (Some(i), Some(b'[')) => {
                if let Some(listed) = self.listed.get_mut(i) {
                    *listed = true;
                }
                self.mark = None;
                self.pos += 1;
                self.elements(i)
            }
            (_, Some(_)) => {
                self.value(1)?;
                let start = start - self.base;
                let end = self.pos - self.base;
                if self.rest_members > 0 {
                    self.rest.push(b',');
                }
                let member = self.buf.get(start..end).filter(|_| end <= self.filled).ok_or(Stop::Irregular)?;
                if self.rest.len() + member.len() > self.limits.held {
                    return Err(Stop::Irregular);
                }
                self.rest.extend_from_slice(member);
                self.rest_members += 1;
                self.mark = None;
                Ok(())
            }
            (_, None) => Err(Stop::Irregular),
        }
    }

    /// A key without escapes (an escaped key could spell a collection's name).
    fn key(&mut self) -> Result<Vec<u8>, Stop> {
        self.pos += 1;
        let mut key = Vec::new();
        loop {
            match self.byte(self.pos)? {
                Some(b'"') => {
                    self.pos += 1;
                    return Ok(key);
                }
                Some(b'\\') | None => return Err(Stop::Irregular),
                Some(c) => key.push(c),
            }
            self.pos += 1;
        }
    }

    /// Skips one value whose container (if it is one) sits at document depth `base + 1`.
    fn value(&mut self, base: usize) -> Result<(), Stop> {
        match self.peek()? {
            Some(b'{' | b'[') => {
                let mut skip = Skip::new(base);
                let mut at = self.pos;
                loop {
                    match skip.run(self.data(), at - self.base, self.eof) {
                        Skipped::End(end) => {
                            self.pos = self.base + end;
                            return Ok(());
                        }
                        Skipped::More(next) => {
                            // `fill` keeps everything from `pos` (and `mark`) on; at the
                            // end of the input, `run` reports `Eof` on the next call.
                            at = self.base + next;
                            self.fill()?;
                        }
                        Skipped::TooDeep(_) | Skipped::Eof => return Err(Stop::Irregular),
                    }
                }
            }
            Some(b'"') => {
                self.pos += 1;
                loop {
                    match self.byte(self.pos)? {
                        Some(b'"') => {
                            self.pos += 1;
                            return Ok(());
                        }
                        Some(b'\\') => self.pos += 2,
                        Some(_) => self.pos += 1,
                        None => return Err(Stop::Irregular),
                    }
                }
            }
            Some(_) => {
                // A number or a literal: up to the next delimiter (serde_json checks it).
                while let Some(c) = self.byte(self.pos)? {
                    if is_ws(c) || matches!(c, b',' | b'}' | b']') {
                        break;
                    }
                    self.pos += 1;
                }
                Ok(())
            }
            None => Err(Stop::Irregular),
        }
    }

    /// The elements of collection `i`, after its `[`.
    fn elements(&mut self, i: usize) -> Result<(), Stop> {
        let Some(&(_, child, _)) = self.collections.get(i) else { return Err(Stop::Irregular) };
        if self.peek()? == Some(b']') {
            self.pos += 1;
            return Ok(());
        }
        let mut piece: Option<(usize, u32)> = None;
        loop {
            if self.peek()?.is_none() {
                return Err(Stop::Irregular);
            }
            if piece.is_none() {
                piece = Some((self.pos, self.counts.get(i).copied().unwrap_or(0)));
                self.mark = Some(self.pos);
            }
            let at = self.position(self.pos);
            if let Some(m) = self.marked.get_mut(i) {
                m.push(self.pos as u64, at);
            }
            self.value(2)?;
            let count = self.counts.get_mut(i).ok_or(Stop::Irregular)?;
            *count = count.checked_add(1).ok_or(Stop::Irregular)?;
            if let Some((start, first)) = piece {
                if self.pos - start >= self.limits.piece {
                    self.cut(start, first, child)?;
                    piece = None;
                }
            }
            match self.peek()? {
                Some(b',') => {
                    self.pos += 1;
                    if matches!(self.peek()?, Some(b']') | None) {
                        return Err(Stop::Irregular);
                    }
                }
                Some(b']') => {
                    if let Some((start, first)) = piece {
                        self.cut(start, first, child)?;
                    }
                    self.pos += 1;
                    return Ok(());
                }
                _ => return Err(Stop::Irregular),
            }
        }
    }

    /// The position of byte `at` (in `buf`, at or after `counter.at`).
    fn position(&mut self, at: usize) -> Position {
        let from = (self.counter.at as usize).saturating_sub(self.base);
        let rest = self.buf.get(from..self.filled).unwrap_or_default();
        self.counter.position_at(rest, at.saturating_sub(self.counter.at as usize))
    }

    /// Closes the piece `start..pos` and hands it on.
    fn cut(&mut self, start: usize, first: u32, child: KindId) -> Result<(), Stop> {
        let body = self.data().get(start - self.base..self.pos - self.base).ok_or(Stop::Irregular)?;
        let mut bytes = Vec::with_capacity(body.len() + 2);
        bytes.push(b'[');
        bytes.extend_from_slice(body);
        bytes.push(b']');
        self.mark = None;
        (self.sink)(Piece { bytes, child, first })
    }
}

// ------------------------------------------------------------------------------- fallback

/// A large JSON document read for the ordinary decode, as serde_json asks for it, through a
/// buffer of [`CHECKED_BUF`] bytes: a document the split does not handle is still never
/// held whole. Every byte is scanned for nesting before it is handed on (serde_json's own
/// depth limit is off, as for a document read whole), and a leading byte-order mark is
/// skipped.
pub(super) struct Checked<R> {
    inner: R,
    buf: Vec<u8>,
    /// `buf[pos..scanned]` is scanned and not yet handed on; `buf[scanned..filled]` is read
    /// and not yet scanned (less than a block, until the end of the input).
    pos: usize,
    scanned: usize,
    filled: usize,
    /// Input offset of `buf[0]`.
    base: usize,
    eof: bool,
    depth: super::scan::Depth,
    /// The input offset of the first bracket nested too deep: reading stops before it.
    pub too_deep: Option<usize>,
}

/// Bytes read at a time by [`Checked`].
const CHECKED_BUF: usize = 1 << 20;

impl<R: Read> Checked<R> {
    pub(super) fn new(inner: R) -> Self {
        Checked {
            inner,
            buf: vec![0; CHECKED_BUF],
            pos: 0,
            scanned: 0,
            filled: 0,
            base: 0,
            eof: false,
            depth: super::scan::Depth::default(),
            too_deep: None,
        }
    }

    /// Reads and scans more; `false` at the end of the input (or at a bracket too deep).
    fn more(&mut self) -> io::Result<bool> {
        loop {
            if self.too_deep.is_some() || (self.eof && self.scanned == self.filled) {
                return Ok(false);
            }
            // Keep the unscanned tail (less than a block) at the front.
            self.buf.copy_within(self.scanned..self.filled, 0);
            self.base += self.scanned;
            self.filled -= self.scanned;
            self.pos = 0;
            self.scanned = 0;
            if !self.eof {
                let room = self.buf.get_mut(self.filled..).unwrap_or_default();
                match self.inner.read(room) {
                    Ok(0) => self.eof = true,
                    Ok(n) => self.filled += n,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    Err(e) => return Err(e),
                }
            }
            if self.base == 0 && self.pos == 0 {
                // A byte-order mark, once the first three bytes are in.
                if self.filled < 3 && !self.eof {
                    continue;
                }
                if self.buf.starts_with(b"\xEF\xBB\xBF") {
                    self.pos = 3;
                    self.scanned = 3;
                }
            }
            let whole = (self.filled - self.scanned) / super::scan::BLOCK * super::scan::BLOCK;
            let upto = if self.eof { self.filled } else { self.scanned + whole };
            let part = self.buf.get(self.scanned..upto).unwrap_or_default();
            match self.depth.scan(part) {
                Some(at) => {
                    self.too_deep = Some(self.base + self.scanned + at);
                    self.scanned += at;
                }
                None => self.scanned = upto,
            }
            if self.scanned > self.pos {
                return Ok(true);
            }
        }
    }
}

impl<R: Read> Read for Checked<R> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        if self.pos == self.scanned && !self.more()? {
            return match self.too_deep {
                Some(_) => Err(io::Error::other("nested too deeply")),
                None => Ok(0),
            };
        }
        let ready = self.buf.get(self.pos..self.scanned).unwrap_or_default();
        let n = ready.len().min(out.len());
        if let (Some(dst), Some(src)) = (out.get_mut(..n), ready.get(..n)) {
            dst.copy_from_slice(src);
        }
        self.pos += n;
        Ok(n)
    }
}
