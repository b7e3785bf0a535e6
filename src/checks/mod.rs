//! Named checks: what a tree-sitter query cannot say, written once in Rust and
//! called from rule queries as predicates.
//!
//! A rule writes `(#secret-sourced? @arg)` in its query and lists
//! `checks = ["secret-sourced"]`; `#not-secret-sourced?` negates. Each check takes
//! one capture, then zero or more strings, and answers yes or no.

mod arguments;
mod auth;
mod deserialize;
pub mod diagnostics;
mod entity_attributes;
pub mod exceptions;
mod expiry;
pub mod form_fields;
mod http_credentials;
mod http_urls;
mod literals;
pub mod manifest;
pub mod mappings;
mod module;
mod paths;
pub mod reauth;
mod secrets;
mod services;
mod sessions;
mod shell;
mod sql;
mod timeouts;
mod tls;
mod url_secrets;
mod urls;

pub use crate::model::{FileContext, ImportTable, config_flow as flow, imports};

use tree_sitter::{Node, QueryPredicateArg};

/// What a check answers: does `node`, in the file `ctx` describes, pass (with the
/// predicate's string arguments)? The node is of the context's own tree.
pub type CheckFn = for<'t> fn(&FileContext<'t>, Node<'t>, &[&str]) -> bool;

/// A named check, callable from a query as `(#name? @capture "arg"...)`.
pub struct Check {
    pub name: &'static str,
    /// What the check answers, for rule authors.
    pub doc: &'static str,
    /// Does it need at least one string argument after the capture?
    pub needs_strings: bool,
    pub eval: CheckFn,
    /// Words of which a file's text must hold one for the check to pass there
    /// (empty: none): the engine does not run a pattern that asks it in a file
    /// without them.
    pub file_words: &'static [&'static str],
}

/// Every check a rule may use.
pub static CHECKS: &[Check] = &[
    Check {
        name: "qualname",
        doc: "the expression resolves, through the file's imports, to one of the qualified names \
              given (`pickle.loads`; a trailing `.*` matches any member: `requests.*`)",
        needs_strings: true,
        eval: imports::qualname_matches,
        file_words: &[],
    },
    Check {
        name: "secret-name",
        doc: "the identifier, attribute, string or keyword names a secret (the shared vocabulary)",
        needs_strings: false,
        eval: secrets::names_secret,
        file_words: &[],
    },
    Check {
        name: "secret-sourced",
        doc: "the expression's value comes from a secret (RULES.md, secret-sourced expression)",
        needs_strings: false,
        eval: secrets::is_secret_sourced,
        file_words: &[],
    },
    Check {
        name: "literal",
        doc: "the expression is a constant: literals, and strings built only from literals",
        needs_strings: false,
        eval: literals::is_literal,
        file_words: &[],
    },
    Check {
        name: "hardcoded-secret",
        doc: "the string literal is a real-looking secret value (not empty, not a placeholder, \
              not the key's own name), or matches a well-known credential format",
        needs_strings: false,
        eval: secrets::is_hardcoded_secret,
        file_words: &[],
    },
    Check {
        name: "credential-format",
        doc: "the node's text holds a secret in a well-known credential format (GitHub, AWS, \
              Slack, Stripe and Google API keys, private keys with their key material, JWTs)",
        needs_strings: false,
        eval: secrets::has_credential_format,
        file_words: secrets::CREDENTIAL_PREFIXES,
    },
    Check {
        name: "argument-given",
        doc: "the call passes the keyword named by the first string (or, when a second string \
              gives a 0-based position, that positional argument), with a value other than \
              `None`; `*args`/`**kwargs` count as given",
        needs_strings: true,
        eval: arguments::argument_given,
        file_words: &[],
    },
    Check {
        name: "handler-reads-call",
        doc: "the call's positional argument at the 0-based position given is a service \
              handler that may read the call it is given: not a function, method of `self` or \
              lambda of this file that never uses its call parameter (or takes none)",
        needs_strings: true,
        eval: services::handler_reads_call,
        file_words: &[],
    },
    Check {
        name: "shared-session-elsewhere",
        doc: "the node is in a branch of an `if` whose other branch asks Home Assistant for \
              its shared HTTP session (`async_get_clientsession`, `async_create_clientsession`, \
              `get_async_client`, `create_async_httpx_client`)",
        needs_strings: false,
        eval: sessions::shared_session_elsewhere,
        file_words: &[],
    },
    Check {
        name: "argument-at",
        doc: "the node is the positional argument at the 0-based position given (comments \
              do not count, unlike a query's `.` anchor)",
        needs_strings: true,
        eval: arguments::argument_at,
        file_words: &[],
    },
    Check {
        name: "keyword-value",
        doc: "the call (or its argument list) passes the keyword named by the first string with \
              a value written exactly as the second string (`shell` `True`, `schema` `None`)",
        needs_strings: true,
        eval: arguments::keyword_value,
        file_words: &[],
    },
    Check {
        name: "module-defines",
        doc: "the file defines, at its top level, a function or class named as one of the strings",
        needs_strings: true,
        eval: module::module_defines,
        file_words: &[],
    },
    Check {
        name: "internal",
        doc: "every part of the value is the code's own: literals, constants, generated ids, Home \
              Assistant's paths (followed through locals and the file's calls of a helper)",
        needs_strings: false,
        eval: literals::is_internal_value,
        file_words: &[],
    },
    Check {
        name: "in-integration",
        doc: "the file belongs to an integration (a directory with a `manifest.json` above it)",
        needs_strings: false,
        eval: module::in_integration,
        file_words: &[],
    },
    Check {
        name: "script-module",
        doc: "the file runs as a program (`if __name__ == \"__main__\":` at its top level)",
        needs_strings: false,
        eval: module::is_script_module,
        file_words: &[],
    },
    Check {
        name: "developer-script",
        doc: "code Home Assistant never runs: the file's `if __name__ == \"__main__\":` block, or \
              a whole file that starts a program at its top level (`asyncio.run(main())`)",
        needs_strings: false,
        eval: module::is_developer_script,
        file_words: &[],
    },
    Check {
        name: "shell-quoted",
        doc: "the command is built only from the code's own values (literals, constants, generated \
              ids, Home Assistant's paths; followed through locals and the file's calls of a \
              helper) and `shlex.quote(...)`/`shlex.join(...)` values",
        needs_strings: false,
        eval: shell::is_shell_quoted,
        file_words: &[],
    },
    Check {
        name: "own-state-file",
        doc: "the loader call (`pickle.load(fh)`) reads a file opened here with `open(...)` in a \
              module that itself writes that format (`pickle.dump`): its own state read back",
        needs_strings: false,
        eval: deserialize::reads_own_state_file,
        file_words: &[],
    },
    Check {
        name: "in-timeout-block",
        doc: "the node is inside `async with asyncio.timeout(...)`/`async_timeout.timeout(...)` \
              or the arguments of `asyncio.wait_for(...)`, in its function or around every \
              call of that function in the file",
        needs_strings: false,
        eval: timeouts::in_timeout_block,
        file_words: &[],
    },
    Check {
        name: "http-session",
        doc: "the expression is an aiohttp/requests session (a session factory call, or a name \
              such as `session`/`self._session` not assigned from an httpx client)",
        needs_strings: false,
        eval: timeouts::is_http_session,
        file_words: &[],
    },
    Check {
        name: "requests-session",
        doc: "the expression is an HTTP session (as `http-session`) in a file that imports \
              `requests`: `session.send(prepared)` is requests' and has no timeout by default",
        needs_strings: false,
        eval: timeouts::is_requests_session,
        file_words: &["requests"],
    },
    Check {
        name: "ignored-in-setup",
        doc: "the block, in `async_setup_entry`, holds only logger calls or `pass`",
        needs_strings: false,
        eval: auth::ignored_in_setup,
        file_words: &[],
    },
    Check {
        name: "auth-failure-handler",
        doc: "the statement is in an `except` clause catching an authentication-like exception, \
              or in the body of a 401/403 status test, that does not start reauthentication",
        needs_strings: false,
        eval: auth::handles_auth_failure,
        file_words: &[],
    },
    Check {
        name: "auth-error-without-reauth",
        doc: "the `raise` raises an authentication error (an authentication-named exception, or a \
              generic one whose message says the login was refused) outside a flow, in an \
              integration with a config flow that never starts reauthentication",
        needs_strings: false,
        eval: auth::raises_auth_error_without_reauth,
        file_words: &[],
    },
    Check {
        name: "untrusted-path",
        doc: "the expression holds a user-chosen value (service-call data, `user_input`, an \
              entity-service parameter) and no path validation precedes it in the function",
        needs_strings: false,
        eval: paths::untrusted_path,
        file_words: &[],
    },
    Check {
        name: "path-value",
        doc: "the expression is a path: `Path(...)`, `hass.config.path(...)`, `os.path.join(...)`, \
              a `/` join onto one, or a local bound to one",
        needs_strings: false,
        eval: paths::path_value,
        file_words: &[],
    },
    Check {
        name: "existence-test-only",
        doc: "the call's result goes straight into a test of whether the path exists \
              (`os.path.isfile`, `os.path.exists`, ...), which reads and writes nothing",
        needs_strings: false,
        eval: paths::existence_test_only,
        file_words: &[],
    },
    Check {
        name: "dynamic-sql",
        doc: "the expression (or the local it names) is SQL text built by f-string, `%`, `+` or \
              `.format` from parts other than literals and UPPER_CASE constants",
        needs_strings: false,
        eval: sql::dynamic_sql,
        file_words: &[],
    },
    Check {
        name: "entity-attributes",
        doc: "the dictionary pair, `dict(...)` keyword or item assignment is an entry of an \
              entity's state attributes (`extra_state_attributes`, `_attr_extra_state_attributes`)",
        needs_strings: false,
        eval: entity_attributes::is_entity_attribute_entry,
        file_words: &[entity_attributes::PROPERTY],
    },
    Check {
        name: "entity-state",
        doc: "the expression becomes an entity's state: returned by a `native_value`/`state` \
              property of a class, or assigned to `self._attr_native_value`/`self._attr_state`",
        needs_strings: false,
        eval: entity_attributes::is_entity_state,
        file_words: entity_attributes::STATE_WORDS,
    },
    Check {
        name: "expiry-without-buffer",
        doc: "the comparison orders an expiry time against \"now\" with no margin on either side",
        needs_strings: false,
        eval: expiry::expiry_without_buffer,
        file_words: &[],
    },
    Check {
        name: "secret-in-url-query",
        doc: "the string-building expression puts a secret into a URL's path or query, or any \
              value under a secret-like query parameter name",
        needs_strings: false,
        eval: url_secrets::secret_in_url_query,
        file_words: &[],
    },
    Check {
        name: "query-parameter",
        doc: "the dictionary pair becomes a URL query parameter (`params=`, `urlencode`, \
              yarl's `with_query`), directly or through a local dictionary",
        needs_strings: false,
        eval: url_secrets::is_query_parameter,
        file_words: url_secrets::QUERY_WORDS,
    },
    Check {
        name: "credentials-in-url",
        doc: "the string-building expression puts a secret into a URL's userinfo \
              (`scheme://user:password@host`)",
        needs_strings: false,
        eval: url_secrets::credentials_in_url,
        file_words: &[],
    },
    Check {
        name: "insecure-http-url",
        doc: "the string is an `http://` URL to an internet host, used as a request target or \
              URL constant (not local, placeholder, example, namespace, docstring, key or match)",
        needs_strings: false,
        eval: http_urls::insecure_http_url,
        file_words: &[],
    },
    Check {
        name: "credentials-over-http",
        doc: "the request call goes to an `http://` URL (not loopback) and carries credentials",
        needs_strings: false,
        eval: http_credentials::credentials_over_http,
        file_words: &[],
    },
    Check {
        name: "verification-opt-out",
        doc: "the node runs only when the user turned TLS verification off, or sits in a helper \
              named for building an unverified context, or drops hostname checks next to a pinned CA",
        needs_strings: false,
        eval: tls::is_verification_opt_out,
        file_words: &[],
    },
    Check {
        name: "flow-class",
        doc: "the node is inside a flow class of one of the given kinds: `config` (ConfigFlow \
              and its helpers), `options` (OptionsFlow, OptionsFlowWithConfigEntry), \
              `schema-config` (SchemaConfigFlowHandler), `schema-options` (SchemaOptionsFlowHandler)",
        needs_strings: true,
        eval: flow::in_flow_class,
        file_words: &[],
    },
    Check {
        name: "moved-out-of-options",
        doc: "the secret read from options (`options[KEY]`, `options.get(KEY)`) is taken out of \
              them in the same function (`del options[KEY]`, `options.pop(KEY)`): code moving it \
              to the entry's data",
        needs_strings: false,
        eval: flow::moved_out_of_options,
        file_words: &[],
    },
    Check {
        name: "file-has-flow",
        doc: "the file defines a flow class of one of the given kinds (see `flow-class`)",
        needs_strings: true,
        eval: flow::file_has_flow_check,
        file_words: &[],
    },
    Check {
        name: "secret-key",
        doc: "the key (a string or a `CONF_*` constant, resolved) is secret-like",
        needs_strings: false,
        eval: flow::secret_key_check,
        file_words: &[],
    },
    Check {
        name: "secret-key-item",
        doc: "the dictionary literal has an item whose key is secret-like (constants resolved)",
        needs_strings: false,
        eval: flow::secret_key_item_check,
        file_words: &[],
    },
    Check {
        name: "secret-schema",
        doc: "the voluptuous schema expression (resolved through names, `extend`, \
              `add_suggested_values_to_schema` and helper functions) has a secret-like field",
        needs_strings: false,
        eval: flow::secret_schema_check,
        file_words: &[],
    },
    Check {
        name: "stores-secret",
        doc: "the mapping given to `async_create_entry`/`async_update_entry` holds a secret-like \
              key, or is the step's `user_input` from a form with a secret-like field",
        needs_strings: false,
        eval: flow::stores_secret,
        file_words: &[],
    },
    Check {
        name: "form-schema",
        doc: "the schema dictionary is a config/options/reauth flow form, not a YAML or service schema",
        needs_strings: false,
        eval: flow::is_form_schema,
        file_words: &[],
    },
    Check {
        name: "unmasked-secret-field",
        doc: "the schema pair has a secret-like key that the frontend shows in clear \
              (plain `str`/`cv.string` without password/secret/token in its name, or a \
              `TextSelector` without `type=PASSWORD`)",
        needs_strings: false,
        eval: form_fields::is_unmasked_secret_field,
        file_words: &[],
    },
    Check {
        name: "diagnostics-dump",
        doc: "a diagnostics function returns, unredacted, an object dumped whole: debug data, \
              `vars(obj)`, `obj.__dict__`, a login response kept whole",
        needs_strings: false,
        eval: diagnostics::diagnostics_dump,
        file_words: &["diagnostics"],
    },
    Check {
        name: "lua-runtime",
        doc: "the expression (a name or `self.` attribute) holds an embedded Lua interpreter \
              (`lupa.LuaRuntime()`, `lupa.lua54.LuaRuntime()`, ...)",
        needs_strings: false,
        eval: module::is_lua_runtime,
        file_words: &[],
    },
    Check {
        name: "jinja-environment",
        doc: "the expression (a name, a `self.` attribute or a call) holds a plain Jinja2 \
              environment (`jinja2.Environment()`), not a sandboxed one",
        needs_strings: false,
        eval: module::is_jinja_environment,
        file_words: &["jinja2"],
    },
    Check {
        name: "secret-url-template",
        doc: "the plain string is a URL or query template with a parameter whose name or \
              `{field}` names a secret (`\"...?key={api_key}\"`)",
        needs_strings: false,
        eval: url_secrets::is_secret_url_template,
        file_words: &[],
    },
    Check {
        name: "local-stream-url",
        doc: "the string is an `rtsp://` URL (or any URL a `stream_source` method builds) whose \
              host is given at run time (`{host}`): a camera's stream source on the user's own \
              network",
        needs_strings: false,
        eval: tls::is_local_stream_url,
        file_words: &[],
    },
    Check {
        name: "local-device",
        doc: "the code around the node talks to the user's own device on the local network: a \
              configured host is passed in the same call, or the file builds URLs around a \
              given host or reads `CONF_HOST`, and no URL in the file names an internet host",
        needs_strings: false,
        eval: tls::is_local_device,
        file_words: &[],
    },
    Check {
        name: "false-valued",
        doc: "the name or `self.` attribute holds the literal `False` wherever it is assigned \
              (a module constant, a local, an attribute set in any method)",
        needs_strings: false,
        eval: tls::is_false_valued,
        file_words: &[],
    },
    Check {
        name: "diagnostics-leak",
        doc: "the config entry mapping reaches a diagnostics function's return value whole and \
              unredacted, and the integration's flows store a secret (or no flow was found)",
        needs_strings: false,
        eval: diagnostics::diagnostics_leak,
        file_words: &["diagnostics"],
    },
    Check {
        name: "redaction-misses-stored-secret",
        doc: "the key set given to `async_redact_data` with entry data lacks a secret-like key \
              the integration's flows store",
        needs_strings: false,
        eval: diagnostics::redaction_misses_stored_secret,
        file_words: &[],
    },
    Check {
        name: "redaction-misses-dump-secrets",
        doc: "the key set given to `async_redact_data(dumped, KEYS)` in diagnostics holds no \
              key beyond the entry's stored ones, and `dumped` is an object dumped \
              whole (debug data, `vars(obj)`, a login response)",
        needs_strings: false,
        eval: diagnostics::redaction_misses_dump_secrets,
        file_words: &["diagnostics"],
    },
    Check {
        name: "credential-mapping",
        doc: "the expression is (or formats) a whole mapping holding credentials: entry data, \
              request/session headers, an auth object, `user_input` of a form with a secret field",
        needs_strings: false,
        eval: mappings::is_credential_mapping,
        file_words: &[],
    },
    Check {
        name: "exception-text",
        doc: "the expression is a caught exception's text (`str(err)`, `f\"{err}\"`) or \
              `traceback.format_exc()`; not for exceptions carrying translation keys",
        needs_strings: false,
        eval: exceptions::is_exception_text,
        file_words: &[],
    },
    Check {
        name: "shown-error-key",
        doc: "a form error's key the frontend shows: `base`, a field of a form the step shows, \
              or one that cannot be read",
        needs_strings: false,
        eval: exceptions::is_shown_error_key,
        file_words: &[],
    },
    Check {
        name: "integration-lacks-reauth",
        doc: "the integration the file belongs to defines no `async_step_reauth`",
        needs_strings: false,
        eval: reauth::integration_lacks_reauth,
        file_words: &[],
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

pub use crate::model::text;

#[cfg(test)]
pub(crate) use crate::model::test_support;
