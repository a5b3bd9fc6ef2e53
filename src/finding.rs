//! Findings: the results of evaluation, and the only input of `report`.

use serde::Serialize;
use std::sync::Arc;

/// A rule's severity (`@severity`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Info,
    Warning,
    Error,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Error => "error",
        }
    }

    pub fn parse(s: &str) -> Option<Severity> {
        Some(match s {
            "info" => Severity::Info,
            "warning" => Severity::Warning,
            "error" => Severity::Error,
            _ => return None,
        })
    }
}

/// The status of one (rule, subject) evaluation (language.md §5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Pass,
    Fail,
    Error,
    Skip,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pass => "pass",
            Status::Fail => "fail",
            Status::Error => "error",
            Status::Skip => "skip",
        }
    }
}

/// What a finding is about.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Subject {
    pub kind: Arc<str>,
    pub id: Option<Arc<str>>,
    pub path: String,
}

/// One `fail` or `error` (cli.md "JSON report"); field order is the report's.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Finding {
    pub tenant: Arc<str>,
    pub source: Arc<str>,
    pub policy: Option<Arc<str>>,
    pub rule: Arc<str>,
    pub code: Arc<str>,
    pub severity: Severity,
    pub status: Status,
    pub subject: Subject,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub remediation: Option<Arc<str>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// For `fail` findings: the values that decided the assertion, keyed by the source
    /// text of each sub-expression (`{"count(user.sessions)": 5, "max_sessions": 3}`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub evidence: Option<serde_json::Map<String, serde_json::Value>>,
    /// Where the subject is written (set by `engine` for findings of documents read from
    /// files or standard input; `None` for tenants given as values).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub location: Option<Location>,
}

/// A place in a tenant file: the subject entity's first character (1-based line and
/// column, the column counted in characters), or the tenant document's start.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Location {
    pub file: Arc<str>,
    pub line: u64,
    pub column: u64,
}

/// Counts over a whole run.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Summary {
    pub tenants: u64,
    pub evaluations: u64,
    pub pass: u64,
    pub fail: u64,
    pub error: u64,
    pub skip: u64,
    pub fail_by_severity: BySeverity,
}

/// `fail` findings per severity.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct BySeverity {
    pub error: u64,
    pub warning: u64,
    pub info: u64,
}

impl BySeverity {
    pub fn get(&self, s: Severity) -> u64 {
        match s {
            Severity::Error => self.error,
            Severity::Warning => self.warning,
            Severity::Info => self.info,
        }
    }
}

impl Summary {
    pub fn new() -> Summary {
        Summary::default()
    }

    pub fn add(&mut self, other: &Summary) {
        self.tenants += other.tenants;
        self.evaluations += other.evaluations;
        self.pass += other.pass;
        self.fail += other.fail;
        self.error += other.error;
        self.skip += other.skip;
        self.fail_by_severity.error += other.fail_by_severity.error;
        self.fail_by_severity.warning += other.fail_by_severity.warning;
        self.fail_by_severity.info += other.fail_by_severity.info;
    }

    pub fn count(&mut self, status: Status, severity: Severity) {
        self.evaluations += 1;
        match status {
            Status::Pass => self.pass += 1,
            Status::Fail => {
                self.fail += 1;
                match severity {
                    Severity::Error => self.fail_by_severity.error += 1,
                    Severity::Warning => self.fail_by_severity.warning += 1,
                    Severity::Info => self.fail_by_severity.info += 1,
                }
            }
            Status::Error => self.error += 1,
            Status::Skip => self.skip += 1,
        }
    }
}

/// Everything one tenant produced, in order.
#[derive(Debug, Clone)]
pub struct TenantReport {
    pub findings: Vec<Finding>,
    pub summary: Summary,
    /// The tenant could not be read (an `input` finding).
    pub input_error: bool,
    /// The tenant's name in findings: its `id`, else its document's label.
    pub tenant: Arc<str>,
}

impl Finding {
    /// `POLICY/RULE`, or the rule alone for findings of no policy (`input`).
    pub fn rule_id(&self) -> String {
        match &self.policy {
            Some(p) => format!("{p}/{}", self.rule),
            None => self.rule.to_string(),
        }
    }

    /// A stable identity of the finding across runs: policy, rule, tenant and subject (its
    /// id, or its path when it has none), never the message or evidence, hashed (64-bit
    /// FNV-1a, hex). Reports use it to match a finding with the same one of an earlier run.
    pub fn fingerprint(&self) -> String {
        let subject = self.subject.id.as_deref().unwrap_or(&self.subject.path);
        let parts = [self.policy.as_deref().unwrap_or(""), &self.rule, &self.tenant, &self.subject.kind, subject];
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        for part in parts {
            // Lengths first, so that no two different tuples give the same bytes.
            for b in (part.len() as u64).to_le_bytes().iter().chain(part.as_bytes()) {
                h ^= u64::from(*b);
                h = h.wrapping_mul(0x0000_0100_0000_01b3);
            }
        }
        format!("{h:016x}")
    }
}
