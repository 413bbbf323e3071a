//! A supplier's product pictures: uploaded as raw bytes, checked by `domain::media`, kept in KV
//! under a unique key and served from `/api/media/{key}` with a year's caching (a key's bytes
//! never change); the `media` table keeps their order and alt texts.

use serde::Deserialize;
use serde_json::json;
use tandem_domain::api::Problem;
use tandem_domain::catalog::ProductId;
use tandem_domain::media::{self, GalleryError, MAX_IMAGE_BYTES};
use worker::{Env, Request, Response};

use super::json_response;
use crate::error::ApiError;
use crate::session::{caller_with_access, require_supplier};
use crate::store::d1::D1;
use crate::store::media as gallery;
use crate::{config, db};

#[derive(Deserialize, serde::Serialize)]
struct KvMeta {
    content_type: String,
}

fn query_value(req: &Request, name: &str) -> Option<String> {
    req.url().ok()?.query_pairs().find(|(k, _)| k == name).map(|(_, v)| v.chars().take(80).collect())
}

/// `POST /api/supplier/{id}/products/{product}/media`: one picture as the body
/// (`Content-Type: image/png|image/jpeg|image/webp`, at most 1 MiB), `?alt_zh=&alt_en=` optional.
pub async fn upload(req: &mut Request, env: &Env, supplier: &str, product: &str) -> Result<Response, ApiError> {
    refuse_declared_oversize(req)?;
    let (_, access) = caller_with_access(env, req).await?;
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
            let body =
                json!({"url": url, "position": position, "content_type": format.content_type(), "bytes": bytes.len()});
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

/// 413 before reading a body whose declared length is over the picture limit.
pub fn refuse_declared_oversize(req: &Request) -> Result<(), ApiError> {
    let declared = req.headers().get("content-length").ok().flatten().and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|length| length > MAX_IMAGE_BYTES) {
        return Err(ApiError::PayloadTooLarge { max_bytes: MAX_IMAGE_BYTES });
    }
    Ok(())
}

/// The request's body as a picture `domain::media` accepts (413 too large, 415 not a picture).
pub async fn read_picture(req: &mut Request) -> Result<(Vec<u8>, media::ImageFormat), ApiError> {
    let bytes = req.bytes().await.map_err(|e| ApiError::bad_request("body", e.to_string()))?;
    let declared = req.headers().get("content-type").ok().flatten();
    let format = media::check_upload(&bytes, declared.as_deref()).map_err(|e| match e {
        media::MediaError::TooLarge { max } => ApiError::PayloadTooLarge { max_bytes: max },
        other => ApiError::refused(Problem::UnsupportedMedia, other.to_string()),
    })?;
    Ok((bytes, format))
}

/// Keeps a checked picture's bytes in KV under `media:{key}`, served by [`serve`].
pub async fn put_picture(env: &Env, key: &str, bytes: &[u8], content_type: &str) -> Result<(), ApiError> {
    let kv = env.kv("KV").map_err(ApiError::internal)?;
    kv.put_bytes(&format!("media:{key}"), bytes)
        .map_err(ApiError::internal)?
        .metadata(KvMeta { content_type: content_type.to_owned() })
        .map_err(ApiError::internal)?
        .execute()
        .await
        .map_err(ApiError::internal)
}

/// `GET /api/media/{key}`: an uploaded picture.
pub async fn serve(env: &Env, key: &str) -> Result<Response, ApiError> {
    if key.len() > 80 || !key.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-') {
        return Err(ApiError::NotFound { resource: "media" });
    }
    let kv = env.kv("KV").map_err(ApiError::internal)?;
    let (bytes, meta) =
        kv.get(&format!("media:{key}")).bytes_with_metadata::<KvMeta>().await.map_err(ApiError::internal)?;
    let (Some(bytes), Some(meta)) = (bytes, meta) else { return Err(ApiError::NotFound { resource: "media" }) };
    let mut response = Response::from_bytes(bytes).map_err(ApiError::internal)?;
    let headers = response.headers_mut();
    headers.set("content-type", &meta.content_type).map_err(ApiError::internal)?;
    headers.set("cache-control", "public, max-age=31536000, immutable").map_err(ApiError::internal)?;
    headers.set("x-content-type-options", "nosniff").map_err(ApiError::internal)?;
    headers.set("content-security-policy", "default-src 'none'").map_err(ApiError::internal)?;
    Ok(response)
}

struct Url {
    url: String,
}

/// `DELETE /api/supplier/{id}/products/{product}/media/{position}`: removes a picture, never a
/// product's last one (the shelf shows it).
pub async fn remove(
    env: &Env,
    req: &Request,
    supplier: &str,
    product: &str,
    position: &str,
) -> Result<Response, ApiError> {
    let (_, access) = caller_with_access(env, req).await?;
    let supplier = require_supplier(&access, supplier)?;
    let position: i64 = position.parse().map_err(|_| ApiError::NotFound { resource: "media" })?;
    let db = db::database(env)?;
    let store = D1(&db);
    let not_found = || ApiError::NotFound { resource: "media" };
    let read = gallery::for_removal(&store, supplier.as_str(), product, position).await?.ok_or_else(not_found)?;
    // The shelf shows a product's first image: the last one is never removed.
    read.gallery.remove(read.is_image).map_err(|_| not_found())?;
    let url = gallery::remove(&store, product, position, read.gallery)
        .await?
        .ok_or_else(|| ApiError::refused(Problem::Busy, "the product's pictures changed meanwhile; try again"))?;
    let removed = Url { url };
    if let Some(key) = removed.url.strip_prefix("/api/media/") {
        let kv = env.kv("KV").map_err(ApiError::internal)?;
        kv.delete(&format!("media:{key}")).await.map_err(ApiError::internal)?;
    }
    json_response(200, &json!({"removed": removed.url}), "no-store")
}
