//! A JSONL file of tenants, read and evaluated (see `common::run_file`).
#![no_main]
mod common;

libfuzzer_sys::fuzz_target!(|data: &[u8]| common::snapshot_jsonl(data));
