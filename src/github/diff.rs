//! A pull request's changes from the local checkout: actions/checkout leaves the
//! merge commit `refs/pull/N/merge` checked out, and with `fetch-depth: 2` its
//! first parent (the base branch) is there too.

use std::path::Path;

use git2::{
    Delta, DiffFindOptions, DiffOptions, FileMode, ObjectType, Oid, Repository, Tree, TreeEntry,
    TreeWalkMode, TreeWalkResult,
};

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
    let compared = TreeChanges::between(repo, &old, &new)?;
    let files = if compared.may_hold_renames() {
        renamed_or_changed(repo, &old, &new, &mut options)?
    } else {
        compared.files
    };

    let mut changes = Changes::new(ChangeSource::Git);
    for file in files {
        if !file.regular {
            continue; // links, submodules: nothing to scan
        }
        // The patch of the two contents, named by no path: a patch of the diff
        // would look up each path's diff driver in .gitattributes, and so read and
        // check the whole index, most of the diff's time in a big repository.
        let blob = |id: Oid| (!id.is_zero()).then(|| repo.find_blob(id)).transpose();
        let (old_blob, new_blob) = (blob(file.old)?, blob(file.new)?);
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
        let mut changed = ChangedFile::default();
        for hunk_index in 0..patch.num_hunks() {
            let (hunk, lines) = patch.hunk(hunk_index)?;
            let start = hunk.new_start() as usize;
            let count = hunk.new_lines() as usize;
            if count > 0 {
                changed.hunks.add(start, start + count - 1);
            }
            for line_index in 0..lines {
                let line = patch.line_in_hunk(hunk_index, line_index)?;
                if line.origin() == '+'
                    && let Some(number) = line.new_lineno()
                {
                    changed.added.add(number as usize, number as usize);
                }
            }
        }
        changes.files.insert(file.path, changed);
    }
    Ok(changes)
}

/// A file that is new or changed in the new tree.
#[derive(Debug, PartialEq)]
struct ChangedBlob {
    /// Its path in the new tree, `/`-separated.
    path: String,
    /// Its blob before (zero when added) and now.
    old: Oid,
    new: Oid,
    /// A regular file (not a link or a submodule) in the new tree.
    regular: bool,
}

/// What differs between two trees, found by comparing the ids of their entries
/// and going down only into subtrees whose ids differ: a pull request touches
/// a few directories of thousands. (libgit2's diff of two trees reads every
/// entry of both, all the way down: 18 ms on Home Assistant core, against 2 ms.)
#[derive(Default)]
struct TreeChanges {
    /// Changed and added files.
    files: Vec<ChangedBlob>,
    added: bool,
    deleted: bool,
}

impl TreeChanges {
    fn between(repo: &Repository, old: &Tree, new: &Tree) -> Result<Self, git2::Error> {
        let mut changes = Self::default();
        changes.compare(repo, old, new, "")?;
        Ok(changes)
    }

    /// With files both added and deleted, some may be renames, which only
    /// libgit2's diff pairs up.
    fn may_hold_renames(&self) -> bool {
        self.added && self.deleted
    }

    fn compare(
        &mut self,
        repo: &Repository,
        old: &Tree,
        new: &Tree,
        prefix: &str,
    ) -> Result<(), git2::Error> {
        for entry in new {
            let before = old.get_name_bytes(entry.name_bytes());
            if before.as_ref().is_some_and(|before| {
                before.id() == entry.id() && before.filemode() == entry.filemode()
            }) {
                continue;
            }
            let path = format!("{prefix}{}", String::from_utf8_lossy(entry.name_bytes()));
            let Some(before) = before else {
                self.add(repo, &entry, path)?;
                continue;
            };
            match (kind_of(&before), kind_of(&entry)) {
                (EntryKind::Tree, EntryKind::Tree) => {
                    let (old, new) = (repo.find_tree(before.id())?, repo.find_tree(entry.id())?);
                    self.compare(repo, &old, &new, &format!("{path}/"))?;
                }
                // A file edited (or made executable), a link or a submodule moved.
                (old_kind, new_kind) if old_kind == new_kind && before.kind() == entry.kind() => {
                    self.files.push(ChangedBlob {
                        path,
                        old: before.id(),
                        new: entry.id(),
                        regular: new_kind == EntryKind::File,
                    });
                }
                // A file became a directory or a link, or the other way round.
                _ => {
                    self.deleted = true;
                    self.add(repo, &entry, path)?;
                }
            }
        }
        self.deleted |= old
            .iter()
            .any(|entry| new.get_name_bytes(entry.name_bytes()).is_none());
        Ok(())
    }

    /// An entry the old tree does not have: a file, or a directory of them.
    fn add(
        &mut self,
        repo: &Repository,
        entry: &TreeEntry,
        path: String,
    ) -> Result<(), git2::Error> {
        self.added = true;
        let added = |path: String, entry: &TreeEntry| ChangedBlob {
            path,
            old: Oid::ZERO_SHA1,
            new: entry.id(),
            regular: kind_of(entry) == EntryKind::File,
        };
        if kind_of(entry) != EntryKind::Tree {
            self.files.push(added(path, entry));
            return Ok(());
        }
        repo.find_tree(entry.id())?
            .walk(TreeWalkMode::PreOrder, |parent, inner| {
                if kind_of(inner) != EntryKind::Tree {
                    let name = String::from_utf8_lossy(inner.name_bytes());
                    self.files
                        .push(added(format!("{path}/{parent}{name}"), inner));
                }
                TreeWalkResult::Ok
            })
    }
}

#[derive(Clone, Copy, PartialEq)]
enum EntryKind {
    Tree,
    /// A regular file, executable or not.
    File,
    /// A link or a submodule.
    Other,
}

fn kind_of(entry: &TreeEntry) -> EntryKind {
    let mode = entry.filemode();
    if entry.kind() == Some(ObjectType::Tree) {
        EntryKind::Tree
    } else if mode == i32::from(FileMode::Blob) || mode == i32::from(FileMode::BlobExecutable) {
        EntryKind::File
    } else {
        EntryKind::Other
    }
}

/// The changed and added files by libgit2's diff of the trees, renames found:
/// a renamed file is a change of its edited lines, not a whole new file.
fn renamed_or_changed(
    repo: &Repository,
    old: &Tree,
    new: &Tree,
    options: &mut DiffOptions,
) -> Result<Vec<ChangedBlob>, git2::Error> {
    let mut diff = repo.diff_tree_to_tree(Some(old), Some(new), Some(options))?;
    diff.find_similar(Some(DiffFindOptions::new().renames(true)))?;
    Ok(diff
        .deltas()
        .filter(|delta| !matches!(delta.status(), Delta::Deleted | Delta::Unmodified))
        .filter_map(|delta| {
            Some(ChangedBlob {
                path: delta
                    .new_file()
                    .path()?
                    .to_string_lossy()
                    .replace('\\', "/"),
                old: delta.old_file().id(),
                new: delta.new_file().id(),
                regular: matches!(
                    delta.new_file().mode(),
                    FileMode::Blob | FileMode::BlobExecutable
                ),
            })
        })
        .collect())
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
        let files: Vec<_> = files
            .iter()
            .map(|&(path, bytes)| (path, 0o100_644, bytes))
            .collect();
        commit_modes(repo, &files, parents)
    }

    /// A commit of `files` (path, mode, bytes).
    fn commit_modes(repo: &Repository, files: &[(&str, u32, &[u8])], parents: &[Oid]) -> Oid {
        let mut index = git2::Index::new().unwrap();
        for &(path, mode, bytes) in files {
            let entry = git2::IndexEntry {
                ctime: git2::IndexTime::new(0, 0),
                mtime: git2::IndexTime::new(0, 0),
                dev: 0,
                ino: 0,
                mode,
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

    /// Our comparison of the trees and libgit2's diff, for `base` and `head`.
    fn both_ways(repo: &Repository, base: Oid, head: Oid) -> (TreeChanges, Vec<ChangedBlob>) {
        let tree = |oid| repo.find_commit(oid).unwrap().tree().unwrap();
        let (old, new) = (tree(base), tree(head));
        let mut ours = TreeChanges::between(repo, &old, &new).unwrap();
        ours.files.sort_by(|a, b| a.path.cmp(&b.path));
        let libgit2 = renamed_or_changed(repo, &old, &new, &mut DiffOptions::new()).unwrap();
        (ours, libgit2)
    }

    #[test]
    fn the_trees_compared_as_libgit2_diffs_them_when_nothing_can_be_a_rename() {
        const FILE: u32 = 0o100_644;
        const EXECUTABLE: u32 = 0o100_755;
        const LINK: u32 = 0o120_000;
        let dir = tempfile::tempdir().unwrap();
        let repo = Repository::init(dir.path()).unwrap();
        let base = commit_modes(
            &repo,
            &[
                ("a/edited.py", FILE, b"x = 1\n"),
                ("a/run.sh", FILE, b"echo\n"),
                ("a/link", LINK, b"edited.py"),
                ("a/became_dir", FILE, b"x\n"),
                ("b/same.py", FILE, b"y = 2\n"),
                ("b/deep/same.py", FILE, b"z = 3\n"),
                ("c/gone.py", FILE, b"gone = 1\n"),
            ],
            &[],
        );
        let edited = commit_modes(
            &repo,
            &[
                ("a/edited.py", FILE, b"x = 2\n"),
                ("a/run.sh", EXECUTABLE, b"echo\n"),
                ("a/link", LINK, b"run.sh"),
                ("a/became_dir", FILE, b"x\n"),
                ("a/new/deeper/added.py", FILE, b"import pickle\n"),
                ("a/new/link", LINK, b"../edited.py"),
                ("b/same.py", FILE, b"y = 2\n"),
                ("b/deep/same.py", FILE, b"z = 3\n"),
                ("c/gone.py", FILE, b"gone = 1\n"),
                ("d.py", FILE, b"d = 4\n"),
            ],
            &[base],
        );
        let (ours, libgit2) = both_ways(&repo, base, edited);
        assert!(!ours.may_hold_renames());
        assert_eq!(ours.files, libgit2);
        let paths: Vec<(&str, bool)> = ours
            .files
            .iter()
            .map(|f| (f.path.as_str(), f.regular))
            .collect();
        assert_eq!(
            paths,
            [
                ("a/edited.py", true),
                ("a/link", false),
                ("a/new/deeper/added.py", true),
                ("a/new/link", false),
                ("a/run.sh", true),
                ("d.py", true),
            ]
        );
        assert_eq!(
            between(&repo, base, edited)
                .unwrap()
                .files
                .keys()
                .collect::<Vec<_>>(),
            ["a/edited.py", "a/new/deeper/added.py", "a/run.sh", "d.py"]
        );

        // Only deletions: nothing to scan, and no renames.
        let deleted = commit_modes(&repo, &[("a/edited.py", FILE, b"x = 1\n")], &[base]);
        let (ours, libgit2) = both_ways(&repo, base, deleted);
        assert!(!ours.may_hold_renames());
        assert!(ours.files.is_empty() && libgit2.is_empty());

        // A file that became a directory is deleted and its files added: then
        // libgit2 is asked, as for any deletion beside an addition.
        let retyped = commit_modes(
            &repo,
            &[
                ("a/edited.py", FILE, b"x = 1\n"),
                ("a/became_dir/x.py", FILE, b"x\n"),
            ],
            &[base],
        );
        assert!(both_ways(&repo, base, retyped).0.may_hold_renames());
    }
}
