//! Does a dictionary entry end up in an entity's state attributes, or a value
//! become an entity's state?
//!
//! State attributes are stored in the recorder, shown in the UI, sent to every
//! websocket client and exported in diagnostics: whatever goes in is public to
//! every user of the instance.

use tree_sitter::Node;

use super::{FileContext, text};
use crate::model::enclosing_scope;
use crate::model::syntax::NodeExt;

const ATTRIBUTES: &str = "_attr_extra_state_attributes";
pub const PROPERTY: &str = "extra_state_attributes";

/// Check `entity-attributes`: the node is an entry of the state attributes: a
/// pair of a dictionary (or a `dict(key=...)` keyword) that becomes them, or an
/// item assignment `attrs[KEY] = value` into them.
pub fn is_entity_attribute_entry<'t>(ctx: &FileContext<'t>, node: Node<'t>, _: &[&str]) -> bool {
    // Every way to the attributes names the property or `_attr_` + the property:
    // a file without that name has none, whatever its dictionaries.
    if !ctx.contains(PROPERTY) {
        return false;
    }
    let source = ctx.source;
    match node.kind_name() {
        "pair" => ctx
            .parent(node)
            .is_some_and(|dictionary| feeds_attributes(ctx, dictionary)),
        "keyword_argument" => {
            let call = ctx.parent(node).and_then(|arguments| ctx.parent(arguments));
            let Some(function) = call
                .filter(|call| call.kind_name() == "call")
                .and_then(|call| call.field("function"))
            else {
                return false;
            };
            if text(function, source) == "dict" {
                return call.is_some_and(|call| feeds_attributes(ctx, call));
            }
            // attrs.update(token=...): the keywords go into the object.
            function.kind_name() == "attribute"
                && function
                    .field("attribute")
                    .is_some_and(|m| text(m, source) == "update")
                && function
                    .field("object")
                    .is_some_and(|object| is_attributes_target(ctx, object))
        }
        "assignment" => node
            .field("left")
            .filter(|left| left.kind_name() == "subscript")
            .and_then(|left| left.field("value"))
            .is_some_and(|target| is_attributes_target(ctx, target)),
        _ => false,
    }
}

/// Properties and `_attr_` slots whose value is an entity's state.
const STATE_PROPERTIES: &[&str] = &["native_value", "state"];
const STATE_SLOTS: &[&str] = &["_attr_native_value", "_attr_state"];
/// Every way to the state names one of these.
pub const STATE_WORDS: &[&str] = &["native_value", "_attr_state", "def state"];

/// Check `entity-state`: the expression becomes an entity's state, as public as
/// its attributes: the value a `native_value` or `state` property of a class
/// returns, or the value assigned to `self._attr_native_value` /
/// `self._attr_state`.
pub fn is_entity_state<'t>(ctx: &FileContext<'t>, node: Node<'t>, _: &[&str]) -> bool {
    // A file without them has no state, whatever it returns or assigns.
    if !STATE_WORDS.iter().any(|word| ctx.contains(word)) {
        return false;
    }
    let Some(parent) = ctx.parent(node) else {
        return false;
    };
    match parent.kind_name() {
        "return_statement" => {
            let function = enclosing_scope(ctx, parent);
            function_name(function, ctx.source).is_some_and(|n| STATE_PROPERTIES.contains(&n))
                && is_method(ctx, function)
        }
        "assignment" => {
            parent.field("right").is_some_and(|r| r.id() == node.id())
                && parent.field("left").is_some_and(|left| {
                    crate::model::bindings::self_attribute(left, ctx.source)
                        .is_some_and(|slot| STATE_SLOTS.contains(&slot))
                })
        }
        _ => false,
    }
}

/// Is the function defined in a class body?
fn is_method<'t>(ctx: &FileContext<'t>, function: Node<'t>) -> bool {
    ctx.ancestors(function)
        .find(|n| matches!(n.kind_name(), "class_definition" | "function_definition"))
        .is_some_and(|n| n.kind_name() == "class_definition")
}

/// Does the value of `expression` (a dictionary or `dict(...)` call) become the
/// entity's state attributes?
fn feeds_attributes<'t>(ctx: &FileContext<'t>, expression: Node<'t>) -> bool {
    let source = ctx.source;
    let Some(parent) = ctx.parent(expression) else {
        return false;
    };
    match parent.kind_name() {
        // A nested dictionary is exposed with its parent.
        "pair" => ctx
            .parent(parent)
            .is_some_and(|dictionary| feeds_attributes(ctx, dictionary)),
        "parenthesized_expression" | "conditional_expression" | "dictionary_splat" => {
            feeds_attributes(ctx, parent)
        }
        "dictionary" => feeds_attributes(ctx, parent),
        "return_statement" => {
            function_name(enclosing_scope(ctx, parent), source).is_some_and(|n| n == PROPERTY)
        }
        "assignment" => parent
            .field("left")
            .is_some_and(|left| is_attributes_target(ctx, left)),
        // attrs.update({...}), self._attr_extra_state_attributes.update(token=...)
        "argument_list" => {
            let Some(call) = ctx.parent(parent) else {
                return false;
            };
            let Some(function) = call.field("function") else {
                return false;
            };
            if function.kind_name() == "attribute"
                && function
                    .field("attribute")
                    .is_some_and(|m| text(m, source) == "update")
            {
                return function
                    .field("object")
                    .is_some_and(|object| is_attributes_target(ctx, object));
            }
            text(function, source) == "dict" && feeds_attributes(ctx, call)
        }
        _ => false,
    }
}

/// Is `target` the state attributes: `self._attr_extra_state_attributes`, the
/// class attribute of that name, a local that `extra_state_attributes` returns,
/// or an attribute of `self` that the class's `extra_state_attributes` returns
/// (`self._attributes`, the older idiom)?
fn is_attributes_target<'t>(ctx: &FileContext<'t>, target: Node<'t>) -> bool {
    let source = ctx.source;
    match target.kind_name() {
        "attribute" => {
            target
                .field("attribute")
                .is_some_and(|a| text(a, source) == ATTRIBUTES)
                || (target
                    .field("object")
                    .is_some_and(|o| text(o, source) == "self")
                    && class_property_returns(ctx, target, text(target, source), source))
        }
        "identifier" => {
            let name = text(target, source);
            if name == ATTRIBUTES {
                return true;
            }
            let scope = enclosing_scope(ctx, target);
            function_name(scope, source).is_some_and(|n| n == PROPERTY)
                && returns_name(scope, name, source)
        }
        _ => false,
    }
}

/// Does the class enclosing `node` define `extra_state_attributes` returning
/// exactly `returned` (`self._attributes`)?
fn class_property_returns<'t>(
    ctx: &FileContext<'t>,
    node: Node<'t>,
    returned: &str,
    source: &[u8],
) -> bool {
    let class = ctx
        .ancestors(node)
        .find(|n| n.kind_name() == "class_definition");
    let Some(body) = class.and_then(|c| c.field("body")) else {
        return false;
    };
    let mut cursor = body.walk();
    body.named_children(&mut cursor).any(|member| {
        let function = match member.kind_name() {
            "decorated_definition" => member.field("definition"),
            "function_definition" => Some(member),
            _ => None,
        };
        function.is_some_and(|f| {
            function_name(f, source) == Some(PROPERTY) && returns_text(f, returned, source)
        })
    })
}

fn function_name<'s>(scope: Node, source: &'s [u8]) -> Option<&'s str> {
    (scope.kind_name() == "function_definition")
        .then(|| scope.field("name"))
        .flatten()
        .map(|n| text(n, source))
}

/// Does the function return the local `name` (`return attrs`)?
fn returns_name(function: Node, name: &str, source: &[u8]) -> bool {
    returns_text(function, name, source)
}

/// Does the function return an expression written exactly `returned`, or
/// that with a fallback (`return attrs or None`)?
fn returns_text(function: Node, returned: &str, source: &[u8]) -> bool {
    let is_returned = |value: Node| text(value, source) == returned;
    let mut stack = vec![function];
    while let Some(node) = stack.pop() {
        if node.kind_name() == "return_statement"
            && node.named_child(0).is_some_and(|value| {
                is_returned(value)
                    || (value.kind_name() == "boolean_operator"
                        && [value.field("left"), value.field("right")]
                            .into_iter()
                            .flatten()
                            .any(is_returned))
            })
        {
            return true;
        }
        let mut cursor = node.walk();
        for child in node.named_children(&mut cursor) {
            if !matches!(
                child.kind_name(),
                "function_definition" | "class_definition" | "lambda"
            ) {
                stack.push(child);
            }
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::test_support::Snippet;

    /// Does the entry of `kind` starting with `entry` in `source` feed the attributes?
    fn entry(source: &str, kind: &str, entry: &str) -> bool {
        let snippet = Snippet::new(source);
        is_entity_attribute_entry(&snippet.ctx(), snippet.find_starting(kind, entry), &[])
    }

    #[test]
    fn entries_of_the_attributes_are_found() {
        let property = "class E:\n    @property\n    def extra_state_attributes(self):\n";
        assert!(entry(
            &format!("{property}        return {{'token': self._token}}\n"),
            "pair",
            "'token'"
        ));
        assert!(entry(
            &format!(
                "{property}        attrs = {{}}\n        attrs['key'] = 1\n        return attrs\n"
            ),
            "assignment",
            "attrs['key']"
        ));
        assert!(entry(
            &format!("{property}        return dict(token=self._token)\n"),
            "keyword_argument",
            "token"
        ));
        assert!(entry(
            &format!("{property}        return {{'a': {{'token': t}}}}\n"),
            "pair",
            "'token'"
        ));
        assert!(entry(
            "class E:\n    def update(self):\n        self._attr_extra_state_attributes = {'pin': self._pin}\n",
            "pair",
            "'pin'"
        ));
        assert!(entry(
            "class E:\n    def update(self):\n        self._attr_extra_state_attributes[ATTR_TOKEN] = t\n",
            "assignment",
            "self._attr"
        ));
        assert!(entry(
            "class E:\n    _attr_extra_state_attributes = {'api_key': KEY}\n",
            "pair",
            "'api_key'"
        ));
        assert!(entry(
            "class E:\n    def update(self):\n        self._attr_extra_state_attributes.update({'token': t})\n",
            "pair",
            "'token'"
        ));
        assert!(entry(
            "class E:\n    def update(self):\n        self._attr_extra_state_attributes.update(token=t)\n",
            "keyword_argument",
            "token"
        ));
    }

    #[test]
    fn a_self_attribute_returned_by_the_property_is_the_attributes() {
        let class = "class E:\n    @property\n    def extra_state_attributes(self):\n        return self._attributes\n\n    def update(self):\n";
        assert!(entry(
            &format!("{class}        self._attributes = {{'token': t}}\n"),
            "pair",
            "'token'"
        ));
        assert!(entry(
            &format!("{class}        self._attributes['api_key'] = k\n"),
            "assignment",
            "self._attributes["
        ));
        assert!(!entry(
            &format!("{class}        self._headers = {{'token': t}}\n"),
            "pair",
            "'token'"
        ));
    }

    #[test]
    fn other_dictionaries_are_not() {
        assert!(!entry(
            "class E:\n    def update(self):\n        self._payload.update(token=t)\n",
            "keyword_argument",
            "token"
        ));
        assert!(!entry(
            "class E:\n    def headers(self):\n        return {'token': self._token}\n",
            "pair",
            "'token'"
        ));
        assert!(!entry(
            "class E:\n    @property\n    def extra_state_attributes(self):\n        payload = {'token': t}\n        send(payload)\n        return {}\n",
            "pair",
            "'token'"
        ));
        assert!(!entry(
            "class E:\n    def update(self):\n        self._attr_extra_state_attributes = f({'token': t})\n",
            "pair",
            "'token'"
        ));
    }
}
