//! Unified diff hunks, as the API's `patch` field gives them, into the lines
//! they add and the lines they show.

use super::changes::ChangedFile;

/// `@@ -a,b +c,d @@ ...` into the new side's start and length (`d` defaults to 1).
fn new_side(header: &str) -> Option<(usize, usize)> {
    let rest = header.strip_prefix("@@ ")?;
    let plus = rest.split_whitespace().find(|part| part.starts_with('+'))?;
    let mut numbers = plus[1..].splitn(2, ',');
    let start = numbers.next()?.parse().ok()?;
    let count = match numbers.next() {
        Some(count) => count.parse().ok()?,
        None => 1,
    };
    Some((start, count))
}

/// Parses a patch. Lines before the first hunk header and malformed headers are
/// passed over: an odd patch loses its lines rather than failing the run.
pub fn parse(patch: &str) -> ChangedFile {
    let mut file = ChangedFile::default();
    let mut line = None;
    for text in patch.lines() {
        if text.starts_with("@@") {
            line = new_side(text).map(|(start, count)| {
                if count > 0 {
                    file.hunks.add(start, start + count - 1);
                }
                start
            });
            continue;
        }
        let Some(current) = line.as_mut() else {
            continue;
        };
        match text.as_bytes().first() {
            Some(b'+') => {
                file.added.add(*current, *current);
                *current += 1;
            }
            Some(b'-') | Some(b'\\') => {}
            // A context line; GitHub drops the lone space of an empty context line.
            _ => *current += 1,
        }
    }
    file
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn added_lines_and_hunks() {
        let patch = "@@ -1,4 +1,5 @@\n import os\n-x = 1\n+x = 2\n+y = 3\n \n def f():\n@@ -40 +41,2 @@ def g():\n+    z = 1\n     return z\n\\ No newline at end of file";
        let file = parse(patch);
        assert_eq!(file.added.ranges(), [(2, 3), (41, 41)]);
        assert_eq!(file.hunks.ranges(), [(1, 5), (41, 42)]);
        assert!(!file.whole);
    }

    #[test]
    fn a_new_file_and_a_deletion_only_hunk() {
        let file = parse("@@ -0,0 +1,3 @@\n+a\n+b\n+c");
        assert_eq!(file.added.ranges(), [(1, 3)]);
        let file = parse("@@ -3,2 +2,0 @@\n-a\n-b");
        assert!(file.added.is_empty() && file.hunks.is_empty());
    }

    #[test]
    fn garbage_is_passed_over() {
        let file = parse("+not in a hunk\n@@ nonsense @@\n+still not\n");
        assert!(file.added.is_empty());
    }
}
