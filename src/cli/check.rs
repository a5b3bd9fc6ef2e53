//! `tenet check`: the whole pipeline.
//!
//! policies → check → lower → program; inputs → documents (streamed) → windows of tenants
//! decoded and evaluated in parallel → reports written in input order.

use super::out::{self, Fail};
use super::{load_model, load_policies, print_diagnostics, CheckArgs, EXIT_USAGE};
use crate::engine::{CompileError, Engine};
use crate::finding::{Summary, TenantReport};
use crate::lower::{overrides, RuleFilter};
use crate::report::{self, terminal_safe, Format, PolicyLine, RunInfo};
use crate::snapshot::{self, Document, Tenant};
use crate::value::{format_datetime, parse_date};
use rayon::prelude::*;
use std::io::{IsTerminal, Write};

/// Tenants in flight at once, per worker thread: bounds memory in bulk runs.
const WINDOW_PER_THREAD: usize = 8;
/// Bytes of raw documents in flight at once.
const WINDOW_BYTES: usize = 64 * 1024 * 1024;

pub fn run(args: &CheckArgs) -> u8 {
    out::exit_code(run_inner(args, None))
}

/// `tenet baseline`: the run's report goes to a file, replaced only when the run is whole.
pub fn run_to(args: &CheckArgs, dest: &str) -> u8 {
    out::exit_code(run_inner(args, Some(dest)))
}

/// `--now`, or the current time.
pub fn parse_now(now: Option<&str>) -> Result<i64, Fail> {
    match now {
        Some(s) => Ok(parse_date(s.trim())
            .ok_or_else(|| format!("`--now {s}`: expected an RFC 3339 date-time like 2026-11-22T00:00:00Z"))?),
        None => Ok(now_ticks()),
    }
}

fn run_inner(args: &CheckArgs, dest: Option<&str>) -> Result<u8, Fail> {
    let model = load_model(args.model.as_deref())?;
    let loaded = load_policies(&args.policies, &model)?;
    if !loaded.diagnostics.is_empty() {
        print_diagnostics(&loaded.diagnostics);
        return Ok(EXIT_USAGE);
    }
    let sets = args.set.iter().map(|s| overrides::parse_set(s)).collect::<Result<Vec<_>, _>>()?;
    let rule_index = crate::triage::RuleIndex::new(&loaded.policies);
    let engine = match Engine::from_checked(model, loaded.policies, &sets, &RuleFilter(args.rules.clone())) {
        Ok(e) => e,
        Err(CompileError::Usage(msg)) => return Err(msg.into()),
        Err(CompileError::Diagnostics(d)) => {
            print_diagnostics(&d);
            return Ok(EXIT_USAGE);
        }
    };
    let now = parse_now(args.now.as_deref())?;
    let Some(triage) = super::triage::for_check(args, &rule_index, &engine.program, now)? else {
        return Ok(EXIT_USAGE);
    };
    let threads = args.jobs.unwrap_or(0);
    if args.jobs == Some(0) {
        return Err("`--jobs` must be at least 1".into());
    }
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .stack_size(16 * 1024 * 1024)
        .build()
        .map_err(|e| format!("cannot start worker threads: {e}"))?;

    let program = &engine.program;
    let info = RunInfo {
        now: format_datetime(now),
        policies: program
            .policies
            .iter()
            .map(|p| PolicyLine { name: p.name.clone(), file: p.file.clone(), rules: p.n_rules })
            .collect(),
    };
    let stdout = std::io::stdout();
    let format = args.format.unwrap_or(if stdout.is_terminal() { Format::Human } else { Format::Json });
    let color =
        dest.is_none() && format == Format::Human && stdout.is_terminal() && std::env::var_os("NO_COLOR").is_none();
    let sink = match dest {
        None => Sink::Stdout(stdout),
        Some(d) => Sink::File(
            crate::fsio::AtomicFile::create(std::path::Path::new(d)).map_err(|e| format!("cannot write `{d}`: {e}"))?,
        ),
    };
    let mut emit = Emit {
        reporter: report::reporter(format, info, color),
        out: std::io::BufWriter::with_capacity(1 << 16, sink),
        triage,
        findings: 0,
        summary: Summary::new(),
        input_errors: false,
        failing: false,
        threshold: args.fail_on.threshold(),
        progress: Progress::new(),
    };
    let window = pool.current_num_threads().max(1) * WINDOW_PER_THREAD;
    let mut docs = match args.from {
        None => snapshot::documents(&args.tenants),
        Some(vendor) => match super::import::check_documents(args, vendor, &engine.model)? {
            Ok(d) => d,
            Err(code) => return Ok(code),
        },
    };
    let read_window = |docs: &mut snapshot::Documents| {
        let mut batch: Vec<Document> = Vec::new();
        let mut bytes = 0;
        while batch.len() < window && bytes < WINDOW_BYTES {
            let Some(d) = docs.next() else { break };
            bytes += d.size();
            batch.push(d);
        }
        batch
    };
    // A pipeline of three windows: while one window of tenants is decoded and evaluated
    // in parallel, the previous window's reports are written and the next window is
    // read. Reading and writing are sequential by nature; this way they overlap with
    // the parallel work. Output lags input by at most two windows, and memory holds at
    // most three.
    let mut next = read_window(&mut docs);
    let mut done: Vec<TenantReport> = Vec::new();
    while !next.is_empty() {
        let batch = std::mem::take(&mut next);
        let mut previous = std::mem::take(&mut done);
        type Evaluated = (Vec<TenantReport>, Vec<Option<Tenant>>);
        let ((reports, tenants), (following, wrote)): (Evaluated, (Vec<Document>, Result<(), Fail>)) =
            pool.install(|| {
                rayon::join(
                    || batch.par_iter().map(|d| engine.run_document_keeping(d, now)).unzip(),
                    || {
                        let wrote = emit.reports(&mut previous);
                        (read_window(&mut docs), wrote)
                    },
                )
            });
        wrote?;
        docs.recycle(batch);
        if following.is_empty() {
            // The last window: the process is about to exit, and freeing a large tenant
            // row by row (millions of strings) would only delay it; the OS takes it back.
            std::mem::forget(tenants);
        } else {
            pool.install(|| tenants.into_par_iter().for_each(drop));
        }
        done = reports;
        next = following;
    }
    emit.reports(&mut done)?;
    emit.progress.finish();
    emit.triage.finish(&mut emit.summary);
    for w in &emit.summary.stale_waivers {
        let line = format!(
            "warning: {}:{}: the waiver for `{}` matched no finding (stale: remove it)",
            w.file, w.line, w.rule
        );
        say!("{}", terminal_safe(&line, false));
    }
    emit.reporter.finish(&mut emit.out, &emit.summary).map_err(out::write_failed)?;
    emit.out.flush().map_err(out::write_failed)?;
    if let Some(d) = dest {
        if emit.input_errors {
            say!("error: `{d}` not written: a tenant could not be read, and a baseline must hold every tenant");
            return Ok(EXIT_USAGE);
        }
        let sink = emit.out.into_inner().map_err(|e| format!("cannot write `{d}`: {}", e.error()))?;
        if let Sink::File(f) = sink {
            f.commit().map_err(|e| format!("cannot write `{d}`: {e}"))?;
        }
        say!("wrote `{d}`: {} findings of {} tenants", emit.findings, emit.summary.tenants);
        return Ok(0);
    }
    if emit.summary.tenants == 0 {
        // Vacuously clean: say so, so that a CI job given a wrong or empty path is noticed.
        if args.tenants.is_empty() {
            say!("warning: no tenants were given (name files, directories, or `-` for standard input)");
        } else {
            say!("warning: no tenants were read from {}", args.tenants.join(", "));
        }
    }
    Ok(if emit.input_errors {
        EXIT_USAGE
    } else if emit.failing {
        1
    } else {
        0
    })
}

/// Standard output, or the file `tenet baseline` writes.
enum Sink {
    Stdout(std::io::Stdout),
    File(crate::fsio::AtomicFile),
}

impl Write for Sink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match self {
            Sink::Stdout(s) => s.write(buf),
            Sink::File(f) => f.write(buf),
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        match self {
            Sink::Stdout(s) => s.flush(),
            Sink::File(f) => f.flush(),
        }
    }
}

/// Where reports go, and what they add up to.
struct Emit {
    reporter: Box<dyn report::Reporter>,
    out: std::io::BufWriter<Sink>,
    /// Waivers and baseline, applied to each tenant's findings before they are written.
    triage: crate::triage::Triage,
    findings: u64,
    summary: Summary,
    input_errors: bool,
    failing: bool,
    threshold: Option<crate::finding::Severity>,
    progress: Progress,
}

impl Emit {
    /// Writes reports in order and counts them. Every input error also gets one line on
    /// standard error, whatever the format, so that a log shows why the run failed.
    fn reports(&mut self, reports: &mut [TenantReport]) -> Result<(), Fail> {
        if reports.is_empty() {
            return Ok(());
        }
        self.progress.advance(reports.len() as u64);
        for r in reports {
            self.triage.apply(r);
            self.findings += r.findings.len() as u64;
            self.summary.add(&r.summary);
            self.input_errors |= r.input_error;
            if r.input_error {
                for f in &r.findings {
                    let line = format!("error: input `{}`: {}", f.tenant, f.message);
                    self.progress.suspend(|| say!("{}", terminal_safe(&line, false)));
                }
            }
            self.failing |= r.findings.iter().any(|f| crate::triage::gates(f, self.threshold));
            self.reporter.tenant(&mut self.out, r).map_err(out::write_failed)?;
        }
        Ok(())
    }
}

pub(super) fn now_ticks() -> i64 {
    let d = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    i64::try_from(d.as_micros()).unwrap_or(i64::MAX)
}

/// A progress line on standard error for long runs on a terminal: it appears only after
/// the first half second, so short runs print nothing.
struct Progress {
    start: std::time::Instant,
    done: u64,
    bar: Option<indicatif::ProgressBar>,
    enabled: bool,
}

impl Progress {
    fn new() -> Self {
        let enabled = std::io::stderr().is_terminal();
        Progress { start: std::time::Instant::now(), done: 0, bar: None, enabled }
    }

    fn advance(&mut self, n: u64) {
        self.done += n;
        if !self.enabled {
            return;
        }
        if self.bar.is_none() && self.start.elapsed() > std::time::Duration::from_millis(500) {
            let bar = indicatif::ProgressBar::new_spinner();
            if let Ok(style) =
                indicatif::ProgressStyle::with_template("{spinner} {pos} tenants checked ({per_sec}, {elapsed})")
            {
                bar.set_style(style);
            }
            bar.enable_steady_tick(std::time::Duration::from_millis(120));
            self.bar = Some(bar);
        }
        if let Some(bar) = &self.bar {
            bar.set_position(self.done);
        }
    }

    /// Runs `f` (which writes to standard error) with the progress line out of the way.
    fn suspend(&self, f: impl FnOnce()) {
        match &self.bar {
            Some(bar) => bar.suspend(f),
            None => f(),
        }
    }

    fn finish(&mut self) {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
    }
}
