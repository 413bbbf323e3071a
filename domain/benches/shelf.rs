//! In-process benchmarks of the shelf's request-path logic: parsing a query and cutting a page.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use tandem_domain::catalog::{Category, ProductId, ShelfItem, Text};
use tandem_domain::cursor::Cursor;
use tandem_domain::money::Fen;
use tandem_domain::shelf::{ShelfPage, ShelfQuery};

fn items(count: usize) -> Vec<ShelfItem> {
    (0..count)
        .map(|i| ShelfItem {
            product_id: ProductId::parse(&format!("p-{i:04}")).unwrap_or_else(|_| unreachable!()),
            category: Category::ALL[i % Category::ALL.len()],
            name: Text::new(format!("商品{i}"), format!("Product {i}")),
            image: format!("/media/p-{i:04}.svg"),
            price_from_fen: Fen(9_900),
            price_to_fen: Fen(12_900),
            has_model: false,
        })
        .collect()
}

fn shelf(c: &mut Criterion) {
    let cursor = Cursor::after(ProductId::parse("p-0040").unwrap_or_else(|_| unreachable!())).encode();
    c.bench_function("parse shelf query", |b| {
        b.iter(|| {
            ShelfQuery::from_params(black_box([
                ("category", "baby"),
                ("q", " Cotton  Bibs "),
                ("cursor", cursor.as_str()),
                ("limit", "20"),
            ]))
        });
    });
    let rows = items(21);
    c.bench_function("cut a 20-item page", |b| b.iter(|| ShelfPage::from_rows(black_box(rows.clone()), 20)));
}

criterion_group!(benches, shelf);
criterion_main!(benches);
