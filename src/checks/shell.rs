//! Shell commands: is every variable part quoted for the shell, or the code's own?

use tree_sitter::Node;

use super::FileContext;
use crate::model::internal::is_internal;
use crate::model::syntax::NodeExt;

/// Check `shell-quoted`: the command is built only from the code's own values
/// (literals, constants, generated ids, Home Assistant's paths; followed
/// through locals and the file's calls of a helper, see `model::internal`) and
/// values passed through `shlex.quote(...)` or `shlex.join(...)`. No value from
/// outside can turn such a command into another.
pub fn is_shell_quoted<'t>(ctx: &FileContext<'t>, node: Node<'t>, _: &[&str]) -> bool {
    is_internal(ctx, node, &shlex_quoted)
}

fn shlex_quoted<'t>(ctx: &FileContext<'t>, node: Node<'t>) -> bool {
    node.kind_name() == "call"
        && node.field("function").is_some_and(|f| {
            ctx.qualified_name(f)
                .is_some_and(|name| matches!(&*name, "shlex.quote" | "shlex.join"))
        })
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
