//! Where a finding's subject is written: the line and column of an entity in its document.
//!
//! Only the subjects of findings are located, after evaluation, from the document's text:
//! a tenant whose subjects all pass is never looked at again, and the decoder records
//! nothing for this. One walk over the text serves all the paths asked for (`users[3]`,
//! `users[3].sessions[1]`, `""` for the tenant itself): JSON objects are walked member by
//! member and containers that hold nothing wanted are skipped 64 bytes at a time with the
//! bracket scanner ([`super::scan::Skip`]); YAML is walked as parser events, whose spans
//! give byte offsets. Offsets become lines and columns in one incremental pass over the
//! text up to the last one.
//!
//! A path that cannot be followed (a key written with escapes, an alias, text the decoder
//! read differently) gets the position of the deepest entity on the way that could.
//!
//! [`locate_fields`] goes one step further, for the findings that one field of their subject
//! decided: from the entity to the key of that member (`"enabled":` in JSON, `enabled:` in
//! YAML, nested objects for a dotted field). It gives nothing rather than a guess: not for
//! an entity path that cannot be followed, or a member that is absent or written
//! differently. [`locate_marked_fields`] locates subjects and fields together; in a
//! streamed file it reads again only the elements that hold the entities (at most
//! [`STREAM_FIELDS_MAX`] fields).

use super::lines::Counter;
use super::marks::{Brackets, Marks, StreamMarks};
use super::scan::{Skip, Skipped};
use super::Content;
use serde_saphyr::granit_parser::{Event, Parser};
use std::cell::Cell;

/// A 1-based line and column (in characters) in a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Position {
    pub line: u64,
    pub column: u64,
}

thread_local! {
    /// Subject paths located so far on this thread: a test checks that passing subjects
    /// are never located.
    static LOCATED: Cell<u64> = const { Cell::new(0) };
}

/// How many subject paths [`locate`] has been asked for on the calling thread.
pub fn located_on_this_thread() -> u64 {
    LOCATED.with(Cell::get)
}

/// One step of a subject path: `users[3]`.
type Step<'a> = (&'a str, usize);

/// `users[3].sessions[1]` → `[("users", 3), ("sessions", 1)]`; `""` → `[]`.
fn steps(path: &str) -> Option<Vec<Step<'_>>> {
    if path.is_empty() {
        return Some(Vec::new());
    }
    path.split('.')
        .map(|part| {
            let (key, rest) = part.split_once('[')?;
            Some((key, rest.strip_suffix(']')?.parse().ok()?))
        })
        .collect()
}

/// The positions of the entities at `paths` in `content`, whose first line is line
/// `first_line` (1-based) of its file. A streamed file (`Content::JsonFile`) is located
/// with the marks of its decode ([`locate_marked`]); without them it is read again only
/// when it is small enough to hold ([`super::MAX_DOC_BYTES`]), else its subjects are given
/// the document's start.
pub fn locate(content: &Content, first_line: u64, paths: &[&str]) -> Vec<Position> {
    LOCATED.with(|n| n.set(n.get() + paths.len() as u64));
    let start = Position { line: first_line, column: 1 };
    let parsed: Vec<Vec<Step<'_>>> = paths.iter().map(|p| steps(p).unwrap_or_default()).collect();
    let (text, offsets): (&[u8], Vec<usize>) = match content {
        Content::Json(bytes) => (bytes, json_offsets(bytes, &parsed)),
        Content::Yaml { text, .. } => (text.as_bytes(), yaml_offsets(text, &parsed)),
        Content::JsonFile(path) => {
            let limit = super::MAX_DOC_BYTES as u64;
            return match crate::fsio::read_file(path, &path.to_string_lossy(), limit) {
                Ok(bytes) => locate(&Content::Json(bytes), first_line, paths),
                Err(_) => vec![start; paths.len()],
            };
        }
    };
    positions(text, first_line, &offsets)
}

/// Where members of entities are written: for each `(path, members)`, the key of the
/// member `members` (`["enabled"]`, `["settings", "multiple_sessions"]` for a member of a
/// nested object) of the entity at `path`, or `None` when the entity or the member cannot
/// be found (absent, written with escapes, reached through an alias or a YAML merge key).
/// Like [`locate`], one walk over the text; a streamed file (`Content::JsonFile`) is not
/// read again here and gives `None` ([`locate_marked_fields`] reads its elements).
pub fn locate_fields(content: &Content, first_line: u64, wants: &[(&str, &[&str])]) -> Vec<Option<Position>> {
    let parsed: Vec<Option<Vec<Step<'_>>>> = wants.iter().map(|(p, _)| steps(p)).collect();
    let members: Vec<&[&str]> = wants.iter().map(|(_, m)| *m).collect();
    let (text, found): (&[u8], Vec<Option<usize>>) = match content {
        Content::Json(bytes) => (bytes, json_field_offsets(bytes, &parsed, &members)),
        Content::Yaml { text, .. } => {
            let paths: Vec<Vec<Step<'_>>> = parsed.iter().map(|p| p.clone().unwrap_or_default()).collect();
            let asked: Vec<&[&str]> =
                parsed.iter().zip(&members).map(|(p, m)| if p.is_some() { *m } else { &[][..] }).collect();
            (text.as_bytes(), yaml_walk(text, &paths, &asked).1)
        }
        Content::JsonFile(_) => return vec![None; wants.len()],
    };
    let offsets: Vec<usize> = found.iter().flatten().copied().collect();
    let mut at = positions(text, first_line, &offsets).into_iter();
    found.iter().map(|f| f.and_then(|_| at.next())).collect()
}

// ------------------------------------------------------------------------------ JSON

/// A path still being followed: the steps left, and where its answer goes.
#[derive(Debug, Clone, Copy)]
struct Want<'s, 'a> {
    steps: &'s [Step<'a>],
    slot: usize,
}

fn json_offsets(b: &[u8], paths: &[Vec<Step<'_>>]) -> Vec<usize> {
    let root = ws(b, if b.starts_with(b"\xEF\xBB\xBF") { 3 } else { 0 });
    let mut out = vec![root; paths.len()];
    if b.get(root) == Some(&b'{') {
        let mut wants: Vec<Want<'_, '_>> =
            paths.iter().enumerate().map(|(slot, s)| Want { steps: s.as_slice(), slot }).collect();
        object(b, root, &mut wants, &mut out);
    }
    out
}

/// The index of the first byte at or after `at` that is not JSON whitespace.
fn ws(b: &[u8], mut at: usize) -> usize {
    while matches!(b.get(at), Some(b' ' | b'\t' | b'\n' | b'\r')) {
        at += 1;
    }
    at
}

/// The end of the value at `at` (exclusive), or `None` on anything unexpected.
fn skip_value(b: &[u8], at: usize) -> Option<usize> {
    match b.get(at)? {
        b'{' | b'[' => match Skip::new(0).run(b, at, true) {
            Skipped::End(end) => Some(end),
            _ => None,
        },
        b'"' => string_end(b, at),
        _ => {
            let mut i = at;
            while !matches!(b.get(i), None | Some(b',' | b'}' | b']' | b' ' | b'\t' | b'\n' | b'\r')) {
                i += 1;
            }
            (i > at).then_some(i)
        }
    }
}

/// The end (after the closing quote) of the string starting at `at`.
fn string_end(b: &[u8], at: usize) -> Option<usize> {
    let mut i = at + 1;
    loop {
        match b.get(i)? {
            b'"' => return Some(i + 1),
            b'\\' => i += 2,
            _ => i += 1,
        }
    }
}

/// Follows `wants` into the object at `at` (its `{`), which is their entity.
fn object(b: &[u8], at: usize, wants: &mut [Want<'_, '_>], out: &mut [usize]) {
    for w in wants.iter() {
        if let Some(o) = out.get_mut(w.slot) {
            *o = at;
        }
    }
    let mut left = wants.iter().filter(|w| !w.steps.is_empty()).count();
    if left == 0 {
        return;
    }
    let mut i = ws(b, at + 1);
    while left > 0 && b.get(i) == Some(&b'"') {
        let Some(key_end) = string_end(b, i) else { return };
        let key = b.get(i + 1..key_end - 1).unwrap_or_default();
        i = ws(b, key_end);
        if b.get(i) != Some(&b':') {
            return;
        }
        let value = ws(b, i + 1);
        let mut mine: Vec<Want<'_, '_>> = wants
            .iter()
            .filter(|w| w.steps.first().is_some_and(|(k, _)| k.as_bytes() == key))
            .map(|w| Want { steps: w.steps, slot: w.slot })
            .collect();
        let end = if mine.is_empty() {
            skip_value(b, value)
        } else {
            left -= mine.len();
            if b.get(value) == Some(&b'[') {
                array(b, value, &mut mine, out, left > 0)
            } else {
                skip_value(b, value)
            }
        };
        let Some(end) = end else { return };
        i = ws(b, end);
        if b.get(i) != Some(&b',') {
            return;
        }
        i = ws(b, i + 1);
    }
}

/// The offsets of the keys of `members[i]` in the entities at `paths[i]` (`None`: not a
/// path, or not found). An entity path that cannot be followed leaves [`json_offsets`] at
/// the deepest entity on the way, which is its parent's offset at best: a path is found
/// only where its offset differs from its parent's, so a member of another entity is
/// never taken for the subject's.
fn json_field_offsets(b: &[u8], paths: &[Option<Vec<Step<'_>>>], members: &[&[&str]]) -> Vec<Option<usize>> {
    let mut all: Vec<Vec<Step<'_>>> = Vec::with_capacity(paths.len() * 2);
    for p in paths {
        let p = p.clone().unwrap_or_default();
        let parent = p.get(..p.len().saturating_sub(1)).unwrap_or_default().to_vec();
        all.push(p);
        all.push(parent);
    }
    let offsets = json_offsets(b, &all);
    paths
        .iter()
        .zip(members)
        .enumerate()
        .map(|(i, (p, m))| {
            let p = p.as_ref()?;
            let (at, parent) = (*offsets.get(2 * i)?, *offsets.get(2 * i + 1)?);
            if !p.is_empty() && at == parent {
                return None;
            }
            json_member(b, at, m)
        })
        .collect()
}

/// The offset of the key of the member `names` (nested objects for more than one name)
/// of the object at `at`.
fn json_member(b: &[u8], at: usize, names: &[&str]) -> Option<usize> {
    let (first, rest) = names.split_first()?;
    if b.get(at) != Some(&b'{') {
        return None;
    }
    let mut i = ws(b, at + 1);
    while b.get(i) == Some(&b'"') {
        let key_end = string_end(b, i)?;
        let key = b.get(i + 1..key_end - 1)?;
        let colon = ws(b, key_end);
        if b.get(colon) != Some(&b':') {
            return None;
        }
        let value = ws(b, colon + 1);
        if key == first.as_bytes() {
            return if rest.is_empty() { Some(i) } else { json_member(b, value, rest) };
        }
        i = ws(b, skip_value(b, value)?);
        if b.get(i) != Some(&b',') {
            return None;
        }
        i = ws(b, i + 1);
    }
    None
}

/// Follows `wants` (whose first step names this array) into the array at `at`; returns
/// where the array ends when `need_end` (else it stops after the last element wanted).
fn array(b: &[u8], at: usize, wants: &mut [Want<'_, '_>], out: &mut [usize], need_end: bool) -> Option<usize> {
    wants.sort_by_key(|w| w.steps.first().map_or(0, |s| s.1));
    let mut i = ws(b, at + 1);
    let mut next = 0; // first want not yet reached
    for index in 0.. {
        if b.get(i) == Some(&b']') {
            return Some(i + 1);
        }
        let start = next;
        while wants.get(next).is_some_and(|w| w.steps.first().is_some_and(|s| s.1 == index)) {
            next += 1;
        }
        let end = if next > start {
            let mut here: Vec<Want<'_, '_>> = wants
                .get(start..next)
                .unwrap_or_default()
                .iter()
                .map(|w| Want { steps: w.steps.get(1..).unwrap_or_default(), slot: w.slot })
                .collect();
            if b.get(i) == Some(&b'{') {
                object(b, i, &mut here, out);
            } else {
                for w in &here {
                    if let Some(o) = out.get_mut(w.slot) {
                        *o = i;
                    }
                }
            }
            skip_value(b, i)?
        } else {
            skip_value(b, i)?
        };
        i = ws(b, end);
        match b.get(i) {
            Some(b',') => i = ws(b, i + 1),
            Some(b']') => return Some(i + 1),
            _ => return None,
        }
        if next == wants.len() && !need_end {
            return None;
        }
    }
    None
}

// ------------------------------------------------------------------------------ YAML

fn yaml_offsets(text: &str, paths: &[Vec<Step<'_>>]) -> Vec<usize> {
    yaml_walk(text, paths, &[]).0
}

/// The offsets of the entities at `paths` (0 where not found), and of the keys of the
/// members `members[i]` of the entity at `paths[i]`, where asked and found.
fn yaml_walk(text: &str, paths: &[Vec<Step<'_>>], members: &[&[&str]]) -> (Vec<usize>, Vec<Option<usize>>) {
    /// An open mapping or sequence. A mapping alternates keys and values; a sequence
    /// counts its items and knows the key it is the value of (which names its items).
    /// `fields`: the paths (slots) whose member is sought in this mapping, `depth` members
    /// below their entity.
    enum Frame {
        Map { expect_key: bool, key: Option<String>, entity: bool, fields: Vec<usize>, depth: usize },
        Seq { next: usize, key: Option<String> },
    }
    fn advance(stack: &mut [Frame]) {
        match stack.last_mut() {
            Some(Frame::Map { expect_key, .. }) => *expect_key = !*expect_key,
            Some(Frame::Seq { next, .. }) => *next += 1,
            None => {}
        }
    }
    let member = |slot: usize| members.get(slot).copied().unwrap_or_default();
    let mut out = vec![0; paths.len()];
    let mut found: Vec<Option<usize>> = vec![None; paths.len()];
    let mut stack: Vec<Frame> = Vec::new();
    // The entity path of the innermost open entity.
    let mut cur: Vec<(String, usize)> = Vec::new();
    let mut parser = Parser::new_from_str(text);
    while let Some(Ok((event, span))) = parser.next() {
        let offset = span.byte_range().map_or(0, |r| r.start);
        match event {
            Event::MappingStart(..) => {
                // An item of a sequence that is a mapping's value is an entity of that
                // collection; the document's root mapping is the tenant.
                let step = match stack.last() {
                    Some(Frame::Seq { next, key: Some(k) }) => Some((k.clone(), *next)),
                    _ => None,
                };
                let entity = step.is_some() || stack.is_empty();
                if let Some(s) = step {
                    cur.push(s);
                }
                let mut fields = Vec::new();
                let mut depth = 0;
                if entity {
                    for (slot, p) in paths.iter().enumerate() {
                        let same = p.len() == cur.len()
                            && p.iter().zip(&cur).all(|((k, i), (ck, ci))| *k == ck.as_str() && i == ci);
                        if same {
                            if let Some(o) = out.get_mut(slot) {
                                *o = offset;
                            }
                            if !member(slot).is_empty() {
                                fields.push(slot);
                            }
                        }
                    }
                } else if let Some(Frame::Map { expect_key: false, key: Some(k), fields: f, depth: d, .. }) =
                    stack.last()
                {
                    // A nested object of an entity: the members sought under this key.
                    fields = f
                        .iter()
                        .copied()
                        .filter(|&s| member(s).len() > d + 1 && member(s).get(*d).is_some_and(|m| *m == k.as_str()))
                        .collect();
                    depth = d + 1;
                }
                let entity = entity && !stack.is_empty();
                stack.push(Frame::Map { expect_key: true, key: None, entity, fields, depth });
            }
            Event::SequenceStart(..) => {
                let key = match stack.last() {
                    Some(Frame::Map { expect_key: false, key, .. }) => key.clone(),
                    _ => None,
                };
                stack.push(Frame::Seq { next: 0, key });
            }
            Event::MappingEnd | Event::SequenceEnd => {
                if let Some(Frame::Map { entity: true, .. }) = stack.pop() {
                    cur.pop();
                }
                advance(&mut stack);
            }
            Event::Scalar(value, ..) => {
                if let Some(Frame::Map { expect_key: true, key, fields, depth, .. }) = stack.last_mut() {
                    for &slot in fields.iter() {
                        let m = member(slot);
                        if m.len() == *depth + 1 && m.get(*depth).is_some_and(|k| *k == &*value) {
                            if let Some(f) = found.get_mut(slot) {
                                f.get_or_insert(offset);
                            }
                        }
                    }
                    *key = Some(value.into_owned());
                }
                advance(&mut stack);
            }
            Event::Alias(_) => {
                // An alias as a key names nothing this walk can compare.
                if let Some(Frame::Map { expect_key: true, key, .. }) = stack.last_mut() {
                    *key = None;
                }
                advance(&mut stack);
            }
            Event::StreamEnd | Event::DocumentEnd => break,
            _ => {}
        }
    }
    (out, found)
}

// ------------------------------------------------------------------ lines and columns

/// Byte offsets in `text` → positions, counting lines and characters once up to the last.
fn positions(text: &[u8], first_line: u64, offsets: &[usize]) -> Vec<Position> {
    positions_from(text, Position { line: first_line, column: 1 }, offsets)
}

/// [`positions`] in a text that starts at `start` of its file.
fn positions_from(text: &[u8], start: Position, offsets: &[usize]) -> Vec<Position> {
    let mut order: Vec<usize> = (0..offsets.len()).collect();
    order.sort_by_key(|&i| offsets.get(i).copied().unwrap_or(0));
    let mut out = vec![start; offsets.len()];
    let mut counter = Counter::new(0, start);
    for i in order {
        let off = offsets.get(i).copied().unwrap_or(0).min(text.len());
        let from = counter.at as usize;
        let p = counter.position_at(text.get(from..).unwrap_or_default(), off.saturating_sub(from));
        if let Some(o) = out.get_mut(i) {
            *o = p;
        }
    }
    out
}

// ------------------------------------------------------------------ recorded offsets

/// [`locate`], with what the document's decode recorded ([`Marks`]): the subjects of a
/// JSON document held whole are found with its bracket index, those of a streamed file
/// from the positions counted while it was read.
pub fn locate_marked(content: &Content, first_line: u64, paths: &[&str], marks: Option<&Marks>) -> Vec<Position> {
    let parsed = || paths.iter().map(|p| steps(p).unwrap_or_default()).collect::<Vec<_>>();
    match (content, marks) {
        (Content::Json(bytes), Some(Marks::Brackets(index))) => {
            match indexed_offsets(bytes, index, &parsed()) {
                Some(offsets) => {
                    LOCATED.with(|n| n.set(n.get() + paths.len() as u64));
                    if index.plain {
                        let at = |o: usize| Position { line: first_line, column: o as u64 + 1 };
                        return offsets.into_iter().map(at).collect();
                    }
                    positions(bytes, first_line, &offsets)
                }
                // The index does not fit the text (it cannot, but a walk is always right).
                None => locate(content, first_line, paths),
            }
        }
        (Content::JsonFile(path), Some(Marks::Stream(marks))) => {
            LOCATED.with(|n| n.set(n.get() + paths.len() as u64));
            streamed(path, marks, &parsed())
        }
        _ => locate(content, first_line, paths),
    }
}

/// At most this many findings of a streamed JSON file (`Content::JsonFile`) get the place of
/// the field that decided them: each costs reading its element again, so a file with more
/// (a million-user tenant has tens of thousands) gets none, whichever they are.
pub const STREAM_FIELDS_MAX: usize = 1_000;

/// [`locate_marked`] and [`locate_fields`] in one: the positions of the entities at
/// `paths`, and for each `fields[i]` that is `Some(members)`, of the key of that member of
/// the entity at `paths[i]` (or `None`, as [`locate_fields`] says). In a streamed file the
/// element holding each entity is read again (positioned reads, one per element), when at
/// most [`STREAM_FIELDS_MAX`] fields are asked for, else none is given; other documents
/// get one more walk over their text when some field is asked for.
pub fn locate_marked_fields(
    content: &Content,
    first_line: u64,
    paths: &[&str],
    fields: &[Option<&[&str]>],
    marks: Option<&Marks>,
) -> (Vec<Position>, Vec<Option<Position>>) {
    let at = locate_marked(content, first_line, paths, marks);
    let asked = fields.iter().filter(|f| f.is_some()).count();
    let mut found = vec![None; paths.len()];
    match (content, marks) {
        _ if asked == 0 => {}
        (Content::JsonFile(path), Some(Marks::Stream(m))) => {
            if asked <= STREAM_FIELDS_MAX {
                found = streamed_fields(path, m, paths, fields);
            }
        }
        _ => {
            let slots: Vec<usize> = (0..paths.len()).filter(|&i| fields.get(i).is_some_and(Option::is_some)).collect();
            let wants: Vec<(&str, &[&str])> =
                slots.iter().filter_map(|&i| Some((*paths.get(i)?, (*fields.get(i)?)?))).collect();
            for (i, p) in slots.into_iter().zip(locate_fields(content, first_line, &wants)) {
                if let Some(o) = found.get_mut(i) {
                    *o = p;
                }
            }
        }
    }
    (at, found)
}

/// The positions of the keys of `fields[i]` in the entities at `paths[i]` of a streamed
/// JSON file: each entity's element of a root collection is read again (one positioned
/// read per element, whatever the number of fields in it) and walked from its known
/// position. The tenant's own members are not kept by the split: a tenant-level field
/// gives `None`.
fn streamed_fields(
    path: &std::path::Path,
    marks: &StreamMarks,
    paths: &[&str],
    fields: &[Option<&[&str]>],
) -> Vec<Option<Position>> {
    let mut out = vec![None; paths.len()];
    /// A field asked for in an element: the element's offset and position, the slot of
    /// the answer, the entity's steps inside the element and the member's names.
    struct Asked<'p, 'm> {
        offset: u64,
        at: Position,
        slot: usize,
        inner: Vec<Step<'p>>,
        members: &'m [&'m str],
    }
    let mut asked: Vec<Asked<'_, '_>> = Vec::new();
    for (slot, (p, f)) in paths.iter().zip(fields).enumerate() {
        let (Some(members), Some(steps)) = (f, steps(p)) else { continue };
        let Some(((key, i), rest)) = steps.split_first() else { continue };
        let Some((offset, at)) = marks.element(key, *i) else { continue };
        asked.push(Asked { offset, at, slot, inner: rest.to_vec(), members });
    }
    if asked.is_empty() {
        return out;
    }
    asked.sort_by_key(|a| a.offset);
    let Ok((mut file, _)) = crate::fsio::open_regular(path, &path.to_string_lossy()) else { return out };
    for group in asked.chunk_by(|a, b| a.offset == b.offset) {
        let Some((offset, at)) = group.first().map(|g| (g.offset, g.at)) else { continue };
        let Some(bytes) = element_bytes(&mut file, offset) else { continue };
        let inner: Vec<Option<Vec<Step<'_>>>> = group.iter().map(|g| Some(g.inner.clone())).collect();
        let members: Vec<&[&str]> = group.iter().map(|g| g.members).collect();
        let found = json_field_offsets(&bytes, &inner, &members);
        let offsets: Vec<usize> = found.iter().flatten().copied().collect();
        let mut places = positions_from(&bytes, at, &offsets).into_iter();
        for (g, f) in group.iter().zip(&found) {
            if let (Some(_), Some(o)) = (f, out.get_mut(g.slot)) {
                *o = places.next();
            }
        }
    }
    out
}

/// [`json_offsets`] with the document's bracket index: the root's members and the elements
/// of its collections are stepped over in one step each, and only the elements wanted are
/// walked. `None` when the index does not match the text.
fn indexed_offsets(b: &[u8], index: &Brackets, paths: &[Vec<Step<'_>>]) -> Option<Vec<usize>> {
    let root = ws(b, if b.starts_with(b"\xEF\xBB\xBF") { 3 } else { 0 });
    let mut out = vec![root; paths.len()];
    if b.get(root) != Some(&b'{') {
        return Some(out);
    }
    let wants: Vec<Want<'_, '_>> = paths
        .iter()
        .enumerate()
        .filter(|(_, s)| !s.is_empty())
        .map(|(slot, s)| Want { steps: s.as_slice(), slot })
        .collect();
    let outer = |k: usize| index.outer.get(k).map(|&o| o as usize);
    let mut k = 0; // the next bracket of `index.outer`
    let mut left = wants.len();
    let mut i = ws(b, root + 1);
    while left > 0 && b.get(i) == Some(&b'"') {
        let key_end = string_end(b, i)?;
        let key = b.get(i + 1..key_end - 1)?;
        i = ws(b, key_end);
        if b.get(i) != Some(&b':') {
            return None;
        }
        let value = ws(b, i + 1);
        let end = match b.get(value) {
            Some(b'{' | b'[') => {
                let close = outer(k + 1).filter(|_| outer(k) == Some(value))?;
                k += 2;
                if b.get(value) == Some(&b'[') {
                    let mut mine: Vec<Want<'_, '_>> = wants
                        .iter()
                        .filter(|w| w.steps.first().is_some_and(|(k, _)| k.as_bytes() == key))
                        .copied()
                        .collect();
                    if !mine.is_empty() {
                        left -= mine.len();
                        indexed_elements(b, index, value, &mut mine, &mut out)?;
                    }
                }
                close + 1
            }
            _ => skip_value(b, value)?,
        };
        i = ws(b, end);
        match b.get(i) {
            Some(b',') => i = ws(b, i + 1),
            Some(b'}') => break,
            _ => return None,
        }
    }
    Some(out)
}

/// Follows `wants` into the array at `open`, a member of the root: its elements that are
/// containers are stepped over with `index.inner`.
fn indexed_elements(
    b: &[u8],
    index: &Brackets,
    open: usize,
    wants: &mut [Want<'_, '_>],
    out: &mut [usize],
) -> Option<()> {
    wants.sort_by_key(|w| w.steps.first().map_or(0, |s| s.1));
    let inner = |j: usize| index.inner.get(j).map(|&o| o as usize);
    let mut j = index.inner.partition_point(|&o| (o as usize) < open);
    let mut next = 0; // first want not yet reached
    let mut at = ws(b, open + 1);
    let mut n = 0; // the index of the element at `at`
    loop {
        if next == wants.len() || b.get(at) == Some(&b']') {
            break;
        }
        // Containers separated by a bare comma (compact JSON) before the next element
        // wanted are stepped over in a tight loop.
        let target = wants.get(next).and_then(|w| w.steps.first()).map_or(n, |s| s.1);
        while n < target && inner(j) == Some(at) {
            let (Some(close), Some(following)) = (inner(j + 1), inner(j + 2)) else { break };
            if following != close + 2 || b.get(close + 1) != Some(&b',') {
                break;
            }
            (j, at, n) = (j + 2, following, n + 1);
        }
        let end = match b.get(at) {
            Some(b'{' | b'[') => {
                let close = inner(j + 1).filter(|_| inner(j) == Some(at))?;
                j += 2;
                close + 1
            }
            _ => skip_value(b, at)?,
        };
        let start = next;
        while wants.get(next).is_some_and(|w| w.steps.first().is_some_and(|s| s.1 == n)) {
            next += 1;
        }
        if next > start {
            let mut here: Vec<Want<'_, '_>> = wants
                .get(start..next)
                .unwrap_or_default()
                .iter()
                .map(|w| Want { steps: w.steps.get(1..).unwrap_or_default(), slot: w.slot })
                .collect();
            if b.get(at) == Some(&b'{') {
                object(b, at, &mut here, out);
            } else {
                for w in &here {
                    if let Some(o) = out.get_mut(w.slot) {
                        *o = at;
                    }
                }
            }
        }
        at = ws(b, end);
        match b.get(at) {
            Some(b',') => at = ws(b, at + 1),
            Some(b']') => break,
            _ => return None,
        }
        n += 1;
    }
    Some(())
}

/// The positions of `paths` in a streamed JSON file, from its marks: the root and the
/// elements of its collections are known; an entity nested in an element is found in that
/// element's bytes, read again from the file (one element each, never the file).
fn streamed(path: &std::path::Path, marks: &StreamMarks, paths: &[Vec<Step<'_>>]) -> Vec<Position> {
    let mut out = vec![marks.root; paths.len()];
    // (element offset, its position, slot, steps inside it), for nested paths.
    let mut nested: Vec<(u64, Position, usize, &[Step<'_>])> = Vec::new();
    for (slot, steps) in paths.iter().enumerate() {
        let Some(((key, i), rest)) = steps.split_first() else { continue };
        let Some((offset, at)) = marks.element(key, *i) else { continue };
        if let Some(o) = out.get_mut(slot) {
            *o = at;
        }
        if !rest.is_empty() {
            nested.push((offset, at, slot, rest));
        }
    }
    if nested.is_empty() {
        return out;
    }
    nested.sort_by_key(|n| n.0);
    let Ok((mut file, _)) = crate::fsio::open_regular(path, &path.to_string_lossy()) else { return out };
    for group in nested.chunk_by(|a, b| a.0 == b.0) {
        let Some(&(offset, at, _, _)) = group.first() else { continue };
        let Some(bytes) = element_bytes(&mut file, offset) else { continue };
        let mut found = vec![0; group.len()];
        let mut wants: Vec<Want<'_, '_>> =
            group.iter().enumerate().map(|(slot, &(_, _, _, steps))| Want { steps, slot }).collect();
        object(&bytes, 0, &mut wants, &mut found);
        for ((_, _, slot, _), p) in group.iter().zip(positions_from(&bytes, at, &found)) {
            if let Some(o) = out.get_mut(*slot) {
                *o = p;
            }
        }
    }
    out
}

/// The bytes of the object that starts at `offset` in `file` (an element of a root
/// collection, at most [`super::MAX_DOC_BYTES`] as the splitter held it).
fn element_bytes(file: &mut std::fs::File, offset: u64) -> Option<Vec<u8>> {
    use std::io::{Read, Seek, SeekFrom};
    file.seek(SeekFrom::Start(offset)).ok()?;
    let mut buf = Vec::new();
    let mut skip = Skip::new(2);
    let mut at = 0;
    loop {
        let len = buf.len();
        if len > super::MAX_DOC_BYTES {
            return None;
        }
        // Elements are mostly small: a first read of 4 KB, then 64 KB at a time.
        buf.resize(len + if len == 0 { 4 << 10 } else { 64 << 10 }, 0);
        let n = file.read(buf.get_mut(len..).unwrap_or_default()).ok()?;
        buf.truncate(len + n);
        if buf.first() != Some(&b'{') {
            return None;
        }
        match skip.run(&buf, at, n == 0) {
            Skipped::End(end) => {
                buf.truncate(end);
                return Some(buf);
            }
            Skipped::More(next) => at = next,
            Skipped::TooDeep(_) | Skipped::Eof => return None,
        }
    }
}

#[cfg(test)]
#[allow(clippy::indexing_slicing, reason = "tests index their own fixtures")]
mod tests {
    use super::*;

    fn at(content: Content, first: u64, paths: &[&str]) -> Vec<(u64, u64)> {
        locate(&content, first, paths).into_iter().map(|p| (p.line, p.column)).collect()
    }

    #[test]
    fn json_entities_nested_and_skipped() {
        let text = "{\n  \"id\": \"t\",\n  \"roles\": [{\"id\": \"r\", \"x\": [1, {\"a\": \"]\"}]}],\n  \"users\": [\n    {\"id\": \"a\", \"sessions\": []},\n    \"bad\",\n    {\"id\": \"ü\", \"sessions\": [{}, {\"k\": 1}]}\n  ]\n}";
        let got = at(
            Content::Json(text.as_bytes().to_vec()),
            1,
            &["", "users[0]", "users[2].sessions[1]", "users[1]", "roles[0]", "users[2]", "users[9]"],
        );
        assert_eq!(got, vec![(1, 1), (5, 5), (7, 34), (6, 5), (3, 13), (7, 5), (1, 1)]);
    }

    #[test]
    fn jsonl_line_and_column() {
        let got = at(Content::Json(br#"{"id":"t","users":[{"id":"a"},{"id":"b"}]}"#.to_vec()), 7, &["users[1]", ""]);
        assert_eq!(got, vec![(7, 31), (7, 1)]);
    }

    #[test]
    fn yaml_entities() {
        let text = "id: t\nusers:\n  - id: a\n    sessions:\n      - started: x\n      - {started: y}\n  - id: b\nroles: [{id: r}]\n";
        let got = at(
            Content::Yaml { text: text.into(), line: 10 },
            11,
            &["users[0]", "users[0].sessions[1]", "users[1]", "roles[0]", ""],
        );
        assert_eq!(got, vec![(13, 5), (16, 9), (17, 5), (18, 9), (11, 1)]);
    }

    fn fields(content: Content, first: u64, wants: &[(&str, &str)]) -> Vec<Option<(u64, u64)>> {
        let members: Vec<Vec<&str>> = wants.iter().map(|(_, m)| m.split('.').collect()).collect();
        let asked: Vec<(&str, &[&str])> = wants.iter().zip(&members).map(|((p, _), m)| (*p, m.as_slice())).collect();
        locate_fields(&content, first, &asked).into_iter().map(|p| p.map(|p| (p.line, p.column))).collect()
    }

    #[test]
    fn json_fields_of_entities() {
        let text = "{\n  \"id\": \"t\",\n  \"settings\": {\"a\": 1, \"multiple_sessions\": true},\n  \"users\": [\n    {\"id\": \"a\", \"sessions\": [], \"enabled\": false},\n    \"bad\",\n    {\"id\": \"ü\",\n     \"x\\u0041\": 1,\n     \"sessions\": [{\"k\": 1}, {\"id\": \"s\", \"k\": 2}]}\n  ]\n}";
        let got = fields(
            Content::Json(text.as_bytes().to_vec()),
            1,
            &[
                ("users[0]", "enabled"),
                ("users[2]", "sessions"),
                ("users[2].sessions[1]", "k"),
                ("", "settings.multiple_sessions"),
                ("", "id"),
                ("users[0]", "email"),         // absent
                ("users[9]", "id"),            // no such entity: not the tenant's `id`
                ("users[2].sessions[7]", "k"), // no such entity: not the user's
                ("users[1]", "id"),            // not an object
                ("users[2]", "xA"),            // a key written with escapes
                ("", "settings.b"),
                ("users[x]", "id"),
            ],
        );
        assert_eq!(
            got,
            vec![
                Some((5, 33)),
                Some((9, 6)),
                Some((9, 41)),
                Some((3, 24)),
                Some((2, 3)),
                None,
                None,
                None,
                None,
                None,
                None,
                None
            ]
        );
    }

    #[test]
    fn yaml_fields_of_entities() {
        let text = "id: t\nsettings:\n  a: 1\n  multiple_sessions: true\nusers:\n  - id: a\n    enabled: false\n    sessions:\n      - {started: x}\n      - {id: s, started: y}\n  - id: &k b\n    <<: {enabled: true}\n    *k: 1\n";
        let got = fields(
            Content::Yaml { text: text.into(), line: 10 },
            11,
            &[
                ("users[0]", "enabled"),
                ("users[0]", "sessions"),
                ("users[0].sessions[1]", "started"),
                ("", "settings.multiple_sessions"),
                ("", "id"),
                ("users[0]", "email"),
                ("users[5]", "id"),
                ("users[1]", "enabled"), // only from a merge key
                ("", "settings"),
            ],
        );
        assert_eq!(
            got,
            vec![
                Some((17, 5)),
                Some((18, 5)),
                Some((20, 17)),
                Some((14, 3)),
                Some((11, 1)),
                None,
                None,
                None,
                Some((12, 1)),
            ]
        );
    }

    #[test]
    fn streamed_files_have_no_fields() {
        let content = Content::JsonFile(std::path::PathBuf::from("big.json"));
        assert_eq!(fields(content, 1, &[("users[0]", "enabled")]), vec![None]);
    }

    #[test]
    fn paths_parse() {
        assert_eq!(steps("a[1].b[22]"), Some(vec![("a", 1), ("b", 22)]));
        assert_eq!(steps(""), Some(vec![]));
        assert_eq!(steps("a[x]"), None);
    }
}
