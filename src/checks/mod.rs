//! Named checks: what a tree-sitter query cannot say, written once in Rust and
//! called from rule queries as predicates.
//!
//! A rule writes `(#secret-sourced? @arg)` in its query and lists
//! `checks = ["secret-sourced"]`; `#not-secret-sourced?` negates. Each check takes
//! one capture, then zero or more strings, and answers yes or no.

mod context;
mod entity_attributes;
mod expiry;
mod http_credentials;
mod http_urls;
mod imports;
mod literals;
mod secrets;
mod tls;
mod url_secrets;
mod urls;

pub use context::FileContext;
pub use imports::ImportTable;

use tree_sitter::{Node, QueryPredicateArg};

/// A named check, callable from a query as `(#name? @capture "arg"...)`.
pub struct Check {
    pub name: &'static str,
    /// What the check answers, for rule authors.
    pub doc: &'static str,
    /// Does it need at least one string argument after the capture?
    pub needs_strings: bool,
    pub eval: fn(&FileContext, Node, &[&str]) -> bool,
}

/// Every check a rule may use.
pub static CHECKS: &[Check] = &[
    Check {
        name: "qualname",
        doc: "the expression resolves, through the file's imports, to one of the qualified names \
              given (`pickle.loads`; a trailing `.*` matches any member: `requests.*`)",
        needs_strings: true,
        eval: imports::qualname_matches,
    },
    Check {
        name: "secret-name",
        doc: "the identifier, attribute, string or keyword names a secret (the shared vocabulary)",
        needs_strings: false,
        eval: secrets::names_secret,
    },
    Check {
        name: "secret-sourced",
        doc: "the expression's value comes from a secret (RULES.md, secret-sourced expression)",
        needs_strings: false,
        eval: secrets::is_secret_sourced,
    },
    Check {
        name: "literal",
        doc: "the expression is a constant: literals, and strings built only from literals",
        needs_strings: false,
        eval: literals::is_literal,
    },
    Check {
        name: "hardcoded-secret",
        doc: "the string literal is a real-looking secret value (not empty, not a placeholder, \
              not the key's own name), or matches a well-known credential format",
        needs_strings: false,
        eval: secrets::is_hardcoded_secret,
    },
    Check {
        name: "entity-attributes",
        doc: "the dictionary pair, `dict(...)` keyword or item assignment is an entry of an \
              entity's state attributes (`extra_state_attributes`, `_attr_extra_state_attributes`)",
        needs_strings: false,
        eval: entity_attributes::is_entity_attribute_entry,
    },
    Check {
        name: "expiry-without-buffer",
        doc: "the comparison orders an expiry time against \"now\" with no margin on either side",
        needs_strings: false,
        eval: expiry::expiry_without_buffer,
    },
    Check {
        name: "secret-in-url-query",
        doc: "the string-building expression puts a secret into a URL's path or query, or any \
              value under a secret-like query parameter name",
        needs_strings: false,
        eval: url_secrets::secret_in_url_query,
    },
    Check {
        name: "query-parameter",
        doc: "the dictionary pair becomes a URL query parameter (`params=`, `urlencode`, \
              yarl's `with_query`), directly or through a local dictionary",
        needs_strings: false,
        eval: url_secrets::is_query_parameter,
    },
    Check {
        name: "credentials-in-url",
        doc: "the string-building expression puts a secret into a URL's userinfo \
              (`scheme://user:password@host`)",
        needs_strings: false,
        eval: url_secrets::credentials_in_url,
    },
    Check {
        name: "insecure-http-url",
        doc: "the string is an `http://` URL to an internet host, used as a request target or \
              URL constant (not local, placeholder, example, namespace, docstring, key or match)",
        needs_strings: false,
        eval: http_urls::insecure_http_url,
    },
    Check {
        name: "credentials-over-http",
        doc: "the request call goes to an `http://` URL (not loopback) and carries credentials",
        needs_strings: false,
        eval: http_credentials::credentials_over_http,
    },
    Check {
        name: "verification-opt-out",
        doc: "the node runs only when the user turned TLS verification off, or sits in a helper \
              named for building an unverified context, or drops hostname checks next to a pinned CA",
        needs_strings: false,
        eval: tls::is_verification_opt_out,
    },
];

/// Finds a check by name (without `?` or `not-`).
pub fn find(name: &str) -> Option<&'static Check> {
    CHECKS.iter().find(|check| check.name == name)
}

/// The check a predicate operator calls: `not-secret-sourced?` calls `secret-sourced`.
pub fn predicate_check_name(operator: &str) -> &str {
    let name = operator.strip_suffix('?').unwrap_or(operator);
    name.strip_prefix("not-").unwrap_or(name)
}

/// Is the predicate operator negated (`#not-...?`)?
pub fn predicate_is_negated(operator: &str) -> bool {
    operator.starts_with("not-")
}

impl Check {
    /// A predicate must pass one capture first, then strings only.
    pub fn validate_args(&self, args: &[QueryPredicateArg]) -> Result<(), String> {
        let shape_ok = matches!(args.first(), Some(QueryPredicateArg::Capture(_)))
            && args[1..]
                .iter()
                .all(|arg| matches!(arg, QueryPredicateArg::String(_)));
        if !shape_ok {
            return Err(format!("`#{}?` takes one capture, then strings", self.name));
        }
        if self.needs_strings && args.len() < 2 {
            return Err(format!(
                "`#{}?` needs at least one string after the capture",
                self.name
            ));
        }
        if !self.needs_strings && args.len() > 1 {
            return Err(format!("`#{}?` takes no strings", self.name));
        }
        Ok(())
    }
}

/// The text of a node, or "" when the source is not valid UTF-8 there.
pub fn text<'s>(node: Node, source: &'s [u8]) -> &'s str {
    node.utf8_text(source).unwrap_or("")
}

#[cfg(test)]
pub(crate) mod test_support {
    use tree_sitter::{Node, Parser, Tree};

    pub fn parse(source: &str) -> Tree {
        let mut parser = Parser::new();
        parser.set_language(&crate::scan::language()).unwrap();
        parser.parse(source, None).unwrap()
    }

    /// Runs `check` on every node of `kind` whose text starts with `starts`, in
    /// `source`, and says whether any passes.
    pub fn any_passes(
        check: fn(&super::FileContext, Node, &[&str]) -> bool,
        source: &str,
        kind: &str,
        starts: &str,
    ) -> bool {
        let tree = parse(source);
        let vocabulary = crate::rules::vocabulary::Vocabulary::default();
        let ctx = super::FileContext::new(source.as_bytes(), &tree, &vocabulary);
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

    /// The first node of `kind` whose text is `text`, in document order.
    pub fn find<'t>(tree: &'t Tree, source: &str, kind: &str, text: &str) -> Node<'t> {
        let mut stack = vec![tree.root_node()];
        let mut found = Vec::new();
        while let Some(node) = stack.pop() {
            if node.kind() == kind && &source[node.byte_range()] == text {
                found.push(node);
            }
            let mut cursor = node.walk();
            stack.extend(node.children(&mut cursor));
        }
        found.sort_by_key(|n| n.start_byte());
        *found
            .first()
            .unwrap_or_else(|| panic!("no {kind} `{text}` in the source"))
    }
}
