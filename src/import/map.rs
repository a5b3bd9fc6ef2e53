//! Tables → one tenant snapshot (JSON in tenet's own format), by the adapter's mappings.
//!
//! Only what the export holds is written: a field whose column is absent or null stays
//! absent, and a collection whose table no file filled stays absent (an empty table gives
//! an empty list). A value a converter cannot read is kept as it is, with a note, so that
//! the rules reading it report an error rather than pass.

use super::adapter::{Adapter, Aggregate, Conv, KindMap, Source, Spec};
use super::origin::Records;
use super::read::{scalar_key, Row, Tables};
use crate::finding::Location;
use crate::model::{KindId, Model};
use crate::value::{format_datetime, format_duration, parse_date};
use serde_json::{Map, Value as J};

/// What one import did, for the report on standard error.
#[derive(Debug, Default)]
pub struct Filled {
    /// `(kind.field, sources)`: fields written, with the files they came from.
    pub fields: Vec<(String, Vec<String>)>,
    pub notes: Vec<String>,
    /// Where each entity was written (its export record or the overlay), for findings.
    pub origins: crate::snapshot::Origins,
}

struct Cx<'a> {
    tables: &'a Tables,
    dir: &'a str,
    tz: Option<jiff::tz::TimeZone>,
    notes: Vec<String>,
    /// Per table, key → rows of a `join` (built on first use).
    joins: std::collections::HashMap<(usize, String), std::collections::HashMap<String, Vec<usize>>>,
}

struct Entity {
    key: Option<String>,
    parent: Option<String>,
    obj: Map<String, J>,
    sequence: Vec<String>,
    /// Its record (the row it was made from).
    at: Location,
}

/// Builds the tenant. `dir` is the name of the tenant's export directory. Every entity
/// object is tagged with its record (`origin.rs`); `origin::collect` takes the tags out.
pub fn tenant(adapter: &Adapter, model: &Model, tables: &Tables, dir: &str) -> (J, Filled, Records) {
    let mut cx = Cx { tables, dir, tz: None, notes: Vec::new(), joins: Default::default() };
    let mut filled = Filled::default();
    if let Some(spec) = &adapter.time_zone {
        let name = cx.value(spec, None, None).and_then(|v| v.as_str().map(str::to_string));
        match name {
            Some(n) => match jiff::tz::TimeZone::get(&n) {
                Ok(tz) => cx.tz = Some(tz),
                Err(_) => cx.notes.push(format!("unknown time zone `{n}`: date-times are left out")),
            },
            None => cx.notes.push("no time zone in the export: local date-times are left out".into()),
        }
    }
    let sources_of = |km: &KindMap, spec: &Spec| -> Vec<String> {
        let mut t = Vec::new();
        collect_tables(spec, km.table, &mut t);
        let mut files: Vec<String> = Vec::new();
        for f in t.iter().flat_map(|&t| tables.files[t].iter()) {
            if !files.contains(f) {
                files.push(f.clone());
            }
        }
        if files.is_empty() && matches!(spec.source, Source::Const(_) | Source::Directory | Source::Sequence) {
            files.push(match spec.source {
                Source::Directory => "the directory name".into(),
                Source::Sequence => "numbering".into(),
                _ => "the adapter".into(),
            });
        }
        files
    };
    let mut root = Map::new();
    let mut records = Records::default();
    let mut entities: Vec<Vec<Entity>> = (0..model.kinds.len()).map(|_| Vec::new()).collect();
    let mut present = vec![false; model.kinds.len()];
    for km in &adapter.kinds {
        let kname = &model.kind(km.kind).name;
        if model.kind(km.kind).parent.is_none() {
            // The tenant's own record, if the adapter names its table.
            if let Some(first) = km.table.and_then(|t| tables.rows[t].as_ref()).and_then(|rows| rows.first()) {
                records.tenant = Some(first.at.clone());
            }
            for (field, spec) in &km.fields {
                if let Some(v) = cx.value(spec, None, None) {
                    set_path(&mut root, field, v);
                    filled.fields.push((format!("{kname}.{field}"), sources_of(km, spec)));
                }
            }
            continue;
        }
        let Some(t) = km.table else { continue };
        let Some(rows) = &tables.rows[t] else { continue };
        present[km.kind as usize] = true;
        let key_col = adapter.tables[t].key.as_deref();
        let mut got: Vec<usize> = vec![0; km.fields.len()];
        for record in rows {
            let row = &record.row;
            if !passes(row, &km.filter) {
                continue;
            }
            let key = key_col.and_then(|k| row.get(k)).and_then(scalar_key);
            let parent = km.parent_field.as_ref().and_then(|p| row.get(p)).and_then(scalar_key);
            // Room for every field, the collections of child kinds and the record's tag,
            // so that the map never grows (a full map doubles its room).
            let mut obj = Map::with_capacity(km.fields.len() + model.kind(km.kind).children.len() + 1);
            let mut sequence = Vec::new();
            for (i, (field, spec)) in km.fields.iter().enumerate() {
                if matches!(spec.source, Source::Sequence) {
                    sequence.push(field.clone());
                    got[i] += 1;
                    continue;
                }
                if let Some(v) = cx.value(spec, Some(row), key.as_deref()) {
                    set_path(&mut obj, field, v);
                    got[i] += 1;
                }
            }
            entities[km.kind as usize].push(Entity { key, parent, obj, sequence, at: record.at.clone() });
        }
        for (i, (field, spec)) in km.fields.iter().enumerate() {
            if got[i] > 0 {
                filled.fields.push((format!("{kname}.{field}"), sources_of(km, spec)));
            }
        }
    }
    // Assemble top-down: each entity gets the entities of its child kinds whose parent
    // column names it.
    for kid in (0..model.kinds.len()).rev() {
        let kind = model.kind(kid as KindId);
        let Some(parent) = kind.parent else { continue };
        if !present[kid] {
            continue;
        }
        let Some(coll) = kind.collection.clone() else { continue };
        let children = std::mem::take(&mut entities[kid]);
        if model.kind(parent).parent.is_none() {
            let items = children.into_iter().map(|e| J::Object(records.tag(e.obj, e.at))).collect();
            root.insert(coll, J::Array(items));
            continue;
        }
        let mut by_parent: std::collections::HashMap<String, Vec<Entity>> = Default::default();
        let mut orphans = 0;
        for c in children {
            match &c.parent {
                Some(p) if entities[parent as usize].iter().any(|e| e.key.as_deref() == Some(p)) => {
                    by_parent.entry(p.clone()).or_default().push(c)
                }
                _ => orphans += 1,
            }
        }
        if orphans > 0 {
            cx.notes.push(format!(
                "{orphans} {} row(s) name no {} of the export and are left out",
                kind.name,
                model.kind(parent).name
            ));
        }
        for e in &mut entities[parent as usize] {
            let list = e.key.as_ref().and_then(|k| by_parent.remove(k)).unwrap_or_default();
            let items: Vec<J> = list
                .into_iter()
                .enumerate()
                .map(|(n, mut c)| {
                    for f in &c.sequence {
                        let id = format!("{}#{}", e.key.as_deref().unwrap_or(""), n + 1);
                        set_path(&mut c.obj, f, J::String(id));
                    }
                    J::Object(records.tag(c.obj, c.at))
                })
                .collect();
            e.obj.insert(coll.clone(), J::Array(items));
        }
    }
    let out = ordered(model, 0, root);
    let mut notes = tables.notes.clone();
    notes.extend(cx.notes);
    filled.notes = notes;
    (J::Object(out), filled, records)
}

/// An entity's keys in the model's field order (collections last, as declared), so that
/// snapshots of two imports diff line by line.
pub fn ordered(model: &Model, kind: KindId, mut obj: Map<String, J>) -> Map<String, J> {
    let k = model.kind(kind);
    // Exactly as many entries as `obj`: a map grown by doubling holds up to twice the
    // memory, which for a million entities is hundreds of megabytes.
    let mut out = Map::with_capacity(obj.len());
    for f in &k.fields {
        let top = f.name.split('.').next().unwrap_or(&f.name);
        if let Some(v) = obj.shift_remove(top) {
            let v = match (v, k.children.iter().find(|c| model.kind(**c).collection.as_deref() == Some(top))) {
                (J::Array(items), Some(&c)) => J::Array(
                    items
                        .into_iter()
                        .map(|i| if let J::Object(o) = i { J::Object(ordered(model, c, o)) } else { i })
                        .collect(),
                ),
                (v, _) => v,
            };
            out.insert(top.to_string(), v);
        }
    }
    out.extend(obj);
    out
}

fn collect_tables(spec: &Spec, own: Option<usize>, out: &mut Vec<usize>) {
    match &spec.source {
        Source::Field(_) => out.extend(own),
        Source::TableField { table, .. } => out.push(*table),
        Source::Join { table, .. } => {
            out.extend(own);
            out.push(*table)
        }
        Source::All(parts) => parts.iter().for_each(|p| collect_tables(p, own, out)),
        _ => {}
    }
}

fn passes(row: &Row, filter: &[(String, Vec<String>)]) -> bool {
    filter.iter().all(|(col, vals)| match row.get(col).and_then(scalar_key) {
        Some(v) => vals.contains(&v),
        None => false,
    })
}

/// Sets a dotted field (`settings.session_expiry`) in nested objects.
pub fn set_path(obj: &mut Map<String, J>, path: &str, v: J) {
    match path.split_once('.') {
        Some((head, rest)) => {
            let slot = obj.entry(head.to_string()).or_insert_with(|| J::Object(Map::new()));
            if !slot.is_object() {
                *slot = J::Object(Map::new());
            }
            if let J::Object(inner) = slot {
                set_path(inner, rest, v);
            }
        }
        None => {
            obj.insert(path.to_string(), v);
        }
    }
}

fn get_path<'r>(row: &'r Row, path: &str) -> Option<&'r J> {
    if let Some(v) = row.get(path) {
        return Some(v);
    }
    let (head, rest) = path.split_once('.')?;
    match row.get(head)? {
        J::Object(o) => get_path(o, rest),
        _ => None,
    }
}

impl Cx<'_> {
    /// The value of one mapping for a row (`None`: absent).
    fn value(&mut self, spec: &Spec, row: Option<&Row>, key: Option<&str>) -> Option<J> {
        let raw = match &spec.source {
            Source::Field(col) => get_path(row?, col).cloned(),
            Source::Const(v) => Some(v.clone()),
            Source::TableField { table, field } => {
                let first = self.tables.rows[*table].as_ref()?.first()?;
                get_path(&first.row, field).cloned()
            }
            Source::Directory => Some(J::String(self.dir.to_string())),
            Source::Sequence => None,
            Source::All(parts) => {
                let mut unknown = false;
                for p in parts {
                    match self.value(p, row, key) {
                        Some(J::Bool(false)) => return Some(J::Bool(spec.negate)),
                        Some(J::Bool(true)) => {}
                        _ => unknown = true,
                    }
                }
                return if unknown { None } else { Some(J::Bool(!spec.negate)) };
            }
            Source::Join { table, on, value, aggregate, filter } => {
                let key = key?;
                let hits = self.join_index(*table, on).get(key).cloned().unwrap_or_default();
                let tables = self.tables;
                let rows = tables.rows[*table].as_ref()?;
                let mut vals = Vec::new();
                for i in hits {
                    let r = &rows[i].row;
                    if !passes(r, filter) {
                        continue;
                    }
                    if let Some(v) = get_path(r, value).filter(|v| !v.is_null()) {
                        if let Some(v) = self.scalar(spec, v.clone()) {
                            vals.push(v);
                        }
                    }
                }
                return aggregate_of(*aggregate, vals);
            }
        };
        let raw = raw.filter(|v| !v.is_null())?;
        let raw = match &spec.each {
            Some(col) => match raw {
                J::Array(items) => J::Array(
                    items
                        .iter()
                        .filter_map(|i| match i {
                            J::Object(o) => get_path(o, col).filter(|v| !v.is_null()).cloned(),
                            other => Some(other.clone()),
                        })
                        .collect(),
                ),
                other => other,
            },
            None => raw,
        };
        match raw {
            J::Array(items) if spec.convert != Some(Conv::Split) => {
                Some(J::Array(items.into_iter().filter_map(|v| self.scalar(spec, v)).collect()))
            }
            v => self.scalar(spec, v),
        }
    }

    fn join_index(&mut self, table: usize, on: &str) -> &std::collections::HashMap<String, Vec<usize>> {
        let tables = self.tables;
        self.joins.entry((table, on.to_string())).or_insert_with(|| {
            let mut idx: std::collections::HashMap<String, Vec<usize>> = Default::default();
            for (i, r) in tables.rows[table].iter().flatten().enumerate() {
                if let Some(k) = r.row.get(on).and_then(scalar_key) {
                    idx.entry(k).or_default().push(i);
                }
            }
            idx
        })
    }

    /// Map, convert, negate one value.
    fn scalar(&mut self, spec: &Spec, v: J) -> Option<J> {
        let v = match scalar_key(&v).and_then(|t| spec.map.iter().find(|(k, _)| *k == t)) {
            Some((_, mapped)) => mapped.clone(),
            None => {
                if !spec.map.is_empty() {
                    if let Some(t) = scalar_key(&v) {
                        let note = format!("value `{t}` is not in the adapter's map: kept as it is");
                        if !self.notes.contains(&note) {
                            self.notes.push(note);
                        }
                    }
                }
                v
            }
        };
        let out = match spec.convert {
            None => Ok(v),
            Some(c) => self.convert(c, spec, &v).ok_or(v),
        };
        let out = match out {
            // A local date-time without a time zone: absent (the time zone note says why).
            Ok(J::Null) => return None,
            Ok(v) => v,
            Err(v) => {
                let note =
                    format!("`{}` cannot be read by converter `{}`: kept as it is", short(&v), conv_name(spec.convert));
                if !self.notes.contains(&note) {
                    self.notes.push(note);
                }
                v
            }
        };
        Some(match (out, spec.negate) {
            (J::Bool(b), true) => J::Bool(!b),
            (v, _) => v,
        })
    }

    fn convert(&mut self, c: Conv, spec: &Spec, v: &J) -> Option<J> {
        let text = scalar_key(v);
        Some(match c {
            Conv::Bool01 => J::Bool(match v {
                J::Bool(b) => *b,
                J::Number(n) if n.as_i64() == Some(0) => false,
                J::Number(n) if n.as_i64() == Some(1) => true,
                J::String(s) if s == "0" => false,
                J::String(s) if s == "1" => true,
                _ => return None,
            }),
            Conv::BoolTf => J::Bool(match v {
                J::Bool(b) => *b,
                J::String(s) if s == "T" => true,
                J::String(s) if s == "F" => false,
                _ => return None,
            }),
            Conv::Int => match v {
                J::Number(n) => {
                    J::from(n.as_i64().or_else(|| n.as_f64().filter(|f| f.fract() == 0.0).map(|f| f as i64))?)
                }
                J::String(s) => J::from(s.trim().parse::<i64>().ok()?),
                _ => return None,
            },
            Conv::String => J::String(text?),
            Conv::Major => {
                let t = text?;
                let t = t.trim().trim_start_matches(['v', 'V']);
                let digits: String = t.chars().take_while(char::is_ascii_digit).collect();
                J::from(digits.parse::<i64>().ok()?)
            }
            Conv::Hhmm => {
                let t = text?;
                let mut parts = t.trim().split(':');
                let h: i64 = parts.next()?.trim().parse().ok()?;
                let m: i64 = parts.next().map_or(Some(0), |m| m.trim().parse().ok())?;
                let s: i64 = parts.next().map_or(Some(0), |s| s.trim().parse().ok())?;
                if parts.next().is_some() || h < 0 || !(0..60).contains(&m) || !(0..60).contains(&s) {
                    return None;
                }
                let secs = h.checked_mul(3600)?.checked_add(m * 60 + s)?;
                J::String(format_duration(secs.checked_mul(1_000_000)?))
            }
            Conv::Split => {
                let t = text?;
                let parts: Vec<J> = match &spec.sep {
                    Some(sep) => t.split(sep.as_str()).map(str::trim).filter(|s| !s.is_empty()).map(J::from).collect(),
                    None => t
                        .split(|c: char| c.is_whitespace() || c == ',')
                        .filter(|s| !s.is_empty())
                        .map(J::from)
                        .collect(),
                };
                J::Array(parts)
            }
            Conv::Datetime => match self.datetime(&text?) {
                Ok(d) => J::String(d?),
                Err(()) => J::Null,
            },
        })
    }

    /// A local date-time in the adapter's time zone, or an RFC 3339 one, → RFC 3339 UTC.
    /// `Err(())`: a local date-time and no time zone (the instant is unknown).
    fn datetime(&mut self, t: &str) -> Result<Option<String>, ()> {
        let t = t.trim().replacen(' ', "T", 1);
        if let Ok(ts) = t.parse::<jiff::Timestamp>() {
            return Ok(Some(format_datetime(ts.as_microsecond())));
        }
        let civil: jiff::civil::DateTime = match t.len() {
            10 => match t.parse::<jiff::civil::Date>() {
                Ok(d) => d.to_datetime(jiff::civil::Time::midnight()),
                Err(_) => return Ok(None),
            },
            _ => match t.parse() {
                Ok(c) => c,
                Err(_) => return Ok(None),
            },
        };
        let tz = self.tz.as_ref().ok_or(())?;
        Ok(tz.to_timestamp(civil).ok().map(|ts| format_datetime(ts.as_microsecond())))
    }
}

fn aggregate_of(a: Aggregate, mut vals: Vec<J>) -> Option<J> {
    match a {
        Aggregate::List => Some(J::Array(vals)),
        Aggregate::Count => Some(J::from(vals.len())),
        Aggregate::First => vals.into_iter().next(),
        Aggregate::Max | Aggregate::Min => {
            let key = |v: &J| -> (i64, f64, String) {
                let s = scalar_key(v).unwrap_or_default();
                (parse_date(&s).unwrap_or(i64::MIN), v.as_f64().unwrap_or(f64::MIN), s)
            };
            vals.sort_by(|a, b| {
                let (x, y) = (key(a), key(b));
                x.0.cmp(&y.0).then(x.1.total_cmp(&y.1)).then(x.2.cmp(&y.2))
            });
            if a == Aggregate::Max {
                vals.pop()
            } else {
                vals.into_iter().next()
            }
        }
    }
}

fn short(v: &J) -> String {
    let s = scalar_key(v).unwrap_or_else(|| v.to_string());
    if s.chars().count() > 40 {
        format!("{}…", s.chars().take(40).collect::<String>())
    } else {
        s
    }
}

fn conv_name(c: Option<Conv>) -> &'static str {
    match c {
        Some(Conv::Bool01) => "bool01",
        Some(Conv::BoolTf) => "bool_tf",
        Some(Conv::Int) => "int",
        Some(Conv::String) => "string",
        Some(Conv::Hhmm) => "hhmm",
        Some(Conv::Datetime) => "datetime",
        Some(Conv::Major) => "major",
        Some(Conv::Split) => "split",
        None => "none",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::import::adapter::{Adapter, Reader};

    fn cx<'a>(tables: &'a Tables, tz: Option<&str>) -> Cx<'a> {
        Cx {
            tables,
            dir: "d",
            tz: tz.map(|n| jiff::tz::TimeZone::get(n).unwrap_or(jiff::tz::TimeZone::UTC)),
            notes: Vec::new(),
            joins: Default::default(),
        }
    }

    fn spec(c: Conv) -> Spec {
        Spec { source: Source::Sequence, each: None, map: Vec::new(), convert: Some(c), sep: None, negate: false }
    }

    #[test]
    fn converters() {
        let a = Adapter {
            name: "t".into(),
            reader: Reader::Frappe,
            tables: Vec::new(),
            time_zone: None,
            kinds: Vec::new(),
        };
        let t = Tables::new(&a);
        let mut c = cx(&t, Some("Asia/Kolkata"));
        let mut conv = |k: Conv, v: J| c.scalar(&spec(k), v);
        assert_eq!(conv(Conv::Hhmm, J::from("170:00")), Some(J::from("170h")));
        assert_eq!(conv(Conv::Hhmm, J::from("06:30")), Some(J::from("390m")));
        assert_eq!(conv(Conv::Hhmm, J::from("720:00")), Some(J::from("30d")));
        // Unreadable: kept as it is (the rule reading it errors), never a guess.
        assert_eq!(conv(Conv::Hhmm, J::from("6 hours")), Some(J::from("6 hours")));
        assert_eq!(conv(Conv::Bool01, J::from(1)), Some(J::Bool(true)));
        assert_eq!(conv(Conv::Bool01, J::from("0")), Some(J::Bool(false)));
        assert_eq!(conv(Conv::Bool01, J::from(2)), Some(J::from(2)));
        assert_eq!(conv(Conv::BoolTf, J::from("T")), Some(J::Bool(true)));
        assert_eq!(conv(Conv::Major, J::from("v15.41.2")), Some(J::from(15)));
        assert_eq!(conv(Conv::Major, J::from("2026.1")), Some(J::from(2026)));
        assert_eq!(conv(Conv::Int, J::from("3")), Some(J::from(3)));
        assert_eq!(conv(Conv::String, J::from(1001)), Some(J::from("1001")));
        assert_eq!(
            conv(Conv::Split, J::from("https://a/cb  https://b/cb,https://c")),
            Some(serde_json::json!(["https://a/cb", "https://b/cb", "https://c"]))
        );
        // Local time in Kolkata (+05:30) → UTC; an offset given is respected.
        assert_eq!(
            conv(Conv::Datetime, J::from("2026-12-01 09:14:03.512001")),
            Some(J::from("2026-12-01T03:44:03.512001Z"))
        );
        assert_eq!(conv(Conv::Datetime, J::from("2026-12-01T09:14:03+01:00")), Some(J::from("2026-12-01T08:14:03Z")));
        let mut c = cx(&t, None);
        // Without a time zone a local date-time stays absent.
        assert_eq!(c.scalar(&spec(Conv::Datetime), J::from("2026-12-01 09:14:03")), None);
        assert_eq!(
            c.scalar(&spec(Conv::Datetime), J::from("2026-12-01T09:14:03Z")),
            Some(J::from("2026-12-01T09:14:03Z"))
        );
    }

    #[test]
    fn aggregates() {
        let v = vec![J::from("2026-12-03T09:10:44Z"), J::from("2026-12-05T08:02:11Z"), J::from("2026-11-01T00:00:00Z")];
        assert_eq!(aggregate_of(Aggregate::Max, v.clone()), Some(J::from("2026-12-05T08:02:11Z")));
        assert_eq!(aggregate_of(Aggregate::Min, v.clone()), Some(J::from("2026-11-01T00:00:00Z")));
        assert_eq!(aggregate_of(Aggregate::Count, v), Some(J::from(3)));
        assert_eq!(aggregate_of(Aggregate::Max, Vec::new()), None);
    }
}
