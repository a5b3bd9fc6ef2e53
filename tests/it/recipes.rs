//! The CI recipes of docs/CI.md: `.pre-commit-hooks.yaml` run by the real `pre-commit`
//! against a scratch repository (skipped, with the reason printed, when `pre-commit` is
//! not installed; CI installs it).

use super::scratch::scratch;
use super::waivers::write;
use std::path::Path;
use std::process::{Command, Output};

fn git(dir: &Path, args: &[&str]) -> Output {
    let out = Command::new("git")
        .args(["-c", "user.name=tenet", "-c", "user.email=tenet@example.com", "-c", "commit.gpgsign=false"])
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap();
    assert!(out.status.success(), "git {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    out
}

const POLICY: &str = "policy \"caps\"\n@severity(error)\nrule one_session:   count(user.sessions) <= 1\n";
const TEST: &str = r#"policy: caps.tenet
now: 2026-11-22T00:00:00Z
cases:
  - name: two sessions fail
    tenant: {id: t, users: [{id: u1, sessions: [{id: s1}, {id: s2}]}]}
    expect:
      - {rule: one_session, subject: u1, status: fail}
"#;

#[test]
fn the_pre_commit_hooks_run_under_pre_commit() {
    let version = Command::new("pre-commit").arg("--version").output();
    if !version.as_ref().is_ok_and(|o| o.status.success()) {
        println!("skipped: `pre-commit` is not installed (pip install pre-commit; .ci/run installs it)");
        return;
    }
    // The hook repository: this repository's hooks, with `language: rust` (which builds
    // tenet with cargo, minutes on a CI machine) replaced by the binary under test.
    let hooks = scratch("hook-repo");
    let text = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(".pre-commit-hooks.yaml")).unwrap();
    assert_eq!(text.matches("  language: rust\n").count(), 4, "every hook builds tenet");
    write(&hooks, ".pre-commit-hooks.yaml", text.replace("  language: rust\n", "  language: system\n").as_bytes());
    git(&hooks, &["init", "-q"]);
    git(&hooks, &["add", "."]);
    git(&hooks, &["commit", "-q", "-m", "hooks"]);
    let rev = String::from_utf8(git(&hooks, &["rev-parse", "HEAD"]).stdout).unwrap();

    let project = scratch("pre-commit-project");
    std::fs::create_dir_all(project.join("policies")).unwrap();
    std::fs::create_dir_all(project.join("tenants")).unwrap();
    write(&project, "policies/caps.tenet", POLICY.as_bytes());
    write(&project, "policies/caps.test.yaml", TEST.as_bytes());
    write(
        &project,
        "tenants/t.json",
        br#"{"id": "t", "users": [{"id": "u1", "sessions": [{"id": "s1"}, {"id": "s2"}]}]}"#,
    );
    let config = format!(
        "repos:\n  - repo: {}\n    rev: {}\n    hooks:\n      - id: tenet-lint\n      - id: tenet-fmt\n      - id: tenet-test\n        args: [policies]\n      - id: tenet-check\n        args: [-p, policies, tenants, --now, '2026-11-22T00:00:00Z']\n",
        hooks.display(),
        rev.trim()
    );
    write(&project, ".pre-commit-config.yaml", config.as_bytes());
    git(&project, &["init", "-q"]);
    git(&project, &["add", "."]);

    let bin = Path::new(env!("CARGO_BIN_EXE_tenet")).parent().unwrap().to_path_buf();
    let path =
        std::env::join_paths(std::iter::once(bin).chain(std::env::split_paths(&std::env::var_os("PATH").unwrap())))
            .unwrap();
    let home = scratch("pre-commit-home");
    let run = || {
        let out = Command::new("pre-commit")
            .args(["run", "--all-files", "--color", "never"])
            .current_dir(&project)
            .env("PATH", &path)
            .env("PRE_COMMIT_HOME", &home)
            .output()
            .unwrap();
        (out.status.code(), String::from_utf8_lossy(&out.stdout).into_owned())
    };
    let status = |log: &str, hook: &str| {
        log.lines()
            .find(|l| l.starts_with(hook))
            .map(|l| l.rsplit('.').next().unwrap_or("").trim().to_string())
            .unwrap_or_else(|| panic!("no `{hook}` line in\n{log}"))
    };

    // First run: fmt rewrites the policy (a failure, so the commit stops), check finds u1.
    let (code, log) = run();
    assert_eq!(code, Some(1), "{log}");
    assert_eq!(status(&log, "tenet lint"), "Passed", "{log}");
    assert_eq!(status(&log, "tenet fmt"), "Failed", "{log}");
    assert_eq!(status(&log, "tenet test"), "Passed", "{log}");
    assert_eq!(status(&log, "tenet check"), "Failed", "{log}");
    assert!(log.contains("one_session"), "check prints its findings: {log}");
    let formatted = std::fs::read_to_string(project.join("policies/caps.tenet")).unwrap();
    assert!(formatted.contains("rule one_session: count"), "{formatted}");

    // The tenant fixed and the formatting kept: every hook passes.
    write(&project, "tenants/t.json", br#"{"id": "t", "users": [{"id": "u1", "sessions": [{"id": "s1"}]}]}"#);
    git(&project, &["add", "."]);
    let (code, log) = run();
    assert_eq!(code, Some(0), "{log}");
    for hook in ["tenet lint", "tenet fmt", "tenet test", "tenet check"] {
        assert_eq!(status(&log, hook), "Passed", "{hook}: {log}");
    }
}
