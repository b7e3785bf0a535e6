//! Files git tracks that `.gitignore` would hide. A tracked file is in the
//! repository whatever `.gitignore` says (git itself applies it only to
//! untracked files): it is published, installed from the repository and packed
//! into releases, so a scan of the repository reads it. A helper script
//! committed before `query_*.py` was added to `.gitignore` still holds the
//! token written in it.

use std::path::{Component, Path, PathBuf};

use git2::{Repository, RepositoryOpenFlags};
use globset::GlobSet;

/// Regular files in the index (no links, no submodules).
const REGULAR_MODES: [u32; 2] = [0o100_644, 0o100_755];

/// The files of the index under `root` (`root`, joined with the path below it)
/// that `wanted` accepts, that lie in no hidden directory and under no exclude
/// (matched relative to `root`, as the walk matches them), and that are regular
/// files on disk reached without a symbolic link. Empty when `root` is not in a
/// git work tree or its index cannot be read: then `.gitignore` alone decides.
pub fn tracked_files(root: &Path, excludes: &GlobSet, wanted: fn(&Path) -> bool) -> Vec<PathBuf> {
    let Ok(repo) = Repository::open_ext(root, RepositoryOpenFlags::empty(), &[] as &[&str]) else {
        return Vec::new();
    };
    let (Some(workdir), Ok(index)) = (repo.workdir(), repo.index()) else {
        return Vec::new();
    };
    let (Ok(workdir), Ok(absolute)) = (workdir.canonicalize(), root.canonicalize()) else {
        return Vec::new();
    };
    let Ok(prefix) = absolute.strip_prefix(&workdir) else {
        return Vec::new();
    };
    index
        .iter()
        .filter(|entry| REGULAR_MODES.contains(&entry.mode))
        .filter_map(|entry| {
            let path = PathBuf::from(String::from_utf8(entry.path).ok()?);
            let relative = path.strip_prefix(prefix).ok()?.to_path_buf();
            let plain = relative.components().all(|c| match c {
                Component::Normal(name) => !name.to_string_lossy().starts_with('.'),
                _ => false,
            });
            let excluded = relative
                .ancestors()
                .filter(|part| !part.as_os_str().is_empty())
                .any(|part| excludes.is_match(part));
            (plain && !excluded && wanted(&relative) && reached_without_links(root, &relative))
                .then(|| root.join(relative))
        })
        .collect()
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
