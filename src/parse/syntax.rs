//! Syntax errors: a pest error → one diagnostic that names what was found (a whole token,
//! not a character) and what could have come instead, in the language's words.
//!
//! pest reports the rules and literal tokens it tried at the furthest position. Those are
//! grouped into a few phrases ("an expression", "an operator", "`:`"); common mistakes get
//! their own message: a chained comparison, an unclosed string or bracket, an unmatched
//! closing bracket, a missing operand at the end of a rule, `&&`/`||`/`=`.

use super::build::OffsetMap;
use super::lex::{self, Lexer, TokenKind, ITEM_KEYWORDS, KEYWORDS};
use super::pest::{rule_name, Rule};
use crate::diagnostic::{did_you_mean, Code, Diagnostic};
use crate::source::{SourceFile, Span};

const COMPARISONS: &[&str] = &["==", "!=", "<=", ">=", "<", ">", "in", "matches", "not"];
/// Tokens that continue an expression (`-` and `not` also start one, so they do not count).
const OPERATORS: &[&str] = &["+", "*", "/", "%", "??", "and", "or", "requires", "==", "<"];
/// Characters that mean something outside strings and comments.
const LANGUAGE_CHARS: &str = "()[]{}.,:@+-*/%<>=!?\"#_";

/// Turns a pest error on `text` (mapped into `file` by `map`) into a diagnostic.
pub(super) fn syntax_error(file: &SourceFile, text: &str, map: &OffsetMap, e: &pest::error::Error<Rule>) -> Diagnostic {
    use pest::error::{ErrorVariant, InputLocation};
    let pos = match e.location {
        InputLocation::Pos(p) => p,
        InputLocation::Span((s, _)) => s,
    }
    .min(text.len());
    let sp = |s: usize, e: usize| map.span(Span::new(s, e));
    let positives: Vec<Rule> = match &e.variant {
        ErrorVariant::ParsingError { positives, .. } => positives.clone(),
        ErrorVariant::CustomError { message } => {
            let (code, msg) = if message.contains("stack limit") {
                (Code::TooDeep, "expression is nested too deeply to parse")
            } else if message.contains("call limit") {
                (Code::Syntax, "policy is too complex to parse (parser call limit reached)")
            } else {
                (Code::Syntax, message.as_str())
            };
            let t = lex::token_at(text, pos);
            return Diagnostic::new(code, file, sp(t.start, t.end), msg.to_string())
                .label("here")
                .help("split long expressions with `let` derived fields");
        }
    };
    // pest places the error at the last *rule* it tried; a literal token (`=`, `:`) tried
    // further on moves it there, unless the error is an unclosed string.
    let attempts = e.parse_attempts();
    let furthest = attempts.as_ref().map_or(pos, |a| a.max_position.min(text.len()));
    let at = lex::token_at(text, pos);
    let unclosed_string =
        at.kind == TokenKind::Str && (at.end <= pos + 1 || text.as_bytes().get(at.end - 1) != Some(&b'"'));
    // …but not when it only got as far as the end of the token at the error (a keyword's
    // `!ident_char` lookahead: `rule when:`).
    let te = at.end;
    let keyword = at.kind == TokenKind::Keyword;
    let pos = if (furthest > te || (furthest == te && !keyword)) && furthest > pos && !unclosed_string {
        furthest
    } else {
        pos
    };
    let tokens: Vec<String> = match attempts {
        Some(a) if a.max_position == pos => a.expected_tokens().iter().map(ToString::to_string).collect(),
        _ => Vec::new(),
    };
    let mut expected = expected_phrases(&positives, &tokens);
    let has = |t: &str| tokens.iter().any(|x| x == t);
    // After `where`, the expression expected is the filter's condition.
    let after_where = lex::last_token(text, pos).map(|t| t.text(text)) == Some("where");
    if after_where {
        for x in expected.iter_mut().filter(|x| *x == "an expression") {
            *x = "a condition".into();
        }
    }

    // Nothing but whitespace and comments left: the text ended too early.
    if lex::only_comments_after(text, pos) {
        if let Some((open, close)) = unclosed_bracket(text, pos) {
            if has(close) || expected.is_empty() {
                let o = open_char(close);
                return Diagnostic::new(Code::Syntax, file, sp(open, open + 1), format!("unclosed `{o}`"))
                    .label("never closed")
                    .help(format!("add the matching `{close}`"));
            }
        }
        let what = if expected.is_empty() { "more".to_string() } else { join_or(&expected) };
        return match lex::last_token(text, pos) {
            Some(t) => {
                let (s, e, tok) = (t.start, t.end, t.text(text));
                let d = Diagnostic::new(Code::Syntax, file, sp(s, e), format!("expected {what} after `{tok}`"))
                    .label(format!("expected {what} after this"));
                if after_where {
                    d.help("a filter is `LIST where CONDITION`: `user.sessions where session.client == \"web\"`")
                } else {
                    d
                }
            }
            None => Diagnostic::new(Code::Syntax, file, sp(pos, pos), format!("expected {what}")).label("here"),
        };
    }

    let at = lex::token_at(text, pos);
    let (s, e) = (at.start, at.end);
    let found = at.text(text);
    let shown = shorten(found);
    let span = sp(s, e);
    let d = |msg: String| Diagnostic::new(Code::Syntax, file, span, msg);

    // `rul name: …`, `polcy "x"`: a misspelled keyword starts the line.
    if let Some((ws, we, keyword)) = keyword_typo(text, s, e) {
        let word = text.get(ws..we).unwrap_or("");
        return Diagnostic::new(Code::Syntax, file, sp(ws, we), format!("unknown keyword `{word}`"))
            .label("not a keyword")
            .help(format!("did you mean `{keyword}`?"));
    }

    // A second comparison right after a first one: `a < b < c`.
    if COMPARISONS.contains(&found) && !has("==") && expected.iter().any(|x| x == "an operator") {
        return d("comparison operators cannot be chained".into())
            .label("second comparison")
            .help("compare twice and join with `and`: `a < b and b < c`");
    }
    if found.starts_with('"') && !found.ends_with('"') || found == "\"" {
        return d("unclosed string".into())
            .label("this string is not closed on its line")
            .help("add the closing `\"`; a string cannot span lines (write `\\n` for a line break)");
    }
    if matches!(found, ")" | "]" | "}") && unclosed_bracket(text, s).is_none_or(|(_, c)| c != found) {
        let open = open_char(found);
        return d(format!("unmatched `{found}`"))
            .label(format!("no `{open}` to close"))
            .help(format!("remove it, or add the `{open}` it closes"));
    }
    let help = match found {
        _ if after_where => {
            Some("a filter is `LIST where CONDITION`: `user.sessions where session.client == \"web\"`".into())
        }
        "&&" | "&" => Some("write `and`".to_string()),
        "||" | "|" => Some("write `or`".to_string()),
        "!" => Some("write `not`".to_string()),
        "=" => Some("write `==` to compare".to_string()),
        "'" => Some("strings are written in double quotes: `\"…\"`".to_string()),
        _ if KEYWORDS.contains(&found) && expected.iter().any(|x| x == "a name") => {
            Some(format!("`{found}` is a keyword and cannot be a name"))
        }
        _ if expected.len() == 1
            && expected[0] == "a string"
            && found.chars().all(|c| c.is_ascii_alphanumeric() || "_-.".contains(c)) =>
        {
            Some(format!("quote it: `\"{found}\"`"))
        }
        _ if has(":") && has("when") => Some("a rule is `rule NAME: EXPR` or `rule NAME when GUARD: EXPR`".to_string()),
        _ => None,
    };
    let foreign = found.chars().next().is_some_and(|c| !c.is_ascii_alphanumeric() && !LANGUAGE_CHARS.contains(c));
    let what = if found.chars().count() == 1 { format!("character `{shown}`") } else { format!("`{shown}`") };
    let (msg, label) = match (foreign, expected.is_empty()) {
        (true, true) => (format!("unexpected {what}"), "not part of the language".to_string()),
        (true, false) => (format!("unexpected {what}"), format!("expected {}", join_or(&expected))),
        (false, true) => (format!("unexpected `{shown}`"), "not valid here".to_string()),
        (false, false) => (format!("expected {}, found `{shown}`", join_or(&expected)), "unexpected here".to_string()),
    };
    d(msg).label(label).help_opt(help)
}

/// What could have come instead, as a short list of phrases.
fn expected_phrases(positives: &[Rule], tokens: &[String]) -> Vec<String> {
    let has = |t: &str| tokens.iter().any(|x| x == t);
    let mut out: Vec<String> = Vec::new();
    let expr_start = (has("(") && has("\"")) || positives.iter().any(|r| is_expr_rule(*r));
    for punct in [":", ")", "]", ",", "="] {
        if has(punct) {
            out.push(format!("`{punct}`"));
        }
    }
    let operator = OPERATORS.iter().any(|o| has(o))
        || positives.iter().any(|r| {
            matches!(r, Rule::cmp_op | Rule::add_op | Rule::mul_op | Rule::kw_and | Rule::kw_or | Rule::kw_requires)
        });
    if has("(") && !expr_start && !operator {
        out.push("`(`".into());
    }
    if has("when") {
        out.push("`when`".into());
    }
    let items = ITEM_KEYWORDS.iter().filter(|k| has(k)).count();
    if items >= 2 {
        out.push("`policy`, `rule`, `let` or a parameter".into());
    }
    if positives.contains(&Rule::string) || (has("\"") && !expr_start) {
        out.push("a string".into());
    }
    if expr_start {
        out.push("an expression".into());
    } else if positives.contains(&Rule::ident) || positives.contains(&Rule::field_name) {
        out.push(if positives.contains(&Rule::field_name) { "a field name" } else { "a name" }.into());
    }
    if operator {
        out.push("an operator".into());
    }
    if out.is_empty() {
        // Fall back on pest's rule names.
        let mut names: Vec<&str> = positives.iter().filter_map(|r| rule_name(*r)).collect();
        names.sort_unstable();
        names.dedup();
        out.extend(names.into_iter().filter(|n| *n != "end of input").map(String::from));
    }
    out
}

fn is_expr_rule(r: Rule) -> bool {
    matches!(
        r,
        Rule::expr
            | Rule::implication
            | Rule::disjunction
            | Rule::conjunction
            | Rule::negation
            | Rule::comparison
            | Rule::coalesce
            | Rule::additive
            | Rule::multiplicative
            | Rule::unary
            | Rule::filtered
            | Rule::postfix
    )
}

fn join_or(names: &[String]) -> String {
    match names {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} or {last}", init.join(", ")),
    }
}

fn open_char(close: &str) -> &'static str {
    match close {
        ")" => "(",
        "]" => "[",
        _ => "{",
    }
}

/// The innermost bracket opened before `pos` and not closed, with its closing bracket.
fn unclosed_bracket(text: &str, pos: usize) -> Option<(usize, &'static str)> {
    let mut stack: Vec<(usize, &'static str)> = Vec::new();
    for t in Lexer::new(text).take_while(|t| t.start < pos).filter(|t| t.kind == TokenKind::Op) {
        match t.text(text) {
            "(" => stack.push((t.start, ")")),
            "[" => stack.push((t.start, "]")),
            "{" => stack.push((t.start, "}")),
            ")" | "]" | "}" => {
                stack.pop();
            }
            _ => {}
        }
    }
    stack.last().copied()
}

/// A misspelled item keyword at the start of the line that failed: the token found
/// (`rul r: …` after another item) or the word before it (`polcy "x"`). Returns the word's
/// range and the keyword meant.
fn keyword_typo(text: &str, start: usize, end: usize) -> Option<(usize, usize, &'static str)> {
    let line_start = text.get(..start)?.rfind('\n').map_or(0, |i| i + 1);
    let prefix = text.get(line_start..start)?;
    let (ws, we) = if prefix.trim().is_empty() {
        (start, end)
    } else {
        let lead = prefix.len() - prefix.trim_start().len();
        (line_start + lead, line_start + lead + prefix.trim().len())
    };
    let word = text.get(ws..we)?;
    if word.is_empty() || !word.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') || KEYWORDS.contains(&word) {
        return None;
    }
    // Shaped like an item: the word, a space, then a name or a string (`rul name`, `polcy "x"`).
    let after = text.get(we..)?;
    let rest = after.trim_start_matches([' ', '\t']);
    if rest.len() == after.len() || !rest.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_' || c == '"') {
        return None;
    }
    did_you_mean(word, ITEM_KEYWORDS.iter().copied()).map(|k| (ws, we, k))
}

/// A token as shown in a message: long strings are cut (`"Ask the user…"`).
fn shorten(token: &str) -> String {
    const MAX: usize = 24;
    if token.chars().count() <= MAX {
        return token.to_string();
    }
    let cut: String = token.chars().take(MAX).collect();
    format!("{cut}…")
}
