//! The words of the language the editor needs: builtins with their signatures and docs,
//! keywords, and a token classifier for semantic highlighting.
//!
//! replaced by the builtin table / lexer when merged: this is the language server's only
//! copy of that knowledge, so switching to the shared builtin table and the shared lexer
//! is an edit of this file alone.

/// A builtin function or value, as hover and completion show it.
#[derive(Debug)]
pub struct Builtin {
    pub name: &'static str,
    pub signature: &'static str,
    pub doc: &'static str,
}

// replaced by the builtin table / lexer when merged
pub const BUILTINS: &[Builtin] = &[
    Builtin { name: "count", signature: "count(LIST) -> int", doc: "The number of elements of the list." },
    Builtin {
        name: "sum",
        signature: "sum(LIST) -> number",
        doc: "The sum of a list of numbers or durations; 0 for an empty list.",
    },
    Builtin {
        name: "min",
        signature: "min(LIST) -> value",
        doc: "The smallest element; an evaluation error for an empty list.",
    },
    Builtin {
        name: "max",
        signature: "max(LIST) -> value",
        doc: "The largest element; an evaluation error for an empty list.",
    },
    Builtin {
        name: "avg",
        signature: "avg(LIST) -> decimal",
        doc: "The mean of a list of numbers; an evaluation error for an empty list.",
    },
    Builtin {
        name: "any",
        signature: "any(LIST [as NAME]: PRED) -> bool",
        doc: "True when the predicate holds for at least one element.",
    },
    Builtin {
        name: "all",
        signature: "all(LIST [as NAME]: PRED) -> bool",
        doc: "True when the predicate holds for every element (true for an empty list).",
    },
    Builtin {
        name: "none",
        signature: "none(LIST [as NAME]: PRED) -> bool",
        doc: "True when the predicate holds for no element.",
    },
    Builtin {
        name: "len",
        signature: "len(STRING | LIST) -> int",
        doc: "The length of a string (in characters) or of a list.",
    },
    Builtin { name: "lower", signature: "lower(STRING) -> string", doc: "The string in lower case." },
    Builtin { name: "upper", signature: "upper(STRING) -> string", doc: "The string in upper case." },
    Builtin {
        name: "starts_with",
        signature: "starts_with(STRING, PREFIX) -> bool",
        doc: "True when the string starts with the prefix.",
    },
    Builtin {
        name: "ends_with",
        signature: "ends_with(STRING, SUFFIX) -> bool",
        doc: "True when the string ends with the suffix.",
    },
    Builtin {
        name: "contains",
        signature: "contains(STRING | LIST, X) -> bool",
        doc: "True when the string contains the substring, or the list the element.",
    },
    Builtin {
        name: "has",
        signature: "has(PATH) -> bool",
        doc: "True when the field is present in the snapshot and not null (a model default does not count).",
    },
    Builtin { name: "age", signature: "age(DATE) -> duration", doc: "`now - DATE`: how long ago the date was." },
    Builtin { name: "days", signature: "days(DURATION) -> decimal", doc: "The duration in days." },
    Builtin { name: "abs", signature: "abs(NUMBER | DURATION) -> number", doc: "The absolute value." },
    Builtin {
        name: "now",
        signature: "now: date",
        doc: "The evaluation instant, fixed for a whole run (`--now`, default the current time).",
    },
];

/// Finds a builtin by name.
pub fn builtin(name: &str) -> Option<&'static Builtin> {
    BUILTINS.iter().find(|b| b.name == name)
}

// replaced by the builtin table / lexer when merged
pub const KEYWORDS: &[&str] = &[
    "policy", "rule", "let", "when", "requires", "and", "or", "not", "in", "matches", "as", "where", "true", "false",
    "null",
];

/// The kind of a token, for semantic highlighting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tok {
    Comment,
    Str,
    Number,
    Keyword,
    Operator,
    /// An identifier; what it names is decided by the caller (kind, field, parameter…).
    Ident,
    /// An identifier right after a `.`.
    Member,
    /// `@name`.
    Annotation,
    Punct,
}

/// Splits `.tenet` text into tokens with their byte ranges; never fails (unknown bytes are
/// punctuation).
// replaced by the builtin table / lexer when merged
pub fn tokens(text: &str) -> Vec<(Tok, usize, usize)> {
    let b = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    let ident = |c: u8| c.is_ascii_alphanumeric() || c == b'_';
    while i < b.len() {
        let c = b[i];
        let start = i;
        if c == b'#' {
            while i < b.len() && b[i] != b'\n' {
                i += 1;
            }
            out.push((Tok::Comment, start, i));
        } else if c == b'"' {
            i += 1;
            while i < b.len() && b[i] != b'"' && b[i] != b'\n' {
                i += if b[i] == b'\\' { 2 } else { 1 };
            }
            i = (i + 1).min(b.len());
            out.push((Tok::Str, start, i));
        } else if c == b'@' {
            i += 1;
            while i < b.len() && ident(b[i]) {
                i += 1;
            }
            out.push((Tok::Annotation, start, i));
        } else if c.is_ascii_digit() && !(start > 0 && b[start - 1] == b'.') {
            // Numbers, durations (`12h`), dates and date-times.
            while i < b.len() && (ident(b[i]) || matches!(b[i], b'.' | b'-' | b':' | b'+')) {
                if matches!(b[i], b'-' | b'+' | b'.' | b':') && !b.get(i + 1).is_some_and(u8::is_ascii_digit) {
                    break;
                }
                i += 1;
            }
            out.push((Tok::Number, start, i));
        } else if ident(c) {
            while i < b.len() && ident(b[i]) {
                i += 1;
            }
            let word = &text[start..i];
            let after_dot = text[..start].trim_end_matches([' ', '\t']).ends_with('.');
            let tok = if after_dot {
                Tok::Member
            } else if KEYWORDS.contains(&word) {
                Tok::Keyword
            } else {
                Tok::Ident
            };
            out.push((tok, start, i));
        } else if c.is_ascii_whitespace() {
            i += 1;
        } else {
            // One character (a whole UTF-8 sequence for non-ASCII).
            i += text[i..].chars().next().map_or(1, char::len_utf8);
            let tok = if b"=!<>+-*/%?".contains(&c) { Tok::Operator } else { Tok::Punct };
            out.push((tok, start, i));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_classify_the_words_of_a_rule() {
        let text = "@severity(error)\nrule a: role.2fa and count(x) > 3 # note\n";
        let toks: Vec<(Tok, &str)> = tokens(text).into_iter().map(|(t, s, e)| (t, &text[s..e])).collect();
        assert!(toks.contains(&(Tok::Annotation, "@severity")));
        assert!(toks.contains(&(Tok::Keyword, "rule")));
        assert!(toks.contains(&(Tok::Member, "2fa")));
        assert!(toks.contains(&(Tok::Number, "3")));
        assert!(toks.contains(&(Tok::Comment, "# note")));
        assert!(toks.contains(&(Tok::Operator, ">")));
    }

    #[test]
    fn every_builtin_is_found_by_name() {
        assert!(BUILTINS.iter().all(|b| builtin(b.name).is_some() && b.signature.starts_with(b.name)));
    }
}
