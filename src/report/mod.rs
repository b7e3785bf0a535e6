//! Pure functions from findings to bytes.

pub mod fingerprint;
pub mod github;
pub mod json;
pub mod markdown;
pub mod sarif;
pub mod text;
