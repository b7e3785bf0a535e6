//! The action's inputs, as the runner passes them: `INPUT_<NAME>` with the name
//! upper-cased and its hyphens kept (`INPUT_FILTER-MODE`). Underscores are accepted
//! too, for people who run the image by hand with `docker run -e`.

use std::{path::PathBuf, str::FromStr};

use crate::config::FailOn;

use super::env::Env;

/// Which files a run scans.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// The changed files on a pull request, every file under `paths` otherwise.
    Auto,
    Changed,
    All,
}

/// Which findings become annotations, go in the summary and count for the exit
/// status: reviewdog's filter modes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FilterMode {
    /// Findings on added or modified lines.
    Added,
    /// Findings within the diff's hunks, context lines included.
    DiffContext,
    /// Findings anywhere in a changed file.
    File,
    /// Every finding.
    NoFilter,
}

/// Whether to upload the SARIF file to code scanning.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Upload {
    /// Upload; when code scanning refuses (no Advanced Security, read-only token),
    /// warn and go on with annotations and the exit status.
    Auto,
    /// Upload, and fail the run when the upload fails.
    Always,
    Never,
}

macro_rules! parse_enum {
    ($ty:ty, $what:literal, { $($text:literal => $value:expr),+ $(,)? }) => {
        impl FromStr for $ty {
            type Err = String;
            fn from_str(s: &str) -> Result<Self, String> {
                match s {
                    $($text => Ok($value),)+
                    other => Err(format!(
                        concat!("`{}` is not a valid `", $what, "`: use {}"),
                        other,
                        [$($text),+].join(", ")
                    )),
                }
            }
        }
    };
}

parse_enum!(Scope, "scope", { "auto" => Scope::Auto, "changed" => Scope::Changed, "all" => Scope::All });
parse_enum!(FilterMode, "filter-mode", {
    "added" => FilterMode::Added,
    "diff_context" => FilterMode::DiffContext,
    "file" => FilterMode::File,
    "nofilter" => FilterMode::NoFilter,
});
parse_enum!(Upload, "upload", { "auto" => Upload::Auto, "always" => Upload::Always, "never" => Upload::Never });

impl FilterMode {
    pub fn as_str(self) -> &'static str {
        match self {
            FilterMode::Added => "added",
            FilterMode::DiffContext => "diff_context",
            FilterMode::File => "file",
            FilterMode::NoFilter => "nofilter",
        }
    }
}

/// Everything the workflow can set in `with:`.
#[derive(Debug, Clone, PartialEq)]
pub struct Inputs {
    pub token: Option<String>,
    pub paths: Vec<PathBuf>,
    pub scope: Scope,
    pub filter_mode: FilterMode,
    pub fail_on: FailOn,
    pub upload: Upload,
    pub category: String,
    pub sarif_file: PathBuf,
    pub config: Option<PathBuf>,
    /// An adoption baseline for full scans, relative to the workspace.
    pub baseline: Option<PathBuf>,
}

/// An input's value: `INPUT_FILTER-MODE`, else `INPUT_FILTER_MODE`; blank counts as unset.
pub fn input(env: &Env, name: &str) -> Option<String> {
    let upper = name.to_ascii_uppercase();
    [
        format!("INPUT_{upper}"),
        format!("INPUT_{}", upper.replace('-', "_")),
    ]
    .iter()
    .find_map(|key| env.get(key))
    .map(|value| value.trim().to_string())
    .filter(|value| !value.is_empty())
}

fn parsed<T: FromStr<Err = String>>(env: &Env, name: &str, default: T) -> Result<T, String> {
    match input(env, name) {
        Some(value) => value.parse(),
        None => Ok(default),
    }
}

impl Inputs {
    pub fn from_env(env: &Env) -> Result<Self, String> {
        let paths: Vec<PathBuf> = input(env, "paths")
            .unwrap_or_else(|| ".".into())
            // One path per line (a YAML block) or separated by spaces or commas.
            .split(|c: char| c.is_whitespace() || c == ',')
            .filter(|p| !p.is_empty())
            .map(PathBuf::from)
            .collect();
        Ok(Self {
            token: input(env, "token"),
            paths,
            scope: parsed(env, "scope", Scope::Auto)?,
            filter_mode: parsed(env, "filter-mode", FilterMode::Added)?,
            fail_on: parsed(env, "fail-on", FailOn::Error)?,
            upload: parsed(env, "upload", Upload::Auto)?,
            category: input(env, "category").unwrap_or_else(|| "hassec".into()),
            sarif_file: input(env, "sarif-file")
                .unwrap_or_else(|| "hassec.sarif".into())
                .into(),
            config: input(env, "config").map(PathBuf::from),
            baseline: input(env, "baseline").map(PathBuf::from),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_when_nothing_is_set() {
        let inputs = Inputs::from_env(&Env::from_pairs([("INPUT_TOKEN", "t")])).unwrap();
        assert_eq!(inputs.token.as_deref(), Some("t"));
        assert_eq!(inputs.paths, [PathBuf::from(".")]);
        assert_eq!(inputs.scope, Scope::Auto);
        assert_eq!(inputs.filter_mode, FilterMode::Added);
        assert_eq!(inputs.fail_on, FailOn::Error);
        assert_eq!(inputs.upload, Upload::Auto);
        assert_eq!(inputs.category, "hassec");
        assert_eq!(inputs.sarif_file, PathBuf::from("hassec.sarif"));
        assert_eq!(inputs.config, None);
        assert_eq!(inputs.baseline, None);
    }

    #[test]
    fn hyphenated_names_as_the_runner_sets_them_and_underscores_too() {
        let env = Env::from_pairs([
            ("INPUT_FILTER-MODE", "diff_context"),
            ("INPUT_FAIL_ON", "warning"),
            ("INPUT_SARIF-FILE", "out/x.sarif"),
            (
                "INPUT_PATHS",
                "custom_components/a\ncustom_components/b, lib",
            ),
            ("INPUT_UPLOAD", " never "),
            ("INPUT_CONFIG", ""),
            ("INPUT_BASELINE", "ci/hassec-baseline.json"),
        ]);
        let inputs = Inputs::from_env(&env).unwrap();
        assert_eq!(inputs.filter_mode, FilterMode::DiffContext);
        assert_eq!(inputs.fail_on, FailOn::Warning);
        assert_eq!(inputs.sarif_file, PathBuf::from("out/x.sarif"));
        assert_eq!(
            inputs.paths,
            ["custom_components/a", "custom_components/b", "lib"].map(PathBuf::from)
        );
        assert_eq!(inputs.upload, Upload::Never);
        assert_eq!(inputs.config, None, "a blank input is unset");
        assert_eq!(
            inputs.baseline,
            Some(PathBuf::from("ci/hassec-baseline.json"))
        );
        assert_eq!(inputs.token, None);
    }

    #[test]
    fn bad_values_say_what_is_allowed() {
        let error = Inputs::from_env(&Env::from_pairs([("INPUT_FILTER-MODE", "diff-context")]))
            .unwrap_err();
        assert!(
            error.contains("filter-mode") && error.contains("diff_context"),
            "{error}"
        );
        let error = Inputs::from_env(&Env::from_pairs([("INPUT_SCOPE", "some")])).unwrap_err();
        assert!(error.contains("auto, changed, all"), "{error}");
    }
}
