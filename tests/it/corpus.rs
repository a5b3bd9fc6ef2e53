//! The diagnostics corpus: broken policies → rendered diagnostics (insta snapshots).
//!
//! Every file in `tests/corpus/check/` is one class of policy mistake. Its header comment
//! says what it tests and, on a line `# expect: N`, how many diagnostics it must produce.
//! The rendered diagnostics (plain miette output, no colors) are pinned in
//! `tests/it/snapshots/`; a snapshot is reviewed like code: the span on the offending token,
//! a one-line lowercase message with user input in backticks, a `help` where a fix is likely.
//!
//! Regenerate with `INSTA_UPDATE=always cargo test --test it corpus` and review the diff.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use tenet::diagnostic::Diagnostic;
use tenet::engine::{check_all, CompileError, Engine};
use tenet::model::Model;
use tenet::source::SourceFile;

/// The diagnostics of one policy file, named as given (the extension picks the form).
fn diagnostics_of(name: &str, text: &str) -> Vec<Diagnostic> {
    match Engine::builder(Model::erp()).policy(SourceFile::new(name, text)).build() {
        Ok(_) => Vec::new(),
        Err(CompileError::Diagnostics(d)) => d,
        Err(CompileError::Usage(u)) => panic!("{name}: unexpected usage error: {u}"),
    }
}

fn corpus_file(path: &Path) -> (String, String) {
    let name = path.file_name().and_then(|n| n.to_str()).expect("utf-8 file name").to_string();
    let text = std::fs::read_to_string(path).expect("corpus file is readable");
    (name, text)
}

fn render(diags: &[Diagnostic]) -> String {
    diags.iter().map(Diagnostic::render_plain).collect::<Vec<_>>().join("\n")
}

/// The `# expect: N` header of a corpus file.
fn expected_count(name: &str, text: &str) -> usize {
    text.lines()
        .take_while(|l| l.starts_with('#'))
        .find_map(|l| l.strip_prefix("# expect:"))
        .unwrap_or_else(|| panic!("{name}: no `# expect: N` line in the header comment"))
        .trim()
        .parse()
        .unwrap_or_else(|e| panic!("{name}: bad `# expect:` line: {e}"))
}

fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus/check")
}

fn corpus_files() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(corpus_dir())
        .expect("tests/corpus/check exists")
        .map(|e| e.expect("directory entry").path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    files
}

#[test]
fn corpus_snapshots() {
    insta::glob!("../corpus", "check/*", |path| {
        let (name, text) = corpus_file(path);
        insta::assert_snapshot!(render(&diagnostics_of(&name, &text)));
    });
}

#[test]
fn corpus_files_report_the_expected_number_of_diagnostics() {
    let files = corpus_files();
    assert!(files.len() >= 40, "the corpus has {} files", files.len());
    let mut failures = Vec::new();
    for path in files {
        let (name, text) = corpus_file(&path);
        let header = text.lines().next().unwrap_or("");
        assert!(header.starts_with("# ") && header.len() > 10, "{name}: the first line must say what the file tests");
        let want = expected_count(&name, &text);
        assert!(want >= 1, "{name}: every corpus file is broken");
        let diags = diagnostics_of(&name, &text);
        if diags.len() != want {
            failures.push(format!("{name}: expected {want} diagnostics, got {}:\n{}", diags.len(), render(&diags)));
        }
        for d in &diags {
            assert_eq!(&*d.file.name, name.as_str(), "{name}: diagnostic names another file");
            assert!(d.span.end as usize <= text.len(), "{name}: span {:?} is past the end of the file", d.span);
            assert!(text.is_char_boundary(d.span.start as usize) && text.is_char_boundary(d.span.end as usize));
            assert!(!d.message.contains('\n'), "{name}: message has a line break: {}", d.message);
            assert!(!d.message.ends_with('.'), "{name}: message ends with a period: {}", d.message);
            let first = d.message.chars().next().unwrap_or('x');
            assert!(!first.is_uppercase(), "{name}: message is not lowercase: {}", d.message);
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

/// Every shipped policy pack checks without a single diagnostic. A pack is searched as
/// `tenet lint -p policies` does: `.tenet`, `.yaml`, `.yml` files, not `*.test.yaml`, not
/// inside `fixtures/`, `__snapshots__/` or hidden directories.
#[test]
fn corpus_shipped_policies_lint_clean() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("policies");
    let mut files = Vec::new();
    let mut stack = vec![dir];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).expect("policies/ is readable") {
            let p = entry.expect("directory entry").path();
            let name = p.to_string_lossy().to_string();
            let base = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
            if p.is_dir() {
                if base != "fixtures" && base != "__snapshots__" && !base.starts_with('.') {
                    stack.push(p);
                }
            } else if !name.ends_with(".test.yaml")
                && !name.ends_with(".test.yml")
                && [".tenet", ".yaml", ".yml"].iter().any(|ext| name.ends_with(ext))
            {
                files.push(SourceFile::new(name, std::fs::read_to_string(&p).expect("policy is readable")));
            }
        }
    }
    assert!(files.len() >= 4, "found {} shipped policies", files.len());
    let (policies, diags) = check_all(&files, &Model::erp());
    assert!(diags.is_empty(), "shipped policies have diagnostics:\n{}", render(&diags));
    assert_eq!(policies.len(), files.len());
}

/// A policy of `rule r: EXPR` that must be rejected with a diagnostic, quickly and without
/// overflowing the stack of a test thread.
fn assert_rejected_quickly(what: &str, expr: &str) {
    let policy = format!("policy \"deep\"\nrule r: {expr}\n");
    let start = Instant::now();
    let shown = crate::support::diagnostics(&policy);
    let took = start.elapsed();
    assert!(took < Duration::from_secs(2), "{what}: took {took:?}");
    assert!(shown.contains("T00"), "{what}: {shown}");
    assert!(shown.len() < 4000, "{what}: rendering is {} bytes long", shown.len());
    assert_file_rejected_quickly(what, "deep.tenet", &policy);
}

/// A policy file that must be rejected with a diagnostic that renders, quickly and without
/// overflowing the stack of a test thread.
fn assert_file_rejected_quickly(what: &str, name: &str, policy: &str) {
    let start = Instant::now();
    let diags = diagnostics_of(name, policy);
    let took = start.elapsed();
    assert!(!diags.is_empty(), "{what}: no diagnostic");
    assert!(took < Duration::from_secs(2), "{what}: took {took:?}");
    for d in &diags {
        assert!(d.span.end as usize <= policy.len(), "{what}: span past the end");
        assert!(d.message.len() < 200, "{what}: message is long: {}", d.message);
        // Rendering clips long lines (miette cannot underline past column 65535).
        let shown = d.render_plain();
        assert!(shown.len() < 4000, "{what}: rendering is {} bytes long", shown.len());
    }
}

#[test]
fn corpus_pathological_nesting_is_a_diagnostic_not_a_crash() {
    for depth in [10_000, 100_000] {
        let parens = format!("{}user.session_cap{} > 1", "(".repeat(depth), ")".repeat(depth));
        assert_rejected_quickly(&format!("{depth} parentheses"), &parens);
        let unclosed = "(".repeat(depth);
        assert_rejected_quickly(&format!("{depth} unclosed parentheses"), &unclosed);
        let lists = format!("{}1{} == 1", "[".repeat(depth), "]".repeat(depth));
        assert_rejected_quickly(&format!("{depth} nested lists"), &lists);
        let calls = format!("{}1{} > 0", "abs(".repeat(depth), ")".repeat(depth));
        assert_rejected_quickly(&format!("{depth} nested calls"), &calls);
    }
    let n = 100_000;
    let sum = vec!["user.session_cap"; n].join(" + ");
    assert_rejected_quickly("100000-term sum", &format!("{sum} > 1"));
    let nots = format!("{}role.2fa", "not ".repeat(n));
    assert_rejected_quickly("100000 `not`", &nots);
    let negs = format!("{}user.session_cap > 1", "- ".repeat(n));
    assert_rejected_quickly("100000 unary minus", &negs);
    let requires = vec!["role.2fa"; n].join(" requires ");
    assert_rejected_quickly("100000-term `requires` chain", &requires);
    let ors = vec!["role.2fa"; n].join(" or ");
    assert_rejected_quickly("100000-term `or` chain", &ors);
    let coalesce = vec!["user.session_cap"; n].join(" ?? ");
    assert_rejected_quickly("100000-term `??` chain", &format!("{coalesce} > 1"));
    let fields = format!("user{}", ".x".repeat(n));
    assert_rejected_quickly("100000 fields", &fields);
    let wheres = format!("count(user.sessions{}) > 1", " where true".repeat(n));
    assert_rejected_quickly("100000 `where`", &wheres);
    let deep = format!("{}1{}", "(".repeat(n), ")".repeat(n));
    let message = format!("policy \"deep\"\n@message(\"{{{deep}}}\")\nrule r: role.2fa\n");
    assert_file_rejected_quickly("100000 parentheses in a message", "deep.tenet", &message);
    let yaml = format!("policy: deep\nrules:\n  - id: r\n    assert: \"{deep} > 0\"\n");
    assert_file_rejected_quickly("100000 parentheses in a YAML assert", "deep.yaml", &yaml);
    let yaml = format!("policy: deep\nrules:\n  - id: r\n    assert: {sum} > 1\n");
    assert_file_rejected_quickly("100000-term sum in a YAML assert", "deep.yaml", &yaml);
}

/// A diagnostic far to the right on a very long line renders, clipped around its span.
#[test]
fn corpus_long_lines_render_clipped() {
    let long = "a".repeat(100_000);
    let policy = format!("policy \"long\"\nrule r: user.email != \"{long}\" and rol.name == \"x\"\n");
    let diags = diagnostics_of("long.tenet", &policy);
    assert_eq!(diags.len(), 1, "{}", render(&diags));
    let shown = diags[0].render_plain();
    let column = policy.lines().nth(1).and_then(|l| l.find("rol.name")).map(|c| c + 1).unwrap_or(0);
    assert!(shown.contains(&format!("[long.tenet:2:{column}]")), "{shown}");
    assert!(shown.contains("│ …aaaaa") && shown.contains("aaaaa\" and rol.name == \"x\""), "{shown}");
    assert!(shown.contains("did you mean `role`?"), "{shown}");
    assert!(shown.lines().all(|l| l.chars().count() < 300), "{shown}");
}

/// Just under the limit still checks (and does not overflow a test thread's stack).
#[test]
fn corpus_nesting_at_the_limit_checks() {
    let depth = 250;
    let policy = format!("policy \"deep\"\nrule r: {}user.session_cap{} > 1\n", "(".repeat(depth), ")".repeat(depth));
    let diags = diagnostics_of("deep.tenet", &policy);
    assert!(diags.is_empty(), "{}", render(&diags));
    // …and evaluates, on a test thread's stack.
    let statuses = crate::support::statuses(&policy, r#"{"id": "t", "users": [{"id": "u1", "session_cap": 2}]}"#);
    assert_eq!(statuses, ["r users[0] pass"]);
}
