//! Banter server library (being built).

pub mod assets;
