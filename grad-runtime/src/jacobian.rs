//! [`Jacobian`]: the dense row-major matrix that `*_jacobian` companions return.

use std::fmt;
use std::ops::{Index, IndexMut};

use crate::Float;

/// A dense `rows x cols` matrix stored row by row.
///
/// In the default numerator layout `J[(i, k)] = d out_i / d in_k`: one row per
/// output, one column per (flattened) differentiated input. The denominator
/// layout is the [`transpose`](Jacobian::transpose).
///
/// ```
/// use grad_runtime::Jacobian;
/// let j = Jacobian::from_rows(2, 2, vec![1.0, 2.0, 3.0, 4.0]);
/// assert_eq!(j[(1, 0)], 3.0);
/// assert_eq!(j.row(0), &[1.0, 2.0]);
/// assert_eq!(j.to_string(), "[[1, 2], [3, 4]]");
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Jacobian<T> {
    rows: usize,
    cols: usize,
    data: Vec<T>,
}

impl<T: Float> Jacobian<T> {
    /// A `rows x cols` matrix of zeros.
    ///
    /// Panics if `rows * cols` overflows `usize`.
    pub fn zeros(rows: usize, cols: usize) -> Self {
        let len = rows
            .checked_mul(cols)
            .unwrap_or_else(|| panic!("Jacobian::zeros: {rows} x {cols} overflows usize"));
        Jacobian {
            rows,
            cols,
            data: vec![T::zero(); len],
        }
    }

    /// Makes this a `rows x cols` matrix of zeros, reusing its allocation (no allocation
    /// when it has room for `rows * cols` entries): what `f_jacobian_into` does to the matrix
    /// it is given.
    ///
    /// Panics if `rows * cols` overflows `usize`.
    pub fn reset(&mut self, rows: usize, cols: usize) {
        let len = rows
            .checked_mul(cols)
            .unwrap_or_else(|| panic!("Jacobian::reset: {rows} x {cols} overflows usize"));
        self.rows = rows;
        self.cols = cols;
        self.data.clear();
        self.data.resize(len, T::zero());
    }

    /// The `n x n` identity matrix: the Jacobian of `y = x`.
    pub fn identity(n: usize) -> Self {
        let mut j = Self::zeros(n, n);
        for i in 0..n {
            j[(i, i)] = T::one();
        }
        j
    }
}

impl<T> Jacobian<T> {
    /// Wraps `data`, read row by row, as a `rows x cols` matrix.
    ///
    /// Panics if `data.len() != rows * cols`.
    pub fn from_rows(rows: usize, cols: usize, data: Vec<T>) -> Self {
        assert!(
            rows.checked_mul(cols) == Some(data.len()),
            "Jacobian::from_rows: {rows} x {cols} needs {} elements, got {}",
            rows.saturating_mul(cols),
            data.len()
        );
        Jacobian { rows, cols, data }
    }

    /// Number of rows (outputs, in numerator layout).
    #[inline]
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Number of columns (inputs, in numerator layout).
    #[inline]
    pub fn cols(&self) -> usize {
        self.cols
    }

    /// Row `i` as a slice of length `cols()`. Panics if `i >= rows()`.
    #[inline]
    pub fn row(&self, i: usize) -> &[T] {
        self.check_row(i);
        &self.data[i * self.cols..(i + 1) * self.cols]
    }

    /// Row `i` as a mutable slice. Panics if `i >= rows()`.
    #[inline]
    pub fn row_mut(&mut self, i: usize) -> &mut [T] {
        self.check_row(i);
        &mut self.data[i * self.cols..(i + 1) * self.cols]
    }

    /// All elements, row after row.
    #[inline]
    pub fn as_slice(&self) -> &[T] {
        &self.data
    }

    /// All elements, row after row, mutably.
    #[inline]
    pub fn as_mut_slice(&mut self) -> &mut [T] {
        &mut self.data
    }

    /// Consumes the matrix and returns its row-major elements.
    pub fn into_vec(self) -> Vec<T> {
        self.data
    }

    #[inline]
    #[track_caller]
    fn check_row(&self, i: usize) {
        assert!(
            i < self.rows,
            "Jacobian: row {i} out of range for {} x {} matrix",
            self.rows,
            self.cols
        );
    }

    #[inline]
    #[track_caller]
    fn offset(&self, (i, k): (usize, usize)) -> usize {
        assert!(
            i < self.rows && k < self.cols,
            "Jacobian: index ({i}, {k}) out of range for {} x {} matrix",
            self.rows,
            self.cols
        );
        i * self.cols + k
    }
}

impl<T: Copy> Jacobian<T> {
    /// The transposed matrix (numerator <-> denominator layout).
    pub fn transpose(&self) -> Self {
        let mut data = Vec::with_capacity(self.data.len());
        for k in 0..self.cols {
            data.extend((0..self.rows).map(|i| self.data[i * self.cols + k]));
        }
        Jacobian {
            rows: self.cols,
            cols: self.rows,
            data,
        }
    }

    /// Column `j` copied into a vector. Panics if `j >= cols()`.
    pub fn col(&self, j: usize) -> Vec<T> {
        (0..self.rows).map(|i| self[(i, j)]).collect()
    }

    /// Overwrites row `i` with `values`.
    ///
    /// Panics if `i >= rows()` or `values.len() != cols()`.
    pub fn set_row(&mut self, i: usize, values: &[T]) {
        assert_eq!(
            values.len(),
            self.cols,
            "Jacobian::set_row: row has {} columns, got {} values",
            self.cols,
            values.len()
        );
        self.row_mut(i).copy_from_slice(values);
    }

    /// Overwrites column `j` with `values`.
    ///
    /// Panics if `j >= cols()` or `values.len() != rows()`.
    pub fn set_col(&mut self, j: usize, values: &[T]) {
        assert!(
            j < self.cols,
            "Jacobian::set_col: column {j} out of range for {} x {} matrix",
            self.rows,
            self.cols
        );
        assert_eq!(
            values.len(),
            self.rows,
            "Jacobian::set_col: column has {} rows, got {} values",
            self.rows,
            values.len()
        );
        for (i, &v) in values.iter().enumerate() {
            self.data[i * self.cols + j] = v;
        }
    }
}

impl<T: crate::Float> Jacobian<T> {
    /// Makes a square matrix exactly symmetric: each pair of mirrored entries becomes their
    /// mean (a Hessian built column by column agrees with its transpose up to rounding).
    ///
    /// Panics if the matrix is not square.
    pub fn symmetrize(&mut self) {
        assert_eq!(
            self.rows, self.cols,
            "Jacobian::symmetrize: the matrix is not square"
        );
        let half = T::from_f64(0.5);
        for i in 0..self.rows {
            for k in i + 1..self.cols {
                let m = (self.data[i * self.cols + k] + self.data[k * self.cols + i]) * half;
                self.data[i * self.cols + k] = m;
                self.data[k * self.cols + i] = m;
            }
        }
    }
}

impl<T> Index<(usize, usize)> for Jacobian<T> {
    type Output = T;

    /// `J[(i, k)]`: row `i`, column `k`. Panics if out of range.
    #[inline]
    fn index(&self, idx: (usize, usize)) -> &T {
        &self.data[self.offset(idx)]
    }
}

impl<T> IndexMut<(usize, usize)> for Jacobian<T> {
    /// `J[(i, k)] = v`. Panics if out of range.
    #[inline]
    fn index_mut(&mut self, idx: (usize, usize)) -> &mut T {
        let at = self.offset(idx);
        &mut self.data[at]
    }
}

impl<T: fmt::Display> fmt::Display for Jacobian<T> {
    /// Prints `[[a, b], [c, d]]`; format flags such as `{:.3}` apply to every element.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[")?;
        for i in 0..self.rows {
            if i > 0 {
                f.write_str(", ")?;
            }
            f.write_str("[")?;
            for (k, v) in self.data[i * self.cols..(i + 1) * self.cols]
                .iter()
                .enumerate()
            {
                if k > 0 {
                    f.write_str(", ")?;
                }
                fmt::Display::fmt(v, f)?;
            }
            f.write_str("]")?;
        }
        f.write_str("]")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Jacobian<f64> {
        // [[1, 2, 3],
        //  [4, 5, 6]]
        Jacobian::from_rows(2, 3, vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0])
    }

    #[test]
    fn zeros_has_shape_and_zeros() {
        let j = Jacobian::<f64>::zeros(2, 3);
        assert_eq!((j.rows(), j.cols()), (2, 3));
        assert_eq!(j.as_slice(), &[0.0; 6]);
        let e = Jacobian::<f32>::zeros(0, 4);
        assert_eq!((e.rows(), e.cols()), (0, 4));
        assert!(e.as_slice().is_empty());
    }

    #[test]
    #[should_panic(expected = "overflows")]
    fn zeros_overflow_panics() {
        let _ = Jacobian::<f64>::zeros(usize::MAX, 2);
    }

    #[test]
    fn identity_is_identity() {
        let j = Jacobian::<f64>::identity(3);
        for i in 0..3 {
            for k in 0..3 {
                assert_eq!(j[(i, k)], if i == k { 1.0 } else { 0.0 });
            }
        }
    }

    #[test]
    fn from_rows_is_row_major() {
        let j = sample();
        assert_eq!((j.rows(), j.cols()), (2, 3));
        assert_eq!(j[(0, 2)], 3.0);
        assert_eq!(j[(1, 0)], 4.0);
    }

    #[test]
    #[should_panic(expected = "needs 6 elements, got 5")]
    fn from_rows_len_mismatch_panics() {
        let _ = Jacobian::from_rows(2, 3, vec![0.0f64; 5]);
    }

    #[test]
    fn row_and_slices() {
        let mut j = sample();
        assert_eq!(j.row(0), &[1.0, 2.0, 3.0]);
        assert_eq!(j.row(1), &[4.0, 5.0, 6.0]);
        j.row_mut(0)[1] = 20.0;
        j.as_mut_slice()[5] = 60.0;
        assert_eq!(j.as_slice(), &[1.0, 20.0, 3.0, 4.0, 5.0, 60.0]);
        assert_eq!(j.into_vec(), vec![1.0, 20.0, 3.0, 4.0, 5.0, 60.0]);
    }

    #[test]
    #[should_panic(expected = "row 2 out of range")]
    fn row_out_of_range_panics() {
        let _ = sample().row(2);
    }

    #[test]
    fn col_copies_column() {
        assert_eq!(sample().col(1), vec![2.0, 5.0]);
    }

    #[test]
    fn transpose_swaps_layout() {
        let t = sample().transpose();
        assert_eq!((t.rows(), t.cols()), (3, 2));
        assert_eq!(t.as_slice(), &[1.0, 4.0, 2.0, 5.0, 3.0, 6.0]);
        assert_eq!(t.transpose(), sample());
        let e = Jacobian::<f64>::zeros(0, 3).transpose();
        assert_eq!((e.rows(), e.cols()), (3, 0));
    }

    #[test]
    fn set_row_and_set_col() {
        let mut j = Jacobian::<f64>::zeros(2, 3);
        j.set_row(1, &[4.0, 5.0, 6.0]);
        j.set_col(0, &[1.0, 4.0]);
        j.set_col(1, &[2.0, 5.0]);
        j.set_col(2, &[3.0, 6.0]);
        assert_eq!(j, sample());
    }

    #[test]
    #[should_panic(expected = "got 2 values")]
    fn set_row_wrong_len_panics() {
        Jacobian::<f64>::zeros(2, 3).set_row(0, &[1.0, 2.0]);
    }

    #[test]
    #[should_panic(expected = "got 3 values")]
    fn set_col_wrong_len_panics() {
        Jacobian::<f64>::zeros(2, 3).set_col(0, &[1.0, 2.0, 3.0]);
    }

    #[test]
    #[should_panic(expected = "column 3 out of range")]
    fn set_col_out_of_range_panics() {
        Jacobian::<f64>::zeros(2, 3).set_col(3, &[1.0, 2.0]);
    }

    #[test]
    fn index_mut_writes() {
        let mut j = Jacobian::<f32>::zeros(2, 2);
        j[(0, 1)] = 7.0;
        j[(1, 0)] += 2.0;
        assert_eq!(j.as_slice(), &[0.0, 7.0, 2.0, 0.0]);
    }

    #[test]
    #[should_panic(expected = "index (0, 3) out of range for 2 x 3")]
    fn index_column_out_of_range_panics() {
        // Row-major offset 3 exists, but (0, 3) is not a valid position.
        let _ = sample()[(0, 3)];
    }

    #[test]
    #[should_panic(expected = "out of range")]
    fn index_mut_out_of_range_panics() {
        sample()[(2, 0)] = 1.0;
    }

    #[test]
    fn clone_eq_debug() {
        let j = sample();
        let c = j.clone();
        assert_eq!(j, c);
        let mut d = c.clone();
        d[(0, 0)] = 9.0;
        assert_ne!(j, d);
        // Same elements, other shape: not equal.
        assert_ne!(Jacobian::from_rows(3, 2, j.as_slice().to_vec()), j);
        let dbg = format!("{j:?}");
        assert!(dbg.contains("rows: 2") && dbg.contains("cols: 3"), "{dbg}");
    }

    #[test]
    fn display_nested_rows() {
        assert_eq!(sample().to_string(), "[[1, 2, 3], [4, 5, 6]]");
        let j = Jacobian::from_rows(2, 2, vec![0.5f32, -1.0, 2.25, 3.0]);
        assert_eq!(j.to_string(), "[[0.5, -1], [2.25, 3]]");
        assert_eq!(format!("{j:.2}"), "[[0.50, -1.00], [2.25, 3.00]]");
        assert_eq!(Jacobian::<f64>::zeros(0, 0).to_string(), "[]");
        assert_eq!(Jacobian::<f64>::zeros(2, 0).to_string(), "[[], []]");
    }
}
