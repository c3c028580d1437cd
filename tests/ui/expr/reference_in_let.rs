// a reference `&x` outside a call argument
use grad::derive_gradient;

#[derive_gradient]
fn f(x: f64) -> f64 {
    let _r = &x;
    x * 2.0
}

fn main() {}
