//! The rules' query rewritten so that tree-sitter compiles it faster, matching
//! exactly the same nodes.
//!
//! Compiling a query, tree-sitter analyses every typed node that has children
//! against the grammar's whole parse table: about half a millisecond for an
//! expression node such as `call` or `attribute`, most of the query's compile
//! time, and a pull request's scan waits for it. A wildcard node `(_ ...)` it does
//! not analyse. A nested node with a field that only its type has (`function:`
//! is only `call`'s, `attribute:` only `attribute`'s) matches the same nodes as a
//! wildcard with that field, so it is compiled as one. A pattern's root stays
//! typed: a wildcard root would be tried at every node of every file.

use std::{
    collections::{HashMap, HashSet},
    sync::LazyLock,
};

use serde::Deserialize;

/// For each field of the grammar, the node type that has it, if only one does;
/// and the fields a node type has at most one child in.
pub struct FieldOwners {
    owners: HashMap<String, Option<String>>,
    single: HashSet<(String, String)>,
    /// (type, field, child type) for each type the grammar lists itself in a
    /// field (not through a supertype such as `primary_expression`).
    listed: HashSet<(String, String, String)>,
}

#[derive(Deserialize)]
struct NodeType {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    fields: HashMap<String, Field>,
}

#[derive(Deserialize)]
struct Field {
    #[serde(default)]
    multiple: bool,
    #[serde(default)]
    types: Vec<FieldType>,
}

#[derive(Deserialize)]
struct FieldType {
    #[serde(rename = "type")]
    kind: String,
}

impl FieldOwners {
    /// From the grammar's `node-types.json`.
    pub fn of_grammar(node_types: &str) -> Self {
        let types: Vec<NodeType> = serde_json::from_str(node_types).unwrap_or_default();
        let mut owners: HashMap<String, Option<String>> = HashMap::new();
        let mut single = HashSet::new();
        let mut listed = HashSet::new();
        for node in types {
            for (field, about) in node.fields {
                if !about.multiple {
                    single.insert((node.kind.clone(), field.clone()));
                }
                for child in about.types {
                    listed.insert((node.kind.clone(), field.clone(), child.kind));
                }
                owners
                    .entry(field)
                    .and_modify(|owner| *owner = None)
                    .or_insert_with(|| Some(node.kind.clone()));
            }
        }
        Self {
            owners,
            single,
            listed,
        }
    }

    /// Python's, read once.
    pub fn python() -> &'static Self {
        static PYTHON: LazyLock<FieldOwners> =
            LazyLock::new(|| FieldOwners::of_grammar(tree_sitter_python::NODE_TYPES));
        &PYTHON
    }

    /// Has a node of type `kind` at most one child in `field`?
    pub fn is_single(&self, kind: &str, field: &str) -> bool {
        self.single.contains(&(kind.to_string(), field.to_string()))
    }

    /// Does the grammar list `child` itself among the types of `kind`'s
    /// `field` (not only a supertype `child` belongs to)?
    pub fn lists(&self, kind: &str, field: &str, child: &str) -> bool {
        self.listed
            .contains(&(kind.to_string(), field.to_string(), child.to_string()))
    }

    fn owner(&self, field: &str) -> Option<&str> {
        self.owners.get(field)?.as_deref()
    }
}

/// An open `(` or `[` of the query.
struct Frame {
    /// For a node `(type ...)`: where its type is written.
    kind: Option<std::ops::Range<usize>>,
    /// Is it inside a node (not a pattern's root, nor a group or alternation of roots)?
    nested: bool,
    /// Does one of its direct children have a field that only its type has?
    own_field: bool,
}

/// `source` with each nested node that has a field only its type has written as
/// a wildcard. The type's name is replaced by `_` and spaces, so every byte
/// offset (a pattern's start, an error's position) stays where it was.
pub fn cheaper_to_compile(source: &str, owners: &FieldOwners) -> String {
    let bytes = source.as_bytes();
    let mut out = bytes.to_vec();
    let mut frames: Vec<Frame> = Vec::new();
    let name_end = |from: usize| {
        from + bytes[from..]
            .iter()
            .take_while(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'/' | b'-'))
            .count()
    };
    let mut at = 0;
    while at < bytes.len() {
        match bytes[at] {
            b';' => {
                at += bytes[at..].iter().take_while(|&&b| b != b'\n').count();
                continue;
            }
            b'"' => {
                at += 1;
                while at < bytes.len() && bytes[at] != b'"' {
                    at += if bytes[at] == b'\\' { 2 } else { 1 };
                }
            }
            open @ (b'(' | b'[') => {
                let end = name_end(at + 1);
                let kind = (open == b'(' && end > at + 1 && bytes[at + 1].is_ascii_alphabetic())
                    .then_some(at + 1..end);
                frames.push(Frame {
                    kind,
                    nested: frames.iter().any(|frame| frame.kind.is_some()),
                    own_field: false,
                });
            }
            b')' | b']' => {
                if let Some(Frame {
                    kind: Some(kind),
                    nested: true,
                    own_field: true,
                }) = frames.pop()
                {
                    out[kind.start] = b'_';
                    out[kind.start + 1..kind.end].fill(b' ');
                }
            }
            b if b.is_ascii_alphabetic() || b == b'_' => {
                let end = name_end(at);
                // `field:` as a direct child of a node (not `!field`, which says it is absent)
                if bytes.get(end) == Some(&b':')
                    && at > 0
                    && bytes[at - 1] != b'!'
                    && let Some(frame) = frames.last_mut()
                    && let Some(kind) = &frame.kind
                    && owners.owner(&source[at..end]) == Some(&source[kind.clone()])
                {
                    frame.own_field = true;
                }
                at = end;
                continue;
            }
            _ => {}
        }
        at += 1;
    }
    // Only ASCII names were replaced by ASCII.
    String::from_utf8(out).unwrap_or_else(|_| source.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use streaming_iterator::StreamingIterator;
    use tree_sitter::{Query, QueryCursor};

    #[test]
    fn fields_list_their_own_types_not_those_of_a_supertype() {
        let owners = FieldOwners::python();
        assert!(owners.lists("call", "arguments", "argument_list"));
        assert!(owners.lists("keyword_argument", "value", "expression"));
        // `function:` holds a `primary_expression`, which an identifier is.
        assert!(!owners.lists("call", "function", "identifier"));
        assert!(!owners.lists("call", "function", "attribute"));
        assert!(!owners.lists("call", "nothing", "argument_list"));
    }

    #[test]
    fn nested_nodes_with_their_own_fields_become_wildcards() {
        let owners = FieldOwners::python();
        let source = r#"
; (call function: (attribute attribute: (identifier))) in a comment stays
(call
  function: (attribute attribute: (identifier) @method)
  arguments: (argument_list
    (keyword_argument name: (identifier) @kw value: (call function: (_)))
    (call !arguments)
    (subscript value: (_)))
  (#eq? @method "(call function:")) @finding
((call function: (attribute object: (_))) @finding (#eq? @finding "x"))
[(call arguments: (_)) (attribute object: (_))] @finding
"#;
        let rewritten = cheaper_to_compile(source, owners);
        assert_eq!(rewritten.len(), source.len());
        let expected = r#"
; (call function: (attribute attribute: (identifier))) in a comment stays
(call
  function: (_         attribute: (identifier) @method)
  arguments: (argument_list
    (keyword_argument name: (identifier) @kw value: (_    function: (_)))
    (call !arguments)
    (subscript value: (_)))
  (#eq? @method "(call function:")) @finding
((call function: (_         object: (_))) @finding (#eq? @finding "x"))
[(call arguments: (_)) (attribute object: (_))] @finding
"#;
        assert_eq!(rewritten, expected);
        Query::new(&crate::scan::language(), &rewritten).unwrap();
    }

    /// A match: its pattern, and its captures by index and byte range.
    type Match = (usize, Vec<(u32, usize, usize)>);

    /// Every match, sorted.
    fn matches(query: &Query, source: &[u8]) -> Vec<Match> {
        let tree = crate::scan::parse(std::str::from_utf8(source).unwrap())
            .unwrap()
            .tree;
        let mut cursor = QueryCursor::new();
        let mut found = Vec::new();
        let mut each = cursor.matches(query, tree.root_node(), source);
        while let Some(m) = each.next() {
            let mut captures: Vec<_> = m
                .captures()
                .iter()
                .map(|c| (c.index, c.node.start_byte(), c.node.end_byte()))
                .collect();
            captures.sort_unstable();
            found.push((m.pattern_index, captures));
        }
        found.sort();
        found
    }

    #[test]
    fn the_rewritten_rules_match_the_fixtures_as_written() {
        let source: String = crate::rules::all()
            .iter()
            .filter(|rule| rule.target == crate::rules::Target::Python)
            .map(|rule| format!("{}\n", rule.query))
            .collect();
        let rewritten = cheaper_to_compile(&source, FieldOwners::python());
        assert_ne!(rewritten, source, "the rules have nodes to rewrite");
        let (written, cheaper) = (
            Query::new(&crate::scan::language(), &source).unwrap(),
            Query::new(&crate::scan::language(), &rewritten).unwrap(),
        );
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut compared = 0;
        for dir in ["tests/fixtures", "examples"] {
            for entry in walkdir_py(&root.join(dir)) {
                let text = std::fs::read(&entry).unwrap();
                let expected = matches(&written, &text);
                assert_eq!(matches(&cheaper, &text), expected, "{}", entry.display());
                compared += usize::from(!expected.is_empty());
            }
        }
        assert!(compared >= 30, "only {compared} fixtures had matches");
    }

    /// The `.py` files under `dir`.
    fn walkdir_py(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
        ignore::WalkBuilder::new(dir)
            .standard_filters(false)
            .build()
            .filter_map(Result::ok)
            .map(ignore::DirEntry::into_path)
            .filter(|path| path.extension().is_some_and(|ext| ext == "py"))
            .collect()
    }
}
