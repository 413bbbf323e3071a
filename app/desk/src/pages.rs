//! One module per desk screen.

pub mod cart;
pub mod console;
pub mod orders;
pub mod pay;
pub mod signin;
