//! The checked tree: names resolved to ids, types known, subjects computed, spans kept.
//!
//! `check` produces it from the AST and the model; `lower` folds it into the evaluator's
//! [`ir::Program`](crate::ir::Program). Expressions here are what evaluation walks: every
//! field is a slot number, every kind an id, every local a frame index — no names are looked
//! up while evaluating.

use crate::finding::Severity;
use crate::model::{FieldId, KindId, KindSet, Type};
use crate::source::{SourceFile, Span};
use crate::value::Value;
use regex::Regex;
use std::sync::Arc;

#[derive(Debug, Clone)]
pub struct Policy {
    pub name: String,
    pub file: SourceFile,
    pub title: Option<String>,
    pub tags: Vec<String>,
    /// `@see`: the sources of the policy; a rule without its own `@see` inherits them.
    pub see: Vec<String>,
    pub params: Vec<Param>,
    pub lets: Vec<Let>,
    pub rules: Vec<Rule>,
}

#[derive(Debug, Clone)]
pub struct Param {
    pub name: String,
    pub ty: Type,
    pub value: Value,
    pub span: Span,
}

/// A derived field `let KIND.NAME = EXPR`.
#[derive(Debug, Clone)]
pub struct Let {
    pub kind: KindId,
    pub name: String,
    pub expr: Expr,
    pub ty: Type,
    /// Locals the body needs.
    pub n_locals: u32,
}

#[derive(Debug, Clone)]
pub struct Rule {
    pub name: String,
    pub span: Span,
    pub severity: Severity,
    pub code: String,
    pub message: Vec<MessagePart>,
    pub remediation: Option<String>,
    pub tags: Vec<String>,
    /// `@see`: the documents or source files the rule implements.
    pub see: Vec<String>,
    pub guard: Option<Expr>,
    pub assert: Expr,
    /// The deepest kind the rule is evaluated for (the root for tenant-level rules); its
    /// ancestors are bound to its parents.
    pub subject: KindId,
    /// Locals the guard, assertion and message need.
    pub n_locals: u32,
    /// `@title`.
    pub title: Option<String>,
}

#[derive(Debug, Clone)]
pub enum MessagePart {
    Text(String),
    Expr(Expr),
}

#[derive(Debug, Clone)]
pub struct Expr {
    pub kind: ExprKind,
    pub ty: Type,
    pub span: Span,
}

/// How a filter or quantifier names its element.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Binder {
    /// By its kind: the element (and its ancestors) become the bound entities of those
    /// kinds. `deref`: the list holds keys of that kind, looked up per element.
    Kind { kind: KindId, deref: bool },
    /// `as NAME` or `it`: the element goes into a local slot. `deref` as above.
    Local { slot: u32, deref: Option<KindId> },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AggFunc {
    Count,
    Sum,
    Min,
    Max,
    Avg,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Quant {
    Any,
    All,
    None,
}

/// A call of an ordinary function: its entry in the builtin table (`builtins::BUILTINS`,
/// always `Form::Function`), which holds its evaluation.
pub type Func = &'static crate::builtins::Builtin;

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum AggMode {
    /// The argument is a list: aggregate it as it is.
    List,
    /// The argument is one value per entity: range over the entities of `deepest` under
    /// the bound entity of `under`, binding `deepest` and its ancestors below `under`.
    /// `arg_free` is filled by the checker, `deepest`/`under` by its binding pass.
    Range { arg_free: KindSet, deepest: Option<KindId>, under: KindId },
}

#[derive(Debug, Clone)]
pub enum ExprKind {
    Lit(Value),
    List(Vec<Expr>),
    /// A policy parameter (replaced by its value in `lower`).
    Param(u32),
    /// The evaluation instant.
    Now,
    /// The bound entity of a kind (the subject, an ancestor, or a filter element).
    Kind(KindId),
    /// A local slot: `as NAME`, `it`, or a projection's element.
    Local(u32),
    /// A model field of an entity; `base` is an entity or a reference (followed).
    Field {
        base: Box<Expr>,
        kind: KindId,
        field: FieldId,
    },
    /// A derived field (`let`), evaluated with the entity bound.
    Let {
        base: Box<Expr>,
        kind: KindId,
        index: u32,
    },
    /// `x["key"]` on an entity, for a key the model does not declare. `slot` (the raw key's
    /// index in the kind's projection) is assigned by `lower` (`u32::MAX` until then).
    RawKey {
        base: Box<Expr>,
        kind: KindId,
        path: Vec<String>,
        slot: u32,
    },
    /// `list[i]` or `object["key"]`.
    Index(Box<Expr>, Box<Expr>),
    /// `LIST.field`: `body` evaluated per element bound to `slot`; lists are flattened.
    Project {
        list: Box<Expr>,
        slot: u32,
        deref: Option<KindId>,
        body: Box<Expr>,
    },
    Not(Box<Expr>),
    Neg(Box<Expr>),
    Binary(crate::ast::BinOp, Box<Expr>, Box<Expr>),
    /// `has(path)`.
    Has(Box<Expr>),
    /// `path == null` (`negate`: `!=`), which never errors (language.md §9.10).
    IsNull {
        path: Box<Expr>,
        negate: bool,
    },
    /// `x matches "pattern"`; the `u32` is the parameter the pattern came from, if any, so
    /// that `lower` can recompile it after `--set`.
    Matches(Box<Expr>, Arc<Regex>, Option<u32>),
    Call(Func, Vec<Expr>),
    Agg {
        func: AggFunc,
        mode: AggMode,
        arg: Box<Expr>,
    },
    Filter {
        list: Box<Expr>,
        binder: Binder,
        pred: Box<Expr>,
    },
    Quant {
        q: Quant,
        list: Box<Expr>,
        binder: Binder,
        pred: Box<Expr>,
    },
}

impl Expr {
    /// Whether this expression reads a stored or derived field (a "path", for `has`, `??`
    /// and `== null`).
    pub fn is_path(&self) -> bool {
        matches!(
            self.kind,
            ExprKind::Field { .. } | ExprKind::Let { .. } | ExprKind::RawKey { .. } | ExprKind::Index(..)
        )
    }

    /// Calls `f` on every direct child (read-only).
    pub fn for_each_child(&self, f: &mut dyn FnMut(&Expr)) {
        match &self.kind {
            ExprKind::Lit(_) | ExprKind::Param(_) | ExprKind::Now | ExprKind::Kind(_) | ExprKind::Local(_) => {}
            ExprKind::List(items) | ExprKind::Call(_, items) => items.iter().for_each(f),
            ExprKind::Field { base, .. } | ExprKind::Let { base, .. } | ExprKind::RawKey { base, .. } => f(base),
            ExprKind::Not(e) | ExprKind::Neg(e) | ExprKind::Has(e) | ExprKind::Matches(e, _, _) => f(e),
            ExprKind::IsNull { path, .. } => f(path),
            ExprKind::Index(a, b) | ExprKind::Binary(_, a, b) => {
                f(a);
                f(b);
            }
            ExprKind::Project { list, body, .. } => {
                f(list);
                f(body);
            }
            ExprKind::Agg { arg, .. } => f(arg),
            ExprKind::Filter { list, pred, .. } | ExprKind::Quant { list, pred, .. } => {
                f(list);
                f(pred);
            }
        }
    }

    /// Calls `f` on every direct child.
    pub fn children_mut(&mut self, f: &mut dyn FnMut(&mut Expr)) {
        match &mut self.kind {
            ExprKind::Lit(_) | ExprKind::Param(_) | ExprKind::Now | ExprKind::Kind(_) | ExprKind::Local(_) => {}
            ExprKind::List(items) | ExprKind::Call(_, items) => items.iter_mut().for_each(f),
            ExprKind::Field { base, .. } | ExprKind::Let { base, .. } | ExprKind::RawKey { base, .. } => f(base),
            ExprKind::Not(e) | ExprKind::Neg(e) | ExprKind::Has(e) | ExprKind::Matches(e, _, _) => f(e),
            ExprKind::IsNull { path, .. } => f(path),
            ExprKind::Index(a, b) | ExprKind::Binary(_, a, b) => {
                f(a);
                f(b);
            }
            ExprKind::Project { list, body, .. } => {
                f(list);
                f(body);
            }
            ExprKind::Agg { arg, .. } => f(arg),
            ExprKind::Filter { list, pred, .. } | ExprKind::Quant { list, pred, .. } => {
                f(list);
                f(pred);
            }
        }
    }
}
