//! The business cards' rows: whose card a code is (a store's, or a person's by their invite
//! code, with where they work), what a card shows (its store, its featured products priced
//! there), the visits and attributions an opened card leaves, the owner's edits and photo, the
//! radar's visits, a store's card, and what a product page's preview names.

use serde::Deserialize;
use tandem_domain::card::ProductPreview;
use tandem_domain::catalog::{ProductId, StoreId, Text};
use tandem_domain::time::Timestamp;

use super::chain::ensure_member;
use super::sql::{self, Database, Statement, StoreError, statement};

/// A card's stored row.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct CardRow {
    pub code: String,
    pub store_id: Option<String>,
    pub title: Option<String>,
    pub bio: Option<String>,
    pub wechat: Option<String>,
    pub email: Option<String>,
    pub show_phone: i64,
    /// The featured product ids, as a JSON array.
    pub featured: String,
    pub photo: Option<String>,
}

/// A person behind a code, with the store they work at first (if any).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct PersonRow {
    pub member_id: String,
    pub invite_code: String,
    pub identity: String,
    pub display_name: Option<String>,
    pub phone_enc: String,
    pub staff_role: Option<String>,
    pub staff_store: Option<String>,
}

const CARD_COLUMNS: &str = "code, member_id, store_id, title, bio, wechat, email, show_phone, featured, photo";

const PERSON_SQL: &str = "SELECT cm.member_id, cm.invite_code, cm.identity, cm.display_name, m.phone_enc,
        (SELECT s.role FROM staff s WHERE s.phone_hash = m.phone_hash AND s.scope = 'store' ORDER BY s.added_at, s.scope_id LIMIT 1) AS staff_role,
        (SELECT s.scope_id FROM staff s WHERE s.phone_hash = m.phone_hash AND s.scope = 'store' ORDER BY s.added_at, s.scope_id LIMIT 1) AS staff_store
     FROM chain_members cm JOIN members m ON m.id = cm.member_id";

/// Whose card a code is, as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Holder {
    /// A store's card.
    Store(CardRow),
    /// A person's, with their card when they made one.
    Person(PersonRow, Option<CardRow>),
}

/// The holder of `code`: a store's card, or a person's by their invite code; `None` when the
/// code is nobody's.
pub async fn holder<D: Database>(db: &D, code: &str) -> Result<Option<Holder>, StoreError> {
    let mut results = sql::run(
        db,
        vec![
            statement!(format!("SELECT {CARD_COLUMNS} FROM cards WHERE code = ?1"), code),
            statement!(format!("{PERSON_SQL} WHERE cm.invite_code = ?1"), code),
            statement!(
                format!(
                    "SELECT {CARD_COLUMNS} FROM cards
                     WHERE member_id = (SELECT member_id FROM chain_members WHERE invite_code = ?1)"
                ),
                code
            ),
        ],
    )
    .await?;
    if let Some(card) = results.first::<CardRow>()?.filter(|c| c.store_id.is_some()) {
        return Ok(Some(Holder::Store(card)));
    }
    let Some(person) = results.first::<PersonRow>()? else { return Ok(None) };
    Ok(Some(Holder::Person(person, results.first()?)))
}

/// `member`'s own card holder, giving them a place in the network (with `fresh_code`) if they
/// have none: every signed-in member has a code.
pub async fn own<D: Database>(
    db: &D,
    member: &str,
    fresh_code: &str,
    now: Timestamp,
) -> Result<(PersonRow, Option<CardRow>), StoreError> {
    let mut results = sql::run(
        db,
        vec![
            ensure_member(member, fresh_code, now),
            statement!(format!("{PERSON_SQL} WHERE cm.member_id = ?1"), member),
            statement!(format!("SELECT {CARD_COLUMNS} FROM cards WHERE member_id = ?1"), member),
        ],
    )
    .await?;
    results.changes()?;
    let person = results.first()?.ok_or_else(|| StoreError::failed("a member without a place in the network"))?;
    Ok((person, results.first()?))
}

/// A store as a card names it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct StoreRow {
    pub id: String,
    pub name_zh: String,
    pub name_en: String,
    pub address_zh: String,
    pub address_en: String,
}

/// A featured product, priced at the card's store.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct FeaturedRow {
    pub id: String,
    pub name_zh: String,
    pub name_en: String,
    pub price_from_fen: i64,
    pub image: Option<String>,
}

/// Which products a card shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Showing<'a> {
    /// These, where they are on a shelf (the card's store's, when it has one).
    Chosen(&'a [String]),
    /// The first products listed on the store's shelf.
    FirstListed,
}

/// What a card shows of its store and products: the store, and at most six products (in the
/// shelf's order; the owner's order is the caller's to restore).
pub async fn shown<D: Database>(
    db: &D,
    store: Option<&str>,
    showing: Showing<'_>,
) -> Result<(Option<StoreRow>, Vec<FeaturedRow>), StoreError> {
    let (ids, first_listed) = match showing {
        Showing::Chosen(ids) => (serde_json::to_string(ids).map_err(StoreError::failed)?, 0),
        Showing::FirstListed => ("[]".to_owned(), 1),
    };
    let mut results = sql::run(
        db,
        vec![
            statement!("SELECT id, name_zh, name_en, address_zh, address_en FROM stores WHERE id = ?1", store),
            statement!(
                "SELECT p.id, p.name_zh, p.name_en, MIN(si.price_fen) AS price_from_fen,
                        (SELECT m.url FROM media m WHERE m.product_id = p.id AND m.kind = 'image' ORDER BY m.position LIMIT 1)
                            AS image
                 FROM shelf_items si JOIN products p ON p.id = si.product_id
                 WHERE (?1 IS NULL OR si.store_id = ?1)
                   AND (p.id IN (SELECT value FROM json_each(?2)) OR ?3 = 1)
                 GROUP BY p.id ORDER BY MIN(si.listed_at), p.id LIMIT 6",
                store,
                ids,
                first_listed
            ),
        ],
    )
    .await?;
    Ok((results.first()?, results.all()?))
}

/// A visit to record: on `code`'s radar, and the visitor attributed to a clerk at a store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VisitWrite<'a> {
    pub code: &'a str,
    pub visitor: &'a str,
    pub kind: &'a str,
    pub product: Option<&'a ProductId>,
    /// The store and the clerk the visitor is attributed to (the first clerk per store keeps them).
    pub attribute: Option<(&'a str, &'a str)>,
}

/// Records a visit (once per visitor, kind, product and instant) and its attribution.
pub async fn record_visit<D: Database>(db: &D, visit: VisitWrite<'_>, now: Timestamp) -> Result<(), StoreError> {
    let mut writes = vec![statement!(
        "INSERT INTO card_visits (code, visitor, kind, product_id, at) VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT DO NOTHING",
        visit.code,
        visit.visitor,
        visit.kind,
        visit.product.map(ProductId::as_str),
        now.millis()
    )];
    if let Some((store, clerk)) = visit.attribute {
        writes.push(statement!(
            "INSERT INTO clerk_customers (store_id, subject, clerk, via_code, at) VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT (store_id, subject) DO NOTHING",
            store,
            visit.visitor,
            clerk,
            visit.code,
            now.millis()
        ));
    }
    sql::run(db, writes).await?;
    Ok(())
}

#[derive(Deserialize)]
struct ProductIdRow {
    product_id: String,
}

/// Of `ids`, the first that is on no store's shelf.
pub async fn first_unshelved<D: Database>(db: &D, ids: &[&str]) -> Result<Option<String>, StoreError> {
    let read = statement!(
        "SELECT DISTINCT product_id FROM shelf_items WHERE product_id IN (SELECT value FROM json_each(?1))",
        serde_json::to_string(ids).map_err(StoreError::failed)?
    );
    let known: Vec<ProductIdRow> = sql::run(db, vec![read]).await?.all()?;
    Ok(ids.iter().find(|id| !known.iter().any(|k| k.product_id == **id)).map(|id| (*id).to_owned()))
}

/// A person's card as they edited it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CardEdit<'a> {
    pub title: Option<&'a str>,
    pub bio: Option<&'a str>,
    pub wechat: Option<&'a str>,
    pub email: Option<&'a str>,
    pub show_phone: bool,
    pub featured: &'a [&'a str],
}

/// Saves `member`'s card under their code.
pub async fn save<D: Database>(
    db: &D,
    (code, member): (&str, &str),
    edit: CardEdit<'_>,
    now: Timestamp,
) -> Result<(), StoreError> {
    let upsert = statement!(
        "INSERT INTO cards (code, member_id, title, bio, wechat, email, show_phone, featured, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)
         ON CONFLICT (member_id) DO UPDATE SET title = excluded.title, bio = excluded.bio, wechat = excluded.wechat,
             email = excluded.email, show_phone = excluded.show_phone, featured = excluded.featured,
             updated_at = excluded.updated_at",
        code,
        member,
        edit.title,
        edit.bio,
        edit.wechat,
        edit.email,
        i64::from(edit.show_phone),
        serde_json::to_string(edit.featured).map_err(StoreError::failed)?,
        now.millis()
    );
    sql::run(db, vec![upsert]).await?;
    Ok(())
}

#[derive(Deserialize)]
struct PhotoRow {
    photo: Option<String>,
}

/// Sets `member`'s card photo; the photo it replaces, if any.
pub async fn set_photo<D: Database>(
    db: &D,
    (code, member): (&str, &str),
    url: &str,
    now: Timestamp,
) -> Result<Option<String>, StoreError> {
    let mut results = sql::run(
        db,
        vec![
            statement!("SELECT photo FROM cards WHERE member_id = ?1", member),
            statement!(
                "INSERT INTO cards (code, member_id, photo, updated_at) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (member_id) DO UPDATE SET photo = excluded.photo, updated_at = excluded.updated_at",
                code,
                member,
                url,
                now.millis()
            ),
        ],
    )
    .await?;
    Ok(results.first::<PhotoRow>()?.and_then(|row| row.photo))
}

/// A visit on the radar, with what names the visitor.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct VisitRow {
    pub visitor: String,
    pub kind: String,
    pub product_id: Option<String>,
    pub at: i64,
    pub display_name: Option<String>,
    pub phone_enc: Option<String>,
}

const VISIT_NAMES: &str =
    "LEFT JOIN members m ON v.visitor = 'm:' || m.id LEFT JOIN chain_members cm ON cm.member_id = m.id";

/// The visits to `code` since `since`, and, for the clerk `member`, the visits of the
/// customers attributed to them (to their code or their store's card), newest first.
pub async fn radar<D: Database>(
    db: &D,
    code: &str,
    member: &str,
    since: Timestamp,
) -> Result<(Vec<VisitRow>, Vec<VisitRow>), StoreError> {
    let mut results = sql::run(
        db,
        vec![
            statement!(
                format!(
                    "SELECT v.visitor, v.kind, v.product_id, v.at, cm.display_name, m.phone_enc
                     FROM card_visits v {VISIT_NAMES} WHERE v.code = ?1 AND v.at >= ?2 ORDER BY v.at DESC LIMIT 2000"
                ),
                code,
                since.millis()
            ),
            statement!(
                format!(
                    "SELECT v.visitor, v.kind, v.product_id, v.at, cm.display_name, m.phone_enc
                     FROM clerk_customers a JOIN card_visits v ON v.visitor = a.subject
                          AND (v.code = a.via_code OR v.code IN (SELECT code FROM cards WHERE store_id = a.store_id))
                     {VISIT_NAMES}
                     WHERE a.clerk = ?1 AND v.at >= ?2 ORDER BY v.at DESC LIMIT 2000"
                ),
                member,
                since.millis()
            ),
        ],
    )
    .await?;
    Ok((results.all()?, results.all()?))
}

/// The statement that gives `store` its card, with `fresh_code`, if it has none.
pub fn ensure_store_card(store: &str, fresh_code: &str, now: Timestamp) -> Statement {
    statement!(
        "INSERT INTO cards (code, store_id, updated_at) VALUES (?1, ?2, ?3) ON CONFLICT (store_id) DO NOTHING",
        fresh_code,
        store,
        now.millis()
    )
}

#[derive(Deserialize)]
struct CodeRow {
    code: String,
}

/// `store`'s card code, giving it a card (with `fresh_code`) if it has none.
pub async fn store_code<D: Database>(
    db: &D,
    store: &StoreId,
    fresh_code: &str,
    now: Timestamp,
) -> Result<String, StoreError> {
    let mut results = sql::run(
        db,
        vec![
            ensure_store_card(store.as_str(), fresh_code, now),
            statement!("SELECT code FROM cards WHERE store_id = ?1", store.as_str()),
        ],
    )
    .await?;
    results.changes()?;
    Ok(results.first::<CodeRow>()?.ok_or_else(|| StoreError::failed("a store's card went missing"))?.code)
}

/// What a product page's preview names, for a store when given.
pub async fn product_meta<D: Database>(
    db: &D,
    product: &ProductId,
    store: Option<&str>,
) -> Result<Option<ProductPreview>, StoreError> {
    let read = statement!(
        "SELECT p.name_zh, p.description_zh,
                (SELECT m.url FROM media m WHERE m.product_id = p.id AND m.kind = 'image' ORDER BY m.position LIMIT 1) AS image,
                (SELECT MIN(si.price_fen) FROM shelf_items si WHERE si.product_id = p.id AND (?2 IS NULL OR si.store_id = ?2))
                    AS price_from_fen
         FROM products p WHERE p.id = ?1",
        product.as_str(),
        store
    );
    sql::run(db, vec![read]).await?.first()
}

/// A store's name and address, as a card's text.
pub fn store_text(row: &StoreRow) -> (Text, Text) {
    (Text::new(row.name_zh.clone(), row.name_en.clone()), Text::new(row.address_zh.clone(), row.address_en.clone()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::fixtures;
    use crate::store::sqlite::block_on;

    const NOW: Timestamp = Timestamp(1_790_000_000_000);

    fn shelved() -> crate::store::sqlite::Sqlite {
        let db = fixtures::catalogue();
        db.execute(
            "INSERT INTO shelf_items (store_id, sku_id, product_id, price_fen, listed_at) VALUES ('s-1', 'p-1-01', 'p-1', 250, '0')",
        )
        .unwrap();
        db
    }

    #[test]
    fn a_code_is_a_store_s_card_or_a_person_s_invite_code() {
        let db = shelved();
        let store = StoreId::parse("s-1").unwrap();
        let code = block_on(store_code(&db, &store, "STORE00001", NOW)).unwrap();
        assert_eq!(block_on(store_code(&db, &store, "STORE00002", NOW)).unwrap(), code, "one card per store");
        assert!(matches!(block_on(holder(&db, &code)).unwrap(), Some(Holder::Store(_))));
        fixtures::member(&db, "m-1", "CODE01", None);
        assert!(matches!(block_on(holder(&db, "CODE01")).unwrap(), Some(Holder::Person(_, None))));
        assert_eq!(block_on(holder(&db, "NOBODY")).unwrap(), None);
        let (person, card) = block_on(own(&db, "m-1", "UNUSED", NOW)).unwrap();
        assert_eq!((person.invite_code.as_str(), card), ("CODE01", None));

        assert_eq!(block_on(first_unshelved(&db, &["p-1", "p-9"])).unwrap().as_deref(), Some("p-9"));
        let edit = CardEdit {
            title: Some("店员"),
            bio: None,
            wechat: None,
            email: None,
            show_phone: true,
            featured: &["p-1"],
        };
        block_on(save(&db, ("CODE01", "m-1"), edit, NOW)).unwrap();
        let Some(Holder::Person(_, Some(card))) = block_on(holder(&db, "CODE01")).unwrap() else { panic!("no card") };
        assert_eq!((card.title.as_deref(), card.show_phone, card.featured.as_str()), (Some("店员"), 1, "[\"p-1\"]"));
        assert_eq!(block_on(set_photo(&db, ("CODE01", "m-1"), "/api/media/a", NOW)).unwrap(), None);
        assert_eq!(
            block_on(set_photo(&db, ("CODE01", "m-1"), "/api/media/b", NOW)).unwrap().as_deref(),
            Some("/api/media/a")
        );

        let chosen = ["p-1".to_owned()];
        let (shop, featured) = block_on(shown(&db, Some("s-1"), Showing::Chosen(&chosen))).unwrap();
        assert_eq!((shop.map(|s| s.id), featured.len()), (Some("s-1".to_owned()), 1));
        let (_, none) = block_on(shown(&db, Some("s-1"), Showing::Chosen(&[]))).unwrap();
        assert!(none.is_empty());
        let (_, listed) = block_on(shown(&db, Some("s-1"), Showing::FirstListed)).unwrap();
        assert_eq!(listed[0].price_from_fen, 250);
        let meta = block_on(product_meta(&db, &ProductId::parse("p-1").unwrap(), Some("s-1"))).unwrap().unwrap();
        assert_eq!(meta.price_from_fen, Some(250));
    }

    #[test]
    fn a_visit_is_on_the_radar_and_the_first_clerk_keeps_the_customer() {
        let db = shelved();
        fixtures::member(&db, "m-c", "CLERK1", None);
        fixtures::member(&db, "m-d", "CLERK2", None);
        let product = ProductId::parse("p-1").unwrap();
        let visit = VisitWrite {
            code: "CLERK1",
            visitor: "anon:0123456789abcdef",
            kind: "product",
            product: Some(&product),
            attribute: Some(("s-1", "m-c")),
        };
        block_on(record_visit(&db, visit, NOW)).unwrap();
        block_on(record_visit(&db, VisitWrite { code: "CLERK2", attribute: Some(("s-1", "m-d")), ..visit }, NOW))
            .unwrap();
        let (visits, customers) = block_on(radar(&db, "CLERK1", "m-c", NOW.plus_days(-90))).unwrap();
        assert_eq!((visits.len(), customers.len()), (1, 1));
        let (_, theirs) = block_on(radar(&db, "CLERK2", "m-d", NOW.plus_days(-90))).unwrap();
        assert!(theirs.is_empty(), "the first clerk keeps the customer");
    }
}
