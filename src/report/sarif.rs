//! SARIF 2.1.0 output, shaped for GitHub code scanning.
//!
//! One run whose `tool.driver.rules` lists every enabled rule; each finding is a
//! result pointing at its rule by `ruleId` and `ruleIndex`, with one physical
//! location (a percent-encoded URI relative to `%SRCROOT%`, UTF-16 columns) and
//! the `primaryLocationLineHash` fingerprint code scanning tracks alerts by.
//! Files that could not be scanned become tool execution notifications, so a
//! consumer can tell that the results may be incomplete.
//!
//! Entry points: [`to_sarif`] builds the typed log, [`render`] serializes it.
//! Both are pure: the caller measures the time and writes the bytes.

use std::collections::BTreeMap;

use chrono::{DateTime, SecondsFormat, Utc};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use serde_json::json;
use serde_sarif::sarif::{
    ArtifactLocation, Invocation, Location, Message, MultiformatMessageString, Notification,
    PhysicalLocation, PropertyBag, Region, ReportingConfiguration, ReportingDescriptor, Result,
    ResultLevel, Run, RunAutomationDetails, Sarif, Tool, ToolComponent,
};

use crate::{
    finding::Finding,
    rules::{Level, Rule},
    scan::{FileError, ScanReport, Skipped},
};

/// The schema GitHub and the SARIF validators expect (the OASIS final 2.1.0 schema).
pub const SCHEMA_URI: &str = "https://json.schemastore.org/sarif-2.1.0.json";

/// The base that result URIs are relative to: the repository root, as code scanning
/// and CodeQL call it.
pub const SRCROOT: &str = "%SRCROOT%";

/// What the report alone does not say.
#[derive(Debug, Clone, Default)]
pub struct SarifOptions {
    /// `runs[0].automationDetails.id`: code scanning's *category*, which keeps the
    /// alerts of different analyses of one repository apart (`hassec/`,
    /// `hassec/pull-request/`). `None` leaves it out.
    pub category: Option<String>,
    /// When the scan started and ended, for `invocations[0]`.
    pub start_time: Option<DateTime<Utc>>,
    pub end_time: Option<DateTime<Utc>>,
}

/// The SARIF log of one scan, serialized as pretty JSON with a final newline.
///
/// `rules` are the rules that ran (`Scanner::rules()`), in the order they are to
/// be listed; a finding of a rule missing from it is listed after them.
pub fn render(report: &ScanReport, rules: &[&'static Rule], options: &SarifOptions) -> String {
    let sarif = to_sarif(report, rules, options);
    let mut out = serde_json::to_string_pretty(&sarif).expect("a SARIF log always serializes");
    out.push('\n');
    out
}

/// The SARIF log of one scan, as `serde-sarif` values (see [`render`]).
pub fn to_sarif(report: &ScanReport, rules: &[&'static Rule], options: &SarifOptions) -> Sarif {
    let mut listed: Vec<&'static Rule> = rules.to_vec();
    for finding in &report.findings {
        if !listed.iter().any(|rule| rule.id == finding.rule.id) {
            listed.push(finding.rule);
        }
    }
    let results: Vec<Result> = report
        .findings
        .iter()
        .map(|finding| {
            let index = listed
                .iter()
                .position(|rule| rule.id == finding.rule.id)
                .expect("every finding's rule was listed above");
            result(finding, index)
        })
        .collect();

    let driver = ToolComponent::builder()
        .name("hassec")
        .semantic_version(env!("CARGO_PKG_VERSION"))
        .information_uri(env!("CARGO_PKG_REPOSITORY"))
        .rules(
            listed
                .iter()
                .map(|rule| descriptor(rule))
                .collect::<Vec<_>>(),
        )
        .build();

    let mut run = Run::builder()
        .tool(Tool::builder().driver(driver).build())
        .results(results)
        .invocations(vec![invocation(report, options)])
        .column_kind(json!("utf16CodeUnits"))
        .build();
    if let Some(category) = &options.category {
        run.automation_details = Some(RunAutomationDetails::builder().id(category.clone()).build());
    }

    Sarif::builder()
        .schema(SCHEMA_URI)
        .version(json!("2.1.0"))
        .runs(vec![run])
        .build()
}

/// A rule's metadata as code scanning shows it: the summary as the title, the
/// help as the alert's documentation, CWE and severity as tags and properties.
fn descriptor(rule: &Rule) -> ReportingDescriptor {
    let mut properties = BTreeMap::new();
    properties.insert("precision".to_string(), json!(rule.precision.as_str()));
    properties.insert(
        "security-severity".to_string(),
        json!(rule.security_severity),
    );
    properties.insert(
        "problem.severity".to_string(),
        json!(problem_severity(rule.level)),
    );
    if let Some(pack) = &rule.pack {
        // The rule pack's file the rule was read from.
        properties.insert("source".to_string(), json!(pack.path));
    }
    let mut descriptor = ReportingDescriptor::builder()
        .id(rule.id.clone())
        .name(rule.name.clone())
        .short_description(text(&rule.summary))
        .full_description(text(&full_description(rule)))
        .help(
            MultiformatMessageString::builder()
                .text(rule.help.trim().to_string())
                .markdown(rule.help.trim().to_string())
                .build(),
        )
        .default_configuration(
            ReportingConfiguration::builder()
                .level(json!(rule.level.as_str()))
                .build(),
        )
        .properties(
            PropertyBag::builder()
                .tags(vec![
                    "security".to_string(),
                    "home-assistant".to_string(),
                    rule.cwe_tag(),
                ])
                .additional_properties(properties)
                .build(),
        )
        .build();
    descriptor.help_uri = help_uri(rule);
    descriptor
}

/// The rule's file in the repository: its query, help and examples.
pub fn help_uri(rule: &Rule) -> Option<String> {
    // A rule pack's rule has no page in hassec's repository: its help is inline.
    (!rule.file.is_empty() && rule.pack.is_none()).then(|| {
        format!(
            "{}/blob/main/rules/{}",
            env!("CARGO_PKG_REPOSITORY"),
            encode_path(&rule.file)
        )
    })
}

/// CodeQL's `problem.severity` vocabulary, which GitHub reads for non-security
/// severity: `note` is called `recommendation` there.
fn problem_severity(level: Level) -> &'static str {
    match level {
        Level::Error => "error",
        Level::Warning => "warning",
        Level::Note => "recommendation",
    }
}

/// The help's first paragraph (the "why"), on one line; the summary when the help
/// starts with something else (a heading, an example).
fn full_description(rule: &Rule) -> String {
    let first = rule
        .help
        .trim()
        .split("\n\n")
        .next()
        .unwrap_or_default()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    if first.is_empty() || first.starts_with(['#', '*', '`', '-']) {
        rule.summary.clone()
    } else {
        first
    }
}

fn text(s: &str) -> MultiformatMessageString {
    MultiformatMessageString::builder()
        .text(s.to_string())
        .build()
}

fn result(finding: &Finding, rule_index: usize) -> Result {
    let region = Region::builder()
        .start_line(as_i64(finding.start.line))
        .start_column(as_i64(finding.start.utf16_column))
        .end_line(as_i64(finding.end.line))
        .end_column(as_i64(finding.end.utf16_column))
        .build();
    let physical = PhysicalLocation::builder()
        .artifact_location(artifact(&finding.path))
        .region(region)
        .build();
    let mut fingerprints = BTreeMap::new();
    fingerprints.insert(
        "primaryLocationLineHash".to_string(),
        finding.fingerprint.clone(),
    );
    Result::builder()
        .rule_id(finding.rule.id.clone())
        .rule_index(as_i64(rule_index))
        .level(result_level(finding.level()))
        .message(Message::builder().text(finding.message.clone()).build())
        .locations(vec![
            Location::builder().physical_location(physical).build(),
        ])
        .partial_fingerprints(fingerprints)
        .build()
}

fn result_level(level: Level) -> ResultLevel {
    match level {
        Level::Error => ResultLevel::Error,
        Level::Warning => ResultLevel::Warning,
        Level::Note => ResultLevel::Note,
    }
}

/// Positions come from files that fit in memory, so they always fit an i64.
fn as_i64(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

fn invocation(report: &ScanReport, options: &SarifOptions) -> Invocation {
    let notifications: Vec<Notification> = report
        .errors
        .iter()
        .map(error_notification)
        .chain(report.skipped.iter().map(skipped_notification))
        .collect();
    // The scan ran to its end: files it could not read are reported as
    // notifications, not as a failed execution (code scanning rejects the whole
    // upload of a run whose execution was unsuccessful).
    let mut invocation = Invocation::builder().execution_successful(true).build();
    if !notifications.is_empty() {
        invocation.tool_execution_notifications = Some(notifications);
    }
    invocation.start_time_utc = options.start_time.map(utc);
    invocation.end_time_utc = options.end_time.map(utc);
    invocation
}

fn utc(time: DateTime<Utc>) -> String {
    time.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// A file that could not be scanned: an error (its findings are missing), except a
/// file left out on purpose for its size, which the configuration asked for.
fn error_notification(error: &FileError) -> Notification {
    let level = if error.message.contains("max-file-size") {
        "warning"
    } else {
        "error"
    };
    notification(level, &error.path, &error.message)
}

fn skipped_notification(skipped: &Skipped) -> Notification {
    notification(
        "note",
        &skipped.path,
        &format!("skipped: {}", skipped.reason),
    )
}

fn notification(level: &str, path: &str, message: &str) -> Notification {
    let location = Location::builder()
        .physical_location(
            PhysicalLocation::builder()
                .artifact_location(artifact(path))
                .build(),
        )
        .build();
    Notification::builder()
        .level(json!(level))
        .message(Message::builder().text(sentence(message)).build())
        .locations(vec![location])
        .build()
}

/// SARIF asks plain-text messages to be sentences ending with a period.
fn sentence(message: &str) -> String {
    let trimmed = message.trim_end();
    if trimmed.ends_with(['.', '!', '?']) {
        trimmed.to_string()
    } else {
        format!("{trimmed}.")
    }
}

/// Characters kept as they are in a URI path: RFC 3986 unreserved ones and `/`.
/// Everything else (spaces, `%`, `#`, `?`, `:`, non-ASCII...) is percent-encoded
/// as UTF-8, so the URI is valid and decodes back to the path.
const PATH: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~')
    .remove(b'/');

/// The artifact location of a displayed path: relative paths (the usual case,
/// relative to the repository root) become relative URIs against `%SRCROOT%`;
/// absolute ones (a file outside the working directory) become `file://` URIs.
pub fn artifact(path: &str) -> ArtifactLocation {
    let encoded = encode_path(path);
    if path.starts_with('/') {
        ArtifactLocation::builder()
            .uri(format!("file://{encoded}"))
            .build()
    } else if is_windows_absolute(path) {
        ArtifactLocation::builder()
            .uri(format!(
                "file:///{}:{}",
                &path[..1],
                encode_path(&path[2..])
            ))
            .build()
    } else {
        ArtifactLocation::builder()
            .uri(encoded)
            .uri_base_id(SRCROOT)
            .build()
    }
}

/// A `/`-separated path as a URI path (see [`PATH`]).
pub fn encode_path(path: &str) -> String {
    utf8_percent_encode(path, PATH).to_string()
}

fn is_windows_absolute(path: &str) -> bool {
    let bytes = path.as_bytes();
    bytes.len() >= 3 && bytes[0].is_ascii_alphabetic() && bytes[1] == b':' && bytes[2] == b'/'
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::finding::Position;

    fn rule(id: &str) -> &'static Rule {
        crate::rules::find(id).expect("built-in rule")
    }

    fn finding(rule: &'static Rule, path: &str) -> Finding {
        Finding {
            rule,
            level: rule.level,
            path: path.to_string(),
            start: Position {
                line: 2,
                column: 5,
                utf16_column: 6,
            },
            end: Position {
                line: 2,
                column: 9,
                utf16_column: 10,
            },
            message: "a message".to_string(),
            fingerprint: "abc:1".to_string(),
            code_fingerprint: String::new(),
        }
    }

    fn value(
        report: &ScanReport,
        rules: &[&'static Rule],
        options: &SarifOptions,
    ) -> serde_json::Value {
        serde_json::from_str(&render(report, rules, options)).unwrap()
    }

    #[test]
    fn paths_become_encoded_relative_uris() {
        assert_eq!(
            encode_path("custom_components/a b/x.py"),
            "custom_components/a%20b/x.py"
        );
        assert_eq!(encode_path("100%#1?.py"), "100%25%231%3F.py");
        assert_eq!(encode_path("é/😀.py"), "%C3%A9/%F0%9F%98%80.py");
        assert_eq!(
            encode_path("a:b.py"),
            "a%3Ab.py",
            "not mistaken for a scheme"
        );
        let relative = artifact("src/a.py");
        assert_eq!(relative.uri.as_deref(), Some("src/a.py"));
        assert_eq!(relative.uri_base_id.as_deref(), Some(SRCROOT));
        let absolute = artifact("/tmp/a b.py");
        assert_eq!(absolute.uri.as_deref(), Some("file:///tmp/a%20b.py"));
        assert_eq!(absolute.uri_base_id, None);
        let windows = artifact("C:/x/a.py");
        assert_eq!(windows.uri.as_deref(), Some("file:///C:/x/a.py"));
    }

    #[test]
    fn results_point_at_their_rule_by_index() {
        let (a, b) = (rule("HAS301"), rule("HAS703"));
        let report = ScanReport {
            findings: vec![finding(b, "x.py"), finding(a, "y.py")],
            ..ScanReport::default()
        };
        let sarif = value(&report, &[a, b], &SarifOptions::default());
        let run = &sarif["runs"][0];
        assert_eq!(run["tool"]["driver"]["rules"][1]["id"], "HAS703");
        assert_eq!(run["results"][0]["ruleId"], "HAS703");
        assert_eq!(run["results"][0]["ruleIndex"], 1);
        assert_eq!(run["results"][1]["ruleIndex"], 0);
        let region = &run["results"][0]["locations"][0]["physicalLocation"]["region"];
        assert_eq!(region["startColumn"], 6, "UTF-16 columns");
        assert_eq!(region["endColumn"], 10);
        assert_eq!(run["columnKind"], "utf16CodeUnits");
    }

    #[test]
    fn a_finding_of_an_unlisted_rule_still_gets_its_descriptor() {
        let (a, b) = (rule("HAS301"), rule("HAS703"));
        let report = ScanReport {
            findings: vec![finding(b, "x.py")],
            ..ScanReport::default()
        };
        let sarif = value(&report, &[a], &SarifOptions::default());
        let run = &sarif["runs"][0];
        assert_eq!(run["tool"]["driver"]["rules"][1]["id"], "HAS703");
        assert_eq!(run["results"][0]["ruleIndex"], 1);
    }

    #[test]
    fn rule_metadata_carries_severity_and_tags() {
        let r = rule("HAS703");
        let sarif = value(&ScanReport::default(), &[r], &SarifOptions::default());
        let descriptor = &sarif["runs"][0]["tool"]["driver"]["rules"][0];
        assert_eq!(descriptor["name"], "unsafe-deserialization");
        assert_eq!(descriptor["shortDescription"]["text"], r.summary.as_str());
        assert_eq!(descriptor["defaultConfiguration"]["level"], "error");
        assert_eq!(descriptor["properties"]["security-severity"], "8.1");
        assert_eq!(descriptor["properties"]["problem.severity"], "error");
        assert_eq!(descriptor["properties"]["precision"], "high");
        assert_eq!(
            descriptor["properties"]["tags"],
            json!(["security", "home-assistant", "external/cwe/cwe-502"])
        );
        assert!(
            descriptor["help"]["markdown"]
                .as_str()
                .unwrap()
                .contains("**Bad**")
        );
        let full = descriptor["fullDescription"]["text"].as_str().unwrap();
        assert!(
            full.starts_with("Unpickling runs code") && !full.contains('\n'),
            "{full}"
        );
        assert_eq!(problem_severity(Level::Note), "recommendation");
    }

    #[test]
    fn category_and_times_are_optional() {
        let bare = value(&ScanReport::default(), &[], &SarifOptions::default());
        assert!(bare["runs"][0].get("automationDetails").is_none());
        assert!(
            bare["runs"][0]["invocations"][0]
                .get("startTimeUtc")
                .is_none()
        );
        assert_eq!(
            bare["runs"][0]["invocations"][0]["executionSuccessful"],
            true
        );
        assert_eq!(bare["version"], "2.1.0");
        assert_eq!(bare["$schema"], SCHEMA_URI);

        let time = DateTime::parse_from_rfc3339("2026-01-02T03:04:05Z")
            .unwrap()
            .with_timezone(&Utc);
        let options = SarifOptions {
            category: Some("hassec/".into()),
            start_time: Some(time),
            end_time: Some(time),
        };
        let full = value(&ScanReport::default(), &[], &options);
        assert_eq!(full["runs"][0]["automationDetails"]["id"], "hassec/");
        assert_eq!(
            full["runs"][0]["invocations"][0]["startTimeUtc"],
            "2026-01-02T03:04:05.000Z"
        );
    }

    #[test]
    fn unscanned_files_become_notifications() {
        let report = ScanReport {
            errors: vec![
                FileError {
                    path: "a b.py".into(),
                    message: "cannot read: Permission denied (os error 13)".into(),
                },
                FileError {
                    path: "big.py".into(),
                    message: "skipped: 9 bytes is over max-file-size (1 bytes)".into(),
                },
            ],
            skipped: vec![Skipped {
                path: "link.py".into(),
                reason: "symbolic link, not followed".into(),
            }],
            ..ScanReport::default()
        };
        let sarif = value(&report, &[], &SarifOptions::default());
        let invocation = &sarif["runs"][0]["invocations"][0];
        assert_eq!(invocation["executionSuccessful"], true);
        let notes = invocation["toolExecutionNotifications"].as_array().unwrap();
        let levels: Vec<&str> = notes.iter().map(|n| n["level"].as_str().unwrap()).collect();
        assert_eq!(levels, ["error", "warning", "note"]);
        assert_eq!(
            notes[0]["message"]["text"],
            "cannot read: Permission denied (os error 13)."
        );
        let uri = &notes[0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"];
        assert_eq!(uri, "a%20b.py");
        assert_eq!(
            notes[2]["message"]["text"],
            "skipped: symbolic link, not followed."
        );
    }
}
