//! `tenet model show [--model FILE]`

use super::load_model;
use super::out;

pub fn show(path: Option<&str>) -> u8 {
    out::exit_code(load_model(path).map_err(out::Fail::from).and_then(|m| out::print(&m.source).map(|()| 0)))
}
