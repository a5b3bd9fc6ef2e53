//! `--format markdown`: a summary for a pull-request comment or a job summary
//! (`$GITHUB_STEP_SUMMARY`): the counts by severity, the rules and tenants with the most
//! findings, then the first findings with their fix. Data (names, messages, ids) is
//! escaped so that it shows as text: Markdown punctuation gets a backslash, `<`, `>` and
//! `&` become entities (no HTML from data), control characters are written as `\u{…}` and
//! line breaks become spaces, so nothing breaks out of a table cell or list item.
//!
//! Waived findings are listed as `waived`, with the waiver's reason.

use super::{place, subject_text, Reporter, RunInfo};
use crate::finding::{Finding, Severity, Status, Summary, TenantReport};
use std::collections::HashMap;
use std::fmt::Write as _;
use std::io::{self, Write};

/// Rules and tenants listed at most.
const TOP: usize = 10;
/// Findings listed at most.
const FIRST: usize = 50;

pub struct Markdown {
    info: RunInfo,
    by_rule: HashMap<String, (usize, usize)>,
    by_tenant: HashMap<String, (usize, usize)>,
    /// Order of first appearance, so ties list in input order.
    seen: usize,
    first: Vec<Finding>,
    total: usize,
}

impl Markdown {
    pub fn new(info: RunInfo) -> Self {
        Markdown { info, by_rule: HashMap::new(), by_tenant: HashMap::new(), seen: 0, first: Vec::new(), total: 0 }
    }
}

/// `s` as literal Markdown text, safe in a table cell or a list item.
pub fn markdown_safe(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '\n' | '\r' | '\t' => out.push(' '),
            c if c.is_ascii_punctuation() => {
                out.push('\\');
                out.push(c);
            }
            c => out.push_str(&super::terminal_safe(c.encode_utf8(&mut [0u8; 4]), false)),
        }
    }
    out
}

fn badge(f: &Finding) -> &'static str {
    match (f.status, f.severity) {
        (Status::Waived, _) => "waived",
        (Status::Error, _) => "evaluation error",
        (_, Severity::Error) => "error",
        (_, Severity::Warning) => "warning",
        (_, Severity::Info) => "info",
    }
}

fn top(map: &HashMap<String, (usize, usize)>) -> Vec<(&String, usize)> {
    let mut v: Vec<(&String, usize, usize)> = map.iter().map(|(k, (n, order))| (k, *n, *order)).collect();
    v.sort_by(|a, b| b.1.cmp(&a.1).then(a.2.cmp(&b.2)));
    v.into_iter().take(TOP).map(|(k, n, _)| (k, n)).collect()
}

impl Reporter for Markdown {
    fn tenant(&mut self, _out: &mut dyn Write, report: &TenantReport) -> io::Result<()> {
        for f in &report.findings {
            self.total += 1;
            let seen = &mut self.seen;
            let rule = self.by_rule.entry(f.rule_id()).or_insert_with(|| (0, *seen));
            rule.0 += 1;
            *seen += 1;
            let tenant = self.by_tenant.entry(f.tenant.to_string()).or_insert_with(|| (0, *seen));
            tenant.0 += 1;
            *seen += 1;
            if self.first.len() < FIRST {
                self.first.push(f.clone());
            }
        }
        Ok(())
    }

    fn finish(&mut self, out: &mut dyn Write, s: &Summary) -> io::Result<()> {
        let mut md = String::new();
        let verdict = if s.fail_by_severity.error + s.error > 0 {
            "failed"
        } else if s.fail > 0 {
            "passed with findings"
        } else {
            "passed"
        };
        let _ = writeln!(md, "## tenet: {verdict}\n");
        let _ = writeln!(
            md,
            "{} tenants checked ({} with findings), {} evaluations, `--now` {}.\n",
            s.tenants,
            self.by_tenant.len(),
            s.evaluations,
            markdown_safe(&self.info.now)
        );
        md.push_str("| result | count |\n|---|---:|\n");
        for (name, n) in [
            ("fail: error", s.fail_by_severity.error),
            ("fail: warning", s.fail_by_severity.warning),
            ("fail: info", s.fail_by_severity.info),
            ("evaluation or input error", s.error),
            ("pass", s.pass),
            ("skip", s.skip),
        ] {
            let _ = writeln!(md, "| {name} | {n} |");
        }
        if self.total > 0 {
            md.push_str("\n### Rules with the most findings\n\n| rule | findings |\n|---|---:|\n");
            for (rule, n) in top(&self.by_rule) {
                let _ = writeln!(md, "| {} | {n} |", markdown_safe(rule));
            }
            md.push_str("\n### Tenants with the most findings\n\n| tenant | findings |\n|---|---:|\n");
            for (tenant, n) in top(&self.by_tenant) {
                let _ = writeln!(md, "| {} | {n} |", markdown_safe(tenant));
            }
            let shown = self.first.len();
            let _ = writeln!(
                md,
                "\n### Findings{}\n",
                if shown < self.total { format!(" (first {shown} of {})", self.total) } else { String::new() }
            );
            for f in &self.first {
                let _ = writeln!(
                    md,
                    "- **{}** {}: {} ({})  \n  {}",
                    badge(f),
                    markdown_safe(&f.rule_id()),
                    markdown_safe(&subject_text(f)),
                    markdown_safe(&place(f)),
                    markdown_safe(&f.message)
                );
                if let (Status::Error, Some(r)) = (f.status, &f.reason) {
                    let _ = writeln!(md, "  Reason: {}", markdown_safe(r));
                }
                if let Some(r) = &f.remediation {
                    let _ = writeln!(md, "  Fix: {}", markdown_safe(r));
                }
                if let Some(w) = &f.triage.waiver {
                    let _ = writeln!(md, "  Waived: {}", markdown_safe(&w.reason));
                }
            }
        }
        out.write_all(md.as_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::markdown_safe;

    #[test]
    fn markdown_and_html_in_data_are_text() {
        assert_eq!(markdown_safe("<img src=x>|*a*"), "&lt;img src\\=x&gt;\\|\\*a\\*");
        assert_eq!(markdown_safe("a\nb\u{1b}"), "a b\\u{1b}");
        assert_eq!(markdown_safe("[x](javascript:1)"), "\\[x\\]\\(javascript\\:1\\)");
    }
}
