//! Loading the model and the policies named on the command line.

use crate::diagnostic::{Code, Diagnostic};
use crate::fsio;
use crate::hir;
use crate::model::{self, Model};
use crate::source::{SourceFile, Span};
use std::path::Path;

/// Loads `--model FILE`, or the built-in `erp` model.
pub fn load_model(path: Option<&str>) -> Result<Model, String> {
    let Some(path) = path else { return Ok(Model::erp()) };
    read_model(Path::new(path), path).map_err(|e| match e {
        ModelError::Diagnostics(diags) => {
            super::print_diagnostics(&diags);
            format!("model `{path}` has errors")
        }
        ModelError::Read(m) => m,
    })
}

/// Why a model file did not load.
pub enum ModelError {
    /// The file could not be read, or is not a model at all; the message names the file
    /// but quotes none of it.
    Read(String),
    /// The file is a model (a YAML mapping with `kinds`) with mistakes.
    Diagnostics(Vec<Diagnostic>),
}

/// Reads and loads a model file. A file that is not a model (not UTF-8 YAML, or not a
/// mapping with `kinds`) is one [`ModelError::Read`] that quotes nothing of it: its lines
/// are shown in diagnostics only once it is known to be a model.
pub fn read_model(path: &Path, shown: &str) -> Result<Model, ModelError> {
    let not_model = || {
        ModelError::Read(format!("`{shown}` is not a model file (a YAML mapping with `kinds`; see `tenet model show`)"))
    };
    let bytes = fsio::read_file(path, shown, fsio::MAX_SOURCE_BYTES).map_err(ModelError::Read)?;
    let text = String::from_utf8(bytes).map_err(|_| not_model())?;
    let file = SourceFile::new(shown, text);
    match crate::yaml::parse(&file, Code::Model) {
        Ok(root) if root.as_map().is_some() && root.get("kinds").is_some() => {}
        _ => return Err(not_model()),
    }
    model::load(&file).map_err(ModelError::Diagnostics)
}

/// Every policy file under the given paths: files as given, directories searched for
/// `.tenet`, `.yaml`, `.yml` (not `*.test.yaml`, and not inside `fixtures/`: fixtures are
/// tenants) by the rules of [`crate::fsio::walk`], sorted by path. A path that is not a
/// regular file or a directory, or a directory entry that cannot be read, is an error.
pub fn policy_files<P: AsRef<Path>>(paths: &[P]) -> Result<Vec<fsio::Named>, String> {
    let mut out = Vec::new();
    for p in paths {
        let path = p.as_ref();
        let shown = path.to_string_lossy();
        match fsio::kind(path, &shown)? {
            fsio::Kind::Dir => {
                for e in fsio::walk(path, &shown, &is_policy_file, &["fixtures"]) {
                    match e {
                        fsio::Entry::File { path, shown } => out.push(fsio::Named { path, shown }),
                        fsio::Entry::Error { message, .. } => return Err(message),
                    }
                }
            }
            fsio::Kind::File(_) => {
                // Named explicitly, a test file is taken as a policy if the user says so; a
                // file of any other kind is not read, so none of its lines is ever quoted.
                let lower = shown.to_ascii_lowercase();
                if ![".tenet", ".yaml", ".yml"].iter().any(|x| lower.ends_with(x)) {
                    return Err(format!(
                        "`{shown}` is not a policy file: policies are `.tenet`, `.yaml` or `.yml` files"
                    ));
                }
                out.push(fsio::Named { path: path.to_path_buf(), shown: shown.into_owned() })
            }
        }
    }
    Ok(out)
}

/// Whether a file name is a policy's: `.tenet`, `.yaml` or `.yml`, but not a test file.
pub fn is_policy_file(name: &str) -> bool {
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
    for fsio::Named { path, shown: f } in files {
        let bytes = fsio::read_file(&path, &f, fsio::MAX_SOURCE_BYTES)?;
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
