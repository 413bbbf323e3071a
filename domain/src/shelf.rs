//! A store's shelf as a shopper browses it: which products match a category and a search, in
//! which order, a page at a time.
//!
//! The query is parsed here from the raw parameters of a request, with an error that names the
//! offending field; the Worker turns a parsed query into SQL and hands the rows back to
//! [`ShelfPage::from_rows`] to cut the page and make the next cursor.

use serde::{Deserialize, Serialize};

use crate::catalog::{Category, ShelfItem, StoreId};
use crate::cursor::Cursor;

pub const DEFAULT_PAGE_SIZE: usize = 20;
pub const MAX_PAGE_SIZE: usize = 50;
/// Longest search accepted, in characters: enough for any product name, short enough that a
/// `LIKE` scan stays cheap.
pub const MAX_SEARCH_CHARS: usize = 40;

/// A request parameter that could not be used, named so a client can point at it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {reason}")]
pub struct ParamError {
    pub field: String,
    pub reason: String,
}

impl ParamError {
    pub fn new(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Self { field: field.into(), reason: reason.into() }
    }
}

/// A shopper's search, normalised: trimmed, inner runs of white space collapsed to one space,
/// ASCII letters lowercased. Matching is by substring of the Chinese or the English name, with
/// ASCII letters compared without case (as SQLite's `LIKE` does).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchText(String);

impl SearchText {
    /// `Ok(None)` for a search that is empty once trimmed: it filters nothing.
    pub fn parse(raw: &str) -> Result<Option<Self>, ParamError> {
        let normalised = raw.split_whitespace().collect::<Vec<_>>().join(" ").to_ascii_lowercase();
        if normalised.is_empty() {
            return Ok(None);
        }
        if normalised.chars().count() > MAX_SEARCH_CHARS {
            return Err(ParamError::new("q", format!("at most {MAX_SEARCH_CHARS} characters")));
        }
        if normalised.chars().any(char::is_control) {
            return Err(ParamError::new("q", "control characters are not allowed"));
        }
        Ok(Some(Self(normalised)))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The pattern for `LIKE ? ESCAPE '\'`: the text with `%`, `_` and `\` escaped, between
    /// wildcards, so a search for "100%" finds "100%" and not everything starting with "100".
    pub fn like_pattern(&self) -> String {
        let mut pattern = String::with_capacity(self.0.len() + 2);
        pattern.push('%');
        for c in self.0.chars() {
            if matches!(c, '%' | '_' | '\\') {
                pattern.push('\\');
            }
            pattern.push(c);
        }
        pattern.push('%');
        pattern
    }

    /// The same test `like_pattern` makes in SQL, for lists already in memory.
    pub fn matches(&self, text: &str) -> bool {
        text.to_ascii_lowercase().contains(&self.0)
    }
}

/// One request for a page of a store's shelf.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShelfQuery {
    pub category: Option<Category>,
    pub search: Option<SearchText>,
    pub cursor: Option<Cursor>,
    pub limit: usize,
}

impl Default for ShelfQuery {
    fn default() -> Self {
        Self { category: None, search: None, cursor: None, limit: DEFAULT_PAGE_SIZE }
    }
}

impl ShelfQuery {
    /// Parses the query string's pairs. Unknown parameters are refused rather than ignored, so
    /// a misspelt `catgory=` does not silently return the whole shelf.
    pub fn from_params<'a>(params: impl IntoIterator<Item = (&'a str, &'a str)>) -> Result<Self, ParamError> {
        let mut query = ShelfQuery::default();
        let mut seen: Vec<&str> = Vec::new();
        for (key, value) in params {
            if seen.contains(&key) {
                return Err(ParamError::new(key, "given more than once"));
            }
            seen.push(key);
            match key {
                "category" if !value.is_empty() => {
                    query.category =
                        Some(Category::parse(value).map_err(|e| ParamError::new("category", e.to_string()))?);
                }
                "q" => query.search = SearchText::parse(value)?,
                "cursor" if !value.is_empty() => {
                    query.cursor = Some(Cursor::decode(value).map_err(|e| ParamError::new("cursor", e.to_string()))?);
                }
                "category" | "cursor" => {}
                "limit" => query.limit = parse_limit(value)?,
                other => return Err(ParamError::new(other, "unknown parameter")),
            }
        }
        Ok(query)
    }

    /// Whether an item belongs in this query's results, ignoring the cursor: the in-memory
    /// statement of what the Worker's SQL selects.
    pub fn admits(&self, item: &ShelfItem) -> bool {
        self.category.is_none_or(|category| item.category == category)
            && self.search.as_ref().is_none_or(|search| search.matches(&item.name.zh) || search.matches(&item.name.en))
    }
}

/// The parameters of a product page: which store's shelf it is seen on, since price and
/// pickup stock are the store's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProductQuery {
    pub store: StoreId,
}

impl ProductQuery {
    pub fn from_params<'a>(params: impl IntoIterator<Item = (&'a str, &'a str)>) -> Result<Self, ParamError> {
        let mut store = None;
        for (key, value) in params {
            match key {
                "store" if store.is_some() => return Err(ParamError::new("store", "given more than once")),
                "store" => store = Some(StoreId::parse(value).map_err(|e| ParamError::new("store", e.to_string()))?),
                other => return Err(ParamError::new(other, "unknown parameter")),
            }
        }
        store.map(|store| Self { store }).ok_or_else(|| ParamError::new("store", "required"))
    }
}

/// For routes that take no parameters: refuses any, naming the first.
pub fn no_params<'a>(params: impl IntoIterator<Item = (&'a str, &'a str)>) -> Result<(), ParamError> {
    match params.into_iter().next() {
        Some((key, _)) => Err(ParamError::new(key, "unknown parameter")),
        None => Ok(()),
    }
}

fn parse_limit(raw: &str) -> Result<usize, ParamError> {
    let reason = || format!("a whole number from 1 to {MAX_PAGE_SIZE}");
    let limit: usize = raw.parse().map_err(|_| ParamError::new("limit", reason()))?;
    if limit == 0 || limit > MAX_PAGE_SIZE {
        return Err(ParamError::new("limit", reason()));
    }
    Ok(limit)
}

/// One page of a shelf, and the cursor of the next when there is one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct ShelfPage {
    pub items: Vec<ShelfItem>,
    pub next_cursor: Option<String>,
}

impl ShelfPage {
    /// `rows` are the matching items after the cursor, in product-id order, fetched with
    /// `LIMIT limit + 1`: an extra row proves there is a next page without a second count query.
    pub fn from_rows(mut rows: Vec<ShelfItem>, limit: usize) -> Self {
        let has_more = rows.len() > limit;
        rows.truncate(limit);
        let next_cursor =
            if has_more { rows.last().map(|item| Cursor::after(item.product_id.clone()).encode()) } else { None };
        Self { items: rows, next_cursor }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::{ProductId, Text};
    use crate::money::Fen;

    fn item(id: &str, category: Category, zh: &str, en: &str) -> ShelfItem {
        ShelfItem {
            product_id: ProductId::parse(id).unwrap(),
            category,
            name: Text::new(zh, en),
            image: format!("/media/{id}.svg"),
            price_from_fen: Fen(100),
            price_to_fen: Fen(100),
            has_model: false,
        }
    }

    fn shelf() -> Vec<ShelfItem> {
        vec![
            item("p-01", Category::Baby, "婴儿配方奶粉", "Infant formula"),
            item("p-02", Category::Snacks, "每日坚果", "Daily Nuts"),
            item("p-03", Category::Baby, "纯棉口水巾", "Cotton bibs"),
            item("p-04", Category::Clothing, "纯棉T恤", "Cotton T-shirt"),
            item("p-05", Category::Home, "100%羊毛毯", "100% wool blanket"),
        ]
    }

    /// Pages through `items` as the Worker does against SQL: filter, start after the cursor,
    /// take one more than the limit.
    fn page(items: &[ShelfItem], query: &ShelfQuery) -> ShelfPage {
        let rows = items
            .iter()
            .filter(|item| query.admits(item))
            .filter(|item| query.cursor.as_ref().is_none_or(|c| item.product_id > c.after))
            .take(query.limit + 1)
            .cloned()
            .collect();
        ShelfPage::from_rows(rows, query.limit)
    }

    #[test]
    fn parses_a_full_query() {
        let cursor = Cursor::after(ProductId::parse("p-02").unwrap()).encode();
        let query = ShelfQuery::from_params([
            ("category", "baby"),
            ("q", "  Cotton   Bibs "),
            ("cursor", cursor.as_str()),
            ("limit", "2"),
        ])
        .unwrap();
        assert_eq!(query.category, Some(Category::Baby));
        assert_eq!(query.search.as_ref().map(SearchText::as_str), Some("cotton bibs"));
        assert_eq!(query.cursor.map(|c| c.after.to_string()), Some("p-02".to_owned()));
        assert_eq!(query.limit, 2);
    }

    #[test]
    fn empty_values_filter_nothing() {
        let query = ShelfQuery::from_params([("category", ""), ("q", "   "), ("cursor", "")]).unwrap();
        assert_eq!(query, ShelfQuery::default());
    }

    #[test]
    fn bad_parameters_name_their_field() {
        let field = |params: &[(&str, &str)]| ShelfQuery::from_params(params.iter().copied()).unwrap_err().field;
        assert_eq!(field(&[("category", "toys")]), "category");
        assert_eq!(field(&[("limit", "0")]), "limit");
        assert_eq!(field(&[("limit", "51")]), "limit");
        assert_eq!(field(&[("limit", "ten")]), "limit");
        assert_eq!(field(&[("cursor", "p-01")]), "cursor");
        assert_eq!(field(&[("q", &"奶".repeat(41))]), "q");
        assert_eq!(field(&[("catgory", "baby")]), "catgory");
        assert_eq!(field(&[("q", "a"), ("q", "b")]), "q");
    }

    #[test]
    fn filters_by_category_and_search_in_either_language() {
        let items = shelf();
        let ids = |query: &ShelfQuery| {
            page(&items, query).items.into_iter().map(|i| i.product_id.to_string()).collect::<Vec<_>>()
        };
        let baby = ShelfQuery { category: Some(Category::Baby), ..ShelfQuery::default() };
        assert_eq!(ids(&baby), ["p-01", "p-03"]);
        let cotton = ShelfQuery { search: SearchText::parse("COTTON").unwrap(), ..ShelfQuery::default() };
        assert_eq!(ids(&cotton), ["p-03", "p-04"]);
        let chinese = ShelfQuery { search: SearchText::parse("纯棉").unwrap(), ..ShelfQuery::default() };
        assert_eq!(ids(&chinese), ["p-03", "p-04"]);
        let both = ShelfQuery {
            category: Some(Category::Baby),
            search: SearchText::parse("纯棉").unwrap(),
            ..ShelfQuery::default()
        };
        assert_eq!(ids(&both), ["p-03"]);
    }

    #[test]
    fn pages_cover_every_item_once() {
        let items = shelf();
        let mut query = ShelfQuery { limit: 2, ..ShelfQuery::default() };
        let mut seen = Vec::new();
        let mut pages = 0;
        loop {
            let page = page(&items, &query);
            pages += 1;
            seen.extend(page.items.iter().map(|i| i.product_id.to_string()));
            match page.next_cursor {
                Some(next) => query.cursor = Some(Cursor::decode(&next).unwrap()),
                None => break,
            }
        }
        assert_eq!(pages, 3);
        assert_eq!(seen, ["p-01", "p-02", "p-03", "p-04", "p-05"]);
    }

    #[test]
    fn an_exact_last_page_has_no_next_cursor() {
        let items = shelf();
        let page = page(&items, &ShelfQuery { limit: 5, ..ShelfQuery::default() });
        assert_eq!(page.items.len(), 5);
        assert_eq!(page.next_cursor, None);
    }

    #[test]
    fn product_pages_need_one_valid_store() {
        assert_eq!(ProductQuery::from_params([("store", "s-jingan")]).unwrap().store.as_str(), "s-jingan");
        let field = |params: &[(&str, &str)]| ProductQuery::from_params(params.iter().copied()).unwrap_err().field;
        assert_eq!(field(&[]), "store");
        assert_eq!(field(&[("store", "Bad Id")]), "store");
        assert_eq!(field(&[("store", "s-a"), ("store", "s-b")]), "store");
        assert_eq!(field(&[("store", "s-a"), ("colour", "red")]), "colour");
        assert_eq!(no_params([("x", "1")]).unwrap_err().field, "x");
        assert_eq!(no_params([]), Ok(()));
    }

    #[test]
    fn like_patterns_escape_wildcards() {
        let search = SearchText::parse("100%_a\\b").unwrap().unwrap();
        assert_eq!(search.like_pattern(), "%100\\%\\_a\\\\b%");
        assert!(search.matches("XX100%_A\\B"));
        let items = shelf();
        let query = ShelfQuery { search: SearchText::parse("100%").unwrap(), ..ShelfQuery::default() };
        assert_eq!(page(&items, &query).items.len(), 1);
    }
}
