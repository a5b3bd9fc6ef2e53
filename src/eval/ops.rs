//! Pure operators on values: arithmetic with overflow checks, comparison, rendering.
//! Shared by evaluation and constant folding, so the two can never disagree.

use crate::ast::BinOp;
use crate::value::{format_date, format_decimal, format_duration, Value};
use std::cmp::Ordering;

/// A reason an operation could not be decided.
pub type OpError = String;

pub fn neg(v: &Value) -> Result<Value, OpError> {
    match v {
        Value::Int(i) => i.checked_neg().map(Value::Int).ok_or_else(|| "integer overflow in `-`".to_string()),
        Value::Dec(d) => Ok(Value::Dec(-d)),
        Value::Duration(d) => {
            d.checked_neg().map(Value::Duration).ok_or_else(|| "duration overflow in `-`".to_string())
        }
        other => Err(format!("cannot negate {}", describe(other))),
    }
}

/// Binary operators that need no tenant (arithmetic, ordering, equality of plain values).
/// `Ok(None)`: the operator is not pure (logic, membership, `??`), so it is not folded.
pub fn binary_pure(op: BinOp, a: &Value, b: &Value) -> Result<Option<Value>, OpError> {
    Ok(Some(match op {
        BinOp::Add | BinOp::Sub | BinOp::Mul | BinOp::Div | BinOp::Rem => arith(op, a, b)?,
        BinOp::Lt | BinOp::Le | BinOp::Gt | BinOp::Ge => {
            let ord = compare(a, b, op)?;
            Value::Bool(match op {
                BinOp::Lt => ord == Ordering::Less,
                BinOp::Le => ord != Ordering::Greater,
                BinOp::Gt => ord == Ordering::Greater,
                _ => ord != Ordering::Less,
            })
        }
        BinOp::Eq | BinOp::Ne => match plain_eq(a, b) {
            Some(eq) => Value::Bool(eq == (op == BinOp::Eq)),
            None => return Ok(None),
        },
        _ => return Ok(None),
    }))
}

/// Equality of values that need no tenant lookups; `None` when they do (entities vs keys)
/// or the types do not compare.
pub fn plain_eq(a: &Value, b: &Value) -> Option<bool> {
    Some(match (a, b) {
        (Value::Null, Value::Null) => true,
        (Value::Null, _) | (_, Value::Null) => false,
        (Value::Int(x), Value::Int(y)) => x == y,
        (Value::Int(x), Value::Dec(y)) | (Value::Dec(y), Value::Int(x)) => (*x as f64) == *y && int_dec_exact(*x, *y),
        (Value::Dec(x), Value::Dec(y)) => x == y,
        (Value::Str(x), Value::Str(y)) => x == y,
        (Value::Bool(x), Value::Bool(y)) => x == y,
        (Value::Date(x), Value::Date(y)) | (Value::Duration(x), Value::Duration(y)) => x == y,
        (Value::Entity(k1, r1), Value::Entity(k2, r2)) => k1 == k2 && r1 == r2,
        (Value::List(x), Value::List(y)) => {
            if x.len() != y.len() {
                return Some(false);
            }
            for (p, q) in x.iter().zip(y.iter()) {
                if !plain_eq(p, q)? {
                    return Some(false);
                }
            }
            true
        }
        (Value::Object(x), Value::Object(y)) => {
            if x.len() != y.len() {
                return Some(false);
            }
            for ((k1, v1), (k2, v2)) in x.iter().zip(y.iter()) {
                if k1 != k2 || !plain_eq(v1, v2)? {
                    return Some(false);
                }
            }
            true
        }
        _ => return None,
    })
}

fn int_dec_exact(x: i64, y: f64) -> bool {
    // `(x as f64) == y` can be true for large x that differ after rounding.
    y.fract() == 0.0 && y.abs() < 9.2e18 && (y as i64) == x
}

pub fn compare(a: &Value, b: &Value, op: BinOp) -> Result<Ordering, OpError> {
    let ord = match (a, b) {
        (Value::Int(x), Value::Int(y)) => Some(x.cmp(y)),
        (Value::Int(x), Value::Dec(y)) => (*x as f64).partial_cmp(y),
        (Value::Dec(x), Value::Int(y)) => x.partial_cmp(&(*y as f64)),
        (Value::Dec(x), Value::Dec(y)) => x.partial_cmp(y),
        (Value::Str(x), Value::Str(y)) => Some(x.cmp(y)),
        (Value::Date(x), Value::Date(y)) | (Value::Duration(x), Value::Duration(y)) => Some(x.cmp(y)),
        _ => None,
    };
    ord.ok_or_else(|| format!("`{}` cannot compare {} with {}", op.as_str(), describe(a), describe(b)))
}

pub fn arith(op: BinOp, a: &Value, b: &Value) -> Result<Value, OpError> {
    use Value::*;
    let overflow = || format!("integer overflow in `{}`", op.as_str());
    let int = |r: Option<i64>| r.map(Int).ok_or_else(overflow);
    match (op, a, b) {
        (BinOp::Add, Int(x), Int(y)) => int(x.checked_add(*y)),
        (BinOp::Sub, Int(x), Int(y)) => int(x.checked_sub(*y)),
        (BinOp::Mul, Int(x), Int(y)) => int(x.checked_mul(*y)),
        (BinOp::Div | BinOp::Rem, Int(_), Int(0)) => Err(format!("division by zero in `{}`", op.as_str())),
        (BinOp::Div, Int(x), Int(y)) => int(x.checked_div(*y)),
        (BinOp::Rem, Int(x), Int(y)) => int(x.checked_rem(*y)),
        (_, Int(_) | Dec(_), Int(_) | Dec(_)) => {
            let (x, y) = (as_f64(a), as_f64(b));
            if matches!(op, BinOp::Div | BinOp::Rem) && y == 0.0 {
                return Err(format!("division by zero in `{}`", op.as_str()));
            }
            let r = match op {
                BinOp::Add => x + y,
                BinOp::Sub => x - y,
                BinOp::Mul => x * y,
                BinOp::Div => x / y,
                _ => x % y,
            };
            if r.is_finite() {
                Ok(Dec(r))
            } else {
                Err(format!("decimal overflow in `{}`", op.as_str()))
            }
        }
        (BinOp::Add, Date(x), Duration(y)) | (BinOp::Add, Duration(y), Date(x)) => {
            x.checked_add(*y).map(Date).ok_or_else(|| "date out of range".to_string())
        }
        (BinOp::Sub, Date(x), Duration(y)) => {
            x.checked_sub(*y).map(Date).ok_or_else(|| "date out of range".to_string())
        }
        (BinOp::Sub, Date(x), Date(y)) => {
            x.checked_sub(*y).map(Duration).ok_or_else(|| "duration out of range".to_string())
        }
        (BinOp::Add, Duration(x), Duration(y)) => {
            x.checked_add(*y).map(Duration).ok_or_else(|| "duration overflow in `+`".to_string())
        }
        (BinOp::Sub, Duration(x), Duration(y)) => {
            x.checked_sub(*y).map(Duration).ok_or_else(|| "duration overflow in `-`".to_string())
        }
        (BinOp::Mul, Duration(x), Int(y)) | (BinOp::Mul, Int(y), Duration(x)) => {
            x.checked_mul(*y).map(Duration).ok_or_else(|| "duration overflow in `*`".to_string())
        }
        (BinOp::Div, Duration(_), Int(0)) => Err("division by zero in `/`".into()),
        (BinOp::Div, Duration(x), Int(y)) => {
            x.checked_div(*y).map(Duration).ok_or_else(|| "duration overflow in `/`".to_string())
        }
        (BinOp::Add, Str(x), Str(y)) => Ok(Value::str(&format!("{x}{y}"))),
        _ => Err(format!("`{}` does not apply to {} and {}", op.as_str(), describe(a), describe(b))),
    }
}

pub fn as_f64(v: &Value) -> f64 {
    match v {
        Value::Int(i) => *i as f64,
        Value::Dec(d) => *d,
        _ => 0.0,
    }
}

/// A value in an error reason: its type and, when short, the value itself.
pub fn describe(v: &Value) -> String {
    match v {
        Value::Null => "null".into(),
        Value::Str(s) if s.len() <= 40 => format!("string {}", json_string(s)),
        Value::Bad(r) => format!("an invalid value ({r})"),
        Value::Int(_) | Value::Dec(_) | Value::Bool(_) | Value::Date(_) | Value::Duration(_) => {
            format!("{} {}", v.type_name(), render_plain(v))
        }
        _ => v.type_name().to_string(),
    }
}

pub fn json_string(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| format!("\"{s}\""))
}

/// Renders a value that needs no tenant (language.md §9.13). Entities render as `?`;
/// evaluation renders them as their keys.
pub fn render_plain(v: &Value) -> String {
    match v {
        Value::Null => "null".into(),
        Value::Bool(b) => b.to_string(),
        Value::Int(i) => i.to_string(),
        Value::Dec(d) => format_decimal(*d),
        Value::Str(s) => s.to_string(),
        Value::Date(d) => format_date(*d),
        Value::Duration(d) => format_duration(*d),
        Value::Bad(_) | Value::Entity(..) | Value::Entities(..) => "?".into(),
        Value::List(_) | Value::Object(_) => to_json(v).to_string(),
    }
}

/// A value as JSON (lists in messages, evidence).
pub fn to_json(v: &Value) -> serde_json::Value {
    use serde_json::Value as J;
    match v {
        Value::Null | Value::Bad(_) | Value::Entity(..) | Value::Entities(..) => J::Null,
        Value::Bool(b) => J::Bool(*b),
        Value::Int(i) => J::from(*i),
        Value::Dec(d) => serde_json::Number::from_f64(*d).map_or(J::Null, J::Number),
        Value::Str(s) => J::String(s.to_string()),
        Value::Date(_) | Value::Duration(_) => J::String(render_plain(v)),
        Value::List(items) => J::Array(items.iter().map(to_json).collect()),
        Value::Object(fields) => J::Object(fields.iter().map(|(k, v)| (k.to_string(), to_json(v))).collect()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integer_arithmetic_follows_rust() {
        assert_eq!(arith(BinOp::Div, &Value::Int(-7), &Value::Int(2)), Ok(Value::Int(-3)));
        assert_eq!(arith(BinOp::Rem, &Value::Int(-7), &Value::Int(2)), Ok(Value::Int(-1)));
        assert!(arith(BinOp::Div, &Value::Int(1), &Value::Int(0)).unwrap_err().contains("division by zero"));
        assert!(arith(BinOp::Add, &Value::Int(i64::MAX), &Value::Int(1)).unwrap_err().contains("overflow"));
        assert!(arith(BinOp::Div, &Value::Int(i64::MIN), &Value::Int(-1)).unwrap_err().contains("overflow"));
        assert_eq!(arith(BinOp::Add, &Value::Int(1), &Value::Dec(0.5)), Ok(Value::Dec(1.5)));
    }

    #[test]
    fn mixed_numbers_compare_numerically() {
        assert_eq!(compare(&Value::Int(2), &Value::Dec(2.5), BinOp::Lt), Ok(Ordering::Less));
        assert_eq!(plain_eq(&Value::Int(2), &Value::Dec(2.0)), Some(true));
        assert_eq!(plain_eq(&Value::Null, &Value::Int(0)), Some(false));
        assert_eq!(plain_eq(&Value::str("a"), &Value::Int(0)), None);
    }
}
