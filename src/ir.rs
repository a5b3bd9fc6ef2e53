//! The compiled program that evaluation runs.
//!
//! `lower` builds it from checked policies: parameters are replaced by their values
//! (after `--set`), constants are folded, `x["key"]` reads get their snapshot slots, and
//! the [`Projection`] lists every snapshot field any rule reads, so the decoder keeps only
//! those. The expression tree is [`hir::Expr`](crate::hir::Expr) with those guarantees:
//! no `Param` nodes and no unassigned `RawKey` slots remain.

use crate::finding::Severity;
use crate::hir::{Expr, Let, MessagePart};
use crate::model::KindId;
use crate::snapshot::Projection;
use std::sync::Arc;

#[derive(Debug, Clone)]
pub struct Program {
    /// Policies in output order (by name).
    pub policies: Vec<PolicyInfo>,
    /// Rules in output order: by policy, then file order.
    pub rules: Vec<Rule>,
    pub projection: Projection,
}

#[derive(Debug, Clone)]
pub struct PolicyInfo {
    pub name: Arc<str>,
    pub file: Arc<str>,
    /// The policy's source text: spans of its expressions point into it.
    pub source: Arc<str>,
    /// Rules of this policy in the program (after `--rule`).
    pub n_rules: usize,
    /// Derived fields, indexed by `ExprKind::Let::index`.
    pub lets: Vec<Let>,
}

#[derive(Debug, Clone)]
pub struct Rule {
    /// Index into [`Program::policies`].
    pub policy: usize,
    pub name: Arc<str>,
    pub code: Arc<str>,
    pub severity: Severity,
    pub message: Vec<MessagePart>,
    pub remediation: Option<Arc<str>>,
    /// The rule's `@see` sources, or its policy's when the rule has none.
    pub see: Arc<[Arc<str>]>,
    pub guard: Option<Expr>,
    pub assert: Expr,
    pub subject: KindId,
    pub n_locals: u32,
}
