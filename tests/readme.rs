//! The README tells the truth about the rules.

#[test]
fn the_readme_rule_table_matches_the_rule_files() {
    let readme = include_str!("../README.md");
    let rows: Vec<&str> = readme
        .lines()
        .filter(|line| line.starts_with("| [HAS"))
        .collect();
    let rules = hassec::rules::all();
    assert_eq!(rows.len(), rules.len(), "one README row per rule");
    for (row, rule) in rows.iter().zip(rules) {
        let cells: Vec<&str> = row.split('|').map(str::trim).collect();
        assert!(cells[1].starts_with(&format!("[{}]", rule.id)), "{row}");
        assert_eq!(cells[2], format!("`{}`", rule.name), "{row}");
        assert_eq!(cells[3], rule.level.as_str(), "{row}");
        assert_eq!(cells[4], rule.security_severity, "{row}");
        assert_eq!(cells[5], format!("CWE-{}", rule.cwe), "{row}");
        assert_eq!(cells[6], rule.checklist, "{row}");
    }
}
