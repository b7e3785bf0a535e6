//! Hostile repositories and pathological files: hassec runs on strangers' pull
//! requests, so no input may crash it, hang it, or cost the findings of other files.
//!
//! No test here times anything: a quadratic blow-up simply makes a test not
//! finish, which is the failure signal. Test threads have 2 MiB stacks, as rayon's
//! workers do, so a check recursing once per level of a deep tree overflows here.

use std::path::Path;

use assert_cmd::Command;
use hassec::{
    config::Config,
    report::{self, sarif::SarifOptions},
    scan::{FileResult, ScanReport, Scanner},
};
use predicates::prelude::*;

fn scanner() -> Scanner {
    Scanner::new(&Config {
        max_file_size: Some(64 * 1024 * 1024),
        ..Config::default()
    })
    .unwrap()
}

fn scan(source: impl AsRef<[u8]>) -> FileResult {
    scanner().scan_source("hostile.py", source.as_ref())
}

/// (rule, line, column) of each finding.
fn places(result: &FileResult) -> Vec<(&str, usize, usize)> {
    result
        .findings
        .iter()
        .map(|f| (f.rule.id.as_str(), f.start.line, f.start.column))
        .collect()
}

fn hassec() -> Command {
    let mut command = Command::cargo_bin("hassec").unwrap();
    command.env("NO_COLOR", "1");
    command
}

const LOGGING: &str = "import logging\n_LOGGER = logging.getLogger(__name__)\n";

/// Expressions `n` levels deep, in each of the shapes checks recurse into.
fn deep_expressions(n: usize) -> Vec<(&'static str, String)> {
    vec![
        (
            "parentheses",
            format!("x = {}password{}\n", "(".repeat(n), ")".repeat(n)),
        ),
        (
            "calls",
            format!("x = {}password{}\n", "f(".repeat(n / 2), ")".repeat(n / 2)),
        ),
        (
            "lists",
            format!("x = {}password{}\n", "[".repeat(n), "]".repeat(n)),
        ),
        ("attributes", format!("x = a{}\n", ".b".repeat(n))),
        (
            "concatenation",
            format!(
                "{LOGGING}_LOGGER.info(\"%s\", {})\n",
                vec!["password"; n].join("+")
            ),
        ),
    ]
}

#[test]
fn nesting_deeper_than_python_accepts_is_left_out_not_a_crash() {
    for (shape, source) in deep_expressions(20_000) {
        // A finding before and after the over-deep statement: both are found.
        let source = format!("import pickle\na = pickle.loads(b)\n{source}c = pickle.loads(d)\n");
        let result = scan(&source);
        assert_eq!(result.error, None, "{shape}");
        let partial = result
            .partial
            .unwrap_or_else(|| panic!("{shape}: the left-out part is not said"));
        assert!(
            partial.contains("deeper than Python accepts"),
            "{shape}: {partial}"
        );
        let lines: Vec<usize> = result.findings.iter().map(|f| f.start.line).collect();
        let last = source.lines().count();
        assert_eq!(lines, [2, last], "{shape}");
    }
}

#[test]
fn nesting_just_within_the_limit_is_scanned_on_a_small_stack() {
    // The deepest files still scanned, checks recursing all the way down...
    for (shape, source) in deep_expressions(980) {
        let result = scan(&source);
        assert_eq!(result.error, None, "{shape}");
        if shape == "concatenation" {
            assert_eq!(places(&result), [("HAS501", 3, 1)]);
        }
    }
    // ...which are within a few levels of the limit.
    for (shape, source) in deep_expressions(1_100) {
        assert!(scan(&source).partial.is_some(), "{shape}");
    }
}

#[test]
fn a_hundred_thousand_line_file_is_scanned() {
    let mut source = String::from("import pickle\n");
    for i in 0..100_000 {
        source.push_str(&format!("x{i} = {i}\n"));
    }
    source.push_str("y = pickle.loads(b)\n");
    assert_eq!(places(&scan(&source)), [("HAS703", 100_002, 5)]);
}

#[test]
fn a_function_of_twenty_thousand_logging_calls_is_scanned() {
    let mut source = format!("{LOGGING}def f(password):\n");
    for _ in 0..20_000 {
        source.push_str("    _LOGGER.debug(\"x %s\", password)\n");
    }
    let result = scan(&source);
    assert_eq!(result.findings.len(), 20_000);
    assert_eq!(result.findings.last().unwrap().start.line, 20_003);
}

/// A pattern matching one argument of a call and then a keyword after it keeps a
/// partial match per argument, which tree-sitter's query cursor compares with
/// each other at every step: 1,600 arguments took half a minute per rule.
#[test]
fn calls_with_thousands_of_arguments_are_scanned() {
    let args = vec!["cmd"; 5_000].join(", ");
    let source = format!(
        "import requests\nimport subprocess\n\
         from homeassistant.helpers.service import async_register_admin_service\n\
         requests.get({args})\n\
         subprocess.run({args}, shell=True)\n\
         subprocess.Popen({args})\n\
         hass.services.async_register({args})\n\
         async_register_admin_service({args}, schema=None)\n\
         requests.get(url, {})\n",
        vec!["cmd=cmd"; 5_000].join(", ")
    );
    let result = scan(&source);
    assert!(result.error.is_none(), "{:?}", result.error);
    // The command of `shell=True` and the service of `schema=None` are found among
    // the 5,000 arguments; the registration whose fourth argument is positional
    // (line 7) has a schema.
    assert_eq!(
        places(&result),
        [
            ("HAS304", 4, 1),
            ("HAS702", 5, 1),
            ("HAS401", 8, 1),
            ("HAS304", 9, 1)
        ]
    );
}

/// Thousands of findings on one line: each finding's columns and suppression
/// comment were looked up by reading the line from its start.
#[test]
fn thousands_of_findings_on_one_line_are_reported() {
    let source = format!(
        "import requests\nrequests.get(url, timeout=5, {})\n",
        vec!["verify=False"; 5_000].join(", ")
    );
    let result = scan(&source);
    assert_eq!(result.findings.len(), 5_000);
    let columns: Vec<usize> = result.findings.iter().map(|f| f.start.column).collect();
    let expected: Vec<usize> = (0..5_000).map(|i| 30 + i * 14).collect();
    assert_eq!(columns, expected);
    assert!(result.findings.iter().all(|f| f.rule.id == "HAS301"));
}

#[test]
fn line_endings_give_the_lines_python_sees() {
    let lf = "import pickle\n\ndef f(b):\n    return pickle.loads(b)\n";
    let expected = [("HAS703", 4, 12)];
    let lf_result = scan(lf);
    assert_eq!(places(&lf_result), expected);
    for ending in ["\r\n", "\r"] {
        let result = scan(lf.replace('\n', ending));
        assert_eq!(places(&result), expected, "{ending:?}");
        // Code scanning's fingerprint counts CR, CRLF and LF alike.
        assert_eq!(
            result.findings[0].fingerprint, lf_result.findings[0].fingerprint,
            "{ending:?}"
        );
    }
}

#[test]
fn manifest_lines_count_every_line_ending() {
    let scanner = Scanner::new(&Config {
        select: Some(vec!["HAS706".to_string()]),
        ..Config::default()
    })
    .unwrap();
    let manifest = "{\n  \"domain\": \"x\",\n  \"requirements\": [\n    \"pkg>=1\"\n  ]\n}\n";
    for ending in ["\n", "\r\n", "\r"] {
        let result = scanner.scan_manifest("manifest.json", &manifest.replace('\n', ending));
        let lines: Vec<usize> = result.findings.iter().map(|f| f.start.line).collect();
        assert_eq!(lines, [4], "{ending:?}");
    }
}

#[test]
fn odd_bytes_keep_positions_right() {
    // A byte-order mark is not a column.
    let bom = scan("\u{feff}import pickle\nx = pickle.loads(b)\n");
    assert_eq!(places(&bom), [("HAS703", 2, 5)]);
    // Invalid UTF-8 is shown as U+FFFD (one character each), as editors do.
    let invalid = scan(b"import pickle\n\xff\xfex = 1; y = pickle.loads(b)\n");
    assert_eq!(places(&invalid), [("HAS703", 2, 14)]);
    // NUL bytes before the call on its line.
    let nul = scan(b"import pickle\nx = 1 # \x00\x00\ny = pickle.loads(b)\n");
    assert_eq!(places(&nul), [("HAS703", 3, 5)]);
    // A tab is one column, as in SARIF and in GitHub's annotations.
    let tab = scan("import pickle\ndef f(b):\n\treturn pickle.loads(b)\n");
    assert_eq!(places(&tab), [("HAS703", 3, 9)]);
    // A 200,000-character line.
    let long = format!(
        "import pickle\nx = '{}'; y = pickle.loads(b)\n",
        "a".repeat(200_000)
    );
    assert_eq!(places(&scan(long)), [("HAS703", 2, 200_013)]);
}

#[test]
fn a_file_over_max_file_size_is_skipped_with_a_notice() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("big.py"),
        "import pickle\npickle.loads(b)\n",
    )
    .unwrap();
    std::fs::write(dir.path().join(".hassec.toml"), "max-file-size = 10\n").unwrap();
    hassec()
        .current_dir(dir.path())
        .args(["scan", "--no-cache", "."])
        .assert()
        .code(0)
        .stderr(predicate::str::contains("is over max-file-size (10 bytes)"));
}

#[test]
fn an_empty_repository_and_one_without_python_are_clean() {
    let empty = tempfile::tempdir().unwrap();
    let only_docs = tempfile::tempdir().unwrap();
    std::fs::write(only_docs.path().join("README.md"), "# x\n").unwrap();
    for dir in [empty.path(), only_docs.path()] {
        hassec()
            .current_dir(dir)
            .args(["scan", "--no-cache", "--isolated", "."])
            .assert()
            .code(0)
            .stdout(predicate::str::contains(
                "Found 0 findings (0 errors, 0 warnings, 0 notes) in 0 files",
            ));
    }
}

/// Module names defined from themselves (`SENSORS = SENSORS + (...)`) or from
/// each other, used wherever a check follows a name
/// (`tests/fixtures/integrations/cyclic_names`): every check ends, and the scan
/// reports what lies past them.
#[test]
fn names_defined_from_themselves_or_each_other_end() {
    let fixture = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/integrations/cyclic_names"
    );
    hassec()
        .current_dir(fixture)
        .args(["scan", "--no-cache", "--isolated", "--format", "json", "."])
        .assert()
        .code(1)
        .stdout(predicate::str::contains(r#""rule": "HAS702""#));
}

#[cfg(unix)]
/// A file that cannot be read is named on stderr and as a SARIF tool notification,
/// the other files are scanned, and the exit code is what the findings make it.
///
/// CI runs as root, which reads a file whatever its mode. There the scan runs
/// under `setpriv` (util-linux) without the capabilities that bypass file
/// permissions (`CAP_DAC_OVERRIDE`, `CAP_DAC_READ_SEARCH`), so that the mode-000
/// file is unreadable to hassec for real, as it is to any other user.
#[cfg(unix)]
#[test]
fn an_unreadable_file_is_reported_and_the_rest_scanned() {
    use std::os::unix::fs::PermissionsExt;

    let dir = tempfile::tempdir().unwrap();
    let locked = dir.path().join("locked.py");
    std::fs::write(&locked, "import pickle\nx = pickle.loads(b)\n").unwrap();
    std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o000)).unwrap();
    let ok = dir.path().join("ok.py");
    std::fs::write(&ok, "import pickle\ny = pickle.loads(b)\n").unwrap();
    // Reading it anyway is what root (or CAP_DAC_OVERRIDE) does.
    let privileged = std::fs::read(&locked).is_ok();
    let scan = |args: &[&str]| {
        let mut command = if privileged {
            let mut command = Command::new("setpriv");
            command.args([
                "--inh-caps=-dac_override,-dac_read_search",
                "--bounding-set=-dac_override,-dac_read_search",
                "--",
            ]);
            command.arg(assert_cmd::cargo::cargo_bin("hassec"));
            command
        } else {
            Command::cargo_bin("hassec").unwrap()
        };
        command
            .env("NO_COLOR", "1")
            .current_dir(dir.path())
            .args(["scan", "--isolated", "--no-cache"])
            .args(args);
        command
    };
    const CANNOT_READ: &str = "locked.py: cannot read: Permission denied";

    let output = scan(&["."]).output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains(CANNOT_READ),
        "the file was not refused (privileged: {privileged}; as root this test needs \
         setpriv and CAP_SETPCAP): {stderr}"
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.contains("ok.py:2:5: HAS703"), "{stdout}");
    assert!(!stdout.contains("locked.py"), "{stdout}");
    assert!(stdout.contains("in 1 file"), "{stdout}");
    assert_eq!(output.status.code(), Some(1), "the finding in ok.py");

    scan(&[".", "--format", "sarif", "-o", "report.sarif"])
        .assert()
        .code(1);
    let sarif: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("report.sarif")).unwrap())
            .unwrap();
    let run = &sarif["runs"][0];
    let results = run["results"].as_array().unwrap();
    assert_eq!(results.len(), 1);
    assert_eq!(
        results[0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
        "ok.py"
    );
    let invocation = &run["invocations"][0];
    assert_eq!(invocation["executionSuccessful"], true);
    let notifications = invocation["toolExecutionNotifications"].as_array().unwrap();
    assert_eq!(notifications.len(), 1, "{notifications:?}");
    assert_eq!(notifications[0]["level"], "error");
    assert_eq!(
        notifications[0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
        "locked.py"
    );
    assert!(
        notifications[0]["message"]["text"]
            .as_str()
            .unwrap()
            .starts_with("cannot read: Permission denied"),
        "{notifications:?}"
    );

    // Without findings elsewhere, an unreadable file does not fail the run: the
    // exit code counts findings only (README, exit codes).
    std::fs::write(&ok, "x = 1\n").unwrap();
    scan(&["."])
        .assert()
        .code(0)
        .stderr(predicate::str::contains(CANNOT_READ))
        .stdout(predicate::str::contains("Found 0 findings"));
    // Named on the command line, the same.
    scan(&["locked.py", "ok.py"])
        .assert()
        .code(0)
        .stderr(predicate::str::contains(CANNOT_READ));
}

#[test]
fn fifos_are_skipped_never_read() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("ok.py"), "import pickle\npickle.loads(b)\n").unwrap();
    let made = std::process::Command::new("mkfifo")
        .arg(dir.path().join("pipe.py"))
        .status()
        .unwrap();
    assert!(made.success());
    // Reading the FIFO would block forever: this test then never finishes.
    for args in [&["."][..], &["pipe.py", "ok.py"][..]] {
        hassec()
            .current_dir(dir.path())
            .args(["scan", "--no-cache", "--isolated"])
            .args(args)
            .assert()
            .code(1)
            .stdout(predicate::str::contains("ok.py:2:1: HAS703"))
            .stderr(predicate::str::contains(
                "skipped pipe.py: not a regular file",
            ));
    }
}

#[cfg(unix)]
#[test]
fn symbolic_links_out_of_the_repository_are_not_followed() {
    let outside = tempfile::tempdir().unwrap();
    std::fs::write(
        outside.path().join("x.py"),
        "import pickle\npickle.loads(b)\n",
    )
    .unwrap();
    let repo = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink(outside.path().join("x.py"), repo.path().join("link.py")).unwrap();
    std::os::unix::fs::symlink(outside.path(), repo.path().join("linked_dir")).unwrap();
    for args in [&["."][..], &["link.py", "linked_dir"][..]] {
        hassec()
            .current_dir(repo.path())
            .args(["scan", "--no-cache", "--isolated"])
            .args(args)
            .assert()
            .code(0)
            .stdout(predicate::str::contains("Found 0 findings"))
            .stderr(predicate::str::contains(
                "skipped link.py: symbolic link, not followed",
            ))
            .stderr(predicate::str::contains(
                "skipped linked_dir: symbolic link, not followed",
            ));
    }
}

#[cfg(unix)]
#[test]
fn odd_file_names_stay_one_location_each() {
    let dir = tempfile::tempdir().unwrap();
    let names = [
        "with space.py",
        "ünïcode.py",
        "100%.py",
        "hash#tag.py",
        "a,b.py",
        "c:d.py",
        "new\nline.py",
    ];
    for name in names {
        std::fs::write(dir.path().join(name), "import pickle\npickle.loads(b)\n").unwrap();
    }
    let sarif = hassec()
        .current_dir(dir.path())
        .args(["scan", "--no-cache", "--isolated", "--format", "sarif", "."])
        .output()
        .unwrap();
    let sarif: serde_json::Value = serde_json::from_slice(&sarif.stdout).unwrap();
    let mut uris: Vec<String> = sarif["runs"][0]["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            let uri = r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
                .as_str()
                .unwrap();
            assert!(!uri.contains([' ', '#', '\n']), "not encoded: {uri:?}");
            percent_encoding::percent_decode_str(uri)
                .decode_utf8()
                .unwrap()
                .into_owned()
        })
        .collect();
    assert!(sarif.to_string().contains("\"100%25.py\""), "% is encoded");
    uris.sort();
    let mut expected: Vec<String> = names.iter().map(|n| n.to_string()).collect();
    expected.sort();
    assert_eq!(uris, expected);

    // One workflow command per finding: a name cannot start a command of its own.
    let github = hassec()
        .current_dir(dir.path())
        .args([
            "scan",
            "--no-cache",
            "--isolated",
            "--format",
            "github",
            ".",
        ])
        .output()
        .unwrap();
    let commands = String::from_utf8(github.stdout).unwrap();
    let lines: Vec<&str> = commands.lines().filter(|l| l.starts_with("::")).collect();
    assert_eq!(lines.len(), names.len(), "{commands}");
    assert!(commands.contains("file=new%0Aline.py,"), "{commands}");
    assert!(commands.contains("file=a%2Cb.py,"), "{commands}");
    assert!(commands.contains("file=c%3Ad.py,"), "{commands}");
}

/// Every saved fuzzing input (and every hostile seed) through the scan and every
/// reporter, twice: no panic, and the same output each time.
#[test]
fn fuzz_regressions_replay() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/regressions");
    let scanner = Scanner::new(&Config::default()).unwrap();
    let render = |data: &[u8]| {
        let result = scanner.scan_source("fuzz/input.py", data);
        let report = ScanReport {
            findings: result.findings,
            suppressed: result.suppressed,
            errors: result.error.into_iter().collect(),
            files_scanned: 1,
            ..ScanReport::default()
        };
        [
            report::text::render(&report, true),
            report::json::render(&report.findings),
            report::markdown::render(&report),
            report::github::render(&report.findings),
            report::sarif::render(&report, scanner.rules(), &SarifOptions::default()),
        ]
    };
    let mut replayed = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let data = std::fs::read(&path).unwrap();
        assert_eq!(render(&data), render(&data), "{}", path.display());
        replayed += 1;
    }
    assert!(replayed >= 6, "the hostile seeds are there");
}
