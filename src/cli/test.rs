//! `tenet test [PATH...]`: runs policy tests (cli.md "Policy tests").
//!
//! Exit codes: `0` every case passed (and coverage, if asked, is at least the minimum);
//! `1` a case failed, or rule coverage is below `--coverage-min`; `2` the run is broken: a
//! usage error, an unreadable path, or a test file with mistakes (its diagnostics go to
//! standard error and its cases do not run; the other files still run). `2` takes
//! precedence over `1`.

use super::out::{self, Fail};
use super::{stderr_color, EXIT_USAGE};
use crate::harness::{self, CaseOutcome, CaseReport, Coverage, Options, TestFile};
use crate::report::terminal_safe;
use clap::ValueEnum;
use rayon::prelude::*;
use std::io::IsTerminal;

/// Arguments of `tenet test`.
#[derive(Debug, clap::Args)]
pub struct TestArgs {
    /// Test files or directories searched for `*.test.yaml` (default: `.`).
    pub paths: Vec<String>,
    /// Run only the cases whose `FILE › NAME` contains this substring (repeatable: any).
    #[arg(long = "filter", value_name = "SUBSTRING")]
    pub filter: Vec<String>,
    /// Write missing and changed snapshots (and say which) instead of failing on them.
    #[arg(long)]
    pub update: bool,
    /// Print which rules some case saw pass, fail and skip.
    #[arg(long)]
    pub coverage: bool,
    /// Exit 1 when fewer than PERCENT of the rules under test were seen failing.
    #[arg(long, value_name = "PERCENT", value_parser = parse_percent)]
    pub coverage_min: Option<f64>,
    /// Coverage output: `table` (with the case lines) or `json` (alone on standard output;
    /// the case lines then go to standard error). Implies `--coverage`.
    #[arg(long, value_enum, value_name = "FORMAT")]
    pub coverage_format: Option<CoverageFormat>,
    /// Worker threads (default: number of cores).
    #[arg(short = 'j', long = "jobs")]
    pub jobs: Option<usize>,
    /// Let test files name `policy`, `model` and `tenant_file` paths outside the current
    /// directory (by default they must stay inside it, or inside the directory given).
    #[arg(long)]
    pub allow_outside_paths: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CoverageFormat {
    Table,
    Json,
}

fn parse_percent(s: &str) -> Result<f64, String> {
    let t = s.trim().trim_end_matches('%');
    match t.parse::<f64>() {
        Ok(p) if (0.0..=100.0).contains(&p) => Ok(p),
        _ => Err(format!("`{s}` is not a percentage from 0 to 100")),
    }
}

pub fn run(args: &TestArgs) -> u8 {
    out::exit_code(run_inner(args))
}

fn run_inner(args: &TestArgs) -> Result<u8, Fail> {
    if args.jobs == Some(0) {
        return Err("`--jobs` must be at least 1".into());
    }
    let paths = if args.paths.is_empty() { vec![".".to_string()] } else { args.paths.clone() };
    let found = harness::discover(&paths)?;
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(args.jobs.unwrap_or(0))
        .stack_size(16 * 1024 * 1024)
        .build()
        .map_err(|e| format!("cannot start worker threads: {e}"))?;

    let json_coverage = args.coverage_format == Some(CoverageFormat::Json);
    let want_coverage = args.coverage || args.coverage_min.is_some() || args.coverage_format.is_some();
    let opts = Options { update: args.update, coverage: want_coverage };

    let files: Vec<TestFile> =
        pool.install(|| found.par_iter().map(|f| harness::load_file(f, args.allow_outside_paths)).collect());
    let selected: Vec<(usize, usize)> = files
        .iter()
        .enumerate()
        .flat_map(|(fi, f)| {
            f.cases
                .iter()
                .enumerate()
                .filter(|(_, c)| harness::selected(&args.filter, &f.path, &c.name))
                .map(move |(ci, _)| (fi, ci))
        })
        .collect();
    let outcomes: Vec<CaseOutcome> =
        pool.install(|| selected.par_iter().map(|&(fi, ci)| harness::run_case(&files[fi].cases[ci], &opts)).collect());

    // Diagnostics of broken test files, in file order.
    let color_err = stderr_color();
    let broken: Vec<&TestFile> = files.iter().filter(|f| !f.diagnostics.is_empty()).collect();
    for f in &broken {
        for d in &f.diagnostics {
            say_raw!("{}", super::render_diagnostic(d, color_err));
        }
    }

    // The case report goes to standard output, unless standard output holds the JSON
    // coverage document.
    let stdout = std::io::stdout();
    let to_stdout = !json_coverage;
    let color = if to_stdout { stdout.is_terminal() && std::env::var_os("NO_COLOR").is_none() } else { color_err };
    let mut text = String::new();
    let mut passed = 0usize;
    let mut failed = 0usize;
    let mut written = 0usize;
    let mut fi_last = usize::MAX;
    for (&(fi, ci), o) in selected.iter().zip(&outcomes) {
        // A broken file's line goes where its cases would have been.
        if fi != fi_last {
            for f in broken_between(&files, fi_last, fi) {
                text.push_str(&broken_line(f));
            }
            fi_last = fi;
        }
        let f = &files[fi];
        text.push_str(&CaseReport { file: &f.path, name: &f.cases[ci].name, outcome: o }.render(color));
        if o.passed {
            passed += 1;
        } else {
            failed += 1;
        }
        written += o.written.len();
    }
    for f in broken_between(&files, fi_last, files.len()) {
        text.push_str(&broken_line(f));
    }
    if found.is_empty() {
        text.push_str(&format!("no test files (*.test.yaml) found in {}\n", paths.join(", ")));
    } else if selected.is_empty() && !args.filter.is_empty() {
        text.push_str("no case matches --filter\n");
    }
    if args.filter.is_empty() {
        for f in files.iter().filter(|f| f.diagnostics.is_empty()) {
            for s in f.unreferenced_snapshots() {
                let line =
                    format!("warning: snapshot {s} belongs to no case of {} (delete it if the case is gone)", f.path);
                text.push_str(&terminal_safe(&line, false));
                text.push('\n');
            }
        }
    }
    if written > 0 {
        text.push_str(&format!("{written} snapshot{} written\n", if written == 1 { "" } else { "s" }));
    }

    let mut coverage = Coverage::new();
    let mut coverage_low = false;
    if want_coverage {
        let files_run: Vec<usize> = {
            let mut v: Vec<usize> = selected.iter().map(|&(fi, _)| fi).collect();
            v.dedup();
            v
        };
        for &fi in &files_run {
            for (p, r) in &files[fi].rules {
                coverage.add_rule(p, r);
            }
        }
        for o in &outcomes {
            for (p, r, s) in &o.seen {
                coverage.record(p, r, *s);
            }
        }
        if args.coverage || args.coverage_format == Some(CoverageFormat::Table) {
            text.push_str(&coverage.table());
        } else if !json_coverage {
            text.push_str(&coverage.summary_line());
            text.push('\n');
        }
        if let Some(min) = args.coverage_min {
            if coverage.failing_pct() + 1e-9 < min {
                coverage_low = true;
                text.push_str(&format!(
                    "coverage below --coverage-min {min}%: {:.1}% of rules seen failing; never seen failing:\n",
                    coverage.failing_pct()
                ));
                for r in coverage.never_failing() {
                    text.push_str(&format!("  {}/{}\n", r.policy, r.rule));
                }
            }
        }
    }
    if !broken.is_empty() {
        text.push_str(&format!(
            "{} test file{} could not run (see the problems above)\n",
            broken.len(),
            if broken.len() == 1 { "" } else { "s" }
        ));
    }
    text.push_str(&format!("{passed} passed, {failed} failed\n"));

    if to_stdout {
        out::print(&text)?;
    } else {
        say_raw!("{text}");
        out::print(&coverage.json())?;
    }
    Ok(if !broken.is_empty() {
        EXIT_USAGE
    } else if failed > 0 || coverage_low {
        1
    } else {
        0
    })
}

/// Broken files strictly between two file indices (`usize::MAX` as `from` means the start).
fn broken_between(files: &[TestFile], from: usize, to: usize) -> impl Iterator<Item = &TestFile> {
    let start = if from == usize::MAX { 0 } else { from + 1 };
    files.iter().enumerate().filter(move |(i, f)| *i >= start && *i < to && !f.diagnostics.is_empty()).map(|(_, f)| f)
}

fn broken_line(f: &TestFile) -> String {
    let n = f.diagnostics.len();
    format!(
        "ERROR  {} ({} problem{}; its cases did not run)\n",
        terminal_safe(&f.path, false),
        n,
        if n == 1 { "" } else { "s" }
    )
}
