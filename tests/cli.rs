//! The `hassec` binary end to end: exit codes, formats, configuration, bad input.

use std::path::Path;

use assert_cmd::Command;
use predicates::prelude::*;

fn hassec() -> Command {
    let mut command = Command::cargo_bin("hassec").unwrap();
    command.env("NO_COLOR", "1");
    command
}

fn write(dir: &Path, name: &str, text: &str) {
    let path = dir.join(name);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

const INSECURE: &str = "import pickle\n\ndef load(blob):\n    return pickle.loads(blob)\n";

#[test]
fn findings_print_like_ruff_and_exit_1() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "a.py", INSECURE);
    hassec()
        .current_dir(dir.path())
        .args(["scan", "--isolated", "."])
        .assert()
        .code(1)
        .stdout(predicate::str::starts_with(
            "a.py:4:12: HAS703 `pickle.loads` can run arbitrary code",
        ))
        .stdout(predicate::str::contains(
            "Found 1 finding (1 error, 0 warnings, 0 notes) in 1 file",
        ));
}

#[test]
fn a_clean_tree_exits_0() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "a.py",
        "import json\n\ndef load(blob):\n    return json.loads(blob)\n",
    );
    hassec()
        .current_dir(dir.path())
        .args(["scan", "--isolated"])
        .assert()
        .success()
        .stdout(predicate::str::contains("Found 0 findings"));
}

#[test]
fn fail_on_decides_the_exit_code() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "const.py", "DEFAULT_VERIFY_SSL = False\n");
    let run = |fail_on: &str| {
        hassec()
            .current_dir(dir.path())
            .args(["scan", "--isolated", "--fail-on", fail_on, "."])
            .assert()
            .get_output()
            .status
            .code()
    };
    assert_eq!(run("error"), Some(0), "the finding is a warning");
    assert_eq!(run("warning"), Some(1));
    assert_eq!(run("note"), Some(1));
    assert_eq!(run("never"), Some(0));
    hassec()
        .args(["scan", "--fail-on", "sometimes"])
        .assert()
        .code(2);
}

#[test]
fn json_output_is_a_stable_array() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "a.py", INSECURE);
    let output = hassec()
        .current_dir(dir.path())
        .args(["scan", "--isolated", "--format", "json", "."])
        .assert()
        .code(1)
        .get_output()
        .stdout
        .clone();
    let findings: serde_json::Value = serde_json::from_slice(&output).unwrap();
    let finding = &findings[0];
    assert_eq!(finding["rule"], "HAS703");
    assert_eq!(finding["name"], "unsafe-deserialization");
    assert_eq!(finding["level"], "error");
    assert_eq!(finding["path"], "a.py");
    assert_eq!(
        finding["start"],
        serde_json::json!({"line": 4, "column": 12})
    );
    assert_eq!(finding["end"], serde_json::json!({"line": 4, "column": 30}));
    assert!(finding["fingerprint"].as_str().unwrap().ends_with(":1"));
}

#[test]
fn output_goes_to_a_file_and_the_summary_to_stderr() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "a.py", INSECURE);
    hassec()
        .current_dir(dir.path())
        .args(["scan", "--isolated", "--output", "report.txt", "."])
        .assert()
        .code(1)
        .stdout("")
        .stderr(predicate::str::contains("Found 1 finding"));
    let report = std::fs::read_to_string(dir.path().join("report.txt")).unwrap();
    assert!(report.starts_with("a.py:4:12: HAS703"), "{report}");
    assert!(!report.contains('\u{1b}'), "no colour codes in files");
}

#[test]
fn select_ignore_and_configuration_files() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "a.py", INSECURE);
    hassec()
        .current_dir(dir.path())
        .args(["scan", "--isolated", "--ignore", "HAS703"])
        .assert()
        .success();
    hassec()
        .current_dir(dir.path())
        .args(["scan", "--isolated", "--select", "HAS1"])
        .assert()
        .success();
    write(
        dir.path(),
        "pyproject.toml",
        "[tool.hassec]\nignore = ['unsafe-deserialization']\n",
    );
    hassec()
        .current_dir(dir.path())
        .args(["scan"])
        .assert()
        .success();
    hassec()
        .current_dir(dir.path())
        .args(["scan", "--select", "HAS703"])
        .assert()
        .success();
    hassec()
        .current_dir(dir.path())
        .args(["scan", "--isolated"])
        .assert()
        .code(1);
}

#[test]
fn a_bad_configuration_is_a_usage_error() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        ".hassec.toml",
        "fail-on = 'error'\nselcet = ['HAS1']\n",
    );
    hassec()
        .current_dir(dir.path())
        .args(["scan"])
        .assert()
        .code(2)
        .stderr(
            predicate::str::contains(".hassec.toml: line 2")
                .and(predicate::str::contains("selcet")),
        );
    hassec()
        .args(["scan", "--select", "HAS999"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("matches no rule"));
}

#[test]
fn a_file_with_syntax_errors_is_still_scanned_and_an_unreadable_one_reported() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "broken.py",
        "import pickle\ndef (:\n    pass\n\nx = pickle.loads(b)\n",
    );
    write(dir.path(), "ok.py", INSECURE);
    let mut command = hassec();
    command
        .current_dir(dir.path())
        .args(["scan", "--isolated", ".", "missing.py"]);
    command
        .assert()
        .code(1)
        .stdout(predicate::str::contains("broken.py:5:5: HAS703"))
        .stdout(predicate::str::contains("ok.py:4:12: HAS703"))
        .stderr(predicate::str::contains("missing.py: cannot read"));
}

#[test]
fn rules_lists_every_rule_and_rule_shows_its_help() {
    let listing = hassec()
        .arg("rules")
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let listing = String::from_utf8(listing).unwrap();
    for rule in hassec::rules::all() {
        assert!(
            listing.contains(&rule.id) && listing.contains(&rule.name),
            "{} missing",
            rule.id
        );
    }
    hassec().args(["rule", "HAS703"]).assert().success().stdout(
        predicate::str::contains("# HAS703 unsafe-deserialization")
            .and(predicate::str::contains("**Good**")),
    );
    hassec()
        .args(["rule", "secret-logged"])
        .assert()
        .success()
        .stdout(predicate::str::contains("HAS501"));
    hassec()
        .args(["rule", "HAS000"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("hassec rules"));
}

#[test]
fn suppressions_are_counted_in_the_summary() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "a.py",
        "import pickle\nx = pickle.loads(b)  # nosec\ny = pickle.loads(b)  # hassec: ignore[HAS703]\n",
    );
    hassec()
        .current_dir(dir.path())
        .args(["scan", "--isolated"])
        .assert()
        .success()
        .stdout(predicate::str::contains("2 suppressed (1 by `# nosec`)"));
}

#[test]
fn version_is_printed() {
    hassec()
        .arg("--version")
        .assert()
        .success()
        .stdout(predicate::str::starts_with("hassec "));
}

#[test]
fn the_cache_gives_the_same_findings_and_notices_changes() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "a.py", INSECURE);
    write(dir.path(), "b.py", "x = 1\n");
    let scan = || {
        let output = hassec()
            .current_dir(dir.path())
            .args(["scan", "--isolated", "--format", "json", "."])
            .output()
            .unwrap();
        String::from_utf8(output.stdout).unwrap()
    };
    let cold = scan();
    assert!(dir.path().join(".hassec_cache/.gitignore").exists());
    assert_eq!(scan(), cold, "a warm run finds the same");
    write(dir.path(), "b.py", "import pickle\ny = pickle.loads(b)\n");
    let changed = scan();
    assert!(
        changed.contains("\"path\": \"b.py\""),
        "an edited file is scanned again: {changed}"
    );
    let uncached = hassec()
        .current_dir(dir.path())
        .args(["scan", "--isolated", "--no-cache", "--format", "json", "."])
        .output()
        .unwrap();
    assert_eq!(String::from_utf8(uncached.stdout).unwrap(), changed);
}

#[test]
fn an_unwritable_cache_is_a_warning_not_a_failure() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "a.py", INSECURE);
    write(
        dir.path(),
        "blocker",
        "a file where the cache directory should be",
    );
    hassec()
        .current_dir(dir.path())
        .args(["scan", "--isolated", "--cache-dir", "blocker/cache", "."])
        .assert()
        .code(1)
        .stdout(predicate::str::contains("HAS703"))
        .stderr(predicate::str::contains("cannot write the results cache"));
}

#[test]
fn unused_suppressions_are_reported_on_request() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "a.py",
        "import pickle\nx = pickle.loads(b)  # hassec: ignore[HAS703]\ny = 1  # hassec: ignore[HAS501]\n",
    );
    hassec()
        .current_dir(dir.path())
        .args(["scan", "--isolated"])
        .assert()
        .success();
    hassec()
        .current_dir(dir.path())
        .args(["scan", "--isolated", "--report-unused-ignores"])
        .assert()
        .code(1)
        .stdout(predicate::str::contains(
            "a.py:3: unused suppression `# hassec: ignore[HAS501]`: HAS501 suppresses nothing here",
        ))
        .stdout(predicate::str::contains("a.py:2:").not());
}

#[test]
fn markdown_report_for_a_pull_request_comment() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "a.py", INSECURE);
    write(dir.path(), "const.py", "DEFAULT_VERIFY_SSL = False\n");
    let output = hassec()
        .current_dir(dir.path())
        .args(["scan", "--isolated", "--format", "markdown", "."])
        .assert()
        .code(1)
        .stderr("Found 2 findings (1 error, 1 warning, 0 notes) in 2 files\n")
        .get_output()
        .stdout
        .clone();
    let report = String::from_utf8(output).unwrap();
    assert!(
        report.starts_with(
            "## hassec\n\nFound 2 findings (1 error, 1 warning, 0 notes) in 2 files\n\n### Errors (1)\n"
        ),
        "{report}"
    );
    let rule = format!(
        "| [HAS703]({}/blob/main/rules/HAS703-unsafe-deserialization.toml) | `a.py:4` | `pickle.loads` can run arbitrary code",
        env!("CARGO_PKG_REPOSITORY")
    );
    assert!(report.contains(&rule), "{report}");
    assert!(report.contains("### Warnings (1)"), "{report}");
}

/// `path:line rule` of each finding a JSON run reports, its stderr and exit code.
fn findings_and_summary(dir: &Path, args: &[&str]) -> (Vec<String>, String, i32) {
    let output = hassec()
        .current_dir(dir)
        .args(["scan", "--format", "json"])
        .args(args)
        .output()
        .unwrap();
    let findings: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let found = findings
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            format!(
                "{}:{} {}",
                f["path"].as_str().unwrap(),
                f["start"]["line"],
                f["rule"].as_str().unwrap()
            )
        })
        .collect();
    let stderr = String::from_utf8(output.stderr).unwrap();
    (found, stderr, output.status.code().unwrap())
}

#[test]
fn a_baseline_hides_recorded_findings_and_reports_new_ones() {
    let dir = tempfile::tempdir().unwrap();
    let secret = "API_KEY = \"sk_live_4eC39HqLyjWDarjtT1zdp7dc\"\n";
    write(dir.path(), "a.py", &format!("{secret}{INSECURE}"));
    let (found, stderr, code) = findings_and_summary(dir.path(), &["--isolated", "."]);
    assert_eq!(found, ["a.py:1 HAS105", "a.py:5 HAS703"], "{stderr}");
    assert_eq!(code, 1);

    let (found, stderr, code) = findings_and_summary(
        dir.path(),
        &[
            "--isolated",
            "--write-baseline",
            "hassec-baseline.json",
            ".",
        ],
    );
    assert!(found.is_empty());
    assert_eq!(code, 0);
    assert_eq!(
        stderr,
        "hassec: recorded 2 findings in the baseline hassec-baseline.json\n\
         Found 0 findings (0 errors, 0 warnings, 0 notes) in 1 file\n\
         2 findings in the baseline not shown\n"
    );
    let recorded = std::fs::read_to_string(dir.path().join("hassec-baseline.json")).unwrap();
    assert!(recorded.starts_with("{\n  \"version\": 1,\n"), "{recorded}");
    for source_text in ["sk_live", "API_KEY", "pickle"] {
        assert!(!recorded.contains(source_text), "{recorded}");
    }

    let with_baseline = ["--isolated", "--baseline", "hassec-baseline.json", "."];
    // Lines inserted above: the recorded findings moved, and still match.
    write(
        dir.path(),
        "a.py",
        &format!("\"\"\"Demo.\"\"\"\n\n\n{secret}\n{INSECURE}"),
    );
    let (found, stderr, code) = findings_and_summary(dir.path(), &with_baseline);
    assert_eq!((found.len(), code), (0, 0), "{found:?} {stderr}");
    assert_eq!(
        stderr,
        "Found 0 findings (0 errors, 0 warnings, 0 notes) in 1 file\n\
         2 findings in the baseline not shown\n"
    );

    // A new finding, in a new file and in the old one, is reported.
    write(dir.path(), "b.py", INSECURE);
    write(
        dir.path(),
        "a.py",
        &format!("{secret}{INSECURE}\n\ndef again(blob):\n    return pickle.load(blob)\n"),
    );
    let (found, _, code) = findings_and_summary(dir.path(), &with_baseline);
    assert_eq!(found, ["a.py:9 HAS703", "b.py:4 HAS703"]);
    assert_eq!(code, 1);

    // The recorded call edited: reported again, and its entry no longer occurs.
    write(
        dir.path(),
        "a.py",
        &format!(
            "{secret}{}",
            INSECURE.replace("loads(blob)", "loads(blob[4:])")
        ),
    );
    let (found, stderr, _) = findings_and_summary(dir.path(), &with_baseline);
    assert_eq!(found, ["a.py:5 HAS703", "b.py:4 HAS703"]);
    assert!(
        stderr
            .ends_with("1 finding in the baseline not shown; 1 baseline entry no longer occurs\n"),
        "{stderr}"
    );

    // Entries of files not scanned are not counted as gone.
    let (found, stderr, _) = findings_and_summary(
        dir.path(),
        &["--isolated", "--baseline", "hassec-baseline.json", "b.py"],
    );
    assert_eq!(found, ["b.py:4 HAS703"]);
    assert!(
        stderr.ends_with("0 findings in the baseline not shown\n"),
        "{stderr}"
    );
}

#[test]
fn the_configured_baseline_is_found_from_a_subdirectory() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "custom_components/demo/api.py", INSECURE);
    write(
        dir.path(),
        "pyproject.toml",
        "[tool.hassec]\nbaseline = \"ci/hassec-baseline.json\"\n",
    );
    std::fs::create_dir(dir.path().join("ci")).unwrap();
    let (_, stderr, code) = findings_and_summary(
        dir.path(),
        &[
            "--write-baseline",
            "ci/hassec-baseline.json",
            "custom_components",
        ],
    );
    assert_eq!(code, 0, "{stderr}");
    let recorded = std::fs::read_to_string(dir.path().join("ci/hassec-baseline.json")).unwrap();
    assert!(
        recorded.contains("\"path\":\"../custom_components/demo/api.py\""),
        "paths relative to the baseline's directory: {recorded}"
    );
    // From another directory, through the configuration: the same findings.
    let (found, stderr, code) =
        findings_and_summary(&dir.path().join("custom_components/demo"), &["."]);
    assert_eq!((found.len(), code), (0, 0), "{stderr}");
    assert!(
        stderr.ends_with("1 finding in the baseline not shown\n"),
        "{stderr}"
    );
    // `--isolated` leaves the configuration, and its baseline, out.
    let (found, _, _) = findings_and_summary(dir.path(), &["--isolated", "custom_components"]);
    assert_eq!(found, ["custom_components/demo/api.py:4 HAS703"]);
}

#[test]
fn a_bad_baseline_is_a_usage_error_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "a.py", INSECURE);
    write(
        dir.path(),
        "broken.json",
        "{\"version\": 1, \"findings\": [\n",
    );
    hassec()
        .current_dir(dir.path())
        .args(["scan", "--isolated", "--baseline", "broken.json"])
        .assert()
        .code(2)
        .stdout("")
        .stderr(predicate::str::starts_with(
            "hassec: error: broken.json: not a hassec baseline: line 2",
        ));
    hassec()
        .current_dir(dir.path())
        .args(["scan", "--isolated", "--baseline", "missing.json"])
        .assert()
        .code(2)
        .stderr(
            predicate::str::contains("missing.json: cannot read the baseline")
                .and(predicate::str::contains("--write-baseline")),
        );
    write(dir.path(), ".hassec.toml", "baseline = 'old.json'\n");
    write(
        dir.path(),
        "old.json",
        "{\"version\": 0, \"findings\": []}\n",
    );
    hassec()
        .current_dir(dir.path())
        .args(["scan"])
        .assert()
        .code(2)
        .stderr(
            predicate::str::contains("old.json: baseline version 0")
                .and(predicate::str::contains("--write-baseline")),
        );
}

#[test]
fn a_piped_run_prints_no_progress() {
    let dir = tempfile::tempdir().unwrap();
    for n in 0..40 {
        write(dir.path(), &format!("pkg{n}/a.py"), INSECURE);
    }
    // Outside CI, where only the terminal test keeps progress away.
    hassec()
        .env_remove("CI")
        .current_dir(dir.path())
        .args(["scan", "--isolated", "--no-cache", "--format", "json", "."])
        .assert()
        .code(1)
        .stderr("Found 40 findings (40 errors, 0 warnings, 0 notes) in 40 files\n");
    hassec()
        .env_remove("CI")
        .current_dir(dir.path())
        .args(["scan", "--isolated", "--no-cache", "."])
        .assert()
        .code(1)
        .stderr("");
}

#[test]
fn quiet_prints_the_findings_only() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "a.py", INSECURE);
    let finding = "a.py:4:12: HAS703 `pickle.loads` can run arbitrary code while loading data; use JSON or a safe loader\n";
    hassec()
        .current_dir(dir.path())
        .args(["scan", "--isolated", "-q", "."])
        .assert()
        .code(1)
        .stdout(finding)
        .stderr("");
    hassec()
        .current_dir(dir.path())
        .args(["scan", "--isolated", "--quiet", "--format", "json", "."])
        .assert()
        .code(1)
        .stdout(predicate::str::contains("\"rule\": \"HAS703\""))
        .stderr("");
    hassec()
        .current_dir(dir.path())
        .args([
            "scan",
            "--isolated",
            "-q",
            "--write-baseline",
            "b.json",
            ".",
        ])
        .assert()
        .success()
        .stdout("")
        .stderr("");
}
