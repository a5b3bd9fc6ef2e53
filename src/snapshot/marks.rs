//! What decoding a document records for locating its subjects afterwards.
//!
//! Locations are looked up only for the subjects of findings, after evaluation
//! ([`super::locate`]). For most documents that means walking the text again; two kinds of
//! document record a little while they are decoded, so that the walk is short or needless:
//! - a JSON document held whole (a JSONL line, a file) keeps the brackets its depth scan
//!   meets at depths 2 and 3 ([`Brackets`]): a walk then steps over whole collections
//!   and elements instead of scanning them;
//! - a JSON file that is streamed (`Content::JsonFile`) is never held, so its splitter
//!   counts lines and characters as the bytes go by ([`super::lines::Counter`]) and keeps
//!   the position and offset of the root and of every element of the root's collections
//!   ([`StreamMarks`], 12 bytes per element).

use super::locate::Position;
pub use super::scan::Brackets;

/// The marks of one decoded document (see the module's documentation).
#[derive(Debug)]
pub enum Marks {
    Brackets(Brackets),
    Stream(StreamMarks),
}

/// Where the root and the elements of the root's collections of a streamed JSON file are.
#[derive(Debug)]
pub struct StreamMarks {
    /// The root object's `{`.
    pub(super) root: Position,
    /// The split collections, by key.
    pub(super) collections: Vec<(Box<str>, Marked)>,
}

/// The elements of one collection, in order: each relative to the last [`Run`] begun at or
/// before it, which keeps an element at 12 bytes for any file size.
#[derive(Debug, Default)]
pub(super) struct Marked {
    runs: Vec<Run>,
    elements: Vec<Elem>,
}

/// Absolute values that the elements from `first` on are counted from.
#[derive(Debug, Clone, Copy)]
struct Run {
    first: u32,
    offset: u64,
    at: Position,
}

#[derive(Debug, Clone, Copy)]
struct Elem {
    /// Bytes after the run's offset.
    offset: u32,
    /// Newlines after the run's offset.
    lines: u32,
    /// Characters after the run's position when `lines` is 0, else before the element
    /// on its line.
    chars: u32,
}

impl Marked {
    /// Records the next element, at byte `offset` and position `at`, both past the last one.
    pub(super) fn push(&mut self, offset: u64, at: Position) {
        if let Some(r) = self.runs.last() {
            // Anything out of order wraps around to a value too large: a new run.
            let (o, lines) = (offset.wrapping_sub(r.offset), at.line.wrapping_sub(r.at.line));
            let chars = if lines == 0 { at.column.wrapping_sub(r.at.column) } else { at.column.saturating_sub(1) };
            let max = u64::from(u32::MAX);
            if o <= max && lines <= max && chars <= max {
                self.elements.push(Elem { offset: o as u32, lines: lines as u32, chars: chars as u32 });
                return;
            }
        }
        let first = u32::try_from(self.elements.len()).unwrap_or(u32::MAX);
        self.runs.push(Run { first, offset, at });
        self.elements.push(Elem { offset: 0, lines: 0, chars: 0 });
    }

    /// The byte offset and position of element `i`.
    pub(super) fn get(&self, i: usize) -> Option<(u64, Position)> {
        let e = self.elements.get(i)?;
        let run = self.runs.get(self.runs.partition_point(|r| r.first as usize <= i).checked_sub(1)?)?;
        let at = if e.lines == 0 {
            Position { line: run.at.line, column: run.at.column + u64::from(e.chars) }
        } else {
            Position { line: run.at.line + u64::from(e.lines), column: u64::from(e.chars) + 1 }
        };
        Some((run.offset + u64::from(e.offset), at))
    }

    #[cfg(test)]
    pub(super) fn len(&self) -> usize {
        self.elements.len()
    }

    /// Gives back spare capacity once the collection is complete.
    pub(super) fn shrink(&mut self) {
        self.elements.shrink_to_fit();
        self.runs.shrink_to_fit();
    }
}

impl StreamMarks {
    /// The byte offset and position of element `i` of the collection `key`.
    pub(super) fn element(&self, key: &str, i: usize) -> Option<(u64, Position)> {
        self.collections.iter().find(|(k, _)| &**k == key)?.1.get(i)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn elements_come_back_exactly_across_runs() {
        let pos = |line, column| Position { line, column };
        let mut m = Marked::default();
        let given = [
            (10, pos(1, 11)),
            (20, pos(1, 21)),
            (40, pos(3, 5)),
            (5_000_000_000, pos(3, 6)),             // offset too far: a new run
            (5_000_000_010, pos(3, 5_000_000_000)), // column too far: a new run
            (5_000_000_020, pos(6_000_000_000, 2)), // line too far: a new run
            (5_000_000_030, pos(6_000_000_001, 1)),
        ];
        for (o, p) in given {
            m.push(o, p);
        }
        assert_eq!(m.runs.len(), 4);
        assert_eq!(m.len(), given.len());
        for (i, want) in given.iter().enumerate() {
            assert_eq!(m.get(i), Some(*want), "element {i}");
        }
        assert_eq!(m.get(given.len()), None);
    }
}
