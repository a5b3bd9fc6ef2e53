//! `tenet fmt [--check] PATH...`: formats `.tenet` files.

/// Arguments of `tenet fmt`.
#[derive(Debug, clap::Args)]
pub struct FmtArgs {
    /// Only report files that would change; exit 1 if any.
    #[arg(long)]
    pub check: bool,
    /// `.tenet` files or directories.
    #[arg(required = true)]
    pub paths: Vec<String>,
}

pub fn run(_args: &FmtArgs) -> u8 {
    eprintln!("error: `tenet fmt` is not implemented yet");
    super::EXIT_USAGE
}
