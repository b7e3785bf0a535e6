//! Token expiry compared with the current time, with no safety margin.

use tree_sitter::Node;

use super::{FileContext, imports::pattern_matches, secrets::string_value, text};
use crate::rules::vocabulary::split_words;

/// Functions that return "now".
const NOW_FUNCTIONS: &[&str] = &[
    "datetime.datetime.now",
    "datetime.datetime.utcnow",
    "datetime.now",
    "datetime.utcnow",
    "homeassistant.util.dt.utcnow",
    "homeassistant.util.dt.now",
    "homeassistant.util.dt.as_timestamp",
    "dt_util.utcnow",
    "dt_util.now",
    "time.time",
    "time.monotonic",
    "utcnow",
];

/// Does the name say it holds an expiry time (`expires_at`, `token_expiry`,
/// `expiration`, `self._token_expires`)? Durations (`expires_in`) are not times.
fn is_expiry_name(name: &str) -> bool {
    let words = split_words(name);
    let is_expiry = |w: &String| {
        matches!(
            w.as_str(),
            "expires" | "expiry" | "expiration" | "expire" | "expiration_time" | "expiretime"
        ) || w.starts_with("expir")
    };
    words.iter().any(is_expiry) && !words.last().is_some_and(|w| w == "in" || w == "delta")
}

/// The name an operand stands for: `expires_at`, `self._expiry`,
/// `token["expires_at"]`, `token.get("expires_at")`, `self._expiry.timestamp()`.
fn operand_name(node: Node, source: &[u8]) -> Option<String> {
    match node.kind() {
        "identifier" => Some(text(node, source).to_string()),
        "attribute" => Some(text(node.child_by_field_name("attribute")?, source).to_string()),
        "subscript" => {
            let key = node.child_by_field_name("subscript")?;
            string_value(key, source).or_else(|| Some(text(key, source).to_string()))
        }
        "call" => {
            let function = node.child_by_field_name("function")?;
            let method = function.child_by_field_name("attribute")?;
            match text(method, source) {
                "get" => {
                    let key = node.child_by_field_name("arguments")?.named_child(0)?;
                    string_value(key, source).or_else(|| Some(text(key, source).to_string()))
                }
                "timestamp" => operand_name(function.child_by_field_name("object")?, source),
                _ => None,
            }
        }
        "parenthesized_expression" => operand_name(node.named_child(0)?, source),
        _ => None,
    }
}

/// Is the operand "now": a call to a clock, `.timestamp()` of one, or a local
/// named `now` (what Home Assistant code calls the clock's result)?
fn is_now(ctx: &FileContext, node: Node) -> bool {
    match node.kind() {
        "identifier" => matches!(
            ctx.text(node),
            "now" | "utc_now" | "utcnow" | "current_time"
        ),
        "call" => {
            let Some(function) = node.child_by_field_name("function") else {
                return false;
            };
            if let Some(method) = function.child_by_field_name("attribute")
                && ctx.text(method) == "timestamp"
            {
                return function
                    .child_by_field_name("object")
                    .is_some_and(|object| is_now(ctx, object));
            }
            let qualified = ctx
                .imports()
                .qualified_name(function, ctx.source)
                .unwrap_or_else(|| ctx.text(function).to_string());
            let spelled = ctx.text(function);
            NOW_FUNCTIONS
                .iter()
                .any(|p| pattern_matches(p, &qualified) || pattern_matches(p, spelled))
        }
        "parenthesized_expression" => node.named_child(0).is_some_and(|inner| is_now(ctx, inner)),
        _ => false,
    }
}

/// Check `expiry-without-buffer`: an ordering comparison of an expiry time with
/// "now", where neither side adds or subtracts a margin.
pub fn expiry_without_buffer(ctx: &FileContext, node: Node, _: &[&str]) -> bool {
    if node.kind() != "comparison_operator" {
        return false;
    }
    let mut cursor = node.walk();
    let operands: Vec<Node> = node
        .named_children(&mut cursor)
        .filter(|c| c.kind() != "comment")
        .collect();
    let ordering = {
        let mut cursor = node.walk();
        node.children(&mut cursor)
            .filter(|c| !c.is_named())
            .all(|op| matches!(ctx.text(op), "<" | "<=" | ">" | ">="))
    };
    if operands.len() != 2 || !ordering {
        return false;
    }
    let (a, b) = (operands[0], operands[1]);
    let expiry = |n: Node| operand_name(n, ctx.source).is_some_and(|name| is_expiry_name(&name));
    (expiry(a) && is_now(ctx, b)) || (is_now(ctx, a) && expiry(b))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{checks::test_support, rules::vocabulary::Vocabulary};

    fn flagged(expression: &str) -> bool {
        let source = format!(
            "import time\nfrom datetime import datetime\nimport homeassistant.util.dt as dt_util\nx = {expression}\n"
        );
        let tree = test_support::parse(&source);
        let vocabulary = Vocabulary::default();
        let ctx = FileContext::new(source.as_bytes(), &tree, &vocabulary);
        let node = test_support::find(&tree, &source, "comparison_operator", expression);
        expiry_without_buffer(&ctx, node, &[])
    }

    #[test]
    fn comparisons_without_margin_are_flagged() {
        for expression in [
            "self._expires_at < time.time()",
            "time.time() >= token['expires_at']",
            "dt_util.utcnow() > self._token_expiry",
            "datetime.now() > expiration",
            "token.get('expires_at') <= time.monotonic()",
            "self._expires.timestamp() < dt_util.utcnow().timestamp()",
            "now >= self._token_expires",
        ] {
            assert!(flagged(expression), "{expression}");
        }
    }

    #[test]
    fn margins_and_other_comparisons_are_not() {
        for expression in [
            "self._expires_at - 60 < time.time()",
            "time.time() + CLOCK_SKEW > token['expires_at']",
            "dt_util.utcnow() + timedelta(minutes=5) > self._expiry",
            "self._expires_at == time.time()",
            "self._expires_in < time.time()",
            "self._last_update < time.time()",
            "expires_at < other_value",
        ] {
            assert!(!flagged(expression), "{expression}");
        }
    }
}
