// iterator methods: `x.iter().sum::<f64>()`
use grad::derive_gradient;

#[derive_gradient]
fn f(x: &[f64]) -> f64 {
    x.iter().sum::<f64>()
}

fn main() {}
