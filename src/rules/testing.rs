//! Rules tested against their fixtures, both ways: each line marked
//! `# expect: ID` has that finding, and no finding lands anywhere else (in
//! particular not on the look-alikes marked `# ok`).
//!
//! One code path for hassec's own rules (`tests/fixtures.rs`) and for rule packs
//! (`hassec test-rules DIR`). A Python rule's fixture is `ID.py`; a manifest
//! rule's is `ID/manifest.json` with `ID/expect.txt` beside it (JSON has no
//! comments), one `<line> ID` or `<line> ok` a line.

use std::{
    collections::BTreeMap,
    fmt,
    path::{Path, PathBuf},
};

use super::{Rule, Target};
use crate::{config::Config, scan::Scanner};

/// (line, rule id) → how many findings.
pub type Counts = BTreeMap<(usize, String), usize>;

/// What a fixture asks for.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Expectations {
    pub expected: Counts,
    /// The level a finding must have where the fixture says so
    /// (`# expect: HAS704 note`).
    pub levels: BTreeMap<(usize, String), String>,
    /// Lines of look-alikes that must not fire.
    pub ok_lines: Vec<usize>,
}

/// Reads `# expect: ID[, ID...]` and `# ok` comments of a Python fixture. A
/// level right after an id (`# expect: HAS704 note`) is the level its finding
/// must have; other words after `# expect:` (an explanation) are ignored.
pub fn python_expectations(source: &str) -> Expectations {
    let mut out = Expectations::default();
    for (index, line) in source.lines().enumerate() {
        if let Some(at) = line.find("# expect:") {
            let words: Vec<&str> = line[at + 9..].split([',', ' ']).collect();
            for (position, id) in words.iter().enumerate() {
                if !looks_like_id(id) {
                    continue;
                }
                let key = (index + 1, id.to_string());
                *out.expected.entry(key.clone()).or_default() += 1;
                if let Some(level) = words
                    .get(position + 1)
                    .filter(|w| matches!(**w, "note" | "warning" | "error"))
                {
                    out.levels.insert(key, level.to_string());
                }
            }
        }
        if line.contains("# ok") {
            out.ok_lines.push(index + 1);
        }
    }
    out
}

/// Reads a manifest fixture's `expect.txt`: `<line> ID` or `<line> ok` lines,
/// `#` comments.
pub fn manifest_expectations(spec: &str) -> Result<Expectations, String> {
    let mut out = Expectations::default();
    for (index, line) in spec.lines().enumerate() {
        let line = line.trim();
        if line.starts_with('#') || line.is_empty() {
            continue;
        }
        let parsed = line
            .split_once(' ')
            .and_then(|(number, what)| Some((number.parse::<usize>().ok()?, what.trim())));
        match parsed {
            Some((number, "ok")) => out.ok_lines.push(number),
            Some((number, id)) if looks_like_id(id) => {
                *out.expected.entry((number, id.to_string())).or_default() += 1;
            }
            _ => {
                return Err(format!(
                    "line {}: expected `<line> <rule id>` or `<line> ok`",
                    index + 1
                ));
            }
        }
    }
    Ok(out)
}

/// `HAS501`, `ACME001`: capital letters, then digits.
fn looks_like_id(word: &str) -> bool {
    let digits = word.trim_start_matches(|c: char| c.is_ascii_uppercase());
    digits.len() < word.len() && !digits.is_empty() && digits.chars().all(|c| c.is_ascii_digit())
}

/// Something wrong with a rule or its fixture.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The fixture (or the rule file, when the fixture is missing).
    pub file: String,
    /// 1-based; 0 for the file as a whole.
    pub line: usize,
    pub rule: String,
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            0 => write!(f, "{}: {} {}", self.file, self.rule, self.message),
            line => write!(f, "{}:{line}: {} {}", self.file, self.rule, self.message),
        }
    }
}

/// What testing a set of rules found.
#[derive(Debug, Default)]
pub struct Outcome {
    pub rules: usize,
    pub fixtures: usize,
    pub problems: Vec<Problem>,
}

impl Outcome {
    pub fn passed(&self) -> bool {
        self.problems.is_empty()
    }
}

/// Tests each rule against its fixture under `fixtures`. `Err` is a rule the
/// scanner refuses (not a failed expectation).
pub fn test_rules(rules: &[&'static Rule], fixtures: &Path) -> Result<Outcome, String> {
    let mut outcome = Outcome::default();
    for rule in rules {
        outcome.rules += 1;
        let tested = test_rule(rule, fixtures)?;
        outcome.fixtures += usize::from(tested.is_some());
        outcome.problems.extend(tested.unwrap_or_else(|| {
            vec![Problem {
                file: rule.shown_path(),
                line: 0,
                rule: rule.id.clone(),
                message: format!(
                    "has no fixture: write {} beside it",
                    match rule.target {
                        Target::Python => format!(
                            "`{}.py` with `# expect: {}` and `# ok` lines",
                            rule.id, rule.id
                        ),
                        Target::Manifest =>
                            format!("`{}/manifest.json` and `{}/expect.txt`", rule.id, rule.id),
                    }
                ),
            }]
        }));
    }
    Ok(outcome)
}

/// One rule against its fixture: `None` when it has none.
fn test_rule(rule: &'static Rule, fixtures: &Path) -> Result<Option<Vec<Problem>>, String> {
    let config = Config {
        select: Some(vec![rule.id.clone()]),
        ..Config::default()
    };
    let scanner = Scanner::new(&config)?;
    let (fixture, source, expectations, result) = match rule.target {
        Target::Python => {
            let fixture = fixtures.join(format!("{}.py", rule.id));
            let Ok(source) = std::fs::read_to_string(&fixture) else {
                return Ok(None);
            };
            let result = scanner.scan_source(&format!("{}.py", rule.id), source.as_bytes());
            let expectations = python_expectations(&source);
            (fixture, source, Ok(expectations), result)
        }
        Target::Manifest => {
            let dir = fixtures.join(&rule.id);
            let fixture = dir.join("manifest.json");
            let (Ok(source), Ok(spec)) = (
                std::fs::read_to_string(&fixture),
                std::fs::read_to_string(dir.join("expect.txt")),
            ) else {
                return Ok(None);
            };
            let result = scanner.scan_manifest("manifest.json", &source);
            (fixture, source, manifest_expectations(&spec), result)
        }
    };
    let shown = fixture.display().to_string();
    let problem = |line: usize, message: String| Problem {
        file: shown.clone(),
        line,
        rule: rule.id.clone(),
        message,
    };
    let expectations = match expectations {
        Ok(expectations) => expectations,
        Err(message) => return Ok(Some(vec![problem(0, format!("expect.txt: {message}"))])),
    };
    let mut problems = Vec::new();
    if let Some(error) = result.error {
        problems.push(problem(0, format!("cannot be scanned: {}", error.message)));
    }
    if !expectations.expected.keys().any(|(_, id)| *id == rule.id) {
        problems.push(problem(0, "has no line expecting this rule".into()));
    }
    if expectations.ok_lines.is_empty() {
        problems.push(problem(
            0,
            "has no `ok` look-alike that must stay quiet".into(),
        ));
    }
    let mut found = Counts::new();
    for finding in &result.findings {
        let key = (finding.start.line, finding.rule.id.clone());
        if let Some(level) = expectations.levels.get(&key)
            && finding.level.as_str() != level
        {
            problems.push(Problem {
                rule: finding.rule.id.clone(),
                ..problem(
                    finding.start.line,
                    format!("level: expected {level}, got {}", finding.level),
                )
            });
        }
        *found.entry(key).or_default() += 1;
    }
    let lines: Vec<&str> = source.lines().collect();
    let code = |line: usize| lines.get(line.wrapping_sub(1)).map_or("", |l| l.trim());
    for ((line, id), count) in &expectations.expected {
        let got = found.get(&(*line, id.clone())).copied().unwrap_or(0);
        if got != *count {
            problems.push(Problem {
                rule: id.clone(),
                ..problem(
                    *line,
                    format!(
                        "missing: expected {count} finding{}, got {got}",
                        if *count == 1 { "" } else { "s" }
                    ),
                )
            });
        }
    }
    for ((line, id), count) in &found {
        if !expectations.expected.contains_key(&(*line, id.clone())) {
            let ok = if expectations.ok_lines.contains(line) {
                " (an `ok` line)"
            } else {
                ""
            };
            problems.push(Problem {
                rule: id.clone(),
                ..problem(
                    *line,
                    format!(
                        "unexpected: {count} finding{}{ok} on `{}`",
                        if *count == 1 { "" } else { "s" },
                        code(*line)
                    ),
                )
            });
        }
    }
    Ok(Some(problems))
}

/// The fixture files under `dir` that belong to no rule of `rules` (a typo in a
/// fixture's name would otherwise leave its rule untested).
pub fn orphan_fixtures(rules: &[&Rule], dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut orphans: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .filter(|path| {
            let is_fixture = path.extension().is_some_and(|ext| ext == "py") || path.is_dir();
            let stem = path
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default();
            is_fixture && looks_like_id(&stem) && !rules.iter().any(|rule| rule.id == stem)
        })
        .collect();
    orphans.sort();
    orphans
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expectations_are_read_from_comments() {
        let source =
            "a = 1  # expect: ACME001\nb = 2  # expect: HAS501, ACME001 (why)\nc = 3  # ok\n";
        let expectations = python_expectations(source);
        let keys: Vec<_> = expectations.expected.keys().cloned().collect();
        assert_eq!(
            keys,
            [
                (1, "ACME001".to_string()),
                (2, "ACME001".to_string()),
                (2, "HAS501".to_string())
            ]
        );
        assert_eq!(expectations.ok_lines, [3]);
        assert!(expectations.levels.is_empty());
        let levels = python_expectations("a = 1  # expect: HAS704 note (why)\n").levels;
        assert_eq!(
            levels.get(&(1, "HAS704".to_string())).map(String::as_str),
            Some("note")
        );
    }

    #[test]
    fn manifest_expectations_are_lines() {
        let spec = "# comment\n3 HAS706\n5 ok\n";
        let expectations = manifest_expectations(spec).unwrap();
        assert_eq!(expectations.ok_lines, [5]);
        assert_eq!(expectations.expected.len(), 1);
        assert!(manifest_expectations("three HAS706\n").is_err());
    }
}
