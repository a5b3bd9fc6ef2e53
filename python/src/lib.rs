//! `tenet._tenet`: the Python face of the tenet engine.
//!
//! Everything here is glue: Python values in, the crate's [`Engine`] in the middle, the
//! crate's report serialization out. Policies are compiled by the same code as `tenet
//! check` (`cli::load_policies`, `engine::check_all`, `Engine::from_checked`), tenants are
//! decoded and evaluated by `Engine::run_document` (so a document that cannot be read is
//! an `input` finding, as in the CLI), and findings and summaries reach Python as the JSON
//! the CLI writes (`report::Jsonl`, the `Serialize` impls of `finding`), parsed by Python's
//! `json` module. Evaluation runs on a rayon pool with the GIL released.

use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyByteArray, PyBytes, PyDict, PyList, PyString, PyTuple};
use rayon::prelude::*;
use std::sync::{Arc, OnceLock};
use tenet::diagnostic::Diagnostic;
use tenet::engine::{check_all, CompileError, Engine};
use tenet::finding::{Finding, Severity, Status, Subject, Summary, TenantReport};
use tenet::lower::{overrides, RuleFilter};
use tenet::model::Model;
use tenet::report::{self, Reporter};
use tenet::snapshot::{self, Content, Document, InputError};
use tenet::source::SourceFile;
use tenet::value::{format_datetime, parse_date};

/// Tenants in flight at once, per worker thread (as `tenet check`): bounds memory.
const WINDOW_PER_THREAD: usize = 8;
/// Bytes of raw documents in flight at once.
const WINDOW_BYTES: usize = 64 * 1024 * 1024;
/// Worker stack size, as `tenet check` (deep documents and policies recurse).
const STACK_BYTES: usize = 16 * 1024 * 1024;
/// The source name of tenants given as Python objects, when the caller names none.
const DEFAULT_SOURCE: &str = "<python>";

// ------------------------------------------------------------------------------ errors

/// Raises `tenet.<name>(*args)`, an exception class defined in Python (`tenet/_errors.py`).
fn python_error<'py>(py: Python<'py>, name: &str, arg: impl IntoPyObject<'py>) -> PyErr {
    let made = py.import("tenet._errors").and_then(|m| m.getattr(name)).and_then(|cls| cls.call1((arg,)));
    match made {
        Ok(exc) => PyErr::from_value(exc),
        Err(e) => e,
    }
}

fn usage_error(py: Python<'_>, message: impl Into<String>) -> PyErr {
    python_error(py, "UsageError", message.into())
}

/// `tenet.PolicyError` with every diagnostic, each as the CLI renders it.
fn policy_error(py: Python<'_>, diags: &[Diagnostic]) -> PyErr {
    let items = diags.iter().map(|d| diagnostic_dict(py, d)).collect::<PyResult<Vec<_>>>();
    match items {
        Ok(items) => python_error(py, "PolicyError", items),
        Err(e) => e,
    }
}

/// One diagnostic's fields; `line` and `column` are 1-based, columns counted in characters.
fn diagnostic_dict<'py>(py: Python<'py>, d: &Diagnostic) -> PyResult<Bound<'py, PyDict>> {
    let (line, column) = line_column(&d.file, d.span.start as usize);
    let (end_line, end_column) = line_column(&d.file, d.span.end as usize);
    let out = PyDict::new(py);
    out.set_item("code", d.code.as_str())?;
    out.set_item("message", &d.message)?;
    out.set_item("file", &*d.file.name)?;
    out.set_item("line", line)?;
    out.set_item("column", column)?;
    out.set_item("end_line", end_line)?;
    out.set_item("end_column", end_column)?;
    out.set_item("label", d.label.as_deref())?;
    out.set_item("help", d.help.as_deref())?;
    out.set_item("rendered", tenet::cli::render_diagnostic(d, false))?;
    Ok(out)
}

fn line_column(file: &SourceFile, offset: usize) -> (usize, usize) {
    let index = file.lines();
    let line = index.line(offset);
    let start = index.start(line);
    let column = file.text.get(start..offset.min(file.text.len())).map_or(0, |s| s.chars().count());
    (line + 1, column + 1)
}

// ---------------------------------------------------------------------- the arguments

/// How an engine was made, in a form that can be sent to another process (Spark
/// executors) and compiled there again: policy and model texts, not paths.
#[derive(Clone, Default)]
struct Spec {
    policies: Vec<(String, String)>,
    model: Option<(String, String)>,
    params: Vec<(String, String)>,
    now: Option<String>,
    rules: Vec<String>,
    jobs: Option<usize>,
}

/// One entry of the `policies` argument.
enum PolicyArg {
    Path(String),
    Text { name: String, text: String },
}

fn is_pathlike(obj: &Bound<'_, PyAny>) -> bool {
    obj.hasattr("__fspath__").unwrap_or(false)
}

fn fspath(obj: &Bound<'_, PyAny>) -> PyResult<String> {
    let os = obj.py().import("os")?;
    os.getattr("fsdecode")?.call1((os.getattr("fspath")?.call1((obj,))?,))?.extract()
}

/// Inline policy text gets a name; YAML policies (a `policy:` key) end in `.yaml`, since
/// the parser chooses the form by the file name.
fn inline_name(text: &str, n: usize) -> String {
    let yaml = text.lines().any(|l| l.strip_prefix("policy").is_some_and(|rest| rest.trim_start().starts_with(':')));
    format!("<policy {n}>.{}", if yaml { "yaml" } else { "tenet" })
}

fn policy_args(obj: &Bound<'_, PyAny>) -> PyResult<Vec<PolicyArg>> {
    let mut out = Vec::new();
    let mut inline = 0;
    let mut one = |item: &Bound<'_, PyAny>, out: &mut Vec<PolicyArg>| -> PyResult<()> {
        if let Ok(s) = item.cast::<PyString>() {
            let s = s.to_cow()?;
            if s.contains('\n') {
                inline += 1;
                out.push(PolicyArg::Text { name: inline_name(&s, inline), text: s.to_string() });
            } else {
                out.push(PolicyArg::Path(s.to_string()));
            }
        } else if let Ok(d) = item.cast::<PyDict>() {
            for (k, v) in d.iter() {
                let name: String = k.extract().map_err(|_| PyTypeError::new_err("policy names must be str"))?;
                let text: String = v.extract().map_err(|_| PyTypeError::new_err("policy texts must be str"))?;
                out.push(PolicyArg::Text { name, text });
            }
        } else if is_pathlike(item) {
            out.push(PolicyArg::Path(fspath(item)?));
        } else {
            return Err(PyTypeError::new_err(format!(
                "policies: expected a path (str or os.PathLike), policy text (a str with a newline), a dict of \
                 {{name: text}}, or a list of these; got {}",
                type_name(item)
            )));
        }
        Ok(())
    };
    if obj.is_instance_of::<PyString>() || obj.is_instance_of::<PyDict>() || is_pathlike(obj) {
        one(obj, &mut out)?;
    } else if let Ok(items) = obj.try_iter() {
        for item in items {
            one(&item?, &mut out)?;
        }
    } else {
        one(obj, &mut out)?;
    }
    if out.is_empty() {
        return Err(PyValueError::new_err("policies: no policy given"));
    }
    Ok(out)
}

fn type_name(obj: &Bound<'_, PyAny>) -> String {
    obj.get_type().name().map(|n| n.to_string()).unwrap_or_else(|_| "object".into())
}

/// The model: the built-in `erp` one, a model file, inline model text, or `{name: text}`.
fn load_model(py: Python<'_>, obj: Option<&Bound<'_, PyAny>>) -> PyResult<(Model, Option<(String, String)>)> {
    let Some(obj) = obj.filter(|o| !o.is_none()) else { return Ok((Model::erp(), None)) };
    let from_text = |name: String, text: String| -> PyResult<(Model, Option<(String, String)>)> {
        let file = SourceFile::new(name.as_str(), text.as_str());
        let model = tenet::model::load(&file).map_err(|d| policy_error(py, &d))?;
        Ok((model, Some((name, text))))
    };
    if let Ok(d) = obj.cast::<PyDict>() {
        if d.len() != 1 {
            return Err(PyValueError::new_err("model: a dict must hold exactly one {name: text}"));
        }
        if let Some((k, v)) = d.iter().next() {
            return from_text(k.extract()?, v.extract()?);
        }
    }
    let path = if let Ok(s) = obj.cast::<PyString>() {
        let s = s.to_cow()?;
        if s.contains('\n') {
            return from_text("<model>.yaml".into(), s.to_string());
        }
        s.to_string()
    } else if is_pathlike(obj) {
        fspath(obj)?
    } else {
        return Err(PyTypeError::new_err(format!(
            "model: expected a path (str or os.PathLike), model text, or {{name: text}}; got {}",
            type_name(obj)
        )));
    };
    match tenet::cli::read_model(std::path::Path::new(&path), &path) {
        Ok(model) => {
            let text = model.source.to_string();
            Ok((model, Some((path, text))))
        }
        Err(tenet::cli::ModelError::Read(m)) => Err(usage_error(py, m)),
        Err(tenet::cli::ModelError::Diagnostics(d)) => Err(policy_error(py, &d)),
    }
}

/// A parameter value as the text `--set NAME=VALUE` would give.
fn param_text(v: &Bound<'_, PyAny>) -> PyResult<String> {
    let py = v.py();
    if let Ok(b) = v.extract::<bool>() {
        if v.is_instance_of::<pyo3::types::PyBool>() {
            return Ok(b.to_string());
        }
    }
    if let Ok(s) = v.cast::<PyString>() {
        return Ok(s.to_cow()?.to_string());
    }
    if v.is_instance_of::<pyo3::types::PyInt>() {
        return Ok(v.str()?.to_cow()?.to_string());
    }
    if let Ok(f) = v.cast::<pyo3::types::PyFloat>() {
        let x = f.value();
        if !x.is_finite() {
            return Err(PyValueError::new_err(format!("parameter value {x} is not finite")));
        }
        return Ok(v.repr()?.to_cow()?.to_string());
    }
    let dt = py.import("datetime")?;
    if v.is_instance(&dt.getattr("date")?)? {
        return datetime_text(v);
    }
    if v.is_instance(&dt.getattr("timedelta")?)? {
        let micros: i64 = (v.getattr("days")?.extract::<i64>()? * 86_400 + v.getattr("seconds")?.extract::<i64>()?)
            * 1_000_000
            + v.getattr("microseconds")?.extract::<i64>()?;
        if micros % 1_000_000 != 0 {
            return Err(PyValueError::new_err("a duration parameter must be a whole number of seconds"));
        }
        return Ok(format!("{}s", micros / 1_000_000));
    }
    if v.is_instance_of::<PyList>() || v.is_instance_of::<PyTuple>() {
        let mut parts = Vec::new();
        for item in v.try_iter()? {
            let item = item?;
            parts.push(match item.cast::<PyString>() {
                Ok(s) => quote(&s.to_cow()?),
                Err(_) => param_text(&item)?,
            });
        }
        return Ok(format!("[{}]", parts.join(", ")));
    }
    Err(PyTypeError::new_err(format!(
        "parameter values are bool, int, float, str, datetime, date, timedelta or lists of them; got {}",
        type_name(v)
    )))
}

/// A string literal of the policy language (its escapes are JSON's).
fn quote(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| format!("\"{s}\""))
}

/// RFC 3339 text of a `date` or an aware `datetime`.
fn datetime_text(v: &Bound<'_, PyAny>) -> PyResult<String> {
    let dt = v.py().import("datetime")?;
    if v.is_instance(&dt.getattr("datetime")?)? && v.call_method0("utcoffset")?.is_none() {
        return Err(PyValueError::new_err(
            "a datetime without a time zone is ambiguous: give tzinfo (datetime.timezone.utc, say)",
        ));
    }
    v.call_method0("isoformat")?.extract::<String>()
}

fn parse_now(py: Python<'_>, obj: Option<&Bound<'_, PyAny>>) -> PyResult<Option<i64>> {
    let Some(obj) = obj.filter(|o| !o.is_none()) else { return Ok(None) };
    let text = if let Ok(s) = obj.cast::<PyString>() { s.to_cow()?.to_string() } else { datetime_text(obj)? };
    match parse_date(text.trim()) {
        Some(t) => Ok(Some(t)),
        None => Err(usage_error(py, format!("now `{text}`: expected an RFC 3339 date-time like 2026-11-22T00:00:00Z"))),
    }
}

fn string_list(obj: Option<&Bound<'_, PyAny>>, what: &str) -> PyResult<Vec<String>> {
    let Some(obj) = obj.filter(|o| !o.is_none()) else { return Ok(Vec::new()) };
    if let Ok(s) = obj.cast::<PyString>() {
        return Ok(vec![s.to_cow()?.to_string()]);
    }
    let mut out = Vec::new();
    for item in obj.try_iter().map_err(|_| PyTypeError::new_err(format!("{what}: expected a str or a list of str")))? {
        out.push(
            item?.extract().map_err(|_| PyTypeError::new_err(format!("{what}: expected a str or a list of str")))?,
        );
    }
    Ok(out)
}

fn now_ticks() -> i64 {
    let d = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    i64::try_from(d.as_micros()).unwrap_or(i64::MAX)
}

// ---------------------------------------------------------------------------- tenants

/// One tenant argument: a document ready to decode, or a path the CLI's reader expands.
enum Item {
    /// A document, and whether its text is tenet's own encoding of a Python value (a
    /// dict): then its findings carry no `location`, which would point into text the
    /// caller never saw.
    Doc(Document, bool),
    Path(String),
}

/// A document of text given in memory: `{` first is JSON, anything else YAML (the CLI's
/// rule for a file of unknown extension).
fn text_document(bytes: Vec<u8>, label: String, source: Arc<str>) -> Document {
    let body = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(&bytes);
    let content = if body.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{') {
        Ok(Content::Json(bytes))
    } else {
        match String::from_utf8(bytes) {
            Ok(text) => Ok(Content::Yaml { text, line: 0 }),
            Err(e) => Err(InputError::new(format!("invalid UTF-8 at byte {}", e.utf8_error().valid_up_to()))),
        }
    };
    Document { label, source, content, origins: None }
}

const EXPECTED_TENANT: &str =
    "expected a tenant: a dict, JSON or YAML text (str or bytes), or a path (os.PathLike, e.g. pathlib.Path)";

fn tenant_item(obj: &Bound<'_, PyAny>, label: String, source: &Arc<str>) -> PyResult<Item> {
    let py = obj.py();
    if let Ok(s) = obj.cast::<PyString>() {
        let s = s.to_cow()?;
        let t = s.trim();
        if !t.contains('\n') && !t.starts_with('{') && !t.is_empty() && std::path::Path::new(t).exists() {
            return Err(PyTypeError::new_err(format!(
                "{EXPECTED_TENANT}; got a str naming a file: text is read as a document, so pass \
                 pathlib.Path({t:?}) to check the file"
            )));
        }
        return Ok(Item::Doc(text_document(s.as_bytes().to_vec(), label, source.clone()), false));
    }
    if let Ok(b) = obj.cast::<PyBytes>() {
        return Ok(Item::Doc(text_document(b.as_bytes().to_vec(), label, source.clone()), false));
    }
    if let Ok(b) = obj.cast::<PyByteArray>() {
        return Ok(Item::Doc(text_document(b.to_vec(), label, source.clone()), false));
    }
    if obj.is_instance_of::<PyDict>() || obj.is_instance(&py.import("collections.abc")?.getattr("Mapping")?)? {
        // Encoded by Python's json module; what it cannot encode (a set, NaN, a circular
        // reference) makes this tenant unreadable, like a broken file.
        let content = match py.import("tenet._convert")?.getattr("tenant_json")?.call1((obj,)) {
            Ok(bytes) => Ok(Content::Json(bytes.extract::<Vec<u8>>()?)),
            Err(e) => Err(InputError::new(format!("cannot be encoded as JSON: {}", e.value(py)))),
        };
        return Ok(Item::Doc(Document { label, source: source.clone(), content, origins: None }, true));
    }
    if obj.is_instance(&py.import("builtins")?.getattr("memoryview")?)? {
        let b: Vec<u8> = obj.call_method0("tobytes")?.extract()?;
        return Ok(Item::Doc(text_document(b, label, source.clone()), false));
    }
    if is_pathlike(obj) {
        return Ok(Item::Path(fspath(obj)?));
    }
    Err(PyTypeError::new_err(format!("{EXPECTED_TENANT}; got {}", type_name(obj))))
}

/// Drops the locations of the findings of documents that encode Python values.
fn unlocated(mut reports: Vec<TenantReport>, values: &[bool]) -> Vec<TenantReport> {
    for (r, &value) in reports.iter_mut().zip(values) {
        if value {
            for f in &mut r.findings {
                f.location = None;
            }
        }
    }
    reports
}

// ----------------------------------------------------------------------------- engine

/// Compiled policies, ready to check tenants.
///
/// Engine(policies, model=None, params=None, now=None, rules=None, jobs=None)
///
/// Compiles once; check as many tenants as you like, from any thread. See the module
/// documentation (`help(tenet)`) for every argument.
#[pyclass(frozen, name = "Engine", module = "tenet")]
struct PyEngine {
    engine: Engine,
    now: Option<i64>,
    pool: rayon::ThreadPool,
    spec: Spec,
}

/// What a batch produced, tenant by tenant, in input order.
#[derive(Default)]
struct Acc {
    reports: Vec<TenantReport>,
    summary: Summary,
}

impl Acc {
    fn add(&mut self, reports: Vec<TenantReport>) {
        for r in &reports {
            self.summary.add(&r.summary);
        }
        self.reports.extend(reports);
    }
}

impl PyEngine {
    fn window(&self) -> usize {
        self.pool.current_num_threads().max(1) * WINDOW_PER_THREAD
    }

    /// Decodes and evaluates documents in parallel, keeping their order.
    fn evaluate(&self, docs: &[Document], now: i64) -> Vec<TenantReport> {
        self.pool.install(|| docs.par_iter().map(|d| self.engine.run_document(d, now)).collect())
    }

    /// Every tenant under `path`, read as `tenet check PATH` reads it, window by window.
    fn run_path(&self, path: &str, now: i64, acc: &mut Acc) {
        let mut docs = snapshot::documents(&[path.to_string()]);
        loop {
            let mut batch = Vec::new();
            let mut bytes = 0;
            while batch.len() < self.window() && bytes < WINDOW_BYTES {
                let Some(d) = docs.next() else { break };
                bytes += d.size();
                batch.push(d);
            }
            if batch.is_empty() {
                break;
            }
            acc.add(self.evaluate(&batch, now));
            docs.recycle(batch);
        }
    }

    fn report(&self, acc: Acc, now: i64) -> Report {
        Report { reports: acc.reports, summary: acc.summary, now: format_datetime(now), findings: OnceLock::new() }
    }

    fn finish<'py>(&self, py: Python<'py>, acc: Acc, now: i64, as_arrow: bool) -> PyResult<Bound<'py, PyAny>> {
        let report = Bound::new(py, self.report(acc, now))?;
        if as_arrow {
            report.call_method0("to_arrow")
        } else {
            Ok(report.into_any())
        }
    }

    /// Runs items, flushing a window of in-memory documents whenever it is full, and
    /// reading paths window by window; evaluation always runs with the GIL released.
    fn run_items<'py>(&self, py: Python<'py>, items: impl Iterator<Item = PyResult<Item>>, now: i64) -> PyResult<Acc> {
        let mut acc = Acc::default();
        let mut window: Vec<Document> = Vec::new();
        let mut values: Vec<bool> = Vec::new();
        let mut bytes = 0;
        for item in items {
            match item? {
                Item::Doc(d, value) => {
                    bytes += d.size();
                    window.push(d);
                    values.push(value);
                    if window.len() >= self.window() || bytes >= WINDOW_BYTES {
                        let docs = std::mem::take(&mut window);
                        let flags = std::mem::take(&mut values);
                        acc.add(unlocated(py.detach(|| self.evaluate(&docs, now)), &flags));
                        bytes = 0;
                    }
                }
                Item::Path(p) => {
                    let docs = std::mem::take(&mut window);
                    let flags = std::mem::take(&mut values);
                    bytes = 0;
                    py.detach(|| {
                        acc.add(unlocated(self.evaluate(&docs, now), &flags));
                        self.run_path(&p, now, &mut acc);
                    });
                }
            }
        }
        if !window.is_empty() {
            acc.add(unlocated(py.detach(|| self.evaluate(&window, now)), &values));
        }
        Ok(acc)
    }
}

#[pymethods]
impl PyEngine {
    #[new]
    #[pyo3(signature = (policies, model=None, params=None, now=None, rules=None, jobs=None))]
    fn new(
        py: Python<'_>,
        policies: &Bound<'_, PyAny>,
        model: Option<&Bound<'_, PyAny>>,
        params: Option<&Bound<'_, PyAny>>,
        now: Option<&Bound<'_, PyAny>>,
        rules: Option<&Bound<'_, PyAny>>,
        jobs: Option<usize>,
    ) -> PyResult<Self> {
        let args = policy_args(policies)?;
        let (model, model_spec) = load_model(py, model)?;
        let mut spec = Spec { model: model_spec, jobs, ..Spec::default() };
        if let Some(params) = params.filter(|p| !p.is_none()) {
            let items = params
                .call_method0("items")
                .map_err(|_| PyTypeError::new_err("params: expected a dict of {NAME or POLICY.NAME: value}"))?;
            for kv in items.try_iter()? {
                let (k, v): (String, Bound<'_, PyAny>) = kv?.extract()?;
                spec.params.push((k, param_text(&v)?));
            }
        }
        let now = parse_now(py, now)?;
        spec.now = now.map(format_datetime);
        spec.rules = string_list(rules, "rules")?;
        if jobs == Some(0) {
            return Err(PyValueError::new_err("jobs must be at least 1"));
        }

        // Compiled by the CLI's own code: files through `cli::load_policies`, then inline
        // texts checked together with them, so duplicate names across both are found.
        let paths: Vec<String> =
            args.iter().filter_map(|a| if let PolicyArg::Path(p) = a { Some(p.clone()) } else { None }).collect();
        let mut sources: Vec<SourceFile> = Vec::new();
        let mut checked = None;
        if !paths.is_empty() {
            let loaded = py.detach(|| tenet::cli::load_policies(&paths, &model)).map_err(|m| usage_error(py, m))?;
            if !loaded.diagnostics.is_empty() {
                return Err(policy_error(py, &loaded.diagnostics));
            }
            sources.extend(loaded.policies.iter().map(|p| p.file.clone()));
            checked = Some(loaded.policies);
        }
        let texts: Vec<SourceFile> = args
            .iter()
            .filter_map(|a| match a {
                PolicyArg::Text { name, text } => Some(SourceFile::new(name.as_str(), text.as_str())),
                PolicyArg::Path(_) => None,
            })
            .collect();
        let policies = if texts.is_empty() {
            checked.unwrap_or_default()
        } else {
            sources.extend(texts);
            let (policies, diagnostics) = py.detach(|| check_all(&sources, &model));
            if !diagnostics.is_empty() {
                return Err(policy_error(py, &diagnostics));
            }
            policies
        };
        spec.policies = sources.iter().map(|s| (s.name.to_string(), s.text.to_string())).collect();
        let sets = spec
            .params
            .iter()
            .map(|(k, v)| {
                if k.contains('=') {
                    return Err(format!("params: `{k}` is not a parameter name"));
                }
                overrides::parse_set(&format!("{k}={v}"))
            })
            .collect::<Result<Vec<_>, _>>()
            .map_err(|m| usage_error(py, m))?;
        let engine = match Engine::from_checked(model, policies, &sets, &RuleFilter(spec.rules.clone())) {
            Ok(e) => e,
            Err(CompileError::Usage(m)) => return Err(usage_error(py, m)),
            Err(CompileError::Diagnostics(d)) => return Err(policy_error(py, &d)),
        };
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(jobs.unwrap_or(0))
            .stack_size(STACK_BYTES)
            .thread_name(|i| format!("tenet-{i}"))
            .build()
            .map_err(|e| PyValueError::new_err(format!("cannot start worker threads: {e}")))?;
        Ok(PyEngine { engine, now, pool, spec })
    }

    /// Checks one tenant: a dict, JSON or YAML text (str or bytes), or a path
    /// (os.PathLike) to anything `tenet check` reads (.json, .yaml, .jsonl, a directory).
    ///
    /// Returns a Report (or a pyarrow.Table with as_arrow=True). A tenant that cannot be
    /// read is an `input` finding in the report; an object that is no tenant at all (a
    /// list, a number) raises TypeError.
    #[pyo3(signature = (tenant, *, source=None, as_arrow=false))]
    fn check<'py>(
        &self,
        py: Python<'py>,
        tenant: &Bound<'py, PyAny>,
        source: Option<String>,
        as_arrow: bool,
    ) -> PyResult<Bound<'py, PyAny>> {
        let now = self.now.unwrap_or_else(now_ticks);
        let source = source.unwrap_or_else(|| DEFAULT_SOURCE.to_string());
        let item = tenant_item(tenant, source.clone(), &Arc::from(source.as_str()))?;
        let acc = self.run_items(py, std::iter::once(Ok(item)), now)?;
        self.finish(py, acc, now, as_arrow)
    }

    /// Checks many tenants in parallel, with the GIL released while they are evaluated.
    ///
    /// `tenants` is any iterable of what check() takes (a generator is read as it goes,
    /// a window of tenants at a time). Tenants given as objects or text are named
    /// `<source>#N` (N from 1) when they have no `id`. Findings come in input order.
    #[pyo3(signature = (tenants, *, source=None, as_arrow=false))]
    fn check_many<'py>(
        &self,
        py: Python<'py>,
        tenants: &Bound<'py, PyAny>,
        source: Option<String>,
        as_arrow: bool,
    ) -> PyResult<Bound<'py, PyAny>> {
        if tenants.is_instance_of::<PyString>()
            || tenants.is_instance_of::<PyBytes>()
            || tenants.is_instance_of::<PyDict>()
            || is_pathlike(tenants)
        {
            return Err(PyTypeError::new_err(format!(
                "check_many() takes an iterable of tenants (a list, a generator); got one {}: use check() for it",
                type_name(tenants)
            )));
        }
        let iter = tenants.try_iter().map_err(|_| {
            PyTypeError::new_err(format!("check_many() takes an iterable of tenants; got {}", type_name(tenants)))
        })?;
        let now = self.now.unwrap_or_else(now_ticks);
        let source = source.unwrap_or_else(|| DEFAULT_SOURCE.to_string());
        let shared: Arc<str> = Arc::from(source.as_str());
        let items = iter.enumerate().map(|(i, obj)| tenant_item(&obj?, format!("{source}#{}", i + 1), &shared));
        let acc = self.run_items(py, items, now)?;
        self.finish(py, acc, now, as_arrow)
    }

    /// Checks every tenant of a JSONL file (one JSON document per line), in parallel with
    /// the GIL released, reading the file as it goes. Also takes any other input `tenet
    /// check` reads (.json, .yaml, a directory). The result is what `tenet check PATH`
    /// reports.
    #[pyo3(signature = (path, *, as_arrow=false))]
    fn check_jsonl<'py>(
        &self,
        py: Python<'py>,
        path: &Bound<'py, PyAny>,
        as_arrow: bool,
    ) -> PyResult<Bound<'py, PyAny>> {
        let path = if let Ok(s) = path.cast::<PyString>() {
            s.to_cow()?.to_string()
        } else if is_pathlike(path) {
            fspath(path)?
        } else {
            return Err(PyTypeError::new_err(format!(
                "check_jsonl() takes a path (str or os.PathLike); got {}",
                type_name(path)
            )));
        };
        let now = self.now.unwrap_or_else(now_ticks);
        let acc = self.run_items(py, std::iter::once(Ok(Item::Path(path))), now)?;
        self.finish(py, acc, now, as_arrow)
    }

    /// For `tenet.spark`: one tenant per row of text (JSON or YAML), named by its row's
    /// source; rows that are None or blank are skipped, as blank lines of a JSONL file.
    fn _check_rows(&self, py: Python<'_>, rows: Vec<Option<String>>, sources: Vec<Option<String>>) -> PyResult<Report> {
        let now = self.now.unwrap_or_else(now_ticks);
        let mut docs = Vec::with_capacity(rows.len());
        let mut last: Option<(String, Arc<str>)> = None;
        for (row, source) in rows.into_iter().zip(sources.into_iter().chain(std::iter::repeat(None))) {
            let Some(text) = row.filter(|t| !t.bytes().all(|b| b.is_ascii_whitespace())) else { continue };
            let name = source.unwrap_or_else(|| "<spark>".to_string());
            let shared = match &last {
                Some((n, a)) if *n == name => a.clone(),
                _ => {
                    let a: Arc<str> = Arc::from(name.as_str());
                    last = Some((name.clone(), a.clone()));
                    a
                }
            };
            docs.push(text_document(text.into_bytes(), name, shared));
        }
        let mut acc = Acc::default();
        py.detach(|| {
            for chunk in docs.chunks(self.window().max(1) * 4) {
                acc.add(self.evaluate(chunk, now));
            }
        });
        Ok(self.report(acc, now))
    }

    /// The policies compiled, as the JSON report's header lists them: name, file, rules.
    #[getter]
    fn policies<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let lines: Vec<report::PolicyLine> = self
            .engine
            .program
            .policies
            .iter()
            .map(|p| report::PolicyLine { name: p.name.clone(), file: p.file.clone(), rules: p.n_rules })
            .collect();
        json_loads(py, &serde_json::to_vec(&lines).map_err(|e| PyValueError::new_err(e.to_string()))?)
    }

    /// The evaluation instant (RFC 3339), or None: the current time at each check.
    #[getter]
    fn now(&self) -> Option<String> {
        self.now.map(format_datetime)
    }

    /// Worker threads used to evaluate.
    #[getter]
    fn jobs(&self) -> usize {
        self.pool.current_num_threads()
    }

    /// A picklable description (policy and model texts, parameters, instant, rules): an
    /// unpickled engine is compiled again from it, once per process.
    fn _spec<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let s = &self.spec;
        let d = PyDict::new(py);
        let pol = PyDict::new(py);
        for (n, t) in &s.policies {
            pol.set_item(n, t)?;
        }
        d.set_item("policies", pol)?;
        match &s.model {
            Some((n, t)) => {
                let m = PyDict::new(py);
                m.set_item(n, t)?;
                d.set_item("model", m)?;
            }
            None => d.set_item("model", py.None())?,
        }
        let params = PyDict::new(py);
        for (k, v) in &s.params {
            params.set_item(k, v)?;
        }
        d.set_item("params", params)?;
        d.set_item("now", s.now.as_deref())?;
        d.set_item("rules", s.rules.clone())?;
        d.set_item("jobs", s.jobs)?;
        Ok(d)
    }

    fn __reduce__<'py>(&self, py: Python<'py>) -> PyResult<(Bound<'py, PyAny>, (Bound<'py, PyDict>,))> {
        Ok((py.import("tenet._convert")?.getattr("restore_engine")?, (self._spec(py)?,)))
    }

    fn __repr__(&self) -> String {
        let names: Vec<&str> = self.engine.program.policies.iter().map(|p| &*p.name).collect();
        let now = self.now.map_or_else(|| "None".to_string(), |t| format!("{:?}", format_datetime(t)));
        format!("Engine(policies={names:?}, now={now})")
    }
}

// ----------------------------------------------------------------------------- report

fn json_loads<'py>(py: Python<'py>, bytes: &[u8]) -> PyResult<Bound<'py, PyAny>> {
    py.import("json")?.getattr("loads")?.call1((PyBytes::new(py, bytes),))
}

fn io_err(e: std::io::Error) -> PyErr {
    PyValueError::new_err(e.to_string())
}

/// The result of a check: findings in input order and their summary.
#[pyclass(frozen, name = "Report", module = "tenet")]
struct Report {
    reports: Vec<TenantReport>,
    summary: Summary,
    now: String,
    findings: OnceLock<Py<PyAny>>,
}

impl Report {
    fn findings_iter(&self) -> impl Iterator<Item = &Finding> {
        self.reports.iter().flat_map(|r| r.findings.iter())
    }

    /// The findings as `tenet check --format jsonl` writes them (`report::Jsonl`).
    fn jsonl(&self) -> PyResult<Vec<u8>> {
        let mut out = Vec::new();
        let mut r = report::Jsonl;
        for t in &self.reports {
            r.tenant(&mut out, t).map_err(io_err)?;
        }
        Ok(out)
    }
}

#[pymethods]
impl Report {
    /// The findings, as dicts with exactly the JSON report's fields (the same list on
    /// every access).
    #[getter]
    fn findings(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        if let Some(f) = self.findings.get() {
            return Ok(f.clone_ref(py));
        }
        // JSON strings never hold a raw newline: the lines joined by commas are an array.
        let lines = self.jsonl()?;
        let mut array = Vec::with_capacity(lines.len() + 2);
        array.push(b'[');
        for (i, line) in lines.split(|&b| b == b'\n').filter(|l| !l.is_empty()).enumerate() {
            if i > 0 {
                array.push(b',');
            }
            array.extend_from_slice(line);
        }
        array.push(b']');
        let list = json_loads(py, &array)?.unbind();
        Ok(self.findings.get_or_init(|| list).clone_ref(py))
    }

    /// Counts over every tenant checked, as the JSON report's `summary`.
    #[getter]
    fn summary<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        json_loads(py, &serde_json::to_vec(&self.summary).map_err(|e| PyValueError::new_err(e.to_string()))?)
    }

    /// The evaluation instant used (RFC 3339).
    #[getter]
    fn now(&self) -> &str {
        &self.now
    }

    /// Tenants that could not be read (each has one `input` finding).
    #[getter]
    fn input_errors(&self) -> usize {
        self.reports.iter().filter(|r| r.input_error).count()
    }

    /// The report as `tenet check --format jsonl` writes it: one finding per line, then a
    /// `{"summary": ...}` line.
    fn to_jsonl(&self) -> PyResult<String> {
        let mut out = self.jsonl()?;
        report::Jsonl.finish(&mut out, &self.summary).map_err(io_err)?;
        String::from_utf8(out).map_err(|e| PyValueError::new_err(e.to_string()))
    }

    /// The findings as a pyarrow.Table, one row per finding, with the JSON report's
    /// fields as columns (`subject` a struct, `evidence` JSON text). Needs pyarrow.
    fn to_arrow<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        py.import("tenet._arrow")?.getattr("table")?.call1((self.columns(py)?,))
    }

    /// The findings column by column: `{field: [value per finding]}` (see to_arrow).
    fn columns<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let fields = fields();
        let mut cols: Vec<Vec<Py<PyAny>>> = fields.iter().map(|_| Vec::new()).collect();
        for f in self.findings_iter() {
            let serde_json::Value::Object(map) =
                serde_json::to_value(f).map_err(|e| PyValueError::new_err(e.to_string()))?
            else {
                continue;
            };
            for (field, col) in fields.iter().zip(cols.iter_mut()) {
                col.push(cell(py, field, map.get(&field.name))?);
            }
        }
        let out = PyDict::new(py);
        for (field, col) in fields.iter().zip(cols) {
            out.set_item(&field.name, PyList::new(py, col)?)?;
        }
        Ok(out)
    }

    fn __len__(&self) -> usize {
        self.findings_iter().count()
    }

    fn __iter__<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        self.findings(py)?.bind(py).try_iter().map(Bound::into_any)
    }

    fn __repr__(&self) -> String {
        format!(
            "Report(tenants={}, findings={}, fail={}, error={})",
            self.summary.tenants,
            self.findings_iter().count(),
            self.summary.fail,
            self.summary.error
        )
    }
}

// ----------------------------------------------------------------------------- columns

/// How a report field becomes a column.
#[derive(Clone, Copy, PartialEq)]
enum ColumnKind {
    String,
    Int,
    Float,
    Bool,
    /// An object of strings (`subject`): a struct column.
    Struct,
    /// Anything else (`evidence`): its JSON text.
    Json,
}

struct Field {
    name: String,
    kind: ColumnKind,
    members: Vec<String>,
}

/// The report's fields, in report order, with their column kinds: read off a finding with
/// every optional field present, serialized by the same code as the report.
fn fields() -> &'static [Field] {
    static FIELDS: OnceLock<Vec<Field>> = OnceLock::new();
    FIELDS.get_or_init(|| {
        let mut evidence = serde_json::Map::new();
        evidence.insert("count(user.sessions)".into(), serde_json::json!(5));
        let sample = Finding {
            tenant: Arc::from("t"),
            source: Arc::from("s"),
            policy: Some(Arc::from("p")),
            rule: Arc::from("r"),
            code: Arc::from("c"),
            severity: Severity::Error,
            status: Status::Fail,
            subject: Subject { kind: Arc::from("user"), id: Some(Arc::from("u")), path: "users[0]".into() },
            message: "m".into(),
            remediation: Some(Arc::from("x")),
            see: Arc::from([Arc::from("https://example.com")]),
            reason: Some("y".into()),
            evidence: Some(evidence),
            triage: tenet::finding::Triaged::default(),
            location: Some(tenet::finding::Location {
                file: Arc::from("f"),
                line: 1,
                column: 1,
                field: Some(tenet::finding::FieldLocation { name: "n".into(), line: 1, column: 1 }),
            }),
            decided_by: None,
        };
        let Ok(serde_json::Value::Object(map)) = serde_json::to_value(&sample) else { return Vec::new() };
        map.into_iter()
            .map(|(name, v)| {
                let (kind, members) = match &v {
                    serde_json::Value::String(_) => (ColumnKind::String, Vec::new()),
                    serde_json::Value::Bool(_) => (ColumnKind::Bool, Vec::new()),
                    serde_json::Value::Number(n) if n.is_f64() => (ColumnKind::Float, Vec::new()),
                    serde_json::Value::Number(_) => (ColumnKind::Int, Vec::new()),
                    serde_json::Value::Object(m) if m.values().all(|x| x.is_string()) => {
                        (ColumnKind::Struct, m.keys().cloned().collect())
                    }
                    _ => (ColumnKind::Json, Vec::new()),
                };
                Field { name, kind, members }
            })
            .collect()
    })
}

fn cell(py: Python<'_>, field: &Field, v: Option<&serde_json::Value>) -> PyResult<Py<PyAny>> {
    use serde_json::Value as J;
    let v = match v {
        None | Some(J::Null) => return Ok(py.None()),
        Some(v) => v,
    };
    Ok(match (field.kind, v) {
        (ColumnKind::Json, v) | (ColumnKind::String, v @ (J::Object(_) | J::Array(_))) => {
            PyString::new(py, &v.to_string()).into_any().unbind()
        }
        (ColumnKind::Struct, J::Object(m)) => {
            let d = PyDict::new(py);
            for k in &field.members {
                match m.get(k) {
                    Some(J::String(s)) => d.set_item(k, s)?,
                    _ => d.set_item(k, py.None())?,
                }
            }
            d.into_any().unbind()
        }
        (_, J::String(s)) => PyString::new(py, s).into_any().unbind(),
        (_, J::Bool(b)) => b.into_pyobject(py)?.to_owned().into_any().unbind(),
        (_, J::Number(n)) => match (n.as_i64(), n.as_u64(), n.as_f64()) {
            (Some(i), _, _) => i.into_pyobject(py)?.into_any().unbind(),
            (None, Some(u), _) => u.into_pyobject(py)?.into_any().unbind(),
            (_, _, f) => f.unwrap_or(f64::NAN).into_pyobject(py)?.into_any().unbind(),
        },
        (_, v) => PyString::new(py, &v.to_string()).into_any().unbind(),
    })
}

/// The report's fields and their column types: `[(name, kind, members)]`, kind one of
/// `string`, `int64`, `float64`, `bool`, `struct` (members: its string fields), `json`.
#[pyfunction]
fn finding_fields() -> Vec<(String, &'static str, Vec<String>)> {
    fields()
        .iter()
        .map(|f| {
            let kind = match f.kind {
                ColumnKind::String => "string",
                ColumnKind::Int => "int64",
                ColumnKind::Float => "float64",
                ColumnKind::Bool => "bool",
                ColumnKind::Struct => "struct",
                ColumnKind::Json => "json",
            };
            (f.name.clone(), kind, f.members.clone())
        })
        .collect()
}

#[pymodule]
fn _tenet(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PyEngine>()?;
    m.add_class::<Report>()?;
    m.add_function(wrap_pyfunction!(finding_fields, m)?)?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
