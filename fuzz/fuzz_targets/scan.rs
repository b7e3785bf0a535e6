//! Arbitrary bytes through parse, match, refine and every reporter.
//! Properties: no panic, and the same input gives the same output.

#![no_main]

use std::sync::LazyLock;

use hassec::{
    config::Config,
    report::{self, sarif::SarifOptions},
    scan::{ScanReport, Scanner},
};
use libfuzzer_sys::fuzz_target;

static SCANNER: LazyLock<Scanner> =
    LazyLock::new(|| Scanner::new(&Config::default()).expect("default configuration"));

fn render_all(data: &[u8]) -> Vec<String> {
    let result = SCANNER.scan_source("fuzz/input.py", data);
    let report = ScanReport {
        findings: result.findings,
        suppressed: result.suppressed,
        errors: result.error.into_iter().collect(),
        files_scanned: 1,
        ..ScanReport::default()
    };
    vec![
        report::text::render(&report, true),
        report::json::render(&report.findings),
        report::markdown::render(&report),
        report::github::render(&report.findings),
        report::sarif::render(&report, SCANNER.rules(), &SarifOptions::default()),
    ]
}

fuzz_target!(|data: &[u8]| {
    let first = render_all(data);
    let second = render_all(data);
    assert_eq!(first, second, "the same input must give the same output");
});
