//! Is an expression a constant?

use tree_sitter::Node;

use super::FileContext;
use crate::model::syntax::NodeExt;

/// Check `literal`: strings without interpolation (or only of literals), numbers,
/// `True`/`False`/`None`, and tuples, lists or concatenations of those.
pub fn is_literal<'t>(_: &FileContext<'t>, node: Node<'t>, _: &[&str]) -> bool {
    literal(node)
}

/// Check `internal`: every part of the value is the code's own (see
/// `model::internal`), not read from a user, a device, a file or the network.
pub fn is_internal_value<'t>(ctx: &FileContext<'t>, node: Node<'t>, _: &[&str]) -> bool {
    crate::model::internal::is_internal(ctx, node, &|_, _| false)
}

fn literal(node: Node) -> bool {
    let mut cursor = node.walk();
    match node.kind_name() {
        "integer" | "float" | "true" | "false" | "none" => true,
        "string" => node
            .named_children(&mut cursor)
            .filter(|child| child.kind_name() == "interpolation")
            .all(|interpolation| {
                interpolation
                    .field("expression")
                    .is_some_and(|inner| literal(inner))
            }),
        "concatenated_string" | "parenthesized_expression" | "list" | "tuple" => node
            .named_children(&mut cursor)
            .filter(|c| c.kind_name() != "comment")
            .all(literal),
        "binary_operator" => {
            let (Some(left), Some(right)) = (node.field("left"), node.field("right")) else {
                return false;
            };
            literal(left) && literal(right)
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::test_support::Snippet;

    fn is_literal_expr(expression: &str) -> bool {
        let snippet = Snippet::new(&format!("x = {expression}\n"));
        is_literal(&snippet.ctx(), snippet.assigned(0), &[])
    }

    #[test]
    fn constants_are_literal() {
        for expression in [
            "'ls -l'",
            "\"a\" \"b\"",
            "42",
            "None",
            "['ping', '-c', '1']",
            "('a' + 'b')",
            "f'{1}'",
            "'a' * 3",
        ] {
            assert!(is_literal_expr(expression), "{expression}");
        }
    }

    #[test]
    fn anything_with_a_name_is_not_literal() {
        for expression in [
            "cmd",
            "f'ping {host}'",
            "'ls ' + path",
            "'%s' % x",
            "build()",
            "[a, 'b']",
        ] {
            assert!(!is_literal_expr(expression), "{expression}");
        }
    }
}
