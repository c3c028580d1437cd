// a float method outside the rule table: `rem_euclid`
use grad::derive_gradient;

#[derive_gradient]
fn f(x: f64) -> f64 {
    x.rem_euclid(2.0)
}

fn main() {}
