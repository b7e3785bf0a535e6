//! From paths to findings: sources, parse, match, refine, suppress.

mod engine;
mod position;
pub mod sources;
mod suppress;

use std::{cell::RefCell, path::PathBuf};

use globset::GlobSet;
use rayon::prelude::*;
use tree_sitter::{Language, Parser};

pub use engine::Engine;
pub use sources::Skipped;

use crate::{
    checks::FileContext,
    config::{Config, DEFAULT_MAX_FILE_SIZE, FailOn},
    finding::{Finding, Suppressed},
    rules::{Rule, vocabulary::Vocabulary},
};

/// tree-sitter's Python grammar.
pub fn language() -> Language {
    tree_sitter_python::LANGUAGE.into()
}

/// A file that could not be scanned (unreadable, too large to parse...).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileError {
    pub path: String,
    pub message: String,
}

/// Everything one scan produced.
#[derive(Debug, Default)]
pub struct ScanReport {
    /// Sorted by path, position and rule.
    pub findings: Vec<Finding>,
    pub suppressed: Vec<Suppressed>,
    pub errors: Vec<FileError>,
    pub skipped: Vec<Skipped>,
    pub files_scanned: usize,
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
    pub error: Option<FileError>,
}

/// A configured scanner: the enabled rules compiled once, reused for every file.
pub struct Scanner {
    rules: Vec<&'static Rule>,
    engine: Engine,
    vocabulary: Vocabulary,
    excludes: GlobSet,
    max_file_size: u64,
}

impl Scanner {
    pub fn new(config: &Config) -> Result<Self, String> {
        config.validate()?;
        let rules = config.enabled_rules();
        Ok(Self {
            engine: Engine::new(&rules),
            rules,
            vocabulary: Vocabulary::with_extra_words(&config.secret_words),
            excludes: sources::exclude_set(&config.exclude).map_err(|e| e.to_string())?,
            max_file_size: config.max_file_size.unwrap_or(DEFAULT_MAX_FILE_SIZE),
        })
    }

    /// The rules this scanner runs, in id order.
    pub fn rules(&self) -> &[&'static Rule] {
        &self.rules
    }

    /// Scans files and directories (walked recursively). `force_exclude` applies the
    /// excludes to files named explicitly too (the action does, for changed files).
    pub fn scan_paths(&self, roots: &[PathBuf], force_exclude: bool) -> ScanReport {
        let sources = sources::collect(roots, &self.excludes, force_exclude);
        let results: Vec<FileResult> = sources
            .files
            .par_iter()
            .map(|path| self.scan_file(path))
            .collect();
        let mut report = ScanReport {
            skipped: sources.skipped,
            ..ScanReport::default()
        };
        for result in results {
            match result.error {
                Some(error) => report.errors.push(error),
                None => report.files_scanned += 1,
            }
            report.findings.extend(result.findings);
            report.suppressed.extend(result.suppressed);
        }
        report
            .findings
            .sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
        report
    }

    /// Reads and scans one file; an unreadable or oversized file is an error, not a panic.
    pub fn scan_file(&self, path: &std::path::Path) -> FileResult {
        let shown = sources::display(path);
        let error = |message: String| FileResult {
            error: Some(FileError {
                path: shown.clone(),
                message,
            }),
            ..FileResult::default()
        };
        match std::fs::metadata(path) {
            Ok(metadata) if metadata.len() > self.max_file_size => {
                return error(format!(
                    "skipped: {} bytes is over max-file-size ({} bytes)",
                    metadata.len(),
                    self.max_file_size
                ));
            }
            Err(e) => return error(format!("cannot read: {e}")),
            Ok(_) => {}
        }
        match std::fs::read(path) {
            Ok(bytes) => self.scan_source(&shown, &bytes),
            Err(e) => error(format!("cannot read: {e}")),
        }
    }

    /// Scans Python source given as bytes (invalid UTF-8 is replaced, as editors show it).
    pub fn scan_source(&self, path: &str, bytes: &[u8]) -> FileResult {
        let text = String::from_utf8_lossy(bytes);
        let Some(tree) = parse(&text) else {
            return FileResult {
                error: Some(FileError {
                    path: path.to_string(),
                    message: "tree-sitter could not parse the file".into(),
                }),
                ..FileResult::default()
            };
        };
        let ctx = FileContext::new(text.as_bytes(), &tree, &self.vocabulary);
        let found = self.engine.run(&ctx, &text, &tree, path);
        FileResult {
            findings: found.findings,
            suppressed: found.suppressed,
            error: None,
        }
    }
}

thread_local! {
    static PARSER: RefCell<Parser> = RefCell::new({
        let mut parser = Parser::new();
        parser.set_language(&language()).expect("tree-sitter-python matches the tree-sitter version");
        parser
    });
}

fn parse(text: &str) -> Option<tree_sitter::Tree> {
    PARSER.with_borrow_mut(|parser| parser.parse(text, None))
}
