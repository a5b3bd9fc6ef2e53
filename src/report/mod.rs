//! STAGE 5: findings → bytes. One file per format; each sees only `finding::*`.
//!
//! A [`Reporter`] receives tenant reports in input order and writes them. `jsonl` streams
//! (each finding is written as soon as its tenant is done); `json` and `human` buffer the
//! findings, since their summary comes first or groups them.

mod human;
mod json;
/// The JSON report's document and JSONL summary line (their schemas: `crate::schema`).
pub use json::{Document, SummaryLine};

use crate::finding::{Summary, TenantReport};
use serde::Serialize;
use std::io::{self, Write};
use std::sync::Arc;

pub use human::{terminal_safe, Human};
pub use json::{Json, Jsonl};

/// The report formats of `tenet check --format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Grouped, colored text for people.
    Human,
    /// One JSON document: run header, summary, then every finding (cli.md "JSON report").
    Json,
    /// One finding per line as produced, then a last `{"summary": …}` line.
    Jsonl,
}

/// What the report says about the run besides findings.
#[derive(Debug, Clone, Serialize)]
pub struct RunInfo {
    pub now: String,
    pub policies: Vec<PolicyLine>,
}

/// A policy that was run.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct PolicyLine {
    pub name: Arc<str>,
    pub file: Arc<str>,
    pub rules: usize,
}

pub trait Reporter: Send {
    fn tenant(&mut self, out: &mut dyn Write, report: &TenantReport) -> io::Result<()>;
    fn finish(&mut self, out: &mut dyn Write, summary: &Summary) -> io::Result<()>;
}

/// A reporter for a format.
pub fn reporter(format: Format, info: RunInfo, color: bool) -> Box<dyn Reporter> {
    match format {
        Format::Human => Box::new(Human::new(info, color)),
        Format::Json => Box::new(Json::new(info)),
        Format::Jsonl => Box::new(Jsonl),
    }
}
