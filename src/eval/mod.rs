//! STAGE 4: program × tenant → findings. No IO, and no panics on data: every problem
//! with the data becomes an `error` finding with a reason.
//!
//! [`tenant`] evaluates every rule over its subjects in snapshot order. Large tenants are
//! split into chunks of subjects evaluated in parallel (rayon); chunks are concatenated in
//! order, so output never depends on the thread count (language.md §6).

// Evaluation runs on untrusted data: no index may panic, and every `unsafe` block says
// why it is sound.
#![deny(clippy::indexing_slicing)]
#![deny(clippy::undocumented_unsafe_blocks)]

mod exact;
pub mod explain;
pub mod machine;
pub mod ops;

use crate::finding::{Finding, Severity, Status, Subject, Summary, TenantReport};
use crate::hir::MessagePart;
use crate::ir::{Program, Rule};
use crate::model::{KindId, Model};
use crate::snapshot::{InputError, Tenant};
use crate::value::Value;
use machine::{Env, EvalError};
use rayon::prelude::*;
use std::sync::Arc;

/// Subjects per parallel chunk inside one tenant.
const CHUNK: usize = 8192;

/// Evaluates every rule of the program over one tenant.
pub fn tenant(program: &Program, model: &Model, t: &Tenant, now: i64) -> TenantReport {
    let tenant_name: Arc<str> = t.id(model).unwrap_or_else(|| Arc::from(t.label.as_str()));
    let mut findings = Vec::new();
    let mut summary = Summary::new();
    summary.tenants = 1;
    for rule in &program.rules {
        let n = t.table(rule.subject).len();
        let ctx = RuleCtx { program, model, t, rule, now, tenant_name: &tenant_name };
        if n > CHUNK {
            let parts: Vec<(Vec<Finding>, Summary)> =
                (0..n.div_ceil(CHUNK)).into_par_iter().map(|c| ctx.rows(c * CHUNK, ((c + 1) * CHUNK).min(n))).collect();
            for (f, s) in parts {
                findings.extend(f);
                summary.add(&s);
            }
        } else {
            let (f, s) = ctx.rows(0, n);
            findings.extend(f);
            summary.add(&s);
        }
    }
    TenantReport { findings, summary, input_error: false, tenant: tenant_name }
}

/// The report of a tenant that could not be read: one `input` finding.
pub fn input_error(label: &str, source: &Arc<str>, err: &InputError) -> TenantReport {
    let mut summary = Summary::new();
    summary.tenants = 1;
    summary.error = 1;
    let finding = Finding {
        tenant: Arc::from(label),
        source: source.clone(),
        policy: None,
        rule: Arc::from("input"),
        code: Arc::from("input"),
        severity: Severity::Error,
        status: Status::Error,
        subject: Subject { kind: Arc::from("tenant"), id: None, path: String::new() },
        message: err.message.clone(),
        remediation: None,
        see: Arc::from([]),
        reason: Some(err.message.clone()),
        evidence: None,
        location: None,
        triage: Default::default(),
        decided_by: None,
    };
    TenantReport { findings: vec![finding], summary, input_error: true, tenant: Arc::from(label) }
}

struct RuleCtx<'a> {
    program: &'a Program,
    model: &'a Model,
    t: &'a Tenant,
    rule: &'a Rule,
    now: i64,
    tenant_name: &'a Arc<str>,
}

impl RuleCtx<'_> {
    fn rows(&self, from: usize, to: usize) -> (Vec<Finding>, Summary) {
        let kind_name: Arc<str> = Arc::from(self.model.kind_name(self.rule.subject));
        let mut env = Env::new(self.program, self.model, self.t, self.now);
        let mut findings = Vec::new();
        let mut summary = Summary::new();
        let rule = self.rule;
        // Small tables stay in cache, where prefetching only costs.
        let big = self.t.table(rule.subject).len() >= PREFETCH_MIN_ROWS;
        let ahead = if big { subject_fields(self.model, rule) } else { Vec::new() };
        env.enter_rule(rule.policy, rule.n_locals);
        for row in from as u32..to as u32 {
            // A subject's lists and strings live in their own heap blocks: asking for the
            // ones of a subject a few rows on overlaps those memory loads with this one's
            // evaluation (a hint only; nothing is read).
            if let Some(next) = row.checked_add(PREFETCH_ROWS).filter(|n| (*n as usize) < to) {
                for &f in &ahead {
                    prefetch(self.t.field(rule.subject, next, f));
                }
            }
            // Nearer, the list asked for above has arrived: ask for its strings (the keys
            // of references, which evaluation reads next).
            if let Some(near) = row.checked_add(PREFETCH_ROWS / 2).filter(|n| (*n as usize) < to) {
                for &f in &ahead {
                    if let Value::List(items) = self.t.field(rule.subject, near, f) {
                        items.iter().take(4).for_each(prefetch);
                    }
                }
            }
            if rule.n_locals > 0 {
                // Fresh locals for every subject (a rule without any keeps the empty set).
                env.enter_rule(rule.policy, rule.n_locals);
            }
            env.bind(rule.subject, row);
            let (status, reason) = evaluate(&mut env, rule);
            summary.count(status, rule.severity);
            if matches!(status, Status::Fail | Status::Error) {
                findings.push(self.finding(&mut env, &kind_name, row, status, reason));
            }
        }
        (findings, summary)
    }

    fn finding(
        &self,
        env: &mut Env<'_>,
        kind_name: &Arc<str>,
        row: u32,
        status: Status,
        reason: Option<String>,
    ) -> Finding {
        let rule = self.rule;
        let subject = self.subject(kind_name, rule.subject, row);
        let decided = match (status, self.program.policies.get(rule.policy)) {
            (Status::Fail, Some(p)) => Some(explain::decided(env, &rule.assert, &p.source, Some(rule.subject))),
            _ => None,
        };
        let (evidence, decided_by) = decided.map_or((None, None), |d| (Some(d.evidence), d.field));
        Finding {
            tenant: self.tenant_name.clone(),
            source: self.t.source.clone(),
            policy: self.program.policies.get(rule.policy).map(|p| p.name.clone()),
            rule: rule.name.clone(),
            code: rule.code.clone(),
            severity: rule.severity,
            status,
            subject,
            message: render_message(env, &rule.message),
            remediation: rule.remediation.clone(),
            see: rule.see.clone(),
            reason,
            evidence,
            location: None,
            triage: Default::default(),
            decided_by,
        }
    }

    fn subject(&self, kind_name: &Arc<str>, kind: KindId, row: u32) -> Subject {
        let m = self.model;
        if kind == Model::ROOT {
            return Subject { kind: kind_name.clone(), id: self.t.id(m), path: String::new() };
        }
        Subject { kind: kind_name.clone(), id: self.t.key(m, kind, row), path: self.t.path(m, kind, row) }
    }
}

/// How many subjects ahead [`RuleCtx::rows`] prefetches.
const PREFETCH_ROWS: u32 = 4;
/// Subjects of a kind with fewer rows than this are not prefetched.
const PREFETCH_MIN_ROWS: usize = 16_384;

/// The subject's own fields a rule reads whose values live in heap blocks of their own
/// (strings, references, lists of them: `user.roles` in a rule about users), at most a
/// few: those blocks are worth prefetching.
fn subject_fields(model: &Model, rule: &Rule) -> Vec<u16> {
    fn walk(model: &Model, e: &crate::hir::Expr, subject: KindId, out: &mut Vec<u16>) {
        use crate::model::Type;
        if let crate::hir::ExprKind::Field { base, kind, field } = &e.kind {
            let own = *kind == subject && matches!(base.kind, crate::hir::ExprKind::Kind(k) if k == subject);
            let heap = match &model.field(*kind, *field).ty {
                Type::String | Type::Ref(_) => true,
                Type::List(inner) => !matches!(**inner, Type::Entity(_)),
                _ => false,
            };
            if own && heap && !out.contains(field) {
                out.push(*field);
            }
        }
        e.for_each_child(&mut |c| walk(model, c, subject, out));
    }
    let mut out = Vec::new();
    if let Some(g) = &rule.guard {
        walk(model, g, rule.subject, &mut out);
    }
    walk(model, &rule.assert, rule.subject, &mut out);
    out.truncate(4);
    out
}

/// Asks the CPU to start loading the heap block behind a list or string value.
#[inline]
fn prefetch(v: &Value) {
    let p: *const u8 = match v {
        Value::List(items) => items.as_ptr().cast(),
        Value::Str(s) => s.as_ptr(),
        _ => return,
    };
    #[cfg(all(target_arch = "x86_64", target_feature = "sse"))]
    // SAFETY: `_mm_prefetch` is an SSE instruction, and this code is compiled only when
    // the target has SSE (`target_feature = "sse"`, part of every x86_64 baseline), which
    // is its one requirement. The address is not an obligation: a prefetch is a hint that
    // never faults and reads nothing into the program, whatever it points at.
    unsafe {
        std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>(p.cast());
    }
    #[cfg(not(all(target_arch = "x86_64", target_feature = "sse")))]
    let _ = p;
}

/// Guard, then assertion: the status and, for `error`, the reason.
pub fn evaluate(env: &mut Env<'_>, rule: &Rule) -> (Status, Option<String>) {
    if let Some(g) = &rule.guard {
        match env.eval_bool(g) {
            Ok(true) => {}
            Ok(false) => return (Status::Skip, None),
            Err(e) => return (Status::Error, Some(reason(*e, "when"))),
        }
    }
    match env.eval_bool(&rule.assert) {
        Ok(true) => (Status::Pass, None),
        Ok(false) => (Status::Fail, None),
        Err(e) => (Status::Error, Some(reason(*e, ""))),
    }
}

fn reason(e: EvalError, place: &str) -> String {
    if place.is_empty() {
        e.reason
    } else {
        format!("{} (in the `{place}` guard)", e.reason)
    }
}

/// Renders a message; an expression that cannot be evaluated renders as `{?}`.
pub fn render_message(env: &mut Env<'_>, parts: &[MessagePart]) -> String {
    let mut out = String::new();
    for p in parts {
        match p {
            MessagePart::Text(s) => out.push_str(s),
            MessagePart::Expr(e) => match env.eval(e) {
                Ok(v) => out.push_str(&render(env, &v)),
                Err(_) => out.push_str("{?}"),
            },
        }
    }
    out
}

/// Renders a value for people (language.md §9.13): a referenced entity as its key.
pub fn render(env: &Env<'_>, v: &Value) -> String {
    match v {
        Value::Entity(k, r) => {
            env.tenant.key(env.model, *k, *r).map_or_else(|| env.tenant.path(env.model, *k, *r), |s| s.to_string())
        }
        Value::Entities(k, s, n) => {
            let keys: Vec<serde_json::Value> = (*s..s + n)
                .map(|r| {
                    env.tenant
                        .key(env.model, *k, r)
                        .map_or(serde_json::Value::Null, |s| serde_json::Value::String(s.to_string()))
                })
                .collect();
            serde_json::Value::Array(keys).to_string()
        }
        Value::List(items) if items.iter().any(|i| matches!(i, Value::Entity(..))) => {
            let parts: Vec<serde_json::Value> = items
                .iter()
                .map(|i| match i {
                    Value::Entity(..) => serde_json::Value::String(render(env, i)),
                    other => ops::to_json(other),
                })
                .collect();
            serde_json::Value::Array(parts).to_string()
        }
        other => ops::render_plain(other),
    }
}
