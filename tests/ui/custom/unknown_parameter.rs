// a custom rule naming something that is not a parameter
use grad::custom_gradient;

#[custom_gradient(x = 1.0, z = 0.0)]
fn id(x: f64) -> f64 {
    x
}

fn main() {}
