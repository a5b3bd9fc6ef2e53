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
//! - `reports`: the CI report formats and the locations of findings.
//! - `field_locations`: where the field that decided a finding is written (`location.field`).
//! - `inputs`: how tenant data is typed as it is read (keys, references).
//! - `import`: vendor exports → snapshots (`tenet import`, `check --from`, `from:` cases).
//! - `import_locations`: where findings on imported tenants point (export records, overlays).
//! - `fuzz_regressions`: inputs the fuzzers found (`tests/fuzz-regressions/`), replayed.
//! - `docs`: every example of the manual (`docs/`) runs and gives what the page shows.
//! - `schemas`: the checked-in JSON Schemas are fresh, and shipped files validate.
//! - `lsp`: `tenet lsp` driven over stdio as an editor does.
//! - `completions`: `tenet completions SHELL` and `tenet man`.
//! - `scratch`: the one scratch directory of these tests, removed when the test is done.

mod baseline;
mod cli;
mod codes;
mod completions;
mod corpus;
mod differential;
mod docs;
mod evidence;
mod examples;
mod exports;
mod field_locations;
mod fmt;
mod fuzz_regressions;
mod harness;
mod harness_scale;
mod import;
mod import_locations;
mod inputs;
mod language;
mod lsp;
mod messages;
mod recipes;
mod reports;
mod schemas;
mod scratch;
mod sources;
mod support;
mod waivers;
