//! Qualified names, resolved through a file's imports, as ruff's
//! `resolve_qualified_name` does: `from pickle import loads as l; l(x)` calls
//! `pickle.loads`, and `import xml.etree.ElementTree as ET; ET.parse(f)` calls
//! `xml.etree.ElementTree.parse`.

use std::{collections::HashMap, sync::LazyLock};

use tree_sitter::Node;

use super::{FileContext, text};
use crate::model::syntax::NodeExt;

/// Local name bound by an import → the qualified name it stands for.
#[derive(Debug, Default, PartialEq)]
pub struct ImportTable {
    bindings: HashMap<String, String>,
}

impl ImportTable {
    /// Collects every import of the file, at any depth (imports inside functions
    /// count too; a later import of the same name wins).
    pub fn of(root: Node, source: &[u8]) -> Self {
        let mut table = Self::default();
        let mut cursor = root.walk();
        let mut stack = vec![root];
        while let Some(node) = stack.pop() {
            if is_import(node) {
                table.add(node, source);
            } else if holds_statements(node) {
                // Imports are statements: only what holds statements is entered,
                // not the simple statements and expressions that are most of a file.
                stack.extend(node.named_children(&mut cursor));
            }
        }
        table
    }

    /// The same table from the file's import statements already found, in
    /// document order, by a walk that entered only what holds statements (as
    /// [`Bindings`](super::bindings::Bindings) gathers them): the first import
    /// of a name wins, as in [`Self::of`], which meets them last to first.
    pub fn of_statements(statements: &[Node], source: &[u8]) -> Self {
        let mut table = Self::default();
        for &statement in statements.iter().rev() {
            table.add(statement, source);
        }
        table
    }

    fn add(&mut self, statement: Node, source: &[u8]) {
        if statement.kind_id() == *IMPORT {
            self.add_import(statement, source);
        } else {
            self.add_import_from(statement, source);
        }
    }

    /// `import a.b.c` binds `a`; `import a.b as c` binds `c` to `a.b`.
    fn add_import(&mut self, node: Node, source: &[u8]) {
        let mut cursor = node.walk();
        for name in node.children_by_field_name("name", &mut cursor) {
            match name.kind_name() {
                "dotted_name" => {
                    let dotted = text(name, source);
                    let head = dotted.split('.').next().unwrap_or(dotted);
                    self.bindings.insert(head.to_string(), head.to_string());
                }
                "aliased_import" => self.add_alias(name, source, ""),
                _ => {}
            }
        }
    }

    /// `from a.b import c as d` binds `d` to `a.b.c`.
    fn add_import_from(&mut self, node: Node, source: &[u8]) {
        let Some(module) = node.field("module_name") else {
            return;
        };
        let prefix = format!("{}.", text(module, source));
        let mut cursor = node.walk();
        for name in node.children_by_field_name("name", &mut cursor) {
            match name.kind_name() {
                "dotted_name" => {
                    let member = text(name, source);
                    self.bindings
                        .insert(member.to_string(), format!("{prefix}{member}"));
                }
                "aliased_import" => self.add_alias(name, source, &prefix),
                _ => {}
            }
        }
    }

    fn add_alias(&mut self, aliased: Node, source: &[u8], prefix: &str) {
        if let (Some(name), Some(alias)) = (aliased.field("name"), aliased.field("alias")) {
            self.bindings.insert(
                text(alias, source).to_string(),
                format!("{prefix}{}", text(name, source)),
            );
        }
    }

    /// Does an import bind `name`?
    /// Does the file import `module` or anything inside it?
    pub fn imports_module(&self, module: &str) -> bool {
        self.bindings.values().any(|qualified| {
            qualified
                .strip_prefix(module)
                .is_some_and(|rest| rest.is_empty() || rest.starts_with('.'))
        })
    }

    pub fn binds(&self, name: &str) -> bool {
        self.bindings.contains_key(name)
    }

    /// The qualified name of a dotted expression (`ET.parse`), or `None` when the
    /// expression is not a plain chain of names (`foo().bar`, `x[0].y`). Names that
    /// no import binds keep their spelling (`eval`, `self.session.get`).
    pub fn qualified_name(&self, node: Node, source: &[u8]) -> Option<String> {
        let dotted = dotted_name(node, source)?;
        let (head, rest) = match dotted.split_once('.') {
            Some((head, rest)) => (head, Some(rest)),
            None => (dotted.as_str(), None),
        };
        let resolved = self.bindings.get(head).map_or(head, String::as_str);
        Some(match rest {
            Some(rest) => format!("{resolved}.{rest}"),
            None => resolved.to_string(),
        })
    }
}

/// The nodes a statement can be a child of (compound statements, their clauses
/// and bodies).
const HOLDS_STATEMENTS: &[&str] = &[
    "module",
    "block",
    "decorated_definition",
    "function_definition",
    "class_definition",
    "if_statement",
    "elif_clause",
    "else_clause",
    "for_statement",
    "while_statement",
    "try_statement",
    "except_clause",
    "except_group_clause",
    "finally_clause",
    "with_statement",
    "match_statement",
    "case_clause",
];

/// `a.b.c` for an identifier or a chain of attributes on one.
fn dotted_name(node: Node, source: &[u8]) -> Option<String> {
    let mut dotted = String::new();
    push_dotted(node, source, &mut dotted)?;
    Some(dotted)
}

fn push_dotted(node: Node, source: &[u8], out: &mut String) -> Option<()> {
    match node.kind_id() {
        kind if kind == *IDENTIFIER => out.push_str(text(node, source)),
        kind if kind == *ATTRIBUTE => {
            push_dotted(node.child_by_field_id(*OBJECT)?, source, out)?;
            out.push('.');
            out.push_str(text(node.child_by_field_id(*ATTRIBUTE_FIELD)?, source));
        }
        _ => return None,
    }
    Some(())
}

// Kinds and fields by number: `kind()` and `child_by_field_name` compare strings.
static IDENTIFIER: LazyLock<u16> = LazyLock::new(|| kind_id("identifier"));
static ATTRIBUTE: LazyLock<u16> = LazyLock::new(|| kind_id("attribute"));
static IMPORT: LazyLock<u16> = LazyLock::new(|| kind_id("import_statement"));
static IMPORT_FROM: LazyLock<u16> = LazyLock::new(|| kind_id("import_from_statement"));
/// `HOLDS_STATEMENTS` by kind id (comparing ids, not names, for every statement).
static HOLDS_STATEMENT_IDS: LazyLock<Vec<bool>> = LazyLock::new(|| {
    let mut holds = vec![false; super::language().node_kind_count()];
    for kind in HOLDS_STATEMENTS {
        if let Some(slot) = holds.get_mut(usize::from(kind_id(kind))) {
            *slot = true;
        }
    }
    holds
});
static OBJECT: LazyLock<u16> = LazyLock::new(|| field_id("object"));
static ATTRIBUTE_FIELD: LazyLock<u16> = LazyLock::new(|| field_id("attribute"));

/// Can a node of this kind hold statements (module, block, compound
/// statements and their clauses)?
pub(super) fn holds_statements(node: Node) -> bool {
    HOLDS_STATEMENT_IDS.get(usize::from(node.kind_id())) == Some(&true)
}

/// Is the node an `import` or `from ... import` statement (not `from
/// __future__ import`, which binds no name)?
pub(super) fn is_import(node: Node) -> bool {
    let kind = node.kind_id();
    kind == *IMPORT || kind == *IMPORT_FROM
}

fn kind_id(kind: &str) -> u16 {
    super::language().id_for_node_kind(kind, true)
}

fn field_id(field: &str) -> u16 {
    super::language()
        .field_id_for_name(field)
        .map_or(0, u16::from)
}

/// Does a qualified name match a pattern (`pickle.loads`, or `requests.*` for any member)?
pub fn pattern_matches(pattern: &str, qualified: &str) -> bool {
    match pattern.strip_suffix(".*") {
        Some(prefix) => qualified
            .strip_prefix(prefix)
            .is_some_and(|rest| rest.starts_with('.')),
        None => pattern == qualified,
    }
}

/// Check `qualname`.
pub fn qualname_matches<'t>(ctx: &FileContext<'t>, node: Node<'t>, patterns: &[&str]) -> bool {
    ctx.qualified_name(node)
        .is_some_and(|name| patterns.iter().any(|p| pattern_matches(p, &name)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{bindings::Bindings, test_support::Snippet};

    fn resolve(source: &str, expression: &str) -> Option<String> {
        let snippet = Snippet::new(source);
        let table = ImportTable::of(snippet.root(), source.as_bytes());
        let kind = if expression.contains('.') {
            "attribute"
        } else {
            "identifier"
        };
        table.qualified_name(snippet.find(kind, expression), source.as_bytes())
    }

    #[test]
    fn resolves_aliases_of_modules_and_members() {
        let source = "import pickle\nimport xml.etree.ElementTree as ET\nfrom pickle import loads as l\nfrom os import path\n\
                      pickle.loads(b)\nET.parse(f)\nl(x)\npath.join(a)\n";
        assert_eq!(
            resolve(source, "pickle.loads").as_deref(),
            Some("pickle.loads")
        );
        assert_eq!(
            resolve(source, "ET.parse").as_deref(),
            Some("xml.etree.ElementTree.parse")
        );
        assert_eq!(resolve(source, "l").as_deref(), Some("pickle.loads"));
        assert_eq!(
            resolve(source, "path.join").as_deref(),
            Some("os.path.join")
        );
    }

    #[test]
    fn import_of_a_dotted_module_binds_its_head() {
        let source = "import os.path\nos.path.join(a, b)\n";
        assert_eq!(
            resolve(source, "os.path.join").as_deref(),
            Some("os.path.join")
        );
    }

    #[test]
    fn imports_inside_functions_count() {
        let source = "def f(data):\n    from yaml import load\n    return load(data)\n";
        assert_eq!(resolve(source, "load").as_deref(), Some("yaml.load"));
    }

    #[test]
    fn imports_in_every_kind_of_block_count() {
        let source = "\
try:
    import ujson as json
except ImportError:
    import json as fallback
else:
    pass
finally:
    from os import path
if TYPE_CHECKING:
    from a import b
elif x:
    from c import d
class K:
    from e import f
    @decorator
    def m(self):
        with g:
            while h:
                for i in j:
                    match k:
                        case 1:
                            from pickle import loads
";
        let snippet = Snippet::new(source);
        let table = ImportTable::of(snippet.root(), source.as_bytes());
        for (local, qualified) in [
            ("json", "ujson"),
            ("fallback", "json"),
            ("path", "os.path"),
            ("b", "a.b"),
            ("d", "c.d"),
            ("f", "e.f"),
            ("loads", "pickle.loads"),
        ] {
            assert_eq!(
                table.bindings.get(local).map(String::as_str),
                Some(qualified),
                "{local}"
            );
        }
    }

    #[test]
    fn the_bindings_walk_finds_the_same_imports() {
        // Shadowed names (the first import wins), every kind of block, and
        // imports inside an error, which the statement walk does not enter.
        let source = "\
import json as j
from os import path
def f():
    from a import path
    import yaml as j
class K:
    try:
        import ujson as u
    except ImportError:
        from b import u
f(x for
import pickle as e)
";
        let snippet = Snippet::new(source);
        let bindings = Bindings::of(&snippet.tree, source.as_bytes());
        let walked = ImportTable::of(snippet.root(), source.as_bytes());
        let gathered = ImportTable::of_statements(bindings.imports(), source.as_bytes());
        // Some import sits inside an error, out of the file's statements.
        let everywhere = snippet
            .nodes()
            .into_iter()
            .filter(|n| is_import(*n))
            .count();
        assert!(bindings.imports().len() < everywhere);
        assert_eq!(walked.bindings.get("j").map(String::as_str), Some("json"));
        assert_eq!(
            walked.bindings.get("path").map(String::as_str),
            Some("os.path")
        );
        assert_eq!(walked.bindings.get("e"), None);
        assert_eq!(gathered, walked);
    }

    #[test]
    fn unbound_names_keep_their_spelling() {
        let source = "eval(x)\nself.session.get(url)\n";
        assert_eq!(resolve(source, "eval").as_deref(), Some("eval"));
        assert_eq!(
            resolve(source, "self.session.get").as_deref(),
            Some("self.session.get")
        );
    }

    #[test]
    fn calls_in_the_chain_have_no_qualified_name() {
        let source = "import pickle\nfoo().loads(x)\n";
        assert_eq!(resolve(source, "foo().loads"), None);
    }

    #[test]
    fn wildcard_patterns_match_members_only() {
        assert!(pattern_matches("requests.*", "requests.get"));
        assert!(pattern_matches("requests.*", "requests.Session.get"));
        assert!(!pattern_matches("requests.*", "requests"));
        assert!(!pattern_matches("requests.*", "requests_oauthlib.get"));
        assert!(pattern_matches("pickle.loads", "pickle.loads"));
        assert!(!pattern_matches("pickle.loads", "pickle.load"));
    }
}
