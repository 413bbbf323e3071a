//! The AI business card's memory: a person's consent, behaviour events and profile (written
//! only over the version read), the paid online orders that join the profile when it is read,
//! the export and erasure of it all, the stores' devices, and a visitor's rows moved to the
//! member at sign-in. The domain folds events into profiles (`profile::ingest`, `rebuild`);
//! this module reads and writes.

use std::collections::{BTreeMap, BTreeSet};

use serde::Deserialize;
use tandem_domain::api::memory::{Device, ExportedEvent, ExportedOrder};
use tandem_domain::behaviour::Event;
use tandem_domain::catalog::{Category, ProductId, StoreId};
use tandem_domain::money::Fen;
use tandem_domain::profile::{Consent, Facts, Profile};
use tandem_domain::time::Timestamp;

use super::sql::{self, Database, Guarded, RACE_GUARDS, Results, Rows, Statement, StoreError, statement, stored};

#[derive(Deserialize)]
struct ConsentRow {
    behaviour: i64,
    personalised: i64,
}

#[derive(Deserialize)]
struct ProfileRow {
    body: String,
    version: i64,
}

/// A subject's consent and stored profile, with the version a write must still find (`None`:
/// no profile stored yet).
#[derive(Debug, Clone, PartialEq)]
pub struct Stored {
    pub consent: Option<Consent>,
    pub profile: Profile,
    pub version: Option<i64>,
}

/// The two reads of a subject's consent and profile, to join a read batch; taken by [`stored_from`].
pub fn stored_reads(key: &str) -> [Statement; 2] {
    [
        statement!("SELECT behaviour, personalised FROM consents WHERE subject = ?1", key),
        statement!("SELECT body, version FROM profiles WHERE subject = ?1", key),
    ]
}

/// The consent and profile of [`stored_reads`], taken next from `results`.
pub fn stored_from<R: Rows>(results: &mut Results<R>) -> Result<Stored, StoreError> {
    let consent = results
        .first::<ConsentRow>()?
        .map(|c| Consent { behaviour: c.behaviour == 1, personalised: c.personalised == 1 });
    let (profile, version) = match results.first::<ProfileRow>()? {
        Some(row) => (stored(serde_json::from_str(&row.body))?, Some(row.version)),
        None => (Profile::default(), None),
    };
    Ok(Stored { consent, profile, version })
}

/// A subject's consent and profile.
pub async fn stored_of<D: Database>(db: &D, key: &str) -> Result<Stored, StoreError> {
    stored_from(&mut sql::run(db, stored_reads(key).into()).await?)
}

/// A paid online order of a member, as the profile counts it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Purchase {
    /// The member's subject key (`m:…`).
    pub subject: String,
    /// What is left of the goods after refunds.
    pub amount_fen: i64,
    pub paid_at: i64,
}

/// The read of the paid online orders (what is left after refunds) of the members among
/// `subjects`, to join a read batch; taken by [`purchases_from`]. Online orders are not
/// behaviour events: they join a profile when it is read, never its stored body.
pub fn purchases_read(subjects: &[&str]) -> Result<Statement, StoreError> {
    Ok(statement!(
        "SELECT 'm:' || member_id AS subject, goods_fen - refunded_goods_fen AS amount_fen, paid_at FROM orders
         WHERE paid_at IS NOT NULL AND goods_fen > refunded_goods_fen
           AND member_id IN (SELECT substr(value, 3) FROM json_each(?1) WHERE value LIKE 'm:%')",
        serde_json::to_string(subjects).map_err(StoreError::failed)?
    ))
}

/// The purchases of [`purchases_read`], taken next from `results`.
pub fn purchases_from<R: Rows>(results: &mut Results<R>) -> Result<Vec<Purchase>, StoreError> {
    results.all()
}

/// The purchases of `subject` among `purchases`, as the profile counts them.
pub fn of_subject<'a>(purchases: &'a [Purchase], subject: &'a str) -> impl Iterator<Item = (Fen, Timestamp)> + 'a {
    purchases.iter().filter(move |p| p.subject == subject).map(|p| (Fen(p.amount_fen), Timestamp(p.paid_at)))
}

/// A subject's consent, profile and purchases, in one round trip.
pub async fn with_purchases<D: Database>(db: &D, key: &str) -> Result<(Stored, Vec<Purchase>), StoreError> {
    let mut reads: Vec<Statement> = stored_reads(key).into();
    reads.push(purchases_read(&[key])?);
    let mut results = sql::run(db, reads).await?;
    Ok((stored_from(&mut results)?, purchases_from(&mut results)?))
}

/// Records what `key` agrees to.
pub async fn set_consent<D: Database>(db: &D, key: &str, consent: Consent, now: Timestamp) -> Result<(), StoreError> {
    let write = statement!(
        "INSERT INTO consents (subject, behaviour, personalised, updated_at) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (subject) DO UPDATE SET behaviour = ?2, personalised = ?3, updated_at = ?4",
        key,
        i64::from(consent.behaviour),
        i64::from(consent.personalised),
        now.millis()
    );
    sql::run(db, vec![write]).await?;
    Ok(())
}

#[derive(Deserialize)]
struct EventIdRow {
    event_id: String,
}

#[derive(Deserialize)]
struct FactsRow {
    id: String,
    category: String,
    price_fen: Option<i64>,
}

fn facts_from<R: Rows>(results: &mut Results<R>) -> Result<BTreeMap<String, Facts>, StoreError> {
    Ok(results
        .all::<FactsRow>()?
        .into_iter()
        .filter_map(|row| {
            let category = Category::parse(&row.category).ok()?;
            Some((row.id, Facts { category, price: Fen(row.price_fen.unwrap_or(0)) }))
        })
        .collect())
}

const FACTS: &str =
    "SELECT p.id, p.category, (SELECT MIN(min_price_fen) FROM skus WHERE product_id = p.id) AS price_fen
     FROM products p";

/// What folding a batch of events into a subject's profile reads.
#[derive(Debug, Clone, PartialEq)]
pub struct ForIngest {
    pub stored: Stored,
    /// The batch's event ids already recorded.
    pub known: BTreeSet<String>,
    /// The facts of the products the batch names (a product the catalogue lacks is absent).
    pub facts: BTreeMap<String, Facts>,
}

/// Reads what folding `events` into `key`'s profile needs, in one round trip.
pub async fn for_ingest<D: Database>(db: &D, key: &str, events: &[Event]) -> Result<ForIngest, StoreError> {
    let ids: Vec<&str> = events.iter().map(|e| e.id.as_str()).collect();
    let mut products: Vec<&str> = events.iter().filter_map(|e| e.what.product().map(ProductId::as_str)).collect();
    products.sort_unstable();
    products.dedup();
    let mut reads: Vec<Statement> = stored_reads(key).into();
    reads.push(statement!(
        "SELECT event_id FROM behaviour_events WHERE subject = ?1 AND event_id IN (SELECT value FROM json_each(?2))",
        key,
        serde_json::to_string(&ids).map_err(StoreError::failed)?
    ));
    reads.push(statement!(
        format!("{FACTS} WHERE p.id IN (SELECT value FROM json_each(?1))"),
        serde_json::to_string(&products).map_err(StoreError::failed)?
    ));
    let mut results = sql::run(db, reads).await?;
    let stored = stored_from(&mut results)?;
    let known = results.all::<EventIdRow>()?.into_iter().map(|r| r.event_id).collect();
    let facts = facts_from(&mut results)?;
    Ok(ForIngest { stored, known, facts })
}

/// The write of a profile: an insert when none was read (a concurrent insert fails the
/// primary key), else an update only at the version read (NOT NULL refuses a stale one).
fn profile_write(
    key: &str,
    profile: &Profile,
    read_version: Option<i64>,
    now: Timestamp,
) -> Result<Statement, StoreError> {
    let body = serde_json::to_string(profile).map_err(StoreError::failed)?;
    Ok(match read_version {
        None => statement!(
            "INSERT INTO profiles (subject, body, version, updated_at) VALUES (?1, ?2, 1, ?3)",
            key,
            body,
            now.millis()
        ),
        Some(version) => statement!(
            "UPDATE profiles SET body = ?2, updated_at = ?4, version = CASE WHEN version = ?3 THEN version + 1 END
             WHERE subject = ?1",
            key,
            body,
            version,
            now.millis()
        ),
    })
}

/// Saves `key`'s profile over the version read. `Lost` when another write came first.
pub async fn save_profile<D: Database>(
    db: &D,
    key: &str,
    profile: &Profile,
    read_version: Option<i64>,
    now: Timestamp,
) -> Result<Guarded<()>, StoreError> {
    let write = profile_write(key, profile, read_version, now)?;
    Ok(sql::guarded(db, vec![write], RACE_GUARDS).await?.map(|_| ()))
}

/// Records the new events of a batch (from `source`) and the profile they were folded into,
/// over the profile's version as read. `Lost` when another batch for the person came first.
pub async fn record<D: Database>(
    db: &D,
    key: &str,
    (events, source): (&[&Event], &str),
    profile: &Profile,
    read_version: Option<i64>,
    now: Timestamp,
) -> Result<Guarded<()>, StoreError> {
    let mut writes = Vec::with_capacity(events.len() + 1);
    for event in events {
        writes.push(statement!(
            "INSERT INTO behaviour_events (subject, event_id, kind, product_id, store_id, at, source, body)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            key,
            event.id.as_str(),
            event.what.kind(),
            event.what.product().map(ProductId::as_str),
            event.what.store().map(StoreId::as_str),
            event.at.millis(),
            source,
            serde_json::to_string(event).map_err(StoreError::failed)?
        ));
    }
    writes.push(profile_write(key, profile, read_version, now)?);
    Ok(sql::guarded(db, writes, RACE_GUARDS).await?.map(|_| ()))
}

#[derive(Deserialize)]
struct IdRow {
    id: String,
}

/// The member whose phone has lookup hash `lookup`.
pub async fn member_by_phone<D: Database>(db: &D, lookup: &str) -> Result<Option<String>, StoreError> {
    let read = statement!("SELECT id FROM members WHERE phone_hash = ?1", lookup);
    Ok(sql::run(db, vec![read]).await?.first::<IdRow>()?.map(|r| r.id))
}

/// The member whose card (invite) code is `code`.
pub async fn member_by_code<D: Database>(db: &D, code: &str) -> Result<Option<String>, StoreError> {
    let read = statement!("SELECT member_id AS id FROM chain_members WHERE invite_code = ?1", code);
    Ok(sql::run(db, vec![read]).await?.first::<IdRow>()?.map(|r| r.id))
}

/// An event as recorded, with where it came from.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
struct RecordedEvent {
    /// The event as the domain wrote it (JSON).
    body: String,
    source: String,
}

/// Everything kept about a subject (and its member's orders, `member` empty for a visitor).
pub async fn export<D: Database>(
    db: &D,
    key: &str,
    member: &str,
) -> Result<(Stored, Vec<ExportedEvent>, Vec<ExportedOrder>), StoreError> {
    let mut reads: Vec<Statement> = stored_reads(key).into();
    reads.push(statement!("SELECT body, source FROM behaviour_events WHERE subject = ?1 ORDER BY at, event_id", key));
    reads.push(statement!(
        "SELECT id, store_id, state, total_fen, created_at FROM orders WHERE member_id = ?1 ORDER BY created_at",
        member
    ));
    let mut results = sql::run(db, reads).await?;
    let stored_profile = stored_from(&mut results)?;
    let events = results
        .all::<RecordedEvent>()?
        .into_iter()
        .map(|row| Ok(ExportedEvent { event: stored(serde_json::from_str(&row.body))?, source: row.source }))
        .collect::<Result<_, StoreError>>()?;
    Ok((stored_profile, events, results.all()?))
}

/// Erases a subject's events and profile (orders, the ledger and the consent record stay):
/// how many events went, and whether a profile did.
pub async fn erase<D: Database>(db: &D, key: &str) -> Result<(u64, bool), StoreError> {
    let mut results = sql::run(
        db,
        vec![
            statement!("DELETE FROM behaviour_events WHERE subject = ?1", key),
            statement!("DELETE FROM profiles WHERE subject = ?1", key),
        ],
    )
    .await?;
    Ok((results.changes()?, results.changes()? > 0))
}

/// A device not revoked, by its key's hash: its id and store.
pub async fn device_by_key<D: Database>(db: &D, key_hash: &str) -> Result<Option<(String, String)>, StoreError> {
    #[derive(Deserialize)]
    struct Row {
        id: String,
        store_id: String,
    }
    let read =
        statement!("SELECT id, store_id FROM store_devices WHERE key_hash = ?1 AND revoked_at IS NULL", key_hash);
    Ok(sql::run(db, vec![read]).await?.first::<Row>()?.map(|r| (r.id, r.store_id)))
}

/// Registers a device of `store` by its key's hash.
pub async fn add_device<D: Database>(
    db: &D,
    (id, store, name): (&str, &str, &str),
    key_hash: &str,
    now: Timestamp,
) -> Result<(), StoreError> {
    let insert = statement!(
        "INSERT INTO store_devices (id, store_id, name, key_hash, created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
        id,
        store,
        name,
        key_hash,
        now.millis()
    );
    sql::run(db, vec![insert]).await?;
    Ok(())
}

/// A store's devices, newest first.
pub async fn devices<D: Database>(db: &D, store: &str) -> Result<Vec<Device>, StoreError> {
    let read = statement!(
        "SELECT id, name, created_at, revoked_at FROM store_devices WHERE store_id = ?1 ORDER BY created_at DESC, id",
        store
    );
    sql::run(db, vec![read]).await?.all()
}

/// Revokes a device of `store` (again: no change); `None` for no such device there.
pub async fn revoke_device<D: Database>(
    db: &D,
    store: &str,
    device: &str,
    now: Timestamp,
) -> Result<Option<Device>, StoreError> {
    let update = statement!(
        "UPDATE store_devices SET revoked_at = COALESCE(revoked_at, ?3) WHERE id = ?1 AND store_id = ?2
         RETURNING id, name, created_at, revoked_at",
        device,
        store,
        now.millis()
    );
    sql::run(db, vec![update]).await?.first()
}

/// The statements that give `from`'s card visits and clerk attribution to `to` (where `to`
/// already has an attribution at a store, theirs stays).
fn move_visits(from: &str, to: &str) -> Vec<Statement> {
    vec![
        statement!("UPDATE OR IGNORE card_visits SET visitor = ?2 WHERE visitor = ?1", from, to),
        statement!("DELETE FROM card_visits WHERE visitor = ?1", from),
        statement!("UPDATE OR IGNORE clerk_customers SET subject = ?2 WHERE subject = ?1", from, to),
        statement!("DELETE FROM clerk_customers WHERE subject = ?1", from),
    ]
}

#[derive(Deserialize)]
struct CountRow {
    n: i64,
}

/// A consented visitor's removed tags, and whether it has events to move.
pub async fn visitor_state<D: Database>(db: &D, key: &str) -> Result<(BTreeSet<String>, bool), StoreError> {
    let [_, profile_read] = stored_reads(key);
    let mut results = sql::run(
        db,
        vec![profile_read, statement!("SELECT COUNT(*) AS n FROM behaviour_events WHERE subject = ?1", key)],
    )
    .await?;
    let muted = match results.first::<ProfileRow>()? {
        Some(row) => stored(serde_json::from_str::<Profile>(&row.body))?.muted,
        None => BTreeSet::new(),
    };
    Ok((muted, results.first::<CountRow>()?.is_some_and(|n| n.n > 0)))
}

/// Moves what the subjects `from` did on this device to the member subject `to`, in one
/// batch: a consented visitor's (`v:…`) events, consent (unless `to` has its own) and profile
/// (dropped: the member's is rebuilt), and every one's card visits and clerk attribution.
/// Safe to run again: moved rows are gone from the visitor.
pub async fn merge<D: Database>(db: &D, from: &[String], to: &str) -> Result<(), StoreError> {
    let mut writes = Vec::new();
    for key in from {
        if key.starts_with("v:") {
            writes.extend([
                statement!("UPDATE OR IGNORE behaviour_events SET subject = ?2 WHERE subject = ?1", key, to),
                statement!("DELETE FROM behaviour_events WHERE subject = ?1", key),
                statement!(
                    "INSERT INTO consents (subject, behaviour, personalised, updated_at)
                     SELECT ?2, behaviour, personalised, updated_at FROM consents WHERE subject = ?1
                     ON CONFLICT (subject) DO NOTHING",
                    key,
                    to
                ),
                statement!("DELETE FROM consents WHERE subject = ?1", key),
                statement!("DELETE FROM profiles WHERE subject = ?1", key),
            ]);
        }
        writes.extend(move_visits(key, to));
    }
    sql::run(db, writes).await?;
    Ok(())
}

/// What rebuilding a subject's profile reads: its removed tags and version, all its events
/// (oldest first) and the facts of the products they name.
#[derive(Debug, Clone, PartialEq)]
pub struct ForRebuild {
    pub muted: BTreeSet<String>,
    pub version: Option<i64>,
    pub events: Vec<Event>,
    pub facts: BTreeMap<String, Facts>,
}

#[derive(Deserialize)]
struct BodyRow {
    body: String,
}

/// Reads what rebuilding `key`'s profile needs, in one round trip.
pub async fn for_rebuild<D: Database>(db: &D, key: &str) -> Result<ForRebuild, StoreError> {
    let [_, profile_read] = stored_reads(key);
    let mut results = sql::run(
        db,
        vec![
            profile_read,
            statement!("SELECT body FROM behaviour_events WHERE subject = ?1 ORDER BY at", key),
            statement!(
                format!("{FACTS} WHERE p.id IN (SELECT DISTINCT product_id FROM behaviour_events WHERE subject = ?1)"),
                key
            ),
        ],
    )
    .await?;
    let (muted, version) = match results.first::<ProfileRow>()? {
        Some(row) => (stored(serde_json::from_str::<Profile>(&row.body))?.muted, Some(row.version)),
        None => (BTreeSet::new(), None),
    };
    let events = results
        .all::<BodyRow>()?
        .iter()
        .map(|row| stored(serde_json::from_str::<Event>(&row.body)))
        .collect::<Result<_, _>>()?;
    Ok(ForRebuild { muted, version, events, facts: facts_from(&mut results)? })
}

#[cfg(test)]
mod tests {
    use tandem_domain::behaviour::{RawEvent, Source, check_batch};
    use tandem_domain::profile::{self, Config};

    use super::*;
    use crate::store::fixtures;
    use crate::store::sqlite::block_on;

    const NOW: Timestamp = Timestamp(1_790_000_000_000);

    fn events(json: &str) -> Vec<Event> {
        let raw: Vec<RawEvent> = serde_json::from_str(json).unwrap();
        check_batch(&raw, &Source::App, NOW).unwrap()
    }

    #[test]
    fn events_are_recorded_once_and_the_profile_only_over_the_version_read() {
        let db = fixtures::catalogue();
        let key = "v:v-0123456789abcdef";
        let agreed = Consent { behaviour: true, personalised: true };
        block_on(set_consent(&db, key, agreed, NOW)).unwrap();
        let batch = events(r#"[{"id":"e-000001","type":"view","product":"p-1"}]"#);
        let read = block_on(for_ingest(&db, key, &batch)).unwrap();
        assert_eq!((read.stored.consent, read.stored.version), (Some(agreed), None));
        assert!(read.facts.contains_key("p-1"));
        let config = Config::default();
        let folded = profile::ingest(
            read.stored.consent,
            read.stored.profile.clone(),
            &read.known,
            &read.facts,
            &batch,
            &config,
        )
        .unwrap();
        let write = |version| block_on(record(&db, key, (&folded.new, "app"), &folded.profile, version, NOW)).unwrap();
        assert!(write(None).written());
        // The same batch again, on the same read: the event's key and the profile's insert refuse it.
        assert!(!write(None).written());
        let again = block_on(for_ingest(&db, key, &batch)).unwrap();
        assert_eq!((again.known.len(), again.stored.version), (1, Some(1)));
        // A profile saved over a stale version is refused.
        assert!(!block_on(save_profile(&db, key, &Profile::default(), Some(7), NOW)).unwrap().written());
        assert!(block_on(save_profile(&db, key, &again.stored.profile, Some(1), NOW)).unwrap().written());

        // At sign-in the visitor's rows become the member's, and its profile is rebuilt there.
        fixtures::member(&db, "m-1", "CODE01", None);
        assert!(block_on(visitor_state(&db, key)).unwrap().1);
        block_on(merge(&db, &[key.to_owned()], "m:m-1")).unwrap();
        assert!(!block_on(visitor_state(&db, key)).unwrap().1);
        let rebuild = block_on(for_rebuild(&db, "m:m-1")).unwrap();
        assert_eq!((rebuild.events.len(), rebuild.version), (1, None));
        assert_eq!(block_on(stored_of(&db, "m:m-1")).unwrap().consent, Some(agreed));
        let (stored, events, orders) = block_on(export(&db, "m:m-1", "m-1")).unwrap();
        assert_eq!((stored.version, events.len(), orders.len()), (None, 1, 0));
        assert_eq!(block_on(erase(&db, "m:m-1")).unwrap(), (1, false));
    }

    #[test]
    fn devices_are_found_by_key_until_revoked_and_purchases_count_what_was_not_refunded() {
        let db = fixtures::catalogue();
        block_on(add_device(&db, ("dev-1", "s-1", "镜子"), &"k".repeat(64), NOW)).unwrap();
        assert_eq!(block_on(device_by_key(&db, &"k".repeat(64))).unwrap(), Some(("dev-1".into(), "s-1".into())));
        assert_eq!(block_on(revoke_device(&db, "s-2", "dev-1", NOW)).unwrap(), None, "another store's device");
        let revoked = block_on(revoke_device(&db, "s-1", "dev-1", NOW)).unwrap().unwrap();
        assert_eq!(revoked.revoked_at, Some(NOW.millis()));
        assert_eq!(block_on(device_by_key(&db, &"k".repeat(64))).unwrap(), None);
        assert_eq!(block_on(devices(&db, "s-1")).unwrap().len(), 1);

        fixtures::member(&db, "m-1", "CODE01", None);
        fixtures::order(&db, "o-1", "m-1", "paid", 2);
        db.execute("UPDATE orders SET paid_at = 5, refunded_goods_fen = 250 WHERE id = 'o-1'").unwrap();
        let (_, purchases) = block_on(with_purchases(&db, "m:m-1")).unwrap();
        assert_eq!(of_subject(&purchases, "m:m-1").collect::<Vec<_>>(), [(Fen(250), Timestamp(5))]);
        assert_eq!(block_on(member_by_code(&db, "CODE01")).unwrap().as_deref(), Some("m-1"));
        assert_eq!(block_on(member_by_phone(&db, &fixtures::phone_hash("m-1"))).unwrap().as_deref(), Some("m-1"));
    }
}
