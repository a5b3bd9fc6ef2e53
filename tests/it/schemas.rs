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

/// Every shipped YAML policy, test file and the built-in model validate, and each carries
/// the editor's schema comment.
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
