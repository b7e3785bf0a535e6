//! Facts about the module a node sits in.

use tree_sitter::Node;

use super::FileContext;

/// Check `module-defines`: the file defines, at its top level, a function or class
/// with one of the names given (`async_get_clientsession` marks Home Assistant's
/// own shared-session helper, which is where a session *should* be created).
pub fn module_defines(ctx: &FileContext, _: Node, names: &[&str]) -> bool {
    let root = ctx.tree.root_node();
    let mut cursor = root.walk();
    root.named_children(&mut cursor).any(|statement| {
        let definition = if statement.kind() == "decorated_definition" {
            statement.child_by_field_name("definition")
        } else {
            Some(statement)
        };
        definition
            .filter(|d| matches!(d.kind(), "function_definition" | "class_definition"))
            .and_then(|d| d.child_by_field_name("name"))
            .is_some_and(|name| names.contains(&ctx.text(name)))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{checks::test_support::parse, rules::vocabulary::Vocabulary};

    fn defines(source: &str, names: &[&str]) -> bool {
        let tree = parse(source);
        let vocabulary = Vocabulary::default();
        let ctx = FileContext::new(source.as_bytes(), &tree, &vocabulary);
        module_defines(&ctx, tree.root_node(), names)
    }

    #[test]
    fn top_level_definitions_count() {
        let source = "@callback\ndef async_get_clientsession(hass):\n    pass\nclass Api:\n    def get_async_client(self):\n        pass\n";
        assert!(defines(source, &["async_get_clientsession"]));
        assert!(defines(source, &["Api", "other"]));
        // A method is not a module-level definition.
        assert!(!defines(source, &["get_async_client"]));
        assert!(!defines("x = 1\n", &["async_get_clientsession"]));
    }
}
