//! Integration facts: what a rule about one file needs to know about the other
//! files of its integration (the keys its flows store, whether its config flow
//! has `async_step_reauth`, its manifest's requirements), derived from the
//! parsed files the scanner reads (`scan::integration`).

use std::{
    collections::{BTreeMap, BTreeSet, HashMap},
    path::{Path, PathBuf},
    sync::{Arc, LazyLock},
};

use regex::Regex;
use serde::{Deserialize, Serialize};
use tree_sitter::{Node, Tree};

use super::{
    FileContext,
    bindings::Bindings,
    config_flow::{self as flow, FlowKind},
    names::{self, is_auth_failure_name, whole_name_positions},
    program,
    values::{self, Label},
};
use crate::model::syntax::NodeExt;
use crate::{digest::digest, rules::vocabulary::Vocabulary};

/// Checks that read integration facts: the scanner gathers them only when an
/// enabled rule uses one of these.
pub const USES_FACTS: &[&str] = &[
    "diagnostics-leak",
    "redaction-misses-stored-secret",
    "redaction-misses-dump-secrets",
    "integration-lacks-reauth",
    "stores-secret",
    "secret-key",
    "secret-schema",
    "unmasked-secret-field",
    "credential-mapping",
    "in-integration",
    "developer-script",
    "secret-in-url-query",
    "local-device",
];

/// One `requirements` entry of a manifest, with where it is written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Requirement {
    pub text: String,
    /// Byte offset of the string's opening quote in `manifest.json`, when found.
    pub offset: Option<usize>,
    /// 1-based line of that quote, when found.
    pub line: Option<usize>,
}

/// What the rules read from a `manifest.json`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    pub requirements: Vec<Requirement>,
    /// How it talks to its devices or services (`local_polling`, `cloud_push`...).
    #[serde(default)]
    pub iot_class: Option<String>,
}

impl Manifest {
    /// Parses a manifest; an error says what is wrong, for the scan's error list.
    pub fn parse(text: &str) -> Result<Self, String> {
        let value: serde_json::Value =
            serde_json::from_str(text).map_err(|e| format!("invalid manifest.json: {e}"))?;
        let Some(object) = value.as_object() else {
            return Err("invalid manifest.json: not a JSON object".into());
        };
        let iot_class = object
            .get("iot_class")
            .and_then(|class| class.as_str())
            .map(str::to_string);
        let Some(requirements) = object.get("requirements") else {
            return Ok(Self {
                iot_class,
                ..Self::default()
            });
        };
        let Some(list) = requirements.as_array() else {
            return Err("invalid manifest.json: `requirements` is not a list".into());
        };
        // serde_json keeps no positions: find each entry after the `requirements`
        // key, in order, as JSON writes it.
        let mut cursor = requirements_key_end(text).unwrap_or(0);
        let mut out = Vec::new();
        for entry in list {
            let Some(requirement) = entry.as_str() else {
                return Err("invalid manifest.json: a requirement is not a string".into());
            };
            let quoted = serde_json::to_string(requirement).unwrap_or_default();
            let offset = text
                .get(cursor..)
                .and_then(|rest| rest.find(&quoted))
                .map(|at| cursor + at);
            if let Some(at) = offset {
                cursor = at + quoted.len();
            }
            out.push(Requirement {
                text: requirement.to_string(),
                offset,
                line: offset.map(|at| text[..at].matches('\n').count() + 1),
            });
        }
        Ok(Self {
            requirements: out,
            iot_class,
        })
    }
}

/// Byte offset just after `"requirements":`.
fn requirements_key_end(text: &str) -> Option<usize> {
    let mut from = 0;
    while let Some(at) = text.get(from..)?.find("\"requirements\"") {
        let after = from + at + "\"requirements\"".len();
        let rest = &text[after..];
        let trimmed = rest.trim_start();
        if trimmed.starts_with(':') {
            return Some(after + (rest.len() - trimmed.len()) + 1);
        }
        from = after;
    }
    None
}

/// Facts about one integration, gathered across its files. Serializable: the
/// results cache keeps them, keyed by the contents of the files they come from.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct IntegrationFacts {
    /// The integration directory (`None` for a file scanned on its own).
    pub root: Option<PathBuf>,
    /// Module-level `NAME = "string"` constants of all its files.
    pub constants: HashMap<String, String>,
    /// Module-level sets/lists/tuples of keys (`TO_REDACT = {CONF_PASSWORD}`), resolved.
    pub key_sets: HashMap<String, BTreeSet<String>>,
    /// Module-level schemas, and module-level functions that return one, of all
    /// its files: their field keys by name (a flow may show a form whose schema
    /// another module builds).
    pub schemas: HashMap<String, BTreeSet<String>>,
    /// The names of those schemas and functions that its flows show as forms
    /// (`data_schema=CONNECTION_SCHEMA`, `await async_get_schema(...)`).
    pub form_schema_names: BTreeSet<String>,
    /// Is there a config or options flow class?
    pub flow_found: bool,
    /// Is `async_step_reauth` defined?
    pub has_reauth: bool,
    /// Can anything start that step: `ConfigEntryAuthFailed` used (not only
    /// imported), `async_start_reauth` or `SOURCE_REAUTH` in some file?
    #[serde(default)]
    pub starts_reauth: bool,
    /// Can anything start it once the entry is set up: one of those uses
    /// outside `async_setup_entry` (a coordinator's update, a callback)? When
    /// only setup starts it, a password changed later is asked for again only
    /// after a restart.
    #[serde(default)]
    pub starts_reauth_after_setup: bool,
    /// Does a file without a flow raise an exception whose name says the
    /// credentials were refused (the integration's own client telling them
    /// apart: `raise ApiAuthenticationError(...)`)?
    #[serde(default)]
    pub raises_auth_error: bool,
    /// The functions outside its flows that raise an authentication error and
    /// that code outside the flows calls (their name is written there other
    /// than where they are defined; `""` for a raise at a module's top level).
    /// A function only a flow calls (`validate_input` raising `InvalidAuth`)
    /// raises a form error.
    #[serde(default)]
    pub auth_raisers_after_setup: BTreeSet<String>,
    /// Authentication exceptions that an `except` clause outside the flows
    /// turns into a retry or a failure (`except LoginError: raise
    /// ConfigEntryNotReady`): HAS601 reports that clause, not each raise.
    #[serde(default)]
    pub auth_errors_mishandled: BTreeSet<String>,
    /// Functions some code of the integration gives a service call's data, by
    /// name: the positions (not counting `self`) of the arguments that are
    /// `call.data` (`get_gtfs(hass, DEFAULT_PATH, call.data, True)` in the
    /// module that registers the service, `def get_gtfs(hass, path, data,
    /// update=False)` in another). What those parameters hold the caller chose.
    #[serde(default)]
    pub service_data_parameters: BTreeMap<String, BTreeSet<usize>>,
    /// Does it ask the user some other way: a repair issue
    /// (`async_create_issue`) or a persistent notification?
    #[serde(default)]
    pub asks_user_otherwise: bool,
    /// Keys its flows certainly store in entries: dictionary keys given to
    /// `async_create_entry`/`async_update_entry`, fields of the form whose
    /// `user_input` is stored, the OAuth2 helper's `token`.
    pub stored_keys: BTreeSet<String>,
    /// The part of `stored_keys` whose stored value is a secret by value flow,
    /// though the key's own name may not say so (`CONF_REFRESH: api.refresh_token`).
    pub secret_valued_keys: BTreeSet<String>,
    /// The part of `stored_keys` stored in options (`options=`, options flows).
    pub stored_option_keys: BTreeSet<String>,
    /// `stored_option_keys` plus every form field of an options flow that stores
    /// a mapping this analysis cannot see into.
    pub maybe_stored_option_keys: BTreeSet<String>,
    /// `stored_keys` plus every form field of a flow that stores a mapping this
    /// analysis cannot see into (`data=self._data`).
    pub maybe_stored_keys: BTreeSet<String>,
    /// Module constants holding a URL template with a query parameter to fill
    /// (`"...?key={api_key}"`) whose name no file of the integration uses:
    /// nothing ever sends such a URL.
    #[serde(default)]
    pub unused_url_templates: BTreeSet<String>,
    /// The module names (file stems) of its files that are programs run by
    /// hand: each runs something at its top level (a `__main__` block, a
    /// `print`, `asyncio.run(...)`), no file of the integration imports it and
    /// Home Assistant does not load it by name (see `program::run_by_hand`).
    #[serde(default)]
    pub run_by_hand: BTreeSet<String>,
    /// The paths of the HTTP views it registers with Home Assistant
    /// (`url = "/api/my_domain/map/{device_id}"` of a `HomeAssistantView`):
    /// links to them lead to Home Assistant itself.
    #[serde(default)]
    pub view_paths: BTreeSet<String>,
    /// Module-level names set to `False` in some file (`VERIFY_SSL = False`,
    /// `DISABLE_CHECK = not ENABLED` where `ENABLED = True`): a flag another
    /// module imports is as off there.
    #[serde(default)]
    pub false_constants: BTreeSet<String>,
    /// Classes of the integration that give every request they pass on a
    /// default timeout (`kwargs.setdefault("timeout", 5.0)` in a method), and
    /// their subclasses in the same file: a session wrapper.
    #[serde(default)]
    pub timeout_wrappers: BTreeSet<String>,
    pub manifest: Option<Manifest>,
    pub manifest_error: Option<String>,
    /// How many Python files were read.
    pub files_read: usize,
}

impl IntegrationFacts {
    /// A digest of every fact, in a fixed order: two gatherings that found the
    /// same facts have the same digest (the results cache keys on it).
    pub fn digest(&self) -> String {
        let constants: BTreeMap<_, _> = self.constants.iter().collect();
        let key_sets: BTreeMap<_, _> = self.key_sets.iter().collect();
        let schemas: BTreeMap<_, _> = self.schemas.iter().collect();
        let rendered = format!(
            "{constants:?}|{key_sets:?}|{schemas:?}|{:?}|{}|{}|{:?}|{:?}|{:?}|{:?}|{:?}|{:?}|{:?}",
            self.form_schema_names,
            self.flow_found,
            self.has_reauth,
            (
                self.starts_reauth,
                self.starts_reauth_after_setup,
                self.raises_auth_error,
                &self.stored_keys,
                &self.auth_raisers_after_setup,
                &self.auth_errors_mishandled,
                self.asks_user_otherwise,
                &self.service_data_parameters,
            ),
            self.secret_valued_keys,
            self.maybe_stored_keys,
            self.unused_url_templates,
            (
                &self.run_by_hand,
                &self.view_paths,
                &self.false_constants,
                &self.timeout_wrappers,
            ),
            self.manifest,
            self.manifest_error
        );
        digest([rendered.as_bytes()])
    }

    /// Is a stored key a secret: by its name, or by the value the flows store
    /// under it?
    pub fn is_secret_key(&self, key: &str, vocabulary: &Vocabulary) -> bool {
        vocabulary.is_secret_like(key) || self.secret_valued_keys.contains(key)
    }

    /// Do the flows (possibly) store a secret?
    pub fn may_store_secret(&self, vocabulary: &Vocabulary) -> bool {
        self.maybe_stored_keys
            .iter()
            .any(|key| self.is_secret_key(key, vocabulary))
    }

    /// The facts one file gives on its own (a file outside any integration).
    pub fn of_single_file<'t>(ctx: &FileContext<'t>) -> Self {
        let mut facts = Self {
            constants: ctx.module_constants().clone(),
            files_read: 1,
            ..Self::default()
        };
        add_file_facts(ctx, &mut facts);
        let text = std::str::from_utf8(ctx.source).unwrap_or_default();
        facts.auth_raisers_after_setup =
            called_in(std::mem::take(&mut facts.auth_raisers_after_setup), &[text]);
        facts.finish();
        facts
    }

    /// The "maybe" sets include the certain ones.
    fn finish(&mut self) {
        self.maybe_stored_keys.extend(self.stored_keys.clone());
        self.maybe_stored_option_keys
            .extend(self.stored_option_keys.clone());
    }

    /// The facts of an integration whose files are read and parsed (a file
    /// tree-sitter could not parse gives no facts).
    /// `manifest` is `None` when there is no `manifest.json`.
    pub fn of_parsed(
        root: &Path,
        manifest: Option<&Result<Manifest, String>>,
        parsed: &[ParsedFile],
        vocabulary: &Vocabulary,
    ) -> Self {
        let mut facts = Self {
            root: Some(root.to_path_buf()),
            ..Self::default()
        };
        match manifest {
            Some(Ok(manifest)) => facts.manifest = Some(manifest.clone()),
            Some(Err(e)) => facts.manifest_error = Some(e.clone()),
            None => {}
        }
        facts.files_read = parsed.len();

        // Constants first: flows name keys with constants from `const.py`.
        for ParsedFile { text, tree, .. } in parsed {
            facts
                .constants
                .extend(flow::module_constants(tree.root_node(), text.as_bytes()));
            facts
                .false_constants
                .extend(flow::false_constants(tree.root_node(), text.as_bytes()));
        }
        facts.unused_url_templates = unused_url_templates(&facts.constants, parsed);
        // Then schemas: a flow may show a form another module builds.
        let with_constants = Arc::new(Self {
            constants: facts.constants.clone(),
            ..Self::default()
        });
        // The bindings a file's schemas needed, kept for its facts below.
        let mut bindings: Vec<Option<Bindings>> = Vec::with_capacity(parsed.len());
        for ParsedFile { text, tree, .. } in parsed {
            if !text.contains("Schema") {
                bindings.push(None);
                continue;
            }
            let ctx = FileContext::new(text.as_bytes(), tree, vocabulary)
                .with_integration(Some(Arc::clone(&with_constants)));
            for (name, keys) in flow::module_schemas(&ctx) {
                facts
                    .schemas
                    .entry(name.to_string())
                    .or_default()
                    .extend(keys);
            }
            bindings.push(ctx.into_bindings());
        }
        let known = Arc::new(Self {
            constants: facts.constants.clone(),
            schemas: facts.schemas.clone(),
            ..Self::default()
        });
        // The texts of the files that define no flow (see `auth_raisers_after_setup`).
        let mut outside_flows: Vec<&str> = Vec::new();
        for (ParsedFile { text, tree, .. }, bindings) in parsed.iter().zip(bindings) {
            let ctx = FileContext::new(text.as_bytes(), tree, vocabulary)
                .with_integration(Some(Arc::clone(&known)));
            if let Some(bindings) = bindings {
                ctx.set_bindings(bindings);
            }
            if !add_file_facts(&ctx, &mut facts) {
                outside_flows.push(*text);
            }
        }
        facts.auth_raisers_after_setup = called_in(
            std::mem::take(&mut facts.auth_raisers_after_setup),
            &outside_flows,
        );
        facts.run_by_hand = program::run_by_hand(parsed, vocabulary)
            .into_iter()
            .collect();
        facts.finish();
        facts
    }
}

/// One parsed file of an integration, as its facts are gathered from it.
pub struct ParsedFile<'a> {
    /// The module's name: the file's stem (`api` for `api.py`).
    pub module: &'a str,
    pub text: &'a str,
    pub tree: &'a Tree,
}

/// The file's `raise` statements that raise an authentication error (see
/// `auth_error_raised`).
pub fn auth_raises<'t>(ctx: &FileContext<'t>) -> Vec<Node<'t>> {
    statements_at_keyword(ctx, "raise", "raise_statement")
        .filter(|&statement| auth_error_raised(ctx, statement))
        .collect()
}

/// The nodes of `kind` that start with `keyword`, found where the keyword is
/// written (a byte search, then the node there) rather than by walking the tree.
fn statements_at_keyword<'a, 't>(
    ctx: &'a FileContext<'t>,
    keyword: &'static str,
    kind: &'static str,
) -> impl Iterator<Item = Node<'t>> + use<'a, 't> {
    let root = ctx.tree.root_node();
    memchr::memmem::find_iter(ctx.source, keyword.as_bytes()).filter_map(move |at| {
        root.descendant_for_byte_range(at, at + keyword.len())
            .and_then(|word| ctx.parent(word))
            .filter(|s| s.kind_name() == kind && s.start_byte() == at)
    })
}

/// The authentication exceptions the file's `except` clauses turn into a
/// retry or a failure: the clause raises `UpdateFailed`, `ConfigEntryNotReady`
/// or `ConfigEntryError`, or returns `False`, and starts no reauthentication.
/// `Exception` stands for a clause catching everything that raises
/// `UpdateFailed` (a coordinator's catch-all, where HAS601 reports an
/// integration's authentication errors ending).
fn auth_errors_mishandled(ctx: &FileContext) -> Vec<String> {
    static RETRY_OR_FAILURE: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r"\b(UpdateFailed|ConfigEntryNotReady|ConfigEntryError)\b|return False")
            .expect("pattern compiles")
    });
    let mut names = Vec::new();
    for clause in statements_at_keyword(ctx, "except", "except_clause") {
        let text = ctx.text(clause);
        if !RETRY_OR_FAILURE.is_match(text) || text.contains("ConfigEntryAuthFailed") {
            continue;
        }
        let caught = caught_exceptions(ctx, clause);
        if catches_everything(&caught) && text.contains("UpdateFailed") {
            names.push("Exception".to_string());
        }
        names.extend(
            caught
                .into_iter()
                .filter(|name| is_auth_failure_name(name))
                .map(str::to_string),
        );
    }
    names
}

/// The exceptions an `except` clause catches, by their last name
/// (`except (api.AuthError, Timeout) as err` catches `AuthError` and
/// `Timeout`); none for a bare `except:`.
pub fn caught_exceptions<'t>(ctx: &FileContext<'t>, clause: Node<'t>) -> Vec<&'t str> {
    let mut cursor = clause.walk();
    let mut stack: Vec<Node> = clause
        .named_children(&mut cursor)
        .filter(|c| !matches!(c.kind_name(), "block" | "comment"))
        .collect();
    let mut names = Vec::new();
    while let Some(node) = stack.pop() {
        match node.kind_name() {
            // `except AuthError as err`: the alias is not an exception.
            "as_pattern" => stack.extend(node.named_child(0)),
            "identifier" | "attribute" => {
                let name = ctx.text(node);
                names.push(name.rsplit('.').next().unwrap_or(name));
            }
            _ => {
                let mut cursor = node.walk();
                stack.extend(node.named_children(&mut cursor));
            }
        }
    }
    names
}

/// Does a clause catching `caught` (see `caught_exceptions`) catch
/// everything: a bare `except:`, or one naming `Exception` or `BaseException`?
pub fn catches_everything(caught: &[&str]) -> bool {
    caught.is_empty()
        || caught
            .iter()
            .any(|name| matches!(*name, "Exception" | "BaseException"))
}

/// The calls of the file that pass a service call's data on, as (the callee's
/// last name, the argument's position): `helper(hass, call.data)` gives
/// `("helper", 1)`. A call object is spelled `call`, `service`,
/// `service_call` or `..._call`, as service handlers name it.
fn service_data_arguments(ctx: &FileContext) -> Vec<(String, usize)> {
    let root = ctx.tree.root_node();
    let mut found = Vec::new();
    for at in memchr::memmem::find_iter(ctx.source, b".data") {
        let Some(attribute) = root
            .descendant_for_byte_range(at, at + 5)
            .and_then(|n| {
                std::iter::once(n)
                    .chain(ctx.ancestors(n))
                    .find(|a| a.kind_name() == "attribute")
            })
            .filter(|a| a.end_byte() == at + 5)
        else {
            continue;
        };
        let holder = attribute.field("object").map_or("", |o| ctx.text(o));
        if !matches!(holder, "call" | "service" | "service_call") && !holder.ends_with("_call") {
            continue;
        }
        let Some(list) = ctx
            .parent(attribute)
            .filter(|p| p.kind_name() == "argument_list")
        else {
            continue;
        };
        let Some(callee) = ctx.parent(list).and_then(|call| call.field("function")) else {
            continue;
        };
        let last_name = |callee: Node| match callee.kind_name() {
            "identifier" => Some(ctx.text(callee)),
            "attribute" => callee.field("attribute").map(|a| ctx.text(a)),
            _ => None,
        };
        let Some(mut name) = last_name(callee) else {
            continue;
        };
        let mut cursor = list.walk();
        let arguments: Vec<Node> = list
            .named_children(&mut cursor)
            .filter(|a| !matches!(a.kind_name(), "keyword_argument" | "comment"))
            .collect();
        let Some(mut position) = arguments.iter().position(|a| a.id() == attribute.id()) else {
            continue;
        };
        // `hass.async_add_executor_job(export, hass, call.data)` calls `export`.
        if let Some(&(_, at)) = values::EXECUTOR_RUNNERS
            .iter()
            .find(|(runner, _)| *runner == name)
        {
            let Some(function) = arguments.get(at).and_then(|f| last_name(*f)) else {
                continue;
            };
            let Some(shifted) = position.checked_sub(at + 1) else {
                continue;
            };
            (name, position) = (function, shifted);
        }
        found.push((name.to_string(), position));
    }
    found
}

/// The name of the function a statement is in (`""` at a module's top level).
pub fn enclosing_function_name<'t>(ctx: &FileContext<'t>, node: Node<'t>) -> String {
    flow::enclosing_function(ctx, node)
        .and_then(|function| function.field("name"))
        .map_or_else(String::new, |name| ctx.text(name).to_string())
}

/// The names among `names` written in `texts` other than where a function of
/// that name is defined (`def name`): the functions some code there calls.
/// `""` (a module's top level) always counts.
fn called_in(names: BTreeSet<String>, texts: &[&str]) -> BTreeSet<String> {
    names
        .into_iter()
        .filter(|name| {
            name.is_empty()
                || texts.iter().any(|text| {
                    whole_name_positions(text.as_bytes(), name)
                        .any(|at| !text[..at].trim_end().ends_with("def"))
                })
        })
        .collect()
}

/// A refused login told in words, for exceptions whose class says nothing
/// (`raise Exception("Invalid credentials")`).
static REFUSED_LOGIN_MESSAGE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)\b(invalid|wrong|incorrect|bad) (credentials|password|username|user ?name|login|e-?mail or password|username or password)|\b(login|authentication|sign[- ]?in) (failed|refused|rejected|denied)|\bunauthori[sz]ed\b",
    )
    .expect("pattern compiles")
});

/// Does the `raise` statement raise an authentication error: an exception whose
/// name says the credentials were refused (`raise AuthError(...)`, `raise
/// AuthError`), or a generic one whose message says so (`raise
/// Exception("Invalid credentials")`)?
pub fn auth_error_raised<'t>(ctx: &FileContext<'t>, statement: Node<'t>) -> bool {
    let Some(raised) = statement.named_child(0) else {
        return false;
    };
    let (class, message) = match raised.kind_name() {
        "call" => (
            raised.field("function").unwrap_or(raised),
            raised
                .field("arguments")
                .and_then(|arguments| arguments.named_child(0)),
        ),
        _ => (raised, None),
    };
    if !matches!(class.kind_name(), "identifier" | "attribute") {
        return false;
    }
    let name = ctx.text(class);
    let name = name.rsplit('.').next().unwrap_or(name);
    // A second factor asked for is not a refusal (`EzvizAuthVerificationCode`).
    static SECOND_FACTOR: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r"(?i)verif|mfa|2fa|two_?factor|otp|captcha").expect("pattern compiles")
    });
    let refused = !SECOND_FACTOR.is_match(name)
        && (is_auth_failure_name(name)
            || (matches!(name, "Exception" | "RuntimeError" | "HomeAssistantError")
                && message
                    .and_then(|m| names::string_value(m, ctx.source))
                    .is_some_and(|text| REFUSED_LOGIN_MESSAGE.is_match(&text))));
    // A web view refusing its caller, Home Assistant refusing a user: not
    // this integration's credentials. Asked last: the file's imports are read
    // only for the few raises the name says are refusals.
    refused
        && !ctx.qualified_name(class).is_some_and(|qualified| {
            qualified.starts_with("aiohttp.")
                || &*qualified == "homeassistant.exceptions.Unauthorized"
        })
}

/// Where a file can start a reauth flow: `ConfigEntryAuthFailed` used (not
/// only imported), `async_start_reauth`, `SOURCE_REAUTH` (not compared with, as
/// a flow's `self.source == SOURCE_REAUTH` does).
fn reauth_starts<'a>(ctx: &FileContext<'a>) -> Vec<Node<'a>> {
    let mut starts = Vec::new();
    for name in [
        "ConfigEntryAuthFailed",
        "async_start_reauth",
        "SOURCE_REAUTH",
    ] {
        starts.extend(ctx.identifiers_named(name).filter(|&identifier| {
            !ctx.ancestors(identifier).any(|a| {
                matches!(a.kind_name(), "import_statement" | "import_from_statement")
                    || (name == "SOURCE_REAUTH" && a.kind_name() == "comparison_operator")
            })
        }));
    }
    starts
}

/// The constants holding a URL template with a query parameter to fill whose
/// name is written only once in all the files: where it is defined.
fn unused_url_templates(
    constants: &HashMap<String, String>,
    parsed: &[ParsedFile],
) -> BTreeSet<String> {
    constants
        .iter()
        .filter(|(_, value)| {
            (value.contains("://") || value.starts_with(['?', '&']))
                && (value.contains("={") || value.contains("=%s"))
        })
        .filter(|(name, _)| {
            let uses: usize = parsed
                .iter()
                .map(|file| whole_name_positions(file.text.as_bytes(), name).count())
                .sum();
            uses <= 1
        })
        .map(|(name, _)| name.clone())
        .collect()
}

/// The paths of the file's top-level `HomeAssistantView` classes (`url` and
/// `extra_urls`).
fn view_paths(ctx: &FileContext) -> Vec<String> {
    let root = ctx.tree.root_node();
    let mut cursor = root.walk();
    let classes = root.named_children(&mut cursor).filter_map(|statement| {
        let class = match statement.kind_name() {
            "decorated_definition" => statement.field("definition")?,
            _ => statement,
        };
        let bases = class.field("superclasses")?;
        (class.kind_name() == "class_definition" && ctx.text(bases).contains("HomeAssistantView"))
            .then_some(class.field("body")?)
    });
    let mut paths = Vec::new();
    for body in classes {
        let mut cursor = body.walk();
        for statement in body.named_children(&mut cursor) {
            let Some(assignment) = statement
                .named_child(0)
                .filter(|a| a.kind_name() == "assignment")
            else {
                continue;
            };
            let (Some(left), Some(right)) = (assignment.field("left"), assignment.field("right"))
            else {
                continue;
            };
            if !matches!(ctx.text(left), "url" | "extra_urls") {
                continue;
            }
            let strings = match right.kind_name() {
                "string" => vec![right],
                _ => {
                    let mut cursor = right.walk();
                    right.named_children(&mut cursor).collect()
                }
            };
            for string in strings {
                if let Some(path) = names::string_value(string, ctx.source)
                    && path.starts_with('/')
                {
                    paths.push(path);
                }
            }
        }
    }
    paths
}

/// Adds what one file says to the facts (constants excepted: gathered before).
/// Answers whether the file defines a flow class.
fn add_file_facts<'t>(ctx: &FileContext<'t>, facts: &mut IntegrationFacts) -> bool {
    let root = ctx.tree.root_node();
    for (left, right) in flow::module_assignments(root) {
        if let Some(keys) = key_set(ctx, right) {
            facts.key_sets.insert(ctx.text(left).to_string(), keys);
        }
    }
    // Whole-tree walks only where the names they look for are written: a name in
    // the tree is in the source, so skipping on a byte search loses nothing, and
    // most files of an integration define no flow and store nothing.
    for start in reauth_starts(ctx) {
        facts.starts_reauth = true;
        let in_setup = flow::enclosing_function(ctx, start)
            .and_then(|function| function.field("name"))
            .is_some_and(|name| ctx.text(name) == "async_setup_entry");
        if !in_setup {
            facts.starts_reauth_after_setup = true;
        }
    }
    if ctx.contains(".data") {
        for (function, position) in service_data_arguments(ctx) {
            facts
                .service_data_parameters
                .entry(function)
                .or_default()
                .insert(position);
        }
    }
    for name in ["async_create_issue", "persistent_notification"] {
        if ctx.contains(name)
            && ctx.identifiers_named(name).any(|identifier| {
                !ctx.ancestors(identifier)
                    .any(|a| matches!(a.kind_name(), "import_statement" | "import_from_statement"))
            })
        {
            facts.asks_user_otherwise = true;
        }
    }
    if ctx.contains("async_step_reauth") {
        flow::visit(root, &mut |node| {
            if node.kind_name() == "function_definition"
                && node
                    .field("name")
                    .is_some_and(|n| ctx.text(n) == "async_step_reauth")
            {
                facts.has_reauth = true;
            }
        });
    }
    // Every flow base class (see `flow::kind_of_base`) has one of these in its name.
    let classes = if ["ConfigFlow", "OptionsFlow", "FlowHandler"]
        .iter()
        .any(|name| ctx.contains(name))
    {
        flow::flow_classes(ctx)
    } else {
        Vec::new()
    };
    facts.flow_found |= !classes.is_empty();
    if sets_default_timeout(ctx.source) {
        facts.timeout_wrappers.extend(timeout_wrappers(ctx));
    }
    if ctx.contains("HomeAssistantView") {
        facts.view_paths.extend(view_paths(ctx));
    }
    // A flow raises `InvalidAuth` to show a form error; elsewhere an
    // authentication error is the integration's client telling refused
    // credentials apart.
    if classes.is_empty() {
        let raises = auth_raises(ctx);
        facts.raises_auth_error |= !raises.is_empty();
        facts.auth_raisers_after_setup.extend(
            raises
                .into_iter()
                .map(|statement| enclosing_function_name(ctx, statement)),
        );
        if ctx.contains("except") {
            facts
                .auth_errors_mishandled
                .extend(auth_errors_mishandled(ctx));
        }
    }
    for &(class, _) in &classes {
        for form in flow::forms_in(ctx, class) {
            facts.form_schema_names.extend(
                flow::schema_names(ctx, form.schema)
                    .into_iter()
                    .map(String::from),
            );
        }
    }
    let mut opaque_classes: Vec<(Node, bool)> = Vec::new();
    for &(class, kind) in &classes {
        if flow::is_oauth2_flow(ctx, class) {
            facts.stored_keys.insert("token".into());
            facts.stored_keys.insert("auth_implementation".into());
        }
        if kind == FlowKind::SchemaConfig {
            let mut keys = BTreeSet::new();
            schema_flow_steps(ctx, &mut keys);
            facts.stored_option_keys.extend(keys.iter().cloned());
            facts.stored_keys.extend(keys);
        }
    }
    if !STORING_CALLS.iter().any(|(name, ..)| ctx.contains(name)) {
        return !classes.is_empty(); // nothing stored: no opaque classes either
    }
    let mut calls = Vec::new();
    for &(name, keywords, in_flow_only) in STORING_CALLS {
        calls.extend(
            ctx.calls_named(name)
                .iter()
                .map(|&call| (call, name, keywords, in_flow_only)),
        );
    }
    calls.sort_by_key(|(call, ..)| (call.start_byte(), std::cmp::Reverse(call.end_byte())));
    for (call, name, keywords, in_flow_only) in calls {
        let class = ctx
            .ancestors(call)
            .filter(|n| n.kind_name() == "class_definition")
            .find_map(|c| {
                classes
                    .iter()
                    .find(|(flow_class, _)| flow_class.id() == c.id())
            })
            .copied();
        if in_flow_only && class.is_none() {
            continue; // repairs and other flows do not store in the entry
        }
        let in_options_flow = class.is_some_and(|(_, kind)| kind == FlowKind::Options);
        for keyword in keywords {
            if let Some(value) = flow::keyword_arg(ctx, call, keyword) {
                let mut found = Stored::default();
                stored_keys_of(ctx, value, 0, &mut found);
                // An options flow's `async_create_entry(data=...)` sets the
                // options; its `async_update_entry(entry, data=...)` the data.
                let to_options =
                    *keyword == "options" || (in_options_flow && name == "async_create_entry");
                if to_options {
                    facts.stored_option_keys.extend(found.keys.iter().cloned());
                }
                facts.stored_keys.extend(found.keys);
                facts.secret_valued_keys.extend(found.secret_valued);
                if found.opaque
                    && let Some((class, _)) = class
                {
                    opaque_classes.push((class, to_options));
                }
            }
        }
    }
    for (class, to_options) in opaque_classes {
        for form in flow::forms_in(ctx, class) {
            let keys = flow::schema_fields(ctx, form.schema);
            if to_options {
                facts.maybe_stored_option_keys.extend(keys.iter().cloned());
            }
            facts.maybe_stored_keys.extend(keys);
        }
    }
    !classes.is_empty()
}

/// The calls whose arguments are stored in a config entry: the keywords that
/// hold what is stored, and whether only a flow's call stores (not a repair's).
const STORING_CALLS: &[(&str, &[&str], bool)] = &[
    ("async_create_entry", &["data", "options"], true),
    ("async_update_entry", &["data", "options"], false),
    (
        "async_update_reload_and_abort",
        &["data", "options", "data_updates"],
        true,
    ),
];

/// `SchemaFlowFormStep(SCHEMA)`: a schema flow stores every field of every step.
fn schema_flow_steps<'t>(ctx: &FileContext<'t>, keys: &mut BTreeSet<String>) {
    for &call in ctx.calls_named("SchemaFlowFormStep").iter() {
        let schema = flow::positional_args(call)
            .first()
            .copied()
            .or_else(|| flow::keyword_arg(ctx, call, "schema"));
        if let Some(schema) = schema {
            keys.extend(flow::schema_fields(ctx, schema));
        }
    }
}

/// What a stored mapping holds, as far as it can be seen into.
#[derive(Default)]
struct Stored {
    keys: BTreeSet<String>,
    /// Keys whose stored value carries a secret by value flow, whatever the key
    /// is called (`self.data[CONF_REFRESH] = api.refresh_token`).
    secret_valued: BTreeSet<String>,
    /// Part of the mapping cannot be seen into.
    opaque: bool,
}

impl Stored {
    /// One item: its key, and the value stored under it when it is written.
    fn item<'t>(&mut self, ctx: &FileContext<'t>, key: Node<'t>, value: Option<Node<'t>>) {
        if let Some(name) = flow::key_name(ctx, key) {
            self.named(ctx, name, value);
        }
    }

    fn named<'t>(&mut self, ctx: &FileContext<'t>, key: String, value: Option<Node<'t>>) {
        if value.is_some_and(|v| values::carries(ctx, v, Label::Secret)) {
            self.secret_valued.insert(key.clone());
        }
        self.keys.insert(key);
    }
}

/// The file's classes with a method that gives the keyword arguments it passes
/// on a default timeout (`kwargs.setdefault("timeout", 5.0)`), and the file's
/// classes derived from one of them.
fn timeout_wrappers(ctx: &FileContext) -> BTreeSet<String> {
    let mut classes: Vec<(String, String, bool)> = Vec::new(); // name, bases, sets it
    flow::visit(ctx.tree.root_node(), &mut |node| {
        if node.kind_name() != "class_definition" {
            return;
        }
        let (Some(name), Some(body)) = (node.field("name"), node.field("body")) else {
            return;
        };
        let sets = sets_default_timeout(&ctx.source[body.byte_range()]);
        let bases = node.field("superclasses").map_or("", |b| ctx.text(b));
        classes.push((ctx.text(name).to_string(), bases.to_string(), sets));
    });
    let mut wrappers: BTreeSet<String> = classes
        .iter()
        .filter(|(_, _, sets)| *sets)
        .map(|(name, ..)| name.clone())
        .collect();
    // Subclasses, however deep the file nests them.
    loop {
        let before = wrappers.len();
        for (name, bases, _) in &classes {
            let derived = bases
                .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .any(|base| wrappers.contains(base));
            if derived {
                wrappers.insert(name.clone());
            }
        }
        if wrappers.len() == before {
            return wrappers;
        }
    }
}

/// Does the code give keyword arguments a default timeout
/// (`kwargs.setdefault("timeout", 5.0)`)?
fn sets_default_timeout(code: &[u8]) -> bool {
    [&b"setdefault(\"timeout\""[..], b"setdefault('timeout'"]
        .iter()
        .any(|call| memchr::memmem::find(code, call).is_some())
}

/// What a stored mapping holds.
fn stored_keys_of<'t>(ctx: &FileContext<'t>, value: Node<'t>, depth: usize, found: &mut Stored) {
    if depth > 6 {
        found.opaque = true;
        return;
    }
    let next = depth + 1;
    match value.kind_name() {
        "dictionary" => {
            let mut cursor = value.walk();
            for child in value.named_children(&mut cursor) {
                match child.kind_name() {
                    "pair" => {
                        if let Some(key) = child.field("key") {
                            found.item(ctx, key, child.field("value"));
                        }
                    }
                    "dictionary_splat" => {
                        if let Some(inner) = child.named_child(0) {
                            stored_keys_of(ctx, inner, next, found);
                        }
                    }
                    _ => {}
                }
            }
        }
        "identifier" => {
            // Items stored one by one: `user_input[CONF_TOKEN] = token`.
            let scope = super::enclosing_scope(ctx, value);
            for store in ctx.bindings().items(scope.id(), ctx.text(value)) {
                match store.key {
                    Some(key) => found.item(ctx, key, Some(store.value)),
                    None => stored_keys_of(ctx, store.value, next, found),
                }
            }
            if flow::step_input_name(ctx, value) == Some(ctx.text(value)) {
                let forms = flow::step_forms(ctx, value);
                if forms.is_empty() {
                    found.opaque = true;
                }
                for form in forms {
                    found.keys.extend(flow::schema_fields(ctx, form.schema));
                }
                return;
            }
            let values = if flow::enclosing_function(ctx, value).is_some() {
                flow::assigned_values(ctx, value)
            } else {
                Vec::new()
            };
            if values.is_empty() {
                found.opaque = true;
            }
            for v in values {
                stored_keys_of(ctx, v, next, found);
            }
        }
        // self._data, filled by the flow's steps.
        "attribute" if flow::attribute_writes(ctx, value).is_some() => {
            let writes = flow::attribute_writes(ctx, value).unwrap_or_default();
            if writes.values.is_empty() && writes.items.is_empty() {
                found.opaque = true;
            }
            let mut written = Stored::default();
            for (key, stored) in writes.items {
                written.item(ctx, key, Some(stored));
            }
            for v in writes.values {
                stored_keys_of(ctx, v, next, &mut written);
            }
            // `self._data.pop(CONF_CAPTCHA_TOKEN)` before the entry is created.
            written.keys.retain(|key| !writes.removed.contains(key));
            written
                .secret_valued
                .retain(|key| !writes.removed.contains(key));
            found.keys.extend(written.keys);
            found.secret_valued.extend(written.secret_valued);
            found.opaque |= written.opaque;
        }
        // The entry's own mappings hold keys stored elsewhere.
        "attribute" => {
            let own = value
                .field("attribute")
                .is_some_and(|a| matches!(ctx.text(a), "data" | "options"))
                && value
                    .field("object")
                    .is_some_and(|o| ctx.text(o).to_ascii_lowercase().ends_with("entry"));
            if !own {
                found.opaque = true;
            }
        }
        "binary_operator" => {
            for side in ["left", "right"] {
                if let Some(s) = value.field(side) {
                    stored_keys_of(ctx, s, next, found);
                }
            }
        }
        "call" if flow::callee_name(ctx, value) == "dict" => {
            if let Some(args) = value.field("arguments") {
                let mut cursor = args.walk();
                for arg in args.named_children(&mut cursor) {
                    match arg.kind_name() {
                        "keyword_argument" => {
                            if let Some(name) = arg.field("name") {
                                let key = ctx.text(name).to_string();
                                found.named(ctx, key, arg.field("value"));
                            }
                        }
                        "dictionary_splat" => {
                            if let Some(inner) = arg.named_child(0) {
                                stored_keys_of(ctx, inner, next, found);
                            }
                        }
                        _ => stored_keys_of(ctx, arg, next, found),
                    }
                }
            }
        }
        "parenthesized_expression" => {
            if let Some(inner) = value.named_child(0) {
                stored_keys_of(ctx, inner, next, found);
            }
        }
        _ => found.opaque = true,
    }
}

/// How many names a key set may be followed through (`REDACT = BASE | {...}`,
/// `BASE = (...)`): enough for any real chain, and a bound on a cycle.
const KEY_SET_HOPS: usize = 8;

/// The keys of a literal set, list or tuple of keys (`{CONF_PASSWORD, "token"}`,
/// `frozenset(...)`), or `None` when it is not one.
pub fn key_set<'t>(ctx: &FileContext<'t>, node: Node<'t>) -> Option<BTreeSet<String>> {
    key_set_within(ctx, node, KEY_SET_HOPS)
}

/// A key set given literally or by a module-level name (this file's or the integration's).
pub fn key_set_of_name<'t>(ctx: &FileContext<'t>, node: Node<'t>) -> Option<BTreeSet<String>> {
    key_set_of_name_within(ctx, node, KEY_SET_HOPS)
}

fn key_set_within<'t>(
    ctx: &FileContext<'t>,
    node: Node<'t>,
    hops: usize,
) -> Option<BTreeSet<String>> {
    match node.kind_name() {
        "set" | "list" | "tuple" => {
            let mut keys = BTreeSet::new();
            let mut cursor = node.walk();
            for element in node.named_children(&mut cursor) {
                if element.kind_name() == "comment" {
                    continue;
                }
                if element.kind_name() == "list_splat" {
                    keys.extend(key_set_of_name_within(ctx, element.named_child(0)?, hops)?);
                    continue;
                }
                keys.insert(flow::key_name(ctx, element)?);
            }
            Some(keys)
        }
        "call"
            if matches!(
                flow::callee_name(ctx, node),
                "set" | "frozenset" | "list" | "tuple"
            ) =>
        {
            let args = flow::positional_args(node);
            match args.first() {
                Some(first) => key_set_within(ctx, *first, hops),
                None => Some(BTreeSet::new()),
            }
        }
        "binary_operator" => {
            let mut keys = key_set_of_name_within(ctx, node.field("left")?, hops)?;
            keys.extend(key_set_of_name_within(ctx, node.field("right")?, hops)?);
            Some(keys)
        }
        "parenthesized_expression" => key_set_within(ctx, node.named_child(0)?, hops),
        _ => None,
    }
}

fn key_set_of_name_within<'t>(
    ctx: &FileContext<'t>,
    node: Node<'t>,
    hops: usize,
) -> Option<BTreeSet<String>> {
    if node.kind_name() == "identifier" || node.kind_name() == "attribute" {
        let name = match node.kind_name() {
            "attribute" => ctx.text(node.field("attribute")?),
            _ => ctx.text(node),
        };
        let hops = hops.checked_sub(1)?;
        // `KEYS = KEYS + (...)` reads the assignment before its own.
        let inside = |right: Node| {
            right.start_byte() <= node.start_byte() && node.end_byte() <= right.end_byte()
        };
        let local = flow::module_assignments(ctx.tree.root_node())
            .into_iter()
            .rev()
            .find(|(left, right)| ctx.text(*left) == name && !inside(*right))
            .and_then(|(_, right)| key_set_within(ctx, right, hops));
        return local.or_else(|| ctx.integration.as_ref()?.key_sets.get(name).cloned());
    }
    key_set_within(ctx, node, hops)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::test_support::Snippet;

    #[test]
    fn raised_authentication_errors_are_found_where_raise_is_written() {
        let raises = |source: &str| !auth_raises(&Snippet::new(source).ctx()).is_empty();
        assert!(raises("def f():\n    raise ApiAuthenticationError('no')\n"));
        assert!(raises("def f():\n    raise errors.InvalidAuth\n"));
        assert!(raises(
            "def f():\n    raise Exception('Invalid credentials')\n"
        ));
        assert!(raises(
            "def f():\n    raise RuntimeError(\"Login failed\")\n"
        ));
        assert!(!raises(
            "def f():\n    raise Exception('Failed to connect')\n"
        ));
        assert!(!raises("def f():\n    raise CannotConnect\n"));
        assert!(!raises(
            "def f():\n    raise AuthVerificationCodeRequired\n"
        ));
        assert!(!raises("def f():\n    raise ConfigEntryAuthFailed\n"));
        assert!(!raises("# raise AuthError\nx = 'raise AuthError'\n"));
        // A web view refusing its caller, and Home Assistant's permission error.
        assert!(!raises(
            "from aiohttp import web\ndef f():\n    raise web.HTTPUnauthorized()\n"
        ));
        assert!(!raises(
            "from homeassistant.exceptions import Unauthorized\ndef f():\n    raise Unauthorized(context=c)\n"
        ));
    }

    #[test]
    fn auth_raisers_count_only_where_code_outside_the_flows_calls_them() {
        let raisers = [
            "login".to_string(),
            "validate_input".to_string(),
            String::new(),
        ];
        let outside = [
            "async def login(self):\n    raise AuthError\n",
            "async def update(self):\n    await self.api.login()\n",
            "async def validate_input(hass, data):\n    raise InvalidAuth\n",
        ];
        let called = called_in(raisers.into_iter().collect(), &outside);
        assert_eq!(
            called.into_iter().collect::<Vec<_>>(),
            ["".to_string(), "login".to_string()]
        );
    }

    #[test]
    fn service_data_passed_on_is_found_by_position() {
        let ctx = Snippet::new(
            "async def handle(call):\n    get_gtfs(hass, PATH, call.data, True)\n    await api.export(call.data, mode=1)\n    log(other.data)\n    x = call.data\n\
             \n    await hass.async_add_executor_job(write, hass, call.data)\n",
        );
        assert_eq!(
            service_data_arguments(&ctx.ctx()),
            [
                ("get_gtfs".to_string(), 2),
                ("export".to_string(), 0),
                ("write".to_string(), 1)
            ]
        );
    }

    #[test]
    fn auth_errors_turned_into_a_retry_are_mishandled() {
        let ctx = Snippet::new(
            "async def f():\n    try:\n        pass\n    except (LoginError, Timeout) as err:\n        raise ConfigEntryNotReady from err\n\
             \n    try:\n        pass\n    except TokenError:\n        raise ConfigEntryAuthFailed\n\
             \n    try:\n        pass\n    except api.AuthError:\n        return await retry()\n\
             \n    try:\n        pass\n    except Exception as err:\n        raise UpdateFailed from err\n\
             \n    try:\n        pass\n    except Exception:\n        _LOGGER.exception('no')\n",
        );
        assert_eq!(
            auth_errors_mishandled(&ctx.ctx()),
            ["LoginError", "Exception"]
        );
    }

    #[test]
    fn every_reauth_fact_changes_the_digest() {
        // The results cache keys on the digest: a fact left out of it would
        // serve findings made with other facts.
        let base = IntegrationFacts::default().digest();
        let flips: [fn(&mut IntegrationFacts); 8] = [
            |f| f.has_reauth = true,
            |f| f.starts_reauth = true,
            |f| f.starts_reauth_after_setup = true,
            |f| f.raises_auth_error = true,
            |f| {
                f.auth_raisers_after_setup.insert("login".into());
            },
            |f| {
                f.auth_errors_mishandled.insert("LoginError".into());
            },
            |f| f.asks_user_otherwise = true,
            |f| {
                f.service_data_parameters
                    .insert("get_gtfs".into(), [2].into());
            },
        ];
        for flip in flips {
            let mut facts = IntegrationFacts::default();
            flip(&mut facts);
            assert_ne!(facts.digest(), base);
        }
    }

    #[test]
    fn reauth_starts_outside_imports_and_comparisons() {
        let starts = |source: &str| reauth_starts(&Snippet::new(source).ctx()).len();
        assert_eq!(starts("from x import ConfigEntryAuthFailed\n"), 0);
        assert_eq!(starts("if self.source == SOURCE_REAUTH:\n    pass\n"), 0);
        assert_eq!(
            starts("raise ConfigEntryAuthFailed\nentry.async_start_reauth(hass)\n"),
            2
        );
    }
}
