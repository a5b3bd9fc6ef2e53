//! STAGE 2: AST × Model → [`hir::Policy`] and every diagnostic.
//!
//! The checker resolves every name (language.md §3 "Names"), infers types, computes each
//! rule's subject (§4) and reports every problem in the file at once. It never evaluates.
//!
//! - `expr`: expressions — names, fields, operators, functions and their types.
//! - `bind`: which kinds each single-valued aggregate ranges over, once the subject of
//!   the rule is known.

mod bind;
mod expr;

pub(crate) use expr::eq_compatible;
pub use expr::{compile_regex, regex_error_summary};

use crate::ast::{self, AnnotationValue, ExprKind as AK, Literal};
use crate::diagnostic::{did_you_mean, Code, Diagnostic};
use crate::finding::Severity;
use crate::hir::{self, MessagePart};
use crate::model::{KindId, Model, Type};
use crate::parse::{self, Parsed};
use crate::source::{SourceFile, Span};
use crate::value::Value;
use expr::{Free, Scope};

/// A checked policy and every diagnostic (a policy with any diagnostic is not evaluated).
pub type Checked<T> = Parsed<T>;

pub const RULE_ANNOTATIONS: &[&str] = &["severity", "code", "message", "remediation", "title", "tags", "see"];
pub const POLICY_ANNOTATIONS: &[&str] = &["title", "tags", "see"];
pub const SEVERITIES: &[&str] = &["error", "warning", "info"];

/// Checks one parsed policy against the model.
pub fn policy(p: &ast::Policy, model: &Model) -> Checked<hir::Policy> {
    policy_with_broken(p, model, &[])
}

/// Checks a policy some of whose parameters and derived fields (`broken`, see
/// [`Parsed::broken`]) did not parse: they are declared with an unknown type.
fn policy_with_broken(p: &ast::Policy, model: &Model, broken: &[(String, Span)]) -> Checked<hir::Policy> {
    let mut cx = expr::Cx::new(model, &p.file);
    let file = &p.file;
    for (name, span) in broken {
        match name.split_once('.') {
            Some((kind, field)) => {
                if let Some(kind) = model.kind_id(kind) {
                    cx.lets.push(expr::LetDecl::failed(kind, field, *span));
                }
            }
            None => cx.params.push(hir::Param { name: name.clone(), ty: Type::Any, value: Value::Null, span: *span }),
        }
    }

    // Policy annotations.
    let mut title = None;
    let mut tags = Vec::new();
    let mut see = Vec::new();
    for a in &p.annotations {
        match a.name.node.as_str() {
            "title" => title = string_annotation(&mut cx, a),
            "tags" => tags = tags_annotation(&mut cx, a),
            "see" => see = see_annotation(&mut cx, a),
            other if RULE_ANNOTATIONS.contains(&other) => cx.diags.push(
                Diagnostic::new(
                    Code::MisplacedAnnotation,
                    file,
                    a.name.span,
                    format!("`@{other}` applies to rules, not to a policy"),
                )
                .label("on the policy")
                .help("move it above a `rule`; a policy takes `@title`, `@tags` and `@see`"),
            ),
            other => unknown_annotation(&mut cx, a, other, POLICY_ANNOTATIONS, "a policy"),
        }
    }

    // Parameters (duplicates found through an index: a policy may have many).
    let mut param_at: std::collections::HashMap<String, usize> =
        cx.params.iter().enumerate().map(|(i, q)| (q.name.clone(), i)).collect();
    for param in &p.params {
        if let Some(first) = param_at.get(&param.name.node).and_then(|&i| cx.params.get(i)) {
            let d = Diagnostic::new(
                Code::Duplicate,
                file,
                param.name.span,
                format!("parameter `{}` is defined twice", param.name.node),
            )
            .label("second definition")
            .related(first.span, "first definition")
            .help("remove one of them; to change a parameter for one run, use `--set NAME=VALUE`");
            cx.diags.push(d);
            continue;
        }
        param_at.insert(param.name.node.clone(), cx.params.len());
        match literal_value(&param.value) {
            Some((value, ty)) => {
                cx.params.push(hir::Param { name: param.name.node.clone(), ty, value, span: param.name.span })
            }
            None => {
                cx.diags.push(
                    Diagnostic::new(Code::ParamNotLiteral, file, param.value.span, format!("parameter `{}` must be a literal", param.name.node))
                        .label("not a literal")
                        .help("parameters are literals (`3`, `\"x\"`, `12h`, `2026-01-01`, `[\"a\", \"b\"]`); use `let` for computed values"),
                );
                // Still define it, so its uses are not reported as unknown names too.
                cx.params.push(hir::Param {
                    name: param.name.node.clone(),
                    ty: Type::Any,
                    value: Value::Null,
                    span: param.name.span,
                });
            }
        }
    }

    // Derived fields: declared first, checked on first use (so they may use each other).
    let mut let_at: std::collections::HashMap<(KindId, String), usize> =
        cx.lets.iter().enumerate().map(|(i, d)| ((d.kind, d.name.clone()), i)).collect();
    for l in &p.lets {
        let Some(kind) = model.kind_id(&l.kind.node) else {
            let kinds: Vec<&str> = model.kinds.iter().map(|k| k.name.as_str()).collect();
            let help = did_you_mean(&l.kind.node, kinds.iter().copied()).map(|s| format!("did you mean `{s}`?"));
            cx.diags.push(
                Diagnostic::new(Code::UnknownName, file, l.kind.span, format!("unknown kind `{}`", l.kind.node))
                    .label("not a kind of the model")
                    .help_opt(help),
            );
            continue;
        };
        if model.field_id(kind, &l.field.node).is_some() || model.is_prefix(kind, &l.field.node) {
            cx.diags.push(
                Diagnostic::new(
                    Code::LetShadows,
                    file,
                    l.field.span,
                    format!("`let {}.{}` shadows a field of the model", l.kind.node, l.field.node),
                )
                .label("already a field")
                .help("choose another name for the derived field"),
            );
            continue;
        }
        if let Some(first) = let_at.get(&(kind, l.field.node.clone())).and_then(|&i| cx.lets.get(i)) {
            cx.diags.push(
                Diagnostic::new(
                    Code::Duplicate,
                    file,
                    l.field.span,
                    format!("`{}.{}` is defined twice", l.kind.node, l.field.node),
                )
                .label("second definition")
                .related(first.span, "first definition")
                .help("a derived field is defined once; remove one of them or rename it"),
            );
            continue;
        }
        let_at.insert((kind, l.field.node.clone()), cx.lets.len());
        cx.lets.push(expr::LetDecl {
            kind,
            name: l.field.node.clone(),
            ast: l.expr.clone(),
            state: expr::LetState::Pending,
            span: l.field.span,
        });
    }
    for i in 0..cx.lets.len() {
        cx.check_let(i, None);
    }

    // Rules.
    let mut rules = Vec::new();
    let mut names: std::collections::HashMap<&str, Span> = std::collections::HashMap::new();
    for r in &p.rules {
        if let Some(first) = names.get(r.name.node.as_str()) {
            cx.diags.push(
                Diagnostic::new(Code::Duplicate, file, r.name.span, format!("rule `{}` is defined twice", r.name.node))
                    .label("second definition")
                    .related(*first, "first definition")
                    .help("rule names are unique within a policy"),
            );
            continue;
        }
        names.insert(&r.name.node, r.name.span);
        if let Some(rule) = check_rule(&mut cx, r) {
            rules.push(rule);
        }
    }

    let lets = cx.finished_lets();
    let diagnostics = std::mem::take(&mut cx.diags);
    let value = hir::Policy {
        name: p.name.node.clone(),
        file: file.clone(),
        title,
        tags,
        see,
        params: std::mem::take(&mut cx.params),
        lets,
        rules,
    };
    Parsed::new(Some(value), diagnostics)
}

/// Nesting (brackets and filters) above which a file is parsed and checked on a thread with
/// a large stack: parsing, building and checking recurse once per level, and a 256-deep
/// expression needs more than the 2 MiB a spawned thread (a test, a rayon worker) has.
/// Unoptimized frames are far larger: in a debug build six levels overflowed 2 MiB.
const DEEP_NESTING: usize = if cfg!(debug_assertions) { 4 } else { 24 };
const DEEP_STACK_BYTES: usize = 256 << 20;

/// Parses and checks one policy file.
pub fn file(file: &SourceFile, model: &Model) -> Checked<hir::Policy> {
    if parse::max_nesting(&file.text) > DEEP_NESTING {
        let spawned = std::thread::scope(|s| {
            std::thread::Builder::new()
                .name("tenet-check".into())
                .stack_size(DEEP_STACK_BYTES)
                .spawn_scoped(s, || file_inline(file, model))
                .ok()
                .and_then(|h| h.join().ok())
        });
        if let Some(checked) = spawned {
            return checked;
        }
    }
    file_inline(file, model)
}

fn file_inline(file: &SourceFile, model: &Model) -> Checked<hir::Policy> {
    let parsed = parse::policy(file);
    let mut diagnostics = parsed.diagnostics;
    let Some(ast) = parsed.value else { return Parsed::new(None, diagnostics) };
    let checked = policy_with_broken(&ast, model, &parsed.broken);
    diagnostics.extend(checked.diagnostics);
    diagnostics.sort_by_key(|d| (d.span.start, d.span.end));
    Parsed::new(checked.value, diagnostics)
}

fn check_rule(cx: &mut expr::Cx<'_>, r: &ast::Rule) -> Option<hir::Rule> {
    let model = cx.model;
    let file = cx.file;
    cx.n_locals = 0;
    let errors_before = cx.diags.len();

    let mut severity = Severity::Error;
    let mut code = None;
    let mut remediation = None;
    let mut title = None;
    let mut tags = Vec::new();
    let mut see = Vec::new();
    let mut seen: Vec<(&str, Span)> = Vec::new();
    for a in &r.annotations {
        if let Some((_, first)) = seen.iter().find(|(n, _)| *n == a.name.node) {
            cx.diags.push(
                Diagnostic::new(Code::Duplicate, file, a.name.span, format!("`@{}` is given twice", a.name.node))
                    .label("second one")
                    .related(*first, "first one")
                    .help("keep one of them"),
            );
            continue;
        }
        seen.push((a.name.node.as_str(), a.name.span));
        match a.name.node.as_str() {
            "severity" => match &a.value.node {
                AnnotationValue::Word(w) if Severity::parse(w).is_some() => {
                    severity = Severity::parse(w).unwrap_or(Severity::Error)
                }
                value => {
                    let d = match value {
                        AnnotationValue::Word(w) => {
                            let help = match did_you_mean(w, SEVERITIES.iter().copied()) {
                                Some(s) => format!("did you mean `{s}`? a severity is `error`, `warning` or `info`"),
                                None => "a severity is `error`, `warning` or `info`".to_string(),
                            };
                            Diagnostic::new(
                                Code::AnnotationValue,
                                file,
                                a.value.span,
                                format!("unknown severity `{w}`"),
                            )
                            .label("not a severity")
                            .help(help)
                        }
                        AnnotationValue::Expr(ast::Expr { kind: AK::Lit(Literal::Str(s)), .. })
                            if Severity::parse(s).is_some() =>
                        {
                            Diagnostic::new(
                                Code::AnnotationValue,
                                file,
                                a.value.span,
                                "`@severity` takes a bare word, not a string",
                            )
                            .label("a string")
                            .help(format!("write `@severity({s})` without quotes"))
                        }
                        AnnotationValue::Expr(_) => Diagnostic::new(
                            Code::AnnotationValue,
                            file,
                            a.value.span,
                            "`@severity` takes `error`, `warning` or `info`",
                        )
                        .label("not a severity")
                        .help("write `@severity(warning)`"),
                    };
                    cx.diags.push(d);
                }
            },
            "code" => code = string_annotation(cx, a),
            "remediation" => remediation = string_annotation(cx, a),
            "title" => title = string_annotation(cx, a),
            "tags" => tags = tags_annotation(cx, a),
            "see" => see = see_annotation(cx, a),
            other => unknown_annotation(cx, a, other, RULE_ANNOTATIONS, "a rule"),
        }
    }

    let guard = r.guard.as_ref().map(|g| {
        let (e, free) = cx.check(g, &mut Scope::default());
        cx.expect_bool(&e, "a `when` guard");
        (e, free)
    });
    let (assert, assert_free) = cx.check(&r.assert, &mut Scope::default());
    cx.expect_bool(&assert, "a rule's assertion");

    // The subject: the kinds free in guard and assertion (language.md §4).
    let mut free = assert_free;
    if let Some((_, gf)) = &guard {
        free = gf.clone().union(free);
    }
    let subject = subject_of(cx, &free, r.assert.span)?;
    let bound = model.lineage(subject);

    let mut guard = guard.map(|(e, _)| e);
    let mut assert = assert;
    if let Some(g) = guard.as_mut() {
        bind::aggregates(cx, g, bound);
    }
    bind::aggregates(cx, &mut assert, bound);

    // Messages interpolate expressions valid in the rule's scope.
    let mut message = Vec::new();
    match &r.message {
        Some(t) => {
            let (parts, diags) = parse::parse_template(file, &t.node);
            cx.diags.extend(diags);
            for part in parts {
                match part {
                    parse::TemplatePartPub::Text(s) => message.push(MessagePart::Text(s)),
                    parse::TemplatePartPub::Expr(e) => {
                        let (mut he, free) = cx.check(&e, &mut Scope::default());
                        let outside = free.set.minus(bound);
                        if let Some(k) = outside.iter().next() {
                            let span = free.span_of(k).unwrap_or(e.span);
                            let kname = model.kind_name(k);
                            let per = if subject == Model::ROOT {
                                "once per tenant".to_string()
                            } else {
                                format!("for each `{}`", model.kind_name(subject))
                            };
                            cx.diags.push(
                                Diagnostic::new(
                                    Code::MessageScope,
                                    file,
                                    span,
                                    format!("the message mentions `{kname}`, but the rule is evaluated {per}"),
                                )
                                .label(format!("no single `{kname}` here"))
                                .help(format!(
                                    "a message can use what its rule is evaluated for and that entity's parents; aggregate `{kname}` (`count(…)`, `any(…: …)`) or leave it out"
                                )),
                            );
                            continue;
                        }
                        bind::aggregates(cx, &mut he, bound);
                        message.push(MessagePart::Expr(he));
                    }
                }
            }
        }
        None => message.push(MessagePart::Text(r.assert_text.clone())),
    }

    if cx.diags.len() > errors_before {
        return None;
    }
    Some(hir::Rule {
        name: r.name.node.clone(),
        span: r.name.span,
        severity,
        code: code.unwrap_or_else(|| r.name.node.clone()),
        message,
        remediation,
        tags,
        see,
        guard,
        assert,
        subject,
        n_locals: cx.n_locals,
        title,
    })
}

/// The deepest free kind, when the free kinds form one ancestor chain.
fn subject_of(cx: &mut expr::Cx<'_>, free: &Free, span: Span) -> Option<KindId> {
    let model = cx.model;
    let mut deepest = Model::ROOT;
    for k in free.set.iter() {
        if model.kind(k).depth > model.kind(deepest).depth {
            deepest = k;
        }
    }
    for k in free.set.iter() {
        if !model.is_ancestor_or_self(k, deepest) {
            let kspan = free.span_of(k).unwrap_or(span);
            let dspan = free.span_of(deepest).unwrap_or(span);
            // Name the two kinds in the order they are written; point at the second.
            let ((first, fs), (second, ss)) =
                if kspan <= dspan { ((k, kspan), (deepest, dspan)) } else { ((deepest, dspan), (k, kspan)) };
            let (a, b) = (model.kind_name(first), model.kind_name(second));
            let example = collection_path(model, second);
            cx.diags.push(
                Diagnostic::new(
                    Code::UnrelatedKinds,
                    cx.file,
                    ss,
                    format!("the rule relates `{a}` and `{b}`, which are unrelated kinds"),
                )
                .label(format!("`{b}` here"))
                .related(fs, format!("`{a}` here"))
                .help(format!(
                    "a rule is evaluated for one kind of entity; aggregate or quantify over the other, e.g. `any({example}: …)` or `count({example} where …)`"
                )),
            );
            return None;
        }
    }
    Some(deepest)
}

/// How a rule names every entity of `kind`: `tenant.roles`, `integration.certificates`.
fn collection_path(model: &Model, kind: KindId) -> String {
    let k = model.kind(kind);
    let parent = k.parent.unwrap_or(Model::ROOT);
    let collection = k.collection.as_deref().unwrap_or("…");
    format!("{}.{collection}", model.kind_name(parent))
}

fn unknown_annotation(cx: &mut expr::Cx<'_>, a: &ast::Annotation, name: &str, valid: &[&str], what: &str) {
    let listed = valid.iter().map(|v| format!("`@{v}`")).collect::<Vec<_>>().join(", ");
    let help = match did_you_mean(name, valid.iter().copied()) {
        Some(s) => format!("did you mean `@{s}`? the annotations of {what} are {listed}"),
        None => format!("the annotations of {what} are {listed}"),
    };
    cx.diags.push(
        Diagnostic::new(Code::Annotation, cx.file, a.name.span, format!("unknown annotation `@{name}` on {what}"))
            .label("unknown")
            .help(help),
    );
}

fn string_annotation(cx: &mut expr::Cx<'_>, a: &ast::Annotation) -> Option<String> {
    if let AnnotationValue::Expr(ast::Expr { kind: AK::Lit(Literal::Str(s)), .. }) = &a.value.node {
        return Some(s.clone());
    }
    cx.diags.push(
        Diagnostic::new(Code::AnnotationValue, cx.file, a.value.span, format!("`@{}` takes a string", a.name.node))
            .label("not a string")
            .help(format!("write `@{}(\"…\")`", a.name.node)),
    );
    None
}

fn tags_annotation(cx: &mut expr::Cx<'_>, a: &ast::Annotation) -> Vec<String> {
    if let AnnotationValue::Expr(e) = &a.value.node {
        if let Some((Value::List(items), _)) = literal_value(e) {
            let tags: Option<Vec<String>> =
                items.iter().map(|v| if let Value::Str(s) = v { Some(s.to_string()) } else { None }).collect();
            if let Some(t) = tags {
                return t;
            }
        }
    }
    cx.diags.push(
        Diagnostic::new(Code::AnnotationValue, cx.file, a.value.span, "`@tags` takes a list of strings")
            .label("not a list of strings")
            .help("write `@tags([\"auth\", \"sessions\"])`"),
    );
    Vec::new()
}

/// `@see`: where a rule or policy comes from — one non-empty string (a URL or a document's
/// name) or a non-empty list of them.
fn see_annotation(cx: &mut expr::Cx<'_>, a: &ast::Annotation) -> Vec<String> {
    if let AnnotationValue::Expr(e) = &a.value.node {
        let refs = match literal_value(e) {
            Some((Value::Str(s), _)) => Some(vec![s.to_string()]),
            Some((Value::List(items), _)) => {
                items.iter().map(|v| if let Value::Str(s) = v { Some(s.to_string()) } else { None }).collect()
            }
            _ => None,
        };
        if let Some(refs) = refs.filter(|r: &Vec<String>| !r.is_empty() && r.iter().all(|s| !s.trim().is_empty())) {
            return refs;
        }
    }
    cx.diags.push(
        Diagnostic::new(
            Code::AnnotationValue,
            cx.file,
            a.value.span,
            "`@see` takes a non-empty string or a non-empty list of non-empty strings",
        )
        .label("not a source")
        .help("write `@see(\"https://…\")` or `@see([\"https://…\", \"https://…\"])`"),
    );
    Vec::new()
}

/// The value and type of a literal expression (parameters, annotations).
pub fn literal_value(e: &ast::Expr) -> Option<(Value, Type)> {
    Some(match &e.kind {
        AK::Lit(l) => lit(l),
        AK::Paren(inner) => literal_value(inner)?,
        AK::Unary(ast::UnOp::Neg, inner) => match literal_value(inner)? {
            (Value::Int(i), t) => (Value::Int(i.checked_neg()?), t),
            (Value::Dec(d), t) => (Value::Dec(-d), t),
            (Value::Duration(d), t) => (Value::Duration(d.checked_neg()?), t),
            _ => return None,
        },
        AK::List(items) => {
            let mut vals = Vec::new();
            let mut ty = Type::Any;
            for i in items {
                let (v, t) = literal_value(i)?;
                ty = if vals.is_empty() { t } else { expr::unify(&ty, &t).unwrap_or(Type::Any) };
                vals.push(v);
            }
            (Value::List(vals.into()), Type::List(Box::new(ty)))
        }
        _ => return None,
    })
}

pub fn lit(l: &Literal) -> (Value, Type) {
    match l {
        Literal::Int(i) => (Value::Int(*i), Type::Int),
        Literal::Dec(d) => (Value::Dec(*d), Type::Decimal),
        Literal::Str(s) => (Value::str(s), Type::String),
        Literal::Bool(b) => (Value::Bool(*b), Type::Bool),
        Literal::Null => (Value::Null, Type::Null),
        Literal::Duration(d) => (Value::Duration(*d), Type::Duration),
        Literal::Date(d) => (Value::Date(*d), Type::Date),
    }
}

/// Whether a literal of type `lit` may stand for a parameter of type `ty` (for `--set`).
pub fn literal_fits(lit: &Type, ty: &Type) -> bool {
    match (lit, ty) {
        (Type::List(a), Type::List(b)) => **a == Type::Any || literal_fits(a, b),
        (Type::Int, Type::Decimal) => true,
        (a, b) => a == b || (a.is_stringy() && b.is_stringy()),
    }
}
