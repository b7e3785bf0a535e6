//! Integration facts: what a rule about one file needs to know about the other
//! files of its integration (the keys its flows store, whether its config flow
//! has `async_step_reauth`, its manifest's requirements).
//!
//! An integration is a directory with a `manifest.json` (or with `__init__.py`
//! and `config_flow.py`). The scanner gathers its facts once, before matching,
//! reading every Python file of the directory (bounded, symbolic links never
//! followed, never outside the directory) even when only some of them are
//! scanned, as in a pull request. Only the scanned files are reported.

use rayon::prelude::*;
use std::{
    collections::{BTreeMap, BTreeSet, HashMap},
    path::{Path, PathBuf},
    sync::Arc,
};

use globset::GlobSet;
use ignore::WalkBuilder;
use serde::{Deserialize, Serialize};
use tree_sitter::{Node, Tree};

use super::{
    cache,
    sources::{ReadError, read_regular},
};
use crate::{
    checks::{
        FileContext,
        flow::{self, FlowKind},
    },
    rules::vocabulary::Vocabulary,
};

/// Checks that read integration facts: the scanner gathers them only when an
/// enabled rule uses one of these.
pub const USES_FACTS: &[&str] = &[
    "diagnostics-leak",
    "redaction-misses-stored-secret",
    "integration-lacks-reauth",
    "stores-secret",
    "secret-key",
    "secret-schema",
    "unmasked-secret-field",
    "credential-mapping",
];

/// How far up from a file its integration directory is looked for.
const MAX_ASCENT: usize = 3;
/// How deep below the integration directory Python files are read.
pub const MAX_DEPTH: usize = 3;
/// How many Python files of one integration are read at most.
const MAX_FILES: usize = 400;

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
}

impl Manifest {
    /// Parses a manifest; an error says what is wrong, for the scan's error list.
    pub fn parse(text: &str) -> Result<Self, String> {
        let value: serde_json::Value =
            serde_json::from_str(text).map_err(|e| format!("invalid manifest.json: {e}"))?;
        let Some(object) = value.as_object() else {
            return Err("invalid manifest.json: not a JSON object".into());
        };
        let Some(requirements) = object.get("requirements") else {
            return Ok(Self::default());
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
        Ok(Self { requirements: out })
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
    /// Is there a config or options flow class?
    pub flow_found: bool,
    /// Is `async_step_reauth` defined?
    pub has_reauth: bool,
    /// Keys its flows certainly store in entries: dictionary keys given to
    /// `async_create_entry`/`async_update_entry`, fields of the form whose
    /// `user_input` is stored, the OAuth2 helper's `token`.
    pub stored_keys: BTreeSet<String>,
    /// The part of `stored_keys` stored in options (`options=`, options flows).
    pub stored_option_keys: BTreeSet<String>,
    /// `stored_option_keys` plus every form field of an options flow that stores
    /// a mapping this analysis cannot see into.
    pub maybe_stored_option_keys: BTreeSet<String>,
    /// `stored_keys` plus every form field of a flow that stores a mapping this
    /// analysis cannot see into (`data=self._data`).
    pub maybe_stored_keys: BTreeSet<String>,
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
        let rendered = format!(
            "{constants:?}|{key_sets:?}|{}|{}|{:?}|{:?}|{:?}|{:?}",
            self.flow_found,
            self.has_reauth,
            self.stored_keys,
            self.maybe_stored_keys,
            self.manifest,
            self.manifest_error
        );
        cache::digest([rendered.as_bytes()])
    }

    /// Secret-like keys the flows certainly store.
    pub fn stored_secret_keys<'a>(
        &'a self,
        vocabulary: &'a Vocabulary,
    ) -> impl Iterator<Item = &'a String> + 'a {
        self.stored_keys
            .iter()
            .filter(|key| vocabulary.is_secret_like(key))
    }

    /// Do the flows (possibly) store a secret-like key?
    pub fn may_store_secret(&self, vocabulary: &Vocabulary) -> bool {
        self.maybe_stored_keys
            .iter()
            .any(|key| vocabulary.is_secret_like(key))
    }

    /// The facts one file gives on its own (a file outside any integration).
    pub fn of_single_file<'t>(ctx: &FileContext<'t>) -> Self {
        let mut facts = Self {
            constants: ctx.module_constants().clone(),
            files_read: 1,
            ..Self::default()
        };
        add_file_facts(ctx, &mut facts);
        facts.finish();
        facts
    }

    /// The "maybe" sets include the certain ones.
    fn finish(&mut self) {
        self.maybe_stored_keys.extend(self.stored_keys.clone());
        self.maybe_stored_option_keys
            .extend(self.stored_option_keys.clone());
    }

    /// Reads the integration at `root`: its Python files and its manifest.
    pub fn gather(
        root: &Path,
        excludes: &GlobSet,
        max_file_size: u64,
        vocabulary: &Vocabulary,
    ) -> Self {
        let mut files = IntegrationFiles::read(root, python_files(root, excludes), max_file_size);
        files.parse();
        Self::of_parsed(&files, vocabulary)
    }

    /// The facts of an integration whose files are read and parsed (a file
    /// tree-sitter could not parse gives no facts).
    pub fn of_parsed(files: &IntegrationFiles, vocabulary: &Vocabulary) -> Self {
        let mut facts = Self {
            root: Some(files.root.clone()),
            ..Self::default()
        };
        match &files.manifest {
            Some(Ok(manifest)) => facts.manifest = Some(manifest.clone()),
            Some(Err(e)) => facts.manifest_error = Some(e.clone()),
            None => {}
        }
        let parsed: Vec<(&str, &Tree)> = files
            .python
            .iter()
            .filter_map(|file| Some((file.text.as_str(), file.tree.as_ref()?)))
            .collect();
        facts.files_read = parsed.len();

        // Constants first: flows name keys with constants from `const.py`.
        for (text, tree) in &parsed {
            facts
                .constants
                .extend(flow::module_constants(tree.root_node(), text.as_bytes()));
        }
        let known = Arc::new(Self {
            constants: facts.constants.clone(),
            ..Self::default()
        });
        for (text, tree) in &parsed {
            let ctx = FileContext::new(text.as_bytes(), tree, vocabulary)
                .with_integration(Some(Arc::clone(&known)));
            add_file_facts(&ctx, &mut facts);
        }
        facts.finish();
        facts
    }
}

/// One Python file of an integration, as read for its facts; its tree once parsed.
pub struct IntegrationFile {
    pub path: PathBuf,
    /// The file's text, invalid UTF-8 replaced, as the scan reads it.
    pub text: String,
    /// [`cache::digest`] of the bytes read: the cache's key for the file's content.
    pub digest: String,
    pub tree: Option<Tree>,
}

impl IntegrationFile {
    fn new(path: PathBuf, bytes: Vec<u8>) -> Self {
        let digest = cache::digest([bytes.as_slice()]);
        // Valid UTF-8 (nearly every file) becomes the text without a copy.
        let text = String::from_utf8(bytes)
            .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned());
        Self {
            path,
            text,
            digest,
            tree: None,
        }
    }
}

/// The files an integration's facts come from, read once: the scan of a whole
/// integration matches its files with the trees parsed for the facts instead of
/// parsing every file twice.
pub struct IntegrationFiles {
    pub root: PathBuf,
    /// Sorted by path.
    pub python: Vec<IntegrationFile>,
    /// `None` when there is no `manifest.json`.
    pub manifest: Option<Result<Manifest, String>>,
    manifest_bytes: Vec<u8>,
}

impl IntegrationFiles {
    /// Reads the manifest and the Python files `python` (the first
    /// [`MAX_FILES`] in path order; unreadable ones left out).
    pub fn read(root: &Path, mut python: Vec<PathBuf>, max_file_size: u64) -> Self {
        python.sort();
        python.truncate(MAX_FILES);
        let mut manifest_bytes = Vec::new();
        let manifest = match read_regular(&root.join("manifest.json"), max_file_size) {
            Err(ReadError::Io(e)) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(ReadError::NotRegular) => None,
            Err(e) => Some(Err(e.to_string())),
            Ok(bytes) => {
                let parsed = Manifest::parse(&String::from_utf8_lossy(&bytes));
                manifest_bytes = bytes;
                Some(parsed)
            }
        };
        let python = python
            .into_iter()
            .filter_map(|path| {
                let bytes = read_regular(&path, max_file_size).ok()?;
                Some(IntegrationFile::new(path, bytes))
            })
            .collect();
        Self {
            root: root.to_path_buf(),
            python,
            manifest,
            manifest_bytes,
        }
    }

    /// Parses every file not parsed yet, in parallel (a pull request often
    /// touches a single integration).
    pub fn parse(&mut self) {
        self.python
            .par_iter_mut()
            .filter(|file| file.tree.is_none())
            .for_each(|file| {
                // As the scan parses it: lone CRs as newlines (same byte offsets).
                let lines = super::with_lone_cr_as_lf(&file.text);
                file.tree = super::parse(lines.as_deref().unwrap_or(&file.text)).ok();
            });
    }

    /// A digest of everything the facts are derived from: which files, and their
    /// bytes (by their digests). Equal digests mean equal facts (for the same hassec and settings).
    pub fn digest(&self) -> String {
        let names: Vec<String> = self
            .python
            .iter()
            .map(|file| {
                file.path
                    .strip_prefix(&self.root)
                    .unwrap_or(&file.path)
                    .to_string_lossy()
                    .into_owned()
            })
            .collect();
        let manifest_state: &[u8] = match &self.manifest {
            None => b"none",
            Some(Ok(_)) => b"ok",
            Some(Err(_)) => b"error",
        };
        cache::digest(
            [manifest_state, self.manifest_bytes.as_slice()]
                .into_iter()
                .chain(
                    names
                        .iter()
                        .zip(&self.python)
                        .flat_map(|(name, file)| [name.as_bytes(), file.digest.as_bytes()]),
                ),
        )
    }

    /// The bytes of `manifest.json` (empty when there is none).
    pub fn manifest_bytes(&self) -> &[u8] {
        &self.manifest_bytes
    }

    /// The file at `path`, if it is one of these.
    pub fn position(&self, path: &Path) -> Option<usize> {
        self.python
            .binary_search_by(|file| file.path.as_path().cmp(path))
            .ok()
    }
}

/// The integration directory of a file: the nearest ancestor (up to a few levels)
/// with a `manifest.json`, or with both `__init__.py` and `config_flow.py`.
pub fn integration_root(file: &Path) -> Option<PathBuf> {
    let mut dir = match file.parent() {
        Some(parent) if parent.as_os_str().is_empty() => PathBuf::from("."),
        Some(parent) => parent.to_path_buf(),
        None => return None,
    };
    for _ in 0..MAX_ASCENT {
        if is_plain_file(&dir.join("manifest.json"))
            || (is_plain_file(&dir.join("__init__.py"))
                && is_plain_file(&dir.join("config_flow.py")))
        {
            return Some(dir);
        }
        match dir.parent() {
            Some(parent) if !parent.as_os_str().is_empty() => dir = parent.to_path_buf(),
            _ => return None,
        }
    }
    None
}

/// A regular file, not a symbolic link.
fn is_plain_file(path: &Path) -> bool {
    std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_file())
}

/// The Python files of an integration directory, as a scan of the directory
/// finds them (`.gitignore` honoured, hidden entries and symbolic links passed
/// over, excludes matched relative to it), at most [`MAX_DEPTH`] levels down. A
/// full scan takes them from its own walk instead
/// ([`super::sources::Sources::python_files_under`]).
pub fn python_files(root: &Path, excludes: &GlobSet) -> Vec<PathBuf> {
    let root_owned = root.to_path_buf();
    let excludes = excludes.clone();
    WalkBuilder::new(root)
        .follow_links(false)
        .max_depth(Some(MAX_DEPTH))
        .require_git(false)
        .filter_entry(move |entry| {
            // Other files go before the (costlier) excludes.
            let other_file = entry.file_type().is_some_and(|t| t.is_file())
                && entry.path().extension().is_none_or(|ext| ext != "py");
            !other_file
                && entry
                    .path()
                    .strip_prefix(&root_owned)
                    .map_or(true, |relative| {
                        relative.as_os_str().is_empty() || !excludes.is_match(relative)
                    })
        })
        .build()
        .filter_map(Result::ok)
        .filter(|entry| !entry.path_is_symlink())
        .filter(|entry| entry.file_type().is_some_and(|t| t.is_file()))
        .map(ignore::DirEntry::into_path)
        .collect()
}

/// Adds what one file says to the facts (constants excepted: gathered before).
fn add_file_facts<'t>(ctx: &FileContext<'t>, facts: &mut IntegrationFacts) {
    let root = ctx.tree.root_node();
    for (left, right) in flow::module_assignments(root) {
        if let Some(keys) = key_set(ctx, right) {
            facts.key_sets.insert(ctx.text(left).to_string(), keys);
        }
    }
    // Whole-tree walks only where the names they look for are written: a name in
    // the tree is in the source, so skipping on a byte search loses nothing, and
    // most files of an integration define no flow and store nothing.
    if ctx.contains("async_step_reauth") {
        flow::visit(root, &mut |node| {
            if node.kind() == "function_definition"
                && node
                    .child_by_field_name("name")
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
    if !STORING_CALLS.iter().any(|name| ctx.contains(name)) {
        return; // nothing stored: no opaque classes either
    }
    flow::visit(root, &mut |call| {
        if call.kind() != "call" {
            return;
        }
        let (keywords, in_flow_only): (&[&str], bool) = match flow::callee_name(ctx, call) {
            "async_create_entry" => (&["data", "options"], true),
            "async_update_entry" => (&["data", "options"], false),
            "async_update_reload_and_abort" => (&["data", "options", "data_updates"], true),
            _ => return,
        };
        let class = ctx
            .ancestors(call)
            .filter(|n| n.kind() == "class_definition")
            .find_map(|c| {
                classes
                    .iter()
                    .find(|(flow_class, _)| flow_class.id() == c.id())
            })
            .copied();
        if in_flow_only && class.is_none() {
            return; // repairs and other flows do not store in the entry
        }
        let in_options_flow = class.is_some_and(|(_, kind)| kind == FlowKind::Options);
        for keyword in keywords {
            if let Some(value) = flow::keyword_arg(ctx, call, keyword) {
                let mut opaque = false;
                let mut keys = BTreeSet::new();
                stored_keys_of(ctx, value, 0, &mut keys, &mut opaque);
                let to_options = *keyword == "options" || in_options_flow;
                if to_options {
                    facts.stored_option_keys.extend(keys.iter().cloned());
                }
                facts.stored_keys.extend(keys);
                if opaque && let Some((class, _)) = class {
                    opaque_classes.push((class, to_options));
                }
            }
        }
    });
    for (class, to_options) in opaque_classes {
        for form in flow::forms_in(ctx, class) {
            let keys: Vec<String> = flow::schema_fields(ctx, form.schema)
                .into_iter()
                .map(|f| f.key)
                .collect();
            if to_options {
                facts.maybe_stored_option_keys.extend(keys.iter().cloned());
            }
            facts.maybe_stored_keys.extend(keys);
        }
    }
}

/// The calls whose arguments are stored in a config entry.
const STORING_CALLS: &[&str] = &[
    "async_create_entry",
    "async_update_entry",
    "async_update_reload_and_abort",
];

/// `SchemaFlowFormStep(SCHEMA)`: a schema flow stores every field of every step.
fn schema_flow_steps<'t>(ctx: &FileContext<'t>, keys: &mut BTreeSet<String>) {
    flow::visit(ctx.tree.root_node(), &mut |call| {
        if call.kind() == "call" && flow::callee_name(ctx, call) == "SchemaFlowFormStep" {
            let schema = flow::positional_args(call)
                .first()
                .copied()
                .or_else(|| flow::keyword_arg(ctx, call, "schema"));
            if let Some(schema) = schema {
                keys.extend(flow::schema_fields(ctx, schema).into_iter().map(|f| f.key));
            }
        }
    });
}

/// The keys a stored mapping holds; `opaque` when part of it cannot be seen into.
fn stored_keys_of<'t>(
    ctx: &FileContext<'t>,
    value: Node<'t>,
    depth: usize,
    keys: &mut BTreeSet<String>,
    opaque: &mut bool,
) {
    if depth > 6 {
        *opaque = true;
        return;
    }
    let next = depth + 1;
    match value.kind() {
        "dictionary" => {
            let mut cursor = value.walk();
            for child in value.named_children(&mut cursor) {
                match child.kind() {
                    "pair" => {
                        if let Some(key) = child
                            .child_by_field_name("key")
                            .and_then(|k| flow::key_name(ctx, k))
                        {
                            keys.insert(key);
                        }
                    }
                    "dictionary_splat" => {
                        if let Some(inner) = child.named_child(0) {
                            stored_keys_of(ctx, inner, next, keys, opaque);
                        }
                    }
                    _ => {}
                }
            }
        }
        "identifier" => {
            if flow::step_input_name(ctx, value) == Some(ctx.text(value)) {
                let forms = flow::step_forms(ctx, value);
                if forms.is_empty() {
                    *opaque = true;
                }
                for form in forms {
                    keys.extend(
                        flow::schema_fields(ctx, form.schema)
                            .into_iter()
                            .map(|f| f.key),
                    );
                }
                return;
            }
            let values = if flow::enclosing_function(ctx, value).is_some() {
                flow::assigned_values(ctx, value)
            } else {
                Vec::new()
            };
            if values.is_empty() {
                *opaque = true;
            }
            for v in values {
                stored_keys_of(ctx, v, next, keys, opaque);
            }
        }
        // self._data, filled by the flow's steps.
        "attribute" if flow::attribute_writes(ctx, value).is_some() => {
            let writes = flow::attribute_writes(ctx, value).unwrap_or_default();
            if writes.values.is_empty() && writes.keys.is_empty() {
                *opaque = true;
            }
            let mut written: BTreeSet<String> = writes
                .keys
                .iter()
                .filter_map(|k| flow::key_name(ctx, *k))
                .collect();
            for v in writes.values {
                stored_keys_of(ctx, v, next, &mut written, opaque);
            }
            // `self._data.pop(CONF_CAPTCHA_TOKEN)` before the entry is created.
            written.retain(|key| !writes.removed.contains(key));
            keys.extend(written);
        }
        // The entry's own mappings hold keys stored elsewhere.
        "attribute" => {
            let own = value
                .child_by_field_name("attribute")
                .is_some_and(|a| matches!(ctx.text(a), "data" | "options"))
                && value
                    .child_by_field_name("object")
                    .is_some_and(|o| ctx.text(o).to_ascii_lowercase().ends_with("entry"));
            if !own {
                *opaque = true;
            }
        }
        "binary_operator" => {
            for side in ["left", "right"] {
                if let Some(s) = value.child_by_field_name(side) {
                    stored_keys_of(ctx, s, next, keys, opaque);
                }
            }
        }
        "call" if flow::callee_name(ctx, value) == "dict" => {
            if let Some(args) = value.child_by_field_name("arguments") {
                let mut cursor = args.walk();
                for arg in args.named_children(&mut cursor) {
                    match arg.kind() {
                        "keyword_argument" => {
                            if let Some(name) = arg.child_by_field_name("name") {
                                keys.insert(ctx.text(name).to_string());
                            }
                        }
                        "dictionary_splat" => {
                            if let Some(inner) = arg.named_child(0) {
                                stored_keys_of(ctx, inner, next, keys, opaque);
                            }
                        }
                        _ => stored_keys_of(ctx, arg, next, keys, opaque),
                    }
                }
            }
        }
        "parenthesized_expression" => {
            if let Some(inner) = value.named_child(0) {
                stored_keys_of(ctx, inner, next, keys, opaque);
            }
        }
        _ => *opaque = true,
    }
}

/// The keys of a literal set, list or tuple of keys (`{CONF_PASSWORD, "token"}`,
/// `frozenset(...)`), or `None` when it is not one.
pub fn key_set<'t>(ctx: &FileContext<'t>, node: Node<'t>) -> Option<BTreeSet<String>> {
    match node.kind() {
        "set" | "list" | "tuple" => {
            let mut keys = BTreeSet::new();
            let mut cursor = node.walk();
            for element in node.named_children(&mut cursor) {
                if element.kind() == "comment" {
                    continue;
                }
                if element.kind() == "list_splat" {
                    keys.extend(key_set_of_name(ctx, element.named_child(0)?)?);
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
                Some(first) => key_set(ctx, *first),
                None => Some(BTreeSet::new()),
            }
        }
        "binary_operator" => {
            let mut keys = key_set_of_name(ctx, node.child_by_field_name("left")?)?;
            keys.extend(key_set_of_name(ctx, node.child_by_field_name("right")?)?);
            Some(keys)
        }
        "parenthesized_expression" => key_set(ctx, node.named_child(0)?),
        _ => None,
    }
}

/// A key set given literally or by a module-level name (this file's or the integration's).
pub fn key_set_of_name<'t>(ctx: &FileContext<'t>, node: Node<'t>) -> Option<BTreeSet<String>> {
    if node.kind() == "identifier" || node.kind() == "attribute" {
        let name = match node.kind() {
            "attribute" => ctx.text(node.child_by_field_name("attribute")?),
            _ => ctx.text(node),
        };
        let local = flow::module_assignments(ctx.tree.root_node())
            .into_iter()
            .rev()
            .find(|(left, _)| ctx.text(*left) == name)
            .and_then(|(_, right)| {
                (right.id() != node.id())
                    .then(|| key_set(ctx, right))
                    .flatten()
            });
        return local.or_else(|| ctx.integration.as_ref()?.key_sets.get(name).cloned());
    }
    key_set(ctx, node)
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;

    /// Writes `text` to `relative` under `root`, making its directories.
    pub fn write(root: &Path, relative: &str, text: &str) {
        let path = root.join(relative);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }

    #[test]
    fn manifest_requirements_get_their_offsets() {
        let text = "{\n  \"domain\": \"demo\",\n  \"requirements\": [\"a==1\", \"b>=2\"]\n}\n";
        let manifest = Manifest::parse(text).unwrap();
        assert_eq!(manifest.requirements.len(), 2);
        let b = manifest.requirements[1].offset.unwrap();
        assert_eq!(&text[b..b + 6], "\"b>=2\"");
        assert_eq!(manifest.requirements[1].line, Some(3));
        assert!(Manifest::parse("{\"requirements\": [1]}").is_err());
        assert!(
            Manifest::parse("{not json")
                .unwrap_err()
                .contains("invalid manifest.json")
        );
        assert_eq!(Manifest::parse("{}").unwrap(), Manifest::default());
    }

    #[test]
    fn facts_are_gathered_across_files() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("demo");
        write(
            &root,
            "manifest.json",
            "{\"domain\": \"demo\", \"requirements\": [\"x==1\"]}",
        );
        write(
            &root,
            "const.py",
            "CONF_APP_KEY = \"app_key\"\nTO_REDACT = {CONF_APP_KEY}\n",
        );
        write(
            &root,
            "config_flow.py",
            r#"
from homeassistant.config_entries import ConfigFlow
from homeassistant.const import CONF_HOST
import voluptuous as vol
from .const import CONF_APP_KEY

SCHEMA = vol.Schema({vol.Required(CONF_HOST): str, vol.Required(CONF_APP_KEY): str})

class Flow(ConfigFlow, domain="demo"):
    async def async_step_user(self, user_input=None):
        if user_input is not None:
            return self.async_create_entry(title="Demo", data=user_input)
        return self.async_show_form(step_id="user", data_schema=SCHEMA)
"#,
        );
        write(&root, "sub/deep.py", "X = 1\n");
        let file = root.join("sensor.py");
        write(&root, "sensor.py", "");
        assert_eq!(integration_root(&file), Some(root.clone()));
        let excludes = crate::scan::sources::exclude_set(&[]).unwrap();
        let facts = IntegrationFacts::gather(&root, &excludes, 1 << 20, &Vocabulary::default());
        assert!(facts.flow_found);
        assert!(!facts.has_reauth);
        assert_eq!(facts.files_read, 4);
        assert_eq!(
            facts
                .stored_keys
                .iter()
                .map(String::as_str)
                .collect::<Vec<_>>(),
            ["app_key", "host"]
        );
        assert_eq!(
            facts.key_sets["TO_REDACT"].iter().collect::<Vec<_>>(),
            ["app_key"]
        );
        assert_eq!(facts.manifest.unwrap().requirements[0].text, "x==1");
    }

    #[test]
    fn keys_collected_in_a_flow_attribute_count_minus_popped_ones() {
        let source = r#"
from homeassistant.config_entries import ConfigFlow
from homeassistant.const import CONF_PASSWORD, CONF_USERNAME
import voluptuous as vol

class Flow(ConfigFlow, domain="demo"):
    async def async_step_user(self, user_input=None):
        if user_input is not None:
            self._data.update(user_input)
            self._data["region"] = "eu"
            self._data.pop("captcha_token", None)
            return self.async_create_entry(title="x", data=self._data)
        return self.async_show_form(
            step_id="user",
            data_schema=vol.Schema(
                {vol.Required(CONF_USERNAME): str, vol.Required(CONF_PASSWORD): str, vol.Required("captcha_token"): str}
            ),
        )
"#;
        let tree = super::super::parse(source).unwrap();
        let vocabulary = Vocabulary::default();
        let ctx = FileContext::new(source.as_bytes(), &tree, &vocabulary);
        let facts = IntegrationFacts::of_single_file(&ctx);
        assert_eq!(
            facts
                .stored_keys
                .iter()
                .map(String::as_str)
                .collect::<Vec<_>>(),
            ["password", "region", "username"]
        );
    }

    #[cfg(unix)]
    #[test]
    fn symbolic_links_are_not_read() {
        let outside = tempfile::tempdir().unwrap();
        write(
            outside.path(),
            "reauth.py",
            "def async_step_reauth(self): pass\n",
        );
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("demo");
        write(&root, "manifest.json", "{}");
        write(&root, "__init__.py", "");
        std::os::unix::fs::symlink(outside.path().join("reauth.py"), root.join("reauth.py"))
            .unwrap();
        std::os::unix::fs::symlink(outside.path(), root.join("linked")).unwrap();
        let excludes = crate::scan::sources::exclude_set(&[]).unwrap();
        let facts = IntegrationFacts::gather(&root, &excludes, 1 << 20, &Vocabulary::default());
        assert!(!facts.has_reauth);
        assert_eq!(facts.files_read, 1);
    }

    #[test]
    fn a_file_outside_any_integration_has_no_root() {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "a/b/c/d/x.py", "");
        assert_eq!(integration_root(&dir.path().join("a/b/c/d/x.py")), None);
    }
}
