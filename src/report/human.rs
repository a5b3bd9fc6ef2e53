//! `--format human`: findings grouped by tenant, then a summary line.

use super::{Reporter, RunInfo};
use crate::finding::{Finding, Severity, Status, Summary, TenantReport};
use std::borrow::Cow;
use std::io::{self, Write};

/// Text from tenants, policies or file names made safe to show on a terminal: control
/// characters (C0 but `\n` and `\t` when `lines` is set, DEL, C1) and the bidirectional
/// overrides and isolates (U+202A–U+202E, U+2066–U+2069) are written as `\u{…}`, so data
/// can neither send escape sequences (colors, titles, hyperlinks, cursor moves) to the
/// terminal nor make text display in another order than it is. Text without any of these
/// is borrowed as it is.
pub fn terminal_safe(text: &str, lines: bool) -> Cow<'_, str> {
    let unsafe_char = |c: char| {
        (c.is_control() && !(lines && (c == '\n' || c == '\t')))
            || matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
    };
    if !text.chars().any(unsafe_char) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        if unsafe_char(c) {
            out.push_str(&format!("\\u{{{:x}}}", c as u32));
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

pub struct Human {
    info: RunInfo,
    color: bool,
    clean_tenants: u64,
}

impl Human {
    pub fn new(info: RunInfo, color: bool) -> Self {
        Human { info, color, clean_tenants: 0 }
    }

    fn paint(&self, code: &str, text: &str) -> String {
        if self.color {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_string()
        }
    }

    fn badge(&self, f: &Finding) -> String {
        match (f.status, f.severity) {
            (Status::Waived, _) => self.paint("2", "waived "),
            (Status::Error, _) => self.paint("1;35", "ERROR  "),
            (_, Severity::Error) => self.paint("1;31", "error  "),
            (_, Severity::Warning) => self.paint("1;33", "warning"),
            (_, Severity::Info) => self.paint("1;34", "info   "),
        }
    }
}

impl Reporter for Human {
    fn tenant(&mut self, out: &mut dyn Write, report: &TenantReport) -> io::Result<()> {
        let Some(first) = report.findings.first() else {
            self.clean_tenants += 1;
            return Ok(());
        };
        let header = if *first.tenant == *first.source {
            first.tenant.to_string()
        } else {
            format!("{} ({})", first.tenant, first.source)
        };
        let header = terminal_safe(&header, false);
        writeln!(out, "{}", self.paint("1", &header))?;
        for f in &report.findings {
            let who = match (&f.subject.id, f.subject.path.as_str()) {
                (_, "") => "tenant".to_string(),
                (Some(id), path) => format!("{} {id} ({path})", f.subject.kind),
                (None, path) => format!("{} {path}", f.subject.kind),
            };
            let rule = match &f.policy {
                Some(p) => format!("{p}/{}", f.rule),
                None => f.rule.to_string(),
            };
            let (rule, who) = (terminal_safe(&rule, false), terminal_safe(&who, false));
            let at = match &f.location {
                Some(l) => format!(
                    "  {}",
                    self.paint("2", &terminal_safe(&format!("{}:{}:{}", l.file, l.point().0, l.point().1), false))
                ),
                None => String::new(),
            };
            let mark = match f.triage.baseline {
                Some(crate::finding::BaselineMark::New) => format!("  {}", self.paint("1", "[new]")),
                Some(crate::finding::BaselineMark::Existing) => format!("  {}", self.paint("2", "[existing]")),
                None => String::new(),
            };
            writeln!(out, "  {} {}  {}{at}{mark}", self.badge(f), self.paint("2", &rule), who)?;
            if let Some(w) = &f.triage.waiver {
                let line = format!("waived: {} ({})", w.reason, waiver_origin(w));
                writeln!(out, "      {}", self.paint("2", &terminal_safe(&line, false)))?;
            }
            if let Some(w) = &f.triage.waiver_expired {
                let line = format!("waiver expired: {} ({})", w.reason, waiver_origin(w));
                writeln!(out, "      {}", self.paint("33", &terminal_safe(&line, false)))?;
            }
            writeln!(out, "      {}", terminal_safe(&f.message, false))?;
            if let Some(reason) = &f.reason {
                if f.policy.is_some() {
                    writeln!(out, "      {} {}", self.paint("35", "reason:"), terminal_safe(reason, false))?;
                }
            }
            if let Some(ev) = &f.evidence {
                if !ev.is_empty() {
                    let parts: Vec<String> = ev.iter().map(|(k, v)| format!("{k} = {v}")).collect();
                    writeln!(out, "      {} {}", self.paint("2", "because"), terminal_safe(&parts.join(", "), false))?;
                }
            }
            if let Some(r) = &f.remediation {
                writeln!(out, "      {} {}", self.paint("36", "fix:"), terminal_safe(r, false))?;
            }
            if !f.see.is_empty() {
                let see: Vec<&str> = f.see.iter().map(|s| &**s).collect();
                writeln!(out, "      {} {}", self.paint("36", "see:"), terminal_safe(&see.join(" "), false))?;
            }
        }
        writeln!(out)
    }

    fn finish(&mut self, out: &mut dyn Write, s: &Summary) -> io::Result<()> {
        let policies: Vec<String> = self
            .info
            .policies
            .iter()
            .map(|p| format!("{} ({})", p.name, super::plural(p.rules, "rule", "rules")))
            .collect();
        writeln!(out, "policies: {}", terminal_safe(&policies.join(", "), false))?;
        let fails = format!(
            "{} fail ({} error, {} warning, {} info)",
            s.fail, s.fail_by_severity.error, s.fail_by_severity.warning, s.fail_by_severity.info
        );
        let fails = if s.fail > 0 { self.paint("1;31", &fails) } else { self.paint("32", &fails) };
        let errors = format!("{} error", s.error);
        let errors = if s.error > 0 { self.paint("1;35", &errors) } else { errors };
        writeln!(
            out,
            "{} tenants ({} clean), {} evaluations: {} pass, {fails}, {errors}, {} skip (now = {})",
            s.tenants, self.clean_tenants, s.evaluations, s.pass, s.skip, self.info.now
        )?;
        if let Some(waived) = s.waived {
            let stale = s.stale_waivers.len();
            writeln!(
                out,
                "waivers: {waived} findings waived, {stale} stale waiver{}",
                if stale == 1 { "" } else { "s" }
            )?;
        }
        if let (Some(new), Some(existing), Some(fixed)) = (s.new, s.existing, s.fixed) {
            writeln!(out, "baseline: {new} new, {existing} existing, {fixed} fixed")?;
        }
        Ok(())
    }
}

/// Who accepted a waived finding and until when, and where the waiver is written.
fn waiver_origin(w: &crate::finding::WaiverRef) -> String {
    let mut parts = Vec::new();
    if let Some(o) = &w.owner {
        parts.push(format!("owner {o}"));
    }
    if let Some(t) = &w.ticket {
        parts.push(format!("ticket {t}"));
    }
    if let Some(e) = &w.expires {
        parts.push(format!("expires {e}"));
    }
    parts.push(format!("{}:{}", w.file, w.line));
    parts.join(", ")
}

#[cfg(test)]
mod tests {
    use super::terminal_safe;

    #[test]
    fn control_characters_are_escaped() {
        assert_eq!(terminal_safe("plain ü", false), "plain ü");
        assert_eq!(terminal_safe("a\x1b]0;x\x07b", false), "a\\u{1b}]0;x\\u{7}b");
        assert_eq!(terminal_safe("a\nb\tc", false), "a\\u{a}b\\u{9}c");
        assert_eq!(terminal_safe("a\nb\tc", true), "a\nb\tc");
        assert_eq!(terminal_safe("\u{9b}\u{202e}\u{7f}", true), "\\u{9b}\\u{202e}\\u{7f}");
    }
}
