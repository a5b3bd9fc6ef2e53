//! `--format json` and `--format jsonl`.

use super::{Reporter, RunInfo};
use crate::finding::{Finding, Summary, TenantReport};
use serde::Serialize;
use std::io::{self, Write};

pub struct Json {
    info: RunInfo,
    findings: Vec<Finding>,
}

impl Json {
    pub fn new(info: RunInfo) -> Self {
        Json { info, findings: Vec::new() }
    }
}

#[derive(Serialize)]
struct Document<'a> {
    tenet: u32,
    now: &'a str,
    policies: &'a [super::PolicyLine],
    summary: &'a Summary,
    findings: &'a [Finding],
}

impl Reporter for Json {
    fn tenant(&mut self, _out: &mut dyn Write, report: &TenantReport) -> io::Result<()> {
        self.findings.extend(report.findings.iter().cloned());
        Ok(())
    }

    fn finish(&mut self, out: &mut dyn Write, summary: &Summary) -> io::Result<()> {
        let doc = Document {
            tenet: 1,
            now: &self.info.now,
            policies: &self.info.policies,
            summary,
            findings: &self.findings,
        };
        serde_json::to_writer_pretty(&mut *out, &doc)?;
        out.write_all(b"\n")
    }
}

/// Streams: one finding per line, flushed per tenant.
pub struct Jsonl;

#[derive(Serialize)]
struct SummaryLine<'a> {
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
