//! Adapter files (YAML) → [`Adapter`]: which export table and column fills which model
//! field, through a fixed set of converters. Every mistake is a diagnostic (T081) that
//! points into the file. The built-in adapters are `adapters/*.yaml`, loaded by the same code
//! as `--adapter FILE`.

use crate::diagnostic::{did_you_mean, Code, Diagnostic};
use crate::model::{KindId, Model, Type};
use crate::schema::files::{AdapterFile, AdapterKind, AdapterTable, FieldMapping};
use crate::source::{SourceFile, Span};
use crate::yaml::{self, YNode, YValue};
use serde_json::Value as J;

pub const FRAPPE: &str = include_str!("adapters/frappe.yaml");
pub const NETSUITE: &str = include_str!("adapters/netsuite.yaml");

/// How export files are read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reader {
    /// Frappe REST responses (`{"data": …}`, `{"message": …}`), `bench export-json`
    /// arrays, single documents; each document goes to the table of its `doctype`, or
    /// else of its file's name. CSV files (session rows) by file name.
    Frappe,
    /// SuiteQL response pages, one table per file name (`role.json`, `role.2.json`).
    SuiteQl,
}

#[derive(Debug, Clone)]
pub struct Adapter {
    pub name: String,
    pub reader: Reader,
    pub tables: Vec<TableSpec>,
    /// The time zone of local date-times in the export (an IANA name).
    pub time_zone: Option<Spec>,
    pub kinds: Vec<KindMap>,
}

#[derive(Debug, Clone)]
pub struct TableSpec {
    pub name: String,
    /// File names (without extension and page number) that hold this table, normalized
    /// (see [`normalize_name`]).
    pub files: Vec<String>,
    /// Documents with this `doctype` belong to the table (Frappe).
    pub doctype: Option<String>,
    /// The column that identifies a row: rows with the same key, from any file, are merged.
    pub key: Option<String>,
    /// The table has one row (a settings document): every document merges into it.
    pub single: bool,
}

#[derive(Debug, Clone)]
pub struct KindMap {
    pub kind: KindId,
    /// The table whose rows become the entities (none for the root).
    pub table: Option<usize>,
    /// For a kind nested below another entity: the column holding the parent row's key.
    pub parent_field: Option<String>,
    pub filter: Vec<(String, Vec<String>)>,
    /// `(model field name, spec)` in file order.
    pub fields: Vec<(String, Spec)>,
}

#[derive(Debug, Clone)]
pub struct Spec {
    pub source: Source,
    /// The source is a list of objects (a child table): take this column of each.
    pub each: Option<String>,
    /// Value map, applied to the raw value (as text) before the converter.
    pub map: Vec<(String, J)>,
    pub convert: Option<Conv>,
    /// Separator for `split` (default: whitespace and commas).
    pub sep: Option<String>,
    /// Negates a boolean result.
    pub negate: bool,
}

#[derive(Debug, Clone)]
pub enum Source {
    /// A column of the entity's row (dotted for nested objects).
    Field(String),
    Const(J),
    /// A column of the first row of another table (tenant-level settings).
    TableField {
        table: usize,
        field: String,
    },
    /// Rows of another table whose `on` column equals this row's key.
    Join {
        table: usize,
        on: String,
        value: String,
        aggregate: Aggregate,
        filter: Vec<(String, Vec<String>)>,
    },
    /// All of these booleans (false if any is false; absent if any is absent).
    All(Vec<Spec>),
    /// The name of the tenant's export directory.
    Directory,
    /// `PARENT#N`: the entity's position among its parent's entities of this kind.
    Sequence,
}

// Also the type of `aggregate` in the adapter file's JSON Schema (`schema::files`): the
// schema's names and `Aggregate::name` are checked to agree by the schema tests.
/// How the values of a `join` combine.
#[derive(Debug, Clone, Copy, PartialEq, Eq, schemars::JsonSchema)]
#[schemars(rename_all = "lowercase")]
pub enum Aggregate {
    /// Every value, in row order.
    List,
    /// The largest value.
    Max,
    /// The smallest value.
    Min,
    /// The number of joined rows.
    Count,
    /// The first row's value.
    First,
}

impl Aggregate {
    pub const ALL: [Aggregate; 5] =
        [Aggregate::List, Aggregate::Max, Aggregate::Min, Aggregate::Count, Aggregate::First];

    /// The name an adapter file writes.
    pub fn name(self) -> &'static str {
        match self {
            Aggregate::List => "list",
            Aggregate::Max => "max",
            Aggregate::Min => "min",
            Aggregate::Count => "count",
            Aggregate::First => "first",
        }
    }
}

/// The converters, a fixed set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Conv {
    /// Frappe Check fields: 0/1 (numbers or strings), true/false.
    Bool01,
    /// SuiteQL booleans: "T"/"F".
    BoolTf,
    Int,
    String,
    /// "hh:mm" text (Frappe `session_expiry`) → a duration like `170h`.
    Hhmm,
    /// A local date-time (`YYYY-MM-DD HH:MM:SS[.ffffff]`) in the adapter's time zone, or an
    /// RFC 3339 date-time with an offset → RFC 3339 in UTC.
    Datetime,
    /// The leading number of a version (`v15.41.2` → 15, `2026.1` → 2026).
    Major,
    /// Text → a list of strings (`sep`, default whitespace and commas).
    Split,
}

pub const CONVERTERS: &[&str] = &["bool01", "bool_tf", "int", "string", "hhmm", "datetime", "major", "split"];

/// Column names no adapter may read: secrets never enter a snapshot.
pub fn is_secret(column: &str) -> bool {
    let c = column.to_ascii_lowercase();
    let last = c.rsplit('.').next().unwrap_or(&c);
    last == "sid"
        || ["secret", "password", "passwd", "sessiondata", "csrf", "token", "private_key"].iter().any(|s| c.contains(s))
}

/// A file name as matched against `files:` lists: lower case, letters and digits only
/// (`System Settings`, `system_settings` and `system-settings` are one name).
pub fn normalize_name(s: &str) -> String {
    s.chars().filter(char::is_ascii_alphanumeric).map(|c| c.to_ascii_lowercase()).collect()
}

/// Loads an adapter file against a model.
pub fn load(file: &SourceFile, model: &Model) -> Result<Adapter, Vec<Diagnostic>> {
    let root = yaml::parse(file, Code::Adapter)?;
    let mut cx = Cx { file, model, diags: Vec::new(), tables: Vec::new() };
    let adapter = cx.adapter(&root);
    match adapter {
        Some(a) if cx.diags.is_empty() => Ok(a),
        _ => Err(cx.diags),
    }
}

/// A built-in adapter; a broken one is a bug caught by the tests.
pub fn builtin(text: &'static str, name: &str, model: &Model) -> Result<Adapter, Vec<Diagnostic>> {
    load(&SourceFile::new(format!("<builtin {name} adapter>"), text), model)
}

struct Cx<'a> {
    file: &'a SourceFile,
    model: &'a Model,
    diags: Vec<Diagnostic>,
    tables: Vec<(String, Span)>,
}

impl Cx<'_> {
    fn err(&mut self, span: Span, msg: impl Into<String>, help: Option<String>) {
        self.diags.push(Diagnostic::new(Code::Adapter, self.file, span, msg).label("here").help_opt(help));
    }

    fn keys(&mut self, node: &YNode, valid: &[&str], what: &str) {
        yaml::unknown_keys(self.file, Code::Adapter, node.as_map().unwrap_or(&[]), valid, what, &mut self.diags);
    }

    fn string(&mut self, node: &YNode, what: &str) -> Option<String> {
        match &node.value {
            YValue::Str(s) => Some(s.clone()),
            _ => {
                self.err(node.span, format!("`{what}` is a string, not {}", node.type_name()), None);
                None
            }
        }
    }

    fn strings(&mut self, node: &YNode, what: &str) -> Vec<String> {
        match &node.value {
            YValue::Seq(items) => items.iter().filter_map(|i| self.string(i, what)).collect(),
            _ => self.string(node, what).into_iter().collect(),
        }
    }

    fn column(&mut self, node: &YNode, what: &str) -> Option<String> {
        let c = self.string(node, what)?;
        if is_secret(&c) {
            self.err(
                node.span,
                format!("`{c}` holds a secret; an adapter never reads it"),
                Some(
                    "secrets (passwords, client and API secrets, session ids and data, tokens) never enter a snapshot"
                        .into(),
                ),
            );
            return None;
        }
        Some(c)
    }

    fn table_ref(&mut self, node: &YNode) -> Option<usize> {
        let name = self.string(node, "table")?;
        if let Some(i) = self.tables.iter().position(|(t, _)| *t == name) {
            return Some(i);
        }
        let names: Vec<&str> = self.tables.iter().map(|(t, _)| t.as_str()).collect();
        let help = match did_you_mean(&name, names.iter().copied()) {
            Some(s) => format!("did you mean `{s}`? tables are declared under `tables:`"),
            None => format!("the tables of this adapter: {}", names.join(", ")),
        };
        self.err(node.span, format!("unknown table `{name}`"), Some(help));
        None
    }

    fn adapter(&mut self, root: &YNode) -> Option<Adapter> {
        if root.as_map().is_none() {
            self.err(root.span, "an adapter file is a mapping with `adapter`, `reader`, `tables` and `kinds`", None);
            return None;
        }
        self.keys(root, crate::keys!(AdapterFile), "an adapter");
        let name = match root.get("adapter") {
            Some(n) => self.string(n, "adapter").unwrap_or_default(),
            None => "custom".into(),
        };
        let reader = match root.get("reader") {
            Some(n) => match n.as_str() {
                Some("frappe") => Some(Reader::Frappe),
                Some("suiteql") => Some(Reader::SuiteQl),
                _ => {
                    self.err(n.span, "`reader` is `frappe` or `suiteql`", None);
                    None
                }
            },
            None => {
                self.err(root.span, "missing `reader` (`frappe` or `suiteql`)", None);
                None
            }
        };
        let mut tables = Vec::new();
        match root.get("tables").map(|t| (t, t.as_map())) {
            Some((_, Some(entries))) => {
                for (k, v) in entries {
                    self.tables.push((k.name.clone(), k.span));
                    tables.push(self.table(&k.name, v));
                }
            }
            Some((t, None)) => self.err(t.span, "`tables` is a mapping: NAME: {files, doctype, key, single}", None),
            None => self.err(root.span, "missing `tables`", None),
        }
        let time_zone = root.get("time_zone").and_then(|n| self.spec(n, 0, None));
        let mut kinds = Vec::new();
        match root.get("kinds").map(|k| (k, k.as_map())) {
            Some((_, Some(entries))) => {
                for (k, v) in entries {
                    if let Some(km) = self.kind(k, v, &tables) {
                        kinds.push(km);
                    }
                }
            }
            Some((k, None)) => self.err(k.span, "`kinds` is a mapping: KIND: {table, fields}", None),
            None => self.err(root.span, "missing `kinds`", None),
        }
        Some(Adapter { name, reader: reader?, tables, time_zone, kinds })
    }

    fn table(&mut self, name: &str, node: &YNode) -> TableSpec {
        self.keys(node, crate::keys!(AdapterTable), "a table");
        let files = node.get("files").map(|f| self.strings(f, "files")).unwrap_or_default();
        let doctype = node.get("doctype").and_then(|d| self.string(d, "doctype"));
        let key = node.get("key").and_then(|k| self.column(k, "key"));
        let single = match node.get("single").map(|s| &s.value) {
            None => false,
            Some(YValue::Bool(b)) => *b,
            Some(_) => {
                let span = node.get("single").map_or(node.span, |s| s.span);
                self.err(span, "`single` is true or false", None);
                false
            }
        };
        if files.is_empty() && doctype.is_none() {
            self.err(node.span, format!("table `{name}` has no `files` and no `doctype`: nothing would fill it"), None);
        }
        TableSpec {
            name: name.to_string(),
            files: files.iter().map(|f| normalize_name(f)).collect(),
            doctype,
            key,
            single,
        }
    }

    fn kind(&mut self, k: &yaml::YKey, node: &YNode, tables: &[TableSpec]) -> Option<KindMap> {
        self.keys(node, crate::keys!(AdapterKind), "a kind mapping");
        let Some(kind) = self.model.kind_id(&k.name) else {
            let names: Vec<&str> = self.model.kinds.iter().map(|k| k.name.as_str()).collect();
            let help = did_you_mean(&k.name, names.iter().copied()).map(|s| format!("did you mean `{s}`?"));
            self.err(k.span, format!("the model has no kind `{}`", k.name), help);
            return None;
        };
        let kdef = self.model.kind(kind);
        let table = node.get("table").and_then(|t| self.table_ref(t));
        if kdef.parent.is_some() && node.get("table").is_none() {
            self.err(k.span, format!("kind `{}` needs a `table` (whose rows become its entities)", k.name), None);
        }
        let nested = kdef.parent.is_some_and(|p| self.model.kind(p).parent.is_some());
        let parent_field = node.get("parent").and_then(|p| self.column(p, "parent"));
        if nested && parent_field.is_none() && node.get("parent").is_none() {
            self.err(
                k.span,
                format!(
                    "kind `{}` lives inside another entity: `parent: COLUMN` names the column holding the parent's key",
                    k.name
                ),
                None,
            );
        }
        let filter = node.get("where").map(|w| self.filter(w)).unwrap_or_default();
        let ctx_table = table.and_then(|t| tables.get(t));
        let mut fields = Vec::new();
        if let Some(entries) = node.get("fields").and_then(YNode::as_map) {
            let valid: Vec<&str> = kdef
                .fields
                .iter()
                .filter(|f| !matches!(f.ty, Type::List(ref e) if matches!(**e, Type::Entity(_))))
                .map(|f| f.name.as_str())
                .collect();
            for (fk, fv) in entries {
                if !valid.contains(&fk.name.as_str()) {
                    let help = did_you_mean(&fk.name, valid.iter().copied())
                        .map(|s| format!("did you mean `{s}`?"))
                        .unwrap_or_else(|| format!("the fields of `{}`: {}", k.name, valid.join(", ")));
                    self.err(fk.span, format!("kind `{}` has no field `{}`", k.name, fk.name), Some(help));
                    continue;
                }
                if let Some(s) = self.spec(fv, 0, ctx_table) {
                    if kdef.parent.is_none() && matches!(s.source, Source::Field(_)) {
                        self.err(fv.span, "the tenant has no row of its own: use `table: NAME, field: COLUMN`", None);
                    }
                    fields.push((fk.name.clone(), s));
                }
            }
        } else if let Some(f) = node.get("fields") {
            self.err(f.span, "`fields` is a mapping: FIELD: {field: COLUMN, …}", None);
        }
        Some(KindMap { kind, table, parent_field, filter, fields })
    }

    fn filter(&mut self, node: &YNode) -> Vec<(String, Vec<String>)> {
        let Some(entries) = node.as_map() else {
            self.err(node.span, "`where` is a mapping: COLUMN: [VALUE, …]", None);
            return Vec::new();
        };
        let mut out = Vec::new();
        for (k, v) in entries {
            if is_secret(&k.name) {
                self.err(k.span, format!("`{}` holds a secret; an adapter never reads it", k.name), None);
                continue;
            }
            let vals = match &v.value {
                YValue::Seq(items) => items.iter().filter_map(scalar_text).collect(),
                _ => scalar_text(v).into_iter().collect(),
            };
            out.push((k.name.clone(), vals));
        }
        out
    }

    fn spec(&mut self, node: &YNode, depth: usize, table: Option<&TableSpec>) -> Option<Spec> {
        if node.as_map().is_none() {
            self.err(node.span, "a field mapping is a mapping: {field: COLUMN} or {const: VALUE} or …", None);
            return None;
        }
        self.keys(node, crate::keys!(FieldMapping), "a field mapping");
        let g = |k: &str| node.get(k);
        let sources: Vec<&str> = ["field", "const", "join", "all", "directory", "sequence"]
            .into_iter()
            .filter(|k| g(k).is_some())
            .chain((g("table").is_some() && g("field").is_none() && g("join").is_none()).then_some("table"))
            .collect();
        if sources.len() != 1 {
            self.err(
                node.span,
                format!(
                    "a field mapping takes its value from exactly one of `field`, `const`, `table`+`field`, `join`, `all`, `directory`, `sequence` (found {})",
                    if sources.is_empty() { "none".to_string() } else { sources.join(", ") }
                ),
                None,
            );
            return None;
        }
        let source = if let Some(f) = g("join") {
            let t = self.table_ref(f)?;
            let on = match g("on") {
                Some(o) => self.column(o, "on")?,
                None => {
                    self.err(
                        node.span,
                        "a `join` needs `on: COLUMN` (the joined table's column holding this row's key)",
                        None,
                    );
                    return None;
                }
            };
            let value = match g("value") {
                Some(v) => self.column(v, "value")?,
                None => {
                    self.err(node.span, "a `join` needs `value: COLUMN`", None);
                    return None;
                }
            };
            let aggregate = match g("aggregate") {
                None => Aggregate::List,
                Some(a) => match Aggregate::ALL.into_iter().find(|x| a.as_str() == Some(x.name())) {
                    Some(x) => x,
                    None => {
                        let names: Vec<&str> = Aggregate::ALL.iter().map(|x| x.name()).collect();
                        self.err(a.span, format!("unknown aggregate; one of {}", names.join(", ")), None);
                        return None;
                    }
                },
            };
            if table.is_some_and(|t| t.key.is_none()) {
                self.err(f.span, "a `join` matches this row's key: give this kind's table a `key`", None);
            }
            let filter = g("where").map(|w| self.filter(w)).unwrap_or_default();
            Source::Join { table: t, on, value, aggregate, filter }
        } else if let Some(f) = g("field") {
            let col = self.column(f, "field")?;
            match g("table") {
                Some(t) => Source::TableField { table: self.table_ref(t)?, field: col },
                None => Source::Field(col),
            }
        } else if let Some(t) = g("table") {
            self.table_ref(t)?;
            self.err(node.span, "`table` needs `field: COLUMN`", None);
            return None;
        } else if let Some(c) = g("const") {
            Source::Const(to_json(c))
        } else if let Some(a) = g("all") {
            if depth > 4 {
                self.err(a.span, "`all` nested too deep", None);
                return None;
            }
            let YValue::Seq(items) = &a.value else {
                self.err(a.span, "`all` is a list of field mappings", None);
                return None;
            };
            let parts: Vec<Spec> = items.iter().filter_map(|i| self.spec(i, depth + 1, table)).collect();
            Source::All(parts)
        } else if g("directory").is_some() {
            Source::Directory
        } else {
            Source::Sequence
        };
        let each = g("each").and_then(|e| self.column(e, "each"));
        let map = match g("map") {
            None => Vec::new(),
            Some(m) => match m.as_map() {
                Some(entries) => entries.iter().map(|(k, v)| (k.name.clone(), to_json(v))).collect(),
                None => {
                    self.err(m.span, "`map` is a mapping: RAW VALUE: MODEL VALUE", None);
                    Vec::new()
                }
            },
        };
        let convert = match g("convert") {
            None => None,
            Some(c) => match c.as_str().and_then(conv_of) {
                Some(v) => Some(v),
                None => {
                    let name = c.as_str().unwrap_or("");
                    let help = did_you_mean(name, CONVERTERS.iter().copied()).map(|s| format!("did you mean `{s}`?"));
                    self.err(
                        c.span,
                        format!("unknown converter; one of {}", CONVERTERS.join(", ")),
                        help.or_else(|| Some("the converters are a fixed set (docs/IMPORT.md)".into())),
                    );
                    return None;
                }
            },
        };
        let sep = g("sep").and_then(|s| self.string(s, "sep"));
        let negate = match g("negate").map(|n| &n.value) {
            None => false,
            Some(YValue::Bool(b)) => *b,
            Some(_) => {
                self.err(node.span, "`negate` is true or false", None);
                false
            }
        };
        Some(Spec { source, each, map, convert, sep, negate })
    }
}

fn conv_of(s: &str) -> Option<Conv> {
    Some(match s {
        "bool01" => Conv::Bool01,
        "bool_tf" => Conv::BoolTf,
        "int" => Conv::Int,
        "string" => Conv::String,
        "hhmm" => Conv::Hhmm,
        "datetime" => Conv::Datetime,
        "major" => Conv::Major,
        "split" => Conv::Split,
        _ => return None,
    })
}

fn scalar_text(n: &YNode) -> Option<String> {
    Some(match &n.value {
        YValue::Str(s) => s.clone(),
        YValue::Int(i) => i.to_string(),
        YValue::Bool(b) => b.to_string(),
        YValue::Float(f) => f.to_string(),
        _ => return None,
    })
}

fn to_json(n: &YNode) -> J {
    match &n.value {
        YValue::Null => J::Null,
        YValue::Bool(b) => J::Bool(*b),
        YValue::Int(i) => J::from(*i),
        YValue::Float(f) => serde_json::Number::from_f64(*f).map_or(J::Null, J::Number),
        YValue::Str(s) => J::String(s.clone()),
        YValue::Seq(items) => J::Array(items.iter().map(to_json).collect()),
        YValue::Map(entries) => J::Object(entries.iter().map(|(k, v)| (k.name.clone(), to_json(v))).collect()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn diags(text: &str) -> Vec<String> {
        let file = SourceFile::new("a.yaml", text);
        match load(&file, &Model::erp()) {
            Ok(_) => Vec::new(),
            Err(d) => d
                .iter()
                .map(|d| format!("{}@{}", d.message, &text[d.span.start as usize..d.span.end as usize]))
                .collect(),
        }
    }

    #[test]
    fn builtin_adapters_load() {
        let m = Model::erp();
        for (name, text) in [("frappe", FRAPPE), ("netsuite", NETSUITE)] {
            if let Err(d) = builtin(text, name, &m) {
                panic!("{name}: {}", d.iter().map(|d| d.message.clone()).collect::<Vec<_>>().join("\n"));
            }
        }
    }

    #[test]
    fn mistakes_point_into_the_file() {
        let d = diags(
            "reader: frappe\ntables:\n  User: {files: [User], key: name}\nkinds:\n  usr: {table: User}\n  \
             user:\n    table: Usr\n    fields:\n      emial: {field: email}\n      id: {field: new_password}\n      \
             enabled: {field: enabled, convert: bool1}\n",
        );
        assert_eq!(
            d,
            vec![
                "the model has no kind `usr`@usr",
                "unknown table `Usr`@Usr",
                "kind `user` has no field `emial`@emial",
                "`new_password` holds a secret; an adapter never reads it@new_password",
                "unknown converter; one of bool01, bool_tf, int, string, hhmm, datetime, major, split@bool1",
            ]
        );
    }

    #[test]
    fn a_mapping_takes_one_source() {
        let d = diags("reader: suiteql\ntables: {role: {files: [role]}}\nkinds:\n  role:\n    table: role\n    fields:\n      id: {field: id, const: 3}\n      name: {}\n");
        assert_eq!(d.len(), 2, "{d:?}");
        assert!(d[0].contains("exactly one of") && d[0].contains("found field, const"), "{d:?}");
        assert!(d[1].contains("found none"), "{d:?}");
    }

    #[test]
    fn secrets_are_recognised() {
        for s in ["sid", "client_secret", "api_secret", "new_password", "sessiondata", "csrf_token", "access_token"] {
            assert!(is_secret(s), "{s}");
        }
        for s in ["name", "user", "api_key", "client_id", "lastupdate", "status"] {
            assert!(!is_secret(s), "{s}");
        }
    }
}
