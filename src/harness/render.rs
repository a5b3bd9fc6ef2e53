//! Output of `tenet test`: case lines, diffs, one-line findings.

use super::CaseOutcome;
use serde_json::Value as J;

fn s<'a>(f: &'a J, key: &str) -> &'a str {
    f.get(key).and_then(J::as_str).unwrap_or("")
}

/// A finding on one line: `policy/rule subject status severity: message`, plus the reason
/// of an `error`.
pub fn finding_line(f: &J) -> String {
    let policy = f.get("policy").and_then(J::as_str).unwrap_or("input");
    let subject = f.get("subject").unwrap_or(&J::Null);
    let path = s(subject, "path");
    let mut who = if path.is_empty() { "tenant".to_string() } else { path.to_string() };
    if let Some(id) = subject.get("id").and_then(J::as_str) {
        who = format!("{who} ({id})");
    }
    let mut line =
        format!("{policy}/{} {who} {} {}: {}", s(f, "rule"), s(f, "status"), s(f, "severity"), s(f, "message"));
    if let Some(r) = f.get("reason").and_then(J::as_str) {
        line.push_str(&format!(" [reason: {r}]"));
    }
    line
}

/// `count(user.sessions) = 4, max_sessions = 3`, when the finding has evidence.
pub fn evidence_line(f: &J) -> Option<String> {
    let ev = f.get("evidence")?.as_object()?;
    if ev.is_empty() {
        return None;
    }
    Some(ev.iter().map(|(k, v)| format!("{k} = {v}")).collect::<Vec<_>>().join(", "))
}

/// A value as one would write it in a YAML flow mapping: quoted when it would not read back.
pub fn quote(v: &str) -> String {
    let plain = !v.is_empty()
        && v.trim() == v
        && !v.contains([',', ':', '{', '}', '[', ']', '#', '"', '\''])
        && !v.starts_with(['&', '*', '!', '|', '>', '%', '@', '`', '-', '?']);
    if plain {
        v.to_string()
    } else {
        J::String(v.to_string()).to_string()
    }
}

/// The lines printed for one case.
pub struct CaseReport<'a> {
    pub file: &'a str,
    pub name: &'a str,
    pub outcome: &'a CaseOutcome,
}

impl CaseReport<'_> {
    /// `ok     file › name` or `FAILED file › name`, then the indented details.
    pub fn render(&self, color: bool) -> String {
        use crate::report::terminal_safe;
        let (word, paint) = if self.outcome.passed { ("ok", "\x1b[32m") } else { ("FAILED", "\x1b[31;1m") };
        let (file, name) = (terminal_safe(self.file, false), terminal_safe(self.name, false));
        let mut out = if color {
            format!("{paint}{word:<6}\x1b[0m {file} › {name}\n")
        } else {
            format!("{word:<6} {file} › {name}\n")
        };
        for d in &self.outcome.details {
            out.push_str("       ");
            out.push_str(&terminal_safe(d, false));
            out.push('\n');
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_line_findings() {
        let f = serde_json::json!({
            "policy": "p", "rule": "r", "status": "fail", "severity": "error", "message": "m",
            "subject": {"kind": "user", "id": "u1", "path": "users[0]"},
            "evidence": {"count(user.sessions)": 4, "max_sessions": 3}
        });
        assert_eq!(finding_line(&f), "p/r users[0] (u1) fail error: m");
        assert_eq!(evidence_line(&f).as_deref(), Some("count(user.sessions) = 4, max_sessions = 3"));
        let t = serde_json::json!({
            "policy": "p", "rule": "r", "status": "error", "severity": "warning", "message": "m",
            "subject": {"kind": "tenant", "id": null, "path": ""}, "reason": "missing field tenant.name"
        });
        assert_eq!(finding_line(&t), "p/r tenant error warning: m [reason: missing field tenant.name]");
    }

    #[test]
    fn quoting() {
        assert_eq!(quote("cert_cap"), "cert_cap");
        assert_eq!(quote("users[0]"), "\"users[0]\"");
        assert_eq!(quote("a: b"), "\"a: b\"");
        assert_eq!(quote(""), "\"\"");
    }
}
