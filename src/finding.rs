//! A finding: one rule firing at one place.

use serde::{Deserialize, Serialize};

use crate::rules::{Level, Rule};

/// A position in a file: 1-based line, 1-based column counted in characters
/// (as editors and the text output show it) and in UTF-16 code units (as SARIF
/// and GitHub count it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Position {
    pub line: usize,
    pub column: usize,
    pub utf16_column: usize,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub rule: &'static Rule,
    /// The rule's level, or the level one of its patterns sets (`(#set! level "warning")`).
    pub level: Level,
    /// Path as shown to the user: relative to the working directory, `/`-separated.
    pub path: String,
    pub start: Position,
    /// Exclusive end.
    pub end: Position,
    pub message: String,
    /// GitHub's `primaryLocationLineHash` of the start line.
    pub fingerprint: String,
    /// The finding's own code, fingerprinted (`report::fingerprint::code_fingerprint`):
    /// what an adoption baseline matches it by.
    pub code_fingerprint: String,
}

impl Finding {
    pub fn level(&self) -> Level {
        self.level
    }

    /// Order of reports: by path, then position, then rule.
    pub fn sort_key(&self) -> (&str, Position, &str) {
        (&self.path, self.start, &self.rule.id)
    }
}

/// How a finding was suppressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum SuppressedBy {
    /// `# hassec: ignore[...]` on the line or the line above.
    Comment,
    /// `# hassec: ignore-file[...]` in the file's first comment block.
    FileComment,
    /// bandit's `# nosec`.
    Nosec,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Suppressed {
    pub finding: Finding,
    pub by: SuppressedBy,
}
