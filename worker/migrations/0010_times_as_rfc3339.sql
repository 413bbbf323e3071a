-- The catalogue's text timestamps in one form, RFC 3339 in UTC to the second
-- (`2026-11-01T08:00:00Z`), as the demo data always wrote them: rows the Worker wrote as
-- milliseconds (listing a SKU on a shelf, importing a product, creating a store or supplier)
-- sorted before every other row, since text compares "1…" below "2…".
UPDATE shelf_items SET listed_at = strftime('%Y-%m-%dT%H:%M:%SZ', CAST(listed_at AS INTEGER) / 1000, 'unixepoch')
WHERE listed_at NOT GLOB '*-*';
UPDATE products SET created_at = strftime('%Y-%m-%dT%H:%M:%SZ', CAST(created_at AS INTEGER) / 1000, 'unixepoch')
WHERE created_at NOT GLOB '*-*';
UPDATE stores SET created_at = strftime('%Y-%m-%dT%H:%M:%SZ', CAST(created_at AS INTEGER) / 1000, 'unixepoch')
WHERE created_at NOT GLOB '*-*';
UPDATE suppliers SET created_at = strftime('%Y-%m-%dT%H:%M:%SZ', CAST(created_at AS INTEGER) / 1000, 'unixepoch')
WHERE created_at NOT GLOB '*-*';
