//! Plain `http://` URLs written to a host on the internet (HAS302).

use tree_sitter::Node;

use super::{
    FileContext,
    secrets::string_value,
    text,
    urls::{
        flatten, is_example_host, is_inner_piece, is_local_or_placeholder_host, is_namespace_url,
        literal_http_host,
    },
};
use crate::model::syntax::NodeExt;
use crate::rules::vocabulary::split_words;

/// The literal http host of a string-building expression, if it starts with one.
fn http_host_of(node: Node, source: &[u8]) -> Option<String> {
    let built = flatten(node, source)?;
    literal_http_host(built.leading_text()).map(str::to_string)
}

/// Names that say the string is an XML namespace or schema, or a text for people.
fn is_non_request_name(name: &str) -> bool {
    // The `Origin` header: the site a request claims to come from (a name
    // that only contains the word may be a base URL: `API_ORIGIN`).
    name.eq_ignore_ascii_case("origin")
        || split_words(name).iter().any(|word| {
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
                // Links for people: a device's configuration_url, a repair
                // issue's learn_more_url, a homepage.
                | "configuration"
                | "learn"
                | "homepage"
                | "website"
                // Where to report a problem (`ISSUE_URL`, `issue_tracker`).
                | "issue"
                | "issues"
                | "tracker"
                // The page a request claims to come from, sent as a header.
                | "referer"
                | "referrer"
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
pub fn insecure_http_url<'t>(ctx: &FileContext<'t>, node: Node<'t>, _: &[&str]) -> bool {
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
fn starts_its_builder<'t>(ctx: &FileContext<'t>, node: Node<'t>, source: &[u8]) -> bool {
    let Some(parent) = ctx.parent(node) else {
        return false;
    };
    match parent.kind_name() {
        "binary_operator" | "concatenated_string" => {
            parent.named_child(0).map(|c| c.id()) == Some(node.id())
        }
        "attribute" => is_inner_piece(ctx, node, source),
        _ => false,
    }
}

/// Walks up from a URL literal through the expressions that carry it, and
/// decides whether the place it lands in is a request target or a URL constant.
fn is_request_like_use<'t>(ctx: &FileContext<'t>, node: Node<'t>) -> bool {
    let source = ctx.source;
    let mut current = node;
    while let Some(parent) = ctx.parent(current) {
        match parent.kind_name() {
            // Carried along: part of a larger string, or one of several values.
            "concatenated_string"
            | "binary_operator"
            | "parenthesized_expression"
            | "list"
            | "tuple"
            | "set"
            | "conditional_expression"
            | "attribute" => {}
            // "http://.../{}".format(x): the call builds the URL.
            "call"
                if parent.field("function").map(|f| f.id()) == Some(current.id())
                    && current.kind_name() == "attribute"
                    && current
                        .field("attribute")
                        .is_some_and(|a| text(a, source) == "format") => {}
            "expression_statement" => return false, // a docstring or a bare string
            "comparison_operator"
            | "boolean_operator"
            | "not_operator"
            | "case_pattern"
            | "case_clause"
            | "subscript"
            | "interpolation" => return false,
            "pair" => {
                let is_key = parent.field("key").map(|k| k.id()) == Some(current.id());
                if is_key {
                    return false;
                }
                let key_name = parent
                    .field("key")
                    .map(|k| string_value(k, source).unwrap_or_else(|| ctx.text(k).to_string()))
                    .unwrap_or_default();
                if is_non_request_name(&key_name) || is_link_record(ctx, parent, &key_name) {
                    return false;
                }
                // A value of a dictionary: what is the dictionary for?
                current = ctx.parent(parent).unwrap_or(parent);
                continue;
            }
            "dictionary" => {}
            "keyword_argument" => {
                let name = parent.field("name").map(|n| ctx.text(n)).unwrap_or("");
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
                let left = parent.field("left");
                if left.map(|l| l.id()) == Some(current.id()) {
                    return false;
                }
                return left.is_none_or(|l| !is_non_request_name(ctx.text(l)));
            }
            "default_parameter" | "typed_default_parameter" => {
                return parent
                    .field("name")
                    .is_none_or(|n| !is_non_request_name(ctx.text(n)));
            }
            "return_statement" => return true,
            _ => return false,
        }
        current = parent;
    }
    false
}

/// Is `pair` the `url` of a link record, a dictionary that also has a `title`
/// (`{"title": "City of Adelaide", "url": "http://www.adelaide..."}`)? Such a
/// record names a page for people to open, as a list of supported services does.
fn is_link_record<'t>(ctx: &FileContext<'t>, pair: Node<'t>, key: &str) -> bool {
    if !matches!(key, "url" | "link" | "href") {
        return false;
    }
    let Some(dictionary) = ctx.parent(pair) else {
        return false;
    };
    let mut cursor = dictionary.walk();
    dictionary.named_children(&mut cursor).any(|sibling| {
        sibling.kind_name() == "pair"
            && sibling
                .field("key")
                .and_then(|k| string_value(k, ctx.source))
                .is_some_and(|k| k == "title")
    })
}

/// The callee of the call whose argument list is `arguments`.
fn call_of_arguments<'t>(ctx: &FileContext<'t>, arguments: Option<Node<'t>>) -> Option<Node<'t>> {
    let call = ctx.parent(arguments?)?;
    (call.kind_name() == "call").then(|| call.field("function"))?
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::test_support::any_passes;

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
            "url = 'http://api.vendor.com/{}'.format(device)",
            "url = 'http://api.vendor.com/%s' % device",
            "SERVICES = [{'name': 'City of X', 'url': 'http://api.city-x.gov'}]",
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
            "async_create_issue(hass, DOMAIN, 'x', learn_more_url='http://vendor.com/why')",
            "SERVICES = [{'title': 'City of X', 'url': 'http://www.city-x.gov'}]",
            "FEATURES = ['http://jabber.org/protocol/caps']",
            "vol.Optional(CONF_URL, default='http://replace.with.your.host.com')",
            "URL = 'http://yourserver.com/api'",
            "HEADERS = {'Referer': 'http://www.vendor.com/app/'}",
            "HEADERS = {'Origin': 'http://www.vendor.com'}",
        ] {
            assert!(!insecure(source), "{source}");
        }
    }
}
