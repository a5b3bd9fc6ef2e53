//! `tenet test`: the policy test harness, through the binary (cli.md "Policy tests").

use super::scratch::scratch;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// Runs `tenet test ARGS` in `dir`.
fn tenet_test(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tenet")).arg("test").args(args).current_dir(dir).output().unwrap()
}

/// Runs `tenet test ARGS` in `dir`, failing the test if it has not ended after `secs`
/// seconds (for inputs that used to block forever).
#[cfg(unix)]
fn tenet_test_within(dir: &Path, args: &[&str], secs: u64) -> Output {
    use std::process::Stdio;
    let mut child = Command::new(env!("CARGO_BIN_EXE_tenet"))
        .arg("test")
        .args(args)
        .current_dir(dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let start = std::time::Instant::now();
    while child.try_wait().unwrap().is_none() {
        if start.elapsed() > std::time::Duration::from_secs(secs) {
            child.kill().unwrap();
            panic!("`tenet test {}` did not end within {secs} s", args.join(" "));
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    child.wait_with_output().unwrap()
}

/// Diagnostics as one line: miette's line wrapping and gutters removed.
fn flat(text: &str) -> String {
    text.replace('│', " ").split_whitespace().collect::<Vec<_>>().join(" ")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn code(o: &Output) -> i32 {
    o.status.code().unwrap()
}

fn last_line(o: &Output) -> String {
    stdout(o).lines().last().unwrap_or("").to_string()
}

fn write(dir: &Path, name: &str, content: &str) {
    let p = dir.join(name);
    if let Some(parent) = p.parent() {
        std::fs::create_dir_all(parent).unwrap();
    }
    std::fs::write(p, content).unwrap();
}

fn show(o: &Output) -> String {
    format!("exit {:?}\n--- stdout\n{}--- stderr\n{}", o.status.code(), stdout(o), stderr(o))
}

const POLICY: &str = r#"policy "caps"
max_sessions = 2
@severity(warning)
@message("{user.id} has {count(user.sessions)} sessions")
rule session_cap: count(user.sessions) <= max_sessions
rule cap_set: user.session_cap >= 1
rule named when has(tenant.name): len(tenant.name) > 0
"#;

const GOOD: &str = r#"policy: caps.tenet
now: 2026-11-22T00:00:00Z
cases:
  - name: three sessions fail
    tenant:
      id: t1
      users: [{id: u1, sessions: [{}, {}, {}]}]
    expect:
      - {rule: session_cap, subject: u1, status: fail, severity: warning, message: u1 has 3 sessions}
  - name: clean tenant passes
    tenant: {id: t2, users: [{id: u1, sessions: [{}]}]}
    expect: pass
"#;

#[test]
fn passing_cases_print_ok_lines_and_exit_0() {
    let d = scratch("pass");
    write(&d, "caps.tenet", POLICY);
    write(&d, "caps.test.yaml", GOOD);
    let o = tenet_test(&d, &[]);
    assert_eq!(code(&o), 0, "{}", show(&o));
    assert_eq!(
        stdout(&o),
        "ok     caps.test.yaml › three sessions fail\nok     caps.test.yaml › clean tenant passes\n2 passed, 0 failed\n"
    );
}

#[test]
fn a_broken_expectation_gives_a_diff_and_exit_1() {
    let d = scratch("broken");
    write(&d, "caps.tenet", POLICY);
    write(
        &d,
        "caps.test.yaml",
        r#"policy: caps.tenet
now: 2026-11-22T00:00:00Z
cases:
  - name: wrong subject
    tenant:
      id: t1
      users: [{id: u1, sessions: [{}, {}, {}]}, {id: u2, session_cap: 0}]
    expect:
      - {rule: session_cap, subject: u2}
      - {rule: cap_set, subject: u2}
  - name: expected clean
    tenant: {id: t2, users: [{id: u1, sessions: [{}, {}, {}]}]}
    expect: pass
  - name: still fine
    tenant: {id: t3}
    expect: pass
"#,
    );
    let o = tenet_test(&d, &[]);
    assert_eq!(code(&o), 1, "{}", show(&o));
    let out = stdout(&o);
    let expected = "\
FAILED caps.test.yaml › wrong subject
       expected, not found (1):
         - {rule: session_cap, subject: u2}   (line 9)
       found, not expected (1):
         + caps/session_cap users[0] (u1) fail warning: u1 has 3 sessions
";
    assert!(out.starts_with(expected), "{}", show(&o));
    assert!(
        out.contains("       matched (1):\n         = caps/cap_set users[1] (u2) fail error: user.session_cap >= 1\n"),
        "{out}"
    );
    assert!(out.contains("FAILED caps.test.yaml › expected clean\n       expected no findings (expect: pass), found 1 finding:\n         + caps/session_cap users[0] (u1) fail warning: u1 has 3 sessions\n"), "{out}");
    assert!(out.contains("ok     caps.test.yaml › still fine\n"), "{out}");
    assert_eq!(last_line(&o), "1 passed, 2 failed");
}

#[test]
fn evidence_is_shown_under_unexpected_findings_when_present() {
    let d = scratch("evidence");
    write(&d, "caps.tenet", POLICY);
    write(
        &d,
        "caps.test.yaml",
        "policy: caps.tenet\ncases:\n  - name: c\n    tenant: {users: [{id: u1, sessions: [{}, {}, {}]}]}\n    expect: pass\n",
    );
    let o = tenet_test(&d, &[]);
    assert_eq!(code(&o), 1, "{}", show(&o));
    // Evidence is optional on findings; when the engine gives it, it follows the finding.
    let out = stdout(&o);
    let i = out.find("+ caps/session_cap users[0] (u1)").unwrap();
    let next = out[i..].lines().nth(1).unwrap();
    if next.trim_start().starts_with("because:") {
        assert!(next.contains("count(user.sessions) = 3"), "{out}");
    }
}

#[test]
fn expectations_are_matched_to_distinct_findings_exactly() {
    let d = scratch("matching");
    write(&d, "caps.tenet", POLICY);
    // The broad expectation (any session_cap finding) is listed first; a greedy matcher
    // would give it u1's finding and leave the narrow one unmatched.
    write(
        &d,
        "caps.test.yaml",
        r#"policy: caps.tenet
cases:
  - name: broad then narrow
    tenant: {users: [{id: u1, sessions: [{}, {}, {}]}, {id: u2, sessions: [{}, {}, {}]}]}
    expect:
      - {rule: session_cap}
      - {rule: caps.session_cap, subject: u1}
  - name: one expectation cannot match two findings
    tenant: {users: [{id: u1, sessions: [{}, {}, {}]}, {id: u2, sessions: [{}, {}, {}]}]}
    expect:
      - {rule: session_cap}
  - name: subject by path
    tenant: {users: [{id: u1}, {id: u2, session_cap: 0}]}
    expect:
      - {subject: "users[1]", status: fail, code: cap_set, policy: caps}
"#,
    );
    let o = tenet_test(&d, &[]);
    let out = stdout(&o);
    assert!(out.contains("ok     caps.test.yaml › broad then narrow\n"), "{}", show(&o));
    assert!(out.contains("FAILED caps.test.yaml › one expectation cannot match two findings\n"), "{out}");
    assert!(out.contains("found, not expected (1):\n         + caps/session_cap users[1] (u2)"), "{out}");
    assert!(out.contains("ok     caps.test.yaml › subject by path\n"), "{out}");
    assert_eq!(last_line(&o), "2 passed, 1 failed");
    assert_eq!(code(&o), 1);
}

#[test]
fn a_missing_snapshot_fails_update_writes_it_and_the_next_run_passes() {
    let d = scratch("snapshot");
    write(&d, "caps.tenet", POLICY);
    write(
        &d,
        "fixtures/t.json",
        r#"{"id": "t1", "users": [{"id": "u1", "sessions": [{}, {}, {}]}, {"id": "u2", "session_cap": 0}]}"#,
    );
    write(
        &d,
        "tests/caps.test.yaml",
        "policy: ../caps.tenet\nnow: 2026-11-22T00:00:00Z\ncases:\n  - name: Big Tenant (pinned)\n    tenant_file: ../fixtures/t.json\n    snapshot: true\n",
    );
    let snap = d.join("tests/__snapshots__/caps/big-tenant-pinned.json");

    let o = tenet_test(&d, &[]);
    assert_eq!(code(&o), 1, "{}", show(&o));
    assert!(
        stdout(&o).contains("snapshot tests/__snapshots__/caps/big-tenant-pinned.json does not exist; run `tenet test --update` to write it (2 findings)"),
        "{}",
        show(&o)
    );
    assert!(!snap.exists());

    let o = tenet_test(&d, &["--update"]);
    assert_eq!(code(&o), 0, "{}", show(&o));
    assert!(stdout(&o).contains("wrote new snapshot tests/__snapshots__/caps/big-tenant-pinned.json"), "{}", show(&o));
    let stored: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&snap).unwrap()).unwrap();
    let rules: Vec<&str> = stored.as_array().unwrap().iter().map(|f| f["rule"].as_str().unwrap()).collect();
    assert_eq!(rules, ["session_cap", "cap_set"]);
    // The fixture is named as the test file names it, whatever the working directory.
    assert_eq!(stored[0]["source"], "../fixtures/t.json");
    assert_eq!(stored[0]["tenant"], "t1");

    let o = tenet_test(&d, &[]);
    assert_eq!(code(&o), 0, "{}", show(&o));
    assert_eq!(last_line(&o), "1 passed, 0 failed");
    // Same result from another directory (which the test's `../` paths leave: allowed
    // explicitly, see `paths_in_test_files_stay_inside_the_tree`).
    let o = tenet_test(&d.join("tests"), &[".", "--allow-outside-paths"]);
    assert_eq!(code(&o), 0, "{}", show(&o));

    // A changed finding is a diff; --update says it updated the snapshot.
    write(
        &d,
        "fixtures/t.json",
        r#"{"id": "t1", "users": [{"id": "u1", "sessions": [{}, {}, {}, {}]}, {"id": "u2", "session_cap": 0}]}"#,
    );
    let o = tenet_test(&d, &[]);
    assert_eq!(code(&o), 1, "{}", show(&o));
    let out = stdout(&o);
    assert!(
        out.contains("snapshot tests/__snapshots__/caps/big-tenant-pinned.json differs (- stored, + now)"),
        "{out}"
    );
    assert!(out.contains("- caps/session_cap users[0] (u1) fail warning: u1 has 3 sessions"), "{out}");
    assert!(out.contains("+ caps/session_cap users[0] (u1) fail warning: u1 has 4 sessions"), "{out}");
    let o = tenet_test(&d, &["--update"]);
    assert_eq!(code(&o), 0, "{}", show(&o));
    assert!(stdout(&o).contains("updated snapshot tests/__snapshots__/caps/big-tenant-pinned.json"), "{}", show(&o));
    assert!(stdout(&o).contains("1 snapshot written\n"), "{}", show(&o));
    let o = tenet_test(&d, &[]);
    assert_eq!(code(&o), 0, "{}", show(&o));
    assert!(!stdout(&o).contains("written"), "{}", show(&o));
}

#[test]
fn an_unknown_key_is_a_diagnostic_and_the_other_files_still_run() {
    let d = scratch("unknown-key");
    write(&d, "caps.tenet", POLICY);
    write(&d, "a.test.yaml", GOOD);
    write(&d, "b.test.yaml", "policy: caps.tenet\ncases:\n  - name: typo\n    tenantt: {id: t1}\n    expect: pass\n");
    let o = tenet_test(&d, &[]);
    assert_eq!(code(&o), 2, "{}", show(&o));
    let err = stderr(&o);
    assert!(err.contains("T070"), "{err}");
    assert!(err.contains("unknown key `tenantt` in a test case"), "{err}");
    assert!(err.contains("b.test.yaml:4:5]"), "{err}");
    assert!(err.contains(" 4 │     tenantt: {id: t1}\n   ·     ───┬───\n   ·        ╰── unknown key"), "{err}");
    assert!(err.contains("did you mean `tenant`?"), "{err}");
    let out = stdout(&o);
    assert!(out.contains("ok     a.test.yaml › three sessions fail\n"), "{out}");
    assert!(out.contains("ok     a.test.yaml › clean tenant passes\n"), "{out}");
    assert!(out.contains("ERROR  b.test.yaml ("), "{out}");
    assert_eq!(last_line(&o), "2 passed, 0 failed");
}

#[test]
fn test_file_mistakes_point_into_the_test_file() {
    let d = scratch("mistakes");
    write(&d, "caps.tenet", POLICY);
    write(&d, "broken.tenet", "policy \"broken\"\nrule a: role.twofa\n");
    write(&d, "a.test.yaml", "policy: broken.tenet\ncases:\n  - name: x\n    tenant: {}\n    expect: pass\n");
    write(
        &d,
        "b.test.yaml",
        r#"policy: caps.tenet
set: {max_sesions: 3}
cases:
  - name: x
    tenant_file: fixtures/nope.yaml
    expect: [{rule: sesion_cap, status: pass}]
"#,
    );
    write(&d, "c.test.yaml", GOOD);
    let o = tenet_test(&d, &[]);
    assert_eq!(code(&o), 2, "{}", show(&o));
    let err = stderr(&o);
    // The policy's own diagnostic, then where the test file names it.
    assert!(err.contains("unknown field `role.twofa`"), "{err}");
    assert!(err.contains("the policy under test does not check"), "{err}");
    assert!(err.contains("a.test.yaml:1:9]"), "{err}");
    assert!(err.contains("no parameter `max_sesions` in the policies under test"), "{err}");
    assert!(err.contains("did you mean `max_sessions`?"), "{err}");
    assert!(err.contains("tenant file `fixtures/nope.yaml` does not exist"), "{err}");
    assert!(err.contains("b.test.yaml:5:18]"), "{err}");
    assert!(err.contains("findings are `fail` or `error`, never `pass`"), "{err}");
    assert!(err.contains("did you mean `session_cap`?"), "{err}");
    let out = stdout(&o);
    assert!(out.contains("ERROR  a.test.yaml (2 problems; its cases did not run)\n"), "{out}");
    assert!(out.contains("ERROR  b.test.yaml (4 problems; its cases did not run)\n"), "{out}");
    assert!(out.contains("2 test files could not run"), "{out}");
    assert_eq!(last_line(&o), "2 passed, 0 failed");
}

#[test]
fn filter_runs_matching_cases_only() {
    let d = scratch("filter");
    write(&d, "caps.tenet", POLICY);
    write(&d, "caps.test.yaml", GOOD);
    let o = tenet_test(&d, &["--filter", "clean"]);
    assert_eq!(code(&o), 0, "{}", show(&o));
    assert_eq!(stdout(&o), "ok     caps.test.yaml › clean tenant passes\n1 passed, 0 failed\n");
    // The file name is part of what the filter sees.
    let o = tenet_test(&d, &["--filter", "caps.test.yaml › three"]);
    assert_eq!(last_line(&o), "1 passed, 0 failed", "{}", show(&o));
    let o = tenet_test(&d, &["--filter", "nothing like it"]);
    assert_eq!(code(&o), 0, "{}", show(&o));
    assert_eq!(last_line(&o), "0 passed, 0 failed");
}

#[test]
fn coverage_table_and_minimum() {
    let d = scratch("coverage");
    write(&d, "caps.tenet", POLICY);
    write(&d, "caps.test.yaml", GOOD);
    // `named` is never seen failing; `session_cap` and `cap_set`... only session_cap fails.
    let o = tenet_test(&d, &["--coverage"]);
    assert_eq!(code(&o), 0, "{}", show(&o));
    let out = stdout(&o);
    assert!(out.contains("  policy  rule         pass  fail  skip\n"), "{out}");
    assert!(out.contains("  caps    session_cap   ✓     ✓     ·\n"), "{out}");
    assert!(out.contains("  caps    cap_set       ✓     ·     ·\n"), "{out}");
    assert!(out.contains("  caps    named         ·     ·     ✓\n"), "{out}");
    assert!(out.contains("rules seen failing: 1 of 3 (33.3%)\n"), "{out}");
    assert_eq!(last_line(&o), "2 passed, 0 failed");

    let o = tenet_test(&d, &["--coverage-min", "30"]);
    assert_eq!(code(&o), 0, "{}", show(&o));
    let o = tenet_test(&d, &["--coverage-min", "50%"]);
    assert_eq!(code(&o), 1, "{}", show(&o));
    let out = stdout(&o);
    assert!(out.contains("coverage below --coverage-min 50%: 33.3% of rules seen failing; never seen failing:\n  caps/cap_set\n  caps/named\n"), "{out}");
    assert_eq!(last_line(&o), "2 passed, 0 failed");
    let o = tenet_test(&d, &["--coverage-min", "150"]);
    assert_eq!(code(&o), 2, "{}", show(&o));
}

#[test]
fn coverage_json_is_alone_on_stdout() {
    let d = scratch("coverage-json");
    write(&d, "caps.tenet", POLICY);
    write(&d, "caps.test.yaml", GOOD);
    let o = tenet_test(&d, &["--coverage-format", "json"]);
    assert_eq!(code(&o), 0, "{}", show(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(
        v["rules"][0],
        serde_json::json!({"policy": "caps", "rule": "session_cap", "pass": true, "fail": true, "skip": false})
    );
    assert_eq!(v["rules"].as_array().unwrap().len(), 3);
    assert_eq!(v["totals"], serde_json::json!({"rules": 3, "pass": 2, "fail": 1, "skip": 1}));
    assert_eq!(v["failing_pct"], 33.33);
    assert!(stderr(&o).ends_with("2 passed, 0 failed\n"), "{}", show(&o));
}

#[test]
fn output_is_deterministic_across_thread_counts() {
    let d = scratch("determinism");
    write(&d, "caps.tenet", POLICY);
    let mut cases = String::from("policy: caps.tenet\nnow: 2026-11-22T00:00:00Z\ncases:\n");
    for i in 0..40 {
        let sessions = vec!["{}"; i % 5].join(", ");
        let expect = if i % 5 > 2 { "[{rule: session_cap}]" } else { "pass" };
        // Every seventh case is wrong on purpose, so failures and diffs are in the output too.
        let expect = if i % 7 == 0 { "[{rule: cap_set}]" } else { expect };
        cases.push_str(&format!(
            "  - name: case {i}\n    tenant: {{users: [{{id: u{i}, sessions: [{sessions}]}}]}}\n    expect: {expect}\n"
        ));
    }
    write(&d, "a.test.yaml", &cases);
    write(&d, "b.test.yaml", &cases);
    let one = tenet_test(&d, &["-j", "1", "--coverage"]);
    let many = tenet_test(&d, &["-j", "8", "--coverage"]);
    assert_eq!(stdout(&one), stdout(&many));
    assert_eq!(code(&one), 1);
    let out = stdout(&one);
    let a = out.find("a.test.yaml › case 0\n").unwrap();
    let b = out.find("b.test.yaml › case 0\n").unwrap();
    assert!(a < b && out.find("a.test.yaml › case 39\n").unwrap() < b, "{out}");
    assert!(out.find("a.test.yaml › case 1\n").unwrap() < out.find("a.test.yaml › case 2\n").unwrap());
    assert_eq!(last_line(&one), "68 passed, 12 failed");
}

#[test]
fn sets_and_now_per_file_and_per_case() {
    let d = scratch("sets");
    write(
        &d,
        "p.tenet",
        "policy \"p\"\nmax = 2\nwindow = 30d\nrule cap: count(user.sessions) <= max\nrule fresh: age(user.last_login) <= window\n",
    );
    write(
        &d,
        "p.test.yaml",
        r#"policy: p.tenet
now: 2026-11-22T00:00:00Z
set: {max: 3}
cases:
  - name: file-level set applies
    tenant: {users: [{id: u, last_login: 2026-11-20, sessions: [{}, {}, {}]}]}
    expect: pass
  - name: case-level set wins
    set: {p.max: 1, window: 1d}
    tenant: {users: [{id: u, last_login: 2026-11-20, sessions: [{}, {}]}]}
    expect: [{rule: cap}, {rule: fresh}]
  - name: case-level now
    now: 2027-01-01
    tenant: {users: [{id: u, last_login: 2026-11-20}]}
    expect: [{rule: fresh, subject: u}]
"#,
    );
    let o = tenet_test(&d, &[]);
    assert_eq!(code(&o), 0, "{}", show(&o));
    assert_eq!(last_line(&o), "3 passed, 0 failed");
}

#[test]
fn no_test_files_is_not_an_error_but_a_missing_path_is() {
    let d = scratch("empty");
    let o = tenet_test(&d, &[]);
    assert_eq!(code(&o), 0, "{}", show(&o));
    assert_eq!(stdout(&o), "no test files (*.test.yaml) found in .\n0 passed, 0 failed\n");
    let o = tenet_test(&d, &["--coverage-min", "1"]);
    assert_eq!(code(&o), 1, "{}", show(&o));
    let o = tenet_test(&d, &["does-not-exist"]);
    assert_eq!(code(&o), 2, "{}", show(&o));
    assert!(stderr(&o).contains("cannot read `does-not-exist`"), "{}", show(&o));
}

#[test]
fn the_shipped_packs_are_fully_covered() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let o = tenet_test(root, &["policies", "--coverage-min", "100"]);
    assert_eq!(code(&o), 0, "{}", show(&o));
    let out = stdout(&o);
    assert!(out.contains("rules seen failing: 22 of 22 (100.0%)\n") || out.contains("(100.0%)\n"), "{out}");
    assert!(!out.contains("FAILED"), "{out}");
    let last = last_line(&o);
    assert!(last.ends_with(" passed, 0 failed"), "{last}");
}

#[test]
fn paths_in_test_files_stay_inside_the_tree() {
    let d = scratch("confined");
    write(&d, "secret.yaml", "root: SECRET-LINE-1\nother: SECRET-LINE-2\n");
    write(&d, "repo/caps.tenet", POLICY);
    write(&d, "repo/fixtures/t.json", r#"{"id": "t1"}"#);
    let outside = d.join("secret.yaml");
    let abs = outside.to_string_lossy().into_owned();
    #[cfg(unix)]
    std::os::unix::fs::symlink(&outside, d.join("repo/fixtures/link.yaml")).unwrap();
    let case = "cases:\n  - name: a\n    tenant_file: fixtures/t.json\n    expect: pass\n";
    let repo = d.join("repo");
    for (i, head) in [
        "policy: caps.tenet\nmodel: ../secret.yaml\n".to_string(),
        format!("policy: caps.tenet\nmodel: {abs}\n"),
        "policy: ../secret.yaml\n".to_string(),
        "policy: caps.tenet\nmodel: fixtures/link.yaml\n".to_string(),
    ]
    .iter()
    .enumerate()
    {
        write(&repo, "a.test.yaml", &format!("{head}{case}"));
        // Named: a walk of `repo` stops at the link out of it (below).
        let o = tenet_test(&repo, &["a.test.yaml"]);
        assert_eq!(code(&o), 2, "{i}: {}", show(&o));
        let flat = flat(&stderr(&o));
        assert!(flat.contains("is outside the current directory"), "{i}: {}", show(&o));
        assert!(flat.contains("`--allow-outside-paths` lifts this"), "{i}: {}", show(&o));
        assert!(!show(&o).contains("SECRET"), "{i}: {}", show(&o));
    }
    // Allowed explicitly, the file is read, but a file that is not a model is not quoted.
    write(&repo, "a.test.yaml", &format!("policy: caps.tenet\nmodel: {abs}\n{case}"));
    let o = tenet_test(&repo, &["--allow-outside-paths", "a.test.yaml"]);
    assert_eq!(code(&o), 2, "{}", show(&o));
    assert!(stderr(&o).contains("is not a model file"), "{}", show(&o));
    assert!(!show(&o).contains("SECRET"), "{}", show(&o));
    // A file that is not a policy file is not parsed (nor quoted) as one.
    write(&repo, "notes.txt", "SECRET-LINE-3\n");
    write(&repo, "a.test.yaml", &format!("policy: notes.txt\n{case}"));
    let o = tenet_test(&repo, &["a.test.yaml"]);
    assert!(stderr(&o).contains("is not a policy file"), "{}", show(&o));
    assert!(!show(&o).contains("SECRET"), "{}", show(&o));
    // Inside the tree, `../` is fine: the root is the directory `tenet test` runs in.
    write(
        &repo,
        "tests/b.test.yaml",
        "policy: ../caps.tenet\ncases:\n  - name: a\n    tenant_file: ../fixtures/t.json\n    expect: pass\n",
    );
    std::fs::remove_file(repo.join("a.test.yaml")).unwrap();
    // A walk meets `fixtures/link.yaml`, a link out of the tree: an error, not a skip.
    #[cfg(unix)]
    {
        let o = tenet_test(&repo, &[]);
        assert_eq!(code(&o), 2, "{}", show(&o));
        assert!(flat(&stderr(&o)).contains("fixtures/link.yaml` is a symbolic link to a path outside"), "{}", show(&o));
        std::fs::remove_file(repo.join("fixtures/link.yaml")).unwrap();
    }
    let o = tenet_test(&repo, &[]);
    assert_eq!(code(&o), 0, "{}", show(&o));
    // Run from outside: a test file named directly is confined to its own directory, one
    // found under a directory given to `tenet test` to that directory.
    std::fs::create_dir_all(d.join("elsewhere")).unwrap();
    let b = repo.join("tests/b.test.yaml").to_string_lossy().into_owned();
    let o = tenet_test(&d.join("elsewhere"), &[&b]);
    assert_eq!(code(&o), 2, "{}", show(&o));
    let o = tenet_test(&d.join("elsewhere"), &[&repo.to_string_lossy()]);
    assert_eq!(code(&o), 0, "{}", show(&o));
}

#[cfg(unix)]
#[test]
fn update_never_writes_through_a_symlinked_snapshot() {
    let d = scratch("snaplink");
    write(&d, "caps.tenet", POLICY);
    write(
        &d,
        "caps.test.yaml",
        "policy: caps.tenet\nnow: 2026-11-22T00:00:00Z\ncases:\n  - name: pinned\n    tenant: {id: t1, users: [{id: u1, sessions: [{}, {}, {}]}]}\n    snapshot: true\n",
    );
    write(&d, "victim.json", "[]\n");
    std::fs::create_dir_all(d.join("__snapshots__/caps")).unwrap();
    let link = d.join("__snapshots__/caps/pinned.json");
    std::os::unix::fs::symlink(d.join("victim.json"), &link).unwrap();
    let o = tenet_test(&d, &["--update"]);
    assert_eq!(code(&o), 1, "{}", show(&o));
    assert!(stdout(&o).contains("cannot write snapshot __snapshots__/caps/pinned.json"), "{}", show(&o));
    assert!(stdout(&o).contains("symbolic link"), "{}", show(&o));
    assert_eq!(std::fs::read_to_string(d.join("victim.json")).unwrap(), "[]\n");
    assert!(std::fs::symlink_metadata(&link).unwrap().file_type().is_symlink());
    // Nor through a linked snapshot directory.
    std::fs::remove_file(&link).unwrap();
    std::fs::create_dir_all(d.join("elsewhere")).unwrap();
    std::fs::remove_dir(d.join("__snapshots__/caps")).unwrap();
    std::os::unix::fs::symlink(d.join("elsewhere"), d.join("__snapshots__/caps")).unwrap();
    let o = tenet_test(&d, &["--update"]);
    assert_eq!(code(&o), 1, "{}", show(&o));
    assert!(stdout(&o).contains("symbolic link"), "{}", show(&o));
    assert_eq!(std::fs::read_dir(d.join("elsewhere")).unwrap().count(), 0);
    std::fs::remove_file(d.join("__snapshots__/caps")).unwrap();
    // A regular snapshot is written (atomically, no temporary file left behind).
    let o = tenet_test(&d, &["--update"]);
    assert_eq!(code(&o), 0, "{}", show(&o));
    let names: Vec<String> = std::fs::read_dir(d.join("__snapshots__/caps"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, ["pinned.json"]);
}

#[cfg(unix)]
#[test]
fn special_files_named_by_a_test_file_are_errors_not_hangs() {
    let d = scratch("fifo");
    write(&d, "caps.tenet", POLICY);
    for name in ["t.json", "m.yaml", "p.tenet"] {
        assert!(Command::new("mkfifo").arg(d.join(name)).status().unwrap().success());
    }
    let case = "cases:\n  - name: a\n    tenant_file: t.json\n    expect: pass\n";
    for head in ["policy: caps.tenet\n", "policy: caps.tenet\nmodel: m.yaml\n", "policy: p.tenet\n"] {
        write(&d, "a.test.yaml", &format!("{head}{case}"));
        let o = tenet_test_within(&d, &[], 60);
        assert_eq!(code(&o), 2, "{head}: {}", show(&o));
        assert!(stderr(&o).contains("is not a regular file"), "{head}: {}", show(&o));
    }
    // A FIFO named like a test file is skipped by discovery.
    std::fs::remove_file(d.join("a.test.yaml")).unwrap();
    assert!(Command::new("mkfifo").arg(d.join("f.test.yaml")).status().unwrap().success());
    let o = tenet_test_within(&d, &[], 60);
    assert_eq!(code(&o), 0, "{}", show(&o));
}

#[test]
fn control_characters_quoted_by_diagnostics_are_escaped() {
    let d = scratch("diag-escape");
    write(&d, "caps.tenet", POLICY);
    write(
        &d,
        "a.test.yaml",
        &format!("policy: caps.tenet\n\"x\u{1b}]0;pwned\u{7}\": 1\n{}", &GOOD[GOOD.find("cases:").unwrap()..]),
    );
    let o = tenet_test(&d, &[]);
    assert_eq!(code(&o), 2, "{}", show(&o));
    let err = stderr(&o);
    assert!(!err.contains(['\u{1b}', '\u{7}']), "{err:?}");
    assert!(err.contains(r"x\u{1b}]0;pwned\u{7}"), "{err}");
}

/// `--update` never writes (nor creates directories) outside the test file's tree through
/// a linked `__snapshots__`, and a stored snapshot out there is not read (nor quoted),
/// even with `--allow-outside-paths`.
#[cfg(unix)]
#[test]
fn snapshots_stay_inside_the_tree_through_linked_directories() {
    let d = scratch("snapdir-link");
    let repo = d.join("repo");
    write(&repo, "t/caps.tenet", POLICY);
    write(
        &repo,
        "t/s.test.yaml",
        "policy: caps.tenet\nnow: 2026-11-22T00:00:00Z\ncases:\n  - name: snap one\n    tenant: {id: t1, users: [{id: u1, sessions: [{}, {}, {}]}]}\n    snapshot: true\n",
    );
    let outside = d.join("outside");
    std::fs::create_dir_all(&outside).unwrap();
    let listing = |p: &Path| {
        let mut v: Vec<String> = walkdir(p);
        v.sort();
        v
    };
    // `t/__snapshots__` itself linked out, and `t/__snapshots__/s` linked out.
    for (link, target) in [("t/__snapshots__", outside.clone()), ("t/__snapshots__/s", outside.join("deeper"))] {
        let link = repo.join(link);
        std::fs::create_dir_all(link.parent().unwrap()).unwrap();
        std::os::unix::fs::symlink(&target, &link).unwrap();
        for args in [&["--update", "t/s.test.yaml"][..], &["--update", "--allow-outside-paths"], &["t"]] {
            let o = tenet_test(&repo, args);
            assert_eq!(code(&o), 1, "{args:?}: {}", show(&o));
            assert!(
                flat(&stdout(&o)).contains("leads outside the current directory through a symbolic link"),
                "{}",
                show(&o)
            );
            assert_eq!(listing(&outside), Vec::<String>::new(), "{args:?}: {}", show(&o));
        }
        // A stored snapshot out there is neither read nor quoted.
        let stored = if target == outside { outside.join("s") } else { target.clone() };
        std::fs::create_dir_all(&stored).unwrap();
        std::fs::write(stored.join("snap-one.json"), "[\"SECRET\"]\n").unwrap();
        std::fs::write(stored.join("SECRET-NAME.json"), "[]\n").unwrap();
        let o = tenet_test(&repo, &[]);
        assert_eq!(code(&o), 1, "{}", show(&o));
        assert!(!show(&o).contains("SECRET"), "{}", show(&o));
        std::fs::remove_dir_all(&stored).unwrap();
        std::fs::remove_file(&link).unwrap();
    }
    // A link inside the tree is read through, but never written through.
    std::fs::create_dir_all(repo.join("store")).unwrap();
    std::os::unix::fs::symlink("../../store", repo.join("t/__snapshots__/s")).unwrap();
    let o = tenet_test(&repo, &["--update"]);
    assert_eq!(code(&o), 1, "{}", show(&o));
    assert!(stdout(&o).contains("does not write through links"), "{}", show(&o));
    assert!(!repo.join("store/snap-one.json").exists());
    std::fs::remove_file(repo.join("t/__snapshots__/s")).unwrap();
    let o = tenet_test(&repo, &["--update"]);
    assert_eq!(code(&o), 0, "{}", show(&o));
    std::fs::rename(repo.join("t/__snapshots__/s"), repo.join("store2")).unwrap();
    std::os::unix::fs::symlink("../../store2", repo.join("t/__snapshots__/s")).unwrap();
    let o = tenet_test(&repo, &[]);
    assert_eq!(code(&o), 0, "{}", show(&o));
}

#[cfg(unix)]
fn walkdir(p: &Path) -> Vec<String> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(p).unwrap() {
        let e = e.unwrap();
        out.push(e.path().to_string_lossy().into_owned());
        if e.file_type().unwrap().is_dir() {
            out.extend(walkdir(&e.path()));
        }
    }
    out
}

/// A link in the tree does not tell whether a file outside exists: a link to an existing
/// outside file and one to a missing outside file give the same output, for direct links,
/// chains of links and paths through a linked directory.
#[cfg(unix)]
#[test]
fn links_do_not_tell_whether_outside_files_exist() {
    use std::os::unix::fs::symlink;
    let d = scratch("probe");
    write(&d, "outside/passwd", "root: SECRET\n");
    let repo = d.join("repo");
    write(&repo, "caps.tenet", POLICY);
    write(&repo, "fixtures/t.json", r#"{"id": "t1"}"#);
    symlink(d.join("outside"), repo.join("sub")).unwrap();
    let case = "cases:\n  - name: a\n    tenant_file: fixtures/t.json\n    expect: pass\n";
    let run = |links: &[(&str, PathBuf)], model: &str| {
        for (name, target) in links {
            let _ = std::fs::remove_file(repo.join(name));
            symlink(target, repo.join(name)).unwrap();
        }
        write(&repo, "a.test.yaml", &format!("policy: caps.tenet\nmodel: {model}\n{case}"));
        // Named: a walk of the repository would stop at the links out of it.
        let o = tenet_test(&repo, &["a.test.yaml"]);
        assert_eq!(code(&o), 2, "{}", show(&o));
        assert!(!show(&o).contains("SECRET"), "{}", show(&o));
        show(&o)
    };
    let there = d.join("outside/passwd");
    let missing = d.join("outside/passwX");
    // A direct link.
    let a = run(&[("m.yaml", there.clone())], "m.yaml");
    let b = run(&[("m.yaml", missing.clone())], "m.yaml");
    assert_eq!(a, b);
    assert!(a.contains("is outside the current directory"), "{a}");
    // A chain: n.yaml -> m.yaml -> outside.
    let a = run(&[("m.yaml", there.clone()), ("n.yaml", "m.yaml".into())], "n.yaml");
    let b = run(&[("m.yaml", missing.clone()), ("n.yaml", "m.yaml".into())], "n.yaml");
    assert_eq!(a, b);
    // Through a linked directory, and back in with `..` after it.
    let a = run(&[], "sub/passwd");
    let b = run(&[], "sub/passwX");
    assert_eq!(a, b.replace("passwX", "passwd"));
    assert!(a.contains("is outside the current directory"), "{a}");
    let a = run(&[("k.yaml", "sub/../outside/passwd".into())], "k.yaml");
    let b = run(&[("k.yaml", "sub/../outside/passwX".into())], "k.yaml");
    assert_eq!(a, b);
    // A missing file inside the tree still says so.
    let o = run(&[("m.yaml", repo.join("nothere.yaml"))], "m.yaml");
    assert!(o.contains("No such file"), "{o}");
}

/// A policy directory named by a test file may not hold a link out of the tree.
#[cfg(unix)]
#[test]
fn a_policy_directory_with_a_link_out_is_an_error() {
    let d = scratch("policy-dir-link");
    write(&d, "secret.tenet", "policy \"SECRET\"\nrule SECRET: SECRET-LINE\n");
    let repo = d.join("repo");
    write(&repo, "p/caps.tenet", POLICY);
    std::os::unix::fs::symlink(d.join("secret.tenet"), repo.join("p/evil.tenet")).unwrap();
    write(&repo, "a.test.yaml", "policy: p\ncases:\n  - name: a\n    tenant: {id: t1}\n    expect: pass\n");
    for args in [&["a.test.yaml"][..], &["--allow-outside-paths", "a.test.yaml"]] {
        let o = tenet_test(&repo, args);
        assert_eq!(code(&o), 2, "{}", show(&o));
        assert!(flat(&stderr(&o)).contains("`p/evil.tenet` is a symbolic link to a path outside `p`"), "{}", show(&o));
        assert!(!show(&o).contains("SECRET"), "{}", show(&o));
    }
}
