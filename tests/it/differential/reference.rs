//! A reference evaluator of the tenet language, written from the contract (language.md and
//! tenant-model.md), not from `src/eval`: a tree-walking interpreter over the generated AST
//! and the tenant as `serde_json::Value`. Slow and simple on purpose.

use super::gen::{chain, collection, field, parent, Bin, Expr, FTy, Known, Policy, Quant, KINDS};
use serde_json::Value as Json;
use std::cmp::Ordering;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Status {
    Pass,
    Fail,
    Error,
    Skip,
}

/// One entity of the tenant: its kind, its JSON, its path and its parent entity.
pub struct Ent {
    pub kind: &'static str,
    pub json: Json,
    pub path: String,
    pub parent: Option<usize>,
}

/// Every entity of a tenant, in document order, depth first (language.md §9.8).
pub struct World {
    pub ents: Vec<Ent>,
    /// The evaluation instant, in microseconds.
    pub now: i64,
    pub known: Known,
}

#[derive(Clone, Debug)]
pub enum V {
    Bool(bool),
    Int(i64),
    Dec(f64),
    Str(String),
    /// Microseconds since 1970-01-01T00:00:00Z.
    Date(i64),
    /// Microseconds.
    Dur(i64),
    List(Vec<V>),
    /// An entity (index into `World::ents`).
    Ent(usize),
    /// A reference to an entity of a kind, by key, not yet followed.
    Ref(&'static str, String),
    /// A raw JSON object read with `x["key"]`.
    Obj(serde_json::Map<String, Json>),
}

/// Why a value could not be computed. `Known` marks an evaluation whose outcome depends
/// on a known engine defect that is switched off in the comparison.
#[derive(Debug)]
pub enum E {
    Error(#[allow(dead_code, reason = "read when debugging a disagreement")] String),
    Known(&'static str),
}

type R<T> = Result<T, E>;

fn err<T>(m: impl Into<String>) -> R<T> {
    Err(E::Error(m.into()))
}

// ---------------------------------------------------------------------------------------
// Dates and durations (tenant-model.md §2, language.md §3, §9.4).

fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    // Count days from 0001-01-01 the plain way: whole years, then months.
    let leap = |y: i64| (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    let mut days = 0;
    for year in 1..y {
        days += if leap(year) { 366 } else { 365 };
    }
    for month in 1..m {
        days += days_in_month(y, month);
    }
    days += d - 1;
    // Days from 0001-01-01 to 1970-01-01.
    days - 719_162
}

fn days_in_month(y: i64, m: i64) -> i64 {
    let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => 0,
    }
}

/// Microseconds in a second: dates and durations are kept in microseconds, the finest
/// precision the engine keeps (README: "digits below a microsecond are dropped").
pub const US: i64 = 1_000_000;

/// An RFC 3339 date (`YYYY-MM-DD`, midnight UTC) or date-time (`YYYY-MM-DDTHH:MM:SS`, an
/// optional fraction, then `Z` or `±HH:MM`; `T`/`Z` in either case, or a space for `T`),
/// in microseconds since 1970-01-01T00:00:00Z. A leap second (`:60`) counts as `:59`.
pub fn parse_date(s: &str) -> Option<i64> {
    let digits = |t: &str| -> Option<i64> {
        if !t.is_empty() && t.bytes().all(|c| c.is_ascii_digit()) {
            t.parse().ok()
        } else {
            None
        }
    };
    let (date, time) = match s.char_indices().nth(10) {
        Some((i, 'T' | 't' | ' ')) => (&s[..i], Some(&s[i + 1..])),
        Some(_) => return None,
        None => (s, None),
    };
    let parts: Vec<&str> = date.split('-').collect();
    if parts.len() != 3 || parts[0].len() != 4 || parts[1].len() != 2 || parts[2].len() != 2 {
        return None;
    }
    let (y, m, d) = (digits(parts[0])?, digits(parts[1])?, digits(parts[2])?);
    if y < 1 || !(1..=12).contains(&m) || d < 1 || d > days_in_month(y, m) {
        return None;
    }
    let mut us = days_from_civil(y, m, d) * 86_400 * US;
    if let Some(t) = time {
        let (clock, offset) = if let Some(c) = t.strip_suffix(['Z', 'z']) {
            (c, 0)
        } else if t.len() > 6 {
            let (c, o) = t.split_at(t.len() - 6);
            let sign = match &o[..1] {
                "+" => 1,
                "-" => -1,
                _ => return None,
            };
            let (oh, om) = o[1..].split_once(':')?;
            let (oh, om) = (digits(oh)?, digits(om)?);
            if oh > 23 || om > 59 {
                return None;
            }
            (c, sign * (oh * 3600 + om * 60))
        } else {
            return None;
        };
        let (clock, fraction) = match clock.split_once('.') {
            Some((c, f)) => (c, Some(f)),
            None => (clock, None),
        };
        let hms: Vec<&str> = clock.split(':').collect();
        if hms.len() != 3 || hms.iter().any(|p| p.len() != 2) {
            return None;
        }
        let (h, mi, se) = (digits(hms[0])?, digits(hms[1])?, digits(hms[2])?);
        if h > 23 || mi > 59 || se > 60 {
            return None;
        }
        let micros = match fraction {
            Some(f) => {
                digits(f)?;
                let six: String = f.chars().chain(std::iter::repeat('0')).take(6).collect();
                digits(&six)?
            }
            None => 0,
        };
        us += (h * 3600 + mi * 60 + se.min(59) - offset) * US + micros;
    }
    Some(us)
}

/// A duration unit in microseconds.
fn unit_us(u: char) -> i64 {
    US * match u {
        's' => 1,
        'm' => 60,
        'h' => 3600,
        'd' => 86_400,
        'w' => 7 * 86_400,
        'y' => 365 * 86_400,
        _ => 0,
    }
}

/// A duration in data: `"12h"`-style (a signed integer and one unit) or integer seconds.
fn parse_duration(j: &Json) -> Option<i64> {
    if let Some(i) = j.as_i64() {
        return i.checked_mul(US);
    }
    let s = j.as_str()?;
    let u = s.chars().last()?;
    if unit_us(u) == 0 {
        return None;
    }
    let n: i64 = s[..s.len() - 1].parse().ok()?;
    n.checked_mul(unit_us(u))
}

// ---------------------------------------------------------------------------------------
// The tenant.

impl World {
    pub fn new(root: &Json, now: i64, known: Known) -> World {
        let mut w = World { ents: Vec::new(), now, known };
        w.ents.push(Ent { kind: "tenant", json: root.clone(), path: String::new(), parent: None });
        w.add_children(0);
        w
    }

    fn add_children(&mut self, at: usize) {
        let kind = self.ents[at].kind;
        for child in KINDS.iter().copied().filter(|k| parent(k) == Some(kind)) {
            let coll = collection(child);
            let items = match self.ents[at].json.get(coll) {
                Some(Json::Array(items)) => items.clone(),
                _ => Vec::new(),
            };
            for (i, item) in items.into_iter().enumerate() {
                let path = if self.ents[at].path.is_empty() {
                    format!("{coll}[{i}]")
                } else {
                    format!("{}.{coll}[{i}]", self.ents[at].path)
                };
                self.ents.push(Ent { kind: child, json: item, path, parent: Some(at) });
                let me = self.ents.len() - 1;
                self.add_children(me);
            }
        }
    }

    /// The entities of a kind, in document order, depth first.
    pub fn of_kind(&self, kind: &str) -> Vec<usize> {
        // `ents` was filled depth first in document order (each entity, then its children),
        // so the entities of one kind are in document order already.
        (0..self.ents.len()).filter(|i| self.ents[*i].kind == kind).collect()
    }

    fn ancestor(&self, mut e: usize, kind: &str) -> Option<usize> {
        loop {
            if self.ents[e].kind == kind {
                return Some(e);
            }
            e = self.ents[e].parent?;
        }
    }

    fn children(&self, e: usize, kind: &str) -> Vec<usize> {
        (0..self.ents.len()).filter(|i| self.ents[*i].parent == Some(e) && self.ents[*i].kind == kind).collect()
    }

    /// Follows a reference by key (the first entity of the kind whose key equals it).
    fn deref(&self, kind: &'static str, key: &str) -> R<usize> {
        for i in self.of_kind(kind) {
            if self.ents[i].json.get("id").and_then(Json::as_str) == Some(key) {
                return Ok(i);
            }
        }
        err(format!("dangling reference {key:?}"))
    }

    /// The raw JSON of a model field of an entity: None when absent or null.
    fn raw_field(&self, e: usize, name: &str) -> R<Option<&Json>> {
        let json = &self.ents[e].json;
        if !json.is_object() {
            return err(format!("{} at {} is not an object", self.ents[e].kind, self.ents[e].path));
        }
        let mut cur = json;
        for part in name.split('.') {
            match cur.get(part) {
                Some(v) if !v.is_null() => cur = v,
                _ => return Ok(None),
            }
        }
        Ok(Some(cur))
    }

    /// Reads a model field: its typed value, its default when absent or null, or None
    /// (missing).
    fn read_field(&self, e: usize, name: &'static str) -> R<Option<V>> {
        let kind = self.ents[e].kind;
        let Some(f) = field(kind, name) else { return err(format!("no field {kind}.{name}")) };
        if let FTy::Coll(child) = f.ty {
            // Absent/null collections are empty (the default); not a list: a type error.
            if !self.ents[e].json.is_object() {
                return err("not an object");
            }
            return match self.ents[e].json.get(name) {
                None | Some(Json::Null) | Some(Json::Array(_)) => {
                    Ok(Some(V::List(self.children(e, child).into_iter().map(V::Ent).collect())))
                }
                Some(_) => err(format!("{kind}.{name} is not a list")),
            };
        }
        let raw = match self.raw_field(e, name)? {
            Some(v) => v.clone(),
            None => match &f.default {
                Some(d) => d.clone(),
                None => return Ok(None),
            },
        };
        let bad = || err(format!("{kind}.{name} = {raw} has the wrong type"));
        let v = match &f.ty {
            FTy::Str => match raw.as_str() {
                Some(s) => V::Str(s.into()),
                None => return bad(),
            },
            FTy::Int => match raw.as_i64() {
                Some(i) if raw.is_i64() => V::Int(i),
                _ => return bad(),
            },
            FTy::Bool => match raw.as_bool() {
                Some(v) => V::Bool(v),
                None => return bad(),
            },
            FTy::Date => match raw.as_str().and_then(parse_date) {
                Some(d) => V::Date(d),
                None => return bad(),
            },
            FTy::Dur => match parse_duration(&raw) {
                Some(d) => V::Dur(d),
                None => return bad(),
            },
            FTy::Enum(values) => match raw.as_str() {
                Some(s) if values.contains(&s) => V::Str(s.into()),
                _ => return bad(),
            },
            FTy::ListStr => match raw.as_array() {
                Some(items) => {
                    let mut out = Vec::new();
                    for i in items {
                        match i.as_str() {
                            Some(s) => out.push(V::Str(s.into())),
                            None => return bad(),
                        }
                    }
                    V::List(out)
                }
                None => return bad(),
            },
            FTy::ListRef(k) => match raw.as_array() {
                Some(items) => {
                    let mut out = Vec::new();
                    for i in items {
                        match i.as_str() {
                            Some(s) => out.push(V::Ref(k, s.into())),
                            None if i.is_i64() && self.known.integer_keys => return Err(E::Known("integer_keys")),
                            None => return bad(),
                        }
                    }
                    V::List(out)
                }
                None => return bad(),
            },
            FTy::Ref(k) => match raw.as_str() {
                Some(s) => V::Ref(k, s.into()),
                None if raw.is_i64() && self.known.integer_keys => return Err(E::Known("integer_keys")),
                None => return bad(),
            },
            FTy::Coll(_) => return bad(),
        };
        Ok(Some(v))
    }
}

/// A raw JSON value read with `x["key"]`, as a language value (None: null).
fn from_json(j: &Json) -> R<Option<V>> {
    Ok(Some(match j {
        Json::Null => return Ok(None),
        Json::Bool(b) => V::Bool(*b),
        Json::Number(n) => match n.as_i64() {
            Some(i) => V::Int(i),
            None => match n.as_f64() {
                Some(f) if n.is_f64() => V::Dec(f),
                _ => return err("number out of range"),
            },
        },
        Json::String(s) => V::Str(s.clone()),
        Json::Array(items) => {
            let mut out = Vec::new();
            for i in items {
                match from_json(i)? {
                    Some(v) => out.push(v),
                    None => return err("null in a list"),
                }
            }
            V::List(out)
        }
        Json::Object(m) => V::Obj(m.clone()),
    }))
}

// ---------------------------------------------------------------------------------------
// Values.

/// Exact comparison of an integer with a decimal.
fn cmp_int_dec(i: i64, d: f64) -> Ordering {
    if d >= 9_223_372_036_854_775_808.0 {
        return Ordering::Less;
    }
    if d < -9_223_372_036_854_775_808.0 {
        return Ordering::Greater;
    }
    let t = d.trunc();
    match i.cmp(&(t as i64)) {
        Ordering::Equal => 0.0f64.partial_cmp(&(d - t)).unwrap_or(Ordering::Equal),
        o => o,
    }
}

/// `num / den` (den > 0) rounded once to the nearest double: the exact quotient written in
/// decimal (the integer part, 40 fractional digits, and a final `1` when digits remain, so
/// that a truncated value never looks like an exact tie) and parsed by the standard
/// library, whose parsing is correctly rounded.
fn ratio_to_f64(num: i128, den: i128) -> f64 {
    let sign = if num < 0 { "-" } else { "" };
    let (n, d) = (num.unsigned_abs(), den.unsigned_abs());
    let mut text = format!("{sign}{}.", n / d);
    let mut rem = n % d;
    for _ in 0..40 {
        rem *= 10;
        text.push(char::from(b'0' + (rem / d) as u8));
        rem %= d;
    }
    if rem != 0 {
        text.push('1');
    }
    text.parse().unwrap_or(f64::NAN)
}

struct Cx<'w> {
    w: &'w World,
    policy: &'w Policy,
    /// Variables in scope: (name, value), innermost last.
    vars: Vec<(String, V)>,
}

fn num_cmp(cx: &Cx, a: &V, b: &V) -> R<Ordering> {
    let exact = match (a, b) {
        (V::Int(x), V::Int(y)) => return Ok(x.cmp(y)),
        (V::Dec(x), V::Dec(y)) => return x.partial_cmp(y).ok_or(E::Error("NaN".into())),
        (V::Int(x), V::Dec(y)) => cmp_int_dec(*x, *y),
        (V::Dec(x), V::Int(y)) => cmp_int_dec(*y, *x).reverse(),
        _ => return err("not numbers"),
    };
    if cx.w.known.int_dec_compare {
        // The known defect compares in doubles (and mishandles −2^63): set aside a mixed
        // comparison beyond 2^53, where doubles stop holding every integer.
        let big = |v: &V| match v {
            V::Int(i) => i.unsigned_abs() > 1 << 53,
            V::Dec(d) => d.abs() > 9_007_199_254_740_992.0,
            _ => false,
        };
        if big(a) || big(b) {
            return Err(E::Known("int_dec_compare"));
        }
    }
    Ok(exact)
}

fn compare(cx: &Cx, a: &V, b: &V) -> R<Ordering> {
    match (a, b) {
        (V::Int(_) | V::Dec(_), V::Int(_) | V::Dec(_)) => num_cmp(cx, a, b),
        (V::Str(x), V::Str(y)) => Ok(x.cmp(y)),
        (V::Date(x), V::Date(y)) | (V::Dur(x), V::Dur(y)) => Ok(x.cmp(y)),
        _ => err(format!("cannot order {a:?} and {b:?}")),
    }
}

fn equal(cx: &Cx, a: &V, b: &V) -> R<bool> {
    match (a, b) {
        (V::Bool(x), V::Bool(y)) => Ok(x == y),
        (V::List(x), V::List(y)) => {
            if x.len() != y.len() {
                return Ok(false);
            }
            for (p, q) in x.iter().zip(y) {
                if !equal(cx, p, q)? {
                    return Ok(false);
                }
            }
            Ok(true)
        }
        _ => Ok(compare(cx, a, b)? == Ordering::Equal),
    }
}

fn overflow<T>() -> R<T> {
    err("overflow")
}

fn arith(op: Bin, a: &V, b: &V) -> R<V> {
    use Bin::*;
    match (a, b) {
        (V::Int(x), V::Int(y)) => {
            let r = match op {
                Add => x.checked_add(*y),
                Sub => x.checked_sub(*y),
                Mul => x.checked_mul(*y),
                Div | Rem if *y == 0 => return err("division by zero"),
                Div => x.checked_div(*y),
                Rem => x.checked_rem(*y),
                _ => None,
            };
            r.map(V::Int).ok_or(E::Error("overflow".into()))
        }
        (V::Int(_) | V::Dec(_), V::Int(_) | V::Dec(_)) => {
            let f = |v: &V| match v {
                V::Int(i) => *i as f64,
                V::Dec(d) => *d,
                _ => 0.0,
            };
            let (x, y) = (f(a), f(b));
            let r = match op {
                Add => x + y,
                Sub => x - y,
                Mul => x * y,
                Div | Rem if y == 0.0 => return err("division by zero"),
                Div => x / y,
                Rem => x % y,
                _ => return err("bad op"),
            };
            // A result beyond the largest double is an overflow, as for integers (§3).
            if !r.is_finite() {
                return overflow();
            }
            Ok(V::Dec(r))
        }
        (V::Date(x), V::Date(y)) if op == Sub => x.checked_sub(*y).map(V::Dur).map_or_else(overflow, Ok),
        (V::Date(x), V::Dur(y)) if op == Add => x.checked_add(*y).map(V::Date).map_or_else(overflow, Ok),
        (V::Date(x), V::Dur(y)) if op == Sub => x.checked_sub(*y).map(V::Date).map_or_else(overflow, Ok),
        (V::Dur(x), V::Dur(y)) if op == Add => x.checked_add(*y).map(V::Dur).map_or_else(overflow, Ok),
        (V::Dur(x), V::Dur(y)) if op == Sub => x.checked_sub(*y).map(V::Dur).map_or_else(overflow, Ok),
        _ => err(format!("cannot apply {op:?} to {a:?} and {b:?}")),
    }
}

fn truthy(v: V) -> R<bool> {
    match v {
        V::Bool(b) => Ok(b),
        other => err(format!("not a boolean: {other:?}")),
    }
}

fn string(v: V) -> R<String> {
    match v {
        V::Str(s) => Ok(s),
        other => err(format!("not a string: {other:?}")),
    }
}

fn list(v: V) -> R<Vec<V>> {
    match v {
        V::List(xs) => Ok(xs),
        other => err(format!("not a list: {other:?}")),
    }
}

/// sum/min/max/avg/count of collected values.
fn aggregate(cx: &Cx, agg: &str, xs: Vec<V>, durations: bool) -> R<V> {
    match agg {
        "count" => Ok(V::Int(xs.len() as i64)),
        "sum" => {
            if xs.is_empty() {
                if durations && cx.w.known.sum_empty_durations {
                    return Err(E::Known("sum_empty_durations"));
                }
                return Ok(if durations { V::Dur(0) } else { V::Int(0) });
            }
            let mut acc = xs[0].clone();
            if !matches!(acc, V::Int(_) | V::Dec(_) | V::Dur(_)) {
                return err("sum of non-numbers");
            }
            for x in &xs[1..] {
                acc = arith(Bin::Add, &acc, x)?;
            }
            Ok(acc)
        }
        "min" | "max" => {
            if xs.is_empty() {
                return err(format!("{agg} of an empty list"));
            }
            let mut best = xs[0].clone();
            for x in &xs[1..] {
                let o = compare(cx, x, &best)?;
                if (agg == "min" && o == Ordering::Less) || (agg == "max" && o == Ordering::Greater) {
                    best = x.clone();
                }
            }
            compare(cx, &best, &best)?;
            Ok(best)
        }
        "avg" => {
            if xs.is_empty() {
                return err("avg of an empty list");
            }
            let mut ints = true;
            let mut total: i128 = 0;
            let mut ftotal = 0.0;
            for x in &xs {
                match x {
                    V::Int(i) => {
                        total += *i as i128;
                        ftotal += *i as f64;
                    }
                    V::Dec(d) => {
                        ints = false;
                        ftotal += d;
                    }
                    _ => return err("avg of non-numbers"),
                }
            }
            if ints {
                // Exact: the sum cannot overflow in i128, and the one rounding is the division.
                if cx.w.known.int_dec_compare && total.unsigned_abs() > (1u128 << 53) {
                    return Err(E::Known("int_dec_compare"));
                }
                Ok(V::Dec(ratio_to_f64(total, xs.len() as i128)))
            } else {
                Ok(V::Dec(ftotal / xs.len() as f64))
            }
        }
        _ => err("unknown aggregate"),
    }
}

impl Cx<'_> {
    fn bind_params(&mut self) {
        for (name, value) in &self.policy.params {
            let v = self.eval(value).unwrap_or(V::Bool(false));
            self.vars.push((name.to_string(), v));
        }
    }

    fn lookup(&self, name: &str) -> R<V> {
        match self.vars.iter().rev().find(|(n, _)| n == name) {
            Some((_, v)) => Ok(v.clone()),
            None => err(format!("unbound {name}")),
        }
    }

    /// Binds a filter's or quantifier's element; named by its kind (not `as NAME`), the
    /// element binds its ancestors' kinds to its parents too (README, "A filter element binds
    /// its ancestors too"). Returns how many variables were pushed.
    fn bind_element(&mut self, elem: &str, by_kind: bool, item: &V) -> usize {
        let mut n = 0;
        if let (true, V::Ent(i)) = (by_kind, item) {
            for k in chain(self.w.ents[*i].kind).into_iter().skip(1).rev() {
                if let Some(at) = self.w.ancestor(*i, k) {
                    self.vars.push((k.to_string(), V::Ent(at)));
                    n += 1;
                }
            }
        }
        self.vars.push((elem.to_string(), item.clone()));
        n + 1
    }

    /// An element of an entity list: follows references (a dangling one is an error).
    fn element(&self, v: V) -> R<V> {
        match v {
            V::Ref(k, key) => Ok(V::Ent(self.w.deref(k, &key)?)),
            other => Ok(other),
        }
    }

    /// Reads a path; None when the value is missing (absent or null, no default).
    fn read(&mut self, e: &Expr) -> R<Option<V>> {
        match e {
            Expr::Var(n) => self.lookup(n).map(Some),
            Expr::Root(f) => self.w.read_field(0, f),
            Expr::Field(base, f) => {
                let Some(b) = self.read(base)? else { return Ok(None) };
                let ent = match self.element(b)? {
                    V::Ent(i) => i,
                    other => return err(format!("field of a non-entity {other:?}")),
                };
                let kind = self.w.ents[ent].kind;
                if let Some(l) = self.policy.lets.iter().find(|l| l.kind == kind && l.name == *f) {
                    // A derived field: its body, for this entity (and its ancestors).
                    let mut inner = Cx { w: self.w, policy: self.policy, vars: Vec::new() };
                    inner.bind_params();
                    inner.bind_element(kind, true, &V::Ent(ent));
                    return inner.eval(&l.body).map(Some);
                }
                self.w.read_field(ent, f)
            }
            Expr::Key(base, k) => {
                let Some(b) = self.read(base)? else { return Ok(None) };
                match self.element(b)? {
                    V::Ent(i) => match self.w.ents[i].json.as_object() {
                        Some(m) => m.get(*k).map_or(Ok(None), from_json),
                        None => err("not an object"),
                    },
                    V::Obj(m) => m.get(*k).map_or(Ok(None), from_json),
                    _ => err(format!("[\"{k}\"] of a value that is not an object")),
                }
            }
            Expr::Index(base, i) => {
                // A position past the end is an error (absent only for `has`/`== null`, which
                // never error); the contract does not say, this is the engine's choice.
                let Some(b) = self.read(base)? else { return Ok(None) };
                match b {
                    V::List(xs) => match xs.get(*i) {
                        Some(v) => Ok(Some(v.clone())),
                        None => err(format!("index {i} out of range")),
                    },
                    other => err(format!("[{i}] of a value that is not a list: {other:?}")),
                }
            }
            other => self.eval(other).map(Some),
        }
    }

    /// `has(PATH)`: the value is present and not null. It never errors (§9.10: `x == null`
    /// is exactly `not has(x)` and never errors): a field of a malformed element, or behind
    /// a missing, dangling or mistyped reference, is absent (as the README's decisions say).
    /// A model default does not make a field present. Where a known defect (#9, #10) makes
    /// the engine answer otherwise, the pair is set aside.
    fn has(&mut self, p: &Expr) -> R<bool> {
        let (base, last) = match p {
            Expr::Root(f) => return self.has_field(0, f),
            Expr::Field(base, f) => (base, Ok(*f)),
            Expr::Key(base, k) => (base, Err(*k)),
            _ => return Ok(self.read(p).ok().flatten().is_some()),
        };
        let b = match self.read(base) {
            Ok(Some(b)) => b,
            Ok(None) | Err(E::Error(_)) => return Ok(false),
            Err(known) => return Err(known),
        };
        let b = match self.element(b) {
            Ok(b) => b,
            Err(_) => return Ok(false),
        };
        match (b, last) {
            (V::Ent(i), Ok(f)) => self.has_field(i, f),
            (V::Ent(i), Err(k)) => match self.w.ents[i].json.as_object() {
                Some(m) => Ok(!matches!(m.get(k), None | Some(Json::Null))),
                None if self.w.known.key_of_non_object => Err(E::Known("key_of_non_object")),
                None => Ok(false),
            },
            (V::Obj(m), Err(k)) => Ok(!matches!(m.get(k), None | Some(Json::Null))),
            (_, Err(_)) if self.w.known.key_of_non_object => Err(E::Known("key_of_non_object")),
            _ => Ok(false),
        }
    }

    /// Whether a model field of an entity is present in the data and not null.
    fn has_field(&self, i: usize, f: &str) -> R<bool> {
        let json = &self.w.ents[i].json;
        if !json.is_object() {
            return Ok(false);
        }
        let present = self.w.raw_field(i, f)?.is_some();
        let is_collection = matches!(field(self.w.ents[i].kind, f).map(|d| d.ty), Some(FTy::Coll(_)));
        if is_collection && !present && self.w.known.absent_collections {
            return Err(E::Known("absent_collections"));
        }
        Ok(present)
    }

    fn eval(&mut self, e: &Expr) -> R<V> {
        match e {
            Expr::Bool(v) => Ok(V::Bool(*v)),
            Expr::Int(v) => Ok(V::Int(*v)),
            Expr::Dec(_, v) => Ok(V::Dec(*v)),
            Expr::Str(s) => Ok(V::Str(s.clone())),
            Expr::Date(t) => parse_date(t).map(V::Date).ok_or(E::Error("bad date literal".into())),
            Expr::Dur(n, u) => Ok(V::Dur(n * unit_us(*u))),
            Expr::Now => Ok(V::Date(self.w.now)),
            Expr::List(xs) => {
                let mut out = Vec::new();
                for x in xs {
                    out.push(self.eval(x)?);
                }
                Ok(V::List(out))
            }
            Expr::Var(_) | Expr::Root(_) | Expr::Field(..) | Expr::Key(..) | Expr::Index(..) => match self.read(e)? {
                Some(v) => Ok(v),
                None => err(format!("missing {}", super::gen::print(e))),
            },
            Expr::Project(base, f) => {
                let items = list(self.eval(base)?)?;
                let mut out = Vec::new();
                for item in items {
                    let V::Ent(i) = self.element(item)? else { return err("projection of non-entities") };
                    match self.w.read_field(i, f)? {
                        Some(v) => out.push(v),
                        None => return err(format!("missing field {f}")),
                    }
                }
                Ok(V::List(out))
            }
            Expr::Not(x) => Ok(V::Bool(!truthy(self.eval(x)?)?)),
            Expr::Neg(x) => match self.eval(x)? {
                V::Int(i) => i.checked_neg().map(V::Int).map_or_else(overflow, Ok),
                V::Dec(d) => Ok(V::Dec(-d)),
                other => err(format!("cannot negate {other:?}")),
            },
            Expr::Bin(op, l, r) => self.binary(*op, l, r),
            Expr::Has(p) => Ok(V::Bool(self.has(p)?)),
            Expr::IsNull(p, negated) => Ok(V::Bool(self.has(p)? == *negated)),
            Expr::Coalesce(l, r) => match self.read(l)? {
                Some(v) => Ok(v),
                None => self.eval(r),
            },
            Expr::Call(f, args) => self.call(f, args),
            Expr::Filter { list: l, elem, binder, pred } => {
                let items = list(self.eval(l)?)?;
                let mut out = Vec::new();
                let mut first_err = None;
                // Filters read every element (§9.1).
                for item in items {
                    let item = match self.element(item) {
                        Ok(v) => v,
                        Err(e) => {
                            first_err.get_or_insert(e);
                            continue;
                        }
                    };
                    let n = self.bind_element(elem, !*binder, &item);
                    let keep = self.eval(pred).and_then(truthy);
                    self.vars.truncate(self.vars.len() - n);
                    match keep {
                        Ok(true) => out.push(item),
                        Ok(false) => {}
                        Err(e) => {
                            first_err.get_or_insert(e);
                        }
                    }
                }
                match first_err {
                    Some(e) => Err(e),
                    None => Ok(V::List(out)),
                }
            }
            Expr::Quant { q, list: l, elem, pred } => {
                let items = list(self.eval(l)?)?;
                // In order; stop at the deciding element; an error before it is the result.
                for item in items {
                    let item = self.element(item)?;
                    let n = self.bind_element(elem, true, &item);
                    let v = self.eval(pred).and_then(truthy);
                    self.vars.truncate(self.vars.len() - n);
                    match (q, v?) {
                        (Quant::Any, true) => return Ok(V::Bool(true)),
                        (Quant::All, false) => return Ok(V::Bool(false)),
                        (Quant::None, true) => return Ok(V::Bool(false)),
                        _ => {}
                    }
                }
                Ok(V::Bool(!matches!(q, Quant::Any)))
            }
            Expr::Range { agg, kind, arg } => {
                // Every entity of `kind` under the bound ancestors, in document order.
                let bound: Vec<(&'static str, usize)> = chain(kind)
                    .into_iter()
                    .skip(1)
                    .filter_map(|k| match self.vars.iter().find(|(n, _)| n == k) {
                        Some((_, V::Ent(i))) => Some((k, *i)),
                        _ => None,
                    })
                    .collect();
                let mut values = Vec::new();
                let mut first_err = None;
                let durations = matches!(&**arg, Expr::Call("age", _));
                for i in self.w.of_kind(kind) {
                    if bound.iter().any(|(k, at)| self.w.ancestor(i, k) != Some(*at)) {
                        continue;
                    }
                    self.vars.push((kind.to_string(), V::Ent(i)));
                    match self.eval(arg) {
                        Ok(v) => values.push(v),
                        Err(e) => {
                            first_err.get_or_insert(e);
                        }
                    }
                    self.vars.pop();
                }
                if let Some(e) = first_err {
                    return Err(e);
                }
                aggregate(self, agg, values, durations)
            }
        }
    }

    fn binary(&mut self, op: Bin, l: &Expr, r: &Expr) -> R<V> {
        use Bin::*;
        match op {
            And => Ok(V::Bool(truthy(self.eval(l)?)? && truthy(self.eval(r)?)?)),
            Or => Ok(V::Bool(truthy(self.eval(l)?)? || truthy(self.eval(r)?)?)),
            Requires => Ok(V::Bool(!truthy(self.eval(l)?)? || truthy(self.eval(r)?)?)),
            _ => {
                let a = self.eval(l)?;
                let b = self.eval(r)?;
                match op {
                    Eq => Ok(V::Bool(equal(self, &a, &b)?)),
                    Ne => Ok(V::Bool(!equal(self, &a, &b)?)),
                    Lt => Ok(V::Bool(compare(self, &a, &b)? == Ordering::Less)),
                    Le => Ok(V::Bool(compare(self, &a, &b)? != Ordering::Greater)),
                    Gt => Ok(V::Bool(compare(self, &a, &b)? == Ordering::Greater)),
                    Ge => Ok(V::Bool(compare(self, &a, &b)? != Ordering::Less)),
                    In | NotIn => {
                        let mut found = false;
                        for x in list(b)? {
                            if equal(self, &a, &x)? {
                                found = true;
                                break;
                            }
                        }
                        Ok(V::Bool(found == (op == In)))
                    }
                    Matches => {
                        let s = string(a)?;
                        let p = string(b)?;
                        let re = regex::Regex::new(&p).map_err(|e| E::Error(e.to_string()))?;
                        Ok(V::Bool(re.is_match(&s)))
                    }
                    _ => arith(op, &a, &b),
                }
            }
        }
    }

    fn call(&mut self, f: &str, args: &[Expr]) -> R<V> {
        let mut vals = Vec::new();
        for a in args {
            vals.push(self.eval(a)?);
        }
        let mut it = vals.into_iter();
        let mut next = || it.next().ok_or(E::Error("arity".into()));
        match f {
            "count" | "sum" | "min" | "max" | "avg" => {
                let xs = list(next()?)?;
                aggregate(self, f, xs, false)
            }
            "len" => match next()? {
                V::Str(s) => Ok(V::Int(s.chars().count() as i64)),
                V::List(xs) => Ok(V::Int(xs.len() as i64)),
                other => err(format!("len of {other:?}")),
            },
            "lower" => Ok(V::Str(string(next()?)?.to_lowercase())),
            "upper" => Ok(V::Str(string(next()?)?.to_uppercase())),
            "starts_with" => {
                let (s, p) = (string(next()?)?, string(next()?)?);
                Ok(V::Bool(s.starts_with(&p)))
            }
            "ends_with" => {
                let (s, p) = (string(next()?)?, string(next()?)?);
                Ok(V::Bool(s.ends_with(&p)))
            }
            "contains" => match next()? {
                V::Str(s) => Ok(V::Bool(s.contains(&string(next()?)?))),
                V::List(xs) => {
                    let x = next()?;
                    for y in xs {
                        if equal(self, &y, &x)? {
                            return Ok(V::Bool(true));
                        }
                    }
                    Ok(V::Bool(false))
                }
                other => err(format!("contains on {other:?}")),
            },
            "age" => match next()? {
                V::Date(d) => self.w.now.checked_sub(d).map(V::Dur).map_or_else(overflow, Ok),
                other => err(format!("age of {other:?}")),
            },
            "days" => match next()? {
                V::Dur(us) => Ok(V::Dec(us as f64 / (86_400 * US) as f64)),
                other => err(format!("days of {other:?}")),
            },
            _ => err(format!("unknown function {f}")),
        }
    }
}

// ---------------------------------------------------------------------------------------
// Rules and subjects (§4, §5).

/// Kinds free in an expression: named and not bound by an enclosing filter, quantifier or
/// ranging aggregate.
fn free_kinds(e: &Expr, bound: &mut Vec<String>, out: &mut Vec<&'static str>) {
    let mut walk = |x: &Expr, bound: &mut Vec<String>| free_kinds(x, bound, out);
    match e {
        Expr::Var(n) => {
            if let Some(k) = KINDS.iter().find(|k| **k == n.as_str() && !bound.contains(n)) {
                out.push(k);
            }
        }
        Expr::Root(_) => out.push("tenant"),
        Expr::Field(x, _) | Expr::Key(x, _) | Expr::Index(x, _) | Expr::Project(x, _) | Expr::Not(x) | Expr::Neg(x) => {
            walk(x, bound)
        }
        Expr::Has(x) | Expr::IsNull(x, _) => walk(x, bound),
        Expr::Bin(_, l, r) | Expr::Coalesce(l, r) => {
            walk(l, bound);
            walk(r, bound);
        }
        Expr::List(xs) | Expr::Call(_, xs) => {
            for x in xs {
                walk(x, bound);
            }
        }
        Expr::Filter { list, elem, pred, .. } | Expr::Quant { list, elem, pred, .. } => {
            walk(list, bound);
            let by_kind = !matches!(e, Expr::Filter { binder: true, .. });
            let names: Vec<String> = match KINDS.iter().find(|k| **k == elem.as_str()) {
                Some(k) if by_kind => chain(k).into_iter().map(String::from).collect(),
                _ => vec![elem.clone()],
            };
            let n = bound.len();
            bound.extend(names);
            walk(pred, bound);
            bound.truncate(n);
        }
        Expr::Range { kind, arg, .. } => {
            bound.push(kind.to_string());
            walk(arg, bound);
            bound.pop();
        }
        _ => {}
    }
}

/// The rule's subject kind: the deepest free kind (the generator keeps them on one chain).
pub fn subject_kind(guard: Option<&Expr>, assert: &Expr) -> &'static str {
    let mut free = Vec::new();
    if let Some(g) = guard {
        free_kinds(g, &mut Vec::new(), &mut free);
    }
    free_kinds(assert, &mut Vec::new(), &mut free);
    free.into_iter().max_by_key(|k| chain(k).len()).unwrap_or("tenant")
}

/// The status of one rule for one subject, or the name of the known defect it depends on.
pub fn status(
    w: &World,
    p: &Policy,
    guard: Option<&Expr>,
    assert: &Expr,
    subject: usize,
) -> Result<Status, &'static str> {
    let mut cx = Cx { w, policy: p, vars: Vec::new() };
    cx.bind_params();
    let kind = w.ents[subject].kind;
    for k in chain(kind).into_iter().rev() {
        if let Some(at) = w.ancestor(subject, k) {
            cx.vars.push((k.to_string(), V::Ent(at)));
        }
    }
    if let Some(g) = guard {
        match cx.eval(g).and_then(truthy) {
            Ok(true) => {}
            Ok(false) => return Ok(Status::Skip),
            Err(E::Known(k)) => return Err(k),
            Err(E::Error(_)) => return Ok(Status::Error),
        }
    }
    match cx.eval(assert).and_then(truthy) {
        Ok(true) => Ok(Status::Pass),
        Ok(false) => Ok(Status::Fail),
        Err(E::Known(k)) => Err(k),
        Err(E::Error(_)) => Ok(Status::Error),
    }
}

/// Every (rule index, subject path, status) of a policy over a tenant, in the contract's
/// order (rules in file order, subjects in snapshot order).
pub fn statuses(p: &Policy, w: &World) -> Vec<(usize, String, Result<Status, &'static str>)> {
    let mut out = Vec::new();
    for (i, r) in p.rules.iter().enumerate() {
        let kind = subject_kind(r.guard.as_ref(), &r.assert);
        for s in w.of_kind(kind) {
            out.push((i, w.ents[s].path.clone(), status(w, p, r.guard.as_ref(), &r.assert, s)));
        }
    }
    out
}
