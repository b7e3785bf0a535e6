//! Names that say a value is a secret, read with the shared vocabulary
//! (`rules/secrets.toml`) and the file's own words.

use std::sync::LazyLock;

use regex::Regex;
use tree_sitter::Node;

use super::{FileContext, text};
use crate::model::syntax::NodeExt;

/// The name a node stands for: an identifier, the last part of an attribute,
/// a string's value, a keyword argument's or a dictionary pair's key.
pub fn bound_name(node: Node, source: &[u8]) -> Option<String> {
    match node.kind_name() {
        "identifier" => Some(text(node, source).to_string()),
        "attribute" => node.field("attribute").map(|a| text(a, source).to_string()),
        "string" => string_value(node, source),
        "keyword_argument" | "default_parameter" | "typed_default_parameter" => {
            bound_name(node.field("name")?, source)
        }
        "pair" => bound_name(node.field("key")?, source),
        "subscript" => bound_name(node.field("subscript")?, source),
        _ => None,
    }
}

/// Where `source` holds `name` as a whole name, not inside a longer one. A
/// byte beyond ASCII next to it may be part of a name too, so it does not
/// count as a boundary.
pub fn whole_name_positions<'s>(
    source: &'s [u8],
    name: &'s str,
) -> impl Iterator<Item = usize> + 's {
    let part_of_name = |b: u8| b.is_ascii_alphanumeric() || b == b'_' || !b.is_ascii();
    memchr::memmem::find_iter(source, name.as_bytes()).filter(move |&at| {
        let end = at + name.len();
        (at == 0 || !part_of_name(source[at - 1]))
            && source.get(end).is_none_or(|&b| !part_of_name(b))
    })
}

/// The value of a string literal without interpolation, or `None`.
pub fn string_value(node: Node, source: &[u8]) -> Option<String> {
    if node.kind_name() != "string" {
        return None;
    }
    let mut value = String::new();
    let mut cursor = node.walk();
    for child in node.named_children(&mut cursor) {
        match child.kind_name() {
            "string_content" | "escape_sequence" => value.push_str(text(child, source)),
            "interpolation" => return None,
            _ => {}
        }
    }
    Some(value)
}

/// Does an exception's name say the credentials were refused (RULES.md,
/// HAS601)? `ConfigEntryAuthFailed` is the right answer itself, and the
/// built-in `PermissionError` is a file-system error.
pub fn is_auth_failure_name(name: &str) -> bool {
    static AUTH_EXCEPTION: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(
            r"(?i)auth|unauthori[sz]ed|forbidden|credential|login|permission|token\w*(invalid|expired)|(invalid|expired)\w*token",
        )
        .expect("pattern compiles")
    });
    !matches!(name, "ConfigEntryAuthFailed" | "PermissionError") && AUTH_EXCEPTION.is_match(name)
}

/// Constants such as `CONF_PASSWORD` and `ATTR_TOKEN` hold key names, not secrets.
pub fn is_constant_name(name: &str) -> bool {
    let name = name.trim_start_matches('_');
    // A unit after a number stays lowercase: `TOKEN_401s_BEFORE_REAUTH`.
    let mut previous = '_';
    !name.is_empty()
        && name.chars().all(|c| {
            let capital = c.is_ascii_uppercase()
                || c.is_ascii_digit()
                || c == '_'
                || (c.is_ascii_lowercase() && previous.is_ascii_digit());
            previous = c;
            capital
        })
}

/// Is `name` secret-like in this file? A name that is secret-like only through
/// an ambiguous word (`pin`, `session_id`) is not, in a file that uses the
/// word's other meaning (a GPIO pin, a stream session); nor one secret-like
/// only through a word that is a secret only where a login is (`session_id`),
/// in a file that never speaks of one.
pub fn secret_like<'t>(ctx: &FileContext<'t>, name: &str) -> bool {
    if !ctx.vocabulary.is_secret_like(name) {
        return false;
    }
    let harmless = ctx
        .vocabulary
        .ambiguity(name)
        .is_some_and(|context| context.iter().any(|word| ctx.mentions(word)));
    let unrequired = ctx
        .vocabulary
        .requirement(name)
        .is_some_and(|context| !context.iter().any(|word| ctx.mentions(word)));
    !harmless && !unrequired
}

/// A call of a logger's method: `_LOGGER.debug(...)`, `self.log.error(...)`,
/// `logging.warning(...)`.
pub fn is_logger_call<'t>(ctx: &FileContext<'t>, call: Node<'t>) -> bool {
    let Some(function) = call
        .field("function")
        .filter(|f| f.kind_name() == "attribute")
    else {
        return false;
    };
    let (Some(logger), Some(method)) = (function.field("object"), function.field("attribute"))
    else {
        return false;
    };
    let logger = ctx.text(logger).to_ascii_lowercase();
    matches!(
        ctx.text(method),
        "debug" | "info" | "warning" | "warn" | "error" | "exception" | "critical"
    ) && (logger.ends_with("logger") || logger.ends_with("log") || logger == "logging")
}

/// The values a `%` operator formats: a tuple's items, or the single value.
pub fn percent_arguments(right: Node) -> Vec<Node> {
    if right.kind_name() == "tuple" {
        let mut cursor = right.walk();
        right
            .named_children(&mut cursor)
            .filter(|c| c.kind_name() != "comment")
            .collect()
    } else {
        vec![right]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::test_support::Snippet;

    #[test]
    fn a_pin_is_a_secret_unless_the_file_speaks_of_hardware_pins() {
        let secret_in = |source: &str| secret_like(&Snippet::new(source).ctx(), "pin");
        assert!(secret_in(
            "# Sets the user's PIN on the lock.\npin = code\n"
        ));
        // An acronym's plural is still the code.
        assert!(secret_in(
            "# Syncs the PINs of all code slots.\npin = code\n"
        ));
        assert!(!secret_in("# Reads the GPIO pins.\npin = 17\n"));
        assert!(!secret_in("if device.pins_enabled:\n    pin = preset\n"));
    }

    #[test]
    fn names_are_found_whole() {
        let source = b"domain = x.main_y\nmy_main2 = 1\nr\xc3\xa9main = 2\n";
        assert_eq!(whole_name_positions(source, "main").count(), 0);
        let source = b"pip.main(args)\nmain\n(main)\n";
        assert_eq!(
            whole_name_positions(source, "main").collect::<Vec<_>>(),
            [4, 15, 21]
        );
    }
}
