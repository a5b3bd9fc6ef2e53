//! The `tenet` binary: parse arguments, run the command, exit with its code.

fn main() -> std::process::ExitCode {
    tenet::cli::run()
}
