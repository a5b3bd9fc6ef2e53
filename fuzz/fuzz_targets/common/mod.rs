//! The fuzz targets' checks, one function per target (each `fuzz_targets/TARGET.rs` calls
//! its own), and what they share: the shipped packs compiled once, the example tenants.
//! `tests/it/fuzz_regressions.rs` includes this file too and replays the inputs of past
//! findings (`tests/fuzz-regressions/TARGET/`) through the same functions.
//!
//! Every target demands: no panic, no hang, bounded memory; every diagnostic points into
//! its file and renders; evaluation and every report format work on whatever decodes.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};
use tenet::diagnostic::Diagnostic;
use tenet::engine::Engine;
use tenet::finding::TenantReport;
use tenet::fmt::{format, same_policy, FmtError};
use tenet::harness::{load_file, run_case, Found, Options};
use tenet::model::Model;
use tenet::report::{self, Format, RunInfo};
use tenet::snapshot::{self, Content, DecodePlan, Layout, Tenant};
use tenet::source::SourceFile;

/// `2026-11-22T00:00:00Z`, the date the example tenants are checked at.
pub const NOW: i64 = 1_795_305_600_000_000;

/// The repository: this module is compiled into the fuzz crate (`fuzz/`) and into the
/// regression tests (`tests/it/fuzz_regressions.rs`).
pub fn repo() -> PathBuf {
    let here = Path::new(env!("CARGO_MANIFEST_DIR"));
    if here.join("policies").is_dir() {
        here.to_path_buf()
    } else {
        here.join("..")
    }
}

/// The shipped packs (`policies/`), compiled against the built-in model.
pub fn shipped() -> &'static Engine {
    static ENGINE: OnceLock<Engine> = OnceLock::new();
    ENGINE.get_or_init(|| {
        let dir = repo().join("policies");
        let files = tenet::cli::policy_files(&[dir]).expect("policies/");
        let sources =
            files.iter().map(|f| SourceFile::new(f.shown.as_str(), std::fs::read_to_string(&f.path).expect("policy")));
        Engine::builder(Model::erp()).policies(sources).build().ok().expect("the shipped packs compile")
    })
}

/// The shipped packs' decode plan (what `Engine::decode` uses).
pub fn shipped_plan() -> &'static DecodePlan {
    static PLAN: OnceLock<DecodePlan> = OnceLock::new();
    PLAN.get_or_init(|| DecodePlan::new(&shipped().model, &shipped().program.projection))
}

/// The JSON example tenants (for evaluating fuzzed policies on real data).
pub fn example_tenants() -> &'static [Vec<u8>] {
    static TENANTS: OnceLock<Vec<Vec<u8>>> = OnceLock::new();
    TENANTS.get_or_init(|| {
        let mut out = Vec::new();
        let dir = repo().join("examples/tenants");
        let mut names: Vec<PathBuf> =
            std::fs::read_dir(&dir).expect("examples/tenants").filter_map(|e| e.ok()).map(|e| e.path()).collect();
        names.sort();
        for p in names {
            if p.extension().is_some_and(|x| x == "json") {
                out.push(std::fs::read(&p).expect("example tenant"));
            }
        }
        out
    })
}

/// The fuzz process's own directory (`tenet-fuzz-*` in the temporary directory), for the
/// targets that read a file. The process never removes it: libFuzzer ends it with `exit`
/// or `abort`, which run no destructor. `scripts/fuzz.sh` therefore runs every fuzzer with
/// `TMPDIR` set to a directory of its own run and removes that when it ends. Only the fuzz
/// targets call this: the regression tests give the functions below a directory they
/// remove themselves (`*_in`).
pub fn scratch() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| tempfile::Builder::new().prefix("tenet-fuzz-").tempdir().expect("temp dir").keep())
}

/// Every diagnostic points into its file and renders.
pub fn diagnostics_render(diags: &[Diagnostic]) {
    for d in diags {
        let len = d.file.text.len() as u32;
        assert!(
            d.span.start <= d.span.end && d.span.start <= len,
            "span {:?} outside a file of {len} bytes: {d:?}",
            d.span
        );
        for (s, _) in &d.related {
            assert!(s.start <= s.end && s.start <= len, "related span {s:?} outside a file of {len} bytes: {d:?}");
        }
        let text = d.render_plain();
        assert!(!text.is_empty());
    }
}

/// Evaluates `engine` over `tenant` and writes the report in every format.
pub fn evaluate_and_report(engine: &Engine, tenant: &Tenant) -> TenantReport {
    let report = engine.evaluate(tenant, NOW);
    // Every (rule, subject) once more, one at a time, as `tenet test --coverage` does.
    let _ = engine.statuses(tenant, NOW);
    write_reports(&report);
    report
}

/// The report of one tenant in every format, to memory.
pub fn write_reports(report: &TenantReport) {
    for format in [Format::Human, Format::Json, Format::Jsonl] {
        let info =
            RunInfo { now: "2026-11-22T00:00:00Z".into(), policies: Vec::new(), rules: Vec::new(), sarif_root: None };
        let mut r = report::reporter(format, info, false);
        let mut out = Vec::new();
        r.tenant(&mut out, report).expect("write to memory");
        r.finish(&mut out, &report.summary).expect("write to memory");
        if format != Format::Human {
            for line in out.split(|&b| b == b'\n').filter(|l| !l.is_empty() && format == Format::Jsonl) {
                serde_json::from_slice::<serde_json::Value>(line).expect("every jsonl line is JSON");
            }
            if format == Format::Json {
                serde_json::from_slice::<serde_json::Value>(&out).expect("the json report is JSON");
            }
        }
    }
}

/// Decodes `content` with the shipped packs' plan and evaluates them on it; an unreadable
/// document is an `input` finding.
pub fn run_shipped(label: &str, content: Content) {
    let engine = shipped();
    match engine.decode(label, content) {
        Ok(t) => {
            evaluate_and_report(engine, &t);
        }
        Err(e) => {
            assert!(!e.message.is_empty());
            let doc = snapshot::Document { label: label.into(), source: label.into(), content: Err(e), origins: None };
            let r = engine.run_document(&doc, NOW);
            assert!(r.input_error);
            write_reports(&r);
        }
    }
}

/// Targets `policy_tenet` and `policy_yaml` (`name` says which form): parses and checks one policy file against the built-in model; when it checks, lowers it
/// and evaluates it over the example tenants.
pub fn policy(name: &str, data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let file = SourceFile::new(name, text);
    let model = Model::erp();
    let checked = tenet::check::file(&file, &model);
    diagnostics_render(&checked.diagnostics);
    let Some(p) = checked.value else { return };
    if !checked.diagnostics.is_empty() {
        return;
    }
    let Ok(engine) = Engine::from_checked(model, vec![p], &[], &Default::default()) else { return };
    for t in example_tenants() {
        if let Ok(tenant) = engine.decode("t.json", Content::Json(t.clone())) {
            evaluate_and_report(&engine, &tenant);
        }
    }
}

/// Writes `data` to `name` in `dir` and runs every document in it through the shipped
/// packs, as `tenet check FILE` does.
pub fn run_file(dir: &Path, name: &str, data: &[u8]) {
    let path = dir.join(name);
    std::fs::write(&path, data).expect("write the input");
    let engine = shipped();
    let mut n = 0usize;
    for doc in snapshot::documents(&[path.to_string_lossy().into_owned()]) {
        n += 1;
        let (report, _) = engine.run_document_keeping(&doc, NOW);
        write_reports(&report);
    }
    assert!(n > 0 || data.iter().all(u8::is_ascii_whitespace) || name.ends_with(".yaml"), "no document and no error");
}

/// Target `fmt`: for every `.tenet` input that parses, the formatted text parses to the same
/// policy, and formatting it again changes nothing.
pub fn fmt(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let file = SourceFile::new("fuzz.tenet", text);
    let parsed = tenet::parse::dsl_policy(&file);
    diagnostics_render(&parsed.diagnostics);
    let out = match format(&file) {
        Ok(out) => out,
        Err(FmtError::Parse(d)) => {
            assert!(parsed.value.is_none() || !parsed.diagnostics.is_empty(), "fmt refused a file that parses: {d:?}");
            return;
        }
        Err(FmtError::Internal(e)) => panic!("fmt: internal error on a file that parses: {e}"),
    };
    let Some(before) = parsed.value.filter(|_| parsed.diagnostics.is_empty()) else {
        panic!("fmt formatted a file that does not parse");
    };
    let again = SourceFile::new("fuzz.tenet", out.as_str());
    let reparsed = tenet::parse::dsl_policy(&again);
    assert!(reparsed.diagnostics.is_empty(), "formatted text does not parse: {:?}\n{out}", reparsed.diagnostics);
    let after = reparsed.value.expect("parsed");
    assert!(same_policy(&before, &after), "formatting changed the policy:\n{out}");
    match format(&again) {
        Ok(twice) => assert_eq!(out, twice, "fmt is not idempotent"),
        Err(e) => panic!("formatted text does not format again: {e:?}\n{out}"),
    }
}

/// `(chunk, piece, window)` sizes of the streaming split, all tiny.
const LIMITS: &[(usize, usize, usize)] = &[(1, 1, 1), (7, 1, 3), (64, 40, 1), (100, 300, 2), (3, 17, 2)];

/// Target `snapshot_json`: a JSON tenant decoded whole against the shipped packs' plan, and
/// through the streaming split that files of 16 MB or more take, with tiny chunk and piece
/// sizes (picked by the input's length) so that every boundary is crossed. The split gives
/// exactly the tables the whole decode gives, or hands the document back; the shipped packs
/// are then evaluated over the tenant.
pub fn snapshot_json(data: &[u8]) {
    let engine = shipped();
    let plan = shipped_plan();
    let whole = snapshot::decode("t.json", Arc::from("t.json"), &Content::Json(data.to_vec()), plan);
    let shown = whole.as_ref().map(|t| format!("{:?}", t.tables)).map_err(|e| e.message.clone());
    drop(whole);
    let (chunk, piece, window) = LIMITS[data.len() % LIMITS.len()];
    if let Some(tables) = snapshot::decode_streamed(data, plan, chunk, piece, window) {
        match &shown {
            Ok(w) => {
                assert_eq!(&format!("{tables:?}"), w, "the split decodes differently ({chunk}, {piece}, {window})")
            }
            Err(e) => panic!("the split decodes a document the whole decode rejects: {e}"),
        }
        let layout = Arc::new(Layout::new(&engine.model, &engine.program.projection));
        let t = Tenant::new("t.json".into(), Arc::from("t.json"), tables, layout);
        evaluate_and_report(engine, &t);
    }
    run_shipped("t.json", Content::Json(data.to_vec()));
}

/// Target `snapshot_jsonl`: a JSONL file read as `tenet check` reads it.
pub fn snapshot_jsonl(data: &[u8]) {
    snapshot_jsonl_in(scratch(), data)
}

/// [`snapshot_jsonl`], the file written in `dir`.
pub fn snapshot_jsonl_in(dir: &Path, data: &[u8]) {
    run_file(dir, "in.jsonl", data)
}

/// Target `snapshot_yaml`: a YAML stream of tenants read as `tenet check` reads it.
pub fn snapshot_yaml(data: &[u8]) {
    snapshot_yaml_in(scratch(), data)
}

/// [`snapshot_yaml`], the file written in `dir`.
pub fn snapshot_yaml_in(dir: &Path, data: &[u8]) {
    run_file(dir, "in.yaml", data)
}

/// The fuzz process's copy of `policies/` ([`copy_policies`] in [`scratch`]), made once.
fn test_dir() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| copy_policies(scratch()))
}

/// A copy of `policies/` (and the built-in model as `model.yaml`) in `dir`, so that the
/// shipped tests' relative paths resolve: `dir/policies`.
pub fn copy_policies(dir: &Path) -> PathBuf {
    let to = dir.join("policies");
    copy_tree(&repo().join("policies"), &to);
    std::fs::copy(repo().join("src/model/erp.yaml"), to.join("model.yaml")).expect("copy the model");
    to
}

fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for e in std::fs::read_dir(from).expect("read_dir") {
        let e = e.expect("entry");
        let ty = e.file_type().expect("file type");
        if ty.is_dir() {
            copy_tree(&e.path(), &to.join(e.file_name()));
        } else if ty.is_file() {
            std::fs::copy(e.path(), to.join(e.file_name())).expect("copy");
        }
    }
}

/// Whether every path a test file could name stays inside its directory: no `..`, no `~`,
/// no backslash (a YAML escape could spell `/`), and every `/` follows a path character
/// (so no path starts with one).
pub fn confined(text: &str) -> bool {
    if text.contains("..") || text.contains('~') || text.contains('\\') {
        return false;
    }
    let b = text.as_bytes();
    b.iter().enumerate().all(|(i, &c)| {
        c != b'/' || (i > 0 && (b[i - 1].is_ascii_alphanumeric() || matches!(b[i - 1], b'_' | b'-' | b'.')))
    })
}

/// Target `test_file`: a policy test file (`*.test.yaml`) loaded as `tenet test` loads it,
/// from a temporary copy of `policies/`, and every case run, without `--update`. Inputs
/// that could name a file outside that directory are skipped ([`confined`]): the fuzzer
/// reads nothing else.
pub fn test_file(data: &[u8]) {
    test_file_in(test_dir(), data)
}

/// [`test_file`] in `policies`, a copy made by [`copy_policies`].
pub fn test_file_in(policies: &Path, data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if !confined(text) {
        return;
    }
    let path = policies.join("fuzz.test.yaml");
    std::fs::write(&path, text).expect("write the test file");
    let tf = load_file(&Found { path, root: policies.to_path_buf() }, false);
    diagnostics_render(&tf.diagnostics);
    let opts = Options { update: false, coverage: true };
    for case in &tf.cases {
        let out = run_case(case, &opts);
        assert!(out.written.is_empty(), "a run without --update wrote a snapshot");
    }
}
