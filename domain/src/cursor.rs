//! Pagination cursors. A cursor names the last item of the page before, so the next page starts
//! strictly after it (keyset pagination): pages stay correct when items are added or removed in
//! between, and each page costs one index seek however deep the client has scrolled.
//!
//! On the wire a cursor is opaque (`v1.` and the key in base64url), so clients do not build
//! them and the format can change behind the version prefix.

use crate::catalog::{IdError, ProductId};

const PREFIX: &str = "v1.";
const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CursorError {
    #[error("cursor is not one this server issued")]
    Malformed,
    #[error("cursor names an invalid id: {0}")]
    BadId(#[from] IdError),
}

/// A position in a list ordered by product id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cursor {
    pub after: ProductId,
}

impl Cursor {
    pub fn after(product: ProductId) -> Self {
        Self { after: product }
    }

    pub fn encode(&self) -> String {
        format!("{PREFIX}{}", encode_base64url(self.after.as_str().as_bytes()))
    }

    pub fn decode(raw: &str) -> Result<Self, CursorError> {
        let body = raw.strip_prefix(PREFIX).ok_or(CursorError::Malformed)?;
        let bytes = decode_base64url(body).ok_or(CursorError::Malformed)?;
        let key = String::from_utf8(bytes).map_err(|_| CursorError::Malformed)?;
        Ok(Self { after: ProductId::parse(&key)? })
    }
}

fn encode_base64url(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let block = chunk.iter().enumerate().fold(0u32, |acc, (i, &b)| acc | u32::from(b) << (16 - 8 * i));
        // One output character per started 6 bits: 2, 3 or 4 for 1, 2 or 3 input bytes; no padding.
        for i in 0..=chunk.len() {
            let index = (block >> (18 - 6 * i)) & 0x3f;
            out.push(char::from(ALPHABET[index as usize]));
        }
    }
    out
}

fn decode_base64url(text: &str) -> Option<Vec<u8>> {
    if text.len() % 4 == 1 {
        return None;
    }
    let mut out = Vec::with_capacity(text.len() * 3 / 4);
    for chunk in text.as_bytes().chunks(4) {
        let mut block = 0u32;
        for (i, &c) in chunk.iter().enumerate() {
            let value = ALPHABET.iter().position(|&a| a == c)?;
            block |= u32::try_from(value).ok()? << (18 - 6 * i);
        }
        for i in 0..chunk.len() - 1 {
            out.push(u8::try_from((block >> (16 - 8 * i)) & 0xff).ok()?);
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn round_trips() {
        let cursor = Cursor::after(ProductId::parse("p-0012").unwrap());
        let encoded = cursor.encode();
        assert!(encoded.starts_with("v1."));
        assert_eq!(Cursor::decode(&encoded), Ok(cursor));
    }

    #[test]
    fn refuses_what_it_did_not_issue() {
        assert_eq!(Cursor::decode("p-0012"), Err(CursorError::Malformed));
        assert_eq!(Cursor::decode("v1.***"), Err(CursorError::Malformed));
        assert_eq!(Cursor::decode("v1.A"), Err(CursorError::Malformed));
        let bad_id = format!("v1.{}", encode_base64url(b"P 12"));
        assert_eq!(Cursor::decode(&bad_id), Err(CursorError::BadId(IdError::BadCharacter)));
    }

    proptest! {
        #[test]
        fn base64url_round_trips(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
            let text = encode_base64url(&bytes);
            prop_assert!(text.bytes().all(|c| ALPHABET.contains(&c)));
            prop_assert_eq!(decode_base64url(&text), Some(bytes));
        }
    }
}
