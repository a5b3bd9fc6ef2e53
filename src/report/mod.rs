//! STAGE 5: findings → bytes. One file per format; each sees only `finding::*`.
//!
//! A [`Reporter`] receives tenant reports in input order and writes them. `jsonl` streams
//! (each finding is written as soon as its tenant is done); `json` and `human` buffer the
//! findings, since their summary comes first or groups them.

mod github;
mod gitlab;
mod human;
mod json;
/// The JSON report's document and JSONL summary line (their schemas: `crate::schema`).
pub use json::{Document, SummaryLine};
mod junit;
mod markdown;
mod sarif;

use crate::finding::{Summary, TenantReport};
use serde::Serialize;
use std::io::{self, Write};
use std::sync::Arc;

pub use human::{terminal_safe, Human};
pub use json::{Json, Jsonl};
pub use markdown::markdown_safe;
pub use sarif::artifact_uri;

/// The report formats of `tenet check --format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Grouped, colored text for people.
    Human,
    /// One JSON document: run header, summary, then every finding (cli.md "JSON report").
    Json,
    /// One finding per line as produced, then a last `{"summary": …}` line.
    Jsonl,
    /// SARIF 2.1.0, for GitHub code scanning and other static-analysis viewers.
    Sarif,
    /// GitHub Actions workflow commands: one annotation per finding.
    Github,
    /// JUnit XML: a test suite per policy, a test case per rule and tenant.
    Junit,
    /// GitLab Code Quality JSON.
    Gitlab,
    /// A Markdown summary for a pull-request comment or a job summary.
    Markdown,
}

impl Format {
    /// The name used on the command line (`--format`, `--output FORMAT=PATH`).
    pub fn parse(name: &str) -> Option<Format> {
        <Format as clap::ValueEnum>::from_str(name, true).ok()
    }
}

/// What reports say about a rule besides its findings (SARIF rule descriptors, JUnit test
/// cases), in program order.
#[derive(Debug, Clone)]
pub struct RuleInfo {
    pub policy: Arc<str>,
    pub name: Arc<str>,
    pub code: Arc<str>,
    pub severity: crate::finding::Severity,
    /// `@title`.
    pub title: Option<Arc<str>>,
    /// The rule as written: `rule NAME [when GUARD]: ASSERTION`.
    pub text: Option<Arc<str>>,
    pub remediation: Option<Arc<str>>,
    /// Links to the sources a rule rests on (`@see`, first one used as SARIF `helpUri`).
    pub see: Vec<Arc<str>>,
    /// The policy file.
    pub file: Arc<str>,
}

/// What the report says about the run besides findings.
#[derive(Debug, Clone, Serialize)]
pub struct RunInfo {
    pub now: String,
    pub policies: Vec<PolicyLine>,
    /// Every rule evaluated, in program order.
    #[serde(skip)]
    pub rules: Vec<RuleInfo>,
    /// SARIF artifact URIs are relative to this directory (`--sarif-root`) rather than to
    /// the working directory.
    #[serde(skip)]
    pub sarif_root: Option<std::path::PathBuf>,
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

/// `1 rule`, `3 rules`.
pub fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// A reporter for a format.
pub fn reporter(format: Format, info: RunInfo, color: bool) -> Box<dyn Reporter> {
    match format {
        Format::Human => Box::new(Human::new(info, color)),
        Format::Json => Box::new(Json::new(info)),
        Format::Jsonl => Box::new(Jsonl),
        Format::Sarif => Box::new(sarif::Sarif::new(info)),
        Format::Github => Box::new(github::Github),
        Format::Junit => Box::new(junit::Junit::new(info)),
        Format::Gitlab => Box::new(gitlab::Gitlab::new(info)),
        Format::Markdown => Box::new(markdown::Markdown::new(info)),
    }
}

/// How a finding reads as one line of prose: `user u-002 (users[1]) of tenant t-1`.
pub(crate) fn subject_text(f: &crate::finding::Finding) -> String {
    match (&f.subject.id, f.subject.path.as_str()) {
        (_, "") => format!("tenant {}", f.tenant),
        (Some(id), path) => format!("{} {id} ({path}) of tenant {}", f.subject.kind, f.tenant),
        (None, path) => format!("{} {path} of tenant {}", f.subject.kind, f.tenant),
    }
}

/// `file:line:column` of a finding (the field that decided it when known, else its
/// subject: [`Location::point`](crate::finding::Location::point)), or its source file when
/// it has no location.
pub(crate) fn place(f: &crate::finding::Finding) -> String {
    match &f.location {
        Some(l) => format!("{}:{}:{}", l.file, l.point().0, l.point().1),
        None => f.source.to_string(),
    }
}
