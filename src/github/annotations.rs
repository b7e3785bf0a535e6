//! Which findings become workflow-command annotations. GitHub shows at most 10
//! error, 10 warning and 10 notice annotations per step (and 50 per job); past
//! that they are dropped silently. We keep one of each level for the action's own
//! messages (an upload warning, the count of the rest), annotate the most severe
//! findings first and end with one notice that counts what was left out.

use crate::{finding::Finding, rules::Level};

/// Annotations per level that findings may take.
pub const PER_LEVEL: usize = 9;

/// The findings to annotate, in order, and how many were left out.
#[derive(Debug)]
pub struct Selection<'a> {
    pub annotated: Vec<&'a Finding>,
    pub left_out: usize,
}

/// Most severe first, then by path and position, at most [`PER_LEVEL`] of each level.
pub fn select<'a>(findings: &[&'a Finding]) -> Selection<'a> {
    let mut sorted = findings.to_vec();
    sorted.sort_by(|a, b| {
        b.level()
            .cmp(&a.level())
            .then(a.sort_key().cmp(&b.sort_key()))
    });
    let mut annotated = Vec::new();
    let mut left_out = 0;
    for level in [Level::Error, Level::Warning, Level::Note] {
        let of_level = sorted.iter().filter(|f| f.level() == level);
        let count = of_level.clone().count();
        annotated.extend(of_level.take(PER_LEVEL).copied());
        left_out += count.saturating_sub(PER_LEVEL);
    }
    Selection {
        annotated,
        left_out,
    }
}

/// The notice that counts the findings not annotated, if any.
pub fn left_out_notice(left_out: usize) -> Option<String> {
    (left_out > 0).then(|| {
        format!(
            "::notice title=hassec::{left_out} more finding{} not shown as annotations (GitHub shows 10 per level and step): see the job summary{}\n",
            if left_out == 1 { "" } else { "s" },
            ", and code scanning when the SARIF was uploaded"
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{finding::Position, rules};

    fn finding(level: Level, line: usize) -> Finding {
        let rule = &rules::all()[0];
        let at = Position {
            line,
            column: 1,
            utf16_column: 1,
        };
        Finding {
            rule,
            level,
            path: "a.py".into(),
            start: at,
            end: at,
            message: "m".into(),
            fingerprint: "f".into(),
            code_fingerprint: String::new(),
        }
    }

    #[test]
    fn most_severe_first_within_the_limits() {
        let mut findings: Vec<Finding> = (1..=12).map(|l| finding(Level::Note, l)).collect();
        findings.extend((20..=31).map(|l| finding(Level::Error, l)));
        findings.push(finding(Level::Warning, 50));
        let refs: Vec<&Finding> = findings.iter().collect();
        let selection = select(&refs);
        let levels: Vec<Level> = selection.annotated.iter().map(|f| f.level()).collect();
        assert_eq!(levels.len(), PER_LEVEL * 2 + 1);
        assert!(levels[..PER_LEVEL].iter().all(|l| *l == Level::Error));
        assert_eq!(levels[PER_LEVEL], Level::Warning);
        assert_eq!(
            selection.annotated[0].start.line, 20,
            "by position within a level"
        );
        assert_eq!(selection.left_out, 3 + 3);
        assert!(
            left_out_notice(6)
                .unwrap()
                .starts_with("::notice title=hassec::6 more findings")
        );
        assert!(left_out_notice(0).is_none());
    }
}
