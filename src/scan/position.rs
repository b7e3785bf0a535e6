//! From tree-sitter's byte positions to what users and SARIF count.

use std::collections::HashMap;

use tree_sitter::Point;

use crate::finding::Position;

/// `point` in `text`: 1-based line, 1-based columns in characters and in UTF-16 units.
pub fn position(text: &str, byte_offset: usize, point: Point) -> Position {
    let line_start = byte_offset.saturating_sub(point.column);
    let prefix = text.get(line_start..byte_offset).unwrap_or("");
    Position {
        line: point.row + 1,
        column: prefix.chars().count() + 1,
        utf16_column: prefix.encode_utf16().count() + 1,
    }
}

/// Lines longer than this have their columns counted once, by [`Positions`].
const LONG_LINE: usize = 256;

/// Positions of many offsets in one text. [`position`] counts the characters from
/// the start of the line each time: thousands of findings on one long line (a call
/// with thousands of arguments) would make that quadratic, so a long line's
/// columns are counted once, for every byte of it.
pub struct Positions<'t> {
    text: &'t str,
    /// By line start: for each byte of the line, the characters and UTF-16 units
    /// before it (`None` inside a character).
    long_lines: HashMap<usize, Vec<Option<(usize, usize)>>>,
}

impl<'t> Positions<'t> {
    pub fn new(text: &'t str) -> Self {
        Self {
            text,
            long_lines: HashMap::new(),
        }
    }

    /// The same as [`position`]`(text, byte_offset, point)`.
    pub fn at(&mut self, byte_offset: usize, point: Point) -> Position {
        if point.column <= LONG_LINE {
            return position(self.text, byte_offset, point);
        }
        let line_start = byte_offset.saturating_sub(point.column);
        let text = self.text;
        let columns = self
            .long_lines
            .entry(line_start)
            .or_insert_with(|| line_columns(text, line_start));
        match columns.get(point.column) {
            Some(Some((chars, utf16))) => Position {
                line: point.row + 1,
                column: chars + 1,
                utf16_column: utf16 + 1,
            },
            _ => position(self.text, byte_offset, point),
        }
    }
}

/// For each byte of the line starting at `start` (and the one after its end):
/// the characters and UTF-16 units before it, `None` inside a character.
fn line_columns(text: &str, start: usize) -> Vec<Option<(usize, usize)>> {
    let line = text.get(start..).unwrap_or("");
    let line = &line[..line.find('\n').unwrap_or(line.len())];
    let mut columns = Vec::with_capacity(line.len() + 1);
    let (mut chars, mut utf16) = (0, 0);
    for c in line.chars() {
        columns.push(Some((chars, utf16)));
        columns.extend(std::iter::repeat_n(None, c.len_utf8() - 1));
        chars += 1;
        utf16 += c.len_utf16();
    }
    columns.push(Some((chars, utf16)));
    columns
}

/// The position of a byte offset in `text`, counting lines itself (for files that
/// tree-sitter did not parse, such as `manifest.json`).
pub fn position_of(text: &str, byte_offset: usize) -> Position {
    let offset = byte_offset.min(text.len());
    let before = text.get(..offset).unwrap_or("");
    let row = before.matches('\n').count();
    let line_start = before.rfind('\n').map_or(0, |at| at + 1);
    position(
        text,
        offset,
        Point {
            row,
            column: offset - line_start,
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_count_characters_and_utf16_units() {
        let text = "x = 1\ns = \"é😀\" + y\n";
        let y = text.find('y').unwrap();
        let position = position(
            text,
            y,
            Point {
                row: 1,
                column: y - 6,
            },
        );
        assert_eq!(position.line, 2);
        assert_eq!(position.column, 12, "é and 😀 are one character each");
        assert_eq!(position.utf16_column, 13, "😀 is two UTF-16 units");
    }

    #[test]
    fn long_lines_give_the_same_positions() {
        let line = format!("x = f({})", ["é😀", "a"].repeat(200).join(", "));
        let text = format!("y = 1\n{line}\nz = 2\n");
        let mut positions = Positions::new(&text);
        let line_start = 6;
        for (offset, _) in text.char_indices().filter(|(at, _)| *at >= line_start) {
            let column = offset - line_start;
            let point = if offset <= line_start + line.len() {
                Point { row: 1, column }
            } else {
                Point {
                    row: 2,
                    column: offset - (line_start + line.len() + 1),
                }
            };
            assert_eq!(
                positions.at(offset, point),
                position(&text, offset, point),
                "at byte {offset}"
            );
        }
        assert!(positions.long_lines.contains_key(&line_start));
    }
}
