//! Inline suppressions: `# hassec: ignore[HAS501]` (or a rule name) on the
//! finding's first line or on a comment line just above it; bare
//! `# hassec: ignore` for every rule; `# hassec: ignore-file[HAS105]` in the
//! file's first comment block; and bandit's `# nosec`.

use std::{
    cell::RefCell,
    collections::{HashMap, HashSet},
    sync::LazyLock,
};

use regex::Regex;
use tree_sitter::Tree;

use crate::{
    finding::SuppressedBy,
    rules::{self, Rule},
};

/// A `# hassec: ignore` comment that suppressed nothing (`--report-unused-ignores`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnusedSuppression {
    pub path: String,
    /// 1-based line of the comment.
    pub line: usize,
    /// The directive as written.
    pub directive: String,
    /// The rules it names that suppressed nothing (empty for a bare `ignore`).
    pub rules: Vec<String>,
}

static DIRECTIVE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"#\s*hassec:\s*(ignore-file|ignore)\b(?:\[([^\]]*)\])?|#\s*nosec\b").unwrap()
});

/// What one comment says.
#[derive(Debug, PartialEq, Eq)]
enum Directive {
    /// Rules named (empty: all).
    Ignore(Vec<String>),
    IgnoreFile(Vec<String>),
    Nosec,
}

fn directives(comment: &str) -> Vec<Directive> {
    DIRECTIVE
        .captures_iter(comment)
        .map(|c| {
            let rules = c.get(2).map_or_else(Vec::new, |list| {
                list.as_str()
                    .split(',')
                    .map(|s| s.trim().to_string())
                    .filter(|s| !s.is_empty())
                    .collect()
            });
            match c.get(1).map(|m| m.as_str()) {
                Some("ignore-file") => Directive::IgnoreFile(rules),
                Some(_) => Directive::Ignore(rules),
                None => Directive::Nosec,
            }
        })
        .collect()
}

fn names(rules: &[String], rule: &Rule) -> bool {
    rules.is_empty()
        || rules
            .iter()
            .any(|r| r.eq_ignore_ascii_case(&rule.id) || *r == rule.name)
}

/// The suppressions of one file.
pub struct Suppressions<'a> {
    text: &'a str,
    tree: &'a Tree,
    /// Line starts (byte offsets), for line look-ups.
    line_starts: Vec<usize>,
    file_rules: Vec<Vec<String>>,
    /// (comment line, rule id) of every suppression that applied; line 0 for the
    /// file's `ignore-file` directives.
    used: RefCell<HashSet<(usize, String)>>,
    /// `comment_on_line`'s answers by line: each reads the whole line, and
    /// thousands of findings may share one.
    comments: RefCell<HashMap<usize, Option<&'a str>>>,
}

impl<'a> Suppressions<'a> {
    pub fn new(text: &'a str, tree: &'a Tree) -> Self {
        let line_starts = std::iter::once(0)
            .chain(text.match_indices('\n').map(|(i, _)| i + 1))
            .collect();
        let mut suppressions = Self {
            text,
            tree,
            line_starts,
            file_rules: Vec::new(),
            used: RefCell::new(HashSet::new()),
            comments: RefCell::new(HashMap::new()),
        };
        suppressions.file_rules = suppressions.file_directives();
        suppressions
    }

    /// `ignore-file` directives in the comments and blank lines that open the file.
    fn file_directives(&self) -> Vec<Vec<String>> {
        let mut found = Vec::new();
        for line in self.text.lines() {
            let trimmed = line.trim_start_matches('\u{feff}').trim();
            if !(trimmed.is_empty() || trimmed.starts_with('#')) {
                break;
            }
            for directive in directives(trimmed) {
                if let Directive::IgnoreFile(rules) = directive {
                    found.push(rules);
                }
            }
        }
        found
    }

    /// Why a finding of `rule` starting on `line` (1-based) is suppressed, if it is.
    pub fn check(&self, rule: &Rule, line: usize) -> Option<SuppressedBy> {
        let used = |comment_line: usize| {
            self.used
                .borrow_mut()
                .insert((comment_line, rule.id.clone()));
        };
        if self.file_rules.iter().any(|rules| names(rules, rule)) {
            used(0);
            return Some(SuppressedBy::FileComment);
        }
        let on_line = self.comment_on_line(line).map(|c| (line, c));
        let above = (line > 1)
            .then(|| self.comment_line_above(line - 1).map(|c| (line - 1, c)))
            .flatten();
        for (comment_line, comment) in on_line.into_iter().chain(above) {
            for directive in directives(comment) {
                match directive {
                    Directive::Ignore(rules) if names(&rules, rule) => {
                        used(comment_line);
                        return Some(SuppressedBy::Comment);
                    }
                    Directive::Nosec => return Some(SuppressedBy::Nosec),
                    _ => {}
                }
            }
        }
        None
    }

    /// The `hassec: ignore` and `ignore-file` directives that suppressed nothing,
    /// after every finding of the file went through [`Self::check`]. An
    /// `ignore-file` below the file's first comment block never applies.
    pub fn unused(&self, path: &str) -> Vec<UnusedSuppression> {
        let used = self.used.borrow();
        let was_used = |line: usize, rule: &str| {
            let id = rules::find(rule).map_or(rule, |r| r.id.as_str());
            used.contains(&(line, id.to_string()))
        };
        let opening_block = self.opening_block_lines();
        let mut unused = Vec::new();
        let mut lines: Vec<usize> = self
            .text
            .match_indices("hassec:")
            .map(|(at, _)| self.line_starts.partition_point(|&start| start <= at))
            .collect();
        lines.dedup();
        for line in lines {
            let Some(comment) = self.comment_on_line(line) else {
                continue;
            };
            for found in DIRECTIVE.find_iter(comment) {
                let (names, key) = match directives(found.as_str()).pop() {
                    Some(Directive::Ignore(names)) => (names, line),
                    Some(Directive::IgnoreFile(names)) if line <= opening_block => (names, 0),
                    Some(Directive::IgnoreFile(names)) => (names, usize::MAX),
                    _ => continue,
                };
                let idle: Vec<String> = names
                    .iter()
                    .filter(|n| !was_used(key, n))
                    .cloned()
                    .collect();
                let bare_idle = names.is_empty() && !used.iter().any(|(l, _)| *l == key);
                if !idle.is_empty() || bare_idle {
                    unused.push(UnusedSuppression {
                        path: path.to_string(),
                        line,
                        directive: found.as_str().to_string(),
                        rules: idle,
                    });
                }
            }
        }
        unused
    }

    /// How many lines the comments and blank lines opening the file take.
    fn opening_block_lines(&self) -> usize {
        self.text
            .lines()
            .take_while(|line| {
                let trimmed = line.trim_start_matches('\u{feff}').trim();
                trimmed.is_empty() || trimmed.starts_with('#')
            })
            .count()
    }

    fn line_text(&self, line: usize) -> Option<(usize, &'a str)> {
        let start = *self.line_starts.get(line - 1)?;
        let end = self
            .line_starts
            .get(line)
            .map_or(self.text.len(), |next| next - 1);
        Some((start, &self.text[start..end]))
    }

    /// The comment on `line`, if its `#` starts a real comment (not a string).
    fn comment_on_line(&self, line: usize) -> Option<&'a str> {
        if let Some(known) = self.comments.borrow().get(&line) {
            return *known;
        }
        let comment = self.find_comment_on_line(line);
        self.comments.borrow_mut().insert(line, comment);
        comment
    }

    fn find_comment_on_line(&self, line: usize) -> Option<&'a str> {
        let (start, text) = self.line_text(line)?;
        if !text.contains("hassec") && !text.contains("nosec") {
            return None;
        }
        let mut search = 0;
        while let Some(hash) = text[search..].find('#') {
            let at = start + search + hash;
            let node = self
                .tree
                .root_node()
                .descendant_for_byte_range(at, at + 1)?;
            if node.kind() == "comment" {
                return Some(&self.text[at..node.end_byte().min(start + text.len())]);
            }
            search += hash + 1;
        }
        None
    }

    /// The comment on `line` when the line holds nothing else.
    fn comment_line_above(&self, line: usize) -> Option<&'a str> {
        let (_, text) = self.line_text(line)?;
        if !text.trim_start().starts_with('#') {
            return None;
        }
        self.comment_on_line(line)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{checks::test_support::parse, rules};

    fn check(source: &str, id: &str, line: usize) -> Option<SuppressedBy> {
        let tree = parse(source);
        Suppressions::new(source, &tree).check(rules::find(id).unwrap(), line)
    }

    fn unused(source: &str, checked: &[(&str, usize)]) -> Vec<(usize, Vec<String>)> {
        let tree = parse(source);
        let suppressions = Suppressions::new(source, &tree);
        for (id, line) in checked {
            suppressions.check(rules::find(id).unwrap(), *line);
        }
        suppressions
            .unused("a.py")
            .into_iter()
            .map(|u| (u.line, u.rules))
            .collect()
    }

    #[test]
    fn suppressions_that_suppress_nothing_are_unused() {
        let source = "import pickle\nx = pickle.loads(b)  # hassec: ignore[HAS703, HAS501]\n# hassec: ignore\ny = 1\nz = 2  # hassec: ignore[HAS703]\n";
        // Only HAS703 fired, on line 2.
        assert_eq!(
            unused(source, &[("HAS703", 2)]),
            [
                (2, vec!["HAS501".to_string()]),
                (3, vec![]),
                (5, vec!["HAS703".to_string()])
            ]
        );
        let above = "# hassec: ignore[unsafe-deserialization]\nx = pickle.loads(b)\n";
        assert!(
            unused(above, &[("HAS703", 2)]).is_empty(),
            "a name counts like its id"
        );
    }

    #[test]
    fn ignore_file_is_unused_when_nothing_fires_or_when_it_comes_too_late() {
        let top = "# hassec: ignore-file[HAS105]\nimport os\n";
        assert_eq!(unused(top, &[]), [(1, vec!["HAS105".to_string()])]);
        assert!(
            unused(
                "# hassec: ignore-file[HAS105]\nTOKEN = 'x'\n",
                &[("HAS105", 2)]
            )
            .is_empty()
        );
        let late = "import os\n# hassec: ignore-file[HAS105]\n";
        assert_eq!(unused(late, &[]), [(2, vec!["HAS105".to_string()])]);
    }

    #[test]
    fn parses_directives() {
        assert_eq!(
            directives("# noqa: S301  # hassec: ignore[HAS703, secret-logged]"),
            [Directive::Ignore(vec![
                "HAS703".into(),
                "secret-logged".into()
            ])]
        );
        assert_eq!(directives("#hassec:ignore"), [Directive::Ignore(vec![])]);
        assert_eq!(directives("# nosec B301"), [Directive::Nosec]);
        assert_eq!(
            directives("# hassec: ignore-file[HAS105]"),
            [Directive::IgnoreFile(vec!["HAS105".into()])]
        );
        assert!(directives("# nosecurity").is_empty());
    }

    #[test]
    fn a_comment_on_the_line_or_above_suppresses_the_named_rule() {
        let source = "x = pickle.loads(b)  # hassec: ignore[HAS703]\n# hassec: ignore[unsafe-deserialization]\ny = pickle.loads(b)\n";
        assert_eq!(check(source, "HAS703", 1), Some(SuppressedBy::Comment));
        assert_eq!(check(source, "HAS703", 3), Some(SuppressedBy::Comment));
        assert_eq!(
            check(source, "HAS501", 1),
            None,
            "another rule is not suppressed"
        );
    }

    #[test]
    fn a_trailing_comment_does_not_reach_the_next_line() {
        let source = "a = 1  # hassec: ignore\nb = pickle.loads(x)\n";
        assert_eq!(check(source, "HAS703", 2), None);
    }

    #[test]
    fn bare_ignore_and_nosec_suppress_every_rule() {
        assert_eq!(
            check("eval(x)  # hassec: ignore\n", "HAS703", 1),
            Some(SuppressedBy::Comment)
        );
        assert_eq!(
            check("eval(x)  # nosec\n", "HAS501", 1),
            Some(SuppressedBy::Nosec)
        );
    }

    #[test]
    fn a_directive_inside_a_string_is_not_a_comment() {
        assert_eq!(
            check("x = pickle.loads('# hassec: ignore')\n", "HAS703", 1),
            None
        );
    }

    #[test]
    fn ignore_file_works_only_in_the_first_comment_block() {
        let top =
            "#!/usr/bin/env python\n# hassec: ignore-file[HAS105]\n\nimport os\nTOKEN = 'x'\n";
        assert_eq!(check(top, "HAS105", 5), Some(SuppressedBy::FileComment));
        assert_eq!(check(top, "HAS703", 5), None);
        let late = "import os\n# hassec: ignore-file[HAS105]\nTOKEN = 'x'\n";
        assert_eq!(check(late, "HAS105", 3), None);
    }
}
