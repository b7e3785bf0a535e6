//! Was an argument passed to a call?

use tree_sitter::Node;

use super::FileContext;
use crate::model::syntax::NodeExt;

/// Check `argument-given`: the call (or its argument list) passes the keyword
/// named by the first string, or, when a second string gives a 0-based position,
/// that many positional arguments. `None` counts as not given (`timeout=None` is
/// no timeout, `schema=None` is no schema). `*args`/`**kwargs` may carry
/// anything, so they count as given: the check cannot tell, and a rule should not guess.
pub fn argument_given<'t>(ctx: &FileContext<'t>, node: Node<'t>, strings: &[&str]) -> bool {
    let Some(arguments) = argument_list(node) else {
        return false;
    };
    let keyword = strings.first().copied().unwrap_or("");
    let position: Option<usize> = strings.get(1).and_then(|s| s.parse().ok());
    let mut positional = 0;
    let mut cursor = arguments.walk();
    for argument in arguments.named_children(&mut cursor) {
        match argument.kind_name() {
            "keyword_argument" => {
                let name = argument.field("name");
                if name.is_some_and(|n| ctx.text(n) == keyword) {
                    return argument
                        .field("value")
                        .is_some_and(|v| v.kind_name() != "none");
                }
            }
            "list_splat" | "dictionary_splat" => return true,
            "comment" => {}
            _ => {
                if Some(positional) == position {
                    return argument.kind_name() != "none";
                }
                positional += 1;
            }
        }
    }
    false
}

/// Check `argument-at`: the node is the positional argument at the 0-based position
/// the string gives. Comments are not arguments: a query's `.` anchor counts them,
/// so `f(  # why\n    cmd)` would otherwise see the comment first.
pub fn argument_at<'t>(ctx: &FileContext<'t>, node: Node<'t>, strings: &[&str]) -> bool {
    let Some(position) = strings.first().and_then(|s| s.parse::<usize>().ok()) else {
        return false;
    };
    if node.kind_name() == "keyword_argument" || node.kind_name() == "comment" {
        return false;
    }
    let Some(arguments) = ctx
        .parent(node)
        .filter(|p| p.kind_name() == "argument_list")
    else {
        return false;
    };
    // One pass over the arguments, and no further than the position asked for: a
    // query capturing every argument of a call asks once per argument, and
    // counting all the arguments before each would make a call with thousands
    // of them quadratic (as would `prev_named_sibling`, which climbs to the
    // parent at each step).
    let mut cursor = arguments.walk();
    let mut before = 0;
    for argument in arguments.named_children(&mut cursor) {
        if argument.id() == node.id() {
            return before == position;
        }
        if argument.kind_name() != "comment" {
            before += 1;
            if before > position {
                return false;
            }
        }
    }
    false
}

/// Check `keyword-value`: the call (or its argument list) passes the keyword named
/// by the first string with a value written exactly as the second string
/// (`shell` `True`, `schema` `None`). A rule asks this of the argument list it
/// captured once, rather than capturing the keyword as a sibling of another
/// argument: a pattern `(argument_list (_) @a (keyword_argument ...))` keeps one
/// partial match per argument waiting for the keyword, and tree-sitter compares
/// those with each other at every step, which a call with thousands of arguments
/// turns into minutes.
pub fn keyword_value(ctx: &FileContext, node: Node, strings: &[&str]) -> bool {
    let (Some(keyword), Some(value)) = (strings.first(), strings.get(1)) else {
        return false;
    };
    let Some(arguments) = argument_list(node) else {
        return false;
    };
    let mut cursor = arguments.walk();
    arguments
        .named_children(&mut cursor)
        .filter(|argument| argument.kind_name() == "keyword_argument")
        .any(|argument| {
            argument
                .field("name")
                .is_some_and(|n| ctx.text(n) == *keyword)
                && argument
                    .field("value")
                    .is_some_and(|v| ctx.text(v) == *value)
        })
}

/// The positional argument at the 0-based `position` of a call (or of its
/// argument list), comments and keywords not counted; `None` past a
/// `*args`, which may hold it.
pub fn positional_argument(node: Node, position: usize) -> Option<Node> {
    let arguments = argument_list(node)?;
    let mut cursor = arguments.walk();
    let mut positional = 0;
    for argument in arguments.named_children(&mut cursor) {
        match argument.kind_name() {
            "keyword_argument" | "dictionary_splat" | "comment" => {}
            "list_splat" => return None,
            _ if positional == position => return Some(argument),
            _ => positional += 1,
        }
    }
    None
}

/// The keys a `%(name)s` format shows of the mapping `node`, when that mapping
/// is the format's only value (`log("%(id)s for %(user_id)s", record)`): the
/// mapping's other items are never written. `None` for any other argument.
pub fn format_keys_shown<'t>(ctx: &FileContext<'t>, node: Node<'t>) -> Option<Vec<String>> {
    let arguments = ctx
        .parent(node)
        .filter(|p| p.kind_name() == "argument_list")?;
    if positional_argument(arguments, 1).map(|a| a.id()) != Some(node.id())
        || positional_argument(arguments, 2).is_some()
    {
        return None;
    }
    let format = literal_text(ctx, positional_argument(arguments, 0)?)?;
    let keys: Vec<String> = format
        .split("%(")
        .skip(1)
        .filter_map(|rest| rest.split_once(')').map(|(key, _)| key.to_string()))
        .collect();
    (!keys.is_empty()).then_some(keys)
}

/// Is the mapping `node` the only value of a log message without any `%`
/// (`log("options_update_listener", entry.data)`)? Logging formats such a
/// message with the mapping, which it never reads: nothing of it is written.
/// (A value that is not a mapping fails that formatting instead, and logging
/// prints it with the error: not asked here.)
pub fn mapping_never_formatted<'t>(ctx: &FileContext<'t>, node: Node<'t>) -> bool {
    let Some(arguments) = ctx
        .parent(node)
        .filter(|p| p.kind_name() == "argument_list")
    else {
        return false;
    };
    // A logger's method; `print("x", data)` writes every argument.
    let logs = ctx
        .parent(arguments)
        .and_then(|call| call.field("function"))
        .is_some_and(|f| f.kind_name() == "attribute");
    logs && positional_argument(arguments, 1).map(|a| a.id()) == Some(node.id())
        && positional_argument(arguments, 2).is_none()
        && positional_argument(arguments, 0)
            .and_then(|format| literal_text(ctx, format))
            .is_some_and(|format| !format.contains('%'))
}

/// The text of a string literal, of adjacent ones (`"a" "b"`), parenthesized or not.
fn literal_text(ctx: &FileContext, node: Node) -> Option<String> {
    match node.kind_name() {
        "string" => crate::model::names::string_value(node, ctx.source),
        "parenthesized_expression" => literal_text(ctx, node.named_child(0)?),
        "concatenated_string" => {
            let mut cursor = node.walk();
            node.named_children(&mut cursor)
                .map(|part| literal_text(ctx, part))
                .collect()
        }
        _ => None,
    }
}

fn argument_list(node: Node) -> Option<Node> {
    match node.kind_name() {
        "argument_list" => Some(node),
        "call" => node
            .field("arguments")
            .filter(|a| a.kind_name() == "argument_list"),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::test_support::{Snippet, passes};

    fn given(call: &str, strings: &[&str]) -> bool {
        passes(argument_given, &format!("{call}\n"), "call", call, strings)
    }

    #[test]
    fn keywords_count_unless_none() {
        assert!(given("requests.get(url, timeout=10)", &["timeout"]));
        assert!(!given("requests.get(url)", &["timeout"]));
        assert!(!given("requests.get(url, timeout=None)", &["timeout"]));
        assert!(!given("requests.get(url, data=timeout)", &["timeout"]));
    }

    #[test]
    fn positions_count_when_named() {
        assert!(given("urlopen(url, None, 5)", &["timeout", "2"]));
        assert!(!given("urlopen(url, None)", &["timeout", "2"]));
        assert!(!given("register(d, s, f, None)", &["schema", "3"]));
        assert!(given("register(d, s, f, SCHEMA)", &["schema", "3"]));
        // Without a position only the keyword counts.
        assert!(!given("requests.get(url, params, 5)", &["timeout"]));
    }

    #[test]
    fn positions_skip_comments() {
        let snippet = Snippet::new("os.system(  # why\n    cmd, flag)\n");
        let ctx = snippet.ctx();
        let cmd = snippet.find("identifier", "cmd");
        let flag = snippet.find("identifier", "flag");
        let comment = snippet.find("comment", "# why");
        assert!(argument_at(&ctx, cmd, &["0"]));
        assert!(!argument_at(&ctx, cmd, &["1"]));
        assert!(argument_at(&ctx, flag, &["1"]));
        assert!(!argument_at(&ctx, comment, &["0"]));
    }

    #[test]
    fn keyword_values_are_compared_as_written() {
        let value = |call: &str, strings: &[&str]| {
            passes(keyword_value, &format!("{call}\n"), "call", call, strings)
        };
        assert!(value("run(cmd, shell=True)", &["shell", "True"]));
        assert!(value(
            "run(cmd, check=True, shell=True)",
            &["shell", "True"]
        ));
        assert!(!value("run(cmd, shell=False)", &["shell", "True"]));
        assert!(!value("run(cmd, shell=flag)", &["shell", "True"]));
        assert!(!value("run(cmd, True)", &["shell", "True"]));
        assert!(!value("run(cmd, **{'shell': True})", &["shell", "True"]));
        assert!(value(
            "register(h, d, s, f, schema=None)",
            &["schema", "None"]
        ));
        assert!(!value("register(h, d, s, f)", &["schema", "None"]));
        assert!(!value("register(h, d, s, f, schema=None)", &["schema"]));
    }

    #[test]
    fn positions_stop_at_the_one_asked_for() {
        let snippet = Snippet::new("f(a, b, c, d)\n");
        let ctx = snippet.ctx();
        let c = snippet.find("identifier", "c");
        assert!(argument_at(&ctx, c, &["2"]));
        assert!(!argument_at(&ctx, c, &["0"]));
        assert!(!argument_at(&ctx, c, &["3"]));
        assert!(!argument_at(&ctx, c, &["x"]));
    }

    #[test]
    fn splats_may_carry_anything() {
        assert!(given("requests.get(url, **kwargs)", &["timeout"]));
        assert!(given("register(*args)", &["schema", "3"]));
    }
}
