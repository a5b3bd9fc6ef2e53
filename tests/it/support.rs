//! Helpers shared by the test modules.

use tenet::engine::Engine;
use tenet::model::Model;
use tenet::snapshot::Content;
use tenet::source::SourceFile;
use tenet::value::parse_date;

pub const NOW: &str = "2026-11-22T00:00:00Z";

pub fn now() -> i64 {
    parse_date(NOW).unwrap()
}

/// Compiles one `.tenet` policy; panics with the rendered diagnostics if it does not check.
pub fn engine(policy: &str) -> Engine {
    match Engine::builder(Model::erp()).policy(SourceFile::new("test.tenet", policy)).build() {
        Ok(e) => e,
        Err(tenet::engine::CompileError::Diagnostics(d)) => {
            panic!("policy does not check:\n{}", d.iter().map(|d| d.render_plain()).collect::<String>())
        }
        Err(tenet::engine::CompileError::Usage(u)) => panic!("{u}"),
    }
}

/// The rendered diagnostics of a policy that must not check.
pub fn diagnostics(policy: &str) -> String {
    match Engine::builder(Model::erp()).policy(SourceFile::new("test.tenet", policy)).build() {
        Ok(_) => panic!("policy unexpectedly checks"),
        Err(tenet::engine::CompileError::Diagnostics(d)) => d.iter().map(|d| d.render_plain()).collect(),
        Err(tenet::engine::CompileError::Usage(u)) => u,
    }
}

/// `rule path status [reason]` lines for every evaluation of `policy` over a JSON tenant.
pub fn statuses(policy: &str, tenant_json: &str) -> Vec<String> {
    let e = engine(policy);
    let t = e.decode("t.json", Content::Json(tenant_json.as_bytes().to_vec())).expect("tenant decodes");
    e.statuses(&t, now())
        .into_iter()
        .map(|(rule, path, status, reason)| {
            let name = &e.program.rules[rule].name;
            let path = if path.is_empty() { "tenant".to_string() } else { path };
            let s = status.as_str();
            match reason {
                Some(r) => format!("{name} {path} {s}: {r}"),
                None => format!("{name} {path} {s}"),
            }
        })
        .collect()
}

/// The status of a one-rule policy `rule r: EXPR` at tenant level over a tenant.
pub fn value_of(expr: &str, tenant_json: &str) -> String {
    let policy = format!("policy \"t\"\nrule r: {expr}\n");
    let s = statuses(&policy, tenant_json);
    assert_eq!(s.len(), 1, "expected one evaluation: {s:?}");
    s[0].trim_start_matches("r tenant ").to_string()
}
