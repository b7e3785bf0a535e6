//! Which files a scan reads: `.py` files under the given paths, honouring
//! `.gitignore` (for files git does not track) and the excludes, never
//! following a symbolic link.

use std::{
    path::{Path, PathBuf},
    sync::{Arc, Mutex, OnceLock, PoisonError},
};

use globset::{Glob, GlobSet, GlobSetBuilder};
use ignore::{WalkBuilder, WalkState};

/// Paths no one wants scanned: tests, virtualenvs, vendored and built code.
pub const DEFAULT_EXCLUDES: &[&str] = &[
    "**/tests/**",
    "**/test_*.py",
    "**/*_test.py",
    "**/conftest.py",
    "**/.venv/**",
    "**/venv/**",
    "**/.tox/**",
    "**/.nox/**",
    "**/site-packages/**",
    "**/node_modules/**",
    "**/build/**",
    "**/dist/**",
    "**/.git/**",
];

/// A file that was not scanned, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skipped {
    pub path: String,
    pub reason: String,
}

/// The files to scan, and those passed over with a reason.
#[derive(Debug, Default)]
pub struct Sources {
    /// Sorted by bytes.
    pub files: Vec<PathBuf>,
    pub skipped: Vec<Skipped>,
    /// The directories walked, and what their excludes left out (files and
    /// directories not entered): what [`Sources::python_files_under`] needs to
    /// list a directory without walking it again.
    walked: Vec<PathBuf>,
    excluded: Vec<PathBuf>,
}

impl Sources {
    /// The `.py` files under `dir` as a walk of `dir` itself finds them
    /// (`.gitignore` honoured, hidden entries and links passed over, at most
    /// `max_depth` levels down, `excludes` matched relative to `dir`), taken from
    /// the files found when the walk saw them all: `dir` lies in a walked
    /// directory, and all that was excluded under it is excluded relative to
    /// `dir` too. `None` when that cannot be told.
    pub fn python_files_under(
        &self,
        dir: &Path,
        excludes: &GlobSet,
        max_depth: usize,
    ) -> Option<Vec<PathBuf>> {
        if !self.walked.iter().any(|root| dir.starts_with(root)) {
            return None;
        }
        // Excluded relative to `dir`: the path or a directory above it (the walk
        // does not enter an excluded directory).
        let excluded_from_dir = |path: &Path| {
            let Ok(relative) = path.strip_prefix(dir) else {
                return false;
            };
            relative
                .ancestors()
                .filter(|part| !part.as_os_str().is_empty())
                .any(|part| excludes.is_match(part))
        };
        for path in &self.excluded {
            if dir.starts_with(path) || (path.starts_with(dir) && !excluded_from_dir(path)) {
                return None;
            }
        }
        // The files are sorted by bytes: those under `dir` are one run.
        let mut prefix = dir.as_os_str().to_owned();
        prefix.push(std::path::MAIN_SEPARATOR_STR);
        let prefix = prefix.as_encoded_bytes();
        fn bytes(path: &Path) -> &[u8] {
            path.as_os_str().as_encoded_bytes()
        }
        let first = self.files.partition_point(|path| bytes(path) < prefix);
        let under = self.files[first..]
            .iter()
            .take_while(|path| bytes(path).starts_with(prefix));
        Some(
            under
                .filter(|path| path.extension().is_some_and(|ext| ext == "py"))
                .filter(|path| {
                    path.strip_prefix(dir)
                        .is_ok_and(|relative| relative.components().count() <= max_depth)
                })
                .filter(|path| !excluded_from_dir(path))
                .cloned()
                .collect(),
        )
    }
}

pub fn exclude_set(extra: &[String]) -> Result<GlobSet, globset::Error> {
    let mut builder = GlobSetBuilder::new();
    for glob in DEFAULT_EXCLUDES
        .iter()
        .copied()
        .chain(extra.iter().map(String::as_str))
    {
        builder.add(Glob::new(glob)?);
        // `build/` in a config means the directory itself as well as its contents.
        if let Some(dir) = glob.strip_suffix("/**") {
            builder.add(Glob::new(dir)?);
        }
    }
    builder.build()
}

fn is_python(path: &Path) -> bool {
    path.extension()
        .is_some_and(|ext| ext == "py" || ext == "pyi")
}

/// An integration's manifest, read by the manifest rules.
pub fn is_manifest(path: &Path) -> bool {
    path.file_name().is_some_and(|name| name == "manifest.json")
}

/// Walks `roots` for Python files and `manifest.json` files. A file named explicitly is scanned even if an exclude matches it
/// (as ruff does), unless `force_exclude`; a directory is walked with the excludes
/// matched against paths relative to it.
pub fn collect(roots: &[PathBuf], excludes: &GlobSet, force_exclude: bool) -> Sources {
    let mut sources = Sources::default();
    for root in roots {
        // An absolute path under the working directory is walked as a relative
        // one: the same files, shown the same, but every open and stat resolves
        // fewer directories (a tenth of a warm rescan's time).
        let root = match from_working_dir(root) {
            relative if relative.as_os_str().is_empty() => PathBuf::from("."),
            relative => relative.to_path_buf(),
        };
        let root = &root;
        let metadata = match std::fs::symlink_metadata(root) {
            Ok(metadata) => metadata,
            Err(e) => {
                sources.skipped.push(Skipped {
                    path: display(root),
                    reason: format!("cannot read: {e}"),
                });
                continue;
            }
        };
        if metadata.file_type().is_symlink() {
            sources.skipped.push(Skipped {
                path: display(root),
                reason: "symbolic link, not followed".into(),
            });
        } else if metadata.is_file() {
            if force_exclude && excludes.is_match(root) {
                continue;
            }
            if is_python(root) || is_manifest(root) {
                sources.files.push(root.clone());
            } else {
                sources.skipped.push(Skipped {
                    path: display(root),
                    reason: "not a Python file or manifest.json".into(),
                });
            }
        } else if metadata.is_dir() {
            walk(root, excludes, &mut sources);
            sources.walked.push(root.clone());
        } else {
            sources.skipped.push(Skipped {
                path: display(root),
                reason: NOT_REGULAR.into(),
            });
        }
    }
    // By bytes, the order of the report's paths (and much faster than by components).
    sources
        .files
        .sort_unstable_by(|a, b| a.as_os_str().cmp(b.as_os_str()));
    sources.files.dedup();
    sources
}

/// Why a FIFO, socket or device is skipped: reading a FIFO would block forever.
const NOT_REGULAR: &str = "not a regular file (FIFO, socket or device), not read";

/// Walks one directory with `ignore`'s parallel walker; `collect` sorts the files,
/// and the skipped entries are sorted here, so that the result does not depend on
/// the order the threads found them in.
fn walk(root: &Path, excludes: &GlobSet, sources: &mut Sources) {
    let excluded = {
        let excludes = excludes.clone();
        let root = root.to_path_buf();
        move |path: &Path| {
            path.strip_prefix(&root)
                .is_ok_and(|relative| excludes.is_match(relative))
        }
    };
    let found = Mutex::new(Sources::default());
    let left_out = Arc::new(Mutex::new(Vec::new()));
    let record = Arc::clone(&left_out);
    WalkBuilder::new(root)
        .follow_links(false)
        .require_git(false)
        // Other files are passed over before the excludes are matched: most
        // files of a repository are not Python, and matching globs costs more
        // than walking.
        .filter_entry(move |entry| {
            let unwanted_file = entry.file_type().is_some_and(|t| t.is_file())
                && !(is_python(entry.path()) || is_manifest(entry.path()));
            if unwanted_file {
                return false;
            }
            if excluded(entry.path()) {
                let mut record = record.lock().unwrap_or_else(PoisonError::into_inner);
                record.push(entry.path().to_path_buf());
                return false;
            }
            true
        })
        .build_parallel()
        .run(|| {
            let found = &found;
            Box::new(move |entry| {
                let mut found = found.lock().unwrap_or_else(PoisonError::into_inner);
                match entry {
                    Ok(entry) if entry.path_is_symlink() => {
                        if entry.depth() > 0 {
                            found.skipped.push(Skipped {
                                path: display(entry.path()),
                                reason: "symbolic link, not followed".into(),
                            });
                        }
                    }
                    Ok(entry) => {
                        let wanted = is_python(entry.path()) || is_manifest(entry.path());
                        match entry.file_type() {
                            Some(t) if t.is_file() && wanted => found.files.push(entry.into_path()),
                            Some(t) if !t.is_file() && !t.is_dir() && wanted => {
                                found.skipped.push(Skipped {
                                    path: display(entry.path()),
                                    reason: NOT_REGULAR.into(),
                                });
                            }
                            _ => {}
                        }
                    }
                    Err(error) => found.skipped.push(Skipped {
                        path: error_path(&error).map_or_else(|| display(root), |p| display(&p)),
                        reason: error.to_string(),
                    }),
                }
                WalkState::Continue
            })
        });
    let mut found = found.into_inner().unwrap_or_else(PoisonError::into_inner);
    super::tracked::add_tracked(&mut found.files, root, excludes, |path| {
        is_python(path) || is_manifest(path)
    });
    found
        .skipped
        .sort_by(|a, b| (&a.path, &a.reason).cmp(&(&b.path, &b.reason)));
    sources.files.append(&mut found.files);
    sources.skipped.append(&mut found.skipped);
    sources
        .excluded
        .append(&mut left_out.lock().unwrap_or_else(PoisonError::into_inner));
}

fn error_path(error: &ignore::Error) -> Option<PathBuf> {
    match error {
        ignore::Error::WithPath { path, .. } => Some(path.clone()),
        ignore::Error::WithDepth { err, .. } | ignore::Error::WithLineNumber { err, .. } => {
            error_path(err)
        }
        _ => None,
    }
}

/// Why a file was not read.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// A symbolic link, FIFO, socket, device or directory.
    #[error("not a regular file")]
    NotRegular,
    #[error("{0} bytes is over max-file-size")]
    TooLarge(u64),
    #[error("cannot read: {0}")]
    Io(std::io::Error),
}

/// Reads a regular file of at most `max_size` bytes. Never follows a symbolic
/// link and never blocks on a FIFO: the file is opened without following links
/// and without waiting, then asked what it is through the open handle (one
/// lookup of the path, and nothing can be swapped in between check and read).
pub fn read_regular(path: &Path, max_size: u64) -> Result<Vec<u8>, ReadError> {
    use std::io::Read;
    let file = open_no_follow(path)?;
    let metadata = file.metadata().map_err(ReadError::Io)?;
    if !metadata.is_file() {
        return Err(ReadError::NotRegular);
    }
    if metadata.len() > max_size {
        return Err(ReadError::TooLarge(metadata.len()));
    }
    // The size the file has now: read in one call, without a second read to
    // find the end (a file of size 0 may be one whose size the system does not
    // know: read to its end, within the limit).
    let (size, limit) = match metadata.len() {
        0 => (0, max_size.saturating_add(1)),
        size => (size, size),
    };
    let mut bytes = Vec::with_capacity(usize::try_from(size).unwrap_or(0));
    let read = file
        .take(limit)
        .read_to_end(&mut bytes)
        .map_err(ReadError::Io)?;
    if read as u64 > max_size {
        return Err(ReadError::TooLarge(read as u64));
    }
    Ok(bytes)
}

#[cfg(unix)]
fn open_no_follow(path: &Path) -> Result<std::fs::File, ReadError> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_NOCTTY)
        .open(path)
        .map_err(|e| match e.raw_os_error() {
            Some(libc::ELOOP) => ReadError::NotRegular, // the path is a symbolic link
            _ => ReadError::Io(e),
        })
}

#[cfg(not(unix))]
fn open_no_follow(path: &Path) -> Result<std::fs::File, ReadError> {
    let metadata = std::fs::symlink_metadata(path).map_err(ReadError::Io)?;
    if !metadata.file_type().is_file() {
        return Err(ReadError::NotRegular);
    }
    std::fs::File::open(path).map_err(ReadError::Io)
}

/// `path` relative to the working directory when it lies under it (lexically),
/// else `path` itself.
fn from_working_dir(path: &Path) -> &Path {
    // Asked once: the only change of directory (the action entering
    // GITHUB_WORKSPACE) comes first, before any path is walked or shown.
    static CWD: OnceLock<Option<PathBuf>> = OnceLock::new();
    let cwd = CWD.get_or_init(|| std::env::current_dir().ok());
    cwd.as_deref()
        .and_then(|cwd| path.strip_prefix(cwd).ok())
        .unwrap_or(path)
}

/// A path as shown to users: relative to the working directory when under it,
/// without a leading `./`, with `/` separators.
pub fn display(path: &Path) -> String {
    let shown = from_working_dir(path).to_string_lossy().replace('\\', "/");
    let shown = shown.strip_prefix("./").unwrap_or(&shown);
    if shown.is_empty() {
        ".".to_string()
    } else {
        shown.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn touch(root: &Path, relative: &str) {
        let path = root.join(relative);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, "x = 1\n").unwrap();
    }

    fn names(sources: &Sources, root: &Path) -> Vec<String> {
        sources
            .files
            .iter()
            .map(|p| {
                p.strip_prefix(root)
                    .unwrap()
                    .to_string_lossy()
                    .replace('\\', "/")
            })
            .collect()
    }

    #[test]
    fn walks_python_files_skipping_default_excludes_and_gitignore() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        for file in [
            "custom_components/demo/__init__.py",
            "custom_components/demo/sensor.py",
            "custom_components/demo/manifest.json",
            "tests/test_init.py",
            "conftest.py",
            ".venv/lib/x.py",
            "build/lib/y.py",
            "ignored/z.py",
            "test_sensor.py",
            "stub.pyi",
        ] {
            touch(root, file);
        }
        std::fs::write(root.join(".gitignore"), "ignored/\n").unwrap();
        let sources = collect(&[root.to_path_buf()], &exclude_set(&[]).unwrap(), false);
        assert_eq!(
            names(&sources, root),
            [
                "custom_components/demo/__init__.py",
                "custom_components/demo/manifest.json",
                "custom_components/demo/sensor.py",
                "stub.pyi"
            ]
        );
    }

    #[test]
    fn user_excludes_add_to_the_defaults() {
        let dir = tempfile::tempdir().unwrap();
        touch(dir.path(), "a/keep.py");
        touch(dir.path(), "generated/skip.py");
        let excludes = exclude_set(&["generated/**".to_string()]).unwrap();
        let sources = collect(&[dir.path().to_path_buf()], &excludes, false);
        assert_eq!(names(&sources, dir.path()), ["a/keep.py"]);
    }

    #[test]
    fn explicit_files_bypass_excludes_unless_forced() {
        let dir = tempfile::tempdir().unwrap();
        touch(dir.path(), "tests/test_x.py");
        let file = dir.path().join("tests/test_x.py");
        let excludes = exclude_set(&[]).unwrap();
        assert_eq!(
            collect(std::slice::from_ref(&file), &excludes, false).files,
            vec![file.clone()]
        );
        assert!(collect(&[file], &excludes, true).files.is_empty());
    }

    #[cfg(unix)]
    #[test]
    fn symbolic_links_are_never_followed() {
        let outside = tempfile::tempdir().unwrap();
        touch(outside.path(), "secret.py");
        touch(outside.path(), "pkg/mod.py");
        let repo = tempfile::tempdir().unwrap();
        touch(repo.path(), "real.py");
        std::os::unix::fs::symlink(
            outside.path().join("secret.py"),
            repo.path().join("link.py"),
        )
        .unwrap();
        std::os::unix::fs::symlink(outside.path().join("pkg"), repo.path().join("pkgdir")).unwrap();
        let sources = collect(
            &[repo.path().to_path_buf()],
            &exclude_set(&[]).unwrap(),
            false,
        );
        assert_eq!(names(&sources, repo.path()), ["real.py"]);
        let mut skipped: Vec<_> = sources.skipped.iter().map(|s| s.reason.as_str()).collect();
        skipped.dedup();
        assert_eq!(skipped, ["symbolic link, not followed"]);
        assert_eq!(sources.skipped.len(), 2);
    }

    #[cfg(unix)]
    #[test]
    fn sockets_and_fifos_are_skipped_unread() {
        let repo = tempfile::tempdir().unwrap();
        touch(repo.path(), "real.py");
        let _socket =
            std::os::unix::net::UnixListener::bind(repo.path().join("socket.py")).unwrap();
        let roots = [repo.path().to_path_buf(), repo.path().join("socket.py")];
        let sources = collect(&roots, &exclude_set(&[]).unwrap(), false);
        assert_eq!(names(&sources, repo.path()), ["real.py"]);
        let reasons: Vec<_> = sources.skipped.iter().map(|s| s.reason.as_str()).collect();
        assert_eq!(reasons, [NOT_REGULAR, NOT_REGULAR], "walked, then named");
    }

    #[test]
    fn a_missing_path_is_reported() {
        let sources = collect(
            &[PathBuf::from("no/such/dir")],
            &exclude_set(&[]).unwrap(),
            false,
        );
        assert!(sources.files.is_empty());
        assert!(sources.skipped[0].reason.contains("cannot read"));
    }

    #[cfg(unix)]
    #[test]
    fn only_regular_files_within_the_limit_are_read() {
        let dir = tempfile::tempdir().unwrap();
        let path = |name: &str| dir.path().join(name);
        std::fs::write(path("a.py"), "x = 1\n").unwrap();
        assert_eq!(read_regular(&path("a.py"), 6).unwrap(), b"x = 1\n");
        assert!(matches!(
            read_regular(&path("a.py"), 5),
            Err(ReadError::TooLarge(6))
        ));
        std::os::unix::fs::symlink(path("a.py"), path("link.py")).unwrap();
        assert!(matches!(
            read_regular(&path("link.py"), 100),
            Err(ReadError::NotRegular)
        ));
        // Opened without waiting for a writer, then refused: this test would
        // otherwise never finish.
        let made = std::process::Command::new("mkfifo")
            .arg(path("pipe.py"))
            .status()
            .unwrap();
        assert!(made.success());
        assert!(matches!(
            read_regular(&path("pipe.py"), 100),
            Err(ReadError::NotRegular)
        ));
        assert!(matches!(
            read_regular(dir.path(), 100),
            Err(ReadError::NotRegular)
        ));
        let missing = read_regular(&path("missing.py"), 100).unwrap_err();
        assert!(
            missing.to_string().starts_with("cannot read: "),
            "{missing}"
        );
    }

    #[cfg(unix)]
    #[test]
    fn a_directory_is_listed_from_the_walk_as_its_own_walk_lists_it() {
        use crate::scan::integration::{MAX_DEPTH, python_files};
        let repo = tempfile::tempdir().unwrap();
        let root = repo.path();
        std::fs::write(root.join(".gitignore"), "generated_*.py\n").unwrap();
        let demo = root.join("custom_components/demo");
        for file in [
            "manifest.json",
            "__init__.py",
            "sensor.py",
            "generated_api.py",
            ".hidden.py",
            "test_demo.py",
            "stub.pyi",
            "sub/ok.py",
            "sub/a/deep.py",
            "sub/a/b/deeper.py",
            "vendor/lib.py",
        ] {
            touch(&demo, file);
        }
        std::os::unix::fs::symlink(demo.join("sensor.py"), demo.join("link.py")).unwrap();
        let sorted = |mut files: Vec<PathBuf>| {
            files.sort();
            files
        };
        let walked = |excludes: &GlobSet| sorted(python_files(&demo, excludes));

        let defaults = exclude_set(&[]).unwrap();
        let sources = collect(&[root.to_path_buf()], &defaults, false);
        let listed = sources.python_files_under(&demo, &defaults, MAX_DEPTH);
        assert_eq!(listed.map(sorted), Some(walked(&defaults)));
        let names: Vec<String> = walked(&defaults)
            .iter()
            .map(|p| {
                p.strip_prefix(&demo)
                    .unwrap()
                    .to_string_lossy()
                    .into_owned()
            })
            .collect();
        assert_eq!(
            names,
            [
                "__init__.py",
                "sensor.py",
                "sub/a/deep.py",
                "sub/ok.py",
                "vendor/lib.py"
            ]
        );

        // An exclude written from the repository's root is not one from the
        // integration's: the walk of the repository cannot tell what the
        // integration's own walk finds there.
        let anchored = exclude_set(&["custom_components/demo/vendor/**".into()]).unwrap();
        let sources = collect(&[root.to_path_buf()], &anchored, false);
        assert_eq!(
            sources.python_files_under(&demo, &anchored, MAX_DEPTH),
            None
        );
        // One that excludes there too can be told.
        let everywhere = exclude_set(&["**/vendor/**".into()]).unwrap();
        let sources = collect(&[root.to_path_buf()], &everywhere, false);
        let listed = sources.python_files_under(&demo, &everywhere, MAX_DEPTH);
        assert_eq!(listed.map(sorted), Some(walked(&everywhere)));

        // Not walked: a file named alone, a directory outside.
        let alone = collect(&[demo.join("sensor.py")], &defaults, false);
        assert_eq!(alone.python_files_under(&demo, &defaults, MAX_DEPTH), None);
        let inside = collect(&[demo.join("sub")], &defaults, false);
        assert_eq!(inside.python_files_under(&demo, &defaults, MAX_DEPTH), None);
    }

    #[test]
    fn an_absolute_root_under_the_working_directory_is_walked_relative() {
        let examples = std::env::current_dir().unwrap().join("examples");
        let absolute = collect(&[examples], &exclude_set(&[]).unwrap(), false);
        let relative = collect(
            &[PathBuf::from("examples")],
            &exclude_set(&[]).unwrap(),
            false,
        );
        assert!(!absolute.files.is_empty());
        assert_eq!(absolute.files, relative.files);
        assert!(absolute.files.iter().all(|path| path.is_relative()));
    }
}
