// A number whose type nothing shows (a field of a struct the macro cannot see), used in
// arithmetic that integers and floats both have: the macro asks for an annotation.
use grad::derive_gradient;

pub struct Config {
    pub k: i64,
}

#[derive_gradient(wrt(x))]
fn f(x: f64, c: &Config) -> f64 {
    let m = c.k.abs();
    x * m as f64
}

fn main() {}
