//! Every rule's fixture, checked both ways: each `# expect: HASnnn` line has that
//! finding, and no finding lands anywhere else (in particular on `# ok` lines).
//! The same code as `hassec test-rules` runs for rule packs
//! (`hassec::rules::testing`).

use std::path::Path;

use hassec::{config::Config, rules, scan::Scanner};

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/rules");

fn test_built_in(target: rules::Target) {
    let selected: Vec<&'static rules::Rule> = rules::all()
        .iter()
        .filter(|rule| rule.target == target)
        .collect();
    let outcome = rules::testing::test_rules(&selected, Path::new(FIXTURES)).unwrap();
    assert_eq!(outcome.rules, selected.len());
    let problems: Vec<String> = outcome.problems.iter().map(ToString::to_string).collect();
    assert!(problems.is_empty(), "\n{}", problems.join("\n"));
    assert_eq!(outcome.fixtures, selected.len(), "every rule has a fixture");
}

#[test]
fn every_rule_fires_where_its_fixture_expects_and_nowhere_else() {
    test_built_in(rules::Target::Python);
}

/// Manifest rules: `HASnnn/manifest.json` with its expectations beside it in
/// `HASnnn/expect.txt` (JSON has no comments): `<line> HASnnn` for each finding,
/// `<line> ok` for each look-alike that must not fire.
#[test]
fn every_manifest_rule_fires_where_its_fixture_expects_and_nowhere_else() {
    test_built_in(rules::Target::Manifest);
}

#[test]
fn an_invalid_manifest_is_a_file_error_not_a_panic() {
    let config = Config {
        select: Some(vec!["HAS706".to_string()]),
        ..Config::default()
    };
    let scanner = Scanner::new(&config).unwrap();
    for text in [
        "{",
        "[]",
        "{\"requirements\": \"x\"}",
        "{\"requirements\": [1]}",
        "",
    ] {
        let result = scanner.scan_manifest("manifest.json", text);
        let error = result.error.expect("an error");
        assert!(error.message.contains("manifest.json"), "{}", error.message);
        assert!(result.findings.is_empty());
    }
}

#[test]
fn every_fixture_belongs_to_a_rule() {
    let every: Vec<&rules::Rule> = rules::all().iter().collect();
    let orphans = rules::testing::orphan_fixtures(&every, Path::new(FIXTURES));
    assert!(orphans.is_empty(), "fixtures of no rule: {orphans:?}");
    let entries = std::fs::read_dir(FIXTURES).unwrap().count();
    assert_eq!(entries, every.len(), "one fixture per rule, nothing else");
}

/// The fixture check itself: a missing finding and an unexpected one are both
/// reported, with the fixture's line.
#[test]
fn a_fixture_that_disagrees_is_reported_both_ways() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("HAS703.py"),
        "import pickle\nimport json\n\npickle.loads(b)  # ok\njson.loads(b)  # expect: HAS703\n",
    )
    .unwrap();
    let rule = rules::find("HAS703").unwrap();
    let outcome = rules::testing::test_rules(&[rule], dir.path()).unwrap();
    let problems: Vec<String> = outcome.problems.iter().map(ToString::to_string).collect();
    assert_eq!(problems.len(), 2, "{problems:?}");
    assert!(
        problems[0].contains("HAS703.py:5: HAS703 missing"),
        "{problems:?}"
    );
    assert!(
        problems[1].contains("HAS703.py:4: HAS703 unexpected"),
        "{problems:?}"
    );
}
