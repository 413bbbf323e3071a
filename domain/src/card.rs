//! The AI business card: one code per person or store ("一人一码"). What a card says and how its
//! owner edits it, the vCard it downloads as, the Open Graph meta a shared link previews with,
//! and the visitor radar: who opened a card or a product shared from it, and how interested they
//! seem.

use serde::{Deserialize, Serialize};

use crate::catalog::{ProductId, StoreId, Text};
use crate::time::Timestamp;

/// At most this many products on a card.
pub const MAX_FEATURED: usize = 6;

/// A person's code (their invite code) is this long; a store's is [`STORE_CODE_LEN`], so the
/// two kinds never collide.
pub const PERSON_CODE_LEN: usize = 8;
pub const STORE_CODE_LEN: usize = 10;

/// A code from random bytes, one character per byte, in an alphabet without look-alikes
/// (no 0/o, 1/l/i).
pub fn code_of(random: &[u8]) -> String {
    const ALPHABET: &[u8] = b"23456789abcdefghjkmnpqrstuvwxyz";
    random.iter().map(|b| char::from(ALPHABET[usize::from(*b) % ALPHABET.len()])).collect()
}

/// A stable code from a seed (the demo's people and stores, so printed codes keep working
/// across seedings): `invite:{phone}` for a person, `store-card:{store id}` for a store.
pub fn seeded_code(seed: &str, len: usize) -> String {
    let digest = crate::crypto::sha256_hex(seed.as_bytes());
    code_of(&digest.as_bytes()[..len.min(digest.len())])
}

/// Whether a text can be a card code (anything else is not looked up).
pub fn well_formed_code(code: &str) -> bool {
    (6..=16).contains(&code.len()) && code.bytes().all(|b| b.is_ascii_alphanumeric())
}

/// Who a card belongs to; the role shown under the name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "schema", schemars(rename = "CardRole"))]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Shopper,
    Sharer,
    Clerk,
    Owner,
    Store,
}

impl Role {
    pub fn label(self) -> Text {
        match self {
            Role::Shopper => Text::new("会员", "Member"),
            Role::Sharer => Text::new("分享达人", "Sharer"),
            Role::Clerk => Text::new("店员", "Shop assistant"),
            Role::Owner => Text::new("店长", "Store manager"),
            Role::Store => Text::new("门店", "Store"),
        }
    }

    /// A card of this role attributes the customers who open it to its owner.
    pub fn attributes_customers(self) -> bool {
        matches!(self, Role::Clerk | Role::Owner)
    }
}

impl Role {
    /// A person's role: from where they work (`staff_role`, `owner` or `clerk`, at their first
    /// store), else from their place in the network (`identity`).
    pub fn of_person(staff_role: Option<&str>, identity: &str) -> Role {
        match (staff_role, identity) {
            (Some("owner"), _) => Role::Owner,
            (Some(_), _) => Role::Clerk,
            (None, "agent" | "partner") => Role::Sharer,
            (None, _) => Role::Shopper,
        }
    }
}

/// The owner of a card, as a visit sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CardOwner<'a> {
    pub code: &'a str,
    pub role: Role,
    /// A person's member id (none for a store's card).
    pub member: Option<&'a str>,
    /// The store of a store's card, or where the person works.
    pub store: Option<&'a str>,
}

/// Who opens a card.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Opener<'a> {
    /// A signed-in member.
    Member(&'a str),
    /// A visitor who agreed to be remembered.
    Consented,
    /// A browser that did not.
    Anonymous,
}

/// What opening a card leads to, for its owner and for whoever opened it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Opened {
    /// The owner opened their own card: nothing is recorded.
    pub own_card: bool,
    /// The visit goes on the owner's radar: a member's or a consented visitor's, never an
    /// anonymous browser's.
    pub recorded: bool,
    /// The visitor is attributed to this clerk (the owner) at this store; the first clerk per
    /// store keeps them.
    pub attribute: Option<(String, String)>,
    /// A person's card binds like an invite: a member at once (as the rules allow) …
    pub bind: Option<String>,
    /// … anyone else when they sign in, the code kept in a cookie until then.
    pub remember_code: bool,
    /// A door scan: a check-in at this store, for a visitor who agreed to be remembered.
    pub check_in: Option<String>,
}

/// Why a visit is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum VisitRefused {
    #[error("only a store's card has a door code")]
    NoDoor,
}

/// What `opener` opening `owner`'s card (`kind`) leads to.
pub fn open(owner: &CardOwner<'_>, opener: Opener<'_>, kind: VisitKind) -> Result<Opened, VisitRefused> {
    if kind == VisitKind::Door && owner.role != Role::Store {
        return Err(VisitRefused::NoDoor);
    }
    let own_card = matches!((opener, owner.member), (Opener::Member(m), Some(owner)) if m == owner);
    // Nothing is recorded of a browser whose person has not agreed to be remembered.
    let recorded = !own_card && opener != Opener::Anonymous;
    let attribute = match (recorded && owner.role.attributes_customers(), owner.member, owner.store) {
        (true, Some(clerk), Some(store)) => Some((store.to_owned(), clerk.to_owned())),
        _ => None,
    };
    let invites = !own_card && owner.member.is_some();
    let bind = match opener {
        Opener::Member(member) if invites => Some(member.to_owned()),
        _ => None,
    };
    let remember_code = invites && !matches!(opener, Opener::Member(_));
    let check_in = match (kind, opener, owner.store) {
        (VisitKind::Door, Opener::Member(_) | Opener::Consented, Some(store)) => Some(store.to_owned()),
        _ => None,
    };
    Ok(Opened { own_card, recorded, attribute, bind, remember_code, check_in })
}

/// The card's editable part, as its owner sends it (`PUT /api/me/card`). Empty strings clear a
/// field.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct CardForm {
    #[serde(default)]
    pub title: Option<String>,
    #[serde(default)]
    pub bio: Option<String>,
    #[serde(default)]
    pub wechat: Option<String>,
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub show_phone: bool,
    #[serde(default)]
    pub featured: Vec<String>,
}

/// A checked card edit.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct CardEdit {
    pub title: Option<String>,
    pub bio: Option<String>,
    pub wechat: Option<String>,
    pub email: Option<String>,
    pub show_phone: bool,
    pub featured: Vec<ProductId>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct CardError {
    pub field: &'static str,
    pub message: String,
}

fn refuse(field: &'static str, message: impl Into<String>) -> CardError {
    CardError { field, message: message.into() }
}

/// A trimmed optional text of at most `max` characters without control characters (line
/// breaks allowed where `lines`); empty is `None`.
fn text_field(
    field: &'static str,
    value: Option<String>,
    max: usize,
    lines: bool,
) -> Result<Option<String>, CardError> {
    let Some(value) = value.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty()) else { return Ok(None) };
    if value.chars().count() > max {
        return Err(refuse(field, format!("at most {max} characters")));
    }
    if value.chars().any(|c| c.is_control() && !(lines && c == '\n')) {
        return Err(refuse(field, "no control characters"));
    }
    Ok(Some(value))
}

/// Checks a card edit: a title of at most 30 characters, a bio of at most 200 (lines allowed),
/// a WeChat id as WeChat makes them (a letter, then 5 to 19 letters, digits, `_` or `-`), an
/// email address, and at most [`MAX_FEATURED`] distinct products.
pub fn check(form: CardForm) -> Result<CardEdit, CardError> {
    let title = text_field("title", form.title, 30, false)?;
    let bio = text_field("bio", form.bio.map(|b| b.replace("\r\n", "\n")), 200, true)?;
    let wechat = text_field("wechat", form.wechat, 20, false)?;
    if let Some(id) = &wechat {
        let mut chars = id.chars();
        let starts_with_letter = chars.next().is_some_and(|c| c.is_ascii_alphabetic());
        let rest_ok = chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
        if !starts_with_letter || !rest_ok || id.len() < 6 {
            return Err(refuse("wechat", "6 to 20 letters, digits, _ or -, starting with a letter"));
        }
    }
    let email = text_field("email", form.email, 80, false)?;
    if let Some(address) = &email {
        let well_formed = address.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty()
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
                && !domain.contains('@')
                && !address.contains(char::is_whitespace)
        });
        if !well_formed {
            return Err(refuse("email", "not an email address"));
        }
    }
    if form.featured.len() > MAX_FEATURED {
        return Err(refuse("featured", format!("at most {MAX_FEATURED} products")));
    }
    let mut featured: Vec<ProductId> = Vec::with_capacity(form.featured.len());
    for raw in &form.featured {
        let id = ProductId::parse(raw).map_err(|_| refuse("featured", format!("{raw:?} is not a product id")))?;
        if featured.contains(&id) {
            return Err(refuse("featured", format!("{id} is listed twice")));
        }
        featured.push(id);
    }
    Ok(CardEdit { title, bio, wechat, email, show_phone: form.show_phone, featured })
}

/// A product on a card.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Featured {
    pub product_id: ProductId,
    pub name: Text,
    pub price_from_fen: i64,
    pub image: Option<String>,
}

/// A store as a card names it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct StoreRef {
    pub id: StoreId,
    pub name: Text,
    pub address: Text,
}

/// The card as `GET /api/cards/{code}` answers it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct CardView {
    pub code: String,
    pub role: Role,
    pub role_label: Text,
    pub name: String,
    /// One or two characters for the picture when there is no photo.
    pub initials: String,
    pub photo: Option<String>,
    pub title: Option<String>,
    pub bio: Option<String>,
    pub store: Option<StoreRef>,
    /// Only when the owner chose to show it.
    pub phone: Option<String>,
    pub wechat: Option<String>,
    pub email: Option<String>,
    pub featured: Vec<Featured>,
}

/// The initials of a name: the last character of a Chinese name (the given name's), or the
/// first letters of up to two words; `fallback` when the name has no letters (a masked phone).
pub fn initials(name: &str, fallback: &str) -> String {
    let name = name.trim();
    if let Some(last) = name.chars().rfind(|c| *c as u32 >= 0x2E80) {
        return last.to_string();
    }
    let letters: String =
        name.split_whitespace().filter_map(|w| w.chars().find(|c| c.is_alphabetic())).take(2).collect();
    if letters.is_empty() { fallback.to_owned() } else { letters.to_uppercase() }
}

/// Escapes a vCard value (RFC 6350 §3.4).
fn vcard_escape(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            ',' => out.push_str("\\,"),
            ';' => out.push_str("\\;"),
            '\n' => out.push_str("\\n"),
            '\r' => {}
            c => out.push(c),
        }
    }
    out
}

/// Folds a content line at 75 octets, never inside a character (RFC 6350 §3.2).
fn fold(line: &str, out: &mut String) {
    let mut used = 0;
    for c in line.chars() {
        if used + c.len_utf8() > 75 {
            out.push_str("\r\n ");
            used = 1;
        }
        out.push(c);
        used += c.len_utf8();
    }
    out.push_str("\r\n");
}

/// The card as a vCard 3.0 (what phones' contact apps import), in the language `en` or not.
pub fn vcard(card: &CardView, url: &str, en: bool) -> String {
    let pick = |text: &Text| if en { text.en.clone() } else { text.zh.clone() };
    let mut lines = vec![
        "BEGIN:VCARD".to_owned(),
        "VERSION:3.0".to_owned(),
        format!("FN:{}", vcard_escape(&card.name)),
        format!("N:{};;;;", vcard_escape(&card.name)),
    ];
    if let Some(store) = &card.store {
        lines.push(format!("ORG:{}", vcard_escape(&pick(&store.name))));
        lines.push(format!("ADR;TYPE=WORK:;;{};;;;", vcard_escape(&pick(&store.address))));
    }
    lines.push(format!("TITLE:{}", vcard_escape(&card.title.clone().unwrap_or_else(|| pick(&card.role_label)))));
    if let Some(phone) = &card.phone {
        lines.push(format!("TEL;TYPE=CELL:{}", vcard_escape(phone)));
    }
    if let Some(email) = &card.email {
        lines.push(format!("EMAIL;TYPE=INTERNET:{}", vcard_escape(email)));
    }
    let mut note = card.bio.clone().unwrap_or_default();
    if let Some(wechat) = &card.wechat {
        if !note.is_empty() {
            note.push('\n');
        }
        note.push_str(&format!("{}: {wechat}", if en { "WeChat" } else { "微信" }));
    }
    if !note.is_empty() {
        lines.push(format!("NOTE:{}", vcard_escape(&note)));
    }
    lines.push(format!("URL:{}", vcard_escape(url)));
    lines.push("END:VCARD".to_owned());
    let mut out = String::new();
    for line in &lines {
        fold(line, &mut out);
    }
    out
}

/// What a link previews with in chat apps and social sites.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageMeta {
    pub title: String,
    pub description: String,
    /// An absolute address.
    pub image: Option<String>,
    /// The page's absolute address.
    pub url: String,
}

/// What a product page's preview names (`price_from`: the lowest price on the store's shelf,
/// any shelf without a store; none when on no shelf).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct ProductPreview {
    pub name_zh: String,
    pub description_zh: String,
    pub image: Option<String>,
    pub price_from_fen: Option<i64>,
}

/// A path made absolute on `origin`; an absolute address stays as it is.
fn absolute(origin: &str, url: Option<&str>) -> Option<String> {
    url.map(|u| if u.starts_with('/') { format!("{origin}{u}") } else { u.to_owned() })
}

/// The picture a card's link previews with: the photo, else the first featured product's.
fn card_image(view: &CardView, origin: &str) -> Option<String> {
    absolute(origin, view.photo.as_deref().or(view.featured.first().and_then(|f| f.image.as_deref())))
}

impl PageMeta {
    /// `/c/{code}`: naming the person, their title or role and their store (a store's card
    /// names the store); `url` is the address asked for, kept when the code is nobody's.
    pub fn card(view: Option<&CardView>, origin: &str, url: &str) -> PageMeta {
        let Some(view) = view else {
            return PageMeta {
                title: "名片不存在 · Tandem 云店".into(),
                description: "这张名片不存在或已失效。".into(),
                image: None,
                url: url.to_owned(),
            };
        };
        let title = match (view.role, &view.store) {
            (Role::Store, _) => format!("{} · Tandem 云店", view.name),
            (_, Some(store)) => {
                let title = view.title.as_deref().unwrap_or(&view.role_label.zh);
                format!("{} · {} · {}", view.name, title, store.name.zh)
            }
            (_, None) => format!("{} 的名片 · Tandem 云店", view.name),
        };
        let description = view.bio.clone().unwrap_or_else(|| match &view.store {
            Some(store) => format!("{} · {}", store.name.zh, store.address.zh),
            None => "扫码看看我推荐的好物。".to_owned(),
        });
        PageMeta { title, description, image: card_image(view, origin), url: format!("{origin}/c/{}", view.code) }
    }

    /// `/p/{id}`: naming the product, its price from and its first picture.
    pub fn product(product: Option<&ProductPreview>, origin: &str, url: &str) -> PageMeta {
        let Some(product) = product else {
            return PageMeta {
                title: "商品不存在 · Tandem 云店".into(),
                description: "这件商品不存在或已下架。".into(),
                image: None,
                url: url.to_owned(),
            };
        };
        let title = match product.price_from_fen {
            Some(fen) => format!("{} · {} 起 · Tandem 云店", product.name_zh, crate::money::Fen(fen)),
            None => format!("{} · Tandem 云店", product.name_zh),
        };
        PageMeta {
            title,
            description: product.description_zh.chars().take(120).collect(),
            image: absolute(origin, product.image.as_deref()),
            url: url.to_owned(),
        }
    }

    /// `/i/{code}`: the inviter's invitation to their store's shelf, and where the page lands
    /// (the store's shelf; none when they have no store or the code is no person's).
    pub fn invite(inviter: Option<&CardView>, origin: &str) -> (PageMeta, Option<String>) {
        let Some(view) = inviter else {
            let meta = PageMeta {
                title: "Tandem 云店".into(),
                description: "门店的云货架：供应链好物，到店自提或快递到家。".into(),
                image: None,
                url: format!("{origin}/"),
            };
            return (meta, None);
        };
        let title = match &view.store {
            Some(store) => format!("{} 邀请你逛 {} 的云货架", view.name, store.name.zh),
            None => format!("{} 邀请你逛 Tandem 云店", view.name),
        };
        let meta = PageMeta {
            title,
            description: "供应链好物，到店自提或快递到家；好友下单，你也有奖励。".into(),
            image: card_image(view, origin),
            url: format!("{origin}/i/{}", view.code),
        };
        (meta, view.store.as_ref().map(|s| format!("/?store={}", s.id)))
    }
}

/// Escapes text for HTML content and quoted attributes (control characters become spaces).
pub fn html_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c if c.is_control() => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// The page's HTML with its title, description and Open Graph tags replaced by `meta`'s: the
/// page's own `<title>`, `description` and `og:` tags are dropped and the new ones go at the end
/// of `<head>`. A page without a `</head>` comes back unchanged.
pub fn fill_meta(html: &str, meta: &PageMeta) -> String {
    let Some(head_end) = html.find("</head>") else { return html.to_owned() };
    let (head, rest) = html.split_at(head_end);
    let kept: Vec<&str> = head
        .lines()
        .filter(|line| {
            let line = line.trim_start();
            !(line.starts_with("<title>")
                || line.starts_with("<meta name=\"description\"")
                || line.starts_with("<meta property=\"og:"))
        })
        .collect();
    let title = html_escape(&meta.title);
    let description = html_escape(&meta.description);
    let mut tags = format!(
        "  <title>{title}</title>\n  <meta name=\"description\" content=\"{description}\">\n  \
         <meta property=\"og:title\" content=\"{title}\">\n  <meta property=\"og:description\" content=\"{description}\">\n  \
         <meta property=\"og:type\" content=\"website\">\n  <meta property=\"og:url\" content=\"{}\">\n",
        html_escape(&meta.url)
    );
    if let Some(image) = &meta.image {
        tags.push_str(&format!(
            "  <meta property=\"og:image\" content=\"{}\">\n  <meta name=\"twitter:card\" content=\"summary_large_image\">\n",
            html_escape(image)
        ));
    }
    format!("{}\n{tags}{rest}", kept.join("\n"))
}

/// How someone came to a card.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum VisitKind {
    /// Opened the card page.
    Card,
    /// Opened a product shared from the card.
    Product,
    /// Scanned the store's door code (they were in the shop).
    Door,
}

impl VisitKind {
    pub fn parse(code: &str) -> Option<VisitKind> {
        match code {
            "card" => Some(VisitKind::Card),
            "product" => Some(VisitKind::Product),
            "door" => Some(VisitKind::Door),
            _ => None,
        }
    }

    pub fn code(self) -> &'static str {
        match self {
            VisitKind::Card => "card",
            VisitKind::Product => "product",
            VisitKind::Door => "door",
        }
    }

    /// How much one such visit says about interest: a product opened says more than the card,
    /// coming to the shop most.
    fn weight(self) -> f64 {
        match self {
            VisitKind::Card => 1.0,
            VisitKind::Product => 1.5,
            VisitKind::Door => 3.0,
        }
    }
}

/// One visit to a card.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Visit {
    pub at: Timestamp,
    pub kind: VisitKind,
    pub product: Option<ProductId>,
}

/// How warm a visitor is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum Level {
    Hot,
    Warm,
    Cool,
}

/// A visitor's interest: 0…100, its level and the reason in words.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Interest {
    pub score: u8,
    pub level: Level,
    pub reason: Text,
}

/// Interest fades with a week's half-life: last month's visits say less than today's.
const INTEREST_HALF_LIFE_DAYS: f64 = 7.0;

fn ago(now: Timestamp, at: Timestamp) -> Text {
    let minutes = ((now.0 - at.0) / 60_000).max(0);
    match minutes {
        0..=1 => Text::new("刚刚", "just now"),
        2..=59 => Text::new(format!("{minutes} 分钟前"), format!("{minutes} min ago")),
        60..=1439 => Text::new(format!("{} 小时前", minutes / 60), format!("{} h ago", minutes / 60)),
        _ => Text::new(format!("{} 天前", minutes / 1440), format!("{} days ago", minutes / 1440)),
    }
}

/// A visitor's interest from their visits at `now`: every visit counts by its kind, faded by
/// its age; more distinct days count on top (coming back says more than reloading).
pub fn interest(visits: &[Visit], now: Timestamp) -> Interest {
    let mut sum = 0.0;
    let mut days: Vec<i64> = Vec::new();
    for visit in visits {
        #[allow(clippy::cast_precision_loss)] // days as a fraction
        let age_days = ((now.0 - visit.at.0).max(0) as f64) / Timestamp::DAY_MS as f64;
        sum += visit.kind.weight() * 0.5_f64.powf(age_days / INTEREST_HALF_LIFE_DAYS);
        days.push(visit.at.0.div_euclid(Timestamp::DAY_MS));
    }
    days.sort_unstable();
    days.dedup();
    #[allow(clippy::cast_precision_loss)]
    let returning = days.len().saturating_sub(1) as f64 * 0.5;
    let raw = 100.0 * (1.0 - (-(sum + returning) / 4.0).exp());
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)] // 0…100
    let score = raw.round().clamp(0.0, 100.0) as u8;
    let level = match score {
        70.. => Level::Hot,
        35..=69 => Level::Warm,
        _ => Level::Cool,
    };
    let count = |kind: VisitKind| visits.iter().filter(|v| v.kind == kind).count();
    let mut products: Vec<&ProductId> = visits.iter().filter_map(|v| v.product.as_ref()).collect();
    products.sort_unstable();
    products.dedup();
    let mut zh: Vec<String> = Vec::new();
    let mut en: Vec<String> = Vec::new();
    let cards = count(VisitKind::Card);
    if cards > 0 {
        zh.push(format!("打开名片 {cards} 次"));
        en.push(format!("opened the card {cards}×"));
    }
    if !products.is_empty() {
        zh.push(format!("看过 {} 件分享的商品", products.len()));
        en.push(format!("viewed {} shared product{}", products.len(), if products.len() == 1 { "" } else { "s" }));
    }
    let doors = count(VisitKind::Door);
    if doors > 0 {
        zh.push(format!("到店 {doors} 次"));
        en.push(format!("came to the shop {doors}×"));
    }
    if days.len() > 1 {
        zh.push(format!("{} 天里来过", days.len()));
        en.push(format!("on {} different days", days.len()));
    }
    if let Some(last) = visits.iter().map(|v| v.at).max() {
        let when = ago(now, last);
        zh.push(format!("最近一次 {}", when.zh));
        en.push(format!("last {}", when.en));
    }
    Interest { score, level, reason: Text::new(zh.join("，"), en.join(", ")) }
}

/// One person on a card owner's radar.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct RadarEntry {
    /// An opaque handle for the visitor (the owner never sees the raw key).
    pub visitor: String,
    /// A member's name (or masked phone), else "访客 · 3f2a".
    pub name: String,
    pub known: bool,
    pub visits: usize,
    pub first_at: Timestamp,
    pub last_at: Timestamp,
    pub interest: Interest,
}

/// The radar: each visitor's visits grouped, scored, hottest first (then the latest).
pub fn radar(visits: Vec<(String, String, bool, Visit)>, now: Timestamp) -> Vec<RadarEntry> {
    let mut grouped: std::collections::BTreeMap<String, (String, bool, Vec<Visit>)> = std::collections::BTreeMap::new();
    for (visitor, name, known, visit) in visits {
        grouped.entry(visitor).or_insert_with(|| (name, known, Vec::new())).2.push(visit);
    }
    let mut entries: Vec<RadarEntry> = grouped
        .into_iter()
        .filter_map(|(visitor, (name, known, visits))| {
            let first_at = visits.iter().map(|v| v.at).min()?;
            let last_at = visits.iter().map(|v| v.at).max()?;
            Some(RadarEntry {
                visitor,
                name,
                known,
                visits: visits.len(),
                first_at,
                last_at,
                interest: interest(&visits, now),
            })
        })
        .collect();
    entries.sort_by(|a, b| b.interest.score.cmp(&a.interest.score).then(b.last_at.cmp(&a.last_at)));
    entries
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: Timestamp = Timestamp(1_790_000_000_000);

    fn visit(days_ago: f64, kind: VisitKind, product: Option<&str>) -> Visit {
        #[allow(clippy::cast_possible_truncation, clippy::cast_precision_loss)]
        let at = Timestamp(NOW.0 - (days_ago * Timestamp::DAY_MS as f64) as i64);
        Visit { at, kind, product: product.map(|p| ProductId::parse(p).unwrap()) }
    }

    #[test]
    fn opening_a_card_records_attributes_binds_and_checks_in_as_its_owner_s_role_says() {
        let clerk = CardOwner { code: "CODE0001", role: Role::Clerk, member: Some("m-c"), store: Some("s-1") };
        let opened = open(&clerk, Opener::Member("m-1"), VisitKind::Card).unwrap();
        assert_eq!(opened.attribute, Some(("s-1".to_owned(), "m-c".to_owned())));
        assert_eq!((opened.bind.as_deref(), opened.remember_code, opened.recorded), (Some("m-1"), false, true));
        let anonymous = open(&clerk, Opener::Anonymous, VisitKind::Product).unwrap();
        assert_eq!((anonymous.bind, anonymous.remember_code), (None, true), "the invite still works at sign-in");
        assert!(!anonymous.recorded && anonymous.attribute.is_none(), "nothing is kept before the person agrees");
        let consented = open(&clerk, Opener::Consented, VisitKind::Card).unwrap();
        assert!(consented.recorded && consented.attribute.is_some());
        let own = open(&clerk, Opener::Member("m-c"), VisitKind::Card).unwrap();
        assert!(own.own_card && !own.recorded && own.attribute.is_none() && own.bind.is_none() && !own.remember_code);
        assert_eq!(open(&clerk, Opener::Consented, VisitKind::Door), Err(VisitRefused::NoDoor));
        let store = CardOwner { code: "STORE00001", role: Role::Store, member: None, store: Some("s-1") };
        let door = open(&store, Opener::Consented, VisitKind::Door).unwrap();
        assert_eq!(
            (door.check_in.as_deref(), door.attribute, door.bind, door.remember_code),
            (Some("s-1"), None, None, false)
        );
        assert_eq!(open(&store, Opener::Anonymous, VisitKind::Door).unwrap().check_in, None);
        let sharer = CardOwner { code: "CODE0002", role: Role::Sharer, member: Some("m-s"), store: None };
        assert_eq!(open(&sharer, Opener::Member("m-1"), VisitKind::Card).unwrap().attribute, None);
        assert_eq!(Role::of_person(Some("owner"), "member"), Role::Owner);
        assert_eq!(Role::of_person(Some("clerk"), "partner"), Role::Clerk);
        assert_eq!(Role::of_person(None, "agent"), Role::Sharer);
        assert_eq!(Role::of_person(None, "member"), Role::Shopper);
    }

    #[test]
    fn a_card_edit_is_checked_field_by_field() {
        let good = check(CardForm {
            title: Some("  资深搭配顾问 ".into()),
            bio: Some("十年童装经验\r\n欢迎咨询".into()),
            wechat: Some("li_fang-88".into()),
            email: Some("fang@example.cn".into()),
            show_phone: true,
            featured: vec!["baby-formula-2".into(), "down-jacket".into()],
        })
        .unwrap();
        assert_eq!(good.title.as_deref(), Some("资深搭配顾问"));
        assert_eq!(good.bio.as_deref(), Some("十年童装经验\n欢迎咨询"));
        assert_eq!(good.featured.len(), 2);
        let field = |form: CardForm| check(form).unwrap_err().field;
        assert_eq!(field(CardForm { title: Some("长".repeat(31)), ..CardForm::default() }), "title");
        assert_eq!(field(CardForm { wechat: Some("8abcdef".into()), ..CardForm::default() }), "wechat");
        assert_eq!(field(CardForm { wechat: Some("abc".into()), ..CardForm::default() }), "wechat");
        assert_eq!(field(CardForm { email: Some("no-at.example".into()), ..CardForm::default() }), "email");
        assert_eq!(field(CardForm { email: Some("a@b".into()), ..CardForm::default() }), "email");
        assert_eq!(field(CardForm { title: Some("a\u{7}b".into()), ..CardForm::default() }), "title");
        assert_eq!(field(CardForm { featured: vec!["x-1".into(); 2], ..CardForm::default() }), "featured");
        assert_eq!(field(CardForm { featured: vec!["Bad Id".into()], ..CardForm::default() }), "featured");
        let seven = (0..7).map(|i| format!("p-{i}")).collect();
        assert_eq!(field(CardForm { featured: seven, ..CardForm::default() }), "featured");
        // Empty text clears a field.
        assert_eq!(check(CardForm { bio: Some("   ".into()), ..CardForm::default() }).unwrap().bio, None);
    }

    fn card() -> CardView {
        CardView {
            code: "k7m2p9qa".into(),
            role: Role::Clerk,
            role_label: Role::Clerk.label(),
            name: "李芳".into(),
            initials: initials("李芳", "员"),
            photo: None,
            title: None,
            bio: Some("擅长母婴好物; 也懂穿搭,欢迎来店\n周末在店".into()),
            store: Some(StoreRef {
                id: StoreId::parse("jingan").unwrap(),
                name: Text::new("静安寺店", "Jing'an Temple"),
                address: Text::new("南京西路 1618 号", "1618 West Nanjing Road"),
            }),
            phone: Some("13900000002".into()),
            wechat: Some("li_fang88".into()),
            email: None,
            featured: Vec::new(),
        }
    }

    #[test]
    fn the_vcard_escapes_folds_and_names_the_store() {
        let text = vcard(&card(), "https://tandem.example/c/k7m2p9qa", false);
        assert!(text.starts_with("BEGIN:VCARD\r\nVERSION:3.0\r\nFN:李芳\r\n"));
        assert!(text.contains("ORG:静安寺店\r\n"));
        assert!(text.contains("TITLE:店员\r\n"), "the role stands in for a missing title");
        assert!(text.contains("TEL;TYPE=CELL:13900000002\r\n"));
        assert!(text.ends_with("END:VCARD\r\n"));
        // Every physical line is at most 75 octets; unfolding gives back the escaped note.
        assert!(text.split("\r\n").all(|line| line.len() <= 75));
        let unfolded = text.replace("\r\n ", "");
        assert!(unfolded.contains("NOTE:擅长母婴好物\\; 也懂穿搭\\,欢迎来店\\n周末在店\\n微信: li_fang88\r\n"));
        let en = vcard(&CardView { phone: None, ..card() }, "https://x/c/k", true);
        let en = en.replace("\r\n ", "");
        assert!(en.contains("ORG:Jing'an Temple") && en.contains("WeChat: li_fang88") && !en.contains("TEL"));
    }

    #[test]
    fn initials_take_the_given_name_or_two_words() {
        assert_eq!(initials("李芳", "员"), "芳");
        assert_eq!(initials("ada lovelace", "员"), "AL");
        assert_eq!(initials("+86 139****0002", "员"), "员", "a masked phone has no initials");
        assert_eq!(initials("  ", "?"), "?");
    }

    #[test]
    fn a_shared_link_previews_the_person_the_product_or_the_invitation() {
        let origin = "https://t.example";
        let meta = PageMeta::card(Some(&card()), origin, "https://t.example/c/k7m2p9qa?x=1");
        assert_eq!(meta.title, "李芳 · 店员 · 静安寺店", "the role stands in for a missing title");
        assert_eq!(meta.url, "https://t.example/c/k7m2p9qa", "the card's own address, without the query");
        assert!(meta.description.starts_with("擅长母婴好物"));
        let photo = CardView { photo: Some("/api/media/me-1".into()), bio: None, ..card() };
        let meta = PageMeta::card(Some(&photo), origin, "");
        assert_eq!(meta.image.as_deref(), Some("https://t.example/api/media/me-1"));
        assert_eq!(meta.description, "静安寺店 · 南京西路 1618 号", "without a bio, the store and its address");
        assert_eq!(PageMeta::card(None, origin, "https://t.example/c/zz").title, "名片不存在 · Tandem 云店");
        let product = ProductPreview {
            name_zh: "亚麻衬衫".into(),
            description_zh: "透气".repeat(100),
            image: Some("https://cdn.example/a.jpg".into()),
            price_from_fen: Some(12_900),
        };
        let meta = PageMeta::product(Some(&product), origin, "https://t.example/p/p-1?store=s-1");
        assert_eq!(meta.title, "亚麻衬衫 · ¥129.00 起 · Tandem 云店");
        assert_eq!(meta.description.chars().count(), 120);
        assert_eq!(meta.image.as_deref(), Some("https://cdn.example/a.jpg"), "an absolute address stays");
        let off_shelf = ProductPreview { price_from_fen: None, ..product };
        assert_eq!(PageMeta::product(Some(&off_shelf), origin, "").title, "亚麻衬衫 · Tandem 云店");
        let (meta, land) = PageMeta::invite(Some(&card()), origin);
        assert_eq!(meta.title, "李芳 邀请你逛 静安寺店 的云货架");
        assert_eq!((meta.url.as_str(), land.as_deref()), ("https://t.example/i/k7m2p9qa", Some("/?store=jingan")));
        let (meta, land) = PageMeta::invite(None, origin);
        assert_eq!((meta.url.as_str(), land), ("https://t.example/", None));
    }

    #[test]
    fn page_meta_replaces_the_defaults_and_is_escaped() {
        let html = "<html>\n<head>\n  <meta charset=\"utf-8\">\n  <title>Tandem 云店</title>\n  <meta name=\"description\" content=\"x\">\n  <meta property=\"og:title\" content=\"Tandem\">\n  <link rel=\"icon\" href=\"/f.svg\">\n</head>\n<body></body></html>";
        let out = fill_meta(
            html,
            &PageMeta {
                title: "李芳 · 店员 <静安寺店>".into(),
                description: "\"好物\" & 搭配".into(),
                image: Some("https://t.example/api/media/a-1".into()),
                url: "https://t.example/c/k7m2p9qa".into(),
            },
        );
        assert_eq!(out.matches("<title>").count(), 1);
        assert!(out.contains("<title>李芳 · 店员 &lt;静安寺店&gt;</title>"));
        assert!(out.contains("<meta property=\"og:description\" content=\"&quot;好物&quot; &amp; 搭配\">"));
        assert!(out.contains("og:image\" content=\"https://t.example/api/media/a-1\""));
        assert!(!out.contains("content=\"Tandem\""), "the page's own og:title is gone");
        assert!(out.contains("<link rel=\"icon\""), "other head lines stay");
        assert!(out.find("og:url").unwrap() < out.find("</head>").unwrap());
        assert_eq!(
            fill_meta(
                "<p>no head</p>",
                &PageMeta { title: "t".into(), description: String::new(), image: None, url: String::new() }
            ),
            "<p>no head</p>"
        );
    }

    #[test]
    fn interest_grows_with_visits_fades_with_time_and_says_why() {
        let once = interest(&[visit(0.1, VisitKind::Card, None)], NOW);
        let keen = interest(
            &[
                visit(0.1, VisitKind::Card, None),
                visit(1.2, VisitKind::Card, None),
                visit(1.1, VisitKind::Product, Some("baby-formula-2")),
                visit(2.0, VisitKind::Door, None),
            ],
            NOW,
        );
        let long_ago = interest(&[visit(40.0, VisitKind::Card, None), visit(41.0, VisitKind::Card, None)], NOW);
        assert!(keen.score > once.score && once.score > long_ago.score, "{keen:?} {once:?} {long_ago:?}");
        assert_eq!(keen.level, Level::Hot);
        assert_eq!(once.level, Level::Cool);
        assert!(keen.reason.zh.contains("打开名片 2 次") && keen.reason.zh.contains("看过 1 件分享的商品"));
        assert!(keen.reason.zh.contains("到店 1 次") && keen.reason.zh.contains("3 天里来过"));
        assert!(keen.reason.en.contains("viewed 1 shared product,") && keen.reason.en.contains("last 2 h ago"));
        assert_eq!(interest(&[], NOW).score, 0);
    }

    #[test]
    fn the_radar_groups_by_visitor_hottest_first() {
        let rows = vec![
            ("a".to_owned(), "访客 · 3f2a".to_owned(), false, visit(5.0, VisitKind::Card, None)),
            ("b".to_owned(), "王*".to_owned(), true, visit(0.5, VisitKind::Card, None)),
            ("b".to_owned(), "王*".to_owned(), true, visit(0.2, VisitKind::Product, Some("down-jacket"))),
        ];
        let radar = radar(rows, NOW);
        assert_eq!(radar.len(), 2);
        assert_eq!((radar[0].visitor.as_str(), radar[0].visits, radar[0].known), ("b", 2, true));
        assert!(radar[0].interest.score > radar[1].interest.score);
        assert!(radar[0].first_at < radar[0].last_at);
    }
}
