// Parses each number as i32 and unwraps the result: a panic (exit code 101) on the first
// number beyond the i32 range.
use std::io::Read;

fn main() {
    let mut input = String::new();
    std::io::stdin().read_to_string(&mut input).unwrap();
    let sum: i64 = input.split_whitespace().map(|t| t.parse::<i32>().unwrap() as i64).sum();
    println!("{}", sum);
}
