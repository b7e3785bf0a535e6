//! From tree-sitter's byte positions to what users and SARIF count.

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
}
