//! A spanned YAML tree for the files people write (policies, models, tests).
//!
//! serde-saphyr gives every node a location; [`YNode`] keeps it as a byte [`Span`] so that
//! diagnostics point into the YAML file. Tenant snapshots do not use this tree: they are
//! decoded straight into entity tables by `snapshot::decode`.

use crate::diagnostic::{Code, Diagnostic};
use crate::source::{SourceFile, Span};
use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_saphyr::Spanned;
use std::fmt;

/// A YAML node with its span.
#[derive(Debug, Clone)]
pub struct YNode {
    pub span: Span,
    pub value: YValue,
}

#[derive(Debug, Clone)]
pub enum YValue {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    Seq(Vec<YNode>),
    Map(Vec<(YKey, YNode)>),
}

#[derive(Debug, Clone)]
pub struct YKey {
    pub name: String,
    pub span: Span,
}

impl YNode {
    pub fn as_str(&self) -> Option<&str> {
        match &self.value {
            YValue::Str(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_map(&self) -> Option<&[(YKey, YNode)]> {
        match &self.value {
            YValue::Map(m) => Some(m),
            _ => None,
        }
    }

    pub fn get(&self, key: &str) -> Option<&YNode> {
        self.as_map()?.iter().find(|(k, _)| k.name == key).map(|(_, v)| v)
    }

    pub fn type_name(&self) -> &'static str {
        match self.value {
            YValue::Null => "null",
            YValue::Bool(_) => "a boolean",
            YValue::Int(_) => "an integer",
            YValue::Float(_) => "a number",
            YValue::Str(_) => "a string",
            YValue::Seq(_) => "a list",
            YValue::Map(_) => "a mapping",
        }
    }
}

/// Budgets of YAML files written by people (policies, models, tests): far beyond any real
/// file, small enough that no file can exhaust memory or time.
const MAX_DEPTH: usize = 64;
const MAX_EVENTS: usize = 2_000_000;
const MAX_NODES: usize = 1_000_000;
const MAX_ALIASES: usize = 1_000;
const MAX_ANCHORS: usize = 1_000;

/// Options for YAML written by people: YAML 1.2 booleans, tight alias and depth budgets.
pub fn options() -> serde_saphyr::Options {
    serde_saphyr::options! {
        budget: serde_saphyr::budget! {
            max_depth: MAX_DEPTH,
            max_events: MAX_EVENTS,
            max_nodes: MAX_NODES,
            max_aliases: MAX_ALIASES,
            max_anchors: MAX_ANCHORS,
        },
        alias_limits: serde_saphyr::alias_limits! {
            max_total_replayed_events: 100_000,
            max_replay_stack_depth: 16,
        },
        strict_booleans: true,
        with_snippet: false,
        // Repeated keys reach the tree, where [`parse`] reports each with both spans.
        duplicate_keys: serde_saphyr::options::DuplicateKeyPolicy::PassThrough,
    }
}

/// Parses a YAML file into a spanned tree, or the diagnostics saying where and why not: one
/// for invalid YAML, or one per key given twice in a mapping (anywhere in the file, with
/// both places: which one was meant is the author's call, so neither is taken).
/// `code` is the code of the file's structural problems (T050 policy, T060 model, T070 test).
pub fn parse(file: &SourceFile, code: Code) -> Result<YNode, Vec<Diagnostic>> {
    let text: &str = &file.text;
    let res: Result<Spanned<RawNode>, _> = serde_saphyr::from_str_with_options(text, options());
    match res {
        Ok(node) => {
            let root = convert(text, node);
            let mut diags = Vec::new();
            duplicate_keys(file, code, &root, &mut diags);
            if diags.is_empty() {
                Ok(root)
            } else {
                Err(diags)
            }
        }
        Err(e) => Err(vec![yaml_error(file, code, &e)]),
    }
}

/// Reports every key given twice in one mapping of the tree (iteratively: no recursion on
/// depth, which the parser's budget bounds anyway).
fn duplicate_keys(file: &SourceFile, code: Code, root: &YNode, diags: &mut Vec<Diagnostic>) {
    let mut stack = vec![root];
    while let Some(node) = stack.pop() {
        match &node.value {
            YValue::Seq(items) => stack.extend(items.iter().rev()),
            YValue::Map(entries) => {
                let mut first: std::collections::HashMap<&str, Span> = std::collections::HashMap::new();
                for (k, _) in entries {
                    match first.get(k.name.as_str()) {
                        Some(&at) => diags.push(
                            Diagnostic::new(code, file, k.span, format!("duplicate key `{}`", k.name))
                                .label("given again here")
                                .related(at, "first given here")
                                .help("a key appears once in a mapping: remove one of them"),
                        ),
                        None => {
                            first.insert(&k.name, k.span);
                        }
                    }
                }
                stack.extend(entries.iter().rev().map(|(_, v)| v));
            }
            _ => {}
        }
    }
    diags.sort_by_key(|d| d.span.start);
}

/// Reports the keys of a mapping that are not in `valid`, in one wording for every YAML file
/// (policies, models, tests): the key, a likely intended key ("did you mean"), and the valid
/// keys. Returns the valid keys suggested, so that a caller does not also report them as
/// missing. (Keys given twice are reported by [`parse`].)
pub fn unknown_keys<'v>(
    file: &SourceFile,
    code: Code,
    entries: &[(YKey, YNode)],
    valid: &[&'v str],
    what: &str,
    diags: &mut Vec<Diagnostic>,
) -> Vec<&'v str> {
    let mut meant = Vec::new();
    for (k, _) in entries {
        if valid.contains(&k.name.as_str()) {
            continue;
        }
        let listed = valid.iter().map(|v| format!("`{v}`")).collect::<Vec<_>>().join(", ");
        let suggestion = crate::diagnostic::did_you_mean(&k.name, valid.iter().copied());
        let help = match suggestion {
            Some(s) => format!("did you mean `{s}`? the keys of {what} are {listed}"),
            None => format!("the keys of {what} are {listed}"),
        };
        meant.extend(suggestion);
        diags.push(
            Diagnostic::new(code, file, k.span, format!("unknown key `{}` in {what}", k.name))
                .label("unknown key")
                .help(help),
        );
    }
    meant
}

/// Converts a serde-saphyr error into a diagnostic at its location.
pub fn yaml_error(file: &SourceFile, code: Code, e: &serde_saphyr::Error) -> Diagnostic {
    let span = e.location().map_or(Span::new(0, 0), |l| location_span(&file.text, &l));
    if let serde_saphyr::Error::Budget { breach, .. } = e {
        return Diagnostic::new(code, file, span, format!("YAML file over a limit: {}", budget_breach(breach)))
            .label("here")
            .help("split the file, or remove repetition (a file people write stays far below these limits)");
    }
    let msg = e.without_snippet().to_string();
    let msg = strip_location(&msg);
    Diagnostic::new(code, file, span, format!("invalid YAML: {msg}")).label("here").help(
        "check the indentation on this line and the one before, and quote values that contain a colon, `#`, `{` or `[`",
    )
}

/// Which budget a YAML file went over, in words.
fn budget_breach(b: &serde_saphyr::budget::BudgetBreach) -> String {
    use serde_saphyr::budget::BudgetBreach as B;
    match b {
        B::Depth { .. } => format!("nested deeper than {MAX_DEPTH} levels"),
        B::Events { .. } => format!("more than {MAX_EVENTS} parser events"),
        B::Nodes { .. } => format!("more than {MAX_NODES} nodes (values, keys and items)"),
        B::Aliases { .. } => format!("more than {MAX_ALIASES} aliases"),
        B::Anchors { .. } => format!("more than {MAX_ANCHORS} anchors"),
        _ => "too large or too complex (aliases expand too far)".to_string(),
    }
}

/// Removes serde-saphyr's " at line L, column C" suffix (the span says where).
pub fn strip_location(msg: &str) -> String {
    match msg.rfind(" at line ") {
        Some(i) => msg[..i].to_string(),
        None => msg.to_string(),
    }
}

/// The byte span of a location: its byte range if known, else its line and column.
pub fn location_span(text: &str, loc: &serde_saphyr::Location) -> Span {
    let sp = loc.span();
    if let (Some(o), Some(l)) = (sp.byte_offset(), sp.byte_len()) {
        return Span::new(o as usize, (o + l) as usize);
    }
    let line = loc.line().max(1) as usize;
    let col = loc.column().max(1) as usize;
    let start: usize = text.split_inclusive('\n').take(line - 1).map(str::len).sum();
    let line_text = text.get(start..).unwrap_or("").lines().next().unwrap_or("");
    let byte_col: usize = line_text.chars().take(col - 1).map(char::len_utf8).sum();
    let at = (start + byte_col).min(text.len());
    let len = text.get(at..).and_then(|s| s.chars().next()).map_or(0, char::len_utf8);
    Span::new(at, at + len)
}

// ----------------------------------------------------------------- deserialization

#[derive(Debug)]
enum RawNode {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    Seq(Vec<Spanned<RawNode>>),
    Map(Vec<(Spanned<String>, Spanned<RawNode>)>),
}

fn convert(text: &str, node: Spanned<RawNode>) -> YNode {
    let mut span = location_span(text, &node.referenced);
    if matches!(node.value, RawNode::Seq(_) | RawNode::Map(_)) {
        span = flow_span(text, span);
    }
    let value = match node.value {
        RawNode::Null => YValue::Null,
        RawNode::Bool(b) => YValue::Bool(b),
        RawNode::Int(i) => YValue::Int(i),
        RawNode::Float(f) => YValue::Float(f),
        RawNode::Str(s) => YValue::Str(s),
        RawNode::Seq(items) => YValue::Seq(items.into_iter().map(|n| convert(text, n)).collect()),
        RawNode::Map(entries) => YValue::Map(
            entries
                .into_iter()
                .map(|(k, v)| (YKey { span: location_span(text, &k.referenced), name: k.value }, convert(text, v)))
                .collect(),
        ),
    };
    YNode { span, value }
}

/// A flow collection (`[1, 2]`, `{a: 1}`) spans to its closing bracket; the parser gives
/// only its first character.
fn flow_span(text: &str, span: Span) -> Span {
    let bytes = text.as_bytes();
    let start = span.start as usize;
    if !matches!(bytes.get(start), Some(b'[' | b'{')) {
        return span;
    }
    let mut depth = 0usize;
    let mut i = start;
    while i < bytes.len() {
        match bytes[i] {
            b'[' | b'{' => depth += 1,
            b']' | b'}' => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    return Span::new(start, i + 1);
                }
            }
            q @ (b'"' | b'\'') => {
                i += 1;
                while i < bytes.len() && bytes[i] != q {
                    i += if q == b'"' && bytes[i] == b'\\' { 2 } else { 1 };
                }
            }
            _ => {}
        }
        i += 1;
    }
    span
}

impl<'de> Deserialize<'de> for RawNode {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(RawVisitor)
    }
}

struct RawVisitor;

impl<'de> Visitor<'de> for RawVisitor {
    type Value = RawNode;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any YAML value")
    }

    fn visit_unit<E>(self) -> Result<RawNode, E> {
        Ok(RawNode::Null)
    }

    fn visit_none<E>(self) -> Result<RawNode, E> {
        Ok(RawNode::Null)
    }

    fn visit_bool<E>(self, v: bool) -> Result<RawNode, E> {
        Ok(RawNode::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<RawNode, E> {
        Ok(RawNode::Int(v))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<RawNode, E> {
        i64::try_from(v).map(RawNode::Int).map_err(|_| E::custom("integer does not fit in 64 bits"))
    }

    fn visit_f64<E>(self, v: f64) -> Result<RawNode, E> {
        Ok(RawNode::Float(v))
    }

    fn visit_str<E>(self, v: &str) -> Result<RawNode, E> {
        Ok(RawNode::Str(v.to_string()))
    }

    fn visit_string<E>(self, v: String) -> Result<RawNode, E> {
        Ok(RawNode::Str(v))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<RawNode, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element::<Spanned<RawNode>>()? {
            items.push(item);
        }
        Ok(RawNode::Seq(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<RawNode, A::Error> {
        let mut entries = Vec::new();
        while let Some(k) = map.next_key::<Spanned<String>>()? {
            let v = map.next_value::<Spanned<RawNode>>()?;
            entries.push((k, v));
        }
        Ok(RawNode::Map(entries))
    }
}

/// The offset map of a string scalar's content: for every byte of the value (plus one for
/// its end), where in the file the text it came from starts and ends. Exact for plain,
/// single- and double-quoted scalars, on one line or many (every YAML escape, `''`, line
/// folding, escaped line breaks); close for block scalars (see `align`). When the value
/// cannot be matched with the text, every byte maps to the scalar's start.
pub fn scalar_offsets(text: &str, span: Span, value: &str) -> (Vec<u32>, Vec<u32>) {
    let raw = text.get(span.start as usize..span.end as usize).unwrap_or("");
    let base = span.start;
    let verbatim = |from: u32, n: usize| -> (Vec<u32>, Vec<u32>) {
        ((0..=n as u32).map(|i| from + i).collect(), (0..=n as u32).map(|i| from + i + 1).collect())
    };
    if raw == value {
        return verbatim(base, value.len());
    }
    let quoted = |q: char| raw.len() >= 2 && raw.starts_with(q) && raw.ends_with(q);
    let flow = if quoted('"') {
        flow_scalar(&raw[1..raw.len() - 1], base + 1, Style::Double)
    } else if quoted('\'') {
        flow_scalar(&raw[1..raw.len() - 1], base + 1, Style::Single)
    } else if !raw.starts_with(['|', '>']) {
        flow_scalar(raw, base, Style::Plain)
    } else {
        None
    };
    if let Some((v, starts, ends)) = flow {
        if v == value {
            return (starts, ends);
        }
    }
    match align(raw, base, value) {
        Some(starts) => {
            let ends = starts.iter().map(|s| s + 1).collect();
            (starts, ends)
        }
        None => (vec![base; value.len() + 1], vec![base; value.len() + 1]),
    }
}

/// How a flow scalar is written.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Style {
    Plain,
    Single,
    Double,
}

/// A flow scalar's value read from its text (inside the quotes) as YAML reads it, with the
/// source range of every value byte: escapes (double-quoted), `''` (single-quoted), and line
/// folding (trailing white space before a line break dropped, leading white space after it
/// dropped, one break read as a space, N breaks as N-1 newlines; an escaped break as
/// nothing). None when the text is not a valid scalar of that style.
fn flow_scalar(inner: &str, base: u32, style: Style) -> Option<(String, Vec<u32>, Vec<u32>)> {
    let b = inner.as_bytes();
    let mut acc = Acc { base, out: String::with_capacity(inner.len()), starts: Vec::new(), ends: Vec::new() };
    // The length of the value up to its last byte that folding must keep (not white space
    // written as it is).
    let mut keep = 0usize;
    let is_white = |c: u8| c == b' ' || c == b'\t';
    let is_break = |c: u8| c == b'\n' || c == b'\r';
    let break_len = |j: usize| if b.get(j..j + 2) == Some(b"\r\n") { 2 } else { 1 };
    let mut i = 0;
    while i < b.len() {
        let c = inner.get(i..)?.chars().next()?;
        match c {
            '\\' if style == Style::Double => {
                let e = *b.get(i + 1)?;
                if is_break(e) {
                    // An escaped line break: the break and the next line's indentation vanish.
                    let mut j = i + 1 + break_len(i + 1);
                    while j < b.len() && is_white(b[j]) {
                        j += 1;
                    }
                    i = j;
                    keep = acc.out.len();
                    continue;
                }
                let simple = match e {
                    b'0' => Some('\0'),
                    b'a' => Some('\u{7}'),
                    b'b' => Some('\u{8}'),
                    b't' | b'\t' => Some('\t'),
                    b'n' => Some('\n'),
                    b'v' => Some('\u{b}'),
                    b'f' => Some('\u{c}'),
                    b'r' => Some('\r'),
                    b'e' => Some('\u{1b}'),
                    b' ' => Some(' '),
                    b'"' => Some('"'),
                    b'/' => Some('/'),
                    b'\\' => Some('\\'),
                    b'N' => Some('\u{85}'),
                    b'_' => Some('\u{a0}'),
                    b'L' => Some('\u{2028}'),
                    b'P' => Some('\u{2029}'),
                    _ => None,
                };
                let (ch, len) = match (simple, e) {
                    (Some(ch), _) => (ch, 2),
                    (None, b'x' | b'u' | b'U') => {
                        let n = match e {
                            b'x' => 2,
                            b'u' => 4,
                            _ => 8,
                        };
                        let hex = inner.get(i + 2..i + 2 + n)?;
                        let v = u32::from_str_radix(hex, 16).ok()?;
                        (char::from_u32(v)?, 2 + n)
                    }
                    _ => return None,
                };
                acc.push(ch, i, i + len);
                i += len;
                keep = acc.out.len();
            }
            '\'' if style == Style::Single && b.get(i + 1) == Some(&b'\'') => {
                acc.push('\'', i, i + 2);
                i += 2;
                keep = acc.out.len();
            }
            '\n' | '\r' => {
                acc.truncate(keep);
                let mut breaks = Vec::new();
                let mut j = i;
                loop {
                    breaks.push(j);
                    j += break_len(j);
                    while j < b.len() && is_white(b[j]) {
                        j += 1;
                    }
                    if !(j < b.len() && is_break(b[j])) {
                        break;
                    }
                }
                match breaks.as_slice() {
                    [one] => {
                        acc.push(' ', *one, *one + 1);
                    }
                    [_, rest @ ..] => {
                        for &k in rest {
                            acc.push('\n', k, k + 1);
                        }
                    }
                    [] => {}
                }
                i = j;
                keep = acc.out.len();
            }
            ' ' | '\t' => {
                acc.push(c, i, i + 1);
                i += 1;
            }
            _ => {
                acc.push(c, i, i + c.len_utf8());
                i += c.len_utf8();
                keep = acc.out.len();
            }
        }
    }
    let end = base + b.len() as u32;
    acc.starts.push(end);
    acc.ends.push(end);
    Some((acc.out, acc.starts, acc.ends))
}

/// A value being read, with the source range of each of its bytes.
struct Acc {
    base: u32,
    out: String,
    starts: Vec<u32>,
    ends: Vec<u32>,
}

impl Acc {
    /// Pushes `c`, which came from source bytes `s..e` (relative to `base`): a character
    /// copied as it is maps byte by byte; one made by an escape maps all its bytes to the
    /// whole escape.
    fn push(&mut self, c: char, s: usize, e: usize) {
        let n = c.len_utf8();
        let at = |i: usize| self.base + i as u32;
        self.out.push(c);
        for k in 0..n {
            if e - s == n {
                self.starts.push(at(s + k));
                self.ends.push(at(s + k + 1));
            } else {
                self.starts.push(at(s));
                self.ends.push(at(e));
            }
        }
    }

    fn truncate(&mut self, len: usize) {
        self.out.truncate(len);
        self.starts.truncate(len);
        self.ends.truncate(len);
    }
}

/// Maps a scalar's value onto its raw text when the value is the raw text with line breaks
/// folded, indentation removed and escapes resolved (block scalars `|` `>`, multi-line plain
/// and quoted scalars): each value byte is matched with the next equal raw byte, skipping
/// only whitespace, quotes and backslashes. None when that does not account for the value.
fn align(raw: &str, base: u32, value: &str) -> Option<Vec<u32>> {
    let rb = raw.as_bytes();
    // A block scalar's text starts after its header line (`|`, `>-`, `|2` …).
    let mut j = if rb.first().is_some_and(|b| *b == b'|' || *b == b'>') {
        raw.find('\n').map_or(rb.len(), |i| i + 1)
    } else {
        usize::from(rb.first().is_some_and(|b| *b == b'"' || *b == b'\''))
    };
    let mut out = Vec::with_capacity(value.len() + 1);
    for &v in value.as_bytes() {
        loop {
            let r = *rb.get(j)?;
            if r == v {
                out.push(base + j as u32);
                j += 1;
                break;
            }
            if v == b' ' || v == b'\n' {
                // A folded line break: the value's space or newline stands for the raw one.
                if r == b'\n' || r == b'\r' {
                    out.push(base + j as u32);
                    break;
                }
            }
            if !matches!(r, b' ' | b'\t' | b'\n' | b'\r' | b'"' | b'\'' | b'\\') {
                return None;
            }
            j += 1;
        }
    }
    out.push(base + j.min(rb.len()) as u32);
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_over_a_budget_says_which_in_words_with_the_file_code() {
        let deep = format!("a: {}1{}\n", "[".repeat(MAX_DEPTH + 1), "]".repeat(MAX_DEPTH + 1));
        let file = SourceFile::new("m.yaml", deep);
        // The parser recurses once per level: the commands read YAML on 16 MiB stacks, as
        // here (a debug build's frames overflow a test thread's 2 MiB at this depth).
        let parse_it = move || parse(&file, Code::Model).expect_err("too deep");
        let diags = std::thread::Builder::new().stack_size(16 << 20).spawn(parse_it).unwrap().join().unwrap();
        assert_eq!(diags.len(), 1);
        assert_eq!(diags[0].code, Code::Model);
        assert_eq!(diags[0].message, format!("YAML file over a limit: nested deeper than {MAX_DEPTH} levels"));
    }
}
