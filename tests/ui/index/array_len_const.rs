// a local array whose length is a named constant
use grad::derive_gradient;

const N: usize = 3;

#[derive_gradient]
fn f(x: f64) -> f64 {
    let a = [x; N];
    a[0] * a[1]
}

fn main() {}
