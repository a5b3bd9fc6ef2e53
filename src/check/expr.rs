//! Expression checking: name resolution, field lookup, operator and function types.

use crate::ast::{self, BinOp, ExprKind as AK, Literal, UnOp};
use crate::builtins::{self, Form, BUILTINS};
use crate::diagnostic::{did_you_mean, Code, Diagnostic};
use crate::hir::{self, AggFunc, AggMode, Binder, ExprKind as HK};
use crate::model::{KindId, KindSet, Model, Type};
use crate::source::{SourceFile, Span};
use crate::value::Value;
use std::sync::Arc;

/// Kinds referenced and not bound, with where each was first mentioned.
#[derive(Debug, Clone, Default)]
pub struct Free {
    pub set: KindSet,
    spans: Vec<(KindId, Span)>,
}

impl Free {
    fn one(k: KindId, span: Span) -> Free {
        Free { set: KindSet::one(k), spans: vec![(k, span)] }
    }

    pub fn union(mut self, other: Free) -> Free {
        for (k, s) in other.spans {
            if !self.set.contains(k) {
                self.set.insert(k);
                self.spans.push((k, s));
            }
        }
        self
    }

    pub fn span_of(&self, k: KindId) -> Option<Span> {
        self.spans.iter().find(|(kk, _)| *kk == k).map(|(_, s)| *s)
    }
}

/// What is in scope at a point of an expression.
#[derive(Debug, Default)]
pub struct Scope {
    entries: Vec<Entry>,
    /// Kinds bound by enclosing filters and quantifiers (with their ancestors).
    bound: KindSet,
}

#[derive(Debug)]
enum Entry {
    Local { name: String, slot: u32, ty: Type },
    Element { kind: KindId },
}

pub struct LetDecl {
    pub kind: KindId,
    pub name: String,
    pub ast: ast::Expr,
    pub state: LetState,
    pub span: Span,
}

impl LetDecl {
    /// A derived field whose definition did not parse: known by name, of unknown type.
    pub fn failed(kind: KindId, name: &str, span: Span) -> Self {
        let ast = ast::Expr { kind: AK::Lit(Literal::Null), span };
        LetDecl { kind, name: name.to_string(), ast, state: LetState::Failed, span }
    }
}

pub enum LetState {
    Pending,
    InProgress,
    Done(hir::Let),
    Failed,
}

/// The checker's context for one policy.
pub struct Cx<'a> {
    pub model: &'a Model,
    pub file: &'a SourceFile,
    pub diags: Vec<Diagnostic>,
    pub params: Vec<hir::Param>,
    pub lets: Vec<LetDecl>,
    /// Locals allocated so far in the current rule (or let).
    pub n_locals: u32,
    /// The lets being checked, outermost first (to name a cycle).
    let_stack: Vec<usize>,
}

/// A path that named a prefix of dotted fields (`plan` of `plan.seats`), not a value yet.
struct Prefix {
    base: hir::Expr,
    kind: KindId,
    prefix: String,
}

enum Res {
    Value(hir::Expr),
    Prefix(Prefix),
}

fn poison(span: Span) -> hir::Expr {
    hir::Expr { kind: HK::Lit(Value::Null), ty: Type::Any, span }
}

fn mk(kind: HK, ty: Type, span: Span) -> hir::Expr {
    hir::Expr { kind, ty, span }
}

impl<'a> Cx<'a> {
    pub fn new(model: &'a Model, file: &'a SourceFile) -> Self {
        Cx { model, file, diags: Vec::new(), params: Vec::new(), lets: Vec::new(), n_locals: 0, let_stack: Vec::new() }
    }

    fn err(&mut self, code: Code, span: Span, msg: impl Into<String>) -> &mut Diagnostic {
        self.diags.push(Diagnostic::new(code, self.file, span, msg));
        let last = self.diags.len() - 1;
        &mut self.diags[last]
    }

    fn show(&self, t: &Type) -> String {
        t.show(self.model).to_string()
    }

    /// Checks an expression; returns it with the kinds it leaves free.
    pub fn check(&mut self, e: &ast::Expr, scope: &mut Scope) -> (hir::Expr, Free) {
        let mut free = Free::default();
        let r = self.path(e, scope, &mut free);
        (self.value(r), free)
    }

    fn value(&mut self, r: Res) -> hir::Expr {
        match r {
            Res::Value(v) => v,
            Res::Prefix(p) => {
                let fields: Vec<String> = self
                    .model
                    .kind(p.kind)
                    .fields
                    .iter()
                    .filter(|f| f.name.starts_with(&format!("{}.", p.prefix)))
                    .map(|f| format!("`{}`", f.name))
                    .collect();
                let span = p.base.span;
                self.err(
                    Code::FieldGroup,
                    span,
                    format!(
                        "`{}` is not a field of `{}` but a group of fields",
                        p.prefix,
                        self.model.kind_name(p.kind)
                    ),
                )
                .lbl("a group, not a value")
                .help = Some(format!("use one of its fields: {}", fields.join(", ")));
                poison(span)
            }
        }
    }

    pub fn expect_bool(&mut self, e: &hir::Expr, what: &str) {
        if !matches!(e.ty, Type::Bool | Type::Any) {
            let t = self.show(&e.ty);
            // Suggest a test written with the expression itself when it is short.
            let text = self.file.slice(e.span);
            let x = if text.is_empty() || text.len() > 40 || text.contains('\n') { "…" } else { text };
            let help = match &e.ty {
                Type::Int | Type::Decimal => format!("compare it, e.g. `{x} > 0`"),
                Type::Duration => format!("compare it, e.g. `{x} > 30d`"),
                Type::Date => format!("compare it, e.g. `{x} < now`, or test that it is set: `has({x})`"),
                Type::String | Type::Enum(_) | Type::Ref(_) => {
                    format!("compare it, e.g. `{x} == \"…\"`, or test that it is set: `has({x})`")
                }
                Type::List(_) => format!("test it, e.g. `count({x}) > 0` or `any({x}: …)`"),
                _ => "compare it with something, e.g. `… == …`".to_string(),
            };
            self.err(Code::NotBoolean, e.span, format!("{what} must be a boolean, found `{t}`"))
                .lbl(format!("this is `{t}`"))
                .help = Some(help);
        }
    }

    fn new_local(&mut self) -> u32 {
        self.n_locals += 1;
        self.n_locals - 1
    }

    fn path(&mut self, e: &ast::Expr, scope: &mut Scope, free: &mut Free) -> Res {
        let span = e.span;
        let v = match &e.kind {
            AK::Lit(l) => {
                let (v, t) = super::lit(l);
                mk(HK::Lit(v), t, span)
            }
            AK::Paren(inner) => return self.path(inner, scope, free),
            AK::List(items) => {
                let mut out = Vec::new();
                let mut ty: Option<Type> = None;
                for i in items {
                    let (h, f) = self.check(i, scope);
                    *free = std::mem::take(free).union(f);
                    ty = Some(match ty {
                        None => h.ty.clone(),
                        Some(t) => match unify(&t, &h.ty) {
                            Some(u) => u,
                            None => {
                                let (a, b) = (self.show(&t), self.show(&h.ty));
                                self.err(
                                    Code::MixedList,
                                    h.span,
                                    format!("list items have different types: `{a}` and `{b}`"),
                                )
                                .lbl(format!("this is `{b}`"))
                                .help = Some(format!("the items before it are `{a}`; a list holds values of one type"));
                                Type::Any
                            }
                        },
                    });
                    out.push(h);
                }
                mk(HK::List(out), Type::List(Box::new(ty.unwrap_or(Type::Any))), span)
            }
            AK::Name(n) => return self.name(n, span, scope, free),
            AK::Field(base, name) => {
                let b = self.path(base, scope, free);
                return self.member(b, &name.node, name.span, span, scope);
            }
            AK::Index(base, index) => {
                let b = self.path(base, scope, free);
                let (ix, f) = self.check(index, scope);
                *free = std::mem::take(free).union(f);
                return self.index(b, ix, span);
            }
            AK::Unary(UnOp::Not, inner) => {
                let (h, f) = self.check(inner, scope);
                *free = std::mem::take(free).union(f);
                self.expect_bool(&h, "the operand of `not`");
                mk(HK::Not(Box::new(h)), Type::Bool, span)
            }
            AK::Unary(UnOp::Neg, inner) => {
                let (h, f) = self.check(inner, scope);
                *free = std::mem::take(free).union(f);
                let ty = match &h.ty {
                    Type::Int | Type::Decimal | Type::Duration | Type::Any => h.ty.clone(),
                    t => {
                        let t = self.show(t);
                        self.err(Code::Type, h.span, format!("cannot negate `{t}`"))
                            .lbl(format!("this is `{t}`"))
                            .help = Some("unary `-` takes a number or a duration".into());
                        Type::Any
                    }
                };
                mk(HK::Neg(Box::new(h)), ty, span)
            }
            AK::Binary(op, a, b) => self.binary(*op, a, b, span, scope, free),
            AK::Call(name, args) => self.call(name, args, span, scope, free),
            AK::Quant { func, list, binder, pred } => {
                let q = match builtins::lookup(&func.node).map(|b| &b.form) {
                    Some(Form::Quantifier(q)) => Some(*q),
                    _ => None,
                };
                let Some(q) = q else {
                    let f = func.node.as_str();
                    let help = if builtins::lookup(f).is_some_and(|b| matches!(b.form, Form::Aggregate(_))) {
                        format!("to {f} the elements that match, filter the list: `{f}(LIST where PREDICATE)`")
                    } else {
                        "only `any`, `all` and `none` take `LIST: PREDICATE`".to_string()
                    };
                    self.err(Code::UnknownFunction, func.span, format!("`{f}` does not take `LIST: PREDICATE`"))
                        .lbl("not a quantifier")
                        .help = Some(help);
                    return Res::Value(poison(span));
                };
                let what = format!("`{}`", func.node);
                let (l, b, p) = self.over_list(&what, list, binder.as_ref(), pred, scope, free);
                mk(HK::Quant { q, list: Box::new(l), binder: b, pred: Box::new(p) }, Type::Bool, span)
            }
            AK::Filter { list, binder, pred } => {
                let (l, b, p) = self.over_list("`where`", list, binder.as_ref(), pred, scope, free);
                let ty = l.ty.clone();
                mk(HK::Filter { list: Box::new(l), binder: b, pred: Box::new(p) }, ty, span)
            }
        };
        Res::Value(v)
    }

    /// A filter's or quantifier's list, binder and predicate.
    fn over_list(
        &mut self,
        what: &str,
        list: &ast::Expr,
        binder: Option<&ast::Spanned<String>>,
        pred: &ast::Expr,
        scope: &mut Scope,
        free: &mut Free,
    ) -> (hir::Expr, Binder, hir::Expr) {
        let (l, f) = self.check(list, scope);
        *free = std::mem::take(free).union(f);
        let elem = match &l.ty {
            Type::List(t) => (**t).clone(),
            Type::Any => Type::Any,
            t => {
                let t = self.show(t);
                self.err(Code::NotAList, l.span, format!("{what} takes a list, found `{t}`"))
                    .lbl(format!("this is `{t}`"))
                    .help = Some(
                    "filters and quantifiers go over a list: `user.sessions`, `tenant.roles`, `user.roles`".into(),
                );
                Type::Any
            }
        };
        let saved_len = scope.entries.len();
        let saved_bound = scope.bound;
        let b = match (binder, &elem) {
            (Some(name), _) => {
                let slot = self.new_local();
                let (ty, deref) = match elem {
                    Type::Ref(k) => (Type::Entity(k), Some(k)),
                    t => (t, None),
                };
                scope.entries.push(Entry::Local { name: name.node.clone(), slot, ty });
                Binder::Local { slot, deref }
            }
            (None, Type::Entity(k)) | (None, Type::Ref(k)) => {
                let deref = matches!(elem, Type::Ref(_));
                scope.entries.push(Entry::Element { kind: *k });
                scope.bound = scope.bound.union(self.model.lineage(*k));
                Binder::Kind { kind: *k, deref }
            }
            (None, t) => {
                let slot = self.new_local();
                scope.entries.push(Entry::Local { name: "it".into(), slot, ty: t.clone() });
                Binder::Local { slot, deref: None }
            }
        };
        let (p, pf) = self.check(pred, scope);
        scope.entries.truncate(saved_len);
        scope.bound = saved_bound;
        *free = std::mem::take(free).union(pf);
        self.expect_bool(&p, "a predicate");
        (l, b, p)
    }

    fn name(&mut self, n: &str, span: Span, scope: &mut Scope, free: &mut Free) -> Res {
        for entry in scope.entries.iter().rev() {
            match entry {
                Entry::Local { name, slot, ty } if name == n => {
                    return Res::Value(mk(HK::Local(*slot), ty.clone(), span))
                }
                Entry::Element { kind } if self.model.kind_name(*kind) == n => {
                    return Res::Value(mk(HK::Kind(*kind), Type::Entity(*kind), span));
                }
                _ => {}
            }
        }
        if let Some(i) = self.params.iter().position(|p| p.name == n) {
            return Res::Value(mk(HK::Param(i as u32), self.params[i].ty.clone(), span));
        }
        if n == "now" {
            return Res::Value(mk(HK::Now, Type::Date, span));
        }
        if let Some(k) = self.model.kind_id(n) {
            if k != Model::ROOT && !scope.bound.contains(k) {
                *free = std::mem::take(free).union(Free::one(k, span));
            }
            return Res::Value(mk(HK::Kind(k), Type::Entity(k), span));
        }
        // A field of the tenant root.
        let root = mk(HK::Kind(Model::ROOT), Type::Entity(Model::ROOT), span);
        if self.model.field_id(Model::ROOT, n).is_some()
            || self.model.is_prefix(Model::ROOT, n)
            || self.lets.iter().any(|l| l.kind == Model::ROOT && l.name == n)
        {
            return self.member(Res::Value(root), n, span, span, scope);
        }
        let mut candidates: Vec<String> = Vec::new();
        candidates.extend(scope.entries.iter().map(|e| match e {
            Entry::Local { name, .. } => name.clone(),
            Entry::Element { kind } => self.model.kind_name(*kind).to_string(),
        }));
        candidates.extend(self.params.iter().map(|p| p.name.clone()));
        candidates.extend(self.model.kinds.iter().map(|k| k.name.clone()));
        candidates.extend(
            self.model.kind(Model::ROOT).fields.iter().map(|f| f.name.split('.').next().unwrap_or("").to_string()),
        );
        let help = match did_you_mean(n, candidates.iter().map(String::as_str)) {
            Some(s) => format!("did you mean `{s}`?"),
            None => format!(
                "names are `as` variables, parameters, kinds ({}), or fields of the tenant",
                self.model.kinds.iter().map(|k| k.name.as_str()).collect::<Vec<_>>().join(", ")
            ),
        };
        self.err(Code::UnknownName, span, format!("unknown name `{n}`")).lbl("not defined").help = Some(help);
        Res::Value(poison(span))
    }

    /// `base.name`.
    fn member(&mut self, base: Res, name: &str, name_span: Span, span: Span, scope: &mut Scope) -> Res {
        let (base, kind, full) = match base {
            Res::Prefix(p) => {
                let full = format!("{}.{name}", p.prefix);
                (p.base, p.kind, full)
            }
            Res::Value(b) => match b.ty.clone() {
                Type::Entity(k) | Type::Ref(k) => (b, k, name.to_string()),
                Type::List(elem) if matches!(*elem, Type::Entity(_) | Type::Ref(_)) => {
                    return Res::Value(self.project(b, &elem, name, name_span, span, scope));
                }
                Type::Any => {
                    let key = mk(HK::Lit(Value::str(name)), Type::String, name_span);
                    return Res::Value(mk(HK::Index(Box::new(b), Box::new(key)), Type::Any, span));
                }
                Type::List(elem) if *elem == Type::Any => {
                    let key = mk(HK::Lit(Value::str(name)), Type::String, name_span);
                    return Res::Value(mk(HK::Index(Box::new(b), Box::new(key)), Type::Any, span));
                }
                t => {
                    if !matches!(b.kind, HK::Lit(Value::Null)) || t != Type::Any {
                        let ts = self.show(&t);
                        self.err(Code::NoFields, name_span, format!("`{ts}` has no fields"))
                            .lbl(format!("`.{name}` on a `{ts}`"))
                            .help = Some(
                            "fields are read from entities (`role.name`) or lists of entities (`users.email`)".into(),
                        );
                    }
                    return Res::Value(poison(span));
                }
            },
        };
        let model = self.model;
        if let Some(f) = model.field_id(kind, &full) {
            let ty = model.field(kind, f).ty.clone();
            return Res::Value(mk(HK::Field { base: Box::new(base), kind, field: f }, ty, span));
        }
        if model.is_prefix(kind, &full) {
            return Res::Prefix(Prefix { base, kind, prefix: full });
        }
        if let Some(i) = self.lets.iter().position(|l| l.kind == kind && l.name == full) {
            let ty = self.check_let(i, Some(span));
            return Res::Value(mk(HK::Let { base: Box::new(base), kind, index: i as u32 }, ty, span));
        }
        let kname = model.kind_name(kind).to_string();
        let mut candidates: Vec<&str> = model.kind(kind).fields.iter().map(|f| f.name.as_str()).collect();
        candidates.extend(self.lets.iter().filter(|l| l.kind == kind).map(|l| l.name.as_str()));
        let help = match did_you_mean(&full, candidates.iter().copied()) {
            Some(s) => {
                // Suggest the path as written, with the field replaced: `users.session_cap`.
                let head = if span.start < name_span.start {
                    self.file.slice(Span::new(span.start as usize, name_span.start as usize)).to_string()
                } else {
                    String::new()
                };
                let group = full.strip_suffix(name).unwrap_or("");
                let tail = s.strip_prefix(group).unwrap_or(s);
                if head.ends_with('.') {
                    format!("did you mean `{head}{tail}`?")
                } else {
                    format!("did you mean `{kname}.{s}`?")
                }
            }
            None => format!(
                "fields of `{kname}`: {}; for keys the model does not declare write `{kname}[\"{full}\"]`",
                candidates.join(", ")
            ),
        };
        self.err(Code::UnknownField, name_span, format!("unknown field `{kname}.{full}`"))
            .lbl("not in the model")
            .help = Some(help);
        Res::Value(poison(span))
    }

    /// `LIST.field` over a list of entities or references: the list of the field's values.
    fn project(
        &mut self,
        list: hir::Expr,
        elem: &Type,
        name: &str,
        name_span: Span,
        span: Span,
        scope: &mut Scope,
    ) -> hir::Expr {
        let (k, deref) = match elem {
            Type::Entity(k) => (*k, None),
            Type::Ref(k) => (*k, Some(*k)),
            _ => return poison(span),
        };
        let slot = self.new_local();
        let local = mk(HK::Local(slot), Type::Entity(k), list.span);
        let body = match self.member(Res::Value(local), name, name_span, span, scope) {
            Res::Value(v) => v,
            Res::Prefix(_) => {
                self.err(
                    Code::FieldGroup,
                    name_span,
                    format!("`{name}` is a group of fields; project one of its fields"),
                )
                .lbl("a group");
                return poison(span);
            }
        };
        let ty = match &body.ty {
            Type::List(inner) => Type::List(inner.clone()),
            t => Type::List(Box::new(t.clone())),
        };
        mk(HK::Project { list: Box::new(list), slot, deref, body: Box::new(body) }, ty, span)
    }

    /// `base[index]`.
    fn index(&mut self, base: Res, ix: hir::Expr, span: Span) -> Res {
        let (base, kind, prefix) = match base {
            Res::Prefix(p) => (p.base, Some(p.kind), Some(p.prefix)),
            Res::Value(b) => {
                let k = match b.ty {
                    Type::Entity(k) | Type::Ref(k) => Some(k),
                    _ => None,
                };
                (b, k, None)
            }
        };
        if let Some(kind) = kind {
            let HK::Lit(Value::Str(key)) = &ix.kind else {
                self.err(Code::BadIndex, ix.span, "an entity is indexed with a string literal")
                    .lbl("not a string literal")
                    .help = Some("write `x[\"key\"]`".into());
                return Res::Value(poison(span));
            };
            let mut path: Vec<String> = prefix.map(|p| p.split('.').map(str::to_string).collect()).unwrap_or_default();
            path.push(key.to_string());
            let full = path.join(".");
            if let Some(f) = self.model.field_id(kind, &full) {
                let ty = self.model.field(kind, f).ty.clone();
                return Res::Value(mk(HK::Field { base: Box::new(base), kind, field: f }, ty, span));
            }
            if self.model.is_prefix(kind, &full) {
                return Res::Prefix(Prefix { base, kind, prefix: full });
            }
            return Res::Value(mk(HK::RawKey { base: Box::new(base), kind, path, slot: u32::MAX }, Type::Any, span));
        }
        let ty = match &base.ty {
            Type::List(elem) => {
                if !matches!(ix.ty, Type::Int | Type::Any) {
                    let t = self.show(&ix.ty);
                    self.err(Code::BadIndex, ix.span, format!("a list is indexed with an integer, found `{t}`"))
                        .lbl(format!("this is `{t}`"))
                        .help =
                        Some("a list is indexed by position (`x[0]`); to test membership write `item in LIST`".into());
                }
                (**elem).clone()
            }
            Type::Any => Type::Any,
            t => {
                let t = self.show(t);
                self.err(Code::BadIndex, base.span, format!("`{t}` cannot be indexed")).lbl(format!("this is `{t}`"));
                Type::Any
            }
        };
        Res::Value(mk(HK::Index(Box::new(base), Box::new(ix)), ty, span))
    }

    fn binary(
        &mut self,
        op: BinOp,
        a: &ast::Expr,
        b: &ast::Expr,
        span: Span,
        scope: &mut Scope,
        free: &mut Free,
    ) -> hir::Expr {
        let (ha, fa) = self.check(a, scope);
        *free = std::mem::take(free).union(fa);
        if op == BinOp::Matches {
            return self.matches(ha, b, span);
        }
        let (hb, fb) = self.check(b, scope);
        *free = std::mem::take(free).union(fb);
        let (ta, tb) = (ha.ty.clone(), hb.ty.clone());
        let ty = match op {
            BinOp::And | BinOp::Or | BinOp::Requires => {
                let what = format!("each operand of `{}`", op.as_str());
                self.expect_bool(&ha, &what);
                self.expect_bool(&hb, &what);
                Type::Bool
            }
            BinOp::Eq | BinOp::Ne => {
                let negate = op == BinOp::Ne;
                if matches!(hb.kind, HK::Lit(Value::Null)) && hb.ty == Type::Null && ha.is_path() {
                    return mk(HK::IsNull { path: Box::new(ha), negate }, Type::Bool, span);
                }
                if matches!(ha.kind, HK::Lit(Value::Null)) && ha.ty == Type::Null && hb.is_path() {
                    return mk(HK::IsNull { path: Box::new(hb), negate }, Type::Bool, span);
                }
                if !eq_compatible(&ta, &tb) {
                    self.mismatch(op, &ha, &hb);
                }
                self.enum_literal(&ta, &hb);
                self.enum_literal(&tb, &ha);
                Type::Bool
            }
            BinOp::Lt | BinOp::Le | BinOp::Gt | BinOp::Ge => {
                if ta == Type::Null || tb == Type::Null {
                    let at = if ta == Type::Null { ha.span } else { hb.span };
                    self.err(Code::NullComparison, at, format!("`{}` cannot compare with `null`", op.as_str()))
                        .lbl("null")
                        .help = Some("use `has(x)` or `x == null` to test for a missing value".into());
                } else if !ord_compatible(&ta, &tb) {
                    self.mismatch(op, &ha, &hb);
                }
                Type::Bool
            }
            BinOp::In | BinOp::NotIn => {
                match &tb {
                    Type::List(elem) => {
                        if !eq_compatible(&ta, elem) {
                            let (x, y) = (self.show(&ta), self.show(&tb));
                            self.err(Code::Type, span, format!("`{x}` can never be in a `{y}`"))
                                .lbl(format!("`{}` of `{x}` in `{y}`", op.as_str()));
                        }
                        if let HK::List(items) = &hb.kind {
                            for i in items {
                                self.enum_literal(&ta, i);
                            }
                        }
                    }
                    Type::Any => {}
                    t => {
                        let t = self.show(t);
                        self.err(
                            Code::NotAList,
                            hb.span,
                            format!("the right side of `{}` must be a list, found `{t}`", op.as_str()),
                        )
                        .lbl(format!("this is `{t}`"))
                        .help = Some("write `x in [\"a\", \"b\"]`, or use `contains(s, x)` for substrings".into());
                    }
                }
                Type::Bool
            }
            // A fallback of another type is allowed (`{expiry ?? "unset"}` in messages); the
            // result's type is then only known at evaluation.
            BinOp::Coalesce => unify(&ta, &tb).unwrap_or(Type::Any),
            BinOp::Add | BinOp::Sub | BinOp::Mul | BinOp::Div | BinOp::Rem => match arith_type(op, &ta, &tb) {
                Some(t) => t,
                None => {
                    self.mismatch(op, &ha, &hb);
                    Type::Any
                }
            },
            BinOp::Matches => Type::Bool,
        };
        mk(HK::Binary(op, Box::new(ha), Box::new(hb)), ty, span)
    }

    fn mismatch(&mut self, op: BinOp, a: &hir::Expr, b: &hir::Expr) {
        let (x, y) = (self.show(&a.ty), self.show(&b.ty));
        let help = match op {
            BinOp::Eq | BinOp::Ne => "values of different types are never equal; compare like with like",
            BinOp::Add => "`+` adds numbers, adds durations to dates and durations, and joins strings",
            BinOp::Sub => "`-` subtracts numbers, durations from dates and durations, and dates from dates",
            BinOp::Mul | BinOp::Div | BinOp::Rem => "arithmetic takes numbers (and durations times integers)",
            BinOp::Coalesce => "both sides of `??` must have the same type",
            _ => "compare numbers with numbers, strings with strings, dates with dates, durations with durations",
        };
        let op_span = self.op_span(op, a.span, b.span);
        let o = op.as_str();
        self.err(Code::Type, op_span, format!("`{o}` does not apply to `{x}` and `{y}`"))
            .lbl(match op {
                BinOp::Eq | BinOp::Ne | BinOp::Lt | BinOp::Le | BinOp::Gt | BinOp::Ge => "cannot compare these",
                _ => "not defined for these types",
            })
            .rel(a.span, format!("this is `{x}`"))
            .rel(b.span, format!("this is `{y}`"))
            .help = Some(help.into());
    }

    /// The span of a binary operator's token, found between its operands.
    fn op_span(&self, op: BinOp, a: Span, b: Span) -> Span {
        let between = Span::new(a.end as usize, b.start as usize);
        let text = self.file.slice(between);
        let needle = if op == BinOp::NotIn { "not" } else { op.as_str() };
        match text.find(needle) {
            Some(i) if a.end <= b.start => {
                let start = a.end as usize + i;
                let end = if op == BinOp::NotIn {
                    text[i..].find("in").map_or(start + 3, |j| a.end as usize + i + j + 2)
                } else {
                    start + needle.len()
                };
                Span::new(start, end)
            }
            _ => a.to(b),
        }
    }

    /// A string literal compared with an enum must be one of its values.
    fn enum_literal(&mut self, ty: &Type, other: &hir::Expr) {
        let (Type::Enum(vals), HK::Lit(Value::Str(s))) = (ty, &other.kind) else { return };
        if vals.iter().any(|v| **v == **s) {
            return;
        }
        let listed = vals.iter().map(|v| format!("`\"{v}\"`")).collect::<Vec<_>>().join(", ");
        let help = match did_you_mean(s, vals.iter().map(String::as_str)) {
            Some(v) => format!("did you mean `\"{v}\"`? the values are {listed}"),
            None => format!("the values are {listed}"),
        };
        self.err(Code::EnumValue, other.span, format!("`\"{s}\"` is not a value of `enum({})`", vals.join("|")))
            .lbl("never matches")
            .help = Some(help);
    }

    fn matches(&mut self, lhs: hir::Expr, pattern: &ast::Expr, span: Span) -> hir::Expr {
        if !matches!(lhs.ty, Type::String | Type::Enum(_) | Type::Ref(_) | Type::Any) {
            let t = self.show(&lhs.ty);
            self.err(Code::Type, lhs.span, format!("`matches` applies to strings, found `{t}`"))
                .lbl(format!("this is `{t}`"));
        }
        let mut p = pattern;
        while let AK::Paren(inner) = &p.kind {
            p = inner;
        }
        let mut param = None;
        let text = match &p.kind {
            AK::Lit(Literal::Str(s)) => Some(s.clone()),
            AK::Name(n) => self.params.iter().position(|q| q.name == *n).and_then(|i| match &self.params[i].value {
                Value::Str(s) => {
                    param = Some(i as u32);
                    Some(s.to_string())
                }
                _ => None,
            }),
            _ => None,
        };
        let Some(text) = text else {
            self.err(Code::Regex, pattern.span, "the pattern of `matches` must be a string literal")
                .lbl("not a string literal")
                .help = Some("write `x matches \"^[a-z]+$\"`".into());
            return poison(span);
        };
        match compile_regex(&text) {
            Ok(re) => mk(HK::Matches(Box::new(lhs), Arc::new(re), param), Type::Bool, span),
            Err(e) => {
                let msg = e.to_string();
                let last = regex_error_summary(&e);
                let (span, label) = match self.regex_error_span(p, &text, &msg) {
                    Some(at) => (at, "this part of the pattern".to_string()),
                    None => (pattern.span, "this pattern".to_string()),
                };
                self.err(Code::Regex, span, format!("invalid regular expression: {last}")).lbl(label).help =
                    Some("patterns use Rust `regex` syntax; escape special characters with `\\\\`".into());
                poison(span)
            }
        }
    }

    /// Where in the file a regex error is, from the `^^^` under the pattern in the regex
    /// crate's message (only for a single-line pattern written as a string literal).
    fn regex_error_span(&self, p: &ast::Expr, pattern: &str, msg: &str) -> Option<Span> {
        let AK::Lit(Literal::Str(_)) = &p.kind else { return None };
        let lines: Vec<&str> = msg.lines().collect();
        let (shown, carets) = (lines.get(1)?.strip_prefix("    ")?, lines.get(2)?.strip_prefix("    ")?);
        if shown != pattern {
            return None;
        }
        let first = carets.find('^')?;
        let count = carets[first..].chars().take_while(|c| *c == '^').count();
        let byte = |chars: usize| pattern.char_indices().nth(chars).map_or(pattern.len(), |(i, _)| i);
        let (bs, be) = (byte(first), byte(first + count));
        let raw = self.file.slice(p.span);
        let inner = raw.strip_prefix('"')?.strip_suffix('"')?;
        let (value, offsets) = crate::parse::unescape_dsl(inner).ok()?;
        if value != pattern {
            return None;
        }
        let base = p.span.start as usize + 1;
        Some(Span::new(base + *offsets.get(bs)? as usize, base + *offsets.get(be)? as usize))
    }

    fn call(
        &mut self,
        name: &ast::Spanned<String>,
        args: &[ast::Expr],
        span: Span,
        scope: &mut Scope,
        free: &mut Free,
    ) -> hir::Expr {
        let n = name.node.as_str();
        let Some(builtin) = builtins::lookup(n) else {
            let names = || BUILTINS.iter().map(|b| b.name);
            let help = match did_you_mean(n, names()) {
                Some(s) => format!("did you mean `{s}`?"),
                None => format!("functions: {}", names().collect::<Vec<_>>().join(", ")),
            };
            self.err(Code::UnknownFunction, name.span, format!("unknown function `{n}`")).lbl("not a function").help =
                Some(help);
            return poison(span);
        };
        let Some(arity) = builtin.arity() else {
            self.err(Code::Arity, span, format!("`{n}` takes a list and a predicate"))
                .lbl("missing `: PREDICATE`")
                .help = Some(format!("write `{n}(user.roles: role.multiple_sessions)`"));
            return poison(span);
        };
        if args.len() != arity {
            // Point at the extra arguments, or at the whole call when some are missing.
            let (at, label) = match (args.get(arity), args.last()) {
                (Some(extra), Some(last)) => (
                    extra.span.to(last.span),
                    if args.len() - arity == 1 { "extra argument" } else { "extra arguments" },
                ),
                _ => (span, if arity - args.len() == 1 { "missing an argument" } else { "missing arguments" }),
            };
            self.err(
                Code::Arity,
                at,
                format!("`{n}` takes {arity} argument{}, found {}", if arity == 1 { "" } else { "s" }, args.len()),
            )
            .lbl(label)
            .help = Some(format!("the signature is `{}`", builtin.signature));
            return poison(span);
        }
        if let Form::Aggregate(agg) = &builtin.form {
            let mut arg_free = Free::default();
            let r = self.path(&args[0], scope, &mut arg_free);
            let arg = self.value(r);
            return self.aggregate(agg.func, arg, arg_free, span, free);
        }
        let mut hs = Vec::new();
        for a in args {
            let (h, f) = self.check(a, scope);
            *free = std::mem::take(free).union(f);
            hs.push(h);
        }
        let Form::Function(function) = &builtin.form else {
            // has(PATH)
            let Some(h) = hs.pop() else { return poison(span) };
            if !h.is_path() {
                self.err(Code::ArgumentType, h.span, "`has` takes a field path").lbl("not a field").help =
                    Some("write `has(integration.last_reviewed)`".into());
            }
            return mk(HK::Has(Box::new(h)), Type::Bool, span);
        };
        let types: Vec<Type> = hs.iter().map(|h| h.ty.clone()).collect();
        let ty = match (function.check)(&types, self.model) {
            Ok(ty) => ty,
            Err((i, expected)) => {
                let (at, t) = hs.get(i).map_or((span, "any".to_string()), |h| (h.span, self.show(&h.ty)));
                let msg = if arity == 1 {
                    format!("`{n}` takes {expected}, found `{t}`")
                } else {
                    format!("argument {} of `{n}` must be {expected}, found `{t}`", i + 1)
                };
                self.err(Code::ArgumentType, at, msg).lbl(format!("this is `{t}`")).help =
                    Some(format!("the signature is `{}`", builtin.signature));
                Type::Any
            }
        };
        mk(HK::Call(builtin, hs), ty, span)
    }

    fn aggregate(&mut self, func: AggFunc, arg: hir::Expr, arg_free: Free, span: Span, free: &mut Free) -> hir::Expr {
        let (mode, elem) = match &arg.ty {
            Type::List(t) => {
                // A list is aggregated as it is; its kinds stay free.
                *free = std::mem::take(free).union(arg_free);
                (AggMode::List, (**t).clone())
            }
            Type::Any => {
                *free = std::mem::take(free).union(arg_free);
                (AggMode::List, Type::Any)
            }
            t => (AggMode::Range { arg_free: arg_free.set, deepest: None, under: Model::ROOT }, t.clone()),
        };
        let Some((builtin, Form::Aggregate(agg))) = builtins::aggregate(func).map(|b| (b, &b.form)) else {
            return poison(span);
        };
        let Some(ty) = (agg.result)(&elem) else {
            let (name, t) = (builtin.name, self.show(&elem));
            self.err(Code::ArgumentType, arg.span, format!("`{name}` cannot aggregate `{t}`"))
                .lbl(format!("values of type `{t}`"))
                .help = Some(format!("`{name}` takes {}", agg.takes));
            return poison(span);
        };
        mk(HK::Agg { func, mode, arg: Box::new(arg) }, ty, span)
    }

    /// Checks a `let` on first use; returns its type (`any` after an error).
    pub fn check_let(&mut self, i: usize, used_at: Option<Span>) -> Type {
        match &self.lets[i].state {
            LetState::Done(l) => return l.ty.clone(),
            LetState::Failed => return Type::Any,
            LetState::InProgress => {
                let full = |cx: &Self, j: usize| format!("{}.{}", cx.model.kind_name(cx.lets[j].kind), cx.lets[j].name);
                let from = self.let_stack.iter().position(|j| *j == i).unwrap_or(0);
                let mut cycle: Vec<String> =
                    self.let_stack.get(from..).unwrap_or(&[]).iter().map(|j| format!("`{}`", full(self, *j))).collect();
                cycle.push(format!("`{}`", full(self, i)));
                let name = full(self, i);
                let d = self
                    .err(Code::Let, self.lets[i].span, format!("`{name}` is defined in terms of itself"))
                    .lbl("recursive definition");
                if let Some(u) = used_at {
                    d.rel(u, format!("`{name}` used here"));
                }
                d.help = Some(format!(
                    "the cycle is {}; a derived field may use other derived fields, but not in a cycle",
                    cycle.join(" → ")
                ));
                self.lets[i].state = LetState::Failed;
                return Type::Any;
            }
            LetState::Pending => {}
        }
        self.lets[i].state = LetState::InProgress;
        self.let_stack.push(i);
        let kind = self.lets[i].kind;
        let ast = self.lets[i].ast.clone();
        let saved_locals = std::mem::replace(&mut self.n_locals, 0);
        let before = self.diags.len();
        let bound = self.model.lineage(kind);
        let mut scope = Scope { entries: Vec::new(), bound };
        let (mut e, free) = self.check(&ast, &mut scope);
        if let Some(k) = free.set.minus(bound).iter().next() {
            let kname = self.model.kind_name(kind).to_string();
            self.err(
                Code::LetScope,
                free.span_of(k).unwrap_or(ast.span),
                format!("a derived field of `{kname}` cannot refer to `{}` directly", self.model.kind_name(k)),
            )
            .lbl("not related to the derived field's kind")
            .help = Some(format!(
                "a derived field of `{kname}` is computed for each `{kname}`; aggregate `{}` (`count(…)`, `any(…: …)`) or reach it through a reference",
                self.model.kind_name(k)
            ));
        }
        super::bind::aggregates(self, &mut e, bound);
        let n_locals = std::mem::replace(&mut self.n_locals, saved_locals);
        self.let_stack.pop();
        if matches!(self.lets[i].state, LetState::Failed) || self.diags.len() > before {
            self.lets[i].state = LetState::Failed;
            return Type::Any;
        }
        let ty = e.ty.clone();
        self.lets[i].state =
            LetState::Done(hir::Let { kind, name: self.lets[i].name.clone(), expr: e, ty: ty.clone(), n_locals });
        ty
    }

    /// The checked lets, in declaration order (failed ones become `null`).
    pub fn finished_lets(&mut self) -> Vec<hir::Let> {
        self.lets
            .iter()
            .map(|l| match &l.state {
                LetState::Done(h) => h.clone(),
                _ => hir::Let { kind: l.kind, name: l.name.clone(), expr: poison(l.span), ty: Type::Any, n_locals: 0 },
            })
            .collect()
    }
}

/// The common type of two types, for list items and `??`.
pub fn unify(a: &Type, b: &Type) -> Option<Type> {
    Some(match (a, b) {
        _ if a == b => a.clone(),
        (Type::Any, _) | (_, Type::Any) => Type::Any,
        (Type::Null, t) | (t, Type::Null) => t.clone(),
        (Type::Int, Type::Decimal) | (Type::Decimal, Type::Int) => Type::Decimal,
        (x, y) if x.is_stringy() && y.is_stringy() => Type::String,
        (Type::List(x), Type::List(y)) => Type::List(Box::new(unify(x, y)?)),
        (Type::Entity(x), Type::Ref(y)) | (Type::Ref(y), Type::Entity(x)) if x == y => Type::Ref(*x),
        _ => return None,
    })
}

pub fn eq_compatible(a: &Type, b: &Type) -> bool {
    match (a, b) {
        (Type::Any, _) | (_, Type::Any) | (Type::Null, _) | (_, Type::Null) => true,
        (x, y) if x.is_numeric() && y.is_numeric() => true,
        (x, y) if x.is_stringy() && y.is_stringy() => true,
        (Type::Entity(x), Type::Entity(y)) => x == y,
        (Type::Entity(x), Type::Ref(y)) | (Type::Ref(y), Type::Entity(x)) => x == y,
        (Type::List(x), Type::List(y)) => eq_compatible(x, y),
        (x, y) => x == y,
    }
}

fn ord_compatible(a: &Type, b: &Type) -> bool {
    match (a, b) {
        (Type::Any, _) | (_, Type::Any) => true,
        (x, y) if x.is_numeric() && y.is_numeric() => true,
        (x, y) if x.is_stringy() && y.is_stringy() => true,
        (Type::Date, Type::Date) | (Type::Duration, Type::Duration) => true,
        _ => false,
    }
}

fn arith_type(op: BinOp, a: &Type, b: &Type) -> Option<Type> {
    use Type::*;
    Some(match (op, a, b) {
        (_, Any, _) | (_, _, Any) => Any,
        (_, Int, Int) => Int,
        (_, x, y) if x.is_numeric() && y.is_numeric() => Decimal,
        (BinOp::Add, Date, Duration) | (BinOp::Add, Duration, Date) | (BinOp::Sub, Date, Duration) => Date,
        (BinOp::Sub, Date, Date) => Duration,
        (BinOp::Add | BinOp::Sub, Duration, Duration) => Duration,
        (BinOp::Mul, Duration, Int) | (BinOp::Mul, Int, Duration) | (BinOp::Div, Duration, Int) => Duration,
        (BinOp::Add, x, y) if x.is_stringy() && y.is_stringy() => String,
        _ => return None,
    })
}

/// The one-line reason of a regex error (its last line, without `error: `).
pub fn regex_error_summary(e: &regex::Error) -> String {
    let msg = e.to_string();
    msg.lines()
        .rfind(|l| !l.trim().is_empty())
        .unwrap_or("invalid pattern")
        .trim()
        .trim_start_matches("error: ")
        .to_string()
}

/// Compiles a `matches` pattern (Rust `regex` syntax, with a size limit against
/// pathological patterns).
pub fn compile_regex(text: &str) -> Result<regex::Regex, regex::Error> {
    regex::RegexBuilder::new(text).size_limit(1 << 20).build()
}
