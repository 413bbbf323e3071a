//! The AI business card over HTTP: a card by its code, its vCard, visits (which attribute the
//! visitor to a clerk, bind them as the distribution rules say, and at a store's door record a
//! check-in), the owner's editing and photo, the visitor radar, a store's card and door code,
//! and the pages `/c/{code}`, `/p/{id}` and `/i/{code}` (the invite link) with their Open Graph
//! meta (`card::PageMeta` says what they preview).

use tandem_domain::api::Problem;
use tandem_domain::api::cards::VisitRequest;
use tandem_domain::api::cards::{CardAnswer, CardLinks, MyCard, PhotoAnswer, Radar, StoreCard, Visited};
use tandem_domain::behaviour::{Event, EventId, What};
use tandem_domain::card::{
    self, CardForm, CardOwner, CardView, Featured, Opener, PageMeta, Role, StoreRef, Visit, VisitKind, well_formed_code,
};
use tandem_domain::catalog::{ProductId, StoreId, Text};
use tandem_domain::crypto;
use tandem_domain::fulfilment;
use tandem_domain::time::Timestamp;
use worker::{Env, Request, Response};

use super::json_response;
use crate::error::ApiError;
use crate::memory::{self, Subject};
use crate::session::REF_COOKIE;
use crate::session::{self, caller_with_access, require_store};
use crate::store::cards::{self as stored, CardRow, Holder, PersonRow, Showing, VisitRow, VisitWrite};
use crate::store::d1::D1;
use crate::{body, chain, config, db};

/// Radar and attribution look this far back.
const RADAR_DAYS: i64 = 90;

/// Whose card a code is, as read from D1.
struct Owner {
    code: String,
    role: Role,
    /// The person's member id (none for a store's card).
    member: Option<String>,
    name: String,
    phone: Option<String>,
    store: Option<String>,
    card: Option<CardRow>,
}

impl Owner {
    /// The product ids the owner featured, in their order.
    fn featured_ids(&self) -> Result<Vec<String>, ApiError> {
        match &self.card {
            Some(card) => serde_json::from_str(&card.featured).map_err(ApiError::internal),
            None => Ok(Vec::new()),
        }
    }

    fn as_card_owner(&self) -> CardOwner<'_> {
        CardOwner { code: &self.code, role: self.role, member: self.member.as_deref(), store: self.store.as_deref() }
    }
}

/// Reads the owner of `code`: a store's card, or a person's (by invite code). `None` when the
/// code is nobody's.
async fn owner_of(env: &Env, db: &worker::D1Database, code: &str) -> Result<Option<Owner>, ApiError> {
    if !well_formed_code(code) {
        return Ok(None);
    }
    Ok(match stored::holder(&D1(db), code).await? {
        None => None,
        Some(Holder::Store(card)) => Some(Owner {
            code: card.code.clone(),
            role: Role::Store,
            member: None,
            name: String::new(),
            phone: None,
            store: card.store_id.clone(),
            card: Some(card),
        }),
        Some(Holder::Person(person, card)) => Some(person_owner(env, person, card)?),
    })
}

fn person_owner(env: &Env, person: PersonRow, card: Option<CardRow>) -> Result<Owner, ApiError> {
    let phone = session::open_phone(env, &person.phone_enc)?;
    let role = Role::of_person(person.staff_role.as_deref(), &person.identity);
    let shown_phone = card.as_ref().filter(|c| c.show_phone == 1).map(|_| phone.as_str()[3..].to_owned());
    Ok(Owner {
        code: person.invite_code,
        role,
        member: Some(person.member_id),
        name: person.display_name.unwrap_or_else(|| phone.masked()),
        phone: shown_phone,
        store: person.staff_store,
        card,
    })
}

/// The card as shown: the owner, their store, their featured products (or, on a store's card
/// with none chosen, the first of its shelf) priced at their store.
/// The card of `owner`, when there is one (a page's preview for a code that may be nobody's).
async fn view_if(db: &worker::D1Database, owner: Option<&Owner>) -> Result<Option<CardView>, ApiError> {
    match owner {
        Some(owner) => Ok(Some(view_of(db, owner).await?)),
        None => Ok(None),
    }
}

async fn view_of(db: &worker::D1Database, owner: &Owner) -> Result<CardView, ApiError> {
    let featured_ids = owner.featured_ids()?;
    let showing = if featured_ids.is_empty() && owner.role == Role::Store {
        Showing::FirstListed
    } else {
        Showing::Chosen(&featured_ids)
    };
    let (store, rows) = stored::shown(&D1(db), owner.store.as_deref(), showing).await?;
    let store = store.and_then(|s| {
        let (name, address) = stored::store_text(&s);
        Some(StoreRef { id: StoreId::parse(&s.id).ok()?, name, address })
    });
    // The owner's order, not the shelf's.
    let position = |id: &str| featured_ids.iter().position(|f| f == id).unwrap_or(usize::MAX);
    let mut featured: Vec<Featured> = rows
        .into_iter()
        .filter_map(|row| {
            Some(Featured {
                product_id: ProductId::parse(&row.id).ok()?,
                name: Text::new(row.name_zh, row.name_en),
                price_from_fen: row.price_from_fen,
                image: row.image,
            })
        })
        .collect();
    featured.sort_by_key(|f| position(f.product_id.as_str()));
    let name = match (&store, owner.role) {
        (Some(store), Role::Store) => store.name.zh.clone(),
        _ => owner.name.clone(),
    };
    let card = owner.card.as_ref();
    Ok(CardView {
        code: owner.code.clone(),
        role: owner.role,
        role_label: owner.role.label(),
        initials: card::initials(&name, &owner.role.label().zh.chars().last().map(String::from).unwrap_or_default()),
        name,
        photo: card.and_then(|c| c.photo.clone()),
        title: card.and_then(|c| c.title.clone()),
        bio: card.and_then(|c| c.bio.clone()),
        store,
        phone: owner.phone.clone(),
        wechat: card.and_then(|c| c.wechat.clone()),
        email: card.and_then(|c| c.email.clone()),
        featured,
    })
}

async fn card_view(env: &Env, code: &str) -> Result<(Owner, CardView), ApiError> {
    let db = db::database(env)?;
    let owner = owner_of(env, &db, code).await?.ok_or(ApiError::NotFound { resource: "card" })?;
    let view = view_of(&db, &owner).await?;
    Ok((owner, view))
}

/// `GET /api/cards/{code}`: a card, for anyone.
pub async fn get(env: &Env, code: &str) -> Result<Response, ApiError> {
    let (_, view) = card_view(env, code).await?;
    json_response(200, &CardAnswer::of(view), "no-store")
}

/// `GET /api/cards/{code}/vcard`: the card as a contact file (`?lang=en` for English).
pub async fn vcard(env: &Env, req: &Request, code: &str, query: &[(&str, &str)]) -> Result<Response, ApiError> {
    let (_, view) = card_view(env, code).await?;
    let en = query.iter().any(|(k, v)| *k == "lang" && *v == "en");
    let url = req.url().map_err(ApiError::internal)?;
    let text = card::vcard(&view, &format!("{}/c/{}", url.origin().ascii_serialization(), view.code), en);
    let mut response = Response::ok(text).map_err(ApiError::internal)?;
    let headers = response.headers_mut();
    headers.set("content-type", "text/vcard; charset=utf-8").map_err(ApiError::internal)?;
    headers
        .set("content-disposition", &format!("attachment; filename=\"{}.vcf\"", view.code))
        .map_err(ApiError::internal)?;
    headers.set("cache-control", "no-store").map_err(ApiError::internal)?;
    Ok(response)
}

/// `POST /api/cards/{code}/visits`: someone opened a card (`card`), a product shared from it
/// (`product`, naming it) or scanned a store's door code (`door`). The visit is recorded for
/// the radar; a clerk's or store manager's card attributes the visitor to them (the first
/// clerk per store keeps them); a person's card binds the visitor as an invite link does; a
/// door scan by someone who agreed to be remembered records a check-in (once a day).
pub async fn visit(env: &Env, req: &Request, code: &str, text: &str, now: Timestamp) -> Result<Response, ApiError> {
    let form: VisitRequest = body::parse_json(text)?;
    let kind = VisitKind::parse(&form.kind).ok_or_else(|| ApiError::bad_request("kind", "card, product or door"))?;
    let product = match (kind, form.product.as_deref()) {
        (VisitKind::Product, Some(id)) => {
            Some(ProductId::parse(id).map_err(|_| ApiError::bad_request("product", "not a product id"))?)
        }
        (VisitKind::Product, None) => return Err(ApiError::bad_request("product", "missing")),
        (_, Some(_)) => return Err(ApiError::bad_request("product", "only a product visit names a product")),
        (_, None) => None,
    };
    let db = db::database(env)?;
    let owner = owner_of(env, &db, code).await?.ok_or(ApiError::NotFound { resource: "card" })?;
    let subject = memory::subject(env, req, now).await?;
    let who = match &subject {
        Some(Subject::Member(member)) => Opener::Member(member),
        Some(Subject::Visitor(_)) => Opener::Consented,
        None => Opener::Anonymous,
    };
    let opened =
        card::open(&owner.as_card_owner(), who, kind).map_err(|e| ApiError::bad_request("kind", e.to_string()))?;
    let mut cookies: Vec<String> = Vec::new();
    if let (true, Some(subject)) = (opened.recorded, &subject) {
        let visit = VisitWrite {
            code: &owner.code,
            visitor: &subject.key(),
            kind: kind.code(),
            product: product.as_ref(),
            attribute: opened.attribute.as_ref().map(|(store, clerk)| (store.as_str(), clerk.as_str())),
        };
        stored::record_visit(&D1(&db), visit, now).await?;
    }
    if opened.remember_code {
        cookies.push(format!("{REF_COOKIE}={}; Path=/; HttpOnly; SameSite=Lax; Max-Age={}", owner.code, 30 * 86_400));
    }
    if let Some(member) = &opened.bind {
        chain::bind_member(&db, member, &owner.code, now).await?;
    }
    let mut checked_in = false;
    if let (Some(store), Some(subject)) = (&opened.check_in, &subject) {
        let store = StoreId::parse(store).map_err(ApiError::internal)?;
        let day = now.millis().div_euclid(Timestamp::DAY_MS);
        let id = EventId::parse(&format!("door-{store}-{day}")).ok_or_else(|| ApiError::internal("door event id"))?;
        let event = Event { id, at: now, what: What::CheckIn { store: store.clone() } };
        match memory::ingest(env, subject, &[event], &format!("door:{store}"), now).await {
            Ok(ingested) => checked_in = ingested.accepted == 1,
            // Not remembered without consent: the visit above is all that is kept.
            Err(ApiError::Refused { problem: Problem::ConsentRequired, .. }) => {}
            Err(other) => return Err(other),
        }
    }
    let own_card = opened.own_card;
    let attributed = opened.attribute.is_some();
    let visitor = if subject.is_some() { "known" } else { "anonymous" };
    let body = Visited { recorded: opened.recorded, own_card, attributed, checked_in, visitor: visitor.to_owned() };
    let mut response = json_response(200, &body, "no-store")?;
    for cookie in cookies {
        response.headers_mut().append("set-cookie", &cookie).map_err(ApiError::internal)?;
    }
    Ok(response)
}

/// An invite link was opened by `visitor` (`m:…` or `anon:…`): it shows on the owner's radar
/// and attributes the visitor as the card would.
async fn invite_opened(
    db: &worker::D1Database,
    owner: Option<&Owner>,
    visitor: &str,
    now: Timestamp,
) -> Result<(), ApiError> {
    let Some(owner) = owner else { return Ok(()) };
    let who = match visitor.strip_prefix("m:") {
        Some(member) => Opener::Member(member),
        None => Opener::Anonymous,
    };
    let opened = card::open(&owner.as_card_owner(), who, VisitKind::Card).map_err(ApiError::internal)?;
    if opened.recorded {
        let visit = VisitWrite {
            code: &owner.code,
            visitor,
            kind: VisitKind::Card.code(),
            product: None,
            attribute: opened.attribute.as_ref().map(|(store, clerk)| (store.as_str(), clerk.as_str())),
        };
        stored::record_visit(&D1(db), visit, now).await?;
    }
    Ok(())
}

/// The caller's own card owner (every signed-in member has a code).
async fn my_owner(env: &Env, req: &Request, now: Timestamp) -> Result<(Owner, worker::D1Database), ApiError> {
    let caller = session::caller(env, req, now).await?;
    let db = db::database(env)?;
    let (person, card) = stored::own(&D1(&db), &caller.member_id, &chain::new_invite_code()?, now).await?;
    let owner = person_owner(env, person, card)?;
    Ok((owner, db))
}

/// `GET /api/me/card`: the caller's card, as others see it, with its links.
pub async fn mine(env: &Env, req: &Request, now: Timestamp) -> Result<Response, ApiError> {
    let (owner, db) = my_owner(env, req, now).await?;
    let view = view_of(&db, &owner).await?;
    let show_phone = owner.card.as_ref().is_some_and(|c| c.show_phone == 1);
    let featured = owner.featured_ids()?;
    let links = CardLinks::of(&view);
    json_response(200, &MyCard { card: view, links, show_phone, featured_ids: featured }, "no-store")
}

/// `PUT /api/me/card`: the caller edits their card (title, bio, WeChat, email, whether the
/// phone shows, featured products — each must be on some store's shelf).
pub async fn edit(env: &Env, req: &Request, text: &str, now: Timestamp) -> Result<Response, ApiError> {
    let form: CardForm = body::parse_json(text)?;
    let edit = card::check(form).map_err(|e| ApiError::bad_request(e.field, e.message))?;
    let (owner, db) = my_owner(env, req, now).await?;
    let member = owner.member.clone().ok_or_else(|| ApiError::internal("a person's card without a member"))?;
    let ids: Vec<&str> = edit.featured.iter().map(ProductId::as_str).collect();
    let store = D1(&db);
    if let Some(missing) = stored::first_unshelved(&store, &ids).await? {
        return Err(ApiError::bad_request("featured", format!("{missing} is on no store's shelf")));
    }
    let saved = stored::CardEdit {
        title: edit.title.as_deref(),
        bio: edit.bio.as_deref(),
        wechat: edit.wechat.as_deref(),
        email: edit.email.as_deref(),
        show_phone: edit.show_phone,
        featured: &ids,
    };
    stored::save(&store, (&owner.code, &member), saved, now).await?;
    mine(env, req, now).await
}

/// `PUT /api/me/card/photo`: the card's photo as the raw body (PNG, JPEG or WebP, at most
/// 1 MiB). The old photo's bytes are removed.
pub async fn upload_photo(req: &mut Request, env: &Env, now: Timestamp) -> Result<Response, ApiError> {
    crate::pictures::refuse_declared_oversize(req)?;
    let (owner, db) = my_owner(env, req, now).await?;
    let member = owner.member.clone().ok_or_else(|| ApiError::internal("a person's card without a member"))?;
    let (bytes, format) = crate::pictures::read_picture(req).await?;
    let key = format!("card-{}-{}", owner.code.to_ascii_lowercase(), crypto::hex(&config::random_bytes::<8>()?));
    crate::pictures::put_picture(env, &key, &bytes, format.content_type()).await?;
    let url = format!("/api/media/{key}");
    let old = stored::set_photo(&D1(&db), (&owner.code, &member), &url, now).await?;
    if let Some(old_key) = old.as_deref().and_then(|p| p.strip_prefix("/api/media/")) {
        let kv = env.kv("KV").map_err(ApiError::internal)?;
        kv.delete(&format!("media:{old_key}")).await.map_err(ApiError::internal)?;
    }
    json_response(200, &PhotoAnswer { photo: url, bytes: bytes.len() }, "no-store")
}

/// A visitor's name as the radar shows it: a member's chosen name or masked phone, else a
/// short handle of an anonymous key.
fn visitor_name(env: &Env, row: &VisitRow) -> (String, bool) {
    if let Some(name) = &row.display_name {
        return (name.clone(), true);
    }
    if let Some(phone) = row.phone_enc.as_deref().and_then(|sealed| session::open_phone(env, sealed).ok()) {
        return (phone.masked(), true);
    }
    let handle = crypto::sha256_hex(row.visitor.as_bytes());
    (format!("访客 · {}", &handle[..4]), false)
}

fn radar_of(env: &Env, rows: Vec<VisitRow>, now: Timestamp) -> Vec<card::RadarEntry> {
    let visits = rows
        .into_iter()
        .filter_map(|row| {
            let kind = VisitKind::parse(&row.kind)?;
            let (name, known) = visitor_name(env, &row);
            let handle = crypto::sha256_hex(row.visitor.as_bytes())[..12].to_owned();
            let product = row.product_id.as_deref().and_then(|p| ProductId::parse(p).ok());
            Some((handle, name, known, Visit { at: Timestamp(row.at), kind, product }))
        })
        .collect();
    card::radar(visits, now)
}

/// `GET /api/me/radar`: who opened the caller's card or products shared from it, with their
/// interest; for a clerk, also the customers attributed to them and their visits to the store.
pub async fn radar(env: &Env, req: &Request, now: Timestamp) -> Result<Response, ApiError> {
    let (owner, db) = my_owner(env, req, now).await?;
    let member = owner.member.clone().ok_or_else(|| ApiError::internal("a person's card without a member"))?;
    let (visits, attributed) = stored::radar(&D1(&db), &owner.code, &member, now.plus_days(-RADAR_DAYS)).await?;
    let visitors = radar_of(env, visits, now);
    let customers = radar_of(env, attributed, now);
    json_response(200, &Radar { code: owner.code, role: owner.role, visitors, customers }, "no-store")
}

/// `GET /api/store/{id}/card`: the store's card, its door code and both QR codes (staff).
pub async fn store_card(env: &Env, req: &Request, store: &str, now: Timestamp) -> Result<Response, ApiError> {
    let (_, access) = caller_with_access(env, req, now).await?;
    let (store, _) = require_store(&access, store)?;
    let db = db::database(env)?;
    let fresh = card::code_of(&config::random_bytes::<{ card::STORE_CODE_LEN }>()?);
    let code = stored::store_code(&D1(&db), &store, &fresh, now).await?;
    let (_, view) = card_view(env, &code).await?;
    let origin = req.url().map_err(ApiError::internal)?.origin().ascii_serialization();
    let card_url = format!("{origin}/c/{code}");
    let door_url = format!("{origin}/c/{code}?door=1");
    let (card_qr_svg, door_qr_svg) = (fulfilment::qr_svg(&card_url), fulfilment::qr_svg(&door_url));
    let links = CardLinks::of(&view);
    json_response(200, &StoreCard { card: view, links, card_url, door_url, card_qr_svg, door_qr_svg }, "no-store")
}

/// The app's `index.html`, as the static assets serve it.
async fn index_html(env: &Env, req: &Request) -> Result<String, ApiError> {
    let origin = req.url().map_err(ApiError::internal)?.origin().ascii_serialization();
    let assets = env.assets("ASSETS").map_err(ApiError::internal)?;
    let mut response = assets.fetch(format!("{origin}/"), None).await.map_err(ApiError::internal)?;
    response.text().await.map_err(ApiError::internal)
}

/// An HTML page: the app's `index.html` with the route's meta (and, where the app should move
/// on at once, the address it lands on).
async fn page(
    env: &Env,
    req: &Request,
    meta: &PageMeta,
    land: Option<&str>,
    cookies: &[String],
) -> Result<Response, ApiError> {
    let mut html = card::fill_meta(&index_html(env, req).await?, meta);
    if let Some(land) = land {
        let tag = format!("  <meta name=\"tandem:land\" content=\"{}\">\n</head>", land.replace('"', "%22"));
        html = html.replacen("</head>", &tag, 1);
    }
    let mut response = Response::from_html(html).map_err(ApiError::internal)?;
    let headers = response.headers_mut();
    headers.set("cache-control", "no-store").map_err(ApiError::internal)?;
    for cookie in cookies {
        headers.append("set-cookie", cookie).map_err(ApiError::internal)?;
    }
    Ok(response)
}

/// `GET /c/{code}`: the card page, its preview naming the person, their role and store.
pub async fn card_page(env: &Env, req: &Request, code: &str) -> Result<Response, ApiError> {
    let url = req.url().map_err(ApiError::internal)?;
    let db = db::database(env)?;
    let view = view_if(&db, owner_of(env, &db, code).await?.as_ref()).await?;
    let meta = PageMeta::card(view.as_ref(), &url.origin().ascii_serialization(), url.as_str());
    page(env, req, &meta, None, &[]).await
}

/// `GET /p/{id}`: a product page, its preview naming the product, its price and picture.
pub async fn product_page(env: &Env, req: &Request, id: &str) -> Result<Response, ApiError> {
    let url = req.url().map_err(ApiError::internal)?;
    let store = url.query_pairs().find(|(k, _)| k == "store").map(|(_, v)| v.into_owned());
    let db = db::database(env)?;
    let preview = match ProductId::parse(id) {
        Ok(id) => stored::product_meta(&D1(&db), &id, store.as_deref()).await?,
        Err(_) => None,
    };
    let meta = PageMeta::product(preview.as_ref(), &url.origin().ascii_serialization(), url.as_str());
    page(env, req, &meta, None, &[]).await
}

/// A 302 to the storefront's first page.
fn redirect_home() -> Result<Response, ApiError> {
    let mut response = Response::empty().map_err(ApiError::internal)?.with_status(302);
    let headers = response.headers_mut();
    headers.set("location", "/").map_err(ApiError::internal)?;
    headers.set("cache-control", "no-store").map_err(ApiError::internal)?;
    Ok(response)
}

/// `GET /i/{code}`: a sharer's invite link. A signed-in visitor is bound at once (if the rules
/// allow) and their visit recorded (on the inviter's radar, attributing as their card would);
/// anyone else keeps the code in a cookie until sign-in, and nothing of them is recorded. The
/// answer is the app's page with the inviter's preview meta, which moves on to the inviter's
/// store's shelf (the store picker when they have none).
pub async fn invite_page(env: &Env, req: &Request, code: &str, now: Timestamp) -> Result<Response, ApiError> {
    if !well_formed_code(code) {
        return redirect_home();
    }
    let origin = req.url().map_err(ApiError::internal)?.origin().ascii_serialization();
    let db = db::database(env)?;
    let owner = owner_of(env, &db, code).await?.filter(|o| o.member.is_some());
    let view = view_if(&db, owner.as_ref()).await?;
    let (meta, land) = PageMeta::invite(view.as_ref(), &origin);
    let land = land.unwrap_or_else(|| "/".to_owned());
    if let Ok(caller) = session::caller(env, req, now).await {
        chain::bind_member(&db, &caller.member_id, code, now).await?;
        invite_opened(&db, owner.as_ref(), &format!("m:{}", caller.member_id), now).await?;
        return page(env, req, &meta, Some(&land), &[]).await;
    }
    // Someone not signed in: nothing is recorded before they agree; the code waits in a cookie
    // to bind them when they sign in (a visit of the link then).
    let cookies = [format!("{REF_COOKIE}={code}; Path=/; HttpOnly; SameSite=Lax; Max-Age={}", 30 * 86_400)];
    page(env, req, &meta, Some(&land), &cookies).await
}
