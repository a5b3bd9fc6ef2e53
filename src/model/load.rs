//! Model files (YAML) → [`Model`], with diagnostics that point into the file.

use super::{Field, Kind, KindId, Model, Type, MAX_KINDS};
use crate::diagnostic::{did_you_mean, Code, Diagnostic};
use crate::source::SourceFile;
use crate::value::{parse_date, parse_duration_data, Value};
use crate::yaml::{self, YNode, YValue};
use std::sync::Arc;

/// The text of the built-in `erp` model.
pub const BUILTIN_ERP: &str = include_str!("erp.yaml");

/// Loads a model file. Every problem in it is reported.
pub fn load(file: &SourceFile) -> Result<Model, Vec<Diagnostic>> {
    let root = yaml::parse(file, Code::Model)?;
    let mut diags = Vec::new();
    let model = build(file, &root, &mut diags);
    match model {
        Some(m) if diags.is_empty() => Ok(m),
        _ => Err(diags),
    }
}

// The valid keys come from the types that describe model files (`schema::files`), the same
// ones their JSON Schema is generated from.
use crate::schema::files::{FieldFull, KindSpec, ModelFile};

fn unknown_keys(file: &SourceFile, node: &YNode, valid: &[&str], what: &str, diags: &mut Vec<Diagnostic>) {
    yaml::unknown_keys(file, Code::Model, node.as_map().unwrap_or(&[]), valid, what, diags);
}

fn build(file: &SourceFile, root: &YNode, diags: &mut Vec<Diagnostic>) -> Option<Model> {
    if root.as_map().is_none() {
        diags.push(Diagnostic::new(Code::Model, file, root.span, "a model file is a mapping with `model` and `kinds`"));
        return None;
    }
    unknown_keys(file, root, crate::keys!(ModelFile), "a model", diags);
    let name = root.get("model").and_then(YNode::as_str).unwrap_or("custom").to_string();
    let Some(kinds_node) = root.get("kinds").and_then(|k| k.as_map()) else {
        diags.push(
            Diagnostic::new(Code::Model, file, root.span, "missing `kinds` mapping")
                .help("add `kinds:` with one entry per entity kind"),
        );
        return None;
    };
    if kinds_node.len() > MAX_KINDS {
        diags.push(Diagnostic::new(Code::Model, file, root.span, format!("a model has at most {MAX_KINDS} kinds")));
        return None;
    }
    let kind_names: Vec<&str> = kinds_node.iter().map(|(k, _)| k.name.as_str()).collect();
    // The root is the kind without a parent; it must be unique and becomes kind 0.
    let roots: Vec<usize> =
        kinds_node.iter().enumerate().filter(|(_, (_, v))| v.get("parent").is_none()).map(|(i, _)| i).collect();
    if roots.len() != 1 {
        let span = roots.get(1).map_or(root.span, |i| kinds_node[*i].0.span);
        diags.push(
            Diagnostic::new(
                Code::Model,
                file,
                span,
                format!("a model needs exactly one root kind (without `parent`), found {}", roots.len()),
            )
            .help("give every kind but the tenant a `parent`"),
        );
        return None;
    }
    let mut order: Vec<usize> = vec![roots[0]];
    order.extend((0..kinds_node.len()).filter(|i| *i != roots[0]));
    let id_of = |name: &str| -> Option<KindId> {
        let pos = kind_names.iter().position(|n| *n == name)?;
        order.iter().position(|i| *i == pos).map(|i| i as KindId)
    };
    let mut kinds: Vec<Kind> = Vec::new();
    for &i in &order {
        let (kname, knode) = &kinds_node[i];
        unknown_keys(file, knode, crate::keys!(KindSpec), "a kind", diags);
        let mut fields = Vec::new();
        if let Some(fnode) = knode.get("fields").and_then(YNode::as_map) {
            // A field given twice is a duplicate key, reported by `yaml::parse`.
            for (fkey, fval) in fnode {
                let (ty_node, default_node) = match &fval.value {
                    YValue::Str(_) => (Some(fval), None),
                    YValue::Map(_) => {
                        unknown_keys(file, fval, crate::keys!(FieldFull), "a field", diags);
                        (fval.get("type"), fval.get("default"))
                    }
                    _ => (None, None),
                };
                let Some(ty_node) = ty_node.filter(|n| n.as_str().is_some()) else {
                    diags.push(
                        Diagnostic::new(Code::Model, file, fval.span, format!("field `{}` needs a type", fkey.name))
                            .help("write `FIELD: TYPE` or `FIELD: {type: TYPE, default: VALUE}`"),
                    );
                    continue;
                };
                let ty_text = ty_node.as_str().unwrap_or("");
                let ty = match parse_type(ty_text, &|n| id_of(n)) {
                    Ok(t) => t,
                    Err(msg) => {
                        let help = match did_you_mean(ty_text.trim_start_matches("list<").trim_start_matches("ref<").trim_end_matches('>'), kind_names.iter().copied()) {
                            Some(s) => format!("did you mean `{s}`? types: string, int, decimal, bool, date, duration, any, list<T>, ref<KIND>, enum(a|b)"),
                            None => "types: string, int, decimal, bool, date, duration, any, list<T>, ref<KIND>, enum(a|b)".into(),
                        };
                        diags.push(Diagnostic::new(Code::Model, file, ty_node.span, msg).label("this type").help(help));
                        continue;
                    }
                };
                let default = match default_node {
                    None => None,
                    Some(d) => match default_value(d, &ty) {
                        Some(v) => Some(v),
                        None => {
                            diags.push(
                                Diagnostic::new(
                                    Code::Model,
                                    file,
                                    d.span,
                                    format!("default does not fit the type `{ty_text}`"),
                                )
                                .label("this default"),
                            );
                            None
                        }
                    },
                };
                fields.push(Field { name: fkey.name.clone(), ty, default, doc: comment_above(&file.text, fkey.span) });
            }
        }
        let key = knode.get("key").and_then(YNode::as_str);
        let key_id = key.and_then(|k| fields.iter().position(|f| f.name == k)).map(|i| i as u16);
        if let (Some(k), None) = (key, key_id) {
            let span = knode.get("key").map_or(kname.span, |n| n.span);
            diags.push(Diagnostic::new(
                Code::Model,
                file,
                span,
                format!("key `{k}` is not a field of `{}`", kname.name),
            ));
        }
        kinds.push(Kind {
            name: kname.name.clone(),
            parent: None,
            collection: knode.get("collection").and_then(YNode::as_str).map(str::to_string),
            collection_field: None,
            key: key_id,
            fields,
            children: Vec::new(),
            depth: 0,
        });
    }
    // Parents and collections.
    for (pos, &i) in order.iter().enumerate() {
        let (kname, knode) = &kinds_node[i];
        let Some(pnode) = knode.get("parent") else { continue };
        let pname = pnode.as_str().unwrap_or("");
        let Some(pid) = id_of(pname) else {
            let help = did_you_mean(pname, kind_names.iter().copied()).map(|s| format!("did you mean `{s}`?"));
            diags.push(
                Diagnostic::new(Code::Model, file, pnode.span, format!("unknown parent kind `{pname}`")).help_opt(help),
            );
            continue;
        };
        kinds[pos].parent = Some(pid);
        let Some(coll) = kinds[pos].collection.clone() else {
            diags.push(
                Diagnostic::new(Code::Model, file, kname.span, format!("kind `{}` needs a `collection`", kname.name))
                    .help(format!("name the field of `{pname}` that holds the list")),
            );
            continue;
        };
        let fid = kinds[pid as usize].fields.iter().position(|f| f.name == coll);
        match fid {
            Some(f) if kinds[pid as usize].fields[f].ty == Type::List(Box::new(Type::Entity(pos as KindId))) => {
                kinds[pos].collection_field = Some(f as u16);
                kinds[pid as usize].children.push(pos as KindId);
            }
            _ => {
                let span = knode.get("collection").map_or(kname.span, |n| n.span);
                diags.push(
                    Diagnostic::new(
                        Code::Model,
                        file,
                        span,
                        format!("`{pname}` has no field `{coll}` of type `list<{}>`", kname.name),
                    )
                    .help(format!("declare `{coll}: list<{}>` in the fields of `{pname}`", kname.name)),
                );
            }
        }
    }
    // Depths (and cycles).
    for k in 0..kinds.len() {
        let mut d = 0;
        let mut cur = kinds[k].parent;
        while let Some(p) = cur {
            d += 1;
            if d > MAX_KINDS {
                diags.push(Diagnostic::new(
                    Code::Model,
                    file,
                    kinds_node[order[k]].0.span,
                    "parent chain forms a cycle",
                ));
                return None;
            }
            cur = kinds[p as usize].parent;
        }
        kinds[k].depth = d as u32;
    }
    // A `list<KIND>` field must be that kind's collection.
    for (pos, k) in kinds.iter().enumerate() {
        for f in &k.fields {
            if let Type::List(inner) = &f.ty {
                if let Type::Entity(c) = **inner {
                    let ck = &kinds[c as usize];
                    if ck.parent != Some(pos as KindId) || ck.collection.as_deref() != Some(&f.name) {
                        let span = kinds_node[order[pos]].0.span;
                        diags.push(
                            Diagnostic::new(
                                Code::Model,
                                file,
                                span,
                                format!(
                                    "field `{}.{}` holds `{}` entities, but `{}` names another parent or collection",
                                    k.name, f.name, ck.name, ck.name
                                ),
                            )
                            .help("use `list<ref<KIND>>` for references, or fix the kind's `parent`/`collection`"),
                        );
                    }
                }
            }
        }
    }
    Some(Model::new(name, kinds, Arc::from(&*file.text)))
}

/// Parses a model type: `string`, `list<ref<role>>`, `enum(a|b)` …
pub fn parse_type(s: &str, kind: &dyn Fn(&str) -> Option<KindId>) -> Result<Type, String> {
    let s = s.trim();
    Ok(match s {
        "string" => Type::String,
        "int" => Type::Int,
        "decimal" => Type::Decimal,
        "bool" => Type::Bool,
        "date" => Type::Date,
        "duration" => Type::Duration,
        "any" => Type::Any,
        _ => {
            if let Some(inner) = s.strip_prefix("list<").and_then(|r| r.strip_suffix('>')) {
                let inner = inner.trim();
                if let Some(k) = kind(inner) {
                    Type::List(Box::new(Type::Entity(k)))
                } else {
                    Type::List(Box::new(parse_type(inner, kind)?))
                }
            } else if let Some(inner) = s.strip_prefix("ref<").and_then(|r| r.strip_suffix('>')) {
                match kind(inner.trim()) {
                    Some(k) => Type::Ref(k),
                    None => return Err(format!("unknown kind `{}` in `{s}`", inner.trim())),
                }
            } else if let Some(inner) = s.strip_prefix("enum(").and_then(|r| r.strip_suffix(')')) {
                let vals: Vec<String> =
                    inner.split('|').map(|v| v.trim().to_string()).filter(|v| !v.is_empty()).collect();
                if vals.is_empty() {
                    return Err("an enum needs at least one value".into());
                }
                Type::Enum(vals.into())
            } else {
                return Err(format!("unknown type `{s}`"));
            }
        }
    })
}

fn default_value(node: &YNode, ty: &Type) -> Option<Value> {
    Some(match (&node.value, ty) {
        (YValue::Bool(b), Type::Bool) => Value::Bool(*b),
        (YValue::Int(i), Type::Int) => Value::Int(*i),
        (YValue::Int(i), Type::Decimal) => Value::Dec(*i as f64),
        (YValue::Float(f), Type::Decimal) => Value::Dec(*f),
        (YValue::Str(s), Type::String) => Value::str(s),
        (YValue::Str(s), Type::Enum(vals)) if vals.iter().any(|v| v == s) => Value::str(s),
        (YValue::Str(s), Type::Date) => Value::Date(parse_date(s)?),
        (YValue::Str(s), Type::Duration) => Value::Duration(parse_duration_data(s)?),
        (YValue::Seq(items), Type::List(inner)) => {
            let vals: Option<Vec<Value>> = items.iter().map(|i| default_value(i, inner)).collect();
            Value::List(vals?.into())
        }
        _ => return None,
    })
}

impl Model {
    /// The built-in `erp` model.
    pub fn erp() -> Model {
        let file = SourceFile::new("<builtin erp model>", BUILTIN_ERP);
        match load(&file) {
            Ok(m) => m,
            // INVARIANT: erp.yaml is tested to load (model::tests); an empty model is the
            // least harmful fallback if that ever regresses.
            Err(_) => Model::new("erp".into(), Vec::new(), Arc::from("")),
        }
    }
}

/// The `#` comment lines right above the line of `span` (a field's key), without their
/// `#`, joined by spaces; `None` when there are none.
fn comment_above(text: &str, span: crate::source::Span) -> Option<String> {
    let line_start = text.get(..span.start as usize)?.rfind('\n').map_or(0, |i| i + 1);
    let mut lines: Vec<&str> = Vec::new();
    for line in text.get(..line_start)?.lines().rev() {
        match line.trim_start().strip_prefix('#') {
            Some(c) => lines.push(c.trim()),
            None => break,
        }
    }
    lines.reverse();
    let doc = lines.join(" ");
    (!doc.trim().is_empty()).then_some(doc)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_erp_model_loads() {
        let file = SourceFile::new("erp.yaml", BUILTIN_ERP);
        let m = load(&file).unwrap_or_else(|d| panic!("{}", d[0].render_plain()));
        assert_eq!(m.kinds.len(), 6);
        assert_eq!(m.kind(0).name, "tenant");
        let session = m.kind_id("session").unwrap();
        let user = m.kind_id("user").unwrap();
        assert_eq!(m.kind(session).parent, Some(user));
        assert_eq!(m.kind(session).depth, 2);
        let f = m.field_id(m.kind_id("role").unwrap(), "2fa").unwrap();
        assert_eq!(m.field(m.kind_id("role").unwrap(), f).default, Some(Value::Bool(false)));
    }
}
