//! Byte offsets ↔ LSP positions (lines, UTF-16 code units), and the words around a position.

use lsp_types::{Position, Range};

/// Line starts of a text, for position conversions.
pub struct Lines<'a> {
    text: &'a str,
    starts: Vec<usize>,
}

impl<'a> Lines<'a> {
    pub fn new(text: &'a str) -> Self {
        let mut starts = vec![0];
        starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        Lines { text, starts }
    }

    /// The position of a byte offset (clamped to the text, and back to a char boundary).
    pub fn position(&self, offset: usize) -> Position {
        let mut offset = offset.min(self.text.len());
        while !self.text.is_char_boundary(offset) {
            offset -= 1;
        }
        let line = self.starts.partition_point(|&s| s <= offset).saturating_sub(1);
        let start = self.starts[line];
        let col: usize = self.text[start..offset].chars().map(char::len_utf16).sum();
        Position::new(line as u32, col as u32)
    }

    pub fn range(&self, start: usize, end: usize) -> Range {
        Range::new(self.position(start), self.position(end.max(start)))
    }

    /// The byte offset of a position; `None` when the line does not exist. A column past
    /// the end of its line is the end of the line (as LSP says).
    pub fn offset(&self, pos: Position) -> Option<usize> {
        let line = pos.line as usize;
        if line == self.starts.len() && line > 0 && pos.character == 0 {
            return Some(self.text.len());
        }
        let start = *self.starts.get(line)?;
        let end = self.starts.get(line + 1).map_or(self.text.len(), |&e| e - 1);
        let line_text = &self.text[start..end];
        let line_text = line_text.strip_suffix('\r').unwrap_or(line_text);
        let mut units = 0usize;
        for (i, c) in line_text.char_indices() {
            if units >= pos.character as usize {
                return Some(start + i);
            }
            units += c.len_utf16();
        }
        Some(start + line_text.len())
    }
}

/// Whether a byte may be part of a dotted name (`role.2fa`, `settings.multiple_sessions`).
pub fn is_path_byte(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_' || c == b'.'
}

/// The identifier (letters, digits, `_`) around a byte offset: its range.
pub fn word_at(text: &str, offset: usize) -> Option<(usize, usize)> {
    let (s, e) = run_at(text, offset, |c| c.is_ascii_alphanumeric() || c == b'_');
    (s < e).then_some((s, e))
}

/// The range of the bytes around `offset` that are all `part` (empty when none is).
pub fn run_at(text: &str, offset: usize, part: impl Fn(u8) -> bool) -> (usize, usize) {
    let b = text.as_bytes();
    let offset = offset.min(b.len());
    let mut s = offset;
    while s > 0 && part(b[s - 1]) {
        s -= 1;
    }
    let mut e = offset;
    while e < b.len() && part(b[e]) {
        e += 1;
    }
    (s, e)
}

/// The dotted path that ends with the word around `offset`: `role.2fa` when the cursor is
/// on `2fa`, `role` when it is on `role`. Returns the segments and the range of the word.
pub fn path_at(text: &str, offset: usize) -> Option<(Vec<String>, (usize, usize))> {
    let (ws, we) = word_at(text, offset)?;
    let b = text.as_bytes();
    let mut s = ws;
    while s > 0 && is_path_byte(b[s - 1]) {
        s -= 1;
    }
    let path: Vec<String> = text[s..we].split('.').map(str::to_string).collect();
    if path.iter().any(String::is_empty) {
        return None;
    }
    Some((path, (ws, we)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_count_utf16_units() {
        let text = "a\n€x😀y\nz";
        let l = Lines::new(text);
        let y = text.find('y').unwrap_or(0);
        assert_eq!(l.position(y), Position::new(1, 4));
        assert_eq!(l.offset(Position::new(1, 4)), Some(y));
        assert_eq!(l.offset(Position::new(1, 99)), Some(text.find("\nz").unwrap_or(0)));
        assert_eq!(l.offset(Position::new(7, 0)), None);
        assert_eq!(l.position(usize::MAX), Position::new(2, 1));
    }

    #[test]
    fn paths_end_at_the_word_under_the_cursor() {
        let text = "rule a: role.2fa and x";
        let at = text.find("2fa").unwrap_or(0) + 1;
        let (path, _) = path_at(text, at).unwrap();
        assert_eq!(path, ["role", "2fa"]);
        let at = text.find("role").unwrap_or(0);
        assert_eq!(path_at(text, at).map(|p| p.0), Some(vec!["role".to_string()]));
    }
}
