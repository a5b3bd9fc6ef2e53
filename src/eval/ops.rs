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
        (Value::Int(x), Value::Dec(y)) | (Value::Dec(y), Value::Int(x)) => cmp_int_dec(*x, *y) == Some(Ordering::Equal),
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

/// Compares an integer with a decimal exactly. Converting the integer to a double first
/// would round it above 2^53 (`9007199254740993 > 9007199254740992.0` would be false).
/// `None` only for NaN, which no operation produces.
pub fn cmp_int_dec(i: i64, d: f64) -> Option<Ordering> {
    /// 2^63: every double at or above it is above every `i64`.
    const TWO_63: f64 = 9_223_372_036_854_775_808.0;
    if d.is_nan() {
        return None;
    }
    if d >= TWO_63 {
        return Some(Ordering::Less);
    }
    if d < -TWO_63 {
        return Some(Ordering::Greater);
    }
    // -2^63 <= d < 2^63: the integer part of `d` is an `i64`, converted exactly.
    let whole = d.trunc();
    Some(i.cmp(&(whole as i64)).then(if whole < d {
        Ordering::Less
    } else if whole > d {
        Ordering::Greater
    } else {
        Ordering::Equal
    }))
}

pub fn compare(a: &Value, b: &Value, op: BinOp) -> Result<Ordering, OpError> {
    let ord = match (a, b) {
        (Value::Int(x), Value::Int(y)) => Some(x.cmp(y)),
        (Value::Int(x), Value::Dec(y)) => cmp_int_dec(*x, *y),
        (Value::Dec(x), Value::Int(y)) => cmp_int_dec(*y, *x).map(Ordering::reverse),
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

/// `p / n` rounded once to the nearest double, ties to even (`avg` of integers: the exact
/// mean, then one rounding). `n` is not zero.
pub fn div_rounded(p: i128, n: u64) -> f64 {
    let a = p.unsigned_abs();
    if a == 0 || n == 0 {
        return 0.0;
    }
    // Scale the numerator so that its top bit is bit 127: the quotient then has at least 64
    // significant bits (n < 2^64). Truncating it and setting its last bit when the division
    // was inexact ("round to odd") keeps enough to round once, correctly, to 53 bits.
    let shift = a.leading_zeros();
    let num = a << shift;
    let q = num / u128::from(n);
    let q = q | u128::from(num % u128::from(n) != 0);
    // `as` rounds to nearest, ties to even; the power of two then scales exactly.
    let mean = q as f64 * f64::from_bits(u64::from(1023 - shift) << 52);
    if p < 0 {
        -mean
    } else {
        mean
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
    fn integers_compare_with_decimals_exactly() {
        use Ordering::*;
        let two_53 = 9_007_199_254_740_992_i64;
        let cases: [(i64, f64, Ordering); 14] = [
            (two_53 + 1, two_53 as f64, Greater),
            (two_53, two_53 as f64, Equal),
            (i64::MAX, 9_223_372_036_854_775_808.0, Less),
            (i64::MIN, -9_223_372_036_854_775_808.0, Equal),
            (i64::MIN + 1, -9_223_372_036_854_775_808.0, Greater),
            (i64::MIN, -9_223_372_036_854_777_856.0, Greater),
            (i64::MIN, f64::MIN, Greater),
            (i64::MAX, f64::MAX, Less),
            (5, 5.5, Less),
            (6, 5.5, Greater),
            (-5, -5.5, Greater),
            (-6, -5.5, Less),
            (0, -0.0, Equal),
            (0, f64::MIN_POSITIVE, Less),
        ];
        for (i, d, want) in cases {
            assert_eq!(cmp_int_dec(i, d), Some(want), "{i} vs {d}");
            assert_eq!(compare(&Value::Int(i), &Value::Dec(d), BinOp::Lt), Ok(want), "{i} vs {d}");
            assert_eq!(compare(&Value::Dec(d), &Value::Int(i), BinOp::Lt), Ok(want.reverse()), "{d} vs {i}");
            assert_eq!(plain_eq(&Value::Int(i), &Value::Dec(d)), Some(want == Equal), "{i} == {d}");
        }
        assert_eq!(cmp_int_dec(0, f64::NAN), None);
    }

    #[test]
    fn means_of_integers_are_rounded_once() {
        assert_eq!(div_rounded(3, 2), 1.5);
        assert_eq!(div_rounded(-3, 2), -1.5);
        assert_eq!(div_rounded(5, 3), 5.0 / 3.0);
        assert_eq!(div_rounded(0, 7), 0.0);
        // The exact mean 2^63 - 1.5 rounds to 2^63 (doubles are 1024 apart below it).
        let s = i128::from(i64::MAX) + i128::from(i64::MAX - 1);
        assert_eq!(div_rounded(s, 2), 9_223_372_036_854_775_808.0);
        assert_eq!(div_rounded(i128::from(i64::MIN) * 2, 2), -9_223_372_036_854_775_808.0);
        // 3 * (2^53 + 1) / 3 = 2^53 + 1, a tie between 2^53 and 2^53 + 2: to even (2^53);
        // dividing the sum rounded to a double first would give 2^53 + 2.
        let x = (1i128 << 53) + 1;
        assert_eq!(div_rounded(3 * x, 3), 9_007_199_254_740_992.0);
        // Just above the tie, it rounds up.
        assert_eq!(div_rounded(6 * x + 1, 6), 9_007_199_254_740_994.0);
        // Large counts and sums.
        assert_eq!(div_rounded(i128::from(u64::MAX) * 1000, u64::MAX), 1000.0);
        assert_eq!(div_rounded(1, u64::MAX), 1.0 / 18_446_744_073_709_551_615.0);
    }

    #[test]
    fn mixed_numbers_compare_numerically() {
        assert_eq!(compare(&Value::Int(2), &Value::Dec(2.5), BinOp::Lt), Ok(Ordering::Less));
        assert_eq!(plain_eq(&Value::Int(2), &Value::Dec(2.0)), Some(true));
        assert_eq!(plain_eq(&Value::Null, &Value::Int(0)), Some(false));
        assert_eq!(plain_eq(&Value::str("a"), &Value::Int(0)), None);
    }
}
