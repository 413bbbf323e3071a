//! Pictures kept in KV: a supplier's product pictures and a card owner's photo. A request's
//! body is read as a picture `domain::media` accepts, kept under `media:{key}` with its content
//! type, served from `/api/media/{key}` and deleted when its row goes.

use serde::{Deserialize, Serialize};
use tandem_domain::api::Problem;
use tandem_domain::media::{self, MAX_IMAGE_BYTES};
use worker::{Env, Request, Response};

use crate::error::ApiError;

#[derive(Deserialize, Serialize)]
struct KvMeta {
    content_type: String,
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

/// Deletes a picture's bytes (its row is gone).
pub async fn delete_picture(env: &Env, key: &str) -> Result<(), ApiError> {
    let kv = env.kv("KV").map_err(ApiError::internal)?;
    kv.delete(&format!("media:{key}")).await.map_err(ApiError::internal)
}

/// `GET /api/media/{key}`: an uploaded picture, cached for a year (a key's bytes never change).
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
