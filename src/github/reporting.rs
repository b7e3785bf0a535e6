//! The two reports the action delivers, from [`crate::report`]: SARIF for code
//! scanning and workflow commands for annotations. This module only fixes the
//! options the action uses and escapes the action's own messages.

use chrono::{DateTime, Utc};

use crate::{
    finding::Finding,
    report::{self, sarif::SarifOptions},
    rules::Rule,
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

/// The SARIF log of a scan, with the category and the scan's times.
pub fn sarif(
    report: &ScanReport,
    rules: &[&'static Rule],
    category: &str,
    started: DateTime<Utc>,
    ended: DateTime<Utc>,
) -> String {
    report::sarif::render(
        report,
        rules,
        &SarifOptions {
            category: Some(automation_id(category)),
            start_time: Some(started),
            end_time: Some(ended),
        },
    )
}

/// The workflow command (annotation) of one finding.
pub fn command(finding: &Finding) -> String {
    report::github::command(finding)
}

/// A workflow command of the action's own (`warning`, `error`, `notice`), escaped.
pub fn message(kind: &str, title: &str, text: &str) -> String {
    format!(
        "::{kind} title={}::{}",
        report::github::escape_property(title),
        report::github::escape_data(text)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn category_and_messages() {
        assert_eq!(automation_id("hassec"), "hassec/");
        assert_eq!(automation_id("hassec/pr/"), "hassec/pr/");
        assert_eq!(
            message("warning", "hassec: a, b", "line one\nline: two"),
            "::warning title=hassec%3A a%2C b::line one%0Aline: two"
        );
    }
}
