//! The store layer's [`Database`] over D1, in the Worker. Each batch is one round trip, counted
//! for `GET /api/dev/stats`.

use serde::de::DeserializeOwned;
use worker::wasm_bindgen::JsValue;
use worker::{D1Database, D1PreparedStatement, D1Result};

use super::sql::{Database, Rows, Statement, StoreError, Value};

pub struct D1<'a>(pub &'a D1Database);

impl Rows for D1Result {
    fn decode<T: DeserializeOwned>(&self) -> Result<Vec<T>, StoreError> {
        if let Some(error) = self.error() {
            return Err(StoreError::from_message(&error));
        }
        self.results().map_err(StoreError::failed)
    }

    fn changes(&self) -> u64 {
        self.meta().ok().flatten().and_then(|m| m.changes).map_or(0, |n| u64::try_from(n).unwrap_or(0))
    }
}

/// Binds an integer; every integer this API binds (page sizes, fen, milliseconds) is far below
/// 2^53, where JavaScript numbers stop being exact.
#[allow(clippy::cast_precision_loss)]
fn js(value: &Value) -> JsValue {
    match value {
        Value::Null => JsValue::NULL,
        Value::Integer(n) => JsValue::from_f64(*n as f64),
        Value::Text(text) => JsValue::from_str(text),
    }
}

/// The D1 statement of a store statement.
fn prepared(db: &D1Database, statement: &Statement) -> Result<D1PreparedStatement, StoreError> {
    let values: Vec<JsValue> = statement.values.iter().map(js).collect();
    db.prepare(&statement.sql).bind(&values).map_err(|e| StoreError::from_message(&e.to_string()))
}

impl Database for D1<'_> {
    type Rows = D1Result;

    async fn batch(&self, statements: Vec<Statement>) -> Result<Vec<D1Result>, StoreError> {
        let prepared = statements.iter().map(|s| prepared(self.0, s)).collect::<Result<Vec<_>, _>>()?;
        crate::db::count_round_trip();
        self.0.batch(prepared).await.map_err(|e| StoreError::from_message(&e.to_string()))
    }
}
