//! What checks may ask about the file being scanned, computed at most once per file.

use std::{
    cell::{Cell, OnceCell, RefCell},
    collections::HashMap,
    ops::Range,
    rc::Rc,
    sync::Arc,
};

use rustc_hash::FxHashMap;
use tree_sitter::{Node, Tree};

use super::integration::IntegrationFacts;
use super::{bindings::Bindings, config_flow::FlowKind, imports::ImportTable, values::Label};
use crate::model::syntax::NodeExt;
use crate::rules::vocabulary::Vocabulary;

/// `name = value` assignments of a scope: byte ranges of the name and the value.
pub type Assignments = Vec<(Range<usize>, Range<usize>)>;

/// Resolution steps per file (a few hundred suffice for real flows).
pub(super) const RESOLUTION_BUDGET: usize = 5_000;

/// A branch a node runs in: the condition tested, and whether the branch runs
/// when it holds.
#[derive(Clone, Copy, Debug)]
pub struct Guard<'t> {
    pub condition: Node<'t>,
    pub holds: bool,
}

/// One parsed file, with the facts checks derive from it on demand.
pub struct FileContext<'a> {
    pub source: &'a [u8],
    pub tree: &'a Tree,
    pub vocabulary: &'a Vocabulary,
    /// Facts about the integration the file belongs to, gathered across its files
    /// by the scanner; `None` when the file is not in an integration directory.
    pub integration: Option<Arc<IntegrationFacts>>,
    /// The module's name, the file's stem (`api` for `api.py`), when the file
    /// has a name.
    module: Option<String>,
    imports: OnceCell<ImportTable>,
    /// Qualified names already resolved, by node id: several rules ask about
    /// every call's callee.
    qualified_names: RefCell<FxHashMap<usize, Option<Rc<str>>>>,
    /// The source with ASCII letters in lowercase (same offsets), for
    /// questions about the words a file uses.
    lowercase: OnceCell<Vec<u8>>,
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
    /// Each node's parent, by node id, once the walks down from the root that
    /// answer parent questions have cost as much as building it (see `parent`).
    parents: OnceCell<FxHashMap<usize, Node<'a>>>,
    /// What those walks have cost so far: the children they looked at.
    descent_cost: Cell<usize>,
    /// The path from the root to the last node whose parent was asked.
    last_path: RefCell<Vec<Node<'a>>>,
    /// Scopes and bindings, gathered on first use.
    bindings: OnceCell<Bindings<'a>>,
    /// The calls of each callee name asked about (see `calls_named`).
    calls_named: RefCell<HashMap<String, Rc<[Node<'a>]>>>,
    /// The functions of each name asked about before the bindings are known
    /// (see `functions_named`).
    functions_named: RefCell<HashMap<String, Rc<[Node<'a>]>>>,
    /// What value flow answered, by node id and label: rules ask the same
    /// questions about the same expressions, and flow follows shared chains.
    verdicts: RefCell<FxHashMap<(usize, Label), bool>>,
    /// The guard clauses (`if ...: return`) of each block asked about, by the
    /// block's id, in order.
    guard_clauses: RefCell<FxHashMap<usize, Rc<[Node<'a>]>>>,
}

impl<'a> FileContext<'a> {
    pub fn new(source: &'a [u8], tree: &'a Tree, vocabulary: &'a Vocabulary) -> Self {
        Self {
            source,
            tree,
            vocabulary,
            integration: None,
            module: None,
            imports: OnceCell::new(),
            qualified_names: RefCell::default(),
            module_constants: OnceCell::new(),
            flow_kinds: OnceCell::new(),
            own_facts: OnceCell::new(),
            budget: Cell::new(RESOLUTION_BUDGET),
            assignments: RefCell::new(HashMap::new()),
            lowercase: OnceCell::new(),
            mentioned: RefCell::new(HashMap::new()),
            parents: OnceCell::new(),
            descent_cost: Cell::new(0),
            last_path: RefCell::new(Vec::new()),
            bindings: OnceCell::new(),
            calls_named: RefCell::default(),
            functions_named: RefCell::default(),
            verdicts: RefCell::default(),
            guard_clauses: RefCell::default(),
        }
    }

    /// The guard clauses among `block`'s statements (see
    /// [`values::is_guard_clause`](super::values::is_guard_clause)), gathered
    /// once per block: a statement asks about those before it, and a block of
    /// thousands of statements would otherwise be walked for each.
    pub fn guard_clauses(&self, block: Node<'a>) -> Rc<[Node<'a>]> {
        if let Some(known) = self.guard_clauses.borrow().get(&block.id()) {
            return known.clone();
        }
        let mut cursor = block.walk();
        let found: Rc<[Node<'a>]> = block
            .named_children(&mut cursor)
            .filter(|statement| super::values::is_guard_clause(*statement))
            .collect();
        self.guard_clauses
            .borrow_mut()
            .insert(block.id(), found.clone());
        found
    }

    /// `node`'s parent. Checks ask about the nodes of matches, which come in
    /// document order, and climb from them: each answer walks down from the
    /// deepest node of the last path (from the root to the last node asked
    /// about) that still holds `node`, and a climb is answered from that path.
    /// Walks down look at the children of every level they cross; once they
    /// have looked at as many children as the tree has nodes, every parent is
    /// mapped in one walk of the tree and answered in constant time. Either way
    /// the cost stays within twice a walk of the tree, where climbing with
    /// `Node::parent` alone costs depth × width per step.
    pub fn parent(&self, node: Node<'a>) -> Option<Node<'a>> {
        // The walk that gathered the bindings recorded every named node's parent.
        if let Some(answer) = self.bindings.get().and_then(|b| b.parents().parent(node)) {
            return answer;
        }
        let root = self.tree.root_node();
        if self.descent_cost.get() > root.descendant_count() {
            let parents = self.parents.get_or_init(|| parents(self.tree));
            // The root, or a node of another tree (answered the slow way).
            return parents.get(&node.id()).copied().or_else(|| node.parent());
        }
        if node.id() == root.id() {
            return None;
        }
        let mut path = self.last_path.borrow_mut();
        if let Some(at) = path.iter().rposition(|n| n.id() == node.id()) {
            return at.checked_sub(1).map(|above| path[above]);
        }
        // Keep the part of the path that holds `node`, then walk down from there.
        while path.last().is_some_and(|last| {
            !(last.start_byte() <= node.start_byte() && node.end_byte() <= last.end_byte())
        }) {
            path.pop();
        }
        let found = self.walk_down(&mut path, node) || {
            // A node of the same extent as one on the path, above it: from the root.
            path.clear();
            self.walk_down(&mut path, node)
        };
        if !found {
            path.clear();
            // Not below the root: a node of another tree.
            return node.parent();
        }
        path.iter().rev().nth(1).copied()
    }

    /// Extends `path` (from the root, or empty) down to `node`; `false` when
    /// `node` is not below its end.
    fn walk_down(&self, path: &mut Vec<Node<'a>>, node: Node<'a>) -> bool {
        if path.is_empty() {
            path.push(self.tree.root_node());
        }
        let mut cost = 0;
        let found = loop {
            let current = *path.last().expect("the path starts at the root");
            cost += current.child_count() as usize;
            match current.child_with_descendant(node) {
                Some(child) => {
                    path.push(child);
                    if child.id() == node.id() {
                        break true;
                    }
                }
                None => break false,
            }
        };
        self.descent_cost.set(self.descent_cost.get() + cost);
        found
    }

    /// The strict ancestors of `node`, innermost first.
    pub fn ancestors(&self, node: Node<'a>) -> impl Iterator<Item = Node<'a>> + '_ {
        std::iter::successors(self.parent(node), |n| self.parent(*n))
    }

    /// The `if`/`elif`/`else` branches enclosing `node` in its function,
    /// innermost first: each branch's condition, and whether the branch runs
    /// when it holds (the body) or not (`else`, read against the `if`'s own
    /// condition).
    pub fn guards(&self, node: Node<'a>) -> impl Iterator<Item = Guard<'a>> + '_ {
        let mut current = node;
        std::iter::from_fn(move || {
            while let Some(parent) = self.parent(current) {
                let child = std::mem::replace(&mut current, parent);
                match parent.kind_name() {
                    "function_definition" | "lambda" | "class_definition" => return None,
                    "if_statement" | "elif_clause"
                        if parent
                            .field("consequence")
                            .is_some_and(|body| body.id() == child.id()) =>
                    {
                        if let Some(condition) = parent.field("condition") {
                            return Some(Guard {
                                condition,
                                holds: true,
                            });
                        }
                    }
                    "else_clause" => {
                        let condition = self
                            .parent(parent)
                            .filter(|statement| statement.kind_name() == "if_statement")
                            .and_then(|statement| statement.field("condition"));
                        if let Some(condition) = condition {
                            return Some(Guard {
                                condition,
                                holds: false,
                            });
                        }
                    }
                    _ => {}
                }
            }
            None
        })
    }

    /// Does the file's text contain `text`, as written? A name a check looks for
    /// is in the source if it is in the tree: a cheap way to skip a tree walk.
    pub fn contains(&self, text: &str) -> bool {
        memchr::memmem::find(self.source, text.as_bytes()).is_some()
    }

    /// The identifiers spelled `name`, in document order, found where the
    /// name is written (not inside a longer name, a string or a comment).
    pub fn identifiers_named<'s>(&'s self, name: &'s str) -> impl Iterator<Item = Node<'a>> + 's {
        let root = self.tree.root_node();
        memchr::memmem::find_iter(self.source, name.as_bytes()).filter_map(move |at| {
            let written = at..at + name.len();
            root.descendant_for_byte_range(written.start, written.end)
                .filter(|n| n.kind_name() == "identifier" && n.byte_range() == written)
        })
    }

    /// The calls whose callee's last name is `name` (`name(...)`,
    /// `x.name(...)`), in document order. They are found where the name is
    /// written, not by walking the tree: a flow's few `async_show_form` calls
    /// are asked for by every step.
    pub fn calls_named(&self, name: &str) -> Rc<[Node<'a>]> {
        if let Some(known) = self.calls_named.borrow().get(name) {
            return Rc::clone(known);
        }
        let mut calls = Vec::new();
        for identifier in self.identifiers_named(name) {
            let callee = match self.parent(identifier) {
                Some(attribute)
                    if attribute.kind_name() == "attribute"
                        && attribute.field("attribute") == Some(identifier) =>
                {
                    attribute
                }
                _ => identifier,
            };
            if let Some(call) = self
                .parent(callee)
                .filter(|call| call.kind_name() == "call" && call.field("function") == Some(callee))
            {
                calls.push(call);
            }
        }
        // Document order: an outer call before a call it starts with.
        calls.sort_by_key(|call| (call.start_byte(), std::cmp::Reverse(call.end_byte())));
        let calls: Rc<[Node<'a>]> = calls.into();
        self.calls_named
            .borrow_mut()
            .insert(name.to_string(), Rc::clone(&calls));
        calls
    }

    /// The functions and methods the file defines under `name`, in document
    /// order: from the bindings when they are gathered, else where `def name`
    /// is written (a module's schema helpers are looked up before, and often
    /// without, any other question that needs the bindings).
    pub fn functions_named(&self, name: &str) -> Rc<[Node<'a>]> {
        if let Some(bindings) = self.bindings.get() {
            return bindings.functions(name).into();
        }
        if let Some(known) = self.functions_named.borrow().get(name) {
            return Rc::clone(known);
        }
        let functions: Rc<[Node<'a>]> = self
            .identifiers_named(name)
            .filter_map(|identifier| {
                self.parent(identifier).filter(|function| {
                    function.kind_name() == "function_definition"
                        && function.field("name") == Some(identifier)
                })
            })
            .collect();
        self.functions_named
            .borrow_mut()
            .insert(name.to_string(), Rc::clone(&functions));
        functions
    }

    /// Does the file's text use `word` (lowercase), case-insensitively, where
    /// a word starts: after a character that is no letter, or as the capital
    /// of a camelCase part? `media` is in `media_player` and `liveMedia`, not
    /// in `immediately`. An acronym's plural (`PINs` for `pins`) names the
    /// acronym's own thing, not the lowercase word's other meaning.
    pub fn mentions(&self, word: &str) -> bool {
        if let Some(&known) = self.mentioned.borrow().get(word) {
            return known;
        }
        let lowercase = self
            .lowercase
            .get_or_init(|| self.source.to_ascii_lowercase());
        let starts_word = |at: usize| {
            at == 0 || {
                let before = self.source[at - 1];
                !before.is_ascii_alphabetic()
                    || (before.is_ascii_lowercase() && self.source[at].is_ascii_uppercase())
            }
        };
        let acronym_plural = |at: usize| {
            let spelled = &self.source[at..at + word.len()];
            spelled.len() > 2
                && spelled.ends_with(b"s")
                && spelled[..spelled.len() - 1]
                    .iter()
                    .all(u8::is_ascii_uppercase)
        };
        let found = memchr::memmem::find_iter(lowercase, word.as_bytes())
            .any(|at| starts_word(at) && !acronym_plural(at));
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
            super::config_flow::scope_assignments(scope)
                .into_iter()
                .map(|(left, right)| (left.byte_range(), right.byte_range()))
                .collect(),
        );
        self.assignments
            .borrow_mut()
            .insert(scope.id(), Rc::clone(&computed));
        computed
    }

    /// The file's scopes and bindings, gathered in one walk on first use.
    pub fn bindings(&self) -> &Bindings<'a> {
        self.bindings
            .get_or_init(|| Bindings::of(self.tree, self.source))
    }

    /// The scopes and bindings, if gathered: another context of the same file
    /// can take them over ([`Self::set_bindings`]).
    pub fn into_bindings(self) -> Option<Bindings<'a>> {
        self.bindings.into_inner()
    }

    /// Scopes and bindings gathered by the caller's own walk of the tree (see
    /// [`Bindings::gathered`]); ignored when already known.
    pub fn set_bindings(&self, bindings: Bindings<'a>) {
        let _ = self.bindings.set(bindings);
    }

    /// A value-flow verdict already reached for `node` and `label`.
    pub(super) fn verdict(&self, node: Node, label: Label) -> Option<bool> {
        self.verdicts.borrow().get(&(node.id(), label)).copied()
    }

    /// Records a value-flow verdict for `node` and `label`.
    pub(super) fn set_verdict(&self, node: Node, label: Label, verdict: bool) {
        self.verdicts
            .borrow_mut()
            .insert((node.id(), label), verdict);
    }

    /// Takes one step of the file's resolution budget; `false` once it is spent,
    /// and the resolution then gives up (reports less, never hangs).
    pub fn spend(&self) -> bool {
        let left = self.budget.get();
        self.budget.set(left.saturating_sub(1));
        left > 0
    }

    /// Resolution steps taken so far.
    #[cfg(test)]
    pub fn steps_spent(&self) -> usize {
        RESOLUTION_BUDGET - self.budget.get()
    }

    /// The same context, knowing the facts of the file's integration.
    pub fn with_integration(mut self, facts: Option<Arc<IntegrationFacts>>) -> Self {
        self.integration = facts;
        self
    }

    /// Names the file's module (see [`Self::module`]).
    pub fn with_module(mut self, module: Option<&str>) -> Self {
        self.module = module.map(str::to_string);
        self
    }

    /// The module's name: the file's stem, when the file has a name.
    pub fn module(&self) -> Option<&str> {
        self.module.as_deref()
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
            super::config_flow::flow_classes(self)
                .into_iter()
                .map(|(_, kind)| kind)
                .collect()
        })
    }

    /// Module-level `NAME = "string"` constants of the file.
    pub fn module_constants(&self) -> &HashMap<String, String> {
        self.module_constants.get_or_init(|| {
            super::config_flow::module_constants(self.tree.root_node(), self.source)
        })
    }

    pub fn text(&self, node: Node) -> &'a str {
        super::text(node, self.source)
    }

    pub fn imports(&self) -> &ImportTable {
        self.imports.get_or_init(|| match self.bindings.get() {
            // The walk that gathered the bindings found the import statements.
            Some(bindings) => ImportTable::of_statements(bindings.imports(), self.source),
            None => ImportTable::of(self.tree.root_node(), self.source),
        })
    }

    /// The qualified name of a dotted expression, resolved through the file's
    /// imports (see [`ImportTable::qualified_name`]), computed once per node.
    pub fn qualified_name(&self, node: Node) -> Option<Rc<str>> {
        if let Some(known) = self.qualified_names.borrow().get(&node.id()) {
            return known.clone();
        }
        let resolved: Option<Rc<str>> = self
            .imports()
            .qualified_name(node, self.source)
            .map(Rc::from);
        self.qualified_names
            .borrow_mut()
            .insert(node.id(), resolved.clone());
        resolved
    }
}

/// Every node's parent, by node id: one cursor walk of the tree, without
/// recursion, keeping the path from the root on a stack.
fn parents(tree: &Tree) -> FxHashMap<usize, Node<'_>> {
    let root = tree.root_node();
    let mut parents =
        FxHashMap::with_capacity_and_hasher(root.descendant_count(), Default::default());
    let mut path: Vec<Node> = Vec::new();
    let mut cursor = root.walk();
    loop {
        let node = cursor.node();
        if let Some(parent) = path.last() {
            parents.insert(node.id(), *parent);
        }
        if cursor.goto_first_child() {
            path.push(node);
            continue;
        }
        while !cursor.goto_next_sibling() {
            if !cursor.goto_parent() {
                return parents;
            }
            path.pop();
        }
    }
}

/// The innermost function (or lambda) enclosing `node`, or the module.
pub fn enclosing_scope<'t>(ctx: &FileContext<'t>, node: Node<'t>) -> Node<'t> {
    let mut current = node;
    while let Some(parent) = ctx.parent(current) {
        if matches!(parent.kind_name(), "function_definition" | "lambda") {
            return parent;
        }
        current = parent;
    }
    current
}

/// A local name stands for the value last assigned to it (`name = value`) in
/// the same function, by an assignment that starts before it (the one holding
/// it included); anything else stands for itself. Answered from the file's
/// bindings, where nested functions and classes are scopes of their own. At
/// module level the bodies of the top-level functions and classes count too,
/// as they did when this walked the module's statements.
pub fn resolve_local<'t>(ctx: &FileContext<'t>, node: Node<'t>) -> Option<Node<'t>> {
    if node.kind_name() != "identifier" {
        return Some(node);
    }
    let scope = enclosing_scope(ctx, node);
    let mut scopes = vec![scope];
    if scope.id() == ctx.tree.root_node().id() {
        let mut cursor = scope.walk();
        scopes.extend(scope.named_children(&mut cursor).filter(|child| {
            matches!(
                child.kind_name(),
                "function_definition" | "class_definition"
            )
        }));
    }
    let bindings = ctx.bindings();
    let name = ctx.text(node);
    scopes
        .iter()
        .flat_map(|scope| bindings.assignments(scope.id(), name))
        .filter(|a| {
            a.statement.kind_name() == "assignment"
                && a.statement.start_byte() < node.start_byte()
                && a.statement
                    .field("left")
                    .is_some_and(|left| left.kind_name() == "identifier")
        })
        .map(|a| a.value)
        .max_by_key(|value| value.start_byte())
}

#[cfg(test)]
mod tests {
    use crate::model::bindings::Bindings;
    use crate::model::test_support::Snippet;

    #[test]
    fn calls_named_are_the_calls_of_that_callee_name_in_document_order() {
        let source = "def f(self):\n    # async_show_form(comment)\n    \"async_show_form()\"\n    \
                      async_show_form(a)\n    self.async_show_form(b, c=async_show_form(d))\n    \
                      self.async_show_form_later(e)\n    async_show_form.x(g)\n    \
                      y = async_show_form\n";
        let snippet = Snippet::new(source);
        let ctx = snippet.ctx();
        let calls: Vec<&str> = ctx
            .calls_named("async_show_form")
            .iter()
            .map(|call| ctx.text(*call))
            .collect();
        assert_eq!(
            calls,
            [
                "async_show_form(a)",
                "self.async_show_form(b, c=async_show_form(d))",
                "async_show_form(d)",
            ]
        );
        assert!(ctx.calls_named("nowhere").is_empty());
    }

    #[test]
    fn functions_found_where_def_is_written_are_those_of_the_bindings() {
        let source = "\
def schema(x):  # schema
    return schema_of(x)
class Flow:
    @staticmethod
    async def  schema (self):
        def schema(): pass
        return 'def schema'
    def schema_extra(self): pass
redef = schema
";
        let snippet = Snippet::new(source);
        let found = snippet.ctx().functions_named("schema");
        let bindings = Bindings::of(&snippet.tree, source.as_bytes());
        assert_eq!(found.len(), 3);
        assert_eq!(&*found, bindings.functions("schema"));
        let known = snippet.ctx();
        known.set_bindings(Bindings::of(&snippet.tree, source.as_bytes()));
        assert_eq!(known.functions_named("schema"), found);
        assert!(snippet.ctx().functions_named("missing").is_empty());
    }

    #[test]
    fn parents_are_those_of_the_tree_whether_walked_down_to_or_mapped() {
        let source = "import a\n\nclass K:\n    def f(self, x=[1, 2, (3, 4)]):\n        \
                      return {\"k\": g(x, *y, z=1)}\n\nh = lambda: i[0].j\n";
        let snippet = Snippet::new(source);
        let tree = &snippet.tree;
        let ctx = snippet.ctx();
        let nodes = snippet.nodes();
        assert!(nodes.len() > 50);
        assert_eq!(ctx.parent(nodes[1]), Some(tree.root_node()));
        assert!(ctx.parents.get().is_none(), "one question, no map");
        // Asking every node's parent costs more than a walk: the first answers
        // come from walks down, the later ones from the map.
        for node in &nodes {
            assert_eq!(
                ctx.parent(*node).map(|p| p.id()),
                node.parent().map(|p| p.id()),
                "{node:?}"
            );
        }
        assert!(ctx.parents.get().is_some());
        // In reverse order, and climbing from the leaves, with fresh contexts.
        let ctx = snippet.ctx();
        for node in nodes.iter().rev() {
            assert_eq!(
                ctx.parent(*node).map(|p| p.id()),
                node.parent().map(|p| p.id())
            );
        }
        let ctx = snippet.ctx();
        for node in nodes.iter().filter(|n| n.child_count() == 0) {
            let climbed: Vec<usize> = ctx.ancestors(*node).map(|n| n.id()).collect();
            let expected: Vec<usize> = std::iter::successors(node.parent(), |n| n.parent())
                .map(|n| n.id())
                .collect();
            assert_eq!(climbed, expected);
        }
        assert_eq!(
            ctx.ancestors(nodes[nodes.len() - 1]).last(),
            Some(tree.root_node())
        );
    }
}

#[cfg(test)]
mod resolve_local_tests {
    use super::resolve_local;
    use crate::model::{syntax::NodeExt, test_support::Snippet};

    /// What `resolve_local` gives for the last `use(NAME)` argument of `source`.
    fn resolved(source: &str) -> Option<String> {
        let snippet = Snippet::new(source);
        let ctx = snippet.ctx();
        let node = snippet
            .nodes()
            .into_iter()
            .filter(|n| n.kind_name() == "call" && ctx.text(*n).starts_with("use("))
            .last()
            .and_then(|call| call.field("arguments")?.named_child(0))
            .expect("a use(...) call");
        resolve_local(&ctx, node).map(|value| ctx.text(value).to_string())
    }

    #[test]
    fn a_local_stands_for_its_last_assignment_before_it_in_the_same_function() {
        assert_eq!(
            resolved("def f():\n    u = 1\n    u = 2\n    use(u)\n").as_deref(),
            Some("2")
        );
        // Assigned after the use only: nothing.
        assert_eq!(resolved("def f():\n    use(u)\n    u = 1\n"), None);
        // The assignment that holds the use counts (it starts before it).
        assert_eq!(
            resolved("def f():\n    u = g(use(u))\n").as_deref(),
            Some("g(use(u))")
        );
        // In a branch, the last one written before the use.
        assert_eq!(
            resolved("def f():\n    u = 1\n    if c:\n        u = 2\n    use(u)\n").as_deref(),
            Some("2")
        );
        // Nested functions and classes, other functions, the module: not this function's.
        let nested = "u = 0\ndef f():\n    def g():\n        u = 1\n    class K:\n        u = 2\n    use(u)\n";
        assert_eq!(resolved(nested), None);
        // At module level, the top-level functions' and classes' own bodies count.
        assert_eq!(
            resolved("u = 0\nclass K:\n    u = 1\nuse(u)\n").as_deref(),
            Some("1")
        );
        assert_eq!(
            resolved("def f():\n    u = 1\n    def g():\n        u = 2\nuse(u)\n").as_deref(),
            Some("1")
        );
        assert_eq!(
            resolved("if c:\n    def f():\n        u = 1\nuse(u)\n"),
            None
        );
        // Tuple targets, augmented assignments and annotations without a value: not `name = value`.
        assert_eq!(resolved("def f():\n    u, v = 1, 2\n    use(u)\n"), None);
        assert_eq!(
            resolved("def f():\n    u = 1\n    u += 2\n    use(u)\n").as_deref(),
            Some("1")
        );
        assert_eq!(
            resolved("def f():\n    u: int = 3\n    u: int\n    use(u)\n").as_deref(),
            Some("3")
        );
        // A lambda is a function of its own; a chained assignment gives its value.
        assert_eq!(resolved("u = 1\nh = lambda: use(u)\n"), None);
        assert_eq!(
            resolved("def f():\n    u = v = 4\n    use(u)\n").as_deref(),
            Some("v = 4")
        );
        // Not a name: itself.
        assert_eq!(resolved("def f():\n    use(x.y)\n").as_deref(), Some("x.y"));
    }
}
