//! `--format gitlab`: GitLab's Code Quality report, a JSON array of issues (the Code
//! Climate format GitLab reads): `description`, `check_name`, `fingerprint`, `severity`,
//! `location.path` and `location.lines.begin`. Severities: an `error` rule and evaluation
//! and input errors are `critical`, `warning` is `major`, `info` is `info`.
//! The fingerprint is `Finding::fingerprint`: GitLab compares reports of two pipelines
//! by it, so it ignores messages and evidence.
//!
//! GitLab has no suppression field: a waived finding is kept with `severity: info` and
//! the waiver's reason in `content.body`.

use super::{subject_text, Reporter, RunInfo};
use crate::finding::{Finding, Severity, Status, Summary, TenantReport};
use serde_json::{json, Value};
use std::io::{self, Write};

pub struct Gitlab {
    issues: Vec<Value>,
}

impl Gitlab {
    pub fn new(_info: RunInfo) -> Self {
        Gitlab { issues: Vec::new() }
    }
}

fn severity(f: &Finding) -> &'static str {
    match (f.status, f.severity) {
        (Status::Waived, _) => "info",
        (Status::Error, _) | (_, Severity::Error) => "critical",
        (_, Severity::Warning) => "major",
        (_, Severity::Info) => "info",
    }
}

fn issue(f: &Finding) -> Value {
    let (path, line) = match &f.location {
        Some(l) => (l.file.to_string(), l.point().0),
        None => (f.source.to_string(), 1),
    };
    let mut body = String::new();
    if let Some(r) = &f.reason {
        body.push_str(&format!("Reason: {r}\n"));
    }
    if let Some(r) = &f.remediation {
        body.push_str(&format!("Fix: {r}\n"));
    }
    if let Some(w) = &f.triage.waiver {
        body.push_str(&format!("Waived: {}\n", w.reason));
    }
    let mut v = json!({
        "type": "issue",
        "description": format!("{}: {}", subject_text(f), f.message),
        "check_name": f.rule_id(),
        "fingerprint": f.fingerprint(),
        "severity": severity(f),
        "categories": ["Security"],
        "location": {"path": path, "lines": {"begin": line}},
    });
    if let (false, Some(o)) = (body.is_empty(), v.as_object_mut()) {
        o.insert("content".into(), json!({ "body": body.trim_end() }));
    }
    v
}

impl Reporter for Gitlab {
    fn tenant(&mut self, _out: &mut dyn Write, report: &TenantReport) -> io::Result<()> {
        self.issues.extend(report.findings.iter().map(issue));
        Ok(())
    }

    fn finish(&mut self, out: &mut dyn Write, _summary: &Summary) -> io::Result<()> {
        serde_json::to_writer_pretty(&mut *out, &self.issues)?;
        out.write_all(b"\n")
    }
}
