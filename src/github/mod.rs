//! The GitHub Action: the deliver layer, and the only part of hassec that talks to
//! GitHub. It reads the runner's environment and the event payload, finds what a
//! pull request changed (git diff of the merge commit, or the API), scans with the
//! same [`crate::scan::Scanner`] as the CLI, filters findings to the diff, writes
//! annotations, the job summary, the SARIF file and the step outputs, and uploads
//! the SARIF to code scanning.

pub mod annotations;
pub mod api;
pub mod changes;
pub mod deliver;
pub mod diff;
pub mod env;
pub mod event;
pub mod filter;
pub mod inputs;
pub mod outputs;
pub mod patch;
pub mod reporting;
mod run;
pub mod summary;
pub mod upload;

pub use run::run;
