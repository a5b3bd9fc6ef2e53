//! `snapshot: true` — a case's findings pinned in `__snapshots__/<test-file>/<case>.json`.

use super::expect::push_finding;
use super::render::finding_line;
use super::SnapshotRef;
use crate::report::plural;
use serde_json::Value as J;
use std::io::ErrorKind;

pub struct Checked {
    pub passed: bool,
    pub details: Vec<String>,
    pub written: Vec<(String, bool)>,
}

/// The snapshot file's text for a list of findings: the report's `findings` array, pretty.
pub fn text(actual: &[J]) -> String {
    let mut t = serde_json::to_string_pretty(actual).unwrap_or_else(|_| "[]".into());
    t.push('\n');
    t
}

/// Slug of a case name for its snapshot file: lowercase letters and digits, `-` between
/// words, at most 80 bytes (`Exactly 5 certs (at cap)` → `exactly-5-certs-at-cap`).
pub fn slug(name: &str) -> String {
    let mut out = String::new();
    let mut gap = false;
    for c in name.chars() {
        if c.is_alphanumeric() {
            if gap && !out.is_empty() {
                out.push('-');
            }
            gap = false;
            if out.len() + c.len_utf8() > 80 {
                break;
            }
            out.extend(c.to_lowercase());
        } else {
            gap = true;
        }
    }
    if out.is_empty() {
        "case".into()
    } else {
        out
    }
}

/// Compares the findings with the stored snapshot; with `update`, writes it when missing
/// or different.
pub fn check(snap: &SnapshotRef, actual: &[J], update: bool) -> Checked {
    let new_text = text(actual);
    let mut c = Checked { passed: true, details: Vec::new(), written: Vec::new() };
    if let Err(e) = confined(snap) {
        c.passed = false;
        c.details.push(e);
        return c;
    }
    let old = match std::fs::symlink_metadata(&snap.path) {
        Err(e) if e.kind() == ErrorKind::NotFound => None,
        _ => match crate::fsio::read_file(&snap.path, &snap.shown, crate::fsio::MAX_SOURCE_BYTES)
            .and_then(|b| String::from_utf8(b).map_err(|_| format!("snapshot {} is not UTF-8", snap.shown)))
        {
            Ok(t) => Some(t),
            Err(e) => {
                c.passed = false;
                c.details.push(e);
                return c;
            }
        },
    };
    let Some(old) = old else {
        if update {
            write(snap, &new_text, true, &mut c);
        } else {
            c.passed = false;
            c.details.push(format!(
                "snapshot {} does not exist; run `tenet test --update` to write it ({})",
                snap.shown,
                plural(actual.len(), "finding", "findings")
            ));
            for f in actual {
                push_finding(&mut c.details, "+ ", f);
            }
        }
        return c;
    };
    if old == new_text {
        return c;
    }
    let parsed: Result<J, _> = serde_json::from_str(&old);
    if let Ok(J::Array(items)) = &parsed {
        if items.as_slice() == actual {
            // Same findings, other formatting: fine as it is.
            return c;
        }
    }
    if update {
        write(snap, &new_text, false, &mut c);
        return c;
    }
    c.passed = false;
    match parsed {
        Ok(J::Array(items)) => {
            c.details.push(format!(
                "snapshot {} differs (- stored, + now); run `tenet test --update` to accept:",
                snap.shown
            ));
            c.details.extend(diff(&items, actual));
        }
        Ok(_) => c.details.push(format!(
            "snapshot {} is not a list of findings; run `tenet test --update` to rewrite it",
            snap.shown
        )),
        Err(e) => c
            .details
            .push(format!("snapshot {} is not valid JSON ({e}); run `tenet test --update` to rewrite it", snap.shown)),
    }
    c
}

/// A snapshot is read and written only inside its test file's tree ([`SnapshotRef::root`]):
/// a `__snapshots__` directory (or a snapshot file) that is a symbolic link leading out of
/// it is refused, before anything is read, created or written. The message does not say
/// whether the outside target exists.
fn confined(snap: &SnapshotRef) -> Result<(), String> {
    match crate::fsio::Tree::new(&snap.root).locate(&snap.path) {
        crate::fsio::Located::Outside => {
            let root = snap.root.to_string_lossy();
            let tree = if root == "." { "the current directory".to_string() } else { format!("`{root}`") };
            Err(format!(
                "snapshot {} leads outside {tree} through a symbolic link; tenet reads and writes snapshots \
                 only inside the test file's tree (replace the link with a directory)",
                snap.shown
            ))
        }
        _ => Ok(()),
    }
}

fn write(snap: &SnapshotRef, text: &str, new: bool, c: &mut Checked) {
    // Atomically, never through a symbolic link (`fsio::write_atomic`), and only inside
    // the test file's tree: checked again just before directories are created. Neither
    // the file nor the two directories tenet makes for it (`__snapshots__/<test file>/`)
    // may be a link, even one that stays inside the tree.
    let linked = || {
        snap.path
            .ancestors()
            .skip(1)
            .take(2)
            .find(|d| std::fs::symlink_metadata(d).is_ok_and(|m| m.file_type().is_symlink()))
    };
    let res = confined(snap).map_err(std::io::Error::other).and_then(|()| match (linked(), snap.path.parent()) {
        (Some(d), _) => Err(std::io::Error::new(
            ErrorKind::InvalidInput,
            format!("`{}` is a symbolic link, and tenet does not write through links", d.display()),
        )),
        (None, Some(dir)) => {
            std::fs::create_dir_all(dir).and_then(|()| crate::fsio::write_atomic(&snap.path, text.as_bytes()))
        }
        (None, None) => crate::fsio::write_atomic(&snap.path, text.as_bytes()),
    });
    match res {
        Ok(()) => {
            c.details.push(format!("{} snapshot {}", if new { "wrote new" } else { "updated" }, snap.shown));
            c.written.push((snap.shown.clone(), new));
        }
        Err(e) => {
            c.passed = false;
            c.details.push(format!("cannot write snapshot {}: {e}", snap.shown));
        }
    }
}

/// Stored findings not found now (`-`) and findings not stored (`+`). Two that only differ
/// outside the one-line form (remediation, evidence, source…) are shown as full JSON.
fn diff(old: &[J], new: &[J]) -> Vec<String> {
    let mut used = vec![false; new.len()];
    let mut removed = Vec::new();
    for o in old {
        match (0..new.len()).find(|&j| !used[j] && new[j] == *o) {
            Some(j) => used[j] = true,
            None => removed.push(o),
        }
    }
    let added: Vec<&J> = new.iter().zip(&used).filter(|(_, u)| !**u).map(|(f, _)| f).collect();
    if removed.is_empty() && added.is_empty() {
        return vec!["  the same findings, in another order".into()];
    }
    let removed_lines: Vec<String> = removed.iter().map(|f| finding_line(f)).collect();
    let added_lines: Vec<String> = added.iter().map(|f| finding_line(f)).collect();
    let mut out = Vec::new();
    for (f, line) in removed.iter().zip(&removed_lines) {
        if added_lines.contains(line) {
            out.push(format!("  - {f}"));
        } else {
            push_finding(&mut out, "- ", f);
        }
    }
    for (f, line) in added.iter().zip(&added_lines) {
        if removed_lines.contains(line) {
            out.push(format!("  + {f}"));
        } else {
            push_finding(&mut out, "+ ", f);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs() {
        assert_eq!(slug("Exactly 5 certs (at cap)"), "exactly-5-certs-at-cap");
        assert_eq!(slug("  --  "), "case");
        assert_eq!(slug("a/b\\c..d"), "a-b-c-d");
        assert!(slug(&"x".repeat(300)).len() <= 80);
    }
}
