//! Findings: the results of evaluation, and the only input of `report`.

use serde::Serialize;
use std::sync::Arc;

/// A rule's severity (`@severity`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
#[derive(schemars::JsonSchema)]
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
#[derive(schemars::JsonSchema)]
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
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct Subject {
    /// The subject's kind (`tenant` for tenant-level rules).
    pub kind: Arc<str>,
    /// The entity's key (the tenant's id for a tenant-level rule), or null without one.
    pub id: Option<Arc<str>>,
    /// The entity's place in the snapshot (`users[3].sessions[1]`; `""` for the tenant).
    pub path: String,
}

/// One `fail` or `error` (cli.md "JSON report"); field order is the report's.
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct Finding {
    /// The tenant's id, else its source (plus `#N` for a JSONL line or YAML document).
    pub tenant: Arc<str>,
    /// The file (or `-`) the tenant was read from.
    pub source: Arc<str>,
    /// The policy's name; null for an unreadable tenant (rule `input`).
    pub policy: Option<Arc<str>>,
    /// The rule's name, or `input` for a tenant that could not be read.
    pub rule: Arc<str>,
    /// The rule's `@code` (default: the rule's name).
    pub code: Arc<str>,
    /// The rule's severity.
    pub severity: Severity,
    /// `fail` or `error`.
    pub status: Status,
    /// What the finding is about.
    pub subject: Subject,
    /// The rule's message, rendered for this subject.
    pub message: String,
    /// The rule's `@remediation`, when it has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub remediation: Option<Arc<str>>,
    /// Why the evaluation is an `error`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// For `fail` findings: the values that decided the assertion, keyed by the source
    /// text of each sub-expression (`{"count(user.sessions)": 5, "max_sessions": 3}`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub evidence: Option<serde_json::Map<String, serde_json::Value>>,
}

/// Counts over a whole run.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, schemars::JsonSchema)]
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
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, schemars::JsonSchema)]
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
}
