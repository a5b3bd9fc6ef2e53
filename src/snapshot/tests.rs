#![allow(clippy::indexing_slicing, reason = "tests index their own fixtures and fail by panicking")]

use super::*;
use crate::model::Model;
use crate::value::{parse_date, Value, TICKS_PER_SEC};
use std::path::PathBuf;
use std::time::Instant;

/// Issue 8, defect 16: a repeated key was last-wins for a JSON scalar, an error for a JSON
/// collection and an error for any YAML key. One rule now: a key tenet reads (a model field,
/// a path to one, a collection, a raw key), given twice in one object, is an input error
/// naming it; repeated keys tenet does not read are ignored, in JSON and YAML alike.
#[test]
fn duplicate_keys_that_are_read_are_input_errors() {
    let m = Model::erp();
    let plan = DecodePlan::new(&m, &full_proj(&m, &[&["meta"], &["x-a", "b"]]));
    let cases: &[(&str, &str, Option<&str>)] = &[
        ("{\"id\": \"a\", \"id\": \"b\"}", "id: a\nid: b\n", Some("duplicate key `id` at ")),
        (
            "{\"users\": [{\"id\": \"u\"}, {\"email\": \"a\", \"email\": null}]}",
            "users:\n  - id: u\n  - email: a\n    email: ~\n",
            Some("duplicate key `users[1].email` at "),
        ),
        (
            "{\"plan\": {\"seats\": 1, \"seats\": 2}}",
            "plan:\n  seats: 1\n  seats: 2\n",
            Some("duplicate key `plan.seats` at "),
        ),
        ("{\"plan\": 1, \"plan\": {}}", "plan: 1\nplan: {}\n", Some("duplicate key `plan` at ")),
        ("{\"x-a\": {\"b\": 1, \"b\": 1}}", "x-a:\n  b: 1\n  b: 1\n", Some("duplicate key `x-a.b` at ")),
        (
            "{\"meta\": {\"k\": 1, \"k\": 2}}",
            "meta:\n  k: 1\n  k: 2\n",
            Some("duplicate key `k` in `tenant[\"meta\"]` at "),
        ),
        // Keys tenet does not read may repeat.
        ("{\"id\": \"a\", \"zz\": 1, \"zz\": {}}", "id: a\nzz: 1\nzz: {}\n", None),
        ("{\"plan\": {\"zz\": 1, \"zz\": 2}}", "plan:\n  zz: 1\n  zz: 2\n", None),
        ("{\"users\": [{\"zz\": 1, \"zz\": 2}]}", "users:\n  - zz: 1\n    zz: 2\n", None),
    ];
    for (j, y, want) in cases {
        for (what, got) in [("json", json(j, &plan)), ("yaml", yaml(y, &plan))] {
            match (want, got) {
                (Some(w), Err(e)) => assert!(e.message.starts_with(w), "{what} {j}: {}", e.message),
                (None, Ok(_)) => {}
                (_, got) => panic!("{what} {j}: {:?}", got.map(|t| shown(&t.tables))),
            }
        }
    }
    // Many keys in a value read whole: the index takes over from the linear search.
    let many: Vec<String> = (0..40).map(|i| format!("\"k{i}\": {i}")).collect();
    let doc = format!("{{\"meta\": {{{}, \"k33\": 0}}}}", many.join(", "));
    assert!(err(json(&doc, &plan)).starts_with("duplicate key `k33` in `tenant[\"meta\"]` at column "));
    assert!(json(&format!("{{\"meta\": {{{}}}}}", many.join(", ")), &plan).is_ok());
    // The same in a large file, whether the repeat is in a split collection's element or
    // among the root's other members.
    for doc in [
        r#"{"id": "t", "users": [{"id": "u1"}], "name": "a", "id": "u"}"#,
        r#"{"users": [{"id": "u1"}, {"id": "u2", "email": "a", "email": "b"}]}"#,
    ] {
        for limits in LIMITS {
            assert!(matches!(stream::decode(doc.as_bytes(), &plan, *limits), Err(stream::Stop::Irregular)));
        }
        assert!(err(json(doc, &plan)).starts_with("duplicate key"), "{doc}");
    }
}

// ------------------------------------------------------------------------------- helpers

/// A projection reading every field of every kind, plus raw keys on the tenant.
fn full_proj(model: &Model, raw: &[&[&str]]) -> Projection {
    Projection {
        kinds: model
            .kinds
            .iter()
            .enumerate()
            .map(|(k, kind)| KindProjection {
                fields: vec![true; kind.fields.len()],
                skip_key: false,
                raw_keys: if k == 0 {
                    raw.iter().map(|p| p.iter().map(|s| s.to_string()).collect()).collect()
                } else {
                    Vec::new()
                },
            })
            .collect(),
    }
}

fn kid(m: &Model, name: &str) -> KindId {
    m.kind_id(name).unwrap()
}

fn fid(m: &Model, kind: &str, field: &str) -> usize {
    m.field_id(kid(m, kind), field).unwrap() as usize
}

fn cell<'t>(t: &'t Tenant, m: &Model, kind: &str, row: u32, field: &str) -> &'t Value {
    t.field(kid(m, kind), row, fid(m, kind, field) as u16)
}

fn s(v: &str) -> Value {
    Value::str(v)
}

fn bad(v: &Value) -> &str {
    match v {
        Value::Bad(r) => r,
        other => panic!("expected a bad value, got {other:?}"),
    }
}

fn json(text: &str, plan: &DecodePlan) -> Result<Tenant, InputError> {
    decode("t.json", Arc::from("t.json"), &Content::Json(text.as_bytes().to_vec()), plan)
}

fn yaml(text: &str, plan: &DecodePlan) -> Result<Tenant, InputError> {
    decode("t.yaml", Arc::from("t.yaml"), &Content::Yaml { text: text.to_string(), line: 0 }, plan)
}

fn err(r: Result<Tenant, InputError>) -> String {
    match r {
        Ok(_) => panic!("expected an input error"),
        Err(e) => e.message,
    }
}

fn erp_plan() -> (Model, DecodePlan) {
    let m = Model::erp();
    let plan = DecodePlan::new(&m, &full_proj(&m, &[]));
    (m, plan)
}

/// A fresh directory under the system temp dir, removed (with what the test wrote in it)
/// when the returned guard is dropped.
fn temp_dir(tag: &str) -> tempfile::TempDir {
    tempfile::Builder::new().prefix(&format!("tenet-snapshot-{tag}-")).tempdir().unwrap()
}

fn write(dir: &std::path::Path, rel: &str, content: &[u8]) -> String {
    let p = dir.join(rel);
    if let Some(parent) = p.parent() {
        std::fs::create_dir_all(parent).unwrap();
    }
    std::fs::write(&p, content).unwrap();
    p.to_string_lossy().into_owned()
}

fn labels(docs: &[Document]) -> Vec<String> {
    docs.iter().map(|d| d.label.clone()).collect()
}

fn decode_doc(d: &Document, plan: &DecodePlan) -> Result<Tenant, InputError> {
    match &d.content {
        Ok(c) => decode(&d.label, d.source.clone(), c, plan),
        Err(e) => Err(e.clone()),
    }
}

const TENANT: &str = r#"{
  "id": "t-1", "name": "Acme", "platform": "netsuite", "release": "2026.1",
  "plan": {"seats": 10, "extra": [1, 2]},
  "settings": {"session_expiry": "12h", "only_one_session_per_user": true, "session_expiry_mobile": 3600},
  "custom": {"a": [1, "x", null, 2.5, true, 18446744073709551615]},
  "roles": [
    {"id": "r-1", "name": "Admin", "2fa": "yes", "permissions": ["a", "b"]},
    {"id": 7, "multiple_sessions": true, "permissions": ["a", 5]},
    "oops"
  ],
  "users": [
    {"id": "u-1", "email": "a@x", "roles": ["r-1", 7], "session_cap": 2.0, "last_login": "2026-01-01",
     "sessions": [{"id": "s-1", "client": "web"}]},
    {"id": "u-2", "kind": null, "session_cap": 3,
     "sessions": [{"id": "s-2", "client": "desktop", "started_at": "2026-02-30"}, {"id": "s-3", "acknowledged": "no"}]},
    {"id": "u-3", "sessions": null}
  ],
  "unknown": {"deep": [[[1]]], "s": "\u00e9\n"}
}"#;

// ------------------------------------------------------------------------------- decoding

#[test]
fn decodes_the_erp_model_into_tables() {
    let m = Model::erp();
    let plan = DecodePlan::new(&m, &full_proj(&m, &[&["custom"], &["plan", "extra"], &["settings"], &["nope"]]));
    let t = json(TENANT, &plan).unwrap();
    let (tenant, role, user, session, integ) =
        (0, kid(&m, "role"), kid(&m, "user"), kid(&m, "session"), kid(&m, "integration"));
    assert_eq!(t.label, "t.json");
    assert_eq!(t.id(&m).as_deref(), Some("t-1"));

    // Root: one row.
    let root = t.table(tenant);
    assert_eq!((root.len(), root.parent.clone(), root.index.clone()), (1, vec![0], vec![0]));
    let nf = m.kind(tenant).fields.len();
    assert_eq!(root.stride, nf + 4);
    assert_eq!(cell(&t, &m, "tenant", 0, "platform"), &s("netsuite"));
    assert_eq!(cell(&t, &m, "tenant", 0, "plan.seats"), &Value::Int(10));
    assert_eq!(cell(&t, &m, "tenant", 0, "settings.session_expiry"), &Value::Duration(12 * 3600 * TICKS_PER_SEC));
    assert_eq!(cell(&t, &m, "tenant", 0, "settings.session_expiry_mobile"), &Value::Duration(3600 * TICKS_PER_SEC));
    assert_eq!(cell(&t, &m, "tenant", 0, "settings.only_one_session_per_user"), &Value::Bool(true));
    // Defaults are not applied at decode: absent stays null.
    assert_eq!(cell(&t, &m, "tenant", 0, "settings.login_notifications"), &Value::Null);

    // Raw keys: `any`, in slots after the fields.
    let custom = root.cell(0, nf);
    let Value::Object(pairs) = custom else { panic!("{custom:?}") };
    assert_eq!(&*pairs[0].0, "a");
    assert_eq!(
        pairs[0].1,
        Value::List(
            vec![
                Value::Int(1),
                s("x"),
                Value::Null,
                Value::Dec(2.5),
                Value::Bool(true),
                Value::Dec(18446744073709551615.0)
            ]
            .into()
        )
    );
    assert_eq!(root.cell(0, nf + 1), &Value::List(vec![Value::Int(1), Value::Int(2)].into()));
    // `settings` is both a raw key and the parent of fields: both are filled.
    let Value::Object(settings) = root.cell(0, nf + 2) else { panic!() };
    assert_eq!(settings.len(), 3);
    assert_eq!(root.cell(0, nf + 3), &Value::Null);

    // Collections.
    assert_eq!(cell(&t, &m, "tenant", 0, "roles"), &Value::Entities(role, 0, 3));
    assert_eq!(cell(&t, &m, "tenant", 0, "users"), &Value::Entities(user, 0, 3));
    // An absent collection is absent (`has` is false; evaluation reads it as `[]`).
    assert_eq!(cell(&t, &m, "tenant", 0, "integrations"), &Value::Null);
    assert!(t.table(integ).is_empty());

    // Roles: a key is a string, an integer key a mismatch; a non-object element is a
    // malformed row.
    let roles = t.table(role);
    assert_eq!(roles.malformed, vec![false, false, true]);
    assert_eq!(roles.index, vec![0, 1, 2]);
    assert_eq!(bad(cell(&t, &m, "role", 1, "id")), "field `role.id` is an int (7), expected string");
    assert_eq!(t.key(&m, role, 1), None);
    assert_eq!(bad(cell(&t, &m, "role", 0, "2fa")), "field `role.2fa` is a string (\"yes\"), expected bool");
    assert_eq!(cell(&t, &m, "role", 0, "permissions"), &Value::List(vec![s("a"), s("b")].into()));
    assert_eq!(
        bad(cell(&t, &m, "role", 1, "permissions")),
        "field `role.permissions[1]` is an int (5), expected string"
    );
    assert_eq!(cell(&t, &m, "role", 0, "status"), &Value::Null);
    assert!((0..roles.stride).all(|slot| roles.cell(2, slot) == &Value::Null));
    assert_eq!(t.key(&m, role, 2), None);
    assert_eq!(t.lookup(&m, role, "7"), None);

    // Users and their sessions: depth first, parents and indexes.
    assert_eq!(bad(cell(&t, &m, "user", 0, "roles")), "field `user.roles[1]` is an int (7), expected ref<role>");
    assert_eq!(
        bad(cell(&t, &m, "user", 0, "session_cap")),
        "field `user.session_cap` is a decimal (2.0), expected int"
    );
    assert_eq!(cell(&t, &m, "user", 1, "session_cap"), &Value::Int(3));
    assert_eq!(cell(&t, &m, "user", 1, "kind"), &Value::Null);
    assert_eq!(cell(&t, &m, "user", 0, "last_login"), &Value::Date(parse_date("2026-01-01").unwrap()));
    assert_eq!(cell(&t, &m, "user", 0, "sessions"), &Value::Entities(session, 0, 1));
    assert_eq!(cell(&t, &m, "user", 1, "sessions"), &Value::Entities(session, 1, 2));
    assert_eq!(cell(&t, &m, "user", 2, "sessions"), &Value::Null); // `null`: absent
    let sessions = t.table(session);
    assert_eq!(sessions.parent, vec![0, 1, 1]);
    assert_eq!(sessions.index, vec![0, 0, 1]);
    assert_eq!(t.path(&m, session, 2), "users[1].sessions[1]");
    assert_eq!(t.path(&m, user, 2), "users[2]");
    assert_eq!(t.path(&m, tenant, 0), "");
    assert_eq!(
        bad(cell(&t, &m, "session", 1, "client")),
        "field `session.client`: `desktop` is not one of web|mobile_app|api"
    );
    assert_eq!(bad(cell(&t, &m, "session", 1, "started_at")), "field `session.started_at`: `2026-02-30` is not a date");
    assert_eq!(
        bad(cell(&t, &m, "session", 2, "acknowledged")),
        "field `session.acknowledged` is a string (\"no\"), expected bool"
    );
    assert_eq!(t.key(&m, session, 2).as_deref(), Some("s-3"));
}

#[test]
fn only_projected_fields_are_kept() {
    let m = Model::erp();
    let mut proj = full_proj(&m, &[]);
    for kp in &mut proj.kinds {
        kp.fields.iter_mut().for_each(|f| *f = false);
    }
    proj.kinds[kid(&m, "user") as usize].fields[fid(&m, "user", "email")] = true;
    let plan = DecodePlan::new(&m, &proj);
    let t = json(TENANT, &plan).unwrap();
    // The key and collections are always decoded.
    assert_eq!(cell(&t, &m, "tenant", 0, "id"), &s("t-1"));
    assert_eq!(cell(&t, &m, "tenant", 0, "name"), &Value::Null);
    assert_eq!(cell(&t, &m, "user", 0, "email"), &s("a@x"));
    assert_eq!(cell(&t, &m, "user", 0, "last_login"), &Value::Null);
    assert_eq!(cell(&t, &m, "user", 1, "sessions"), &Value::Entities(kid(&m, "session"), 1, 2));
    assert_eq!(cell(&t, &m, "session", 0, "client"), &Value::Null);
    // A projection missing kinds keeps keys and collections only.
    let plan = DecodePlan::new(&m, &Projection::default());
    let t = json(TENANT, &plan).unwrap();
    assert_eq!(t.table(kid(&m, "session")).len(), 3);
    assert_eq!(cell(&t, &m, "session", 0, "id"), &s("s-1"));
}

#[test]
fn type_mismatches_are_bad_values() {
    let (m, plan) = erp_plan();
    let t = json(
        r#"{"id": 12, "name": ["x"], "plan": 5, "settings": {"session_expiry": "soon", "session_expiry_mobile": 1.5},
            "release": {"a": 1}, "platform": "sap",
            "users": [{"id": "u", "session_cap": 9223372036854775808, "last_login": 20260101, "roles": "r-1"}]}"#,
        &plan,
    )
    .unwrap();
    assert_eq!(bad(cell(&t, &m, "tenant", 0, "id")), "field `tenant.id` is an int (12), expected string");
    assert_eq!(t.id(&m), None);
    assert_eq!(bad(cell(&t, &m, "tenant", 0, "name")), "field `tenant.name` is a list, expected string");
    assert_eq!(bad(cell(&t, &m, "tenant", 0, "release")), "field `tenant.release` is an object, expected string");
    assert_eq!(bad(cell(&t, &m, "tenant", 0, "plan.seats")), "field `tenant.plan` is an int (5), expected an object");
    assert_eq!(
        bad(cell(&t, &m, "tenant", 0, "platform")),
        "field `tenant.platform`: `sap` is not one of netsuite|erpnext|other"
    );
    assert_eq!(
        bad(cell(&t, &m, "tenant", 0, "settings.session_expiry")),
        "field `tenant.settings.session_expiry`: `soon` is not a duration"
    );
    assert_eq!(
        bad(cell(&t, &m, "tenant", 0, "settings.session_expiry_mobile")),
        "field `tenant.settings.session_expiry_mobile` is a decimal (1.5), expected duration"
    );
    assert_eq!(
        bad(cell(&t, &m, "user", 0, "session_cap")),
        "field `user.session_cap`: 9223372036854775808 is out of range for int"
    );
    assert_eq!(
        bad(cell(&t, &m, "user", 0, "last_login")),
        "field `user.last_login` is an int (20260101), expected date"
    );
    assert_eq!(
        bad(cell(&t, &m, "user", 0, "roles")),
        "field `user.roles` is a string (\"r-1\"), expected list<ref<role>>"
    );
    // Collections of an entity with no collection key are absent.
    assert_eq!(cell(&t, &m, "user", 0, "sessions"), &Value::Null);
}

#[test]
fn long_strings_are_cut_in_reasons() {
    let (m, plan) = erp_plan();
    let long = "x".repeat(100);
    let t = json(&format!(r#"{{"settings": {{"login_notifications": "{long}"}}}}"#), &plan).unwrap();
    let r = bad(cell(&t, &m, "tenant", 0, "settings.login_notifications"));
    assert!(r.contains(&format!("\"{}\"…", "x".repeat(40))), "{r}");
}

#[test]
fn yaml_decodes_like_json() {
    let (m, plan) = erp_plan();
    let t = yaml(
        "# a tenant\nid: t-1\nrelease: 2026.10\nname: 5\nplan:\n  seats: 10\nsettings:\n  session_expiry: 3600\n  login_notifications: yes\nroles:\n  - id: 0012\n    2fa: true\n    permissions: [a, 2.50]\n  - 5\nusers:\n  - id: u-1\n    last_login: 2026-01-01T09:30:00Z\n    sessions:\n      - {id: s-1, client: api}\n",
        &plan,
    )
    .unwrap();
    // Plain scalars that YAML reads as numbers are taken verbatim by string fields.
    assert_eq!(cell(&t, &m, "tenant", 0, "release"), &s("2026.10"));
    assert_eq!(cell(&t, &m, "tenant", 0, "name"), &s("5"));
    assert_eq!(cell(&t, &m, "role", 0, "id"), &s("0012"));
    assert_eq!(cell(&t, &m, "role", 0, "permissions"), &Value::List(vec![s("a"), s("2.50")].into()));
    assert_eq!(cell(&t, &m, "role", 0, "2fa"), &Value::Bool(true));
    assert_eq!(t.table(kid(&m, "role")).malformed, vec![false, true]);
    assert_eq!(cell(&t, &m, "tenant", 0, "plan.seats"), &Value::Int(10));
    assert_eq!(cell(&t, &m, "tenant", 0, "settings.session_expiry"), &Value::Duration(3600 * TICKS_PER_SEC));
    // YAML 1.2 booleans only.
    assert_eq!(
        bad(cell(&t, &m, "tenant", 0, "settings.login_notifications")),
        "field `tenant.settings.login_notifications` is a string (\"yes\"), expected bool"
    );
    assert_eq!(cell(&t, &m, "user", 0, "last_login"), &Value::Date(parse_date("2026-01-01T09:30:00Z").unwrap()));
    assert_eq!(cell(&t, &m, "session", 0, "client"), &s("api"));
    assert_eq!(t.path(&m, kid(&m, "session"), 0), "users[0].sessions[0]");
    assert_eq!(cell(&t, &m, "tenant", 0, "integrations"), &Value::Null);
}

#[test]
fn yaml_anchors_and_merge_keys() {
    let (m, plan) = erp_plan();
    let t = yaml("perms: &p [a, b]\nbase: &b {2fa: true}\nroles:\n  - id: r1\n    permissions: *p\n    <<: *b\n  - id: r2\n    permissions: *p\n", &plan).unwrap();
    assert_eq!(cell(&t, &m, "role", 0, "permissions"), &Value::List(vec![s("a"), s("b")].into()));
    assert_eq!(cell(&t, &m, "role", 1, "permissions"), &Value::List(vec![s("a"), s("b")].into()));
    assert_eq!(cell(&t, &m, "role", 0, "2fa"), &Value::Bool(true));
}

// ------------------------------------------------------------------------------- bad input

#[test]
fn malformed_json_says_where() {
    let (_, plan) = erp_plan();
    let e = err(json("{\n  \"id\": \"t\",\n  \"users\": [}\n}", &plan));
    assert!(e.starts_with("invalid JSON at line 3, column 13: "), "{e}");
    // A one-line document (a JSONL line): the label carries the line, the message the column.
    let e = err(json(r#"{"id": "t" "x": 1}"#, &plan));
    assert_eq!(e, "invalid JSON at column 12: expected `,` or `}`");
    let e = err(json(r#"{"id": "t"} trailing"#, &plan));
    assert!(e.starts_with("invalid JSON at column 13: trailing characters"), "{e}");
    let e = err(json(r#"{"id": "#, &plan));
    assert!(e.contains("EOF while parsing"), "{e}");
    assert_eq!(err(json(" \n", &plan)), "empty document");
    let e = err(json("{\"id\": \n", &plan));
    assert_eq!(e, "invalid JSON at line 2: EOF while parsing a value");
}

#[test]
fn malformed_yaml_says_where() {
    let (_, plan) = erp_plan();
    let e = err(yaml("id: t\nusers: [a, b\nname: x\n", &plan));
    assert!(e.starts_with("invalid YAML at line "), "{e}");
    let e = err(yaml("id: t\nid: u\n", &plan));
    assert_eq!(e, "duplicate key `id` at line 2, column 5");
}

#[test]
fn non_object_roots_are_input_errors() {
    let (_, plan) = erp_plan();
    assert_eq!(err(json("[1, 2]", &plan)), "root is not an object (found array)");
    assert_eq!(err(json("\"x\"", &plan)), "root is not an object (found string)");
    assert_eq!(err(json("null", &plan)), "root is not an object (found null)");
    assert_eq!(err(yaml("- a\n- b\n", &plan)), "root is not an object (found array)");
    assert_eq!(err(yaml("42\n", &plan)), "root is not an object (found number)");
}

#[test]
fn collections_must_be_lists() {
    let (m, plan) = erp_plan();
    let e = err(json("{\"users\": 5}", &plan));
    assert_eq!(e, "`users` is not a list (found a number) at column 11");
    let e = err(json("{\"users\": [{\"id\": \"u\"}, {\"sessions\": {\"a\": 1}}]}", &plan));
    assert!(e.starts_with("`users[1].sessions` is not a list (found an object) at column "), "{e}");
    let e = err(yaml("users:\n  - sessions: x\n", &plan));
    assert!(e.starts_with("`users[0].sessions` is not a list (found a string)"), "{e}");
    let e = err(json("{\"users\": [], \"users\": []}", &plan));
    assert!(e.starts_with("duplicate key `users`"), "{e}");
    let e = err(json("{\"users\": [{\"sessions\": [], \"sessions\": []}]}", &plan));
    assert!(e.starts_with("duplicate key `users[0].sessions`"), "{e}");
    // A null collection is an absent one; `[]` is present and empty.
    let t = json("{\"users\": null, \"roles\": []}", &plan).unwrap();
    assert_eq!(cell(&t, &m, "tenant", 0, "users"), &Value::Null);
    assert_eq!(cell(&t, &m, "tenant", 0, "roles"), &Value::Entities(kid(&m, "role"), 0, 0));
}

#[test]
fn invalid_utf8_is_an_input_error() {
    let (_, plan) = erp_plan();
    let r = decode("x", Arc::from("x"), &Content::Json(b"{\"id\": \"a\xffb\"}".to_vec()), &plan);
    assert_eq!(err(r), "invalid UTF-8 at byte 9");
    // YAML: documents() checks the bytes.
    let tmp = temp_dir("utf8");
    let dir = tmp.path();
    let f = write(dir, "t.yaml", b"id: t\nname: \"\xc3\x28\"\n");
    let docs: Vec<Document> = documents(std::slice::from_ref(&f)).collect();
    assert_eq!(labels(&docs), vec![f]);
    assert_eq!(err(decode_doc(&docs[0], &plan)), "invalid UTF-8 at byte 13");
}

fn nested(n: usize) -> String {
    format!("{}{}", "[".repeat(n), "]".repeat(n))
}

#[test]
fn deep_nesting_fails_without_overflow() {
    let m = Model::erp();
    let plan = DecodePlan::new(&m, &full_proj(&m, &[&["kept"]]));
    let deep = nested(100_000);
    // Skipped and kept fields, JSON.
    let e = err(json(&format!("{{\"skipped\": {deep}}}"), &plan));
    assert_eq!(e, "nested deeper than 128 levels at byte 139");
    let e = err(json(&format!("{{\"kept\": {deep}}}"), &plan));
    assert_eq!(e, "nested deeper than 128 levels at byte 136");
    let e = err(json(&format!("{{\"users\": [{{\"x\": {}}}]}}", "{\"a\": ".repeat(100_000)), &plan));
    assert!(e.starts_with("nested deeper than 128 levels"), "{e}");
    // Brackets in strings do not count.
    let t = json(&format!("{{\"kept\": \"{}\\\"[\"}}", "[".repeat(1000)), &plan).unwrap();
    assert!(matches!(t.table(0).cell(0, m.kind(0).fields.len()), Value::Str(_)));
    // The limit: 128 levels in all (the root object is the first).
    json(&format!("{{\"skipped\": {}}}", nested(127)), &plan).unwrap();
    json(&format!("{{\"kept\": {}}}", nested(126)), &plan).unwrap();
    assert!(err(json(&format!("{{\"skipped\": {}}}", nested(128)), &plan)).starts_with("nested deeper than 128 levels"));
    // YAML: flow and block nesting, skipped and kept.
    for key in ["skipped", "kept"] {
        let e = err(yaml(&format!("{key}: {deep}\n"), &plan));
        assert!(e.starts_with("nested deeper than 128 levels") || e.starts_with("invalid YAML"), "{e}");
        let e = err(yaml(&format!("{key}: {}\n", nested(200)), &plan));
        assert!(e.starts_with("nested deeper than 128 levels at line 1"), "{e}");
        yaml(&format!("{key}: {}\n", nested(127)), &plan).unwrap();
    }
    let block: String = (0..150).map(|i| format!("{}k{i}:\n", "  ".repeat(i))).collect();
    let e = err(yaml(&format!("skipped:\n{}", block.replace("k0:", "  k0:")), &plan));
    assert!(e.starts_with("nested deeper than 128 levels"), "{e}");
    // Through documents(): the splitter reports it.
    let tmp = temp_dir("deep");
    let dir = tmp.path();
    let f = write(dir, "deep.yaml", format!("id: a\nskipped: {deep}\n").as_bytes());
    let docs: Vec<Document> = documents(&[f]).collect();
    assert_eq!(docs.len(), 1);
    let e = err(decode_doc(&docs[0], &plan));
    assert!(e.starts_with("nested deeper than 128 levels at line 2"), "{e}");
}

const LAUGHS: &str = "a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]
b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]
e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]
f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]
g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]
h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]
i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]
";

#[test]
fn alias_bombs_fail_fast() {
    let m = Model::erp();
    let plan = DecodePlan::new(&m, &full_proj(&m, &[&["kept"]]));
    for doc in [format!("id: t\n{LAUGHS}"), format!("id: t\n{LAUGHS}kept: *i\n"), format!("{LAUGHS}roles: *i\n")] {
        let start = Instant::now();
        let e = err(yaml(&doc, &plan));
        let took = start.elapsed();
        // The budget counts events, so the work is bounded by construction; the bound here
        // only catches an expansion (a billion laughs never ends), with room for a loaded
        // CI machine running a debug build.
        assert!(took.as_secs_f64() < 20.0, "took {took:?}");
        assert!(e.contains("alias") || e.contains("budget"), "{e}");
    }
}

#[test]
fn oversized_yaml_is_an_input_error() {
    let (_, plan) = erp_plan();
    let big = " ".repeat(MAX_DOC_BYTES + 1);
    assert!(err(yaml(&big, &plan)).starts_with("YAML document is larger than 256 MiB"));
}

// ------------------------------------------------------------------------------- reading

#[test]
fn jsonl_with_a_broken_line() {
    let (m, plan) = erp_plan();
    let tmp = temp_dir("jsonl");
    let dir = tmp.path();
    let f = write(
        dir,
        "day1.jsonl",
        b"{\"id\": \"a\"}\n\n   \n{\"id\": \"b\",}\r\n{\"id\": \"c\"}\r\n[1]\n{\"id\": \"d\"}",
    );
    let docs: Vec<Document> = documents(std::slice::from_ref(&f)).collect();
    assert_eq!(
        labels(&docs),
        vec![format!("{f}#1"), format!("{f}#4"), format!("{f}#5"), format!("{f}#6"), format!("{f}#7")]
    );
    assert!(docs.iter().all(|d| &*d.source == f.as_str()));
    let res: Vec<Result<Tenant, InputError>> = docs.iter().map(|d| decode_doc(d, &plan)).collect();
    assert_eq!(res[0].as_ref().unwrap().id(&m).as_deref(), Some("a"));
    assert_eq!(res[0].as_ref().unwrap().label, format!("{f}#1"));
    assert_eq!(res[1].as_ref().unwrap_err().message, "invalid JSON at column 12: trailing comma");
    assert_eq!(res[2].as_ref().unwrap().id(&m).as_deref(), Some("c"));
    assert_eq!(res[3].as_ref().unwrap_err().message, "root is not an object (found array)");
    assert_eq!(res[4].as_ref().unwrap().id(&m).as_deref(), Some("d"));
}

#[test]
fn jsonl_lines_are_yielded_as_read() {
    let tmp = temp_dir("lazy");
    let dir = tmp.path();
    let f = write(dir, "a.jsonl", b"{\"id\": \"a\"}\n{\"id\": \"b\"}\n");
    let mut docs = documents(std::slice::from_ref(&f));
    let first = docs.next().unwrap();
    assert_eq!(first.label, format!("{f}#1"));
    // The rest of the file is read on demand: appending now still shows up.
    std::fs::OpenOptions::new()
        .append(true)
        .open(&f)
        .map(|mut h| std::io::Write::write_all(&mut h, b"{\"id\": \"c\"}\n"))
        .unwrap()
        .unwrap();
    let rest: Vec<String> = docs.map(|d| d.label).collect();
    assert_eq!(rest, vec![format!("{f}#2"), format!("{f}#3")]);
}

/// Lines of `text` read with small limits: lines of at most `max_line` bytes, `max_skip`
/// bytes of an over-long line skipped.
fn limited_lines(reader: Box<dyn std::io::BufRead + Send>, max_line: usize, max_skip: u64) -> Vec<Document> {
    let mut lines = read::Lines::with_limits(reader, "in.jsonl".into(), max_line, max_skip);
    let mut spare = Vec::new();
    std::iter::from_fn(|| lines.next_with(&mut spare)).collect()
}

/// Issue 8, defect 4: an endless line (`-` fed from `/dev/zero`) was read until
/// allocation failed. Now it is one input error, and reading the input ends.
#[test]
fn an_endless_line_is_one_error_and_reading_ends() {
    let endless = Box::new(std::io::BufReader::new(std::io::repeat(0)));
    let docs = limited_lines(endless, 1000, 100_000);
    assert_eq!(labels(&docs), vec!["in.jsonl#1".to_string()]);
    assert_eq!(
        docs[0].content.as_ref().unwrap_err().message,
        "line 1 of `in.jsonl` is longer than 1000 bytes and does not end: the rest of `in.jsonl` is not read"
    );
}

/// An over-long line is an error for that line; the lines after it are read as usual.
#[test]
fn an_over_long_line_is_skipped_and_reading_goes_on() {
    let (m, plan) = erp_plan();
    let exact = format!("{{\"id\": \"{}\"}}", "x".repeat(100 - 10));
    assert_eq!(exact.len(), 100);
    let text = format!("{{\"id\": \"a\"}}\n{}\n{exact}\r\n{{\"id\": \"c\"}}", "y".repeat(5000));
    let docs = limited_lines(Box::new(std::io::Cursor::new(text.into_bytes())), 100, 1 << 20);
    assert_eq!(labels(&docs), vec!["in.jsonl#1", "in.jsonl#2", "in.jsonl#3", "in.jsonl#4"]);
    assert_eq!(docs[1].content.as_ref().unwrap_err().message, "line 2 of `in.jsonl` is longer than 100 bytes");
    let ids: Vec<Option<String>> =
        docs.iter().map(|d| decode_doc(d, &plan).ok().and_then(|t| t.id(&m)).map(|s| s.to_string())).collect();
    assert_eq!(ids, vec![Some("a".into()), None, Some("x".repeat(90)), Some("c".into())]);
    // Lines just over the limit, whose end (`\n` or `\r\n`) the first read may or may not
    // reach: the next line is read either way (a line of 101 bytes and its `\n` once made
    // the reader skip the whole next line).
    for (extra, end) in [(1, "\n"), (1, "\r\n"), (2, "\n"), (2, "\r\n"), (3, "\n")] {
        let text = format!("{}{end}{{\"id\": \"next\"}}\n", "y".repeat(100 + extra));
        let docs = limited_lines(Box::new(std::io::Cursor::new(text.into_bytes())), 100, 1 << 20);
        assert_eq!(labels(&docs), vec!["in.jsonl#1", "in.jsonl#2"], "{extra} {end:?}");
        assert!(docs[0].content.is_err(), "{extra} {end:?}");
        let id = decode_doc(&docs[1], &plan).ok().and_then(|t| t.id(&m)).map(|s| s.to_string());
        assert_eq!(id.as_deref(), Some("next"), "{extra} {end:?}");
    }
    // An over-long last line, without a newline, is just over-long.
    let docs = limited_lines(Box::new(std::io::Cursor::new(vec![b'z'; 500])), 100, 1 << 20);
    assert_eq!(docs[0].content.as_ref().unwrap_err().message, "line 1 of `in.jsonl` is longer than 100 bytes");
    // The limit of the real reader is the document limit.
    let real = read::Lines::new(Box::new(std::io::Cursor::new(Vec::new())), "-".into());
    drop(real);
    assert_eq!(read::MAX_SKIP_BYTES, 1 << 30);
}

/// Issue 8, defect 5: every document of a YAML stream was padded with one newline per line
/// before it (so that error lines were the file's), which made a stream of many small
/// documents quadratic in memory. Each document now holds its own text only.
#[test]
fn yaml_stream_documents_hold_only_their_own_text() {
    let (m, plan) = erp_plan();
    let tmp = temp_dir("yaml-linear");
    let dir = tmp.path();
    let n = 3000;
    let mut text: String = (0..n).map(|i| format!("id: t{i}\n---\n")).collect();
    text.push_str("id: last\nusers: 5\n");
    let f = write(dir, "many.yaml", text.as_bytes());
    let docs: Vec<Document> = documents(std::slice::from_ref(&f)).collect();
    assert_eq!(docs.len(), n + 1);
    let held: usize = docs.iter().map(Document::size).sum();
    assert!(held <= text.len(), "{held} bytes held for a stream of {}", text.len());
    assert_eq!(decode_doc(&docs[1234], &plan).unwrap().id(&m).as_deref(), Some("t1234"));
    // Error locations are still the file's.
    assert_eq!(
        decode_doc(&docs[n], &plan).unwrap_err().message,
        format!("`users` is not a list (found a number) at line {}, column 8", 2 * n + 2)
    );
}

#[test]
fn multi_document_yaml_with_a_broken_document() {
    let (m, plan) = erp_plan();
    let tmp = temp_dir("multi");
    let dir = tmp.path();
    let f = write(
        dir,
        "t.yaml",
        b"# tenants\nid: a\n---\nid: [b\nname: x\n---\nid: c\nusers: 5\n--- # last\nid: d\n...\n---\n",
    );
    let docs: Vec<Document> = documents(std::slice::from_ref(&f)).collect();
    assert_eq!(labels(&docs), vec![format!("{f}#1"), format!("{f}#2"), format!("{f}#3"), format!("{f}#4")]);
    let res: Vec<Result<Tenant, InputError>> = docs.iter().map(|d| decode_doc(d, &plan)).collect();
    assert_eq!(res[0].as_ref().unwrap().id(&m).as_deref(), Some("a"));
    let e = &res[1].as_ref().unwrap_err().message;
    assert!(e.starts_with("invalid YAML at line "), "{e}");
    // Locations are the file's, not the document's.
    assert_eq!(res[2].as_ref().unwrap_err().message, "`users` is not a list (found a number) at line 8, column 8");
    assert_eq!(res[3].as_ref().unwrap().id(&m).as_deref(), Some("d"));
    assert_eq!(res[3].as_ref().unwrap().label, format!("{f}#4"));
}

#[test]
fn single_document_yaml_has_no_number() {
    let (m, plan) = erp_plan();
    let tmp = temp_dir("single");
    let dir = tmp.path();
    let a = write(dir, "a.yaml", b"---\nid: a\n---\n");
    let b = write(dir, "b.yml", b"\n~\n---\nid: b\n");
    let c = write(dir, "c.yaml", b"# only a comment\n");
    let docs: Vec<Document> = documents(&[a.clone(), b.clone(), c.clone()]).collect();
    assert_eq!(labels(&docs), vec![a, b, c]);
    assert_eq!(decode_doc(&docs[0], &plan).unwrap().id(&m).as_deref(), Some("a"));
    assert_eq!(decode_doc(&docs[1], &plan).unwrap().id(&m).as_deref(), Some("b"));
    // A file with no document is an unreadable tenant, not silently nothing.
    assert!(docs[2].content.as_ref().is_err_and(|e| e.message.starts_with("empty document")));
}

#[test]
fn missing_paths_are_error_documents() {
    let tmp = temp_dir("missing");
    let dir = tmp.path();
    let missing = dir.join("nope.json").to_string_lossy().into_owned();
    let ok = write(dir, "ok.json", b"{\"id\": \"x\"}");
    let docs: Vec<Document> = documents(&[missing.clone(), ok.clone()]).collect();
    assert_eq!(labels(&docs), vec![missing.clone(), ok]);
    let e = docs[0].content.as_ref().unwrap_err();
    assert!(e.message.starts_with(&format!("cannot read `{missing}`: ")), "{}", e.message);
    assert!(docs[1].content.is_ok());
}

#[test]
fn directories_are_read_recursively_in_path_order() {
    let (m, plan) = erp_plan();
    let tmp = temp_dir("dir");
    let dir = tmp.path();
    write(dir, "b.json", b"{\"id\": \"b\"}");
    write(dir, "a.yaml", b"id: a1\n---\nid: a2\n");
    write(dir, "a-b.yml", b"id: ab\n");
    write(dir, "sub/c.jsonl", b"{\"id\": \"c1\"}\n{\"id\": \"c2\"}\n");
    write(dir, "sub/d.ndjson", b"{\"id\": \"d1\"}\n");
    write(dir, "notes.txt", b"not a tenant");
    write(dir, "p.test.yaml", b"tests: []\n");
    write(dir, "sub/q.test.yml", b"tests: []\n");
    let given = format!("{}/", dir.to_string_lossy());
    let extra = write(dir, "x.snapshot", b"  {\"id\": \"x\"}");
    let extra_yaml = write(dir, "y.snapshot", b"id: y\n");
    let docs: Vec<Document> = documents(&[given.clone(), extra.clone(), extra_yaml.clone()]).collect();
    let d = dir.to_string_lossy();
    assert_eq!(
        labels(&docs),
        vec![
            format!("{d}/a-b.yml"),
            format!("{d}/a.yaml#1"),
            format!("{d}/a.yaml#2"),
            format!("{d}/b.json"),
            format!("{d}/sub/c.jsonl#1"),
            format!("{d}/sub/c.jsonl#2"),
            format!("{d}/sub/d.ndjson#1"),
            extra.clone(),
            extra_yaml.clone(),
        ]
    );
    assert_eq!(&*docs[1].source, format!("{d}/a.yaml"));
    let ids: Vec<String> = docs.iter().map(|doc| decode_doc(doc, &plan).unwrap().id(&m).unwrap().to_string()).collect();
    assert_eq!(ids, vec!["ab", "a1", "a2", "b", "c1", "c2", "d1", "x", "y"]);
    assert!(matches!(docs[7].content, Ok(Content::Json(_))));
    assert!(matches!(docs[8].content, Ok(Content::Yaml { .. })));
}

#[test]
fn documents_is_send() {
    fn assert_send<T: Send>(_: &T) {}
    let docs = documents(&[]);
    assert_send(&docs);
    fn assert_sync<T: Send + Sync>() {}
    assert_sync::<DecodePlan>();
}

// ------------------------------------------------------------------------------- stream

/// The tenant's tables, comparable.
fn shown(tables: &[Table]) -> String {
    format!("{tables:?}")
}

/// Every split `stream` can make: tiny chunks, pieces and windows, up to the defaults.
const LIMITS: &[stream::Limits] = &[
    stream::Limits { chunk: 1, piece: 1, window: 1, held: MAX_DOC_BYTES },
    stream::Limits { chunk: 7, piece: 1, window: 3, held: MAX_DOC_BYTES },
    stream::Limits { chunk: 64, piece: 40, window: 1, held: MAX_DOC_BYTES },
    stream::Limits { chunk: 100, piece: 300, window: 2, held: MAX_DOC_BYTES },
    stream::Limits { chunk: 4 << 20, piece: 1 << 20, window: 2, held: MAX_DOC_BYTES },
];

/// Decodes `doc` both ways and demands the same tables from every split, or, for a
/// document that is an input error, that every split hands it back.
fn stream_agrees(doc: &str, plan: &DecodePlan) {
    let whole = json(doc, plan).map(|t| shown(&t.tables));
    for limits in LIMITS {
        match (stream::decode(doc.as_bytes(), plan, *limits), &whole) {
            (Ok(t), Ok(w)) => assert_eq!(&shown(&t), w, "{limits:?} on {doc}"),
            (Err(stream::Stop::Irregular), Err(_)) => {}
            (got, want) => panic!("{limits:?} on {doc}: {got:?} where the whole document gives {want:?}"),
        }
    }
}

/// A tenant with everything the splitter must step over: strings holding brackets, quotes
/// and escapes, nested collections, malformed elements, empty and absent collections,
/// members before and after the collections, unknown fields nested deep.
fn tricky_tenant() -> String {
    let mut users = Vec::new();
    for i in 0..40 {
        let sessions: Vec<String> = (0..i % 4)
            .map(|j| format!(r#"{{"id": "s{i}-{j}", "device": "a[b{{c\"}}\\\\", "started_at": "2026-01-0{}"}}"#, j + 1))
            .collect();
        users.push(format!(
            r#"{{"id": "u{i}", "name": "Ü{{[\"\\", "session_cap": {}, "roles": ["r{}"], "sessions": [{}], "x": {{"y": [[[{{"z": "]]]"}}]]]}}}}"#,
            i % 3,
            i % 5,
            sessions.join(", ")
        ));
    }
    users.insert(7, "17".into());
    users.insert(9, r#""a string [""#.into());
    users.insert(11, "[1, [2, {}]]".into());
    users.insert(13, "null".into());
    format!(
        "{{\"id\": \"t1\", \"platform\": \"netsuite\", \"extra\": {{\"users\": [1, 2]}},\n \"users\" : [\n{}\n] ,\n \"roles\": [], \"integrations\": [{{\"id\": \"i1\", \"certificates\": [{{\"status\": \"active\"}}, 3]}}],\n \"plan\": {{\"seats\": 9}}, \"tail\": \"}}\"}}\n",
        users.join(",\n  ")
    )
}

#[test]
fn stream_decodes_exactly_what_the_whole_document_decodes() {
    let (m, plan) = erp_plan();
    let doc = tricky_tenant();
    assert!(json(&doc, &plan).is_ok());
    stream_agrees(&doc, &plan);
    // A projection that reads `tenant["users"]` raw keeps `users` whole; a narrow one
    // skips nearly everything.
    let raw = DecodePlan::new(&m, &full_proj(&m, &[&["users"]]));
    stream_agrees(&doc, &raw);
    let narrow = DecodePlan::new(&m, &Projection::default());
    stream_agrees(&doc, &narrow);
    // Absent and null root collections stay absent (not `[]`) when the others are split.
    stream_agrees(r#"{"id": "t", "users": [{"id": "u1"}, {"id": "u2", "sessions": null}]}"#, &plan);
    stream_agrees(r#"{"users": [{"id": "u1"}], "roles": null, "integrations": []}"#, &plan);
    for name in ["erpnext-dirty.json", "netsuite-globex.json"] {
        let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("examples/tenants").join(name);
        stream_agrees(&std::fs::read_to_string(path).unwrap(), &plan);
    }
    let lines =
        std::fs::read_to_string(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("examples/tenants/bulk-export.jsonl"))
            .unwrap();
    for line in lines.lines().filter(|l| !l.trim().is_empty()) {
        stream_agrees(line, &plan);
    }
}

#[test]
fn stream_hands_every_irregular_document_back() {
    let (_, plan) = erp_plan();
    let deep = format!(r#"{{"users": [{{"id": "u1", "x": {}{}}}]}}"#, "[".repeat(200), "]".repeat(200));
    let irregular = [
        r#"{"users": [{"id": "u1"},]}"#.to_string(),
        r#"{"users": [{"id": "u1"}], "users": []}"#.into(),
        r#"{"users": null, "users": [{"id": "u1"}]}"#.into(),
        r#"{"users": [{"id": "u1"} {"id": "u2"}]}"#.into(),
        r#"{"users": [{"id": "u1"}], "id": }"#.into(),
        r#"{"users": [{"id": "u1"}]} {}"#.into(),
        r#"{"users": [{"id": "u1"}]"#.into(),
        r#"{"use\u0072s": [{"id": "u1"}]}"#.into(),
        r#"[{"id": "u1"}]"#.into(),
        "\u{feff}{}".into(),
        r#"{"users": [{"id": tru}]}"#.into(),
        r#"{"roles": {"id": "r1"}}"#.into(),
        deep,
    ];
    for doc in irregular {
        for limits in LIMITS {
            assert!(
                matches!(stream::decode(doc.as_bytes(), &plan, *limits), Err(stream::Stop::Irregular)),
                "{limits:?} accepted {doc}"
            );
        }
    }
    let bad_utf8 = b"{\"users\": [{\"id\": \"a\xffb\"}]}";
    assert!(matches!(stream::decode(&bad_utf8[..], &plan, LIMITS[2]), Err(stream::Stop::Irregular)));
}

#[test]
fn a_large_json_file_reports_errors_as_a_small_one_does() {
    let (_, plan) = erp_plan();
    let tmp = temp_dir("stream");
    let dir = tmp.path();
    let docs = [
        r#"{"users": [{"id": "u1"},
 ]}"#
        .to_string(),
        r#"{"users": [{"id": "u1"}], "users": []}"#.into(),
        format!(r#"{{"users": [{{"id": "u1", "x": {}{}}}]}}"#, "[".repeat(200), "]".repeat(200)),
        r#"{"roles": 5}"#.into(),
        tricky_tenant(),
    ];
    for (i, doc) in docs.iter().enumerate() {
        let path = dir.join(format!("{i}.json"));
        std::fs::write(&path, doc).unwrap();
        let small = json(doc, &plan).map(|t| shown(&t.tables));
        let large = decode("t.json", Arc::from("t.json"), &Content::JsonFile(path), &plan).map(|t| shown(&t.tables));
        assert_eq!(large, small, "{doc}");
    }
    let missing = decode("gone.json", Arc::from("gone.json"), &Content::JsonFile(dir.join("gone.json")), &plan);
    assert!(err(missing).contains("gone.json"));
}

/// A raw key on a nested kind naming one of its collections (`user["sessions"]`) holds the
/// same range as the collection: appending a piece must rebase it too (found in review;
/// the checker turns `user["sessions"]` into the field today, but the decoder must not
/// depend on that).
#[test]
fn stream_rebases_raw_keys_that_hold_a_collection() {
    let m = Model::erp();
    let mut p = full_proj(&m, &[]);
    p.kinds[kid(&m, "user") as usize].raw_keys = vec![vec!["sessions".to_string()]];
    let plan = DecodePlan::new(&m, &p);
    let doc = r#"{"id": "t", "users": [{"id": "u1", "sessions": [{"id": "s1"}, {"id": "s2"}]},
        {"id": "u2", "sessions": [{"id": "s3"}]}, {"id": "u3"}]}"#;
    stream_agrees(doc, &plan);
}

/// Finished documents hand their buffers back for the next JSONL lines; buffers of whole
/// `.json` files are not kept, and what is kept stays small (found in review: a directory
/// of JSON files used to pile up to 256 buffers).
#[test]
fn recycled_buffers_stay_bounded() {
    let tmp = temp_dir("spare");
    let dir = tmp.path();
    let body = format!("{{\"id\": \"t\", \"pad\": \"{}\"}}", "x".repeat(1 << 20));
    for i in 0..40 {
        std::fs::write(dir.join(format!("{i:03}.json")), &body).unwrap();
    }
    let line = format!("{body}\n");
    std::fs::write(dir.join("z.jsonl"), line.repeat(120)).unwrap();
    let mut docs = documents(&[dir.to_string_lossy().into_owned()]);
    let mut seen = 0;
    let mut most = 0;
    loop {
        let batch: Vec<_> = docs.by_ref().take(16).collect();
        if batch.is_empty() {
            break;
        }
        seen += batch.len();
        docs.recycle(batch);
        most = most.max(docs.spare_bytes());
    }
    assert_eq!(seen, 160);
    assert!(most > 0, "JSONL lines reuse buffers");
    assert!(most <= 64 << 20, "{} MiB of spare buffers", most >> 20);
}

/// A reader that hands out a few bytes at a time, as a pipe may.
struct Trickle<'a> {
    bytes: &'a [u8],
    step: usize,
}

impl std::io::Read for Trickle<'_> {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        self.step = self.step % 7 + 1;
        let n = self.step.min(out.len()).min(self.bytes.len());
        out[..n].copy_from_slice(&self.bytes[..n]);
        self.bytes = &self.bytes[n..];
        Ok(n)
    }
}

/// Issue 8, defect 5: a large JSON file the split does not handle was read whole, however
/// large. Past the document limit it is now decoded as it is read: the same tables, and
/// the same errors (a column may be one further).
#[test]
fn a_json_document_decoded_as_it_is_read_agrees_with_the_whole_decode() {
    let (_, plan) = erp_plan();
    let deep = format!(r#"{{"users": [{{"id": "u1", "x": {}{}}}]}}"#, "[".repeat(200), "]".repeat(200));
    let late_deep = format!("{{\"pad\": \"{}\", \"x\": {}{}}}", "p".repeat(3000), "[".repeat(129), "]".repeat(129));
    let docs = [
        tricky_tenant(),
        format!("\u{feff}{}", tricky_tenant()),
        r#"{"use\u0072s": [{"id": "u1"}], "roles": [{"id": "r1", "x": "[[[\"]]"}]}"#.to_string(),
        deep,
        late_deep,
        r#"{"users": [{"id": "u1"},
 ]}"#
        .into(),
        r#"[1]"#.into(),
        r#"{"roles": 5}"#.into(),
    ];
    for doc in &docs {
        let whole = json(doc, &plan).map(|t| shown(&t.tables));
        for r in [Trickle { bytes: doc.as_bytes(), step: 0 }, Trickle { bytes: doc.as_bytes(), step: 1000 }] {
            let read = match super::decode::decode_json_read(r, &plan) {
                Ok(t) => Ok(shown(&t)),
                Err(super::decode::ReadError::Input(e)) => Err(e),
                Err(super::decode::ReadError::Io(e)) => panic!("{e}"),
            };
            match (read, &whole) {
                (Err(r), Err(w)) => {
                    // serde_json reading from a reader may place a column one further.
                    let split = |m: &str| {
                        let (head, col) = m.rsplit_once(' ').unwrap_or((m, ""));
                        (head.to_string(), col.parse::<usize>().ok())
                    };
                    let ((rh, rc), (wh, wc)) = (split(&r.message), split(&w.message));
                    assert_eq!(rh, wh, "{doc}");
                    assert!(rc == wc || rc == wc.map(|c| c + 1), "{doc}: {} vs {}", r.message, w.message);
                }
                (read, whole) => assert_eq!(&read, whole, "{doc}"),
            }
        }
    }
}

/// The split holds at most `held` bytes: an element or the root's other members beyond it
/// stop the split (the ordinary decode then reads the document as it goes).
#[test]
fn stream_holds_a_bounded_number_of_bytes() {
    let (_, plan) = erp_plan();
    let small = stream::Limits { chunk: 16, piece: 64, window: 1, held: 256 };
    let fine = format!(r#"{{"id": "t", "users": [{}]}}"#, vec![r#"{"id": "u"}"#; 100].join(","));
    assert!(stream::decode(fine.as_bytes(), &plan, small).is_ok());
    let big_element = format!(r#"{{"users": [{{"id": "u", "pad": "{}"}}]}}"#, "x".repeat(1000));
    assert!(matches!(stream::decode(big_element.as_bytes(), &plan, small), Err(stream::Stop::Irregular)));
    let big_rest = format!(r#"{{"name": "{}", "users": []}}"#, "x".repeat(1000));
    assert!(matches!(stream::decode(big_rest.as_bytes(), &plan, small), Err(stream::Stop::Irregular)));
}

// ---------------------------------------------------------------------------- locations

/// The path of every entity of a tenant, the tenant's own (`""`) included.
fn every_path(m: &Model, t: &Tenant) -> Vec<String> {
    let mut out = Vec::new();
    for k in 0..t.tables.len() as KindId {
        for row in 0..t.table(k).len() as u32 {
            out.push(t.path(m, k, row));
        }
    }
    out
}

/// Documents whose entities the recorded marks must place exactly where the plain walk
/// over the text does: brackets in strings, malformed elements, multi-byte characters
/// before entities, several lines and one long line.
fn located_docs() -> Vec<String> {
    let mut docs = vec![
        tricky_tenant(),
        tricky_tenant().replace('\n', " "),
        "\u{feff}{\"id\": \"b\", \"users\": [{\"id\": \"é\"}, {\"id\": \"ü\", \"sessions\": [{}, {\"id\": \"😀\"}]}]}"
            .into(),
        "{\"users\": [\"x\", 1, {\"id\": \"日本\"}, [], {\"sessions\": [7, {}]}], \"roles\": [{\"id\": \"r\"}]}".into(),
        // Compact, with a scalar and an array among the elements.
        "{\"id\":\"c\",\"users\":[{\"id\":\"a\"},{\"id\":\"b\"},7,{\"id\":\"c\",\"sessions\":[{},{}]},[1],{\"id\":\"d\"},{\"id\":\"e\"},{\"id\":\"f\"}],\"roles\":[{\"id\":\"r\"},{\"id\":\"q\"}]}".into(),
        // ASCII on one line: a column is an offset.
        "{\"id\": \"a\", \"users\": [{\"id\": \"u\"}, 5, {\"sessions\": [{}, {\"id\": \"s\"}]}], \"roles\": [[]]}"
            .into(),
    ];
    for name in ["erpnext-dirty.json", "netsuite-globex.json"] {
        let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("examples/tenants").join(name);
        docs.push(std::fs::read_to_string(path).unwrap());
    }
    let lines = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("examples/tenants/bulk-export.jsonl");
    docs.extend(std::fs::read_to_string(lines).unwrap().lines().filter(|l| !l.trim().is_empty()).map(String::from));
    docs
}

#[test]
fn recorded_marks_locate_what_a_walk_locates() {
    let (m, plan) = erp_plan();
    let tmp = temp_dir("locate");
    let dir = tmp.path();
    let mut fields_found = 0;
    for (d, doc) in located_docs().iter().enumerate() {
        let whole = Content::Json(doc.as_bytes().to_vec());
        let tenant = decode("t.json", Arc::from("t.json"), &whole, &plan).unwrap();
        let paths = every_path(&m, &tenant);
        let paths: Vec<&str> = paths.iter().map(String::as_str).collect();
        assert!(paths.len() > 3, "{doc}");
        let want = locate(&whole, 4, &paths);
        // A document held whole, through its bracket index.
        let Some(Marks::Brackets(index)) = tenant.marks() else { panic!("no index") };
        assert_eq!(index.plain, doc.is_ascii() && !doc.contains('\n'), "{doc}");
        assert_eq!(locate_marked(&whole, 4, &paths, tenant.marks()), want, "indexed: {doc}");
        // A few subjects far apart: the elements between are stepped over.
        for step in [2, 3, 5] {
            let some: Vec<&str> = paths.iter().copied().skip(1).step_by(step).collect();
            assert_eq!(locate_marked(&whole, 4, &some, tenant.marks()), locate(&whole, 4, &some), "{step}: {doc}");
        }
        // A streamed file, from the positions counted as it went by (nested entities read
        // again from the element's bytes).
        let want = locate(&whole, 1, &paths);
        let path = dir.join(format!("{d}.json"));
        std::fs::write(&path, doc).unwrap();
        let file = Content::JsonFile(path);
        let streamed = decode("t.json", Arc::from("t.json"), &file, &plan).unwrap();
        let got = locate_marked(&file, 1, &paths, streamed.marks());
        assert_eq!(got, want, "streamed: {doc}");
        if doc.starts_with('\u{feff}') {
            // The split leaves a byte-order mark to the ordinary decode: the file is read
            // again to locate its subjects.
            assert!(streamed.marks().is_none());
            continue;
        }
        // The fields of a streamed file's entities, read again from their elements, are
        // where a walk over the whole text finds them; the tenant's own are not kept.
        let members: [&[&str]; 3] = [&["id"], &["sessions"], &["nope"]];
        let fields: Vec<Option<&[&str]>> = (0..paths.len()).map(|i| members.get(i % 4).copied()).collect();
        let wants: Vec<(&str, &[&str])> = paths.iter().zip(&fields).filter_map(|(p, f)| Some((*p, (*f)?))).collect();
        let mut whole_fields = locate_fields(&whole, 1, &wants).into_iter();
        let want_fields: Vec<Option<Position>> = paths
            .iter()
            .zip(&fields)
            .map(|(p, f)| f.and_then(|_| whole_fields.next()).flatten().filter(|_| !p.is_empty()))
            .collect();
        fields_found += want_fields.iter().flatten().count();
        let (at, found) = locate_marked_fields(&file, 1, &paths, &fields, streamed.marks());
        assert_eq!((at, found), (want.clone(), want_fields), "streamed fields: {doc}");
        // Past the cap, none.
        let many: Vec<&str> = paths.iter().copied().cycle().take(STREAM_FIELDS_MAX + 1).collect();
        let asked: Vec<Option<&[&str]>> = many.iter().map(|_| Some(&["id"][..])).collect();
        let (_, found) = locate_marked_fields(&file, 1, &many, &asked, streamed.marks());
        assert!(found.iter().all(Option::is_none), "{doc}");
        // Every split records the same marks.
        for limits in LIMITS {
            let (_, marks) = stream::decode_marked(doc.as_bytes(), &plan, *limits).unwrap();
            assert_eq!(marks.root, want[paths.iter().position(|p| p.is_empty()).unwrap()]);
            for (p, w) in paths.iter().zip(&want) {
                let element = p.strip_suffix(']').and_then(|p| p.split_once('[')).filter(|_| !p.contains('.'));
                if let Some((key, i)) = element {
                    let got = marks.element(key, i.parse().unwrap()).map(|(_, at)| at);
                    assert_eq!(got, Some(*w), "{limits:?} {p} in {doc}");
                }
            }
        }
    }
    assert!(fields_found > 20, "{fields_found} fields of streamed entities compared");
}

#[test]
fn an_index_that_does_not_fit_the_text_falls_back_to_the_walk() {
    let (m, plan) = erp_plan();
    let doc = r#"{"id": "t", "users": [{"id": "a"}, {"id": "b", "sessions": [{}]}]}"#;
    let whole = Content::Json(doc.as_bytes().to_vec());
    let tenant = decode("t.json", Arc::from("t.json"), &whole, &plan).unwrap();
    let paths = every_path(&m, &tenant);
    let paths: Vec<&str> = paths.iter().map(String::as_str).collect();
    let want = locate(&whole, 1, &paths);
    let wrong = Marks::Brackets(scan::Brackets { outer: vec![3, 40], inner: vec![], plain: false });
    assert_eq!(locate_marked(&whole, 1, &paths, Some(&wrong)), want);
    // Without marks, a JSON file is read again (it is small enough to hold).
    let tmp = temp_dir("unmarked");
    let dir = tmp.path();
    let path = dir.join("t.json");
    std::fs::write(&path, doc).unwrap();
    assert_eq!(locate_marked(&Content::JsonFile(path), 1, &paths, None), want);
}
