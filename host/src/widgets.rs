//! Widgets the dashboard needs that ratatui does not ship.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::widgets::Widget;

/// Rows of one big glyph.
pub const GLYPH_HEIGHT: u16 = 5;
const GLYPH_WIDTH: u16 = 5;
/// Blank columns between glyphs.
const GAP: u16 = 1;

/// 5×5 glyphs for the countdown, drawn with full blocks so they read from the
/// back of a room; '#' marks a filled cell.
fn glyph(c: char) -> Option<[&'static str; 5]> {
    Some(match c {
        '0' => ["#####", "#   #", "#   #", "#   #", "#####"],
        '1' => ["  #  ", " ##  ", "  #  ", "  #  ", " ### "],
        '2' => ["#####", "    #", "#####", "#    ", "#####"],
        '3' => ["#####", "    #", " ####", "    #", "#####"],
        '4' => ["#   #", "#   #", "#####", "    #", "    #"],
        '5' => ["#####", "#    ", "#####", "    #", "#####"],
        '6' => ["#####", "#    ", "#####", "#   #", "#####"],
        '7' => ["#####", "    #", "   # ", "  #  ", "  #  "],
        '8' => ["#####", "#   #", "#####", "#   #", "#####"],
        '9' => ["#####", "#   #", "#####", "    #", "#####"],
        _ => return None,
    })
}

/// Decimal digits drawn five rows tall, centred in the area. Anything that is
/// not a digit, or a number too wide for the area, falls back to plain text
/// so the value is never lost.
pub struct BigDigits<'a> {
    text: &'a str,
    style: Style,
}

impl<'a> BigDigits<'a> {
    pub fn new(text: &'a str) -> Self {
        BigDigits {
            text,
            style: Style::new(),
        }
    }

    pub fn style(mut self, style: Style) -> Self {
        self.style = style;
        self
    }

    /// Columns the big rendering needs.
    pub fn width(&self) -> u16 {
        let n = self.text.chars().count() as u16;
        (n * (GLYPH_WIDTH + GAP)).saturating_sub(GAP)
    }
}

impl Widget for BigDigits<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let area = area.intersection(buf.area);
        if area.is_empty() {
            return;
        }
        let glyphs: Option<Vec<_>> = self.text.chars().map(glyph).collect();
        let width = self.width();
        let Some(glyphs) = glyphs.filter(|_| width <= area.width && GLYPH_HEIGHT <= area.height)
        else {
            let x = area.x + area.width.saturating_sub(self.text.chars().count() as u16) / 2;
            let y = area.y + area.height / 2;
            buf.set_stringn(x, y, self.text, area.width as usize, self.style);
            return;
        };
        let x0 = area.x + (area.width - width) / 2;
        let y0 = area.y + (area.height - GLYPH_HEIGHT) / 2;
        for (i, rows) in glyphs.iter().enumerate() {
            let gx = x0 + i as u16 * (GLYPH_WIDTH + GAP);
            for (dy, row) in rows.iter().enumerate() {
                for (dx, cell) in row.chars().enumerate() {
                    if cell == '#' {
                        buf[(gx + dx as u16, y0 + dy as u16)]
                            .set_symbol("█")
                            .set_style(self.style);
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows(buf: &Buffer) -> Vec<String> {
        (0..buf.area.height)
            .map(|y| (0..buf.area.width).map(|x| buf[(x, y)].symbol()).collect())
            .collect()
    }

    #[test]
    fn digits_are_drawn_five_rows_tall_and_centred() {
        let mut buf = Buffer::empty(Rect::new(0, 0, 15, 7));
        BigDigits::new("10").render(buf.area, &mut buf);
        let rows = rows(&buf);
        assert_eq!(rows[0].trim(), "");
        assert_eq!(rows[1], "    █   █████  ");
        assert_eq!(rows[3], "    █   █   █  ");
        assert_eq!(rows[5], "   ███  █████  ");
        assert_eq!(rows[6].trim(), "");
    }

    #[test]
    fn too_small_or_not_a_number_falls_back_to_plain_text() {
        let mut buf = Buffer::empty(Rect::new(0, 0, 8, 3));
        BigDigits::new("123").render(buf.area, &mut buf);
        assert_eq!(rows(&buf)[1], "  123   ");
        let mut buf = Buffer::empty(Rect::new(0, 0, 8, 6));
        BigDigits::new("go").render(buf.area, &mut buf);
        assert!(rows(&buf)[3].contains("go"));
    }
}
