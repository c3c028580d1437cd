// an empty `vec![]`, whose length is unknown
use grad::derive_gradient;

#[derive_gradient]
fn f(x: f64) -> f64 {
    let _v: Vec<f64> = vec![];
    x
}

fn main() {}
