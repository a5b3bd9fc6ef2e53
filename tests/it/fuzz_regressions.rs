//! Inputs the fuzzers found (`tests/fuzz-regressions/TARGET/NAME`), replayed through the
//! same checks as the fuzz targets (`fuzz/fuzz_targets/common/mod.rs`, included here), so
//! that every finding stays fixed without cargo fuzz or a nightly toolchain.

#[path = "../../fuzz/fuzz_targets/common/mod.rs"]
#[allow(clippy::all, reason = "the fuzz crate's code, linted as it is there")]
mod common;

use super::scratch::scratch;
use std::path::Path;

/// Every input under `tests/fuzz-regressions/TARGET/`, sorted by name.
fn inputs(target: &str) -> Vec<(String, Vec<u8>)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fuzz-regressions").join(target);
    let Ok(entries) = std::fs::read_dir(&dir) else { return Vec::new() };
    let mut out: Vec<(String, Vec<u8>)> = entries
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
        .map(|e| (e.file_name().to_string_lossy().into_owned(), std::fs::read(e.path()).unwrap()))
        .collect();
    out.sort();
    out
}

/// Runs `check` on every input of `target`, naming the input that fails.
fn replay(target: &str, check: impl Fn(&[u8]) + std::panic::RefUnwindSafe) {
    for (name, data) in inputs(target) {
        let res = std::panic::catch_unwind(|| check(&data));
        assert!(res.is_ok(), "tests/fuzz-regressions/{target}/{name} fails again");
    }
}

#[test]
fn policy_tenet() {
    replay("policy_tenet", |d| common::policy("fuzz.tenet", d));
}

#[test]
fn policy_yaml() {
    replay("policy_yaml", |d| common::policy("fuzz.yaml", d));
}

#[test]
fn fmt() {
    replay("fmt", common::fmt);
}

#[test]
fn snapshot_json() {
    replay("snapshot_json", common::snapshot_json);
}

// The targets that read files are given a scratch directory of the test's, removed when
// it ends (the fuzz process's own is removed by scripts/fuzz.sh).

#[test]
fn snapshot_jsonl() {
    let dir = scratch("jsonl");
    replay("snapshot_jsonl", |d| common::snapshot_jsonl_in(&dir, d));
}

#[test]
fn snapshot_yaml() {
    let dir = scratch("yaml");
    replay("snapshot_yaml", |d| common::snapshot_yaml_in(&dir, d));
}

#[test]
fn test_file() {
    let dir = scratch("test-file");
    let policies = common::copy_policies(&dir);
    replay("test_file", |d| common::test_file_in(&policies, d));
}

/// The guard that keeps the `test_file` fuzzer inside its directory.
#[test]
fn test_file_paths_stay_confined() {
    assert!(common::confined("policy: netsuite-2026.1.tenet\ncases:\n  - tenant_file: fixtures/a.json\n"));
    for escape in
        ["policy: /etc/passwd", "policy: ../x", "model: \"\\x2fetc\"", "policy:\n  /etc", "policy: ~/x", "policy: [/x]"]
    {
        assert!(!common::confined(escape), "{escape}");
    }
}

/// The replay reads the directory it should: a renamed or missing `tests/fuzz-regressions/`
/// would make every replay above pass on nothing. Every subdirectory is a target.
#[test]
fn the_regressions_are_found() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fuzz-regressions");
    let targets =
        ["policy_tenet", "policy_yaml", "fmt", "snapshot_json", "snapshot_jsonl", "snapshot_yaml", "test_file"];
    let mut total = 0;
    for e in std::fs::read_dir(&root).expect("tests/fuzz-regressions exists") {
        let name = e.unwrap().file_name().to_string_lossy().into_owned();
        assert!(targets.contains(&name.as_str()), "tests/fuzz-regressions/{name} is not a fuzz target");
    }
    for t in targets {
        total += inputs(t).len();
    }
    assert!(total > 0, "no input under tests/fuzz-regressions");
}
