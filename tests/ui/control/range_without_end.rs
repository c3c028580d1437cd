// a `for` range without an upper bound
use grad::derive_gradient;

#[derive_gradient]
fn f(x: f64) -> f64 {
    let mut y = x;
    for _ in 0.. {
        y = y * x;
    }
    y
}

fn main() {}
