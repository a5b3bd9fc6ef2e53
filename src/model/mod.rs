//! The data model: the nouns of the language.
//!
//! A [`Model`] names the entity kinds of a snapshot (tenant-model.md), where their
//! collections are, their fields with [`Type`]s and defaults, and which fields reference
//! other entities. The built-in `erp` model is data (`erp.yaml`), embedded in the binary
//! and loaded by the same code as `--model FILE`.

mod load;

use crate::value::Value;
use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

pub use load::{load, BUILTIN_ERP};

/// Index of a kind in [`Model::kinds`]. The root kind is always 0.
pub type KindId = u16;
/// Index of a field in [`Kind::fields`].
pub type FieldId = u16;

/// The most kinds a model may have (kind sets are 64-bit masks).
pub const MAX_KINDS: usize = 64;

#[derive(Debug, Clone)]
pub struct Model {
    pub name: String,
    pub kinds: Vec<Kind>,
    by_name: HashMap<String, KindId>,
    /// The YAML text the model was loaded from (`tenet model show`).
    pub source: Arc<str>,
}

#[derive(Debug, Clone)]
pub struct Kind {
    pub name: String,
    /// The kind whose entities hold this kind's collection; `None` for the root.
    pub parent: Option<KindId>,
    /// The field of the parent holding the collection (`sessions`).
    pub collection: Option<String>,
    /// The field of the parent kind that is the collection.
    pub collection_field: Option<FieldId>,
    /// The key field (`id`).
    pub key: Option<FieldId>,
    pub fields: Vec<Field>,
    /// Child kinds, in declaration order.
    pub children: Vec<KindId>,
    /// Depth below the root (root: 0).
    pub depth: u32,
}

#[derive(Debug, Clone)]
pub struct Field {
    /// The field's name, dotted for nested objects (`plan.seats`).
    pub name: String,
    pub ty: Type,
    /// The model's default, used when the field is absent or null.
    pub default: Option<Value>,
    /// The `#` comment lines right above the field in the model file (editor hover).
    pub doc: Option<String>,
}

/// The static type of a field or expression.
#[derive(Debug, Clone, PartialEq)]
pub enum Type {
    /// Unknown until evaluation: `x["key"]`, fields typed `any`.
    Any,
    Null,
    Bool,
    Int,
    Decimal,
    String,
    Date,
    Duration,
    /// A string restricted to these values.
    Enum(Arc<[String]>),
    List(Box<Type>),
    /// One entity of a kind.
    Entity(KindId),
    /// A string key of an entity of a kind.
    Ref(KindId),
}

impl Type {
    pub fn is_numeric(&self) -> bool {
        matches!(self, Type::Int | Type::Decimal)
    }

    pub fn is_stringy(&self) -> bool {
        matches!(self, Type::String | Type::Enum(_) | Type::Ref(_))
    }

    pub fn is_list(&self) -> bool {
        matches!(self, Type::List(_))
    }

    pub fn elem(&self) -> Option<&Type> {
        match self {
            Type::List(t) => Some(t),
            _ => None,
        }
    }

    /// Display with kind names.
    pub fn show<'a>(&'a self, model: &'a Model) -> ShowType<'a> {
        ShowType(self, model)
    }
}

pub struct ShowType<'a>(&'a Type, &'a Model);

impl fmt::Display for ShowType<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let m = self.1;
        match self.0 {
            Type::Any => f.write_str("any"),
            Type::Null => f.write_str("null"),
            Type::Bool => f.write_str("bool"),
            Type::Int => f.write_str("int"),
            Type::Decimal => f.write_str("decimal"),
            Type::String => f.write_str("string"),
            Type::Date => f.write_str("date"),
            Type::Duration => f.write_str("duration"),
            Type::Enum(vals) => write!(f, "enum({})", vals.join("|")),
            Type::List(t) => write!(f, "list<{}>", t.show(m)),
            Type::Entity(k) => f.write_str(m.kind_name(*k)),
            Type::Ref(k) => write!(f, "ref<{}>", m.kind_name(*k)),
        }
    }
}

impl Model {
    /// The root kind (the tenant).
    pub const ROOT: KindId = 0;

    pub fn kind(&self, id: KindId) -> &Kind {
        &self.kinds[id as usize]
    }

    pub fn kind_name(&self, id: KindId) -> &str {
        self.kinds.get(id as usize).map_or("?", |k| k.name.as_str())
    }

    pub fn kind_id(&self, name: &str) -> Option<KindId> {
        self.by_name.get(name).copied()
    }

    pub fn field(&self, kind: KindId, field: FieldId) -> &Field {
        &self.kinds[kind as usize].fields[field as usize]
    }

    pub fn field_id(&self, kind: KindId, name: &str) -> Option<FieldId> {
        self.kind(kind).fields.iter().position(|f| f.name == name).map(|i| i as FieldId)
    }

    /// Whether `name` is the first segments of some dotted field (`plan` of `plan.seats`).
    pub fn is_prefix(&self, kind: KindId, name: &str) -> bool {
        self.kind(kind)
            .fields
            .iter()
            .any(|f| f.name.len() > name.len() && f.name.starts_with(name) && f.name.as_bytes()[name.len()] == b'.')
    }

    /// `anc` is `kind` or one of its ancestors.
    pub fn is_ancestor_or_self(&self, anc: KindId, kind: KindId) -> bool {
        let mut k = Some(kind);
        while let Some(c) = k {
            if c == anc {
                return true;
            }
            k = self.kind(c).parent;
        }
        false
    }

    /// The kind and its ancestors, as a set.
    pub fn lineage(&self, kind: KindId) -> KindSet {
        let mut set = KindSet::EMPTY;
        let mut k = Some(kind);
        while let Some(c) = k {
            set.insert(c);
            k = self.kind(c).parent;
        }
        set
    }

    fn new(name: String, kinds: Vec<Kind>, source: Arc<str>) -> Model {
        let by_name = kinds.iter().enumerate().map(|(i, k)| (k.name.clone(), i as KindId)).collect();
        Model { name, kinds, by_name, source }
    }
}

/// A set of kinds, as a 64-bit mask.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub struct KindSet(pub u64);

impl KindSet {
    pub const EMPTY: KindSet = KindSet(0);

    pub fn one(k: KindId) -> KindSet {
        KindSet(1u64 << (k as u32 % 64))
    }

    pub fn insert(&mut self, k: KindId) {
        self.0 |= 1u64 << (k as u32 % 64);
    }

    pub fn contains(self, k: KindId) -> bool {
        self.0 & (1u64 << (k as u32 % 64)) != 0
    }

    pub fn union(self, o: KindSet) -> KindSet {
        KindSet(self.0 | o.0)
    }

    pub fn minus(self, o: KindSet) -> KindSet {
        KindSet(self.0 & !o.0)
    }

    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    pub fn iter(self) -> impl Iterator<Item = KindId> {
        (0..64u16).filter(move |k| self.contains(*k))
    }
}
