//! `--waivers FILE` and `--baseline FILE` for `check` and `lint`, and `tenet baseline`.

use super::out::Fail;
use super::{print_diagnostics, BaselineArgs, CheckArgs, EXIT_USAGE};
use crate::diagnostic::{Code, Diagnostic};
use crate::fsio;
use crate::report::Format;
use crate::source::{SourceFile, Span};
use crate::triage::{self, RuleIndex, Triage, Waiver, Waivers};
use std::path::Path;

/// Waiver files larger than this are not read (they are written by people).
const MAX_WAIVER_BYTES: u64 = fsio::MAX_SOURCE_BYTES;

/// Reads every waiver file. Mistakes are diagnostics (printed; `Ok(None)`: exit 2); a file
/// that cannot be read is an error naming it.
pub fn load_waivers(paths: &[String], rules: &RuleIndex) -> Result<Option<Vec<Waiver>>, Fail> {
    let mut list = Vec::new();
    let mut diags = Vec::new();
    for shown in paths {
        let bytes =
            fsio::read_file(Path::new(shown), shown, MAX_WAIVER_BYTES).map_err(|e| format!("waiver file: {e}"))?;
        let text = match String::from_utf8(bytes) {
            Ok(t) => t,
            Err(e) => {
                let at = e.utf8_error().valid_up_to();
                let file = SourceFile::new(shown.as_str(), String::from_utf8_lossy(e.as_bytes()).into_owned());
                diags.push(
                    Diagnostic::new(Code::Waiver, &file, Span::new(at, at + 1), format!("invalid UTF-8 at byte {at}"))
                        .label("here")
                        .help("waiver files are UTF-8 YAML"),
                );
                continue;
            }
        };
        match triage::waivers::load(&SourceFile::new(shown.as_str(), text), rules) {
            Ok(w) => list.extend(w),
            Err(d) => diags.extend(d),
        }
    }
    if diags.is_empty() {
        Ok(Some(list))
    } else {
        print_diagnostics(&diags);
        Ok(None)
    }
}

/// The triage of a `check` run: `Ok(None)` when a waiver file has mistakes (already
/// printed).
pub fn for_check(
    args: &CheckArgs,
    rules: &RuleIndex,
    program: &crate::ir::Program,
    now: i64,
) -> Result<Option<Triage>, Fail> {
    let waivers = if args.waivers.is_empty() {
        None
    } else {
        match load_waivers(&args.waivers, rules)? {
            Some(list) => Some(Waivers::new(list)),
            None => return Ok(None),
        }
    };
    let baseline = match &args.baseline {
        Some(b) => Some(triage::baseline::read(Path::new(b), b)?),
        None => None,
    };
    let evaluated = program.rules.iter().filter_map(|r| {
        let p = program.policies.get(r.policy)?;
        Some((p.name.clone(), r.name.clone()))
    });
    Ok(Some(Triage::new(waivers, baseline, now).evaluated(evaluated)))
}

/// `tenet lint --waivers FILE`: mistakes are errors (exit 2); waivers already expired at
/// `--now` are warnings (they no longer apply, which `check` handles safely).
pub fn lint(paths: &[String], rules: &RuleIndex, now: i64) -> Result<u8, Fail> {
    let Some(list) = load_waivers(paths, rules)? else { return Ok(EXIT_USAGE) };
    let mut expired = 0;
    for w in &list {
        if w.expired(now) {
            expired += 1;
            let line = format!(
                "warning: {}:{}: the waiver for `{}` expired on {} and no longer applies (renew it or remove it)",
                w.quote.file,
                w.quote.line,
                w.rule,
                triage::waivers::shown_expiry(w)
            );
            say!("{}", crate::report::terminal_safe(&line, false));
        }
    }
    say!(
        "{} waiver{}{}: no problems found",
        list.len(),
        if list.len() == 1 { "" } else { "s" },
        if expired > 0 { format!(" ({expired} expired)") } else { String::new() }
    );
    Ok(0)
}

/// `tenet baseline`: the run's JSON report, written atomically to `-o FILE` (nothing is
/// written when a tenant could not be read).
pub fn baseline(args: &BaselineArgs) -> u8 {
    let check = CheckArgs {
        policies: args.policies.clone(),
        tenants: args.tenants.clone(),
        format: Some(Format::Json),
        fail_on: super::FailOn::Never,
        set: args.set.clone(),
        now: args.now.clone(),
        model: args.model.clone(),
        jobs: args.jobs,
        rules: args.rules.clone(),
        waivers: args.waivers.clone(),
        baseline: None,
        from: None,
        overlay: None,
        adapter: None,
    };
    super::check::run_to(&check, &args.output)
}
