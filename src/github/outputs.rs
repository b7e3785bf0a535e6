//! Step outputs and the job summary: files the runner names in `GITHUB_OUTPUT`
//! and `GITHUB_STEP_SUMMARY`, appended to (other steps' lines may be there).

use std::{fs::OpenOptions, io::Write, path::Path};

/// `name=value` lines; a value with a line break uses the runner's heredoc form
/// with a delimiter that the value does not contain.
pub fn format(outputs: &[(&str, String)]) -> String {
    let mut out = String::new();
    for (name, value) in outputs {
        if value.contains(['\n', '\r']) {
            let mut delimiter = String::from("HASSEC_EOF");
            while value.contains(&delimiter) {
                delimiter.push('_');
            }
            out.push_str(&format!("{name}<<{delimiter}\n{value}\n{delimiter}\n"));
        } else {
            out.push_str(&format!("{name}={value}\n"));
        }
    }
    out
}

pub fn append(path: &Path, text: &str) -> std::io::Result<()> {
    OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)?
        .write_all(text.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_and_multi_line_values() {
        let text = format(&[("findings", "3".into()), ("odd", "a\nHASSEC_EOF\nb".into())]);
        assert_eq!(
            text,
            "findings=3\nodd<<HASSEC_EOF_\na\nHASSEC_EOF\nb\nHASSEC_EOF_\n"
        );
    }

    #[test]
    fn appends() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out");
        std::fs::write(&path, "earlier=1\n").unwrap();
        append(&path, "findings=2\n").unwrap();
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            "earlier=1\nfindings=2\n"
        );
    }
}
