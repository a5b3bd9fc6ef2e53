//! The evaluator: walks lowered expressions over one tenant's tables.
//!
//! An [`Env`] holds the bound entity of every kind (the subject, its ancestors, filter
//! elements, aggregate ranges) and a stack of locals. Evaluation returns
//! `Result<Value, EvalError>`; an error is never a pass. A *missing* error (an absent field
//! without default) is the one kind `??` and `has` may catch.

use super::ops::{self, describe, json_string};
use crate::ast::BinOp;
use crate::hir::{AggFunc, AggMode, Binder, Expr, ExprKind, Func, Quant};
use crate::ir::Program;
use crate::model::{KindId, Model, MAX_KINDS};
use crate::snapshot::Tenant;
use crate::value::{Value, TICKS_PER_DAY};
use std::cmp::Ordering;

#[derive(Debug, Clone, PartialEq)]
pub struct EvalError {
    /// An absent field without a default: `??` falls back, `has` is false.
    pub missing: bool,
    pub reason: String,
}

pub type R<T> = Result<T, EvalError>;

fn fail<T>(reason: impl Into<String>) -> R<T> {
    Err(EvalError { missing: false, reason: reason.into() })
}

/// The elements of a list value, without copying them out.
pub enum Elems {
    List(std::sync::Arc<[Value]>),
    Range(KindId, u32, u32),
}

impl Elems {
    pub fn len(&self) -> usize {
        match self {
            Elems::List(l) => l.len(),
            Elems::Range(_, _, n) => *n as usize,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn get(&self, i: usize) -> Value {
        match self {
            Elems::List(l) => l.get(i).cloned().unwrap_or(Value::Null),
            Elems::Range(k, s, _) => Value::Entity(*k, s + i as u32),
        }
    }
}

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
            self.bound[k as usize] = r;
            match self.model.kind(k).parent {
                Some(p) => {
                    r = self.tenant.table(k).parent.get(r as usize).copied().unwrap_or(0);
                    k = p;
                }
                None => break,
            }
        }
    }

    fn set_local(&mut self, slot: u32, v: Value) {
        let i = self.local_base + slot as usize;
        if i >= self.locals.len() {
            self.locals.resize(i + 1, Value::Null);
        }
        self.locals[i] = v;
    }

    pub fn eval_bool(&mut self, e: &Expr) -> R<bool> {
        match self.eval(e)? {
            Value::Bool(b) => Ok(b),
            other => fail(format!("expected a boolean, found {}", describe(&other))),
        }
    }

    pub fn eval(&mut self, e: &Expr) -> R<Value> {
        match &e.kind {
            ExprKind::Lit(v) => Ok(v.clone()),
            ExprKind::Param(_) => fail("internal: unlowered parameter"),
            ExprKind::Now => Ok(Value::Date(self.now)),
            ExprKind::Kind(k) => Ok(Value::Entity(*k, self.bound[*k as usize])),
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
                self.read_field(*kind, row, *field)
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
                    Value::Null => Err(EvalError {
                        missing: true,
                        reason: format!(
                            "missing field {}[{}]",
                            self.model.kind_name(*kind),
                            json_string(&path.join("."))
                        ),
                    }),
                    v => Ok(v.clone()),
                }
            }
            ExprKind::Index(base, index) => {
                let b = self.eval(base)?;
                let i = self.eval(index)?;
                self.index(b, i, base)
            }
            ExprKind::Project { list, slot, deref, body } => {
                let l = self.eval(list)?;
                let items = self.elems(l, list)?;
                let mut out = Vec::with_capacity(items.len());
                for i in 0..items.len() {
                    let item = items.get(i);
                    let item = match deref {
                        Some(k) => self.deref(*k, item, list, Some(i))?,
                        None => item,
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
            ExprKind::Call(func, args) => self.call(*func, args),
            ExprKind::Agg { func, mode, arg } => self.aggregate(*func, *mode, arg),
            ExprKind::Filter { list, binder, pred } => {
                let l = self.eval(list)?;
                let items = self.elems(l, list)?;
                let mut out = Vec::new();
                for i in 0..items.len() {
                    let item = items.get(i);
                    let saved = self.bound;
                    let keep = self.with_element(*binder, item.clone(), list, i, |env| env.eval_bool(pred));
                    self.bound = saved;
                    if keep? {
                        out.push(item);
                    }
                }
                Ok(Value::List(out.into()))
            }
            ExprKind::Quant { q, list, binder, pred } => {
                let l = self.eval(list)?;
                let items = self.elems(l, list)?;
                for i in 0..items.len() {
                    let item = items.get(i);
                    let saved = self.bound;
                    let r = self.with_element(*binder, item, list, i, |env| env.eval_bool(pred));
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

    /// Whether a path is present in the snapshot and not null (`has`): a model default
    /// does not make a field present, and a value of the wrong type is present. A stored
    /// field whose entity cannot be reached (missing or dangling reference) is absent.
    fn present(&mut self, path: &Expr) -> R<bool> {
        if let ExprKind::Field { base, kind, field } = &path.kind {
            let Ok(row) = self.entity(base, *kind) else { return Ok(false) };
            if self.tenant.table(*kind).malformed.get(row as usize).copied().unwrap_or(false) {
                return Ok(false);
            }
            return Ok(!matches!(self.tenant.field(*kind, row, *field), Value::Null));
        }
        match self.eval(path) {
            Ok(Value::Null) => Ok(false),
            Ok(_) => Ok(true),
            Err(e) if e.missing => Ok(false),
            Err(e) => Err(e),
        }
    }

    pub fn with_element<T>(
        &mut self,
        binder: Binder,
        item: Value,
        list: &Expr,
        i: usize,
        f: impl FnOnce(&mut Self) -> R<T>,
    ) -> R<T> {
        match binder {
            Binder::Kind { kind, deref } => {
                let item = if deref { self.deref(kind, item, list, Some(i))? } else { item };
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
                    None => item,
                };
                self.set_local(slot, item);
                f(self)
            }
        }
    }

    /// The entity row `base` evaluates to (following a reference).
    fn entity(&mut self, base: &Expr, kind: KindId) -> R<u32> {
        if let ExprKind::Kind(k) = base.kind {
            return Ok(self.bound[k as usize]);
        }
        match self.eval(base)? {
            Value::Entity(_, row) => Ok(row),
            v @ Value::Str(_) => match self.deref(kind, v, base, None)? {
                Value::Entity(_, row) => Ok(row),
                _ => fail("internal: reference did not resolve to an entity"),
            },
            other => fail(format!("expected a `{}`, found {}", self.model.kind_name(kind), describe(&other))),
        }
    }

    /// Follows a reference: the key `v` of an entity of `kind`.
    fn deref(&mut self, kind: KindId, v: Value, from: &Expr, index: Option<usize>) -> R<Value> {
        match v {
            Value::Str(key) => match self.tenant.lookup(self.model, kind, &key) {
                Some(row) => Ok(Value::Entity(kind, row)),
                None => {
                    let at = match index {
                        Some(i) => format!("{}[{i}]", self.describe_path(from)),
                        None => self.describe_path(from),
                    };
                    fail(format!("dangling reference {at} = {}", json_string(&key)))
                }
            },
            e @ Value::Entity(..) => Ok(e),
            other => fail(format!(
                "a reference to `{}` must be a string key, found {}",
                self.model.kind_name(kind),
                describe(&other)
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

    fn read_field(&mut self, kind: KindId, row: u32, field: u16) -> R<Value> {
        let t = self.tenant.table(kind);
        if t.malformed.get(row as usize).copied().unwrap_or(false) {
            return fail(self.malformed(kind, row));
        }
        match self.tenant.field(kind, row, field) {
            Value::Null => {
                let f = self.model.field(kind, field);
                match &f.default {
                    Some(d) => Ok(d.clone()),
                    None => Err(EvalError {
                        missing: true,
                        reason: format!("missing field {}.{}", self.model.kind_name(kind), f.name),
                    }),
                }
            }
            Value::Bad(reason) => fail(reason.to_string()),
            v => Ok(v.clone()),
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

    /// The elements of a list value (entities of a collection become entity values).
    pub fn elems(&self, v: Value, from: &Expr) -> R<Elems> {
        match v {
            Value::List(items) => Ok(Elems::List(items)),
            Value::Entities(k, s, n) => Ok(Elems::Range(k, s, n)),
            Value::Null => fail(format!("{} is null, expected a list", self.describe_path(from))),
            other => fail(format!("expected a list, found {}", describe(&other))),
        }
    }

    fn elements(&self, v: &Value, from: &Expr) -> R<Vec<Value>> {
        let e = self.elems(v.clone(), from)?;
        Ok((0..e.len()).map(|i| e.get(i)).collect())
    }

    fn index(&mut self, b: Value, i: Value, base: &Expr) -> R<Value> {
        match (&b, &i) {
            (Value::List(_) | Value::Entities(..), Value::Int(n)) => {
                let items = self.elements(&b, base)?;
                let idx = if *n < 0 { items.len() as i64 + n } else { *n };
                match usize::try_from(idx).ok().and_then(|ix| items.get(ix)) {
                    Some(v) => Ok(v.clone()),
                    None => fail(format!("index {n} is out of range for a list of {}", items.len())),
                }
            }
            (Value::Object(fields), Value::Str(k)) => match fields.iter().find(|(name, _)| name == k) {
                Some((_, Value::Null)) | None => {
                    Err(EvalError { missing: true, reason: format!("missing key {}", json_string(k)) })
                }
                Some((_, v)) => Ok(v.clone()),
            },
            (Value::Null, _) => {
                Err(EvalError { missing: true, reason: format!("{} is missing", self.describe_path(base)) })
            }
            _ => fail(format!("cannot index {} with {}", describe(&b), describe(&i))),
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
                let (x, y) = (self.eval(a)?, self.eval(b)?);
                let eq = self.equals(&x, &y)?;
                Ok(Value::Bool(eq == (op == BinOp::Eq)))
            }
            BinOp::In | BinOp::NotIn => {
                let x = self.eval(a)?;
                let l = self.eval(b)?;
                let items = self.elems(l, b)?;
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
                let (x, y) = (self.eval(a)?, self.eval(b)?);
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
            _ => fail(format!("cannot compare {} with {}", describe(x), describe(y))),
        }
    }

    fn call(&mut self, func: Func, args: &[Expr]) -> R<Value> {
        let mut vals = Vec::with_capacity(args.len());
        for a in args {
            vals.push(self.eval(a)?);
        }
        let s = |v: &Value| -> R<std::sync::Arc<str>> {
            match v {
                Value::Str(s) => Ok(s.clone()),
                other => fail(format!("expected a string, found {}", describe(other))),
            }
        };
        let first = vals.first().cloned().unwrap_or(Value::Null);
        let second = vals.get(1).cloned().unwrap_or(Value::Null);
        Ok(match func {
            Func::Len => match &first {
                Value::Str(st) => Value::Int(st.chars().count() as i64),
                Value::List(l) => Value::Int(l.len() as i64),
                Value::Entities(_, _, n) => Value::Int(i64::from(*n)),
                other => return fail(format!("`len` takes a string or a list, found {}", describe(other))),
            },
            Func::Lower => Value::str(&s(&first)?.to_lowercase()),
            Func::Upper => Value::str(&s(&first)?.to_uppercase()),
            Func::StartsWith => Value::Bool(s(&first)?.starts_with(&*s(&second)?)),
            Func::EndsWith => Value::Bool(s(&first)?.ends_with(&*s(&second)?)),
            Func::Contains => match &first {
                Value::Str(st) => Value::Bool(st.contains(&*s(&second)?)),
                Value::List(_) | Value::Entities(..) => {
                    let items = self.elements(&first, &args[0])?;
                    let mut found = false;
                    for i in &items {
                        if self.equals(i, &second)? {
                            found = true;
                            break;
                        }
                    }
                    Value::Bool(found)
                }
                other => return fail(format!("`contains` takes a string or a list, found {}", describe(other))),
            },
            Func::Age => match first {
                Value::Date(d) => Value::Duration(
                    self.now
                        .checked_sub(d)
                        .ok_or_else(|| EvalError { missing: false, reason: "duration out of range in `age`".into() })?,
                ),
                other => return fail(format!("`age` takes a date, found {}", describe(&other))),
            },
            Func::Days => match first {
                Value::Duration(d) => Value::Dec(d as f64 / TICKS_PER_DAY as f64),
                other => return fail(format!("`days` takes a duration, found {}", describe(&other))),
            },
            Func::Abs => match first {
                Value::Int(i) => Value::Int(
                    i.checked_abs()
                        .ok_or_else(|| EvalError { missing: false, reason: "integer overflow in `abs`".into() })?,
                ),
                Value::Dec(d) => Value::Dec(d.abs()),
                Value::Duration(d) => Value::Duration(
                    d.checked_abs()
                        .ok_or_else(|| EvalError { missing: false, reason: "duration overflow in `abs`".into() })?,
                ),
                other => return fail(format!("`abs` takes a number, found {}", describe(&other))),
            },
        })
    }

    fn aggregate(&mut self, func: AggFunc, mode: AggMode, arg: &Expr) -> R<Value> {
        let values: Vec<Value> = match mode {
            AggMode::List => {
                let l = self.eval(arg)?;
                if func == AggFunc::Count {
                    if let Value::Entities(_, _, n) = l {
                        return Ok(Value::Int(i64::from(n)));
                    }
                }
                self.elements(&l, arg)?
            }
            AggMode::Range { deepest: None, .. } => vec![self.eval(arg)?],
            AggMode::Range { deepest: Some(d), under, .. } => {
                let saved = self.bound;
                let mut out = Vec::new();
                let r = self.range(d, under, &mut |env| {
                    out.push(env.eval(arg)?);
                    Ok(())
                });
                self.bound = saved;
                r?;
                out
            }
        };
        fold_aggregate(func, &values)
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
        let start_row = self.bound[under as usize];
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
            self.bound[k as usize] = row;
            self.range_level(rest, k, row, f)?;
        }
        Ok(())
    }
}

/// count/sum/min/max/avg over collected values (language.md §9.11: overflow is checked at
/// every step; `avg` is exact and yields a decimal).
pub fn fold_aggregate(func: AggFunc, values: &[Value]) -> R<Value> {
    match func {
        AggFunc::Count => Ok(Value::Int(values.len() as i64)),
        AggFunc::Sum => {
            let mut acc = Value::Int(0);
            for v in values {
                if matches!(v, Value::Null) {
                    return fail("sum over a null value");
                }
                acc = match (&acc, v) {
                    (Value::Int(0), Value::Duration(_)) => v.clone(),
                    _ => ops::arith(BinOp::Add, &acc, v).or_else(|e| fail(format!("sum: {e}")))?,
                };
            }
            Ok(acc)
        }
        AggFunc::Min | AggFunc::Max => {
            let name = if func == AggFunc::Min { "min" } else { "max" };
            let mut best: Option<&Value> = None;
            for v in values {
                best = Some(match best {
                    None => v,
                    Some(b) => {
                        let ord = ops::compare(v, b, BinOp::Lt).or_else(|e| fail(format!("{name}: {e}")))?;
                        if (func == AggFunc::Min && ord == Ordering::Less)
                            || (func == AggFunc::Max && ord == Ordering::Greater)
                        {
                            v
                        } else {
                            b
                        }
                    }
                });
            }
            match best {
                Some(v) => Ok(v.clone()),
                None => fail(format!("{name} of an empty list")),
            }
        }
        AggFunc::Avg => {
            if values.is_empty() {
                return fail("avg of an empty list");
            }
            let mut int_sum: i128 = 0;
            let mut dec_sum = 0.0f64;
            let mut any_dec = false;
            for v in values {
                match v {
                    Value::Int(i) => int_sum += i128::from(*i),
                    Value::Dec(d) => {
                        dec_sum += d;
                        any_dec = true;
                    }
                    other => return fail(format!("avg: expected a number, found {}", describe(other))),
                }
            }
            let n = values.len() as f64;
            let r = if any_dec { (int_sum as f64 + dec_sum) / n } else { int_sum as f64 / n };
            Ok(Value::Dec(r))
        }
    }
}
