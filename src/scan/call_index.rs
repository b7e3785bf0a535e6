//! Call-rooted patterns indexed by the callee their predicates require.
//!
//! Most of the rules' patterns are rooted at a `call` and accept it only for a
//! few callees: `(#qualname? @callee "pickle.loads" ...)` on the call's
//! `function:`, or `(#any-of? @method "get" "post" ...)` on its last name. Run
//! over the whole tree, tree-sitter's query cursor starts every such pattern at
//! every call, and most of its matches are then rejected by that predicate. Here
//! each pattern's gate is read from its own text (the rule files stay the only
//! source), the gates are indexed by name, and a file's calls are looked up in
//! the index: a pattern runs only at the calls its gate lets through, anchored
//! at that node. A gate is implied by one of the pattern's predicates, so the
//! pattern finds exactly what it found when run everywhere.

use std::{
    collections::{HashMap, HashSet},
    ops::Range,
};

use tree_sitter::Node;

use crate::checks::FileContext;
use crate::model::{names::whole_name_positions, syntax::NodeExt};

/// What a call's callee must be for a pattern to match it (one of the pattern's
/// predicates, read as a condition on the callee).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Gate {
    /// The callee's qualified name matches one of these (`pickle.loads`, `requests.*`).
    Qualname(Vec<String>),
    /// The callee's last name (`f` of `f(...)`, `m` of `x.m(...)`) is one of these.
    LastName(Vec<String>),
    /// The callee's last name ends with this.
    LastNameSuffix(String),
}

/// The top-level patterns of a query source: each one's byte range (its
/// captures and quantifiers included), in order.
pub fn pattern_spans(source: &str) -> Vec<Range<usize>> {
    let tokens = tokenize(source);
    let mut spans = Vec::new();
    let mut depth = 0usize;
    let mut current: Option<Range<usize>> = None;
    for token in &tokens {
        match token.kind {
            Tok::Open => {
                if depth == 0 {
                    if let Some(span) = current.take() {
                        spans.push(span);
                    }
                    current = Some(token.range.clone());
                }
                depth += 1;
            }
            Tok::Close => {
                depth = depth.saturating_sub(1);
                if let Some(span) = current.as_mut() {
                    span.end = token.range.end;
                }
            }
            _ => {
                if let Some(span) = current.as_mut() {
                    span.end = token.range.end;
                }
            }
        }
    }
    spans.extend(current);
    spans
}

/// The names of the captures a pattern uses, each once.
pub fn capture_names(pattern: &str) -> Vec<String> {
    let mut names: Vec<String> = tokenize(pattern)
        .iter()
        .filter(|token| token.kind == Tok::Capture)
        .map(|token| pattern[token.range.start + 1..token.range.end].to_string())
        .collect();
    names.sort();
    names.dedup();
    names
}

/// Where a top-level pattern starts: the type of its root node, and what else
/// its text says about the nodes it can match there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Anchor {
    /// The root node's type (`call`, `string`).
    pub kind: String,
    /// Where the root's type is written in the pattern.
    pub kind_at: Range<usize>,
    /// The root's children (its predicates left out): field and type, each
    /// `None` where it has none (a group, an alternation, an anonymous node).
    pub children: Vec<(Option<String>, Option<String>)>,
    /// For a pattern rooted at a call or an attribute, a condition on its name
    /// that one of its predicates implies.
    pub gate: Option<Gate>,
    /// Children the pattern requires of the node, by field and type.
    pub shape: Vec<Shape>,
    /// A regular expression the node's text must match (a `#match?` on it).
    pub text: Option<String>,
    /// Words of which the file must contain one: the node's captures must be
    /// exactly one of them (`#eq?`, `#any-of?`), or resolve to a qualified
    /// name whose every segment is written in the file (`#qualname?`), or a
    /// named check passes only in files holding one (`Check::file_words`), or
    /// a `#match?` matches only text holding one (its literal prefixes).
    /// Each set must be found.
    pub words: Vec<Vec<String>>,
    /// Sets of names of which the file must contain one, each, written as a
    /// whole name (`main` counts in `pip.main`, not in `domain`): the strings
    /// of `#eq?`/`#any-of?` and the segments of `#qualname?`, which are a
    /// node's whole text or a name.
    pub names: Vec<Vec<String>>,
    /// The pattern is its root node alone (no child, field, anchor or
    /// quantifier), its captures are all on that node and its predicates are all
    /// named checks: it matches every node of its type, and the checks decide.
    pub alone: bool,
}

/// Is `word` a name: letters, digits and underscores (ASCII), starting with a
/// letter or an underscore?
fn is_name(word: &str) -> bool {
    word.bytes()
        .next()
        .is_some_and(|b| b.is_ascii_alphabetic() || b == b'_')
        && word.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// Adds a word set to those a file must hold, unless a word is too short to
/// tell files apart.
fn require(words: &mut Vec<Vec<String>>, these: Vec<String>) {
    let shortest = these.iter().map(String::len).min().unwrap_or(0);
    if shortest >= 3 && !words.contains(&these) {
        words.push(these);
    }
}

/// Words of which every text `regex` matches holds one: its literal
/// prefixes, when they are finitely many (`pip` of `\bpip3?\b.*install`).
fn regex_words(regex: &str) -> Option<Vec<String>> {
    let hir = regex_syntax::parse(regex).ok()?;
    let prefixes = regex_syntax::hir::literal::Extractor::new().extract(&hir);
    prefixes
        .literals()?
        .iter()
        .map(|literal| String::from_utf8(literal.as_bytes().to_vec()).ok())
        .collect()
}

/// The anchor of one top-level pattern; `None` when it is not one typed node
/// (a wildcard, an alternation or a sequence at the top: such a pattern runs
/// over the whole tree, as before).
pub fn anchor_of(pattern: &str) -> Option<Anchor> {
    let tokens = tokenize(pattern);
    let mut parser = Parser {
        tokens: &tokens,
        text: pattern,
        at: 0,
        predicates: Vec::new(),
    };
    let mut root = parser.node()?;
    // Trailing captures of the whole pattern.
    while let Some(token) = parser.tokens.get(parser.at) {
        match token.kind {
            Tok::Capture => root.captures.push(parser.slice(token).to_string()),
            Tok::Quantifier => return None,
            _ => {}
        }
        parser.at += 1;
    }
    // A group of one node with its captures and predicates: `((call ...) @x (#p? ...))`.
    while root.kind.is_none() && !root.alternation {
        let mut nodes = root.children.into_iter().filter(|child| !child.predicate);
        let only = nodes.next()?;
        if nodes.next().is_some() {
            return None;
        }
        root = only;
    }
    let kind = root.kind.clone()?;
    if kind == "_" || root.quantified || root.literal {
        return None;
    }
    let alone = !root.constrained
        && capture_names(pattern)
            .iter()
            .all(|capture| root.captures.contains(capture))
        && root.children.iter().all(|child| child.predicate)
        && parser.predicates.iter().all(|(operator, args)| {
            !TEXT_PREDICATES.contains(&operator.as_str())
                && args.iter().all(|arg| match arg {
                    Arg::Capture(capture) => root.captures.contains(capture),
                    Arg::String(_) => true,
                })
        });
    let gate = match kind.as_str() {
        "call" => root
            .children
            .iter()
            .find(|child| child.field.as_deref() == Some("function"))
            .and_then(|function| gate_on(function, &parser.predicates)),
        // An attribute's qualified name ends with its own last name.
        "attribute" => gate_on(&root, &parser.predicates).and_then(|gate| match gate {
            Gate::Qualname(names) => names
                .iter()
                .map(|name| {
                    let last = name.rsplit('.').next().unwrap_or(name);
                    (last != "*").then(|| last.to_string())
                })
                .collect::<Option<Vec<String>>>()
                .map(Gate::LastName),
            other => Some(other),
        }),
        _ => None,
    };
    let certain = certain_captures(&root);
    let mut words: Vec<Vec<String>> = Vec::new();
    let mut names: Vec<Vec<String>> = Vec::new();
    let mut text = None;
    for (operator, args) in &parser.predicates {
        let Some((Arg::Capture(capture), strings)) = args.split_first() else {
            continue;
        };
        if !certain.contains(&capture) {
            continue;
        }
        // A check that passes only in files holding one of its words.
        let check_words = crate::checks::find(crate::checks::predicate_check_name(operator))
            .filter(|check| !check.file_words.is_empty())
            .filter(|_| !crate::checks::predicate_is_negated(operator));
        if let Some(check) = check_words {
            let these: Vec<String> = check.file_words.iter().map(|w| (*w).to_string()).collect();
            require(&mut words, these);
            continue;
        }
        let strings: Option<Vec<&str>> = strings
            .iter()
            .map(|arg| match arg {
                Arg::String(s) => Some(s.as_str()),
                Arg::Capture(_) => None,
            })
            .collect();
        let Some(strings) = strings.filter(|strings| !strings.is_empty()) else {
            continue;
        };
        let these: Vec<String> = match operator.as_str() {
            "eq?" | "any-of?" => strings.iter().map(|s| (*s).to_string()).collect(),
            // Each segment of a qualified name is written in the file (the
            // import that binds its head, or the name itself): the longest.
            "qualname?" => strings
                .iter()
                .map(|name| {
                    name.split('.')
                        .filter(|segment| *segment != "*")
                        .max_by_key(|segment| segment.len())
                        .unwrap_or("")
                        .to_string()
                })
                .collect(),
            "match?" => {
                if root.captures.contains(capture) {
                    text.get_or_insert_with(|| strings[0].to_string());
                }
                if let Some(these) = regex_words(strings[0]) {
                    require(&mut words, these);
                }
                continue;
            }
            _ => continue,
        };
        // A string that is not a name (`"errors"` with its quotes, `a b`) is
        // looked for as written.
        if these.iter().all(|word| is_name(word)) {
            require(&mut names, these);
        } else {
            require(&mut words, these);
        }
    }
    Some(Anchor {
        kind,
        kind_at: root.kind_at.clone()?,
        children: root
            .children
            .iter()
            .filter(|child| !child.predicate)
            .map(|child| (child.field.clone(), child.kind.clone()))
            .collect(),
        gate,
        shape: shapes(&root),
        text,
        words,
        names,
        alone,
    })
}

/// What a node must have for a pattern to match there, every part implied by
/// the pattern: checked before the query cursor runs there.
#[derive(Default)]
pub struct Filter {
    shape: Vec<Shape>,
    text: Option<regex::bytes::Regex>,
    /// Which of the file's word sets (see [`Words`]) must be found, each.
    words: Vec<usize>,
}

impl Filter {
    pub fn new(anchor: &Anchor, words: &mut Words) -> Self {
        Self {
            shape: anchor.shape.clone(),
            // The expression tree-sitter evaluates, compiled the same way.
            text: anchor
                .text
                .as_deref()
                .and_then(|regex| regex::bytes::Regex::new(regex).ok()),
            words: (anchor.words.iter().map(|set| (set, false)))
                .chain(anchor.names.iter().map(|set| (set, true)))
                .map(|(set, whole)| words.add(set.clone(), whole))
                .collect(),
        }
    }

    /// May the pattern match at `node`?
    pub fn passes(
        &self,
        node: Node,
        ctx: &FileContext,
        words: &Words,
        found: &mut FoundWords,
    ) -> bool {
        self.words.iter().all(|&set| found.any(ctx, words, set))
            && self.shape.iter().all(|shape| shape.holds(node))
            && self
                .text
                .as_ref()
                .is_none_or(|regex| regex.is_match(&ctx.source[node.byte_range()]))
    }
}

/// The word sets of every filter, each with whether its words are looked for
/// as whole names.
#[derive(Default)]
pub struct Words(Vec<(Vec<String>, bool)>);

impl Words {
    fn add(&mut self, set: Vec<String>, whole: bool) -> usize {
        let set = (set, whole);
        if let Some(known) = self.0.iter().position(|known| *known == set) {
            return known;
        }
        self.0.push(set);
        self.0.len() - 1
    }
}

/// Which word sets one file contains, searched on first use.
#[derive(Default)]
pub struct FoundWords(Vec<Option<bool>>);

impl FoundWords {
    fn any(&mut self, ctx: &FileContext, words: &Words, set: usize) -> bool {
        if self.0.len() <= set {
            self.0.resize(set + 1, None);
        }
        let (these, whole) = &words.0[set];
        *self.0[set].get_or_insert_with(|| {
            these.iter().any(|word| match whole {
                true => whole_name_positions(ctx.source, word).next().is_some(),
                false => ctx.contains(word),
            })
        })
    }
}

/// A child a pattern requires of its node: one in `field` (any child for
/// `None`) of type `kind` (any named node for `None`), with children of its own.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shape {
    field: Option<std::num::NonZeroU16>,
    kind: Option<String>,
    /// The node has at most one child in `field` (the grammar says so).
    single: bool,
    children: Vec<Shape>,
}

impl Shape {
    /// Does `node` have such a child?
    pub fn holds(&self, node: Node) -> bool {
        match self.field {
            Some(field) if self.single => node
                .child_by_field_id(field.get())
                .is_some_and(|child| self.fits(child)),
            // A cursor only where children are iterated.
            Some(field) => node
                .children_by_field_id(field, &mut node.walk())
                .any(|child| self.fits(child)),
            None => node
                .named_children(&mut node.walk())
                .any(|child| self.fits(child)),
        }
    }

    fn fits(&self, child: Node) -> bool {
        child.is_named()
            && self
                .kind
                .as_deref()
                .is_none_or(|kind| child.kind_name() == kind)
            && self.children.iter().all(|shape| shape.holds(child))
    }
}

/// The field children of a pattern node that every match has, when they say
/// something of their type.
fn shapes(node: &QNode) -> Vec<Shape> {
    let language = super::language();
    let parent = node.kind.as_deref().filter(|kind| *kind != "_");
    node.children
        .iter()
        .filter(|child| {
            !child.quantified && !child.alternation && !child.literal && !child.constrained
        })
        .filter_map(|child| {
            // A supertype (`expression`) is no node's own type: any named node.
            let kind = child.kind.clone().filter(|kind| {
                let id = language.id_for_node_kind(kind, true);
                kind != "_" && !(id != 0 && language.node_kind_is_supertype(id))
            });
            let children = shapes(child);
            let Some(name) = child.field.as_deref() else {
                // A child in no field: of a type, among the named children.
                return kind.map(|kind| Shape {
                    field: None,
                    kind: Some(kind),
                    single: false,
                    children,
                });
            };
            let field = language.field_id_for_name(name)?;
            (kind.is_some() || !children.is_empty()).then(|| Shape {
                field: Some(field),
                kind,
                single: parent.is_some_and(|parent| {
                    super::query_rewrite::FieldOwners::python().is_single(parent, name)
                }),
                children,
            })
        })
        .collect()
}

/// The captures every match of the pattern has: those on nodes reached from
/// the root through children that are neither quantified nor inside an
/// alternation (an alternation's own captures count).
fn certain_captures(node: &QNode) -> Vec<&String> {
    let mut captures: Vec<&String> = node.captures.iter().collect();
    for child in &node.children {
        if child.quantified || child.predicate || child.literal {
            continue;
        }
        if child.alternation {
            captures.extend(&child.captures);
        } else {
            captures.extend(certain_captures(child));
        }
    }
    captures
}

/// The gate of a call-rooted pattern (see [`anchor_of`]).
pub fn gate_of(pattern: &str) -> Option<Gate> {
    anchor_of(pattern)
        .filter(|anchor| anchor.kind == "call")
        .and_then(|anchor| anchor.gate)
}

/// Predicates tree-sitter evaluates on a capture's text (the others are the
/// named checks, and `set!`).
const TEXT_PREDICATES: &[&str] = &[
    "eq?",
    "not-eq?",
    "any-eq?",
    "any-not-eq?",
    "match?",
    "not-match?",
    "any-match?",
    "any-not-match?",
    "any-of?",
    "not-any-of?",
    "is?",
    "is-not?",
];

/// The most selective gate that a predicate on `function` (the callee of a
/// call, or an attribute itself) implies.
fn gate_on(function: &QNode, predicates: &[(String, Vec<Arg>)]) -> Option<Gate> {
    let whole: Vec<&str> = function.captures.iter().map(String::as_str).collect();
    let last = last_name_captures(function);
    let mut gates = Vec::new();
    for (operator, args) in predicates {
        let Some((Arg::Capture(capture), strings)) = args.split_first() else {
            continue;
        };
        let strings: Option<Vec<String>> = strings
            .iter()
            .map(|arg| match arg {
                Arg::String(s) => Some(s.clone()),
                Arg::Capture(_) => None,
            })
            .collect();
        let Some(strings) = strings else { continue };
        if strings.is_empty() {
            continue;
        }
        let on_whole = whole.contains(&capture.as_str());
        let on_last = last.contains(capture);
        match operator.as_str() {
            "qualname?" if on_whole => gates.push(Gate::Qualname(strings)),
            "eq?" | "any-of?" if on_last => gates.push(Gate::LastName(strings)),
            "match?" if on_whole || on_last => {
                if let Some(gate) = gate_of_regex(&strings[0]) {
                    gates.push(gate);
                }
            }
            _ => {}
        }
    }
    // The most selective: names first, then qualified names (a wildcard may
    // accept many), then suffixes.
    gates.sort_by_key(|gate| match gate {
        Gate::LastName(_) => 0,
        Gate::Qualname(names) if names.iter().all(|n| !n.ends_with(".*")) => 0,
        Gate::Qualname(_) => 1,
        Gate::LastNameSuffix(_) => 2,
    });
    gates.into_iter().next()
}

/// The captures that are the callee's last name in every form the `function:`
/// node may take.
fn last_name_captures(function: &QNode) -> Vec<String> {
    if function.alternation {
        let mut alternatives = function.children.iter().filter(|child| !child.literal);
        let Some(first) = alternatives.next() else {
            return Vec::new();
        };
        let mut common = last_name_captures(first);
        for other in alternatives {
            let these = last_name_captures(other);
            common.retain(|capture| these.contains(capture));
        }
        return common;
    }
    match function.kind.as_deref() {
        Some("identifier") if !function.quantified => function.captures.clone(),
        Some("attribute" | "_") => function
            .children
            .iter()
            .find(|child| {
                child.field.as_deref() == Some("attribute")
                    && matches!(child.kind.as_deref(), Some("identifier" | "_"))
                    && !child.quantified
            })
            .map(|name| name.captures.clone())
            .unwrap_or_default(),
        _ => Vec::new(),
    }
}

/// A gate implied by a regular expression on the callee's text or last name,
/// for the forms the rules use: `NAME$` (the last name ends with it), and
/// `(^|\.)a\.b$` or `^a\.b$` (the last name is `b`).
fn gate_of_regex(regex: &str) -> Option<Gate> {
    let body = regex.strip_suffix('$')?;
    let (anchored, body) = if let Some(rest) = body.strip_prefix("(^|\\.)") {
        (true, rest)
    } else if let Some(rest) = body.strip_prefix('^') {
        (true, rest)
    } else {
        (false, body)
    };
    let segments: Vec<&str> = body.split("\\.").collect();
    let plain =
        |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
    if !segments.iter().all(|s| plain(s)) {
        return None;
    }
    let last = (*segments.last()?).to_string();
    if anchored || segments.len() > 1 {
        Some(Gate::LastName(vec![last]))
    } else {
        Some(Gate::LastNameSuffix(last))
    }
}

/// The name a gate is asked about: a call's callee, or an attribute itself.
pub struct Callee<'t> {
    pub function: Node<'t>,
    /// `f` of `f(...)`, `m` of `x.m(...)` and of `x.m`; `None` for any other callee.
    pub last_name: Option<&'t str>,
}

impl<'t> Callee<'t> {
    /// The callee of a call, or an attribute as its own.
    pub fn of(node: Node<'t>, source: &'t [u8]) -> Option<Self> {
        let function = match node.kind_name() {
            "call" => node.field("function")?,
            _ => node,
        };
        let name = match function.kind_name() {
            "identifier" => Some(function),
            "attribute" => function.field("attribute"),
            _ => None,
        };
        Some(Self {
            function,
            last_name: name.and_then(|name| name.utf8_text(source).ok()),
        })
    }
}

/// The first name of a dotted expression (`a` of `a.b.c`); `None` when it
/// does not start with a name (`f().x`), which has no qualified name.
fn head_name<'t>(mut expression: Node<'t>, source: &'t [u8]) -> Option<&'t str> {
    while expression.kind_name() == "attribute" {
        expression = expression.field("object")?;
    }
    (expression.kind_name() == "identifier")
        .then(|| expression.utf8_text(source).ok())
        .flatten()
}

/// Gated patterns by the names their gates accept.
#[derive(Default)]
pub struct CallIndex {
    qualified: HashMap<String, Vec<usize>>,
    /// `requests` for `requests.*`.
    qualified_prefix: HashMap<String, Vec<usize>>,
    last_name: HashMap<String, Vec<usize>>,
    last_name_suffix: Vec<(String, usize)>,
    /// Are qualified names needed at all?
    any_qualified: bool,
    /// The first segment of every qualified name above (`pickle`, `requests`).
    heads: HashSet<String>,
}

impl CallIndex {
    /// Indexes one gate, with the id that names its pattern (ids are given in
    /// increasing order).
    pub fn add(&mut self, id: usize, gate: &Gate) {
        match gate {
            Gate::Qualname(names) => {
                self.any_qualified = true;
                for name in names {
                    let head = name.split('.').next().unwrap_or(name);
                    self.heads.insert(head.to_string());
                    match name.strip_suffix(".*") {
                        Some(prefix) => self
                            .qualified_prefix
                            .entry(prefix.to_string())
                            .or_default()
                            .push(id),
                        None => self.qualified.entry(name.clone()).or_default().push(id),
                    }
                }
            }
            Gate::LastName(names) => {
                for name in names {
                    self.last_name.entry(name.clone()).or_default().push(id);
                }
            }
            Gate::LastNameSuffix(suffix) => self.last_name_suffix.push((suffix.clone(), id)),
        }
    }

    /// The patterns indexed here in groups, each in order: two patterns are
    /// in one group when their gates share a name (directly or through
    /// another), so that a call one of them is a candidate at is often a
    /// candidate of the others.
    pub fn co_candidates(&self) -> Vec<Vec<usize>> {
        let shared = (self.qualified.values())
            .chain(self.qualified_prefix.values())
            .chain(self.last_name.values());
        let mut ids: Vec<usize> = shared.clone().flatten().copied().collect();
        ids.extend(self.last_name_suffix.iter().map(|(_, id)| *id));
        ids.sort_unstable();
        ids.dedup();
        // Union-find over positions in `ids`.
        let mut root: Vec<usize> = (0..ids.len()).collect();
        fn find(root: &mut [usize], mut at: usize) -> usize {
            while root[at] != at {
                root[at] = root[root[at]];
                at = root[at];
            }
            at
        }
        let position = |id: &usize| ids.binary_search(id).unwrap_or_default();
        for entry in shared {
            for other in entry.iter().skip(1) {
                let (a, b) = (
                    find(&mut root, position(&entry[0])),
                    find(&mut root, position(other)),
                );
                root[a.max(b)] = a.min(b);
            }
        }
        let mut groups: Vec<Vec<usize>> = Vec::new();
        let mut group_of_root: HashMap<usize, usize> = HashMap::new();
        for (at, &id) in ids.iter().enumerate() {
            let group = *group_of_root.entry(find(&mut root, at)).or_insert_with(|| {
                groups.push(Vec::new());
                groups.len() - 1
            });
            groups[group].push(id);
        }
        groups
    }

    /// The patterns whose gate lets this callee through, in order, each once.
    pub fn candidates(&self, ctx: &FileContext, callee: &Callee, out: &mut Vec<usize>) {
        out.clear();
        if let Some(name) = callee.last_name {
            if let Some(ids) = self.last_name.get(name) {
                out.extend_from_slice(ids);
            }
            for (suffix, id) in &self.last_name_suffix {
                if name.ends_with(suffix.as_str()) {
                    out.push(*id);
                }
            }
        }
        // A qualified name starts with what the callee's first name is
        // imported as, or with that name itself: when neither can start any
        // gate's name, there is no qualified name to resolve.
        if self.any_qualified
            && head_name(callee.function, ctx.source)
                .is_some_and(|head| self.heads.contains(head) || ctx.imports().binds(head))
            && let Some(qualified) = ctx.qualified_name(callee.function)
        {
            if let Some(ids) = self.qualified.get(&*qualified) {
                out.extend_from_slice(ids);
            }
            for (dot, _) in qualified.match_indices('.') {
                if let Some(ids) = self.qualified_prefix.get(&qualified[..dot]) {
                    out.extend_from_slice(ids);
                }
            }
        }
        out.sort_unstable();
        out.dedup();
    }
}

// --- A small reader of tree-sitter's query syntax: enough to find a pattern's
// root, its `function:` child and the captures and predicates on them.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tok {
    Open,
    Close,
    /// `name` or `_`, or `name:` when followed by a colon (see `Field`).
    Name,
    Field,
    Capture,
    String,
    Predicate,
    Quantifier,
    /// `.` anchor, `!field`.
    Other,
}

struct Token {
    kind: Tok,
    range: Range<usize>,
}

fn tokenize(source: &str) -> Vec<Token> {
    let bytes = source.as_bytes();
    let mut tokens = Vec::new();
    let mut at = 0;
    let is_name = |b: u8| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-' | b'/');
    while at < bytes.len() {
        let start = at;
        let kind = match bytes[at] {
            b';' => {
                at += bytes[at..].iter().take_while(|&&b| b != b'\n').count();
                continue;
            }
            b if b.is_ascii_whitespace() => {
                at += 1;
                continue;
            }
            b'(' | b'[' => {
                at += 1;
                Tok::Open
            }
            b')' | b']' => {
                at += 1;
                Tok::Close
            }
            b'"' => {
                at += 1;
                while at < bytes.len() && bytes[at] != b'"' {
                    at += if bytes[at] == b'\\' { 2 } else { 1 };
                }
                at = (at + 1).min(bytes.len());
                Tok::String
            }
            b'@' | b'#' | b'!' => {
                at += 1;
                while at < bytes.len() && (is_name(bytes[at]) || bytes[at] == b'?') {
                    at += 1;
                }
                match bytes[start] {
                    b'@' => Tok::Capture,
                    b'#' => Tok::Predicate,
                    _ => Tok::Other,
                }
            }
            b'*' | b'+' | b'?' => {
                at += 1;
                Tok::Quantifier
            }
            b if is_name(b) => {
                while at < bytes.len() && is_name(bytes[at]) {
                    at += 1;
                }
                if bytes.get(at) == Some(&b':') {
                    at += 1;
                    Tok::Field
                } else if &source[start..at] == "." {
                    Tok::Other
                } else {
                    Tok::Name
                }
            }
            _ => {
                at += 1;
                Tok::Other
            }
        };
        tokens.push(Token {
            kind,
            range: start..at,
        });
    }
    tokens
}

#[derive(Debug, Default)]
struct QNode {
    /// The node's type (`call`, `_`); `None` for a group or an alternation.
    kind: Option<String>,
    /// Where the type is written in the pattern.
    kind_at: Option<Range<usize>>,
    alternation: bool,
    /// An anonymous node (`"="`), or a predicate.
    literal: bool,
    /// A predicate (`(#eq? @x "y")`).
    predicate: bool,
    /// Holds an anchor (`.`) or a negated field (`!name`).
    constrained: bool,
    quantified: bool,
    field: Option<String>,
    captures: Vec<String>,
    children: Vec<QNode>,
}

#[derive(Debug)]
enum Arg {
    Capture(String),
    String(String),
}

struct Parser<'a> {
    tokens: &'a [Token],
    text: &'a str,
    at: usize,
    /// Every predicate of the pattern, wherever written: `(operator, args)`.
    predicates: Vec<(String, Vec<Arg>)>,
}

impl<'a> Parser<'a> {
    fn slice(&self, token: &Token) -> &'a str {
        &self.text[token.range.clone()]
    }

    fn peek(&self) -> Option<&'a Token> {
        self.tokens.get(self.at)
    }

    /// One node, group or alternation starting at an opening token, with what follows it.
    fn node(&mut self) -> Option<QNode> {
        let open = self.peek()?;
        if open.kind == Tok::String {
            self.at += 1;
            return Some(QNode {
                literal: true,
                ..QNode::default()
            });
        }
        if open.kind == Tok::Name {
            // A bare `_` or name outside parentheses (a wildcard of any node).
            let kind = self.slice(open).to_string();
            self.at += 1;
            return Some(QNode {
                kind: Some(kind),
                ..QNode::default()
            });
        }
        if open.kind != Tok::Open {
            return None;
        }
        let alternation = self.slice(open) == "[";
        self.at += 1;
        let mut node = QNode {
            alternation,
            ..QNode::default()
        };
        if !alternation && let Some(token) = self.peek() {
            match token.kind {
                Tok::Name => {
                    node.kind = Some(self.slice(token).to_string());
                    node.kind_at = Some(token.range.clone());
                    self.at += 1;
                }
                Tok::Predicate => {
                    let operator = self.slice(token)[1..].to_string();
                    self.at += 1;
                    let mut args = Vec::new();
                    while let Some(token) = self.peek() {
                        self.at += 1;
                        match token.kind {
                            Tok::Close => break,
                            Tok::Capture => args.push(Arg::Capture(self.slice(token)[1..].into())),
                            Tok::String => {
                                let quoted = self.slice(token);
                                let inner = &quoted[1..quoted.len().saturating_sub(1).max(1)];
                                args.push(Arg::String(unescape(inner)));
                            }
                            _ => {}
                        }
                    }
                    self.predicates.push((operator, args));
                    return Some(QNode {
                        literal: true,
                        predicate: true,
                        ..QNode::default()
                    });
                }
                _ => {}
            }
        }
        let mut field = None;
        while let Some(token) = self.peek() {
            match token.kind {
                Tok::Close => {
                    self.at += 1;
                    break;
                }
                Tok::Field => {
                    let name = self.slice(token);
                    field = Some(name[..name.len() - 1].to_string());
                    self.at += 1;
                }
                Tok::Capture => {
                    let name = self.slice(token)[1..].to_string();
                    if let Some(last) = node.children.last_mut() {
                        last.captures.push(name);
                    }
                    self.at += 1;
                }
                Tok::Quantifier => {
                    if let Some(last) = node.children.last_mut() {
                        last.quantified = true;
                    }
                    self.at += 1;
                }
                Tok::Open | Tok::Name | Tok::String => {
                    let mut child = self.node()?;
                    child.field = field.take();
                    node.children.push(child);
                }
                Tok::Other => {
                    node.constrained = true;
                    self.at += 1;
                }
                Tok::Predicate => self.at += 1,
            }
        }
        Some(node)
    }
}

/// A query string's escapes: `\\` → `\`, `\"` → `"`, `\n` → newline.
fn unescape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            match chars.next() {
                Some('n') => out.push('\n'),
                Some('t') => out.push('\t'),
                Some('r') => out.push('\r'),
                Some('0') => out.push('\0'),
                Some(other) => out.push(other),
                None => out.push('\\'),
            }
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use tree_sitter::Query;

    fn gate(pattern: &str) -> Option<Gate> {
        gate_of(pattern)
    }

    fn names(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| (*s).to_string()).collect()
    }

    /// Qualified names are resolved only for callees whose first name is
    /// imported or starts a gate's name; the answers are the same.
    #[test]
    fn only_callees_that_may_resolve_to_a_gate_are_resolved() {
        let mut index = CallIndex::default();
        index.add(0, &Gate::Qualname(vec!["pickle.loads".into()]));
        index.add(1, &Gate::Qualname(vec!["requests.*".into()]));
        let source = "from pickle import loads as l\nimport json as requests\n\
                      l(a)\npickle.loads(b)\nrequests.get(c)\nother.loads(d)\nf().loads(e)\n";
        let snippet = crate::model::test_support::Snippet::new(source);
        let ctx = snippet.ctx();
        let candidates = |callee_text: &str| {
            let call = snippet
                .nodes()
                .into_iter()
                .find(|n| n.kind_name() == "call" && ctx.text(*n).starts_with(callee_text))
                .unwrap();
            let mut out = Vec::new();
            index.candidates(&ctx, &Callee::of(call, ctx.source).unwrap(), &mut out);
            out
        };
        assert_eq!(candidates("l("), [0]);
        assert_eq!(candidates("pickle.loads("), [0]);
        // `requests` is `json` here.
        assert_eq!(candidates("requests.get("), Vec::<usize>::new());
        assert_eq!(candidates("other.loads("), Vec::<usize>::new());
        assert_eq!(candidates("f().loads("), Vec::<usize>::new());
    }

    /// Gates that share a name, directly or through another gate, share a
    /// group; the others are alone.
    #[test]
    fn gates_sharing_a_name_are_grouped() {
        let mut index = CallIndex::default();
        index.add(0, &Gate::LastName(names(&["get", "post"])));
        index.add(1, &Gate::LastName(names(&["debug", "info"])));
        index.add(2, &Gate::LastName(names(&["post", "put"])));
        index.add(3, &Gate::Qualname(names(&["requests.*", "pickle.loads"])));
        index.add(4, &Gate::LastNameSuffix("SchemaFlowFormStep".into()));
        index.add(5, &Gate::LastName(names(&["put"])));
        index.add(6, &Gate::Qualname(names(&["requests.*"])));
        index.add(7, &Gate::LastName(names(&["info"])));
        index.add(8, &Gate::Qualname(names(&["yaml.load"])));
        let mut groups = index.co_candidates();
        groups.sort();
        assert_eq!(
            groups,
            [vec![0, 2, 5], vec![1, 7], vec![3, 6], vec![4], vec![8]]
        );
    }

    #[test]
    fn gates_come_from_predicates_on_the_callee() {
        assert_eq!(
            gate(r#"(call function: (_) @c (#qualname? @c "pickle.loads" "yaml.*")) @finding"#),
            Some(Gate::Qualname(names(&["pickle.loads", "yaml.*"])))
        );
        assert_eq!(
            gate(
                r#"((call function: [(identifier) @m (attribute attribute: (identifier) @m)]) @finding
                  (#any-of? @m "get" "post") (#x? @finding))"#
            ),
            Some(Gate::LastName(names(&["get", "post"])))
        );
        assert_eq!(
            gate(
                r#"(call function: (attribute object: (_) @o attribute: (identifier) @m)
                  (#eq? @m "as_dict") (#match? @o "entry$")) @finding"#
            ),
            Some(Gate::LastName(names(&["as_dict"])))
        );
        assert_eq!(
            gate(r#"(call function: (_) @c (#match? @c "(^|\\.)hass\\.config\\.path$")) @finding"#),
            Some(Gate::LastName(names(&["path"])))
        );
        assert_eq!(
            gate(
                r#"(call function: [(identifier) (attribute)] @f (#match? @f "FormStep$")) @finding"#
            ),
            Some(Gate::LastNameSuffix("FormStep".into()))
        );
    }

    #[test]
    fn anchors_say_what_a_node_needs_for_the_pattern_to_match_there() {
        let anchor = |pattern: &str| anchor_of(pattern).expect(pattern);
        let none: Vec<Vec<String>> = Vec::new();
        let alone =
            anchor(r#"((string) @finding (#hardcoded-secret? @finding) (#set! level "note"))"#);
        assert_eq!((alone.kind.as_str(), alone.alone), ("string", true));
        assert!(alone.shape.is_empty() && alone.text.is_none() && alone.words.is_empty());
        // A text predicate, a child, or a capture elsewhere: not the node alone.
        for pattern in [
            r#"((string) @finding (#match? @finding "^http") (#x? @finding))"#,
            r#"((pair key: (_) @key) @finding (#x? @key))"#,
            r#"((return_statement (_) @value) @finding (#x? @value))"#,
        ] {
            assert!(!anchor(pattern).alone, "{pattern}");
        }
        let text = anchor(r#"((string) @finding (#match? @finding "^http") (#x? @finding))"#);
        assert_eq!(text.text.as_deref(), Some("^http"));
        assert_eq!(text.words, [names(&["http"])]);
        // An attribute's qualified name ends with its own name.
        let attribute = anchor(r#"((attribute) @finding (#qualname? @finding "ssl.CERT_NONE"))"#);
        assert_eq!(attribute.gate, Some(Gate::LastName(names(&["CERT_NONE"]))));
        assert_eq!(attribute.names, [names(&["CERT_NONE"])]);
        let wildcard = anchor(r#"((attribute) @finding (#qualname? @finding "requests.*"))"#);
        assert_eq!(wildcard.gate, None);
        assert_eq!(wildcard.names, [names(&["requests"])]);
        // Words from the certain captures only: not from an optional child, nor
        // from inside an alternation, nor from a negated predicate.
        let words = |pattern: &str| anchor(pattern).words;
        let whole = |pattern: &str| anchor(pattern).names;
        assert_eq!(
            whole(
                r#"(call arguments: (argument_list [(identifier) (attribute)] @c) (#qualname? @c "pip.main" "a.install_package")) @f"#
            ),
            [names(&["main", "install_package"])]
        );
        assert_eq!(whole(r#"(call (identifier)? @c (#eq? @c "xyz")) @f"#), none);
        assert_eq!(
            whole(r#"(call [(identifier) @c (string)] (#eq? @c "xyz")) @f"#),
            none
        );
        assert_eq!(
            whole(r#"(call function: (_) @c (#not-eq? @c "xyz")) @f"#),
            none
        );
        // Words too short to tell files apart are not searched for.
        assert_eq!(whole(r#"(call function: (_) @c (#eq? @c "id")) @f"#), none);
        // A string that is no name is looked for as written.
        let quoted = anchor(r#"(call function: (_) @c (#eq? @c "a.b")) @f"#);
        assert_eq!(
            (quoted.words, quoted.names),
            (vec![names(&["a.b"])], none.clone())
        );
        // A check that passes only in files holding one of its words, asked
        // (not negated) of a certain capture.
        assert_eq!(
            words(r#"((pair key: (_) @k) @f (#secret-name? @k) (#entity-attributes? @f))"#),
            [names(&["extra_state_attributes"])]
        );
        assert_eq!(words(r#"((pair) @f (#not-entity-attributes? @f))"#), none);
        // Every set is required; a `#match?` requires its literal prefixes.
        assert_eq!(
            words(r#"((return_statement (_) @f) (#entity-state? @f) (#diagnostics-dump? @f))"#),
            [
                names(&["native_value", "_attr_state", "def state"]),
                names(&["diagnostics"])
            ]
        );
        let pip = anchor(
            r#"(call function: (_) @c arguments: (_) @a (#qualname? @c "os.system") (#match? @a "\\bpip3?\\b(.|\\n)*\\binstall\\b")) @f"#,
        );
        assert_eq!(
            (pip.words, pip.names),
            (vec![names(&["pip3", "pip"])], vec![names(&["system"])])
        );
        assert_eq!(
            words(r#"(attribute object: (_) @o (#match? @o "(?i)entry$")) @f"#)[0].len(),
            32,
            "every case of `entry`"
        );
        // A class of characters or a repetition first: no word.
        assert_eq!(
            words(r#"((identifier) @f (#match? @f "^[A-Z][A-Z0-9_]*$"))"#),
            none
        );
        // Shapes: typed field children, single or not as the grammar says.
        let shape =
            anchor(r#"(call function: (attribute object: (string)) arguments: (_)) @f"#).shape;
        assert_eq!(shape.len(), 1);
        assert!(shape[0].single && shape[0].kind.as_deref() == Some("attribute"));
        assert_eq!(shape[0].children[0].kind.as_deref(), Some("string"));
        let many = anchor(r#"(subscript subscript: (string)) @f"#).shape;
        assert!(
            !many[0].single,
            "a subscript has several `subscript:` children"
        );
        assert!(
            anchor(r#"(call function: (identifier)? @c) @f"#)
                .shape
                .is_empty()
        );
        // Not one typed node at the top.
        for pattern in [
            "(_ (string)) @f",
            "[(string) (integer)] @f",
            "((string) (string))",
        ] {
            assert_eq!(anchor_of(pattern), None, "{pattern}");
        }
    }

    #[test]
    fn names_are_told_apart() {
        assert!(is_name("_attr_state") && is_name("CERT_NONE"));
        assert!(!is_name("def state") && !is_name("a.b") && !is_name("1x") && !is_name(""));
    }

    #[test]
    fn shapes_hold_as_the_query_matches() {
        let source = "x[1, \"a\"]\nf(1)\n\"s\".format(t)\n";
        let tree = crate::scan::parse(source).unwrap().tree;
        let nodes = |kind: &str| {
            let mut found = Vec::new();
            let mut stack = vec![tree.root_node()];
            while let Some(node) = stack.pop() {
                if node.kind_name() == kind {
                    found.push(node);
                }
                let mut cursor = node.walk();
                stack.extend(node.children(&mut cursor));
            }
            found
        };
        let holds = |pattern: &str, node: Node| {
            anchor_of(pattern)
                .unwrap()
                .shape
                .iter()
                .all(|shape| shape.holds(node))
        };
        // The second of several `subscript:` children counts.
        let subscript = nodes("subscript")[0];
        assert!(holds("(subscript subscript: (string)) @f", subscript));
        assert!(!holds("(subscript subscript: (float)) @f", subscript));
        let calls = nodes("call");
        let on_string =
            |call: &Node| holds("(call function: (attribute object: (string))) @f", *call);
        assert_eq!(calls.iter().filter(|call| on_string(call)).count(), 1);
        // A typed child in no field: among the named children, fielded or not.
        let named_f = calls
            .iter()
            .filter(|call| holds("(call (identifier)) @f", **call));
        assert_eq!(named_f.count(), 1, "`f(1)`, not `\"s\".format(t)`");
        assert!(holds("(subscript (string)) @f", subscript));
        assert!(!holds("(subscript (float)) @f", subscript));
        // A supertype is no node's own type: it asks for nothing.
        assert!(
            anchor_of("(call (expression)) @f")
                .unwrap()
                .shape
                .is_empty()
        );
    }

    #[test]
    fn patterns_without_a_callee_predicate_have_no_gate() {
        for pattern in [
            // The capture is an argument, not the callee.
            r#"(call arguments: (argument_list (identifier) @c) (#qualname? @c "os.system")) @finding"#,
            // The object, not the name.
            r#"(call function: (attribute object: (identifier) @o) (#eq? @o "self")) @finding"#,
            // Negated.
            r#"(call function: (identifier) @f (#not-eq? @f "print")) @finding"#,
            r#"(call function: (_) @c (#not-qualname? @c "print")) @finding"#,
            // Not rooted at a call.
            r#"((string) @finding (#eq? @finding "x"))"#,
            r#"(subscript value: (call function: (identifier) @f) (#eq? @f "g")) @finding"#,
            // A regular expression that says more than a name.
            r#"(call function: (_) @c (#match? @c "^get_.*$")) @finding"#,
            r#"(call function: (_) @c (#match? @c "(?i)logger$")) @finding"#,
            // The qualified name of the last name alone.
            r#"(call function: (attribute attribute: (identifier) @m) (#qualname? @m "x")) @finding"#,
        ] {
            assert_eq!(gate(pattern), None, "{pattern}");
        }
    }

    #[test]
    fn spans_are_the_patterns_tree_sitter_sees() {
        let source: String = crate::rules::all()
            .iter()
            .filter(|rule| rule.target == crate::rules::Target::Python)
            .map(|rule| format!("{}\n", rule.query))
            .collect();
        let query = Query::new(&crate::scan::language(), &source).unwrap();
        let spans = pattern_spans(&source);
        let starts: Vec<usize> = spans.iter().map(|span| span.start).collect();
        let expected: Vec<usize> = (0..query.pattern_count())
            .map(|index| query.start_byte_for_pattern(index))
            .collect();
        assert_eq!(starts, expected);
        for span in &spans {
            let text = &source[span.clone()];
            let captures: String = capture_names(text)
                .iter()
                .map(|c| format!(" @{c}"))
                .collect();
            let one = Query::new(
                &crate::scan::language(),
                &format!("(comment){captures}\n{text}"),
            );
            assert_eq!(one.unwrap().pattern_count(), 2, "{text}");
        }
        let gated = spans
            .iter()
            .filter(|span| gate_of(&source[(*span).clone()]).is_some())
            .count();
        assert!(gated >= 30, "only {gated} patterns gated");
    }
}
