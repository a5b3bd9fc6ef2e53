//! A YAML-form policy: parse, check, lower, evaluate (see `common::policy`).
#![no_main]
mod common;

libfuzzer_sys::fuzz_target!(|data: &[u8]| common::policy("fuzz.yaml", data));
