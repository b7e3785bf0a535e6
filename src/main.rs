//! The `hassec` command line.

mod cli;
mod progress;

use std::process::ExitCode;

fn main() -> ExitCode {
    match cli::run() {
        Ok(code) => code,
        Err(error) => {
            anstream::eprintln!("hassec: error: {error:#}");
            ExitCode::from(2)
        }
    }
}
