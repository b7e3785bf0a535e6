//! A pull request's changes from the local checkout: actions/checkout leaves the
//! merge commit `refs/pull/N/merge` checked out, and with `fetch-depth: 2` its
//! first parent (the base branch) is there too.

use std::path::Path;

use git2::{Delta, DiffFindOptions, DiffOptions, FileMode, Oid, Repository};

use super::changes::{ChangeSource, ChangedFile, Changes};

/// Why the local diff could not be taken; the caller falls back to the API.
#[derive(Debug)]
pub enum DiffError {
    /// The commit or its first parent is not in the checkout (depth 1, or a
    /// checkout of another commit).
    Missing(String),
    Git(git2::Error),
}

impl std::fmt::Display for DiffError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DiffError::Missing(what) => f.write_str(what),
            DiffError::Git(e) => write!(f, "git: {}", e.message()),
        }
    }
}

impl From<git2::Error> for DiffError {
    fn from(e: git2::Error) -> Self {
        DiffError::Git(e)
    }
}

/// Opens the repository at `workspace`.
///
/// The runner checks the workspace out as its own user and mounts it into the
/// container, where we run as root: libgit2 then refuses the repository as owned by
/// someone else (git's `safe.directory` protection, CVE-2022-24765). That protection
/// keeps a user from running hooks or config-driven commands planted by another user;
/// libgit2 runs neither hooks nor config commands, and we only read objects, so it is
/// safe to turn the check off. It is a process-wide libgit2 option, set before any
/// repository is opened.
///
/// Objects are read without hashing them again to check their ids (libgit2's
/// SHA-1 with collision detection, a third of the diff's time): the runner's own
/// fresh checkout is read, and a corrupt object could only make a wrong diff of a
/// repository whose content is untrusted anyway.
pub fn open(workspace: &Path) -> Result<Repository, git2::Error> {
    // SAFETY: libgit2 options are global; this is called before the action opens any
    // repository, and no other thread uses libgit2 at that time.
    unsafe { git2::opts::set_verify_owner_validation(false)? };
    git2::opts::strict_hash_verification(false);
    Repository::open(workspace)
}

/// The changes between `base`'s tree and `head`'s: what the pull request adds,
/// when `head` is the merge commit and `base` its first parent.
pub fn between(repo: &Repository, base: Oid, head: Oid) -> Result<Changes, DiffError> {
    let find_tree = |oid: Oid, what: &str| {
        repo.find_commit(oid)
            .and_then(|commit| commit.tree())
            .map_err(|e| {
                DiffError::Missing(format!(
                    "{what} {oid} is not in the checkout ({})",
                    e.message()
                ))
            })
    };
    let old = find_tree(base, "base commit")?;
    let new = find_tree(head, "commit")?;
    // Context lines for the patches below; submodules for the diff of the trees.
    let mut options = DiffOptions::new();
    options.context_lines(3).ignore_submodules(true);
    let mut diff = repo.diff_tree_to_tree(Some(&old), Some(&new), Some(&mut options))?;
    // A renamed file is a change of its edited lines, not a whole new file.
    diff.find_similar(Some(DiffFindOptions::new().renames(true)))?;

    let mut changes = Changes::new(ChangeSource::Git);
    for delta in diff.deltas() {
        if matches!(delta.status(), Delta::Deleted | Delta::Unmodified) {
            continue;
        }
        let (Some(path), FileMode::Blob | FileMode::BlobExecutable) =
            (delta.new_file().path(), delta.new_file().mode())
        else {
            continue; // links, submodules: nothing to scan
        };
        let path = path.to_string_lossy().replace('\\', "/");
        // The patch of the two contents, named by no path: a patch of the diff
        // would look up each path's diff driver in .gitattributes, and so read and
        // check the whole index, most of the diff's time in a big repository.
        let blob = |id: Oid| (!id.is_zero()).then(|| repo.find_blob(id)).transpose();
        let (old_blob, new_blob) = (blob(delta.old_file().id())?, blob(delta.new_file().id())?);
        let patch = git2::Patch::from_buffers(
            content(old_blob.as_ref()),
            None,
            content(new_blob.as_ref()),
            None,
            Some(&mut options),
        )?;
        // Binary files have no lines and nothing to scan.
        if patch.delta().flags().is_binary() {
            continue;
        }
        let mut file = ChangedFile::default();
        for hunk_index in 0..patch.num_hunks() {
            let (hunk, lines) = patch.hunk(hunk_index)?;
            let start = hunk.new_start() as usize;
            let count = hunk.new_lines() as usize;
            if count > 0 {
                file.hunks.add(start, start + count - 1);
            }
            for line_index in 0..lines {
                let line = patch.line_in_hunk(hunk_index, line_index)?;
                if line.origin() == '+'
                    && let Some(number) = line.new_lineno()
                {
                    file.added.add(number as usize, number as usize);
                }
            }
        }
        changes.files.insert(path, file);
    }
    Ok(changes)
}

/// A blob's bytes; none for a file that did not exist.
fn content<'b>(blob: Option<&'b git2::Blob>) -> &'b [u8] {
    blob.map_or(&[], git2::Blob::content)
}

/// The pull request's changes from the checked-out merge commit `merge_sha` and
/// its first parent.
pub fn pull_request(repo: &Repository, merge_sha: &str) -> Result<Changes, DiffError> {
    let merge = Oid::from_str(merge_sha)
        .map_err(|_| DiffError::Missing(format!("`{merge_sha}` is not a commit id")))?;
    let commit = repo.find_commit(merge).map_err(|_| {
        DiffError::Missing(format!(
            "the merge commit {merge_sha} is not in the checkout"
        ))
    })?;
    match commit.parent_count() {
        // A depth-1 clone lists the commit in `.git/shallow`: libgit2 shows no parents.
        0 => {
            return Err(DiffError::Missing(
                "the merge commit's parents are not in the checkout (use `fetch-depth: 2`)".into(),
            ));
        }
        1 => {
            return Err(DiffError::Missing(format!(
                "{merge_sha} is not a merge commit: check out the pull request's merge ref (the default of actions/checkout)"
            )));
        }
        _ => {}
    }
    let base = commit.parent_id(0)?;
    if repo.find_commit(base).is_err() {
        return Err(DiffError::Missing(
            "the merge commit's parents are not in the checkout (use `fetch-depth: 2`)".into(),
        ));
    }
    between(repo, base, merge)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A commit of `files` (path, bytes) in `repo`, built without a work tree.
    fn commit(repo: &Repository, files: &[(&str, &[u8])], parents: &[Oid]) -> Oid {
        let mut index = git2::Index::new().unwrap();
        for (path, bytes) in files {
            let entry = git2::IndexEntry {
                ctime: git2::IndexTime::new(0, 0),
                mtime: git2::IndexTime::new(0, 0),
                dev: 0,
                ino: 0,
                mode: 0o100_644,
                uid: 0,
                gid: 0,
                file_size: 0,
                id: repo.blob(bytes).unwrap(),
                flags: 0,
                flags_extended: 0,
                path: path.as_bytes().to_vec(),
            };
            index.add(&entry).unwrap();
        }
        let tree = repo.find_tree(index.write_tree_to(repo).unwrap()).unwrap();
        let signature = git2::Signature::now("test", "test@example.invalid").unwrap();
        let parents: Vec<_> = parents
            .iter()
            .map(|p| repo.find_commit(*p).unwrap())
            .collect();
        let parents: Vec<_> = parents.iter().collect();
        repo.commit(None, &signature, &signature, "c", &tree, &parents)
            .unwrap()
    }

    fn numbered(lines: std::ops::RangeInclusive<usize>) -> String {
        lines.map(|n| format!("line_{n} = {n}\n")).collect()
    }

    #[test]
    fn added_lines_hunks_renames_binaries_and_deletions() {
        let dir = tempfile::tempdir().unwrap();
        let repo = Repository::init(dir.path()).unwrap();
        let before = numbered(1..=30);
        let base = commit(
            &repo,
            &[
                ("a/edited.py", before.as_bytes()),
                ("a/old_name.py", before.as_bytes()),
                ("a/gone.py", b"x = 1\n"),
                ("a/same.py", b"y = 2\n"),
                ("a/icon.png", b"\x89PNG\0\0\x01"),
            ],
            &[],
        );
        let edited = before.replace("line_10 = 10\n", "line_10 = 10\nnew = True\n");
        let head = commit(
            &repo,
            &[
                ("a/edited.py", edited.as_bytes()),
                ("a/new_name.py", edited.as_bytes()),
                ("a/added.py", b"import pickle\n"),
                ("a/same.py", b"y = 2\n"),
                ("a/icon.png", b"\x89PNG\0\0\x02"),
            ],
            &[base],
        );
        let changes = between(&repo, base, head).unwrap();
        let paths: Vec<&str> = changes.files.keys().map(String::as_str).collect();
        assert_eq!(paths, ["a/added.py", "a/edited.py", "a/new_name.py"]);
        for renamed_or_edited in ["a/edited.py", "a/new_name.py"] {
            let file = &changes.files[renamed_or_edited];
            assert_eq!(file.added.ranges(), [(11, 11)], "{renamed_or_edited}");
            assert_eq!(file.hunks.ranges(), [(8, 14)], "{renamed_or_edited}");
            assert!(!file.whole);
        }
        assert_eq!(changes.files["a/added.py"].added.ranges(), [(1, 1)]);
        assert_eq!(changes.source, ChangeSource::Git);
    }
}
