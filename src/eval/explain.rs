//! Why a rule failed: evidence for findings and the value-by-value trace of `tenet explain`.
//!
//! Both re-evaluate sub-expressions of a rule for one subject. They run only for subjects
//! that did not pass (evidence) or on request (explain), so passing subjects cost nothing.

use super::machine::Env;
use super::{ops, render};
use crate::ast::BinOp;
use crate::hir::{Expr, ExprKind, Quant};
use crate::value::Value;
use serde_json::{Map, Value as J};

/// The values that decided a failed assertion, keyed by each sub-expression's source text.
pub fn evidence(env: &mut Env<'_>, e: &Expr, text: &str) -> Map<String, J> {
    let mut out = Map::new();
    collect(env, e, text, &mut out, false);
    if out.is_empty() {
        // Nothing below the assertion is worth naming (all literals): show the assertion.
        let v = value_json(env, e);
        out.insert(src(text, e).to_string(), v);
    }
    out
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
fn collect(env: &mut Env<'_>, e: &Expr, text: &str, out: &mut Map<String, J>, want: bool) {
    match &e.kind {
        ExprKind::Not(inner) => collect(env, inner, text, out, !want),
        ExprKind::Binary(op @ (BinOp::And | BinOp::Or | BinOp::Requires), a, b) => {
            // Follow the operands that decided the value, as evaluation did.
            let va = env.eval_bool(a).ok();
            match (op, want, va) {
                (BinOp::And, false, Some(false)) => collect(env, a, text, out, false),
                (BinOp::And, _, _) => {
                    collect(env, a, text, out, true);
                    collect(env, b, text, out, want);
                }
                (BinOp::Or, true, Some(true)) => collect(env, a, text, out, true),
                (BinOp::Or, _, _) => {
                    collect(env, a, text, out, false);
                    collect(env, b, text, out, want);
                }
                (BinOp::Requires, _, Some(false)) => collect(env, a, text, out, false),
                (BinOp::Requires, _, _) => {
                    collect(env, a, text, out, true);
                    collect(env, b, text, out, want);
                }
                _ => {}
            }
        }
        ExprKind::Matches(a, re, _) => {
            let s = src(text, a);
            if !is_literal_text(s) {
                let v = value_json(env, a);
                put(out, s, v);
            }
            put(out, "pattern", J::String(re.as_str().to_string()));
        }
        ExprKind::Binary(_, a, b) => {
            for operand in [a, b] {
                let s = src(text, operand);
                if !is_literal_text(s) {
                    let v = value_json(env, operand);
                    put(out, s, v);
                }
            }
        }
        ExprKind::Quant { q, list, binder, pred } => {
            let key = src(text, e).to_string();
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
                put(out, &key, J::String(format!("no element of {} matched", items.len())));
                let list_src = src(text, list);
                if !is_literal_text(list_src) {
                    let v = json(env, &l);
                    put(out, list_src, v);
                }
                return;
            };
            for (i, item) in items.iter().enumerate() {
                let saved = env.bound;
                let mut found = None;
                let r = env.with_element(*binder, item, list, i, |env| {
                    if env.eval_bool(pred)? == target {
                        let mut inner = Map::new();
                        collect(env, pred, text, &mut inner, target);
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
