//! `*.test.yaml` files in the editor: completion and hover.
//!
//! Where the cursor is is read from the lines of the text (indentation, `- ` items, flow
//! `{…}` and `[…]`), not from a parse, so that it works while the file is being typed and
//! is not valid YAML yet. What a place means comes from the one source of each thing: the
//! keys, their descriptions and their allowed values from the JSON Schema of test files
//! (`schema::files::TestFile`), the rules and parameters from the policies under test as
//! `tenet test` loads them, and the keys of a case's `tenant:` from the model.

use super::analysis::{field_items, field_markdown, show_value, Item, ItemKind};
use super::text::run_at;
use crate::hir;
use crate::model::{KindId, Model, Type};
use serde_json::Value as Json;

/// Where in the YAML a position is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Place {
    /// The keys of the mappings around it, outermost first (list items are not counted).
    pub path: Vec<String>,
    /// `None` at a key of the innermost mapping; `Some(KEY)` in the value of `KEY`.
    pub value_of: Option<String>,
}

/// The place of a byte offset; `None` in a comment.
pub fn place(text: &str, offset: usize) -> Option<Place> {
    let offset = offset.min(text.len());
    if !text.is_char_boundary(offset) {
        return None;
    }
    let line_start = text[..offset].rfind('\n').map_or(0, |i| i + 1);
    let (col, rest) = content(&text[line_start..offset]);
    let (inner, value_of) = scan_line(rest)?;
    let mut path = parents(&text[..line_start], col);
    path.extend(inner);
    Some(Place { path, value_of })
}

/// A line's content after its indentation and `- ` item markers, and the column it is at.
fn content(line: &str) -> (usize, &str) {
    let mut rest = line.trim_start_matches(' ');
    while let Some(r) = rest.strip_prefix('-') {
        if !(r.is_empty() || r.starts_with(' ')) {
            break;
        }
        rest = r.trim_start_matches(' ');
    }
    (line.len() - rest.len(), rest)
}

/// The flow collections open in a line's content before the cursor: the keys that own
/// them, and whether the cursor is in a value (of which key).
fn scan_line(rest: &str) -> Option<(Vec<String>, Option<String>)> {
    let b = rest.as_bytes();
    // Open `{` and `[`, with the key whose value each is.
    let mut stack: Vec<(u8, Option<String>)> = Vec::new();
    let mut pending: Option<String> = None;
    let mut seg = 0;
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            q @ (b'"' | b'\'') => match rest[i + 1..].find(q as char) {
                Some(k) => i += k + 1,
                // The cursor is inside a quoted scalar.
                None => break,
            },
            b'#' if i == 0 || b[i - 1] == b' ' => return None,
            c @ (b'{' | b'[') => {
                stack.push((c, pending.take()));
                seg = i + 1;
            }
            b'}' | b']' => {
                stack.pop();
                pending = None;
                seg = i + 1;
            }
            b',' if !stack.is_empty() => {
                pending = None;
                seg = i + 1;
            }
            b':' if b.get(i + 1).is_none_or(|&c| c == b' ') => {
                pending = Some(unquote(rest[seg..i].trim()).to_string());
                seg = i + 1;
            }
            _ => {}
        }
        i += 1;
    }
    let mut value_of = pending;
    if value_of.is_none() {
        if let Some((b'[', owner)) = stack.last() {
            // An item of a flow list of scalars: a value of the list's key.
            value_of = owner.clone();
            stack.pop();
        }
    }
    Some((stack.into_iter().filter_map(|(_, k)| k).collect(), value_of))
}

fn unquote(s: &str) -> &str {
    s.trim_matches(|c| c == '"' || c == '\'')
}

/// The keys of the block mappings that hold content at column `level`, read upwards from
/// the end of `above`, outermost first.
fn parents(above: &str, mut level: usize) -> Vec<String> {
    let mut out = Vec::new();
    // After a list item at column N, the key that owns the list may be at column N too.
    let mut same_column = false;
    for line in above.lines().rev() {
        if level == 0 && !same_column {
            break;
        }
        let line = line.strip_suffix('\r').unwrap_or(line);
        let trimmed = line.trim_start_matches(' ');
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        let indent = line.len() - trimmed.len();
        let (col, rest) = content(line);
        let item = col > indent;
        if !(indent < level || same_column && indent == level && !item) {
            continue;
        }
        if item && col >= level {
            // Another key of the same list item.
            level = indent;
            same_column = true;
            continue;
        }
        let rest = match rest.find(" #") {
            Some(i) => &rest[..i],
            None => rest,
        }
        .trim_end();
        let key = rest
            .strip_suffix(':')
            .or_else(|| rest.split_once(": ").filter(|(_, v)| v.starts_with(['|', '>', '&', '!'])).map(|(k, _)| k));
        if let Some(k) = key {
            out.push(unquote(k.trim()).to_string());
        }
        level = indent;
        same_column = item;
    }
    out.reverse();
    out
}

/// What a test file is checked against, loaded as `tenet test` loads it. While the file
/// is being typed it may not be YAML at all: then its top-level `policy:` and `model:`
/// entries alone are loaded, so that the rules and the model are still known.
pub fn under_test(name: &str, text: &str, root: Option<&std::path::Path>) -> crate::harness::UnderTest {
    let under = super::analysis::load_test(name, text, root).under_test;
    if under.model.is_some() && !under.policies.is_empty() {
        return under;
    }
    let mut head = String::new();
    let mut keep = false;
    for line in text.lines() {
        if !line.starts_with([' ', '-', '#']) && !line.trim().is_empty() {
            keep = line.starts_with("policy:") || line.starts_with("model:");
        }
        if keep {
            head.push_str(line);
            head.push('\n');
        }
    }
    head.push_str("cases: []\n");
    let again = super::analysis::load_test(name, &head, root).under_test;
    if again.policies.len() > under.policies.len() {
        again
    } else {
        under
    }
}

/// The JSON Schema of test files (generated once).
fn schema() -> &'static Json {
    static SCHEMA: std::sync::OnceLock<Json> = std::sync::OnceLock::new();
    SCHEMA.get_or_init(|| {
        serde_json::to_value(crate::schema::file::<crate::schema::files::TestFile>()).unwrap_or(Json::Null)
    })
}

/// Follows `$ref`s to the schema they name.
fn deref(mut node: &'static Json) -> &'static Json {
    for _ in 0..16 {
        let Some(name) = node.get("$ref").and_then(Json::as_str).and_then(|r| r.rsplit('/').next()) else { break };
        match schema().get("definitions").and_then(|d| d.get(name)) {
            Some(n) => node = n,
            None => break,
        }
    }
    node
}

/// The object schemas a value may be (through `$ref`, `anyOf`/`oneOf` and list items).
fn objects(node: &'static Json, depth: usize) -> Vec<&'static Json> {
    let node = deref(node);
    let mut out = Vec::new();
    if depth > 16 {
        return out;
    }
    if node.get("properties").is_some() {
        out.push(node);
    }
    if let Some(items) = node.get("items") {
        out.extend(objects(items, depth + 1));
    }
    for key in ["anyOf", "oneOf", "allOf"] {
        for v in node.get(key).and_then(Json::as_array).into_iter().flatten() {
            out.extend(objects(v, depth + 1));
        }
    }
    out
}

/// The schemas of the mapping at `path`; empty where the schema says nothing (a tenant).
fn mappings(path: &[String]) -> Vec<&'static Json> {
    let mut cur = vec![schema()];
    for key in path {
        cur = cur.iter().filter_map(|o| o.get("properties")?.get(key)).flat_map(|p| objects(p, 0)).collect();
    }
    cur
}

/// The schema of `key` in the mapping at `path`.
fn property(path: &[String], key: &str) -> Option<&'static Json> {
    mappings(path).into_iter().find_map(|o| o.get("properties")?.get(key))
}

/// The scalar values a schema allows: its enums and constants, and booleans.
fn values(node: &'static Json, depth: usize, out: &mut Vec<String>) {
    let node = deref(node);
    if depth > 16 {
        return;
    }
    for v in node.get("enum").and_then(Json::as_array).into_iter().flatten().chain(node.get("const")) {
        if let Some(s) = v.as_str() {
            out.push(s.to_string());
        }
    }
    if node.get("type").and_then(Json::as_str) == Some("boolean") {
        out.extend(["true".to_string(), "false".to_string()]);
    }
    for key in ["anyOf", "oneOf"] {
        for v in node.get(key).and_then(Json::as_array).into_iter().flatten() {
            values(v, depth + 1, out);
        }
    }
}

/// Where `tenant:` is: the keys of a case's inline tenant start after it.
fn tenant_path(path: &[String]) -> Option<&[String]> {
    match path {
        [cases, tenant, rest @ ..] if cases == "cases" && tenant == "tenant" => Some(rest),
        _ => None,
    }
}

/// Whether `path` is a `set:` mapping (of the file or of a case).
fn is_set(path: &[String]) -> bool {
    matches!(path, [s] if s == "set") || matches!(path, [c, s] if c == "cases" && s == "set")
}

fn is_expectation(path: &[String]) -> bool {
    matches!(path, [c, e] if c == "cases" && e == "expect")
}

/// The kind (and the group of dotted fields) of the mapping at `path` inside a tenant.
fn tenant_kind(m: &Model, path: &[String]) -> Option<(KindId, String)> {
    let mut kind = Model::ROOT;
    let mut prefix = String::new();
    for seg in path {
        let full = format!("{prefix}{seg}");
        if let Some(f) = m.field_id(kind, &full) {
            // Only entities are written inside (a reference is written as its key).
            kind = match &m.field(kind, f).ty {
                Type::Entity(k) => *k,
                Type::List(t) => match **t {
                    Type::Entity(k) => k,
                    _ => return None,
                },
                _ => return None,
            };
            prefix.clear();
        } else if m.is_prefix(kind, &full) {
            prefix = format!("{full}.");
        } else {
            return None;
        }
    }
    Some((kind, prefix))
}

/// A test file, with what it is checked against.
pub struct TestDoc<'a> {
    pub text: &'a str,
    pub model: &'a Model,
    pub policies: &'a [hir::Policy],
}

impl TestDoc<'_> {
    /// Completion items at `offset`.
    pub fn complete(&self, offset: usize) -> Vec<Item> {
        let Some(place) = place(self.text, offset) else { return Vec::new() };
        let path = place.path.as_slice();
        if let Some(rest) = tenant_path(path) {
            return self.tenant_items(rest, place.value_of.as_deref());
        }
        match place.value_of.as_deref() {
            None if is_set(path) => self.param_items(),
            None => {
                let mut out = Vec::new();
                for o in mappings(path) {
                    for (k, v) in o.get("properties").and_then(Json::as_object).into_iter().flatten() {
                        if out.iter().any(|i: &Item| i.label == *k) {
                            continue;
                        }
                        let mut it = Item::new(k, ItemKind::Key, "key");
                        it.doc = v.get("description").and_then(Json::as_str).map(str::to_string);
                        out.push(it);
                    }
                }
                out
            }
            Some("rule") if is_expectation(path) => self.rule_items(),
            Some("policy") if is_expectation(path) => {
                self.policies.iter().map(|p| Item::new(&p.name, ItemKind::Value, "policy")).collect()
            }
            Some("code") if is_expectation(path) => {
                let mut codes: Vec<&str> =
                    self.policies.iter().flat_map(|p| p.rules.iter().map(|r| r.code.as_str())).collect();
                codes.sort_unstable();
                codes.dedup();
                codes.into_iter().map(|c| Item::new(c, ItemKind::Value, "rule code")).collect()
            }
            Some(key) => {
                let mut vals = Vec::new();
                if let Some(p) = property(path, key) {
                    values(p, 0, &mut vals);
                }
                vals.dedup();
                vals.iter().map(|v| Item::new(v, ItemKind::Value, "value")).collect()
            }
        }
    }

    fn rule_items(&self) -> Vec<Item> {
        let mut out = Vec::new();
        for p in self.policies {
            for r in &p.rules {
                // A name two policies share is written POLICY.RULE.
                let shared = self.policies.iter().filter(|q| q.rules.iter().any(|s| s.name == r.name)).count() > 1;
                let label = if shared { format!("{}.{}", p.name, r.name) } else { r.name.clone() };
                let detail = match &r.title {
                    Some(t) => format!("rule of {}: {t}", p.name),
                    None => format!("rule of {}", p.name),
                };
                let mut it = Item::new(&label, ItemKind::Rule, &detail);
                it.doc = Some(self.rule_markdown(p, r));
                out.push(it);
            }
        }
        out
    }

    fn param_items(&self) -> Vec<Item> {
        let mut out = Vec::new();
        for p in self.policies {
            for q in &p.params {
                let label = if self.policies.len() > 1 { format!("{}.{}", p.name, q.name) } else { q.name.clone() };
                let mut it = Item::new(&label, ItemKind::Param, &format!("parameter = {}", show_value(&q.value)));
                it.doc = Some(param_markdown(p, q, self.model));
                out.push(it);
            }
        }
        out
    }

    fn tenant_items(&self, path: &[String], value_of: Option<&str>) -> Vec<Item> {
        let m = self.model;
        let Some((kind, prefix)) = tenant_kind(m, path) else { return Vec::new() };
        if let Some(key) = value_of {
            let Some(f) = m.field_id(kind, &format!("{prefix}{key}")) else { return Vec::new() };
            let ty = &m.field(kind, f).ty;
            return match ty.elem().unwrap_or(ty) {
                Type::Enum(vals) => vals.iter().map(|v| Item::new(v, ItemKind::Value, "enum value")).collect(),
                Type::Bool => ["true", "false"].iter().map(|v| Item::new(v, ItemKind::Value, "bool")).collect(),
                _ => Vec::new(),
            };
        }
        field_items(m, kind, &prefix)
    }

    /// Markdown for the hover at `offset`, and the range of the word it is about.
    pub fn hover(&self, offset: usize) -> Option<(String, (usize, usize))> {
        let (ws, we) = scalar_word_at(self.text, offset)?;
        let word = &self.text[ws..we];
        let place = place(self.text, ws)?;
        let path = place.path.as_slice();
        let md = if let Some(rest) = tenant_path(path) {
            if place.value_of.is_some() {
                return None;
            }
            let m = self.model;
            let (kind, prefix) = tenant_kind(m, rest)?;
            let full = format!("{prefix}{word}");
            match m.field_id(kind, &full) {
                Some(f) => field_markdown(m, kind, f),
                None if m.is_prefix(kind, &full) => format!("```tenet\n{}.{full}\n```\nan object\n", m.kind_name(kind)),
                None => return None,
            }
        } else {
            match place.value_of.as_deref() {
                Some("rule") if is_expectation(path) => {
                    let (p, r) = self.find_rule(word)?;
                    self.rule_markdown(p, r)
                }
                Some("policy") if is_expectation(path) => {
                    let p = self.policies.iter().find(|p| p.name == word)?;
                    let mut s = format!("```tenet\npolicy \"{}\"\n```\n", p.name);
                    if let Some(t) = &p.title {
                        s.push_str(&format!("\n**{t}**\n"));
                    }
                    s.push_str(&format!("\n{} rules, in `{}`\n", p.rules.len(), p.file.name));
                    s
                }
                Some(_) => return None,
                None if is_set(path) => {
                    let (p, q) = self.find_param(word)?;
                    param_markdown(p, q, self.model)
                }
                None => {
                    let doc = property(path, word)?.get("description").and_then(Json::as_str)?;
                    format!("`{word}`: {doc}\n")
                }
            }
        };
        Some((md, (ws, we)))
    }

    /// Where the rule name or parameter at `offset` is defined: the policy file (as the
    /// test file names it), its text, and the byte range of the name.
    pub fn definition(&self, offset: usize) -> Option<(&crate::source::SourceFile, (usize, usize))> {
        let (ws, we) = scalar_word_at(self.text, offset)?;
        let word = &self.text[ws..we];
        let place = place(self.text, ws)?;
        let path = place.path.as_slice();
        let (p, span) = match place.value_of.as_deref() {
            Some("rule") if is_expectation(path) => self.find_rule(word).map(|(p, r)| (p, r.span))?,
            None if is_set(path) => self.find_param(word).map(|(p, q)| (p, q.span))?,
            _ => return None,
        };
        Some((&p.file, (span.start as usize, span.end as usize)))
    }

    /// A rule by `NAME` or `POLICY.NAME`.
    fn find_rule(&self, name: &str) -> Option<(&hir::Policy, &hir::Rule)> {
        let all = || self.policies.iter().flat_map(|p| p.rules.iter().map(move |r| (p, r)));
        all().find(|(_, r)| r.name == name).or_else(|| all().find(|(p, r)| format!("{}.{}", p.name, r.name) == name))
    }

    fn find_param(&self, name: &str) -> Option<(&hir::Policy, &hir::Param)> {
        let all = || self.policies.iter().flat_map(|p| p.params.iter().map(move |q| (p, q)));
        all().find(|(_, q)| q.name == name).or_else(|| all().find(|(p, q)| format!("{}.{}", p.name, q.name) == name))
    }

    fn rule_markdown(&self, p: &hir::Policy, r: &hir::Rule) -> String {
        let src = |span: crate::source::Span| p.file.text.get(span.start as usize..span.end as usize).unwrap_or("");
        let mut s = format!("```tenet\nrule {}: {}\n```\n", r.name, src(r.assert.span));
        if let Some(t) = &r.title {
            s.push_str(&format!("\n**{t}**\n"));
        }
        let mut message = String::new();
        for part in &r.message {
            match part {
                hir::MessagePart::Text(t) => message.push_str(t),
                hir::MessagePart::Expr(e) => message.push_str(&format!("{{{}}}", src(e.span))),
            }
        }
        if !message.is_empty() {
            s.push_str(&format!("\nmessage: {message}\n"));
        }
        s.push_str(&format!(
            "\npolicy `{}` (`{}`), severity `{}`, code `{}`, one finding per `{}`\n",
            p.name,
            p.file.name,
            r.severity.as_str(),
            r.code,
            self.model.kind_name(r.subject)
        ));
        s
    }
}

fn param_markdown(p: &hir::Policy, q: &hir::Param, m: &Model) -> String {
    format!(
        "```tenet\n{} = {}\n```\nparameter of policy `{}` ({})\n",
        q.name,
        show_value(&q.value),
        p.name,
        q.ty.show(m)
    )
}

/// The YAML word around `offset` (letters, digits, `_`, `-`, `.`): a key, a rule name
/// (`POLICY.RULE`), an enum value.
fn scalar_word_at(text: &str, offset: usize) -> Option<(usize, usize)> {
    let b = text.as_bytes();
    let (mut s, mut e) = run_at(text, offset, |c| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'-' | b'.'));
    // `- ` item markers and a trailing `.` are not part of the word.
    while s < e && b[s] == b'-' {
        s += 1;
    }
    while e > s && b[e - 1] == b'.' {
        e -= 1;
    }
    (s < e).then_some((s, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> Place {
        let i = text.find('|').unwrap_or(text.len());
        let t = text.replacen('|', "", 1);
        place(&t, i).unwrap()
    }

    fn p(path: &[&str], value_of: Option<&str>) -> Place {
        Place { path: path.iter().map(|s| s.to_string()).collect(), value_of: value_of.map(str::to_string) }
    }

    #[test]
    fn places_are_read_from_indentation_items_and_flow_collections() {
        assert_eq!(at("pol|"), p(&[], None));
        assert_eq!(at("policy: a.tenet\ncases:\n  - name: x\n    |"), p(&["cases"], None));
        // A list whose key is at the column of its `-`.
        assert_eq!(at("cases:\n- name: x\n  ten|"), p(&["cases"], None));
        assert_eq!(at("cases:\n  - name: x\n    expect:\n      - {rule: se|"), p(&["cases", "expect"], Some("rule")));
        assert_eq!(at("cases:\n  - name: x\n    expect:\n      - {rule: a, sta|"), p(&["cases", "expect"], None));
        assert_eq!(
            at("cases:\n  - name: x\n    expect:\n      - rule: a\n        status: |"),
            p(&["cases", "expect"], Some("status"))
        );
        assert_eq!(
            at("cases:\n  - name: x\n    tenant:\n      users:\n        - id: u1\n          # note\n\n          ro|"),
            p(&["cases", "tenant", "users"], None)
        );
        assert_eq!(
            at("cases:\n  - tenant: {users: [{id: u1, sessions: [{id: s1, client: w|"),
            p(&["cases", "tenant", "users", "sessions"], Some("client"))
        );
        assert_eq!(at("cases:\n  - expect: [{rule: \"x|"), p(&["cases", "expect"], Some("rule")));
        assert!(place("a: b # com", 10).is_none());
    }

    #[test]
    fn every_position_of_odd_text_is_answered_without_a_panic() {
        let m = Model::erp();
        let text = "policy: [\"é😀.tenet\", 'x''y'\ncases:\n- name: \"a\\\"b\" # c\n  tenant: {users: [{id: u1, kind: \"\r\n  expect:\n  - rule: x\n    -\n\t- {:, }]: \"\n";
        let d = TestDoc { text, model: &m, policies: &[] };
        for i in 0..=text.len() + 1 {
            let _ = (d.complete(i), d.hover(i), d.definition(i), place(text, i));
        }
        assert_eq!(place(text, text.find("kind").unwrap_or(0)).map(|p| p.path.len()), Some(3));
    }

    #[test]
    fn keys_and_values_come_from_the_schema_of_test_files() {
        let m = Model::erp();
        let d = TestDoc { text: "", model: &m, policies: &[] };
        let labels = |text: &str| -> Vec<String> {
            let i = text.find('|').unwrap_or(text.len());
            let t = text.replacen('|', "", 1);
            TestDoc { text: &t, ..d }.complete(i).into_iter().map(|i| i.label).collect()
        };
        assert_eq!(labels("|"), ["policy", "now", "set", "model", "cases"]);
        assert!(labels("cases:\n  - |").contains(&"tenant_file".to_string()));
        assert_eq!(labels("cases:\n  - expect:\n    - {status: |"), ["fail", "error"]);
        assert_eq!(labels("cases:\n  - expect: |"), ["pass"]);
        assert_eq!(labels("cases:\n  - snapshot: |"), ["true", "false"]);
        let fields = labels("cases:\n  - tenant:\n      roles:\n        - |");
        assert!(fields.contains(&"2fa".to_string()) && fields.contains(&"multiple_sessions".to_string()), "{fields:?}");
        assert_eq!(labels("cases:\n  - tenant:\n      roles: [{status: |"), ["active", "pending_approval", "inactive"]);
        let text = "cases:\n  - tenant:\n      roles: [{2fa: true}]";
        let (md, _) = TestDoc { text, ..d }.hover(text.find("2fa").unwrap_or(0) + 1).unwrap();
        assert!(md.contains("role.2fa: bool"), "{md}");
        let (md, r) = TestDoc { text: "cases:\n  - tenant_file: x", ..d }.hover(14).unwrap();
        assert!(md.starts_with("`tenant_file`: A tenant snapshot file"), "{md}");
        assert_eq!(r, (11, 22));
    }
}
