//! Where the entities of an imported tenant come from, so that its findings point into the
//! export files rather than into the snapshot built from them.
//!
//! `read.rs` keeps with every row the place of its record (file, line, column). While
//! `map.rs` builds the snapshot, every entity object made from a row carries a tag: a
//! hidden member holding the number of its record (its primary row: the one the entity is
//! keyed from, whatever joins and aggregates add). The tag travels with the object through
//! the overlay's merge and the ordering of keys, so it stays right whatever the overlay
//! appends, replaces or removes. [`collect`] then walks the finished snapshot as the decoder
//! will see it, takes the tags out, and records each entity's subject path (`users[3]`)
//! with its record. An entity without a tag came from the overlay: it points at its place
//! in the overlay file.

use super::overlay::Overlay;
use crate::finding::Location;
use crate::model::{KindId, Model};
use crate::snapshot::{Counter, Origins, Position};
use crate::yaml::{YNode, YValue};
use serde_json::{Map, Value as J};
use std::sync::Arc;

/// The member that tags an entity object with its record while the snapshot is built. No
/// model field has this name (it starts with a NUL), and [`collect`] removes every one.
const TAG: &str = "\u{0}record";

/// The records entities were built from, by tag, and the tenant's own record.
#[derive(Debug, Default)]
pub struct Records {
    pub at: Vec<Location>,
    /// Where tenant-level findings point: the record of the tenant kind's `table`, or the
    /// export directory.
    pub tenant: Option<Location>,
}

impl Records {
    /// `obj`, an entity built from the record at `at`, tagged. `map.rs` makes entity maps
    /// with room for the tag: inserting into a full map would double its room, which for a
    /// million entities is a gigabyte.
    pub fn tag(&mut self, mut obj: Map<String, J>, at: Location) -> Map<String, J> {
        obj.insert(TAG.to_string(), J::from(self.at.len()));
        self.at.push(at);
        obj
    }
}

/// Whether `built`, a value of the snapshot being built (whose entities carry tags), is
/// `given` (an overlay's value): the tags do not count.
pub fn same(built: &J, given: &J) -> bool {
    match (built, given) {
        (J::Object(a), J::Object(b)) => {
            a.len() - usize::from(a.contains_key(TAG)) == b.len()
                && b.iter().all(|(k, v)| a.get(k).is_some_and(|x| same(x, v)))
        }
        (J::Array(a), J::Array(b)) => a.len() == b.len() && a.iter().zip(b).all(|(x, y)| same(x, y)),
        _ => built == given,
    }
}

/// Takes the tags out of `snap` (the snapshot with the overlay merged) and gives where each
/// entity is written: its record, or its place in the overlay (given with the tenant id
/// that chose its values, see [`Overlay::for_tenant`]).
pub fn collect(model: &Model, snap: &mut J, records: Records, overlay: Option<(&Overlay, Option<&str>)>) -> Origins {
    let mut origins = Origins { tenant: records.tenant.clone(), entities: Default::default() };
    let J::Object(root) = snap else { return origins };
    let ov = overlay.map(|(ov, id)| (ov, ov.node_for(id)));
    let cx = Cx { model, records: &records.at, overlay: ov.map(|(o, _)| o) };
    cx.walk(Model::ROOT, root, "", ov.and_then(|(_, n)| n), &mut origins);
    origins
}

struct Cx<'a> {
    model: &'a Model,
    records: &'a [Location],
    overlay: Option<&'a Overlay>,
}

impl Cx<'_> {
    /// The entities below `obj` (of `kind`, at `path`); `ov`: the overlay's node for `obj`.
    fn walk(&self, kind: KindId, obj: &mut Map<String, J>, path: &str, ov: Option<&YNode>, out: &mut Origins) {
        for &child in &self.model.kind(kind).children {
            let Some(coll) = self.model.kind(child).collection.as_deref() else { continue };
            let Some(J::Array(items)) = obj.get_mut(coll) else { continue };
            let ov_items = match ov.and_then(|n| n.get(coll)).map(|n| &n.value) {
                Some(YValue::Seq(items)) => Some(items.as_slice()),
                _ => None,
            };
            for (i, item) in items.iter_mut().enumerate() {
                let J::Object(o) = item else { continue };
                let p = if path.is_empty() { format!("{coll}[{i}]") } else { format!("{path}.{coll}[{i}]") };
                let tag = o.shift_remove(TAG);
                // The overlay's item for this entity: the one with its `id` (a keyed merge), or,
                // for an entity the overlay gave, the one at its place (a list replaced whole).
                let ov_item = ov_items.and_then(|items| {
                    let id = o.get("id").and_then(id_text);
                    match id {
                        Some(id) => items.iter().find(|n| n.get("id").and_then(ynode_text).as_deref() == Some(&id)),
                        None if tag.is_none() => items.get(i),
                        None => None,
                    }
                });
                let at = match tag.and_then(|t| t.as_u64()) {
                    Some(n) => self.records.get(n as usize).cloned(),
                    None => self.overlay.map(|ov| ov.location(ov_item)),
                };
                self.walk(child, o, &p, ov_item, out);
                if let Some(at) = at {
                    out.entities.insert(p, at);
                }
            }
        }
    }
}

fn id_text(v: &J) -> Option<String> {
    match v {
        J::String(s) => Some(s.clone()),
        J::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn ynode_text(n: &YNode) -> Option<String> {
    match &n.value {
        YValue::Str(s) => Some(s.clone()),
        YValue::Int(i) => Some(i.to_string()),
        YValue::Float(f) => Some(f.to_string()),
        _ => None,
    }
}

/// Byte offsets in a text → 1-based lines and columns (in characters), counted as the
/// offsets come, with the snapshot's counter ([`Counter`]): in one pass over the text when
/// they come in increasing order (the records of a file do).
pub struct Lines<'t> {
    text: &'t [u8],
    counter: Counter,
}

impl<'t> Lines<'t> {
    const START: Position = Position { line: 1, column: 1 };

    pub fn new(text: &'t str) -> Self {
        Lines { text: text.as_bytes(), counter: Counter::new(0, Self::START) }
    }

    /// The place of byte `offset` in `file`.
    pub fn location(&mut self, file: &Arc<str>, offset: usize) -> Location {
        let offset = offset.min(self.text.len());
        if (offset as u64) < self.counter.at {
            self.counter = Counter::new(0, Self::START);
        }
        let from = self.counter.at as usize;
        let p = self.counter.position_at(self.text.get(from..).unwrap_or_default(), offset - from);
        Location::new(file.clone(), p.line, p.column)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn at(line: u64) -> Location {
        Location::new(Arc::from("User.json"), line, 1)
    }

    #[test]
    fn collect_takes_every_tag_out_and_places_the_entities() {
        let mut records = Records::default();
        let mut user = Map::new();
        user.insert("id".into(), json!("u"));
        let session = records.tag(Map::new(), at(9));
        user.insert("sessions".into(), json!([session, "not an entity"]));
        let user = records.tag(user, at(3));
        records.tenant = Some(at(1));
        let tagged = json!({"id": "t", "users": [user]});
        assert!(same(&tagged, &json!({"id": "t", "users": [{"id": "u", "sessions": [{}, "not an entity"]}]})));
        assert!(!same(&tagged, &json!({"id": "t", "users": [{"id": "v", "sessions": [{}, "not an entity"]}]})));
        let mut snap = tagged;
        let origins = collect(&Model::erp(), &mut snap, records, None);
        assert!(!snap.to_string().contains("\\u0000"), "{snap}");
        assert_eq!(snap, json!({"id": "t", "users": [{"id": "u", "sessions": [{}, "not an entity"]}]}));
        let line = |p: &str| origins.of(p).map(|l| l.line);
        assert_eq!(line("users[0]"), Some(3));
        assert_eq!(line("users[0].sessions[0]"), Some(9));
        // An element that is no entity: the entity above it; the tenant: its record.
        assert_eq!(line("users[0].sessions[1]"), Some(3));
        assert_eq!(line(""), Some(1));
    }

    #[test]
    fn lines_and_columns_count_characters() {
        let text = "{\"a\": [\n  {\"é\": 1}, {\"b\": 2}\n]}";
        let file: Arc<str> = Arc::from("f.json");
        let mut lines = Lines::new(text);
        let at = |l: &mut Lines, needle: &str| {
            let loc = l.location(&file, text.find(needle).unwrap_or(0));
            (loc.line, loc.column)
        };
        assert_eq!(at(&mut lines, "{\"é"), (2, 3));
        assert_eq!(at(&mut lines, "{\"b"), (2, 13));
        // Backwards: counted again from the start.
        assert_eq!(at(&mut lines, "[\n"), (1, 7));
    }
}
