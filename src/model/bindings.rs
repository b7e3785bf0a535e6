//! Scopes and bindings of one file, gathered in one walk of its tree: what each
//! name, `self.` attribute and dictionary item is assigned, which functions the
//! file defines and where they are called. Value flow (`values.rs`) asks these
//! tables instead of walking the tree again per question.

use rustc_hash::FxHashMap;
use tree_sitter::{Node, Tree};

use super::imports::{holds_statements, is_import};
use super::parents::Parents;
use super::text;
use crate::model::syntax::NodeExt;

/// A scope's id: the node id of its function, class or module.
pub type ScopeId = usize;

/// One assignment of a value to a name, in a scope.
#[derive(Debug, Clone, Copy)]
pub struct Assignment<'t> {
    /// The statement (for ordering, and for the block it sits in).
    pub statement: Node<'t>,
    pub value: Node<'t>,
}

/// One store into a container: `c[key] = value`, `c.update({...})`, `c.setdefault(key, value)`.
#[derive(Debug, Clone, Copy)]
pub struct ItemStore<'t> {
    /// `None` for a merged mapping (`c.update(m)`, `c |= m`): every key of `value`.
    pub key: Option<Node<'t>>,
    pub value: Node<'t>,
}

/// What one walk of a file finds.
#[derive(Default)]
pub struct Bindings<'t> {
    /// Per function (or the module), each name's assignments in source order.
    locals: FxHashMap<ScopeId, FxHashMap<&'t str, Vec<Assignment<'t>>>>,
    /// Per function (or the module), all of those in source order (the walk's).
    in_order: FxHashMap<ScopeId, Vec<Assignment<'t>>>,
    /// Per class, each `self.NAME` attribute's assigned values (any method) and
    /// the class body's `NAME = value`.
    slots: FxHashMap<ScopeId, FxHashMap<&'t str, Vec<Node<'t>>>>,
    /// Per scope (a function, or a class for `self.` containers), the items
    /// stored into each container, by the container's text (`data`, `self._data`).
    items: FxHashMap<(ScopeId, &'t str), Vec<ItemStore<'t>>>,
    /// Per function (or the module), what is added to each local list:
    /// `xs.append(v)`, `xs.insert(i, v)`, `xs.extend(vs)` (`vs` itself).
    appended: FxHashMap<(ScopeId, &'t str), Vec<Node<'t>>>,
    /// Every function and method the file defines, by name.
    functions: FxHashMap<&'t str, Vec<Node<'t>>>,
    /// Every call of a plain name or of `self.NAME`, by that name.
    calls: FxHashMap<&'t str, Vec<Node<'t>>>,
    /// The import statements among the file's statements, in document order
    /// (not those inside an expression or an error).
    imports: Vec<Node<'t>>,
    /// Each named node the walk met, with its parent.
    parents: Parents<'t>,
}

/// Whether a walk shows the parts of strings without interpolations (their
/// `string_start`, `string_content`, `escape_sequence` and `string_end`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StringParts {
    Visited,
    Skipped,
}

/// A string without interpolations: no `f` (or `t`) before its quote.
fn is_plain_string(node: Node, source: &[u8]) -> bool {
    if node.kind_name() != "string" {
        return false;
    }
    let prefix = &source[node.start_byte()..];
    // A prefix is at most two letters (`rb`, `fR`).
    match prefix.iter().take(3).position(|&b| b == b'"' || b == b'\'') {
        Some(quote) => !prefix[..quote]
            .iter()
            .any(|b| matches!(b, b'f' | b'F' | b't' | b'T')),
        None => false,
    }
}

impl<'t> Bindings<'t> {
    /// One walk of `tree` with one cursor, through its named nodes.
    pub fn of(tree: &'t Tree, source: &'t [u8]) -> Self {
        Self::gathered(tree, source, StringParts::Skipped, |_| {})
    }

    /// The same walk, showing `visit` every named node in document order (but
    /// the parts of strings without interpolations, when `string_parts` says
    /// so): the engine finds the nodes to match in it, instead of walking the
    /// tree again.
    pub fn gathered(
        tree: &'t Tree,
        source: &'t [u8],
        string_parts: StringParts,
        mut visit: impl FnMut(Node<'t>),
    ) -> Self {
        let mut bindings = Self::default();
        let root = tree.root_node();
        // The scopes the walk is inside: (depth of the node that opened it,
        // innermost function or module, innermost class).
        let mut scopes: Vec<(usize, ScopeId, Option<ScopeId>)> = vec![(0, root.id(), None)];
        let mut cursor = root.walk();
        let mut depth = 0;
        // The depth of the outermost node the walk is inside that holds no
        // statements: imports below it are not statements of the file.
        let mut off_statements: Option<usize> = None;
        // Where the nodes the walk is inside are recorded in `parents`.
        let mut path: Vec<u32> = Vec::new();
        loop {
            let node = cursor.node();
            path.truncate(depth);
            while scopes.len() > 1 && scopes.last().is_some_and(|&(at, ..)| at >= depth) {
                scopes.pop();
            }
            if off_statements.is_some_and(|at| at >= depth) {
                off_statements = None;
            }
            let (scope, class) = scopes.last().map_or((root.id(), None), |&(_, s, c)| (s, c));
            let (kind, recorded) = if node.is_named() {
                visit(node);
                let parent = path.last().copied();
                (node.kind_name(), bindings.parents.push(node, parent))
            } else {
                ("", u32::MAX)
            };
            let inner = match kind {
                "function_definition" => {
                    if let Some(name) = node.field("name") {
                        bindings
                            .functions
                            .entry(text(name, source))
                            .or_default()
                            .push(node);
                    }
                    Some((node.id(), class))
                }
                "lambda" => Some((node.id(), class)),
                "class_definition" => Some((node.id(), Some(node.id()))),
                "assignment" | "augmented_assignment" => {
                    bindings.assignment(node, scope, class, source);
                    None
                }
                "for_statement" => {
                    bindings.loop_target(node, scope, source);
                    None
                }
                "call" => {
                    bindings.call(node, scope, class, source);
                    None
                }
                _ => None,
            };
            // Only named nodes are entered, as `named_children` would; not the
            // quotes and text of a plain string, which bind nothing (a file
            // has many strings).
            let enter = node.is_named()
                && !(string_parts == StringParts::Skipped && is_plain_string(node, source));
            if off_statements.is_none() && is_import(node) {
                bindings.imports.push(node);
            }
            if enter && cursor.goto_first_child() {
                path.push(recorded);
                if let Some((inner_scope, inner_class)) = inner {
                    scopes.push((depth, inner_scope, inner_class));
                }
                if off_statements.is_none() && !holds_statements(node) {
                    off_statements = Some(depth);
                }
                depth += 1;
                continue;
            }
            loop {
                if depth > 0 && cursor.goto_next_sibling() {
                    break;
                }
                if !cursor.goto_parent() {
                    return bindings;
                }
                depth -= 1;
            }
        }
    }

    fn assignment(
        &mut self,
        node: Node<'t>,
        scope: ScopeId,
        class: Option<ScopeId>,
        source: &'t [u8],
    ) {
        let (Some(left), Some(right)) = (node.field("left"), node.field("right")) else {
            return;
        };
        let augmented = node.kind_name() == "augmented_assignment";
        match left.kind_name() {
            "identifier" if augmented => {
                // `d |= m` merges; `s += t` keeps what `s` held and adds `t`.
                self.items
                    .entry((scope, text(left, source)))
                    .or_default()
                    .push(ItemStore {
                        key: None,
                        value: right,
                    });
                self.add_local(scope, text(left, source), node, right);
            }
            "identifier" => {
                self.add_local(scope, text(left, source), node, right);
                if class == Some(scope) {
                    self.add_slot(scope, text(left, source), right);
                }
            }
            "pattern_list" | "tuple_pattern"
                if right.kind_name() == "expression_list" || right.kind_name() == "tuple" =>
            {
                // `a, b = x, y`: pairwise.
                let mut lc = left.walk();
                let mut rc = right.walk();
                for (target, value) in left
                    .named_children(&mut lc)
                    .zip(right.named_children(&mut rc))
                {
                    if target.kind_name() == "identifier" {
                        self.add_local(scope, text(target, source), node, value);
                    }
                }
            }
            "attribute" => {
                if let (Some(class), Some(name)) = (class, self_attribute(left, source)) {
                    self.add_slot(class, name, right);
                    if augmented {
                        self.items
                            .entry((class, text(left, source)))
                            .or_default()
                            .push(ItemStore {
                                key: None,
                                value: right,
                            });
                    }
                }
            }
            "subscript" => {
                let (Some(container), Some(key)) = (left.field("value"), left.field("subscript"))
                else {
                    return;
                };
                if let Some(owner) = container_scope(container, scope, class, source) {
                    self.items
                        .entry((owner, text(container, source)))
                        .or_default()
                        .push(ItemStore {
                            key: Some(key),
                            value: right,
                        });
                }
            }
            _ => {}
        }
    }

    /// `for x in xs`: `x` is bound to an element of `xs`, recorded as the
    /// iterable itself. Of `for k, v in d.items()` (or `enumerate(xs)`) only the
    /// last name is bound so: the value, not the key or the index.
    fn loop_target(&mut self, node: Node<'t>, scope: ScopeId, source: &'t [u8]) {
        let (Some(left), Some(right)) = (node.field("left"), node.field("right")) else {
            return;
        };
        let target = match left.kind_name() {
            "identifier" => Some(left),
            "pattern_list" | "tuple_pattern" => {
                let count = left.named_child_count();
                left.named_child(count.saturating_sub(1) as u32)
                    .filter(|last| last.kind_name() == "identifier")
            }
            _ => None,
        };
        if let Some(target) = target {
            self.add_local(scope, text(target, source), node, right);
        }
    }

    fn call(&mut self, node: Node<'t>, scope: ScopeId, class: Option<ScopeId>, source: &'t [u8]) {
        let Some(function) = node.field("function") else {
            return;
        };
        match function.kind_name() {
            "identifier" => {
                self.calls
                    .entry(text(function, source))
                    .or_default()
                    .push(node);
            }
            "attribute" => {
                let (Some(object), Some(method)) =
                    (function.field("object"), function.field("attribute"))
                else {
                    return;
                };
                let method_name = text(method, source);
                if matches!(text(object, source), "self" | "cls") {
                    self.calls.entry(method_name).or_default().push(node);
                }
                if matches!(method_name, "append" | "insert" | "extend")
                    && object.kind_name() == "identifier"
                {
                    // The value is the last argument (`insert`'s first is the index).
                    let last = (node.field("arguments"))
                        .and_then(|arguments| arguments.parts().last().copied());
                    if let Some(value) = last {
                        self.appended
                            .entry((scope, text(object, source)))
                            .or_default()
                            .push(value);
                    }
                    return;
                }
                // `c.update(m)`, `c.update(k=v)`, `c.setdefault(k, v)`.
                if !matches!(method_name, "update" | "setdefault") {
                    return;
                }
                let Some(owner) = container_scope(object, scope, class, source) else {
                    return;
                };
                let Some(arguments) = node.field("arguments") else {
                    return;
                };
                let mut cursor = arguments.walk();
                let args: Vec<Node<'t>> = arguments.named_children(&mut cursor).collect();
                let stores: Vec<ItemStore<'t>> = match method_name {
                    "update" => args
                        .iter()
                        .map(|arg| match arg.kind_name() {
                            "keyword_argument" => ItemStore {
                                key: arg.field("name"),
                                value: arg.field("value").unwrap_or(*arg),
                            },
                            _ => ItemStore {
                                key: None,
                                value: *arg,
                            },
                        })
                        .collect(),
                    "setdefault" if args.len() == 2 => vec![ItemStore {
                        key: Some(args[0]),
                        value: args[1],
                    }],
                    _ => Vec::new(),
                };
                if !stores.is_empty() {
                    self.items
                        .entry((owner, text(object, source)))
                        .or_default()
                        .extend(stores);
                }
            }
            _ => {}
        }
    }

    fn add_local(&mut self, scope: ScopeId, name: &'t str, statement: Node<'t>, value: Node<'t>) {
        let assignment = Assignment { statement, value };
        self.locals
            .entry(scope)
            .or_default()
            .entry(name)
            .or_default()
            .push(assignment);
        self.in_order.entry(scope).or_default().push(assignment);
    }

    fn add_slot(&mut self, class: ScopeId, name: &'t str, value: Node<'t>) {
        self.slots
            .entry(class)
            .or_default()
            .entry(name)
            .or_default()
            .push(value);
    }

    /// The assignments of `name` in `scope`, in source order.
    pub fn assignments(&self, scope: ScopeId, name: &str) -> &[Assignment<'t>] {
        self.locals
            .get(&scope)
            .and_then(|names| names.get(name))
            .map_or(&[], Vec::as_slice)
    }

    /// Every assignment of a local in `scope`, in source order.
    pub fn scope_assignments(&self, scope: ScopeId) -> &[Assignment<'t>] {
        self.in_order.get(&scope).map_or(&[], Vec::as_slice)
    }

    /// The values assigned to `self.NAME` in `class` (and `NAME` in its body).
    pub fn slot(&self, class: ScopeId, name: &str) -> &[Node<'t>] {
        self.slots
            .get(&class)
            .and_then(|names| names.get(name))
            .map_or(&[], Vec::as_slice)
    }

    /// The items stored into `container` (its text) in `scope`.
    pub fn items(&self, scope: ScopeId, container: &'t str) -> &[ItemStore<'t>] {
        self.items
            .get(&(scope, container))
            .map_or(&[], Vec::as_slice)
    }

    /// What is added to the local list `name` in `scope` (`append`, `insert`,
    /// `extend`), in source order.
    pub fn appended(&self, scope: ScopeId, name: &'t str) -> &[Node<'t>] {
        self.appended.get(&(scope, name)).map_or(&[], Vec::as_slice)
    }

    /// The functions and methods named `name`.
    pub fn functions(&self, name: &str) -> &[Node<'t>] {
        self.functions.get(name).map_or(&[], Vec::as_slice)
    }

    /// The calls of `name(...)`, `self.name(...)` and `cls.name(...)`.
    pub fn calls(&self, name: &str) -> &[Node<'t>] {
        self.calls.get(name).map_or(&[], Vec::as_slice)
    }

    /// The file's import statements, in document order.
    pub fn imports(&self) -> &[Node<'t>] {
        &self.imports
    }

    /// Each named node's parent, as the walk met them.
    pub fn parents(&self) -> &Parents<'t> {
        &self.parents
    }
}

/// `NAME` of `self.NAME`.
pub fn self_attribute<'s>(node: Node, source: &'s [u8]) -> Option<&'s str> {
    if node.kind_name() != "attribute" {
        return None;
    }
    let object = node.field("object")?;
    (text(object, source) == "self")
        .then(|| node.field("attribute"))
        .flatten()
        .map(|a| text(a, source))
}

/// Where a container's items are kept: a local's in its function, a
/// `self.NAME`'s in its class.
fn container_scope(
    container: Node,
    scope: ScopeId,
    class: Option<ScopeId>,
    source: &[u8],
) -> Option<ScopeId> {
    match container.kind_name() {
        "identifier" => Some(scope),
        "attribute" if self_attribute(container, source).is_some() => class,
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::{Bindings, StringParts};
    use crate::model::test_support::Snippet;

    /// A scope's assignments in source order: plain, augmented, pairwise and
    /// loop targets, not those of a function defined inside it.
    #[test]
    fn a_scopes_assignments_come_in_source_order() {
        let source = "\
def f(x):
    b, a = 1, 2
    a += b
    def g():
        c = 3
    for d in x:
        e = d
";
        let snippet = Snippet::new(source);
        let bindings = Bindings::gathered(
            &snippet.tree,
            source.as_bytes(),
            StringParts::Skipped,
            |_| {},
        );
        let f = snippet.root().named_child(0).unwrap();
        let values: Vec<&str> = bindings
            .scope_assignments(f.id())
            .iter()
            .map(|a| a.value.utf8_text(source.as_bytes()).unwrap())
            .collect();
        // `b, a = 1, 2`, `a += b`, `for d in x`, `e = d`.
        assert_eq!(values, ["1", "2", "b", "x", "d"]);
    }
}
