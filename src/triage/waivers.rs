//! Waiver files (`--waivers FILE`): accepted risks, each naming a rule, optionally a tenant
//! and a subject, with a reason and an expiry date.
//!
//! ```yaml
//! waivers:
//!   - rule: netsuite-2026.1/cert_cap     # POLICY/RULE, POLICY.RULE, or a rule's code
//!     tenant: t-0000*                    # optional: a tenant id, or a glob (* ? [...])
//!     subject: i-001                     # optional: a subject id, or its path
//!     reason: six certificates while the vendor migrates (required)
//!     owner: it-security@example.com     # optional
//!     ticket: SEC-1234                   # optional
//!     expires: 2027-03-31                # optional: a date (valid through that day, UTC) or a date-time
//! ```
//!
//! Loading checks every entry against the loaded policies and reports every mistake as a
//! diagnostic (T080) pointing into the file. Matching is by (policy, rule), then tenant,
//! then subject; the first waiver in file order (files in command-line order) that has not
//! expired wins.

use super::RuleIndex;
use crate::diagnostic::{did_you_mean, Code, Diagnostic};
use crate::finding::{Finding, Status, WaiverRef};
use crate::source::SourceFile;
use crate::value::{format_date, parse_date, TICKS_PER_DAY};
use crate::yaml::{self, YNode, YValue};
use std::collections::HashMap;
use std::sync::Arc;

/// One entry of a waiver file, resolved against the policies.
#[derive(Debug)]
pub struct Waiver {
    /// The `rule` as written.
    pub rule: Arc<str>,
    /// The (policy, rule) pairs it names: one, or several rules sharing a code.
    pub targets: Vec<(Arc<str>, Arc<str>)>,
    pub tenant: Option<TenantPattern>,
    pub subject: Option<Arc<str>>,
    /// The first instant at which the waiver no longer applies.
    pub expires_at: Option<i64>,
    /// What a finding quotes of it.
    pub quote: Arc<WaiverRef>,
}

/// The `tenant` of a waiver: an id, or a glob when it holds `*`, `?` or `[`.
#[derive(Debug)]
pub enum TenantPattern {
    Exact(Arc<str>),
    Glob(Arc<str>, globset::GlobMatcher),
}

impl TenantPattern {
    pub fn text(&self) -> &Arc<str> {
        match self {
            TenantPattern::Exact(s) | TenantPattern::Glob(s, _) => s,
        }
    }

    fn matches(&self, tenant: &str) -> bool {
        match self {
            TenantPattern::Exact(s) => **s == *tenant,
            TenantPattern::Glob(_, m) => m.is_match(tenant),
        }
    }
}

impl Waiver {
    fn matches(&self, f: &Finding) -> bool {
        self.tenant.as_ref().is_none_or(|t| t.matches(&f.tenant))
            && self.subject.as_deref().is_none_or(|s| f.subject.id.as_deref() == Some(s) || f.subject.path == s)
    }

    pub fn expired(&self, now: i64) -> bool {
        self.expires_at.is_some_and(|at| now >= at)
    }
}

/// Every waiver of every file, indexed by the rules they name.
#[derive(Debug, Default)]
pub struct Waivers {
    pub list: Vec<Waiver>,
    by_rule: HashMap<(Arc<str>, Arc<str>), Vec<usize>>,
}

/// Which waiver decided a finding.
pub enum Verdict {
    /// None matched.
    None,
    /// Waiver `i` applies.
    Waived(usize),
    /// Only expired waivers matched; `i` is the first.
    Expired(usize),
}

impl Waivers {
    pub fn new(list: Vec<Waiver>) -> Waivers {
        let mut by_rule: HashMap<(Arc<str>, Arc<str>), Vec<usize>> = HashMap::new();
        for (i, w) in list.iter().enumerate() {
            for t in &w.targets {
                let ids = by_rule.entry(t.clone()).or_default();
                if ids.last() != Some(&i) {
                    ids.push(i);
                }
            }
        }
        Waivers { list, by_rule }
    }

    /// The waiver for a finding. Only `fail` and `error` findings of a policy's rule can be
    /// waived: an `input` finding (a tenant that could not be read) never is.
    pub fn verdict(&self, f: &Finding, now: i64) -> Verdict {
        if !matches!(f.status, Status::Fail | Status::Error) {
            return Verdict::None;
        }
        let Some(policy) = &f.policy else { return Verdict::None };
        let Some(ids) = self.by_rule.get(&(policy.clone(), f.rule.clone())) else { return Verdict::None };
        let mut expired = None;
        for &i in ids {
            let Some(w) = self.list.get(i) else { continue };
            if !w.matches(f) {
                continue;
            }
            if !w.expired(now) {
                return Verdict::Waived(i);
            }
            expired.get_or_insert(i);
        }
        expired.map_or(Verdict::None, Verdict::Expired)
    }
}

// The valid keys come from the types that describe waiver files (`schema::files`), the same
// ones their JSON Schema is generated from.
use crate::schema::files::{WaiverEntry, WaiverFile};

/// Loads one waiver file. Every mistake is reported; a file with any is not used.
pub fn load(file: &SourceFile, rules: &RuleIndex) -> Result<Vec<Waiver>, Vec<Diagnostic>> {
    let root = yaml::parse(file, Code::Waiver)?;
    let mut diags = Vec::new();
    let mut out = Vec::new();
    let err = |span, msg: String| Diagnostic::new(Code::Waiver, file, span, msg);
    let Some(top) = root.as_map() else {
        return Err(vec![err(root.span, "a waiver file is a mapping with a `waivers` list".into())
            .label(format!("{} here", root.type_name()))
            .help("write `waivers:` followed by one `- rule: …` entry per accepted finding")]);
    };
    yaml::unknown_keys(file, Code::Waiver, top, crate::keys!(WaiverFile), "a waiver file", &mut diags);
    let entries = match root.get("waivers") {
        None => {
            diags.push(
                err(root.span, "missing `waivers` list".into())
                    .label("in this file")
                    .help("write `waivers:` followed by one `- rule: …` entry per accepted finding"),
            );
            return Err(diags);
        }
        Some(YNode { value: YValue::Null, .. }) => &[][..],
        Some(YNode { value: YValue::Seq(items), .. }) => items.as_slice(),
        Some(other) => {
            diags.push(
                err(other.span, format!("`waivers` is a list of entries, not {}", other.type_name()))
                    .label("here")
                    .help("write one `- rule: …` entry per accepted finding"),
            );
            return Err(diags);
        }
    };
    for entry in entries {
        if let Some(w) = entry_of(file, entry, rules, &mut diags) {
            out.push(w);
        }
    }
    if diags.is_empty() {
        Ok(out)
    } else {
        Err(diags)
    }
}

fn entry_of(file: &SourceFile, entry: &YNode, rules: &RuleIndex, diags: &mut Vec<Diagnostic>) -> Option<Waiver> {
    let err = |span, msg: String| Diagnostic::new(Code::Waiver, file, span, msg);
    let Some(map) = entry.as_map() else {
        diags.push(
            err(entry.span, format!("a waiver is a mapping, not {}", entry.type_name())).label("this entry").help(
                "write `- rule: POLICY/RULE` and `reason: …` (and optionally tenant, subject, owner, ticket, expires)",
            ),
        );
        return None;
    };
    let before = diags.len();
    let meant = yaml::unknown_keys(file, Code::Waiver, map, crate::keys!(WaiverEntry), "a waiver", diags);
    // A string field; `ticket` may be a number (`ticket: 1234`).
    let mut text = |key: &str, number_ok: bool| -> Option<(Arc<str>, crate::source::Span)> {
        let node = entry.get(key)?;
        match &node.value {
            YValue::Str(s) if !s.trim().is_empty() => Some((Arc::from(s.as_str()), node.span)),
            YValue::Int(n) if number_ok => Some((Arc::from(n.to_string().as_str()), node.span)),
            YValue::Str(_) => {
                diags.push(err(node.span, format!("`{key}` is empty")).label("empty"));
                None
            }
            _ => {
                diags.push(
                    err(node.span, format!("`{key}` is a string, not {}", node.type_name()))
                        .label("here")
                        .help("quote the value"),
                );
                None
            }
        }
    };
    let rule = text("rule", false);
    let tenant = text("tenant", false);
    let subject = text("subject", false);
    let reason = text("reason", false);
    let owner = text("owner", false);
    let ticket = text("ticket", true);
    let expires = text("expires", false);
    for (key, have) in [("rule", entry.get("rule").is_some()), ("reason", entry.get("reason").is_some())] {
        if !have && !meant.contains(&key) {
            let help = if key == "reason" {
                "every waiver says why the finding is accepted: add `reason: …`"
            } else {
                "name the rule: `rule: POLICY/RULE`, `rule: POLICY.RULE` or `rule: CODE`"
            };
            diags.push(err(entry.span, format!("waiver without `{key}`")).label("this waiver").help(help));
        }
    }
    let targets = match &rule {
        Some((r, span)) => {
            let t = rules.resolve(r);
            if t.is_empty() {
                let names = rules.names();
                let help = match did_you_mean(r, names.iter().map(String::as_str)) {
                    Some(s) => {
                        format!("did you mean `{s}`? a waiver names a rule as POLICY/RULE, POLICY.RULE or by its code")
                    }
                    None => {
                        "a waiver names a rule of the policies given with `-p`: POLICY/RULE, POLICY.RULE or its code"
                            .to_string()
                    }
                };
                diags
                    .push(err(*span, format!("no rule `{r}` in the loaded policies")).label("unknown rule").help(help));
            }
            t
        }
        None => Vec::new(),
    };
    let tenant = match tenant {
        Some((t, span)) if t.contains(['*', '?', '[', '{']) => {
            match globset::GlobBuilder::new(&t).literal_separator(false).build() {
                Ok(g) => Some(TenantPattern::Glob(t, g.compile_matcher())),
                Err(e) => {
                    diags.push(
                        err(span, format!("invalid tenant glob `{t}`: {}", e.kind()))
                            .label("this pattern")
                            .help("`*` matches any characters, `?` one, `[abc]` one of a set"),
                    );
                    None
                }
            }
        }
        Some((t, _)) => Some(TenantPattern::Exact(t)),
        None => None,
    };
    let expires_at = match &expires {
        Some((e, span)) => match expiry(e) {
            Some(at) => Some(at),
            None => {
                diags.push(err(*span, format!("`{e}` is not a date")).label("expected a date").help(
                    "write a date like 2027-03-31 (the waiver holds through that day, UTC) or an RFC 3339 date-time",
                ));
                None
            }
        },
        None => None,
    };
    if diags.len() > before {
        return None;
    }
    let (rule, _) = rule?;
    let (reason, _) = reason?;
    let quote = Arc::new(WaiverRef {
        status: None,
        reason,
        owner: owner.map(|o| o.0),
        ticket: ticket.map(|t| t.0),
        expires: expires.map(|e| e.0),
        file: file.name.clone(),
        line: file.line_of(entry.span.start as usize),
    });
    Some(Waiver { rule, targets, tenant, subject: subject.map(|s| s.0), expires_at, quote })
}

/// The first instant a waiver no longer applies: a date holds through its whole day (UTC),
/// a date-time until that instant.
pub fn expiry(text: &str) -> Option<i64> {
    let t = text.trim();
    let at = parse_date(t)?;
    if t.len() == 10 {
        at.checked_add(TICKS_PER_DAY)
    } else {
        Some(at)
    }
}

/// A waiver's expiry for messages: its date as written, or the date it ends.
pub fn shown_expiry(w: &Waiver) -> String {
    match (&w.quote.expires, w.expires_at) {
        (Some(e), _) => e.to_string(),
        (None, Some(at)) => format_date(at),
        (None, None) => "never".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn index() -> RuleIndex {
        RuleIndex::from_names([("netsuite-2026.1", "cert_cap", "NS-CERT"), ("p", "a", "SHARED"), ("p", "b", "SHARED")])
    }

    #[test]
    fn rules_resolve_by_slash_dot_and_code() {
        let ix = index();
        let names = |r: &str| ix.resolve(r).iter().map(|(p, r)| format!("{p}/{r}")).collect::<Vec<_>>();
        assert_eq!(names("netsuite-2026.1/cert_cap"), ["netsuite-2026.1/cert_cap"]);
        assert_eq!(names("netsuite-2026.1.cert_cap"), ["netsuite-2026.1/cert_cap"]);
        assert_eq!(names("NS-CERT"), ["netsuite-2026.1/cert_cap"]);
        assert_eq!(names("SHARED"), ["p/a", "p/b"]);
        assert!(names("netsuite-2026.1/nope").is_empty());
    }

    #[test]
    fn a_date_holds_through_its_day() {
        let end = expiry("2027-03-31").unwrap();
        assert_eq!(end, parse_date("2027-04-01T00:00:00Z").unwrap());
        assert_eq!(expiry("2027-03-31T12:00:00Z"), parse_date("2027-03-31T12:00:00Z"));
        assert_eq!(expiry("31.03.2027"), None);
    }

    #[test]
    fn every_mistake_is_reported() {
        let text = "waivers:\n  - rule: p/zz\n    reason: r\n    expires: tomorrow\n    onwer: me\n  - tenant: '[x'\n";
        let file = SourceFile::new("w.yaml", text);
        let diags = load(&file, &index()).unwrap_err();
        let msgs: Vec<&str> = diags.iter().map(|d| d.message.as_str()).collect();
        assert_eq!(
            msgs,
            [
                "unknown key `onwer` in a waiver",
                "no rule `p/zz` in the loaded policies",
                "`tomorrow` is not a date",
                "waiver without `rule`",
                "waiver without `reason`",
                "invalid tenant glob `[x`: unclosed character class; missing ']'",
            ]
        );
    }
}
