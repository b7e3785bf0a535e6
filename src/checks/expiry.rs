//! Token expiry compared with the current time, with no safety margin.

use tree_sitter::Node;

use super::{FileContext, imports::pattern_matches, secrets::string_value, text};
use crate::model::syntax::NodeExt;
use crate::model::{enclosing_scope, resolve_local, values};
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
    match node.kind_name() {
        "identifier" => Some(text(node, source).to_string()),
        "attribute" => Some(text(node.field("attribute")?, source).to_string()),
        "subscript" => {
            let key = node.field("subscript")?;
            string_value(key, source).or_else(|| Some(text(key, source).to_string()))
        }
        "call" => {
            let function = node.field("function")?;
            let method = function.field("attribute")?;
            match text(method, source) {
                "get" => {
                    let key = node.field("arguments")?.named_child(0)?;
                    string_value(key, source).or_else(|| Some(text(key, source).to_string()))
                }
                "timestamp" => operand_name(function.field("object")?, source),
                _ => None,
            }
        }
        "parenthesized_expression" => operand_name(node.named_child(0)?, source),
        _ => None,
    }
}

/// Is the operand "now": a call to a clock, `.timestamp()` of one, or a local
/// named `now` (what Home Assistant code calls the clock's result)?
fn is_now<'t>(ctx: &FileContext<'t>, node: Node<'t>) -> bool {
    match node.kind_name() {
        "identifier" => matches!(
            ctx.text(node),
            "now" | "utc_now" | "utcnow" | "current_time"
        ),
        "call" => {
            let Some(function) = node.field("function") else {
                return false;
            };
            if let Some(method) = function.field("attribute")
                && ctx.text(method) == "timestamp"
            {
                return function
                    .field("object")
                    .is_some_and(|object| is_now(ctx, object));
            }
            let qualified = ctx
                .qualified_name(function)
                .unwrap_or_else(|| ctx.text(function).into());
            let spelled = ctx.text(function);
            NOW_FUNCTIONS
                .iter()
                .any(|p| pattern_matches(p, &qualified) || pattern_matches(p, spelled))
        }
        "parenthesized_expression" => node.named_child(0).is_some_and(|inner| is_now(ctx, inner)),
        _ => false,
    }
}

/// Words that tie an expiry to authentication (a token, a login, OAuth).
const AUTH_WORDS: &[&str] = &[
    "token",
    "tokens",
    "oauth",
    "oauth2",
    "auth",
    "authenticate",
    "reauthenticate",
    "authentication",
    "authorization",
    "credential",
    "credentials",
    "jwt",
    "bearer",
    "reauth",
    "login",
    "relogin",
];

/// Words of a branch that enforces an expiry (the server side: drop or refuse
/// an expired token) rather than refreshing before it: no margin is wanted there.
const ENFORCE_WORDS: &[&str] = &[
    "remove",
    "delete",
    "revoke",
    "abort",
    "reject",
    "purge",
    "unauthorized",
    "forbidden",
];

/// Words in a name that say the margin is already applied (`preemptive_expire_time`).
const MARGIN_WORDS: &[&str] = &[
    "preemptive",
    "early",
    "margin",
    "buffer",
    "skew",
    "leeway",
    "grace",
    "threshold",
];

fn words_of(node: Node, source: &[u8]) -> Vec<String> {
    split_words(text(node, source))
}

fn any_word(words: &[String], list: &[&str]) -> bool {
    words.iter().any(|w| list.contains(&w.as_str()))
}

/// Is the expiry operand about authentication, and is the comparison a
/// client's "refresh now?" decision rather than a server enforcing expiry?
/// Looks at the operand, the local it was computed into, the enclosing
/// function's name and the body of the `if` it guards.
fn is_token_refresh_decision<'t>(
    ctx: &FileContext<'t>,
    comparison: Node<'t>,
    expiry: Node<'t>,
) -> bool {
    let source = ctx.source;
    let mut words = words_of(expiry, source);
    let definition = (expiry.kind_name() == "identifier")
        .then(|| resolve_local(ctx, expiry))
        .flatten()
        .filter(|value| value.id() != expiry.id());
    if let Some(value) = definition {
        // `preemptive = expires - timedelta(...)`: the margin is in the local.
        let subtracts = value.kind_name() == "binary_operator"
            && value
                .field("operator")
                .is_some_and(|o| text(o, source) == "-");
        if subtracts {
            return false;
        }
        words.extend(words_of(value, source));
    }
    if any_word(&words_of(expiry, source), MARGIN_WORDS) {
        return false;
    }
    let scope = enclosing_scope(ctx, comparison);
    if scope.kind_name() == "function_definition"
        && let Some(name) = scope.field("name")
    {
        words.extend(words_of(name, source));
    }
    let guarded = guarded_block(ctx, comparison);
    if let Some(block) = guarded {
        let body = words_of(block, source);
        if any_word(&body, ENFORCE_WORDS) {
            return false;
        }
        words.extend(body);
    }
    any_word(&words, AUTH_WORDS)
}

/// The block an `if`/`elif`/`while` runs when `comparison` is in its condition.
fn guarded_block<'t>(ctx: &FileContext<'t>, comparison: Node<'t>) -> Option<Node<'t>> {
    let mut current = comparison;
    while let Some(parent) = ctx.parent(current) {
        match parent.kind_name() {
            "if_statement" | "elif_clause" | "while_statement" => {
                let in_condition = parent
                    .field("condition")
                    .is_some_and(|c| c.id() == current.id());
                return in_condition
                    .then(|| parent.field("consequence").or(parent.field("body")))
                    .flatten();
            }
            "boolean_operator" | "not_operator" | "parenthesized_expression" => current = parent,
            _ => return None,
        }
    }
    None
}

/// Check `expiry-without-buffer`: an ordering comparison of an expiry time with
/// "now", where neither side adds or subtracts a margin, deciding whether a
/// token (or login) needs refreshing.
pub fn expiry_without_buffer<'t>(ctx: &FileContext<'t>, node: Node<'t>, _: &[&str]) -> bool {
    if node.kind_name() != "comparison_operator" {
        return false;
    }
    let operands = node.parts();
    let ordering = {
        let mut cursor = node.walk();
        node.children(&mut cursor)
            .filter(|c| !c.is_named())
            .all(|op| matches!(ctx.text(op), "<" | "<=" | ">" | ">="))
    };
    if operands.len() != 2 || !ordering {
        return false;
    }
    let (a, b) = (unconverted(ctx, operands[0]), unconverted(ctx, operands[1]));
    let expiry = |n: Node| operand_name(n, ctx.source).is_some_and(|name| is_expiry_name(&name));
    let expiry_operand = if expiry(a) && is_now(ctx, b) {
        a
    } else if is_now(ctx, a) && expiry(b) {
        b
    } else {
        return false;
    };
    is_token_refresh_decision(ctx, node, expiry_operand)
        && !margin_taken_when_stored(ctx, expiry_operand)
}

/// `float(self._expires)`, `int(expiry)`: the value converted, compared as itself.
fn unconverted<'t>(ctx: &FileContext<'t>, node: Node<'t>) -> Node<'t> {
    let converted = node.kind_name() == "call"
        && node
            .field("function")
            .is_some_and(|f| matches!(ctx.text(f), "float" | "int"));
    let argument = node
        .field("arguments")
        .filter(|args| args.named_child_count() == 1)
        .and_then(|args| args.named_child(0))
        .filter(|arg| arg.kind_name() != "keyword_argument");
    match argument {
        Some(inner) if converted => inner,
        _ => node,
    }
}

/// Was the margin taken where the expiry is stored (`self._expires_at =
/// time.time() + expires_in - MARGIN`, `jwt["exp"] - 5`)? Every value the
/// name or `self.` attribute is assigned subtracts something, or is a
/// constant (the `0` or `None` it starts as).
fn margin_taken_when_stored<'t>(ctx: &FileContext<'t>, expiry: Node<'t>) -> bool {
    let values: Vec<Node> = match expiry.kind_name() {
        "identifier" => values::reaching(ctx, expiry)
            .iter()
            .map(|a| a.value)
            .collect(),
        "attribute" => values::slot_values(ctx, expiry),
        _ => Vec::new(),
    };
    let subtracts = |value: Node| {
        value.kind_name() == "binary_operator"
            && value.field("operator").is_some_and(|o| ctx.text(o) == "-")
            && value.field("right").is_some_and(|r| ctx.text(r) != "0")
    };
    let constant = |value: Node| matches!(value.kind_name(), "integer" | "float" | "none");
    values.iter().any(|&v| subtracts(v)) && values.iter().all(|&v| subtracts(v) || constant(v))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::test_support::passes;

    /// Does the check flag the comparison `expression` written in `source`?
    fn flagged_at(source: &str, expression: &str) -> bool {
        passes(
            expiry_without_buffer,
            source,
            "comparison_operator",
            expression,
            &[],
        )
    }

    fn flagged(expression: &str) -> bool {
        let source = format!(
            "import time\nfrom datetime import datetime\nimport homeassistant.util.dt as dt_util\n\
             def ensure_token(self, token, now, expiration, expires_at, other_value):\n    if {expression}:\n        self.refresh()\n"
        );
        flagged_at(&source, expression)
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
            "float(self._token_expires) > time.time()",
        ] {
            assert!(flagged(expression), "{expression}");
        }
    }

    /// `expression` compared in an `if` with `body`, in a function called `name`.
    fn flagged_in(name: &str, prelude: &str, expression: &str, body: &str) -> bool {
        let source = format!(
            "import time\nimport homeassistant.util.dt as dt_util\n\
             def {name}(self):\n{prelude}    if {expression}:\n        {body}\n"
        );
        flagged_at(&source, expression)
    }

    #[test]
    fn only_token_refresh_decisions_count() {
        let e = "self._expires_at < time.time()";
        assert!(flagged_in("update", "", e, "await self._refresh_token()"));
        assert!(flagged_in("async_ensure_token_valid", "", e, "pass"));
        assert!(flagged_in(
            "update",
            "    expiry = self.refresh_token_created + LIFETIME\n",
            "time.time() > expiry",
            "await self.relogin()"
        ));
        // Not about authentication: a cache, a stream, a weather alert.
        assert!(!flagged_in("update", "", e, "self._cache = None"));
        // A server enforcing expiry wants no margin.
        assert!(!flagged_in(
            "cleanup",
            "",
            e,
            "self.async_remove_refresh_token(token)"
        ));
        // The margin is in the local.
        assert!(!flagged_in(
            "token_valid",
            "    preemptive = self._expires - timedelta(seconds=60)\n",
            "dt_util.utcnow() < preemptive",
            "pass"
        ));
        assert!(!flagged_in(
            "token_valid",
            "",
            "dt_util.utcnow() < self._preemptive_expiry",
            "pass"
        ));
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

    #[test]
    fn a_margin_taken_where_the_expiry_is_stored_counts() {
        let class = |stored: &str| {
            format!(
                "import time\nclass Auth:\n    def __init__(self):\n        self._token_expires_at = 0\n    \
                 def store(self, expires_in):\n        self._token_expires_at = {stored}\n    \
                 def ensure_token(self):\n        if time.time() > self._token_expires_at:\n            self.refresh()\n"
            )
        };
        let expression = "time.time() > self._token_expires_at";
        assert!(!flagged_at(
            &class("time.time() + expires_in - MARGIN"),
            expression
        ));
        assert!(flagged_at(&class("time.time() + expires_in"), expression));
        let local = "import time\ndef ensure(self, jwt):\n    expires_at = jwt['exp'] - 5\n    \
                     if time.time() > expires_at:\n        self.refresh()\n";
        assert!(!flagged_at(local, "time.time() > expires_at"));
    }
}
