//! Deserialization: is a loader reading the module's own state back?

use tree_sitter::Node;

use super::{FileContext, flow};
use crate::model::syntax::NodeExt;

/// Check `own-state-file`: a loader reads a file opened here (`pickle.load(fh)`,
/// `pickle.Unpickler(fh)`, or `pickle.loads(data)` of `data = fh.read()`;
/// `open` or `aiofiles.open`), and the module itself writes that format to a
/// file (`pickle.dump(...)`, a `pickle.Pickler`, `fh.write(pickle.dumps(...))`):
/// the integration's own state, read back from Home Assistant's disk, not bytes
/// from a device, a download or a user. Whoever can replace that file can
/// already change the integration's code next to it.
pub fn reads_own_state_file<'t>(ctx: &FileContext<'t>, call: Node<'t>, _: &[&str]) -> bool {
    let Some(name) = call.field("function").and_then(|f| ctx.qualified_name(f)) else {
        return false;
    };
    let Some((module, loader)) = name.rsplit_once('.') else {
        return false;
    };
    let Some(argument) = flow::positional_args(call).first().copied() else {
        return false;
    };
    let from_file = match loader {
        "load" | "Unpickler" => opened_here(ctx, argument),
        "loads" => read_from_file(ctx, argument),
        _ => false,
    };
    from_file && writes_format(ctx, module)
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

/// Are these bytes `fh.read()` (awaited or not) of a file opened here, or a
/// name bound to that?
fn read_from_file<'t>(ctx: &FileContext<'t>, data: Node<'t>) -> bool {
    let read = |value: Node<'t>| {
        Some(value.awaited())
            .filter(|c| c.kind_name() == "call")
            .and_then(|c| c.field("function"))
            .filter(|f| f.kind_name() == "attribute")
            .is_some_and(|f| {
                f.field("attribute").is_some_and(|a| ctx.text(a) == "read")
                    && f.field("object").is_some_and(|o| opened_here(ctx, o))
            })
    };
    read(data)
        || (data.kind_name() == "identifier"
            && crate::model::values::reaching(ctx, data)
                .iter()
                .any(|a| read(a.value)))
}

fn is_open_call<'t>(ctx: &FileContext<'t>, node: Node<'t>) -> bool {
    node.kind_name() == "call" && matches!(flow::callee_name(ctx, node), "open")
}

/// Does the module write that format to a file anywhere: `MODULE.dump(obj,
/// fh)`, a `MODULE.Pickler(fh)`, or `fh.write(MODULE.dumps(obj))`? (Other
/// `dumps` make bytes that may go anywhere.)
fn writes_format<'t>(ctx: &FileContext<'t>, module: &str) -> bool {
    if !ctx.contains("dump") && !ctx.contains("Pickler") {
        return false;
    }
    let mut found = false;
    flow::visit(ctx.tree.root_node(), &mut |node| {
        if found || node.kind_name() != "call" {
            return;
        }
        let Some(writer) = node
            .field("function")
            .and_then(|f| ctx.qualified_name(f))
            .and_then(|name| name.strip_prefix(module).map(str::to_string))
        else {
            return;
        };
        found = match writer.as_str() {
            ".dump" | ".Pickler" => true,
            ".dumps" => written_to_file(ctx, node),
            _ => false,
        };
    });
    found
}

/// Is the call's value the argument of a `.write(...)`?
fn written_to_file<'t>(ctx: &FileContext<'t>, value: Node<'t>) -> bool {
    ctx.parent(value)
        .filter(|p| p.kind_name() == "argument_list")
        .and_then(|arguments| ctx.parent(arguments))
        .and_then(|call| call.field("function"))
        .filter(|f| f.kind_name() == "attribute")
        .and_then(|f| f.field("attribute"))
        .is_some_and(|a| ctx.text(a) == "write")
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
        // Bytes read from the file and written with `dumps`, asynchronously.
        assert!(passes(
            reads_own_state_file,
            "import pickle, aiofiles\nasync def save(o, p):\n    async with aiofiles.open(p, 'wb') as f:\n\
             \x20       await f.write(pickle.dumps(o))\n\
             async def load(p):\n    async with aiofiles.open(p, 'rb') as f:\n        data = await f.read()\n\
             \x20       return pickle.loads(data)\n",
            "call",
            "pickle.loads(data)",
            &[]
        ));
        // An unpickler over the file, the state written by a pickler.
        assert!(passes(
            reads_own_state_file,
            "import pickle\ndef load(p):\n    fh = open(p, 'rb')\n    return pickle.Unpickler(fh).load()\n\
             def save(o, p):\n    pickle.Pickler(open(p, 'wb')).dump(o)\n",
            "call",
            "pickle.Unpickler(fh)",
            &[]
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
        // Bytes from a response, even where the module writes pickles too.
        assert!(!passes(
            reads_own_state_file,
            "import pickle\nasync def load(resp):\n    data = await resp.read()\n    return pickle.loads(data)\n\
             def save(o, p):\n    pickle.dump(o, open(p, 'wb'))\n",
            "call",
            "pickle.loads(data)",
            &[]
        ));
        assert!(!own(
            "import pickle, json\ndef load(p):\n    with open(p, 'rb') as fh:\n        return pickle.load(fh)\n\
             def save(o, out):\n    json.dump(o, out)\n"
        ));
    }
}
