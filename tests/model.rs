//! The model's value flow checked against fixtures, CodeQL style: in
//! `tests/fixtures/model/*.py` every `sink(e)` carries a marker saying what `e`
//! holds, and every `internal(e)` one saying whether `e` is the code's own.
//!
//! - `# carries: secret` (or `mapping`, `dump`; several, comma separated): what
//!   `values::carries` answers yes for; every other label must answer no.
//! - `# clean`: no label.
//! - `# missing: secret`: should carry it, the model does not today.
//! - `# spurious: secret`: should not carry it, the model says it does today.
//! - `# internal` / `# external`: `internal::is_internal` answers yes / no;
//!   `# missing: internal` and `# spurious: internal` are its known gaps.
//!
//! Markers combine (`# carries: mapping # missing: secret`). A known gap that
//! starts to pass is reported, so its marker gets promoted; a call without a
//! marker, or a marker without a call, is an error. Each question is asked of a
//! fresh `FileContext`, so a case's verdict does not hang on the cases before it,
//! and again of one context for the whole file, in document order, as a scan
//! asks (memoised verdicts, one budget): the two answers must agree.

use std::{collections::BTreeSet, path::Path};

use hassec::{
    model::{
        self, FileContext,
        internal::is_internal,
        values::{self, Label},
    },
    rules::vocabulary::{Vocabulary, split_words},
};
use tree_sitter::{Node, Parser, Tree};

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/model");

/// One fixture file per feature of the model.
const FEATURES: &[&str] = &[
    "ambiguity",
    "branches",
    "dumps",
    "helpers",
    "internal",
    "items",
    "loops",
    "propagators",
    "sanitizers",
    "shadowing",
    "slots",
    "sources",
    "spreads",
];

const LABELS: [(Label, &str); 3] = [
    (Label::Secret, "secret"),
    (Label::Mapping, "mapping"),
    (Label::Dump, "dump"),
];

fn parse(source: &str) -> Tree {
    let mut parser = Parser::new();
    parser.set_language(&model::language()).unwrap();
    parser.parse(source, None).unwrap()
}

/// Every node of the tree, in document order.
fn nodes(tree: &Tree) -> Vec<Node<'_>> {
    let mut stack = vec![tree.root_node()];
    let mut found = Vec::new();
    while let Some(node) = stack.pop() {
        found.push(node);
        let mut cursor = node.walk();
        let children: Vec<Node> = node.children(&mut cursor).collect();
        stack.extend(children.into_iter().rev());
    }
    found
}

fn text<'s>(node: Node, source: &'s str) -> &'s str {
    &source[node.byte_range()]
}

/// What one marker comment says.
#[derive(Debug, Default)]
struct Markers {
    clean: bool,
    internal: bool,
    external: bool,
    carries: BTreeSet<String>,
    missing: BTreeSet<String>,
    spurious: BTreeSet<String>,
}

impl Markers {
    fn is_empty(&self) -> bool {
        !self.clean
            && !self.internal
            && !self.external
            && self.carries.is_empty()
            && self.missing.is_empty()
            && self.spurious.is_empty()
    }
}

/// Reads `# carries: a, b # missing: c`. `Ok(None)`: not a marker comment at
/// all (its first part is no marker word).
fn markers(comment: &str) -> Result<Option<Markers>, String> {
    let mut out = Markers::default();
    for (index, part) in comment.split('#').map(str::trim).enumerate() {
        if part.is_empty() {
            continue;
        }
        let (word, labels) = match part.split_once(':') {
            Some((word, labels)) => (word.trim(), Some(labels)),
            None => (part, None),
        };
        let set = match (word, labels) {
            ("clean", None) => {
                out.clean = true;
                continue;
            }
            ("internal", None) => {
                out.internal = true;
                continue;
            }
            ("external", None) => {
                out.external = true;
                continue;
            }
            ("carries", Some(_)) => &mut out.carries,
            ("missing", Some(_)) => &mut out.missing,
            ("spurious", Some(_)) => &mut out.spurious,
            _ if index <= 1 && out.is_empty() => return Ok(None),
            _ => return Err(format!("unknown marker `{part}`")),
        };
        for label in labels.unwrap_or("").split(',').map(str::trim) {
            if label.is_empty() {
                return Err(format!("`{part}` names no label"));
            }
            set.insert(label.to_string());
        }
    }
    Ok((!out.is_empty()).then_some(out))
}

/// What checking one fixture found.
#[derive(Debug, Default)]
struct Outcome {
    cases: usize,
    problems: Vec<String>,
}

/// Checks every `sink(e)` and `internal(e)` of `source` against its marker.
fn check(name: &str, source: &str) -> Outcome {
    let tree = parse(source);
    let vocabulary = Vocabulary::default();
    let mut outcome = Outcome::default();
    let all = nodes(&tree);
    // Trailing comments (code before them on their line), by row.
    let lines: Vec<&str> = source.lines().collect();
    let mut trailing: Vec<(usize, Node)> = all
        .iter()
        .filter(|n| n.kind() == "comment")
        .filter(|n| {
            let row = n.start_position().row;
            lines
                .get(row)
                .is_some_and(|line| !line[..n.start_position().column].trim().is_empty())
        })
        .map(|n| (n.start_position().row, *n))
        .collect();
    let mut used = BTreeSet::new();
    let shared = FileContext::new(source.as_bytes(), &tree, &vocabulary);
    for call in all.iter().filter(|n| n.kind() == "call") {
        let Some(function) = call.child_by_field_name("function") else {
            continue;
        };
        let kind = text(function, source);
        if function.kind() != "identifier" || !matches!(kind, "sink" | "internal") {
            continue;
        }
        let line = call.start_position().row + 1;
        let at = format!("{name}:{line}");
        outcome.cases += 1;
        let row = call.end_position().row;
        let comment = trailing
            .iter()
            .find(|(r, c)| *r == row && c.start_byte() >= call.end_byte())
            .map(|(_, c)| *c);
        let Some(comment) = comment else {
            outcome
                .problems
                .push(format!("{at}: `{}` has no marker", text(*call, source)));
            continue;
        };
        used.insert(comment.id());
        let arguments: Vec<Node> = call
            .child_by_field_name("arguments")
            .map(|a| {
                let mut cursor = a.walk();
                a.named_children(&mut cursor)
                    .filter(|c| c.kind() != "comment")
                    .collect()
            })
            .unwrap_or_default();
        let [argument] = arguments[..] else {
            outcome
                .problems
                .push(format!("{at}: `{kind}(...)` takes one argument"));
            continue;
        };
        let marked = match markers(text(comment, source)) {
            Ok(Some(marked)) => validate(kind, marked),
            Ok(None) => {
                outcome
                    .problems
                    .push(format!("{at}: `{}` has no marker", text(*call, source)));
                continue;
            }
            Err(e) => Err(e),
        };
        let marked = match marked {
            Ok(marked) => marked,
            Err(e) => {
                outcome
                    .problems
                    .push(format!("{at}: `{}`: {e}", text(*call, source)));
                continue;
            }
        };
        let shown = text(*call, source);
        // A fresh context per question, and the file's shared one, asked in
        // document order as a scan asks: the two must agree.
        let fresh = || FileContext::new(source.as_bytes(), &tree, &vocabulary);
        let answers: Vec<(&str, bool, bool)> = if kind == "sink" {
            LABELS
                .iter()
                .map(|&(label, word)| {
                    (
                        word,
                        values::carries(&fresh(), argument, label),
                        values::carries(&shared, argument, label),
                    )
                })
                .collect()
        } else {
            let safe = |_: &FileContext, _: Node| false;
            vec![(
                "internal",
                is_internal(&fresh(), argument, &safe),
                is_internal(&shared, argument, &safe),
            )]
        };
        for (what, got, in_scan) in answers {
            if got != in_scan {
                outcome.problems.push(format!(
                    "{at}: `{shown}` {what}: {got} asked alone, {in_scan} after the cases before it"
                ));
            }
            outcome
                .problems
                .extend(verdict(&at, shown, what, &marked, got));
        }
    }
    trailing.retain(|(_, c)| !used.contains(&c.id()));
    for (row, comment) in trailing {
        if let Ok(Some(_)) | Err(_) = markers(text(comment, source)) {
            outcome.problems.push(format!(
                "{name}:{}: a marker without a `sink(...)` or `internal(...)` call",
                row + 1
            ));
        }
    }
    outcome
}

/// The markers a call may have: labels for `sink`, `internal` for `internal`,
/// each once, and `# clean` alone.
fn validate(kind: &str, m: Markers) -> Result<Markers, String> {
    let known: &[&str] = match kind {
        "sink" => &["secret", "mapping", "dump"],
        _ => &["internal"],
    };
    let lists = [&m.carries, &m.missing, &m.spurious];
    if let Some(label) = lists
        .iter()
        .flat_map(|l| l.iter())
        .find(|l| !known.contains(&l.as_str()))
    {
        return Err(format!("unknown label `{label}`"));
    }
    let mut seen = BTreeSet::new();
    for label in lists.iter().flat_map(|l| l.iter()) {
        if !seen.insert(label) {
            return Err(format!("`{label}` is marked twice"));
        }
    }
    match kind {
        "sink" if m.internal || m.external => {
            Err("`# internal`/`# external` mark `internal(...)`".into())
        }
        "sink" if m.clean && !seen.is_empty() => Err("`# clean` goes alone".into()),
        "internal" if m.clean || !m.carries.is_empty() => {
            Err("`internal(...)` is marked `# internal` or `# external`".into())
        }
        "internal" if usize::from(m.internal) + usize::from(m.external) + seen.len() != 1 => {
            Err("`internal(...)` takes one marker".into())
        }
        _ => Ok(m),
    }
}

/// The problem, if any, with one answer: `what` is a label or `internal`.
fn verdict(at: &str, call: &str, what: &str, m: &Markers, got: bool) -> Option<String> {
    let expected = m.carries.contains(what) || m.spurious.contains(what) || m.internal;
    if got == expected {
        return None;
    }
    let says = |yes: bool| match (what, yes) {
        ("internal", true) => "internal".to_string(),
        ("internal", false) => "external".to_string(),
        (label, true) => format!("carries {label}"),
        (label, false) => format!("does not carry {label}"),
    };
    Some(if m.missing.contains(what) {
        format!(
            "{at}: `{call}` {} now: the known gap is fixed, promote `# missing: {what}`",
            says(got)
        )
    } else if m.spurious.contains(what) {
        format!(
            "{at}: `{call}` {} now: the known gap is fixed, drop `# spurious: {what}`",
            says(got)
        )
    } else {
        format!(
            "{at}: `{call}` expected: {}, got: {}",
            says(expected),
            says(got)
        )
    })
}

fn fixtures() -> Vec<(String, String)> {
    let mut files: Vec<(String, String)> = std::fs::read_dir(FIXTURES)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|e| e == "py"))
        .map(|path| {
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            (name, std::fs::read_to_string(&path).unwrap())
        })
        .collect();
    files.sort();
    files
}

#[test]
fn every_model_fixture_holds() {
    let mut problems = Vec::new();
    for (name, source) in fixtures() {
        let outcome = check(&name, &source);
        assert!(outcome.cases > 0, "{name} has no case");
        problems.extend(outcome.problems);
    }
    assert!(problems.is_empty(), "\n{}", problems.join("\n"));
}

#[test]
fn every_feature_has_a_fixture() {
    let present: Vec<String> = fixtures().into_iter().map(|(name, _)| name).collect();
    for feature in FEATURES {
        let file = format!("{feature}.py");
        assert!(present.contains(&file), "no {file} in {FIXTURES}");
    }
    assert!(Path::new(FIXTURES).is_dir());
}

/// The fixture check itself: each way a fixture can disagree is reported with
/// its line.
#[test]
fn a_fixture_that_disagrees_is_reported_both_ways() {
    let source = "\
def f(password, host):
    sink(password)  # clean
    sink(host)  # carries: secret
    sink(password)  # missing: secret
    sink(host)  # spurious: secret
    sink(password)  # carries: secret
    internal(host)  # internal
    internal('a')  # external
";
    let outcome = check("case.py", source);
    assert_eq!(outcome.cases, 7);
    let expected = [
        "case.py:2: `sink(password)` expected: does not carry secret, got: carries secret",
        "case.py:3: `sink(host)` expected: carries secret, got: does not carry secret",
        "case.py:4: `sink(password)` carries secret now: the known gap is fixed, promote `# missing: secret`",
        "case.py:5: `sink(host)` does not carry secret now: the known gap is fixed, drop `# spurious: secret`",
        "case.py:7: `internal(host)` expected: internal, got: external",
        "case.py:8: `internal('a')` expected: external, got: internal",
    ];
    assert_eq!(outcome.problems, expected, "{:#?}", outcome.problems);
}

/// A verdict that hangs on the questions asked before it is reported: here the
/// file's resolution budget, spent by the chains before the last one.
#[test]
fn an_answer_that_depends_on_the_cases_before_it_is_reported() {
    let mut source = String::new();
    let chains = 12;
    for chain in 0..chains {
        source.push_str(&format!("def f{chain}(token):\n    v0 = token\n"));
        for link in 1..200 {
            source.push_str(&format!("    v{link} = v{}\n", link - 1));
        }
        source.push_str("    sink(v199)  # carries: secret\n");
    }
    let outcome = check("case.py", &source);
    assert_eq!(outcome.cases, chains);
    assert!(!outcome.problems.is_empty());
    for problem in &outcome.problems {
        assert!(
            problem.ends_with("secret: true asked alone, false after the cases before it"),
            "{problem}"
        );
    }
}

/// Nothing goes unchecked: a call without a marker, a marker without a call, a
/// marker the harness does not know.
#[test]
fn a_fixture_with_a_bad_marker_is_reported() {
    let source = "\
def f(password):
    sink(password)
    x = password  # carries: secret
    sink(password)  # carries: token
    sink(password)  # clean # carries: secret
    sink(password)  # carries: secret # because
    internal(password)  # carries: secret
    sink(password, 1)  # clean
    sink(password)  # an explanation
";
    let outcome = check("case.py", source);
    let expected = [
        "case.py:2: `sink(password)` has no marker",
        "case.py:4: `sink(password)`: unknown label `token`",
        "case.py:5: `sink(password)`: `# clean` goes alone",
        "case.py:6: `sink(password)`: unknown marker `because`",
        "case.py:7: `internal(password)`: unknown label `secret`",
        "case.py:8: `sink(...)` takes one argument",
        "case.py:9: `sink(password)` has no marker",
        "case.py:3: a marker without a `sink(...)` or `internal(...)` call",
    ];
    assert_eq!(outcome.problems, expected, "{:#?}", outcome.problems);
}

/// A list of `rules/flow.toml`, and how a fixture shows one of its entries.
type SpecList<'a> = (&'a str, &'a [String], &'a dyn Fn(&str) -> bool);

/// Every entry of `rules/flow.toml` is exercised by some model fixture: a call,
/// method, key or function name of the fixtures that the entry matches.
#[test]
fn every_flow_spec_entry_appears_in_a_model_fixture() {
    let mut callees = BTreeSet::new();
    let mut methods = BTreeSet::new();
    let mut strings = BTreeSet::new();
    let mut functions = BTreeSet::new();
    for (_, source) in fixtures() {
        let tree = parse(&source);
        for node in nodes(&tree) {
            match node.kind() {
                "call" => {
                    let Some(function) = node.child_by_field_name("function") else {
                        continue;
                    };
                    match function.kind() {
                        "identifier" => {
                            callees.insert(text(function, &source).to_string());
                        }
                        "attribute" => {
                            let method = function.child_by_field_name("attribute").unwrap();
                            callees.insert(text(method, &source).to_string());
                            methods.insert(text(method, &source).to_string());
                        }
                        _ => {}
                    }
                }
                "string_content" => {
                    strings.insert(text(node, &source).to_ascii_lowercase());
                }
                "function_definition" => {
                    let name = node.child_by_field_name("name").unwrap();
                    functions.insert(text(name, &source).to_string());
                }
                _ => {}
            }
        }
    }
    let spec = &*values::SPEC;
    let first_word = |w: &str| {
        callees
            .iter()
            .any(|c| split_words(c).first().is_some_and(|f| f == w))
    };
    let any_word = |w: &str| {
        callees
            .iter()
            .any(|c| split_words(c).iter().any(|f| f == w))
    };
    let function_word = |w: &str| {
        functions
            .iter()
            .any(|f| split_words(f).iter().any(|x| x == w))
    };
    let checks: [SpecList; 9] = [
        ("sanitizers.calls", &spec.sanitizers.calls, &|w: &str| {
            callees.contains(w)
        }),
        (
            "sanitizers.first-words",
            &spec.sanitizers.first_words,
            &first_word,
        ),
        (
            "sanitizers.any-words",
            &spec.sanitizers.any_words,
            &any_word,
        ),
        (
            "propagators.same-value-methods",
            &spec.propagators.same_value_methods,
            &|w: &str| methods.contains(w),
        ),
        (
            "propagators.same-value-calls",
            &spec.propagators.same_value_calls,
            &|w: &str| callees.contains(w),
        ),
        (
            "propagators.mapping-copies",
            &spec.propagators.mapping_copies,
            &|w: &str| callees.contains(w),
        ),
        (
            "sources.credential-keys",
            &spec.sources.credential_keys,
            &|w: &str| strings.contains(w),
        ),
        (
            "sources.response-calls",
            &spec.sources.response_calls,
            &|w: &str| methods.contains(w),
        ),
        (
            "sources.login-function-words",
            &spec.sources.login_function_words,
            &function_word,
        ),
    ];
    let mut absent = Vec::new();
    for (list, entries, found) in checks {
        for entry in entries {
            if !found(entry) {
                absent.push(format!("{list}: `{entry}`"));
            }
        }
    }
    assert!(
        absent.is_empty(),
        "flow.toml entries no model fixture exercises:\n{}",
        absent.join("\n")
    );
}
