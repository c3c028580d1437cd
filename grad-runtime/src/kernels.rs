//! Small vector kernels that generated code and benchmarks call.
//!
//! Every kernel is plain safe Rust written so that LLVM vectorises it with an
//! ordinary `cargo build --release` (SSE2 on x86_64, NEON on aarch64), with
//! no `target-cpu=native`. For `f32` and `f64`, [`dot`] and [`axpy`] also have
//! an AVX2 + FMA build of the very same code, chosen at run time on x86_64
//! CPUs that support it (detected once, then cached).
//!
//! All kernels panic if their slices have different lengths.
//!
//! Results do not depend on the CPU: Rust never contracts `a * b + c` into a
//! fused multiply-add on its own, so the AVX2 build performs the same
//! roundings in the same order as the portable one and returns the same bits.

use crate::Float;

/// Dot product `sum_i a[i] * b[i]`.
///
/// Uses 8 independent partial sums (lane `k` sums the products with
/// `i % 8 == k` over the whole chunks), then adds the lanes in order and
/// finally the `len % 8` leftover products, so the loop vectorises. This *reassociates* the sum: the last bits
/// can differ from a strict left-to-right loop (the result is usually a
/// little more accurate, not less). For `f32`/`f64` on x86_64 this runs the
/// AVX2 build when the CPU has AVX2 and FMA.
///
/// Panics if `a.len() != b.len()`.
///
/// ```
/// let a = vec![1.0, 2.0, 3.0];
/// assert_eq!(grad_runtime::kernels::dot(&a, &[4.0, 5.0, 6.0]), 32.0);
/// ```
#[inline(always)]
pub fn dot<T: Float>(a: &[T], b: &[T]) -> T {
    // Short vectors (the rows of a small model) stay inline: a call through the run-time
    // dispatch costs more than the few products themselves.
    if a.len() < SHORT {
        return dot_short(a, b);
    }
    T::dot(a, b)
}

/// Below this length [`dot`] and [`axpy`] run inline instead of the dispatched kernels: at
/// the lengths of a small model's rows the call costs more than SIMD width saves.
const SHORT: usize = 32;

/// A dot product for short vectors: four accumulators, no dispatch.
#[inline(always)]
fn dot_short<T: Float>(a: &[T], b: &[T]) -> T {
    check_len("dot", a.len(), b.len());
    let mut acc = [T::zero(); 4];
    let ca = a.chunks_exact(4);
    let cb = b.chunks_exact(4);
    let (ra, rb) = (ca.remainder(), cb.remainder());
    for (xa, xb) in ca.zip(cb) {
        for ((s, &u), &v) in acc.iter_mut().zip(xa).zip(xb) {
            *s += u * v;
        }
    }
    let mut sum = (acc[0] + acc[1]) + (acc[2] + acc[3]);
    for (&u, &v) in ra.iter().zip(rb) {
        sum += u * v;
    }
    sum
}

/// `y += alpha * x`, element by element.
///
/// No reassociation: each `y[i]` gets exactly `y[i] + alpha * x[i]`. A zero factor gives
/// zero: nothing is added where `alpha` or `x[i]` is 0, even if the other is infinite or
/// NaN (derivative code relies on this: a zero adjoint never turns into NaN).
/// For `f32`/`f64` on x86_64 this runs the AVX2 build when available.
///
/// Panics if `x.len() != y.len()`.
#[inline(always)]
pub fn axpy<T: Float>(alpha: T, x: &[T], y: &mut [T]) {
    // The common case of a small model's rows, inline wherever it is called (a call of
    // this function costs more than its few products); the others out of line.
    if x.len() < SHORT && alpha.is_finite() {
        if alpha == T::zero() {
            check_len("axpy", x.len(), y.len());
        } else {
            axpy_body(alpha, x, y);
        }
        return;
    }
    axpy_general(alpha, x, y)
}

/// [`axpy`] for a long vector or a factor that is zero, infinite or NaN.
#[inline(never)]
fn axpy_general<T: Float>(alpha: T, x: &[T], y: &mut [T]) {
    if alpha == T::zero() {
        check_len("axpy", x.len(), y.len());
        return;
    }
    if !alpha.is_finite() {
        check_len("axpy", x.len(), y.len());
        for (v, &u) in y.iter_mut().zip(x) {
            *v += crate::scaled(u, alpha);
        }
        return;
    }
    T::axpy(alpha, x, y)
}

/// `y *= alpha`, element by element; zeros stay zero even for an infinite or NaN `alpha`.
#[inline]
pub fn scale<T: Float>(alpha: T, y: &mut [T]) {
    if alpha.is_finite() {
        for v in y.iter_mut() {
            *v *= alpha;
        }
    } else {
        for v in y.iter_mut() {
            *v = crate::scaled(*v, alpha);
        }
    }
}

/// `y += x`, element by element.
///
/// Panics if `x.len() != y.len()`.
#[inline]
pub fn add_assign<T: Float>(y: &mut [T], x: &[T]) {
    check_len("add_assign", x.len(), y.len());
    for (v, &u) in y.iter_mut().zip(x) {
        *v += u;
    }
}

/// Sets every element of `y` to zero.
#[inline]
pub fn fill_zero<T: Float>(y: &mut [T]) {
    y.fill(T::zero());
}

/// `true` if [`dot`] and [`axpy`] on `f32`/`f64` use the AVX2 + FMA build
/// on this machine (always `false` off x86_64).
pub fn uses_avx2_fma() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        dispatch::has_avx2_fma()
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// The portable [`dot`], without run-time dispatch (same result bits).
#[inline]
pub fn dot_portable<T: Float>(a: &[T], b: &[T]) -> T {
    if a.len() < SHORT {
        return dot_short(a, b);
    }
    dot_body(a, b)
}

/// The portable [`axpy`], without run-time dispatch (same result bits).
#[inline]
pub fn axpy_portable<T: Float>(alpha: T, x: &[T], y: &mut [T]) {
    axpy_body(alpha, x, y)
}

#[inline]
#[track_caller]
fn check_len(kernel: &str, a: usize, b: usize) {
    assert!(
        a == b,
        "kernels::{kernel}: slices have different lengths ({a} and {b})"
    );
}

/// Number of independent accumulators in [`dot_body`]: 8 lanes fill two
/// AVX registers of `f64`, or four SSE2 registers.
const LANES: usize = 8;

/// The dot product shared by every build. `inline(always)` so that it is
/// compiled afresh inside each `#[target_feature]` wrapper.
#[inline(always)]
fn dot_body<T: Float>(a: &[T], b: &[T]) -> T {
    check_len("dot", a.len(), b.len());
    let mut acc = [T::zero(); LANES];
    let ca = a.chunks_exact(LANES);
    let cb = b.chunks_exact(LANES);
    let (ra, rb) = (ca.remainder(), cb.remainder());
    for (xa, xb) in ca.zip(cb) {
        for ((s, &u), &v) in acc.iter_mut().zip(xa).zip(xb) {
            *s += u * v;
        }
    }
    let mut tail = T::zero();
    for (&u, &v) in ra.iter().zip(rb) {
        tail += u * v;
    }
    // Lanes summed in order. A pairwise tree here looks nicer but makes
    // LLVM's SLP vectoriser fall back to 2-wide, shuffled vectors even under
    // AVX2; this form gives 2 x 4-wide (AVX2) or 4 x 2-wide (SSE2) `f64` sums.
    let mut sum = acc[0];
    for &s in &acc[1..] {
        sum += s;
    }
    sum + tail
}

/// The axpy shared by every build; see [`dot_body`].
#[inline(always)]
fn axpy_body<T: Float>(alpha: T, x: &[T], y: &mut [T]) {
    check_len("axpy", x.len(), y.len());
    for (v, &u) in y.iter_mut().zip(x) {
        *v += alpha * u;
    }
}

/// Run-time selection between the portable and the AVX2 + FMA builds.
#[cfg(target_arch = "x86_64")]
pub(crate) mod dispatch {
    use super::{axpy_body, dot_body};
    use crate::Float;
    use std::sync::atomic::{AtomicU8, Ordering};

    const UNKNOWN: u8 = 0;
    const PORTABLE: u8 = 1;
    const AVX2_FMA: u8 = 2;

    /// Cached CPU check; `UNKNOWN` until the first kernel call.
    static LEVEL: AtomicU8 = AtomicU8::new(UNKNOWN);

    /// Whether the CPU has AVX2 and FMA. Detected once; a race only repeats
    /// the (idempotent) detection.
    #[inline]
    pub(crate) fn has_avx2_fma() -> bool {
        match LEVEL.load(Ordering::Relaxed) {
            UNKNOWN => {
                let ok = is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma");
                LEVEL.store(if ok { AVX2_FMA } else { PORTABLE }, Ordering::Relaxed);
                ok
            }
            level => level == AVX2_FMA,
        }
    }

    #[target_feature(enable = "avx2,fma")]
    unsafe fn dot_avx2<T: Float>(a: &[T], b: &[T]) -> T {
        dot_body(a, b)
    }

    #[target_feature(enable = "avx2,fma")]
    unsafe fn axpy_avx2<T: Float>(alpha: T, x: &[T], y: &mut [T]) {
        axpy_body(alpha, x, y)
    }

    /// Dispatched dot product.
    #[inline]
    pub(crate) fn dot<T: Float>(a: &[T], b: &[T]) -> T {
        if has_avx2_fma() {
            // SAFETY: the CPU supports AVX2 and FMA, checked just above.
            unsafe { dot_avx2(a, b) }
        } else {
            dot_body(a, b)
        }
    }

    /// Dispatched axpy.
    #[inline]
    pub(crate) fn axpy<T: Float>(alpha: T, x: &[T], y: &mut [T]) {
        if has_avx2_fma() {
            // SAFETY: the CPU supports AVX2 and FMA, checked just above.
            unsafe { axpy_avx2(alpha, x, y) }
        } else {
            axpy_body(alpha, x, y)
        }
    }
}

/// Off x86_64 there is nothing to dispatch: the portable builds.
#[cfg(not(target_arch = "x86_64"))]
pub(crate) mod dispatch {
    use super::{axpy_body, dot_body};
    use crate::Float;

    /// The portable dot product.
    #[inline]
    pub(crate) fn dot<T: Float>(a: &[T], b: &[T]) -> T {
        dot_body(a, b)
    }

    /// The portable axpy.
    #[inline]
    pub(crate) fn axpy<T: Float>(alpha: T, x: &[T], y: &mut [T]) {
        axpy_body(alpha, x, y)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data<T: Float>(n: usize, seed: u64) -> Vec<T> {
        let mut rng = crate::XorShift64::new(seed);
        (0..n)
            .map(|_| rng.uniform(T::from_f64(-2.0), T::from_f64(2.0)))
            .collect()
    }

    fn naive_dot<T: Float>(a: &[T], b: &[T]) -> f64 {
        a.iter()
            .zip(b)
            .map(|(&u, &v)| u.to_f64() * v.to_f64())
            .sum()
    }

    fn lengths() -> impl Iterator<Item = usize> {
        (0..40).chain([1000])
    }

    /// `|got - want| <= rel * sum |a_i b_i|`: the standard bound for a
    /// reordered sum, which stays meaningful when the sum cancels.
    fn check_dot<T: Float>(rel: f64) {
        for n in lengths() {
            let a = data::<T>(n, 1 + n as u64);
            let b = data::<T>(n, 1000 + n as u64);
            let want = naive_dot(&a, &b);
            let scale: f64 = a
                .iter()
                .zip(&b)
                .map(|(u, v)| (u.to_f64() * v.to_f64()).abs())
                .sum();
            for got in [dot(&a, &b), dot_portable(&a, &b)] {
                let err = (got.to_f64() - want).abs();
                assert!(err <= rel * scale.max(1e-300), "n={n}: {got} vs {want}");
            }
        }
    }

    #[test]
    fn dot_f64_matches_naive() {
        check_dot::<f64>(1e-13);
    }

    #[test]
    fn dot_f32_matches_naive() {
        check_dot::<f32>(1e-5);
    }

    #[test]
    fn dot_small_exact_cases() {
        assert_eq!(dot::<f64>(&[], &[]), 0.0);
        assert_eq!(dot(&[3.0f32], &[4.0]), 12.0);
        let ones = vec![1.0f64; 1000];
        assert_eq!(dot(&ones, &ones), 1000.0);
        // Coercions generated code relies on: &Vec and &[T; N].
        let v = vec![1.0, 2.0];
        let arr = [3.0, 4.0];
        assert_eq!(dot(&v, &arr), 11.0);
    }

    #[test]
    fn dispatched_and_portable_give_same_bits() {
        for n in lengths() {
            let a = data::<f64>(n, 7 + n as u64);
            let b = data::<f64>(n, 77 + n as u64);
            assert_eq!(dot(&a, &b).to_bits(), dot_portable(&a, &b).to_bits());
            let a = data::<f32>(n, 7 + n as u64);
            let b = data::<f32>(n, 77 + n as u64);
            assert_eq!(dot(&a, &b).to_bits(), dot_portable(&a, &b).to_bits());
        }
    }

    fn check_axpy<T: Float>() {
        for n in lengths() {
            let x = data::<T>(n, 3 + n as u64);
            let y0 = data::<T>(n, 300 + n as u64);
            let alpha = T::from_f64(-0.75);
            let want: Vec<T> = y0.iter().zip(&x).map(|(&v, &u)| v + alpha * u).collect();
            let mut y = y0.clone();
            axpy(alpha, &x, &mut y);
            assert_eq!(y, want, "n={n}");
            let mut y = y0.clone();
            axpy_portable(alpha, &x, &mut y);
            assert_eq!(y, want, "n={n}");
        }
    }

    #[test]
    fn axpy_matches_naive_exactly() {
        check_axpy::<f64>();
        check_axpy::<f32>();
    }

    #[test]
    fn scale_add_assign_fill_zero() {
        for n in lengths() {
            let x = data::<f64>(n, 11 + n as u64);
            let mut y = data::<f64>(n, 12 + n as u64);
            let y0 = y.clone();
            scale(2.5, &mut y);
            assert!(y.iter().zip(&y0).all(|(a, b)| *a == 2.5 * b));
            add_assign(&mut y, &x);
            assert!(y
                .iter()
                .zip(&y0)
                .zip(&x)
                .all(|((a, b), c)| *a == 2.5 * b + c));
            fill_zero(&mut y);
            assert!(y.iter().all(|&v| v == 0.0));
        }
        let mut z = vec![1.0f32, 2.0];
        scale(0.5, &mut z);
        add_assign(&mut z, &[1.0, 1.0]);
        assert_eq!(z, [1.5, 2.0]);
        fill_zero(&mut z);
        assert_eq!(z, [0.0, 0.0]);
    }

    #[test]
    #[should_panic(expected = "kernels::dot: slices have different lengths (3 and 2)")]
    fn dot_len_mismatch_panics() {
        let _ = dot(&[1.0, 2.0, 3.0], &[1.0, 2.0]);
    }

    #[test]
    #[should_panic(expected = "kernels::axpy")]
    fn axpy_len_mismatch_panics() {
        axpy(1.0, &[1.0, 2.0], &mut [0.0]);
    }

    #[test]
    #[should_panic(expected = "kernels::add_assign")]
    fn add_assign_len_mismatch_panics() {
        add_assign(&mut [0.0f32], &[1.0, 2.0]);
    }

    #[test]
    fn detection_is_stable() {
        assert_eq!(uses_avx2_fma(), uses_avx2_fma());
        #[cfg(target_arch = "x86_64")]
        assert_eq!(
            uses_avx2_fma(),
            is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma")
        );
    }
}
