//! The enabled rules' queries, compiled once and run at the nodes of each
//! pattern's root type (see [`Compiled`]).

use std::sync::{
    Arc, OnceLock,
    atomic::{AtomicBool, Ordering},
};

use streaming_iterator::StreamingIterator;
use tree_sitter::{Node, Query, QueryCapture, QueryCursor, QueryPredicateArg, Tree};

use super::{
    call_index::{self, Anchor, CallIndex, Callee, Filter, FoundWords, Words},
    position::Positions,
    query_rewrite::{self, FieldOwners},
    suppress::Suppressions,
};
use crate::{
    checks::{self, Check, FileContext},
    finding::{Finding, Suppressed},
    model::bindings::{Bindings, StringParts},
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
    /// Run each pattern only at the nodes of its root type, and the gated ones
    /// only at the calls and attributes they accept (always, but in the test
    /// that compares with running every pattern everywhere).
    anchored: bool,
}

/// Every enabled rule's query. Most patterns are rooted at one node type
/// (see [`call_index::anchor_of`]): the file's tree is walked once, and at each
/// node only the patterns rooted at its type run, anchored there. Tree-sitter's
/// query cursor run over the whole tree would try every pattern at every node.
struct Compiled {
    /// The patterns that are not gated, compiled into one query run anchored
    /// at the nodes of their root types.
    general: Patterns,
    /// The patterns that are their root node alone: compiled for their
    /// predicates, levels and messages, never run.
    alone: Patterns,
    /// The patterns without a root type, run over the whole tree (all of them
    /// in the test that compares with running every pattern everywhere).
    walked: Option<Patterns>,
    /// What runs at a node, by its type's id.
    plans: Vec<Option<Plan>>,
    /// The call- and attribute-rooted patterns that name their callee or
    /// attribute (see [`call_index`]), by id.
    gated: Vec<Gated>,
    gated_groups: Vec<GatedGroup>,
    /// The words the filters look for in a file.
    words: Words,
    /// Whether a pattern is rooted inside strings (`string_content`...), so
    /// that the walk must show the parts of every string.
    string_parts: StringParts,
}

/// The node types a string without interpolations is made of.
const STRING_PARTS: [&str; 5] = [
    "string_start",
    "string_content",
    "escape_sequence",
    "escape_interpolation",
    "string_end",
];

/// What runs at the nodes of one type.
#[derive(Default)]
struct Plan {
    /// The general query's patterns rooted at this type: it runs anchored at
    /// the node when one of them may match there.
    general: Vec<Filter>,
    /// The patterns rooted at this type that are the node alone, each with
    /// its captures' indices: their checks are asked without a query cursor.
    alone: Vec<(usize, Vec<u32>, Filter)>,
    /// The gated patterns rooted at this type, by the names they accept.
    index: Option<CallIndex>,
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
}

/// A call- or attribute-rooted pattern with a gate: it runs only at the nodes
/// whose name its gate accepts (see [`call_index`]).
struct Gated {
    filter: Filter,
    /// Its group in `Compiled::gated_groups`.
    group: usize,
}

/// Gated patterns whose gates share a name, compiled into one query when a
/// file first has a node at which one of them is a candidate (a pull request's
/// scan compiles only the ones its files need). Compiled one by one, each
/// query costs a fixed analysis of the grammar (about 0.8 ms, more than most
/// patterns); grouped, a node runs the few patterns of its candidates' groups.
struct GatedGroup {
    /// A disabled first pattern naming every capture (a predicate may name a
    /// capture that is defined after it, as `@finding` often is), then the
    /// patterns as [`anchored_text`] gives them.
    source: String,
    /// Each pattern's id in `Compiled::gated`, rule and ordinal.
    ids: Vec<usize>,
    rules: Vec<&'static Rule>,
    ordinals: Vec<usize>,
    compiled: OnceLock<Patterns>,
}

impl GatedGroup {
    fn patterns(&self) -> &Patterns {
        self.compiled.get_or_init(|| {
            let mut query = Query::new(&super::language(), &self.source)
                .expect("the test suite compiles every built-in rule");
            query.disable_pattern(0);
            Patterns::new(query, self.rules.clone(), self.ordinals.clone())
        })
    }
}

/// A pattern's text as it is compiled to run only at nodes of its root's type,
/// anchored there: cheaper to compile (see `query_rewrite`), and its root a
/// wildcard, which tree-sitter compiles without analysing it against the
/// grammar (half a millisecond for a `call`). Not when a child of the root
/// names a type its field holds only through a supertype (`function:
/// (identifier)`): under a wildcard, tree-sitter then matches nothing. Every
/// byte offset is kept, so the root is still where the anchor says.
fn anchored_text(text: &str, anchor: &Anchor) -> String {
    let owners = FieldOwners::python();
    let mut text = query_rewrite::cheaper_to_compile(text, owners);
    let wildcard_root = call_index::anchor_of(&text).is_some_and(|rewritten| {
        rewritten.children.iter().all(|child| match child {
            (_, Some(kind)) if kind == "_" => true,
            (Some(field), Some(kind)) => owners.lists(&anchor.kind, field, kind),
            _ => false,
        })
    });
    if wildcard_root {
        text.replace_range(
            anchor.kind_at.clone(),
            &format!("{:<width$}", "_", width = anchor.kind_at.len()),
        );
    }
    text
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
            anchored: true,
        }
    }

    /// Every pattern in one query run over the whole tree, as before the call
    /// index: what the index must find the same as.
    #[cfg(test)]
    fn without_call_index(rules: &[&'static Rule]) -> Self {
        Self {
            anchored: false,
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
        let anchored = self.anchored;
        rayon::spawn(move || {
            compiled.get_or_init(|| Compiled::new(&rules, anchored));
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
            .get_or_init(|| Compiled::new(&self.rules, self.anchored))
    }

    /// Runs every rule over one parsed file. `text` is the file as written, for
    /// fingerprints; `ctx.source` is what was parsed (lone CRs made newlines).
    pub fn run(&self, ctx: &FileContext, text: &str, path: &str) -> FileFindings {
        let tree = ctx.tree;
        let compiled = self.compiled();
        let errors = error_ranges(tree);
        let mut raw: Vec<Raw> = Vec::new();
        let mut cursor = QueryCursor::new();
        if let Some(walked) = &compiled.walked {
            let mut matches = cursor.matches(&walked.query, tree.root_node(), ctx.source);
            while let Some(m) = matches.next() {
                walked.collect(m.pattern_index, m.captures(), ctx, &errors, &mut raw);
            }
        }
        if compiled.plans.iter().any(Option::is_some) {
            cursor.set_max_start_depth(Some(0));
            // One walk finds the nodes to match and gathers the file's
            // bindings, which most files' checks ask for.
            let mut nodes = Vec::new();
            let bindings = Bindings::gathered(tree, ctx.source, compiled.string_parts, |node| {
                if let Some(Some(plan)) = compiled.plans.get(usize::from(node.kind_id())) {
                    nodes.push((node, plan));
                }
            });
            ctx.set_bindings(bindings);
            let mut scratch = Scratch::default();
            for (node, plan) in nodes {
                compiled.run_plan(
                    plan,
                    node,
                    ctx,
                    &errors,
                    &mut cursor,
                    &mut scratch,
                    &mut raw,
                );
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
    /// Compiles the rules' queries: the gated patterns apart (lazily), the
    /// others into one query (and the ones without a root type into another).
    fn new(python: &[&'static Rule], anchored: bool) -> Self {
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
        let language = super::language();
        // Each query is the source with the other patterns blanked out, so that
        // every pattern keeps its offset.
        let mut general = source.clone().into_bytes();
        let mut walked = source.clone().into_bytes();
        let mut alone_source = vec![b' '; source.len()];
        let mut any_walked = false;
        // Each gated pattern's rule, ordinal, text and filter, by id.
        let mut gated: Vec<(&'static Rule, usize, String, Filter)> = Vec::new();
        let mut words = Words::default();
        let mut plans: Vec<Option<Plan>> = Vec::new();
        // Patterns alone at their node, by ordinal, with their type's id.
        let mut alone = Vec::new();
        for (ordinal, span) in spans.iter().enumerate() {
            let text = &source[span.clone()];
            let anchor = call_index::anchor_of(text)
                .filter(|_| anchored)
                .and_then(|anchor| Some((node_kind_id(&language, &anchor.kind)?, anchor)));
            let Some((kind, anchor)) = anchor else {
                general[span.clone()].fill(b' ');
                any_walked = true;
                continue;
            };
            walked[span.clone()].fill(b' ');
            let kind = usize::from(kind);
            if plans.len() <= kind {
                plans.resize_with(kind + 1, || None);
            }
            let plan = plans[kind].get_or_insert_with(Plan::default);
            let filter = Filter::new(&anchor, &mut words);
            if let Some(gate) = &anchor.gate {
                general[span.clone()].fill(b' ');
                plan.index
                    .get_or_insert_with(CallIndex::default)
                    .add(gated.len(), gate);
                let text = anchored_text(text, &anchor);
                gated.push((owner(span.start), ordinal, text, filter));
            } else if anchor.alone {
                general[span.clone()].fill(b' ');
                alone_source[span.clone()].copy_from_slice(text.as_bytes());
                alone.push((ordinal, kind, filter));
            } else {
                plan.general.push(filter);
            }
        }
        let general = Patterns::of_source(&general, &spans, owner);
        // Each gated pattern's group, by id.
        let mut placed = vec![0; gated.len()];
        let mut gated_groups = Vec::new();
        let indices = plans
            .iter()
            .flatten()
            .filter_map(|plan| plan.index.as_ref());
        for ids in indices.flat_map(CallIndex::co_candidates) {
            let mut body = String::new();
            for &id in &ids {
                placed[id] = gated_groups.len();
                body.push_str(&gated[id].2);
                body.push('\n');
            }
            let captures: String = call_index::capture_names(&body)
                .iter()
                .map(|name| format!(" @{name}"))
                .collect();
            gated_groups.push(GatedGroup {
                source: format!("(comment){captures}\n{body}"),
                rules: ids.iter().map(|&id| gated[id].0).collect(),
                ordinals: ids.iter().map(|&id| gated[id].1).collect(),
                ids,
                compiled: OnceLock::new(),
            });
        }
        let gated = (gated.into_iter().zip(placed))
            .map(|((.., filter), group)| Gated { filter, group })
            .collect();
        let alone_patterns = Patterns::of_source(&alone_source, &spans, owner);
        for (index, (ordinal, kind, filter)) in alone.into_iter().enumerate() {
            // After the list of captures.
            let pattern = index + 1;
            let captures = call_index::capture_names(&source[spans[ordinal].clone()])
                .iter()
                .filter_map(|name| alone_patterns.query.capture_index_for_name(name))
                .collect();
            if let Some(plan) = plans[kind].as_mut() {
                plan.alone.push((pattern, captures, filter));
            }
        }
        let string_parts = if STRING_PARTS.iter().any(|kind| {
            node_kind_id(&language, kind)
                .is_some_and(|id| plans.get(usize::from(id)).is_some_and(Option::is_some))
        }) {
            StringParts::Visited
        } else {
            StringParts::Skipped
        };
        Self {
            string_parts,
            general,
            alone: alone_patterns,
            walked: any_walked.then(|| Patterns::of_source(&walked, &spans, owner)),
            plans,
            gated,
            gated_groups,
            words,
        }
    }

    /// Runs at `node` the patterns rooted at its type.
    #[allow(clippy::too_many_arguments)]
    fn run_plan<'t>(
        &self,
        plan: &Plan,
        node: Node<'t>,
        ctx: &FileContext<'t>,
        errors: &[std::ops::Range<usize>],
        cursor: &mut QueryCursor,
        scratch: &mut Scratch<'t>,
        raw: &mut Vec<Raw<'t>>,
    ) {
        if plan
            .general
            .iter()
            .any(|filter| filter.passes(node, ctx, &self.words, &mut scratch.found_words))
        {
            let mut matches = cursor.matches(&self.general.query, node, ctx.source);
            while let Some(m) = matches.next() {
                self.general
                    .collect(m.pattern_index, m.captures(), ctx, errors, raw);
            }
        }
        for (pattern, captures, filter) in &plan.alone {
            if !filter.passes(node, ctx, &self.words, &mut scratch.found_words) {
                continue;
            }
            scratch.captures.clear();
            scratch
                .captures
                .extend(captures.iter().map(|&index| QueryCapture { node, index }));
            self.alone
                .collect(*pattern, &scratch.captures, ctx, errors, raw);
        }
        let Some(index) = &plan.index else { return };
        let Some(callee) = Callee::of(node, ctx.source) else {
            return;
        };
        let Scratch {
            candidates,
            found_words,
            groups,
            ..
        } = scratch;
        index.candidates(ctx, &callee, candidates);
        candidates
            .retain(|&id| (self.gated[id].filter).passes(node, ctx, &self.words, found_words));
        groups.clear();
        groups.extend(candidates.iter().map(|&id| self.gated[id].group));
        groups.sort_unstable();
        groups.dedup();
        for &group in groups.iter() {
            let group = &self.gated_groups[group];
            let patterns = group.patterns();
            let mut matches = cursor.matches(&patterns.query, node, ctx.source);
            while let Some(m) = matches.next() {
                // Only the candidates' matches: the others' gates did not
                // let this node through.
                let id = m.pattern_index.checked_sub(1).map(|at| group.ids[at]);
                if id.is_some_and(|id| candidates.contains(&id)) {
                    patterns.collect(m.pattern_index, m.captures(), ctx, errors, raw);
                }
            }
        }
    }
}

/// Buffers reused from node to node.
#[derive(Default)]
struct Scratch<'t> {
    captures: Vec<QueryCapture<'t>>,
    candidates: Vec<usize>,
    /// The groups of the candidates that pass their filters.
    groups: Vec<usize>,
    found_words: FoundWords,
}

/// The id of a named node type a pattern can be rooted at; `None` for one that
/// no node reports as its own (a supertype such as `expression`).
fn node_kind_id(language: &tree_sitter::Language, kind: &str) -> Option<u16> {
    let id = language.id_for_node_kind(kind, true);
    (id != 0 && language.node_kind_is_visible(id) && !language.node_kind_is_supertype(id))
        .then_some(id)
}

impl Patterns {
    /// The patterns of a query source (the rules' source with some patterns
    /// blanked out), attributed to their rules by offset.
    fn of_source(
        source: &[u8],
        spans: &[std::ops::Range<usize>],
        owner: impl Fn(usize) -> &'static Rule,
    ) -> Self {
        let source = std::str::from_utf8(source).expect("only ASCII blanks replaced text");
        // A disabled first pattern naming every capture: a predicate may name a
        // capture that its pattern defines after it (as `@finding` often is),
        // which tree-sitter accepts only once some pattern has defined it.
        let captures: String = call_index::capture_names(source)
            .iter()
            .map(|name| format!(" @{name}"))
            .collect();
        let header = format!("(comment){captures}\n");
        // Same byte offsets, same matches, compiled faster (see `query_rewrite`).
        let source = query_rewrite::cheaper_to_compile(source, FieldOwners::python());
        let mut query = Query::new(&super::language(), &format!("{header}{source}"))
            .expect("the test suite compiles every built-in rule");
        query.disable_pattern(0);
        let (rules, ordinals): (Vec<_>, Vec<_>) = (1..query.pattern_count())
            .map(|index| {
                let at = query.start_byte_for_pattern(index) - header.len();
                let ordinal = spans.partition_point(|span| span.start < at);
                (owner(at), ordinal)
            })
            .unzip();
        Self::new(query, rules, ordinals)
    }

    /// A query whose first pattern is a disabled list of its captures, with
    /// the rules and ordinals of the patterns after it.
    fn new(query: Query, rules: Vec<&'static Rule>, ordinals: Vec<usize>) -> Self {
        let patterns: Vec<(&'static Rule, Vec<Predicate>)> = rules
            .into_iter()
            .enumerate()
            .map(|(index, rule)| {
                let predicates = query
                    .general_predicates(index + 1)
                    .iter()
                    .map(resolve_predicate)
                    .collect();
                (rule, predicates)
            })
            .collect();
        let levels = (0..patterns.len())
            .map(|index| pattern_level(&query, index + 1).unwrap_or(patterns[index].0.level))
            .collect();
        let messages = (0..patterns.len())
            .map(|index| pattern_message(&query, index + 1))
            .collect();
        let finding_capture = query.capture_index_for_name("finding").unwrap_or(u32::MAX);
        Self {
            query,
            patterns,
            levels,
            messages,
            ordinals,
            finding_capture,
        }
    }

    /// Keeps a match of one of these patterns if its predicates pass.
    fn collect<'t>(
        &self,
        pattern: usize,
        captures: &[QueryCapture<'t>],
        ctx: &FileContext<'t>,
        errors: &[std::ops::Range<usize>],
        raw: &mut Vec<Raw<'t>>,
    ) {
        // The first pattern, the list of captures, is disabled.
        let Some(pattern) = pattern.checked_sub(1) else {
            return;
        };
        let (rule, predicates) = &self.patterns[pattern];
        let node_of = |capture: u32| captures.iter().find(|c| c.index == capture).map(|c| c.node);
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
            // Most checks take no strings: no list to build for them.
            Some(node) if p.strings.is_empty() => (p.check.eval)(ctx, node, &[]) != p.negated,
            Some(node) => {
                let strings: Vec<&str> = p.strings.iter().map(String::as_str).collect();
                (p.check.eval)(ctx, node, &strings) != p.negated
            }
            None => true,
        });
        if passes {
            raw.push(Raw {
                rule,
                level: self.levels[pattern],
                node: finding,
                message: render_message(
                    self.messages[pattern].as_deref().unwrap_or(&rule.message),
                    &self.query,
                    captures,
                    ctx.source,
                ),
                ordinal: self.ordinals[pattern],
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
    captures: &[QueryCapture],
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
        assert!(
            compiled.walked.is_none(),
            "every built-in pattern has a root type"
        );
        let mut attributed: Vec<(usize, &str)> = [&compiled.general, &compiled.alone]
            .into_iter()
            .flat_map(|patterns| patterns.ordinals.iter().zip(&patterns.patterns))
            .map(|(ordinal, (rule, _))| (*ordinal, rule.id.as_str()))
            .collect();
        for (id, gated) in compiled.gated.iter().enumerate() {
            let group = &compiled.gated_groups[gated.group];
            let patterns = group.patterns();
            assert_eq!(patterns.query.pattern_count(), group.ids.len() + 1);
            let at = group.ids.iter().position(|&member| member == id).unwrap();
            let rule = patterns.patterns[at].0.id.as_str();
            attributed.push((patterns.ordinals[at], rule));
        }
        // Fewer queries than gated patterns: gates that share a name share one.
        assert!(compiled.gated_groups.len() < compiled.gated.len());
        attributed.sort_unstable();
        let ordinals: Vec<usize> = attributed.iter().map(|(ordinal, _)| *ordinal).collect();
        assert_eq!(ordinals, (0..expected.len()).collect::<Vec<_>>());
        let attributed: Vec<&str> = attributed.into_iter().map(|(_, id)| id).collect();
        assert!(attributed.len() > 27);
        assert!(compiled.gated.len() >= 30, "{} gated", compiled.gated.len());
        assert_eq!(attributed, expected);
    }

    /// On every fixture and example: the same findings, suppressed findings and
    /// messages, in the same order, as every pattern run over the whole tree
    /// (anchored at root types, gated by name, the lone nodes' checks asked
    /// directly).
    #[test]
    fn the_call_index_finds_what_every_pattern_everywhere_finds() {
        let rules: Vec<&'static Rule> = crate::rules::all().iter().collect();
        let (indexed, everywhere) = (Engine::new(&rules), Engine::without_call_index(&rules));
        assert!(!indexed.compiled().gated.is_empty());
        assert!(!indexed.compiled().alone.patterns.is_empty());
        let everywhere_compiled = everywhere.compiled();
        assert!(everywhere_compiled.gated.is_empty());
        assert!(everywhere_compiled.general.patterns.is_empty());
        assert!(everywhere_compiled.plans.iter().all(Option::is_none));
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
