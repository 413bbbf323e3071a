//! The caller of a request: the member behind the session cookie, and their roles.

use tandem_domain::access::{Access, Role, operator_phones};
use tandem_domain::auth::{Phone, SessionToken};
use tandem_domain::catalog::{StoreId, SupplierId};
use tandem_domain::crypto;
use tandem_domain::time::Timestamp;
use worker::{Env, Request};

use crate::error::ApiError;
use crate::store::d1::D1;
use crate::store::sessions::{self as stored, SessionMember, StaffRow};
use crate::{config, db};

pub const COOKIE: &str = "tandem_session";
/// The cookie that remembers an invite code opened before signing in.
pub const REF_COOKIE: &str = "tandem_ref";
/// The random id of the cart kept before sign-in, which sign-in merges into the member's.
pub const CART_COOKIE: &str = "tandem_cart";
/// How long a cart kept before sign-in is remembered.
const CART_DAYS: i64 = 30;

/// A signed-in member.
pub struct Caller {
    pub member_id: String,
    pub phone: Phone,
    pub phone_hash: String,
}

/// A cookie's value by name.
pub fn cookie(req: &Request, name: &str) -> Option<String> {
    let cookies = req.headers().get("cookie").ok().flatten()?;
    cookies
        .split(';')
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value.to_owned())
}

/// The invite code an invite link left in the cookie, to bind the member to once signed in.
pub fn invite_cookie(req: &Request) -> Option<String> {
    cookie(req, REF_COOKIE).filter(|c| tandem_domain::card::well_formed_code(c))
}

/// The id of the cart kept before sign-in, if its cookie is well-formed.
pub fn anonymous_cart(req: &Request) -> Option<String> {
    cookie(req, CART_COOKIE)
        .filter(|id| id.len() == 34 && id.starts_with("k-") && id[2..].bytes().all(|b| b.is_ascii_hexdigit()))
}

/// A new cart's random id.
pub fn new_cart_id() -> Result<String, ApiError> {
    Ok(format!("k-{}", crypto::hex(&config::random_bytes::<16>()?)))
}

/// The Set-Cookie value that remembers the cart `id` kept before sign-in.
pub fn cart_cookie(id: &str) -> String {
    format!("{CART_COOKIE}={id}; Path=/; HttpOnly; SameSite=Lax; Max-Age={}", CART_DAYS * 86_400)
}

/// The Set-Cookie value that forgets the cart kept before sign-in, once merged.
pub fn clear_cart_cookie() -> String {
    format!("{CART_COOKIE}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0")
}

pub fn token(req: &Request) -> Option<SessionToken> {
    cookie(req, COOKIE).and_then(|value| SessionToken::parse(&value))
}

pub fn open_phone(env: &Env, sealed: &str) -> Result<Phone, ApiError> {
    crypto::open(&config::key(env, "PHONE_ENC_KEY")?, sealed)
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .and_then(|text| Phone::parse(&text).ok())
        .ok_or_else(|| ApiError::internal("a stored phone number does not open"))
}

fn caller_from(env: &Env, member: Option<SessionMember>) -> Result<Caller, ApiError> {
    let row = member.ok_or(ApiError::Unauthenticated)?;
    Ok(Caller { phone: open_phone(env, &row.phone_enc)?, member_id: row.id, phone_hash: row.phone_hash })
}

/// The member of the request's session, or `Unauthenticated`. One D1 round trip.
pub async fn caller(env: &Env, req: &Request, now: Timestamp) -> Result<Caller, ApiError> {
    let token = token(req).ok_or(ApiError::Unauthenticated)?;
    let db = db::database(env)?;
    caller_from(env, stored::member_of(&D1(&db), &token.stored_hash(), now).await?)
}

/// The caller and their roles, read together in one D1 round trip.
pub async fn caller_with_access(env: &Env, req: &Request, now: Timestamp) -> Result<(Caller, Access), ApiError> {
    let token = token(req).ok_or(ApiError::Unauthenticated)?;
    let db = db::database(env)?;
    let (member, staff) = stored::member_and_staff(&D1(&db), &token.stored_hash(), now).await?;
    let caller = caller_from(env, member)?;
    let access = access_from(env, &caller, &staff);
    Ok((caller, access))
}

/// The caller's roles, for a caller already read.
pub async fn access(env: &Env, caller: &Caller) -> Result<Access, ApiError> {
    let db = db::database(env)?;
    Ok(access_from(env, caller, &stored::staff_of(&D1(&db), &caller.phone_hash).await?))
}

fn access_from(env: &Env, caller: &Caller, staff: &[StaffRow]) -> Access {
    let mut roles: Vec<Role> = staff
        .iter()
        .filter_map(|row| match (row.scope.as_str(), row.role.as_str()) {
            ("store", "owner") => StoreId::parse(&row.scope_id).ok().map(|store_id| Role::StoreOwner { store_id }),
            ("store", "clerk") => StoreId::parse(&row.scope_id).ok().map(|store_id| Role::Clerk { store_id }),
            ("supplier", "staff") => {
                SupplierId::parse(&row.scope_id).ok().map(|supplier_id| Role::SupplierStaff { supplier_id })
            }
            _ => None,
        })
        .collect();
    let (operators, rejected) = operator_phones(&config::optional(env, "OPERATOR_PHONES").unwrap_or_default());
    if !rejected.is_empty() {
        worker::console_warn!("OPERATOR_PHONES has {} entries that are not phone numbers", rejected.len());
    }
    if operators.contains(&caller.phone) {
        roles.push(Role::Operator);
    }
    Access { roles }
}

/// A store the caller works at, or 404 as if it did not exist.
pub fn require_store(access: &Access, store: &str) -> Result<(StoreId, tandem_domain::access::StoreRight), ApiError> {
    let id = StoreId::parse(store).map_err(|_| ApiError::NotFound { resource: "store" })?;
    let right = access.store(&id).ok_or(ApiError::NotFound { resource: "store" })?;
    Ok((id, right))
}

/// A supplier the caller works for, or 404 as if it did not exist.
pub fn require_supplier(access: &Access, supplier: &str) -> Result<SupplierId, ApiError> {
    let id = SupplierId::parse(supplier).map_err(|_| ApiError::NotFound { resource: "supplier" })?;
    if access.supplier(&id) { Ok(id) } else { Err(ApiError::NotFound { resource: "supplier" }) }
}

pub fn require_operator(access: &Access) -> Result<(), ApiError> {
    if access.is_operator() { Ok(()) } else { Err(ApiError::NoRoute) }
}
