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

/// Options for YAML written by people: YAML 1.2 booleans, tight alias and depth budgets.
pub fn options() -> serde_saphyr::Options {
    serde_saphyr::options! {
        budget: serde_saphyr::budget! {
            max_depth: 64,
            max_events: 2_000_000,
            max_nodes: 1_000_000,
            max_aliases: 1_000,
            max_anchors: 1_000,
        },
        alias_limits: serde_saphyr::alias_limits! {
            max_total_replayed_events: 100_000,
            max_replay_stack_depth: 16,
        },
        strict_booleans: true,
        with_snippet: false,
    }
}

/// Parses a YAML file into a spanned tree, or one diagnostic saying where and why not.
#[expect(clippy::result_large_err, reason = "a YAML syntax error is rare and reported once per file")]
pub fn parse(file: &SourceFile) -> Result<YNode, Diagnostic> {
    let text: &str = &file.text;
    let res: Result<Spanned<RawNode>, _> = serde_saphyr::from_str_with_options(text, options());
    match res {
        Ok(node) => Ok(convert(text, node)),
        Err(e) => Err(yaml_error(file, &e)),
    }
}

/// Converts a serde-saphyr error into a diagnostic at its location.
pub fn yaml_error(file: &SourceFile, e: &serde_saphyr::Error) -> Diagnostic {
    let span = e.location().map_or(Span::new(0, 0), |l| location_span(&file.text, &l));
    let msg = e.without_snippet().to_string();
    let msg = strip_location(&msg);
    Diagnostic::new(Code::Yaml, file, span, format!("invalid YAML: {msg}")).label("here").help(
        "check the indentation on this line and the one before, and quote values that contain a colon, `#`, `{` or `[`",
    )
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

/// The offset map of a string scalar's content: where byte `i` of the value came from.
/// Exact for single-line plain and quoted scalars, close for multi-line ones (see `align`);
/// when the value cannot be matched with the text, every byte maps to the scalar's start.
pub fn scalar_offsets(text: &str, span: Span, value: &str) -> Vec<u32> {
    let raw = text.get(span.start as usize..span.end as usize).unwrap_or("");
    let base = span.start;
    let uniform = || vec![base; value.len() + 1];
    if raw == value {
        return (0..=value.len() as u32).map(|i| base + i).collect();
    }
    if raw.len() >= 2 && raw.starts_with('"') && raw.ends_with('"') {
        if let Ok((v, offs)) = crate::parse::unescape_dsl(&raw[1..raw.len() - 1]) {
            if v == value {
                return offs.into_iter().map(|o| o + base + 1).collect();
            }
        }
    }
    if raw.len() >= 2 && raw.starts_with('\'') && raw.ends_with('\'') {
        let inner = &raw[1..raw.len() - 1];
        let mut out = String::new();
        let mut offs = Vec::new();
        let mut i = 0;
        let b = inner.as_bytes();
        while i < b.len() {
            let ch = inner[i..].chars().next().unwrap_or('\'');
            let n = ch.len_utf8();
            for _ in 0..n {
                offs.push(base + 1 + i as u32);
            }
            out.push(ch);
            i += if ch == '\'' && b.get(i + 1) == Some(&b'\'') { 2 } else { n };
        }
        offs.push(base + 1 + inner.len() as u32);
        if out == value {
            return offs;
        }
    }
    align(raw, base, value).unwrap_or_else(uniform)
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
