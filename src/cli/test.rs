//! `tenet test [PATH...]`: runs policy tests (cli.md "Policy tests").

/// Arguments of `tenet test`.
#[derive(Debug, clap::Args)]
pub struct TestArgs {
    /// Test files or directories searched for `*.test.yaml` (default: `.`).
    pub paths: Vec<String>,
}

pub fn run(_args: &TestArgs) -> u8 {
    eprintln!("error: `tenet test` is not implemented yet");
    super::EXIT_USAGE
}
