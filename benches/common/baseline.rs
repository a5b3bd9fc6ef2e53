//! The hand-written baseline: serde_json into typed structs, then plain loops — what a
//! competent engineer writes for these six rules without a policy engine. Two variants:
//!
//! - [`full`] (the baseline, the one the targets are measured against): structs
//!   that model the whole export, every field the exporter writes, as owned values; so it
//!   allocates the whole document, as every general engine does.
//! - [`lean`]: structs with only the fields the six rules read (serde skips the rest, and
//!   sessions, only counted, are zero-sized): the fastest a straightforward serde program
//!   gets without writing a custom deserializer.
//!
//! Defaults follow the `erp` model (tenant-model.md §2). Included as a module by
//! `benches/vs_rego.rs` and `benches/bin/baseline.rs`.

#![allow(dead_code)] // each includer uses part of it; `full` keeps fields no rule reads

/// One violation: (tenant id, rule name, subject id).
pub type Violation = (String, String, String);

fn one() -> i64 {
    1
}

pub mod full {
    use serde::Deserialize;

    #[derive(Deserialize)]
    pub struct Tenant {
        pub id: String,
        pub name: Option<String>,
        pub platform: Option<String>,
        pub release: Option<String>,
        pub account_id: Option<String>,
        pub exported_at: Option<String>,
        #[serde(default)]
        pub plan: Plan,
        #[serde(default)]
        pub settings: Settings,
        #[serde(default)]
        pub roles: Vec<Role>,
        #[serde(default)]
        pub users: Vec<User>,
        #[serde(default)]
        pub integrations: Vec<Integration>,
    }

    #[derive(Deserialize, Default)]
    pub struct Plan {
        pub edition: Option<String>,
        pub seats: Option<i64>,
    }

    #[derive(Deserialize, Default)]
    pub struct Settings {
        #[serde(default)]
        pub login_notifications: bool,
        #[serde(default)]
        pub only_one_session_per_user: bool,
        pub session_expiry: Option<String>,
        pub session_expiry_mobile: Option<String>,
        pub password_policy: Option<String>,
        pub session_timeout_minutes: Option<i64>,
    }

    #[derive(Deserialize)]
    pub struct Role {
        pub id: String,
        pub name: Option<String>,
        #[serde(default)]
        pub multiple_sessions: bool,
        #[serde(default, rename = "2fa")]
        pub two_factor: bool,
        pub status: Option<String>,
        #[serde(default)]
        pub permissions: Vec<String>,
    }

    #[derive(Deserialize)]
    pub struct User {
        pub id: String,
        pub name: Option<String>,
        pub email: Option<String>,
        pub kind: Option<String>,
        #[serde(default)]
        pub roles: Vec<String>,
        #[serde(default)]
        pub two_factor: bool,
        #[serde(default = "super::one")]
        pub session_cap: i64,
        pub last_login: Option<String>,
        #[serde(default)]
        pub sessions: Vec<Session>,
    }

    #[derive(Deserialize)]
    pub struct Session {
        pub id: String,
        pub client: Option<String>,
        pub device: Option<String>,
        pub browser: Option<String>,
        pub ip: Option<String>,
        pub started_at: Option<String>,
        pub last_seen: Option<String>,
        #[serde(default)]
        pub acknowledged: bool,
    }

    #[derive(Deserialize)]
    pub struct Integration {
        pub id: String,
        pub name: Option<String>,
        pub auth_method: Option<String>,
        pub api: Option<String>,
        #[serde(default)]
        pub pkce: bool,
        #[serde(default)]
        pub critical: bool,
        pub category: Option<String>,
        pub integration_user: Option<String>,
        pub created_at: Option<String>,
        pub last_reviewed: Option<String>,
        #[serde(default)]
        pub redirect_uris: Vec<String>,
        #[serde(default)]
        pub certificates: Vec<Cert>,
    }

    #[derive(Deserialize)]
    pub struct Cert {
        pub id: String,
        pub status: Option<String>,
        pub created_at: Option<String>,
        pub expires_at: Option<String>,
    }
}

pub mod lean {
    use serde::Deserialize;

    #[derive(Deserialize)]
    pub struct Tenant {
        pub id: String,
        #[serde(default)]
        pub plan: Plan,
        #[serde(default)]
        pub roles: Vec<Role>,
        #[serde(default)]
        pub users: Vec<User>,
        #[serde(default)]
        pub integrations: Vec<Integration>,
    }

    #[derive(Deserialize, Default)]
    pub struct Plan {
        pub seats: Option<i64>,
    }

    #[derive(Deserialize)]
    pub struct Role {
        pub id: String,
        #[serde(default)]
        pub multiple_sessions: bool,
        #[serde(default, rename = "2fa")]
        pub two_factor: bool,
    }

    #[derive(Deserialize)]
    pub struct User {
        pub id: String,
        #[serde(default)]
        pub roles: Vec<String>,
        #[serde(default = "super::one")]
        pub session_cap: i64,
        #[serde(default)]
        pub sessions: Vec<Session>,
    }

    /// Sessions are only counted.
    #[derive(Deserialize)]
    pub struct Session {}

    #[derive(Deserialize)]
    pub struct Integration {
        pub id: String,
        pub auth_method: Option<String>,
        #[serde(default)]
        pub certificates: Vec<Cert>,
    }

    #[derive(Deserialize)]
    pub struct Cert {
        pub status: Option<String>,
    }
}

/// The six rules over one parsed tenant (either variant: the field names are the same),
/// calling `$out(rule, subject id)` per violation in the order tenet reports them.
macro_rules! six_rules {
    ($t:expr, $out:expr) => {{
        let t = $t;
        let mut out = $out;
        // R1 each role: multiple_sessions requires 2fa.
        for r in &t.roles {
            if r.multiple_sessions && !r.two_factor {
                out("r1_multi_session_requires_2fa", &r.id);
            }
        }
        // R2 each user: at most 3 sessions.
        for u in &t.users {
            if u.sessions.len() > 3 {
                out("r2_session_cap", &u.id);
            }
        }
        // R3 each integration: at most 5 active-or-revoked certificates.
        for i in &t.integrations {
            let n = i.certificates.iter().filter(|c| matches!(c.status.as_deref(), Some("active" | "revoked"))).count();
            if n > 5 {
                out("r3_cert_cap", &i.id);
            }
        }
        // R4 the tenant: seats cover the sum of session caps (a missing seat count fails).
        let caps: i64 = t.users.iter().map(|u| u.session_cap).sum();
        if t.plan.seats.is_none_or(|s| s < caps) {
            out("r4_seats_cover_session_caps", &t.id);
        }
        // R5 each integration: no Basic auth.
        for i in &t.integrations {
            if i.auth_method.as_deref() == Some("basic") {
                out("r5_no_basic_auth", &i.id);
            }
        }
        // R6 each user with more than one session: every role allows multiple sessions
        // (a dangling role reference fails).
        let multi: std::collections::HashMap<&str, bool> =
            t.roles.iter().map(|r| (r.id.as_str(), r.multiple_sessions)).collect();
        for u in &t.users {
            if u.sessions.len() > 1 && !u.roles.iter().all(|r| multi.get(r.as_str()).copied().unwrap_or(false)) {
                out("r6_multi_session_roles", &u.id);
            }
        }
    }};
}

/// Parses one tenant document into the structs of the whole export.
pub fn parse_full(json: &[u8]) -> Result<full::Tenant, serde_json::Error> {
    serde_json::from_slice(json)
}

/// Parses one tenant document into the structs of the fields the rules read.
pub fn parse_lean(json: &[u8]) -> Result<lean::Tenant, serde_json::Error> {
    serde_json::from_slice(json)
}

pub fn check_full(t: &full::Tenant, out: impl FnMut(&'static str, &str)) {
    six_rules!(t, out)
}

pub fn check_lean(t: &lean::Tenant, out: impl FnMut(&'static str, &str)) {
    six_rules!(t, out)
}

/// Parses and checks one tenant document (`lean`: the lean structs).
pub fn violations(json: &[u8], lean: bool) -> Result<Vec<Violation>, serde_json::Error> {
    let mut v = Vec::new();
    if lean {
        let t = parse_lean(json)?;
        check_lean(&t, |rule, id| v.push((t.id.clone(), rule.to_string(), id.to_string())));
    } else {
        let t = parse_full(json)?;
        check_full(&t, |rule, id| v.push((t.id.clone(), rule.to_string(), id.to_string())));
    }
    Ok(v)
}
