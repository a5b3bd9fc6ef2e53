//! The six rules in Rego through regorus, as a program for whole-process measurements
//! (`scripts/measure.sh`): `rego FILE.json|FILE.jsonl` prints one line per violation,
//! `TENANT<TAB>RULE<TAB>ID`, and a count on standard error. Single-threaded.

#[path = "../common/rego.rs"]
mod rego;

use std::io::{BufRead, BufReader, BufWriter, Write};

fn main() {
    let Some(path) = std::env::args().nth(1) else {
        eprintln!("usage: rego FILE.json|FILE.jsonl");
        std::process::exit(2)
    };
    match run(&path) {
        Ok(n) => eprintln!("rego: {n} violations"),
        Err(e) => {
            eprintln!("rego: {path}: {e}");
            std::process::exit(2)
        }
    }
}

fn run(path: &str) -> Result<u64, Box<dyn std::error::Error>> {
    let mut engine = rego::Rego::new()?;
    let mut out = BufWriter::new(std::io::stdout().lock());
    let mut n = 0u64;
    let mut one = |json: &str, out: &mut BufWriter<_>| -> Result<(), Box<dyn std::error::Error>> {
        let mut err = Ok(());
        engine.check(json, |t, rule, id| {
            n += 1;
            if err.is_ok() {
                err = writeln!(out, "{t}\t{rule}\t{id}");
            }
        })?;
        Ok(err?)
    };
    if path.ends_with(".jsonl") || path.ends_with(".ndjson") {
        let mut r = BufReader::with_capacity(1 << 20, std::fs::File::open(path)?);
        let mut line = String::new();
        while r.read_line(&mut line)? > 0 {
            if !line.trim().is_empty() {
                one(&line, &mut out)?;
            }
            line.clear();
        }
    } else {
        one(&std::fs::read_to_string(path)?, &mut out)?;
    }
    out.flush()?;
    Ok(n)
}
