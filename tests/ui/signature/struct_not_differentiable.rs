// a method of a struct without `#[derive(grad::Differentiable)]`
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
