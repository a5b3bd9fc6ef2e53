//! Docs that are tests: every example in `docs/` runs here, so the manual cannot drift
//! from the engine. The conventions (what each fenced block's info string means) are in
//! `docs/README.md`, "How the examples are tested":
//!
//! - ` ```tenet ` / ` ```yaml policy `: a policy; alone, it must check clean;
//!   ` ```tenet error=T011 ` must give exactly those diagnostic codes;
//! - ` ```yaml model `: a model file that must load; the next policy on the page uses it;
//! - ` ```json tenant ` / ` ```yaml tenant `: a tenant for the policy above it, and
//!   ` ```results `: every evaluation it gives (`RULE SUBJECT STATUS[: REASON]`), exactly,
//!   at the instant `2026-11-22T00:00:00Z`;
//! - ` ```yaml test `: a test file; it must validate against `schemas/test.schema.json`;
//! - ` ```console `: `$ tenet …` commands run in a directory holding the page's
//!   `file=NAME` blocks; standard output then standard error must be as shown, and the exit
//!   code 0 unless the command ends with `# exit N`;
//! - ` ```text ` and ` ```json `: illustrations, not run. Any other info string fails.

use std::path::{Path, PathBuf};
use tenet::engine::{CompileError, Engine};
use tenet::model::Model;
use tenet::snapshot::Content;
use tenet::source::SourceFile;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// One fenced block: its info string, text, and the line of the page it starts on.
#[derive(Debug, Clone)]
struct Block {
    info: Vec<String>,
    text: String,
    line: usize,
}

impl Block {
    fn attr(&self, key: &str) -> Option<&str> {
        self.info.iter().find_map(|w| w.strip_prefix(key).and_then(|r| r.strip_prefix('=')))
    }
    fn is(&self, words: &[&str]) -> bool {
        self.info.len() >= words.len() && self.info.iter().zip(words).all(|(a, b)| a == b)
    }
}

fn blocks(text: &str) -> Vec<Block> {
    let mut out = Vec::new();
    let mut cur: Option<Block> = None;
    for (i, line) in text.lines().enumerate() {
        match &mut cur {
            None => {
                if let Some(info) = line.strip_prefix("```") {
                    let info = info.split_whitespace().map(str::to_string).collect();
                    cur = Some(Block { info, text: String::new(), line: i + 1 });
                }
            }
            Some(b) => {
                if line == "```" {
                    out.push(cur.take().unwrap());
                } else {
                    b.text.push_str(line);
                    b.text.push('\n');
                }
            }
        }
    }
    assert!(cur.is_none(), "a fenced block is not closed");
    out
}

/// Every markdown page under `docs/` except the contributors' notes.
fn pages() -> Vec<PathBuf> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        let mut entries: Vec<PathBuf> = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()).collect();
        entries.sort();
        for p in entries {
            if p.is_dir() {
                walk(&p, out);
            } else if p.extension().is_some_and(|e| e == "md") {
                out.push(p);
            }
        }
    }
    let mut out = Vec::new();
    walk(&root().join("docs"), &mut out);
    out
}

/// Pages written for developers of tenet, not users; their blocks are illustrations.
/// Pages that are not part of the reference manual: design notes, and the guides whose
/// examples are shell sessions against real exports or CI systems (their behaviour is
/// tested by their own modules: `import`, `exports`, `waivers`, `baseline`, `recipes`,
/// `lsp`, and the Python suite).
const NOT_MANUAL: &[&str] = &[
    "ARCHITECTURE.md",
    "DIFFERENTIAL.md",
    "FUZZING.md",
    "LIMITS.md",
    "CI.md",
    "IMPORT.md",
    "SOURCES.md",
    "REPORTS.md",
    "PYTHON.md",
    "EDITORS.md",
];

fn compile(model: &Model, name: &str, text: &str) -> Result<Engine, Vec<String>> {
    match Engine::builder(model.clone()).policy(SourceFile::new(name, text)).build() {
        Ok(e) => Ok(e),
        Err(CompileError::Diagnostics(d)) => {
            Err(d.iter().map(|d| format!("{} {}", d.code.as_str(), d.render_plain())).collect())
        }
        Err(CompileError::Usage(u)) => Err(vec![format!("usage: {u}")]),
    }
}

/// `rule path status[: reason]` for every evaluation, as the ```results blocks write them.
fn results(e: &Engine, tenant: &Block) -> String {
    let content = if tenant.is(&["json"]) {
        Content::Json(tenant.text.as_bytes().to_vec())
    } else {
        Content::Yaml { text: tenant.text.clone(), line: 0 }
    };
    let t = e.decode("tenant", content).unwrap_or_else(|err| panic!("tenant does not decode: {}", err.message));
    let now = tenet::value::parse_date(crate::support::NOW).unwrap();
    let mut out = String::new();
    for (rule, path, status, reason) in e.statuses(&t, now) {
        let name = &e.program.rules[rule].name;
        let path = if path.is_empty() { "tenant".to_string() } else { path };
        let s = status.as_str();
        match reason {
            Some(r) => out.push_str(&format!("{name} {path} {s}: {r}\n")),
            None => out.push_str(&format!("{name} {path} {s}\n")),
        }
    }
    out
}

/// Splits a command line into words (`'…'` and `"…"` quote; `#` starts a comment).
fn words(line: &str) -> (Vec<String>, Option<i32>) {
    let (cmd, exit) = match line.split_once(" # exit ") {
        Some((c, n)) => (c, Some(n.trim().parse().unwrap())),
        None => (line, None),
    };
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quote = None;
    let mut any = false;
    for c in cmd.chars() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), c) => cur.push(c),
            (None, '\'' | '"') => {
                quote = Some(c);
                any = true;
            }
            (None, c) if c.is_whitespace() => {
                if any || !cur.is_empty() {
                    out.push(std::mem::take(&mut cur));
                }
                any = false;
            }
            (None, c) => cur.push(c),
        }
    }
    if any || !cur.is_empty() {
        out.push(cur);
    }
    (out, exit)
}

/// Runs a console block in `dir`: each `$ tenet …` line and the output below it.
fn console(block: &Block, dir: &Path) -> Result<(), String> {
    let mut lines = block.text.lines().peekable();
    while let Some(line) = lines.next() {
        let Some(cmd) = line.strip_prefix("$ ") else {
            return Err(format!("expected a `$ tenet …` line, found `{line}`"));
        };
        let mut expected = String::new();
        while let Some(l) = lines.peek() {
            if l.starts_with("$ ") {
                break;
            }
            expected.push_str(l);
            expected.push('\n');
            lines.next();
        }
        let (args, exit) = words(cmd);
        if args.first().map(String::as_str) != Some("tenet") {
            return Err(format!("only `tenet` commands run: `{cmd}`"));
        }
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_tenet"))
            .args(&args[1..])
            .current_dir(dir)
            .env("NO_COLOR", "1")
            .env("COLUMNS", "100")
            .output()
            .unwrap();
        let mut actual = String::from_utf8_lossy(&out.stdout).into_owned();
        actual.push_str(&String::from_utf8_lossy(&out.stderr));
        if actual != expected {
            return Err(format!("`{cmd}` printed:\n{actual}\nthe page shows:\n{expected}"));
        }
        if out.status.code() != Some(exit.unwrap_or(0)) {
            return Err(format!("`{cmd}` exited {:?}, the page says {}", out.status.code(), exit.unwrap_or(0)));
        }
    }
    Ok(())
}

/// Runs every block of one page; returns the problems and the number of blocks run.
fn run_page(path: &Path) -> (Vec<String>, usize) {
    let text = std::fs::read_to_string(path).unwrap();
    let dir = super::scratch::scratch("page");
    let mut problems = Vec::new();
    let mut ran = 0;
    let mut model: Option<Model> = None;
    let mut engine: Option<Result<Engine, Vec<String>>> = None;
    let mut tenant: Option<Block> = None;
    let test_schema = {
        let s: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(root().join("schemas/test.schema.json")).unwrap()).unwrap();
        jsonschema::validator_for(&s).unwrap()
    };
    for b in blocks(&text) {
        let at = format!("{}:{}", path.strip_prefix(root()).unwrap_or(path).display(), b.line);
        if let Some(name) = b.attr("file") {
            let p = dir.path().join(name);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, &b.text).unwrap();
        }
        let mut problem = |m: String| problems.push(format!("{at}: {m}"));
        if b.is(&["tenet"]) || b.is(&["yaml", "policy"]) {
            ran += 1;
            let name = if b.is(&["tenet"]) { "example.tenet" } else { "example.yaml" };
            let m = model.take().unwrap_or_else(Model::erp);
            let compiled = compile(&m, name, &b.text);
            let want: Option<Vec<&str>> = b.attr("error").map(|e| e.split(',').collect());
            match (&compiled, want) {
                (Ok(_), Some(w)) => problem(format!("expected diagnostics {w:?}, the policy checks")),
                (Err(d), None) => problem(format!("the policy does not check:\n{}", d.join("\n"))),
                (Err(d), Some(w)) => {
                    let mut got: Vec<&str> = d.iter().map(|d| d.split(' ').next().unwrap()).collect();
                    got.dedup();
                    if got != w {
                        problem(format!("expected diagnostics {w:?}, got:\n{}", d.join("\n")));
                    }
                }
                (Ok(_), None) => {}
            }
            engine = Some(compiled);
            tenant = None;
        } else if b.is(&["yaml", "model"]) {
            ran += 1;
            match tenet::model::load(&SourceFile::new("model.yaml", b.text.as_str())) {
                Ok(m) => model = Some(m),
                Err(d) => problem(format!(
                    "the model does not load: {}",
                    d.iter().map(|d| d.render_plain()).collect::<String>()
                )),
            }
        } else if b.is(&["json", "tenant"]) || b.is(&["yaml", "tenant"]) {
            tenant = Some(b.clone());
        } else if b.is(&["results"]) {
            ran += 1;
            match (&engine, &tenant) {
                (Some(Ok(e)), Some(t)) => {
                    let got = results(e, t);
                    if got != b.text {
                        problem(format!("the engine gives:\n{got}the page shows:\n{}", b.text));
                    }
                }
                _ => problem("a results block needs a policy that checks and a tenant above it".into()),
            }
        } else if b.is(&["yaml", "test"]) {
            ran += 1;
            let v: serde_json::Value = serde_saphyr::from_str(&b.text).unwrap();
            let errs: Vec<String> = test_schema.iter_errors(&v).map(|e| e.to_string()).collect();
            if !errs.is_empty() {
                problem(format!("the test file does not validate: {errs:?}"));
            }
        } else if b.is(&["console"]) {
            ran += 1;
            if let Err(m) = console(&b, dir.path()) {
                problem(m);
            }
        } else if b.is(&["text"])
            || b.is(&["json"])
            || (b.is(&["yaml"]) && b.info.len() == 2 && b.attr("file").is_some())
        {
        } else {
            problem(format!(
                "unknown block `{}` (see docs/README.md, \"How the examples are tested\")",
                b.info.join(" ")
            ));
        }
    }
    (problems, ran)
}

#[test]
fn every_example_in_the_manual_runs() {
    let mut problems = Vec::new();
    let mut pages_seen = 0;
    for page in pages() {
        let name = page.file_name().unwrap().to_string_lossy().into_owned();
        // The pages of diagnostic codes (docs/diagnostics/) show examples that must fail;
        // `codes::every_page_example_produces_its_code_and_only_it` runs them.
        if NOT_MANUAL.contains(&name.as_str()) || page.parent().is_some_and(|d| d.ends_with("diagnostics")) {
            continue;
        }
        let (p, ran) = run_page(&page);
        if ran == 0 && name != "README.md" {
            problems.push(format!("{}: no example runs on this page", page.display()));
        }
        pages_seen += 1;
        problems.extend(p);
    }
    assert!(pages_seen >= 8, "found only {pages_seen} manual pages");
    assert!(problems.is_empty(), "{} example(s) disagree with tenet:\n\n{}", problems.len(), problems.join("\n\n"));
}

/// The runner itself catches a page that disagrees with the engine.
#[test]
fn a_wrong_example_fails() {
    let dir = super::scratch::scratch("wrong");
    let page = dir.path().join("wrong.md");
    std::fs::write(
        &page,
        "```tenet\npolicy \"p\"\nrule r: count(user.sessions) <= 1\n```\n\n```json tenant\n{\"users\": [{\"id\": \"u1\", \"sessions\": [{}, {}]}]}\n```\n\n```results\nr users[0] pass\n```\n\n```tenet error=T010\npolicy \"p\"\nrule r: role.twofa\n```\n\n```console\n$ tenet schema nope\n```\n",
    )
    .unwrap();
    let (problems, ran) = run_page(&page);
    assert_eq!(ran, 4);
    assert_eq!(problems.len(), 3, "{problems:#?}");
    assert!(problems[0].contains("r users[0] fail"), "{}", problems[0]);
    assert!(problems[1].contains("T011"), "{}", problems[1]);
    assert!(problems[2].contains("unknown schema"), "{}", problems[2]);
}

/// README, docs and every `--help` name no path outside the repository.
#[test]
fn no_paths_outside_the_repository() {
    let mut texts = vec![("README.md".to_string(), std::fs::read_to_string(root().join("README.md")).unwrap())];
    for page in pages() {
        texts.push((page.display().to_string(), std::fs::read_to_string(&page).unwrap()));
    }
    let mut commands: Vec<Vec<&str>> = vec![vec![]];
    for c in ["check", "lint", "test", "fmt", "explain", "model", "schema"] {
        commands.push(vec![c]);
    }
    commands.push(vec!["model", "show"]);
    for c in commands {
        let mut args = c.clone();
        args.push("--help");
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_tenet")).args(&args).output().unwrap();
        assert_eq!(out.status.code(), Some(0), "tenet {args:?}");
        let help = String::from_utf8(out.stdout).unwrap();
        if !c.is_empty() {
            assert!(help.contains("docs/"), "`tenet {} --help` does not point into the manual", c.join(" "));
        }
        texts.push((format!("tenet {} --help", c.join(" ")), help));
    }
    for (name, text) in texts {
        for bad in ["shared/", "../", "spec/"] {
            assert!(!text.contains(bad), "{name} names `{bad}`, a path outside the repository");
        }
    }
}

/// Every link between manual pages leads to a page that exists.
#[test]
fn manual_links_resolve() {
    let link = regex::Regex::new(r"\]\(([^)#\s]+)(#[^)]*)?\)").unwrap();
    for page in pages().into_iter().chain([root().join("README.md")]) {
        let text = std::fs::read_to_string(&page).unwrap();
        for c in link.captures_iter(&text) {
            let target = &c[1];
            if target.starts_with("http") {
                continue;
            }
            let p = page.parent().unwrap().join(target);
            assert!(p.exists(), "{}: link to `{target}`, which does not exist", page.display());
        }
    }
}

/// The tables of the `erp` model in docs/model.md list every kind and field of the
/// built-in model, in order, with their types and defaults.
#[test]
fn model_page_lists_the_erp_model() {
    use tenet::value::Value;
    let model = Model::erp();
    let mut want = String::new();
    for kind in &model.kinds {
        want.push_str(&format!("### {}\n", kind.name));
        for f in &kind.fields {
            let default = match &f.default {
                None => String::new(),
                Some(Value::Bool(b)) => format!("`{b}`"),
                Some(Value::Int(n)) => format!("`{n}`"),
                Some(Value::Str(s)) => format!("`{s}`"),
                Some(Value::List(l)) if l.is_empty() => "`[]`".into(),
                Some(other) => format!("`{other:?}`"),
            };
            let row = format!("| `{}` | `{}` | {default} |\n", f.name, f.ty.show(&model));
            want.push_str(&row.replace(" |  |", " | |"));
        }
    }
    let page = std::fs::read_to_string(root().join("docs/model.md")).unwrap();
    let section = page.split("## The `erp` model").nth(1).unwrap().split("\n## ").next().unwrap();
    let mut got = String::new();
    for line in section.lines() {
        if line.starts_with("### ") {
            got.push_str(line);
            got.push('\n');
        } else if line.starts_with("| `") {
            got.push_str(&line.replace("\\|", "|").replace(" |  |", " | |"));
            got.push('\n');
        }
    }
    assert_eq!(got, want, "docs/model.md does not list the erp model as it is (`tenet model show`)");
}
