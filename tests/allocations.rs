//! The generated gradient of a sum-reduction loop allocates nothing on the heap: a counting
//! global allocator proves that `loss_grad_into` makes no allocation and `loss_grad` makes
//! exactly one (the returned gradient vector), at every size.

use grad::derive_gradient;
use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

struct Counting;

static ALLOCATIONS: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::SeqCst);
        System.alloc(layout)
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        System.dealloc(ptr, layout)
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::SeqCst);
        System.realloc(ptr, layout, new_size)
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Counts the heap allocations `f` makes.
fn allocations<R>(f: impl FnOnce() -> R) -> (R, usize) {
    let before = ALLOCATIONS.load(Ordering::SeqCst);
    let r = f();
    (r, ALLOCATIONS.load(Ordering::SeqCst) - before)
}

#[derive_gradient(wrt(w, b))]
fn loss(w: &[f64], b: f64, x: &[f64], y: &[f64], n: usize, d: usize) -> f64 {
    let mut total = 0.0;
    for i in 0..n {
        let mut z = b;
        for j in 0..d {
            z += w[j] * x[i * d + j];
        }
        let r = y[i] - z.max(0.0);
        total += r * r;
    }
    total / n as f64
}

#[derive_gradient]
fn weighted_sum(w: [f64; 4], x: &[f64]) -> f64 {
    let mut s = 0.0;
    for i in 0..x.len() {
        s += (w[i % 4] * x[i]).tanh();
    }
    s
}

fn data(n: usize, d: usize) -> (Vec<f64>, Vec<f64>, Vec<f64>) {
    let mut rng = grad::runtime::XorShift64::new(7);
    let w = (0..d).map(|_| rng.uniform(-1.0, 1.0)).collect();
    let x = (0..n * d).map(|_| rng.uniform(-1.0, 1.0)).collect();
    let y = (0..n).map(|_| rng.uniform(0.0, 1.0)).collect();
    (w, x, y)
}

/// One test only: the allocation counter is global, and a second test running on another
/// thread would add its allocations to this one's count.
#[test]
fn reduction_gradients_allocate_nothing() {
    // The kernels detect the CPU's SIMD features once, on first use; the standard library
    // may allocate while doing so. Every call after that allocates nothing.
    let _ = grad::runtime::kernels::uses_avx2_fma();
    reduction_gradient();
    fixed_array_gradient();
}

fn reduction_gradient() {
    for (n, d) in [(1, 1), (64, 4), (1000, 16), (50, 256)] {
        let (w, x, y) = data(n, d);
        let mut gw = vec![0.0; d];
        let mut gb = 0.0;
        let (value, count) =
            allocations(|| loss_grad_into(&w, 0.1, &x, &y, n, d, &mut gw, &mut gb));
        assert_eq!(count, 0, "loss_grad_into allocated at (n, d) = ({n}, {d})");
        assert!((value - loss(&w, 0.1, &x, &y, n, d)).abs() <= 1e-12 * value.abs().max(1e-300));
        let ((_, (gw2, gb2)), count) = allocations(|| loss_grad(&w, 0.1, &x, &y, n, d));
        assert_eq!(
            count, 1,
            "loss_grad should allocate only the returned gradient"
        );
        assert_eq!((gw2, gb2), (gw.clone(), gb));
    }
}

fn fixed_array_gradient() {
    let x: Vec<f64> = (0..37).map(|i| (i as f64 * 0.37).sin()).collect();
    let w = [0.5, -0.25, 1.5, 0.75];
    let mut gw = [0.0; 4];
    let mut gx = vec![0.0; x.len()];
    let (value, count) = allocations(|| weighted_sum_grad_into(w, &x, &mut gw, &mut gx));
    assert_eq!(count, 0);
    assert!((value - weighted_sum(w, &x)).abs() <= 1e-12);
}
