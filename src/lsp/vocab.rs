//! The words of the language the editor needs, read from their one source each: builtins
//! (signature and doc) from the builtin table `crate::builtins`, keywords and tokens from
//! the lexer `crate::parse::lex`. This file only maps them to what hover, completion and
//! semantic highlighting show; it knows no builtin and no token of its own.

use crate::parse::lex::{self, TokenKind};

/// A builtin function or value, as hover and completion show it.
#[derive(Debug, Clone, Copy)]
pub struct Builtin {
    pub name: &'static str,
    pub signature: &'static str,
    pub doc: &'static str,
}

/// `now` is a name the checker resolves itself (the evaluation instant), not a function of
/// the builtin table, so it is described here.
const NOW: Builtin = Builtin {
    name: "now",
    signature: "now: date",
    doc: "The evaluation instant, fixed for a whole run (`--now`, default the current time).",
};

/// Every builtin of the table, then `now`.
pub fn builtins() -> impl Iterator<Item = Builtin> {
    crate::builtins::BUILTINS
        .iter()
        .map(|b| Builtin { name: b.name, signature: b.signature, doc: b.doc })
        .chain(std::iter::once(NOW))
}

/// Finds a builtin by name.
pub fn builtin(name: &str) -> Option<Builtin> {
    if name == NOW.name {
        return Some(NOW);
    }
    crate::builtins::lookup(name).map(|b| Builtin { name: b.name, signature: b.signature, doc: b.doc })
}

/// The words the grammar reserves.
pub const KEYWORDS: &[&str] = lex::KEYWORDS;

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

/// The tokens of `.tenet` text with their byte ranges, classified for highlighting: the
/// shared lexer's tokens, with a word after `.` a member and `@` plus a name an annotation.
pub fn tokens(text: &str) -> Vec<(Tok, usize, usize)> {
    let mut out: Vec<(Tok, usize, usize)> = Vec::new();
    let mut prev: Option<lex::Token> = None;
    for t in lex::tokens(text) {
        let after = |s: &str| prev.is_some_and(|p| p.kind == TokenKind::Op && p.text(text) == s && p.end == t.start);
        let after_dot = prev.is_some_and(|p| p.kind == TokenKind::Op && p.text(text) == ".");
        let tok = match t.kind {
            TokenKind::Comment => Tok::Comment,
            TokenKind::Str => Tok::Str,
            k if k.is_word() && after_dot => Tok::Member,
            TokenKind::Name if after("@") => {
                // `@` and the name are one annotation token.
                out.pop();
                out.push((Tok::Annotation, t.start - 1, t.end));
                prev = Some(t);
                continue;
            }
            TokenKind::Number | TokenKind::Date => Tok::Number,
            TokenKind::Keyword => Tok::Keyword,
            TokenKind::Name => Tok::Ident,
            TokenKind::Op => {
                let c = t.text(text).as_bytes().first().copied().unwrap_or(0);
                if b"=!<>+-*/%?".contains(&c) {
                    Tok::Operator
                } else {
                    Tok::Punct
                }
            }
        };
        out.push((tok, t.start, t.end));
        prev = Some(t);
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
        assert!(builtins().all(|b| builtin(b.name).is_some() && b.signature.starts_with(b.name)));
        assert!(builtins().any(|b| b.name == "count") && builtin("now").is_some());
    }
}
