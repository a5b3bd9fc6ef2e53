//! The JSON Schemas under `schemas/`: generated from the Rust types (`tenet::schema`),
//! never stale, and the shipped files and real reports validate against them.
//!
//! `TENET_UPDATE_SCHEMAS=1 cargo test --test it schemas::` rewrites the checked-in copies.

use std::path::{Path, PathBuf};
use tenet::schema::{self, SCHEMAS};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn validator(name: &str) -> jsonschema::Validator {
    let text = std::fs::read_to_string(root().join(format!("schemas/{name}.schema.json"))).unwrap();
    let schema: serde_json::Value = serde_json::from_str(&text).unwrap();
    jsonschema::validator_for(&schema).unwrap_or_else(|e| panic!("schemas/{name}.schema.json is not a schema: {e}"))
}

fn yaml(path: &Path) -> serde_json::Value {
    let text = std::fs::read_to_string(path).unwrap();
    serde_saphyr::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn errors(v: &jsonschema::Validator, doc: &serde_json::Value) -> Vec<String> {
    v.iter_errors(doc).map(|e| format!("{} at {}", e, e.instance_path())).collect()
}

#[test]
fn checked_in_schemas_are_fresh() {
    let update = std::env::var_os("TENET_UPDATE_SCHEMAS").is_some();
    let mut stale = Vec::new();
    for entry in SCHEMAS {
        let path = root().join(format!("schemas/{}.schema.json", entry.name));
        let now = schema::render(&(entry.generate)());
        if std::fs::read_to_string(&path).ok().as_deref() != Some(now.as_str()) {
            if update {
                std::fs::write(&path, &now).unwrap();
            } else {
                stale.push(path.display().to_string());
            }
        }
    }
    assert!(
        stale.is_empty(),
        "stale schemas (regenerate with TENET_UPDATE_SCHEMAS=1 cargo test --test it schemas::): {stale:?}"
    );
    // Nothing else lives in schemas/: a schema removed from the registry goes too.
    let mut names: Vec<String> = std::fs::read_dir(root().join("schemas"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    let mut want: Vec<String> = SCHEMAS.iter().map(|e| format!("{}.schema.json", e.name)).collect();
    want.sort();
    assert_eq!(names, want);
}

/// Every shipped YAML policy, test file, the built-in model and import adapters validate,
/// and each carries the editor's schema comment.
#[test]
fn shipped_files_validate() {
    let policy = validator("policy");
    let test = validator("test");
    let mut seen = 0;
    for entry in std::fs::read_dir(root().join("policies")).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let (v, schema) = if name.ends_with(".test.yaml") {
            (&test, "test")
        } else if name.ends_with(".yaml") {
            (&policy, "policy")
        } else {
            continue;
        };
        let errs = errors(v, &yaml(&path));
        assert!(errs.is_empty(), "{name} does not validate: {errs:#?}");
        let first = std::fs::read_to_string(&path).unwrap().lines().next().unwrap_or("").to_string();
        assert_eq!(first, format!("# yaml-language-server: $schema=../schemas/{schema}.schema.json"), "{name}");
        seen += 1;
    }
    assert!(seen >= 5, "found only {seen} shipped YAML files");
    let model = validator("model");
    let errs = errors(&model, &yaml(&root().join("src/model/erp.yaml")));
    assert!(errs.is_empty(), "the erp model does not validate: {errs:#?}");
    let waivers = root().join("examples/waivers.yaml");
    let errs = errors(&validator("waivers"), &yaml(&waivers));
    assert!(errs.is_empty(), "examples/waivers.yaml does not validate: {errs:#?}");
    let first = std::fs::read_to_string(&waivers).unwrap().lines().next().unwrap_or("").to_string();
    assert_eq!(first, "# yaml-language-server: $schema=../schemas/waivers.schema.json");
    // The built-in import adapters.
    let adapter = validator("adapter");
    for name in ["frappe", "netsuite"] {
        let path = root().join(format!("src/import/adapters/{name}.yaml"));
        let errs = errors(&adapter, &yaml(&path));
        assert!(errs.is_empty(), "the {name} adapter does not validate: {errs:#?}");
        let first = std::fs::read_to_string(&path).unwrap().lines().next().unwrap_or("").to_string();
        assert_eq!(first, "# yaml-language-server: $schema=../../../schemas/adapter.schema.json", "{name}");
    }
    // The example waivers name rules that exist and dates that have not passed on the
    // examples' day; `tenet lint --waivers` says so.
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_tenet"))
        .args(["lint", "-p", "policies", "--waivers", "examples/waivers.yaml", "--now", "2026-11-22T00:00:00Z"])
        .current_dir(root())
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("2 waivers: no problems found"),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
}

/// The schemas reject what the parsers reject: an unknown key, a missing `assert`, a
/// wrong severity, a field without a valid type, an empty expectation.
#[test]
fn schemas_reject_mistakes() {
    let policy = validator("policy");
    let bad = serde_json::json!({"policy": "p", "rules": [{"id": "a", "asert": "true"}]});
    let errs = errors(&policy, &bad);
    assert!(errs.iter().any(|e| e.contains("'asert' was unexpected")), "{errs:?}");
    assert!(errs.iter().any(|e| e.contains("\"assert\" is a required property")), "{errs:?}");
    let bad = serde_json::json!({"policy": "p", "rules": [{"id": "a", "assert": "true", "severity": "fatal"}]});
    assert!(!errors(&policy, &bad).is_empty());
    let test = validator("test");
    let bad = serde_json::json!({"policy": "p.tenet", "cases": [{"name": "c", "expect": [{}]}]});
    assert!(!errors(&test, &bad).is_empty());
    let bad = serde_json::json!({"policy": "p.tenet", "cases": [{"name": "c", "expect": "passes"}]});
    assert!(!errors(&test, &bad).is_empty());
    let model = validator("model");
    let bad = serde_json::json!({"kinds": {"org": {"fields": {"id": "strng"}}}});
    assert!(!errors(&model, &bad).is_empty());
    let good = serde_json::json!({"kinds": {"org": {"key": "id", "fields": {"id": "string", "n": {"type": "int", "default": 0}}}}});
    assert_eq!(errors(&model, &good), Vec::<String>::new());
}

/// An adapter's schema rejects what the adapter loader rejects whatever the model: a
/// mapping with two sources or none, `table` without `field`, a `join` without `on`, an
/// unknown converter or aggregate, a table with neither `files` nor `doctype`.
#[test]
fn the_adapter_schema_rejects_what_the_loader_rejects() {
    let adapter = validator("adapter");
    let with = |table: serde_json::Value, mapping: serde_json::Value| serde_json::json!({"reader": "frappe", "tables": {"User": table}, "kinds": {"user": {"table": "User", "fields": {"id": mapping}}}});
    let table = serde_json::json!({"files": ["User"], "key": "name"});
    let good = [
        serde_json::json!({"field": "name"}),
        serde_json::json!({"table": "User", "field": "name", "convert": "major"}),
        serde_json::json!({"const": null}),
        serde_json::json!({"join": "User", "on": "owner", "value": "name", "aggregate": "max", "where": {"status": ["A", 1]}}),
        serde_json::json!({"all": [{"field": "a", "convert": "bool01"}, {"field": "b", "negate": true}]}),
        serde_json::json!({"directory": "name"}),
        serde_json::json!({"sequence": true, "map": {"0": "x", "1": 2}}),
        serde_json::json!({"field": "roles", "each": "role", "convert": "split", "sep": ";"}),
    ];
    for m in good {
        assert_eq!(errors(&adapter, &with(table.clone(), m.clone())), Vec::<String>::new(), "{m}");
        let text = serde_json::to_string(&with(table.clone(), m.clone())).unwrap();
        let loaded =
            tenet::import::adapter::load(&tenet::source::SourceFile::new("a.yaml", text), &tenet::model::Model::erp());
        assert!(
            loaded.is_ok(),
            "{m}: the loader rejects what the schema accepts: {:?}",
            loaded.err().map(|d| d.iter().map(|d| d.message.clone()).collect::<Vec<_>>())
        );
    }
    let bad = [
        serde_json::json!({"field": "name", "const": 1}),
        serde_json::json!({}),
        serde_json::json!({"table": "User"}),
        serde_json::json!({"const": 1, "table": "User"}),
        serde_json::json!({"join": "User", "value": "name"}),
        serde_json::json!({"field": "name", "convert": "uppercase"}),
        serde_json::json!({"join": "User", "on": "a", "value": "b", "aggregate": "sum"}),
        serde_json::json!({"field": "name", "negate": "yes"}),
        serde_json::json!({"field": "name", "fileld": "x"}),
    ];
    for m in bad {
        assert!(!errors(&adapter, &with(table.clone(), m.clone())).is_empty(), "the schema accepts {m}");
        let text = serde_json::to_string(&with(table.clone(), m.clone())).unwrap();
        let loaded =
            tenet::import::adapter::load(&tenet::source::SourceFile::new("a.yaml", text), &tenet::model::Model::erp());
        assert!(loaded.is_err(), "{m}: the loader accepts what the schema rejects");
    }
    let errs = errors(&adapter, &with(serde_json::json!({"key": "name"}), serde_json::json!({"field": "name"})));
    assert!(!errs.is_empty());
    let errs = errors(&adapter, &serde_json::json!({"reader": "csv", "tables": {}, "kinds": {}}));
    assert!(!errs.is_empty());
    let errs = errors(&adapter, &serde_json::json!({"reader": "frappe", "kinds": {}}));
    assert!(errs.iter().any(|e| e.contains("\"tables\" is a required property")), "{errs:?}");
}

/// The values a schema offers for a string enum (`enum`, or `oneOf` of `const`s).
fn enum_values(schema: &serde_json::Value) -> Vec<String> {
    if let Some(values) = schema["enum"].as_array() {
        return values.iter().filter_map(|v| v.as_str().map(String::from)).collect();
    }
    let one_of = schema["oneOf"].as_array().cloned().unwrap_or_default();
    one_of.iter().filter_map(|v| v["const"].as_str().map(String::from)).collect()
}

/// The converters and aggregates the adapter schema offers are the loader's: each loads.
#[test]
fn the_adapter_schema_offers_the_loaders_converters_and_aggregates() {
    let s = serde_json::to_value(schema::find("adapter").map(|e| (e.generate)()).unwrap()).unwrap();
    let defs = &s["definitions"];
    let converters = enum_values(&defs["Converter"]);
    assert_eq!(converters, tenet::import::adapter::CONVERTERS);
    let aggregates = enum_values(&defs["Aggregate"]);
    assert_eq!(aggregates, ["list", "max", "min", "count", "first"]);
    let load = |mapping: &str| {
        let text = format!("reader: frappe\ntables: {{User: {{files: [User], key: name}}}}\nkinds:\n  user:\n    table: User\n    fields:\n      id: {mapping}\n");
        tenet::import::adapter::load(&tenet::source::SourceFile::new("a.yaml", text), &tenet::model::Model::erp())
            .is_ok()
    };
    for c in &converters {
        assert!(load(&format!("{{field: name, convert: {c}}}")), "converter {c}");
    }
    for a in &aggregates {
        assert!(load(&format!("{{join: User, on: owner, value: name, aggregate: {a}}}")), "aggregate {a}");
    }
    // The keys a field mapping takes, in the order the loader's diagnostics list them.
    let keys: Vec<&str> = defs["FieldMapping"]["properties"].as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        [
            "field",
            "const",
            "table",
            "join",
            "on",
            "value",
            "aggregate",
            "all",
            "directory",
            "sequence",
            "each",
            "map",
            "convert",
            "sep",
            "negate",
            "where"
        ]
    );
}

/// The adapter example of docs/IMPORT.md validates and loads.
#[test]
fn the_adapter_example_of_the_manual_validates_and_loads() {
    let page = std::fs::read_to_string(root().join("docs/IMPORT.md")).unwrap();
    let section = page.split("\n## Adapters\n").nth(1).expect("an Adapters section");
    let start = section.find("```yaml\n").expect("a yaml example") + "```yaml\n".len();
    let text = &section[start..start + section[start..].find("\n```").unwrap() + 1];
    assert!(text.contains("reader:"), "{text}");
    let v: serde_json::Value = serde_saphyr::from_str(text).unwrap();
    assert_eq!(errors(&validator("adapter"), &v), Vec::<String>::new());
    let loaded =
        tenet::import::adapter::load(&tenet::source::SourceFile::new("IMPORT.md", text), &tenet::model::Model::erp());
    assert!(loaded.is_ok(), "{:?}", loaded.err().map(|d| d.iter().map(|d| d.message.clone()).collect::<Vec<_>>()));
}

/// The parsers accept exactly the keys the schemas list (one source of truth).
#[test]
fn parsers_take_their_keys_from_the_schemas() {
    let policy: serde_json::Value =
        serde_json::to_value(schema::find("policy").map(|e| (e.generate)()).unwrap()).unwrap();
    let keys: Vec<&str> = policy["properties"].as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(keys, ["policy", "title", "tags", "see", "params", "let", "rules"]);
    let d = diagnostics_yaml("policy: p\nrulez: []\n");
    let flat = d.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(
        flat.contains("the keys of a policy are `policy`, `title`, `tags`, `see`, `params`, `let`, `rules`"),
        "{d}"
    );
}

/// A real JSON report, and every line of a JSONL report, validate.
#[test]
fn reports_validate() {
    let bin = env!("CARGO_BIN_EXE_tenet");
    let run = |format: &str| {
        let out = std::process::Command::new(bin)
            .current_dir(root())
            .args(["check", "-p", "policies", "examples/tenants", "--now", crate::support::NOW, "--format", format])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1), "{}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).unwrap()
    };
    let report = validator("report");
    let doc: serde_json::Value = serde_json::from_str(&run("json")).unwrap();
    assert!(doc["findings"].as_array().unwrap().len() > 10);
    assert_eq!(errors(&report, &doc), Vec::<String>::new());
    let line = validator("report-line");
    let text = run("jsonl");
    for l in text.lines() {
        let v: serde_json::Value = serde_json::from_str(l).unwrap();
        assert_eq!(errors(&line, &v), Vec::<String>::new(), "{l}");
    }
    // A finding without its status does not validate.
    let mut f = doc["findings"][0].clone();
    f.as_object_mut().unwrap().remove("status");
    assert!(!errors(
        &report,
        &serde_json::json!({"tenet": 1, "now": "x", "policies": [], "summary": doc["summary"], "findings": [f]})
    )
    .is_empty());
}

fn diagnostics_yaml(text: &str) -> String {
    use tenet::engine::{CompileError, Engine};
    match Engine::builder(tenet::model::Model::erp()).policy(tenet::source::SourceFile::new("p.yaml", text)).build() {
        Ok(_) => panic!("policy unexpectedly checks"),
        Err(CompileError::Diagnostics(d)) => d.iter().map(|d| d.render_plain()).collect(),
        Err(CompileError::Usage(u)) => u,
    }
}
