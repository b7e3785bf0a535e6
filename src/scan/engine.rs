//! Every enabled rule's query compiled into one multi-pattern query, run once per file.

use std::sync::{
    Arc, OnceLock,
    atomic::{AtomicBool, Ordering},
};

use streaming_iterator::StreamingIterator;
use tree_sitter::{Node, Query, QueryCursor, QueryPredicateArg, Tree};

use super::{
    position::Positions,
    query_rewrite::{self, FieldOwners},
    suppress::Suppressions,
};
use crate::{
    checks::{self, Check, FileContext},
    finding::{Finding, Suppressed},
    report::fingerprint::{code_fingerprint, line_hashes},
    rules::{Level, Rule, Target},
};

/// A named-check predicate of one pattern, resolved once.
struct Predicate {
    check: &'static Check,
    negated: bool,
    capture: u32,
    strings: Vec<String>,
}

/// The rules' queries, compiled on first use: a rescan whose results all come
/// from the cache never needs them, and compiling takes as long as parsing a
/// few dozen files.
pub struct Engine {
    /// The enabled rules over Python files.
    rules: Arc<[&'static Rule]>,
    compiled: Arc<OnceLock<Compiled>>,
    /// Has a thread been started to compile the query?
    compiling: AtomicBool,
    /// Also list the suppression comments that suppressed nothing.
    pub report_unused: bool,
}

/// Every enabled rule's query compiled into one.
struct Compiled {
    query: Query,
    /// For each pattern of `query`: the rule it belongs to and its predicates.
    patterns: Vec<(&'static Rule, Vec<Predicate>)>,
    /// For each pattern: the level it reports at.
    levels: Vec<Level>,
    /// For each pattern: the message it reports, when it sets its own.
    messages: Vec<Option<String>>,
    finding_capture: u32,
}

/// What matching found in one file, before suppressions are applied.
pub struct FileFindings {
    pub findings: Vec<Finding>,
    pub suppressed: Vec<Suppressed>,
    /// Only when asked for (`Engine::report_unused_suppressions`).
    pub unused: Vec<super::suppress::UnusedSuppression>,
}

impl Engine {
    /// An engine for the Python rules among `rules` (compiled when first needed).
    pub fn new(rules: &[&'static Rule]) -> Self {
        Self {
            rules: rules
                .iter()
                .copied()
                .filter(|rule| rule.target == Target::Python)
                .collect(),
            compiled: Arc::default(),
            compiling: AtomicBool::new(false),
            report_unused: false,
        }
    }

    /// Starts compiling the query on one of rayon's threads, so that it is ready
    /// by the time the first file is parsed (a pull request's scan reads the git
    /// diff and the integration's files meanwhile). Not on a thread of its own:
    /// with one thread per core busy parsing, that one would get half a core,
    /// and a pull request's scan waits for the query.
    pub fn compile_in_background(&self) {
        // Once: the action asks before its diff, and its scan asks again.
        if self.compiled.get().is_some() || self.compiling.swap(true, Ordering::AcqRel) {
            return;
        }
        let (rules, compiled) = (Arc::clone(&self.rules), Arc::clone(&self.compiled));
        rayon::spawn(move || {
            compiled.get_or_init(|| Compiled::new(&rules));
        });
    }

    /// Is the query being compiled in the background (matching a file would
    /// wait for it)?
    pub fn is_compiling(&self) -> bool {
        self.compiled.get().is_none() && self.compiling.load(Ordering::Acquire)
    }

    /// As if compiling in the background, to test what waits for it (the query
    /// is then compiled when first needed).
    #[cfg(test)]
    pub fn pretend_compiling(&self) {
        self.compiling.store(true, Ordering::Release);
    }

    fn compiled(&self) -> &Compiled {
        self.compiled.get_or_init(|| Compiled::new(&self.rules))
    }

    /// Runs every rule over one parsed file. `text` is the file as written, for
    /// fingerprints; `ctx.source` is what was parsed (lone CRs made newlines).
    pub fn run(&self, ctx: &FileContext, text: &str, path: &str) -> FileFindings {
        let tree = ctx.tree;
        let compiled = self.compiled();
        let mut cursor = QueryCursor::new();
        let mut matches = cursor.matches(&compiled.query, tree.root_node(), ctx.source);
        let errors = error_ranges(tree);
        let mut raw: Vec<(&'static Rule, Level, Node, String)> = Vec::new();
        while let Some(m) = matches.next() {
            let (rule, predicates) = &compiled.patterns[m.pattern_index];
            let node_of = |capture: u32| {
                m.captures()
                    .iter()
                    .find(|c| c.index == capture)
                    .map(|c| c.node)
            };
            let Some(finding) = node_of(compiled.finding_capture) else {
                continue;
            };
            if errors
                .iter()
                .any(|error| error.start <= finding.start_byte() && finding.end_byte() <= error.end)
            {
                continue;
            }
            let passes = predicates.iter().all(|p| match node_of(p.capture) {
                Some(node) => {
                    let strings: Vec<&str> = p.strings.iter().map(String::as_str).collect();
                    (p.check.eval)(ctx, node, &strings) != p.negated
                }
                None => true,
            });
            if passes {
                let template = compiled.messages[m.pattern_index]
                    .as_deref()
                    .unwrap_or(&rule.message);
                let message = render_message(template, &compiled.query, m.captures(), ctx.source);
                raw.push((rule, compiled.levels[m.pattern_index], finding, message));
            }
        }
        // One finding per rule and place, even when several patterns agree.
        raw.sort_by_key(|(rule, level, node, _)| {
            (
                node.start_byte(),
                node.end_byte(),
                rule.id.as_str(),
                std::cmp::Reverse(*level),
            )
        });
        raw.dedup_by(|a, b| a.0.id == b.0.id && a.2.byte_range() == b.2.byte_range());

        let mut out = FileFindings {
            findings: Vec::new(),
            suppressed: Vec::new(),
            unused: Vec::new(),
        };
        if raw.is_empty() && !(self.report_unused && text.contains("hassec:")) {
            return out;
        }
        let hashes = line_hashes(text);
        let parsed = std::str::from_utf8(ctx.source).unwrap_or(text);
        let suppressions = Suppressions::new(parsed, tree);
        let lines: Vec<&str> = parsed.split('\n').collect();
        let mut positions = Positions::new(text);
        for (rule, level, node, message) in raw {
            let start = positions.at(node.start_byte(), node.start_position());
            let end = positions.at(node.end_byte(), node.end_position());
            let finding = Finding {
                rule,
                level,
                path: path.to_string(),
                start,
                end,
                message,
                fingerprint: hashes.get(start.line - 1).cloned().unwrap_or_default(),
                code_fingerprint: code_fingerprint(&lines, start, end),
            };
            match suppressions.check(rule, start.line) {
                Some(by) => out.suppressed.push(Suppressed { finding, by }),
                None => out.findings.push(finding),
            }
        }
        if self.report_unused {
            out.unused = suppressions.unused(path);
        }
        out
    }
}

impl Compiled {
    /// Compiles the rules' queries into one.
    fn new(python: &[&'static Rule]) -> Self {
        // Each rule's query at a known offset of one source: a pattern belongs to
        // the rule whose text holds its first byte (compiling every rule again
        // just to count its patterns doubled the start-up cost).
        let mut source = String::new();
        let mut starts = Vec::with_capacity(python.len());
        for rule in python {
            starts.push(source.len());
            source.push_str(&rule.query);
            source.push('\n');
        }
        // Same byte offsets, same matches, compiled in 30 ms instead of 47.
        let source = query_rewrite::cheaper_to_compile(&source, &FieldOwners::python());
        let query = Query::new(&super::language(), &source)
            .expect("the test suite compiles every built-in rule");
        let mut patterns: Vec<(&'static Rule, Vec<Predicate>)> = (0..query.pattern_count())
            .map(|index| {
                let at = query.start_byte_for_pattern(index);
                let owner = starts.partition_point(|&start| start <= at) - 1;
                (python[owner], Vec::new())
            })
            .collect();
        for (index, (_, predicates)) in patterns.iter_mut().enumerate() {
            *predicates = query
                .general_predicates(index)
                .iter()
                .map(resolve_predicate)
                .collect();
        }
        let levels = (0..patterns.len())
            .map(|index| pattern_level(&query, index).unwrap_or(patterns[index].0.level))
            .collect();
        let messages = (0..patterns.len())
            .map(|index| pattern_message(&query, index))
            .collect();
        let finding_capture = query.capture_index_for_name("finding").unwrap_or(u32::MAX);
        Self {
            query,
            patterns,
            levels,
            messages,
            finding_capture,
        }
    }
}

fn resolve_predicate(predicate: &tree_sitter::QueryPredicate) -> Predicate {
    let check = checks::find(checks::predicate_check_name(&predicate.operator))
        .expect("the test suite checks every built-in rule's predicates");
    let mut capture = 0;
    let mut strings = Vec::new();
    for arg in &predicate.args {
        match arg {
            QueryPredicateArg::Capture(index) => capture = *index,
            QueryPredicateArg::String(s) => strings.push(s.to_string()),
        }
    }
    Predicate {
        check,
        negated: checks::predicate_is_negated(&predicate.operator),
        capture,
        strings,
    }
}

/// The level a pattern sets with `(#set! level "warning")`, if any.
pub fn pattern_level(query: &Query, pattern: usize) -> Option<Level> {
    query
        .property_settings(pattern)
        .iter()
        .find(|property| &*property.key == "level")
        .and_then(|property| property.value.as_deref()?.parse().ok())
}

/// The message a pattern sets with `(#set! message "...")`, if any.
fn pattern_message(query: &Query, pattern: usize) -> Option<String> {
    query
        .property_settings(pattern)
        .iter()
        .find(|property| &*property.key == "message")
        .and_then(|property| property.value.as_deref().map(str::to_string))
}

/// Byte ranges tree-sitter could not parse (ERROR and MISSING nodes). Found once
/// per file, top-down: asking each match for its ancestors would cost the depth of
/// the tree per step (`Node::parent` walks down from the root).
fn error_ranges(tree: &Tree) -> Vec<std::ops::Range<usize>> {
    let mut ranges = Vec::new();
    if !tree.root_node().has_error() {
        return ranges;
    }
    let mut stack = vec![tree.root_node()];
    while let Some(node) = stack.pop() {
        if node.is_error() || node.is_missing() {
            ranges.push(node.byte_range());
        } else if node.has_error() {
            let mut cursor = node.walk();
            stack.extend(node.children(&mut cursor));
        }
    }
    ranges
}

/// Replaces `{capture}` in a message with the capture's text: first line only,
/// at most 60 characters, so that a finding never quotes a whole block.
fn render_message(
    template: &str,
    query: &Query,
    captures: &[tree_sitter::QueryCapture],
    source: &[u8],
) -> String {
    let mut message = template.to_string();
    for capture in captures {
        let name = &query.capture_names()[capture.index as usize];
        let placeholder = format!("{{{name}}}");
        if message.contains(&placeholder) {
            let text = checks::text(capture.node, source);
            let first_line = text.lines().next().unwrap_or("");
            let mut shown: String = first_line.chars().take(60).collect();
            if shown.len() < text.len() {
                shown.push('…');
            }
            message = message.replace(&placeholder, &shown);
        }
    }
    message
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_pattern_is_attributed_to_the_rule_that_wrote_it() {
        let rules: Vec<&'static Rule> = crate::rules::all().iter().collect();
        let engine = Engine::new(&rules);
        let mut expected = Vec::new();
        for rule in rules.iter().filter(|rule| rule.target == Target::Python) {
            let count = Query::new(&crate::scan::language(), &rule.query)
                .unwrap()
                .pattern_count();
            expected.extend(std::iter::repeat_n(rule.id.as_str(), count));
        }
        let attributed: Vec<&str> = engine
            .compiled()
            .patterns
            .iter()
            .map(|(r, _)| r.id.as_str())
            .collect();
        assert!(attributed.len() > 27);
        assert_eq!(attributed, expected);
    }
}
