//! The results cache: what scanning a file found, keyed by the file's content
//! and everything else that decides the result (hassec's version, the rule files,
//! the enabled rules, the secret vocabulary, facts read from sibling files).
//!
//! One JSON file per set of settings under the cache directory, written
//! atomically (a temporary file renamed into place) once per run. A missing,
//! unreadable or corrupt cache is treated as empty: the cache can only ever save
//! work, never change a result.

use std::{
    collections::HashMap,
    path::{Path, PathBuf},
};

use serde::{Deserialize, Serialize};

use super::{FileResult, integration::IntegrationFacts};
use crate::{
    finding::{Finding, Position, Suppressed, SuppressedBy},
    rules::{self, Level},
};

/// How long the results of settings no longer used are kept.
const STALE_AFTER: std::time::Duration = std::time::Duration::from_secs(30 * 24 * 60 * 60);

/// Bump when the cache file's layout changes.
const FORMAT: u32 = 5;

pub use crate::digest::digest;

/// The key of a file's cached result: the digest of its bytes, and of the facts
/// of its integration (empty for none).
pub fn content_key(file_digest: &str, facts_digest: &str) -> String {
    digest([file_digest.as_bytes(), facts_digest.as_bytes()])
}

#[derive(Serialize, Deserialize)]
struct CachedFinding {
    rule: String,
    level: Level,
    start: Position,
    end: Position,
    message: String,
    fingerprint: String,
    code_fingerprint: String,
    /// Set when the finding was suppressed, and how.
    suppressed: Option<SuppressedBy>,
}

#[derive(Serialize, Deserialize)]
struct Entry {
    /// Digest of the file's bytes and of the facts it was scanned with.
    content: String,
    findings: Vec<CachedFinding>,
}

#[derive(Serialize, Deserialize)]
struct FactsEntry {
    /// Digest of the integration's files the facts come from.
    content: String,
    facts: IntegrationFacts,
}

#[derive(Serialize, Deserialize, Default)]
struct CacheFile {
    format: u32,
    /// Display path → entry.
    files: HashMap<String, Entry>,
    /// Integration directory (display path) → its facts: a rescan of an unchanged
    /// integration does not parse its files to learn them again.
    #[serde(default)]
    facts: HashMap<String, FactsEntry>,
}

pub struct Cache {
    file: PathBuf,
    entries: CacheFile,
    changed: bool,
}

impl Cache {
    /// Opens the cache for these settings in `dir`; anything wrong with it yields an empty cache.
    pub fn open(dir: &Path, settings: &str) -> Self {
        let file = dir.join(format!(
            "results-{}.json",
            &settings[..16.min(settings.len())]
        ));
        let entries = std::fs::read(&file)
            .ok()
            .and_then(|bytes| serde_json::from_slice::<CacheFile>(&bytes).ok())
            .filter(|cache| cache.format == FORMAT)
            .unwrap_or(CacheFile {
                format: FORMAT,
                ..CacheFile::default()
            });
        Self {
            file,
            entries,
            changed: false,
        }
    }

    /// Does the cache know nothing (first run, other settings, unreadable)?
    pub fn is_empty(&self) -> bool {
        self.entries.files.is_empty()
    }

    /// The cached result of `path` if it was scanned with this exact content.
    pub fn get(&self, path: &str, content: &str) -> Option<FileResult> {
        let entry = self
            .entries
            .files
            .get(path)
            .filter(|entry| entry.content == content)?;
        let mut result = FileResult::default();
        for cached in &entry.findings {
            // A rule that no longer exists makes the entry stale.
            let rule = rules::find(&cached.rule)?;
            let finding = Finding {
                rule,
                level: cached.level,
                path: path.to_string(),
                start: cached.start,
                end: cached.end,
                message: cached.message.clone(),
                fingerprint: cached.fingerprint.clone(),
                code_fingerprint: cached.code_fingerprint.clone(),
            };
            match cached.suppressed {
                Some(by) => result.suppressed.push(Suppressed { finding, by }),
                None => result.findings.push(finding),
            }
        }
        Some(result)
    }

    /// The facts of the integration at `root` if its files are unchanged.
    pub fn facts(&self, root: &str, content: &str) -> Option<IntegrationFacts> {
        self.entries
            .facts
            .get(root)
            .filter(|entry| entry.content == content)
            .map(|entry| entry.facts.clone())
    }

    /// Remembers the facts of the integration at `root`.
    pub fn put_facts(&mut self, root: &str, content: String, facts: &IntegrationFacts) {
        self.entries.facts.insert(
            root.to_string(),
            FactsEntry {
                content,
                facts: facts.clone(),
            },
        );
        self.changed = true;
    }

    /// Remembers what scanning `path` with this content found (not errors: those
    /// are retried; nor files scanned in part: the user is told each time).
    pub fn put(&mut self, path: &str, content: String, result: &FileResult) {
        if result.error.is_some() || result.partial.is_some() {
            return;
        }
        let cached = |finding: &Finding, suppressed| CachedFinding {
            rule: finding.rule.id.clone(),
            level: finding.level,
            start: finding.start,
            end: finding.end,
            message: finding.message.clone(),
            fingerprint: finding.fingerprint.clone(),
            code_fingerprint: finding.code_fingerprint.clone(),
            suppressed,
        };
        let findings = result
            .findings
            .iter()
            .map(|f| cached(f, None))
            .chain(
                result
                    .suppressed
                    .iter()
                    .map(|s| cached(&s.finding, Some(s.by))),
            )
            .collect();
        self.entries
            .files
            .insert(path.to_string(), Entry { content, findings });
        self.changed = true;
    }

    /// Writes the cache if it changed: to a temporary file, then renamed over the
    /// old one, so that a concurrent or interrupted run never sees half a file.
    pub fn save(&self) -> std::io::Result<()> {
        if !self.changed {
            return Ok(());
        }
        let dir = self.file.parent().unwrap_or(Path::new("."));
        std::fs::create_dir_all(dir)?;
        // Keep the cache out of version control, as ruff and pytest do.
        let gitignore = dir.join(".gitignore");
        if !gitignore.exists() {
            std::fs::write(gitignore, "# Created by hassec\n*\n")?;
        }
        let bytes = serde_json::to_vec(&self.entries).map_err(std::io::Error::other)?;
        let temporary = dir.join(format!(".results-{}.tmp", std::process::id()));
        std::fs::write(&temporary, bytes)?;
        std::fs::rename(&temporary, &self.file)?;
        self.remove_stale(dir);
        Ok(())
    }

    /// Removes the results of other settings (another hassec version, other
    /// rules) not written for [`STALE_AFTER`]: a cache kept between CI runs would
    /// otherwise grow by one file per upgrade. Best effort: what cannot be
    /// removed stays.
    fn remove_stale(&self, dir: &Path) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            let name = entry.file_name();
            let is_results = name.to_string_lossy().starts_with("results-")
                && path.extension().is_some_and(|ext| ext == "json");
            let stale = entry
                .metadata()
                .and_then(|m| m.modified())
                .is_ok_and(|written| written.elapsed().is_ok_and(|age| age > STALE_AFTER));
            if is_results && stale && path != self.file {
                let _ = std::fs::remove_file(path);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{config::Config, scan::Scanner};

    fn scan(source: &str) -> FileResult {
        Scanner::new(&Config::default())
            .unwrap()
            .scan_source("a.py", source.as_bytes())
    }

    #[test]
    fn a_result_survives_a_round_trip_through_the_disk() {
        let dir = tempfile::tempdir().unwrap();
        let result = scan("import pickle\nx = pickle.loads(b)\ny = pickle.loads(b)  # nosec\n");
        assert_eq!((result.findings.len(), result.suppressed.len()), (1, 1));

        let mut cache = Cache::open(dir.path(), "settings");
        cache.put("a.py", "content-1".into(), &result);
        cache.save().unwrap();

        let reopened = Cache::open(dir.path(), "settings");
        let cached = reopened.get("a.py", "content-1").unwrap();
        assert_eq!(cached.findings, result.findings);
        assert_eq!(cached.suppressed, result.suppressed);
        assert!(
            reopened.get("a.py", "content-2").is_none(),
            "other content misses"
        );
        assert!(
            Cache::open(dir.path(), "other settings")
                .get("a.py", "content-1")
                .is_none()
        );
        assert!(dir.path().join(".gitignore").exists());
    }

    #[test]
    fn a_corrupt_cache_is_an_empty_cache() {
        let dir = tempfile::tempdir().unwrap();
        let mut cache = Cache::open(dir.path(), "settings");
        cache.put("a.py", "c".into(), &scan("x = 1\n"));
        cache.save().unwrap();
        let file = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().path())
            .find(|p| p.extension().is_some_and(|e| e == "json"))
            .unwrap();
        std::fs::write(&file, b"{not json").unwrap();
        assert!(
            Cache::open(dir.path(), "settings")
                .get("a.py", "c")
                .is_none()
        );
    }

    #[test]
    fn errors_are_not_cached() {
        let dir = tempfile::tempdir().unwrap();
        let mut cache = Cache::open(dir.path(), "settings");
        let failed = FileResult {
            error: Some(crate::scan::FileError {
                path: "a.py".into(),
                message: "cannot read".into(),
            }),
            ..FileResult::default()
        };
        cache.put("a.py", "c".into(), &failed);
        assert!(cache.get("a.py", "c").is_none());
    }

    #[test]
    fn results_of_other_settings_unused_for_a_month_are_removed() {
        let dir = tempfile::tempdir().unwrap();
        let result = scan("x = 1\n");
        let write = |settings: &str| {
            let mut cache = Cache::open(dir.path(), settings);
            cache.put("a.py", "c".into(), &result);
            cache.save().unwrap();
            cache.file.clone()
        };
        let (old, recent) = (write("old settings"), write("recent settings"));
        let old_time = std::time::SystemTime::now() - STALE_AFTER * 2;
        for file in [&old, &dir.path().join(".gitignore")] {
            let handle = std::fs::File::options().write(true).open(file).unwrap();
            handle.set_modified(old_time).unwrap();
        }
        let current = write("current settings");
        assert!(!old.exists(), "unused for two months");
        assert!(recent.exists() && current.exists());
        assert!(
            dir.path().join(".gitignore").exists(),
            "only results files go"
        );
    }

    #[test]
    fn digests_separate_their_parts() {
        assert_ne!(digest([&b"ab"[..], b"c"]), digest([&b"a"[..], b"bc"]));
        assert_eq!(digest([&b"x"[..]]), digest([&b"x"[..]]));
    }
}
