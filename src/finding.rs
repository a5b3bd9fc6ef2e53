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
    /// A `fail` or `error` that a waiver accepts (`--waivers`, `triage::waivers`); only
    /// triage sets it, evaluation never does.
    Waived,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pass => "pass",
            Status::Fail => "fail",
            Status::Error => "error",
            Status::Skip => "skip",
            Status::Waived => "waived",
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
    /// The rule's `@see` sources (URLs of the vendor documents it implements); left out of
    /// the report when the rule has none.
    #[serde(skip_serializing_if = "no_sources")]
    pub see: Arc<[Arc<str>]>,
    /// Why the evaluation is an `error`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// For `fail` findings: the values that decided the assertion, keyed by the source
    /// text of each sub-expression (`{"count(user.sessions)": 5, "max_sessions": 3}`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub evidence: Option<serde_json::Map<String, serde_json::Value>>,
    /// What triage (waivers, baseline) added; empty unless `--waivers`/`--baseline`.
    #[serde(flatten)]
    pub triage: Triaged,
    /// Where the subject is written (set by `engine` for findings of documents read from
    /// files or standard input; `None` for tenants given as values).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub location: Option<Location>,
    /// The one field of the subject that decided a `fail` (set by evaluation,
    /// `eval::explain`); `engine` locates it into `location.field`. Not part of the report.
    #[serde(skip)]
    pub decided_by: Option<DecidedBy>,
}

/// The field of a finding's subject that decided it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DecidedBy {
    /// A field of the model: its kind and slot (its name, dotted for a nested object, is
    /// the model's).
    Field(crate::model::KindId, crate::model::FieldId),
    /// A key the model does not declare (`user["x"]["y"]`): the members it is written under.
    Raw(Vec<String>),
}

impl DecidedBy {
    /// The object members the field is written under (`["enabled"]`,
    /// `["settings", "multiple_sessions"]`).
    pub fn members<'m>(&'m self, model: &'m crate::model::Model) -> Vec<&'m str> {
        match self {
            DecidedBy::Field(k, f) => model.field(*k, *f).name.split('.').collect(),
            DecidedBy::Raw(path) => path.iter().map(String::as_str).collect(),
        }
    }
}

/// A place in a tenant file: the subject entity's first character (1-based line and
/// column, the column counted in characters), or the tenant document's start.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct Location {
    pub file: Arc<str>,
    pub line: u64,
    pub column: u64,
    /// Where the field of the subject that decided a `fail` is written, when one field
    /// did and the file has it (see docs/REPORTS.md, "Locations").
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<FieldLocation>,
}

impl Location {
    /// The place of a subject, without a deciding field.
    pub fn new(file: Arc<str>, line: u64, column: u64) -> Location {
        Location { file, line, column, field: None }
    }

    /// The line and column to show a reader, "the line to fix": the deciding field's when
    /// there is one, else the subject's.
    pub fn point(&self) -> (u64, u64) {
        self.field.as_ref().map_or((self.line, self.column), |f| (f.line, f.column))
    }
}

/// Where a field is written: its member's key (1-based line and column, in characters).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct FieldLocation {
    /// The field's name as policies write it (`enabled`, `settings.multiple_sessions`).
    pub name: String,
    pub line: u64,
    pub column: u64,
}

/// The fields triage adds to a finding (`src/triage/`). All absent from the report
/// when no waiver or baseline was given.
#[derive(Debug, Clone, Default, PartialEq, Serialize, schemars::JsonSchema)]
pub struct Triaged {
    /// The waiver that accepts this finding (its `status` is then `waived`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub waiver: Option<Arc<WaiverRef>>,
    /// A waiver that matched but had expired: it no longer applies.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub waiver_expired: Option<Arc<WaiverRef>>,
    /// Against `--baseline`: whether the finding was already there.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub baseline: Option<BaselineMark>,
}

/// A waiver as a finding quotes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct WaiverRef {
    /// The status the finding had before it was waived (`fail` or `error`); for an expired
    /// waiver, absent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<Status>,
    pub reason: Arc<str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub owner: Option<Arc<str>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ticket: Option<Arc<str>>,
    /// As written in the waiver file (a date or an RFC 3339 date-time).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires: Option<Arc<str>>,
    /// The waiver file, as given on the command line.
    pub file: Arc<str>,
    /// The 1-based line of the waiver's entry in it.
    pub line: usize,
}

/// Whether a finding was in the baseline report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum BaselineMark {
    New,
    Existing,
}

/// The identity of a finding across runs: policy, rule, tenant id and subject (its id, or
/// its path when it has none), and nothing else (not the message, evidence or severity),
/// so that rewording a rule or new data in the evidence does not make a finding new.
/// Baselines match on it; report formats that need a stable fingerprint (SARIF
/// `partialFingerprints`, GitLab `fingerprint`) use [`Finding::fingerprint`].
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FindingKey {
    pub policy: Arc<str>,
    pub rule: Arc<str>,
    pub tenant: Arc<str>,
    pub subject: Arc<str>,
}

impl FindingKey {
    pub fn new(policy: &str, rule: &str, tenant: &str, subject_id: Option<&str>, subject_path: &str) -> FindingKey {
        FindingKey {
            policy: Arc::from(policy),
            rule: Arc::from(rule),
            tenant: Arc::from(tenant),
            subject: Arc::from(subject_id.unwrap_or(subject_path)),
        }
    }

    /// The key as 64 hex digits (SHA-256 of the length-prefixed parts): the same for the
    /// same finding on every machine and in every version of tenet that keeps this format.
    pub fn hex(&self) -> String {
        use sha2::{Digest, Sha256};
        let mut h = Sha256::new();
        h.update(b"tenet-finding-v1");
        for part in [&self.policy, &self.rule, &self.tenant, &self.subject] {
            h.update((part.len() as u64).to_le_bytes());
            h.update(part.as_bytes());
        }
        h.finalize().iter().map(|b| format!("{b:02x}")).collect()
    }
}

impl Finding {
    /// `POLICY/RULE`, or the rule alone for findings of no policy (`input`).
    pub fn rule_id(&self) -> String {
        match &self.policy {
            Some(p) => format!("{p}/{}", self.rule),
            None => self.rule.to_string(),
        }
    }

    /// This finding's identity across runs ([`FindingKey`]); an `input` finding (no
    /// policy) has the empty policy.
    pub fn key(&self) -> FindingKey {
        FindingKey::new(
            self.policy.as_deref().unwrap_or(""),
            &self.rule,
            &self.tenant,
            self.subject.id.as_deref(),
            &self.subject.path,
        )
    }

    /// The stable fingerprint of [`FindingKey::hex`].
    pub fn fingerprint(&self) -> String {
        self.key().hex()
    }
}

fn no_sources(see: &Arc<[Arc<str>]>) -> bool {
    see.is_empty()
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
    /// With `--waivers`: fails and errors a waiver accepts (no longer counted in
    /// `fail`, `fail_by_severity` or `error`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub waived: Option<u64>,
    /// With `--baseline`: findings not in it, findings in it, and findings of it now gone.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub new: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub existing: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fixed: Option<u64>,
    /// With `--waivers`: waivers that matched no finding of the run.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    #[schemars(default)]
    pub stale_waivers: Vec<StaleWaiver>,
}

/// A waiver that matched nothing: where it is and what it names.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct StaleWaiver {
    pub file: Arc<str>,
    pub line: usize,
    pub rule: Arc<str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tenant: Option<Arc<str>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subject: Option<Arc<str>>,
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
            Status::Waived => self.waived = Some(self.waived.unwrap_or(0) + 1),
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
