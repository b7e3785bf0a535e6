//! From paths to findings: sources, parse, match, refine, suppress.

mod baseline;
mod batch;
pub mod cache;
pub mod call_index;
mod engine;
pub mod integration;
mod position;
pub(crate) mod query_rewrite;
pub mod sources;
mod suppress;
mod tracked;

use std::{
    cell::RefCell,
    path::{Path, PathBuf},
    sync::Arc,
};

use globset::GlobSet;
use tree_sitter::Parser;

pub use baseline::ParseStats;
pub use engine::Engine;
use integration::IntegrationFacts;
pub use sources::Skipped;
pub use suppress::UnusedSuppression;

use crate::{
    checks::FileContext,
    config::{Config, DEFAULT_MAX_FILE_SIZE, FailOn},
    finding::{Finding, Suppressed},
    rules::{Rule, vocabulary::Vocabulary},
};

pub use crate::model::language;

/// A file that could not be scanned (unreadable, too large to parse...).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileError {
    pub path: String,
    pub message: String,
}

/// Everything one scan produced.
#[derive(Debug, Default)]
pub struct ScanReport {
    /// Why the results cache could not be written, if it could not (results are
    /// complete either way).
    pub cache_error: Option<String>,
    /// Sorted by path, position and rule.
    pub findings: Vec<Finding>,
    pub suppressed: Vec<Suppressed>,
    pub errors: Vec<FileError>,
    pub skipped: Vec<Skipped>,
    pub files_scanned: usize,
    /// The files scanned, as shown (not those that could not be scanned).
    pub files: Vec<String>,
    /// What an adoption baseline left out, when one was applied.
    pub baseline: Option<crate::filter::baseline::Outcome>,
    /// Suppression comments that suppressed nothing (only when asked for).
    pub unused_suppressions: Vec<UnusedSuppression>,
}

impl ScanReport {
    /// Does any finding fail the run at this fail level?
    pub fn fails(&self, fail_on: FailOn) -> bool {
        self.findings.iter().any(|f| fail_on.fails(f.level()))
    }
}

/// What scanning one file produced.
#[derive(Debug, Default)]
pub struct FileResult {
    pub findings: Vec<Finding>,
    pub suppressed: Vec<Suppressed>,
    pub unused_suppressions: Vec<UnusedSuppression>,
    pub error: Option<FileError>,
    /// What of a scanned file was read otherwise or left out (NUL bytes, a
    /// statement nested too deep): the rest was scanned, and the user is told.
    pub partial: Option<String>,
}

impl FileResult {
    /// The result of a file that could not be scanned.
    fn failed(path: String, message: String) -> Self {
        Self {
            error: Some(FileError { path, message }),
            ..Self::default()
        }
    }
}

/// Told how a scan advances, for a progress display: called from the threads
/// that scan, in any order.
pub trait ProgressReporter: Send + Sync {
    /// The files to scan are known: `files` of them.
    fn found(&self, files: usize);
    /// One more file is scanned (or could not be).
    fn scanned(&self);
}

/// A configured scanner: the enabled rules compiled once, reused for every file.
pub struct Scanner {
    rules: Vec<&'static Rule>,
    engine: Engine,
    /// Rules over `manifest.json` (`target = "manifest"`).
    manifest_rules: Vec<&'static Rule>,
    /// Does an enabled rule ask about the integration a file belongs to?
    needs_facts: bool,
    vocabulary: Vocabulary,
    excludes: GlobSet,
    max_file_size: u64,
    /// Where results are cached between runs (`None`: no cache).
    cache_dir: Option<PathBuf>,
    /// Digest of everything besides a file's content that decides its findings.
    settings: String,
    /// Told of each file scanned by [`Self::scan_paths`].
    progress: Option<Arc<dyn ProgressReporter>>,
}

impl Scanner {
    pub fn new(config: &Config) -> Result<Self, String> {
        config.validate()?;
        let rules = config.enabled_rules();
        let manifest_rules = rules
            .iter()
            .copied()
            .filter(|rule| rule.target == crate::rules::Target::Manifest)
            .collect();
        let needs_facts = rules.iter().any(|rule| {
            rule.checks
                .iter()
                .any(|check| integration::USES_FACTS.contains(&check.as_str()))
        });
        let rule_ids: Vec<&str> = rules.iter().map(|rule| rule.id.as_str()).collect();
        let max_file_size = config.max_file_size.unwrap_or(DEFAULT_MAX_FILE_SIZE);
        let settings = cache::digest(
            [
                env!("CARGO_PKG_VERSION").as_bytes(),
                env!("HASSEC_SOURCE_HASH").as_bytes(),
                rule_ids.join(",").as_bytes(),
            ]
            .into_iter()
            .chain(
                crate::rules::RULE_FILES
                    .iter()
                    .map(|(_, text)| text.as_bytes()),
            )
            // A rule pack's rule counts by its file's content, as built-in
            // rules count by theirs: an edited pack never reads stale results.
            .chain(
                rules
                    .iter()
                    .filter_map(|rule| rule.pack.as_ref())
                    .flat_map(|pack| [pack.path.as_bytes(), pack.digest.as_bytes()]),
            )
            .chain(config.secret_words.iter().map(String::as_bytes))
            .chain([max_file_size.to_string().as_bytes()]),
        );
        Ok(Self {
            engine: Engine::new(&rules),
            manifest_rules,
            needs_facts,
            rules,
            vocabulary: Vocabulary::with_extra_words(&config.secret_words),
            excludes: sources::exclude_set(&config.exclude).map_err(|e| e.to_string())?,
            max_file_size,
            cache_dir: None,
            settings,
            progress: None,
        })
    }

    /// Caches results in `dir` (see [`cache`]): an unchanged file is not parsed again.
    pub fn with_cache(mut self, dir: PathBuf) -> Self {
        self.cache_dir = Some(dir);
        self
    }

    /// Tells `progress` how [`Self::scan_paths`] advances.
    pub fn with_progress(mut self, progress: Arc<dyn ProgressReporter>) -> Self {
        self.progress = Some(progress);
        self
    }

    /// Also reports the suppression comments that suppressed nothing. The cache
    /// does not keep them, so this scans every file afresh.
    pub fn reporting_unused_suppressions(mut self) -> Self {
        self.engine.report_unused = true;
        self.cache_dir = None;
        self
    }

    /// Starts compiling the rules in the background, for a scan to come: the
    /// action does while it reads the pull request's diff.
    pub fn prepare(&self) {
        self.engine.compile_in_background();
    }

    /// The rules this scanner runs, in id order.
    pub fn rules(&self) -> &[&'static Rule] {
        &self.rules
    }

    /// Scans files and directories (walked recursively). `force_exclude` applies the
    /// excludes to files named explicitly too (the action does, for changed files).
    pub fn scan_paths(&self, roots: &[PathBuf], force_exclude: bool) -> ScanReport {
        // The cache is read while the files are found.
        let (mut sources, mut cache) = rayon::join(
            || sources::collect(roots, &self.excludes, force_exclude),
            || {
                self.cache_dir
                    .as_deref()
                    .map(|dir| cache::Cache::open(dir, &self.settings))
            },
        );
        if self.manifest_rules.is_empty() {
            sources.files.retain(|path| !sources::is_manifest(path));
        }
        if let Some(progress) = &self.progress {
            progress.found(sources.files.len());
        }
        // Compiling the rules overlaps with reading and parsing, unless the cache
        // may answer for every file (a rescan of nothing changed never compiles).
        if cache.as_ref().is_none_or(cache::Cache::is_empty) {
            self.prepare();
        }
        let batch = self.scan_batch(&sources, cache.as_ref());
        let results = batch.results;
        let mut report = ScanReport {
            skipped: sources.skipped,
            ..ScanReport::default()
        };
        if let Some(cache) = &mut cache {
            for (root, content, facts) in batch.facts {
                cache.put_facts(&root, content, &facts);
            }
            // The results are in the order of `sources.files`.
            for (path, (result, content)) in sources.files.iter().zip(&results) {
                if let Some(content) = content {
                    cache.put(&sources::display(path), content.clone(), result);
                }
            }
            report.cache_error = cache
                .save()
                .err()
                .map(|e| format!("cannot write the results cache: {e}"));
        }
        for (path, (result, _)) in sources.files.iter().zip(results) {
            if let Some(reason) = result.partial {
                report.skipped.push(Skipped {
                    path: sources::display(path),
                    reason: format!("partly scanned: {reason}"),
                });
            }
            match result.error {
                Some(error) => report.errors.push(error),
                None => {
                    report.files_scanned += 1;
                    report.files.push(sources::display(path));
                }
            }
            report.findings.extend(result.findings);
            report.suppressed.extend(result.suppressed);
            report
                .unused_suppressions
                .extend(result.unused_suppressions);
        }
        report
            .findings
            .sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
        report
    }

    /// Reads and scans one file (Python or `manifest.json`), gathering the facts of
    /// its integration when a rule needs them. An unreadable or oversized file is
    /// an error, not a panic.
    pub fn scan_file(&self, path: &Path) -> FileResult {
        let facts = if self.needs_facts && !sources::is_manifest(path) {
            integration::integration_root(path).map(|root| {
                Arc::new(integration::gather_facts(
                    &root,
                    &self.excludes,
                    self.max_file_size,
                    &self.vocabulary,
                ))
            })
        } else {
            None
        };
        self.scan_file_with(path, facts)
    }

    fn scan_file_with(&self, path: &Path, facts: Option<Arc<IntegrationFacts>>) -> FileResult {
        self.scan_file_cached(path, facts, None).0
    }

    /// [`Self::scan_file_cached`], with a panic (a bug) turned into an error for
    /// this file alone: one odd input must not cost the findings of the others.
    fn scan_file_isolated(
        &self,
        path: &Path,
        facts: Option<Arc<IntegrationFacts>>,
        cache: Option<&cache::Cache>,
    ) -> (FileResult, Option<String>) {
        self.isolated(path, || self.scan_file_cached(path, facts, cache))
    }

    /// [`isolated`], the file then counted as scanned for the progress display:
    /// every file of a batch scan ends here once.
    fn isolated(
        &self,
        path: &Path,
        scan: impl FnOnce() -> (FileResult, Option<String>),
    ) -> (FileResult, Option<String>) {
        let result = isolated(path, scan);
        if let Some(progress) = &self.progress {
            progress.scanned();
        }
        result
    }

    /// Scans one file, or takes its result from `cache` when its content and facts
    /// are unchanged. Also returns the content key a fresh result is to be cached under.
    fn scan_file_cached(
        &self,
        path: &Path,
        facts: Option<Arc<IntegrationFacts>>,
        cache: Option<&cache::Cache>,
    ) -> (FileResult, Option<String>) {
        let shown = sources::display(path);
        let error = |message: String| FileResult::failed(shown.clone(), message);
        let bytes = match sources::read_regular(path, self.max_file_size) {
            Ok(bytes) => bytes,
            Err(sources::ReadError::TooLarge(size)) => {
                let limit = self.max_file_size;
                return (
                    error(format!(
                        "skipped: {size} bytes is over max-file-size ({limit} bytes)"
                    )),
                    None,
                );
            }
            Err(e @ sources::ReadError::NotRegular) => {
                return (error(format!("skipped: {e}")), None);
            }
            Err(e) => return (error(e.to_string()), None),
        };
        if sources::is_manifest(path) {
            return (
                self.scan_manifest(&shown, &String::from_utf8_lossy(&bytes)),
                None,
            );
        }
        let Some(cache) = cache else {
            return (self.scan_source_with(&shown, &bytes, facts), None);
        };
        let facts_digest = facts.as_ref().map_or_else(String::new, |f| f.digest());
        let content = cache::content_key(&cache::digest([bytes.as_slice()]), &facts_digest);
        match cache.get(&shown, &content) {
            Some(hit) => (hit, None),
            None => (self.scan_source_with(&shown, &bytes, facts), Some(content)),
        }
    }

    /// Runs the manifest rules over a `manifest.json`; invalid JSON is a file error.
    pub fn scan_manifest(&self, path: &str, text: &str) -> FileResult {
        match integration::Manifest::parse(text) {
            Ok(manifest) => self.check_manifest(path, &manifest, text),
            Err(message) => FileResult::failed(path.to_string(), message),
        }
    }

    /// Runs the manifest rules over a parsed `manifest.json`.
    fn check_manifest(
        &self,
        path: &str,
        manifest: &integration::Manifest,
        text: &str,
    ) -> FileResult {
        FileResult {
            findings: manifest_findings(&self.manifest_rules, manifest, path, text),
            ..FileResult::default()
        }
    }

    /// Scans Python source given as bytes (invalid UTF-8 is replaced, as editors show
    /// it). Rules that ask about the file's integration see the file alone.
    pub fn scan_source(&self, path: &str, bytes: &[u8]) -> FileResult {
        self.scan_source_with(path, bytes, None)
    }

    /// Scans Python source knowing the facts of its integration.
    pub fn scan_source_with(
        &self,
        path: &str,
        bytes: &[u8],
        facts: Option<Arc<IntegrationFacts>>,
    ) -> FileResult {
        let text = String::from_utf8_lossy(bytes);
        // Parsed and checked with lone CRs as newlines; fingerprinted as written
        // (the fingerprint counts a lone CR as a line break itself).
        let lines = prepared_for_parse(&text);
        let parsed: &str = lines.as_deref().unwrap_or(&text);
        self.scan_parsed(path, &text, parsed, parse(parsed), facts)
    }

    /// Matches a parsed file: `text` as written (for positions and fingerprints),
    /// `parsed` the same bytes prepared for tree-sitter (what `tree` was parsed
    /// from), `tree` an error when the file could not be parsed.
    fn scan_parsed(
        &self,
        path: &str,
        text: &str,
        parsed: &str,
        tree: Result<Parsed, String>,
        facts: Option<Arc<IntegrationFacts>>,
    ) -> FileResult {
        let Parsed { tree, left_out } = match tree {
            Ok(parsed) => parsed,
            Err(message) => return FileResult::failed(path.to_string(), message),
        };
        let nul = text.bytes().filter(|b| *b == 0).count();
        let read_as_space = (nul > 0).then(|| {
            let line = text[..text.find('\0').unwrap_or(0)].matches('\n').count() + 1;
            format!(
                "{nul} NUL byte{} (the first on line {line}) read as space{}",
                if nul == 1 { "" } else { "s" },
                if nul == 1 { "" } else { "s" }
            )
        });
        let partial = match (read_as_space, left_out) {
            (Some(a), Some(b)) => Some(format!("{a}; {b}")),
            (a, b) => a.or(b),
        };
        let module = Path::new(path).file_stem().and_then(|stem| stem.to_str());
        let ctx = FileContext::new(parsed.as_bytes(), &tree, &self.vocabulary)
            .with_integration(facts)
            .with_module(module);
        let found = self.engine.run(&ctx, text, path);
        FileResult {
            findings: found.findings,
            suppressed: found.suppressed,
            unused_suppressions: found.unused,
            error: None,
            partial,
        }
    }
}

/// Runs `scan` for the file at `path`, a panic becoming an error for that file.
fn isolated(
    path: &Path,
    scan: impl FnOnce() -> (FileResult, Option<String>),
) -> (FileResult, Option<String>) {
    // Nothing the closure borrows is used after a panic but the path.
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(scan)).unwrap_or_else(|panic| {
        let message = internal_error(panic.as_ref());
        (FileResult::failed(sources::display(path), message), None)
    })
}

/// The message for a file whose scan panicked: a bug in hassec, to be reported.
fn internal_error(panic: &(dyn std::any::Any + Send)) -> String {
    let what = panic
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| panic.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("unknown panic");
    format!(
        "internal error, file not scanned: {what} (this is a bug in hassec; please report \
         it, with the file, at {}/issues)",
        env!("CARGO_PKG_REPOSITORY")
    )
}

/// One finding per requirement a manifest rule's checks report, on the
/// requirement's line (on the `requirements` key's line when it cannot be found).
fn manifest_findings(
    rules: &[&'static Rule],
    manifest: &integration::Manifest,
    path: &str,
    text: &str,
) -> Vec<Finding> {
    let hashes = crate::report::fingerprint::line_hashes(text);
    // Lines as Python and editors count them (a lone CR breaks a line).
    let lines = prepared_for_parse(text);
    let lines = lines.as_deref().unwrap_or(text);
    let split: Vec<&str> = lines.split('\n').collect();
    let fallback = text.find("\"requirements\"").unwrap_or(0);
    let mut findings = Vec::new();
    for rule in rules {
        for name in &rule.checks {
            let Some(check) = crate::checks::manifest::find(name) else {
                continue;
            };
            for requirement in (check.eval)(manifest) {
                let start_byte = requirement.offset.unwrap_or(fallback);
                let end_byte = requirement.offset.map_or(start_byte, |at| {
                    at + serde_json::to_string(&requirement.text).map_or(0, |q| q.len())
                });
                let start = position::position_of(lines, start_byte);
                let end = position::position_of(lines, end_byte);
                findings.push(Finding {
                    rule,
                    level: rule.level,
                    path: path.to_string(),
                    start,
                    end,
                    message: rule.message.replace("{requirement}", &requirement.text),
                    fingerprint: hashes.get(start.line - 1).cloned().unwrap_or_default(),
                    code_fingerprint: crate::report::fingerprint::code_fingerprint(
                        &split, start, end,
                    ),
                });
            }
        }
    }
    findings.sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
    findings
}

thread_local! {
    static PARSER: RefCell<Parser> = RefCell::new({
        let mut parser = Parser::new();
        parser.set_language(&language()).expect("tree-sitter-python matches the tree-sitter version");
        parser
    });
}

/// How deep a syntax tree may nest before the file is refused. CPython refuses
/// more than 200 nested parentheses and 100 indentation levels, a few tree levels
/// each; checks that recurse per level stay well within a 2 MiB thread stack.
pub const MAX_TREE_DEPTH: usize = 1_000;

/// A parsed file, and what of it was left out.
pub(crate) struct Parsed {
    pub tree: tree_sitter::Tree,
    /// Lines of top-level statements nested deeper than [`MAX_TREE_DEPTH`], left
    /// out of the tree, said in words; `None` when nothing was.
    pub left_out: Option<String>,
}

/// How many over-deep statements one file may have left out before it is
/// refused whole (each costs a parse).
const MAX_LEFT_OUT: usize = 16;

/// Parses Python source. A top-level statement nested deeper than
/// [`MAX_TREE_DEPTH`] (no real Python is: scanning it would cost time and stack
/// per level) is blanked, newlines kept so that every other byte offset and
/// line stays, and the file parsed again: the rest is scanned.
pub(crate) fn parse(text: &str) -> Result<Parsed, String> {
    let parse_once = |text: &str| {
        PARSER
            .with_borrow_mut(|parser| parser.parse(text, None))
            .ok_or_else(|| "tree-sitter could not parse the file".to_string())
    };
    let mut tree = parse_once(text)?;
    let mut blanked: Option<Vec<u8>> = None;
    let mut lines = Vec::new();
    while let Some(statement) = too_deep_statement(&tree, MAX_TREE_DEPTH) {
        if lines.len() == MAX_LEFT_OUT {
            return Err(format!(
                "not scanned: more than {MAX_LEFT_OUT} statements nest more than \
                 {MAX_TREE_DEPTH} levels deep, deeper than Python accepts"
            ));
        }
        lines.push((
            statement.start_position().row + 1,
            statement.end_position().row + 1,
        ));
        let bytes = blanked.get_or_insert_with(|| text.as_bytes().to_vec());
        for byte in &mut bytes[statement.byte_range()] {
            if !matches!(*byte, b'\n' | b'\r') {
                *byte = b' ';
            }
        }
        // Spaces for whole UTF-8 sequences keep the text valid.
        let current = std::str::from_utf8(bytes).map_err(|e| e.to_string())?;
        tree = parse_once(current)?;
    }
    let left_out = (!lines.is_empty()).then(|| {
        let spans: Vec<String> = lines
            .iter()
            .map(|(from, to)| {
                if from == to {
                    format!("line {from}")
                } else {
                    format!("lines {from}-{to}")
                }
            })
            .collect();
        format!(
            "{} nest{} more than {MAX_TREE_DEPTH} levels deep, deeper than Python accepts, \
             and {} not scanned",
            spans.join(", "),
            if lines.len() == 1 { "s" } else { "" },
            if lines.len() == 1 { "was" } else { "were" }
        )
    });
    Ok(Parsed { tree, left_out })
}

/// The top-level statement holding a node more than `limit` levels below the
/// root, if any. One cursor walk, without recursion, stopping at the first.
/// A subtree is no deeper than its count of nodes (which tree-sitter keeps in
/// each node), so a subtree that could not reach the limit is not entered:
/// most statements are passed over whole.
fn too_deep_statement(tree: &tree_sitter::Tree, limit: usize) -> Option<tree_sitter::Node<'_>> {
    let mut cursor = tree.walk();
    let mut depth = 0;
    let mut statement = None;
    loop {
        let could_reach = depth + cursor.node().descendant_count() > limit + 1;
        if could_reach && cursor.goto_first_child() {
            depth += 1;
            if depth == 1 {
                statement = Some(cursor.node());
            }
            if depth > limit {
                return statement;
            }
            continue;
        }
        loop {
            if cursor.goto_next_sibling() {
                if depth == 1 {
                    statement = Some(cursor.node());
                }
                break;
            }
            if !cursor.goto_parent() {
                return None;
            }
            depth -= 1;
        }
    }
}

/// `text` as tree-sitter should read it, with the same byte offsets: each lone
/// carriage return (a line break for Python and editors, not for tree-sitter,
/// which counts rows by `\n`) made a `\n`, and each NUL byte (where tree-sitter
/// stops reading) a space. `None` when there is neither.
pub(crate) fn prepared_for_parse(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let lone = |at: usize| bytes[at] == b'\r' && bytes.get(at + 1) != Some(&b'\n');
    // Nearly every file has neither: look only where a CR or a NUL is.
    if !memchr::memchr2_iter(b'\r', 0, bytes).any(|at| lone(at) || bytes[at] == 0) {
        return None;
    }
    let mut normalized = bytes.to_vec();
    for (at, byte) in normalized.iter_mut().enumerate() {
        if lone(at) {
            *byte = b'\n';
        } else if *byte == 0 {
            *byte = b' ';
        }
    }
    // Replacing an ASCII byte by another keeps the text valid UTF-8.
    String::from_utf8(normalized).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The depth of the deepest node below `node`, counting as the walk does.
    fn naive_depth(node: tree_sitter::Node) -> usize {
        let mut cursor = node.walk();
        node.children(&mut cursor)
            .map(|child| 1 + naive_depth(child))
            .max()
            .unwrap_or(0)
    }

    /// The walk passes over subtrees with too few nodes to reach the limit:
    /// it finds a too-deep statement exactly when one is there, at every
    /// limit around the real depth.
    #[test]
    fn the_depth_check_finds_what_a_full_walk_finds() {
        for source in [
            "x = 1\n",
            "x = ((((((1))))))\ny = 2\n",
            "def f():\n    if a:\n        return [[[[b]]]]\n",
            "a = -(-(-(-(-1))))\nb = not not not c\n",
            "z = 0\nx = \"a\" + \"b\" + \"c\" + \"d\" + \"e\"\n",
        ] {
            let tree = parse(source).unwrap().tree;
            let root = tree.root_node();
            let deepest = naive_depth(root);
            for limit in 1..deepest + 3 {
                let found = too_deep_statement(&tree, limit);
                assert_eq!(found.is_some(), deepest > limit, "{source:?} at {limit}");
                // The first statement holding a node deeper than the limit.
                let mut cursor = root.walk();
                let expected = root
                    .children(&mut cursor)
                    .find(|statement| 1 + naive_depth(*statement) > limit);
                assert_eq!(found, expected, "{source:?} at {limit}");
            }
        }
    }

    #[test]
    fn a_panic_is_an_error_of_its_file_only() {
        let (result, cached) = isolated(Path::new("odd.py"), || panic!("index out of bounds"));
        let error = result.error.unwrap();
        assert_eq!(error.path, "odd.py");
        assert!(
            error.message.contains("index out of bounds")
                && error.message.contains("a bug in hassec"),
            "{}",
            error.message
        );
        assert_eq!(cached, None, "never cached");
    }

    #[test]
    fn lone_carriage_returns_become_newlines_and_crlf_stays() {
        assert_eq!(
            prepared_for_parse("a\rb\r\nc\r").as_deref(),
            Some("a\nb\r\nc\n")
        );
        assert_eq!(prepared_for_parse("a\r\nb\n"), None);
    }

    #[test]
    fn a_statement_deeper_than_python_accepts_is_left_out_and_said() {
        let nested = |n: usize| format!("x = {}1{}\n", "(".repeat(n), ")".repeat(n));
        let shallow = parse(&nested(100)).unwrap();
        assert!(shallow.left_out.is_none());
        let source = format!("a = 1\n{}b = 2\n", nested(5_000));
        let parsed = parse(&source).unwrap();
        let said = parsed.left_out.unwrap();
        assert!(said.starts_with("line 2 nests more than"), "{said}");
        // The statements around it are still in the tree, at their own lines.
        let root = parsed.tree.root_node();
        assert_eq!(root.named_child(0).unwrap().start_position().row, 0);
        let last = root
            .named_child(root.named_child_count() as u32 - 1)
            .unwrap();
        assert_eq!(last.start_position().row, 2);
        assert!(!root.has_error());
    }

    #[test]
    fn nul_bytes_are_read_as_spaces_and_the_file_is_said_unusual() {
        let scanner = Scanner::new(&Config::default()).unwrap();
        let source = b"import pickle\nx = 1\0\ny = pickle.loads(b)\n";
        let result = scanner.scan_source("a.py", source);
        assert_eq!(result.error, None);
        assert_eq!(
            result.findings.len(),
            1,
            "the code after the NUL byte is scanned"
        );
        assert_eq!(result.findings[0].start.line, 3);
        assert_eq!(
            result.partial.as_deref(),
            Some("1 NUL byte (the first on line 2) read as space")
        );
    }

    /// Counts what a scan tells it.
    #[derive(Default)]
    struct Counter {
        found: std::sync::atomic::AtomicUsize,
        scanned: std::sync::atomic::AtomicUsize,
    }

    impl ProgressReporter for Counter {
        fn found(&self, files: usize) {
            self.found
                .fetch_add(files, std::sync::atomic::Ordering::Relaxed);
        }
        fn scanned(&self) {
            self.scanned
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }
    }

    #[test]
    fn progress_hears_of_every_file_once() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
        let counter = Arc::new(Counter::default());
        let scanner = Scanner::new(&Config::default())
            .unwrap()
            .with_progress(counter.clone());
        let report = scanner.scan_paths(&[root], false);
        let found = counter.found.load(std::sync::atomic::Ordering::Relaxed);
        assert!(found > 20, "{found}");
        assert_eq!(found, report.files_scanned + report.errors.len());
        assert_eq!(
            counter.scanned.load(std::sync::atomic::Ordering::Relaxed),
            found
        );
    }

    #[test]
    fn lone_cr_files_report_the_lines_python_sees() {
        let scanner = Scanner::new(&Config::default()).unwrap();
        let result = scanner.scan_source("a.py", b"import pickle\r\rx = pickle.loads(b)\r");
        let lines: Vec<usize> = result.findings.iter().map(|f| f.start.line).collect();
        assert_eq!(lines, [3]);
        assert_eq!(result.findings[0].start.column, 5);
    }
}
