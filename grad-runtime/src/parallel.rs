//! Sums over samples on several threads, for `#[derive_gradient(parallel)]`.
//!
//! A companion generated with `parallel` runs each sum-reduction loop it fuses (a loss
//! summed over samples: its value and its gradient in one pass) as [`chunks`]: the range is
//! cut into pieces that depend only on its length ([`chunk_bounds`]), each piece sums into
//! its own zeroed copies on rayon's thread pool, and the pieces' sums are added in order.
//! The result is therefore the same on every run and on any number of threads (it can
//! differ from a one-piece sum in the last bits, as any reassociated sum does).
//!
//! The threads are rayon's: run the companion inside `rayon::ThreadPool::install` to choose
//! how many. Without grad's `parallel` feature, a companion generated with `parallel` does
//! not compile, with a note saying which feature to turn on.

/// The fewest iterations a chunk gets: below this a loop runs as one piece.
pub const MIN_CHUNK: usize = 512;

/// The most chunks a loop is cut into.
pub const MAX_CHUNKS: usize = 64;

/// The chunks of `lo..hi`, in order: at most [`MAX_CHUNKS`], each of at least [`MIN_CHUNK`]
/// iterations (but the last), depending only on the range. An empty range has no chunk.
pub fn chunk_bounds(lo: usize, hi: usize) -> impl Iterator<Item = (usize, usize)> {
    let len = hi.saturating_sub(lo);
    let size = len.div_ceil(MAX_CHUNKS).max(MIN_CHUNK);
    (0..len.div_ceil(size)).map(move |c| (lo + c * size, (lo + (c + 1) * size).min(hi)))
}

/// Threads for [`chunks`]: it is [`Enabled`] with grad's `parallel` feature.
pub struct Threads;

/// Whether grad was built with its `parallel` feature (rayon).
#[diagnostic::on_unimplemented(
    message = "`#[derive_gradient(parallel)]` needs grad's `parallel` feature",
    label = "this companion sums over samples on several threads",
    note = "turn it on: `grad = {{ version = \"0.1\", features = [\"parallel\"] }}`, or remove `parallel` from `#[derive_gradient(..)]`"
)]
pub trait Enabled {}

#[cfg(feature = "parallel")]
impl Enabled for Threads {}

/// Runs `chunk(start, end)` for every chunk of `lo..hi` ([`chunk_bounds`]) on rayon's
/// threads and returns the results in chunk order. One chunk runs on the calling thread.
pub fn chunks<P: Enabled, S: Send, F: Fn(usize, usize) -> S + Sync>(
    lo: usize,
    hi: usize,
    chunk: F,
) -> Vec<S> {
    let bounds: Vec<(usize, usize)> = chunk_bounds(lo, hi).collect();
    run(&bounds, &chunk)
}

#[cfg(feature = "parallel")]
fn run<S: Send, F: Fn(usize, usize) -> S + Sync>(bounds: &[(usize, usize)], chunk: &F) -> Vec<S> {
    use rayon::prelude::*;
    if bounds.len() <= 1 {
        return bounds.iter().map(|&(s, e)| chunk(s, e)).collect();
    }
    bounds.par_iter().map(|&(s, e)| chunk(s, e)).collect()
}

#[cfg(not(feature = "parallel"))]
fn run<S: Send, F: Fn(usize, usize) -> S + Sync>(bounds: &[(usize, usize)], chunk: &F) -> Vec<S> {
    // Unreachable: `chunks` asks for `Threads: Enabled`, which only the feature gives.
    bounds.iter().map(|&(s, e)| chunk(s, e)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_cover_the_range_in_order() {
        for (lo, hi) in [
            (0, 0),
            (3, 3),
            (0, 1),
            (5, 600),
            (0, 1_000_000),
            (7, 100_003),
        ] {
            let b: Vec<_> = chunk_bounds(lo, hi).collect();
            assert!(b.len() <= MAX_CHUNKS);
            let mut at = lo;
            for (k, &(s, e)) in b.iter().enumerate() {
                assert_eq!(s, at);
                assert!(e > s);
                assert!(e - s >= MIN_CHUNK || k + 1 == b.len());
                at = e;
            }
            assert_eq!(at, hi.max(lo));
        }
        assert_eq!(chunk_bounds(9, 2).count(), 0);
    }

    #[cfg(feature = "parallel")]
    #[test]
    fn results_come_back_in_chunk_order() {
        let parts = chunks::<Threads, _, _>(0, 100_000, |s, e| (s, e));
        let bounds: Vec<_> = chunk_bounds(0, 100_000).collect();
        assert_eq!(parts, bounds);
    }
}
