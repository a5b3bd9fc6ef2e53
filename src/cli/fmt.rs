//! `tenet fmt [--check] PATH...`: formats `.tenet` files.
//!
//! Files are formatted in place; directories are searched recursively for `.tenet` files
//! (hidden directories and `target/` are skipped). YAML policies are not formatted: one
//! named on the command line is skipped with a note. With `--check` nothing is written:
//! every file that would change is reported with the first lines that differ, and the exit
//! code is 1 if any would. A file that does not parse is not formatted (its diagnostics are
//! printed, exit 2), and neither is one whose formatted text would not parse back to the
//! same policy (an internal error, exit 2).

use super::{print_diagnostics, EXIT_USAGE};
use crate::fmt::{format, FmtError};
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
    let files = match files(&args.paths) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("error: {e}");
            return EXIT_USAGE;
        }
    };
    let mut broken = 0usize;
    let mut changed = 0usize;
    for path in &files {
        let text = match std::fs::read(path) {
            Ok(bytes) => match String::from_utf8(bytes) {
                Ok(t) => t,
                Err(e) => {
                    eprintln!("error: `{path}` is not UTF-8 (invalid byte at {})", e.utf8_error().valid_up_to());
                    broken += 1;
                    continue;
                }
            },
            Err(e) => {
                eprintln!("error: cannot read `{path}`: {e}");
                broken += 1;
                continue;
            }
        };
        let file = SourceFile::new(path.as_str(), text);
        match format(&file) {
            Ok(out) if out == *file.text => {}
            Ok(out) => {
                changed += 1;
                if args.check {
                    println!("{path}: not formatted");
                    print!("{}", short_diff(&file.text, &out));
                } else if let Err(e) = std::fs::write(path, &out) {
                    eprintln!("error: cannot write `{path}`: {e}");
                    broken += 1;
                } else {
                    eprintln!("formatted {path}");
                }
            }
            Err(FmtError::Parse(diags)) => {
                print_diagnostics(&diags);
                eprintln!("error: `{path}` does not parse; it was not formatted");
                broken += 1;
            }
            Err(FmtError::Internal(msg)) => {
                eprintln!(
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
            eprintln!("{changed} of {n} file{} would be reformatted", s(n));
        } else if broken == 0 {
            eprintln!("{n} file{} already formatted", s(n));
        }
    }
    if broken > 0 {
        EXIT_USAGE
    } else if args.check && changed > 0 {
        1
    } else {
        0
    }
}

/// The `.tenet` files under the given paths, in order (directories sorted by path).
fn files(paths: &[String]) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    for p in paths {
        let path = Path::new(p);
        let meta = std::fs::metadata(path).map_err(|e| format!("cannot read `{p}`: {e}"))?;
        if meta.is_dir() {
            let mut found = Vec::new();
            walk(path, &mut found).map_err(|e| format!("cannot read directory `{p}`: {e}"))?;
            found.sort();
            out.extend(found);
        } else {
            let lower = p.to_ascii_lowercase();
            if lower.ends_with(".yaml") || lower.ends_with(".yml") {
                eprintln!("note: skipping `{p}`: only `.tenet` files are formatted");
            } else {
                out.push(p.clone());
            }
        }
    }
    Ok(out)
}

fn walk(dir: &Path, out: &mut Vec<String>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if entry.file_type()?.is_dir() {
            if !name.starts_with('.') && name != "target" {
                walk(&entry.path(), out)?;
            }
        } else if name.to_ascii_lowercase().ends_with(".tenet") {
            out.push(entry.path().to_string_lossy().into_owned());
        }
    }
    Ok(())
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
