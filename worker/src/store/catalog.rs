//! The catalogue's rows: the active stores, a store's shelf a page at a time, a product as a
//! store offers it (with the stock each fulfilment draws on), what the distribution network
//! counts of a product, and a supplier's warehouse stock.

use serde::Deserialize;
use tandem_domain::api::manage::ConsoleSku;
use tandem_domain::api::sharers::ProductFlags;
use tandem_domain::catalog::{
    Category, Media, MediaKind, ProductDetail, ProductId, ShelfItem, SkuId, SkuOffer, StoreId, StoreSummary,
    SupplierId, Text, Variant,
};
use tandem_domain::import::ImportRow;
use tandem_domain::money::Fen;
use tandem_domain::pricing::PriceBand;
use tandem_domain::shelf::ShelfQuery;
use tandem_domain::stock::Availability;
use tandem_domain::time::Timestamp;

use super::sql::{self, Database, Guarded, RACE_GUARDS, Statement, StoreError, statement, stored};

/// Sets whether a product is a designated (entry) product and whether its sales pay rewards;
/// `false` when there is no such product.
pub async fn set_chain_flags<D: Database>(db: &D, product: &str, flags: ProductFlags) -> Result<bool, StoreError> {
    let update = statement!(
        "UPDATE products SET designated = ?2, commissionable = ?3 WHERE id = ?1",
        product,
        i64::from(flags.designated),
        i64::from(flags.commissionable)
    );
    Ok(sql::run(db, vec![update]).await?.changes()? == 1)
}

/// Sets the units on hand of `supplier`'s SKU `sku` in its warehouse, and whether the row is on
/// flash sale (`None`: as it was; a new row starts off sale): the row's flash-sale mark after
/// the write, `Written(None)` when the supplier has no such SKU or no warehouse; `Lost` when more
/// units than that are held by unpaid checkouts (`stock`'s CHECK).
pub async fn set_warehouse_stock<D: Database>(
    db: &D,
    supplier: &str,
    sku: &str,
    on_hand: i64,
    flash_sale: Option<bool>,
) -> Result<Guarded<Option<bool>>, StoreError> {
    let location = "SELECT l.id FROM locations l JOIN skus k ON k.id = ?2 JOIN products p ON p.id = k.product_id
                    WHERE l.supplier_id = ?1 AND p.supplier_id = ?1";
    stock_set(db, location, (supplier, sku), on_hand, flash_sale).await
}

#[derive(Deserialize)]
struct FlashSaleRow {
    flash_sale: i64,
}

/// Upserts the stock row of `sku` at the location `location` selects (from `?1`, the owner,
/// and `?2`, the SKU), answering its flash-sale mark after the write.
async fn stock_set<D: Database>(
    db: &D,
    location: &str,
    (owner, sku): (&str, &str),
    on_hand: i64,
    flash_sale: Option<bool>,
) -> Result<Guarded<Option<bool>>, StoreError> {
    let flash_sale = flash_sale.map(i64::from);
    let writes = vec![
        statement!(
            format!(
                "INSERT INTO stock (location_id, sku_id, on_hand, flash_sale)
                 SELECT id, ?2, ?3, COALESCE(?4, 0) FROM ({location}) WHERE true
                 ON CONFLICT (location_id, sku_id)
                 DO UPDATE SET on_hand = excluded.on_hand, flash_sale = COALESCE(?4, stock.flash_sale)"
            ),
            owner,
            sku,
            on_hand,
            flash_sale
        ),
        statement!(
            format!("SELECT flash_sale FROM stock WHERE sku_id = ?2 AND location_id IN ({location})"),
            owner,
            sku
        ),
    ];
    match sql::guarded(db, writes, RACE_GUARDS).await? {
        Guarded::Written(mut results) => {
            let changed = results.changes()? == 1;
            let row = results.first::<FlashSaleRow>()?;
            Ok(Guarded::Written(row.filter(|_| changed).map(|row| row.flash_sale == 1)))
        }
        Guarded::Lost(constraint) => Ok(Guarded::Lost(constraint)),
    }
}

/// Every active store, with how many products its shelf has.
pub async fn stores<D: Database>(db: &D) -> Result<Vec<StoreSummary>, StoreError> {
    let read = statement!(
        "SELECT s.id, s.name_zh, s.name_en, s.city_zh, s.city_en, s.address_zh, s.address_en,
                (SELECT COUNT(DISTINCT si.product_id) FROM shelf_items si WHERE si.store_id = s.id) AS shelf_size
         FROM stores s WHERE s.status = 'active' ORDER BY s.id"
    );
    sql::run(db, vec![read]).await?.all::<StoreRow>()?.into_iter().map(StoreRow::summary).collect()
}

fn active_store(store: &StoreId) -> Statement {
    statement!("SELECT id FROM stores WHERE id = ?1 AND status = 'active'", store.as_str())
}

/// A page of an active store's shelf, one item per product in id order, one more than
/// `query.limit` when there are more; `None` for no such store.
pub async fn shelf<D: Database>(
    db: &D,
    store: &StoreId,
    query: &ShelfQuery,
) -> Result<Option<Vec<ShelfItem>>, StoreError> {
    let search = query.search.as_ref().map(tandem_domain::shelf::SearchText::like_pattern);
    let page = statement!(
        r"SELECT p.id, p.category, p.name_zh, p.name_en,
                 MIN(si.price_fen) AS price_from_fen, MAX(si.price_fen) AS price_to_fen,
                 (SELECT m.url FROM media m WHERE m.product_id = p.id AND m.kind = 'image'
                  ORDER BY m.position LIMIT 1) AS image,
                 EXISTS (SELECT 1 FROM media m WHERE m.product_id = p.id AND m.kind = 'model') AS has_model
          FROM shelf_items si JOIN products p ON p.id = si.product_id
          WHERE si.store_id = ?1
            AND (?2 IS NULL OR p.category = ?2)
            AND (?3 IS NULL OR p.name_zh LIKE ?3 ESCAPE '\' OR p.name_en LIKE ?3 ESCAPE '\')
            AND (?4 IS NULL OR si.product_id > ?4)
          GROUP BY si.product_id
          ORDER BY si.product_id
          LIMIT ?5",
        store.as_str(),
        query.category.map(Category::code),
        search,
        query.cursor.as_ref().map(|c| c.after.as_str()),
        i64::try_from(query.limit + 1).map_err(StoreError::failed)?
    );
    let mut results = sql::run(db, vec![active_store(store), page]).await?;
    if results.first::<IdRow>()?.is_none() {
        return Ok(None);
    }
    Ok(Some(results.all::<ShelfRow>()?.into_iter().map(ShelfRow::item).collect::<Result<_, _>>()?))
}

/// What a product page finds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Found<T> {
    Found(T),
    NoStore,
    /// Not on this store's shelf: a product exists for a shopper only on the shelf they look at.
    NoProduct,
}

/// A product as an active store offers it: its media and each SKU with today's price and the
/// stock each fulfilment draws on (the store's for pickup, the supplier's warehouse for delivery).
pub async fn product<D: Database>(
    db: &D,
    product: &ProductId,
    store: &StoreId,
) -> Result<Found<ProductDetail>, StoreError> {
    let (id, shelf) = (product.as_str(), store.as_str());
    let mut results = sql::run(
        db,
        vec![
            active_store(store),
            statement!(
                "SELECT p.id, p.category, p.name_zh, p.name_en, p.description_zh, p.description_en,
                        sup.name_zh AS supplier_zh, sup.name_en AS supplier_en
                 FROM products p JOIN suppliers sup ON sup.id = p.supplier_id
                 WHERE p.id = ?1 AND EXISTS (SELECT 1 FROM shelf_items si WHERE si.store_id = ?2 AND si.product_id = ?1)",
                id,
                shelf
            ),
            statement!("SELECT kind, url, alt_zh, alt_en FROM media WHERE product_id = ?1 ORDER BY position", id),
            statement!(
                "SELECT k.id, k.size, k.colour_zh, k.colour_en, si.price_fen,
                        store_stock.on_hand AS store_on_hand, store_stock.reserved AS store_reserved,
                        warehouse_stock.on_hand AS warehouse_on_hand, warehouse_stock.reserved AS warehouse_reserved
                 FROM shelf_items si
                 JOIN skus k ON k.id = si.sku_id
                 JOIN products p ON p.id = k.product_id
                 LEFT JOIN locations store_location ON store_location.store_id = si.store_id
                 LEFT JOIN stock store_stock ON store_stock.location_id = store_location.id AND store_stock.sku_id = k.id
                 LEFT JOIN locations warehouse ON warehouse.supplier_id = p.supplier_id
                 LEFT JOIN stock warehouse_stock
                      ON warehouse_stock.location_id = warehouse.id AND warehouse_stock.sku_id = k.id
                 WHERE si.store_id = ?2 AND si.product_id = ?1
                 ORDER BY k.position",
                id,
                shelf
            ),
        ],
    )
    .await?;
    if results.first::<IdRow>()?.is_none() {
        return Ok(Found::NoStore);
    }
    let Some(row) = results.first::<ProductRow>()? else { return Ok(Found::NoProduct) };
    Ok(Found::Found(ProductDetail {
        product_id: stored(ProductId::parse(&row.id))?,
        store_id: store.clone(),
        supplier: Text::new(row.supplier_zh, row.supplier_en),
        category: stored(Category::parse(&row.category))?,
        name: Text::new(row.name_zh, row.name_en),
        description: Text::new(row.description_zh, row.description_en),
        media: results.all::<MediaRow>()?.into_iter().map(MediaRow::media).collect::<Result<_, _>>()?,
        skus: results.all::<SkuRow>()?.into_iter().map(SkuRow::offer).collect::<Result<_, _>>()?,
    }))
}

#[derive(Deserialize)]
struct IdRow {
    #[allow(dead_code)]
    id: String,
}

#[derive(Deserialize)]
struct StoreRow {
    id: String,
    name_zh: String,
    name_en: String,
    city_zh: String,
    city_en: String,
    address_zh: String,
    address_en: String,
    shelf_size: u32,
}

impl StoreRow {
    fn summary(self) -> Result<StoreSummary, StoreError> {
        Ok(StoreSummary {
            id: stored(StoreId::parse(&self.id))?,
            name: Text::new(self.name_zh, self.name_en),
            city: Text::new(self.city_zh, self.city_en),
            address: Text::new(self.address_zh, self.address_en),
            shelf_size: self.shelf_size,
        })
    }
}

#[derive(Deserialize)]
struct ShelfRow {
    id: String,
    category: String,
    name_zh: String,
    name_en: String,
    price_from_fen: i64,
    price_to_fen: i64,
    image: Option<String>,
    has_model: i64,
}

impl ShelfRow {
    fn item(self) -> Result<ShelfItem, StoreError> {
        Ok(ShelfItem {
            product_id: stored(ProductId::parse(&self.id))?,
            category: stored(Category::parse(&self.category))?,
            name: Text::new(self.name_zh, self.name_en),
            image: self.image.unwrap_or_default(),
            price_from_fen: Fen(self.price_from_fen),
            price_to_fen: Fen(self.price_to_fen),
            has_model: self.has_model != 0,
        })
    }
}

#[derive(Deserialize)]
struct ProductRow {
    id: String,
    category: String,
    name_zh: String,
    name_en: String,
    description_zh: String,
    description_en: String,
    supplier_zh: String,
    supplier_en: String,
}

#[derive(Deserialize)]
struct MediaRow {
    kind: String,
    url: String,
    alt_zh: String,
    alt_en: String,
}

impl MediaRow {
    fn media(self) -> Result<Media, StoreError> {
        let kind = match self.kind.as_str() {
            "image" => MediaKind::Image,
            "model" => MediaKind::Model,
            other => return Err(StoreError::failed(format!("unknown media kind {other}"))),
        };
        Ok(Media { kind, url: self.url, alt: Text::new(self.alt_zh, self.alt_en) })
    }
}

#[derive(Deserialize)]
struct SkuRow {
    id: String,
    size: Option<String>,
    colour_zh: Option<String>,
    colour_en: Option<String>,
    price_fen: i64,
    store_on_hand: Option<i64>,
    store_reserved: Option<i64>,
    warehouse_on_hand: Option<i64>,
    warehouse_reserved: Option<i64>,
}

impl SkuRow {
    fn offer(self) -> Result<SkuOffer, StoreError> {
        let colour = match (self.colour_zh, self.colour_en) {
            (Some(zh), Some(en)) => Some(Text::new(zh, en)),
            _ => None,
        };
        Ok(SkuOffer {
            sku_id: stored(SkuId::parse(&self.id))?,
            variant: Variant { size: self.size, colour },
            price_fen: Fen(self.price_fen),
            pickup: Availability::from_counts(self.store_on_hand.zip(self.store_reserved)),
            delivery: Availability::from_counts(self.warehouse_on_hand.zip(self.warehouse_reserved)),
        })
    }
}

/// Every SKU of the active suppliers with `store`'s price and the store's stock (at most 1000).
pub async fn store_skus<D: Database>(db: &D, store: &str) -> Result<Vec<ConsoleSku>, StoreError> {
    let read = statement!(
        "SELECT k.id AS sku_id, p.id AS product_id, p.supplier_id, p.name_zh, p.name_en, k.size, k.colour_zh,
                k.supply_price_fen, k.min_price_fen, k.max_price_fen, si.price_fen, st.on_hand, st.reserved,
                st.flash_sale
         FROM skus k JOIN products p ON p.id = k.product_id JOIN suppliers sup ON sup.id = p.supplier_id
         LEFT JOIN shelf_items si ON si.store_id = ?1 AND si.sku_id = k.id
         LEFT JOIN locations l ON l.store_id = ?1
         LEFT JOIN stock st ON st.location_id = l.id AND st.sku_id = k.id
         WHERE sup.status = 'active' ORDER BY p.id, k.position LIMIT 1000",
        store
    );
    sql::run(db, vec![read]).await?.all()
}

/// A supplier's SKUs with their warehouse stock (at most 1000).
pub async fn supplier_skus<D: Database>(db: &D, supplier: &str) -> Result<Vec<ConsoleSku>, StoreError> {
    let read = statement!(
        "SELECT k.id AS sku_id, p.id AS product_id, p.supplier_id, p.name_zh, p.name_en, k.size, k.colour_zh,
                k.supply_price_fen, k.min_price_fen, k.max_price_fen, NULL AS price_fen, st.on_hand, st.reserved,
                st.flash_sale
         FROM skus k JOIN products p ON p.id = k.product_id
         LEFT JOIN locations l ON l.supplier_id = p.supplier_id
         LEFT JOIN stock st ON st.location_id = l.id AND st.sku_id = k.id
         WHERE p.supplier_id = ?1 ORDER BY p.id, k.position LIMIT 1000",
        supplier
    );
    sql::run(db, vec![read]).await?.all()
}

#[derive(Deserialize)]
struct BandRow {
    product_id: String,
    supply_price_fen: i64,
    min_price_fen: i64,
    max_price_fen: i64,
}

/// The product and price band of a SKU an active supplier sells.
pub async fn band<D: Database>(db: &D, sku: &SkuId) -> Result<Option<(ProductId, PriceBand)>, StoreError> {
    let read = statement!(
        "SELECT k.product_id, k.supply_price_fen, k.min_price_fen, k.max_price_fen FROM skus k
         JOIN products p ON p.id = k.product_id JOIN suppliers s ON s.id = p.supplier_id
         WHERE k.id = ?1 AND s.status = 'active'",
        sku.as_str()
    );
    let Some(row) = sql::run(db, vec![read]).await?.first::<BandRow>()? else { return Ok(None) };
    let band = stored(PriceBand::new(Fen(row.supply_price_fen), Fen(row.min_price_fen), Fen(row.max_price_fen)))?;
    Ok(Some((stored(ProductId::parse(&row.product_id))?, band)))
}

/// Puts a SKU on `store`'s shelf at `price`, or changes its price there.
pub async fn shelve<D: Database>(
    db: &D,
    store: &StoreId,
    (sku, product): (&SkuId, &ProductId),
    price: Fen,
    now: Timestamp,
) -> Result<(), StoreError> {
    let upsert = statement!(
        "INSERT INTO shelf_items (store_id, sku_id, product_id, price_fen, listed_at) VALUES (?1, ?2, ?3, ?4, ?5)
         ON CONFLICT (store_id, sku_id) DO UPDATE SET price_fen = excluded.price_fen",
        store.as_str(),
        sku.as_str(),
        product.as_str(),
        price.get(),
        now.to_rfc3339()
    );
    sql::run(db, vec![upsert]).await?;
    Ok(())
}

/// Takes a SKU off `store`'s shelf; `false` when it was not on it.
pub async fn unshelve<D: Database>(db: &D, store: &StoreId, sku: &SkuId) -> Result<bool, StoreError> {
    let delete =
        statement!("DELETE FROM shelf_items WHERE store_id = ?1 AND sku_id = ?2", store.as_str(), sku.as_str());
    Ok(sql::run(db, vec![delete]).await?.changes()? == 1)
}

/// Sets the units on hand of a SKU in `store`, for pickup, and whether the row is on flash sale
/// (`None`: as it was): the row's mark after the write, `Written(None)` for no such SKU or a
/// store without a location; `Lost` when more units than that are held by unpaid checkouts.
pub async fn set_store_stock<D: Database>(
    db: &D,
    store: &StoreId,
    sku: &SkuId,
    on_hand: i64,
    flash_sale: Option<bool>,
) -> Result<Guarded<Option<bool>>, StoreError> {
    let location = "SELECT l.id FROM locations l JOIN skus k ON k.id = ?2 WHERE l.store_id = ?1";
    stock_set(db, location, (store.as_str(), sku.as_str()), on_hand, flash_sale).await
}

/// Writes one imported row of `supplier`'s file in one batch: the product, the SKU, a picture
/// for a new product, the warehouse stock. `Lost` when the product belongs to another supplier
/// (the SKU's product guard), a store's shelf price lies outside the new band (the band guard:
/// the shelf's trigger checks prices at shelving, this at a band's change) or more units than
/// the new stock are held.
pub async fn import_row<D: Database>(
    db: &D,
    supplier: &SupplierId,
    row: &ImportRow,
    now: Timestamp,
) -> Result<Guarded<()>, StoreError> {
    let (colour_zh, colour_en) = row.colour.clone().unzip();
    let writes = vec![
        statement!(
            "INSERT INTO products (id, supplier_id, category, name_zh, name_en, description_zh, description_en, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5, '', '', ?6)
             ON CONFLICT (id) DO UPDATE SET category = excluded.category, name_zh = excluded.name_zh, name_en = excluded.name_en
             WHERE products.supplier_id = excluded.supplier_id",
            row.product_id.as_str(),
            supplier.as_str(),
            row.category.code(),
            row.name_zh.as_str(),
            row.name_en.as_str(),
            now.to_rfc3339()
        ),
        // A product of another supplier keeps its owner: the guard's NULL refuses the row.
        statement!(
            "INSERT INTO skus (id, product_id, position, size, colour_zh, colour_en, supply_price_fen, min_price_fen, max_price_fen)
             SELECT ?1, CASE WHEN p.supplier_id = ?2 THEN p.id END,
                    (SELECT COALESCE(MAX(position) + 1, 0) FROM skus WHERE product_id = ?3), ?4, ?5, ?6, ?7, ?8, ?9
             FROM products p WHERE p.id = ?3
             ON CONFLICT (id) DO UPDATE SET supply_price_fen = excluded.supply_price_fen,
                 min_price_fen = CASE WHEN NOT EXISTS (SELECT 1 FROM shelf_items si WHERE si.sku_id = excluded.id
                                   AND si.price_fen NOT BETWEEN excluded.min_price_fen AND excluded.max_price_fen)
                                 AND skus.product_id = excluded.product_id THEN excluded.min_price_fen END,
                 max_price_fen = excluded.max_price_fen, size = excluded.size,
                 colour_zh = excluded.colour_zh, colour_en = excluded.colour_en",
            row.sku_id.as_str(),
            supplier.as_str(),
            row.product_id.as_str(),
            row.size.as_deref(),
            colour_zh,
            colour_en,
            row.band.supply_fen().get(),
            row.band.min_fen().get(),
            row.band.max_fen().get()
        ),
        statement!(
            "INSERT INTO media (product_id, position, kind, url, alt_zh, alt_en)
             SELECT ?1, 0, 'image', '/favicon.svg', ?2, ?3 WHERE NOT EXISTS (SELECT 1 FROM media WHERE product_id = ?1)",
            row.product_id.as_str(),
            row.name_zh.as_str(),
            row.name_en.as_str()
        ),
        statement!(
            "INSERT INTO stock (location_id, sku_id, on_hand) SELECT l.id, ?2, ?3 FROM locations l WHERE l.supplier_id = ?1
             ON CONFLICT (location_id, sku_id) DO UPDATE SET on_hand = excluded.on_hand",
            supplier.as_str(),
            row.sku_id.as_str(),
            row.stock
        ),
    ];
    Ok(sql::guarded(db, writes, RACE_GUARDS).await?.map(|_| ()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::fixtures;
    use crate::store::sqlite::block_on;

    const NOW: Timestamp = Timestamp(1_790_000_000_000);

    #[derive(serde::Deserialize)]
    struct Flags {
        designated: i64,
        commissionable: i64,
    }

    #[test]
    fn a_store_prices_shelves_and_counts_its_stock_and_a_supplier_imports_rows() {
        let db = fixtures::catalogue();
        db.execute("INSERT INTO locations (id, kind, store_id, name_zh, name_en) VALUES ('loc-s-1', 'store', 's-1', '店', 'Store')")
            .unwrap();
        let (store, sku) = (StoreId::parse("s-1").unwrap(), SkuId::parse("p-1-01").unwrap());
        let (product, band) = block_on(super::band(&db, &sku)).unwrap().unwrap();
        assert_eq!((product.as_str(), band.min_fen()), ("p-1", Fen(200)));
        block_on(shelve(&db, &store, (&sku, &product), Fen(250), NOW)).unwrap();
        assert_eq!(block_on(store_skus(&db, "s-1")).unwrap()[0].price_fen, Some(250));
        assert_eq!(block_on(set_store_stock(&db, &store, &sku, 4, None)).unwrap(), Guarded::Written(Some(false)));
        assert_eq!(block_on(set_store_stock(&db, &store, &sku, 4, Some(true))).unwrap(), Guarded::Written(Some(true)));
        // A count set without the mark keeps it.
        assert_eq!(block_on(set_store_stock(&db, &store, &sku, 4, None)).unwrap(), Guarded::Written(Some(true)));
        assert!(block_on(store_skus(&db, "s-1")).unwrap()[0].flash_sale);
        assert!(!block_on(supplier_skus(&db, "sup-a")).unwrap()[0].flash_sale);
        let other = SkuId::parse("p-9-99").unwrap();
        assert_eq!(block_on(set_store_stock(&db, &store, &other, 4, None)).unwrap(), Guarded::Written(None));
        assert_eq!(block_on(store_skus(&db, "s-1")).unwrap()[0].on_hand, Some(4));
        assert_eq!(block_on(supplier_skus(&db, "sup-a")).unwrap()[0].on_hand, Some(5));

        let csv = "product_id,category,name_zh,name_en,sku_id,size,colour_zh,colour_en,supply_fen,min_fen,max_fen,stock\n\
                   p-1,home,杯,Cup,p-1-01,,,,100,260,300,7\n";
        let (rows, errors) = tandem_domain::import::parse(csv).unwrap();
        assert!(errors.is_empty(), "{errors:?}");
        let supplier = SupplierId::parse("sup-a").unwrap();
        // The store's 250 lies outside the new band 260–300: the row is refused whole.
        assert!(!block_on(import_row(&db, &supplier, &rows[0], NOW)).unwrap().written());
        assert!(block_on(unshelve(&db, &store, &sku)).unwrap());
        assert!(!block_on(unshelve(&db, &store, &sku)).unwrap());
        assert!(block_on(import_row(&db, &supplier, &rows[0], NOW)).unwrap().written());
        assert_eq!(block_on(supplier_skus(&db, "sup-a")).unwrap()[0].on_hand, Some(7));
        let other = SupplierId::parse("sup-b").unwrap();
        assert!(!block_on(import_row(&db, &other, &rows[0], NOW)).unwrap().written(), "another supplier's product");
    }

    #[test]
    fn a_product_exists_for_a_shopper_only_on_an_active_store_s_shelf() {
        let db = fixtures::catalogue();
        let (store, product) = (StoreId::parse("s-1").unwrap(), ProductId::parse("p-1").unwrap());
        assert_eq!(block_on(super::product(&db, &product, &store)).unwrap(), Found::NoProduct);
        db.execute(
            "INSERT INTO shelf_items (store_id, sku_id, product_id, price_fen, listed_at) VALUES ('s-1', 'p-1-01', 'p-1', 250, '0')",
        )
        .unwrap();
        let Found::Found(detail) = block_on(super::product(&db, &product, &store)).unwrap() else {
            panic!("not found")
        };
        assert_eq!((detail.skus.len(), detail.skus[0].price_fen), (1, Fen(250)));
        let summaries = block_on(stores(&db)).unwrap();
        assert_eq!((summaries.len(), summaries[0].shelf_size), (1, 1));
        let query = ShelfQuery::from_params(std::iter::empty()).unwrap();
        assert_eq!(block_on(shelf(&db, &store, &query)).unwrap().map(|items| items.len()), Some(1));
        db.execute("UPDATE stores SET status = 'suspended' WHERE id = 's-1'").unwrap();
        assert_eq!(block_on(super::product(&db, &product, &store)).unwrap(), Found::NoStore);
        assert_eq!(block_on(shelf(&db, &store, &query)).unwrap(), None);
        assert!(block_on(stores(&db)).unwrap().is_empty());
    }

    #[test]
    fn warehouse_stock_is_set_for_the_supplier_s_own_skus_and_never_below_what_is_held() {
        let db = fixtures::catalogue();
        let set = |supplier, on_hand, flash_sale| {
            block_on(set_warehouse_stock(&db, supplier, "p-1-01", on_hand, flash_sale)).unwrap()
        };
        assert_eq!(set("sup-a", 7, None), Guarded::Written(Some(false)));
        assert_eq!(set("sup-b", 7, Some(true)), Guarded::Written(None));
        db.execute("UPDATE stock SET reserved = 3 WHERE sku_id = 'p-1-01'").unwrap();
        assert!(matches!(set("sup-a", 2, Some(true)), Guarded::Lost(_)));
        assert_eq!(set("sup-a", 3, Some(true)), Guarded::Written(Some(true)));
        assert_eq!(set("sup-a", 3, Some(false)), Guarded::Written(Some(false)));
    }

    #[test]
    fn a_product_s_chain_flags_are_set_and_a_missing_product_is_told() {
        let db = fixtures::catalogue();
        let flags = ProductFlags { designated: true, commissionable: false };
        assert!(block_on(set_chain_flags(&db, "p-1", flags)).unwrap());
        assert!(!block_on(set_chain_flags(&db, "p-404", flags)).unwrap());
        let read: Flags = block_on(sql::run(
            &db,
            vec![statement!("SELECT designated, commissionable FROM products WHERE id = 'p-1'")],
        ))
        .unwrap()
        .first()
        .unwrap()
        .unwrap();
        assert_eq!((read.designated, read.commissionable), (1, 0));
    }
}
