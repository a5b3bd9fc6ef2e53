//! A tiny Wadler-style pretty printer over a flat command stream.
//!
//! The layout code emits [`Cmd`]s: text, possible line breaks (`Line` is a space or a
//! break, `SoftLine` nothing or a break), groups and indentation. A group is printed flat
//! when all of it, and whatever follows it up to the next possible break, fits in the
//! width; otherwise its own breaks become newlines and its inner groups decide for
//! themselves (outermost first). A comment or a hard line inside a group forces it to
//! break. Comments are placed into the stream by [`place_comments`] after the fact, by the
//! source offsets (`anchor`s) that the text commands carry.

use super::lex::Comment;

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Cmd {
    /// Text, with the source offset of the token it stands for (for placing comments).
    Text(String, Option<usize>),
    /// A space when the enclosing group is flat, else a line break.
    Line,
    /// Nothing when the enclosing group is flat, else a line break.
    SoftLine,
    /// Always a line break.
    HardLine,
    /// Text printed only when the enclosing group is broken (a list's trailing comma).
    IfBreak(&'static str),
    GroupStart,
    GroupEnd,
    /// Indent the following lines by two more spaces.
    Indent,
    Dedent,
    /// A comment: `trailing` ones end the current line, others get a line of their own.
    Comment {
        text: String,
        trailing: bool,
    },
}

/// One output line: code, and a trailing comment (aligned later).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct OutLine {
    pub code: String,
    pub comment: Option<String>,
}

impl OutLine {
    pub fn blank() -> Self {
        OutLine::default()
    }

    pub fn code(code: impl Into<String>) -> Self {
        OutLine { code: code.into(), comment: None }
    }
}

/// Text width in columns (one per character).
pub(crate) fn width(s: &str) -> usize {
    s.chars().count()
}

struct Renderer<'a> {
    cmds: &'a [Cmd],
    width: usize,
    lines: Vec<OutLine>,
    cur: String,
    cur_comment: Option<String>,
    indents: Vec<usize>,
    /// One entry per open group: is it flat?
    groups: Vec<bool>,
    /// A line break is due before the next text, to this indentation.
    pending: Option<usize>,
}

/// Lays out a command stream in `width` columns.
pub(crate) fn render(cmds: &[Cmd], width: usize) -> Vec<OutLine> {
    let mut r = Renderer {
        cmds,
        width,
        lines: Vec::new(),
        cur: String::new(),
        cur_comment: None,
        indents: vec![0],
        groups: Vec::new(),
        pending: None,
    };
    for (i, cmd) in cmds.iter().enumerate() {
        r.step(i, cmd);
    }
    if !r.cur.trim().is_empty() || r.cur_comment.is_some() {
        r.push_line();
    }
    r.lines
}

impl Renderer<'_> {
    fn indent(&self) -> usize {
        self.indents.last().copied().unwrap_or(0)
    }

    fn flat(&self) -> bool {
        self.groups.last().copied().unwrap_or(false)
    }

    fn push_line(&mut self) {
        let code = self.cur.trim_end().to_string();
        self.lines.push(OutLine { code, comment: self.cur_comment.take() });
        self.cur.clear();
    }

    fn flush_pending(&mut self) {
        if let Some(indent) = self.pending.take() {
            self.push_line();
            self.cur = " ".repeat(indent);
        }
    }

    fn has_code(&self) -> bool {
        !self.cur.trim().is_empty()
    }

    fn step(&mut self, i: usize, cmd: &Cmd) {
        match cmd {
            Cmd::Text(s, _) => {
                self.flush_pending();
                self.cur.push_str(s);
            }
            Cmd::IfBreak(s) => {
                if !self.flat() {
                    self.flush_pending();
                    self.cur.push_str(s);
                }
            }
            Cmd::Line => {
                if self.flat() {
                    if self.pending.is_none() {
                        self.cur.push(' ');
                    }
                } else {
                    self.pending = Some(self.indent());
                }
            }
            Cmd::SoftLine => {
                if !self.flat() {
                    self.pending = Some(self.indent());
                }
            }
            Cmd::HardLine => self.pending = Some(self.indent()),
            Cmd::GroupStart => {
                let flat = self.flat() || self.fits(i);
                self.groups.push(flat);
            }
            Cmd::GroupEnd => {
                self.groups.pop();
            }
            Cmd::Indent => self.indents.push(self.indent() + 2),
            Cmd::Dedent => {
                if self.indents.len() > 1 {
                    self.indents.pop();
                }
            }
            Cmd::Comment { text, trailing } => {
                if *trailing && self.pending.is_none() && self.has_code() && self.cur_comment.is_none() {
                    self.cur_comment = Some(text.clone());
                } else {
                    if self.pending.is_some() {
                        self.flush_pending();
                    } else if self.has_code() || self.cur_comment.is_some() {
                        self.push_line();
                        self.cur = " ".repeat(self.indent());
                    }
                    self.cur.push_str(text);
                }
                self.pending = Some(self.indent());
            }
        }
    }

    /// Whether the group starting at `cmds[start]` fits flat, with what follows it up to
    /// the next possible line break.
    fn fits(&self, start: usize) -> bool {
        let mut col = match self.pending {
            Some(indent) => indent,
            None => width(&self.cur),
        };
        let mut depth = 1usize;
        for cmd in self.cmds.iter().skip(start + 1) {
            match cmd {
                Cmd::Text(s, _) => col += width(s),
                Cmd::IfBreak(s) => {
                    if depth == 0 {
                        col += width(s);
                    }
                }
                Cmd::Line => {
                    if depth == 0 {
                        return true;
                    }
                    col += 1;
                }
                Cmd::SoftLine => {
                    if depth == 0 {
                        return true;
                    }
                }
                Cmd::HardLine | Cmd::Comment { .. } => return depth == 0,
                Cmd::GroupStart => {
                    if depth > 0 {
                        depth += 1;
                    }
                }
                Cmd::GroupEnd => depth = depth.saturating_sub(1),
                Cmd::Indent | Cmd::Dedent => {}
            }
            if col > self.width {
                return false;
            }
        }
        true
    }
}

/// Inserts comments into a command stream by source position: a trailing comment right
/// after the last token before it (before the next possible line break, so that it ends
/// that line), any other comment on a line of its own just before the first token after
/// it. Comments past the last token go at the end. Order is preserved; none is dropped.
pub(crate) fn place_comments(cmds: Vec<Cmd>, comments: &[&Comment]) -> Vec<Cmd> {
    if comments.is_empty() {
        return cmds;
    }
    let anchors: Vec<(usize, usize)> = cmds
        .iter()
        .enumerate()
        .filter_map(|(i, c)| match c {
            Cmd::Text(_, Some(a)) => Some((i, *a)),
            _ => None,
        })
        .collect();
    let is_break = |c: &Cmd| matches!(c, Cmd::Line | Cmd::SoftLine | Cmd::HardLine);
    let is_opening = |c: &Cmd| matches!(c, Cmd::GroupStart | Cmd::Indent);
    // (insert before this command index, comment)
    let mut inserts: Vec<(usize, &Comment)> = Vec::with_capacity(comments.len());
    let mut last_at = 0;
    for c in comments {
        let k = anchors.partition_point(|(_, a)| *a < c.start);
        let prev = k.checked_sub(1).and_then(|k| anchors.get(k)).map(|(i, _)| *i);
        let next = anchors.get(k).map_or(cmds.len(), |(i, _)| *i);
        let from = prev.map_or(0, |p| p + 1);
        let gap = from..next;
        // Just before `next`, but outside the groups that open right before it.
        let mut before_next = next;
        while before_next > from && cmds.get(before_next - 1).is_some_and(is_opening) {
            before_next -= 1;
        }
        let at = if prev.is_none() {
            0
        } else if c.trailing {
            gap.clone().find(|i| cmds.get(*i).is_some_and(is_break)).unwrap_or(before_next)
        } else {
            gap.clone().rev().find(|i| cmds.get(*i).is_some_and(is_break)).map_or(before_next, |i| i + 1)
        };
        // Never before an earlier comment (a trailing one after a full-line one in a gap).
        let at = at.max(last_at);
        last_at = at;
        inserts.push((at, c));
    }
    // Stable: comments with the same position keep their source order.
    inserts.sort_by_key(|(at, c)| (*at, c.start));
    let mut out = Vec::with_capacity(cmds.len() + inserts.len());
    let mut it = inserts.into_iter().peekable();
    for (i, cmd) in cmds.into_iter().enumerate() {
        while let Some((_, c)) = it.next_if(|(at, _)| *at <= i) {
            out.push(Cmd::Comment { text: c.text.clone(), trailing: c.trailing });
        }
        out.push(cmd);
    }
    for (_, c) in it {
        out.push(Cmd::Comment { text: c.text.clone(), trailing: c.trailing });
    }
    out
}

/// Aligns the trailing comments of consecutive lines to one column, two spaces after the
/// longest code among them.
pub(crate) fn align_comments(lines: &mut [OutLine]) -> Vec<String> {
    let mut out = Vec::with_capacity(lines.len());
    let mut i = 0;
    while i < lines.len() {
        if lines[i].comment.is_none() {
            out.push(lines[i].code.clone());
            i += 1;
            continue;
        }
        let mut j = i;
        while j < lines.len() && lines[j].comment.is_some() {
            j += 1;
        }
        let col = lines[i..j].iter().map(|l| width(&l.code)).max().unwrap_or(0);
        for l in &lines[i..j] {
            let comment = l.comment.as_deref().unwrap_or("");
            if l.code.trim().is_empty() {
                out.push(format!("{}{comment}", l.code));
            } else {
                out.push(format!("{}{}  {comment}", l.code, " ".repeat(col - width(&l.code))));
            }
        }
        i = j;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> Cmd {
        Cmd::Text(s.to_string(), None)
    }

    fn lines(cmds: &[Cmd], w: usize) -> Vec<String> {
        let mut l = render(cmds, w);
        align_comments(&mut l)
    }

    #[test]
    fn groups_break_outermost_first() {
        let cmds = vec![
            Cmd::GroupStart,
            t("aaaa"),
            Cmd::Line,
            t("and "),
            Cmd::GroupStart,
            Cmd::Indent,
            t("bb"),
            Cmd::Line,
            t("or cc"),
            Cmd::Dedent,
            Cmd::GroupEnd,
            Cmd::GroupEnd,
        ];
        assert_eq!(lines(&cmds, 80), vec!["aaaa and bb or cc"]);
        assert_eq!(lines(&cmds, 14), vec!["aaaa", "and bb or cc"]);
        assert_eq!(lines(&cmds, 8), vec!["aaaa", "and bb", "  or cc"]);
    }

    #[test]
    fn comments_force_breaks_and_align() {
        let cmds = vec![
            Cmd::GroupStart,
            t("a"),
            Cmd::Comment { text: "# one".into(), trailing: true },
            Cmd::Line,
            t("and bbb"),
            Cmd::Comment { text: "# two".into(), trailing: true },
            Cmd::GroupEnd,
        ];
        assert_eq!(lines(&cmds, 80), vec!["a        # one", "and bbb  # two"]);
    }
}
