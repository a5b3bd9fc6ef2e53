//! `tenet fmt [--check] PATH...`: formats `.tenet` files.
//!
//! Files are formatted in place, atomically (`fsio::write_atomic`: a temporary file in the
//! same directory renamed over the original, which keeps its permissions; a symbolic link
//! is not written through); directories are searched recursively for `.tenet` files
//! by the walk rules of `fsio::walk`. YAML policies are not formatted: one
//! named on the command line is skipped with a note. With `--check` nothing is written:
//! every file that would change is reported with the first lines that differ, and the exit
//! code is 1 if any would. A file that does not parse is not formatted (its diagnostics are
//! printed, exit 2), and neither is one whose formatted text would not parse back to the
//! same policy (an internal error, exit 2).

use super::out::{self, Fail};
use super::{print_diagnostics, EXIT_USAGE};
use crate::fmt::{format, FmtError};
use crate::fsio;
use crate::source::SourceFile;
use std::path::Path;

/// Arguments of `tenet fmt`.
#[derive(Debug, clap::Args)]
pub struct FmtArgs {
    /// Only report files that would change; exit 1 if any.
    #[arg(long)]
    pub check: bool,
    /// `.tenet` files or directories.
    #[arg(required = true)]
    pub paths: Vec<String>,
}

pub fn run(args: &FmtArgs) -> u8 {
    out::exit_code(run_inner(args))
}

fn run_inner(args: &FmtArgs) -> Result<u8, Fail> {
    let files = files(&args.paths)?;
    let mut broken = 0usize;
    let mut changed = 0usize;
    for fsio::Named { path: file_path, shown: path } in &files {
        let text = match fsio::read_file(file_path, path, fsio::MAX_SOURCE_BYTES) {
            Ok(bytes) => match String::from_utf8(bytes) {
                Ok(t) => t,
                Err(e) => {
                    say!("error: `{path}` is not UTF-8 (invalid byte at {})", e.utf8_error().valid_up_to());
                    broken += 1;
                    continue;
                }
            },
            Err(e) => {
                say!("error: {e}");
                broken += 1;
                continue;
            }
        };
        let file = SourceFile::new(path.as_str(), text);
        match format(&file) {
            Ok(formatted) if formatted == *file.text => {}
            Ok(formatted) => {
                changed += 1;
                if args.check {
                    // The path and the policy's lines may hold control characters.
                    let report = format!("{path}: not formatted\n{}", short_diff(&file.text, &formatted));
                    out::print(&crate::report::terminal_safe(&report, true))?;
                } else if let Err(e) = fsio::write_atomic(file_path, formatted.as_bytes()) {
                    say!("error: cannot write `{path}`: {e}; the file was left unchanged");
                    broken += 1;
                } else {
                    say!("formatted {path}");
                }
            }
            Err(FmtError::Parse(diags)) => {
                print_diagnostics(&diags);
                say!("error: `{path}` does not parse; it was not formatted");
                broken += 1;
            }
            Err(FmtError::Internal(msg)) => {
                say!(
                    "error: internal error formatting `{path}`: {msg}; the file was left unchanged (please report this)"
                );
                broken += 1;
            }
        }
    }
    let n = files.len();
    let s = |k: usize| if k == 1 { "" } else { "s" };
    if args.check {
        if changed > 0 {
            say!("{changed} of {n} file{} would be reformatted", s(n));
        } else if broken == 0 {
            say!("{n} file{} already formatted", s(n));
        }
    }
    Ok(if broken > 0 {
        EXIT_USAGE
    } else if args.check && changed > 0 {
        1
    } else {
        0
    })
}

/// The `.tenet` files under the given paths, in order (directories walked by the rules of
/// [`crate::fsio::walk`], sorted by path).
fn files(paths: &[String]) -> Result<Vec<fsio::Named>, String> {
    let mut out = Vec::new();
    let is_tenet = |name: &str| name.to_ascii_lowercase().ends_with(".tenet");
    for p in paths {
        let path = Path::new(p);
        match fsio::kind(path, p)? {
            fsio::Kind::Dir => {
                for e in fsio::walk(path, p, &is_tenet, &[]) {
                    match e {
                        fsio::Entry::File { path, shown } => out.push(fsio::Named { path, shown }),
                        fsio::Entry::Error { message, .. } => return Err(message),
                    }
                }
            }
            fsio::Kind::File(_) => {
                let lower = p.to_ascii_lowercase();
                if lower.ends_with(".yaml") || lower.ends_with(".yml") {
                    say!("note: skipping `{p}`: only `.tenet` files are formatted");
                } else {
                    out.push(fsio::Named { path: path.to_path_buf(), shown: p.clone() });
                }
            }
        }
    }
    Ok(out)
}

/// The first hunk where two texts differ, as `-old` / `+new` lines (at most a few each).
fn short_diff(old: &str, new: &str) -> String {
    const MAX: usize = 6;
    const WINDOW: usize = 200;
    let a: Vec<&str> = old.split('\n').collect();
    let b: Vec<&str> = new.split('\n').collect();
    let start = a.iter().zip(&b).take_while(|(x, y)| x == y).count();
    let (a, b) = (&a[start..], &b[start..]);
    // The hunk ends where both texts agree again for two lines (or both end).
    let agree = |i: usize, j: usize| (0..2).all(|k| a.get(i + k) == b.get(j + k));
    let (mut da, mut db) = (a.len(), b.len());
    'search: for d in 1..=WINDOW.min(a.len() + b.len()) {
        for i in 0..=d {
            let j = d - i;
            if i <= a.len() && j <= b.len() && agree(i, j) {
                (da, db) = (i, j);
                break 'search;
            }
        }
    }
    let removed = &a[..da];
    let added = &b[..db];
    let mut out = format!("  at line {}:\n", start + 1);
    let mut side = |lines: &[&str], sign: char| {
        for l in lines.iter().take(MAX) {
            out.push_str(&format!("  {sign}{}\n", l.trim_end_matches('\r')));
        }
        if lines.len() > MAX {
            out.push_str(&format!("  {sign}… ({} more lines)\n", lines.len() - MAX));
        }
    };
    side(removed, '-');
    side(added, '+');
    if removed.iter().map(|l| l.trim_end()).eq(added.iter().map(|l| l.trim_end())) {
        out.push_str("  (only whitespace at the ends of lines differs)\n");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::short_diff;

    #[test]
    fn diff_shows_the_first_differing_lines() {
        let d = short_diff("a\nb\nc\n", "a\nB\nc\n");
        assert_eq!(d, "  at line 2:\n  -b\n  +B\n");
        let d = short_diff("a\nb\nc\nd\ne\nf\n", "a\nx\nb\nc\nd\nE\nf\n");
        assert_eq!(d, "  at line 2:\n  +x\n");
        let d = short_diff("a\r\nb\r\n", "a\nb\n");
        assert!(d.contains("only whitespace"), "{d}");
    }
}
