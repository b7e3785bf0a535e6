//! Rule packs: more rule files, in the format of `rules/`, read at run time
//! from directories the user names (`extend-rules` in the configuration,
//! `--rules DIR` on the command line).
//!
//! A pack's rules get ids of their own (`ACME001`, never `HAS...`), may call
//! every named check, and are validated as strictly as the built-in rules, query
//! included; every problem is an error naming the file and line, never a panic.
//! Loaded rules live for the rest of the process (the scanner, findings and
//! reports hold `&'static Rule`), and [`super::find`] knows them.

use std::{
    collections::HashMap,
    path::{Path, PathBuf},
    sync::RwLock,
};

use super::{PackFile, Rule, RuleError, parse_rule};

/// The rules of the packs loaded so far, in load order.
static LOADED: RwLock<Vec<&'static Rule>> = RwLock::new(Vec::new());

/// The rules of every rule pack loaded in this process.
pub fn loaded() -> Vec<&'static Rule> {
    LOADED.read().map(|rules| rules.clone()).unwrap_or_default()
}

/// Where a pack's files may be: anywhere, or only inside a directory (the
/// action's workspace: a pull request must not point hassec at files outside
/// the checkout, through `..` or through a symbolic link).
#[derive(Debug, Clone, Copy)]
pub enum Confine<'a> {
    Anywhere,
    Inside(&'a Path),
}

/// Reads, validates and registers the rules of every `.toml` file directly in
/// each directory of `dirs`. All or nothing: with any error, no rule is
/// registered and every error found is returned. Loading a rule with an id
/// already loaded replaces it.
pub fn load(dirs: &[PathBuf], confine: Confine) -> Result<Vec<&'static Rule>, Vec<RuleError>> {
    let rules = read(dirs, confine)?;
    let leaked: Vec<&'static Rule> = rules
        .into_iter()
        .map(|rule| &*Box::leak(Box::new(rule)))
        .collect();
    if let Ok(mut loaded) = LOADED.write() {
        loaded.retain(|old| !leaked.iter().any(|new| new.id == old.id));
        loaded.extend(leaked.iter().copied());
    }
    Ok(leaked)
}

/// Reads and validates the rules of `dirs` without registering them.
pub fn read(dirs: &[PathBuf], confine: Confine) -> Result<Vec<Rule>, Vec<RuleError>> {
    let mut rules = Vec::new();
    let mut texts = HashMap::new();
    let mut errors = Vec::new();
    let root = match confine {
        Confine::Anywhere => None,
        Confine::Inside(root) => match root.canonicalize() {
            Ok(root) => Some(root),
            Err(e) => {
                return Err(vec![dir_error(root, format!("cannot resolve: {e}"))]);
            }
        },
    };
    for dir in dirs {
        match files_of(dir, root.as_deref()) {
            Ok(files) => {
                for (path, text) in files {
                    match parse_pack_file(&path, &text) {
                        Ok(rule) => {
                            texts.insert(rule.shown_path(), text);
                            rules.push(rule);
                        }
                        Err(error) => errors.push(error),
                    }
                }
            }
            Err(error) => errors.push(error),
        }
    }
    errors.extend(rules.iter().filter_map(|rule| rule.validate_query().err()));
    errors.extend(collisions(&rules, &texts));
    if errors.is_empty() {
        rules.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(rules)
    } else {
        Err(errors)
    }
}

/// A path as messages show it: relative to the working directory when under it.
fn shown(path: &Path) -> String {
    let relative = std::env::current_dir()
        .ok()
        .and_then(|cwd| path.strip_prefix(cwd).ok().map(Path::to_path_buf));
    let path = relative.as_deref().unwrap_or(path);
    // `./rules/x.toml` as `rules/x.toml`.
    let cleaned: PathBuf = path
        .components()
        .filter(|c| !matches!(c, std::path::Component::CurDir))
        .collect();
    if cleaned.as_os_str().is_empty() {
        ".".to_string()
    } else {
        cleaned.display().to_string()
    }
}

fn dir_error(path: &Path, message: String) -> RuleError {
    RuleError {
        file: shown(path),
        line: 0,
        message,
    }
}

/// The `.toml` files directly in `dir`, sorted, with their text.
fn files_of(dir: &Path, root: Option<&Path>) -> Result<Vec<(PathBuf, String)>, RuleError> {
    let inside = |path: &Path| -> Result<(), RuleError> {
        let Some(root) = root else { return Ok(()) };
        let real = path
            .canonicalize()
            .map_err(|e| dir_error(path, format!("cannot resolve: {e}")))?;
        if real.starts_with(root) {
            Ok(())
        } else {
            Err(dir_error(
                path,
                "a rule pack must lie inside the repository's checkout (no `..`, no symbolic link out of it)"
                    .into(),
            ))
        }
    };
    if !dir.is_dir() {
        return Err(dir_error(
            dir,
            "is not a directory of rule files (see `extend-rules` / `--rules`)".into(),
        ));
    }
    inside(dir)?;
    let entries =
        std::fs::read_dir(dir).map_err(|e| dir_error(dir, format!("cannot read: {e}")))?;
    let mut paths: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "toml") && path.is_file())
        .collect();
    paths.sort();
    paths
        .into_iter()
        .map(|path| {
            inside(&path)?;
            let text = std::fs::read_to_string(&path)
                .map_err(|e| dir_error(&path, format!("cannot read: {e}")))?;
            Ok((path, text))
        })
        .collect()
}

fn parse_pack_file(path: &Path, text: &str) -> Result<Rule, RuleError> {
    let file = path
        .file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_default();
    let pack = PackFile {
        path: shown(path),
        digest: crate::digest::digest([text.as_bytes()]),
    };
    parse_rule(&file, text, Some(pack))
}

/// A pack's ids and names must be new: not a built-in rule's, not another
/// pack rule's.
fn collisions(rules: &[Rule], texts: &HashMap<String, String>) -> Vec<RuleError> {
    let mut errors = Vec::new();
    let mut ids: HashMap<&str, &Rule> = HashMap::new();
    let mut names: HashMap<&str, &Rule> = HashMap::new();
    for rule in rules {
        let text = texts.get(&rule.shown_path()).map_or("", String::as_str);
        let (id_line, name_line) = (super::key_line(text, "id"), super::key_line(text, "name"));
        if let Some(builtin) = super::all().iter().find(|b| b.id == rule.id) {
            errors.push(rule.error(
                id_line,
                format!(
                    "id `{}` is taken by the built-in rule {}",
                    rule.id, builtin.name
                ),
            ));
        }
        if let Some(builtin) = super::all().iter().find(|b| b.name == rule.name) {
            errors.push(rule.error(
                name_line,
                format!(
                    "name `{}` is taken by the built-in rule {}",
                    rule.name, builtin.id
                ),
            ));
        }
        if let Some(first) = ids.insert(&rule.id, rule) {
            errors.push(rule.error(
                id_line,
                format!(
                    "duplicate rule id `{}` (also in {})",
                    rule.id,
                    first.shown_path()
                ),
            ));
        }
        if let Some(first) = names.insert(&rule.name, rule) {
            errors.push(rule.error(
                name_line,
                format!(
                    "duplicate rule name `{}` (also in {})",
                    rule.name,
                    first.shown_path()
                ),
            ));
        }
    }
    errors
}
