//! The distribution network in the Worker: binding a member to a sharer (the domain decides,
//! `store::chain` reads and writes, a lost race is read and decided again), and fresh invite
//! codes. What a payment does to the network is `domain::chain21::paying`'s, written by
//! `store::chain` in the payment's own batch.

use tandem_domain::api::Problem;
use tandem_domain::api::sharers::{PERIOD_DAYS, TeamMember};
use tandem_domain::auth::Phone;
use tandem_domain::chain21::binding::{self, Binding};
use tandem_domain::time::Timestamp;
use worker::{D1Database, Env};

use crate::config;
use crate::error::ApiError;
use crate::store::chain as network;
use crate::store::d1::D1;
use crate::store::sharers::{self, Listing};
use crate::store::sql::Guarded;

/// A fresh invite code (the person's card code too).
pub fn new_invite_code() -> Result<String, ApiError> {
    Ok(tandem_domain::card::code_of(&config::random_bytes::<{ tandem_domain::card::PERSON_CODE_LEN }>()?))
}

/// Binds `member_id` to the owner of invite code `code` when the distribution rules allow it
/// (`chain21::binding::decide`: unbound, never paid, not to itself, not into a cycle; the first
/// binding wins). The binding is written guarded by the versions of the member and of the
/// sharer's chain as read; when another binding or a payment changed them meanwhile, it is
/// read and decided again.
/// `None` when the member or the code has no place in the network.
pub async fn bind_member(
    db: &D1Database,
    member_id: &str,
    code: &str,
    now: Timestamp,
) -> Result<Option<Binding<String>>, ApiError> {
    let store = D1(db);
    for _ in 0..20 {
        let read = network::for_binding(&store, member_id, code).await?;
        let (Some((current, has_paid)), Some(sharer)) = (&read.member, &read.sharer) else { return Ok(None) };
        let member = member_id.to_owned();
        let decision =
            binding::decide(&member, current.as_ref(), *has_paid, sharer, || read.sharer_upline.contains(&member));
        if decision != Binding::Binds {
            // The member opened the link all the same: a visitor of it (never of its own).
            if sharer != member_id {
                network::record_visit(&store, sharer, member_id, now).await?;
            }
            return Ok(Some(decision));
        }
        if let Guarded::Written(()) = network::bind(&store, &read, member_id, sharer, now).await? {
            return Ok(Some(Binding::Binds));
        }
    }
    Err(ApiError::refused(Problem::Busy, "the network is busy; try again"))
}

/// The members of `listing` with their figures over the trailing [`PERIOD_DAYS`], each named by
/// the name it chose or else its masked phone number.
pub async fn team(
    env: &Env,
    db: &D1Database,
    listing: Listing<'_>,
    now: Timestamp,
) -> Result<Vec<TeamMember>, ApiError> {
    let key = config::key(env, "PHONE_ENC_KEY")?;
    let rows = sharers::team(&D1(db), listing, now.plus_days(-PERIOD_DAYS)).await?;
    Ok(rows
        .into_iter()
        .map(|mut row| {
            if row.place.name.is_none() {
                row.place.name = tandem_domain::crypto::open(&key, &row.phone_sealed)
                    .and_then(|bytes| String::from_utf8(bytes).ok())
                    .and_then(|text| Phone::parse(&text).ok())
                    .map(|phone| phone.masked());
            }
            TeamMember::of(row.place, row.counts)
        })
        .collect())
}
