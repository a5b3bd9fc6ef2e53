//! `tenet test` on large and unusual test files: many cases, a byte-order mark, keys given
//! twice (issue 8). The harness's own behavior is in `harness.rs`.

use super::scratch::scratch;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

fn write(dir: &Path, name: &str, content: &str) {
    std::fs::write(dir.join(name), content).unwrap();
}

const POLICY: &str = "policy \"caps\"\nrule session_cap: count(user.sessions) <= 2\n";

#[test]
fn a_test_file_with_a_byte_order_mark_runs() {
    let d = scratch("bom");
    write(&d, "caps.tenet", &format!("\u{feff}{POLICY}"));
    write(
        &d,
        "caps.test.yaml",
        "\u{feff}policy: caps.tenet\ncases:\n  - name: one\n    tenant: {id: t, users: [{id: u1}]}\n    expect: pass\n",
    );
    let o = Command::new(env!("CARGO_BIN_EXE_tenet")).arg("test").current_dir(&d).output().unwrap();
    let out = String::from_utf8_lossy(&o.stdout);
    assert_eq!(o.status.code(), Some(0), "{out}{}", String::from_utf8_lossy(&o.stderr));
    assert!(out.ends_with("1 passed, 0 failed\n"), "{out}");
}

#[test]
fn a_key_given_twice_in_a_test_file_is_a_diagnostic_with_both_places() {
    let d = scratch("dup");
    write(&d, "caps.tenet", POLICY);
    let text = "policy: caps.tenet\ncases:\n  - name: one\n    tenant: {id: t}\n    expect: pass\n    name: two\n";
    write(&d, "caps.test.yaml", text);
    let tf = tenet::harness::load_file(
        &tenet::harness::Found { path: d.join("caps.test.yaml"), root: d.to_path_buf() },
        false,
    );
    assert_eq!(tf.diagnostics.len(), 1, "{:?}", tf.diagnostics);
    let diag = &tf.diagnostics[0];
    assert_eq!(diag.code.as_str(), "T070");
    assert_eq!(diag.message, "duplicate key `name`");
    assert_eq!(diag.span.start as usize, text.rfind("name").unwrap());
    assert_eq!(diag.related.first().map(|(s, _)| s.start as usize), text.find("name"));
}

/// 40,000 cases in one file load in linear time (case names were compared with every
/// earlier one, and each case's line was counted from the file's start: 40,000 took 32 s).
#[test]
fn many_cases_in_one_file_load_in_linear_time() {
    let d = scratch("many");
    write(&d, "caps.tenet", POLICY);
    let n = 40_000;
    let mut text = String::from("policy: caps.tenet\nnow: 2026-01-01T00:00:00Z\ncases:\n");
    for i in 0..n {
        text.push_str(&format!("  - name: case {i}\n    tenant: {{id: t{i}}}\n    expect: pass\n"));
    }
    write(&d, "many.test.yaml", &text);
    let start = Instant::now();
    let tf = tenet::harness::load_file(
        &tenet::harness::Found { path: d.join("many.test.yaml"), root: d.to_path_buf() },
        false,
    );
    let took = start.elapsed();
    assert!(tf.diagnostics.is_empty(), "{:?}", tf.diagnostics.first());
    assert_eq!(tf.cases.len(), n);
    assert_eq!(tf.cases[n - 1].line, 3 + 3 * (n - 1) + 1);
    assert!(took < Duration::from_secs(30), "took {took:?}");
}
