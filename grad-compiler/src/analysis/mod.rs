//! Analyses that run before the transforms: [`activity`] (which values carry derivatives)
//! and [`loops`] (which loops are sum-reductions or dot products).

pub mod activity;
pub mod loops;
