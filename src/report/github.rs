//! `--format github`: GitHub Actions workflow commands, one annotation per finding:
//! `::error file=F,line=L,col=C,title=T::MESSAGE` (`warning` for warnings, `notice` for
//! infos; evaluation and input errors are `error`). GitHub shows them on the run and on
//! the lines of a pull request's files. Data is escaped as GitHub's toolkit does it: in
//! the message `%`, CR and LF; in properties also `:` and `,`. A last plain line gives the
//! counts.
//!
//! A waived finding is a `notice` whose message ends with the waiver's reason.

use super::{subject_text, terminal_safe, Reporter};
use crate::finding::{Finding, Severity, Status, Summary, TenantReport};
use std::io::{self, Write};

pub struct Github;

/// GitHub's escaping of a command's message.
pub(super) fn escape_data(s: &str) -> String {
    s.replace('%', "%25").replace('\r', "%0D").replace('\n', "%0A")
}

/// GitHub's escaping of a command's property value.
pub(super) fn escape_property(s: &str) -> String {
    escape_data(s).replace(':', "%3A").replace(',', "%2C")
}

fn command(f: &Finding) -> &'static str {
    match (f.status, f.severity) {
        (Status::Waived, _) => "notice",
        (Status::Error, _) | (_, Severity::Error) => "error",
        (_, Severity::Warning) => "warning",
        (_, Severity::Info) => "notice",
    }
}

/// Control characters other than CR and LF (which the escaping encodes) could still drive
/// a terminal that shows the log: they are written as `\u{…}` first.
fn clean(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if c == '\n' || c == '\r' {
            out.push(c);
        } else {
            out.push_str(&terminal_safe(c.encode_utf8(&mut [0u8; 4]), false));
        }
    }
    out
}

impl Reporter for Github {
    fn tenant(&mut self, out: &mut dyn Write, report: &TenantReport) -> io::Result<()> {
        for f in &report.findings {
            let mut props = Vec::new();
            if let Some(l) = &f.location {
                props.push(format!("file={}", escape_property(&clean(&l.file))));
                props.push(format!("line={}", l.point().0));
                props.push(format!("col={}", l.point().1));
            }
            props.push(format!("title={}", escape_property(&clean(&format!("{} ({})", f.rule_id(), f.code)))));
            let mut message = format!("{}: {}", subject_text(f), f.message);
            if let (Status::Error, Some(reason), Some(_)) = (f.status, &f.reason, &f.policy) {
                message.push_str(&format!("\nreason: {reason}"));
            }
            if let Some(r) = &f.remediation {
                message.push_str(&format!("\nfix: {r}"));
            }
            if let Some(w) = &f.triage.waiver {
                message.push_str(&format!("\nwaived: {}", w.reason));
            }
            writeln!(out, "::{} {}::{}", command(f), props.join(","), escape_data(&clean(&message)))?;
        }
        Ok(())
    }

    fn finish(&mut self, out: &mut dyn Write, s: &Summary) -> io::Result<()> {
        writeln!(
            out,
            "tenet: {} tenants, {} evaluations: {} pass, {} fail ({} error, {} warning, {} info), {} error, {} skip",
            s.tenants,
            s.evaluations,
            s.pass,
            s.fail,
            s.fail_by_severity.error,
            s.fail_by_severity.warning,
            s.fail_by_severity.info,
            s.error,
            s.skip
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_follows_github() {
        assert_eq!(escape_data("100% a\r\nb::c,d"), "100%25 a%0D%0Ab::c,d");
        assert_eq!(escape_property("a:b,c%\n"), "a%3Ab%2Cc%25%0A");
        assert_eq!(clean("a\x1b[31mb\nc"), "a\\u{1b}[31mb\nc");
    }
}
