//! Pure functions from findings to bytes.

pub mod fingerprint;
pub mod json;
pub mod text;
