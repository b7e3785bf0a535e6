//! Node types and fields by number. tree-sitter's `Node::kind` measures and
//! checks the type's name on every call, and `child_by_field_name` compares
//! the name asked with every field's name; checks ask both of most nodes.

use std::sync::LazyLock;

use rustc_hash::FxHashMap;
use tree_sitter::Node;

static LANGUAGE: LazyLock<tree_sitter::Language> = LazyLock::new(super::language);

/// Every node type's name, by its id.
static KIND_NAMES: LazyLock<Vec<&'static str>> = LazyLock::new(|| {
    let language: &'static tree_sitter::Language = &LANGUAGE;
    (0..language.node_kind_count())
        .map(|id| {
            u16::try_from(id)
                .ok()
                .and_then(|id| language.node_kind_for_id(id))
                .unwrap_or("")
        })
        .collect()
});

/// Every field's id, by its name.
static FIELD_IDS: LazyLock<FxHashMap<&'static str, u16>> = LazyLock::new(|| {
    let language: &'static tree_sitter::Language = &LANGUAGE;
    (1..=language.field_count())
        .filter_map(|id| {
            let id = u16::try_from(id).ok()?;
            Some((language.field_name_for_id(id)?, id))
        })
        .collect()
});

pub trait NodeExt<'t> {
    /// The node's type, as `Node::kind` names it.
    fn kind_name(&self) -> &'static str;
    /// The child in the field `name`, as `Node::child_by_field_name` finds it.
    fn field(&self, name: &str) -> Option<Node<'t>>;
    /// The named children, comments left out (a comment can sit between any
    /// two parts of an expression or a statement).
    fn parts(&self) -> Vec<Node<'t>>;
    /// What an `await` waits for (`f()` of `await f()`); any other node itself.
    fn awaited(&self) -> Node<'t>;
}

impl<'t> NodeExt<'t> for Node<'t> {
    fn kind_name(&self) -> &'static str {
        // `ERROR` has an id of its own, outside the table.
        KIND_NAMES
            .get(usize::from(self.kind_id()))
            .copied()
            .unwrap_or("ERROR")
    }

    fn field(&self, name: &str) -> Option<Node<'t>> {
        self.child_by_field_id(*FIELD_IDS.get(name)?)
    }

    fn parts(&self) -> Vec<Node<'t>> {
        let mut cursor = self.walk();
        self.named_children(&mut cursor)
            .filter(|c| c.kind_name() != "comment")
            .collect()
    }

    fn awaited(&self) -> Node<'t> {
        match self.kind_name() {
            "await" => self.named_child(0).unwrap_or(*self),
            _ => *self,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every node of a snippet with every node type and field Python has
    /// around: the same answers as tree-sitter's own.
    #[test]
    fn kinds_and_fields_are_tree_sitters() {
        let source = "import a.b as c\nfrom d import (e, f)\n@g\nclass H(I, metaclass=J):\n    \
                      def k(self, l: int = 1, *m, **n) -> str:\n        o = [p for p in q if p]\n        \
                      return f\"{r!r:>3}\" + 'x' if s else {t: u, **v}\n    async def w(self):\n        \
                      with x as y:\n            await z[1:2]\n        try:\n            raise A from B\n        \
                      except (C, D) as e:\n            pass\n        match e:\n            case [1, *rest]:\n                \
                      del rest\n        lambda a, *b: a ( b\n";
        let tree = crate::scan::parse(source).unwrap().tree;
        let language = crate::model::language();
        let mut cursor = tree.walk();
        let mut seen = 0;
        loop {
            let node = cursor.node();
            assert_eq!(node.kind_name(), node.kind());
            for id in 1..=language.field_count() as u16 {
                let name = language.field_name_for_id(id).unwrap();
                assert_eq!(node.field(name), node.child_by_field_name(name), "{name}");
            }
            assert_eq!(node.field("no such field"), None);
            seen += 1;
            if cursor.goto_first_child() {
                continue;
            }
            while !cursor.goto_next_sibling() {
                if !cursor.goto_parent() {
                    assert!(seen > 200, "{seen} nodes");
                    assert!(
                        tree.root_node().has_error(),
                        "the snippet holds an ERROR node"
                    );
                    return;
                }
            }
        }
    }

    #[test]
    fn awaited_is_what_an_await_waits_for() {
        let source = "async def f():\n    x = await g(1)\n    y = h(2)\n";
        let tree = crate::scan::parse(source).unwrap().tree;
        let body = tree
            .root_node()
            .named_child(0)
            .unwrap()
            .field("body")
            .unwrap();
        let value = |at: u32| {
            let statement = body.named_child(at).unwrap().named_child(0).unwrap();
            let value = statement.field("right").unwrap();
            (
                value.kind_name(),
                value.awaited().utf8_text(source.as_bytes()).unwrap(),
            )
        };
        assert_eq!(value(0), ("await", "g(1)"));
        assert_eq!(value(1), ("call", "h(2)"));
    }
}
