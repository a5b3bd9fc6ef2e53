//! `tenet fmt`: print → parse → same policy, and idempotent (see `common::fmt`).
#![no_main]
mod common;

libfuzzer_sys::fuzz_target!(|data: &[u8]| common::fmt(data));
