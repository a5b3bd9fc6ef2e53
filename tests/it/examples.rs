//! The shipped packs on the shipped example tenants.
//!
//! `examples/tenants/EXPECTED.md` lists every planted violation, written by hand (and
//! cross-checked with an independent re-implementation of the rules) before the engine
//! could run them. This test parses its tables and demands exactly those findings, in
//! that order, and nothing else.

use std::process::Command;

/// `(tenant label, policy, rule, kind, subject id, path, status, severity, code)`
type Row = (String, String, String, String, String, String, String, String, String);

fn expected() -> Vec<Row> {
    let text = std::fs::read_to_string("examples/tenants/EXPECTED.md").unwrap();
    let mut rows = Vec::new();
    let mut tenant = None;
    for line in text.lines() {
        if line.starts_with("## ") {
            tenant = None;
        }
        if let Some(h) = line.strip_prefix("### ") {
            // ### `file` — tenant `id`
            let id = h.rsplit('`').nth(1).unwrap().to_string();
            tenant = Some(id);
            continue;
        }
        let Some(t) = &tenant else { continue };
        if !line.starts_with("| ") || line.starts_with("| policy") || line.starts_with("|---") {
            continue;
        }
        let cells: Vec<String> = line
            .trim_matches('|')
            .split('|')
            .map(|c| c.trim().trim_matches('`').trim_matches('"').to_string())
            .collect();
        assert_eq!(cells.len(), 8, "malformed row: {line}");
        rows.push((
            t.clone(),
            cells[0].clone(),
            cells[1].clone(),
            cells[2].clone(),
            cells[3].clone(),
            cells[4].clone(),
            cells[5].clone(),
            cells[6].clone(),
            cells[7].clone(),
        ));
    }
    rows
}

fn actual(extra: &[&str]) -> (serde_json::Value, i32) {
    let out = Command::new(env!("CARGO_BIN_EXE_tenet"))
        .args(["check", "-p", "policies", "examples/tenants", "--now", "2026-11-22T00:00:00Z", "--format", "json"])
        .args(extra)
        .output()
        .unwrap();
    let v: serde_json::Value =
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stderr)));
    (v, out.status.code().unwrap())
}

#[test]
fn every_planted_violation_and_nothing_else() {
    let want = expected();
    assert!(want.len() > 30, "EXPECTED.md parsed to only {} rows", want.len());
    let (report, code) = actual(&[]);
    let got: Vec<Row> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            let s = |v: &serde_json::Value| v.as_str().unwrap_or("").to_string();
            (
                s(&f["tenant"]),
                s(&f["policy"]),
                s(&f["rule"]),
                s(&f["subject"]["kind"]),
                s(&f["subject"]["id"]),
                s(&f["subject"]["path"]),
                s(&f["status"]),
                s(&f["severity"]),
                s(&f["code"]),
            )
        })
        .collect();
    for (i, (w, g)) in want.iter().zip(got.iter()).enumerate() {
        assert_eq!(w, g, "finding #{i} differs");
    }
    assert_eq!(want.len(), got.len(), "number of findings");
    // Complete data never produces an `error` finding.
    assert_eq!(report["summary"]["error"], 0);
    assert_eq!(code, 1, "fail findings of severity error give exit code 1");
}

#[test]
fn every_fail_has_a_message_and_remediation() {
    let (report, _) = actual(&[]);
    for f in report["findings"].as_array().unwrap() {
        let msg = f["message"].as_str().unwrap();
        assert!(!msg.contains("{?}"), "message could not be rendered: {msg}");
        assert!(f["remediation"].as_str().is_some_and(|r| r.len() > 20), "no remediation: {f}");
        // Every shipped rule cites its source (docs/SOURCES.md).
        assert!(f["see"].as_array().is_some_and(|s| !s.is_empty()), "no source: {f}");
        let evidence = f["evidence"].as_object().unwrap_or_else(|| panic!("no evidence: {f}"));
        assert!(!evidence.is_empty(), "empty evidence: {f}");
        for (k, v) in evidence {
            assert!(!v.to_string().contains("<error"), "evidence `{k}` could not be evaluated: {f}");
        }
    }
}

#[test]
fn fail_on_never_and_rule_filter() {
    let (_, code) = actual(&["--fail-on", "never"]);
    assert_eq!(code, 0);
    let (report, code) = actual(&["--rule", "netsuite-2026.1.soap_maintenance_mode"]);
    assert_eq!(code, 0, "warning findings are below the default --fail-on error");
    let findings = report["findings"].as_array().unwrap();
    assert_eq!(findings.len(), 3);
    assert!(findings.iter().all(|f| f["rule"] == "soap_maintenance_mode"));
    let (_, code) = actual(&["--rule", "netsuite-2026.1.soap_maintenance_mode", "--fail-on", "warning"]);
    assert_eq!(code, 1);
}

#[test]
fn thread_count_does_not_change_a_byte() {
    let run = |j: &str| {
        Command::new(env!("CARGO_BIN_EXE_tenet"))
            .args([
                "check",
                "-p",
                "policies",
                "examples/tenants",
                "--now",
                "2026-11-22T00:00:00Z",
                "--format",
                "json",
                "-j",
                j,
            ])
            .output()
            .unwrap()
            .stdout
    };
    let one = run("1");
    assert!(!one.is_empty());
    assert_eq!(one, run("2"));
    assert_eq!(one, run("4"));
}

#[test]
fn human_report_of_the_examples() {
    let out = Command::new(env!("CARGO_BIN_EXE_tenet"))
        .args(["check", "-p", "policies", "examples/tenants", "--now", "2026-11-22T00:00:00Z", "--format", "human"])
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    insta::assert_snapshot!(String::from_utf8(out.stdout).unwrap());
}
