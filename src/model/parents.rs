//! Each named node's parent, recorded by the walk that gathers a file's
//! bindings. Checks climb from the nodes they are given (to the statement, the
//! enclosing function, the binding around a string); tree-sitter answers
//! `Node::parent` by walking down from the root, so climbing is answered here
//! instead: the nodes in document order, each with the index of its parent.

use tree_sitter::Node;

/// The named nodes of a file in document order (but those a walk passes over:
/// the parts of plain strings), each with its parent.
#[derive(Default)]
pub struct Parents<'t> {
    nodes: Vec<Entry<'t>>,
}

struct Entry<'t> {
    node: Node<'t>,
    start: usize,
    /// Index of the parent in `nodes`; `None` for the root.
    parent: Option<u32>,
}

impl<'t> Parents<'t> {
    /// Records `node`, whose parent was recorded at `parent`; its own index.
    /// Nodes come in document order (a parent before its children).
    pub(super) fn push(&mut self, node: Node<'t>, parent: Option<u32>) -> u32 {
        let index = u32::try_from(self.nodes.len()).unwrap_or(u32::MAX);
        self.nodes.push(Entry {
            node,
            start: node.start_byte(),
            parent,
        });
        index
    }

    /// `node`'s parent (`Some(None)` for the root), or `None` when the walk did
    /// not record `node`.
    pub fn parent(&self, node: Node<'t>) -> Option<Option<Node<'t>>> {
        // Document order is ordered by start; nodes that start together (a
        // call and its callee) sit in a short run.
        let start = node.start_byte();
        let first = self.nodes.partition_point(|entry| entry.start < start);
        self.nodes[first..]
            .iter()
            .take_while(|entry| entry.start == start)
            .find(|entry| entry.node.id() == node.id())
            .map(|entry| {
                entry
                    .parent
                    .and_then(|at| self.nodes.get(at as usize))
                    .map(|parent| parent.node)
            })
    }
}

#[cfg(test)]
mod tests {
    use crate::model::bindings::{Bindings, StringParts};
    use crate::model::test_support::Snippet;

    #[test]
    fn every_named_node_has_the_parent_tree_sitter_gives() {
        let source = "\
import os
class K(Base):
    def f(self, x=\"a\" 'b'):
        return g(x)[0].y, f\"{x!r:>{w}}\", lambda: (yield)
x = [1, 2
def h(:
    pass
";
        for parts in [StringParts::Skipped, StringParts::Visited] {
            let snippet = Snippet::new(source);
            let bindings = Bindings::gathered(&snippet.tree, source.as_bytes(), parts, |_| {});
            let parents = bindings.parents();
            assert!(snippet.root().has_error());
            let mut recorded = 0;
            for node in snippet.nodes().into_iter().filter(|n| n.is_named()) {
                match parents.parent(node) {
                    Some(parent) => {
                        recorded += 1;
                        assert_eq!(parent, node.parent(), "{node:?}");
                    }
                    // Only the parts of plain strings are passed over.
                    None => assert!(
                        parts == StringParts::Skipped
                            && node.parent().is_some_and(|p| p.kind() == "string"),
                        "{node:?}"
                    ),
                }
            }
            assert!(recorded > 40);
        }
    }
}
