//! One module per screen.

pub mod home;
pub mod picks;
pub mod product;
pub mod shelf;
