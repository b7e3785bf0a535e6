//! What checks may ask about the file being scanned, computed at most once per file.

use std::{
    cell::{Cell, OnceCell, RefCell},
    collections::HashMap,
    ops::Range,
    rc::Rc,
    sync::Arc,
};

use tree_sitter::{Node, Tree};

use super::{flow::FlowKind, imports::ImportTable};
use crate::{rules::vocabulary::Vocabulary, scan::integration::IntegrationFacts};

/// `name = value` assignments of a scope: byte ranges of the name and the value.
pub type Assignments = Vec<(Range<usize>, Range<usize>)>;

/// Resolution steps per file (a few hundred suffice for real flows).
const RESOLUTION_BUDGET: usize = 5_000;

/// One parsed file, with the facts checks derive from it on demand.
pub struct FileContext<'a> {
    pub source: &'a [u8],
    pub tree: &'a Tree,
    pub vocabulary: &'a Vocabulary,
    /// Facts about the integration the file belongs to, gathered across its files
    /// by the scanner; `None` when the file is not in an integration directory.
    pub integration: Option<Arc<IntegrationFacts>>,
    imports: OnceCell<ImportTable>,
    /// Secret-sourced local names per function (keyed by the function node's id),
    /// each with the byte offset from which it holds a secret.
    tainted_locals: RefCell<HashMap<usize, Rc<HashMap<String, usize>>>>,
    /// The source in lowercase, for questions about the words a file uses.
    lowercase: OnceCell<String>,
    /// The answers `mentions` gave, by word: each question reads the whole file,
    /// and a file with thousands of candidate names asks the same few words again.
    mentioned: RefCell<HashMap<String, bool>>,
    module_constants: OnceCell<HashMap<String, String>>,
    /// The kinds of the flow classes the file defines.
    flow_kinds: OnceCell<Vec<FlowKind>>,
    /// Facts from this file alone, when no integration's are known.
    own_facts: OnceCell<Arc<IntegrationFacts>>,
    /// Steps left for the resolutions that follow names through assignments and
    /// helpers: a pathological file must not make the scan hang.
    budget: Cell<usize>,
    /// `name = value` assignments per scope (function or module), by node id.
    assignments: RefCell<HashMap<usize, Rc<Assignments>>>,
    /// Each node's parent, by node id. `Node::parent` walks down from the root and
    /// scans the siblings at each level: climbing with it costs depth × width per
    /// step, which a long function or a deep expression turns quadratic or worse.
    parents: HashMap<usize, Node<'a>>,
}

impl<'a> FileContext<'a> {
    pub fn new(source: &'a [u8], tree: &'a Tree, vocabulary: &'a Vocabulary) -> Self {
        Self {
            source,
            tree,
            vocabulary,
            integration: None,
            imports: OnceCell::new(),
            module_constants: OnceCell::new(),
            flow_kinds: OnceCell::new(),
            own_facts: OnceCell::new(),
            budget: Cell::new(RESOLUTION_BUDGET),
            assignments: RefCell::new(HashMap::new()),
            tainted_locals: RefCell::new(HashMap::new()),
            lowercase: OnceCell::new(),
            mentioned: RefCell::new(HashMap::new()),
            parents: parents(tree),
        }
    }

    /// `node`'s parent, in constant time.
    pub fn parent(&self, node: Node<'a>) -> Option<Node<'a>> {
        match self.parents.get(&node.id()) {
            Some(parent) => Some(*parent),
            // The root, or a node of another tree (answered the slow way).
            None => node.parent(),
        }
    }

    /// The strict ancestors of `node`, innermost first.
    pub fn ancestors(&self, node: Node<'a>) -> impl Iterator<Item = Node<'a>> + '_ {
        std::iter::successors(self.parent(node), |n| self.parent(*n))
    }

    /// Does the file's text contain `word` (lowercase), case-insensitively?
    pub fn mentions(&self, word: &str) -> bool {
        if let Some(&known) = self.mentioned.borrow().get(word) {
            return known;
        }
        let found = self
            .lowercase
            .get_or_init(|| String::from_utf8_lossy(self.source).to_lowercase())
            .contains(word);
        self.mentioned.borrow_mut().insert(word.to_string(), found);
        found
    }

    /// The `name = value` assignments of a scope, computed once, as the byte
    /// ranges of the name and the value.
    pub fn scope_assignments(&self, scope: Node) -> Rc<Assignments> {
        if let Some(known) = self.assignments.borrow().get(&scope.id()) {
            return Rc::clone(known);
        }
        let computed: Rc<Vec<_>> = Rc::new(
            super::flow::scope_assignments(scope)
                .into_iter()
                .map(|(left, right)| (left.byte_range(), right.byte_range()))
                .collect(),
        );
        self.assignments
            .borrow_mut()
            .insert(scope.id(), Rc::clone(&computed));
        computed
    }

    /// Takes one step of the file's resolution budget; `false` once it is spent,
    /// and the resolution then gives up (reports less, never hangs).
    pub fn spend(&self) -> bool {
        let left = self.budget.get();
        self.budget.set(left.saturating_sub(1));
        left > 0
    }

    /// The same context, knowing the facts of the file's integration.
    pub fn with_integration(mut self, facts: Option<Arc<IntegrationFacts>>) -> Self {
        self.integration = facts;
        self
    }

    /// The integration's facts; for a file outside any integration, the facts of
    /// the file alone (its own flows, its own `async_step_reauth`).
    pub fn facts(&self) -> Arc<IntegrationFacts> {
        match &self.integration {
            Some(facts) => Arc::clone(facts),
            None => Arc::clone(
                self.own_facts
                    .get_or_init(|| Arc::new(IntegrationFacts::of_single_file(self))),
            ),
        }
    }

    /// The kinds of the flow classes the file defines, computed once.
    pub fn flow_kinds(&self) -> &[FlowKind] {
        self.flow_kinds.get_or_init(|| {
            super::flow::flow_classes(self)
                .into_iter()
                .map(|(_, kind)| kind)
                .collect()
        })
    }

    /// Module-level `NAME = "string"` constants of the file.
    pub fn module_constants(&self) -> &HashMap<String, String> {
        self.module_constants
            .get_or_init(|| super::flow::module_constants(self.tree.root_node(), self.source))
    }

    pub fn text(&self, node: Node) -> &'a str {
        super::text(node, self.source)
    }

    pub fn imports(&self) -> &ImportTable {
        self.imports
            .get_or_init(|| ImportTable::of(self.tree.root_node(), self.source))
    }

    /// The locals of `scope` (a function, or the module) that hold secret-sourced values,
    /// with the offset of the first assignment that makes them so, computed once with `compute`.
    pub(super) fn tainted_locals(
        &self,
        scope: Node,
        compute: impl FnOnce() -> HashMap<String, usize>,
    ) -> Rc<HashMap<String, usize>> {
        if let Some(known) = self.tainted_locals.borrow().get(&scope.id()) {
            return Rc::clone(known);
        }
        let computed = Rc::new(compute());
        self.tainted_locals
            .borrow_mut()
            .insert(scope.id(), Rc::clone(&computed));
        computed
    }
}

/// Every node's parent, by node id: one walk of the tree, without recursion.
fn parents(tree: &Tree) -> HashMap<usize, Node<'_>> {
    let mut parents = HashMap::new();
    let mut stack = vec![tree.root_node()];
    while let Some(node) = stack.pop() {
        let mut cursor = node.walk();
        for child in node.children(&mut cursor) {
            parents.insert(child.id(), node);
            stack.push(child);
        }
    }
    parents
}

/// The innermost function (or lambda) enclosing `node`, or the module.
pub fn enclosing_scope<'t>(ctx: &FileContext<'t>, node: Node<'t>) -> Node<'t> {
    let mut current = node;
    while let Some(parent) = ctx.parent(current) {
        if matches!(parent.kind(), "function_definition" | "lambda") {
            return parent;
        }
        current = parent;
    }
    current
}

/// A local name stands for the value last assigned to it in the same function;
/// anything else stands for itself.
pub fn resolve_local<'t>(ctx: &FileContext<'t>, node: Node<'t>) -> Option<Node<'t>> {
    if node.kind() != "identifier" {
        return Some(node);
    }
    let name = ctx.text(node);
    let scope = enclosing_scope(ctx, node);
    let mut found = None;
    let mut stack = vec![scope];
    while let Some(current) = stack.pop() {
        if current.start_byte() >= node.start_byte() {
            continue;
        }
        if current.kind() == "assignment"
            && let (Some(left), Some(right)) = (
                current.child_by_field_name("left"),
                current.child_by_field_name("right"),
            )
            && left.kind() == "identifier"
            && ctx.text(left) == name
            && found.is_none_or(|f: Node| f.start_byte() < right.start_byte())
        {
            found = Some(right);
        }
        let mut cursor = current.walk();
        for child in current.named_children(&mut cursor) {
            if current.id() == scope.id()
                || !matches!(child.kind(), "function_definition" | "class_definition")
            {
                stack.push(child);
            }
        }
    }
    found
}
