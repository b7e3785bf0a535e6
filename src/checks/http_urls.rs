//! Plain `http://` URLs: written to a host on the internet (HAS302), and
//! requested with credentials (HAS303).

use tree_sitter::Node;

use super::{
    FileContext,
    context::resolve_local,
    secrets::{is_secret_sourced, names_secret, string_value},
    text,
    urls::{
        HOLE, Segment, flatten, is_example_host, is_inner_piece, is_local_or_placeholder_host,
        is_namespace_url, literal_http_host,
    },
};
use crate::rules::vocabulary::split_words;

/// The literal http host of a string-building expression, if it starts with one.
fn http_host_of(node: Node, source: &[u8]) -> Option<String> {
    let built = flatten(node, source)?;
    literal_http_host(built.leading_text()).map(str::to_string)
}

/// Names that say the string is an XML namespace or schema, or a text for people.
fn is_non_request_name(name: &str) -> bool {
    split_words(name).iter().any(|word| {
        matches!(
            word.as_str(),
            "ns" | "xmlns"
                | "namespace"
                | "namespaces"
                | "schema"
                | "context"
                | "description"
                | "documentation"
                | "docs"
                | "doc"
                | "help"
                | "placeholders"
                | "attribution"
                | "pattern"
                | "regex"
                | "prefix"
                | "prefixes"
                // SOAP/JNAP action URIs are identifiers, never requested.
                | "action"
                // A device's configuration_url is a link for people.
                | "configuration"
        ) || word.starts_with("manufacturer") // SSDP matchers compare it
    })
}

/// Calls whose string arguments are compared, searched, logged or shown, not requested.
fn is_non_request_call(callee: &str) -> bool {
    let last = callee.rsplit('.').next().unwrap_or(callee);
    matches!(
        last,
        "startswith"
            | "endswith"
            | "removeprefix"
            | "removesuffix"
            | "replace"
            | "split"
            | "find"
            | "index"
            | "count"
            | "strip"
            | "lstrip"
            | "rstrip"
            | "match"
            | "fullmatch"
            | "search"
            | "compile"
            | "sub"
            | "print"
            | "debug"
            | "info"
            | "warning"
            | "error"
            | "exception"
            | "critical"
            | "log"
            | "_"
            | "gettext"
            | "register_namespace"
            | "find_all"
            | "findall"
            | "findtext"
            | "iterfind"
    ) || callee.starts_with("re.")
}

/// Check `insecure-http-url`: a string literal that is an `http://` URL to a host
/// on the internet, used where Home Assistant would request it (a call argument,
/// an assignment, a dictionary value, a default, a return value).
pub fn insecure_http_url(ctx: &FileContext, node: Node, _: &[&str]) -> bool {
    let source = ctx.source;
    if is_inner_piece(ctx, node, source) && !starts_its_builder(ctx, node, source) {
        return false;
    }
    let Some(host) = http_host_of(node, source) else {
        return false;
    };
    let url = string_value(node, source).unwrap_or_else(|| ctx.text(node).to_string());
    if is_local_or_placeholder_host(&host)
        || is_example_host(&host)
        || is_namespace_url(&url, &host)
    {
        return false;
    }
    is_request_like_use(ctx, node)
}

/// Is `node` the first piece of the string it helps build (`"http://x/" + path`)?
fn starts_its_builder(ctx: &FileContext, node: Node, source: &[u8]) -> bool {
    let Some(parent) = ctx.parent(node) else {
        return false;
    };
    match parent.kind() {
        "binary_operator" | "concatenated_string" => {
            parent.named_child(0).map(|c| c.id()) == Some(node.id())
        }
        "attribute" => is_inner_piece(ctx, node, source),
        _ => false,
    }
}

/// Walks up from a URL literal through the expressions that carry it, and
/// decides whether the place it lands in is a request target or a URL constant.
fn is_request_like_use(ctx: &FileContext, node: Node) -> bool {
    let source = ctx.source;
    let mut current = node;
    while let Some(parent) = ctx.parent(current) {
        match parent.kind() {
            // Carried along: part of a larger string, or one of several values.
            "concatenated_string"
            | "binary_operator"
            | "parenthesized_expression"
            | "list"
            | "tuple"
            | "set"
            | "conditional_expression"
            | "attribute" => {}
            "call" if is_inner_piece(ctx, current, source) => {}
            "expression_statement" => return false, // a docstring or a bare string
            "comparison_operator"
            | "boolean_operator"
            | "not_operator"
            | "case_pattern"
            | "case_clause"
            | "subscript"
            | "interpolation" => return false,
            "pair" => {
                let is_key =
                    parent.child_by_field_name("key").map(|k| k.id()) == Some(current.id());
                if is_key {
                    return false;
                }
                let key_name = parent
                    .child_by_field_name("key")
                    .map(|k| string_value(k, source).unwrap_or_else(|| ctx.text(k).to_string()))
                    .unwrap_or_default();
                if is_non_request_name(&key_name) {
                    return false;
                }
                // A value of a dictionary: what is the dictionary for?
                current = ctx.parent(parent).unwrap_or(parent);
                continue;
            }
            "dictionary" => {}
            "keyword_argument" => {
                let name = parent
                    .child_by_field_name("name")
                    .map(|n| ctx.text(n))
                    .unwrap_or("");
                if is_non_request_name(name) {
                    return false;
                }
                return call_of_arguments(ctx, ctx.parent(parent))
                    .is_none_or(|callee| !is_non_request_call(ctx.text(callee)));
            }
            "argument_list" => {
                return call_of_arguments(ctx, Some(parent))
                    .is_none_or(|callee| !is_non_request_call(ctx.text(callee)));
            }
            "assignment" | "augmented_assignment" => {
                let left = parent.child_by_field_name("left");
                if left.map(|l| l.id()) == Some(current.id()) {
                    return false;
                }
                return left.is_none_or(|l| !is_non_request_name(ctx.text(l)));
            }
            "default_parameter" | "typed_default_parameter" => {
                return parent
                    .child_by_field_name("name")
                    .is_none_or(|n| !is_non_request_name(ctx.text(n)));
            }
            "return_statement" => return true,
            _ => return false,
        }
        current = parent;
    }
    false
}

/// The callee of the call whose argument list is `arguments`.
fn call_of_arguments<'t>(ctx: &FileContext<'t>, arguments: Option<Node<'t>>) -> Option<Node<'t>> {
    let call = ctx.parent(arguments?)?;
    (call.kind() == "call").then(|| call.child_by_field_name("function"))?
}

/// Request methods of HTTP clients and sessions.
const REQUEST_METHODS: &[&str] = &[
    "get",
    "post",
    "put",
    "patch",
    "delete",
    "head",
    "options",
    "request",
    "ws_connect",
    "stream",
    "urlopen",
];

/// Check `credentials-over-http`: an HTTP request to an `http://` URL (not the
/// machine itself) that carries credentials: `auth=`, a `BasicAuth`, an
/// `Authorization` (or other secret-named) header, a secret in the URL or its
/// query parameters, or secret fields in the request body.
pub fn credentials_over_http(ctx: &FileContext, node: Node, _: &[&str]) -> bool {
    let source = ctx.source;
    let Some(function) = node.child_by_field_name("function") else {
        return false;
    };
    let callee = ctx.text(function);
    if !REQUEST_METHODS.contains(&callee.rsplit('.').next().unwrap_or(callee)) {
        return false;
    }
    let Some(arguments) = node.child_by_field_name("arguments") else {
        return false;
    };
    let mut positional = Vec::new();
    let mut keywords = Vec::new();
    let mut cursor = arguments.walk();
    for argument in arguments.named_children(&mut cursor) {
        match argument.kind() {
            "keyword_argument" => {
                if let (Some(name), Some(value)) = (
                    argument.child_by_field_name("name"),
                    argument.child_by_field_name("value"),
                ) {
                    keywords.push((text(name, source), value));
                }
            }
            "comment" | "list_splat" | "dictionary_splat" => {}
            _ => positional.push(argument),
        }
    }
    let url = keywords
        .iter()
        .find(|(name, _)| matches!(*name, "url" | "str_or_url"))
        .map(|(_, value)| *value)
        .or_else(|| {
            // session.request("GET", url): the URL is the second argument.
            positional
                .iter()
                .take(2)
                .copied()
                .find(|&argument| http_url_expression(ctx, argument).is_some())
        });
    let Some(url) = url else {
        return false;
    };
    let Some(host) = http_url_expression(ctx, url) else {
        return false;
    };
    if is_loopback(&host) {
        return false;
    }
    let url_carries_secret = resolve_local(ctx, url).is_some_and(|built_from| {
        flatten(built_from, source).is_some_and(|built| {
            built
                .parts
                .iter()
                .any(|part| matches!(part, Segment::Expr(e) if is_secret_sourced(ctx, *e, &[])))
        })
    });
    url_carries_secret
        || positional.iter().any(|a| is_auth_object(ctx, *a))
        || keywords.iter().any(|&(name, value)| match name {
            "auth" => value.kind() != "none",
            "headers" | "cookies" => {
                carries_secret_mapping(ctx, value, true)
                    || name == "cookies" && value.kind() != "none"
            }
            "params" | "data" | "json" => carries_secret_mapping(ctx, value, false),
            _ => false,
        })
}

/// `aiohttp.BasicAuth(...)`, `HTTPDigestAuth(...)`: an authentication object.
fn is_auth_object(ctx: &FileContext, node: Node) -> bool {
    node.kind() == "call"
        && node.child_by_field_name("function").is_some_and(|f| {
            let callee = ctx.text(f);
            let last = callee.rsplit('.').next().unwrap_or(callee);
            last.ends_with("BasicAuth") || last.ends_with("DigestAuth")
        })
}

/// A mapping (a dictionary literal, or a local assigned one) with an
/// `Authorization` key (headers only), a secret-like key whose value is not a
/// literal, or a secret-sourced value.
fn carries_secret_mapping(ctx: &FileContext, node: Node, headers: bool) -> bool {
    let Some(mapping) = resolve_local(ctx, node) else {
        return false;
    };
    if mapping.kind() != "dictionary" {
        return false;
    }
    let mut cursor = mapping.walk();
    mapping.named_children(&mut cursor).any(|pair| {
        let (Some(key), Some(value)) = (
            pair.child_by_field_name("key"),
            pair.child_by_field_name("value"),
        ) else {
            return false;
        };
        let key_name = string_value(key, ctx.source).unwrap_or_else(|| ctx.text(key).to_string());
        let authorization = headers
            && split_words(&key_name)
                .iter()
                .any(|w| w == "authorization" || w == "auth");
        let literal = matches!(
            value.kind(),
            "string" | "none" | "integer" | "true" | "false"
        ) && string_value(value, ctx.source).is_some();
        (authorization || names_secret(ctx, key, &[])) && !literal
            || is_secret_sourced(ctx, value, &[])
    })
}

/// The literal host when the expression is (or a local holding, or an attribute
/// of `self` assigned in the same class to) an `http://` URL. A host written as
/// a placeholder (`http://{host}/`) counts: the request still goes out in clear.
fn http_url_expression(ctx: &FileContext, node: Node) -> Option<String> {
    http_url_within(ctx, node, 4)
}

/// [`http_url_expression`], following at most `depth` names (`url = base`,
/// `f"{self._url}?get=state"`).
fn http_url_within(ctx: &FileContext, node: Node, depth: usize) -> Option<String> {
    if depth == 0 {
        return None;
    }
    let value = match node.kind() {
        "identifier" => resolve_local(ctx, node).or_else(|| module_constant(ctx, node))?,
        "attribute" => self_attribute_value(ctx, node)?,
        _ => node,
    };
    if value.id() != node.id() && matches!(value.kind(), "identifier" | "attribute") {
        return http_url_within(ctx, value, depth - 1);
    }
    let built = flatten(value, ctx.source)?;
    let leading = built.leading_text();
    if leading.is_empty() {
        // The URL starts with another value: follow it.
        return match built.parts.first() {
            Some(Segment::Expr(first)) if built.template.starts_with(HOLE) => {
                http_url_within(ctx, *first, depth - 1)
            }
            _ => None,
        };
    }
    if !leading.get(..7)?.eq_ignore_ascii_case("http://") {
        return None;
    }
    Some(literal_http_host(leading).unwrap_or("{host}").to_string())
}

/// A module-level `NAME = value`.
fn module_constant<'t>(ctx: &FileContext<'t>, identifier: Node<'t>) -> Option<Node<'t>> {
    let name = ctx.text(identifier);
    let mut root = identifier;
    while let Some(parent) = ctx.parent(root) {
        root = parent;
    }
    let mut cursor = root.walk();
    let mut found = None;
    for statement in root.named_children(&mut cursor) {
        if statement.kind() != "expression_statement" {
            continue;
        }
        if let Some(assignment) = statement.named_child(0)
            && assignment.kind() == "assignment"
            && let (Some(left), Some(right)) = (
                assignment.child_by_field_name("left"),
                assignment.child_by_field_name("right"),
            )
            && left.kind() == "identifier"
            && ctx.text(left) == name
        {
            found = Some(right);
        }
    }
    found
}

/// `self._url` → the value assigned to `self._url` in the enclosing class.
fn self_attribute_value<'t>(ctx: &FileContext<'t>, attribute: Node<'t>) -> Option<Node<'t>> {
    let object = attribute.child_by_field_name("object")?;
    if ctx.text(object) != "self" {
        return None;
    }
    let wanted = ctx.text(attribute);
    let mut class = ctx.parent(attribute);
    while let Some(node) = class {
        if node.kind() == "class_definition" {
            break;
        }
        class = ctx.parent(node);
    }
    let mut stack = vec![class?];
    while let Some(current) = stack.pop() {
        if current.kind() == "assignment"
            && let (Some(left), Some(right)) = (
                current.child_by_field_name("left"),
                current.child_by_field_name("right"),
            )
            && ctx.text(left) == wanted
            && flatten(right, ctx.source).is_some()
        {
            return Some(right);
        }
        let mut cursor = current.walk();
        stack.extend(current.named_children(&mut cursor));
    }
    None
}

fn is_loopback(host: &str) -> bool {
    let host = host.to_ascii_lowercase();
    host == "localhost"
        || host.ends_with(".localhost")
        || host == "::1"
        || host
            .parse::<std::net::Ipv4Addr>()
            .is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{checks::test_support, rules::vocabulary::Vocabulary};

    /// Runs `check` on every node of `kind` whose text starts with `starts`, in a
    /// small module, and says whether any passes.
    fn any_passes(
        check: fn(&FileContext, Node, &[&str]) -> bool,
        source: &str,
        kind: &str,
        starts: &str,
    ) -> bool {
        let tree = test_support::parse(source);
        let vocabulary = Vocabulary::default();
        let ctx = FileContext::new(source.as_bytes(), &tree, &vocabulary);
        let mut stack = vec![tree.root_node()];
        let mut any = false;
        while let Some(node) = stack.pop() {
            if node.kind() == kind && ctx.text(node).starts_with(starts) {
                any |= check(&ctx, node, &[]);
            }
            let mut cursor = node.walk();
            stack.extend(node.children(&mut cursor));
        }
        any
    }

    fn insecure(source: &str) -> bool {
        any_passes(insecure_http_url, source, "string", "")
    }

    #[test]
    fn internet_http_urls_are_insecure() {
        for source in [
            "API_URL = 'http://api.vendor.com/v2'",
            "session.get('http://api.vendor.com/status')",
            "Client(base_url='http://cloud.vendor.com')",
            "url = 'http://api.vendor.com/' + path",
            "ENDPOINTS = {'status': 'http://api.vendor.com/s'}",
            "def f(url='http://8.8.8.8/'): pass",
            "url = f'http://api.vendor.com/{device}'",
        ] {
            assert!(insecure(source), "{source}");
        }
    }

    #[test]
    fn local_placeholder_namespace_and_non_request_strings_are_not() {
        for source in [
            "URL = 'http://localhost:8123'",
            "URL = 'http://192.168.1.1/api'",
            "URL = 'http://supervisor/core'",
            "URL = 'http://printer.local/'",
            "url = f'http://{host}:{port}/api'",
            "url = 'http://%s/api' % host",
            "NS = 'http://www.w3.org/2001/XMLSchema-instance'",
            "SOAP = {'s': 'http://schemas.xmlsoap.org/soap/envelope/'}",
            "def f():\n    '''See http://api.vendor.com/docs.'''",
            "MAP = {'http://api.vendor.com': 1}",
            "if url == 'http://api.vendor.com': pass",
            "ok = url.startswith('http://api.vendor.com')",
            "DEFAULT = 'http://www.example.com'",
            "_LOGGER.debug('http://api.vendor.com failed')",
            "x = 'https://api.vendor.com'",
            "f(description_placeholders={'docs': 'http://vendor.com/help'})",
            "VENDOR_MANUFACTURERURL = 'http://www.vendor.com'",
            "MATCH = {'manufacturerURL': 'http://www.vendor.com'}",
            "headers = {'X-JNAP-Action': 'http://vendor.com/jnap/core/Transaction'}",
            "DeviceInfo(configuration_url='http://docs.vendor.com/device')",
        ] {
            assert!(!insecure(source), "{source}");
        }
    }

    fn over_http(source: &str) -> bool {
        any_passes(credentials_over_http, source, "call", "")
    }

    #[test]
    fn credentials_sent_over_http_are_found() {
        for body in [
            "session.get('http://api.vendor.com/x', auth=aiohttp.BasicAuth(user, password))",
            "requests.post(f'http://{host}/login', data={'password': self._password})",
            "session.get(url=f'http://{host}/', headers={'Authorization': f'Bearer {token}'})",
            "session.get(f'http://{host}/api?key={self._api_key}')",
            "url = f'http://{host}/cgi'\n    requests.get(url, auth=(user, pw))",
            "headers = {'X-Api-Key': key}\n    session.get('http://api.vendor.com', headers=headers)",
            "session.request('GET', 'http://vendor.com/', params={'token': tok})",
        ] {
            let source = format!("def f(self, host, user, pw, key, tok):\n    {body}\n");
            assert!(over_http(&source), "{body}");
        }
    }

    #[test]
    fn https_loopback_and_anonymous_requests_are_not() {
        for body in [
            "session.get('https://api.vendor.com/x', auth=aiohttp.BasicAuth(user, pw))",
            "session.get('http://localhost:8080/x', auth=aiohttp.BasicAuth(user, pw))",
            "session.get(f'http://{host}/status')",
            "session.get(f'http://{host}/status', headers={'Accept': 'json'})",
            "session.get(f'http://{host}/status', auth=None)",
            "data.get('http://x', auth)",
            "session.post(f'http://{host}/', data={'password_hint': hint})",
        ] {
            let source = format!("def f(self, host, user, pw):\n    {body}\n");
            assert!(!over_http(&source), "{body}");
        }
    }

    #[test]
    fn urls_built_on_a_base_or_a_constant_count() {
        let on_base = "class C:\n    def __init__(self, host):\n        self._url = f'http://{host}/api'\n\n    def update(self):\n        return requests.get(f'{self._url}?get=state', auth=self._auth)\n";
        assert!(over_http(on_base));
        let constant = "API = 'http://api.vendor.com/'\n\ndef f(auth):\n    url = API\n    return requests.get(url, auth=auth)\n";
        assert!(over_http(constant));
        let secure = "API = 'https://api.vendor.com/'\n\ndef f(auth):\n    return requests.get(f'{API}x', auth=auth)\n";
        assert!(!over_http(secure));
    }

    #[test]
    fn a_self_attribute_url_counts() {
        let source = "class C:\n    def __init__(self, host):\n        self._url = f'http://{host}/api'\n\n    def update(self):\n        return requests.get(self._url, auth=(self._user, self._password))\n";
        assert!(over_http(source));
    }
}
