//! The hand-written baseline as a program, for whole-process measurements
//! (`scripts/measure.sh`): `baseline [--lean] FILE.json|FILE.jsonl` prints one line per
//! violation, `TENANT<TAB>RULE<TAB>ID`, and a count on standard error. Single-threaded.
//! Without `--lean` it parses into structs of the whole export (the baseline);
//! with it, into structs of only the fields the rules read (`common/baseline.rs`).

#[path = "../common/baseline.rs"]
mod baseline;

use std::io::{BufRead, BufReader, BufWriter, Write};

type Out<'a> = BufWriter<std::io::StdoutLock<'a>>;

fn main() {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let lean = args.iter().any(|a| a == "--lean");
    args.retain(|a| a != "--lean");
    let [path] = args.as_slice() else {
        eprintln!("usage: baseline [--lean] FILE.json|FILE.jsonl");
        std::process::exit(2)
    };
    match run(path, lean) {
        Ok(n) => eprintln!("baseline: {n} violations"),
        Err(e) => {
            eprintln!("baseline: {path}: {e}");
            std::process::exit(2)
        }
    }
}

/// Parses and checks one document, writing its violations.
fn one(json: &[u8], lean: bool, out: &mut Out<'_>, n: &mut u64) -> Result<(), Box<dyn std::error::Error>> {
    let mut err = Ok(());
    let mut emit = |tenant: &str, rule: &str, id: &str| {
        *n += 1;
        if err.is_ok() {
            err = writeln!(out, "{tenant}\t{rule}\t{id}");
        }
    };
    if lean {
        let t = baseline::parse_lean(json)?;
        baseline::check_lean(&t, |rule, id| emit(&t.id, rule, id));
    } else {
        let t = baseline::parse_full(json)?;
        baseline::check_full(&t, |rule, id| emit(&t.id, rule, id));
    }
    Ok(err?)
}

fn run(path: &str, lean: bool) -> Result<u64, Box<dyn std::error::Error>> {
    let mut out = BufWriter::new(std::io::stdout().lock());
    let mut n = 0u64;
    if path.ends_with(".jsonl") || path.ends_with(".ndjson") {
        let mut r = BufReader::with_capacity(1 << 20, std::fs::File::open(path)?);
        let mut line = Vec::new();
        while r.read_until(b'\n', &mut line)? > 0 {
            if line.iter().any(|b| !b.is_ascii_whitespace()) {
                one(&line, lean, &mut out, &mut n)?;
            }
            line.clear();
        }
    } else {
        one(&std::fs::read(path)?, lean, &mut out, &mut n)?;
    }
    out.flush()?;
    Ok(n)
}
