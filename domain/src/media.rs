//! Pictures a supplier uploads for a product. Only raster formats are accepted, recognised by
//! their first bytes rather than by what the upload claims: an SVG or HTML file served from the
//! shop's own origin could run script.

use serde::{Deserialize, Serialize};

/// The largest picture one upload may carry.
pub const MAX_IMAGE_BYTES: usize = 1024 * 1024;

/// The most pictures and models one product shows.
pub const MAX_MEDIA_PER_PRODUCT: usize = 12;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum ImageFormat {
    Png,
    Jpeg,
    Webp,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MediaError {
    #[error("the picture is empty")]
    Empty,
    #[error("a picture may be at most {max} bytes")]
    TooLarge { max: usize },
    #[error("only PNG, JPEG and WebP pictures are accepted")]
    UnknownFormat,
    #[error("the declared type {declared} does not match the picture's content ({actual})")]
    Mismatch { declared: String, actual: &'static str },
}

impl ImageFormat {
    pub fn content_type(self) -> &'static str {
        match self {
            ImageFormat::Png => "image/png",
            ImageFormat::Jpeg => "image/jpeg",
            ImageFormat::Webp => "image/webp",
        }
    }

    /// The format the bytes are in, by their signature.
    pub fn sniff(bytes: &[u8]) -> Option<ImageFormat> {
        if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
            Some(ImageFormat::Png)
        } else if bytes.starts_with(&[0xff, 0xd8, 0xff]) {
            Some(ImageFormat::Jpeg)
        } else if bytes.len() >= 12 && &bytes[..4] == b"RIFF" && &bytes[8..12] == b"WEBP" {
            Some(ImageFormat::Webp)
        } else {
            None
        }
    }
}

/// Checks an upload: its size, that its content is a picture, and that it is what the
/// `Content-Type` says (when one is given).
pub fn check_upload(bytes: &[u8], declared: Option<&str>) -> Result<ImageFormat, MediaError> {
    if bytes.is_empty() {
        return Err(MediaError::Empty);
    }
    if bytes.len() > MAX_IMAGE_BYTES {
        return Err(MediaError::TooLarge { max: MAX_IMAGE_BYTES });
    }
    let format = ImageFormat::sniff(bytes).ok_or(MediaError::UnknownFormat)?;
    let declared = declared.map(|d| d.split(';').next().unwrap_or("").trim().to_ascii_lowercase());
    if let Some(declared) = declared
        && !declared.is_empty()
        && declared != format.content_type()
        && declared != "application/octet-stream"
    {
        return Err(MediaError::Mismatch { declared, actual: format.content_type() });
    }
    Ok(format)
}

/// A product's pictures as stored: how many, and how many of them are images.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Gallery {
    pub media: usize,
    pub images: usize,
}

/// Why a product's pictures cannot change so.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GalleryError {
    #[error("a product shows at most {MAX_MEDIA_PER_PRODUCT} pictures")]
    Full,
    #[error("a product keeps at least one image: the shelf shows it")]
    LastImage,
}

impl Gallery {
    /// One more picture.
    pub fn add(self) -> Result<Gallery, GalleryError> {
        if self.media >= MAX_MEDIA_PER_PRODUCT {
            return Err(GalleryError::Full);
        }
        Ok(Gallery { media: self.media + 1, images: self.images + 1 })
    }

    /// One picture less, of which `is_image` says whether it is an image.
    pub fn remove(self, is_image: bool) -> Result<Gallery, GalleryError> {
        if is_image && self.images <= 1 {
            return Err(GalleryError::LastImage);
        }
        Ok(Gallery { media: self.media.saturating_sub(1), images: self.images - usize::from(is_image) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR";

    #[test]
    fn a_gallery_holds_at_most_twelve_and_keeps_its_last_image() {
        let one = Gallery { media: 1, images: 1 };
        assert_eq!(one.remove(true), Err(GalleryError::LastImage));
        assert_eq!(Gallery { media: 2, images: 1 }.remove(false), Ok(one));
        assert_eq!(Gallery { media: 2, images: 2 }.remove(true), Ok(Gallery { media: 1, images: 1 }));
        assert_eq!(one.add(), Ok(Gallery { media: 2, images: 2 }));
        let full = Gallery { media: MAX_MEDIA_PER_PRODUCT, images: MAX_MEDIA_PER_PRODUCT };
        assert_eq!(full.add(), Err(GalleryError::Full));
    }

    #[test]
    fn pictures_are_known_by_their_bytes() {
        assert_eq!(check_upload(PNG, Some("image/png")), Ok(ImageFormat::Png));
        assert_eq!(check_upload(PNG, None), Ok(ImageFormat::Png));
        assert_eq!(check_upload(&[0xff, 0xd8, 0xff, 0xe0], Some("image/jpeg; q=1")), Ok(ImageFormat::Jpeg));
        assert_eq!(check_upload(b"RIFF\0\0\0\0WEBPVP8 ", Some("image/webp")), Ok(ImageFormat::Webp));
        assert_eq!(check_upload(b"<svg onload=alert(1)>", Some("image/png")), Err(MediaError::UnknownFormat));
        assert!(matches!(check_upload(PNG, Some("image/jpeg")), Err(MediaError::Mismatch { .. })));
        assert_eq!(check_upload(b"", None), Err(MediaError::Empty));
        let huge = [PNG, &vec![0u8; MAX_IMAGE_BYTES]].concat();
        assert_eq!(check_upload(&huge, None), Err(MediaError::TooLarge { max: MAX_IMAGE_BYTES }));
    }
}
