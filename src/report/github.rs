//! GitHub Actions workflow commands: one `::error`/`::warning`/`::notice` line per
//! finding, which the runner turns into an annotation on the file and line.
//!
//! ```text
//! ::error file=a.py,line=3,col=5,endLine=3,endColumn=42,title=HAS501 secret-logged::message
//! ```
//! Values are escaped exactly as `@actions/core` escapes them, so no file name or
//! message can end the command early or inject another one. Columns are 1-based
//! characters, as the annotation UI counts them.

use std::fmt::Write;

use crate::{finding::Finding, rules::Level};

/// One workflow command per finding, each on its own line.
pub fn render(findings: &[Finding]) -> String {
    let mut out = String::new();
    for finding in findings {
        let _ = writeln!(out, "{}", command(finding));
    }
    out
}

/// The workflow command of one finding (without the newline).
pub fn command(finding: &Finding) -> String {
    let properties = [
        ("file", finding.path.clone()),
        ("line", finding.start.line.to_string()),
        ("col", finding.start.column.to_string()),
        ("endLine", finding.end.line.to_string()),
        ("endColumn", finding.end.column.to_string()),
        (
            "title",
            format!("{} {}", finding.rule.id, finding.rule.name),
        ),
    ];
    let properties: Vec<String> = properties
        .iter()
        .map(|(key, value)| format!("{key}={}", escape_property(value)))
        .collect();
    format!(
        "::{} {}::{}",
        command_name(finding.level()),
        properties.join(","),
        escape_data(&finding.message)
    )
}

fn command_name(level: Level) -> &'static str {
    match level {
        Level::Error => "error",
        Level::Warning => "warning",
        Level::Note => "notice",
    }
}

/// `@actions/core`'s `escapeData`: the message part after `::`.
pub fn escape_data(value: &str) -> String {
    value
        .replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// `@actions/core`'s `escapeProperty`: a `key=value` before `::`, where `:` and `,`
/// would end the value.
pub fn escape_property(value: &str) -> String {
    escape_data(value).replace(':', "%3A").replace(',', "%2C")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::finding::Position;

    fn finding(path: &str, message: &str, level: Level) -> Finding {
        let rule = crate::rules::find("HAS703").expect("built-in rule");
        Finding {
            rule,
            level,
            path: path.to_string(),
            start: Position {
                line: 3,
                column: 5,
                utf16_column: 6,
            },
            end: Position {
                line: 4,
                column: 2,
                utf16_column: 2,
            },
            message: message.to_string(),
            fingerprint: "0:1".to_string(),
            code_fingerprint: String::new(),
        }
    }

    #[test]
    fn one_command_per_finding_with_character_columns() {
        let out = render(&[
            finding("a.py", "bad", Level::Error),
            finding("b.py", "meh", Level::Warning),
            finding("c.py", "fyi", Level::Note),
        ]);
        assert_eq!(
            out,
            "::error file=a.py,line=3,col=5,endLine=4,endColumn=2,title=HAS703 unsafe-deserialization::bad\n\
             ::warning file=b.py,line=3,col=5,endLine=4,endColumn=2,title=HAS703 unsafe-deserialization::meh\n\
             ::notice file=c.py,line=3,col=5,endLine=4,endColumn=2,title=HAS703 unsafe-deserialization::fyi\n"
        );
    }

    #[test]
    fn data_escapes_percent_and_line_breaks_only() {
        assert_eq!(escape_data("100% a:b,c\r\nd"), "100%25 a:b,c%0D%0Ad");
        assert_eq!(
            escape_data("%0A"),
            "%250A",
            "an escape in the input stays literal"
        );
    }

    #[test]
    fn properties_also_escape_colon_and_comma() {
        assert_eq!(escape_property("a,b:c%d\ne"), "a%2Cb%3Ac%25d%0Ae");
    }

    #[test]
    fn hostile_file_names_cannot_break_the_command() {
        let line = command(&finding(
            "dir,line=1/x:y%z\n::error file=evil.py::pwned.py",
            "msg\n::warning::injected",
            Level::Error,
        ));
        assert!(!line.contains('\n'), "{line}");
        assert!(line.starts_with(
            "::error file=dir%2Cline=1/x%3Ay%25z%0A%3A%3Aerror file=evil.py%3A%3Apwned.py,line=3,"
        ));
        assert!(line.ends_with("::msg%0A::warning::injected"), "{line}");
        // Exactly one `::` separates the properties from the message.
        let head = line.strip_prefix("::error ").unwrap();
        let (properties, _) = head.split_once("::").unwrap();
        assert_eq!(properties.split(',').count(), 6, "{properties}");
    }
}
