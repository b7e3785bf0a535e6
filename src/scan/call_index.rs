//! Call-rooted patterns indexed by the callee their predicates require.
//!
//! Most of the rules' patterns are rooted at a `call` and accept it only for a
//! few callees: `(#qualname? @callee "pickle.loads" ...)` on the call's
//! `function:`, or `(#any-of? @method "get" "post" ...)` on its last name. Run
//! over the whole tree, tree-sitter's query cursor starts every such pattern at
//! every call, and most of its matches are then rejected by that predicate. Here
//! each pattern's gate is read from its own text (the rule files stay the only
//! source), the gates are indexed by name, and a file's calls are looked up in
//! the index: a pattern runs only at the calls its gate lets through, anchored
//! at that node. A gate is implied by one of the pattern's predicates, so the
//! pattern finds exactly what it found when run everywhere.

use std::{collections::HashMap, ops::Range};

use tree_sitter::Node;

use crate::checks::FileContext;

/// What a call's callee must be for a pattern to match it (one of the pattern's
/// predicates, read as a condition on the callee).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Gate {
    /// The callee's qualified name matches one of these (`pickle.loads`, `requests.*`).
    Qualname(Vec<String>),
    /// The callee's last name (`f` of `f(...)`, `m` of `x.m(...)`) is one of these.
    LastName(Vec<String>),
    /// The callee's last name ends with this.
    LastNameSuffix(String),
}

/// The top-level patterns of a query source: each one's byte range (its
/// captures and quantifiers included), in order.
pub fn pattern_spans(source: &str) -> Vec<Range<usize>> {
    let tokens = tokenize(source);
    let mut spans = Vec::new();
    let mut depth = 0usize;
    let mut current: Option<Range<usize>> = None;
    for token in &tokens {
        match token.kind {
            Tok::Open => {
                if depth == 0 {
                    if let Some(span) = current.take() {
                        spans.push(span);
                    }
                    current = Some(token.range.clone());
                }
                depth += 1;
            }
            Tok::Close => {
                depth = depth.saturating_sub(1);
                if let Some(span) = current.as_mut() {
                    span.end = token.range.end;
                }
            }
            _ => {
                if let Some(span) = current.as_mut() {
                    span.end = token.range.end;
                }
            }
        }
    }
    spans.extend(current);
    spans
}

/// The names of the captures a pattern uses, each once.
pub fn capture_names(pattern: &str) -> Vec<String> {
    let mut names: Vec<String> = tokenize(pattern)
        .iter()
        .filter(|token| token.kind == Tok::Capture)
        .map(|token| pattern[token.range.start + 1..token.range.end].to_string())
        .collect();
    names.sort();
    names.dedup();
    names
}

/// The gate of one top-level pattern, when it is rooted at a call and one of
/// its predicates names the callee; `None` for any other pattern (it runs over
/// the whole tree, as before).
pub fn gate_of(pattern: &str) -> Option<Gate> {
    let tokens = tokenize(pattern);
    let mut parser = Parser {
        tokens: &tokens,
        text: pattern,
        at: 0,
        predicates: Vec::new(),
    };
    let mut root = parser.node()?;
    // Trailing captures of the whole pattern.
    while let Some(token) = parser.tokens.get(parser.at) {
        match token.kind {
            Tok::Capture => root.captures.push(parser.slice(token).to_string()),
            Tok::Quantifier => return None,
            _ => {}
        }
        parser.at += 1;
    }
    // A group of one node with its captures and predicates: `((call ...) @x (#p? ...))`.
    while root.kind.is_none() && !root.alternation {
        let mut nodes = root.children.into_iter().filter(|child| !child.literal);
        let only = nodes.next()?;
        if nodes.next().is_some() {
            return None;
        }
        root = only;
    }
    if root.kind.as_deref() != Some("call") || root.quantified {
        return None;
    }
    let function = root
        .children
        .iter()
        .find(|child| child.field.as_deref() == Some("function"))?;
    let whole: Vec<&str> = function.captures.iter().map(String::as_str).collect();
    let last = last_name_captures(function);
    let mut gates = Vec::new();
    for (operator, args) in &parser.predicates {
        let Some((Arg::Capture(capture), strings)) = args.split_first() else {
            continue;
        };
        let strings: Option<Vec<String>> = strings
            .iter()
            .map(|arg| match arg {
                Arg::String(s) => Some(s.clone()),
                Arg::Capture(_) => None,
            })
            .collect();
        let Some(strings) = strings else { continue };
        if strings.is_empty() {
            continue;
        }
        let on_whole = whole.contains(&capture.as_str());
        let on_last = last.contains(capture);
        match operator.as_str() {
            "qualname?" if on_whole => gates.push(Gate::Qualname(strings)),
            "eq?" | "any-of?" if on_last => gates.push(Gate::LastName(strings)),
            "match?" if on_whole || on_last => {
                if let Some(gate) = gate_of_regex(&strings[0]) {
                    gates.push(gate);
                }
            }
            _ => {}
        }
    }
    // The most selective: names first, then qualified names (a wildcard may
    // accept many), then suffixes.
    gates.sort_by_key(|gate| match gate {
        Gate::LastName(_) => 0,
        Gate::Qualname(names) if names.iter().all(|n| !n.ends_with(".*")) => 0,
        Gate::Qualname(_) => 1,
        Gate::LastNameSuffix(_) => 2,
    });
    gates.into_iter().next()
}

/// The captures that are the callee's last name in every form the `function:`
/// node may take.
fn last_name_captures(function: &QNode) -> Vec<String> {
    if function.alternation {
        let mut alternatives = function.children.iter().filter(|child| !child.literal);
        let Some(first) = alternatives.next() else {
            return Vec::new();
        };
        let mut common = last_name_captures(first);
        for other in alternatives {
            let these = last_name_captures(other);
            common.retain(|capture| these.contains(capture));
        }
        return common;
    }
    match function.kind.as_deref() {
        Some("identifier") if !function.quantified => function.captures.clone(),
        Some("attribute" | "_") => function
            .children
            .iter()
            .find(|child| {
                child.field.as_deref() == Some("attribute")
                    && matches!(child.kind.as_deref(), Some("identifier" | "_"))
                    && !child.quantified
            })
            .map(|name| name.captures.clone())
            .unwrap_or_default(),
        _ => Vec::new(),
    }
}

/// A gate implied by a regular expression on the callee's text or last name,
/// for the forms the rules use: `NAME$` (the last name ends with it), and
/// `(^|\.)a\.b$` or `^a\.b$` (the last name is `b`).
fn gate_of_regex(regex: &str) -> Option<Gate> {
    let body = regex.strip_suffix('$')?;
    let (anchored, body) = if let Some(rest) = body.strip_prefix("(^|\\.)") {
        (true, rest)
    } else if let Some(rest) = body.strip_prefix('^') {
        (true, rest)
    } else {
        (false, body)
    };
    let segments: Vec<&str> = body.split("\\.").collect();
    let plain =
        |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
    if !segments.iter().all(|s| plain(s)) {
        return None;
    }
    let last = (*segments.last()?).to_string();
    if anchored || segments.len() > 1 {
        Some(Gate::LastName(vec![last]))
    } else {
        Some(Gate::LastNameSuffix(last))
    }
}

/// The callee of a call as the gates see it.
pub struct Callee<'t> {
    pub function: Node<'t>,
    /// `f` of `f(...)`, `m` of `x.m(...)`; `None` for any other callee.
    pub last_name: Option<&'t str>,
}

impl<'t> Callee<'t> {
    pub fn of(call: Node<'t>, source: &'t [u8]) -> Option<Self> {
        let function = call.child_by_field_name("function")?;
        let name = match function.kind() {
            "identifier" => Some(function),
            "attribute" => function.child_by_field_name("attribute"),
            _ => None,
        };
        Some(Self {
            function,
            last_name: name.and_then(|name| name.utf8_text(source).ok()),
        })
    }
}

/// Gated patterns by the names their gates accept.
#[derive(Default)]
pub struct CallIndex {
    qualified: HashMap<String, Vec<usize>>,
    /// `requests` for `requests.*`.
    qualified_prefix: HashMap<String, Vec<usize>>,
    last_name: HashMap<String, Vec<usize>>,
    last_name_suffix: Vec<(String, usize)>,
    /// Are qualified names needed at all?
    any_qualified: bool,
}

impl CallIndex {
    /// Indexes the gates; a pattern is named by its position in `gates`.
    pub fn new(gates: &[Gate]) -> Self {
        let mut index = Self::default();
        for (id, gate) in gates.iter().enumerate() {
            match gate {
                Gate::Qualname(names) => {
                    index.any_qualified = true;
                    for name in names {
                        match name.strip_suffix(".*") {
                            Some(prefix) => index
                                .qualified_prefix
                                .entry(prefix.to_string())
                                .or_default()
                                .push(id),
                            None => index.qualified.entry(name.clone()).or_default().push(id),
                        }
                    }
                }
                Gate::LastName(names) => {
                    for name in names {
                        index.last_name.entry(name.clone()).or_default().push(id);
                    }
                }
                Gate::LastNameSuffix(suffix) => index.last_name_suffix.push((suffix.clone(), id)),
            }
        }
        index
    }

    /// The patterns whose gate lets this callee through, in order, each once.
    pub fn candidates(&self, ctx: &FileContext, callee: &Callee, out: &mut Vec<usize>) {
        out.clear();
        if let Some(name) = callee.last_name {
            if let Some(ids) = self.last_name.get(name) {
                out.extend_from_slice(ids);
            }
            for (suffix, id) in &self.last_name_suffix {
                if name.ends_with(suffix.as_str()) {
                    out.push(*id);
                }
            }
        }
        if self.any_qualified
            && let Some(qualified) = ctx.qualified_name(callee.function)
        {
            if let Some(ids) = self.qualified.get(&*qualified) {
                out.extend_from_slice(ids);
            }
            for (dot, _) in qualified.match_indices('.') {
                if let Some(ids) = self.qualified_prefix.get(&qualified[..dot]) {
                    out.extend_from_slice(ids);
                }
            }
        }
        out.sort_unstable();
        out.dedup();
    }
}

// --- A small reader of tree-sitter's query syntax: enough to find a pattern's
// root, its `function:` child and the captures and predicates on them.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tok {
    Open,
    Close,
    /// `name` or `_`, or `name:` when followed by a colon (see `Field`).
    Name,
    Field,
    Capture,
    String,
    Predicate,
    Quantifier,
    /// `.` anchor, `!field`.
    Other,
}

struct Token {
    kind: Tok,
    range: Range<usize>,
}

fn tokenize(source: &str) -> Vec<Token> {
    let bytes = source.as_bytes();
    let mut tokens = Vec::new();
    let mut at = 0;
    let is_name = |b: u8| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-' | b'/');
    while at < bytes.len() {
        let start = at;
        let kind = match bytes[at] {
            b';' => {
                at += bytes[at..].iter().take_while(|&&b| b != b'\n').count();
                continue;
            }
            b if b.is_ascii_whitespace() => {
                at += 1;
                continue;
            }
            b'(' | b'[' => {
                at += 1;
                Tok::Open
            }
            b')' | b']' => {
                at += 1;
                Tok::Close
            }
            b'"' => {
                at += 1;
                while at < bytes.len() && bytes[at] != b'"' {
                    at += if bytes[at] == b'\\' { 2 } else { 1 };
                }
                at = (at + 1).min(bytes.len());
                Tok::String
            }
            b'@' | b'#' | b'!' => {
                at += 1;
                while at < bytes.len() && (is_name(bytes[at]) || bytes[at] == b'?') {
                    at += 1;
                }
                match bytes[start] {
                    b'@' => Tok::Capture,
                    b'#' => Tok::Predicate,
                    _ => Tok::Other,
                }
            }
            b'*' | b'+' | b'?' => {
                at += 1;
                Tok::Quantifier
            }
            b if is_name(b) => {
                while at < bytes.len() && is_name(bytes[at]) {
                    at += 1;
                }
                if bytes.get(at) == Some(&b':') {
                    at += 1;
                    Tok::Field
                } else if &source[start..at] == "." {
                    Tok::Other
                } else {
                    Tok::Name
                }
            }
            _ => {
                at += 1;
                Tok::Other
            }
        };
        tokens.push(Token {
            kind,
            range: start..at,
        });
    }
    tokens
}

#[derive(Debug, Default)]
struct QNode {
    /// The node's type (`call`, `_`); `None` for a group or an alternation.
    kind: Option<String>,
    alternation: bool,
    /// An anonymous node (`"="`).
    literal: bool,
    quantified: bool,
    field: Option<String>,
    captures: Vec<String>,
    children: Vec<QNode>,
}

#[derive(Debug)]
enum Arg {
    Capture(String),
    String(String),
}

struct Parser<'a> {
    tokens: &'a [Token],
    text: &'a str,
    at: usize,
    /// Every predicate of the pattern, wherever written: `(operator, args)`.
    predicates: Vec<(String, Vec<Arg>)>,
}

impl<'a> Parser<'a> {
    fn slice(&self, token: &Token) -> &'a str {
        &self.text[token.range.clone()]
    }

    fn peek(&self) -> Option<&'a Token> {
        self.tokens.get(self.at)
    }

    /// One node, group or alternation starting at an opening token, with what follows it.
    fn node(&mut self) -> Option<QNode> {
        let open = self.peek()?;
        if open.kind == Tok::String {
            self.at += 1;
            return Some(QNode {
                literal: true,
                ..QNode::default()
            });
        }
        if open.kind == Tok::Name {
            // A bare `_` or name outside parentheses (a wildcard of any node).
            let kind = self.slice(open).to_string();
            self.at += 1;
            return Some(QNode {
                kind: Some(kind),
                ..QNode::default()
            });
        }
        if open.kind != Tok::Open {
            return None;
        }
        let alternation = self.slice(open) == "[";
        self.at += 1;
        let mut node = QNode {
            alternation,
            ..QNode::default()
        };
        if !alternation && let Some(token) = self.peek() {
            match token.kind {
                Tok::Name => {
                    node.kind = Some(self.slice(token).to_string());
                    self.at += 1;
                }
                Tok::Predicate => {
                    let operator = self.slice(token)[1..].to_string();
                    self.at += 1;
                    let mut args = Vec::new();
                    while let Some(token) = self.peek() {
                        self.at += 1;
                        match token.kind {
                            Tok::Close => break,
                            Tok::Capture => args.push(Arg::Capture(self.slice(token)[1..].into())),
                            Tok::String => {
                                let quoted = self.slice(token);
                                let inner = &quoted[1..quoted.len().saturating_sub(1).max(1)];
                                args.push(Arg::String(unescape(inner)));
                            }
                            _ => {}
                        }
                    }
                    self.predicates.push((operator, args));
                    return Some(QNode {
                        literal: true,
                        ..QNode::default()
                    });
                }
                _ => {}
            }
        }
        let mut field = None;
        while let Some(token) = self.peek() {
            match token.kind {
                Tok::Close => {
                    self.at += 1;
                    break;
                }
                Tok::Field => {
                    let name = self.slice(token);
                    field = Some(name[..name.len() - 1].to_string());
                    self.at += 1;
                }
                Tok::Capture => {
                    let name = self.slice(token)[1..].to_string();
                    if let Some(last) = node.children.last_mut() {
                        last.captures.push(name);
                    }
                    self.at += 1;
                }
                Tok::Quantifier => {
                    if let Some(last) = node.children.last_mut() {
                        last.quantified = true;
                    }
                    self.at += 1;
                }
                Tok::Open | Tok::Name | Tok::String => {
                    let mut child = self.node()?;
                    child.field = field.take();
                    node.children.push(child);
                }
                Tok::Predicate | Tok::Other => self.at += 1,
            }
        }
        Some(node)
    }
}

/// A query string's escapes: `\\` → `\`, `\"` → `"`, `\n` → newline.
fn unescape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            match chars.next() {
                Some('n') => out.push('\n'),
                Some('t') => out.push('\t'),
                Some('r') => out.push('\r'),
                Some('0') => out.push('\0'),
                Some(other) => out.push(other),
                None => out.push('\\'),
            }
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use tree_sitter::Query;

    fn gate(pattern: &str) -> Option<Gate> {
        gate_of(pattern)
    }

    fn names(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| (*s).to_string()).collect()
    }

    #[test]
    fn gates_come_from_predicates_on_the_callee() {
        assert_eq!(
            gate(r#"(call function: (_) @c (#qualname? @c "pickle.loads" "yaml.*")) @finding"#),
            Some(Gate::Qualname(names(&["pickle.loads", "yaml.*"])))
        );
        assert_eq!(
            gate(
                r#"((call function: [(identifier) @m (attribute attribute: (identifier) @m)]) @finding
                  (#any-of? @m "get" "post") (#x? @finding))"#
            ),
            Some(Gate::LastName(names(&["get", "post"])))
        );
        assert_eq!(
            gate(
                r#"(call function: (attribute object: (_) @o attribute: (identifier) @m)
                  (#eq? @m "as_dict") (#match? @o "entry$")) @finding"#
            ),
            Some(Gate::LastName(names(&["as_dict"])))
        );
        assert_eq!(
            gate(r#"(call function: (_) @c (#match? @c "(^|\\.)hass\\.config\\.path$")) @finding"#),
            Some(Gate::LastName(names(&["path"])))
        );
        assert_eq!(
            gate(
                r#"(call function: [(identifier) (attribute)] @f (#match? @f "FormStep$")) @finding"#
            ),
            Some(Gate::LastNameSuffix("FormStep".into()))
        );
    }

    #[test]
    fn patterns_without_a_callee_predicate_have_no_gate() {
        for pattern in [
            // The capture is an argument, not the callee.
            r#"(call arguments: (argument_list (identifier) @c) (#qualname? @c "os.system")) @finding"#,
            // The object, not the name.
            r#"(call function: (attribute object: (identifier) @o) (#eq? @o "self")) @finding"#,
            // Negated.
            r#"(call function: (identifier) @f (#not-eq? @f "print")) @finding"#,
            r#"(call function: (_) @c (#not-qualname? @c "print")) @finding"#,
            // Not rooted at a call.
            r#"((string) @finding (#eq? @finding "x"))"#,
            r#"(subscript value: (call function: (identifier) @f) (#eq? @f "g")) @finding"#,
            // A regular expression that says more than a name.
            r#"(call function: (_) @c (#match? @c "^get_.*$")) @finding"#,
            r#"(call function: (_) @c (#match? @c "(?i)logger$")) @finding"#,
            // The qualified name of the last name alone.
            r#"(call function: (attribute attribute: (identifier) @m) (#qualname? @m "x")) @finding"#,
        ] {
            assert_eq!(gate(pattern), None, "{pattern}");
        }
    }

    #[test]
    fn spans_are_the_patterns_tree_sitter_sees() {
        let source: String = crate::rules::all()
            .iter()
            .filter(|rule| rule.target == crate::rules::Target::Python)
            .map(|rule| format!("{}\n", rule.query))
            .collect();
        let query = Query::new(&crate::scan::language(), &source).unwrap();
        let spans = pattern_spans(&source);
        let starts: Vec<usize> = spans.iter().map(|span| span.start).collect();
        let expected: Vec<usize> = (0..query.pattern_count())
            .map(|index| query.start_byte_for_pattern(index))
            .collect();
        assert_eq!(starts, expected);
        for span in &spans {
            let text = &source[span.clone()];
            let captures: String = capture_names(text)
                .iter()
                .map(|c| format!(" @{c}"))
                .collect();
            let one = Query::new(
                &crate::scan::language(),
                &format!("(comment){captures}\n{text}"),
            );
            assert_eq!(one.unwrap().pattern_count(), 2, "{text}");
        }
        let gated = spans
            .iter()
            .filter(|span| gate_of(&source[(*span).clone()]).is_some())
            .count();
        assert!(gated >= 30, "only {gated} patterns gated");
    }
}
