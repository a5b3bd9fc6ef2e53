//! Why a rule failed: evidence for findings and the value-by-value trace of `tenet explain`.
//!
//! Both re-evaluate sub-expressions of a rule for one subject. They run only for subjects
//! that did not pass (evidence) or on request (explain), so passing subjects cost nothing.

use super::machine::Env;
use super::{ops, render};
use crate::ast::BinOp;
use crate::finding::DecidedBy;
use crate::hir::{Binder, Expr, ExprKind, Quant};
use crate::model::KindId;
use crate::value::Value;
use serde_json::{Map, Value as J};

/// What decided a failed assertion.
#[derive(Debug, Clone, PartialEq)]
pub struct Decided {
    /// The values that decided it, keyed by each sub-expression's source text.
    pub evidence: Map<String, J>,
    /// The one field of the subject that the deciding sub-expressions read; `None` when
    /// they read none, or several (see [`Reads`]).
    pub field: Option<DecidedBy>,
}

/// What decided a failed assertion: its evidence, and the subject's field when one did
/// and `subject` (the rule's subject kind, bound in `env`) is given. Runs for failed
/// subjects only.
pub fn decided(env: &mut Env<'_>, e: &Expr, text: &str, subject: Option<KindId>) -> Decided {
    let mut out = Map::new();
    let mut reads = Reads::new(subject);
    collect(env, e, text, &mut out, false, &mut reads);
    if out.is_empty() {
        // Nothing below the assertion is worth naming (all literals): show the assertion.
        let v = value_json(env, e);
        out.insert(src(text, e).to_string(), v);
    }
    Decided { evidence: out, field: reads.field() }
}

/// The fields of the subject that the sub-expressions deciding an assertion read, found
/// from the compiled tree (no value is looked at): a field read directly on the subject
/// (`user.enabled`, `count(user.sessions)`, the list of `all(user.roles: ...)`, the link of
/// `user.role.name`), or inside a derived field of the subject; its key (`user.id`, which
/// stands for the entity in a join) is not counted. Fields of other entities
/// (a role's, the tenant's in a user rule) are not the subject's and are left out. Where
/// a filter, quantifier or derived field binds an entity of the subject's kind (or below
/// it) anew, a read of the subject's kind may be another entity's: then no field is named.
pub struct Reads {
    subject: Option<KindId>,
    /// Inside a binding that may have replaced the bound subject.
    rebound: bool,
    /// The first field read, and whether another one (or an unsure read) followed.
    first: Option<DecidedBy>,
    more: bool,
}

impl Reads {
    fn new(subject: Option<KindId>) -> Reads {
        Reads { subject, rebound: false, first: None, more: false }
    }

    /// The field, when exactly one was read and none unsure.
    fn field(self) -> Option<DecidedBy> {
        if self.more {
            return None;
        }
        self.first
    }

    fn add(&mut self, member: DecidedBy) {
        match &self.first {
            _ if self.rebound => self.more = true,
            None => self.first = Some(member),
            Some(f) => self.more |= *f != member,
        }
    }

    /// Records the subject's fields that `e` reads.
    fn walk(&mut self, env: &Env<'_>, e: &Expr) {
        let Some(subject) = self.subject else { return };
        if self.more {
            return;
        }
        let model = env.model;
        let on_subject = |base: &Expr| matches!(base.kind, ExprKind::Kind(k) if k == subject);
        match &e.kind {
            // The key names the entity itself (`user.id` in a join), not a setting of it.
            ExprKind::Field { base, kind, field } if on_subject(base) => {
                if model.kind(*kind).key != Some(*field) {
                    self.add(DecidedBy::Field(*kind, *field));
                }
            }
            ExprKind::RawKey { base, path, .. } if on_subject(base) => self.add(DecidedBy::Raw(path.clone())),
            ExprKind::Let { base, kind, index } => {
                self.walk(env, base);
                let body = env.program.policies.get(env.policy).and_then(|p| p.lets.get(*index as usize));
                if let Some(l) = body {
                    // The body runs with the entity of `base` bound as `kind` (and its
                    // ancestors): the subject still, unless that may be another entity.
                    let same = on_subject(base) && *kind == subject;
                    self.within(!same && model.is_ancestor_or_self(subject, *kind), |r| r.walk(env, &l.expr));
                }
            }
            ExprKind::Filter { list, binder, pred } | ExprKind::Quant { list, binder, pred, .. } => {
                self.walk(env, list);
                let rebound = self.rebinds(env, *binder);
                self.within(rebound, |r| r.walk(env, pred));
            }
            _ => e.for_each_child(&mut |c| self.walk(env, c)),
        }
    }

    /// Whether binding elements with `binder` may bind another entity of the subject's
    /// kind (the element's kind is the subject's or below it: its ancestors are bound too).
    fn rebinds(&self, env: &Env<'_>, binder: Binder) -> bool {
        let Some(subject) = self.subject else { return false };
        matches!(binder, Binder::Kind { kind, .. } if env.model.is_ancestor_or_self(subject, kind))
    }

    /// Runs `f` inside a binding (`rebinds`: one that may replace the bound subject).
    fn within(&mut self, rebinds: bool, f: impl FnOnce(&mut Reads)) {
        let saved = self.rebound;
        self.rebound |= rebinds;
        f(self);
        self.rebound = saved;
    }
}

fn src<'a>(text: &'a str, e: &Expr) -> &'a str {
    text.get(e.span.start as usize..e.span.end as usize).unwrap_or("?")
}

/// Whether the source text of a node is a literal (no point in repeating it as evidence).
fn is_literal_text(s: &str) -> bool {
    let s = s.trim();
    let first = s.chars().next().unwrap_or(' ');
    first.is_ascii_digit()
        || first == '"'
        || first == '['
        || s.strip_prefix('-').is_some_and(|rest| rest.trim_start().starts_with(|c: char| c.is_ascii_digit()))
        || matches!(s, "true" | "false" | "null")
}

fn json(env: &Env<'_>, v: &Value) -> J {
    match v {
        Value::Entity(..) => J::String(render(env, v)),
        Value::Entities(..) => serde_json::from_str(&render(env, v)).unwrap_or(J::Null),
        Value::List(items) if items.iter().any(|i| matches!(i, Value::Entity(..))) => {
            J::Array(items.iter().map(|i| json(env, i)).collect())
        }
        other => ops::to_json(other),
    }
}

fn value_json(env: &mut Env<'_>, e: &Expr) -> J {
    match env.eval(e) {
        Ok(v) => json(env, &v),
        Err(e) => J::String(format!("<error: {}>", e.reason)),
    }
}

fn put(out: &mut Map<String, J>, key: &str, v: J) {
    if !out.contains_key(key) {
        out.insert(key.to_string(), v);
    }
}

/// `want`: the value this node had (false for the failing assertion).
fn collect(env: &mut Env<'_>, e: &Expr, text: &str, out: &mut Map<String, J>, want: bool, reads: &mut Reads) {
    match &e.kind {
        ExprKind::Not(inner) => collect(env, inner, text, out, !want, reads),
        ExprKind::Binary(op @ (BinOp::And | BinOp::Or | BinOp::Requires), a, b) => {
            // Follow the operands that decided the value, as evaluation did.
            let va = env.eval_bool(a).ok();
            match (op, want, va) {
                (BinOp::And, false, Some(false)) => collect(env, a, text, out, false, reads),
                (BinOp::And, _, _) => {
                    collect(env, a, text, out, true, reads);
                    collect(env, b, text, out, want, reads);
                }
                (BinOp::Or, true, Some(true)) => collect(env, a, text, out, true, reads),
                (BinOp::Or, _, _) => {
                    collect(env, a, text, out, false, reads);
                    collect(env, b, text, out, want, reads);
                }
                (BinOp::Requires, _, Some(false)) => collect(env, a, text, out, false, reads),
                (BinOp::Requires, _, _) => {
                    collect(env, a, text, out, true, reads);
                    collect(env, b, text, out, want, reads);
                }
                _ => {}
            }
        }
        ExprKind::Matches(a, re, _) => {
            reads.walk(env, a);
            let s = src(text, a);
            if !is_literal_text(s) {
                let v = value_json(env, a);
                put(out, s, v);
            }
            put(out, "pattern", J::String(re.as_str().to_string()));
        }
        ExprKind::Binary(_, a, b) => {
            for operand in [a, b] {
                reads.walk(env, operand);
                let s = src(text, operand);
                if !is_literal_text(s) {
                    let v = value_json(env, operand);
                    put(out, s, v);
                }
            }
        }
        ExprKind::Quant { q, list, binder, pred } => {
            let key = src(text, e).to_string();
            reads.walk(env, list);
            let Ok(l) = env.eval(list) else { return };
            let items = match &l {
                Value::List(items) => items.to_vec(),
                Value::Entities(k, s, n) => (*s..s + n).map(|r| Value::Entity(*k, r)).collect(),
                _ => return,
            };
            // all: the first element whose predicate is false; none: the first that is true.
            let looking_for = match q {
                Quant::All => Some(false),
                Quant::None => Some(true),
                Quant::Any => None,
            };
            let Some(target) = looking_for else {
                // No element matched: every element's predicate decided it.
                let rebound = reads.rebinds(env, *binder);
                reads.within(rebound, |r| r.walk(env, pred));
                put(out, &key, J::String(format!("no element of {} matched", items.len())));
                let list_src = src(text, list);
                if !is_literal_text(list_src) {
                    let v = json(env, &l);
                    put(out, list_src, v);
                }
                return;
            };
            let rebound = reads.rebinds(env, *binder);
            for (i, item) in items.iter().enumerate() {
                let saved = env.bound;
                let mut found = None;
                let r = env.with_element(*binder, item, list, i, |env| {
                    if env.eval_bool(pred)? == target {
                        let mut inner = Map::new();
                        reads.within(rebound, |r| collect(env, pred, text, &mut inner, target, r));
                        found = Some(inner);
                    }
                    Ok(())
                });
                env.bound = saved;
                if r.is_err() {
                    return;
                }
                if let Some(inner) = found {
                    let at = match item {
                        Value::Entity(k, r) => env.tenant.path(env.model, *k, *r),
                        Value::Str(s) => format!("{}[{i}] = {}", env.describe_path(list), ops::json_string(s)),
                        other => format!("[{i}] = {}", ops::render_plain(other)),
                    };
                    let at = if at.is_empty() { format!("[{i}]") } else { at };
                    put(out, &key, J::String(at));
                    for (k, v) in inner {
                        put(out, &k, v);
                    }
                    return;
                }
            }
        }
        _ => {
            reads.walk(env, e);
            let s = src(text, e);
            if !is_literal_text(s) {
                let v = value_json(env, e);
                put(out, s, v);
            }
        }
    }
}

/// One line of `tenet explain`: a sub-expression, its depth and its value.
#[derive(Debug, Clone, PartialEq)]
pub struct TraceLine {
    pub depth: usize,
    pub source: String,
    /// `None`: not evaluated (short-circuited).
    pub value: Option<Result<String, String>>,
}

/// Every sub-expression of `e` with its value, in evaluation order; operands that
/// short-circuiting skipped are listed as not evaluated.
pub fn trace(env: &mut Env<'_>, e: &Expr, text: &str) -> Vec<TraceLine> {
    let mut out = Vec::new();
    walk(env, e, text, 0, true, &mut out);
    out
}

fn walk(env: &mut Env<'_>, e: &Expr, text: &str, depth: usize, evaluated: bool, out: &mut Vec<TraceLine>) {
    let value = if evaluated {
        Some(match env.eval(e) {
            Ok(v) => Ok(render_value(env, &v)),
            Err(err) => Err(err.reason),
        })
    } else {
        None
    };
    out.push(TraceLine {
        depth,
        source: src(text, e).split_whitespace().collect::<Vec<_>>().join(" "),
        value: value.clone(),
    });
    let children: Vec<(&Expr, bool)> = match &e.kind {
        ExprKind::Lit(_) | ExprKind::Kind(_) | ExprKind::Local(_) | ExprKind::Now | ExprKind::Param(_) => Vec::new(),
        ExprKind::Binary(op @ (BinOp::And | BinOp::Or | BinOp::Requires | BinOp::Coalesce), a, b) => {
            let va = if evaluated { env.eval(a).ok() } else { None };
            let eval_b = evaluated
                && match (op, &va) {
                    (BinOp::And, Some(Value::Bool(x))) => *x,
                    (BinOp::Or, Some(Value::Bool(x))) => !*x,
                    (BinOp::Requires, Some(Value::Bool(x))) => *x,
                    (BinOp::Coalesce, Some(Value::Null) | None) => true,
                    _ => false,
                };
            vec![(a, evaluated), (b, eval_b)]
        }
        ExprKind::Binary(_, a, b) | ExprKind::Index(a, b) => vec![(a, evaluated), (b, evaluated)],
        ExprKind::Not(a) | ExprKind::Neg(a) | ExprKind::Has(a) | ExprKind::Matches(a, _, _) => vec![(a, evaluated)],
        ExprKind::IsNull { path, .. } => vec![(path, evaluated)],
        ExprKind::Call(_, args) => args.iter().map(|a| (a, evaluated)).collect(),
        ExprKind::Agg { arg, .. } => match arg.kind {
            // A single-valued aggregate's argument is evaluated per entity: not shown.
            _ if matches!(e.kind, ExprKind::Agg { mode: crate::hir::AggMode::Range { .. }, .. }) => Vec::new(),
            _ => vec![(arg, evaluated)],
        },
        ExprKind::Field { base, .. } | ExprKind::Let { base, .. } | ExprKind::RawKey { base, .. } => {
            if matches!(base.kind, ExprKind::Kind(_) | ExprKind::Local(_)) {
                Vec::new()
            } else {
                vec![(base, evaluated)]
            }
        }
        ExprKind::List(items) => items.iter().map(|i| (i, evaluated)).collect(),
        ExprKind::Project { list, .. } | ExprKind::Filter { list, .. } | ExprKind::Quant { list, .. } => {
            vec![(list, evaluated)]
        }
    };
    for (c, ev) in children {
        if is_literal_text(src(text, c)) && matches!(c.kind, ExprKind::Lit(_)) {
            continue;
        }
        walk(env, c, text, depth + 1, ev, out);
    }
    if evaluated {
        if let ExprKind::Quant { q, list, binder, pred } = &e.kind {
            if let Ok(l) = env.eval(list) {
                quant_trace(env, *q, &l, list, *binder, pred, text, depth + 1, out);
            }
        }
    }
}

#[expect(clippy::too_many_arguments, reason = "a private helper of walk")]
fn quant_trace(
    env: &mut Env<'_>,
    q: Quant,
    l: &Value,
    list: &Expr,
    binder: crate::hir::Binder,
    pred: &Expr,
    text: &str,
    depth: usize,
    out: &mut Vec<TraceLine>,
) {
    let items: Vec<Value> = match l {
        Value::List(items) => items.to_vec(),
        Value::Entities(k, s, n) => (*s..s + n).map(|r| Value::Entity(*k, r)).collect(),
        _ => return,
    };
    for (i, item) in items.into_iter().enumerate() {
        let label = match &item {
            Value::Entity(k, r) => env.tenant.path(env.model, *k, *r),
            other => format!("[{i}] = {}", ops::render_plain(other)),
        };
        let saved = env.bound;
        let mut decided = false;
        let mut lines = Vec::new();
        let _ = env.with_element(binder, &item, list, i, |env| {
            let r = env.eval_bool(pred);
            decided = matches!(
                (q, &r),
                (Quant::Any, Ok(true)) | (Quant::All, Ok(false)) | (Quant::None, Ok(true)) | (_, Err(_))
            );
            walk(env, pred, text, depth + 1, true, &mut lines);
            Ok(())
        });
        env.bound = saved;
        out.push(TraceLine { depth, source: format!("element {label}"), value: None });
        out.extend(lines);
        if decided {
            break;
        }
    }
}

fn render_value(env: &Env<'_>, v: &Value) -> String {
    match v {
        Value::Str(s) => ops::json_string(s),
        other => render(env, other),
    }
}
