//! The source text around the AST: the parser discards comments, so the formatter finds
//! them (the `Comment` tokens of `parse::lex`) and the keywords between AST nodes here.

use crate::parse::lex::{is_word_byte as is_word, tokens as lex, Token, TokenKind};

/// A comment found in the source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Comment {
    pub start: usize,
    /// The end of the comment's text (before the line break).
    pub end: usize,
    /// The text from `#`, trailing whitespace removed.
    pub text: String,
    /// Code precedes it on its line.
    pub trailing: bool,
}

/// The comments of a token list, in order.
pub(crate) fn comments(text: &str, tokens: &[Token]) -> Vec<Comment> {
    tokens
        .iter()
        .filter(|t| t.kind == TokenKind::Comment)
        .map(|t| {
            let raw = text.get(t.start..t.end).unwrap_or("");
            let trimmed = raw.trim_end();
            let line_start = text.get(..t.start).and_then(|s| s.rfind('\n')).map_or(0, |n| n + 1);
            let before = text.get(line_start..t.start).unwrap_or("");
            Comment {
                start: t.start,
                end: t.start + trimmed.len(),
                text: trimmed.to_string(),
                trailing: !before.trim().is_empty(),
            }
        })
        .collect()
}

/// The source text with its comments, for finding what the AST does not record.
pub(crate) struct Src<'a> {
    pub text: &'a str,
    pub tokens: Vec<Token>,
    pub comments: Vec<Comment>,
}

impl<'a> Src<'a> {
    pub fn new(text: &'a str) -> Self {
        let tokens = lex(text);
        let comments = comments(text, &tokens);
        Src { text, tokens, comments }
    }

    pub fn slice(&self, start: usize, end: usize) -> &'a str {
        self.text.get(start..end).unwrap_or("")
    }

    /// The comment whose line (from `#` to the line break) contains byte `i`, if any.
    fn comment_at(&self, i: usize) -> Option<&Comment> {
        let idx = self.comments.partition_point(|c| c.start <= i);
        let c = self.comments.get(idx.checked_sub(1)?)?;
        let line_end = self.text.get(c.start..).and_then(|s| s.find('\n')).map_or(self.text.len(), |n| c.start + n);
        (i < line_end).then_some(c)
    }

    /// The first byte at or after `pos` that is neither whitespace nor inside a comment.
    pub fn next_code(&self, pos: usize) -> Option<usize> {
        let bytes = self.text.as_bytes();
        let mut i = pos;
        while i < bytes.len() {
            if bytes[i].is_ascii_whitespace() {
                i += 1;
            } else if bytes[i] == b'#' && self.comment_at(i).is_some_and(|c| c.start == i) {
                while i < bytes.len() && bytes[i] != b'\n' {
                    i += 1;
                }
            } else {
                return Some(i);
            }
        }
        None
    }

    /// The last byte before `pos` that is neither whitespace nor inside a comment.
    pub fn prev_code(&self, pos: usize) -> Option<usize> {
        let bytes = self.text.as_bytes();
        let mut i = pos.min(bytes.len());
        while i > 0 {
            i -= 1;
            if bytes[i].is_ascii_whitespace() {
                continue;
            }
            if let Some(c) = self.comment_at(i) {
                i = c.start;
                continue;
            }
            return Some(i);
        }
        None
    }

    /// The start of the word that ends at byte `last` (inclusive).
    pub fn word_start(&self, last: usize) -> usize {
        let bytes = self.text.as_bytes();
        let mut i = last;
        while i > 0 && bytes.get(i - 1).is_some_and(|b| is_word(*b)) {
            i -= 1;
        }
        i
    }

    /// The position of keyword `kw` when it is the first code at or after `pos`.
    pub fn kw_after(&self, pos: usize, kw: &str) -> Option<usize> {
        let at = self.next_code(pos)?;
        self.text.get(at..)?.starts_with(kw).then_some(at)
    }

    /// The position of keyword `kw` when it is the last code before `pos`.
    pub fn kw_before(&self, pos: usize, kw: &str) -> Option<usize> {
        let last = self.prev_code(pos)?;
        let start = if kw.bytes().all(is_word) { self.word_start(last) } else { last + 1 - kw.len().min(last + 1) };
        (self.slice(start, last + 1) == kw).then_some(start)
    }

    /// Number of line breaks in `start..end`.
    pub fn newlines(&self, start: usize, end: usize) -> usize {
        self.slice(start, end).bytes().filter(|b| *b == b'\n').count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_comments_and_code_around_them() {
        let text = "a==\"x # y\\\"\" # c\n  # d\nb ?? -7";
        let src = Src::new(text);
        assert!(src.comments[0].trailing);
        assert!(!src.comments[1].trailing);
        let b = text.find("b ").unwrap();
        assert_eq!(src.next_code(12), Some(b));
        assert_eq!(src.prev_code(b), Some(11));
        assert_eq!(src.kw_after(12, "b"), Some(b));
        assert_eq!(src.kw_before(b, "\""), Some(11));
    }
}
