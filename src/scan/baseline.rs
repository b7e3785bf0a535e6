//! The floor a scan's cost is measured against: read and parse the Python files
//! a scan would scan, and match nothing (`hassec scan --parse-only`, hidden from
//! the help; see docs/performance.md).

use std::path::PathBuf;

use rayon::prelude::*;

use super::{Scanner, sources};

/// What a parse-only run did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct ParseStats {
    pub files: usize,
    pub bytes: u64,
    /// Files that could not be read or parsed.
    pub failed: usize,
}

impl Scanner {
    /// Reads and parses, in parallel, every Python file `scan_paths` would scan,
    /// dropping each tree at once.
    pub fn parse_only(&self, roots: &[PathBuf], force_exclude: bool) -> ParseStats {
        let sources = sources::collect(roots, &self.excludes, force_exclude);
        sources
            .files
            .par_iter()
            .filter(|path| !sources::is_manifest(path))
            .map(|path| {
                let parsed = std::fs::read(path).ok().and_then(|bytes| {
                    let text = String::from_utf8_lossy(&bytes);
                    super::parse(&text).ok().map(|_| bytes.len() as u64)
                });
                match parsed {
                    Some(bytes) => ParseStats {
                        files: 1,
                        bytes,
                        failed: 0,
                    },
                    None => ParseStats {
                        failed: 1,
                        ..ParseStats::default()
                    },
                }
            })
            .reduce(ParseStats::default, |a, b| ParseStats {
                files: a.files + b.files,
                bytes: a.bytes + b.bytes,
                failed: a.failed + b.failed,
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    #[test]
    fn parses_the_python_files_a_scan_would_scan() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::create_dir_all(root.join("demo/tests")).unwrap();
        std::fs::write(root.join("demo/a.py"), "x = 1\n").unwrap();
        std::fs::write(root.join("demo/b.py"), "def f(:\n").unwrap();
        std::fs::write(root.join("demo/manifest.json"), "{}").unwrap();
        std::fs::write(root.join("demo/tests/test_a.py"), "y = 2\n").unwrap();
        let scanner = Scanner::new(&Config::default()).unwrap();
        let stats = scanner.parse_only(&[root.to_path_buf()], false);
        // A file with syntax errors still has a tree, as in a scan.
        assert_eq!(
            stats,
            ParseStats {
                files: 2,
                bytes: 14,
                failed: 0
            }
        );
    }
}
