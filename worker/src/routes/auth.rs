//! Sign-in with a phone number and a one-time code, the signed-in member, sign-out.

use serde::Deserialize;
use serde_json::json;
use tandem_domain::auth::{OtpChallenge, OtpError, Phone, RateLimit, SessionToken, is_well_formed_code, issue_code};
use tandem_domain::crypto;
use tandem_domain::time::Timestamp;
use worker::{Env, Request, Response};

use super::json_response;
use crate::error::ApiError;
use crate::{body, config, db, session};

const SESSION_DAYS: i64 = 30;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CodeRequest {
    phone: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SessionRequest {
    phone: String,
    code: String,
}

fn parse_phone(raw: &str) -> Result<Phone, ApiError> {
    Phone::parse(raw).map_err(|e| ApiError::bad_request("phone", e.to_string()))
}

/// The client's address as Cloudflare reports it.
fn client_address(req: &Request) -> String {
    req.headers().get("cf-connecting-ip").ok().flatten().unwrap_or_else(|| "unknown".to_owned())
}

/// Counts one event against each limit in one batch and refuses when any is over.
async fn count_against(env: &Env, now: Timestamp, limits: &[(String, RateLimit)]) -> Result<(), ApiError> {
    let db = db::database(env)?;
    let mut statements = Vec::new();
    for (key, limit) in limits {
        statements.push(db::prepare(
            &db,
            "INSERT INTO rate_counters (key, window, count) VALUES (?1, ?2, 1)
             ON CONFLICT (key, window) DO UPDATE SET count = count + 1 RETURNING count",
            &[db::text(key), db::integer(limit.window(now))],
        )?);
    }
    let results = db::batch(&db, statements).await?;
    for ((_, limit), result) in limits.iter().zip(&results) {
        #[derive(Deserialize)]
        struct Count {
            count: u32,
        }
        let count = db::rows::<Count>(result)?.first().map_or(0, |c| c.count);
        // `allows` is asked about the events before this one.
        if !limit.allows(count.saturating_sub(1)) {
            let window_end = (limit.window(now) + 1) * limit.window_ms;
            return Err(ApiError::RateLimited { retry_after_s: (window_end - now.millis()).div_euclid(1000).max(1) });
        }
    }
    Ok(())
}

/// `POST /api/auth/code`: sends a sign-in code (in development: logs it and keeps it for
/// `/api/dev/otp`).
pub async fn request_code(env: &Env, req: &Request, text: &str) -> Result<Response, ApiError> {
    let form: CodeRequest = body::parse_json(text)?;
    let phone = parse_phone(&form.phone)?;
    let now = config::now(env).await?;
    let lookup = phone.lookup_hash(&config::key(env, "LOOKUP_KEY")?);
    count_against(
        env,
        now,
        &[
            (format!("otp:phone:{lookup}"), config::otp_phone_limit(env)),
            (format!("otp:address:{}", client_address(req)), config::otp_address_limit(env)),
        ],
    )
    .await?;
    let random = u64::from_le_bytes(config::random_bytes::<8>()?);
    let policy = config::otp_policy();
    let issued = issue_code(random, &phone, &config::key(env, "OTP_KEY")?, now, policy);
    let db = db::database(env)?;
    let statement = db::prepare(
        &db,
        "INSERT INTO otp_codes (phone_hash, code_hash, expires_at, attempts, used, created_at) VALUES (?1, ?2, ?3, 0, 0, ?4)
         ON CONFLICT (phone_hash) DO UPDATE SET code_hash = ?2, expires_at = ?3, attempts = 0, used = 0, created_at = ?4",
        &[
            db::text(&lookup),
            db::text(&issued.challenge.code_hash),
            db::integer(issued.challenge.expires_at.millis()),
            db::integer(now.millis()),
        ],
    )?;
    db::run(statement).await?;
    if config::dev_mode(env) {
        worker::console_log!("sign-in code for {}: {}", phone.masked(), issued.code);
        let kv = env.kv("KV").map_err(ApiError::internal)?;
        kv.put(&format!("dev:otp:{lookup}"), issued.code)
            .map_err(ApiError::internal)?
            .expiration_ttl(u64::try_from(policy.ttl_minutes * 60).unwrap_or(300))
            .execute()
            .await
            .map_err(ApiError::internal)?;
    }
    json_response(200, &json!({"sent": true, "expires_in_s": policy.ttl_minutes * 60}), "no-store")
}

#[derive(Deserialize)]
struct MemberRow {
    member_id: String,
}

#[derive(Deserialize)]
struct ChallengeRow {
    code_hash: String,
    expires_at: i64,
    attempts: u32,
    used: u32,
}

/// `POST /api/auth/session`: checks the code, creates the member on first sign-in, starts a
/// session and sets its cookie.
pub async fn sign_in(env: &Env, req: &Request, text: &str) -> Result<Response, ApiError> {
    let form: SessionRequest = body::parse_json(text)?;
    let phone = parse_phone(&form.phone)?;
    if !is_well_formed_code(&form.code) {
        return Err(ApiError::bad_request("code", "a code is 6 digits"));
    }
    let now = config::now(env).await?;
    let lookup = phone.lookup_hash(&config::key(env, "LOOKUP_KEY")?);
    let db = db::database(env)?;
    let read = db::prepare(
        &db,
        "SELECT code_hash, expires_at, attempts, used FROM otp_codes WHERE phone_hash = ?1",
        &[db::text(&lookup)],
    )?;
    let Some(row) = db::one::<ChallengeRow>(read).await? else {
        return Err(ApiError::SignInRefused { reason: "no_code", attempts_left: None });
    };
    let challenge = OtpChallenge {
        code_hash: row.code_hash,
        expires_at: Timestamp(row.expires_at),
        attempts: row.attempts,
        used: row.used != 0,
    };
    let policy = config::otp_policy();
    let (next, outcome) = challenge.attempt(&phone, &form.code, &config::key(env, "OTP_KEY")?, now, policy);
    // Record the attempt only if nobody else did in between, so parallel guesses cannot share
    // one attempt.
    let record = db::prepare(
        &db,
        "UPDATE otp_codes SET attempts = ?2, used = ?3 WHERE phone_hash = ?1 AND attempts = ?4 AND used = 0",
        &[
            db::text(&lookup),
            db::integer(i64::from(next.attempts)),
            db::integer(i64::from(next.used)),
            db::integer(i64::from(challenge.attempts)),
        ],
    )?;
    if next != challenge {
        let result = db::run(record).await?;
        let changed = db::changes(&result);
        if changed != 1 {
            return Err(ApiError::SignInRefused { reason: "code_used", attempts_left: None });
        }
    }
    if let Err(error) = outcome {
        let (reason, attempts_left) = match error {
            OtpError::Expired => ("code_expired", None),
            OtpError::TooManyAttempts => ("too_many_attempts", Some(0)),
            OtpError::AlreadyUsed => ("code_used", None),
            OtpError::Wrong { attempts_left } => ("wrong_code", Some(attempts_left)),
            OtpError::Malformed => ("bad_code", None),
        };
        return Err(ApiError::SignInRefused { reason, attempts_left });
    }

    let member_id = format!("m-{}", crypto::hex(&config::random_bytes::<8>()?));
    let sealed =
        crypto::seal(&config::key(env, "PHONE_ENC_KEY")?, config::random_bytes::<12>()?, phone.as_str().as_bytes())
            .ok_or_else(|| ApiError::internal("could not seal a phone number"))?;
    let token = SessionToken::from_random(config::random_bytes::<16>()?);
    let expires_at = now.plus_days(SESSION_DAYS);
    let create_member = db::prepare(
        &db,
        "INSERT INTO members (id, phone_hash, phone_enc, created_at) VALUES (?1, ?2, ?3, ?4) ON CONFLICT (phone_hash) DO NOTHING",
        &[db::text(&member_id), db::text(&lookup), db::text(&sealed), db::integer(now.millis())],
    )?;
    let create_session = db::prepare(
        &db,
        "INSERT INTO sessions (token_hash, member_id, created_at, expires_at)
         SELECT ?1, id, ?2, ?3 FROM members WHERE phone_hash = ?4 RETURNING member_id",
        &[
            db::text(&token.stored_hash()),
            db::integer(now.millis()),
            db::integer(expires_at.millis()),
            db::text(&lookup),
        ],
    )?;
    let mut statements = vec![create_member, create_session];
    statements.extend(super::chain::sign_in_statements(&db, req, &lookup, now)?);
    let merges = super::cart::merge_statements(&db, req, &lookup, now)?;
    let had_anonymous_cart = !merges.is_empty();
    statements.extend(merges);
    let results = db::batch(&db, statements).await?;
    let member = results
        .get(1)
        .map(db::rows::<MemberRow>)
        .transpose()?
        .and_then(|rows| rows.into_iter().next())
        .ok_or_else(|| ApiError::internal("the session was not created"))?;
    super::behaviour::merge_visitor(env, req, &member.member_id, now).await?;
    let mut response =
        json_response(200, &json!({"member": {"id": member.member_id, "phone": phone.masked()}}), "no-store")?;
    let cookie = format!(
        "{}={}; Path=/; HttpOnly; SameSite=Lax; Max-Age={}{}",
        session::COOKIE,
        token.as_str(),
        SESSION_DAYS * 86_400,
        if is_local(req) { "" } else { "; Secure" }
    );
    response.headers_mut().append("set-cookie", &cookie).map_err(ApiError::internal)?;
    if had_anonymous_cart {
        response.headers_mut().append("set-cookie", &super::cart::clear_cookie()).map_err(ApiError::internal)?;
    }
    Ok(response)
}

/// Local development serves plain HTTP, where a `Secure` cookie would never be sent back.
fn is_local(req: &Request) -> bool {
    req.url().ok().and_then(|u| u.host_str().map(str::to_owned)).is_some_and(|h| h == "localhost" || h == "127.0.0.1")
}

/// `GET /api/me`.
pub async fn me(env: &Env, req: &Request) -> Result<Response, ApiError> {
    let caller = session::caller(env, req).await?;
    let access = session::access(env, &caller).await?;
    json_response(
        200,
        &json!({"member": {"id": caller.member_id, "phone": caller.phone.masked()}, "roles": access.roles}),
        "no-store",
    )
}

/// `DELETE /api/auth/session`: revokes the session and clears the cookie.
pub async fn sign_out(env: &Env, req: &Request) -> Result<Response, ApiError> {
    let token = session::token(req).ok_or(ApiError::Unauthenticated)?;
    let now = config::now(env).await?;
    let db = db::database(env)?;
    let statement = db::prepare(
        &db,
        "UPDATE sessions SET revoked_at = ?2 WHERE token_hash = ?1 AND revoked_at IS NULL",
        &[db::text(&token.stored_hash()), db::integer(now.millis())],
    )?;
    db::run(statement).await?;
    let mut response = json_response(200, &json!({"signed_out": true}), "no-store")?;
    response
        .headers_mut()
        .set("set-cookie", &format!("{}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0", session::COOKIE))
        .map_err(ApiError::internal)?;
    Ok(response)
}
