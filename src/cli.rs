//! Command-line parsing and the `scan`, `rules` and `rule` commands.

use std::{
    io::{IsTerminal, Write},
    path::{Path, PathBuf},
    process::ExitCode,
    sync::Arc,
};

use anyhow::{Context, Result, bail};
use clap::{Parser, Subcommand, ValueEnum};
use hassec::{
    config::{Config, FailOn},
    filter::baseline::Baseline,
    report,
    rules::{self, Rule},
    scan::{ScanReport, Scanner},
};

use crate::progress::Progress;

#[derive(Parser)]
#[command(
    name = "hassec",
    version,
    about = "Security scanner for Home Assistant integrations"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Scan files and directories for security problems.
    Scan(Box<ScanArgs>),
    /// List the rules: id, name, level, the checklist item each enforces, and
    /// where each comes from (built in, or a rule pack's file).
    Rules(RuleSources),
    /// Show a rule's documentation.
    Rule {
        /// Rule id (`HAS501`) or name (`secret-logged`).
        rule: String,
        #[command(flatten)]
        sources: RuleSources,
    },
    /// List the named checks a rule's query can call as predicates.
    Checks,
    /// Test rule packs: run each rule of DIR against its fixture beside it
    /// (`ACME001.py` with `# expect: ACME001` and `# ok` lines); exit 1 when a
    /// finding is missing or unexpected.
    TestRules {
        /// Directories of rule files and their fixtures.
        #[arg(required = true, value_name = "DIR")]
        dirs: Vec<PathBuf>,
    },
    /// Run as a GitHub Actions step: inputs, event and workspace come from the
    /// runner's environment (see README.md).
    #[cfg(feature = "action")]
    Action,
}

/// Where rules come from besides the built-in ones.
#[derive(clap::Args)]
struct RuleSources {
    /// A directory of rule files (a rule pack) to load, besides the
    /// configuration's `extend-rules`; may be repeated.
    #[arg(long = "rules", value_name = "DIR")]
    rules: Vec<PathBuf>,
    /// Configuration file (`.hassec.toml` or `pyproject.toml`) instead of the discovered one.
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Ignore configuration files.
    #[arg(long, conflicts_with = "config")]
    isolated: bool,
}

#[derive(Clone, Copy, ValueEnum)]
enum Format {
    /// `path:line:col: HASnnn message`, then a summary.
    Text,
    /// An array of findings.
    Json,
    /// SARIF 2.1.0, for GitHub code scanning and other SARIF viewers.
    Sarif,
    /// GitHub Actions workflow commands (annotations on the pull request).
    Github,
    /// A report to paste into a pull request or issue comment: a table per level.
    Markdown,
}

#[derive(clap::Args)]
struct ScanArgs {
    /// Files or directories to scan.
    #[arg(default_value = ".")]
    paths: Vec<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value = "text")]
    format: Format,
    /// Write the report to FILE instead of standard output.
    #[arg(long, short, value_name = "FILE")]
    output: Option<PathBuf>,
    /// Exit with 1 when a finding is at or above this level [default: error].
    #[arg(long, value_name = "LEVEL", value_parser = parse_fail_on)]
    fail_on: Option<FailOn>,
    /// Run only these rules (ids, names or id prefixes; comma-separated).
    #[arg(long, value_delimiter = ',', value_name = "RULES")]
    select: Option<Vec<String>>,
    /// Do not run these rules.
    #[arg(long, value_delimiter = ',', value_name = "RULES")]
    ignore: Vec<String>,
    /// Globs of paths not to scan, in addition to the defaults.
    #[arg(long, value_delimiter = ',', value_name = "GLOBS")]
    exclude: Vec<String>,
    /// Apply the excludes to files named on the command line too.
    #[arg(long)]
    force_exclude: bool,
    /// Configuration file (`.hassec.toml` or `pyproject.toml`) instead of the discovered one.
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Ignore configuration files.
    #[arg(long, conflicts_with = "config")]
    isolated: bool,
    /// A directory of rule files (a rule pack) to load, besides the
    /// configuration's `extend-rules`; may be repeated.
    #[arg(long = "rules", value_name = "DIR")]
    rules: Vec<PathBuf>,
    /// Report only the findings not recorded in this baseline file (written by
    /// --write-baseline); overrides `baseline` of the configuration.
    #[arg(long, value_name = "FILE")]
    baseline: Option<PathBuf>,
    /// Record today's findings in FILE as the baseline that later runs compare
    /// with (`--baseline FILE`, or `baseline` in the configuration).
    #[arg(long, value_name = "FILE", conflicts_with = "baseline")]
    write_baseline: Option<PathBuf>,
    /// Print the findings only: no summary, no progress.
    #[arg(long, short)]
    quiet: bool,
    /// Show how many findings each rule produced.
    #[arg(long)]
    statistics: bool,
    /// List `# hassec: ignore` comments that suppress nothing, and exit with 1 if
    /// there are any (scans every file afresh).
    #[arg(long)]
    report_unused_ignores: bool,
    /// Where to cache results between runs.
    #[arg(
        long,
        value_name = "DIR",
        env = "HASSEC_CACHE_DIR",
        default_value = ".hassec_cache"
    )]
    cache_dir: PathBuf,
    /// Scan every file afresh; neither read nor write the cache.
    #[arg(long)]
    no_cache: bool,
    /// SARIF `automationDetails.id`: code scanning's category for this analysis
    /// (e.g. `hassec/`). Only with `--format sarif`.
    #[arg(long, value_name = "NAME")]
    category: Option<String>,
    /// Read and parse the files a scan would scan, match nothing, report nothing:
    /// the baseline of docs/performance.md.
    #[arg(long, hide = true)]
    parse_only: bool,
}

fn parse_fail_on(value: &str) -> Result<FailOn, String> {
    value.parse()
}

pub fn run() -> Result<ExitCode> {
    let cli = Cli::parse();
    match cli.command {
        Command::Scan(args) => scan(*args),
        Command::Rules(sources) => {
            load_rule_sources(&sources)?;
            print_rules();
            Ok(ExitCode::SUCCESS)
        }
        #[cfg(feature = "action")]
        Command::Action => action(),
        Command::Rule { rule, sources } => {
            load_rule_sources(&sources)?;
            let Some(rule) = rules::find(&rule) else {
                bail!("no rule `{rule}`; `hassec rules` lists them");
            };
            anstream::print!("{}", rule_doc(rule));
            Ok(ExitCode::SUCCESS)
        }
        Command::TestRules { dirs } => test_rules(&dirs),
        Command::Checks => {
            for check in hassec::checks::CHECKS {
                let args = if check.needs_strings { " \"...\"" } else { "" };
                anstream::println!("(#{}? @capture{args})\n    {}\n", check.name, check.doc);
            }
            for check in hassec::checks::manifest::MANIFEST_CHECKS {
                anstream::println!("{} (manifest rules)\n    {}\n", check.name, check.doc);
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// The configuration file: `--config`, or the one discovered from `start`;
/// none with `--isolated`.
fn config_file(isolated: bool, config: Option<&Path>, start: &Path) -> Result<Option<Config>> {
    Ok(if isolated {
        None
    } else if let Some(path) = config {
        Some(
            Config::from_file(path)?
                .with_context(|| format!("{}: has no [tool.hassec] table", path.display()))?,
        )
    } else {
        Config::discover(start)?.map(|(_, config)| config)
    })
}

/// Loads the rule packs a configuration names; every error found, one a line.
fn load_rule_packs(config: &Config) -> Result<()> {
    config
        .load_rule_packs(rules::pack::Confine::Anywhere)
        .map_err(rule_errors)?;
    Ok(())
}

fn rule_errors(errors: Vec<rules::RuleError>) -> anyhow::Error {
    let listed: Vec<String> = errors.iter().map(ToString::to_string).collect();
    anyhow::anyhow!(
        "invalid rule file{}:\n{}",
        if errors.len() == 1 { "" } else { "s" },
        listed.join("\n")
    )
}

/// For `hassec rules` and `hassec rule`: the rule packs of the configuration
/// and of `--rules`.
fn load_rule_sources(sources: &RuleSources) -> Result<()> {
    let from_file = config_file(sources.isolated, sources.config.as_deref(), Path::new("."))?;
    let flags = Config {
        extend_rules: sources.rules.clone(),
        ..Config::default()
    };
    load_rule_packs(&from_file.unwrap_or_default().merged_with(flags))
}

/// The configuration file (unless `--isolated`) overridden by the flags, its
/// rule packs loaded.
fn resolve_config(args: &ScanArgs) -> Result<Config> {
    let start = args.paths.first().map_or(Path::new("."), PathBuf::as_path);
    let from_file = config_file(args.isolated, args.config.as_deref(), start)?;
    let flags = Config {
        select: args.select.clone(),
        ignore: args.ignore.clone(),
        exclude: args.exclude.clone(),
        fail_on: args.fail_on,
        baseline: args.baseline.clone(),
        extend_rules: args.rules.clone(),
        ..Config::default()
    };
    let config = from_file.unwrap_or_default().merged_with(flags);
    load_rule_packs(&config)?;
    config.validate().map_err(anyhow::Error::msg)?;
    Ok(config)
}

/// `hassec test-rules`: every rule of the packs against its fixture.
fn test_rules(dirs: &[PathBuf]) -> Result<ExitCode> {
    let mut outcome = rules::testing::Outcome::default();
    for dir in dirs {
        let loaded = rules::pack::load(std::slice::from_ref(dir), rules::pack::Confine::Anywhere)
            .map_err(rule_errors)?;
        let tested = rules::testing::test_rules(&loaded, dir).map_err(anyhow::Error::msg)?;
        outcome.rules += tested.rules;
        outcome.fixtures += tested.fixtures;
        outcome.problems.extend(tested.problems);
        for orphan in rules::testing::orphan_fixtures(&loaded, dir) {
            anstream::eprintln!(
                "hassec: warning: {} is named like a fixture but no rule of {} has that id",
                orphan.display(),
                dir.display()
            );
        }
    }
    for problem in &outcome.problems {
        anstream::println!("{problem}");
    }
    let rules = report::text::plural(outcome.rules, "rule");
    let fixtures = report::text::plural(outcome.fixtures, "fixture");
    if outcome.rules == 0 {
        bail!(
            "no rule files (`*.toml`) in {}",
            dirs.iter()
                .map(|d| d.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    if outcome.passed() {
        anstream::println!("Tested {rules} against {fixtures}: all pass.");
        Ok(ExitCode::SUCCESS)
    } else {
        anstream::println!(
            "Tested {rules} against {fixtures}: {}.",
            report::text::plural(outcome.problems.len(), "problem")
        );
        Ok(ExitCode::from(1))
    }
}

fn scan(args: ScanArgs) -> Result<ExitCode> {
    let config = resolve_config(&args)?;
    if args.category.is_some() && !matches!(args.format, Format::Sarif) {
        bail!("--category is a SARIF field; use it with --format sarif");
    }
    let mut scanner = Scanner::new(&config).map_err(anyhow::Error::msg)?;
    if !args.no_cache {
        scanner = scanner.with_cache(args.cache_dir.clone());
    }
    if args.report_unused_ignores {
        scanner = scanner.reporting_unused_suppressions();
    }
    if args.parse_only {
        let stats = scanner.parse_only(&args.paths, args.force_exclude);
        anstream::eprintln!(
            "parsed {} files ({} bytes); {} could not be read or parsed",
            stats.files,
            stats.bytes,
            stats.failed
        );
        return Ok(ExitCode::SUCCESS);
    }
    // Read first: a bad baseline stops the run before the scan. Writing one
    // records every finding, whatever baseline is configured.
    let baseline = match (&args.write_baseline, &config.baseline) {
        (None, Some(file)) => Some(Baseline::read(file)?),
        _ => None,
    };
    let ci = std::env::var("CI").ok();
    let progress =
        crate::progress::wanted(std::io::stderr().is_terminal(), ci.as_deref(), args.quiet)
            .then(|| Arc::new(Progress::start()));
    if let Some(progress) = &progress {
        scanner = scanner.with_progress(progress.clone());
    }
    let start_time = chrono::Utc::now();
    let mut report = scanner.scan_paths(&args.paths, args.force_exclude);
    let end_time = chrono::Utc::now();
    if let Some(progress) = &progress {
        progress.finish();
    }
    if let Some(file) = &args.write_baseline {
        let written = Baseline::of_findings(file, &report.findings)?;
        written.write()?;
        if !args.quiet {
            anstream::eprintln!(
                "hassec: recorded {} finding{} in the baseline {}",
                written.len(),
                if written.len() == 1 { "" } else { "s" },
                file.display()
            );
        }
        written.apply(&mut report, scanner.rules());
    } else if let Some(baseline) = &baseline {
        baseline.apply(&mut report, scanner.rules());
    }
    for skipped in &report.skipped {
        anstream::eprintln!("hassec: skipped {}: {}", skipped.path, skipped.reason);
    }
    for error in &report.errors {
        anstream::eprintln!("hassec: {}: {}", error.path, error.message);
    }
    if let Some(error) = &report.cache_error {
        anstream::eprintln!("hassec: warning: {error} (use --no-cache or --cache-dir)");
    }
    let rendered = match args.format {
        Format::Text if args.quiet => report::text::render_findings(&report, args.statistics),
        Format::Text => report::text::render(&report, args.statistics),
        Format::Json => report::json::render(&report.findings),
        Format::Sarif => report::sarif::render(
            &report,
            scanner.rules(),
            &report::sarif::SarifOptions {
                category: args.category.clone(),
                start_time: Some(start_time),
                end_time: Some(end_time),
            },
        ),
        Format::Github => report::github::render(&report.findings),
        Format::Markdown => report::markdown::render(&report),
    };
    write_output(args.output.as_deref(), &rendered)?;
    if !args.quiet && (args.output.is_some() || !matches!(args.format, Format::Text)) {
        // Keep the summary visible when the report itself went elsewhere.
        anstream::eprint!("{}", report::text::summary(&report));
    }
    Ok(exit_code(&report, config.fail_on.unwrap_or_default()))
}

fn exit_code(report: &ScanReport, fail_on: FailOn) -> ExitCode {
    if report.fails(fail_on) || !report.unused_suppressions.is_empty() {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

fn write_output(path: Option<&Path>, text: &str) -> Result<()> {
    match path {
        Some(path) => std::fs::write(path, strip_styles(text))
            .with_context(|| format!("cannot write {}", path.display())),
        None => {
            let mut stdout = anstream::stdout().lock();
            stdout
                .write_all(text.as_bytes())
                .context("cannot write to standard output")
        }
    }
}

fn strip_styles(text: &str) -> String {
    anstream::adapter::strip_str(text).to_string()
}

fn print_rules() {
    let bold = anstyle::Style::new().bold();
    let rules = rules::every();
    let width = |column: fn(&Rule) -> &str, at_least: usize| {
        rules
            .iter()
            .map(|rule| column(rule).len())
            .max()
            .unwrap_or(0)
            .max(at_least)
    };
    let id = width(|rule| &rule.id, 7);
    let name = width(|rule| &rule.name, 36);
    let source = width(Rule::source, 8);
    anstream::println!(
        "{bold}{:<id$} {:<name$} {:<8} {:<source$} CHECKLIST ITEM{bold:#}",
        "ID",
        "NAME",
        "LEVEL",
        "SOURCE"
    );
    for rule in rules {
        anstream::println!(
            "{:<id$} {:<name$} {:<8} {:<source$} {}",
            rule.id,
            rule.name,
            rule.level.as_str(),
            rule.source(),
            rule.checklist
        );
    }
}

/// A rule's documentation for the terminal, like `ruff rule`.
fn rule_doc(rule: &Rule) -> String {
    format!(
        "# {} {} ({})\n\nLevel: {} · security-severity {} · CWE-{} · precision {}\nChecklist: {}\nSource: {}\n\n{}\n\n{}",
        rule.id,
        rule.name,
        rule.summary,
        rule.level,
        rule.security_severity,
        rule.cwe,
        rule.precision.as_str(),
        rule.checklist,
        rule.source(),
        rule.summary,
        rule.help.trim_start()
    )
}

#[cfg(feature = "action")]
/// The action's entry point: the runner starts the container in the workspace,
/// which `GITHUB_WORKSPACE` names; findings' paths are relative to it.
fn action() -> Result<ExitCode> {
    use hassec::github::{api::Backoff, env::Env};
    let env = Env::from_process();
    if let Some(workspace) = env.path("GITHUB_WORKSPACE") {
        std::env::set_current_dir(&workspace)
            .with_context(|| format!("cannot enter GITHUB_WORKSPACE {}", workspace.display()))?;
    }
    // The first wait between retries and status polls, in milliseconds (default 2 s).
    let backoff = env
        .get("HASSEC_BACKOFF_MS")
        .and_then(|ms| ms.parse().ok())
        .map_or_else(Backoff::default, |ms| {
            Backoff::starting_at(std::time::Duration::from_millis(ms))
        });
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    match runtime.block_on(hassec::github::run(&env, backoff)) {
        Ok(code) => Ok(ExitCode::from(code)),
        Err(error) => {
            println!(
                "{}",
                hassec::github::reporting::message("error", "hassec", &error)
            );
            bail!(error)
        }
    }
}
