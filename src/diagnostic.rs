//! Diagnostics: every problem found in a policy, model or test file.
//!
//! A [`Diagnostic`] is one message with a code, a primary span, an optional help line and
//! optional secondary labels. It implements [`miette::Diagnostic`], so the CLI renders it
//! with miette's graphical handler. Stages never stop at the first problem: they push
//! diagnostics into a `Vec` and keep going (see `docs/ARCHITECTURE.md`).

use crate::source::{SourceFile, Span};
use std::fmt;

/// The registry of diagnostic codes: one line per kind of problem, its stable code, a
/// title, and its page `docs/diagnostics/TXXX.md` (what it means, an example, how to fix
/// it), embedded so that `tenet lint --explain CODE` prints it. [`CODES`] lists them.
macro_rules! codes {
    ($($(#[$doc:meta])* $variant:ident = $id:literal, $title:literal;)*) => {
        /// A stable diagnostic code, shown in brackets by miette; see [`CODES`].
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum Code {
            $($(#[$doc])* $variant,)*
        }

        /// Every code, in order, with its title and page.
        pub static CODES: &[CodeInfo] = &[
            $(CodeInfo {
                code: Code::$variant,
                id: $id,
                title: $title,
                page: include_str!(concat!("../docs/diagnostics/", $id, ".md")),
            },)*
        ];
    };
}

codes! {
    /// The text does not follow the grammar.
    Syntax = "T001", "syntax error";
    /// A nesting limit was exceeded.
    TooDeep = "T002", "nested too deeply";
    /// A literal is malformed (bad escape, overflowing integer, impossible date).
    BadLiteral = "T003", "malformed literal";
    /// A file is larger than its limit (docs/LIMITS.md, "Policy and test-file limits").
    TooLarge = "T004", "file too large";
    /// A name resolves to nothing (in an expression, or the kind of a `let`).
    UnknownName = "T010", "unknown name";
    /// A field the model does not declare.
    UnknownField = "T011", "unknown field";
    /// An unknown function.
    UnknownFunction = "T012", "unknown function";
    /// A function called with the wrong number of arguments.
    Arity = "T013", "wrong number of arguments";
    /// A group of fields (`plan`, of `plan.seats`) used as a value.
    FieldGroup = "T014", "group of fields used as a value";
    /// The operands of an operator (`+`, `<`, `==`, `in`, unary `-`, `matches`, ...) have
    /// types it does not apply to.
    Type = "T020", "operator applied to the wrong types";
    /// A string compared with an enum field is not one of its values.
    EnumValue = "T021", "not a value of the enum";
    /// An invalid regular expression.
    Regex = "T022", "invalid regular expression";
    /// A condition (`rule`, `when`, `and`, `not`, a predicate) is not a boolean.
    NotBoolean = "T023", "not a boolean";
    /// The items of a list literal have different types.
    MixedList = "T024", "list items of different types";
    /// A filter, a quantifier or the right side of `in` is not a list.
    NotAList = "T025", "not a list";
    /// A field read from a value that has no fields.
    NoFields = "T026", "value has no fields";
    /// An index of the wrong type, or an index on a value that cannot be indexed.
    BadIndex = "T027", "invalid index";
    /// An ordering comparison (`<`, `>`, ...) with `null`.
    NullComparison = "T028", "comparison with null";
    /// A builtin's argument has the wrong type (including `has` on something not a field).
    ArgumentType = "T029", "argument of the wrong type";
    /// A rule relates two unrelated entity kinds.
    UnrelatedKinds = "T030", "unrelated entity kinds";
    /// A derived field (`let`) reads a kind that is neither its own nor one that holds it.
    LetScope = "T031", "derived field reads another kind";
    /// A `@message` mentions a kind the rule is not evaluated for.
    MessageScope = "T032", "message names a kind outside the rule's subject";
    /// An annotation name that does not exist.
    Annotation = "T040", "unknown annotation";
    /// A duplicate definition (policy, rule, parameter, let, annotation).
    Duplicate = "T041", "duplicate definition";
    /// No `policy "NAME"` declaration, or an item before it.
    Structure = "T042", "missing or late policy declaration";
    /// A `let` defined in terms of itself.
    Let = "T043", "recursive let";
    /// A `@message` template's braces do not match.
    Message = "T044", "invalid message template";
    /// An annotation's value has the wrong form (`@severity("high")`, `@tags("a")`).
    AnnotationValue = "T045", "invalid annotation value";
    /// An annotation where it does not apply (on a parameter, at the end of the file, a
    /// rule's annotation on the policy).
    MisplacedAnnotation = "T046", "misplaced annotation";
    /// A parameter whose value is not a literal.
    ParamNotLiteral = "T047", "parameter is not a literal";
    /// A `let` that has the name of a field of the model.
    LetShadows = "T048", "derived field shadows a model field";
    /// A problem in a YAML policy's structure (unknown key, wrong type, a `let` key that is
    /// not KIND.NAME).
    Yaml = "T050", "YAML policy structure";
    /// A problem in a model file.
    Model = "T060", "invalid model";
    /// A problem in a test file.
    Test = "T070", "invalid test file";
    /// A problem in a waiver file (`--waivers`).
    Waiver = "T080", "invalid waiver file";
    /// A problem in an import adapter file (`--adapter`).
    Adapter = "T081", "invalid import adapter";
}

/// One entry of the code registry.
#[derive(Debug)]
pub struct CodeInfo {
    pub code: Code,
    /// `T001`.
    pub id: &'static str,
    /// A few words, lowercase.
    pub title: &'static str,
    /// The page, Markdown: what it means, an example, how to fix it.
    pub page: &'static str,
}

impl Code {
    pub fn info(self) -> &'static CodeInfo {
        // The registry is in declaration order.
        &CODES[self as usize]
    }

    pub fn as_str(self) -> &'static str {
        self.info().id
    }

    /// The code written `T020` (or `t020`).
    pub fn parse(id: &str) -> Option<Code> {
        CODES.iter().find(|c| c.id.eq_ignore_ascii_case(id.trim())).map(|c| c.code)
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
    let rendered = match Clipped::new(diag) {
        Some(clipped) => handler.render_report(&mut out, &clipped),
        None => handler.render_report(&mut out, diag),
    };
    if rendered.is_err() {
        out = format!("{}: {}: {}\n", diag.file.name, diag.code.as_str(), diag.message);
    }
    out
}

/// Source lines longer than this (in bytes) are shown clipped around the labels: miette
/// prints whole lines, and cannot underline past column 65535 at all.
const LONG_LINE: usize = 400;
/// How much of a clipped line is shown, and how much of it before the first label (chars).
const SHOWN: usize = 160;
const LEAD: usize = 60;
const ELLIPSIS: &str = "…";

/// A rendering of a diagnostic whose long source lines are cut to a window around its
/// labels (`…` marks a cut). Line numbers are kept; columns are reported as in the file.
struct Clipped<'a> {
    diag: &'a Diagnostic,
    text: String,
    labels: Vec<(Span, Option<String>, bool)>,
    /// Clipped lines: their span in `text`, and how many bytes of the original line
    /// were cut before the window (minus the marker), to correct reported columns.
    cuts: Vec<(Span, usize)>,
    /// The file's 0-based line number of the first line of `text`.
    first_line: usize,
}

impl<'a> Clipped<'a> {
    /// None when no line of the file is long (the common case).
    fn new(diag: &'a Diagnostic) -> Option<Self> {
        let src: &str = &diag.file.text;
        let index = diag.file.lines();
        if index.longest <= LONG_LINE {
            return None;
        }
        let mut spans: Vec<(Span, Option<String>, bool)> = vec![(diag.span, diag.label.clone(), true)];
        spans.extend(diag.related.iter().map(|(s, l)| (*s, Some(l.clone()), false)));
        // Only the lines around the labels are copied (miette shows one line of context).
        let lo = spans.iter().map(|(s, _, _)| index.line(s.start as usize)).min().unwrap_or(0);
        let hi = spans.iter().map(|(s, _, _)| index.line(s.end as usize)).max().unwrap_or(0);
        let first_line = lo.saturating_sub(CONTEXT_MARGIN);
        let (ws, we) = (index.start(first_line), index.start(hi + CONTEXT_MARGIN + 1).min(src.len()));
        let window = src.get(ws..we).unwrap_or("");
        let mut text = String::with_capacity(window.len().min(1 << 16));
        let mut cuts = Vec::new();
        // Per line: its span in the file, the window shown, where it starts in `text`, and
        // the length of the `…` before the window (unclipped lines show all of themselves).
        let mut map: Vec<(usize, usize, usize, usize, usize, usize)> = Vec::new();
        let mut offset = ws;
        for line in window.split_inclusive('\n') {
            let content = line.strip_suffix('\n').unwrap_or(line);
            let (start, end) = (offset, offset + content.len());
            offset += line.len();
            let new_start = text.len();
            if content.len() <= LONG_LINE {
                text.push_str(line);
                map.push((start, end, start, end, new_start, 0));
                continue;
            }
            // Anchor the window at the primary label if it is on this line, else at the
            // first label that touches the line.
            let touching = |s: &Span| (s.start as usize) <= end && (s.end as usize) >= start;
            let anchor = spans
                .iter()
                .filter(|(s, _, _)| touching(s))
                .map(|(s, _, p)| (!*p, (s.start as usize).clamp(start, end)))
                .min()
                .map_or(start, |(_, a)| a);
            let chars: Vec<usize> = content.char_indices().map(|(i, _)| start + i).chain([end]).collect();
            let at = chars.partition_point(|&c| c < anchor);
            let first = at.saturating_sub(LEAD);
            let last = (first + SHOWN).min(chars.len() - 1);
            let (ws, we) = (chars[first], chars[last]);
            let marker = if ws > start { ELLIPSIS.len() } else { 0 };
            if marker > 0 {
                text.push_str(ELLIPSIS);
            }
            text.push_str(&src[ws..we]);
            if we < end {
                text.push_str(ELLIPSIS);
            }
            let new_end = text.len();
            text.push_str(&line[content.len()..]);
            map.push((start, end, ws, we, new_start, marker));
            cuts.push((Span::new(new_start, new_end), (ws - start).saturating_sub(marker)));
        }
        let remap = |o: usize| -> usize {
            let i = map.partition_point(|m| m.1 < o).min(map.len().saturating_sub(1));
            match map.get(i) {
                Some(&(_, _, ws, we, new_start, marker)) => new_start + marker + (o.clamp(ws, we) - ws),
                None => 0,
            }
        };
        let labels = spans
            .into_iter()
            .map(|(s, l, p)| {
                let (a, b) = (remap(s.start as usize), remap(s.end as usize));
                (Span::new(a, b), l, p)
            })
            .collect();
        Some(Clipped { diag, text, labels, cuts, first_line })
    }
}

impl fmt::Debug for Clipped<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.diag, f)
    }
}

impl fmt::Display for Clipped<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.diag.message)
    }
}

impl std::error::Error for Clipped<'_> {}

impl miette::Diagnostic for Clipped<'_> {
    fn code<'b>(&'b self) -> Option<Box<dyn fmt::Display + 'b>> {
        miette::Diagnostic::code(self.diag)
    }

    fn help<'b>(&'b self) -> Option<Box<dyn fmt::Display + 'b>> {
        miette::Diagnostic::help(self.diag)
    }

    fn source_code(&self) -> Option<&dyn miette::SourceCode> {
        Some(self as &dyn miette::SourceCode)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = miette::LabeledSpan> + '_>> {
        Some(Box::new(self.labels.iter().map(|(span, label, primary)| {
            if *primary {
                miette::LabeledSpan::new_primary_with_span(label.clone(), *span)
            } else {
                miette::LabeledSpan::new_with_span(label.clone(), *span)
            }
        })))
    }
}

impl miette::SourceCode for Clipped<'_> {
    fn read_span<'b>(
        &'b self,
        span: &miette::SourceSpan,
        context_lines_before: usize,
        context_lines_after: usize,
    ) -> Result<Box<dyn miette::SpanContents<'b> + 'b>, miette::MietteError> {
        let inner = self.text.as_str().read_span(span, context_lines_before, context_lines_after)?;
        // Without context lines the contents start at the span, and their column is the
        // one shown in the header: report it as in the original line.
        let mut column = inner.column();
        if context_lines_before == 0 {
            let at = span.offset();
            if let Some((_, cut)) = self.cuts.iter().find(|(s, _)| (s.start as usize) <= at && at <= s.end as usize) {
                column += cut;
            }
        }
        Ok(Box::new(miette::MietteSpanContents::new_named(
            self.diag.file.name.to_string(),
            inner.data(),
            *inner.span(),
            inner.line() + self.first_line,
            column,
            inner.line_count(),
        )))
    }
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
        // miette reads a text from its start to find a span's line: read from a window of
        // the lines around the span instead (found with the line index), so that reporting
        // N diagnostics costs N windows, not N whole files.
        let text: &str = &self.file.text;
        let index = self.file.lines();
        let (start, end) = (span.offset(), span.offset() + span.len());
        if end > text.len() {
            return Err(miette::MietteError::OutOfBounds);
        }
        let first = index.line(start).saturating_sub(context_lines_before + CONTEXT_MARGIN);
        let last = index.line(end) + context_lines_after + CONTEXT_MARGIN + 1;
        let (ws, we) = (index.start(first), index.start(last).min(text.len()));
        let window = text.get(ws..we).ok_or(miette::MietteError::OutOfBounds)?;
        let local = miette::SourceSpan::new((start - ws).into(), span.len());
        let inner = window.read_span(&local, context_lines_before, context_lines_after)?;
        Ok(Box::new(miette::MietteSpanContents::new_named(
            self.file.name.to_string(),
            inner.data(),
            miette::SourceSpan::new((inner.span().offset() + ws).into(), inner.span().len()),
            inner.line() + first,
            inner.column(),
            inner.line_count(),
        )))
    }
}

/// Lines read beyond the context miette asks for, so that the window's edges never decide
/// what it shows.
const CONTEXT_MARGIN: usize = 2;

/// Whether any diagnostic in the list is an error. All diagnostics are errors today; the
/// function exists so that warnings can be added without touching callers.
pub fn has_errors(diags: &[Diagnostic]) -> bool {
    !diags.is_empty()
}

/// Edit distance for "did you mean" suggestions: insertions, deletions, substitutions and
/// transpositions of adjacent characters (`tab` → `tba` is one edit).
pub fn levenshtein(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    // Three rows: two back (for transpositions), previous, current.
    let mut before: Vec<usize> = vec![0; b.len() + 1];
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    let mut cur = vec![0; b.len() + 1];
    for i in 1..=a.len() {
        cur[0] = i;
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut d = (prev[j - 1] + cost).min(prev[j] + 1).min(cur[j - 1] + 1);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                d = d.min(before[j - 2] + 1);
            }
            cur[j] = d;
        }
        std::mem::swap(&mut before, &mut prev);
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[b.len()]
}

/// Number words, so that `twofa` finds `2fa`.
const NUMBER_WORDS: &[(&str, &str)] = &[
    ("zero", "0"),
    ("one", "1"),
    ("two", "2"),
    ("three", "3"),
    ("four", "4"),
    ("five", "5"),
    ("six", "6"),
    ("seven", "7"),
    ("eight", "8"),
    ("nine", "9"),
    ("ten", "10"),
];

/// Lowercase, with number words written as digits and `_`/`-` dropped.
fn normalize(s: &str) -> String {
    let mut out = s.to_lowercase().replace(['_', '-'], "");
    for (word, digits) in NUMBER_WORDS {
        // (Most names have no number word: test before allocating a new string.)
        if out.contains(word) {
            out = out.replace(word, digits);
        }
    }
    out
}

/// Names (and candidates) longer than this, in characters, get no "did you mean": edit
/// distance costs the product of the lengths, and a typo of a 65-character name is rare.
pub const MAX_SUGGEST_LEN: usize = 64;
/// At most this many candidates (the first ones given) are compared with one name, so that
/// a policy with many names and many unknown ones stays linear.
pub const MAX_SUGGEST_CANDIDATES: usize = 1000;

/// The closest candidate to `name`, if it is close enough to be a likely typo.
pub fn did_you_mean<'a>(name: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let too_long = |s: &str| s.len() > 4 * MAX_SUGGEST_LEN || s.chars().count() > MAX_SUGGEST_LEN;
    if too_long(name) {
        return None;
    }
    let name_len = name.chars().count();
    let lower = name.to_lowercase();
    let norm = normalize(name);
    let mut best: Option<(usize, &str)> = None;
    for cand in candidates.into_iter().take(MAX_SUGGEST_CANDIDATES) {
        if too_long(cand) {
            continue;
        }
        let cand_len = cand.chars().count();
        let limit = (name_len.max(cand_len) / 3).max(1);
        let contains = name.len() >= 3 && (cand.contains(name) || name.contains(cand));
        // The distance is at least the difference of the lengths (normalizing removes at
        // most `_`, `-` and number words, so compare the normalized lengths too).
        let cand_norm = normalize(cand);
        if !contains && name_len.abs_diff(cand_len) > limit && norm.len().abs_diff(cand_norm.len()) > limit {
            continue;
        }
        let d = levenshtein(&lower, &cand.to_lowercase()).min(levenshtein(&norm, &cand_norm));
        if (d <= limit || contains) && best.is_none_or(|(bd, _)| d < bd) {
            best = Some((d, cand));
        }
    }
    best.map(|(_, c)| c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edit_distance() {
        assert_eq!(levenshtein("", ""), 0);
        assert_eq!(levenshtein("abc", ""), 3);
        assert_eq!(levenshtein("kitten", "sitting"), 3);
        assert_eq!(levenshtein("tab", "tba"), 1);
        assert_eq!(levenshtein("emial", "email"), 1);
        assert_eq!(levenshtein("max_sesions", "max_sessions"), 1);
    }

    #[test]
    fn suggestions() {
        assert_eq!(did_you_mean("twofa", ["id", "name", "2fa", "status"]), Some("2fa"));
        assert_eq!(did_you_mean("rol", ["tenant", "role", "user"]), Some("role"));
        assert_eq!(did_you_mean("oath2", ["oauth2", "tba", "basic"]), Some("oauth2"));
        assert_eq!(did_you_mean("tab", ["oauth2", "tba", "basic"]), Some("tba"));
        assert_eq!(did_you_mean("zzz", ["oauth2", "tba", "basic"]), None);
    }

    #[test]
    fn suggestions_are_bounded_for_long_names() {
        // Two 30,000-character names: no suggestion, and no quadratic edit distance.
        let a = "a".repeat(30_000);
        let b = format!("{}b", "a".repeat(29_999));
        let t = std::time::Instant::now();
        assert_eq!(did_you_mean(&a, [b.as_str()]), None);
        assert_eq!(did_you_mean("x", [b.as_str()]), None);
        assert!(t.elapsed() < std::time::Duration::from_secs(1), "{:?}", t.elapsed());
        // At the limit, suggestions still work.
        let long = "n".repeat(MAX_SUGGEST_LEN);
        let typo = format!("{}m", "n".repeat(MAX_SUGGEST_LEN - 1));
        assert_eq!(did_you_mean(&typo, [long.as_str()]), Some(long.as_str()));
    }
}
