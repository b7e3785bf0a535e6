//! Value flow: does an expression carry a secret, or a whole mapping of
//! credentials, from a source to where a rule sees it?
//!
//! Answered backwards and on demand from the expression a rule's query
//! captured (the sinks are the queries), through the file's [`Bindings`]:
//! local assignments that reach the use, `self.` attributes assigned in any
//! method of the class, dictionary items stored one by one, merges and copies,
//! f-strings and `%`, the returns of the file's own functions and, for a
//! parameter, what the file's calls of its function pass. What carries a
//! secret through a call, and what makes a value safe, is data in
//! `rules/flow.toml`. Verdicts are memoised per node and label; a chain that
//! comes back to itself, or a file that spends its resolution budget, answers
//! "no" (less reported, never a hang).

use std::sync::LazyLock;

use serde::Deserialize;
use tree_sitter::Node;

use super::{
    FileContext,
    bindings::{Assignment, ItemStore, ScopeId, self_attribute},
    config_flow, enclosing_scope,
    names::{bound_name, is_constant_name, percent_arguments, secret_like, string_value},
};
use crate::model::syntax::NodeExt;
use crate::rules::vocabulary::split_words;

/// What a value may carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Label {
    /// A secret itself: a password, token, key.
    Secret,
    /// A whole mapping or object that holds credentials: a config entry's data,
    /// request headers, a login response, a dict with a secret item.
    Mapping,
    /// A library or coordinator object dumped whole (its debug data, `vars(obj)`,
    /// `obj.__dict__`, a login response kept for later): whatever it holds,
    /// tokens included.
    Dump,
}

/// `rules/flow.toml`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FlowSpec {
    pub sanitizers: Sanitizers,
    pub propagators: Propagators,
    pub sources: Sources,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Sanitizers {
    pub calls: Vec<String>,
    pub first_words: Vec<String>,
    pub any_words: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Propagators {
    pub same_value_methods: Vec<String>,
    pub same_value_calls: Vec<String>,
    pub mapping_copies: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Sources {
    pub credential_keys: Vec<String>,
    pub response_calls: Vec<String>,
    pub login_function_words: Vec<String>,
}

/// The flow specification hassec is built with.
pub static SPEC: LazyLock<FlowSpec> = LazyLock::new(|| {
    toml::from_str(include_str!("../../rules/flow.toml")).expect("rules/flow.toml is valid")
});

fn listed(list: &[String], word: &str) -> bool {
    list.iter().any(|w| w == word)
}

/// Does the callee's name say its result is no longer the secret?
pub fn clears_secret(callee: &str) -> bool {
    let spec = &SPEC.sanitizers;
    let words = split_words(callee);
    listed(&spec.calls, callee)
        || words.first().is_some_and(|w| listed(&spec.first_words, w))
        || words.iter().any(|w| listed(&spec.any_words, w))
}

/// Does `node` carry a value with `label`?
pub fn carries<'t>(ctx: &FileContext<'t>, node: Node<'t>, label: Label) -> bool {
    if let Some(known) = ctx.verdict(node, label) {
        return known;
    }
    if !ctx.spend() {
        // Out of budget: what the expression says by itself, no hops.
        return named_source(ctx, node, label);
    }
    // A chain that comes back here answers no while it is being followed.
    ctx.set_verdict(node, label, false);
    let verdict = match label {
        Label::Secret => secret(ctx, node),
        Label::Mapping => mapping(ctx, node),
        Label::Dump => dump(ctx, node),
    };
    ctx.set_verdict(node, label, verdict);
    verdict
}

/// What an expression says by itself, without following any binding: a
/// secret-like name or key, an entry mapping, request headers.
fn named_source<'t>(ctx: &FileContext<'t>, node: Node<'t>, label: Label) -> bool {
    match (label, node.kind_name()) {
        (Label::Secret, "identifier") => {
            let name = ctx.text(node);
            !is_constant_name(name) && secret_like(ctx, name)
        }
        (Label::Secret, "attribute") => node.field("attribute").is_some_and(|a| {
            let name = ctx.text(a);
            !is_constant_name(name) && secret_like(ctx, name)
        }),
        (Label::Secret, "subscript") => node
            .field("subscript")
            .is_some_and(|key| key.kind_name() != "slice" && element_key_is_secret(ctx, key)),
        (Label::Mapping, "attribute") => {
            (config_flow::is_entry_mapping(ctx, node)
                && config_flow::entry_mapping_may_hold_secret(ctx, node))
                || is_request_headers(ctx, node)
                || is_auth_object(ctx, node)
        }
        _ => false,
    }
}

// ---------------------------------------------------------------------------
// Secrets

fn secret<'t>(ctx: &FileContext<'t>, node: Node<'t>) -> bool {
    let child = |field: &str| {
        node.field(field)
            .is_some_and(|c| carries(ctx, c, Label::Secret))
    };
    let mut cursor = node.walk();
    match node.kind_name() {
        "identifier" => {
            let name = ctx.text(node);
            if is_view_path_parameter(ctx, node) {
                return false;
            }
            // `safe_url = url.replace(password, "***")`: the name says it is masked.
            if says_masked(name) {
                return false;
            }
            let reaching = reaching(ctx, node);
            // `password = None`, `key = redact(key)`: the name says secret, the
            // value is not one; `for token in text.split()`: a word of some text.
            let holds_no_secret_value = !reaching.is_empty()
                && reaching.iter().all(|a| {
                    if is_loop(a) {
                        splits_text(ctx, a.value)
                    } else {
                        holds_no_secret(ctx, a.value)
                    }
                });
            (!is_constant_name(name) && secret_like(ctx, name) && !holds_no_secret_value)
                || reaching.iter().any(|a| {
                    if is_loop(a) {
                        element_secret(ctx, a.value)
                    } else {
                        carries(ctx, a.value, Label::Secret)
                    }
                })
                || parameter_arguments(ctx, node)
                    .into_iter()
                    .any(|arg| carries(ctx, arg, Label::Secret))
        }
        "attribute" => {
            let Some(attribute) = node.field("attribute") else {
                return false;
            };
            let name = ctx.text(attribute);
            let values = slot_values(ctx, node);
            // `self._api_key = "..."` in every assignment: written in the code.
            let holds_literal = !values.is_empty() && only_literals(ctx, node);
            (!is_constant_name(name) && secret_like(ctx, name) && !holds_literal)
                || values.into_iter().any(|v| carries(ctx, v, Label::Secret))
        }
        "subscript" => {
            let Some(key) = node.field("subscript") else {
                return false;
            };
            if key.kind_name() == "slice" {
                return false; // token[:4] shows a prefix, not the secret
            }
            element_key_is_secret(ctx, key)
                || (key.kind_name() == "integer" && child("value"))
                || node.field("value").is_some_and(|container| {
                    stored_under(ctx, container, key)
                        .into_iter()
                        .any(|v| carries(ctx, v, Label::Secret))
                })
        }
        "call" => call_secret(ctx, node),
        "string" => node
            .named_children(&mut cursor)
            .filter(|c| c.kind_name() == "interpolation")
            .any(|interpolation| {
                interpolation.field("expression").is_some_and(|e| {
                    carries(ctx, e, Label::Secret)
                        || labelled_interpolation(ctx, node, interpolation, e)
                })
            }),
        "binary_operator" => {
            let operator = node.field("operator").map(|o| ctx.text(o));
            match operator {
                Some("+") => child("left") || child("right"),
                Some("%") => child("right") || labelled_percent_operand(ctx, node),
                _ => false,
            }
        }
        // `token or default`: either side may be the value.
        "boolean_operator" => child("left") || child("right"),
        "await"
        | "parenthesized_expression"
        | "concatenated_string"
        | "list"
        | "tuple"
        | "set"
        | "expression_list" => node
            .named_children(&mut cursor)
            .any(|c| carries(ctx, c, Label::Secret)),
        "conditional_expression" => conditional_values(node)
            .into_iter()
            .any(|value| carries(ctx, value, Label::Secret)),
        "dictionary" => node.named_children(&mut cursor).any(|pair| {
            pair.kind_name() == "pair"
                && pair
                    .field("value")
                    .is_some_and(|v| carries(ctx, v, Label::Secret))
        }),
        "keyword_argument" => child("value"),
        _ => false,
    }
}

/// A parameter of an HTTP view's handler (`get(self, request, event_token)` in
/// a `HomeAssistantView`): a part of the URL the requester sent, which the
/// requester already knows, not a secret the integration holds.
fn is_view_path_parameter<'t>(ctx: &FileContext<'t>, node: Node<'t>) -> bool {
    let Some(function) = config_flow::enclosing_function(ctx, node) else {
        return false;
    };
    parameter_names(ctx, function).contains(&ctx.text(node))
        && config_flow::in_view_class(ctx, function)
}

/// The names of a function's parameters, in order (`""` where one has none
/// to read, such as a bare `*`).
fn parameter_names<'t>(ctx: &FileContext<'t>, function: Node<'t>) -> Vec<&'t str> {
    let Some(parameters) = function.field("parameters") else {
        return Vec::new();
    };
    let mut cursor = parameters.walk();
    parameters
        .named_children(&mut cursor)
        .map(|p| match p.kind_name() {
            "identifier" => ctx.text(p),
            _ => p
                .field("name")
                .or_else(|| p.named_child(0))
                .filter(|n| n.kind_name() == "identifier")
                .map_or("", |n| ctx.text(n)),
        })
        .collect()
}

/// Calls that make new random bytes, as many as their first argument says.
const RANDOM_VALUES: &[&str] = &[
    "secrets.token_hex",
    "secrets.token_urlsafe",
    "secrets.token_bytes",
];

fn call_secret<'t>(ctx: &FileContext<'t>, call: Node<'t>) -> bool {
    let Some(function) = call.field("function") else {
        return false;
    };
    let arguments = arguments(call);
    let any_argument = || {
        arguments.iter().any(|arg| {
            let value = match arg.kind_name() {
                "keyword_argument" => arg.field("value"),
                _ => Some(*arg),
            };
            value.is_some_and(|v| carries(ctx, v, Label::Secret))
        })
    };
    // `secrets.token_hex(4)`: a few random bytes made here are an id (a trace,
    // a request), a secret only by the name they are given; 16 bytes and more
    // (the default is 32) make a key.
    if crate::model::imports::qualname_matches(ctx, function, RANDOM_VALUES) {
        let bytes = arguments
            .first()
            .filter(|a| a.kind_name() == "integer")
            .and_then(|a| ctx.text(*a).parse::<u32>().ok());
        if bytes.is_some_and(|n| n < 16) {
            return false;
        }
    }
    let callee = callee_word(ctx, function);
    let spec = &SPEC.propagators;
    // `token.strip()` is the token: a string method keeps the value, even where
    // the same word starts a sanitizer's name (`strip_password(url)`).
    let string_method =
        function.kind_name() == "attribute" && listed(&spec.same_value_methods, callee);
    if clears_secret(callee) && !string_method {
        return false;
    }
    // quote_plus(password), urllib.parse.quote(password), base64.b64encode(...).
    if listed(&spec.same_value_calls, callee) && callee != "format" {
        return any_argument();
    }
    match function.kind_name() {
        "identifier" if listed(&spec.same_value_calls, callee) => any_argument(),
        "attribute" => {
            let object = function.field("object");
            let object_carries = || object.is_some_and(|o| carries(ctx, o, Label::Secret));
            match callee {
                // data.get("token"), entry.data.get(CONF_PASSWORD), and items
                // stored under the key: data["k"] = token; data.get("k").
                "get" | "pop" => arguments.first().is_some_and(|key| {
                    element_key_is_secret(ctx, *key)
                        || object.is_some_and(|container| {
                            stored_under(ctx, container, *key)
                                .into_iter()
                                .any(|v| carries(ctx, v, Label::Secret))
                        })
                }),
                "format" => {
                    object_carries() || any_argument() || labelled_format_argument(ctx, call)
                }
                // url.with_password(password), obj.set_token(t): the secret is
                // replaced by the argument (`with_password("xxx")` hides it);
                // url.with_query(q) keeps what the object held.
                method
                    if split_words(method)
                        .first()
                        .is_some_and(|w| matches!(w.as_str(), "with" | "set" | "replace"))
                        && method != "replace" =>
                {
                    if secret_like(ctx, method) {
                        any_argument()
                    } else {
                        object_carries() || any_argument()
                    }
                }
                // url.replace(password, "HIDDEN"): the secret is taken out.
                "replace"
                    if arguments
                        .first()
                        .is_some_and(|a| carries(ctx, *a, Label::Secret))
                        && arguments.get(1).is_some_and(|a| is_constant_value(ctx, *a)) =>
                {
                    false
                }
                method if listed(&spec.same_value_methods, method) => object_carries(),
                method => {
                    (secret_like(ctx, method) && !answers_other_than_the_secret(method))
                        || self_method_returns(ctx, function)
                            .into_iter()
                            .any(|r| carries(ctx, r, Label::Secret))
                }
            }
        }
        // get_token(), helpers of the file whose return is a secret.
        "identifier" => {
            (secret_like(ctx, callee) && !answers_other_than_the_secret(callee))
                || helper_returns(ctx, callee, call)
                    .into_iter()
                    .any(|r| carries(ctx, r, Label::Secret))
        }
        _ => false,
    }
}

/// `do_bearer_request(...)`, `token_request(...)`: a call that sends a request
/// (with a secret) answers with the service's response, not the secret; so
/// does one that hands the secret over or tries it (`_submit_password(...)`,
/// `test_credentials(...)`, `verify_token(...)`), or removes it
/// (`clear_pin_code(...)`, `revoke_token(...)`: a status).
fn answers_other_than_the_secret(callee: &str) -> bool {
    let words = split_words(callee);
    words.last().is_some_and(|w| w == "request")
        || words.first().is_some_and(|w| {
            matches!(
                w.as_str(),
                "submit"
                    | "send"
                    | "post"
                    | "test"
                    | "check"
                    | "verify"
                    | "validate"
                    | "clear"
                    | "delete"
                    | "remove"
                    | "revoke"
            )
        })
}

/// The last word of a callee: `f` of `f(...)`, `m` of `x.y.m(...)`.
fn callee_word<'t>(ctx: &FileContext<'t>, function: Node<'t>) -> &'t str {
    config_flow::last_name(ctx, function)
}

/// A call's arguments, comments left out (a bare generator is one argument).
pub(super) fn arguments(call: Node) -> Vec<Node> {
    call.field("arguments")
        .map(|args| {
            // `f(x for x in xs)`: the generator is the one argument.
            if args.kind_name() == "generator_expression" {
                return vec![args];
            }
            args.parts()
        })
        .unwrap_or_default()
}

/// Is the element read under `key` a secret by the key's name? Not when the
/// key is a variable (`used[api_key]`): its name says what the key's value is,
/// and what is stored under that value is not the secret.
fn element_key_is_secret<'t>(ctx: &FileContext<'t>, key: Node<'t>) -> bool {
    let variable = key.kind_name() == "identifier"
        && !is_constant_name(ctx.text(key))
        && config_flow::key_name(ctx, key).is_none();
    !variable && key_is_secret(ctx, key)
}

/// Does a mapping key name a secret? A string, or a constant resolved to its
/// string (`CONF_REFRESH = "refresh"` is read as `refresh`), or an unresolved
/// constant whose own name is secret-like (`CONF_PASSWORD`).
fn key_is_secret<'t>(ctx: &FileContext<'t>, key: Node<'t>) -> bool {
    if key.kind_name() == "identifier"
        && let Some(value) = config_flow::key_name(ctx, key)
    {
        return secret_like(ctx, &value) || credential_key(&value);
    }
    // `const.CONF_TOKEN` names its key; `self.entity_description.api_key` holds
    // the name of a field of the API's data, whatever that field is.
    if key.kind_name() == "attribute"
        && key
            .field("attribute")
            .is_some_and(|a| !is_constant_name(ctx.text(a)))
    {
        return false;
    }
    bound_name(key, ctx.source).is_some_and(|name| secret_like(ctx, &name) || credential_key(&name))
}

fn credential_key(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    listed(&SPEC.sources.credential_keys, &lower)
}

/// The key a mapping key node stands for, as a string when it can be read.
fn key_text<'t>(ctx: &FileContext<'t>, key: Node<'t>) -> Option<String> {
    match key.kind_name() {
        "identifier" => config_flow::key_name(ctx, key).or_else(|| Some(ctx.text(key).to_string())),
        _ => bound_name(key, ctx.source),
    }
}

// ---------------------------------------------------------------------------
// Names, slots, items, helpers and parameters

/// The assignments of a local name that may reach its use at `node`: the
/// latest one before it in a block that holds the use (it overwrites all
/// earlier ones), and any after that one (in branches), still before the use.
pub fn reaching<'t>(ctx: &FileContext<'t>, node: Node<'t>) -> Vec<Assignment<'t>> {
    let scope = enclosing_scope(ctx, node);
    let all = ctx.bindings().assignments(scope.id(), ctx.text(node));
    let before: Vec<Assignment<'t>> = all
        .iter()
        .copied()
        .filter(|a| {
            a.statement.end_byte() <= node.start_byte()
                || (a.statement.start_byte() < node.start_byte()
                    && !a.value.byte_range().contains(&node.start_byte())
                    && !a.statement.byte_range().contains(&node.start_byte()))
                || in_loop_body(a.statement, node)
        })
        // Code under `if DEBUG:` with `DEBUG = False` never runs.
        .filter(|a| !in_dead_branch(ctx, a.statement))
        .collect();
    // The last assignment whose block also holds the use dominates it.
    let dominating = before.iter().rposition(|a| {
        ctx.parent(a.statement)
            .and_then(|statement| ctx.parent(statement))
            .is_some_and(|block| block.byte_range().contains(&node.start_byte()))
    });
    match dominating {
        Some(at) => before[at..].to_vec(),
        None => before,
    }
}

/// Does the assignment bind a `for` loop's target (to an element of its iterable)?
fn is_loop(assignment: &Assignment) -> bool {
    assignment.statement.kind_name() == "for_statement"
}

/// `text.split()`, `re.findall(...)`: the words of a text that holds no secret.
fn splits_text<'t>(ctx: &FileContext<'t>, iterable: Node<'t>) -> bool {
    let Some(function) = iterable
        .field("function")
        .filter(|_| iterable.kind_name() == "call")
    else {
        return false;
    };
    let splits = matches!(
        callee_word(ctx, function),
        "split" | "rsplit" | "splitlines" | "findall" | "finditer"
    );
    // `api_keys.split(",")`, `re.findall(pattern, tokens)`: the text is secrets.
    let text_is_secret = function
        .field("object")
        .into_iter()
        .chain(arguments(iterable))
        .any(|part| carries(ctx, part, Label::Secret));
    splits && !text_is_secret
}

/// Is an element of `iterable` a secret: an item of a list of secrets, or a
/// value of a mapping of credentials (`entry.data.items()`, `.values()`)?
fn element_secret<'t>(ctx: &FileContext<'t>, iterable: Node<'t>) -> bool {
    if carries(ctx, iterable, Label::Secret) {
        return true;
    }
    iterable.kind_name() == "call"
        && iterable
            .field("function")
            .filter(|f| f.kind_name() == "attribute")
            .is_some_and(|f| {
                f.field("attribute")
                    .is_some_and(|m| matches!(ctx.text(m), "items" | "values"))
                    && f.field("object")
                        .is_some_and(|o| carries(ctx, o, Label::Mapping))
            })
}

/// Is `node` in the body of the `for` loop `statement` (whose target it reads)?
fn in_loop_body(statement: Node, node: Node) -> bool {
    statement.kind_name() == "for_statement"
        && statement
            .field("body")
            .is_some_and(|body| body.byte_range().contains(&node.start_byte()))
}

/// Calls that run a function in an executor, by name, with that function's
/// position among their arguments; the function's own arguments follow it,
/// by position: `hass.async_add_executor_job(f, a)`,
/// `loop.run_in_executor(None, f, a)`.
pub const EXECUTOR_RUNNERS: &[(&str, usize)] =
    &[("async_add_executor_job", 0), ("run_in_executor", 1)];

/// For a use of a parameter of a function of this file (not assigned before
/// the use), the arguments the file's calls of that function pass for it.
pub(super) fn parameter_arguments<'t>(ctx: &FileContext<'t>, node: Node<'t>) -> Vec<Node<'t>> {
    let scope = enclosing_scope(ctx, node);
    if scope.kind_name() != "function_definition" || !reaching(ctx, node).is_empty() {
        return Vec::new();
    }
    let name = ctx.text(node);
    let names = parameter_names(ctx, scope);
    let Some(index) = names.iter().position(|n| *n == name) else {
        return Vec::new();
    };
    let Some(function_name) = scope.field("name").map(|n| ctx.text(n)) else {
        return Vec::new();
    };
    let is_method = names
        .first()
        .is_some_and(|first| matches!(*first, "self" | "cls"));
    let position = if is_method {
        index.checked_sub(1)
    } else {
        Some(index)
    };
    let mut found = Vec::new();
    // Run in an executor: `hass.async_add_executor_job(self._login, user_input)`.
    for &(runner, at) in EXECUTOR_RUNNERS {
        for call in ctx.calls_named(runner).iter() {
            let args = arguments(*call);
            let Some(target) = args.get(at) else {
                continue;
            };
            let names_it = match target.kind_name() {
                "identifier" => !is_method && ctx.text(*target) == function_name,
                "attribute" => {
                    is_method
                        && target
                            .field("attribute")
                            .is_some_and(|a| ctx.text(a) == function_name)
                }
                _ => false,
            };
            if names_it {
                found.extend(position.and_then(|p| args.get(at + 1 + p).copied()));
            }
        }
    }
    for call in ctx.bindings().calls(function_name) {
        let through_self = call
            .field("function")
            .is_some_and(|f| f.kind_name() == "attribute");
        if through_self != is_method {
            continue;
        }
        let args = arguments(*call);
        let keyword = args.iter().find_map(|a| {
            (a.kind_name() == "keyword_argument"
                && a.field("name").is_some_and(|n| ctx.text(n) == name))
            .then(|| a.field("value"))
            .flatten()
        });
        let positional = position.and_then(|p| {
            args.iter()
                .filter(|a| {
                    !matches!(
                        a.kind_name(),
                        "keyword_argument" | "list_splat" | "dictionary_splat"
                    )
                })
                .nth(p)
                .copied()
        });
        found.extend(keyword.or(positional));
    }
    found
}

/// The values assigned to `self.NAME` across the enclosing class; only the
/// last one when the read's own function assigned it before, in a block the
/// read is in (`self.info = {...}` then `_LOGGER.debug(self.info)`): what
/// other methods store there is not what this read sees.
pub fn slot_values<'t>(ctx: &FileContext<'t>, node: Node<'t>) -> Vec<Node<'t>> {
    let Some(name) = self_attribute(node, ctx.source) else {
        return Vec::new();
    };
    let Some(class) = enclosing_class(ctx, node) else {
        return Vec::new();
    };
    let values = ctx.bindings().slot(class, name);
    let function = config_flow::enclosing_function(ctx, node).map(|f| f.id());
    let assigned_before = |value: &Node<'t>| {
        let Some(statement) = ctx
            .parent(*value)
            .filter(|a| a.kind_name() == "assignment")
            .and_then(|a| ctx.parent(a))
        else {
            return false;
        };
        statement.end_byte() <= node.start_byte()
            && ctx.parent(statement).is_some_and(|block| {
                block.start_byte() <= node.start_byte() && node.end_byte() <= block.end_byte()
            })
            && function.is_some()
            && config_flow::enclosing_function(ctx, statement).map(|f| f.id()) == function
    };
    match values
        .iter()
        .filter(|v| assigned_before(v))
        .max_by_key(|v| v.start_byte())
    {
        Some(last) => vec![*last],
        None => values.to_vec(),
    }
}

fn enclosing_class<'t>(ctx: &FileContext<'t>, node: Node<'t>) -> Option<ScopeId> {
    ctx.ancestors(node)
        .find(|n| n.kind_name() == "class_definition")
        .map(|c| c.id())
}

/// The values stored under `key` in `container`: items set one by one
/// (`c[K] = v`, `c.update(K=v)`), and the pair of a dict literal the container
/// was assigned (`c = {K: v}`).
fn stored_under<'t>(ctx: &FileContext<'t>, container: Node<'t>, key: Node<'t>) -> Vec<Node<'t>> {
    let Some(wanted) = key_text(ctx, key) else {
        return Vec::new();
    };
    let mut found = Vec::new();
    for store in container_items(ctx, container) {
        if let Some(k) = store.key
            && key_text(ctx, k).as_deref() == Some(wanted.as_str())
        {
            found.push(store.value);
        }
    }
    for literal in container_literals(ctx, container) {
        let mut cursor = literal.walk();
        for pair in literal.named_children(&mut cursor) {
            if pair.kind_name() == "pair"
                && let (Some(k), Some(v)) = (pair.field("key"), pair.field("value"))
                && key_text(ctx, k).as_deref() == Some(wanted.as_str())
            {
                found.push(v);
            }
        }
    }
    found
}

/// The item stores of a local or `self.` container that may reach `container`.
fn container_items<'t>(ctx: &FileContext<'t>, container: Node<'t>) -> Vec<ItemStore<'t>> {
    let text = ctx.text(container);
    match container.kind_name() {
        // A local's items stored before this use (a `self.` container's are
        // stored by methods that may run in any order).
        "identifier" => ctx
            .bindings()
            .items(enclosing_scope(ctx, container).id(), text)
            .iter()
            .filter(|store| store.value.start_byte() < container.start_byte())
            .copied()
            .collect(),
        "attribute" if self_attribute(container, ctx.source).is_some() => {
            match enclosing_class(ctx, container) {
                Some(class) => ctx.bindings().items(class, text).to_vec(),
                None => Vec::new(),
            }
        }
        _ => Vec::new(),
    }
}

/// The dict literals a container was assigned.
fn container_literals<'t>(ctx: &FileContext<'t>, container: Node<'t>) -> Vec<Node<'t>> {
    let values: Vec<Node<'t>> = match container.kind_name() {
        "identifier" => reaching(ctx, container).iter().map(|a| a.value).collect(),
        "attribute" => slot_values(ctx, container),
        _ => Vec::new(),
    };
    values
        .into_iter()
        .filter(|v| v.kind_name() == "dictionary")
        .collect()
}

/// The returns of the file's functions named `name` (not the caller itself).
fn helper_returns<'t>(ctx: &FileContext<'t>, name: &str, call: Node<'t>) -> Vec<Node<'t>> {
    let mut found = Vec::new();
    for function in ctx.functions_named(name).iter() {
        if function.byte_range().contains(&call.start_byte()) {
            continue;
        }
        returns_of(*function, &mut found);
    }
    found
}

/// The returns of `self.NAME(...)`'s method in the same class.
fn self_method_returns<'t>(ctx: &FileContext<'t>, function: Node<'t>) -> Vec<Node<'t>> {
    let (Some(object), Some(method)) = (function.field("object"), function.field("attribute"))
    else {
        return Vec::new();
    };
    if ctx.text(object) != "self" {
        return Vec::new();
    }
    let class = enclosing_class(ctx, function);
    let mut found = Vec::new();
    for candidate in ctx.functions_named(ctx.text(method)).iter() {
        let same_class = ctx
            .ancestors(*candidate)
            .find(|n| n.kind_name() == "class_definition")
            .map(|c| c.id())
            == class;
        if same_class && !candidate.byte_range().contains(&function.start_byte()) {
            returns_of(*candidate, &mut found);
        }
    }
    found
}

/// The values of `function`'s own `return` statements (not nested functions').
pub(super) fn returns_of<'t>(function: Node<'t>, out: &mut Vec<Node<'t>>) {
    let Some(body) = function.field("body") else {
        return;
    };
    let mut stack = vec![body];
    while let Some(node) = stack.pop() {
        if node.kind_name() == "return_statement" {
            out.extend(node.named_child(0));
            continue;
        }
        if matches!(
            node.kind_name(),
            "function_definition" | "class_definition" | "lambda"
        ) {
            continue;
        }
        let mut cursor = node.walk();
        stack.extend(node.named_children(&mut cursor));
    }
}

// ---------------------------------------------------------------------------
// Labels in text: "password=%s", f"token: {t}"

/// Is the text just before a placeholder a label that names a secret
/// (`password=`, `Token: `, `api key `)?
pub fn labels_secret<'t>(ctx: &FileContext<'t>, before: &str) -> bool {
    let trimmed = before.trim_end();
    let had_separator = trimmed.ends_with(['=', ':']);
    let trimmed = trimmed.trim_end_matches(['=', ':', ' ', '"', '\'', '[', '(']);
    // The label's last one or two words.
    let words: Vec<&str> = trimmed
        .rsplit(|c: char| !(c.is_alphanumeric() || c == '_' || c == '-'))
        .take(2)
        .collect();
    let Some(last) = words.first().filter(|w| !w.is_empty()) else {
        return false;
    };
    let pair = words
        .get(1)
        .map(|first| format!("{first}_{last}"))
        .unwrap_or_default();
    let strong = secret_like(ctx, last)
        || (!pair.is_empty() && secret_like(ctx, &pair) && !secret_like(ctx, words[1]));
    // A Wi-Fi key is named "psk" without any other word.
    strong || (had_separator && last.eq_ignore_ascii_case("psk"))
}

/// Is this interpolation of an f-string labelled as a secret by the text before it?
fn labelled_interpolation<'t>(
    ctx: &FileContext<'t>,
    string: Node<'t>,
    interpolation: Node<'t>,
    expression: Node<'t>,
) -> bool {
    let before = &ctx.source[string.start_byte()..interpolation.start_byte()];
    let before = String::from_utf8_lossy(before);
    let segment = before.rsplit('}').next().unwrap_or("");
    labels_secret(ctx, segment) && plausible_labelled_value(ctx, expression)
}

/// A value that a label may name: not an exception, a literal, a size or a flag.
pub fn plausible_labelled_value<'t>(ctx: &FileContext<'t>, value: Node<'t>) -> bool {
    let name = match value.kind_name() {
        "identifier" => ctx.text(value),
        "attribute" => value.field("attribute").map_or("", |a| ctx.text(a)),
        // token[:5] shows a prefix, not the secret; claims["sub"] names its own
        // field, more precisely than the label around it.
        "subscript" => {
            return value.field("subscript").is_none_or(|key| {
                key.kind_name() != "slice"
                    && string_value(key, ctx.source).is_none_or(|name| secret_like(ctx, &name))
            });
        }
        "call" | "await" => {
            return !matches!(value.kind_name(), "call") || {
                let callee = value.field("function").map_or("", |f| callee_word(ctx, f));
                !clears_secret(callee) && !matches!(callee, "str" | "repr" | "type" | "len")
            };
        }
        _ => return false,
    };
    if value.kind_name() == "identifier" && holds_no_labelled_value(ctx, value) {
        return false;
    }
    let lower = name.trim_start_matches('_').to_ascii_lowercase();
    // `"request PIN for %s", email`: the account the secret is for.
    if matches!(
        lower.as_str(),
        "email" | "mail" | "username" | "user_name" | "user" | "host" | "hostname"
    ) {
        return false;
    }
    // Split before lowering: `tokenName` is two words.
    let words = split_words(name.trim_start_matches('_'));
    !(matches!(
        lower.as_str(),
        "e" | "ex"
            | "exc"
            | "err"
            | "error"
            | "exception"
            | "status"
            | "response"
            | "resp"
            | "result"
    ) || words.iter().any(|w| {
        matches!(
            w.as_str(),
            "err"
                | "error"
                | "exception"
                | "exc"
                | "type"
                | "len"
                | "length"
                | "count"
                | "status"
                | "expires"
                | "expiry"
                | "expiration"
                | "time"
                | "url"
                | "name"
                | "id"
                | "valid"
                | "is"
                | "has"
                | "use"
                | "enabled"
                | "masked"
                | "redacted"
        )
    }) || bound_by_except(ctx, value))
}

/// Does what a name holds show the label around it is only text: every value
/// reaching it is a constant or is made from a caught exception (`detail =
/// error_detail(err)`), or, for a parameter, every call of the file passes a
/// constant (`await setup_connection("initial setup")`)?
fn holds_no_labelled_value<'t>(ctx: &FileContext<'t>, name: Node<'t>) -> bool {
    let reaching = reaching(ctx, name);
    if !reaching.is_empty() {
        return reaching
            .iter()
            .all(|a| !is_loop(a) && holds_no_secret(ctx, a.value));
    }
    let arguments = parameter_arguments(ctx, name);
    !arguments.is_empty() && arguments.iter().all(|&a| is_constant_value(ctx, a))
}

/// The two values of `a if cond else b`: its first and last named children.
fn conditional_values(node: Node) -> Vec<Node> {
    let count = node.named_child_count() as u32;
    [0, count.saturating_sub(1)]
        .into_iter()
        .filter_map(|i| node.named_child(i))
        .collect()
}

/// A value that cannot be a secret whatever the label says: a constant, a
/// caught exception's text, a comparison, a length or a masked value
/// (`redact(key) if multi else ALL`).
fn holds_no_secret<'t>(ctx: &FileContext<'t>, value: Node<'t>) -> bool {
    match value.kind_name() {
        "comparison_operator" | "not_operator" | "true" | "false" => true,
        "conditional_expression" => conditional_values(value)
            .into_iter()
            .all(|branch| holds_no_secret(ctx, branch)),
        "call" => {
            let callee = value.field("function").map_or("", |f| callee_word(ctx, f));
            clears_secret(callee) || from_exception(ctx, value)
        }
        // `ALL`, `DEFAULT_KEY`: a module constant holding text written in the code.
        "identifier" => is_constant_name(ctx.text(value)) && only_literals(ctx, value),
        _ => is_constant_value(ctx, value),
    }
}

/// A call given an exception (`error_detail(err)`, `str(err)`): its text.
fn from_exception<'t>(ctx: &FileContext<'t>, value: Node<'t>) -> bool {
    value.kind_name() == "call"
        && arguments(value).into_iter().any(|argument| {
            bound_by_except(ctx, argument)
                || (argument.kind_name() == "identifier"
                    && split_words(ctx.text(argument)).last().is_some_and(|word| {
                        matches!(
                            word.as_str(),
                            "e" | "ex" | "exc" | "err" | "error" | "exception"
                        )
                    }))
        })
}

/// Is the name the `as` target of an `except` clause?
fn bound_by_except<'t>(ctx: &FileContext<'t>, value: Node<'t>) -> bool {
    if value.kind_name() != "identifier" {
        return false;
    }
    let name = ctx.text(value);
    ctx.ancestors(value)
        .find(|n| n.kind_name() == "except_clause")
        .is_some_and(|clause| {
            let text = ctx.text(clause);
            text.lines()
                .next()
                .is_some_and(|head| head.contains(&format!("as {name}")))
        })
}

/// Check-side helper: is `arg`, an argument of a `%`-style log call, bound to a
/// placeholder its format string labels as a secret (`"password=%s", pw`)?
pub fn labelled_log_argument<'t>(ctx: &FileContext<'t>, arg: Node<'t>) -> bool {
    let Some(list) = ctx.parent(arg).filter(|p| p.kind_name() == "argument_list") else {
        return false;
    };
    let args = {
        let mut cursor = list.walk();
        list.named_children(&mut cursor)
            .filter(|a| a.kind_name() != "comment")
            .collect::<Vec<_>>()
    };
    let Some(position) = args.iter().position(|a| a.id() == arg.id()) else {
        return false;
    };
    let Some(format) = args.first().filter(|f| f.kind_name() == "string") else {
        return false;
    };
    if position == 0 || !plausible_labelled_value(ctx, arg) {
        return false;
    }
    let Some(text) = string_value(*format, ctx.source) else {
        return false;
    };
    match placeholder_prefixes(&text).get(position - 1) {
        Some(before) => labels_secret(ctx, before),
        None => false,
    }
}

/// `"password=%s" % value`, `"user=%s pw=%s" % (user, pw)`: an operand bound
/// to a placeholder the format labels as a secret.
fn labelled_percent_operand<'t>(ctx: &FileContext<'t>, node: Node<'t>) -> bool {
    let (Some(format), Some(right)) = (
        node.field("left").and_then(|l| string_value(l, ctx.source)),
        node.field("right"),
    ) else {
        return false;
    };
    placeholder_prefixes(&format)
        .iter()
        .zip(percent_arguments(right))
        .any(|(before, operand)| {
            labels_secret(ctx, before) && plausible_labelled_value(ctx, operand)
        })
}

/// `"password={}".format(value)`, `"pw={pw}".format(pw=value)`: an argument
/// bound to a replacement field the template labels as a secret.
fn labelled_format_argument<'t>(ctx: &FileContext<'t>, call: Node<'t>) -> bool {
    let Some(template) = call
        .field("function")
        .and_then(|f| f.field("object"))
        .and_then(|o| string_value(o, ctx.source))
    else {
        return false;
    };
    let args = arguments(call);
    let positional: Vec<Node<'t>> = args
        .iter()
        .copied()
        .filter(|a| {
            !matches!(
                a.kind_name(),
                "keyword_argument" | "list_splat" | "dictionary_splat"
            )
        })
        .collect();
    let mut next = 0;
    brace_fields(&template).into_iter().any(|(before, field)| {
        let value = if field.is_empty() {
            next += 1;
            positional.get(next - 1).copied()
        } else if let Ok(index) = field.parse::<usize>() {
            positional.get(index).copied()
        } else {
            args.iter().find_map(|a| {
                (a.kind_name() == "keyword_argument"
                    && a.field("name").is_some_and(|n| ctx.text(n) == field))
                .then(|| a.field("value"))
                .flatten()
            })
        };
        value.is_some_and(|v| labels_secret(ctx, &before) && plausible_labelled_value(ctx, v))
    })
}

/// The replacement fields of a `str.format` template: for each, the text
/// between it and the field before it, and its name or index ("" for `{}`).
fn brace_fields(template: &str) -> Vec<(String, String)> {
    let mut fields = Vec::new();
    let mut current = String::new();
    let mut chars = template.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '{' if chars.peek() == Some(&'{') => {
                chars.next();
                current.push('{');
            }
            '}' if chars.peek() == Some(&'}') => {
                chars.next();
                current.push('}');
            }
            '{' => {
                let mut field = String::new();
                for next in chars.by_ref() {
                    if next == '}' {
                        break;
                    }
                    field.push(next);
                }
                // `{0.attr}`, `{name!r:>10}`: the name or index before them.
                let name = field
                    .split(['.', '[', '!', ':'])
                    .next()
                    .unwrap_or_default()
                    .to_string();
                fields.push((std::mem::take(&mut current), name));
            }
            _ => current.push(c),
        }
    }
    fields
}

/// For each `%` placeholder of a format string, the text between it and the
/// placeholder before it.
fn placeholder_prefixes(format: &str) -> Vec<String> {
    let mut prefixes = Vec::new();
    let mut current = String::new();
    let mut chars = format.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '%' {
            current.push(c);
            continue;
        }
        match chars.peek() {
            Some('%') => {
                chars.next();
                current.push('%');
            }
            Some(_) => {
                // Flags, width, precision, then the conversion letter.
                while let Some(&next) = chars.peek() {
                    chars.next();
                    if next.is_ascii_alphabetic() {
                        break;
                    }
                }
                prefixes.push(std::mem::take(&mut current));
            }
            None => {}
        }
    }
    prefixes
}

// ---------------------------------------------------------------------------
// Whole mappings of credentials

fn mapping<'t>(ctx: &FileContext<'t>, node: Node<'t>) -> bool {
    let mut cursor = node.walk();
    match node.kind_name() {
        "attribute" => {
            (config_flow::is_entry_mapping(ctx, node)
                && config_flow::entry_mapping_may_hold_secret(ctx, node))
                || is_request_headers(ctx, node)
                || is_auth_object(ctx, node)
                || slot_values(ctx, node)
                    .into_iter()
                    .any(|v| carries(ctx, v, Label::Mapping))
                || holds_secret_item(ctx, node)
                || dunder_dict_of_secret_holder(ctx, node)
        }
        "identifier" => {
            let name = ctx.text(node);
            if config_flow::step_input_name(ctx, node) == Some(name)
                && reaching(ctx, node).is_empty()
            {
                // `async_step_reauth(self, entry_data)` receives the entry's data.
                if in_function_named(ctx, node, "async_step_reauth") {
                    return config_flow::entry_may_hold_secret(ctx);
                }
                return config_flow::step_form_has_secret(ctx, node) == Some(true);
            }
            if is_masked_copy(ctx, node) {
                return false;
            }
            is_auth_object(ctx, node)
                || reaching(ctx, node)
                    .iter()
                    .any(|a| !is_loop(a) && carries(ctx, a.value, Label::Mapping))
                || holds_secret_item(ctx, node)
                || parameter_arguments(ctx, node)
                    .into_iter()
                    .any(|arg| carries(ctx, arg, Label::Mapping))
                || secret_read_from(ctx, node)
        }
        "call" => call_mapping(ctx, node),
        "await" | "parenthesized_expression" | "tuple" | "expression_list" => node
            .named_children(&mut cursor)
            .any(|c| carries(ctx, c, Label::Mapping)),
        "string" => node
            .named_children(&mut cursor)
            .filter(|c| c.kind_name() == "interpolation")
            .filter_map(|i| i.field("expression"))
            .any(|e| carries(ctx, e, Label::Mapping)),
        "binary_operator" => {
            let operator = node.field("operator").map(|o| ctx.text(o));
            match operator {
                Some("%") => node
                    .field("right")
                    .is_some_and(|r| carries(ctx, r, Label::Mapping)),
                // `a | b` merges two mappings.
                Some("|") => ["left", "right"].iter().any(|f| {
                    node.field(f)
                        .is_some_and(|c| carries(ctx, c, Label::Mapping))
                }),
                _ => false,
            }
        }
        "dictionary" => node
            .named_children(&mut cursor)
            .any(|child| match child.kind_name() {
                "dictionary_splat" => child
                    .named_child(0)
                    .is_some_and(|inner| carries(ctx, inner, Label::Mapping)),
                "pair" => pair_holds_secret(ctx, child),
                _ => false,
            }),
        // `{k: v for k, v in entry.data.items() if ...}`: a filtered copy,
        // unless it leaves out or masks a secret key.
        "dictionary_comprehension" => {
            !comprehension_hides_secret(ctx, node)
                && node
                    .named_children(&mut cursor)
                    .filter(|c| c.kind_name() == "for_in_clause")
                    .filter_map(|clause| clause.field("right"))
                    .any(|iterable| carries(ctx, iterable, Label::Mapping))
        }
        _ => false,
    }
}

fn call_mapping<'t>(ctx: &FileContext<'t>, call: Node<'t>) -> bool {
    if config_flow::is_entry_mapping(ctx, call) {
        return config_flow::entry_may_hold_secret(ctx);
    }
    let Some(function) = call.field("function") else {
        return false;
    };
    let callee = callee_word(ctx, function);
    let spec = &SPEC.propagators;
    // `token.strip()` is the token: a string method keeps the value, even where
    // the same word starts a sanitizer's name (`strip_password(url)`).
    let string_method =
        function.kind_name() == "attribute" && listed(&spec.same_value_methods, callee);
    if clears_secret(callee) && !string_method {
        return false;
    }
    let args = arguments(call);
    let first_argument = || {
        args.first().is_some_and(|a| {
            a.kind_name() != "keyword_argument" && carries(ctx, *a, Label::Mapping)
        })
    };
    if listed(&spec.same_value_calls, callee) || listed(&spec.mapping_copies, callee) {
        // dict(entry.data), copy.deepcopy(data), json.dumps(data), vars(self)
        if first_argument() {
            return true;
        }
        // data.copy(), response.json(), data.items()
        if function.kind_name() == "attribute"
            && args.is_empty()
            && function
                .field("object")
                .is_some_and(|o| carries(ctx, o, Label::Mapping))
        {
            return true;
        }
        // vars(self) / vars(obj): the object's attributes.
        if callee == "vars"
            && let Some(object) = args.first()
        {
            return object_holds_secret(ctx, *object);
        }
        // `await response.json()` of a response a login function was given.
        return is_login_response(ctx, call, function, callee);
    }
    if is_login_response(ctx, call, function, callee) {
        return true;
    }
    match function.kind_name() {
        "identifier" => helper_returns(ctx, callee, call)
            .into_iter()
            .any(|r| carries(ctx, r, Label::Mapping)),
        "attribute" => self_method_returns(ctx, function)
            .into_iter()
            .any(|r| carries(ctx, r, Label::Mapping)),
        _ => false,
    }
}

/// The answer of a login or token request, read whole: `await resp.json()`,
/// `session.post(...)` in a function whose name says it logs in or fetches a
/// token (`_login`, `async_authenticate`, `get_token`).
fn is_login_response<'t>(
    ctx: &FileContext<'t>,
    call: Node<'t>,
    function: Node<'t>,
    callee: &str,
) -> bool {
    let request = listed(&SPEC.sources.response_calls, callee);
    if !request || function.kind_name() != "attribute" || in_failure_branch(ctx, call) {
        return false;
    }
    config_flow::enclosing_function(ctx, call)
        .and_then(|f| f.field("name"))
        .is_some_and(|name| {
            split_words(ctx.text(name))
                .iter()
                .any(|w| listed(&SPEC.sources.login_function_words, w))
        })
}

/// A dict pair whose key names a secret and whose value is not a constant.
fn pair_holds_secret<'t>(ctx: &FileContext<'t>, pair: Node<'t>) -> bool {
    let (Some(key), Some(value)) = (pair.field("key"), pair.field("value")) else {
        return false;
    };
    key_is_secret(ctx, key) && !is_constant_value(ctx, value)
}

/// Does `node` stand only for text written in the code: a plain string, or a
/// name every value of which is one (the assignments reaching it in its
/// function, else the module's, else a string constant of a sibling module; a
/// `self.` attribute's assignments across its class)? A hard-coded key is
/// HAS105's concern, not a secret the integration was given.
pub fn only_literals<'t>(ctx: &FileContext<'t>, node: Node<'t>) -> bool {
    literals_within(ctx, node, 4)
}

fn literals_within<'t>(ctx: &FileContext<'t>, node: Node<'t>, hops: usize) -> bool {
    let all = |values: &[Node<'t>]| {
        hops > 0 && !values.is_empty() && values.iter().all(|&v| literals_within(ctx, v, hops - 1))
    };
    match node.kind_name() {
        "string" => string_value(node, ctx.source).is_some(),
        "parenthesized_expression" => node.named_child(0).is_some_and(|inner| all(&[inner])),
        "identifier" => {
            let name = ctx.text(node);
            if let Some(clause) = comprehension_clause(ctx, node) {
                return hops > 0 && loop_takes_literals(ctx, name, clause, hops - 1);
            }
            let reaching = reaching(ctx, node);
            if !reaching.is_empty() {
                return hops > 0
                    && reaching.iter().all(|a| {
                        if is_loop(a) {
                            loop_takes_literals(ctx, name, a.statement, hops - 1)
                        } else {
                            literals_within(ctx, a.value, hops - 1)
                        }
                    });
            }
            // `label` of `for label, value in PAIRS:` (the bindings keep the last name only).
            if let Some(looping) = enclosing_loop_binding(ctx, node) {
                return hops > 0 && loop_takes_literals(ctx, name, looping, hops - 1);
            }
            let scope = enclosing_scope(ctx, node);
            if scope.kind_name() != "module" && parameter_names(ctx, scope).contains(&name) {
                return false;
            }
            let root = ctx.tree.root_node();
            let module: Vec<Node> = ctx
                .bindings()
                .assignments(root.id(), name)
                .iter()
                .map(|a| a.value)
                .collect();
            if !module.is_empty() {
                return all(&module);
            }
            ctx.integration
                .as_ref()
                .is_some_and(|facts| facts.constants.contains_key(name))
        }
        "attribute" => all(&slot_values(ctx, node)),
        // "self.device." + NAME + "(True)": pieces of text written in the code.
        "binary_operator" => {
            node.field("operator").is_some_and(|o| ctx.text(o) == "+")
                && ["left", "right"]
                    .iter()
                    .all(|side| node.field(side).is_some_and(|part| all(&[part])))
        }
        // TABLE[kind][FUNC] of a constant table: its items there.
        "subscript" => {
            hops > 0 && {
                let items = table_items(ctx, node, hops);
                !items.is_empty()
                    && items
                        .iter()
                        .all(|&item| literals_within(ctx, item, hops - 1))
            }
        }
        _ => false,
    }
}

/// What `TABLE[key]` (also nested, `TABLE[a][b]`) may be, when TABLE is a
/// literal container of the module (or a `self.` attribute set to one): the
/// items under a key written like the subscript's, else every item. Empty
/// when the table is not known.
fn table_items<'t>(ctx: &FileContext<'t>, subscript: Node<'t>, hops: usize) -> Vec<Node<'t>> {
    let (Some(table), Some(key)) = (subscript.field("value"), subscript.field("subscript")) else {
        return Vec::new();
    };
    let containers: Vec<Node> = match table.kind_name() {
        "subscript" if hops > 0 => table_items(ctx, table, hops - 1),
        "attribute" => slot_values(ctx, table)
            .into_iter()
            .flat_map(|value| constant_containers(ctx, value))
            .collect(),
        _ => constant_containers(ctx, table),
    };
    let mut items = Vec::new();
    for container in containers {
        let children = container.parts();
        if container.kind_name() == "dictionary" {
            let pairs: Vec<Node> = children
                .into_iter()
                .filter(|c| c.kind_name() == "pair")
                .collect();
            let keyed: Vec<Node> = pairs
                .iter()
                .filter(|pair| {
                    pair.field("key")
                        .is_some_and(|k| ctx.text(k) == ctx.text(key))
                })
                .filter_map(|pair| pair.field("value"))
                .collect();
            if keyed.is_empty() {
                items.extend(pairs.iter().filter_map(|pair| pair.field("value")));
            } else {
                items.extend(keyed);
            }
        } else if matches!(container.kind_name(), "list" | "tuple") {
            items.extend(children);
        } else {
            return Vec::new();
        }
    }
    items
}

/// The `for ... in ...` clause of the comprehension around `name` that binds it.
fn comprehension_clause<'t>(ctx: &FileContext<'t>, name: Node<'t>) -> Option<Node<'t>> {
    let text = ctx.text(name);
    ctx.ancestors(name)
        .take_while(|n| !matches!(n.kind_name(), "function_definition" | "block" | "module"))
        .filter(|n| {
            n.kind_name().ends_with("comprehension") || n.kind_name() == "generator_expression"
        })
        .find_map(|comprehension| {
            let mut cursor = comprehension.walk();
            let clauses: Vec<Node> = comprehension
                .named_children(&mut cursor)
                .filter(|c| c.kind_name() == "for_in_clause")
                .collect();
            clauses.into_iter().find(|clause| {
                clause
                    .field("left")
                    .is_some_and(|left| target_position(ctx, left, text).is_some())
            })
        })
}

/// The `for` statement around `name` (in its body) whose target binds it.
fn enclosing_loop_binding<'t>(ctx: &FileContext<'t>, name: Node<'t>) -> Option<Node<'t>> {
    let text = ctx.text(name);
    ctx.ancestors(name)
        .take_while(|n| !matches!(n.kind_name(), "function_definition" | "class_definition"))
        .filter(|n| in_loop_body(*n, name))
        .find(|looping| {
            looping
                .field("left")
                .is_some_and(|left| target_position(ctx, left, text).is_some())
        })
}

/// Where `name` sits in a loop target: `None` if not bound there, `Some(None)`
/// for the whole element (`for x in ...`), `Some(Some(i))` for the i-th of a
/// pair or tuple (`for k, v in ...`).
fn target_position(ctx: &FileContext, left: Node, name: &str) -> Option<Option<usize>> {
    match left.kind_name() {
        "identifier" => (ctx.text(left) == name).then_some(None),
        "pattern_list" | "tuple_pattern" => {
            let mut cursor = left.walk();
            let parts: Vec<Node> = left.named_children(&mut cursor).collect();
            parts
                .iter()
                .position(|p| p.kind_name() == "identifier" && ctx.text(*p) == name)
                .map(Some)
        }
        _ => None,
    }
}

/// Does the loop (a `for` statement or a comprehension's clause) bind `name`
/// only to text written in the code: `for key, name in NAMES.items()` with
/// `NAMES = {Sensor: "Temperature", ...}` binds `name` to the strings.
fn loop_takes_literals<'t>(
    ctx: &FileContext<'t>,
    name: &str,
    looping: Node<'t>,
    hops: usize,
) -> bool {
    let (Some(left), Some(iterable)) = (looping.field("left"), looping.field("right")) else {
        return false;
    };
    let Some(position) = target_position(ctx, left, name) else {
        return false;
    };
    // The part of each element the name takes: dictionary keys, values or whole items.
    let (container, part) = match iterable.kind_name() {
        "call" => {
            let Some(function) = iterable
                .field("function")
                .filter(|f| f.kind_name() == "attribute")
            else {
                return false;
            };
            let (Some(object), Some(method)) =
                (function.field("object"), function.field("attribute"))
            else {
                return false;
            };
            if !arguments(iterable).is_empty() {
                return false;
            }
            match (ctx.text(method), position) {
                ("keys", None) => (object, Part::Keys),
                ("values", None) => (object, Part::Values),
                ("items", Some(0)) => (object, Part::Keys),
                ("items", Some(1)) => (object, Part::Values),
                _ => return false,
            }
        }
        _ => (iterable, Part::Elements(position)),
    };
    let containers = constant_containers(ctx, container);
    !containers.is_empty()
        && containers.iter().all(|&c| {
            let mut cursor = c.walk();
            let items: Vec<Node> = c
                .named_children(&mut cursor)
                .filter(|i| i.kind_name() != "comment")
                .collect();
            !items.is_empty()
                && items.iter().all(|&item| match (c.kind_name(), part) {
                    ("dictionary", Part::Keys | Part::Elements(None)) => item
                        .field("key")
                        .is_some_and(|k| literals_within(ctx, k, hops)),
                    ("dictionary", Part::Values) => item
                        .field("value")
                        .is_some_and(|v| literals_within(ctx, v, hops)),
                    ("dictionary", Part::Elements(Some(_))) => false,
                    (_, Part::Elements(None)) => {
                        literal_value(ctx, item) || literals_within(ctx, item, hops)
                    }
                    (_, Part::Elements(Some(i))) => {
                        matches!(item.kind_name(), "tuple" | "list")
                            && item
                                .named_child(i as u32)
                                .is_some_and(|part| literals_within(ctx, part, hops))
                    }
                    _ => false,
                })
        })
}

#[derive(Clone, Copy)]
enum Part {
    Keys,
    Values,
    Elements(Option<usize>),
}

/// The literal containers (`{...}`, `[...]`, `(...)`) a name of the module
/// (or the node itself) stands for; empty when any of its values is another thing.
fn constant_containers<'t>(ctx: &FileContext<'t>, node: Node<'t>) -> Vec<Node<'t>> {
    const CONTAINERS: &[&str] = &["dictionary", "list", "tuple", "set"];
    if CONTAINERS.contains(&node.kind_name()) {
        return vec![node];
    }
    if node.kind_name() != "identifier" {
        return Vec::new();
    }
    let root = ctx.tree.root_node();
    let values: Vec<Node> = ctx
        .bindings()
        .assignments(root.id(), ctx.text(node))
        .iter()
        .map(|a| a.value)
        .collect();
    if values.iter().all(|v| CONTAINERS.contains(&v.kind_name())) {
        values
    } else {
        Vec::new()
    }
}

/// `None`, `True`, a number, a plain string, or a tuple or list of them.
fn literal_value<'t>(ctx: &FileContext<'t>, node: Node<'t>) -> bool {
    match node.kind_name() {
        "tuple" | "list" => {
            let mut cursor = node.walk();
            let items: Vec<Node> = node.named_children(&mut cursor).collect();
            items.into_iter().all(|item| literal_value(ctx, item))
        }
        _ => is_constant_value(ctx, node),
    }
}

/// `None`, `True`, a number or a plain string: no secret came from the code's input.
fn is_constant_value<'t>(ctx: &FileContext<'t>, value: Node<'t>) -> bool {
    match value.kind_name() {
        "none" | "true" | "false" | "integer" | "float" => true,
        "string" => string_value(value, ctx.source).is_some(),
        _ => false,
    }
}

/// Does the name say its value was masked (`safe_url`, `redacted_data`)?
fn says_masked(name: &str) -> bool {
    split_words(name).iter().any(|w| {
        matches!(
            w.as_str(),
            "redacted" | "masked" | "sanitized" | "sanitised" | "anonymized" | "safe"
        )
    })
}

/// A copy whose secret items were masked (`safe = {**entry.data}` then
/// `safe[CONF_PASSWORD] = "***"`), or whose name says it was (`redacted_data`).
fn is_masked_copy<'t>(ctx: &FileContext<'t>, node: Node<'t>) -> bool {
    says_masked(ctx.text(node))
        || container_items(ctx, node).iter().any(|store| {
            store.key.is_some_and(|key| {
                (key_is_secret(ctx, key) || loops_over_secret_keys(ctx, key))
                    && is_constant_value(ctx, store.value)
            })
        })
}

/// Does a dictionary comprehension leave out a secret key (`{k: v for k, v
/// in data.items() if k != "password"}`, `if k not in SECRET_KEYS`) or mask
/// it (`{k: v if k != "password" else "***" ...}`, `{k: "***" if k in
/// SECRET_KEYS else v ...}`)?
fn comprehension_hides_secret<'t>(ctx: &FileContext<'t>, comprehension: Node<'t>) -> bool {
    let Some(pair) = comprehension
        .field("body")
        .filter(|b| b.kind_name() == "pair")
    else {
        return false;
    };
    let (Some(key), Some(value)) = (pair.field("key"), pair.field("value")) else {
        return false;
    };
    if key.kind_name() != "identifier" {
        return false;
    }
    let key_name = ctx.text(key);
    let mut cursor = comprehension.walk();
    let left_out = comprehension
        .named_children(&mut cursor)
        .filter(|c| c.kind_name() == "if_clause")
        .filter_map(|clause| clause.named_child(0))
        .any(|test| secret_key_test(ctx, test, key_name) == Some(false));
    left_out || masks_secret_value(ctx, value, key_name)
}

/// `v if k != "password" else "***"` or `"***" if k in SECRET_KEYS else v`:
/// the branch taken for a secret key is a constant.
fn masks_secret_value<'t>(ctx: &FileContext<'t>, value: Node<'t>, key_name: &str) -> bool {
    if value.kind_name() != "conditional_expression" {
        return false;
    }
    let parts = value.parts();
    let [when_true, test, when_false] = parts.as_slice() else {
        return false;
    };
    match secret_key_test(ctx, *test, key_name) {
        Some(true) => is_constant_value(ctx, *when_true),
        Some(false) => is_constant_value(ctx, *when_false),
        None => false,
    }
}

/// Compares the comprehension's key (`k`, `k.lower()`) with a secret key or
/// a literal collection holding one: `Some(true)` when the test holds for
/// that key (`==`, `in`), `Some(false)` when it fails for it (`!=`, `not in`).
fn secret_key_test<'t>(ctx: &FileContext<'t>, test: Node<'t>, key_name: &str) -> Option<bool> {
    if test.kind_name() != "comparison_operator" {
        return None;
    }
    let mut cursor = test.walk();
    let operands: Vec<Node> = test.named_children(&mut cursor).collect();
    let [left, right] = operands.as_slice() else {
        return None;
    };
    let is_key = |n: Node| {
        let text = ctx.text(n);
        text == key_name
            || text
                .strip_prefix(key_name)
                .is_some_and(|rest| rest.starts_with('.'))
    };
    let other = match (is_key(*left), is_key(*right)) {
        (true, false) => *right,
        (false, true) => *left,
        _ => return None,
    };
    let operator: String = test
        .children(&mut test.walk())
        .filter(|c| !c.is_named())
        .map(|c| ctx.text(c))
        .collect::<Vec<_>>()
        .join(" ");
    let names_secret = || {
        key_is_secret(ctx, other)
            || literal_collection(ctx, other)
                .into_iter()
                .any(|element| key_is_secret(ctx, element))
    };
    let holds = match operator.as_str() {
        "==" | "in" => true,
        "!=" | "not in" => false,
        _ => return None,
    };
    names_secret().then_some(holds)
}

/// The elements of a literal tuple, list or set, written in place or bound
/// to a name (in the function or at the module's top level).
fn literal_collection<'t>(ctx: &FileContext<'t>, node: Node<'t>) -> Vec<Node<'t>> {
    let collection = match node.kind_name() {
        "tuple" | "list" | "set" => Some(node),
        "identifier" => {
            let local = reaching(ctx, node);
            let module = ctx
                .bindings()
                .assignments(ctx.tree.root_node().id(), ctx.text(node));
            local
                .iter()
                .chain(module.iter())
                .map(|a| a.value)
                .find(|v| matches!(v.kind_name(), "tuple" | "list" | "set"))
        }
        _ => None,
    };
    collection.map_or_else(Vec::new, |c| {
        let mut cursor = c.walk();
        c.named_children(&mut cursor).collect()
    })
}

/// `for key in ("token", "cookie"): data[key] = "***"`: a key taken in turn
/// from a literal list that names a secret.
fn loops_over_secret_keys<'t>(ctx: &FileContext<'t>, key: Node<'t>) -> bool {
    loop_elements(ctx, key)
        .into_iter()
        .any(|element| key_is_secret(ctx, element))
}

/// The elements a name takes in turn from a literal list, tuple or set it
/// loops over (`for key in ("token", "cookie")`).
pub fn loop_elements<'t>(ctx: &FileContext<'t>, name: Node<'t>) -> Vec<Node<'t>> {
    if name.kind_name() != "identifier" {
        return Vec::new();
    }
    reaching(ctx, name)
        .iter()
        .filter(|a| is_loop(a) && matches!(a.value.kind_name(), "tuple" | "list" | "set"))
        .flat_map(|a| {
            let mut cursor = a.value.walk();
            a.value.named_children(&mut cursor).collect::<Vec<_>>()
        })
        .collect()
}

/// Does the local's own function read a secret out of the value it holds
/// here, into a local, directly or through a part of it (`result =
/// response["AuthenticationResult"]`, then `token = result["AccessToken"]`)?
/// Then that value holds the secret, whatever its name says (`response`,
/// `data`). Only reads after the assignment that reaches the use and before
/// the name is assigned again count; a loop's variable is left alone.
fn secret_read_from<'t>(ctx: &FileContext<'t>, name: Node<'t>) -> bool {
    let scope = enclosing_scope(ctx, name);
    if scope.kind_name() != "function_definition" {
        return false;
    }
    let reaching = reaching(ctx, name);
    let Some(start) = reaching.iter().map(|a| a.statement.start_byte()).min() else {
        return false;
    };
    if reaching.iter().any(is_loop) {
        return false;
    }
    let assignments = ctx.bindings().scope_assignments(scope.id());
    // Each holder with the end of its value: where its name is assigned again.
    let until = |holder: &str, after: usize| {
        assignments
            .iter()
            .filter(|a| a.statement.start_byte() > after)
            .find(|a| {
                a.statement
                    .field("left")
                    .is_some_and(|l| ctx.text(l) == holder)
            })
            .map_or(usize::MAX, |a| a.statement.start_byte())
    };
    let mut holders = vec![(ctx.text(name), until(ctx.text(name), start))];
    for assignment in assignments
        .iter()
        .filter(|a| a.statement.start_byte() > start)
    {
        let at = assignment.statement.start_byte();
        let Some((container, key)) = item_read(ctx, assignment.value.awaited()) else {
            continue;
        };
        let read_from = ctx.text(container);
        if !holders
            .iter()
            .any(|&(holder, end)| holder == read_from && at < end)
        {
            continue;
        }
        if element_key_is_secret(ctx, key) {
            return true;
        }
        if let Some(left) = assignment.statement.field("left")
            && left.kind_name() == "identifier"
        {
            holders.push((ctx.text(left), until(ctx.text(left), at)));
        }
    }
    false
}

/// The container and the key of a read of one item that stays in it: `c[k]`,
/// `c.get(k)` (not `c.pop(k)`, which takes the item out: a log of `c` after
/// `secret = c.pop("secret")` no longer shows it).
fn item_read<'t>(ctx: &FileContext<'t>, read: Node<'t>) -> Option<(Node<'t>, Node<'t>)> {
    match read.kind_name() {
        "subscript" => Some((read.field("value")?, read.field("subscript")?)),
        "call" => {
            let function = read.field("function")?;
            if function.kind_name() != "attribute" || callee_word(ctx, function) != "get" {
                return None;
            }
            let key = config_flow::positional_args(read).into_iter().next()?;
            Some((function.field("object")?, key))
        }
        _ => None,
    }
}

/// A container with an item stored under a secret key (`data[CONF_TOKEN] = t`).
fn holds_secret_item<'t>(ctx: &FileContext<'t>, container: Node<'t>) -> bool {
    container_items(ctx, container)
        .iter()
        .any(|store| match store.key {
            Some(key) => key_is_secret(ctx, key) && !is_constant_value(ctx, store.value),
            None => carries(ctx, store.value, Label::Mapping),
        })
}

fn in_function_named<'t>(ctx: &FileContext<'t>, node: Node<'t>, wanted: &str) -> bool {
    config_flow::enclosing_function(ctx, node)
        .and_then(|f| f.field("name"))
        .is_some_and(|name| ctx.text(name) == wanted)
}

/// `self.__dict__` / `obj.__dict__` of an object that holds a secret attribute.
fn dunder_dict_of_secret_holder<'t>(ctx: &FileContext<'t>, node: Node<'t>) -> bool {
    let (Some(object), Some(attribute)) = (node.field("object"), node.field("attribute")) else {
        return false;
    };
    ctx.text(attribute) == "__dict__" && object_holds_secret(ctx, object)
}

/// `self` in a class that keeps a secret-named attribute, or one assigned a secret.
fn object_holds_secret<'t>(ctx: &FileContext<'t>, object: Node<'t>) -> bool {
    if ctx.text(object) != "self" {
        return false;
    }
    let Some(class) = ctx
        .ancestors(object)
        .find(|n| n.kind_name() == "class_definition")
    else {
        return false;
    };
    let mut found = false;
    super::config_flow::visit(class, &mut |n| {
        if found || n.kind_name() != "assignment" {
            return;
        }
        if let (Some(left), Some(right)) = (n.field("left"), n.field("right"))
            && let Some(name) = self_attribute(left, ctx.source)
            && ((secret_like(ctx, name) && !is_constant_value(ctx, right))
                || carries(ctx, right, Label::Secret))
        {
            found = true;
        }
    });
    found
}

/// `request.headers`, `self._session.headers`, `client.headers`: the headers a
/// client sends carry its `Authorization`.
fn is_request_headers<'t>(ctx: &FileContext<'t>, node: Node<'t>) -> bool {
    let (Some(object), Some(name)) = (node.field("object"), node.field("attribute")) else {
        return false;
    };
    if ctx.text(name) != "headers" {
        return false;
    }
    let holder = match object.kind_name() {
        "attribute" => object.field("attribute").map_or("", |a| ctx.text(a)),
        "identifier" => ctx.text(object),
        _ => "",
    };
    let holder = holder.trim_start_matches('_').to_ascii_lowercase();
    matches!(
        holder.as_str(),
        "request" | "req" | "session" | "client" | "websession" | "http_session"
    ) && !in_webhook_handler(ctx, node)
}

/// A webhook handler (it receives `webhook_id`) gets requests from the service
/// that calls the webhook: their headers carry that service's signature, not a
/// Home Assistant credential, and the secret is the webhook id in the URL.
fn in_webhook_handler<'t>(ctx: &FileContext<'t>, node: Node<'t>) -> bool {
    config_flow::enclosing_function(ctx, node)
        .is_some_and(|function| parameter_names(ctx, function).contains(&"webhook_id"))
}

/// `auth`, `self._auth`, `credentials`, `creds`: an object that holds credentials.
fn is_auth_object<'t>(ctx: &FileContext<'t>, node: Node<'t>) -> bool {
    let name = match node.kind_name() {
        "identifier" => ctx.text(node),
        "attribute" => node.field("attribute").map_or("", |a| ctx.text(a)),
        _ => "",
    };
    matches!(
        name.trim_start_matches('_'),
        "auth" | "credentials" | "creds"
    )
}

// ---------------------------------------------------------------------------
// Objects dumped whole

/// Callee words that say a call returns an object's internals for debugging.
const DUMP_WORDS: &[&str] = &["debug", "dump"];

fn dump<'t>(ctx: &FileContext<'t>, node: Node<'t>) -> bool {
    let mut cursor = node.walk();
    match node.kind_name() {
        "identifier" => {
            let words = split_words(ctx.text(node));
            // `login_details`, `auth_response`: a login answer kept whole.
            let login_answer = words.iter().any(|w| matches!(w.as_str(), "login" | "auth"))
                && words.iter().any(|w| {
                    matches!(
                        w.as_str(),
                        "details" | "data" | "response" | "info" | "result"
                    )
                });
            login_answer
                || reaching(ctx, node)
                    .iter()
                    .any(|a| !is_loop(a) && carries(ctx, a.value, Label::Dump))
                || container_items(ctx, node)
                    .iter()
                    .any(|store| carries(ctx, store.value, Label::Dump))
        }
        // `obj.__dict__`, or a slot a dump was kept in (`self._raw = vars(api)`).
        "attribute" => {
            node.field("attribute")
                .is_some_and(|a| ctx.text(a) == "__dict__")
                || slot_values(ctx, node)
                    .into_iter()
                    .any(|v| carries(ctx, v, Label::Dump))
        }
        // An f-string shows what it interpolates.
        "string" => node
            .named_children(&mut cursor)
            .filter(|c| c.kind_name() == "interpolation")
            .filter_map(|i| i.field("expression"))
            .any(|e| carries(ctx, e, Label::Dump)),
        "call" => {
            let Some(function) = node.field("function") else {
                return false;
            };
            let callee = callee_word(ctx, function);
            if clears_secret(callee) {
                return false;
            }
            let words = split_words(callee);
            callee == "vars"
                || words.iter().any(|w| DUMP_WORDS.contains(&w.as_str()))
                || (listed(&SPEC.propagators.mapping_copies, callee)
                    && arguments(node)
                        .first()
                        .is_some_and(|a| carries(ctx, *a, Label::Dump)))
        }
        "await" | "parenthesized_expression" => node
            .named_children(&mut cursor)
            .any(|c| carries(ctx, c, Label::Dump)),
        "dictionary" => node
            .named_children(&mut cursor)
            .any(|child| match child.kind_name() {
                "dictionary_splat" => child
                    .named_child(0)
                    .is_some_and(|inner| carries(ctx, inner, Label::Dump)),
                "pair" => child
                    .field("value")
                    .is_some_and(|v| carries(ctx, v, Label::Dump)),
                _ => false,
            }),
        _ => false,
    }
}

// ---------------------------------------------------------------------------
// Constant values

/// Does the expression hold the literal `False`, through the assignments of a
/// local, a `self.` attribute or a module constant, and never anything else
/// than a literal (a value from configuration is the user's choice)?
pub fn resolves_to_false<'t>(ctx: &FileContext<'t>, node: Node<'t>) -> bool {
    let mut values = Vec::new();
    let mut pending = vec![node];
    while let Some(current) = pending.pop() {
        if values.len() > 16 || !ctx.spend() {
            return false;
        }
        match current.kind_name() {
            "false" | "true" | "none" | "integer" | "string" => values.push(current.kind_name()),
            "identifier" => {
                let local = reaching(ctx, current);
                let found: Vec<Node<'t>> = if local.is_empty() {
                    ctx.bindings()
                        .assignments(ctx.tree.root_node().id(), ctx.text(current))
                        .iter()
                        .map(|a| a.value)
                        .collect()
                } else {
                    local.iter().map(|a| a.value).collect()
                };
                if found.is_empty() {
                    // `from .const import VERIFY_SSL`, set to `False` there.
                    let imported_false = ctx
                        .integration
                        .as_ref()
                        .is_some_and(|facts| facts.false_constants.contains(ctx.text(current)))
                        && ctx
                            .qualified_name(current)
                            .is_some_and(|q| q.starts_with('.'));
                    if imported_false {
                        values.push("false");
                        continue;
                    }
                    return false;
                }
                if found.iter().any(|v| v.id() == current.id()) {
                    return false;
                }
                pending.extend(found);
            }
            "attribute" => {
                let found = slot_values(ctx, current);
                if found.is_empty() {
                    return false;
                }
                pending.extend(found);
            }
            _ => return false,
        }
    }
    values.contains(&"false")
}

/// Is `node` where a response is known to have failed: the body of `if
/// resp.status != 200:` (`>= 400`, `== 401`, `not resp.ok`, `"token" not in
/// data`, `not data["success"]`, `not token`), the `else:` of `if resp.status
/// == 200:`, or what follows `if resp.status == 200: return ...`? A refused
/// login's body holds an error message, not the token.
pub fn in_failure_branch<'t>(ctx: &FileContext<'t>, node: Node<'t>) -> bool {
    static FAILURE: LazyLock<regex::Regex> = LazyLock::new(|| {
        regex::Regex::new(
            r#"status(_code)?\s*(!=\s*2\d\d|>=?\s*[3-5]\d\d|==\s*[3-5]\d\d)|\bnot\s+[\w.]+\.ok\b|["'][^"']*["']\s+not\s+in\b|\bnot\s+[\w.]+(\[|\.get\()["']success["']"#,
        )
        .expect("pattern compiles")
    });
    static SUCCESS: LazyLock<regex::Regex> = LazyLock::new(|| {
        regex::Regex::new(r"^([\w.]+\.status(_code)?\s*==\s*2\d\d|[\w.]+\.ok)$")
            .expect("pattern compiles")
    });
    let lacks_secret = |condition: Node<'t>| {
        // `if not token:` after `token = data.get("token")`: the answer has none.
        condition.kind_name() == "not_operator"
            && condition
                .field("argument")
                .filter(|a| matches!(a.kind_name(), "identifier" | "attribute"))
                .is_some_and(|a| {
                    let name = ctx.text(a);
                    secret_like(ctx, name.rsplit('.').next().unwrap_or(name))
                })
    };
    ctx.guards(node).any(|guard| {
        let condition = ctx.text(guard.condition);
        if guard.holds {
            FAILURE.is_match(condition) || lacks_secret(guard.condition)
        } else {
            SUCCESS.is_match(condition.trim())
        }
    }) || after_success_return(ctx, node, &SUCCESS)
}

/// Does a guard clause before `node`, in its function, leave on success
/// (`if resp.status == 200: return await resp.json()`)? What follows runs only
/// when the request failed.
fn after_success_return<'t>(ctx: &FileContext<'t>, node: Node<'t>, success: &regex::Regex) -> bool {
    let mut current = node;
    while let Some(parent) = ctx.parent(current) {
        if matches!(
            parent.kind_name(),
            "function_definition" | "lambda" | "class_definition"
        ) {
            return false;
        }
        if (parent.kind_name() == "block" || parent.kind_name() == "module")
            && ctx
                .guard_clauses(parent)
                .iter()
                .take_while(|statement| statement.start_byte() < current.start_byte())
                .any(|statement| {
                    statement
                        .field("condition")
                        .is_some_and(|c| success.is_match(ctx.text(c).trim()))
                })
        {
            return true;
        }
        current = parent;
    }
    false
}

/// `if condition: ... return` (or `raise`) with no `else`: what follows it in
/// its block runs only when the condition does not hold.
pub fn is_guard_clause(statement: Node) -> bool {
    statement.kind_name() == "if_statement"
        && statement.field("alternative").is_none()
        && statement
            .field("consequence")
            .and_then(|body| body.named_child(body.named_child_count().saturating_sub(1) as u32))
            .is_some_and(|last| matches!(last.kind_name(), "return_statement" | "raise_statement"))
}

/// Is `node` a refused login's answer: only what a response was read into
/// (`await resp.json()`, `resp.text`, through `json.dumps(...)` or a local),
/// where the request is known to have failed? It holds an error message, not
/// a token.
pub fn refused_login_answer<'t>(ctx: &FileContext<'t>, node: Node<'t>) -> bool {
    in_failure_branch(ctx, node) && response_read_within(ctx, node, 3)
}

fn response_read_within<'t>(ctx: &FileContext<'t>, node: Node<'t>, hops: usize) -> bool {
    match node.kind_name() {
        "await" | "parenthesized_expression" => node
            .named_child(0)
            .is_some_and(|inner| response_read_within(ctx, inner, hops)),
        "call" => {
            let Some(function) = node.field("function") else {
                return false;
            };
            let callee = callee_word(ctx, function);
            if listed(&SPEC.sources.response_calls, callee) && function.kind_name() == "attribute" {
                return true;
            }
            // json.dumps(data, indent=4), str(data): the same value shown.
            (listed(&SPEC.propagators.same_value_calls, callee)
                || listed(&SPEC.propagators.mapping_copies, callee))
                && arguments(node)
                    .first()
                    .is_some_and(|a| response_read_within(ctx, *a, hops))
        }
        "identifier" if hops > 0 => {
            let reaching = reaching(ctx, node);
            !reaching.is_empty()
                && reaching
                    .iter()
                    .all(|a| !is_loop(a) && response_read_within(ctx, a.value, hops - 1))
        }
        // requests' `response.text`, a property.
        "attribute" => node
            .field("attribute")
            .is_some_and(|a| ctx.text(a) == "text"),
        // f"Login refused: {resp.text}": what it shows of a secret is the answer.
        "string" => {
            let mut cursor = node.walk();
            let shown: Vec<Node> = node
                .named_children(&mut cursor)
                .filter(|c| c.kind_name() == "interpolation")
                .filter_map(|i| i.field("expression"))
                .collect();
            shown.iter().any(|e| response_read_within(ctx, *e, hops))
                && shown.iter().all(|e| {
                    response_read_within(ctx, *e, hops) || !carries(ctx, *e, Label::Secret)
                })
        }
        _ => false,
    }
}

/// Is the node inside `if NAME:` whose NAME is a module constant assigned only
/// `False` (logging switched off in the code)?
pub fn in_dead_branch<'t>(ctx: &FileContext<'t>, node: Node<'t>) -> bool {
    ctx.guards(node).any(|guard| {
        let condition = guard.condition;
        guard.holds
            && matches!(condition.kind_name(), "identifier" | "attribute")
            && is_constant_name(ctx.text(condition).rsplit('.').next().unwrap_or_default())
            && resolves_to_false(ctx, condition)
    })
}

/// Is the name or `self.` attribute known to be empty where it is read: the
/// first statement of the branch of `if NAME == "":` (or `not NAME`, `NAME is
/// None`) holds it, before anything could fill it (`if self._token == "":
/// _LOGGER.debug("Found empty token: %s", self._token)`)?
pub fn known_empty<'t>(ctx: &FileContext<'t>, node: Node<'t>) -> bool {
    if !matches!(node.kind_name(), "identifier" | "attribute") {
        return false;
    }
    let name = ctx.text(node);
    let mut current = node;
    while let Some(parent) = ctx.parent(current) {
        match parent.kind_name() {
            "block" => {
                // Only the branch's first statement: a call before it may fill the name.
                let first = parent
                    .named_child(0)
                    .is_some_and(|s| s.id() == current.id());
                let Some(branch) = ctx.parent(parent).filter(|_| first) else {
                    return false;
                };
                return matches!(branch.kind_name(), "if_statement" | "elif_clause")
                    && branch
                        .field("consequence")
                        .is_some_and(|c| c.id() == parent.id())
                    && branch
                        .field("condition")
                        .is_some_and(|condition| tests_empty(ctx, condition, name));
            }
            "function_definition" | "class_definition" | "lambda" => return false,
            _ => current = parent,
        }
    }
    false
}

/// `NAME == ""`, `"" == NAME`, `NAME is None`, `NAME == None`, `not NAME`.
fn tests_empty<'t>(ctx: &FileContext<'t>, condition: Node<'t>, name: &str) -> bool {
    match condition.kind_name() {
        "not_operator" => condition
            .field("argument")
            .is_some_and(|argument| ctx.text(argument) == name),
        "comparison_operator" => {
            let mut cursor = condition.walk();
            let operands: Vec<Node<'t>> = condition.named_children(&mut cursor).collect();
            let operators: Vec<&str> = condition
                .children_by_field_name("operators", &mut condition.walk())
                .map(|operator| ctx.text(operator))
                .collect();
            let empty = |n: &Node<'t>| matches!(ctx.text(*n), "\"\"" | "''" | "None");
            matches!(operators.as_slice(), ["=="] | ["is"])
                && matches!(operands.as_slice(), [a, b]
                    if (ctx.text(*a) == name && empty(b)) || (empty(a) && ctx.text(*b) == name))
        }
        _ => false,
    }
}

/// Is the expression (a name, a `self.` attribute, a call) an object made by a
/// call whose qualified name `wanted` accepts?
pub fn made_by<'t>(ctx: &FileContext<'t>, node: Node<'t>, wanted: &dyn Fn(&str) -> bool) -> bool {
    let values: Vec<Node<'t>> = match node.kind_name() {
        "identifier" => reaching(ctx, node).iter().map(|a| a.value).collect(),
        "attribute" => slot_values(ctx, node),
        "call" => vec![node],
        _ => Vec::new(),
    };
    values.into_iter().any(|value| {
        value.kind_name() == "call"
            && value
                .field("function")
                .and_then(|f| ctx.qualified_name(f))
                .is_some_and(|name| wanted(&name))
    })
}
