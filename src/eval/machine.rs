//! The evaluator: walks lowered expressions over one tenant's tables.
//!
//! An [`Env`] holds the bound entity of every kind (the subject, its ancestors, filter
//! elements, aggregate ranges) and a stack of locals. Evaluation returns
//! `Result<Value, EvalError>`; an error is never a pass. A *missing* error (an absent field
//! without default) is the one kind `??` and `has` may catch.

use super::exact::ExactSum;
use super::ops::{self, describe, json_string};
use crate::ast::BinOp;
use crate::builtins::Form;
use crate::hir::{AggFunc, AggMode, Binder, Expr, ExprKind, Func, Quant};
use crate::ir::Program;
use crate::model::{KindId, Model, Type, MAX_KINDS};
use crate::snapshot::Tenant;
use crate::value::Value;
use std::borrow::Cow;
use std::cmp::Ordering;
use std::sync::LazyLock;

#[derive(Debug, Clone, PartialEq)]
pub struct EvalError {
    /// An absent field without a default: `??` falls back, `has` is false.
    pub missing: bool,
    pub reason: String,
}

/// Errors are rare: boxed, a result is no larger than its value.
pub type R<T> = Result<T, Box<EvalError>>;

fn fail<T>(reason: impl Into<String>) -> R<T> {
    Err(Box::new(EvalError { missing: false, reason: reason.into() }))
}

/// The elements of a list value, borrowed: entity ranges give entity values, stored lists
/// their own elements (no reference count is touched).
enum Items<'e> {
    Slice(&'e [Value]),
    Range(KindId, u32, u32),
}

impl<'e> Items<'e> {
    /// The elements of `v`; none when it is not a list.
    fn of(v: &'e Value) -> Items<'e> {
        match v {
            Value::List(items) => Items::Slice(items),
            Value::Entities(k, s, n) => Items::Range(*k, *s, *n),
            _ => Items::Slice(&[]),
        }
    }

    fn len(&self) -> usize {
        match self {
            Items::Slice(l) => l.len(),
            Items::Range(_, _, n) => *n as usize,
        }
    }

    fn get(&self, i: usize) -> Cow<'e, Value> {
        match self {
            Items::Slice(l) => l.get(i).map_or(Cow::Owned(Value::Null), Cow::Borrowed),
            Items::Range(k, s, _) => Cow::Owned(Value::Entity(*k, s + i as u32)),
        }
    }
}

/// `EMPTY_COLLECTIONS[k]`: the value of an absent or null collection of kind `k` (no rows).
static EMPTY_COLLECTIONS: LazyLock<Vec<Value>> =
    LazyLock::new(|| (0..MAX_KINDS as KindId).map(|k| Value::Entities(k, 0, 0)).collect());

pub struct Env<'a> {
    pub program: &'a Program,
    pub model: &'a Model,
    pub tenant: &'a Tenant,
    /// The policy whose `let`s are in scope.
    pub policy: usize,
    pub now: i64,
    /// `bound[k]`: the row of the bound entity of kind `k`.
    pub bound: [u32; MAX_KINDS],
    pub locals: Vec<Value>,
    local_base: usize,
}

impl<'a> Env<'a> {
    pub fn new(program: &'a Program, model: &'a Model, tenant: &'a Tenant, now: i64) -> Self {
        Env { program, model, tenant, policy: 0, now, bound: [0; MAX_KINDS], locals: Vec::new(), local_base: 0 }
    }

    /// Prepares the locals for a rule.
    pub fn enter_rule(&mut self, policy: usize, n_locals: u32) {
        self.policy = policy;
        self.local_base = 0;
        self.locals.clear();
        self.locals.resize(n_locals as usize, Value::Null);
    }

    /// Binds `row` of `kind` and its ancestors to their parents.
    pub fn bind(&mut self, kind: KindId, row: u32) {
        let mut k = kind;
        let mut r = row;
        loop {
            self.set_row(k, r);
            match self.model.kind(k).parent {
                Some(p) => {
                    r = self.tenant.table(k).parent.get(r as usize).copied().unwrap_or(0);
                    k = p;
                }
                None => break,
            }
        }
    }

    /// The row of the bound entity of kind `k`. (A model has at most `MAX_KINDS` kinds, so
    /// `k` is in range; the checked read costs what an indexing one does.)
    #[inline]
    pub fn row_of(&self, k: KindId) -> u32 {
        self.bound.get(k as usize).copied().unwrap_or(0)
    }

    #[inline]
    fn set_row(&mut self, k: KindId, row: u32) {
        if let Some(b) = self.bound.get_mut(k as usize) {
            *b = row;
        }
    }

    fn set_local(&mut self, slot: u32, v: Value) {
        let i = self.local_base + slot as usize;
        if i >= self.locals.len() {
            self.locals.resize(i + 1, Value::Null);
        }
        if let Some(l) = self.locals.get_mut(i) {
            *l = v;
        }
    }

    pub fn eval_bool(&mut self, e: &Expr) -> R<bool> {
        // The connectives and comparisons that decide most rules, without making a
        // `Value::Bool` of every step.
        if let ExprKind::Binary(op, a, b) = &e.kind {
            match op {
                BinOp::And => return Ok(self.eval_bool(a)? && self.eval_bool(b)?),
                BinOp::Or => return Ok(self.eval_bool(a)? || self.eval_bool(b)?),
                BinOp::Requires => return Ok(!self.eval_bool(a)? || self.eval_bool(b)?),
                BinOp::Lt | BinOp::Le | BinOp::Gt | BinOp::Ge => {
                    let x = self.operand(a)?;
                    let y = self.operand(b)?;
                    let ord = match ops::compare(&x, &y, *op) {
                        Ok(ord) => ord,
                        Err(reason) => return fail(reason),
                    };
                    return Ok(match op {
                        BinOp::Lt => ord == Ordering::Less,
                        BinOp::Le => ord != Ordering::Greater,
                        BinOp::Gt => ord == Ordering::Greater,
                        _ => ord != Ordering::Less,
                    });
                }
                _ => {}
            }
        }
        match &*self.operand(e)? {
            Value::Bool(b) => Ok(*b),
            other => fail(format!("expected a boolean, found {}", describe(other))),
        }
    }

    /// Evaluates `e`, borrowing rather than cloning a literal or a stored field: cloning a
    /// string or a list touches its shared reference count, which was most of the cost of
    /// a rule like `all(user.roles: ...)`.
    fn operand<'e>(&mut self, e: &'e Expr) -> R<Cow<'e, Value>>
    where
        'a: 'e,
    {
        match &e.kind {
            ExprKind::Lit(v) => Ok(Cow::Borrowed(v)),
            ExprKind::Field { base, kind, field } => {
                let row = self.entity(base, *kind)?;
                Ok(Cow::Borrowed(self.field_ref(*kind, row, *field)?))
            }
            _ => Ok(Cow::Owned(self.eval(e)?)),
        }
    }

    /// The elements of a list operand, borrowed from it.
    fn items<'e>(&self, v: &'e Value, from: &Expr) -> R<Items<'e>> {
        match v {
            Value::List(items) => Ok(Items::Slice(items)),
            Value::Entities(k, s, n) => Ok(Items::Range(*k, *s, *n)),
            Value::Null => fail(format!("{} is null, expected a list", self.describe_path(from))),
            other => fail(format!("expected a list, found {}", describe(other))),
        }
    }

    pub fn eval(&mut self, e: &Expr) -> R<Value> {
        match &e.kind {
            ExprKind::Lit(v) => Ok(v.clone()),
            ExprKind::Param(_) => fail("internal: unlowered parameter"),
            ExprKind::Now => Ok(Value::Date(self.now)),
            ExprKind::Kind(k) => Ok(Value::Entity(*k, self.row_of(*k))),
            ExprKind::Local(slot) => {
                Ok(self.locals.get(self.local_base + *slot as usize).cloned().unwrap_or(Value::Null))
            }
            ExprKind::List(items) => {
                let mut out = Vec::with_capacity(items.len());
                for i in items {
                    out.push(self.eval(i)?);
                }
                Ok(Value::List(out.into()))
            }
            ExprKind::Field { base, kind, field } => {
                let row = self.entity(base, *kind)?;
                self.field_ref(*kind, row, *field).cloned()
            }
            ExprKind::Let { base, kind, index } => {
                let row = self.entity(base, *kind)?;
                self.eval_let(*kind, row, *index)
            }
            ExprKind::RawKey { base, kind, path, slot } => {
                let row = self.entity(base, *kind)?;
                let t = self.tenant.table(*kind);
                if t.malformed.get(row as usize).copied().unwrap_or(false) {
                    return fail(self.malformed(*kind, row));
                }
                match self.tenant.raw(*kind, row, *slot) {
                    Value::Null => Err(Box::new(EvalError {
                        missing: true,
                        reason: format!(
                            "missing field {}[{}]",
                            self.model.kind_name(*kind),
                            json_string(&path.join("."))
                        ),
                    })),
                    v => Ok(v.clone()),
                }
            }
            ExprKind::Index(base, index) => {
                let b = self.eval(base)?;
                let i = self.eval(index)?;
                self.index(&b, &i, base)
            }
            ExprKind::Project { list, slot, deref, body } => {
                let l = self.operand(list)?;
                let items = self.items(&l, list)?;
                let mut out = Vec::with_capacity(items.len());
                for i in 0..items.len() {
                    let item = items.get(i);
                    let item = match deref {
                        Some(k) => self.deref(*k, &item, list, Some(i))?,
                        None => item.into_owned(),
                    };
                    self.set_local(*slot, item);
                    match self.eval(body)? {
                        Value::List(inner) => out.extend(inner.iter().cloned()),
                        Value::Entities(k, s, n) => out.extend((s..s + n).map(|r| Value::Entity(k, r))),
                        v => out.push(v),
                    }
                }
                Ok(Value::List(out.into()))
            }
            ExprKind::Not(a) => Ok(Value::Bool(!self.eval_bool(a)?)),
            ExprKind::Neg(a) => {
                let v = self.eval(a)?;
                ops::neg(&v).or_else(fail)
            }
            ExprKind::Binary(op, a, b) => self.binary(*op, a, b),
            ExprKind::Has(path) => Ok(Value::Bool(self.present(path)?)),
            // `x == null` is exactly `not has(x)` (language.md §9.10).
            ExprKind::IsNull { path, negate } => Ok(Value::Bool(self.present(path)? == *negate)),
            ExprKind::Matches(a, re, _) => match self.eval(a)? {
                Value::Str(s) => Ok(Value::Bool(re.is_match(&s))),
                other => fail(format!("`matches` applies to strings, found {}", describe(&other))),
            },
            ExprKind::Call(func, args) => self.call(func, args),
            ExprKind::Agg { func, mode, arg } => self.aggregate(*func, *mode, arg),
            ExprKind::Filter { list, binder, pred } => {
                let l = self.operand(list)?;
                let items = self.items(&l, list)?;
                let mut out = Vec::new();
                for i in 0..items.len() {
                    let item = items.get(i);
                    let saved = self.bound;
                    let keep = self.with_element(*binder, &item, list, i, |env| env.eval_bool(pred));
                    self.bound = saved;
                    if keep? {
                        out.push(item.into_owned());
                    }
                }
                Ok(Value::List(out.into()))
            }
            ExprKind::Quant { q, list, binder, pred } => {
                let l = self.operand(list)?;
                let items = self.items(&l, list)?;
                for i in 0..items.len() {
                    let item = items.get(i);
                    let saved = self.bound;
                    let r = self.with_element(*binder, &item, list, i, |env| env.eval_bool(pred));
                    self.bound = saved;
                    match (q, r?) {
                        (Quant::Any, true) => return Ok(Value::Bool(true)),
                        (Quant::All, false) => return Ok(Value::Bool(false)),
                        (Quant::None, true) => return Ok(Value::Bool(false)),
                        _ => {}
                    }
                }
                Ok(Value::Bool(!matches!(q, Quant::Any)))
            }
        }
    }

    /// Whether a path is present in the snapshot and not null (`has`, and `== null`, which
    /// is exactly `not has`: language.md §9.10). A model default does not make a field
    /// present, and a value of the wrong type is present. Following the path never fails
    /// on data: a step that is absent or null, a malformed element, a dangling or mistyped
    /// reference, a key into something that is not an object, a position past the end of a
    /// list all make the path absent. Only computing a part that is not data can fail: the
    /// index in `x[i]`, a derived field (`let`).
    fn present(&mut self, path: &Expr) -> R<bool> {
        Ok(self.reach(path, true)?.is_some_and(|v| !matches!(*v, Value::Null)))
    }

    /// The value at the end of a path; `None` when the path cannot be followed (see
    /// [`Env::present`]). The `leaf` field is read as stored (a default does not make it
    /// present); the steps before it read as evaluation reads them, with their defaults.
    fn reach(&mut self, path: &Expr, leaf: bool) -> R<Option<Cow<'a, Value>>> {
        match &path.kind {
            ExprKind::Field { base, kind, field } => {
                let Some(row) = self.reach_entity(base, *kind)? else { return Ok(None) };
                let stored = self.tenant.field(*kind, row, *field);
                if leaf || !matches!(stored, Value::Null) {
                    return Ok(Some(Cow::Borrowed(stored)));
                }
                Ok(self.model.field(*kind, *field).default.as_ref().map(Cow::Borrowed))
            }
            ExprKind::RawKey { base, kind, slot, .. } => {
                let row = self.reach_entity(base, *kind)?;
                Ok(row.map(|row| Cow::Borrowed(self.tenant.raw(*kind, row, *slot))))
            }
            ExprKind::Index(base, index) => {
                let Some(b) = self.reach(base, false)? else { return Ok(None) };
                let i = self.eval(index)?;
                Ok(match b {
                    Cow::Borrowed(b) => element(b, &i),
                    Cow::Owned(b) => element(&b, &i).map(|v| Cow::Owned(v.into_owned())),
                })
            }
            _ => match self.eval(path) {
                Ok(v) => Ok(Some(Cow::Owned(v))),
                Err(e) if e.missing => Ok(None),
                Err(e) => Err(e),
            },
        }
    }

    /// The row of the entity `base` reaches, when it reaches a well-formed one.
    fn reach_entity(&mut self, base: &Expr, kind: KindId) -> R<Option<u32>> {
        let row = match &base.kind {
            ExprKind::Kind(k) => Some(self.row_of(*k)),
            _ => {
                let v = if base.is_path() {
                    self.reach(base, false)?
                } else {
                    match self.eval(base) {
                        Ok(v) => Some(Cow::Owned(v)),
                        Err(e) if e.missing => None,
                        Err(e) => return Err(e),
                    }
                };
                match v.as_deref() {
                    Some(Value::Entity(_, row)) => Some(*row),
                    Some(Value::Str(key)) => self.tenant.lookup(self.model, kind, key),
                    _ => None,
                }
            }
        };
        Ok(row.filter(|&r| !self.tenant.table(kind).malformed.get(r as usize).copied().unwrap_or(false)))
    }

    pub fn with_element<T>(
        &mut self,
        binder: Binder,
        item: &Value,
        list: &Expr,
        i: usize,
        f: impl FnOnce(&mut Self) -> R<T>,
    ) -> R<T> {
        match binder {
            Binder::Kind { kind, deref } => {
                let item = if deref { self.deref(kind, item, list, Some(i))? } else { item.clone() };
                match item {
                    Value::Entity(k, row) => self.bind(k, row),
                    other => {
                        return fail(format!(
                            "expected a `{}` entity, found {}",
                            self.model.kind_name(kind),
                            describe(&other)
                        ))
                    }
                }
                f(self)
            }
            Binder::Local { slot, deref } => {
                let item = match deref {
                    Some(k) => self.deref(k, item, list, Some(i))?,
                    None => item.clone(),
                };
                self.set_local(slot, item);
                f(self)
            }
        }
    }

    /// The entity row `base` evaluates to (following a reference).
    fn entity(&mut self, base: &Expr, kind: KindId) -> R<u32> {
        if let ExprKind::Kind(k) = base.kind {
            return Ok(self.row_of(k));
        }
        match self.eval(base)? {
            Value::Entity(_, row) => Ok(row),
            v @ Value::Str(_) => match self.deref(kind, &v, base, None)? {
                Value::Entity(_, row) => Ok(row),
                _ => fail("internal: reference did not resolve to an entity"),
            },
            other => fail(format!("expected a `{}`, found {}", self.model.kind_name(kind), describe(&other))),
        }
    }

    /// Follows a reference: the key `v` of an entity of `kind`.
    fn deref(&mut self, kind: KindId, v: &Value, from: &Expr, index: Option<usize>) -> R<Value> {
        match v {
            Value::Str(key) => match self.tenant.lookup(self.model, kind, key) {
                Some(row) => Ok(Value::Entity(kind, row)),
                None => {
                    let at = match index {
                        Some(i) => format!("{}[{i}]", self.describe_path(from)),
                        None => self.describe_path(from),
                    };
                    fail(format!("dangling reference {at} = {}", json_string(key)))
                }
            },
            Value::Entity(k, r) => Ok(Value::Entity(*k, *r)),
            other => fail(format!(
                "a reference to `{}` must be a string key, found {}",
                self.model.kind_name(kind),
                describe(other)
            )),
        }
    }

    /// A short path naming an expression in error reasons (`user.roles`).
    pub fn describe_path(&self, e: &Expr) -> String {
        match &e.kind {
            ExprKind::Field { base, kind, field } => {
                let f = &self.model.field(*kind, *field).name;
                match &base.kind {
                    ExprKind::Kind(_) | ExprKind::Local(_) => format!("{}.{f}", self.model.kind_name(*kind)),
                    _ => format!("{}.{f}", self.describe_path(base)),
                }
            }
            ExprKind::Let { kind, index, .. } => {
                let name = self
                    .program
                    .policies
                    .get(self.policy)
                    .and_then(|p| p.lets.get(*index as usize))
                    .map_or("?", |l| l.name.as_str());
                format!("{}.{name}", self.model.kind_name(*kind))
            }
            ExprKind::Kind(k) => self.model.kind_name(*k).to_string(),
            ExprKind::Filter { list, .. } => self.describe_path(list),
            _ => "value".into(),
        }
    }

    fn malformed(&self, kind: KindId, row: u32) -> String {
        format!("{} at {} is not an object", self.model.kind_name(kind), self.tenant.path(self.model, kind, row))
    }

    /// A stored field (its model default when absent), borrowed from the tenant.
    fn field_ref(&self, kind: KindId, row: u32, field: u16) -> R<&'a Value> {
        let tenant = self.tenant;
        let model = self.model;
        let t = tenant.table(kind);
        if t.malformed.get(row as usize).copied().unwrap_or(false) {
            return fail(self.malformed(kind, row));
        }
        match tenant.field(kind, row, field) {
            Value::Null => {
                let f = model.field(kind, field);
                if let Some(d) = &f.default {
                    return Ok(d);
                }
                // An entity collection absent or null in the data reads as `[]`.
                if let Type::List(elem) = &f.ty {
                    if let Type::Entity(child) = **elem {
                        if let Some(empty) = EMPTY_COLLECTIONS.get(child as usize) {
                            return Ok(empty);
                        }
                    }
                }
                Err(Box::new(EvalError {
                    missing: true,
                    reason: format!("missing field {}.{}", self.model.kind_name(kind), f.name),
                }))
            }
            Value::Bad(reason) => fail(reason.to_string()),
            v => Ok(v),
        }
    }

    fn eval_let(&mut self, kind: KindId, row: u32, index: u32) -> R<Value> {
        let program = self.program;
        let Some(l) = program.policies.get(self.policy).and_then(|p| p.lets.get(index as usize)) else {
            return fail("internal: unknown derived field");
        };
        let saved_bound = self.bound;
        let saved_base = self.local_base;
        let len = self.locals.len();
        self.local_base = len;
        self.locals.resize(len + l.n_locals as usize, Value::Null);
        self.bind(kind, row);
        let r = self.eval(&l.expr);
        self.locals.truncate(len);
        self.local_base = saved_base;
        self.bound = saved_bound;
        r
    }

    fn index(&self, b: &Value, i: &Value, base: &Expr) -> R<Value> {
        let missing = |reason: String| Err(Box::new(EvalError { missing: true, reason }));
        match (b, i, element(b, i)) {
            (Value::Object(_), Value::Str(k), found) => match found.as_deref() {
                Some(Value::Null) | None => missing(format!("missing key {}", json_string(k))),
                Some(v) => Ok(v.clone()),
            },
            (_, _, Some(v)) => Ok(v.into_owned()),
            (Value::List(_) | Value::Entities(..), Value::Int(n), None) => {
                let len = match b {
                    Value::Entities(_, _, len) => *len as usize,
                    Value::List(items) => items.len(),
                    _ => 0,
                };
                fail(format!("index {n} is out of range for a list of {len}"))
            }
            (Value::Null, _, _) => missing(format!("{} is missing", self.describe_path(base))),
            _ => fail(format!("cannot index {} with {}", describe(b), describe(i))),
        }
    }

    fn binary(&mut self, op: BinOp, a: &Expr, b: &Expr) -> R<Value> {
        match op {
            BinOp::And => Ok(Value::Bool(self.eval_bool(a)? && self.eval_bool(b)?)),
            BinOp::Or => Ok(Value::Bool(self.eval_bool(a)? || self.eval_bool(b)?)),
            BinOp::Requires => Ok(Value::Bool(!self.eval_bool(a)? || self.eval_bool(b)?)),
            BinOp::Coalesce => match self.eval(a) {
                Ok(Value::Null) => self.eval(b),
                Ok(v) => Ok(v),
                Err(e) if e.missing => self.eval(b),
                Err(e) => Err(e),
            },
            BinOp::Eq | BinOp::Ne => {
                let x = self.operand(a)?;
                let y = self.operand(b)?;
                let eq = self.equals(&x, &y)?;
                Ok(Value::Bool(eq == (op == BinOp::Eq)))
            }
            BinOp::In | BinOp::NotIn => {
                let x = self.operand(a)?;
                let l = self.operand(b)?;
                let items = self.items(&l, b)?;
                let mut found = false;
                for i in 0..items.len() {
                    if self.equals(&x, &items.get(i))? {
                        found = true;
                        break;
                    }
                }
                Ok(Value::Bool(found == (op == BinOp::In)))
            }
            _ => {
                let x = self.operand(a)?;
                let y = self.operand(b)?;
                match ops::binary_pure(op, &x, &y) {
                    Ok(Some(v)) => Ok(v),
                    Ok(None) => {
                        fail(format!("`{}` does not apply to {} and {}", op.as_str(), describe(&x), describe(&y)))
                    }
                    Err(reason) => fail(reason),
                }
            }
        }
    }

    /// Equality, including entities against their keys.
    pub fn equals(&self, x: &Value, y: &Value) -> R<bool> {
        if let Some(eq) = ops::plain_eq(x, y) {
            return Ok(eq);
        }
        match (x, y) {
            (Value::Entity(k, r), Value::Str(s)) | (Value::Str(s), Value::Entity(k, r)) => {
                Ok(self.tenant.key(self.model, *k, *r).is_some_and(|key| *key == **s))
            }
            // Lists whose elements need the tenant (a collection, entities against keys):
            // element by element.
            (Value::List(_) | Value::Entities(..), Value::List(_) | Value::Entities(..)) => {
                let (a, b) = (Items::of(x), Items::of(y));
                if a.len() != b.len() {
                    return Ok(false);
                }
                for i in 0..a.len() {
                    if !self.equals(&a.get(i), &b.get(i))? {
                        return Ok(false);
                    }
                }
                Ok(true)
            }
            _ => fail(format!("cannot compare {} with {}", describe(x), describe(y))),
        }
    }

    fn call(&mut self, func: Func, args: &[Expr]) -> R<Value> {
        let mut vals = Vec::with_capacity(args.len());
        for a in args {
            vals.push(self.eval(a)?);
        }
        match &func.form {
            Form::Function(f) => (f.eval)(self, &vals),
            _ => fail(format!("internal: `{}` called as a function", func.name)),
        }
    }

    /// Whether the list value `list` holds an item equal to `x` (entities against keys too).
    pub fn list_contains(&self, list: &Value, x: &Value) -> R<bool> {
        let items = Items::of(list);
        for i in 0..items.len() {
            if self.equals(&items.get(i), x)? {
                return Ok(true);
            }
        }
        Ok(false)
    }

    fn aggregate(&mut self, func: AggFunc, mode: AggMode, arg: &Expr) -> R<Value> {
        let mut acc = Fold::new(func);
        match mode {
            AggMode::List => {
                let l = self.operand(arg)?;
                if func == AggFunc::Count {
                    match &*l {
                        Value::Entities(_, _, n) => return Ok(Value::Int(i64::from(*n))),
                        Value::List(items) => return Ok(Value::Int(items.len() as i64)),
                        _ => {}
                    }
                }
                let items = self.items(&l, arg)?;
                for i in 0..items.len() {
                    acc.push(&items.get(i))?;
                }
            }
            AggMode::Range { deepest: None, .. } => acc.push(&*self.operand(arg)?)?,
            AggMode::Range { deepest: Some(d), under, .. } => {
                // Every value is evaluated before any folding error counts (as when the
                // values were collected first): an evaluation error, which `??` may catch
                // when it is a missing field, wins over an overflow met earlier.
                let saved = self.bound;
                let mut folding: R<()> = Ok(());
                let r = self.range(d, under, &mut |env| {
                    let v = env.operand(arg)?;
                    if folding.is_ok() {
                        folding = acc.push(&v);
                    }
                    Ok(())
                });
                self.bound = saved;
                r?;
                folding?;
            }
        }
        let elem = match (mode, &arg.ty) {
            (AggMode::List, Type::List(t)) => t,
            (AggMode::List, _) => &Type::Any,
            (_, t) => t,
        };
        acc.finish(zero_of(elem))
    }

    /// Calls `f` with every entity of `kind` under the bound entity of `under` bound.
    pub fn range(&mut self, kind: KindId, under: KindId, f: &mut dyn FnMut(&mut Self) -> R<()>) -> R<()> {
        let model = self.model;
        // The chain of kinds from just below `under` down to `kind`.
        let mut chain = vec![kind];
        let mut k = kind;
        while let Some(p) = model.kind(k).parent {
            if p == under {
                break;
            }
            chain.push(p);
            k = p;
        }
        chain.reverse();
        let start_row = self.row_of(under);
        self.range_level(&chain, under, start_row, f)
    }

    fn range_level(
        &mut self,
        chain: &[KindId],
        parent: KindId,
        parent_row: u32,
        f: &mut dyn FnMut(&mut Self) -> R<()>,
    ) -> R<()> {
        let Some((&k, rest)) = chain.split_first() else { return f(self) };
        let Some(cf) = self.model.kind(k).collection_field else { return Ok(()) };
        let (start, len) = match self.tenant.field(parent, parent_row, cf) {
            Value::Entities(_, s, n) => (*s, *n),
            _ => (0, 0),
        };
        for row in start..start + len {
            self.set_row(k, row);
            self.range_level(rest, k, row, f)?;
        }
        Ok(())
    }
}

/// `b[i]`: the element of a list at a position (from the end when negative), or the value
/// of an object's key; `None` when there is none, or when `b` cannot be indexed with `i`.
fn element<'v>(b: &'v Value, i: &Value) -> Option<Cow<'v, Value>> {
    let position = |len: usize, n: i64| {
        let ix = if n < 0 { i64::try_from(len).ok()?.checked_add(n)? } else { n };
        usize::try_from(ix).ok().filter(|ix| *ix < len)
    };
    match (b, i) {
        (Value::Object(fields), Value::Str(k)) => {
            fields.iter().find(|(name, _)| name == k).map(|(_, v)| Cow::Borrowed(v))
        }
        (Value::List(items), Value::Int(n)) => {
            position(items.len(), *n).and_then(|ix| items.get(ix)).map(Cow::Borrowed)
        }
        (Value::Entities(k, start, len), Value::Int(n)) => {
            let ix = u32::try_from(position(*len as usize, *n)?).ok()?;
            Some(Cow::Owned(Value::Entity(*k, start.checked_add(ix)?)))
        }
        _ => None,
    }
}

/// count/sum/min/max/avg (language.md §9.11: overflow is checked at every step; `avg` is
/// exact and yields a decimal), folded one value at a time, so a range over a million
/// entities collects nothing.
struct Fold {
    func: AggFunc,
    n: u64,
    /// `sum`: the running total (`None` until the first value); `min`/`max`: the best
    /// value so far.
    acc: Option<Value>,
    /// `avg`: the integers, summed exactly.
    int_sum: i128,
    /// `avg`: the decimals, summed exactly (from the first one on).
    decimals: Option<ExactSum>,
}

impl Fold {
    fn new(func: AggFunc) -> Fold {
        Fold { func, n: 0, acc: None, int_sum: 0, decimals: None }
    }

    fn push(&mut self, v: &Value) -> R<()> {
        self.n += 1;
        match self.func {
            AggFunc::Count => {}
            AggFunc::Sum => match (&mut self.acc, v) {
                (Some(Value::Int(a)), Value::Int(b)) => match a.checked_add(*b) {
                    Some(s) => *a = s,
                    None => return fail("sum: integer overflow in `+`"),
                },
                (Some(total), _) => {
                    let next = match v {
                        Value::Null => return fail("sum over a null value"),
                        _ => ops::arith(BinOp::Add, total, v).or_else(|e| fail(format!("sum: {e}")))?,
                    };
                    *total = next;
                }
                (None, Value::Int(_) | Value::Dec(_) | Value::Duration(_)) => self.acc = Some(v.clone()),
                (None, Value::Null) => return fail("sum over a null value"),
                (None, other) => {
                    return fail(format!("sum: expected a number or a duration, found {}", describe(other)))
                }
            },
            AggFunc::Min | AggFunc::Max => {
                let better = match &self.acc {
                    None => true,
                    Some(b) => {
                        let name = if self.func == AggFunc::Min { "min" } else { "max" };
                        let ord = ops::compare(v, b, BinOp::Lt).or_else(|e| fail(format!("{name}: {e}")))?;
                        (self.func == AggFunc::Min && ord == Ordering::Less)
                            || (self.func == AggFunc::Max && ord == Ordering::Greater)
                    }
                };
                if better {
                    self.acc = Some(v.clone());
                }
            }
            AggFunc::Avg => match v {
                Value::Int(i) => self.int_sum += i128::from(*i),
                Value::Dec(d) => {
                    if !self.decimals.get_or_insert_with(ExactSum::default).add_f64(*d) {
                        return fail(format!("avg: {} is not a finite decimal", describe(v)));
                    }
                }
                other => return fail(format!("avg: expected a number, found {}", describe(other))),
            },
        }
        Ok(())
    }

    /// The result; `zero` is the sum of no values (of the aggregated values' static type).
    fn finish(self, zero: Value) -> R<Value> {
        match self.func {
            AggFunc::Count => Ok(Value::Int(i64::try_from(self.n).unwrap_or(i64::MAX))),
            AggFunc::Sum => Ok(self.acc.unwrap_or(zero)),
            AggFunc::Min | AggFunc::Max => match self.acc {
                Some(v) => Ok(v),
                None => fail(format!("{} of an empty list", if self.func == AggFunc::Min { "min" } else { "max" })),
            },
            AggFunc::Avg => {
                if self.n == 0 {
                    return fail("avg of an empty list");
                }
                let mean = match self.decimals {
                    Some(mut exact) => {
                        exact.add_i128(self.int_sum);
                        exact.mean(self.n)
                    }
                    None => ops::div_rounded(self.int_sum, self.n),
                };
                if mean.is_finite() {
                    Ok(Value::Dec(mean))
                } else {
                    fail("avg: decimal overflow")
                }
            }
        }
    }
}

/// The sum of no values of static type `ty` (language.md §3: "sum of empty is 0"), so that
/// it compares with the values that could have been there: `0s` for durations, `0.0` for
/// decimals, else `0`.
fn zero_of(ty: &Type) -> Value {
    match ty {
        Type::Duration => Value::Duration(0),
        Type::Decimal => Value::Dec(0.0),
        _ => Value::Int(0),
    }
}
