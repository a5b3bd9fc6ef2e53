//! `tenet schema [NAME]`: prints a JSON Schema (`crate::schema`), or lists them.

use super::out::{self, Fail};
use crate::schema::{self, SCHEMAS};

/// Arguments of `tenet schema`.
#[derive(Debug, clap::Args)]
pub struct SchemaArgs {
    /// The schema to print: policy, test, model, waivers, adapter, report or report-line (none:
    /// list them).
    pub name: Option<String>,
}

pub fn run(args: &SchemaArgs) -> u8 {
    out::exit_code(run_inner(args))
}

fn run_inner(args: &SchemaArgs) -> Result<u8, Fail> {
    let Some(name) = &args.name else {
        let list: String = SCHEMAS.iter().map(|e| format!("{:<12} {}\n", e.name, e.about)).collect();
        out::print(&list)?;
        return Ok(0);
    };
    match schema::find(name) {
        Some(entry) => {
            out::print(&schema::render(&(entry.generate)()))?;
            Ok(0)
        }
        None => {
            let names: Vec<&str> = SCHEMAS.iter().map(|e| e.name).collect();
            Err(format!("unknown schema `{name}`; the schemas are {}", names.join(", ")).into())
        }
    }
}
