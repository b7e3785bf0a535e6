//! Form fields the frontend shows in clear.
//!
//! The frontend masks a plain `str`/`cv.string` field only when its name contains
//! `password`, `secret` or `token`; a `TextSelector` only with
//! `type=TextSelectorType.PASSWORD`, whatever the name.

use tree_sitter::Node;

use super::{
    FileContext,
    flow::{self, callee_name},
};
use crate::model::syntax::NodeExt;

/// Name parts that make the frontend mask a plain text field (lower case, as
/// written: `ha-form-string` compares them case-sensitively).
const MASKED_NAME_PARTS: &[&str] = &["password", "secret", "token"];

/// Check `unmasked-secret-field`: the schema pair (`vol.Required(CONF_API_KEY): str`)
/// has a secret-like key that the form would show in clear.
pub fn is_unmasked_secret_field<'t>(ctx: &FileContext<'t>, pair: Node<'t>, _: &[&str]) -> bool {
    let (key, validator) = match pair.kind_name() {
        // `schema[vol.Optional(CONF_API_KEY)] = str`
        "assignment" => (
            pair.field("left")
                .filter(|left| left.kind_name() == "subscript")
                .and_then(|left| left.field("subscript")),
            pair.field("right"),
        ),
        _ => (pair.field("key"), pair.field("value")),
    };
    let (Some(key), Some(validator)) = (key, validator) else {
        return false;
    };
    let Some(name) = flow::marker_key(ctx, key) else {
        return false;
    };
    if !ctx.vocabulary.is_secret_like(&name) {
        return false;
    }
    // The frontend's test is case-sensitive: a field named `User_Password`
    // is shown in clear.
    let masked_by_name = MASKED_NAME_PARTS.iter().any(|part| name.contains(part));
    match shown_as(ctx, validator, 0) {
        Shown::PlainText => !masked_by_name,
        Shown::TextSelector { password } => !password,
        Shown::Other => false,
    }
}

enum Shown {
    PlainText,
    TextSelector { password: bool },
    Other,
}

fn shown_as<'t>(ctx: &FileContext<'t>, validator: Node<'t>, depth: usize) -> Shown {
    if depth > 3 {
        return Shown::Other;
    }
    match validator.kind_name() {
        "identifier" if ctx.text(validator) == "str" => Shown::PlainText,
        "identifier" => {
            // A module constant such as `TEXT_SELECTOR = TextSelector(...)`.
            let values = flow::assigned_values(ctx, validator);
            match values.first() {
                Some(value) => shown_as(ctx, *value, depth + 1),
                None => Shown::Other,
            }
        }
        "attribute" => {
            let is_string = validator
                .field("attribute")
                .is_some_and(|a| ctx.text(a) == "string")
                && validator
                    .field("object")
                    .is_some_and(|o| matches!(ctx.text(o), "cv" | "config_validation"));
            if is_string {
                Shown::PlainText
            } else {
                Shown::Other
            }
        }
        "call" => match callee_name(ctx, validator) {
            "TextSelector" => Shown::TextSelector {
                password: mentions_password(ctx, validator),
            },
            // selector({"text": {"type": "password"}})
            "selector"
                if ctx.text(validator).contains("\"text\"")
                    || ctx.text(validator).contains("'text'") =>
            {
                Shown::TextSelector {
                    password: mentions_password(ctx, validator),
                }
            }
            "All" | "Coerce" => flow::positional_args(validator)
                .first()
                .map_or(Shown::Other, |first| shown_as(ctx, *first, depth + 1)),
            _ => Shown::Other,
        },
        _ => Shown::Other,
    }
}

/// Does the selector's configuration ask for a password field?
fn mentions_password<'t>(ctx: &FileContext<'t>, selector: Node<'t>) -> bool {
    let mut password = false;
    flow::visit(selector, &mut |n| {
        let word = match n.kind_name() {
            "identifier" => ctx.text(n),
            "string_content" => ctx.text(n),
            _ => "",
        };
        if word.eq_ignore_ascii_case("password") {
            password = true;
        }
    });
    password
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::test_support::Snippet;

    #[test]
    fn plain_text_and_selectors_are_told_apart() {
        let source = r#"
S = {
    vol.Required(CONF_API_KEY): str,
    vol.Required(CONF_PASSWORD): str,
    vol.Required(CONF_ACCESS_TOKEN): cv.string,
    vol.Required("pin"): cv.string,
    vol.Required(CONF_HOST): str,
    vol.Required("client_secret"): TextSelector(),
    vol.Required("api_key"): TextSelector(TextSelectorConfig(type=TextSelectorType.PASSWORD)),
    vol.Optional("passcode"): vol.All(str, vol.Length(min=4)),
    vol.Optional("auth_key"): int,
}
"#;
        let snippet = Snippet::new(source);
        let ctx = snippet.ctx();
        let mut fired = Vec::new();
        flow::visit(snippet.root(), &mut |n| {
            if n.kind_name() == "pair" && is_unmasked_secret_field(&ctx, n, &[]) {
                fired.push((
                    n.start_byte(),
                    flow::marker_key(&ctx, n.field("key").unwrap()).unwrap(),
                ));
            }
        });
        fired.sort();
        let names: Vec<&str> = fired.iter().map(|f| f.1.as_str()).collect();
        assert_eq!(names, ["api_key", "pin", "client_secret", "passcode"]);
    }
}
