//! The pipeline in one place, for the CLI, the test harness and library users.
//!
//! ```
//! use tenet::{engine::Engine, model::Model, source::SourceFile, snapshot::Content};
//! let policy = SourceFile::new("p.tenet", r#"
//!     policy "demo"
//!     max_sessions = 3
//!     rule session_cap: count(user.sessions) <= max_sessions
//! "#);
//! let engine = Engine::builder(Model::erp()).policy(policy).build().unwrap();
//! let tenant = br#"{"id": "t1", "users": [{"id": "u1", "sessions": [{}, {}, {}, {}]}]}"#;
//! let t = engine.decode("t1.json", Content::Json(tenant.to_vec())).unwrap();
//! let report = engine.evaluate(&t, 0);
//! assert_eq!(report.findings.len(), 1);
//! assert_eq!(report.findings[0].subject.id.as_deref(), Some("u1"));
//! ```

use crate::check;
use crate::diagnostic::{Code, Diagnostic};
use crate::eval::{self, machine::Env};
use crate::finding::{FieldLocation, Location, Status, TenantReport};
use crate::hir;
use crate::ir::Program;
use crate::lower::{self, overrides::Override, RuleFilter};
use crate::model::Model;
use crate::snapshot::{self, Content, DecodePlan, Document, InputError, Tenant};
use crate::source::SourceFile;
use std::sync::Arc;

/// Compiled policies, ready to evaluate tenants.
pub struct Engine {
    pub model: Model,
    pub program: Program,
    plan: DecodePlan,
}

/// Why policies could not be compiled.
#[derive(Debug)]
pub enum CompileError {
    /// Problems in policy files: report them all.
    Diagnostics(Vec<Diagnostic>),
    /// A bad `--set` or `--rule`.
    Usage(String),
}

pub struct Builder {
    model: Model,
    files: Vec<SourceFile>,
    sets: Vec<Override>,
    filter: RuleFilter,
}

impl Builder {
    pub fn policy(mut self, file: SourceFile) -> Self {
        self.files.push(file);
        self
    }

    pub fn policies(mut self, files: impl IntoIterator<Item = SourceFile>) -> Self {
        self.files.extend(files);
        self
    }

    pub fn set(mut self, o: Override) -> Self {
        self.sets.push(o);
        self
    }

    pub fn sets(mut self, o: impl IntoIterator<Item = Override>) -> Self {
        self.sets.extend(o);
        self
    }

    pub fn filter(mut self, filter: RuleFilter) -> Self {
        self.filter = filter;
        self
    }

    pub fn build(self) -> Result<Engine, CompileError> {
        let checked = check_all(&self.files, &self.model);
        if !checked.1.is_empty() {
            return Err(CompileError::Diagnostics(checked.1));
        }
        Engine::from_checked(self.model, checked.0, &self.sets, &self.filter)
    }
}

/// Parses and checks policy files; reports duplicate policy names across files.
pub fn check_all(files: &[SourceFile], model: &Model) -> (Vec<hir::Policy>, Vec<Diagnostic>) {
    let mut policies: Vec<hir::Policy> = Vec::new();
    let mut diagnostics = Vec::new();
    for file in files {
        let checked = check::file(file, model);
        diagnostics.extend(checked.diagnostics);
        if let Some(p) = checked.value {
            if let Some(first) = policies.iter().find(|q| q.name == p.name) {
                let span = name_span(file, &p.name);
                diagnostics.push(
                    Diagnostic::new(
                        Code::Duplicate,
                        file,
                        span,
                        format!("policy `{}` is also defined in `{}`", p.name, first.file.name),
                    )
                    .label("duplicate policy name")
                    .help("policy names are unique within a run; rename one of them"),
                );
                continue;
            }
            policies.push(p);
        }
    }
    (policies, diagnostics)
}

fn name_span(file: &SourceFile, name: &str) -> crate::source::Span {
    let quoted = format!("\"{name}\"");
    match file.text.find(&quoted) {
        Some(i) => crate::source::Span::new(i, i + quoted.len()),
        None => match file.text.find(name) {
            Some(i) => crate::source::Span::new(i, i + name.len()),
            None => crate::source::Span::new(0, 0),
        },
    }
}

impl Engine {
    pub fn builder(model: Model) -> Builder {
        Builder { model, files: Vec::new(), sets: Vec::new(), filter: RuleFilter::default() }
    }

    /// Lowers checked policies after applying overrides and validating the rule filter.
    pub fn from_checked(
        model: Model,
        mut policies: Vec<hir::Policy>,
        sets: &[Override],
        filter: &RuleFilter,
    ) -> Result<Engine, CompileError> {
        lower::overrides::apply(&mut policies, sets).map_err(CompileError::Usage)?;
        lower::patterns_valid(&policies).map_err(CompileError::Usage)?;
        for r in &filter.0 {
            let one = RuleFilter(vec![r.clone()]);
            if !policies.iter().any(|p| p.rules.iter().any(|rule| one.keeps(&p.name, &rule.name))) {
                return Err(CompileError::Usage(format!("`--rule {r}`: no such rule in the policies given")));
            }
        }
        let program = lower::program(&policies, &model, filter);
        let plan = DecodePlan::new(&model, &program.projection);
        Ok(Engine { model, program, plan })
    }

    /// Decodes one tenant document (only the fields the program reads are kept).
    pub fn decode(&self, label: &str, content: Content) -> Result<Tenant, InputError> {
        snapshot::decode(label, Arc::from(label), &content, &self.plan)
    }

    /// Evaluates every rule over one tenant.
    pub fn evaluate(&self, tenant: &Tenant, now: i64) -> TenantReport {
        eval::tenant(&self.program, &self.model, tenant, now)
    }

    /// Decodes and evaluates one document; an unreadable one gives an `input` finding.
    pub fn run_document(&self, doc: &Document, now: i64) -> TenantReport {
        self.run_document_keeping(doc, now).0
    }

    /// [`run_document`](Self::run_document), handing back the decoded tenant too, so that a
    /// caller about to exit need not spend time freeing it.
    ///
    /// A bug in tenet that panics while this document is decoded or evaluated costs this
    /// tenant only: it becomes an `input` finding that says so, and the run goes on.
    pub fn run_document_keeping(&self, doc: &Document, now: i64) -> (TenantReport, Option<Tenant>) {
        let (mut report, tenant) = contained(doc, || match &doc.content {
            Ok(content) => match snapshot::decode(&doc.label, doc.source.clone(), content, &self.plan) {
                Ok(t) => (self.evaluate(&t, now), Some(t)),
                Err(e) => (eval::input_error(&doc.label, &doc.source, &e), None),
            },
            Err(e) => (eval::input_error(&doc.label, &doc.source, e), None),
        });
        locate(doc, tenant.as_ref(), &mut report, &self.model);
        (report, tenant)
    }

    /// Every (rule, subject) status, including `pass` and `skip` (for tests and coverage):
    /// `(rule index, subject path, status, reason)`.
    pub fn statuses(&self, tenant: &Tenant, now: i64) -> Vec<(usize, String, Status, Option<String>)> {
        let mut out = Vec::new();
        let mut env = Env::new(&self.program, &self.model, tenant, now);
        for (i, rule) in self.program.rules.iter().enumerate() {
            for row in 0..tenant.table(rule.subject).len() as u32 {
                env.enter_rule(rule.policy, rule.n_locals);
                env.bind(rule.subject, row);
                let (status, reason) = eval::evaluate(&mut env, rule);
                out.push((i, tenant.path(&self.model, rule.subject, row), status, reason));
            }
        }
        out
    }
}

/// Sets the `location` of every finding of `report`, from `doc`'s text: only findings are
/// located (a tenant that passes costs nothing), with the fields that decided them
/// (`location.field`). Input findings point at the document's start. A JSONL line is walked
/// with the bracket index its decode recorded (walking every line with findings from
/// scratch cost bulk runs about 10%) and gets no fields (placing and writing them cost the
/// bulk run 2.4%); a streamed file is not read again for its subjects (its decode kept its
/// elements' positions), and for fields only the elements that hold them are, when they are
/// at most [`snapshot::STREAM_FIELDS_MAX`].
fn locate(doc: &Document, tenant: Option<&Tenant>, report: &mut TenantReport, model: &Model) {
    if report.findings.is_empty() {
        return;
    }
    let first_line = doc.first_line();
    let at = |line, column| Some(Location::new(doc.source.clone(), line, column));
    // An imported tenant: its subjects are written in the export files, not in the
    // snapshot the importer built from them.
    if let Some(origins) = &doc.origins {
        for f in &mut report.findings {
            f.location = origins.of(&f.subject.path).cloned().or_else(|| at(first_line, 1));
        }
        return;
    }
    match (&doc.content, report.input_error) {
        (Ok(content), false) => {
            let streamed = matches!(content, Content::JsonFile(_));
            // JSON files other than lines keep the plain walk (their cost is one document's).
            let marks = tenant.and_then(Tenant::marks).filter(|_| doc.is_lines() || streamed);
            // A streamed file with more findings to locate a field for than the cap gets
            // none: counting them is all it costs. JSONL lines get none.
            let deciding = report.findings.iter().filter(|f| f.decided_by.is_some()).count();
            let wanted = deciding > 0 && !doc.is_lines() && !(streamed && deciding > snapshot::STREAM_FIELDS_MAX);
            let paths: Vec<&str> = report.findings.iter().map(|f| f.subject.path.as_str()).collect();
            if !wanted {
                // Nothing more is held than the subjects' places (a million-user file has
                // tens of thousands of findings).
                let found = snapshot::locate_marked(content, first_line, &paths, marks);
                for (f, p) in report.findings.iter_mut().zip(found) {
                    f.location = at(p.line, p.column);
                }
                return;
            }
            let located: Vec<(crate::snapshot::Position, Option<FieldLocation>)> = {
                let members: Vec<Option<Vec<&str>>> =
                    report.findings.iter().map(|f| f.decided_by.as_ref().map(|d| d.members(model))).collect();
                let fields: Vec<Option<&[&str]>> = members.iter().map(|m| m.as_deref()).collect();
                let (found, keys) = snapshot::locate_marked_fields(content, first_line, &paths, &fields, marks);
                found
                    .into_iter()
                    .zip(keys)
                    .zip(&members)
                    .map(|((p, k), m)| {
                        let field = k.zip(m.as_ref()).map(|(k, m)| FieldLocation {
                            name: m.join("."),
                            line: k.line,
                            column: k.column,
                        });
                        (p, field)
                    })
                    .collect()
            };
            for (f, (p, field)) in report.findings.iter_mut().zip(located) {
                f.location = at(p.line, p.column).map(|l| Location { field, ..l });
            }
        }
        _ => {
            for f in &mut report.findings {
                f.location = at(first_line, 1);
            }
        }
    }
}

/// Runs `work` for one document; a panic inside it (a bug: data never panics the engine by
/// design) becomes that document's `input` finding instead of ending the whole run. The
/// panic hook has already printed where it happened on standard error.
fn contained(doc: &Document, work: impl FnOnce() -> (TenantReport, Option<Tenant>)) -> (TenantReport, Option<Tenant>) {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(work)) {
        Ok(done) => done,
        Err(payload) => {
            let what = panic_message(payload.as_ref());
            let message =
                format!("internal error while checking this tenant ({what}); this is a bug in tenet, please report it");
            (eval::input_error(&doc.label, &doc.source, &InputError::new(message)), None)
        }
    }
}

/// What a caught panic said (its `&str` or `String` payload).
pub(crate) fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| (*s).to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown cause".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panic_costs_one_document_only() {
        let doc = Document {
            label: "t.json".into(),
            source: Arc::from("t.json"),
            content: Ok(Content::Json(Vec::new())),
            origins: None,
        };
        let (report, tenant) = contained(&doc, || panic!("boom"));
        assert!(tenant.is_none());
        assert!(report.input_error);
        assert_eq!(report.findings.len(), 1);
        let f = &report.findings[0];
        assert_eq!((&*f.rule, f.status), ("input", Status::Error));
        assert!(f.message.contains("internal error") && f.message.contains("boom"), "{}", f.message);
    }
}
