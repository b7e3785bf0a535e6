//! The adoption baseline: the findings a project had when it started using
//! hassec, recorded so that later runs report only new ones
//! (`hassec scan --write-baseline FILE`, then `--baseline FILE`).
//!
//! A finding matches an entry with the same rule, path and code fingerprint
//! (`report::fingerprint::code_fingerprint`: the finding's lines without their
//! whitespace), so it still matches after lines are inserted above it or the
//! code around it changes, and stops matching once its own code is edited.
//! Each entry accounts for one finding: three identical findings in a file are
//! three identical entries.
//!
//! The file is JSON, one entry a line, sorted, so that it diffs well:
//!
//! ```json
//! {
//!   "version": 1,
//!   "findings": [
//!     {"rule":"HAS703","path":"custom_components/demo/api.py","fingerprint":"6f1b2c0d9e8a7b6c"}
//!   ]
//! }
//! ```
//!
//! Paths are relative to the baseline file's directory, with `/` separators,
//! whatever directory hassec runs in. The file holds no code and no message:
//! nothing of a secret the code may contain.

use std::{
    collections::{BTreeMap, BTreeSet},
    fmt,
    path::{Component, Path, PathBuf},
};

use serde::{Deserialize, Serialize};

use crate::{finding::Finding, rules::Rule, scan::ScanReport};

/// The format version this hassec writes and reads.
pub const VERSION: u32 = 1;

/// A baseline file that cannot be read, parsed or written.
#[derive(Debug)]
pub struct BaselineError {
    pub path: PathBuf,
    pub message: String,
}

impl fmt::Display for BaselineError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path.display(), self.message)
    }
}

impl std::error::Error for BaselineError {}

/// One recorded finding, in the file's field order.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
struct Entry {
    rule: String,
    path: String,
    fingerprint: String,
}

#[derive(Deserialize)]
struct BaselineFile {
    version: Option<u32>,
    #[serde(default)]
    findings: Vec<Entry>,
}

/// What applying a baseline did, for the summary.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// The baseline file, as named.
    pub file: String,
    /// Findings found in the baseline and left out of the report.
    pub matched: usize,
    /// Entries of enabled rules in files that were scanned (or no longer
    /// exist) whose finding did not occur: fixed, or edited since.
    pub stale: usize,
}

/// A baseline read from, or about to be written to, a file.
#[derive(Debug)]
pub struct Baseline {
    file: PathBuf,
    /// The absolute directory entries' paths are relative to.
    dir: PathBuf,
    /// The working directory findings' paths are relative to.
    cwd: PathBuf,
    /// (path, rule, fingerprint) → how many findings it stands for.
    entries: BTreeMap<(String, String, String), usize>,
}

impl Baseline {
    /// An empty baseline for `file`.
    fn new(file: &Path) -> Result<Self, BaselineError> {
        let cwd = std::env::current_dir().map_err(|e| BaselineError {
            path: file.to_path_buf(),
            message: format!("cannot read the working directory: {e}"),
        })?;
        let absolute = normalize(&cwd.join(file));
        let dir = absolute.parent().map(Path::to_path_buf).unwrap_or_default();
        Ok(Self {
            file: file.to_path_buf(),
            dir,
            cwd,
            entries: BTreeMap::new(),
        })
    }

    /// Reads a baseline file; anything wrong with it is an error naming it.
    pub fn read(file: &Path) -> Result<Self, BaselineError> {
        let error = |message: String| BaselineError {
            path: file.to_path_buf(),
            message,
        };
        let text = std::fs::read_to_string(file).map_err(|e| {
            let hint = if e.kind() == std::io::ErrorKind::NotFound {
                "; create it with `hassec scan --write-baseline FILE`"
            } else {
                ""
            };
            error(format!("cannot read the baseline: {e}{hint}"))
        })?;
        let parsed: BaselineFile = serde_json::from_str(&text).map_err(|e| {
            error(format!(
                "not a hassec baseline: line {}, column {}: {e}",
                e.line(),
                e.column()
            ))
        })?;
        match parsed.version {
            Some(VERSION) => {}
            Some(other) => {
                return Err(error(format!(
                    "baseline version {other} is not one this hassec reads (version {VERSION}); \
                     write it again with `--write-baseline`"
                )));
            }
            None => return Err(error("not a hassec baseline: no `version`".into())),
        }
        let mut baseline = Self::new(file)?;
        for entry in parsed.findings {
            *baseline
                .entries
                .entry((entry.path, entry.rule, entry.fingerprint))
                .or_default() += 1;
        }
        Ok(baseline)
    }

    /// The baseline of these findings, to be written to `file`.
    pub fn of_findings(file: &Path, findings: &[Finding]) -> Result<Self, BaselineError> {
        let mut baseline = Self::new(file)?;
        for finding in findings {
            let key = baseline.key(finding);
            *baseline.entries.entry(key).or_default() += 1;
        }
        Ok(baseline)
    }

    /// How many findings the baseline records.
    pub fn len(&self) -> usize {
        self.entries.values().sum()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The file's text: the version, then the entries sorted by path, rule and
    /// fingerprint, one a line.
    pub fn to_json(&self) -> String {
        let mut out = format!("{{\n  \"version\": {VERSION},\n  \"findings\": [");
        let mut first = true;
        for ((path, rule, fingerprint), count) in &self.entries {
            let entry = Entry {
                rule: rule.clone(),
                path: path.clone(),
                fingerprint: fingerprint.clone(),
            };
            let line = serde_json::to_string(&entry).expect("strings always serialize");
            for _ in 0..*count {
                out.push_str(if first { "\n    " } else { ",\n    " });
                out.push_str(&line);
                first = false;
            }
        }
        out.push_str(if first { "]\n}\n" } else { "\n  ]\n}\n" });
        out
    }

    /// Writes the baseline to its file.
    pub fn write(&self) -> Result<(), BaselineError> {
        std::fs::write(&self.file, self.to_json()).map_err(|e| BaselineError {
            path: self.file.clone(),
            message: format!("cannot write the baseline: {e}"),
        })
    }

    /// Leaves the findings the baseline records out of `report` and notes what
    /// it did in `report.baseline`. `rules` are the rules that ran: entries of
    /// others are not counted as stale.
    pub fn apply(&self, report: &mut ScanReport, rules: &[&Rule]) {
        let mut left = self.entries.clone();
        let before = report.findings.len();
        report.findings.retain(|finding| {
            match left.get_mut(&self.key(finding)) {
                Some(count) if *count > 0 => {
                    *count -= 1;
                    false // in the baseline
                }
                _ => true,
            }
        });
        let matched = before - report.findings.len();
        let scanned: BTreeSet<String> = report
            .files
            .iter()
            .map(|shown| self.relative(shown))
            .collect();
        let stale = left
            .iter()
            .filter(|((path, rule, _), _)| {
                rules.iter().any(|r| r.id == *rule)
                    && (scanned.contains(path) || !self.dir.join(path).exists())
            })
            .map(|(_, count)| count)
            .sum();
        report.baseline = Some(Outcome {
            file: self.file.display().to_string(),
            matched,
            stale,
        });
    }

    fn key(&self, finding: &Finding) -> (String, String, String) {
        (
            self.relative(&finding.path),
            finding.rule.id.clone(),
            finding.code_fingerprint.clone(),
        )
    }

    /// A path as findings show it (relative to the working directory) made
    /// relative to the baseline's directory.
    fn relative(&self, shown: &str) -> String {
        let absolute = normalize(&self.cwd.join(shown));
        relative_to(&absolute, &self.dir)
    }
}

/// `path` without `.` components and with each `..` taking its parent away,
/// without asking the file system.
fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir => {
                if !out.pop() {
                    out.push(component);
                }
            }
            other => out.push(other),
        }
    }
    out
}

/// `path` relative to `base` (both absolute and normalized), with `/`
/// separators and `..` where it lies outside; `path` itself when they share
/// no root (another drive).
fn relative_to(path: &Path, base: &Path) -> String {
    let path_parts: Vec<Component> = path.components().collect();
    let base_parts: Vec<Component> = base.components().collect();
    let common = path_parts
        .iter()
        .zip(&base_parts)
        .take_while(|(a, b)| a == b)
        .count();
    if common == 0 {
        return path.to_string_lossy().replace('\\', "/");
    }
    let mut parts: Vec<String> = vec!["..".to_string(); base_parts.len() - common];
    parts.extend(
        path_parts[common..]
            .iter()
            .map(|c| c.as_os_str().to_string_lossy().into_owned()),
    );
    parts.join("/")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{config::Config, scan::Scanner};

    fn scan(root: &Path) -> (ScanReport, Vec<&'static Rule>) {
        let scanner = Scanner::new(&Config::default()).unwrap();
        let report = scanner.scan_paths(&[root.to_path_buf()], false);
        (report, scanner.rules().to_vec())
    }

    #[test]
    fn paths_relative_to_the_baseline_directory() {
        assert_eq!(
            relative_to(Path::new("/w/repo/a/b.py"), Path::new("/w/repo")),
            "a/b.py"
        );
        assert_eq!(
            relative_to(Path::new("/w/other/b.py"), Path::new("/w/repo/sub")),
            "../../other/b.py"
        );
        assert_eq!(
            normalize(Path::new("/w/repo/./a/../b.py")),
            Path::new("/w/repo/b.py")
        );
    }

    #[test]
    fn written_sorted_one_entry_a_line_and_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let src = dir.path().join("src");
        std::fs::create_dir(&src).unwrap();
        let twice = "import pickle\nx = pickle.loads(b)\nx = pickle.loads(b)\n";
        std::fs::write(src.join("b.py"), twice).unwrap();
        std::fs::write(src.join("a.py"), "import pickle\npickle.load(f)\n").unwrap();
        let (mut report, rules) = scan(&src);
        assert_eq!(report.findings.len(), 3);
        let file = dir.path().join("baseline.json");
        let baseline = Baseline::of_findings(&file, &report.findings).unwrap();
        baseline.write().unwrap();
        let text = std::fs::read_to_string(&file).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines[..3],
            ["{", "  \"version\": 1,", "  \"findings\": ["][..]
        );
        assert!(lines[3].starts_with(r#"    {"rule":"HAS703","path":"src/a.py","fingerprint":""#));
        assert!(lines[4].contains(r#""path":"src/b.py""#));
        assert_eq!(
            lines[4].trim_end_matches(','),
            lines[5],
            "one entry per finding"
        );
        assert_eq!(lines[6..], ["  ]", "}"][..]);
        assert_eq!(
            serde_json::from_str::<serde_json::Value>(&text).unwrap()["findings"]
                .as_array()
                .unwrap()
                .len(),
            3
        );

        let read = Baseline::read(&file).unwrap();
        assert_eq!(read.len(), 3);
        assert_eq!(read.to_json(), text, "stable");
        read.apply(&mut report, &rules);
        assert!(report.findings.is_empty());
        assert_eq!(
            report.baseline.as_ref().map(|o| (o.matched, o.stale)),
            Some((3, 0))
        );
    }

    #[test]
    fn an_empty_baseline() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("b.json");
        let baseline = Baseline::of_findings(&file, &[]).unwrap();
        assert!(baseline.is_empty());
        assert_eq!(
            baseline.to_json(),
            "{\n  \"version\": 1,\n  \"findings\": []\n}\n"
        );
        baseline.write().unwrap();
        assert!(Baseline::read(&file).unwrap().is_empty());
    }

    #[test]
    fn bad_files_are_errors_naming_them() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("b.json");
        let message = |text: &str| {
            std::fs::write(&file, text).unwrap();
            let error = Baseline::read(&file).unwrap_err();
            assert_eq!(error.path, file);
            error.message
        };
        assert!(message("{\"version\": 1,").contains("line 1"));
        assert!(message("[]").contains("not a hassec baseline"));
        assert!(message("{\"findings\": []}").contains("no `version`"));
        assert!(message("{\"version\": 9, \"findings\": []}").contains("version 9"));
        assert!(message("{\"version\": 1, \"findings\": [{\"rule\": 3}]}").contains("line 1"));
        let missing = Baseline::read(&dir.path().join("none.json")).unwrap_err();
        assert!(missing.message.contains("--write-baseline"), "{missing}");
    }
}
