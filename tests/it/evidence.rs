//! Evidence on fail findings and `tenet explain`.

use std::process::Command;
use tenet::snapshot::Content;

fn findings(policy: &str, tenant: &str) -> Vec<serde_json::Value> {
    let e = crate::support::engine(policy);
    let t = e.decode("t.json", Content::Json(tenant.as_bytes().to_vec())).unwrap();
    let r = e.evaluate(&t, crate::support::now());
    r.findings.iter().map(|f| serde_json::to_value(f).unwrap()).collect()
}

#[test]
fn comparison_evidence_names_both_sides() {
    let f = findings(
        "policy \"p\"\nmax_sessions = 3\nrule cap: count(user.sessions) <= max_sessions\n",
        r#"{"users": [{"id": "u1", "sessions": [{}, {}, {}, {}, {}]}]}"#,
    );
    assert_eq!(f[0]["evidence"], serde_json::json!({"count(user.sessions)": 5, "max_sessions": 3}));
}

#[test]
fn requires_evidence_has_both_operands_and_quantifiers_name_the_breaking_element() {
    let f = findings(
        r#"policy "p"
        rule r: role.multiple_sessions requires role.2fa
        rule all_2fa: all(user.roles: role.2fa)
        "#,
        r#"{"roles": [{"id": "r1", "multiple_sessions": true}, {"id": "r2", "2fa": true}],
            "users": [{"id": "u1", "roles": ["r2", "r1"]}]}"#,
    );
    assert_eq!(f[0]["evidence"], serde_json::json!({"role.multiple_sessions": true, "role.2fa": false}));
    assert_eq!(f[1]["rule"], "all_2fa");
    assert_eq!(f[1]["evidence"]["all(user.roles: role.2fa)"], "user.roles[1] = \"r1\"");
    assert_eq!(f[1]["evidence"]["role.2fa"], false);
}

#[test]
fn short_circuited_operands_are_not_evidence() {
    let f = findings(
        "policy \"p\"\nrule r: user.session_cap > 1 and user.two_factor\n",
        r#"{"users": [{"id": "u1", "session_cap": 1, "two_factor": true}]}"#,
    );
    assert_eq!(f[0]["evidence"], serde_json::json!({"user.session_cap": 1}));
}

#[test]
fn passing_and_error_findings_carry_no_evidence() {
    let f = findings("policy \"p\"\nrule r: role.name == \"x\"\n", r#"{"roles": [{"id": "r1"}]}"#);
    assert_eq!(f[0]["status"], "error");
    assert!(f[0].get("evidence").is_none());
}

#[test]
fn explain_shows_every_sub_expression_value() {
    let out = Command::new(env!("CARGO_BIN_EXE_tenet"))
        .args([
            "explain",
            "-p",
            "policies",
            "--rule",
            "netsuite-2026.1.cert_cap",
            "examples/tenants/netsuite-globex.json",
        ])
        .args(["--subject", "i-001", "--now", "2026-11-22T00:00:00Z"])
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains("netsuite-2026.1/cert_cap  integration i-001 (integrations[0])  FAIL"), "{text}");
    assert!(text.contains("integration.counted_certs") && text.contains("= 6"), "{text}");
    assert!(text.contains("max_active_certs") && text.contains("= 5"), "{text}");
    let unknown = Command::new(env!("CARGO_BIN_EXE_tenet"))
        .args([
            "explain",
            "-p",
            "policies",
            "--rule",
            "cert_cap",
            "examples/tenants/netsuite-globex.json",
            "--subject",
            "nope",
        ])
        .output()
        .unwrap();
    assert_eq!(unknown.status.code(), Some(2));
}
