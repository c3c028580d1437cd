// reading a `static mut`
use grad::derive_gradient;

static mut SCALE: f64 = 2.0;

#[derive_gradient]
fn f(x: f64) -> f64 {
    let s = unsafe { SCALE };
    x * s
}

fn main() {}
