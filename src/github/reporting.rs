//! The two reports the action delivers: SARIF for code scanning and workflow
//! commands for annotations. Both come from [`crate::report`]; this module only
//! fixes the options the action uses.
//!
//! TEMPORARY: until the SARIF and workflow-command reporters are on main, a
//! minimal SARIF 2.1.0 log and workflow command are written here so that the
//! action can be built and tested end to end. On merge, both bodies become calls
//! to `report::sarif::render` and `report::github::command`.

use chrono::{DateTime, Utc};
use serde_json::json;

use crate::{
    finding::Finding,
    rules::{Level, Rule},
    scan::ScanReport,
};

/// Code scanning's category as `automationDetails.id`: like the CodeQL action,
/// `hassec` becomes `hassec/`.
pub fn automation_id(category: &str) -> String {
    if category.ends_with('/') {
        category.to_string()
    } else {
        format!("{category}/")
    }
}

fn sarif_level(level: Level) -> &'static str {
    level.as_str()
}

/// The SARIF log of a scan.
pub fn sarif(
    report: &ScanReport,
    rules: &[&'static Rule],
    category: &str,
    started: DateTime<Utc>,
    ended: DateTime<Utc>,
) -> String {
    let rule_index = |id: &str| rules.iter().position(|r| r.id == id);
    let results: Vec<_> = report
        .findings
        .iter()
        .map(|f| {
            json!({
                "ruleId": f.rule.id,
                "ruleIndex": rule_index(&f.rule.id),
                "level": sarif_level(f.level()),
                "message": {"text": f.message},
                "locations": [{"physicalLocation": {
                    "artifactLocation": {"uri": f.path, "uriBaseId": "%SRCROOT%"},
                    "region": {
                        "startLine": f.start.line, "startColumn": f.start.utf16_column,
                        "endLine": f.end.line, "endColumn": f.end.utf16_column
                    }
                }}],
                "partialFingerprints": {"primaryLocationLineHash": f.fingerprint},
            })
        })
        .collect();
    let driver_rules: Vec<_> = rules
        .iter()
        .map(|r| {
            json!({
                "id": r.id, "name": r.name,
                "shortDescription": {"text": r.summary},
                "help": {"text": r.help, "markdown": r.help},
                "defaultConfiguration": {"level": sarif_level(r.level)},
                "properties": {"security-severity": r.security_severity, "tags": ["security", r.cwe_tag()]},
            })
        })
        .collect();
    let log = json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "hassec",
                "version": env!("CARGO_PKG_VERSION"),
                "informationUri": env!("CARGO_PKG_REPOSITORY"),
                "rules": driver_rules,
            }},
            "automationDetails": {"id": automation_id(category)},
            "invocations": [{
                "executionSuccessful": true,
                "startTimeUtc": started.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                "endTimeUtc": ended.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            }],
            "results": results,
        }]
    });
    let mut out = serde_json::to_string_pretty(&log).expect("SARIF serializes");
    out.push('\n');
    out
}

fn escape_data(value: &str) -> String {
    value
        .replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

fn escape_property(value: &str) -> String {
    escape_data(value).replace(':', "%3A").replace(',', "%2C")
}

/// The workflow command (annotation) of one finding.
pub fn command(finding: &Finding) -> String {
    let name = match finding.level() {
        Level::Error => "error",
        Level::Warning => "warning",
        Level::Note => "notice",
    };
    format!(
        "::{name} file={},line={},col={},endLine={},endColumn={},title={}::{}",
        escape_property(&finding.path),
        finding.start.line,
        finding.start.column,
        finding.end.line,
        finding.end.column,
        escape_property(&format!("{} {}", finding.rule.id, finding.rule.name)),
        escape_data(&finding.message)
    )
}

/// A workflow command of the action's own (`warning`, `error`, `notice`), escaped.
pub fn message(kind: &str, title: &str, text: &str) -> String {
    format!(
        "::{kind} title={}::{}",
        escape_property(title),
        escape_data(text)
    )
}
