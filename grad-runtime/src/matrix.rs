//! [`Differentiable`] and [`AsSeed`] for nalgebra matrices and vectors (the `nalgebra`
//! feature).
//!
//! Every nalgebra matrix with contiguous, writable storage of a [`Float`] type is a shape:
//! `SVector<f64, N>`, `SMatrix<f64, R, C>`, `DVector<f64>`, `DMatrix<f32>`, their row
//! versions and aliases (`Vector3`, `Matrix2x3`, ...). Its flat order
//! ([`write_flat`](Differentiable::write_flat)) is nalgebra's storage order, **column-major**:
//! element `(i, j)` of an `R x C` matrix is float `i + j * R`, the same as nalgebra's linear
//! index `m[i + j * R]`, `m.as_slice()` and `m.iter()`. Jacobians and Hessians over a matrix
//! parameter number its entries that way (a vector's are simply `0..n`).
//!
//! ```
//! use grad_runtime::{zero_like, Differentiable};
//! use nalgebra::{DVector, SMatrix};
//! let m = SMatrix::<f64, 2, 3>::new(1.0, 2.0, 3.0, 4.0, 5.0, 6.0); // rows [1 2 3], [4 5 6]
//! let mut flat = vec![0.0; m.flat_len()];
//! m.write_flat(&mut flat);
//! assert_eq!(flat, [1.0, 4.0, 2.0, 5.0, 3.0, 6.0]); // column by column
//!
//! let v = DVector::from_vec(vec![1.0f32, 2.0, 3.0]);
//! let mut g = zero_like(&v); // a DVector of 3 zeros
//! g.add_scaled(2.0, &v);
//! assert_eq!(g.sum(), 12.0);
//! ```

use crate::{AsSeed, Differentiable, Float, Placeholder};
use nalgebra::allocator::Allocator;
use nalgebra::{DefaultAllocator, Dim, IsContiguous, Matrix, OMatrix, RawStorage, RawStorageMut};

/// A matrix of floats in column-major flat order; its owned form is the matrix with
/// nalgebra's default storage (an `SMatrix` for fixed sizes, a `DMatrix`/`DVector` for
/// dynamic ones).
impl<T, R, C, S> Differentiable for Matrix<T, R, C, S>
where
    T: Float,
    R: Dim,
    C: Dim,
    S: RawStorageMut<T, R, C> + IsContiguous,
    DefaultAllocator: Allocator<R, C>,
{
    type Scalar = T;
    type Owned = OMatrix<T, R, C>;

    #[inline]
    fn zero_like(&self) -> OMatrix<T, R, C> {
        let (r, c) = self.shape_generic();
        OMatrix::<T, R, C>::from_element_generic(r, c, T::zero())
    }
    #[inline]
    #[track_caller]
    fn add_scaled(&mut self, alpha: T, x: &Self) {
        assert!(
            self.shape() == x.shape(),
            "Differentiable::add_scaled: shapes differ ({:?} and {:?})",
            self.shape(),
            x.shape()
        );
        T::slice_add_scaled(self.as_mut_slice(), alpha, x.as_slice());
    }
    #[inline]
    fn scale(&mut self, alpha: T) {
        T::slice_scale(self.as_mut_slice(), alpha);
    }
    #[inline]
    fn set_zero(&mut self) {
        T::slice_set_zero(self.as_mut_slice());
    }
    #[inline]
    fn sum(&self) -> T {
        self.as_slice().iter().fold(T::zero(), |acc, &x| acc + x)
    }
    #[inline]
    #[track_caller]
    fn along(&self, gradient: &Self) -> T {
        <[T]>::along(self.as_slice(), gradient.as_slice())
    }
    #[inline]
    fn flat_len(&self) -> usize {
        self.len()
    }
    #[inline]
    fn write_flat(&self, out: &mut [T]) {
        T::slice_write_flat(self.as_slice(), out);
    }
    #[inline]
    fn read_flat(&mut self, src: &[T]) {
        T::slice_read_flat(self.as_mut_slice(), src);
    }
}

/// A matrix result's seed is the matrix itself (a clone), as for arrays and structs.
impl<T, R, C, S> AsSeed for Matrix<T, R, C, S>
where
    T: Float,
    R: Dim,
    C: Dim,
    S: RawStorage<T, R, C> + Clone,
{
    type Seed<'a>
        = Self
    where
        Self: 'a;
    #[inline]
    fn as_seed(&self) -> Self {
        self.clone()
    }
}

/// A matrix of zeros: its fixed dimensions, or 0 x 0 where they are dynamic.
impl<T, R, C> Placeholder for OMatrix<T, R, C>
where
    T: Float,
    R: Dim,
    C: Dim,
    DefaultAllocator: Allocator<R, C>,
{
    #[inline]
    fn placeholder() -> Self {
        let r = R::from_usize(R::try_to_usize().unwrap_or(0));
        let c = C::from_usize(C::try_to_usize().unwrap_or(0));
        OMatrix::<T, R, C>::from_element_generic(r, c, T::zero())
    }
}

#[cfg(test)]
mod tests {
    use crate::{set_unit, zero_like, AsSeed, Differentiable};
    use nalgebra::{DMatrix, DVector, SMatrix, SVector};

    fn flat<D: Differentiable + ?Sized>(x: &D) -> Vec<D::Scalar> {
        let mut out = vec![<D::Scalar as crate::Float>::zero(); x.flat_len()];
        x.write_flat(&mut out);
        out
    }

    #[test]
    fn fixed_matrices_flatten_column_major() {
        let m = SMatrix::<f64, 2, 3>::new(1.0, 2.0, 3.0, 4.0, 5.0, 6.0);
        assert_eq!(m.flat_len(), 6);
        assert_eq!(flat(&m), [1.0, 4.0, 2.0, 5.0, 3.0, 6.0]);
        for k in 0..6 {
            // The flat order is nalgebra's linear index.
            assert_eq!(flat(&m)[k], m[k]);
        }
        assert_eq!(m.sum(), 21.0);
        let z: SMatrix<f64, 2, 3> = zero_like(&m);
        assert_eq!(z, SMatrix::<f64, 2, 3>::zeros());

        let mut g = m;
        g.add_scaled(2.0, &m);
        assert_eq!(g, m * 3.0);
        // UFCS: nalgebra's inherent `scale` returns a scaled copy instead.
        Differentiable::scale(&mut g, 0.5);
        assert_eq!(g, m * 1.5);
        g.read_flat(&[6.0, 5.0, 4.0, 3.0, 2.0, 1.0, 99.0]);
        assert_eq!(g[(0, 0)], 6.0);
        assert_eq!(g[(1, 0)], 5.0);
        assert_eq!(g[(0, 2)], 2.0);
        g.set_zero();
        assert_eq!(g, z);
        set_unit(&mut g, 3);
        assert_eq!(g[(1, 1)], 1.0);
        assert_eq!(g.sum(), 1.0);
        assert_eq!(m.as_seed(), m);
    }

    #[test]
    fn dynamic_vectors_and_matrices() {
        let v = DVector::from_vec(vec![1.0, -2.0, 3.0]);
        let z = zero_like(&v);
        assert_eq!(z, DVector::zeros(3));
        let mut g = z.clone();
        g.add_scaled(-1.0, &v);
        assert_eq!(flat(&g), [-1.0, 2.0, -3.0]);
        // Long enough for the kernels' vector path.
        let long = DVector::from_fn(100, |i, _| i as f32);
        let mut acc = zero_like(&long);
        acc.add_scaled(1.0, &long);
        Differentiable::scale(&mut acc, 2.0);
        assert_eq!(Differentiable::sum(&acc), 9900.0);

        let m = DMatrix::from_row_slice(2, 2, &[1.0, 2.0, 3.0, 4.0]);
        assert_eq!(flat(&m), [1.0, 3.0, 2.0, 4.0]);
        assert_eq!(zero_like(&m).shape(), (2, 2));
        let s = SVector::<f32, 2>::new(1.0, 2.0);
        assert_eq!(s.sum(), 3.0f32);
    }

    #[test]
    #[should_panic(expected = "shapes differ")]
    fn add_scaled_checks_shapes() {
        let mut a = DVector::<f64>::zeros(2);
        a.add_scaled(1.0, &DVector::zeros(3));
    }
}
