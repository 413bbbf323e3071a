//! The shopper's catalogue: stores, a store's shelf, a product as a store offers it.

use tandem_domain::catalog::{ProductId, StoreId};
use tandem_domain::shelf::{ProductQuery, ShelfPage, ShelfQuery, no_params};
use worker::{Env, Response};

use super::json_response;
use crate::db;
use crate::error::ApiError;
use crate::store::catalog::{self, Found};
use crate::store::d1::D1;

/// Catalogue reads may be a few seconds stale in a browser's cache; stock shown on a product
/// page is re-checked at checkout, which never trusts a cached answer.
const CATALOGUE_CACHE: &str = "public, max-age=5";

pub async fn list_stores(env: &Env, params: &[(&str, &str)]) -> Result<Response, ApiError> {
    no_params(params.iter().copied())?;
    let db = db::database(env)?;
    let stores = catalog::stores(&D1(&db)).await?;
    json_response(200, &tandem_domain::api::commerce::StoreList { stores }, CATALOGUE_CACHE)
}

pub async fn store_shelf(env: &Env, store_id: &str, params: &[(&str, &str)]) -> Result<Response, ApiError> {
    let store = StoreId::parse(store_id).map_err(|e| ApiError::bad_request("id", e.to_string()))?;
    let query = ShelfQuery::from_params(params.iter().copied())?;
    let db = db::database(env)?;
    let items = catalog::shelf(&D1(&db), &store, &query).await?.ok_or(ApiError::NotFound { resource: "store" })?;
    json_response(200, &ShelfPage::from_rows(items, query.limit), CATALOGUE_CACHE)
}

pub async fn product_detail(env: &Env, product_id: &str, params: &[(&str, &str)]) -> Result<Response, ApiError> {
    let product = ProductId::parse(product_id).map_err(|e| ApiError::bad_request("id", e.to_string()))?;
    let ProductQuery { store } = ProductQuery::from_params(params.iter().copied())?;
    let db = db::database(env)?;
    match catalog::product(&D1(&db), &product, &store).await? {
        Found::Found(detail) => json_response(200, &detail, CATALOGUE_CACHE),
        Found::NoStore => Err(ApiError::NotFound { resource: "store" }),
        Found::NoProduct => Err(ApiError::NotFound { resource: "product" }),
    }
}
