//! JSON Schemas of the files people write (YAML policies, test files, model, waiver and
//! adapter files) and of the JSON report, generated from Rust types with `schemars`.
//!
//! The types of the files people write live in [`files`]; they are descriptions, not what
//! the parsers deserialize into (the parsers read a spanned YAML tree, `crate::yaml`, to
//! point diagnostics at the exact place). They are still the one source of truth for the
//! keys: each parser asks for its list of valid keys with [`keys!`], which reads them off
//! the generated schema, so a key added to a type is accepted by the parser and offered by
//! editors at once. The report's schema is generated from the types the report is
//! serialized from (`report::json::Document`, `finding::Finding`).
//!
//! Every schema is listed once, in [`SCHEMAS`]; `tenet schema NAME` prints one, and the test
//! suite compares each with its checked-in copy `schemas/NAME.schema.json`.

pub mod files;

use schemars::generate::SchemaSettings;
use schemars::{JsonSchema, Schema};

/// One published schema.
pub struct Entry {
    /// The name given to `tenet schema NAME`; the file is `schemas/NAME.schema.json`.
    pub name: &'static str,
    /// What the schema describes, for `tenet schema` without a name.
    pub about: &'static str,
    /// Generates the schema.
    pub generate: fn() -> Schema,
}

/// Every published schema. Adding one is one line: a name, what it describes, and
/// `file::<TYPE>` (a file people write) or `root::<TYPE>` (an output) for the type that describes the format.
pub const SCHEMAS: &[Entry] = &[
    Entry { name: "policy", about: "a policy in the YAML form (*.yaml, *.yml)", generate: file::<files::PolicyFile> },
    Entry { name: "test", about: "a policy test file (*.test.yaml)", generate: file::<files::TestFile> },
    Entry { name: "model", about: "a model file (--model FILE)", generate: file::<files::ModelFile> },
    Entry { name: "waivers", about: "a waiver file (--waivers FILE)", generate: file::<files::WaiverFile> },
    Entry { name: "adapter", about: "an import adapter file (--adapter FILE)", generate: file::<files::AdapterFile> },
    Entry {
        name: "report",
        about: "the JSON report (--format json)",
        generate: root::<crate::report::Document<'static>>,
    },
    Entry {
        name: "report-line",
        about: "one line of the JSONL report (--format jsonl)",
        generate: root::<files::ReportLine>,
    },
];

/// The schema named `name`.
pub fn find(name: &str) -> Option<&'static Entry> {
    SCHEMAS.iter().find(|e| e.name == name)
}

/// The schema of an output `T` as a whole document (draft-07, which every editor's YAML
/// and JSON support understands): an `Option` is a value that may be `null`.
pub fn root<T: JsonSchema>() -> Schema {
    SchemaSettings::draft07().into_generator().into_root_schema_for::<T>()
}

/// The schema of a file format `T` people write: an `Option` is a key that may be left
/// out (writing `null` is not offered).
pub fn file<T: JsonSchema>() -> Schema {
    let mut settings = SchemaSettings::draft07();
    settings.transforms.push(Box::new(schemars::transform::RecursiveTransform(no_null)));
    settings.into_generator().into_root_schema_for::<T>()
}

/// Takes `null` out of a schema made for an `Option` (`"type": ["string", "null"]`,
/// `"anyOf": [X, {"type": "null"}]`, `"default": null`).
fn no_null(schema: &mut Schema) {
    use serde_json::Value;
    let Some(obj) = schema.as_object_mut() else { return };
    if obj.get("default") == Some(&Value::Null) {
        obj.remove("default");
    }
    if let Some(Value::Array(types)) = obj.get_mut("type") {
        types.retain(|t| t != "null");
        if let [only] = types.as_slice() {
            let only = only.clone();
            obj.insert("type".into(), only);
        }
    }
    let null = serde_json::json!({"type": "null"});
    if let Some(Value::Array(any)) = obj.get_mut("anyOf") {
        if any.contains(&null) {
            any.retain(|s| *s != null);
            if let [Value::Object(only)] = any.as_slice() {
                let only = only.clone();
                obj.remove("anyOf");
                for (k, v) in only {
                    obj.entry(k).or_insert(v);
                }
            }
        }
    }
}

/// A schema as the text checked in under `schemas/`: pretty JSON and a final newline.
pub fn render(schema: &Schema) -> String {
    let mut text = serde_json::to_string_pretty(schema).unwrap_or_default();
    text.push('\n');
    text
}

/// The names of the properties of `T`'s object schema, in declaration order. Called once
/// per type through [`keys!`]; the strings live for the rest of the process.
pub fn property_names<T: JsonSchema>() -> Vec<&'static str> {
    let schema = file::<T>();
    match schema.get("properties").and_then(serde_json::Value::as_object) {
        Some(props) => props.keys().map(|k| &*Box::leak(k.clone().into_boxed_str())).collect(),
        None => Vec::new(),
    }
}

/// The valid keys of a YAML mapping described by a type of [`files`], as
/// `&'static [&'static str]` (computed once).
#[macro_export]
macro_rules! keys {
    ($t:ty) => {{
        static KEYS: std::sync::OnceLock<Vec<&'static str>> = std::sync::OnceLock::new();
        KEYS.get_or_init($crate::schema::property_names::<$t>).as_slice()
    }};
}
