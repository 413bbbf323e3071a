//! Handing goods over: the pickup code a shopper shows at the store (typed or scanned from its
//! QR code), and the carrier and tracking number a supplier enters when it ships.

use serde::{Deserialize, Serialize};

/// Eight digits, unique among a store's open pickups; short enough to read out at a counter.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(transparent)]
pub struct PickupCode(String);

/// What a pickup QR code holds: a prefix, so a clerk's scanner can tell it from other codes, and
/// the code itself.
const QR_PREFIX: &str = "TANDEM-PICKUP:";

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FulfilmentError {
    #[error("a pickup code is 8 digits")]
    BadPickupCode,
    #[error("the carrier must be 1 to 40 characters")]
    BadCarrier,
    #[error("a tracking number is 6 to 40 letters, digits or '-'")]
    BadTrackingNumber,
}

impl PickupCode {
    pub fn from_random(random: u64) -> Self {
        Self(format!("{:08}", random % 100_000_000))
    }

    /// What a clerk typed or scanned: the 8 digits, with spaces or dashes anywhere, or the whole
    /// QR payload.
    pub fn parse(raw: &str) -> Result<Self, FulfilmentError> {
        let raw = raw.trim();
        let raw = raw.strip_prefix(QR_PREFIX).unwrap_or(raw);
        let digits: String = raw.chars().filter(|c| !matches!(c, ' ' | '-')).collect();
        if digits.len() == 8 && digits.bytes().all(|b| b.is_ascii_digit()) {
            Ok(Self(digits))
        } else {
            Err(FulfilmentError::BadPickupCode)
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn qr_payload(&self) -> String {
        format!("{QR_PREFIX}{}", self.0)
    }

    /// The QR code of [`PickupCode::qr_payload`] as a self-contained SVG image.
    pub fn qr_svg(&self) -> String {
        qr_svg(&self.qr_payload())
    }
}

/// Renders `text` as a QR code in SVG: one path of unit squares with a four-module quiet zone.
/// Payloads here are short, so encoding cannot fail; if it did, the image would be empty.
pub fn qr_svg(text: &str) -> String {
    let Ok(code) = qrcode::QrCode::with_error_correction_level(text, qrcode::EcLevel::M) else {
        return String::from(r#"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 1 1"/>"#);
    };
    let width = code.width();
    let size = width + 8;
    let mut path = String::new();
    for (index, colour) in code.to_colors().into_iter().enumerate() {
        if colour == qrcode::Color::Dark {
            path.push_str(&format!("M{} {}h1v1h-1z", index % width + 4, index / width + 4));
        }
    }
    format!(
        r##"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {size} {size}" shape-rendering="crispEdges"><rect width="{size}" height="{size}" fill="#fff"/><path d="{path}" fill="#000"/></svg>"##
    )
}

/// A supplier's shipment of a delivery order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct Shipment {
    pub carrier: String,
    pub tracking_no: String,
}

impl Shipment {
    pub fn validate(&self) -> Result<(), FulfilmentError> {
        let carrier = self.carrier.trim().chars().count();
        if carrier == 0 || carrier > 40 || self.carrier.chars().any(char::is_control) {
            return Err(FulfilmentError::BadCarrier);
        }
        let tracking = &self.tracking_no;
        if !(6..=40).contains(&tracking.len()) || !tracking.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
            return Err(FulfilmentError::BadTrackingNumber);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pickup_codes_are_eight_digits_typed_or_scanned() {
        let code = PickupCode::from_random(1_234);
        assert_eq!(code.as_str(), "00001234");
        assert_eq!(PickupCode::parse(" 0000 1234 "), Ok(code.clone()));
        assert_eq!(PickupCode::parse("0000-1234"), Ok(code.clone()));
        assert_eq!(PickupCode::parse(&code.qr_payload()), Ok(code.clone()));
        for bad in ["", "1234567", "123456789", "abcdefgh", "TANDEM-PICKUP:"] {
            assert_eq!(PickupCode::parse(bad), Err(FulfilmentError::BadPickupCode), "{bad}");
        }
        assert_eq!(PickupCode::from_random(u64::MAX).as_str().len(), 8);
    }

    #[test]
    fn the_qr_code_is_an_svg_with_a_quiet_zone() {
        let svg = PickupCode::from_random(87_654_321).qr_svg();
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"));
        // Version 2 (25 modules) for this payload, plus 4 modules of white on each side.
        assert!(svg.contains(r#"viewBox="0 0 33 33""#), "{svg}");
        assert!(svg.contains("M4 4h1v1h-1z"), "the top-left finder pattern starts at the quiet zone's edge");
    }

    #[test]
    fn shipments_need_a_carrier_and_a_plausible_tracking_number() {
        let ship = |carrier: &str, tracking: &str| {
            Shipment { carrier: carrier.into(), tracking_no: tracking.into() }.validate()
        };
        assert_eq!(ship("顺丰速运", "SF1234567890"), Ok(()));
        assert_eq!(ship("", "SF1234567890"), Err(FulfilmentError::BadCarrier));
        assert_eq!(ship("顺丰", "SF 123"), Err(FulfilmentError::BadTrackingNumber));
        assert_eq!(ship("顺丰", "12345"), Err(FulfilmentError::BadTrackingNumber));
    }
}
