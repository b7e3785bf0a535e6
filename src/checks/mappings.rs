//! Mappings that hold credentials as a whole: logging one logs every secret in it.

use tree_sitter::Node;

use super::{
    FileContext,
    diagnostics::{entry_may_hold_secret, is_entry_mapping},
    flow::{self, callee_name, enclosing_function},
};

/// How many local assignments are followed.
const MAX_DEPTH: usize = 4;

/// Check `credential-mapping`: the expression is, or formats, a whole mapping that
/// holds credentials: `entry.data`, `entry.options`, `entry.as_dict()`, a request's
/// or session's `headers`, an `auth`/`credentials` object, or a flow step's
/// `user_input` whose form has a secret-like field. Entry mappings count only when
/// the integration's flows store a secret (or no flow is found). Wrapping in
/// `async_redact_data(...)` (any call but `str`/`repr`/`dict`) clears it.
pub fn is_credential_mapping<'t>(ctx: &FileContext<'t>, node: Node<'t>, _: &[&str]) -> bool {
    credential_mapping(ctx, node, 0)
}

fn credential_mapping<'t>(ctx: &FileContext<'t>, node: Node<'t>, depth: usize) -> bool {
    if depth > MAX_DEPTH {
        return false;
    }
    let next = depth + 1;
    let mut cursor = node.walk();
    match node.kind() {
        "attribute" => {
            (is_entry_mapping(ctx, node) && entry_may_hold_secret(ctx))
                || is_request_headers(ctx, node)
                || is_auth_object(ctx, node)
        }
        "call" => {
            if is_entry_mapping(ctx, node) {
                return entry_may_hold_secret(ctx);
            }
            matches!(callee_name(ctx, node), "str" | "repr" | "dict" | "format")
                && flow::positional_args(node)
                    .into_iter()
                    .any(|arg| credential_mapping(ctx, arg, next))
        }
        "identifier" => {
            let name = ctx.text(node);
            if flow::step_input_name(ctx, node) == Some(name) {
                return flow::step_form_has_secret(ctx, node) == Some(true);
            }
            if is_auth_object(ctx, node) {
                return true;
            }
            enclosing_function(ctx, node).is_some()
                && flow::assigned_values(ctx, node)
                    .into_iter()
                    .any(|value| whole_copy_of_mapping(ctx, value, next))
        }
        "string" => node
            .named_children(&mut cursor)
            .filter(|child| child.kind() == "interpolation")
            .filter_map(|i| i.child_by_field_name("expression"))
            .any(|e| credential_mapping(ctx, e, next)),
        "binary_operator" => {
            let operator = node.child_by_field_name("operator").map(|o| ctx.text(o));
            operator == Some("%")
                && node
                    .child_by_field_name("right")
                    .is_some_and(|r| credential_mapping(ctx, r, next))
        }
        "tuple" | "parenthesized_expression" => node
            .named_children(&mut cursor)
            .any(|child| credential_mapping(ctx, child, next)),
        _ => false,
    }
}

/// A local assigned the whole mapping or a copy of it (`data = dict(entry.data)`).
fn whole_copy_of_mapping<'t>(ctx: &FileContext<'t>, value: Node<'t>, depth: usize) -> bool {
    match value.kind() {
        "attribute" | "identifier" => credential_mapping(ctx, value, depth),
        "call" => {
            (is_entry_mapping(ctx, value) && entry_may_hold_secret(ctx))
                || (matches!(callee_name(ctx, value), "dict" | "copy" | "deepcopy")
                    && flow::positional_args(value)
                        .into_iter()
                        .any(|arg| credential_mapping(ctx, arg, depth)))
        }
        "dictionary" => {
            let mut cursor = value.walk();
            value.named_children(&mut cursor).any(|child| {
                child.kind() == "dictionary_splat"
                    && child
                        .named_child(0)
                        .is_some_and(|inner| credential_mapping(ctx, inner, depth))
            })
        }
        _ => false,
    }
}

/// `request.headers`, `self._session.headers`, `client.headers`: the headers a
/// client sends carry its `Authorization`.
fn is_request_headers<'t>(ctx: &FileContext<'t>, node: Node<'t>) -> bool {
    let (Some(object), Some(name)) = (
        node.child_by_field_name("object"),
        node.child_by_field_name("attribute"),
    ) else {
        return false;
    };
    if ctx.text(name) != "headers" {
        return false;
    }
    let holder = match object.kind() {
        "attribute" => object
            .child_by_field_name("attribute")
            .map_or("", |a| ctx.text(a)),
        "identifier" => ctx.text(object),
        _ => "",
    };
    let holder = holder.trim_start_matches('_').to_ascii_lowercase();
    matches!(
        holder.as_str(),
        "request" | "req" | "session" | "client" | "websession" | "http_session"
    ) && !in_webhook_handler(ctx, node)
}

/// A webhook handler (it receives `webhook_id`) gets requests from the service
/// that calls the webhook: their headers carry that service's signature, not a
/// Home Assistant credential, and the secret is the webhook id in the URL.
fn in_webhook_handler<'t>(ctx: &FileContext<'t>, node: Node<'t>) -> bool {
    enclosing_function(ctx, node)
        .and_then(|f| f.child_by_field_name("parameters"))
        .is_some_and(|parameters| {
            let mut cursor = parameters.walk();
            parameters.named_children(&mut cursor).any(|p| {
                let name = match p.kind() {
                    "identifier" => Some(p),
                    _ => p.child_by_field_name("name").or_else(|| p.named_child(0)),
                };
                name.is_some_and(|n| ctx.text(n) == "webhook_id")
            })
        })
}

/// `auth`, `self._auth`, `credentials`, `creds`: an object that holds credentials.
fn is_auth_object<'t>(ctx: &FileContext<'t>, node: Node<'t>) -> bool {
    let name = match node.kind() {
        "identifier" => ctx.text(node),
        "attribute" => node
            .child_by_field_name("attribute")
            .map_or("", |a| ctx.text(a)),
        _ => "",
    };
    matches!(
        name.trim_start_matches('_'),
        "auth" | "credentials" | "creds"
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::test_support::Snippet;

    fn verdict(source: &str, arg: &str) -> bool {
        let snippet = Snippet::new(source);
        let call = snippet.find("expression_statement", &format!("log({arg})"));
        let node = flow::positional_args(call.named_child(0).unwrap())[0];
        is_credential_mapping(&snippet.ctx(), node, &[])
    }

    #[test]
    fn whole_mappings_are_credentials_single_keys_are_not() {
        let source = r#"
def f(entry, request, self):
    data = dict(entry.data)
    log(entry.data)
    log(f"entry {entry.as_dict()}")
    log(data)
    log(request.headers)
    log(self._auth)
    log(entry.data["host"])
    log(async_redact_data(entry.data, TO_REDACT))
    log(response.headers)
    log(entry.title)
"#;
        assert!(verdict(source, "entry.data"));
        assert!(verdict(source, "f\"entry {entry.as_dict()}\""));
        assert!(verdict(source, "data"));
        assert!(verdict(source, "request.headers"));
        assert!(verdict(source, "self._auth"));
        assert!(!verdict(source, "entry.data[\"host\"]"));
        assert!(!verdict(source, "async_redact_data(entry.data, TO_REDACT)"));
        assert!(!verdict(source, "response.headers"));
        assert!(!verdict(source, "entry.title"));
    }

    #[test]
    fn user_input_counts_when_its_form_has_a_secret_field() {
        let source = r#"
from homeassistant.config_entries import ConfigFlow
import voluptuous as vol

class Flow(ConfigFlow, domain="x"):
    async def async_step_user(self, user_input=None):
        log(user_input)
        return self.async_show_form(step_id="user", data_schema=vol.Schema({vol.Required("password"): str}))

    async def async_step_host(self, user_input=None):
        log(user_input)
        return self.async_show_form(step_id="host", data_schema=vol.Schema({vol.Required("host"): str}))
"#;
        let snippet = Snippet::new(source);
        let ctx = snippet.ctx();
        let mut verdicts = Vec::new();
        flow::visit(snippet.root(), &mut |n| {
            if n.kind() == "call" && callee_name(&ctx, n) == "log" {
                let arg = flow::positional_args(n)[0];
                verdicts.push((n.start_byte(), is_credential_mapping(&ctx, arg, &[])));
            }
        });
        verdicts.sort();
        assert_eq!(
            verdicts.iter().map(|v| v.1).collect::<Vec<_>>(),
            [true, false]
        );
    }
}
