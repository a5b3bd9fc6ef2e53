//! Tenant input as the contract types it (tenant-model.md §2, language.md §5).

use crate::support::statuses;

/// Issue 8, defect 12: `"id": 5` used to be read as the string `"5"`, so an integer key
/// matched a string reference. Keys and `ref<K>` are strings (tenant-model.md §2), and a
/// mismatch of types in data is an evaluation error for the rules that read it (language.md
/// §5): an integer key is no key, an integer reference resolves to nothing.
#[test]
fn integer_keys_and_references_are_type_mismatches() {
    let t = r#"{"id": "t",
        "roles": [{"id": 1, "2fa": true}, {"id": "2", "2fa": true}],
        "users": [{"id": 5, "roles": ["2"]}, {"id": "6", "roles": [2]}, {"id": "7", "roles": ["1"]}],
        "integrations": [{"id": "i1", "integration_user": 5}, {"id": "i2", "integration_user": "5"}]}"#;
    let p = r#"policy "p"
        rule key: user.id != "5"
        rule refs: all(user.roles: role.2fa)
        rule join: integration.integration_user.email == "x"
    "#;
    assert_eq!(
        statuses(p, t),
        vec![
            "key users[0] error: field `user.id` is an int (5), expected string",
            "key users[1] pass",
            "key users[2] pass",
            "refs users[0] pass",
            "refs users[1] error: field `user.roles[0]` is an int (2), expected ref<role>",
            // Role `1` has no string key, so nothing answers to "1".
            "refs users[2] error: dangling reference user.roles[0] = \"1\"",
            "join integrations[0] error: field `integration.integration_user` is an int (5), expected ref<user>",
            "join integrations[1] error: dangling reference integration.integration_user = \"5\"",
        ]
    );
}

/// Issue 8, defect 4, end to end: standard input fed from `/dev/zero` is one endless line.
/// It used to be read until allocation failed (exit 134, every tenant lost); now it is one
/// `input` finding, and the tenants of the other inputs are evaluated.
#[test]
fn an_endless_line_on_standard_input_is_one_finding() {
    use std::process::{Command, Stdio};
    let dir = super::scratch::scratch("endless");
    let policy = dir.join("p.tenet");
    std::fs::write(&policy, "policy \"p\"\nrule r: user.two_factor\n").unwrap();
    let good = dir.join("good.json");
    std::fs::write(&good, r#"{"id": "good", "users": [{"id": "u1", "two_factor": true}]}"#).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_tenet"))
        .args(["check", "--format", "jsonl", "-p", policy.to_str().unwrap(), "-", good.to_str().unwrap()])
        .stdin(std::fs::File::open("/dev/zero").unwrap())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(2), "{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    let lines: Vec<&str> = stdout.lines().collect();
    // The input finding, then the summary: the good tenant passed (passes are not listed).
    assert_eq!(lines.len(), 2, "{stdout}");
    assert!(lines[0].contains(r#""rule":"input""#), "{stdout}");
    assert!(
        lines[0].contains("line 1 of `-` is longer than 256 MiB and does not end: the rest of `-` is not read"),
        "{stdout}"
    );
    assert!(lines[1].contains(r#""tenants":2,"evaluations":1,"pass":1,"#), "{stdout}");
}

/// JSON's `-0` is an integer (RFC 8259's grammar has no fraction in it), though serde_json
/// reads it as the double -0.0: in an `int` field it is 0, not a type mismatch.
#[test]
fn minus_zero_in_an_int_field_is_zero() {
    let s =
        crate::support::statuses("policy \"p\"\nrule r: plan.seats == 0\n", r#"{"id": "t", "plan": {"seats": -0}}"#);
    assert_eq!(s, vec!["r tenant pass"]);
}
