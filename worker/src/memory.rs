//! The card's memory in the Worker: whose behaviour a request is (a member, or a visitor who
//! consented), folding a checked batch of events into a profile (`profile::ingest` decides,
//! `store::profiles` reads and writes, a lost race is read and decided again), and what a
//! visitor did on this device moved to the member at sign-in.

use std::collections::BTreeSet;

use tandem_domain::api::Problem;
use tandem_domain::behaviour::Event;
use tandem_domain::profile::{self, IngestError, Profile};
use tandem_domain::time::Timestamp;
use worker::{Env, Request};

use crate::error::ApiError;
use crate::store::d1::D1;
use crate::store::profiles;
use crate::store::sql::Guarded;
use crate::{db, session};

/// The header an anonymous visitor's app sends its visitor id in.
pub const VISITOR_HEADER: &str = "x-tandem-visitor";
/// Tries of a profile update that lost a race to another batch for the same person.
const TRIES: usize = 5;

/// Whose behaviour it is: a signed-in member, or an anonymous visitor who consented.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Subject {
    Member(String),
    Visitor(String),
}

impl Subject {
    pub fn key(&self) -> String {
        match self {
            Subject::Member(id) => format!("m:{id}"),
            Subject::Visitor(id) => format!("v:{id}"),
        }
    }

    pub fn kind(&self) -> &'static str {
        match self {
            Subject::Member(_) => "member",
            Subject::Visitor(_) => "visitor",
        }
    }
}

fn well_formed_visitor(id: &str) -> bool {
    id.len() == 18 && id.starts_with("v-") && id[2..].bytes().all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
}

/// The request's subject: the session's member, else the visitor header's visitor.
pub async fn subject(env: &Env, req: &Request, now: Timestamp) -> Result<Option<Subject>, ApiError> {
    if session::token(req).is_some() {
        match session::caller(env, req, now).await {
            Ok(caller) => return Ok(Some(Subject::Member(caller.member_id))),
            Err(ApiError::Unauthenticated) => {}
            Err(other) => return Err(other),
        }
    }
    let visitor = req.headers().get(VISITOR_HEADER).ok().flatten();
    Ok(visitor.filter(|id| well_formed_visitor(id)).map(Subject::Visitor))
}

pub fn consent_required() -> ApiError {
    ApiError::refused(Problem::ConsentRequired, "the person has not agreed to their behaviour being recorded")
}

fn busy() -> ApiError {
    ApiError::refused(Problem::Busy, "the profile is being updated by another request; try again")
}

/// What an ingest did.
#[derive(Debug, serde::Serialize)]
pub struct Ingested {
    pub accepted: usize,
    pub duplicates: usize,
}

/// Records the new events of a checked batch (from `source`) and folds them into the subject's
/// profile, in one batch guarded by the profile's version.
pub async fn ingest(
    env: &Env,
    subject: &Subject,
    events: &[Event],
    source: &str,
    now: Timestamp,
) -> Result<Ingested, ApiError> {
    let db = db::database(env)?;
    let store = D1(&db);
    let key = subject.key();
    let config = profile::Config::default();
    for _ in 0..TRIES {
        let read = profiles::for_ingest(&store, &key, events).await?;
        let folded =
            profile::ingest(read.stored.consent, read.stored.profile, &read.known, &read.facts, events, &config)
                .map_err(|e| match e {
                    IngestError::NoConsent => consent_required(),
                    IngestError::UnknownProduct { index, ref product } => {
                        ApiError::bad_request(format!("events[{index}].product"), format!("unknown product {product}"))
                    }
                })?;
        let done = Ingested { accepted: folded.new.len(), duplicates: folded.duplicates };
        if folded.new.is_empty() {
            return Ok(done);
        }
        let written =
            profiles::record(&store, &key, (&folded.new, source), &folded.profile, read.stored.version, now).await?;
        if let Guarded::Written(()) = written {
            return Ok(done);
        }
    }
    Err(busy())
}

/// At sign-in: what an anonymous visitor did on this device becomes the member's. The
/// consented visitor's events, consent (unless the member has their own), card visits and clerk
/// attribution move to the member, and the member's profile is rebuilt from all their events
/// with both sets of removed tags kept removed. Safe to run again: moved rows are gone from
/// the visitor.
pub async fn merge_visitor(env: &Env, req: &Request, member: &str, now: Timestamp) -> Result<(), ApiError> {
    let to = format!("m:{member}");
    let Some(visitor) = req.headers().get(VISITOR_HEADER).ok().flatten().filter(|id| well_formed_visitor(id)) else {
        return Ok(());
    };
    let from = [format!("v:{visitor}")];
    let db = db::database(env)?;
    let store = D1(&db);
    let (muted, moved_events) = profiles::visitor_state(&store, &from[0]).await?;
    profiles::merge(&store, &from, &to).await?;
    if moved_events {
        rebuild_profile(&store, &to, &muted, now).await?;
    }
    Ok(())
}

/// Rebuilds a subject's profile from all their stored events, keeping its removed tags and
/// adding `muted`, under the profile's version guard.
async fn rebuild_profile(store: &D1<'_>, key: &str, muted: &BTreeSet<String>, now: Timestamp) -> Result<(), ApiError> {
    let config = profile::Config::default();
    for _ in 0..TRIES {
        let read = profiles::for_rebuild(store, key).await?;
        let mut all_muted = read.muted;
        all_muted.extend(muted.iter().cloned());
        let rebuilt = Profile::rebuild(
            read.events.iter().map(|e| (e, e.what.product().and_then(|p| read.facts.get(p.as_str())))),
            all_muted,
            &config,
        );
        if profiles::save_profile(store, key, &rebuilt, read.version, now).await?.written() {
            return Ok(());
        }
    }
    Err(busy())
}
