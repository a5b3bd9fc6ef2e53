//! Rule coverage: which rules some case saw `pass`, `fail` and `skip`.

use crate::finding::Status;
use serde::Serialize;
use std::collections::HashMap;

/// One rule of a policy under test.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RuleCoverage {
    pub policy: String,
    pub rule: String,
    pub pass: bool,
    pub fail: bool,
    pub skip: bool,
}

/// Every rule of every policy under test, in report order (policies by name, rules in
/// file order).
#[derive(Debug, Clone, Default)]
pub struct Coverage {
    rules: Vec<RuleCoverage>,
    index: HashMap<(String, String), usize>,
}

#[derive(Serialize)]
struct Totals {
    rules: usize,
    pass: usize,
    fail: usize,
    skip: usize,
}

#[derive(Serialize)]
struct Json<'a> {
    rules: &'a [RuleCoverage],
    totals: Totals,
    failing_pct: f64,
}

impl Coverage {
    pub fn new() -> Coverage {
        Coverage::default()
    }

    /// Adds a rule under test (no-op if known).
    pub fn add_rule(&mut self, policy: &str, rule: &str) {
        let key = (policy.to_string(), rule.to_string());
        if self.index.contains_key(&key) {
            return;
        }
        // Keep policies sorted by name; a rule goes after the others of its policy.
        let at = self.rules.iter().rposition(|r| r.policy.as_str() <= policy).map_or(0, |i| i + 1);
        self.rules.insert(
            at,
            RuleCoverage { policy: key.0.clone(), rule: key.1.clone(), pass: false, fail: false, skip: false },
        );
        self.index = self.rules.iter().enumerate().map(|(i, r)| ((r.policy.clone(), r.rule.clone()), i)).collect();
    }

    /// Records one evaluation's status. `error` is not a coverage column.
    pub fn record(&mut self, policy: &str, rule: &str, status: Status) {
        let Some(&i) = self.index.get(&(policy.to_string(), rule.to_string())) else { return };
        let r = &mut self.rules[i];
        match status {
            Status::Pass => r.pass = true,
            Status::Fail => r.fail = true,
            Status::Skip => r.skip = true,
            Status::Error | Status::Waived => {}
        }
    }

    pub fn rules(&self) -> &[RuleCoverage] {
        &self.rules
    }

    fn totals(&self) -> Totals {
        Totals {
            rules: self.rules.len(),
            pass: self.rules.iter().filter(|r| r.pass).count(),
            fail: self.rules.iter().filter(|r| r.fail).count(),
            skip: self.rules.iter().filter(|r| r.skip).count(),
        }
    }

    /// The share of rules seen failing, in percent; 0 when there are no rules.
    pub fn failing_pct(&self) -> f64 {
        if self.rules.is_empty() {
            return 0.0;
        }
        self.totals().fail as f64 * 100.0 / self.rules.len() as f64
    }

    /// Rules no case saw failing.
    pub fn never_failing(&self) -> impl Iterator<Item = &RuleCoverage> {
        self.rules.iter().filter(|r| !r.fail)
    }

    /// The human table, ending with the share of rules seen failing.
    pub fn table(&self) -> String {
        let pw = self.rules.iter().map(|r| r.policy.chars().count()).max().unwrap_or(0).max("policy".len());
        let t = self.totals();
        let label = format!("total: {} rule{}", t.rules, if t.rules == 1 { "" } else { "s" });
        let rw = self
            .rules
            .iter()
            .map(|r| r.rule.chars().count())
            .max()
            .unwrap_or(0)
            .max("rule".len())
            .max(label.len().saturating_sub(pw + 2));
        let mark = |b: bool| if b { "✓" } else { "·" };
        let mut out = String::from("coverage (rules some case saw pass, fail, skip):\n");
        out.push_str(&format!("  {:<pw$}  {:<rw$}  pass  fail  skip\n", "policy", "rule"));
        for r in &self.rules {
            out.push_str(&format!(
                "  {:<pw$}  {:<rw$}   {}     {}     {}\n",
                r.policy,
                r.rule,
                mark(r.pass),
                mark(r.fail),
                mark(r.skip)
            ));
        }
        let total = format!("  {:<w$}  {:^4}  {:^4}  {:^4}", label, t.pass, t.fail, t.skip, w = pw + rw + 2);
        out.push_str(total.trim_end());
        out.push('\n');
        out.push_str(&self.summary_line());
        out.push('\n');
        out
    }

    /// `rules seen failing: 25 of 26 (96.2%)`.
    pub fn summary_line(&self) -> String {
        format!("rules seen failing: {} of {} ({:.1}%)", self.totals().fail, self.rules.len(), self.failing_pct())
    }

    /// `{"rules": [{"policy","rule","pass","fail","skip"}], "totals": {...}, "failing_pct": N}`.
    pub fn json(&self) -> String {
        let pct = (self.failing_pct() * 100.0).round() / 100.0;
        let doc = Json { rules: &self.rules, totals: self.totals(), failing_pct: pct };
        let mut s = serde_json::to_string_pretty(&doc).unwrap_or_else(|_| "{}".into());
        s.push('\n');
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn order_and_percentages() {
        let mut c = Coverage::new();
        c.add_rule("b", "r1");
        c.add_rule("a", "x");
        c.add_rule("b", "r2");
        c.add_rule("a", "y");
        c.add_rule("b", "r1");
        let names: Vec<String> = c.rules().iter().map(|r| format!("{}.{}", r.policy, r.rule)).collect();
        assert_eq!(names, ["a.x", "a.y", "b.r1", "b.r2"]);
        c.record("a", "x", Status::Fail);
        c.record("b", "r2", Status::Pass);
        c.record("zz", "r2", Status::Fail);
        assert!((c.failing_pct() - 25.0).abs() < 1e-9);
        assert_eq!(c.summary_line(), "rules seen failing: 1 of 4 (25.0%)");
        assert!(c.json().contains("\"failing_pct\": 25.0"));
        assert_eq!(Coverage::new().failing_pct(), 0.0);
    }
}
