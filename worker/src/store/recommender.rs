//! What the recommender learns from and serves with: everyone's touches (behaviour events and
//! paid order lines) and the catalogue for training, the build's summary, one person's touches
//! and profile with the store's shelf for a placement, the picked products as storefront cards,
//! and the shelf a clerk's conversation notes are read against. `recommend::serve` decides.

use std::collections::{HashMap, HashSet};

use serde::Deserialize;
use tandem_domain::catalog::{Category, ProductId, StoreId, Text};
use tandem_domain::conversation;
use tandem_domain::money::Fen;
use tandem_domain::profile::Facts;
use tandem_domain::recommend::serve::{self, Card, Item, Recommendation, Touch, Trained};
use tandem_domain::time::Timestamp;

use super::profiles::{self, Stored};
use super::sql::{self, Database, Statement, StoreError, statement};

#[derive(Deserialize)]
struct ItemRow {
    id: String,
    category: String,
    name_zh: String,
    name_en: String,
    price_fen: Option<i64>,
}

#[derive(Deserialize)]
struct TouchRow {
    subject: String,
    product_id: String,
    kind: String,
    at: i64,
    store_id: Option<String>,
    outcome: Option<String>,
}

impl TouchRow {
    /// The touch this row records; rows of kinds the recommender does not learn from, or of ids
    /// no longer valid, are none.
    fn touch(self) -> Option<Touch> {
        Some(Touch {
            signal: serve::signal_of(&self.kind, self.outcome.as_deref())?,
            product: ProductId::parse(&self.product_id).ok()?,
            store: self.store_id.as_deref().and_then(|s| StoreId::parse(s).ok()),
            subject: self.subject,
            at: Timestamp(self.at),
        })
    }
}

fn touches(rows: Vec<TouchRow>) -> Vec<Touch> {
    rows.into_iter().filter_map(TouchRow::touch).collect()
}

/// What the recommender trains on.
#[derive(Debug, Clone, PartialEq)]
pub struct Training {
    /// Every product, with its category and lowest retail band.
    pub items: Vec<Item>,
    /// Everyone's touches since the window's start, newest first.
    pub touches: Vec<Touch>,
}

/// The catalogue and everyone's touches since `since` (behaviour events on a product and paid
/// order lines, as `m:{member}`), the newest `limit` of them.
pub async fn training<D: Database>(db: &D, since: Timestamp, limit: i64) -> Result<Training, StoreError> {
    let mut results = sql::run(
        db,
        vec![
            statement!(
                "SELECT p.id, p.category, p.name_zh, p.name_en,
                        (SELECT MIN(min_price_fen) FROM skus WHERE product_id = p.id) AS price_fen
                 FROM products p ORDER BY p.id"
            ),
            statement!(
                "SELECT subject, product_id, kind, at, store_id, json_extract(body, '$.outcome') AS outcome
                 FROM behaviour_events WHERE product_id IS NOT NULL AND at >= ?1
                 UNION ALL
                 SELECT 'm:' || o.member_id, l.product_id, 'order', o.paid_at, o.store_id, NULL
                 FROM orders o JOIN order_lines l ON l.order_id = o.id
                 WHERE o.paid_at IS NOT NULL AND o.paid_at >= ?1
                 ORDER BY 4 DESC LIMIT ?2",
                since.millis(),
                limit
            ),
        ],
    )
    .await?;
    let items = results
        .all::<ItemRow>()?
        .into_iter()
        .filter_map(|row| {
            Some(Item {
                product: ProductId::parse(&row.id).ok()?,
                name: Text::new(row.name_zh, row.name_en),
                facts: Facts { category: Category::parse(&row.category).ok()?, price: Fen(row.price_fen.unwrap_or(0)) },
            })
        })
        .collect();
    Ok(Training { items, touches: touches(results.all()?) })
}

/// Records that `trained` was built: its summary for the operator, and when, which the cron
/// reads to know when to build again.
pub async fn record_build<D: Database>(db: &D, trained: &Trained) -> Result<(), StoreError> {
    let summary = serde_json::json!({
        "blend": trained.blend,
        "learned_from": trained.learned_from,
        "items": trained.items.len(),
    });
    sql::run(
        db,
        vec![statement!(
            "INSERT INTO recommender_models (id, body, events, built_at) VALUES (1, ?1, ?2, ?3)
             ON CONFLICT (id) DO UPDATE SET body = ?1, events = ?2, built_at = ?3",
            summary.to_string(),
            i64::try_from(trained.touches).map_err(StoreError::failed)?,
            trained.built_at.millis()
        )],
    )
    .await?;
    Ok(())
}

#[derive(Deserialize)]
struct BuiltRow {
    built_at: i64,
}

/// When the recommender was last built, if ever.
pub async fn built_at<D: Database>(db: &D) -> Result<Option<Timestamp>, StoreError> {
    let row: Option<BuiltRow> =
        sql::run(db, vec![statement!("SELECT built_at FROM recommender_models WHERE id = 1")]).await?.first()?;
    Ok(row.map(|r| Timestamp(r.built_at)))
}

#[derive(Deserialize)]
struct ProductRow {
    product_id: String,
}

#[derive(Deserialize)]
struct NamedRow {
    id: String,
    name_zh: String,
    name_en: String,
}

/// What serving a placement to one person at one store reads.
#[derive(Debug, Clone, PartialEq)]
pub struct Placing {
    /// The person's consent and profile.
    pub stored: Stored,
    /// The person's own touches, newest first.
    pub own: Vec<Touch>,
    /// The products on the store's shelf (none: no such store, or nothing on it).
    pub shelf: HashSet<ProductId>,
    /// Every store's name, to say where a product was tried on.
    pub stores: HashMap<StoreId, Text>,
}

/// One person's consent, profile and newest `own_limit` touches since `since` (`key` their
/// subject key, `member` their member id when signed in: their paid order lines count), with
/// the shelf of `store`, in one round trip. By the `(subject, at)` index and the orders'
/// member index, never a scan.
pub async fn placing<D: Database>(
    db: &D,
    key: &str,
    member: Option<&str>,
    store: &StoreId,
    since: Timestamp,
    own_limit: i64,
) -> Result<Placing, StoreError> {
    let mut reads: Vec<Statement> = profiles::stored_reads(key).into();
    reads.push(statement!(
        "SELECT subject, product_id, kind, at, store_id, json_extract(body, '$.outcome') AS outcome
         FROM behaviour_events WHERE subject = ?1 AND at >= ?2 AND product_id IS NOT NULL
         UNION ALL
         SELECT ?1, l.product_id, 'order', o.paid_at, o.store_id, NULL
         FROM orders o JOIN order_lines l ON l.order_id = o.id
         WHERE o.member_id = ?3 AND o.paid_at IS NOT NULL AND o.paid_at >= ?2
         ORDER BY 4 DESC LIMIT ?4",
        key,
        since.millis(),
        member,
        own_limit
    ));
    reads.push(statement!("SELECT DISTINCT product_id FROM shelf_items WHERE store_id = ?1", store.as_str()));
    reads.push(statement!("SELECT id, name_zh, name_en FROM stores"));
    let mut results = sql::run(db, reads).await?;
    Ok(Placing {
        stored: profiles::stored_from(&mut results)?,
        own: touches(results.all()?),
        shelf: results.all::<ProductRow>()?.into_iter().filter_map(|r| ProductId::parse(&r.product_id).ok()).collect(),
        stores: results
            .all::<NamedRow>()?
            .into_iter()
            .filter_map(|r| Some((StoreId::parse(&r.id).ok()?, Text::new(r.name_zh, r.name_en))))
            .collect(),
    })
}

#[derive(Deserialize)]
struct CardRow {
    id: String,
    category: String,
    name_zh: String,
    name_en: String,
    price_from_fen: i64,
    image: Option<String>,
}

/// The picked products as storefront cards of `store`, in the picked order: the lowest price
/// on its shelf and the first picture. Picks no longer on the shelf are left out.
pub async fn cards<D: Database>(db: &D, store: &StoreId, picks: &[Recommendation]) -> Result<Vec<Card>, StoreError> {
    if picks.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<&str> = picks.iter().map(|p| p.product.as_str()).collect();
    let rows: Vec<CardRow> = sql::run(
        db,
        vec![statement!(
            "SELECT p.id, p.category, p.name_zh, p.name_en, MIN(si.price_fen) AS price_from_fen,
                    (SELECT m.url FROM media m WHERE m.product_id = p.id AND m.kind = 'image'
                     ORDER BY m.position LIMIT 1) AS image
             FROM shelf_items si JOIN products p ON p.id = si.product_id
             WHERE si.store_id = ?1 AND p.id IN (SELECT value FROM json_each(?2))
             GROUP BY p.id",
            store.as_str(),
            serde_json::to_string(&ids).map_err(StoreError::failed)?
        )],
    )
    .await?
    .all()?;
    let by_id: HashMap<&str, &CardRow> = rows.iter().map(|row| (row.id.as_str(), row)).collect();
    Ok(picks
        .iter()
        .filter_map(|pick| {
            let row = by_id.get(pick.product.as_str())?;
            Some(Card {
                product_id: pick.product.clone(),
                category: Category::parse(&row.category).ok()?,
                name: Text::new(row.name_zh.clone(), row.name_en.clone()),
                price_from_fen: Fen(row.price_from_fen),
                image: row.image.clone(),
                reason: pick.reason,
                why: pick.words.clone(),
            })
        })
        .collect())
}

/// A store's name and the products on its shelf, which a clerk's conversation notes are read
/// against; `None` when there is no such store.
pub async fn conversation_shelf<D: Database>(
    db: &D,
    store: &StoreId,
) -> Result<Option<(Text, Vec<conversation::Product>)>, StoreError> {
    let mut results = sql::run(
        db,
        vec![
            statement!("SELECT id, name_zh, name_en FROM stores WHERE id = ?1", store.as_str()),
            statement!(
                "SELECT DISTINCT p.id, p.name_zh, p.name_en FROM shelf_items si JOIN products p ON p.id = si.product_id
                 WHERE si.store_id = ?1 ORDER BY p.id",
                store.as_str()
            ),
        ],
    )
    .await?;
    let Some(name) = results.first::<NamedRow>()?.map(|row| Text::new(row.name_zh, row.name_en)) else {
        return Ok(None);
    };
    let products = results
        .all::<NamedRow>()?
        .into_iter()
        .filter_map(|row| {
            Some(conversation::Product {
                id: ProductId::parse(&row.id).ok()?,
                name: Text::new(row.name_zh, row.name_en),
            })
        })
        .collect();
    Ok(Some((name, products)))
}

#[cfg(test)]
mod tests {
    use tandem_domain::recommend::{Reason, Signal};

    use super::*;
    use crate::store::fixtures;
    use crate::store::sqlite::{Sqlite, block_on};

    const NOW: Timestamp = Timestamp(1_790_000_000_000);

    fn p1() -> ProductId {
        ProductId::parse("p-1").unwrap()
    }

    fn s1() -> StoreId {
        StoreId::parse("s-1").unwrap()
    }

    /// `p-1` on the shelf of `s-1` at 260 fen, with two pictures; member `m-1` paid an order of it
    /// at `NOW - 1 day`; a visitor viewed it, and liked it on, and tried on something unknown.
    fn touched() -> Sqlite {
        let db = fixtures::catalogue();
        fixtures::member_only(&db, "m-1");
        fixtures::order(&db, "o-1", "m-1", "paid", 1);
        db.execute(&format!(
            "UPDATE orders SET paid_at = {paid} WHERE id = 'o-1';
             INSERT INTO shelf_items (store_id, sku_id, product_id, price_fen, listed_at)
                 VALUES ('s-1', 'p-1-01', 'p-1', 260, '0');
             INSERT INTO media (product_id, position, kind, url, alt_zh, alt_en)
                 VALUES ('p-1', 1, 'image', '/b.jpg', '', ''), ('p-1', 0, 'image', '/a.jpg', '', '');
             INSERT INTO behaviour_events (subject, event_id, kind, product_id, store_id, at, source, body) VALUES
                 ('anon:v', 'event-001', 'view', 'p-1', NULL, {view}, 'app', '{{}}'),
                 ('anon:v', 'event-002', 'try_on', 'p-1', 's-1', {tried}, 'app', '{{\"outcome\":\"liked\"}}'),
                 ('anon:v', 'event-003', 'search', NULL, NULL, {tried}, 'app', '{{}}'),
                 ('anon:v', 'event-004', 'view', 'p-1', NULL, {old}, 'app', '{{}}');",
            paid = NOW.plus_days(-1).millis(),
            view = NOW.plus_days(-3).millis(),
            tried = NOW.plus_days(-2).millis(),
            old = NOW.plus_days(-200).millis(),
        ))
        .unwrap();
        db
    }

    #[test]
    fn training_reads_the_catalogue_and_everyone_s_touches_in_the_window_newest_first() {
        let db = touched();
        let read = block_on(training(&db, NOW.plus_days(-180), 100)).unwrap();
        assert_eq!(read.items.len(), 1);
        assert_eq!((read.items[0].product.as_str(), read.items[0].facts.price), ("p-1", Fen(200)));
        let seen: Vec<(&str, Signal)> = read.touches.iter().map(|t| (t.subject.as_str(), t.signal)).collect();
        assert_eq!(seen, [("m:m-1", Signal::Purchase), ("anon:v", Signal::TryOn), ("anon:v", Signal::View)]);
        assert_eq!(read.touches[1].store, Some(s1()));
        assert_eq!(block_on(training(&db, NOW.plus_days(-180), 1)).unwrap().touches.len(), 1);
    }

    #[test]
    fn a_build_is_recorded_once_and_replaced_by_the_next() {
        let db = touched();
        assert_eq!(block_on(built_at(&db)).unwrap(), None);
        let data = block_on(training(&db, NOW.plus_days(-180), 100)).unwrap();
        let trained = serve::build(data.items.clone(), &data.touches, NOW);
        block_on(record_build(&db, &trained)).unwrap();
        assert_eq!(block_on(built_at(&db)).unwrap(), Some(NOW));
        let later = serve::build(data.items, &data.touches, NOW.plus_minutes(90));
        block_on(record_build(&db, &later)).unwrap();
        assert_eq!(block_on(built_at(&db)).unwrap(), Some(NOW.plus_minutes(90)));
    }

    #[test]
    fn a_placement_reads_only_the_person_s_own_touches_and_the_store_s_shelf() {
        let db = touched();
        let visitor = block_on(placing(&db, "anon:v", None, &s1(), NOW.plus_days(-180), 10)).unwrap();
        assert_eq!(visitor.own.len(), 2);
        assert!(visitor.own.iter().all(|t| t.subject == "anon:v"));
        assert_eq!(visitor.shelf, HashSet::from([p1()]));
        assert_eq!(visitor.stores.get(&s1()).map(|t| t.en.as_str()), Some("Store"));
        assert_eq!(visitor.stored.version, None);
        let member = block_on(placing(&db, "m:m-1", Some("m-1"), &s1(), NOW.plus_days(-180), 10)).unwrap();
        assert_eq!(
            member.own.iter().map(|t| (t.subject.as_str(), t.signal)).collect::<Vec<_>>(),
            [("m:m-1", Signal::Purchase)]
        );
        let elsewhere = StoreId::parse("s-none").unwrap();
        assert!(block_on(placing(&db, "anon:v", None, &elsewhere, NOW, 10)).unwrap().shelf.is_empty());
    }

    #[test]
    fn cards_keep_the_picked_order_with_the_shelf_price_and_first_picture_and_drop_what_left_the_shelf() {
        let db = touched();
        let pick = |id: &str| Recommendation {
            product: ProductId::parse(id).unwrap(),
            reason: Reason::Popular,
            words: Text::new("热卖", "Popular"),
        };
        let shown = block_on(cards(&db, &s1(), &[pick("p-gone"), pick("p-1")])).unwrap();
        assert_eq!(shown.len(), 1);
        assert_eq!((shown[0].price_from_fen, shown[0].image.as_deref()), (Fen(260), Some("/a.jpg")));
        assert!(block_on(cards(&db, &s1(), &[])).unwrap().is_empty());
    }

    #[test]
    fn a_conversation_is_read_against_the_store_s_shelf_and_no_store_is_none() {
        let db = touched();
        let (name, products) = block_on(conversation_shelf(&db, &s1())).unwrap().unwrap();
        assert_eq!((name.zh.as_str(), products.len()), ("店", 1));
        assert_eq!(block_on(conversation_shelf(&db, &StoreId::parse("s-none").unwrap())).unwrap(), None);
    }
}
