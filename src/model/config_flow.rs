//! Config-flow context: which flow class a node sits in, which form a step shows,
//! which fields a `vol.Schema` has, and the key names behind `CONF_*` constants.
//!
//! Home Assistant stores what a config flow's `async_create_entry(data=...)` gets in
//! the entry's `data`, what an options flow's gets in its `options`, and shows a
//! form's fields masked or not depending on their name and selector. Several rules
//! (HAS101, HAS102, HAS104, HAS502, HAS602) ask these questions, so they are
//! answered once here.

use std::collections::{BTreeSet, HashMap};

use tree_sitter::Node;

use super::{FileContext, names::string_value, text, values};
use crate::model::syntax::NodeExt;

/// What a flow class stores, and where.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FlowKind {
    /// `ConfigFlow` (and the OAuth2/discovery helpers built on it): entry `data`.
    Config,
    /// `OptionsFlow`, `OptionsFlowWithConfigEntry`: entry `options`.
    Options,
    /// `SchemaConfigFlowHandler`: everything, config step included, in `options`.
    SchemaConfig,
    /// `SchemaOptionsFlowHandler`: entry `options`.
    SchemaOptions,
}

impl FlowKind {
    /// The name rules use for the kind (`(#flow-class? @x "options")`).
    pub fn name(self) -> &'static str {
        match self {
            FlowKind::Config => "config",
            FlowKind::Options => "options",
            FlowKind::SchemaConfig => "schema-config",
            FlowKind::SchemaOptions => "schema-options",
        }
    }
}

/// How deep resolution follows names, helper functions and base classes.
const MAX_DEPTH: usize = 6;

/// The kind of flow a base class (qualified name) makes its subclasses.
fn kind_of_base(qualified: &str) -> Option<FlowKind> {
    let last = qualified.rsplit('.').next().unwrap_or(qualified);
    match last {
        "ConfigFlow"
        | "AbstractOAuth2FlowHandler"
        | "DiscoveryFlowHandler"
        | "WebhookFlowHandler" => Some(FlowKind::Config),
        "OptionsFlow" | "OptionsFlowWithConfigEntry" | "OptionsFlowWithReload" => {
            Some(FlowKind::Options)
        }
        "SchemaConfigFlowHandler" => Some(FlowKind::SchemaConfig),
        "SchemaOptionsFlowHandler" => Some(FlowKind::SchemaOptions),
        _ => None,
    }
}

/// The innermost class that lexically contains `node`.
pub fn enclosing_class<'t>(ctx: &FileContext<'t>, node: Node<'t>) -> Option<Node<'t>> {
    ctx.ancestors(node)
        .find(|n| n.kind_name() == "class_definition")
}

/// The innermost function definition that contains `node`.
pub fn enclosing_function<'t>(ctx: &FileContext<'t>, node: Node<'t>) -> Option<Node<'t>> {
    ctx.ancestors(node)
        .find(|n| n.kind_name() == "function_definition")
}

/// The positional superclasses of a class, as qualified names.
fn base_names<'t>(ctx: &FileContext<'t>, class: Node<'t>) -> Vec<String> {
    let Some(bases) = class.field("superclasses") else {
        return Vec::new();
    };
    let mut cursor = bases.walk();
    bases
        .named_children(&mut cursor)
        .filter(|base| base.kind_name() != "keyword_argument")
        // `DiscoveryFlowHandler[Awaitable[bool]]`: the generic's class.
        .map(|base| match base.kind_name() {
            "subscript" | "generic_type" => base
                .field("value")
                .or_else(|| base.named_child(0))
                .unwrap_or(base),
            _ => base,
        })
        .filter_map(|base| ctx.qualified_name(base).map(|name| name.to_string()))
        .collect()
}

/// Module-level classes of the file, by name.
fn module_classes<'t>(ctx: &FileContext<'t>) -> HashMap<&'t str, Node<'t>> {
    let root = ctx.tree.root_node();
    let mut cursor = root.walk();
    root.named_children(&mut cursor)
        .filter_map(|statement| match statement.kind_name() {
            "class_definition" => Some(statement),
            "decorated_definition" => statement
                .field("definition")
                .filter(|d| d.kind_name() == "class_definition"),
            _ => None,
        })
        .filter_map(|class| Some((ctx.text(class.field("name")?), class)))
        .collect()
}

/// The flow kind of a class, following base classes defined in the same file.
pub fn flow_kind<'t>(ctx: &FileContext<'t>, class: Node<'t>) -> Option<FlowKind> {
    flow_kind_at(ctx, class, 0)
}

fn flow_kind_at<'t>(ctx: &FileContext<'t>, class: Node<'t>, depth: usize) -> Option<FlowKind> {
    if depth > MAX_DEPTH {
        return None;
    }
    let bases = base_names(ctx, class);
    if let Some(kind) = bases.iter().find_map(|b| kind_of_base(b)) {
        return Some(kind);
    }
    let local = module_classes(ctx);
    bases.iter().find_map(|base| {
        let parent = *local.get(base.as_str())?;
        (parent.id() != class.id())
            .then(|| flow_kind_at(ctx, parent, depth + 1))
            .flatten()
    })
}

/// Does the class derive from the OAuth2 flow helper, which stores the token itself?
pub fn is_oauth2_flow<'t>(ctx: &FileContext<'t>, class: Node<'t>) -> bool {
    base_names(ctx, class)
        .iter()
        .any(|b| b.ends_with("AbstractOAuth2FlowHandler"))
}

/// Every flow class of the file (nested ones included) with its kind.
pub fn flow_classes<'t>(ctx: &FileContext<'t>) -> Vec<(Node<'t>, FlowKind)> {
    let mut found = Vec::new();
    let root = ctx.tree.root_node();
    let mut flow_class = |node: Node<'t>| {
        if node.kind_name() == "class_definition"
            && let Some(kind) = flow_kind(ctx, node)
        {
            found.push((node, kind));
        }
    };
    if root.has_error() {
        // Anything may sit in a syntax error: every node.
        visit(root, &mut flow_class);
        return found;
    }
    // A class is a statement: only what holds statements is entered, not the
    // expressions that are most of a file.
    let mut cursor = ctx.tree.walk();
    let mut holders = vec![root];
    while let Some(holder) = holders.pop() {
        for child in holder.named_children(&mut cursor) {
            flow_class(child);
            if super::imports::holds_statements(child) {
                holders.push(child);
            }
        }
    }
    found.sort_by_key(|(class, _)| class.start_byte());
    found
}

/// Calls `f` on `node` and every named descendant, in document order.
pub fn visit<'t>(node: Node<'t>, f: &mut impl FnMut(Node<'t>)) {
    // One cursor for the whole walk: a cursor and a vector of children per
    // node cost more than the visits themselves.
    let mut cursor = node.walk();
    f(node);
    if !cursor.goto_first_child() {
        return;
    }
    loop {
        let current = cursor.node();
        if current.is_named() {
            f(current);
            if cursor.goto_first_child() {
                continue;
            }
        }
        while !cursor.goto_next_sibling() {
            if !cursor.goto_parent() || cursor.node() == node {
                return;
            }
        }
    }
}

/// The last name of a callee (`vol.Required` → `Required`, `str` → `str`).
pub fn callee_name<'s>(ctx: &FileContext<'s>, call: Node) -> &'s str {
    call.field("function")
        .map_or("", |function| last_name(ctx, function))
}

/// The last name of a name or dotted name: `f` of `f`, `m` of `x.y.m`.
pub fn last_name<'s>(ctx: &FileContext<'s>, expression: Node) -> &'s str {
    match expression.kind_name() {
        "identifier" => ctx.text(expression),
        "attribute" => expression.field("attribute").map_or("", |a| ctx.text(a)),
        _ => "",
    }
}

/// Is `function` a method of a class derived from an HTTP view
/// (`HomeAssistantView`)? Its request's URL parts are the requester's.
pub fn in_view_class<'t>(ctx: &FileContext<'t>, function: Node<'t>) -> bool {
    ctx.ancestors(function)
        .find(|n| n.kind_name() == "class_definition")
        .and_then(|class| class.field("superclasses"))
        .is_some_and(|bases| ctx.text(bases).contains("View"))
}

/// A websocket command's handler (`@websocket_api.websocket_command({...})`
/// over `def handler(hass, connection, msg)`): its message parameter's
/// name. The message is what a logged-in frontend sent.
pub fn websocket_message_parameter<'t>(
    ctx: &FileContext<'t>,
    function: Node<'t>,
) -> Option<&'t str> {
    let decorated = ctx
        .parent(function)
        .filter(|p| p.kind_name() == "decorated_definition")?;
    let mut cursor = decorated.walk();
    let is_command = decorated
        .named_children(&mut cursor)
        .filter(|c| c.kind_name() == "decorator")
        .any(|d| ctx.text(d).contains("websocket_command"));
    if !is_command {
        return None;
    }
    let parameters = function.field("parameters")?;
    let mut cursor = parameters.walk();
    let third = parameters
        .named_children(&mut cursor)
        .filter(|p| p.kind_name() != "comment")
        .nth(2)?;
    let name = match third.kind_name() {
        "identifier" => Some(third),
        "typed_parameter" => third.named_child(0),
        _ => None,
    }?;
    Some(ctx.text(name))
}

/// Positional arguments of a call.
pub fn positional_args<'t>(call: Node<'t>) -> Vec<Node<'t>> {
    let Some(args) = call.field("arguments") else {
        return Vec::new();
    };
    let mut cursor = args.walk();
    args.named_children(&mut cursor)
        .filter(|a| {
            !matches!(
                a.kind_name(),
                "keyword_argument" | "comment" | "dictionary_splat" | "list_splat"
            )
        })
        .collect()
}

/// The positional arguments and the `name=value` keyword arguments of a call
/// (`*args` and `**kwargs` left out).
pub fn call_arguments<'t, 's>(
    call: Node<'t>,
    source: &'s [u8],
) -> (Vec<Node<'t>>, Vec<(&'s str, Node<'t>)>) {
    let mut keywords = Vec::new();
    if let Some(args) = call.field("arguments") {
        let mut cursor = args.walk();
        for argument in args.named_children(&mut cursor) {
            if argument.kind_name() == "keyword_argument"
                && let (Some(name), Some(value)) = (argument.field("name"), argument.field("value"))
            {
                keywords.push((text(name, source), value));
            }
        }
    }
    (positional_args(call), keywords)
}

/// The value of keyword argument `name` of a call.
pub fn keyword_arg<'t>(ctx: &FileContext<'t>, call: Node<'t>, name: &str) -> Option<Node<'t>> {
    let args = call.field("arguments")?;
    let mut cursor = args.walk();
    args.named_children(&mut cursor)
        .filter(|a| a.kind_name() == "keyword_argument")
        .find(|a| a.field("name").is_some_and(|n| ctx.text(n) == name))
        .and_then(|a| a.field("value"))
}

// ---------------------------------------------------------------------------
// Key names

/// Module-level `NAME = "string"` assignments of a file, and the names given
/// to a key constant (`API_KEY = CONF_API_KEY` means `"api_key"`).
pub fn module_constants(root: Node, source: &[u8]) -> HashMap<String, String> {
    let mut constants = HashMap::new();
    for (left, right) in module_assignments(root) {
        let value = match right.kind_name() {
            // Another name for a key: `API_KEY = CONF_API_KEY`, or for a
            // constant written above.
            "identifier" => {
                let name = text(right, source);
                constants
                    .get(name)
                    .cloned()
                    .or_else(|| home_assistant_key(name))
            }
            _ => string_value(right, source),
        };
        if let Some(value) = value {
            constants.insert(text(left, source).to_string(), value);
        }
    }
    constants
}

/// Module-level names whose value is `False`: `FLAG = False`, or `FLAG = not
/// OTHER` where `OTHER` was set to `True` above (a developer's proxy switch).
pub fn false_constants(root: Node, source: &[u8]) -> BTreeSet<String> {
    let mut truth: HashMap<&str, bool> = HashMap::new();
    for (left, right) in module_assignments(root) {
        let value = match right.kind_name() {
            "true" => Some(true),
            "false" => Some(false),
            "identifier" => truth.get(text(right, source)).copied(),
            "not_operator" => right
                .field("argument")
                .filter(|a| a.kind_name() == "identifier")
                .and_then(|a| truth.get(text(a, source)))
                .map(|v| !v),
            _ => None,
        };
        match value {
            Some(v) => truth.insert(text(left, source), v),
            None => truth.remove(text(left, source)),
        };
    }
    truth
        .into_iter()
        .filter(|(_, value)| !value)
        .map(|(name, _)| name.to_string())
        .collect()
}

/// Module-level `name = value` (and `name: T = value`) statements, in order.
pub fn module_assignments(root: Node) -> Vec<(Node, Node)> {
    let mut out = Vec::new();
    let mut cursor = root.walk();
    for statement in root.named_children(&mut cursor) {
        if statement.kind_name() != "expression_statement" {
            continue;
        }
        let Some(assignment) = statement
            .named_child(0)
            .filter(|a| a.kind_name() == "assignment")
        else {
            continue;
        };
        if let (Some(left), Some(right)) = (assignment.field("left"), assignment.field("right"))
            && left.kind_name() == "identifier"
        {
            out.push((left, right));
        }
    }
    out
}

/// The key a node names: a string's value; a constant's value from this file or
/// the integration; else `CONF_X`/`ATTR_X` from `homeassistant.const` means `"x"`.
pub fn key_name<'t>(ctx: &FileContext<'t>, node: Node<'t>) -> Option<String> {
    match node.kind_name() {
        "string" => string_value(node, ctx.source),
        "identifier" => constant_key(ctx, ctx.text(node)),
        "attribute" => constant_key(ctx, ctx.text(node.field("attribute")?)),
        "parenthesized_expression" => key_name(ctx, node.named_child(0)?),
        _ => None,
    }
}

fn constant_key<'t>(ctx: &FileContext<'t>, name: &str) -> Option<String> {
    if let Some(value) = ctx.module_constants().get(name) {
        return Some(value.clone());
    }
    if let Some(value) = ctx.integration.as_ref().and_then(|f| f.constants.get(name)) {
        return Some(value.clone());
    }
    home_assistant_key(name)
}

/// `CONF_X` and `ATTR_X` of `homeassistant.const` mean `"x"`.
fn home_assistant_key(name: &str) -> Option<String> {
    let rest = name
        .strip_prefix("CONF_")
        .or_else(|| name.strip_prefix("ATTR_"))?;
    (!rest.is_empty()).then(|| rest.to_ascii_lowercase())
}

/// Is the key a node names secret-like?
pub fn is_secret_key<'t>(ctx: &FileContext<'t>, node: Node<'t>) -> bool {
    key_name(ctx, node).is_some_and(|key| ctx.vocabulary.is_secret_like(&key))
}

// ---------------------------------------------------------------------------
// Schemas

/// The field keys of a schema expression, resolved (`CONF_API_KEY` →
/// `api_key`): a dictionary, `vol.Schema({...})`, `X.extend({...})`,
/// `self.add_suggested_values_to_schema(X, ...)`, a name assigned one of those
/// (in the function or the module), a call to a helper function of the file
/// that returns one, or a schema or helper another module of the integration
/// defines (its integration facts).
pub fn schema_fields<'t>(ctx: &FileContext<'t>, expr: Node<'t>) -> Vec<String> {
    let mut out = Vec::new();
    collect_fields(ctx, expr, 0, &mut out);
    out
}

/// Does the schema have a secret-like field?
pub fn schema_has_secret<'t>(ctx: &FileContext<'t>, expr: Node<'t>) -> bool {
    schema_fields(ctx, expr)
        .iter()
        .any(|key| ctx.vocabulary.is_secret_like(key))
}

/// The name a schema marker (`vol.Required(CONF_X, default=...)`) or plain key names.
pub fn marker_key<'t>(ctx: &FileContext<'t>, key: Node<'t>) -> Option<String> {
    if key.kind_name() == "call"
        && matches!(
            callee_name(ctx, key),
            "Required" | "Optional" | "Exclusive" | "Inclusive" | "Remove"
        )
    {
        return key_name(ctx, *positional_args(key).first()?);
    }
    key_name(ctx, key)
}

fn collect_fields<'t>(ctx: &FileContext<'t>, expr: Node<'t>, depth: usize, out: &mut Vec<String>) {
    if depth > MAX_DEPTH {
        return;
    }
    let next = depth + 1;
    match expr.kind_name() {
        "dictionary" => {
            let mut cursor = expr.walk();
            for child in expr.named_children(&mut cursor) {
                match child.kind_name() {
                    "pair" => {
                        if let Some(name) = child.field("key").and_then(|key| marker_key(ctx, key))
                        {
                            out.push(name);
                        }
                    }
                    "dictionary_splat" => {
                        if let Some(inner) = child.named_child(0) {
                            collect_fields(ctx, inner, next, out);
                        }
                    }
                    _ => {}
                }
            }
        }
        "call" => match callee_name(ctx, expr) {
            "Schema" | "add_suggested_values_to_schema" => {
                if let Some(first) = positional_args(expr)
                    .first()
                    .copied()
                    .or_else(|| keyword_arg(ctx, expr, "schema"))
                    .or_else(|| keyword_arg(ctx, expr, "data_schema"))
                {
                    collect_fields(ctx, first, next, out);
                }
            }
            "extend" => {
                if let Some(object) = expr.field("function").and_then(|f| f.field("object")) {
                    collect_fields(ctx, object, next, out);
                }
                for arg in positional_args(expr) {
                    collect_fields(ctx, arg, next, out);
                }
            }
            "All" | "Any" => {
                for arg in positional_args(expr) {
                    collect_fields(ctx, arg, next, out);
                }
            }
            _ => {
                let returns = helper_returns(ctx, expr);
                if returns.is_empty() {
                    let callee = expr.field("function");
                    out.extend(other_module_schema(ctx, callee));
                }
                for value in returns {
                    collect_fields(ctx, value, next, out);
                }
            }
        },
        "identifier" => {
            let values = assigned_values(ctx, expr);
            if values.is_empty() {
                out.extend(other_module_schema(ctx, Some(expr)));
            }
            for value in values {
                collect_fields(ctx, value, next, out);
            }
        }
        "parenthesized_expression" | "await" => {
            if let Some(inner) = expr.named_child(0) {
                collect_fields(ctx, inner, next, out);
            }
        }
        "keyword_argument" => {
            if let Some(value) = expr.field("value") {
                collect_fields(ctx, value, next, out);
            }
        }
        "conditional_expression" => {
            let count = expr.named_child_count() as u32;
            for i in [0, count.saturating_sub(1)] {
                if let Some(value) = expr.named_child(i) {
                    collect_fields(ctx, value, next, out);
                }
            }
        }
        _ => {}
    }
}

/// The keys of a schema (or of the schema a helper returns) that another module
/// of the integration defines, by the name used here (`X` or `schemas.X`).
fn other_module_schema<'t>(ctx: &FileContext<'t>, name: Option<Node<'t>>) -> Vec<String> {
    let (Some(name), Some(facts)) = (name, ctx.integration.as_ref()) else {
        return Vec::new();
    };
    facts
        .schemas
        .get(last_name(ctx, name))
        .map(|keys| keys.iter().cloned().collect())
        .unwrap_or_default()
}

/// The names a form's schema expression comes from when it is not built in
/// this file: `CONNECTION_SCHEMA` imported, `async_get_schema` of
/// `await async_get_schema(...)` (followed through local assignments).
pub fn schema_names<'t>(ctx: &FileContext<'t>, expr: Node<'t>) -> Vec<&'t str> {
    let mut out = Vec::new();
    let mut stack = vec![(expr, 0)];
    while let Some((node, depth)) = stack.pop() {
        if depth > MAX_DEPTH {
            continue;
        }
        match node.kind_name() {
            "identifier" => {
                let values = assigned_values(ctx, node);
                if values.is_empty() {
                    out.push(ctx.text(node));
                }
                stack.extend(values.into_iter().map(|v| (v, depth + 1)));
            }
            "attribute" => out.push(last_name(ctx, node)),
            "await" | "parenthesized_expression" => {
                stack.extend(node.named_child(0).map(|inner| (inner, depth + 1)));
            }
            "call" if helper_returns(ctx, node).is_empty() => {
                if let Some(function) = node.field("function") {
                    out.push(last_name(ctx, function));
                }
            }
            _ => {}
        }
    }
    out
}

/// Module-level schemas of one file, and module-level functions returning one:
/// their field keys by name (the integration facts keep them for the other
/// modules, see [`other_module_schema`]).
pub fn module_schemas<'t>(ctx: &FileContext<'t>) -> Vec<(&'t str, Vec<String>)> {
    let root = ctx.tree.root_node();
    let mut out = Vec::new();
    for (left, right) in module_assignments(root) {
        let keys = schema_fields(ctx, right);
        if !keys.is_empty() {
            out.push((ctx.text(left), keys));
        }
    }
    for function in module_functions(ctx, root) {
        let Some(name) = function.field("name") else {
            continue;
        };
        let mut returns = Vec::new();
        values::returns_of(function, &mut returns);
        let mut keys = Vec::new();
        for value in returns {
            collect_fields(ctx, value, 0, &mut keys);
        }
        if !keys.is_empty() {
            out.push((ctx.text(name), keys));
        }
    }
    out
}

/// The module's functions, and the static and class methods of its classes
/// (`ConfigData.default_schema(...)` is called like a function of the module).
fn module_functions<'t>(ctx: &FileContext<'t>, root: Node<'t>) -> Vec<Node<'t>> {
    let mut functions = Vec::new();
    let mut cursor = root.walk();
    for statement in root.named_children(&mut cursor) {
        match definition(statement) {
            Some(function) if function.kind_name() == "function_definition" => {
                functions.push(function);
            }
            Some(class) if class.kind_name() == "class_definition" => {
                let Some(body) = class.field("body") else {
                    continue;
                };
                let mut inner = body.walk();
                for member in body.named_children(&mut inner) {
                    if member.kind_name() == "decorated_definition"
                        && is_static_or_class_method(ctx, member)
                        && let Some(method) = definition(member)
                    {
                        functions.push(method);
                    }
                }
            }
            _ => {}
        }
    }
    functions
}

/// The function or class a statement defines, decorated or not.
fn definition(statement: Node) -> Option<Node> {
    match statement.kind_name() {
        "function_definition" | "class_definition" => Some(statement),
        "decorated_definition" => statement.field("definition"),
        _ => None,
    }
}

/// `@staticmethod` or `@classmethod` decorates the definition.
fn is_static_or_class_method<'t>(ctx: &FileContext<'t>, decorated: Node<'t>) -> bool {
    let mut cursor = decorated.walk();
    decorated
        .named_children(&mut cursor)
        .filter(|child| child.kind_name() == "decorator")
        .any(|decorator| {
            matches!(
                ctx.text(decorator).trim_start_matches('@').trim(),
                "staticmethod" | "classmethod"
            )
        })
}

/// The values a name is assigned: in the enclosing function (before or after:
/// flows often rebuild a schema), else at module level.
pub fn assigned_values<'t>(ctx: &FileContext<'t>, name: Node<'t>) -> Vec<Node<'t>> {
    if !ctx.spend() {
        return Vec::new();
    }
    let wanted = ctx.text(name).as_bytes();
    let values_in = |scope: Node<'t>| -> Vec<Node<'t>> {
        ctx.scope_assignments(scope)
            .iter()
            .filter(|(left, right)| {
                ctx.source.get(left.clone()) == Some(wanted) && !right.contains(&name.start_byte())
            })
            .filter_map(|(_, right)| {
                scope
                    .named_descendant_for_byte_range(right.start, right.end)
                    .filter(|node| node.byte_range() == *right)
            })
            .collect()
    };
    if let Some(function) = enclosing_function(ctx, name) {
        let values = values_in(function);
        if !values.is_empty() {
            return values;
        }
    }
    values_in(ctx.tree.root_node())
}

/// `name = value` assignments of a scope: every one in a function (nested
/// blocks included), the top-level ones of the module.
pub fn scope_assignments(scope: Node) -> Vec<(Node, Node)> {
    if scope.kind_name() != "function_definition" {
        return module_assignments(scope);
    }
    let mut out = Vec::new();
    visit(scope, &mut |node| {
        if node.kind_name() == "assignment"
            && let (Some(left), Some(right)) = (node.field("left"), node.field("right"))
            && left.kind_name() == "identifier"
        {
            out.push((left, right));
        }
    });
    out.sort_by_key(|(left, _)| left.start_byte());
    out
}

/// For a call to a function of this file (`_schema(...)`, `self._schema(...)`),
/// the values its `return` statements give.
fn helper_returns<'t>(ctx: &FileContext<'t>, call: Node<'t>) -> Vec<Node<'t>> {
    if !ctx.spend() {
        return Vec::new();
    }
    let Some(function) = call.field("function") else {
        return Vec::new();
    };
    let name = match function.kind_name() {
        "identifier" => ctx.text(function),
        "attribute"
            if function
                .field("object")
                .is_some_and(|o| ctx.text(o) == "self") =>
        {
            function.field("attribute").map_or("", |a| ctx.text(a))
        }
        _ => return Vec::new(),
    };
    if name.is_empty() {
        return Vec::new();
    }
    let mut returns = Vec::new();
    for function in ctx.functions_named(name).iter() {
        if !function.byte_range().contains(&call.start_byte()) {
            values::returns_of(*function, &mut returns);
        }
    }
    returns
}

// ---------------------------------------------------------------------------
// Forms and steps

/// A form a flow shows: `self.async_show_form(step_id=..., data_schema=X)`.
#[derive(Debug, Clone, Copy)]
pub struct Form<'t> {
    pub call: Node<'t>,
    pub schema: Node<'t>,
}

/// The step id of a form, when it is a string literal.
pub fn form_step_id<'t>(ctx: &FileContext<'t>, form: &Form<'t>) -> Option<String> {
    string_value(keyword_arg(ctx, form.call, "step_id")?, ctx.source)
}

/// Every form shown within `scope`.
pub fn forms_in<'t>(ctx: &FileContext<'t>, scope: Node<'t>) -> Vec<Form<'t>> {
    let within = scope.byte_range();
    ctx.calls_named("async_show_form")
        .iter()
        .filter(|call| within.start <= call.start_byte() && call.end_byte() <= within.end)
        .filter_map(|&call| {
            let schema = keyword_arg(ctx, call, "data_schema")?;
            Some(Form { call, schema })
        })
        .collect()
}

/// The forms whose submission a step method receives: those it shows itself,
/// and those shown elsewhere in its class with its step id.
pub fn step_forms<'t>(ctx: &FileContext<'t>, node: Node<'t>) -> Vec<Form<'t>> {
    let Some(function) = enclosing_function(ctx, node) else {
        return Vec::new();
    };
    let name = function.field("name").map_or("", |n| ctx.text(n));
    let mut forms = forms_in(ctx, function);
    if let (Some(step), Some(class)) = (
        name.strip_prefix("async_step_"),
        enclosing_class(ctx, function),
    ) {
        for form in forms_in(ctx, class) {
            if !function.byte_range().contains(&form.call.start_byte())
                && form_step_id(ctx, &form).as_deref() == Some(step)
            {
                forms.push(form);
            }
        }
    }
    forms
}

/// Does the form that produced the step's `user_input` (the identifier `node`)
/// have a secret-like field that the mapping still holds (not popped or deleted
/// in the function)? `None` when no form of the step is found.
pub fn step_form_has_secret<'t>(ctx: &FileContext<'t>, node: Node<'t>) -> Option<bool> {
    let forms = step_forms(ctx, node);
    if forms.is_empty() {
        return None;
    }
    let removed = removed_keys(ctx, node);
    Some(forms.iter().any(|f| {
        schema_fields(ctx, f.schema)
            .iter()
            .any(|key| ctx.vocabulary.is_secret_like(key) && !removed.contains(key))
    }))
}

/// Keys removed from the mapping named `name` in its function: `name.pop(K)`,
/// `del name[K]`.
pub fn removed_keys<'t>(ctx: &FileContext<'t>, name: Node<'t>) -> Vec<String> {
    let Some(function) = enclosing_function(ctx, name) else {
        return Vec::new();
    };
    let wanted = ctx.text(name);
    let mut removed = Vec::new();
    visit(function, &mut |node| {
        let key = match node.kind_name() {
            "call" if callee_name(ctx, node) == "pop" => node
                .field("function")
                .and_then(|f| f.field("object"))
                .filter(|o| ctx.text(*o) == wanted)
                .and_then(|_| positional_args(node).first().copied()),
            "delete_statement" => node
                .named_child(0)
                .filter(|t| t.kind_name() == "subscript")
                .filter(|t| t.field("value").is_some_and(|v| ctx.text(v) == wanted))
                .and_then(|t| t.field("subscript")),
            _ => None,
        };
        if let Some(key) = key.and_then(|k| key_name(ctx, k)) {
            removed.push(key);
        }
    });
    removed
}

/// The name of a step method's submitted-data parameter (`user_input`), if `node`
/// is in a step method.
pub fn step_input_name<'s>(ctx: &FileContext<'s>, node: Node<'s>) -> Option<&'s str> {
    let function = enclosing_function(ctx, node)?;
    let name = ctx.text(function.field("name")?);
    // `async_step` alone: a helper that runs every step for the flow handler.
    if !(name.starts_with("async_step_") || name == "async_step") {
        return None;
    }
    let parameters = function.field("parameters")?;
    let mut cursor = parameters.walk();
    let input = parameters.named_children(&mut cursor).nth(1)?;
    let ident = match input.kind_name() {
        "identifier" => input,
        _ => input.field("name")?,
    };
    Some(ctx.text(ident))
}

/// Does the file define a flow class of one of these kinds?
pub fn file_has_flow<'t>(ctx: &FileContext<'t>, kinds: &[&str]) -> bool {
    ctx.flow_kinds()
        .iter()
        .any(|kind| kinds.is_empty() || kinds.contains(&kind.name()))
}

// ---------------------------------------------------------------------------
// Named checks

/// Check `flow-class`: the node is inside a flow class of one of the given kinds
/// (`config`, `options`, `schema-config`, `schema-options`).
pub fn in_flow_class<'t>(ctx: &FileContext<'t>, node: Node<'t>, kinds: &[&str]) -> bool {
    ctx.ancestors(node)
        .filter(|n| n.kind_name() == "class_definition")
        .find_map(|class| flow_kind(ctx, class))
        .is_some_and(|kind| kinds.contains(&kind.name()))
}

/// Check `file-has-flow`: the file defines a flow class of one of the given kinds.
pub fn file_has_flow_check<'t>(ctx: &FileContext<'t>, _: Node<'t>, kinds: &[&str]) -> bool {
    file_has_flow(ctx, kinds)
}

/// Check `secret-key`: the node names a secret-like key (constants resolved).
pub fn secret_key_check<'t>(ctx: &FileContext<'t>, node: Node<'t>, _: &[&str]) -> bool {
    is_secret_key(ctx, node)
}

/// Check `secret-key-item`: the expression is a dictionary literal with an item
/// whose key is secret-like (rules report that item rather than the whole).
pub fn secret_key_item_check<'t>(ctx: &FileContext<'t>, node: Node<'t>, _: &[&str]) -> bool {
    let mut cursor = node.walk();
    node.kind_name() == "dictionary"
        && node.named_children(&mut cursor).any(|pair| {
            pair.kind_name() == "pair"
                && pair.field("key").is_some_and(|key| is_secret_key(ctx, key))
        })
}

/// Check `moved-out-of-options`: the options read (`self.options[KEY]`,
/// `entry.options.get(KEY)`) sits in a function that takes that key out of
/// the same options (`del self.options[KEY]`, `.pop(KEY)`): a migration moving
/// the secret to the entry's data, not evidence that it is kept in options.
pub fn moved_out_of_options<'t>(ctx: &FileContext<'t>, node: Node<'t>, _: &[&str]) -> bool {
    let (options, key) = match node.kind_name() {
        "subscript" => (node.field("value"), node.field("subscript")),
        "call" => (
            node.field("function").and_then(|f| f.field("object")),
            node.field("arguments")
                .and_then(|a| a.parts().first().copied()),
        ),
        _ => return false,
    };
    let (Some(options), Some(key), Some(function)) = (options, key, enclosing_function(ctx, node))
    else {
        return false;
    };
    let (options, key) = (ctx.text(options), ctx.text(key));
    let body = String::from_utf8_lossy(&ctx.source[function.start_byte()..function.end_byte()]);
    if !body.contains(key) {
        return false;
    }
    let key = regex::escape(key);
    let Ok(removal) = regex::Regex::new(&format!(
        r"del\s+([\w.]+)\[\s*{key}\s*\]|([\w.]+)\.pop\(\s*{key}\b"
    )) else {
        return false;
    };
    // The options themselves, or a copy of them made in the function
    // (`options = dict(entry.options)`).
    let copy_of_options = |name: &str| {
        name == options
            || body.lines().any(|line| {
                line.trim_start()
                    .strip_prefix(name)
                    .and_then(|rest| rest.trim_start().strip_prefix('='))
                    .is_some_and(|value| value.contains(options))
            })
    };
    removal.captures_iter(&body).any(|found| {
        found
            .get(1)
            .or_else(|| found.get(2))
            .is_some_and(|name| copy_of_options(name.as_str()))
    })
}

/// Check `secret-schema`: the schema expression has a secret-like field.
pub fn secret_schema_check<'t>(ctx: &FileContext<'t>, node: Node<'t>, _: &[&str]) -> bool {
    schema_has_secret(ctx, node)
}

/// Check `stores-secret`: the mapping given to `async_create_entry`/`async_update_entry`
/// holds a secret-like key: a dictionary with one, `**`-spreads of one, or the
/// step's `user_input` when its form has a secret-like field.
pub fn stores_secret<'t>(ctx: &FileContext<'t>, node: Node<'t>, _: &[&str]) -> bool {
    mapping_has_secret(ctx, node, 0)
}

fn mapping_has_secret<'t>(ctx: &FileContext<'t>, node: Node<'t>, depth: usize) -> bool {
    if depth > MAX_DEPTH {
        return false;
    }
    let next = depth + 1;
    match node.kind_name() {
        "dictionary" => {
            let mut cursor = node.walk();
            node.named_children(&mut cursor)
                .any(|child| match child.kind_name() {
                    "pair" => child.field("key").is_some_and(|k| is_secret_key(ctx, k)),
                    "dictionary_splat" => child
                        .named_child(0)
                        .is_some_and(|inner| mapping_has_secret(ctx, inner, next)),
                    _ => false,
                })
        }
        "identifier" => {
            if step_input_name(ctx, node) == Some(ctx.text(node)) {
                return step_form_has_secret(ctx, node) == Some(true);
            }
            enclosing_function(ctx, node).is_some()
                && (assigned_values(ctx, node)
                    .into_iter()
                    .any(|value| mapping_has_secret(ctx, value, next))
                    || local_items_store_secret(ctx, node, next))
        }
        // self._data, filled by other steps: `self._data.update(user_input)`.
        "attribute" => {
            let Some(writes) = attribute_writes(ctx, node) else {
                return false;
            };
            writes.items.iter().any(|(k, _)| is_secret_key(ctx, *k))
                || writes
                    .values
                    .iter()
                    .any(|value| mapping_has_secret(ctx, *value, next))
        }
        "binary_operator" => ["left", "right"].iter().any(|side| {
            node.field(side)
                .is_some_and(|s| mapping_has_secret(ctx, s, next))
        }),
        "call" if callee_name(ctx, node) == "dict" => {
            let Some(args) = node.field("arguments") else {
                return false;
            };
            let mut cursor = args.walk();
            args.named_children(&mut cursor)
                .any(|arg| match arg.kind_name() {
                    "keyword_argument" => arg
                        .field("name")
                        .is_some_and(|n| ctx.vocabulary.is_secret_like(ctx.text(n))),
                    "dictionary_splat" => arg
                        .named_child(0)
                        .is_some_and(|inner| mapping_has_secret(ctx, inner, next)),
                    _ => mapping_has_secret(ctx, arg, next),
                })
        }
        "parenthesized_expression" => node
            .named_child(0)
            .is_some_and(|inner| mapping_has_secret(ctx, inner, next)),
        _ => false,
    }
}

/// `options = dict(entry.options)` then `options[CONF_PASSWORD] = user_input[...]`:
/// an item stored under a secret key (or a mapping merged in that holds one)
/// before the local is used. A key cleared (`""`, `None`, `False`) stores
/// nothing, nor one taken out again before the use (`del options[KEY]`,
/// `options.pop(KEY)`).
fn local_items_store_secret<'t>(ctx: &FileContext<'t>, local: Node<'t>, depth: usize) -> bool {
    let scope = super::context::enclosing_scope(ctx, local);
    let name = ctx.text(local);
    ctx.bindings()
        .items(scope.id(), name)
        .iter()
        .filter(|store| store.value.start_byte() < local.start_byte())
        .any(|store| match store.key {
            Some(key) => {
                let cleared = matches!(store.value.kind_name(), "none" | "false")
                    || string_value(store.value, ctx.source).is_some_and(|v| v.is_empty());
                let between = &ctx.source[store.value.end_byte()..local.start_byte()];
                let spelled = ctx.text(key);
                let taken_out = [
                    format!("del {name}[{spelled}]"),
                    format!("{name}.pop({spelled}"),
                ]
                .iter()
                .any(|removal| memchr::memmem::find(between, removal.as_bytes()).is_some());
                !cleared && !taken_out && is_secret_key(ctx, key)
            }
            None => mapping_has_secret(ctx, store.value, depth),
        })
}

/// What a flow class writes into one of its mapping attributes (`self._data`).
#[derive(Debug, Default)]
pub struct AttributeWrites<'t> {
    /// Mappings stored or merged in: `self.X = v`, `self.X.update(v)`, `self.X |= v`.
    pub values: Vec<Node<'t>>,
    /// Items set one by one, key and value: `self.X[K] = v`.
    pub items: Vec<(Node<'t>, Node<'t>)>,
    /// Keys taken out again: `self.X.pop(K)`, `del self.X[K]`.
    pub removed: Vec<String>,
}

/// The writes to `self.NAME` across the enclosing class, or `None` when the
/// node is not such an attribute.
pub fn attribute_writes<'t>(ctx: &FileContext<'t>, node: Node<'t>) -> Option<AttributeWrites<'t>> {
    if !ctx.spend() {
        return None;
    }
    let object = node.field("object")?;
    if ctx.text(object) != "self" {
        return None;
    }
    let name = ctx.text(node);
    let class = enclosing_class(ctx, node)?;
    let mut writes = AttributeWrites::default();
    visit(class, &mut |n| match n.kind_name() {
        "assignment" | "augmented_assignment" => {
            let (Some(left), Some(right)) = (n.field("left"), n.field("right")) else {
                return;
            };
            if ctx.text(left) == name {
                writes.values.push(right);
            } else if left.kind_name() == "subscript"
                && left.field("value").is_some_and(|v| ctx.text(v) == name)
                && let Some(key) = left.field("subscript")
            {
                writes.items.push((key, right));
            }
        }
        "call" if matches!(callee_name(ctx, n), "update" | "pop") => {
            let target = n.field("function").and_then(|f| f.field("object"));
            if target.is_some_and(|t| ctx.text(t) == name) {
                if callee_name(ctx, n) == "update" {
                    writes.values.extend(positional_args(n));
                } else if let Some(key) = positional_args(n).first().and_then(|k| key_name(ctx, *k))
                {
                    writes.removed.push(key);
                }
            }
        }
        "delete_statement" => {
            if let Some(target) = n.named_child(0).filter(|t| t.kind_name() == "subscript")
                && target.field("value").is_some_and(|v| ctx.text(v) == name)
                && let Some(key) = target.field("subscript").and_then(|k| key_name(ctx, k))
            {
                writes.removed.push(key);
            }
        }
        _ => {}
    });
    Some(writes)
}

/// Is the assignment a YAML or service schema, not a form? `PLATFORM_SCHEMA`,
/// `*SERVICE*` schemas, and a `CONFIG_SCHEMA` keyed by the integration's
/// `DOMAIN` (config flows often name their form `CONFIG_SCHEMA` too).
fn is_yaml_schema<'t>(ctx: &FileContext<'t>, assignment: Node<'t>) -> bool {
    let Some(left) = assignment.field("left") else {
        return false;
    };
    let upper = ctx.text(left).to_ascii_uppercase();
    if upper.contains("PLATFORM_SCHEMA") || upper.contains("SERVICE") {
        return true;
    }
    upper == "CONFIG_SCHEMA"
        && assignment.field("right").is_some_and(|right| {
            let text = ctx.text(right);
            text.contains("{DOMAIN") || text.contains("DOMAIN:") || text.contains("config_schema")
        })
}

/// Check `form-schema`: the schema dictionary is shown in a config, options or
/// reauth flow form: it is written inside a flow class, or in a module that
/// defines a flow (a module constant or helper function), and is not a YAML
/// platform/config or service schema.
pub fn is_form_schema<'t>(ctx: &FileContext<'t>, node: Node<'t>, _: &[&str]) -> bool {
    for ancestor in ctx.ancestors(node) {
        match ancestor.kind_name() {
            "class_definition"
                if flow_kind(ctx, ancestor).is_some() || defines_steps(ctx, ancestor) =>
            {
                return true;
            }
            "assignment" if is_yaml_schema(ctx, ancestor) => return false,
            "function_definition" => {
                let name = ancestor.field("name").map_or("", |n| ctx.text(n));
                if name.contains("service") {
                    return false;
                }
            }
            _ => {}
        }
    }
    file_has_flow(ctx, &[]) || uses_schema_flow_steps(ctx) || shown_by_a_flow(ctx, node)
}

/// Does the class define a flow step (`async def async_step_user`)? A mixin
/// that the integration's config and options flows share, in a module of its
/// own, shows their forms without deriving from a flow class itself.
fn defines_steps<'t>(ctx: &FileContext<'t>, class: Node<'t>) -> bool {
    class.field("body").is_some_and(|body| {
        body.parts().into_iter().any(|statement| {
            let definition = match statement.kind_name() {
                "decorated_definition" => statement.field("definition"),
                _ => Some(statement),
            };
            definition
                .filter(|d| d.kind_name() == "function_definition")
                .and_then(|d| d.field("name"))
                .is_some_and(|name| ctx.text(name).starts_with("async_step_"))
        })
    })
}

/// Is the node inside a module-level schema or schema function that one of
/// the integration's flows shows as a form (a `schemas.py` beside the flow)?
fn shown_by_a_flow<'t>(ctx: &FileContext<'t>, node: Node<'t>) -> bool {
    let Some(facts) = ctx.integration.as_ref() else {
        return false;
    };
    let root = ctx.tree.root_node();
    let Some(top) = ctx
        .ancestors(node)
        .take_while(|n| n.id() != root.id())
        .last()
    else {
        return false;
    };
    let statement = match top.kind_name() {
        "decorated_definition" => top.field("definition").unwrap_or(top),
        _ => top,
    };
    let name = match statement.kind_name() {
        "function_definition" => statement.field("name"),
        "expression_statement" => statement
            .named_child(0)
            .filter(|a| a.kind_name() == "assignment")
            .and_then(|a| a.field("left")),
        _ => None,
    };
    name.is_some_and(|n| facts.form_schema_names.contains(ctx.text(n)))
}

/// Does the file build `SchemaFlowFormStep`s (a schema-based config or options flow)?
fn uses_schema_flow_steps<'t>(ctx: &FileContext<'t>) -> bool {
    ctx.contains("SchemaFlowFormStep")
}

/// May the integration's config entries hold a secret? Yes when its flows store
/// (or may store) a secret-like key, and when no flow was found to tell.
pub fn entry_may_hold_secret<'t>(ctx: &FileContext<'t>) -> bool {
    let facts = ctx.facts();
    !facts.flow_found || facts.may_store_secret(ctx.vocabulary)
}

/// May the entry mapping `node` ([`is_entry_mapping`]) hold a secret? Its
/// `options` only when the flows (may) store a secret-like key in options, or
/// no flow was found; its `data` and the whole entry as
/// [`entry_may_hold_secret`].
pub fn entry_mapping_may_hold_secret<'t>(ctx: &FileContext<'t>, node: Node<'t>) -> bool {
    let is_options = node.kind_name() == "attribute"
        && node
            .field("attribute")
            .is_some_and(|a| ctx.text(a) == "options");
    if is_options {
        options_may_hold_secret(ctx)
    } else {
        entry_may_hold_secret(ctx)
    }
}

/// May the entry's options hold a secret (stored there by an options flow or
/// `options=`)? Yes too when no flow was found to tell.
pub fn options_may_hold_secret<'t>(ctx: &FileContext<'t>) -> bool {
    let facts = ctx.facts();
    !facts.flow_found
        || facts
            .maybe_stored_option_keys
            .iter()
            .any(|key| facts.is_secret_key(key, ctx.vocabulary))
}

/// `entry.data`, `self.config_entry.options`, `entry.as_dict()`.
pub fn is_entry_mapping<'t>(ctx: &FileContext<'t>, node: Node<'t>) -> bool {
    let attribute = match node.kind_name() {
        "attribute" => Some(node),
        "call" => node
            .field("function")
            .filter(|f| f.kind_name() == "attribute"),
        _ => None,
    };
    let Some(attribute) = attribute else {
        return false;
    };
    let (Some(object), Some(name)) = (attribute.field("object"), attribute.field("attribute"))
    else {
        return false;
    };
    let wanted: &[&str] = if node.kind_name() == "call" {
        &["as_dict"]
    } else {
        &["data", "options"]
    };
    wanted.contains(&ctx.text(name)) && is_config_entry(ctx, object)
}

/// Does `object` stand for a config entry: a name ending in `entry` (not a
/// subentry nor a registry's entry), or what a flow's
/// `_get_reconfigure_entry()` or `_get_reauth_entry()`, or
/// `hass.config_entries.async_get_entry(...)`, returns, itself or through a
/// local every assignment of which is one?
fn is_config_entry<'t>(ctx: &FileContext<'t>, object: Node<'t>) -> bool {
    let holder = ctx.text(object).to_ascii_lowercase();
    if holder.ends_with("entry") {
        // A subentry holds a device's settings; device and entity registry
        // entries (`entity_entry.options`) are not config entries.
        return ![
            "subentry",
            "device_entry",
            "entity_entry",
            "registry_entry",
            "reg_entry",
        ]
        .iter()
        .any(|other| holder.ends_with(other));
    }
    let gets_entry = |value: Node| {
        let value = value.awaited();
        value.kind_name() == "call"
            && matches!(
                callee_name(ctx, value),
                "_get_reconfigure_entry" | "_get_reauth_entry" | "async_get_entry"
            )
    };
    match object.kind_name() {
        "call" => gets_entry(object),
        "identifier" => {
            let reaching = values::reaching(ctx, object);
            !reaching.is_empty() && reaching.iter().all(|a| gets_entry(a.value))
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::test_support::Snippet;

    #[test]
    fn module_constants_hold_strings_and_other_names_of_keys() {
        let snippet = Snippet::new(
            "API_KEY = CONF_API_KEY\nPIN = ATTR_PIN\nDEVICE_PIN = PIN\nHOST = 'host'\nOTHER = something\nLATER = AFTER\nAFTER = 'x'\n",
        );
        let constants = module_constants(snippet.root(), snippet.ctx().source);
        let value = |name: &str| constants.get(name).map(String::as_str);
        assert_eq!(value("API_KEY"), Some("api_key"));
        assert_eq!(value("PIN"), Some("pin"));
        assert_eq!(value("DEVICE_PIN"), Some("pin"));
        assert_eq!(value("HOST"), Some("host"));
        assert_eq!(value("OTHER"), None);
        assert_eq!(
            value("LATER"),
            None,
            "a name defined below is not known yet"
        );
    }

    const FLOWS: &str = r#"
from homeassistant import config_entries
from homeassistant.config_entries import ConfigFlow, OptionsFlow
from homeassistant.const import CONF_API_KEY, CONF_HOST, CONF_PASSWORD
from homeassistant.helpers.schema_config_entry_flow import SchemaConfigFlowHandler
import voluptuous as vol

CONF_APP_KEY = "application_key"

USER_SCHEMA = vol.Schema({vol.Required(CONF_HOST): str, vol.Required(CONF_API_KEY): str})
HOST_SCHEMA = vol.Schema({vol.Required(CONF_HOST): str})

def _options_schema(default):
    return vol.Schema({vol.Optional(CONF_APP_KEY, default=default): str})

class Base(config_entries.ConfigFlow):
    pass

class Flow(Base, domain="demo"):
    async def async_step_user(self, user_input=None):
        if user_input is not None:
            return self.async_create_entry(title="x", data=user_input)
        return self.async_show_form(step_id="user", data_schema=USER_SCHEMA)

    async def async_step_host(self, user_input=None):
        return self.async_show_form(
            step_id="host", data_schema=self.add_suggested_values_to_schema(HOST_SCHEMA, {})
        )

    async def async_step_confirm(self, info=None):
        return self.async_create_entry(title="x", data=info)

    async def async_step_other(self, user_input=None):
        schema = vol.Schema({vol.Required("pin"): str})
        return self.async_show_form(step_id="confirm", data_schema=schema)

class Options(OptionsFlow):
    async def async_step_init(self, user_input=None):
        return self.async_show_form(step_id="init", data_schema=_options_schema("x"))

class Helper(SchemaConfigFlowHandler, domain="helper"):
    pass

class Plain:
    pass
"#;

    #[test]
    fn classes_get_their_flow_kind_through_imports_and_local_bases() {
        let snippet = Snippet::new(FLOWS);
        let ctx = &snippet.ctx();
        let kinds: Vec<(&str, FlowKind)> = flow_classes(ctx)
            .into_iter()
            .map(|(class, kind)| (ctx.text(class.field("name").unwrap()), kind))
            .collect();
        assert!(kinds.contains(&("Base", FlowKind::Config)));
        assert!(kinds.contains(&("Flow", FlowKind::Config)), "{kinds:?}");
        assert!(kinds.contains(&("Options", FlowKind::Options)));
        assert!(kinds.contains(&("Helper", FlowKind::SchemaConfig)));
        assert!(!kinds.iter().any(|(name, _)| *name == "Plain"));
    }

    /// Flow classes anywhere: nested in classes, functions and compound
    /// statements, and in a file with a syntax error (where tree-sitter may
    /// hang a class under an `ERROR` node), each once, in document order.
    #[test]
    fn flow_classes_are_found_at_any_depth_and_past_syntax_errors() {
        let names = |source: &str| {
            let snippet = Snippet::new(source);
            let ctx = &snippet.ctx();
            flow_classes(ctx)
                .into_iter()
                .map(|(class, _)| ctx.text(class.field("name").unwrap()).to_string())
                .collect::<Vec<_>>()
        };
        let nested = "from homeassistant.config_entries import ConfigFlow\n\
                      class Outer:\n    class A(ConfigFlow):\n        pass\n\
                      if x:\n    @decorated\n    class B(ConfigFlow):\n        pass\n\
                      def f():\n    try:\n        class C(ConfigFlow):\n            pass\n    \
                      except E:\n        pass\n";
        assert_eq!(names(nested), ["A", "B", "C"]);
        // With syntax errors: what a walk of every node finds.
        for broken in [
            "from homeassistant.config_entries import ConfigFlow\nx = )\nclass D(ConfigFlow):\n    pass\n",
            "from homeassistant.config_entries import ConfigFlow\nf(class D(ConfigFlow):\n    pass\n",
            "from homeassistant.config_entries import ConfigFlow\ndef g(:\n    class D(ConfigFlow):\n        pass\n",
        ] {
            let snippet = Snippet::new(broken);
            assert!(snippet.tree.root_node().has_error(), "{broken}");
            let ctx = &snippet.ctx();
            let mut everywhere = Vec::new();
            visit(snippet.tree.root_node(), &mut |node| {
                if node.kind_name() == "class_definition" && flow_kind(ctx, node).is_some() {
                    everywhere.push(ctx.text(node.field("name").unwrap()).to_string());
                }
            });
            assert_eq!(names(broken), everywhere, "{broken}");
        }
        assert_eq!(
            names(
                "from homeassistant.config_entries import ConfigFlow\nx = )\nclass D(ConfigFlow):\n    pass\n"
            ),
            ["D"]
        );
    }

    #[test]
    fn keys_resolve_through_constants() {
        let snippet = Snippet::new(FLOWS);
        let ctx = &snippet.ctx();
        let key = snippet.find("identifier", "CONF_APP_KEY");
        assert_eq!(key_name(ctx, key).as_deref(), Some("application_key"));
        let key = snippet.find("identifier", "CONF_API_KEY");
        assert_eq!(key_name(ctx, key).as_deref(), Some("api_key"));
        assert!(is_secret_key(ctx, key));
        let host = snippet.find("identifier", "CONF_HOST");
        assert!(!is_secret_key(ctx, host));
    }

    #[test]
    fn step_forms_are_found_through_constants_suggested_values_helpers_and_step_ids() {
        let snippet = Snippet::new(FLOWS);
        let ctx = &snippet.ctx();
        let user = snippet.find("identifier", "user_input");
        let forms = step_forms(ctx, user);
        assert_eq!(forms.len(), 1);
        let keys = schema_fields(ctx, forms[0].schema);
        assert_eq!(keys, ["host", "api_key"]);
        assert_eq!(step_form_has_secret(ctx, user), Some(true));

        let host_form = snippet.find("string", "\"host\"");
        let host_form = forms_in(ctx, enclosing_function(ctx, host_form).unwrap());
        assert!(!schema_has_secret(ctx, host_form[0].schema));

        // `async_step_confirm` receives the form that `async_step_other` shows.
        let info = snippet.find("identifier", "info");
        assert_eq!(step_input_name(ctx, info), Some("info"));
        assert_eq!(step_form_has_secret(ctx, info), Some(true));

        let options = snippet.find("string", "\"init\"");
        let forms = forms_in(ctx, enclosing_function(ctx, options).unwrap());
        let keys = schema_fields(ctx, forms[0].schema);
        assert_eq!(keys, ["application_key"]);
    }

    #[test]
    fn stores_secret_follows_user_input_and_dictionaries() {
        let source = r#"
from homeassistant.config_entries import OptionsFlow
from homeassistant.const import CONF_PASSWORD, CONF_SCAN_INTERVAL
import voluptuous as vol

class Options(OptionsFlow):
    async def async_step_init(self, user_input=None):
        if user_input:
            merged = {**self.config_entry.options, **user_input}
            self.async_create_entry(data=merged)
            self.async_create_entry(data={CONF_SCAN_INTERVAL: 3})
            self.async_create_entry(data=dict(password="x"))
        return self.async_show_form(
            step_id="init", data_schema=vol.Schema({vol.Required(CONF_PASSWORD): str})
        )
"#;
        let snippet = Snippet::new(source);
        let ctx = &snippet.ctx();
        let data_args: Vec<Node> = {
            let mut found = Vec::new();
            visit(snippet.root(), &mut |n| {
                if n.kind_name() == "call" && callee_name(ctx, n) == "async_create_entry" {
                    found.push(keyword_arg(ctx, n, "data").unwrap());
                }
            });
            found.sort_by_key(|n| n.start_byte());
            found
        };
        let verdicts: Vec<bool> = data_args
            .iter()
            .map(|arg| stores_secret(ctx, *arg, &[]))
            .collect();
        assert_eq!(verdicts, [true, false, true]);
    }

    #[test]
    fn a_pathological_chain_of_reassignments_does_not_hang() {
        let mut source = String::from(
            "from homeassistant.config_entries import ConfigFlow\nclass F(ConfigFlow):\n    async def async_step_user(self, user_input=None):\n        schema = vol.Schema({vol.Required('host'): str})\n",
        );
        for _ in 0..200 {
            source.push_str("        schema = schema.extend({}) if user_input else schema\n");
        }
        source
            .push_str("        return self.async_show_form(step_id='user', data_schema=schema)\n");
        let snippet = Snippet::new(&source);
        let ctx = &snippet.ctx();
        let user = snippet.find("identifier", "user_input");
        assert_eq!(step_form_has_secret(ctx, user), Some(false));
        // Each conditional reassignment doubles the values to follow: the file's
        // resolution budget, not the chain, is what ends the work (a test that
        // never finishes is the failure this guards against; no clock involved).
        assert_eq!(ctx.steps_spent(), super::super::context::RESOLUTION_BUDGET);
    }

    #[test]
    fn form_schemas_exclude_yaml_and_service_schemas() {
        let source = r#"
from homeassistant.config_entries import ConfigFlow
import voluptuous as vol

PLATFORM_SCHEMA = PLATFORM_SCHEMA.extend({vol.Required("api_key"): str})
SERVICE_SCHEMA = vol.Schema({vol.Required("pin"): str})
STEP_USER = vol.Schema({vol.Required("token"): str})

class Flow(ConfigFlow, domain="x"):
    pass
"#;
        {
            let snippet = Snippet::new(source);
            let ctx = &snippet.ctx();
            let dict_of = |key: &str| {
                let s = snippet.find("string", key);
                ctx.ancestors(s)
                    .find(|n| n.kind_name() == "dictionary")
                    .unwrap()
            };
            assert!(!is_form_schema(ctx, dict_of("\"api_key\""), &[]));
            assert!(!is_form_schema(ctx, dict_of("\"pin\""), &[]));
            assert!(is_form_schema(ctx, dict_of("\"token\""), &[]));
        }
        let form_named_config = "from homeassistant.config_entries import ConfigFlow\nimport voluptuous as vol\nCONFIG_SCHEMA = vol.Schema({vol.Required('api_key'): str})\nclass F(ConfigFlow):\n    pass\n";
        {
            let snippet = Snippet::new(form_named_config);
            let ctx = &snippet.ctx();
            let s = snippet.find("string", "'api_key'");
            let dict = ctx
                .ancestors(s)
                .find(|n| n.kind_name() == "dictionary")
                .unwrap();
            assert!(
                is_form_schema(ctx, dict, &[]),
                "a flow's form named CONFIG_SCHEMA"
            );
        }
        let yaml_only =
            "import voluptuous as vol\nS = vol.Schema({vol.Required('api_key'): str})\n";
        {
            let snippet = Snippet::new(yaml_only);
            let ctx = &snippet.ctx();
            let s = snippet.find("string", "'api_key'");
            let dict = ctx
                .ancestors(s)
                .find(|n| n.kind_name() == "dictionary")
                .unwrap();
            assert!(!is_form_schema(ctx, dict, &[]));
        }
    }
}
