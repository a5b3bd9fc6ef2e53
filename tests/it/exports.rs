//! The shipped packs (`policies/`) on the vendor exports in `examples/exports/`: the
//! findings `tenet check --from` gives are pinned, `tenet import` followed by `tenet check`
//! on the snapshot gives the same ones, and the corrected rules (issue #9) are exercised
//! on imported data, not only on hand-written snapshots.

use std::process::{Command, Output};

const NOW: &str = "2026-12-05T00:00:00Z";

fn tenet(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tenet")).args(args).output().unwrap()
}

fn report(o: &Output) -> serde_json::Value {
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| {
        panic!(
            "not a JSON report ({e}): {}\n{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        )
    })
}

/// `policy/rule status subject: message`, one line per finding, without the input's name.
fn lines(o: &Output) -> Vec<String> {
    report(o)["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            let subject = f["subject"]["id"].as_str().map_or_else(|| "tenant".to_owned(), str::to_owned);
            format!(
                "{}/{} {} {}: {}",
                f["policy"].as_str().unwrap_or("-"),
                f["rule"].as_str().unwrap(),
                f["status"].as_str().unwrap(),
                subject,
                f["message"].as_str().unwrap()
            )
        })
        .collect()
}

fn check_from(vendor: &str, dir: &str, extra: &[&str]) -> Output {
    let overlay = format!("{dir}.overlay.yaml");
    let mut args = vec!["check", "--format", "json", "--now", NOW, "-p", "policies", "--from", vendor, dir];
    args.extend(["--overlay", overlay.as_str()]);
    args.extend(extra);
    tenet(&args)
}

const EXPORTS: &[(&str, &str)] = &[
    ("frappe", "examples/exports/frappe-v15"),
    ("frappe", "examples/exports/frappe-v14"),
    ("netsuite", "examples/exports/netsuite"),
];

#[test]
fn shipped_packs_on_the_exports_give_the_pinned_findings() {
    let mut all = Vec::new();
    for (vendor, dir) in EXPORTS {
        let o = check_from(vendor, dir, &["--fail-on", "warning"]);
        assert_eq!(o.status.code(), Some(1), "{dir}: {}", String::from_utf8_lossy(&o.stderr));
        all.push(format!("# {dir}"));
        all.extend(lines(&o));
    }
    insta::assert_snapshot!("shipped-packs-on-exports", all.join("\n"));
}

#[test]
fn import_then_check_gives_the_same_findings() {
    let dir = super::scratch::scratch("import");
    for (vendor, src) in EXPORTS {
        let out = dir.join("tenant.json");
        let out = out.to_str().unwrap();
        let overlay = format!("{src}.overlay.yaml");
        let o = tenet(&["import", "--from", vendor, src, "--overlay", &overlay, "-o", out]);
        assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
        let a = check_from(vendor, src, &[]);
        let b = tenet(&["check", "--format", "json", "--now", NOW, "-p", "policies", out]);
        assert_eq!(a.status.code(), b.status.code(), "{src}");
        let (la, lb) = (lines(&a), lines(&b));
        assert!(!la.is_empty(), "{src}: the packs find nothing, so the comparison proves nothing");
        assert_eq!(la, lb, "{src}");
    }
}

/// Frappe's seat sum: enabled System Users other than Administrator and Guest. The export
/// has six users whose caps add up to 13; only Meera (3) and Arjun (2) count.
#[test]
fn erpnext_seats_count_enabled_system_users_only() {
    let o =
        check_from("frappe", "examples/exports/frappe-v15", &["--rule", "erpnext-sessions.seats_cover_session_caps"]);
    let l = lines(&o);
    assert_eq!(l.len(), 1, "{l:?}");
    assert!(l[0].contains("4 seats") && l[0].contains("add up to 5"), "{}", l[0]);
}

/// NetSuite 2026.1: five active certificates are at the cap (a warning), the two revoked
/// ones do not count; the stricter reading counts them and fails the cap.
#[test]
fn netsuite_certificates_count_active_ones_unless_asked() {
    let rules = ["--rule", "netsuite-2026.1.cert_cap", "--rule", "netsuite-2026.1.cert_cap_reached"];
    let o = check_from("netsuite", "examples/exports/netsuite", &rules);
    let l = lines(&o);
    assert_eq!(l.len(), 1, "{l:?}");
    assert!(l[0].starts_with("netsuite-2026.1/cert_cap_reached fail 101"), "{}", l[0]);
    let mut strict = rules.to_vec();
    strict.extend(["--set", "count_revoked_certs=true"]);
    let l = lines(&check_from("netsuite", "examples/exports/netsuite", &strict));
    assert_eq!(l.len(), 1, "{l:?}");
    assert!(l[0].starts_with("netsuite-2026.1/cert_cap fail 101") && l[0].contains("7 certificates"), "{}", l[0]);
}

/// NetSuite 2026.1 multiple sessions: the account feature plus "all of the user's roles
/// 2FA-required". SuiteQL has no sessions, so the rule is exercised with an overlay that
/// gives two users two sessions each: one whose roles all require 2FA (passes), one with
/// a role that does not (fails); with the feature off both fail.
#[test]
fn netsuite_multiple_sessions_need_the_feature_and_all_roles_2fa() {
    let imported = tenet(&[
        "import",
        "--from",
        "netsuite",
        "examples/exports/netsuite",
        "--overlay",
        "examples/exports/netsuite.overlay.yaml",
    ]);
    assert_eq!(imported.status.code(), Some(0));
    let t: serde_json::Value = serde_json::from_slice(&imported.stdout).unwrap();
    let users = t["users"].as_array().unwrap();
    let roles: std::collections::HashMap<&str, bool> = t["roles"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["id"].as_str().unwrap(), r["2fa"].as_bool().unwrap_or(false)))
        .collect();
    let all_2fa = |u: &serde_json::Value| u["roles"].as_array().unwrap().iter().all(|r| roles[r.as_str().unwrap()]);
    let good = users
        .iter()
        .find(|u| !u["roles"].as_array().unwrap().is_empty() && all_2fa(u))
        .expect("a user whose roles all require 2FA");
    let bad = users.iter().find(|u| !all_2fa(u)).expect("a user with a role without 2FA");
    let (good, bad) = (good["id"].as_str().unwrap(), bad["id"].as_str().unwrap());
    let dir = super::scratch::scratch("sessions");
    for feature in [true, false] {
        let overlay = dir.join("sessions.yaml");
        let base = std::fs::read_to_string("examples/exports/netsuite.overlay.yaml").unwrap();
        let base = base.replace("multiple_sessions: true", &format!("multiple_sessions: {feature}"));
        let extra = format!(
            "users:\n  - {{id: \"{good}\", sessions: [{{id: a}}, {{id: b}}]}}\n  - {{id: \"{bad}\", sessions: [{{id: c}}, {{id: d}}]}}\n"
        );
        std::fs::write(&overlay, format!("{base}{extra}")).unwrap();
        let o = tenet(&[
            "check",
            "--format",
            "json",
            "--now",
            NOW,
            "-p",
            "policies",
            "--from",
            "netsuite",
            "examples/exports/netsuite",
            "--overlay",
            overlay.to_str().unwrap(),
            "--rule",
            "netsuite-2026.1.extra_sessions_need_feature_and_2fa",
        ]);
        let failing: Vec<String> = report(&o)["findings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| format!("{} {}", f["subject"]["id"].as_str().unwrap(), f["status"].as_str().unwrap()))
            .collect();
        let expected =
            if feature { vec![format!("{bad} fail")] } else { vec![format!("{good} fail"), format!("{bad} fail")] };
        let mut expected = expected;
        expected.sort();
        let mut failing = failing;
        failing.sort();
        assert_eq!(failing, expected, "feature {feature}");
    }
}
