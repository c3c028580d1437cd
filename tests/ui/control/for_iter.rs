// `for` over an iterator instead of a range
use grad::derive_gradient;

#[derive_gradient]
fn f(x: &[f64]) -> f64 {
    let mut s = 0.0;
    for v in x.iter() {
        s += *v;
    }
    s
}

fn main() {}
