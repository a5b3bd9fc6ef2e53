//! STAGE 1: text → [`ast::Policy`].
//!
//! The only module that names pest. A `.tenet` file is parsed with the grammar in
//! `grammar/tenet.pest`; a YAML policy is read with serde-saphyr and its expression strings
//! are parsed with the same grammar, with spans shifted so that they point into the YAML
//! file ([`yaml`]). Parsing never stops at the first problem: after a syntax error the file
//! is re-parsed item by item, so every broken item gets its own diagnostic.
//!
//! Limits (language.md §9.6): a linear scan before pest runs rejects text certainly nested
//! deeper than [`MAX_DEPTH`] (brackets, `where` chains, runs of one operator — `a + a + …`,
//! `not not …`), so pest never recurses deeply and long chains fail fast; expression trees
//! deeper than [`MAX_DEPTH`] are also rejected while they are built. pest's call limit
//! bounds backtracking, and its stack guard turns what is left into a diagnostic.
//! `check::file` parses deeply nested files on a thread with a large stack.
//!
//! Syntax errors are phrased in `syntax.rs`.

mod build;
pub mod lex;
mod pest;
mod syntax;
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
    /// Parameters (`NAME`) and derived fields (`KIND.NAME`) whose definitions could not be
    /// parsed: the checker declares them with an unknown type, so that their uses are not
    /// reported as unknown names too.
    pub broken: Vec<(String, Span)>,
}

impl<T> Parsed<T> {
    pub fn new(value: Option<T>, diagnostics: Vec<Diagnostic>) -> Self {
        Parsed { value, diagnostics, broken: Vec::new() }
    }
}

/// Parses one policy file, choosing the form by its extension.
pub fn policy(file: &SourceFile) -> Parsed<ast::Policy> {
    if let Some(d) = too_large(file) {
        return Parsed::new(None, vec![d]);
    }
    let name = file.name.to_ascii_lowercase();
    if name.ends_with(".yaml") || name.ends_with(".yml") {
        yaml::policy(file)
    } else {
        dsl_policy(file)
    }
}

/// Parses a `.tenet` file.
pub fn dsl_policy(file: &SourceFile) -> Parsed<ast::Policy> {
    if let Some(d) = too_large(file) {
        return Parsed::new(None, vec![d]);
    }
    if let Some(d) = nesting_error(file, &file.text, 0) {
        return Parsed::new(None, vec![d]);
    }
    build::file(file)
}

/// A diagnostic when a policy file is larger than [`MAX_POLICY_BYTES`].
fn too_large(file: &SourceFile) -> Option<Diagnostic> {
    (file.text.len() > MAX_POLICY_BYTES).then(|| {
        Diagnostic::new(
            Code::TooLarge,
            file,
            Span::new(0, 0),
            format!("policy file is larger than {} MiB ({} bytes)", MAX_POLICY_BYTES >> 20, file.text.len()),
        )
        .label("this file")
        .help("split the policy into several files in one directory")
    })
}

/// Parses a standalone expression (a YAML `assert:` string) that starts at byte `offset`
/// of `file`. `text` is the expression's text, `offsets` maps its bytes to file offsets
/// (None: the text is a verbatim slice of the file at `offset`).
pub fn expression(file: &SourceFile, text: &str, map: &build::OffsetMap) -> Result<ast::Expr, Vec<Diagnostic>> {
    if let Some(d) = nesting_error(file, text, 0) {
        // The span is in `text`; map it into the file.
        let span = map.span(d.span);
        return Err(vec![d.with_span(span)]);
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

/// Operator classes whose unbroken runs form chains in the expression tree, lowest
/// precedence first (language.md §3). A run of N operators of one class at one bracket
/// level, not interrupted by an operator of a lower class or a separator, nests at least N
/// deep, so counting runs gives a lower bound of the tree's depth without parsing.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Class {
    Requires,
    Or,
    And,
    Not,
    Cmp,
    Coalesce,
    Add,
    Mul,
    Neg,
    Postfix,
    Where,
}

const CLASSES: usize = 11;

/// One bracket level of the scan: the current run length of every class.
#[derive(Default, Clone, Copy)]
struct Level {
    runs: [usize; CLASSES],
}

impl Level {
    /// An operator of class `c`: extends its run and ends the runs of every higher class.
    fn op(&mut self, c: Class) -> usize {
        let i = c as usize;
        for r in self.runs.iter_mut().skip(i + 1).take(Class::Postfix as usize - i) {
            *r = 0;
        }
        if let Some(r) = self.runs.get_mut(i) {
            *r += 1;
            return *r;
        }
        0
    }

    /// `where`: its predicate extends as far right as it can, so what follows starts new runs.
    fn filter(&mut self) -> usize {
        let w = self.runs[Class::Where as usize] + 1;
        self.runs = [0; CLASSES];
        self.runs[Class::Where as usize] = w;
        w
    }
}

/// The result of [`scan`]: the deepest bracket-and-filter nesting met, and the first place
/// where the expression is certainly nested deeper than [`MAX_DEPTH`] (with the operator
/// whose chain is too long, or "" for brackets and filters).
struct Scan {
    max_nesting: usize,
    too_deep: Option<(usize, usize, &'static str)>,
}

/// How deeply `text` nests brackets and filters (pest recurses once per level); a cheap
/// scan used to decide whether parsing needs a large stack. Brackets inside strings count
/// too: they may be message templates or YAML-quoted expressions.
pub fn max_nesting(text: &str) -> usize {
    let mut depth = 0usize;
    let mut max = 0usize;
    for b in text.bytes() {
        match b {
            b'(' | b'[' | b'{' => {
                depth += 1;
                max = max.max(depth);
            }
            b')' | b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    max.max(scan(text).max_nesting)
}

/// Scans policy text for nesting without recursion and without building anything: brackets,
/// `where` chains and runs of operators, over the tokens of [`lex::Lexer`]. Linear in the
/// text; strings and comments skipped.
fn scan(text: &str) -> Scan {
    use lex::TokenKind as K;
    let bytes = text.as_bytes();
    let mut levels: Vec<Level> = vec![Level::default()];
    let mut max_nesting = 0usize;
    // Whether the last token was an operand (so `-` is binary and `.x` a field).
    let mut operand = false;
    let mut lexer = lex::Lexer::new(text);
    while let Some(tok) = lexer.next() {
        let (start, mut end) = (tok.start, tok.end);
        let mut class = None;
        let mut what = "";
        match (tok.kind, tok.text(text)) {
            (K::Comment, _) => continue,
            (K::Str, _) => operand = true,
            (K::Op, "(" | "[" | "{") => {
                levels.push(Level::default());
                operand = false;
            }
            (K::Op, ")" | "]" | "}") => {
                if levels.len() > 1 {
                    levels.pop();
                }
                operand = true;
            }
            (K::Op, "," | ":" | "@" | "=") => {
                // `=`: `NAME = …` or `let K.F = …`, a new item.
                if let Some(l) = levels.last_mut() {
                    *l = Level::default();
                }
                operand = false;
            }
            (K::Op, "==" | "!=" | "<=" | ">=" | "<" | ">" | "!") => {
                (class, what) = (Some(Class::Cmp), "comparison");
                operand = false;
            }
            (K::Op, "??") => {
                (class, what) = (Some(Class::Coalesce), "`??`");
                operand = false;
            }
            (K::Op, "+") => {
                (class, what) = (Some(Class::Add), "`+`");
                operand = false;
            }
            (K::Op, "-") => {
                (class, what) = (Some(if operand { Class::Add } else { Class::Neg }), "`-`");
                operand = false;
            }
            (K::Op, "*" | "/" | "%") => {
                (class, what) = (Some(Class::Mul), "`*`, `/` or `%`");
                operand = false;
            }
            (K::Op, ".") if operand => {
                (class, what) = (Some(Class::Postfix), "`.field`");
                operand = false;
            }
            (K::Op, _) => {}
            (_, word) => {
                let after_dot = start > 0 && bytes[start - 1] == b'.';
                operand = true;
                if !after_dot {
                    match word {
                        "requires" => (class, what) = (Some(Class::Requires), "`requires`"),
                        "or" => (class, what) = (Some(Class::Or), "`or`"),
                        "and" => (class, what) = (Some(Class::And), "`and`"),
                        "not" => (class, what) = (Some(Class::Not), "`not`"),
                        "in" | "matches" => (class, what) = (Some(Class::Cmp), "comparison"),
                        "where" => (class, what) = (Some(Class::Where), "`where`"),
                        "when" | "rule" | "let" | "policy" => {
                            if let Some(l) = levels.last_mut() {
                                *l = Level::default();
                            }
                        }
                        _ => {}
                    }
                    if class.is_some() || word == "as" || word == "when" {
                        operand = false;
                    }
                    // `not in` is one comparison, not a prefix `not`.
                    if word == "not" {
                        let mut ahead = lexer.clone();
                        if let Some(next) = ahead.next().filter(|t| t.text(text) == "in") {
                            (class, what) = (Some(Class::Cmp), "comparison");
                            end = next.end;
                            lexer = ahead;
                        }
                    }
                }
            }
        }
        let run = match (class, levels.last_mut()) {
            (Some(Class::Where), Some(l)) => l.filter(),
            (Some(c), Some(l)) => l.op(c),
            _ => 0,
        };
        let wheres: usize = levels.iter().map(|l| l.runs[Class::Where as usize]).sum();
        let nesting = levels.len() - 1 + wheres;
        max_nesting = max_nesting.max(nesting);
        if nesting > MAX_DEPTH {
            return Scan { max_nesting, too_deep: Some((start, end, "")) };
        }
        if run > MAX_DEPTH {
            return Scan { max_nesting, too_deep: Some((start, end, what)) };
        }
    }
    Scan { max_nesting, too_deep: None }
}

/// A diagnostic when `text` (at byte `offset` of the file) is certainly nested deeper than
/// [`MAX_DEPTH`]; checked before pest runs, since pest recurses once per level.
fn nesting_error(file: &SourceFile, text: &str, offset: usize) -> Option<Diagnostic> {
    let (start, end, what) = scan(text).too_deep?;
    let span = Span::new(offset + start, offset + end);
    let label = match what {
        "" => "too deep here".to_string(),
        other => format!("more than {MAX_DEPTH} {other} in one chain"),
    };
    Some(
        Diagnostic::new(Code::TooDeep, file, span, format!("expression nested deeper than {MAX_DEPTH} levels"))
            .label(label)
            .help("split the expression with `let` derived fields or parameters"),
    )
}
