//! Is an expression a constant?

use tree_sitter::Node;

use super::FileContext;
use crate::model::syntax::NodeExt;

/// Check `literal`: strings without interpolation (or only of literals), numbers,
/// `True`/`False`/`None`, and tuples, lists or concatenations of those; and
/// names that only ever hold a plain string (`API_KEY = "..."`, see
/// `values::only_literals`).
pub fn is_literal<'t>(ctx: &FileContext<'t>, node: Node<'t>, _: &[&str]) -> bool {
    literal(node) || crate::model::values::only_literals(ctx, node)
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
    fn names_that_only_hold_plain_strings_are_literal() {
        let source = "API_KEY = 'abc'\n\
            class C:\n\
            \x20   def __init__(self, token):\n\
            \x20       self._key = 'k'\n\
            \x20       self._mixed = 'm'\n\
            \x20       self._mixed = token\n\
            \x20   def f(self, token):\n\
            \x20       a = API_KEY\n\
            \x20       use(API_KEY, self._key, a, token, self._mixed, self._other)\n";
        let snippet = Snippet::new(source);
        let ctx = snippet.ctx();
        let call = "use(API_KEY, self._key, a, token, self._mixed, self._other)";
        let literal: Vec<bool> = (0..6)
            .map(|n| is_literal(&ctx, snippet.argument(call, n), &[]))
            .collect();
        assert_eq!(literal, [true, true, true, false, false, false]);
    }

    #[test]
    fn loop_variables_over_constant_tables_are_literal() {
        let source = "NAMES = {Humidity: 'HumiditySensor', Battery: 'BatterySensor'}\n\
            PAIRS = [('a', 1), ('b', device)]\n\
            def f(devices, device):\n\
            \x20   made = [use(c, k) for (k, c) in NAMES.items()]\n\
            \x20   for name in NAMES.values():\n\
            \x20       use(name, 0)\n\
            \x20   for label, value in PAIRS:\n\
            \x20       use(label, value)\n\
            \x20   for item in devices:\n\
            \x20       use(item, 0)\n\
            \x20   return [use(d, 0) for d in devices]\n";
        let snippet = Snippet::new(source);
        let ctx = snippet.ctx();
        let literal = |call: &str, n: usize| is_literal(&ctx, snippet.argument(call, n), &[]);
        assert!(literal("use(c, k)", 0), "the values of a constant mapping");
        assert!(!literal("use(c, k)", 1), "its keys are classes");
        assert!(literal("use(name, 0)", 0), "values() of a constant mapping");
        assert!(
            literal("use(label, value)", 0),
            "the first of constant pairs"
        );
        assert!(!literal("use(label, value)", 1), "a pair holds a parameter");
        assert!(!literal("use(item, 0)", 0), "a loop over a parameter");
        assert!(!literal("use(d, 0)", 0), "a comprehension over a parameter");
    }

    #[test]
    fn items_of_constant_tables_are_literal() {
        let source = "BASE = 'self.device.'\n\
            TABLE = {'main': {KIND: Power, FUNC: 'set_power'}, 'eco': {KIND: Eco, FUNC: 'set_eco'}}\n\
            class S:\n\
            \x20   def __init__(self, kind):\n\
            \x20       self.table = TABLE\n\
            \x20   def on(self, kind, data):\n\
            \x20       use(BASE + self.table[kind][FUNC] + '(True)', TABLE[kind][KIND], data[kind], BASE + kind)\n";
        let snippet = Snippet::new(source);
        let ctx = snippet.ctx();
        let call = "use(BASE + self.table[kind][FUNC] + '(True)', TABLE[kind][KIND], data[kind], BASE + kind)";
        let literal: Vec<bool> = (0..4)
            .map(|n| is_literal(&ctx, snippet.argument(call, n), &[]))
            .collect();
        assert_eq!(literal, [true, false, false, false]);
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
