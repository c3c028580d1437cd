//! tmp
use super::compile::compile_library;
use super::eval::{run, Value};

#[test]
fn smoke() {
    let (cs, reg) = compile_library("#[derive_gradient(hessian)] fn f(x: f64, a: &[f64]) -> f64 { let mut s = 0.0; for i in 0..a.len() { s += a[i] * x.sin(); } s * x }").unwrap();
    let c = &cs[0];
    let args = vec![Value::Float(0.7), Value::floats(&[1.0, 2.0, 3.0])];
    let p = run(&c.lowered.func, args.clone(), &reg).unwrap();
    println!("{:?}", p.returns);
    let mut a2 = args.clone();
    a2.push(Value::Float(0.0));
    a2.push(Value::floats(&[0.0, 0.0, 0.0]));
    let g = run(c.companion("grad_into").unwrap(), a2, &reg).unwrap();
    println!("{:?} {:?}", g.returns, g.buffers);
    let g = run(c.companion("grad").unwrap(), args.clone(), &reg).unwrap();
    println!("{:?} {:?}", g.returns, g.buffers);
    let mut a3 = args.clone();
    a3.push(Value::Float(1.0));
    a3.push(Value::floats(&[0.0, 0.0, 0.0]));
    let g = run(c.companion("hvp").unwrap(), a3, &reg).unwrap();
    println!("{:?} {:?}", g.returns, g.buffers);
}
#[test]
fn show_hvp() {
    let (cs, _reg) = compile_library("#[derive_gradient(hessian)] fn f(x: f64, a: &[f64]) -> f64 { let mut s = 0.0; for i in 0..a.len() { s += a[i] * x.sin(); } s * x }").unwrap();
    for (n, f) in &cs[0].companions {
        println!("== {n}\n{}", super::pretty::function(f));
    }
}
