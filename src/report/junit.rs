//! `--format junit`: JUnit XML as Jenkins and GitLab read it. A test suite per policy, a
//! test case per rule and tenant (named `RULE (TENANT)`, class `POLICY.RULE`): a passing
//! case is empty, each `fail` finding adds a `<failure>` and each evaluation error an
//! `<error>`. Tenants that could not be read are cases of a suite `input`, with an
//! `<error>` each. Text is escaped for XML 1.0: markup characters as entities, and the
//! characters XML cannot hold at all (C0 controls but tab and newlines, U+FFFE, U+FFFF)
//! written as `\u{…}`.
//!
//! A waived finding is `<skipped message="waived: REASON"/>` in its case, counted in
//! `skipped`.

use super::{place, subject_text, Reporter, RunInfo};
use crate::finding::{Finding, Status, Summary, TenantReport};
use std::fmt::Write as _;
use std::io::{self, Write};
use std::sync::Arc;

pub struct Junit {
    info: RunInfo,
    /// Tenants in input order.
    tenants: Vec<Tenant>,
}

/// A tenant's name, file (known when it has findings), findings, and whether it could not
/// be read.
type Tenant = (Arc<str>, Option<Arc<str>>, Vec<Finding>, bool);

impl Junit {
    pub fn new(info: RunInfo) -> Self {
        Junit { info, tenants: Vec::new() }
    }
}

/// `s` as XML character data or attribute value.
pub(super) fn xml(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            // Newlines and tabs in attributes would be normalized to spaces: keep them.
            '\n' => out.push_str("&#10;"),
            '\r' => out.push_str("&#13;"),
            '\t' => out.push_str("&#9;"),
            '\u{0}'..='\u{1f}' | '\u{7f}'..='\u{9f}' | '\u{fffe}' | '\u{ffff}' => {
                let _ = write!(out, "\\u{{{:x}}}", c as u32);
            }
            c => out.push(c),
        }
    }
    out
}

fn details(f: &Finding) -> String {
    let mut s = format!("{}\n{}\nat {}", subject_text(f), f.message, place(f));
    if let Some(r) = &f.reason {
        let _ = write!(s, "\nreason: {r}");
    }
    if let Some(ev) = &f.evidence {
        for (k, v) in ev {
            let _ = write!(s, "\nbecause {k} = {v}");
        }
    }
    if let Some(r) = &f.remediation {
        let _ = write!(s, "\nfix: {r}");
    }
    s
}

fn element(out: &mut String, f: &Finding) {
    if let (Status::Waived, Some(w)) = (f.status, &f.triage.waiver) {
        let _ = writeln!(out, "      <skipped message=\"{}\"/>", xml(&format!("waived: {}", w.reason)));
        return;
    }
    let (tag, kind) = match f.status {
        Status::Error => ("error", "error"),
        _ => ("failure", f.severity.as_str()),
    };
    let _ = writeln!(
        out,
        "      <{tag} type=\"{kind}\" message=\"{}\">{}</{tag}>",
        xml(&format!("{}: {}", subject_text(f), f.message)),
        xml(&details(f))
    );
}

impl Reporter for Junit {
    fn tenant(&mut self, _out: &mut dyn Write, report: &TenantReport) -> io::Result<()> {
        let file = report.findings.first().map(|f| f.source.clone());
        self.tenants.push((report.tenant.clone(), file, report.findings.clone(), report.input_error));
        Ok(())
    }

    fn finish(&mut self, out: &mut dyn Write, _summary: &Summary) -> io::Result<()> {
        let mut suites = String::new();
        let (mut all_tests, mut all_failures, mut all_errors, mut all_skipped) = (0usize, 0usize, 0usize, 0usize);
        let mut policies: Vec<&str> = Vec::new();
        for r in &self.info.rules {
            if !policies.contains(&&*r.policy) {
                policies.push(&r.policy);
            }
        }
        let readable: Vec<_> = self.tenants.iter().filter(|t| !t.3).collect();
        for policy in policies {
            let (mut tests, mut failures, mut errors, mut skipped) = (0usize, 0usize, 0usize, 0usize);
            let mut cases = String::new();
            for (tenant, file, findings, _) in &readable {
                for rule in self.info.rules.iter().filter(|r| &*r.policy == policy) {
                    tests += 1;
                    let mine: Vec<&Finding> = findings
                        .iter()
                        .filter(|f| f.policy.as_deref() == Some(policy) && f.rule == rule.name)
                        .collect();
                    let file_attr = file.as_ref().map_or(String::new(), |f| format!(" file=\"{}\"", xml(f)));
                    let _ = write!(
                        cases,
                        "    <testcase name=\"{}\" classname=\"{}\"{file_attr}",
                        xml(&format!("{} ({tenant})", rule.name)),
                        xml(&format!("{policy}.{}", rule.name))
                    );
                    if mine.is_empty() {
                        cases.push_str("/>\n");
                        continue;
                    }
                    cases.push_str(">\n");
                    for f in mine {
                        match f.status {
                            Status::Error => errors += 1,
                            Status::Waived => skipped += 1,
                            _ => failures += 1,
                        }
                        element(&mut cases, f);
                    }
                    cases.push_str("    </testcase>\n");
                }
            }
            let _ = write!(
                suites,
                "  <testsuite name=\"{}\" tests=\"{tests}\" failures=\"{failures}\" errors=\"{errors}\" skipped=\"{skipped}\">\n{cases}  </testsuite>\n",
                xml(policy)
            );
            (all_tests, all_failures, all_errors) = (all_tests + tests, all_failures + failures, all_errors + errors);
            all_skipped += skipped;
        }
        let broken: Vec<_> = self.tenants.iter().filter(|t| t.3).collect();
        if !broken.is_empty() {
            let mut cases = String::new();
            for (tenant, _, findings, _) in &broken {
                let _ = writeln!(cases, "    <testcase name=\"{}\" classname=\"input\">", xml(tenant));
                for f in findings.iter() {
                    element(&mut cases, f);
                }
                cases.push_str("    </testcase>\n");
            }
            let n = broken.len();
            let _ = write!(
                suites,
                "  <testsuite name=\"input\" tests=\"{n}\" failures=\"0\" errors=\"{n}\" skipped=\"0\">\n{cases}  </testsuite>\n"
            );
            (all_tests, all_errors) = (all_tests + n, all_errors + n);
        }
        write!(
            out,
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"tenet\" tests=\"{all_tests}\" failures=\"{all_failures}\" errors=\"{all_errors}\" skipped=\"{all_skipped}\">\n{suites}</testsuites>\n"
        )
    }
}

#[cfg(test)]
mod tests {
    use super::xml;

    #[test]
    fn hostile_text_is_escaped() {
        assert_eq!(xml("a]]>b<c>&\"'"), "a]]&gt;b&lt;c&gt;&amp;&quot;&apos;");
        assert_eq!(xml("x\u{0}\u{1b}\u{ffff}\n"), "x\\u{0}\\u{1b}\\u{ffff}&#10;");
    }
}
