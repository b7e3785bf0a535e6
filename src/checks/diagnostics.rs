//! Diagnostics: does a config entry's whole mapping reach what a diagnostics
//! function returns without `async_redact_data`, and does a redaction set cover
//! the secrets the integration's flows store?

use std::collections::BTreeSet;

use tree_sitter::Node;

use super::{
    FileContext,
    flow::{self, callee_name, enclosing_function, entry_may_hold_secret, is_entry_mapping},
};
use crate::model::syntax::NodeExt;
use crate::model::{
    integration,
    values::{Label, carries},
};

/// How many assignments a value is followed through.
const MAX_HOPS: usize = 4;

/// Is the node in a function that builds diagnostics (`async_get_config_entry_diagnostics`,
/// `async_get_device_diagnostics`, or a helper named `*diagnostics*`)?
fn in_diagnostics_function<'t>(ctx: &FileContext<'t>, node: Node<'t>) -> Option<Node<'t>> {
    let function = enclosing_function(ctx, node)?;
    let name = ctx.text(function.field("name")?);
    name.contains("diagnostics").then_some(function)
}

/// Is a call a redaction (`async_redact_data(...)`, `redact_*`, `*_redact*`)?
fn is_redaction<'t>(ctx: &FileContext<'t>, call: Node<'t>) -> bool {
    let name = callee_name(ctx, call);
    name == "async_redact_data" || name.contains("redact") || name.starts_with("mask")
}

/// Callees that copy a mapping without changing what it holds.
fn is_copy(name: &str) -> bool {
    matches!(
        name,
        "dict" | "list" | "deepcopy" | "copy" | "MappingProxyType"
    )
}

/// Check `diagnostics-dump`: what a diagnostics function returns holds an
/// object dumped whole (a coordinator's or library's debug data, `vars(obj)`,
/// `obj.__dict__`, a login response kept whole) without a redaction.
pub fn diagnostics_dump<'t>(ctx: &FileContext<'t>, node: Node<'t>, _: &[&str]) -> bool {
    // An integration whose flows are seen to store only non-secret keys (a
    // local device's host and port) has no credential to dump.
    in_diagnostics_function(ctx, node).is_some()
        && (entry_may_hold_secret(ctx) || ctx.facts().maybe_stored_keys.is_empty())
        && carries(ctx, node, Label::Dump)
}

/// Check `diagnostics-leak`: the entry mapping (`entry.data`, `entry.options`,
/// `entry.as_dict()`) reaches the diagnostics function's return value whole and
/// unredacted, and the integration's flows store a secret-like key (or no flow
/// was found to tell).
pub fn diagnostics_leak<'t>(ctx: &FileContext<'t>, node: Node<'t>, _: &[&str]) -> bool {
    let Some(function) = in_diagnostics_function(ctx, node) else {
        return false;
    };
    flow::entry_mapping_may_hold_secret(ctx, node) && reaches_return(ctx, node, function, 0)
}

/// Does the value of `node` reach a `return` of `function` whole, unredacted?
fn reaches_return<'t>(
    ctx: &FileContext<'t>,
    node: Node<'t>,
    function: Node<'t>,
    hops: usize,
) -> bool {
    if !ctx.spend() {
        return false;
    }
    let mut current = node;
    while let Some(parent) = ctx.parent(current) {
        match parent.kind_name() {
            "return_statement" => return true,
            "pair" => {
                if parent.field("key").is_some_and(|k| k.id() == current.id()) {
                    return false;
                }
            }
            "dictionary"
            | "dictionary_splat"
            | "list"
            | "tuple"
            | "set"
            | "list_splat"
            | "parenthesized_expression"
            | "conditional_expression"
            | "expression_list"
            | "keyword_argument"
            | "await" => {}
            "argument_list" => {
                let Some(call) = ctx.parent(parent).filter(|c| c.kind_name() == "call") else {
                    return false;
                };
                if is_redaction(ctx, call) {
                    return false;
                }
                let name = callee_name(ctx, call);
                if is_copy(name) {
                    current = call;
                    continue;
                }
                // `diag.update(entry.data)`: the mapping now flows with `diag`.
                if name == "update"
                    && let Some(target) = call.field("function").and_then(|f| f.field("object"))
                {
                    return target_reaches_return(ctx, target, function, hops);
                }
                return false;
            }
            "assignment" => {
                let is_right = parent
                    .field("right")
                    .is_some_and(|r| r.id() == current.id());
                let Some(left) = parent.field("left").filter(|_| is_right) else {
                    return false;
                };
                return target_reaches_return(ctx, left, function, hops);
            }
            _ => return false,
        }
        current = parent;
    }
    false
}

/// The value now held by `target` (`data`, or `diag["entry"]`, `diag.x`): does it
/// reach a return? Follows the uses of the base name in the function.
fn target_reaches_return<'t>(
    ctx: &FileContext<'t>,
    target: Node<'t>,
    function: Node<'t>,
    hops: usize,
) -> bool {
    if hops >= MAX_HOPS {
        return false;
    }
    let mut base = target;
    while matches!(base.kind_name(), "subscript" | "attribute") {
        let field = if base.kind_name() == "subscript" {
            "value"
        } else {
            "object"
        };
        match base.field(field) {
            Some(inner) => base = inner,
            None => return false,
        }
    }
    if base.kind_name() != "identifier" {
        return false;
    }
    let name = ctx.text(base);
    if redacted_by_hand(ctx, function, name) {
        return false;
    }
    let mut reaches = false;
    flow::visit(function, &mut |node| {
        if reaches
            || node.kind_name() != "identifier"
            || ctx.text(node) != name
            || node.start_byte() <= target.start_byte()
            || is_assignment_target(ctx, node)
        {
            return;
        }
        reaches = reaches_return(ctx, node, function, hops + 1);
    });
    reaches
}

/// Is the identifier the whole left side of an assignment (a rebinding, not a use)?
fn is_assignment_target<'t>(ctx: &FileContext<'t>, node: Node<'t>) -> bool {
    ctx.parent(node).is_some_and(|p| {
        matches!(p.kind_name(), "assignment" | "augmented_assignment")
            && p.field("left").is_some_and(|l| l.id() == node.id())
    })
}

/// `data[CONF_PASSWORD] = "**REDACTED**"` or `data.pop(CONF_TOKEN)` (also under
/// each key of a literal list: `for k in ("token",): data[k] = "***"`): the
/// function masks the secret keys of `name` itself, every secret key the
/// integration's flows store (any secret key when the flows cannot tell), or
/// assigns it a redaction's result.
fn redacted_by_hand<'t>(ctx: &FileContext<'t>, function: Node<'t>, name: &str) -> bool {
    let mut redaction = false;
    let mut keys: Vec<Node<'t>> = Vec::new();
    flow::visit(function, &mut |node| {
        // entry_dict["data"] = async_redact_data(entry_dict["data"], TO_REDACT)
        if node.kind_name() == "assignment"
            && node.field("left").is_some_and(|l| {
                l.kind_name() == "subscript"
                    && l.field("value").is_some_and(|v| ctx.text(v) == name)
            })
            && node
                .field("right")
                .is_some_and(|r| r.kind_name() == "call" && is_redaction(ctx, r))
        {
            redaction = true;
        }
        let key = match node.kind_name() {
            "assignment" => node
                .field("left")
                .filter(|l| l.kind_name() == "subscript")
                .filter(|l| l.field("value").is_some_and(|v| ctx.text(v) == name))
                .and_then(|l| l.field("subscript")),
            "call" if matches!(callee_name(ctx, node), "pop") => node
                .field("function")
                .and_then(|f| f.field("object"))
                .filter(|o| ctx.text(*o) == name)
                .and_then(|_| flow::positional_args(node).first().copied()),
            _ => None,
        };
        keys.extend(key);
    });
    if redaction {
        return true;
    }
    let mut masked = BTreeSet::new();
    for key in keys {
        masked.extend(flow::key_name(ctx, key));
        masked.extend(
            crate::model::values::loop_elements(ctx, key)
                .into_iter()
                .filter_map(|element| flow::key_name(ctx, element)),
        );
    }
    let facts = ctx.facts();
    let mut stored = facts
        .stored_keys
        .iter()
        .filter(|key| facts.is_secret_key(key, ctx.vocabulary))
        .peekable();
    if stored.peek().is_none() {
        return masked.iter().any(|key| ctx.vocabulary.is_secret_like(key));
    }
    stored.all(|key| covers(&masked, key))
}

/// For the key set given to a redaction call, `async_redact_data(data, KEYS)`:
/// the call and the data it redacts.
fn redaction_of<'t>(ctx: &FileContext<'t>, keys: Node<'t>) -> Option<(Node<'t>, Node<'t>)> {
    let call = ctx
        .parent(keys)
        .filter(|p| p.kind_name() == "argument_list")
        .and_then(|p| ctx.parent(p))?;
    let data = flow::positional_args(call).first().copied()?;
    (data.id() != keys.id()).then_some((call, data))
}

/// Check `redaction-misses-stored-secret`: the key set given to
/// `async_redact_data(entry-derived data, KEYS)` lacks a secret-like key that the
/// integration's flows certainly store. Unresolvable sets are not reported.
pub fn redaction_misses_stored_secret<'t>(
    ctx: &FileContext<'t>,
    keys: Node<'t>,
    _: &[&str],
) -> bool {
    let Some((_, data)) = redaction_of(ctx, keys) else {
        return false;
    };
    let mut held = BTreeSet::new();
    entry_mappings_held(ctx, data, 0, &mut held);
    if held.is_empty() {
        return false;
    }
    let Some(redacted) = integration::key_set_of_name(ctx, keys) else {
        return false;
    };
    let facts = ctx.facts();
    // Options alone hold only what options flows store.
    let stored = if held.iter().all(|m| m == "options") {
        &facts.stored_option_keys
    } else {
        &facts.stored_keys
    };
    stored
        .iter()
        .filter(|key| facts.is_secret_key(key, ctx.vocabulary))
        .any(|key| !covers(&redacted, key))
}

/// Check `redaction-misses-dump-secrets`: `async_redact_data(dumped, KEYS)`
/// in a diagnostics function, where `dumped` is an object dumped whole (its
/// debug data, `vars(obj)`, a login response) and KEYS holds no key beyond
/// those the integration's flows store: such a set was written for the entry,
/// while the object keeps its own tokens under its own names. (A set naming any
/// other field shows its author read the object, and is trusted.)
pub fn redaction_misses_dump_secrets<'t>(
    ctx: &FileContext<'t>,
    keys: Node<'t>,
    _: &[&str],
) -> bool {
    let Some((call, dumped)) = redaction_of(ctx, keys) else {
        return false;
    };
    if in_diagnostics_function(ctx, call).is_none() {
        return false;
    }
    let Some(redacted) = integration::key_set_of_name(ctx, keys) else {
        return false;
    };
    let facts = ctx.facts();
    let beyond_entry = redacted.iter().any(|key| !facts.stored_keys.contains(key));
    !beyond_entry && carries(ctx, dumped, Label::Dump)
}

/// Does the redaction set cover a stored key? The OAuth2 `token` is a mapping
/// whose `access_token`/`refresh_token` may be redacted instead.
fn covers(redacted: &BTreeSet<String>, key: &str) -> bool {
    redacted.contains(key) || (key == "token" && redacted.contains("access_token"))
}

/// Which entry mappings (`data`, `options`, `as_dict`) the expression holds whole:
/// itself, a copy, a dictionary value or spread, an element, `x["data"]` of one,
/// or a local assigned one.
fn entry_mappings_held<'t>(
    ctx: &FileContext<'t>,
    node: Node<'t>,
    depth: usize,
    out: &mut BTreeSet<String>,
) {
    if depth > MAX_HOPS {
        return;
    }
    let next = depth + 1;
    if is_entry_mapping(ctx, node) {
        let name = match node.kind_name() {
            "call" => "as_dict",
            _ => node.field("attribute").map_or("data", |a| ctx.text(a)),
        };
        out.insert(name.to_string());
        return;
    }
    let mut cursor = node.walk();
    match node.kind_name() {
        "call" if is_copy(callee_name(ctx, node)) => {
            for arg in flow::positional_args(node) {
                entry_mappings_held(ctx, arg, next, out);
            }
        }
        "dictionary" => {
            for child in node.named_children(&mut cursor) {
                let inner = match child.kind_name() {
                    "pair" => child.field("value"),
                    "dictionary_splat" => child.named_child(0),
                    _ => None,
                };
                if let Some(inner) = inner {
                    entry_mappings_held(ctx, inner, next, out);
                }
            }
        }
        "list" | "tuple" | "parenthesized_expression" => {
            for child in node.named_children(&mut cursor) {
                entry_mappings_held(ctx, child, next, out);
            }
        }
        "subscript" => {
            if let Some(value) = node.field("value") {
                entry_mappings_held(ctx, value, next, out);
            }
        }
        "identifier" if enclosing_function(ctx, node).is_some() => {
            for value in flow::assigned_values(ctx, node) {
                entry_mappings_held(ctx, value, next, out);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::test_support::Snippet;

    const SOURCE: &str = r#"
from homeassistant.components.diagnostics import async_redact_data
from homeassistant.const import CONF_PASSWORD

TO_REDACT = {CONF_PASSWORD}

async def async_get_config_entry_diagnostics(hass, entry):
    data = entry.as_dict()
    safe = async_redact_data(entry.data, TO_REDACT)
    diag = {"host": entry.data["host"]}
    diag["entry"] = dict(entry.options)
    copied = {**entry.data}
    copied[CONF_PASSWORD] = "**REDACTED**"
    return {"data": async_redact_data(data, TO_REDACT), "diag": diag, "copied": copied, "safe": safe}
"#;

    #[test]
    fn entry_mappings_are_followed_to_the_return() {
        let snippet = Snippet::new(SOURCE);
        let ctx = snippet.ctx();
        let mut verdicts = Vec::new();
        flow::visit(snippet.root(), &mut |n| {
            if is_entry_mapping(&ctx, n) {
                verdicts.push((
                    n.start_byte(),
                    ctx.text(n).to_string(),
                    diagnostics_leak(&ctx, n, &[]),
                ));
            }
        });
        verdicts.sort();
        let verdicts: Vec<(String, bool)> = verdicts.into_iter().map(|(_, t, v)| (t, v)).collect();
        assert_eq!(
            verdicts,
            [
                ("entry.as_dict()".to_string(), false),
                ("entry.data".to_string(), false),
                ("entry.data".to_string(), false),
                ("entry.options".to_string(), true),
                ("entry.data".to_string(), false),
            ]
        );
    }

    #[test]
    fn a_redaction_set_missing_a_stored_secret_is_found() {
        let source = r#"
from homeassistant.config_entries import ConfigFlow
from homeassistant.const import CONF_API_KEY, CONF_HOST, CONF_PASSWORD

TO_REDACT = {CONF_PASSWORD}
FULL = [CONF_PASSWORD, CONF_API_KEY]

class Flow(ConfigFlow, domain="demo"):
    async def async_step_user(self, user_input=None):
        return self.async_create_entry(title="x", data={CONF_HOST: 1, CONF_API_KEY: 2})

async def async_get_config_entry_diagnostics(hass, entry):
    return async_redact_data(entry.as_dict(), TO_REDACT), async_redact_data(entry.data, FULL), async_redact_data(hass.data, TO_REDACT)
"#;
        let snippet = Snippet::new(source);
        let ctx = snippet.ctx();
        let mut verdicts = Vec::new();
        flow::visit(snippet.root(), &mut |n| {
            if n.kind_name() == "call" && callee_name(&ctx, n) == "async_redact_data" {
                let keys = flow::positional_args(n)[1];
                verdicts.push((
                    n.start_byte(),
                    redaction_misses_stored_secret(&ctx, keys, &[]),
                ));
            }
        });
        verdicts.sort();
        let verdicts: Vec<bool> = verdicts.into_iter().map(|(_, v)| v).collect();
        assert_eq!(verdicts, [true, false, false]);
    }

    /// The first `async_redact_data` of `source`: does its set miss a stored secret?
    fn first_redaction_misses(source: &str) -> bool {
        let snippet = Snippet::new(source);
        let ctx = snippet.ctx();
        let mut verdict = None;
        flow::visit(snippet.root(), &mut |n| {
            if verdict.is_none()
                && n.kind_name() == "call"
                && callee_name(&ctx, n) == "async_redact_data"
            {
                let keys = flow::positional_args(n)[1];
                verdict = Some(redaction_misses_stored_secret(&ctx, keys, &[]));
            }
        });
        verdict.expect("the snippet redacts")
    }

    #[test]
    fn a_key_is_secret_by_the_value_stored_under_it() {
        // `refresh` names no secret, but the flow stores a refresh token under it.
        let flow = r#"
from homeassistant.config_entries import ConfigFlow
CONF_REFRESH = "refresh"
TO_REDACT = {"password", "token"}

class Flow(ConfigFlow, domain="demo"):
    async def async_step_user(self, user_input=None):
        self.data = {}
        self.data[CONF_REFRESH] = STORED
        return self.async_create_entry(title="x", data=self.data)

async def async_get_config_entry_diagnostics(hass, entry):
    return async_redact_data(entry.data, TO_REDACT)
"#;
        assert!(first_redaction_misses(
            &flow.replace("STORED", "api.refresh_token")
        ));
        // The same key holding a number of minutes is no secret.
        assert!(!first_redaction_misses(
            &flow.replace("STORED", "user_input[\"minutes\"]")
        ));
    }
}
