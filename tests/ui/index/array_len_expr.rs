// a local array whose length is not a literal
use grad::derive_gradient;

#[derive_gradient]
fn f(x: f64) -> f64 {
    let a = [x; 1 + 2];
    a[0] * a[1]
}

fn main() {}
