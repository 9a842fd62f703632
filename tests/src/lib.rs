//! testkit

pub mod entra_sim;
