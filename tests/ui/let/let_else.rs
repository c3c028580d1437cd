// `let .. else`
use grad::derive_gradient;

#[derive_gradient]
fn f(x: f64, n: usize) -> f64 {
    let 0 = n else { return x };
    x * x
}

fn main() {}
