//! Finding test files, and reading one into compiled, ready-to-run cases.

use super::expect::{self, line_of, scalar_text, Expect};
use super::snapshots::slug;
use crate::diagnostic::{did_you_mean, Code, Diagnostic};
use crate::engine::{check_all, CompileError, Engine};
use crate::fsio;
use crate::hir;
use crate::lower::overrides::{parse_value, Override};
use crate::lower::RuleFilter;
use crate::model::Model;
use crate::snapshot::{self, Content, Tenant};
use crate::source::{SourceFile, Span};
use crate::value::{format_decimal, parse_date};
use crate::yaml::{self, YKey, YNode, YValue};
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;

// The valid keys come from the types that describe test files (`schema::files`), the same
// ones their JSON Schema is generated from.
use crate::schema::files::{Case as CaseKeys, From as FromKeys, TestFile as FileKeys};

/// One test file, read and validated.
pub struct TestFile {
    /// The path as shown (as found, without a leading `./`).
    pub path: String,
    /// Every mistake in the file; when there is any, `cases` is empty.
    pub diagnostics: Vec<Diagnostic>,
    pub cases: Vec<Case>,
    /// `(policy, rule)` of every rule under test, in report order.
    pub rules: Vec<(Arc<str>, Arc<str>)>,
    /// `__snapshots__/<test file name without .test.yaml>/` next to the test file.
    pub snapshot_dir: PathBuf,
    /// [`Found::root`]: the snapshot directory is looked at only inside it.
    pub root: PathBuf,
    /// The model and the policies under test, when they loaded (even if the cases have
    /// mistakes): what an editor completes and explains in the file.
    pub under_test: UnderTest,
}

/// What a test file is checked against, as far as it loaded.
#[derive(Default)]
pub struct UnderTest {
    pub model: Option<Model>,
    pub policies: Vec<hir::Policy>,
}

impl TestFile {
    /// Snapshot files in this file's snapshot directory that no case refers to (a case
    /// renamed or removed), sorted.
    pub fn unreferenced_snapshots(&self) -> Vec<String> {
        // A `__snapshots__` linked out of the tree is not listed (its cases say why).
        if let fsio::Located::Outside = fsio::Tree::new(&self.root).locate(&self.snapshot_dir) {
            return Vec::new();
        }
        let Ok(entries) = std::fs::read_dir(&self.snapshot_dir) else { return Vec::new() };
        let mut out: Vec<String> = entries
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "json"))
            .filter(|p| !self.cases.iter().any(|c| c.snapshot.as_ref().is_some_and(|s| s.path == *p)))
            .map(|p| shown(&p))
            .collect();
        out.sort();
        out
    }
}

/// One case, compiled and decoded.
pub struct Case {
    pub name: String,
    /// 1-based line of the case in the test file.
    pub line: usize,
    pub engine: Arc<Engine>,
    pub tenant: Tenant,
    pub now: i64,
    pub expect: Option<Expect>,
    pub snapshot: Option<SnapshotRef>,
}

/// Where a case's snapshot lives.
#[derive(Debug, Clone)]
pub struct SnapshotRef {
    pub path: PathBuf,
    /// The path as shown.
    pub shown: String,
    /// The test file's tree ([`Found::root`]): the snapshot is read and written only
    /// inside it, even with `--allow-outside-paths`.
    pub root: PathBuf,
}

/// A test file found by [`discover`], with the directory tree its paths must stay in.
#[derive(Debug, Clone)]
pub struct Found {
    pub path: PathBuf,
    /// `policy`, `model` and `tenant_file` must resolve (after symbolic links) inside this
    /// directory: the current directory when the test file is under it (normally the
    /// repository), else the directory argument the file was found under, or the file's
    /// own directory when it was named directly.
    pub root: PathBuf,
}

/// Every `*.test.yaml` / `*.test.yml` under the given paths: files as given, directories
/// by the rules of [`crate::fsio::walk`], sorted by path, without duplicates.
pub fn discover(paths: &[String]) -> Result<Vec<Found>, String> {
    let cwd = std::env::current_dir().ok().and_then(|d| std::fs::canonicalize(d).ok());
    let mut out: Vec<Found> = Vec::new();
    let wants = |name: &str| is_test_file(name);
    for p in paths {
        let path = Path::new(p);
        let (found, outer_root) = match fsio::kind(path, p)? {
            fsio::Kind::Dir => {
                let mut found = Vec::new();
                for e in fsio::walk(path, p, &wants, &[]) {
                    match e {
                        fsio::Entry::File { path, .. } => found.push(path),
                        fsio::Entry::Error { message, .. } => return Err(message),
                    }
                }
                (found, path.to_path_buf())
            }
            fsio::Kind::File(_) => (vec![path.to_path_buf()], parent_dir(path)),
        };
        for f in found {
            let f = normalize(&f);
            if out.iter().any(|x| x.path == f) {
                continue;
            }
            let under_cwd = match (&cwd, std::fs::canonicalize(&f)) {
                (Some(c), Ok(file)) => file.starts_with(c),
                _ => false,
            };
            let root = if under_cwd { PathBuf::from(".") } else { outer_root.clone() };
            out.push(Found { path: f, root });
        }
    }
    Ok(out)
}

fn parent_dir(path: &Path) -> PathBuf {
    match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

fn is_test_file(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    lower.ends_with(".test.yaml") || lower.ends_with(".test.yml")
}

/// `a/./b/../c` → `a/c`, lexically (symbolic links are not resolved); `.` when empty.
pub fn normalize(p: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                if matches!(out.components().next_back(), Some(Component::Normal(_))) {
                    out.pop();
                } else if !matches!(out.components().next_back(), Some(Component::RootDir | Component::Prefix(_))) {
                    out.push("..");
                }
            }
            other => out.push(other.as_os_str()),
        }
    }
    if out.as_os_str().is_empty() {
        PathBuf::from(".")
    } else {
        out
    }
}

fn shown(p: &Path) -> String {
    p.to_string_lossy().into_owned()
}

/// The snapshot directory's name for a test file: its name without `.test.yaml`. A stem
/// of only dots (`...test.yaml` gives `..`) would name the directory above, so it gets a
/// `_` in front.
fn stem(path: &Path) -> String {
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let lower = name.to_ascii_lowercase();
    let mut stem = name.clone();
    for suffix in [".test.yaml", ".test.yml", ".yaml", ".yml"] {
        if lower.ends_with(suffix) && name.len() > suffix.len() {
            stem = name[..name.len() - suffix.len()].to_string();
            break;
        }
    }
    if stem.chars().all(|c| c == '.') {
        stem.insert(0, '_');
    }
    stem
}

/// A test file with nothing loaded yet: its names and where its snapshots go.
fn empty(found: &Found) -> TestFile {
    let path = found.path.as_path();
    TestFile {
        path: shown(path),
        diagnostics: Vec::new(),
        cases: Vec::new(),
        rules: Vec::new(),
        snapshot_dir: normalize(&parent_dir(path).join("__snapshots__").join(stem(path))),
        root: found.root.clone(),
        under_test: UnderTest::default(),
    }
}

/// Reads, validates and compiles one test file. Never fails: problems are diagnostics.
/// Unless `allow_outside`, the paths it names must stay inside `found.root`.
pub fn load_file(found: &Found, allow_outside: bool) -> TestFile {
    let path = found.path.as_path();
    let shown_path = shown(path);
    let mut tf = empty(found);
    let text = match fsio::read_file(path, &shown_path, fsio::MAX_SOURCE_BYTES) {
        Ok(bytes) => match String::from_utf8(bytes) {
            Ok(t) => t,
            Err(e) => {
                let at = e.utf8_error().valid_up_to();
                let file = SourceFile::new(shown_path.as_str(), String::from_utf8_lossy(e.as_bytes()).into_owned());
                tf.diagnostics.push(
                    Diagnostic::new(Code::Test, &file, Span::new(at, at + 1), format!("invalid UTF-8 at byte {at}"))
                        .label("here")
                        .help("test files are UTF-8"),
                );
                return tf;
            }
        },
        Err(e) => {
            let file = SourceFile::new(shown_path.as_str(), "");
            tf.diagnostics.push(Diagnostic::new(Code::Test, &file, Span::new(0, 0), e));
            return tf;
        }
    };
    load_text(found, text, allow_outside)
}

/// Validates and compiles a test file whose text is given (an editor's unsaved buffer);
/// the files it names are read from disk, relative to `found.path`.
pub fn load_text(found: &Found, text: String, allow_outside: bool) -> TestFile {
    let path = found.path.as_path();
    let shown_path = shown(path);
    let dir = parent_dir(path);
    let mut tf = empty(found);
    let snapshot_dir = tf.snapshot_dir.clone();
    let file = SourceFile::new(shown_path.as_str(), text);
    let root = if allow_outside { None } else { Some(Root::new(&found.root)) };
    let mut l = Loader {
        file: &file,
        dir,
        root,
        root_path: found.root.clone(),
        snapshot_dir,
        diags: Vec::new(),
        under_test: UnderTest::default(),
    };
    let (cases, rules) = l.file();
    tf.diagnostics = l.diags;
    tf.under_test = l.under_test;
    if tf.diagnostics.is_empty() {
        tf.cases = cases;
        tf.rules = rules;
    }
    tf
}

struct Loader<'a> {
    file: &'a SourceFile,
    /// The test file's directory: `policy`, `model` and `tenant_file` are relative to it.
    dir: PathBuf,
    /// The tree those paths must stay inside (`None` with `--allow-outside-paths`).
    root: Option<Root>,
    /// [`Found::root`], which snapshots stay inside whatever `--allow-outside-paths` says.
    root_path: PathBuf,
    snapshot_dir: PathBuf,
    diags: Vec<Diagnostic>,
    under_test: UnderTest,
}

/// The directory tree a test file's paths must stay inside.
struct Root {
    shown: String,
    tree: fsio::Tree,
}

impl Root {
    fn new(root: &Path) -> Root {
        Root { shown: shown(root), tree: fsio::Tree::new(root) }
    }

    /// Whether `path` is inside, after resolving symbolic links ([`fsio::Tree::locate`]).
    /// A path that cannot be resolved inside the tree (a missing file) counts as inside:
    /// reading it fails with the system's message. A path that leads outside is outside
    /// whether or not its target exists, so the message never tells which.
    fn contains(&self, path: &Path) -> bool {
        !matches!(self.tree.locate(path), fsio::Located::Outside)
    }
}

/// What every case of a file shares.
struct Shared {
    model: Model,
    policies: Vec<hir::Policy>,
    sets: Vec<Override>,
    engine: Arc<Engine>,
}

type Rules = Vec<(Arc<str>, Arc<str>)>;

impl Loader<'_> {
    fn error(&mut self, span: Span, message: impl Into<String>, label: &str, help: Option<String>) {
        self.diags.push(Diagnostic::new(Code::Test, self.file, span, message).label(label).help_opt(help));
    }

    /// Reports unknown keys of a mapping (keys given twice are reported by `yaml::parse`).
    fn check_keys(&mut self, entries: &[(YKey, YNode)], valid: &[&str], what: &str) {
        yaml::unknown_keys(self.file, Code::Test, entries, valid, what, &mut self.diags);
    }

    fn file(&mut self) -> (Vec<Case>, Rules) {
        let root = match yaml::parse(self.file, Code::Test) {
            Ok(n) => n,
            Err(d) => {
                self.diags.extend(d);
                return (Vec::new(), Vec::new());
            }
        };
        let Some(entries) = root.as_map() else {
            self.error(
                root.span,
                format!("a test file is a mapping with `policy` and `cases`, not {}", root.type_name()),
                "expected a mapping",
                Some("see `tenet test --help` and the README section \"Writing policy tests\"".into()),
            );
            return (Vec::new(), Vec::new());
        };
        self.check_keys(entries, crate::keys!(FileKeys), "a test file");
        let model = match root.get("model") {
            Some(m) => self.model(m),
            None => Some(Model::erp()),
        };
        let policies = match (root.get("policy"), &model) {
            (Some(p), Some(model)) => self.policies(p, model),
            (Some(_), None) => None,
            (None, _) => {
                let at = entries.first().map_or(root.span, |(k, _)| k.span);
                self.error(
                    at,
                    "a test file needs `policy`: the policy file or directory under test",
                    "no `policy` in this file",
                    Some("add `policy: my-policy.tenet` (relative to the test file)".into()),
                );
                None
            }
        };
        let file_now = root.get("now").and_then(|n| self.now(n));
        let shared = match (model, policies) {
            (Some(model), Some(policies)) => {
                // After a bad `set` (already reported) the cases are still checked, against
                // the defaults, so that every mistake in the file is reported at once.
                let sets = match root.get("set") {
                    Some(s) => self.sets(s, &policies, &model).unwrap_or_default(),
                    None => Vec::new(),
                };
                let span = root.get("set").map_or(root.span, |s| s.span);
                match self.engine(&model, &policies, &sets, span) {
                    Some(engine) => Some(Shared { model, policies, sets, engine }),
                    None => {
                        self.under_test = UnderTest { model: Some(model), policies };
                        None
                    }
                }
            }
            (model, _) => {
                self.under_test.model = model;
                None
            }
        };
        let rules: Rules = match &shared {
            Some(s) => s
                .engine
                .program
                .rules
                .iter()
                .filter_map(|r| s.engine.program.policies.get(r.policy).map(|p| (p.name.clone(), r.name.clone())))
                .collect(),
            None => Vec::new(),
        };
        let mut cases = Vec::new();
        match root.get("cases") {
            None => {
                let at = entries.first().map_or(root.span, |(k, _)| k.span);
                self.error(at, "a test file needs `cases`: a list of test cases", "no `cases` in this file", None);
            }
            Some(node) => match &node.value {
                YValue::Seq(items) => {
                    let mut names: std::collections::HashMap<String, Span> = std::collections::HashMap::new();
                    let mut slugs: std::collections::HashMap<String, Span> = std::collections::HashMap::new();
                    for item in items {
                        if let Some(c) = self.case(item, shared.as_ref(), file_now, &mut names, &mut slugs) {
                            cases.push(c);
                        }
                    }
                }
                _ => self.error(
                    node.span,
                    format!("`cases` is a list of test cases, not {}", node.type_name()),
                    "expected a list",
                    None,
                ),
            },
        }
        if let Some(s) = shared {
            self.under_test = UnderTest { model: Some(s.model), policies: s.policies };
        }
        (cases, rules)
    }

    /// A path relative to the test file, normalized, checked to be inside the root (see
    /// [`Found::root`]); outside it, an error at `node` and `None`. The message does not
    /// say whether the outside path exists.
    fn resolve(&mut self, rel: &str, node: &YNode, what: &str) -> Option<PathBuf> {
        let path = normalize(&self.dir.join(rel));
        self.confined(&path, rel, node, what).then_some(path)
    }

    /// Whether `path` (written `rel` at `node`) is inside the root; an error if not.
    fn confined(&mut self, path: &Path, rel: &str, node: &YNode, what: &str) -> bool {
        let Some(root) = &self.root else { return true };
        if root.contains(path) {
            return true;
        }
        let tree = if root.shown == "." { "the current directory".to_string() } else { format!("`{}`", root.shown) };
        self.error(
            node.span,
            format!("`{what}: {rel}` is outside {tree}"),
            "outside the directory tree this test file may read",
            Some(
                "a test file reads only below the directory `tenet test` runs in (or the directory given to it); \
                 `--allow-outside-paths` lifts this"
                    .into(),
            ),
        );
        false
    }

    fn string<'n>(&mut self, node: &'n YNode, what: &str) -> Option<&'n str> {
        match node.as_str() {
            Some(s) => Some(s),
            None => {
                self.error(
                    node.span,
                    format!("`{what}` is a string, not {}", node.type_name()),
                    "expected a string",
                    None,
                );
                None
            }
        }
    }

    fn model(&mut self, node: &YNode) -> Option<Model> {
        let rel = self.string(node, "model")?;
        let path = self.resolve(rel, node, "model")?;
        match crate::cli::read_model(&path, &shown(&path)) {
            Ok(m) => Some(m),
            Err(crate::cli::ModelError::Read(e)) => {
                self.error(node.span, e, "here", None);
                None
            }
            Err(crate::cli::ModelError::Diagnostics(d)) => {
                let n = d.len();
                self.diags.extend(d);
                self.error(
                    node.span,
                    "the model does not load",
                    &format!("{} problem{} in this model", n, if n == 1 { "" } else { "s" }),
                    None,
                );
                None
            }
        }
    }

    /// Reads and checks the policies under test (`policy:` is a path or a list of paths).
    fn policies(&mut self, node: &YNode, model: &Model) -> Option<Vec<hir::Policy>> {
        let items: Vec<&YNode> = match &node.value {
            YValue::Seq(items) if !items.is_empty() => items.iter().collect(),
            _ => vec![node],
        };
        let mut sources = Vec::new();
        let mut ok = true;
        for item in items {
            let Some(rel) = self.string(item, "policy") else {
                ok = false;
                continue;
            };
            let Some(path) = self.resolve(rel, item, "policy") else {
                ok = false;
                continue;
            };
            if path.is_file() && !crate::cli::is_policy_file(&shown(&path)) {
                // Only policy files are parsed (and quoted in diagnostics).
                self.error(
                    item.span,
                    format!("`{}` is not a policy file (`.tenet`, `.yaml` or `.yml`)", shown(&path)),
                    "not a policy file",
                    None,
                );
                ok = false;
                continue;
            }
            let files = match crate::cli::policy_files(&[&path]) {
                Ok(f) => f,
                Err(e) => {
                    self.error(item.span, e, "not found", Some("`policy` is relative to the test file".into()));
                    ok = false;
                    continue;
                }
            };
            if files.is_empty() {
                self.error(item.span, format!("no policy files in `{}`", shown(&path)), "empty", None);
                ok = false;
            }
            for fsio::Named { path: file, shown: f } in files {
                // The same file named twice (`[a.tenet, .]`) is one policy.
                if sources.iter().any(|s: &SourceFile| *s.name == *f) {
                    continue;
                }
                // A file found in a directory may be a link out of the tree.
                if !self.confined(&file, &f, item, "policy") {
                    ok = false;
                    continue;
                }
                match fsio::read_file(&file, &f, fsio::MAX_SOURCE_BYTES).map(String::from_utf8) {
                    Ok(Ok(text)) => sources.push(SourceFile::new(f.as_str(), text)),
                    Ok(Err(_)) => {
                        self.error(item.span, format!("policy `{f}` is not UTF-8"), "here", None);
                        ok = false;
                    }
                    Err(e) => {
                        self.error(item.span, e, "here", None);
                        ok = false;
                    }
                }
            }
        }
        if !ok {
            return None;
        }
        let (policies, diags) = check_all(&sources, model);
        if !diags.is_empty() {
            let n = diags.len();
            self.diags.extend(diags);
            self.error(
                node.span,
                "the policy under test does not check",
                &format!("{} problem{} in this policy", n, if n == 1 { "" } else { "s" }),
                Some("fix the problems reported above (`tenet lint -p POLICY` shows them too)".into()),
            );
            return None;
        }
        Some(policies)
    }

    fn now(&mut self, node: &YNode) -> Option<i64> {
        let text = scalar_text(node).unwrap_or_default();
        match parse_date(text.trim()) {
            Some(n) => Some(n),
            None => {
                self.error(
                    node.span,
                    "`now` is an RFC 3339 date or date-time",
                    "not a date-time",
                    Some("e.g. `now: 2026-11-22T00:00:00Z`".into()),
                );
                None
            }
        }
    }

    /// `set:` — parameter overrides, validated against the policies' parameters.
    fn sets(&mut self, node: &YNode, policies: &[hir::Policy], model: &Model) -> Option<Vec<Override>> {
        let Some(entries) = node.as_map() else {
            self.error(
                node.span,
                format!("`set` is a mapping of parameter names to values, not {}", node.type_name()),
                "expected a mapping",
                Some("e.g. `set: {max_sessions: 2}`".into()),
            );
            return None;
        };
        let mut out = Vec::new();
        let mut ok = true;
        for (k, v) in entries {
            let Some(text) = param_text(v) else {
                self.error(
                    v.span,
                    format!("a parameter value is a number, boolean, string or list, not {}", v.type_name()),
                    "not a parameter value",
                    None,
                );
                ok = false;
                continue;
            };
            let (policy, name) = match k.name.rsplit_once('.') {
                Some((p, n)) => (Some(p.to_string()), n.to_string()),
                None => (None, k.name.clone()),
            };
            let mut hit = false;
            for p in policies {
                if policy.as_deref().is_some_and(|want| want != p.name) {
                    continue;
                }
                let Some(param) = p.params.iter().find(|q| q.name == name) else { continue };
                hit = true;
                if parse_value(&text, &param.ty).is_none() {
                    let msg = format!(
                        "`{text}` is not a valid {} for parameter `{name}` of policy `{}`",
                        param.ty.show(model),
                        p.name
                    );
                    self.error(v.span, msg, "wrong type", None);
                    ok = false;
                }
            }
            if !hit {
                let mut known: Vec<String> = Vec::new();
                for p in policies {
                    for q in &p.params {
                        known.push(q.name.clone());
                        known.push(format!("{}.{}", p.name, q.name));
                    }
                }
                let mut listed: Vec<String> = policies
                    .iter()
                    .flat_map(|p| p.params.iter().map(move |q| format!("{}.{}", p.name, q.name)))
                    .collect();
                listed.sort();
                let mut help =
                    format!("parameters: {}", if listed.is_empty() { "none".to_string() } else { listed.join(", ") });
                if let Some(d) = did_you_mean(&k.name, known.iter().map(String::as_str)) {
                    help = format!("did you mean `{d}`? {help}");
                }
                self.error(
                    k.span,
                    format!("no parameter `{}` in the policies under test", k.name),
                    "unknown parameter",
                    Some(help),
                );
                ok = false;
                continue;
            }
            out.push(Override { policy, name, value: text });
        }
        ok.then_some(out)
    }

    fn engine(
        &mut self,
        model: &Model,
        policies: &[hir::Policy],
        sets: &[Override],
        span: Span,
    ) -> Option<Arc<Engine>> {
        match Engine::from_checked(model.clone(), policies.to_vec(), sets, &RuleFilter::default()) {
            Ok(e) => Some(Arc::new(e)),
            Err(CompileError::Usage(msg)) => {
                self.error(span, msg, "here", None);
                None
            }
            Err(CompileError::Diagnostics(d)) => {
                self.diags.extend(d);
                None
            }
        }
    }

    fn case(
        &mut self,
        node: &YNode,
        shared: Option<&Shared>,
        file_now: Option<i64>,
        names: &mut std::collections::HashMap<String, Span>,
        slugs: &mut std::collections::HashMap<String, Span>,
    ) -> Option<Case> {
        let Some(entries) = node.as_map() else {
            self.error(
                node.span,
                format!("a test case is a mapping with `name`, a tenant and `expect`, not {}", node.type_name()),
                "expected a mapping",
                None,
            );
            return None;
        };
        let before = self.diags.len();
        self.check_keys(entries, crate::keys!(CaseKeys), "a test case");
        let line = line_of(self.file, node.span);
        let first_key = entries.first().map_or(node.span, |(k, _)| k.span);

        let name = match node.get("name") {
            Some(n) => match n.as_str().filter(|s| !s.trim().is_empty()) {
                Some(s) => {
                    let name = s.to_string();
                    if let Some(&first) = names.get(&name) {
                        self.diags.push(
                            Diagnostic::new(Code::Test, self.file, n.span, format!("duplicate case name `{name}`"))
                                .label("used again here")
                                .related(first, "first used here")
                                .help("case names are unique within a test file (they name the case's snapshot)"),
                        );
                    } else {
                        names.insert(name.clone(), n.span);
                    }
                    Some((name, n.span))
                }
                None => {
                    self.error(n.span, "a case's `name` is a non-empty string", "expected a name", None);
                    None
                }
            },
            None => {
                self.error(first_key, "a test case needs a `name`", "this case has no `name`", None);
                None
            }
        };

        let now = match node.get("now") {
            Some(n) => self.now(n),
            None => Some(file_now.unwrap_or_else(wall_clock)),
        };

        let engine = match (shared, node.get("set")) {
            (Some(s), Some(set)) => match self.sets(set, &s.policies, &s.model) {
                Some(case_sets) => {
                    let all: Vec<Override> = s.sets.iter().cloned().chain(case_sets).collect();
                    self.engine(&s.model, &s.policies, &all, set.span)
                }
                None => Some(s.engine.clone()),
            },
            (Some(s), None) => Some(s.engine.clone()),
            (None, _) => None,
        };

        let expect = match node.get("expect") {
            Some(e) => expect::parse(e, self.file, engine.as_deref().map(|e| &e.program), &mut self.diags),
            None => None,
        };

        let snapshot_flag = match node.get("snapshot") {
            Some(s) => match s.value {
                YValue::Bool(b) => b,
                _ => {
                    self.error(s.span, "`snapshot` is `true` or `false`", "expected a boolean", None);
                    false
                }
            },
            None => false,
        };
        if node.get("expect").is_none() && node.get("snapshot").is_none_or(|s| matches!(s.value, YValue::Bool(false))) {
            self.error(
                name.as_ref().map_or(first_key, |(_, s)| *s),
                "this case checks nothing: it has no `expect` and no `snapshot: true`",
                "nothing to check",
                Some("add `expect: pass`, a list of expected findings, or `snapshot: true`".into()),
            );
        }
        let snapshot = match (&name, snapshot_flag) {
            (Some((n, span)), true) => {
                let s = slug(n);
                if let Some(&first) = slugs.get(&s) {
                    self.diags.push(
                        Diagnostic::new(
                            Code::Test,
                            self.file,
                            *span,
                            format!("two snapshot cases would share the snapshot file `{s}.json`"),
                        )
                        .label("this name")
                        .related(first, "and this one")
                        .help("rename one of the cases (snapshot files are named after the case, in lower case, with words joined by `-`)"),
                    );
                }
                slugs.entry(s.clone()).or_insert(*span);
                let path = self.snapshot_dir.join(format!("{s}.json"));
                Some(SnapshotRef { shown: shown(&path), path, root: self.root_path.clone() })
            }
            _ => None,
        };

        let tenant = match (node.get("tenant"), node.get("tenant_file")) {
            _ if node.get("from").is_some() => match (node.get("tenant"), node.get("tenant_file"), node.get("from")) {
                (None, None, Some(f)) => self.exported_tenant(f, engine.as_deref()),
                (_, _, Some(f)) => {
                    self.error(f.span, "a case has one of `tenant`, `tenant_file` and `from`", "remove one", None);
                    None
                }
                _ => None,
            },
            (Some(_), Some(f)) => {
                self.error(f.span, "a case has `tenant` or `tenant_file`, not both", "remove one", None);
                None
            }
            (None, None) => {
                self.error(
                    name.as_ref().map_or(first_key, |(_, s)| *s),
                    "a test case needs a tenant: `tenant` (inline) or `tenant_file`",
                    "no tenant",
                    None,
                );
                None
            }
            (Some(t), None) => self.inline_tenant(t, engine.as_deref()),
            (None, Some(f)) => self.tenant_file(f, engine.as_deref()),
        };

        if self.diags.len() > before {
            return None;
        }
        Some(Case { name: name?.0, line, engine: engine?, tenant: tenant?, now: now?, expect, snapshot })
    }

    /// Checks an inline tenant and decodes it (when the policies compiled).
    fn inline_tenant(&mut self, node: &YNode, engine: Option<&Engine>) -> Option<Tenant> {
        if node.as_map().is_none() {
            self.error(
                node.span,
                format!("`tenant` is a tenant snapshot (a mapping), not {}", node.type_name()),
                "expected a mapping",
                Some("or use `tenant_file: path/to/tenant.yaml`".into()),
            );
            return None;
        }
        let engine = engine?;
        let bytes = serde_json::to_vec(&to_json(node)).unwrap_or_default();
        match engine.decode("inline", Content::Json(bytes)) {
            Ok(t) => Some(t),
            Err(e) => {
                self.error(node.span, format!("cannot read this tenant: {}", e.message), "here", None);
                None
            }
        }
    }

    /// `from: {source: frappe|netsuite, path: DIR, overlay: FILE, adapter: FILE}`: one
    /// tenant imported from a vendor export (paths relative to the test file, confined
    /// like `tenant_file`).
    fn exported_tenant(&mut self, node: &YNode, engine: Option<&Engine>) -> Option<Tenant> {
        let Some(entries) = node.as_map() else {
            self.error(
                node.span,
                format!("`from` is a mapping (source, path, overlay, adapter), not {}", node.type_name()),
                "expected a mapping",
                Some("from: {source: frappe, path: exports/acme}".into()),
            );
            return None;
        };
        self.check_keys(entries, crate::keys!(FromKeys), "`from`");
        let vendor_node = self.required_key(node, "source")?;
        let vendor_name = self.string(vendor_node, "source")?;
        let Some(vendor) = crate::import::Vendor::parse(vendor_name) else {
            self.error(
                vendor_node.span,
                format!("unknown export source `{vendor_name}`"),
                "here",
                Some("`frappe` or `netsuite`".into()),
            );
            return None;
        };
        let path_node = self.required_key(node, "path")?;
        let rel = self.string(path_node, "path")?;
        let dir = self.resolve(rel, path_node, "path")?;
        let mut file = |key: &str| -> Result<Option<String>, ()> {
            let Some(n) = node.get(key) else { return Ok(None) };
            let rel = self.string(n, key).ok_or(())?;
            let p = self.resolve(rel, n, key).ok_or(())?;
            Ok(Some(shown(&p)))
        };
        let overlay = file("overlay").ok()?;
        let adapter = file("adapter").ok()?;
        let engine = engine?;
        let setup = match crate::import::setup(vendor, adapter.as_deref(), overlay.as_deref(), &engine.model) {
            Ok(s) => s,
            Err(crate::import::SetupError::Usage(m)) => {
                self.error(node.span, m, "here", None);
                return None;
            }
            Err(crate::import::SetupError::Adapter(d)) => {
                let msgs: Vec<String> = d.iter().map(|d| format!("{}: {}", d.file.name, d.message)).collect();
                self.error(node.span, format!("the adapter has mistakes: {}", msgs.join("; ")), "here", None);
                return None;
            }
        };
        let imported =
            match crate::import::import(&[shown(&dir)], &setup.adapter, setup.overlay.as_ref(), &engine.model) {
                Ok(i) => i,
                Err(m) => {
                    self.error(path_node.span, m, "here", None);
                    return None;
                }
            };
        if imported.len() != 1 {
            self.error(
                path_node.span,
                format!("`{}` holds {} tenants; a case takes exactly one", shown(&dir), imported.len()),
                "not one tenant",
                Some("name one tenant's export directory".into()),
            );
            return None;
        }
        let doc = crate::import::documents(imported).into_iter().next()?;
        let label = shown(&normalize(Path::new(rel)));
        match doc.content.and_then(|c| engine.decode(&label, c)) {
            Ok(t) => Some(t),
            Err(e) => {
                self.error(path_node.span, format!("cannot import this export: {}", e.message), "here", None);
                None
            }
        }
    }

    fn required_key<'n>(&mut self, node: &'n YNode, key: &str) -> Option<&'n YNode> {
        let found = node.get(key);
        if found.is_none() {
            self.error(
                node.span,
                format!("`from` needs `{key}`"),
                "here",
                Some("from: {source: frappe, path: exports/acme}".into()),
            );
        }
        found
    }

    /// Checks that a tenant file exists and decodes it (when the policies compiled).
    fn tenant_file(&mut self, node: &YNode, engine: Option<&Engine>) -> Option<Tenant> {
        let rel = self.string(node, "tenant_file")?;
        let path = self.resolve(rel, node, "tenant_file")?;
        if !path.exists() {
            self.error(
                node.span,
                format!("tenant file `{}` does not exist", shown(&path)),
                "not found",
                Some("`tenant_file` is relative to the test file".into()),
            );
            return None;
        }
        if let Err(e) = fsio::regular_file(&path, &shown(&path)) {
            self.error(node.span, e, "not a tenant file", None);
            return None;
        }
        let engine = engine?;
        let docs: Vec<snapshot::Document> = snapshot::documents(&[shown(&path)]).collect();
        if docs.len() != 1 {
            self.error(
                node.span,
                format!("tenant file `{}` holds {} tenants; a case takes exactly one", shown(&path), docs.len()),
                "not one tenant",
                Some("split the file, one tenant per case".into()),
            );
            return None;
        }
        let doc = docs.into_iter().next()?;
        // Findings name the file as written in the test, so snapshots do not depend on
        // the directory `tenet test` runs from.
        let label = shown(&normalize(Path::new(rel)));
        let res = doc.content.and_then(|c| engine.decode(&label, c));
        match res {
            Ok(t) => Some(t),
            Err(e) => {
                self.error(node.span, format!("cannot read tenant file: {}", e.message), "here", None);
                None
            }
        }
    }
}

/// A `set:` value as `--set` would take it: scalars as text, lists as list literals.
fn param_text(v: &YNode) -> Option<String> {
    match &v.value {
        YValue::Seq(items) => {
            let parts: Option<Vec<String>> = items
                .iter()
                .map(|i| match &i.value {
                    YValue::Str(s) => Some(serde_json::Value::String(s.clone()).to_string()),
                    YValue::Int(n) => Some(n.to_string()),
                    YValue::Float(f) => Some(format_decimal(*f)),
                    YValue::Bool(b) => Some(b.to_string()),
                    _ => None,
                })
                .collect();
            Some(format!("[{}]", parts?.join(", ")))
        }
        _ => scalar_text(v),
    }
}

/// A YAML tree as JSON (for inline tenants).
fn to_json(n: &YNode) -> serde_json::Value {
    use serde_json::Value as J;
    match &n.value {
        YValue::Null => J::Null,
        YValue::Bool(b) => J::Bool(*b),
        YValue::Int(i) => J::from(*i),
        YValue::Float(f) => serde_json::Number::from_f64(*f).map_or_else(|| J::String(f.to_string()), J::Number),
        YValue::Str(s) => J::String(s.clone()),
        YValue::Seq(items) => J::Array(items.iter().map(to_json).collect()),
        YValue::Map(entries) => J::Object(entries.iter().map(|(k, v)| (k.name.clone(), to_json(v))).collect()),
    }
}

fn wall_clock() -> i64 {
    let d = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    i64::try_from(d.as_micros()).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalizes_paths() {
        let n = |s: &str| shown(&normalize(Path::new(s)));
        assert_eq!(n("./a/b/../c.tenet"), "a/c.tenet");
        assert_eq!(n("a/../../b"), "../b");
        assert_eq!(n("."), ".");
        assert_eq!(n("/x/../y"), "/y");
    }

    #[test]
    fn stems() {
        assert_eq!(stem(Path::new("p/netsuite-2026.1.test.yaml")), "netsuite-2026.1");
        assert_eq!(stem(Path::new("x.TEST.yml")), "x");
        // Never the directory itself or the one above.
        assert_eq!(stem(Path::new("d/...test.yaml")), "_..");
        assert_eq!(stem(Path::new("d/..test.yaml")), "_.");
    }
}
