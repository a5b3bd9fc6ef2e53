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

/// An import adapter file (`tenet import --adapter FILE`): which table and column of a
/// vendor export fills which field of the model, through a fixed set of converters. The
/// built-in adapters (`src/import/adapters/*.yaml`) are complete examples.
#[derive(JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AdapterFile {
    /// The adapter's name (default `custom`).
    pub adapter: Option<String>,
    /// How the export's files are read: `frappe` (Frappe REST responses, `bench
    /// export-json` files, CSV rows) or `suiteql` (NetSuite SuiteQL response pages).
    pub reader: AdapterReader,
    /// The tables: NAME: the files or documents its rows come from.
    pub tables: BTreeMap<String, AdapterTable>,
    /// The time zone of the export's local date-times (an IANA name), as a field mapping:
    /// `{const: UTC}` or `{table: TABLE, field: COLUMN}`.
    pub time_zone: Option<FieldMapping>,
    /// The model's kinds: KIND: the table whose rows become its entities and how each of
    /// their fields is filled. A kind inside another entity needs `parent`; every kind but
    /// the tenant needs `table`.
    pub kinds: BTreeMap<String, AdapterKind>,
}

/// How an export's files are read.
#[derive(JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum AdapterReader {
    /// Frappe / ERPNext: REST responses, `bench export-json` arrays, single documents (each
    /// to the table of its `doctype`, or of its file's name), CSV files by file name.
    Frappe,
    /// NetSuite: SuiteQL response pages, one table per file name (`role.json`,
    /// `role.2.json`).
    Suiteql,
}

/// One table of an adapter: where its rows come from (at least `files` or `doctype`).
#[derive(JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(extend("anyOf" = [{"required": ["files"]}, {"required": ["doctype"]}]))]
pub struct AdapterTable {
    /// The file names that hold the table, without extension or page number (`User`,
    /// `System Settings`; case, spaces, `_` and `-` do not matter): one or a list.
    pub files: Option<FileNames>,
    /// Documents with this `doctype` belong to the table (Frappe).
    pub doctype: Option<String>,
    /// The column that identifies a row: rows with the same key, from any file, merge.
    pub key: Option<String>,
    /// The table has one row (a settings document): every document merges into it.
    pub single: Option<bool>,
}

/// One file name or a list of them.
#[derive(JsonSchema)]
#[serde(untagged)]
pub enum FileNames {
    One(String),
    Many(Vec<String>),
}

/// How one kind of the model is filled.
#[derive(JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AdapterKind {
    /// The table whose rows become the entities (every kind but the tenant).
    pub table: Option<String>,
    /// For a kind inside another entity (a user's sessions): the column holding the
    /// parent row's key.
    pub parent: Option<String>,
    /// Keep only the rows whose COLUMN holds one of the VALUES: COLUMN: [VALUE, …].
    #[serde(rename = "where")]
    pub filter: Option<BTreeMap<String, ColumnValues>>,
    /// The fields filled: FIELD: a field mapping (a field of the model's kind; dotted for
    /// nested fields, `settings.session_expiry`).
    pub fields: Option<BTreeMap<String, FieldMapping>>,
}

/// One value or a list of values a column is compared with (as text).
#[derive(JsonSchema)]
#[serde(untagged)]
pub enum ColumnValues {
    One(ColumnValue),
    Many(Vec<ColumnValue>),
}

/// A value a column is compared with (as text).
#[derive(JsonSchema)]
#[serde(untagged)]
pub enum ColumnValue {
    Text(String),
    Int(i64),
    Decimal(f64),
    Bool(bool),
}

/// Where a model field's value comes from: exactly one of `field` (with `table`, a column
/// of that table's first row), `const`, `join` (with `on` and `value`), `all`,
/// `directory`, `sequence`; then shaped by `each`, `map`, `convert`, `sep` and `negate`.
#[derive(JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(extend(
    "oneOf" = [
        {"required": ["field"]},
        {"required": ["const"]},
        {"required": ["join"]},
        {"required": ["all"]},
        {"required": ["directory"]},
        {"required": ["sequence"]}
    ],
    "dependencies" = {
        "table": {"anyOf": [{"required": ["field"]}, {"required": ["join"]}]},
        "join": ["on", "value"]
    }
))]
pub struct FieldMapping {
    /// A column of the entity's row (dotted for nested objects: `frappe.version`); with
    /// `table`, a column of that table's first row.
    pub field: Option<String>,
    /// A constant value.
    #[serde(rename = "const")]
    pub constant: Option<serde_json::Value>,
    /// With `field`: read the column from this table's first row (tenant settings).
    pub table: Option<String>,
    /// A table whose rows are joined to this row: those whose `on` column equals this
    /// row's key (the kind's table needs a `key`).
    pub join: Option<String>,
    /// With `join`: the joined table's column holding this row's key.
    pub on: Option<String>,
    /// With `join`: the joined table's column that gives the value.
    pub value: Option<String>,
    /// With `join`: how the joined values combine (default `list`).
    pub aggregate: Option<crate::import::adapter::Aggregate>,
    /// True when every mapping gives true, false when one gives false, absent otherwise.
    pub all: Option<Vec<FieldMapping>>,
    /// The name of the tenant's export directory (write `directory: name`).
    pub directory: Option<serde_json::Value>,
    /// `PARENT#N`: the entity's number among its parent's entities of this kind (write
    /// `sequence: true`).
    pub sequence: Option<serde_json::Value>,
    /// The source is a list of objects (a child table): take this column of each.
    pub each: Option<String>,
    /// RAW: VALUE pairs applied to the raw value (as text) before `convert`; an unknown
    /// value is kept as it is.
    pub map: Option<BTreeMap<String, serde_json::Value>>,
    /// The converter applied to the value.
    pub convert: Option<Converter>,
    /// The separator of `convert: split` (default: whitespace and commas).
    pub sep: Option<String>,
    /// Negates a boolean result.
    pub negate: Option<bool>,
    /// With `join`: keep only the joined rows whose COLUMN holds one of the VALUES.
    #[serde(rename = "where")]
    pub filter: Option<BTreeMap<String, ColumnValues>>,
}

/// The converters, a fixed set.
#[derive(JsonSchema)]
pub enum Converter {
    /// `0`/`1` (numbers or text), `true`/`false` → a boolean (Frappe Check fields).
    #[serde(rename = "bool01")]
    Bool01,
    /// `"T"`/`"F"` → a boolean (SuiteQL).
    #[serde(rename = "bool_tf")]
    BoolTf,
    /// A number or numeric text → an integer.
    #[serde(rename = "int")]
    Int,
    /// A number or text → text.
    #[serde(rename = "string")]
    Text,
    /// `"170:00"`, `"06:30"` → a duration (`170h`, `390m`).
    #[serde(rename = "hhmm")]
    Hhmm,
    /// A local date-time in the adapter's `time_zone`, or RFC 3339 with an offset → RFC
    /// 3339 in UTC.
    #[serde(rename = "datetime")]
    Datetime,
    /// The leading number of a version (`v15.41.2` → 15, `2026.1` → 2026).
    #[serde(rename = "major")]
    Major,
    /// Text → a list of strings, split on `sep`.
    #[serde(rename = "split")]
    Split,
}
