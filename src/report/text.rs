//! Text output, like ruff's: `path:line:col: HAS301 message`, then a summary.

use std::fmt::Write;

use anstyle::{AnsiColor, Style};

use crate::{finding::Finding, rules::Level, scan::ScanReport};

fn level_style(level: Level) -> Style {
    let color = match level {
        Level::Error => AnsiColor::Red,
        Level::Warning => AnsiColor::Yellow,
        Level::Note => AnsiColor::Cyan,
    };
    Style::new().fg_color(Some(color.into())).bold()
}

/// One line per finding, then the summary. Styles are ANSI escapes; the caller's
/// stream (anstream) strips them when colour is off (not a TTY, `NO_COLOR`).
pub fn render(report: &ScanReport, statistics: bool) -> String {
    let mut out = render_findings(report, statistics);
    out.push_str(&summary(report));
    out
}

/// [`render`] without the summary (`--quiet`).
pub fn render_findings(report: &ScanReport, statistics: bool) -> String {
    let bold = Style::new().bold();
    let mut out = String::new();
    for finding in &report.findings {
        let style = level_style(finding.level());
        let _ = writeln!(
            out,
            "{bold}{}{bold:#}:{}:{}: {style}{}{style:#} {}",
            finding.path,
            finding.start.line,
            finding.start.column,
            finding.rule.id,
            finding.message
        );
    }
    for unused in &report.unused_suppressions {
        let what = if unused.rules.is_empty() {
            "suppresses nothing".to_string()
        } else {
            format!("{} suppresses nothing here", unused.rules.join(", "))
        };
        let _ = writeln!(
            out,
            "{bold}{}{bold:#}:{}: unused suppression `{}`: {what}",
            unused.path, unused.line, unused.directive
        );
    }
    if statistics && !report.findings.is_empty() {
        out.push('\n');
        out.push_str(&render_statistics(&report.findings));
    }
    out
}

/// Findings per rule, most frequent first, like `ruff --statistics`.
pub fn render_statistics(findings: &[Finding]) -> String {
    let mut counts: Vec<(usize, &str, &str, Level)> = Vec::new();
    for finding in findings {
        match counts.iter_mut().find(|c| c.1 == finding.rule.id) {
            Some(entry) => entry.0 += 1,
            None => counts.push((1, &finding.rule.id, &finding.rule.name, finding.rule.level)),
        }
    }
    counts.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(b.1)));
    let mut out = String::new();
    for (count, id, name, level) in counts {
        let _ = writeln!(out, "{count:>6}  {id}  {name:<36} {level}");
    }
    out
}

/// `Found 3 findings (2 errors, 1 warning, 0 notes) in 12 files`, plus what was
/// suppressed, skipped or could not be read: [`summary_parts`], a line each.
pub fn summary(report: &ScanReport) -> String {
    let mut parts = summary_parts(report);
    if !report.errors.is_empty()
        && let Some(last) = parts.last_mut()
    {
        last.push_str(" (see above)");
    }
    let mut out = parts.join("\n");
    out.push('\n');
    out
}

/// What the summary says, statement by statement: the counts, what was
/// suppressed, what the baseline left out, and how many files could not be
/// scanned (last).
pub fn summary_parts(report: &ScanReport) -> Vec<String> {
    let count = |level| {
        report
            .findings
            .iter()
            .filter(|f| f.level() == level)
            .count()
    };
    let mut parts = vec![format!(
        "Found {} ({}, {}, {}) in {}",
        plural(report.findings.len(), "finding"),
        plural(count(Level::Error), "error"),
        plural(count(Level::Warning), "warning"),
        plural(count(Level::Note), "note"),
        plural(report.files_scanned, "file"),
    )];
    if !report.suppressed.is_empty() {
        let nosec = report
            .suppressed
            .iter()
            .filter(|s| s.by == crate::finding::SuppressedBy::Nosec)
            .count();
        let mut part = format!("{} suppressed", report.suppressed.len());
        if nosec > 0 {
            let _ = write!(part, " ({nosec} by `# nosec`)");
        }
        parts.push(part);
    }
    if let Some(baseline) = &report.baseline {
        let mut part = format!(
            "{} in the baseline not shown",
            plural(baseline.matched, "finding")
        );
        match baseline.stale {
            0 => {}
            1 => part.push_str("; 1 baseline entry no longer occurs"),
            n => {
                let _ = write!(part, "; {n} baseline entries no longer occur");
            }
        }
        parts.push(part);
    }
    if !report.errors.is_empty() {
        parts.push(format!(
            "{} could not be scanned",
            plural(report.errors.len(), "file")
        ));
    }
    parts
}

/// `1 file`, `2 files`.
pub fn plural(n: usize, word: &str) -> String {
    if n == 1 {
        format!("1 {word}")
    } else {
        format!("{n} {word}s")
    }
}
