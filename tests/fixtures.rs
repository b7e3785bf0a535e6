//! Every rule's fixture, checked both ways: each `# expect: HASnnn` line has that
//! finding, and no finding lands anywhere else (in particular on `# ok` lines).

use std::{collections::BTreeMap, path::Path};

use hassec::{config::Config, rules, scan::Scanner};

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/rules");

/// (line, rule id) pairs, counted.
type Expectations = BTreeMap<(usize, String), usize>;

fn expectations(source: &str) -> (Expectations, usize) {
    let mut expected = Expectations::new();
    let mut ok_lines = 0;
    for (index, line) in source.lines().enumerate() {
        if let Some(at) = line.find("# expect:") {
            for id in line[at + 9..]
                .split([',', ' '])
                .filter(|w| w.starts_with("HAS"))
            {
                *expected.entry((index + 1, id.to_string())).or_default() += 1;
            }
        }
        if line.contains("# ok") {
            ok_lines += 1;
        }
    }
    (expected, ok_lines)
}

#[test]
fn every_rule_fires_where_its_fixture_expects_and_nowhere_else() {
    let mut failures = Vec::new();
    for rule in rules::all()
        .iter()
        .filter(|r| r.target == rules::Target::Python)
    {
        let path = Path::new(FIXTURES).join(format!("{}.py", rule.id));
        let source = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("{}: every rule needs a fixture ({e})", path.display()));
        let (expected, ok_lines) = expectations(&source);
        assert!(
            expected.keys().any(|(_, id)| *id == rule.id),
            "{}: no `# expect: {}` line",
            path.display(),
            rule.id
        );
        assert!(ok_lines > 0, "{}: no `# ok` look-alike", path.display());

        let config = Config {
            select: Some(vec![rule.id.clone()]),
            ..Config::default()
        };
        let scanner = Scanner::new(&config).unwrap();
        let result = scanner.scan_source(&format!("{}.py", rule.id), source.as_bytes());
        assert!(result.error.is_none(), "{:?}", result.error);
        let mut found = Expectations::new();
        for finding in &result.findings {
            *found
                .entry((finding.start.line, finding.rule.id.clone()))
                .or_default() += 1;
        }
        for (key, count) in &expected {
            let got = found.get(key).copied().unwrap_or(0);
            if got != *count {
                failures.push(format!(
                    "{}.py:{}: expected {count} {} finding(s), got {got}",
                    rule.id, key.0, key.1
                ));
            }
        }
        for (key, count) in &found {
            if !expected.contains_key(key) {
                let lines: Vec<&str> = source.lines().collect();
                failures.push(format!(
                    "{}.py:{}: unexpected {count} {} finding(s) on `{}`",
                    rule.id,
                    key.0,
                    key.1,
                    lines[key.0 - 1].trim()
                ));
            }
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

/// Manifest rules: `HASnnn/manifest.json` with its expectations beside it in
/// `HASnnn/expect.txt` (JSON has no comments): `<line> HASnnn` for each finding,
/// `<line> ok` for each look-alike that must not fire.
#[test]
fn every_manifest_rule_fires_where_its_fixture_expects_and_nowhere_else() {
    let mut failures = Vec::new();
    for rule in rules::all()
        .iter()
        .filter(|r| r.target == rules::Target::Manifest)
    {
        let dir = Path::new(FIXTURES).join(&rule.id);
        let manifest = std::fs::read_to_string(dir.join("manifest.json")).unwrap_or_else(|e| {
            panic!(
                "{}: every manifest rule needs a manifest.json fixture ({e})",
                dir.display()
            )
        });
        let spec = std::fs::read_to_string(dir.join("expect.txt"))
            .unwrap_or_else(|e| panic!("{}: expect.txt ({e})", dir.display()));
        let mut expected = Expectations::new();
        let mut ok_lines = Vec::new();
        for line in spec
            .lines()
            .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        {
            let (number, what) = line.split_once(' ').expect("`<line> <rule>|ok`");
            let number: usize = number.parse().expect("a line number");
            if what.trim() == "ok" {
                ok_lines.push(number);
            } else {
                *expected
                    .entry((number, what.trim().to_string()))
                    .or_default() += 1;
            }
        }
        assert!(
            expected.keys().any(|(_, id)| *id == rule.id),
            "{}: no expectation for {}",
            dir.display(),
            rule.id
        );
        assert!(
            !ok_lines.is_empty(),
            "{}: no `ok` look-alike",
            dir.display()
        );

        let config = Config {
            select: Some(vec![rule.id.clone()]),
            ..Config::default()
        };
        let scanner = Scanner::new(&config).unwrap();
        let result = scanner.scan_manifest("manifest.json", &manifest);
        assert!(result.error.is_none(), "{:?}", result.error);
        let mut found = Expectations::new();
        for finding in &result.findings {
            *found
                .entry((finding.start.line, finding.rule.id.clone()))
                .or_default() += 1;
        }
        if found != expected {
            failures.push(format!("{}: expected {expected:?}, got {found:?}", rule.id));
        }
        for line in ok_lines {
            if found.keys().any(|(l, _)| *l == line) {
                failures.push(format!(
                    "{}/manifest.json:{line}: `ok` line has a finding",
                    rule.id
                ));
            }
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
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
    for entry in std::fs::read_dir(FIXTURES).unwrap() {
        let path = entry.unwrap().path();
        let id = path.file_stem().unwrap().to_string_lossy().to_string();
        assert!(
            rules::find(&id).is_some(),
            "{}: no rule {id}",
            path.display()
        );
    }
}
