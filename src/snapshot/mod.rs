//! Tenant snapshots: input files → [`Document`]s → decoded [`Tenant`]s.
//!
//! Reading is split in two so that bulk inputs decode in parallel:
//! - [`documents`] walks the inputs in order (files as given, directories sorted by path,
//!   JSONL lines, YAML documents, stdin as JSONL) and yields one [`Document`] per tenant,
//!   streaming: a JSONL file is never held in memory whole.
//! - [`decode()`] turns one document into a [`Tenant`] guided by a [`DecodePlan`], built
//!   once from the model and the program's [`Projection`]: only the fields the policies
//!   read are kept, straight into per-kind tables of slots; everything else is skipped
//!   without allocating.
//!
//! Any problem with a document (unreadable, bad syntax, non-object root, invalid UTF-8,
//! too deep, too large) is an [`InputError`] that says where and why; it becomes an `input`
//! finding and never stops the other tenants.

// Tenant data is untrusted: no index may panic, and every `unsafe` block says why it is sound.
#![deny(clippy::indexing_slicing, clippy::undocumented_unsafe_blocks)]

mod decode;
mod lines;
mod locate;
mod marks;
mod read;
mod scan;
mod stream;
#[cfg(test)]
mod tests;

use crate::model::{KindId, Model};
use crate::value::Value;
use std::sync::{Arc, OnceLock};

pub use decode::{decode, DecodePlan};
pub use lines::Counter;
pub use locate::{
    locate, locate_fields, locate_marked, locate_marked_fields, located_on_this_thread, Position, STREAM_FIELDS_MAX,
};
pub use marks::Marks;
pub use read::{documents, given, Documents};
pub use stream::STREAM_MIN_BYTES;

/// Tenant documents nested deeper than this are input errors (language.md §9.6).
pub const MAX_DOC_DEPTH: usize = 128;
/// The most bytes of one tenant document held in memory at once: a JSON file read whole, a
/// JSONL line, a YAML file or document (language.md §9.6), the members of a large JSON
/// tenant's root that are not streamed. Anything larger is an input error for that tenant
/// (docs/LIMITS.md, "Tenant input limits").
pub const MAX_DOC_BYTES: usize = 256 * 1024 * 1024;

/// Which snapshot paths the program reads, per kind (from `lower::projection`).
#[derive(Debug, Clone, Default)]
pub struct Projection {
    /// Indexed by [`KindId`].
    pub kinds: Vec<KindProjection>,
}

#[derive(Debug, Clone, Default)]
pub struct KindProjection {
    /// `fields[f]`: decode model field `f` of this kind. Collection fields are always
    /// decoded; the key field too unless `skip_key`.
    pub fields: Vec<bool>,
    /// Nothing needs this kind's keys (no rule is evaluated for it, no reference points to
    /// it, no rule reads or compares it), so the decoder does not keep them.
    pub skip_key: bool,
    /// Keys the model does not declare, read with `x["key"]`: each is a path of object
    /// keys from the entity, decoded as `any` into raw slot `i` (see [`Layout`]).
    pub raw_keys: Vec<Vec<String>>,
}

/// Where each kept field lives in a row: only decoded fields get a slot, so a row is as
/// small as what the policies read.
#[derive(Debug, Clone, Default)]
pub struct Layout {
    pub kinds: Vec<KindLayout>,
}

#[derive(Debug, Clone, Default)]
pub struct KindLayout {
    /// `slot_of[f]`: the slot of model field `f`, or [`NO_SLOT`] when it is not decoded.
    pub slot_of: Vec<u32>,
    /// Slots of model fields; raw key `i` is slot `n_field_slots + i`.
    pub n_field_slots: usize,
    pub n_raw: usize,
}

/// A model field that is not decoded.
pub const NO_SLOT: u32 = u32::MAX;

impl KindLayout {
    pub fn stride(&self) -> usize {
        self.n_field_slots + self.n_raw
    }
}

impl Layout {
    /// The layout for `model` reading what `proj` says. A kind missing from `proj` keeps
    /// its key and collections.
    pub fn new(model: &Model, proj: &Projection) -> Layout {
        let empty = KindProjection::default();
        let kinds = model
            .kinds
            .iter()
            .enumerate()
            .map(|(k, kind)| {
                let kp = proj.kinds.get(k).unwrap_or(&empty);
                let mut n = 0u32;
                let slot_of = kind
                    .fields
                    .iter()
                    .enumerate()
                    .map(|(f, field)| {
                        let is_collection = matches!(&field.ty, crate::model::Type::List(inner) if matches!(**inner, crate::model::Type::Entity(_)));
                        let is_key = kind.key == Some(f as u16) && !kp.skip_key;
                        if is_collection || is_key || kp.fields.get(f).copied().unwrap_or(false) {
                            n += 1;
                            n - 1
                        } else {
                            NO_SLOT
                        }
                    })
                    .collect();
                KindLayout { slot_of, n_field_slots: n as usize, n_raw: kp.raw_keys.len() }
            })
            .collect();
        Layout { kinds }
    }
}

/// One tenant's raw input, not yet decoded.
#[derive(Debug)]
pub struct Document {
    /// Identifies the tenant in output when it has no `id`: the source as given, plus
    /// `#N` for the 1-based JSONL line or YAML document (`exports/day1.jsonl#3`).
    pub label: String,
    /// The input file as given (`-` for stdin).
    pub source: Arc<str>,
    pub content: Result<Content, InputError>,
    /// For a tenant made from other files (an import of vendor exports): where its
    /// entities are written there. Findings then point at those files rather than into
    /// `content`, which is only the snapshot built from them.
    pub origins: Option<Box<Origins>>,
}

/// Where the entities of a tenant built from other files were written: the record each
/// entity was made from (file, line, column), by subject path.
#[derive(Debug, Default)]
pub struct Origins {
    /// Where tenant-level findings point.
    pub tenant: Option<crate::finding::Location>,
    /// Subject path (`users[3].sessions[1]`) → its record.
    pub entities: std::collections::HashMap<String, crate::finding::Location>,
}

impl Origins {
    /// Where the subject at `path` was written: its own record, else that of the nearest
    /// entity above it that has one, else the tenant's.
    pub fn of(&self, path: &str) -> Option<&crate::finding::Location> {
        let mut p = path;
        while !p.is_empty() {
            if let Some(at) = self.entities.get(p) {
                return Some(at);
            }
            p = p.rsplit_once('.').map_or("", |(head, _)| head);
        }
        self.tenant.as_ref()
    }
}

#[derive(Debug)]
pub enum Content {
    Json(Vec<u8>),
    /// A JSON file of at least [`STREAM_MIN_BYTES`], read while it is decoded rather than
    /// held whole.
    JsonFile(std::path::PathBuf),
    /// A YAML document; `line`: the file's line number of the text's first line minus one
    /// (`0` unless the document comes from a multi-document stream), added to the line
    /// numbers of errors.
    Yaml {
        text: String,
        line: usize,
    },
}

/// Why a tenant could not be read: the message says where and why.
#[derive(Debug, Clone, PartialEq)]
pub struct InputError {
    pub message: String,
}

impl InputError {
    pub fn new(message: impl Into<String>) -> Self {
        InputError { message: message.into() }
    }
}

/// One decoded tenant: a table of entities per kind.
#[derive(Debug)]
pub struct Tenant {
    /// The document's label (see [`Document::label`]).
    pub label: String,
    pub source: Arc<str>,
    /// Indexed by [`KindId`]; the root table has exactly one row.
    pub tables: Vec<Table>,
    /// Key → row, per kind, built on first use (only for kinds that references reach).
    ref_index: Vec<OnceLock<std::collections::HashMap<Arc<str>, u32, foldhash::fast::RandomState>>>,
    /// Where each field lives in the rows of each table.
    layout: Arc<Layout>,
    /// What the decode recorded for locating subjects later (see [`Marks`]).
    marks: Option<Marks>,
}

/// The entities of one kind, in document order (depth first: all sessions of `users[0]`,
/// then those of `users[1]`).
#[derive(Debug, Default)]
pub struct Table {
    /// Slots per row ([`KindProjection::stride`]).
    pub stride: usize,
    /// `cells[row * stride + slot]`: `Value::Null` when absent, `Value::Bad` when the data
    /// does not fit the model's type, `Value::Entities` for a collection present as a list
    /// (an absent or null one is `Value::Null`).
    pub cells: Vec<Value>,
    /// Row of the parent entity in the parent kind's table (0 for children of the root).
    pub parent: Vec<u32>,
    /// Position in the parent's collection (`3` in `users[3]`).
    pub index: Vec<u32>,
    /// The element was not an object (language.md §9.7): every field read is an error.
    pub malformed: Vec<bool>,
}

impl Table {
    pub fn len(&self) -> usize {
        self.parent.len()
    }

    pub fn is_empty(&self) -> bool {
        self.parent.is_empty()
    }

    pub fn cell(&self, row: u32, slot: usize) -> &Value {
        static NULL: Value = Value::Null;
        self.cells.get(row as usize * self.stride + slot).unwrap_or(&NULL)
    }
}

impl Tenant {
    pub fn new(label: String, source: Arc<str>, tables: Vec<Table>, layout: Arc<Layout>) -> Tenant {
        let ref_index = (0..tables.len()).map(|_| OnceLock::new()).collect();
        Tenant { label, source, tables, ref_index, layout, marks: None }
    }

    /// The tenant, keeping `marks` for locating its subjects.
    pub fn with_marks(mut self, marks: Option<Marks>) -> Tenant {
        self.marks = marks;
        self
    }

    /// What its decode recorded for locating its subjects ([`locate_marked`]).
    pub fn marks(&self) -> Option<&Marks> {
        self.marks.as_ref()
    }

    /// Model field `field` of an entity (`Null` when absent or not decoded).
    #[inline]
    pub fn field(&self, kind: KindId, row: u32, field: u16) -> &Value {
        static NULL: Value = Value::Null;
        match self.layout.kinds.get(kind as usize).and_then(|l| l.slot_of.get(field as usize)) {
            Some(&slot) if slot != NO_SLOT => self.table(kind).cell(row, slot as usize),
            _ => &NULL,
        }
    }

    /// Raw key `i` (`x["key"]`) of an entity.
    pub fn raw(&self, kind: KindId, row: u32, i: u32) -> &Value {
        let n = self.layout.kinds.get(kind as usize).map_or(0, |l| l.n_field_slots);
        self.table(kind).cell(row, n + i as usize)
    }

    pub fn table(&self, kind: KindId) -> &Table {
        static EMPTY: Table =
            Table { stride: 0, cells: Vec::new(), parent: Vec::new(), index: Vec::new(), malformed: Vec::new() };
        self.tables.get(kind as usize).unwrap_or(&EMPTY)
    }

    /// The tenant's `id`, if the root has a string key.
    pub fn id(&self, model: &Model) -> Option<Arc<str>> {
        let key = model.kind(Model::ROOT).key?;
        match self.field(Model::ROOT, 0, key) {
            Value::Str(s) => Some(s.clone()),
            _ => None,
        }
    }

    /// The key of an entity, as shown in output (`null` when it has none).
    pub fn key(&self, model: &Model, kind: KindId, row: u32) -> Option<Arc<str>> {
        let key = model.kind(kind).key?;
        match self.field(kind, row, key) {
            Value::Str(s) => Some(s.clone()),
            _ => None,
        }
    }

    /// The full path of an entity: `users[3].sessions[1]`; `""` for the root.
    pub fn path(&self, model: &Model, kind: KindId, row: u32) -> String {
        use std::fmt::Write;
        // The entity and its ancestors below the root, innermost first.
        let mut steps = [(0 as KindId, 0u32); crate::model::MAX_KINDS];
        let mut n = 0;
        let (mut k, mut r) = (kind, row);
        while let Some(parent) = model.kind(k).parent {
            let Some(step) = steps.get_mut(n) else { break };
            *step = (k, r);
            n += 1;
            r = self.table(k).parent.get(r as usize).copied().unwrap_or(0);
            k = parent;
        }
        let mut out = String::new();
        for (i, &(k, r)) in steps.iter().take(n).rev().enumerate() {
            if i > 0 {
                out.push('.');
            }
            let idx = self.table(k).index.get(r as usize).copied().unwrap_or(0);
            let _ = write!(out, "{}[{idx}]", model.kind(k).collection.as_deref().unwrap_or("?"));
        }
        out
    }

    /// The row of the entity of `kind` whose key is `key` (first one wins on duplicates).
    pub fn lookup(&self, model: &Model, kind: KindId, key: &str) -> Option<u32> {
        let index = self.ref_index.get(kind as usize)?.get_or_init(|| {
            let mut map = std::collections::HashMap::with_hasher(foldhash::fast::RandomState::default());
            if let Some(kf) = model.kind(kind).key {
                for row in 0..self.table(kind).len() as u32 {
                    if let Value::Str(s) = self.field(kind, row, kf) {
                        map.entry(s.clone()).or_insert(row);
                    }
                }
            }
            map
        });
        index.get(key).copied()
    }
}

impl Document {
    /// The 1-based line of its file that the document starts on: a JSONL line's number
    /// (the `#N` of its label), a YAML document's first line, else 1.
    pub fn first_line(&self) -> u64 {
        match &self.content {
            Ok(Content::Yaml { line, .. }) => *line as u64 + 1,
            Ok(Content::Json(_)) | Err(_) => self
                .label
                .strip_prefix(&*self.source)
                .and_then(|n| n.strip_prefix('#'))
                .and_then(|n| n.parse().ok())
                .filter(|_| self.is_lines())
                .unwrap_or(1),
            Ok(Content::JsonFile(_)) => 1,
        }
    }

    /// Whether the document is a line of a JSONL input (or standard input).
    pub fn is_lines(&self) -> bool {
        let s = self.source.to_ascii_lowercase();
        &*self.source == "-" || s.ends_with(".jsonl") || s.ends_with(".ndjson")
    }

    /// Bytes of raw content held (for bounding the tenants in flight).
    pub fn size(&self) -> usize {
        match &self.content {
            Ok(Content::Json(b)) => b.len(),
            // Read as it is decoded; its size still bounds what else is in flight.
            Ok(Content::JsonFile(p)) => std::fs::metadata(p).map_or(0, |m| m.len() as usize),
            Ok(Content::Yaml { text, .. }) => text.len(),
            Err(_) => 0,
        }
    }
}

/// For the fuzz targets (`fuzz/`) only: decodes JSON `bytes` through the streaming split
/// that large files take ([`STREAM_MIN_BYTES`]), with the given sizes (bytes read at a
/// time, bytes per piece, pieces in flight per thread), so that small inputs cross every
/// boundary. `None` when the split hands the document back to the ordinary decode
/// (`decode` of `Content::Json` then gives the tenant or the error); otherwise the tables
/// must be exactly those that decode gives.
#[doc(hidden)]
pub fn decode_streamed(
    bytes: &[u8],
    plan: &DecodePlan,
    chunk: usize,
    piece: usize,
    window: usize,
) -> Option<Vec<Table>> {
    stream::decode(
        bytes,
        plan,
        stream::Limits { chunk: chunk.max(1), piece: piece.max(1), window, ..stream::Limits::default() },
    )
    .ok()
}
