//! Loading the model and the policies named on the command line.

use crate::diagnostic::{Code, Diagnostic};
use crate::hir;
use crate::model::{self, Model};
use crate::source::{SourceFile, Span};
use std::path::{Path, PathBuf};

/// Loads `--model FILE`, or the built-in `erp` model.
pub fn load_model(path: Option<&str>) -> Result<Model, String> {
    let Some(path) = path else { return Ok(Model::erp()) };
    let text = std::fs::read(path).map_err(|e| format!("cannot read model `{path}`: {e}"))?;
    let text = String::from_utf8(text)
        .map_err(|e| format!("model `{path}` is not UTF-8 (invalid byte at {})", e.utf8_error().valid_up_to()))?;
    let file = SourceFile::new(path, text);
    model::load(&file).map_err(|diags| {
        super::print_diagnostics(&diags);
        format!("model `{path}` has errors")
    })
}

/// Every policy file under the given paths: files as given, directories searched
/// recursively for `.tenet`, `.yaml`, `.yml` (not `*.test.yaml`, and not inside
/// `fixtures/` or `__snapshots__/`), sorted by path.
pub fn policy_files(paths: &[String]) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    for p in paths {
        let path = Path::new(p);
        let meta = std::fs::metadata(path).map_err(|e| format!("cannot read policy path `{p}`: {e}"))?;
        if meta.is_dir() {
            let mut found = Vec::new();
            walk(path, &mut found).map_err(|e| format!("cannot read directory `{p}`: {e}"))?;
            found.sort();
            out.extend(found.into_iter().map(|f| f.to_string_lossy().into_owned()));
        } else {
            out.push(p.clone());
        }
    }
    Ok(out)
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().into_owned();
        if entry.file_type()?.is_dir() {
            if name != "fixtures" && name != "__snapshots__" && !name.starts_with('.') {
                walk(&path, out)?;
            }
        } else if is_policy_file(&name) {
            out.push(path);
        }
    }
    Ok(())
}

fn is_policy_file(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    if lower.ends_with(".test.yaml") || lower.ends_with(".test.yml") {
        return false;
    }
    lower.ends_with(".tenet") || lower.ends_with(".yaml") || lower.ends_with(".yml")
}

/// Checked policies and every diagnostic met on the way.
pub struct LoadedPolicies {
    pub policies: Vec<hir::Policy>,
    pub diagnostics: Vec<Diagnostic>,
}

/// Reads, parses and checks every policy file under the given paths.
pub fn load_policies(paths: &[String], model: &Model) -> Result<LoadedPolicies, String> {
    let files = policy_files(paths)?;
    if files.is_empty() {
        return Err(format!("no policy files found in {}", paths.join(", ")));
    }
    let mut sources = Vec::new();
    let mut diagnostics = Vec::new();
    for f in files {
        let bytes = std::fs::read(&f).map_err(|e| format!("cannot read policy `{f}`: {e}"))?;
        match String::from_utf8(bytes) {
            Ok(text) => sources.push(SourceFile::new(f.as_str(), text)),
            Err(e) => {
                let at = e.utf8_error().valid_up_to();
                let lossy = String::from_utf8_lossy(e.as_bytes()).into_owned();
                let file = SourceFile::new(f.as_str(), lossy);
                diagnostics.push(
                    Diagnostic::new(Code::Syntax, &file, Span::new(at, at + 1), format!("invalid UTF-8 at byte {at}"))
                        .label("here")
                        .help("policy files are UTF-8"),
                );
            }
        }
    }
    let (policies, more) = crate::engine::check_all(&sources, model);
    diagnostics.extend(more);
    Ok(LoadedPolicies { policies, diagnostics })
}
