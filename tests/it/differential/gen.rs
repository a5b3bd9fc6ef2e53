//! Random well-typed policies and hostile tenants over the built-in `erp` model.
//!
//! Everything is drawn from a byte string (`Src`): proptest generates and shrinks the bytes,
//! and a byte of 0 (or running out of bytes) always means "the simplest choice", so a
//! shrunk failure is a small policy and a small tenant.

use serde_json::{json, Map, Value as Json};

/// A source of choices.
pub struct Src<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Src<'a> {
    pub fn new(bytes: &'a [u8]) -> Self {
        Src { bytes, at: 0 }
    }

    fn byte(&mut self) -> u8 {
        let b = self.bytes.get(self.at).copied().unwrap_or(0);
        self.at += 1;
        b
    }

    /// A number in `0..n` (0 when the bytes run out).
    pub fn pick(&mut self, n: usize) -> usize {
        if n <= 1 {
            return 0;
        }
        self.byte() as usize % n
    }

    /// True with probability about `pct`%.
    pub fn chance(&mut self, pct: usize) -> bool {
        let b = self.byte() as usize;
        b != 0 && b * 100 / 256 < pct
    }

    fn one<T: Clone>(&mut self, xs: &[T]) -> T {
        xs[self.pick(xs.len())].clone()
    }
}

// ---------------------------------------------------------------------------------------
// The model, as the contract states it (tenant-model.md §2), written out by hand.

#[derive(Clone, Debug, PartialEq)]
pub enum FTy {
    Str,
    Int,
    Bool,
    Date,
    Dur,
    Enum(&'static [&'static str]),
    ListStr,
    ListRef(&'static str),
    Ref(&'static str),
    /// A collection of child entities of this kind.
    Coll(&'static str),
}

pub struct Field {
    pub name: &'static str,
    pub ty: FTy,
    /// The model default, as JSON.
    pub default: Option<Json>,
}

const PLATFORM: &[&str] = &["netsuite", "erpnext", "other"];
const ROLE_STATUS: &[&str] = &["active", "pending_approval", "inactive"];
const USER_KIND: &[&str] = &["human", "integration"];
const CLIENT: &[&str] = &["web", "mobile_app", "api"];
const AUTH: &[&str] = &["oauth2", "tba", "basic"];
const API: &[&str] = &["rest", "soap", "suiteanalytics_connect"];
const CERT_STATUS: &[&str] = &["active", "revoked", "expired"];

pub const KINDS: &[&str] = &["tenant", "role", "user", "session", "integration", "cert"];

pub fn parent(kind: &str) -> Option<&'static str> {
    match kind {
        "role" | "user" | "integration" => Some("tenant"),
        "session" => Some("user"),
        "cert" => Some("integration"),
        _ => None,
    }
}

/// The field of the parent that holds a kind's collection.
pub fn collection(kind: &str) -> &'static str {
    match kind {
        "role" => "roles",
        "user" => "users",
        "integration" => "integrations",
        "session" => "sessions",
        "cert" => "certificates",
        _ => "",
    }
}

/// The kind and its ancestors, innermost first.
pub fn chain(kind: &str) -> Vec<&'static str> {
    let mut out = vec![*KINDS.iter().find(|k| **k == kind).unwrap_or(&"tenant")];
    let mut k = kind;
    while let Some(p) = parent(k) {
        out.push(p);
        k = p;
    }
    out
}

pub fn fields(kind: &str) -> Vec<Field> {
    let f = |name, ty| Field { name, ty, default: None };
    let d = |name, ty, v: Json| Field { name, ty, default: Some(v) };
    match kind {
        "tenant" => vec![
            f("id", FTy::Str),
            f("name", FTy::Str),
            f("platform", FTy::Enum(PLATFORM)),
            f("release", FTy::Str),
            f("plan.seats", FTy::Int),
            d("settings.only_one_session_per_user", FTy::Bool, json!(false)),
            f("settings.session_expiry", FTy::Dur),
            f("settings.session_expiry_mobile", FTy::Dur),
            d("settings.login_notifications", FTy::Bool, json!(false)),
            d("roles", FTy::Coll("role"), json!([])),
            d("users", FTy::Coll("user"), json!([])),
            d("integrations", FTy::Coll("integration"), json!([])),
        ],
        "role" => vec![
            f("id", FTy::Str),
            f("name", FTy::Str),
            d("multiple_sessions", FTy::Bool, json!(false)),
            d("2fa", FTy::Bool, json!(false)),
            d("status", FTy::Enum(ROLE_STATUS), json!("active")),
            d("permissions", FTy::ListStr, json!([])),
        ],
        "user" => vec![
            f("id", FTy::Str),
            f("email", FTy::Str),
            d("kind", FTy::Enum(USER_KIND), json!("human")),
            d("roles", FTy::ListRef("role"), json!([])),
            d("two_factor", FTy::Bool, json!(false)),
            d("session_cap", FTy::Int, json!(1)),
            f("last_login", FTy::Date),
            d("sessions", FTy::Coll("session"), json!([])),
        ],
        "session" => vec![
            f("id", FTy::Str),
            d("client", FTy::Enum(CLIENT), json!("web")),
            f("device", FTy::Str),
            f("browser", FTy::Str),
            f("ip", FTy::Str),
            f("started_at", FTy::Date),
            f("last_seen", FTy::Date),
            d("acknowledged", FTy::Bool, json!(false)),
        ],
        "integration" => vec![
            f("id", FTy::Str),
            f("name", FTy::Str),
            f("auth_method", FTy::Enum(AUTH)),
            d("api", FTy::Enum(API), json!("rest")),
            f("created_at", FTy::Date),
            f("last_reviewed", FTy::Date),
            f("integration_user", FTy::Ref("user")),
            d("redirect_uris", FTy::ListStr, json!([])),
            d("pkce", FTy::Bool, json!(false)),
            d("critical", FTy::Bool, json!(false)),
            f("category", FTy::Str),
            d("certificates", FTy::Coll("cert"), json!([])),
        ],
        "cert" => vec![
            f("id", FTy::Str),
            f("status", FTy::Enum(CERT_STATUS)),
            f("created_at", FTy::Date),
            f("expires_at", FTy::Date),
        ],
        _ => vec![],
    }
}

pub fn field(kind: &str, name: &str) -> Option<Field> {
    fields(kind).into_iter().find(|f| f.name == name)
}

// ---------------------------------------------------------------------------------------
// The generated subset of the language.

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Bin {
    And,
    Or,
    Requires,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    In,
    NotIn,
    Matches,
    Add,
    Sub,
    Mul,
    Div,
    Rem,
}

impl Bin {
    fn text(self) -> &'static str {
        match self {
            Bin::And => "and",
            Bin::Or => "or",
            Bin::Requires => "requires",
            Bin::Eq => "==",
            Bin::Ne => "!=",
            Bin::Lt => "<",
            Bin::Le => "<=",
            Bin::Gt => ">",
            Bin::Ge => ">=",
            Bin::In => "in",
            Bin::NotIn => "not in",
            Bin::Matches => "matches",
            Bin::Add => "+",
            Bin::Sub => "-",
            Bin::Mul => "*",
            Bin::Div => "/",
            Bin::Rem => "%",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Quant {
    Any,
    All,
    None,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Expr {
    Bool(bool),
    Int(i64),
    /// A decimal literal: its text and value (only values a double holds exactly).
    Dec(&'static str, f64),
    Str(String),
    /// A date or date-time literal: its text.
    Date(&'static str),
    /// A duration literal: amount and unit (`s m h d w y`).
    Dur(i64, char),
    Now,
    List(Vec<Expr>),
    /// A variable: a kind name, a name bound by `as`, or `it`.
    Var(String),
    /// A field of the tenant root written bare (`plan.seats`, `users`).
    Root(&'static str),
    /// `BASE.field`: BASE is an entity, or a reference to one.
    Field(Box<Expr>, &'static str),
    /// `BASE["key"]`.
    Key(Box<Expr>, &'static str),
    /// `LIST[i]`.
    Index(Box<Expr>, usize),
    /// `LIST.field` over a list of entities: the list of their values.
    Project(Box<Expr>, &'static str),
    Not(Box<Expr>),
    Neg(Box<Expr>),
    Bin(Bin, Box<Expr>, Box<Expr>),
    Has(Box<Expr>),
    /// `PATH == null` (false) or `PATH != null` (true).
    IsNull(Box<Expr>, bool),
    Coalesce(Box<Expr>, Box<Expr>),
    /// `count sum min max avg len lower upper starts_with ends_with contains age days`
    Call(&'static str, Vec<Expr>),
    /// `LIST [as NAME] where PRED`; `elem` is the name the element is bound to.
    Filter {
        list: Box<Expr>,
        elem: String,
        binder: bool,
        pred: Box<Expr>,
    },
    Quant {
        q: Quant,
        list: Box<Expr>,
        elem: String,
        pred: Box<Expr>,
    },
    /// An aggregate of a single-valued argument, ranging over every entity of `kind` under
    /// the rule's bound ancestors (language.md §4).
    Range {
        agg: &'static str,
        kind: &'static str,
        arg: Box<Expr>,
    },
}

pub struct Rule {
    pub name: String,
    pub guard: Option<Expr>,
    pub assert: Expr,
}

/// `let KIND.NAME = EXPR`.
pub struct Let {
    pub kind: &'static str,
    pub name: &'static str,
    pub body: Expr,
}

pub struct Policy {
    /// Parameters: `NAME = LITERAL`.
    pub params: Vec<(&'static str, Expr)>,
    pub lets: Vec<Let>,
    pub rules: Vec<Rule>,
}

fn b(e: Expr) -> Box<Expr> {
    Box::new(e)
}

// ---------------------------------------------------------------------------------------
// Printing: every compound expression is parenthesized, so precedence never matters.

pub fn print(e: &Expr) -> String {
    match e {
        Expr::Bool(v) => v.to_string(),
        Expr::Int(v) if *v < 0 => format!("({v})"),
        Expr::Int(v) => v.to_string(),
        Expr::Dec(t, _) if t.starts_with('-') => format!("({t})"),
        Expr::Dec(t, _) => t.to_string(),
        Expr::Str(s) => {
            let mut out = String::from("\"");
            for c in s.chars() {
                match c {
                    '"' => out.push_str("\\\""),
                    '\\' => out.push_str("\\\\"),
                    c if (c as u32) < 0x20 || (c as u32) > 0x7e => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
                    c => out.push(c),
                }
            }
            out.push('"');
            out
        }
        Expr::Date(t) => t.to_string(),
        Expr::Dur(n, u) => format!("{n}{u}"),
        Expr::Now => "now".into(),
        Expr::List(xs) => format!("[{}]", xs.iter().map(print).collect::<Vec<_>>().join(", ")),
        Expr::Var(n) => n.clone(),
        Expr::Root(f) => f.to_string(),
        Expr::Field(base, f) | Expr::Project(base, f) => format!("{}.{f}", print(base)),
        Expr::Key(base, k) => format!("{}[\"{k}\"]", print(base)),
        Expr::Index(base, i) => format!("{}[{i}]", print(base)),
        Expr::Not(x) => format!("(not {})", print(x)),
        Expr::Neg(x) => format!("(-{})", print(x)),
        Expr::Bin(op, l, r) => format!("({} {} {})", print(l), op.text(), print(r)),
        Expr::Has(p) => format!("has({})", print(p)),
        Expr::IsNull(p, false) => format!("({} == null)", print(p)),
        Expr::IsNull(p, true) => format!("({} != null)", print(p)),
        Expr::Coalesce(l, r) => format!("({} ?? {})", print(l), print(r)),
        Expr::Call(f, args) => format!("{f}({})", args.iter().map(print).collect::<Vec<_>>().join(", ")),
        Expr::Filter { list, elem, binder, pred } => {
            if *binder {
                format!("({} as {elem} where {})", print(list), print(pred))
            } else {
                format!("({} where {})", print(list), print(pred))
            }
        }
        Expr::Quant { q, list, pred, .. } => {
            let f = match q {
                Quant::Any => "any",
                Quant::All => "all",
                Quant::None => "none",
            };
            format!("{f}({}: {})", print(list), print(pred))
        }
        Expr::Range { agg, arg, .. } => format!("{agg}({})", print(arg)),
    }
}

pub fn print_policy(p: &Policy) -> String {
    let mut out = String::from("policy \"diff\"\n");
    for (name, value) in &p.params {
        // A negative literal is written without the parentheses `print` adds.
        let text = match value {
            Expr::Int(v) => v.to_string(),
            Expr::Dec(t, _) => t.to_string(),
            other => print(other),
        };
        out.push_str(&format!("{name} = {text}\n"));
    }
    for l in &p.lets {
        out.push_str(&format!("let {}.{} = {}\n", l.kind, l.name, print(&l.body)));
    }
    for r in &p.rules {
        match &r.guard {
            Some(g) => out.push_str(&format!("rule {} when {}: {}\n", r.name, print(g), print(&r.assert))),
            None => out.push_str(&format!("rule {}: {}\n", r.name, print(&r.assert))),
        }
    }
    out
}

/// The same policy in the YAML form (language.md §7): expressions in single-quoted
/// scalars (only `'` is special there), parameters as YAML values.
pub fn print_policy_yaml(p: &Policy) -> String {
    let q = |text: String| format!("'{}'", text.replace('\'', "''"));
    let mut out = String::from("policy: diff\n");
    if !p.params.is_empty() {
        out.push_str("params:\n");
        for (name, value) in &p.params {
            let text = match value {
                Expr::Int(v) => v.to_string(),
                Expr::Dec(t, _) => t.to_string(),
                Expr::Str(s) => q(s.clone()),
                // A string that parses as a duration or date literal is one (§9.9).
                other => q(print(other)),
            };
            out.push_str(&format!("  {name}: {text}\n"));
        }
    }
    if !p.lets.is_empty() {
        out.push_str("let:\n");
        for l in &p.lets {
            out.push_str(&format!("  {}.{}: {}\n", l.kind, l.name, q(print(&l.body))));
        }
    }
    out.push_str("rules:\n");
    for r in &p.rules {
        out.push_str(&format!("  - id: {}\n", r.name));
        if let Some(g) = &r.guard {
            out.push_str(&format!("    when: {}\n", q(print(g))));
        }
        out.push_str(&format!("    assert: {}\n", q(print(&r.assert))));
    }
    out
}

// ---------------------------------------------------------------------------------------
// Policies.

/// Which known engine defects (issue #8) the generator avoids or the comparison sets aside.
/// Each is switched off once the fix is merged, so the classes are tested again.
#[derive(Clone, Copy, Debug, Default)]
pub struct Known {
    /// #9: `has`/`== null` on an absent or null entity collection.
    pub absent_collections: bool,
    /// #10: `has`/`== null` on `x["key"]` of a value that is not an object.
    pub key_of_non_object: bool,
    /// #11: integer against decimal comparisons computed in doubles.
    pub int_dec_compare: bool,
    /// #12: integer keys and references read as strings.
    pub integer_keys: bool,
    /// #14: `sum` of no durations is the integer 0.
    pub sum_empty_durations: bool,
    /// Left out by design: an entity collection that is not a list (`"sessions": 5`) makes
    /// the whole tenant an `input` error (README, "Decisions where the contract was
    /// silent"), which the reference, an evaluator only, does not model. Not generated.
    pub non_list_collections: bool,
}

impl Known {
    /// All fixed (merged from the `semantics` and `inputs` branches): nothing is set aside.
    pub fn current() -> Known {
        Known { non_list_collections: true, ..Known::default() }
    }
}

#[derive(Clone, Copy, PartialEq, Debug)]
enum Ty {
    Bool,
    Int,
    Dec,
    Str,
    Date,
    Dur,
}

#[derive(Clone)]
struct Scope {
    /// Entity variables in scope: (name, kind), innermost last.
    ents: Vec<(String, &'static str)>,
    /// The type of `it`, when a list of plain values is being filtered.
    it: Option<Ty>,
    /// Inside a filter or quantifier predicate (no ranging aggregates there).
    in_pred: bool,
    /// Names given so far with `as`.
    binders: usize,
}

impl Scope {
    fn kind_bound(&self, kind: &str) -> bool {
        self.ents.iter().any(|(n, _)| n == kind)
    }
}

pub struct Gen<'a, 'b> {
    pub s: &'b mut Src<'a>,
    /// Parameters (name, type) the expressions may use.
    params: Vec<(&'static str, Ty)>,
    /// Derived fields (kind, name, type) the expressions may use.
    lets: Vec<(&'static str, &'static str, Ty)>,
}

const STRS: &[&str] = &["a", "Admin", "admin", "", "é", "ß", "x-y", "web", "r0", "u0", "A\u{130}b"];
const PATTERNS: &[&str] = &["^a", "min$", "^$", "[0-9]", "(?i)admin", "é|ß", "^.{2,}$", "-"];
const DATES: &[&str] = &[
    "2026-01-01",
    "2026-11-22",
    "2026-11-21T23:59:59Z",
    "2024-02-29",
    "1970-01-01T00:00:00Z",
    "0001-01-01",
    "9999-12-31",
    "2023-11-22T00:00:00Z",
];
const DECS: &[(&str, f64)] = &[
    ("0.5", 0.5),
    ("2.5", 2.5),
    ("-1.25", -1.25),
    ("0.0", 0.0),
    ("1.0", 1.0),
    ("3.75", 3.75),
    ("9223372036854775808.0", 9_223_372_036_854_775_808.0),
    (BIG_DEC, 1e308),
];

/// 10^308, near the largest double: arithmetic on it overflows to infinity.
const BIG_DEC: &str = "100000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000.0";

impl Gen<'_, '_> {
    fn int_lit(&mut self) -> Expr {
        Expr::Int(self.s.one(&[0, 1, 2, 3, -1, 7, -7, 10, i64::MAX, i64::MIN, i64::MAX - 1, 100]))
    }

    fn entity_vars(&self, sc: &Scope) -> Vec<(String, &'static str)> {
        sc.ents.clone()
    }

    /// A readable field of an entity variable in scope, of a type accepted by `want`.
    fn field_of(&mut self, sc: &Scope, want: &dyn Fn(&FTy) -> bool) -> Option<Expr> {
        let mut options = Vec::new();
        for (name, kind) in self.entity_vars(sc) {
            for f in fields(kind) {
                if want(&f.ty) {
                    options.push((name.clone(), kind, f.name));
                }
            }
            // Through a reference: `integration.integration_user.FIELD`.
            if kind == "integration" {
                for f in fields("user") {
                    if want(&f.ty) && !matches!(f.ty, FTy::Coll(_)) {
                        options.push((name.clone(), "integration_user", f.name));
                    }
                }
            }
        }
        if options.is_empty() {
            return None;
        }
        let (name, kind, f) = options[self.s.pick(options.len())].clone();
        if kind == "integration_user" {
            return Some(Expr::Field(b(Expr::Field(b(Expr::Var(name)), "integration_user")), f));
        }
        if kind == "tenant" && self.s.chance(50) {
            return Some(Expr::Root(f));
        }
        Some(Expr::Field(b(Expr::Var(name)), f))
    }

    fn typed_field(&mut self, sc: &Scope, ty: Ty) -> Option<Expr> {
        let params: Vec<&'static str> = self.params.iter().filter(|p| p.1 == ty).map(|p| p.0).collect();
        if !params.is_empty() && self.s.chance(15) {
            return Some(Expr::Var(self.s.one(&params).to_string()));
        }
        let mut lets = Vec::new();
        for (var, kind) in &sc.ents {
            for (k, name, t) in &self.lets {
                if k == kind && *t == ty {
                    lets.push((var.clone(), *name));
                }
            }
        }
        if !lets.is_empty() && self.s.chance(30) {
            let (var, name) = lets[self.s.pick(lets.len())].clone();
            return Some(Expr::Field(b(Expr::Var(var)), name));
        }
        self.field_of(sc, &|f| match ty {
            Ty::Bool => *f == FTy::Bool,
            Ty::Int => *f == FTy::Int,
            Ty::Str => *f == FTy::Str,
            Ty::Date => *f == FTy::Date,
            Ty::Dur => *f == FTy::Dur,
            Ty::Dec => false,
        })
    }

    /// A path for `has`, `== null` and `??`: a field (of any type) or a raw key.
    fn path(&mut self, sc: &Scope, known: &Known) -> Expr {
        let raw = self.s.chance(25);
        let vars = self.entity_vars(sc);
        if raw {
            let (name, _) = vars[self.s.pick(vars.len())].clone();
            let mut e = Expr::Key(b(Expr::Var(name)), self.s.one(&["x-meta", "tier", "nope"]));
            if !known.key_of_non_object && self.s.chance(40) {
                e = Expr::Key(b(e), "tier");
            }
            return e;
        }
        if self.s.chance(15) {
            if let Some(e) = self.indexed_str(sc) {
                return e;
            }
        }
        let absent_ok = !known.absent_collections;
        self.field_of(sc, &|f| absent_ok || !matches!(f, FTy::Coll(_))).unwrap_or(Expr::Root("plan.seats"))
    }

    /// A string read by position: `role.permissions[1]`, `users[0].email`.
    fn indexed_str(&mut self, sc: &Scope) -> Option<Expr> {
        let i = self.s.one(&[0, 1, 3]);
        let mut options = vec![Expr::Field(b(Expr::Index(b(Expr::Root("users")), i)), "email")];
        for (name, kind) in &sc.ents {
            match *kind {
                "role" => options.push(Expr::Index(b(Expr::Field(b(Expr::Var(name.clone())), "permissions")), i)),
                "integration" => {
                    options.push(Expr::Index(b(Expr::Field(b(Expr::Var(name.clone())), "redirect_uris")), i))
                }
                "user" => options
                    .push(Expr::Field(b(Expr::Index(b(Expr::Field(b(Expr::Var(name.clone())), "roles")), i)), "name")),
                _ => {}
            }
        }
        Some(options[self.s.pick(options.len())].clone())
    }

    /// A list of entities: (expression, element kind).
    fn ent_list(&mut self, sc: &Scope, known: &Known, d: usize) -> (Expr, &'static str) {
        let mut options: Vec<(Expr, &'static str)> = vec![
            (Expr::Root("users"), "user"),
            (Expr::Root("roles"), "role"),
            (Expr::Root("integrations"), "integration"),
            (Expr::Field(b(Expr::Var("tenant".into())), "users"), "user"),
        ];
        for (name, kind) in self.entity_vars(sc) {
            match kind {
                "user" => {
                    options.push((Expr::Field(b(Expr::Var(name.clone())), "sessions"), "session"));
                    options.push((Expr::Field(b(Expr::Var(name.clone())), "roles"), "role"));
                }
                "integration" => {
                    options.push((Expr::Field(b(Expr::Var(name.clone())), "certificates"), "cert"));
                    options.push((
                        Expr::Field(b(Expr::Field(b(Expr::Var(name.clone())), "integration_user")), "sessions"),
                        "session",
                    ));
                }
                _ => {}
            }
        }
        let (list, kind) = options[self.s.pick(options.len())].clone();
        if d > 0 && self.s.chance(35) {
            let (elem, binder) = if sc.kind_bound(kind) || self.s.chance(20) {
                (format!("other{}", sc.binders), true)
            } else {
                (kind.to_string(), false)
            };
            let mut inner = sc.clone();
            inner.ents.push((elem.clone(), kind));
            inner.in_pred = true;
            inner.binders += usize::from(binder);
            let pred = self.bool_(&inner, known, d - 1);
            return (Expr::Filter { list: b(list), elem, binder, pred: b(pred) }, kind);
        }
        (list, kind)
    }

    fn lit(&mut self, ty: Ty) -> Expr {
        match ty {
            Ty::Bool => Expr::Bool(self.s.chance(50)),
            Ty::Int => self.int_lit(),
            Ty::Dec => {
                let (t, v) = self.s.one(DECS);
                Expr::Dec(t, v)
            }
            Ty::Str => Expr::Str(self.s.one(STRS).to_string()),
            Ty::Date => Expr::Date(self.s.one(DATES)),
            Ty::Dur => {
                let n = self.s.one(&[0, 1, 12, 30, 90, 3]);
                Expr::Dur(n, self.s.one(&['s', 'm', 'h', 'd', 'w', 'y']))
            }
        }
    }

    fn value(&mut self, sc: &Scope, known: &Known, ty: Ty, d: usize) -> Expr {
        if sc.it == Some(ty) && self.s.chance(30) {
            return Expr::Var("it".into());
        }
        if d == 0 {
            if self.s.chance(50) {
                if let Some(f) = self.typed_field(sc, ty) {
                    return f;
                }
            }
            return self.lit(ty);
        }
        let d1 = d - 1;
        match ty {
            Ty::Bool => self.bool_(sc, known, d),
            Ty::Int => match self.s.pick(11) {
                0 => self.lit(ty),
                1 => self.typed_field(sc, ty).unwrap_or_else(|| self.lit(ty)),
                2 => {
                    let op = self.s.one(&[Bin::Add, Bin::Sub, Bin::Mul, Bin::Div, Bin::Rem]);
                    Expr::Bin(op, b(self.value(sc, known, Ty::Int, d1)), b(self.value(sc, known, Ty::Int, d1)))
                }
                3 => Expr::Neg(b(self.value(sc, known, Ty::Int, d1))),
                4 => Expr::Call("count", vec![self.ent_list(sc, known, d1).0]),
                5 => {
                    let s = self.value(sc, known, Ty::Str, d1);
                    Expr::Call("len", vec![s])
                }
                6 => {
                    let agg = self.s.one(&["sum", "min", "max", "count"]);
                    Expr::Call(agg, vec![self.int_list(sc, known, d1)])
                }
                7 => {
                    let l = self.field_of(sc, &|f| *f == FTy::Int).unwrap_or(Expr::Root("plan.seats"));
                    Expr::Coalesce(b(l), b(self.value(sc, known, Ty::Int, d1)))
                }
                8 => Expr::Call("len", vec![self.str_list(sc, known, d1)]),
                _ => self.range(sc, known, Ty::Int, d1).unwrap_or_else(|| self.lit(ty)),
            },
            Ty::Dec => match self.s.pick(6) {
                0 => self.lit(ty),
                1 => Expr::Call("days", vec![self.value(sc, known, Ty::Dur, d1)]),
                2 => Expr::Call("avg", vec![self.int_list(sc, known, d1)]),
                3 => {
                    let op = self.s.one(&[Bin::Add, Bin::Sub, Bin::Mul, Bin::Div, Bin::Rem]);
                    let (l, r) = if self.s.chance(50) {
                        (self.value(sc, known, Ty::Int, d1), self.value(sc, known, Ty::Dec, d1))
                    } else {
                        (self.value(sc, known, Ty::Dec, d1), self.value(sc, known, Ty::Int, d1))
                    };
                    Expr::Bin(op, b(l), b(r))
                }
                4 => Expr::Neg(b(self.value(sc, known, Ty::Dec, d1))),
                _ => self.range(sc, known, Ty::Dec, d1).unwrap_or_else(|| self.lit(ty)),
            },
            Ty::Str => match self.s.pick(5) {
                0 => self.lit(ty),
                1 => self.typed_field(sc, ty).unwrap_or_else(|| self.lit(ty)),
                2 => Expr::Call(self.s.one(&["lower", "upper"]), vec![self.value(sc, known, Ty::Str, d1)]),
                3 => {
                    let l = if self.s.chance(30) { self.indexed_str(sc) } else { None };
                    let l = l.or_else(|| self.field_of(sc, &|f| *f == FTy::Str)).unwrap_or(Expr::Root("name"));
                    Expr::Coalesce(b(l), b(self.value(sc, known, Ty::Str, d1)))
                }
                _ => self.typed_field(sc, ty).unwrap_or_else(|| self.lit(ty)),
            },
            Ty::Date => match self.s.pick(6) {
                0 => self.lit(ty),
                1 => self.typed_field(sc, ty).unwrap_or_else(|| self.lit(ty)),
                2 => Expr::Now,
                3 => {
                    let op = self.s.one(&[Bin::Add, Bin::Sub]);
                    Expr::Bin(op, b(self.value(sc, known, Ty::Date, d1)), b(self.value(sc, known, Ty::Dur, d1)))
                }
                4 => {
                    let l = self.field_of(sc, &|f| *f == FTy::Date).unwrap_or(Expr::Root("plan.seats"));
                    if matches!(l, Expr::Root("plan.seats")) {
                        return self.lit(ty);
                    }
                    Expr::Coalesce(b(l), b(self.value(sc, known, Ty::Date, d1)))
                }
                _ => self.range(sc, known, Ty::Date, d1).unwrap_or_else(|| self.lit(ty)),
            },
            Ty::Dur => match self.s.pick(7) {
                0 => self.lit(ty),
                1 => self.typed_field(sc, ty).unwrap_or_else(|| self.lit(ty)),
                2 => Expr::Call("age", vec![self.value(sc, known, Ty::Date, d1)]),
                3 => {
                    Expr::Bin(Bin::Sub, b(self.value(sc, known, Ty::Date, d1)), b(self.value(sc, known, Ty::Date, d1)))
                }
                4 => {
                    let op = self.s.one(&[Bin::Add, Bin::Sub]);
                    Expr::Bin(op, b(self.value(sc, known, Ty::Dur, d1)), b(self.value(sc, known, Ty::Dur, d1)))
                }
                5 => Expr::Coalesce(b(Expr::Root("settings.session_expiry")), b(self.value(sc, known, Ty::Dur, d1))),
                _ => self.range(sc, known, Ty::Dur, d1).unwrap_or_else(|| self.lit(ty)),
            },
        }
    }

    /// `count(K)`, `sum(K.int)`, `min(K.date)`, `sum(age(K.date))`…: an aggregate ranging over
    /// a kind that is not bound in the rule (never inside a predicate).
    fn range(&mut self, sc: &Scope, known: &Known, ty: Ty, d: usize) -> Option<Expr> {
        if sc.in_pred {
            return None;
        }
        let free: Vec<&'static str> = KINDS.iter().copied().filter(|k| *k != "tenant" && !sc.kind_bound(k)).collect();
        if free.is_empty() {
            return None;
        }
        let kind = free[self.s.pick(free.len())];
        let var = || b(Expr::Var(kind.to_string()));
        let int_fields: Vec<&'static str> =
            fields(kind).into_iter().filter(|f| f.ty == FTy::Int).map(|f| f.name).collect();
        let date_fields: Vec<&'static str> =
            fields(kind).into_iter().filter(|f| f.ty == FTy::Date).map(|f| f.name).collect();
        let _ = (known, d);
        match ty {
            Ty::Int => {
                if int_fields.is_empty() || self.s.chance(40) {
                    return Some(Expr::Range { agg: "count", kind, arg: var() });
                }
                let agg = self.s.one(&["sum", "min", "max", "count"]);
                let f = self.s.one(&int_fields);
                Some(Expr::Range { agg, kind, arg: b(Expr::Field(var(), f)) })
            }
            Ty::Dec => {
                let f = *int_fields.first()?;
                Some(Expr::Range { agg: "avg", kind, arg: b(Expr::Field(var(), f)) })
            }
            Ty::Date => {
                if date_fields.is_empty() {
                    return None;
                }
                let f = self.s.one(&date_fields);
                Some(Expr::Range { agg: self.s.one(&["min", "max"]), kind, arg: b(Expr::Field(var(), f)) })
            }
            Ty::Dur => {
                if date_fields.is_empty() || known.sum_empty_durations {
                    return None;
                }
                let f = self.s.one(&date_fields);
                let arg = Expr::Call("age", vec![Expr::Field(var(), f)]);
                Some(Expr::Range { agg: self.s.one(&["sum", "min", "max"]), kind, arg: b(arg) })
            }
            _ => None,
        }
    }

    fn int_list(&mut self, sc: &Scope, known: &Known, d: usize) -> Expr {
        match self.s.pick(3) {
            0 => {
                let n = self.s.pick(4);
                Expr::List((0..n).map(|_| self.int_lit()).collect())
            }
            1 => Expr::Project(b(Expr::Root("users")), "session_cap"),
            _ => {
                let (l, kind) = self.ent_list(sc, known, d);
                if kind == "user" {
                    Expr::Project(b(l), "session_cap")
                } else {
                    Expr::Project(b(Expr::Root("users")), "session_cap")
                }
            }
        }
    }

    fn str_list(&mut self, sc: &Scope, known: &Known, d: usize) -> Expr {
        let mut options = vec![Expr::Project(b(Expr::Root("users")), "email")];
        for (name, kind) in self.entity_vars(sc) {
            match kind {
                "role" => options.push(Expr::Field(b(Expr::Var(name.clone())), "permissions")),
                "integration" => options.push(Expr::Field(b(Expr::Var(name.clone())), "redirect_uris")),
                "user" => options.push(Expr::Project(b(Expr::Field(b(Expr::Var(name.clone())), "roles")), "name")),
                _ => {}
            }
        }
        let n = self.s.pick(3);
        options.push(Expr::List((0..n).map(|_| self.lit(Ty::Str)).collect()));
        let l = options[self.s.pick(options.len())].clone();
        if d > 0 && self.s.chance(25) {
            let mut inner = sc.clone();
            inner.it = Some(Ty::Str);
            inner.in_pred = true;
            let pred = self.bool_(&inner, known, d - 1);
            return Expr::Filter { list: b(l), elem: "it".into(), binder: false, pred: b(pred) };
        }
        l
    }

    fn enum_cmp(&mut self, sc: &Scope) -> Option<Expr> {
        let e = self.field_of(sc, &|f| matches!(f, FTy::Enum(_)))?;
        let (kind, name) = match &e {
            Expr::Field(base, f) => match &**base {
                Expr::Var(v) => (sc.ents.iter().find(|(n, _)| n == v).map(|(_, k)| *k)?, *f),
                _ => ("user", *f),
            },
            Expr::Root(f) => ("tenant", *f),
            _ => return None,
        };
        let FTy::Enum(values) = field(kind, name)?.ty else { return None };
        match self.s.pick(3) {
            0 => Some(Expr::Bin(self.s.one(&[Bin::Eq, Bin::Ne]), b(e), b(Expr::Str(self.s.one(values).to_string())))),
            1 => {
                let n = 1 + self.s.pick(2);
                let items = (0..n).map(|_| Expr::Str(self.s.one(values).to_string())).collect();
                Some(Expr::Bin(self.s.one(&[Bin::In, Bin::NotIn]), b(e), b(Expr::List(items))))
            }
            _ => Some(Expr::Coalesce(b(e), b(Expr::Str(self.s.one(values).to_string()))))
                .map(|c| Expr::Bin(Bin::Eq, b(c), b(Expr::Str(self.s.one(values).to_string())))),
        }
    }

    fn bool_(&mut self, sc: &Scope, known: &Known, d: usize) -> Expr {
        if d == 0 {
            return match self.s.pick(5) {
                0 => self.lit(Ty::Bool),
                1 => self.typed_field(sc, Ty::Bool).unwrap_or(Expr::Bool(true)),
                2 => Expr::Has(b(self.path(sc, known))),
                3 => Expr::IsNull(b(self.path(sc, known)), self.s.chance(50)),
                _ => self.enum_cmp(sc).unwrap_or(Expr::Bool(false)),
            };
        }
        let d1 = d - 1;
        let cmp = [Bin::Eq, Bin::Ne, Bin::Lt, Bin::Le, Bin::Gt, Bin::Ge];
        match self.s.pick(19) {
            0 => self.bool_(sc, known, 0),
            1 => {
                let op = self.s.one(&[Bin::And, Bin::Or, Bin::Requires]);
                Expr::Bin(op, b(self.bool_(sc, known, d1)), b(self.bool_(sc, known, d1)))
            }
            2 => Expr::Not(b(self.bool_(sc, known, d1))),
            3 | 4 => {
                let (lt, rt) = self.s.one(&[
                    (Ty::Int, Ty::Int),
                    (Ty::Int, Ty::Dec),
                    (Ty::Dec, Ty::Int),
                    (Ty::Dec, Ty::Dec),
                    (Ty::Str, Ty::Str),
                    (Ty::Date, Ty::Date),
                    (Ty::Dur, Ty::Dur),
                    (Ty::Bool, Ty::Bool),
                ]);
                let op = if lt == Ty::Bool { self.s.one(&[Bin::Eq, Bin::Ne]) } else { self.s.one(&cmp) };
                Expr::Bin(op, b(self.value(sc, known, lt, d1)), b(self.value(sc, known, rt, d1)))
            }
            5 => {
                let ty = self.s.one(&[Ty::Int, Ty::Str, Ty::Date, Ty::Dur, Ty::Dec]);
                let x = self.value(sc, known, ty, d1);
                let n = self.s.pick(4);
                let items: Vec<Expr> = (0..n).map(|_| self.lit(ty)).collect();
                let items = if items.is_empty() { vec![self.lit(ty)] } else { items };
                if ty == Ty::Int && self.s.chance(30) {
                    // Membership in an integer list that comes from the data.
                    let l = self.int_list(sc, known, d1);
                    return if self.s.chance(50) {
                        Expr::Bin(self.s.one(&[Bin::In, Bin::NotIn]), b(x), b(l))
                    } else {
                        Expr::Call("contains", vec![l, x])
                    };
                }
                Expr::Bin(self.s.one(&[Bin::In, Bin::NotIn]), b(x), b(Expr::List(items)))
            }
            6 => {
                let x = self.value(sc, known, Ty::Str, d1);
                let l = self.str_list(sc, known, d1);
                if self.s.chance(50) {
                    Expr::Bin(self.s.one(&[Bin::In, Bin::NotIn]), b(x), b(l))
                } else {
                    Expr::Call("contains", vec![l, x])
                }
            }
            7 => Expr::Bin(
                Bin::Matches,
                b(self.value(sc, known, Ty::Str, d1)),
                b(Expr::Str(self.s.one(PATTERNS).into())),
            ),
            8 => {
                let f = self.s.one(&["starts_with", "ends_with", "contains"]);
                Expr::Call(f, vec![self.value(sc, known, Ty::Str, d1), self.value(sc, known, Ty::Str, d1)])
            }
            9 | 10 => {
                let q = self.s.one(&[Quant::Any, Quant::All, Quant::None]);
                if self.s.chance(25) {
                    let list = self.int_list(sc, known, d1);
                    let mut inner = sc.clone();
                    inner.it = Some(Ty::Int);
                    inner.in_pred = true;
                    let pred = self.bool_(&inner, known, d1);
                    return Expr::Quant { q, list: b(list), elem: "it".into(), pred: b(pred) };
                }
                let (list, kind) = self.ent_list(sc, known, d1);
                // A quantifier names the element by its kind; shadowing an enclosing entity
                // of the same kind is allowed, but keep the outer one reachable sometimes.
                let mut inner = sc.clone();
                inner.ents.push((kind.to_string(), kind));
                inner.in_pred = true;
                let pred = self.bool_(&inner, known, d1);
                Expr::Quant { q, list: b(list), elem: kind.to_string(), pred: b(pred) }
            }
            11 => Expr::Has(b(self.path(sc, known))),
            12 => Expr::IsNull(b(self.path(sc, known)), self.s.chance(50)),
            13 => {
                // A raw value compared with a literal of some type.
                let p = self.path(sc, known);
                let p = match p {
                    Expr::Key(..) => p,
                    _ => Expr::Key(b(Expr::Var(sc.ents[0].0.clone())), "x-meta"),
                };
                let lit = match self.s.pick(4) {
                    0 => self.lit(Ty::Str),
                    1 => self.lit(Ty::Int),
                    2 => self.lit(Ty::Bool),
                    _ => Expr::Str("gold".into()),
                };
                let op = if matches!(lit, Expr::Int(_)) { self.s.one(&cmp) } else { self.s.one(&[Bin::Eq, Bin::Ne]) };
                if self.s.chance(30) {
                    Expr::Bin(op, b(Expr::Coalesce(b(p), b(lit.clone()))), b(lit))
                } else {
                    Expr::Bin(op, b(p), b(lit))
                }
            }
            14 => {
                let c = self.value(sc, known, Ty::Bool, d1);
                let p = self.field_of(sc, &|f| *f == FTy::Bool).unwrap_or(Expr::Root("settings.login_notifications"));
                Expr::Bin(Bin::Eq, b(Expr::Coalesce(b(p), b(Expr::Bool(self.s.chance(50))))), b(c))
            }
            17 => {
                // Lists compared whole: a list from the data against a literal list.
                let op = self.s.one(&[Bin::Eq, Bin::Ne]);
                match self.s.pick(3) {
                    0 => {
                        let n = self.s.pick(3);
                        let items = (0..n).map(|_| self.lit(Ty::Int)).collect();
                        Expr::Bin(op, b(self.int_list(sc, known, d1)), b(Expr::List(items)))
                    }
                    1 => {
                        let n = self.s.pick(3);
                        let items = (0..n).map(|_| self.lit(Ty::Str)).collect();
                        Expr::Bin(op, b(self.str_list(sc, known, d1)), b(Expr::List(items)))
                    }
                    _ => Expr::Bin(op, b(self.ent_list(sc, known, d1).0), b(Expr::List(Vec::new()))),
                }
            }
            _ => self.enum_cmp(sc).unwrap_or(Expr::Bool(true)),
        }
    }
}

/// A policy of 1-4 rules; each rule's assertion (and guard) is built over a subject kind and
/// its ancestors (the rule's actual subject is whatever kinds end up free in it).
pub fn policy(s: &mut Src, known: &Known) -> Policy {
    let mut params = Vec::new();
    let mut param_types = Vec::new();
    if s.chance(50) {
        let mut g = Gen { s, params: Vec::new(), lets: Vec::new() };
        for (name, ty) in
            [("p_int", Ty::Int), ("p_dec", Ty::Dec), ("p_str", Ty::Str), ("p_dur", Ty::Dur), ("p_date", Ty::Date)]
        {
            params.push((name, g.lit(ty)));
            param_types.push((name, ty));
        }
    }
    let mut lets = Vec::new();
    let mut let_types = Vec::new();
    if s.chance(40) {
        for (name, ty) in [("d_int", Ty::Int), ("d_bool", Ty::Bool)] {
            let kind = KINDS[s.pick(KINDS.len())];
            let sc = Scope { ents: vec![(kind.to_string(), kind)], it: None, in_pred: true, binders: 0 };
            let mut g = Gen { s, params: param_types.clone(), lets: Vec::new() };
            let body = g.value(&sc, known, ty, 2);
            lets.push(Let { kind, name, body });
            let_types.push((kind, name, ty));
        }
    }
    let n = 1 + s.pick(4);
    let mut rules = Vec::new();
    for i in 0..n {
        let kind = KINDS[s.pick(KINDS.len())];
        let sc = Scope {
            ents: chain(kind).into_iter().rev().map(|k| (k.to_string(), k)).collect(),
            it: None,
            in_pred: false,
            binders: 0,
        };
        let depth = 1 + s.pick(4);
        let mut g = Gen { s, params: param_types.clone(), lets: let_types.clone() };
        let guard = if g.s.chance(25) { Some(g.bool_(&sc, known, depth.min(2))) } else { None };
        let assert = g.bool_(&sc, known, depth);
        rules.push(Rule { name: format!("r{i}"), guard, assert });
    }
    Policy { params, lets, rules }
}

// ---------------------------------------------------------------------------------------
// Tenants.

fn value_for(s: &mut Src, ty: &FTy, known: &Known) -> Option<Json> {
    // None: the field is absent.
    match s.pick(12) {
        0 => return None,
        1 => return Some(Json::Null),
        2 => {
            // A value of the wrong type.
            return Some(s.one(&[json!(5), json!("x"), json!(true), json!(1.5), json!({"a": 1}), json!([1])]));
        }
        _ => {}
    }
    Some(match ty {
        FTy::Str => json!(s.one(STRS)),
        FTy::Int => match s.pick(12) {
            10 => json!(9_223_372_036_854_775_808u64),
            11 => json!(2.0),
            _ => json!(s.one(&[0, 1, 2, 3, -1, 7, i64::MAX, i64::MIN, i64::MAX - 1, 9_007_199_254_740_993])),
        },
        FTy::Bool => json!(s.chance(50)),
        FTy::Date => json!(s.one(&[
            "2026-01-01",
            "2026-11-22",
            "2026-11-21T23:59:59Z",
            "2024-02-29",
            "2023-02-29",
            "0001-01-01",
            "9999-12-31",
            "9999-12-31T23:59:59Z",
            "1970-01-01T00:00:00Z",
            "2026-13-01",
            "yesterday",
            "2026-06-30T12:00:00+02:00",
            "2026-11-21t23:59:59z",
            "2026-11-21 23:59:59Z",
            "2026-11-21T23:59:59.999999999Z",
            "2026-11-21T23:59:59.5-00:30",
            "2016-12-31T23:59:60Z",
            "2026-11-21T24:00:00Z",
            "2026-11-21T23:59:59+24:00",
            "2026-11-22T00:00:00.000001Z",
        ])),
        FTy::Dur => s.one(&[
            json!("12h"),
            json!("30d"),
            json!(3600),
            json!(0),
            json!("0s"),
            json!("1y"),
            json!("soon"),
            json!("2w"),
            json!(-5),
            json!("-90m"),
            json!("1d12h"),
            json!(i64::MAX),
            json!(9_223_372_036_854i64),
        ]),
        FTy::Enum(values) => {
            if s.chance(15) {
                json!("bogus")
            } else {
                json!(s.one(values))
            }
        }
        FTy::ListStr => {
            let n = s.pick(4);
            let mut items: Vec<Json> = (0..n).map(|_| json!(s.one(STRS))).collect();
            if s.chance(10) {
                items.push(json!(5));
            }
            Json::Array(items)
        }
        FTy::ListRef(_) => {
            let n = s.pick(4);
            Json::Array(
                (0..n)
                    .map(|_| {
                        if !known.integer_keys && s.chance(10) {
                            json!(s.pick(3))
                        } else {
                            json!(s.one(&["r0", "r1", "r2", "r9"]))
                        }
                    })
                    .collect(),
            )
        }
        FTy::Ref(_) => {
            if !known.integer_keys && s.chance(10) {
                json!(s.pick(3))
            } else {
                json!(s.one(&["u0", "u1", "u9"]))
            }
        }
        FTy::Coll(_) => return None,
    })
}

fn entity(s: &mut Src, kind: &'static str, index: usize, known: &Known, depth: usize) -> Json {
    // A malformed element (not an object) now and then.
    if kind != "tenant" && s.chance(8) {
        return s.one(&[json!(42), json!("x"), Json::Null, json!([])]);
    }
    let mut obj = Map::new();
    for f in fields(kind) {
        if f.name == "id" {
            if kind == "tenant" {
                obj.insert("id".into(), json!("t"));
            } else if s.chance(90) {
                let prefix = &kind[..1];
                obj.insert("id".into(), json!(format!("{prefix}{index}")));
            } else if !known.integer_keys && s.chance(50) {
                obj.insert("id".into(), json!(index));
            }
            continue;
        }
        if let FTy::Coll(child) = f.ty {
            match s.pick(8) {
                0 => {}
                1 => {
                    obj.insert(f.name.into(), Json::Null);
                }
                2 if !known.non_list_collections => {
                    obj.insert(f.name.into(), s.one(&[json!(5), json!({"a": 1}), json!("x")]));
                }
                _ => {
                    let n = if depth > 2 { 0 } else { s.pick(4) };
                    let items = (0..n).map(|i| entity(s, child, i, known, depth + 1)).collect();
                    obj.insert(f.name.into(), Json::Array(items));
                }
            }
            continue;
        }
        if let Some(v) = value_for(s, &f.ty, known) {
            // Dotted fields live in nested objects.
            if let Some((outer, inner)) = f.name.split_once('.') {
                let slot = obj.entry(outer.to_string()).or_insert_with(|| json!({}));
                if let Some(m) = slot.as_object_mut() {
                    m.insert(inner.into(), v);
                }
            } else {
                obj.insert(f.name.into(), v);
            }
        }
    }
    // Keys the model does not declare, read with `x["key"]`.
    if s.chance(40) {
        let v = s.one(&[
            json!({"tier": "gold"}),
            json!({"tier": 5}),
            json!({"tier": null}),
            json!({}),
            json!(5),
            json!("gold"),
            json!([1]),
        ]);
        obj.insert("x-meta".into(), v);
    }
    if s.chance(20) {
        obj.insert("tier".into(), s.one(&[json!("gold"), json!(3), json!(2.5), json!(null), json!(true)]));
    }
    Json::Object(obj)
}

pub fn tenant(s: &mut Src, known: &Known) -> Json {
    entity(s, "tenant", 0, known, 0)
}
