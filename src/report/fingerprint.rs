//! `primaryLocationLineHash`, computed exactly as GitHub's codeql-action does
//! (`src/fingerprints.ts`), so that code scanning tracks a finding across commits
//! the same way whether it or we compute the hash.
//!
//! A rolling hash over the next 100 non-whitespace UTF-16 code units from the
//! start of each line; `\r\n` and `\r` count as `\n`; spaces and tabs are skipped.
//! Equal hashes are told apart by a `:n` occurrence counter.
//!
//! Also [`code_fingerprint`], what an adoption baseline matches findings by.

use std::{collections::HashMap, fmt::Write};

use sha2::{Digest, Sha256};

use crate::finding::Position;

/// The most lines of a finding that [`code_fingerprint`] reads.
pub const MAX_CODE_LINES: usize = 20;

/// A finding's own code, fingerprinted: 16 hex digits of SHA-256 over its lines
/// (from `start` to `end`, exclusive; at most [`MAX_CODE_LINES`]) without their
/// whitespace. `lines` are the file's lines. Unlike [`line_hashes`], whose window
/// reads on past the line, it changes when the finding's code does and not when
/// lines are inserted above or the code after it is edited.
pub fn code_fingerprint(lines: &[&str], start: Position, end: Position) -> String {
    let first = start.line.max(1);
    // An end at the start of a line leaves that line out.
    let last = if end.line > first && end.column <= 1 {
        end.line - 1
    } else {
        end.line.max(first)
    };
    let count = (last - first + 1).min(MAX_CODE_LINES);
    let mut hasher = Sha256::new();
    for (index, line) in lines.iter().skip(first - 1).take(count).enumerate() {
        if index > 0 {
            hasher.update(b"\n");
        }
        let squeezed: String = line.chars().filter(|c| !c.is_whitespace()).collect();
        hasher.update(squeezed.as_bytes());
    }
    let digest = hasher.finalize();
    let mut out = String::with_capacity(16);
    for byte in &digest[..8] {
        let _ = write!(out, "{byte:02x}");
    }
    out
}

const BLOCK_SIZE: usize = 100;
const MOD: i64 = 37;
const EOF: u16 = 65535;

/// The hash of every line of `text`: element `i` is for line `i + 1`.
/// A text ending in a newline has one more (empty) line, as in codeql-action.
pub fn line_hashes(text: &str) -> Vec<String> {
    let mut hasher = Hasher::new();
    for unit in text.encode_utf16() {
        hasher.process(unit);
    }
    hasher.process(EOF);
    for _ in 0..BLOCK_SIZE {
        if hasher.line_numbers[hasher.index].is_some() {
            hasher.output();
        }
        hasher.update(0);
    }
    hasher.hashes
}

struct Hasher {
    window: [i64; BLOCK_SIZE],
    /// For each window slot: the line that starts with that character, if any.
    line_numbers: [Option<usize>; BLOCK_SIZE],
    hash: i64,
    first_mod: i64,
    index: usize,
    line_number: usize,
    line_start: bool,
    prev_cr: bool,
    counts: HashMap<u64, usize>,
    hashes: Vec<String>,
}

impl Hasher {
    fn new() -> Self {
        Self {
            window: [0; BLOCK_SIZE],
            line_numbers: [None; BLOCK_SIZE],
            hash: 0,
            first_mod: (0..BLOCK_SIZE).fold(1i64, |acc, _| acc.wrapping_mul(MOD)),
            index: 0,
            line_number: 0,
            line_start: true,
            prev_cr: false,
            counts: HashMap::new(),
            hashes: Vec::new(),
        }
    }

    fn output(&mut self) {
        let value = self.hash as u64;
        let count = self.counts.entry(value).or_insert(0);
        *count += 1;
        debug_assert_eq!(self.line_numbers[self.index], Some(self.hashes.len() + 1));
        self.hashes.push(format!("{value:x}:{count}"));
        self.line_numbers[self.index] = None;
    }

    fn update(&mut self, current: u16) {
        let begin = self.window[self.index];
        self.window[self.index] = i64::from(current);
        self.hash = MOD
            .wrapping_mul(self.hash)
            .wrapping_add(i64::from(current))
            .wrapping_sub(self.first_mod.wrapping_mul(begin));
        self.index = (self.index + 1) % BLOCK_SIZE;
    }

    fn process(&mut self, mut current: u16) {
        const TAB: u16 = b'\t' as u16;
        const SPACE: u16 = b' ' as u16;
        const LF: u16 = b'\n' as u16;
        const CR: u16 = b'\r' as u16;
        if current == SPACE || current == TAB || (self.prev_cr && current == LF) {
            self.prev_cr = false;
            return;
        }
        if current == CR {
            current = LF;
            self.prev_cr = true;
        } else {
            self.prev_cr = false;
        }
        if self.line_numbers[self.index].is_some() {
            self.output();
        }
        if self.line_start {
            self.line_start = false;
            self.line_number += 1;
            self.line_numbers[self.index] = Some(self.line_number);
        }
        if current == LF {
            self.line_start = true;
        }
        self.update(current);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// codeql-action's published vectors (`src/fingerprints.test.ts`, test "hash"):
    /// (input, expected hash of every line). Agreeing with them byte for byte is
    /// what lets code scanning match our alerts with the ones it fingerprints itself.
    const CODEQL_ACTION_VECTORS: &[(&str, &[&str])] = &[
        ("", &["c129715d7a2bc9a3:1"]),
        (
            " a\nb\n  \t\tc\n d",
            &[
                "271789c17abda88f:1",
                "54703d4cd895b18:1",
                "180aee12dab6264:1",
                "a23a3dc5e078b07b:1",
            ],
        ),
        (
            " hello; \t\nworld!!!\n\n\n  \t\tGreetings\n End",
            &[
                "8b7cf3e952e7aeb2:1",
                "b1ae1287ec4718d9:1",
                "bff680108adb0fcc:1",
                "c6805c5e1288b612:1",
                "b86d3392aea1be30:1",
                "e6ceba753e1a442:1",
            ],
        ),
        (
            " hello; \t\nworld!!!\n\n\n  \t\tGreetings\n End\n",
            GREETINGS_WITH_FINAL_NEWLINE,
        ),
        (
            " hello; \t\nworld!!!\r\r\r  \t\tGreetings\r End\r",
            GREETINGS_WITH_FINAL_NEWLINE,
        ),
        (
            " hello; \t\r\nworld!!!\r\n\r\n\r\n  \t\tGreetings\r\n End\r\n",
            GREETINGS_WITH_FINAL_NEWLINE,
        ),
        (
            " hello; \t\nworld!!!\r\n\n\r  \t\tGreetings\r End\r\n",
            GREETINGS_WITH_FINAL_NEWLINE,
        ),
        (
            "x = 2\nx = 1\nprint(x)\nx = 3\nprint(x)\nx = 4\nprint(x)\n",
            &[
                "e54938cc54b302f1:1",
                "bb609acbe9138d60:1",
                "1131fd5871777f34:1",
                "5c482a0f8b35ea28:1",
                "54517377da7028d2:1",
                "2c644846cb18d53e:1",
                "f1b89f20de0d133:1",
                "c129715d7a2bc9a3:1",
            ],
        ),
    ];

    const GREETINGS_WITH_FINAL_NEWLINE: &[&str] = &[
        "e9496ae3ebfced30:1",
        "fb7c023a8b9ccb3f:1",
        "ce8ba1a563dcdaca:1",
        "e20e36e16fcb0cc8:1",
        "b3edc88f2938467e:1",
        "c8e28b0b4002a3a0:1",
        "c129715d7a2bc9a3:1",
    ];

    /// The number of lines codeql-action expects: `input.split(/\r\n|\r|\n/).length`.
    fn line_count(input: &str) -> usize {
        input
            .replace("\r\n", "\n")
            .replace('\r', "\n")
            .split('\n')
            .count()
    }

    #[test]
    fn codeql_action_hash_vectors() {
        for (input, expected) in CODEQL_ACTION_VECTORS {
            assert_eq!(line_hashes(input), *expected, "input {input:?}");
            assert_eq!(expected.len(), line_count(input), "input {input:?}");
        }
    }

    #[test]
    fn codeql_action_repeated_line_vector() {
        // Ten identical lines: the first six see the same 100-character window and
        // are told apart only by the counter.
        let input = "Lorem ipsum dolor sit amet.\n".repeat(10);
        assert_eq!(
            line_hashes(&input),
            [
                "a7f2ff13bc495cf2:1",
                "a7f2ff13bc495cf2:2",
                "a7f2ff13bc495cf2:3",
                "a7f2ff13bc495cf2:4",
                "a7f2ff13bc495cf2:5",
                "a7f2ff13bc495cf2:6",
                "a7f2ff1481e87703:1",
                "a9cf91f7bbf1862b:1",
                "55ec222b86bcae53:1",
                "cc97dc7b1d7d8f7b:1",
                "c129715d7a2bc9a3:1",
            ]
        );
    }

    #[test]
    fn codeql_action_add_fingerprints_vectors() {
        // `addFingerprints` end-to-end test: the hash of the result's start line
        // in codeql-action's test files testFile1.js (line 1) and testFile2.js (line 2).
        let file1 = "var a = 0;\nvar b = 0;\nvar c = 0;\nvar d = 0;\n";
        let file2 = "var foo = 0;\nvar bar = 0;\nvar baz = 0;\nvar qux = 0;\n";
        assert_eq!(line_hashes(file1)[0], "5e4d5a9cf1294ad9:1");
        assert_eq!(line_hashes(file2)[1], "f7592a95a9381ac0:1");
    }

    #[test]
    fn every_line_gets_one_hash() {
        assert_eq!(line_hashes("a\nb\nc").len(), 3);
        assert_eq!(line_hashes("a\nb\n").len(), 3);
        assert_eq!(line_hashes("").len(), 1);
    }

    #[test]
    fn line_endings_and_horizontal_space_do_not_matter() {
        let lf = line_hashes("a = 1\n  b = 2\n");
        assert_eq!(line_hashes("a = 1\r\n  b = 2\r\n"), lf);
        assert_eq!(line_hashes("a = 1\r\tb = 2\r"), lf);
        assert_eq!(line_hashes("a=1\nb=2\n"), lf);
    }

    fn at(line: usize, column: usize) -> Position {
        Position {
            line,
            column,
            utf16_column: column,
        }
    }

    #[test]
    fn code_fingerprints_follow_the_code_not_its_place() {
        let before = ["import pickle", "x = pickle.loads(b)", "y = 1"];
        let after = [
            "import pickle",
            "",
            "# moved",
            "x = pickle.loads( b )",
            "y = 2",
        ];
        let here = code_fingerprint(&before, at(2, 5), at(2, 20));
        assert_eq!(here.len(), 16);
        assert_eq!(
            here,
            code_fingerprint(&after, at(4, 5), at(4, 22)),
            "moved, respaced, and the next line edited"
        );
        let edited = ["import pickle", "x = pickle.loads(c)"];
        assert_ne!(here, code_fingerprint(&edited, at(2, 5), at(2, 20)));
    }

    #[test]
    fn code_fingerprints_cover_the_lines_of_the_finding() {
        let call = ["f(", "  a,", ")", "z"];
        let whole = code_fingerprint(&call, at(1, 1), at(3, 2));
        let changed = ["f(", "  b,", ")", "z"];
        assert_ne!(whole, code_fingerprint(&changed, at(1, 1), at(3, 2)));
        // An exclusive end at a line's start leaves that line out.
        assert_eq!(
            code_fingerprint(&["a", "b"], at(1, 1), at(2, 1)),
            code_fingerprint(&["a", "c"], at(1, 1), at(2, 1))
        );
        // Past the end of the file: no panic.
        assert_eq!(code_fingerprint(&[], at(7, 1), at(9, 1)).len(), 16);
    }

    #[test]
    fn identical_lines_are_numbered() {
        let hashes = line_hashes("x\nx\n");
        let (first, second) = (&hashes[0], &hashes[1]);
        assert!(
            first.ends_with(":1") && second.ends_with(":1"),
            "{hashes:?}"
        );
        assert_ne!(
            first, second,
            "the window reaches past the line, so they differ"
        );
        let same = line_hashes("\n\n\n");
        assert!(same.iter().all(|h| !h.is_empty()));
    }
}
