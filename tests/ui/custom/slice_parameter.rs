// a custom rule for a function of a slice (rules are for scalar functions of scalars)
use grad::custom_gradient;

#[custom_gradient(x = 1.0)]
fn total(x: &[f64]) -> f64 {
    x.iter().sum()
}

fn main() {}
