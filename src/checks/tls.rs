//! Is a place that turns TLS verification off the user's own choice?

use tree_sitter::Node;

use super::{FileContext, text};
use crate::model::enclosing_scope;
use crate::model::syntax::NodeExt;
use crate::rules::vocabulary::split_words;

/// Helpers that build an unverified context on request; HAS301 reports their
/// callers, so their own bodies are not reported again.
const NO_VERIFY_HELPERS: &[&str] = &[
    "client_context_no_verify",
    "_client_context_no_verify",
    "get_default_no_verify_context",
    "create_no_verify_ssl_context",
    "_create_unverified_context",
];

/// Check `verification-opt-out`: the node only runs when the user turned
/// verification off (it sits in the branch of `if not verify_ssl:` or in the
/// `else` of `if verify_ssl:`), or inside one of the no-verify helpers whose
/// callers are reported (`client_context_no_verify`), or it turns hostname
/// checking off in a function that pins its own certificate authority
/// (`load_verify_locations`).
pub fn is_verification_opt_out<'t>(ctx: &FileContext<'t>, node: Node<'t>, _: &[&str]) -> bool {
    let source = ctx.source;
    if in_opt_out_branch(ctx, node, source) {
        return true;
    }
    let scope = enclosing_scope(ctx, node);
    if scope.kind_name() != "function_definition" {
        return false;
    }
    let helper = scope
        .field("name")
        .is_some_and(|n| NO_VERIFY_HELPERS.contains(&text(n, source)));
    helper || pins_own_ca(ctx, node, scope)
}

/// `ctx.check_hostname = False` next to `ctx.load_verify_locations(...)` on the
/// same context, in the same function.
fn pins_own_ca<'t>(ctx: &FileContext<'t>, node: Node<'t>, scope: Node<'t>) -> bool {
    let Some(object) = node
        .field("left")
        .filter(|left| {
            left.kind_name() == "attribute" && ctx.text(*left).ends_with("check_hostname")
        })
        .and_then(|left| left.field("object"))
    else {
        return false;
    };
    let wanted = format!("{}.load_verify_locations(", ctx.text(object));
    ctx.text(scope).contains(&wanted)
}

/// Does some enclosing branch run only when verification is off?
fn in_opt_out_branch<'t>(ctx: &FileContext<'t>, node: Node<'t>, source: &[u8]) -> bool {
    let mut current = node;
    while let Some(parent) = ctx.parent(current) {
        if let Some((condition, taken_when_true)) = branch_condition(ctx, parent, current)
            && taken_only_when_off(condition, taken_when_true, source)
        {
            return true;
        }
        if parent.kind_name() == "block"
            && after_guard_clause_when_off(ctx, parent, current, source)
        {
            return true;
        }
        current = parent;
    }
    false
}

/// Does some enclosing branch run only when verification is on (`if
/// entry.data[CONF_VERIFY_SSL]:`)? Turning it off there inverts the user's choice.
fn in_branch_when_on<'t>(ctx: &FileContext<'t>, node: Node<'t>) -> bool {
    let mut current = node;
    while let Some(parent) = ctx.parent(current) {
        if let Some((condition, taken_when_true)) = branch_condition(ctx, parent, current)
            && taken_only_when_off(condition, !taken_when_true, ctx.source)
        {
            return true;
        }
        current = parent;
    }
    false
}

/// When `child` is a branch of `parent` (an `if`, `elif`, `else` or
/// `a if condition else b`): the condition, and whether the branch is taken
/// when it holds.
fn branch_condition<'t>(
    ctx: &FileContext<'t>,
    parent: Node<'t>,
    child: Node<'t>,
) -> Option<(Node<'t>, bool)> {
    match parent.kind_name() {
        "if_statement" | "elif_clause" => {
            let in_consequence = parent
                .field("consequence")
                .is_some_and(|c| c.id() == child.id());
            parent
                .field("condition")
                .map(|condition| (condition, in_consequence))
        }
        // `else:` belongs to the `if` above it.
        "else_clause" => ctx
            .parent(parent)
            .filter(|p| p.kind_name() == "if_statement")
            .and_then(|p| p.field("condition"))
            .map(|condition| (condition, false)),
        "conditional_expression" => {
            // `a if condition else b`: children are a, condition, b.
            let (a, condition) = (parent.named_child(0)?, parent.named_child(1)?);
            (condition.id() != child.id()).then_some((condition, a.id() == child.id()))
        }
        _ => None,
    }
}

/// Is `statement` preceded, in its `block`, by a guard clause that leaves when
/// verification is on (`if self.verify_ssl: return None`)? Then it runs only
/// with verification off.
fn after_guard_clause_when_off<'t>(
    ctx: &FileContext<'t>,
    block: Node<'t>,
    statement: Node<'t>,
    source: &[u8],
) -> bool {
    ctx.guard_clauses(block)
        .iter()
        .take_while(|earlier| earlier.start_byte() < statement.start_byte())
        .any(|earlier| {
            earlier
                .field("condition")
                .is_some_and(|condition| taken_only_when_off(condition, false, source))
        })
}

/// Is a branch taken (when `condition` is `taken_when`) only with verification
/// off? Looks through `not`, parentheses, `and` (a branch taken when all hold)
/// and `or` (a branch taken when none holds).
fn taken_only_when_off(condition: Node, taken_when: bool, source: &[u8]) -> bool {
    match condition.kind_name() {
        "parenthesized_expression" => condition
            .named_child(0)
            .is_some_and(|inner| taken_only_when_off(inner, taken_when, source)),
        "not_operator" => condition
            .field("argument")
            .is_some_and(|inner| taken_only_when_off(inner, !taken_when, source)),
        "boolean_operator" => {
            let operator = condition.field("operator").map(|o| text(o, source));
            // `a and b` taken: both hold; `a or b` not taken: neither holds.
            let each_holds = match operator {
                Some("and") => taken_when,
                Some("or") => !taken_when,
                _ => return false,
            };
            each_holds
                && ["left", "right"].iter().any(|side| {
                    condition
                        .field(side)
                        .is_some_and(|operand| taken_only_when_off(operand, taken_when, source))
                })
        }
        _ => condition_polarity(condition, source)
            .is_some_and(|true_means_verify| taken_when != true_means_verify),
    }
}

/// For a condition about verification: does "true" mean "verify"? `None` when
/// the condition is not about verification.
fn condition_polarity(condition: Node, source: &[u8]) -> Option<bool> {
    let condition_text = text(condition, source);
    let words = split_words(condition_text);
    let about_verify = words.iter().any(|w| {
        matches!(
            w.as_str(),
            "verify" | "verification" | "insecure" | "unverified"
        )
    });
    if !about_verify {
        return None;
    }
    let inverted_name = words.iter().any(|w| {
        matches!(
            w.as_str(),
            "insecure" | "unverified" | "skip" | "disable" | "no"
        )
    });
    let negated = condition_text.ends_with("is False")
        || condition_text.ends_with("== False")
        || condition_text.ends_with("is not True");
    Some(!(negated ^ inverted_name))
}

/// Check `false-valued`: the expression (a name, a `self.` attribute) holds the
/// literal `False` wherever it is assigned: a module constant, a local, an
/// attribute set in any method of the class.
pub fn is_false_valued<'t>(ctx: &FileContext<'t>, node: Node<'t>, _: &[&str]) -> bool {
    crate::model::values::resolves_to_false(ctx, node)
}

/// Check `local-device`: the code around a TLS opt-out talks to the user's own
/// device on the local network: a host from the configuration is passed in the
/// same call (`host=self._host`), or the class (else the file) builds its URLs
/// around a host it was given (`f"http://{host}/config"`), or the file reads
/// `CONF_HOST`, or the integration's manifest declares a local `iot_class`; and
/// no URL in that class (else file) names an internet host, nor does the code
/// run only when the user asked for verification (then it inverts their
/// choice). Such devices often serve self-signed certificates; a cloud host
/// written in the code does not.
pub fn is_local_device<'t>(ctx: &FileContext<'t>, node: Node<'t>, _: &[&str]) -> bool {
    let scope = ctx
        .ancestors(node)
        .find(|n| n.kind_name() == "class_definition")
        .unwrap_or_else(|| ctx.tree.root_node());
    let (cloud, given_host) = url_hosts(ctx, scope);
    let local_signs = || mentions_configured_host(ctx) || declares_local_devices(ctx);
    !in_branch_when_on(ctx, node)
        && ((!cloud && (given_host || host_passed_alongside(ctx, node) || local_signs()))
            // The request's own URL is built around a given host: the other
            // URLs of the class (a cloud service it also calls) do not say
            // where this one goes.
            || (requested_host_given(ctx, node) && local_signs()))
}

/// Is the URL of the request whose keyword argument `opt_out` is (its first
/// positional argument, or `url=`) written around a host given at run time
/// (`"{}://{}/api".format(scheme, self._host)`, `f"https://{host}/"`), itself
/// or as every value of the local it is passed by?
fn requested_host_given<'t>(ctx: &FileContext<'t>, opt_out: Node<'t>) -> bool {
    let Some(arguments) = ctx
        .parent(opt_out)
        .filter(|a| a.kind_name() == "argument_list")
    else {
        return false;
    };
    let parts = arguments.parts();
    let url = parts
        .iter()
        .find(|a| a.kind_name() != "keyword_argument")
        .or_else(|| {
            parts
                .iter()
                .find(|a| a.field("name").is_some_and(|name| ctx.text(name) == "url"))
        })
        .map(|a| a.field("value").unwrap_or(*a));
    let Some(url) = url else {
        return false;
    };
    let mut templates = Vec::new();
    url_templates(ctx, url, 2, &mut templates)
        && !templates.is_empty()
        && templates
            .into_iter()
            .all(|template| hosts_written(ctx.text(template)) == (false, true))
}

/// The string literals a URL value is written from: the string itself, the
/// template of a `.format(...)` call, or every value of a local (`hops` deep).
/// False when some value is none of those.
fn url_templates<'t>(
    ctx: &FileContext<'t>,
    value: Node<'t>,
    hops: usize,
    out: &mut Vec<Node<'t>>,
) -> bool {
    match value.kind_name() {
        "string" => {
            out.push(value);
            true
        }
        "call" => value
            .field("function")
            .filter(|f| {
                f.field("attribute")
                    .is_some_and(|name| ctx.text(name) == "format")
            })
            .and_then(|f| f.field("object"))
            .is_some_and(|template| url_templates(ctx, template, hops, out)),
        "identifier" if hops > 0 => {
            let reaching = crate::model::values::reaching(ctx, value);
            !reaching.is_empty()
                && reaching
                    .into_iter()
                    .all(|a| url_templates(ctx, a.value, hops - 1, out))
        }
        _ => false,
    }
}

/// Does the integration's manifest say it talks to devices on the local
/// network (`"iot_class": "local_push"` or `"local_polling"`)?
fn declares_local_devices(ctx: &FileContext) -> bool {
    ctx.integration
        .as_ref()
        .and_then(|facts| facts.manifest.as_ref())
        .and_then(|manifest| manifest.iot_class.as_deref())
        .is_some_and(|class| class.starts_with("local_"))
}

/// Does `scope` (the enclosing class, or the module) write a URL to an internet
/// host, and one whose host is given (an interpolation, `{host}` or
/// `{host}:{port}`)? Docstrings do not count.
fn url_hosts<'t>(ctx: &FileContext<'t>, scope: Node<'t>) -> (bool, bool) {
    let (mut cloud, mut given) = (false, false);
    crate::model::config_flow::visit(scope, &mut |node| {
        if node.kind_name() != "string"
            || ctx
                .parent(node)
                .is_some_and(|p| p.kind_name() == "expression_statement")
        {
            return;
        }
        // A link in a log message ("see https://github.com/...") is not a host
        // the code talks to.
        if in_log_message(ctx, node) || is_link_shown_to_user(ctx, node) {
            return;
        }
        let (written_cloud, written_given) = hosts_written(ctx.text(node));
        cloud |= written_cloud;
        given |= written_given;
    });
    (cloud, given)
}

/// Does the text of a string literal hold a URL to an internet host, and one
/// whose host is given (an interpolation, `{host}` or `{host}:{port}`)?
fn hosts_written(written: &str) -> (bool, bool) {
    let (mut cloud, mut given) = (false, false);
    // `f"{self.protocol}://{self.host}"`: a scheme chosen at run time.
    let chosen_scheme = written.find("}://").map(|at| (at + 1, "://"));
    let schemes = ["http://", "https://", "wss://", "ws://"]
        .into_iter()
        .filter_map(|scheme| written.find(scheme).map(|at| (at, scheme)));
    for (at, scheme) in schemes.chain(chosen_scheme) {
        let rest = &written[at + scheme.len()..];
        let host: String = rest
            .chars()
            .take_while(|c| !matches!(c, '/' | '?' | '"' | '\'' | '#' | ' '))
            .collect();
        let host = host.rsplit('@').next().unwrap_or_default();
        if is_given_host(host) {
            given = true;
        } else if !host.is_empty()
            && !super::urls::is_local_or_placeholder_host(
                host.split(':').next().unwrap_or_default(),
            )
        {
            cloud = true;
        }
    }
    (cloud, given)
}

/// Is the string an argument of a logger's call (`_LOGGER.warning("...")`)?
fn in_log_message<'t>(ctx: &FileContext<'t>, string: Node<'t>) -> bool {
    let Some(call) = ctx
        .ancestors(string)
        .find(|p| {
            !matches!(
                p.kind_name(),
                "binary_operator" | "concatenated_string" | "parenthesized_expression"
            )
        })
        .filter(|p| p.kind_name() == "argument_list")
        .and_then(|arguments| ctx.parent(arguments))
    else {
        return false;
    };
    crate::model::names::is_logger_call(ctx, call)
}

/// A link the user is shown, not a host the code talks to: a repair issue's
/// `learn_more_url=`, or a value of a form's `description_placeholders=`.
fn is_link_shown_to_user<'t>(ctx: &FileContext<'t>, string: Node<'t>) -> bool {
    ctx.ancestors(string)
        .take_while(|n| !n.kind_name().ends_with("statement") && n.kind_name() != "block")
        .filter(|n| n.kind_name() == "keyword_argument")
        .filter_map(|argument| argument.field("name"))
        .any(|name| {
            matches!(
                ctx.text(name),
                "learn_more_url" | "description_placeholders"
            )
        })
}

/// `{host}`, `{self._host}:{port}`, `%s`: a host the code is given, nothing
/// written around it.
fn is_given_host(host: &str) -> bool {
    let mut rest = host.to_string();
    while let (Some(open), Some(close)) = (rest.find('{'), rest.find('}')) {
        if close < open {
            break;
        }
        rest.replace_range(open..=close, "");
    }
    let rest = rest.replace("%s", "");
    (host.contains('{') || host.contains("%s"))
        && rest.chars().all(|c| c == ':' || c.is_ascii_digit())
}

/// A keyword of the enclosing call (or of a call around it) names a host given
/// at run time: `SenecLocal(host=self._host, session=...)`.
fn host_passed_alongside<'t>(ctx: &FileContext<'t>, node: Node<'t>) -> bool {
    ctx.ancestors(node)
        .take_while(|n| !n.kind_name().ends_with("statement") && n.kind_name() != "block")
        .filter(|n| n.kind_name() == "argument_list")
        .any(|arguments| {
            let mut cursor = arguments.walk();
            arguments.named_children(&mut cursor).any(|arg| {
                arg.kind_name() == "keyword_argument"
                    && arg.field("name").is_some_and(|name| {
                        matches!(
                            ctx.text(name),
                            "host" | "hostname" | "ip" | "ip_address" | "address"
                        )
                    })
                    && arg
                        .field("value")
                        .is_some_and(|v| v.kind_name() != "string")
            })
        })
}

/// Does the file read the host the user configured?
fn mentions_configured_host<'t>(ctx: &FileContext<'t>) -> bool {
    ctx.contains("CONF_HOST") || ctx.contains("CONF_IP_ADDRESS")
}

/// Check `local-stream-url`: an `rtsp://` (or `rtsps://`) URL whose host is
/// given at run time (`{host}`, `{host}:{port}`): a camera's stream source on
/// the user's own network.
pub fn is_local_stream_url<'t>(ctx: &FileContext<'t>, node: Node<'t>, _: &[&str]) -> bool {
    let written = ctx.text(node);
    // A camera's `stream_source` builds the URL its stream worker opens,
    // whatever the scheme (`f"{scheme}://user:{code}@{host}/live"`).
    let in_stream_source = || {
        crate::model::config_flow::enclosing_function(ctx, node)
            .and_then(|function| function.field("name"))
            .is_some_and(|name| ctx.text(name).contains("stream_source"))
    };
    let Some(at) = written
        .find("rtsp://")
        .or_else(|| written.find("rtsps://"))
        .or_else(|| written.find("://").filter(|_| in_stream_source()))
    else {
        return false;
    };
    let authority: String = written[at..]
        .split("://")
        .nth(1)
        .unwrap_or_default()
        .chars()
        .take_while(|c| !matches!(c, '/' | '"' | '\'' | '?' | ' '))
        .collect();
    authority
        .rsplit_once('@')
        .is_some_and(|(_, host)| is_given_host(host))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::test_support::passes;

    fn opt_out(source: &str, target: &str) -> bool {
        passes(is_verification_opt_out, source, "assignment", target, &[])
    }

    #[test]
    fn branches_taken_when_the_user_turned_verification_off() {
        let target = "ctx.check_hostname = False";
        for source in [
            "def f(c):\n    if not c[CONF_VERIFY_SSL]:\n        ctx.check_hostname = False\n",
            "def f(verify_ssl):\n    if verify_ssl:\n        pass\n    else:\n        ctx.check_hostname = False\n",
            "def f(insecure):\n    if insecure:\n        ctx.check_hostname = False\n",
            "def f(v):\n    if v[CONF_VERIFY_SSL] is False:\n        ctx.check_hostname = False\n",
            "def f(c, url):\n    if not c.get(CONF_VERIFY_CERT, True) and url:\n        ctx.check_hostname = False\n",
            "def f(c, url):\n    if c[CONF_VERIFY_SSL] or url:\n        pass\n    else:\n        ctx.check_hostname = False\n",
            "def client_context_no_verify():\n    ctx.check_hostname = False\n",
            "def _client_context_no_verify(ciphers):\n    ctx.check_hostname = False\n",
            "def pinned(cadata):\n    ctx.check_hostname = False\n    ctx.load_verify_locations(cadata=cadata)\n",
        ] {
            assert!(opt_out(source, target), "{source}");
        }
        // An integration's own helper: nothing reports its callers, so its body is.
        let own_helper = "def create_insecure_context():\n    ctx.check_hostname = False\n";
        assert!(!opt_out(own_helper, target));
        let other_context = "def other(cadata):\n    ctx.check_hostname = False\n    other.load_verify_locations(cadata=cadata)\n";
        assert!(!opt_out(other_context, target));
    }

    #[test]
    fn unconditional_or_inverted_code_is_not_an_opt_out() {
        let target = "ctx.check_hostname = False";
        for source in [
            "def f():\n    ctx.check_hostname = False\n",
            // Verification requested, and turned off: a bug, reported.
            "def f(entry):\n    if entry[CONF_VERIFY_SSL]:\n        ctx.check_hostname = False\n",
            "def f(c):\n    if c[CONF_SSL]:\n        ctx.check_hostname = False\n",
            // Taken when verification is off *or* something else: not only when off.
            "def f(c, url):\n    if not c[CONF_VERIFY_SSL] or url:\n        ctx.check_hostname = False\n",
        ] {
            assert!(!opt_out(source, target), "{source}");
        }
    }

    #[test]
    fn local_devices_are_told_from_cloud_hosts() {
        let local = "class Hub:\n    def __init__(self, host):\n        self._host = host\n        \
                     self._s = make(verify_ssl=False)\n    def url(self):\n        \
                     return f\"https://{self._host}:8443/api\"\n";
        let cloud = "class Api:\n    def __init__(self, host):\n        self._s = make(verify_ssl=False)\n    \
                     def url(self, host):\n        return f\"https://{host}/x\" + \"https://cloud.example.com/v1\"\n";
        let passed =
            "def f(hass, host):\n    return Device(host=host, session=make(verify_ssl=False))\n";
        let chosen_scheme = "class Box:\n    def __init__(self, host):\n        self.host = host\n    \
                     def origin(self):\n        return f\"{self.protocol}://{self.host}\"\n    \
                     def get(self):\n        return make(verify_ssl=False)\n";
        let nothing = "def f(hass):\n    return make(verify_ssl=False)\n";
        for (source, expected) in [
            (local, true),
            (cloud, false),
            (passed, true),
            (chosen_scheme, true),
            (nothing, false),
        ] {
            assert_eq!(
                passes(
                    is_local_device,
                    source,
                    "keyword_argument",
                    "verify_ssl=False",
                    &[]
                ),
                expected,
                "{source}"
            );
        }
    }

    #[test]
    fn a_local_iot_class_says_the_device_is_local_unless_a_cloud_host_is_written() {
        use crate::checks::test_support::Snippet;
        use crate::model::integration::{IntegrationFacts, Manifest};
        use std::sync::Arc;
        let facts = |class: &str| {
            Some(Arc::new(IntegrationFacts {
                root: Some("x".into()),
                manifest: Some(Manifest {
                    iot_class: Some(class.into()),
                    ..Manifest::default()
                }),
                ..IntegrationFacts::default()
            }))
        };
        let verdict = |source: &str, class: &str| {
            let snippet = Snippet::new(source);
            let node = snippet.find("keyword_argument", "verify_ssl=False");
            is_local_device(&snippet.ctx().with_integration(facts(class)), node, &[])
        };
        let session = "def f(hass):\n    return make(hass, verify_ssl=False)\n";
        let cloud = "def f(hass):\n    s = make(hass, verify_ssl=False)\n    \
                     return s.get(\"https://cloud.example.com/v1\")\n";
        assert!(verdict(session, "local_push"));
        assert!(verdict(session, "local_polling"));
        assert!(!verdict(session, "cloud_polling"));
        assert!(!verdict(cloud, "local_push"));
        // A documentation link shown in a repair issue is no host the code talks to.
        let link = "def f(hass):\n    s = make(hass, verify_ssl=False)\n    \
                    async_create_issue(hass, learn_more_url=\"https://docs.example.com/x\")\n";
        assert!(verdict(link, "local_push"));
    }
}
