//! hassec: a security scanner for Home Assistant integrations.
//!
//! The data path runs one way: [`scan`] (sources, parse, match with [`rules`],
//! refine with [`checks`], which ask the per-file [`model`], suppress) produces
//! [`finding::Finding`]s, which [`filter`] may narrow (an adoption baseline)
//! and [`report`] turns into text, JSON, Markdown, GitHub workflow commands or
//! SARIF.

pub mod checks;
pub mod config;
mod digest;
pub mod filter;
pub mod finding;
#[cfg(feature = "action")]
pub mod github;
pub mod model;
pub mod report;
pub mod rules;
pub mod scan;
