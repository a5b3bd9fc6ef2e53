//! What the language server knows about one document: its diagnostics, and what a position
//! in it names (hover, completion, definition), computed from the parser's AST, the
//! checker's diagnostics and the model. Offsets here are bytes; `text::Lines` converts.

use super::vocab::{self, Tok};
use crate::ast::{self, ExprKind};
use crate::diagnostic::Diagnostic;
use crate::model::{FieldId, KindId, Model, Type};
use crate::source::SourceFile;
use crate::value::Value;
use std::path::{Path, PathBuf};

/// What kind of file a document is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Form {
    Tenet,
    YamlPolicy,
    Test,
    /// Not something tenet reads (a YAML file without `rules`): no diagnostics.
    Other,
}

/// Decides the form of a document from its name and, for YAML, its top-level keys.
pub fn form(name: &str, text: &str) -> Form {
    let lower = name.to_ascii_lowercase();
    if lower.ends_with(".tenet") {
        return Form::Tenet;
    }
    if lower.ends_with(".test.yaml") || lower.ends_with(".test.yml") {
        return Form::Test;
    }
    if lower.ends_with(".yaml") || lower.ends_with(".yml") {
        let file = SourceFile::new(name, text);
        // A YAML file is a policy when it says so (`policy:` or `rules:`, no `cases:`), or
        // when it does not parse at all and is named like one (the user is typing).
        return match crate::yaml::parse(&file, crate::diagnostic::Code::Yaml) {
            Ok(root) if root.get("cases").is_some() => Form::Other,
            Ok(root) if root.get("rules").is_some() || root.get("policy").is_some() => Form::YamlPolicy,
            Err(_) if text.lines().any(|l| l.starts_with("rules:") || l.starts_with("policy:")) => Form::YamlPolicy,
            _ => Form::Other,
        };
    }
    Form::Other
}

/// The diagnostics of a document, as `tenet lint` (policies) or `tenet test` (test files)
/// would report them for its text; only those located in the document itself.
pub fn diagnostics(model: &Model, name: &str, text: &str, root: Option<&Path>) -> Vec<Diagnostic> {
    let file = SourceFile::new(name, text);
    match form(name, text) {
        Form::Tenet | Form::YamlPolicy => {
            let mut d = crate::engine::check_all(std::slice::from_ref(&file), model).1;
            d.retain(|d| d.file.name.as_ref() == name);
            d
        }
        Form::Test => {
            let tf = load_test(name, text, root);
            tf.diagnostics.into_iter().filter(|d| d.file.name.as_ref() == tf.path.as_str()).collect()
        }
        Form::Other => Vec::new(),
    }
}

/// A test file's text loaded as `tenet test` loads it (the files it names read from disk,
/// inside `root`, or the test file's directory when it is not under `root`).
pub fn load_test(name: &str, text: &str, root: Option<&Path>) -> crate::harness::TestFile {
    let path = PathBuf::from(name);
    let parent = path.parent().map(Path::to_path_buf).unwrap_or_else(|| PathBuf::from("."));
    let root = match root {
        Some(r) if path.starts_with(r) => r.to_path_buf(),
        _ => parent,
    };
    let found = crate::harness::Found { path, root };
    crate::harness::load_text(&found, text.to_string(), false)
}

/// A quick fix for a diagnostic whose help says "did you mean `X`?": the byte range to
/// replace and the text to put there.
pub fn fix(text: &str, d: &Diagnostic) -> Option<(usize, usize, String)> {
    let help = d.help.as_deref()?;
    let at = help.find("did you mean `")? + "did you mean `".len();
    let suggestion = &help[at..at + help[at..].find('`')?];
    let (start, end) = (d.span.start as usize, d.span.end as usize);
    let before = text.get(..start)?;
    let current = text.get(start..end)?;
    // The span may cover only the last part of what the suggestion spells (`twofa` of
    // `role.twofa` for `role.2fa`): keep the part already written before it.
    let mut keep = 0;
    for (i, c) in suggestion.char_indices() {
        let k = i + c.len_utf8();
        if matches!(c, '.' | '@' | '"') && k < suggestion.len() && before.ends_with(&suggestion[..k]) {
            keep = k;
        }
    }
    let mut replacement = suggestion[keep..].to_string();
    if replacement.ends_with('"') && !current.ends_with('"') && text[end..].starts_with('"') {
        replacement.pop();
    }
    (replacement != current && !replacement.is_empty()).then_some((start, end, replacement))
}

/// What a dotted path names.
#[derive(Debug, Clone)]
pub enum Named<'a> {
    Kind(KindId),
    Field(KindId, FieldId),
    /// A group of dotted fields (`settings` of `settings.session_expiry`).
    Group(KindId, String),
    Let(&'a ast::Let),
    Param(&'a ast::Param),
    Builtin(vocab::Builtin),
    /// A variable bound by `as NAME`, ranging over a list of entities of a kind.
    Binder(KindId, ast::Spanned<String>),
}

/// The document's AST and the model, for questions about positions.
pub struct Doc<'a> {
    pub model: &'a Model,
    pub text: &'a str,
    pub ast: Option<ast::Policy>,
    pub form: Form,
}

impl<'a> Doc<'a> {
    pub fn new(model: &'a Model, name: &str, text: &'a str) -> Self {
        let form = form(name, text);
        let ast = match form {
            Form::Tenet | Form::YamlPolicy => crate::parse::policy(&SourceFile::new(name, text)).value,
            _ => None,
        };
        Doc { model, text, ast, form }
    }

    fn params(&self) -> &[ast::Param] {
        self.ast.as_ref().map_or(&[], |p| &p.params)
    }

    fn lets(&self) -> &[ast::Let] {
        self.ast.as_ref().map_or(&[], |p| &p.lets)
    }

    /// What `path` names; `call` when it is followed by `(`.
    pub fn resolve(&self, path: &[String], call: bool) -> Option<Named<'_>> {
        self.resolve_depth(path, call, 0)
    }

    fn resolve_depth(&self, path: &[String], call: bool, depth: usize) -> Option<Named<'_>> {
        let first = path.first()?;
        if path.len() == 1 {
            if let Some(b) = vocab::builtin(first).filter(|b| call || b.name == "now") {
                return Some(Named::Builtin(b));
            }
            if let Some(p) = self.params().iter().find(|p| p.name.node == *first) {
                return Some(Named::Param(p));
            }
        }
        let (kind, rest) = if let Some(k) = self.model.kind_id(first) {
            (k, &path[1..])
        } else if let Some((k, b)) = self.binder(first, depth) {
            if path.len() == 1 {
                return Some(Named::Binder(k, b));
            }
            (k, &path[1..])
        } else {
            (Model::ROOT, path)
        };
        if rest.is_empty() {
            return Some(Named::Kind(kind));
        }
        self.walk(kind, rest)
    }

    /// Follows field names from an entity of `kind`.
    fn walk(&self, mut kind: KindId, rest: &[String]) -> Option<Named<'_>> {
        let mut prefix = String::new();
        for (i, seg) in rest.iter().enumerate() {
            let last = i + 1 == rest.len();
            let full = format!("{prefix}{seg}");
            if let Some(f) = self.model.field_id(kind, &full) {
                if last {
                    return Some(Named::Field(kind, f));
                }
                kind = entity_kind(&self.model.field(kind, f).ty)?;
                prefix.clear();
            } else if self.model.is_prefix(kind, &full) {
                if last {
                    return Some(Named::Group(kind, full));
                }
                prefix = format!("{full}.");
            } else if last {
                let k = kind;
                return self
                    .lets()
                    .iter()
                    .find(|l| self.model.kind_id(&l.kind.node) == Some(k) && l.field.node == full)
                    .map(Named::Let);
            } else {
                return None;
            }
        }
        None
    }

    /// A variable bound by `as NAME` somewhere in the policy, and the kind it ranges over.
    fn binder(&self, name: &str, depth: usize) -> Option<(KindId, ast::Spanned<String>)> {
        if depth > 8 {
            return None;
        }
        let ast = self.ast.as_ref()?;
        let mut found = None;
        let mut visit = |e: &ast::Expr| {
            if found.is_some() {
                return;
            }
            let (list, binder) = match &e.kind {
                ExprKind::Quant { list, binder: Some(b), .. } | ExprKind::Filter { list, binder: Some(b), .. } => {
                    (list, b)
                }
                _ => return,
            };
            if binder.node != name {
                return;
            }
            if let Some(path) = expr_path(list) {
                let k = match self.resolve_depth(&path, false, depth + 1) {
                    Some(Named::Field(k, f)) => entity_kind(&self.model.field(k, f).ty),
                    Some(Named::Kind(k)) => Some(k),
                    _ => None,
                };
                if let Some(k) = k {
                    found = Some((k, binder.clone()));
                }
            }
        };
        for e in all_exprs(ast) {
            walk_expr(e, &mut visit);
        }
        found
    }

    /// Markdown for the hover at `offset`.
    pub fn hover(&self, offset: usize) -> Option<(String, (usize, usize))> {
        let (path, range) = super::text::path_at(self.text, offset)?;
        let call = self.text[range.1..].trim_start().starts_with('(');
        let shown = path.join(".");
        let m = self.model;
        let md = match self.resolve(&path, call)? {
            Named::Field(k, f) => field_markdown(m, k, f),
            Named::Kind(k) => kind_doc(m, k),
            Named::Group(k, g) => {
                let fields: Vec<String> = m
                    .kind(k)
                    .fields
                    .iter()
                    .filter_map(|f| f.name.strip_prefix(&format!("{g}.")).map(|r| format!("`{r}`")))
                    .collect();
                format!("```tenet\n{}.{g}\n```\nan object with the fields {}\n", m.kind_name(k), fields.join(", "))
            }
            Named::Param(p) => {
                let value = self.text.get(p.value.span.start as usize..p.value.span.end as usize).unwrap_or("");
                format!(
                    "```tenet\n{} = {value}\n```\nparameter; override it for one run with `--set {}=VALUE`\n",
                    p.name.node, p.name.node
                )
            }
            Named::Let(l) => {
                let def = self.text.get(l.kind.span.start as usize..l.expr.span.end as usize).unwrap_or("");
                format!("```tenet\nlet {def}\n```\nderived field of `{}`\n", l.kind.node)
            }
            Named::Builtin(b) => format!("```tenet\n{}\n```\n{}\n", b.signature, b.doc),
            Named::Binder(k, b) => format!("```tenet\n{}: {}\n```\nbound by `as {}`\n", b.node, m.kind_name(k), b.node),
        };
        let _ = shown;
        Some((md, range))
    }

    /// Where the name at `offset` is defined in this document (parameters, lets, `as`).
    pub fn definition(&self, offset: usize) -> Option<(usize, usize)> {
        let (path, _) = super::text::path_at(self.text, offset)?;
        let span = match self.resolve(&path, false)? {
            Named::Param(p) => p.name.span,
            Named::Let(l) => l.kind.span.to(l.field.span),
            Named::Binder(_, b) => b.span,
            _ => return None,
        };
        Some((span.start as usize, span.end as usize))
    }

    /// Completion items at `offset`.
    pub fn complete(&self, offset: usize, form: Form) -> Vec<Item> {
        let offset = offset.min(self.text.len());
        let line_start = self.text[..offset].rfind('\n').map_or(0, |i| i + 1);
        let Some(before) = self.text.get(line_start..offset) else { return Vec::new() };
        if form == Form::YamlPolicy && !before.contains(':') {
            return Vec::new();
        }
        let m = self.model;
        let mut out = Vec::new();
        // `@sev…`: annotation names.
        if let Some(at) =
            before.rfind('@').filter(|&i| before[i + 1..].bytes().all(|c| c.is_ascii_alphanumeric() || c == b'_'))
        {
            let _ = at;
            let mut names: Vec<&str> = crate::check::RULE_ANNOTATIONS.to_vec();
            names.extend(
                crate::check::POLICY_ANNOTATIONS.iter().filter(|n| !crate::check::RULE_ANNOTATIONS.contains(n)),
            );
            return names.into_iter().map(|n| Item::new(n, ItemKind::Annotation, "annotation")).collect();
        }
        if before.trim_end().ends_with("@severity(") || before.contains("@severity(") && !before.contains(')') {
            return crate::check::SEVERITIES.iter().map(|s| Item::new(s, ItemKind::Value, "severity")).collect();
        }
        // Enum values after `==`, `!=`, `in [`.
        if let Some((path, quoted)) = enum_context(before) {
            if let Some(Named::Field(k, f)) = self.resolve(&path, false) {
                let ty = &m.field(k, f).ty;
                let ty = ty.elem().unwrap_or(ty);
                if let Type::Enum(vals) = ty {
                    return vals
                        .iter()
                        .map(|v| {
                            let mut it = Item::new(v, ItemKind::Value, "enum value");
                            if !quoted {
                                it.insert = Some(format!("\"{v}\""));
                            }
                            it
                        })
                        .collect();
                }
            }
        }
        // `kind.`, `user.role.`, `settings.`: the fields after a dot.
        let word_start =
            before.len() - before.bytes().rev().take_while(|&c| c.is_ascii_alphanumeric() || c == b'_').count();
        if before[..word_start].ends_with('.') {
            let path_start = before[..word_start].bytes().rev().take_while(|&c| super::text::is_path_byte(c)).count();
            let base = &before[word_start - path_start..word_start - 1];
            let path: Vec<String> = base.split('.').map(str::to_string).collect();
            if path.iter().any(String::is_empty) {
                return out;
            }
            let (kind, prefix) = match self.resolve(&path, false) {
                Some(Named::Kind(k)) | Some(Named::Binder(k, _)) => (k, String::new()),
                Some(Named::Group(k, g)) => (k, format!("{g}.")),
                Some(Named::Field(k, f)) => match entity_kind(&m.field(k, f).ty) {
                    Some(k) => (k, String::new()),
                    None => return out,
                },
                _ => return out,
            };
            out.extend(field_items(m, kind, &prefix));
            if prefix.is_empty() {
                for l in self.lets().iter().filter(|l| m.kind_id(&l.kind.node) == Some(kind)) {
                    out.push(Item::new(&l.field.node, ItemKind::Let, "derived field (let)"));
                }
            }
            return out;
        }
        // Anywhere else: every name an expression may start with.
        for k in &m.kinds {
            out.push(Item::new(&k.name, ItemKind::Kind, "kind"));
        }
        for b in vocab::builtins() {
            let mut it = Item::new(b.name, ItemKind::Builtin, b.signature);
            it.doc = Some(b.doc.to_string());
            out.push(it);
        }
        for p in self.params() {
            let value = self.text.get(p.value.span.start as usize..p.value.span.end as usize).unwrap_or("");
            out.push(Item::new(&p.name.node, ItemKind::Param, &format!("parameter = {value}")));
        }
        for l in self.lets() {
            out.push(Item::new(&format!("{}.{}", l.kind.node, l.field.node), ItemKind::Let, "derived field (let)"));
        }
        let mut seen = std::collections::HashSet::new();
        for f in &m.kind(Model::ROOT).fields {
            let seg = f.name.split('.').next().unwrap_or("");
            if seen.insert(seg) && m.kind_id(seg).is_none() {
                out.push(Item::new(seg, ItemKind::Field, "field of the tenant"));
            }
        }
        for kw in vocab::KEYWORDS {
            out.push(Item::new(kw, ItemKind::Keyword, "keyword"));
        }
        out
    }

    /// Semantic tokens of the document, in order and never overlapping: (start, end, token
    /// type index). A `.tenet` file is lexed whole; in a YAML policy, the expressions (`let`
    /// values, `when`, `assert`) and the `{…}` parts of messages are lexed as the strings
    /// YAML reads, and each token is mapped back to the text it was written as (through
    /// quotes, escapes, folded lines and block scalars).
    pub fn semantic_tokens(&self) -> Vec<(usize, usize, u32)> {
        match self.form {
            Form::Tenet => self.classify(self.text),
            Form::YamlPolicy => self.yaml_tokens(),
            Form::Test | Form::Other => Vec::new(),
        }
    }

    fn yaml_tokens(&self) -> Vec<(usize, usize, u32)> {
        let file = SourceFile::new("policy.yaml", self.text);
        let Ok(root) = crate::yaml::parse(&file, crate::diagnostic::Code::Yaml) else { return Vec::new() };
        // (the scalar, whether it is a message template)
        let mut scalars: Vec<(&crate::yaml::YNode, bool)> = Vec::new();
        if let Some(entries) = root.get("let").and_then(|l| l.as_map()) {
            scalars.extend(entries.iter().map(|(_, v)| (v, false)));
        }
        if let Some(crate::yaml::YValue::Seq(rules)) = root.get("rules").map(|r| &r.value) {
            for rule in rules {
                for (key, template) in [("when", false), ("assert", false), ("message", true)] {
                    if let Some(n) = rule.get(key) {
                        scalars.push((n, template));
                    }
                }
            }
        }
        let mut out = Vec::new();
        for (node, template) in scalars {
            let Some(value) = node.as_str() else { continue };
            let (starts, ends) = crate::yaml::scalar_offsets(self.text, node.span, value);
            let pieces = if template { template_exprs(value) } else { vec![(0, value.len())] };
            for (a, b) in pieces {
                let Some(piece) = value.get(a..b) else { continue };
                for (s, e, ty) in self.classify(piece) {
                    let (Some(&fs), Some(&fe)) = (starts.get(a + s), ends.get(a + e - 1)) else { continue };
                    if fe > fs {
                        out.push((fs as usize, fe as usize, ty));
                    }
                }
            }
        }
        out.sort_unstable();
        let mut last_end = 0;
        out.retain(|&(s, e, _)| {
            let keep = s >= last_end;
            if keep {
                last_end = e;
            }
            keep
        });
        out
    }

    /// The semantic tokens of an expression or `.tenet` text, in its own offsets.
    fn classify(&self, text: &str) -> Vec<(usize, usize, u32)> {
        let toks = vocab::tokens(text);
        let mut out = Vec::with_capacity(toks.len());
        for (tok, s, e) in toks {
            let ty = match tok {
                Tok::Comment => TOKEN_COMMENT,
                Tok::Str => TOKEN_STRING,
                Tok::Number => TOKEN_NUMBER,
                Tok::Keyword => TOKEN_KEYWORD,
                Tok::Operator => TOKEN_OPERATOR,
                Tok::Member => TOKEN_PROPERTY,
                Tok::Annotation => TOKEN_DECORATOR,
                Tok::Punct => continue,
                Tok::Ident => {
                    let word = &text[s..e];
                    let call = text[e..].trim_start().starts_with('(');
                    if call && vocab::builtin(word).is_some() || word == "now" {
                        TOKEN_FUNCTION
                    } else if self.model.kind_id(word).is_some() {
                        TOKEN_TYPE
                    } else if self.params().iter().any(|p| p.name.node == word) {
                        TOKEN_PARAMETER
                    } else {
                        TOKEN_VARIABLE
                    }
                }
            };
            out.push((s, e, ty));
        }
        out
    }
}

/// The byte ranges of the `{…}` expressions of a message template (as the parser splits
/// it; `{{` and `}}` are literal braces).
fn template_exprs(value: &str) -> Vec<(usize, usize)> {
    let file = SourceFile::new("message", value);
    let t = ast::Template { text: value.to_string(), offsets: (0..=value.len() as u32).collect() };
    let (parts, _) = crate::parse::parse_template(&file, &t);
    parts
        .into_iter()
        .filter_map(|p| match p {
            crate::parse::TemplatePartPub::Expr(e) => Some((e.span.start as usize, e.span.end as usize)),
            crate::parse::TemplatePartPub::Text(_) => None,
        })
        .collect()
}

/// Markdown for a model field: `kind.name: type`, its default and its description.
pub fn field_markdown(m: &Model, k: KindId, f: FieldId) -> String {
    let field = m.field(k, f);
    let mut s = format!("```tenet\n{}.{}: {}\n```\n", m.kind_name(k), field.name, field.ty.show(m));
    if let Some(d) = &field.default {
        s.push_str(&format!("\ndefault: `{}`\n", show_value(d)));
    }
    if let Some(doc) = &field.doc {
        s.push_str(&format!("\n{doc}\n"));
    }
    s
}

/// The semantic token types, in the order of the legend.
pub const TOKEN_TYPES: &[&str] = &[
    "comment",
    "string",
    "number",
    "keyword",
    "operator",
    "function",
    "parameter",
    "variable",
    "property",
    "type",
    "decorator",
];
const TOKEN_COMMENT: u32 = 0;
const TOKEN_STRING: u32 = 1;
const TOKEN_NUMBER: u32 = 2;
const TOKEN_KEYWORD: u32 = 3;
const TOKEN_OPERATOR: u32 = 4;
const TOKEN_FUNCTION: u32 = 5;
const TOKEN_PARAMETER: u32 = 6;
const TOKEN_VARIABLE: u32 = 7;
const TOKEN_PROPERTY: u32 = 8;
const TOKEN_TYPE: u32 = 9;
const TOKEN_DECORATOR: u32 = 10;

/// A completion item, before it becomes an LSP one.
#[derive(Debug, Clone)]
pub struct Item {
    pub label: String,
    pub kind: ItemKind,
    pub detail: String,
    pub doc: Option<String>,
    pub insert: Option<String>,
}

impl Item {
    pub fn new(label: &str, kind: ItemKind, detail: &str) -> Self {
        Item { label: label.to_string(), kind, detail: detail.to_string(), doc: None, insert: None }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ItemKind {
    Kind,
    Field,
    Builtin,
    Param,
    Let,
    Annotation,
    Value,
    Keyword,
    /// A key of a test file.
    Key,
    /// A rule's name (in a test file's `expect`).
    Rule,
}

/// `PATH == "par…`, `PATH in ["a", "b…`: the path and whether a quote is already open.
fn enum_context(before: &str) -> Option<(Vec<String>, bool)> {
    let trimmed = before.trim_end_matches(|c: char| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    let quoted = trimmed.ends_with('"');
    let t = trimmed.strip_suffix('"').unwrap_or(trimmed).trim_end();
    let lhs = if let Some(t) = t.strip_suffix("==").or_else(|| t.strip_suffix("!=")) {
        t
    } else {
        // Inside a list after `in`: back up to the `[`.
        let open = t.rfind('[')?;
        if t[open..].contains(']') {
            return None;
        }
        let head = t[..open].trim_end();
        let head = head.strip_suffix("in")?;
        head.trim_end().strip_suffix("not").unwrap_or(head)
    };
    let lhs = lhs.trim_end();
    let n = lhs.bytes().rev().take_while(|&c| super::text::is_path_byte(c)).count();
    let path: Vec<String> = lhs[lhs.len() - n..].split('.').map(str::to_string).collect();
    (!path.iter().any(String::is_empty)).then_some((path, quoted))
}

/// The kind of the entities a type holds (an entity, a reference, or a list of either).
pub fn entity_kind(ty: &Type) -> Option<KindId> {
    match ty {
        Type::Entity(k) | Type::Ref(k) => Some(*k),
        Type::List(t) => entity_kind(t),
        _ => None,
    }
}

/// `a.b.c` as written, for a chain of names and fields.
fn expr_path(e: &ast::Expr) -> Option<Vec<String>> {
    match &e.kind {
        ExprKind::Name(n) => Some(vec![n.clone()]),
        ExprKind::Field(b, f) => {
            let mut p = expr_path(b)?;
            p.push(f.node.clone());
            Some(p)
        }
        ExprKind::Filter { list, .. } | ExprKind::Paren(list) => expr_path(list),
        _ => None,
    }
}

fn all_exprs(p: &ast::Policy) -> impl Iterator<Item = &ast::Expr> {
    p.lets.iter().map(|l| &l.expr).chain(p.rules.iter().flat_map(|r| r.guard.iter().chain(std::iter::once(&r.assert))))
}

/// Visits an expression and its subexpressions (with an explicit stack: no recursion).
fn walk_expr<'e>(e: &'e ast::Expr, f: &mut impl FnMut(&'e ast::Expr)) {
    let mut stack = vec![e];
    while let Some(e) = stack.pop() {
        f(e);
        match &e.kind {
            ExprKind::Lit(_) | ExprKind::Name(_) => {}
            ExprKind::List(items) | ExprKind::Call(_, items) => stack.extend(items),
            ExprKind::Field(b, _) | ExprKind::Unary(_, b) | ExprKind::Paren(b) => stack.push(b),
            ExprKind::Index(a, b) | ExprKind::Binary(_, a, b) => {
                stack.push(a);
                stack.push(b);
            }
            ExprKind::Quant { list, pred, .. } | ExprKind::Filter { list, pred, .. } => {
                stack.push(list);
                stack.push(pred);
            }
        }
    }
}

pub fn kind_doc(m: &Model, k: KindId) -> String {
    let kind = m.kind(k);
    let mut s = format!("```tenet\nkind {}\n```\n", kind.name);
    if let (Some(p), Some(c)) = (kind.parent, &kind.collection) {
        s.push_str(&format!("\nthe entities of `{}.{c}`", m.kind_name(p)));
    } else {
        s.push_str("\nthe tenant itself (the root of a snapshot)");
    }
    if let Some(key) = kind.key {
        s.push_str(&format!(", identified by `{}`", kind.fields[key as usize].name));
    }
    s.push_str(&format!("; {} fields\n", kind.fields.len()));
    s
}

/// Completion items for the fields of `kind` under `prefix` (`""`, or a group such as
/// `settings.`): a field, or the next segment of a group of fields, once each.
pub fn field_items(m: &Model, kind: KindId, prefix: &str) -> Vec<Item> {
    let mut out = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for f in &m.kind(kind).fields {
        let Some(rest) = f.name.strip_prefix(prefix) else { continue };
        let (seg, group) = match rest.split_once('.') {
            Some((seg, _)) => (seg, true),
            None => (rest, false),
        };
        if !seen.insert(seg) {
            continue;
        }
        let mut it = Item::new(seg, ItemKind::Field, if group { "object" } else { "" });
        if !group {
            it.detail = f.ty.show(m).to_string();
            it.doc = field_doc(m, kind, f);
        }
        out.push(it);
    }
    out
}

pub fn field_doc(m: &Model, _k: KindId, f: &crate::model::Field) -> Option<String> {
    let mut s = String::new();
    if let Some(d) = &f.default {
        s.push_str(&format!("default: `{}`", show_value(d)));
    }
    if let Some(doc) = &f.doc {
        if !s.is_empty() {
            s.push_str("\n\n");
        }
        s.push_str(doc);
    }
    let _ = m;
    (!s.is_empty()).then_some(s)
}

/// A value as a tenet literal.
pub fn show_value(v: &Value) -> String {
    match v {
        Value::Null => "null".into(),
        Value::Bool(b) => b.to_string(),
        Value::Int(i) => i.to_string(),
        Value::Dec(d) => crate::value::format_decimal(*d),
        Value::Str(s) => format!("{:?}", &**s),
        Value::Date(t) => crate::value::format_datetime(*t),
        Value::Duration(t) => crate::value::format_duration(*t),
        Value::List(items) => format!("[{}]", items.iter().map(show_value).collect::<Vec<_>>().join(", ")),
        Value::Object(_) => "{…}".into(),
        Value::Entity(..) | Value::Entities(..) => "…".into(),
        Value::Bad(b) => b.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc<'a>(model: &'a Model, text: &'a str) -> Doc<'a> {
        Doc::new(model, "p.tenet", text)
    }

    #[test]
    fn hover_names_a_field_its_type_and_default() {
        let m = Model::erp();
        let text = "policy \"p\"\nrule a: role.2fa\n";
        let d = doc(&m, text);
        let at = text.find("2fa").unwrap_or(0);
        let (md, _) = d.hover(at).unwrap();
        assert!(md.contains("role.2fa: bool"), "{md}");
        assert!(md.contains("default: `false`"), "{md}");
    }

    #[test]
    fn completion_after_a_kind_lists_its_fields_and_after_eq_its_enum_values() {
        let m = Model::erp();
        let text = "policy \"p\"\nrule a: role.\n";
        let d = doc(&m, text);
        let at = text.find("role.").unwrap_or(0) + 5;
        let items = d.complete(at, Form::Tenet);
        assert!(items.iter().any(|i| i.label == "multiple_sessions"));
        let text = "policy \"p\"\nrule a: role.status == \"";
        let d = doc(&m, text);
        let items = d.complete(text.len(), Form::Tenet);
        let labels: Vec<&str> = items.iter().map(|i| i.label.as_str()).collect();
        assert_eq!(labels, ["active", "pending_approval", "inactive"]);
    }

    #[test]
    fn a_did_you_mean_fix_replaces_only_what_the_span_covers() {
        let m = Model::erp();
        let text = "policy \"p\"\nrule a: role.twofa\n";
        let diags = diagnostics(&m, "p.tenet", text, None);
        let fixes: Vec<_> = diags.iter().filter_map(|d| fix(text, d)).collect();
        assert_eq!(fixes.len(), 1);
        let (s, e, r) = &fixes[0];
        assert_eq!((&text[*s..*e], r.as_str()), ("twofa", "2fa"));
    }

    #[test]
    fn yaml_files_are_policies_when_they_say_so_even_while_broken() {
        assert_eq!(form("p.yaml", "policy: p\nrules: []\n"), Form::YamlPolicy);
        assert_eq!(form("p.yaml", "policy: p\nrules: [\n"), Form::YamlPolicy);
        assert_eq!(form("t.yaml", "id: t1\nusers: []\n"), Form::Other);
        assert_eq!(form("p.test.yaml", "policy: p.yaml\n"), Form::Test);
        let m = Model::erp();
        assert_eq!(diagnostics(&m, "p.yaml", "policy: p\nrules: [\n", None).len(), 1);
    }

    #[test]
    fn yaml_policies_get_semantic_tokens_at_the_text_of_their_expressions() {
        let m = Model::erp();
        let text = "policy: p\nparams:\n  cap: 3\nlet:\n  user.many: count(user.sessions) > cap\nrules:\n  - id: a\n    when: \"user.email != \\\"x@y\\\"\"\n    assert: |\n      user.many\n        and not user.2fa\n    message: 'User {user.id} ''has'' {count(user.sessions)}'\n";
        let d = Doc::new(&m, "p.yaml", text);
        let toks: Vec<(&str, u32)> = d.semantic_tokens().into_iter().map(|(s, e, t)| (&text[s..e], t)).collect();
        assert_eq!(
            toks,
            [
                ("count", TOKEN_FUNCTION),
                ("user", TOKEN_TYPE),
                ("sessions", TOKEN_PROPERTY),
                (">", TOKEN_OPERATOR),
                ("cap", TOKEN_PARAMETER),
                ("user", TOKEN_TYPE),
                ("email", TOKEN_PROPERTY),
                ("!=", TOKEN_OPERATOR),
                ("\\\"x@y\\\"", TOKEN_STRING),
                ("user", TOKEN_TYPE),
                ("many", TOKEN_PROPERTY),
                ("and", TOKEN_KEYWORD),
                ("not", TOKEN_KEYWORD),
                ("user", TOKEN_TYPE),
                ("2fa", TOKEN_PROPERTY),
                ("user", TOKEN_TYPE),
                ("id", TOKEN_PROPERTY),
                ("count", TOKEN_FUNCTION),
                ("user", TOKEN_TYPE),
                ("sessions", TOKEN_PROPERTY),
            ]
        );
        // A YAML policy that does not parse has no tokens (and no panic).
        assert!(Doc::new(&m, "p.yaml", "policy: p\nrules: [\n").semantic_tokens().is_empty());
    }

    #[test]
    fn binders_resolve_to_the_kind_they_range_over() {
        let m = Model::erp();
        let text = "policy \"p\"\nrule a: all(tenant.roles as r: r.2fa)\n";
        let d = doc(&m, text);
        let at = text.rfind("2fa").unwrap_or(0);
        let (md, _) = d.hover(at).unwrap();
        assert!(md.contains("role.2fa: bool"), "{md}");
        let at = text.rfind("r.2fa").unwrap_or(0);
        assert_eq!(d.definition(at), text.find("r:").map(|i| (i, i + 1)));
    }
}
