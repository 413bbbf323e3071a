//! The platform's tenants: stores and suppliers (created with their stock location and first
//! staff member in one batch, suspended or active), and a store's clerks.

use serde::Deserialize;
use tandem_domain::api::manage::Tenant;
use tandem_domain::catalog::Text;
use tandem_domain::time::Timestamp;

use super::sql::{self, Database, Guarded, RACE_GUARDS, Statement, StoreError, statement};

/// Every store and every supplier, suspended ones too.
pub async fn all<D: Database>(db: &D) -> Result<(Vec<Tenant>, Vec<Tenant>), StoreError> {
    let mut results = sql::run(
        db,
        vec![
            statement!("SELECT id, name_zh, name_en, status FROM stores ORDER BY id"),
            statement!("SELECT id, name_zh, name_en, status FROM suppliers ORDER BY id"),
        ],
    )
    .await?;
    Ok((results.all()?, results.all()?))
}

/// Which kind of tenant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Store,
    Supplier,
}

/// Sets a tenant's status (`active` or `suspended`); `false` for no such tenant.
pub async fn set_status<D: Database>(db: &D, kind: Kind, id: &str, status: &str) -> Result<bool, StoreError> {
    let update = match kind {
        Kind::Store => statement!("UPDATE stores SET status = ?2 WHERE id = ?1", id, status),
        Kind::Supplier => statement!("UPDATE suppliers SET status = ?2 WHERE id = ?1", id, status),
    };
    Ok(sql::run(db, vec![update]).await?.changes()? == 1)
}

/// A staff member as stored: who (by phone hash and sealed phone) and their role.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct StaffRow {
    pub phone_hash: String,
    pub phone_enc: String,
    pub role: String,
}

/// A person by phone, as staff rows keep them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Person<'a> {
    pub phone_hash: &'a str,
    pub phone_sealed: &'a str,
}

fn staff_row(scope: &str, id: &str, role: &str, person: Person<'_>, now: Timestamp) -> Statement {
    statement!(
        "INSERT INTO staff (scope, scope_id, phone_hash, phone_enc, role, added_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        scope,
        id,
        person.phone_hash,
        person.phone_sealed,
        role,
        now.millis()
    )
}

fn location(kind: &str, column: &str, id: &str, name: &Text) -> Statement {
    statement!(
        format!("INSERT INTO locations (id, kind, {column}, name_zh, name_en) VALUES (?1, '{kind}', ?2, ?3, ?4)"),
        format!("loc-{id}"),
        id,
        name.zh.as_str(),
        name.en.as_str()
    )
}

/// A new store's fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NewStore<'a> {
    pub id: &'a str,
    pub name: &'a Text,
    pub city: &'a Text,
    pub address: &'a Text,
}

/// Creates a store with its stock location, its owner and (`card`) its card, in one batch.
/// `Lost` when the id is taken.
pub async fn create_store<D: Database>(
    db: &D,
    store: NewStore<'_>,
    owner: Person<'_>,
    card: Statement,
    now: Timestamp,
) -> Result<Guarded<()>, StoreError> {
    let NewStore { id, name, city, address } = store;
    let writes = vec![
        statement!(
            "INSERT INTO stores (id, name_zh, name_en, city_zh, city_en, address_zh, address_en, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            id,
            name.zh.as_str(),
            name.en.as_str(),
            city.zh.as_str(),
            city.en.as_str(),
            address.zh.as_str(),
            address.en.as_str(),
            now.to_rfc3339()
        ),
        location("store", "store_id", id, name),
        staff_row("store", id, "owner", owner, now),
        card,
    ];
    Ok(sql::guarded(db, writes, RACE_GUARDS).await?.map(|_| ()))
}

/// Creates a supplier with its warehouse (`warehouse` its name) and first staff member, in one
/// batch. `Lost` when the id is taken.
pub async fn create_supplier<D: Database>(
    db: &D,
    (id, name, warehouse): (&str, &Text, &Text),
    staff: Person<'_>,
    now: Timestamp,
) -> Result<Guarded<()>, StoreError> {
    let writes = vec![
        statement!(
            "INSERT INTO suppliers (id, name_zh, name_en, created_at) VALUES (?1, ?2, ?3, ?4)",
            id,
            name.zh.as_str(),
            name.en.as_str(),
            now.to_rfc3339()
        ),
        location("supplier_warehouse", "supplier_id", id, warehouse),
        staff_row("supplier", id, "staff", staff, now),
    ];
    Ok(sql::guarded(db, writes, RACE_GUARDS).await?.map(|_| ()))
}

/// A store's owner and clerks, the owner first.
pub async fn clerks<D: Database>(db: &D, store: &str) -> Result<Vec<StaffRow>, StoreError> {
    let read = statement!(
        "SELECT phone_hash, phone_enc, role FROM staff WHERE scope = 'store' AND scope_id = ?1 ORDER BY role DESC, added_at",
        store
    );
    sql::run(db, vec![read]).await?.all()
}

/// Makes a person a clerk of `store` (no change when they work there already).
pub async fn add_clerk<D: Database>(db: &D, store: &str, person: Person<'_>, now: Timestamp) -> Result<(), StoreError> {
    let insert = statement!(
        "INSERT INTO staff (scope, scope_id, phone_hash, phone_enc, role, added_at) VALUES ('store', ?1, ?2, ?3, 'clerk', ?4)
         ON CONFLICT (scope, scope_id, phone_hash) DO NOTHING",
        store,
        person.phone_hash,
        person.phone_sealed,
        now.millis()
    );
    sql::run(db, vec![insert]).await?;
    Ok(())
}

/// Removes a clerk of `store` (never its owner); `false` for no such clerk.
pub async fn remove_clerk<D: Database>(db: &D, store: &str, phone_hash: &str) -> Result<bool, StoreError> {
    let delete = statement!(
        "DELETE FROM staff WHERE scope = 'store' AND scope_id = ?1 AND phone_hash = ?2 AND role = 'clerk'",
        store,
        phone_hash
    );
    Ok(sql::run(db, vec![delete]).await?.changes()? == 1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::cards::ensure_store_card;
    use crate::store::sqlite::{Sqlite, block_on};

    const NOW: Timestamp = Timestamp(1_790_000_000_000);

    #[test]
    fn tenants_are_created_once_with_their_location_and_first_staff() {
        let db = Sqlite::migrated().unwrap();
        let (name, city, address) = (Text::new("店", "Store"), Text::new("上海", "Shanghai"), Text::new("路", "Road"));
        let store = NewStore { id: "s-9", name: &name, city: &city, address: &address };
        let (hash, clerk) = ("a".repeat(64), "b".repeat(64));
        let owner = Person { phone_hash: &hash, phone_sealed: "x" };
        let card = || ensure_store_card("s-9", "STORE00009", NOW);
        assert!(block_on(create_store(&db, store, owner, card(), NOW)).unwrap().written());
        assert!(!block_on(create_store(&db, store, owner, card(), NOW)).unwrap().written(), "the id is taken");
        let warehouse = Text::new("仓", "Warehouse");
        assert!(block_on(create_supplier(&db, ("sup-9", &name, &warehouse), owner, NOW)).unwrap().written());
        let (stores, suppliers) = block_on(all(&db)).unwrap();
        assert_eq!((stores.len(), suppliers.len()), (1, 1));
        assert!(block_on(set_status(&db, Kind::Store, "s-9", "suspended")).unwrap());
        assert!(!block_on(set_status(&db, Kind::Supplier, "sup-0", "suspended")).unwrap());

        block_on(add_clerk(&db, "s-9", Person { phone_hash: &clerk, phone_sealed: "y" }, NOW)).unwrap();
        let staff = block_on(clerks(&db, "s-9")).unwrap();
        assert_eq!(staff.iter().map(|s| s.role.as_str()).collect::<Vec<_>>(), ["owner", "clerk"]);
        assert!(!block_on(remove_clerk(&db, "s-9", &hash)).unwrap(), "never the owner");
        assert!(block_on(remove_clerk(&db, "s-9", &clerk)).unwrap());
    }
}
