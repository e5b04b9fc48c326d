// shapeclient.js KIND PORT [N]: node's clients of 127.0.0.1:PORT timing what
// shaping changes, as shapeclient.py: the words the test compares, then a
// line "ms=N" (the time measured), or the error's code (exit status 3).
//   rtt N  net: N round trips of 1 byte each to an echo server, timed from
//          the connect's end
//   get    http.get: the status and the body's length, timed whole
const net = require("net");
const http = require("http");
const [kind, port, n] = [process.argv[2], Number(process.argv[3]), Number(process.argv[4] || 0)];
let start = process.hrtime.bigint();
const done = (words) => {
  console.log(words);
  console.log(`ms=${(process.hrtime.bigint() - start) / 1000000n}`);
};
const failed = (e) => {
  console.log(`error ${e.code}`);
  process.exitCode = 3;
};
if (kind === "rtt") {
  const s = net.connect({ host: "127.0.0.1", port }, () => {
    s.setNoDelay(true);
    start = process.hrtime.bigint();
    let left = n;
    // One byte in flight at a time: each echo is one byte.
    s.on("data", () => {
      if (--left > 0) return s.write("x");
      done(`${n} round trips`);
      s.destroy();
    });
    s.write("x");
  });
  s.on("error", failed);
} else if (kind === "get") {
  http.get({ host: "127.0.0.1", port, path: "/", agent: false }, (r) => {
    let got = 0;
    r.on("data", (b) => { got += b.length; });
    r.on("end", () => done(`status ${r.statusCode}, ${got} bytes`));
  }).on("error", failed);
} else {
  throw new Error(kind);
}
