// several mistakes in one function are all reported together
use grad::derive_gradient;

#[derive_gradient]
fn f(x: f64, v: &[f64]) -> f64 {
    let _a = x.floor();
    let _b = x % 2.0;
    let _c = |t: f64| t * t;
    let mut s = 0.0;
    for e in v.iter() {
        s += *e;
    }
    println!("{s}");
    match 1 {
        _ => x,
    }
}

fn main() {}
