//! A supplier's product pictures: uploaded as raw bytes, checked by `domain::media`, kept in KV
//! under a unique key and served from `/api/media/{key}` with a year's caching (a key's bytes
//! never change); the `media` table keeps their order and alt texts.

use serde::Deserialize;
use serde_json::json;
use tandem_domain::api::Problem;
use tandem_domain::catalog::ProductId;
use tandem_domain::media::{self, MAX_IMAGE_BYTES, MAX_MEDIA_PER_PRODUCT};
use worker::{Env, Request, Response};

use super::json_response;
use crate::error::ApiError;
use crate::session::{caller_with_access, require_supplier};
use crate::{config, db};

#[derive(Deserialize)]
struct ProductRow {
    name_zh: String,
    name_en: String,
    media_count: usize,
    next_position: i64,
}

#[derive(Deserialize)]
struct Position {
    position: i64,
}

#[derive(Deserialize)]
struct Url {
    url: String,
}

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
    let read = db::prepare(
        &db,
        "SELECT p.name_zh, p.name_en, (SELECT COUNT(*) FROM media m WHERE m.product_id = p.id) AS media_count,
                (SELECT COALESCE(MAX(position) + 1, 0) FROM media m WHERE m.product_id = p.id) AS next_position
         FROM products p WHERE p.id = ?1 AND p.supplier_id = ?2",
        &[db::text(product.as_str()), db::text(supplier.as_str())],
    )?;
    let row = db::one::<ProductRow>(read).await?.ok_or(ApiError::NotFound { resource: "product" })?;
    if row.media_count >= MAX_MEDIA_PER_PRODUCT {
        return Err(ApiError::refused(
            Problem::TooManyMedia,
            format!("a product shows at most {MAX_MEDIA_PER_PRODUCT} pictures"),
        ));
    }
    let key = format!("{}-{}", product, tandem_domain::crypto::hex(&config::random_bytes::<8>()?));
    put_picture(env, &key, &bytes, format.content_type()).await?;
    let url = format!("/api/media/{key}");
    let alt_zh = query_value(req, "alt_zh").filter(|a| !a.trim().is_empty()).unwrap_or(row.name_zh);
    let alt_en = query_value(req, "alt_en").filter(|a| !a.trim().is_empty()).unwrap_or(row.name_en);
    // The position is taken again inside the insert, so two uploads at once do not collide.
    let insert = db::prepare(
        &db,
        "INSERT INTO media (product_id, position, kind, url, alt_zh, alt_en)
         VALUES (?1, (SELECT COALESCE(MAX(position) + 1, ?2) FROM media WHERE product_id = ?1), 'image', ?3, ?4, ?5)
         RETURNING position",
        &[
            db::text(product.as_str()),
            db::integer(row.next_position),
            db::text(&url),
            db::text(&alt_zh),
            db::text(&alt_en),
        ],
    )?;
    let position = db::one::<Position>(insert).await?.map_or(row.next_position, |p| p.position);
    json_response(
        201,
        &json!({"url": url, "position": position, "content_type": format.content_type(), "bytes": bytes.len()}),
        "no-store",
    )
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
    let delete = db::prepare(
        &db,
        "DELETE FROM media WHERE product_id = ?1 AND position = ?2
           AND product_id IN (SELECT id FROM products WHERE supplier_id = ?3)
           AND (SELECT COUNT(*) FROM media WHERE product_id = ?1 AND kind = 'image') > CASE WHEN kind = 'image' THEN 1 ELSE 0 END
         RETURNING url",
        &[db::text(product), db::integer(position), db::text(supplier.as_str())],
    )?;
    let removed = db::one::<Url>(delete).await?.ok_or(ApiError::NotFound { resource: "media" })?;
    if let Some(key) = removed.url.strip_prefix("/api/media/") {
        let kv = env.kv("KV").map_err(ApiError::internal)?;
        kv.delete(&format!("media:{key}")).await.map_err(ApiError::internal)?;
    }
    json_response(200, &json!({"removed": removed.url}), "no-store")
}
