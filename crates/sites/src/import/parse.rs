//! Files to rows: the two formats' syntax only. A file of more than `MAX_ROWS` rows is
//! refused whole (CSV reading stops at the first row past the limit).

use std::collections::HashMap;

use super::{MAX_ROWS, Problem, RawRow};

const COLUMNS: [&str; 5] = ["login", "email", "role", "password_hash", "totp_secret"];
const REQUIRED: usize = 4;
const HEADER_RULE: &str =
    "the header must name the columns login, email, role, password_hash and optionally totp_secret";

type Parsed = (Vec<RawRow>, Vec<Problem>);

fn strip_bom(bytes: &[u8]) -> &[u8] {
    bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes)
}

/// Where each known column is in the header; a problem when the header is not acceptable.
fn header_positions(header: &csv::ByteRecord) -> Result<[Option<usize>; 5], Problem> {
    let mut positions = [None; 5];
    for (at, name) in header.iter().enumerate() {
        let name = std::str::from_utf8(name).map(str::trim).unwrap_or("");
        let Some(column) = COLUMNS.iter().position(|c| *c == name) else {
            return Err(Problem::row(
                1,
                format!("unknown column {name:?}: {HEADER_RULE}"),
            ));
        };
        if positions[column].replace(at).is_some() {
            return Err(Problem::row(
                1,
                format!("column {name:?} twice: {HEADER_RULE}"),
            ));
        }
    }
    if positions[..REQUIRED].iter().any(Option::is_none) {
        return Err(Problem::row(
            1,
            format!("a column is missing: {HEADER_RULE}"),
        ));
    }
    Ok(positions)
}

pub(super) fn csv_rows(bytes: &[u8]) -> Parsed {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(true)
        .from_reader(strip_bom(bytes));
    let header = match reader.byte_headers() {
        Ok(header) if !header.is_empty() => header.clone(),
        Ok(_) => return (vec![], vec![Problem::file("empty: no header")]),
        Err(_) => return (vec![], vec![Problem::row(1, "malformed header")]),
    };
    let positions = match header_positions(&header) {
        Ok(positions) => positions,
        Err(problem) => return (vec![], vec![problem]),
    };
    let mut rows = Vec::new();
    let mut problems = Vec::new();
    let mut record = csv::ByteRecord::new();
    let mut count = 0;
    loop {
        let line = reader.position().line();
        match reader.read_byte_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {}
            Err(e) => {
                let row = e.position().map_or(line, |p| p.line());
                problems.push(Problem::row(row, "malformed row (unbalanced quotes?)"));
                // The reader can not resynchronise reliably after a syntax error.
                break;
            }
        }
        let row = record.position().map_or(line, |p| p.line());
        count += 1;
        if count > MAX_ROWS {
            return too_many_rows();
        }
        if record.len() != header.len() {
            problems.push(Problem::row(
                row,
                format!(
                    "malformed row: {} fields where the header has {}",
                    record.len(),
                    header.len()
                ),
            ));
            continue;
        }
        let mut fields = Vec::with_capacity(5);
        let mut utf8 = true;
        for position in positions {
            let text = position.map(|at| std::str::from_utf8(&record[at]));
            match text {
                Some(Ok(text)) => fields.push(Some(text.to_owned())),
                Some(Err(_)) => utf8 = false,
                None => fields.push(None),
            }
        }
        if !utf8 {
            problems.push(Problem::row(row, "malformed row: not UTF-8"));
            continue;
        }
        let mut take = |i: usize| fields[i].take().unwrap_or_default();
        rows.push(RawRow {
            row,
            login: take(0),
            email: take(1),
            role: take(2),
            password_hash: take(3),
            totp_secret: fields[4].take(),
        });
    }
    (rows, problems)
}

pub(super) fn json_rows(bytes: &[u8]) -> Parsed {
    let values: Vec<serde_json::Value> = match serde_json::from_slice(strip_bom(bytes)) {
        Ok(values) => values,
        Err(e) if e.is_data() => {
            return (
                vec![],
                vec![Problem::file("expected a JSON array of objects")],
            );
        }
        Err(e) => {
            let reason = format!("not JSON (line {}, column {})", e.line(), e.column());
            return (vec![], vec![Problem::file(reason)]);
        }
    };
    if values.len() > MAX_ROWS {
        return too_many_rows();
    }
    let mut rows = Vec::new();
    let mut problems = Vec::new();
    for (index, value) in values.into_iter().enumerate() {
        let row = index as u64 + 1;
        match json_row(row, value) {
            Ok(raw) => rows.push(raw),
            Err(reason) => problems.push(Problem::row(row, format!("malformed row: {reason}"))),
        }
    }
    (rows, problems)
}

fn json_row(row: u64, value: serde_json::Value) -> Result<RawRow, String> {
    let serde_json::Value::Object(object) = value else {
        return Err("not an object".to_owned());
    };
    let mut fields: HashMap<&str, Option<String>> = HashMap::new();
    for (key, value) in object {
        let Some(column) = COLUMNS.iter().find(|c| **c == key) else {
            return Err(format!("unknown key {key:?}"));
        };
        let text = match value {
            serde_json::Value::String(text) => Some(text),
            serde_json::Value::Null if *column == "totp_secret" => None,
            _ => return Err(format!("{column} is not a string")),
        };
        fields.insert(column, text);
    }
    let mut required = |column: &str| {
        fields
            .remove(column)
            .flatten()
            .ok_or_else(|| format!("{column} is missing"))
    };
    Ok(RawRow {
        row,
        login: required("login")?,
        email: required("email")?,
        role: required("role")?,
        password_hash: required("password_hash")?,
        totp_secret: fields.remove("totp_secret").flatten(),
    })
}

fn too_many_rows() -> Parsed {
    (
        vec![],
        vec![Problem::file(format!("more than {MAX_ROWS} rows"))],
    )
}
