//! Whole-function SIMD dispatch for generated companions.
//!
//! Plain `cargo build --release` compiles for the baseline x86_64 CPU (SSE2). A generated
//! gradient wraps its body in [`with_best_simd`], which runs it as code compiled for AVX2 and
//! FMA when the CPU has them (checked once, then cached): the dot products and updates of a
//! whole loop vectorise at full width without `-C target-cpu=native`. Rust never contracts
//! `a * b + c` into a fused multiply-add on its own and never reassociates, so both builds
//! compute the same bits.

/// Runs `body`, compiled for AVX2 + FMA when this CPU supports them.
///
/// `body` should be an `#[inline(always)]` closure so that it is compiled afresh inside the
/// AVX2 wrapper.
#[inline(always)]
pub fn with_best_simd<R>(body: impl FnOnce() -> R) -> R {
    #[cfg(target_arch = "x86_64")]
    {
        if crate::kernels::uses_avx2_fma() {
            // SAFETY: the CPU supports AVX2 and FMA, checked just above.
            return unsafe { run_avx2_fma(body) };
        }
    }
    body()
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn run_avx2_fma<R>(body: impl FnOnce() -> R) -> R {
    body()
}

#[cfg(test)]
mod tests {
    use super::with_best_simd;

    #[test]
    fn runs_the_body_once_and_returns_its_value() {
        let mut calls = 0;
        let v = with_best_simd(
            #[inline(always)]
            || {
                calls += 1;
                (0..100).map(|i| i as f64 * 0.5).sum::<f64>()
            },
        );
        assert_eq!(v, 2475.0);
        assert_eq!(calls, 1);
    }
}
