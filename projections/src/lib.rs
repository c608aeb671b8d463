//! Read models of Annals.

pub mod sql;
