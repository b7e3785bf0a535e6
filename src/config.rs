//! Configuration: `[tool.hassec]` in `pyproject.toml`, or a `.hassec.toml`,
//! found by walking up from the scanned path; command-line flags win.

use std::{
    fmt,
    path::{Path, PathBuf},
    str::FromStr,
};

use serde::Deserialize;

use crate::rules::{self, Level};

/// The level at or above which findings fail the run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum FailOn {
    #[default]
    Error,
    Warning,
    Note,
    Never,
}

impl FailOn {
    /// Does a finding at `level` fail the run?
    pub fn fails(self, level: Level) -> bool {
        match self {
            FailOn::Error => level >= Level::Error,
            FailOn::Warning => level >= Level::Warning,
            FailOn::Note => true,
            FailOn::Never => false,
        }
    }
}

impl FromStr for FailOn {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "error" => Ok(FailOn::Error),
            "warning" => Ok(FailOn::Warning),
            "note" => Ok(FailOn::Note),
            "never" => Ok(FailOn::Never),
            other => Err(format!(
                "`{other}` is not a fail level: use error, warning, note or never"
            )),
        }
    }
}

/// Default upper bound on the size of a scanned file.
pub const DEFAULT_MAX_FILE_SIZE: u64 = 2 * 1024 * 1024;

/// The settings a user can write down.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Config {
    /// Rules to run (ids, names or id prefixes such as `HAS3`); all when absent.
    pub select: Option<Vec<String>>,
    /// Rules not to run.
    #[serde(default)]
    pub ignore: Vec<String>,
    /// Globs of paths not to scan, in addition to the defaults.
    #[serde(default)]
    pub exclude: Vec<String>,
    pub fail_on: Option<FailOn>,
    /// Words added to the secret vocabulary.
    #[serde(default)]
    pub secret_words: Vec<String>,
    /// Files larger than this many bytes are skipped.
    pub max_file_size: Option<u64>,
    /// An adoption baseline: findings recorded in it are not reported. Relative
    /// to the configuration file's directory in a file (resolved on reading).
    pub baseline: Option<PathBuf>,
    /// Directories of rule packs: more rule files, in the format of hassec's
    /// `rules/`. Relative to the configuration file's directory in a file
    /// (resolved on reading); `--rules DIR` adds more.
    #[serde(default)]
    pub extend_rules: Vec<PathBuf>,
}

#[derive(Debug)]
pub struct ConfigError {
    pub path: PathBuf,
    pub message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path.display(), self.message)
    }
}

impl std::error::Error for ConfigError {}

#[derive(Deserialize)]
struct Pyproject {
    tool: Option<Tool>,
}

#[derive(Deserialize)]
struct Tool {
    hassec: Option<toml::Value>,
}

impl Config {
    /// Reads a configuration file: a `pyproject.toml` (its `[tool.hassec]` table,
    /// `None` when it has none) or a `.hassec.toml`.
    pub fn from_file(path: &Path) -> Result<Option<Self>, ConfigError> {
        let error = |message: String| ConfigError {
            path: path.to_path_buf(),
            message,
        };
        let text = std::fs::read_to_string(path).map_err(|e| error(format!("cannot read: {e}")))?;
        let describe = |e: toml::de::Error| {
            let line = e
                .span()
                .map(|span| text[..span.start].matches('\n').count() + 1);
            let at = line.map(|l| format!("line {l}: ")).unwrap_or_default();
            format!("{at}{}", e.message())
        };
        let mut config = if path
            .file_name()
            .is_some_and(|name| name == "pyproject.toml")
        {
            let pyproject: Pyproject = toml::from_str(&text).map_err(|e| error(describe(e)))?;
            match pyproject.tool.and_then(|tool| tool.hassec) {
                Some(table) => Config::deserialize(table)
                    .map_err(|e| error(format!("[tool.hassec]: {}", e.message())))?,
                None => return Ok(None),
            }
        } else {
            toml::from_str(&text).map_err(|e| error(describe(e)))?
        };
        let dir = path.parent().unwrap_or(Path::new(""));
        if let Some(baseline) = &config.baseline {
            config.baseline = Some(dir.join(baseline));
        }
        config.extend_rules = config
            .extend_rules
            .iter()
            .map(|pack| dir.join(pack))
            .collect();
        // Selectors may name the rules of packs not loaded yet: they are checked
        // once the packs are (see `load_rule_packs`).
        if config.extend_rules.is_empty() {
            config.validate()
        } else {
            config.validate_except_selectors()
        }
        .map_err(error)?;
        Ok(Some(config))
    }

    /// The nearest `.hassec.toml` or `pyproject.toml` with a `[tool.hassec]` table,
    /// looking in `start` and its ancestors.
    pub fn discover(start: &Path) -> Result<Option<(PathBuf, Self)>, ConfigError> {
        let absolute = std::path::absolute(start).unwrap_or_else(|_| start.to_path_buf());
        let first = if absolute.is_dir() {
            Some(absolute.as_path())
        } else {
            absolute.parent()
        };
        for dir in first.into_iter().flat_map(Path::ancestors) {
            for name in [".hassec.toml", "pyproject.toml"] {
                let candidate = dir.join(name);
                if candidate.is_file()
                    && let Some(config) = Self::from_file(&candidate)?
                {
                    return Ok(Some((candidate, config)));
                }
            }
        }
        Ok(None)
    }

    /// Rule selectors must name rules (built-in, or of a loaded rule pack);
    /// globs must compile.
    pub fn validate(&self) -> Result<(), String> {
        let rules = rules::every();
        for (key, selectors) in [
            ("select", self.select.as_deref().unwrap_or_default()),
            ("ignore", &self.ignore),
        ] {
            for selector in selectors {
                if !rules.iter().any(|rule| rule.matches_selector(selector)) {
                    return Err(format!(
                        "`{key}` names `{selector}`, which matches no rule (see `hassec rules`)"
                    ));
                }
            }
        }
        self.validate_except_selectors()
    }

    /// Reads, validates and registers the rules of `extend-rules`, so that
    /// selectors, scans and reports know them. `confine` keeps the packs inside
    /// a directory (the action's workspace).
    pub fn load_rule_packs(
        &self,
        confine: rules::pack::Confine,
    ) -> Result<Vec<&'static rules::Rule>, Vec<rules::RuleError>> {
        if self.extend_rules.is_empty() {
            return Ok(Vec::new());
        }
        rules::pack::load(&self.extend_rules, confine)
    }

    fn validate_except_selectors(&self) -> Result<(), String> {
        for glob in &self.exclude {
            globset::Glob::new(glob)
                .map_err(|e| format!("`exclude` has a bad glob `{glob}`: {e}"))?;
        }
        if self.max_file_size == Some(0) {
            return Err("`max-file-size` must be positive".into());
        }
        Ok(())
    }

    /// Values of `other` replace or extend those of `self` (command-line flags over file).
    pub fn merged_with(mut self, other: Config) -> Config {
        if other.select.is_some() {
            self.select = other.select;
        }
        self.ignore.extend(other.ignore);
        self.exclude.extend(other.exclude);
        self.fail_on = other.fail_on.or(self.fail_on);
        self.secret_words.extend(other.secret_words);
        self.max_file_size = other.max_file_size.or(self.max_file_size);
        self.baseline = other.baseline.or(self.baseline);
        self.extend_rules.extend(other.extend_rules);
        self
    }

    /// The rules this configuration enables: the built-in ones in id order, then
    /// those of the loaded rule packs.
    pub fn enabled_rules(&self) -> Vec<&'static rules::Rule> {
        rules::every()
            .into_iter()
            .filter(|rule| match &self.select {
                Some(select) => select.iter().any(|s| rule.matches_selector(s)),
                None => true,
            })
            .filter(|rule| !self.ignore.iter().any(|s| rule.matches_selector(s)))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        path
    }

    #[test]
    fn reads_tool_hassec_from_pyproject() {
        let dir = tempfile::tempdir().unwrap();
        write(
            dir.path(),
            "pyproject.toml",
            "[project]\nname = 'x'\n[tool.hassec]\nignore = ['HAS105']\nfail-on = 'warning'\nsecret-words = ['otp']\n",
        );
        std::fs::create_dir(dir.path().join("sub")).unwrap();
        let (path, config) = Config::discover(&dir.path().join("sub")).unwrap().unwrap();
        assert!(path.ends_with("pyproject.toml"));
        assert_eq!(config.ignore, ["HAS105"]);
        assert_eq!(config.fail_on, Some(FailOn::Warning));
        assert_eq!(config.secret_words, ["otp"]);
    }

    #[test]
    fn a_pyproject_without_the_table_is_passed_over() {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "pyproject.toml", "[project]\nname = 'x'\n");
        assert!(
            Config::from_file(&dir.path().join("pyproject.toml"))
                .unwrap()
                .is_none()
        );
    }

    #[test]
    fn hassec_toml_wins_over_pyproject_in_the_same_directory() {
        let dir = tempfile::tempdir().unwrap();
        write(
            dir.path(),
            "pyproject.toml",
            "[tool.hassec]\nignore = ['HAS105']\n",
        );
        write(dir.path(), ".hassec.toml", "ignore = ['HAS703']\n");
        let (_, config) = Config::discover(dir.path()).unwrap().unwrap();
        assert_eq!(config.ignore, ["HAS703"]);
    }

    #[test]
    fn unknown_keys_and_bad_values_are_clear_errors() {
        let dir = tempfile::tempdir().unwrap();
        let unknown = write(dir.path(), ".hassec.toml", "\nselcet = ['HAS1']\n");
        let error = Config::from_file(&unknown).unwrap_err();
        assert!(
            error.message.contains("line 2") && error.message.contains("selcet"),
            "{error}"
        );

        let bad_level = write(dir.path(), ".hassec.toml", "fail-on = 'sometimes'\n");
        assert!(
            Config::from_file(&bad_level)
                .unwrap_err()
                .message
                .contains("sometimes")
        );

        let bad_rule = write(dir.path(), ".hassec.toml", "ignore = ['HAS999']\n");
        assert!(
            Config::from_file(&bad_rule)
                .unwrap_err()
                .message
                .contains("matches no rule")
        );

        let bad_glob = write(dir.path(), ".hassec.toml", "exclude = ['a/[']\n");
        assert!(
            Config::from_file(&bad_glob)
                .unwrap_err()
                .message
                .contains("bad glob")
        );

        let pyproject = write(dir.path(), "pyproject.toml", "[tool.hassec]\nfoo = 1\n");
        let error = Config::from_file(&pyproject).unwrap_err();
        assert!(
            error.message.contains("[tool.hassec]") && error.message.contains("foo"),
            "{error}"
        );
    }

    #[test]
    fn select_and_ignore_pick_rules_by_id_name_and_prefix() {
        let config = Config {
            select: Some(vec!["HAS7".into()]),
            ignore: vec!["unsafe-deserialization".into()],
            ..Config::default()
        };
        let ids: Vec<_> = config
            .enabled_rules()
            .iter()
            .map(|r| r.id.as_str())
            .collect();
        assert!(ids.iter().all(|id| id.starts_with("HAS7")));
        assert!(ids.contains(&"HAS702") && !ids.contains(&"HAS703"));
    }

    #[test]
    fn flags_override_the_file() {
        let file = Config {
            fail_on: Some(FailOn::Warning),
            ignore: vec!["HAS105".into()],
            ..Config::default()
        };
        let flags = Config {
            fail_on: Some(FailOn::Never),
            ignore: vec!["HAS703".into()],
            ..Config::default()
        };
        let merged = file.merged_with(flags);
        assert_eq!(merged.fail_on, Some(FailOn::Never));
        assert_eq!(merged.ignore, ["HAS105", "HAS703"]);
    }

    #[test]
    fn the_baseline_is_relative_to_the_configuration_file() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("sub")).unwrap();
        write(
            &dir.path().join("sub"),
            "pyproject.toml",
            "[tool.hassec]\nbaseline = 'hassec-baseline.json'\n",
        );
        let (_, config) = Config::discover(&dir.path().join("sub")).unwrap().unwrap();
        let expected = std::path::absolute(dir.path().join("sub/hassec-baseline.json")).unwrap();
        assert_eq!(config.baseline, Some(expected));
        let flags = Config {
            baseline: Some("other.json".into()),
            ..Config::default()
        };
        assert_eq!(
            config.merged_with(flags).baseline,
            Some(PathBuf::from("other.json")),
            "the flag wins"
        );
    }

    #[test]
    fn fail_levels() {
        assert!(FailOn::Error.fails(Level::Error) && !FailOn::Error.fails(Level::Warning));
        assert!(FailOn::Warning.fails(Level::Warning) && !FailOn::Warning.fails(Level::Note));
        assert!(FailOn::Note.fails(Level::Note));
        assert!(!FailOn::Never.fails(Level::Error));
    }
}
