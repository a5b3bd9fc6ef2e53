//! Runtime values, and the date and duration arithmetic of the language.
//!
//! A [`Value`] is what evaluation computes and what the snapshot decoder stores in entity
//! slots. Dates are microseconds since the Unix epoch (UTC) and durations microseconds
//! ("ticks"), so both compare and add as integers; every RFC 3339 year 0000–9999 fits
//! (`9999-12-31` is a common "never expires"), and sub-microsecond digits are dropped.

use crate::model::KindId;
use std::fmt::Write as _;
use std::sync::Arc;

/// Ticks (the unit of dates and durations) per second: microseconds.
pub const TICKS_PER_SEC: i64 = 1_000_000;
pub const TICKS_PER_DAY: i64 = 86_400 * TICKS_PER_SEC;

#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// Absent or JSON `null`: the two are the same (language.md §5).
    Null,
    Bool(bool),
    Int(i64),
    Dec(f64),
    Str(Arc<str>),
    /// Microseconds since the Unix epoch, UTC.
    Date(i64),
    /// Microseconds.
    Duration(i64),
    List(Arc<[Value]>),
    /// An object of undeclared shape (fields typed `any`).
    Object(Arc<[(Arc<str>, Value)]>),
    /// One entity: row `idx` of kind `kind`'s table.
    Entity(KindId, u32),
    /// A collection of child entities: rows `start..start+len` of `kind`'s table.
    Entities(KindId, u32, u32),
    /// Data that does not match the type the model declares: reading it is an error
    /// whose reason is this text.
    Bad(Arc<str>),
}

impl Value {
    pub fn str(s: &str) -> Value {
        Value::Str(Arc::from(s))
    }

    /// The name of the value's type, for error reasons.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Null => "null",
            Value::Bool(_) => "bool",
            Value::Int(_) => "int",
            Value::Dec(_) => "decimal",
            Value::Str(_) => "string",
            Value::Date(_) => "date",
            Value::Duration(_) => "duration",
            Value::List(_) | Value::Entities(..) => "list",
            Value::Object(_) => "object",
            Value::Entity(..) => "entity",
            Value::Bad(_) => "invalid value",
        }
    }
}

/// Renders a decimal in the shortest form that round-trips (language.md §9.13).
/// A whole decimal keeps a `.0`, so that it never reads as an integer (`2.0`, `1e16` as
/// `10000000000000000.0`).
pub fn format_decimal(d: f64) -> String {
    let s = format!("{d}");
    if d.is_finite() && !s.contains('.') {
        s + ".0"
    } else {
        s
    }
}

/// Renders a date as `YYYY-MM-DD` when it is midnight UTC, else as an RFC 3339 date-time.
pub fn format_date(ticks: i64) -> String {
    let days = ticks.div_euclid(TICKS_PER_DAY);
    let rem = ticks.rem_euclid(TICKS_PER_DAY);
    let (y, m, d) = civil_from_days(days);
    if rem == 0 {
        return format!("{y:04}-{m:02}-{d:02}");
    }
    let secs = rem / TICKS_PER_SEC;
    let frac = rem % TICKS_PER_SEC;
    let mut s = format!("{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}", secs / 3600, secs / 60 % 60, secs % 60);
    if frac != 0 {
        let digits = format!("{frac:06}");
        let _ = write!(s, ".{}", digits.trim_end_matches('0'));
    }
    s.push('Z');
    s
}

/// Always an RFC 3339 date-time in UTC (for the report's `now`).
pub fn format_datetime(ticks: i64) -> String {
    let s = format_date(ticks);
    if s.len() == 10 {
        format!("{s}T00:00:00Z")
    } else {
        s
    }
}

/// Renders a duration in the largest unit that divides it exactly (`3y`, `36h`, `90s`).
pub fn format_duration(ticks: i64) -> String {
    const UNITS: [(&str, i64); 6] = [
        ("y", 365 * TICKS_PER_DAY),
        ("w", 7 * TICKS_PER_DAY),
        ("d", TICKS_PER_DAY),
        ("h", 3600 * TICKS_PER_SEC),
        ("m", 60 * TICKS_PER_SEC),
        ("s", TICKS_PER_SEC),
    ];
    if ticks == 0 {
        return "0s".into();
    }
    for (unit, size) in UNITS {
        if ticks % size == 0 {
            return format!("{}{unit}", ticks / size);
        }
    }
    // Below a second (only from date-times with fractions): microseconds.
    format!("{ticks}µs")
}

/// Parses a duration literal `90s 15m 12h 30d 2w 3y` into ticks (microseconds).
pub fn parse_duration_literal(s: &str) -> Option<i64> {
    let unit = s.chars().last()?;
    let n: i64 = s.get(..s.len() - 1)?.parse().ok()?;
    let size = match unit {
        's' => TICKS_PER_SEC,
        'm' => 60 * TICKS_PER_SEC,
        'h' => 3600 * TICKS_PER_SEC,
        'd' => TICKS_PER_DAY,
        'w' => 7 * TICKS_PER_DAY,
        'y' => 365 * TICKS_PER_DAY,
        _ => return None,
    };
    n.checked_mul(size)
}

/// Parses an RFC 3339 date (`2026-01-01`, midnight UTC) or date-time into ticks (microseconds)
/// since the epoch. Returns `None` for anything malformed or out of range.
pub fn parse_date(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.len() < 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<i64> {
        let part = s.get(r)?;
        if part.bytes().all(|c| c.is_ascii_digit()) {
            part.parse().ok()
        } else {
            None
        }
    };
    let (y, m, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    if !(1..=12).contains(&m) || d < 1 || d > days_in_month(y, m) {
        return None;
    }
    let days = days_from_civil(y, m, d);
    let mut ticks = days.checked_mul(TICKS_PER_DAY)?;
    if b.len() == 10 {
        return Some(ticks);
    }
    if !matches!(b[10], b'T' | b't' | b' ') || b.len() < 20 || b[13] != b':' || b[16] != b':' {
        return None;
    }
    let (hh, mm, ss) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if hh > 23 || mm > 59 || ss > 60 {
        return None;
    }
    ticks = ticks.checked_add((hh * 3600 + mm * 60 + ss.min(59)) * TICKS_PER_SEC)?;
    let mut i = 19;
    if b.get(i) == Some(&b'.') {
        i += 1;
        let start = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        let digits = s.get(start..i)?;
        if digits.is_empty() {
            return None;
        }
        let mut frac: i64 = 0;
        for (k, c) in digits.bytes().take(6).enumerate() {
            frac += i64::from(c - b'0') * 10i64.pow(5 - k as u32);
        }
        ticks = ticks.checked_add(frac)?;
    }
    match s.get(i..)? {
        "Z" | "z" => Some(ticks),
        tz if tz.len() == 6 && (tz.starts_with('+') || tz.starts_with('-')) && tz.as_bytes()[3] == b':' => {
            let oh = num(i + 1..i + 3)?;
            let om = num(i + 4..i + 6)?;
            if oh > 23 || om > 59 {
                return None;
            }
            let off = (oh * 3600 + om * 60) * TICKS_PER_SEC;
            if tz.starts_with('+') {
                ticks.checked_sub(off)
            } else {
                ticks.checked_add(off)
            }
        }
        _ => None,
    }
}

fn is_leap(y: i64) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if is_leap(y) => 29,
        _ => 28,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// Parses a duration as it appears in data: a literal like `"12h"`, or whole seconds.
pub fn parse_duration_data(s: &str) -> Option<i64> {
    parse_duration_literal(s.trim())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_round_trip() {
        for s in ["1970-01-01", "2026-01-01", "2024-02-29", "2000-12-31", "1999-03-01"] {
            let n = parse_date(s).unwrap();
            assert_eq!(format_date(n), s);
        }
        assert_eq!(format_date(parse_date("2026-01-01T09:30:00Z").unwrap()), "2026-01-01T09:30:00Z");
        assert_eq!(format_date(parse_date("2026-01-01T09:30:00.250+01:00").unwrap()), "2026-01-01T08:30:00.25Z");
        assert_eq!(parse_date("2026-01-01").unwrap(), 20454 * TICKS_PER_DAY);
        // The whole RFC 3339 range fits ("never expires" dates, very old records).
        for s in ["9999-12-31", "0001-01-01", "1500-06-30T12:00:00Z", "2300-01-01T08:00:00Z"] {
            assert_eq!(format_date(parse_date(s).unwrap()), s);
        }
        assert!(parse_date("9999-12-31").unwrap() > parse_date("2262-04-12").unwrap());
    }

    #[test]
    fn bad_dates_are_rejected() {
        for s in
            ["2026-02-29", "2026-13-01", "2026-00-10", "2026-1-01", "2026-01-01T25:00:00Z", "2026-01-01T10:00:00", "x"]
        {
            assert_eq!(parse_date(s), None, "{s}");
        }
    }

    #[test]
    fn durations_render_in_largest_exact_unit() {
        assert_eq!(format_duration(parse_duration_literal("3y").unwrap()), "3y");
        assert_eq!(format_duration(parse_duration_literal("36h").unwrap()), "36h");
        assert_eq!(format_duration(parse_duration_literal("90s").unwrap()), "90s");
        assert_eq!(format_duration(parse_duration_literal("14d").unwrap()), "2w");
        assert_eq!(parse_duration_literal("99999999999999y"), None);
    }

    #[test]
    fn decimals_render_shortest() {
        assert_eq!(format_decimal(0.5), "0.5");
        assert_eq!(format_decimal(2.0), "2.0");
        assert_eq!(format_decimal(0.1 + 0.2), "0.30000000000000004");
        assert_eq!(format_decimal(-0.0), "-0.0");
        assert_eq!(format_decimal(1e16), "10000000000000000.0");
        assert_eq!(format_decimal(1.2345678901234566e25), "12345678901234566000000000.0");
        assert_eq!(format_decimal(9_223_372_036_854_775_808.0), "9223372036854776000.0");
    }
}
