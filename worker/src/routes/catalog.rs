//! The shopper's catalogue: stores, a store's shelf, a product as a store offers it.

use serde::Deserialize;
use tandem_domain::catalog::{
    Category, Media, MediaKind, ProductDetail, ProductId, ShelfItem, SkuId, SkuOffer, StoreId, StoreSummary, Text,
    Variant,
};
use tandem_domain::money::Fen;
use tandem_domain::shelf::{ProductQuery, ShelfPage, ShelfQuery, no_params};
use tandem_domain::stock::Availability;
use worker::{Env, Response};

use super::json_response;
use crate::db;
use crate::error::ApiError;

/// Catalogue reads may be a few seconds stale in a browser's cache; stock shown on a product
/// page is re-checked at checkout, which never trusts a cached answer.
const CATALOGUE_CACHE: &str = "public, max-age=5";

pub async fn list_stores(env: &Env, params: &[(&str, &str)]) -> Result<Response, ApiError> {
    no_params(params.iter().copied())?;
    let db = db::database(env)?;
    let statement = db::prepare(
        &db,
        "SELECT s.id, s.name_zh, s.name_en, s.city_zh, s.city_en, s.address_zh, s.address_en,
                (SELECT COUNT(DISTINCT si.product_id) FROM shelf_items si WHERE si.store_id = s.id) AS shelf_size
         FROM stores s WHERE s.status = 'active' ORDER BY s.id",
        &[],
    )?;
    let stores =
        db::all::<StoreRow>(statement).await?.into_iter().map(StoreRow::into_domain).collect::<Result<Vec<_>, _>>()?;
    json_response(200, &serde_json::json!({ "stores": stores }), CATALOGUE_CACHE)
}

pub async fn store_shelf(env: &Env, store_id: &str, params: &[(&str, &str)]) -> Result<Response, ApiError> {
    let store = StoreId::parse(store_id).map_err(|e| ApiError::bad_request("id", e.to_string()))?;
    let query = ShelfQuery::from_params(params.iter().copied())?;
    let db = db::database(env)?;
    let limit = i64::try_from(query.limit + 1).map_err(ApiError::internal)?;
    let search = query.search.as_ref().map(tandem_domain::shelf::SearchText::like_pattern);
    let store_exists =
        db::prepare(&db, "SELECT id FROM stores WHERE id = ?1 AND status = 'active'", &[db::text(store.as_str())])?;
    let shelf = db::prepare(
        &db,
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
        &[
            db::text(store.as_str()),
            db::optional_text(query.category.map(Category::code)),
            db::optional_text(search.as_deref()),
            db::optional_text(query.cursor.as_ref().map(|c| c.after.as_str())),
            db::integer(limit),
        ],
    )?;
    let results = db::batch(&db, vec![store_exists, shelf]).await?;
    let [store_rows, shelf_rows] = results.as_slice() else {
        return Err(ApiError::internal("a batch of two statements gave another number of results"));
    };
    if db::rows::<IdRow>(store_rows)?.is_empty() {
        return Err(ApiError::NotFound { resource: "store" });
    }
    let items =
        db::rows::<ShelfRow>(shelf_rows)?.into_iter().map(ShelfRow::into_domain).collect::<Result<Vec<_>, _>>()?;
    json_response(200, &ShelfPage::from_rows(items, query.limit), CATALOGUE_CACHE)
}

pub async fn product_detail(env: &Env, product_id: &str, params: &[(&str, &str)]) -> Result<Response, ApiError> {
    let product = ProductId::parse(product_id).map_err(|e| ApiError::bad_request("id", e.to_string()))?;
    let ProductQuery { store } = ProductQuery::from_params(params.iter().copied())?;
    let db = db::database(env)?;
    let keys = [db::text(product.as_str()), db::text(store.as_str())];
    let store_exists =
        db::prepare(&db, "SELECT id FROM stores WHERE id = ?1 AND status = 'active'", &[db::text(store.as_str())])?;
    // A product exists for a shopper only on the shelf they are looking at.
    let product_row = db::prepare(
        &db,
        "SELECT p.id, p.category, p.name_zh, p.name_en, p.description_zh, p.description_en,
                sup.name_zh AS supplier_zh, sup.name_en AS supplier_en
         FROM products p JOIN suppliers sup ON sup.id = p.supplier_id
         WHERE p.id = ?1 AND EXISTS (SELECT 1 FROM shelf_items si WHERE si.store_id = ?2 AND si.product_id = ?1)",
        &keys,
    )?;
    let media = db::prepare(
        &db,
        "SELECT kind, url, alt_zh, alt_en FROM media WHERE product_id = ?1 ORDER BY position",
        &[db::text(product.as_str())],
    )?;
    // Pickup draws on the store's own stock, delivery on the supplier's warehouse.
    let offers = db::prepare(
        &db,
        "SELECT k.id, k.size, k.colour_zh, k.colour_en, si.price_fen,
                store_stock.on_hand AS store_on_hand, store_stock.reserved AS store_reserved,
                warehouse_stock.on_hand AS warehouse_on_hand, warehouse_stock.reserved AS warehouse_reserved
         FROM shelf_items si
         JOIN skus k ON k.id = si.sku_id
         JOIN products p ON p.id = k.product_id
         LEFT JOIN locations store_location ON store_location.store_id = si.store_id
         LEFT JOIN stock store_stock ON store_stock.location_id = store_location.id AND store_stock.sku_id = k.id
         LEFT JOIN locations warehouse ON warehouse.supplier_id = p.supplier_id
         LEFT JOIN stock warehouse_stock ON warehouse_stock.location_id = warehouse.id AND warehouse_stock.sku_id = k.id
         WHERE si.store_id = ?2 AND si.product_id = ?1
         ORDER BY k.position",
        &keys,
    )?;
    let results = db::batch(&db, vec![store_exists, product_row, media, offers]).await?;
    let [store_rows, product_rows, media_rows, offer_rows] = results.as_slice() else {
        return Err(ApiError::internal("a batch of four statements gave another number of results"));
    };
    if db::rows::<IdRow>(store_rows)?.is_empty() {
        return Err(ApiError::NotFound { resource: "store" });
    }
    let Some(row) = db::rows::<ProductRow>(product_rows)?.into_iter().next() else {
        return Err(ApiError::NotFound { resource: "product" });
    };
    let detail = ProductDetail {
        product_id: db::stored(ProductId::parse(&row.id))?,
        store_id: store,
        supplier: Text::new(row.supplier_zh, row.supplier_en),
        category: db::stored(Category::parse(&row.category))?,
        name: Text::new(row.name_zh, row.name_en),
        description: Text::new(row.description_zh, row.description_en),
        media: db::rows::<MediaRow>(media_rows)?.into_iter().map(MediaRow::into_domain).collect::<Result<_, _>>()?,
        skus: db::rows::<OfferRow>(offer_rows)?.into_iter().map(OfferRow::into_domain).collect::<Result<_, _>>()?,
    };
    json_response(200, &detail, CATALOGUE_CACHE)
}

/// Data read back from D1 was written through the domain's types; if it no longer parses, the
/// database was changed behind the API's back, which is an internal error, not the client's.
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
    fn into_domain(self) -> Result<StoreSummary, ApiError> {
        Ok(StoreSummary {
            id: db::stored(StoreId::parse(&self.id))?,
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
    fn into_domain(self) -> Result<ShelfItem, ApiError> {
        Ok(ShelfItem {
            product_id: db::stored(ProductId::parse(&self.id))?,
            category: db::stored(Category::parse(&self.category))?,
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
    fn into_domain(self) -> Result<Media, ApiError> {
        let kind = match self.kind.as_str() {
            "image" => MediaKind::Image,
            "model" => MediaKind::Model,
            other => return Err(ApiError::internal(format!("unknown media kind {other}"))),
        };
        Ok(Media { kind, url: self.url, alt: Text::new(self.alt_zh, self.alt_en) })
    }
}

#[derive(Deserialize)]
struct OfferRow {
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

impl OfferRow {
    fn into_domain(self) -> Result<SkuOffer, ApiError> {
        let colour = match (self.colour_zh, self.colour_en) {
            (Some(zh), Some(en)) => Some(Text::new(zh, en)),
            _ => None,
        };
        Ok(SkuOffer {
            sku_id: db::stored(SkuId::parse(&self.id))?,
            variant: Variant { size: self.size, colour },
            price_fen: Fen(self.price_fen),
            pickup: Availability::from_counts(self.store_on_hand.zip(self.store_reserved)),
            delivery: Availability::from_counts(self.warehouse_on_hand.zip(self.warehouse_reserved)),
        })
    }
}
