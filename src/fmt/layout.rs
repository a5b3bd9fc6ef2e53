//! AST → layout commands: the canonical layout of expressions and items.
//!
//! The printer is faithful: it prints exactly the tree it is given, parentheses included
//! (`ExprKind::Paren`), and never adds or drops any. A tree parsed from source therefore
//! re-parses to itself. Literals are printed as the author wrote them when the source is
//! known (string escapes, `1.50`, `90m`, date spellings), otherwise in a canonical form.

use super::doc::Cmd;
use super::lex::Src;
use crate::ast::{Annotation, AnnotationValue, BinOp, Expr, ExprKind, Let, Literal, Param, UnOp};

/// Binding power of a binary operator (language.md §3; `??` between 5 and 6).
pub(crate) fn prec(op: BinOp) -> u8 {
    match op {
        BinOp::Requires => 1,
        BinOp::Or => 2,
        BinOp::And => 3,
        BinOp::Eq
        | BinOp::Ne
        | BinOp::Lt
        | BinOp::Le
        | BinOp::Gt
        | BinOp::Ge
        | BinOp::In
        | BinOp::NotIn
        | BinOp::Matches => 5,
        BinOp::Coalesce => 6,
        BinOp::Add | BinOp::Sub => 7,
        BinOp::Mul | BinOp::Div | BinOp::Rem => 8,
    }
}

/// Builds the command stream of one item.
pub(crate) struct Layout<'s, 'a> {
    src: Option<&'s Src<'a>>,
    pub cmds: Vec<Cmd>,
}

/// An annotation to print: from the AST, or verbatim (`@message`, which the AST keeps as a
/// template, and any annotation the AST lost).
pub(crate) enum Ann<'a> {
    Ast(&'a Annotation),
    Verbatim { at: usize, name: String, value: String, value_at: usize },
}

impl<'s, 'a> Layout<'s, 'a> {
    pub fn new(src: Option<&'s Src<'a>>) -> Self {
        Layout { src, cmds: Vec::new() }
    }

    fn push(&mut self, c: Cmd) {
        self.cmds.push(c);
    }

    fn text(&mut self, s: impl Into<String>, anchor: Option<usize>) {
        self.cmds.push(Cmd::Text(s.into(), anchor));
    }

    /// Text of a token at a known source offset.
    fn token(&mut self, s: impl Into<String>, at: u32) {
        let anchor = self.src.map(|_| at as usize);
        self.text(s, anchor);
    }

    /// Text of a keyword that is the first code after `pos` in the source.
    fn keyword_after(&mut self, s: &str, kw: &str, pos: u32) {
        let anchor = self.src.and_then(|src| src.kw_after(pos as usize, kw));
        self.text(s, anchor);
    }

    /// The offset `pos` when the source has byte `b` there.
    fn byte_at(&self, pos: usize, b: u8) -> Option<usize> {
        let src = self.src?;
        (src.text.as_bytes().get(pos) == Some(&b)).then_some(pos)
    }

    /// The offset of a node's last byte when it is `b` (a closing bracket).
    fn closing(&self, e: &Expr, b: u8) -> Option<usize> {
        self.byte_at((e.span.end as usize).checked_sub(1)?, b)
    }

    fn code_after(&self, pos: u32, what: &str) -> Option<usize> {
        self.src.and_then(|src| src.kw_after(pos as usize, what))
    }

    pub fn hardline(&mut self) {
        self.push(Cmd::HardLine);
    }

    // ------------------------------------------------------------------ items

    pub fn annotation(&mut self, a: &Ann<'_>) {
        match a {
            Ann::Ast(a) => {
                let at = self.src.and_then(|s| s.kw_before(a.name.span.start as usize, "@"));
                self.text("@", at);
                self.token(a.name.node.clone(), a.name.span.start);
                self.text("(", None);
                let value_end = match &a.value.node {
                    AnnotationValue::Word(w) => {
                        self.token(w.clone(), a.value.span.start);
                        a.value.span.end
                    }
                    AnnotationValue::Expr(e) => {
                        self.expr(e, true);
                        e.span.end
                    }
                };
                let close = self.code_after(value_end, ")");
                self.text(")", close);
            }
            Ann::Verbatim { at, name, value, value_at } => {
                self.text("@", Some(*at));
                self.text(format!("{name}("), None);
                self.text(value.clone(), Some(*value_at));
                let close = self.src.and_then(|src| src.kw_after(value_at + value.len(), ")"));
                self.text(")", close);
            }
        }
        self.hardline();
    }

    pub fn policy(&mut self, kw_at: Option<usize>, name: &str, name_at: u32) {
        self.text("policy ", kw_at);
        self.token(name.to_string(), name_at);
    }

    pub fn param(&mut self, p: &Param) {
        self.token(p.name.node.clone(), p.name.span.start);
        self.text(" = ", None);
        self.expr(&p.value, true);
    }

    pub fn let_(&mut self, kw_at: Option<usize>, l: &Let) {
        self.text("let ", kw_at);
        self.token(l.kind.node.clone(), l.kind.span.start);
        self.text(".", None);
        self.token(l.field.node.clone(), l.field.span.start);
        self.text(" =", None);
        self.push(Cmd::GroupStart);
        self.push(Cmd::Indent);
        self.push(Cmd::Line);
        self.expr(&l.expr, true);
        self.push(Cmd::Dedent);
        self.push(Cmd::GroupEnd);
    }

    /// `rule NAME: EXPR` (on one line when it fits), or `rule NAME when GUARD:` with the
    /// assertion always on the next line.
    pub fn rule(&mut self, kw_at: Option<usize>, name: &str, name_at: u32, guard: Option<&Expr>, assert: &Expr) {
        self.text("rule ", kw_at);
        self.token(name.to_string(), name_at);
        match guard {
            Some(g) => {
                self.push(Cmd::GroupStart);
                self.push(Cmd::Indent);
                self.push(Cmd::Line);
                let name_end = name_at as usize + name.len();
                self.keyword_after("when ", "when", name_end as u32);
                self.expr(g, false);
                self.text(":", None);
                self.push(Cmd::Dedent);
                self.push(Cmd::GroupEnd);
                self.push(Cmd::Indent);
                self.push(Cmd::HardLine);
                self.expr(assert, true);
                self.push(Cmd::Dedent);
            }
            None => {
                self.text(":", None);
                self.push(Cmd::GroupStart);
                self.push(Cmd::Indent);
                self.push(Cmd::Line);
                self.expr(assert, true);
                self.push(Cmd::Dedent);
                self.push(Cmd::GroupEnd);
            }
        }
    }

    // ------------------------------------------------------------------ expressions

    /// An expression. `top`: it starts a line of its own when its group breaks, so the
    /// continuation lines of a broken operator chain stay at its indentation; otherwise
    /// (an operand after an operator or keyword) they are indented two more spaces.
    pub fn expr(&mut self, e: &Expr, top: bool) {
        match &e.kind {
            ExprKind::Lit(l) => {
                let s = self.lit_text(e, l);
                // Anchored at its end: a comment inside a folded `- 7` goes before it.
                let at = if matches!(l, Literal::Int(_)) { e.span.end.saturating_sub(1) } else { e.span.start };
                self.token(s, at);
            }
            ExprKind::Name(n) => self.token(n.clone(), e.span.start),
            ExprKind::List(items) => self.list(e, items),
            ExprKind::Field(base, name) => {
                self.expr(base, false);
                self.text(".", None);
                self.token(name.node.clone(), name.span.start);
            }
            ExprKind::Index(base, index) => {
                self.expr(base, false);
                let open = self.code_after(base.span.end, "[");
                self.bracket(("[", open), index, ("]", self.closing(e, b']')));
            }
            ExprKind::Unary(UnOp::Not, x) => {
                self.token("not ", e.span.start);
                self.expr(x, false);
            }
            ExprKind::Unary(UnOp::Neg, x) => {
                // `- -x`, not `--x`.
                let minus = match &x.kind {
                    ExprKind::Unary(UnOp::Neg, _) | ExprKind::Lit(Literal::Int(i64::MIN..=-1)) => "- ",
                    _ => "-",
                };
                self.token(minus, e.span.start);
                self.expr(x, false);
            }
            ExprKind::Binary(..) => self.chain(e, top),
            ExprKind::Call(name, args) => {
                self.token(name.node.clone(), name.span.start);
                let open = self.code_after(name.span.end, "(");
                if args.is_empty() {
                    self.text("()", open);
                    return;
                }
                self.push(Cmd::GroupStart);
                self.text("(", open);
                self.push(Cmd::Indent);
                self.push(Cmd::SoftLine);
                for (i, a) in args.iter().enumerate() {
                    if i > 0 {
                        self.text(",", None);
                        self.push(Cmd::Line);
                    }
                    self.expr(a, true);
                }
                self.push(Cmd::Dedent);
                self.push(Cmd::SoftLine);
                self.text(")", self.closing(e, b')'));
                self.push(Cmd::GroupEnd);
            }
            ExprKind::Quant { func, list, binder, pred } => {
                self.token(func.node.clone(), func.span.start);
                self.push(Cmd::GroupStart);
                let open = self.code_after(func.span.end, "(");
                self.text("(", open);
                self.push(Cmd::Indent);
                self.push(Cmd::SoftLine);
                self.push(Cmd::GroupStart);
                self.expr(list, true);
                if let Some(b) = binder {
                    self.keyword_after(" as ", "as", list.span.end);
                    self.token(b.node.clone(), b.span.start);
                }
                self.text(":", None);
                self.push(Cmd::Indent);
                self.push(Cmd::Line);
                self.expr(pred, true);
                self.push(Cmd::Dedent);
                self.push(Cmd::GroupEnd);
                self.push(Cmd::Dedent);
                self.push(Cmd::SoftLine);
                self.text(")", self.closing(e, b')'));
                self.push(Cmd::GroupEnd);
            }
            ExprKind::Filter { list, binder, pred } => {
                self.push(Cmd::GroupStart);
                self.expr(list, false);
                let mut where_from = list.span.end;
                if let Some(b) = binder {
                    self.keyword_after(" as ", "as", list.span.end);
                    self.token(b.node.clone(), b.span.start);
                    where_from = b.span.end;
                }
                self.push(Cmd::Indent);
                self.push(Cmd::Line);
                self.keyword_after("where ", "where", where_from);
                self.expr(pred, false);
                self.push(Cmd::Dedent);
                self.push(Cmd::GroupEnd);
            }
            ExprKind::Paren(inner) => {
                let open = self.byte_at(e.span.start as usize, b'(');
                self.bracket(("(", open), inner, (")", self.closing(e, b')')));
            }
        }
    }

    /// `OPEN inner CLOSE`, with the inner expression on lines of its own when too long.
    fn bracket(&mut self, open: (&str, Option<usize>), inner: &Expr, close: (&str, Option<usize>)) {
        self.push(Cmd::GroupStart);
        self.text(open.0, open.1);
        self.push(Cmd::Indent);
        self.push(Cmd::SoftLine);
        self.expr(inner, true);
        self.push(Cmd::Dedent);
        self.push(Cmd::SoftLine);
        self.text(close.0, close.1);
        self.push(Cmd::GroupEnd);
    }

    /// `[a, b]`, or one item per line with a trailing comma.
    fn list(&mut self, e: &Expr, items: &[Expr]) {
        let open = self.byte_at(e.span.start as usize, b'[');
        if items.is_empty() {
            self.text("[]", open);
            return;
        }
        self.push(Cmd::GroupStart);
        self.text("[", open);
        self.push(Cmd::Indent);
        self.push(Cmd::SoftLine);
        for (i, item) in items.iter().enumerate() {
            if i > 0 {
                self.text(",", None);
                self.push(Cmd::Line);
            }
            self.expr(item, true);
        }
        self.push(Cmd::IfBreak(","));
        self.push(Cmd::Dedent);
        self.push(Cmd::SoftLine);
        self.text("]", self.closing(e, b']'));
        self.push(Cmd::GroupEnd);
    }

    /// A chain of binary operators of one precedence level, broken before each operator
    /// when it does not fit: `a and b and c` (left-associative), `a requires b requires c`
    /// (right-associative), or a single comparison.
    fn chain(&mut self, e: &Expr, top: bool) {
        let ExprKind::Binary(op, ..) = &e.kind else { return self.expr(e, top) };
        let level = prec(*op);
        let mut operands: Vec<&Expr> = Vec::new();
        let mut ops: Vec<(BinOp, u32)> = Vec::new();
        if level == 1 {
            let mut cur = e;
            while let ExprKind::Binary(BinOp::Requires, l, r) = &cur.kind {
                operands.push(l);
                ops.push((BinOp::Requires, l.span.end));
                cur = r;
            }
            operands.push(cur);
        } else if level == 5 {
            if let ExprKind::Binary(op, l, r) = &e.kind {
                operands.extend([&**l, &**r]);
                ops.push((*op, l.span.end));
            }
        } else {
            let mut rights = Vec::new();
            let mut cur = e;
            while let ExprKind::Binary(o, l, r) = &cur.kind {
                if prec(*o) != level {
                    break;
                }
                rights.push((*o, l.span.end, &**r));
                cur = l;
            }
            operands.push(cur);
            for (o, at, r) in rights.into_iter().rev() {
                ops.push((o, at));
                operands.push(r);
            }
        }
        self.push(Cmd::GroupStart);
        if !top {
            self.push(Cmd::Indent);
        }
        let mut operands = operands.into_iter();
        if let Some(first) = operands.next() {
            self.expr(first, false);
        }
        for ((op, after), operand) in ops.into_iter().zip(operands) {
            self.push(Cmd::Line);
            let s = op.as_str();
            let first_word = s.split(' ').next().unwrap_or(s);
            self.keyword_after(s, first_word, after);
            self.text(" ", None);
            self.expr(operand, false);
        }
        if !top {
            self.push(Cmd::Dedent);
        }
        self.push(Cmd::GroupEnd);
    }

    /// A literal as written in the source when known, else in canonical form.
    fn lit_text(&self, e: &Expr, l: &Literal) -> String {
        if let Some(src) = self.src {
            let raw = src.slice(e.span.start as usize, e.span.end as usize);
            match l {
                Literal::Int(n) => {
                    // A folded `- 7` has a space (or even a comment) inside its span.
                    let digits: String = raw.chars().filter(|c| !c.is_whitespace()).collect();
                    let body = digits.strip_prefix('-').unwrap_or(&digits);
                    if !body.is_empty() && body.bytes().all(|b| b.is_ascii_digit()) && digits.parse::<i64>() == Ok(*n) {
                        return digits;
                    }
                }
                Literal::Str(_) => {
                    if raw.len() >= 2 && raw.starts_with('"') && raw.ends_with('"') && !raw.contains('\n') {
                        return raw.to_string();
                    }
                }
                Literal::Dec(_) | Literal::Duration(_) | Literal::Date(_) => {
                    if !raw.is_empty() && raw.bytes().all(|b| b.is_ascii_alphanumeric() || b"-:.+_".contains(&b)) {
                        return raw.to_string();
                    }
                }
                Literal::Bool(_) | Literal::Null => {}
            }
        }
        canonical_literal(l)
    }
}

/// A literal in canonical form; parsing it gives the same literal back (for the values the
/// parser can produce: decimals are never negative, durations are whole seconds).
pub(crate) fn canonical_literal(l: &Literal) -> String {
    match l {
        Literal::Int(n) => n.to_string(),
        Literal::Dec(d) => {
            let s = format!("{d}");
            if s.contains('.') || !d.is_finite() {
                s
            } else {
                format!("{s}.0")
            }
        }
        Literal::Str(s) => escape_string(s),
        Literal::Bool(b) => b.to_string(),
        Literal::Null => "null".to_string(),
        Literal::Duration(n) => crate::value::format_duration(*n),
        Literal::Date(n) => crate::value::format_date(*n),
    }
}

/// A string literal with the DSL's escapes.
pub(crate) fn escape_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if c.is_control() => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}
