//! `@see` / `see:`: where a rule comes from, carried from the policy to every report.

use super::scratch::scratch;
use std::process::Command;
use tenet::engine::Engine;
use tenet::model::Model;
use tenet::snapshot::Content;
use tenet::source::SourceFile;

const TENANT: &[u8] = br#"{"id": "t", "plan": {"seats": 1},
    "users": [{"id": "u1", "session_cap": 2, "sessions": [{"client": "web"}, {"client": "web"}]}]}"#;

fn findings_json(file: SourceFile) -> serde_json::Value {
    let e = Engine::builder(Model::erp()).policy(file).build().unwrap_or_else(|_| panic!("checks"));
    let t = e.decode("t.json", Content::Json(TENANT.to_vec())).unwrap();
    serde_json::to_value(e.evaluate(&t, 0).findings).unwrap()
}

#[test]
fn see_in_dsl_and_yaml_gives_the_same_findings_and_rules_inherit_the_policys() {
    let dsl = r#"@see("https://example.com/policy")
policy "p"

@see(["https://example.com/a", "https://example.com/b"])
@remediation("raise the seats")
rule seats: plan.seats >= sum(user.session_cap)

rule one_session: count(user.sessions) <= 1

@see("https://example.com/c")
rule caps: count(user.sessions) < user.session_cap
"#;
    let yaml = r#"policy: p
see: https://example.com/policy
rules:
  - id: seats
    see: ["https://example.com/a", "https://example.com/b"]
    remediation: raise the seats
    assert: plan.seats >= sum(user.session_cap)
  - id: one_session
    assert: count(user.sessions) <= 1
  - id: caps
    see: https://example.com/c
    assert: count(user.sessions) < user.session_cap
"#;
    let a = findings_json(SourceFile::new("p.tenet", dsl));
    let b = findings_json(SourceFile::new("p.yaml", yaml));
    assert_eq!(a, b);
    let see: Vec<(String, serde_json::Value)> =
        a.as_array().unwrap().iter().map(|f| (f["rule"].as_str().unwrap().to_string(), f["see"].clone())).collect();
    assert_eq!(
        see,
        vec![
            ("seats".to_string(), serde_json::json!(["https://example.com/a", "https://example.com/b"])),
            ("one_session".to_string(), serde_json::json!(["https://example.com/policy"])),
            ("caps".to_string(), serde_json::json!(["https://example.com/c"])),
        ]
    );
    // `see` comes after `remediation` in a finding.
    let text = serde_json::to_string(&a[0]).unwrap();
    assert!(text.find("\"remediation\"").unwrap() < text.find("\"see\"").unwrap(), "{text}");
}

#[test]
fn findings_of_rules_without_sources_have_no_see_field() {
    let a = findings_json(SourceFile::new("p.tenet", "policy \"p\"\nrule one: count(user.sessions) <= 1\n"));
    let f = &a.as_array().unwrap()[0];
    assert!(f.get("see").is_none(), "{f}");
    assert!(f.get("remediation").is_none(), "{f}");
}

fn run(args: &[&str]) -> (Option<i32>, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_tenet")).args(args).output().unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn human_json_jsonl_and_explain_show_the_sources() {
    let dir = scratch("reports");
    let policy = dir.join("p.tenet");
    std::fs::write(
        &policy,
        "policy \"p\"\n\n@see([\"https://example.com/a\", \"https://example.com/b\"])\n@remediation(\"log out\")\nrule one: count(user.sessions) <= 1\n\nrule bare: count(user.sessions) <= 0\n",
    )
    .unwrap();
    let tenant = dir.join("t.json");
    std::fs::write(&tenant, TENANT).unwrap();
    let (p, t) = (policy.to_str().unwrap(), tenant.to_str().unwrap());

    let (code, out, err) = run(&["check", "-p", p, t, "--format", "human", "--now", "2026-11-22T00:00:00Z"]);
    assert_eq!(code, Some(1), "{err}");
    let lines: Vec<&str> = out.lines().collect();
    let fix = lines.iter().position(|l| l.trim() == "fix: log out").expect(&out);
    assert_eq!(lines[fix + 1].trim(), "see: https://example.com/a https://example.com/b", "{out}");
    assert_eq!(out.matches("see:").count(), 1, "only the rule with sources has a see line:\n{out}");

    let (_, out, _) = run(&["check", "-p", p, t, "--format", "json", "--now", "2026-11-22T00:00:00Z"]);
    let doc: serde_json::Value = serde_json::from_str(&out).unwrap();
    let findings = doc["findings"].as_array().unwrap();
    assert_eq!(findings[0]["see"], serde_json::json!(["https://example.com/a", "https://example.com/b"]));
    assert!(findings[1].get("see").is_none(), "{}", findings[1]);

    let (_, out, _) = run(&["check", "-p", p, t, "--format", "jsonl", "--now", "2026-11-22T00:00:00Z"]);
    let first: serde_json::Value = serde_json::from_str(out.lines().next().unwrap()).unwrap();
    assert_eq!(first["see"], serde_json::json!(["https://example.com/a", "https://example.com/b"]), "{out}");

    let (_, out, err) = run(&["explain", "-p", p, "--rule", "one", t, "--now", "2026-11-22T00:00:00Z"]);
    assert!(out.contains("  see: https://example.com/a https://example.com/b\n"), "{out}{err}");
}

#[test]
fn fmt_keeps_see() {
    let text = "@see( \"https://example.com/p\" )\npolicy \"p\"\n@see([\"https://example.com/a\",\n  \"https://example.com/b\"])\nrule one: count(user.sessions) <= 1\n";
    let out = tenet::fmt::format(&SourceFile::new("p.tenet", text)).unwrap_or_else(|_| panic!("formats"));
    assert!(out.contains("@see(\"https://example.com/p\")\n"), "{out}");
    assert!(out.contains("@see([\"https://example.com/a\", \"https://example.com/b\"])\n"), "{out}");
}

// ------------------------------------------------------------------ the shipped packs

/// The comment lines directly above a rule (above its annotations, for `.tenet`; above
/// `- id:`, for YAML), joined.
fn leading_comment(text: &str, name_at: usize) -> String {
    let line_start = text[..name_at].rfind('\n').map_or(0, |i| i + 1);
    let mut comment = Vec::new();
    for line in text[..line_start].lines().rev() {
        let t = line.trim_start();
        if t.starts_with('@') {
            continue;
        }
        match t.strip_prefix('#') {
            Some(c) => comment.push(c.trim().to_string()),
            None => break,
        }
    }
    comment.reverse();
    comment.join(" ")
}

fn strings_of(a: &tenet::ast::Annotation) -> Vec<String> {
    match &a.value.node {
        tenet::ast::AnnotationValue::Expr(e) => match tenet::check::literal_value(e) {
            Some((tenet::value::Value::Str(s), _)) => vec![s.to_string()],
            Some((tenet::value::Value::List(items), _)) => items
                .iter()
                .map(|v| match v {
                    tenet::value::Value::Str(s) => s.to_string(),
                    other => panic!("not a string: {other:?}"),
                })
                .collect(),
            other => panic!("not a literal: {other:?}"),
        },
        tenet::ast::AnnotationValue::Word(w) => vec![w.clone()],
    }
}

/// Every shipped rule cites a vendor source; a rule tagged `best-practice` says so in its
/// comment ("Best practice (ours)") and a rule whose comment says so is tagged.
#[test]
fn every_shipped_rule_cites_its_source_and_best_practices_say_so() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("policies");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            let n = p.file_name().unwrap().to_string_lossy().into_owned();
            (n.ends_with(".tenet") || n.ends_with(".yaml")) && !n.ends_with(".test.yaml")
        })
        .collect();
    files.sort();
    assert!(files.len() >= 4, "{files:?}");
    let mut problems = Vec::new();
    let mut rules = 0;
    for path in files {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let text = std::fs::read_to_string(&path).unwrap();
        let parsed = tenet::parse::policy(&SourceFile::new(name.as_str(), text.as_str()));
        let policy = parsed.value.unwrap_or_else(|| panic!("{name} parses"));
        let policy_see = policy.annotations.iter().any(|a| a.name.node == "see");
        for r in &policy.rules {
            rules += 1;
            let rule = format!("{name}: {}", r.name.node);
            let see: Vec<String> = r.annotations.iter().filter(|a| a.name.node == "see").flat_map(strings_of).collect();
            if see.is_empty() && !policy_see {
                problems.push(format!("{rule}: no @see / see:"));
            }
            for url in &see {
                let vendor = url.starts_with("https://docs.oracle.com/en/cloud/saas/netsuite/")
                    || url.starts_with("https://github.com/frappe/frappe/blob/version-");
                if !vendor {
                    problems.push(format!(
                        "{rule}: `{url}` is not an Oracle NetSuite help page or a pinned frappe/frappe file"
                    ));
                }
            }
            let tagged = r
                .annotations
                .iter()
                .filter(|a| a.name.node == "tags")
                .flat_map(strings_of)
                .any(|t| t == "best-practice");
            let says = leading_comment(&text, r.name.span.start as usize).contains("Best practice (ours)");
            if tagged != says {
                problems.push(format!(
                    "{rule}: tagged best-practice = {tagged}, but its comment {} \"Best practice (ours)\"",
                    if says { "says" } else { "does not say" }
                ));
            }
        }
    }
    assert!(rules >= 15, "only {rules} rules found");
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn the_source_check_sees_a_missing_see_and_a_missing_best_practice_comment() {
    let text = "policy \"p\"\n\n# Best practice (ours): a cap.\n@tags([\"best-practice\"])\n@see(\"https://docs.oracle.com/en/cloud/saas/netsuite/x.html\")\nrule a: count(user.sessions) <= 3\n\n# A vendor rule.\n@tags([\"best-practice\"])\nrule b: count(user.sessions) <= 3\n";
    let policy = tenet::parse::policy(&SourceFile::new("p.tenet", text)).value.unwrap();
    let a = &policy.rules[0];
    let b = &policy.rules[1];
    assert!(leading_comment(text, a.name.span.start as usize).contains("Best practice (ours)"));
    assert!(!leading_comment(text, b.name.span.start as usize).contains("Best practice (ours)"));
    assert!(b.annotations.iter().all(|x| x.name.node != "see"));
}
