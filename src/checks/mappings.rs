//! Mappings that hold credentials as a whole: logging one logs every secret in it.

use tree_sitter::Node;

use super::{
    FileContext,
    arguments::{format_keys_shown, mapping_never_formatted},
};
use crate::model::values::{Label, carries, in_dead_branch, refused_login_answer};

/// Check `credential-mapping`: the expression is, or formats, a whole mapping that
/// holds credentials: `entry.data`, `entry.options`, `entry.as_dict()`, a request's
/// or session's `headers`, an `auth`/`credentials` object, a flow step's
/// `user_input` whose form has a secret-like field, a dict with a secret item
/// (built at once or item by item), a login response, `vars(self)` of an object
/// keeping a secret; through locals, `self.` attributes, copies and merges (the
/// model's value flow). Entry mappings count only when the integration's flows
/// store a secret (or no flow is found). `async_redact_data(...)` clears it, and
/// so does a branch the code switches off (`if LOG_AUTH: ...` with `LOG_AUTH = False`).
pub fn is_credential_mapping<'t>(ctx: &FileContext<'t>, node: Node<'t>, _: &[&str]) -> bool {
    // A `%(name)s` format shows only the keys it names: single values, which
    // are HAS501's to judge.
    format_keys_shown(ctx, node).is_none()
        && !mapping_never_formatted(ctx, node)
        && carries(ctx, node, Label::Mapping)
        && !in_dead_branch(ctx, node)
        && !refused_login_answer(ctx, node)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{
        checks::test_support::Snippet, model::config_flow as flow, model::syntax::NodeExt,
    };

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
            if n.kind_name() == "call" && flow::callee_name(&ctx, n) == "log" {
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
