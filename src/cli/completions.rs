//! `tenet completions SHELL` and `tenet man`: generated from the clap definitions, so they
//! always list the commands and options this binary has.

use super::out;
use clap::CommandFactory;

/// Arguments of `tenet completions`.
#[derive(Debug, clap::Args)]
pub struct CompletionsArgs {
    /// The shell to write a completion script for.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

pub fn completions(args: &CompletionsArgs) -> u8 {
    let mut cmd = super::Cli::command();
    let mut buf = Vec::new();
    clap_complete::generate(args.shell, &mut cmd, "tenet", &mut buf);
    out::exit_code(out::print(&String::from_utf8_lossy(&buf)).map(|()| 0))
}

pub fn man() -> u8 {
    let mut buf = Vec::new();
    if let Err(e) = clap_mangen::Man::new(super::Cli::command()).render(&mut buf) {
        say!("error: cannot render the manual page: {e}");
        return super::EXIT_USAGE;
    }
    out::exit_code(out::print(&String::from_utf8_lossy(&buf)).map(|()| 0))
}
