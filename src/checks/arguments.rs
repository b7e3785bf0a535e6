//! Was an argument passed to a call?

use tree_sitter::Node;

use super::FileContext;

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
        match argument.kind() {
            "keyword_argument" => {
                let name = argument.child_by_field_name("name");
                if name.is_some_and(|n| ctx.text(n) == keyword) {
                    return argument
                        .child_by_field_name("value")
                        .is_some_and(|v| v.kind() != "none");
                }
            }
            "list_splat" | "dictionary_splat" => return true,
            "comment" => {}
            _ => {
                if Some(positional) == position {
                    return argument.kind() != "none";
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
    if node.kind() == "keyword_argument" || node.kind() == "comment" {
        return false;
    }
    let Some(arguments) = ctx.parent(node).filter(|p| p.kind() == "argument_list") else {
        return false;
    };
    // One pass over the arguments: `prev_named_sibling` climbs to the parent at
    // each step, which a call with thousands of arguments makes quadratic.
    let mut cursor = arguments.walk();
    let before = arguments
        .named_children(&mut cursor)
        .take_while(|argument| argument.id() != node.id())
        .filter(|argument| argument.kind() != "comment")
        .count();
    before == position
}

fn argument_list(node: Node) -> Option<Node> {
    match node.kind() {
        "argument_list" => Some(node),
        "call" => node
            .child_by_field_name("arguments")
            .filter(|a| a.kind() == "argument_list"),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{
        checks::test_support::{find, parse},
        rules::vocabulary::Vocabulary,
    };

    fn given(call: &str, strings: &[&str]) -> bool {
        let source = format!("{call}\n");
        let tree = parse(&source);
        let vocabulary = Vocabulary::default();
        let ctx = FileContext::new(source.as_bytes(), &tree, &vocabulary);
        argument_given(&ctx, find(&tree, &source, "call", call), strings)
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
        let source = "os.system(  # why\n    cmd, flag)\n";
        let tree = parse(source);
        let vocabulary = Vocabulary::default();
        let ctx = FileContext::new(source.as_bytes(), &tree, &vocabulary);
        let cmd = find(&tree, source, "identifier", "cmd");
        let flag = find(&tree, source, "identifier", "flag");
        let comment = find(&tree, source, "comment", "# why");
        assert!(argument_at(&ctx, cmd, &["0"]));
        assert!(!argument_at(&ctx, cmd, &["1"]));
        assert!(argument_at(&ctx, flag, &["1"]));
        assert!(!argument_at(&ctx, comment, &["0"]));
    }

    #[test]
    fn splats_may_carry_anything() {
        assert!(given("requests.get(url, **kwargs)", &["timeout"]));
        assert!(given("register(*args)", &["schema", "3"]));
    }
}
