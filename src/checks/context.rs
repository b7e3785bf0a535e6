//! What checks may ask about the file being scanned, computed at most once per file.

use std::{
    cell::{OnceCell, RefCell},
    collections::{HashMap, HashSet},
    rc::Rc,
};

use tree_sitter::{Node, Tree};

use super::imports::ImportTable;
use crate::rules::vocabulary::Vocabulary;

/// One parsed file, with the facts checks derive from it on demand.
pub struct FileContext<'a> {
    pub source: &'a [u8],
    pub tree: &'a Tree,
    pub vocabulary: &'a Vocabulary,
    imports: OnceCell<ImportTable>,
    /// Secret-sourced local names per function (keyed by the function node's id).
    tainted_locals: RefCell<HashMap<usize, Rc<HashSet<String>>>>,
}

impl<'a> FileContext<'a> {
    pub fn new(source: &'a [u8], tree: &'a Tree, vocabulary: &'a Vocabulary) -> Self {
        Self {
            source,
            tree,
            vocabulary,
            imports: OnceCell::new(),
            tainted_locals: RefCell::new(HashMap::new()),
        }
    }

    pub fn text(&self, node: Node) -> &'a str {
        super::text(node, self.source)
    }

    pub fn imports(&self) -> &ImportTable {
        self.imports
            .get_or_init(|| ImportTable::of(self.tree.root_node(), self.source))
    }

    /// The locals of `scope` (a function, or the module) that hold secret-sourced values,
    /// computed once with `compute`.
    pub(super) fn tainted_locals(
        &self,
        scope: Node,
        compute: impl FnOnce() -> HashSet<String>,
    ) -> Rc<HashSet<String>> {
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

/// The innermost function (or lambda) enclosing `node`, or the module.
pub fn enclosing_scope(node: Node) -> Node {
    let mut current = node;
    while let Some(parent) = current.parent() {
        if matches!(parent.kind(), "function_definition" | "lambda") {
            return parent;
        }
        current = parent;
    }
    current
}
