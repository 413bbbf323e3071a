//! One module per screen.

pub mod home;
pub mod product;
pub mod shelf;
