//! `tenet lsp`: the language server (`crate::lsp`), for editors.

/// Arguments of `tenet lsp`.
#[derive(Debug, clap::Args)]
pub struct LspArgs {
    /// A custom model file (YAML); default: the built-in `erp` model. An editor may also
    /// pass `model` in the initialization options.
    #[arg(long)]
    pub model: Option<String>,
    /// Talk over standard input and output (the default and only transport; accepted
    /// because editors' clients often pass it).
    #[arg(long)]
    pub stdio: bool,
}

pub fn run(args: &LspArgs) -> u8 {
    crate::lsp::run(&crate::lsp::Options { model: args.model.clone() })
}
