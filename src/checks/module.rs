//! Facts about the module a node sits in.

use tree_sitter::Node;

use super::FileContext;
use crate::model::syntax::NodeExt;

/// Check `module-defines`: the file defines, at its top level, a function or class
/// with one of the names given (`async_get_clientsession` marks Home Assistant's
/// own shared-session helper, which is where a session *should* be created).
pub fn module_defines<'t>(ctx: &FileContext<'t>, _: Node<'t>, names: &[&str]) -> bool {
    let root = ctx.tree.root_node();
    let mut cursor = root.walk();
    root.named_children(&mut cursor).any(|statement| {
        let definition = if statement.kind_name() == "decorated_definition" {
            statement.field("definition")
        } else {
            Some(statement)
        };
        definition
            .filter(|d| matches!(d.kind_name(), "function_definition" | "class_definition"))
            .and_then(|d| d.field("name"))
            .is_some_and(|name| names.contains(&ctx.text(name)))
    })
}

/// Check `in-integration`: the file belongs to an integration (a directory
/// with a `manifest.json` above it), not to Home Assistant's own machinery
/// (its requirements manager installs the declared requirements of auth
/// modules) nor to a file scanned on its own.
pub fn in_integration<'t>(ctx: &FileContext<'t>, _: Node<'t>, _: &[&str]) -> bool {
    ctx.integration
        .as_ref()
        .is_some_and(|facts| facts.root.is_some())
}

/// Check `script-module`: the file runs as a program (`if __name__ == "__main__":`,
/// or at its top level `asyncio.run(...)`, `loop.run_until_complete(...)` or a
/// call of the file's own `main()`): a tool or test script shipped beside an
/// integration, not code Home Assistant runs (an event loop of its own would fail there).
pub fn is_script_module<'t>(ctx: &FileContext<'t>, _: Node<'t>, _: &[&str]) -> bool {
    let root = ctx.tree.root_node();
    let mut cursor = root.walk();
    root.named_children(&mut cursor)
        .any(|statement| is_main_guard(ctx, statement))
        || starts_a_program(ctx)
}

/// `if __name__ == "__main__":`
fn is_main_guard<'t>(ctx: &FileContext<'t>, statement: Node<'t>) -> bool {
    statement.kind_name() == "if_statement"
        && statement.field("condition").is_some_and(|c| {
            let condition: String = ctx.text(c).split_whitespace().collect();
            condition == "__name__==\"__main__\"" || condition == "__name__=='__main__'"
        })
}

/// Check `developer-script`: code Home Assistant never runs: the file's
/// top-level `if __name__ == "__main__":` block, or a whole file that starts a
/// program when it is imported (`asyncio.run(main())`, `main()` at its top
/// level, unguarded): importing it inside Home Assistant's running event loop
/// would fail, so it is a tool run by hand. A file with a main block may also
/// be imported: only the block counts there.
pub fn is_developer_script<'t>(ctx: &FileContext<'t>, node: Node<'t>, _: &[&str]) -> bool {
    let in_main_block = ctx.ancestors(node).any(|ancestor| {
        is_main_guard(ctx, ancestor)
            && ctx
                .parent(ancestor)
                .is_some_and(|p| p.kind_name() == "module")
    });
    in_main_block || starts_a_program(ctx)
}

/// Does the file start a program at its top level, outside any guard?
fn starts_a_program<'t>(ctx: &FileContext<'t>) -> bool {
    let root = ctx.tree.root_node();
    let mut cursor = root.walk();
    root.named_children(&mut cursor).any(|statement| {
        statement.kind_name() == "expression_statement"
            && statement
                .named_child(0)
                .filter(|e| e.kind_name() == "call")
                .and_then(|call| call.field("function"))
                .is_some_and(|function| runs_the_program(ctx, function))
    })
}

/// Is a top-level call of `function` how a program starts?
fn runs_the_program<'t>(ctx: &FileContext<'t>, function: Node<'t>) -> bool {
    match function.kind_name() {
        "identifier" if ctx.text(function) == "main" => {
            module_defines(ctx, ctx.tree.root_node(), &["main"])
        }
        "attribute" => {
            function
                .field("attribute")
                .is_some_and(|a| ctx.text(a) == "run_until_complete")
                || ctx
                    .qualified_name(function)
                    .is_some_and(|name| &*name == "asyncio.run")
        }
        _ => false,
    }
}

/// Check `lua-runtime`: the expression holds an embedded Lua interpreter made
/// by lupa (`lupa.LuaRuntime()`, `lupa.lua51.LuaRuntime()`).
pub fn is_lua_runtime<'t>(ctx: &FileContext<'t>, node: Node<'t>, _: &[&str]) -> bool {
    crate::model::values::made_by(ctx, node, &|name| {
        name.starts_with("lupa.") && name.ends_with(".LuaRuntime")
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::test_support::Snippet;

    fn defines(source: &str, names: &[&str]) -> bool {
        let snippet = Snippet::new(source);
        module_defines(&snippet.ctx(), snippet.root(), names)
    }

    fn script(source: &str) -> bool {
        let snippet = Snippet::new(source);
        is_script_module(&snippet.ctx(), snippet.root(), &[])
    }

    #[test]
    fn scripts_test_their_name() {
        assert!(script(
            "def main():\n    pass\n\nif __name__ == \"__main__\":\n    main()\n"
        ));
        assert!(script("if __name__=='__main__':\n    main()\n"));
        assert!(script(
            "import asyncio\nasync def main():\n    pass\nasyncio.run(main())\n"
        ));
        assert!(script(
            "import asyncio\nasync def main():\n    pass\nLOOP = asyncio.get_event_loop()\nLOOP.run_until_complete(main())\n"
        ));
        assert!(script("def main():\n    pass\n\nmain()\n"));
        assert!(!script("main()\n"), "a main defined elsewhere");
        assert!(!script(
            "import asyncio\ndef f():\n    asyncio.run(main())\n"
        ));
        assert!(!script(
            "def f():\n    if __name__ == '__main__':\n        pass\n"
        ));
        assert!(!script("if DEBUG:\n    pass\n"));
    }

    #[test]
    fn developer_scripts_are_main_blocks_and_files_that_start_a_program() {
        let tool = "import asyncio, requests\nasync def main():\n    requests.get(URL)\nasyncio.run(main())\n";
        let module = "import requests\ndef f():\n    requests.get(URL)\nif __name__ == '__main__':\n    requests.post(URL)\n";
        let verdict = |source: &str, call: &str| {
            let snippet = Snippet::new(source);
            let node = snippet.find_starting("call", call);
            is_developer_script(&snippet.ctx(), node, &[])
        };
        // Starting a loop on import: never imported by Home Assistant.
        assert!(verdict(tool, "requests.get"));
        // A module's main block; not the rest of it, which may be imported.
        assert!(verdict(module, "requests.post"));
        assert!(!verdict(module, "requests.get"));
        assert!(!verdict(
            "import requests\nrequests.get(URL)\n",
            "requests.get"
        ));
    }

    #[test]
    fn top_level_definitions_count() {
        let source = "@callback\ndef async_get_clientsession(hass):\n    pass\nclass Api:\n    def get_async_client(self):\n        pass\n";
        assert!(defines(source, &["async_get_clientsession"]));
        assert!(defines(source, &["Api", "other"]));
        // A method is not a module-level definition.
        assert!(!defines(source, &["get_async_client"]));
        assert!(!defines("x = 1\n", &["async_get_clientsession"]));
    }
}
