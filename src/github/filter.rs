//! The filter modes: which findings of the scanned files the pull request is
//! answerable for. They decide annotations, the summary's main table and the exit
//! status; the SARIF upload carries every finding regardless.

use crate::finding::Finding;

use super::{changes::Changes, inputs::FilterMode};

/// The last line a finding covers: its end is exclusive, so a range that ends at
/// column 1 stops on the line before.
fn last_line(finding: &Finding) -> usize {
    if finding.end.line > finding.start.line && finding.end.column <= 1 {
        finding.end.line - 1
    } else {
        finding.end.line.max(finding.start.line)
    }
}

/// Does the finding pass the filter? Without a diff (a full scan of a push or a
/// schedule) every finding does. A finding spanning several lines passes when any
/// of its lines does.
pub fn keeps(mode: FilterMode, changes: Option<&Changes>, finding: &Finding) -> bool {
    let Some(changes) = changes else {
        return true;
    };
    if mode == FilterMode::NoFilter {
        return true;
    }
    let Some(file) = changes.files.get(&finding.path) else {
        return false;
    };
    let (first, last) = (finding.start.line, last_line(finding));
    file.whole
        || match mode {
            FilterMode::Added => file.added.intersects(first, last),
            FilterMode::DiffContext => file.hunks.intersects(first, last),
            FilterMode::File | FilterMode::NoFilter => true,
        }
}

/// Splits findings into those that pass the filter and those that do not, each
/// keeping the input order.
pub fn split<'a>(
    mode: FilterMode,
    changes: Option<&Changes>,
    findings: &'a [Finding],
) -> (Vec<&'a Finding>, Vec<&'a Finding>) {
    findings
        .iter()
        .partition(|finding| keeps(mode, changes, finding))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{
        finding::Position,
        github::changes::{ChangeSource, ChangedFile},
        rules,
    };

    fn finding(path: &str, line: usize, end_line: usize, end_column: usize) -> Finding {
        let rule = &rules::all()[0];
        Finding {
            rule,
            level: rule.level,
            path: path.into(),
            start: Position {
                line,
                column: 5,
                utf16_column: 5,
            },
            end: Position {
                line: end_line,
                column: end_column,
                utf16_column: end_column,
            },
            message: "m".into(),
            fingerprint: "f".into(),
            code_fingerprint: String::new(),
        }
    }

    fn changes() -> Changes {
        let mut changes = Changes::new(ChangeSource::Git);
        let mut file = ChangedFile::default();
        file.added.add(10, 11);
        file.hunks.add(7, 14);
        changes.files.insert("a.py".into(), file);
        changes.files.insert(
            "whole.py".into(),
            ChangedFile {
                whole: true,
                ..ChangedFile::default()
            },
        );
        changes
    }

    #[test]
    fn each_mode() {
        let changes = changes();
        let on_added = finding("a.py", 10, 10, 20);
        let in_context = finding("a.py", 8, 8, 20);
        let elsewhere = finding("a.py", 30, 30, 20);
        let other_file = finding("b.py", 10, 10, 20);
        let whole = finding("whole.py", 99, 99, 3);
        let all = [&on_added, &in_context, &elsewhere, &other_file, &whole];
        let kept =
            |mode| -> Vec<bool> { all.iter().map(|f| keeps(mode, Some(&changes), f)).collect() };
        assert_eq!(kept(FilterMode::Added), [true, false, false, false, true]);
        assert_eq!(
            kept(FilterMode::DiffContext),
            [true, true, false, false, true]
        );
        assert_eq!(kept(FilterMode::File), [true, true, true, false, true]);
        assert_eq!(kept(FilterMode::NoFilter), [true; 5]);
        // No diff: a full scan keeps everything whatever the mode.
        assert!(keeps(FilterMode::Added, None, &other_file));
    }

    #[test]
    fn multi_line_findings_pass_when_any_line_does() {
        let changes = changes();
        // Lines 8..=10: line 10 was added.
        assert!(keeps(
            FilterMode::Added,
            Some(&changes),
            &finding("a.py", 8, 10, 4)
        ));
        // Ends at column 1 of line 10: covers 8..=9 only.
        assert!(!keeps(
            FilterMode::Added,
            Some(&changes),
            &finding("a.py", 8, 10, 1)
        ));
    }
}
