//! What a pull request changed: per file, the added lines and the hunks (added
//! and context lines) of the new version, whichever way they were found
//! (a local git diff or the API's list of PR files).

use std::collections::BTreeMap;

/// Sorted, non-overlapping inclusive line ranges, 1-based.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Lines(Vec<(usize, usize)>);

impl Lines {
    /// Adds `first..=last`, merging with touching or overlapping ranges.
    pub fn add(&mut self, first: usize, last: usize) {
        if last < first {
            return;
        }
        self.0.push((first, last));
        self.0.sort_unstable();
        let mut merged: Vec<(usize, usize)> = Vec::with_capacity(self.0.len());
        for &(a, b) in &self.0 {
            match merged.last_mut() {
                Some(prev) if a <= prev.1 + 1 => prev.1 = prev.1.max(b),
                _ => merged.push((a, b)),
            }
        }
        self.0 = merged;
    }

    /// Does any line of `first..=last` belong to the set?
    pub fn intersects(&self, first: usize, last: usize) -> bool {
        self.0.iter().any(|&(a, b)| a <= last && first <= b)
    }

    pub fn ranges(&self) -> &[(usize, usize)] {
        &self.0
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// One changed file of the new version.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ChangedFile {
    /// Added or modified lines.
    pub added: Lines,
    /// Lines the diff shows: added lines and their context.
    pub hunks: Lines,
    /// The diff's lines are unknown (the API gave no patch: too large or binary):
    /// every line counts as changed.
    pub whole: bool,
}

/// How the changes were found, for the log and the summary.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChangeSource {
    /// git diff of the checked-out merge commit against its first parent.
    Git,
    /// `GET /repos/{owner}/{repo}/pulls/{n}/files`: the checkout had no parents.
    Api,
}

/// Changed files, keyed by `/`-separated path relative to the repository root.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Changes {
    pub files: BTreeMap<String, ChangedFile>,
    pub source: ChangeSource,
}

impl Changes {
    pub fn new(source: ChangeSource) -> Self {
        Self {
            files: BTreeMap::new(),
            source,
        }
    }

    /// Files the scanner reads: Python sources and integration manifests.
    pub fn scannable(&self) -> impl Iterator<Item = &str> {
        self.files
            .keys()
            .map(String::as_str)
            .filter(|path| is_scannable(path))
    }
}

pub fn is_scannable(path: &str) -> bool {
    path.ends_with(".py")
        || path.ends_with(".pyi")
        || path.rsplit('/').next() == Some("manifest.json")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_merge_and_intersect() {
        let mut lines = Lines::default();
        lines.add(10, 12);
        lines.add(3, 3);
        lines.add(13, 15);
        lines.add(4, 4);
        lines.add(20, 19);
        assert_eq!(lines.ranges(), [(3, 4), (10, 15)]);
        assert!(lines.intersects(1, 3));
        assert!(lines.intersects(15, 30));
        assert!(!lines.intersects(5, 9));
        assert!(!lines.intersects(16, 16));
    }

    #[test]
    fn scannable_files() {
        assert!(is_scannable("custom_components/x/sensor.py"));
        assert!(is_scannable("custom_components/x/manifest.json"));
        assert!(!is_scannable("custom_components/x/strings.json"));
        assert!(!is_scannable("README.md"));
    }
}
