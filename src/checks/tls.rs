//! Is a place that turns TLS verification off the user's own choice?

use tree_sitter::Node;

use super::{FileContext, context::enclosing_scope, text};
use crate::rules::vocabulary::split_words;

/// Check `verification-opt-out`: the node only runs when the user turned
/// verification off (it sits in the branch of `if not verify_ssl:` or in the
/// `else` of `if verify_ssl:`), or inside a helper whose name says it builds an
/// unverified context (`client_context_no_verify`; its callers are what to
/// report), or it turns hostname checking off in a function that pins its own
/// certificate authority (`load_verify_locations`, `cadata`).
pub fn is_verification_opt_out(ctx: &FileContext, node: Node, _: &[&str]) -> bool {
    let source = ctx.source;
    if in_opt_out_branch(ctx, node, source) {
        return true;
    }
    let scope = enclosing_scope(ctx, node);
    if scope.kind() != "function_definition" {
        return false;
    }
    let name = scope
        .child_by_field_name("name")
        .map(|n| split_words(text(n, source)))
        .unwrap_or_default();
    let helper = name.windows(2).any(|w| w[0] == "no" && w[1] == "verify")
        || name
            .iter()
            .any(|w| matches!(w.as_str(), "unverified" | "insecure" | "noverify"));
    helper || pins_own_ca(ctx, node, scope)
}

/// `ctx.check_hostname = False` next to `ctx.load_verify_locations(...)` on the
/// same context, in the same function.
fn pins_own_ca(ctx: &FileContext, node: Node, scope: Node) -> bool {
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
fn in_opt_out_branch(ctx: &FileContext, node: Node, source: &[u8]) -> bool {
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
            && let Some(true_means_verify) = condition_polarity(condition, source)
            && taken_when_true != true_means_verify
        {
            return true;
        }
        current = parent;
    }
    false
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
    let negated = condition.kind() == "not_operator"
        || condition_text.ends_with("is False")
        || condition_text.ends_with("== False")
        || condition_text.ends_with("is not True");
    Some(!(negated ^ inverted_name))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{checks::test_support, rules::vocabulary::Vocabulary};

    fn opt_out(source: &str, target: &str) -> bool {
        let tree = test_support::parse(source);
        let vocabulary = Vocabulary::default();
        let ctx = FileContext::new(source.as_bytes(), &tree, &vocabulary);
        let node = test_support::find(&tree, source, "assignment", target);
        is_verification_opt_out(&ctx, node, &[])
    }

    #[test]
    fn branches_taken_when_the_user_turned_verification_off() {
        let target = "ctx.check_hostname = False";
        for source in [
            "def f(c):\n    if not c[CONF_VERIFY_SSL]:\n        ctx.check_hostname = False\n",
            "def f(verify_ssl):\n    if verify_ssl:\n        pass\n    else:\n        ctx.check_hostname = False\n",
            "def f(insecure):\n    if insecure:\n        ctx.check_hostname = False\n",
            "def f(v):\n    if v[CONF_VERIFY_SSL] is False:\n        ctx.check_hostname = False\n",
            "def client_context_no_verify():\n    ctx.check_hostname = False\n",
            "def pinned(cadata):\n    ctx.check_hostname = False\n    ctx.load_verify_locations(cadata=cadata)\n",
        ] {
            assert!(opt_out(source, target), "{source}");
        }
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
        ] {
            assert!(!opt_out(source, target), "{source}");
        }
    }
}
