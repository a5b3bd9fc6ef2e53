//! pest pairs → AST. One function per grammar rule; spans attached on the way.

use super::pest::{rule_name, Rule, TenetParser};
use super::{Parsed, MAX_DEPTH};
use crate::ast::{
    Annotation, AnnotationValue, BinOp, Expr, ExprKind, Let, Literal, Param, Policy, Rule as AstRule, Spanned,
    Template, UnOp,
};
use crate::diagnostic::{Code, Diagnostic};
use crate::source::{SourceFile, Span};
use crate::value::{parse_date, parse_duration_literal};
use pest::iterators::Pair;
use pest::Parser as _;

type Pairs<'i> = pest::iterators::Pairs<'i, Rule>;

/// Maps byte offsets of a text being parsed to byte offsets of the source file: the text
/// may be a verbatim slice of the file (`Shift`) or an unescaped copy (`Table`).
#[derive(Debug, Clone)]
pub enum OffsetMap {
    Shift(usize),
    Table(Vec<u32>),
}

impl OffsetMap {
    pub fn offset(&self, i: usize) -> usize {
        match self {
            OffsetMap::Shift(base) => base + i,
            OffsetMap::Table(t) => match t.get(i) {
                Some(o) => *o as usize,
                None => t.last().map_or(0, |o| *o as usize),
            },
        }
    }

    pub fn span(&self, s: Span) -> Span {
        let start = self.offset(s.start as usize);
        let end = if s.end > s.start { self.offset(s.end as usize - 1) + 1 } else { start };
        Span::new(start, end.max(start))
    }
}

struct Builder<'a> {
    file: &'a SourceFile,
    map: &'a OffsetMap,
    text: &'a str,
    diags: Vec<Diagnostic>,
}

fn init_limits() {
    // Bounds backtracking on pathological input; normal policies use far fewer calls.
    ::pest::set_call_limit(std::num::NonZeroUsize::new(20_000_000));
}

/// Parses a whole `.tenet` file.
pub(super) fn file(file: &SourceFile) -> Parsed<Policy> {
    init_limits();
    let map = OffsetMap::Shift(0);
    let mut b = Builder { file, map: &map, text: &file.text, diags: Vec::new() };
    let items: Vec<Pair<Rule>> = match TenetParser::parse(Rule::file, &file.text) {
        Ok(mut pairs) => match pairs.next() {
            Some(p) => p.into_inner().filter(|p| p.as_rule() != Rule::EOI).collect(),
            None => Vec::new(),
        },
        Err(_) => {
            // Re-parse item by item so every broken item is reported, not just the first.
            let mut items = Vec::new();
            for (start, end) in item_chunks(&file.text) {
                let chunk = &file.text[start..end];
                match TenetParser::parse(Rule::item_only, chunk) {
                    Ok(mut pairs) => {
                        if let Some(p) = pairs.next() {
                            items.extend(p.into_inner().filter(|p| p.as_rule() != Rule::EOI).map(|p| (p, start)));
                        }
                    }
                    Err(e) => b.diags.push(syntax_error(file, &OffsetMap::Shift(start), e)),
                }
            }
            return b.items_shifted(items);
        }
    };
    b.items(items.into_iter().map(|p| (p, 0)).collect())
}

/// Parses one expression (a YAML `assert:`/`when:` string).
pub(super) fn expr_only(file: &SourceFile, text: &str, map: &OffsetMap) -> Result<Expr, Vec<Diagnostic>> {
    init_limits();
    let mut b = Builder { file, map, text, diags: Vec::new() };
    match TenetParser::parse(Rule::expr_only, text) {
        Ok(mut pairs) => {
            let e = pairs.next().and_then(|p| p.into_inner().next()).map(|p| b.expr(p));
            match e {
                Some(Some(e)) if b.diags.is_empty() => Ok(e),
                _ => Err(b.diags),
            }
        }
        Err(e) => Err(vec![syntax_error(file, map, e)]),
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
        let mut policy_annotations = Vec::new();
        let mut pending: Vec<Annotation> = Vec::new();
        let mut params = Vec::new();
        let mut lets = Vec::new();
        let mut rules = Vec::new();
        for (pair, base) in items {
            let sub_map = OffsetMap::Shift(base);
            let mut sub = Builder { file: self.file, map: &sub_map, text: self.text, diags: Vec::new() };
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
                        if name.is_some() {
                            sub.diags.push(
                                Diagnostic::new(Code::Duplicate, self.file, span, "a file holds one policy")
                                    .label("second `policy` here")
                                    .help("move the second policy into its own file"),
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
                        if let Some(value) = sub.expr(v) {
                            params.push(Param { name: Spanned::new(n.as_str().to_string(), nspan), value });
                        }
                    }
                }
                Rule::let_decl => {
                    sub.misplaced_annotations(&mut pending, "a `let`");
                    let mut it = pair.into_inner().skip(1);
                    if let (Some(k), Some(f), Some(e)) = (it.next(), it.next(), it.next()) {
                        let (kspan, fspan) = (sub.span(&k), sub.span(&f));
                        if let Some(expr) = sub.expr(e) {
                            lets.push(Let {
                                kind: Spanned::new(k.as_str().to_string(), kspan),
                                field: Spanned::new(f.as_str().to_string(), fspan),
                                expr,
                            });
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
        if let Some(a) = pending.first() {
            self.diags.push(
                Diagnostic::new(Code::Annotation, self.file, a.name.span, "annotation is not followed by a rule")
                    .label("nothing to attach to")
                    .help("put annotations directly above the `rule` or `policy` they describe"),
            );
        }
        let diagnostics = std::mem::take(&mut self.diags);
        let Some(name) = name else {
            let mut diagnostics = diagnostics;
            if diagnostics.is_empty() {
                diagnostics.push(
                    Diagnostic::new(
                        Code::Structure,
                        self.file,
                        Span::new(0, 0),
                        "missing `policy \"NAME\"` declaration",
                    )
                    .help("start the file with `policy \"my-policy\"`"),
                );
            }
            return Parsed { value: None, diagnostics };
        };
        let policy = Policy { file: self.file.clone(), name, annotations: policy_annotations, params, lets, rules };
        Parsed { value: Some(policy), diagnostics }
    }

    fn misplaced_annotations(&mut self, pending: &mut Vec<Annotation>, what: &str) {
        for a in pending.drain(..) {
            self.diags.push(
                Diagnostic::new(
                    Code::Annotation,
                    self.file,
                    a.name.span,
                    format!("annotations cannot be attached to {what}"),
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
        let vspan = self.span(&value);
        let value = match value.as_rule() {
            Rule::bare_word => AnnotationValue::Word(value.as_str().to_string()),
            _ => AnnotationValue::Expr(self.expr(value)?),
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
        let assert_text = collapse_ws(next.as_str());
        let assert = self.expr(next)?;
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
                // `-7` is a negative literal, so that i64::MIN can be written.
                let digits = inner.as_str().trim_end();
                if negs.len() == 1 && !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
                    let end = self.span(&inner).start as usize + digits.len();
                    let s = Span::new(negs[0].start as usize, end);
                    return self.int_literal(&format!("-{digits}"), s);
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
                _ => self.bad_literal(span, "decimal is out of range"),
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
                None => self.bad_literal(span, "duration is out of range"),
            },
            Rule::date | Rule::datetime => match parse_date(pair.as_str()) {
                Some(d) => Some(lit(Literal::Date(d), span)),
                None => self.bad_literal(span, "not a valid date"),
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
            Err(_) => self.bad_literal(span, "integer does not fit in 64 bits"),
        }
    }

    fn bad_literal<T>(&mut self, span: Span, msg: &str) -> Option<T> {
        self.diags.push(Diagnostic::new(Code::BadLiteral, self.file, span, msg.to_string()).label("this literal"));
        None
    }

    fn string_value(&mut self, pair: Pair<'_, Rule>) -> Option<String> {
        let inner = pair.into_inner().next()?;
        let start = inner.as_span().start();
        match unescape_dsl(inner.as_str()) {
            Ok((s, _)) => Some(s),
            Err((at, msg)) => {
                let span = self.map.span(Span::new(start + at, start + at + 1));
                self.diags.push(
                    Diagnostic::new(Code::BadLiteral, self.file, span, msg)
                        .label("here")
                        .help(r#"valid escapes are \" \\ \n \t and \u{HEX}"#),
                );
                None
            }
        }
    }
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
                    Diagnostic::new(Code::Annotation, file, a.value.span, "`@message` takes a string")
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
                            .help("write `{{` for a literal brace"),
                    );
                    break;
                };
                if !text.is_empty() {
                    parts.push(TemplatePart::Text(std::mem::take(&mut text)));
                }
                let inner = &t.text[i + 1..close];
                let sub = match &map {
                    OffsetMap::Table(tab) => OffsetMap::Table(tab.get(i + 1..).unwrap_or(&[]).to_vec()),
                    OffsetMap::Shift(b) => OffsetMap::Shift(b + i + 1),
                };
                match expr_only(file, inner, &sub) {
                    Ok(e) => parts.push(TemplatePart::Expr(e)),
                    Err(mut d) => diags.append(&mut d),
                }
                i = close + 1;
            }
            b'}' => {
                diags.push(
                    Diagnostic::new(Code::Message, file, map.span(Span::new(i, i + 1)), "unmatched `}` in message")
                        .label("here")
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

/// Splits a file into top-level items for error recovery: a new item starts at a line
/// whose first token is `@`, `policy`, `let`, `rule` or `NAME =`.
fn item_chunks(text: &str) -> Vec<(usize, usize)> {
    let mut starts = Vec::new();
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        let trimmed = line.trim_start();
        let lead = line.len() - trimmed.len();
        let word: String = trimmed.chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect();
        let after = trimmed[word.len()..].trim_start();
        let starts_item = trimmed.starts_with('@')
            || matches!(word.as_str(), "policy" | "let" | "rule")
            || (!word.is_empty() && after.starts_with('=') && !after.starts_with("=="));
        if starts_item {
            starts.push(offset + lead);
        }
        offset += line.len();
    }
    if starts.first() != Some(&0) {
        starts.insert(0, 0);
    }
    let mut chunks = Vec::new();
    for (i, s) in starts.iter().enumerate() {
        let e = starts.get(i + 1).copied().unwrap_or(text.len());
        if !text[*s..e].trim().is_empty()
            && !text[*s..e].lines().all(|l| l.trim().is_empty() || l.trim().starts_with('#'))
        {
            chunks.push((*s, e));
        }
    }
    chunks
}

/// Turns a pest error into a diagnostic with an "expected …" message.
fn syntax_error(file: &SourceFile, map: &OffsetMap, e: pest::error::Error<Rule>) -> Diagnostic {
    use pest::error::{ErrorVariant, InputLocation};
    let (start, end) = match e.location {
        InputLocation::Pos(p) => (p, p),
        InputLocation::Span((s, e)) => (s, e),
    };
    let mut span = map.span(Span::new(start, end));
    if span.is_empty() {
        // Point at the offending character (or the end of the file).
        let len = file.text.get(span.start as usize..).and_then(|s| s.chars().next()).map_or(0, char::len_utf8);
        span = Span::new(span.start as usize, span.start as usize + len);
    }
    let found = file.slice(span);
    let found = if found.is_empty() { "end of input".to_string() } else { format!("`{found}`") };
    let message = match &e.variant {
        ErrorVariant::ParsingError { positives, .. } => {
            let mut names: Vec<&str> = positives.iter().filter_map(|r| rule_name(*r)).collect();
            names.sort_unstable();
            names.dedup();
            if names.is_empty() {
                format!("unexpected {found}")
            } else {
                format!("expected {}, found {found}", join_or(&names))
            }
        }
        ErrorVariant::CustomError { message } => message.clone(),
    };
    let message = if message.contains("call limit") {
        "policy is too complex to parse (parser call limit reached)".to_string()
    } else {
        message
    };
    let help =
        if found == "`<`" || found == "`>`" || found == "`==`" || found.starts_with("`<") || found.starts_with("`>") {
            Some("comparisons do not chain: write `a < b and b < c`".to_string())
        } else {
            None
        };
    Diagnostic::new(Code::Syntax, file, span, message).label("here").help_opt(help)
}

fn join_or(names: &[&str]) -> String {
    match names {
        [] => String::new(),
        [one] => (*one).to_string(),
        [init @ .., last] => format!("{} or {last}", init.join(", ")),
    }
}

#[allow(dead_code)]
fn _assert_pairs(_: Pairs<'_>) {}
