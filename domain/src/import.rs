//! A supplier's CSV import of products, SKUs and warehouse stock. Every row is checked on its
//! own and either becomes an [`ImportRow`] or a [`RowError`] naming its line and column, so a
//! file with a few bad rows still loads the good ones and says exactly what to fix.
//!
//! Columns (the header row names them, in any order; `size`, `colour_zh` and `colour_en` may
//! be empty): `product_id, category, name_zh, name_en, sku_id, size, colour_zh, colour_en,
//! supply_fen, min_fen, max_fen, stock`.

use serde::{Deserialize, Serialize};

use crate::catalog::{Category, ProductId, SkuId};
use crate::money::Fen;
use crate::pricing::PriceBand;

pub const COLUMNS: [&str; 12] = [
    "product_id",
    "category",
    "name_zh",
    "name_en",
    "sku_id",
    "size",
    "colour_zh",
    "colour_en",
    "supply_fen",
    "min_fen",
    "max_fen",
    "stock",
];

/// The most rows one request may carry; the console sends a large file in parts.
pub const MAX_ROWS: usize = 200;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct ImportRow {
    pub line: usize,
    pub product_id: ProductId,
    pub category: Category,
    pub name_zh: String,
    pub name_en: String,
    pub sku_id: SkuId,
    pub size: Option<String>,
    pub colour: Option<(String, String)>,
    pub band: PriceBand,
    pub stock: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct RowError {
    /// 1-based line in the file (the header is line 1).
    pub line: usize,
    pub column: String,
    pub message: String,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ImportError {
    #[error("the file is empty")]
    Empty,
    #[error("the header lacks the column {0}")]
    MissingColumn(&'static str),
    #[error("at most {MAX_ROWS} rows per request")]
    TooManyRows,
}

/// Splits one CSV line into fields: commas separate, double quotes enclose a field that holds
/// commas or quotes (`""` is a quote). Fields never span lines in this format.
pub(crate) fn fields(line: &str) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    let mut field = String::new();
    let mut chars = line.chars().peekable();
    let mut quoted = false;
    while let Some(c) = chars.next() {
        match (c, quoted) {
            ('"', true) if chars.peek() == Some(&'"') => {
                field.push('"');
                chars.next();
            }
            ('"', true) => quoted = false,
            ('"', false) if field.is_empty() => quoted = true,
            (',', false) => out.push(std::mem::take(&mut field)),
            (c, _) => field.push(c),
        }
    }
    if quoted {
        return Err("a quoted field is not closed".to_owned());
    }
    out.push(field);
    Ok(out)
}

fn text(value: &str, column: &str, max: usize) -> Result<String, String> {
    let value = value.trim();
    if value.is_empty() || value.chars().count() > max || value.chars().any(char::is_control) {
        return Err(format!("{column} must be 1 to {max} characters"));
    }
    Ok(value.to_owned())
}

fn amount(value: &str, column: &str) -> Result<i64, String> {
    value
        .trim()
        .parse::<i64>()
        .ok()
        .filter(|n| (0..=100_000_000).contains(n))
        .ok_or_else(|| format!("{column} must be a whole number of fen"))
}

/// Parses a CSV text into good rows and row errors; a whole-file problem is an `ImportError`.
pub fn parse(csv: &str) -> Result<(Vec<ImportRow>, Vec<RowError>), ImportError> {
    let mut lines = csv.lines().enumerate().filter(|(_, l)| !l.trim().is_empty());
    let (_, header) = lines.next().ok_or(ImportError::Empty)?;
    let header: Vec<String> = fields(header.trim_start_matches('\u{feff}'))
        .map_err(|_| ImportError::Empty)?
        .iter()
        .map(|h| h.trim().to_owned())
        .collect();
    let mut index = [0usize; 12];
    for (slot, column) in index.iter_mut().zip(COLUMNS) {
        *slot = header.iter().position(|h| h == column).ok_or(ImportError::MissingColumn(column))?;
    }
    let rows: Vec<(usize, &str)> = lines.collect();
    if rows.len() > MAX_ROWS {
        return Err(ImportError::TooManyRows);
    }
    let (mut good, mut bad) = (Vec::new(), Vec::new());
    for (number, line) in rows {
        let line_no = number + 1;
        match row(line, &index) {
            Ok(mut parsed) => {
                parsed.line = line_no;
                good.push(parsed);
            }
            Err((column, message)) => bad.push(RowError { line: line_no, column, message }),
        }
    }
    Ok((good, bad))
}

fn row(line: &str, index: &[usize; 12]) -> Result<ImportRow, (String, String)> {
    let values = fields(line).map_err(|m| ("row".to_owned(), m))?;
    let get = |i: usize| values.get(index[i]).map_or("", String::as_str);
    let fail = |i: usize| move |message: String| (COLUMNS[i].to_owned(), message);
    let product_id = ProductId::parse(get(0).trim()).map_err(|e| fail(0)(e.to_string()))?;
    let category = Category::parse(get(1).trim()).map_err(|e| fail(1)(e.to_string()))?;
    let name_zh = text(get(2), "name_zh", 60).map_err(fail(2))?;
    let name_en = text(get(3), "name_en", 120).map_err(fail(3))?;
    let sku_id = SkuId::parse(get(4).trim()).map_err(|e| fail(4)(e.to_string()))?;
    let size =
        Some(get(5).trim()).filter(|s| !s.is_empty()).map(|s| text(s, "size", 20)).transpose().map_err(fail(5))?;
    let colour = match (get(6).trim(), get(7).trim()) {
        ("", "") => None,
        (zh, en) => Some((text(zh, "colour_zh", 20).map_err(fail(6))?, text(en, "colour_en", 40).map_err(fail(7))?)),
    };
    let supply = amount(get(8), "supply_fen").map_err(fail(8))?;
    let min = amount(get(9), "min_fen").map_err(fail(9))?;
    let max = amount(get(10), "max_fen").map_err(fail(10))?;
    let band = PriceBand::new(Fen(supply), Fen(min), Fen(max)).map_err(|e| fail(9)(e.to_string()))?;
    let stock = amount(get(11), "stock").map_err(fail(11))?;
    Ok(ImportRow { line: 0, product_id, category, name_zh, name_en, sku_id, size, colour, band, stock })
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEADER: &str =
        "product_id,category,name_zh,name_en,sku_id,size,colour_zh,colour_en,supply_fen,min_fen,max_fen,stock";

    #[test]
    fn good_rows_load_and_bad_rows_say_what_is_wrong() {
        let csv = format!(
            "\u{feff}{HEADER}\n\
             p-0901,clothing,亚麻衬衫,\"Linen shirt, relaxed\",p-0901-01,M,白色,White,6000,9900,15900,40\n\
             p-0901,clothing,亚麻衬衫,Linen shirt,p-0901-02,L,,,6000,9900,15900,12\n\
             p-0902,toys,积木,Blocks,p-0902-01,,,,1000,2000,3000,5\n\
             p-0903,snacks,坚果,Nuts,p-0903-01,,,,3000,2000,4000,5\n\
             p-0904,snacks,坚果,Nuts,p-0904-01,,,,3000,4000,5000,-1\n\
             P 0905,snacks,坚果,Nuts,p-0905-01,,,,3000,4000,5000,1\n"
        );
        let (good, bad) = parse(&csv).unwrap();
        assert_eq!(good.len(), 2);
        assert_eq!(good[0].name_en, "Linen shirt, relaxed");
        assert_eq!(good[0].colour, Some(("白色".to_owned(), "White".to_owned())));
        assert_eq!((good[1].line, good[1].colour.clone(), good[1].stock), (3, None, 12));
        let columns: Vec<(usize, &str)> = bad.iter().map(|e| (e.line, e.column.as_str())).collect();
        assert_eq!(columns, [(4, "category"), (5, "min_fen"), (6, "stock"), (7, "product_id")]);
    }

    #[test]
    fn the_header_must_name_every_column() {
        assert_eq!(parse(""), Err(ImportError::Empty));
        assert_eq!(parse("product_id,category"), Err(ImportError::MissingColumn("name_zh")));
        let many = format!("{HEADER}\n{}", "p-1,home,a,b,p-1-1,,,,1,1,1,1\n".repeat(MAX_ROWS + 1));
        assert_eq!(parse(&many), Err(ImportError::TooManyRows));
    }

    #[test]
    fn quotes_hold_commas_and_quotes() {
        assert_eq!(fields(r#"a,"b,c","d""e",f"#).unwrap(), ["a", "b,c", "d\"e", "f"]);
        assert!(fields(r#"a,"b"#).is_err());
    }
}
