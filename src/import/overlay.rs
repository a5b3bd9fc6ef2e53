//! `--overlay FILE`: values the export does not hold (plan seats, account features,
//! integration authentication, certificates, review dates), in tenet's own snapshot
//! format, merged over imported tenants.
//!
//! The file (YAML or JSON) is either one partial tenant, applied to every imported tenant,
//! or `{tenants: {ID: partial tenant, …}}`, each applied to the tenant with that `id`.
//! Merge rule: objects merge key by key; a list whose items are all objects with an `id`
//! merges item by item by `id` (a new `id` is appended); any other value replaces the
//! imported one; `null` removes the field.

use crate::finding::Location;
use crate::source::SourceFile;
use crate::yaml::YNode;
use serde_json::{Map, Value as J};
use std::path::Path;
use std::sync::OnceLock;

pub struct Overlay {
    pub shown: String,
    pub all: Option<Map<String, J>>,
    pub by_id: Vec<(String, Map<String, J>)>,
    /// The file's text, for the places of the entities it gives (`location`).
    file: SourceFile,
    /// The file as a spanned tree, parsed when an entity is first placed (`None`: the YAML
    /// reader of spanned trees refused it; its entities point at the file's start).
    tree: OnceLock<Option<YNode>>,
}

/// Reads an overlay file.
pub fn load(path: &Path, shown: &str) -> Result<Overlay, String> {
    let bytes = crate::fsio::read_file(path, shown, crate::fsio::MAX_SOURCE_BYTES)?;
    let text = String::from_utf8(bytes).map_err(|_| format!("overlay `{shown}` is not UTF-8 text"))?;
    let file = SourceFile::new(shown, text);
    let text: &str = &file.text;
    let is_json = path.extension().is_some_and(|e| e.eq_ignore_ascii_case("json"));
    let value: J = if is_json {
        serde_json::from_str(text).map_err(|e| format!("overlay `{shown}` is not valid JSON: {e}"))?
    } else {
        serde_saphyr::from_str_with_options(text, crate::yaml::options())
            .map_err(|e| format!("overlay `{shown}` is not valid YAML: {}", e.without_snippet()))?
    };
    let J::Object(mut top) = value else {
        return Err(format!("overlay `{shown}` is a partial tenant snapshot (a mapping), not {}", kind_of(&value)));
    };
    let mut by_id = Vec::new();
    let all = match top.remove("tenants") {
        Some(J::Object(tenants)) => {
            if !top.is_empty() {
                let keys: Vec<&str> = top.keys().map(String::as_str).collect();
                return Err(format!(
                    "overlay `{shown}` has `tenants` (values by tenant id) and other keys ({}): put them under a tenant id",
                    keys.join(", ")
                ));
            }
            for (id, v) in tenants {
                match v {
                    J::Object(o) => by_id.push((id, o)),
                    other => {
                        return Err(format!("overlay `{shown}`: `tenants.{id}` is a mapping, not {}", kind_of(&other)))
                    }
                }
            }
            None
        }
        Some(other) => {
            return Err(format!("overlay `{shown}`: `tenants` maps tenant ids to values, not {}", kind_of(&other)))
        }
        None => Some(top),
    };
    Ok(Overlay { shown: shown.to_string(), all, by_id, file, tree: OnceLock::new() })
}

impl Overlay {
    /// The overlay values for the tenant with this id, if any.
    pub fn for_tenant(&self, id: Option<&str>) -> Option<&Map<String, J>> {
        match &self.all {
            Some(all) => Some(all),
            None => self.by_id.iter().find(|(k, _)| Some(k.as_str()) == id).map(|(_, v)| v),
        }
    }

    /// The node of the file that holds the values for the tenant with this id (see
    /// [`Overlay::for_tenant`]).
    pub fn node_for(&self, id: Option<&str>) -> Option<&YNode> {
        let root = self.tree.get_or_init(|| crate::yaml::parse(&self.file, crate::diagnostic::Code::Adapter).ok());
        let root = root.as_ref()?;
        match &self.all {
            Some(_) => Some(root),
            None => root.get("tenants")?.get(id?),
        }
    }

    /// Where `node` (a node of [`Overlay::node_for`]) is written; the file's start when it
    /// is not known.
    pub fn location(&self, node: Option<&YNode>) -> Location {
        let offset = node.map_or(0, |n| n.span.start as usize);
        super::origin::Lines::new(&self.file.text).location(&self.file.name, offset)
    }

    /// Tenant ids of a keyed overlay that are not among `ids`.
    pub fn unused<'a>(&'a self, ids: &[String]) -> Vec<&'a str> {
        self.by_id.iter().map(|(k, _)| k.as_str()).filter(|k| !ids.iter().any(|i| i == k)).collect()
    }
}

/// Merges `over` into `base` (see the module documentation). Returns the dotted paths of
/// the fields set (for the import report).
pub fn merge(base: &mut Map<String, J>, over: &Map<String, J>, prefix: &str, set: &mut Vec<String>) {
    for (k, v) in over {
        let path = if prefix.is_empty() { k.clone() } else { format!("{prefix}.{k}") };
        if v.is_null() {
            base.remove(k);
            continue;
        }
        if base.get(k).is_some_and(|b| super::origin::same(b, v)) {
            continue;
        }
        match (base.get_mut(k), v) {
            (Some(J::Object(b)), J::Object(o)) => merge(b, o, &path, set),
            (Some(J::Array(b)), J::Array(o)) if keyed(b) && keyed(o) => {
                for item in o {
                    let J::Object(oi) = item else { continue };
                    let id = oi.get("id");
                    match b.iter_mut().find(|x| x.get("id").map(id_text) == id.map(id_text)) {
                        Some(J::Object(bi)) => merge(bi, oi, &path, set),
                        _ => {
                            b.push(item.clone());
                            set.push(path.clone());
                        }
                    }
                }
            }
            _ => {
                base.insert(k.clone(), v.clone());
                if !v.is_object() {
                    set.push(path);
                } else if let J::Object(o) = v {
                    leaf_paths(o, &path, set);
                }
            }
        }
    }
}

fn leaf_paths(o: &Map<String, J>, prefix: &str, set: &mut Vec<String>) {
    for (k, v) in o {
        let p = format!("{prefix}.{k}");
        match v {
            J::Object(inner) => leaf_paths(inner, &p, set),
            _ => set.push(p),
        }
    }
}

fn keyed(items: &[J]) -> bool {
    items.iter().all(|i| i.get("id").is_some_and(|v| v.is_string() || v.is_number()))
}

fn id_text(v: &J) -> String {
    match v {
        J::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn kind_of(v: &J) -> &'static str {
    super::read::type_name(v, "a mapping")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn obj(v: J) -> Map<String, J> {
        match v {
            J::Object(o) => o,
            _ => Map::new(),
        }
    }

    #[test]
    fn merges_objects_and_keyed_lists() {
        let mut base = obj(json!({
            "id": "t", "settings": {"session_expiry": "170h"},
            "roles": [{"id": "a", "name": "A"}, {"id": "b", "name": "B"}],
            "users": [{"id": "u", "roles": ["a"]}]
        }));
        let over = obj(json!({
            "plan": {"seats": 10}, "settings": {"multiple_sessions": true},
            "roles": [{"id": "b", "2fa": true}, {"id": "c", "name": "C"}],
            "users": [{"id": "u", "roles": ["b"], "email": null}]
        }));
        let mut set = Vec::new();
        merge(&mut base, &over, "", &mut set);
        assert_eq!(
            J::Object(base),
            json!({
                "id": "t", "settings": {"session_expiry": "170h", "multiple_sessions": true},
                "roles": [{"id": "a", "name": "A"}, {"id": "b", "name": "B", "2fa": true}, {"id": "c", "name": "C"}],
                "users": [{"id": "u", "roles": ["b"]}],
                "plan": {"seats": 10}
            })
        );
        assert_eq!(set, vec!["plan.seats", "settings.multiple_sessions", "roles.2fa", "roles", "users.roles"]);
    }

    #[test]
    fn null_removes_and_unkeyed_lists_replace() {
        let mut base = obj(json!({"a": [1, 2], "b": {"c": 1}}));
        merge(&mut base, &obj(json!({"a": [3], "b": null})), "", &mut Vec::new());
        assert_eq!(J::Object(base), json!({"a": [3]}));
    }
}
