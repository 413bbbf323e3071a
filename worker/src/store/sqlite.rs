//! The store layer's [`Database`] over SQLite (rusqlite), natively: D1 is SQLite, so the
//! statements, triggers and constraints of `worker/migrations/` behave here as they do in D1.
//! [`Sqlite::migrated`] opens an in-memory database with every migration applied, in order, as
//! `wrangler d1 migrations apply` does; the store's tests run against it.

use std::cell::RefCell;
use std::path::Path;

use rusqlite::types::ValueRef;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value as Json};

use super::sql::{Database, Rows, Statement, StoreError, Value};

pub struct Sqlite {
    connection: RefCell<rusqlite::Connection>,
}

/// What one statement gave: its rows as JSON objects (as D1 hands them over) and its changes.
#[derive(Debug)]
pub struct SqliteRows {
    rows: Vec<Map<String, Json>>,
    changes: u64,
}

impl Rows for SqliteRows {
    fn decode<T: DeserializeOwned>(&self) -> Result<Vec<T>, StoreError> {
        self.rows
            .iter()
            .map(|row| serde_json::from_value(Json::Object(row.clone())).map_err(StoreError::failed))
            .collect()
    }

    fn changes(&self) -> u64 {
        self.changes
    }
}

/// SQLite's message, marked as a constraint refusal the way D1 marks it when SQLite's code says
/// so (a trigger's `RAISE(ABORT, …)` says nothing of constraints in its words).
fn refused(error: &rusqlite::Error) -> StoreError {
    match error {
        rusqlite::Error::SqliteFailure(failure, message)
            if failure.code == rusqlite::ErrorCode::ConstraintViolation =>
        {
            let words = message.clone().unwrap_or_else(|| failure.to_string());
            StoreError::from_message(&format!("{words}: SQLITE_CONSTRAINT"))
        }
        other => StoreError::from_message(&other.to_string()),
    }
}

impl Sqlite {
    /// An in-memory database with foreign keys enforced, as D1 enforces them.
    pub fn open() -> Result<Sqlite, StoreError> {
        let connection = rusqlite::Connection::open_in_memory().map_err(|e| refused(&e))?;
        connection.execute_batch("PRAGMA foreign_keys = ON;").map_err(|e| refused(&e))?;
        Ok(Sqlite { connection: RefCell::new(connection) })
    }

    /// An in-memory database with the Worker's migrations applied.
    pub fn migrated() -> Result<Sqlite, StoreError> {
        let db = Sqlite::open()?;
        let folder = Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations");
        let mut files: Vec<_> = std::fs::read_dir(&folder)
            .map_err(StoreError::failed)?
            .filter_map(Result::ok)
            .map(|entry| entry.path())
            .filter(|path| path.extension().is_some_and(|e| e == "sql"))
            .collect();
        files.sort();
        for file in files {
            let text = std::fs::read_to_string(&file).map_err(StoreError::failed)?;
            db.connection
                .borrow()
                .execute_batch(&text)
                .map_err(|e| StoreError::failed(format!("{}: {e}", file.display())))?;
        }
        Ok(db)
    }

    /// Runs SQL outside the store layer: a test's own fixtures.
    pub fn execute(&self, sql: &str) -> Result<(), StoreError> {
        self.connection.borrow().execute_batch(sql).map_err(|e| refused(&e))
    }

    /// The one number a test's own query reads (a count, a quantity).
    pub fn number(&self, sql: &str) -> Result<i64, StoreError> {
        self.connection.borrow().query_row(sql, [], |row| row.get(0)).map_err(|e| refused(&e))
    }

    fn run_one(connection: &rusqlite::Connection, statement: &Statement) -> Result<SqliteRows, StoreError> {
        let mut prepared = connection.prepare(&statement.sql).map_err(|e| refused(&e))?;
        for (index, value) in statement.values.iter().enumerate() {
            let position = index + 1;
            let bound = match value {
                Value::Null => prepared.raw_bind_parameter(position, rusqlite::types::Null),
                Value::Integer(n) => prepared.raw_bind_parameter(position, n),
                Value::Text(text) => prepared.raw_bind_parameter(position, text),
            };
            bound.map_err(|e| refused(&e))?;
        }
        let names: Vec<String> = prepared.column_names().into_iter().map(str::to_owned).collect();
        let mut rows = Vec::new();
        let mut raw = prepared.raw_query();
        while let Some(row) = raw.next().map_err(|e| refused(&e))? {
            let mut object = Map::new();
            for (index, name) in names.iter().enumerate() {
                let value = match row.get_ref(index).map_err(|e| refused(&e))? {
                    ValueRef::Null => Json::Null,
                    ValueRef::Integer(n) => Json::from(n),
                    ValueRef::Real(x) => Json::from(x),
                    ValueRef::Text(bytes) | ValueRef::Blob(bytes) => Json::from(String::from_utf8_lossy(bytes)),
                };
                object.insert(name.clone(), value);
            }
            rows.push(object);
        }
        drop(raw);
        // As D1 reports it: the rows the statement wrote, nothing for a read.
        let reads = statement.sql.trim_start().get(..6).is_some_and(|word| word.eq_ignore_ascii_case("SELECT"));
        let changes = if reads { 0 } else { connection.changes() };
        Ok(SqliteRows { rows, changes })
    }
}

impl Database for Sqlite {
    type Rows = SqliteRows;

    async fn batch(&self, statements: Vec<Statement>) -> Result<Vec<SqliteRows>, StoreError> {
        let mut connection = self.connection.borrow_mut();
        let transaction = connection.transaction().map_err(|e| refused(&e))?;
        let mut results = Vec::with_capacity(statements.len());
        for statement in &statements {
            // Dropping the transaction without committing rolls it back: all or nothing, as D1.
            results.push(Self::run_one(&transaction, statement)?);
        }
        transaction.commit().map_err(|e| refused(&e))?;
        Ok(results)
    }
}

/// Runs a future that never waits (the SQLite backend answers at once) to its end: the store's
/// native tests need no async runtime.
///
/// # Panics
///
/// If the future is pending, which no future of this backend is.
pub fn block_on<F: std::future::Future>(future: F) -> F::Output {
    let mut future = std::pin::pin!(future);
    let mut context = std::task::Context::from_waker(std::task::Waker::noop());
    match future.as_mut().poll(&mut context) {
        std::task::Poll::Ready(output) => output,
        std::task::Poll::Pending => panic!("a SQLite store future waited"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::sql::{Constraint, statement};

    #[derive(serde::Deserialize)]
    struct N {
        n: i64,
    }

    #[test]
    fn a_failed_batch_writes_nothing() {
        let db = Sqlite::migrated().unwrap();
        let outcome = block_on(db.batch(vec![
            statement!("INSERT INTO settings (key, value) VALUES ('probe', 1)"),
            statement!("INSERT INTO settings (key, value) VALUES ('probe', 2)"),
        ]));
        assert!(matches!(outcome, Err(StoreError::Refused(Constraint::Unique(_)))), "{outcome:?}");
        let rows =
            block_on(db.batch(vec![statement!("SELECT count(*) AS n FROM settings WHERE key = 'probe'")])).unwrap();
        assert_eq!(rows[0].decode::<N>().unwrap()[0].n, 0);
    }

    #[test]
    fn a_triggers_refusal_is_a_constraint_named_by_its_words() {
        let db = Sqlite::migrated().unwrap();
        let outcome = block_on(db.batch(vec![statement!(
            "INSERT INTO ledger_transactions (id, kind, ref, order_id, at) VALUES ('t', 'payment', 'r', NULL, 0)"
        )]));
        assert!(outcome.is_ok(), "{outcome:?}");
        let changed = block_on(db.batch(vec![statement!("UPDATE ledger_transactions SET at = 1 WHERE id = 't'")]));
        assert!(matches!(changed, Err(StoreError::Refused(Constraint::Trigger(_)))), "{changed:?}");
    }

    /// Migration 0010 rewrites the catalogue's millisecond timestamps as RFC 3339, the form the
    /// rest of the rows have, so text order is time order again.
    #[test]
    fn millisecond_timestamps_become_rfc3339() {
        #[derive(serde::Deserialize)]
        struct At {
            created_at: String,
        }
        let db = Sqlite::migrated().unwrap();
        db.execute(
            "INSERT INTO stores (id, name_zh, name_en, city_zh, city_en, address_zh, address_en, created_at)
                 VALUES ('s-ms', '店', 'Store', '上海', 'Shanghai', '路', 'Road', '1790000000000'),
                        ('s-iso', '店', 'Store', '上海', 'Shanghai', '路', 'Road', '2026-11-01T08:00:00Z');",
        )
        .unwrap();
        let migration = std::fs::read_to_string(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations/0010_times_as_rfc3339.sql"),
        )
        .unwrap();
        db.execute(&migration).unwrap();
        let rows = block_on(db.batch(vec![statement!("SELECT created_at FROM stores ORDER BY id")])).unwrap();
        let times: Vec<String> = rows[0].decode::<At>().unwrap().into_iter().map(|a| a.created_at).collect();
        assert_eq!(
            times,
            ["2026-11-01T08:00:00Z".to_owned(), tandem_domain::time::Timestamp(1_790_000_000_000).to_rfc3339()]
        );
    }
}
