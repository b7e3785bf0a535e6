//! Reading an integration: the directory a file belongs to, and its Python files
//! and manifest, for the facts `model::integration` derives from them.
//!
//! An integration is a directory with a `manifest.json` (or with `__init__.py`
//! and `config_flow.py`). The scanner gathers its facts once, before matching,
//! reading every Python file of the directory (bounded, symbolic links never
//! followed, never outside the directory) even when only some of them are
//! scanned, as in a pull request. Only the scanned files are reported.

use rayon::prelude::*;
use std::path::{Path, PathBuf};

use globset::GlobSet;
use ignore::WalkBuilder;
use tree_sitter::Tree;

use super::{
    cache,
    sources::{ReadError, read_regular},
};
use crate::model::integration::ParsedFile;
pub use crate::model::integration::{IntegrationFacts, Manifest, USES_FACTS};
use crate::rules::vocabulary::Vocabulary;

/// How far up from a file its integration directory is looked for.
const MAX_ASCENT: usize = 3;
/// How deep below the integration directory Python files are read.
pub const MAX_DEPTH: usize = 3;
/// How many Python files of one integration are read at most.
const MAX_FILES: usize = 400;

/// One Python file of an integration, as read for its facts; its tree once parsed.
pub struct IntegrationFile {
    pub path: PathBuf,
    /// The file's text, invalid UTF-8 replaced, as the scan reads it.
    pub text: String,
    /// [`cache::digest`] of the bytes read: the cache's key for the file's content.
    pub digest: String,
    pub tree: Option<Tree>,
    /// What parsing left out of the file, said in words (see `scan::parse`).
    pub left_out: Option<String>,
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
            left_out: None,
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

/// Reads the integration at `root`, its Python files and its manifest, and
/// derives its facts.
pub fn gather_facts(
    root: &Path,
    excludes: &GlobSet,
    max_file_size: u64,
    vocabulary: &Vocabulary,
) -> IntegrationFacts {
    let mut files = IntegrationFiles::read(root, python_files(root, excludes), max_file_size);
    files.parse();
    files.facts(vocabulary)
}

impl IntegrationFiles {
    /// The facts of these files (a file tree-sitter could not parse gives none).
    pub fn facts(&self, vocabulary: &Vocabulary) -> IntegrationFacts {
        let parsed: Vec<ParsedFile> = self
            .python
            .iter()
            .filter_map(|file| {
                Some(ParsedFile {
                    module: file.path.file_stem()?.to_str()?,
                    text: &file.text,
                    tree: file.tree.as_ref()?,
                })
            })
            .collect();
        IntegrationFacts::of_parsed(&self.root, self.manifest.as_ref(), &parsed, vocabulary)
    }

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
                let lines = super::prepared_for_parse(&file.text);
                if let Ok(parsed) = super::parse(lines.as_deref().unwrap_or(&file.text)) {
                    file.tree = Some(parsed.tree);
                    file.left_out = parsed.left_out;
                }
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
/// ([`super::sources::Sources::python_files_under`]), which also reads the
/// files git tracks that `.gitignore` names; this listing, made for a pull
/// request's scan, does not: reading the index costs about 25 ms on a
/// repository of 42,000 files, a quarter of a pull request's budget, for files
/// that are rare and only inform the integration's facts.
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

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use crate::model::FileContext;

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
        let facts = gather_facts(&root, &excludes, 1 << 20, &Vocabulary::default());
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
    fn a_form_built_in_another_module_counts_for_what_the_flow_stores() {
        // The fixture integration's options flow shows forms built in `schemas.py`.
        let root = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/integrations/options_elsewhere");
        let excludes = crate::scan::sources::exclude_set(&[]).unwrap();
        let facts = gather_facts(&root, &excludes, 1 << 20, &Vocabulary::default());
        assert_eq!(
            facts.schemas["async_get_connection_schema"]
                .iter()
                .collect::<Vec<_>>(),
            ["api_key", "host", "password"]
        );
        assert_eq!(
            facts
                .stored_option_keys
                .iter()
                .map(String::as_str)
                .collect::<Vec<_>>(),
            ["api_key", "host", "minutes", "password"]
        );
        assert_eq!(
            facts
                .form_schema_names
                .iter()
                .map(String::as_str)
                .collect::<Vec<_>>(),
            ["INTERVAL_SCHEMA", "async_get_connection_schema"]
        );
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
        let tree = super::super::parse(source).unwrap().tree;
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
        let facts = gather_facts(&root, &excludes, 1 << 20, &Vocabulary::default());
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
