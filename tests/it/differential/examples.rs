//! The reference evaluator on the contract's normative examples (tests/it/language.rs runs
//! the same examples on the engine), so that it can be trusted as a judge.

use super::gen::{Bin, Expr, Known, Policy, Quant, Rule};
use super::reference::{parse_date, statuses, Status, World};
use serde_json::json;

fn no_known() -> Known {
    Known::default()
}

fn bx(e: Expr) -> Box<Expr> {
    Box::new(e)
}
fn int(v: i64) -> Expr {
    Expr::Int(v)
}
fn bin(op: Bin, l: Expr, r: Expr) -> Expr {
    Expr::Bin(op, bx(l), bx(r))
}
fn eq(l: Expr, r: Expr) -> Expr {
    bin(Bin::Eq, l, r)
}
fn var(n: &str) -> Expr {
    Expr::Var(n.into())
}
fn field(base: Expr, f: &'static str) -> Expr {
    Expr::Field(bx(base), f)
}
fn call(f: &'static str, args: Vec<Expr>) -> Expr {
    Expr::Call(f, args)
}

/// `rule path status` lines, as tests/it/support.rs prints the engine's.
fn run(rules: Vec<(&str, Option<Expr>, Expr)>, tenant: serde_json::Value) -> Vec<String> {
    let names: Vec<String> = rules.iter().map(|r| r.0.to_string()).collect();
    let p = Policy {
        params: Vec::new(),
        lets: Vec::new(),
        rules: rules.into_iter().map(|(n, guard, assert)| Rule { name: n.into(), guard, assert }).collect(),
    };
    let now = parse_date("2026-11-22T00:00:00Z").unwrap();
    let w = World::new(&tenant, now, no_known());
    statuses(&p, &w)
        .into_iter()
        .map(|(r, path, s)| {
            let path = if path.is_empty() { "tenant".to_string() } else { path };
            let s = match s.unwrap() {
                Status::Pass => "pass",
                Status::Fail => "fail",
                Status::Error => "error",
                Status::Skip => "skip",
            };
            format!("{} {path} {s}", names[r])
        })
        .collect()
}

fn value(e: Expr) -> String {
    let s = run(vec![("r", None, e)], json!({"id": "t"}));
    s[0].trim_start_matches("r tenant ").to_string()
}

#[test]
fn differential_reference_arithmetic_and_values() {
    use Bin::*;
    let cases: Vec<(Expr, &str)> = vec![
        (eq(bin(Div, int(7), int(2)), int(3)), "pass"),
        (eq(bin(Div, int(-7), int(2)), int(-3)), "pass"),
        (eq(bin(Rem, int(-7), int(2)), int(-1)), "pass"),
        (eq(bin(Rem, int(7), int(-2)), int(1)), "pass"),
        (eq(bin(Div, int(1), Expr::Dec("2.0", 2.0)), Expr::Dec("0.5", 0.5)), "pass"),
        (eq(int(2), Expr::Dec("2.0", 2.0)), "pass"),
        (bin(Gt, int(3), Expr::Dec("2.5", 2.5)), "pass"),
        (eq(bin(Div, int(1), int(0)), int(0)), "error"),
        (eq(bin(Rem, int(5), int(0)), int(0)), "error"),
        (bin(Gt, bin(Add, int(i64::MAX), int(1)), int(0)), "error"),
        (bin(Lt, bin(Sub, int(i64::MIN), int(1)), int(0)), "error"),
        (bin(Gt, bin(Mul, int(i64::MAX), int(2)), int(0)), "error"),
        (bin(Lt, Expr::Str("Z".into()), Expr::Str("a".into())), "pass"),
        (bin(Lt, Expr::Date("2026-01-01"), Expr::Date("2026-01-02")), "pass"),
        (eq(Expr::Date("2026-01-01"), Expr::Date("2026-01-01T00:00:00Z")), "pass"),
        (eq(bin(Sub, Expr::Date("2026-01-02"), Expr::Date("2026-01-01")), Expr::Dur(1, 'd')), "pass"),
        (eq(bin(Sub, Expr::Date("2026-01-01"), Expr::Dur(1, 'd')), Expr::Date("2025-12-31")), "pass"),
        (eq(Expr::Dur(1, 'y'), Expr::Dur(365, 'd')), "pass"),
        (eq(call("age", vec![Expr::Date("2023-11-22T00:00:00Z")]), Expr::Dur(1096, 'd')), "pass"),
        (bin(Gt, call("age", vec![Expr::Date("2023-11-22T00:00:00Z")]), Expr::Dur(1096, 'd')), "fail"),
        (eq(call("days", vec![Expr::Dur(36, 'h')]), Expr::Dec("1.5", 1.5)), "pass"),
        (eq(Expr::Now, Expr::Date("2026-11-22")), "pass"),
        (bin(Gt, Expr::Date("9999-12-31"), Expr::Date("2024-02-29")), "pass"),
        (bin(Lt, call("age", vec![Expr::Date("9999-12-31")]), Expr::Dur(0, 's')), "pass"),
        (bin(Matches, Expr::Str("my netsuite".into()), Expr::Str("netsuite".into())), "pass"),
        (eq(call("len", vec![Expr::Str("héllo".into())]), int(5)), "pass"),
        (eq(call("avg", vec![Expr::List(vec![int(1), int(2)])]), Expr::Dec("1.5", 1.5)), "pass"),
        (eq(call("sum", vec![Expr::List(vec![])]), int(0)), "pass"),
        (eq(call("min", vec![Expr::List(vec![])]), int(0)), "error"),
        (bin(Gt, call("sum", vec![Expr::List(vec![int(i64::MAX), int(1)])]), int(0)), "error"),
        // Issue #8 item 11: integers against decimals compare exactly.
        (bin(Gt, int(9_007_199_254_740_993), Expr::Dec("9007199254740992.0", 9_007_199_254_740_992.0)), "pass"),
        (eq(int(i64::MIN), Expr::Dec("-9223372036854775808.0", -9_223_372_036_854_775_808.0)), "pass"),
        (bin(Lt, int(i64::MAX), Expr::Dec("9223372036854775808.0", 9_223_372_036_854_775_808.0)), "pass"),
        // Short-circuit hides the errors it does not reach.
        (bin(And, Expr::Bool(false), eq(bin(Div, int(1), int(0)), int(1))), "fail"),
        (bin(Or, Expr::Bool(true), eq(bin(Div, int(1), int(0)), int(1))), "pass"),
        (bin(Requires, Expr::Bool(false), eq(bin(Div, int(1), int(0)), int(1))), "pass"),
        (bin(And, Expr::Bool(true), eq(bin(Div, int(1), int(0)), int(1))), "error"),
        (bin(Requires, Expr::Bool(true), bin(Requires, Expr::Bool(true), Expr::Bool(false))), "fail"),
    ];
    for (e, want) in cases {
        assert_eq!(value(e.clone()), want, "{}", super::gen::print(&e));
    }
    // Quantifiers stop at the deciding element, in order.
    let t = json!({"id": "t", "users": [{"id": "a", "session_cap": 0}, {"id": "b"}]});
    let div = bin(Bin::Div, int(1), field(var("user"), "session_cap"));
    let q = |q, pred| Expr::Quant { q, list: bx(Expr::Root("users")), elem: "user".into(), pred: bx(pred) };
    let is = |id: &str| eq(field(var("user"), "id"), Expr::Str(id.into()));
    let cases = vec![
        (q(Quant::Any, bin(Bin::Or, bin(Bin::Gt, div.clone(), int(5)), is("b"))), "error"),
        (q(Quant::Any, bin(Bin::Or, is("a"), bin(Bin::Gt, div.clone(), int(0)))), "pass"),
        (q(Quant::All, bin(Bin::And, is("b"), bin(Bin::Gt, div, int(0)))), "fail"),
        (q(Quant::None, is("a")), "fail"),
    ];
    for (e, want) in cases {
        let s = run(vec![("r", None, e.clone())], t.clone());
        assert_eq!(s, vec![format!("r tenant {want}")], "{}", super::gen::print(&e));
    }
}

#[test]
fn differential_reference_missing_defaults_null_and_malformed() {
    let t = json!({"id": "t", "roles": [{"id": "r1", "name": null}, {"id": "r2", "name": "Admin", "2fa": true}, 42]});
    let name = || field(var("role"), "name");
    let two = || field(var("role"), "2fa");
    let s = run(
        vec![
            ("name_set", None, eq(name(), Expr::Str("Admin".into()))),
            ("default_2fa", None, eq(two(), Expr::Bool(false))),
            ("has_name", None, Expr::Has(bx(name()))),
            ("has_default", None, Expr::Has(bx(two()))),
            ("is_null", None, Expr::IsNull(bx(name()), false)),
            (
                "coalesce",
                None,
                bin(Bin::Ne, Expr::Coalesce(bx(name()), bx(Expr::Str("none".into()))), Expr::Str("".into())),
            ),
            (
                "coalesce_default",
                None,
                eq(
                    Expr::Coalesce(bx(field(var("role"), "multiple_sessions")), bx(Expr::Bool(true))),
                    Expr::Bool(false),
                ),
            ),
        ],
        t,
    );
    let want = [
        "name_set roles[0] error",
        "name_set roles[1] pass",
        "name_set roles[2] error",
        "default_2fa roles[0] pass",
        "default_2fa roles[1] fail",
        "default_2fa roles[2] error",
        "has_name roles[0] fail",
        "has_name roles[1] pass",
        "has_name roles[2] fail",
        "has_default roles[0] fail",
        "has_default roles[1] pass",
        "has_default roles[2] fail",
        "is_null roles[0] pass",
        "is_null roles[1] fail",
        "is_null roles[2] pass",
        "coalesce roles[0] pass",
        "coalesce roles[1] pass",
        "coalesce roles[2] error",
        "coalesce_default roles[0] pass",
        "coalesce_default roles[1] pass",
        "coalesce_default roles[2] error",
    ];
    assert_eq!(s, want);
}

#[test]
fn differential_reference_subjects_references_and_guards() {
    let t = json!({"id": "t", "plan": {"seats": 3},
        "roles": [{"id": "r1", "multiple_sessions": true}, {"id": "r2"}],
        "users": [{"id": "u1", "session_cap": 2, "roles": ["r1"], "sessions": [{"id": "s1", "client": "web"}, {"id": "s2", "client": "api"}]},
                  {"id": "u2", "two_factor": true, "roles": ["r9"], "sessions": [{"id": "s3", "client": "web"}]}],
        "integrations": [{"id": "i1", "auth_method": "oauth2"}, {"id": "i2", "auth_method": "tba"}, {"id": "i3"}]});
    let user = |f| field(var("user"), f);
    let s = run(
        vec![
            (
                "seats",
                None,
                bin(
                    Bin::Ge,
                    Expr::Root("plan.seats"),
                    Expr::Range { agg: "sum", kind: "user", arg: bx(user("session_cap")) },
                ),
            ),
            ("per_user", None, bin(Bin::Le, call("count", vec![user("sessions")]), int(1))),
            (
                "per_session",
                None,
                bin(Bin::Requires, eq(field(var("session"), "client"), Expr::Str("web".into())), user("two_factor")),
            ),
            ("tenant_count", None, eq(Expr::Range { agg: "count", kind: "session", arg: bx(var("session")) }, int(3))),
            (
                "per_user_count",
                None,
                bin(
                    Bin::Le,
                    Expr::Range { agg: "count", kind: "session", arg: bx(var("session")) },
                    user("session_cap"),
                ),
            ),
            (
                "multi",
                None,
                Expr::Quant {
                    q: Quant::Any,
                    list: bx(user("roles")),
                    elem: "role".into(),
                    pred: bx(field(var("role"), "multiple_sessions")),
                },
            ),
            (
                "pkce",
                Some(eq(field(var("integration"), "auth_method"), Expr::Str("oauth2".into()))),
                field(var("integration"), "pkce"),
            ),
        ],
        t,
    );
    let want = [
        "seats tenant pass",
        "per_user users[0] fail",
        "per_user users[1] pass",
        "per_session users[0].sessions[0] fail",
        "per_session users[0].sessions[1] pass",
        "per_session users[1].sessions[0] pass",
        "tenant_count tenant pass",
        "per_user_count users[0] pass",
        "per_user_count users[1] pass",
        "multi users[0] pass",
        "multi users[1] error",
        "pkce integrations[0] fail",
        "pkce integrations[1] skip",
        "pkce integrations[2] error",
    ];
    assert_eq!(s, want);
}
