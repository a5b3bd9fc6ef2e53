//! The CI report formats (`--format sarif|github|junit|gitlab|markdown`, `--output`) and
//! the `location` of findings (docs/REPORTS.md).

use std::path::Path;
use std::process::{Command, Output};
use tenet::engine::Engine;
use tenet::model::Model;
use tenet::snapshot::{self, located_on_this_thread};
use tenet::source::SourceFile;

const NOW: &str = "2026-11-22T00:00:00Z";

fn tenet(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tenet")).args(args).env("NO_COLOR", "1").output().unwrap()
}

/// The shipped packs on the shipped tenants, in `format`.
fn examples(format: &str) -> String {
    let out = tenet(&["check", "-p", "policies", "examples/tenants", "--now", NOW, "--format", format]);
    assert_eq!(out.status.code(), Some(1), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

fn sarif_schema() -> jsonschema::Validator {
    let text = std::fs::read_to_string("tests/schemas/sarif-schema-2.1.0.json").unwrap();
    let schema: serde_json::Value = serde_json::from_str(&text).unwrap();
    jsonschema::draft4::new(&schema).unwrap()
}

fn assert_valid_sarif(doc: &serde_json::Value) {
    let v = sarif_schema();
    let errors: Vec<String> = v.iter_errors(doc).map(|e| format!("{} at {}", e, e.instance_path())).collect();
    assert!(errors.is_empty(), "SARIF does not validate:\n{}", errors.join("\n"));
}

/// The text of `file` from 1-based `line` and `column` (characters) on.
fn text_at(file: &str, line: u64, column: u64) -> String {
    let text = std::fs::read_to_string(file).unwrap();
    let l = text.lines().nth(line as usize - 1).unwrap_or_else(|| panic!("{file} has no line {line}"));
    let rest: String = l.chars().skip(column as usize - 1).collect();
    let after: String = text.lines().skip(line as usize).take(3).collect::<Vec<_>>().join("\n");
    format!("{rest}\n{after}")
}

#[test]
fn sarif_of_the_examples_validates_and_points_at_each_subject() {
    let doc: serde_json::Value = serde_json::from_str(&examples("sarif")).unwrap();
    assert_valid_sarif(&doc);
    let run = &doc["runs"][0];
    let rules = run["tool"]["driver"]["rules"].as_array().unwrap();
    let results = run["results"].as_array().unwrap();
    let json: serde_json::Value = serde_json::from_str(&examples("json")).unwrap();
    assert_eq!(results.len(), json["findings"].as_array().unwrap().len());
    assert!(!results.is_empty());
    for r in results {
        let i = r["ruleIndex"].as_u64().unwrap() as usize;
        assert_eq!(rules[i]["id"], r["ruleId"]);
        let loc = &r["locations"][0]["physicalLocation"];
        let file = loc["artifactLocation"]["uri"].as_str().unwrap();
        let (line, col) =
            (loc["region"]["startLine"].as_u64().unwrap(), loc["region"]["startColumn"].as_u64().unwrap());
        let at = text_at(file, line, col);
        let subject = &r["properties"]["subject"];
        if file.ends_with(".json") || file.ends_with(".jsonl") {
            assert!(at.starts_with('{'), "{file}:{line}:{col} is not an object: {at}");
        }
        // The subject's key is written right there: its object starts at this place.
        if let Some(id) = subject["id"].as_str() {
            let near: String = at.chars().take(40 + 4 * id.len()).collect();
            assert!(near.contains(id), "{file}:{line}:{col} is not {id}: {near}");
        } else {
            let tenant = r["properties"]["tenant"].as_str().unwrap();
            assert!(at.contains(tenant) || line == 1 || !file.ends_with(".jsonl"), "{file}:{line}:{col}");
        }
    }
    // Stable, distinct fingerprints.
    let mut fps: Vec<&str> =
        results.iter().map(|r| r["partialFingerprints"]["tenetFinding/v1"].as_str().unwrap()).collect();
    fps.sort_unstable();
    fps.dedup();
    assert_eq!(fps.len(), results.len());
}

#[test]
fn sarif_root_makes_uris_relative_to_it() {
    let out = tenet(&[
        "check",
        "-p",
        "policies",
        "examples/tenants/netsuite-globex.json",
        "--now",
        NOW,
        "--format",
        "sarif",
        "--sarif-root",
        "examples",
    ]);
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_valid_sarif(&doc);
    let a = &doc["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"];
    assert_eq!(a["uri"], "tenants/netsuite-globex.json");
    assert_eq!(a["uriBaseId"], "SRCROOT");
    let base = doc["runs"][0]["originalUriBaseIds"]["SRCROOT"]["uri"].as_str().unwrap();
    assert!(base.starts_with("file:///") && base.ends_with("/examples/"), "{base}");
}

#[test]
fn formats_of_the_examples() {
    insta::assert_snapshot!("github", examples("github"));
    insta::assert_snapshot!("junit", examples("junit"));
    insta::assert_snapshot!("gitlab", examples("gitlab"));
    insta::assert_snapshot!("markdown", examples("markdown"));
    let sarif: serde_json::Value = serde_json::from_str(&examples("sarif")).unwrap();
    insta::assert_json_snapshot!("sarif", sarif);
}

#[test]
fn every_format_shows_input_findings() {
    let dir = super::scratch::scratch("input");
    let bad = dir.path().join("broken.json");
    std::fs::write(&bad, "{\"id\": ").unwrap();
    let bad = bad.to_str().unwrap();
    for (format, needle) in [
        ("sarif", "\"ruleId\": \"input\""),
        ("github", "::error file="),
        ("junit", "<testsuite name=\"input\""),
        ("gitlab", "\"check_name\": \"input\""),
        ("markdown", "input"),
        ("json", "\"rule\": \"input\""),
    ] {
        let out = tenet(&["check", "-p", "policies", bad, "--now", NOW, "--format", format]);
        assert_eq!(out.status.code(), Some(2), "{format}");
        let text = String::from_utf8(out.stdout).unwrap();
        assert!(text.contains(needle), "{format}: {text}");
        if format == "sarif" {
            assert_valid_sarif(&serde_json::from_str(&text).unwrap());
        }
    }
}

#[test]
fn output_writes_further_reports_in_the_same_run() {
    let dir = super::scratch::scratch("output");
    let sarif = dir.path().join("results.sarif");
    let junit = dir.path().join("junit.xml");
    let args = ["check", "-p", "policies", "examples/tenants", "--now", NOW, "--format", "json"];
    let plain = tenet(&args);
    let mut more: Vec<&str> = args.to_vec();
    let (s, j) = (format!("sarif={}", sarif.display()), format!("junit={}", junit.display()));
    more.extend(["--output", &s, "--output", &j]);
    let both = tenet(&more);
    assert_eq!(both.status.code(), Some(1));
    assert_eq!(plain.stdout, both.stdout, "standard output is the same report");
    assert_eq!(std::fs::read_to_string(&sarif).unwrap(), examples("sarif"));
    assert_eq!(std::fs::read_to_string(&junit).unwrap(), examples("junit"));

    // A bad spec is a usage error before anything runs; an unwritable path fails the run
    // with exit 2 and leaves no partial file.
    let out = tenet(&["check", "-p", "policies", "examples/tenants", "--output", "xml=a.xml"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown format `xml`"));
    let missing = dir.path().join("no/such/dir/r.sarif");
    let spec = format!("sarif={}", missing.display());
    let out = tenet(&["check", "-p", "policies", "examples/tenants", "--now", NOW, "--output", &spec]);
    assert_eq!(out.status.code(), Some(2));
    assert!(!missing.exists());
}

const POLICY: &str = "policy \"p\"\n@message(\"User {user.email} has {count(user.sessions)} sessions\")\nrule one_session: count(user.sessions) <= 1\nrule seats: plan.seats >= 5\n";

/// `check --format jsonl` of `POLICY` over `files` (name, text) written to a directory:
/// `(tenant, subject path, file name, line, column)` per finding.
fn locations(files: &[(&str, &str)]) -> Vec<(String, String, String, u64, u64)> {
    let dir = super::scratch::scratch("locations");
    std::fs::write(dir.path().join("p.tenet"), POLICY).unwrap();
    for (name, text) in files {
        std::fs::write(dir.path().join(name), text).unwrap();
    }
    let out = Command::new(env!("CARGO_BIN_EXE_tenet"))
        .current_dir(dir.path())
        .args(["check", "-p", "p.tenet", "--now", NOW, "--format", "jsonl"])
        .args(files.iter().map(|f| f.0))
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    text.lines()
        .filter(|l| l.starts_with("{\"tenant\""))
        .map(|l| {
            let f: serde_json::Value = serde_json::from_str(l).unwrap();
            let loc = &f["location"];
            (
                f["tenant"].as_str().unwrap().to_string(),
                f["subject"]["path"].as_str().unwrap().to_string(),
                loc["file"].as_str().unwrap().to_string(),
                loc["line"].as_u64().unwrap(),
                loc["column"].as_u64().unwrap(),
            )
        })
        .collect()
}

fn loc(t: &str, path: &str, file: &str, line: u64, col: u64) -> (String, String, String, u64, u64) {
    (t.into(), path.into(), file.into(), line, col)
}

#[test]
fn locations_in_jsonl_yaml_and_multi_document_yaml() {
    let jsonl = "{\"id\":\"a\",\"plan\":{\"seats\":9},\"users\":[{\"id\":\"u1\",\"sessions\":[{}]}]}\n\n{\"id\":\"b\",\"plan\":{\"seats\":1},\"users\":[{\"id\":\"ü1\",\"sessions\":[]},{\"id\":\"ü2\",\"name\":\"é\",\"sessions\":[{},{}]}]}\n";
    let yaml = "# a comment\nid: c\nplan:\n  seats: 9\nusers:\n  - id: u1\n    sessions: [{}, {}]\n";
    let multi = "id: d\nplan: {seats: 9}\nusers: []\n---\n# second\nid: e\nplan:\n  seats: 2\nusers:\n  - id: x\n    sessions: []\n  -\n    id: y\n    sessions:\n      - {}\n      - {}\n";
    let got = locations(&[("bulk.jsonl", jsonl), ("one.yaml", yaml), ("multi.yaml", multi)]);
    assert_eq!(
        got,
        vec![
            // In a JSONL line, the column of the entity, in characters (`ü` is two bytes).
            loc("b", "users[1]", "bulk.jsonl", 3, 65),
            loc("b", "", "bulk.jsonl", 3, 1),
            loc("c", "users[0]", "one.yaml", 6, 5),
            loc("e", "users[1]", "multi.yaml", 13, 5),
            loc("e", "", "multi.yaml", 6, 1),
        ]
    );
}

/// A JSON file of `STREAM_MIN_BYTES` or more is decoded as it is read and never held, nor
/// read again whole: its findings still point at their subjects, nested ones included,
/// after lines holding multi-byte characters.
#[test]
fn locations_in_a_streamed_file() {
    let dir = super::scratch::scratch("streamed");
    std::fs::write(dir.path().join("p.tenet"), "policy \"s\"\nrule no_api: session.client != \"api\"\n").unwrap();
    let mut text = String::from("{\n  \"id\": \"big\",\n  \"users\": [\n");
    // (subject path, byte offset) of each session planted to fail.
    let mut planted = Vec::new();
    let mut i = 0;
    while text.len() < snapshot::STREAM_MIN_BYTES as usize + 10_000 {
        if i > 0 {
            text.push_str(",\n");
        }
        let api = i % 5000 == 4999;
        text.push_str(&format!(
            "    {{\"id\": \"ü{i}\", \"name\": \"Zoë 日本 {}\", \"sessions\": [",
            "é".repeat(i % 50)
        ));
        text.push_str("{\"client\": \"web\"}, ");
        if api {
            planted.push((format!("users[{i}].sessions[1]"), text.len()));
        }
        text.push_str(&format!("{{\"client\": \"{}\"}}]}}", if api { "api" } else { "web" }));
        i += 1;
    }
    text.push_str("\n  ]\n}\n");
    std::fs::write(dir.path().join("big.json"), &text).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_tenet"))
        .current_dir(dir.path())
        .args(["check", "-p", "p.tenet", "big.json", "--now", NOW, "--format", "jsonl"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", String::from_utf8_lossy(&out.stderr));
    let got: Vec<(String, u64, u64)> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .filter(|l| l.starts_with("{\"tenant\""))
        .map(|l| {
            let f: serde_json::Value = serde_json::from_str(l).unwrap();
            let loc = &f["location"];
            assert_eq!(loc["file"], "big.json");
            (
                f["subject"]["path"].as_str().unwrap().to_string(),
                loc["line"].as_u64().unwrap(),
                loc["column"].as_u64().unwrap(),
            )
        })
        .collect();
    let want: Vec<(String, u64, u64)> = planted
        .iter()
        .map(|(path, at)| {
            let before = &text[..*at];
            let line_start = before.rfind('\n').map_or(0, |n| n + 1);
            (path.clone(), before.matches('\n').count() as u64 + 1, before[line_start..].chars().count() as u64 + 1)
        })
        .collect();
    assert!(want.len() > 20, "the file has failures to locate");
    assert_eq!(got, want);
    let (_, line, column) = &got[0];
    assert!(
        text_at(&dir.path().join("big.json").to_string_lossy(), *line, *column).starts_with("{\"client\": \"api\"}")
    );
}

#[test]
fn passing_subjects_are_never_located() {
    let engine = Engine::builder(Model::erp()).policy(SourceFile::new("p.tenet", POLICY)).build().ok().unwrap();
    let now = tenet::value::parse_date(NOW).unwrap();
    let doc = |text: &str| snapshot::Document {
        label: "t.json".into(),
        source: "t.json".into(),
        content: Ok(snapshot::Content::Json(text.as_bytes().to_vec())),
        origins: None,
    };
    let users: String = (0..500).map(|i| format!("{{\"id\":\"u{i}\",\"sessions\":[{{}}]}},")).collect();
    let clean = format!("{{\"id\":\"t\",\"plan\":{{\"seats\":9}},\"users\":[{}]}}", users.trim_end_matches(','));
    let before = located_on_this_thread();
    let report = engine.run_document(&doc(&clean), now);
    assert!(report.findings.is_empty());
    assert_eq!(located_on_this_thread(), before, "a clean tenant is not walked again");
    let dirty = clean.replacen("\"sessions\":[{}]", "\"sessions\":[{},{}]", 1).replace("\"seats\":9", "\"seats\":1");
    let report = engine.run_document(&doc(&dirty), now);
    assert_eq!(report.findings.len(), 2);
    assert_eq!(located_on_this_thread(), before + 2, "only the two findings' subjects");
    let l = report.findings[0].location.as_ref().unwrap();
    assert_eq!((l.line, l.column), (1, 39));
}

#[test]
fn hostile_data_is_escaped_in_every_format() {
    let dir = super::scratch::scratch("hostile");
    let name = "100% ]]> <b>&\\u0007 \\r\\n::error::x, *y* | `z` \\u001b[31m";
    let tenant = format!("{{\"id\":\"t,1:%\",\"plan\":{{\"seats\":9}},\"users\":[{{\"id\":\"u\",\"email\":\"{name}\",\"sessions\":[{{}},{{}}]}}]}}");
    let file = dir.path().join("x.json");
    std::fs::write(&file, tenant).unwrap();
    std::fs::write(dir.path().join("p.tenet"), POLICY).unwrap();
    let run = |format: &str| {
        let out = Command::new(env!("CARGO_BIN_EXE_tenet"))
            .current_dir(dir.path())
            .args(["check", "-p", "p.tenet", "x.json", "--now", NOW, "--format", format])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1), "{format}");
        String::from_utf8(out.stdout).unwrap()
    };
    let github = run("github");
    let lines: Vec<&str> = github.lines().collect();
    assert_eq!(lines.len(), 2, "one command and the summary: {github}");
    // The annotation is on the `sessions` field that decided the finding (the user is at 43).
    assert!(lines[0].starts_with("::error file=x.json,line=1,col=120,title="), "{}", lines[0]);
    assert!(lines[0].contains("100%25 ]]> <b>&\\u{7} %0D%0A::error::x, *y*"), "{}", lines[0]);
    assert!(!lines[0].contains('\x1b') && !lines[0].contains('\x07'));
    let junit = run("junit");
    assert!(junit.contains("100% ]]&gt; &lt;b&gt;&amp;\\u{7} &#13;&#10;::error::x"), "{junit}");
    assert!(!junit.chars().any(|c| c.is_control() && c != '\n'), "no raw control characters");
    assert_eq!(junit.matches("<b>").count(), 0);
    let md = run("markdown");
    assert!(md.contains("100\\% \\]\\]&gt; &lt;b&gt;&amp;\\u{7}"), "{md}");
    assert!(!md.contains("<b>") && !md.contains('\x1b'));
    let sarif: serde_json::Value = serde_json::from_str(&run("sarif")).unwrap();
    assert_valid_sarif(&sarif);
    assert!(sarif["runs"][0]["results"][0]["message"]["text"].as_str().unwrap().contains("]]> <b>&\u{7} \r\n"));
    let gitlab: serde_json::Value = serde_json::from_str(&run("gitlab")).unwrap();
    assert_eq!(gitlab[0]["location"]["path"], "x.json");
    assert!(Path::new(&dir.path().join("x.json")).exists());
}
