// a macro statement such as `println!`
use grad::derive_gradient;

#[derive_gradient]
fn f(x: f64) -> f64 {
    println!("x = {x}");
    x * x
}

fn main() {}
