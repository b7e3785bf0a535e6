//! Internal values: built only from what the code itself writes (literals,
//! constants, generated ids, Home Assistant's own paths), never from a user, a
//! device or the network. Value flow asks whether a secret *may* reach a place;
//! this asks the opposite, whether *every* part of a value is the code's own, so
//! a part it cannot see into makes the answer no.
//!
//! Followed: f-strings, `+` and `%` (and `*` repeating a literal), `.format`,
//! `sep.join([...])`, comprehensions, `os.path.join`, `str()`; a local through
//! the assignments that reach it and what its function appends to it, a name
//! of an enclosing function or of the module, a parameter through what the
//! file's calls of its function pass (at least one call, all of them internal).
//! Limit: a function called from another file with outside data is judged by
//! this file's calls alone.

use tree_sitter::Node;

use super::{FileContext, enclosing_scope, names::is_constant_name, values};
use crate::model::syntax::NodeExt;

/// How many hops a value is followed (a chain longer than this is not internal).
const MAX_HOPS: usize = 12;

/// Is every part of `node` the code's own? `also` accepts parts a rule knows to
/// be safe for its sink (`shlex.quote(x)` for a shell command).
pub fn is_internal<'t>(
    ctx: &FileContext<'t>,
    node: Node<'t>,
    also: &dyn Fn(&FileContext<'t>, Node<'t>) -> bool,
) -> bool {
    internal(ctx, node, also, 0)
}

fn internal<'t>(
    ctx: &FileContext<'t>,
    node: Node<'t>,
    also: &dyn Fn(&FileContext<'t>, Node<'t>) -> bool,
    hops: usize,
) -> bool {
    if hops > MAX_HOPS || !ctx.spend() {
        return false;
    }
    if also(ctx, node) {
        return true;
    }
    let next = hops + 1;
    let all = |nodes: &mut dyn Iterator<Item = Node<'t>>| {
        let mut any = false;
        for n in nodes {
            if !internal(ctx, n, also, next) {
                return false;
            }
            any = true;
        }
        any
    };
    let mut cursor = node.walk();
    match node.kind_name() {
        "integer" | "float" | "true" | "false" | "none" => true,
        "string" => node
            .named_children(&mut cursor)
            .filter(|c| c.kind_name() == "interpolation")
            .all(|i| {
                i.field("expression")
                    .is_some_and(|e| internal(ctx, e, also, next))
            }),
        "concatenated_string" | "parenthesized_expression" | "list" | "tuple" => node
            .named_children(&mut cursor)
            .filter(|c| c.kind_name() != "comment")
            .all(|c| internal(ctx, c, also, next)),
        "binary_operator" => {
            let (Some(left), Some(right)) = (node.field("left"), node.field("right")) else {
                return false;
            };
            // `"?" * n`, `["?"] * len(row)`: the count adds no text of its own.
            let repeated = |sequence: Node<'t>| {
                node.field("operator").is_some_and(|o| ctx.text(o) == "*")
                    && matches!(sequence.kind_name(), "string" | "list" | "tuple")
                    && internal(ctx, sequence, also, next)
            };
            repeated(left)
                || repeated(right)
                || (internal(ctx, left, also, next) && internal(ctx, right, also, next))
        }
        // `"?" for _ in row`: every element is the body.
        "generator_expression" | "list_comprehension" | "set_comprehension" => node
            .field("body")
            .is_some_and(|body| internal(ctx, body, also, next)),
        "conditional_expression" => {
            // `a if cond else b`: the condition chooses, the branches are the value.
            let mut parts = node
                .named_children(&mut cursor)
                .filter(|c| c.kind_name() != "comment");
            let (Some(yes), Some(_), Some(no)) = (parts.next(), parts.next(), parts.next()) else {
                return false;
            };
            internal(ctx, yes, also, next) && internal(ctx, no, also, next)
        }
        "identifier" => name_internal(ctx, node, &all),
        "call" => call_internal(ctx, node, also, next),
        _ => false,
    }
}

/// A name: the assignments that reach it here, else those of an enclosing
/// function or the module (a closure's or a constant's), else, for a
/// parameter, the arguments the file's calls pass. A module constant assigned
/// nowhere in the file (imported) is the code's own by convention.
fn name_internal<'t>(
    ctx: &FileContext<'t>,
    node: Node<'t>,
    all: &dyn Fn(&mut dyn Iterator<Item = Node<'t>>) -> bool,
) -> bool {
    let name = ctx.text(node);
    let reaching = values::reaching(ctx, node);
    if !reaching.is_empty() {
        let scope = enclosing_scope(ctx, node).id();
        return all(&mut reaching.iter().map(|a| a.value)) && added_internal(ctx, scope, name, all);
    }
    let arguments = values::parameter_arguments(ctx, node);
    if !arguments.is_empty() {
        return all(&mut arguments.into_iter());
    }
    let mut scope = enclosing_scope(ctx, node);
    while let Some(parent) = ctx.parent(scope) {
        scope = enclosing_scope(ctx, parent);
        let assignments = ctx.bindings().assignments(scope.id(), name);
        if !assignments.is_empty() {
            return all(&mut assignments.iter().map(|a| a.value))
                && added_internal(ctx, scope.id(), name, all);
        }
    }
    is_constant_name(name)
}

/// Is everything the scope adds to the list `name` (`append`, `insert`,
/// `extend`) the code's own? True when nothing is added.
fn added_internal<'t>(
    ctx: &FileContext<'t>,
    scope: super::bindings::ScopeId,
    name: &'t str,
    all: &dyn Fn(&mut dyn Iterator<Item = Node<'t>>) -> bool,
) -> bool {
    let added = ctx.bindings().appended(scope, name);
    added.is_empty() || all(&mut added.iter().copied())
}

fn call_internal<'t>(
    ctx: &FileContext<'t>,
    call: Node<'t>,
    also: &dyn Fn(&FileContext<'t>, Node<'t>) -> bool,
    next: usize,
) -> bool {
    let Some(function) = call.field("function") else {
        return false;
    };
    let arguments = values::arguments(call);
    let every_argument = || {
        arguments.iter().all(|a| {
            let value = match a.kind_name() {
                "keyword_argument" => a.field("value"),
                _ => Some(*a),
            };
            value.is_some_and(|v| internal(ctx, v, also, next))
        })
    };
    if let Some(name) = ctx.qualified_name(function) {
        match &*name {
            // Generated here: random ids, the clock.
            "uuid.uuid1" | "uuid.uuid4" | "time.time" | "time.monotonic" => return true,
            "str" | "int" | "float" | "os.path.join" | "posixpath.join" => {
                return every_argument();
            }
            _ => {}
        }
    }
    if function.kind_name() != "attribute" {
        return false;
    }
    let (Some(object), Some(method)) = (function.field("object"), function.field("attribute"))
    else {
        return false;
    };
    match ctx.text(method) {
        // `" ".join(parts)`, `"{}/{}".format(a, b)`: the separator or template and the parts.
        "join" | "format" => internal(ctx, object, also, next) && every_argument(),
        // `hass.config.path("www", name)`: under Home Assistant's own config directory.
        "path" if ctx.text(object).ends_with("config") => every_argument(),
        // `name.strip()`: the same text, changed by the code itself.
        "strip" | "lower" | "upper" => internal(ctx, object, also, next) && every_argument(),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::test_support::Snippet;

    /// Is the value of the last `cmd = ...` assignment internal, as seen at the
    /// `run(cmd)` call that ends the snippet?
    fn internal_at_use(source: &str) -> bool {
        let snippet = Snippet::new(source);
        let ctx = snippet.ctx();
        let argument = snippet.argument("run(cmd)", 0);
        is_internal(&ctx, argument, &|_, _| false)
    }

    #[test]
    fn values_the_code_writes_are_internal() {
        for source in [
            "def f():\n    cmd = 'sync'\n    run(cmd)\n",
            "import uuid\ndef f():\n    i = str(uuid.uuid4())\n    cmd = f'x {i} {1}'\n    run(cmd)\n",
            "import os\nDIR = '/tmp'\ndef f():\n    cmd = ' '.join(['ls', os.path.join(DIR, 'a')])\n    run(cmd)\n",
            "def f(hass):\n    d = hass.config.path(f'custom_components/{DOMAIN}')\n    \
             def g():\n        cmd = 'ls ' + d\n        run(cmd)\n    g()\n",
            "class K:\n    def go(self, where):\n        cmd = 'ls ' + where\n        run(cmd)\n    \
             def start(self):\n        self.go(where='/media')\n        self.go('/share')\n",
            "def f(flag):\n    cmd = 'a' if flag else 'b'\n    run(cmd)\n",
            // Literals repeated, generated or appended, whatever the count.
            "def f(row):\n    cmd = ','.join('?' * len(row)) + ','.join(['?'] * len(row))\n    run(cmd)\n",
            "def f(row):\n    cmd = ','.join('?' for _ in row)\n    run(cmd)\n",
            "def f(row):\n    marks = ['?']\n    for r in row:\n        marks.append('?')\n    \
             cmd = ','.join(marks)\n    run(cmd)\n",
        ] {
            assert!(internal_at_use(source), "{source}");
        }
    }

    #[test]
    fn values_from_outside_are_not() {
        for source in [
            // A parameter no call in the file passes.
            "def f(host):\n    cmd = f'ping {host}'\n    run(cmd)\n",
            // One call passes the user's input.
            "def f(host):\n    cmd = 'ping ' + host\n    run(cmd)\n\
             def g(user_input):\n    f('localhost')\n    f(user_input['host'])\n",
            // Read from a device, a mapping, an attribute.
            "def f(entry):\n    cmd = 'ping ' + entry.data['host']\n    run(cmd)\n",
            "def f(self):\n    cmd = 'ping ' + self.host\n    run(cmd)\n",
            // One branch is from outside.
            "def f(flag, x):\n    cmd = 'a' if flag else x\n    run(cmd)\n",
            // An unknown lower-case name of another module.
            "from .helpers import target\ndef f():\n    cmd = 'ping ' + target\n    run(cmd)\n",
            "def f(hass, name):\n    cmd = hass.config.path(name)\n    run(cmd)\n",
            // A value appended, repeated or generated from outside.
            "def f(row):\n    marks = ['?']\n    for r in row:\n        marks.append(r)\n    \
             cmd = ','.join(marks)\n    run(cmd)\n",
            "def f(row):\n    cmd = row * 2\n    run(cmd)\n",
            "def f(row):\n    cmd = ','.join(r for r in row)\n    run(cmd)\n",
        ] {
            assert!(!internal_at_use(source), "{source}");
        }
    }
}
