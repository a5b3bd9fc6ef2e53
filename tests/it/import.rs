//! `tenet import`, `tenet check --from` and a test case's `from:` on the fixtures in
//! `examples/exports/` and on broken exports made here. The shipped packs are not used:
//! the policies are small and inline.

use super::scratch::scratch;
use std::path::Path;
use std::process::{Command, Output};

fn tenet(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tenet")).args(args).output().unwrap()
}

fn tenet_in(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tenet")).args(args).current_dir(dir).output().unwrap()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn write(dir: &Path, name: &str, content: &[u8]) {
    let p = dir.join(name);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, content).unwrap();
}

const NOW: &str = "2026-12-05T12:00:00Z";

/// Rules over what the importers fill; each can fail on a fixture.
const POLICY: &str = r#"policy "imported"
@message("{user.id} has {count(user.sessions)} sessions over a cap of {user.session_cap}")
rule within_cap when has(user.sessions): count(user.sessions) <= user.session_cap
rule seats: plan.seats >= sum(user.session_cap)
@severity(warning)
rule enabled_users_logged_in when user.enabled: has(user.last_login)
rule two_factor_roles_active: role.status == "active" or not role.2fa
rule expiry_short when has(tenant.settings.session_expiry): tenant.settings.session_expiry <= 7d
"#;

const FIXTURES: &[(&str, &str, Option<&str>)] = &[
    ("frappe", "examples/exports/frappe-v15", Some("examples/exports/frappe-v15.overlay.yaml")),
    ("frappe", "examples/exports/frappe-v14", Some("examples/exports/frappe-v14.overlay.yaml")),
    ("netsuite", "examples/exports/netsuite", Some("examples/exports/netsuite.overlay.yaml")),
    ("frappe", "examples/exports/bulk", Some("examples/exports/bulk.overlay.yaml")),
];

fn import_args<'a>(vendor: &'a str, dir: &'a str, overlay: Option<&'a str>) -> Vec<&'a str> {
    let mut a = vec!["import", "--from", vendor, dir];
    if let Some(o) = overlay {
        a.extend(["--overlay", o]);
    }
    a
}

#[test]
fn each_fixture_imports_to_its_snapshot() {
    for (vendor, dir, overlay) in FIXTURES {
        for with_overlay in [false, true] {
            let o = tenet(&import_args(vendor, dir, overlay.filter(|_| with_overlay)));
            assert_eq!(o.status.code(), Some(0), "{dir}: {}", stderr(&o));
            let name = format!(
                "{}{}",
                Path::new(dir).file_name().unwrap().to_string_lossy(),
                if with_overlay { "-overlay" } else { "" }
            );
            insta::assert_snapshot!(format!("import-{name}"), stdout(&o));
        }
    }
}

#[test]
fn import_reports_what_it_filled_and_what_is_missing() {
    let o =
        tenet(&import_args("frappe", "examples/exports/frappe-v15", Some("examples/exports/frappe-v15.overlay.yaml")));
    let err = stderr(&o);
    assert!(err.contains("filled   user.session_cap"), "{err}");
    assert!(err.contains("examples/exports/frappe-v15/users-bench.json"), "{err}");
    assert!(
        err.contains("tenant.plan.seats") && err.contains("from overlay examples/exports/frappe-v15.overlay.yaml"),
        "{err}"
    );
    // v15 has no mobile session expiry: it stays missing, it does not become empty.
    let missing = err.lines().find(|l| l.trim_start().starts_with("missing")).unwrap();
    assert!(missing.contains("tenant.settings.session_expiry_mobile"), "{missing}");
    assert!(missing.contains("session.client"), "{missing}");
    insta::assert_snapshot!("import-report-frappe-v15", err);
}

#[test]
fn absent_data_stays_absent() {
    let o = tenet(&["import", "--from", "frappe", "examples/exports/frappe-v15"]);
    let snap: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert!(snap["settings"].get("session_expiry_mobile").is_none());
    assert!(snap.get("plan").is_none());
    for u in snap["users"].as_array().unwrap() {
        for s in u["sessions"].as_array().unwrap() {
            assert!(s.get("client").is_none(), "v15 sessions have no device: {s}");
        }
    }
    // No Sessions export: no `sessions` at all (not empty lists).
    let o = tenet(&["import", "--from", "frappe", "examples/exports/bulk/acme-foods"]);
    let snap: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert!(snap["users"].as_array().unwrap().iter().all(|u| u.get("sessions").is_none()));
    assert!(snap.get("integrations").is_none());
    // v14: the mobile expiry and the device are there.
    let o = tenet(&["import", "--from", "frappe", "examples/exports/frappe-v14"]);
    let snap: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(snap["settings"]["session_expiry_mobile"], "30d");
    assert_eq!(snap["users"][2]["sessions"][1]["client"], "mobile_app");
}

/// The findings of a JSON report without the field that names the input (a directory for
/// `--from`, a file otherwise).
fn findings(o: &Output) -> Vec<serde_json::Value> {
    let report: serde_json::Value = serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("not a JSON report ({e}): {}\n{}", stdout(o), stderr(o)));
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .cloned()
        .map(|mut f| {
            f.as_object_mut().unwrap().remove("source");
            f.as_object_mut().unwrap().remove("location");
            f
        })
        .collect()
}

#[test]
fn check_from_equals_check_on_the_imported_file() {
    let dir = scratch("same");
    write(&dir, "p.tenet", POLICY.as_bytes());
    let policy = dir.join("p.tenet");
    let policy = policy.to_str().unwrap();
    let mut total = 0;
    for (vendor, src, overlay) in FIXTURES {
        let out = dir.join(if *src == "examples/exports/bulk" { "all.jsonl" } else { "one.json" });
        let out = out.to_str().unwrap();
        let mut args = import_args(vendor, src, *overlay);
        args.extend(["-o", out]);
        let o = tenet(&args);
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
        let mut from = vec!["check", "--format", "json", "--now", NOW, "-p", policy, "--from", vendor, src];
        if let Some(ov) = overlay {
            from.extend(["--overlay", ov]);
        }
        let a = tenet(&from);
        let b = tenet(&["check", "--format", "json", "--now", NOW, "-p", policy, out]);
        assert_eq!(a.status.code(), b.status.code(), "{src}: {}", stderr(&a));
        let (fa, fb) = (findings(&a), findings(&b));
        assert_eq!(fa, fb, "{src}");
        total += fa.len();
    }
    // The rules do fail on the fixtures (a comparison of two empty lists proves nothing).
    assert!(total >= 6, "{total}");
}

#[test]
fn findings_on_the_fixtures() {
    let dir = scratch("findings");
    write(&dir, "p.tenet", POLICY.as_bytes());
    let policy = dir.join("p.tenet");
    let o = tenet(&[
        "check",
        "--format",
        "json",
        "--now",
        NOW,
        "-p",
        policy.to_str().unwrap(),
        "--from",
        "frappe",
        "examples/exports/frappe-v15",
        "--overlay",
        "examples/exports/frappe-v15.overlay.yaml",
    ]);
    let lines: Vec<String> = findings(&o)
        .iter()
        .map(|f| format!("{} {} {} {}", f["rule"], f["status"], f["subject"]["path"], f["message"]))
        .collect();
    insta::assert_snapshot!("check-from-frappe-v15", lines.join("\n"));
}

#[test]
fn secrets_never_reach_a_snapshot_or_a_report() {
    // The fixture has a client secret, an API secret, a password, session ids and CSRF
    // tokens planted, all marked PLANTED.
    let raw = std::fs::read_to_string("examples/exports/frappe-v15/Sessions.json").unwrap();
    assert!(raw.contains("PLANTED-csrf-token") && raw.contains("PLANTED-sid"));
    let raw = std::fs::read_to_string("examples/exports/frappe-v15/OAuth Client.json").unwrap();
    assert!(raw.contains("PLANTED-oauth-client-secret"));
    let dir = scratch("secrets");
    write(&dir, "p.tenet", POLICY.as_bytes());
    let out = dir.join("t.json");
    let o = tenet(&["import", "--from", "frappe", "examples/exports/frappe-v15", "-o", out.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0));
    let written = std::fs::read_to_string(&out).unwrap();
    assert!(written.contains("meera.iyer"), "the snapshot was written");
    for text in [written, stderr(&o)] {
        assert!(!text.contains("PLANTED"), "{text}");
    }
    for format in ["json", "human"] {
        let o = tenet(&[
            "check",
            "--format",
            format,
            "--now",
            NOW,
            "-p",
            dir.join("p.tenet").to_str().unwrap(),
            "--from",
            "frappe",
            "examples/exports/frappe-v15",
        ]);
        assert!(!stdout(&o).contains("PLANTED") && !stderr(&o).contains("PLANTED"), "{}", stdout(&o));
    }
    // An adapter that asks for a secret is refused.
    write(
        &dir,
        "leak.yaml",
        b"reader: frappe\ntables:\n  OAuth Client: {doctype: OAuth Client, key: name}\nkinds:\n  integration:\n    table: OAuth Client\n    fields:\n      id: {field: name}\n      name: {field: client_secret}\n",
    );
    let o = tenet(&[
        "import",
        "--from",
        "frappe",
        "examples/exports/frappe-v15",
        "--adapter",
        dir.join("leak.yaml").to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("`client_secret` holds a secret"), "{}", stderr(&o));
    assert!(!stdout(&o).contains("PLANTED"));
}

#[test]
fn a_broken_export_file_is_an_input_finding_and_other_tenants_run() {
    let dir = scratch("broken");
    write(&dir, "p.tenet", POLICY.as_bytes());
    let bulk = dir.join("bulk");
    let good = br#"{"data": [{"name": "a@x", "enabled": 1, "simultaneous_sessions": 2}]}"#;
    write(&bulk, "a-good/User.json", good);
    write(&bulk, "b-badjson/User.json", b"{\"data\": [");
    write(&bulk, "c-unknown/Company.json", br#"{"data": [{"name": "Acme"}]}"#);
    write(&bulk, "d-utf8/User.json", b"{\"data\": [{\"name\": \"\xff\xfe\"}]}");
    write(&bulk, "e-shape/User.json", b"[1, 2]");
    write(&bulk, "f-good/User.json", good);
    #[cfg(unix)]
    {
        write(&dir, "outside/User.json", good);
        std::fs::create_dir_all(bulk.join("g-link")).unwrap();
        std::os::unix::fs::symlink(dir.join("outside/User.json"), bulk.join("g-link/User.json")).unwrap();
    }
    let o = tenet(&[
        "check",
        "--format",
        "json",
        "--now",
        NOW,
        "-p",
        dir.join("p.tenet").to_str().unwrap(),
        "--from",
        "frappe",
        bulk.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let report: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let fs = report["findings"].as_array().unwrap();
    let inputs: Vec<(String, String)> = fs
        .iter()
        .filter(|f| f["rule"] == "input")
        .map(|f| (f["tenant"].as_str().unwrap().to_string(), f["message"].as_str().unwrap().to_string()))
        .collect();
    let msg = |t: &str| inputs.iter().find(|(x, _)| x.ends_with(t)).map(|(_, m)| m.clone()).unwrap_or_default();
    assert!(msg("b-badjson").contains("b-badjson/User.json` is not valid JSON"), "{inputs:?}");
    assert!(
        msg("c-unknown").contains("unrecognised export file") && msg("c-unknown").contains("Company.json"),
        "{inputs:?}"
    );
    assert!(msg("d-utf8").contains("is not UTF-8"), "{inputs:?}");
    assert!(msg("e-shape").contains("item 1 is a number"), "{inputs:?}");
    #[cfg(unix)]
    assert!(msg("g-link").contains("symbolic link to a path outside"), "{inputs:?}");
    // The good tenants were evaluated: `seats` errors on them (no plan in the export).
    for t in ["a-good", "f-good"] {
        assert!(fs.iter().any(|f| f["tenant"] == t && f["rule"] == "seats" && f["status"] == "error"), "{t}: {fs:?}");
    }
    assert_eq!(report["summary"]["tenants"], if cfg!(unix) { 7 } else { 6 });
    // `tenet import` writes the good tenants and exits 2.
    let o = tenet(&["import", "--from", "frappe", bulk.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(stdout(&o).lines().count(), 2, "{}", stdout(&o));
    assert!(stderr(&o).contains("error: cannot import"), "{}", stderr(&o));
}

#[test]
fn a_file_over_the_size_limit_is_refused_without_reading_it() {
    let dir = scratch("huge");
    let f = std::fs::File::create(dir.join("User.json")).unwrap();
    f.set_len(300 << 20).unwrap(); // sparse: no disk used
    let o = tenet(&["import", "--from", "frappe", dir.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("is larger than 256 MiB"), "{}", stderr(&o));
}

#[test]
fn suiteql_pages_must_be_complete() {
    let dir = scratch("pages");
    let page = |offset: u32, more: bool, ids: &[&str]| {
        let items: Vec<String> =
            ids.iter().map(|i| format!(r#"{{"links": [], "id": "{i}", "name": "R{i}", "isinactive": "F"}}"#)).collect();
        format!(
            r#"{{"links": [], "count": {}, "hasMore": {more}, "items": [{}], "offset": {offset}, "totalResults": 3}}"#,
            ids.len(),
            items.join(",")
        )
    };
    // Pages as numbered files, given out of order: put in offset order.
    write(&dir, "ok/role.2.json", page(2, false, &["3"]).as_bytes());
    write(&dir, "ok/role.1.json", page(0, true, &["1", "2"]).as_bytes());
    let o = tenet(&["import", "--from", "netsuite", dir.join("ok").to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let snap: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let ids: Vec<&str> = snap["roles"].as_array().unwrap().iter().map(|r| r["id"].as_str().unwrap()).collect();
    assert_eq!(ids, ["1", "2", "3"]);
    // The last page missing.
    write(&dir, "cut/role.json", page(0, true, &["1", "2"]).as_bytes());
    let o = tenet(&["import", "--from", "netsuite", dir.join("cut").to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("table `role` is incomplete"), "{}", stderr(&o));
    // A page given twice (concatenated in one file).
    let twice = format!("{}\n{}\n{}", page(0, true, &["1", "2"]), page(2, false, &["3"]), page(2, false, &["3"]));
    write(&dir, "twice/role.json", twice.as_bytes());
    let o = tenet(&["import", "--from", "netsuite", dir.join("twice").to_str().unwrap()]);
    assert!(stderr(&o).contains("two pages at offset 2"), "{}", stderr(&o));
    // Not a SuiteQL response.
    write(&dir, "shape/role.json", br#"{"data": []}"#);
    let o = tenet(&["import", "--from", "netsuite", dir.join("shape").to_str().unwrap()]);
    assert!(stderr(&o).contains("no `items` list"), "{}", stderr(&o));
}

#[test]
fn overlays_merge_by_id_and_key_by_tenant() {
    let dir = scratch("overlay");
    write(
        &dir,
        "o.json",
        br#"{"tenants": {"acme-foods": {"roles": [{"id": "Sales User", "2fa": true}, {"id": "New", "name": "New"}], "users": [{"id": "Guest", "enabled": null}]}, "nobody": {"plan": {"seats": 1}}}}"#,
    );
    let o = tenet(&[
        "import",
        "--from",
        "frappe",
        "examples/exports/bulk/acme-foods",
        "--overlay",
        dir.join("o.json").to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(stderr(&o).contains("no imported tenant has id `nobody`"), "{}", stderr(&o));
    let snap: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let roles = snap["roles"].as_array().unwrap();
    assert_eq!(roles.len(), 3);
    assert_eq!(
        roles[1],
        serde_json::json!({"id": "Sales User", "name": "Sales User", "2fa": true, "status": "active"})
    );
    assert_eq!(roles[2]["id"], "New");
    assert!(snap["users"][1].get("enabled").is_none(), "null removes");
    assert_eq!(snap["users"][1]["user_type"], "website", "the rest of the entity stays");
    // A mistake in the overlay is a usage error.
    write(&dir, "bad.yaml", b"tenants: [1]\n");
    let o = tenet(&[
        "import",
        "--from",
        "frappe",
        "examples/exports/bulk",
        "--overlay",
        dir.join("bad.yaml").to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("`tenants` maps tenant ids to values"), "{}", stderr(&o));
}

#[test]
fn adapter_mistakes_are_diagnostics_in_the_adapter_file() {
    let dir = scratch("adapter");
    write(
        &dir,
        "a.yaml",
        b"reader: frappe\ntables:\n  User: {doctype: User, key: name}\nkinds:\n  user:\n    table: User\n    fields:\n      id: {field: name}\n      enabled: {field: enabled, convert: bool}\n",
    );
    let o = tenet(&[
        "import",
        "--from",
        "frappe",
        "examples/exports/frappe-v15",
        "--adapter",
        dir.join("a.yaml").to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2));
    let err = stderr(&o);
    assert!(err.contains("T081") && err.contains("unknown converter"), "{err}");
    assert!(err.contains("a.yaml:9"), "points at the line: {err}");
    assert!(stdout(&o).is_empty());
    // A working custom adapter: only what it maps is imported.
    write(
        &dir,
        "b.yaml",
        b"reader: frappe\ntables:\n  User: {doctype: User, files: [User], key: name}\nkinds:\n  tenant:\n    fields:\n      id: {const: custom}\n  user:\n    table: User\n    where: {user_type: [System User]}\n    fields:\n      id: {field: name}\n      enabled: {field: enabled, convert: bool01, negate: true}\n",
    );
    // (It reads users only: every file of the export must be one it knows.)
    for f in ["User.json", "users-bench.json"] {
        write(&dir, &format!("users/{f}"), &std::fs::read(format!("examples/exports/frappe-v15/{f}")).unwrap());
    }
    let users = dir.join("users");
    let o = tenet(&[
        "import",
        "--from",
        "frappe",
        users.to_str().unwrap(),
        "--adapter",
        dir.join("b.yaml").to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let snap: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(snap["id"], "custom");
    assert_eq!(snap["users"].as_array().unwrap().len(), 4);
    assert_eq!(snap["users"][0], serde_json::json!({"id": "Administrator", "enabled": false}));
    assert!(snap.get("roles").is_none());
}

#[test]
fn bulk_output_is_jsonl_and_a_json_file_takes_one_tenant() {
    let o = tenet(&["import", "--from", "frappe", "examples/exports/bulk"]);
    let ids: Vec<String> = stdout(&o)
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(ids, ["acme-foods", "globex-traders", "initech-tools"]);
    let dir = scratch("bulk");
    let o = tenet(&["import", "--from", "frappe", "examples/exports/bulk", "-o", dir.join("x.json").to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("write a .jsonl file"), "{}", stderr(&o));
    // Several SOURCEs add up.
    let out = dir.join("x.jsonl");
    let o = tenet(&[
        "import",
        "--from",
        "frappe",
        "examples/exports/frappe-v15",
        "examples/exports/bulk",
        "-o",
        out.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(0));
    assert_eq!(std::fs::read_to_string(&out).unwrap().lines().count(), 4);
    // A directory of bulk directories: tenants are found at any depth; the NetSuite
    // export is not a Frappe one, and only that tenant fails.
    let o = tenet(&["import", "--from", "frappe", "examples/exports"]);
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(stdout(&o).lines().count(), 5, "{}", stdout(&o));
    assert!(stderr(&o).contains("error: cannot import `examples/exports/netsuite`"), "{}", stderr(&o));
}

#[test]
fn a_test_case_can_import_its_tenant() {
    let dir = scratch("harness");
    write(&dir, "p.tenet", POLICY.as_bytes());
    for f in ["User.json", "users-bench.json", "Sessions.json", "System Settings.json", "Role.json"] {
        write(
            &dir,
            &format!("exports/nimbus/{f}"),
            &std::fs::read(format!("examples/exports/frappe-v15/{f}")).unwrap(),
        );
    }
    write(&dir, "seats.yaml", b"plan: {seats: 20}\n");
    write(
        &dir,
        "p.test.yaml",
        br#"policy: p.tenet
now: 2026-12-05T12:00:00Z
cases:
  - name: imported
    from: {source: frappe, path: exports/nimbus, overlay: seats.yaml}
    expect:
      - {rule: within_cap, subject: Administrator, status: fail}
      - {rule: enabled_users_logged_in, subject: Guest, status: fail}
"#,
    );
    let o = tenet_in(&dir, &["test", "."]);
    // within_cap: Administrator has 1 session, cap 2 → pass; so the first expectation fails.
    let out = stdout(&o);
    assert_eq!(o.status.code(), Some(1), "{out}{}", stderr(&o));
    assert!(out.contains("within_cap"), "{out}");
    write(
        &dir,
        "p.test.yaml",
        br#"policy: p.tenet
now: 2026-12-05T12:00:00Z
cases:
  - name: imported
    from: {source: frappe, path: exports/nimbus, overlay: seats.yaml}
    expect:
      - {rule: enabled_users_logged_in, subject: Guest, status: fail}
      - {rule: expiry_short, status: fail}
"#,
    );
    let o = tenet_in(&dir, &["test", "."]);
    assert_eq!(o.status.code(), Some(0), "{}{}", stdout(&o), stderr(&o));
    // Paths are confined to the test file's tree, and mistakes point into the test file.
    write(
        &dir,
        "q.test.yaml",
        b"policy: p.tenet\ncases:\n  - name: outside\n    from: {source: frappe, path: ../../elsewhere}\n    expect: pass\n  - name: vendor\n    from: {source: sap, path: exports/nimbus}\n    expect: pass\n",
    );
    let o = tenet_in(&dir, &["test", "q.test.yaml"]);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains("`path: ../../elsewhere` is outside"), "{err}");
    assert!(err.contains("unknown export source `sap`"), "{err}");
}
