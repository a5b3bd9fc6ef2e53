#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, reason = "tests fail by panicking")]

//! The one integration-test binary (one binary links faster than one per file).
//!
//! - `language`: the language contract (language.md) evaluated on small inline tenants.
//! - `corpus`: broken policies → rendered diagnostics (insta snapshots).
//! - `codes`: the registry of diagnostic codes: every code has a page whose example gives it, and a corpus file.
//! - `examples`: the shipped packs on the shipped example tenants = `examples/tenants/EXPECTED.md`.
//! - `cli`: the binary: exit codes, JSON/JSONL reports, determinism, bad inputs.
//! - `differential`: random policies and tenants, the engine against a reference interpreter.
//! - `messages`: what standard error quotes of hostile values.
//! - `inputs`: how tenant data is typed as it is read (keys, references).
//! - `fuzz_regressions`: inputs the fuzzers found (`tests/fuzz-regressions/`), replayed.

mod cli;
mod codes;
mod corpus;
mod differential;
mod evidence;
mod examples;
mod fmt;
mod fuzz_regressions;
mod harness;
mod harness_scale;
mod inputs;
mod language;
mod messages;
mod support;
