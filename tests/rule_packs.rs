//! Rule packs end to end: rules of the user's own, loaded from `extend-rules`
//! or `--rules`, run, listed, reported, cached and tested like the built-in ones.

use std::path::Path;

use assert_cmd::Command;
use predicates::prelude::*;

fn hassec() -> Command {
    let mut command = Command::cargo_bin("hassec").unwrap();
    command.env("NO_COLOR", "1").env_remove("HASSEC_CACHE_DIR");
    command
}

fn write(dir: &Path, name: &str, text: &str) {
    let path = dir.join(name);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

/// A rule reporting calls of `acme.unlock(...)` that pass a secret; the query
/// starts on line 12 of the file (the line after `query = '''`).
const RULE: &str = r#"id = "ACME001"
name = "secret-unlocks"
level = "error"
security-severity = "6.5"
cwe = 200
summary = "A secret passed to acme.unlock"
checklist = "Secrets stay in the integration"
message = "`{fn}` receives a secret"
checks = ["qualname", "secret-sourced"]
help = "Do not pass secrets to acme.unlock.\n\n**Bad**\n\n`acme.unlock(password)`\n"
query = '''
(call
  function: (_) @fn
  arguments: (argument_list (_) @arg)
  (#qualname? @fn "acme.unlock")
  (#secret-sourced? @arg)) @finding
'''
"#;

const CODE: &str = "import acme\n\n\ndef go(entry):\n    password = entry.data[\"password\"]\n    acme.unlock(password)\n    acme.unlock(\"the password\")\n    other.unlock(password)\n";

/// What `hassec scan src` prints in `dir`, where it finds something.
fn findings_in_src(dir: &Path) -> String {
    let output = hassec()
        .current_dir(dir)
        .args(["scan", "--no-cache", "src"])
        .assert()
        .code(1)
        .get_output()
        .stdout
        .clone();
    String::from_utf8(output).unwrap()
}

/// A project with the rule pack `hassec-rules/` named by its `.hassec.toml`.
fn project(rule: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        ".hassec.toml",
        "extend-rules = [\"hassec-rules\"]\n",
    );
    write(dir.path(), "hassec-rules/ACME001-secret-unlocks.toml", rule);
    write(dir.path(), "src/a.py", CODE);
    dir
}

#[test]
fn a_pack_rule_fires_and_its_look_alikes_stay_quiet() {
    let dir = project(RULE);
    let output = findings_in_src(dir.path());
    assert!(
        output.contains("src/a.py:6:5: ACME001 `acme.unlock` receives a secret"),
        "{output}"
    );
    assert_eq!(output.matches("ACME001").count(), 1, "{output}");
    // Selected by id, and by the config's paths relative to its own directory.
    write(
        dir.path(),
        ".hassec.toml",
        "extend-rules = [\"hassec-rules\"]\nselect = [\"ACME001\"]\n",
    );
    hassec()
        .current_dir(dir.path().join("src"))
        .args(["scan", "--no-cache", "."])
        .assert()
        .code(1)
        .stdout(predicate::str::contains("a.py:6:5: ACME001"));
}

#[test]
fn the_rules_flag_loads_a_pack_without_configuration() {
    let dir = project(RULE);
    hassec()
        .current_dir(dir.path())
        .args(["scan", "--isolated", "--no-cache", "src"])
        .assert()
        .success();
    hassec()
        .current_dir(dir.path())
        .args([
            "scan",
            "--isolated",
            "--no-cache",
            "--rules",
            "hassec-rules",
            "src",
        ])
        .assert()
        .code(1)
        .stdout(predicate::str::contains("ACME001"));
}

/// `hassec scan` on a project whose rule is `rule`: exit 2 and the message.
fn refused(rule: &str) -> String {
    let dir = project(rule);
    let output = hassec()
        .current_dir(dir.path())
        .args(["scan", "--no-cache", "src"])
        .assert()
        .code(2)
        .get_output()
        .clone();
    assert!(output.stdout.is_empty());
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(!stderr.contains("panicked"), "{stderr}");
    stderr
}

#[test]
fn a_query_that_does_not_compile_names_its_line() {
    let stderr = refused(&RULE.replace(
        "(#secret-sourced? @arg)) @finding",
        "(#secret-sourced? @arg) @finding",
    ));
    assert!(
        stderr.contains("hassec-rules/ACME001-secret-unlocks.toml:16: query does not compile: syntax error at column 27"),
        "{stderr}"
    );
    let stderr = refused(&RULE.replace("(#qualname? @fn", "(#qualname? @fun"));
    assert!(
        stderr.contains(
            "ACME001-secret-unlocks.toml:15: query does not compile: unknown capture `@fun`"
        ),
        "{stderr}"
    );
    let stderr = refused(&RULE.replace("function: (_) @fn", "function: (no_such_node) @fn"));
    assert!(
        stderr.contains("ACME001-secret-unlocks.toml:13: query does not compile: unknown node type `no_such_node`"),
        "{stderr}"
    );
}

#[test]
fn an_unknown_check_names_its_line() {
    let stderr = refused(&RULE.replace("#secret-sourced?", "#secret-sauced?"));
    assert!(
        stderr.contains("ACME001-secret-unlocks.toml:16: unknown check `secret-sauced?`"),
        "{stderr}"
    );
}

#[test]
fn a_query_without_finding_is_refused() {
    let stderr = refused(&RULE.replace("@finding", "@call"));
    assert!(
        stderr.contains("ACME001-secret-unlocks.toml:12: query has no `@finding` capture"),
        "{stderr}"
    );
}

#[test]
fn a_bad_level_or_severity_is_refused() {
    let stderr = refused(&RULE.replace("level = \"error\"", "level = \"critical\""));
    assert!(
        stderr.contains("ACME001-secret-unlocks.toml:3:") && stderr.contains("critical"),
        "{stderr}"
    );
    let stderr = refused(&RULE.replace("\"6.5\"", "\"11\""));
    assert!(
        stderr.contains("ACME001-secret-unlocks.toml:4: security-severity `11`"),
        "{stderr}"
    );
}

#[test]
fn ids_and_names_must_not_collide() {
    let dir = project(&RULE.replace("ACME001", "HAS501"));
    std::fs::rename(
        dir.path().join("hassec-rules/ACME001-secret-unlocks.toml"),
        dir.path().join("hassec-rules/HAS501-secret-unlocks.toml"),
    )
    .unwrap();
    hassec()
        .current_dir(dir.path())
        .args(["scan", "--no-cache", "src"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "HAS501-secret-unlocks.toml:1: id `HAS501`: ids starting with HAS are hassec's own",
        ));

    let stderr = refused(&RULE.replace("secret-unlocks\"", "secret-logged\""));
    assert!(
        stderr.contains("ACME001-secret-unlocks.toml:2: name `secret-logged` is taken by the built-in rule HAS501"),
        "{stderr}"
    );

    let dir = project(RULE);
    write(
        dir.path(),
        "more-rules/ACME001-again.toml",
        &RULE.replace("secret-unlocks\"", "again\""),
    );
    hassec()
        .current_dir(dir.path())
        .args(["scan", "--no-cache", "--rules", "more-rules", "src"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "more-rules/ACME001-again.toml:1: duplicate rule id `ACME001`",
        ));
}

#[test]
fn rules_lists_pack_rules_with_their_source_and_rule_shows_their_help() {
    let dir = project(RULE);
    hassec()
        .current_dir(dir.path())
        .arg("rules")
        .assert()
        .success()
        .stdout(
            predicate::str::is_match(
                r"ACME001 +secret-unlocks +error +hassec-rules/ACME001-secret-unlocks.toml +Secrets stay",
            )
            .unwrap()
            .and(predicate::str::is_match(r"HAS501 +secret-logged +error +built-in").unwrap()),
        );
    hassec()
        .current_dir(dir.path())
        .args(["rule", "secret-unlocks"])
        .assert()
        .success()
        .stdout(
            predicate::str::contains("# ACME001 secret-unlocks")
                .and(predicate::str::contains(
                    "Source: hassec-rules/ACME001-secret-unlocks.toml",
                ))
                .and(predicate::str::contains(
                    "Do not pass secrets to acme.unlock",
                )),
        );
}

#[test]
fn sarif_carries_a_pack_rule_like_a_built_in_one() {
    let dir = project(RULE);
    let output = hassec()
        .current_dir(dir.path())
        .args(["scan", "--no-cache", "--format", "sarif", "src"])
        .assert()
        .code(1)
        .get_output()
        .stdout
        .clone();
    let sarif: serde_json::Value = serde_json::from_slice(&output).unwrap();
    let run = &sarif["runs"][0];
    let rules = run["tool"]["driver"]["rules"].as_array().unwrap();
    let rule = rules.iter().find(|r| r["id"] == "ACME001").expect("listed");
    assert_eq!(rule["name"], "secret-unlocks");
    assert!(
        rule["help"]["markdown"]
            .as_str()
            .unwrap()
            .contains("Do not pass secrets")
    );
    assert_eq!(rule["properties"]["security-severity"], "6.5");
    assert_eq!(
        rule["properties"]["tags"],
        serde_json::json!(["security", "home-assistant", "external/cwe/cwe-200"])
    );
    assert_eq!(
        rule["properties"]["source"],
        "hassec-rules/ACME001-secret-unlocks.toml"
    );
    assert!(rule.get("helpUri").is_none(), "{rule}");
    let result = &run["results"][0];
    assert_eq!(result["ruleId"], "ACME001");
    let index = result["ruleIndex"].as_u64().unwrap() as usize;
    assert_eq!(rules[index]["id"], "ACME001");
}

#[test]
fn a_changed_rule_file_is_not_answered_from_the_cache() {
    let dir = project(RULE);
    let scan = |expected: &str, code: i32| {
        hassec()
            .current_dir(dir.path())
            .args(["scan", "--cache-dir", "cache", "src"])
            .assert()
            .code(code)
            .stdout(predicate::str::contains(expected));
    };
    scan("ACME001 `acme.unlock` receives a secret", 1);
    scan("ACME001 `acme.unlock` receives a secret", 1);
    // The same rule, another message: a cached result would keep the old one.
    write(
        dir.path(),
        "hassec-rules/ACME001-secret-unlocks.toml",
        &RULE.replace("receives a secret", "is handed a secret"),
    );
    scan("ACME001 `acme.unlock` is handed a secret", 1);
    // Now a note: no longer failing the run.
    write(
        dir.path(),
        "hassec-rules/ACME001-secret-unlocks.toml",
        &RULE.replace("level = \"error\"", "level = \"note\""),
    );
    scan("0 errors, 0 warnings, 1 note", 0);
}

const FIXTURE: &str = "import acme\n\n\ndef go(entry):\n    password = entry.data[\"password\"]\n    acme.unlock(password)  # expect: ACME001\n    acme.unlock(\"the password\")  # ok\n";

#[test]
fn test_rules_passes_when_every_fixture_agrees() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "pack/ACME001-secret-unlocks.toml", RULE);
    write(dir.path(), "pack/ACME001.py", FIXTURE);
    hassec()
        .current_dir(dir.path())
        .args(["test-rules", "pack"])
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "Tested 1 rule against 1 fixture: all pass.",
        ));
}

#[test]
fn test_rules_reports_what_is_missing_and_unexpected() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "pack/ACME001-secret-unlocks.toml", RULE);
    write(
        dir.path(),
        "pack/ACME001.py",
        &FIXTURE
            .replace("(password)  # expect: ACME001", "(password)  # ok")
            .replace(
                "(\"the password\")  # ok",
                "(\"the password\")  # expect: ACME001",
            ),
    );
    hassec()
        .current_dir(dir.path())
        .args(["test-rules", "pack"])
        .assert()
        .code(1)
        .stdout(
            predicate::str::contains(
                "pack/ACME001.py:6: ACME001 unexpected: 1 finding (an `ok` line)",
            )
            .and(predicate::str::contains(
                "pack/ACME001.py:7: ACME001 missing: expected 1 finding, got 0",
            ))
            .and(predicate::str::contains(
                "Tested 1 rule against 1 fixture: 2 problems.",
            )),
        );
    // A rule without a fixture fails too.
    std::fs::remove_file(dir.path().join("pack/ACME001.py")).unwrap();
    hassec()
        .current_dir(dir.path())
        .args(["test-rules", "pack"])
        .assert()
        .code(1)
        .stdout(
            predicate::str::contains("ACME001 has no fixture")
                .and(predicate::str::contains("Tested 1 rule against 0 fixtures")),
        );
}

#[test]
fn test_rules_refuses_an_invalid_rule_with_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "pack/ACME001-secret-unlocks.toml",
        &RULE.replace("@finding", "@call"),
    );
    write(dir.path(), "pack/ACME001.py", FIXTURE);
    hassec()
        .current_dir(dir.path())
        .args(["test-rules", "pack"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "pack/ACME001-secret-unlocks.toml:12: query has no `@finding` capture",
        ));
    hassec()
        .current_dir(dir.path())
        .args(["test-rules", "nowhere"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("nowhere: is not a directory"));
}

/// The README's "Writing a rule" guide builds `examples/rules/`: its rule and
/// fixture pass `hassec test-rules`, and scanning with the pack finds the
/// fixture's findings.
#[test]
fn the_guide_example_passes_test_rules() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    hassec()
        .current_dir(root)
        .args(["test-rules", "examples/rules"])
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "Tested 1 rule against 1 fixture: all pass.",
        ));
    // The guide shows both files whole: what it teaches is what this test runs.
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    for name in ["ACME001-secret-in-notification.toml", "ACME001.py"] {
        let text = std::fs::read_to_string(root.join("examples/rules").join(name)).unwrap();
        assert!(
            readme.contains(&text),
            "README.md's guide does not show examples/rules/{name} as it is"
        );
    }
}

/// The scan's walk passes over the parts of plain strings (their quotes and
/// text), which no built-in rule is rooted at: a pack rule rooted at one still
/// sees every string, and calls inside f-strings are matched either way.
#[test]
fn a_rule_rooted_inside_strings_sees_every_string() {
    let rule = RULE
        .replace("ACME001", "ACME002")
        .replace("secret-unlocks", "escapes")
        .replace(
            "message = \"`{fn}` receives a secret\"",
            "message = \"an escape\"",
        )
        .replace("checks = [\"qualname\", \"secret-sourced\"]", "checks = []");
    let query_start = rule.find("query = '''").unwrap();
    let rule = format!(
        "{}query = '''\n(escape_sequence) @finding\n'''\n",
        &rule[..query_start]
    );
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        ".hassec.toml",
        "extend-rules = [\"hassec-rules\"]\nselect = [\"ACME002\", \"HAS703\"]\n",
    );
    write(dir.path(), "hassec-rules/ACME002-escapes.toml", &rule);
    write(
        dir.path(),
        "src/a.py",
        "import pickle\n\nA = \"one\\ttwo\"\nB = b'\\x00'\nC = f\"{pickle.loads(data)}\\n\"\n",
    );
    let output = findings_in_src(dir.path());
    for place in [
        "src/a.py:3:9: ACME002",
        "src/a.py:4:7: ACME002",
        "src/a.py:5:27: ACME002",
    ] {
        assert!(output.contains(place), "{place} missing from:\n{output}");
    }
    assert!(output.contains("src/a.py:5:8: HAS703"), "{output}");
}
