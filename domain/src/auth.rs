//! Sign-in with a phone number and a one-time code, and sessions.
//!
//! Codes are 6 digits, single use, valid 5 minutes; a phone keeps one live code per requester,
//! and tries are limited per requester and per phone. Only a keyed hash of a
//! code is stored, bound to its phone, so a database leak does not reveal live codes. Session
//! tokens are 128 random bits handed to the browser once; the database keeps their SHA-256.

use serde::{Deserialize, Serialize};

use crate::crypto;
use crate::time::Timestamp;

/// A mainland China mobile number, normalised to E.164 (`+8613812345678`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(try_from = "String", into = "String")]
pub struct Phone(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a mainland China mobile number: 11 digits starting with 13–19, optionally after +86")]
pub struct PhoneError;

impl Phone {
    /// Accepts `13812345678`, `+86 138 1234 5678`, `0086-138-1234-5678`.
    pub fn parse(raw: &str) -> Result<Self, PhoneError> {
        let digits: String = raw.chars().filter(|c| !matches!(c, ' ' | '-')).collect();
        let national = digits.strip_prefix("+86").or_else(|| digits.strip_prefix("0086")).unwrap_or(&digits);
        let bytes = national.as_bytes();
        let valid = bytes.len() == 11
            && bytes.iter().all(u8::is_ascii_digit)
            && bytes[0] == b'1'
            && (b'3'..=b'9').contains(&bytes[1]);
        if valid { Ok(Self(format!("+86{national}"))) } else { Err(PhoneError) }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// `+86 138****5678`: what a screen or a log may show.
    pub fn masked(&self) -> String {
        let national = &self.0[3..];
        format!("+86 {}****{}", &national[..3], &national[7..])
    }

    /// The keyed hash the database looks a phone up by (the number itself is stored encrypted).
    pub fn lookup_hash(&self, key: &[u8]) -> String {
        crypto::hmac_hex(key, self.0.as_bytes())
    }
}

impl TryFrom<String> for Phone {
    type Error = PhoneError;
    fn try_from(raw: String) -> Result<Self, PhoneError> {
        Phone::parse(&raw)
    }
}

impl From<Phone> for String {
    fn from(phone: Phone) -> String {
        phone.0
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OtpPolicy {
    pub ttl_minutes: i64,
}

impl Default for OtpPolicy {
    fn default() -> Self {
        Self { ttl_minutes: 5 }
    }
}

/// A freshly made one-time code: the digits to send, and what to store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssuedCode {
    pub code: String,
    pub challenge: OtpChallenge,
}

/// What the database keeps of a code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct OtpChallenge {
    pub code_hash: String,
    pub expires_at: Timestamp,
    pub used: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OtpError {
    #[error("the code has expired; ask for a new one")]
    Expired,
    #[error("too many wrong codes; ask for a new one")]
    TooManyAttempts,
    #[error("the code has already been used")]
    AlreadyUsed,
    #[error("wrong code; {attempts_left} tries left")]
    Wrong { attempts_left: u32 },
    #[error("a code is 6 digits")]
    Malformed,
}

fn code_hash(key: &[u8], phone: &Phone, code: &str) -> String {
    crypto::hmac_hex(key, format!("{}|{code}", phone.as_str()).as_bytes())
}

/// Makes a code from 64 random bits. Reducing 2^64 values to 10^6 codes skews the odds by less
/// than one in 10^13, far below anything an attacker with 5 tries could use.
pub fn issue_code(random: u64, phone: &Phone, key: &[u8], now: Timestamp, policy: OtpPolicy) -> IssuedCode {
    let code = format!("{:06}", random % 1_000_000);
    let challenge = OtpChallenge {
        code_hash: code_hash(key, phone, &code),
        expires_at: now.plus_minutes(policy.ttl_minutes),
        used: false,
    };
    IssuedCode { code, challenge }
}

/// Whether `given` looks like a code at all (six ASCII digits), before any is looked up.
pub fn is_well_formed_code(given: &str) -> bool {
    given.len() == 6 && given.bytes().all(|b| b.is_ascii_digit())
}

/// How many sign-in tries a window allows: per phone and requester (so a stranger's wrong
/// guesses cannot lock the owner out) and per phone in all (so many requesters together cannot
/// search the codes). The window is [`GUESS_WINDOW_MINUTES`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GuessLimits {
    pub per_requester: u32,
    pub per_phone: u32,
}

/// The window sign-in tries are counted in: twice a code's life.
pub const GUESS_WINDOW_MINUTES: i64 = 10;

impl Default for GuessLimits {
    fn default() -> Self {
        Self { per_requester: 5, per_phone: 50 }
    }
}

impl GuessLimits {
    pub fn window_ms(self) -> i64 {
        GUESS_WINDOW_MINUTES * Timestamp::MINUTE_MS
    }
}

/// The sign-in tries counted in the current window, this one included: they are counted before
/// the check, atomically, so parallel guesses cannot share a try.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tries {
    pub by_requester: u32,
    pub for_phone: u32,
}

/// A sign-in try against every live code of a phone: a phone keeps one code per requester, so
/// a code asked for by someone else never voids the owner's. Answers which code matched.
pub fn check_sign_in(
    codes: &[OtpChallenge],
    tries: Tries,
    limits: GuessLimits,
    phone: &Phone,
    given: &str,
    key: &[u8],
    now: Timestamp,
) -> Result<usize, OtpError> {
    if !is_well_formed_code(given) {
        return Err(OtpError::Malformed);
    }
    if tries.by_requester > limits.per_requester || tries.for_phone > limits.per_phone {
        return Err(OtpError::TooManyAttempts);
    }
    let signed = format!("{}|{given}", phone.as_str());
    let matching = codes.iter().position(|c| crypto::hmac_verify(key, signed.as_bytes(), &c.code_hash));
    match matching {
        Some(index) if codes[index].used => Err(OtpError::AlreadyUsed),
        Some(index) if now > codes[index].expires_at => Err(OtpError::Expired),
        Some(index) => Ok(index),
        None => {
            let left = (limits.per_requester - tries.by_requester).min(limits.per_phone - tries.for_phone);
            Err(if left == 0 { OtpError::TooManyAttempts } else { OtpError::Wrong { attempts_left: left } })
        }
    }
}

/// A fixed-window rate limit: at most `max` events per `window_ms`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    pub max: u32,
    pub window_ms: i64,
}

impl RateLimit {
    /// The window `now` falls in, as a key for the counter.
    pub fn window(self, now: Timestamp) -> i64 {
        now.millis().div_euclid(self.window_ms.max(1))
    }

    /// Whether one more event is allowed when `count` already happened in this window.
    pub fn allows(self, count: u32) -> bool {
        count < self.max
    }
}

/// A session token: 128 random bits, given to the browser as hex and stored as its SHA-256.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionToken(String);

impl SessionToken {
    pub fn from_random(bytes: [u8; 16]) -> Self {
        Self(crypto::hex(&bytes))
    }

    /// Accepts only what [`SessionToken::from_random`] makes (32 lowercase hex digits).
    pub fn parse(raw: &str) -> Option<Self> {
        (raw.len() == 32 && raw.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)))
            .then(|| Self(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn stored_hash(&self) -> String {
        crypto::sha256_hex(self.0.as_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &[u8] = b"test-otp-key";
    const NOW: Timestamp = Timestamp(1_790_000_000_000);

    fn phone() -> Phone {
        Phone::parse("138 1234 5678").unwrap()
    }

    #[test]
    fn phones_are_normalised_and_masked() {
        for raw in ["13812345678", "+8613812345678", "+86 138 1234 5678", "0086-138-1234-5678"] {
            assert_eq!(Phone::parse(raw).unwrap().as_str(), "+8613812345678", "{raw}");
        }
        for raw in ["", "12812345678", "1381234567", "138123456789", "+1 650 253 0000", "1381234567x"] {
            assert_eq!(Phone::parse(raw), Err(PhoneError), "{raw}");
        }
        assert_eq!(phone().masked(), "+86 138****5678");
        assert_ne!(phone().lookup_hash(KEY), phone().lookup_hash(b"other key"));
    }

    const LIMITS: GuessLimits = GuessLimits { per_requester: 5, per_phone: 50 };

    fn tries(by_requester: u32, for_phone: u32) -> Tries {
        Tries { by_requester, for_phone }
    }

    #[test]
    fn a_code_works_once_and_expires() {
        let issued = issue_code(42, &phone(), KEY, NOW, OtpPolicy::default());
        assert_eq!(issued.code, "000042");
        let codes = [issued.challenge.clone()];
        assert_eq!(check_sign_in(&codes, tries(1, 1), LIMITS, &phone(), "000042", KEY, NOW.plus_minutes(4)), Ok(0));
        let used = [OtpChallenge { used: true, ..issued.challenge.clone() }];
        assert_eq!(check_sign_in(&used, tries(2, 2), LIMITS, &phone(), "000042", KEY, NOW), Err(OtpError::AlreadyUsed));
        let late = NOW.plus_minutes(5).plus_millis(1);
        assert_eq!(check_sign_in(&codes, tries(1, 1), LIMITS, &phone(), "000042", KEY, late), Err(OtpError::Expired));
    }

    /// A stranger who asks for codes for the owner's phone gets a code of their own: the owner's
    /// stays valid, and the stranger's wrong guesses use up only the stranger's tries.
    #[test]
    fn every_live_code_of_a_phone_is_accepted() {
        let owners = issue_code(111_111, &phone(), KEY, NOW, OtpPolicy::default()).challenge;
        let strangers = issue_code(222_222, &phone(), KEY, NOW.plus_minutes(1), OtpPolicy::default()).challenge;
        let codes = [owners, strangers];
        assert_eq!(check_sign_in(&codes, tries(1, 6), LIMITS, &phone(), "111111", KEY, NOW), Ok(0));
        assert_eq!(check_sign_in(&codes, tries(1, 7), LIMITS, &phone(), "222222", KEY, NOW), Ok(1));
    }

    #[test]
    fn tries_are_limited_per_requester_and_per_phone() {
        let codes = [issue_code(123_456, &phone(), KEY, NOW, OtpPolicy::default()).challenge];
        for n in 1..5 {
            assert_eq!(
                check_sign_in(&codes, tries(n, n), LIMITS, &phone(), "000000", KEY, NOW),
                Err(OtpError::Wrong { attempts_left: 5 - n })
            );
        }
        assert_eq!(
            check_sign_in(&codes, tries(5, 5), LIMITS, &phone(), "000000", KEY, NOW),
            Err(OtpError::TooManyAttempts)
        );
        assert_eq!(
            check_sign_in(&codes, tries(6, 6), LIMITS, &phone(), "123456", KEY, NOW),
            Err(OtpError::TooManyAttempts),
            "even the right code, from a requester that used its tries"
        );
        assert_eq!(
            check_sign_in(&codes, tries(1, 6), LIMITS, &phone(), "123456", KEY, NOW),
            Ok(0),
            "another requester"
        );
        assert_eq!(
            check_sign_in(&codes, tries(1, 51), LIMITS, &phone(), "123456", KEY, NOW),
            Err(OtpError::TooManyAttempts)
        );
        assert_eq!(
            check_sign_in(&codes, tries(1, 49), LIMITS, &phone(), "000000", KEY, NOW),
            Err(OtpError::Wrong { attempts_left: 1 })
        );
    }

    #[test]
    fn a_code_is_bound_to_its_phone() {
        let codes = [issue_code(7, &phone(), KEY, NOW, OtpPolicy::default()).challenge];
        let other = Phone::parse("13900000000").unwrap();
        assert!(matches!(
            check_sign_in(&codes, tries(1, 1), LIMITS, &other, "000007", KEY, NOW),
            Err(OtpError::Wrong { .. })
        ));
        assert_eq!(check_sign_in(&codes, tries(1, 1), LIMITS, &phone(), "7", KEY, NOW), Err(OtpError::Malformed));
    }

    #[test]
    fn rate_limits_count_per_window() {
        let limit = RateLimit { max: 3, window_ms: 60_000 };
        assert!(limit.allows(2));
        assert!(!limit.allows(3));
        assert_eq!(limit.window(Timestamp(59_999)), 0);
        assert_eq!(limit.window(Timestamp(60_000)), 1);
    }

    #[test]
    fn session_tokens_are_128_bits_and_stored_hashed() {
        let token = SessionToken::from_random([0xab; 16]);
        assert_eq!(token.as_str().len(), 32);
        assert_eq!(SessionToken::parse(token.as_str()), Some(token.clone()));
        assert_eq!(SessionToken::parse("ABABABABABABABABABABABABABABABAB"), None);
        assert_eq!(SessionToken::parse("abab"), None);
        assert_ne!(token.stored_hash(), token.as_str());
        assert_eq!(token.stored_hash().len(), 64);
    }
}
