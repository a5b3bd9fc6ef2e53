//! Where findings on imported tenants (`tenet check --from`) point: at the record of the
//! export file each subject was made from (a JSON object in a `{"data": [...]}` response or
//! a `bench export-json` array, an item of a SuiteQL page, a CSV row), at the overlay for
//! what the overlay gave, and at the tenant's own record (or its directory) for tenant-level
//! findings. The expected places are computed from the fixtures' text, not written down.

use super::scratch::scratch;
use std::process::{Command, Output};

const NOW: &str = "2026-12-05T12:00:00Z";

/// The findings of `policy` on an export, as `(subject path, file, line, column)`.
fn located(
    name: &str,
    policy: &str,
    vendor: &str,
    source: &str,
    overlay: Option<&str>,
) -> Vec<(String, String, u64, u64)> {
    let dir = scratch(name);
    let p = dir.join("p.tenet");
    std::fs::write(&p, policy).unwrap();
    let mut args = vec!["check", "--format", "json", "--now", NOW, "-p", p.to_str().unwrap(), "--from", vendor, source];
    if let Some(o) = overlay {
        args.extend(["--overlay", o]);
    }
    let o: Output = Command::new(env!("CARGO_BIN_EXE_tenet")).args(&args).output().unwrap();
    drop(dir);
    let report: serde_json::Value = serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("not a JSON report ({e}): {}", String::from_utf8_lossy(&o.stderr)));
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            let l = &f["location"];
            (
                f["subject"]["path"].as_str().unwrap().to_string(),
                l["file"].as_str().unwrap().to_string(),
                l["line"].as_u64().unwrap(),
                l["column"].as_u64().unwrap(),
            )
        })
        .collect()
}

/// The line and column of the object that holds the `n`th occurrence (0-based) of `needle`
/// in `file`: its `{`.
fn object_holding(file: &str, needle: &str, n: usize) -> (u64, u64) {
    let text = std::fs::read_to_string(file).unwrap();
    let at = text.match_indices(needle).nth(n).unwrap_or_else(|| panic!("`{needle}` not in {file}")).0;
    let open = text[..at].rfind('{').unwrap();
    position(&text, open)
}

/// The 1-based line and column (in characters) of byte `at`.
fn position(text: &str, at: usize) -> (u64, u64) {
    let before = &text[..at];
    let line = before.matches('\n').count() as u64 + 1;
    let start = before.rfind('\n').map_or(0, |i| i + 1);
    (line, text[start..at].chars().count() as u64 + 1)
}

fn one(found: &[(String, String, u64, u64)]) -> (String, String, u64, u64) {
    assert_eq!(found.len(), 1, "{found:?}");
    found[0].clone()
}

#[test]
fn an_erpnext_user_points_at_its_record_in_the_users_file() {
    // `User.json` is a REST list response; the same users are also in `users-bench.json`
    // (with their roles): the first file read (in path order) keys the user.
    let policy = "policy \"p\"\nrule r: user.id != \"meera.iyer@nimbusfoods.example.com\"\n";
    let (path, file, line, column) = one(&located("user", policy, "frappe", "examples/exports/frappe-v15", None));
    assert_eq!(path, "users[2]");
    assert_eq!(file, "examples/exports/frappe-v15/User.json");
    assert_eq!((line, column), object_holding(&file, "\"name\": \"meera.iyer@", 0));
    assert_eq!((line, column), (5, 5));
}

#[test]
fn a_role_points_into_a_bench_export_json_array() {
    // `Role.json` of v15 is a `bench export-json` array: one key per line, the object's `{`
    // on a line of its own.
    let policy = "policy \"p\"\nrule r: role.id != \"Accounts Manager\"\n";
    let (_, file, line, column) = one(&located("role", policy, "frappe", "examples/exports/frappe-v15", None));
    assert_eq!(file, "examples/exports/frappe-v15/Role.json");
    assert_eq!((line, column), object_holding(&file, "\"name\": \"Accounts Manager\"", 0));
}

#[test]
fn netsuite_findings_point_into_the_suiteql_pages() {
    // Employees 12 (page 1, `employee.1.json`) and 40 (page 2, `employee.2.json`); role 1004
    // is on the second of two pages concatenated in `role.json`.
    let policy = "policy \"p\"\nrule u: user.id != \"12\" and user.id != \"40\"\nrule r: role.id != \"1004\"\n";
    let found = located("netsuite", policy, "netsuite", "examples/exports/netsuite", None);
    assert_eq!(found.len(), 3, "{found:?}");
    let dir = "examples/exports/netsuite";
    let expect = |file: &str, needle: &str| {
        let file = format!("{dir}/{file}");
        let (l, c) = object_holding(&file, needle, 0);
        (file, l, c)
    };
    let got: Vec<(String, u64, u64)> = found.iter().map(|(_, f, l, c)| (f.clone(), *l, *c)).collect();
    assert!(got.contains(&expect("employee.1.json", "\"id\": \"12\"")), "{got:?}");
    assert!(got.contains(&expect("employee.2.json", "\"id\": \"40\"")), "{got:?}");
    let role = expect("role.json", "\"id\": \"1004\"");
    assert!(role.1 > 6, "on the second page: {role:?}");
    assert!(got.contains(&role), "{got:?}");
}

#[test]
fn a_session_points_at_its_csv_row() {
    // `Sessions.csv` (v14, tab-separated): the row of Jonas's mobile session, column 1.
    let policy = "policy \"p\"\nrule s when has(session.ip): session.ip != \"198.51.100.31\"\n";
    let (path, file, line, column) = one(&located("csv", policy, "frappe", "examples/exports/frappe-v14", None));
    assert!(path.contains(".sessions["), "{path}");
    assert_eq!(file, "examples/exports/frappe-v14/Sessions.csv");
    let text = std::fs::read_to_string(&file).unwrap();
    let row = text.lines().position(|l| l.contains("198.51.100.31")).unwrap() as u64 + 1;
    assert_eq!((line, column), (row, 1));
}

#[test]
fn tenant_level_findings_point_at_the_tenants_record_or_its_directory() {
    let policy = "policy \"p\"\nrule t: tenant.platform == \"other\"\n";
    // Frappe: the System Settings document (a REST single document: `{"data": {…}}`).
    let (path, file, line, column) = one(&located("t1", policy, "frappe", "examples/exports/frappe-v15", None));
    assert_eq!(path, "");
    assert_eq!(file, "examples/exports/frappe-v15/System Settings.json");
    assert_eq!((line, column), object_holding(&file, "\"name\": \"System Settings\"", 0));
    // NetSuite has no tenant record; a Frappe export without System Settings neither.
    let (_, file, line, column) = one(&located("t2", policy, "netsuite", "examples/exports/netsuite", None));
    assert_eq!((file.as_str(), line, column), ("examples/exports/netsuite", 1, 1));
    let bulk = located("t3", policy, "frappe", "examples/exports/bulk", None);
    let files: Vec<&str> = bulk.iter().map(|f| f.1.as_str()).collect();
    assert_eq!(
        files,
        [
            "examples/exports/bulk/acme-foods/export.json",
            "examples/exports/bulk/globex-traders/System Settings.json",
            "examples/exports/bulk/initech-tools"
        ]
    );
}

#[test]
fn what_the_overlay_gives_points_into_the_overlay() {
    // Integration 101 is in the export (its certificates only in the overlay); integration
    // 102 is in both. The certificates point at their line in the overlay file.
    let overlay = "examples/exports/netsuite.overlay.yaml";
    let policy = "policy \"p\"\nrule c: cert.status != \"revoked\"\nrule i: integration.id != \"102\"\n";
    let found = located("overlay", policy, "netsuite", "examples/exports/netsuite", Some(overlay));
    let text = std::fs::read_to_string(overlay).unwrap();
    let mut certs = Vec::new();
    for (path, file, line, column) in &found {
        if path.contains(".certificates[") {
            assert_eq!(file, overlay);
            certs.push((*line, *column));
        } else {
            assert_eq!(path, "integrations[1]");
            assert_eq!(file, "examples/exports/netsuite/integration.json");
        }
    }
    let at = |id: &str| {
        let i = text.find(&format!("{{id: {id},")).unwrap();
        position(&text, i)
    };
    assert_eq!(certs, vec![at("c2"), at("c5")]);
}

#[test]
fn an_entity_a_keyed_overlay_adds_points_at_it() {
    // An overlay keyed by tenant id that appends a user to one tenant of a bulk export.
    let dir = scratch("keyed");
    let overlay = dir.join("keyed.overlay.yaml");
    let text =
        "tenants:\n  globex-traders:\n    users:\n      - id: extra@globex.example.com\n        enabled: false\n";
    std::fs::write(&overlay, text).unwrap();
    let overlay = overlay.to_str().unwrap();
    let policy = "policy \"p\"\nrule u: user.enabled\n";
    let found = located("keyed-run", policy, "frappe", "examples/exports/bulk", Some(overlay));
    let extra: Vec<_> = found.iter().filter(|f| f.1 == overlay).collect();
    assert_eq!(extra.len(), 1, "{found:?}");
    assert_eq!((extra[0].2, extra[0].3), position(text, text.find("id: extra").unwrap()));
    // The other findings point into the export.
    assert!(found.iter().filter(|f| f.1 != overlay).all(|f| f.1.starts_with("examples/exports/bulk/")), "{found:?}");
}

/// The findings of `policy` on the tenants under `source` (written in `dir`), as
/// `(tenant, rule, file, line, column)`.
fn findings_of(
    dir: &std::path::Path,
    policy: &str,
    vendor: &str,
    source: &str,
) -> Vec<(String, String, String, u64, u64)> {
    let p = dir.join("p.tenet");
    std::fs::write(&p, policy).unwrap();
    let args = ["check", "--format", "json", "--now", NOW, "-p", p.to_str().unwrap(), "--from", vendor, source];
    let o: Output = Command::new(env!("CARGO_BIN_EXE_tenet")).args(args).output().unwrap();
    let report: serde_json::Value = serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("not a JSON report ({e}): {}", String::from_utf8_lossy(&o.stderr)));
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            let l = &f["location"];
            (
                f["tenant"].as_str().unwrap().to_string(),
                f["rule"].as_str().unwrap().to_string(),
                l["file"].as_str().unwrap().to_string(),
                l["line"].as_u64().unwrap(),
                l["column"].as_u64().unwrap(),
            )
        })
        .collect()
}

/// The `input` finding of tenant `t`, as `(file, line, column)`.
fn input_of(found: &[(String, String, String, u64, u64)], t: &str) -> (String, u64, u64) {
    let mine: Vec<_> = found.iter().filter(|f| f.0.ends_with(t) && f.1 == "input").collect();
    assert_eq!(mine.len(), 1, "{t}: {found:?}");
    (mine[0].2.clone(), mine[0].3, mine[0].4)
}

#[test]
fn a_broken_export_file_points_at_the_file_and_the_place_of_the_error() {
    let dir = scratch("broken");
    let bulk = dir.join("bulk");
    let put = |rel: &str, text: &str| {
        let f = bulk.join(rel);
        std::fs::create_dir_all(f.parent().unwrap()).unwrap();
        std::fs::write(f, text).unwrap();
    };
    let good = "{\"data\": [{\"name\": \"a@x\", \"enabled\": 1}]}";
    put("a-good/User.json", good);
    // A missing comma on line 3, after a name with a two-byte character: the column is
    // counted in characters, as everywhere in a location.
    let json = "{\"data\": [\n  {\"name\": \"a@x\", \"enabled\": 1},\n  {\"name\": \"bé@x\" \"enabled\": 1}\n]}\n";
    put("b-json/User.json", json);
    // A CSV row with one cell too many, on line 3.
    put("c-csv/User.json", good);
    put("c-csv/Sessions.csv", "user,status\na@x,Active\na@x,Active,extra\n");
    // A document that is not an object: the item itself.
    put("d-shape/User.json", "{\"data\": [\n  {\"name\": \"a@x\"},\n  42\n]}");
    // A file that is not a table the adapter reads: its start.
    put("e-unknown/Company.json", "{\"data\": [{\"name\": \"Acme\"}]}");
    put("f-good/User.json", good);
    let root = bulk.to_str().unwrap();
    let found = findings_of(&dir, "policy \"p\"\nrule r: user.id != \"a@x\"\n", "frappe", root);

    let file = format!("{root}/b-json/User.json");
    let at = json.find("\" \"enabled").unwrap() + 2;
    let (line, column) = position(json, at);
    assert_eq!((line, column), (3, 19));
    assert_eq!(input_of(&found, "b-json"), (file, line, column));
    assert_eq!(input_of(&found, "c-csv"), (format!("{root}/c-csv/Sessions.csv"), 3, 1));
    assert_eq!(input_of(&found, "d-shape"), (format!("{root}/d-shape/User.json"), 3, 3));
    assert_eq!(input_of(&found, "e-unknown"), (format!("{root}/e-unknown/Company.json"), 1, 1));
    // The other tenants were checked, and their findings point at their records.
    for t in ["a-good", "f-good"] {
        let f: Vec<_> = found.iter().filter(|f| f.0.ends_with(t)).collect();
        assert_eq!(f.len(), 1, "{t}: {found:?}");
        assert_eq!((f[0].1.as_str(), f[0].2.clone(), f[0].3, f[0].4), ("r", format!("{root}/{t}/User.json"), 1, 11));
    }
}

#[test]
fn an_incomplete_suiteql_export_points_at_the_page_to_blame() {
    let dir = scratch("pages");
    let page = |offset: u32, more: bool, total: u32, ids: &[&str]| {
        let items: Vec<String> =
            ids.iter().map(|i| format!(r#"{{"links": [], "id": "{i}", "name": "R{i}", "isinactive": "F"}}"#)).collect();
        format!(
            r#"{{"links": [], "count": {}, "hasMore": {more}, "items": [{}], "offset": {offset}, "totalResults": {total}}}"#,
            ids.len(),
            items.join(",")
        )
    };
    let put = |rel: &str, text: &str| {
        let f = dir.join("bulk").join(rel);
        std::fs::create_dir_all(f.parent().unwrap()).unwrap();
        std::fs::write(f, text).unwrap();
    };
    // The last page says there are more: that page (the second in its file, indented).
    put("a-cut/role.json", &format!("{}\n  {}\n", page(0, true, 5, &["1", "2"]), page(2, true, 5, &["3"])));
    // The rows do not add up to `totalResults`: the page that says it.
    put("b-total/role.1.json", &page(0, true, 3, &["1", "2"]));
    put("b-total/role.2.json", &format!("\n{}", page(2, false, 4, &["3"])));
    put("c-good/role.json", &page(0, false, 1, &["1"]));
    let root = dir.join("bulk");
    let root = root.to_str().unwrap();
    let found = findings_of(&dir, "policy \"p\"\nrule r: role.id != \"1\"\n", "netsuite", root);
    assert_eq!(input_of(&found, "a-cut"), (format!("{root}/a-cut/role.json"), 2, 3));
    assert_eq!(input_of(&found, "b-total"), (format!("{root}/b-total/role.2.json"), 2, 1));
    let good: Vec<_> = found.iter().filter(|f| f.0.ends_with("c-good")).collect();
    assert_eq!(good.len(), 1, "{found:?}");
    assert_eq!((good[0].1.as_str(), good[0].3), ("r", 1), "{found:?}");
}
