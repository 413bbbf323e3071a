//! A product's gallery rows: what an upload or a removal reads (the product's names, how many
//! pictures and images it has), and the writes, each guarded by the gallery as read, so two
//! changes at once cannot together break what `media::Gallery` allows.

use serde::Deserialize;
use tandem_domain::media::Gallery;

use super::sql::{self, Database, StoreError, statement};

/// What an upload to a supplier's product reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ForUpload {
    pub name_zh: String,
    pub name_en: String,
    pub gallery: Gallery,
}

#[derive(Deserialize)]
struct ProductRow {
    name_zh: String,
    name_en: String,
    media: i64,
    images: i64,
}

fn gallery(media: i64, images: i64) -> Gallery {
    Gallery { media: usize::try_from(media).unwrap_or(0), images: usize::try_from(images).unwrap_or(0) }
}

/// The product `product` of `supplier` with its gallery; `None` when the supplier has no such product.
pub async fn for_upload<D: Database>(db: &D, supplier: &str, product: &str) -> Result<Option<ForUpload>, StoreError> {
    let read = statement!(
        "SELECT p.name_zh, p.name_en,
                (SELECT COUNT(*) FROM media m WHERE m.product_id = p.id) AS media,
                (SELECT COUNT(*) FROM media m WHERE m.product_id = p.id AND m.kind = 'image') AS images
         FROM products p WHERE p.id = ?1 AND p.supplier_id = ?2",
        product,
        supplier
    );
    let row: Option<ProductRow> = sql::run(db, vec![read]).await?.first()?;
    Ok(row.map(|row| ForUpload { gallery: gallery(row.media, row.images), name_zh: row.name_zh, name_en: row.name_en }))
}

#[derive(Deserialize)]
struct Position {
    position: i64,
}

/// Appends an image at the end of the gallery, when it still has as many pictures as
/// `as_read` (else `None`: another upload or removal came first).
pub async fn append_image<D: Database>(
    db: &D,
    product: &str,
    as_read: Gallery,
    url: &str,
    alt: (&str, &str),
) -> Result<Option<i64>, StoreError> {
    let insert = statement!(
        "INSERT INTO media (product_id, position, kind, url, alt_zh, alt_en)
         SELECT ?1, (SELECT COALESCE(MAX(position) + 1, 0) FROM media WHERE product_id = ?1), 'image', ?3, ?4, ?5
         WHERE (SELECT COUNT(*) FROM media WHERE product_id = ?1) = ?2
         RETURNING position",
        product,
        i64::try_from(as_read.media).map_err(StoreError::failed)?,
        url,
        alt.0,
        alt.1
    );
    let row: Option<Position> = sql::run(db, vec![insert]).await?.first()?;
    Ok(row.map(|row| row.position))
}

/// What removing a picture reads: whether it is an image, and the gallery.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ForRemoval {
    pub is_image: bool,
    pub gallery: Gallery,
}

#[derive(Deserialize)]
struct PictureRow {
    kind: String,
    media: i64,
    images: i64,
}

/// The picture at `position` of `supplier`'s product, with its gallery.
pub async fn for_removal<D: Database>(
    db: &D,
    supplier: &str,
    product: &str,
    position: i64,
) -> Result<Option<ForRemoval>, StoreError> {
    let read = statement!(
        "SELECT m.kind,
                (SELECT COUNT(*) FROM media a WHERE a.product_id = m.product_id) AS media,
                (SELECT COUNT(*) FROM media a WHERE a.product_id = m.product_id AND a.kind = 'image') AS images
         FROM media m JOIN products p ON p.id = m.product_id
         WHERE m.product_id = ?1 AND m.position = ?2 AND p.supplier_id = ?3",
        product,
        position,
        supplier
    );
    let row: Option<PictureRow> = sql::run(db, vec![read]).await?.first()?;
    Ok(row.map(|row| ForRemoval { is_image: row.kind == "image", gallery: gallery(row.media, row.images) }))
}

#[derive(Deserialize)]
struct Url {
    url: String,
}

/// Removes the picture at `position`, when the product still has as many images as `as_read`
/// (else `None`: another removal came first); its URL.
pub async fn remove<D: Database>(
    db: &D,
    product: &str,
    position: i64,
    as_read: Gallery,
) -> Result<Option<String>, StoreError> {
    let delete = statement!(
        "DELETE FROM media WHERE product_id = ?1 AND position = ?2
           AND (SELECT COUNT(*) FROM media WHERE product_id = ?1 AND kind = 'image') = ?3
         RETURNING url",
        product,
        position,
        i64::try_from(as_read.images).map_err(StoreError::failed)?
    );
    let row: Option<Url> = sql::run(db, vec![delete]).await?.first()?;
    Ok(row.map(|row| row.url))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::fixtures;
    use crate::store::sqlite::block_on;

    #[test]
    fn pictures_are_appended_and_removed_only_on_the_gallery_as_read() {
        let db = fixtures::catalogue();
        assert_eq!(block_on(for_upload(&db, "sup-b", "p-1")).unwrap(), None, "another supplier's product");
        let read = block_on(for_upload(&db, "sup-a", "p-1")).unwrap().unwrap();
        assert_eq!((read.name_en.as_str(), read.gallery), ("Cup", Gallery { media: 0, images: 0 }));
        let first = block_on(append_image(&db, "p-1", read.gallery, "/api/media/a", ("杯", "Cup"))).unwrap();
        assert_eq!(first, Some(0));
        // A second upload that read the empty gallery lost the race: nothing is written.
        assert_eq!(block_on(append_image(&db, "p-1", read.gallery, "/api/media/b", ("杯", "Cup"))).unwrap(), None);
        let now = block_on(for_upload(&db, "sup-a", "p-1")).unwrap().unwrap().gallery;
        assert_eq!(block_on(append_image(&db, "p-1", now, "/api/media/b", ("杯", "Cup"))).unwrap(), Some(1));

        let picture = block_on(for_removal(&db, "sup-a", "p-1", 1)).unwrap().unwrap();
        assert_eq!(picture, ForRemoval { is_image: true, gallery: Gallery { media: 2, images: 2 } });
        assert_eq!(block_on(for_removal(&db, "sup-b", "p-1", 1)).unwrap(), None);
        assert_eq!(block_on(remove(&db, "p-1", 1, picture.gallery)).unwrap().as_deref(), Some("/api/media/b"));
        // The other removal read two images too: refused, the last image stays.
        assert_eq!(block_on(remove(&db, "p-1", 0, picture.gallery)).unwrap(), None);
        assert_eq!(block_on(for_upload(&db, "sup-a", "p-1")).unwrap().unwrap().gallery.images, 1);
    }
}
