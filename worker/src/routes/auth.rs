//! Sign-in with a phone number and a one-time code, the signed-in member, sign-out.

use tandem_domain::api::Problem;
use tandem_domain::api::account::{CodeRequest, SessionRequest};
use tandem_domain::api::account::{CodeSent, Me, MemberRef, SignedIn, SignedOut};
use tandem_domain::auth::{
    GuessLimits, OtpError, Phone, RateLimit, SessionToken, check_sign_in, is_well_formed_code, issue_code,
};
use tandem_domain::crypto;
use tandem_domain::time::Timestamp;
use worker::{Env, Request, Response};

use super::json_response;
use crate::error::ApiError;
use crate::store::auth as stored;
use crate::store::d1::D1;
use crate::{body, config, db, session};

const SESSION_DAYS: i64 = 30;

fn parse_phone(raw: &str) -> Result<Phone, ApiError> {
    Phone::parse(raw).map_err(|e| ApiError::bad_request("phone", e.to_string()))
}

/// Who is asking, as a keyed hash of the client's address as Cloudflare reports it: codes and
/// tries are counted per requester without keeping anyone's address.
fn requester(env: &Env, req: &Request) -> Result<String, ApiError> {
    let address = req.headers().get("cf-connecting-ip").ok().flatten().unwrap_or_else(|| "unknown".to_owned());
    Ok(crypto::hmac_hex(&config::key(env, "LOOKUP_KEY")?, format!("requester|{address}").as_bytes()))
}

/// Counts one event against each limit in one batch and refuses when any is over.
async fn count_against(env: &Env, now: Timestamp, limits: &[(String, RateLimit)]) -> Result<(), ApiError> {
    let db = db::database(env)?;
    let counters: Vec<(String, i64)> = limits.iter().map(|(key, limit)| (key.clone(), limit.window(now))).collect();
    let counts = stored::count(&D1(&db), &counters).await.map_err(ApiError::internal)?;
    for ((_, limit), count) in limits.iter().zip(counts) {
        // `allows` is asked about the events before this one.
        if !limit.allows(count.saturating_sub(1)) {
            let window_end = (limit.window(now) + 1) * limit.window_ms;
            return Err(ApiError::RateLimited { retry_after_s: (window_end - now.millis()).div_euclid(1000).max(1) });
        }
    }
    Ok(())
}

/// `POST /api/auth/code`: sends a sign-in code (in development: logs it and keeps it for
/// `/api/dev/otp`). Codes are limited per phone and requester, per requester, and per phone
/// in all; a requester's new code replaces only its own earlier one, so nobody else's request
/// can void the code the owner of the phone was sent.
pub async fn request_code(env: &Env, req: &Request, text: &str, now: Timestamp) -> Result<Response, ApiError> {
    let form: CodeRequest = body::parse_json(text)?;
    let phone = parse_phone(&form.phone)?;
    let lookup = phone.lookup_hash(&config::key(env, "LOOKUP_KEY")?);
    let requester = requester(env, req)?;
    count_against(
        env,
        now,
        &[
            (format!("otp:phone:{lookup}:{requester}"), config::otp_phone_limit(env)),
            (format!("otp:address:{requester}"), config::otp_address_limit(env)),
            (format!("otp:phone:{lookup}"), config::otp_phone_total_limit(env)),
        ],
    )
    .await?;
    let random = u64::from_le_bytes(config::random_bytes::<8>()?);
    let policy = config::otp_policy();
    let issued = issue_code(random, &phone, &config::key(env, "OTP_KEY")?, now, policy);
    let db = db::database(env)?;
    stored::keep_code(&D1(&db), &lookup, &requester, &issued.challenge, now).await.map_err(ApiError::internal)?;
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
    json_response(200, &CodeSent { sent: true, expires_in_s: policy.ttl_minutes * 60 }, "no-store")
}

/// `POST /api/auth/session`: checks the code, creates the member on first sign-in, starts a
/// session and sets its cookie.
pub async fn sign_in(env: &Env, req: &Request, text: &str, now: Timestamp) -> Result<Response, ApiError> {
    let form: SessionRequest = body::parse_json(text)?;
    let phone = parse_phone(&form.phone)?;
    if !is_well_formed_code(&form.code) {
        return Err(ApiError::bad_request("code", "a code is 6 digits"));
    }
    let lookup = phone.lookup_hash(&config::key(env, "LOOKUP_KEY")?);
    let requester = requester(env, req)?;
    let db = db::database(env)?;
    let limits = GuessLimits::default();
    let window = now.millis().div_euclid(limits.window_ms());
    let anonymous_cart = session::anonymous_cart(req);
    let read = stored::for_sign_in(
        &D1(&db),
        &lookup,
        (&format!("signin:{lookup}:{requester}"), window),
        (&format!("signin:{lookup}"), window),
        anonymous_cart.as_deref(),
    )
    .await
    .map_err(ApiError::internal)?;
    if read.codes.is_empty() {
        return Err(ApiError::refused(Problem::NoCode, "no code was sent to this phone; ask for one"));
    }
    let challenges: Vec<_> = read.codes.iter().map(|(_, challenge)| challenge.clone()).collect();
    let matched =
        check_sign_in(&challenges, read.tries, limits, &phone, &form.code, &config::key(env, "OTP_KEY")?, now)
            .map_err(|error| {
                let problem = match error {
                    OtpError::Expired => Problem::CodeExpired,
                    OtpError::TooManyAttempts => Problem::TooManyAttempts { attempts_left: 0 },
                    OtpError::AlreadyUsed => Problem::CodeUsed,
                    OtpError::Wrong { attempts_left } => Problem::WrongCode { attempts_left },
                    OtpError::Malformed => Problem::BadCode,
                };
                ApiError::refused(problem, error.to_string())
            })?;
    let (code_owner, matched_code) = &read.codes[matched];

    let new_member = format!("m-{}", crypto::hex(&config::random_bytes::<8>()?));
    let sealed =
        crypto::seal(&config::key(env, "PHONE_ENC_KEY")?, config::random_bytes::<12>()?, phone.as_str().as_bytes())
            .ok_or_else(|| ApiError::internal("could not seal a phone number"))?;
    let token = SessionToken::from_random(config::random_bytes::<16>()?);
    let expires_at = now.plus_days(SESSION_DAYS);
    let new_cart = session::new_cart_id()?;
    let (invite_code, token_hash) = (crate::chain::new_invite_code()?, token.stored_hash());
    let signing_in = stored::SignIn {
        phone_hash: &lookup,
        requester: code_owner,
        code_hash: &matched_code.code_hash,
        new_member: &new_member,
        phone_sealed: &sealed,
        invite_code: &invite_code,
        token_hash: &token_hash,
        expires_at,
        anonymous_cart: anonymous_cart.as_deref().map(|id| (id, new_cart.as_str(), &read.to_merge)),
        now,
    };
    // The code is used up in the same batch, guarded: a second sign-in with it fails whole, as
    // does one whose cart changed since it was read (the code is then still good).
    let member_id = match stored::sign_in(&D1(&db), signing_in).await? {
        stored::SignInOutcome::Member(member_id) => member_id,
        stored::SignInOutcome::CodeUsed => {
            return Err(ApiError::refused(Problem::CodeUsed, OtpError::AlreadyUsed.to_string()));
        }
        stored::SignInOutcome::CartChanged => {
            return Err(ApiError::refused(Problem::Busy, "the cart changed while signing in; sign in again"));
        }
        stored::SignInOutcome::InviteCodeTaken => return Err(ApiError::refused(Problem::Busy, "sign in again")),
    };
    if let Some(code) = session::invite_cookie(req) {
        // A binding that cannot be made now (the network busy) does not fail the sign-in.
        if let Err(error) = crate::chain::bind_member(&db, &member_id, &code, now).await {
            worker::console_warn!("binding at sign-in failed: {error:?}");
        }
    }
    crate::memory::merge_visitor(env, req, &member_id, now).await?;
    let mut response =
        json_response(200, &SignedIn { member: MemberRef { id: member_id, phone: phone.masked() } }, "no-store")?;
    let cookie = format!(
        "{}={}; Path=/; HttpOnly; SameSite=Lax; Max-Age={}{}",
        session::COOKIE,
        token.as_str(),
        SESSION_DAYS * 86_400,
        if is_local(req) { "" } else { "; Secure" }
    );
    response.headers_mut().append("set-cookie", &cookie).map_err(ApiError::internal)?;
    if anonymous_cart.is_some() {
        response.headers_mut().append("set-cookie", &session::clear_cart_cookie()).map_err(ApiError::internal)?;
    }
    Ok(response)
}

/// Local development serves plain HTTP, where a `Secure` cookie would never be sent back.
fn is_local(req: &Request) -> bool {
    req.url().ok().and_then(|u| u.host_str().map(str::to_owned)).is_some_and(|h| h == "localhost" || h == "127.0.0.1")
}

/// `GET /api/me`.
pub async fn me(env: &Env, req: &Request, now: Timestamp) -> Result<Response, ApiError> {
    let caller = session::caller(env, req, now).await?;
    let access = session::access(env, &caller).await?;
    let member = MemberRef { id: caller.member_id, phone: caller.phone.masked() };
    json_response(200, &Me { member, roles: access.roles }, "no-store")
}

/// `DELETE /api/auth/session`: revokes the session and clears the cookie.
pub async fn sign_out(env: &Env, req: &Request, now: Timestamp) -> Result<Response, ApiError> {
    let token = session::token(req).ok_or(ApiError::Unauthenticated)?;
    let db = db::database(env)?;
    stored::revoke_session(&D1(&db), &token.stored_hash(), now).await.map_err(ApiError::internal)?;
    let mut response = json_response(200, &SignedOut { signed_out: true }, "no-store")?;
    response
        .headers_mut()
        .set("set-cookie", &format!("{}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0", session::COOKIE))
        .map_err(ApiError::internal)?;
    Ok(response)
}
