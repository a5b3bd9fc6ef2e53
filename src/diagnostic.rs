//! Diagnostics: every problem found in a policy, model or test file.
//!
//! A [`Diagnostic`] is one message with a code, a primary span, an optional help line and
//! optional secondary labels. It implements [`miette::Diagnostic`], so the CLI renders it
//! with miette's graphical handler. Stages never stop at the first problem: they push
//! diagnostics into a `Vec` and keep going (see `docs/ARCHITECTURE.md`).

use crate::source::{SourceFile, Span};
use std::fmt;

/// A stable diagnostic code, shown in brackets by miette and documented in
/// `docs/diagnostics.md`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Code {
    /// T001: the text does not follow the grammar.
    Syntax,
    /// T002: a nesting limit was exceeded.
    TooDeep,
    /// T003: a literal is malformed (bad escape, overflowing integer, impossible date).
    BadLiteral,
    /// T010: a name resolves to nothing.
    UnknownName,
    /// T011: a field the model does not declare.
    UnknownField,
    /// T012: an unknown function.
    UnknownFunction,
    /// T013: a function called with the wrong number of arguments.
    Arity,
    /// T020: operand types do not fit the operator or function.
    Type,
    /// T021: a string compared with an enum field is not one of its values.
    EnumValue,
    /// T022: an invalid regular expression.
    Regex,
    /// T030: a rule relates two unrelated entity kinds.
    UnrelatedKinds,
    /// T040: unknown or malformed annotation.
    Annotation,
    /// T041: a duplicate definition (policy, rule, parameter, let).
    Duplicate,
    /// T042: a structural problem in the policy (missing `policy` header, misplaced item).
    Structure,
    /// T043: a `let` that shadows a model field, is recursive, or names an unknown kind.
    Let,
    /// T044: an error in a message template.
    Message,
    /// T050: a problem in a YAML policy's structure (unknown key, wrong type).
    Yaml,
    /// T060: a problem in a model file.
    Model,
    /// T070: a problem in a test file.
    Test,
}

impl Code {
    pub fn as_str(self) -> &'static str {
        match self {
            Code::Syntax => "T001",
            Code::TooDeep => "T002",
            Code::BadLiteral => "T003",
            Code::UnknownName => "T010",
            Code::UnknownField => "T011",
            Code::UnknownFunction => "T012",
            Code::Arity => "T013",
            Code::Type => "T020",
            Code::EnumValue => "T021",
            Code::Regex => "T022",
            Code::UnrelatedKinds => "T030",
            Code::Annotation => "T040",
            Code::Duplicate => "T041",
            Code::Structure => "T042",
            Code::Let => "T043",
            Code::Message => "T044",
            Code::Yaml => "T050",
            Code::Model => "T060",
            Code::Test => "T070",
        }
    }
}

/// One problem in a source file.
#[derive(Debug, Clone)]
pub struct Diagnostic {
    pub code: Code,
    pub message: String,
    pub file: SourceFile,
    pub span: Span,
    /// Text under the primary span.
    pub label: Option<String>,
    pub help: Option<String>,
    /// Secondary spans with their labels.
    pub related: Vec<(Span, String)>,
}

impl Diagnostic {
    pub fn new(code: Code, file: &SourceFile, span: Span, message: impl Into<String>) -> Self {
        Diagnostic {
            code,
            message: message.into(),
            file: file.clone(),
            span,
            label: None,
            help: None,
            related: Vec::new(),
        }
    }

    pub fn label(mut self, label: impl Into<String>) -> Self {
        self.label = Some(label.into());
        self
    }

    pub fn help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    pub fn help_opt(mut self, help: Option<String>) -> Self {
        self.help = help;
        self
    }

    pub fn related(mut self, span: Span, label: impl Into<String>) -> Self {
        self.related.push((span, label.into()));
        self
    }

    /// In-place variants of the builders, for diagnostics already pushed into a list.
    pub fn lbl(&mut self, label: impl Into<String>) -> &mut Self {
        self.label = Some(label.into());
        self
    }

    pub fn rel(&mut self, span: Span, label: impl Into<String>) -> &mut Self {
        self.related.push((span, label.into()));
        self
    }

    /// Renders with miette's graphical handler, without colors (for tests and logs).
    pub fn render_plain(&self) -> String {
        render(self, false)
    }
}

/// Renders a diagnostic as text; `color` chooses ANSI colors.
pub fn render(diag: &Diagnostic, color: bool) -> String {
    let theme = if color { miette::GraphicalTheme::unicode() } else { miette::GraphicalTheme::unicode_nocolor() };
    let handler = miette::GraphicalReportHandler::new_themed(theme).with_width(100);
    let mut out = String::new();
    if handler.render_report(&mut out, diag).is_err() {
        out = format!("{}: {}: {}\n", diag.file.name, diag.code.as_str(), diag.message);
    }
    out
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Diagnostic {}

impl miette::Diagnostic for Diagnostic {
    fn code<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        Some(Box::new(self.code.as_str()))
    }

    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        self.help.as_ref().map(|h| Box::new(h) as Box<dyn fmt::Display>)
    }

    fn source_code(&self) -> Option<&dyn miette::SourceCode> {
        Some(self as &dyn miette::SourceCode)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = miette::LabeledSpan> + '_>> {
        let primary = miette::LabeledSpan::new_primary_with_span(self.label.clone(), self.span);
        let related =
            self.related.iter().map(|(span, label)| miette::LabeledSpan::new_with_span(Some(label.clone()), *span));
        Some(Box::new(std::iter::once(primary).chain(related)))
    }
}

impl miette::SourceCode for Diagnostic {
    fn read_span<'a>(
        &'a self,
        span: &miette::SourceSpan,
        context_lines_before: usize,
        context_lines_after: usize,
    ) -> Result<Box<dyn miette::SpanContents<'a> + 'a>, miette::MietteError> {
        let inner = self.file.text.read_span(span, context_lines_before, context_lines_after)?;
        Ok(Box::new(miette::MietteSpanContents::new_named(
            self.file.name.to_string(),
            inner.data(),
            *inner.span(),
            inner.line(),
            inner.column(),
            inner.line_count(),
        )))
    }
}

/// Whether any diagnostic in the list is an error. All diagnostics are errors today; the
/// function exists so that warnings can be added without touching callers.
pub fn has_errors(diags: &[Diagnostic]) -> bool {
    !diags.is_empty()
}

/// Edit distance for "did you mean" suggestions.
pub fn levenshtein(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    let mut cur = vec![0; b.len() + 1];
    for (i, ca) in a.chars().enumerate() {
        cur[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != *cb);
            cur[j + 1] = (prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[b.len()]
}

/// The closest candidate to `name`, if it is close enough to be a likely typo.
pub fn did_you_mean<'a>(name: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let lower = name.to_lowercase();
    let mut best: Option<(usize, &str)> = None;
    for cand in candidates {
        let d = levenshtein(&lower, &cand.to_lowercase());
        let limit = (name.chars().count().max(cand.chars().count()) / 3).max(1);
        let contains = cand.contains(name) || name.contains(cand);
        if (d <= limit || (contains && name.len() >= 3)) && best.is_none_or(|(bd, _)| d < bd) {
            best = Some((d, cand));
        }
    }
    best.map(|(_, c)| c)
}
