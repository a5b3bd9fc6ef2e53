//! `--format json` and `--format jsonl`.

use super::{Reporter, RunInfo};
use crate::finding::{Finding, Summary, TenantReport};
use serde::Serialize;
use std::io::{self, Write};

/// The whole report as one document. cli.md puts the summary before the findings, so the
/// findings cannot go out as they come; they are serialized as they come instead, already
/// indented for their place in the document, into a [`Spool`], and the document is put
/// together at the end. Memory stays bounded however many findings a bulk run has.
pub struct Json {
    info: RunInfo,
    spool: Spool,
    findings: usize,
    scratch: Vec<u8>,
}

impl Json {
    pub fn new(info: RunInfo) -> Self {
        Json::with_memory(info, SPOOL_MEMORY)
    }

    fn with_memory(info: RunInfo, memory: usize) -> Self {
        Json { info, spool: Spool { mem: Vec::new(), file: None, memory }, findings: 0, scratch: Vec::new() }
    }
}

/// Bytes of serialized findings held in memory before they go to a temporary file.
const SPOOL_MEMORY: usize = 8 << 20;

/// Serialized findings: in memory up to `memory` bytes, then in an anonymous temporary
/// file (removed by the OS when closed).
struct Spool {
    mem: Vec<u8>,
    file: Option<io::BufWriter<std::fs::File>>,
    memory: usize,
}

impl Spool {
    fn write(&mut self, bytes: &[u8]) -> io::Result<()> {
        if let Some(f) = &mut self.file {
            return f.write_all(bytes);
        }
        self.mem.extend_from_slice(bytes);
        if self.mem.len() > self.memory {
            let file = tempfile::tempfile().map_err(|e| {
                io::Error::new(
                    e.kind(),
                    format!("cannot create the report's temporary file ({e}); is TMPDIR writable?"),
                )
            })?;
            let mut f = io::BufWriter::with_capacity(1 << 20, file);
            f.write_all(&self.mem)?;
            self.mem = Vec::new();
            self.file = Some(f);
        }
        Ok(())
    }

    fn copy_to(&mut self, out: &mut dyn Write) -> io::Result<()> {
        use std::io::{Seek, SeekFrom};
        match self.file.take() {
            None => out.write_all(&self.mem),
            Some(f) => {
                let mut f = f.into_inner().map_err(io::IntoInnerError::into_error)?;
                f.seek(SeekFrom::Start(0))?;
                io::copy(&mut f, out).map(|_| ())
            }
        }
    }
}

/// The JSON report of `tenet check --format json` (its schema: `tenet schema report`).
#[derive(Serialize, schemars::JsonSchema)]
pub struct Document<'a> {
    /// The version of the report's format: 1.
    tenet: u32,
    /// The evaluation instant, RFC 3339 in UTC.
    now: &'a str,
    /// The policies that were run.
    policies: &'a [super::PolicyLine],
    /// Counts over the whole run.
    summary: &'a Summary,
    /// Every `fail` and `error`, in output order.
    findings: &'a [Finding],
}

/// Indentation of a finding inside the document's `findings` array.
const FINDING_INDENT: &[u8] = b"    ";

impl Reporter for Json {
    fn tenant(&mut self, _out: &mut dyn Write, report: &TenantReport) -> io::Result<()> {
        for f in &report.findings {
            self.scratch.clear();
            serde_json::to_writer_pretty(&mut self.scratch, f)?;
            self.spool.write(if self.findings == 0 { b"\n" } else { b",\n" })?;
            // JSON strings never hold a raw newline, so every `\n` is a line break.
            for (i, line) in self.scratch.split(|&b| b == b'\n').enumerate() {
                if i > 0 {
                    self.spool.write(b"\n")?;
                }
                self.spool.write(FINDING_INDENT)?;
                self.spool.write(line)?;
            }
            self.findings += 1;
        }
        Ok(())
    }

    fn finish(&mut self, out: &mut dyn Write, summary: &Summary) -> io::Result<()> {
        let doc = Document { tenet: 1, now: &self.info.now, policies: &self.info.policies, summary, findings: &[] };
        let head = serde_json::to_vec_pretty(&doc)?;
        // The document with no findings ends `"findings": []` and `}`: the findings go
        // between the brackets.
        match head.strip_suffix(b"[]\n}") {
            Some(start) if self.findings > 0 => {
                out.write_all(start)?;
                out.write_all(b"[")?;
                self.spool.copy_to(out)?;
                out.write_all(b"\n  ]\n}")?;
            }
            _ => out.write_all(&head)?,
        }
        out.write_all(b"\n")
    }
}

/// Streams: one finding per line, flushed per tenant.
pub struct Jsonl;

/// The last line of the JSONL report.
#[derive(Serialize, schemars::JsonSchema)]
pub struct SummaryLine<'a> {
    /// Counts over the whole run.
    summary: &'a Summary,
}

impl Reporter for Jsonl {
    fn tenant(&mut self, out: &mut dyn Write, report: &TenantReport) -> io::Result<()> {
        for f in &report.findings {
            serde_json::to_writer(&mut *out, f)?;
            out.write_all(b"\n")?;
        }
        if !report.findings.is_empty() {
            out.flush()?;
        }
        Ok(())
    }

    fn finish(&mut self, out: &mut dyn Write, summary: &Summary) -> io::Result<()> {
        serde_json::to_writer(&mut *out, &SummaryLine { summary })?;
        out.write_all(b"\n")?;
        out.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::finding::{Severity, Status, Subject};
    use std::sync::Arc;

    fn finding(i: usize) -> Finding {
        let mut evidence = serde_json::Map::new();
        evidence.insert("count(user.sessions)".into(), serde_json::json!(i));
        evidence.insert("nested".into(), serde_json::json!({"a": [1, {"b": "x\ny"}], "empty": [], "o": {}}));
        Finding {
            tenant: Arc::from("t-1"),
            source: Arc::from("t.json"),
            policy: Some(Arc::from("p")),
            rule: Arc::from("r"),
            code: Arc::from("R"),
            severity: Severity::Warning,
            status: if i % 2 == 0 { Status::Fail } else { Status::Error },
            subject: Subject {
                kind: Arc::from("user"),
                id: Some(Arc::from(format!("u{i}").as_str())),
                path: format!("users[{i}]"),
            },
            message: format!("line\nbreak {i}"),
            remediation: (i % 3 == 0).then(|| Arc::from("fix it")),
            see: if i % 4 == 0 { Arc::from([Arc::from("https://example.com/doc")]) } else { Arc::from([]) },
            reason: (i % 2 == 1).then(|| "why".to_string()),
            evidence: (i % 2 == 0).then_some(evidence),
            location: (i % 2 == 0).then(|| crate::finding::Location {
                file: Arc::from("t.json"),
                line: 3,
                column: 5,
                field: (i % 4 == 0).then(|| crate::finding::FieldLocation {
                    name: "enabled".into(),
                    line: 4,
                    column: 7,
                }),
            }),
            triage: Default::default(),
            decided_by: None,
        }
    }

    /// The whole document serialized at once: what the spooled output must equal.
    fn expected(info: &RunInfo, summary: &Summary, findings: &[Finding]) -> Vec<u8> {
        let doc = Document { tenet: 1, now: &info.now, policies: &info.policies, summary, findings };
        let mut out = serde_json::to_vec_pretty(&doc).unwrap();
        out.push(b'\n');
        out
    }

    #[test]
    fn the_spooled_document_is_the_document_serialized_at_once() {
        let info = RunInfo {
            rules: Vec::new(),
            sarif_root: None,
            now: "2026-11-22T00:00:00Z".into(),
            policies: vec![super::super::PolicyLine { name: Arc::from("p"), file: Arc::from("p.tenet"), rules: 2 }],
        };
        let summary = Summary::new();
        for (n, memory) in [(0, SPOOL_MEMORY), (1, SPOOL_MEMORY), (7, SPOOL_MEMORY), (7, 10), (40, 1000)] {
            let findings: Vec<Finding> = (0..n).map(finding).collect();
            let mut r = Json::with_memory(info.clone(), memory);
            let mut out = Vec::new();
            for chunk in findings.chunks(3) {
                let report = TenantReport {
                    findings: chunk.to_vec(),
                    summary: Summary::new(),
                    input_error: false,
                    tenant: Arc::from("t"),
                };
                r.tenant(&mut out, &report).unwrap();
            }
            assert!(out.is_empty(), "nothing is written before the end");
            assert_eq!(r.spool.file.is_some(), n > 0 && memory < SPOOL_MEMORY, "spilled to a file");
            r.finish(&mut out, &summary).unwrap();
            assert_eq!(
                String::from_utf8(out).unwrap(),
                String::from_utf8(expected(&info, &summary, &findings)).unwrap()
            );
        }
    }
}
