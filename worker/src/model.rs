//! The trained recommender: built by the cron (and `POST /api/dev/jobs`) from everyone's
//! touches of the last 180 days, kept in KV (with its summary in D1) and parsed once per
//! isolate per build.

use std::cell::RefCell;
use std::rc::Rc;
use tandem_domain::api::dev::Retrained;
use tandem_domain::time::Timestamp;

use tandem_domain::recommend::serve::{self, Trained};
use worker::Env;

use crate::db;
use crate::error::ApiError;
use crate::store::d1::D1;
use crate::store::recommender;

/// The KV key of the trained recommender, and of its build time (read first: the model is
/// fetched and parsed only when this isolate's copy is older).
const MODEL_KEY: &str = "recommender:model";
const BUILT_AT_KEY: &str = "recommender:built_at";
/// Touches older than this are not trained on (nor read back as a person's own).
pub const TRAINING_DAYS: i64 = 180;
/// At most this many touches are trained on: the newest.
const TRAINING_TOUCHES: i64 = 500_000;
/// The cron retrains when the model is older than this.
const RETRAIN_AFTER_MINUTES: i64 = 60;

thread_local! {
    /// The parsed model of this isolate, by its build time: KV is read per request, the JSON
    /// parsed only when the cron has built a new one.
    static CACHE: RefCell<Option<Rc<Trained>>> = const { RefCell::new(None) };
}

/// Trains the recommender on the last 180 days and stores it.
pub async fn rebuild(env: &Env, now: Timestamp) -> Result<Retrained, ApiError> {
    let db = db::database(env)?;
    let training = recommender::training(&D1(&db), now.plus_days(-TRAINING_DAYS), TRAINING_TOUCHES).await?;
    let trained = serve::build(training.items, &training.touches, now);
    let body = serde_json::to_string(&trained).map_err(ApiError::internal)?;
    let kv = env.kv("KV").map_err(ApiError::internal)?;
    kv.put(MODEL_KEY, body).map_err(ApiError::internal)?.execute().await.map_err(ApiError::internal)?;
    kv.put(BUILT_AT_KEY, now.millis().to_string())
        .map_err(ApiError::internal)?
        .execute()
        .await
        .map_err(ApiError::internal)?;
    recommender::record_build(&D1(&db), &trained).await?;
    let count = |n: usize| u64::try_from(n).unwrap_or(u64::MAX);
    let rebuilt = Retrained {
        items: count(trained.items.len()),
        touches: count(trained.touches),
        learned_from: count(trained.learned_from),
    };
    CACHE.with(|cache| *cache.borrow_mut() = Some(Rc::new(trained)));
    Ok(rebuilt)
}

/// The cron's step: retrains when the stored model is missing or older than an hour.
pub async fn rebuild_if_stale(env: &Env, now: Timestamp) -> Result<Option<Retrained>, ApiError> {
    let db = db::database(env)?;
    let built = recommender::built_at(&D1(&db)).await?;
    if built.is_some_and(|at| at > now.plus_minutes(-RETRAIN_AFTER_MINUTES)) {
        return Ok(None);
    }
    rebuild(env, now).await.map(Some)
}

/// The trained model: this isolate's copy when it is the latest, else KV's, else a new one.
pub async fn trained(env: &Env, now: Timestamp) -> Result<Rc<Trained>, ApiError> {
    let kv = env.kv("KV").map_err(ApiError::internal)?;
    let built_at = kv.get(BUILT_AT_KEY).text().await.map_err(ApiError::internal)?.and_then(|t| t.parse::<i64>().ok());
    let cached = CACHE.with(|cache| cache.borrow().clone());
    if let (Some(cached), Some(built_at)) = (&cached, built_at)
        && cached.built_at.millis() == built_at
    {
        return Ok(cached.clone());
    }
    let Some(text) = kv.get(MODEL_KEY).text().await.map_err(ApiError::internal)? else {
        rebuild(env, now).await?;
        return CACHE.with(|cache| cache.borrow().clone()).ok_or_else(|| ApiError::internal("the model was not kept"));
    };
    let trained: Rc<Trained> = Rc::new(db::stored(serde_json::from_str(&text))?);
    CACHE.with(|cache| *cache.borrow_mut() = Some(trained.clone()));
    Ok(trained)
}
