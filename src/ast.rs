//! The syntax tree: what the author wrote, with spans, and no meaning.
//!
//! The AST knows nothing about the model: names are strings, types are unknown. Both the
//! `.tenet` parser and the YAML form produce this same tree (language.md §7), which is why
//! a YAML policy and its `.tenet` twin give identical findings. Spans are excluded from
//! equality so that tests can compare trees parsed from different texts.

use crate::source::{SourceFile, Span};

/// A value with the span it came from; equality ignores the span.
#[derive(Debug, Clone)]
pub struct Spanned<T> {
    pub node: T,
    pub span: Span,
}

impl<T> Spanned<T> {
    pub fn new(node: T, span: Span) -> Self {
        Spanned { node, span }
    }
}

impl<T: PartialEq> PartialEq for Spanned<T> {
    fn eq(&self, other: &Self) -> bool {
        self.node == other.node
    }
}

/// One policy file.
#[derive(Debug, Clone)]
pub struct Policy {
    pub file: SourceFile,
    pub name: Spanned<String>,
    pub annotations: Vec<Annotation>,
    pub params: Vec<Param>,
    pub lets: Vec<Let>,
    pub rules: Vec<Rule>,
}

/// `@name(value)`.
#[derive(Debug, Clone, PartialEq)]
pub struct Annotation {
    pub name: Spanned<String>,
    pub value: Spanned<AnnotationValue>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum AnnotationValue {
    /// A bare word, as in `@severity(error)`.
    Word(String),
    /// A literal: a string, number, boolean, list …
    Expr(Expr),
}

/// `NAME = LITERAL`.
#[derive(Debug, Clone, PartialEq)]
pub struct Param {
    pub name: Spanned<String>,
    pub value: Expr,
}

/// `let KIND.NAME = EXPR`.
#[derive(Debug, Clone, PartialEq)]
pub struct Let {
    pub kind: Spanned<String>,
    pub field: Spanned<String>,
    pub expr: Expr,
}

/// A message template: `@message("…{EXPR}…")`. The raw text is parsed by the checker,
/// which needs `offsets` to map a byte of the unescaped text back to the source file.
#[derive(Debug, Clone, PartialEq)]
pub struct Template {
    pub text: String,
    /// `offsets[i]` is the source offset of byte `i` of `text` (one extra entry for the end).
    pub offsets: Vec<u32>,
}

/// `rule NAME [when GUARD]: ASSERT`, with its annotations.
#[derive(Debug, Clone, PartialEq)]
pub struct Rule {
    pub name: Spanned<String>,
    pub annotations: Vec<Annotation>,
    pub guard: Option<Expr>,
    pub assert: Expr,
    /// The assertion's source text, for the default message (language.md §9.5).
    pub assert_text: String,
    /// `@message`, kept separately because its text holds expressions.
    pub message: Option<Spanned<Template>>,
}

/// An expression node.
#[derive(Debug, Clone)]
pub struct Expr {
    pub kind: ExprKind,
    pub span: Span,
}

impl PartialEq for Expr {
    fn eq(&self, other: &Self) -> bool {
        self.kind == other.kind
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum ExprKind {
    Lit(Literal),
    List(Vec<Expr>),
    /// A bare identifier; resolution order is language.md §3 "Names".
    Name(String),
    /// `base.field`
    Field(Box<Expr>, Spanned<String>),
    /// `base[index]`
    Index(Box<Expr>, Box<Expr>),
    Unary(UnOp, Box<Expr>),
    Binary(BinOp, Box<Expr>, Box<Expr>),
    /// `name(args…)`
    Call(Spanned<String>, Vec<Expr>),
    /// `any/all/none(LIST [as NAME]: PRED)`
    Quant {
        func: Spanned<String>,
        list: Box<Expr>,
        binder: Option<Spanned<String>>,
        pred: Box<Expr>,
    },
    /// `LIST [as NAME] where PRED`
    Filter {
        list: Box<Expr>,
        binder: Option<Spanned<String>>,
        pred: Box<Expr>,
    },
    /// `( EXPR )`, kept so that formatting and spans can reproduce the author's grouping.
    Paren(Box<Expr>),
}

#[derive(Debug, Clone, PartialEq)]
pub enum Literal {
    Int(i64),
    Dec(f64),
    Str(String),
    Bool(bool),
    Null,
    /// Microseconds.
    Duration(i64),
    /// Microseconds since the Unix epoch (UTC).
    Date(i64),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnOp {
    Not,
    Neg,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BinOp {
    Requires,
    Or,
    And,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    In,
    NotIn,
    Matches,
    Coalesce,
    Add,
    Sub,
    Mul,
    Div,
    Rem,
}

impl BinOp {
    pub fn as_str(self) -> &'static str {
        match self {
            BinOp::Requires => "requires",
            BinOp::Or => "or",
            BinOp::And => "and",
            BinOp::Eq => "==",
            BinOp::Ne => "!=",
            BinOp::Lt => "<",
            BinOp::Le => "<=",
            BinOp::Gt => ">",
            BinOp::Ge => ">=",
            BinOp::In => "in",
            BinOp::NotIn => "not in",
            BinOp::Matches => "matches",
            BinOp::Coalesce => "??",
            BinOp::Add => "+",
            BinOp::Sub => "-",
            BinOp::Mul => "*",
            BinOp::Div => "/",
            BinOp::Rem => "%",
        }
    }
}
