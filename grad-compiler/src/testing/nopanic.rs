#[test]
fn probe() {
    for src in [
        "fn f(x: f64, a: &[f64]) -> f64 { let v: f64 = 2.0; let w: [f64; 3] = [1.0, 2.0, x]; let z: Vec<f64> = vec![0.0; a.len()]; v + w[1] + z[0] }",
        "fn f(x: f64, a: &[f64]) -> f64 { a.iter().fold(0.0, |acc, &v| acc * 0.5 + v) + a.iter().map(|&v| v * x).sum::<f64>() }",
        "fn f(x: f64, a: &[f64], b: [f64; 3]) -> f64 { a.iter().zip(b.iter()).map(|(&p, &q)| p * q).sum::<f64>() + b.iter().enumerate().map(|(j, &v)| v * (j as f64)).sum::<f64>() }",
        "fn f(x: f64, n: usize) -> f64 { let mut k = 0; let mut s = x; while k < n && s < 3.0 { k += 1; let j = k - 1; if s > 1.0 { continue; } s += x * (j as f64); } s }",
        "fn f(x: f64, n: usize) -> f64 { let mut k = 0; let mut s = x; loop { if k >= n { break; } k += 1; s = s * 0.5 + x; if s > 2.0 { return s; } } s }",
        "fn f(x: f64, n: usize) -> f64 { let v = match n { 0 => x, 1 | 2 => x * x, 3..=5 => { let t = x.sin(); t * x } _ => -x }; v }",
        "fn f(x: f64, a: &[f64]) -> Vec<f64> { a.iter().map(|&v| v * x).collect::<Vec<f64>>() }",
        "fn f(x: f64, a: &[f64]) -> (f64, f64) { let p = (x, 2.0 * x); let (u, w) = (x.sin(), x.cos()); (p.0 + u, p.1 * w) }",
        "fn f(x: f64, idx: &[usize], a: &[f64]) -> f64 { a[idx[2]] + a[(x.abs() * 2.0) as usize % a.len()] + a[3usize.min(a.len() - 1)] + f64::sin(x) + x.powi(2) + x.mul_add(x, 1.0) + std::f64::consts::PI }",
        "fn f(x: f64, a: &[f64]) -> f64 { let c = |u: f64| u * x + u.sin(); let d = |u: f64, w: f64| u * w; c(x) + d(x, 2.0) + { let t = x * 2.0; t * t } + if x > 0.0 { x } else { -x } }",
        "fn f(x: f64, a: &[f64]) -> f64 { let mut w = a.to_vec(); w[0] += x; w[0] *= 2.0; let mut m = x; m /= 2.0; m -= 1.0; w[0] + m }",
        "fn f(x: f64, i: usize) -> f64 { let j = i.pow(2) % 3 + i.min(2); x * (j as f64) }",
        "fn g(p: f64, w: &[f64]) -> f64 { p * w[0] } fn f(x: f64, a: &[f64], b: [f64; 3]) -> f64 { g(x, &a) + g(x, &b) + g(x, &b[1..]) }",
    ] {
        let file: syn::File = syn::parse_str(src).unwrap();
        let syn::Item::Fn(item) = file.items.last().unwrap() else { panic!() };
        let source = crate::lower::FnSource { attrs: &item.attrs, vis: &item.vis, sig: &item.sig, block: &item.block, is_method: false };
        match crate::lower::lower(&source) {
            Ok(_) => println!("OK   {src}"),
            Err(e) => println!("ERR  {src}\n     {}", e.into_iter().map(|e| e.to_string()).collect::<Vec<_>>().join(" | ")),
        }
    }
}
