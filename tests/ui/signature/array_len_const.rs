// an array parameter whose length is a named constant
use grad::derive_gradient;

const N: usize = 3;

#[derive_gradient]
fn f(x: [f64; N]) -> f64 {
    x[0] * x[1]
}

fn main() {}
