use std::io::{self, Read, Write};

fn main() {
    let mut input = String::new();
    io::stdin().read_to_string(&mut input).unwrap();
    let mut numbers = input.split_ascii_whitespace().map(|t| t.parse::<f64>().unwrap());
    let n = numbers.next().unwrap() as usize;
    let mut out = String::new();
    for _ in 0..n {
        let (x1, y1, x2, y2) = (
            numbers.next().unwrap(),
            numbers.next().unwrap(),
            numbers.next().unwrap(),
            numbers.next().unwrap(),
        );
        out.push_str(&format!("{:.9}\n", (x2 - x1).hypot(y2 - y1)));
    }
    io::stdout().write_all(out.as_bytes()).unwrap();
}
