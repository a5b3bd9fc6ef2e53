//! `expect:` — `pass`, or an exact list of partial findings.

use super::render::{finding_line, quote};
use crate::diagnostic::{did_you_mean, Code, Diagnostic};
use crate::ir::Program;
use crate::source::{SourceFile, Span};
use crate::yaml::{YNode, YValue};
use serde_json::Value as J;

/// What a case expects.
#[derive(Debug, Clone)]
pub enum Expect {
    /// `expect: pass` (or `expect: []`): no findings at all.
    Pass,
    /// Each expectation matches a distinct finding, and no finding is left over.
    List(Vec<Expectation>),
}

/// One expected finding: the keys given must all match.
#[derive(Debug, Clone)]
pub struct Expectation {
    pub keys: Vec<(Key, String)>,
    /// 1-based line in the test file.
    pub line: usize,
}

/// The keys an expected finding may give.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Key {
    Rule,
    Policy,
    Subject,
    Status,
    Severity,
    Code,
    Message,
}

const KEYS: &[&str] = &["rule", "policy", "subject", "status", "severity", "code", "message"];

impl Key {
    fn parse(s: &str) -> Option<Key> {
        Some(match s {
            "rule" => Key::Rule,
            "policy" => Key::Policy,
            "subject" => Key::Subject,
            "status" => Key::Status,
            "severity" => Key::Severity,
            "code" => Key::Code,
            "message" => Key::Message,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Key::Rule => "rule",
            Key::Policy => "policy",
            Key::Subject => "subject",
            Key::Status => "status",
            Key::Severity => "severity",
            Key::Code => "code",
            Key::Message => "message",
        }
    }
}

fn s<'a>(f: &'a J, key: &str) -> Option<&'a str> {
    f.get(key).and_then(J::as_str)
}

impl Expectation {
    /// Whether a finding (as report JSON) matches every key given.
    pub fn matches(&self, f: &J) -> bool {
        self.keys.iter().all(|(k, v)| match k {
            // `rule` is the rule's name, or `POLICY.RULE`.
            Key::Rule => {
                s(f, "rule") == Some(v)
                    || match (s(f, "policy"), s(f, "rule")) {
                        (Some(p), Some(r)) => v.len() == p.len() + 1 + r.len() && *v == format!("{p}.{r}"),
                        _ => false,
                    }
            }
            // `subject` is the subject's id or its path.
            Key::Subject => {
                let subject = f.get("subject");
                subject.and_then(|x| s(x, "id")) == Some(v) || subject.and_then(|x| s(x, "path")) == Some(v)
            }
            other => s(f, other.as_str()) == Some(v),
        })
    }

    /// `{rule: cert_cap, subject: i-1, status: fail}`, as one would write it.
    pub fn show(&self) -> String {
        let parts: Vec<String> = self.keys.iter().map(|(k, v)| format!("{}: {}", k.as_str(), quote(v))).collect();
        format!("{{{}}}", parts.join(", "))
    }
}

/// The diff of a case's findings against its expectation; empty when it holds.
pub fn compare(exp: &Expect, actual: &[J]) -> Vec<String> {
    let mut out = Vec::new();
    match exp {
        Expect::Pass => {
            if !actual.is_empty() {
                out.push(format!(
                    "expected no findings (expect: pass), found {}:",
                    plural(actual.len(), "finding", "findings")
                ));
                for f in actual {
                    push_finding(&mut out, "+ ", f);
                }
            }
        }
        Expect::List(list) => {
            let (of_exp, of_act) = matching(list, actual);
            let missing: Vec<&Expectation> =
                list.iter().zip(&of_exp).filter(|(_, m)| m.is_none()).map(|(e, _)| e).collect();
            let unexpected: Vec<&J> = actual.iter().zip(&of_act).filter(|(_, m)| m.is_none()).map(|(f, _)| f).collect();
            if missing.is_empty() && unexpected.is_empty() {
                return out;
            }
            if !missing.is_empty() {
                out.push(format!("expected, not found ({}):", missing.len()));
                for e in &missing {
                    out.push(format!("  - {}   (line {})", e.show(), e.line));
                }
            }
            if !unexpected.is_empty() {
                out.push(format!("found, not expected ({}):", unexpected.len()));
                for f in &unexpected {
                    push_finding(&mut out, "+ ", f);
                }
            }
            let matched: Vec<&J> = actual.iter().zip(&of_act).filter(|(_, m)| m.is_some()).map(|(f, _)| f).collect();
            if !matched.is_empty() {
                out.push(format!("matched ({}):", matched.len()));
                for f in matched {
                    out.push(format!("  = {}", finding_line(f)));
                }
            }
        }
    }
    out
}

/// A finding and its evidence, under a marker.
pub fn push_finding(out: &mut Vec<String>, marker: &str, f: &J) {
    out.push(format!("  {marker}{}", finding_line(f)));
    if let Some(ev) = super::render::evidence_line(f) {
        out.push(format!("      because: {ev}"));
    }
}

pub fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// A maximum matching of expectations to distinct findings (Kuhn's augmenting paths), so
/// that a broad expectation never steals the only finding a narrow one could match.
/// Returns, for each expectation, its finding, and for each finding, its expectation.
fn matching(list: &[Expectation], actual: &[J]) -> (Vec<Option<usize>>, Vec<Option<usize>>) {
    let adj: Vec<Vec<usize>> =
        list.iter().map(|e| (0..actual.len()).filter(|&j| e.matches(&actual[j])).collect()).collect();
    let mut of_act: Vec<Option<usize>> = vec![None; actual.len()];
    for i in 0..list.len() {
        let mut seen = vec![false; actual.len()];
        augment(i, &adj, &mut seen, &mut of_act);
    }
    let mut of_exp = vec![None; list.len()];
    for (j, m) in of_act.iter().enumerate() {
        if let Some(i) = m {
            of_exp[*i] = Some(j);
        }
    }
    (of_exp, of_act)
}

fn augment(i: usize, adj: &[Vec<usize>], seen: &mut [bool], of_act: &mut [Option<usize>]) -> bool {
    for &j in &adj[i] {
        if seen[j] {
            continue;
        }
        seen[j] = true;
        if of_act[j].is_none_or(|k| augment(k, adj, seen, of_act)) {
            of_act[j] = Some(i);
            return true;
        }
    }
    false
}

// ------------------------------------------------------------------ parsing

/// The text of a scalar (`subject: 42` is the id `"42"`); `None` for lists, maps and null.
pub fn scalar_text(n: &YNode) -> Option<String> {
    match &n.value {
        YValue::Str(s) => Some(s.clone()),
        YValue::Int(i) => Some(i.to_string()),
        YValue::Float(f) => Some(crate::value::format_decimal(*f)),
        YValue::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

pub fn line_of(file: &SourceFile, span: Span) -> usize {
    let at = (span.start as usize).min(file.text.len());
    file.text.as_bytes()[..at].iter().filter(|&&b| b == b'\n').count() + 1
}

/// Parses `expect:`. `program` (absent when the policies do not compile) validates rule,
/// policy and code names, so a typo is a diagnostic rather than a puzzling failure.
pub fn parse(
    node: &YNode,
    file: &SourceFile,
    program: Option<&Program>,
    diags: &mut Vec<Diagnostic>,
) -> Option<Expect> {
    let err = |span: Span, msg: String, label: &str, help: Option<String>| {
        Diagnostic::new(Code::Test, file, span, msg).label(label).help_opt(help)
    };
    let items = match &node.value {
        YValue::Str(s) if s == "pass" => return Some(Expect::Pass),
        YValue::Seq(items) => items,
        _ => {
            diags.push(err(
                node.span,
                format!("`expect` is `pass` or a list of expected findings, not {}", node.type_name()),
                "expected `pass` or a list",
                Some("e.g. `expect: pass`, or `expect: [{rule: cert_cap, subject: i-1}]`".into()),
            ));
            return None;
        }
    };
    let before = diags.len();
    let mut list = Vec::new();
    for item in items {
        let Some(entries) = item.as_map() else {
            diags.push(err(
                item.span,
                format!("an expected finding is a mapping, not {}", item.type_name()),
                "expected a mapping",
                Some(format!("give any of: {}", KEYS.join(", "))),
            ));
            continue;
        };
        if entries.is_empty() {
            diags.push(err(
                item.span,
                "an empty expected finding would match any finding".into(),
                "empty",
                Some(format!("give at least one of: {}", KEYS.join(", "))),
            ));
            continue;
        }
        let mut keys = Vec::new();
        for (k, v) in entries {
            let Some(key) = Key::parse(&k.name) else {
                let mut help = format!("valid keys: {}", KEYS.join(", "));
                if let Some(d) = did_you_mean(&k.name, KEYS.iter().copied()) {
                    help = format!("did you mean `{d}`? {help}");
                }
                diags.push(err(
                    k.span,
                    format!("unknown key `{}` in an expected finding", k.name),
                    "unknown key",
                    Some(help),
                ));
                continue;
            };
            if keys.iter().any(|(q, _)| *q == key) {
                diags.push(err(k.span, format!("duplicate key `{}`", k.name), "given twice", None));
                continue;
            }
            let Some(text) = scalar_text(v) else {
                diags.push(err(
                    v.span,
                    format!("`{}` is a string, not {}", k.name, v.type_name()),
                    "expected a string",
                    None,
                ));
                continue;
            };
            if let Some(d) = validate(key, &text, program) {
                let (msg, help) = d;
                diags.push(err(v.span, msg, "never matches", help));
                continue;
            }
            keys.push((key, text));
        }
        list.push(Expectation { keys, line: line_of(file, item.span) });
    }
    if diags.len() > before {
        return None;
    }
    Some(if list.is_empty() { Expect::Pass } else { Expect::List(list) })
}

/// Why a value can never match (message, help), if it cannot.
fn validate(key: Key, v: &str, program: Option<&Program>) -> Option<(String, Option<String>)> {
    let one_of = |what: &str, all: &[&str]| -> Option<(String, Option<String>)> {
        if all.contains(&v) {
            return None;
        }
        let mut help = format!("{what}: {}", all.join(", "));
        if let Some(d) = did_you_mean(v, all.iter().copied()) {
            help = format!("did you mean `{d}`? {help}");
        }
        Some((format!("no {} `{v}` in the policies under test", key.as_str()), Some(help)))
    };
    match key {
        Key::Status => match v {
            "fail" | "error" => None,
            "pass" | "skip" => Some((
                format!("findings are `fail` or `error`, never `{v}`"),
                Some("a subject that passes or is skipped gives no finding: leave it out of the list, or write `expect: pass` for a case with no findings".into()),
            )),
            _ => Some((format!("unknown status `{v}`"), Some("a finding's status is `fail` or `error`".into()))),
        },
        Key::Severity => match v {
            "error" | "warning" | "info" => None,
            _ => Some((format!("unknown severity `{v}`"), Some("severities: error, warning, info".into()))),
        },
        Key::Rule => {
            let program = program?;
            let mut names: Vec<String> = Vec::new();
            for r in &program.rules {
                names.push(r.name.to_string());
                if let Some(p) = program.policies.get(r.policy) {
                    names.push(format!("{}.{}", p.name, r.name));
                }
            }
            let plain: Vec<&str> = program.rules.iter().map(|r| &*r.name).collect();
            if names.iter().any(|n| n == v) {
                return None;
            }
            let mut help = format!("rules: {}", plain.join(", "));
            if let Some(d) = did_you_mean(v, names.iter().map(String::as_str)) {
                help = format!("did you mean `{d}`? {help}");
            }
            Some((format!("no rule `{v}` in the policies under test"), Some(help)))
        }
        Key::Policy => {
            let program = program?;
            let all: Vec<&str> = program.policies.iter().map(|p| &*p.name).collect();
            one_of("policies", &all)
        }
        Key::Code => {
            let program = program?;
            let mut all: Vec<&str> = program.rules.iter().map(|r| &*r.code).collect();
            all.dedup();
            one_of("codes", &all)
        }
        Key::Subject | Key::Message => None,
    }
}
