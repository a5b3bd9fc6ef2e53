//! tenet: policy-as-code for ERP/SaaS tenant configurations.
pub mod ast;
pub mod check;
pub mod cli;
pub mod diagnostic;
pub mod engine;
pub mod eval;
pub mod finding;
pub mod hir;
pub mod ir;
pub mod lower;
pub mod model;
pub mod parse;
pub mod report;
pub mod snapshot;
pub mod source;
pub mod value;
pub mod yaml;
