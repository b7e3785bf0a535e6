//! hassec: a security scanner for Home Assistant integrations.
//!
//! The data path runs one way: [`scan`] (sources, parse, match with [`rules`],
//! refine with [`checks`], which ask the per-file [`model`], suppress) produces
//! [`finding::Finding`]s that [`report`] turns into text, JSON, GitHub workflow
//! commands or SARIF.

pub mod checks;
pub mod config;
mod digest;
pub mod finding;
#[cfg(feature = "action")]
pub mod github;
pub mod model;
pub mod report;
pub mod rules;
pub mod scan;
