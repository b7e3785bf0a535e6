//! Facts about the module a node sits in.

use tree_sitter::Node;

use super::FileContext;
use crate::model::{program, syntax::NodeExt};

/// Check `module-defines`: the file defines, at its top level, a function or class
/// with one of the names given (`async_get_clientsession` marks Home Assistant's
/// own shared-session helper, which is where a session *should* be created).
pub fn module_defines<'t>(ctx: &FileContext<'t>, _: Node<'t>, names: &[&str]) -> bool {
    program::defines_at_top_level(ctx, names)
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
        .any(|statement| program::is_main_guard(ctx, statement))
        || program::starts_a_program(ctx)
}

/// Check `developer-script`: code Home Assistant never runs: the file's
/// top-level `if __name__ == "__main__":` block; a whole file that starts a
/// program when it is imported (`asyncio.run(main())`, `main()` at its top
/// level, unguarded: importing it inside Home Assistant's running event loop
/// would fail); a whole program run by hand: a file that runs something when
/// started (a main block, a `print` or `parse_args()` at its top level) that
/// nothing imports ([`program::run_by_hand`]), or outside any integration. A
/// file with a main block that the integration imports keeps the rest.
pub fn is_developer_script<'t>(ctx: &FileContext<'t>, node: Node<'t>, _: &[&str]) -> bool {
    let in_main_block = ctx.ancestors(node).any(|ancestor| {
        program::is_main_guard(ctx, ancestor)
            && ctx
                .parent(ancestor)
                .is_some_and(|p| p.kind_name() == "module")
    });
    in_main_block || program::starts_a_program(ctx) || is_run_by_hand(ctx)
}

/// Is the whole file a program run by hand (see `developer-script`)?
fn is_run_by_hand(ctx: &FileContext) -> bool {
    let Some(module) = ctx.module() else {
        return false;
    };
    match &ctx.integration {
        Some(facts) if facts.root.is_some() => facts.run_by_hand.contains(module),
        // No integration around it: nothing Home Assistant loads imports it.
        _ => program::runs_as_program(ctx),
    }
}

/// Check `lua-runtime`: the expression holds an embedded Lua interpreter made
/// by lupa (`lupa.LuaRuntime()`, `lupa.lua51.LuaRuntime()`).
pub fn is_lua_runtime<'t>(ctx: &FileContext<'t>, node: Node<'t>, _: &[&str]) -> bool {
    crate::model::values::made_by(ctx, node, &|name| {
        name.starts_with("lupa.") && name.ends_with(".LuaRuntime")
    })
}

/// Check `jinja-environment`: the expression holds a plain Jinja2 environment
/// (`jinja2.Environment()`), whose templates can reach Python's internals;
/// not a sandboxed one (`jinja2.sandbox.SandboxedEnvironment`, Home
/// Assistant's own template engine).
pub fn is_jinja_environment<'t>(ctx: &FileContext<'t>, node: Node<'t>, _: &[&str]) -> bool {
    crate::model::values::made_by(ctx, node, &|name| {
        matches!(
            name,
            "jinja2.Environment" | "jinja2.environment.Environment"
        )
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
    fn a_whole_program_run_by_hand_is_a_developer_script() {
        use crate::model::integration::IntegrationFacts;
        use std::sync::Arc;
        let source = "import requests\ndef f():\n    requests.get(URL)\nif __name__ == '__main__':\n    f()\n";
        let snippet = Snippet::new(source);
        let node = snippet.find_starting("call", "requests.get");
        let in_integration = |run_by_hand: &[&str]| {
            Some(Arc::new(IntegrationFacts {
                root: Some("x".into()),
                run_by_hand: run_by_hand.iter().map(ToString::to_string).collect(),
                ..IntegrationFacts::default()
            }))
        };
        let verdict = |module: Option<&str>, facts| {
            let ctx = snippet.ctx().with_module(module).with_integration(facts);
            is_developer_script(&ctx, node, &[])
        };
        // Outside any integration, a program is run by hand.
        assert!(verdict(Some("get_token"), None));
        // In one, when the integration's facts say so.
        assert!(verdict(Some("get_token"), in_integration(&["get_token"])));
        assert!(!verdict(Some("api"), in_integration(&["get_token"])));
        // A file of no known name: its main block only.
        assert!(!verdict(None, None));
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
