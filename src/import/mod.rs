//! STAGE 0 (optional), vendor exports → tenant snapshots: `tenet import`, `tenet check
//! --from`, and a test case's `from:`.
//!
//! A SOURCE is a directory of one tenant's export files, or a directory of such
//! directories (bulk). `read.rs` reads the files into the tables an adapter declares,
//! `map.rs` turns tables into one tenant in tenet's own snapshot format by the adapter's
//! mappings (`adapter.rs`; the built-in ones are `adapters/*.yaml`), and `overlay.rs`
//! merges what the export lacks. The result is ordinary snapshot JSON, decoded by
//! `snapshot::decode` like any other input, so an imported tenant and the same tenant
//! written to a file give the same findings. `origin.rs` keeps where each entity was
//! written in the export files (`snapshot::Origins`), and findings point there.

pub mod adapter;
mod map;
mod origin;
pub mod overlay;
mod read;

pub use adapter::Adapter;
pub use map::Filled;
pub use overlay::Overlay;

use crate::diagnostic::Diagnostic;
use crate::finding::Location;
use crate::fsio;
use crate::model::{KindId, Model, Type};
use crate::snapshot::{Content, Document, InputError, Origins};
use serde_json::Value as J;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The vendors with a built-in adapter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Vendor {
    Frappe,
    Netsuite,
}

impl Vendor {
    pub fn name(self) -> &'static str {
        match self {
            Vendor::Frappe => "frappe",
            Vendor::Netsuite => "netsuite",
        }
    }

    pub fn parse(s: &str) -> Option<Vendor> {
        match s {
            "frappe" | "erpnext" => Some(Vendor::Frappe),
            "netsuite" => Some(Vendor::Netsuite),
            _ => None,
        }
    }
}

/// Why an import could not start.
#[derive(Debug)]
pub enum SetupError {
    Usage(String),
    Adapter(Vec<Diagnostic>),
}

/// The adapter for a vendor: the built-in one, or the file given with `--adapter`.
pub fn load_adapter(vendor: Vendor, file: Option<&str>, model: &Model) -> Result<Adapter, SetupError> {
    match file {
        None => {
            let text = match vendor {
                Vendor::Frappe => adapter::FRAPPE,
                Vendor::Netsuite => adapter::NETSUITE,
            };
            adapter::builtin(text, vendor.name(), model).map_err(SetupError::Adapter)
        }
        Some(p) => {
            let bytes = fsio::read_file(Path::new(p), p, fsio::MAX_SOURCE_BYTES).map_err(SetupError::Usage)?;
            let text =
                String::from_utf8(bytes).map_err(|_| SetupError::Usage(format!("adapter `{p}` is not UTF-8 text")))?;
            adapter::load(&crate::source::SourceFile::new(p, text), model).map_err(SetupError::Adapter)
        }
    }
}

/// One imported tenant.
pub struct Imported {
    /// The tenant's export directory, as shown.
    pub dir: String,
    /// The snapshot and what filled it, or why the tenant could not be imported (each
    /// message names the file).
    pub result: Result<(J, Filled), Failure>,
}

/// Why a tenant could not be imported: the message (naming the file), and where the
/// problem is: the broken export file, at the line and column of the error when it has
/// one, else at 1:1 (the tenant's export directory when no file is to blame).
#[derive(Debug, Clone)]
pub struct Failure {
    pub message: String,
    pub at: Location,
}

impl Failure {
    /// A failure at the start of `file` (as shown).
    pub fn in_file(message: String, file: &str) -> Failure {
        Failure { message, at: Location::new(Arc::from(file), 1, 1) }
    }
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

/// The export files under a SOURCE directory, per tenant: `(tenant dir as shown, its
/// directory name, entries)`. A directory with export files directly inside is one
/// tenant; otherwise each subdirectory is one.
fn tenant_dirs(source: &str) -> Result<Vec<TenantDir>, String> {
    let root = Path::new(source);
    match fsio::kind(root, source)? {
        fsio::Kind::Dir => {}
        fsio::Kind::File(_) => {
            return Err(format!(
                "`{source}` is a file; an import SOURCE is a directory of export files (or of such directories)"
            ))
        }
    }
    let wants = |name: &str| {
        let n = name.to_ascii_lowercase();
        n.ends_with(".json") || n.ends_with(".csv")
    };
    let entries = fsio::walk(root, source, &wants, &[]);
    // (Every entry is at most as deep as the walk went; `group` indexes its path below.)
    let rel = |e: &fsio::Entry| -> Vec<String> {
        let shown = match e {
            fsio::Entry::File { shown, .. } | fsio::Entry::Error { shown, .. } => shown,
        };
        Path::new(shown)
            .strip_prefix(source)
            .map(|p| p.components().map(|c| c.as_os_str().to_string_lossy().into_owned()).collect())
            .unwrap_or_default()
    };
    let dir_name = |p: &Path| {
        std::fs::canonicalize(p)
            .ok()
            .and_then(|c| c.file_name().map(|n| n.to_string_lossy().into_owned()))
            .unwrap_or_else(|| source.to_string())
    };
    if entries.is_empty() {
        return Ok(vec![(source.to_string(), dir_name(root), Vec::new())]);
    }
    let items: Vec<Placed> = entries.into_iter().map(|e| (rel(&e), e)).collect();
    let mut out = Vec::new();
    group(source, dir_name(root), 0, items, &mut out);
    Ok(out)
}

/// Entries with their path below the SOURCE, component by component.
type Placed = (Vec<String>, fsio::Entry);
/// A tenant's export directory: as shown, its name, its entries.
type TenantDir = (String, String, Vec<fsio::Entry>);

/// Splits a directory's entries into tenants: the directory is one tenant when an export
/// file (or an unreadable entry) lies directly in it; otherwise each subdirectory is
/// looked at the same way, so a directory of bulk directories works too.
fn group(shown: &str, name: String, depth: usize, items: Vec<Placed>, out: &mut Vec<TenantDir>) {
    if items.iter().any(|(rel, _)| rel.len() <= depth + 1) {
        out.push((shown.to_string(), name, items.into_iter().map(|(_, e)| e).collect()));
        return;
    }
    let mut subdirs: Vec<(String, Vec<Placed>)> = Vec::new();
    for (rel, e) in items {
        let first = rel[depth].clone();
        match subdirs.last_mut() {
            Some(last) if last.0 == first => last.1.push((rel, e)),
            _ => subdirs.push((first, vec![(rel, e)])),
        }
    }
    for (first, items) in subdirs {
        let sub = Path::new(shown).join(&first).to_string_lossy().into_owned();
        group(&sub, first, depth + 1, items, out);
    }
}

/// Imports every tenant under the SOURCE directories, in order. Only a SOURCE that is
/// not a directory is an error for the whole import; a broken export file costs its
/// tenant only.
pub fn import(
    sources: &[String],
    adapter: &Adapter,
    overlay: Option<&Overlay>,
    model: &Model,
) -> Result<Vec<Imported>, String> {
    let mut out = Vec::new();
    for source in sources {
        for (dir, name, entries) in tenant_dirs(source)? {
            let result = one(adapter, model, &dir, &name, &entries, overlay);
            out.push(Imported { dir, result });
        }
    }
    Ok(out)
}

fn one(
    adapter: &Adapter,
    model: &Model,
    dir: &str,
    name: &str,
    entries: &[fsio::Entry],
    overlay: Option<&Overlay>,
) -> Result<(J, Filled), Failure> {
    if entries.is_empty() {
        return Err(Failure::in_file(format!("no export files (.json, .csv) in `{dir}`"), dir));
    }
    let mut tables = read::Tables::new(adapter);
    let mut errors = Vec::new();
    for e in entries {
        match e {
            fsio::Entry::File { path, shown } => {
                let f = read::FileIn { path, shown };
                if let Err(failure) = tables.read(adapter, &f, crate::snapshot::MAX_DOC_BYTES as u64) {
                    errors.push(failure);
                }
            }
            fsio::Entry::Error { message, shown } => errors.push(Failure::in_file(message.clone(), shown)),
        }
    }
    if errors.is_empty() {
        if let Err(failure) = tables.finish(adapter) {
            errors.push(failure);
        }
    }
    // The finding points at the first problem (in path order); the message lists them all.
    if let Some(first) = errors.first() {
        let all: Vec<&str> = errors.iter().map(|e| e.message.as_str()).collect();
        return Err(Failure { message: format!("cannot import `{dir}`: {}", all.join("; ")), at: first.at.clone() });
    }
    let (mut snap, mut filled, mut records) = map::tenant(adapter, model, &tables, name);
    if records.tenant.is_none() {
        records.tenant = Some(Location::new(Arc::from(dir), 1, 1));
    }
    let id = snap.get("id").and_then(J::as_str).map(str::to_string);
    if let (Some(ov), J::Object(obj)) = (overlay, &mut snap) {
        if let Some(values) = ov.for_tenant(id.as_deref()) {
            let mut set = Vec::new();
            overlay::merge(obj, values, "", &mut set);
            let from = format!("overlay {}", ov.shown);
            for p in set {
                let f = field_name(model, &p);
                match filled.fields.iter_mut().find(|(n, _)| *n == f) {
                    Some((_, srcs)) => {
                        if !srcs.contains(&from) {
                            srcs.push(from.clone())
                        }
                    }
                    None => filled.fields.push((f, vec![from.clone()])),
                }
            }
        }
    }
    // The entities are all in place (ordering keys moves none): the tags can go.
    filled.origins = origin::collect(model, &mut snap, records, overlay.map(|ov| (ov, id.as_deref())));
    if let J::Object(obj) = snap {
        snap = J::Object(map::ordered(model, 0, obj));
    }
    Ok((snap, filled))
}

/// `users.roles` (a path in a snapshot) → `user.roles` (kind.field).
fn field_name(model: &Model, path: &str) -> String {
    let mut kind: KindId = 0;
    let mut rest = path;
    while let Some((head, tail)) = rest.split_once('.') {
        match model.kind(kind).children.iter().find(|c| model.kind(**c).collection.as_deref() == Some(head)) {
            Some(c) => {
                kind = *c;
                rest = tail;
            }
            None => break,
        }
    }
    format!("{}.{rest}", model.kind(kind).name)
}

/// The fields of the model that no entity of an imported tenant has (for the report):
/// `kind.field` for kinds with entities, and the collections that are absent.
pub fn missing(model: &Model, snap: &J) -> Vec<String> {
    let mut seen: Vec<Vec<bool>> = model.kinds.iter().map(|k| vec![false; k.fields.len()]).collect();
    let mut has_entities = vec![false; model.kinds.len()];
    has_entities[0] = true;
    walk_present(model, 0, snap, &mut seen, &mut has_entities);
    let mut out = Vec::new();
    for (kid, kind) in model.kinds.iter().enumerate() {
        if !has_entities[kid] {
            continue;
        }
        for (fi, f) in kind.fields.iter().enumerate() {
            if !seen[kid][fi] {
                let coll = matches!(&f.ty, Type::List(e) if matches!(**e, Type::Entity(_)));
                out.push(if coll {
                    format!("{}.{} (collection)", kind.name, f.name)
                } else {
                    format!("{}.{}", kind.name, f.name)
                });
            }
        }
    }
    out
}

fn walk_present(model: &Model, kind: KindId, v: &J, seen: &mut [Vec<bool>], has: &mut [bool]) {
    let J::Object(o) = v else { return };
    has[kind as usize] = true;
    for (fi, f) in model.kind(kind).fields.iter().enumerate() {
        let mut cur = Some(v);
        for part in f.name.split('.') {
            cur = cur.and_then(|c| c.get(part));
        }
        if cur.is_some_and(|c| !c.is_null()) {
            seen[kind as usize][fi] = true;
        }
    }
    for &c in &model.kind(kind).children {
        if let Some(J::Array(items)) = model.kind(c).collection.as_deref().and_then(|n| o.get(n)) {
            for i in items {
                walk_present(model, c, i, seen, has);
            }
        }
    }
}

/// Imported tenants as documents for the check pipeline: the snapshot as JSON with where
/// its entities are written in the export, or an input error naming the file and pointing
/// at the problem in it.
pub fn documents(imported: Vec<Imported>) -> Vec<Document> {
    imported
        .into_iter()
        .map(|t| {
            let source: Arc<str> = Arc::from(t.dir.as_str());
            let (content, origins) = match t.result {
                Ok((snap, filled)) => {
                    (Ok(Content::Json(serde_json::to_vec(&snap).unwrap_or_default())), Some(Box::new(filled.origins)))
                }
                // The `input` finding points at the broken file (`Origins::of("")`).
                Err(e) => (
                    Err(InputError::new(e.message)),
                    Some(Box::new(Origins { tenant: Some(e.at), entities: Default::default() })),
                ),
            };
            Document { label: t.dir, source, content, origins }
        })
        .collect()
}

/// Everything an import needs besides the SOURCE paths, read once.
pub struct Setup {
    pub adapter: Adapter,
    pub overlay: Option<Overlay>,
}

/// Loads the adapter and the overlay named on a command line or in a test case.
pub fn setup(vendor: Vendor, adapter: Option<&str>, overlay: Option<&str>, model: &Model) -> Result<Setup, SetupError> {
    let adapter = load_adapter(vendor, adapter, model)?;
    let overlay = match overlay {
        Some(p) => Some(overlay::load(&PathBuf::from(p), p).map_err(SetupError::Usage)?),
        None => None,
    };
    Ok(Setup { adapter, overlay })
}
