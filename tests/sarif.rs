//! The SARIF report as code scanning reads it: structure, rule indexes, columns,
//! fingerprints, URIs and notifications, plus a snapshot of one small scan.

use std::{path::Path, process::Command};

use assert_cmd::prelude::*;
use hassec::{
    config::Config,
    report::{fingerprint, sarif},
    scan::Scanner,
};
use serde_json::Value;

fn hassec() -> Command {
    Command::cargo_bin("hassec").unwrap()
}

/// Runs `hassec scan --isolated --format sarif ARGS` in `dir` and parses its output.
fn sarif_of(dir: &Path, args: &[&str]) -> Value {
    let output = hassec()
        .current_dir(dir)
        .args(["scan", "--isolated", "--format", "sarif"])
        .args(args)
        .output()
        .unwrap();
    assert!(
        matches!(output.status.code(), Some(0 | 1)),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("the SARIF output is JSON")
}

#[test]
fn fixtures_report_is_well_formed_sarif_for_code_scanning() {
    let sarif = sarif_of(
        Path::new(env!("CARGO_MANIFEST_DIR")),
        &["tests/fixtures/rules"],
    );
    assert_eq!(sarif["version"], "2.1.0");
    assert_eq!(sarif["$schema"], sarif::SCHEMA_URI);
    let runs = sarif["runs"].as_array().unwrap();
    assert_eq!(runs.len(), 1);
    let run = &runs[0];
    assert_eq!(run["columnKind"], "utf16CodeUnits");
    assert!(
        run.get("automationDetails").is_none(),
        "no category asked for"
    );

    let driver = &run["tool"]["driver"];
    assert_eq!(driver["name"], "hassec");
    assert_eq!(driver["semanticVersion"], env!("CARGO_PKG_VERSION"));
    assert!(
        driver["informationUri"]
            .as_str()
            .unwrap()
            .starts_with("https://")
    );
    let rules = driver["rules"].as_array().unwrap();
    assert_eq!(
        rules.len(),
        hassec::rules::all().len(),
        "every enabled rule is listed"
    );
    for rule in rules {
        let id = rule["id"].as_str().unwrap();
        assert!(id.starts_with("HAS"), "{id}");
        for field in ["name", "shortDescription", "fullDescription", "help"] {
            assert!(rule.get(field).is_some(), "{id} lacks {field}");
        }
        assert!(rule["help"]["markdown"].is_string(), "{id}");
        let level = rule["defaultConfiguration"]["level"].as_str().unwrap();
        assert!(["error", "warning", "note"].contains(&level), "{id}");
        let properties = &rule["properties"];
        let severity: f64 = properties["security-severity"]
            .as_str()
            .expect("security-severity is a string")
            .parse()
            .unwrap();
        assert!((0.1..=10.0).contains(&severity), "{id}");
        let tags = properties["tags"].as_array().unwrap();
        assert!(tags.contains(&"security".into()), "{id}");
        assert!(
            tags.iter()
                .any(|t| t.as_str().unwrap().starts_with("external/cwe/cwe-")),
            "{id}"
        );
        assert!(properties["precision"].is_string(), "{id}");
        assert!(properties["problem.severity"].is_string(), "{id}");
    }

    let results = run["results"].as_array().unwrap();
    assert!(
        results.len() > 10,
        "the fixtures have findings of every rule"
    );
    for result in results {
        let index = result["ruleIndex"].as_u64().unwrap() as usize;
        assert_eq!(
            rules[index]["id"], result["ruleId"],
            "ruleIndex points at ruleId"
        );
        assert!(result["level"].is_string());
        assert!(!result["message"]["text"].as_str().unwrap().is_empty());
        let location = &result["locations"][0]["physicalLocation"];
        assert_eq!(location["artifactLocation"]["uriBaseId"], "%SRCROOT%");
        let uri = location["artifactLocation"]["uri"].as_str().unwrap();
        assert!(uri.starts_with("tests/fixtures/rules/HAS"), "{uri}");
        let region = &location["region"];
        for field in ["startLine", "startColumn", "endLine", "endColumn"] {
            assert!(region[field].as_u64().unwrap() >= 1, "{field}");
        }
        let hash = result["partialFingerprints"]["primaryLocationLineHash"]
            .as_str()
            .unwrap();
        let (hex, count) = hash.split_once(':').unwrap();
        assert!(
            u64::from_str_radix(hex, 16).is_ok() && count.parse::<u32>().is_ok(),
            "{hash}"
        );
    }
}

#[test]
fn odd_file_names_become_percent_encoded_uris_with_utf16_columns() {
    let dir = tempfile::tempdir().unwrap();
    let sub = dir.path().join("ü dir");
    std::fs::create_dir(&sub).unwrap();
    let source = "import pickle\n\ndef f(x):\n    s = \"é😀\"; return pickle.loads(x)\n";
    std::fs::write(sub.join("a b#100%.py"), source).unwrap();

    let sarif = sarif_of(dir.path(), &["--category", "hassec/", "."]);
    let run = &sarif["runs"][0];
    assert_eq!(run["automationDetails"]["id"], "hassec/");
    let result = &run["results"][0];
    let location = &result["locations"][0]["physicalLocation"];
    assert_eq!(
        location["artifactLocation"]["uri"],
        "%C3%BC%20dir/a%20b%23100%25.py"
    );
    // `pickle.loads` starts at character 22 of its line, and at UTF-16 unit 23:
    // the emoji before it is two units.
    assert_eq!(location["region"]["startColumn"], 23);
    assert_eq!(location["region"]["startLine"], 4);
    assert_eq!(
        result["partialFingerprints"]["primaryLocationLineHash"],
        fingerprint::line_hashes(source)[3].as_str()
    );
}

#[test]
fn files_not_scanned_become_tool_execution_notifications() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("big.py"), "import pickle\n").unwrap();
    std::fs::write(dir.path().join(".hassec.toml"), "max-file-size = 4\n").unwrap();

    let output = hassec()
        .current_dir(dir.path())
        .args(["scan", "--format", "sarif", "big.py", "missing file.py"])
        .output()
        .unwrap();
    assert_eq!(
        output.status.code(),
        Some(0),
        "nothing found, nothing fails"
    );
    let sarif: Value = serde_json::from_slice(&output.stdout).unwrap();
    let invocation = &sarif["runs"][0]["invocations"][0];
    assert_eq!(invocation["executionSuccessful"], true);
    assert!(invocation["startTimeUtc"].as_str().unwrap().ends_with('Z'));
    let notifications = invocation["toolExecutionNotifications"].as_array().unwrap();
    let summary: Vec<(&str, &str)> = notifications
        .iter()
        .map(|n| {
            (
                n["level"].as_str().unwrap(),
                n["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
                    .as_str()
                    .unwrap(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        [("warning", "big.py"), ("note", "missing%20file.py")]
    );
    assert!(
        notifications[0]["message"]["text"]
            .as_str()
            .unwrap()
            .contains("max-file-size")
    );
}

#[test]
fn category_is_refused_with_other_formats() {
    let output = hassec()
        .args([
            "scan",
            "--isolated",
            "--category",
            "x/",
            "tests/fixtures/sarif",
        ])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
}

#[test]
fn snapshot_of_one_small_scan() {
    let config = Config {
        select: Some(vec!["HAS703".into()]),
        ..Config::default()
    };
    let scanner = Scanner::new(&config).unwrap();
    let report = scanner.scan_paths(&["tests/fixtures/sarif/restore_state.py".into()], false);
    assert_eq!(report.findings.len(), 2);
    let options = sarif::SarifOptions {
        category: Some("hassec/".into()),
        ..sarif::SarifOptions::default()
    };
    let mut value: Value =
        serde_json::from_str(&sarif::render(&report, scanner.rules(), &options)).unwrap();
    value["runs"][0]["tool"]["driver"]["semanticVersion"] = "[version]".into();
    insta::assert_json_snapshot!("restore_state", value);
}
