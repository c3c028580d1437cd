// a unary operator the macro does not support (`!` on an integer)
use grad::derive_gradient;

#[derive_gradient]
fn f(x: f64, n: u32) -> f64 {
    let m = !n;
    x * m as f64
}

fn main() {}
