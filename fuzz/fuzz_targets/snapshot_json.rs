//! A JSON tenant, decoded whole and streamed, then evaluated (see `common::snapshot_json`).
#![no_main]
mod common;

libfuzzer_sys::fuzz_target!(|data: &[u8]| common::snapshot_json(data));
