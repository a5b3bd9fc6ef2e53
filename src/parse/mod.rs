//! STAGE 1: text → [`ast::Policy`](crate::ast::Policy).
//!
//! The only module that names pest. A `.tenet` file is parsed with the grammar in
//! `grammar/tenet.pest`; a YAML policy is read with serde-saphyr and its expression strings
//! are parsed with the same grammar, with spans shifted so that they point into the YAML
//! file ([`yaml`]). Parsing never stops at the first problem: after a syntax error the file
//! is re-parsed item by item, so every broken item gets its own diagnostic.
//!
//! Limits (language.md §9.6): bracket and filter nesting is measured before pest runs, and
//! expression trees deeper than [`MAX_DEPTH`] are rejected while they are built, so no input
//! can overflow the stack; pest's call limit bounds backtracking.

mod build;
mod pest;
pub mod yaml;

use crate::ast;
use crate::diagnostic::{Code, Diagnostic};
use crate::source::{SourceFile, Span};

pub use build::{parse_template, unescape_dsl, TemplatePart as TemplatePartPub};

/// Policy expressions nested deeper than this are a check error (language.md §9.6).
pub const MAX_DEPTH: usize = 256;
/// Policy files larger than this are rejected before parsing.
pub const MAX_POLICY_BYTES: usize = 8 * 1024 * 1024;

/// The result of a stage that reports everything it can: a value (possibly partial) and
/// every diagnostic found on the way.
#[derive(Debug)]
pub struct Parsed<T> {
    pub value: Option<T>,
    pub diagnostics: Vec<Diagnostic>,
}

/// Parses one policy file, choosing the form by its extension.
pub fn policy(file: &SourceFile) -> Parsed<ast::Policy> {
    let name = file.name.to_ascii_lowercase();
    if name.ends_with(".yaml") || name.ends_with(".yml") {
        yaml::policy(file)
    } else {
        dsl_policy(file)
    }
}

/// Parses a `.tenet` file.
pub fn dsl_policy(file: &SourceFile) -> Parsed<ast::Policy> {
    if file.text.len() > MAX_POLICY_BYTES {
        let d = Diagnostic::new(Code::TooDeep, file, Span::new(0, 0), "policy file is larger than 8 MiB");
        return Parsed { value: None, diagnostics: vec![d] };
    }
    if let Some(d) = nesting_error(file, &file.text, 0) {
        return Parsed { value: None, diagnostics: vec![d] };
    }
    build::file(file)
}

/// Parses a standalone expression (a YAML `assert:` string) that starts at byte `offset`
/// of `file`. `text` is the expression's text, `offsets` maps its bytes to file offsets
/// (None: the text is a verbatim slice of the file at `offset`).
pub fn expression(file: &SourceFile, text: &str, map: &build::OffsetMap) -> Result<ast::Expr, Vec<Diagnostic>> {
    if let Some(d) = nesting_error(file, text, 0) {
        return Err(vec![d.with_span(map.span(Span::new(0, text.len())))]);
    }
    build::expr_only(file, text, map)
}

pub use build::OffsetMap;

impl Diagnostic {
    fn with_span(mut self, span: Span) -> Self {
        self.span = span;
        self
    }
}

/// Measures bracket and `where` nesting without recursion; pest recurses once per level.
fn nesting_error(file: &SourceFile, text: &str, offset: usize) -> Option<Diagnostic> {
    let bytes = text.as_bytes();
    let mut depth = 0usize;
    let mut wheres = 0usize;
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'"' => {
                i += 1;
                while i < bytes.len() && bytes[i] != b'"' && bytes[i] != b'\n' {
                    if bytes[i] == b'\\' {
                        i += 1;
                    }
                    i += 1;
                }
            }
            b'#' => {
                while i < bytes.len() && bytes[i] != b'\n' {
                    i += 1;
                }
            }
            b'(' | b'[' | b'{' => depth += 1,
            b')' | b']' | b'}' => depth = depth.saturating_sub(1),
            b'w' if text[i..].starts_with("where") => wheres += 1,
            b'r' | b'@' if depth == 0 && (text[i..].starts_with("rule") || bytes[i] == b'@') => wheres = 0,
            _ => {}
        }
        if depth + wheres > MAX_DEPTH {
            let span = Span::new(offset + i, offset + i + 1);
            return Some(
                Diagnostic::new(Code::TooDeep, file, span, format!("expression nested deeper than {MAX_DEPTH} levels"))
                    .label("too deep here")
                    .help("split the expression with `let` derived fields or parameters"),
            );
        }
        i += 1;
    }
    None
}
