//! Markdown for people: the report a reviewer pastes into a pull request or an
//! issue comment (`--format markdown`), and the tables of findings that the
//! action's job summary shows too.
//!
//! ```markdown
//! ## hassec
//!
//! Found 2 findings (1 error, 1 warning, 0 notes) in 3 files
//!
//! ### Errors (1)
//!
//! | rule | location | message |
//! |---|---|---|
//! | [HAS703](https://github.com/hassec/hassec/blob/main/rules/HAS703-unsafe-deserialization.toml) | `api.py:4` | `pickle.loads` can run arbitrary code ... |
//! ```
//!
//! Text from the scanned code (file names, the code a message quotes) can hold
//! any character: it cannot end a cell, start a link, raw HTML or emphasis, or
//! break a line. A report stays under GitHub's comment limit, saying how many
//! findings it left out.

use std::fmt::Write;

use crate::{
    finding::Finding,
    rules::{Level, Rule},
    scan::ScanReport,
};

/// The most characters GitHub accepts in an issue or pull-request comment. The
/// report counts bytes, which are never fewer than characters.
pub const COMMENT_LIMIT: usize = 65_536;

/// The report for a comment: a title, the summary line(s), then one table per
/// level, at most [`COMMENT_LIMIT`] bytes.
pub fn render(report: &ScanReport) -> String {
    render_within(report, COMMENT_LIMIT)
}

/// [`render`] within `limit` bytes.
pub fn render_within(report: &ScanReport, limit: usize) -> String {
    let mut out = String::from("## hassec\n\n");
    let summary: Vec<String> = super::text::summary_parts(report)
        .iter()
        .map(|part| inline(part))
        .collect();
    let _ = writeln!(out, "{}", summary.join(" · "));
    if report.findings.is_empty() {
        return out;
    }
    out.push('\n');
    let findings: Vec<&Finding> = report.findings.iter().collect();
    let location = |finding: &Finding| code(&format!("{}:{}", finding.path, finding.start.line));
    let note = |left_out: usize| {
        format!(
            "*{} left out to stay under GitHub's limit of {COMMENT_LIMIT} characters per comment; `hassec scan` lists them all.*\n",
            super::text::plural(left_out, "more finding")
        )
    };
    let budget = limit.saturating_sub(out.len());
    out.push_str(&level_tables(&findings, &location, budget, &note));
    out
}

/// A link to a rule's documentation (its file in the repository), shown as its id.
pub fn rule_link(rule: &Rule) -> String {
    match super::sarif::help_uri(rule) {
        Some(url) => format!("[{}]({url})", text(&rule.id)),
        None => text(&rule.id),
    }
}

/// The findings as one table per level, most severe first, each row
/// `| rule | location | message |` (the location as `location` renders it),
/// ordered by path and position. At most `budget` bytes: when they do not all
/// fit, the rows that do are followed by `note(number left out)`.
pub fn level_tables(
    findings: &[&Finding],
    location: &dyn Fn(&Finding) -> String,
    budget: usize,
    note: &dyn Fn(usize) -> String,
) -> String {
    let mut sorted = findings.to_vec();
    sorted.sort_by(|a, b| {
        b.level()
            .cmp(&a.level())
            .then(a.sort_key().cmp(&b.sort_key()))
    });
    let count = |level: Level| sorted.iter().filter(|f| f.level() == level).count();
    // Each row with the bytes it adds: a level's first row brings its heading,
    // its last the blank line closing the table.
    let mut rows: Vec<(Level, String, usize)> = Vec::with_capacity(sorted.len());
    for (index, finding) in sorted.iter().enumerate() {
        let level = finding.level();
        let row = format!(
            "| {} | {} | {} |\n",
            rule_link(finding.rule),
            location(finding),
            inline(&finding.message)
        );
        let mut cost = row.len();
        if index == 0 || sorted[index - 1].level() != level {
            cost += heading(level, count(level)).len();
        }
        if sorted
            .get(index + 1)
            .is_none_or(|next| next.level() != level)
        {
            cost += 1;
        }
        rows.push((level, row, cost));
    }
    // The most rows that fit with the note saying how many did not (or all of
    // them, without a note); the note only shrinks as rows are added.
    let total = rows.len();
    let mut shown = 0;
    let mut used = 0;
    for (index, (_, _, cost)) in rows.iter().enumerate() {
        used += cost;
        if used > budget {
            break;
        }
        let rest = total - (index + 1);
        let note_len = if rest == 0 { 0 } else { note(rest).len() + 1 };
        if used + note_len <= budget {
            shown = index + 1;
        }
    }
    if shown == 0 && total > 0 && note(total).len() > budget {
        return String::new();
    }
    let mut out = String::new();
    for (index, (level, row, _)) in rows.iter().take(shown).enumerate() {
        if index == 0 || rows[index - 1].0 != *level {
            out.push_str(&heading(*level, count(*level)));
        }
        out.push_str(row);
        if rows.get(index + 1).is_none_or(|next| next.0 != *level) {
            out.push('\n');
        }
    }
    if shown < total {
        if !out.is_empty() && !out.ends_with("\n\n") {
            out.push('\n');
        }
        out.push_str(&note(total - shown));
    }
    out
}

fn heading(level: Level, count: usize) -> String {
    let title = match level {
        Level::Error => "Errors",
        Level::Warning => "Warnings",
        Level::Note => "Notes",
    };
    format!("### {title} ({count})\n\n| rule | location | message |\n|---|---|---|\n")
}

/// A message for a table cell: its `` `code` `` spans stay code, everything
/// else is plain text. A message whose backticks do not pair is all plain text.
pub fn inline(message: &str) -> String {
    let parts: Vec<&str> = message.split('`').collect();
    if parts.len().is_multiple_of(2) {
        return text(message);
    }
    parts
        .iter()
        .enumerate()
        .map(|(index, part)| {
            if index.is_multiple_of(2) {
                text(part)
            } else {
                code(part)
            }
        })
        .collect()
}

/// Plain text for a table cell: what could start emphasis, a link, code or a
/// cell backslash-escaped, `<`, `>`, `&` and `$` (math) as character
/// references, line breaks as spaces. (Lists and headings cannot start in a cell.)
pub fn text(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '\\' | '`' | '*' | '_' | '[' | ']' | '~' | '|' => {
                out.push('\\');
                out.push(c);
            }
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '$' => out.push_str("&#36;"),
            '\r' | '\n' => out.push(' '),
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

/// A code span for a table cell holding `value` as it is: fenced with more
/// backticks than it contains in a row, `|` escaped (GitHub splits cells
/// before it parses code spans), line breaks as spaces.
pub fn code(value: &str) -> String {
    let value: String = value
        .chars()
        .map(|c| if c == '\r' || c == '\n' { ' ' } else { c })
        .filter(|c| !c.is_control())
        .collect();
    if value.is_empty() {
        return String::new();
    }
    let value = value.replace('|', "\\|");
    let mut longest = 0;
    let mut run = 0;
    for c in value.chars() {
        run = if c == '`' { run + 1 } else { 0 };
        longest = longest.max(run);
    }
    let fence = "`".repeat(longest + 1);
    // A space at each end is stripped again by Markdown; it keeps a backtick
    // at an end from joining the fence, and spaces at both ends intact.
    let pad = value.starts_with('`')
        || value.ends_with('`')
        || (value.starts_with(' ') && value.ends_with(' ') && value.trim() != "");
    if pad {
        format!("{fence} {value} {fence}")
    } else {
        format!("{fence}{value}{fence}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{finding::Position, rules};

    fn finding(id: &str, level: Level, path: &str, line: usize, message: &str) -> Finding {
        Finding {
            rule: rules::find(id).expect("a built-in rule"),
            level,
            path: path.into(),
            start: Position {
                line,
                column: 5,
                utf16_column: 5,
            },
            end: Position {
                line,
                column: 20,
                utf16_column: 20,
            },
            message: message.into(),
            fingerprint: "0:1".into(),
            code_fingerprint: "0".into(),
        }
    }

    fn report(findings: Vec<Finding>) -> ScanReport {
        ScanReport {
            findings,
            files_scanned: 3,
            ..ScanReport::default()
        }
    }

    #[test]
    fn report_with_a_table_per_level() {
        let report = report(vec![
            finding(
                "HAS302",
                Level::Warning,
                "custom_components/demo/api.py",
                12,
                "`http://example.com/a|b` is plain HTTP to an internet host; use `https://`",
            ),
            finding(
                "HAS703",
                Level::Error,
                "custom_components/demo/api.py",
                30,
                "`pickle.loads` can run arbitrary code while loading data; use JSON or a safe loader",
            ),
            finding(
                "HAS401",
                Level::Warning,
                "custom_components/demo/__init__.py",
                7,
                "service \"set_<b>*value*</b>\" is registered without a schema; its handler gets unvalidated data",
            ),
        ]);
        insta::assert_snapshot!(render(&report));
    }

    #[test]
    fn report_without_findings() {
        insta::assert_snapshot!(render(&report(Vec::new())));
    }

    /// Is every `|`, `[`, `]` and `*` outside code spans backslash-escaped, and
    /// every `|` inside them too?
    fn escaped(cell: &str) -> bool {
        let mut in_code = false;
        let mut previous = ' ';
        for c in cell.chars() {
            match c {
                '`' if previous != '\\' => in_code = !in_code,
                '|' if previous != '\\' => return false,
                '[' | ']' | '*' if !in_code && previous != '\\' => return false,
                _ => {}
            }
            previous = if previous == '\\' { ' ' } else { c };
        }
        true
    }

    #[test]
    fn hostile_text_cannot_leave_its_cell() {
        let paired = "`a|b` x | y\n| z <script>alert(1)</script> [link](http://evil) **bold** `c`";
        let unpaired = format!("{paired} ` $x$ &amp;");
        for message in [paired, unpaired.as_str()] {
            let cell = inline(message);
            assert!(!cell.contains('\n') && !cell.contains('<'), "{cell}");
            assert!(escaped(&cell), "{cell}");
        }
        insta::assert_snapshot!(format!("{}\n{}", inline(paired), inline(&unpaired)));
    }

    #[test]
    fn code_spans_keep_backticks_and_spaces() {
        assert_eq!(code("pickle.loads"), "`pickle.loads`");
        assert_eq!(code("a`b"), "``a`b``");
        assert_eq!(code("`x``"), "``` `x`` ```");
        assert_eq!(code(" x "), "`  x  `");
        assert_eq!(code("a|b"), "`a\\|b`");
        assert_eq!(code("two\nlines"), "`two lines`");
        assert_eq!(code(""), "");
    }

    #[test]
    fn unpaired_backticks_are_plain_text() {
        assert_eq!(inline("a ` b"), "a \\` b");
        assert_eq!(inline("`x` and `y`"), "`x` and `y`");
    }

    #[test]
    fn rule_ids_link_to_their_file_in_the_repository() {
        let rule = rules::find("HAS501").unwrap();
        assert_eq!(
            rule_link(rule),
            format!(
                "[HAS501]({}/blob/main/rules/HAS501-secret-logged.toml)",
                env!("CARGO_PKG_REPOSITORY")
            )
        );
    }

    /// A report exactly at the limit is whole; one byte less and the last
    /// finding makes way for the note, which counts it.
    #[test]
    fn truncated_at_the_comment_limit() {
        let many: Vec<Finding> = (1..=2000)
            .map(|line| finding("HAS703", Level::Error, "a.py", line, "`pickle.loads` x"))
            .collect();
        let whole = render_within(&report(many.clone()), usize::MAX);
        assert!(whole.len() > COMMENT_LIMIT, "the test needs more findings");
        let out = render(&report(many.clone()));
        assert!(out.len() <= COMMENT_LIMIT, "{}", out.len());
        let rows = out.lines().filter(|l| l.starts_with("| [HAS703]")).count();
        let note = out.lines().last().unwrap();
        assert_eq!(
            note,
            format!(
                "*{} more findings left out to stay under GitHub's limit of 65536 characters per comment; `hassec scan` lists them all.*",
                2000 - rows
            )
        );
        let row = out.lines().find(|l| l.starts_with("| [")).unwrap().len() + 1;
        assert!(
            out.len() + row > COMMENT_LIMIT,
            "no room was left for another row: {}",
            out.len()
        );

        let few: Vec<Finding> = many[..5].to_vec();
        let whole = render_within(&report(few.clone()), usize::MAX);
        assert_eq!(render_within(&report(few.clone()), whole.len()), whole);
        let cut = render_within(&report(few), whole.len() - 1);
        assert!(cut.len() < whole.len());
        assert_eq!(cut.lines().filter(|l| l.starts_with("| [")).count(), 4);
        assert!(cut.ends_with("*1 more finding left out to stay under GitHub's limit of 65536 characters per comment; `hassec scan` lists them all.*\n"), "{cut}");
    }

    #[test]
    fn a_budget_too_small_for_anything_gives_nothing() {
        let one = [finding("HAS703", Level::Error, "a.py", 1, "m")];
        let refs: Vec<&Finding> = one.iter().collect();
        let tables = level_tables(&refs, &|_| String::new(), 3, &|n| format!("{n} more\n"));
        assert_eq!(tables, "");
        let tables = level_tables(&refs, &|_| String::new(), 20, &|n| format!("{n} more\n"));
        assert_eq!(tables, "1 more\n");
    }
}
