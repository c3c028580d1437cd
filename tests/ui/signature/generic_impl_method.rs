// a method of a generic `impl<T: Float>`: the attribute does not see the `impl`'s generics, so
// `T` is not known as the float type (listed under "Not supported yet" in the README)
use grad::derive_gradient;
use grad::Float;

#[derive(Clone, Debug, grad::Differentiable)]
struct M<T: Float> {
    w: T,
}

impl<T: Float> M<T> {
    #[derive_gradient]
    fn f(&self, x: &[T]) -> T {
        let mut d = T::zero();
        for i in 0..x.len() {
            d += x[i] * self.w;
        }
        (d * T::from_f64(0.1)).sin()
    }
}

fn main() {}
