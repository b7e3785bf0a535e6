//! SQL text built from values: is a query string interpolated?

use std::sync::LazyLock;

use regex::Regex;
use tree_sitter::Node;

use super::{FileContext, literals::is_literal};
use crate::model::{internal::is_internal, syntax::NodeExt};

/// Words that make a string SQL rather than any text passed to an `execute` method.
static SQL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)\b(select\b.+\bfrom|insert\s+(or\s+\w+\s+)?into|update\b.+\bset|delete\s+from|(create|drop)\s+(temp\w*\s+)?(table|index|view|trigger)|alter\s+table|pragma|vacuum|where)\b",
    )
    .unwrap()
});

/// A module constant by convention: `TABLE_STATES`, `Base.TABLE`, `_QUERY`.
static UPPER_CASE: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"^_?[A-Z][A-Z0-9_]*$").unwrap());

/// Check `dynamic-sql`: the expression (or the value last assigned to the local it
/// names, in the same function) is SQL text built with an f-string, `%`, `+` or
/// `.format` from parts that are not constants. Literals and UPPER_CASE names
/// (module constants by convention) are constants.
pub fn dynamic_sql<'t>(ctx: &FileContext<'t>, node: Node<'t>, _: &[&str]) -> bool {
    if node.kind_name() == "identifier" {
        return assigned_values(ctx, node)
            .into_iter()
            .any(|value| built_from_values(ctx, value));
    }
    built_from_values(ctx, node)
}

/// The values assigned to the local `name` before it is used, in the same function:
/// the last plain assignment, and every `+=` after it.
fn assigned_values<'t>(ctx: &FileContext<'t>, name: Node<'t>) -> Vec<Node<'t>> {
    let scope = crate::model::enclosing_scope(ctx, name);
    let spelled = ctx.text(name);
    let mut values = Vec::new();
    let mut stack = vec![scope];
    let mut found = Vec::new();
    while let Some(node) = stack.pop() {
        if node.start_byte() >= name.start_byte() {
            continue;
        }
        if matches!(node.kind_name(), "assignment" | "augmented_assignment")
            && node.field("left").is_some_and(|l| ctx.text(l) == spelled)
            && let Some(right) = node.field("right")
        {
            found.push((node.start_byte(), node.kind_name() == "assignment", right));
        }
        if node.id() != scope.id()
            && matches!(node.kind_name(), "function_definition" | "class_definition")
        {
            continue;
        }
        let mut cursor = node.walk();
        stack.extend(node.named_children(&mut cursor));
    }
    found.sort_by_key(|(start, _, _)| *start);
    let last_plain = found.iter().rposition(|(_, plain, _)| *plain).unwrap_or(0);
    values.extend(found[last_plain.min(found.len())..].iter().map(|f| f.2));
    values
}

fn built_from_values<'t>(ctx: &FileContext<'t>, node: Node<'t>) -> bool {
    match node.kind_name() {
        "parenthesized_expression" => node
            .named_child(0)
            .is_some_and(|inner| built_from_values(ctx, inner)),
        "string" => {
            if !SQL.is_match(ctx.text(node)) {
                return false;
            }
            // Walk the f-string in order, knowing the SQL text before each interpolation.
            let mut before = String::new();
            let mut cursor = node.walk();
            for child in node.children(&mut cursor) {
                match child.kind_name() {
                    "interpolation" => {
                        let dynamic = child.field("expression").is_some_and(|e| !constant(ctx, e));
                        if dynamic && value_position(&before) {
                            return true;
                        }
                        before.push('X');
                    }
                    "string_content" | "escape_sequence" => before.push_str(ctx.text(child)),
                    _ => {}
                }
            }
            false
        }
        "binary_operator" => {
            let operator = node.field("operator").map(|o| ctx.text(o)).unwrap_or("");
            let (Some(left), Some(right)) = (node.field("left"), node.field("right")) else {
                return false;
            };
            match operator {
                "%" => {
                    is_sql_text(ctx, left)
                        && !constant(ctx, right)
                        && placeholders_in_value_position(&content(ctx, left), '%')
                }
                "+" => {
                    let mut parts = Vec::new();
                    flatten_sum(ctx, node, &mut parts);
                    if !parts.iter().any(|p| is_sql_text(ctx, *p)) {
                        return false;
                    }
                    let mut before = String::new();
                    for part in parts {
                        if matches!(part.kind_name(), "string" | "concatenated_string") {
                            if built_from_values(ctx, part) {
                                return true;
                            }
                            before.push_str(&content(ctx, part));
                        } else if !constant(ctx, part) && value_position(&before) {
                            return true;
                        } else {
                            before.push('X');
                        }
                    }
                    false
                }
                _ => false,
            }
        }
        "call" => {
            let Some(function) = node.field("function") else {
                return false;
            };
            let Some(template) = function.field("object").filter(|o| is_sql_text(ctx, *o)) else {
                return false;
            };
            function.kind_name() == "attribute"
                && function
                    .field("attribute")
                    .is_some_and(|a| ctx.text(a) == "format")
                && node.field("arguments").is_some_and(|args| {
                    let mut cursor = args.walk();
                    args.named_children(&mut cursor).any(|a| {
                        let value = if a.kind_name() == "keyword_argument" {
                            a.field("value").unwrap_or(a)
                        } else {
                            a
                        };
                        !constant(ctx, value)
                    })
                })
                && placeholders_in_value_position(&content(ctx, template), '{')
        }
        _ => false,
    }
}

/// Is a placeholder written right after `before` where SQL expects a *value*
/// (inside quotes, after a comparison, `LIKE`, `IN (`, `VALUES (`, `LIMIT`, ...)?
/// Elsewhere it stands for an identifier or a clause (`FROM {table}`,
/// `ALTER TABLE {name}`, `calendar.{day}`), which bound parameters cannot
/// replace and which code, not users, chooses.
fn value_position(before: &str) -> bool {
    // Inside a quoted SQL string ('...{x}...'), or right after a double quote.
    if before.matches('\'').count() % 2 == 1 || before.ends_with('"') {
        return true;
    }
    let trimmed = before.trim_end_matches(|c: char| c == '(' || c.is_whitespace());
    if trimmed.ends_with(['=', '<', '>']) {
        return true;
    }
    let word: String = trimmed
        .chars()
        .rev()
        .take_while(char::is_ascii_alphabetic)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    let word_is_whole =
        trimmed.len() == word.len() || !trimmed[..trimmed.len() - word.len()].ends_with(['_', '.']);
    word_is_whole
        && matches!(
            word.to_ascii_lowercase().as_str(),
            "like" | "glob" | "in" | "values" | "limit" | "offset" | "between"
        )
}

/// Does a `%`-format or `.format` template have a placeholder in a value position?
fn placeholders_in_value_position(template: &str, style: char) -> bool {
    let bytes = template.as_bytes();
    let mut index = 0;
    while index < bytes.len() {
        let at_placeholder = match style {
            '%' => {
                bytes[index] == b'%'
                    && bytes
                        .get(index + 1)
                        .is_some_and(|c| matches!(c, b's' | b'd' | b'i' | b'f' | b'r' | b'('))
            }
            _ => bytes[index] == b'{' && bytes.get(index + 1) != Some(&b'{'),
        };
        if at_placeholder && value_position(&template[..index]) {
            return true;
        }
        // Skip an escaped `%%` or `{{`.
        if bytes[index] == style as u8 && bytes.get(index + 1) == Some(&(style as u8)) {
            index += 1;
        }
        index += 1;
    }
    false
}

/// The text of a string or concatenation of strings without its quotes, an
/// interpolation standing as `X`.
fn content<'t>(ctx: &FileContext<'t>, node: Node<'t>) -> String {
    let mut out = String::new();
    let mut cursor = node.walk();
    match node.kind_name() {
        "string" => {
            for child in node.children(&mut cursor) {
                match child.kind_name() {
                    "string_content" | "escape_sequence" => out.push_str(ctx.text(child)),
                    "interpolation" => out.push('X'),
                    _ => {}
                }
            }
        }
        "concatenated_string" | "parenthesized_expression" => {
            for child in node.named_children(&mut cursor) {
                out.push_str(&content(ctx, child));
            }
        }
        _ => out.push('X'),
    }
    out
}

fn flatten_sum<'t>(ctx: &FileContext<'t>, node: Node<'t>, parts: &mut Vec<Node<'t>>) {
    let is_sum = node.kind_name() == "binary_operator"
        && node.field("operator").is_some_and(|o| ctx.text(o) == "+");
    if !is_sum {
        parts.push(node);
        return;
    }
    for field in ["left", "right"] {
        if let Some(child) = node.field(field) {
            flatten_sum(ctx, child, parts);
        }
    }
}

/// A string (or concatenation of strings) that reads as SQL.
fn is_sql_text<'t>(ctx: &FileContext<'t>, node: Node<'t>) -> bool {
    matches!(
        node.kind_name(),
        "string" | "concatenated_string" | "parenthesized_expression"
    ) && SQL.is_match(ctx.text(node))
}

/// Literals, UPPER_CASE names, and tuples, sums and f-strings made only of
/// them; and values the code builds itself (`", ".join("?" * len(row))`, a
/// local list of literals), which no user can rewrite.
fn constant<'t>(ctx: &FileContext<'t>, node: Node<'t>) -> bool {
    if is_literal(ctx, node, &[]) || is_internal(ctx, node, &|_, _| false) {
        return true;
    }
    let mut cursor = node.walk();
    match node.kind_name() {
        "identifier" => UPPER_CASE.is_match(ctx.text(node)),
        "attribute" => node
            .field("attribute")
            .is_some_and(|a| UPPER_CASE.is_match(ctx.text(a))),
        "string" => node
            .named_children(&mut cursor)
            .filter(|c| c.kind_name() == "interpolation")
            .all(|i| i.field("expression").is_some_and(|e| constant(ctx, e))),
        "tuple" | "parenthesized_expression" | "concatenated_string" => node
            .named_children(&mut cursor)
            .filter(|c| c.kind_name() != "comment")
            .all(|c| constant(ctx, c)),
        "binary_operator" => ["left", "right"]
            .iter()
            .all(|f| node.field(f).is_some_and(|c| constant(ctx, c))),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::test_support::Snippet;

    /// Is the first argument of the last `execute(...)` call dynamic SQL?
    fn dynamic(source: &str, call: &str) -> bool {
        let snippet = Snippet::new(source);
        dynamic_sql(&snippet.ctx(), snippet.argument(call, 0), &[])
    }

    #[test]
    fn interpolated_values_are_dynamic() {
        for call in [
            "cur.execute(f\"SELECT * FROM states WHERE entity_id = '{entity_id}'\")",
            "cur.execute(\"DELETE FROM events WHERE id = %s\" % event_id)",
            "cur.execute(\"SELECT name FROM users WHERE id = \" + user_id)",
            "cur.execute(\"UPDATE t SET v = {}\".format(value))",
            "cur.execute(\"SELECT x FROM t WHERE a = %s AND b = %s\" % (A_CONST, b))",
            "cur.execute(f\"SELECT * FROM t WHERE id IN ({ids}) LIMIT 5\")",
            "cur.execute(\"SELECT * FROM t WHERE name LIKE '\" + pattern + \"'\")",
        ] {
            assert!(dynamic(&format!("{call}\n"), call), "{call}");
        }
    }

    #[test]
    fn locals_are_followed_one_step() {
        let source = "def f(cur, name):\n    query = f\"SELECT * FROM t WHERE n = '{name}'\"\n    cur.execute(query)\n\
            def g(cur, name):\n    query = \"SELECT * FROM t WHERE n = ?\"\n    cur.execute(query, (name,))\n";
        assert!(dynamic(source, "cur.execute(query)"));
        assert!(!dynamic(source, "cur.execute(query, (name,))"));
    }

    #[test]
    fn constants_and_bound_parameters_are_not_dynamic() {
        for call in [
            "cur.execute(\"SELECT * FROM states WHERE entity_id = ?\", (entity_id,))",
            "cur.execute(f\"SELECT * FROM {TABLE_STATES} WHERE id = :id\", {\"id\": i})",
            "cur.execute(\"SELECT %s FROM t WHERE x = 1\" % COLUMNS)",
            "cur.execute(\"DELETE FROM \" + Base.TABLE + \" WHERE old = 1\")",
            "api.execute(f\"turn_on {device}\")",
            "cur.execute(f\"SELECT {1} FROM t\")",
            "cur.execute(f\"SELECT * FROM {table} LIMIT 1;\")",
            "cur.execute(f\"ALTER TABLE {table_name} {', '.join(columns)}\")",
            "cur.execute(\"DROP TABLE %s\" % name)",
            "cur.execute(\"SELECT calendar.{} FROM calendar WHERE x = 1\".format(day))",
        ] {
            assert!(!dynamic(&format!("{call}\n"), call), "{call}");
        }
    }
}
