//! STAGE 3: checked policies → [`ir::Program`]. Infallible on checked input.
//!
//! - parameters are replaced by their values, after `--set` overrides ([`overrides`]);
//! - constant sub-expressions are folded with the evaluator's own operators, so folding
//!   can never disagree with evaluation;
//! - every snapshot field read is recorded in the [`Projection`], and `x["key"]` reads get
//!   a slot after the model's fields.

pub mod overrides;

use crate::builtins::Form;
use crate::eval::ops;
use crate::hir::{self, ExprKind, MessagePart};
use crate::ir::{PolicyInfo, Program, Rule};
use crate::model::Model;
use crate::snapshot::{KindProjection, Projection};
use crate::value::Value;
use std::sync::Arc;

/// Which rules to keep (`--rule NAME` or `--rule POLICY.RULE`); empty keeps all.
#[derive(Debug, Clone, Default)]
pub struct RuleFilter(pub Vec<String>);

impl RuleFilter {
    pub fn keeps(&self, policy: &str, rule: &str) -> bool {
        self.0.is_empty() || self.0.iter().any(|f| f == rule || *f == format!("{policy}.{rule}"))
    }
}

/// Checks that every `matches` pattern taken from a parameter still compiles after
/// `--set` (a bad pattern given on the command line is a usage error).
pub fn patterns_valid(policies: &[hir::Policy]) -> Result<(), String> {
    fn walk(e: &hir::Expr, p: &hir::Policy, err: &mut Option<String>) {
        if let ExprKind::Matches(_, _, Some(i)) = &e.kind {
            if let Some(param) = p.params.get(*i as usize) {
                if let Value::Str(text) = &param.value {
                    if let Err(e) = crate::check::compile_regex(text) {
                        let last = crate::check::regex_error_summary(&e);
                        *err =
                            Some(format!("`--set {}`: `{text}` is not a valid regular expression: {last}", param.name));
                    }
                }
            }
        }
        e.for_each_child(&mut |c| walk(c, p, err));
    }
    let mut err = None;
    for p in policies {
        for r in &p.rules {
            r.guard.iter().chain(std::iter::once(&r.assert)).for_each(|e| walk(e, p, &mut err));
            for part in &r.message {
                if let MessagePart::Expr(e) = part {
                    walk(e, p, &mut err);
                }
            }
        }
        for l in &p.lets {
            walk(&l.expr, p, &mut err);
        }
    }
    err.map_or(Ok(()), Err)
}

/// Lowers checked policies (with overrides already applied) into one program.
pub fn program(policies: &[hir::Policy], model: &Model, filter: &RuleFilter) -> Program {
    let mut order: Vec<&hir::Policy> = policies.iter().collect();
    order.sort_by(|a, b| a.name.cmp(&b.name));
    let mut proj = Projection {
        kinds: model
            .kinds
            .iter()
            .map(|k| KindProjection { fields: vec![false; k.fields.len()], skip_key: true, raw_keys: Vec::new() })
            .collect(),
    };
    let mut infos = Vec::new();
    let mut rules = Vec::new();
    for (pi, p) in order.iter().enumerate() {
        let params: Vec<Value> = p.params.iter().map(|q| q.value.clone()).collect();
        let mut lets = p.lets.clone();
        for l in &mut lets {
            lower_expr(&mut l.expr, &params, &mut proj);
        }
        let mut n_rules = 0;
        for r in &p.rules {
            if !filter.keeps(&p.name, &r.name) {
                continue;
            }
            n_rules += 1;
            let mut guard = r.guard.clone();
            let mut assert = r.assert.clone();
            let mut message = r.message.clone();
            if let Some(g) = guard.as_mut() {
                lower_expr(g, &params, &mut proj);
            }
            lower_expr(&mut assert, &params, &mut proj);
            for part in &mut message {
                if let MessagePart::Expr(e) = part {
                    lower_expr(e, &params, &mut proj);
                }
            }
            rules.push(Rule {
                policy: pi,
                name: Arc::from(r.name.as_str()),
                code: Arc::from(r.code.as_str()),
                severity: r.severity,
                message,
                remediation: r.remediation.as_deref().map(Arc::from),
                see: if r.see.is_empty() { &p.see } else { &r.see }.iter().map(|s| Arc::from(s.as_str())).collect(),
                guard,
                assert,
                subject: r.subject,
                n_locals: r.n_locals,
            });
        }
        infos.push(PolicyInfo {
            name: Arc::from(p.name.as_str()),
            file: p.file.name.clone(),
            source: p.file.text.clone(),
            n_rules,
            lets,
        });
    }
    // Keys are decoded only for kinds that need them: the root (the tenant's id), rule
    // subjects (findings name them), reference targets, and entities compared with keys.
    let mut need = vec![false; model.kinds.len()];
    need[Model::ROOT as usize] = true;
    for r in &rules {
        need[r.subject as usize] = true;
        r.guard.iter().chain(std::iter::once(&r.assert)).for_each(|e| keys_needed(e, &mut need));
        for part in &r.message {
            if let MessagePart::Expr(e) = part {
                keys_needed(e, &mut need);
            }
        }
    }
    for p in &infos {
        for l in &p.lets {
            keys_needed(&l.expr, &mut need);
        }
    }
    for (kp, n) in proj.kinds.iter_mut().zip(need) {
        kp.skip_key = !n;
    }
    Program { policies: infos, rules, projection: proj }
}

fn keys_needed(e: &hir::Expr, need: &mut [bool]) {
    use crate::ast::BinOp;
    use crate::model::Type;
    let mut mark = |t: &Type| {
        let k = match t {
            Type::Ref(k) | Type::Entity(k) => Some(*k),
            Type::List(inner) => match **inner {
                Type::Ref(k) | Type::Entity(k) => Some(k),
                _ => None,
            },
            _ => None,
        };
        if let Some(k) = k {
            if let Some(n) = need.get_mut(k as usize) {
                *n = true;
            }
        }
    };
    match &e.kind {
        ExprKind::Binary(BinOp::Eq | BinOp::Ne | BinOp::In | BinOp::NotIn, a, b) => {
            mark(&a.ty);
            mark(&b.ty);
        }
        ExprKind::Call(func, args) if matches!(&func.form, Form::Function(f) if f.compares) => {
            args.iter().for_each(|a| mark(&a.ty));
        }
        _ => {}
    }
    if let Type::Ref(_) = &e.ty {
        mark(&e.ty);
    }
    if let Type::List(inner) = &e.ty {
        if let Type::Ref(_) = **inner {
            mark(&e.ty);
        }
    }
    e.for_each_child(&mut |c| keys_needed(c, need));
}

fn lower_expr(e: &mut hir::Expr, params: &[Value], proj: &mut Projection) {
    e.children_mut(&mut |c| lower_expr(c, params, proj));
    match &mut e.kind {
        ExprKind::Param(i) => {
            e.kind = ExprKind::Lit(params.get(*i as usize).cloned().unwrap_or(Value::Null));
        }
        ExprKind::Field { kind, field, .. } => {
            if let Some(f) = proj.kinds.get_mut(*kind as usize).and_then(|k| k.fields.get_mut(*field as usize)) {
                *f = true;
            }
        }
        ExprKind::Matches(_, re, Some(i)) => {
            // The pattern is a parameter: recompile it with the run's value (`--set`);
            // `patterns_valid` has checked that it compiles.
            if let Some(Value::Str(text)) = params.get(*i as usize) {
                if re.as_str() != &**text {
                    if let Ok(new) = crate::check::compile_regex(text) {
                        *re = std::sync::Arc::new(new);
                    }
                }
            }
        }
        ExprKind::RawKey { kind, path, slot, .. } => {
            if let Some(kp) = proj.kinds.get_mut(*kind as usize) {
                let i = match kp.raw_keys.iter().position(|p| p == path) {
                    Some(i) => i,
                    None => {
                        kp.raw_keys.push(path.clone());
                        kp.raw_keys.len() - 1
                    }
                };
                *slot = i as u32;
            }
        }
        _ => {}
    }
    if let Some(v) = fold(e) {
        e.kind = ExprKind::Lit(v);
    }
}

/// The value of a node whose operands are all literals, when evaluating it cannot fail.
fn fold(e: &hir::Expr) -> Option<Value> {
    let lit = |x: &hir::Expr| match &x.kind {
        ExprKind::Lit(v) => Some(v.clone()),
        _ => None,
    };
    match &e.kind {
        ExprKind::Not(a) => match lit(a)? {
            Value::Bool(b) => Some(Value::Bool(!b)),
            _ => None,
        },
        ExprKind::Neg(a) => ops::neg(&lit(a)?).ok(),
        ExprKind::Binary(op, a, b) => ops::binary_pure(*op, &lit(a)?, &lit(b)?).ok().flatten(),
        ExprKind::List(items) => {
            let vals: Option<Vec<Value>> = items.iter().map(lit).collect();
            Some(Value::List(vals?.into()))
        }
        _ => None,
    }
}
