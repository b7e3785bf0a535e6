//! Every enabled rule's query compiled into one multi-pattern query, run once per file.

use std::sync::{
    Arc, OnceLock,
    atomic::{AtomicBool, Ordering},
};

use streaming_iterator::StreamingIterator;
use tree_sitter::{Node, Query, QueryCursor, QueryMatch, QueryPredicateArg, Tree};

use super::{
    call_index::{self, CallIndex, Callee},
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
    /// Run the gated call patterns only at the calls they accept (always, but
    /// in the test that compares with running every pattern everywhere).
    index_calls: bool,
}

/// Every enabled rule's query: the patterns that run over the whole tree
/// compiled into one query, and the call-rooted patterns that name their callee
/// (see [`call_index`]) each compiled alone, run only at the calls they accept.
struct Compiled {
    general: Patterns,
    /// The pattern of `general` that captures every call, when any pattern is gated.
    call_pattern: Option<usize>,
    gated: Vec<Gated>,
    index: CallIndex,
}

/// Compiled patterns, each with its rule, predicates and level.
struct Patterns {
    query: Query,
    /// For each pattern of `query`: the rule it belongs to and its predicates.
    patterns: Vec<(&'static Rule, Vec<Predicate>)>,
    /// For each pattern: the level it reports at.
    levels: Vec<Level>,
    /// For each pattern: the message it reports, when it sets its own.
    messages: Vec<Option<String>>,
    /// For each pattern: its position among all the rules' patterns (ties in
    /// the report are broken by it).
    ordinals: Vec<usize>,
    finding_capture: u32,
    /// The first pattern of `query` that is a rule's (the ones before it never match).
    first: usize,
}

/// A call-rooted pattern with a gate, compiled when a file first has a call it
/// accepts (a pull request's scan compiles only the ones its files need).
struct Gated {
    rule: &'static Rule,
    /// A disabled first pattern naming every capture (a predicate may name a
    /// capture that is defined after it, as `@finding` often is), then the pattern.
    source: String,
    ordinal: usize,
    compiled: OnceLock<Patterns>,
}

impl Gated {
    fn patterns(&self) -> &Patterns {
        self.compiled.get_or_init(|| {
            let mut query = Query::new(&super::language(), &self.source)
                .expect("the test suite compiles every built-in rule");
            query.disable_pattern(0);
            let mut patterns =
                Patterns::new(query, vec![self.rule, self.rule], vec![0, self.ordinal]);
            patterns.first = 1;
            patterns
        })
    }
}

/// One match that passed its predicates.
struct Raw<'t> {
    rule: &'static Rule,
    level: Level,
    node: Node<'t>,
    message: String,
    ordinal: usize,
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
            index_calls: true,
        }
    }

    /// Every pattern in one query run over the whole tree, as before the call
    /// index: what the index must find the same as.
    #[cfg(test)]
    fn without_call_index(rules: &[&'static Rule]) -> Self {
        Self {
            index_calls: false,
            ..Self::new(rules)
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
        let index_calls = self.index_calls;
        rayon::spawn(move || {
            compiled.get_or_init(|| Compiled::new(&rules, index_calls));
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
        self.compiled
            .get_or_init(|| Compiled::new(&self.rules, self.index_calls))
    }

    /// Runs every rule over one parsed file. `text` is the file as written, for
    /// fingerprints; `ctx.source` is what was parsed (lone CRs made newlines).
    pub fn run(&self, ctx: &FileContext, text: &str, path: &str) -> FileFindings {
        let tree = ctx.tree;
        let compiled = self.compiled();
        let errors = error_ranges(tree);
        let mut raw: Vec<Raw> = Vec::new();
        let mut calls = Vec::new();
        let mut cursor = QueryCursor::new();
        let mut matches = cursor.matches(&compiled.general.query, tree.root_node(), ctx.source);
        while let Some(m) = matches.next() {
            if Some(m.pattern_index) == compiled.call_pattern {
                calls.extend(m.captures().first().map(|c| c.node));
            } else {
                compiled.general.collect(m, ctx, &errors, &mut raw);
            }
        }
        // Each call, with the gated patterns that accept its callee, anchored there.
        cursor.set_max_start_depth(Some(0));
        let mut candidates = Vec::new();
        for call in calls {
            let Some(callee) = Callee::of(call, ctx.source) else {
                continue;
            };
            compiled.index.candidates(ctx, &callee, &mut candidates);
            for &id in &candidates {
                let patterns = compiled.gated[id].patterns();
                let mut matches = cursor.matches(&patterns.query, call, ctx.source);
                while let Some(m) = matches.next() {
                    patterns.collect(m, ctx, &errors, &mut raw);
                }
            }
        }
        // One finding per rule and place, even when several patterns agree.
        raw.sort_by_key(|r| {
            (
                r.node.start_byte(),
                r.node.end_byte(),
                r.rule.id.as_str(),
                std::cmp::Reverse(r.level),
                r.ordinal,
            )
        });
        raw.dedup_by(|a, b| a.rule.id == b.rule.id && a.node.byte_range() == b.node.byte_range());

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
        for Raw {
            rule,
            level,
            node,
            message,
            ..
        } in raw
        {
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
    /// Compiles the rules' queries: the gated call patterns apart (lazily), the
    /// others into one query.
    fn new(python: &[&'static Rule], index_calls: bool) -> Self {
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
        let owner = |at: usize| python[starts.partition_point(|&start| start <= at) - 1];
        let spans = call_index::pattern_spans(&source);
        // The gated patterns are blanked out of the general query, so that every
        // other pattern keeps its offset.
        let mut general = source.clone().into_bytes();
        let mut gated = Vec::new();
        let mut gates = Vec::new();
        for (ordinal, span) in spans.iter().enumerate() {
            let text = &source[span.clone()];
            if let Some(gate) = call_index::gate_of(text).filter(|_| index_calls) {
                general[span.clone()].fill(b' ');
                gates.push(gate);
                let captures: String = call_index::capture_names(text)
                    .iter()
                    .map(|name| format!(" @{name}"))
                    .collect();
                let text = query_rewrite::cheaper_to_compile(text, &FieldOwners::python());
                gated.push(Gated {
                    rule: owner(span.start),
                    source: format!("(comment){captures}\n{text}"),
                    ordinal,
                    compiled: OnceLock::new(),
                });
            }
        }
        let mut general = String::from_utf8(general).expect("only ASCII blanks replaced text");
        if !gated.is_empty() {
            general.push_str("(call) @call\n");
        }
        // Same byte offsets, same matches, compiled in 30 ms instead of 47.
        let general = query_rewrite::cheaper_to_compile(&general, &FieldOwners::python());
        let query = Query::new(&super::language(), &general)
            .expect("the test suite compiles every built-in rule");
        let call_pattern = (!gated.is_empty()).then(|| query.pattern_count() - 1);
        let count = query.pattern_count() - usize::from(call_pattern.is_some());
        let (rules, ordinals) = (0..count)
            .map(|index| {
                let at = query.start_byte_for_pattern(index);
                let ordinal = spans.partition_point(|span| span.start < at);
                (owner(at), ordinal)
            })
            .unzip();
        Self {
            general: Patterns::new(query, rules, ordinals),
            call_pattern,
            gated,
            index: CallIndex::new(&gates),
        }
    }
}

impl Patterns {
    /// `rules` and `ordinals` for the first patterns of `query` (a pattern after
    /// them is the engine's own, without predicates).
    fn new(query: Query, rules: Vec<&'static Rule>, ordinals: Vec<usize>) -> Self {
        let patterns: Vec<(&'static Rule, Vec<Predicate>)> = rules
            .into_iter()
            .enumerate()
            .map(|(index, rule)| {
                let predicates = query
                    .general_predicates(index)
                    .iter()
                    .map(resolve_predicate)
                    .collect();
                (rule, predicates)
            })
            .collect();
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
            ordinals,
            finding_capture,
            first: 0,
        }
    }

    /// Keeps a match of one of these patterns if its predicates pass.
    fn collect<'t>(
        &self,
        m: &QueryMatch<'_, 't>,
        ctx: &FileContext<'t>,
        errors: &[std::ops::Range<usize>],
        raw: &mut Vec<Raw<'t>>,
    ) {
        if m.pattern_index < self.first {
            return;
        }
        let (rule, predicates) = &self.patterns[m.pattern_index];
        let node_of = |capture: u32| {
            m.captures()
                .iter()
                .find(|c| c.index == capture)
                .map(|c| c.node)
        };
        let Some(finding) = node_of(self.finding_capture) else {
            return;
        };
        if errors
            .iter()
            .any(|error| error.start <= finding.start_byte() && finding.end_byte() <= error.end)
        {
            return;
        }
        let passes = predicates.iter().all(|p| match node_of(p.capture) {
            Some(node) => {
                let strings: Vec<&str> = p.strings.iter().map(String::as_str).collect();
                (p.check.eval)(ctx, node, &strings) != p.negated
            }
            None => true,
        });
        if passes {
            raw.push(Raw {
                rule,
                level: self.levels[m.pattern_index],
                node: finding,
                message: render_message(
                    self.messages[m.pattern_index]
                        .as_deref()
                        .unwrap_or(&rule.message),
                    &self.query,
                    m.captures(),
                    ctx.source,
                ),
                ordinal: self.ordinals[m.pattern_index],
            });
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
        let compiled = engine.compiled();
        let general = &compiled.general;
        let mut attributed: Vec<(usize, &str)> = general
            .ordinals
            .iter()
            .zip(&general.patterns)
            .map(|(ordinal, (rule, _))| (*ordinal, rule.id.as_str()))
            .collect();
        for gated in &compiled.gated {
            let patterns = gated.patterns();
            assert_eq!(patterns.patterns.len(), 2);
            assert_eq!(patterns.query.pattern_count(), 2);
            attributed.push((gated.ordinal, patterns.patterns[1].0.id.as_str()));
        }
        attributed.sort_unstable();
        let ordinals: Vec<usize> = attributed.iter().map(|(ordinal, _)| *ordinal).collect();
        assert_eq!(ordinals, (0..expected.len()).collect::<Vec<_>>());
        let attributed: Vec<&str> = attributed.into_iter().map(|(_, id)| id).collect();
        assert!(attributed.len() > 27);
        assert!(compiled.gated.len() >= 30, "{} gated", compiled.gated.len());
        assert_eq!(attributed, expected);
    }

    /// On every fixture and example: the same findings, suppressed findings and
    /// messages, in the same order, as every pattern run over the whole tree.
    #[test]
    fn the_call_index_finds_what_every_pattern_everywhere_finds() {
        let rules: Vec<&'static Rule> = crate::rules::all().iter().collect();
        let (indexed, everywhere) = (Engine::new(&rules), Engine::without_call_index(&rules));
        assert!(!indexed.compiled().gated.is_empty());
        assert!(everywhere.compiled().gated.is_empty());
        let vocabulary = crate::rules::vocabulary::Vocabulary::with_extra_words(&[]);
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let (mut files, mut findings) = (0, 0);
        for dir in ["tests/fixtures", "examples"] {
            for entry in ignore::WalkBuilder::new(root.join(dir))
                .standard_filters(false)
                .build()
                .filter_map(Result::ok)
                .filter(|entry| entry.path().extension().is_some_and(|ext| ext == "py"))
            {
                let text = std::fs::read_to_string(entry.path()).unwrap();
                let Ok(crate::scan::Parsed { tree, .. }) = crate::scan::parse(&text) else {
                    continue;
                };
                let path = entry.path().display().to_string();
                let run = |engine: &Engine| {
                    let ctx = FileContext::new(text.as_bytes(), &tree, &vocabulary);
                    let found = engine.run(&ctx, &text, &path);
                    (found.findings, found.suppressed)
                };
                let expected = run(&everywhere);
                assert_eq!(run(&indexed), expected, "{path}");
                files += 1;
                findings += expected.0.len() + expected.1.len();
            }
        }
        assert!(
            files >= 40 && findings >= 250,
            "{files} files, {findings} findings"
        );
    }
}
