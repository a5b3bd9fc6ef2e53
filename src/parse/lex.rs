//! The one lexer of `.tenet` text, with spans and comments.
//!
//! The grammar (`grammar/tenet.pest`) is what parses; this lexer serves everything that
//! needs the tokens without a parse: the nesting measure that runs before pest
//! (`parse::scan`), the syntax-error messages (`parse/syntax.rs`), the item splitting of
//! error recovery (`parse/build.rs::item_chunks`), the formatter's comments (`fmt/`), and
//! an editor's semantic tokens.
//!
//! API: [`tokens`] (every token of a text, in order) or [`Lexer`] (the same as an iterator,
//! allocating nothing; [`Lexer::at`] starts at any byte). A [`Token`] is a [`TokenKind`] and
//! the byte range `start..end` of its text (always on char boundaries); whitespace is not a
//! token. The lexer never fails and never looks back: anything it does not know is a
//! one-character [`TokenKind::Op`], an unterminated string ends before its line break, and
//! it is linear in the text.
//!
//! A [`TokenKind::Keyword`] or [`TokenKind::Number`] right after a `.` is a field name
//! (`role.2fa`, `x.in`); the lexer does not decide meaning.

use crate::source::Span;

/// What a token is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenKind {
    /// A name: a letter or `_`, then letters, digits and `_` (not a keyword).
    Name,
    /// One of [`KEYWORDS`].
    Keyword,
    /// A number or a duration: a digit, then letters, digits and `_`, with one `.DIGITS`
    /// part unless it follows a `.` (`3`, `1.5`, `30d`; also the `2fa` of `role.2fa`).
    Number,
    /// A date or date-time literal (`2026-11-22`, `2026-11-22T10:00:00Z`).
    Date,
    /// A string literal with its quotes; `\` escapes the next character. Unterminated: up
    /// to (not including) the line break or the end of the text.
    Str,
    /// An operator or punctuation: `==` `!=` `<=` `>=` `??` `&&` `||`, or one character.
    Op,
    /// `#` to the end of the line (without the line break).
    Comment,
}

impl TokenKind {
    /// A name, keyword, number or date: a run of word characters.
    pub fn is_word(self) -> bool {
        matches!(self, TokenKind::Name | TokenKind::Keyword | TokenKind::Number | TokenKind::Date)
    }
}

/// One token: its kind and the byte range of its text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Token {
    pub kind: TokenKind,
    pub start: usize,
    pub end: usize,
}

impl Token {
    pub fn text(self, text: &str) -> &str {
        text.get(self.start..self.end).unwrap_or("")
    }

    pub fn span(self) -> Span {
        Span::new(self.start, self.end)
    }
}

/// The words the grammar reserves.
pub const KEYWORDS: &[&str] = &[
    "requires", "or", "and", "not", "in", "matches", "where", "as", "when", "rule", "let", "policy", "true", "false",
    "null",
];

/// The keywords that start a top-level item.
pub const ITEM_KEYWORDS: &[&str] = &["policy", "rule", "let"];

/// The two-character operators.
const OPS2: &[&str] = &["==", "!=", "<=", ">=", "??", "&&", "||"];

pub fn is_word_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

/// Every token of `text`, comments included.
pub fn tokens(text: &str) -> Vec<Token> {
    Lexer::new(text).collect()
}

/// The tokens of a text, one at a time.
#[derive(Debug, Clone)]
pub struct Lexer<'a> {
    text: &'a str,
    pos: usize,
}

impl<'a> Lexer<'a> {
    pub fn new(text: &'a str) -> Self {
        Lexer { text, pos: 0 }
    }

    /// Lexing from byte `pos` (moved forward to a char boundary).
    pub fn at(text: &'a str, pos: usize) -> Self {
        let mut pos = pos.min(text.len());
        while !text.is_char_boundary(pos) {
            pos += 1;
        }
        Lexer { text, pos }
    }

    /// Where the next token will be looked for.
    pub fn pos(&self) -> usize {
        self.pos
    }

    /// The next token that is not a comment.
    pub fn next_code(&mut self) -> Option<Token> {
        self.by_ref().find(|t| t.kind != TokenKind::Comment)
    }
}

impl Iterator for Lexer<'_> {
    type Item = Token;

    fn next(&mut self) -> Option<Token> {
        let bytes = self.text.as_bytes();
        let mut i = self.pos;
        while bytes.get(i).is_some_and(u8::is_ascii_whitespace) {
            i += 1;
        }
        let &b = bytes.get(i)?;
        let start = i;
        let kind = if b == b'#' {
            i = memchr_newline(bytes, i);
            TokenKind::Comment
        } else if b == b'"' {
            i = string_end(bytes, i);
            TokenKind::Str
        } else if b.is_ascii_digit() {
            match date_end(bytes, i) {
                Some(end) => {
                    i = word_end(bytes, end);
                    TokenKind::Date
                }
                None => {
                    i = word_end(bytes, i);
                    // After a `.` it is a field name (`x.1.2` is two fields, not a decimal).
                    let field = start > 0 && bytes[start - 1] == b'.';
                    let all_digits = bytes[start..i].iter().all(u8::is_ascii_digit);
                    if !field
                        && all_digits
                        && bytes.get(i) == Some(&b'.')
                        && bytes.get(i + 1).is_some_and(u8::is_ascii_digit)
                    {
                        i = word_end(bytes, i + 1);
                    }
                    TokenKind::Number
                }
            }
        } else if is_word_byte(b) {
            i = word_end(bytes, i);
            if KEYWORDS.contains(&&self.text[start..i]) {
                TokenKind::Keyword
            } else {
                TokenKind::Name
            }
        } else {
            let rest = &self.text[i..];
            i += match OPS2.iter().find(|op| rest.starts_with(**op)) {
                Some(op) => op.len(),
                None => rest.chars().next().map_or(1, char::len_utf8),
            };
            TokenKind::Op
        };
        self.pos = i;
        Some(Token { kind, start, end: i })
    }
}

fn memchr_newline(bytes: &[u8], i: usize) -> usize {
    bytes[i..].iter().position(|b| *b == b'\n').map_or(bytes.len(), |n| i + n)
}

fn word_end(bytes: &[u8], mut i: usize) -> usize {
    while bytes.get(i).copied().is_some_and(is_word_byte) {
        i += 1;
    }
    i
}

/// The end of the string starting at the `"` at `i`: after its closing quote, or at the
/// line break (or the end of the text) when it is not closed. `\` escapes any character,
/// as in the grammar.
fn string_end(bytes: &[u8], i: usize) -> usize {
    let mut j = i + 1;
    while j < bytes.len() && bytes[j] != b'"' && bytes[j] != b'\n' {
        j += if bytes[j] == b'\\' { 2 } else { 1 };
    }
    match bytes.get(j) {
        Some(b'"') => j + 1,
        // An escape may have stepped into a multi-byte character; end on a boundary.
        _ => {
            let mut j = j.min(bytes.len());
            while j < bytes.len() && (bytes[j] & 0xC0) == 0x80 {
                j += 1;
            }
            j
        }
    }
}

/// The end of a date or date-time literal starting at `i`, if one starts there (so that
/// its `-` and `:` are not taken for operators).
fn date_end(b: &[u8], i: usize) -> Option<usize> {
    let digits = |from: usize, n: usize| b.get(from..from + n).is_some_and(|s| s.iter().all(u8::is_ascii_digit));
    let at = |j: usize, c: u8| b.get(j) == Some(&c);
    if !(digits(i, 4) && at(i + 4, b'-') && digits(i + 5, 2) && at(i + 7, b'-') && digits(i + 8, 2)) {
        return None;
    }
    let mut j = i + 10;
    if (at(j, b'T') || at(j, b't')) && digits(j + 1, 2) && at(j + 3, b':') && digits(j + 4, 2) && at(j + 6, b':') {
        j += 7;
        while b.get(j).is_some_and(|c| c.is_ascii_digit() || *c == b'.') {
            j += 1;
        }
        if at(j, b'Z') || at(j, b'z') {
            j += 1;
        } else if (at(j, b'+') || at(j, b'-')) && digits(j + 1, 2) && at(j + 3, b':') && digits(j + 4, 2) {
            j += 6;
        }
    }
    Some(j)
}

/// The token that starts at byte `pos` (a one-character `Op` when `pos` is whitespace;
/// empty at the end of the text).
pub fn token_at(text: &str, pos: usize) -> Token {
    let mut lexer = Lexer::at(text, pos);
    let pos = lexer.pos();
    match text[pos..].chars().next() {
        None => Token { kind: TokenKind::Op, start: pos, end: pos },
        Some(c) if c.is_ascii_whitespace() => Token { kind: TokenKind::Op, start: pos, end: pos + 1 },
        Some(_) => lexer.next().unwrap_or(Token { kind: TokenKind::Op, start: pos, end: pos }),
    }
}

/// The last token of `text[..pos]` that is not a comment (a token cut by `pos` ends there).
pub fn last_token(text: &str, pos: usize) -> Option<Token> {
    let mut end = pos.min(text.len());
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    Lexer::new(&text[..end]).filter(|t| t.kind != TokenKind::Comment).last()
}

/// Whether only whitespace and comments follow byte `pos`.
pub fn only_comments_after(text: &str, pos: usize) -> bool {
    Lexer::at(text, pos).next_code().is_none()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(text: &str) -> Vec<(TokenKind, &str)> {
        tokens(text).into_iter().map(|t| (t.kind, t.text(text))).collect()
    }

    #[test]
    fn lexes_every_kind_with_spans() {
        use TokenKind::*;
        let text = "rule a_1: role.2fa == \"x # y\\\"\" # c\n  # d\nb ?? -7 and 1.5 < 30d or x >= 2026-01-02T10:00:00Z";
        assert_eq!(
            kinds(text),
            vec![
                (Keyword, "rule"),
                (Name, "a_1"),
                (Op, ":"),
                (Name, "role"),
                (Op, "."),
                (Number, "2fa"),
                (Op, "=="),
                (Str, "\"x # y\\\"\""),
                (Comment, "# c"),
                (Comment, "# d"),
                (Name, "b"),
                (Op, "??"),
                (Op, "-"),
                (Number, "7"),
                (Keyword, "and"),
                (Number, "1.5"),
                (Op, "<"),
                (Number, "30d"),
                (Keyword, "or"),
                (Name, "x"),
                (Op, ">="),
                (Date, "2026-01-02T10:00:00Z"),
            ]
        );
    }

    #[test]
    fn odd_input_gives_tokens_on_char_boundaries() {
        for text in ["\"open\nnext", "\"esc\\", "\"\\é\"", "é ü → ∀", "\u{0}\u{7f}\"\\\n\"", "1.", "2026-01-0x", "##"]
        {
            let toks = tokens(text);
            let mut last = 0;
            for t in &toks {
                assert!(t.start >= last && t.end > t.start && t.end <= text.len(), "{text:?}: {t:?}");
                assert!(text.is_char_boundary(t.start) && text.is_char_boundary(t.end), "{text:?}: {t:?}");
                last = t.end;
            }
        }
        assert_eq!(kinds("\"open\nnext"), vec![(TokenKind::Str, "\"open"), (TokenKind::Name, "next")]);
        assert_eq!(kinds("\"a\\\nb\""), vec![(TokenKind::Str, "\"a\\\nb\"")]);
        let fields: Vec<_> = kinds("x.1.2").into_iter().map(|(_, t)| t).collect();
        assert_eq!(fields, ["x", ".", "1", ".", "2"]);
    }

    #[test]
    fn helpers() {
        let text = "a where # c\n  ";
        assert_eq!(last_token(text, text.len()).map(|t| t.text(text)), Some("where"));
        assert_eq!(last_token(text, 4).map(|t| t.text(text)), Some("wh"));
        assert!(only_comments_after(text, 7));
        assert!(!only_comments_after(text, 1));
        assert_eq!(token_at(text, 2).text(text), "where");
        assert_eq!(token_at(text, 1).end, 2);
        assert_eq!(token_at(text, text.len()).end, text.len());
    }

    #[test]
    fn a_huge_text_lexes_in_linear_time() {
        let text = "\"".repeat(1 << 20) + &"(".repeat(1 << 20) + &"#".repeat(1 << 20);
        let t = std::time::Instant::now();
        assert!(tokens(&text).len() > 1 << 20);
        assert!(t.elapsed().as_secs() < 20);
    }
}
