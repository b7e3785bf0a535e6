//! Service handlers: does the handler read the call it is given?

use tree_sitter::Node;

use super::{FileContext, arguments::positional_argument};
use crate::model::syntax::NodeExt;

/// Check `handler-reads-call`: the positional argument at the 0-based position
/// the string gives is a handler that may read the `ServiceCall` it is given.
/// Only a handler written in this file (a function, a method of `self`, a
/// lambda) that never uses its call parameter, or takes none, does not: its
/// service ignores whatever data comes, so a missing schema lets nothing in.
/// A handler this file does not define may read anything.
pub fn handler_reads_call<'t>(ctx: &FileContext<'t>, node: Node<'t>, strings: &[&str]) -> bool {
    let Some(position) = strings.first().and_then(|s| s.parse::<usize>().ok()) else {
        return true;
    };
    let Some(mut handler) = positional_argument(node, position) else {
        return true;
    };
    // `partial(handler, coordinator)`: the call comes after the bound arguments.
    let mut bound = Vec::new();
    if handler.kind_name() == "call"
        && crate::model::config_flow::callee_name(ctx, handler) == "partial"
    {
        let Some(arguments) = handler.field("arguments") else {
            return true;
        };
        let Some(inner) = positional_argument(arguments, 0) else {
            return true;
        };
        let mut cursor = arguments.walk();
        bound = arguments
            .named_children(&mut cursor)
            .skip(1)
            .filter(|a| a.kind_name() != "comment")
            .map(|a| match a.kind_name() {
                "keyword_argument" => a.field("name").map_or("", |n| ctx.text(n)),
                _ => "",
            })
            .collect();
        handler = inner;
    }
    let functions: Vec<Node> = match handler.kind_name() {
        "lambda" => vec![handler],
        "identifier" => ctx.functions_named(ctx.text(handler)).to_vec(),
        "attribute"
            if handler
                .field("object")
                .is_some_and(|o| ctx.text(o) == "self") =>
        {
            handler
                .field("attribute")
                .map(|name| ctx.functions_named(ctx.text(name)).to_vec())
                .unwrap_or_default()
        }
        _ => Vec::new(),
    };
    functions.is_empty() || functions.iter().any(|&f| reads_its_call(ctx, f, &bound))
}

/// Does the function (or lambda) use its first parameter other than `self`
/// that `bound` (what `partial` gave: "" for each positional argument, the
/// name of each keyword one) leaves free?
fn reads_its_call<'t>(ctx: &FileContext<'t>, function: Node<'t>, bound: &[&str]) -> bool {
    let Some(parameters) = function.field("parameters") else {
        return false; // `lambda: ...` takes nothing
    };
    let mut cursor = parameters.walk();
    let call = parameters
        .named_children(&mut cursor)
        .filter_map(|p| match p.kind_name() {
            "identifier" => Some(p),
            "typed_parameter" => p.named_child(0).filter(|n| n.kind_name() == "identifier"),
            "default_parameter" | "typed_default_parameter" => p.field("name"),
            // *args, **kwargs: the call may be read through them.
            _ => Some(p),
        })
        .filter(|p| !matches!(ctx.text(*p), "self" | "cls"))
        .skip(bound.iter().filter(|name| name.is_empty()).count())
        .find(|p| !bound.contains(&ctx.text(*p)));
    let Some(call) = call else {
        return false;
    };
    if call.kind_name() != "identifier" {
        return true;
    }
    let Some(body) = function.field("body") else {
        return true;
    };
    ctx.identifiers_named(ctx.text(call))
        .any(|use_| body.byte_range().contains(&use_.start_byte()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::test_support::Snippet;

    fn reads(source: &str) -> bool {
        let snippet = Snippet::new(source);
        let call = snippet.find_starting("call", "hass.services.async_register");
        handler_reads_call(&snippet.ctx(), call.field("arguments").unwrap(), &["2"])
    }

    #[test]
    fn handlers_that_read_the_call_or_are_unknown() {
        for source in [
            "async def h(call):\n    send(call.data['m'])\nhass.services.async_register(D, 's', h)\n",
            "async def h(call):\n    await other(call)\nhass.services.async_register(D, 's', h)\n",
            "hass.services.async_register(D, 's', imported_handler)\n",
            "hass.services.async_register(D, 's', lambda call: send(call.data))\n",
            "hass.services.async_register(D, 's', partial(h, x))\n",
            "async def h(coordinator, call):\n    send(call.data)\nhass.services.async_register(D, 's', partial(h, c))\n",
            "async def h(*args):\n    pass\nhass.services.async_register(D, 's', h)\n",
            "class C:\n    async def h(self, call: ServiceCall):\n        send(call.data)\n    def setup(self):\n        hass.services.async_register(D, 's', self.h)\n",
        ] {
            assert!(reads(source), "{source}");
        }
    }

    #[test]
    fn handlers_that_ignore_the_call() {
        for source in [
            "async def h(call):\n    await coordinator.async_refresh()\nhass.services.async_register(D, 's', h)\n",
            "async def h(_call: ServiceCall) -> None:\n    reboot()\nhass.services.async_register(D, 's', h)\n",
            "async def h():\n    reboot()\nhass.services.async_register(D, 's', h)\n",
            "hass.services.async_register(D, 's', lambda _: refresh())\n",
            "async def h(coordinator, call):\n    await coordinator.async_refresh()\nhass.services.async_register(D, 's', partial(h, c))\n",
            "async def h(call, coordinator):\n    await coordinator.async_refresh()\nhass.services.async_register(D, 's', partial(h, coordinator=c))\n",
            "class C:\n    async def h(self, call):\n        self.reboot()\n    def setup(self):\n        hass.services.async_register(D, 's', self.h)\n",
        ] {
            assert!(!reads(source), "{source}");
        }
    }
}
