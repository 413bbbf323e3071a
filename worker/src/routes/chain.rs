//! The distribution network's routes: the sharer centre's data (the caller's own place, earnings and directs; never anyone else's ledger).

use tandem_domain::api::Problem;
use tandem_domain::api::sharers::{Centre, PERIOD_DAYS, Profile, Team, WithdrawalAnswer, WithdrawalRequest};
use tandem_domain::chain21::{poster, settle};
use tandem_domain::time::Timestamp;
use worker::{Env, Request, Response};

use super::json_response;
use crate::error::ApiError;
use crate::store::d1::D1;
use crate::store::sharers::{self, Asked, Listing};
use crate::{body, chain, config, db, session};

/// `GET /api/chain/me`: the sharer centre's data for the caller.
pub async fn me(env: &Env, req: &Request, now: Timestamp) -> Result<Response, ApiError> {
    let caller = session::caller(env, req, now).await?;
    let db = db::database(env)?;
    let read = sharers::centre(&D1(&db), &caller.member_id, &chain::new_invite_code()?, now).await?;
    let directs = chain::team(env, &db, Listing::DirectsOf(&caller.member_id), now).await?;
    let own = chain::team(env, &db, Listing::One(&caller.member_id), now).await?.into_iter().next();
    let place = read.place;
    let centre = Centre {
        member_id: caller.member_id.clone(),
        name: place.display_name.clone().unwrap_or_else(|| caller.phone.masked()),
        display_name: place.display_name,
        invite_path: format!("/i/{}", place.invite_code),
        invite_code: place.invite_code,
        identity: place.identity,
        inviter: place.inviter,
        qualifying_directs: place.qualifying_directs,
        required_directs: read.required_directs,
        joined_at: place.joined_at,
        balances: read.balances,
        rewards: read.rewards,
        directs,
        stats: own,
        period_days: PERIOD_DAYS,
        withdrawals: read.withdrawals,
    };
    json_response(200, &centre, "no-store")
}

/// `PUT /api/chain/me`: the name the sharer's poster and team show (1 to 20 characters, or
/// null for the masked phone number).
pub async fn set_profile(env: &Env, req: &Request, text: &str, now: Timestamp) -> Result<Response, ApiError> {
    let form: Profile = body::parse_json(text)?;
    let name = form.display_name.as_deref().map(str::trim).filter(|n| !n.is_empty());
    if let Some(name) = name
        && (name.chars().count() > 20 || name.chars().any(char::is_control))
    {
        return Err(ApiError::bad_request("display_name", "1 to 20 characters, no control characters"));
    }
    let caller = session::caller(env, req, now).await?;
    let db = db::database(env)?;
    sharers::set_display_name(&D1(&db), &caller.member_id, &chain::new_invite_code()?, name, now).await?;
    json_response(200, &Profile { display_name: name.map(str::to_owned) }, "no-store")
}

/// `GET /api/chain/team?parent=ID`: the directs of a member of the caller's team (the caller's
/// own when absent), for the tree that opens on demand. A member outside the team is 404.
pub async fn team(env: &Env, req: &Request, query: &[(&str, &str)], now: Timestamp) -> Result<Response, ApiError> {
    let caller = session::caller(env, req, now).await?;
    let db = db::database(env)?;
    let parent = query.iter().find(|(k, _)| *k == "parent").map_or(caller.member_id.as_str(), |(_, v)| v);
    if parent != caller.member_id && !sharers::upline(&D1(&db), parent).await?.contains(&caller.member_id) {
        return Err(ApiError::NotFound { resource: "team member" });
    }
    let members = chain::team(env, &db, Listing::DirectsOf(parent), now).await?;
    json_response(200, &Team { parent: parent.to_owned(), members, period_days: PERIOD_DAYS }, "no-store")
}

/// `POST /api/chain/withdrawals`: the caller asks to withdraw part of its available balance.
/// The amount is held (`withdrawing`) until the operator pays it out or rejects it.
pub async fn request_withdrawal(env: &Env, req: &Request, text: &str, now: Timestamp) -> Result<Response, ApiError> {
    let form: WithdrawalRequest = body::parse_json(text)?;
    let key = form.request_key.as_str();
    if !(8..=64).contains(&key.len()) || !key.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
        return Err(ApiError::bad_request("request_key", "8 to 64 letters, digits or dashes"));
    }
    let caller = session::caller(env, req, now).await?;
    let db = db::database(env)?;
    let store = D1(&db);
    let member = caller.member_id.as_str();
    let answer = |status, withdrawal| json_response(status, &WithdrawalAnswer { withdrawal }, "no-store");
    let (done, balances) = sharers::for_withdrawal(&store, member, key).await?;
    if let Some(done) = done {
        return answer(200, done);
    }
    let hold = settle::request_withdrawal(member, balances.available_fen, form.amount_fen).map_err(|e| match e {
        settle::WithdrawalError::NotCovered { .. } => ApiError::refused(Problem::InsufficientBalance, e.to_string()),
        _ => ApiError::bad_request("amount_fen", e.to_string()),
    })?;
    let id = config::new_id("w")?;
    let asked = Asked { id: &id, member, key, amount_fen: form.amount_fen };
    let written = sharers::request_withdrawal(&store, asked, &hold, now).await?.written();
    match sharers::withdrawal_by_key(&store, member, key).await? {
        Some(row) if written => answer(201, row),
        // The same key won meanwhile.
        Some(row) => answer(200, row),
        None if written => Err(ApiError::internal("lost withdrawal")),
        None => Err(ApiError::refused(Problem::InsufficientBalance, "the available balance changed meanwhile")),
    }
}

/// `GET /api/chain/poster.svg?store=ID`: the caller's poster for a store: the store's and the
/// sharer's names and the QR code of the invite link.
pub async fn poster(env: &Env, req: &Request, query: &[(&str, &str)], now: Timestamp) -> Result<Response, ApiError> {
    let caller = session::caller(env, req, now).await?;
    let db = db::database(env)?;
    let store = query.iter().find(|(k, _)| *k == "store").map_or("", |(_, v)| v);
    let row = sharers::poster(&D1(&db), &caller.member_id, &chain::new_invite_code()?, store, now).await?;
    let url = req.url().map_err(ApiError::internal)?;
    let link = format!("{}/i/{}", url.origin().ascii_serialization(), row.invite_code);
    let sharer = row.display_name.unwrap_or_else(|| caller.phone.masked());
    let svg = poster::svg(row.store_name.as_deref().unwrap_or("Tandem"), &sharer, &link);
    let mut response = Response::ok(svg).map_err(ApiError::internal)?;
    let headers = response.headers_mut();
    headers.set("content-type", "image/svg+xml; charset=utf-8").map_err(ApiError::internal)?;
    headers.set("cache-control", "private, no-store").map_err(ApiError::internal)?;
    Ok(response)
}
