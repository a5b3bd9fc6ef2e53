//! The command line: clap definitions and one file per command.

/// `eprintln!` that never panics: a closed standard error is ignored (`cli::out`).
macro_rules! say {
    ($($t:tt)*) => { $crate::cli::out::say(format_args!($($t)*)) };
}

/// `eprint!` that never panics.
macro_rules! say_raw {
    ($($t:tt)*) => { $crate::cli::out::stderr(format_args!($($t)*), false) };
}

mod check;
mod completions;
mod explain;
mod fmt;
mod import;
mod lint;
mod load;
mod lsp;
mod model;
pub mod out;
mod schema;
mod test;
mod triage;

use crate::finding::Severity;
use crate::report::Format;
use clap::{Parser, Subcommand, ValueEnum};
use std::process::ExitCode;

pub use load::{is_policy_file, load_model, load_policies, policy_files, read_model, LoadedPolicies, ModelError};

#[derive(Debug, Parser)]
#[command(
    name = "tenet",
    version,
    about = "Policy-as-code for ERP/SaaS tenant configurations",
    after_help = "The reference manual: docs/README.md in the tenet repository.",
    propagate_version = true
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Evaluate policies over tenant snapshots.
    #[command(after_help = "Manual: docs/cli.md#tenet-check; report formats: docs/report.md.")]
    Check(CheckArgs),
    /// Check policies without data: all diagnostics, exit 2 on any error.
    #[command(after_help = "Manual: docs/cli.md#tenet-lint; the language: docs/language.md.")]
    Lint(LintArgs),
    /// Run policy tests (`*.test.yaml`).
    #[command(after_help = "Manual: docs/tests.md (test files) and docs/cli.md#tenet-test.")]
    Test(test::TestArgs),
    /// Format `.tenet` files in place (or check that they are formatted).
    #[command(after_help = "Manual: docs/cli.md#tenet-fmt.")]
    Fmt(fmt::FmtArgs),
    /// Show why one rule passed or failed for one subject, value by value.
    #[command(after_help = "Manual: docs/cli.md#tenet-explain.")]
    Explain(explain::ExplainArgs),
    /// Write a baseline: the JSON report of a run, for `check --baseline`.
    Baseline(BaselineArgs),
    /// Convert vendor exports (Frappe/ERPNext, NetSuite SuiteQL) into tenant snapshots.
    Import(import::ImportArgs),
    /// Inspect the data model.
    #[command(after_help = "Manual: docs/model.md.")]
    Model {
        #[command(subcommand)]
        command: ModelCommand,
    },
    /// Print the JSON Schema of a file format or of the JSON report (no name: list them).
    #[command(after_help = "Manual: docs/cli.md#tenet-schema; the schemas are checked in under schemas/.")]
    Schema(schema::SchemaArgs),
    /// Run the language server for editors (over standard input and output).
    Lsp(lsp::LspArgs),
    /// Print a shell completion script (bash, zsh, fish, powershell, elvish).
    Completions(completions::CompletionsArgs),
    /// Print the manual page (roff; `tenet man | man -l -`).
    Man,
}

#[derive(Debug, Subcommand)]
pub enum ModelCommand {
    /// Print the model in use (YAML).
    #[command(after_help = "Manual: docs/model.md.")]
    Show {
        /// A custom model file (default: the built-in `erp` model).
        #[arg(long)]
        model: Option<String>,
    },
}

#[derive(Debug, clap::Args)]
pub struct CheckArgs {
    /// A policy file or directory (repeatable).
    #[arg(short = 'p', long = "policy", required = true)]
    pub policies: Vec<String>,
    /// Tenant snapshots: .json, .yaml/.yml, .jsonl/.ndjson, directories, or `-` for JSONL on stdin.
    pub tenants: Vec<String>,
    /// Report format (default: human on a terminal, json otherwise).
    #[arg(long, value_enum)]
    pub format: Option<Format>,
    /// The lowest severity of a `fail` that makes the exit code 1.
    #[arg(long, value_enum, default_value = "error")]
    pub fail_on: FailOn,
    /// Override a parameter: NAME=VALUE or POLICY.NAME=VALUE (repeatable).
    #[arg(long = "set", value_name = "NAME=VALUE")]
    pub set: Vec<String>,
    /// The evaluation instant, RFC 3339 (default: the current time).
    #[arg(long)]
    pub now: Option<String>,
    /// A custom model file (YAML).
    #[arg(long)]
    pub model: Option<String>,
    /// Worker threads (default: number of cores).
    #[arg(short = 'j', long = "jobs")]
    pub jobs: Option<usize>,
    /// Evaluate only these rules: NAME or POLICY.RULE (repeatable).
    #[arg(long = "rule")]
    pub rules: Vec<String>,
    /// Also write a report in another format to a file, in the same run (repeatable):
    /// `--output sarif=results.sarif --output junit=junit.xml`. Each file is written whole
    /// or not at all.
    #[arg(long = "output", value_name = "FORMAT=PATH")]
    pub outputs: Vec<String>,
    /// Make SARIF artifact URIs relative to this directory (default: the working directory).
    #[arg(long, value_name = "DIR")]
    pub sarif_root: Option<String>,
    /// A waiver file (YAML): accepted findings, each with a reason (repeatable; docs/CI.md).
    #[arg(long = "waivers", value_name = "FILE")]
    pub waivers: Vec<String>,
    /// An earlier JSON report: only findings not in it can make the exit code 1.
    #[arg(long, value_name = "FILE")]
    pub baseline: Option<String>,
    /// Read the tenants from vendor exports: the arguments are export directories
    /// (see `tenet import`).
    #[arg(long = "from", value_enum)]
    pub from: Option<crate::import::Vendor>,
    /// With `--from`: a partial snapshot merged over each imported tenant.
    #[arg(long, requires = "from")]
    pub overlay: Option<String>,
    /// With `--from`: an adapter file instead of the built-in one.
    #[arg(long, requires = "from")]
    pub adapter: Option<String>,
}

#[derive(Debug, clap::Args)]
pub struct BaselineArgs {
    /// A policy file or directory (repeatable).
    #[arg(short = 'p', long = "policy", required = true)]
    pub policies: Vec<String>,
    /// Tenant snapshots, as for `check`.
    pub tenants: Vec<String>,
    /// Where to write the report (replaced atomically).
    #[arg(short = 'o', long = "output", value_name = "FILE", required = true)]
    pub output: String,
    /// Override a parameter: NAME=VALUE or POLICY.NAME=VALUE (repeatable).
    #[arg(long = "set", value_name = "NAME=VALUE")]
    pub set: Vec<String>,
    /// The evaluation instant, RFC 3339 (default: the current time).
    #[arg(long)]
    pub now: Option<String>,
    /// A custom model file (YAML).
    #[arg(long)]
    pub model: Option<String>,
    /// Worker threads (default: number of cores).
    #[arg(short = 'j', long = "jobs")]
    pub jobs: Option<usize>,
    /// Evaluate only these rules: NAME or POLICY.RULE (repeatable).
    #[arg(long = "rule")]
    pub rules: Vec<String>,
    /// A waiver file (repeatable): waived findings are recorded as waived.
    #[arg(long = "waivers", value_name = "FILE")]
    pub waivers: Vec<String>,
}

#[derive(Debug, clap::Args)]
pub struct LintArgs {
    /// A policy file or directory (repeatable).
    #[arg(short = 'p', long = "policy", required_unless_present = "explain")]
    pub policies: Vec<String>,
    /// A custom model file (YAML).
    #[arg(long)]
    pub model: Option<String>,
    /// Check waiver files against the policies (repeatable).
    #[arg(long = "waivers", value_name = "FILE")]
    pub waivers: Vec<String>,
    /// The instant waiver expiry dates are compared with, RFC 3339 (default: now).
    #[arg(long)]
    pub now: Option<String>,
    /// Print the page of a diagnostic code (`T020`): what it means, an example, how to fix it.
    #[arg(long, value_name = "CODE", conflicts_with_all = ["policies", "model"])]
    pub explain: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FailOn {
    Error,
    Warning,
    Info,
    Never,
}

impl FailOn {
    pub fn threshold(self) -> Option<Severity> {
        match self {
            FailOn::Error => Some(Severity::Error),
            FailOn::Warning => Some(Severity::Warning),
            FailOn::Info => Some(Severity::Info),
            FailOn::Never => None,
        }
    }
}

/// Exit code 2: the run itself is broken.
pub const EXIT_USAGE: u8 = 2;

/// Parses arguments and runs a command.
pub fn run() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { EXIT_USAGE } else { 0 });
        }
    };
    let code = match cli.command {
        Command::Check(args) => check::run(&args),
        Command::Lint(args) => lint::run(&args),
        Command::Test(args) => test::run(&args),
        Command::Fmt(args) => fmt::run(&args),
        Command::Explain(args) => explain::run(&args),
        Command::Baseline(args) => triage::baseline(&args),
        Command::Import(args) => import::run(&args),
        Command::Model { command: ModelCommand::Show { model } } => model::show(model.as_deref()),
        Command::Schema(args) => schema::run(&args),
        Command::Lsp(args) => lsp::run(&args),
        Command::Completions(args) => completions::completions(&args),
        Command::Man => completions::man(),
    };
    ExitCode::from(code)
}

/// Whether standard error should get colors.
pub fn stderr_color() -> bool {
    use std::io::IsTerminal;
    std::env::var_os("NO_COLOR").is_none() && std::io::stderr().is_terminal()
}

/// Prints diagnostics to standard error.
pub fn print_diagnostics(diags: &[crate::diagnostic::Diagnostic]) {
    let color = stderr_color();
    for d in diags {
        say_raw!("{}", render_diagnostic(d, color));
    }
    if !diags.is_empty() {
        say!("{} problem{} found", diags.len(), if diags.len() == 1 { "" } else { "s" });
    }
}

/// A diagnostic as text for standard error. The lines it quotes come from files (policies,
/// test files with inline tenants) that may hold control characters: when they do, the
/// diagnostic is rendered without colors and escaped (`report::terminal_safe`).
pub fn render_diagnostic(d: &crate::diagnostic::Diagnostic, color: bool) -> String {
    let plain = crate::diagnostic::render(d, false);
    match crate::report::terminal_safe(&plain, true) {
        std::borrow::Cow::Borrowed(_) if color => crate::diagnostic::render(d, true),
        std::borrow::Cow::Borrowed(_) => plain,
        std::borrow::Cow::Owned(escaped) => escaped,
    }
}
