//! The formats of the YAML files people write, as types for their JSON Schemas.
//!
//! The doc comments are the descriptions editors show. The field order is the order in
//! which diagnostics list the valid keys.

use crate::finding::{Finding, Severity};
use crate::report::SummaryLine;
use schemars::JsonSchema;
use std::collections::BTreeMap;

/// A tenet policy in the YAML form: the same policy as a `.tenet` file, with expressions
/// written as strings.
#[derive(JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PolicyFile {
    /// The policy's name, unique within a run (`erpnext-sessions`).
    pub policy: String,
    /// A human title for the policy.
    pub title: Option<String>,
    /// Tags for the policy.
    pub tags: Option<Vec<String>>,
    /// Where the policy's rules come from: a URL or a list of URLs (inherited by rules
    /// without their own `see`).
    pub see: Option<Sources>,
    /// Parameters: NAME: VALUE. A value can be overridden with `--set NAME=VALUE`.
    pub params: Option<BTreeMap<String, ParamValue>>,
    /// Derived fields: KIND.NAME: EXPRESSION, usable like stored fields in every rule.
    #[serde(rename = "let")]
    pub lets: Option<BTreeMap<String, Expression>>,
    /// The rules, in output order.
    pub rules: Vec<RuleEntry>,
}

/// One rule of a YAML policy.
#[derive(JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RuleEntry {
    /// The rule's name: an identifier, unique in the policy.
    pub id: String,
    /// The severity of the rule's failures (default `error`).
    pub severity: Option<Severity>,
    /// The code reported with each finding (default: the rule's name).
    pub code: Option<String>,
    /// The message of each finding; `{EXPRESSION}` interpolates a value, `{{` and `}}` are
    /// literal braces (default: the assertion's text).
    pub message: Option<String>,
    /// How to fix a failure.
    pub remediation: Option<String>,
    /// The guard: when it is false the rule is skipped for the subject.
    pub when: Option<Expression>,
    /// The assertion: what must be true for every subject.
    pub assert: Expression,
    /// A human title for the rule.
    pub title: Option<String>,
    /// Tags for the rule.
    pub tags: Option<Vec<String>>,
    /// Where the rule comes from: the vendor document or source file it implements (a URL
    /// or a list of URLs).
    pub see: Option<Sources>,
}

/// One source URL or a list of them.
#[derive(JsonSchema)]
#[serde(untagged)]
pub enum Sources {
    One(String),
    Many(Vec<String>),
}

/// An expression of the tenet language (`count(user.sessions) <= max_sessions`).
#[derive(JsonSchema)]
#[serde(untagged)]
pub enum Expression {
    Text(String),
    Bool(bool),
}

/// A parameter value: a number, a boolean, a string (a string that reads as a duration
/// or a date is one: `30d`, `2026-01-01`), or a list of those.
#[derive(JsonSchema)]
#[serde(untagged)]
pub enum ParamValue {
    Int(i64),
    Decimal(f64),
    Bool(bool),
    Text(String),
    List(Vec<ParamScalar>),
}

/// One element of a list parameter.
#[derive(JsonSchema)]
#[serde(untagged)]
pub enum ParamScalar {
    Int(i64),
    Decimal(f64),
    Bool(bool),
    Text(String),
}

/// A policy test file (`*.test.yaml`): cases that run policies on small tenants and say
/// which findings they must give.
#[derive(JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TestFile {
    /// The policy file or directory under test, or a list of them, relative to this file.
    pub policy: PolicyPaths,
    /// The evaluation instant for every case, RFC 3339 (`2026-11-22T00:00:00Z`).
    pub now: Option<String>,
    /// Parameter overrides for every case: NAME or POLICY.NAME: VALUE.
    pub set: Option<BTreeMap<String, ParamValue>>,
    /// A model file to check the policies against, relative to this file (default: the
    /// built-in `erp` model).
    pub model: Option<String>,
    /// The test cases, run in order.
    pub cases: Vec<Case>,
}

/// One path or a list of paths.
#[derive(JsonSchema)]
#[serde(untagged)]
pub enum PolicyPaths {
    One(String),
    Many(Vec<String>),
}

/// One test case: a tenant and what evaluating the policies over it must give.
#[derive(JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Case {
    /// The case's name, unique in the file.
    pub name: String,
    /// An inline tenant snapshot.
    pub tenant: Option<BTreeMap<String, serde_json::Value>>,
    /// A tenant snapshot file (`.json`, `.yaml`), relative to this file.
    pub tenant_file: Option<String>,
    /// The findings the case must give, exactly, or `pass` for none.
    pub expect: Option<Expect>,
    /// Compare the findings with the stored snapshot in `__snapshots__/`.
    pub snapshot: Option<bool>,
    /// The evaluation instant for this case (overrides the file's).
    pub now: Option<String>,
    /// Parameter overrides for this case, merged over the file's.
    pub set: Option<BTreeMap<String, ParamValue>>,
    /// A tenant imported from a vendor export (like `tenet check --from`), instead of
    /// `tenant` or `tenant_file`.
    pub from: Option<From>,
}

/// A vendor export to import as the case's tenant.
#[derive(JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct From {
    /// The exporting system: `frappe` or `netsuite`.
    pub source: String,
    /// The export directory, relative to the test file.
    pub path: String,
    /// A partial snapshot merged over the imported tenant, relative to the test file.
    pub overlay: Option<String>,
    /// An adapter file instead of the built-in one, relative to the test file.
    pub adapter: Option<String>,
}

/// `pass` (no findings) or the list of findings, each matched on the keys it gives.
#[derive(JsonSchema)]
#[serde(untagged)]
pub enum Expect {
    Pass(PassWord),
    List(Vec<Expectation>),
}

/// No findings at all.
#[derive(JsonSchema)]
pub enum PassWord {
    #[serde(rename = "pass")]
    Pass,
}

/// One expected finding: every key given must match the finding.
#[derive(JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(extend("minProperties" = 1))]
pub struct Expectation {
    /// The rule's name, or POLICY.RULE.
    pub rule: Option<String>,
    /// The policy's name.
    pub policy: Option<String>,
    /// The subject's key (`u-002`) or path (`users[1]`).
    pub subject: Option<String>,
    /// `fail` or `error`.
    pub status: Option<ExpectedStatus>,
    /// The finding's severity.
    pub severity: Option<Severity>,
    /// The finding's code.
    pub code: Option<String>,
    /// The whole rendered message.
    pub message: Option<String>,
}

/// The status of a finding.
#[derive(JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum ExpectedStatus {
    Fail,
    Error,
}

/// A model file: the entity kinds of a tenant snapshot, where their collections are, and
/// their fields with types and defaults.
#[derive(JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ModelFile {
    /// The model's name.
    pub model: Option<String>,
    /// The entity kinds: exactly one without `parent` (the tenant, the root).
    pub kinds: BTreeMap<String, KindSpec>,
}

/// One entity kind.
#[derive(JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct KindSpec {
    /// The kind whose objects hold this kind's collection (none for the root).
    pub parent: Option<String>,
    /// The field of the parent that holds the list of these entities (`list<KIND>`).
    pub collection: Option<String>,
    /// The field that identifies an entity (used by references and in reports).
    pub key: Option<String>,
    /// The fields: FIELD: TYPE or FIELD: {type: TYPE, default: VALUE}. A dotted name
    /// (`plan.seats`) is a field inside a nested object.
    pub fields: Option<BTreeMap<String, FieldSpec>>,
}

/// A field's type, alone or with a default.
#[derive(JsonSchema)]
#[serde(untagged)]
pub enum FieldSpec {
    Type(TypeName),
    Full(FieldFull),
}

/// A field with its type and its default.
#[derive(JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FieldFull {
    /// The field's type.
    #[serde(rename = "type")]
    pub ty: TypeName,
    /// The value an absent (or null) field reads as.
    pub default: Option<serde_json::Value>,
}

/// A type: `string`, `int`, `decimal`, `bool`, `date`, `duration`, `any`, `list<T>`,
/// `ref<KIND>`, `enum(a|b|c)`, or `list<KIND>` for a collection of child entities.
#[derive(JsonSchema)]
#[schemars(transparent)]
pub struct TypeName(
    #[schemars(regex(pattern = r"^\s*(string|int|decimal|bool|date|duration|any|list<.+>|ref<.+>|enum\(.+\))\s*$"))]
    pub String,
);

/// One line of the JSONL report: a finding, or the summary on the last line.
#[derive(JsonSchema)]
#[serde(untagged)]
pub enum ReportLine {
    Finding(Box<Finding>),
    Summary(SummaryLine<'static>),
}

/// A waiver file (`--waivers FILE`): findings accepted as known risks, each with a reason
/// and, usually, an expiry date.
#[derive(JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct WaiverFile {
    /// The waivers, matched in order (the first unexpired match wins).
    pub waivers: Vec<WaiverEntry>,
}

/// One waiver.
#[derive(JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct WaiverEntry {
    /// The rule: `POLICY/RULE`, `POLICY.RULE`, or a code (every rule with that code).
    pub rule: String,
    /// A tenant id, or a glob of tenant ids (`t-*`); default every tenant.
    pub tenant: Option<String>,
    /// A subject id or path (`u-1`, `users[3]`); default every subject.
    pub subject: Option<String>,
    /// Why the finding is accepted.
    pub reason: String,
    /// Who accepted it.
    pub owner: Option<String>,
    /// A ticket that tracks it.
    pub ticket: Option<WaiverTicket>,
    /// The last day (UTC) the waiver applies, or an RFC 3339 date-time.
    pub expires: Option<String>,
}

/// A ticket: text or a number.
#[derive(JsonSchema)]
#[serde(untagged)]
pub enum WaiverTicket {
    Text(String),
    Number(i64),
}
