//! pest pairs → AST. One function per grammar rule; spans attached on the way.

use super::pest::{Rule, TenetParser};
use super::syntax::syntax_error;
use super::{Parsed, MAX_DEPTH};
use crate::ast::{
    Annotation, AnnotationValue, BinOp, Expr, ExprKind, Let, Literal, Param, Policy, Rule as AstRule, Spanned,
    Template, UnOp,
};
use crate::diagnostic::{did_you_mean, Code, Diagnostic};
use crate::source::{SourceFile, Span};
use crate::value::{parse_date, parse_duration_literal};
use pest::iterators::Pair;
use pest::Parser as _;

/// Maps byte offsets of a text being parsed to byte offsets of the source file: the text
/// may be a verbatim slice of the file (`Shift`) or an unescaped copy (`Table`).
///
/// `Ranges` keeps, for every byte of the text, the whole source range it came from (an
/// escape like `\u00e9` is six source bytes for two text bytes), so spans end exactly.
#[derive(Debug, Clone)]
pub enum OffsetMap {
    Shift(usize),
    Table(Vec<u32>),
    /// Per text byte (plus one for the end): where its source starts, and where it ends.
    Ranges {
        starts: Vec<u32>,
        ends: Vec<u32>,
    },
}

impl OffsetMap {
    pub fn offset(&self, i: usize) -> usize {
        let at = |t: &[u32]| match t.get(i) {
            Some(o) => *o as usize,
            None => t.last().map_or(0, |o| *o as usize),
        };
        match self {
            OffsetMap::Shift(base) => base + i,
            OffsetMap::Table(t) => at(t),
            OffsetMap::Ranges { starts, .. } => at(starts),
        }
    }

    /// The map of the text's bytes `from..to` (and of its end, `to`), as a text of its own.
    /// Only that part of a table is copied: copying the rest of it for every `{…}` of a
    /// message made a message with many of them quadratic.
    pub fn window(&self, from: usize, to: usize) -> OffsetMap {
        let part = |t: &[u32]| t.get(from..=to).unwrap_or(&[]).to_vec();
        match self {
            OffsetMap::Shift(b) => OffsetMap::Shift(b + from),
            OffsetMap::Table(t) => OffsetMap::Table(part(t)),
            OffsetMap::Ranges { starts, ends } => OffsetMap::Ranges { starts: part(starts), ends: part(ends) },
        }
    }

    pub fn span(&self, s: Span) -> Span {
        let start = self.offset(s.start as usize);
        let end = match self {
            _ if s.end <= s.start => start,
            OffsetMap::Ranges { ends, .. } => {
                ends.get(s.end as usize - 1).or(ends.last()).map_or(start, |e| *e as usize)
            }
            _ => self.offset(s.end as usize - 1) + 1,
        };
        Span::new(start, end.max(start))
    }
}

struct Builder<'a> {
    file: &'a SourceFile,
    map: &'a OffsetMap,
    text: &'a str,
    diags: Vec<Diagnostic>,
    /// Items that did not parse (error recovery): where each starts, and whether it is the
    /// `policy` declaration.
    failed: Vec<(usize, bool)>,
}

/// pest calls allowed per byte of the largest policy file (see [`init_limits`]).
const CALLS_PER_BYTE: usize = 64;

fn init_limits() {
    // Bounds backtracking on pathological input.
    // The limit is per parse and sized so that no file within MAX_POLICY_BYTES reaches it
    // (a valid policy takes about 20–30 calls per byte); it is a last resort behind the
    // nesting scan, not a limit on policy size.
    ::pest::set_call_limit(std::num::NonZeroUsize::new(CALLS_PER_BYTE * super::MAX_POLICY_BYTES));
    // Record the tokens tried at the furthest position, for "expected …" messages. Always on
    // (not toggled around error paths): the setting is process-wide, and toggling it would
    // make diagnostics depend on what other threads are parsing.
    ::pest::set_error_detail(true);
}

/// Parses a whole `.tenet` file.
pub(super) fn file(file: &SourceFile) -> Parsed<Policy> {
    init_limits();
    let map = OffsetMap::Shift(0);
    let mut b = Builder { file, map: &map, text: &file.text, diags: Vec::new(), failed: Vec::new() };
    let items: Vec<Pair<Rule>> = match TenetParser::parse(Rule::file, &file.text) {
        Ok(mut pairs) => match pairs.next() {
            Some(p) => p.into_inner().filter(|p| p.as_rule() != Rule::EOI).collect(),
            None => Vec::new(),
        },
        Err(whole) => {
            // Re-parse item by item so every broken item is reported, not just the first.
            let mut items = Vec::new();
            let mut broken = Vec::new();
            for (start, end) in item_chunks(&file.text) {
                let chunk = &file.text[start..end];
                match TenetParser::parse(Rule::item_only, chunk) {
                    Ok(mut pairs) => {
                        if let Some(p) = pairs.next() {
                            items.extend(p.into_inner().filter(|p| p.as_rule() != Rule::EOI).map(|p| (p, start)));
                        }
                    }
                    Err(e) => {
                        b.diags.push(syntax_error(file, chunk, &OffsetMap::Shift(start), &e));
                        let first: String =
                            chunk.trim_start().chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect();
                        b.failed.push((start, first == "policy" || did_you_mean(&first, ["policy"]).is_some()));
                        broken.extend(declared_name(chunk).map(|(n, s, e)| (n, Span::new(start + s, start + e))));
                    }
                }
            }
            if b.diags.is_empty() {
                // Every chunk parses on its own but the file does not: report the file's error.
                b.diags.push(syntax_error(file, &file.text, &map, &whole));
            }
            let mut parsed = b.items_shifted(items);
            parsed.broken.extend(broken);
            return parsed;
        }
    };
    b.items(items.into_iter().map(|p| (p, 0)).collect())
}

/// Parses one expression (a YAML `assert:`/`when:` string).
pub(super) fn expr_only(file: &SourceFile, text: &str, map: &OffsetMap) -> Result<Expr, Vec<Diagnostic>> {
    init_limits();
    let mut b = Builder { file, map, text, diags: Vec::new(), failed: Vec::new() };
    match TenetParser::parse(Rule::expr_only, text) {
        Ok(mut pairs) => {
            let e = pairs.next().and_then(|p| p.into_inner().next()).map(|p| b.expr(p));
            match e {
                Some(Some(e)) if b.diags.is_empty() => Ok(e),
                _ => Err(b.diags),
            }
        }
        Err(e) => Err(vec![syntax_error(file, text, map, &e)]),
    }
}

impl Builder<'_> {
    fn items_shifted(mut self, items: Vec<(Pair<'_, Rule>, usize)>) -> Parsed<Policy> {
        // Chunks were parsed on their own; rebuild with the right base offset each.
        let mut out = self.items_inner(items);
        out.diagnostics.sort_by_key(|d| d.span.start);
        out
    }

    fn items(self, items: Vec<(Pair<'_, Rule>, usize)>) -> Parsed<Policy> {
        self.items_shifted(items)
    }

    fn items_inner(&mut self, items: Vec<(Pair<'_, Rule>, usize)>) -> Parsed<Policy> {
        let mut name: Option<Spanned<String>> = None;
        let mut broken: Vec<(String, Span)> = Vec::new();
        let mut policy_annotations = Vec::new();
        let mut pending: Vec<Annotation> = Vec::new();
        let mut params = Vec::new();
        let mut lets = Vec::new();
        let mut rules = Vec::new();
        let mut first_item: Option<Span> = None;
        // The first parameter, let or rule written before `policy "NAME"` (§2: it comes first).
        let mut before_policy: Option<Span> = None;
        let mut failed = self.failed.iter().peekable();
        for (pair, base) in items {
            let sub_map = OffsetMap::Shift(base);
            // Annotations waiting for an item that did not parse go with it.
            let at = base + pair.as_span().start();
            while failed.next_if(|(f, _)| *f < at).is_some() {
                pending.clear();
            }
            if first_item.is_none() {
                let s = pair.as_span();
                let start = sub_map.offset(s.start());
                let word = s.as_str().split(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '@')).next();
                first_item = Some(Span::new(start, start + word.map_or(0, str::len)));
            }
            if name.is_none()
                && before_policy.is_none()
                && matches!(pair.as_rule(), Rule::param_decl | Rule::let_decl | Rule::rule_decl)
            {
                let s = pair.as_span();
                let start = sub_map.offset(s.start());
                let word = s.as_str().split(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).next();
                before_policy = Some(Span::new(start, start + word.map_or(0, str::len)));
            }
            let mut sub =
                Builder { file: self.file, map: &sub_map, text: self.text, diags: Vec::new(), failed: Vec::new() };
            match pair.as_rule() {
                Rule::annotation => {
                    if let Some(a) = sub.annotation(pair) {
                        pending.push(a);
                    }
                }
                Rule::policy_decl => {
                    let span = sub.span(&pair);
                    let s = pair.into_inner().nth(1);
                    if let Some(s) = s {
                        let sspan = sub.span(&s);
                        let text = sub.string_value(s).unwrap_or_default();
                        if let Some(first) = &name {
                            sub.diags.push(
                                Diagnostic::new(
                                    Code::Duplicate,
                                    self.file,
                                    span,
                                    format!("second `policy` declaration (`{text}`) in one file"),
                                )
                                .label("second `policy` here")
                                .related(first.span, "the file's policy")
                                .help("a file holds one policy; move the second one into its own file"),
                            );
                        } else {
                            name = Some(Spanned::new(text, sspan));
                            policy_annotations.append(&mut pending);
                        }
                    }
                }
                Rule::param_decl => {
                    sub.misplaced_annotations(&mut pending, "a parameter");
                    let mut it = pair.into_inner();
                    if let (Some(n), Some(v)) = (it.next(), it.next()) {
                        let nspan = sub.span(&n);
                        match sub.expr(v) {
                            Some(value) => {
                                params.push(Param { name: Spanned::new(n.as_str().to_string(), nspan), value })
                            }
                            None => broken.push((n.as_str().to_string(), nspan)),
                        }
                    }
                }
                Rule::let_decl => {
                    sub.misplaced_annotations(&mut pending, "a `let`");
                    let mut it = pair.into_inner().skip(1);
                    if let (Some(k), Some(f), Some(e)) = (it.next(), it.next(), it.next()) {
                        let (kspan, fspan) = (sub.span(&k), sub.span(&f));
                        match sub.expr(e) {
                            Some(expr) => lets.push(Let {
                                kind: Spanned::new(k.as_str().to_string(), kspan),
                                field: Spanned::new(f.as_str().to_string(), fspan),
                                expr,
                            }),
                            None => broken.push((format!("{}.{}", k.as_str(), f.as_str()), kspan.to(fspan))),
                        }
                    }
                }
                Rule::rule_decl => {
                    let annotations = std::mem::take(&mut pending);
                    if let Some(r) = sub.rule(pair, annotations) {
                        rules.push(r);
                    }
                }
                _ => {}
            }
            self.diags.append(&mut sub.diags);
        }
        if failed.next().is_some() {
            pending.clear();
        }
        if let Some(a) = pending.first() {
            self.diags.push(
                Diagnostic::new(
                    Code::MisplacedAnnotation,
                    self.file,
                    a.name.span,
                    format!("annotation `@{}` is not followed by a rule", a.name.node),
                )
                .label("nothing to attach to")
                .help("put annotations directly above the `rule` or `policy` they describe"),
            );
        }
        if let (Some(n), Some(at)) = (&name, before_policy) {
            self.diags.push(
                Diagnostic::new(Code::Structure, self.file, at, "this comes before the `policy` declaration")
                    .label("before `policy`")
                    .related(n.span, "the policy is declared here")
                    .help("start the file with `policy \"NAME\"` (after its annotations and comments)"),
            );
        }
        let diagnostics = std::mem::take(&mut self.diags);
        let mut diagnostics = diagnostics;
        let name = match name {
            Some(name) => name,
            None => {
                // Unless a broken `policy` line was already reported, say it is missing; then
                // check the rest under the file's name, so that every problem is reported.
                let text = &self.file.text;
                let on_policy_line = |d: &Diagnostic| {
                    let start = (d.span.start as usize).min(text.len());
                    let line_start = text.get(..start).and_then(|t| t.rfind('\n')).map_or(0, |i| i + 1);
                    let word: String = text
                        .get(line_start..)
                        .unwrap_or("")
                        .trim_start()
                        .chars()
                        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                        .collect();
                    word == "policy" || did_you_mean(&word, ["policy"]).is_some()
                };
                let policy_broken = self.failed.iter().any(|(_, is_policy)| *is_policy);
                if !policy_broken && !diagnostics.iter().any(on_policy_line) {
                    let d = Diagnostic::new(
                        Code::Structure,
                        self.file,
                        first_item.unwrap_or_default(),
                        "missing `policy \"NAME\"` declaration",
                    )
                    .help("start the file with `policy \"my-policy\"`; it names the policy in reports");
                    diagnostics.push(if first_item.is_some() {
                        d.label("expected `policy \"NAME\"` before this")
                    } else {
                        d
                    });
                }
                Spanned::new(self.file.name.to_string(), Span::default())
            }
        };
        let policy = Policy { file: self.file.clone(), name, annotations: policy_annotations, params, lets, rules };
        Parsed { value: Some(policy), diagnostics, broken }
    }

    fn misplaced_annotations(&mut self, pending: &mut Vec<Annotation>, what: &str) {
        for a in pending.drain(..) {
            self.diags.push(
                Diagnostic::new(
                    Code::MisplacedAnnotation,
                    self.file,
                    a.name.span,
                    format!("annotation `@{}` cannot be attached to {what}", a.name.node),
                )
                .label("this annotation")
                .help("annotations attach to the next `rule` or `policy`"),
            );
        }
    }

    fn span(&self, pair: &Pair<'_, Rule>) -> Span {
        let s = pair.as_span();
        self.map.span(Span::new(s.start(), s.end()))
    }

    fn annotation(&mut self, pair: Pair<'_, Rule>) -> Option<Annotation> {
        let mut it = pair.into_inner();
        let name = it.next()?;
        let value = it.next()?;
        let nspan = self.span(&name);
        // The value's span is the value's own (tight): the pair's may run on over whitespace
        // and a comment before the `)`.
        let (value, vspan) = match value.as_rule() {
            Rule::bare_word => (AnnotationValue::Word(value.as_str().to_string()), self.span(&value)),
            _ => {
                let e = self.expr(value)?;
                let span = e.span;
                (AnnotationValue::Expr(e), span)
            }
        };
        Some(Annotation { name: Spanned::new(name.as_str().to_string(), nspan), value: Spanned::new(value, vspan) })
    }

    fn rule(&mut self, pair: Pair<'_, Rule>, annotations: Vec<Annotation>) -> Option<AstRule> {
        let mut it = pair.into_inner().skip(1);
        let name = it.next()?;
        let nspan = self.span(&name);
        let mut next = it.next()?;
        let mut guard = None;
        if next.as_rule() == Rule::guard {
            let g = next.into_inner().nth(1)?;
            guard = Some(self.expr(g)?);
            next = it.next()?;
        }
        let raw_text = next.as_str();
        let assert = self.expr(next)?;
        // The default message is the assertion's own text: take it from the expression's
        // span (tight), not the pair's text, which may run into a trailing comment.
        let assert_text = match self.map {
            OffsetMap::Shift(_) => collapse_ws(self.file.slice(assert.span)),
            OffsetMap::Table(_) | OffsetMap::Ranges { .. } => collapse_ws(raw_text),
        };
        let (annotations, message) = split_message(self.file, annotations, &mut self.diags);
        Some(AstRule {
            name: Spanned::new(name.as_str().to_string(), nspan),
            annotations,
            guard,
            assert,
            assert_text,
            message,
        })
    }

    fn expr(&mut self, pair: Pair<'_, Rule>) -> Option<Expr> {
        let span = self.span(&pair);
        match pair.as_rule() {
            Rule::expr => self.expr(pair.into_inner().next()?),
            Rule::implication => {
                // Right-associative, built without recursion in the grammar.
                let mut operands = Vec::new();
                for p in pair.into_inner() {
                    if p.as_rule() != Rule::kw_requires {
                        operands.push(self.expr(p)?);
                    }
                }
                let mut acc = operands.pop()?;
                while let Some(lhs) = operands.pop() {
                    acc = self.binary(BinOp::Requires, lhs, acc)?;
                }
                Some(acc)
            }
            Rule::disjunction | Rule::conjunction | Rule::coalesce | Rule::additive | Rule::multiplicative => {
                self.left_chain(pair)
            }
            Rule::negation => {
                let mut nots = Vec::new();
                let mut inner = None;
                for p in pair.into_inner() {
                    if p.as_rule() == Rule::not_op {
                        nots.push(self.span(&p));
                    } else {
                        inner = Some(self.expr(p)?);
                    }
                }
                let mut e = inner?;
                while let Some(s) = nots.pop() {
                    e = self.node(ExprKind::Unary(UnOp::Not, Box::new(e.clone())), s.to(e.span), &e)?;
                }
                Some(e)
            }
            Rule::comparison => {
                let mut it = pair.into_inner();
                let lhs = self.expr(it.next()?)?;
                match (it.next(), it.next()) {
                    (Some(op), Some(rhs)) => {
                        let op = comparison_op(&op)?;
                        let rhs = self.expr(rhs)?;
                        self.binary(op, lhs, rhs)
                    }
                    _ => Some(lhs),
                }
            }
            Rule::unary => {
                let mut negs = Vec::new();
                let mut inner = None;
                for p in pair.into_inner() {
                    if p.as_rule() == Rule::neg_op {
                        negs.push(self.span(&p));
                    } else {
                        inner = Some(p);
                    }
                }
                let inner = inner?;
                // `-7` is a negative literal, so that i64::MIN can be written: only a bare
                // integer directly after the minus (no postfix, no filter) is folded.
                if negs.len() == 1 {
                    if let Some(int) = bare_integer(&inner) {
                        let end = self.span(&int).end as usize;
                        let s = Span::new(negs[0].start as usize, end);
                        return self.int_literal(&format!("-{}", int.as_str()), s);
                    }
                }
                let mut e = self.expr(inner)?;
                while let Some(s) = negs.pop() {
                    e = self.node(ExprKind::Unary(UnOp::Neg, Box::new(e.clone())), s.to(e.span), &e)?;
                }
                Some(e)
            }
            Rule::filtered => {
                let mut it = pair.into_inner();
                let list = self.expr(it.next()?)?;
                let mut binder = None;
                let mut pred = None;
                for p in it {
                    match p.as_rule() {
                        Rule::binder => binder = self.binder(p),
                        Rule::kw_where => {}
                        _ => pred = Some(self.expr(p)?),
                    }
                }
                match pred {
                    None => Some(list),
                    Some(pred) => {
                        let depth = list.depth().max(pred.depth());
                        self.check_depth(depth, span)?;
                        Some(Expr {
                            kind: ExprKind::Filter { list: Box::new(list), binder, pred: Box::new(pred) },
                            span,
                        })
                    }
                }
            }
            Rule::postfix => {
                let mut it = pair.into_inner();
                let mut e = self.expr(it.next()?)?;
                for p in it {
                    let pspan = self.span(&p);
                    let whole = e.span.to(pspan);
                    match p.as_rule() {
                        Rule::dot_field => {
                            let f = p.into_inner().next()?;
                            let fspan = self.span(&f);
                            let name = Spanned::new(f.as_str().to_string(), fspan);
                            e = self.node(ExprKind::Field(Box::new(e.clone()), name), whole, &e)?;
                        }
                        Rule::index => {
                            let i = self.expr(p.into_inner().next()?)?;
                            let d = e.depth().max(i.depth());
                            self.check_depth(d, whole)?;
                            e = Expr { kind: ExprKind::Index(Box::new(e), Box::new(i)), span: whole };
                        }
                        _ => {}
                    }
                }
                Some(e)
            }
            Rule::paren => {
                let inner = self.expr(pair.into_inner().next()?)?;
                self.node(ExprKind::Paren(Box::new(inner.clone())), span, &inner)
            }
            Rule::list => {
                let mut items = Vec::new();
                for p in pair.into_inner() {
                    items.push(self.expr(p)?);
                }
                let d = items.iter().map(Expr::depth).max().unwrap_or(0);
                self.check_depth(d, span)?;
                Some(Expr { kind: ExprKind::List(items), span })
            }
            Rule::call => {
                let mut it = pair.into_inner();
                let name = it.next()?;
                let name = Spanned::new(name.as_str().to_string(), self.span(&name));
                let Some(args) = it.next() else {
                    return Some(Expr { kind: ExprKind::Call(name, Vec::new()), span });
                };
                let mut it = args.into_inner();
                let first = self.expr(it.next()?)?;
                let mut args = vec![first];
                for p in it {
                    if p.as_rule() == Rule::quant_tail {
                        let mut binder = None;
                        let mut pred = None;
                        for q in p.into_inner() {
                            match q.as_rule() {
                                Rule::binder => binder = self.binder(q),
                                _ => pred = Some(self.expr(q)?),
                            }
                        }
                        let list = args.pop()?;
                        let pred = pred?;
                        self.check_depth(list.depth().max(pred.depth()), span)?;
                        return Some(Expr {
                            kind: ExprKind::Quant { func: name, list: Box::new(list), binder, pred: Box::new(pred) },
                            span,
                        });
                    }
                    args.push(self.expr(p)?);
                }
                let d = args.iter().map(Expr::depth).max().unwrap_or(0);
                self.check_depth(d, span)?;
                Some(Expr { kind: ExprKind::Call(name, args), span })
            }
            Rule::ident => Some(Expr { kind: ExprKind::Name(pair.as_str().to_string()), span }),
            Rule::integer => self.int_literal(pair.as_str(), span),
            Rule::decimal => match pair.as_str().parse::<f64>() {
                Ok(d) if d.is_finite() => Some(lit(Literal::Dec(d), span)),
                _ => self.bad_literal(
                    span,
                    format!("decimal `{}` is out of range", pair.as_str()),
                    "decimals are 64-bit floating point numbers".into(),
                ),
            },
            Rule::string => {
                let s = self.string_value(pair)?;
                Some(lit(Literal::Str(s), span))
            }
            Rule::kw_true => Some(lit(Literal::Bool(true), span)),
            Rule::kw_false => Some(lit(Literal::Bool(false), span)),
            Rule::kw_null => Some(lit(Literal::Null, span)),
            Rule::duration => match parse_duration_literal(pair.as_str()) {
                Some(d) => Some(lit(Literal::Duration(d), span)),
                None => self.bad_literal(
                    span,
                    format!("duration `{}` is out of range", pair.as_str()),
                    "a duration must fit in about 292,000 years".into(),
                ),
            },
            Rule::date | Rule::datetime => match parse_date(pair.as_str()) {
                Some(d) => Some(lit(Literal::Date(d), span)),
                None => {
                    let text = pair.as_str();
                    self.bad_literal(span, format!("`{text}` is not a valid date"), date_help(text))
                }
            },
            _ => {
                // Transparent wrappers (expr_only, template_expr).
                let inner = pair.into_inner().next()?;
                self.expr(inner)
            }
        }
    }

    fn binder(&mut self, p: Pair<'_, Rule>) -> Option<Spanned<String>> {
        let id = p.into_inner().nth(1)?;
        Some(Spanned::new(id.as_str().to_string(), self.span(&id)))
    }

    fn left_chain(&mut self, pair: Pair<'_, Rule>) -> Option<Expr> {
        let mut it = pair.into_inner();
        let mut acc = self.expr(it.next()?)?;
        loop {
            let Some(op) = it.next() else { return Some(acc) };
            let (op, rhs) = match op.as_rule() {
                Rule::kw_or => (BinOp::Or, it.next()?),
                Rule::kw_and => (BinOp::And, it.next()?),
                Rule::add_op | Rule::mul_op => {
                    let op = match op.as_str() {
                        "+" => BinOp::Add,
                        "-" => BinOp::Sub,
                        "*" => BinOp::Mul,
                        "/" => BinOp::Div,
                        _ => BinOp::Rem,
                    };
                    (op, it.next()?)
                }
                // `??` is silent in the grammar: the next pair is already the operand.
                _ => {
                    let rhs = self.expr(op)?;
                    acc = self.binary(BinOp::Coalesce, acc, rhs)?;
                    continue;
                }
            };
            let rhs = self.expr(rhs)?;
            acc = self.binary(op, acc, rhs)?;
        }
    }

    fn binary(&mut self, op: BinOp, lhs: Expr, rhs: Expr) -> Option<Expr> {
        let span = lhs.span.to(rhs.span);
        let depth = lhs.depth().max(rhs.depth());
        self.check_depth(depth, span)?;
        Some(Expr { kind: ExprKind::Binary(op, Box::new(lhs), Box::new(rhs)), span })
    }

    /// A one-child node; `child` is only used for its depth.
    fn node(&mut self, kind: ExprKind, span: Span, child: &Expr) -> Option<Expr> {
        self.check_depth(child.depth(), span)?;
        Some(Expr { kind, span })
    }

    fn check_depth(&mut self, child_depth: usize, span: Span) -> Option<()> {
        if child_depth >= MAX_DEPTH {
            if !self.diags.iter().any(|d| d.code == Code::TooDeep) {
                self.diags.push(
                    Diagnostic::new(
                        Code::TooDeep,
                        self.file,
                        span,
                        format!("expression nested deeper than {MAX_DEPTH} levels"),
                    )
                    .label("too deep")
                    .help("split the expression with `let` derived fields"),
                );
            }
            return None;
        }
        Some(())
    }

    fn int_literal(&mut self, text: &str, span: Span) -> Option<Expr> {
        match text.parse::<i64>() {
            Ok(n) => Some(lit(Literal::Int(n), span)),
            Err(_) => self.bad_literal(
                span,
                format!("integer `{text}` does not fit in 64 bits"),
                format!("integers range from {} to {}", i64::MIN, i64::MAX),
            ),
        }
    }

    fn bad_literal<T>(&mut self, span: Span, msg: String, help: String) -> Option<T> {
        self.diags.push(Diagnostic::new(Code::BadLiteral, self.file, span, msg).label("this literal").help(help));
        None
    }

    fn string_value(&mut self, pair: Pair<'_, Rule>) -> Option<String> {
        let inner = pair.into_inner().next()?;
        let start = inner.as_span().start();
        match unescape_dsl(inner.as_str()) {
            Ok((s, _)) => Some(s),
            Err((at, msg)) => {
                let len = escape_len(inner.as_str(), at);
                let span = self.map.span(Span::new(start + at, start + at + len));
                self.diags.push(
                    Diagnostic::new(Code::BadLiteral, self.file, span, msg)
                        .label("invalid escape")
                        .help(r#"valid escapes are `\"`, `\\`, `\n`, `\t` and `\u{HEX}`; write `\\` for a backslash"#),
                );
                None
            }
        }
    }
}

/// The length of the escape sequence at byte `at` of a string's inside: `\q`, `\u{…}`.
fn escape_len(raw: &str, at: usize) -> usize {
    let rest = raw.get(at..).unwrap_or("");
    let mut chars = rest.char_indices().skip(1);
    match chars.next() {
        Some((i, 'u')) if rest[i + 1..].starts_with('{') => rest.find('}').map_or(rest.len(), |j| j + 1),
        Some((i, c)) => i + c.len_utf8(),
        None => rest.len().max(1),
    }
}

/// Why a date literal is impossible, when it can be said.
fn date_help(text: &str) -> String {
    let num = |r: std::ops::Range<usize>| text.get(r).and_then(|s| s.parse::<i64>().ok());
    match (num(0..4), num(5..7), num(8..10)) {
        (Some(_), Some(m), _) if !(1..=12).contains(&m) => format!("there is no month {m}"),
        (Some(y), Some(m), Some(d)) if d < 1 || d > days_in_month(y, m) => {
            format!("{y}-{m:02} has {} days", days_in_month(y, m))
        }
        _ => "write a date as `YYYY-MM-DD`, or a date-time as `2026-01-01T09:30:00Z` (RFC 3339)".into(),
    }
}

fn days_in_month(y: i64, m: i64) -> i64 {
    let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if leap => 29,
        _ => 28,
    }
}

/// The integer literal a `filtered` pair consists of, if that is all it is.
fn bare_integer<'i>(filtered: &Pair<'i, Rule>) -> Option<Pair<'i, Rule>> {
    let mut inner = filtered.clone().into_inner();
    let postfix = inner.next()?;
    if inner.next().is_some() || postfix.as_rule() != Rule::postfix {
        return None;
    }
    let mut parts = postfix.into_inner();
    let primary = parts.next()?;
    if parts.next().is_some() || primary.as_rule() != Rule::integer {
        return None;
    }
    Some(primary)
}

fn lit(l: Literal, span: Span) -> Expr {
    Expr { kind: ExprKind::Lit(l), span }
}

fn comparison_op(op: &Pair<'_, Rule>) -> Option<BinOp> {
    let inner = op.clone().into_inner().next();
    Some(match op.as_str() {
        "==" => BinOp::Eq,
        "!=" => BinOp::Ne,
        "<=" => BinOp::Le,
        ">=" => BinOp::Ge,
        "<" => BinOp::Lt,
        ">" => BinOp::Gt,
        "in" => BinOp::In,
        "matches" => BinOp::Matches,
        _ if inner.is_some_and(|i| i.as_rule() == Rule::not_in) => BinOp::NotIn,
        _ => return None,
    })
}

impl Expr {
    /// Nesting depth of the tree (a leaf is 1).
    pub fn depth(&self) -> usize {
        1 + match &self.kind {
            ExprKind::Lit(_) | ExprKind::Name(_) => 0,
            ExprKind::List(items) => items.iter().map(Expr::depth).max().unwrap_or(0),
            ExprKind::Call(_, args) => args.iter().map(Expr::depth).max().unwrap_or(0),
            ExprKind::Field(e, _) | ExprKind::Unary(_, e) | ExprKind::Paren(e) => e.depth(),
            ExprKind::Index(a, b) | ExprKind::Binary(_, a, b) => a.depth().max(b.depth()),
            ExprKind::Quant { list, pred, .. } | ExprKind::Filter { list, pred, .. } => list.depth().max(pred.depth()),
        }
    }
}

/// Moves `@message` out of the annotations (its text is a template) and checks its type.
fn split_message(
    file: &SourceFile,
    annotations: Vec<Annotation>,
    diags: &mut Vec<Diagnostic>,
) -> (Vec<Annotation>, Option<Spanned<Template>>) {
    let mut rest = Vec::new();
    let mut message = None;
    for a in annotations {
        if a.name.node == "message" {
            match &a.value.node {
                AnnotationValue::Expr(Expr { kind: ExprKind::Lit(Literal::Str(_)), span }) => {
                    // Re-read the raw string to keep the offsets of every byte.
                    let raw = file.slice(*span);
                    let inner = raw.get(1..raw.len().saturating_sub(1)).unwrap_or("");
                    if let Ok((text, offsets)) = unescape_dsl(inner) {
                        let base = span.start + 1;
                        let offsets = offsets.into_iter().map(|o| o + base).collect();
                        message = Some(Spanned::new(Template { text, offsets }, a.value.span));
                    }
                }
                _ => diags.push(
                    Diagnostic::new(Code::AnnotationValue, file, a.value.span, "`@message` takes a string")
                        .label("not a string")
                        .help(r#"write `@message("Role {role.name} …")`"#),
                ),
            }
        } else {
            rest.push(a);
        }
    }
    (rest, message)
}

/// Unescapes the inside of a DSL string. Returns the text and, for every byte of it (plus
/// one for the end), the offset of the source byte it came from. On error: the offset of
/// the bad escape and a message.
pub fn unescape_dsl(raw: &str) -> Result<(String, Vec<u32>), (usize, String)> {
    let mut out = String::with_capacity(raw.len());
    let mut offsets = Vec::with_capacity(raw.len() + 1);
    let mut chars = raw.char_indices().peekable();
    let push = |out: &mut String, offsets: &mut Vec<u32>, c: char, at: usize| {
        let before = out.len();
        out.push(c);
        for _ in before..out.len() {
            offsets.push(at as u32);
        }
    };
    while let Some((i, c)) = chars.next() {
        if c != '\\' {
            push(&mut out, &mut offsets, c, i);
            continue;
        }
        let Some((_, e)) = chars.next() else { return Err((i, "unfinished escape".into())) };
        let c = match e {
            '"' => '"',
            '\\' => '\\',
            'n' => '\n',
            't' => '\t',
            'r' => '\r',
            'u' => {
                if chars.next().map(|(_, c)| c) != Some('{') {
                    return Err((i, r"expected `{` after `\u`".into()));
                }
                let mut hex = String::new();
                loop {
                    match chars.next() {
                        Some((_, '}')) => break,
                        Some((_, h)) if h.is_ascii_hexdigit() && hex.len() < 6 => hex.push(h),
                        _ => return Err((i, r"malformed `\u{…}` escape".into())),
                    }
                }
                match u32::from_str_radix(&hex, 16).ok().and_then(char::from_u32) {
                    Some(c) => c,
                    None => return Err((i, format!("`\\u{{{hex}}}` is not a Unicode scalar value"))),
                }
            }
            other => return Err((i, format!("unknown escape `\\{other}`"))),
        };
        push(&mut out, &mut offsets, c, i);
    }
    offsets.push(raw.len() as u32);
    Ok((out, offsets))
}

/// One `{EXPR}` or literal piece of a message template.
#[derive(Debug, Clone)]
pub enum TemplatePart {
    Text(String),
    Expr(Expr),
}

/// Splits a message template into text and `{EXPR}` parts; `{{` and `}}` are literal braces.
pub fn parse_template(file: &SourceFile, t: &Template) -> (Vec<TemplatePart>, Vec<Diagnostic>) {
    let mut parts = Vec::new();
    let mut diags = Vec::new();
    let mut text = String::new();
    let bytes = t.text.as_bytes();
    let map = OffsetMap::Table(t.offsets.clone());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'{' if bytes.get(i + 1) == Some(&b'{') => {
                text.push('{');
                i += 2;
            }
            b'}' if bytes.get(i + 1) == Some(&b'}') => {
                text.push('}');
                i += 2;
            }
            b'{' => {
                let Some(close) = find_close(&t.text, i + 1) else {
                    diags.push(
                        Diagnostic::new(Code::Message, file, map.span(Span::new(i, i + 1)), "unclosed `{` in message")
                            .label("opened here")
                            .help("close the expression with `}`, or write `{{` for a literal brace"),
                    );
                    break;
                };
                if !text.is_empty() {
                    parts.push(TemplatePart::Text(std::mem::take(&mut text)));
                }
                let inner = &t.text[i + 1..close];
                let sub = map.window(i + 1, close);
                match super::expression(file, inner, &sub) {
                    Ok(e) => parts.push(TemplatePart::Expr(e)),
                    Err(mut d) => diags.append(&mut d),
                }
                i = close + 1;
            }
            b'}' => {
                diags.push(
                    Diagnostic::new(Code::Message, file, map.span(Span::new(i, i + 1)), "unmatched `}` in message")
                        .label("no `{` before it")
                        .help("write `}}` for a literal brace"),
                );
                i += 1;
            }
            _ => {
                let ch_len = t.text[i..].chars().next().map_or(1, char::len_utf8);
                text.push_str(&t.text[i..i + ch_len]);
                i += ch_len;
            }
        }
    }
    if !text.is_empty() {
        parts.push(TemplatePart::Text(text));
    }
    (parts, diags)
}

/// The `}` closing a template expression, skipping strings and nested braces.
fn find_close(s: &str, from: usize) -> Option<usize> {
    let bytes = s.as_bytes();
    let mut depth = 0usize;
    let mut i = from;
    while i < bytes.len() {
        match bytes[i] {
            b'"' => {
                i += 1;
                while i < bytes.len() && bytes[i] != b'"' {
                    if bytes[i] == b'\\' {
                        i += 1;
                    }
                    i += 1;
                }
            }
            b'{' => depth += 1,
            b'}' if depth == 0 => return Some(i),
            b'}' => depth -= 1,
            _ => {}
        }
        i += 1;
    }
    None
}

fn collapse_ws(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The parameter (`NAME`) or derived field (`KIND.NAME`) an item that does not parse
/// defines, read from its first tokens, with the range of the name in the item.
fn declared_name(chunk: &str) -> Option<(String, usize, usize)> {
    let word = |s: &str| -> usize { s.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).unwrap_or(s.len()) };
    let lead = chunk.len() - chunk.trim_start().len();
    let t = &chunk[lead..];
    if let Some(rest) = t.strip_prefix("let").filter(|r| r.starts_with(char::is_whitespace)) {
        let at = lead + 3 + (rest.len() - rest.trim_start().len());
        let rest = rest.trim_start();
        let k = word(rest);
        let after = rest.get(k..)?.strip_prefix('.')?;
        let f = word(after);
        let eq = after.get(f..)?.trim_start();
        return (k > 0 && f > 0 && eq.starts_with('=') && !eq.starts_with("=="))
            .then(|| (format!("{}.{}", &rest[..k], &after[..f]), at, at + k + 1 + f));
    }
    // `NAME = …`, also with a stray character in the name (`max_active_>certs = 5`).
    let raw = param_like(t)?;
    let name: String = raw.chars().filter(|c| c.is_ascii_alphanumeric() || *c == '_').collect();
    (!name.is_empty() && !matches!(name.as_str(), "rule" | "policy" | "let")).then(|| (name, lead, lead + raw.len()))
}

/// The name part of a line shaped like a parameter even if the name is mangled
/// (`max_active_>certs = 5`): a word, then no spaces or brackets up to a lone `=`.
fn param_like(line: &str) -> Option<&str> {
    if !line.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_') {
        return None;
    }
    let end = line.find(|c: char| c.is_whitespace() || "=([\"':#,".contains(c))?;
    let rest = line[end..].trim_start_matches([' ', '\t']);
    let name = &line[..end];
    let lone = rest.starts_with('=') && !rest.starts_with("==");
    (lone && !name.ends_with(['!', '<', '>'])).then_some(name)
}

/// Splits a file into top-level items for error recovery: a new item starts at a line
/// whose first token (`parse::lex`; a line inside a string or comment has none) is `@`,
/// `policy`, `let`, `rule` or `NAME =`.
fn item_chunks(text: &str) -> Vec<(usize, usize)> {
    use super::lex::{self, TokenKind, ITEM_KEYWORDS};
    let toks: Vec<lex::Token> = lex::Lexer::new(text).filter(|t| t.kind != TokenKind::Comment).collect();
    let mut starts = Vec::new();
    let mut prev_end = 0;
    for (i, t) in toks.iter().enumerate() {
        let gap_start = std::mem::replace(&mut prev_end, t.end);
        let line_start = match text[gap_start..t.start].rfind('\n') {
            Some(n) => gap_start + n + 1,
            None if i == 0 => 0,
            None => continue,
        };
        let lead = t.start - line_start;
        let line_end = text[t.start..].find('\n').map_or(text.len(), |n| t.start + n);
        let word = if t.kind.is_word() { t.text(text) } else { "" };
        // The next token when it is on the same line.
        let next = toks.get(i + 1).filter(|n| n.start < line_end);
        let spaced = next.is_some_and(|n| n.start > t.end);
        let next_text = next.map_or("", |n| n.text(text));
        // A flush-left `rul name…` or `polcy "…"` is a misspelled item keyword: its own item,
        // so that the item before it is not reported broken too.
        let typo = lead == 0
            && !word.is_empty()
            && spaced
            && next_text.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_' || c == '"')
            && did_you_mean(word, ITEM_KEYWORDS.iter().copied()).is_some();
        let starts_item = t.text(text) == "@"
            || (t.kind == TokenKind::Keyword && ITEM_KEYWORDS.contains(&word))
            || typo
            || (!word.is_empty() && next_text == "=")
            || (lead == 0 && param_like(&text[t.start..line_end]).is_some());
        if starts_item {
            starts.push(line_start + lead);
        }
    }
    if starts.first() != Some(&0) {
        starts.insert(0, 0);
    }
    let mut chunks = Vec::new();
    for (i, s) in starts.iter().enumerate() {
        let e = starts.get(i + 1).copied().unwrap_or(text.len());
        // A chunk of only whitespace and comments is no item.
        if lex::Lexer::at(&text[..e], *s).next_code().is_some() {
            chunks.push((*s, e));
        }
    }
    chunks
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_template_expression_gets_only_its_own_offsets() {
        let text = "{a} and {b}".repeat(3);
        let offsets: Vec<u32> = (0..=text.len() as u32).map(|o| o + 100).collect();
        let t = Template { text: text.clone(), offsets: offsets.clone() };
        let map = OffsetMap::Table(offsets);
        let OffsetMap::Table(sub) = map.window(1, 2) else { panic!("a table's window is a table") };
        assert_eq!(sub, [101, 102]);
        // And the template's expressions still point at their names.
        let file = SourceFile::new("t.tenet", " ".repeat(100) + &text);
        let (parts, diags) = parse_template(&file, &t);
        assert!(diags.is_empty());
        let spans: Vec<&str> = parts
            .iter()
            .filter_map(|p| match p {
                TemplatePart::Expr(e) => Some(file.slice(e.span)),
                TemplatePart::Text(_) => None,
            })
            .collect();
        assert_eq!(spans, ["a", "b", "a", "b", "a", "b"]);
    }
}
