//! `tenet model show [--model FILE]`

use super::{load_model, EXIT_USAGE};
use std::io::Write;

pub fn show(path: Option<&str>) -> u8 {
    match load_model(path) {
        Ok(m) => {
            let mut out = std::io::stdout().lock();
            let _ = out.write_all(m.source.as_bytes());
            0
        }
        Err(e) => {
            eprintln!("error: {e}");
            EXIT_USAGE
        }
    }
}
