//! hassec: a security scanner for Home Assistant integrations.
//!
//! The data path runs one way: [`scan`] (sources, parse, match with [`rules`],
//! refine with [`checks`], suppress) produces [`finding::Finding`]s, which
//! [`filter`] may narrow (an adoption baseline) and [`report`] turns into text,
//! JSON, Markdown, GitHub workflow commands or SARIF.

pub mod checks;
pub mod config;
pub mod filter;
pub mod finding;
#[cfg(feature = "action")]
pub mod github;
pub mod report;
pub mod rules;
pub mod scan;
