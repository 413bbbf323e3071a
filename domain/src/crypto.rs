//! The few keyed hashes the product needs, in one place: HMAC-SHA256 for signatures and for
//! looking things up without storing them (one-time codes, phone numbers), SHA-256 for session
//! tokens. Keys and randomness come from the caller.

use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

type HmacSha256 = Hmac<Sha256>;

pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut text = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        text.push(char::from(DIGITS[usize::from(byte >> 4)]));
        text.push(char::from(DIGITS[usize::from(byte & 0x0f)]));
    }
    text
}

pub fn unhex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len()).step_by(2).map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok()).collect()
}

/// HMAC-SHA256 of `message` under `key`, as lowercase hex.
pub fn hmac_hex(key: &[u8], message: &[u8]) -> String {
    // HMAC takes keys of any length, so `new_from_slice` cannot fail here.
    let Ok(mut mac) = HmacSha256::new_from_slice(key) else { return String::new() };
    mac.update(message);
    hex(&mac.finalize().into_bytes())
}

/// Checks a hex HMAC-SHA256 in constant time.
pub fn hmac_verify(key: &[u8], message: &[u8], signature_hex: &str) -> bool {
    let (Some(signature), Ok(mut mac)) = (unhex(signature_hex), HmacSha256::new_from_slice(key)) else {
        return false;
    };
    mac.update(message);
    mac.verify_slice(&signature).is_ok()
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

/// Encrypts with AES-256-GCM under a 32-byte key and a 12-byte nonce that must never repeat
/// for the key (the caller draws it at random); returns hex of nonce ‖ ciphertext ‖ tag.
pub fn seal(key: &[u8; 32], nonce: [u8; 12], plaintext: &[u8]) -> Option<String> {
    use aes_gcm::aead::Aead;
    use aes_gcm::{Aes256Gcm, KeyInit, Nonce};
    let cipher = Aes256Gcm::new_from_slice(key).ok()?;
    let sealed = cipher.encrypt(Nonce::from_slice(&nonce), plaintext).ok()?;
    let mut out = nonce.to_vec();
    out.extend(sealed);
    Some(hex(&out))
}

/// Reverses [`seal`]; `None` when the text was changed or the key is not the one it was sealed with.
pub fn open(key: &[u8; 32], sealed_hex: &str) -> Option<Vec<u8>> {
    use aes_gcm::aead::Aead;
    use aes_gcm::{Aes256Gcm, KeyInit, Nonce};
    let bytes = unhex(sealed_hex)?;
    if bytes.len() < 12 + 16 {
        return None;
    }
    let (nonce, sealed) = bytes.split_at(12);
    Aes256Gcm::new_from_slice(key).ok()?.decrypt(Nonce::from_slice(nonce), sealed).ok()
}

/// A 32-byte key from 64 hex digits (how keys are kept in Worker secrets).
pub fn key_from_hex(text: &str) -> Option<[u8; 32]> {
    unhex(text.trim())?.try_into().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_text_opens_only_with_its_key_and_unchanged() {
        let key = [7u8; 32];
        let sealed = seal(&key, [1; 12], b"+8613812345678").unwrap();
        assert!(!sealed.contains("13812345678"));
        assert_eq!(open(&key, &sealed).as_deref(), Some(&b"+8613812345678"[..]));
        assert_eq!(open(&[8u8; 32], &sealed), None);
        let mut tampered = sealed.clone().into_bytes();
        let last = tampered.len() - 1;
        tampered[last] = if tampered[last] == b'0' { b'1' } else { b'0' };
        assert_eq!(open(&key, std::str::from_utf8(&tampered).unwrap()), None);
        assert_eq!(key_from_hex(&"ab".repeat(32)), Some([0xab; 32]));
        assert_eq!(key_from_hex("abcd"), None);
    }

    #[test]
    fn hmac_matches_rfc_4231_case_2() {
        assert_eq!(
            hmac_hex(b"Jefe", b"what do ya want for nothing?"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn verification_refuses_any_change() {
        let signature = hmac_hex(b"key", b"amount_fen=100");
        assert!(hmac_verify(b"key", b"amount_fen=100", &signature));
        assert!(!hmac_verify(b"key", b"amount_fen=101", &signature));
        assert!(!hmac_verify(b"other", b"amount_fen=100", &signature));
        assert!(!hmac_verify(b"key", b"amount_fen=100", "zz"));
        assert!(!hmac_verify(b"key", b"amount_fen=100", &signature[..62]));
    }

    #[test]
    fn hex_round_trips() {
        assert_eq!(unhex(&hex(&[0, 1, 254, 255])), Some(vec![0, 1, 254, 255]));
        assert_eq!(unhex("abc"), None);
        assert_eq!(sha256_hex(b"abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    }
}
