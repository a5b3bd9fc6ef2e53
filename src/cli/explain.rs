//! `tenet explain -p POLICY --rule NAME TENANT [--subject ID]`.

/// Arguments of `tenet explain`.
#[derive(Debug, clap::Args)]
pub struct ExplainArgs {
    /// A policy file or directory (repeatable).
    #[arg(short = 'p', long = "policy", required = true)]
    pub policies: Vec<String>,
    /// The rule to explain: NAME or POLICY.RULE.
    #[arg(long)]
    pub rule: String,
    /// One tenant snapshot.
    pub tenant: String,
    /// The subject's key or path (default: every subject that did not pass).
    #[arg(long)]
    pub subject: Option<String>,
    /// The evaluation instant, RFC 3339.
    #[arg(long)]
    pub now: Option<String>,
    /// A custom model file (YAML).
    #[arg(long)]
    pub model: Option<String>,
}

pub fn run(_args: &ExplainArgs) -> u8 {
    eprintln!("error: `tenet explain` is not implemented yet");
    super::EXIT_USAGE
}
