// an `unsafe` block
use grad::derive_gradient;

unsafe fn scale() -> f64 {
    2.0
}

#[derive_gradient]
fn f(x: f64) -> f64 {
    let s = unsafe { scale() };
    x * s
}

fn main() {}
