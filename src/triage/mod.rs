//! Triage: what a run makes of its findings once they are evaluated, before they are
//! reported. Waivers (`waivers.rs`) turn accepted fails and errors into `waived`; a
//! baseline (`baseline.rs`) marks each finding `new` or `existing`. Findings keep their
//! order; [`Triage::apply`] is called on tenant reports in output order, so the marks
//! (which waiver took a finding, which baseline entry it used up) are the same for every
//! thread count.
//!
//! Exit codes are decided here too ([`gates`]): a waived finding never fails a run, and
//! with a baseline only new ones do.

pub mod baseline;
pub mod waivers;

use crate::finding::{BaselineMark, Finding, Severity, StaleWaiver, Status, Summary, TenantReport, WaiverRef};
use std::sync::Arc;

pub use baseline::Baseline;
pub use waivers::{Verdict, Waiver, Waivers};

/// Whether a finding makes the run exit with 1: an evaluation `error`, or a `fail` at or
/// above `threshold` (`--fail-on`), unless it is waived or is in the baseline.
pub fn gates(f: &Finding, threshold: Option<Severity>) -> bool {
    if f.triage.baseline == Some(BaselineMark::Existing) {
        return false;
    }
    match f.status {
        Status::Error => true,
        Status::Fail => threshold.is_some_and(|t| f.severity >= t),
        Status::Pass | Status::Skip | Status::Waived => false,
    }
}

/// The rules of the loaded policies (all of them, before `--rule`), which waivers name.
#[derive(Debug, Default)]
pub struct RuleIndex {
    /// (policy, rule, code) in policy order.
    rules: Vec<(Arc<str>, Arc<str>, Arc<str>)>,
}

impl RuleIndex {
    pub fn new(policies: &[crate::hir::Policy]) -> RuleIndex {
        let mut rules = Vec::new();
        for p in policies {
            for r in &p.rules {
                rules.push((Arc::from(p.name.as_str()), Arc::from(r.name.as_str()), Arc::from(r.code.as_str())));
            }
        }
        RuleIndex { rules }
    }

    pub fn from_names<'a>(names: impl IntoIterator<Item = (&'a str, &'a str, &'a str)>) -> RuleIndex {
        RuleIndex { rules: names.into_iter().map(|(p, r, c)| (Arc::from(p), Arc::from(r), Arc::from(c))).collect() }
    }

    /// The rules a waiver's `rule` names: `POLICY/RULE`, `POLICY.RULE` (split at the last
    /// dot, as policy names may hold dots), or every rule with that code.
    pub fn resolve(&self, text: &str) -> Vec<(Arc<str>, Arc<str>)> {
        let exact = |sep: char| {
            let (p, r) = text.rsplit_once(sep)?;
            self.rules.iter().find(|(rp, rr, _)| **rp == *p && **rr == *r).map(|(rp, rr, _)| (rp.clone(), rr.clone()))
        };
        if let Some(t) = exact('/').or_else(|| exact('.')) {
            return vec![t];
        }
        self.rules.iter().filter(|(_, _, c)| **c == *text).map(|(p, r, _)| (p.clone(), r.clone())).collect()
    }

    /// Every way to name a rule, for "did you mean".
    pub fn names(&self) -> Vec<String> {
        let mut out: Vec<String> = self.rules.iter().map(|(p, r, _)| format!("{p}/{r}")).collect();
        out.extend(self.rules.iter().map(|(_, _, c)| c.to_string()));
        out
    }
}

/// The post-evaluation stage of one run.
#[derive(Debug, Default)]
pub struct Triage {
    pub waivers: Option<Waivers>,
    pub baseline: Option<Baseline>,
    /// `--now`: waivers expire against it.
    pub now: i64,
    /// Per waiver: whether it decided a finding.
    used: Vec<bool>,
    /// Rules evaluated in this run (`--rule` may leave some out); a waiver of a rule that
    /// was not evaluated is not stale.
    evaluated: Option<std::collections::HashSet<(Arc<str>, Arc<str>)>>,
    counts: Counts,
}

#[derive(Debug, Default)]
struct Counts {
    waived_fail: crate::finding::BySeverity,
    waived_error: u64,
    new: u64,
    existing: u64,
}

impl Triage {
    pub fn new(waivers: Option<Waivers>, baseline: Option<Baseline>, now: i64) -> Triage {
        let used = waivers.as_ref().map_or(0, |w| w.list.len());
        Triage { waivers, baseline, now, used: vec![false; used], ..Triage::default() }
    }

    /// Restricts stale-waiver reports to the rules this run evaluates.
    pub fn evaluated(mut self, rules: impl IntoIterator<Item = (Arc<str>, Arc<str>)>) -> Triage {
        self.evaluated = Some(rules.into_iter().collect());
        self
    }

    pub fn is_active(&self) -> bool {
        self.waivers.is_some() || self.baseline.is_some()
    }

    /// Waives and marks one tenant's findings, in order.
    pub fn apply(&mut self, report: &mut TenantReport) {
        if !self.is_active() {
            return;
        }
        for f in &mut report.findings {
            if f.policy.is_none() {
                continue; // an input finding: neither waived nor baselined
            }
            if let Some(w) = &self.waivers {
                match w.verdict(f, self.now) {
                    Verdict::None => {}
                    Verdict::Waived(i) => {
                        if let (Some(waiver), Some(used)) = (w.list.get(i), self.used.get_mut(i)) {
                            *used = true;
                            match f.status {
                                Status::Error => self.counts.waived_error += 1,
                                _ => match f.severity {
                                    Severity::Error => self.counts.waived_fail.error += 1,
                                    Severity::Warning => self.counts.waived_fail.warning += 1,
                                    Severity::Info => self.counts.waived_fail.info += 1,
                                },
                            }
                            f.triage.waiver =
                                Some(Arc::new(WaiverRef { status: Some(f.status), ..(*waiver.quote).clone() }));
                            f.status = Status::Waived;
                        }
                    }
                    Verdict::Expired(i) => {
                        if let (Some(waiver), Some(used)) = (w.list.get(i), self.used.get_mut(i)) {
                            *used = true;
                            f.triage.waiver_expired = Some(waiver.quote.clone());
                        }
                    }
                }
            }
            if let Some(b) = &mut self.baseline {
                let existing = b.take(&f.key());
                f.triage.baseline = Some(if existing { BaselineMark::Existing } else { BaselineMark::New });
                if existing {
                    self.counts.existing += 1;
                } else {
                    self.counts.new += 1;
                }
            }
        }
    }

    /// Puts the run's triage counts into its summary: waived findings move out of `fail`
    /// and `error`; baseline counts and stale waivers are added.
    pub fn finish(&mut self, s: &mut Summary) {
        if let Some(w) = &self.waivers {
            let c = &self.counts;
            let fails = c.waived_fail.error + c.waived_fail.warning + c.waived_fail.info;
            s.fail = s.fail.saturating_sub(fails);
            s.fail_by_severity.error = s.fail_by_severity.error.saturating_sub(c.waived_fail.error);
            s.fail_by_severity.warning = s.fail_by_severity.warning.saturating_sub(c.waived_fail.warning);
            s.fail_by_severity.info = s.fail_by_severity.info.saturating_sub(c.waived_fail.info);
            s.error = s.error.saturating_sub(c.waived_error);
            s.waived = Some(fails + c.waived_error);
            s.stale_waivers = w
                .list
                .iter()
                .zip(&self.used)
                .filter(|(w, used)| {
                    !**used && self.evaluated.as_ref().is_none_or(|ev| w.targets.iter().any(|t| ev.contains(t)))
                })
                .map(|(w, _)| StaleWaiver {
                    file: w.quote.file.clone(),
                    line: w.quote.line,
                    rule: w.rule.clone(),
                    tenant: w.tenant.as_ref().map(|t| t.text().clone()),
                    subject: w.subject.clone(),
                })
                .collect();
        }
        if let Some(b) = &self.baseline {
            s.new = Some(self.counts.new);
            s.existing = Some(self.counts.existing);
            s.fixed = Some(b.left());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::finding::{Subject, Triaged};
    use crate::source::SourceFile;

    fn finding(tenant: &str, rule: &str, id: &str, status: Status) -> Finding {
        Finding {
            tenant: Arc::from(tenant),
            source: Arc::from("t.json"),
            policy: Some(Arc::from("p")),
            rule: Arc::from(rule),
            code: Arc::from("C"),
            severity: Severity::Error,
            status,
            subject: Subject { kind: Arc::from("user"), id: Some(Arc::from(id)), path: "users[0]".into() },
            message: "m".into(),
            remediation: None,
            see: Arc::from([]),
            reason: None,
            evidence: None,
            triage: Triaged::default(),
            location: None,
            decided_by: None,
        }
    }

    #[test]
    fn waivers_match_by_rule_tenant_and_subject_and_expire() {
        let ix = RuleIndex::from_names([("p", "a", "C"), ("p", "b", "C")]);
        let text = "waivers:\n  - rule: p/a\n    tenant: t-1*\n    subject: u1\n    reason: old\n    expires: 2026-01-01\n  - rule: p.a\n    tenant: t-1*\n    reason: ok\n  - rule: p/b\n    reason: never used\n";
        let list = waivers::load(&SourceFile::new("w.yaml", text), &ix).unwrap();
        let now = crate::value::parse_date("2026-06-01").unwrap();
        let mut t = Triage::new(Some(Waivers::new(list)), None, now);
        let mut report = TenantReport {
            findings: vec![finding("t-10", "a", "u1", Status::Fail), finding("t-2", "a", "u1", Status::Error)],
            summary: Summary::new(),
            input_error: false,
            tenant: Arc::from("t"),
        };
        t.apply(&mut report);
        let [waived, open] = &report.findings[..] else { panic!() };
        assert_eq!(waived.status, Status::Waived);
        let w = waived.triage.waiver.as_ref().unwrap();
        assert_eq!((&*w.reason, w.line, w.status), ("ok", 7, Some(Status::Fail)));
        assert_eq!(waived.triage.waiver_expired, None, "an applying waiver hides an expired one");
        assert_eq!((open.status, open.triage.waiver.is_none()), (Status::Error, true));
        let mut s = Summary { fail: 1, error: 1, ..Summary::new() };
        s.fail_by_severity.error = 1;
        t.finish(&mut s);
        assert_eq!((s.fail, s.fail_by_severity.error, s.error, s.waived), (0, 0, 1, Some(1)));
        let stale: Vec<usize> = s.stale_waivers.iter().map(|w| w.line).collect();
        assert_eq!(stale, [2, 10], "the expired one (never reached) and the unused one");
    }

    #[test]
    fn the_baseline_is_used_up_finding_by_finding() {
        let mut b = Baseline::default();
        b.keys.insert(finding("t", "a", "u1", Status::Fail).key(), 1);
        b.keys.insert(finding("t", "gone", "u1", Status::Fail).key(), 2);
        let mut t = Triage::new(None, Some(b), 0);
        let mut report = TenantReport {
            findings: vec![finding("t", "a", "u1", Status::Error), finding("t", "a", "u1", Status::Fail)],
            summary: Summary::new(),
            input_error: false,
            tenant: Arc::from("t"),
        };
        t.apply(&mut report);
        let marks: Vec<_> = report.findings.iter().map(|f| f.triage.baseline).collect();
        assert_eq!(marks, [Some(BaselineMark::Existing), Some(BaselineMark::New)]);
        assert!(!gates(&report.findings[0], Some(Severity::Info)), "an existing error does not gate");
        assert!(gates(&report.findings[1], Some(Severity::Error)));
        let mut s = Summary::new();
        t.finish(&mut s);
        assert_eq!((s.new, s.existing, s.fixed, s.waived), (Some(1), Some(1), Some(2), None));
    }
}
