//! Lists for people: a header row and aligned columns (the `--json` form is for scripts).

/// Prints `rows` under `headers`, each column as wide as its widest cell (counted in
/// characters); `empty` instead when there are no rows.
pub fn print(headers: &[&str], rows: &[Vec<String>], empty: &str) {
    print!("{}", render(headers, rows, empty));
}

fn render(headers: &[&str], rows: &[Vec<String>], empty: &str) -> String {
    if rows.is_empty() {
        return format!("{empty}\n");
    }
    let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    line(&mut out, &widths, headers.iter().copied());
    for row in rows {
        line(&mut out, &widths, row.iter().map(String::as_str));
    }
    out
}

fn line<'a>(out: &mut String, widths: &[usize], cells: impl Iterator<Item = &'a str>) {
    let mut text = String::new();
    for (i, (cell, width)) in cells.zip(widths).enumerate() {
        if i > 0 {
            text.push_str("  ");
        }
        text.push_str(cell);
        text.extend(std::iter::repeat_n(
            ' ',
            width.saturating_sub(cell.chars().count()),
        ));
    }
    out.push_str(text.trim_end());
    out.push('\n');
}

#[cfg(test)]
mod tests {
    use super::render;

    #[test]
    fn columns_line_up_under_their_headers() {
        let rows = vec![
            vec!["ada@example.com".to_owned(), "admin".to_owned()],
            vec!["bo@example.com".to_owned(), "member".to_owned()],
        ];
        assert_eq!(
            render(&["EMAIL", "ROLE"], &rows, "none"),
            "EMAIL            ROLE\n\
             ada@example.com  admin\n\
             bo@example.com   member\n"
        );
        assert_eq!(render(&["EMAIL"], &[], "No members."), "No members.\n");
    }
}
