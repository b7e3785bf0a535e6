//! Secrets spliced into URLs: into the query or path (HAS202), or into the
//! userinfo, `scheme://user:password@host` (HAS203).

use std::sync::LazyLock;

use tree_sitter::Node;

use super::{
    FileContext,
    flow::last_name,
    secrets::{is_secret_sourced, secret_like},
    urls::{Built, HOLE, Segment, flatten, is_inner_piece, url_layout},
};
use crate::model::syntax::NodeExt;
use crate::model::{enclosing_scope, names::string_value, values};
use crate::rules::vocabulary::split_words;

/// The query parameter a value is assigned to, when the text before it ends
/// with `?name=` or `&name=`.
fn query_parameter(prefix: &str) -> Option<&str> {
    let before = prefix.strip_suffix('=')?;
    let start = before.rfind(['?', '&'])?;
    let name = &before[start + 1..];
    (!name.is_empty() && !name.contains(HOLE) && !name.contains(['/', ' ', '='])).then_some(name)
}

/// The built string of a string-building node, unless the node is a piece of a
/// larger one (then the larger one is checked, once).
fn outermost_built<'t>(ctx: &FileContext<'t>, node: Node<'t>, source: &[u8]) -> Option<Built<'t>> {
    // Cheap first: a URL, a path or a query string written here has one of these.
    let literal = matches!(node.kind_name(), "string" | "concatenated_string");
    if (literal && !super::text(node, source).contains(['/', '?', '&', '@']))
        || is_inner_piece(ctx, node, source)
    {
        return None;
    }
    flatten(node, source)
}

/// Check `secret-in-url-query`: the string-building expression puts a secret
/// into a URL's path or query, or puts any value under a secret-like query
/// parameter name (`?api_key={key}`).
pub fn secret_in_url_query<'t>(ctx: &FileContext<'t>, node: Node<'t>, _: &[&str]) -> bool {
    let Some(built) = outermost_built(ctx, node, ctx.source) else {
        return false;
    };
    let layout = url_layout(&built.template);
    // Without `scheme://`, only a URL built on a base (`f"{base}?key={k}"`), a
    // path or a bare query string counts: `"app--login?token=..."` is not a URL.
    let url_like =
        layout.is_some() || matches!(built.template.chars().next(), Some(HOLE | '/' | '?' | '&'));
    if !url_like || links_to_a_view(ctx, &built.template) {
        return false;
    }
    // `self.endpoint + "/forecast/" + key`: after a base named for what it
    // is, a path segment (not a query, which the parameter rules judge).
    let on_named_base = layout.is_none()
        && built.template.starts_with(HOLE)
        && matches!(built.parts.first(), Some(Segment::Expr(base)) if names_a_base(ctx, *base));
    built.parts_with_prefix().into_iter().any(|(part, prefix)| {
        let Segment::Expr(expression) = part else {
            return false;
        };
        let at = prefix.len();
        let parameter = query_parameter(prefix);
        let past_authority = layout.is_some_and(|l| at >= l.authority_end)
            || (on_named_base && in_path_by_name(ctx, prefix, expression));
        if !(past_authority || parameter.is_some()) {
            return false;
        }
        (parameter
            .is_some_and(|name| secret_like(ctx, name) || key_given_a_key(ctx, name, expression))
            || is_secret_sourced(ctx, expression, &[]))
            && !values::only_literals(ctx, expression)
    })
}

/// A name or attribute whose last word says it holds a URL's base:
/// `self.endpoint`, `base_url`, `API_HOST`.
fn names_a_base<'t>(ctx: &FileContext<'t>, node: Node<'t>) -> bool {
    split_words(last_name(ctx, node))
        .last()
        .is_some_and(|word| matches!(word.as_str(), "url" | "endpoint" | "host" | "server"))
}

/// After a named base (`self.endpoint + "/forecast/" + self._api_key`), a
/// value whose own name says it is a secret, spliced as a path segment. Not
/// one the path names as its resource (`/v1/access_tokens/{token}` revokes
/// that token), nor a webhook's id (the URL a vendor is given to call).
fn in_path_by_name<'t>(ctx: &FileContext<'t>, prefix: &str, value: Node<'t>) -> bool {
    let name = last_name(ctx, value);
    let Some(path) = prefix
        .strip_prefix(HOLE)
        .filter(|p| p.ends_with('/') && !p.contains('?'))
    else {
        return false;
    };
    let resource = path.trim_end_matches('/').rsplit('/').next().unwrap_or("");
    !name.is_empty()
        && secret_like(ctx, name)
        && !name
            .trim_start_matches('_')
            .eq_ignore_ascii_case("webhook_id")
        && !secret_like(ctx, resource)
}

/// `?key={self._key}`: a parameter called `key` sent a value called `key`,
/// the way many web APIs (WorldTides, Google's) take their API key. A `key`
/// parameter sent anything else (`?key={sensor}`) may be a lookup key.
fn key_given_a_key<'t>(ctx: &FileContext<'t>, parameter: &str, value: Node<'t>) -> bool {
    let name = match value.kind_name() {
        "identifier" => value,
        "attribute" => match value.field("attribute") {
            Some(attribute) => attribute,
            None => return false,
        },
        _ => return false,
    };
    parameter.eq_ignore_ascii_case("key")
        && ctx.text(name).trim_matches('_').eq_ignore_ascii_case("key")
}

/// Home Assistant's own views that take an entity's access token in the query:
/// a browser (an `<img>`, a media player) can send nothing else, and the token
/// is the entity's own, rotated every few minutes.
const TOKEN_VIEWS: &[&str] = &[
    "/api/camera_proxy/",
    "/api/camera_proxy_stream/",
    "/api/image_proxy/",
    "/api/image_proxy_stream/",
    "/api/media_player_proxy/",
];

/// Is the URL a link to Home Assistant itself, to one of the views above or to
/// one the integration registers (`IntegrationFacts::view_paths`): its path
/// starts right after a base (`f"{get_url(hass)}/api/..."`), a host or
/// nothing? Such a view checks the token it minted (as Home Assistant's signed
/// paths do with `authSig`), and a clickable link has no header to carry it.
fn links_to_a_view(ctx: &FileContext, template: &str) -> bool {
    let Some(at) = template.find("/api/") else {
        return false;
    };
    let base = &template[..at];
    let after_authority = base
        .split_once("://")
        .map_or(base, |(_, authority)| authority);
    if after_authority.contains('/') {
        return false;
    }
    let path = template[at..].split(['?', '#']).next().unwrap_or_default();
    TOKEN_VIEWS.iter().any(|view| path.starts_with(view))
        || ctx
            .facts()
            .view_paths
            .iter()
            .any(|view| path_fits_view(path, view))
}

/// Does a link's path (with [`HOLE`]s where values go) fit a view's path
/// (with `{placeholders}`)? Segment by segment, a placeholder or a hole fits
/// anything, except in the first two (`/api/<domain>`), which must be written.
fn path_fits_view(path: &str, view: &str) -> bool {
    let link: Vec<&str> = path.trim_end_matches('/').split('/').collect();
    let view: Vec<&str> = view.trim_end_matches('/').split('/').collect();
    link.len() == view.len()
        && link.len() > 3
        && link
            .iter()
            .zip(&view)
            .enumerate()
            .all(|(at, (link, view))| {
                link == view || (at > 2 && (view.starts_with('{') || link.contains(HOLE)))
            })
}

/// Check `secret-url-template`: a plain string (a template for `.format` or `%`)
/// that is a URL or a query string and has a query parameter whose name, or
/// whose `{field}`, names a secret: `"...?key={api_key}"`, `"&apiKey={apiKey}"`.
pub fn is_secret_url_template<'t>(ctx: &FileContext<'t>, node: Node<'t>, _: &[&str]) -> bool {
    static PARAMETER: LazyLock<regex::Regex> = LazyLock::new(|| {
        regex::Regex::new(r"[?&]([A-Za-z0-9_.\-]+)=(\{([A-Za-z0-9_]*)\}|%s)")
            .expect("pattern compiles")
    });
    let Some(template) = string_value(node, ctx.source) else {
        return false;
    };
    // A template no file of the integration uses sends nothing.
    if let (Some(facts), Some(name)) = (
        ctx.integration.as_ref(),
        ctx.parent(node)
            .and_then(|assignment| assignment.field("left")),
    ) && facts.unused_url_templates.contains(ctx.text(name))
    {
        return false;
    }
    let url_like = template.contains("://") || template.starts_with(['?', '&']);
    url_like
        && PARAMETER.captures_iter(&template).any(|found| {
            secret_like(ctx, &found[1])
                || found
                    .get(3)
                    .is_some_and(|field| secret_like(ctx, field.as_str()))
        })
}

/// Calls that turn a mapping into a query string.
const QUERY_BUILDERS: &[&str] = &["urlencode", "with_query", "update_query", "extend_query"];

/// A query parameter's dictionary is given as `params=` or to a builder.
pub const QUERY_WORDS: &[&str] = &[
    "params",
    "urlencode",
    "with_query",
    "update_query",
    "extend_query",
];

/// Check `query-parameter`: the dictionary pair becomes a URL query parameter:
/// its dictionary is given as `params=` to a request, to `urlencode(...)` or to
/// yarl's `with_query`/`update_query`/`extend_query`, directly or through a
/// local it is assigned to (`params = {...}; session.get(url, params=params)`).
pub fn is_query_parameter<'t>(ctx: &FileContext<'t>, node: Node<'t>, _: &[&str]) -> bool {
    let Some(dictionary) = ctx.parent(node).filter(|d| d.kind_name() == "dictionary") else {
        return false;
    };
    if is_query_argument(ctx, dictionary) {
        return true;
    }
    // params = {...}, then params=params in the same function.
    let Some(assignment) = ctx
        .parent(dictionary)
        .filter(|a| a.kind_name() == "assignment")
    else {
        return false;
    };
    let Some(left) = assignment.field("left") else {
        return false;
    };
    match left.kind_name() {
        "identifier" => {
            let scope = enclosing_scope(ctx, assignment);
            becomes_query(ctx, scope, ctx.text(left), assignment.end_byte(), 2)
        }
        // self._params = {...} in `__init__`, then params=self._params in a method.
        "attribute" if left.field("object").is_some_and(|o| ctx.text(o) == "self") => {
            crate::model::config_flow::enclosing_class(ctx, assignment).is_some_and(|class| {
                let wanted = ctx.text(left);
                let mut sent = false;
                crate::model::config_flow::visit(class, &mut |n| {
                    sent = sent
                        || (n.kind_name() == "attribute"
                            && n.id() != left.id()
                            && ctx.text(n) == wanted
                            && is_query_argument(ctx, n));
                });
                sent
            })
        }
        _ => false,
    }
}

/// Is the local `name` given as `params=` (or to a query builder) after byte
/// `after` in `scope`, itself or merged into another local that is
/// (`params.update(base_params)`, up to `merges` times)?
fn becomes_query<'t>(
    ctx: &FileContext<'t>,
    scope: Node<'t>,
    name: &str,
    after: usize,
    merges: usize,
) -> bool {
    let mut stack = vec![scope];
    while let Some(current) = stack.pop() {
        if current.kind_name() == "identifier"
            && ctx.text(current) == name
            && current.start_byte() > after
        {
            if is_query_argument(ctx, current) {
                return true;
            }
            if merges > 0
                && let Some((into, call)) = merged_into(ctx, current)
                && becomes_query(ctx, scope, ctx.text(into), call.end_byte(), merges - 1)
            {
                return true;
            }
        }
        let mut cursor = current.walk();
        for child in current.named_children(&mut cursor) {
            if !matches!(
                child.kind_name(),
                "function_definition" | "class_definition"
            ) {
                stack.push(child);
            }
        }
    }
    false
}

/// `into.update(value)`: the local `value` is merged into (and the call).
fn merged_into<'t>(ctx: &FileContext<'t>, value: Node<'t>) -> Option<(Node<'t>, Node<'t>)> {
    let call = ctx
        .parent(value)
        .filter(|a| a.kind_name() == "argument_list")
        .and_then(|arguments| ctx.parent(arguments))?;
    let function = call
        .field("function")
        .filter(|f| f.kind_name() == "attribute")?;
    let into = function
        .field("object")
        .filter(|o| o.kind_name() == "identifier")?;
    function
        .field("attribute")
        .is_some_and(|method| ctx.text(method) == "update")
        .then_some((into, call))
}

/// Is `value` given as `params=` or to a query-building call?
fn is_query_argument<'t>(ctx: &FileContext<'t>, value: Node<'t>) -> bool {
    let Some(parent) = ctx.parent(value) else {
        return false;
    };
    let arguments = match parent.kind_name() {
        "keyword_argument" => {
            return parent
                .field("name")
                .is_some_and(|n| ctx.text(n) == "params");
        }
        "argument_list" => parent,
        _ => return false,
    };
    ctx.parent(arguments)
        .and_then(|call| call.field("function"))
        .is_some_and(|function| {
            let callee = ctx.text(function);
            QUERY_BUILDERS.contains(&callee.rsplit('.').next().unwrap_or(callee))
        })
}

/// Check `credentials-in-url`: the string-building expression puts a secret
/// into the userinfo of a URL (`f"{scheme}://{user}:{password}@{host}"`).
pub fn credentials_in_url<'t>(ctx: &FileContext<'t>, node: Node<'t>, _: &[&str]) -> bool {
    let Some(built) = outermost_built(ctx, node, ctx.source) else {
        return false;
    };
    let Some(layout) = url_layout(&built.template) else {
        return false;
    };
    let Some(userinfo_end) = layout.userinfo_end else {
        return false;
    };
    built.parts_with_prefix().into_iter().any(|(part, prefix)| {
        let at = prefix.len();
        matches!(part, Segment::Expr(expression)
            if (layout.authority_start..userinfo_end).contains(&at)
                && is_secret_sourced(ctx, expression, &[]))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::test_support::{CheckFn, Snippet, passes};

    #[test]
    fn links_fit_views_segment_by_segment() {
        let hole = HOLE.to_string();
        let link = |path: &str| path.replace('~', &hole);
        let view = "/api/my_domain/map/{device_id}";
        assert!(path_fits_view(&link("/api/my_domain/map/~"), view));
        assert!(path_fits_view(&link("/api/my_domain/~/~"), view));
        assert!(path_fits_view("/api/my_domain/map/abc", view));
        assert!(
            !path_fits_view(&link("/api/~/map/~"), view),
            "the domain must be written"
        );
        assert!(!path_fits_view(&link("/api/my_domain/map/~/more"), view));
        assert!(!path_fits_view(&link("/api/v1/state/~"), view));
        assert!(!path_fits_view(&link("/api/my_domain"), "/api/my_domain"));
    }

    /// Runs `check` on the value of the last statement of `body`, inside a function.
    fn on_value(check: CheckFn, body: &str) -> bool {
        let snippet = Snippet::new(&format!("def f(self, entry, host):\n{body}\n"));
        let function = snippet.root().named_child(0).unwrap();
        let block = function.field("body").unwrap();
        let last = block
            .named_child(block.named_child_count() as u32 - 1)
            .unwrap();
        let value = last.named_child(0).and_then(|a| a.field("right")).unwrap();
        check(&snippet.ctx(), value, &[])
    }

    #[test]
    fn secrets_in_a_query_or_path_are_found() {
        for body in [
            "    url = f'https://api.vendor.com/v1?key={self._api_key}'",
            "    url = 'https://api.vendor.com/v1?key=' + entry.data[CONF_API_KEY]",
            "    url = 'https://api.vendor.com/{}/data'.format(self._token)",
            "    url = 'https://%s/v1?x=1&auth=%s' % (host, self._token)",
            "    key = entry.data['api_key']\n    url = f'https://{host}/feed/{key}'",
            "    url = f'https://{host}/v1?api_key={value}'",
            "    url = f'?token={tok}'",
            // A path after a base named for what it is.
            "    url = self.endpoint + '/forecast/' + self._api_key + '/' + str(lat)",
        ] {
            assert!(on_value(secret_in_url_query, body), "{body}");
        }
    }

    #[test]
    fn other_strings_are_not_urls_with_secrets() {
        for body in [
            "    header = f'Bearer {self._token}'",
            "    url = f'https://{host}/v1?station={station}'",
            "    url = f'https://{self._user}:{self._password}@{host}/'",
            "    url = f'https://api.vendor.com/v1?key={self._api_key[:4]}'",
            "    message = f'Invalid token {token}? Try again'",
            "    url = f'https://{host}/v1?token_type={kind}'",
            "    total = a + 1",
            "    data = f'vendorApp--qrLogin?token={self._qr_code}'",
            // The token the path names as its resource; a webhook's own URL.
            "    url = f'{self.particle_url}/v1/access_tokens/{self.access_token}'",
            "    url = f'{base_url}/api/webhook/{webhook_id}'",
            "    url = self.endpoint + '/forecast/' + forecast_id",
        ] {
            assert!(!on_value(secret_in_url_query, body), "{body}");
        }
    }

    fn query_parameter_in(source: &str, pair: &str) -> bool {
        passes(is_query_parameter, source, "pair", pair, &[])
    }

    #[test]
    fn pairs_that_become_query_parameters() {
        for source in [
            "def f(s, t):\n    s.get(URL, params={'token': t})\n",
            "def f(s, t):\n    q = urlencode({'token': t})\n",
            "def f(u, t):\n    u = u.with_query({'token': t})\n",
            "def f(s, t):\n    params = {'token': t}\n    params['x'] = 1\n    s.get(URL, params=params)\n",
            "class C:\n    def __init__(self, t):\n        self._q = {'token': t}\n    def g(self, s):\n        s.get(URL, params=self._q)\n",
        ] {
            assert!(query_parameter_in(source, "'token': t"), "{source}");
        }
        for source in [
            "def f(s, t):\n    s.get(URL, headers={'token': t})\n",
            "def f(s, t):\n    params = {'token': t}\n    s.post(URL, json=params)\n",
            "def f(s, t):\n    s.get(URL, params=params)\n    params = {'token': t}\n",
            "class C:\n    def __init__(self, t):\n        self._q = {'token': t}\n    def g(self, s):\n        s.post(URL, json=self._q)\n",
        ] {
            assert!(!query_parameter_in(source, "'token': t"), "{source}");
        }
    }

    #[test]
    fn credentials_in_the_userinfo_are_found() {
        for body in [
            "    url = f'rtsp://{self._user}:{self._password}@{host}/stream'",
            "    url = 'http://' + user + ':' + password + '@' + host",
            "    url = '{}://{}:{}@{}'.format(scheme, user, entry.data[CONF_PASSWORD], host)",
            "    auth = f'{user}:{password}'\n    url = f'http://{auth}@{host}/'",
        ] {
            assert!(on_value(credentials_in_url, body), "{body}");
        }
        for body in [
            "    url = f'rtsp://{self._user}@{host}/stream'",
            "    url = f'https://{host}/login?password={password}'",
            "    url = f'mailto:{user}@{host}'",
        ] {
            assert!(!on_value(credentials_in_url, body), "{body}");
        }
    }
}
