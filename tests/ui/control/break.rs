// `break` in a `while` loop
use grad::derive_gradient;

#[derive_gradient]
fn f(x: f64) -> f64 {
    let mut y = x;
    while y > 1.0 {
        y = y * 0.5;
        break;
    }
    y
}

fn main() {}
