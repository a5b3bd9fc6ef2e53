//! `tenet lint -p POLICY...`

use super::{load_model, load_policies, out, print_diagnostics, LintArgs, EXIT_USAGE};
use crate::diagnostic::{Code, CODES};

pub fn run(args: &LintArgs) -> u8 {
    if let Some(code) = &args.explain {
        return explain(code);
    }
    let model = match load_model(args.model.as_deref()) {
        Ok(m) => m,
        Err(e) => {
            say!("error: {e}");
            return EXIT_USAGE;
        }
    };
    match load_policies(&args.policies, &model) {
        Ok(loaded) if loaded.diagnostics.is_empty() => {
            let rules: usize = loaded.policies.iter().map(|p| p.rules.len()).sum();
            say!("{} policies, {rules} rules: no problems found", loaded.policies.len());
            if args.waivers.is_empty() {
                return 0;
            }
            let index = crate::triage::RuleIndex::new(&loaded.policies);
            let now = match super::check::parse_now(args.now.as_deref()) {
                Ok(n) => n,
                Err(e) => return super::out::exit_code(Err(e)),
            };
            super::out::exit_code(super::triage::lint(&args.waivers, &index, now))
        }
        Ok(loaded) => {
            print_diagnostics(&loaded.diagnostics);
            EXIT_USAGE
        }
        Err(e) => {
            say!("error: {e}");
            EXIT_USAGE
        }
    }
}

/// `tenet lint --explain CODE`: the code's page, from the registry.
fn explain(code: &str) -> u8 {
    match Code::parse(code) {
        Some(c) => out::exit_code(out::print(c.info().page).map(|()| 0)),
        None => {
            let known: Vec<&str> = CODES.iter().map(|c| c.id).collect();
            say!("error: unknown diagnostic code `{code}`; codes: {}", known.join(", "));
            EXIT_USAGE
        }
    }
}
