//! `expect:` — `pass`, or an exact list of partial findings.

use super::render::{finding_line, quote};
use crate::diagnostic::{did_you_mean, Code, Diagnostic};
use crate::ir::Program;
use crate::report::plural;
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
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Key {
    Rule,
    Policy,
    Subject,
    Status,
    Severity,
    Code,
    Message,
}

// The valid keys come from the type that describes an expected finding
// (`schema::files::Expectation`), the same one its JSON Schema is generated from.
fn valid_keys() -> &'static [&'static str] {
    crate::keys!(crate::schema::files::Expectation)
}

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
                        (Some(p), Some(r)) => v.strip_prefix(p).and_then(|x| x.strip_prefix('.')) == Some(r),
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

/// A maximum matching of expectations to distinct findings, so that a broad expectation
/// never takes the only finding a narrower one could match (cli.md). Returns, for each
/// expectation, its finding, and for each finding, its expectation.
///
/// Identical expectations match the same findings, so they are grouped first and matched
/// as one node with a capacity; the matching is then a maximum flow (Dinic's algorithm,
/// O(E·√V) on this unit-capacity network) from groups to findings. `N` copies of one broad
/// expectation against `N` findings cost `N` comparisons, not `N²`.
fn matching(list: &[Expectation], actual: &[J]) -> (Vec<Option<usize>>, Vec<Option<usize>>) {
    // Groups of identical expectations (same keys, same values, same order), in first-seen order.
    let mut group_of: std::collections::HashMap<&[(Key, String)], usize> = std::collections::HashMap::new();
    let mut members: Vec<Vec<usize>> = Vec::new();
    for (i, e) in list.iter().enumerate() {
        let g = *group_of.entry(e.keys.as_slice()).or_insert_with(|| {
            members.push(Vec::new());
            members.len() - 1
        });
        members[g].push(i);
    }
    let groups = members.len();
    let (source, sink) = (groups + actual.len(), groups + actual.len() + 1);
    let mut net = Flow::new(sink + 1);
    for (g, m) in members.iter().enumerate() {
        net.edge(source, g, m.len());
        let e = &list[m[0]];
        for (j, f) in actual.iter().enumerate() {
            if e.matches(f) {
                net.edge(g, groups + j, 1);
            }
        }
    }
    for j in 0..actual.len() {
        net.edge(groups + j, sink, 1);
    }
    net.max_flow(source, sink);
    let mut of_exp = vec![None; list.len()];
    let mut of_act = vec![None; actual.len()];
    for (g, m) in members.iter().enumerate() {
        let mut free = m.iter();
        for j in net.saturated_from(g).filter_map(|v| v.checked_sub(groups)).filter(|j| *j < actual.len()) {
            if let Some(&i) = free.next() {
                of_exp[i] = Some(j);
                of_act[j] = Some(i);
            }
        }
    }
    (of_exp, of_act)
}

/// A flow network for [`matching`]: adjacency lists of edges with residual capacities.
struct Flow {
    /// Per node, the indices of its edges in `to`/`cap` (each edge's reverse is `e ^ 1`).
    adj: Vec<Vec<usize>>,
    to: Vec<usize>,
    cap: Vec<usize>,
    /// Whether edge `e` was added as a forward edge (not a reverse one).
    forward: Vec<bool>,
}

impl Flow {
    fn new(nodes: usize) -> Self {
        Flow { adj: vec![Vec::new(); nodes], to: Vec::new(), cap: Vec::new(), forward: Vec::new() }
    }

    fn edge(&mut self, from: usize, to: usize, cap: usize) {
        self.adj[from].push(self.to.len());
        self.to.push(to);
        self.cap.push(cap);
        self.forward.push(true);
        self.adj[to].push(self.to.len());
        self.to.push(from);
        self.cap.push(0);
        self.forward.push(false);
    }

    /// The nodes that forward edges out of `from` carry flow to (capacity 1 edges only).
    fn saturated_from(&self, from: usize) -> impl Iterator<Item = usize> + '_ {
        self.adj[from].iter().filter(|&&e| self.forward[e] && self.cap[e] == 0).map(|&e| self.to[e])
    }

    /// Dinic's algorithm: BFS levels, then blocking flows by depth-first search (iterative,
    /// so that long augmenting paths cannot overflow the stack).
    fn max_flow(&mut self, s: usize, t: usize) -> usize {
        let n = self.adj.len();
        let mut total = 0;
        loop {
            let mut level = vec![usize::MAX; n];
            level[s] = 0;
            let mut queue = std::collections::VecDeque::from([s]);
            while let Some(v) = queue.pop_front() {
                for &e in &self.adj[v] {
                    let w = self.to[e];
                    if self.cap[e] > 0 && level[w] == usize::MAX {
                        level[w] = level[v] + 1;
                        queue.push_back(w);
                    }
                }
            }
            if level[t] == usize::MAX {
                return total;
            }
            let mut next = vec![0usize; n];
            let mut path: Vec<usize> = Vec::new();
            loop {
                let v = path.last().map_or(s, |&e| self.to[e]);
                if v == t {
                    let push = path.iter().map(|&e| self.cap[e]).min().unwrap_or(0);
                    for &e in &path {
                        self.cap[e] -= push;
                        self.cap[e ^ 1] += push;
                    }
                    total += push;
                    path.clear();
                    continue;
                }
                let mut advanced = false;
                while let Some(&e) = self.adj[v].get(next[v]) {
                    let w = self.to[e];
                    if self.cap[e] > 0 && level[w] == level[v] + 1 {
                        path.push(e);
                        advanced = true;
                        break;
                    }
                    next[v] += 1;
                }
                if !advanced {
                    // A dead end: never visit it again in this phase.
                    level[v] = usize::MAX;
                    match path.pop() {
                        Some(e) => next[self.to[e ^ 1]] += 1,
                        None => break,
                    }
                }
            }
        }
    }
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

/// The 1-based line of a span (through the file's line index: many cases stay linear).
pub fn line_of(file: &SourceFile, span: Span) -> usize {
    file.line_of(span.start as usize)
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
                Some(format!("give any of: {}", valid_keys().join(", "))),
            ));
            continue;
        };
        if entries.is_empty() {
            diags.push(err(
                item.span,
                "an empty expected finding would match any finding".into(),
                "empty",
                Some(format!("give at least one of: {}", valid_keys().join(", "))),
            ));
            continue;
        }
        let mut keys = Vec::new();
        crate::yaml::unknown_keys(file, Code::Test, entries, valid_keys(), "an expected finding", diags);
        for (k, v) in entries {
            let Some(key) = Key::parse(&k.name) else { continue };
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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn exp(keys: &[(Key, &str)]) -> Expectation {
        Expectation { keys: keys.iter().map(|(k, v)| (*k, v.to_string())).collect(), line: 1 }
    }

    fn finding(rule: &str, subject: &str) -> J {
        json!({"policy": "p", "rule": rule, "subject": {"id": subject, "path": format!("x/{subject}")}, "status": "fail"})
    }

    #[test]
    fn a_broad_expectation_never_takes_what_a_narrow_one_needs() {
        // The broad one comes first and could take i-1, which the narrow one needs.
        let list = vec![exp(&[(Key::Rule, "r")]), exp(&[(Key::Rule, "p.r"), (Key::Subject, "i-1")])];
        let actual = vec![finding("r", "i-1"), finding("r", "i-2")];
        let (of_exp, of_act) = matching(&list, &actual);
        assert_eq!(of_exp, vec![Some(1), Some(0)]);
        assert_eq!(of_act, vec![Some(1), Some(0)]);
        assert!(compare(&Expect::List(list), &actual).is_empty());
        // One finding short: exactly one expectation is missing.
        let list = vec![exp(&[(Key::Rule, "r")]), exp(&[(Key::Rule, "r")]), exp(&[(Key::Subject, "i-2")])];
        let (of_exp, _) = matching(&list, &actual);
        assert_eq!(of_exp.iter().filter(|m| m.is_none()).count(), 1);
    }

    #[test]
    fn many_broad_expectations_match_many_findings_quickly() {
        // 8,000 identical broad expectations against 8,000 findings, plus narrow ones that
        // need particular findings: took minutes (augmenting paths over all pairs).
        let n = 8_000;
        let mut list: Vec<Expectation> = (0..n).map(|_| exp(&[(Key::Rule, "r")])).collect();
        list.extend((0..10).map(|i| exp(&[(Key::Subject, &format!("s{i}"))])));
        let actual: Vec<J> = (0..n + 10).map(|i| finding("r", &format!("s{i}"))).collect();
        let t = std::time::Instant::now();
        let (of_exp, of_act) = matching(&list, &actual);
        assert!(of_exp.iter().all(Option::is_some) && of_act.iter().all(Option::is_some));
        for i in 0..10 {
            assert_eq!(of_exp[n + i], Some(i), "narrow expectation {i}");
        }
        assert!(t.elapsed() < std::time::Duration::from_secs(20), "{:?}", t.elapsed());
    }
}
