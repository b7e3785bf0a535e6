//! Deserialization: is a loader reading the module's own state back?

use tree_sitter::Node;

use super::{FileContext, flow};
use crate::model::syntax::NodeExt;

/// Check `own-state-file`: a file loader (`pickle.load(fh)`, `dill.load`,
/// `marshal.load`) reads a file opened here with `open(...)`, and the module
/// itself writes that format (`pickle.dump(...)`): the integration's own state,
/// read back from Home Assistant's disk, not bytes from a device, a download or
/// a user. Whoever can replace that file can already change the integration's
/// code next to it.
pub fn reads_own_state_file<'t>(ctx: &FileContext<'t>, call: Node<'t>, _: &[&str]) -> bool {
    let Some(name) = call.field("function").and_then(|f| ctx.qualified_name(f)) else {
        return false;
    };
    let Some(module) = name.strip_suffix(".load") else {
        return false;
    };
    let Some(file) = flow::positional_args(call).first().copied() else {
        return false;
    };
    opened_here(ctx, file) && writes_format(ctx, module)
}

/// Is `file` an `open(...)` call, or a name bound to one by `with open(...) as
/// file` or `file = open(...)` in the same function?
fn opened_here<'t>(ctx: &FileContext<'t>, file: Node<'t>) -> bool {
    if is_open_call(ctx, file) {
        return true;
    }
    if file.kind_name() != "identifier" {
        return false;
    }
    let name = ctx.text(file);
    let bound_by_with = ctx
        .ancestors(file)
        .take_while(|n| !matches!(n.kind_name(), "function_definition" | "lambda"))
        .filter(|n| n.kind_name() == "with_statement")
        .any(|with| {
            let mut found = false;
            flow::visit(with, &mut |item| {
                if item.kind_name() == "as_pattern"
                    && let (Some(value), Some(alias)) = (item.named_child(0), item.field("alias"))
                    && ctx.text(alias) == name
                    && is_open_call(ctx, value)
                {
                    found = true;
                }
            });
            found
        });
    bound_by_with
        || crate::model::values::reaching(ctx, file)
            .iter()
            .any(|a| is_open_call(ctx, a.value))
}

fn is_open_call<'t>(ctx: &FileContext<'t>, node: Node<'t>) -> bool {
    node.kind_name() == "call" && matches!(flow::callee_name(ctx, node), "open")
}

/// Does the module write that format to a file, `MODULE.dump(obj, fh)`, anywhere?
/// (`dumps` makes bytes that may go anywhere.)
fn writes_format<'t>(ctx: &FileContext<'t>, module: &str) -> bool {
    if !ctx.contains("dump") {
        return false;
    }
    let mut found = false;
    flow::visit(ctx.tree.root_node(), &mut |node| {
        if !found
            && node.kind_name() == "call"
            && let Some(name) = node.field("function").and_then(|f| ctx.qualified_name(f))
            && name
                .strip_prefix(module)
                .is_some_and(|rest| rest == ".dump")
        {
            found = true;
        }
    });
    found
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::test_support::passes;

    fn own(source: &str) -> bool {
        passes(reads_own_state_file, source, "call", "pickle.load(fh)", &[])
    }

    #[test]
    fn state_the_module_pickles_itself_is_its_own() {
        assert!(own(
            "import pickle\ndef save(o, p):\n    with open(p, 'wb') as out:\n        pickle.dump(o, out)\n\
             def load(p):\n    with open(p, 'rb') as fh:\n        return pickle.load(fh)\n"
        ));
        assert!(own(
            "import pickle\ndef load(p):\n    fh = open(p, 'rb')\n    return pickle.load(fh)\n\
             def save(o, p):\n    pickle.dump(o, open(p, 'wb'))\n"
        ));
    }

    #[test]
    fn other_pickles_are_not() {
        // The module never writes that format: the file comes from elsewhere.
        assert!(!own(
            "import pickle\ndef load(p):\n    with open(p, 'rb') as fh:\n        return pickle.load(fh)\n"
        ));
        // Not a file opened here: a response body, a socket.
        assert!(!own(
            "import pickle\ndef load(resp):\n    fh = resp.raw\n    return pickle.load(fh)\n\
             def save(o, out):\n    pickle.dump(o, out)\n"
        ));
        // Bytes made for elsewhere; `json.dump` is another format.
        assert!(!own(
            "import pickle\ndef load(p):\n    with open(p, 'rb') as fh:\n        return pickle.load(fh)\n\
             def send(o):\n    return pickle.dumps(o)\n"
        ));
        assert!(!own(
            "import pickle, json\ndef load(p):\n    with open(p, 'rb') as fh:\n        return pickle.load(fh)\n\
             def save(o, out):\n    json.dump(o, out)\n"
        ));
    }
}
