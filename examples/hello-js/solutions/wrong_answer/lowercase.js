// Lower-cases the whole greeting, name included: "hello, ada!"
const name = require("fs").readFileSync(0, "utf8").split("\n")[0].trim();
console.log(`Hello, ${name}!`.toLowerCase());
