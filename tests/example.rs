//! The bundled example integration: its findings are pinned by a snapshot, so a
//! change in any rule's behaviour on realistic code shows up in review.

use hassec::{config::Config, scan::Scanner};

#[test]
fn the_example_integration_findings() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    std::env::set_current_dir(root).unwrap();
    let scanner = Scanner::new(&Config::default()).unwrap();
    let report = scanner.scan_paths(&["examples".into()], false);
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    let lines: Vec<String> = report
        .findings
        .iter()
        .map(|f| {
            format!(
                "{}:{}:{}: {} [{}] {}",
                f.path,
                f.start.line,
                f.start.column,
                f.rule.id,
                f.level(),
                f.message
            )
        })
        .collect();
    insta::assert_snapshot!(lines.join("\n"));
}
