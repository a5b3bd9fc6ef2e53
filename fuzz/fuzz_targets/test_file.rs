//! A policy test file, loaded and run (see `common::test_file`).
#![no_main]
mod common;

libfuzzer_sys::fuzz_target!(|data: &[u8]| common::test_file(data));
