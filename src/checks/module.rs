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
        .any(|statement| match statement.kind_name() {
            "if_statement" => statement.field("condition").is_some_and(|c| {
                let condition: String = ctx.text(c).split_whitespace().collect();
                condition == "__name__==\"__main__\"" || condition == "__name__=='__main__'"
            }),
            "expression_statement" => statement
                .named_child(0)
                .filter(|e| e.kind_name() == "call")
                .and_then(|call| call.field("function"))
                .is_some_and(|function| runs_the_program(ctx, function)),
            _ => false,
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
    fn top_level_definitions_count() {
        let source = "@callback\ndef async_get_clientsession(hass):\n    pass\nclass Api:\n    def get_async_client(self):\n        pass\n";
        assert!(defines(source, &["async_get_clientsession"]));
        assert!(defines(source, &["Api", "other"]));
        // A method is not a module-level definition.
        assert!(!defines(source, &["get_async_client"]));
        assert!(!defines("x = 1\n", &["async_get_clientsession"]));
    }
}
