//! One [`Document`](super::Document)'s content → a [`Tenant`], guided by a [`DecodePlan`].
//!
//! The plan is built once per (model, projection): for every kind, which object keys hold
//! kept fields (typed slots), entity collections (always decoded), or nested objects that
//! lead to them (`plan.seats`, raw-key paths). Decoding is a serde `DeserializeSeed` over
//! that plan, shared by serde_json and serde-saphyr: kept values are converted straight into
//! [`Value`]s in the per-kind tables, everything else is skipped with `IgnoredAny`.
//!
//! Data that does not fit the model's type is not an input error: it becomes
//! [`Value::Bad`] with a reason naming the field, so only rules that read it get an `error`.

use super::scan::Brackets;
use super::{
    Content, InputError, KindProjection, Layout, Marks, Projection, Table, Tenant, MAX_DOC_BYTES, MAX_DOC_DEPTH,
};
use crate::model::{KindId, Model, Type};
use crate::value::{format_decimal, parse_date, parse_duration_data, Value, TICKS_PER_SEC};
use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;

// ------------------------------------------------------------------------------- plan

/// How to decode tenant documents for one (model, projection): built once, shared by all
/// tenants (it is `Send + Sync`).
#[derive(Debug)]
pub struct DecodePlan {
    kinds: Vec<KindPlan>,
    layout: Arc<Layout>,
}

#[derive(Debug)]
struct KindPlan {
    /// Slots per row: model fields, then raw keys.
    stride: usize,
    parent: Option<KindId>,
    /// The parent's field holding this kind's collection (for paths in messages).
    collection: Box<str>,
    obj: ObjPlan,
}

/// The keys of one object that matter.
#[derive(Debug, Default)]
struct ObjPlan {
    /// `tenant.plan` (the entity's kind name for an entity object), for messages.
    name: Box<str>,
    entries: Vec<(Box<str>, Action)>,
    /// Every value slot at or below this object (not collections): they all become `Bad`
    /// when the object is not an object.
    slots: Vec<usize>,
}

#[derive(Debug)]
enum Action {
    /// A kept field (or raw key): convert into one slot.
    One(Slot),
    /// An entity collection. `also`: raw-key slots naming the same key get the same value.
    Collection { slot: usize, child: KindId, name: Box<str>, also: Vec<usize> },
    /// A nested object holding kept fields.
    Nested(ObjPlan),
    /// The value feeds several slots (a raw key and a field, or a raw key and a nested
    /// field): decode it as `any` once, then convert for each.
    Multi(Vec<Slot>, Option<ObjPlan>),
}

#[derive(Debug)]
struct Slot {
    slot: usize,
    conv: Conv,
    /// `role.2fa`, for messages.
    name: Box<str>,
}

/// A target type, with its display form for messages.
#[derive(Debug)]
struct Conv {
    kind: ConvKind,
    show: Box<str>,
}

#[derive(Debug)]
enum ConvKind {
    Any,
    /// Strings, keys and references alike: tenant-model.md §2 types keys and `ref<K>` as
    /// strings, so an integer there is a type mismatch like any other.
    Str,
    Int,
    Dec,
    Bool,
    Date,
    Duration,
    /// The allowed values, each already an `Arc<str>` so that decoding one allocates nothing.
    Enum(Vec<Arc<str>>),
    List(Box<Conv>),
}

impl Conv {
    fn new(ty: &Type, model: &Model) -> Conv {
        let kind = match ty {
            Type::Any | Type::Null | Type::Entity(_) => ConvKind::Any,
            Type::Bool => ConvKind::Bool,
            Type::Int => ConvKind::Int,
            Type::Decimal => ConvKind::Dec,
            Type::String => ConvKind::Str,
            Type::Date => ConvKind::Date,
            Type::Duration => ConvKind::Duration,
            Type::Enum(vals) => ConvKind::Enum(vals.iter().map(|v| Arc::from(v.as_str())).collect()),
            Type::Ref(_) => ConvKind::Str,
            Type::List(inner) => ConvKind::List(Box::new(Conv::new(inner, model))),
        };
        Conv { kind, show: ty.show(model).to_string().into() }
    }

    fn any() -> Conv {
        Conv { kind: ConvKind::Any, show: "any".into() }
    }

    fn is_stringy(&self) -> bool {
        matches!(self.kind, ConvKind::Str | ConvKind::Enum(_))
    }
}

/// A trie of keys while building an [`ObjPlan`].
#[derive(Default)]
struct Node {
    slots: Vec<Slot>,
    collection: Option<(usize, KindId)>,
    children: Vec<(String, Node)>,
}

impl Node {
    fn at(&mut self, path: &[&str]) -> &mut Node {
        let mut node = self;
        for key in path {
            let i = match node.children.iter().position(|(k, _)| k == key) {
                Some(i) => i,
                None => {
                    node.children.push(((*key).to_string(), Node::default()));
                    node.children.len() - 1
                }
            };
            // `i` was found by `position` or is the entry just pushed (`get_mut` with an
            // early return would not borrow-check in this loop).
            #[allow(clippy::indexing_slicing)]
            {
                node = &mut node.children[i].1;
            }
        }
        node
    }
}

fn finish(children: Vec<(String, Node)>, name: &str) -> ObjPlan {
    let mut obj = ObjPlan { name: name.into(), entries: Vec::new(), slots: Vec::new() };
    for (key, node) in children {
        let child_name = format!("{name}.{key}");
        let action = if let Some((slot, child)) = node.collection {
            Action::Collection {
                slot,
                child,
                name: key.as_str().into(),
                also: node.slots.iter().map(|s| s.slot).collect(),
            }
        } else if node.children.is_empty() {
            let mut slots = node.slots;
            if slots.len() == 1 {
                match slots.pop() {
                    Some(s) => {
                        obj.slots.push(s.slot);
                        Action::One(s)
                    }
                    None => continue,
                }
            } else if slots.is_empty() {
                continue;
            } else {
                obj.slots.extend(slots.iter().map(|s| s.slot));
                Action::Multi(slots, None)
            }
        } else {
            let sub = finish(node.children, &child_name);
            obj.slots.extend(sub.slots.iter().copied());
            if node.slots.is_empty() {
                Action::Nested(sub)
            } else {
                obj.slots.extend(node.slots.iter().map(|s| s.slot));
                Action::Multi(node.slots, Some(sub))
            }
        };
        obj.entries.push((key.into(), action));
    }
    obj
}

impl DecodePlan {
    /// The plan for `model` reading what `proj` says. A kind missing from `proj` keeps only
    /// its key and collections. Slot numbers are those of [`KindProjection`]: field `f` is
    /// slot `f`, raw key `i` is slot `fields.len() + i` (with `fields.len()` the model's).
    pub fn new(model: &Model, proj: &Projection) -> DecodePlan {
        let empty = KindProjection::default();
        let layout = Layout::new(model, proj);
        let mut kinds = Vec::with_capacity(model.kinds.len());
        for (k, kind) in model.kinds.iter().enumerate() {
            let kp = proj.kinds.get(k).unwrap_or(&empty);
            let Some(kl) = layout.kinds.get(k) else { continue };
            let nf = kl.n_field_slots;
            let mut root = Node::default();
            for (field, &slot) in kind.fields.iter().zip(&kl.slot_of) {
                let path: Vec<&str> = field.name.split('.').collect();
                if let Type::List(inner) = &field.ty {
                    if let Type::Entity(child) = **inner {
                        root.at(&path).collection = Some((slot as usize, child));
                        continue;
                    }
                }
                if slot != super::NO_SLOT {
                    let conv = Conv::new(&field.ty, model);
                    root.at(&path).slots.push(Slot {
                        slot: slot as usize,
                        conv,
                        name: format!("{}.{}", kind.name, field.name).into(),
                    });
                }
            }
            for (i, raw) in kp.raw_keys.iter().enumerate() {
                if raw.is_empty() {
                    continue;
                }
                let path: Vec<&str> = raw.iter().map(String::as_str).collect();
                let name: String = raw.iter().map(|k| format!("[{}]", json_quote(k))).collect();
                root.at(&path).slots.push(Slot {
                    slot: nf + i,
                    conv: Conv::any(),
                    name: format!("{}{name}", kind.name).into(),
                });
            }
            kinds.push(KindPlan {
                stride: kl.stride(),
                parent: kind.parent,
                collection: kind.collection.as_deref().unwrap_or("?").into(),
                obj: finish(root.children, &kind.name),
            });
        }
        DecodePlan { kinds, layout: Arc::new(layout) }
    }
}

// ------------------------------------------------------------------------------- entry

/// Decodes one document into a tenant: tables per kind, in document order.
///
/// A JSON document also keeps what locating its subjects later needs ([`Tenant::marks`]):
/// the brackets its depth scan met, or for a streamed file where its entities are.
pub fn decode(doc_label: &str, source: Arc<str>, content: &Content, plan: &DecodePlan) -> Result<Tenant, InputError> {
    let (tables, marks) = match content {
        Content::Json(bytes) => {
            let mut index = Brackets::default();
            let tables = decode_json(bytes, plan, Some(&mut index))?;
            (tables, Some(Marks::Brackets(index)))
        }
        Content::JsonFile(path) => decode_json_file(doc_label, path, plan)?,
        Content::Yaml { text, line } => (decode_yaml(text, *line, plan)?, None),
    };
    Ok(Tenant::new(doc_label.to_string(), source, tables, plan.layout.clone()).with_marks(marks))
}

thread_local! {
    /// Buffers for building lists (one per nesting level in use).
    static LIST_BUFFERS: std::cell::RefCell<Vec<Vec<Value>>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// A list buffer grown larger than this is not kept for reuse.
const MAX_LIST_BUFFER: usize = 4096;

/// Byte equality for the short strings of keys and enum values, inline: a call to `memcmp`
/// per object key was a tenth of the decode time.
#[inline]
fn same(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let word = |c: &[u8]| {
        let mut w = [0u8; 8];
        w.copy_from_slice(c);
        u64::from_ne_bytes(w)
    };
    let mut ca = a.chunks_exact(8);
    let mut cb = b.chunks_exact(8);
    for (x, y) in ca.by_ref().zip(cb.by_ref()) {
        if word(x) != word(y) {
            return false;
        }
    }
    ca.remainder().iter().zip(cb.remainder()).all(|(x, y)| x == y)
}

fn new_state<'p, 's>(plan: &'p DecodePlan, yaml: Option<&'s str>) -> State<'p, 's> {
    State { plan, tables: plan.empty_tables(), error: None, yaml }
}

impl DecodePlan {
    /// A table per kind, with no rows.
    pub(super) fn empty_tables(&self) -> Vec<Table> {
        self.kinds.iter().map(|k| Table { stride: k.stride, ..Table::default() }).collect()
    }
}

/// A large JSON file: split as it is read and decoded on every core (see `stream`). A file
/// the split does not handle is decoded the ordinary way, which says why: read whole when
/// it is at most [`MAX_DOC_BYTES`], else as it is read again, so that it is never held
/// whole.
fn decode_json_file(
    shown: &str,
    path: &std::path::Path,
    plan: &DecodePlan,
) -> Result<(Vec<Table>, Option<Marks>), InputError> {
    use std::io::Read;
    let cannot_read = |e: &std::io::Error| InputError::new(super::read::cannot_read(shown, e));
    let open = || crate::fsio::open_regular(path, shown).map(|(f, _)| f).map_err(InputError::new);
    match super::stream::decode_marked(open()?, plan, super::stream::Limits::default()) {
        Ok((tables, marks)) => Ok((tables, Some(Marks::Stream(marks)))),
        Err(super::stream::Stop::Io(e)) => Err(cannot_read(&e)),
        Err(super::stream::Stop::Irregular) => {
            if std::fs::metadata(path).is_ok_and(|m| m.len() <= MAX_DOC_BYTES as u64) {
                let mut bytes = Vec::new();
                open()?.take(MAX_DOC_BYTES as u64 + 1).read_to_end(&mut bytes).map_err(|e| cannot_read(&e))?;
                if bytes.len() <= MAX_DOC_BYTES {
                    return Ok((decode_json(&bytes, plan, None)?, None));
                }
            }
            let tables = decode_json_read(open()?, plan).map_err(|e| match e {
                ReadError::Io(e) => cannot_read(&e),
                ReadError::Input(e) => e,
            })?;
            Ok((tables, None))
        }
    }
}

/// Why [`decode_json_read`] failed.
pub(super) enum ReadError {
    Io(std::io::Error),
    Input(InputError),
}

/// Decodes a JSON document as it is read (see [`super::stream::Checked`]): memory is the
/// tables, not the text. Errors read as for a document held whole, except that a syntax
/// error met before a bracket nested too deep is reported as such, and that serde_json's
/// column may be one further.
pub(super) fn decode_json_read<R: std::io::Read>(r: R, plan: &DecodePlan) -> Result<Vec<Table>, ReadError> {
    let mut checked = super::stream::Checked::new(r);
    let mut st = new_state(plan, None);
    let mut de = serde_json::Deserializer::from_reader(&mut checked);
    // `Checked` bounds the nesting at MAX_DOC_DEPTH before serde_json sees a byte.
    de.disable_recursion_limit();
    let res = RootSeed { st: &mut st }.deserialize(&mut de).and_then(|()| de.end());
    drop(de);
    if let Some(at) = checked.too_deep {
        return Err(ReadError::Input(InputError::new(format!(
            "nested deeper than {MAX_DOC_DEPTH} levels at byte {at}"
        ))));
    }
    match res {
        Ok(()) => Ok(st.tables),
        Err(e) if e.is_io() => Err(ReadError::Io(e.into())),
        Err(e) => {
            // Locations on the first line say only the column when the document has one
            // line, as for a document held whole: look for a second line.
            let one_line = e.line() == 1 && !has_newline(&mut checked).map_err(ReadError::Io)?;
            Err(ReadError::Input(json_error(&e, st.error.take(), one_line)))
        }
    }
}

/// Reads on until a newline (`true`) or the end of the input.
fn has_newline<R: std::io::Read>(r: &mut R) -> std::io::Result<bool> {
    let mut buf = vec![0u8; 64 << 10];
    loop {
        match r.read(&mut buf) {
            Ok(0) => return Ok(false),
            Ok(n) => {
                if buf.get(..n).is_some_and(|b| b.contains(&b'\n')) {
                    return Ok(true);
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
}

/// Decodes a JSON document held whole; `index`, when given, gets its brackets at depths 2
/// and 3 (see [`Brackets`]), or is left empty.
fn decode_json(bytes: &[u8], plan: &DecodePlan, index: Option<&mut Brackets>) -> Result<Vec<Table>, InputError> {
    let tables = decode_json_onto(bytes, plan, sized_tables(plan), index)?;
    ROWS_HINT.with(|h| *h.borrow_mut() = tables.iter().map(|t| t.len().min(MAX_ROWS_HINT)).collect());
    Ok(tables)
}

thread_local! {
    /// Rows per kind of the last document decoded whole on this thread. The tenants of one
    /// export are much alike, so the next one's tables start at that size rather than
    /// growing by doubling (and copying) row by row.
    static ROWS_HINT: std::cell::RefCell<Vec<usize>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Tables are never sized ahead beyond this many rows.
const MAX_ROWS_HINT: usize = 1 << 16;

/// Empty tables with room for as many rows as the last document had.
fn sized_tables(plan: &DecodePlan) -> Vec<Table> {
    let mut tables = plan.empty_tables();
    ROWS_HINT.with(|h| {
        for (t, &n) in tables.iter_mut().zip(h.borrow().iter()) {
            t.cells.reserve(n * t.stride);
            t.parent.reserve(n);
            t.index.reserve(n);
            t.malformed.reserve(n);
        }
    });
    tables
}

/// `bytes` as text, and whether it is all ASCII. ASCII is checked first: it is twice as fast
/// as validating UTF-8, and exports are mostly ASCII (the answer also tells
/// [`super::locate`] that a column is an offset).
fn utf8(bytes: &[u8]) -> Result<(&str, bool), std::str::Utf8Error> {
    if bytes.is_ascii() {
        // SAFETY: every ASCII byte sequence is valid UTF-8.
        return Ok((unsafe { std::str::from_utf8_unchecked(bytes) }, true));
    }
    Ok((std::str::from_utf8(bytes)?, false))
}

/// Decodes a JSON document whose root row goes after the rows already in `tables`.
fn decode_json_onto(
    bytes: &[u8],
    plan: &DecodePlan,
    tables: Vec<Table>,
    mut index: Option<&mut Brackets>,
) -> Result<Vec<Table>, InputError> {
    let (bytes, bom) = match bytes.strip_prefix(b"\xEF\xBB\xBF") {
        Some(rest) => (rest, 3),
        None => (bytes, 0),
    };
    let (text, ascii) =
        utf8(bytes).map_err(|e| InputError::new(format!("invalid UTF-8 at byte {}", e.valid_up_to() + bom)))?;
    let deep = match index.as_deref_mut() {
        Some(index) => {
            let (deep, recorded) = super::scan::too_deep_indexed(bytes, index);
            if recorded && bom > 0 {
                // Offsets in the document as given, its byte-order mark included.
                index.outer.iter_mut().chain(index.inner.iter_mut()).for_each(|o| *o = o.saturating_add(bom as u32));
            }
            deep
        }
        None => super::scan::too_deep(bytes),
    };
    if let Some(at) = deep {
        return Err(InputError::new(format!("nested deeper than {MAX_DOC_DEPTH} levels at byte {}", at + bom)));
    }
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(InputError::new("empty document"));
    }
    let one_line = !bytes.contains(&b'\n');
    if let Some(index) = index {
        // Every character one byte, on one line: a column is an offset plus one.
        index.plain = ascii && one_line;
    }
    let mut st = State { plan, tables, error: None, yaml: None };
    let mut de = serde_json::Deserializer::from_str(text);
    // `too_deep` has already bounded the nesting at MAX_DOC_DEPTH; serde_json's own limit
    // (127) would otherwise reject documents the contract accepts.
    de.disable_recursion_limit();
    let res = RootSeed { st: &mut st }.deserialize(&mut de).and_then(|()| de.end());
    match res {
        Ok(()) => Ok(st.tables),
        Err(e) => Err(json_error(&e, st.error.take(), one_line)),
    }
}

// ------------------------------------------------------------------------------- pieces
//
// The parts of a document that `stream` decodes separately: runs of elements of the root's
// entity collections (in parallel), then the rest of the root object.

/// A root entity collection that `stream` may split: `(key, child kind, root slot)`.
pub(super) fn root_collections(plan: &DecodePlan) -> Vec<(Box<str>, KindId, usize)> {
    let Some(root) = plan.kinds.get(Model::ROOT as usize) else { return Vec::new() };
    root.obj
        .entries
        .iter()
        .filter_map(|(key, action)| match action {
            Action::Collection { slot, child, also, .. } if also.is_empty() => Some((key.clone(), *child, *slot)),
            _ => None,
        })
        .collect()
}

/// Decodes `[e, e, …]`, consecutive elements of the root's collection of `child` starting
/// at position `first`, into tables of their own (see [`append_tables`]). `None` when the
/// piece does not decode: the caller then decodes the whole document the ordinary way,
/// which reports the error exactly as it would have.
pub(super) fn decode_elements(bytes: &[u8], plan: &DecodePlan, child: KindId, first: u32) -> Option<Vec<Table>> {
    let (text, _) = utf8(bytes).ok()?;
    let mut st = new_state(plan, None);
    let mut de = serde_json::Deserializer::from_str(text);
    // The splitter has bounded the nesting of every element at MAX_DOC_DEPTH.
    de.disable_recursion_limit();
    let seed = ElementsSeed { st: &mut st, child, first };
    de.deserialize_seq(seed).and_then(|()| de.end()).ok()?;
    Some(st.tables)
}

/// The rest of the root object (`{` its other members `}`) decoded after the elements:
/// the root row goes into `tables`, and each split collection's slot then covers its rows.
pub(super) fn decode_root(
    bytes: &[u8],
    plan: &DecodePlan,
    tables: Vec<Table>,
    split: &[(usize, KindId, u32)],
) -> Result<Vec<Table>, InputError> {
    let mut tables = decode_json_onto(bytes, plan, tables, None)?;
    if let Some(root) = tables.get_mut(Model::ROOT as usize) {
        for &(slot, child, n) in split {
            if let Some(c) = root.cells.get_mut(slot) {
                *c = Value::Entities(child, 0, n);
            }
        }
    }
    Ok(tables)
}

/// Appends the rows of `part` (from [`decode_elements`]) to `main`, rebasing parent rows
/// and collection ranges by the rows `main` already had.
pub(super) fn append_tables(plan: &DecodePlan, main: &mut [Table], part: Vec<Table>, top: KindId) {
    let before: Vec<u32> = main.iter().map(|t| t.len() as u32).collect();
    let off = |k: KindId| before.get(k as usize).copied().unwrap_or(0);
    for (k, (m, p)) in main.iter_mut().zip(part).enumerate() {
        if p.is_empty() {
            continue;
        }
        let Some(kp) = plan.kinds.get(k) else { continue };
        let parent_off = if k == top as usize { 0 } else { kp.parent.map_or(0, off) };
        let first_cell = m.cells.len();
        m.parent.extend(p.parent.iter().map(|r| r + parent_off));
        m.index.extend_from_slice(&p.index);
        m.malformed.extend_from_slice(&p.malformed);
        m.cells.extend(p.cells);
        // Every collection range, wherever it sits: a collection's own slot, and any raw
        // key slot that names the same key and holds the same value.
        for cell in m.cells.get_mut(first_cell..).into_iter().flatten() {
            if let Value::Entities(c, start, _) = cell {
                *start += off(*c);
            }
        }
    }
}

/// `[e, e, …]`: elements of the root's collection of `child`, numbered from `first`.
struct ElementsSeed<'a, 'p, 's> {
    st: &'a mut State<'p, 's>,
    child: KindId,
    first: u32,
}

impl<'de> Visitor<'de> for ElementsSeed<'_, '_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a list")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let mut index = self.first;
        while seq.next_element_seed(ElementSeed { st: &mut *self.st, kind: self.child, parent: 0, index })?.is_some() {
            index = index.saturating_add(1);
        }
        Ok(())
    }
}

/// How the message of a duplicate key inside a value read whole begins (an error raised
/// through serde's `custom`, told apart from syntax errors by it).
const DUPLICATE_KEY: &str = "duplicate key";

fn json_error(e: &serde_json::Error, mine: Option<MyError>, one_line: bool) -> InputError {
    let loc = if e.line() == 0 || (one_line && e.column() == 0) {
        String::new()
    } else if e.column() == 0 {
        format!(" at line {}", e.line())
    } else if one_line {
        format!(" at column {}", e.column())
    } else {
        format!(" at line {}, column {}", e.line(), e.column())
    };
    if let Some(m) = mine {
        return InputError::new(if m.located { format!("{}{loc}", m.message) } else { m.message });
    }
    let mut msg = e.to_string();
    let suffix = format!(" at line {} column {}", e.line(), e.column());
    if let Some(i) = msg.rfind(&suffix) {
        msg.truncate(i);
    }
    if msg.starts_with(DUPLICATE_KEY) {
        return InputError::new(format!("{msg}{loc}"));
    }
    if msg.starts_with("recursion limit exceeded") {
        // serde_json's own limit (127 levels for values it builds); the pre-scan
        // already rejected anything deeper than MAX_DOC_DEPTH.
        return InputError::new(format!("nested too deeply{loc}"));
    }
    InputError::new(format!("invalid JSON{loc}: {msg}"))
}

/// YAML events recorded for anchors, and replayed for aliases, per document: far above
/// what anchors for shared settings need, low enough that an alias bomb fails in
/// milliseconds.
const MAX_ALIAS_EVENTS: usize = 250_000;

/// Options for tenant YAML: YAML 1.2 booleans, the document depth limit, tight alias limits
/// (an alias bomb fails in milliseconds), generous node counts (size is bounded by bytes).
fn yaml_options() -> serde_saphyr::Options {
    serde_saphyr::options! {
        budget: serde_saphyr::budget! {
            max_depth: MAX_DOC_DEPTH,
            max_events: usize::MAX,
            max_nodes: usize::MAX,
            max_documents: 1,
            max_aliases: 100_000,
            max_anchors: 100_000,
            max_total_scalar_bytes: MAX_DOC_BYTES,
            enforce_alias_anchor_ratio: false,
            max_recorded_anchor_events: MAX_ALIAS_EVENTS,
        },
        alias_limits: serde_saphyr::alias_limits! {
            max_total_replayed_events: MAX_ALIAS_EVENTS,
            max_replay_stack_depth: 16,
        },
        // Repeated keys reach the decoder, which rejects those it reads (as for JSON).
        duplicate_keys: serde_saphyr::options::DuplicateKeyPolicy::PassThrough,
        strict_booleans: true,
        non_finite_float_policy: serde_saphyr::NonFiniteFloatPolicy::AsString,
        with_snippet: false,
    }
}

/// Stack for decoding YAML: serde-saphyr takes about 30 KiB of stack per nesting level, so
/// a document [`MAX_DOC_DEPTH`] deep needs about 4 MiB, more than a default thread has.
const YAML_STACK: usize = 16 << 20;

/// Documents that cannot nest deeper than this are decoded on the calling thread (a
/// 1 MiB stack is enough); the others get a thread with [`YAML_STACK`].
const INLINE_YAML_DEPTH: usize = 24;

/// An upper bound on the nesting depth of a YAML document (plus the decoder's own levels):
/// every level needs an indicator of its own (`-` `:` `?` `[` `{`), and an alias replays
/// an anchored node whose indicators are elsewhere in the text.
fn yaml_depth_bound(text: &str) -> usize {
    4 + text.bytes().filter(|b| matches!(b, b'-' | b':' | b'?' | b'[' | b'{')).count()
}

/// Decodes a YAML document whose first line is line `line + 1` of its file.
fn decode_yaml(text: &str, line: usize, plan: &DecodePlan) -> Result<Vec<Table>, InputError> {
    if text.len() > MAX_DOC_BYTES {
        return Err(InputError::new(format!(
            "YAML document is larger than {} MiB ({} bytes)",
            MAX_DOC_BYTES >> 20,
            text.len()
        )));
    }
    if yaml_depth_bound(text) <= INLINE_YAML_DEPTH {
        return decode_yaml_here(text, line, plan);
    }
    std::thread::scope(|scope| {
        let worker = std::thread::Builder::new()
            .name("tenet-yaml".into())
            .stack_size(YAML_STACK)
            .spawn_scoped(scope, || decode_yaml_here(text, line, plan));
        match worker {
            Ok(handle) => handle.join().unwrap_or_else(|_| Err(InputError::new("internal error while decoding YAML"))),
            Err(e) => Err(InputError::new(format!("cannot start a thread to decode YAML: {e}"))),
        }
    })
}

fn decode_yaml_here(text: &str, line: usize, plan: &DecodePlan) -> Result<Vec<Table>, InputError> {
    let mut st = new_state(plan, Some(text));
    let res = serde_saphyr::with_deserializer_from_str_with_options(text, yaml_options(), |de| {
        RootSeed { st: &mut st }.deserialize(de)
    });
    match res {
        Ok(()) => Ok(st.tables),
        Err(e) => Err(yaml_error(&e, st.error.take(), line)),
    }
}

/// The input error for a YAML document whose first line is line `line + 1` of its file.
fn yaml_error(e: &serde_saphyr::Error, mine: Option<MyError>, line: usize) -> InputError {
    use serde_saphyr::budget::BudgetBreach;
    let e = e.without_snippet();
    let location = e.location().filter(|l| l.line() > 0);
    let loc = location.map_or(String::new(), |l| {
        format!(" at line {}, column {}", (l.line() as usize).saturating_add(line), l.column())
    });
    if let Some(m) = mine {
        return InputError::new(if m.located { format!("{}{loc}", m.message) } else { m.message });
    }
    let mut inner = e;
    while let serde_saphyr::Error::AliasError { error, .. } | serde_saphyr::Error::WithSnippet { error, .. } = inner {
        inner = error;
    }
    match inner {
        serde_saphyr::Error::Budget { breach: BudgetBreach::Depth { .. }, .. } => {
            return InputError::new(format!("nested deeper than {MAX_DOC_DEPTH} levels{loc}"));
        }
        serde_saphyr::Error::Budget {
            breach:
                BudgetBreach::Aliases { .. }
                | BudgetBreach::Anchors { .. }
                | BudgetBreach::AliasAnchorRatio { .. }
                | BudgetBreach::RecordedAnchorEvents { .. }
                | BudgetBreach::RecordedAnchorBytes { .. }
                | BudgetBreach::MergeKeys { .. },
            ..
        }
        | serde_saphyr::Error::AliasReplayCounterOverflow { .. }
        | serde_saphyr::Error::AliasReplayLimitExceeded { .. }
        | serde_saphyr::Error::AliasReplayStackDepthExceeded { .. } => {
            return InputError::new(format!("YAML aliases expand beyond the limit of {MAX_ALIAS_EVENTS} events{loc}"));
        }
        serde_saphyr::Error::Budget { breach, .. } => {
            return InputError::new(format!("YAML document exceeds a parser limit ({breach:?}){loc}"));
        }
        serde_saphyr::Error::DuplicateMappingKey { key, .. } => {
            return InputError::new(match key {
                Some(k) => format!("duplicate key `{k}`{loc}"),
                None => format!("duplicate key{loc}"),
            });
        }
        serde_saphyr::Error::InvalidUtf8Input => return InputError::new("invalid UTF-8"),
        _ => {}
    }
    let mut msg = e.to_string();
    if let Some(l) = location {
        let suffix = format!(" at line {}, column {}", l.line(), l.column());
        if let Some(i) = msg.find(&suffix) {
            msg.replace_range(i..i + suffix.len(), "");
        }
    }
    if msg.starts_with(DUPLICATE_KEY) {
        return InputError::new(format!("{msg}{loc}"));
    }
    if msg.starts_with("recursion limit exceeded") {
        return InputError::new(format!("nested deeper than {MAX_DOC_DEPTH} levels{loc}"));
    }
    InputError::new(format!("invalid YAML{loc}: {msg}"))
}

// ------------------------------------------------------------------------------- state

/// An input error raised inside the seed (the deserializer adds its location).
struct MyError {
    message: String,
    /// Append the deserializer's location.
    located: bool,
}

struct State<'p, 's> {
    plan: &'p DecodePlan,
    tables: Vec<Table>,
    error: Option<MyError>,
    /// The YAML text being decoded (raw text of plain scalars for string fields).
    yaml: Option<&'s str>,
}

impl State<'_, '_> {
    fn fail<E: de::Error>(&mut self, message: String, located: bool) -> E {
        let e = E::custom(&message);
        self.error = Some(MyError { message, located });
        e
    }

    fn push_row(&mut self, kind: KindId, parent: u32, index: u32, malformed: bool) -> Result<u32, String> {
        let Some(t) = self.tables.get_mut(kind as usize) else {
            return Err("internal error: unknown kind".into());
        };
        let row = u32::try_from(t.parent.len())
            .ok()
            .filter(|r| *r < u32::MAX)
            .ok_or_else(|| "too many entities in one tenant".to_string())?;
        t.cells.resize(t.cells.len() + t.stride, Value::Null);
        t.parent.push(parent);
        t.index.push(index);
        t.malformed.push(malformed);
        Ok(row)
    }

    fn set(&mut self, kind: KindId, row: u32, slot: usize, v: Value) {
        if let Some(t) = self.tables.get_mut(kind as usize) {
            if let Some(c) = t.cells.get_mut(row as usize * t.stride + slot) {
                *c = v;
            }
        }
    }

    fn len(&self, kind: KindId) -> u32 {
        self.tables.get(kind as usize).map_or(0, |t| t.len() as u32)
    }

    /// `users[1].sessions`: the path of entity `(kind, row)` then `field`.
    fn path(&self, kind: KindId, row: u32, field: &str) -> String {
        let mut parts = vec![field.to_string()];
        let (mut k, mut r) = (kind, row);
        while let Some(kp) = self.plan.kinds.get(k as usize) {
            let Some(parent) = kp.parent else { break };
            let t = self.tables.get(k as usize);
            let idx = t.and_then(|t| t.index.get(r as usize)).copied().unwrap_or(0);
            parts.push(format!("{}[{idx}]", kp.collection));
            r = t.and_then(|t| t.parent.get(r as usize)).copied().unwrap_or(0);
            k = parent;
        }
        parts.reverse();
        parts.join(".")
    }
}

// ------------------------------------------------------------------------------- seeds

struct RootSeed<'a, 'p, 's> {
    st: &'a mut State<'p, 's>,
}

impl<'de> DeserializeSeed<'de> for RootSeed<'_, '_, '_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(EntityVisitor { st: self.st, kind: Model::ROOT, parent: 0, index: 0, root: true })
    }
}

/// One entity object (the root, or an element of a collection).
struct EntityVisitor<'a, 'p, 's> {
    st: &'a mut State<'p, 's>,
    kind: KindId,
    parent: u32,
    index: u32,
    root: bool,
}

impl EntityVisitor<'_, '_, '_> {
    fn malformed<E: de::Error>(self, found: &str) -> Result<(), E> {
        if self.root {
            return Err(self.st.fail(format!("root is not an object (found {found})"), false));
        }
        self.st.push_row(self.kind, self.parent, self.index, true).map_err(|m| self.st.fail(m, true))?;
        Ok(())
    }
}

impl<'de> Visitor<'de> for EntityVisitor<'_, '_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let st = self.st;
        let row = st.push_row(self.kind, self.parent, self.index, false).map_err(|m| st.fail(m, true))?;
        let plan = st.plan;
        if let Some(kp) = plan.kinds.get(self.kind as usize) {
            decode_object(&mut map, st, &kp.obj, self.kind, row)?;
        } else {
            while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        }
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        if self.root {
            return self.malformed("array");
        }
        self.st.push_row(self.kind, self.parent, self.index, true).map_err(|m| self.st.fail(m, true))?;
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(())
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<(), E> {
        self.malformed("boolean")
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<(), E> {
        self.malformed("number")
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<(), E> {
        self.malformed("number")
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<(), E> {
        self.malformed("number")
    }

    fn visit_str<E: de::Error>(self, _: &str) -> Result<(), E> {
        self.malformed("string")
    }

    fn visit_bytes<E: de::Error>(self, _: &[u8]) -> Result<(), E> {
        self.malformed("string")
    }

    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        self.malformed("null")
    }

    fn visit_none<E: de::Error>(self) -> Result<(), E> {
        self.malformed("null")
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

/// Decodes the entries of one object of entity `(kind, row)` according to `obj`.
fn decode_object<'de, A: MapAccess<'de>>(
    map: &mut A,
    st: &mut State<'_, '_>,
    obj: &ObjPlan,
    kind: KindId,
    row: u32,
) -> Result<(), A::Error> {
    let mut seen = Seen::new(obj.entries.len());
    while let Some(found) = map.next_key_seed(KeySeed { entries: &obj.entries })? {
        let Some((i, (key, action))) = found.and_then(|i| Some((i, obj.entries.get(i)?))) else {
            map.next_value::<IgnoredAny>()?;
            continue;
        };
        if !seen.first(i) {
            return Err(duplicate(map, st, obj, key, kind, row));
        }
        match action {
            Action::One(slot) => {
                let v =
                    map.next_value_seed(TypedSeed { conv: &slot.conv, path: Path::Name(&slot.name), yaml: st.yaml })?;
                st.set(kind, row, slot.slot, v);
            }
            Action::Collection { slot, child, name, also } => {
                let v = map.next_value_seed(CollectionSeed { st: &mut *st, kind, row, child: *child, name })?;
                for s in also {
                    st.set(kind, row, *s, v.clone());
                }
                st.set(kind, row, *slot, v);
            }
            Action::Nested(sub) => map.next_value_seed(NestedSeed { st: &mut *st, obj: sub, kind, row })?,
            Action::Multi(slots, nested) => {
                let any = Conv::any();
                let name = slots.first().map_or("?", |s| &*s.name);
                let v = map.next_value_seed(TypedSeed { conv: &any, path: Path::Name(name), yaml: None })?;
                for s in slots {
                    st.set(kind, row, s.slot, convert_value(&v, &s.conv, Path::Name(&s.name)));
                }
                if let Some(sub) = nested {
                    apply_value(st, sub, kind, row, &v);
                }
            }
        }
    }
    Ok(())
}

/// The error for key `key` of `obj` given twice: which value is meant is not for tenet to
/// guess. Out of line, so that `decode_object` stays small enough for its key lookup to be
/// inlined.
#[cold]
#[inline(never)]
fn duplicate<'de, A: MapAccess<'de>>(
    map: &mut A,
    st: &mut State<'_, '_>,
    obj: &ObjPlan,
    key: &str,
    kind: KindId,
    row: u32,
) -> A::Error {
    let at = match obj.name.split_once('.') {
        Some((_, within)) => format!("{within}.{key}"),
        None => key.to_string(),
    };
    let msg = format!("{DUPLICATE_KEY} `{}`", st.path(kind, row, &at));
    // Raised from the value, so that the deserializer says where it is.
    let e = map.next_value_seed(Reject).err().unwrap_or_else(|| de::Error::custom(&msg));
    st.error = Some(MyError { message: msg, located: true });
    e
}

/// A value that is an error wherever it is (the deserializer adds where).
struct Reject;

impl<'de> DeserializeSeed<'de> for Reject {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Reject {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("no value")
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<(), E> {
        Err(E::custom(DUPLICATE_KEY))
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<(), E> {
        Err(E::custom(DUPLICATE_KEY))
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<(), E> {
        Err(E::custom(DUPLICATE_KEY))
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<(), E> {
        Err(E::custom(DUPLICATE_KEY))
    }

    fn visit_str<E: de::Error>(self, _: &str) -> Result<(), E> {
        Err(E::custom(DUPLICATE_KEY))
    }

    fn visit_bytes<E: de::Error>(self, _: &[u8]) -> Result<(), E> {
        Err(E::custom(DUPLICATE_KEY))
    }

    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        Err(E::custom(DUPLICATE_KEY))
    }

    fn visit_none<E: de::Error>(self) -> Result<(), E> {
        Err(E::custom(DUPLICATE_KEY))
    }

    fn visit_some<D: Deserializer<'de>>(self, _: D) -> Result<(), D::Error> {
        Err(de::Error::custom(DUPLICATE_KEY))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, _: A) -> Result<(), A::Error> {
        Err(de::Error::custom(DUPLICATE_KEY))
    }

    fn visit_map<A: MapAccess<'de>>(self, _: A) -> Result<(), A::Error> {
        Err(de::Error::custom(DUPLICATE_KEY))
    }
}

/// Which entries of an object's plan its keys have met so far: a bit per entry, in a word
/// for the first 64 (no allocation for any object of the shipped model).
struct Seen {
    low: u64,
    more: Vec<bool>,
}

impl Seen {
    #[inline]
    fn new(entries: usize) -> Seen {
        Seen { low: 0, more: if entries > 64 { vec![false; entries - 64] } else { Vec::new() } }
    }

    /// Marks entry `i`; `false` when it was already met.
    #[inline]
    fn first(&mut self, i: usize) -> bool {
        if i < 64 {
            let bit = 1u64 << i;
            let first = self.low & bit == 0;
            self.low |= bit;
            first
        } else {
            self.more.get_mut(i - 64).is_none_or(|b| !std::mem::replace(b, true))
        }
    }
}

/// An object key → the index of its entry in the plan (`None`: skip the value).
struct KeySeed<'a> {
    entries: &'a [(Box<str>, Action)],
}

impl KeySeed<'_> {
    // Called for every key of every object: whether it is inlined into serde_json's
    // `next_key_seed` was left to how the crate happened to be split into codegen units,
    // and an unrelated change once moved it out of line, costing decoding 1% (callgrind).
    #[inline]
    fn find(&self, key: &str) -> Option<usize> {
        self.entries.iter().position(|(k, _)| same(k.as_bytes(), key.as_bytes()))
    }
}

impl<'de> DeserializeSeed<'de> for KeySeed<'_> {
    type Value = Option<usize>;

    #[inline]
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Option<usize>, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for KeySeed<'_> {
    type Value = Option<usize>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a key")
    }

    fn visit_str<E>(self, v: &str) -> Result<Option<usize>, E> {
        Ok(self.find(v))
    }

    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Option<usize>, E> {
        Ok(self.find(v))
    }

    fn visit_string<E>(self, v: String) -> Result<Option<usize>, E> {
        Ok(self.find(&v))
    }

    fn visit_bool<E>(self, v: bool) -> Result<Option<usize>, E> {
        Ok(self.find(if v { "true" } else { "false" }))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Option<usize>, E> {
        Ok(self.find(&v.to_string()))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Option<usize>, E> {
        Ok(self.find(&v.to_string()))
    }

    fn visit_f64<E>(self, _: f64) -> Result<Option<usize>, E> {
        Ok(None)
    }

    fn visit_bytes<E>(self, _: &[u8]) -> Result<Option<usize>, E> {
        Ok(None)
    }

    fn visit_unit<E>(self) -> Result<Option<usize>, E> {
        Ok(None)
    }

    fn visit_none<E>(self) -> Result<Option<usize>, E> {
        Ok(None)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Option<usize>, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(None)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Option<usize>, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(None)
    }
}

/// An entity collection: the rows of its elements → `Value::Entities`.
struct CollectionSeed<'a, 'p, 's> {
    st: &'a mut State<'p, 's>,
    kind: KindId,
    row: u32,
    child: KindId,
    name: &'a str,
}

impl CollectionSeed<'_, '_, '_> {
    fn not_list<E: de::Error>(self, found: &str) -> E {
        let msg = format!("`{}` is not a list (found {found})", self.st.path(self.kind, self.row, self.name));
        self.st.fail(msg, true)
    }
}

impl<'de> DeserializeSeed<'de> for CollectionSeed<'_, '_, '_> {
    type Value = Value;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for CollectionSeed<'_, '_, '_> {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a list")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let start = self.st.len(self.child);
        let mut n: u32 = 0;
        while seq
            .next_element_seed(ElementSeed { st: &mut *self.st, kind: self.child, parent: self.row, index: n })?
            .is_some()
        {
            n = n.saturating_add(1);
        }
        Ok(Value::Entities(self.child, start, n))
    }

    /// A null collection is an absent one (`Value::Null`): not present for `has`, read as
    /// its default `[]` (language.md §9.10).
    fn visit_unit<E: de::Error>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_none<E: de::Error>(self) -> Result<Value, E> {
        self.visit_unit()
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }

    fn visit_map<A: MapAccess<'de>>(self, _: A) -> Result<Value, A::Error> {
        Err(self.not_list("an object"))
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Value, E> {
        Err(self.not_list("a boolean"))
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Value, E> {
        Err(self.not_list("a number"))
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Value, E> {
        Err(self.not_list("a number"))
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Value, E> {
        Err(self.not_list("a number"))
    }

    fn visit_str<E: de::Error>(self, _: &str) -> Result<Value, E> {
        Err(self.not_list("a string"))
    }

    fn visit_bytes<E: de::Error>(self, _: &[u8]) -> Result<Value, E> {
        Err(self.not_list("a string"))
    }
}

/// One element of a collection.
struct ElementSeed<'a, 'p, 's> {
    st: &'a mut State<'p, 's>,
    kind: KindId,
    parent: u32,
    index: u32,
}

impl<'de> DeserializeSeed<'de> for ElementSeed<'_, '_, '_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(EntityVisitor {
            st: self.st,
            kind: self.kind,
            parent: self.parent,
            index: self.index,
            root: false,
        })
    }
}

/// A nested object (`plan` of `plan.seats`) of entity `(kind, row)`.
struct NestedSeed<'a, 'p, 's> {
    st: &'a mut State<'p, 's>,
    obj: &'a ObjPlan,
    kind: KindId,
    row: u32,
}

impl NestedSeed<'_, '_, '_> {
    fn bad(self, found: &str) {
        let reason: Arc<str> = format!("field `{}` is {found}, expected an object", self.obj.name).into();
        for &s in &self.obj.slots {
            self.st.set(self.kind, self.row, s, Value::Bad(reason.clone()));
        }
    }
}

impl<'de> DeserializeSeed<'de> for NestedSeed<'_, '_, '_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for NestedSeed<'_, '_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        decode_object(&mut map, self.st, self.obj, self.kind, self.row)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        self.bad("a list");
        Ok(())
    }

    fn visit_unit<E>(self) -> Result<(), E> {
        Ok(())
    }

    fn visit_none<E>(self) -> Result<(), E> {
        Ok(())
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }

    fn visit_bool<E>(self, v: bool) -> Result<(), E> {
        self.bad(&describe(In::Bool(v)));
        Ok(())
    }

    fn visit_i64<E>(self, v: i64) -> Result<(), E> {
        self.bad(&describe(In::I64(v)));
        Ok(())
    }

    fn visit_u64<E>(self, v: u64) -> Result<(), E> {
        self.bad(&describe(In::U64(v)));
        Ok(())
    }

    fn visit_f64<E>(self, v: f64) -> Result<(), E> {
        self.bad(&describe(In::F64(v)));
        Ok(())
    }

    fn visit_str<E>(self, v: &str) -> Result<(), E> {
        self.bad(&describe(In::Str(v)));
        Ok(())
    }

    fn visit_bytes<E>(self, _: &[u8]) -> Result<(), E> {
        self.bad("binary data");
        Ok(())
    }
}

// ------------------------------------------------------------------------------- values

/// Where a value sits, for messages: `role.permissions[2]`.
#[derive(Clone, Copy)]
enum Path<'a> {
    Name(&'a str),
    Elem(&'a Path<'a>, usize),
}

impl fmt::Display for Path<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Path::Name(n) => f.write_str(n),
            Path::Elem(p, i) => write!(f, "{p}[{i}]"),
        }
    }
}

/// A scalar as the deserializer gives it.
#[derive(Clone, Copy)]
enum In<'a> {
    Bool(bool),
    I64(i64),
    U64(u64),
    F64(f64),
    Str(&'a str),
}

fn json_quote(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| format!("{s:?}"))
}

/// `a string ("yes")`, `an int (5)` …
fn describe(x: In<'_>) -> String {
    match x {
        In::Bool(b) => format!("a bool ({b})"),
        In::I64(i) => format!("an int ({i})"),
        In::U64(u) => format!("an int ({u})"),
        In::F64(f) => format!("a decimal ({})", format_decimal(f)),
        In::Str(s) => {
            const MAX: usize = 40;
            if s.chars().count() > MAX {
                let cut: String = s.chars().take(MAX).collect();
                format!("a string ({}…)", json_quote(&cut))
            } else {
                format!("a string ({})", json_quote(s))
            }
        }
    }
}

fn mismatch(conv: &Conv, path: Path<'_>, found: &str) -> Value {
    Value::Bad(format!("field `{path}` is {found}, expected {}", conv.show).into())
}

/// Converts one scalar to the target type.
fn convert(conv: &Conv, x: In<'_>, path: Path<'_>) -> Value {
    use ConvKind as K;
    match (&conv.kind, x) {
        (K::Any, In::Bool(b)) | (K::Bool, In::Bool(b)) => Value::Bool(b),
        (K::Any, In::I64(i)) | (K::Int, In::I64(i)) => Value::Int(i),
        (K::Any, In::U64(u)) => i64::try_from(u).map_or(Value::Dec(u as f64), Value::Int),
        (K::Int, In::U64(u)) => i64::try_from(u)
            .map_or_else(|_| Value::Bad(format!("field `{path}`: {u} is out of range for int").into()), Value::Int),
        // JSON's `-0` is an integer by its grammar, but serde_json reads it as the double -0.0.
        (K::Int, In::F64(f)) if f == 0.0 && f.is_sign_negative() => Value::Int(0),
        (K::Any, In::F64(f)) | (K::Dec, In::F64(f)) => Value::Dec(f),
        (K::Dec, In::I64(i)) => Value::Dec(i as f64),
        (K::Dec, In::U64(u)) => Value::Dec(u as f64),
        (K::Any | K::Str, In::Str(s)) => Value::Str(Arc::from(s)),
        (K::Enum(vals), In::Str(s)) => match vals.iter().find(|v| same(v.as_bytes(), s.as_bytes())) {
            Some(v) => Value::Str(v.clone()),
            None => {
                let all: Vec<&str> = vals.iter().map(|v| &**v).collect();
                Value::Bad(format!("field `{path}`: `{s}` is not one of {}", all.join("|")).into())
            }
        },
        (K::Date, In::Str(s)) => match parse_date(s) {
            Some(n) => Value::Date(n),
            None => Value::Bad(format!("field `{path}`: `{s}` is not a date").into()),
        },
        (K::Duration, In::Str(s)) => match parse_duration_data(s) {
            Some(n) => Value::Duration(n),
            None => Value::Bad(format!("field `{path}`: `{s}` is not a duration").into()),
        },
        (K::Duration, In::I64(i)) => match i.checked_mul(TICKS_PER_SEC) {
            Some(n) => Value::Duration(n),
            None => Value::Bad(format!("field `{path}`: {i} seconds is out of range for duration").into()),
        },
        (K::Duration, In::U64(u)) => match i64::try_from(u).ok().and_then(|i| i.checked_mul(TICKS_PER_SEC)) {
            Some(n) => Value::Duration(n),
            None => Value::Bad(format!("field `{path}`: {u} seconds is out of range for duration").into()),
        },
        _ => mismatch(conv, path, &describe(x)),
    }
}

/// Converts an already decoded `any` value to the target type (a key feeding several slots).
fn convert_value(v: &Value, conv: &Conv, path: Path<'_>) -> Value {
    match v {
        Value::Null => Value::Null,
        _ if matches!(conv.kind, ConvKind::Any) => v.clone(),
        Value::Bool(b) => convert(conv, In::Bool(*b), path),
        Value::Int(i) => convert(conv, In::I64(*i), path),
        Value::Dec(f) => convert(conv, In::F64(*f), path),
        Value::Str(s) if matches!(conv.kind, ConvKind::Str) => Value::Str(s.clone()),
        Value::Str(s) => convert(conv, In::Str(s), path),
        Value::List(items) => match &conv.kind {
            ConvKind::List(inner) => {
                let mut out = Vec::with_capacity(items.len());
                for (i, item) in items.iter().enumerate() {
                    let c = convert_value(item, inner, Path::Elem(&path, i));
                    if let Value::Bad(_) = c {
                        return c;
                    }
                    out.push(c);
                }
                Value::List(out.into())
            }
            _ => mismatch(conv, path, "a list"),
        },
        Value::Object(_) => mismatch(conv, path, "an object"),
        other => mismatch(conv, path, other.type_name()),
    }
}

/// Applies a nested plan to an already decoded `any` value.
fn apply_value(st: &mut State<'_, '_>, obj: &ObjPlan, kind: KindId, row: u32, v: &Value) {
    match v {
        Value::Null => {}
        Value::Object(pairs) => {
            for (key, val) in pairs.iter() {
                let Some((_, action)) = obj.entries.iter().find(|(k, _)| **k == **key) else { continue };
                match action {
                    Action::One(s) => st.set(kind, row, s.slot, convert_value(val, &s.conv, Path::Name(&s.name))),
                    Action::Nested(sub) => apply_value(st, sub, kind, row, val),
                    Action::Multi(slots, nested) => {
                        for s in slots {
                            st.set(kind, row, s.slot, convert_value(val, &s.conv, Path::Name(&s.name)));
                        }
                        if let Some(sub) = nested {
                            apply_value(st, sub, kind, row, val);
                        }
                    }
                    // Collections under a key read as a whole are not materialized.
                    Action::Collection { .. } => {}
                }
            }
        }
        other => {
            let found = match other {
                Value::Bool(b) => describe(In::Bool(*b)),
                Value::Int(i) => describe(In::I64(*i)),
                Value::Dec(f) => describe(In::F64(*f)),
                Value::Str(s) => describe(In::Str(s)),
                Value::List(_) => "a list".into(),
                o => o.type_name().into(),
            };
            let reason: Arc<str> = format!("field `{}` is {found}, expected an object", obj.name).into();
            for &s in &obj.slots {
                st.set(kind, row, s, Value::Bad(reason.clone()));
            }
        }
    }
}

/// A kept value: converted to its slot's type as it is read.
struct TypedSeed<'a> {
    conv: &'a Conv,
    path: Path<'a>,
    /// The YAML text, when decoding YAML.
    yaml: Option<&'a str>,
}

impl<'de> DeserializeSeed<'de> for TypedSeed<'_> {
    type Value = Value;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        match self.yaml {
            Some(src) if self.conv.is_stringy() => yaml_stringy(d, src, self.conv, self.path),
            _ => d.deserialize_any(self),
        }
    }
}

/// A string field read from YAML: a plain scalar that YAML resolves to a number
/// (`release: 2026.10`, `id: 0012`) is taken verbatim, as written.
fn yaml_stringy<'de, D: Deserializer<'de>>(d: D, src: &str, conv: &Conv, path: Path<'_>) -> Result<Value, D::Error> {
    let sp = <serde_saphyr::Spanned<Scalar<'de>> as serde::Deserialize<'de>>::deserialize(d)?;
    let raw = || {
        let span = sp.defined.span();
        let start = usize::try_from(span.byte_offset()?).ok()?;
        let len = usize::try_from(span.byte_len()?).ok()?;
        let text = src.get(start..start.checked_add(len)?)?.trim();
        let plain = !text.is_empty() && !text.contains(['\n', '"', '\'', '!', '&', '*']);
        plain.then_some(text)
    };
    Ok(match &sp.value {
        Scalar::Null => Value::Null,
        Scalar::Bool(b) => convert(conv, In::Bool(*b), path),
        Scalar::I64(i) => raw().map_or_else(|| convert(conv, In::I64(*i), path), |r| convert(conv, In::Str(r), path)),
        Scalar::U64(u) => raw().map_or_else(|| convert(conv, In::U64(*u), path), |r| convert(conv, In::Str(r), path)),
        Scalar::F64(f) => raw().map_or_else(|| convert(conv, In::F64(*f), path), |r| convert(conv, In::Str(r), path)),
        Scalar::Str(s) => convert(conv, In::Str(s.as_ref()), path),
        Scalar::List => mismatch(conv, path, "a list"),
        Scalar::Map => mismatch(conv, path, "an object"),
    })
}

/// A YAML value read for a string field: scalars as resolved, containers skipped.
enum Scalar<'de> {
    Null,
    Bool(bool),
    I64(i64),
    U64(u64),
    F64(f64),
    Str(Cow<'de, str>),
    List,
    Map,
}

impl<'de> serde::Deserialize<'de> for Scalar<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(ScalarVisitor)
    }
}

struct ScalarVisitor;

impl<'de> Visitor<'de> for ScalarVisitor {
    type Value = Scalar<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a value")
    }

    fn visit_unit<E>(self) -> Result<Scalar<'de>, E> {
        Ok(Scalar::Null)
    }

    fn visit_none<E>(self) -> Result<Scalar<'de>, E> {
        Ok(Scalar::Null)
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Scalar<'de>, D::Error> {
        d.deserialize_any(self)
    }

    fn visit_bool<E>(self, v: bool) -> Result<Scalar<'de>, E> {
        Ok(Scalar::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Scalar<'de>, E> {
        Ok(Scalar::I64(v))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Scalar<'de>, E> {
        Ok(Scalar::U64(v))
    }

    fn visit_f64<E>(self, v: f64) -> Result<Scalar<'de>, E> {
        Ok(Scalar::F64(v))
    }

    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Scalar<'de>, E> {
        Ok(Scalar::Str(Cow::Borrowed(v)))
    }

    fn visit_str<E>(self, v: &str) -> Result<Scalar<'de>, E> {
        Ok(Scalar::Str(Cow::Owned(v.to_string())))
    }

    fn visit_string<E>(self, v: String) -> Result<Scalar<'de>, E> {
        Ok(Scalar::Str(Cow::Owned(v)))
    }

    fn visit_bytes<E>(self, v: &[u8]) -> Result<Scalar<'de>, E> {
        Ok(Scalar::Str(Cow::Owned(String::from_utf8_lossy(v).into_owned())))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Scalar<'de>, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Scalar::List)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Scalar<'de>, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(Scalar::Map)
    }
}

impl<'de> Visitor<'de> for TypedSeed<'_> {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a value")
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(convert(self.conv, In::Bool(v), self.path))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(convert(self.conv, In::I64(v), self.path))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(convert(self.conv, In::U64(v), self.path))
    }

    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(convert(self.conv, In::F64(v), self.path))
    }

    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(convert(self.conv, In::Str(v), self.path))
    }

    fn visit_bytes<E>(self, v: &[u8]) -> Result<Value, E> {
        Ok(convert(self.conv, In::Str(&String::from_utf8_lossy(v)), self.path))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let any = Conv::any();
        let inner = match &self.conv.kind {
            ConvKind::List(inner) => inner,
            ConvKind::Any => &any,
            _ => {
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                return Ok(mismatch(self.conv, self.path, "a list"));
            }
        };
        // Elements gather in a reused buffer, so a list costs one allocation (its own).
        let mut out = LIST_BUFFERS.with(|b| b.borrow_mut().pop()).unwrap_or_default();
        out.clear();
        let mut bad = None;
        let res = loop {
            if bad.is_some() {
                match seq.next_element::<IgnoredAny>() {
                    Ok(Some(_)) => continue,
                    Ok(None) => break Ok(()),
                    Err(e) => break Err(e),
                }
            }
            let seed = TypedSeed { conv: inner, path: Path::Elem(&self.path, out.len()), yaml: self.yaml };
            match seq.next_element_seed(seed) {
                Ok(None) => break Ok(()),
                Ok(Some(Value::Bad(r))) => bad = Some(Value::Bad(r)),
                Ok(Some(v)) => out.push(v),
                Err(e) => break Err(e),
            }
        };
        let list = bad.unwrap_or_else(|| Value::List(out.drain(..).collect()));
        out.clear();
        if out.capacity() <= MAX_LIST_BUFFER {
            LIST_BUFFERS.with(|b| b.borrow_mut().push(out));
        }
        res.map(|()| list)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        if !matches!(self.conv.kind, ConvKind::Any) {
            while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
            return Ok(mismatch(self.conv, self.path, "an object"));
        }
        let mut pairs: Vec<(Arc<str>, Value)> = Vec::new();
        // Keys met, once the object is large enough for a linear search to cost.
        let mut index: Option<std::collections::HashSet<Arc<str>, foldhash::fast::RandomState>> = None;
        while let Some(key) = map.next_key_seed(AnyKey)? {
            match key {
                Some(k) => {
                    let again = if pairs.len() < 16 {
                        pairs.iter().any(|(p, _)| *p == k)
                    } else {
                        let index = index.get_or_insert_with(|| pairs.iter().map(|(p, _)| p.clone()).collect());
                        !index.insert(k.clone())
                    };
                    if again {
                        // Every key of a value read whole is read.
                        return Err(de::Error::custom(format!("{DUPLICATE_KEY} `{k}` in `{}`", self.path)));
                    }
                    let v = map.next_value_seed(TypedSeed { conv: self.conv, path: self.path, yaml: None })?;
                    pairs.push((k, v));
                }
                None => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(Value::Object(pairs.into()))
    }
}

/// A key of an `any` object, as a string (`None`: a complex key, skipped).
struct AnyKey;

impl<'de> DeserializeSeed<'de> for AnyKey {
    type Value = Option<Arc<str>>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for AnyKey {
    type Value = Option<Arc<str>>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a key")
    }

    fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Some(Arc::from(v)))
    }

    fn visit_bool<E>(self, v: bool) -> Result<Self::Value, E> {
        Ok(Some(Arc::from(if v { "true" } else { "false" })))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Self::Value, E> {
        Ok(Some(v.to_string().into()))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Self::Value, E> {
        Ok(Some(v.to_string().into()))
    }

    fn visit_f64<E>(self, v: f64) -> Result<Self::Value, E> {
        Ok(Some(format_decimal(v).into()))
    }

    fn visit_bytes<E>(self, v: &[u8]) -> Result<Self::Value, E> {
        Ok(Some(String::from_utf8_lossy(v).into()))
    }

    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(Some(Arc::from("null")))
    }

    fn visit_none<E>(self) -> Result<Self::Value, E> {
        Ok(Some(Arc::from("null")))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(None)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(None)
    }
}
