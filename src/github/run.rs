//! One run of the action, from the runner's environment to the exit status.

use std::{
    fmt::Write,
    path::{Path, PathBuf},
};

use chrono::Utc;

use crate::{
    config::{Config, FailOn},
    filter::baseline::{Baseline, Outcome},
    finding::Finding,
    scan::{ScanReport, Scanner},
};

use super::{
    annotations,
    api::{Api, Backoff},
    changes::{ChangeSource, Changes},
    deliver::deliver,
    diff,
    env::Env,
    event::{Event, PullRequest},
    filter,
    inputs::{FilterMode, Inputs, Scope},
    outputs, reporting,
    summary::{self, SummaryContext},
    upload::UploadRequest,
};

/// Exit statuses, as for `hassec scan`.
const FINDINGS: u8 = 1;
const FAILURE: u8 = 2;

/// Runs the action in the current directory (the workspace). Returns the exit
/// status; `Err` is a problem with the setup (inputs, payload, configuration),
/// said so that the user knows what to change.
pub async fn run(env: &Env, backoff: Backoff) -> Result<u8, String> {
    let started = Utc::now();
    let inputs = Inputs::from_env(env)?;
    let event_name = env.get("GITHUB_EVENT_NAME").ok_or(
        "GITHUB_EVENT_NAME is not set: `hassec action` runs as a GitHub Action step; elsewhere use `hassec scan`",
    )?;
    let event = Event::load(event_name, env.path("GITHUB_EVENT_PATH").as_deref())?;
    let sha = env
        .get("GITHUB_SHA")
        .ok_or("GITHUB_SHA is not set")?
        .to_string();
    let workspace =
        std::env::current_dir().map_err(|e| format!("cannot read the working directory: {e}"))?;

    let api = match (&inputs.token, env.get("GITHUB_REPOSITORY")) {
        (Some(token), Some(repo)) => {
            let api_url = env
                .get("GITHUB_API_URL")
                .unwrap_or("https://api.github.com");
            Some(Api::new(api_url, token, repo, backoff)?)
        }
        _ => None,
    };

    let config = load_config(&inputs, &workspace)?;
    let packs = pack_dirs(&config, &workspace);
    let scanner = Scanner::new(&config)?;
    scanner.prepare();

    let changes = find_changes(&inputs, &event, &sha, api.as_ref()).await?;
    let scan_changed = match inputs.scope {
        Scope::All => false,
        Scope::Auto => event.pull_request().is_some(),
        Scope::Changed => true,
    };
    let changed_files = match (&changes, scan_changed) {
        (Some(changes), true) => Some(changed_files_in(changes, &inputs.paths, &workspace)),
        (None, true) => {
            println!(
                "{}",
                reporting::message(
                    "warning",
                    "hassec: scanning everything",
                    "`scope: changed` needs a pull request, or a push whose previous tip is in the checkout (`fetch-depth: 2` for a one-commit push, `0` for any); scanning all of `paths`"
                )
            );
            None
        }
        (_, false) => None,
    };
    // A baseline applies to full scans: a pull request's are narrowed to its changes.
    let baseline = match (
        &changed_files,
        inputs.baseline.as_ref().or(config.baseline.as_ref()),
    ) {
        (None, Some(file)) => Some(Baseline::read(file).map_err(|e| e.to_string())?),
        _ => None,
    };
    let mut report = match &changed_files {
        Some(files) => scanner.scan_paths(files, true),
        None => scanner.scan_paths(&inputs.paths, false),
    };
    if let Some(baseline) = &baseline {
        baseline.apply(&mut report, scanner.rules());
    }
    log_problems(&report);
    if let Some(warning) = config_warning(changes.as_ref(), &packs) {
        println!("hassec:{}", warning.replace("**", ""));
    }

    let (shown, outside) = filter::split(inputs.filter_mode, changes.as_ref(), &report.findings);
    let filtered = match changes {
        Some(_) => format!(
            "{} pass `filter-mode: {}`",
            shown.len(),
            inputs.filter_mode.as_str()
        ),
        None => "no diff to filter by".to_string(),
    };
    println!(
        "hassec: {} files scanned, {} findings, {filtered}",
        report.files_scanned,
        report.findings.len()
    );
    print_annotations(&shown);

    let sarif = reporting::sarif(
        &report,
        scanner.rules(),
        &inputs.category,
        started,
        Utc::now(),
    );
    write_sarif(&inputs.sarif_file, &sarif)?;

    let pull_request = event.pull_request();
    let checkout_uri = format!("file://{}", workspace.display());
    let started_at = started.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let request = env.get("GITHUB_REF").map(|git_ref| UploadRequest {
        commit_sha: &sha,
        git_ref,
        sarif: &sarif,
        checkout_uri: &checkout_uri,
        started_at: &started_at,
        tool_name: "hassec",
    });
    let from_fork = pull_request.is_some_and(|pr| pr.from_fork);
    let uploaded = deliver(inputs.upload, api.as_ref(), request.as_ref(), from_fork).await;

    let head_sha = pull_request.map_or(sha.as_str(), |pr| pr.head_sha.as_str());
    let blob_base = format!(
        "{}/{}/blob/{head_sha}",
        env.get("GITHUB_SERVER_URL").unwrap_or("https://github.com"),
        env.get("GITHUB_REPOSITORY").unwrap_or("")
    );
    let summary_text = summary::render(&SummaryContext {
        blob_base,
        scope: describe_scope(
            &inputs,
            &packs,
            pull_request,
            changes.as_ref(),
            changed_files.as_deref(),
            &report,
            &outside,
        ),
        upload: uploaded.sentence.clone(),
        findings: &shown,
        outside: &outside,
    });
    write_step_files(
        env,
        &summary_text,
        &[
            (
                "sarif-file",
                inputs.sarif_file.to_string_lossy().into_owned(),
            ),
            ("findings", shown.len().to_string()),
            ("total-findings", report.findings.len().to_string()),
            ("upload-id", uploaded.id.clone().unwrap_or_default()),
            ("upload-status", uploaded.status.to_string()),
        ],
    )?;

    if uploaded.fatal {
        return Ok(FAILURE);
    }
    let fails = shown.iter().any(|f| inputs.fail_on.fails(f.level()));
    Ok(if fails { FINDINGS } else { 0 })
}

/// The job summary and the step outputs, where the runner asks for them.
fn write_step_files(env: &Env, summary: &str, values: &[(&str, String)]) -> Result<(), String> {
    if let Some(path) = env.path("GITHUB_STEP_SUMMARY") {
        outputs::append(&path, summary)
            .map_err(|e| format!("cannot write the job summary {}: {e}", path.display()))?;
    }
    if let Some(path) = env.path("GITHUB_OUTPUT") {
        outputs::append(&path, &outputs::format(values))
            .map_err(|e| format!("cannot write the step outputs {}: {e}", path.display()))?;
    }
    Ok(())
}

fn load_config(inputs: &Inputs, workspace: &Path) -> Result<Config, String> {
    let config = match &inputs.config {
        Some(path) => Config::from_file(path)
            .map_err(|e| e.to_string())?
            .ok_or_else(|| format!("{}: has no [tool.hassec] table", path.display()))?,
        None => Config::discover(workspace)
            .map_err(|e| e.to_string())?
            .map(|(_, config)| config)
            .unwrap_or_default(),
    };
    // Rule packs come from the checkout, and must stay inside it.
    let loaded = config
        .load_rule_packs(crate::rules::pack::Confine::Inside(workspace))
        .map_err(|errors| {
            let listed: Vec<String> = errors.iter().map(ToString::to_string).collect();
            format!("invalid rule pack:\n{}", listed.join("\n"))
        })?;
    if !loaded.is_empty() {
        let ids: Vec<&str> = loaded.iter().map(|rule| rule.id.as_str()).collect();
        println!(
            "hassec: {} from rule packs: {}",
            crate::report::text::plural(loaded.len(), "rule"),
            ids.join(", ")
        );
    }
    config.validate()?;
    Ok(config)
}

/// The configuration's rule-pack directories, `/`-separated and relative to
/// the workspace, as the changes name files.
fn pack_dirs(config: &Config, workspace: &Path) -> Vec<String> {
    let workspace = workspace
        .canonicalize()
        .unwrap_or_else(|_| workspace.to_path_buf());
    config
        .extend_rules
        .iter()
        .filter_map(|dir| {
            let real = workspace.join(dir).canonicalize().ok()?;
            let relative = real.strip_prefix(&workspace).ok()?;
            let parts: Vec<String> = relative
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect();
            Some(parts.join("/"))
        })
        .collect()
}

/// What changed, when the run needs to know: a pull request unless it scans and
/// reports everything, or a push scanned with `scope: changed`.
async fn find_changes(
    inputs: &Inputs,
    event: &Event,
    sha: &str,
    api: Option<&Api>,
) -> Result<Option<Changes>, String> {
    match event {
        Event::PullRequest(pr) => {
            if inputs.scope == Scope::All && inputs.filter_mode == FilterMode::NoFilter {
                return Ok(None);
            }
            pull_request_changes(pr, sha, api).await.map(Some)
        }
        Event::Push {
            before: Some(before),
        } if inputs.scope == Scope::Changed => {
            let local = diff::open(Path::new("."))
                .map_err(diff::DiffError::Git)
                .and_then(|repo| {
                    let oid = |s: &str| git2::Oid::from_str(s).map_err(diff::DiffError::Git);
                    diff::between(&repo, oid(before)?, oid(sha)?)
                });
            match local {
                Ok(changes) => Ok(Some(changes)),
                Err(e) => {
                    println!("hassec: cannot diff the push locally: {e}");
                    Ok(None)
                }
            }
        }
        _ => Ok(None),
    }
}

async fn pull_request_changes(
    pr: &PullRequest,
    sha: &str,
    api: Option<&Api>,
) -> Result<Changes, String> {
    let local = diff::open(Path::new("."))
        .map_err(diff::DiffError::Git)
        .and_then(|repo| diff::pull_request(&repo, sha));
    let reason = match local {
        Ok(changes) => {
            println!(
                "hassec: pull request #{}: {} files changed (git diff of the merge commit)",
                pr.number,
                changes.files.len()
            );
            return Ok(changes);
        }
        Err(e) => e.to_string(),
    };
    println!(
        "hassec: no local diff ({reason}); asking the GitHub API for the pull request's files"
    );
    let Some(api) = api else {
        return Err(format!(
            "cannot find the pull request's changes: {reason}, and there is no token to ask the API; check out with `fetch-depth: 2` or pass `token`"
        ));
    };
    let changes = api.pull_request_files(pr.number).await.map_err(|e| {
        format!("cannot list the files of pull request #{}: {e}; check out with `fetch-depth: 2` to diff locally", pr.number)
    })?;
    println!(
        "hassec: pull request #{}: {} files changed (GitHub API)",
        pr.number,
        changes.files.len()
    );
    Ok(changes)
}

/// Changed files the scanner reads that lie under one of `paths` and are in the
/// checkout at `workspace` (a file of the API's list may be missing from it), as
/// paths relative to the workspace.
fn changed_files_in(changes: &Changes, roots: &[PathBuf], workspace: &Path) -> Vec<PathBuf> {
    let roots: Vec<PathBuf> = roots
        .iter()
        .map(|root| normalize(root.strip_prefix(workspace).unwrap_or(root)))
        .collect();
    changes
        .scannable()
        .map(PathBuf::from)
        .filter(|path| {
            roots
                .iter()
                .any(|root| root.as_os_str().is_empty() || path.starts_with(root))
        })
        .filter(|path| workspace.join(path).is_file())
        .collect()
}

/// `./a/b/` as `a/b`; `.` as the empty path (everything).
fn normalize(path: &Path) -> PathBuf {
    path.components()
        .filter(|c| !matches!(c, std::path::Component::CurDir))
        .collect()
}

fn log_problems(report: &ScanReport) {
    if let Some(baseline) = &report.baseline {
        println!("hassec: {}", baseline_sentence(baseline));
    }
    for error in &report.errors {
        println!("hassec: {}: {}", error.path, error.message);
    }
    for skipped in &report.skipped {
        println!("::debug::skipped {}: {}", skipped.path, skipped.reason);
    }
}

fn print_annotations(shown: &[&Finding]) {
    let selection = annotations::select(shown);
    for finding in &selection.annotated {
        println!("{}", reporting::command(finding));
    }
    if let Some(notice) = annotations::left_out_notice(selection.left_out) {
        print!("{notice}");
    }
}

fn write_sarif(path: &Path, sarif: &str) -> Result<(), String> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)
            .map_err(|e| format!("cannot create {}: {e}", parent.display()))?;
    }
    std::fs::write(path, sarif).map_err(|e| format!("cannot write {}: {e}", path.display()))
}

fn describe_scope(
    inputs: &Inputs,
    packs: &[String],
    pull_request: Option<&PullRequest>,
    changes: Option<&Changes>,
    changed_files: Option<&[PathBuf]>,
    report: &ScanReport,
    outside: &[&Finding],
) -> String {
    let files = |n: usize| format!("{n} file{}", if n == 1 { "" } else { "s" });
    let scanned = match (changed_files, changes) {
        (Some(_), Some(changes)) => format!(
            "Scanned {} changed in {} ({}).",
            files(report.files_scanned),
            pull_request.map_or("this push".to_string(), |pr| format!(
                "pull request #{}",
                pr.number
            )),
            match changes.source {
                ChangeSource::Git => "git diff of the merge commit",
                ChangeSource::Api => "files listed by the GitHub API",
            }
        ),
        _ => {
            let roots: Vec<String> = inputs
                .paths
                .iter()
                .map(|p| format!("`{}`", p.display()))
                .collect();
            format!(
                "Scanned {} under {}.",
                files(report.files_scanned),
                roots.join(", ")
            )
        }
    };
    let filtered = match changes {
        Some(_) if inputs.filter_mode != FilterMode::NoFilter => format!(
            " Findings filtered with `filter-mode: {}`; {} of the scanned files' findings lie outside it. Fail level: `{}`.",
            inputs.filter_mode.as_str(),
            outside.len(),
            fail_level(inputs)
        ),
        _ => format!(" Fail level: `{}`.", fail_level(inputs)),
    };
    let problems = if report.errors.is_empty() {
        String::new()
    } else {
        format!(
            " {} could not be scanned (see the log).",
            files(report.errors.len())
        )
    };
    let baseline = report
        .baseline
        .as_ref()
        .map(|baseline| format!(" {}.", baseline_sentence(baseline)))
        .unwrap_or_default();
    format!(
        "{scanned}{filtered}{baseline}{problems}{}",
        config_warning(changes, packs).unwrap_or_default()
    )
}

/// What the baseline left out, in a sentence (without the full stop).
fn baseline_sentence(baseline: &Outcome) -> String {
    let mut sentence = format!(
        "{} recorded in the baseline `{}` left out",
        crate::report::text::plural(baseline.matched, "finding"),
        baseline.file
    );
    if baseline.stale > 0 {
        let verb = if baseline.stale == 1 {
            "occurs"
        } else {
            "occur"
        };
        let _ = write!(
            sentence,
            "; {} of its entries no longer {verb}",
            baseline.stale
        );
    }
    sentence
}

/// A pull request can change the configuration it is checked with, and the
/// rules of its rule packs: say so, so that reviewers look at them.
fn config_warning(changes: Option<&Changes>, packs: &[String]) -> Option<String> {
    let files = &changes?.files;
    let changed: Vec<String> = files
        .keys()
        .filter(|path| {
            let name = path.rsplit('/').next().unwrap_or(path);
            name == ".hassec.toml" || name == "pyproject.toml"
        })
        .map(|path| format!("`{path}`"))
        .collect();
    let in_packs: Vec<String> = files
        .keys()
        .filter(|path| {
            packs.iter().any(|pack| {
                pack.is_empty()
                    || path
                        .strip_prefix(pack.as_str())
                        .is_some_and(|rest| rest.starts_with('/'))
            })
        })
        .map(|path| format!("`{path}`"))
        .collect();
    let mut warning = String::new();
    if !changed.is_empty() {
        warning.push_str(&format!(
            " **The changes touch {}, which can configure hassec (rules, excludes): review them.**",
            changed.join(", ")
        ));
    }
    if !in_packs.is_empty() {
        warning.push_str(&format!(
            " **The changes touch the rule pack{} {}: its rules decide what this run reports; review them.**",
            if in_packs.len() == 1 { " file" } else { "s' files" },
            in_packs.join(", ")
        ));
    }
    (!warning.is_empty()).then_some(warning)
}

fn fail_level(inputs: &Inputs) -> &'static str {
    match inputs.fail_on {
        FailOn::Error => "error",
        FailOn::Warning => "warning",
        FailOn::Note => "note",
        FailOn::Never => "never",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::github::changes::ChangedFile;

    #[test]
    fn changes_to_the_configuration_are_pointed_out() {
        let mut changes = Changes::new(ChangeSource::Git);
        changes
            .files
            .insert("custom_components/x/a.py".into(), ChangedFile::default());
        assert_eq!(config_warning(Some(&changes), &[]), None);
        changes
            .files
            .insert(".hassec.toml".into(), ChangedFile::default());
        changes
            .files
            .insert("sub/pyproject.toml".into(), ChangedFile::default());
        let warning = config_warning(Some(&changes), &[]).unwrap();
        assert!(
            warning.contains("`.hassec.toml`, `sub/pyproject.toml`"),
            "{warning}"
        );
        assert_eq!(config_warning(None, &[]), None);
    }

    #[test]
    fn changes_to_a_rule_pack_are_pointed_out() {
        let mut changes = Changes::new(ChangeSource::Git);
        for file in [
            "custom_components/x/a.py",
            "hassec-rules/ACME001.toml",
            "hassec-rules-old/ACME002.toml",
        ] {
            changes.files.insert(file.into(), ChangedFile::default());
        }
        let packs = ["hassec-rules".to_string()];
        let warning = config_warning(Some(&changes), &packs).unwrap();
        assert!(
            warning.contains("rule pack file `hassec-rules/ACME001.toml`"),
            "{warning}"
        );
        assert!(!warning.contains("ACME002"), "{warning}");
        assert!(!warning.contains("configure hassec"), "{warning}");
    }

    #[test]
    fn rule_packs_must_stay_inside_the_workspace() {
        let outside = tempfile::tempdir().unwrap();
        std::fs::write(outside.path().join("ACME001-x.toml"), "id = 'ACME001'\n").unwrap();
        let workspace = tempfile::tempdir().unwrap();
        let escape = |dir: PathBuf| Config {
            extend_rules: vec![dir],
            ..Config::default()
        };
        let relative = pathdiff(outside.path(), workspace.path());
        for config in [
            escape(workspace.path().join(relative)),
            escape(outside.path().into()),
        ] {
            let errors = config
                .load_rule_packs(crate::rules::pack::Confine::Inside(workspace.path()))
                .unwrap_err();
            assert!(
                errors[0].message.contains("inside the repository"),
                "{errors:?}"
            );
        }
        #[cfg(unix)]
        {
            std::os::unix::fs::symlink(outside.path(), workspace.path().join("linked")).unwrap();
            let errors = escape(workspace.path().join("linked"))
                .load_rule_packs(crate::rules::pack::Confine::Inside(workspace.path()))
                .unwrap_err();
            assert!(
                errors[0].message.contains("inside the repository"),
                "{errors:?}"
            );
        }
    }

    /// `../../x` from `base` to `path` (both absolute).
    fn pathdiff(path: &Path, base: &Path) -> PathBuf {
        let ups = base.components().count() - 1;
        let mut out = PathBuf::new();
        for _ in 0..ups {
            out.push("..");
        }
        out.join(path.strip_prefix("/").unwrap())
    }

    #[test]
    fn changed_files_under_the_paths() {
        let dir = tempfile::tempdir().unwrap();
        let mut changes = Changes::new(ChangeSource::Git);
        for file in ["a/x.py", "b/y.py", "a/README.md"] {
            changes.files.insert(file.into(), ChangedFile::default());
            let path = dir.path().join(file);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, "").unwrap();
        }
        changes
            .files
            .insert("a/deleted_meanwhile.py".into(), ChangedFile::default());
        let rel = |p: &str| dir.path().join(p);
        let roots = [rel("a")];
        let picked = changed_files_in(&changes, &roots, dir.path());
        assert_eq!(picked, [PathBuf::from("a/x.py")]);
        let everything = changed_files_in(&changes, &[PathBuf::from(".")], dir.path());
        assert_eq!(
            everything,
            [PathBuf::from("a/x.py"), PathBuf::from("b/y.py")]
        );
    }
}
