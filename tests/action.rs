//! End-to-end tests of `hassec action`: the binary runs as the Actions runner
//! starts it (environment, event payload, a workspace checked out the way
//! actions/checkout leaves it) against a local fake GitHub that checks the
//! upload as GitHub would.

use std::{
    collections::{BTreeMap, HashMap},
    io::Read,
    path::{Path, PathBuf},
    process::Command,
    sync::{Arc, Mutex},
};

use base64::Engine;
use git2::{Oid, Repository, Signature, build::CheckoutBuilder};
use serde_json::{Value, json};
use tempfile::TempDir;
use wiremock::{
    Mock, MockServer, Request, Respond, ResponseTemplate,
    matchers::{method, path, query_param},
};

const TOKEN: &str = "ghs_FAKE0token0for0tests0only";
const REPO: &str = "octo/demo";
const PR: u64 = 7;

const API_BASE: &str = r#""""Demo API client."""
import pickle

import json


def load_far(payload):
    return pickle.loads(payload)







def load_near(payload):
    return pickle.loads(payload)
"#;

const API_HEAD: &str = r#""""Demo API client."""
import pickle

import requests


def load_far(payload):
    return pickle.loads(payload)







def load_near(payload):
    return pickle.loads(payload)


DEFAULT_VERIFY_SSL = False


def fetch(url):
    return requests.get(url, verify=False, timeout=10)
"#;

const BIG: &str = "import pickle\n\n\ndef restore(blob):\n    return pickle.loads(blob)\n";
const CONST: &str = "import pickle\n\n\ndef cached(blob):\n    return pickle.loads(blob)\n";
const MANIFEST: &str = r#"{"domain": "demo", "name": "Demo", "version": "1.0.0"}"#;

/// Findings of the scanned files of the pull request (api.py and big.py), as `path:line`.
const FAR: &str = "custom_components/demo/api.py:8";
const NEAR: &str = "custom_components/demo/api.py:17";
const ADDED_WARNING: &str = "custom_components/demo/api.py:20";
const ADDED_ERROR: &str = "custom_components/demo/api.py:24";
const NEW_FILE: &str = "custom_components/demo/big.py:5";
const UNCHANGED: &str = "custom_components/demo/const.py:5";

// ---------------------------------------------------------------------------
// Repositories shaped like actions/checkout leaves them.

fn tree(repo: &Repository, files: &BTreeMap<&str, &str>) -> Oid {
    let mut here = repo.treebuilder(None).unwrap();
    let mut dirs: BTreeMap<&str, BTreeMap<&str, &str>> = BTreeMap::new();
    for (path, text) in files {
        match path.split_once('/') {
            Some((dir, rest)) => {
                dirs.entry(dir).or_default().insert(rest, text);
            }
            None => {
                let blob = repo.blob(text.as_bytes()).unwrap();
                here.insert(path, blob, 0o100644).unwrap();
            }
        }
    }
    for (dir, files) in dirs {
        here.insert(dir, tree(repo, &files), 0o040000).unwrap();
    }
    here.write().unwrap()
}

fn commit(repo: &Repository, files: &BTreeMap<&str, &str>, parents: &[Oid], message: &str) -> Oid {
    let signature =
        Signature::new("Dev", "dev@example.com", &git2::Time::new(1_700_000_000, 0)).unwrap();
    let tree = repo.find_tree(tree(repo, files)).unwrap();
    let parents: Vec<_> = parents
        .iter()
        .map(|p| repo.find_commit(*p).unwrap())
        .collect();
    let parents: Vec<_> = parents.iter().collect();
    repo.commit(None, &signature, &signature, message, &tree, &parents)
        .unwrap()
}

fn check_out(repo: &Repository, oid: Oid) {
    repo.set_head_detached(oid).unwrap();
    repo.checkout_head(Some(CheckoutBuilder::new().force()))
        .unwrap();
}

struct Checkout {
    dir: TempDir,
    merge: Oid,
    head: Oid,
    /// For a push: the previous tip of the branch.
    before: Option<String>,
}

impl Checkout {
    fn path(&self) -> &Path {
        self.dir.path()
    }
}

fn base_files() -> BTreeMap<&'static str, &'static str> {
    BTreeMap::from([
        ("README.md", "# demo\n"),
        ("custom_components/demo/api.py", API_BASE),
        ("custom_components/demo/manifest.json", MANIFEST),
    ])
}

fn head_files(api: &'static str) -> BTreeMap<&'static str, &'static str> {
    let mut files = base_files();
    files.insert("custom_components/demo/api.py", api);
    if api == API_HEAD {
        files.insert("custom_components/demo/big.py", BIG);
    }
    files.insert(
        "custom_components/demo/manifest.json",
        r#"{"domain": "demo", "name": "Demo", "version": "1.1.0"}"#,
    );
    // A test file: excluded by default even when changed.
    files.insert("custom_components/demo/tests/test_api.py", CONST);
    files
}

/// The pull request's merge commit checked out with `fetch-depth: 2`: its first
/// parent is the base branch, which moved on (const.py) after the head branched off.
fn pull_request_checkout(api: &'static str) -> Checkout {
    let dir = tempfile::tempdir().unwrap();
    let repo = Repository::init(dir.path()).unwrap();
    let fork_point = commit(&repo, &base_files(), &[], "base");
    let mut moved = base_files();
    moved.insert("custom_components/demo/const.py", CONST);
    let base = commit(&repo, &moved, &[fork_point], "base moves on");
    let head = commit(&repo, &head_files(api), &[fork_point], "feature");
    let mut merged = head_files(api);
    merged.insert("custom_components/demo/const.py", CONST);
    let merge = commit(
        &repo,
        &merged,
        &[base, head],
        &format!("Merge {head} into {base}"),
    );
    check_out(&repo, merge);
    Checkout {
        dir,
        merge,
        head,
        before: None,
    }
}

/// The same merge commit in a depth-1 clone: only its own objects, its parents
/// missing, listed in `.git/shallow` as actions/checkout leaves it.
fn shallow_copy(full: &Checkout) -> Checkout {
    let source = Repository::open(full.path()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let repo = Repository::init(dir.path()).unwrap();
    let (from, to) = (source.odb().unwrap(), repo.odb().unwrap());
    let copy = |oid: Oid| {
        let object = from.read(oid).unwrap();
        to.write(object.kind(), object.data()).unwrap();
    };
    copy(full.merge);
    let tree = source.find_commit(full.merge).unwrap().tree().unwrap();
    copy(tree.id());
    tree.walk(git2::TreeWalkMode::PreOrder, |_, entry| {
        copy(entry.id());
        git2::TreeWalkResult::Ok
    })
    .unwrap();
    std::fs::write(dir.path().join(".git/shallow"), format!("{}\n", full.merge)).unwrap();
    check_out(&repo, full.merge);
    Checkout {
        dir,
        merge: full.merge,
        head: full.head,
        before: None,
    }
}

/// A branch checkout for push and scheduled runs.
fn branch_checkout() -> Checkout {
    let dir = tempfile::tempdir().unwrap();
    let repo = Repository::init(dir.path()).unwrap();
    let first = commit(&repo, &base_files(), &[], "first");
    let mut files = head_files(API_HEAD);
    files.insert("custom_components/demo/const.py", CONST);
    let tip = commit(&repo, &files, &[first], "second");
    check_out(&repo, tip);
    Checkout {
        dir,
        merge: tip,
        head: tip,
        before: Some(first.to_string()),
    }
}

/// The API's `patch` of a file: the git diff's hunks without the file header.
fn api_patch(full: &Checkout, file: &str) -> String {
    let repo = Repository::open(full.path()).unwrap();
    let merge = repo.find_commit(full.merge).unwrap();
    let base = merge.parent(0).unwrap();
    let mut options = git2::DiffOptions::new();
    options.pathspec(file);
    let diff = repo
        .diff_tree_to_tree(
            Some(&base.tree().unwrap()),
            Some(&merge.tree().unwrap()),
            Some(&mut options),
        )
        .unwrap();
    let mut patch = git2::Patch::from_diff(&diff, 0).unwrap().unwrap();
    let text = patch.to_buf().unwrap().as_str().unwrap().to_string();
    text[text.find("@@").unwrap()..].trim_end().to_string()
}

// ---------------------------------------------------------------------------
// A fake GitHub.

/// Checks an upload the way code scanning does, and keeps the decoded SARIF.
#[derive(Clone)]
struct SarifEndpoint {
    sha: String,
    git_ref: String,
    received: Arc<Mutex<Vec<Value>>>,
}

impl Respond for SarifEndpoint {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let mut problems = Vec::new();
        let auth = request
            .headers
            .get("authorization")
            .and_then(|v| v.to_str().ok());
        if auth != Some(&format!("Bearer {TOKEN}")) {
            return ResponseTemplate::new(401).set_body_json(json!({"message": "Bad credentials"}));
        }
        let Ok(body) = serde_json::from_slice::<Value>(&request.body) else {
            return ResponseTemplate::new(400).set_body_string("not JSON");
        };
        let field = |name: &str| {
            body.get(name)
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string()
        };
        if field("commit_sha") != self.sha {
            problems.push(format!(
                "commit_sha {} is not {}",
                field("commit_sha"),
                self.sha
            ));
        }
        if field("ref") != self.git_ref {
            problems.push(format!("ref {} is not {}", field("ref"), self.git_ref));
        }
        if field("tool_name") != "hassec" {
            problems.push("tool_name".to_string());
        }
        if !field("checkout_uri").starts_with("file:///") {
            problems.push(format!("checkout_uri {}", field("checkout_uri")));
        }
        if chrono::DateTime::parse_from_rfc3339(&field("started_at")).is_err() {
            problems.push(format!("started_at {}", field("started_at")));
        }
        let sarif = base64::engine::general_purpose::STANDARD
            .decode(field("sarif"))
            .ok()
            .and_then(|gz| {
                let mut text = String::new();
                flate2::read::GzDecoder::new(&gz[..])
                    .read_to_string(&mut text)
                    .ok()?;
                serde_json::from_str::<Value>(&text).ok()
            });
        match &sarif {
            Some(log)
                if log["version"] == "2.1.0"
                    && log["runs"][0]["tool"]["driver"]["name"] == "hassec" => {}
            _ => {
                problems.push("sarif is not gzipped, base64-encoded SARIF 2.1.0 from hassec".into())
            }
        }
        if !problems.is_empty() {
            return ResponseTemplate::new(422)
                .set_body_json(json!({"message": problems.join("; ")}));
        }
        self.received.lock().unwrap().push(sarif.unwrap());
        ResponseTemplate::new(202)
            .set_body_json(json!({"id": "upload-1", "url": "http://localhost/sarifs/upload-1"}))
    }
}

struct FakeGitHub {
    server: MockServer,
    uploads: Arc<Mutex<Vec<Value>>>,
}

impl FakeGitHub {
    /// Accepts uploads for `sha`/`git_ref`, and processes them.
    async fn start(sha: &str, git_ref: &str) -> Self {
        let github = Self::bare().await;
        github.accept_uploads(sha, git_ref).await;
        github
            .processing(json!({"processing_status": "complete"}))
            .await;
        github
    }

    async fn bare() -> Self {
        Self {
            server: MockServer::start().await,
            uploads: Arc::default(),
        }
    }

    async fn accept_uploads(&self, sha: &str, git_ref: &str) {
        Mock::given(method("POST"))
            .and(path(format!("/repos/{REPO}/code-scanning/sarifs")))
            .respond_with(SarifEndpoint {
                sha: sha.into(),
                git_ref: git_ref.into(),
                received: self.uploads.clone(),
            })
            .mount(&self.server)
            .await;
    }

    async fn processing(&self, status: Value) {
        Mock::given(method("GET"))
            .and(path(format!("/repos/{REPO}/code-scanning/sarifs/upload-1")))
            .respond_with(ResponseTemplate::new(200).set_body_json(status))
            .mount(&self.server)
            .await;
    }

    async fn requests_to(&self, route: &str) -> usize {
        self.server
            .received_requests()
            .await
            .unwrap()
            .iter()
            .filter(|r| r.url.path() == route)
            .count()
    }

    /// `path:line` of every result of every upload.
    fn uploaded_results(&self) -> Vec<Vec<String>> {
        self.uploads
            .lock()
            .unwrap()
            .iter()
            .map(|log| {
                let mut results: Vec<String> = log["runs"][0]["results"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|r| {
                        let location = &r["locations"][0]["physicalLocation"];
                        format!(
                            "{}:{}",
                            location["artifactLocation"]["uri"].as_str().unwrap(),
                            location["region"]["startLine"]
                        )
                    })
                    .collect();
                results.sort();
                results
            })
            .collect()
    }
}

// ---------------------------------------------------------------------------
// Running the action.

struct Run {
    code: i32,
    stdout: String,
    outputs: HashMap<String, String>,
    summary: String,
    sarif: Value,
}

impl Run {
    /// `path:line` of the findings annotated, in order.
    fn annotated(&self) -> Vec<String> {
        self.stdout
            .lines()
            .filter(|l| {
                l.starts_with("::error file=")
                    || l.starts_with("::warning file=")
                    || l.starts_with("::notice file=")
            })
            .map(|l| {
                let field = |key: &str| {
                    l.split([' ', ','])
                        .find_map(|part| part.strip_prefix(key))
                        .unwrap()
                        .to_string()
                };
                format!("{}:{}", field("file="), field("line="))
            })
            .collect()
    }

    fn output(&self, name: &str) -> &str {
        self.outputs
            .get(name)
            .map(String::as_str)
            .unwrap_or_default()
    }
}

fn event_payload(dir: &Path, event: &str, before: Option<&str>) -> PathBuf {
    let payload = match event {
        "pull_request" => json!({
            "action": "synchronize",
            "number": PR,
            "pull_request": {
                "number": PR,
                "base": {"sha": "0000000000000000000000000000000000000001", "ref": "main", "repo": {"full_name": REPO}},
                "head": {"sha": "0000000000000000000000000000000000000002", "ref": "feature", "repo": {"full_name": REPO}}
            },
            "repository": {"full_name": REPO, "default_branch": "main"}
        }),
        "push" => {
            json!({"ref": "refs/heads/main", "before": before.unwrap_or("0000000000000000000000000000000000000003"), "after": "x"})
        }
        _ => json!({"schedule": "17 4 * * 1"}),
    };
    let path = dir.join("event.json");
    std::fs::write(&path, payload.to_string()).unwrap();
    path
}

fn run_action(
    checkout: &Checkout,
    event: &str,
    git_ref: &str,
    api_url: Option<&str>,
    inputs: &[(&str, &str)],
) -> Run {
    let runner = tempfile::tempdir().unwrap();
    let event_path = event_payload(runner.path(), event, checkout.before.as_deref());
    let summary = runner.path().join("summary.md");
    let outputs = runner.path().join("output");
    let mut command = Command::new(env!("CARGO_BIN_EXE_hassec"));
    command
        .arg("action")
        .env_clear()
        // The runner starts the container elsewhere than `/`; the workspace is named.
        .current_dir(runner.path())
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("GITHUB_ACTIONS", "true")
        .env("GITHUB_EVENT_NAME", event)
        .env("GITHUB_EVENT_PATH", &event_path)
        .env("GITHUB_SHA", checkout.merge.to_string())
        .env("GITHUB_REF", git_ref)
        .env("GITHUB_REPOSITORY", REPO)
        .env("GITHUB_WORKSPACE", checkout.path())
        .env("GITHUB_SERVER_URL", "https://github.com")
        .env("GITHUB_STEP_SUMMARY", &summary)
        .env("GITHUB_OUTPUT", &outputs)
        .env("HASSEC_BACKOFF_MS", "1")
        // As the runner sets them: upper case, hyphens kept.
        .env("INPUT_TOKEN", TOKEN)
        .env("INPUT_CATEGORY", "hassec")
        .env("INPUT_SARIF-FILE", "hassec.sarif");
    if let Some(url) = api_url {
        command.env("GITHUB_API_URL", url);
    }
    for (name, value) in inputs {
        command.env(format!("INPUT_{}", name.to_ascii_uppercase()), value);
    }
    let output = command.output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    let summary = std::fs::read_to_string(&summary).unwrap_or_default();
    let raw_outputs = std::fs::read_to_string(&outputs).unwrap_or_default();
    for text in [&stdout, &stderr, &summary, &raw_outputs] {
        assert!(!text.contains(TOKEN), "the token was printed:\n{text}");
    }
    let sarif = std::fs::read_to_string(checkout.path().join("hassec.sarif"))
        .map(|t| serde_json::from_str(&t).unwrap())
        .unwrap_or(Value::Null);
    let run = Run {
        code: output.status.code().unwrap(),
        stdout,
        outputs: raw_outputs
            .lines()
            .filter_map(|l| l.split_once('='))
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        summary,
        sarif,
    };
    eprintln!("exit {}\n{}\n{stderr}", run.code, run.stdout);
    run
}

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| s.to_string()).collect()
}

fn sorted(mut items: Vec<String>) -> Vec<String> {
    items.sort();
    items
}

// ---------------------------------------------------------------------------

#[tokio::test]
async fn pull_request_with_fetch_depth_2() {
    let checkout = pull_request_checkout(API_HEAD);
    // The runner's user owns the workspace; the container runs as root.
    let chowned = chown_recursively(checkout.path(), 4242);
    if chowned {
        assert!(
            Repository::open(checkout.path()).is_err(),
            "libgit2's ownership check should refuse this checkout"
        );
    }
    let git_ref = format!("refs/pull/{PR}/merge");
    let github = FakeGitHub::start(&checkout.merge.to_string(), &git_ref).await;
    let run = run_action(
        &checkout,
        "pull_request",
        &git_ref,
        Some(&github.server.uri()),
        &[],
    );

    assert_eq!(run.code, 1, "errors on added lines fail the check");
    // Most severe first; only findings on added lines.
    assert_eq!(
        run.annotated(),
        strings(&[ADDED_ERROR, NEW_FILE, ADDED_WARNING])
    );
    assert!(run.stdout.contains("git diff of the merge commit"));
    assert_eq!(
        github
            .requests_to(&format!("/repos/{REPO}/pulls/{PR}/files"))
            .await,
        0
    );
    // The upload carries every finding of the scanned files; not the unchanged
    // const.py, nor the changed but excluded test file.
    assert_eq!(
        github.uploaded_results(),
        [sorted(strings(&[
            FAR,
            NEAR,
            ADDED_WARNING,
            ADDED_ERROR,
            NEW_FILE
        ]))]
    );
    assert_eq!(run.sarif["runs"][0]["automationDetails"]["id"], "hassec/");
    assert_eq!(run.output("findings"), "3");
    assert_eq!(run.output("total-findings"), "5");
    assert_eq!(run.output("upload-id"), "upload-1");
    assert_eq!(run.output("upload-status"), "complete");
    assert_eq!(run.output("sarif-file"), "hassec.sarif");

    assert!(run.summary.contains("**3 findings**"), "{}", run.summary);
    assert!(run.summary.contains("pull request #7"));
    let link = format!(
        "https://github.com/{REPO}/blob/0000000000000000000000000000000000000002/custom_components/demo/api.py#L24"
    );
    assert!(
        run.summary.contains(&link),
        "links go to the head commit:\n{}",
        run.summary
    );
    let outside = run
        .summary
        .find("2 findings in the scanned files outside the diff")
        .unwrap();
    assert!(
        run.summary[outside..].contains("api.py#L8")
            && run.summary[outside..].contains("api.py#L17")
    );
}

#[cfg(unix)]
fn chown_recursively(root: &Path, uid: u32) -> bool {
    let mut ok = true;
    for entry in walk(root) {
        ok &= std::os::unix::fs::lchown(&entry, Some(uid), Some(uid)).is_ok();
    }
    ok
}

#[cfg(not(unix))]
fn chown_recursively(_: &Path, _: u32) -> bool {
    false
}

fn walk(root: &Path) -> Vec<PathBuf> {
    let mut all = vec![root.to_path_buf()];
    if root.is_dir() && !root.is_symlink() {
        for entry in std::fs::read_dir(root).unwrap() {
            all.extend(walk(&entry.unwrap().path()));
        }
    }
    all
}

#[tokio::test]
async fn pull_request_with_fetch_depth_1_asks_the_api() {
    let full = pull_request_checkout(API_HEAD);
    let checkout = shallow_copy(&full);
    let git_ref = format!("refs/pull/{PR}/merge");
    let github = FakeGitHub::start(&checkout.merge.to_string(), &git_ref).await;
    let files = format!("/repos/{REPO}/pulls/{PR}/files");
    // A first page that is full, so that the second is asked for.
    let mut page1: Vec<Value> = (0..99)
        .map(|i| json!({"filename": format!("docs/page{i}.md"), "status": "added", "patch": "@@ -0,0 +1 @@\n+x"}))
        .collect();
    page1.push(json!({
        "filename": "custom_components/demo/api.py", "status": "modified",
        "patch": api_patch(&full, "custom_components/demo/api.py")
    }));
    let page2 = json!([
        // No patch: a large diff; every line counts as changed.
        {"filename": "custom_components/demo/big.py", "status": "added"},
        {"filename": "custom_components/demo/gone.py", "status": "removed", "patch": "@@ -1 +0,0 @@\n-x"},
    ]);
    for (page, body) in [("1", Value::from(page1)), ("2", page2)] {
        Mock::given(method("GET"))
            .and(path(files.as_str()))
            .and(query_param("per_page", "100"))
            .and(query_param("page", page))
            .respond_with(ResponseTemplate::new(200).set_body_json(body))
            .expect(1)
            .mount(&github.server)
            .await;
    }
    let run = run_action(
        &checkout,
        "pull_request",
        &git_ref,
        Some(&github.server.uri()),
        &[],
    );
    assert_eq!(run.code, 1);
    assert!(
        run.stdout.contains("asking the GitHub API"),
        "{}",
        run.stdout
    );
    assert_eq!(
        run.annotated(),
        strings(&[ADDED_ERROR, NEW_FILE, ADDED_WARNING])
    );
    assert_eq!(run.output("upload-status"), "complete");
    assert_eq!(github.uploaded_results()[0].len(), 5);
    assert!(run.summary.contains("files listed by the GitHub API"));
}

#[tokio::test]
async fn push_schedule_and_dispatch_scan_everything() {
    for event in ["push", "schedule", "workflow_dispatch"] {
        let checkout = branch_checkout();
        let github = FakeGitHub::start(&checkout.merge.to_string(), "refs/heads/main").await;
        let run = run_action(
            &checkout,
            event,
            "refs/heads/main",
            Some(&github.server.uri()),
            &[],
        );
        assert_eq!(run.code, 1, "{event}");
        let everything = sorted(strings(&[
            FAR,
            NEAR,
            ADDED_WARNING,
            ADDED_ERROR,
            NEW_FILE,
            UNCHANGED,
        ]));
        assert_eq!(sorted(run.annotated()), everything, "{event}");
        // Same tool and category as pull requests: code scanning compares them.
        assert_eq!(
            github.uploaded_results(),
            std::slice::from_ref(&everything),
            "{event}"
        );
        assert_eq!(
            github.uploads.lock().unwrap()[0]["runs"][0]["automationDetails"]["id"],
            "hassec/"
        );
        assert_eq!(run.output("findings"), "6");
        assert!(run.summary.contains("under `.`"), "{}", run.summary);
        assert!(!run.summary.contains("outside the diff"));
    }
}

/// Records the findings of `files` in the checkout as its baseline, with `hassec scan`.
fn record_baseline(checkout: &Checkout, file: &str, files: &[&str]) {
    let status = Command::new(env!("CARGO_BIN_EXE_hassec"))
        .current_dir(checkout.path())
        .args(["scan", "--isolated", "--no-cache", "--format", "json"])
        .args(["--write-baseline", file])
        .args(files)
        .output()
        .unwrap()
        .status;
    assert!(status.success());
}

#[tokio::test]
async fn a_full_scan_leaves_out_the_baseline_and_a_pull_request_ignores_it() {
    let checkout = branch_checkout();
    record_baseline(
        &checkout,
        "hassec-baseline.json",
        &["custom_components/demo/api.py"],
    );
    let github = FakeGitHub::start(&checkout.merge.to_string(), "refs/heads/main").await;
    let run = run_action(
        &checkout,
        "schedule",
        "refs/heads/main",
        Some(&github.server.uri()),
        &[("baseline", "hassec-baseline.json")],
    );
    assert_eq!(run.code, 1);
    let new = sorted(strings(&[NEW_FILE, UNCHANGED]));
    assert_eq!(sorted(run.annotated()), new);
    assert_eq!(github.uploaded_results(), std::slice::from_ref(&new));
    assert_eq!(run.output("findings"), "2");
    assert!(
        run.summary
            .contains("4 findings recorded in the baseline `hassec-baseline.json` left out."),
        "{}",
        run.summary
    );

    // A bad baseline stops the run, naming the file.
    std::fs::write(checkout.path().join("broken.json"), "{").unwrap();
    let run = run_action(
        &checkout,
        "schedule",
        "refs/heads/main",
        Some(&github.server.uri()),
        &[("baseline", "broken.json")],
    );
    assert_eq!(run.code, 2);
    assert!(
        run.stdout.contains("broken.json: not a hassec baseline"),
        "{}",
        run.stdout
    );

    // A pull request is narrowed to its changes, not by the baseline.
    let checkout = pull_request_checkout(API_HEAD);
    record_baseline(
        &checkout,
        "hassec-baseline.json",
        &["custom_components/demo/api.py"],
    );
    let git_ref = format!("refs/pull/{PR}/merge");
    let github = FakeGitHub::start(&checkout.merge.to_string(), &git_ref).await;
    let run = run_action(
        &checkout,
        "pull_request",
        &git_ref,
        Some(&github.server.uri()),
        &[("baseline", "hassec-baseline.json")],
    );
    assert_eq!(
        run.annotated(),
        strings(&[ADDED_ERROR, NEW_FILE, ADDED_WARNING])
    );
    assert!(!run.summary.contains("baseline"), "{}", run.summary);
}

#[tokio::test]
async fn a_refused_upload_still_reports_through_annotations() {
    let checkout = pull_request_checkout(API_HEAD);
    let git_ref = format!("refs/pull/{PR}/merge");
    let github = FakeGitHub::bare().await;
    Mock::given(method("POST"))
        .and(path(format!("/repos/{REPO}/code-scanning/sarifs")))
        .respond_with(ResponseTemplate::new(403).set_body_json(json!({
            "message": "Advanced Security must be enabled for this repository to use code scanning.",
            "documentation_url": "https://docs.github.com/rest"
        })))
        .mount(&github.server)
        .await;
    let run = run_action(
        &checkout,
        "pull_request",
        &git_ref,
        Some(&github.server.uri()),
        &[],
    );
    assert_eq!(run.code, 1, "the findings still fail the check");
    assert_eq!(run.annotated().len(), 3);
    assert!(
        run.stdout
            .lines()
            .any(|l| l.starts_with("::warning title=hassec")
                && l.contains("GitHub Advanced Security")),
        "{}",
        run.stdout
    );
    assert_eq!(run.output("upload-status"), "unavailable");
    assert!(run.summary.contains("**not uploaded**"));

    // Required upload: the run fails whatever the findings.
    let run = run_action(
        &checkout,
        "pull_request",
        &git_ref,
        Some(&github.server.uri()),
        &[("upload", "always"), ("fail-on", "never")],
    );
    assert_eq!(run.code, 2);
    assert!(
        run.stdout
            .lines()
            .any(|l| l.starts_with("::error title=hassec")),
        "{}",
        run.stdout
    );
}

#[tokio::test]
async fn server_errors_are_retried() {
    let checkout = branch_checkout();
    let github = FakeGitHub::bare().await;
    let route = format!("/repos/{REPO}/code-scanning/sarifs");
    // Two failures, then the real endpoint.
    Mock::given(method("POST"))
        .and(path(route.as_str()))
        .respond_with(ResponseTemplate::new(502).set_body_string("<html>Bad gateway</html>"))
        .up_to_n_times(2)
        .with_priority(1)
        .mount(&github.server)
        .await;
    github
        .accept_uploads(&checkout.merge.to_string(), "refs/heads/main")
        .await;
    // Pending once, then complete.
    Mock::given(method("GET"))
        .and(path(format!("{route}/upload-1")))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"processing_status": "pending"})),
        )
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&github.server)
        .await;
    github
        .processing(json!({"processing_status": "complete"}))
        .await;

    let run = run_action(
        &checkout,
        "push",
        "refs/heads/main",
        Some(&github.server.uri()),
        &[("fail-on", "never")],
    );
    assert_eq!(run.code, 0);
    assert_eq!(run.output("upload-status"), "complete");
    assert_eq!(github.requests_to(&route).await, 3);
    assert_eq!(github.requests_to(&format!("{route}/upload-1")).await, 2);
    assert!(run.stdout.contains("HTTP 502; retrying"), "{}", run.stdout);

    // Errors that do not go away: bounded retries, then a warning.
    let github = FakeGitHub::bare().await;
    Mock::given(method("POST"))
        .and(path(route.as_str()))
        .respond_with(ResponseTemplate::new(503).set_body_string("unavailable"))
        .mount(&github.server)
        .await;
    let run = run_action(
        &checkout,
        "push",
        "refs/heads/main",
        Some(&github.server.uri()),
        &[("fail-on", "never")],
    );
    assert_eq!(run.code, 0);
    assert_eq!(run.output("upload-status"), "error");
    assert_eq!(
        github.requests_to(&route).await,
        5,
        "one attempt and four retries"
    );
}

#[tokio::test]
async fn failed_processing_is_reported() {
    let checkout = branch_checkout();
    let github = FakeGitHub::bare().await;
    github
        .accept_uploads(&checkout.merge.to_string(), "refs/heads/main")
        .await;
    github
        .processing(json!({"processing_status": "failed", "errors": ["locationFromSarifResult: expected artifact location"]}))
        .await;
    let run = run_action(
        &checkout,
        "schedule",
        "refs/heads/main",
        Some(&github.server.uri()),
        &[],
    );
    assert_eq!(
        run.code, 1,
        "still fails on the findings, not on the upload"
    );
    assert_eq!(run.output("upload-status"), "failed");
    assert_eq!(run.output("upload-id"), "upload-1");
    assert!(
        run.stdout
            .contains("processing error: locationFromSarifResult"),
        "{}",
        run.stdout
    );

    let run = run_action(
        &checkout,
        "schedule",
        "refs/heads/main",
        Some(&github.server.uri()),
        &[("upload", "always"), ("fail-on", "never")],
    );
    assert_eq!(run.code, 2);
}

#[tokio::test]
async fn filter_modes() {
    let checkout = pull_request_checkout(API_HEAD);
    let git_ref = format!("refs/pull/{PR}/merge");
    type Inputs<'a> = &'a [(&'a str, &'a str)];
    let cases: &[(Inputs, &[&str])] = &[
        (
            &[("filter-mode", "added")],
            &[ADDED_ERROR, NEW_FILE, ADDED_WARNING],
        ),
        (
            &[("filter-mode", "diff_context")],
            &[NEAR, ADDED_ERROR, NEW_FILE, ADDED_WARNING],
        ),
        (
            &[("filter-mode", "file")],
            &[FAR, NEAR, ADDED_ERROR, NEW_FILE, ADDED_WARNING],
        ),
        (
            &[("filter-mode", "nofilter")],
            &[FAR, NEAR, ADDED_ERROR, NEW_FILE, ADDED_WARNING],
        ),
        // Every file, every finding.
        (
            &[("filter-mode", "nofilter"), ("scope", "all")],
            &[FAR, NEAR, ADDED_ERROR, NEW_FILE, UNCHANGED, ADDED_WARNING],
        ),
        // Every file, findings of the diff only.
        (&[("scope", "all")], &[ADDED_ERROR, NEW_FILE, ADDED_WARNING]),
    ];
    for (inputs, expected) in cases {
        let mut inputs = inputs.to_vec();
        inputs.push(("upload", "never"));
        let run = run_action(&checkout, "pull_request", &git_ref, None, &inputs);
        assert_eq!(run.code, 1, "{inputs:?}");
        assert_eq!(run.annotated(), strings(expected), "{inputs:?}");
        assert_eq!(run.output("findings"), expected.len().to_string());
        assert_eq!(run.output("upload-status"), "skipped");
        // The SARIF file still has every finding of the scanned files.
        let scanned_all = inputs.contains(&("scope", "all"));
        let results = run.sarif["runs"][0]["results"].as_array().unwrap().len();
        assert_eq!(results, if scanned_all { 6 } else { 5 }, "{inputs:?}");
    }
}

#[tokio::test]
async fn fail_on_levels() {
    // The pull request adds only a warning.
    const WARNING_ONLY: &str = r#""""Demo API client."""
import pickle

import json


def load_far(payload):
    return pickle.loads(payload)







def load_near(payload):
    return pickle.loads(payload)


DEFAULT_VERIFY_SSL = False
"#;
    let checkout = pull_request_checkout(WARNING_ONLY);
    let git_ref = format!("refs/pull/{PR}/merge");
    let code = |fail_on: &str, filter: &str| {
        run_action(
            &checkout,
            "pull_request",
            &git_ref,
            None,
            &[
                ("fail-on", fail_on),
                ("filter-mode", filter),
                ("upload", "never"),
            ],
        )
        .code
    };
    assert_eq!(
        code("error", "added"),
        0,
        "only a warning on the added lines"
    );
    assert_eq!(code("warning", "added"), 1);
    assert_eq!(code("note", "added"), 1);
    assert_eq!(code("never", "added"), 0);
    // The file's older errors count once the filter takes in the whole file.
    assert_eq!(code("error", "file"), 1);
    assert_eq!(code("never", "file"), 0);
}

#[tokio::test]
async fn a_push_with_scope_changed_scans_the_pushed_changes() {
    let checkout = branch_checkout();
    let run = run_action(
        &checkout,
        "push",
        "refs/heads/main",
        None,
        &[("scope", "changed"), ("upload", "never")],
    );
    assert_eq!(run.code, 1);
    // api.py, big.py and const.py changed since `before`; only added lines count.
    assert_eq!(
        run.annotated(),
        strings(&[ADDED_ERROR, NEW_FILE, UNCHANGED, ADDED_WARNING])
    );
    assert_eq!(run.output("total-findings"), "6");
    assert!(
        run.summary.contains("changed in this push"),
        "{}",
        run.summary
    );

    // A previous tip that is not in the checkout: say so, and scan everything.
    let mut shallow = checkout;
    shallow.before = Some("1234567890123456789012345678901234567890".into());
    let run = run_action(
        &shallow,
        "push",
        "refs/heads/main",
        None,
        &[("scope", "changed"), ("upload", "never")],
    );
    assert!(
        run.stdout
            .lines()
            .any(|l| l.starts_with("::warning title=hassec%3A scanning everything")),
        "{}",
        run.stdout
    );
    assert_eq!(run.annotated().len(), 6);
}

#[tokio::test]
async fn annotations_stay_within_githubs_limits() {
    // Twelve errors on added lines: nine are annotated, one notice counts the rest.
    static MANY: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
        let mut text = API_BASE.to_string();
        for i in 0..12 {
            text.push_str(&format!(
                "\n\ndef load_{i}(payload):\n    return pickle.loads(payload)\n"
            ));
        }
        text
    });
    let checkout = pull_request_checkout(MANY.as_str());
    let git_ref = format!("refs/pull/{PR}/merge");
    let run = run_action(
        &checkout,
        "pull_request",
        &git_ref,
        None,
        &[("upload", "never")],
    );
    assert_eq!(run.code, 1);
    assert_eq!(run.annotated().len(), 9);
    let notices: Vec<&str> = run
        .stdout
        .lines()
        .filter(|l| l.starts_with("::notice"))
        .collect();
    assert_eq!(notices.len(), 1, "{}", run.stdout);
    assert!(notices[0].contains("3 more findings"), "{}", notices[0]);
    assert_eq!(run.output("findings"), "12");
    assert!(run.summary.contains("**12 findings**"));
}

/// `inputs:` or `outputs:` names of action.yml (two-space-indented keys of the section).
fn action_yml_keys(section: &str) -> Vec<String> {
    let text =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("action.yml")).unwrap();
    let mut keys = Vec::new();
    let mut inside = false;
    for line in text.lines() {
        if !line.starts_with(' ') && !line.is_empty() {
            inside = line == format!("{section}:");
            continue;
        }
        if inside
            && let Some(key) = line.strip_prefix("  ").and_then(|l| l.strip_suffix(':'))
            && !key.starts_with(' ')
        {
            keys.push(key.to_string());
        }
    }
    keys
}

#[test]
fn action_yml_the_code_and_the_docs_agree() {
    let inputs = action_yml_keys("inputs");
    let outputs = action_yml_keys("outputs");
    assert_eq!(
        inputs,
        [
            "token",
            "paths",
            "scope",
            "filter-mode",
            "fail-on",
            "upload",
            "category",
            "sarif-file",
            "config",
            "baseline"
        ]
    );
    let docs =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap();
    for name in inputs.iter().chain(&outputs) {
        assert!(
            docs.contains(&format!("| `{name}` |")),
            "README.md does not describe `{name}`"
        );
    }
    // Every output declared is written, and nothing else.
    let checkout = branch_checkout();
    let run = run_action(
        &checkout,
        "schedule",
        "refs/heads/main",
        None,
        &[("upload", "never")],
    );
    let mut written: Vec<&String> = run.outputs.keys().collect();
    written.sort();
    let mut declared: Vec<&String> = outputs.iter().collect();
    declared.sort();
    assert_eq!(written, declared);
}

const PACK_CONFIG: &str = "extend-rules = [\"hassec-rules\"]\n";
const PACK_RULE: &str = r#"id = "ACME001"
name = "eval-anything"
level = "error"
security-severity = "9.0"
cwe = 95
summary = "eval"
checklist = "No eval"
message = "`{fn}` evaluates code"
help = "Do not evaluate code."
query = '''
(call function: (identifier) @fn (#eq? @fn "eval")) @finding
'''
"#;

/// A pull request that changes a rule of the repository's rule pack: the pack
/// is read from the checkout, its rule reports, and the change is called out.
#[tokio::test]
async fn a_rule_pack_comes_from_the_checkout_and_its_changes_are_called_out() {
    let dir = tempfile::tempdir().unwrap();
    let repo = Repository::init(dir.path()).unwrap();
    let base_files = BTreeMap::from([
        (".hassec.toml", PACK_CONFIG),
        ("hassec-rules/ACME001-eval-anything.toml", PACK_RULE),
        ("custom_components/demo/a.py", "x = 1\n"),
    ]);
    let changed_rule = PACK_RULE.replace("evaluates code", "runs code");
    let mut head_files = base_files.clone();
    head_files.insert("hassec-rules/ACME001-eval-anything.toml", &changed_rule);
    head_files.insert("custom_components/demo/a.py", "x = eval(y)\n");
    let base = commit(&repo, &base_files, &[], "base");
    let head = commit(&repo, &head_files, &[base], "feature");
    let merge = commit(&repo, &head_files, &[base, head], "merge");
    check_out(&repo, merge);
    let checkout = Checkout {
        dir,
        merge,
        head,
        before: None,
    };
    let run = run_action(
        &checkout,
        "pull_request",
        &format!("refs/pull/{PR}/merge"),
        None,
        &[("upload", "never")],
    );
    assert_eq!(run.code, 1, "{}", run.stdout);
    assert!(
        run.stdout.contains("1 rule from rule packs: ACME001"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("ACME001"), "{}", run.stdout);
    assert!(run.stdout.contains("`eval` runs code"), "{}", run.stdout);
    let callout = "the rule pack file `hassec-rules/ACME001-eval-anything.toml`";
    assert!(run.stdout.contains(callout), "{}", run.stdout);
    assert!(run.summary.contains(callout), "{}", run.summary);
    let rules = run.sarif["runs"][0]["tool"]["driver"]["rules"]
        .as_array()
        .unwrap();
    assert!(rules.iter().any(|rule| rule["id"] == "ACME001"));

    // A pack outside the checkout is refused, exit 2.
    let elsewhere = tempfile::tempdir().unwrap();
    std::fs::write(
        checkout.path().join(".hassec.toml"),
        format!(
            "extend-rules = [{:?}]\n",
            elsewhere.path().display().to_string()
        ),
    )
    .unwrap();
    let run = run_action(
        &checkout,
        "pull_request",
        &format!("refs/pull/{PR}/merge"),
        None,
        &[("upload", "never")],
    );
    assert_eq!(run.code, 2, "{}", run.stdout);
    assert!(
        run.stdout.contains("inside the repository's checkout"),
        "{}",
        run.stdout
    );
}
