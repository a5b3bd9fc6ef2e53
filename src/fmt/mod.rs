//! `tenet fmt`: one canonical layout for `.tenet` files.
//!
//! The file is parsed to its AST, every item (the policy declaration with its annotations,
//! parameters, `let`s, rules with their annotations) is laid out again from the AST, and the
//! comments — which the parser discards — are found in the source and put back by position.
//!
//! Layout rules (width [`WIDTH`] columns):
//! - leading comments, then a blank line; items in the order written;
//! - annotations one per line directly above their rule or `policy` (order as written);
//! - one blank line around every rule and after `policy "NAME"`; elsewhere (parameters,
//!   `let`s, comments between items) the author's blank lines are kept, at most one;
//! - `name = literal`, `let kind.field = expr`, `rule name: expr` on one line when it fits,
//!   else the expression goes on the next line, indented 2; a rule with a guard is always
//!   `rule name when guard:` then the assertion on the next line (and `rule name` /
//!   `  when guard:` when the header is too long);
//! - single spaces around binary operators, after commas and colons, none inside brackets;
//! - an expression that does not fit is broken outermost (lowest precedence) first, before
//!   each operator of the chain (`requires`, `or`, `and`, …); continuation lines of an
//!   operand are indented 2 more; calls, lists, parentheses and quantifiers put their
//!   contents on lines of their own (lists then get a trailing comma); a filter breaks
//!   before `where`;
//! - literals as written (string escapes, `1.50`, `90m`); parentheses exactly as written;
//! - comments stay where they were: a trailing comment at the end of the line of the token
//!   it followed (consecutive trailing comments aligned), a full-line comment on its own
//!   line before the token it preceded.
//!
//! Formatting never changes meaning: [`format`] re-parses its output and refuses (an
//! internal error) unless the AST, the token sequence and the comments are unchanged.

mod doc;
mod layout;
mod lex;

use crate::ast::{Expr, ExprKind, Literal, Policy, UnOp};
use crate::diagnostic::Diagnostic;
use crate::parse::lex::TokenKind;
use crate::source::SourceFile;
use doc::{align_comments, place_comments, render, Cmd, OutLine};
use layout::{prec, Ann, Layout};
use lex::{Comment, Src};

/// Lines are broken when they would be longer than this.
pub const WIDTH: usize = 100;

/// Why a file was not formatted.
#[derive(Debug)]
pub enum FmtError {
    /// The file does not parse; format nothing, report these.
    Parse(Vec<Diagnostic>),
    /// The formatter could not produce an equivalent file (a bug in the formatter).
    Internal(String),
}

/// Formats a `.tenet` file: the canonical text, checked to parse to the same policy.
pub fn format(file: &SourceFile) -> Result<String, FmtError> {
    let parsed = crate::parse::dsl_policy(file);
    let policy = match parsed.value {
        Some(p) if parsed.diagnostics.is_empty() => p,
        _ => return Err(FmtError::Parse(parsed.diagnostics)),
    };
    let out = print_policy(&policy, &file.text)?;
    verify(file, &policy, &out)?;
    Ok(out)
}

/// Prints one expression in the canonical layout (no source: literals in canonical form).
/// The tree is printed as it is: see [`parenthesize`] for trees built by hand.
pub fn print_expr(e: &Expr) -> String {
    let mut l = Layout::new(None);
    l.expr(e, true);
    let mut lines = render(&l.cmds, WIDTH);
    align_comments(&mut lines).join("\n")
}

/// Whether two policies are the same program: everything the parser keeps except spans,
/// the assertion's source text and the message's offsets (which follow the layout).
pub fn same_policy(a: &Policy, b: &Policy) -> bool {
    a.name == b.name
        && a.annotations == b.annotations
        && a.params == b.params
        && a.lets == b.lets
        && a.rules.len() == b.rules.len()
        && a.rules.iter().zip(&b.rules).all(|(x, y)| {
            x.name == y.name
                && x.annotations == y.annotations
                && x.guard == y.guard
                && x.assert == y.assert
                && x.message.as_ref().map(|m| &m.node.text) == y.message.as_ref().map(|m| &m.node.text)
        })
}

// ---------------------------------------------------------------------- items

enum Kind<'p> {
    Policy,
    Param(&'p crate::ast::Param),
    Let(&'p crate::ast::Let),
    Rule(&'p crate::ast::Rule),
}

struct Item<'p> {
    /// First byte: the first annotation's `@`, or the keyword / parameter name.
    start: usize,
    /// The keyword (or parameter name): where the item proper starts.
    core: usize,
    /// End of the last token.
    end: usize,
    kw_at: Option<usize>,
    kind: Kind<'p>,
    anns: Vec<(usize, Ann<'p>)>,
}

impl Item<'_> {
    fn is_rule(&self) -> bool {
        matches!(self.kind, Kind::Rule(_))
    }
}

fn internal(msg: impl Into<String>) -> FmtError {
    FmtError::Internal(msg.into())
}

fn items<'p>(p: &'p Policy, src: &Src<'_>) -> Result<Vec<Item<'p>>, FmtError> {
    let mut items = Vec::new();
    let ast_anns = |anns: &'p [crate::ast::Annotation]| -> Result<Vec<(usize, Ann<'p>)>, FmtError> {
        anns.iter()
            .map(|a| {
                let at = src
                    .kw_before(a.name.span.start as usize, "@")
                    .ok_or_else(|| internal(format!("cannot find the `@` of annotation `{}`", a.name.node)))?;
                Ok((at, Ann::Ast(a)))
            })
            .collect()
    };
    let kw = |pos: u32, kw: &str| src.kw_before(pos as usize, kw);

    let policy_kw = kw(p.name.span.start, "policy");
    let core = policy_kw.unwrap_or(p.name.span.start as usize);
    items.push(Item {
        start: core,
        core,
        end: p.name.span.end as usize,
        kw_at: policy_kw,
        kind: Kind::Policy,
        anns: ast_anns(&p.annotations)?,
    });
    for param in &p.params {
        let core = param.name.span.start as usize;
        let end = param.value.span.end as usize;
        items.push(Item { start: core, core, end, kw_at: None, kind: Kind::Param(param), anns: Vec::new() });
    }
    for l in &p.lets {
        let kw_at = kw(l.kind.span.start, "let");
        let core = kw_at.unwrap_or(l.kind.span.start as usize);
        let end = l.expr.span.end as usize;
        items.push(Item { start: core, core, end, kw_at, kind: Kind::Let(l), anns: Vec::new() });
    }
    for r in &p.rules {
        let kw_at = kw(r.name.span.start, "rule");
        let core = kw_at.unwrap_or(r.name.span.start as usize);
        let mut anns = ast_anns(&r.annotations)?;
        if let Some(m) = &r.message {
            let v = m.span.start as usize;
            let at = src
                .kw_before(v, "(")
                .and_then(|paren| src.kw_before(paren, "message"))
                .and_then(|name| src.kw_before(name, "@"))
                .ok_or_else(|| internal(format!("cannot find the `@message` of rule `{}`", r.name.node)))?;
            let value = src.slice(v, m.span.end as usize).to_string();
            anns.push((at, Ann::Verbatim { at, name: "message".into(), value, value_at: v }));
        }
        let end = r.assert.span.end as usize;
        items.push(Item { start: core, core, end, kw_at, kind: Kind::Rule(r), anns });
    }
    items.sort_by_key(|i| i.core);

    // Annotations the AST does not keep (a second `@message` of a rule): take them verbatim.
    let mut prev_end = 0;
    for item in &mut items {
        let known: Vec<usize> = item.anns.iter().map(|(at, _)| *at).collect();
        let first = src.tokens.partition_point(|t| t.start < prev_end);
        for (i, t) in src.tokens.iter().enumerate().skip(first) {
            if t.start >= item.core {
                break;
            }
            if t.kind != TokenKind::Op || src.slice(t.start, t.end) != "@" || known.contains(&t.start) {
                continue;
            }
            let toks: Vec<_> = src.tokens[i + 1..].iter().filter(|t| t.kind != TokenKind::Comment).take(4).collect();
            let shape: Vec<(TokenKind, &str)> = toks.iter().map(|t| (t.kind, src.slice(t.start, t.end))).collect();
            match shape.as_slice() {
                [(TokenKind::Name | TokenKind::Keyword, name), (TokenKind::Op, "("), (TokenKind::Str, value), (TokenKind::Op, ")")] =>
                {
                    let value_at = toks.get(2).map_or(t.start, |t| t.start);
                    item.anns.push((
                        t.start,
                        Ann::Verbatim { at: t.start, name: (*name).to_string(), value: (*value).to_string(), value_at },
                    ));
                }
                _ => return Err(internal(format!("an annotation at byte {} is not in the syntax tree", t.start))),
            }
        }
        item.anns.sort_by_key(|(at, _)| *at);
        if let Some((at, _)) = item.anns.first() {
            item.start = item.start.min(*at);
        }
        prev_end = item.end;
    }
    Ok(items)
}

fn item_cmds(item: &Item<'_>, p: &Policy, src: &Src<'_>) -> Vec<Cmd> {
    let mut l = Layout::new(Some(src));
    for (_, a) in &item.anns {
        l.annotation(a);
    }
    match item.kind {
        Kind::Policy => {
            let name = src.slice(p.name.span.start as usize, p.name.span.end as usize);
            l.policy(item.kw_at, name, p.name.span.start);
        }
        Kind::Param(param) => l.param(param),
        Kind::Let(let_) => l.let_(item.kw_at, let_),
        Kind::Rule(r) => l.rule(item.kw_at, &r.name.node, r.name.span.start, r.guard.as_ref(), &r.assert),
    }
    l.cmds
}

// ---------------------------------------------------------------------- the file

fn print_policy(p: &Policy, text: &str) -> Result<String, FmtError> {
    let src = Src::new(text);
    let items = items(p, &src)?;
    // Comments inside an item (or trailing its last line) go with it; the others sit in the
    // gap before item `g` (`g == items.len()`: after the last one).
    let mut inside: Vec<Vec<&Comment>> = vec![Vec::new(); items.len()];
    let mut gaps: Vec<Vec<&Comment>> = vec![Vec::new(); items.len() + 1];
    for c in &src.comments {
        let containing = items.partition_point(|it| it.start <= c.start).checked_sub(1);
        if let Some(i) = containing.filter(|i| items.get(*i).is_some_and(|it| c.start < it.end)) {
            inside[i].push(c);
            continue;
        }
        let g = items.partition_point(|it| it.end <= c.start);
        let same_line = g
            .checked_sub(1)
            .and_then(|i| items.get(i))
            .is_some_and(|prev| c.trailing && !src.slice(prev.end, c.start).contains('\n'));
        if same_line {
            inside[g - 1].push(c);
        } else {
            gaps[g].push(c);
        }
    }

    let mut out: Vec<OutLine> = Vec::new();
    for (i, item) in items.iter().enumerate() {
        match i.checked_sub(1).and_then(|j| items.get(j)) {
            None => gap(&src, &mut out, 0, Some(item.start), &gaps[0], Gap::Header),
            Some(prev) => {
                let force = matches!(prev.kind, Kind::Policy) || prev.is_rule() || item.is_rule();
                gap(&src, &mut out, prev.end, Some(item.start), &gaps[i], Gap::Between { force })
            }
        }
        let cmds = place_comments(item_cmds(item, p, &src), &inside[i]);
        out.extend(render(&cmds, WIDTH));
    }
    let last_end = items.last().map_or(0, |i| i.end);
    gap(&src, &mut out, last_end, None, &gaps[items.len()], Gap::Footer);
    let mut lines = align_comments(&mut out);
    while lines.last().is_some_and(|l| l.is_empty()) {
        lines.pop();
    }
    let mut text = lines.join("\n");
    text.push('\n');
    Ok(text)
}

#[derive(Clone, Copy)]
enum Gap {
    /// Before the first item: comments, then always a blank line.
    Header,
    /// Between items; `force`: a blank line right after the previous item.
    Between { force: bool },
    /// After the last item.
    Footer,
}

/// The comment lines between two items, with the author's blank lines (at most one).
fn gap(src: &Src<'_>, out: &mut Vec<OutLine>, from: usize, to: Option<usize>, comments: &[&Comment], kind: Gap) {
    let mut pos = from;
    for (k, c) in comments.iter().enumerate() {
        let blank = match kind {
            Gap::Header if k == 0 => false,
            Gap::Between { force: true } if k == 0 => true,
            _ => src.newlines(pos, c.start) >= 2,
        };
        if blank {
            out.push(OutLine::blank());
        }
        out.push(OutLine::code(c.text.clone()));
        pos = c.end;
    }
    let Some(to) = to else { return };
    let blank = match kind {
        Gap::Header => !comments.is_empty(),
        Gap::Between { force } => (force && comments.is_empty()) || src.newlines(pos, to) >= 2,
        Gap::Footer => false,
    };
    if blank {
        out.push(OutLine::blank());
    }
}

// ---------------------------------------------------------------------- verification

/// The tokens that carry meaning, as text: no comments, no trailing comma before `]`.
fn significant_tokens(text: &str) -> Vec<&str> {
    let toks: Vec<&str> = crate::parse::lex::Lexer::new(text)
        .filter(|t| t.kind != TokenKind::Comment)
        .map(|t| text.get(t.start..t.end).unwrap_or(""))
        .collect();
    toks.iter().enumerate().filter(|(i, t)| !(**t == "," && toks.get(i + 1) == Some(&"]"))).map(|(_, t)| *t).collect()
}

fn verify(file: &SourceFile, before: &Policy, out: &str) -> Result<(), FmtError> {
    let after_file = SourceFile::new(file.name.clone(), out);
    let after = crate::parse::dsl_policy(&after_file);
    match after.value {
        Some(p) if after.diagnostics.is_empty() => {
            if !same_policy(before, &p) {
                return Err(internal("the formatted text parses to a different policy"));
            }
        }
        _ => return Err(internal("the formatted text does not parse")),
    }
    if significant_tokens(&file.text) != significant_tokens(out) {
        return Err(internal("the formatted text has different tokens"));
    }
    let comments = |text: &str| -> Vec<String> { Src::new(text).comments.into_iter().map(|c| c.text).collect() };
    if comments(&file.text) != comments(out) {
        return Err(internal("the formatted text has different comments"));
    }
    Ok(())
}

// ---------------------------------------------------------------------- parentheses

/// The precedence level of an expression as printed (language.md §3): binary operators by
/// [`prec`], `not` 4, unary minus, filters and negative integers 9, postfix 10, primaries 11.
fn level(e: &Expr) -> u8 {
    match &e.kind {
        ExprKind::Binary(op, ..) => prec(*op),
        ExprKind::Unary(UnOp::Not, _) => 4,
        ExprKind::Unary(UnOp::Neg, _) | ExprKind::Filter { .. } => 9,
        ExprKind::Lit(Literal::Int(n)) if *n < 0 => 9,
        ExprKind::Field(..) | ExprKind::Index(..) => 10,
        _ => 11,
    }
}

fn paren(e: Expr) -> Expr {
    let span = e.span;
    Expr { kind: ExprKind::Paren(Box::new(e)), span }
}

/// Adds the `Paren` nodes that printing needs for `e` to re-parse as itself: where
/// precedence or associativity requires them, around a filter that something follows
/// (its predicate would extend over it), around a literal under unary minus (the parser
/// folds `-7` into a literal) and around a literal base of `.field` or `[index]`. Existing
/// `Paren` nodes are kept. For trees parsed from source this adds nothing.
pub fn parenthesize(e: &Expr) -> Expr {
    fix(e, 1, true)
}

/// `min`: the lowest level allowed here; `closed`: nothing follows it before a closing
/// bracket, comma, colon or the end.
fn fix(e: &Expr, min: u8, closed: bool) -> Expr {
    let wrap = level(e) < min || (!closed && matches!(e.kind, ExprKind::Filter { .. }));
    let closed = closed || wrap;
    let b = |x: &Expr, min: u8, closed: bool| Box::new(fix(x, min, closed));
    let kind = match &e.kind {
        ExprKind::Lit(_) | ExprKind::Name(_) => e.kind.clone(),
        ExprKind::List(items) => ExprKind::List(items.iter().map(|x| fix(x, 1, true)).collect()),
        ExprKind::Field(base, name) => ExprKind::Field(postfix_base(base), name.clone()),
        ExprKind::Index(base, i) => ExprKind::Index(postfix_base(base), b(i, 1, true)),
        ExprKind::Unary(UnOp::Not, x) => ExprKind::Unary(UnOp::Not, b(x, 4, closed)),
        ExprKind::Unary(UnOp::Neg, x) => {
            let inner = fix(x, 9, closed);
            let inner = if matches!(inner.kind, ExprKind::Lit(Literal::Int(_))) { paren(inner) } else { inner };
            ExprKind::Unary(UnOp::Neg, Box::new(inner))
        }
        ExprKind::Binary(op, l, r) => {
            let p = prec(*op);
            let (lmin, rmin) = match p {
                1 => (2, 1),
                5 => (6, 6),
                _ => (p, p + 1),
            };
            ExprKind::Binary(*op, b(l, lmin, false), b(r, rmin, closed))
        }
        ExprKind::Call(name, args) => ExprKind::Call(name.clone(), args.iter().map(|x| fix(x, 1, true)).collect()),
        ExprKind::Quant { func, list, binder, pred } => ExprKind::Quant {
            func: func.clone(),
            list: b(list, 1, true),
            binder: binder.clone(),
            pred: b(pred, 1, true),
        },
        ExprKind::Filter { list, binder, pred } => {
            ExprKind::Filter { list: postfix_base(list), binder: binder.clone(), pred: b(pred, 1, closed) }
        }
        ExprKind::Paren(x) => ExprKind::Paren(b(x, 1, true)),
    };
    let e = Expr { kind, span: e.span };
    if wrap {
        paren(e)
    } else {
        e
    }
}

/// The base of `.field`, `[index]` or a filter's list: a postfix expression, not a literal.
fn postfix_base(x: &Expr) -> Box<Expr> {
    let inner = fix(x, 10, false);
    Box::new(if matches!(inner.kind, ExprKind::Lit(_)) { paren(inner) } else { inner })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(text: &str) -> Policy {
        match crate::parse::dsl_policy(&SourceFile::new("t.tenet", text)).value {
            Some(p) => p,
            None => panic!("does not parse: {text}"),
        }
    }

    #[test]
    fn verify_rejects_a_different_policy_tokens_or_comments() {
        let text = "policy \"p\"\n\nrule a: role.2fa and (role.x or role.y)  # why\n";
        let file = SourceFile::new("t.tenet", text);
        let p = policy(text);
        assert!(verify(&file, &p, text).is_ok());
        let wrong = [
            "policy \"p\"\n\nrule a: role.2fa and role.x or role.y  # why\n",
            "policy \"p\"\n\nrule a: role.2fa and ((role.x or role.y))  # why\n",
            "policy \"p\"\n\nrule a: role.2fa and (role.x or role.y)\n",
            "policy \"p\"\n\nrule a: role.2fa and (role.x or\n",
        ];
        for w in wrong {
            assert!(matches!(verify(&file, &p, w), Err(FmtError::Internal(_))), "{w}");
        }
    }

    #[test]
    fn a_lost_annotation_is_kept_verbatim() {
        let text = "policy \"p\"\n@message(\"one\") @code(\"C\") @message(\"two\\t\") rule a: true\n";
        let out = format(&SourceFile::new("t.tenet", text)).map_err(|e| format!("{e:?}"));
        assert_eq!(
            out.as_deref(),
            Ok("policy \"p\"\n\n@message(\"one\")\n@code(\"C\")\n@message(\"two\\t\")\nrule a: true\n")
        );
    }

    #[test]
    fn comments_keep_their_order_in_one_gap() {
        let text = "policy \"p\"\nlet user.x\n# one\n = # two\n 1\n";
        let out = format(&SourceFile::new("t.tenet", text)).map_err(|e| format!("{e:?}"));
        assert_eq!(out.as_deref(), Ok("policy \"p\"\n\nlet user.x =\n  # one\n  # two\n  1\n"));
    }
}
