//! Binding single-valued aggregates (language.md §4 "Aggregates bind kinds by the type of
//! their argument"), once the rule's subject is known.
//!
//! `sum(user.session_cap)` ranges over every kind free in its argument that is not bound
//! outside it: the subject and its ancestors, enclosing filter elements, enclosing
//! aggregates' ranges. The ranged kinds must lie on one ancestor chain; the aggregate then
//! iterates the deepest of them under the nearest bound ancestor.

use super::expr::Cx;
use crate::diagnostic::{Code, Diagnostic};
use crate::hir::{AggMode, Binder, Expr, ExprKind};
use crate::model::{KindSet, Model};

pub fn aggregates(cx: &mut Cx<'_>, e: &mut Expr, bound: KindSet) {
    let model = cx.model;
    match &mut e.kind {
        ExprKind::Agg { mode: AggMode::Range { arg_free, deepest, under }, arg, .. } => {
            let ranging = arg_free.minus(bound);
            let mut inner_bound = bound;
            if let Some(d) = ranging.iter().max_by_key(|k| model.kind(*k).depth) {
                if let Some(k) = ranging.iter().find(|k| !model.is_ancestor_or_self(*k, d)) {
                    let (a, b) = (model.kind_name(k).to_string(), model.kind_name(d).to_string());
                    cx.diags.push(
                        Diagnostic::new(
                            Code::UnrelatedKinds,
                            cx.file,
                            arg.span,
                            format!("this aggregate ranges over `{a}` and `{b}`, which are unrelated kinds"),
                        )
                        .label("unrelated kinds")
                        .help("aggregate each kind separately, or relate them through a reference"),
                    );
                    return;
                }
                // The nearest ancestor of `d` that is bound outside.
                let mut u = model.kind(d).parent.unwrap_or(Model::ROOT);
                while !bound.contains(u) && u != Model::ROOT {
                    u = model.kind(u).parent.unwrap_or(Model::ROOT);
                }
                *deepest = Some(d);
                *under = u;
                inner_bound = bound.union(model.lineage(d));
            }
            aggregates(cx, arg, inner_bound);
        }
        ExprKind::Filter { list, binder, pred } | ExprKind::Quant { list, binder, pred, .. } => {
            aggregates(cx, list, bound);
            let inner = match binder {
                Binder::Kind { kind, .. } => bound.union(model.lineage(*kind)),
                Binder::Local { .. } => bound,
            };
            aggregates(cx, pred, inner);
        }
        _ => e.children_mut(&mut |c| aggregates(cx, c, bound)),
    }
}
