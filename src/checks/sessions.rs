//! HTTP sessions: where a session of the integration's own is the other path.

use tree_sitter::Node;

use super::FileContext;
use crate::model::syntax::NodeExt;

/// Home Assistant's helpers that hand out (or create and later close) a session.
const SHARED_SESSION_HELPERS: &[&str] = &[
    "async_get_clientsession",
    "async_create_clientsession",
    "get_async_client",
    "create_async_httpx_client",
];

/// Check `shared-session-elsewhere`: the node is in one branch of an `if` whose
/// other branch asks Home Assistant for its session (`if self._hass is None:
/// ClientSession() else: async_create_clientsession(hass)`): the library's own
/// session is its path outside Home Assistant.
pub fn shared_session_elsewhere<'t>(ctx: &FileContext<'t>, node: Node<'t>, _: &[&str]) -> bool {
    let mut current = node;
    while let Some(parent) = ctx.parent(current) {
        match parent.kind_name() {
            "function_definition" | "lambda" | "class_definition" | "module" => return false,
            "if_statement" => {
                let mut cursor = parent.walk();
                let others = parent
                    .named_children(&mut cursor)
                    .filter(|branch| {
                        matches!(branch.kind_name(), "block" | "elif_clause" | "else_clause")
                            && branch.id() != current.id()
                    })
                    .collect::<Vec<_>>();
                let in_branch =
                    matches!(current.kind_name(), "block" | "elif_clause" | "else_clause");
                if in_branch
                    && others
                        .iter()
                        .any(|branch| asks_for_shared_session(ctx, *branch))
                {
                    return true;
                }
            }
            _ => {}
        }
        current = parent;
    }
    false
}

fn asks_for_shared_session<'t>(ctx: &FileContext<'t>, branch: Node<'t>) -> bool {
    let text = ctx.text(branch);
    SHARED_SESSION_HELPERS
        .iter()
        .any(|helper| text.contains(&format!("{helper}(")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::test_support::Snippet;

    fn elsewhere(source: &str) -> bool {
        let snippet = Snippet::new(source);
        let call = snippet.find_starting("call", "ClientSession(");
        shared_session_elsewhere(&snippet.ctx(), call, &[])
    }

    #[test]
    fn the_other_branch_asks_home_assistant() {
        assert!(elsewhere(
            "if self._hass is None:\n    s = ClientSession()\nelse:\n    s = async_create_clientsession(self._hass)\n"
        ));
        assert!(elsewhere(
            "if self._is_home_assistant:\n    s = async_create_clientsession(hass=self._hass)\nelse:\n    s = ClientSession()\n"
        ));
        assert!(elsewhere(
            "if hass:\n    s = async_get_clientsession(hass)\nelif x:\n    pass\nelse:\n    s = ClientSession()\n"
        ));
    }

    #[test]
    fn a_session_of_its_own_everywhere_else() {
        assert!(!elsewhere("s = ClientSession()\n"));
        assert!(!elsewhere(
            "if ok:\n    s = ClientSession()\nelse:\n    s = None\n"
        ));
        assert!(!elsewhere(
            "if ok:\n    s = ClientSession()\n    t = async_get_clientsession(hass)\n"
        ));
    }
}
