//! `--format human`: findings grouped by tenant, then a summary line.

use super::{Reporter, RunInfo};
use crate::finding::{Finding, Severity, Status, Summary, TenantReport};
use std::io::{self, Write};

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
            writeln!(out, "  {} {}  {}", self.badge(f), self.paint("2", &rule), who)?;
            writeln!(out, "      {}", f.message)?;
            if let Some(reason) = &f.reason {
                if f.policy.is_some() {
                    writeln!(out, "      {} {reason}", self.paint("35", "reason:"))?;
                }
            }
            if let Some(ev) = &f.evidence {
                if !ev.is_empty() {
                    let parts: Vec<String> = ev.iter().map(|(k, v)| format!("{k} = {v}")).collect();
                    writeln!(out, "      {} {}", self.paint("2", "because"), parts.join(", "))?;
                }
            }
            if let Some(r) = &f.remediation {
                writeln!(out, "      {} {r}", self.paint("36", "fix:"))?;
            }
        }
        writeln!(out)
    }

    fn finish(&mut self, out: &mut dyn Write, s: &Summary) -> io::Result<()> {
        let policies: Vec<String> =
            self.info.policies.iter().map(|p| format!("{} ({} rules)", p.name, p.rules)).collect();
        writeln!(out, "policies: {}", policies.join(", "))?;
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
        )
    }
}
