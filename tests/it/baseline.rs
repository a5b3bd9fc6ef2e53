//! `--baseline FILE` and `tenet baseline`: findings marked `new` or `existing`, only new
//! ones gate the run, and baselines that are not this tenet's JSON report are refused.

use super::scratch::scratch;
use super::waivers::{json, stderr, tenet, write, NOW, POLICY, TENANT};
use std::process::Command;

fn marks(doc: &serde_json::Value) -> Vec<String> {
    doc["findings"].as_array().unwrap().iter().map(|f| f["baseline"].as_str().unwrap_or("-").to_string()).collect()
}

#[test]
fn the_runs_own_report_as_baseline_makes_every_finding_existing() {
    let dir = scratch("baseline-own");
    let p = write(&dir, "caps.tenet", POLICY.as_bytes());
    let t = write(&dir, "t.json", TENANT.as_bytes());
    let first = tenet(&["check", "-p", &p, &t, "--now", NOW, "--format", "json"]);
    assert_eq!(first.status.code(), Some(1));
    let b = write(&dir, "report.json", &first.stdout);

    let again = tenet(&["check", "-p", &p, &t, "--now", NOW, "--format", "json", "--baseline", &b]);
    assert_eq!(again.status.code(), Some(0), "{}", stderr(&again));
    let doc = json(&again);
    assert_eq!(marks(&doc), ["existing"]);
    let s = &doc["summary"];
    assert_eq!((s["new"].as_u64(), s["existing"].as_u64(), s["fixed"].as_u64()), (Some(0), Some(1), Some(0)));

    // One more violation (u2 gets two sessions): exit 1, exactly one `new`.
    let worse = TENANT.replace(r#""sessions": []"#, r#""sessions": [{"id": "s3"}, {"id": "s4"}]"#);
    write(&dir, "t.json", worse.as_bytes());
    let out = tenet(&["check", "-p", &p, &t, "--now", NOW, "--format", "json", "--baseline", &b]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let doc = json(&out);
    assert_eq!(marks(&doc), ["existing", "new"]);
    assert_eq!(doc["findings"][1]["subject"]["id"], "u2");
    // The new finding is a fail of severity error; below `--fail-on` it would not gate.
    let out = tenet(&["check", "-p", &p, &t, "--now", NOW, "--format", "json", "--baseline", &b, "--fail-on", "never"]);
    assert_eq!(out.status.code(), Some(0));

    // Fixing u1 leaves u2's finding new and counts u1's as fixed; the human format says so.
    let fixed = worse.replace(r#"[{"id": "s1"}, {"id": "s2"}]"#, "[]");
    write(&dir, "t.json", fixed.as_bytes());
    let out = tenet(&["check", "-p", &p, &t, "--now", NOW, "--format", "human", "--baseline", &b]);
    let text = String::from_utf8_lossy(&out.stdout);
    // The place is the `sessions` field that decided the finding (line 3, column 16).
    assert!(text.contains("user u2 (users[1])  ") && text.contains("t.json:3:16  [new]"), "{text}");
    assert!(text.contains("baseline: 1 new, 0 existing, 1 fixed"), "{text}");
}

#[test]
fn the_fingerprint_ignores_messages_and_evidence() {
    let dir = scratch("baseline-msg");
    let p = write(&dir, "caps.tenet", POLICY.as_bytes());
    let t = write(&dir, "t.json", TENANT.as_bytes());
    let b = dir.join("b.json").to_string_lossy().into_owned();
    let out = tenet(&["baseline", "-p", &p, &t, "--now", NOW, "-o", &b]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stderr(&out).contains("1 findings of 1 tenants"), "{}", stderr(&out));
    // A third session changes the evidence; a reworded rule changes the message.
    let reworded = POLICY.replace("@code(\"CAP-1\")", "@code(\"CAP-1\")\n@message(\"too many sessions\")");
    write(&dir, "caps.tenet", reworded.as_bytes());
    write(&dir, "t.json", TENANT.replace(r#"{"id": "s2"}"#, r#"{"id": "s2"}, {"id": "s9"}"#).as_bytes());
    let out = tenet(&["check", "-p", &p, &t, "--now", NOW, "--format", "json", "--baseline", &b]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(marks(&json(&out)), ["existing"]);
}

#[test]
fn tenet_baseline_writes_nothing_when_a_tenant_cannot_be_read() {
    let dir = scratch("baseline-input");
    let p = write(&dir, "caps.tenet", POLICY.as_bytes());
    let bad = write(&dir, "bad.json", b"{");
    let b = dir.join("b.json");
    std::fs::write(&b, b"old").unwrap();
    let out = tenet(&["baseline", "-p", &p, &bad, "--now", NOW, "-o", &b.to_string_lossy()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("not written"), "{}", stderr(&out));
    assert_eq!(std::fs::read(&b).unwrap(), b"old", "the old baseline is kept");
}

#[test]
fn baselines_that_are_not_this_tenets_json_report_are_refused() {
    let dir = scratch("baseline-bad");
    let p = write(&dir, "caps.tenet", POLICY.as_bytes());
    let t = write(&dir, "t.json", TENANT.as_bytes());
    let fifo = dir.join("fifo.json");
    assert!(Command::new("mkfifo").arg(&fifo).status().unwrap().success());
    let huge = dir.join("huge.json");
    std::fs::File::create(&huge).unwrap().set_len(300 << 20).unwrap();
    let jsonl = tenet(&["check", "-p", &p, &t, "--now", NOW, "--format", "jsonl"]);
    let cases: Vec<(String, &str)> = vec![
        (
            write(&dir, "v2.json", br#"{"tenet": 2, "now": "x", "findings": [{"other": "shape"}]}"#),
            "is a report of tenet format version 2; this tenet reads version 1",
        ),
        (write(&dir, "v0.json", br#"{"tenet": "1"}"#), "format version \"1\""),
        (write(&dir, "other.json", br#"{"summary": {}}"#), "is not a tenet JSON report: it has no `tenet` field"),
        (
            write(&dir, "first.json", br#"{"findings": []}"#),
            "is not a tenet JSON report: `findings` before the `tenet` version field",
        ),
        (
            write(&dir, "broken.json", b"{\"tenet\": 1, \"findings\": [{\"rule\": 5}]}"),
            "is not a tenet JSON report: invalid type",
        ),
        (
            write(&dir, "utf8.json", b"{\"tenet\": 1, \"findings\": [{\"rule\": \"\xff\"}]}"),
            "is not a tenet JSON report",
        ),
        (write(&dir, "r.jsonl", &jsonl.stdout), "is a JSONL report; a baseline is a JSON report"),
        (fifo.to_string_lossy().into_owned(), "is not a regular file"),
        (huge.to_string_lossy().into_owned(), "is not a tenet JSON report"),
        (dir.join("missing.json").to_string_lossy().into_owned(), "missing.json"),
    ];
    for (b, wanted) in cases {
        let out = tenet(&["check", "-p", &p, &t, "--now", NOW, "--format", "json", "--baseline", &b]);
        assert_eq!(out.status.code(), Some(2), "{b}: {}", stderr(&out));
        assert!(stderr(&out).contains(wanted), "{b}: wanted `{wanted}` in {}", stderr(&out));
        assert!(out.stdout.is_empty(), "{b}: nothing evaluated");
    }
}
