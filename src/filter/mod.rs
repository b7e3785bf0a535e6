//! The filter stage's own module: what decides which findings a run reports,
//! beside the suppression comments (`scan::suppress`, read while matching) and
//! the action's changed-lines filter (`github::filter`).

pub mod baseline;
