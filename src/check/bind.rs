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
use crate::model::{KindId, KindSet, Model};
use crate::source::Span;

pub fn aggregates(cx: &mut Cx<'_>, e: &mut Expr, bound: KindSet) {
    let model = cx.model;
    match &mut e.kind {
        ExprKind::Agg { mode: AggMode::Range { arg_free, deepest, under }, arg, .. } => {
            let ranging = arg_free.minus(bound);
            let mut inner_bound = bound;
            if let Some(d) = ranging.iter().max_by_key(|k| model.kind(*k).depth) {
                if let Some(k) = ranging.iter().find(|k| !model.is_ancestor_or_self(*k, d)) {
                    // Name the two kinds in the order they are written.
                    let (ks, ds) = (kind_span(arg, k).unwrap_or(arg.span), kind_span(arg, d).unwrap_or(arg.span));
                    let ((first, fs), (second, ss)) = if ks <= ds { ((k, ks), (d, ds)) } else { ((d, ds), (k, ks)) };
                    let (a, b) = (model.kind_name(first).to_string(), model.kind_name(second).to_string());
                    cx.diags.push(
                        Diagnostic::new(
                            Code::UnrelatedKinds,
                            cx.file,
                            ss,
                            format!("this aggregate ranges over `{a}` and `{b}`, which are unrelated kinds"),
                        )
                        .label(format!("`{b}` here"))
                        .related(fs, format!("`{a}` here"))
                        .help(format!(
                            "an aggregate ranges over one kind (and its ancestors); aggregate `{a}` and `{b}` separately, or relate them through a reference"
                        )),
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

/// Where `kind` is first named inside `e`.
fn kind_span(e: &mut Expr, kind: KindId) -> Option<Span> {
    if let ExprKind::Kind(k) = e.kind {
        return (k == kind).then_some(e.span);
    }
    let mut found: Option<Span> = None;
    e.children_mut(&mut |c| {
        if let Some(s) = kind_span(c, kind) {
            found = Some(found.map_or(s, |f| f.min(s)));
        }
    });
    found
}
