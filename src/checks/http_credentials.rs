//! Requests that send credentials to a plain `http://` URL (HAS303).

use tree_sitter::Node;

use super::{
    FileContext, flow,
    secrets::{is_secret_sourced, names_secret, string_value},
    urls::{HOLE, Segment, flatten, literal_http_host, module_constant},
};
use crate::model::resolve_local;
use crate::model::syntax::NodeExt;
use crate::rules::vocabulary::split_words;

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
pub fn credentials_over_http<'t>(ctx: &FileContext<'t>, node: Node<'t>, _: &[&str]) -> bool {
    let source = ctx.source;
    let Some(function) = node.field("function") else {
        return false;
    };
    let callee = ctx.text(function);
    if !REQUEST_METHODS.contains(&callee.rsplit('.').next().unwrap_or(callee)) {
        return false;
    }
    let (positional, keywords) = flow::call_arguments(node, source);
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
            "auth" => value.kind_name() != "none",
            "headers" | "cookies" => {
                carries_secret_mapping(ctx, value, true)
                    || name == "cookies" && value.kind_name() != "none"
            }
            "params" | "data" | "json" => carries_secret_mapping(ctx, value, false),
            _ => false,
        })
}

/// `aiohttp.BasicAuth(...)`, `HTTPDigestAuth(...)`: an authentication object.
fn is_auth_object<'t>(ctx: &FileContext<'t>, node: Node<'t>) -> bool {
    node.kind_name() == "call"
        && node.field("function").is_some_and(|f| {
            let callee = ctx.text(f);
            let last = callee.rsplit('.').next().unwrap_or(callee);
            last.ends_with("BasicAuth") || last.ends_with("DigestAuth")
        })
}

/// A mapping (a dictionary literal, or a local assigned one) with an
/// `Authorization` key (headers only), a secret-like key whose value is not a
/// literal, or a secret-sourced value.
fn carries_secret_mapping<'t>(ctx: &FileContext<'t>, node: Node<'t>, headers: bool) -> bool {
    let Some(mapping) = resolve_local(ctx, node) else {
        return false;
    };
    if mapping.kind_name() != "dictionary" {
        return false;
    }
    let mut cursor = mapping.walk();
    mapping.named_children(&mut cursor).any(|pair| {
        let (Some(key), Some(value)) = (pair.field("key"), pair.field("value")) else {
            return false;
        };
        let key_name = string_value(key, ctx.source).unwrap_or_else(|| ctx.text(key).to_string());
        let authorization = headers
            && split_words(&key_name)
                .iter()
                .any(|w| w == "authorization" || w == "auth");
        let literal = matches!(
            value.kind_name(),
            "string" | "none" | "integer" | "true" | "false"
        ) && string_value(value, ctx.source).is_some();
        (authorization || names_secret(ctx, key, &[])) && !literal
            || is_secret_sourced(ctx, value, &[])
    })
}

/// The literal host when the expression is (or a local holding, or an attribute
/// of `self` assigned in the same class to) an `http://` URL. A host written as
/// a placeholder (`http://{host}/`) counts: the request still goes out in clear.
fn http_url_expression<'t>(ctx: &FileContext<'t>, node: Node<'t>) -> Option<String> {
    // Such a URL starts with a string of this file or a constant of another
    // module of its integration: where none holds the scheme, nothing is one.
    let elsewhere = |facts: &std::sync::Arc<crate::model::integration::IntegrationFacts>| {
        facts.constants.values().any(|value| is_http(value))
    };
    if !ctx.mentions("http:") && !ctx.integration.as_ref().is_some_and(elsewhere) {
        return None;
    }
    http_url_within(ctx, node, 4)
}

fn is_http(url: &str) -> bool {
    url.get(..7)
        .is_some_and(|scheme| scheme.eq_ignore_ascii_case("http://"))
}

/// [`http_url_expression`], following at most `depth` names (`url = base`,
/// `f"{self._url}?get=state"`).
fn http_url_within<'t>(ctx: &FileContext<'t>, node: Node<'t>, depth: usize) -> Option<String> {
    if depth == 0 {
        return None;
    }
    let value = match node.kind_name() {
        "identifier" => {
            match resolve_local(ctx, node).or_else(|| module_constant(node, ctx.source)) {
                Some(value) => value,
                // A constant of another module of the integration (`const.py`).
                None => {
                    let url = ctx.facts().constants.get(ctx.text(node)).cloned()?;
                    return is_http(&url)
                        .then(|| literal_http_host(&url).unwrap_or("{host}").to_string());
                }
            }
        }
        "attribute" => self_attribute_value(ctx, node)?,
        _ => node,
    };
    if value.id() != node.id() && matches!(value.kind_name(), "identifier" | "attribute") {
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
    if !is_http(leading) {
        return None;
    }
    Some(literal_http_host(leading).unwrap_or("{host}").to_string())
}

/// `self._url` → the value assigned to `self._url` in the enclosing class.
fn self_attribute_value<'t>(ctx: &FileContext<'t>, attribute: Node<'t>) -> Option<Node<'t>> {
    let object = attribute.field("object")?;
    if ctx.text(object) != "self" {
        return None;
    }
    let wanted = ctx.text(attribute);
    let class = ctx
        .ancestors(attribute)
        .find(|n| n.kind_name() == "class_definition");
    let mut stack = vec![class?];
    while let Some(current) = stack.pop() {
        if current.kind_name() == "assignment"
            && let (Some(left), Some(right)) = (current.field("left"), current.field("right"))
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

/// The machine itself, or Home Assistant's Supervisor (`http://supervisor`,
/// once `http://hassio`): an API on the private network of Home Assistant's
/// own containers that speaks only HTTP, which core itself calls with its token.
fn is_loopback(host: &str) -> bool {
    let host = host.to_ascii_lowercase();
    let name = host.split(':').next().unwrap_or_default();
    matches!(name, "supervisor" | "hassio")
        || host == "localhost"
        || host.ends_with(".localhost")
        || host == "::1"
        || host
            .parse::<std::net::Ipv4Addr>()
            .is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::test_support::any_passes;

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
            "session.get('http://supervisor/addons', headers={'Authorization': f'Bearer {pw}'})",
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
