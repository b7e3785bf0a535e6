//! URLs in source code: the pieces a string is built from, and where a URL's
//! parts (scheme, userinfo, host, path, query) fall among those pieces.
//!
//! The checks on URLs (secrets in a query, credentials in the userinfo, plain
//! HTTP hosts) all start from the same model: a string-building expression is a
//! sequence of literal text and spliced-in expressions, whatever the syntax that
//! builds it (f-string, `+` chain, `"...".format(...)`, `"..." % args`).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use tree_sitter::Node;

use super::{FileContext, flow};
use crate::model::names::percent_arguments;
use crate::model::syntax::NodeExt;

use super::text;

/// One piece of a built string.
#[derive(Debug, Clone, Copy)]
pub enum Segment<'t> {
    /// An expression whose value is spliced in (an f-string interpolation, a
    /// `+` operand, a `.format` or `%` argument).
    Expr(Node<'t>),
    /// A placeholder whose value cannot be tied to an expression (`{}` with too
    /// few arguments, `%(name)s` from a mapping that is not a literal).
    Unknown,
}

/// A string-building expression, flattened.
#[derive(Debug, Default)]
pub struct Built<'t> {
    /// Literal text with every spliced part replaced by [`HOLE`].
    pub template: String,
    /// The spliced parts, in order; `template` has one [`HOLE`] per part.
    pub parts: Vec<Segment<'t>>,
}

/// Marks a spliced part in [`Built::template`]; never appears in source text.
pub const HOLE: char = '\u{0}';

impl<'t> Built<'t> {
    fn push_text(&mut self, literal: &str) {
        self.template.push_str(literal);
    }

    fn push_part(&mut self, part: Segment<'t>) {
        self.template.push(HOLE);
        self.parts.push(part);
    }

    /// Each spliced part with the literal text before it (holes included).
    pub fn parts_with_prefix(&self) -> Vec<(Segment<'t>, &str)> {
        let mut out = Vec::new();
        let mut index = 0;
        for (at, c) in self.template.char_indices() {
            if c == HOLE {
                if let Some(part) = self.parts.get(index) {
                    out.push((*part, &self.template[..at]));
                }
                index += 1;
            }
        }
        out
    }

    /// The leading literal text, up to the first spliced part.
    pub fn leading_text(&self) -> &str {
        self.template.split(HOLE).next().unwrap_or("")
    }
}

/// Is this node a piece of a larger string-building expression (so that the
/// larger one is the thing to report)?
pub fn is_inner_piece<'t>(ctx: &FileContext<'t>, node: Node<'t>, source: &[u8]) -> bool {
    let Some(parent) = ctx.parent(node) else {
        return false;
    };
    match parent.kind_name() {
        "concatenated_string" => true,
        "binary_operator" => {
            let operator = parent.field("operator").map(|o| text(o, source));
            operator == Some("+")
                || (operator == Some("%")
                    && parent.field("left").map(|l| l.id()) == Some(node.id()))
        }
        // "...".format(...): the call is the expression.
        "attribute" => parent
            .field("attribute")
            .is_some_and(|a| text(a, source) == "format"),
        _ => false,
    }
}

/// Flattens a string-building expression; `None` when `node` builds no string.
pub fn flatten<'t>(node: Node<'t>, source: &[u8]) -> Option<Built<'t>> {
    let mut built = Built::default();
    match node.kind_name() {
        "string" | "concatenated_string" => {
            push_string(node, source, &mut built);
            Some(built)
        }
        "binary_operator" => {
            let operator = node.field("operator").map(|o| text(o, source));
            let left = node.field("left")?;
            let right = node.field("right")?;
            match operator {
                Some("+") => {
                    if !push_concat(node, source, &mut built) {
                        return None;
                    }
                    Some(built)
                }
                Some("%") => {
                    let template = template_string(left, source)?;
                    let arguments = percent_arguments(right);
                    push_template(
                        template,
                        source,
                        &arguments,
                        &[],
                        Style::Percent,
                        &mut built,
                    );
                    Some(built)
                }
                _ => None,
            }
        }
        "call" => {
            let function = node.field("function")?;
            if function.kind_name() != "attribute" {
                return None;
            }
            let object = function.field("object")?;
            let method = function.field("attribute")?;
            if text(method, source) != "format" {
                return None;
            }
            let template = template_string(object, source)?;
            let (positional, keywords) = flow::call_arguments(node, source);
            push_template(
                template,
                source,
                &positional,
                &keywords,
                Style::Format,
                &mut built,
            );
            Some(built)
        }
        _ => None,
    }
}

fn is_string(node: Node) -> bool {
    matches!(node.kind_name(), "string" | "concatenated_string")
}

/// The string a template is written in: a literal, or an UPPER_CASE module
/// constant holding one (`ENTITY_IMAGE_URL.format(entity_id, token)`).
fn template_string<'t>(node: Node<'t>, source: &[u8]) -> Option<Node<'t>> {
    if is_string(node) {
        return Some(node);
    }
    // ("https://host/v2?" "key={}").format(key): a template split over lines.
    if node.kind_name() == "parenthesized_expression" {
        return node
            .parts()
            .first()
            .and_then(|inner| template_string(*inner, source));
    }
    let name = text(node, source);
    let constant = node.kind_name() == "identifier"
        && name
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_');
    module_constant(node, source).filter(|value| constant && is_string(*value))
}

/// The value of a module-level `NAME = value` for the identifier `NAME`.
pub fn module_constant<'t>(identifier: Node<'t>, source: &[u8]) -> Option<Node<'t>> {
    if identifier.kind_name() != "identifier" {
        return None;
    }
    let name = text(identifier, source);
    let mut root = identifier;
    while let Some(parent) = root.parent() {
        root = parent;
    }
    let mut cursor = root.walk();
    let mut found = None;
    for statement in root.named_children(&mut cursor) {
        if statement.kind_name() != "expression_statement" {
            continue;
        }
        if let Some(assignment) = statement.named_child(0)
            && assignment.kind_name() == "assignment"
            && let (Some(left), Some(right)) = (assignment.field("left"), assignment.field("right"))
            && left.kind_name() == "identifier"
            && text(left, source) == name
        {
            found = Some(right);
        }
    }
    found
}

/// Appends an f-string (or plain string) piece by piece.
fn push_string<'t>(node: Node<'t>, source: &[u8], built: &mut Built<'t>) {
    let mut cursor = node.walk();
    for child in node.named_children(&mut cursor) {
        match child.kind_name() {
            "string" => push_string(child, source, built),
            "string_content" | "escape_sequence" => built.push_text(text(child, source)),
            "interpolation" => match child.field("expression") {
                Some(expression) => built.push_part(Segment::Expr(expression)),
                None => built.push_part(Segment::Unknown),
            },
            _ => {}
        }
    }
}

/// Appends a `+` chain; false when an operand is not a string or an expression
/// that could be one (a number added to a number builds no string).
fn push_concat<'t>(node: Node<'t>, source: &[u8], built: &mut Built<'t>) -> bool {
    let is_plus = node.kind_name() == "binary_operator"
        && node.field("operator").map(|o| text(o, source)) == Some("+");
    if is_plus {
        let (Some(left), Some(right)) = (node.field("left"), node.field("right")) else {
            return false;
        };
        return push_concat(left, source, built) && push_concat(right, source, built);
    }
    match node.kind_name() {
        "string" | "concatenated_string" => push_string(node, source, built),
        "parenthesized_expression" => match node.parts().first() {
            Some(inner) => return push_concat(*inner, source, built),
            None => return false,
        },
        "integer" | "float" | "list" | "tuple" | "dictionary" => return false,
        _ => built.push_part(Segment::Expr(node)),
    }
    true
}

#[derive(Clone, Copy, PartialEq)]
enum Style {
    Format,
    Percent,
}

/// Appends a `.format` or `%` template, tying each placeholder to its argument.
fn push_template<'t>(
    template: Node<'t>,
    source: &[u8],
    positional: &[Node<'t>],
    keywords: &[(&str, Node<'t>)],
    style: Style,
    built: &mut Built<'t>,
) {
    let mut literal = Built::default();
    push_string(template, source, &mut literal);
    let chars: Vec<char> = literal.template.chars().collect();
    let mut next_positional = 0;
    let mut i = 0;
    let mut pending = String::new();
    while i < chars.len() {
        let c = chars[i];
        let placeholder = match (style, c, chars.get(i + 1)) {
            (Style::Format, '{', Some('{')) | (Style::Format, '}', Some('}')) => {
                pending.push(c);
                i += 2;
                continue;
            }
            (Style::Percent, '%', Some('%')) => {
                pending.push('%');
                i += 2;
                continue;
            }
            (Style::Format, '{', _) => {
                let end = chars[i..].iter().position(|&c| c == '}').map(|p| i + p);
                let Some(end) = end else {
                    pending.push(c);
                    i += 1;
                    continue;
                };
                let field: String = chars[i + 1..end].iter().collect();
                let name: String = field
                    .split([':', '!', '.', '['])
                    .next()
                    .unwrap_or("")
                    .to_string();
                i = end + 1;
                Some(name)
            }
            (Style::Percent, '%', Some(_)) => {
                // %s, %d, %(name)s, %-10s: skip to the conversion letter.
                let mut j = i + 1;
                let mut name = String::new();
                if chars.get(j) == Some(&'(') {
                    let close = chars[j..].iter().position(|&c| c == ')').map(|p| j + p);
                    if let Some(close) = close {
                        name = chars[j + 1..close].iter().collect();
                        j = close + 1;
                    }
                }
                while j < chars.len() && !chars[j].is_ascii_alphabetic() {
                    j += 1;
                }
                i = j + 1;
                Some(if name.is_empty() { String::new() } else { name })
            }
            _ => None,
        };
        match placeholder {
            None => {
                pending.push(c);
                i += 1;
            }
            Some(name) => {
                built.push_text(&pending);
                pending.clear();
                let argument = if name.is_empty() {
                    next_positional += 1;
                    positional.get(next_positional - 1).copied()
                } else if let Ok(index) = name.parse::<usize>() {
                    positional.get(index).copied()
                } else {
                    keywords
                        .iter()
                        .find(|(keyword, _)| *keyword == name)
                        .map(|(_, value)| *value)
                };
                built.push_part(argument.map_or(Segment::Unknown, Segment::Expr));
            }
        }
    }
    built.push_text(&pending);
}

/// Where the parts of a URL start and end in a [`Built::template`] (byte offsets).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UrlLayout {
    /// Just after `://`.
    pub authority_start: usize,
    /// The `@` that ends the userinfo, if any.
    pub userinfo_end: Option<usize>,
    /// Where the authority ends (`/`, `?`, `#` or the end).
    pub authority_end: usize,
}

/// The layout of the first URL (`scheme://`) in a template.
pub fn url_layout(template: &str) -> Option<UrlLayout> {
    let scheme_end = template.find("://")?;
    let scheme = template[..scheme_end]
        .rsplit(|c: char| !(c.is_ascii_alphanumeric() || c == '+' || c == '-' || c == '.'))
        .next()
        .unwrap_or("");
    if scheme.is_empty() && !template[..scheme_end].ends_with(HOLE) {
        return None;
    }
    let authority_start = scheme_end + 3;
    let rest = &template[authority_start..];
    let authority_len = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let authority = &rest[..authority_len];
    let userinfo_end = authority.rfind('@').map(|at| authority_start + at);
    Some(UrlLayout {
        authority_start,
        userinfo_end,
        authority_end: authority_start + authority_len,
    })
}

/// The host of an `http://` URL written literally at the start of `text`, or
/// `None` when `text` is not one or the host is not written out.
pub fn literal_http_host(text: &str) -> Option<&str> {
    let lower_prefix = text.get(..7)?.to_ascii_lowercase();
    if lower_prefix != "http://" {
        return None;
    }
    let rest = &text[7..];
    let authority_len = rest
        .find(|c: char| matches!(c, '/' | '?' | '#' | HOLE) || c.is_whitespace())
        .unwrap_or(rest.len());
    let authority = &rest[..authority_len];
    let host_port = authority.rsplit('@').next().unwrap_or(authority);
    let host = if let Some(inner) = host_port.strip_prefix('[') {
        inner.split(']').next().unwrap_or("")
    } else {
        host_port.split(':').next().unwrap_or("")
    };
    // A host followed directly by a spliced value (`http://{host}`,
    // `http://cam-{id}.example`) is not written out.
    let spliced_host = rest[authority_len..].starts_with(HOLE) && host_port == host;
    if host.is_empty() || spliced_host {
        return None;
    }
    Some(host)
}

/// Hosts that never leave the machine or the home network, and names that
/// stand for a host rather than being one.
pub fn is_local_or_placeholder_host(host: &str) -> bool {
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    if host.contains(['{', '}', '%', '<', '>', '$', '*']) || host.contains(HOLE) {
        return true;
    }
    if let Ok(ip) = host.parse::<IpAddr>() {
        return match ip {
            IpAddr::V4(v4) => is_local_ipv4(v4),
            IpAddr::V6(v6) => is_local_ipv6(v6),
        };
    }
    // A single label (`http://supervisor/`, `http://homeassistant:8123`) is a
    // name on the local network or a container network.
    if !host.contains('.') {
        return true;
    }
    const LOCAL_SUFFIXES: &[&str] = &[
        ".local",
        ".localhost",
        ".lan",
        ".home",
        ".internal",
        ".localdomain",
        ".home.arpa",
        ".intranet",
    ];
    LOCAL_SUFFIXES.iter().any(|suffix| host.ends_with(suffix))
        // `x.x.x.x`, `192.168.x.x`: an address to fill in.
        || (host.contains('x')
            && host
                .split('.')
                .all(|label| label.chars().all(|c| c.is_ascii_digit() || c == 'x')))
        // `replace.with.your.host.com`, `yourserver.com`, `your-domain.org`: a
        // host for the user to write in.
        || host.split(['.', '-']).any(|part| {
            matches!(part, "your" | "replace" | "changeme" | "insert")
                || part.strip_prefix("your").is_some_and(|rest| {
                    matches!(rest, "domain" | "server" | "host" | "site" | "ip" | "instance" | "name")
                })
        })
}

fn is_local_ipv4(ip: Ipv4Addr) -> bool {
    ip.is_loopback() || ip.is_private() || ip.is_link_local() || ip.is_unspecified()
        // 100.64.0.0/10, carrier-grade NAT (and Tailscale).
        || (ip.octets()[0] == 100 && (ip.octets()[1] & 0xC0) == 64)
}

fn is_local_ipv6(ip: Ipv6Addr) -> bool {
    let first = ip.segments()[0];
    ip.is_loopback()
        || ip.is_unspecified()
        || (first & 0xfe00) == 0xfc00 // unique local
        || (first & 0xffc0) == 0xfe80 // link local
}

/// Documentation hosts (RFC 2606 / RFC 6761): `example.com` and friends stand for
/// "your server here" in help texts and defaults.
pub fn is_example_host(host: &str) -> bool {
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    ["example.com", "example.net", "example.org"]
        .iter()
        .any(|domain| host == *domain || host.ends_with(&format!(".{domain}")))
        || [".example", ".test", ".invalid"]
            .iter()
            .any(|suffix| host.ends_with(suffix))
}

/// XML namespace and schema hosts: identifiers that look like URLs and are never fetched.
pub fn is_namespace_url(url: &str, host: &str) -> bool {
    let host = host.to_ascii_lowercase();
    let lower = url.to_ascii_lowercase();
    const NAMESPACE_HOSTS: &[&str] = &[
        "www.w3.org",
        "w3.org",
        "purl.org",
        "xmlns.com",
        "ns.adobe.com",
        "docs.oasis-open.org",
        "www.onvif.org",
        "www.wsdl.org",
        "www.openarchives.org",
        "www.opengis.net",
        "jabber.org",
    ];
    NAMESPACE_HOSTS.contains(&host.as_str())
        || host.starts_with("schemas.")
        || host.starts_with("xmlns.")
        || host.starts_with("ns.")
        || lower.contains("/ns/")
        // XMPP service discovery features (`http://jabber.org/protocol/caps`).
        || lower.contains("/protocol/")
        || lower.contains("/xmlns")
        || lower.contains("/schema")
        || lower.contains("/wsdl")
        || lower.ends_with(".xsd")
        || lower.contains("xml.org")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::test_support::Snippet;

    /// Flattens the value of `x = <expression>` and shows holes as `#`, each
    /// part as its source text.
    fn flat(expression: &str) -> (String, Vec<String>) {
        let snippet = Snippet::new(&format!("x = {expression}\n"));
        let source = &snippet.source;
        let value = snippet.assigned(0);
        let built = flatten(value, source.as_bytes()).expect("builds a string");
        let parts = built
            .parts
            .iter()
            .map(|p| match p {
                Segment::Expr(n) => text(*n, source.as_bytes()).to_string(),
                Segment::Unknown => "?".to_string(),
            })
            .collect();
        (built.template.replace(HOLE, "#"), parts)
    }

    #[test]
    fn every_string_building_syntax_flattens_alike() {
        let expected = (
            "https://#/?key=#".to_string(),
            vec!["host".to_string(), "key".to_string()],
        );
        assert_eq!(flat("f'https://{host}/?key={key}'"), expected);
        assert_eq!(flat("'https://' + host + '/?key=' + key"), expected);
        assert_eq!(flat("'https://{}/?key={}'.format(host, key)"), expected);
        assert_eq!(
            flat("'https://{h}/?key={k}'.format(k=key, h=host)"),
            expected
        );
        assert_eq!(flat("'https://%s/?key=%s' % (host, key)"), expected);
        assert_eq!(
            flat("'https://%(h)s/?key=%(k)s' % {'h': host}").0,
            "https://#/?key=#"
        );
        assert_eq!(flat("'{{literal}}{}'.format(a)").0, "{literal}#");
        assert_eq!(flat("'100%% %s' % a").0, "100% #");
    }

    #[test]
    fn templates_in_module_constants_flatten() {
        let source = "IMAGE_URL = '/api/proxy/{0}?token={1}'\nx = IMAGE_URL.format(eid, token)\ny = lower.format(a)\n";
        let snippet = Snippet::new(source);
        let built = flatten(snippet.assigned(1), source.as_bytes()).expect("a constant template");
        assert_eq!(built.template.replace(HOLE, "#"), "/api/proxy/#?token=#");
        assert!(
            flatten(snippet.assigned(2), source.as_bytes()).is_none(),
            "not a constant"
        );
    }

    #[test]
    fn numbers_added_build_no_string() {
        let snippet = Snippet::new("x = a + 1\n");
        assert!(flatten(snippet.assigned(0), snippet.source.as_bytes()).is_none());
    }

    #[test]
    fn url_layout_finds_the_userinfo() {
        let with_user = url_layout("http://\u{0}:\u{0}@\u{0}/path").unwrap();
        assert_eq!(with_user.authority_start, 7);
        assert_eq!(with_user.userinfo_end, Some(10));
        assert_eq!(url_layout("https://host/a@b").unwrap().userinfo_end, None);
        assert!(url_layout("no url here").is_none());
    }

    #[test]
    fn literal_hosts_are_read_from_http_urls() {
        assert_eq!(
            literal_http_host("http://api.vendor.com/v1"),
            Some("api.vendor.com")
        );
        assert_eq!(
            literal_http_host("HTTP://Vendor.com:8080"),
            Some("Vendor.com")
        );
        assert_eq!(literal_http_host("http://user@1.2.3.4/"), Some("1.2.3.4"));
        assert_eq!(literal_http_host("http://[::1]:80/"), Some("::1"));
        assert_eq!(literal_http_host("http://\u{0}:80/"), None);
        assert_eq!(literal_http_host("http://cam-\u{0}/"), None);
        assert_eq!(
            literal_http_host("http://api.vendor.com:\u{0}/"),
            Some("api.vendor.com")
        );
        assert_eq!(literal_http_host("https://api.vendor.com"), None);
        assert_eq!(literal_http_host("http://"), None);
        // Never panics on odd text: multi-byte characters around the host.
        for odd in [
            "http://[ä]:1/",
            "http://ä\u{0}",
            "http://[",
            "http://@",
            "http://é.com",
        ] {
            let _ = literal_http_host(odd);
            let _ = url_layout(odd);
        }
    }

    #[test]
    fn local_hosts_are_told_apart() {
        for host in [
            "localhost",
            "127.0.0.1",
            "127.1.2.3",
            "10.0.0.2",
            "172.16.1.1",
            "192.168.1.10",
            "169.254.1.1",
            "::1",
            "fe80::1",
            "fd00::5",
            "printer.local",
            "nas.lan",
            "supervisor",
            "homeassistant",
            "x.x.x.x",
        ] {
            assert!(is_local_or_placeholder_host(host), "{host}");
        }
        for host in ["api.vendor.com", "8.8.8.8", "172.32.0.1", "2001:db8::1"] {
            assert!(!is_local_or_placeholder_host(host), "{host}");
        }
    }

    #[test]
    fn example_and_namespace_hosts() {
        assert!(is_example_host("www.example.com"));
        assert!(is_example_host("example.org"));
        assert!(!is_example_host("myexample.com"));
        assert!(is_namespace_url(
            "http://www.w3.org/2001/XMLSchema",
            "www.w3.org"
        ));
        assert!(is_namespace_url(
            "http://schemas.xmlsoap.org/soap/envelope/",
            "schemas.xmlsoap.org"
        ));
        assert!(is_namespace_url(
            "http://vendor.com/ns/device-1-0",
            "vendor.com"
        ));
        assert!(is_namespace_url(
            "http://vendor.com/protocol/update+notify",
            "vendor.com"
        ));
        assert!(!is_namespace_url(
            "http://api.vendor.com/v1/status",
            "api.vendor.com"
        ));
    }
}
