// a slice pattern in `let`
use grad::derive_gradient;

#[derive_gradient]
fn f(x: [f64; 2]) -> f64 {
    let [a, b] = x;
    a * b
}

fn main() {}
