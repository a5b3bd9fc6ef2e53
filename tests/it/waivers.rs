//! `--waivers FILE` on `check` and `lint`: waived findings, expiry, stale waivers, and
//! every mistake in a waiver file as a diagnostic with a span (exit 2).

use super::scratch::{scratch, Scratch};
use std::path::Path;
use std::process::{Command, Output};

pub fn tenet(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tenet")).args(args).output().unwrap()
}

pub fn write(dir: &Path, name: &str, content: &[u8]) -> String {
    let p = dir.join(name);
    std::fs::write(&p, content).unwrap();
    p.to_string_lossy().into_owned()
}

pub fn json(out: &Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}\nstdout: {}\nstderr: {}", String::from_utf8_lossy(&out.stdout), stderr(out)))
}

pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

pub const NOW: &str = "2026-11-22T00:00:00Z";

/// One error rule (per user) and one warning rule (per tenant).
pub const POLICY: &str = r#"policy "caps"
@severity(error)
@code("CAP-1")
rule one_session: count(user.sessions) <= 1
@severity(warning)
rule few_users: count(users) <= 5
"#;

/// A tenant whose only finding is `caps/one_session` on user u1.
pub const TENANT: &str = r#"{"id": "t-1", "users": [
  {"id": "u1", "sessions": [{"id": "s1"}, {"id": "s2"}]},
  {"id": "u2", "sessions": []}
]}"#;

fn waiver(expires: &str) -> String {
    format!(
        "# accepted risks\nwaivers:\n  - rule: caps/one_session\n    tenant: t-*\n    subject: u1\n    reason: shared kiosk account\n    owner: ops@example.com\n    ticket: 4711\n    expires: {expires}\n"
    )
}

fn setup(name: &str, waivers: &str) -> (Scratch, String, String, String) {
    let dir = scratch(name);
    let p = write(&dir, "caps.tenet", POLICY.as_bytes());
    let t = write(&dir, "t.json", TENANT.as_bytes());
    let w = write(&dir, "waivers.yaml", waivers.as_bytes());
    (dir, p, t, w)
}

#[test]
fn a_waiver_for_the_only_error_makes_the_run_pass() {
    let (_d, p, t, w) = setup("waived", &waiver("2027-01-31"));
    let plain = tenet(&["check", "-p", &p, &t, "--now", NOW, "--format", "json"]);
    assert_eq!(plain.status.code(), Some(1), "{}", stderr(&plain));
    assert_eq!(json(&plain)["summary"].get("waived"), None, "no waivers, no `waived` count");

    let out = tenet(&["check", "-p", &p, &t, "--now", NOW, "--format", "json", "--waivers", &w]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let doc = json(&out);
    let findings = doc["findings"].as_array().unwrap();
    assert_eq!(findings.len(), 1);
    let f = &findings[0];
    assert_eq!(f["status"], "waived");
    assert_eq!(
        f["waiver"],
        serde_json::json!({"status": "fail", "reason": "shared kiosk account", "owner": "ops@example.com",
                           "ticket": "4711", "expires": "2027-01-31", "file": w, "line": 3})
    );
    let s = &doc["summary"];
    assert_eq!((s["fail"].as_u64(), s["waived"].as_u64(), s["error"].as_u64()), (Some(0), Some(1), Some(0)));
    assert_eq!(s["fail_by_severity"]["error"], 0);
    assert_eq!(s.get("stale_waivers"), None);

    // JSONL carries the same finding; the human format shows it dim with its reason.
    let jsonl = tenet(&["check", "-p", &p, &t, "--now", NOW, "--format", "jsonl", "--waivers", &w]);
    assert_eq!(jsonl.status.code(), Some(0));
    let first: serde_json::Value = serde_json::from_slice(jsonl.stdout.split(|&b| b == b'\n').next().unwrap()).unwrap();
    assert_eq!((&first["status"], &first["waiver"]["reason"]), (&f["status"], &f["waiver"]["reason"]));
    let human = tenet(&["check", "-p", &p, &t, "--now", NOW, "--format", "human", "--waivers", &w]);
    let text = String::from_utf8_lossy(&human.stdout);
    assert!(text.contains("  waived  caps/one_session  user u1 (users[0])"), "{text}");
    assert!(
        text.contains(&format!(
            "waived: shared kiosk account (owner ops@example.com, ticket 4711, expires 2027-01-31, {w}:3)"
        )),
        "{text}"
    );
    assert!(text.contains("waivers: 1 findings waived, 0 stale waivers"), "{text}");
}

#[test]
fn an_expired_waiver_no_longer_applies_and_says_so() {
    let (_d, p, t, w) = setup("expired", &waiver("2026-11-21"));
    let out = tenet(&["check", "-p", &p, &t, "--now", NOW, "--format", "json", "--waivers", &w]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let doc = json(&out);
    let f = &doc["findings"][0];
    assert_eq!(f["status"], "fail");
    assert_eq!(f.get("waiver"), None);
    assert_eq!(f["waiver_expired"]["expires"], "2026-11-21");
    assert_eq!(f["waiver_expired"]["reason"], "shared kiosk account");
    assert_eq!(doc["summary"]["waived"], 0);
    assert_eq!(doc["summary"].get("stale_waivers"), None, "an expired waiver that matched is not stale");
    // The day given is the last day the waiver holds.
    let (_d, p, t, w) = setup("last-day", &waiver("2026-11-22"));
    let out = tenet(&["check", "-p", &p, &t, "--now", "2026-11-22T23:59:59Z", "--waivers", &w, "--format", "json"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
}

#[test]
fn a_waiver_that_matches_nothing_is_reported_stale() {
    let text = format!("{}  - rule: CAP-1\n    tenant: t-9\n    reason: tenant since deleted\n", waiver("2027-01-31"));
    let (_d, p, t, w) = setup("stale", &text);
    let out = tenet(&["check", "-p", &p, &t, "--now", NOW, "--format", "json", "--waivers", &w]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let doc = json(&out);
    assert_eq!(
        doc["summary"]["stale_waivers"],
        serde_json::json!([{"file": w, "line": 10, "rule": "CAP-1", "tenant": "t-9"}])
    );
    assert!(
        stderr(&out).contains(&format!("warning: {w}:10: the waiver for `CAP-1` matched no finding")),
        "{}",
        stderr(&out)
    );
    // A waiver of a rule left out with `--rule` is not stale: the rule did not run.
    let out = tenet(&["check", "-p", &p, &t, "--now", NOW, "--format", "json", "--waivers", &w, "--rule", "few_users"]);
    assert_eq!(json(&out)["summary"].get("stale_waivers"), None);
}

/// The rendered diagnostics (stderr) of a waiver file that must be refused with exit 2.
fn refused(name: &str, text: &[u8]) -> String {
    let dir = scratch(name);
    let p = write(&dir, "caps.tenet", POLICY.as_bytes());
    let t = write(&dir, "t.json", TENANT.as_bytes());
    let w = write(&dir, "w.yaml", text);
    let out = tenet(&["check", "-p", &p, &t, "--now", NOW, "--format", "json", "--waivers", &w]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(out.stdout.is_empty(), "nothing is evaluated");
    stderr(&out).replace(&w, "w.yaml")
}

#[test]
fn every_mistake_in_a_waiver_file_is_a_diagnostic_with_a_span() {
    let cases: &[(&str, &[u8], &[&str])] = &[
        (
            "unknown-key",
            b"waivers:\n  - rule: caps/one_session\n    reason: r\n    expire: 2027-01-01\n",
            &["T080", "unknown key `expire` in a waiver", "w.yaml:4:5", "did you mean `expires`?"],
        ),
        (
            "no-reason",
            b"waivers:\n  - rule: caps/one_session\n    owner: me\n",
            &["waiver without `reason`", "w.yaml:2:5", "add `reason: …`"],
        ),
        (
            "bad-date",
            b"waivers:\n  - rule: caps/one_session\n    reason: r\n    expires: 2027-02-30\n",
            &["`2027-02-30` is not a date", "w.yaml:4:14"],
        ),
        (
            "unknown-rule",
            b"waivers:\n  - rule: caps/one_sesion\n    reason: r\n",
            &["no rule `caps/one_sesion` in the loaded policies", "w.yaml:2:11", "did you mean `caps/one_session`?"],
        ),
        ("not-yaml", b"waivers:\n  - rule: [\n", &["T080", "invalid YAML", "w.yaml:"]),
        (
            "not-a-list",
            b"waivers: caps/one_session\n",
            &["`waivers` is a list of entries, not a string", "w.yaml:1:10"],
        ),
        ("no-waivers", b"rules: []\n", &["unknown key `rules` in a waiver file", "missing `waivers` list"]),
        (
            "bad-utf8",
            b"waivers:\n  - rule: caps/one_session\n    reason: \xff\n",
            &["invalid UTF-8 at byte 48", "w.yaml:3:13"],
        ),
    ];
    for (name, text, wanted) in cases {
        let err = refused(name, text);
        for w in *wanted {
            assert!(err.contains(w), "{name}: `{w}` not in\n{err}");
        }
    }
}

#[test]
fn hostile_waiver_files_are_refused_by_name() {
    let dir = scratch("hostile");
    let p = write(&dir, "caps.tenet", POLICY.as_bytes());
    let t = write(&dir, "t.json", TENANT.as_bytes());
    let fifo = dir.join("fifo.yaml");
    assert!(Command::new("mkfifo").arg(&fifo).status().unwrap().success());
    let huge = dir.join("huge.yaml");
    std::fs::File::create(&huge).unwrap().set_len(65 << 20).unwrap();
    for (w, wanted) in [
        (fifo.to_string_lossy().into_owned(), "is not a regular file"),
        (huge.to_string_lossy().into_owned(), "is larger than 64 MiB"),
        (dir.join("missing.yaml").to_string_lossy().into_owned(), "missing.yaml"),
        (dir.to_string_lossy().into_owned(), "is a directory"),
    ] {
        let out = tenet(&["check", "-p", &p, &t, "--now", NOW, "--waivers", &w]);
        assert_eq!(out.status.code(), Some(2), "{w}: {}", stderr(&out));
        assert!(stderr(&out).contains(wanted), "{w}: {}", stderr(&out));
    }
}

#[test]
fn lint_checks_waiver_files_against_the_policies() {
    let (_d, p, _t, w) = setup("lint", &waiver("2026-01-31"));
    let out = tenet(&["lint", "-p", &p, "--waivers", &w, "--now", NOW]);
    assert_eq!(out.status.code(), Some(0), "expiry is a warning: {}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains(&format!("warning: {w}:3: the waiver for `caps/one_session` expired on 2026-01-31")), "{err}");
    assert!(err.contains("1 waiver (1 expired): no problems found"), "{err}");
    let dir = scratch("lint-bad");
    let bad = write(&dir, "w.yaml", b"waivers:\n  - rule: nope\n    reason: r\n");
    let out = tenet(&["lint", "-p", &p, "--waivers", &bad]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("no rule `nope` in the loaded policies"), "{}", stderr(&out));
}
