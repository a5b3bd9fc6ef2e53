//! `--format sarif`: SARIF 2.1.0 (OASIS), as GitHub code scanning reads it.
//!
//! One run; the tool's rules are the program's rules (`POLICY/RULE`), plus `input` when a
//! tenant could not be read. Each finding is a result with its rule's index, a level from
//! its severity (`info` → `note`; evaluation errors are `error`), the rendered message, the
//! subject's place in the tenant file (and, as a related location, the field that decided
//! it when one did), the tenant and subject as a logical location, a stable fingerprint (`Finding::fingerprint`) and the evidence in `properties`.
//! Results are collected and written at the end (SARIF is one JSON document).
//!
//! A waived finding keeps its result and gains `"suppressions": [{"kind": "external",
//! "justification": REASON}]`; with a baseline, `"baselineState"` is `new` or `unchanged`.

use super::{subject_text, Reporter, RuleInfo, RunInfo};
use crate::finding::{Finding, Severity, Status, Summary, TenantReport};
use serde_json::{json, Map, Value};
use std::io::{self, Write};
use std::path::{Component, Path, PathBuf};

pub struct Sarif {
    info: RunInfo,
    results: Vec<Value>,
    /// `ruleIndex` of each rule id; `input` is added when first needed.
    index: std::collections::HashMap<String, usize>,
    extra_rules: Vec<Value>,
    input_errors: bool,
    cwd: Option<PathBuf>,
}

impl Sarif {
    pub fn new(info: RunInfo) -> Self {
        let index = info.rules.iter().enumerate().map(|(i, r)| (format!("{}/{}", r.policy, r.name), i)).collect();
        Sarif {
            info,
            results: Vec::new(),
            index,
            extra_rules: Vec::new(),
            input_errors: false,
            cwd: std::env::current_dir().ok(),
        }
    }

    fn rule_index(&mut self, f: &Finding) -> usize {
        let id = f.rule_id();
        if let Some(&i) = self.index.get(&id) {
            return i;
        }
        // A rule the run does not list (`input`): described here, once.
        let i = self.info.rules.len() + self.extra_rules.len();
        let short = if f.policy.is_none() && &*f.rule == "input" {
            "A tenant snapshot could not be read"
        } else {
            "A rule of the policies"
        };
        self.extra_rules.push(json!({
            "id": id,
            "name": f.rule.to_string(),
            "shortDescription": {"text": short},
            "fullDescription": {"text": "The file, line or document could not be read as a tenant: it is reported and the other tenants are checked."},
            "help": {"text": "Fix the snapshot so that it parses (the message says where), then run the check again."},
            "defaultConfiguration": {"level": "error"},
        }));
        self.index.insert(id, i);
        i
    }

    fn result(&mut self, f: &Finding) -> Value {
        let rule_index = self.rule_index(f);
        let mut location = Map::new();
        let mut related = None;
        if let Some(l) = &f.location {
            let (uri, base) = artifact_uri(&l.file, self.info.sarif_root.as_deref(), self.cwd.as_deref());
            let mut artifact = Map::new();
            artifact.insert("uri".into(), json!(uri));
            if base {
                artifact.insert("uriBaseId".into(), json!(ROOT_ID));
            }
            // The field that decided the finding, as a related location: the result
            // stays on its subject (where code scanning shows it).
            related = l.field.as_ref().map(|field| {
                json!([{
                    "id": 1,
                    "physicalLocation": {
                        "artifactLocation": artifact.clone(),
                        "region": {"startLine": field.line, "startColumn": field.column},
                    },
                    "message": {"text": format!("`{}`: the field that decided this finding", field.name)},
                }])
            });
            location.insert(
                "physicalLocation".into(),
                json!({
                    "artifactLocation": artifact,
                    "region": {"startLine": l.line, "startColumn": l.column},
                }),
            );
        }
        let subject = f.subject.id.as_deref().unwrap_or(&f.subject.path);
        let qualified =
            if f.subject.path.is_empty() { f.tenant.to_string() } else { format!("{}/{}", f.tenant, f.subject.path) };
        location.insert(
            "logicalLocations".into(),
            json!([{
                "name": if subject.is_empty() { &*f.tenant } else { subject },
                "fullyQualifiedName": qualified,
                "kind": if f.subject.path.is_empty() { "module" } else { "object" },
            }]),
        );
        let mut properties = Map::new();
        properties.insert("tenant".into(), json!(f.tenant));
        properties.insert("source".into(), json!(f.source));
        properties.insert("status".into(), json!(f.status.as_str()));
        properties.insert("severity".into(), json!(f.severity.as_str()));
        properties.insert("code".into(), json!(f.code));
        properties.insert("subject".into(), json!(f.subject));
        if let Some(r) = &f.reason {
            properties.insert("reason".into(), json!(r));
        }
        if let Some(e) = &f.evidence {
            properties.insert("evidence".into(), Value::Object(e.clone()));
        }
        let text = match (&f.status, &f.reason) {
            (Status::Error, Some(reason)) if f.policy.is_some() => {
                format!("{} (evaluation error: {reason})", f.message)
            }
            _ => f.message.clone(),
        };
        let mut result = json!({
            "ruleId": f.rule_id(),
            "ruleIndex": rule_index,
            "level": level(f),
            "message": {"text": format!("{}: {text}", subject_text(f))},
            "locations": [location],
            "partialFingerprints": {FINGERPRINT: f.fingerprint()},
            "properties": properties,
        });
        if let Some(obj) = result.as_object_mut() {
            if let Some(r) = related {
                obj.insert("relatedLocations".into(), r);
            }
            // A waived finding stays a result, suppressed with the waiver's reason.
            if let Some(w) = &f.triage.waiver {
                obj.insert("suppressions".into(), json!([{"kind": "external", "justification": w.reason}]));
            }
            match f.triage.baseline {
                Some(crate::finding::BaselineMark::New) => {
                    obj.insert("baselineState".into(), json!("new"));
                }
                Some(crate::finding::BaselineMark::Existing) => {
                    obj.insert("baselineState".into(), json!("unchanged"));
                }
                None => {}
            }
        }
        result
    }
}

/// The key of `partialFingerprints` (versioned, as SARIF recommends).
const FINGERPRINT: &str = "tenetFinding/v1";
/// The `uriBaseId` of artifact URIs relative to `--sarif-root`.
const ROOT_ID: &str = "SRCROOT";

/// SARIF's level for a finding: evaluation errors are errors whatever the severity.
fn level(f: &Finding) -> &'static str {
    match (f.status, f.severity) {
        (Status::Waived, _) => "note",
        (Status::Error, _) | (_, Severity::Error) => "error",
        (_, Severity::Warning) => "warning",
        (_, Severity::Info) => "note",
    }
}

fn default_level(s: Severity) -> &'static str {
    match s {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Info => "note",
    }
}

fn descriptor(r: &RuleInfo) -> Value {
    let short = r.title.as_deref().map_or_else(|| r.name.to_string(), str::to_string);
    let full = r.text.as_deref().map_or_else(|| short.clone(), str::to_string);
    let mut d = Map::new();
    d.insert("id".into(), json!(format!("{}/{}", r.policy, r.name)));
    d.insert("name".into(), json!(r.name));
    d.insert("shortDescription".into(), json!({"text": short}));
    d.insert("fullDescription".into(), json!({"text": full}));
    if let Some(rem) = &r.remediation {
        d.insert("help".into(), json!({"text": rem}));
    }
    if let Some(uri) = r.see.first() {
        d.insert("helpUri".into(), json!(uri));
    }
    d.insert("defaultConfiguration".into(), json!({"level": default_level(r.severity)}));
    d.insert(
        "properties".into(),
        json!({"policy": r.policy, "code": r.code, "severity": r.severity.as_str(), "file": r.file}),
    );
    Value::Object(d)
}

/// The artifact URI of a tenant file: relative to `root` when given (then `true`: it is
/// relative to the `SRCROOT` base), else relative to the working directory as given; a path
/// outside the root, or absolute without a root, is a `file://` URI. Characters that a URI
/// reference does not allow are percent-encoded; `\` separators become `/`.
pub fn artifact_uri(file: &str, root: Option<&Path>, cwd: Option<&Path>) -> (String, bool) {
    let path = Path::new(file);
    let absolute = |p: &Path| match cwd {
        Some(c) if p.is_relative() => normal(&c.join(p)),
        _ => normal(p),
    };
    if let Some(root) = root {
        let (p, r) = (absolute(path), absolute(root));
        if let Ok(rel) = p.strip_prefix(&r) {
            return (encode(&rel.to_string_lossy()), true);
        }
        return (format!("file://{}", encode(&p.to_string_lossy())), false);
    }
    if path.is_absolute() {
        return (format!("file://{}", encode(&normal(path).to_string_lossy())), false);
    }
    (encode(&normal(path).to_string_lossy()), false)
}

/// `a/./b/../c` → `a/c` (lexically; links are not followed).
fn normal(p: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir if out.file_name().is_some() => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}

fn encode(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for c in path.chars() {
        match c {
            '\\' => out.push('/'),
            'A'..='Z'
            | 'a'..='z'
            | '0'..='9'
            | '-'
            | '.'
            | '_'
            | '~'
            | '/'
            | '!'
            | '$'
            | '&'
            | '\''
            | '('
            | ')'
            | '*'
            | '+'
            | ','
            | ';'
            | '='
            | ':'
            | '@' => out.push(c),
            _ => {
                let mut buf = [0u8; 4];
                for b in c.encode_utf8(&mut buf).bytes() {
                    out.push_str(&format!("%{b:02X}"));
                }
            }
        }
    }
    out
}

impl Reporter for Sarif {
    fn tenant(&mut self, _out: &mut dyn Write, report: &TenantReport) -> io::Result<()> {
        self.input_errors |= report.input_error;
        for f in &report.findings {
            let r = self.result(f);
            self.results.push(r);
        }
        Ok(())
    }

    fn finish(&mut self, out: &mut dyn Write, summary: &Summary) -> io::Result<()> {
        let mut rules: Vec<Value> = self.info.rules.iter().map(descriptor).collect();
        rules.append(&mut self.extra_rules);
        let mut run = json!({
            "tool": {"driver": {
                "name": "tenet",
                "semanticVersion": env!("CARGO_PKG_VERSION"),
                "version": env!("CARGO_PKG_VERSION"),
                "rules": rules,
            }},
            "invocations": [{
                "executionSuccessful": !self.input_errors,
                "properties": {"now": self.info.now, "summary": summary},
            }],
            "columnKind": "unicodeCodePoints",
            "results": std::mem::take(&mut self.results),
        });
        if let (Some(root), Some(obj)) = (&self.info.sarif_root, run.as_object_mut()) {
            let abs = match &self.cwd {
                Some(c) if root.is_relative() => normal(&c.join(root)),
                _ => normal(root),
            };
            let mut uri = format!("file://{}", encode(&abs.to_string_lossy()));
            if !uri.ends_with('/') {
                uri.push('/');
            }
            obj.insert("originalUriBaseIds".into(), json!({ROOT_ID: {"uri": uri}}));
        }
        let doc = json!({
            "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
            "version": "2.1.0",
            "runs": [run],
        });
        serde_json::to_writer_pretty(&mut *out, &doc)?;
        out.write_all(b"\n")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uris_are_relative_and_encoded() {
        let cwd = Path::new("/work/repo");
        assert_eq!(artifact_uri("examples/a b.json", None, Some(cwd)), ("examples/a%20b.json".into(), false));
        assert_eq!(artifact_uri("./x/../y/#1%.json", None, Some(cwd)), ("y/%231%25.json".into(), false));
        assert_eq!(artifact_uri("/abs/t.json", None, Some(cwd)), ("file:///abs/t.json".into(), false));
        let root = Path::new("/work");
        assert_eq!(artifact_uri("examples/t.json", Some(root), Some(cwd)), ("repo/examples/t.json".into(), true));
        assert_eq!(
            artifact_uri("/elsewhere/t.json", Some(root), Some(cwd)),
            ("file:///elsewhere/t.json".into(), false)
        );
    }
}
