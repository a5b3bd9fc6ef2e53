//! The language contract (language.md), evaluated on small inline tenants.

use crate::support::{statuses, value_of};

const EMPTY: &str = r#"{"id": "t"}"#;

fn pass(expr: &str) {
    assert_eq!(value_of(expr, EMPTY), "pass", "`{expr}` should be true");
}

fn fail(expr: &str) {
    assert_eq!(value_of(expr, EMPTY), "fail", "`{expr}` should be false");
}

fn error(expr: &str, tenant: &str, reason: &str) {
    let got = value_of(expr, tenant);
    assert!(got.starts_with("error: "), "`{expr}` should be an error, got {got}");
    assert!(got.contains(reason), "`{expr}`: reason `{got}` should mention `{reason}`");
}

#[test]
fn precedence_follows_the_table() {
    // requires is lowest and right-associative: false requires (false requires false) = true
    pass("false requires false requires false");
    // (true requires false) requires false would be true; right-assoc gives false.
    fail("true requires true requires false");
    // or binds looser than and.
    pass("true or false and false");
    fail("(true or false) and false");
    // not binds looser than comparison.
    pass("not 1 == 2");
    // * before +, unary minus before *.
    pass("1 + 2 * 3 == 7");
    pass("-2 * 3 == -6");
    pass("10 - 4 - 3 == 3");
    // ?? between comparison and additive: (null ?? 1) + 1 is not how it parses.
    pass("null ?? 1 + 1 == 2");
    pass("(1 + 2) * 3 == 9");
}

#[test]
fn arithmetic_is_rust_like_and_checked() {
    pass("7 / 2 == 3");
    pass("-7 / 2 == -3");
    pass("-7 % 2 == -1");
    pass("7 % -2 == 1");
    pass("1 / 2.0 == 0.5");
    pass("2 == 2.0");
    pass("3 > 2.5");
    error("1 / 0 == 0", EMPTY, "division by zero");
    error("5 % 0 == 0", EMPTY, "division by zero");
    error("9223372036854775807 + 1 > 0", EMPTY, "overflow");
    error("-9223372036854775808 - 1 < 0", EMPTY, "overflow");
    error("9223372036854775807 * 2 > 0", EMPTY, "overflow");
}

#[test]
fn strings_dates_and_durations() {
    pass("\"a\" < \"b\"");
    pass("\"Z\" < \"a\""); // code points
    pass("\"\\u{e9}\" == \"é\"");
    pass("2026-01-01 < 2026-01-02");
    pass("2026-01-01 == 2026-01-01T00:00:00Z");
    pass("2026-01-02 - 2026-01-01 == 1d");
    pass("2026-01-01 + 12h == 2026-01-01T12:00:00Z");
    pass("2026-01-01 - 1d == 2025-12-31");
    pass("1y == 365d");
    pass("2w == 14d");
    pass("90s + 30s == 2m");
    pass("age(2023-11-22T00:00:00Z) == 1096d");
    fail("age(2023-11-22T00:00:00Z) > 1096d"); // strict comparison of durations
    pass("days(36h) == 1.5");
    pass("now == 2026-11-22T00:00:00Z");
}

#[test]
fn membership_regex_and_functions() {
    pass("\"a\" in [\"a\", \"b\"]");
    pass("\"c\" not in [\"a\", \"b\"]");
    pass("\"netsuite-prod\" matches \"^netsuite\"");
    pass("\"my netsuite\" matches \"netsuite\""); // anywhere
    fail("\"my netsuite\" matches \"^netsuite$\"");
    pass("len(\"héllo\") == 5");
    pass("len([1, 2, 3]) == 3");
    pass("lower(\"ABC\") == \"abc\" and upper(\"abc\") == \"ABC\"");
    pass("starts_with(\"oauth2\", \"oauth\") and ends_with(\"oauth2\", \"2\")");
    pass("contains(\"sandbox-1\", \"box\") and contains([1, 2], 2)");
    pass("sum([1, 2, 3]) == 6 and min([3, 1, 2]) == 1 and max([3, 1, 2]) == 3");
    pass("avg([1, 2]) == 1.5");
    pass("sum([]) == 0 and count([]) == 0");
    error("min([]) == 0", EMPTY, "min of an empty list");
    error("avg([]) == 0", EMPTY, "avg of an empty list");
    error("sum([9223372036854775807, 1]) > 0", EMPTY, "overflow");
}

#[test]
fn short_circuit_hides_errors_it_does_not_reach() {
    fail("false and 1 / 0 == 1");
    pass("true or 1 / 0 == 1");
    pass("false requires 1 / 0 == 1");
    pass("not (false and 1 / 0 == 1)");
    error("true and 1 / 0 == 1", EMPTY, "division by zero");
    // Quantifiers stop at the deciding element, in order.
    let t = r#"{"id": "t", "users": [{"id": "a", "session_cap": 0}, {"id": "b"}]}"#;
    assert_eq!(
        value_of("any(users: 1 / user.session_cap > 5 or user.id == \"b\")", t),
        "error: division by zero in `/`"
    );
    assert_eq!(value_of("any(users: user.id == \"a\" or 1 / user.session_cap > 0)", t), "pass");
    assert_eq!(value_of("all(users: user.id == \"b\" and 1 / user.session_cap > 0)", t), "fail");
    assert_eq!(value_of("none(users: user.id == \"a\")", t), "fail");
    pass("all([]: it > 1) and not any([]: it > 1) and none([]: it > 1)");
}

#[test]
fn missing_defaults_null_and_coalesce() {
    let t = r#"{"id": "t", "roles": [{"id": "r1", "name": null}, {"id": "r2", "name": "Admin", "2fa": true}]}"#;
    let p = r#"policy "p"
        rule name_set: role.name == "Admin"
        rule default_2fa: role.2fa == false
        rule has_name: has(role.name)
        rule has_default: has(role.2fa)
        rule is_null: role.name == null
        rule coalesce: (role.name ?? "none") != ""
        rule coalesce_default: (role.multiple_sessions ?? true) == false
    "#;
    assert_eq!(
        statuses(p, t),
        vec![
            "name_set roles[0] error: missing field role.name",
            "name_set roles[1] pass",
            "default_2fa roles[0] pass",
            "default_2fa roles[1] fail",
            "has_name roles[0] fail",
            "has_name roles[1] pass",
            "has_default roles[0] fail",
            "has_default roles[1] pass",
            "is_null roles[0] pass",
            "is_null roles[1] fail",
            "coalesce roles[0] pass",
            "coalesce roles[1] pass",
            // A default is not missing: `??` gives the default.
            "coalesce_default roles[0] pass",
            "coalesce_default roles[1] pass",
        ]
    );
}

#[test]
fn type_errors_in_data_are_errors_not_passes() {
    let t = r#"{"id": "t", "roles": [{"id": "r1", "2fa": "yes"}],
                "users": [{"id": "u1", "session_cap": 1.5, "last_login": "yesterday", "sessions": [{"client": "desktop"}]}]}"#;
    let p = r#"policy "p"
        rule twofa: role.2fa
        rule cap: user.session_cap >= 1
        rule login: age(user.last_login) < 30d
        rule client: session.client != "api"
        rule coalesce_keeps_type_errors: (role.2fa ?? true) == true
    "#;
    let s = statuses(p, t);
    assert_eq!(s.len(), 5);
    for line in &s {
        assert!(line.contains(" error: "), "expected an error: {line}");
    }
    assert!(s[0].contains("role.2fa"), "{}", s[0]);
    assert!(s[3].contains("desktop"), "{}", s[3]);
}

#[test]
fn subjects_tenant_entity_and_child() {
    let t = r#"{"id": "t", "plan": {"seats": 3},
        "users": [{"id": "u1", "session_cap": 2, "sessions": [{"id": "s1", "client": "web"}, {"id": "s2", "client": "api"}]},
                  {"id": "u2", "two_factor": true, "sessions": [{"id": "s3", "client": "web"}]}]}"#;
    let p = r#"policy "p"
        rule seats: plan.seats >= sum(user.session_cap)
        rule per_user: count(user.sessions) <= 1
        rule per_session: session.client == "web" requires user.two_factor
        rule tenant_count: count(session) == 3
        rule per_user_count: count(session) <= user.session_cap
    "#;
    assert_eq!(
        statuses(p, t),
        vec![
            "seats tenant pass",
            "per_user users[0] fail",
            "per_user users[1] pass",
            "per_session users[0].sessions[0] fail",
            "per_session users[0].sessions[1] pass",
            "per_session users[1].sessions[0] pass",
            "tenant_count tenant pass",
            "per_user_count users[0] pass",
            "per_user_count users[1] pass",
        ]
    );
}

#[test]
fn filters_quantifiers_references_and_projection() {
    let t = r#"{"id": "t",
        "roles": [{"id": "r1", "multiple_sessions": true}, {"id": "r2"}],
        "users": [{"id": "u1", "email": "a@x", "roles": ["r1"], "sessions": [{}, {}]},
                  {"id": "u2", "email": "a@x", "roles": ["r2"], "sessions": [{}, {}]},
                  {"id": "u3", "email": "c@x", "roles": ["r9"], "sessions": [{}, {}]}],
        "integrations": [{"id": "i1", "integration_user": "u1", "certificates": [{"status": "active"}, {"status": "revoked"}, {"status": "expired"}]}]}"#;
    let p = r#"policy "p"
        rule multi: count(user.sessions) > 1 requires any(user.roles: role.multiple_sessions)
        rule certs: count(integration.certificates where cert.status in ["active", "revoked"]) == 2
        rule unique_email: count(users as other where other.email == user.email) == 1
        rule projection: sum(users.session_cap) == 3 and count(users.sessions) == 6
        rule join: integration.integration_user.email == "a@x"
        rule ref_projection: user.roles.multiple_sessions == [true] or user.id != "u1"
    "#;
    assert_eq!(
        statuses(p, t),
        vec![
            "multi users[0] pass",
            "multi users[1] fail",
            "multi users[2] error: dangling reference user.roles[0] = \"r9\"",
            "certs integrations[0] pass",
            "unique_email users[0] fail",
            "unique_email users[1] fail",
            "unique_email users[2] pass",
            "projection tenant pass",
            "join integrations[0] pass",
            "ref_projection users[0] pass",
            "ref_projection users[1] pass",
            // The left operand is evaluated first, and it follows a dangling reference.
            "ref_projection users[2] error: dangling reference user.roles[0] = \"r9\"",
        ]
    );
}

#[test]
fn guards_skip_and_guard_errors_are_errors() {
    let t = r#"{"id": "t", "integrations": [{"id": "i1", "auth_method": "oauth2"}, {"id": "i2", "auth_method": "tba"}, {"id": "i3"}]}"#;
    let p = r#"policy "p"
        rule pkce when integration.auth_method == "oauth2": integration.pkce
    "#;
    assert_eq!(
        statuses(p, t),
        vec![
            "pkce integrations[0] fail",
            "pkce integrations[1] skip",
            "pkce integrations[2] error: missing field integration.auth_method (in the `when` guard)",
        ]
    );
}

#[test]
fn malformed_elements_are_subjects_that_error() {
    let t = r#"{"id": "t", "roles": [{"id": "r1"}, 42, "x"]}"#;
    let s = statuses("policy \"p\"\nrule r: role.2fa == false\n", t);
    assert_eq!(s[0], "r roles[0] pass");
    assert_eq!(s[1], "r roles[1] error: role at roles[1] is not an object");
    assert_eq!(s[2], "r roles[2] error: role at roles[2] is not an object");
}

#[test]
fn lets_parameters_and_raw_keys() {
    let t = r#"{"id": "t", "integrations": [{"id": "i1", "x-custom": {"tier": "gold"},
        "certificates": [{"status": "active"}, {"status": "revoked"}, {"status": "active"}]}]}"#;
    let p = r#"policy "p"
        cap = 2
        let integration.counted = count(integration.certificates where cert.status in ["active", "revoked"])
        let integration.over = integration.counted - cap
        rule cap: integration.counted <= cap
        rule over: integration.over == 1
        rule raw: integration["x-custom"].tier == "gold"
        rule raw_missing: integration["nope"] ?? "d" == "d"
    "#;
    assert_eq!(
        statuses(p, t),
        vec![
            "cap integrations[0] fail",
            "over integrations[0] pass",
            "raw integrations[0] pass",
            "raw_missing integrations[0] pass"
        ]
    );
}

#[test]
fn messages_interpolate_and_render_values() {
    use tenet::snapshot::Content;
    let e = crate::support::engine(
        r#"policy "p"
        @message("{role.name} has {count(role.permissions)} perms, {role.permissions}, {2.5}, {3y}, {36h}, {2026-01-01}, {{literal}}, {role.missing_x ?? role.nope}")
        rule r: role.name == "x"
        "#
        .replace("role.missing_x ?? role.nope", "1 / 0")
        .as_str(),
    );
    let t = e
        .decode(
            "t.json",
            Content::Json(
                br#"{"id": "t", "roles": [{"id": "r1", "name": "Admin", "permissions": ["a", "b"]}]}"#.to_vec(),
            ),
        )
        .unwrap();
    let r = e.evaluate(&t, crate::support::now());
    assert_eq!(r.findings[0].message, r#"Admin has 2 perms, ["a","b"], 2.5, 3y, 36h, 2026-01-01, {literal}, {?}"#);
    // The default message is the assertion's text with whitespace collapsed.
    let e = crate::support::engine("policy \"p\"\nrule r:\n   role.2fa   ==\n  true\n");
    let t = e.decode("t.json", Content::Json(br#"{"roles": [{"id": "r1"}]}"#.to_vec())).unwrap();
    assert_eq!(e.evaluate(&t, 0).findings[0].message, "role.2fa == true");
    // A trailing comment is not part of the assertion's text, and `-5` stays a literal.
    let e = crate::support::engine("policy \"p\"\nrule r: role.2fa == true and -5 < 0   # why\n");
    let t = e.decode("t.json", Content::Json(br#"{"roles": [{"id": "r1"}]}"#.to_vec())).unwrap();
    assert_eq!(e.evaluate(&t, 0).findings[0].message, "role.2fa == true and -5 < 0");
}

#[test]
fn yaml_and_dsl_forms_give_identical_findings() {
    use tenet::engine::Engine;
    use tenet::model::Model;
    use tenet::snapshot::Content;
    use tenet::source::SourceFile;
    let dsl = r#"policy "erpnext-sessions"
        default_cap = 1
        let user.web_sessions = count(user.sessions where session.client != "mobile_app")
        @severity(error)
        @code("ERP-SEATS")
        @message("Plan has {plan.seats} seats but users' session caps add up to {sum(user.session_cap)}")
        rule seats_cover_session_caps: plan.seats >= sum(user.session_cap)
        rule web_sessions_within_cap when tenant.settings.only_one_session_per_user: user.web_sessions <= 1
    "#;
    let yaml = r#"policy: erpnext-sessions
params:
  default_cap: 1
let:
  user.web_sessions: count(user.sessions where session.client != "mobile_app")
rules:
  - id: seats_cover_session_caps
    severity: error
    code: ERP-SEATS
    message: "Plan has {plan.seats} seats but users' session caps add up to {sum(user.session_cap)}"
    assert: plan.seats >= sum(user.session_cap)
  - id: web_sessions_within_cap
    when: tenant.settings.only_one_session_per_user
    assert: user.web_sessions <= 1
"#;
    let tenant = br#"{"id": "t", "plan": {"seats": 2}, "settings": {"only_one_session_per_user": true},
        "users": [{"id": "u1", "session_cap": 2, "sessions": [{"client": "web"}, {"client": "api"}, {"client": "mobile_app"}]},
                  {"id": "u2", "sessions": [{"client": "mobile_app"}, {"client": "web"}]}]}"#;
    let run = |file: SourceFile| {
        let e = Engine::builder(Model::erp()).policy(file).build().unwrap_or_else(|_| panic!("checks"));
        let t = e.decode("t.json", Content::Json(tenant.to_vec())).unwrap();
        serde_json::to_string(&e.evaluate(&t, 0).findings).unwrap()
    };
    let a = run(SourceFile::new("t.json", dsl));
    let b = run(SourceFile::new("t.yaml", yaml));
    assert_eq!(a, b);
    assert!(a.contains("Plan has 2 seats but users' session caps add up to 3"), "{a}");
    assert!(a.contains("web_sessions_within_cap"), "{a}");
}

#[test]
fn null_comparison_is_exactly_has_even_for_mistyped_data() {
    let t = r#"{"id": "t", "roles": [{"id": "r1", "name": 5, "multiple_sessions": "yes"}, {"id": "r2"}]}"#;
    let p = r#"policy "p"
        rule eq_null: role.name == null
        rule ne_null: role.name != null
        rule has_name: has(role.name)
        rule default_is_absent: role.multiple_sessions == null
    "#;
    assert_eq!(
        statuses(p, t),
        vec![
            // `5` is present (of the wrong type): not null, and has() is true.
            "eq_null roles[0] fail",
            "eq_null roles[1] pass",
            "ne_null roles[0] pass",
            "ne_null roles[1] fail",
            "has_name roles[0] pass",
            "has_name roles[1] fail",
            "default_is_absent roles[0] fail",
            "default_is_absent roles[1] pass",
        ]
    );
}

#[test]
fn dates_span_the_whole_rfc3339_range() {
    pass("9999-12-31 > 2262-04-12");
    pass("0001-01-01 < 1677-09-21");
    pass("age(9999-12-31) < 0s");
    let t =
        r#"{"id": "t", "integrations": [{"id": "i1", "certificates": [{"id": "c1", "expires_at": "9999-12-31"}]}]}"#;
    let s = statuses("policy \"p\"\nrule never_expires: min(cert.expires_at) > now\n", t);
    // No other kind is mentioned, so `min` ranges over every certificate of the tenant.
    assert_eq!(s, vec!["never_expires tenant pass"]);
}

#[test]
fn policy_declaration_comes_first() {
    let d = crate::support::diagnostics("x = 1\npolicy \"p\"\nrule a: true\n");
    assert!(d.contains("this comes before the `policy` declaration"), "{d}");
}

/// An aggregate over entities evaluates every value before a folding error counts (as if
/// the values were collected first): a missing field later in the range is what `??`
/// sees, not an overflow met earlier (found by review of the streaming fold).
#[test]
fn range_aggregates_report_evaluation_errors_before_folding_errors() {
    let t = r#"{"id": "t", "users": [{"id": "a", "email": "x", "session_cap": 9223372036854775807},
        {"id": "b", "email": "y", "session_cap": 1}, {"id": "c"}]}"#;
    assert_eq!(value_of(r#"(sum(user.session_cap * len(user.email)) ?? 0) == 0"#, t), "pass");
    let plain = value_of(r#"sum(user.session_cap * len(user.email)) == 0"#, t);
    assert!(plain.starts_with("error") && plain.contains("missing field user.email"), "{plain}");
    let t2 = r#"{"id": "t", "users": [{"id": "a", "session_cap": 9223372036854775807},
        {"id": "b", "session_cap": 1}, {"id": "c", "session_cap": "x"}]}"#;
    let bad = value_of(r#"sum(user.session_cap) > 0"#, t2);
    assert!(bad.contains("is a string (\"x\"), expected int"), "{bad}");
    // With no evaluation error, the folding error itself is reported.
    let t3 =
        r#"{"id": "t", "users": [{"id": "a", "session_cap": 9223372036854775807}, {"id": "b", "session_cap": 1}]}"#;
    let ovf = value_of(r#"sum(user.session_cap) > 0"#, t3);
    assert!(ovf.contains("sum: integer overflow"), "{ovf}");
}

/// An entity collection absent or null in the data is not present for `has` and `== null`
/// (language.md §3 `has`, §5, §9.10), and still reads as its default `[]` everywhere else
/// (issue 8, defect 9).
#[test]
fn absent_or_null_collections_are_not_present_but_read_as_empty() {
    let t = r#"{"id": "t", "users": [{"id": "u1"}, {"id": "u2", "sessions": null},
        {"id": "u3", "sessions": []}, {"id": "u4", "sessions": [{"id": "s1"}]}]}"#;
    let p = r#"policy "p"
        rule has_sessions: has(user.sessions)
        rule is_null: user.sessions == null
        rule not_null: user.sessions != null
        rule reads_as_empty: count(user.sessions) == 0 and all(user.sessions: session.acknowledged)
        rule ranged: count(session) <= user.session_cap
    "#;
    assert_eq!(
        statuses(p, t),
        vec![
            "has_sessions users[0] fail",
            "has_sessions users[1] fail",
            "has_sessions users[2] pass",
            "has_sessions users[3] pass",
            "is_null users[0] pass",
            "is_null users[1] pass",
            "is_null users[2] fail",
            "is_null users[3] fail",
            "not_null users[0] fail",
            "not_null users[1] fail",
            "not_null users[2] pass",
            "not_null users[3] pass",
            "reads_as_empty users[0] pass",
            "reads_as_empty users[1] pass",
            "reads_as_empty users[2] pass",
            "reads_as_empty users[3] fail",
            "ranged users[0] pass",
            "ranged users[1] pass",
            "ranged users[2] pass",
            "ranged users[3] pass",
        ]
    );
    // The root's collections too.
    assert_eq!(value_of("not has(tenant.roles) and tenant.integrations == null and count(roles) == 0", EMPTY), "pass");
    assert_eq!(value_of("has(tenant.roles) and tenant.roles != null", r#"{"roles": []}"#), "pass");
}

/// `has()` and `== null` on `x["key"]` never error, whatever the value being indexed is
/// (language.md §9.10; issue 8, defect 10). `??` still reports a type error (§9.10).
#[test]
fn has_and_null_on_raw_keys_never_error() {
    let t = r#"{"id": "t", "x-meta": 5, "x-list": [1], "x-obj": {"a": null, "b": 1},
        "roles": [5, {"id": "r1"}], "users": [{"id": "u1", "roles": [5]}]}"#;
    let p = r#"policy "p"
        rule meta_has: not has(tenant["x-meta"]["a"])
        rule meta_null: tenant["x-meta"]["a"] == null and not (tenant["x-meta"]["a"] != null)
        rule list_key: tenant["x-list"]["a"] == null and tenant["x-list"][5] == null and has(tenant["x-list"][0])
        rule obj_key: tenant["x-obj"]["a"] == null and tenant["x-obj"]["zz"] == null and has(tenant["x-obj"]["b"])
        rule missing_base: tenant["nope"]["a"] == null and not has(tenant["nope"][0])
        rule role_raw: not has(role["k"]) and role["k"] == null
        rule ref_raw: user.roles[0]["k"] == null and not has(user.roles[0]["k"]) and not has(user.roles[3]["k"])
        rule coalesce_type_error: (tenant["x-meta"]["a"] ?? 1) == 1
    "#;
    assert_eq!(
        statuses(p, t),
        vec![
            "meta_has tenant pass",
            "meta_null tenant pass",
            "list_key tenant pass",
            "obj_key tenant pass",
            "missing_base tenant pass",
            "role_raw roles[0] pass",
            "role_raw roles[1] pass",
            "ref_raw users[0] pass",
            "coalesce_type_error tenant error: cannot index int 5 with string \"a\"",
        ]
    );
}

/// Integers and decimals compare numerically and exactly, at every magnitude (language.md
/// §3; issue 8, defect 11).
#[test]
fn integers_and_decimals_compare_exactly() {
    pass("9007199254740993 > 9007199254740992.0");
    pass("9007199254740992.0 < 9007199254740993");
    pass("9007199254740993 != 9007199254740992.0");
    fail("9007199254740993 == 9007199254740992.0");
    pass("9007199254740992 == 9007199254740992.0");
    pass("-9223372036854775807 - 1 == -9223372036854775808.0");
    pass("-9223372036854775807 - 1 in [-9223372036854775808.0]");
    pass("-9223372036854775808.0 in [-9223372036854775807 - 1]");
    pass("9223372036854775807 < 9223372036854775808.0");
    pass("9223372036854775807 != 9223372036854775808.0");
    pass("-9223372036854775807 - 1 > -9223372036854777856.0");
    pass("2 < 2.5 and -2 > -2.5 and 3 > 2.5 and -3 < -2.5 and 0 == -0.0");
    pass("10000000000000000000000.0 > 9223372036854775807 and -10000000000000000000000.0 < -9223372036854775807 - 1");
    // `avg` is exact, then rounded once to a decimal.
    pass("avg([9223372036854775807, 9223372036854775806]) > 9223372036854775806");
    pass("avg([9223372036854775807, 9223372036854775807]) == 9223372036854775808.0");
    pass("avg([-9223372036854775807 - 1, -9223372036854775807 - 1]) == -9223372036854775807 - 1");
    pass("avg([1, 2, 2]) == 5.0 / 3.0");
    pass("avg([9007199254740993, 9007199254740993, 9007199254740993]) == 9007199254740992.0");
    // min and max keep the element they pick, compared exactly.
    pass("max([9007199254740992.0, 9007199254740993]) == 9007199254740993");
    pass("min([9007199254740993, 9007199254740992.0]) == 9007199254740992.0");
    pass("contains([9007199254740992.0], 9007199254740992) and not contains([9007199254740992.0], 9007199254740993)");
}

/// The sum of an empty list is the zero of its element type, so it compares with durations
/// and decimals (language.md §3; issue 8, defect 14).
#[test]
fn sum_of_nothing_is_the_zero_of_the_element_type() {
    pass("sum([1d, 2d] where it > 5d) <= 3y");
    pass("sum([1d, 2d] where it > 5d) == 0s");
    pass("sum([1.5] where it > 2.0) == 0.0");
    pass("sum([1] where it > 2) == 0");
    let t = r#"{"id": "t", "integrations": [{"id": "i1"}]}"#;
    assert_eq!(value_of("sum(cert.expires_at - cert.created_at) <= 3y", t), "pass");
}

/// Lists compare element by element even when their elements need the tenant: a
/// collection against a list literal or another collection (language.md §3, §9.3).
#[test]
fn collections_compare_with_lists() {
    let t = r#"{"id": "t", "roles": [{"id": "r1"}, {"id": "r2"}],
        "users": [{"id": "u1"}, {"id": "u2", "sessions": [{"id": "s1"}]}]}"#;
    let p = r#"policy "p"
        rule no_sessions: user.sessions == []
        rule same_collection: tenant.roles == roles and users.sessions != user.sessions
    "#;
    assert_eq!(
        statuses(p, t),
        vec![
            "no_sessions users[0] pass",
            "no_sessions users[1] fail",
            "same_collection users[0] pass",
            "same_collection users[1] fail",
        ]
    );
    // Mixed numbers inside lists compare exactly too.
    pass("[9007199254740992.0] != [9007199254740993] and [1, 2.5] == [1.0, 2.5]");
    // `days` divides exactly, then rounds once.
    pass("days(1d) == 1.0 and days(36h) == 1.5 and days(1s) == 1.0 / 86400.0");
}
