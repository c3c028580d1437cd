// a method taking `self`
use grad::derive_gradient;

struct Model {
    w: f64,
}

impl Model {
    #[derive_gradient]
    fn f(&self, x: f64) -> f64 {
        x * x
    }
}

fn main() {}
