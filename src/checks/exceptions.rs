//! Exception text shown to users: `str(err)` in a form error or an abort reason
//! shows library internals (URLs, hosts, stack details) in the UI.

use tree_sitter::Node;

use super::{
    FileContext,
    flow::{self, callee_name},
};
use crate::model::syntax::NodeExt;

/// Exceptions whose text is a translation key by design.
const TRANSLATION_KEY_EXCEPTIONS: &[&str] = &["SchemaFlowError", "Invalid", "MultipleInvalid"];

/// Check `exception-text`: the expression turns a caught exception into text
/// (`str(err)`, `repr(err)`, `f"... {err}"`, `"%s" % err`, `"{}".format(err)`,
/// `err.args[0]`), or is `traceback.format_exc()`. An exception caught as
/// `SchemaFlowError` or `vol.Invalid` carries a translation key and is fine.
pub fn is_exception_text<'t>(ctx: &FileContext<'t>, node: Node<'t>, _: &[&str]) -> bool {
    shows_exception(ctx, node, 0) && !text_already_known(ctx, node)
}

/// Check `shown-error-key`: a form error's key the frontend shows: `base`, a
/// field of a form the step shows, or a key that cannot be read (a name of
/// unknown value) or whose step's forms cannot be found. An error under any
/// other key (`errors["device"]` beside a form of host and port) is shown
/// nowhere.
pub fn is_shown_error_key<'t>(ctx: &FileContext<'t>, key: Node<'t>, _: &[&str]) -> bool {
    let Some(name) = flow::key_name(ctx, key) else {
        return true;
    };
    if name == "base" {
        return true;
    }
    let forms = flow::step_forms(ctx, key);
    forms.is_empty()
        || forms
            .iter()
            .any(|form| flow::schema_fields(ctx, form.schema).contains(&name))
}

/// Is `node` in the body of an `if` that compares the exception's text with
/// a message written in the code (`if str(err) == "temporary_suspension":`,
/// `if "Temporary Suspension" in str(err):`)? Then the text shown is that
/// message, which the code knows, not whatever a library put there.
fn text_already_known<'t>(ctx: &FileContext<'t>, node: Node<'t>) -> bool {
    ctx.guards(node).any(|guard| {
        let condition = guard.condition;
        if !guard.holds || condition.kind_name() != "comparison_operator" {
            return false;
        }
        let mut cursor = condition.walk();
        let operands: Vec<Node> = condition.named_children(&mut cursor).collect();
        let literal = operands
            .iter()
            .any(|o| crate::model::names::string_value(*o, ctx.source).is_some());
        let text_of_exception = operands.iter().any(|&o| {
            o.kind_name() == "call"
                && callee_name(ctx, o) == "str"
                && flow::positional_args(o)
                    .first()
                    .is_some_and(|a| is_caught_exception(ctx, *a))
        });
        literal && text_of_exception
    })
}

fn shows_exception<'t>(ctx: &FileContext<'t>, node: Node<'t>, depth: usize) -> bool {
    if depth > 4 {
        return false;
    }
    let next = depth + 1;
    let mut cursor = node.walk();
    match node.kind_name() {
        "call" => {
            let name = callee_name(ctx, node);
            if matches!(name, "format_exc" | "format_exception") {
                return true;
            }
            let args = flow::positional_args(node);
            match name {
                // str(err), str(err.args): the library's words.
                "str" | "repr" => args.first().is_some_and(|a| {
                    is_caught_exception(ctx, *a) || arguments_of_caught_exception(ctx, *a)
                }),
                "format" => args
                    .iter()
                    .any(|a| shows_exception(ctx, *a, next) || is_caught_exception(ctx, *a)),
                _ => false,
            }
        }
        "string" => node
            .named_children(&mut cursor)
            .filter(|c| c.kind_name() == "interpolation")
            .filter_map(|i| i.field("expression"))
            .any(|e| is_caught_exception(ctx, e) || shows_exception(ctx, e, next)),
        "binary_operator" => match node.field("operator").map(|o| ctx.text(o)) {
            Some("%") => node.field("right").is_some_and(|r| {
                is_caught_exception(ctx, r)
                    || shows_exception(ctx, r, next)
                    || (r.kind_name() == "tuple" && {
                        let mut c = r.walk();
                        r.named_children(&mut c)
                            .any(|e| is_caught_exception(ctx, e))
                    })
            }),
            Some("+") => ["left", "right"]
                .iter()
                .any(|s| node.field(s).is_some_and(|x| shows_exception(ctx, x, next))),
            _ => false,
        },
        // err.args[0]
        "subscript" => node.field("value").is_some_and(|v| {
            v.kind_name() == "attribute"
                && v.field("attribute").is_some_and(|a| ctx.text(a) == "args")
                && v.field("object")
                    .is_some_and(|o| is_caught_exception(ctx, o))
        }),
        "parenthesized_expression" => node
            .named_child(0)
            .is_some_and(|i| shows_exception(ctx, i, next)),
        _ => false,
    }
}

/// `err.args` of a caught exception, or the exception it was raised from
/// (`err.__cause__`: most often a library's, with the library's words, even
/// when `err` itself carries a translation key).
fn arguments_of_caught_exception<'t>(ctx: &FileContext<'t>, node: Node<'t>) -> bool {
    let (Some(attribute), Some(object)) = (node.field("attribute"), node.field("object")) else {
        return false;
    };
    match ctx.text(attribute) {
        "args" => is_caught_exception(ctx, object),
        "__cause__" | "__context__" => caught_exception(ctx, object).is_some(),
        _ => false,
    }
}

/// Is the node the name an enclosing `except ... as name:` binds (to an exception
/// that is not a translation-key carrier)?
fn is_caught_exception<'t>(ctx: &FileContext<'t>, node: Node<'t>) -> bool {
    caught_exception(ctx, node) == Some(true)
}

/// For the name an enclosing `except ... as name:` binds: whether the
/// exception's own text is the library's (`false` for a translation-key
/// carrier). `None` for any other node.
fn caught_exception<'t>(ctx: &FileContext<'t>, node: Node<'t>) -> Option<bool> {
    if node.kind_name() != "identifier" {
        return None;
    }
    let name = ctx.text(node);
    for clause in ctx
        .ancestors(node)
        .filter(|n| n.kind_name() == "except_clause")
    {
        // `except A as err:` parses as `value: (as_pattern A alias: (as_pattern_target err))`;
        // older grammars put the alias in the clause's own `alias` field.
        let mut cursor = clause.walk();
        let values: Vec<Node> = clause
            .children_by_field_name("value", &mut cursor)
            .collect();
        let mut types = Vec::new();
        let mut alias = clause.field("alias");
        for value in values {
            if value.kind_name() == "as_pattern" {
                alias = alias.or_else(|| value.field("alias"));
                types.extend(value.named_child(0));
            } else {
                types.push(value);
            }
        }
        let Some(alias) = alias else {
            continue;
        };
        if ctx.text(alias).trim() != name {
            continue;
        }
        let mut carriers = false;
        for t in types {
            flow::visit(t, &mut |n| {
                let last = match n.kind_name() {
                    "identifier" => ctx.text(n),
                    "attribute" => n.field("attribute").map_or("", |a| ctx.text(a)),
                    _ => "",
                };
                if TRANSLATION_KEY_EXCEPTIONS.contains(&last)
                    || (!last.is_empty() && raised_with_keys_only(ctx, last))
                {
                    carriers = true;
                }
            });
        }
        return Some(!carriers);
    }
    None
}

/// Is the exception class `name` raised in this file, and always with a
/// translation key (`raise CannotConnect("cannot_connect")`)? Then its text is
/// a key by design.
fn raised_with_keys_only<'t>(ctx: &FileContext<'t>, name: &str) -> bool {
    let mut raised = 0;
    let mut with_key = 0;
    flow::visit(ctx.tree.root_node(), &mut |node| {
        if node.kind_name() != "raise_statement" {
            return;
        }
        let Some(call) = node.named_child(0).filter(|c| c.kind_name() == "call") else {
            return;
        };
        if callee_name(ctx, call) != name {
            return;
        }
        raised += 1;
        let is_key = flow::positional_args(call).first().is_some_and(|arg| {
            super::secrets::string_value(*arg, ctx.source).is_some_and(|v| {
                !v.is_empty()
                    && v.chars()
                        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
            })
        });
        if is_key {
            with_key += 1;
        }
    });
    raised > 0 && raised == with_key
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::test_support::Snippet;

    #[test]
    fn exception_text_is_told_from_translation_keys() {
        let source = r#"
def step(self):
    try:
        connect()
    except CannotConnect as err:
        a = str(err)
        b = f"Failed: {err}"
        c = "cannot_connect"
        d = "%s" % err
        e = traceback.format_exc()
        f = str(other)
        j = str(err.__cause__)
    except vol.Invalid as err:
        g = str(err)
    except SchemaFlowError as err:
        h = str(err)
    except KeyCarrier as err:
        i = str(err)

def check():
    raise KeyCarrier("invalid_host")
"#;
        let snippet = Snippet::new(source);
        let ctx = snippet.ctx();
        let mut verdicts = Vec::new();
        flow::visit(snippet.root(), &mut |n| {
            if n.kind_name() == "assignment" {
                let left = ctx.text(n.field("left").unwrap()).to_string();
                let right = n.field("right").unwrap();
                verdicts.push((left, is_exception_text(&ctx, right, &[])));
            }
        });
        verdicts.sort();
        let fired: Vec<&str> = verdicts
            .iter()
            .filter(|v| v.1)
            .map(|v| v.0.as_str())
            .collect();
        assert_eq!(fired, ["a", "b", "d", "e", "j"]);
    }
}
