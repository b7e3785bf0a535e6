//! A pull request's changes from the local checkout: actions/checkout leaves the
//! merge commit `refs/pull/N/merge` checked out, and with `fetch-depth: 2` its
//! first parent (the base branch) is there too.

use std::path::Path;

use git2::{Delta, DiffFindOptions, DiffOptions, Oid, Repository};

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
pub fn open(workspace: &Path) -> Result<Repository, git2::Error> {
    // SAFETY: libgit2 options are global; this is called before the action opens any
    // repository, and no other thread uses libgit2 at that time.
    unsafe { git2::opts::set_verify_owner_validation(false)? };
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
    let mut options = DiffOptions::new();
    options.context_lines(3).ignore_submodules(true);
    let mut diff = repo.diff_tree_to_tree(Some(&old), Some(&new), Some(&mut options))?;
    // A renamed file is a change of its edited lines, not a whole new file.
    diff.find_similar(Some(DiffFindOptions::new().renames(true)))?;

    let mut changes = Changes::new(ChangeSource::Git);
    for index in 0..diff.deltas().len() {
        let delta = diff.get_delta(index).expect("index within deltas");
        if matches!(delta.status(), Delta::Deleted | Delta::Unmodified) {
            continue;
        }
        let Some(path) = delta.new_file().path() else {
            continue;
        };
        let path = path.to_string_lossy().replace('\\', "/");
        // Binary files have no patch and nothing to scan.
        let Some(patch) = git2::Patch::from_diff(&diff, index)? else {
            continue;
        };
        if delta.flags().is_binary() {
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
