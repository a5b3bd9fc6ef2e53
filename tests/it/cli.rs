//! The `tenet` binary: exit codes, report formats, bad inputs (cli.md).

use super::scratch::scratch;
use std::io::Write;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

fn tenet(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tenet")).args(args).output().unwrap()
}

fn tenet_stdin(args: &[&str], input: &[u8]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_tenet"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(input).unwrap();
    child.wait_with_output().unwrap()
}

fn write(dir: &std::path::Path, name: &str, content: &[u8]) -> String {
    let p = dir.join(name);
    std::fs::write(&p, content).unwrap();
    p.to_string_lossy().into_owned()
}

const POLICY: &str = r#"policy "caps"
max_sessions = 2
@severity(warning)
@message("{user.id} has {count(user.sessions)} sessions")
rule session_cap: count(user.sessions) <= max_sessions
rule cap_set: user.session_cap >= 1
"#;

fn json(out: &Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{e}\nstdout: {}\nstderr: {}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

#[test]
fn json_report_has_the_documented_shape() {
    let d = scratch("shape");
    let p = write(&d, "caps.tenet", POLICY.as_bytes());
    let t = write(
        &d,
        "t.json",
        br#"{"id": "t-1", "users": [{"id": "u1", "sessions": [{}, {}, {}]}, {"id": "u2", "session_cap": 0}]}"#,
    );
    let out = tenet(&["check", "-p", &p, &t, "--now", "2026-11-22T00:00:00Z", "--format", "json"]);
    let v = json(&out);
    assert_eq!(v["tenet"], 1);
    assert_eq!(v["now"], "2026-11-22T00:00:00Z");
    assert_eq!(v["policies"][0]["name"], "caps");
    assert_eq!(v["policies"][0]["rules"], 2);
    assert_eq!(
        v["summary"],
        serde_json::json!({"tenants": 1, "evaluations": 4, "pass": 2, "fail": 2, "error": 0, "skip": 0,
                           "fail_by_severity": {"error": 1, "warning": 1, "info": 0}})
    );
    let f = &v["findings"][0];
    assert_eq!(f["tenant"], "t-1");
    assert_eq!(f["source"], t.as_str());
    assert_eq!(f["policy"], "caps");
    assert_eq!(f["rule"], "session_cap");
    assert_eq!(f["code"], "session_cap");
    assert_eq!(f["severity"], "warning");
    assert_eq!(f["status"], "fail");
    assert_eq!(f["subject"], serde_json::json!({"kind": "user", "id": "u1", "path": "users[0]"}));
    assert_eq!(f["message"], "u1 has 3 sessions");
    assert_eq!(v["findings"][1]["message"], "user.session_cap >= 1");
    assert_eq!(out.status.code(), Some(1));
    // The key order of the report is the documented one.
    let text = String::from_utf8(out.stdout.clone()).unwrap();
    let order = ["\"tenet\"", "\"now\"", "\"policies\"", "\"summary\"", "\"findings\""];
    let pos: Vec<usize> = order.iter().map(|k| text.find(k).unwrap()).collect();
    assert!(pos.windows(2).all(|w| w[0] < w[1]), "{pos:?}");
}

#[test]
fn exit_codes() {
    let d = scratch("exit");
    let p = write(&d, "caps.tenet", POLICY.as_bytes());
    let clean = write(&d, "clean.json", br#"{"id": "t", "users": [{"id": "u1"}]}"#);
    let warn = write(&d, "warn.json", br#"{"id": "t", "users": [{"id": "u1", "sessions": [{}, {}, {}]}]}"#);
    let err = write(&d, "err.json", br#"{"id": "t", "users": [{"id": "u1", "session_cap": "x"}]}"#);
    let code = |args: &[&str]| tenet(args).status.code().unwrap();
    assert_eq!(code(&["check", "-p", &p, &clean]), 0);
    assert_eq!(code(&["check", "-p", &p, &warn]), 0, "a warning is below --fail-on error");
    assert_eq!(code(&["check", "-p", &p, &warn, "--fail-on", "warning"]), 1);
    assert_eq!(code(&["check", "-p", &p, &err, "--fail-on", "never"]), 1, "an evaluation error always fails");
    assert_eq!(code(&["check", "-p", &p, &clean, "--set", "max_sessions=x"]), 2);
    assert_eq!(code(&["check", "-p", &p, &clean, "--set", "nope=1"]), 2);
    assert_eq!(code(&["check", "-p", &p, &warn, "--set", "max_sessions=3", "--fail-on", "warning"]), 0);
    assert_eq!(code(&["check", "-p", &p, &warn, "--set", "caps.max_sessions=3", "--fail-on", "warning"]), 0);
    assert_eq!(code(&["check", "-p", &p, &clean, "--now", "yesterday"]), 2);
    assert_eq!(code(&["check", "-p", &p, &clean, "--rule", "nope"]), 2);
    assert_eq!(code(&["check", "-p", "does/not/exist.tenet", &clean]), 2);
    assert_eq!(code(&["check", "-p", &p, "does/not/exist.json"]), 2);
    assert_eq!(code(&["lint", "-p", &p]), 0);
    // A `matches` pattern taken from a parameter follows `--set`; a bad one is a usage error.
    let pat = write(&d, "pat.tenet", b"policy \"pat\"\npattern = \"^u\"\nrule ids: user.id matches pattern\n");
    assert_eq!(code(&["check", "-p", &pat, &clean]), 0);
    assert_eq!(code(&["check", "-p", &pat, &clean, "--set", "pattern=^x"]), 1);
    assert_eq!(code(&["check", "-p", &pat, &clean, "--set", "pattern=("]), 2);
    assert_eq!(code(&["check", "--bogus"]), 2);
}

#[test]
fn a_broken_policy_evaluates_nothing() {
    let d = scratch("broken");
    let p = write(&d, "bad.tenet", b"policy \"bad\"\nrule a: role.twofa\nrule b: cout(user.sessions) > 1\n");
    let t = write(&d, "t.json", br#"{"id": "t"}"#);
    let out = tenet(&["check", "-p", &p, &t, "--format", "json"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty(), "nothing is written to stdout");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("unknown field `role.twofa`") && err.contains("role.2fa"), "{err}");
    assert!(err.contains("unknown function `cout`"), "both problems are reported: {err}");
    let lint = tenet(&["lint", "-p", &p]);
    assert_eq!(lint.status.code(), Some(2));
    // Duplicate policy names across files.
    let p2 = write(&d, "again.tenet", b"policy \"bad\"\nrule c: true\n");
    let p1 = write(&d, "ok.tenet", b"policy \"bad\"\nrule d: true\n");
    let out = tenet(&["lint", "-p", &p1, "-p", &p2]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("policy `bad` is also defined"));
}

#[test]
fn bad_inputs_become_input_findings_and_the_rest_is_evaluated() {
    let d = scratch("bad");
    let p = write(&d, "caps.tenet", POLICY.as_bytes());
    let good = r#"{"id": "good", "users": [{"id": "u1", "sessions": [{}, {}, {}]}]}"#;
    let jsonl = format!("{good}\n{{\"id\": \"broken\", \"users\": [\n{good}\n[1, 2]\n");
    let lines = write(&d, "bulk.jsonl", jsonl.as_bytes());
    let bomb = write(
        &d,
        "bomb.yaml",
        b"a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\nd: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]\ne: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]\nf: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]\ng: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]\nh: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]\ni: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]\n",
    );
    let deep = write(
        &d,
        "deep.json",
        format!("{{\"id\": \"deep\", \"x\": {}{}}}", "[".repeat(100_000), "]".repeat(100_000)).as_bytes(),
    );
    let utf8 = write(&d, "utf8.json", b"{\"id\": \"caf\xe9\"}");
    let root = write(&d, "root.json", b"[1, 2, 3]");
    let start = Instant::now();
    let out = tenet(&["check", "-p", &p, &lines, &bomb, &deep, &utf8, &root, "--format", "json", "--fail-on", "never"]);
    assert!(start.elapsed() < Duration::from_secs(10), "bad inputs are rejected quickly");
    assert_eq!(out.status.code(), Some(2));
    let v = json(&out);
    let findings = v["findings"].as_array().unwrap();
    let tenants: Vec<&str> = findings.iter().map(|f| f["tenant"].as_str().unwrap()).collect();
    let rules: Vec<&str> = findings.iter().map(|f| f["rule"].as_str().unwrap()).collect();
    assert_eq!(
        tenants,
        [
            "good",
            format!("{lines}#2").as_str(),
            "good",
            format!("{lines}#4").as_str(),
            bomb.as_str(),
            deep.as_str(),
            utf8.as_str(),
            root.as_str()
        ]
    );
    assert_eq!(rules, ["session_cap", "input", "session_cap", "input", "input", "input", "input", "input"]);
    for f in findings.iter().filter(|f| f["rule"] == "input") {
        assert_eq!(f["policy"], serde_json::Value::Null);
        assert_eq!(f["status"], "error");
        assert_eq!(f["subject"], serde_json::json!({"kind": "tenant", "id": null, "path": ""}));
        assert!(f["message"].as_str().unwrap().len() > 10, "says where and why: {f}");
    }
    assert_eq!(v["summary"]["tenants"], 8);
    let msg = |i: usize| findings[i]["message"].as_str().unwrap().to_lowercase();
    assert!(msg(3).contains("object"), "{}", msg(3));
    assert!(msg(5).contains("128") || msg(5).contains("deep"), "{}", msg(5));
    assert!(msg(6).contains("utf-8"), "{}", msg(6));
}

#[test]
fn jsonl_streams_and_ends_with_a_summary() {
    let d = scratch("jsonl");
    let p = write(&d, "caps.tenet", POLICY.as_bytes());
    let input = "{\"id\": \"a\", \"users\": [{\"id\": \"u1\", \"sessions\": [{}, {}, {}]}]}\n{\"id\": \"b\"}\n";
    let out = tenet_stdin(&["check", "-p", &p, "-", "--format", "jsonl"], input.as_bytes());
    let text = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<serde_json::Value> = text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[0]["tenant"], "a");
    assert_eq!(lines[0]["source"], "-");
    assert_eq!(lines[1]["summary"]["tenants"], 2);
}

#[test]
fn jsonl_output_appears_before_the_input_ends() {
    let d = scratch("stream");
    let p = write(&d, "caps.tenet", POLICY.as_bytes());
    let mut child = Command::new(env!("CARGO_BIN_EXE_tenet"))
        .args(["check", "-p", &p, "-", "--format", "jsonl", "-j", "1"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let mut stdout = std::io::BufReader::new(child.stdout.take().unwrap());
    // Send one failing tenant, keep stdin open, and wait for its finding.
    let line = "{\"id\": \"first\", \"users\": [{\"id\": \"u1\", \"sessions\": [{}, {}, {}]}]}\n";
    let (tx, rx) = std::sync::mpsc::channel();
    let reader = std::thread::spawn(move || {
        let mut first = String::new();
        std::io::BufRead::read_line(&mut stdout, &mut first).unwrap();
        tx.send(first).unwrap();
        // Keep reading, so that tenet never writes into a closed pipe.
        let mut rest = String::new();
        std::io::Read::read_to_string(&mut stdout, &mut rest).unwrap();
    });
    // Enough tenants to fill a window, so the first batch is evaluated while input is open.
    for _ in 0..64 {
        stdin.write_all(line.as_bytes()).unwrap();
    }
    stdin.flush().unwrap();
    let first = rx.recv_timeout(Duration::from_secs(20)).expect("a finding streamed before stdin closed");
    assert!(first.contains("\"first\""), "{first}");
    drop(stdin);
    reader.join().unwrap();
    assert_eq!(child.wait().unwrap().code(), Some(0));
}

#[test]
fn human_format_without_a_terminal_has_no_colors() {
    let out =
        tenet(&["check", "-p", "policies", "examples/tenants", "--now", "2026-11-22T00:00:00Z", "--format", "human"]);
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(!text.contains('\x1b'));
    assert!(text.contains("12 tenants"), "{text}");
    assert!(text.contains("fix: "), "{text}");
}

#[test]
fn model_show_prints_the_builtin_model_and_custom_models_load() {
    let out = tenet(&["model", "show"]);
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("integration_user: ref<user>"), "{text}");
    let d = scratch("model");
    let m = write(
        &d,
        "m.yaml",
        b"model: tiny\nkinds:\n  org:\n    key: id\n    fields:\n      id: string\n      teams: list<team>\n  team:\n    parent: org\n    collection: teams\n    key: id\n    fields:\n      id: string\n      size: int\n",
    );
    let p = write(&d, "p.tenet", b"policy \"teams\"\nrule small: team.size <= 10\n");
    let t = write(&d, "t.json", br#"{"id": "o", "teams": [{"id": "a", "size": 3}, {"id": "b", "size": 30}]}"#);
    let out = tenet(&["check", "--model", &m, "-p", &p, &t, "--format", "json"]);
    let v = json(&out);
    assert_eq!(v["findings"].as_array().unwrap().len(), 1);
    assert_eq!(v["findings"][0]["subject"]["path"], "teams[1]");
    let bad = write(&d, "bad.yaml", b"model: x\nkinds:\n  org:\n    fields:\n      teams: list<tem>\n");
    let out = tenet(&["model", "show", "--model", &bad]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("tem"));
}

/// A tenant of at least `STREAM_MIN_BYTES` is decoded while it is read, split into pieces
/// decoded on every core; its report must be byte for byte the one the same tenant gets
/// when read whole (as a JSONL line), at any thread count, and a broken large file must
/// still get the small file's message.
#[test]
fn a_large_tenant_file_reports_what_a_small_one_would() {
    let d = scratch("large");
    let p = write(&d, "caps.tenet", POLICY.as_bytes());
    let mut users = Vec::new();
    let mut i = 0;
    let mut size = 0;
    while size < tenet::snapshot::STREAM_MIN_BYTES as usize + 1000 {
        let sessions = (0..i % 4).map(|j| format!(r#"{{"id": "s{i}.{j}", "ua": "x[{{\"y"}}"#)).collect::<Vec<_>>();
        let u = format!(
            r#"{{"id": "u{i}", "session_cap": {}, "sessions": [{}], "note": "{}"}}"#,
            i % 3,
            sessions.join(","),
            "n".repeat(i % 200)
        );
        size += u.len() + 2;
        users.push(u);
        i += 1;
    }
    let doc = format!("{{\"id\": \"big\", \"users\": [\n{}\n], \"platform\": \"erpnext\"}}", users.join(",\n"));
    let big = write(&d, "big.json", doc.as_bytes());
    let line = write(&d, "big.jsonl", doc.replace('\n', " ").as_bytes());
    let whole = tenet(&["check", "-p", &p, &line, "--format", "jsonl", "--now", "2026-11-22T00:00:00Z"]);
    assert_eq!(whole.status.code(), Some(1), "{}", String::from_utf8_lossy(&whole.stderr));
    // Locations differ (the file has a user per line, the JSONL line has one line):
    // compare without `location`, then check the streamed file's locations.
    let unlocated = |text: &str| -> String {
        text.lines()
            .map(|l| {
                let mut v: serde_json::Value = serde_json::from_str(l).unwrap();
                if let Some(o) = v.as_object_mut() {
                    o.remove("location");
                }
                v.to_string() + "\n"
            })
            .collect()
    };
    let want =
        unlocated(&String::from_utf8_lossy(&whole.stdout).replace("big.jsonl#1", "big.json").replace(&line, &big));
    assert!(want.matches("\"status\":\"fail\"").count() > 1000, "the tenant has failures to report");
    for jobs in ["1", "2", "3"] {
        let out = tenet(&["check", "-j", jobs, "-p", &p, &big, "--format", "jsonl", "--now", "2026-11-22T00:00:00Z"]);
        assert_eq!(unlocated(&String::from_utf8_lossy(&out.stdout)), want, "-j{jobs}");
        // User `i` starts line `i + 2`.
        for l in String::from_utf8_lossy(&out.stdout).lines() {
            let f: serde_json::Value = serde_json::from_str(l).unwrap();
            let Some(i) = f["subject"]["path"].as_str().and_then(|p| p.strip_prefix("users[")) else { continue };
            let i: u64 = i.trim_end_matches(']').parse().unwrap();
            assert_eq!((&f["location"]["line"], &f["location"]["column"]), (&(i + 2).into(), &1.into()), "{l}");
        }
    }
    // A trailing comma after the last user: the large file's message is the small one's.
    let broken = doc.replacen("\n], \"platform\"", ",\n], \"platform\"", 1);
    let bad = write(&d, "bad.json", broken.as_bytes());
    let out = tenet(&["check", "-p", &p, &bad, "--format", "json"]);
    assert_eq!(out.status.code(), Some(2));
    let lines = broken.lines().count();
    let msg = format!("invalid JSON at line {lines}, column 1: trailing comma");
    assert!(String::from_utf8_lossy(&out.stdout).contains(&msg), "{}", String::from_utf8_lossy(&out.stdout));
}

/// Runs the binary and fails the test if it has not ended after `secs` seconds (for
/// inputs that used to block forever). Output must be small (it is read at the end).
#[cfg(unix)]
fn tenet_within(args: &[&str], secs: u64) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_tenet"))
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let start = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if start.elapsed() > Duration::from_secs(secs) {
            child.kill().unwrap();
            panic!("`tenet {}` did not end within {secs} s", args.join(" "));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().unwrap()
}

#[cfg(unix)]
fn mkfifo(path: &std::path::Path) -> String {
    assert!(Command::new("mkfifo").arg(path).status().unwrap().success());
    path.to_string_lossy().into_owned()
}

#[cfg(unix)]
#[test]
fn special_files_are_skipped_in_directories_and_errors_when_named() {
    let d = scratch("fifo");
    let p = write(&d, "caps.tenet", POLICY.as_bytes());
    std::fs::create_dir_all(d.join("tenants")).unwrap();
    write(&d.join("tenants"), "a.json", br#"{"id": "a"}"#);
    for name in ["b.json", "c.yaml", "d.jsonl"] {
        mkfifo(&d.join("tenants").join(name));
    }
    let tenants = d.join("tenants").to_string_lossy().into_owned();
    let out = tenet_within(&["check", "-p", &p, &tenants, "--format", "json"], 60);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(json(&out)["summary"]["tenants"], 1);

    // Named explicitly: an input error (exit 2) that says what the path is.
    let fifo = d.join("tenants/b.json").to_string_lossy().into_owned();
    let a = d.join("tenants/a.json").to_string_lossy().into_owned();
    let out = tenet_within(&["check", "-p", &p, &fifo, &a, "--format", "json"], 60);
    assert_eq!(out.status.code(), Some(2));
    let v = json(&out);
    assert_eq!(v["summary"]["tenants"], 2);
    assert_eq!(v["findings"][0]["rule"], "input");
    assert!(v["findings"][0]["message"].as_str().unwrap().contains("is not a regular file"), "{v}");

    // A policy FIFO in a `-p` directory is skipped; named explicitly, it is an error.
    let pdir = d.join("policies");
    std::fs::create_dir_all(&pdir).unwrap();
    write(&pdir, "caps.tenet", POLICY.as_bytes());
    let pfifo = mkfifo(&pdir.join("z.tenet"));
    let out = tenet_within(&["check", "-p", &pdir.to_string_lossy(), &a, "--format", "json"], 60);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let out = tenet_within(&["check", "-p", &pfifo, &a], 60);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("is not a regular file"));
    let out = tenet_within(&["fmt", &pfifo], 60);
    assert_eq!(out.status.code(), Some(2));
    let out = tenet_within(&["fmt", "--check", &pdir.to_string_lossy()], 60);
    assert_eq!(out.status.code(), Some(1), "{}", String::from_utf8_lossy(&out.stderr));
    let out = tenet_within(&["check", "-p", &p, "--model", &fifo, &a], 60);
    assert_eq!(out.status.code(), Some(2));
}

/// Runs the binary with its standard output's reading end closed at once (as `| head`
/// does once it has its lines).
fn tenet_closed_stdout(args: &[&str]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_tenet"))
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    child.wait_with_output().unwrap()
}

#[test]
fn a_closed_stdout_ends_every_command_quietly() {
    // Every command writes more than a pipe holds (64 KiB), so that it is still writing
    // when the reader has gone, however the processes are scheduled.
    let d = scratch("closed");
    let p = write(&d, "caps.tenet", POLICY.as_bytes());
    let users: Vec<String> =
        (0..3000).map(|i| format!(r#"{{"id": "u{i}", "sessions": [{{}}, {{}}, {{}}]}}"#)).collect();
    let t = write(&d, "t.json", format!(r#"{{"id": "t", "users": [{}]}}"#, users.join(",")).as_bytes());
    let ugly = d.join("ugly");
    std::fs::create_dir_all(&ugly).unwrap();
    for i in 0..600 {
        write(&ugly, &format!("u{i:03}-{}.tenet", "x".repeat(40)), POLICY.replace(" <= ", "<=").as_bytes());
    }
    let model = String::from_utf8(tenet(&["model", "show"]).stdout).unwrap();
    let model = write(&d, "model.yaml", format!("{model}{}", "# padding\n".repeat(10_000)).as_bytes());
    let tests = d.join("tests");
    std::fs::create_dir_all(&tests).unwrap();
    let mut cases = String::from("policy: ../caps.tenet\nnow: 2026-11-22T00:00:00Z\ncases:\n");
    for i in 0..1500 {
        cases.push_str(&format!(
            "  - name: case number {i} with a rather long name\n    tenant: {{id: t}}\n    expect: pass\n"
        ));
    }
    write(&tests, "many.test.yaml", cases.as_bytes());
    let (ugly, tests) = (ugly.to_string_lossy().into_owned(), tests.to_string_lossy().into_owned());
    let runs: Vec<Vec<&str>> = vec![
        vec!["explain", "-p", &p, "--rule", "session_cap", &t],
        vec!["fmt", "--check", &ugly],
        vec!["check", "-p", &p, &t, "--format", "human"],
        vec!["check", "-p", &p, &t, "--format", "json"],
        vec!["check", "-p", &p, &t, "--format", "jsonl"],
        vec!["model", "show", "--model", &model],
        vec!["test", &tests, "--allow-outside-paths"],
    ];
    for args in runs {
        let out = tenet_closed_stdout(&args);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!err.contains("panicked") && !err.contains("Broken pipe"), "{args:?}: {err}");
        assert_eq!(out.status.code(), Some(141), "{args:?}: {err}");
    }
}

#[test]
fn control_characters_in_data_are_escaped_in_human_output_and_explain() {
    let d = scratch("escapes");
    let p = write(&d, "caps.tenet", POLICY.as_bytes());
    // ESC ] 0 ; … BEL sets a terminal's title; CSI (U+009B) and a bidi override too.
    let t = write(
        &d,
        "t.json",
        br#"{"id": "t\u001b]0;pwned\u0007", "users": [{"id": "u\u001b[2J\u009b\u202e1", "sessions": [{}, {}, {}]}]}"#,
    );
    let out = tenet(&["check", "-p", &p, &t, "--format", "human", "--now", "2026-11-22T00:00:00Z"]);
    let text = String::from_utf8(out.stdout.clone()).unwrap();
    assert!(!text.contains(['\u{1b}', '\u{7}', '\u{9b}', '\u{202e}']), "{text:?}");
    assert!(text.contains(r"t\u{1b}]0;pwned\u{7}"), "{text}");
    assert!(text.contains(r"u\u{1b}[2J\u{9b}\u{202e}1 has 3 sessions"), "{text}");
    let out = tenet(&["explain", "-p", &p, "--rule", "session_cap", &t, "--now", "2026-11-22T00:00:00Z"]);
    let text = String::from_utf8(out.stdout.clone()).unwrap();
    assert!(text.contains(r"u\u{1b}[2J"), "{text}");
    assert!(!text.contains(['\u{1b}', '\u{7}', '\u{9b}', '\u{202e}']), "{text:?}");
    // JSON escapes them already.
    let out = tenet(&["check", "-p", &p, &t, "--format", "json"]);
    assert!(!out.stdout.contains(&0x1b), "{}", String::from_utf8_lossy(&out.stdout));
    assert_eq!(json(&out)["findings"][0]["tenant"], "t\u{1b}]0;pwned\u{7}");
}

#[test]
fn input_errors_are_named_on_stderr_in_every_format() {
    let d = scratch("stderr-input");
    let p = write(&d, "caps.tenet", POLICY.as_bytes());
    let ok = write(&d, "ok.json", br#"{"id": "ok"}"#);
    let bad = write(&d, "bad.json", b"{ nope");
    let missing = d.join("missing.json").to_string_lossy().into_owned();
    for format in ["json", "jsonl", "human"] {
        let out = tenet(&["check", "-p", &p, &ok, &bad, &missing, "--format", format]);
        assert_eq!(out.status.code(), Some(2));
        let err = String::from_utf8_lossy(&out.stderr);
        let lines: Vec<&str> = err.lines().filter(|l| l.starts_with("error: input ")).collect();
        assert_eq!(lines.len(), 2, "{format}: {err}");
        assert!(lines[0].starts_with(&format!("error: input `{bad}`: ")), "{err}");
        assert!(lines[1].contains("cannot read"), "{err}");
    }
}

/// A write that fails halfway (here: the file size limit) leaves the policy as it was.
#[cfg(unix)]
#[test]
fn fmt_never_truncates_a_policy() {
    let d = scratch("fmt-atomic");
    let mut text = String::from("policy \"big\"\n");
    for i in 0..400 {
        text.push_str(&format!("rule r{i}:   count(user.sessions)<={i}\n"));
    }
    let path = write(&d, "big.tenet", text.as_bytes());
    assert!(text.len() > 8192);
    // `ulimit -f 8`: at most 8 blocks (4 or 8 KiB); the write past it fails (SIGXFSZ).
    let out = Command::new("sh")
        .arg("-c")
        .arg(format!("ulimit -f 8 && exec '{}' fmt '{path}'", env!("CARGO_BIN_EXE_tenet")))
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert_eq!(std::fs::read_to_string(&path).unwrap(), text);
    // The killed process leaves its `.tenet-*.tmp` next to the policy, in `d`, which goes
    // with it.
    // Without the limit it is formatted, and the file keeps its permissions.
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o640)).unwrap();
    let out = tenet(&["fmt", &path]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(std::fs::read_to_string(&path).unwrap().contains("count(user.sessions) <= 1\n"));
    assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o640);
    // A symbolic link is not written through.
    let target = write(&d, "target.tenet", text.as_bytes());
    let link = d.join("link.tenet");
    std::os::unix::fs::symlink(&target, &link).unwrap();
    let out = tenet(&["fmt", &link.to_string_lossy()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("symbolic link"));
    assert_eq!(std::fs::read_to_string(&target).unwrap(), text);
}

/// A symbolic link met while walking a directory is followed only when it leads inside
/// that directory; one that leads outside is an error at its place, which never quotes
/// the target nor says whether it exists. Paths named on the command line are followed.
#[cfg(unix)]
#[test]
fn links_out_of_a_walked_directory_are_errors_and_are_not_read() {
    use std::os::unix::fs::symlink;
    let d = scratch("links-out");
    let outside = d.join("outside");
    std::fs::create_dir_all(&outside).unwrap();
    write(&outside, "secret.yaml", b"SECRET-LINE-1: x\nSECRET-LINE-2: y\n");
    write(&outside, "secret.tenet", b"policy \"SECRET\"\nrule SECRET_RULE:   SECRET-LINE\n");
    write(&outside, "tenant.json", br#"{"id": "SECRET-TENANT", "users": [{"id": "u1", "sessions": [{}, {}, {}]}]}"#);
    let pd = d.join("pd");
    std::fs::create_dir_all(&pd).unwrap();
    write(&pd, "caps.tenet", POLICY.as_bytes());
    let pd_s = pd.to_string_lossy().into_owned();
    let show = |o: &Output| {
        format!(
            "exit {:?}\n--- stdout\n{}--- stderr\n{}",
            o.status.code(),
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        )
    };
    let outside_msg = |name: &str| {
        format!(
            "`{pd_s}/{name}` is a symbolic link to a path outside `{pd_s}`; tenet reads only what it is given \
             — name the target directly to check it"
        )
    };
    // Policies (`lint`, `check`) and `fmt`: an error, nothing of the target quoted.
    for (name, target) in [("pw.yaml", "secret.yaml"), ("evil.tenet", "secret.tenet")] {
        let link = pd.join(name);
        symlink(outside.join(target), &link).unwrap();
        for args in [vec!["lint", "-p", &pd_s], vec!["fmt", "--check", &pd_s]] {
            let o = tenet(&args);
            assert_eq!(o.status.code(), Some(2), "{args:?}: {}", show(&o));
            assert!(String::from_utf8_lossy(&o.stderr).contains(&outside_msg(name)), "{args:?}: {}", show(&o));
            assert!(!show(&o).contains("SECRET"), "{args:?}: {}", show(&o));
        }
        // Whether the outside target exists is not told: a dangling link says the same.
        let exists = tenet(&["lint", "-p", &pd_s]);
        std::fs::remove_file(&link).unwrap();
        symlink(outside.join("no-such-file"), &link).unwrap();
        let missing = tenet(&["lint", "-p", &pd_s]);
        assert_eq!(show(&exists), show(&missing));
        std::fs::remove_file(&link).unwrap();
    }
    // A link to an outside directory is not entered either, whatever its name.
    symlink(&outside, pd.join("sub")).unwrap();
    let o = tenet(&["lint", "-p", &pd_s]);
    assert_eq!(o.status.code(), Some(2), "{}", show(&o));
    assert!(String::from_utf8_lossy(&o.stderr).contains(&outside_msg("sub")), "{}", show(&o));
    assert!(!show(&o).contains("SECRET"), "{}", show(&o));
    std::fs::remove_file(pd.join("sub")).unwrap();
    // Tenant directories: an `input` finding at the link's place; the rest is evaluated.
    let tdir = d.join("tenants");
    std::fs::create_dir_all(&tdir).unwrap();
    write(&tdir, "a.json", br#"{"id": "a", "users": [{"id": "u1", "sessions": [{}, {}, {}]}]}"#);
    symlink("a.json", tdir.join("b.json")).unwrap();
    symlink(outside.join("tenant.json"), tdir.join("c.json")).unwrap();
    let policy = pd.join("caps.tenet").to_string_lossy().into_owned();
    let tdir_s = tdir.to_string_lossy().into_owned();
    let o = tenet(&["check", "-p", &policy, &tdir_s, "--format", "json", "--fail-on", "never"]);
    assert_eq!(o.status.code(), Some(2), "{}", show(&o));
    assert!(!show(&o).contains("SECRET"), "{}", show(&o));
    let v = json(&o);
    let findings = v["findings"].as_array().unwrap();
    let got: Vec<(&str, &str)> =
        findings.iter().map(|f| (f["tenant"].as_str().unwrap(), f["rule"].as_str().unwrap())).collect();
    let c = format!("{tdir_s}/c.json");
    // `b.json` links to `a.json` inside the directory: followed (the same tenant twice).
    assert_eq!(got, [("a", "session_cap"), ("a", "session_cap"), (c.as_str(), "input")]);
    assert!(findings[2]["message"].as_str().unwrap().contains("is a symbolic link to a path outside"));
    // Named on the command line, a link is the user's choice and is followed.
    let o = tenet(&["check", "-p", &policy, &c, "--format", "json", "--fail-on", "never"]);
    assert_eq!(o.status.code(), Some(0), "{}", show(&o));
    assert!(String::from_utf8_lossy(&o.stdout).contains("SECRET-TENANT"), "{}", show(&o));
    let plink = d.join("plink.tenet");
    symlink(pd.join("caps.tenet"), &plink).unwrap();
    let o = tenet(&["lint", "-p", &plink.to_string_lossy()]);
    assert_eq!(o.status.code(), Some(0), "{}", show(&o));
}

/// `tenet fmt DIR` never rewrites a file outside DIR through a linked subdirectory.
#[cfg(unix)]
#[test]
fn fmt_does_not_rewrite_files_outside_the_tree_through_a_linked_directory() {
    let d = scratch("fmt-linked-dir");
    let ugly = b"policy \"x\"\nrule r:   count(user.sessions)<=1\n";
    std::fs::create_dir_all(d.join("outside")).unwrap();
    std::fs::create_dir_all(d.join("tree")).unwrap();
    let outside = write(&d.join("outside"), "x.tenet", ugly);
    let inside = write(&d.join("tree"), "y.tenet", ugly);
    std::os::unix::fs::symlink(d.join("outside"), d.join("tree/sub")).unwrap();
    let tree = d.join("tree").to_string_lossy().into_owned();
    let out = tenet(&["fmt", &tree]);
    assert_eq!(out.status.code(), Some(2), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stderr).contains("is a symbolic link to a path outside"));
    assert_eq!(std::fs::read(&outside).unwrap(), ugly);
    assert_eq!(std::fs::read(&inside).unwrap(), ugly, "nothing is formatted when the walk fails");
    // A linked directory inside the tree is formatted once.
    std::fs::remove_file(d.join("tree/sub")).unwrap();
    std::os::unix::fs::symlink("inner", d.join("tree/sub")).unwrap();
    std::fs::create_dir_all(d.join("tree/inner")).unwrap();
    let z = write(&d.join("tree/inner"), "z.tenet", ugly);
    let out = tenet(&["fmt", &tree]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    assert_ne!(std::fs::read(&z).unwrap(), ugly);
    assert_ne!(std::fs::read(&inside).unwrap(), ugly);
    assert_eq!(std::fs::read(&outside).unwrap(), ugly);
}

/// A policy file whose name is not UTF-8 is read by its real name, not a lossy copy.
#[cfg(target_os = "linux")]
#[test]
fn policy_files_with_non_utf8_names_are_read() {
    use std::os::unix::ffi::OsStrExt;
    let d = scratch("non-utf8");
    let pd = d.join("pd");
    std::fs::create_dir_all(&pd).unwrap();
    let name = std::ffi::OsStr::from_bytes(b"p\xfe.tenet");
    std::fs::write(pd.join(name), POLICY).unwrap();
    let t = write(&d, "t.json", br#"{"id": "t1", "users": [{"id": "u1", "sessions": [{}, {}, {}]}]}"#);
    let pd_s = pd.to_string_lossy().into_owned();
    let o = tenet(&["check", "-p", &pd_s, &t, "--format", "json"]);
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(json(&o)["findings"][0]["rule"], "session_cap");
    // Read (and found not formatted), not "cannot read".
    let o = tenet(&["fmt", "--check", &pd_s]);
    assert_eq!(o.status.code(), Some(1), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(String::from_utf8_lossy(&o.stdout).contains("not formatted"));
    // Rewritten in place under its own name.
    std::fs::write(pd.join(name), "policy \"x\"\nrule r:   count(user.sessions)<=1\n").unwrap();
    let o = tenet(&["fmt", &pd_s]);
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(std::fs::read_to_string(pd.join(name)).unwrap().contains("count(user.sessions) <= 1"));
    assert_eq!(std::fs::read_dir(&pd).unwrap().count(), 1);
}

#[test]
fn every_command_walks_directories_by_the_same_rules() {
    let d = scratch("walker");
    write(&d, "caps.tenet", POLICY.as_bytes());
    // Broken policies and unformatted files where no walk goes.
    for dir in ["target", "node_modules", "__snapshots__", ".git"] {
        std::fs::create_dir_all(d.join(dir)).unwrap();
        write(&d.join(dir), "broken.tenet", b"policy \"x\"\nrule r: 1 +\n");
        write(&d.join(dir), "t.json", b"{ not json");
    }
    write(&d, ".hidden.tenet", b"policy \"x\"\nrule r: 1 +\n");
    write(&d, ".hidden.json", b"{ not json");
    // Fixtures are tenants: skipped by policy discovery, not by tenant walks.
    std::fs::create_dir_all(d.join("fixtures")).unwrap();
    write(&d.join("fixtures"), "t.yaml", b"id: t1\n");
    let dir = d.to_string_lossy().into_owned();
    let out = tenet(&["lint", "-p", &dir]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let out = tenet(&["fmt", "--check", &dir]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("1 of 1 file would be reformatted"), "{out:?}");
    let out = tenet(&["check", "-p", &dir, &dir, "--format", "json"]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(json(&out)["summary"]["tenants"], 1);
}
