//! Messages on standard error quote what the user typed and what files hold: control
//! characters never reach the terminal raw, and a huge value is not echoed whole.

use std::process::Command;

use super::scratch::Scratch;

/// A scratch directory with a policy `p.tenet` and a tenant `t.json`.
#[track_caller]
fn scratch(name: &str) -> Scratch {
    let d = super::scratch::scratch(name);
    std::fs::write(d.join("p.tenet"), "policy \"p\"\nmax = 3\nrule r: plan.seats > max\n").unwrap();
    std::fs::write(d.join("t.json"), r#"{"id": "t", "plan": {"seats": 1}}"#).unwrap();
    d
}

fn stderr_of(d: &std::path::Path, args: &[&str]) -> (Option<i32>, String) {
    let o = Command::new(env!("CARGO_BIN_EXE_tenet")).args(args).current_dir(d).output().unwrap();
    (o.status.code(), String::from_utf8_lossy(&o.stderr).into_owned())
}

#[test]
fn command_line_values_in_errors_are_escaped() {
    let d = scratch("escape");
    let hostile = "x\u{1b}]0;pwned\u{7}\u{1b}[2J";
    for args in [
        vec!["check", "-p", "p.tenet", "t.json", "--rule", hostile],
        vec!["check", "-p", "p.tenet", "t.json", "--set", &format!("max={hostile}")],
        vec!["check", "-p", "p.tenet", "t.json", "--now", hostile],
    ] {
        let (code, err) = stderr_of(&d, &args);
        assert_eq!(code, Some(2), "{args:?}: {err}");
        assert!(!err.contains('\u{1b}') && !err.contains('\u{7}'), "{args:?}: raw control characters in {err:?}");
        assert!(err.contains("\\u{1b}"), "{args:?}: {err:?}");
    }
}

#[test]
fn a_huge_value_is_not_echoed_whole() {
    let d = scratch("huge");
    let now = "9".repeat(100_000);
    let (code, err) = stderr_of(&d, &["check", "-p", "p.tenet", "t.json", "--now", &now]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.len() < 5_000, "{} bytes of stderr", err.len());
    assert!(err.contains("more characters"), "{err}");
}

#[test]
fn a_report_spool_that_cannot_be_created_is_named_as_such() {
    let d = scratch("spool");
    std::fs::write(d.join("u.tenet"), "policy \"u\"\nrule r: user.session_cap > 5\n").unwrap();
    // Enough findings to pass the JSON report's 8 MB in memory, so it spills to a file.
    let users: Vec<String> = (0..60_000).map(|i| format!(r#"{{"id": "user-{i}"}}"#)).collect();
    std::fs::write(d.join("many.json"), format!(r#"{{"id": "t", "users": [{}]}}"#, users.join(","))).unwrap();
    let o = Command::new(env!("CARGO_BIN_EXE_tenet"))
        .args(["check", "-p", "u.tenet", "many.json", "--format", "json"])
        .env("TMPDIR", d.join("no-such-dir"))
        .current_dir(&d)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains("temporary file") && err.contains("TMPDIR"), "{err}");
    assert!(!err.contains("standard output"), "{err}");
}

#[test]
fn a_run_that_checks_nothing_says_so() {
    let d = scratch("nothing");
    std::fs::create_dir_all(d.join("empty")).unwrap();
    let (code, err) = stderr_of(&d, &["check", "-p", "p.tenet", "empty", "--format", "json"]);
    assert_eq!(code, Some(0), "{err}");
    assert!(err.contains("warning: no tenants were read from empty"), "{err}");
}

/// A file named with `-p` that is not a policy by its name is not read: a diagnostic would
/// otherwise quote its first lines (`-p /etc/passwd`).
#[test]
fn a_policy_path_that_is_not_a_policy_file_is_not_read() {
    let d = scratch("notpolicy");
    std::fs::write(d.join("secret"), "root:x:0:0:hunter2\n").unwrap();
    let (code, err) = stderr_of(&d, &["lint", "-p", "secret"]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("not a policy file"), "{err}");
    assert!(!err.contains("hunter2"), "{err}");
}
