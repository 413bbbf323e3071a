//! A sharer's poster: the store's and the sharer's names over the QR code of the invite link,
//! as one self-contained SVG image the sharer can save or share.

use crate::card::html_escape as escape;
use crate::fulfilment;

/// The poster of `sharer` for `store`, whose QR code opens `link`.
pub fn svg(store: &str, sharer: &str, link: &str) -> String {
    let qr = fulfilment::qr_svg(link);
    // The QR image's own markup, nested as an inner <svg> placed in the poster.
    let inner = qr.replacen("<svg ", r#"<svg x="40" y="150" width="280" height="280" "#, 1);
    let (store, sharer, link) = (escape(store), escape(sharer), escape(link));
    format!(
        r##"<svg xmlns="http://www.w3.org/2000/svg" width="360" height="560" viewBox="0 0 360 560"><rect width="360" height="560" rx="16" fill="#fff7ed"/><rect width="360" height="120" rx="16" fill="#c2410c"/><text x="180" y="58" text-anchor="middle" font-size="26" font-weight="700" fill="#fff" font-family="sans-serif">{store}</text><text x="180" y="94" text-anchor="middle" font-size="15" fill="#ffedd5" font-family="sans-serif">线上门店 · 到店同价</text>{inner}<text x="180" y="468" text-anchor="middle" font-size="18" fill="#431407" font-family="sans-serif">{sharer} 邀请你逛店</text><text x="180" y="498" text-anchor="middle" font-size="13" fill="#9a3412" font-family="sans-serif">长按识别二维码 · Scan to visit</text><text x="180" y="530" text-anchor="middle" font-size="11" fill="#9a3412" font-family="monospace">{link}</text></svg>"##
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_poster_names_store_and_sharer_escaped_and_holds_the_code() {
        let poster = svg("阳光<便利>店", "小王 & Co", "https://example.test/i/abc234xy");
        assert!(poster.starts_with("<svg") && poster.ends_with("</svg>"));
        assert!(poster.contains("阳光&lt;便利&gt;店"));
        assert!(poster.contains("小王 &amp; Co 邀请你逛店"));
        assert!(poster.contains("https://example.test/i/abc234xy"));
        assert!(poster.contains(r#"<svg x="40" y="150""#));
        assert!(poster.contains("<path d=\"M"));
    }
}
