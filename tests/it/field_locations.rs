//! `location.field`: where the one field of the subject that decided a finding is written,
//! in JSON and YAML tenant files (streamed JSON files too, up to a cap), and where no single
//! field did (or it is not written); not in JSONL lines.

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

/// JSONL lines get no field: placing and writing fields cost a bulk run 2.4% of its
/// instructions (docs/REPORTS.md).
#[test]
fn jsonl_findings_have_no_field() {
    let dir = scratch("fieldloc-jsonl");
    let p = write(&dir, "p.tenet", POLICY.as_bytes());
    let line: String = serde_json::to_string(&serde_json::from_str::<serde_json::Value>(JSON).unwrap()).unwrap();
    let t = write(&dir, "t.jsonl", format!("{line}\n").as_bytes());
    let doc = json(&tenet(&["check", "-p", &p, &t, "--now", NOW, "--format", "json"]));
    let findings = doc["findings"].as_array().unwrap();
    assert_eq!(findings.len(), 10);
    assert!(findings.iter().all(|f| f["location"]["line"] == 1 && f["location"].get("field").is_none()));
}

#[test]
fn sarif_keeps_the_subject_and_adds_the_field() {
    let dir = scratch("fieldloc-formats");
    let p = write(&dir, "p.tenet", POLICY.as_bytes());
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

/// A pretty-printed file of users large enough to be streamed (16 MB or more), with names
/// that are not ASCII; the users `i` for which `fails(i)` are disabled and have a second
/// session from the API. Also gives the line and column of the `"enabled"` key of each
/// failing user and of the `"client"` key of its second session.
fn streamed(fails: impl Fn(usize) -> bool) -> (String, Vec<Key>, Vec<Key>) {
    let mut text = String::from("{\n  \"id\": \"big\",\n  \"users\": [\n");
    let (mut enabled, mut client) = (Vec::new(), Vec::new());
    let at = |text: &str| {
        let line_start = text.rfind('\n').map_or(0, |n| n + 1);
        (text.matches('\n').count() as u64 + 1, text[line_start..].chars().count() as u64 + 1)
    };
    let mut i = 0;
    while text.len() < tenet::snapshot::STREAM_MIN_BYTES as usize + 10_000 {
        if i > 0 {
            text.push_str(",\n");
        }
        let fail = fails(i);
        text.push_str(&format!(
            "    {{\n      \"id\": \"ü{i}\",\n      \"name\": \"Zoë 日本 {}\", ",
            "é".repeat(i % 40)
        ));
        if fail {
            let (l, c) = at(&text);
            enabled.push((format!("users[{i}]"), l, c));
        }
        text.push_str(&format!("\"enabled\": {},\n      \"sessions\": [{{\"client\": \"web\"}}, {{", !fail));
        if fail {
            let (l, c) = at(&text);
            client.push((format!("users[{i}].sessions[1]"), l, c));
        }
        text.push_str(&format!("\"client\": \"{}\"}}]\n    }}", if fail { "api" } else { "web" }));
        i += 1;
    }
    text.push_str("\n  ]\n}\n");
    (text, enabled, client)
}

/// `(subject path, line, column)` of a key.
type Key = (String, u64, u64);

/// `(rule, subject path, field)` of a finding: the field's name, line and column.
type Found = (String, String, Option<(String, u64, u64)>);

const STREAMED_POLICY: &str = "policy \"s\"\nrule enabled: user.enabled\nrule no_api: session.client != \"api\"\n";

/// The findings of a run over `text` ([`Found`]), and what it wrote on standard error.
fn streamed_fields(text: &str) -> (Vec<Found>, String) {
    let dir = scratch("fieldloc-streamed");
    let p = write(&dir, "p.tenet", STREAMED_POLICY.as_bytes());
    let t = write(&dir, "big.json", text.as_bytes());
    let out = tenet(&["check", "-p", &p, &t, "--now", NOW, "--format", "json"]);
    assert_eq!(out.status.code(), Some(1), "{}", String::from_utf8_lossy(&out.stderr));
    let doc = json(&out);
    let got = doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            let field = f["location"].get("field").map(|x| {
                (x["name"].as_str().unwrap().to_string(), x["line"].as_u64().unwrap(), x["column"].as_u64().unwrap())
            });
            (f["rule"].as_str().unwrap().to_string(), f["subject"]["path"].as_str().unwrap().to_string(), field)
        })
        .collect();
    (got, String::from_utf8_lossy(&out.stderr).into_owned())
}

#[test]
fn streamed_file_findings_point_at_the_field() {
    let (text, enabled, client) = streamed(|i| i % 5000 == 4999);
    let (got, _) = streamed_fields(&text);
    let mut want: Vec<_> = enabled
        .iter()
        .map(|(p, l, c)| ("enabled".to_string(), p.clone(), Some(("enabled".to_string(), *l, *c))))
        .collect();
    want.extend(client.iter().map(|(p, l, c)| ("no_api".to_string(), p.clone(), Some(("client".to_string(), *l, *c)))));
    assert!(enabled.len() > 10 && want.len() <= tenet::snapshot::STREAM_FIELDS_MAX, "{}", want.len());
    assert_eq!(got, want);
    // The place is the key itself, counted in characters after names that are not ASCII.
    let (_, l, c) = &enabled[enabled.len() - 1];
    let line = text.lines().nth(*l as usize - 1).unwrap();
    assert!(line.chars().skip(*c as usize - 1).collect::<String>().starts_with("\"enabled\": false"), "{line}");
}

#[test]
fn streamed_file_with_more_findings_than_the_cap_has_no_field() {
    let (text, enabled, client) = streamed(|i| i % 100 == 7);
    let (got, stderr) = streamed_fields(&text);
    assert!(got.len() > tenet::snapshot::STREAM_FIELDS_MAX, "{}", got.len());
    assert_eq!(got.len(), enabled.len() + client.len());
    assert!(got.iter().all(|(_, _, field)| field.is_none()), "all or nothing per file");
    assert!(stderr.is_empty(), "{stderr}");
}
