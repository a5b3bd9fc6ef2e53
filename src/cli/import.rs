//! `tenet import`: vendor exports → tenet snapshots (pretty JSON for one tenant, JSONL for
//! several), with a report on standard error of what was filled, from which file, and
//! what stays missing.

use super::out::{self, Fail};
use super::{load_model, print_diagnostics, EXIT_USAGE};
use crate::import::{self, SetupError, Vendor};
use crate::report::terminal_safe;

#[derive(Debug, clap::Args)]
pub struct ImportArgs {
    /// The system the export comes from.
    #[arg(long = "from", value_enum)]
    pub from: Vendor,
    /// Export directories: one tenant's files, or a directory of such directories.
    #[arg(required = true)]
    pub sources: Vec<String>,
    /// A partial snapshot (YAML or JSON) merged over each imported tenant.
    #[arg(long)]
    pub overlay: Option<String>,
    /// An adapter file instead of the built-in one for `--from`.
    #[arg(long)]
    pub adapter: Option<String>,
    /// Write here (atomically) instead of standard output: `.json` for one tenant,
    /// `.jsonl` for any number.
    #[arg(short = 'o', long = "output")]
    pub output: Option<String>,
    /// A custom model file (YAML).
    #[arg(long)]
    pub model: Option<String>,
}

pub fn run(args: &ImportArgs) -> u8 {
    out::exit_code(run_inner(args))
}

/// Loads the adapter and overlay; diagnostics in an adapter file are printed here.
pub(super) fn setup(
    vendor: Vendor,
    adapter: Option<&str>,
    overlay: Option<&str>,
    model: &crate::model::Model,
) -> Result<Result<import::Setup, u8>, Fail> {
    match import::setup(vendor, adapter, overlay, model) {
        Ok(s) => Ok(Ok(s)),
        Err(SetupError::Usage(m)) => Err(m.into()),
        Err(SetupError::Adapter(d)) => {
            print_diagnostics(&d);
            Ok(Err(EXIT_USAGE))
        }
    }
}

/// Warns about tenant ids of a keyed overlay that matched no imported tenant.
pub(super) fn unused_overlay(setup: &import::Setup, imported: &[import::Imported]) {
    let Some(ov) = &setup.overlay else { return };
    let ids: Vec<String> =
        imported.iter().filter_map(|t| t.result.as_ref().ok()?.0.get("id")?.as_str().map(str::to_string)).collect();
    for id in ov.unused(&ids) {
        say!("{}", terminal_safe(&format!("warning: overlay `{}`: no imported tenant has id `{id}`", ov.shown), false));
    }
}

fn run_inner(args: &ImportArgs) -> Result<u8, Fail> {
    let model = load_model(args.model.as_deref())?;
    let setup = match setup(args.from, args.adapter.as_deref(), args.overlay.as_deref(), &model)? {
        Ok(s) => s,
        Err(code) => return Ok(code),
    };
    let imported = import::import(&args.sources, &setup.adapter, setup.overlay.as_ref(), &model)?;
    unused_overlay(&setup, &imported);
    let lines_format = match args.output.as_deref() {
        Some(o) => {
            let lower = o.to_ascii_lowercase();
            if lower.ends_with(".jsonl") || lower.ends_with(".ndjson") {
                true
            } else if lower.ends_with(".json") {
                if imported.len() != 1 {
                    return Err(format!(
                        "`-o {o}`: {} tenants were found, and a .json file holds one; write a .jsonl file",
                        imported.len()
                    )
                    .into());
                }
                false
            } else {
                return Err(format!("`-o {o}`: name a .json file (one tenant) or a .jsonl file").into());
            }
        }
        None => imported.len() != 1,
    };
    let mut text = String::new();
    let mut failed = false;
    for t in &imported {
        match &t.result {
            Ok((snap, filled)) => {
                report(t, snap, filled, &model);
                let s = if lines_format { serde_json::to_string(snap) } else { serde_json::to_string_pretty(snap) };
                text.push_str(&s.unwrap_or_default());
                text.push('\n');
            }
            Err(e) => {
                failed = true;
                say!("{}", terminal_safe(&format!("error: {e}"), false));
            }
        }
    }
    match &args.output {
        Some(o) => crate::fsio::write_atomic(std::path::Path::new(o), text.as_bytes())
            .map_err(|e| format!("cannot write `{o}`: {e}"))?,
        None => out::print(&text)?,
    }
    Ok(if failed { EXIT_USAGE } else { 0 })
}

/// What was filled, from where, and what stays missing, on standard error.
fn report(t: &import::Imported, snap: &serde_json::Value, filled: &import::Filled, model: &crate::model::Model) {
    let id = snap.get("id").and_then(|v| v.as_str()).unwrap_or("?");
    let mut lines = vec![format!("imported tenant `{id}` from `{}`", t.dir)];
    for (field, from) in &filled.fields {
        lines.push(format!("  filled   {field:<40} from {}", from.join(", ")));
    }
    let missing = import::missing(model, snap);
    if !missing.is_empty() {
        lines.push(format!("  missing  {}", missing.join(", ")));
    }
    for n in &filled.notes {
        lines.push(format!("  note     {n}"));
    }
    for l in lines {
        say!("{}", terminal_safe(&l, false));
    }
}

/// `tenet check --from`: the tenants of the export directories, imported, as documents
/// for the check pipeline (a tenant that cannot be imported is an `input` finding).
pub(super) fn check_documents(
    args: &super::CheckArgs,
    vendor: Vendor,
    model: &crate::model::Model,
) -> Result<Result<crate::snapshot::Documents, u8>, Fail> {
    if args.tenants.is_empty() {
        return Err("`--from` reads export directories: name at least one".into());
    }
    let setup = match setup(vendor, args.adapter.as_deref(), args.overlay.as_deref(), model)? {
        Ok(s) => s,
        Err(code) => return Ok(Err(code)),
    };
    let imported = import::import(&args.tenants, &setup.adapter, setup.overlay.as_ref(), model)?;
    unused_overlay(&setup, &imported);
    for t in &imported {
        if let Ok((_, filled)) = &t.result {
            for n in &filled.notes {
                say!("{}", terminal_safe(&format!("note: `{}`: {n}", t.dir), false));
            }
        }
    }
    Ok(Ok(crate::snapshot::given(import::documents(imported))))
}
