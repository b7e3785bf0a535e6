//! The job summary (`GITHUB_STEP_SUMMARY`): Markdown with counts by level and
//! rule, the findings in the tables of `--format markdown` (`report::markdown`)
//! linking to their lines and to the rule's help, and the findings outside the
//! diff in a collapsed section. GitHub refuses a step summary over 1 MiB, so
//! tables stop short of that and say how many rows they left out.

use std::fmt::Write;

use percent_encoding::{AsciiSet, CONTROLS, utf8_percent_encode};

use crate::{
    finding::Finding,
    report::markdown,
    rules::{Level, Rule},
};

/// Kept under GitHub's 1 MiB limit with room for the text around the tables.
pub const MAX_BYTES: usize = 1_000_000;

/// Characters to escape in a path used in a URL (`/` stays).
const PATH: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'%')
    .add(b'<')
    .add(b'>')
    .add(b'?')
    .add(b'`')
    .add(b'{')
    .add(b'}');

/// What the summary says besides the findings.
pub struct SummaryContext<'a> {
    /// `https://github.com/owner/repo/blob/<sha>`: links to lines at the head commit.
    pub blob_base: String,
    /// What was scanned, in a sentence.
    pub scope: String,
    /// What happened to the upload, in a sentence.
    pub upload: String,
    pub findings: &'a [&'a Finding],
    /// Findings of the scanned files that the filter left out.
    pub outside: &'a [&'a Finding],
}

fn line_link(blob_base: &str, finding: &Finding) -> String {
    let last = finding.end.line.max(finding.start.line);
    let anchor = if last > finding.start.line {
        format!("L{}-L{last}", finding.start.line)
    } else {
        format!("L{}", finding.start.line)
    };
    format!(
        "[{}]({blob_base}/{}#{anchor})",
        markdown::code(&format!("{}:{}", finding.path, finding.start.line)),
        utf8_percent_encode(&finding.path, PATH)
    )
}

fn level_counts(findings: &[&Finding]) -> String {
    let count = |level| findings.iter().filter(|f| f.level() == level).count();
    format!(
        "| level | findings |\n|---|---|\n| error | {} |\n| warning | {} |\n| note | {} |\n",
        count(Level::Error),
        count(Level::Warning),
        count(Level::Note)
    )
}

fn rule_counts(findings: &[&Finding]) -> String {
    let mut counts: Vec<(&Rule, Level, usize)> = Vec::new();
    for finding in findings {
        match counts
            .iter_mut()
            .find(|(rule, level, _)| rule.id == finding.rule.id && *level == finding.level())
        {
            Some(entry) => entry.2 += 1,
            None => counts.push((finding.rule, finding.level(), 1)),
        }
    }
    counts.sort_by(|a, b| b.1.cmp(&a.1).then(b.2.cmp(&a.2)).then(a.0.id.cmp(&b.0.id)));
    let mut out = String::from("| rule | level | findings |\n|---|---|---|\n");
    for (rule, level, count) in counts {
        let _ = writeln!(
            out,
            "| {} {} | {level} | {count} |",
            markdown::rule_link(rule),
            markdown::code(&rule.name)
        );
    }
    out
}

/// The findings' tables (those of the `--format markdown` report, the
/// locations linked to the lines), stopping before `budget` bytes.
fn tables(blob_base: &str, findings: &[&Finding], budget: usize) -> String {
    let mut tables = markdown::level_tables(
        findings,
        &|finding| line_link(blob_base, finding),
        budget,
        &|left_out| {
            format!(
                "*{left_out} more not listed: the summary is limited to 1 MiB; the SARIF file has them all.*\n"
            )
        },
    );
    if !tables.ends_with("\n\n") {
        tables.push('\n');
    }
    tables
}

pub fn render(context: &SummaryContext) -> String {
    let mut out = String::from("## hassec\n\n");
    let _ = writeln!(out, "{}\n", context.scope);
    let total = context.findings.len();
    if total == 0 {
        out.push_str("**No findings.**\n\n");
    } else {
        let _ = writeln!(
            out,
            "**{total} finding{}**\n",
            if total == 1 { "" } else { "s" }
        );
        out.push_str(&level_counts(context.findings));
        out.push('\n');
        out.push_str(&rule_counts(context.findings));
        out.push('\n');
    }
    let tail_room = 4096;
    if total > 0 {
        let budget = MAX_BYTES.saturating_sub(out.len() + tail_room) / 2;
        let budget = if context.outside.is_empty() {
            budget * 2
        } else {
            budget
        };
        out.push_str(&tables(&context.blob_base, context.findings, budget));
    }
    if !context.outside.is_empty() {
        let count = context.outside.len();
        let _ = writeln!(
            out,
            "<details><summary>{count} finding{} in the scanned files outside the diff</summary>\n",
            if count == 1 { "" } else { "s" }
        );
        let budget = MAX_BYTES.saturating_sub(out.len() + tail_room);
        out.push_str(&tables(&context.blob_base, context.outside, budget));
        out.push_str("</details>\n\n");
    }
    let _ = writeln!(out, "{}", context.upload);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{finding::Position, rules};

    fn finding(path: &str, level: Level, line: usize, message: &str) -> Finding {
        let rule = &rules::all()[0];
        Finding {
            rule,
            level,
            path: path.into(),
            start: Position {
                line,
                column: 3,
                utf16_column: 3,
            },
            end: Position {
                line: line + 1,
                column: 3,
                utf16_column: 3,
            },
            message: message.into(),
            fingerprint: "f".into(),
            code_fingerprint: String::new(),
        }
    }

    #[test]
    fn counts_links_and_the_collapsed_section() {
        let a = finding(
            "custom_components/x/a b.py",
            Level::Error,
            4,
            "bad | thing <b>",
        );
        let b = finding("custom_components/x/c.py", Level::Warning, 9, "meh");
        let out_of_diff = finding("custom_components/x/c.py", Level::Error, 90, "old");
        let summary = render(&SummaryContext {
            blob_base: "https://github.com/o/r/blob/abc".into(),
            scope: "Scanned 2 changed files.".into(),
            upload: "Uploaded.".into(),
            findings: &[&b, &a],
            outside: &[&out_of_diff],
        });
        assert!(summary.contains("**2 findings**"), "{summary}");
        assert!(
            summary.contains("| error | 1 |\n| warning | 1 |\n| note | 0 |"),
            "{summary}"
        );
        assert!(
            summary.contains("[`custom_components/x/a b.py:4`](https://github.com/o/r/blob/abc/custom_components/x/a%20b.py#L4-L5)"),
            "{summary}"
        );
        assert!(summary.contains("bad \\| thing &lt;b&gt;"), "{summary}");
        let rule = &rules::all()[0];
        assert!(summary.contains(&format!(
            "[{}](https://github.com/hassec/hassec/blob/main/rules/{})",
            rule.id, rule.file
        )));
        // The tables of `--format markdown`, most severe first.
        assert!(
            summary.contains("### Errors (1)\n\n| rule | location | message |\n|---|---|---|\n"),
            "{summary}"
        );
        assert!(summary.find("a%20b.py").unwrap() < summary.find("c.py#L9").unwrap());
        let details = summary
            .find("<details><summary>1 finding in the scanned files outside the diff")
            .unwrap();
        assert!(summary[details..].contains("c.py#L90"));
        assert!(summary.ends_with("Uploaded.\n"));
    }

    #[test]
    fn stays_under_the_limit() {
        let long = "x".repeat(2000);
        let many: Vec<Finding> = (1..=2000)
            .map(|l| finding("a.py", Level::Error, l, &long))
            .collect();
        let refs: Vec<&Finding> = many.iter().collect();
        let summary = render(&SummaryContext {
            blob_base: "https://github.com/o/r/blob/abc".into(),
            scope: String::new(),
            upload: String::new(),
            findings: &refs,
            outside: &refs,
        });
        assert!(summary.len() < 1024 * 1024, "{}", summary.len());
        assert!(summary.contains("more not listed"));
        assert!(summary.contains("</details>"));
    }

    #[test]
    fn no_findings() {
        let summary = render(&SummaryContext {
            blob_base: String::new(),
            scope: "Scanned 3 files.".into(),
            upload: String::new(),
            findings: &[],
            outside: &[],
        });
        assert!(summary.contains("**No findings.**"));
        assert!(!summary.contains("| level |"));
    }
}
