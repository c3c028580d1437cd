//! Shapes of differentiable values: [`Differentiable`] and [`AsSeed`].
//!
//! Generated code often holds a value whose exact type only rustc knows (the
//! adjoint of a nested array argument, a tuple result, a user struct). These
//! traits let it create, accumulate into and flatten such values without
//! naming the type.
//!
//! ```
//! use grad_runtime::{zero_like, Differentiable};
//! let x = [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]];
//! let mut g = zero_like(&x); // [[0.0; 3]; 2]
//! g.add_scaled(2.0, &x);
//! assert_eq!(g.sum(), 42.0);
//! let mut flat = vec![0.0; g.flat_len()];
//! g.write_flat(&mut flat);
//! assert_eq!(flat, [2.0, 4.0, 6.0, 8.0, 10.0, 12.0]);
//! ```

use crate::{kernels, Float};

/// A value made of floats of one type (a float, an array, a slice, a `Vec`, a
/// tuple, a struct with `#[derive(grad::Differentiable)]`, or with the `nalgebra`
/// feature a nalgebra matrix or vector).
///
/// Shapes nest: `[[f64; 3]; 2]`, `&[[f64; 2]]`, `Vec<Vec<f32>>` and
/// `(f64, [f64; 2])` are all `Differentiable`. The flat order of the floats
/// ([`write_flat`](Self::write_flat)) is row-major for nested arrays and
/// sequences, element / field order for tuples and structs, and column-major (nalgebra's
/// storage order) for nalgebra matrices.
///
/// The updates follow the derivative convention that a zero factor gives zero:
/// `add_scaled` adds nothing for a zero `alpha` or a zero element, and `scale` keeps zeros
/// zero, even where the other factor is infinite or NaN.
// Without the `nalgebra` feature the message also says how to get nalgebra's types.
#[cfg_attr(
    feature = "nalgebra",
    diagnostic::on_unimplemented(
        message = "`{Self}` is not `Differentiable`, so it cannot be differentiated",
        label = "a value of this type is differentiated here",
        note = "derive it for a struct of floats: `#[derive(Clone, grad::Differentiable)]`, or leave the parameter out with `#[derive_gradient(wrt(..))]`"
    )
)]
#[cfg_attr(
    not(feature = "nalgebra"),
    diagnostic::on_unimplemented(
        message = "`{Self}` is not `Differentiable`, so it cannot be differentiated",
        label = "a value of this type is differentiated here",
        note = "derive it for a struct of floats: `#[derive(Clone, grad::Differentiable)]`, or leave the parameter out with `#[derive_gradient(wrt(..))]`",
        note = "for nalgebra matrices and vectors, turn on grad's `nalgebra` feature: `grad = {{ version = \"0.1\", features = [\"nalgebra\"] }}`"
    )
)]
pub trait Differentiable {
    /// The float type every float of the value has.
    type Scalar: Float;
    /// An owned value of the same shape (a slice's is a `Vec`; a float's,
    /// array's, `Vec`'s or tuple's is its own type).
    type Owned: Differentiable<Scalar = Self::Scalar> + Clone;

    /// A value of the same shape with every float `0`.
    fn zero_like(&self) -> Self::Owned;
    /// `self += alpha * x`, element by element. Panics if the shapes differ.
    fn add_scaled(&mut self, alpha: Self::Scalar, x: &Self);
    /// `self *= alpha`, element by element.
    fn scale(&mut self, alpha: Self::Scalar);
    /// Sets every float to `0`, keeping the shape.
    fn set_zero(&mut self);
    /// The sum of every float, in flat order.
    fn sum(&self) -> Self::Scalar;
    /// The number of floats.
    fn flat_len(&self) -> usize;
    /// Writes the floats in flat order into `out[..self.flat_len()]`.
    /// Panics if `out` is shorter.
    fn write_flat(&self, out: &mut [Self::Scalar]);
    /// Reads the floats in flat order from `src[..self.flat_len()]`: the
    /// inverse of [`write_flat`](Self::write_flat). Panics if `src` is shorter.
    fn read_flat(&mut self, src: &[Self::Scalar]);
    /// The derivative along the tangent `self` of a function whose gradient is `gradient`:
    /// the sum of `self_i * gradient_i` over the floats, in flat order, the floats where
    /// `self_i` is zero skipped (they add zero even where `gradient_i` is infinite or NaN).
    /// Panics if the shapes differ.
    ///
    /// The default goes through [`write_flat`](Self::write_flat); the implementations in
    /// this crate and `#[derive(Differentiable)]` walk the value without allocating.
    fn along(&self, gradient: &Self) -> Self::Scalar {
        let n = self.flat_len();
        assert!(
            n == gradient.flat_len(),
            "Differentiable::along: shapes differ ({n} and {} floats)",
            gradient.flat_len()
        );
        let mut t = vec![Self::Scalar::zero(); n];
        let mut g = vec![Self::Scalar::zero(); n];
        self.write_flat(&mut t);
        gradient.write_flat(&mut g);
        t.iter()
            .zip(&g)
            .fold(Self::Scalar::zero(), |s, (t, g)| s + crate::scaled(*t, *g))
    }

    /// [`add_scaled`](Self::add_scaled) over a slice of `Self`, element by
    /// element (lengths already checked). `f32` and `f64` override it with
    /// [`kernels::axpy`]; other implementations keep the default.
    #[doc(hidden)]
    #[inline]
    fn slice_add_scaled(dst: &mut [Self], alpha: Self::Scalar, src: &[Self])
    where
        Self: Sized,
    {
        for (d, s) in dst.iter_mut().zip(src) {
            d.add_scaled(alpha, s);
        }
    }

    /// [`scale`](Self::scale) over a slice of `Self`; `f32` and `f64`
    /// override it with [`kernels::scale`].
    #[doc(hidden)]
    #[inline]
    fn slice_scale(dst: &mut [Self], alpha: Self::Scalar)
    where
        Self: Sized,
    {
        for d in dst {
            d.scale(alpha);
        }
    }

    /// [`set_zero`](Self::set_zero) over a slice of `Self`; `f32` and `f64`
    /// override it with [`kernels::fill_zero`].
    #[doc(hidden)]
    #[inline]
    fn slice_set_zero(dst: &mut [Self])
    where
        Self: Sized,
    {
        for d in dst {
            d.set_zero();
        }
    }

    /// [`write_flat`](Self::write_flat) over a slice of `Self`; `f32` and
    /// `f64` override it with a copy.
    #[doc(hidden)]
    #[inline]
    fn slice_write_flat(src: &[Self], out: &mut [Self::Scalar])
    where
        Self: Sized,
    {
        let mut at = 0;
        for s in src {
            let n = s.flat_len();
            s.write_flat(&mut out[at..at + n]);
            at += n;
        }
    }

    /// [`read_flat`](Self::read_flat) over a slice of `Self`; `f32` and
    /// `f64` override it with a copy.
    #[doc(hidden)]
    #[inline]
    fn slice_read_flat(dst: &mut [Self], src: &[Self::Scalar])
    where
        Self: Sized,
    {
        let mut at = 0;
        for d in dst {
            let n = d.flat_len();
            d.read_flat(&src[at..at + n]);
            at += n;
        }
    }
}

/// A value of the same shape as `s` with every float `0` (an owned one: a
/// slice gives a `Vec`).
///
/// ```
/// let v: &[[f32; 2]] = &[[1.0, 2.0], [3.0, 4.0]];
/// assert_eq!(grad_runtime::zero_like(v), vec![[0.0f32; 2]; 2]);
/// ```
#[inline]
pub fn zero_like<S: Differentiable + ?Sized>(s: &S) -> S::Owned {
    s.zero_like()
}

/// Writes the floats of `x` at the start of `out`, in flat order, and returns the rest of
/// `out`: the parts of one Jacobian row, one parameter after the other.
///
/// Panics if `out` is shorter than `x`.
///
/// ```
/// use grad_runtime::shape::write_part;
/// let mut row = [0.0; 5];
/// let rest = write_part(&[1.0, 2.0], &mut row);
/// write_part(&3.0, rest);
/// assert_eq!(row, [1.0, 2.0, 3.0, 0.0, 0.0]);
/// ```
#[inline]
pub fn write_part<'a, S: Differentiable + ?Sized>(
    x: &S,
    out: &'a mut [S::Scalar],
) -> &'a mut [S::Scalar] {
    let n = x.flat_len();
    x.write_flat(&mut out[..n]);
    &mut out[n..]
}

/// Sets every float of `s` to zero and float `k` of its flat order to one: the unit seeds
/// and directions of Jacobian and Hessian companions.
///
/// Panics if `k >= s.flat_len()`.
pub fn set_unit<S: Differentiable + ?Sized>(s: &mut S, k: usize) {
    let n = s.flat_len();
    assert!(k < n, "set_unit: index {k} out of range for {n} floats");
    // Small shapes (a Hessian's seeds, one per column) without an allocation.
    const STACK: usize = 64;
    if n <= STACK {
        let mut flat = [S::Scalar::zero(); STACK];
        flat[k] = S::Scalar::one();
        s.read_flat(&flat[..n]);
        return;
    }
    let mut flat = vec![S::Scalar::zero(); n];
    flat[k] = S::Scalar::one();
    s.read_flat(&flat);
}

macro_rules! impl_scalar {
    ($($t:ty),*) => {$(
        impl Differentiable for $t {
            type Scalar = $t;
            type Owned = $t;

            #[inline]
            fn zero_like(&self) -> $t {
                0.0
            }
            #[inline]
            fn add_scaled(&mut self, alpha: $t, x: &$t) {
                *self += crate::scaled(*x, alpha);
            }
            #[inline]
            fn scale(&mut self, alpha: $t) {
                *self = crate::scaled(*self, alpha);
            }
            #[inline]
            fn set_zero(&mut self) {
                *self = 0.0;
            }
            #[inline]
            fn sum(&self) -> $t {
                *self
            }
            #[inline]
            fn flat_len(&self) -> usize {
                1
            }
            #[inline]
            fn write_flat(&self, out: &mut [$t]) {
                out[0] = *self;
            }
            #[inline]
            fn read_flat(&mut self, src: &[$t]) {
                *self = src[0];
            }
            #[inline]
            fn along(&self, gradient: &$t) -> $t {
                crate::scaled(*self, *gradient)
            }

            #[inline]
            fn slice_add_scaled(dst: &mut [$t], alpha: $t, src: &[$t]) {
                kernels::axpy(alpha, src, dst);
            }
            #[inline]
            fn slice_scale(dst: &mut [$t], alpha: $t) {
                kernels::scale(alpha, dst);
            }
            #[inline]
            fn slice_set_zero(dst: &mut [$t]) {
                kernels::fill_zero(dst);
            }
            #[inline]
            fn slice_write_flat(src: &[$t], out: &mut [$t]) {
                out[..src.len()].copy_from_slice(src);
            }
            #[inline]
            fn slice_read_flat(dst: &mut [$t], src: &[$t]) {
                dst.copy_from_slice(&src[..dst.len()]);
            }
        }
    )*};
}

impl_scalar!(f32, f64);

impl<T: Differentiable> Differentiable for [T] {
    type Scalar = T::Scalar;
    type Owned = Vec<T::Owned>;

    fn zero_like(&self) -> Vec<T::Owned> {
        self.iter().map(T::zero_like).collect()
    }
    #[inline]
    #[track_caller]
    fn add_scaled(&mut self, alpha: T::Scalar, x: &[T]) {
        assert!(
            self.len() == x.len(),
            "Differentiable::add_scaled: shapes differ (lengths {} and {})",
            self.len(),
            x.len()
        );
        T::slice_add_scaled(self, alpha, x);
    }
    #[inline]
    fn scale(&mut self, alpha: T::Scalar) {
        T::slice_scale(self, alpha);
    }
    #[inline]
    fn set_zero(&mut self) {
        T::slice_set_zero(self);
    }
    #[inline]
    fn sum(&self) -> T::Scalar {
        self.iter().fold(T::Scalar::zero(), |acc, x| acc + x.sum())
    }
    #[inline]
    fn flat_len(&self) -> usize {
        self.iter().map(T::flat_len).sum()
    }
    #[inline]
    fn write_flat(&self, out: &mut [T::Scalar]) {
        T::slice_write_flat(self, out);
    }
    #[inline]
    fn read_flat(&mut self, src: &[T::Scalar]) {
        T::slice_read_flat(self, src);
    }
    #[inline]
    #[track_caller]
    fn along(&self, gradient: &[T]) -> T::Scalar {
        assert!(
            self.len() == gradient.len(),
            "Differentiable::along: shapes differ (lengths {} and {})",
            self.len(),
            gradient.len()
        );
        self.iter()
            .zip(gradient)
            .fold(T::Scalar::zero(), |s, (t, g)| s + t.along(g))
    }
}

/// Forwards every method but `zero_like` to the `[T]` implementation.
macro_rules! forward_to_slice {
    () => {
        #[inline]
        #[track_caller]
        fn add_scaled(&mut self, alpha: T::Scalar, x: &Self) {
            <[T]>::add_scaled(self, alpha, x)
        }
        #[inline]
        fn scale(&mut self, alpha: T::Scalar) {
            <[T]>::scale(self, alpha)
        }
        #[inline]
        fn set_zero(&mut self) {
            <[T]>::set_zero(self)
        }
        #[inline]
        fn sum(&self) -> T::Scalar {
            <[T]>::sum(self)
        }
        #[inline]
        fn flat_len(&self) -> usize {
            <[T]>::flat_len(self)
        }
        #[inline]
        fn write_flat(&self, out: &mut [T::Scalar]) {
            <[T]>::write_flat(self, out)
        }
        #[inline]
        fn read_flat(&mut self, src: &[T::Scalar]) {
            <[T]>::read_flat(self, src)
        }
        #[inline]
        #[track_caller]
        fn along(&self, gradient: &Self) -> T::Scalar {
            <[T]>::along(self, gradient)
        }
    };
}

impl<T: Differentiable, const N: usize> Differentiable for [T; N] {
    type Scalar = T::Scalar;
    type Owned = [T::Owned; N];

    #[inline]
    fn zero_like(&self) -> [T::Owned; N] {
        std::array::from_fn(|i| self[i].zero_like())
    }
    forward_to_slice!();
}

impl<T: Differentiable> Differentiable for Vec<T> {
    type Scalar = T::Scalar;
    type Owned = Vec<T::Owned>;

    fn zero_like(&self) -> Vec<T::Owned> {
        <[T]>::zero_like(self)
    }
    forward_to_slice!();
}

/// Implements [`Differentiable`] for a tuple whose elements share one scalar
/// type, element by element in order.
macro_rules! impl_tuple {
    ($($T:ident . $i:tt),+) => {
        impl<S: Float, $($T: Differentiable<Scalar = S>),+> Differentiable for ($($T,)+) {
            type Scalar = S;
            type Owned = ($($T::Owned,)+);

            #[inline]
            fn zero_like(&self) -> Self::Owned {
                ($(self.$i.zero_like(),)+)
            }
            #[inline]
            fn add_scaled(&mut self, alpha: S, x: &Self) {
                $(self.$i.add_scaled(alpha, &x.$i);)+
            }
            #[inline]
            fn scale(&mut self, alpha: S) {
                $(self.$i.scale(alpha);)+
            }
            #[inline]
            fn set_zero(&mut self) {
                $(self.$i.set_zero();)+
            }
            #[inline]
            fn sum(&self) -> S {
                S::zero() $(+ self.$i.sum())+
            }
            #[inline]
            fn along(&self, gradient: &Self) -> S {
                S::zero() $(+ self.$i.along(&gradient.$i))+
            }
            #[inline]
            fn flat_len(&self) -> usize {
                0 $(+ self.$i.flat_len())+
            }
            #[inline]
            fn write_flat(&self, out: &mut [S]) {
                let mut at = 0;
                $(
                    let n = self.$i.flat_len();
                    self.$i.write_flat(&mut out[at..at + n]);
                    at += n;
                )+
                let _ = at;
            }
            #[inline]
            fn read_flat(&mut self, src: &[S]) {
                let mut at = 0;
                $(
                    let n = self.$i.flat_len();
                    self.$i.read_flat(&src[at..at + n]);
                    at += n;
                )+
                let _ = at;
            }
        }

        impl<$($T: Clone),+> AsSeed for ($($T,)+) {
            type Seed<'a> = ($($T,)+) where Self: 'a;
            #[inline]
            fn as_seed(&self) -> Self::Seed<'_> {
                self.clone()
            }
        }
    };
}

impl_tuple!(A.0);
impl_tuple!(A.0, B.1);
impl_tuple!(A.0, B.1, C.2);
impl_tuple!(A.0, B.1, C.2, D.3);
impl_tuple!(A.0, B.1, C.2, D.3, E.4);
impl_tuple!(A.0, B.1, C.2, D.3, E.4, F.5);
impl_tuple!(A.0, B.1, C.2, D.3, E.4, F.5, G.6);
impl_tuple!(A.0, B.1, C.2, D.3, E.4, F.5, G.6, H.7);

/// How a pullback takes the adjoint of a result as its seed: by value, and a
/// `Vec` as a slice.
///
/// | result type        | `Seed<'a>`             |
/// |--------------------|------------------------|
/// | `f32`, `f64`       | itself                 |
/// | `[T; N]`, `T: Copy`| `[T; N]` (copied)      |
/// | `Vec<T>`           | `&'a [T]`              |
/// | tuples of 1 to 8 `Clone` elements | the tuple (cloned) |
/// | nalgebra matrices (`nalgebra` feature) | the matrix (cloned) |
///
/// Structs with `#[derive(grad::Differentiable)]` get `AsSeed` from the
/// derive, with `Seed = Self` (a clone); this crate provides nothing for them.
///
/// ```
/// use grad_runtime::AsSeed;
/// let v = vec![1.0, 2.0];
/// let seed: &[f64] = v.as_seed();
/// assert_eq!(seed, [1.0, 2.0]);
/// assert_eq!(3.0f64.as_seed(), 3.0);
/// ```
pub trait AsSeed {
    /// The seed type, borrowing from `self` for `'a`.
    type Seed<'a>
    where
        Self: 'a;
    /// The seed of this adjoint.
    fn as_seed(&self) -> Self::Seed<'_>;
}

impl AsSeed for f32 {
    type Seed<'a> = f32;
    #[inline]
    fn as_seed(&self) -> f32 {
        *self
    }
}

impl AsSeed for f64 {
    type Seed<'a> = f64;
    #[inline]
    fn as_seed(&self) -> f64 {
        *self
    }
}

impl<T: Copy, const N: usize> AsSeed for [T; N] {
    type Seed<'a>
        = [T; N]
    where
        Self: 'a;
    #[inline]
    fn as_seed(&self) -> [T; N] {
        *self
    }
}

impl<T> AsSeed for Vec<T> {
    type Seed<'a>
        = &'a [T]
    where
        Self: 'a;
    #[inline]
    fn as_seed(&self) -> &[T] {
        self
    }
}

/// A value made from nothing: floats and integers 0, `bool`s `false`, `Vec`s empty, arrays
/// and structs of those. Generated code starts a variable from it where rustc cannot see
/// the variable assigned on every path before it is read (assigned in one loop, read in
/// another); the program overwrites it first. `#[derive(Differentiable)]` implements it
/// for the struct.
pub trait Placeholder {
    /// The value.
    fn placeholder() -> Self;
}

macro_rules! placeholder_zero {
    ($($t:ty),*) => {
        $(impl Placeholder for $t {
            #[inline]
            fn placeholder() -> Self {
                0 as $t
            }
        })*
    };
}
placeholder_zero!(f32, f64, u8, u16, u32, u64, u128, usize, i8, i16, i32, i64, i128, isize);

impl Placeholder for bool {
    #[inline]
    fn placeholder() -> Self {
        false
    }
}

impl<T: Placeholder, const N: usize> Placeholder for [T; N] {
    #[inline]
    fn placeholder() -> Self {
        core::array::from_fn(|_| T::placeholder())
    }
}

impl<T> Placeholder for Vec<T> {
    #[inline]
    fn placeholder() -> Self {
        Vec::new()
    }
}

macro_rules! placeholder_tuple {
    ($($n:ident),+) => {
        impl<$($n: Placeholder),+> Placeholder for ($($n,)+) {
            #[inline]
            fn placeholder() -> Self {
                ($($n::placeholder(),)+)
            }
        }
    };
}
placeholder_tuple!(A);
placeholder_tuple!(A, B);
placeholder_tuple!(A, B, C);
placeholder_tuple!(A, B, C, D);

#[cfg(test)]
mod tests {
    use super::*;

    /// The floats of `x` in flat order.
    fn flat<D: Differentiable + ?Sized>(x: &D) -> Vec<D::Scalar> {
        let mut out = vec![D::Scalar::zero(); x.flat_len()];
        x.write_flat(&mut out);
        out
    }

    /// Checks `read_flat` inverts `write_flat`: reading `0, 1, 2, ...` into a
    /// zero of `x`'s shape and writing it back gives the same sequence.
    fn round_trip<D: Differentiable + ?Sized>(x: &D) {
        let n = x.flat_len();
        let ramp: Vec<D::Scalar> = (0..n).map(D::Scalar::from_usize).collect();
        let mut z = x.zero_like();
        z.read_flat(&ramp);
        assert_eq!(flat(&z), ramp);
        // Writing into a longer buffer leaves the tail alone.
        let mut longer = vec![D::Scalar::from_f64(-1.0); n + 2];
        x.write_flat(&mut longer);
        assert_eq!(&longer[..n], &flat(x)[..]);
        assert_eq!(&longer[n..], [D::Scalar::from_f64(-1.0); 2]);
    }

    #[test]
    fn scalars() {
        let mut x = 3.0f64;
        assert_eq!(x.zero_like(), 0.0);
        assert_eq!((x.flat_len(), x.sum()), (1, 3.0));
        x.add_scaled(2.0, &0.5);
        assert_eq!(x, 4.0);
        x.scale(0.25);
        assert_eq!(x, 1.0);
        x.read_flat(&[7.0, 8.0]);
        assert_eq!(flat(&x), [7.0]);
        x.set_zero();
        assert_eq!(x, 0.0);

        let mut y = 1.5f32;
        y.add_scaled(-1.0, &0.5);
        assert_eq!(y, 1.0f32);
        assert_eq!(zero_like(&y), 0.0f32);
        round_trip(&y);
    }

    #[test]
    fn nested_array_is_row_major() {
        let x = [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]];
        assert_eq!(x.flat_len(), 6);
        assert_eq!(flat(&x), [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
        assert_eq!(x.sum(), 21.0);
        let z: [[f64; 3]; 2] = zero_like(&x);
        assert_eq!(z, [[0.0; 3]; 2]);
        round_trip(&x);

        let mut g = x;
        g.add_scaled(2.0, &x);
        assert_eq!(g, [[3.0, 6.0, 9.0], [12.0, 15.0, 18.0]]);
        g.scale(1.0 / 3.0);
        assert_eq!(g, x);
        let mut r = [[0.0; 3]; 2];
        r.read_flat(&[6.0, 5.0, 4.0, 3.0, 2.0, 1.0]);
        assert_eq!(r, [[6.0, 5.0, 4.0], [3.0, 2.0, 1.0]]);
        r.set_zero();
        assert_eq!(r, z);
    }

    #[test]
    fn slice_of_arrays() {
        let data = [[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]];
        let x: &[[f64; 2]] = &data;
        assert_eq!(x.flat_len(), 6);
        assert_eq!(flat(x), [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
        assert_eq!(x.sum(), 21.0);
        let z: Vec<[f64; 2]> = zero_like(x);
        assert_eq!(z, vec![[0.0; 2]; 3]);
        round_trip(x);

        let mut g = data;
        let gs: &mut [[f64; 2]] = &mut g;
        gs.add_scaled(-1.0, x);
        assert_eq!(g, [[0.0; 2]; 3]);
        let gs: &mut [[f64; 2]] = &mut g;
        gs.read_flat(&[1.0, 1.0, 2.0, 2.0, 3.0, 3.0, 99.0]);
        gs.scale(2.0);
        assert_eq!(g, [[2.0, 2.0], [4.0, 4.0], [6.0, 6.0]]);
        let gs: &mut [[f64; 2]] = &mut g;
        gs.set_zero();
        assert_eq!(g, [[0.0; 2]; 3]);

        // The flat case goes through the kernels; check a length past their
        // inline threshold too.
        let long: Vec<f64> = (0..100).map(f64::from).collect();
        let mut acc = zero_like(&long[..]);
        acc.add_scaled(0.5, &long);
        acc.as_mut_slice().add_scaled(0.5, &long[..]);
        assert_eq!(acc, long);
        assert_eq!(long.sum(), 4950.0);
        round_trip(&long[..]);
    }

    #[test]
    fn ragged_vec_of_vecs() {
        let x = vec![vec![1.0, 2.0, 3.0], vec![], vec![4.0], vec![5.0, 6.0]];
        let z = zero_like(&x);
        assert_eq!(
            z.iter().map(Vec::len).collect::<Vec<_>>(),
            [3, 0, 1, 2],
            "zero_like keeps every inner length"
        );
        assert!(z.iter().flatten().all(|&v| v == 0.0));
        assert_eq!(x.flat_len(), 6);
        assert_eq!(flat(&x), [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
        assert_eq!(x.sum(), 21.0);
        round_trip(&x);

        let mut g = x.clone();
        g.add_scaled(1.0, &x);
        g.scale(0.5);
        assert_eq!(g, x);
        g.set_zero();
        assert_eq!(g, z);
        g.read_flat(&flat(&x));
        assert_eq!(g, x);
    }

    #[test]
    #[should_panic(expected = "shapes differ (lengths 2 and 1)")]
    fn add_scaled_panics_on_different_lengths() {
        let mut a = vec![vec![1.0, 2.0], vec![3.0]];
        a.add_scaled(1.0, &vec![vec![1.0, 2.0]]);
    }

    #[test]
    #[should_panic(expected = "shapes differ")]
    fn add_scaled_panics_on_ragged_mismatch() {
        let mut a = vec![vec![1.0, 2.0], vec![3.0]];
        // The outer lengths agree; the second rows do not.
        let b = vec![vec![1.0, 2.0], vec![3.0, 4.0]];
        a.add_scaled(1.0, &b);
    }

    #[test]
    fn tuples() {
        let x = (1.0, [2.0, 3.0], vec![[4.0], [5.0]]);
        assert_eq!(x.flat_len(), 5);
        assert_eq!(flat(&x), [1.0, 2.0, 3.0, 4.0, 5.0]);
        assert_eq!(x.sum(), 15.0);
        let z = zero_like(&x);
        assert_eq!(z, (0.0, [0.0; 2], vec![[0.0], [0.0]]));
        round_trip(&x);

        let mut g = x.clone();
        g.add_scaled(3.0, &x);
        g.scale(0.25);
        assert_eq!(g, x);
        g.set_zero();
        assert_eq!(g, z);

        let one = (2.0f32,);
        assert_eq!((one.flat_len(), one.sum()), (1, 2.0));
        round_trip(&one);
        let eight = (1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, [8.0, 9.0]);
        assert_eq!(flat(&eight), [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0]);
        round_trip(&eight);
    }

    #[test]
    fn f32_shapes() {
        let x: [[f32; 2]; 2] = [[0.5, 1.5], [2.5, 3.5]];
        assert_eq!(x.sum(), 8.0f32);
        assert_eq!(flat(&x), [0.5f32, 1.5, 2.5, 3.5]);
        round_trip(&x);
        let mut v: Vec<f32> = vec![1.0; 40];
        v.add_scaled(2.0, &vec![0.5; 40]);
        assert!(v.iter().all(|&e| e == 2.0));
        v.scale(0.5);
        assert_eq!(v.sum(), 40.0);
        let ragged: Vec<Vec<f32>> = vec![vec![1.0], vec![2.0, 3.0]];
        assert_eq!(zero_like(&ragged), vec![vec![0.0], vec![0.0, 0.0]]);
        round_trip(&ragged);
    }

    /// Generated code's use: accumulate into an adjoint of a type it cannot name.
    fn accumulate<D: Differentiable + ?Sized>(x: &D, times: usize) -> D::Owned
    where
        D::Owned: Differentiable<Owned = D::Owned>,
    {
        let mut acc = zero_like(x);
        let mut step = zero_like(x);
        step.read_flat(&flat(x));
        for _ in 0..times {
            acc.add_scaled(D::Scalar::one(), &step);
        }
        acc
    }

    #[test]
    fn generic_accumulation() {
        let x: &[[f64; 2]] = &[[1.0, 2.0], [3.0, 4.0]];
        assert_eq!(accumulate(x, 3), vec![[3.0, 6.0], [9.0, 12.0]]);
        assert_eq!(accumulate(&(1.0f32, [2.0f32]), 2), (2.0, [4.0]));
    }

    #[test]
    fn seeds() {
        assert_eq!(2.0f64.as_seed(), 2.0);
        assert_eq!(2.0f32.as_seed(), 2.0f32);
        let a = [[1.0, 2.0], [3.0, 4.0]];
        let sa: [[f64; 2]; 2] = a.as_seed();
        assert_eq!(sa, a);
        let v = vec![1.0, 2.0, 3.0];
        let sv: &[f64] = v.as_seed();
        assert_eq!(sv, &v[..]);
        let t = (1.0, vec![2.0], [3.0f64]);
        let st: (f64, Vec<f64>, [f64; 1]) = t.as_seed();
        assert_eq!(st, t);
        assert_eq!((5.0,).as_seed(), (5.0,));
    }

    #[test]
    fn along_skips_zero_tangents() {
        // Scalars, nested arrays, slices, `Vec`s and tuples: the sum of t_i g_i in flat order.
        assert_eq!(2.0f64.along(&3.0), 6.0);
        assert_eq!(0.0f64.along(&f64::INFINITY), 0.0);
        assert_eq!(0.0f32.along(&f32::NAN), 0.0);
        let t = [[1.0, 0.0], [2.0, -1.0]];
        let g = [[3.0, f64::NAN], [0.5, 4.0]];
        assert_eq!(t.along(&g), 3.0 + 1.0 - 4.0);
        assert_eq!(t[..].along(&g[..]), 0.0);
        let v = vec![vec![1.0], vec![0.0, 2.0]];
        let w = vec![vec![5.0], vec![f64::INFINITY, 0.25]];
        assert_eq!(v.along(&w), 5.5);
        assert_eq!((1.0, [0.0, 2.0]).along(&(2.0, [f64::NAN, 3.0])), 8.0);
        // A nonzero tangent meets an infinite entry: the formula's value.
        assert_eq!([1.0, 1.0].along(&[f64::INFINITY, 1.0]), f64::INFINITY);
    }

    #[test]
    #[should_panic(expected = "shapes differ")]
    fn along_rejects_other_shapes() {
        [1.0, 2.0][..].along(&[1.0][..]);
    }

    /// A shape implemented outside this crate, with the provided `along`.
    #[derive(Clone)]
    struct Pair(f64, f64);

    impl Differentiable for Pair {
        type Scalar = f64;
        type Owned = Pair;
        fn zero_like(&self) -> Pair {
            Pair(0.0, 0.0)
        }
        fn add_scaled(&mut self, alpha: f64, x: &Pair) {
            self.0.add_scaled(alpha, &x.0);
            self.1.add_scaled(alpha, &x.1);
        }
        fn scale(&mut self, alpha: f64) {
            self.0.scale(alpha);
            self.1.scale(alpha);
        }
        fn set_zero(&mut self) {
            *self = Pair(0.0, 0.0);
        }
        fn sum(&self) -> f64 {
            self.0 + self.1
        }
        fn flat_len(&self) -> usize {
            2
        }
        fn write_flat(&self, out: &mut [f64]) {
            out[..2].copy_from_slice(&[self.0, self.1]);
        }
        fn read_flat(&mut self, src: &[f64]) {
            *self = Pair(src[0], src[1]);
        }
    }

    #[test]
    fn the_provided_along_goes_through_the_flat_order() {
        assert_eq!(Pair(0.0, 2.0).along(&Pair(f64::NAN, 3.0)), 6.0);
        assert_eq!(Pair(1.0, -1.0).along(&Pair(4.0, 3.0)), 1.0);
    }
}
