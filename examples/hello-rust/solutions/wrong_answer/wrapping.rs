// Adds in i32 with wrapping arithmetic (truncating each number with `as`): no panic, just a
// wrong sum once the numbers or the total leave the i32 range.
use std::io::Read;

fn main() {
    let mut input = String::new();
    std::io::stdin().read_to_string(&mut input).unwrap();
    let mut sum: i32 = 0;
    for t in input.split_whitespace() {
        sum = sum.wrapping_add(t.parse::<i64>().unwrap() as i32);
    }
    println!("{}", sum);
}
