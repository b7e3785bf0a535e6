//! Is a place that turns TLS verification off the user's own choice?

use tree_sitter::Node;

use super::{FileContext, text};
use crate::model::enclosing_scope;
use crate::rules::vocabulary::split_words;

/// Helpers that build an unverified context on request; HAS301 reports their
/// callers, so their own bodies are not reported again.
const NO_VERIFY_HELPERS: &[&str] = &[
    "client_context_no_verify",
    "_client_context_no_verify",
    "get_default_no_verify_context",
    "create_no_verify_ssl_context",
    "_create_unverified_context",
];

/// Check `verification-opt-out`: the node only runs when the user turned
/// verification off (it sits in the branch of `if not verify_ssl:` or in the
/// `else` of `if verify_ssl:`), or inside one of the no-verify helpers whose
/// callers are reported (`client_context_no_verify`), or it turns hostname
/// checking off in a function that pins its own certificate authority
/// (`load_verify_locations`).
pub fn is_verification_opt_out<'t>(ctx: &FileContext<'t>, node: Node<'t>, _: &[&str]) -> bool {
    let source = ctx.source;
    if in_opt_out_branch(ctx, node, source) {
        return true;
    }
    let scope = enclosing_scope(ctx, node);
    if scope.kind() != "function_definition" {
        return false;
    }
    let helper = scope
        .child_by_field_name("name")
        .is_some_and(|n| NO_VERIFY_HELPERS.contains(&text(n, source)));
    helper || pins_own_ca(ctx, node, scope)
}

/// `ctx.check_hostname = False` next to `ctx.load_verify_locations(...)` on the
/// same context, in the same function.
fn pins_own_ca<'t>(ctx: &FileContext<'t>, node: Node<'t>, scope: Node<'t>) -> bool {
    let Some(object) = node
        .child_by_field_name("left")
        .filter(|left| left.kind() == "attribute" && ctx.text(*left).ends_with("check_hostname"))
        .and_then(|left| left.child_by_field_name("object"))
    else {
        return false;
    };
    let wanted = format!("{}.load_verify_locations(", ctx.text(object));
    ctx.text(scope).contains(&wanted)
}

/// Does some enclosing branch run only when verification is off?
fn in_opt_out_branch<'t>(ctx: &FileContext<'t>, node: Node<'t>, source: &[u8]) -> bool {
    let mut current = node;
    while let Some(parent) = ctx.parent(current) {
        let branch = match parent.kind() {
            "if_statement" | "elif_clause" => {
                let in_consequence = parent
                    .child_by_field_name("consequence")
                    .is_some_and(|c| c.id() == current.id());
                parent
                    .child_by_field_name("condition")
                    .map(|condition| (condition, in_consequence))
            }
            // `else:` belongs to the `if` above it.
            "else_clause" => ctx
                .parent(parent)
                .filter(|p| p.kind() == "if_statement")
                .and_then(|p| p.child_by_field_name("condition"))
                .map(|condition| (condition, false)),
            "conditional_expression" => {
                // `a if condition else b`: children are a, condition, b.
                let (Some(a), Some(condition)) = (parent.named_child(0), parent.named_child(1))
                else {
                    return false;
                };
                (condition.id() != current.id()).then_some((condition, a.id() == current.id()))
            }
            _ => None,
        };
        if let Some((condition, taken_when_true)) = branch
            && taken_only_when_off(condition, taken_when_true, source)
        {
            return true;
        }
        current = parent;
    }
    false
}

/// Is a branch taken (when `condition` is `taken_when`) only with verification
/// off? Looks through `not`, parentheses, `and` (a branch taken when all hold)
/// and `or` (a branch taken when none holds).
fn taken_only_when_off(condition: Node, taken_when: bool, source: &[u8]) -> bool {
    match condition.kind() {
        "parenthesized_expression" => condition
            .named_child(0)
            .is_some_and(|inner| taken_only_when_off(inner, taken_when, source)),
        "not_operator" => condition
            .child_by_field_name("argument")
            .is_some_and(|inner| taken_only_when_off(inner, !taken_when, source)),
        "boolean_operator" => {
            let operator = condition
                .child_by_field_name("operator")
                .map(|o| text(o, source));
            // `a and b` taken: both hold; `a or b` not taken: neither holds.
            let each_holds = match operator {
                Some("and") => taken_when,
                Some("or") => !taken_when,
                _ => return false,
            };
            each_holds
                && ["left", "right"].iter().any(|side| {
                    condition
                        .child_by_field_name(side)
                        .is_some_and(|operand| taken_only_when_off(operand, taken_when, source))
                })
        }
        _ => condition_polarity(condition, source)
            .is_some_and(|true_means_verify| taken_when != true_means_verify),
    }
}

/// For a condition about verification: does "true" mean "verify"? `None` when
/// the condition is not about verification.
fn condition_polarity(condition: Node, source: &[u8]) -> Option<bool> {
    let condition_text = text(condition, source);
    let words = split_words(condition_text);
    let about_verify = words.iter().any(|w| {
        matches!(
            w.as_str(),
            "verify" | "verification" | "insecure" | "unverified"
        )
    });
    if !about_verify {
        return None;
    }
    let inverted_name = words.iter().any(|w| {
        matches!(
            w.as_str(),
            "insecure" | "unverified" | "skip" | "disable" | "no"
        )
    });
    let negated = condition_text.ends_with("is False")
        || condition_text.ends_with("== False")
        || condition_text.ends_with("is not True");
    Some(!(negated ^ inverted_name))
}

/// Check `false-valued`: the expression (a name, a `self.` attribute) holds the
/// literal `False` wherever it is assigned: a module constant, a local, an
/// attribute set in any method of the class.
pub fn is_false_valued<'t>(ctx: &FileContext<'t>, node: Node<'t>, _: &[&str]) -> bool {
    crate::model::values::resolves_to_false(ctx, node)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::test_support::passes;

    fn opt_out(source: &str, target: &str) -> bool {
        passes(is_verification_opt_out, source, "assignment", target, &[])
    }

    #[test]
    fn branches_taken_when_the_user_turned_verification_off() {
        let target = "ctx.check_hostname = False";
        for source in [
            "def f(c):\n    if not c[CONF_VERIFY_SSL]:\n        ctx.check_hostname = False\n",
            "def f(verify_ssl):\n    if verify_ssl:\n        pass\n    else:\n        ctx.check_hostname = False\n",
            "def f(insecure):\n    if insecure:\n        ctx.check_hostname = False\n",
            "def f(v):\n    if v[CONF_VERIFY_SSL] is False:\n        ctx.check_hostname = False\n",
            "def f(c, url):\n    if not c.get(CONF_VERIFY_CERT, True) and url:\n        ctx.check_hostname = False\n",
            "def f(c, url):\n    if c[CONF_VERIFY_SSL] or url:\n        pass\n    else:\n        ctx.check_hostname = False\n",
            "def client_context_no_verify():\n    ctx.check_hostname = False\n",
            "def _client_context_no_verify(ciphers):\n    ctx.check_hostname = False\n",
            "def pinned(cadata):\n    ctx.check_hostname = False\n    ctx.load_verify_locations(cadata=cadata)\n",
        ] {
            assert!(opt_out(source, target), "{source}");
        }
        // An integration's own helper: nothing reports its callers, so its body is.
        let own_helper = "def create_insecure_context():\n    ctx.check_hostname = False\n";
        assert!(!opt_out(own_helper, target));
        let other_context = "def other(cadata):\n    ctx.check_hostname = False\n    other.load_verify_locations(cadata=cadata)\n";
        assert!(!opt_out(other_context, target));
    }

    #[test]
    fn unconditional_or_inverted_code_is_not_an_opt_out() {
        let target = "ctx.check_hostname = False";
        for source in [
            "def f():\n    ctx.check_hostname = False\n",
            // Verification requested, and turned off: a bug, reported.
            "def f(entry):\n    if entry[CONF_VERIFY_SSL]:\n        ctx.check_hostname = False\n",
            "def f(c):\n    if c[CONF_SSL]:\n        ctx.check_hostname = False\n",
            // Taken when verification is off *or* something else: not only when off.
            "def f(c, url):\n    if not c[CONF_VERIFY_SSL] or url:\n        ctx.check_hostname = False\n",
        ] {
            assert!(!opt_out(source, target), "{source}");
        }
    }
}
