//! Service handlers: does the handler read the call it is given?

use tree_sitter::Node;

use super::{FileContext, arguments::positional_argument};
use crate::model::{syntax::NodeExt, values::EXECUTOR_RUNNERS};

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
        _ => functions_called(ctx, handler),
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
    call.kind_name() != "identifier" || parameter_is_read(ctx, function, call, 0)
}

/// Is the parameter `name` of `function` used in its body, other than handed
/// on to a function of this file, by position, that does not read it either
/// (`clear_tokens(hass, call, coordinator)`, also through
/// `hass.async_add_executor_job(clear_tokens, hass, call, coordinator)`)?
/// A function it cannot see, or a chain longer than a few calls, reads it.
fn parameter_is_read<'t>(
    ctx: &FileContext<'t>,
    function: Node<'t>,
    name: Node<'t>,
    depth: usize,
) -> bool {
    let Some(body) = function.field("body") else {
        return true;
    };
    ctx.identifiers_named(ctx.text(name))
        .filter(|use_| body.byte_range().contains(&use_.start_byte()))
        .filter(|use_| !reads_metadata(ctx, *use_))
        .any(|use_| match handed_on(ctx, use_) {
            Some((callee, _)) if resolves_targets(ctx, callee) => false,
            Some((callee, position)) if depth < 3 => {
                let targets = functions_called(ctx, callee);
                targets.is_empty()
                    || targets.iter().any(|&target| {
                        nth_parameter(ctx, target, position)
                            .is_none_or(|p| parameter_is_read(ctx, target, p, depth + 1))
                    })
            }
            _ => true,
        })
}

/// `call.hass`, `call.context`, `call.service`, `call.domain`: what Home
/// Assistant says about the call, not data the caller sent.
fn reads_metadata<'t>(ctx: &FileContext<'t>, use_: Node<'t>) -> bool {
    ctx.parent(use_)
        .filter(|p| p.kind_name() == "attribute" && p.field("object") == Some(use_))
        .and_then(|attribute| attribute.field("attribute"))
        .is_some_and(|a| matches!(ctx.text(a), "hass" | "context" | "service" | "domain"))
}

/// Home Assistant's helpers that read only a call's target (entity, device,
/// area, config entry ids) and resolve it: no free-form field reaches the handler.
fn resolves_targets<'t>(ctx: &FileContext<'t>, callee: Node<'t>) -> bool {
    let spelled = ctx.text(callee);
    matches!(
        spelled.rsplit('.').next().unwrap_or(spelled),
        "async_extract_config_entry_ids"
            | "async_extract_entity_ids"
            | "async_extract_referenced_entity_ids"
            | "async_extract_entities"
    )
}

/// For a value given as a positional argument of a call, the function that
/// receives it and its position there (not counting `self`): `f(a, value)`
/// gives `f` and 1, `hass.async_add_executor_job(f, a, value)` gives `f` and 1.
fn handed_on<'t>(ctx: &FileContext<'t>, value: Node<'t>) -> Option<(Node<'t>, usize)> {
    let arguments = ctx
        .parent(value)
        .filter(|p| p.kind_name() == "argument_list")?;
    let call = ctx.parent(arguments).filter(|c| c.kind_name() == "call")?;
    let mut cursor = arguments.walk();
    let positional: Vec<Node> = arguments
        .named_children(&mut cursor)
        .filter(|a| {
            !matches!(
                a.kind_name(),
                "keyword_argument" | "list_splat" | "dictionary_splat"
            )
        })
        .collect();
    let at = positional.iter().position(|a| a.id() == value.id())?;
    let callee = call.field("function")?;
    let last_name = match callee.kind_name() {
        "attribute" => callee.field("attribute").map(|a| ctx.text(a)),
        _ => Some(ctx.text(callee)),
    };
    let runner = EXECUTOR_RUNNERS
        .iter()
        .find(|(runner, _)| last_name == Some(*runner));
    let Some(&(_, function_at)) = runner else {
        return Some((callee, at));
    };
    let target = *positional.get(function_at)?;
    Some((target, at.checked_sub(function_at + 1)?))
}

/// The functions of this file a callee names (`f`, `self.f`).
fn functions_called<'t>(ctx: &FileContext<'t>, callee: Node<'t>) -> Vec<Node<'t>> {
    match callee.kind_name() {
        "identifier" => ctx.functions_named(ctx.text(callee)).to_vec(),
        "attribute"
            if callee
                .field("object")
                .is_some_and(|o| ctx.text(o) == "self") =>
        {
            callee
                .field("attribute")
                .map(|name| ctx.functions_named(ctx.text(name)).to_vec())
                .unwrap_or_default()
        }
        _ => Vec::new(),
    }
}

/// A function's parameter at a position, not counting `self` or `cls`; `None`
/// when it takes `*args` there or fewer parameters.
fn nth_parameter<'t>(
    ctx: &FileContext<'t>,
    function: Node<'t>,
    position: usize,
) -> Option<Node<'t>> {
    let parameters = function.field("parameters")?;
    let mut cursor = parameters.walk();
    let parameter = parameters
        .named_children(&mut cursor)
        .filter(|p| !matches!(ctx.text(*p), "self" | "cls"))
        .nth(position)?;
    match parameter.kind_name() {
        "identifier" => Some(parameter),
        "typed_parameter" => parameter
            .named_child(0)
            .filter(|n| n.kind_name() == "identifier"),
        "default_parameter" | "typed_default_parameter" => parameter.field("name"),
        _ => None,
    }
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
            // Handed on to a function that reads it, or takes it through *args.
            "def go(hass, call):\n    send(call.data)\nasync def h(call):\n    await hass.async_add_executor_job(go, hass, call)\nhass.services.async_register(D, 's', h)\n",
            "def go(*args):\n    pass\nasync def h(call):\n    go(call)\nhass.services.async_register(D, 's', h)\n",
            "class C:\n    def go(self, call):\n        send(call.data)\n    async def h(self, call):\n        self.go(call)\n    def setup(self):\n        hass.services.async_register(D, 's', self.h)\n",
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
            // Handed on to a function that does not read it either.
            "def clear(hass, call, c):\n    c.clear()\nasync def h(call):\n    await hass.async_add_executor_job(clear, hass, call, c)\nhass.services.async_register(D, 's', h)\n",
            "def clear(hass, call):\n    pass\nasync def h(call):\n    clear(hass, call)\nhass.services.async_register(D, 's', h)\n",
        ] {
            assert!(!reads(source), "{source}");
        }
    }
}
