//! Paths chosen by a user: does a value from service-call data, a config-flow form
//! or a service handler's parameters reach a file API without being checked?

use std::{collections::HashSet, sync::LazyLock};

use regex::Regex;
use tree_sitter::Node;

use super::FileContext;
use crate::model::syntax::NodeExt;

/// What, written before the file API in the same function, shows the path was checked.
const VALIDATIONS: &[&str] = &[
    "is_allowed_path",
    "raise_if_invalid_filename",
    "raise_if_invalid_path",
    "is_absolute",
    "isabs",
    "is_relative_to",
    ".relative_to(",
    "commonpath",
    "basename",
    "secure_filename",
    // Home Assistant's `slugify` keeps letters, digits and `_` only.
    "slugify",
    "\"..\"",
    "'..'",
];

/// Check `existence-test-only`: the call's result (a joined path) goes straight
/// into a test of whether a file exists or how large or old it is
/// (`os.path.isfile(os.path.join(base, name))`, `os.stat(path).st_size`), which
/// reads, writes and lists nothing.
pub fn existence_test_only<'t>(ctx: &FileContext<'t>, node: Node<'t>, _: &[&str]) -> bool {
    const TESTS: &[&str] = &[
        "os.path.isfile",
        "os.path.isdir",
        "os.path.exists",
        "os.path.lexists",
        "os.path.getsize",
        "os.path.getmtime",
        "os.stat",
        "os.lstat",
    ];
    ctx.parent(node)
        .filter(|list| list.kind_name() == "argument_list")
        .and_then(|list| ctx.parent(list))
        .and_then(|call| call.field("function"))
        .is_some_and(|callee| crate::model::imports::qualname_matches(ctx, callee, TESTS))
}

/// Check `untrusted-path`: the expression is built from a user-chosen value
/// (`call.data[...]`, `call.data.get(...)`, `user_input[...]`, `user_input.get(...)`,
/// a parameter of an entity-service method, or a local assigned from one of
/// those in the same function), and nothing before it in that function validates
/// a path (`hass.config.is_allowed_path`, `raise_if_invalid_filename/path`,
/// `".." in`, `is_absolute()`, ...).
pub fn untrusted_path<'t>(ctx: &FileContext<'t>, node: Node<'t>, _: &[&str]) -> bool {
    let Some(function) = super::flow::enclosing_function(ctx, node) else {
        return false;
    };
    // Searched as bytes: the source is text, and checking that a whole
    // function (or file) is valid UTF-8 at every question costs more.
    let holds = |range: std::ops::Range<usize>, word: &str| {
        memchr::memmem::find(&ctx.source[range], word.as_bytes()).is_some()
    };
    // Most functions that open files read no user input: say so first, without
    // walking the file for registered handlers or reading the lines before.
    let body = function.byte_range();
    let given_call_data = || {
        function.field("name").is_some_and(|n| {
            ctx.facts()
                .service_data_parameters
                .contains_key(ctx.text(n))
        })
    };
    let may_read_input = holds(body.clone(), ".data")
        || holds(body, "user_input")
        || view_handler(ctx, function)
        || given_call_data()
        || super::flow::websocket_message_parameter(ctx, function).is_some();
    if !may_read_input && !ctx.contains("register_entity_service") {
        return false;
    }
    // `open(hass.config.path(name))`: the inner call that builds the path is
    // reported, once, where the path is made.
    if builds_path(ctx, node) || built_where_reported(ctx, node) {
        return false;
    }
    let before = function.start_byte()..node.start_byte();
    if validates_a_path(&ctx.source[before]) || checked_after_join(ctx, node, function) {
        return false;
    }
    let sources = Sources::of(ctx, function);
    sources.reaches(ctx, node)
}

/// `base / name` where `base` is a path (`Path(...)`, `hass.config.path(...)`,
/// another `/` join, or a local bound to one): the joined part.
fn joined_onto_path<'t>(ctx: &FileContext<'t>, node: Node<'t>) -> Option<Node<'t>> {
    if node.kind_name() != "binary_operator"
        || node.field("operator").is_none_or(|o| ctx.text(o) != "/")
    {
        return None;
    }
    node.field("left")
        .is_some_and(|base| is_path_value(ctx, base, 2))
        .then(|| node.field("right"))
        .flatten()
}

/// Does the callee join or make a path from its arguments
/// (`hass.config.path`, `os.path.join`, `pathlib.Path`)?
fn is_path_builder<'t>(ctx: &FileContext<'t>, callee: Node<'t>) -> bool {
    ctx.text(callee).ends_with("hass.config.path")
        || crate::model::imports::qualname_matches(
            ctx,
            callee,
            &["os.path.join", "pathlib.Path", "pathlib.PurePath"],
        )
}

/// Check `path-value`: the expression is a path object or string.
pub fn path_value<'t>(ctx: &FileContext<'t>, node: Node<'t>, _: &[&str]) -> bool {
    is_path_value(ctx, node, 2)
}

fn is_path_value<'t>(ctx: &FileContext<'t>, node: Node<'t>, hops: usize) -> bool {
    match node.kind_name() {
        "call" => node.field("function").is_some_and(|callee| {
            is_path_builder(ctx, callee)
                || crate::model::imports::qualname_matches(ctx, callee, &["os.path.dirname"])
        }),
        "binary_operator" => joined_onto_path(ctx, node).is_some(),
        "parenthesized_expression" => node
            .parts()
            .first()
            .is_some_and(|i| is_path_value(ctx, *i, hops)),
        "identifier" if hops > 0 => crate::model::values::reaching(ctx, node)
            .iter()
            .any(|a| is_path_value(ctx, a.value, hops - 1)),
        _ => false,
    }
}

/// `full = base / name`, then `full.resolve().relative_to(base)`: a join is
/// most often checked after it is made, on a line that names its result.
fn checked_after_join<'t>(ctx: &FileContext<'t>, node: Node<'t>, function: Node<'t>) -> bool {
    let Some(join) = ctx
        .parent(node)
        .filter(|parent| joined_onto_path(ctx, *parent).is_some_and(|j| j.id() == node.id()))
    else {
        return false;
    };
    let Some(result) = ctx
        .parent(join)
        .filter(|a| a.kind_name() == "assignment")
        .and_then(|a| a.field("left"))
        .filter(|left| left.kind_name() == "identifier")
    else {
        return false;
    };
    let name = ctx.text(result).as_bytes();
    ctx.source[join.end_byte()..function.end_byte()]
        .split(|&b| b == b'\n')
        .filter(|line| memchr::memmem::find(line, name).is_some())
        .any(validates_a_path)
}

/// Does a line of `text` validate a path? Not where the validation only makes a
/// default (`name = call.data.get("file") or slugify(alias)`): the value the
/// caller gave is then used as it came.
fn validates_a_path(text: &[u8]) -> bool {
    text.split(|&b| b == b'\n').any(|line| {
        VALIDATIONS.iter().any(|v| {
            memchr::memmem::find(line, v.as_bytes())
                .is_some_and(|at| memchr::memmem::find(&line[..at], b" or ").is_none())
        })
    })
}

/// Is the expression a call that builds a path from a user-chosen value
/// (`hass.config.path(name)`, `os.path.join(base, name)`), reported itself?
fn builds_path<'t>(ctx: &FileContext<'t>, node: Node<'t>) -> bool {
    if let Some(joined) = joined_onto_path(ctx, node) {
        return untrusted_path(ctx, joined, &[]);
    }
    let Some(callee) = node
        .field("function")
        .filter(|_| node.kind_name() == "call")
    else {
        return false;
    };
    is_path_builder(ctx, callee)
        && node.field("arguments").is_some_and(|arguments| {
            let mut cursor = arguments.walk();
            let inner: Vec<Node> = arguments.named_children(&mut cursor).collect();
            inner.into_iter().any(|a| untrusted_path(ctx, a, &[]))
        })
}

/// `filename = hass.config.path(name)` then `open(filename)` or
/// `os.makedirs(os.path.dirname(filename))`: the path was reported where it
/// was built, and each use of it is the same problem.
fn built_where_reported<'t>(ctx: &FileContext<'t>, node: Node<'t>) -> bool {
    let mut value = node;
    while value.kind_name() == "call"
        && value.field("function").is_some_and(|f| {
            crate::model::imports::qualname_matches(ctx, f, &["os.path.dirname", "str"])
        })
    {
        let Some(inner) = value.field("arguments").and_then(|a| a.named_child(0)) else {
            return false;
        };
        value = inner;
    }
    if value.kind_name() != "identifier" {
        return false;
    }
    let reaching = crate::model::values::reaching(ctx, value);
    !reaching.is_empty() && reaching.iter().all(|a| builds_path(ctx, a.value))
}

/// The user-controlled names of one function.
struct Sources {
    /// Parameters whose `.data` is service-call data (`call`, `service`, a `ServiceCall`).
    call_objects: HashSet<String>,
    /// Parameters and locals whose value is user-chosen.
    tainted: HashSet<String>,
    /// Parameters that receive a service call's data from another function of
    /// the integration (`IntegrationFacts::service_data_parameters`), and a
    /// websocket command's message.
    call_data: HashSet<String>,
}

impl Sources {
    fn of<'t>(ctx: &FileContext<'t>, function: Node<'t>) -> Self {
        let mut sources = Sources {
            call_objects: HashSet::new(),
            tainted: HashSet::new(),
            call_data: HashSet::new(),
        };
        sources
            .call_data
            .extend(super::flow::websocket_message_parameter(ctx, function).map(str::to_string));
        let name = function.field("name").map(|n| ctx.text(n)).unwrap_or("");
        let given_call_data = ctx.facts().service_data_parameters.get(name).cloned();
        let mut position = 0;
        let (methods, handlers) = registered_handlers(ctx);
        let entity_service = methods.contains(name);
        // An HTTP view's handler: a parameter named in the view's URL
        // (`/{filename:.*}`) is a part of the URL the requester chose.
        let url_part = |ident: &str| {
            view_handler(ctx, function)
                && ctx
                    .ancestors(function)
                    .find(|n| n.kind_name() == "class_definition")
                    .is_some_and(|class| ctx.text(class).contains(&format!("{{{ident}")))
        };
        let mut first_of_handler = handlers.contains(name);
        if let Some(parameters) = function.field("parameters") {
            let mut cursor = parameters.walk();
            for parameter in parameters.named_children(&mut cursor) {
                let (ident, annotation) = parameter_name(ctx, parameter);
                if ident.is_empty() || ident == "self" || ident == "cls" {
                    continue;
                }
                if given_call_data
                    .as_ref()
                    .is_some_and(|positions| positions.contains(&position))
                {
                    sources.call_data.insert(ident.to_string());
                }
                position += 1;
                let is_call = std::mem::take(&mut first_of_handler);
                if is_call
                    || annotation.contains("ServiceCall")
                    || matches!(ident, "call" | "service" | "service_call")
                    || ident.ends_with("_call")
                {
                    sources.call_objects.insert(ident.to_string());
                } else if (entity_service && ident != "hass") || url_part(ident) {
                    sources.tainted.insert(ident.to_string());
                }
            }
        }
        // Two passes reach locals assigned from locals assigned later in the text
        // (loops); more is rare enough not to pay for.
        for _ in 0..2 {
            let mut stack = vec![function.field("body")];
            while let Some(Some(node)) = stack.pop() {
                if matches!(
                    node.kind_name(),
                    "function_definition" | "lambda" | "class_definition"
                ) {
                    continue;
                }
                if matches!(
                    node.kind_name(),
                    "assignment" | "augmented_assignment" | "named_expression"
                ) {
                    let (left, right) = match node.kind_name() {
                        "named_expression" => (node.field("name"), node.field("value")),
                        _ => (node.field("left"), node.field("right")),
                    };
                    if let (Some(left), Some(right)) = (left, right)
                        && sources.reaches(ctx, right)
                    {
                        sources.taint_targets(ctx, left);
                    }
                }
                let mut cursor = node.walk();
                stack.extend(node.named_children(&mut cursor).map(Some));
            }
        }
        sources
    }

    fn taint_targets<'t>(&mut self, ctx: &FileContext<'t>, target: Node<'t>) {
        match target.kind_name() {
            "identifier" => {
                self.tainted.insert(ctx.text(target).to_string());
            }
            "pattern_list" | "tuple_pattern" | "list_pattern" => {
                let mut cursor = target.walk();
                for child in target.named_children(&mut cursor) {
                    self.taint_targets(ctx, child);
                }
            }
            _ => {}
        }
    }

    /// Does the expression contain a user-chosen value?
    fn reaches<'t>(&self, ctx: &FileContext<'t>, expression: Node<'t>) -> bool {
        let mut stack = vec![expression];
        while let Some(node) = stack.pop() {
            match node.kind_name() {
                "lambda" | "function_definition" => continue,
                "identifier" if self.tainted.contains(ctx.text(node)) => return true,
                "subscript" | "attribute" if self.is_form_or_call_data(ctx, node) => return true,
                // `self.filename` is not the local `filename`; `mode=` names no value.
                "attribute" => {
                    stack.extend(node.field("object"));
                    continue;
                }
                "keyword_argument" => {
                    stack.extend(node.field("value"));
                    continue;
                }
                _ => {}
            }
            let mut cursor = node.walk();
            stack.extend(node.named_children(&mut cursor));
        }
        false
    }

    /// `call.data[...]`, `call.data.get`, `user_input[...]`, `user_input.get`.
    fn is_form_or_call_data<'t>(&self, ctx: &FileContext<'t>, node: Node<'t>) -> bool {
        let base = match node.kind_name() {
            "subscript" => node.field("value"),
            // `user_input.get` / `call.data.get` (the call's function).
            _ => {
                let is_get = node
                    .field("attribute")
                    .is_some_and(|a| ctx.text(a) == "get");
                if !is_get {
                    return false;
                }
                node.field("object")
            }
        };
        let Some(base) = base else {
            return false;
        };
        let spelled = ctx.text(base);
        let user_chosen = spelled == "user_input"
            || self.call_data.contains(spelled)
            || spelled
                .strip_suffix(".data")
                .is_some_and(|object| self.call_objects.contains(object));
        user_chosen && !key_typed_as_non_path(ctx, node)
    }
}

/// Validators after which a value cannot hold a path: numbers, booleans, choices.
static NON_PATH_VALIDATOR: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"^\s*(vol\.All\(\s*)?(int|float|bool|cv\.(positive_int|positive_float|small_float|port|boolean|byte|time_period\w*)|vol\.(Coerce\(\s*(int|float)\s*\)|In\(|Range\()|cv\.entity_ids?\b|cv\.entity_domain)",
    )
    .unwrap()
});

/// Is the key read (`call.data[KEY]`, `call.data.get(KEY)`) declared somewhere in
/// the file's schemas with a validator that rules out a path
/// (`vol.Required(KEY): vol.All(vol.Coerce(int), vol.Range(min=0))`)?
fn key_typed_as_non_path<'t>(ctx: &FileContext<'t>, read: Node<'t>) -> bool {
    let key = match read.kind_name() {
        "subscript" => read.field("subscript"),
        // `x.get` is the function of a call: its first argument is the key.
        _ => ctx
            .parent(read)
            .filter(|p| p.kind_name() == "call")
            .and_then(|call| call.field("arguments"))
            .and_then(|args| args.named_child(0)),
    };
    let Some(key) = key else {
        return false;
    };
    // `"address"` and `'address'` are the same key.
    let key = match key.kind_name() {
        "string" => format!(
            r#"["']{}["']"#,
            regex::escape(ctx.text(key).trim_matches(['"', '\'']))
        ),
        _ => regex::escape(ctx.text(key)),
    };
    let Ok(source) = std::str::from_utf8(ctx.source) else {
        return false;
    };
    let declaration = format!(r"vol\.(Required|Optional)\(\s*{key}\s*[,)][^:]*:");
    let Ok(declaration) = Regex::new(&declaration) else {
        return false;
    };
    declaration.find_iter(source).any(|found| {
        let rest = &source[found.end()..];
        let end = rest.char_indices().nth(120).map_or(rest.len(), |(i, _)| i);
        NON_PATH_VALIDATOR.is_match(&rest[..end])
    })
}

/// `(name, annotation text)` of a parameter node.
/// A request method (`get`, `post`, ...) of a class derived from an HTTP view
/// (`HomeAssistantView`).
fn view_handler<'t>(ctx: &FileContext<'t>, function: Node<'t>) -> bool {
    let is_request_method = function.field("name").is_some_and(|n| {
        matches!(
            ctx.text(n),
            "get" | "post" | "put" | "patch" | "delete" | "head"
        )
    });
    is_request_method && super::flow::in_view_class(ctx, function)
}

fn parameter_name<'a>(ctx: &FileContext<'a>, parameter: Node) -> (&'a str, &'a str) {
    match parameter.kind_name() {
        "identifier" => (ctx.text(parameter), ""),
        "typed_parameter" | "typed_default_parameter" | "default_parameter" => {
            let name = parameter
                .field("name")
                .or_else(|| parameter.named_child(0))
                .filter(|n| n.kind_name() == "identifier")
                .map(|n| ctx.text(n))
                .unwrap_or("");
            let annotation = parameter.field("type").map(|t| ctx.text(t)).unwrap_or("");
            (name, annotation)
        }
        _ => ("", ""),
    }
}

/// Handlers registered in this file, by name: (entity-service methods, whose
/// parameters are the service data: `platform.async_register_entity_service("snapshot",
/// SCHEMA, "async_snapshot")`; service-call handlers, whose first parameter is the
/// `ServiceCall`: `hass.services.async_register(DOMAIN, "export", handle_export)`).
fn registered_handlers<'a>(ctx: &FileContext<'a>) -> (HashSet<&'a str>, HashSet<&'a str>) {
    let mut methods = HashSet::new();
    let mut handlers = HashSet::new();
    let mut stack = vec![ctx.tree.root_node()];
    while let Some(node) = stack.pop() {
        if node.kind_name() == "call"
            && let Some(function) = node.field("function")
            && let Some(arguments) = node.field("arguments")
        {
            let callee = ctx.text(function);
            let entity_service = callee.ends_with("register_entity_service");
            let service = callee.ends_with("services.async_register")
                || callee.ends_with("services.register")
                || callee.ends_with("async_register_admin_service");
            let mut cursor = arguments.walk();
            for argument in arguments.named_children(&mut cursor) {
                let value = if argument.kind_name() == "keyword_argument" {
                    argument.field("value")
                } else {
                    Some(argument)
                };
                match value.map(|v| (v.kind_name(), v)) {
                    Some(("string", v)) if entity_service => {
                        methods.insert(ctx.text(v).trim_matches(['"', '\'']));
                    }
                    Some(("identifier" | "attribute", v)) if service => {
                        let name = ctx.text(v);
                        handlers.insert(name.rsplit('.').next().unwrap_or(name));
                    }
                    _ => {}
                }
            }
        }
        let mut cursor = node.walk();
        stack.extend(node.named_children(&mut cursor));
    }
    (methods, handlers)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::test_support::Snippet;

    /// Is the first argument of the call `call` untrusted?
    fn untrusted(source: &str, call: &str) -> bool {
        let snippet = Snippet::new(source);
        untrusted_path(&snippet.ctx(), snippet.argument(call, 0), &[])
    }

    #[test]
    fn service_data_and_form_input_reach_file_apis() {
        let source = "async def handle(call: ServiceCall):\n    name = call.data[ATTR_FILENAME]\n    full = f'/tmp/{name}'\n    open(full)\n\
            async def handle2(service):\n    os.remove(service.data.get('path'))\n\
            async def async_step_user(self, user_input=None):\n    Path(user_input[CONF_FILE])\n";
        assert!(untrusted(source, "open(full)"));
        assert!(untrusted(source, "os.remove(service.data.get('path'))"));
        assert!(untrusted(source, "Path(user_input[CONF_FILE])"));
    }

    #[test]
    fn entity_service_parameters_are_user_chosen() {
        let source = "platform.async_register_entity_service('snap', SCHEMA, 'async_snap')\n\
            class Cam:\n    async def async_snap(self, filename):\n        open(filename)\n\
            \n    async def other(self, filename):\n        open(filename, 'w')\n";
        assert!(untrusted(source, "open(filename)"));
        assert!(!untrusted(source, "open(filename, 'w')"));
    }

    #[test]
    fn the_first_parameter_of_a_registered_handler_is_the_call() {
        let source = "async def handle(event):\n    open(event.data['file'])\n\
            async def other(event):\n    open(event.data['file'], 'w')\n\
            hass.services.async_register(DOMAIN, 'x', handle)\n";
        assert!(untrusted(source, "open(event.data['file'])"));
        assert!(!untrusted(source, "open(event.data['file'], 'w')"));
    }

    #[test]
    fn validation_before_the_call_clears_it() {
        let source = "async def handle(hass, call):\n    name = call.data['file']\n    if not hass.config.is_allowed_path(name):\n        raise ValueError\n    open(name)\n\
            async def handle2(call):\n    name = call.data['file']\n    raise_if_invalid_filename(name)\n    os.remove(name)\n";
        assert!(!untrusted(source, "open(name)"));
        assert!(!untrusted(source, "os.remove(name)"));
    }

    #[test]
    fn keys_typed_as_numbers_by_a_schema_are_not_paths() {
        let source = "SCHEMA = vol.Schema({vol.Required(CONF_ADDRESS): vol.All(\n    vol.Coerce(int), vol.Range(min=0)),\n    vol.Required(CONF_NAME): cv.string})\n\
            async def handle(call):\n    os.unlink(f'cache/{call.data[CONF_ADDRESS]}.p')\n    os.unlink(f'cache/{call.data[CONF_NAME]}.p')\n";
        assert!(!untrusted(
            source,
            "os.unlink(f'cache/{call.data[CONF_ADDRESS]}.p')"
        ));
        assert!(untrusted(
            source,
            "os.unlink(f'cache/{call.data[CONF_NAME]}.p')"
        ));
    }

    #[test]
    fn other_values_are_not_user_chosen() {
        let source = "async def f(self, entry):\n    open(entry.data['path'])\n    open(self.path)\n    Path(__file__)\n\
            async def g(self, call):\n    filename = call.data['f']\n    open(self.filename)\n";
        assert!(!untrusted(source, "open(entry.data['path'])"));
        assert!(!untrusted(source, "open(self.path)"));
        assert!(!untrusted(source, "Path(__file__)"));
        assert!(!untrusted(source, "open(self.filename)"));
    }
}
