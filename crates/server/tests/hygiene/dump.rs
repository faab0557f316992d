//! Every cell of every table of the database, read through a connection of its own. Tables
//! and columns come from the catalog (`sqlite_master` / `information_schema`), so a table a
//! later migration adds is dumped without anyone touching this file.

use sea_orm::{
    ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DbBackend, Statement,
};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    Null,
    Text(String),
    Bytes(Vec<u8>),
}

#[derive(Debug, Clone)]
pub struct Cell {
    pub table: String,
    pub column: String,
    pub row: usize,
    pub value: Value,
}

impl Cell {
    pub fn text(&self) -> Option<&str> {
        match &self.value {
            Value::Text(t) => Some(t),
            _ => None,
        }
    }
}

async fn strings(db: &DatabaseConnection, sql: &str, width: usize) -> Vec<Vec<Option<String>>> {
    let statement = Statement::from_string(db.get_database_backend(), sql);
    db.query_all_raw(statement)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
        .iter()
        .map(|row| {
            (0..width)
                .map(|i| row.try_get_by_index::<Option<String>>(i).unwrap())
                .collect()
        })
        .collect()
}

fn quote(ident: &str) -> String {
    format!("\"{}\"", ident.replace('"', "\"\""))
}

pub async fn dump(url: &str) -> Vec<Cell> {
    let mut options = ConnectOptions::new(url);
    options.max_connections(1).sqlx_logging(false);
    let db = Database::connect(options).await.unwrap();
    let cells = match db.get_database_backend() {
        DbBackend::Sqlite => dump_sqlite(&db).await,
        _ => dump_postgres(&db).await,
    };
    let _ = db.close().await;
    cells
}

async fn dump_sqlite(db: &DatabaseConnection) -> Vec<Cell> {
    let tables = strings(
        db,
        "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name",
        1,
    )
    .await;
    let mut cells = Vec::new();
    for table in tables.into_iter().filter_map(|mut r| r.remove(0)) {
        let columns: Vec<String> = strings(
            db,
            &format!(
                "SELECT name FROM pragma_table_info('{}')",
                table.replace('\'', "''")
            ),
            1,
        )
        .await
        .into_iter()
        .filter_map(|mut r| r.remove(0))
        .collect();
        // Per column: its storage class, and its value as text (blobs as hex).
        let select: Vec<String> = columns
            .iter()
            .map(|c| {
                let c = quote(c);
                format!(
                    "typeof({c}), CASE WHEN typeof({c}) = 'blob' THEN hex({c}) \
                     ELSE CAST({c} AS TEXT) END"
                )
            })
            .collect();
        let sql = format!("SELECT {} FROM {}", select.join(", "), quote(&table));
        for (row, values) in strings(db, &sql, 2 * columns.len())
            .await
            .into_iter()
            .enumerate()
        {
            for (i, column) in columns.iter().enumerate() {
                let value = match (values[2 * i].as_deref(), &values[2 * i + 1]) {
                    (Some("null"), _) | (_, None) => Value::Null,
                    (Some("blob"), Some(hex)) => Value::Bytes(hex::decode(hex).unwrap()),
                    (_, Some(text)) => Value::Text(text.clone()),
                };
                cells.push(Cell {
                    table: table.clone(),
                    column: column.clone(),
                    row,
                    value,
                });
            }
        }
    }
    cells
}

async fn dump_postgres(db: &DatabaseConnection) -> Vec<Cell> {
    let columns = strings(
        db,
        "SELECT c.table_name::text, c.column_name::text, c.data_type::text \
         FROM information_schema.columns c JOIN information_schema.tables t \
           ON t.table_schema = c.table_schema AND t.table_name = c.table_name \
         WHERE c.table_schema = current_schema() AND t.table_type = 'BASE TABLE' \
         ORDER BY c.table_name, c.ordinal_position",
        3,
    )
    .await;
    let mut by_table: Vec<(String, Vec<(String, bool)>)> = Vec::new();
    for row in columns {
        let (table, column, kind) = (
            row[0].clone().unwrap(),
            row[1].clone().unwrap(),
            row[2].clone().unwrap(),
        );
        let bytes = kind == "bytea";
        match by_table.last_mut() {
            Some((t, cols)) if *t == table => cols.push((column, bytes)),
            _ => by_table.push((table, vec![(column, bytes)])),
        }
    }
    let mut cells = Vec::new();
    for (table, columns) in by_table {
        let select: Vec<String> = columns
            .iter()
            .map(|(c, bytes)| {
                if *bytes {
                    format!("encode({}, 'hex')", quote(c))
                } else {
                    format!("{}::text", quote(c))
                }
            })
            .collect();
        let sql = format!("SELECT {} FROM {}", select.join(", "), quote(&table));
        for (row, values) in strings(db, &sql, columns.len())
            .await
            .into_iter()
            .enumerate()
        {
            for (i, (column, bytes)) in columns.iter().enumerate() {
                let value = match (&values[i], bytes) {
                    (None, _) => Value::Null,
                    (Some(hex), true) => Value::Bytes(hex::decode(hex).unwrap()),
                    (Some(text), false) => Value::Text(text.clone()),
                };
                cells.push(Cell {
                    table: table.clone(),
                    column: column.clone(),
                    row,
                    value,
                });
            }
        }
    }
    cells
}
