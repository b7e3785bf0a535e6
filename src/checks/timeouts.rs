//! Request timeouts: is a call bounded by a timeout around it, and is an object an
//! HTTP session whose requests need one?

use tree_sitter::Node;

use super::{FileContext, imports::pattern_matches};
use crate::model::syntax::NodeExt;

/// Context managers that bound everything in their body.
const TIMEOUT_BLOCKS: &[&str] = &[
    "asyncio.timeout",
    "asyncio.timeout_at",
    "async_timeout.timeout",
    "async_timeout.timeout_at",
];

/// How many callers up a timeout around a call is looked for.
const CALLER_HOPS: usize = 2;

/// Check `in-timeout-block`: the node is inside `async with
/// asyncio.timeout(...)` / `async_timeout.timeout(...)` / `hass.timeout.async_timeout(...)`,
/// or inside the arguments of `asyncio.wait_for(...)`, in the same function;
/// or its function is only ever called so (every call of it in the file, at
/// least one, up to two callers up). A caller in another file is not seen.
pub fn in_timeout_block<'t>(ctx: &FileContext<'t>, node: Node<'t>, _: &[&str]) -> bool {
    bounded(ctx, node, 0)
}

fn bounded<'t>(ctx: &FileContext<'t>, node: Node<'t>, hops: usize) -> bool {
    let mut current = node;
    while let Some(parent) = ctx.parent(current) {
        match parent.kind_name() {
            "function_definition" => {
                return called_under_timeout(ctx, parent)
                    || (hops < CALLER_HOPS && every_call_bounded(ctx, parent, hops + 1));
            }
            "lambda" | "class_definition" => return false,
            "with_statement" if with_bounds_time(ctx, parent) => return true,
            "call" if is_timeout_call(ctx, parent, &["asyncio.wait_for"]) => return true,
            _ => {}
        }
        current = parent;
    }
    false
}

/// Entity methods Home Assistant itself calls inside `asyncio.timeout(...)`:
/// a camera's still image (`camera.async_get_image` and the camera proxy view
/// both bound it to ten seconds).
const CALLED_UNDER_TIMEOUT: &[&str] = &["async_camera_image"];

fn called_under_timeout<'t>(ctx: &FileContext<'t>, function: Node<'t>) -> bool {
    function
        .field("name")
        .is_some_and(|name| CALLED_UNDER_TIMEOUT.contains(&ctx.text(name)))
        && ctx
            .ancestors(function)
            .any(|n| n.kind_name() == "class_definition")
}

/// Is the function called in the file, and every time inside a timeout?
fn every_call_bounded<'t>(ctx: &FileContext<'t>, function: Node<'t>, hops: usize) -> bool {
    let Some(name) = function.field("name").map(|n| ctx.text(n)) else {
        return false;
    };
    let calls = ctx.bindings().calls(name);
    !calls.is_empty()
        && calls.iter().all(|&call| {
            !function.byte_range().contains(&call.start_byte()) && bounded(ctx, call, hops)
        })
}

/// Does a `with` statement's header open a timeout block?
fn with_bounds_time<'t>(ctx: &FileContext<'t>, with: Node<'t>) -> bool {
    let mut stack = Vec::new();
    let mut cursor = with.walk();
    stack.extend(
        with.named_children(&mut cursor)
            .filter(|c| c.kind_name() == "with_clause"),
    );
    while let Some(node) = stack.pop() {
        if node.kind_name() == "call" && is_timeout_call(ctx, node, TIMEOUT_BLOCKS) {
            return true;
        }
        if node.kind_name() == "block" {
            continue;
        }
        let mut cursor = node.walk();
        stack.extend(node.named_children(&mut cursor));
    }
    false
}

fn is_timeout_call<'t>(ctx: &FileContext<'t>, call: Node<'t>, patterns: &[&str]) -> bool {
    let Some(function) = call.field("function") else {
        return false;
    };
    if let Some(name) = ctx.qualified_name(function)
        && patterns.iter().any(|p| pattern_matches(p, &name))
    {
        return true;
    }
    // Home Assistant's own: `async with hass.timeout.async_timeout(10):`.
    patterns == TIMEOUT_BLOCKS && ctx.text(function).ends_with("timeout.async_timeout")
}

/// Factories whose clients carry a default timeout (httpx: 5 s): not our concern.
const TIMED_CLIENTS: &[&str] = &[
    "httpx.*",
    "homeassistant.helpers.httpx_client.*",
    "get_async_client",
    "create_async_httpx_client",
];

/// Check `http-session`: the expression is an HTTP session object whose requests
/// have no timeout unless given one: a call to Home Assistant's aiohttp session
/// factories or `aiohttp.ClientSession`/`requests.Session`, or a name such as
/// `session`, `websession`, `self._session` not assigned from an httpx client in
/// the same function or class.
pub fn is_http_session<'t>(ctx: &FileContext<'t>, node: Node<'t>, _: &[&str]) -> bool {
    if node.kind_name() == "call" {
        return node.field("function").is_some_and(|f| {
            ctx.qualified_name(f).is_some_and(|name| {
                [
                    "aiohttp.ClientSession",
                    "requests.Session",
                    "requests.session",
                    "homeassistant.helpers.aiohttp_client.async_get_clientsession",
                    "homeassistant.helpers.aiohttp_client.async_create_clientsession",
                    "async_get_clientsession",
                    "async_create_clientsession",
                ]
                .iter()
                .any(|p| pattern_matches(p, &name))
            })
        });
    }
    let spelled = ctx.text(node);
    if !matches!(node.kind_name(), "identifier" | "attribute") {
        return false;
    }
    let last = spelled.rsplit('.').next().unwrap_or(spelled);
    let last = last.trim_start_matches('_').to_ascii_lowercase();
    if !(last == "session" || last.ends_with("_session") || last == "websession") {
        return false;
    }
    !assigned_from_timed_client(ctx, node, spelled)
        && !annotated_otherwise(ctx, node)
        && !wraps_with_timeout(ctx, node)
        && !sessions_carry_timeout(ctx)
        && !database_sessions_only(ctx)
}

/// Is the session-named object one of the integration's own session wrappers
/// that give every request a default timeout (`IntegrationFacts::timeout_wrappers`)?
/// Known by the type its parameter is annotated with (`session: YandexSession`),
/// itself or as the value of a `self.` attribute, or by the class it is made of.
fn wraps_with_timeout<'t>(ctx: &FileContext<'t>, node: Node<'t>) -> bool {
    let facts = ctx.facts();
    // A websocket's handshake (`ws_connect`) seldom goes through the method
    // that sets the default.
    let websocket = ctx
        .parent(node)
        .and_then(|a| a.field("attribute"))
        .is_some_and(|method| ctx.text(method) == "ws_connect");
    if facts.timeout_wrappers.is_empty() || websocket {
        return false;
    }
    let values = match node.kind_name() {
        "attribute" => crate::model::values::slot_values(ctx, node),
        _ => vec![node],
    };
    !values.is_empty()
        && values.into_iter().all(|value| {
            let type_name = match value.kind_name() {
                "call" => value.field("function").map(|f| ctx.text(f)),
                "identifier" => parameter_annotation(ctx, value).map(|t| ctx.text(t)),
                _ => None,
            };
            type_name.is_some_and(|name| {
                facts
                    .timeout_wrappers
                    .contains(name.rsplit('.').next().unwrap_or(name))
            })
        })
}

/// The annotation of the parameter of the enclosing function spelled as the
/// expression is (`session: YandexSession` gives `YandexSession`).
fn parameter_annotation<'t>(ctx: &FileContext<'t>, expression: Node<'t>) -> Option<Node<'t>> {
    let function = crate::model::config_flow::enclosing_function(ctx, expression)?;
    let parameters = function.field("parameters")?;
    let wanted = ctx.text(expression);
    parameters.parts().into_iter().find_map(|p| {
        (matches!(p.kind_name(), "typed_parameter" | "typed_default_parameter")
            && p.field("name")
                .or_else(|| p.named_child(0))
                .is_some_and(|n| ctx.text(n) == wanted))
        .then(|| p.field("type"))
        .flatten()
    })
}

/// Does the file work with a database (SQLAlchemy, Home Assistant's recorder)
/// and with no HTTP client? Its `session.delete(row)` is a database session's.
fn database_sessions_only(ctx: &FileContext) -> bool {
    let imports = ctx.imports();
    ["sqlalchemy", "homeassistant.components.recorder"]
        .iter()
        .any(|module| imports.imports_module(module))
        && ![
            "aiohttp",
            "requests",
            "homeassistant.helpers.aiohttp_client",
        ]
        .iter()
        .any(|module| imports.imports_module(module))
}

/// Check `requests-session`: an HTTP session (as `http-session`) in a file that
/// imports `requests`, whose sessions are the ones with `send(prepared)`.
pub fn is_requests_session<'t>(ctx: &FileContext<'t>, node: Node<'t>, args: &[&str]) -> bool {
    ctx.imports().imports_module("requests") && is_http_session(ctx, node, args)
}

/// Does every session the file makes carry a timeout of its own
/// (`aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30))`), and the
/// file take none from Home Assistant (whose shared session has aiohttp's
/// 300 s default)? Then its session-named objects are those sessions.
fn sessions_carry_timeout<'t>(ctx: &FileContext<'t>) -> bool {
    let made = ctx.calls_named("ClientSession");
    !made.is_empty()
        && made
            .iter()
            .all(|&call| super::arguments::argument_given(ctx, call, &["timeout"]))
        && ctx.calls_named("async_get_clientsession").is_empty()
        && ctx.calls_named("async_create_clientsession").is_empty()
}

/// Is the expression a parameter of the enclosing function annotated with a
/// type that is not a session (`session: _SessionIdEntryT` is a dict named
/// "session")?
fn annotated_otherwise<'t>(ctx: &FileContext<'t>, node: Node<'t>) -> bool {
    // `aiohttp.ClientSession`, `requests.Session`, `Session | None` name a session;
    // `_SessionIdEntryT` does not, nor does SQLAlchemy's `Session`.
    parameter_annotation(ctx, node).is_some_and(|annotation| {
        mentions_database(ctx, annotation)
            || !ctx
                .text(annotation)
                .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .any(|word| word.ends_with("Session"))
    })
}

/// Does the expression name something from SQLAlchemy, or a database session
/// helper (`session_scope`, `get_session`, `sessionmaker`)? Their `get`/`delete`
/// read and delete rows, not URLs.
fn mentions_database<'t>(ctx: &FileContext<'t>, expression: Node<'t>) -> bool {
    let mut stack = vec![expression];
    while let Some(node) = stack.pop() {
        if matches!(node.kind_name(), "identifier" | "attribute") {
            let spelled = ctx.text(node);
            let last = spelled.rsplit('.').next().unwrap_or(spelled);
            let database_helper = matches!(last, "session_scope" | "get_session" | "sessionmaker");
            let from_sqlalchemy = ctx
                .qualified_name(node)
                .is_some_and(|name| name.starts_with("sqlalchemy."));
            if database_helper || from_sqlalchemy {
                return true;
            }
            if node.kind_name() == "attribute" {
                continue;
            }
        }
        let mut cursor = node.walk();
        stack.extend(node.named_children(&mut cursor));
    }
    false
}

/// Is `name` bound, in the enclosing function (for a local) or class (for
/// `self.x`), to an httpx client, a database session, or a session made with a timeout of its own
/// (`aiohttp.ClientSession(timeout=...)`, `async with ClientSession(timeout=t) as session`)?
fn assigned_from_timed_client<'t>(ctx: &FileContext<'t>, node: Node<'t>, name: &str) -> bool {
    let scope_kind = if name.starts_with("self.") {
        "class_definition"
    } else {
        "function_definition"
    };
    let mut scope = node;
    while scope.kind_name() != scope_kind {
        match ctx.parent(scope) {
            Some(parent) => scope = parent,
            None => break,
        }
    }
    let mut stack = vec![scope];
    while let Some(current) = stack.pop() {
        let bound = match current.kind_name() {
            "assignment" => current
                .field("left")
                .filter(|l| ctx.text(*l) == name)
                .and_then(|_| current.field("right")),
            // `with X(...) as name`: the alias is the pattern's last child.
            "as_pattern" => current
                .field("alias")
                .filter(|a| ctx.text(*a) == name)
                .and_then(|_| current.named_child(0)),
            _ => None,
        };
        if bound.is_some_and(|value| makes_timed_client(ctx, value)) {
            return true;
        }
        let mut cursor = current.walk();
        stack.extend(current.named_children(&mut cursor));
    }
    false
}

fn makes_timed_client<'t>(ctx: &FileContext<'t>, value: Node<'t>) -> bool {
    let value = value.awaited();
    if value.kind_name() != "call" {
        return false;
    }
    let httpx = value.field("function").is_some_and(|f| {
        ctx.qualified_name(f)
            .is_some_and(|name| TIMED_CLIENTS.iter().any(|p| pattern_matches(p, &name)))
    });
    let database = value
        .field("function")
        .is_some_and(|f| mentions_database(ctx, f));
    httpx || database || super::arguments::argument_given(ctx, value, &["timeout"])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::test_support::{CheckFn, Snippet, passes};

    fn check(source: &str, kind: &str, text: &str, f: CheckFn) -> bool {
        passes(f, source, kind, text, &[])
    }

    #[test]
    fn a_database_file_s_sessions_are_not_http_sessions() {
        let recorder = "from homeassistant.components.recorder import get_instance\n\
            def purge(session, row):\n    session.delete(row)\n";
        assert!(!check(recorder, "identifier", "session", is_http_session));
        let both = "import aiohttp\nfrom homeassistant.components.recorder import get_instance\n\
            def purge(session, row):\n    session.delete(row)\n";
        assert!(check(both, "identifier", "session", is_http_session));
    }

    #[test]
    fn timeout_blocks_bound_their_body() {
        let source = "import asyncio\nimport async_timeout\nfrom asyncio import timeout\n\
            async def f(session):\n    async with asyncio.timeout(10):\n        await session.get(a)\n\
            async def g(session):\n    async with async_timeout.timeout(10):\n        async with session.get(b) as r:\n            pass\n\
            async def h(session):\n    async with timeout(10):\n        await session.get(c)\n\
            async def i(hass, session):\n    async with hass.timeout.async_timeout(10):\n        await session.get(d)\n\
            async def j(session):\n    await asyncio.wait_for(session.get(e), 10)\n";
        for call in [
            "session.get(a)",
            "session.get(b)",
            "session.get(c)",
            "session.get(d)",
            "session.get(e)",
        ] {
            assert!(check(source, "call", call, in_timeout_block), "{call}");
        }
    }

    #[test]
    fn other_blocks_and_callers_do_not_count() {
        let source = "import asyncio\n\
            async def f(session, lock):\n    async with lock:\n        await session.get(a)\n\
            async def g(session):\n    async with asyncio.timeout(10):\n        async def inner():\n            await session.get(b)\n\
            async def h(session):\n    await asyncio.gather(session.get(c))\n";
        for call in ["session.get(a)", "session.get(b)", "session.get(c)"] {
            assert!(!check(source, "call", call, in_timeout_block), "{call}");
        }
    }

    #[test]
    fn sessions_by_name_and_by_factory() {
        let source = "from homeassistant.helpers.aiohttp_client import async_get_clientsession\n\
            session.get(a)\nself._session.get(b)\nwebsession.get(c)\nasync_get_clientsession(hass).get(d)\n\
            self.client_session.get(e)\n";
        for object in [
            "session",
            "self._session",
            "websession",
            "self.client_session",
        ] {
            let kind = if object.contains('.') {
                "attribute"
            } else {
                "identifier"
            };
            assert!(check(source, kind, object, is_http_session), "{object}");
        }
        assert!(check(
            source,
            "call",
            "async_get_clientsession(hass)",
            is_http_session
        ));
    }

    #[test]
    fn httpx_clients_and_other_names_are_not_sessions() {
        let source = "from homeassistant.helpers.httpx_client import get_async_client\n\
            from sqlalchemy.orm import Session\n\
            class A:\n    def __init__(self, hass):\n        self._session = get_async_client(hass)\n\
            \n    async def f(self):\n        await self._session.get(a)\n\
            async def g(hass):\n    session = get_async_client(hass)\n    await session.get(b)\n\
            async def h(client):\n    await client.get(c)\n    await self.sessions.get(d)\n\
            def i(session: _SessionIdEntryT):\n    session.get(e)\n\
            async def j():\n    async with aiohttp.ClientSession(timeout=t) as session:\n        await session.get(f)\n\
            def k(session: Session):\n    session.get(g)\n\
            def l(hass):\n    with session_scope(hass=hass) as session:\n        session.delete(h)\n";
        assert!(!check(
            source,
            "attribute",
            "self._session",
            is_http_session
        ));
        let snippet = Snippet::new(source);
        let ctx = snippet.ctx();
        let call = snippet.find("call", "session.get(b)");
        let object = call.field("function").unwrap().field("object").unwrap();
        assert!(!is_http_session(&ctx, object, &[]));
        assert!(!check(source, "identifier", "client", is_http_session));
        assert!(!check(
            source,
            "attribute",
            "self.sessions",
            is_http_session
        ));
        // A dict parameter named `session`, and a session with its own timeout.
        for call in [
            "session.get(e)",
            "session.get(f)",
            "session.get(g)",
            "session.delete(h)",
        ] {
            let object = snippet
                .find("call", call)
                .field("function")
                .and_then(|f| f.field("object"))
                .unwrap();
            assert!(!is_http_session(&ctx, object, &[]), "{call}");
        }
    }

    #[test]
    fn sessions_a_file_makes_with_a_timeout_carry_it() {
        let timed = "import aiohttp\nclass Api:\n    async def _ensure(self):\n\
            \x20       self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30))\n\
            \x20       return self._session\n\
            \x20   async def call(self):\n        session = await self._ensure()\n        await session.post(a)\n";
        assert!(!check(timed, "identifier", "session", is_http_session));
        // One session made without a timeout, or Home Assistant's shared one,
        // and the name may stand for it.
        let untimed =
            format!("{timed}    def other(self):\n        self._plain = aiohttp.ClientSession()\n");
        assert!(check(&untimed, "identifier", "session", is_http_session));
        let shared = format!(
            "{timed}    def other(self, hass):\n        self._shared = async_get_clientsession(hass)\n"
        );
        assert!(check(&shared, "identifier", "session", is_http_session));
    }
}
