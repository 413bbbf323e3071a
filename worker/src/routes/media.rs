//! A supplier's product pictures: uploaded as raw bytes, checked by `domain::media`, kept in KV
//! under a unique key and served from `/api/media/{key}` with a year's caching (a key's bytes
//! never change); the `media` table keeps their order and alt texts.

use tandem_domain::api::Problem;
use tandem_domain::api::manage::{MediaAdded, Removed};
use tandem_domain::catalog::ProductId;
use tandem_domain::media::GalleryError;
use tandem_domain::time::Timestamp;
use worker::{Env, Request, Response};

use super::json_response;
use crate::error::ApiError;
use crate::pictures::{put_picture, read_picture, refuse_declared_oversize};
use crate::session::{caller_with_access, require_supplier};
use crate::store::d1::D1;
use crate::store::media as gallery;
use crate::{config, db};

fn query_value(req: &Request, name: &str) -> Option<String> {
    req.url().ok()?.query_pairs().find(|(k, _)| k == name).map(|(_, v)| v.chars().take(80).collect())
}

/// `POST /api/supplier/{id}/products/{product}/media`: one picture as the body
/// (`Content-Type: image/png|image/jpeg|image/webp`, at most 1 MiB), `?alt_zh=&alt_en=` optional.
pub async fn upload(
    req: &mut Request,
    env: &Env,
    supplier: &str,
    product: &str,
    now: Timestamp,
) -> Result<Response, ApiError> {
    refuse_declared_oversize(req)?;
    let (_, access) = caller_with_access(env, req, now).await?;
    let supplier = require_supplier(&access, supplier)?;
    let product = ProductId::parse(product).map_err(|_| ApiError::NotFound { resource: "product" })?;
    let (bytes, format) = read_picture(req).await?;
    let db = db::database(env)?;
    let store = D1(&db);
    let read = gallery::for_upload(&store, supplier.as_str(), product.as_str())
        .await?
        .ok_or(ApiError::NotFound { resource: "product" })?;
    let full = |e: GalleryError| ApiError::refused(Problem::TooManyMedia, e.to_string());
    read.gallery.add().map_err(full)?;
    let key = format!("{}-{}", product, tandem_domain::crypto::hex(&config::random_bytes::<8>()?));
    put_picture(env, &key, &bytes, format.content_type()).await?;
    let url = format!("/api/media/{key}");
    let alt_zh = query_value(req, "alt_zh").filter(|a| !a.trim().is_empty()).unwrap_or(read.name_zh);
    let alt_en = query_value(req, "alt_en").filter(|a| !a.trim().is_empty()).unwrap_or(read.name_en);
    // Appended over the gallery as read: an upload or removal that came first is read again.
    let mut as_read = read.gallery;
    for _ in 0..5 {
        if let Some(position) =
            gallery::append_image(&store, product.as_str(), as_read, &url, (&alt_zh, &alt_en)).await?
        {
            let body = MediaAdded { url, position, content_type: format.content_type().to_owned(), bytes: bytes.len() };
            return json_response(201, &body, "no-store");
        }
        as_read = gallery::for_upload(&store, supplier.as_str(), product.as_str())
            .await?
            .ok_or(ApiError::NotFound { resource: "product" })?
            .gallery;
        as_read.add().map_err(full)?;
    }
    Err(ApiError::refused(Problem::Busy, "the product's pictures are changing; try again"))
}

/// `DELETE /api/supplier/{id}/products/{product}/media/{position}`: removes a picture, never a
/// product's last image (409 `last_image`: the shelf shows it).
pub async fn remove(
    env: &Env,
    req: &Request,
    supplier: &str,
    product: &str,
    position: &str,
    now: Timestamp,
) -> Result<Response, ApiError> {
    let (_, access) = caller_with_access(env, req, now).await?;
    let supplier = require_supplier(&access, supplier)?;
    let position: i64 = position.parse().map_err(|_| ApiError::NotFound { resource: "media" })?;
    let db = db::database(env)?;
    let store = D1(&db);
    let not_found = || ApiError::NotFound { resource: "media" };
    let read = gallery::for_removal(&store, supplier.as_str(), product, position).await?.ok_or_else(not_found)?;
    // The shelf shows a product's first image: the last one is never removed.
    read.gallery.remove(read.is_image).map_err(|e| ApiError::refused(Problem::LastImage, e.to_string()))?;
    let url = gallery::remove(&store, product, position, read.gallery)
        .await?
        .ok_or_else(|| ApiError::refused(Problem::Busy, "the product's pictures changed meanwhile; try again"))?;
    if let Some(key) = url.strip_prefix("/api/media/") {
        crate::pictures::delete_picture(env, key).await?;
    }
    json_response(200, &Removed { removed: url }, "no-store")
}
