//! What a flash-sale row's stock gate reads of D1 (`stock::gate::Snapshot`): the row's free
//! units and which of the gate's granted checkouts are written, in one batch, so that the two
//! are read at one moment.

use serde::Deserialize;
use tandem_domain::stock::gate::Snapshot;

use super::sql::{self, Database, StoreError, statement};

#[derive(Deserialize)]
struct FreeRow {
    available: i64,
}

#[derive(Deserialize)]
struct CheckoutRow {
    id: String,
}

/// The snapshot of `sku` at `location` for a gate that granted `checkouts`.
pub async fn snapshot<D: Database>(
    db: &D,
    location: &str,
    sku: &str,
    checkouts: &[String],
) -> Result<Snapshot, StoreError> {
    let reads = vec![
        statement!(
            "SELECT on_hand - reserved AS available FROM stock WHERE location_id = ?1 AND sku_id = ?2",
            location,
            sku
        ),
        statement!(
            "SELECT id FROM checkouts WHERE id IN (SELECT value FROM json_each(?1))",
            serde_json::to_string(checkouts).map_err(StoreError::failed)?
        ),
    ];
    let mut results = sql::run(db, reads).await?;
    let available = results.first::<FreeRow>()?.map(|row| row.available);
    let written = results.all::<CheckoutRow>()?.into_iter().map(|row| row.id).collect();
    Ok(Snapshot { available, written })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::fixtures;
    use crate::store::sqlite::block_on;

    #[test]
    fn a_snapshot_reads_the_free_units_and_the_written_checkouts_together() {
        let db = fixtures::catalogue();
        fixtures::member(&db, "m-1", "CODE01", None);
        db.execute(
            "UPDATE stock SET reserved = 2 WHERE sku_id = 'p-1-01';
             INSERT INTO checkouts (id, member_id, store_id, state, total_fen, hold_expires_at, created_at)
             VALUES ('c-1', 'm-1', 's-1', 'awaiting_payment', 500, 1, 0);",
        )
        .unwrap();
        let asked = ["c-1".to_owned(), "c-2".to_owned()];
        let read = block_on(snapshot(&db, "w-a", "p-1-01", &asked)).unwrap();
        assert_eq!(read, Snapshot { available: Some(3), written: vec!["c-1".to_owned()] });
        let none = block_on(snapshot(&db, "w-a", "p-9-99", &[])).unwrap();
        assert_eq!(none, Snapshot { available: None, written: Vec::new() });
    }
}
