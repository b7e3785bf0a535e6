//! JSON output: a stable array of findings.
//!
//! ```json
//! [{"rule": "HAS501", "name": "secret-logged", "level": "error", "path": "a.py",
//!   "start": {"line": 3, "column": 5}, "end": {"line": 3, "column": 42},
//!   "message": "...", "fingerprint": "5e2a...:1"}]
//! ```
//! Columns are 1-based and count characters; `end` is exclusive. Fields are only
//! ever added, never renamed or removed.

use serde::Serialize;

use crate::finding::{Finding, Position};

#[derive(Serialize)]
struct JsonFinding<'a> {
    rule: &'a str,
    name: &'a str,
    level: &'a str,
    path: &'a str,
    start: JsonPosition,
    end: JsonPosition,
    message: &'a str,
    fingerprint: &'a str,
}

#[derive(Serialize)]
struct JsonPosition {
    line: usize,
    column: usize,
}

impl From<Position> for JsonPosition {
    fn from(p: Position) -> Self {
        Self {
            line: p.line,
            column: p.column,
        }
    }
}

pub fn render(findings: &[Finding]) -> String {
    let items: Vec<JsonFinding> = findings
        .iter()
        .map(|f| JsonFinding {
            rule: &f.rule.id,
            name: &f.rule.name,
            level: f.level().as_str(),
            path: &f.path,
            start: f.start.into(),
            end: f.end.into(),
            message: &f.message,
            fingerprint: &f.fingerprint,
        })
        .collect();
    let mut out = serde_json::to_string_pretty(&items).expect("findings serialize");
    out.push('\n');
    out
}
