//! One module per desk screen.

pub mod cart;
pub mod console;
pub mod followup;
pub mod instore;
pub mod manage;
pub mod me;
pub mod mycard;
pub mod network;
pub mod orders;
pub mod pay;
pub mod promotions;
pub mod share;
pub mod signin;
