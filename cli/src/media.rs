//! Product media for the demo catalogue, drawn in code so the repository holds no opaque
//! binaries it cannot regenerate: two SVG pictures per product (the product on its own, and a
//! close-up) and glTF binary models for the products that have one.

use std::fmt::Write as _;

use tandem_domain::catalog::Category;

use crate::demo::Product;

/// The 3D models the demo catalogue has: each a surface of revolution from a profile.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ModelShape {
    Mug,
    Bottle,
    Dropper,
}

/// The product's main colour: its first colour variant, or its category's.
pub fn main_colour(product: &Product) -> &'static str {
    product.colours.first().map_or(
        match product.category {
            Category::Clothing => "#8fa9c4",
            Category::Beauty => "#e8b4b8",
            Category::Baby => "#f3e3b0",
            Category::Snacks => "#e0a040",
            Category::Home => "#a8c8b0",
        },
        |colour| colour.2,
    )
}

fn background(category: Category) -> (&'static str, &'static str) {
    match category {
        Category::Clothing => ("#eef3f8", "#d6e2ee"),
        Category::Beauty => ("#fbeef0", "#f2d4da"),
        Category::Baby => ("#fdf6e6", "#f5e4bc"),
        Category::Snacks => ("#fff1e0", "#f8d8b0"),
        Category::Home => ("#eef6f0", "#d4e8da"),
    }
}

/// What the picture draws: the category's usual object, or a better-fitting one named by the
/// product's English name.
#[derive(Clone, Copy)]
enum Figure {
    Top,
    Trousers,
    Dress,
    Bottle,
    Lipstick,
    Palette,
    FeedingBottle,
    Bag,
    Tin,
    Mug,
    Candle,
    Folded,
}

fn figure_for(product: &Product) -> Figure {
    let name = product.name.1.to_ascii_lowercase();
    let has = |words: &[&str]| words.iter().any(|word| name.contains(word));
    match product.category {
        Category::Clothing if has(&["jeans", "trousers", "shorts"]) => Figure::Trousers,
        Category::Clothing if has(&["dress"]) => Figure::Dress,
        Category::Clothing => Figure::Top,
        Category::Beauty if has(&["lipstick"]) => Figure::Lipstick,
        Category::Beauty if has(&["palette"]) => Figure::Palette,
        Category::Beauty => Figure::Bottle,
        Category::Baby if has(&["bodysuit"]) => Figure::Top,
        Category::Baby if has(&["formula", "tablets", "wipes", "nappies"]) => Figure::Tin,
        Category::Baby => Figure::FeedingBottle,
        Category::Snacks if has(&["coffee", "longjing", "tea"]) => Figure::Tin,
        Category::Snacks => Figure::Bag,
        Category::Home if has(&["mug", "flask"]) => Figure::Mug,
        Category::Home if has(&["candle"]) => Figure::Candle,
        Category::Home => Figure::Folded,
    }
}

fn figure(figure: Figure, colour: &str) -> String {
    let outline = r##"stroke="#00000026" stroke-width="4""##;
    match figure {
        Figure::Top => format!(
            r#"<path d="M210 150 L260 130 Q300 165 340 130 L390 150 L450 210 L410 255 L385 235 L385 470 L215 470 L215 235 L190 255 L150 210 Z" fill="{colour}" {outline}/>"#
        ),
        Figure::Trousers => format!(
            r##"<path d="M215 130 L385 130 L405 470 L320 470 L300 240 L280 470 L195 470 Z" fill="{colour}" {outline}/><path d="M215 160 H385" stroke="#00000030" stroke-width="4"/>"##
        ),
        Figure::Dress => format!(
            r##"<path d="M255 120 L275 120 Q300 150 325 120 L345 120 L360 250 L440 470 L160 470 L240 250 Z" fill="{colour}" {outline}/><path d="M240 250 H360" stroke="#00000030" stroke-width="6"/>"##
        ),
        Figure::Bottle => format!(
            r##"<rect x="245" y="230" width="110" height="240" rx="18" fill="{colour}" {outline}/><rect x="262" y="140" width="76" height="95" rx="10" fill="#3a3a3a"/><rect x="262" y="300" width="76" height="60" rx="6" fill="#ffffff88"/>"##
        ),
        Figure::Lipstick => format!(
            r##"<rect x="250" y="300" width="100" height="170" rx="8" fill="#2b2b2b" {outline}/><rect x="262" y="230" width="76" height="75" fill="#c9a44c"/><path d="M270 230 L270 150 L330 120 L330 230 Z" fill="{colour}" {outline}/>"##
        ),
        Figure::Palette => format!(
            r##"<rect x="160" y="200" width="280" height="200" rx="20" fill="#2b2b2b" {outline}/><g fill="{colour}"><rect x="185" y="225" width="70" height="70" rx="10"/><rect x="265" y="225" width="70" height="70" rx="10" opacity="0.8"/><rect x="345" y="225" width="70" height="70" rx="10" opacity="0.6"/><rect x="185" y="305" width="70" height="70" rx="10" opacity="0.5"/><rect x="265" y="305" width="70" height="70" rx="10" opacity="0.9"/><rect x="345" y="305" width="70" height="70" rx="10" opacity="0.7"/></g>"##
        ),
        Figure::FeedingBottle => format!(
            r##"<path d="M280 120 Q300 95 320 120 L325 165 L275 165 Z" fill="#f0c8a0" {outline}/><rect x="255" y="165" width="90" height="28" rx="8" fill="#7fb3d5"/><rect x="245" y="193" width="110" height="270" rx="34" fill="{colour}" {outline}/><path d="M260 260 h40 M260 310 h40 M260 360 h40 M260 410 h40" stroke="#00000040" stroke-width="5"/>"##
        ),
        Figure::Bag => format!(
            r##"<path d="M190 160 L410 160 L430 460 L170 460 Z" fill="{colour}" {outline}/><path d="M190 160 l18 -22 l18 22 l18 -22 l18 22 l18 -22 l18 22 l18 -22 l18 22 l18 -22 l18 22 l18 -22 l18 22" fill="none" stroke="{colour}" stroke-width="10"/><circle cx="300" cy="300" r="70" fill="#ffffffaa"/>"##
        ),
        Figure::Tin => format!(
            r##"<rect x="215" y="170" width="170" height="290" rx="14" fill="{colour}" {outline}/><rect x="205" y="150" width="190" height="40" rx="10" fill="#d9d9d9" {outline}/><rect x="235" y="260" width="130" height="110" rx="8" fill="#ffffffb0"/>"##
        ),
        Figure::Mug => format!(
            r##"<path d="M390 250 q70 0 70 60 q0 60 -70 60" fill="none" stroke="{colour}" stroke-width="28"/><rect x="200" y="200" width="200" height="250" rx="24" fill="{colour}" {outline}/><ellipse cx="300" cy="205" rx="100" ry="18" fill="#00000022"/>"##
        ),
        Figure::Candle => format!(
            r##"<rect x="220" y="240" width="160" height="220" rx="16" fill="{colour}" {outline}/><path d="M300 240 v-40" stroke="#333" stroke-width="5"/><path d="M300 150 q22 30 0 52 q-22 -22 0 -52 Z" fill="#f5a623"/>"##
        ),
        Figure::Folded => format!(
            r#"<rect x="150" y="330" width="300" height="110" rx="12" fill="{colour}" {outline}/><rect x="170" y="240" width="260" height="95" rx="12" fill="{colour}" opacity="0.85" {outline}/><rect x="190" y="160" width="220" height="85" rx="12" fill="{colour}" opacity="0.7" {outline}/>"#
        ),
    }
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

/// The product's picture; `close_up` zooms into the figure on a darker ground.
pub fn picture_svg(product: &Product, close_up: bool) -> String {
    let (light, dark) = background(product.category);
    let (from, to) = if close_up { (dark, light) } else { (light, dark) };
    let transform = if close_up { r#" transform="translate(-180 -210) scale(1.6)""# } else { "" };
    let mut svg = String::new();
    let _ = write!(
        svg,
        r##"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 600 600" width="600" height="600" role="img" aria-label="{name}"><defs><linearGradient id="g" x1="0" y1="0" x2="0" y2="1"><stop offset="0" stop-color="{from}"/><stop offset="1" stop-color="{to}"/></linearGradient></defs><rect width="600" height="600" fill="url(#g)"/><ellipse cx="300" cy="490" rx="170" ry="22" fill="#0000001a"/><g{transform}>{figure}</g>"##,
        name = escape(product.name.0),
        figure = figure(figure_for(product), main_colour(product)),
    );
    if !close_up {
        let _ = write!(
            svg,
            r##"<text x="300" y="550" text-anchor="middle" font-family="'Noto Sans CJK SC','PingFang SC',sans-serif" font-size="30" fill="#333">{}</text>"##,
            escape(product.name.0)
        );
    }
    svg.push_str("</svg>\n");
    svg
}

/// The profile of a shape as (radius, height) points from the bottom centre up the outside.
fn profile(shape: ModelShape) -> (Vec<(f32, f32)>, [f32; 4]) {
    match shape {
        ModelShape::Mug => (
            vec![
                (0.0, 0.0),
                (0.40, 0.0),
                (0.42, 0.02),
                (0.44, 0.80),
                (0.46, 0.84),
                (0.40, 0.84),
                (0.38, 0.10),
                (0.0, 0.10),
            ],
            [0.92, 0.94, 0.98, 1.0],
        ),
        ModelShape::Bottle => (
            vec![
                (0.0, 0.0),
                (0.30, 0.0),
                (0.32, 0.04),
                (0.32, 0.78),
                (0.26, 0.84),
                (0.26, 0.92),
                (0.14, 0.96),
                (0.10, 1.10),
                (0.05, 1.16),
                (0.0, 1.17),
            ],
            [0.85, 0.92, 0.97, 1.0],
        ),
        ModelShape::Dropper => (
            vec![
                (0.0, 0.0),
                (0.22, 0.0),
                (0.24, 0.03),
                (0.24, 0.55),
                (0.18, 0.62),
                (0.11, 0.64),
                (0.12, 0.78),
                (0.09, 0.80),
                (0.09, 0.98),
                (0.0, 1.0),
            ],
            [0.86, 0.55, 0.32, 1.0],
        ),
    }
}

/// A mug's handle: the outer half of a torus standing on the mug's side.
fn add_handle(positions: &mut Vec<[f32; 3]>, normals: &mut Vec<[f32; 3]>, indices: &mut Vec<u16>) {
    const AROUND: usize = 24;
    const TUBE: usize = 12;
    let (centre_x, centre_y, major, minor) = (0.44_f32, 0.44_f32, 0.22_f32, 0.045_f32);
    let first = positions.len();
    for i in 0..=AROUND {
        // From the top of the handle, outwards and round to the bottom.
        #[allow(clippy::cast_precision_loss)]
        let theta = std::f32::consts::FRAC_PI_2 - (i as f32 / AROUND as f32) * std::f32::consts::PI;
        let (sin_t, cos_t) = theta.sin_cos();
        for j in 0..=TUBE {
            #[allow(clippy::cast_precision_loss)]
            let phi = j as f32 / TUBE as f32 * std::f32::consts::TAU;
            let (sin_p, cos_p) = phi.sin_cos();
            let normal = [cos_p * cos_t, cos_p * sin_t, sin_p];
            positions.push([
                centre_x + (major + minor * cos_p) * cos_t,
                centre_y + (major + minor * cos_p) * sin_t,
                minor * sin_p,
            ]);
            normals.push(normal);
        }
    }
    let row = TUBE + 1;
    for i in 0..AROUND {
        for j in 0..TUBE {
            let a = u16::try_from(first + i * row + j).unwrap_or(u16::MAX);
            let b = a + u16::try_from(row).unwrap_or(0);
            indices.extend_from_slice(&[a, b, a + 1, a + 1, b, b + 1]);
        }
    }
}

/// A glTF 2.0 binary (GLB) of the shape: the profile turned about the vertical axis, with one
/// metallic-roughness material.
pub fn model_glb(shape: ModelShape) -> Vec<u8> {
    const SEGMENTS: usize = 48;
    let (points, colour) = profile(shape);
    let mut positions: Vec<[f32; 3]> = Vec::new();
    let mut normals: Vec<[f32; 3]> = Vec::new();
    for (i, &(radius, height)) in points.iter().enumerate() {
        // The normal of the profile at this point, from its neighbours, turned outwards.
        let (before, after) = (points[i.saturating_sub(1)], points[(i + 1).min(points.len() - 1)]);
        let (dr, dy) = (after.0 - before.0, after.1 - before.1);
        let length = (dr * dr + dy * dy).sqrt().max(f32::EPSILON);
        let (normal_r, normal_y) = (dy / length, -dr / length);
        for segment in 0..=SEGMENTS {
            #[allow(clippy::cast_precision_loss)]
            let angle = segment as f32 / SEGMENTS as f32 * std::f32::consts::TAU;
            let (sin, cos) = angle.sin_cos();
            positions.push([radius * cos, height, radius * sin]);
            normals.push([normal_r * cos, normal_y, normal_r * sin]);
        }
    }
    let ring = SEGMENTS + 1;
    let mut indices: Vec<u16> = Vec::new();
    for row in 0..points.len() - 1 {
        for segment in 0..SEGMENTS {
            let a = u16::try_from(row * ring + segment).unwrap_or(u16::MAX);
            let b = a + u16::try_from(ring).unwrap_or(0);
            indices.extend_from_slice(&[a, a + 1, b, b, a + 1, b + 1]);
        }
    }
    if shape == ModelShape::Mug {
        add_handle(&mut positions, &mut normals, &mut indices);
    }
    let mut binary: Vec<u8> = Vec::new();
    for value in positions.iter().chain(&normals).flatten() {
        binary.extend_from_slice(&value.to_le_bytes());
    }
    let positions_bytes = positions.len() * 12;
    for index in &indices {
        binary.extend_from_slice(&index.to_le_bytes());
    }
    while !binary.len().is_multiple_of(4) {
        binary.push(0);
    }
    let (mut min, mut max) = ([f32::MAX; 3], [f32::MIN; 3]);
    for position in &positions {
        for axis in 0..3 {
            min[axis] = min[axis].min(position[axis]);
            max[axis] = max[axis].max(position[axis]);
        }
    }
    let json = serde_json::json!({
        "asset": {"version": "2.0", "generator": "tandem seed media"},
        "scene": 0,
        "scenes": [{"nodes": [0]}],
        "nodes": [{"mesh": 0}],
        "meshes": [{"primitives": [{"attributes": {"POSITION": 0, "NORMAL": 1}, "indices": 2, "material": 0}]}],
        "materials": [{"pbrMetallicRoughness": {"baseColorFactor": colour, "metallicFactor": 0.0, "roughnessFactor": 0.35}, "doubleSided": true}],
        "buffers": [{"byteLength": binary.len()}],
        "bufferViews": [
            {"buffer": 0, "byteOffset": 0, "byteLength": positions_bytes, "target": 34962},
            {"buffer": 0, "byteOffset": positions_bytes, "byteLength": positions_bytes, "target": 34962},
            {"buffer": 0, "byteOffset": positions_bytes * 2, "byteLength": indices.len() * 2, "target": 34963}
        ],
        "accessors": [
            {"bufferView": 0, "componentType": 5126, "count": positions.len(), "type": "VEC3", "min": min, "max": max},
            {"bufferView": 1, "componentType": 5126, "count": normals.len(), "type": "VEC3"},
            {"bufferView": 2, "componentType": 5123, "count": indices.len(), "type": "SCALAR"}
        ]
    });
    let mut json_bytes = json.to_string().into_bytes();
    while !json_bytes.len().is_multiple_of(4) {
        json_bytes.push(b' ');
    }
    let total = 12 + 8 + json_bytes.len() + 8 + binary.len();
    let mut glb = Vec::with_capacity(total);
    let word = |n: usize| u32::try_from(n).unwrap_or(u32::MAX).to_le_bytes();
    glb.extend_from_slice(b"glTF");
    glb.extend_from_slice(&2u32.to_le_bytes());
    glb.extend_from_slice(&word(total));
    glb.extend_from_slice(&word(json_bytes.len()));
    glb.extend_from_slice(b"JSON");
    glb.extend_from_slice(&json_bytes);
    glb.extend_from_slice(&word(binary.len()));
    glb.extend_from_slice(b"BIN\0");
    glb.extend_from_slice(&binary);
    glb
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn glb_has_a_valid_header_and_chunks() {
        for shape in [ModelShape::Mug, ModelShape::Bottle, ModelShape::Dropper] {
            let glb = model_glb(shape);
            assert_eq!(&glb[0..4], b"glTF");
            let total = u32::from_le_bytes(glb[8..12].try_into().unwrap()) as usize;
            assert_eq!(total, glb.len());
            let json_len = u32::from_le_bytes(glb[12..16].try_into().unwrap()) as usize;
            assert_eq!(&glb[16..20], b"JSON");
            let json: serde_json::Value = serde_json::from_slice(&glb[20..20 + json_len]).unwrap();
            let bin_len = u32::from_le_bytes(glb[20 + json_len..24 + json_len].try_into().unwrap()) as usize;
            assert_eq!(json["buffers"][0]["byteLength"].as_u64().unwrap(), bin_len as u64);
            assert_eq!(total, 28 + json_len + bin_len);
        }
    }
}
