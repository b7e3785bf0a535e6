//! What the code means: one model per file that every check asks (imports,
//! scopes and bindings, value flow from secrets to where rules look, config-flow
//! classes, and the facts of the file's integration gathered across its files).
//!
//! It sits below `checks` and above `rules`' vocabulary: `scan` builds a
//! [`FileContext`] per parsed file, `checks` ask it, and nothing here calls back
//! into either.

pub mod bindings;
pub mod config_flow;
mod context;
pub mod imports;
pub mod integration;
pub mod internal;
pub mod names;
pub mod parents;
pub mod program;
pub mod syntax;
pub mod values;

pub use context::{FileContext, Guard, enclosing_scope, resolve_local};
pub use imports::ImportTable;

use tree_sitter::{Language, Node};

/// tree-sitter's Python grammar.
pub fn language() -> Language {
    tree_sitter_python::LANGUAGE.into()
}

/// The text of a node, or "" when the source is not valid UTF-8 there.
pub fn text<'s>(node: Node, source: &'s [u8]) -> &'s str {
    node.utf8_text(source).unwrap_or("")
}

#[cfg(test)]
pub(crate) mod test_support {
    //! Set-up shared by the model's and the checks' unit tests: parse a snippet, hand out a ready
    //! [`FileContext`](super::FileContext), find the node a test is about.

    use tree_sitter::{Node, Parser, Tree};

    use super::FileContext;
    use super::syntax::NodeExt;
    use crate::rules::vocabulary::Vocabulary;

    /// A check's signature.
    pub type CheckFn = for<'t> fn(&FileContext<'t>, Node<'t>, &[&str]) -> bool;

    pub fn parse(source: &str) -> Tree {
        let mut parser = Parser::new();
        parser.set_language(&super::language()).unwrap();
        parser.parse(source, None).unwrap()
    }

    /// A parsed snippet, holding what a [`FileContext`] borrows.
    pub struct Snippet {
        pub source: String,
        pub tree: Tree,
        pub vocabulary: Vocabulary,
    }

    impl Snippet {
        pub fn new(source: &str) -> Self {
            Self {
                source: source.to_string(),
                tree: parse(source),
                vocabulary: Vocabulary::default(),
            }
        }

        /// A context for the snippet, with the default vocabulary.
        pub fn ctx(&self) -> FileContext<'_> {
            FileContext::new(self.source.as_bytes(), &self.tree, &self.vocabulary)
        }

        pub fn root(&self) -> Node<'_> {
            self.tree.root_node()
        }

        /// Every node, in document order.
        pub fn nodes(&self) -> Vec<Node<'_>> {
            let mut stack = vec![self.root()];
            let mut found = Vec::new();
            while let Some(node) = stack.pop() {
                found.push(node);
                let mut cursor = node.walk();
                stack.extend(node.children(&mut cursor));
            }
            found.sort_by_key(|n| (n.start_byte(), std::cmp::Reverse(n.end_byte())));
            found
        }

        /// The first node of `kind` whose text is `text`, in document order.
        pub fn find(&self, kind: &str, text: &str) -> Node<'_> {
            find(&self.tree, &self.source, kind, text)
        }

        /// The first node of `kind` whose text starts with `starts`, in document order.
        pub fn find_starting(&self, kind: &str, starts: &str) -> Node<'_> {
            self.nodes()
                .into_iter()
                .find(|n| n.kind_name() == kind && self.source[n.byte_range()].starts_with(starts))
                .unwrap_or_else(|| panic!("no {kind} starting `{starts}` in the source"))
        }

        /// The `n`-th argument (0-based, comments and keywords included) of the
        /// first call whose text is `call`.
        pub fn argument(&self, call: &str, n: usize) -> Node<'_> {
            self.find("call", call)
                .field("arguments")
                .and_then(|arguments| arguments.named_child(n as u32))
                .unwrap_or_else(|| panic!("`{call}` has no argument {n}"))
        }

        /// The value assigned by the `n`-th top-level statement, `name = value`.
        pub fn assigned(&self, n: usize) -> Node<'_> {
            self.root()
                .named_child(n as u32)
                .and_then(|statement| statement.named_child(0))
                .and_then(|assignment| assignment.field("right"))
                .unwrap_or_else(|| panic!("statement {n} assigns nothing"))
        }
    }

    /// Runs `check` with `strings` on the first node of `kind` whose text is
    /// `text`, in `source`.
    pub fn passes(check: CheckFn, source: &str, kind: &str, text: &str, strings: &[&str]) -> bool {
        let snippet = Snippet::new(source);
        check(&snippet.ctx(), snippet.find(kind, text), strings)
    }

    /// Runs `check` on every node of `kind` whose text starts with `starts`, in
    /// `source`, and says whether any passes.
    pub fn any_passes(check: CheckFn, source: &str, kind: &str, starts: &str) -> bool {
        let snippet = Snippet::new(source);
        let ctx = snippet.ctx();
        let mut any = false;
        for node in snippet.nodes() {
            if node.kind_name() == kind && ctx.text(node).starts_with(starts) {
                any |= check(&ctx, node, &[]);
            }
        }
        any
    }

    /// The first node of `kind` whose text is `text`, in document order.
    pub fn find<'t>(tree: &'t Tree, source: &str, kind: &str, text: &str) -> Node<'t> {
        let mut stack = vec![tree.root_node()];
        let mut found = Vec::new();
        while let Some(node) = stack.pop() {
            if node.kind_name() == kind && &source[node.byte_range()] == text {
                found.push(node);
            }
            let mut cursor = node.walk();
            stack.extend(node.children(&mut cursor));
        }
        found.sort_by_key(|n| n.start_byte());
        *found
            .first()
            .unwrap_or_else(|| panic!("no {kind} `{text}` in the source"))
    }
}
