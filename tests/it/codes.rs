//! The registry of diagnostic codes (`diagnostic::CODES`): every code has a page whose
//! example produces it and a corpus file that produces it, and every code produced is in
//! the registry.
//!
//! Corpus: `tests/corpus/check/*` are policies, `tests/corpus/model/*.yaml` model files,
//! `tests/corpus/test/*.test.yaml` test files, `tests/corpus/waiver/*` waiver files,
//! `tests/corpus/adapter/*` import adapters.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use tenet::diagnostic::{Code, Diagnostic, CODES};
use tenet::engine::{CompileError, Engine};
use tenet::harness::{load_file, Found};
use tenet::model::Model;
use tenet::source::SourceFile;

fn policy_codes(name: &str, text: &str) -> Vec<Diagnostic> {
    match Engine::builder(Model::erp()).policy(SourceFile::new(name, text)).build() {
        Ok(_) => Vec::new(),
        Err(CompileError::Diagnostics(d)) => d,
        Err(CompileError::Usage(u)) => panic!("{name}: unexpected usage error: {u}"),
    }
}

fn model_codes(name: &str, text: &str) -> Vec<Diagnostic> {
    tenet::model::load(&SourceFile::new(name, text)).err().unwrap_or_default()
}

fn waiver_codes(name: &str, text: &str) -> Vec<Diagnostic> {
    let rules = tenet::triage::RuleIndex::from_names([("p", "r", "C")]);
    tenet::triage::waivers::load(&SourceFile::new(name, text), &rules).err().unwrap_or_default()
}

fn adapter_codes(name: &str, text: &str) -> Vec<Diagnostic> {
    tenet::import::adapter::load(&SourceFile::new(name, text), &Model::erp()).err().unwrap_or_default()
}

fn test_file_codes(path: &Path) -> Vec<Diagnostic> {
    let root = path.parent().unwrap().to_path_buf();
    load_file(&Found { path: path.to_path_buf(), root }, false).diagnostics
}

fn corpus(dir: &str) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus").join(dir);
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()).collect();
    files.sort();
    files
}

/// Every diagnostic of every corpus file.
fn corpus_diagnostics() -> Vec<(String, Diagnostic)> {
    let mut out = Vec::new();
    let name = |p: &Path| p.file_name().unwrap().to_str().unwrap().to_string();
    for p in corpus("check") {
        let d = policy_codes(&name(&p), &std::fs::read_to_string(&p).unwrap());
        out.extend(d.into_iter().map(|d| (name(&p), d)));
    }
    for p in corpus("model") {
        let d = model_codes(&name(&p), &std::fs::read_to_string(&p).unwrap());
        assert!(!d.is_empty(), "{}: a model corpus file gives diagnostics", p.display());
        out.extend(d.into_iter().map(|d| (name(&p), d)));
    }
    for (dir, codes) in [("waiver", waiver_codes as fn(&str, &str) -> Vec<Diagnostic>), ("adapter", adapter_codes)] {
        for p in corpus(dir) {
            let d = codes(&name(&p), &std::fs::read_to_string(&p).unwrap());
            assert!(!d.is_empty(), "{}: a {dir} corpus file gives diagnostics", p.display());
            out.extend(d.into_iter().map(|d| (name(&p), d)));
        }
    }
    for p in corpus("test").into_iter().filter(|p| name(p).ends_with(".test.yaml")) {
        let d = test_file_codes(&p);
        assert!(!d.is_empty(), "{}: a test-file corpus file gives diagnostics", p.display());
        out.extend(d.into_iter().map(|d| (name(&p), d)));
    }
    out
}

/// Codes whose trigger cannot live in the repository: their page's example is generated.
const GENERATED: &[&str] = &["T004"];

#[test]
fn the_registry_is_consistent() {
    let mut ids = BTreeSet::new();
    for (i, c) in CODES.iter().enumerate() {
        assert_eq!(c.code as usize, i, "{}: out of declaration order", c.id);
        assert_eq!(c.code.as_str(), c.id);
        assert_eq!(Code::parse(c.id), Some(c.code));
        assert_eq!(Code::parse(&c.id.to_lowercase()), Some(c.code));
        assert!(ids.insert(c.id), "{} listed twice", c.id);
        assert!(c.id.len() == 4 && c.id.starts_with('T') && c.id[1..].chars().all(|ch| ch.is_ascii_digit()));
        let first = c.page.lines().next().unwrap_or("");
        assert_eq!(first, format!("# {}: {}", c.id, c.title), "{}: the page's title", c.id);
        for section in ["## Example", "## How to fix it"] {
            assert!(c.page.contains(section), "{}: the page has no `{section}`", c.id);
        }
    }
    assert!(ids.iter().zip(ids.iter().skip(1)).all(|(a, b)| a < b));
    assert_eq!(Code::parse("T999"), None);
}

#[test]
fn every_code_is_produced_by_a_corpus_file_and_every_produced_code_is_registered() {
    let diags = corpus_diagnostics();
    for (file, d) in &diags {
        assert!(CODES.iter().any(|c| c.code == d.code && c.id == d.code.as_str()), "{file}: {:?}", d.code);
    }
    let produced: BTreeSet<&str> = diags.iter().map(|(_, d)| d.code.as_str()).collect();
    let missing: Vec<&str> =
        CODES.iter().map(|c| c.id).filter(|id| !produced.contains(id) && !GENERATED.contains(id)).collect();
    assert!(missing.is_empty(), "codes no corpus file produces: {missing:?}");
}

#[test]
fn no_code_is_written_outside_the_registry() {
    // A code is a `Code` variant; a `"T0xx"` string anywhere else in the source would be a
    // second source of truth.
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let re = regex::Regex::new(r#""T[0-9]{3}""#).unwrap();
    let mut stack = vec![src];
    while let Some(dir) = stack.pop() {
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "rs") && !p.ends_with("diagnostic.rs") {
                let text = std::fs::read_to_string(&p).unwrap();
                assert!(!re.is_match(&text), "{}: writes a code literally", p.display());
            }
        }
    }
}

/// The first fenced block after `## Example`: its info string and text.
fn example(page: &str) -> (String, String) {
    let after = page.split("## Example").nth(1).expect("an example section");
    let fence = after.find("```").expect("a fenced block");
    let rest = &after[fence + 3..];
    let (info, body) = rest.split_once('\n').unwrap();
    let end = body.find("\n```").expect("a closed block");
    (info.trim().to_string(), body[..=end].to_string())
}

#[test]
fn every_page_example_produces_its_code_and_only_it() {
    let dir = super::scratch::scratch("pages");
    for c in CODES {
        let (info, text) = example(c.page);
        let diags = match info.as_str() {
            "tenet" => policy_codes("example.tenet", &text),
            "tenet oversized" => {
                let big = text.repeat(tenet::parse::MAX_POLICY_BYTES / text.len() + 1);
                policy_codes("example.tenet", &big)
            }
            "yaml policy" => policy_codes("example.yaml", &text),
            "yaml model" => model_codes("model.yaml", &text),
            "yaml waiver" => waiver_codes("waivers.yaml", &text),
            "yaml adapter" => adapter_codes("adapter.yaml", &text),
            "yaml test" => {
                std::fs::write(dir.join("example.tenet"), "policy \"example\"\nrule r: count(user.sessions) <= 3\n")
                    .unwrap();
                let path = dir.join("example.test.yaml");
                std::fs::write(&path, &text).unwrap();
                test_file_codes(&path)
            }
            other => panic!("{}: unknown example kind `{other}`", c.id),
        };
        assert!(!diags.is_empty(), "{}: the example gives no diagnostic", c.id);
        for d in &diags {
            assert_eq!(d.code, c.code, "{}: the example also gives {}: {}", c.id, d.code.as_str(), d.message);
        }
    }
}

#[test]
fn lint_explain_prints_the_page() {
    let run = |args: &[&str]| std::process::Command::new(env!("CARGO_BIN_EXE_tenet")).args(args).output().unwrap();
    let o = run(&["lint", "--explain", "T029"]);
    assert_eq!(o.status.code(), Some(0));
    assert_eq!(String::from_utf8(o.stdout).unwrap(), Code::ArgumentType.info().page);
    let o = run(&["lint", "--explain", "t001"]);
    assert!(String::from_utf8(o.stdout).unwrap().starts_with("# T001: syntax error\n"));
    let o = run(&["lint", "--explain", "T999"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("unknown diagnostic code `T999`"));
}
