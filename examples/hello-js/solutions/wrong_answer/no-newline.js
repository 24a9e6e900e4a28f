// Right words, but no newline at the end: the exact judge notices.
const name = require("fs").readFileSync(0, "utf8").split("\n")[0].trim();
process.stdout.write(`Hello, ${name}!`);
