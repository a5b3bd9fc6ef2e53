//! `tenet explain -p POLICY --rule NAME TENANT [--subject ID]`: the rule's source with
//! the value of each sub-expression, for the subjects that did not pass (or one subject).

use super::out::{self, Fail};
use super::{load_model, load_policies, print_diagnostics};
use crate::engine::{CompileError, Engine};
use crate::eval::{self, explain, machine::Env};
use crate::finding::Status;
use crate::lower::RuleFilter;
use crate::report::terminal_safe;
use crate::snapshot::{self, DecodePlan};
use crate::value::parse_date;
use std::fmt::Write as _;

/// Arguments of `tenet explain`.
#[derive(Debug, clap::Args)]
pub struct ExplainArgs {
    /// A policy file or directory (repeatable).
    #[arg(short = 'p', long = "policy", required = true)]
    pub policies: Vec<String>,
    /// The rule to explain: NAME or POLICY.RULE.
    #[arg(long)]
    pub rule: String,
    /// One tenant snapshot (a file; every tenant in it is explained).
    pub tenant: String,
    /// The subject's key or path (default: every subject that did not pass).
    #[arg(long)]
    pub subject: Option<String>,
    /// The evaluation instant, RFC 3339 (default: the current time).
    #[arg(long)]
    pub now: Option<String>,
    /// A custom model file (YAML).
    #[arg(long)]
    pub model: Option<String>,
}

pub fn run(args: &ExplainArgs) -> u8 {
    out::exit_code(explain_all(args).map_err(Fail::from).and_then(|(text, code)| {
        // Values come from tenant data: no control character reaches the terminal raw.
        out::print(&terminal_safe(&text, true))?;
        Ok(code)
    }))
}

fn explain_all(args: &ExplainArgs) -> Result<(String, u8), String> {
    let model = load_model(args.model.as_deref())?;
    let loaded = load_policies(&args.policies, &model)?;
    if !loaded.diagnostics.is_empty() {
        print_diagnostics(&loaded.diagnostics);
        return Err("the policies do not check".into());
    }
    let engine = match Engine::from_checked(model, loaded.policies, &[], &RuleFilter(vec![args.rule.clone()])) {
        Ok(e) => e,
        Err(CompileError::Usage(m)) => return Err(m),
        Err(CompileError::Diagnostics(d)) => {
            print_diagnostics(&d);
            return Err("the policies do not check".into());
        }
    };
    let now = match &args.now {
        Some(s) => parse_date(s.trim()).ok_or_else(|| format!("`--now {s}`: expected an RFC 3339 date-time"))?,
        None => super::check::now_ticks(),
    };
    let plan = DecodePlan::new(&engine.model, &engine.program.projection);
    let mut out = String::new();
    let mut shown = 0;
    let mut any_fail = false;
    for doc in snapshot::documents(std::slice::from_ref(&args.tenant)) {
        let content = doc.content.map_err(|e| format!("{}: {}", doc.label, e.message))?;
        let tenant = snapshot::decode(&doc.label, doc.source.clone(), &content, &plan)
            .map_err(|e| format!("{}: {}", doc.label, e.message))?;
        let model = &engine.model;
        let program = &engine.program;
        let mut env = Env::new(program, model, &tenant, now);
        for rule in &program.rules {
            let Some(policy) = program.policies.get(rule.policy) else { continue };
            let n = tenant.table(rule.subject).len() as u32;
            let mut passed = 0;
            for row in 0..n {
                let key = tenant.key(model, rule.subject, row);
                let path = tenant.path(model, rule.subject, row);
                if let Some(want) = &args.subject {
                    if key.as_deref() != Some(want.as_str()) && path != *want {
                        continue;
                    }
                }
                env.enter_rule(rule.policy, rule.n_locals);
                env.bind(rule.subject, row);
                let (status, reason) = eval::evaluate(&mut env, rule);
                if status == Status::Pass && args.subject.is_none() {
                    passed += 1;
                    continue;
                }
                any_fail |= matches!(status, Status::Fail | Status::Error);
                shown += 1;
                let who = match (key, path.as_str()) {
                    (_, "") => format!("tenant {}", tenant.id(model).as_deref().unwrap_or(&doc.label)),
                    (Some(k), p) => format!("{} {k} ({p})", model.kind_name(rule.subject)),
                    (None, p) => format!("{} {p}", model.kind_name(rule.subject)),
                };
                let _ = writeln!(out, "{}/{}  {who}  {}", policy.name, rule.name, status.as_str().to_uppercase());
                if !rule.see.is_empty() {
                    let see: Vec<&str> = rule.see.iter().map(|s| &**s).collect();
                    let _ = writeln!(out, "  see: {}", crate::report::terminal_safe(&see.join(" "), false));
                }
                if let Some(r) = reason {
                    let _ = writeln!(out, "  reason: {r}");
                }
                env.enter_rule(rule.policy, rule.n_locals);
                env.bind(rule.subject, row);
                if let Some(g) = &rule.guard {
                    let _ = writeln!(out, "  when:");
                    print_trace(&mut out, &explain::trace(&mut env, g, &policy.source));
                }
                if status != Status::Skip {
                    let _ = writeln!(out, "  assert:");
                    print_trace(&mut out, &explain::trace(&mut env, &rule.assert, &policy.source));
                }
                let _ = writeln!(out);
            }
            if args.subject.is_none() && passed > 0 {
                let _ = writeln!(
                    out,
                    "{}/{}: {passed} of {n} subjects passed (not shown; use --subject ID to see one)",
                    policy.name, rule.name
                );
            }
        }
    }
    if shown == 0 && args.subject.is_some() {
        return Err(format!("no subject `{}` for rule `{}`", args.subject.as_deref().unwrap_or(""), args.rule));
    }
    Ok((out, u8::from(any_fail)))
}

fn print_trace(out: &mut String, lines: &[explain::TraceLine]) {
    let width = lines.iter().map(|l| l.depth * 2 + l.source.chars().count()).max().unwrap_or(0).min(70);
    for l in lines {
        let indent = "  ".repeat(l.depth + 2);
        let text = format!("{indent}{}", l.source);
        let pad = (width + 4).saturating_sub(text.chars().count()).max(1);
        let value = match &l.value {
            Some(Ok(v)) => format!("= {v}"),
            Some(Err(e)) => format!("= error: {e}"),
            None if l.source.starts_with("element ") => String::new(),
            None => "(not evaluated)".to_string(),
        };
        if value.is_empty() {
            let _ = writeln!(out, "{text}");
        } else {
            let _ = writeln!(out, "{text}{}{value}", " ".repeat(pad));
        }
    }
}
