//! The YAML form of a policy (language.md §7) → the same [`ast::Policy`] as `.tenet`.
//!
//! Expression strings are parsed with the DSL grammar; an offset map from the string's
//! value back to the YAML file makes every span point at the expression inside the YAML.

use super::{OffsetMap, Parsed};
use crate::ast::{self, Annotation, AnnotationValue, Expr, ExprKind, Literal, Spanned, Template};
use crate::diagnostic::{Code, Diagnostic};
use crate::source::{SourceFile, Span};
use crate::value::{parse_date, parse_duration_literal};
use crate::yaml::{self, YKey, YNode, YValue};

// The valid keys come from the types that describe the YAML form (`schema::files`), the
// same ones its JSON Schema is generated from.
use crate::schema::files::{PolicyFile, RuleEntry};

pub fn policy(file: &SourceFile) -> Parsed<ast::Policy> {
    let root = match yaml::parse(file, Code::Yaml) {
        Ok(r) => r,
        Err(d) => return Parsed::new(None, d),
    };
    let mut b = YamlBuilder { file, diags: Vec::new(), broken: Vec::new() };
    let value = b.policy(&root);
    Parsed { value, diagnostics: b.diags, broken: b.broken }
}

struct YamlBuilder<'a> {
    file: &'a SourceFile,
    diags: Vec<Diagnostic>,
    /// Parameters and lets whose values did not parse (see [`Parsed::broken`]).
    broken: Vec<(String, Span)>,
}

impl YamlBuilder<'_> {
    /// Reports unknown keys; returns the valid keys they are likely typos of.
    fn unknown_keys(&mut self, entries: &[(YKey, YNode)], valid: &[&'static str], what: &str) -> Vec<&'static str> {
        yaml::unknown_keys(self.file, Code::Yaml, entries, valid, what, &mut self.diags)
    }

    fn wrong_type(&mut self, node: &YNode, key: &str, expected: &str) {
        self.diags.push(
            Diagnostic::new(
                Code::Yaml,
                self.file,
                node.span,
                format!("`{key}` must be {expected}, found {}", node.type_name()),
            )
            .label(format!("expected {expected}")),
        );
    }

    fn string<'n>(&mut self, node: &'n YNode, key: &str) -> Option<&'n str> {
        match node.as_str() {
            Some(s) => Some(s),
            None => {
                self.wrong_type(node, key, "a string");
                None
            }
        }
    }

    fn policy(&mut self, root: &YNode) -> Option<ast::Policy> {
        let Some(entries) = root.as_map() else {
            let span = line_of(&self.file.text, root.span);
            self.diags.push(
                Diagnostic::new(
                    Code::Yaml,
                    self.file,
                    span,
                    format!("a YAML policy must be a mapping, found {}", root.type_name()),
                )
                .label("the document starts here")
                .help("write the policy as keys: `policy: NAME`, then `rules:` with a list of rules"),
            );
            return None;
        };
        let meant = self.unknown_keys(entries, crate::keys!(PolicyFile), "a policy");
        let name = match root.get("policy") {
            Some(n) => self.string(n, "policy").map(|s| Spanned::new(s.to_string(), n.span)),
            None if meant.contains(&"policy") => None,
            None => {
                self.diags.push(
                    Diagnostic::new(Code::Yaml, self.file, Span::new(0, 0), "missing `policy: NAME`")
                        .help("name the policy: `policy: erpnext-sessions`"),
                );
                None
            }
        };
        let mut annotations = Vec::new();
        for key in ["title", "tags", "see"] {
            if let Some(n) = root.get(key) {
                if let Some(a) = self.annotation(key, n) {
                    annotations.push(a);
                }
            }
        }
        let mut params = Vec::new();
        if let Some(p) = root.get("params") {
            match p.as_map() {
                Some(entries) => {
                    for (k, v) in entries {
                        match literal_expr(v) {
                            Some(value) => {
                                params.push(ast::Param { name: Spanned::new(k.name.clone(), k.span), value })
                            }
                            None => {
                                self.broken.push((k.name.clone(), k.span));
                                self.diags.push(
                                    Diagnostic::new(
                                        Code::Yaml,
                                        self.file,
                                        v.span,
                                        format!("parameter `{}` must be a number, boolean, string or list", k.name),
                                    )
                                    .label("not a literal"),
                                )
                            }
                        }
                    }
                }
                None => self.wrong_type(p, "params", "a mapping of NAME: VALUE"),
            }
        }
        let mut lets = Vec::new();
        if let Some(l) = root.get("let") {
            match l.as_map() {
                Some(entries) => {
                    for (k, v) in entries {
                        let Some((kind, field)) = k.name.split_once('.') else {
                            self.diags.push(
                                Diagnostic::new(
                                    Code::Yaml,
                                    self.file,
                                    k.span,
                                    format!("`{}` must be KIND.NAME", k.name),
                                )
                                .label("missing kind")
                                .help(format!("name the kind the field is derived for: `user.{}`", k.name)),
                            );
                            continue;
                        };
                        let kspan = Span::new(k.span.start as usize, k.span.start as usize + kind.len());
                        let fspan = Span::new(kspan.end as usize + 1, k.span.start as usize + k.name.len());
                        match self.expr(v, "let") {
                            Some(expr) => lets.push(ast::Let {
                                kind: Spanned::new(kind.into(), kspan),
                                field: Spanned::new(field.into(), fspan),
                                expr,
                            }),
                            None => self.broken.push((k.name.clone(), k.span)),
                        }
                    }
                }
                None => self.wrong_type(l, "let", "a mapping of KIND.NAME: EXPRESSION"),
            }
        }
        let mut rules = Vec::new();
        match root.get("rules") {
            Some(r) => match &r.value {
                YValue::Seq(items) => {
                    for item in items {
                        if let Some(rule) = self.rule(item) {
                            rules.push(rule);
                        }
                    }
                }
                _ => self.wrong_type(r, "rules", "a list"),
            },
            None if meant.contains(&"rules") => {}
            None => self.diags.push(
                Diagnostic::new(Code::Yaml, self.file, line_of(&self.file.text, root.span), "missing `rules:`")
                    .label("this policy has no rules")
                    .help("add `rules:` with a list of `- id: … assert: …`"),
            ),
        }
        // Without a usable name the rules are still checked (under the file's name), so that
        // every problem is reported; the name's own diagnostic is already there.
        let name = name.unwrap_or_else(|| Spanned::new(self.file.name.to_string(), Span::default()));
        Some(ast::Policy { file: self.file.clone(), name, annotations, params, lets, rules })
    }

    fn annotation(&mut self, key: &str, node: &YNode) -> Option<Annotation> {
        let value = match (key, &node.value) {
            ("severity", YValue::Str(s)) => AnnotationValue::Word(s.clone()),
            (_, YValue::Str(s)) => {
                AnnotationValue::Expr(Expr { kind: ExprKind::Lit(Literal::Str(s.clone())), span: node.span })
            }
            ("tags" | "see", YValue::Seq(_)) => AnnotationValue::Expr(literal_expr(node)?),
            _ => {
                let expected = match key {
                    "tags" => "a list of strings",
                    "see" => "a string or a list of strings",
                    "severity" => "`error`, `warning` or `info`",
                    _ => "a string",
                };
                self.wrong_type(node, key, expected);
                return None;
            }
        };
        Some(Annotation { name: Spanned::new(key.to_string(), node.span), value: Spanned::new(value, node.span) })
    }

    fn expr(&mut self, node: &YNode, key: &str) -> Option<Expr> {
        let text = match &node.value {
            YValue::Str(s) => s.clone(),
            YValue::Bool(b) => b.to_string(),
            _ => {
                self.wrong_type(node, key, "an expression string");
                return None;
            }
        };
        let (starts, ends) = yaml::scalar_offsets(&self.file.text, node.span, &text);
        match super::expression(self.file, &text, &OffsetMap::Ranges { starts, ends }) {
            Ok(e) => Some(e),
            Err(d) => {
                self.diags.extend(d);
                None
            }
        }
    }

    fn rule(&mut self, node: &YNode) -> Option<ast::Rule> {
        let Some(entries) = node.as_map() else {
            self.wrong_type(node, "a rule", "a mapping with `id` and `assert`");
            return None;
        };
        let meant = self.unknown_keys(entries, crate::keys!(RuleEntry), "a rule");
        let id = match node.get("id") {
            Some(n) => self.string(n, "id").map(|s| Spanned::new(s.to_string(), n.span)),
            None if meant.contains(&"id") => None,
            None => {
                self.diags.push(
                    Diagnostic::new(Code::Yaml, self.file, line_of(&self.file.text, node.span), "a rule needs an `id`")
                        .label("no `id`")
                        .help("add `id: my_rule`"),
                );
                None
            }
        };
        let mut annotations = Vec::new();
        for key in ["severity", "code", "remediation", "title", "tags", "see"] {
            if let Some(n) = node.get(key) {
                if let Some(a) = self.annotation(key, n) {
                    annotations.push(a);
                }
            }
        }
        let message = match node.get("message") {
            Some(n) => match &n.value {
                YValue::Str(s) => {
                    let (offsets, _) = yaml::scalar_offsets(&self.file.text, n.span, s);
                    Some(Spanned::new(Template { text: s.clone(), offsets }, n.span))
                }
                _ => {
                    self.wrong_type(n, "message", "a string");
                    None
                }
            },
            None => None,
        };
        let guard = node.get("when").and_then(|n| self.expr(n, "when"));
        let assert_node = node.get("assert");
        let Some(assert_node) = assert_node else {
            if !meant.contains(&"assert") {
                let (span, msg) = match &id {
                    Some(id) => (id.span, format!("rule `{}` has no `assert`", id.node)),
                    None => (line_of(&self.file.text, node.span), "a rule needs an `assert`".to_string()),
                };
                self.diags.push(
                    Diagnostic::new(Code::Yaml, self.file, span, msg)
                        .label("no `assert`")
                        .help("add `assert: EXPRESSION`, the condition every subject must meet"),
                );
            }
            return None;
        };
        let assert_text =
            assert_node.as_str().map(|s| s.split_whitespace().collect::<Vec<_>>().join(" ")).unwrap_or_default();
        let assert = self.expr(assert_node, "assert")?;
        if node.get("when").is_some() && guard.is_none() {
            return None;
        }
        Some(ast::Rule { name: id?, annotations, guard, assert, assert_text, message })
    }
}

/// A YAML parameter value as a literal expression (language.md §9.9): numbers, booleans,
/// lists, strings — and strings that parse as durations or dates are those.
fn literal_expr(node: &YNode) -> Option<Expr> {
    let lit = |l: Literal| Some(Expr { kind: ExprKind::Lit(l), span: node.span });
    match &node.value {
        YValue::Int(i) => lit(Literal::Int(*i)),
        YValue::Float(f) => lit(Literal::Dec(*f)),
        YValue::Bool(b) => lit(Literal::Bool(*b)),
        YValue::Null => lit(Literal::Null),
        YValue::Str(s) => {
            if let Some(d) = parse_duration_literal(s.trim()) {
                lit(Literal::Duration(d))
            } else if let Some(d) = parse_date(s.trim()) {
                lit(Literal::Date(d))
            } else {
                lit(Literal::Str(s.clone()))
            }
        }
        YValue::Seq(items) => {
            let items: Option<Vec<Expr>> = items.iter().map(literal_expr).collect();
            Some(Expr { kind: ExprKind::List(items?), span: node.span })
        }
        YValue::Map(_) => None,
    }
}

/// The rest of the line from `span`'s start (mappings and lists have empty spans).
fn line_of(text: &str, span: Span) -> Span {
    if !span.is_empty() {
        return span;
    }
    let start = span.start as usize;
    let rest = text.get(start..).unwrap_or("");
    let end = start + rest.find('\n').unwrap_or(rest.len());
    Span::new(start, end)
}

#[cfg(test)]
mod tests {
    use crate::model::Model;
    use crate::source::SourceFile;

    /// The text under every diagnostic's span of a YAML policy whose single rule asserts
    /// `assert` (written as is after `assert: `).
    fn spans(assert: &str) -> Vec<String> {
        let text = format!("policy: p\nrules:\n  - id: r\n    assert: {assert}\n");
        let file = SourceFile::new("p.yaml", text);
        let checked = crate::check::file(&file, &Model::erp());
        assert!(!checked.diagnostics.is_empty(), "no diagnostic for {assert}");
        checked.diagnostics.iter().map(|d| file.slice(d.span).to_string()).collect()
    }

    #[test]
    fn spans_land_exactly_after_every_yaml_escape() {
        // Escapes inside a DSL string before the unknown field `user.nope`.
        for esc in [
            r"\0",
            r"\a",
            r"\b",
            r"\t",
            r"\v",
            r"\f",
            r"\e",
            r"\ ",
            r"\/",
            r"\\\\",
            r"\N",
            r"\_",
            r"\L",
            r"\P",
            r"\x41",
            r"\u00e9",
            r"\U0001F600",
            r"\t",
        ] {
            let assert = format!(r#""\"a{esc}b\" == user.nope""#);
            assert_eq!(spans(&assert), ["nope"], "escape {esc}");
        }
        // Escapes that are white space between tokens.
        for esc in [r"\t", r"\n", r"\r", r"\ ", r"\	"] {
            let assert = format!(r#""1 =={esc}user.nope""#);
            assert_eq!(spans(&assert), ["nope"], "escape {esc}");
        }
        // A name written with an escape: the span covers the whole escape.
        assert_eq!(spans(r#""user.\x6eope == 1""#), [r"\x6eope"]);
        assert_eq!(spans(r#""user.nop\u0065 == 1""#), [r"nop\u0065"]);
        // A string with escapes compared with an enum field: the span is the whole literal.
        assert_eq!(spans(r#""user.kind == \"x\u00e9\"""#), [r#"\"x\u00e9\""#]);
    }

    #[test]
    fn spans_land_exactly_in_folded_and_single_quoted_scalars() {
        // Line folding in a double-quoted scalar (trailing spaces dropped, one break = a space).
        assert_eq!(spans("\"\\\"a\\\" ==   \n      user.nope\""), ["nope"]);
        // Empty lines: N breaks are N-1 newlines.
        assert_eq!(spans("\"\\\"a\\\" ==\n\n\n      user.nope\""), ["nope"]);
        // An escaped line break.
        assert_eq!(spans("\"\\\"a\\\" == \\\n      user.nope\""), ["nope"]);
        // Single-quoted with `''`, on one line and folded.
        assert_eq!(spans("'\"it''s\" == user.nope'"), ["nope"]);
        assert_eq!(spans("'\"it''s\" ==\n      user.nope'"), ["nope"]);
        // A multi-line plain scalar.
        assert_eq!(spans("user.email ==\n      user.nope"), ["nope"]);
        // Windows line breaks.
        assert_eq!(spans("\"\\\"a\\\" ==\r\n      user.nope\""), ["nope"]);
    }
}
