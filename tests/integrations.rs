//! Cross-file rules on small fixture integrations under `tests/fixtures/integrations/`:
//! each `# expect: HASnnn` line of a Python file (and each `<line> HASnnn` line of
//! an `expect.txt` beside a `manifest.json`) must have that finding, and nothing
//! else may fire. Every integration is scanned whole, and each of its files alone
//! (as the pull-request mode scans only changed files): facts about the siblings
//! must be the same either way.

use std::{
    collections::BTreeMap,
    path::{Path, PathBuf},
};

use hassec::{config::Config, scan::Scanner};

const INTEGRATIONS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/integrations");
const RULES: &[&str] = &[
    "HAS101", "HAS102", "HAS104", "HAS202", "HAS301", "HAS303", "HAS304", "HAS501", "HAS502",
    "HAS402", "HAS601", "HAS602", "HAS706", "HAS707",
];

/// (file name, line, rule) → count.
type Expectations = BTreeMap<(String, usize, String), usize>;

fn expectations(dir: &Path) -> Expectations {
    let mut expected = Expectations::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            continue; // its files expect nothing: a subdirectory holds tools
        }
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        let text = std::fs::read_to_string(&path).unwrap();
        if name.ends_with(".py") {
            for (index, line) in text.lines().enumerate() {
                if let Some(at) = line.find("# expect:") {
                    for id in line[at + 9..]
                        .split([',', ' '])
                        .filter(|w| w.starts_with("HAS"))
                    {
                        *expected
                            .entry((name.clone(), index + 1, id.to_string()))
                            .or_default() += 1;
                    }
                }
            }
        } else if name == "expect.txt" {
            for line in text.lines() {
                let (number, id) = line.split_once(' ').unwrap();
                *expected
                    .entry((
                        "manifest.json".into(),
                        number.parse().unwrap(),
                        id.to_string(),
                    ))
                    .or_default() += 1;
            }
        }
    }
    expected
}

fn scan(paths: &[PathBuf]) -> Expectations {
    let config = Config {
        select: Some(RULES.iter().map(ToString::to_string).collect()),
        ..Config::default()
    };
    let report = Scanner::new(&config).unwrap().scan_paths(paths, false);
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    let mut found = Expectations::new();
    for finding in &report.findings {
        let name = Path::new(&finding.path)
            .file_name()
            .unwrap()
            .to_string_lossy()
            .to_string();
        *found
            .entry((name, finding.start.line, finding.rule.id.clone()))
            .or_default() += 1;
    }
    found
}

/// The levels the Python files name right after a rule (`# expect: HAS301 note`):
/// (file name, line, rule) → level.
fn expected_levels(dir: &Path) -> BTreeMap<(String, usize, String), String> {
    let mut levels = BTreeMap::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        if !name.ends_with(".py") {
            continue;
        }
        for (index, line) in std::fs::read_to_string(&path).unwrap().lines().enumerate() {
            let Some(at) = line.find("# expect:") else {
                continue;
            };
            let words: Vec<&str> = line[at + 9..]
                .split([',', ' ', '('])
                .filter(|w| !w.is_empty())
                .collect();
            for pair in words.windows(2) {
                if pair[0].starts_with("HAS") && matches!(pair[1], "note" | "warning" | "error") {
                    levels.insert(
                        (name.clone(), index + 1, pair[0].to_string()),
                        pair[1].to_string(),
                    );
                }
            }
        }
    }
    levels
}

fn integrations() -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(INTEGRATIONS)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    dirs
}

#[test]
fn whole_integrations_fire_where_expected_and_nowhere_else() {
    assert!(integrations().len() >= 4);
    for dir in integrations() {
        assert_eq!(
            scan(std::slice::from_ref(&dir)),
            expectations(&dir),
            "{}",
            dir.display()
        );
    }
}

#[test]
fn findings_have_the_levels_the_fixtures_name() {
    let mut checked = 0;
    for dir in integrations() {
        let levels = expected_levels(&dir);
        if levels.is_empty() {
            continue;
        }
        let config = Config {
            select: Some(RULES.iter().map(ToString::to_string).collect()),
            ..Config::default()
        };
        let report = Scanner::new(&config)
            .unwrap()
            .scan_paths(std::slice::from_ref(&dir), false);
        for ((name, line, rule), level) in &levels {
            let finding = report.findings.iter().find(|f| {
                f.start.line == *line
                    && f.rule.id == *rule
                    && Path::new(&f.path).file_name().unwrap().to_string_lossy() == *name
            });
            let found = finding.map(|f| f.level.as_str());
            assert_eq!(found, Some(level.as_str()), "{name}:{line} {rule}");
            checked += 1;
        }
    }
    assert!(checked >= 3, "the fixtures name levels to check");
}

#[test]
fn a_file_scanned_alone_still_knows_its_siblings() {
    for dir in integrations() {
        let expected = expectations(&dir);
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().to_string();
            if !(name.ends_with(".py") || name == "manifest.json") {
                continue;
            }
            let mine: Expectations = expected
                .iter()
                .filter(|((file, _, _), _)| *file == name)
                .map(|(k, v)| (k.clone(), *v))
                .collect();
            assert_eq!(
                scan(std::slice::from_ref(&path)),
                mine,
                "{}",
                path.display()
            );
        }
    }
}

#[test]
fn the_cross_file_facts_matter() {
    // Scanned as source alone, the cloud diagnostics cannot know the flow: the
    // entry data and options are reported (no flow found), the redaction set is
    // not (nothing known to be stored).
    let path = Path::new(INTEGRATIONS).join("cloud_account/diagnostics.py");
    let text = std::fs::read(&path).unwrap();
    let config = Config {
        select: Some(vec!["HAS104".into()]),
        ..Config::default()
    };
    let result = Scanner::new(&config)
        .unwrap()
        .scan_source("diagnostics.py", &text);
    let lines: Vec<usize> = result.findings.iter().map(|f| f.start.line).collect();
    assert_eq!(lines, [11, 12]);
    // With its integration, the set that misses `app_token` is reported, and the
    // options (where the flows store no secret) are not.
    let found = scan(std::slice::from_ref(&path));
    assert!(found.contains_key(&("diagnostics.py".into(), 10, "HAS104".into())));
    assert!(!found.contains_key(&("diagnostics.py".into(), 12, "HAS104".into())));
    // Without reading siblings, the raise in reauth_present would be reported.
    let init = Path::new(INTEGRATIONS).join("reauth_present/__init__.py");
    let config = Config {
        select: Some(vec!["HAS602".into()]),
        ..Config::default()
    };
    let alone = Scanner::new(&config)
        .unwrap()
        .scan_source("__init__.py", &std::fs::read(&init).unwrap());
    assert_eq!(alone.findings.len(), 1);
    assert!(scan(&[init]).is_empty());
    // The manager's form is built by a static method of another module: alone,
    // the input it logs is not known to hold the password.
    let manager = Path::new(INTEGRATIONS).join("flow_manager/flow_manager.py");
    let config = Config {
        select: Some(vec!["HAS502".into()]),
        ..Config::default()
    };
    let alone = Scanner::new(&config)
        .unwrap()
        .scan_source("flow_manager.py", &std::fs::read(&manager).unwrap());
    assert!(alone.findings.is_empty());
    assert!(scan(&[manager]).contains_key(&("flow_manager.py".into(), 14, "HAS502".into())));
}
