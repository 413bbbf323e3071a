//! One module per screen.

pub mod card;
pub mod home;
pub mod picks;
pub mod product;
pub mod shelf;
