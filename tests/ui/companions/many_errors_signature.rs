// signature mistakes are collected together too
use grad::derive_gradient;

#[derive_gradient]
const unsafe fn f<T>(_x: &mut [f64], _y: f32) -> i32 {
    0
}

fn main() {}
