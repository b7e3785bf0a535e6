//! Files git tracks that `.gitignore` would hide. A tracked file is in the
//! repository whatever `.gitignore` says (git itself applies it only to
//! untracked files): it is published, installed from the repository and packed
//! into releases, so a scan of the repository reads it. A helper script
//! committed before `query_*.py` was added to `.gitignore` still holds the
//! token written in it.

#[cfg(feature = "git")]
pub use with_git::add_tracked;

/// Built without git (feature `git`), `.gitignore` alone decides.
#[cfg(not(feature = "git"))]
pub fn add_tracked(
    _: &mut Vec<std::path::PathBuf>,
    _: &std::path::Path,
    _: &globset::GlobSet,
    _: fn(&std::path::Path) -> bool,
) {
}

#[cfg(feature = "git")]
mod with_git {
    use std::{
        collections::{HashMap, HashSet},
        path::{Component, Path, PathBuf},
        sync::{Arc, LazyLock, Mutex, PoisonError},
    };

    use git2::{Repository, RepositoryOpenFlags};
    use globset::GlobSet;

    /// Regular files in the index (no links, no submodules).
    const REGULAR_MODES: [u32; 2] = [0o100_644, 0o100_755];

    /// Each work tree's tracked paths (relative to it), read once per process:
    /// `hassec scan a/ b/` walks two directories of one repository.
    static INDEXES: LazyLock<Mutex<HashMap<PathBuf, Arc<Vec<PathBuf>>>>> =
        LazyLock::new(Mutex::default);

    /// The files of the index under `root` (`root`, joined with the path below it)
    /// that `wanted` accepts, that lie in no
    /// hidden directory and under no exclude (matched relative to `root`, as the
    /// walk matches them), and that are regular files on disk reached without a
    /// symbolic link. Empty when `root` is not in a git work tree or its index
    /// cannot be read: then `.gitignore` alone decides.
    pub fn tracked_files(
        root: &Path,
        excludes: &GlobSet,
        wanted: fn(&Path) -> bool,
    ) -> Vec<PathBuf> {
        let Some((tracked, prefix)) = index_under(root) else {
            return Vec::new();
        };
        tracked
            .iter()
            .filter_map(|path| {
                let relative = path.strip_prefix(&prefix).ok()?;
                let plain = relative.components().all(|c| match c {
                    Component::Normal(name) => !name.to_string_lossy().starts_with('.'),
                    _ => false,
                });
                let excluded = || {
                    relative
                        .ancestors()
                        .filter(|part| !part.as_os_str().is_empty())
                        .any(|part| excludes.is_match(part))
                };
                (plain && wanted(relative) && !excluded() && reached_without_links(root, relative))
                    .then(|| root.join(relative))
            })
            .collect()
    }

    /// Adds to `files` (found by walking `root`) the tracked ones the walk left
    /// to `.gitignore`: [`tracked_files`] not already in it.
    pub fn add_tracked(
        files: &mut Vec<PathBuf>,
        root: &Path,
        excludes: &GlobSet,
        wanted: fn(&Path) -> bool,
    ) {
        let walked: HashSet<PathBuf> = files.iter().cloned().collect();
        let tracked = tracked_files(root, excludes, wanted);
        files.extend(tracked.into_iter().filter(|path| !walked.contains(path)));
    }

    /// The tracked paths of the work tree holding `root`, and `root`'s path in it.
    fn index_under(root: &Path) -> Option<(Arc<Vec<PathBuf>>, PathBuf)> {
        let repo = Repository::open_ext(root, RepositoryOpenFlags::empty(), &[] as &[&str]).ok()?;
        let workdir = repo.workdir()?.canonicalize().ok()?;
        let prefix = root
            .canonicalize()
            .ok()?
            .strip_prefix(&workdir)
            .ok()?
            .to_path_buf();
        let mut indexes = INDEXES.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(tracked) = indexes.get(&workdir) {
            return Some((Arc::clone(tracked), prefix));
        }
        let index = repo.index().ok()?;
        let tracked: Vec<PathBuf> = index
            .iter()
            .filter(|entry| REGULAR_MODES.contains(&entry.mode))
            .filter_map(|entry| String::from_utf8(entry.path).ok().map(PathBuf::from))
            .collect();
        let tracked = Arc::new(tracked);
        indexes.insert(workdir, Arc::clone(&tracked));
        Some((tracked, prefix))
    }

    /// Is `root/relative` a regular file, every directory on the way a directory
    /// and not a symbolic link (a work tree changed after checkout may have one)?
    fn reached_without_links(root: &Path, relative: &Path) -> bool {
        let mut path = root.to_path_buf();
        let mut parts = relative.components().peekable();
        while let Some(part) = parts.next() {
            path.push(part);
            let Ok(metadata) = std::fs::symlink_metadata(&path) else {
                return false;
            };
            let expected = if parts.peek().is_some() {
                metadata.is_dir()
            } else {
                metadata.is_file()
            };
            if !expected {
                return false;
            }
        }
        true
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        fn python(path: &Path) -> bool {
            path.extension().is_some_and(|ext| ext == "py")
        }

        #[test]
        fn tracked_files_are_listed_whatever_gitignore_says_untracked_ones_are_not() {
            let dir = tempfile::tempdir().unwrap();
            let root = dir.path();
            let repo = Repository::init(root).unwrap();
            std::fs::write(root.join(".gitignore"), "query_*.py\n").unwrap();
            std::fs::create_dir_all(root.join("tools")).unwrap();
            std::fs::create_dir_all(root.join(".github")).unwrap();
            for name in [
                "query_cloud.py",
                "tools/query_site.py",
                ".github/query_ci.py",
            ] {
                std::fs::write(root.join(name), "TOKEN = 'x'\n").unwrap();
            }
            let mut index = repo.index().unwrap();
            for name in [
                "query_cloud.py",
                "tools/query_site.py",
                ".github/query_ci.py",
            ] {
                index.add_path(Path::new(name)).unwrap();
            }
            index.write().unwrap();
            // Ignored and untracked: left to `.gitignore`.
            std::fs::write(root.join("query_local.py"), "x = 1\n").unwrap();

            let none = GlobSet::empty();
            let mut found = tracked_files(root, &none, python);
            found.sort();
            assert_eq!(
                found,
                vec![
                    root.join("query_cloud.py"),
                    root.join("tools/query_site.py")
                ]
            );
            // Below the root, paths are relative to the directory scanned.
            assert_eq!(
                tracked_files(&root.join("tools"), &none, python),
                vec![root.join("tools").join("query_site.py")]
            );
            // Excludes apply as they do to the walk.
            let tools = crate::scan::sources::exclude_set(&["tools/**".into()]).unwrap();
            assert_eq!(
                tracked_files(root, &tools, python),
                vec![root.join("query_cloud.py")]
            );
            // A tracked path whose directory became a symbolic link is not read.
            std::fs::remove_dir_all(root.join("tools")).unwrap();
            std::fs::create_dir_all(root.join("elsewhere")).unwrap();
            std::fs::write(root.join("elsewhere/query_site.py"), "x = 1\n").unwrap();
            #[cfg(unix)]
            {
                std::os::unix::fs::symlink(root.join("elsewhere"), root.join("tools")).unwrap();
                assert_eq!(
                    tracked_files(root, &none, python),
                    vec![root.join("query_cloud.py")]
                );
            }
        }

        #[test]
        fn outside_a_work_tree_nothing_is_added() {
            let dir = tempfile::tempdir().unwrap();
            std::fs::write(dir.path().join("a.py"), "x = 1\n").unwrap();
            assert!(tracked_files(dir.path(), &GlobSet::empty(), python).is_empty());
        }
    }
}
