//! The builtins: one table, [`BUILTINS`], read by the checker (names, arity, typing), the
//! evaluator (evaluation), and the tools that show them to people (the manual, hover,
//! completion).
//!
//! Each entry has a name, a signature as people read it, a one-line doc and a [`Form`]:
//!
//! - [`Form::Function`]: an ordinary function. Its arguments are checked and evaluated
//!   left to right, then [`Function::check`] gives the result type (or the first argument of
//!   a wrong type) and [`Function::eval`] computes the value. **Adding such a builtin adds
//!   one entry here and its test, and touches nothing else of the checker or evaluator.**
//! - [`Form::Aggregate`]: `count`, `sum`, `min`, `max`, `avg`. They range over entities
//!   or a list (language.md §4), so the checker binds them and the evaluator folds them
//!   (`eval::machine::Fold`); the table gives their typing ([`Aggregate::result`]).
//! - [`Form::Quantifier`]: `any`, `all`, `none`, written `f(LIST: PREDICATE)`.
//! - [`Form::Has`]: `has(PATH)`, which looks at absence itself.
//!
//! Operators (`??`, `in`, `matches`, …) are grammar, not builtins.

use crate::eval::machine::{Env, EvalError, R};
use crate::eval::ops::{self, describe};
use crate::hir::{AggFunc, Quant};
use crate::model::{Model, Type};
use crate::value::{Value, TICKS_PER_DAY};
use std::fmt;
use std::sync::Arc;

/// One builtin.
pub struct Builtin {
    pub name: &'static str,
    /// The signature shown in diagnostics, hover and the manual.
    pub signature: &'static str,
    /// One line: what it gives.
    pub doc: &'static str,
    pub form: Form,
}

impl fmt::Debug for Builtin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name)
    }
}

/// How a builtin is checked and evaluated.
pub enum Form {
    Function(Function),
    Aggregate(Aggregate),
    Quantifier(Quant),
    Has,
}

/// A wrongly typed argument: its index and what it should have been.
pub type BadArg = (usize, String);

/// An ordinary function of evaluated arguments.
pub struct Function {
    pub arity: usize,
    /// The result type from the argument types, or the first bad argument. `Type::Any`
    /// (an argument whose type is unknown after an error) must be accepted.
    pub check: fn(&[Type], &Model) -> Result<Type, BadArg>,
    /// The value from the argument values (as many as `arity`). Wrong data is an error
    /// (`Err`), never a panic.
    pub eval: fn(&Env<'_>, &[Value]) -> R<Value>,
    /// It compares its arguments with `==`: entity keys must be loaded for them.
    pub compares: bool,
}

/// An aggregate: its fold lives in the evaluator, its typing here.
pub struct Aggregate {
    pub func: AggFunc,
    /// The result type for elements of type `elem`; `None` when it cannot aggregate them.
    pub result: fn(&Type) -> Option<Type>,
    /// What it takes, for the help line of a type error ("numbers").
    pub takes: &'static str,
}

/// Every builtin, in the order the "unknown function" help lists them.
pub static BUILTINS: &[Builtin] = &[
    Builtin {
        name: "count",
        signature: "count(LIST)",
        doc: "How many elements (entities, or items of a list) there are.",
        form: Form::Aggregate(Aggregate { func: AggFunc::Count, result: |_| Some(Type::Int), takes: "anything" }),
    },
    Builtin {
        name: "sum",
        signature: "sum(LIST)",
        doc: "The sum of numbers or durations; 0 for none.",
        form: Form::Aggregate(Aggregate { func: AggFunc::Sum, result: sum_type, takes: "numbers" }),
    },
    Builtin {
        name: "min",
        signature: "min(LIST)",
        doc: "The smallest value; an error for none.",
        form: Form::Aggregate(Aggregate {
            func: AggFunc::Min,
            result: ordered_type,
            takes: "numbers, dates, durations or strings",
        }),
    },
    Builtin {
        name: "max",
        signature: "max(LIST)",
        doc: "The largest value; an error for none.",
        form: Form::Aggregate(Aggregate {
            func: AggFunc::Max,
            result: ordered_type,
            takes: "numbers, dates, durations or strings",
        }),
    },
    Builtin {
        name: "avg",
        signature: "avg(LIST)",
        doc: "The mean of numbers, as a decimal rounded once; an error for none.",
        form: Form::Aggregate(Aggregate { func: AggFunc::Avg, result: avg_type, takes: "numbers" }),
    },
    Builtin {
        name: "any",
        signature: "any(LIST: PREDICATE)",
        doc: "Whether the predicate holds for at least one element.",
        form: Form::Quantifier(Quant::Any),
    },
    Builtin {
        name: "all",
        signature: "all(LIST: PREDICATE)",
        doc: "Whether the predicate holds for every element (true for none).",
        form: Form::Quantifier(Quant::All),
    },
    Builtin {
        name: "none",
        signature: "none(LIST: PREDICATE)",
        doc: "Whether the predicate holds for no element.",
        form: Form::Quantifier(Quant::None),
    },
    Builtin {
        name: "len",
        signature: "len(STRING | LIST)",
        doc: "The number of characters of a string, or of items of a list.",
        form: Form::Function(Function { arity: 1, check: len_type, eval: len, compares: false }),
    },
    Builtin {
        name: "lower",
        signature: "lower(STRING)",
        doc: "The string in lower case.",
        form: Form::Function(Function { arity: 1, check: string_to_string, eval: lower, compares: false }),
    },
    Builtin {
        name: "upper",
        signature: "upper(STRING)",
        doc: "The string in upper case.",
        form: Form::Function(Function { arity: 1, check: string_to_string, eval: upper, compares: false }),
    },
    Builtin {
        name: "starts_with",
        signature: "starts_with(STRING, PREFIX)",
        doc: "Whether the string begins with the prefix.",
        form: Form::Function(Function { arity: 2, check: strings_to_bool, eval: starts_with, compares: false }),
    },
    Builtin {
        name: "ends_with",
        signature: "ends_with(STRING, SUFFIX)",
        doc: "Whether the string ends with the suffix.",
        form: Form::Function(Function { arity: 2, check: strings_to_bool, eval: ends_with, compares: false }),
    },
    Builtin {
        name: "contains",
        signature: "contains(STRING, STRING) or contains(LIST, ITEM)",
        doc: "Whether the string contains the other, or the list holds an item equal to ITEM.",
        form: Form::Function(Function { arity: 2, check: contains_type, eval: contains, compares: true }),
    },
    Builtin {
        name: "has",
        signature: "has(PATH)",
        doc: "Whether the field is present in the data (a model default does not count).",
        form: Form::Has,
    },
    Builtin {
        name: "age",
        signature: "age(DATE)",
        doc: "How long ago the date was, as a duration (`--now` minus the date).",
        form: Form::Function(Function { arity: 1, check: age_type, eval: age, compares: false }),
    },
    Builtin {
        name: "days",
        signature: "days(DURATION)",
        doc: "The duration in days, as a decimal.",
        form: Form::Function(Function { arity: 1, check: days_type, eval: days, compares: false }),
    },
    Builtin {
        name: "abs",
        signature: "abs(NUMBER | DURATION)",
        doc: "The absolute value of a number or a duration.",
        form: Form::Function(Function { arity: 1, check: abs_type, eval: abs, compares: false }),
    },
];

/// The builtin called `name`.
pub fn lookup(name: &str) -> Option<&'static Builtin> {
    BUILTINS.iter().find(|b| b.name == name)
}

/// The entry of an aggregate (every aggregate has one: tested below).
pub fn aggregate(func: AggFunc) -> Option<&'static Builtin> {
    BUILTINS.iter().find(|b| matches!(&b.form, Form::Aggregate(a) if a.func == func))
}

impl Builtin {
    /// How many arguments it takes in call form (`None` for the quantifiers, which take
    /// `LIST: PREDICATE`).
    pub fn arity(&self) -> Option<usize> {
        match &self.form {
            Form::Function(f) => Some(f.arity),
            Form::Aggregate(_) | Form::Has => Some(1),
            Form::Quantifier(_) => None,
        }
    }
}

// ---- typing ----

fn stringish(t: &Type) -> bool {
    matches!(t, Type::String | Type::Enum(_) | Type::Ref(_) | Type::Any)
}

fn arg(ts: &[Type], i: usize) -> &Type {
    ts.get(i).unwrap_or(&Type::Any)
}

fn want(i: usize, ok: bool, expected: &str) -> Result<(), BadArg> {
    if ok {
        Ok(())
    } else {
        Err((i, expected.to_string()))
    }
}

fn len_type(ts: &[Type], _: &Model) -> Result<Type, BadArg> {
    let t = arg(ts, 0);
    want(0, stringish(t) || t.is_list(), "a string or a list").map(|()| Type::Int)
}

fn string_to_string(ts: &[Type], _: &Model) -> Result<Type, BadArg> {
    want(0, stringish(arg(ts, 0)), "a string").map(|()| Type::String)
}

fn strings_to_bool(ts: &[Type], _: &Model) -> Result<Type, BadArg> {
    want(0, stringish(arg(ts, 0)), "a string")?;
    want(1, stringish(arg(ts, 1)), "a string").map(|()| Type::Bool)
}

fn contains_type(ts: &[Type], model: &Model) -> Result<Type, BadArg> {
    let (t0, t1) = (arg(ts, 0), arg(ts, 1));
    match t0 {
        Type::List(elem) => {
            want(1, crate::check::eq_compatible(elem, t1), &format!("a `{}` (an item of the list)", elem.show(model)))?
        }
        t if stringish(t) => want(1, stringish(t1), "a string")?,
        _ => return Err((0, "a string or a list".to_string())),
    }
    Ok(Type::Bool)
}

fn age_type(ts: &[Type], _: &Model) -> Result<Type, BadArg> {
    want(0, matches!(arg(ts, 0), Type::Date | Type::Any), "a date").map(|()| Type::Duration)
}

fn days_type(ts: &[Type], _: &Model) -> Result<Type, BadArg> {
    want(0, matches!(arg(ts, 0), Type::Duration | Type::Any), "a duration").map(|()| Type::Decimal)
}

fn abs_type(ts: &[Type], _: &Model) -> Result<Type, BadArg> {
    let t = arg(ts, 0);
    want(0, matches!(t, Type::Int | Type::Decimal | Type::Duration | Type::Any), "a number or a duration")
        .map(|()| t.clone())
}

fn sum_type(elem: &Type) -> Option<Type> {
    matches!(elem, Type::Int | Type::Decimal | Type::Duration | Type::Any).then(|| elem.clone())
}

fn avg_type(elem: &Type) -> Option<Type> {
    matches!(elem, Type::Int | Type::Decimal | Type::Any).then_some(Type::Decimal)
}

fn ordered_type(elem: &Type) -> Option<Type> {
    matches!(elem, Type::Int | Type::Decimal | Type::Duration | Type::Date | Type::String | Type::Enum(_) | Type::Any)
        .then(|| elem.clone())
}

// ---- evaluation ----

fn fail<T>(reason: impl Into<String>) -> R<T> {
    Err(Box::new(EvalError { missing: false, reason: reason.into() }))
}

fn first(vals: &[Value]) -> &Value {
    vals.first().unwrap_or(&Value::Null)
}

fn second(vals: &[Value]) -> &Value {
    vals.get(1).unwrap_or(&Value::Null)
}

fn string(v: &Value) -> R<&Arc<str>> {
    match v {
        Value::Str(s) => Ok(s),
        other => fail(format!("expected a string, found {}", describe(other))),
    }
}

fn len(_: &Env<'_>, vals: &[Value]) -> R<Value> {
    Ok(match first(vals) {
        Value::Str(st) => Value::Int(st.chars().count() as i64),
        Value::List(l) => Value::Int(l.len() as i64),
        Value::Entities(_, _, n) => Value::Int(i64::from(*n)),
        other => return fail(format!("`len` takes a string or a list, found {}", describe(other))),
    })
}

fn lower(_: &Env<'_>, vals: &[Value]) -> R<Value> {
    Ok(Value::str(&string(first(vals))?.to_lowercase()))
}

fn upper(_: &Env<'_>, vals: &[Value]) -> R<Value> {
    Ok(Value::str(&string(first(vals))?.to_uppercase()))
}

fn starts_with(_: &Env<'_>, vals: &[Value]) -> R<Value> {
    Ok(Value::Bool(string(first(vals))?.starts_with(&**string(second(vals))?)))
}

fn ends_with(_: &Env<'_>, vals: &[Value]) -> R<Value> {
    Ok(Value::Bool(string(first(vals))?.ends_with(&**string(second(vals))?)))
}

fn contains(env: &Env<'_>, vals: &[Value]) -> R<Value> {
    Ok(Value::Bool(match first(vals) {
        Value::Str(st) => st.contains(&**string(second(vals))?),
        list @ (Value::List(_) | Value::Entities(..)) => env.list_contains(list, second(vals))?,
        other => return fail(format!("`contains` takes a string or a list, found {}", describe(other))),
    }))
}

fn age(env: &Env<'_>, vals: &[Value]) -> R<Value> {
    match first(vals) {
        Value::Date(d) => match env.now.checked_sub(*d) {
            Some(age) => Ok(Value::Duration(age)),
            None => fail("duration out of range in `age`"),
        },
        other => fail(format!("`age` takes a date, found {}", describe(other))),
    }
}

fn days(_: &Env<'_>, vals: &[Value]) -> R<Value> {
    match first(vals) {
        // Exact, then rounded once.
        Value::Duration(d) => Ok(Value::Dec(ops::div_rounded(i128::from(*d), TICKS_PER_DAY.unsigned_abs()))),
        other => fail(format!("`days` takes a duration, found {}", describe(other))),
    }
}

fn abs(_: &Env<'_>, vals: &[Value]) -> R<Value> {
    match first(vals) {
        Value::Int(i) => i.checked_abs().map(Value::Int).map_or_else(|| fail("integer overflow in `abs`"), Ok),
        Value::Dec(d) => Ok(Value::Dec(d.abs())),
        Value::Duration(d) => {
            d.checked_abs().map(Value::Duration).map_or_else(|| fail("duration overflow in `abs`"), Ok)
        }
        other => fail(format!("`abs` takes a number, found {}", describe(other))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_signatures_name_the_builtin() {
        for (i, b) in BUILTINS.iter().enumerate() {
            assert!(BUILTINS[..i].iter().all(|o| o.name != b.name), "`{}` listed twice", b.name);
            assert!(b.signature.starts_with(&format!("{}(", b.name)), "{}: {}", b.name, b.signature);
            assert!(b.doc.ends_with('.') && !b.doc.contains('\n'), "{}: one line", b.name);
        }
    }

    #[test]
    fn every_aggregate_has_one_entry() {
        for f in [AggFunc::Count, AggFunc::Sum, AggFunc::Min, AggFunc::Max, AggFunc::Avg] {
            assert_eq!(BUILTINS.iter().filter(|b| matches!(&b.form, Form::Aggregate(a) if a.func == f)).count(), 1);
        }
        assert_eq!(aggregate(AggFunc::Avg).map(|b| b.name), Some("avg"));
        assert!(lookup("nope").is_none());
        assert_eq!(lookup("has").and_then(Builtin::arity), Some(1));
        assert_eq!(lookup("any").and_then(Builtin::arity), None);
    }

    #[test]
    fn typing_accepts_unknown_types_after_an_error() {
        let model = Model::erp();
        for b in BUILTINS {
            if let Form::Function(f) = &b.form {
                let any = vec![Type::Any; f.arity];
                assert!((f.check)(&any, &model).is_ok(), "{} rejects `any`", b.name);
            }
        }
    }
}
