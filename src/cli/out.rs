//! Where the commands' output goes: standard output through [`print`] and the writers of
//! `check`, standard error through `say!`. A closed standard output (the reader of a pipe
//! went away: `tenet explain … | head`) ends the command quietly with exit code
//! [`EXIT_CLOSED`], the code a shell shows for a process ended by `SIGPIPE`: the output is
//! incomplete, so it is not a success, but it is not an error worth a message either.
//! A closed standard error is ignored.

use std::io::{self, Write};

/// Exit code of a command whose standard output was closed before it finished.
pub const EXIT_CLOSED: u8 = 141;

/// Why a command stopped early.
#[derive(Debug)]
pub enum Fail {
    /// A usage or input problem: printed as `error: …`, exit 2.
    Usage(String),
    /// Standard output was closed: nothing printed, exit [`EXIT_CLOSED`].
    Closed,
}

impl From<String> for Fail {
    fn from(m: String) -> Fail {
        Fail::Usage(m)
    }
}

impl From<&str> for Fail {
    fn from(m: &str) -> Fail {
        Fail::Usage(m.to_string())
    }
}

/// A failed write to standard output: [`Fail::Closed`] for a closed pipe.
pub fn write_failed(e: io::Error) -> Fail {
    if e.kind() == io::ErrorKind::BrokenPipe {
        Fail::Closed
    } else {
        Fail::Usage(format!("cannot write the report: {e}"))
    }
}

/// The exit code of a command's result, printing the error if there is one.
pub fn exit_code(r: Result<u8, Fail>) -> u8 {
    match r {
        Ok(code) => code,
        Err(Fail::Usage(m)) => {
            say!("error: {m}");
            super::EXIT_USAGE
        }
        Err(Fail::Closed) => EXIT_CLOSED,
    }
}

/// Writes text to standard output and flushes it.
pub fn print(text: &str) -> Result<(), Fail> {
    let mut out = io::stdout().lock();
    out.write_all(text.as_bytes()).map_err(write_failed)?;
    out.flush().map_err(write_failed)
}

/// A message on standard error is cut after this many characters: messages quote values
/// from the command line and from files, which can be of any length.
const MAX_MESSAGE_CHARS: usize = 4096;

/// Writes one message line to standard error (`say!`), ignoring failure. Messages quote
/// paths, command-line values and data, so control characters are escaped
/// (`report::terminal_safe`) and a message longer than [`MAX_MESSAGE_CHARS`] is cut.
pub fn say(args: std::fmt::Arguments<'_>) {
    let text = args.to_string();
    let text = match text.char_indices().nth(MAX_MESSAGE_CHARS) {
        Some((cut, _)) => {
            format!("{}… ({} more characters)", &text[..cut], text[cut..].chars().count())
        }
        None => text,
    };
    stderr(format_args!("{}", crate::report::terminal_safe(&text, true)), true);
}

/// Writes to standard error, ignoring failure (see `say!`).
pub fn stderr(args: std::fmt::Arguments<'_>, newline: bool) {
    let mut err = io::stderr().lock();
    let _ = err.write_fmt(args);
    if newline {
        let _ = err.write_all(b"\n");
    }
}
