//! `location.field`: where the one field of the subject that decided a finding is written,
//! in JSON and YAML tenant files, and where no single field did (or it is not written).

use super::scratch::scratch;
use super::waivers::{json, tenet, write, NOW};

const POLICY: &str = r#"policy "f"
rule enabled: user.enabled
rule either: user.enabled or user.two_factor
rule first_of_and: user.enabled and user.two_factor
rule cap_vs_sessions: count(user.sessions) <= user.session_cap
rule email: has(user.email)
rule roles_2fa: all(user.roles: role.2fa)
rule key_only: user.id != "u1"
rule multi: tenant.settings.multiple_sessions
rule crowd when user.two_factor == false: count(tenant.users where not user.enabled) < 1
rule raw: user["custom_flag"] == true
"#;

const JSON: &str = r#"{
  "id": "t1",
  "settings": {
    "multiple_sessions": false
  },
  "roles": [{"id": "r1", "2fa": false}],
  "users": [
    {
      "id": "u1",
      "enabled": false,
      "two_factor": false,
      "session_cap": 1,
      "roles": ["r1"],
      "sessions": [{"id": "s1"}, {"id": "s2"}],
      "custom_flag": false
    }
  ]
}
"#;

const YAML: &str = "# one tenant\nid: t1\nsettings:\n  multiple_sessions: false\nroles:\n  - {id: r1, 2fa: false}\nusers:\n  - id: u1\n    enabled: false\n    two_factor: false\n    session_cap: 1\n    roles: [r1]\n    sessions:\n      - id: s1\n      - id: s2\n    custom_flag: false\n";

/// `rule → (entity line, entity column, field)` of every finding of a run.
fn places(file: &str, text: &str) -> Places {
    let dir = scratch(&format!("fieldloc-{file}"));
    let p = write(&dir, "p.tenet", POLICY.as_bytes());
    let t = write(&dir, file, text.as_bytes());
    let out = tenet(&["check", "-p", &p, &t, "--now", NOW, "--format", "json"]);
    assert_eq!(out.status.code(), Some(1));
    let doc = json(&out);
    doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            let l = &f["location"];
            let field = l.get("field").map(|x| {
                (x["name"].as_str().unwrap().to_string(), x["line"].as_u64().unwrap(), x["column"].as_u64().unwrap())
            });
            (
                f["rule"].as_str().unwrap().to_string(),
                (l["line"].as_u64().unwrap(), l["column"].as_u64().unwrap()),
                field,
            )
        })
        .collect()
}

type Places = Vec<(String, (u64, u64), Option<(String, u64, u64)>)>;

/// The findings of [`POLICY`] with the places of the tenant, the user, and the fields.
fn expect(tenant: (u64, u64), user: (u64, u64), fields: [(u64, u64); 4]) -> Places {
    let [enabled, roles, multi, raw] = fields;
    let at = |name: &str, (l, c): (u64, u64)| Some((name.to_string(), l, c));
    vec![
        // One field decided it: its line and column.
        ("enabled".into(), user, at("enabled", enabled)),
        // Both operands of `or` are false: two fields, none named.
        ("either".into(), user, None),
        // `and` is false because of its first operand alone.
        ("first_of_and".into(), user, at("enabled", enabled)),
        // Two fields of the subject.
        ("cap_vs_sessions".into(), user, None),
        // The field is not written: nothing to point at.
        ("email".into(), user, None),
        // The list a quantifier ranges over; the role's own field is not the user's.
        ("roles_2fa".into(), user, at("roles", roles)),
        // The key names the entity, not a field to fix.
        ("key_only".into(), user, None),
        // A field of a nested object of the tenant.
        ("multi".into(), tenant, at("settings.multiple_sessions", multi)),
        // `user` inside the filter is each user of the tenant, not (only) the subject.
        ("crowd".into(), user, None),
        // A key the model does not declare.
        ("raw".into(), user, at("custom_flag", raw)),
    ]
}

#[test]
fn json_findings_point_at_the_field_that_decided_them() {
    assert_eq!(places("t.json", JSON), expect((1, 1), (8, 5), [(10, 7), (13, 7), (4, 5), (15, 7)]));
}

#[test]
fn yaml_findings_point_at_the_field_that_decided_them() {
    assert_eq!(places("t.yaml", YAML), expect((2, 1), (8, 5), [(9, 5), (12, 5), (4, 3), (16, 5)]));
}

#[test]
fn jsonl_findings_have_no_field_and_sarif_keeps_the_subject() {
    let dir = scratch("fieldloc-formats");
    let p = write(&dir, "p.tenet", POLICY.as_bytes());
    let line: String = serde_json::to_string(&serde_json::from_str::<serde_json::Value>(JSON).unwrap()).unwrap();
    let t = write(&dir, "t.jsonl", format!("{line}\n").as_bytes());
    let doc = json(&tenet(&["check", "-p", &p, &t, "--now", NOW, "--format", "json"]));
    assert!(doc["findings"].as_array().unwrap().iter().all(|f| f["location"].get("field").is_none()));

    let t = write(&dir, "t.json", JSON.as_bytes());
    let out = tenet(&["check", "-p", &p, &t, "--now", NOW, "--format", "sarif", "--rule", "enabled"]);
    let sarif: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let result = &sarif["runs"][0]["results"][0];
    let region = &result["locations"][0]["physicalLocation"]["region"];
    assert_eq!((region["startLine"].as_u64(), region["startColumn"].as_u64()), (Some(8), Some(5)), "the subject");
    let related = &result["relatedLocations"][0];
    let region = &related["physicalLocation"]["region"];
    assert_eq!((region["startLine"].as_u64(), region["startColumn"].as_u64()), (Some(10), Some(7)), "the field");
    assert!(related["message"]["text"].as_str().unwrap().contains("`enabled`"));

    // The human report and the annotations point at the field: the line to fix.
    let out = tenet(&["check", "-p", &p, &t, "--now", NOW, "--format", "human", "--rule", "enabled"]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("t.json:10:7"));
    let out = tenet(&["check", "-p", &p, &t, "--now", NOW, "--format", "github", "--rule", "enabled"]);
    assert!(String::from_utf8_lossy(&out.stdout).contains(",line=10,col=7,"));
}
