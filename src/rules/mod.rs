//! Rule files: loading, validating and looking them up.
//!
//! Every rule is one TOML file under `rules/`, embedded at build time. A rule
//! holds its metadata, its help and a tree-sitter query over Python; what a query
//! cannot say is left to named checks (see [`crate::checks`]) that the query calls
//! as predicates, such as `(#secret-sourced? @arg)`.

pub mod pack;
pub mod testing;
pub mod vocabulary;

use std::{collections::HashSet, fmt, str::FromStr, sync::LazyLock};

use serde::{Deserialize, Serialize};
use tree_sitter::Query;

use crate::checks;

static QUERY_KEY: LazyLock<regex::Regex> =
    LazyLock::new(|| regex::Regex::new(r"(?m)^query\s*=\s*('''\n)?").unwrap());

include!(concat!(env!("OUT_DIR"), "/rule_files.rs"));

/// How serious a finding is. Ordered: `Note < Warning < Error`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    Note,
    Warning,
    Error,
}

impl Level {
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Note => "note",
            Level::Warning => "warning",
            Level::Error => "error",
        }
    }
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Level {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "note" => Ok(Level::Note),
            "warning" => Ok(Level::Warning),
            "error" => Ok(Level::Error),
            other => Err(format!(
                "unknown level `{other}` (expected error, warning or note)"
            )),
        }
    }
}

/// How often a finding of this rule is a real problem (SARIF `precision`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Precision {
    VeryHigh,
    High,
    Medium,
    Low,
}

impl Precision {
    pub fn as_str(self) -> &'static str {
        match self {
            Precision::VeryHigh => "very-high",
            Precision::High => "high",
            Precision::Medium => "medium",
            Precision::Low => "low",
        }
    }
}

/// What a rule reads: Python source, or an integration's `manifest.json`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Target {
    #[default]
    Python,
    Manifest,
}

/// One rule, as written in its file under `rules/`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Rule {
    /// `HASnnn`: stable, users suppress and configure by it.
    pub id: String,
    /// kebab-case name, also accepted wherever an id is.
    pub name: String,
    pub level: Level,
    /// 0.1 to 10, as GitHub reads it from SARIF.
    pub security_severity: String,
    pub cwe: u32,
    #[serde(default = "default_precision")]
    pub precision: Precision,
    /// One line: what the rule finds.
    pub summary: String,
    /// The item of the integration security checklist this rule enforces.
    pub checklist: String,
    /// The finding's message; `{capture}` is replaced by that capture's text.
    pub message: String,
    /// Markdown: why it matters, a bad and a good example.
    pub help: String,
    #[serde(default)]
    pub target: Target,
    /// Named checks (query predicates implemented in Rust) the query uses.
    #[serde(default)]
    pub checks: Vec<String>,
    /// tree-sitter query over tree-sitter-python; `@finding` marks what is reported.
    #[serde(default)]
    pub query: String,
    /// File name under `rules/` (filled in on load).
    #[serde(skip)]
    pub file: String,
    /// 1-based line of the file where the query text starts (filled in on load).
    #[serde(skip)]
    pub query_line: usize,
    /// Where a rule of a rule pack was read from; `None` for a built-in rule.
    #[serde(skip)]
    pub pack: Option<PackFile>,
}

/// The file a rule pack's rule came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PackFile {
    /// The path as the user wrote it (the pack directory joined with the file name).
    pub path: String,
    /// Digest of the file's bytes: the results cache keys on it.
    pub digest: String,
}

fn default_precision() -> Precision {
    Precision::High
}

impl Rule {
    /// Where the rule comes from: `built-in`, or its rule pack's file.
    pub fn source(&self) -> &str {
        self.pack
            .as_ref()
            .map_or("built-in", |pack| pack.path.as_str())
    }

    /// The rule's file as error messages name it.
    pub fn shown_path(&self) -> String {
        match &self.pack {
            Some(pack) => pack.path.clone(),
            None => format!("rules/{}", self.file),
        }
    }

    pub fn cwe_tag(&self) -> String {
        format!("external/cwe/cwe-{}", self.cwe)
    }

    /// Does a selector (`HAS501`, `secret-logged`, a prefix such as `HAS5`, or `ALL`) name this rule?
    pub fn matches_selector(&self, selector: &str) -> bool {
        selector.eq_ignore_ascii_case("ALL")
            || selector == self.name
            || (selector.len() >= 3 && self.id.starts_with(&selector.to_ascii_uppercase()))
    }
}

/// An error in a rule file, naming the file (as shown to the user: `rules/...`
/// for a built-in rule, the pack's path otherwise) and line (0: the file or
/// directory as a whole).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleError {
    pub file: String,
    pub line: usize,
    pub message: String,
}

impl fmt::Display for RuleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            0 => write!(f, "{}: {}", self.file, self.message),
            line => write!(f, "{}:{line}: {}", self.file, self.message),
        }
    }
}

impl std::error::Error for RuleError {}

/// Every built-in rule, read once. Their queries are not compiled here: the test
/// suite validates the embedded files (`load(RULE_FILES)`), and compiling each
/// query once more on every start cost as much as the engine's own compilation.
/// A failure here is a bug in the build, not in the user's input.
pub fn all() -> &'static [Rule] {
    static RULES: LazyLock<Vec<Rule>> = LazyLock::new(|| {
        let (rules, errors) = read(RULE_FILES);
        if !errors.is_empty() {
            let listed: Vec<String> = errors.iter().map(ToString::to_string).collect();
            panic!("invalid built-in rules:\n{}", listed.join("\n"))
        }
        rules
    });
    &RULES
}

/// Finds a rule by id or name, built-in or from a loaded rule pack.
pub fn find(id_or_name: &str) -> Option<&'static Rule> {
    let named =
        |rule: &&'static Rule| rule.id.eq_ignore_ascii_case(id_or_name) || rule.name == id_or_name;
    all()
        .iter()
        .find(named)
        .or_else(|| pack::loaded().into_iter().find(named))
}

/// The built-in rules, then those of the rule packs loaded (see [`pack::load`]).
pub fn every() -> Vec<&'static Rule> {
    all().iter().chain(pack::loaded()).collect()
}

/// Parses and validates rule files, queries included, returning every error
/// found, not just the first.
pub fn load(files: &[(&str, &str)]) -> Result<Vec<Rule>, Vec<RuleError>> {
    let (rules, mut errors) = read(files);
    errors.extend(rules.iter().filter_map(|rule| rule.validate_query().err()));
    if errors.is_empty() {
        Ok(rules)
    } else {
        Err(errors)
    }
}

/// Parses rule files and checks their metadata, not their queries: the rules
/// that passed, and the errors.
fn read(files: &[(&str, &str)]) -> (Vec<Rule>, Vec<RuleError>) {
    let mut rules = Vec::new();
    let mut errors = Vec::new();
    for &(file, text) in files {
        if file == "secrets.toml" || file == "flow.toml" {
            continue;
        }
        match parse_rule(file, text, None) {
            Ok(rule) => rules.push(rule),
            Err(error) => errors.push(error),
        }
    }
    let mut ids = HashSet::new();
    let mut names = HashSet::new();
    for rule in &rules {
        if !ids.insert(rule.id.clone()) {
            errors.push(rule.error(1, format!("duplicate rule id `{}`", rule.id)));
        }
        if !names.insert(rule.name.clone()) {
            errors.push(rule.error(1, format!("duplicate rule name `{}`", rule.name)));
        }
    }
    rules.sort_by(|a, b| a.id.cmp(&b.id));
    (rules, errors)
}

/// Parses one rule file named `file`; `pack` is set for a rule pack's file.
fn parse_rule(file: &str, text: &str, pack: Option<PackFile>) -> Result<Rule, RuleError> {
    let shown = pack
        .as_ref()
        .map_or_else(|| format!("rules/{file}"), |pack| pack.path.clone());
    let mut rule: Rule = toml::from_str(text).map_err(|e| RuleError {
        file: shown,
        line: e.span().map_or(1, |span| line_of(text, span.start)),
        message: e.message().trim().to_string(),
    })?;
    rule.file = file.to_string();
    rule.pack = pack;
    // TOML drops the newline that follows an opening `'''`.
    rule.query_line = QUERY_KEY.find(text).map_or(1, |m| {
        line_of(text, m.start()) + usize::from(m.as_str().ends_with('\n'))
    });
    rule.validate_metadata(file, text)?;
    Ok(rule)
}

/// 1-based line of the top-level `key = ...` of a rule file (1 if absent).
fn key_line(text: &str, key: &str) -> usize {
    text.lines()
        .position(|line| {
            line.strip_prefix(key)
                .is_some_and(|rest| rest.trim_start().starts_with('='))
        })
        .map_or(1, |index| index + 1)
}

/// Is `id` of the form of a rule pack's ids: capital letters, then digits
/// (`ACME001`)?
fn is_pack_id(id: &str) -> bool {
    let digits = id.trim_start_matches(|c: char| c.is_ascii_uppercase());
    let letters = id.len() - digits.len();
    (2..=12).contains(&letters)
        && (3..=6).contains(&digits.len())
        && digits.chars().all(|c| c.is_ascii_digit())
}

impl Rule {
    fn error(&self, line: usize, message: String) -> RuleError {
        RuleError {
            file: self.shown_path(),
            line,
            message,
        }
    }

    fn validate_metadata(&self, file: &str, text: &str) -> Result<(), RuleError> {
        let id_line = key_line(text, "id");
        if self.pack.is_some() {
            if self.id.starts_with("HAS") {
                return Err(self.error(
                    id_line,
                    format!(
                        "id `{}`: ids starting with HAS are hassec's own; give your rules a prefix of your own, such as ACME001",
                        self.id
                    ),
                ));
            }
            if !is_pack_id(&self.id) {
                return Err(self.error(
                    id_line,
                    format!(
                        "id `{}` is not of the form ACME001 (2 to 12 capital letters, then 3 to 6 digits)",
                        self.id
                    ),
                ));
            }
        } else {
            let id_ok = self.id.len() == 6
                && self.id.starts_with("HAS")
                && self.id[3..].chars().all(|c| c.is_ascii_digit());
            if !id_ok {
                return Err(self.error(
                    id_line,
                    format!("id `{}` is not of the form HASnnn", self.id),
                ));
            }
        }
        if !file.starts_with(&self.id) {
            return Err(self.error(
                id_line,
                format!("file name should start with the rule id `{}`", self.id),
            ));
        }
        let name_ok = !self.name.is_empty()
            && self
                .name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
        if !name_ok {
            return Err(self.error(
                key_line(text, "name"),
                format!("name `{}` is not kebab-case", self.name),
            ));
        }
        let severity_ok = self
            .security_severity
            .parse::<f64>()
            .is_ok_and(|s| (0.1..=10.0).contains(&s));
        if !severity_ok {
            return Err(self.error(
                key_line(text, "security-severity"),
                format!(
                    "security-severity `{}` must be a number from 0.1 to 10, as a string (\"7.5\")",
                    self.security_severity
                ),
            ));
        }
        for (field, value) in [
            ("summary", &self.summary),
            ("checklist", &self.checklist),
            ("message", &self.message),
            ("help", &self.help),
        ] {
            if value.trim().is_empty() {
                return Err(self.error(key_line(text, field), format!("`{field}` is empty")));
            }
        }
        Ok(())
    }

    /// The query compiles, reports a `@finding`, and calls only known checks, all listed in `checks`.
    fn validate_query(&self) -> Result<(), RuleError> {
        if self.target == Target::Manifest {
            return match self
                .checks
                .iter()
                .find(|name| checks::manifest::find(name).is_none())
            {
                Some(unknown) => Err(self.error(1, format!("unknown check `{unknown}`"))),
                None if self.checks.is_empty() => {
                    Err(self.error(1, "a manifest rule needs a check".into()))
                }
                None => Ok(()),
            };
        }
        let query = Query::new(&crate::scan::language(), &self.query).map_err(|e| {
            self.error(
                self.query_line + e.row,
                format!("query does not compile: {}", describe_query_error(&e)),
            )
        })?;
        if query.capture_index_for_name("finding").is_none() {
            return Err(self.error(self.query_line, "query has no `@finding` capture".into()));
        }
        let mut used = HashSet::new();
        for pattern in 0..query.pattern_count() {
            let line =
                self.query_line + line_of(&self.query, query.start_byte_for_pattern(pattern)) - 1;
            for property in query.property_settings(pattern) {
                let value = property.value.as_deref();
                let ok = match &*property.key {
                    "level" => value.is_some_and(|v| v.parse::<Level>().is_ok()),
                    "message" => value.is_some_and(|v| !v.trim().is_empty()),
                    _ => false,
                };
                if !ok {
                    return Err(self.error(
                        line,
                        "only `(#set! level \"error|warning|note\")` and `(#set! message \"...\")` \
                         may be set"
                            .into(),
                    ));
                }
            }
            for predicate in query.general_predicates(pattern) {
                let name = checks::predicate_check_name(&predicate.operator);
                // The predicate's own line, when its spelling can be found.
                let start = query.start_byte_for_pattern(pattern);
                let line = self.query[start.min(self.query.len())..]
                    .find(&format!("#{}", predicate.operator))
                    .map_or(line, |at| {
                        self.query_line + line_of(&self.query, start + at) - 1
                    });
                let Some(check) = checks::find(name) else {
                    return Err(self.error(
                        line,
                        format!(
                            "unknown check `{}` (`hassec checks` lists the named checks)",
                            predicate.operator
                        ),
                    ));
                };
                check
                    .validate_args(&predicate.args)
                    .map_err(|message| self.error(line, message))?;
                if !self.checks.iter().any(|listed| listed == name) {
                    return Err(self.error(
                        line,
                        format!("check `{name}` is used but not listed in `checks`"),
                    ));
                }
                used.insert(name);
            }
        }
        if let Some(unused) = self
            .checks
            .iter()
            .find(|name| !used.contains(name.as_str()))
        {
            return Err(self.error(
                1,
                format!("check `{unused}` is listed in `checks` but the query does not use it"),
            ));
        }
        if self.pack.is_some() {
            // The engine compiles a rewritten query (same matches, compiled
            // faster); a rule pack's query must survive that too, never panic there.
            let rewritten = crate::scan::query_rewrite::cheaper_to_compile(
                &self.query,
                crate::scan::query_rewrite::FieldOwners::python(),
            );
            Query::new(&crate::scan::language(), &rewritten).map_err(|e| {
                self.error(
                    self.query_line + e.row,
                    format!(
                        "query compiles, but not once optimised ({}); please report this to hassec",
                        describe_query_error(&e)
                    ),
                )
            })?;
        }
        Ok(())
    }
}

/// What tree-sitter found wrong with a query, in words (its message alone is
/// sometimes just the offending name).
fn describe_query_error(error: &tree_sitter::QueryError) -> String {
    use tree_sitter::QueryErrorKind as Kind;
    let message = error.message.trim().trim_matches('"');
    let column = error.column + 1;
    match error.kind {
        // The message is the line, then a caret under the column.
        Kind::Syntax => match message.lines().next().map(str::trim) {
            Some(line) if !line.is_empty() => {
                format!("syntax error at column {column}, in `{line}`")
            }
            _ => format!("syntax error at column {column}"),
        },
        Kind::NodeType => format!("unknown node type `{message}` (column {column})"),
        Kind::Field => format!("unknown field `{message}` (column {column})"),
        Kind::Capture => format!("unknown capture `@{message}` (column {column})"),
        Kind::Predicate => format!("bad predicate at column {column}: {message}"),
        Kind::Structure => {
            format!("impossible pattern at column {column}: no Python code has this shape")
        }
        Kind::Language => format!("language error: {message}"),
    }
}

/// 1-based line number of a byte offset.
fn line_of(text: &str, offset: usize) -> usize {
    text.as_bytes()[..offset.min(text.len())]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

#[cfg(test)]
mod tests {
    use super::*;

    const VALID: &str = r#"
id = "HAS999"
name = "example-rule"
level = "warning"
security-severity = "5.0"
cwe = 20
summary = "An example"
checklist = "An item"
message = "`{fn}` is called"
help = "Help."
query = '''
(call function: (identifier) @fn (#eq? @fn "eval")) @finding
'''
"#;

    fn load_one(text: &str) -> Result<Vec<Rule>, Vec<RuleError>> {
        load(&[("HAS999.toml", text)])
    }

    #[test]
    fn every_built_in_rule_loads() {
        let rules = load(RULE_FILES).unwrap_or_else(|errors| {
            panic!(
                "{}",
                errors
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join("\n")
            )
        });
        assert!(!rules.is_empty());
        assert_eq!(rules.len(), all().len());
    }

    #[test]
    fn a_valid_rule_loads() {
        let rules = load_one(VALID).unwrap();
        assert_eq!(rules[0].id, "HAS999");
        assert_eq!(rules[0].query_line, 12);
    }

    #[test]
    fn a_query_that_does_not_compile_names_its_line() {
        let text = VALID.replace("(identifier) @fn", "(identifier @fn");
        let errors = load_one(&text).unwrap_err();
        assert_eq!(errors[0].file, "rules/HAS999.toml");
        assert_eq!(errors[0].line, 12, "{}", errors[0]);
        assert!(
            errors[0].message.contains("does not compile"),
            "{}",
            errors[0]
        );
    }

    #[test]
    fn a_missing_field_is_an_error() {
        let text = VALID.replace("cwe = 20\n", "");
        let errors = load_one(&text).unwrap_err();
        assert!(errors[0].message.contains("cwe"), "{}", errors[0]);
    }

    #[test]
    fn an_unknown_field_is_an_error() {
        let text = VALID.replace("cwe = 20\n", "cwe = 20\nseverity = 3\n");
        let errors = load_one(&text).unwrap_err();
        assert!(errors[0].message.contains("severity"), "{}", errors[0]);
        assert_eq!(errors[0].line, 7);
    }

    #[test]
    fn an_unknown_check_is_an_error() {
        let text = VALID.replace(r#"(#eq? @fn "eval")"#, "(#no-such-check? @fn)");
        let errors = load_one(&text).unwrap_err();
        assert!(
            errors[0].message.contains("unknown check `no-such-check?`"),
            "{}",
            errors[0]
        );
        assert_eq!(errors[0].line, 12);
    }

    #[test]
    fn a_check_must_be_listed() {
        let text = VALID.replace(
            r#"(#eq? @fn "eval")"#,
            r#"(#qualname? @fn "builtins.eval")"#,
        );
        let errors = load_one(&text).unwrap_err();
        assert!(errors[0].message.contains("not listed"), "{}", errors[0]);
        let listed = text.replace("cwe = 20\n", "cwe = 20\nchecks = [\"qualname\"]\n");
        assert!(load_one(&listed).is_ok());
    }

    #[test]
    fn duplicate_ids_and_names_are_errors() {
        let errors = load(&[("HAS999.toml", VALID), ("HAS999-copy.toml", VALID)]).unwrap_err();
        let messages: Vec<_> = errors.iter().map(|e| e.message.as_str()).collect();
        assert!(messages.iter().any(|m| m.contains("duplicate rule id")));
        assert!(messages.iter().any(|m| m.contains("duplicate rule name")));
    }

    #[test]
    fn manifest_rules_name_manifest_checks() {
        let query_start = VALID.find("query = ").unwrap();
        let manifest = VALID[..query_start].replace(
            "cwe = 20\n",
            "cwe = 20\ntarget = \"manifest\"\nchecks = [\"unpinned-requirement\"]\n",
        );
        assert!(load_one(&manifest).is_ok(), "{:?}", load_one(&manifest));
        let unknown = manifest.replace("unpinned-requirement", "secret-name");
        let errors = load_one(&unknown).unwrap_err();
        assert!(errors[0].message.contains("unknown check"), "{}", errors[0]);
        let none = manifest.replace("checks = [\"unpinned-requirement\"]\n", "");
        assert!(
            load_one(&none).unwrap_err()[0]
                .message
                .contains("needs a check")
        );
    }

    #[test]
    fn a_query_without_finding_is_an_error() {
        let text = VALID.replace("@finding", "@call");
        let errors = load_one(&text).unwrap_err();
        assert!(errors[0].message.contains("@finding"));
    }

    #[test]
    fn selectors_match_ids_names_and_prefixes() {
        let rule = &load_one(VALID).unwrap()[0];
        for selector in ["HAS999", "has999", "example-rule", "HAS9", "ALL"] {
            assert!(rule.matches_selector(selector), "{selector}");
        }
        for selector in ["HAS1", "example", "H"] {
            assert!(!rule.matches_selector(selector), "{selector}");
        }
    }
}
