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

// ------------------------------------------------------------ issue 8: parsing at scale

/// Comments go wherever white space may, annotations included, and `tenet fmt` keeps them.
#[test]
fn corpus_comments_are_accepted_wherever_white_space_is() {
    let policy = "@title(\"t\" # before the parenthesis\n)\n\
        policy \"c\" # after the name\n\
        limit = 3 # a parameter\n\
        @severity(warning # why a warning\n)\n\
        @code(\"C1\" # a code\n)\n\
        @message(\"{user.email} is off\" # a message\n)\n\
        @tags([\"a\", # first\n \"b\"])\n\
        rule r # before the colon\n: # after it\n user.session_cap # an operand\n <= # an operator\n limit\n";
    let diags = diagnostics_of("c.tenet", policy);
    assert!(diags.is_empty(), "{}", render(&diags));
    // The severity is the word given, not an expression.
    let engine = Engine::builder(Model::erp()).policy(SourceFile::new("c.tenet", policy)).build().unwrap();
    assert_eq!(engine.program.rules[0].severity.as_str(), "warning");
    // fmt keeps every comment (it reported an internal error for the one in `@message`).
    let out = tenet::fmt::format(&SourceFile::new("c.tenet", policy)).unwrap_or_else(|e| panic!("{e:?}"));
    let comments =
        |t: &str| t.lines().filter_map(|l| l.find('#').map(|i| l[i..].trim().to_string())).collect::<Vec<_>>();
    assert_eq!(comments(&out), comments(policy), "{out}");
}

/// A UTF-8 byte-order mark at the start of a `.tenet` or YAML policy, a model or a test
/// file is not text: accepted, and spans, lines and columns count from after it.
#[test]
fn corpus_byte_order_mark_is_accepted() {
    let bom = "\u{feff}";
    for (name, text) in [
        ("b.tenet", "policy \"b\"\nrule r: user.session_cap <= 3\n"),
        ("b.yaml", "policy: b\nrules:\n  - id: r\n    assert: user.session_cap <= 3\n"),
    ] {
        let diags = diagnostics_of(name, &format!("{bom}{text}"));
        assert!(diags.is_empty(), "{name}: {}", render(&diags));
    }
    let text = format!("{bom}policy \"b\"\nrule r: user.nope <= 3\n");
    let diags = diagnostics_of("b.tenet", &text);
    assert_eq!(diags.len(), 1, "{}", render(&diags));
    assert_eq!(diags[0].file.slice(diags[0].span), "nope");
    assert!(diags[0].render_plain().contains("[b.tenet:2:14]"), "{}", diags[0].render_plain());
    let model = format!("{bom}{}", tenet::model::BUILTIN_ERP);
    assert!(tenet::model::load(&SourceFile::new("m.yaml", model)).is_ok());
}

/// A key given twice in a YAML policy or model, at any depth, is a diagnostic pointing at
/// both; unknown keys are worded one way in policies, models and tests.
#[test]
fn corpus_yaml_duplicate_and_unknown_keys() {
    let policy =
        "policy: d\nparams:\n  a: 1\n  a: 2\nrules:\n  - id: r\n    assert: user.session_cap <= a\n    id: s\n";
    let diags = diagnostics_of("d.yaml", policy);
    assert_eq!(diags.len(), 2, "{}", render(&diags));
    for (d, key, first) in [(&diags[0], "a", 20), (&diags[1], "id", 43)] {
        assert_eq!(d.message, format!("duplicate key `{key}`"));
        assert_eq!(d.file.slice(d.span), key);
        assert_eq!(d.related.first().map(|(s, _)| s.start), Some(first), "{}", d.render_plain());
    }
    let model = tenet::model::BUILTIN_ERP.replacen("kinds:", "kinds:\n  tenant:\n    fields: {}", 1);
    let err = tenet::model::load(&SourceFile::new("m.yaml", model)).expect_err("a duplicate kind is an error");
    assert!(err.iter().any(|d| d.message == "duplicate key `tenant`" && d.related.len() == 1), "{err:?}");
    let policy = "policy: u\nrules:\n  - id: r\n    asert: user.session_cap <= 3\n";
    let diags = diagnostics_of("u.yaml", policy);
    let d = diags.iter().find(|d| d.message.starts_with("unknown key")).expect("an unknown key");
    assert_eq!(d.message, "unknown key `asert` in a rule");
    assert!(
        d.help.as_deref().unwrap_or("").starts_with("did you mean `assert`? the keys of a rule are `id`,"),
        "{d:?}"
    );
    let model = tenet::model::BUILTIN_ERP.replacen("kinds:", "kind:\n  x: 1\nkinds:", 1);
    let err = tenet::model::load(&SourceFile::new("m.yaml", model)).expect_err("an unknown key is an error");
    assert!(
        err.iter().any(|d| d.message == "unknown key `kind` in a model"
            && d.help.as_deref() == Some("did you mean `kinds`? the keys of a model are `model`, `kinds`")),
        "{err:?}"
    );
}

/// Many diagnostics in one large file render in linear time (each rendering scanned the
/// file from its start: 40,000 unknown names took 80 s).
#[test]
fn corpus_many_diagnostics_render_in_linear_time() {
    let n = 10_000;
    let policy: String = std::iter::once("policy \"p\"\n".to_string())
        .chain((0..n).map(|i| format!("rule r{i}: user.email == x{i}\n")))
        .collect();
    let start = Instant::now();
    let diags = diagnostics_of("many.tenet", &policy);
    let shown = render(&diags);
    let took = start.elapsed();
    assert_eq!(diags.len(), n);
    assert!(shown.contains(&format!("[many.tenet:{}:", n + 1)), "last diagnostic on the last line");
    assert!(took < Duration::from_secs(30), "took {took:?}");
}

/// A valid policy of 40,000 rules parses (it was "too complex to parse": pest's call limit).
#[test]
fn corpus_a_policy_of_many_rules_parses() {
    let n = 40_000;
    let policy: String = std::iter::once("policy \"p\"\n".to_string())
        .chain((0..n).map(|i| format!("rule r{i}: user.email == \"a{i}\"\n")))
        .collect();
    let parsed = tenet::parse::policy(&SourceFile::new("big.tenet", policy));
    assert!(parsed.diagnostics.is_empty(), "{}", render(&parsed.diagnostics[..1]));
    assert_eq!(parsed.value.map(|p| p.rules.len()), Some(n));
}

/// Over the size limit: a T004 diagnostic, before any parsing.
#[test]
fn corpus_a_policy_over_the_size_limit_is_t004() {
    let policy = format!("policy \"p\"\n#{}\n", "x".repeat(tenet::parse::MAX_POLICY_BYTES));
    let diags = diagnostics_of("huge.tenet", &policy);
    assert_eq!(diags.len(), 1);
    assert_eq!(diags[0].code.as_str(), "T004");
}

/// A message with very many `{…}` checks in linear time (each copied the rest of the
/// message's offset table: 100,000 took 20 s).
#[test]
fn corpus_a_message_with_many_expressions_checks_in_linear_time() {
    let n = 20_000;
    let policy = format!("policy \"p\"\n@message(\"{}\")\nrule r: user.email == \"a\"\n", "{user.email}".repeat(n));
    let start = Instant::now();
    let diags = diagnostics_of("msg.tenet", &policy);
    assert!(diags.is_empty(), "{}", render(&diags));
    let took = start.elapsed();
    assert!(took < Duration::from_secs(30), "took {took:?}");
}
