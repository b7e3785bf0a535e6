//! `primaryLocationLineHash`, computed exactly as GitHub's codeql-action does
//! (`src/fingerprints.ts`), so that code scanning tracks a finding across commits
//! the same way whether it or we compute the hash.
//!
//! A rolling hash over the next 100 non-whitespace UTF-16 code units from the
//! start of each line; `\r\n` and `\r` count as `\n`; spaces and tabs are skipped.
//! Equal hashes are told apart by a `:n` occurrence counter.

use std::collections::HashMap;

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
