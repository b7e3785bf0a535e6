//! Shell commands: is every variable part quoted for the shell?

use tree_sitter::Node;

use super::{FileContext, literals::is_literal};

/// Check `shell-quoted`: the command is built only from literals and values passed
/// through `shlex.quote(...)` (or `shlex.join(...)`), in an f-string, a `+`
/// concatenation or a `%` format. Such a command cannot be turned into another
/// command by its values.
pub fn is_shell_quoted<'t>(ctx: &FileContext<'t>, node: Node<'t>, _: &[&str]) -> bool {
    quoted(ctx, node)
}

fn quoted<'t>(ctx: &FileContext<'t>, node: Node<'t>) -> bool {
    if is_literal(ctx, node, &[]) {
        return true;
    }
    let mut cursor = node.walk();
    match node.kind() {
        "call" => node.child_by_field_name("function").is_some_and(|f| {
            ctx.qualified_name(f)
                .is_some_and(|name| matches!(&*name, "shlex.quote" | "shlex.join"))
        }),
        "string" => node
            .named_children(&mut cursor)
            .filter(|c| c.kind() == "interpolation")
            .all(|i| {
                i.child_by_field_name("expression")
                    .is_some_and(|e| quoted(ctx, e))
            }),
        "concatenated_string" | "parenthesized_expression" | "tuple" => node
            .named_children(&mut cursor)
            .filter(|c| c.kind() != "comment")
            .all(|c| quoted(ctx, c)),
        "binary_operator" => ["left", "right"].iter().all(|field| {
            node.child_by_field_name(field)
                .is_some_and(|side| quoted(ctx, side))
        }),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::test_support::Snippet;

    fn is_quoted(expression: &str) -> bool {
        let snippet = Snippet::new(&format!(
            "import shlex\nfrom shlex import quote\nx = {expression}\n"
        ));
        is_shell_quoted(&snippet.ctx(), snippet.assigned(2), &[])
    }

    #[test]
    fn quoted_values_are_safe() {
        for expression in [
            "f'ping -c 1 {shlex.quote(host)}'",
            "'arp -n ' + quote(ip)",
            "'wakeonlan %s' % shlex.quote(mac)",
            "'nmap %s %s' % (quote(a), '-sn')",
            "'sync'",
        ] {
            assert!(is_quoted(expression), "{expression}");
        }
    }

    #[test]
    fn bare_values_are_not() {
        for expression in [
            "f'ping -c 1 {host}'",
            "'arp -n ' + ip",
            "'wakeonlan %s' % mac",
            "f'ping {shlex.quote(host)} {count}'",
            "shlex.split(cmd)",
        ] {
            assert!(!is_quoted(expression), "{expression}");
        }
    }
}
