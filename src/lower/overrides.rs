//! `--set NAME=VALUE` and `--set POLICY.NAME=VALUE`: parameter overrides.

use crate::ast;
use crate::check::literal_value;
use crate::hir::Policy;
use crate::model::Type;
use crate::parse;
use crate::source::SourceFile;
use crate::value::{parse_date, parse_duration_literal, Value};

/// One `--set` argument.
#[derive(Debug, Clone)]
pub struct Override {
    pub policy: Option<String>,
    pub name: String,
    pub value: String,
}

/// Parses `NAME=VALUE` or `POLICY.NAME=VALUE`. A policy name may itself contain dots
/// (`netsuite-2026.1.max_sessions`): the parameter is the part after the last dot.
pub fn parse_set(arg: &str) -> Result<Override, String> {
    let Some((lhs, value)) = arg.split_once('=') else {
        return Err(format!("`--set {arg}`: expected NAME=VALUE"));
    };
    let lhs = lhs.trim();
    let (policy, name) = match lhs.rsplit_once('.') {
        Some((p, n)) => (Some(p.to_string()), n.to_string()),
        None => (None, lhs.to_string()),
    };
    if name.is_empty() {
        return Err(format!("`--set {arg}`: missing parameter name"));
    }
    Ok(Override { policy, name, value: value.to_string() })
}

/// Applies overrides to the policies' parameters. Unknown names and values of the wrong
/// type are usage errors.
pub fn apply(policies: &mut [Policy], overrides: &[Override]) -> Result<(), String> {
    for o in overrides {
        let mut hit = false;
        for p in policies.iter_mut() {
            if o.policy.as_deref().is_some_and(|name| name != p.name) {
                continue;
            }
            if let Some(param) = p.params.iter_mut().find(|q| q.name == o.name) {
                param.value = parse_value(&o.value, &param.ty).ok_or_else(|| {
                    format!(
                        "`--set {}={}`: `{}` is not a valid {} for parameter `{}` of policy `{}`",
                        o.name,
                        o.value,
                        o.value,
                        show(&param.ty),
                        o.name,
                        p.name
                    )
                })?;
                hit = true;
            }
        }
        if !hit {
            let target = o.policy.as_ref().map_or(String::new(), |p| format!(" in policy `{p}`"));
            let mut known: Vec<String> =
                policies.iter().flat_map(|p| p.params.iter().map(move |q| format!("{}.{}", p.name, q.name))).collect();
            known.sort();
            return Err(format!(
                "`--set`: no parameter `{}`{target}; parameters: {}",
                o.name,
                if known.is_empty() { "none".into() } else { known.join(", ") }
            ));
        }
    }
    Ok(())
}

fn show(t: &Type) -> &'static str {
    match t {
        Type::Int => "integer",
        Type::Decimal => "decimal",
        Type::String | Type::Enum(_) | Type::Ref(_) => "string",
        Type::Bool => "boolean",
        Type::Date => "date",
        Type::Duration => "duration",
        Type::List(_) => "list",
        _ => "value",
    }
}

/// Parses an override as a literal of the parameter's type. Strings may be given bare.
pub fn parse_value(text: &str, ty: &Type) -> Option<Value> {
    let t = text.trim();
    match ty {
        Type::Int => t.parse().ok().map(Value::Int),
        Type::Decimal => t.parse::<f64>().ok().filter(|d| d.is_finite()).map(Value::Dec),
        Type::Bool => match t {
            "true" => Some(Value::Bool(true)),
            "false" => Some(Value::Bool(false)),
            _ => None,
        },
        Type::Date => parse_date(t).map(Value::Date),
        Type::Duration => parse_duration_literal(t).map(Value::Duration),
        Type::String | Type::Enum(_) | Type::Ref(_) => {
            if t.starts_with('"') {
                match literal(t)? {
                    (Value::Str(s), _) => Some(Value::Str(s)),
                    _ => None,
                }
            } else {
                Some(Value::str(text))
            }
        }
        Type::List(_) => match literal(t)? {
            (v @ Value::List(_), lt) if crate::check::literal_fits(&lt, ty) => Some(v),
            _ => None,
        },
        _ => literal(t).map(|(v, _)| v),
    }
}

fn literal(text: &str) -> Option<(Value, Type)> {
    let file = SourceFile::new("--set", text);
    let e: ast::Expr = parse::expression(&file, text, &parse::OffsetMap::Shift(0)).ok()?;
    literal_value(&e)
}
