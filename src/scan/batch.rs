//! Scanning many files at once, integration by integration: the Python files of
//! an integration are read and parsed once, both to learn its facts and to match
//! them, instead of once for the facts and again for the scan. The files of an
//! integration are parsed and matched in parallel too (a pull request often
//! touches one integration only); only the trees of the integrations being
//! worked on are alive, and each tree is dropped as soon as its file is
//! matched. An integration read while the query is being compiled (at the
//! start of a scan) is set aside until the end, its thread going on to read the
//! next. With a results cache, an integration whose files are unchanged takes
//! its facts from the cache and is not parsed at all.

use std::{
    path::{Path, PathBuf},
    sync::Arc,
};

use rayon::prelude::*;
use rustc_hash::FxHashMap;
use tree_sitter::Tree;

use super::{
    FileResult, Scanner,
    cache::{self, Cache},
    integration::{self, IntegrationFacts, IntegrationFile, IntegrationFiles},
    sources::{self, Sources},
};

/// What a batch scan produced.
pub(super) struct Batch {
    /// For each file, in the order given: its result, and the content key a fresh
    /// result is to be cached under.
    pub results: Vec<(FileResult, Option<String>)>,
    pub facts: Vec<Learnt>,
}

/// A piece of work for one thread.
enum Unit {
    /// A file scanned on its own (no facts needed, or no integration).
    Alone(usize),
    /// The files of one integration directory, by index.
    Integration(PathBuf, Group),
}

/// The files of one integration directory to scan, by index.
#[derive(Default)]
struct Group {
    python: Vec<usize>,
    /// Its `manifest.json`, checked with the bytes read for the facts.
    manifest: Option<usize>,
}

type Scanned = (usize, FileResult, Option<String>);
/// Facts learnt by parsing: (integration directory as shown, content digest, facts).
type Learnt = (String, String, Arc<IntegrationFacts>);
/// A unit's files' results, and the facts it learnt for the cache.
type Finished = (Vec<Scanned>, Option<Learnt>);

/// Where a unit of work stands.
enum Progress {
    Done(Finished),
    /// An integration read, its facts known, its files not matched yet.
    Waiting(Box<Prepared>),
}

/// An integration whose facts are known and whose files are to be matched.
struct Prepared {
    /// The files to scan, by index.
    members: Vec<usize>,
    /// Its files as read, with the trees parsed for the facts.
    read: IntegrationFiles,
    facts: Arc<IntegrationFacts>,
    learnt: Option<Learnt>,
    /// Its manifest's result, if scanned.
    manifest: Option<Scanned>,
}

impl Scanner {
    pub(super) fn scan_batch(&self, sources: &Sources, cache: Option<&Cache>) -> Batch {
        let files = &sources.files;
        let mut units = Vec::new();
        let mut groups: FxHashMap<PathBuf, Group> = FxHashMap::default();
        let mut manifests = Vec::new();
        // The files come sorted: those of a directory mostly come in a row.
        let mut last: Option<(&Path, Option<PathBuf>)> = None;
        for (index, path) in files.iter().enumerate() {
            if !self.needs_facts {
                units.push(Unit::Alone(index));
                continue;
            }
            if sources::is_manifest(path) {
                manifests.push(index);
                continue;
            }
            let dir = path.parent().unwrap_or(Path::new(""));
            let root = match &last {
                Some((last_dir, root)) if *last_dir == dir => root.clone(),
                _ => {
                    let root = integration::integration_root(path);
                    last = Some((dir, root.clone()));
                    root
                }
            };
            match root {
                Some(root) => groups.entry(root).or_default().python.push(index),
                None => units.push(Unit::Alone(index)),
            }
        }
        for index in manifests {
            match files[index].parent().and_then(|dir| groups.get_mut(dir)) {
                Some(group) => group.manifest = Some(index),
                None => units.push(Unit::Alone(index)),
            }
        }
        // Big integrations first, so that one does not finish the scan alone
        // (a group's first file orders groups of equal size).
        let mut groups: Vec<(PathBuf, Group)> = groups.into_iter().collect();
        groups.sort_unstable_by_key(|(_, group)| {
            (std::cmp::Reverse(group.python.len()), group.python[0])
        });
        let units: Vec<Unit> = groups
            .into_iter()
            .map(|(root, group)| Unit::Integration(root, group))
            .chain(units)
            .collect();

        let progress: Vec<Progress> = units
            .into_par_iter()
            .map(|unit| match unit {
                Unit::Alone(index) => {
                    let (result, content) = self.scan_file_isolated(&files[index], None, cache);
                    Progress::Done((vec![(index, result, content)], None))
                }
                Unit::Integration(root, group) => {
                    match self.prepare_integration(&root, group, sources, cache) {
                        Progress::Waiting(prepared) if !self.engine.is_compiling() => {
                            Progress::Done(self.match_integration(*prepared, sources, cache))
                        }
                        progress => progress,
                    }
                }
            })
            .collect();
        // Integrations read while the query was being compiled: their threads went
        // on reading others instead of waiting (a pull request's first integrations).
        // Not when nothing compiles it: a rescan's cached results need no query.
        let done: Vec<Finished> = progress
            .into_par_iter()
            .map(|progress| match progress {
                Progress::Waiting(prepared) => self.match_integration(*prepared, sources, cache),
                Progress::Done(finished) => finished,
            })
            .collect();
        let mut learnt = Vec::new();
        let mut scanned: Vec<Scanned> = Vec::with_capacity(files.len());
        for (results, facts) in done {
            scanned.extend(results);
            learnt.extend(facts);
        }
        scanned.sort_by_key(|(index, _, _)| *index);
        Batch {
            results: scanned
                .into_iter()
                .map(|(_, result, content)| (result, content))
                .collect(),
            facts: learnt,
        }
    }

    /// Reads the integration at `root`, learns its facts (from the cache, or by
    /// parsing its files) and checks its manifest if `group` has it: its Python
    /// files wait to be matched ([`Self::match_integration`]). When the facts
    /// cannot be gathered, its files are scanned each on its own at once.
    fn prepare_integration(
        &self,
        root: &Path,
        group: Group,
        sources: &Sources,
        cache: Option<&Cache>,
    ) -> Progress {
        let files = &sources.files;
        let python = sources
            .python_files_under(root, &self.excludes, integration::MAX_DEPTH)
            .unwrap_or_else(|| integration::python_files(root, &self.excludes));
        let mut read = IntegrationFiles::read(root, python, self.max_file_size);
        let manifest = group.manifest.map(|index| {
            let path = &files[index];
            let (result, _) = match &read.manifest {
                Some(Ok(manifest)) => self.isolated(path, || {
                    let text = String::from_utf8_lossy(read.manifest_bytes());
                    let shown = sources::display(path);
                    (self.check_manifest(&shown, manifest, &text), None)
                }),
                // Not read, or not valid: worded as for any file.
                _ => self.scan_file_isolated(path, None, None),
            };
            (index, result, None)
        });
        let shown_root = sources::display(root);
        let digest = cache.map(|_| read.digest());
        let cached = cache
            .zip(digest.as_deref())
            .and_then(|(cache, digest)| cache.facts(&shown_root, digest));
        let (facts, learnt) = match cached {
            Some(facts) => (Arc::new(facts), None),
            None => {
                read.parse();
                // A bug in gathering facts must not cost the integration's findings:
                // its files are then scanned each on its own (and isolated).
                let gathered = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    read.facts(&self.vocabulary)
                }));
                let Ok(facts) = gathered else {
                    let alone = group.python.iter().map(|&index| {
                        let (result, content) = self.scan_file_isolated(&files[index], None, cache);
                        (index, result, content)
                    });
                    return Progress::Done((alone.chain(manifest).collect(), None));
                };
                let facts = Arc::new(facts);
                let learnt = digest.map(|digest| (shown_root, digest, Arc::clone(&facts)));
                (facts, learnt)
            }
        };
        Progress::Waiting(Box::new(Prepared {
            members: group.python,
            read,
            facts,
            learnt,
            manifest,
        }))
    }

    /// Matches the Python files of a prepared integration, in parallel, with
    /// the trees parsed for its facts (or from the cache).
    fn match_integration(
        &self,
        prepared: Prepared,
        sources: &Sources,
        cache: Option<&Cache>,
    ) -> Finished {
        let Prepared {
            members,
            mut read,
            facts,
            learnt,
            manifest,
        } = prepared;
        let files = &sources.files;
        let facts_digest = cache.map(|_| facts.digest());
        // Each member with its file among those read, and that file's tree.
        let work: Vec<(usize, Option<usize>, Option<Tree>)> = members
            .iter()
            .map(|&index| {
                let at = read.position(&files[index]);
                let tree = at.and_then(|at| read.python[at].tree.take());
                (index, at, tree)
            })
            .collect();
        let out = work
            .into_par_iter()
            .map(|(index, at, tree)| {
                let path = &files[index];
                let (result, content) = match at {
                    Some(at) => {
                        let file = &read.python[at];
                        self.isolated(path, || {
                            self.scan_read(
                                &sources::display(path),
                                file,
                                tree,
                                &facts,
                                cache.zip(facts_digest.as_deref()),
                            )
                        })
                    }
                    // Deeper than the facts look, or past their file limit.
                    None => self.scan_file_isolated(path, Some(Arc::clone(&facts)), cache),
                };
                (index, result, content)
            })
            .collect::<Vec<_>>();
        (out.into_iter().chain(manifest).collect(), learnt)
    }

    /// Scans a file already read (and maybe parsed), or takes its result from the cache.
    fn scan_read(
        &self,
        shown: &str,
        file: &IntegrationFile,
        tree: Option<Tree>,
        facts: &Arc<IntegrationFacts>,
        cache: Option<(&Cache, &str)>,
    ) -> (FileResult, Option<String>) {
        let content = cache.map(|(_, facts_digest)| cache::content_key(&file.digest, facts_digest));
        if let Some(((cache, _), content)) = cache.zip(content.as_deref())
            && let Some(hit) = cache.get(shown, content)
        {
            return (hit, None);
        }
        let text = file.text.as_str();
        let lines = super::prepared_for_parse(text);
        let parsed = lines.as_deref().unwrap_or(text);
        let tree = match tree {
            Some(tree) => Ok(super::Parsed {
                tree,
                left_out: file.left_out.clone(),
            }),
            None => super::parse(parsed),
        };
        (
            self.scan_parsed(shown, text, parsed, tree, Some(Arc::clone(facts))),
            content,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{config::Config, scan::integration::tests::write};

    const COORDINATOR: &str = "\
from homeassistant.exceptions import ConfigEntryAuthFailed

async def refresh(client):
    if not await client.login():
        raise ConfigEntryAuthFailed
";

    const FLOW: &str = "\
from homeassistant.config_entries import ConfigFlow

class Flow(ConfigFlow, domain=\"demo\"):
    async def async_step_user(self, user_input=None):
        return self.async_show_form(step_id=\"user\")
";

    fn rules_fired(scanner: &Scanner, root: &Path) -> Vec<(String, usize)> {
        let report = scanner.scan_paths(&[root.to_path_buf()], false);
        assert!(report.errors.is_empty(), "{:?}", report.errors);
        report
            .findings
            .iter()
            .map(|f| (f.rule.id.clone(), f.start.line))
            .collect()
    }

    #[test]
    fn cached_facts_follow_the_sibling_files() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("demo");
        write(&root, "manifest.json", "{\"domain\": \"demo\"}");
        write(&root, "__init__.py", "");
        write(&root, "coordinator.py", COORDINATOR);
        write(&root, "config_flow.py", FLOW);
        let config = Config {
            select: Some(vec!["HAS602".into()]),
            ..Config::default()
        };
        let cache_dir = dir.path().join("cache");
        let scanner = Scanner::new(&config).unwrap().with_cache(cache_dir.clone());
        let fresh = Scanner::new(&config).unwrap();
        let lacking = vec![("HAS602".to_string(), 5)];
        assert_eq!(rules_fired(&fresh, &root), lacking);
        assert_eq!(rules_fired(&scanner, &root), lacking);
        let saved = std::fs::read_dir(&cache_dir)
            .unwrap()
            .filter_map(Result::ok)
            .find(|e| e.file_name().to_string_lossy().starts_with("results-"))
            .map(|e| std::fs::read_to_string(e.path()).unwrap())
            .unwrap();
        assert!(saved.contains("\"facts\":{") && saved.contains("\"has_reauth\":false"));
        // From the cache, facts included.
        assert_eq!(rules_fired(&scanner, &root), lacking);

        // The flow gains a reauth step: the unchanged coordinator's result changes.
        write(
            &root,
            "config_flow.py",
            &format!("{FLOW}\n    async def async_step_reauth(self, data):\n        pass\n"),
        );
        assert!(rules_fired(&scanner, &root).is_empty());
        assert!(rules_fired(&fresh, &root).is_empty());
    }

    #[test]
    fn integrations_read_while_the_query_is_compiled_are_matched_after() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/integrations");
        let scanner = Scanner::new(&Config::default()).unwrap();
        scanner.engine.pretend_compiling();
        let sources = sources::collect(&[root], &scanner.excludes, false);
        let findings = |batch: Batch| -> Vec<Vec<(String, usize)>> {
            let results = batch.results.into_iter().map(|(result, _)| {
                assert!(result.error.is_none(), "{:?}", result.error);
                let found = result.findings.iter();
                found.map(|f| (f.rule.id.clone(), f.start.line)).collect()
            });
            results.collect()
        };
        // Every integration waits for the query, then is matched.
        assert!(scanner.engine.is_compiling());
        let waited = findings(scanner.scan_batch(&sources, None));
        assert!(!scanner.engine.is_compiling());
        let at_once = findings(scanner.scan_batch(&sources, None));
        assert_eq!(waited, at_once);
        assert!(waited.iter().filter(|found| !found.is_empty()).count() >= 3);
    }

    #[test]
    fn a_manifest_is_checked_with_its_integration_as_on_its_own() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("demo");
        let unpinned = "{\n  \"domain\": \"demo\",\n  \"requirements\": [\"demolib>=1\"]\n}\n";
        write(&root, "manifest.json", unpinned);
        write(&root, "__init__.py", "");
        write(&dir.path().join("broken"), "manifest.json", "{\"domain\": ");
        write(&dir.path().join("broken"), "sensor.py", "");
        let scanner = Scanner::new(&Config::default()).unwrap();
        assert!(scanner.needs_facts, "the integration path is taken");
        let report = scanner.scan_paths(&[dir.path().to_path_buf()], false);
        let found: Vec<(&str, usize)> = report
            .findings
            .iter()
            .map(|f| (f.rule.id.as_str(), f.start.line))
            .collect();
        assert_eq!(found, [("HAS706", 3)]);
        let alone = scanner.scan_file(&root.join("manifest.json"));
        assert_eq!(report.findings, alone.findings);

        let broken = dir.path().join("broken/manifest.json");
        assert_eq!(report.errors.len(), 1);
        assert_eq!(
            Some(&report.errors[0]),
            scanner.scan_file(&broken).error.as_ref()
        );
        assert!(report.errors[0].message.contains("invalid manifest.json"));
    }
}
